"""The account pages (issue 8, src/http/account.c, src/web/ui-account.c): a sysadmin
creates users, sets passwords, disables and enables them; an organization's admin manages
its members and its approver and auditor roles; an approver decides the organization's
pending grant requests, never their own (the page offers no button and the server
refuses); anyone signed in changes their password and creates and revokes API tokens,
the new token shown once. Each change is the API's, with its ledger entry; every form
needs the session's CSRF token."""

import datetime
import re
import time

import pytest

from conftest import ORG, ok, run_cli, unique
from test_ledger_completeness import POLL_TIMEOUT, checkpoint_size, entries
from test_web_session import PASSWORD, browser, get, post, sign_in


def day(delta=0):
    return (datetime.datetime.now(datetime.timezone.utc).date() + datetime.timedelta(days=delta)).isoformat()


def add_user(portal, name, *extra):
    run_cli("user", "add", name, *extra, "--password-stdin", portal=portal.path, check=0,
            input=PASSWORD + "\n")


def csrf_of(page):
    m = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert m, page.text[:500]
    return m.group(1)


def signed_in(srv, name):
    s = browser(srv)
    r = sign_in(srv, s, name, PASSWORD)
    assert r.status_code == 303, r.text[:300]
    return s


@pytest.fixture(scope="module")
def people(portal):
    tag = unique("a").replace("_", "-")[-8:]
    names = {k: "%s-%s" % (k, tag) for k in ("root", "boss", "appr", "appr2", "pub", "op", "plain")}
    add_user(portal, names["root"], "--sysadmin")
    for k in ("boss", "appr", "appr2", "pub", "op", "plain"):
        add_user(portal, names[k])
    portal.cli("member", "add", ORG, names["boss"], "admin")
    portal.cli("member", "add", ORG, names["pub"], "editor")
    portal.cli("role", "add", names["appr"], "approver", "--org", ORG)
    portal.cli("role", "add", names["appr2"], "approver", "--org", ORG)
    portal.cli("role", "add", names["op"], "grantee")
    return names


def in_ledger(srv, type_, key, value):
    """Whether the ledger holds an entry of type_ whose objects[key] is value, waiting for
    the sequencer to integrate it (up to POLL_TIMEOUT)."""
    deadline = time.monotonic() + POLL_TIMEOUT
    start = 0
    while True:
        size = checkpoint_size(srv)
        for e in entries(srv, start, size):
            if e.get("type") == type_ and (e.get("objects") or {}).get(key) == value:
                return True
        start = size
        if time.monotonic() > deadline:
            return False
        time.sleep(0.2)


def test_pages_need_sign_in_and_the_right_role(srv, people):
    anon = browser(srv)
    for path in ("/user/account", "/user", "/organization/members/" + ORG, "/organization/grants/" + ORG):
        r = get(srv, anon, path)
        assert r.status_code == 303 and r.headers["Location"].startswith("/user/login?next="), path
    plain = signed_in(srv, people["plain"])
    assert get(srv, plain, "/user/account").status_code == 200
    for path in ("/user", "/organization/members/" + ORG, "/organization/grants/" + ORG):
        r = get(srv, plain, path)
        assert r.status_code == 403, path
    assert get(srv, plain, "/organization/members/no-such-org").status_code == 404
    # A POST without the session's CSRF token changes nothing.
    r = post(srv, plain, "/user/account", {"op": "token_create", "label": "x"})
    assert r.status_code == 403


def test_sysadmin_creates_sets_password_disables(srv, people):
    s = signed_in(srv, people["root"])
    page = get(srv, s, "/user")
    assert page.status_code == 200 and people["plain"] in page.text
    assert page.headers["Cache-Control"] == "no-store"
    tok = csrf_of(page)
    new = "made-" + people["root"][-8:]
    # A bad name: the form again, with the API's message, nothing created.
    bad = post(srv, s, "/user", {"csrf_token": tok, "op": "create", "name": "No Such<b>",
                                 "password": PASSWORD})
    assert bad.status_code == 409 and 'role="alert"' in bad.text and "<b>" not in bad.text
    r = post(srv, s, "/user", {"csrf_token": tok, "op": "create", "name": new, "fullname": "Made <i>",
                               "password": PASSWORD})
    assert r.status_code == 303 and r.headers["Location"] == "/user?done=user-created"
    page = get(srv, s, r.headers["Location"])
    assert "The user was created." in page.text and new in page.text
    assert "Made &lt;i&gt;" in page.text
    assert in_ledger(srv, "user_create", "user", new)
    # The new user signs in with that password.
    signed_in(srv, new)
    # A sysadmin sets another password: the old one no longer works.
    r = post(srv, s, "/user", {"csrf_token": tok, "op": "password", "user": new, "password": "short"})
    assert r.status_code == 409 and "shorter than 8" in r.text
    r = post(srv, s, "/user", {"csrf_token": tok, "op": "password", "user": new,
                               "password": PASSWORD + "2"})
    assert r.status_code == 303
    assert sign_in(srv, browser(srv), new, PASSWORD).status_code == 403
    u = signed_in_pw(srv, new, PASSWORD + "2")
    assert get(srv, u, "/user/account").status_code == 200
    # Disabling ends the user's sessions and its API tokens; enabling brings them back.
    r = post(srv, s, "/user", {"csrf_token": tok, "op": "disable", "user": new})
    assert r.status_code == 303 and r.headers["Location"] == "/user?done=user-disabled"
    assert get(srv, u, "/user/account").status_code == 303  # the session ended
    assert sign_in(srv, browser(srv), new, PASSWORD + "2").status_code == 403
    assert in_ledger(srv, "user_state_set", "user", new)
    again = post(srv, s, "/user", {"csrf_token": tok, "op": "disable", "user": new})
    assert again.status_code == 409
    # Nobody disables themselves (no button, and the server refuses).
    page = get(srv, s, "/user")
    assert 'aria-label="Disable %s"' % people["root"] not in page.text
    me = post(srv, s, "/user", {"csrf_token": tok, "op": "disable", "user": people["root"]})
    assert me.status_code == 409
    r = post(srv, s, "/user", {"csrf_token": tok, "op": "enable", "user": new})
    assert r.status_code == 303
    signed_in_pw(srv, new, PASSWORD + "2")


def signed_in_pw(srv, name, password):
    s = browser(srv)
    r = sign_in(srv, s, name, password)
    assert r.status_code == 303, r.text[:300]
    return s


def test_my_account_password_and_tokens(srv, people):
    name = people["plain"]
    s = signed_in(srv, name)
    page = get(srv, s, "/user/account")
    tok = csrf_of(page)
    assert "You have no API tokens." in page.text
    r = post(srv, s, "/user/account", {"csrf_token": tok, "op": "token_create", "label": "my <script>"})
    assert r.status_code == 200 and r.headers["Cache-Control"] == "no-store"
    token = re.search(r'<code id="new-token">([^<]+)</code>', r.text).group(1)
    assert "my &lt;script&gt;" in r.text and "<script>" not in r.text.split("<main", 1)[1]
    # The token works on the API and is not shown again.
    h = {"Authorization": token}
    assert srv.get("/api/3/action/grant_list", headers=h).status_code == 200
    page = get(srv, s, "/user/account")
    assert token not in page.text and "my &lt;script&gt;" in page.text
    tid = re.search(r'name="id" value="([^"]+)"', page.text).group(1)
    assert in_ledger(srv, "token_create", "token", tid)
    # Someone else cannot revoke it.
    other = signed_in(srv, people["pub"])
    r = post(srv, other, "/user/account", {"csrf_token": csrf_of(get(srv, other, "/user/account")),
                                           "op": "token_revoke", "id": tid})
    assert r.status_code == 404
    r = post(srv, s, "/user/account", {"csrf_token": tok, "op": "token_revoke", "id": tid})
    assert r.status_code == 303 and r.headers["Location"] == "/user/account?done=token-revoked"
    assert "The API token was revoked." in get(srv, s, r.headers["Location"]).text
    assert srv.get("/api/3/action/grant_list", headers=h).status_code == 403
    # The password: the current one is required, the two new ones must agree.
    r = post(srv, s, "/user/account", {"csrf_token": tok, "op": "password", "old_password": "wrong one",
                                       "password": PASSWORD + "3", "password2": PASSWORD + "3"})
    assert r.status_code == 403 and "the current password is wrong" in r.text
    r = post(srv, s, "/user/account", {"csrf_token": tok, "op": "password", "old_password": PASSWORD,
                                       "password": PASSWORD + "3", "password2": PASSWORD + "4"})
    assert r.status_code == 409 and "differ" in r.text
    r = post(srv, s, "/user/account", {"csrf_token": tok, "op": "password", "old_password": PASSWORD,
                                       "password": PASSWORD + "3", "password2": PASSWORD + "3"})
    assert r.status_code == 200 and "Password changed" in r.text
    assert 'action="/user/logout"' not in r.text
    assert get(srv, s, "/user/account").status_code == 303  # signed out everywhere
    assert sign_in(srv, browser(srv), name, PASSWORD).status_code == 403
    s = signed_in_pw(srv, name, PASSWORD + "3")
    # Back to the shared password for the other tests.
    tok = csrf_of(get(srv, s, "/user/account"))
    r = post(srv, s, "/user/account", {"csrf_token": tok, "op": "password", "old_password": PASSWORD + "3",
                                       "password": PASSWORD, "password2": PASSWORD})
    assert r.status_code == 200


def test_org_admin_members_and_roles(srv, people):
    s = signed_in(srv, people["boss"])
    url = "/organization/members/" + ORG
    page = get(srv, s, url)
    assert page.status_code == 200 and people["pub"] in page.text and people["appr"] in page.text
    tok = csrf_of(page)
    r = post(srv, s, url, {"csrf_token": tok, "op": "member_set", "username": people["plain"],
                           "capacity": "member"})
    assert r.status_code == 303 and r.headers["Location"] == url + "?done=member-set"
    assert in_ledger(srv, "member_set", "user", people["plain"])
    r = post(srv, s, url, {"csrf_token": tok, "op": "member_set", "username": people["plain"],
                           "capacity": "owner"})
    assert r.status_code == 409 and "owner" in r.text
    r = post(srv, s, url, {"csrf_token": tok, "op": "member_set", "username": "nobody-here",
                           "capacity": "member"})
    assert r.status_code == 404
    r = post(srv, s, url, {"csrf_token": tok, "op": "role_add", "user": people["plain"], "role": "auditor"})
    assert r.status_code == 303
    page = get(srv, s, r.headers["Location"])
    assert "The role was given." in page.text
    roles = ok(srv.api("user_role_list"))
    assert any(x["user"] == people["plain"] and x["role"] == "auditor" for x in roles)
    # An admin may not make themselves an approver (the API's rule, on the page too).
    r = post(srv, s, url, {"csrf_token": tok, "op": "role_add", "user": people["boss"], "role": "approver"})
    assert r.status_code == 403
    r = post(srv, s, url, {"csrf_token": tok, "op": "role_remove", "user": people["plain"], "role": "auditor"})
    assert r.status_code == 303
    r = post(srv, s, url, {"csrf_token": tok, "op": "member_remove", "username": people["plain"]})
    assert r.status_code == 303 and r.headers["Location"] == url + "?done=member-removed"
    assert people["plain"] not in get(srv, s, url).text.split('id="members"', 1)[1].split('id="roles"', 1)[0]


def test_approver_decides_others_requests_only(srv, tok, people):
    d = ok(srv.api("package_create", token=tok["editor"],
                   name=unique("acc"), owner_org=ORG, access_level="restricted public"))
    ok(srv.api("datastore_create", token=tok["editor"],
               resource={"package_id": d["id"], "name": "t"}, fields=[{"id": "a", "type": "int"}],
               records=[{"a": 1}]))
    srv_tok = tok
    g = ok(srv.api("grant_request", token=srv_tok["editor"], dataset=d["id"], grantee=people["op"],
                   purpose="p <b>", legal_basis="b", columns=["a"], valid_from=day(-1), valid_until=day(5)))
    mine = ok(srv.api("grant_request", token=srv_tok["editor"], dataset=d["id"], grantee=people["op"],
                      purpose="q", legal_basis="b", columns=["a"], valid_from=day(-1), valid_until=day(5)))
    url = "/organization/grants/" + ORG
    a = signed_in(srv, people["appr"])
    page = get(srv, a, url)
    assert page.status_code == 200 and g["id"] in page.text and "p &lt;b&gt;" in page.text
    t = csrf_of(page)
    r = post(srv, a, url, {"csrf_token": t, "op": "approve", "id": g["id"], "note": "fine"})
    assert r.status_code == 303 and r.headers["Location"] == url + "?done=grant-approved"
    assert ok(srv.api("grant_show", id=g["id"]))["state"] == "approved"
    assert in_ledger(srv, "grant_approve", "grant", g["id"])
    r = post(srv, a, url, {"csrf_token": t, "op": "refuse", "id": mine["id"], "note": "no"})
    assert r.status_code == 303
    assert ok(srv.api("grant_show", id=mine["id"]))["state"] == "refused"
    page = get(srv, a, url)
    assert g["id"] not in page.text  # decided: no longer pending


def test_two_person_rule_on_the_page(srv, portal, people):
    """An approver who requested a grant sees it without a button; the server refuses a
    hand-made POST deciding it."""
    appr = people["appr"]
    portal.cli("member", "add", ORG, appr, "editor")
    token = run_cli("token", "create", appr, portal=portal.path, check=0).stdout.strip()
    d = ok(srv.api("package_create", token=token, name=unique("own"), owner_org=ORG,
                   access_level="restricted public"))
    ok(srv.api("datastore_create", token=token, resource={"package_id": d["id"], "name": "t"},
               fields=[{"id": "a", "type": "int"}], records=[{"a": 1}]))
    g = ok(srv.api("grant_request", token=token, dataset=d["id"], grantee=people["op"], purpose="own",
                   legal_basis="b", columns=["a"], valid_from=day(-1), valid_until=day(5)))
    url = "/organization/grants/" + ORG
    s = signed_in(srv, appr)
    page = get(srv, s, url)
    block = page.text.split('id="g-%s"' % g["id"], 1)[1].split("</section>", 1)[0]
    assert "another approver decides it" in block and 'value="approve"' not in block
    r = post(srv, s, url, {"csrf_token": csrf_of(page), "op": "approve", "id": g["id"]})
    assert r.status_code == 403 and "may not approve their own request" in r.text
    assert ok(srv.api("grant_show", id=g["id"]))["state"] == "requested"
    # The second approver sees the buttons and decides it.
    other = signed_in(srv, people["appr2"])
    page = get(srv, other, url)
    block = page.text.split('id="g-%s"' % g["id"], 1)[1].split("</section>", 1)[0]
    assert 'value="approve"' in block
    r = post(srv, other, url, {"csrf_token": csrf_of(page), "op": "approve", "id": g["id"], "note": "ok"})
    assert r.status_code == 303
    assert ok(srv.api("grant_show", id=g["id"]))["decided_by"] == people["appr2"]


def test_pages_in_chinese(srv, people):
    s = signed_in(srv, people["root"])
    s.cookies.set("lang", "zh_CN")
    for path, text in (("/user/account", "我的账户"), ("/user", "新建用户"),
                       ("/organization/members/" + ORG, "审批人和审计人")):
        r = get(srv, s, path)
        assert r.status_code == 200 and text in r.text, path


def test_privacy_override_form(srv, portal, tok, people):
    """A blocked table's resource page shows an approver the gate's reasons and a form; its
    publisher (an approver too) sees the reasons without a form, and the server refuses
    their hand-made POST; a second approver overrides with a justification, on the record."""
    from test_privacy_gate import people_csv, upload, wait_ingest

    appr, appr2 = people["appr"], people["appr2"]
    portal.cli("member", "add", ORG, appr, "editor")
    token = run_cli("token", "create", appr, portal=portal.path, check=0).stdout.strip()
    d = ok(srv.api("package_create", token=token, name=unique("ovr"), owner_org=ORG, private=True))
    rid = ok(upload(srv, token, d["id"], people_csv(portal, rows=40, seed=5)))["id"]
    wait_ingest(srv, rid, token)
    assert ok(srv.api("datastore_privacy_report", token=token, resource_id=rid))["gate"]["status"] == "blocked"
    url = "/dataset/%s/resource/%s" % (d["name"], rid)

    own = signed_in(srv, appr)
    page = get(srv, own, url)
    assert page.status_code == 200 and "Override the privacy gate" in page.text
    assert "Direct identifiers left in clear in the columns" in page.text and "身份证号" in page.text
    assert "another approver decides on an override" in page.text and 'name="justification"' not in page.text
    r = post(srv, own, url + "/override", {"csrf_token": csrf_of(page), "justification": "mine"})
    assert r.status_code == 403 and "own request" in r.text

    # An editor who is no approver sees no form.
    ed = signed_in(srv, people["pub"])
    assert "Override the privacy gate" not in get(srv, ed, url).text

    portal.cli("member", "add", ORG, appr2, "member")  # sees the private dataset
    other = signed_in(srv, appr2)
    page = get(srv, other, url)
    assert 'name="justification"' in page.text
    r = post(srv, other, url + "/override", {"csrf_token": csrf_of(page), "justification": "   "})
    assert r.status_code == 409
    r = post(srv, other, url + "/override", {"csrf_token": csrf_of(page),
                                             "justification": "synthetic records <b>for a test</b>"})
    assert r.status_code == 303 and r.headers["Location"] == url + "#h-privacy"
    rep = ok(srv.api("datastore_privacy_report", token=token, resource_id=rid))
    assert rep["gate"]["status"] == "overridden" and rep["override"]["user"] == appr2
    assert rep["override"]["justification"] == "synthetic records <b>for a test</b>"
    assert in_ledger(srv, "privacy_override", "resource", rid)
    page = get(srv, other, url)
    assert "Override the privacy gate" not in page.text
    assert "synthetic records &lt;b&gt;for a test&lt;/b&gt;" in page.text


def test_cli_disable_and_enable(srv, portal, people):
    """`kaifang user disable|enable NAME`: the same function as the users page."""
    name = "cli-" + people["root"][-8:]
    add_user(portal, name)
    s = signed_in(srv, name)
    token = run_cli("token", "create", name, portal=portal.path, check=0).stdout.strip()
    h = {"Authorization": token}
    assert srv.get("/api/3/action/grant_list", headers=h).status_code == 200
    p = run_cli("user", "disable", name, portal=portal.path, check=0)
    assert p.stdout.strip() == name + "\tdisabled"
    assert srv.get("/api/3/action/grant_list", headers=h).status_code == 403
    assert get(srv, s, "/user/account").status_code == 303
    assert in_ledger(srv, "user_state_set", "user", name)
    again = run_cli("user", "disable", name, portal=portal.path, check=None)
    assert again.returncode == 1 and "already disabled" in again.stderr
    missing = run_cli("user", "enable", "no-such-user-x", portal=portal.path, check=None)
    assert missing.returncode == 1 and "no-such-user-x" in missing.stderr
    assert run_cli("user", "enable", name, portal=portal.path, check=0).stdout.strip() == name + "\tenabled"
    assert srv.get("/api/3/action/grant_list", headers=h).status_code == 200
    signed_in(srv, name)
