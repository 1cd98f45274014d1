"""Signing in to the web pages (src/http/publish.c, src/access/session.c): passwords
checked with argon2id, the session cookie and its flags, sessions kept in the store and
refused once ended, signing out, failed sign-ins slowed, and the CSRF token every POST
to a page must carry (a POST without it or with a wrong one is 403). The JSON API takes
API tokens only: the session cookie never authorises it."""

import os
import re

import pytest
import requests

from conftest import STORE, Portal, Server, copy_portal, fails, ok, portal_sql, run_cli, unique

PASSWORD = "correct horse battery"


def browser(srv):
    s = requests.Session()
    s.trust_env = False
    return s


def get(srv, s, path):
    return s.get(srv.url + path, allow_redirects=False, timeout=30)


def post(srv, s, path, data, **kw):
    return s.post(srv.url + path, data=data, allow_redirects=False, timeout=30, **kw)


def login_token(srv, s):
    r = get(srv, s, "/user/login")
    assert r.status_code == 200, r.text[:300]
    m = re.search(r'name="csrf_token" value="([^"]+)"', r.text)
    assert m, r.text
    return m.group(1), r


def sign_in(srv, s, name, password, next_=None):
    tok, _ = login_token(srv, s)
    data = {"csrf_token": tok, "name": name, "password": password}
    if next_:
        data["next"] = next_
    return post(srv, s, "/user/login", data)


def set_cookie_headers(r):
    return [v for k, v in r.raw.headers.items() if k.lower() == "set-cookie"]


def session_csrf(srv, s):
    r = get(srv, s, "/user/login")
    assert r.status_code == 200 and "Signed in" in r.text, r.text[:500]
    return re.search(r'name="csrf_token" value="([^"]+)"', r.text).group(1)


@pytest.fixture(scope="module")
def pw_user(portal):
    name = unique("pub").replace("_", "-")
    run_cli("user", "add", name, "--password-stdin", portal=portal.path, check=0,
            input=PASSWORD + "\n")
    portal.cli("member", "add", portal.org, name, "editor")
    return name


def test_password_is_stored_hashed_and_checked(portal, pw_user):
    # Too short: refused, nothing stored, the password not echoed.
    p = run_cli("user", "password", pw_user, portal=portal.path, check=None, input="short\n")
    assert p.returncode != 0 and "shorter than 8" in p.stderr and "short\n" not in p.stderr
    (h,) = portal_sql(portal.path, "SELECT password_hash FROM users WHERE name = ?", (pw_user,))[0]
    assert h.startswith("$argon2id$v=19$") and PASSWORD not in h


def test_sign_in_cookie_flags_and_sign_out(srv, pw_user):
    s = browser(srv)
    tok, page = login_token(srv, s)
    pre = set_cookie_headers(page)
    assert len(pre) == 1 and pre[0].startswith("kf_login="), pre
    for flag in ("HttpOnly", "SameSite=Strict", "Path=/user/login"):
        assert flag in pre[0], pre
    assert 'autocomplete="current-password"' in page.text and '<label for="login-password">' in page.text

    # A wrong password and an unknown user: refused alike, never saying which was wrong.
    bad = post(srv, s, "/user/login", {"csrf_token": tok, "name": pw_user, "password": "wrong password"})
    nobody = post(srv, s, "/user/login", {"csrf_token": tok, "name": "no-such-user", "password": PASSWORD})
    for r in (bad, nobody):
        assert r.status_code == 403 and "Wrong user name or password." in r.text
        assert "kf_session" not in s.cookies and not any("kf_session=" in c for c in set_cookie_headers(r))

    good = post(srv, s, "/user/login", {"csrf_token": tok, "name": pw_user, "password": PASSWORD,
                                        "next": "/dataset"})
    assert good.status_code == 303 and good.headers["Location"] == "/dataset"
    cookie = [c for c in set_cookie_headers(good) if c.startswith("kf_session=")]
    assert len(cookie) == 1, set_cookie_headers(good)
    c = cookie[0]
    sid = c.split(";")[0].split("=", 1)[1]
    assert len(sid) >= 3 + 43  # "kf_" and 256 bits of URL-safe base64
    for flag in ("HttpOnly", "SameSite=Lax", "Path=/", "Max-Age=28800"):
        assert flag in c, c
    assert "Secure" not in c  # the site URL is http here (test_secure_cookie_on_https)
    assert good.headers["Cache-Control"] == "no-store"

    # Signed in: the pages know the user; the page is never the anonymous cached copy.
    home = get(srv, s, "/")
    assert pw_user in home.text and 'action="/user/logout"' in home.text
    assert "/user/login" not in home.text
    assert "private" in home.headers.get("Cache-Control", "")
    csrf = session_csrf(srv, s)
    assert csrf != tok

    # Sign out ends the session in the store: the old cookie no longer signs anyone in.
    out = post(srv, s, "/user/logout", {"csrf_token": csrf})
    assert out.status_code == 303 and out.headers["Location"] == "/"
    assert any(c.startswith("kf_session=;") and "Max-Age=0" in c for c in set_cookie_headers(out))
    replay = requests.Session()
    replay.trust_env = False
    replay.cookies.set("kf_session", sid)
    again = get(srv, replay, "/user/login")
    assert again.status_code == 200 and "Signed in" not in again.text and 'name="password"' in again.text


def test_csrf_refused(srv, pw_user, tok):
    s = browser(srv)
    # The sign-in form without its pre-session cookie, or with another token: 403.
    r = post(srv, requests.Session(), "/user/login", {"csrf_token": "kf_x" * 8, "name": pw_user,
                                                     "password": PASSWORD})
    assert r.status_code == 403 and "CSRF" in r.text
    login_token(srv, s)
    r = post(srv, s, "/user/login", {"csrf_token": "kf_" + "A" * 43, "name": pw_user, "password": PASSWORD})
    assert r.status_code == 403 and "CSRF" in r.text and "kf_session" not in s.cookies

    assert sign_in(srv, s, pw_user, PASSWORD).status_code == 303
    csrf = session_csrf(srv, s)
    # A signed-in browser's POST without the token, with a wrong one, with another
    # session's: 403 with the reason, and the session still stands.
    other = browser(srv)
    assert sign_in(srv, other, pw_user, PASSWORD).status_code == 303
    other_csrf = session_csrf(srv, other)
    for data in ({}, {"csrf_token": ""}, {"csrf_token": csrf[:-1] + ("A" if csrf[-1] != "A" else "B")},
                 {"csrf_token": other_csrf}):
        r = post(srv, s, "/user/logout", data)
        assert r.status_code == 403, (data, r.status_code)
        assert "security token (CSRF) is missing or does not match" in r.text
        assert "frame-ancestors 'none'" in r.headers["Content-Security-Policy"]
    assert session_csrf(srv, s) == csrf
    # An API token is no session: a page POST with it and no form token is refused too.
    r = srv.request("POST", "/user/logout", headers={"Authorization": tok["editor"]}, data={})
    assert r.status_code == 403

    # The JSON API ignores the session cookie: a write with only the cookie is anonymous.
    r = s.post(srv.url + "/api/3/action/package_create", json={"name": unique("csrf"), "owner_org": "ministry-of-data"},
               timeout=30)
    assert r.status_code == 403 and r.json()["success"] is False
    assert "anonymous" in r.json()["error"]["message"].lower() or "not authorized" in r.json()["error"]["message"].lower()


def test_failed_sign_ins_are_slowed(srv, portal):
    name = unique("slow").replace("_", "-")
    run_cli("user", "add", name, "--password-stdin", portal=portal.path, check=0, input=PASSWORD + "\n")
    s = browser(srv)
    tok, _ = login_token(srv, s)
    statuses = []
    for _ in range(6):
        r = post(srv, s, "/user/login", {"csrf_token": tok, "name": name, "password": "not the password"})
        statuses.append(r.status_code)
    # Five failures are free; then the account is locked for a while, and even the right
    # password is turned away until it ends (429 with Retry-After).
    assert statuses[:5] == [403] * 5 and statuses[5] == 429, statuses
    r = post(srv, s, "/user/login", {"csrf_token": tok, "name": name, "password": PASSWORD})
    assert r.status_code == 429 and int(r.headers["Retry-After"]) >= 1
    assert "Too many failed attempts" in r.text and "kf_session" not in s.cookies


def test_ended_session_refused(srv, portal, pw_user):
    s = browser(srv)
    assert sign_in(srv, s, pw_user, PASSWORD).status_code == 303
    session_csrf(srv, s)
    portal_sql(portal.path, "UPDATE sessions SET expires = 1")
    r = get(srv, s, "/user/login")
    assert "Signed in" not in r.text and 'name="password"' in r.text
    # A new password ends every session of the user.
    assert sign_in(srv, s, pw_user, PASSWORD).status_code == 303
    session_csrf(srv, s)
    run_cli("user", "password", pw_user, portal=portal.path, check=0, input=PASSWORD + "\n")
    r = get(srv, s, "/user/login")
    assert "Signed in" not in r.text


def test_secure_cookie_on_https(tmp_path, base_portal, pw_user):
    dest = tmp_path / "portal"
    copy_portal(base_portal.path, dest)
    p = Portal(dest)
    run_cli("user", "add", "https-user", "--password-stdin", portal=p.path, check=0, input=PASSWORD + "\n")
    with open(os.path.join(p.path, "kaifang.conf"), "a") as f:
        f.write("\nsite_url = https://data.example.org\n")
    srv = Server(p)
    try:
        s = browser(srv)
        tok, page = login_token(srv, s)
        assert "Secure" in set_cookie_headers(page)[0]
        # The test speaks plain HTTP, where a client keeps Secure cookies to itself.
        s.cookies.clear()
        s.cookies.set("kf_login", tok, path="/user/login")
        r = post(srv, s, "/user/login", {"csrf_token": tok, "name": "https-user", "password": PASSWORD})
        assert r.status_code == 303
        c = [c for c in set_cookie_headers(r) if c.startswith("kf_session=")][0]
        assert "; Secure" in c and "HttpOnly" in c and "SameSite=Lax" in c
    finally:
        srv.stop()


def test_user_create_with_password(srv, tok):
    name = unique("apiuser").replace("_", "-")
    fails(srv.api("user_create", token=tok["sysadmin"], name=name, password="short"), 409,
          field="password")
    u = ok(srv.api("user_create", token=tok["sysadmin"], name=name, password=PASSWORD))
    assert "password" not in u and "password_hash" not in u
    s = browser(srv)
    assert sign_in(srv, s, name, PASSWORD).status_code == 303


def catalog_version(portal):
    """The store's version counters (the meta table on both stores)."""
    rows = portal_sql(portal.path, "SELECT key, value FROM meta WHERE key IN ('version', 'catalog')")
    return {k: int(v) for k, v in rows}


def test_signed_in_state_on_every_page(srv, pw_user):
    """The ledger, audit and API pages show who is signed in, as the catalog pages do."""
    s = browser(srv)
    assert sign_in(srv, s, pw_user, PASSWORD).status_code == 303
    for path in ("/", "/dataset", "/ledger", "/audit", "/api", "/organization", "/licenses"):
        if path == "/audit" and STORE != "sqlite":
            continue  # NEEDSWORK: the PostgreSQL store has no audit walk yet (issue 9)
        r = get(srv, s, path)
        assert r.status_code == 200, (path, r.status_code)
        assert 'href="/user/account" title="My account">%s</a>' % pw_user in r.text, path
        assert 'action="/user/logout"' in r.text, path
        assert 'href="/user/login' not in r.text, path
        assert "private" in r.headers.get("Cache-Control", ""), path
    anon = browser(srv)
    for path in ("/ledger", "/audit", "/api"):
        r = get(srv, anon, path)
        assert 'href="/user/login' in r.text and 'action="/user/logout"' not in r.text, path


def test_sign_in_and_out_keep_the_page_cache(srv, portal, pw_user):
    """Signing in and out writes sessions only: the catalog version (the key of the cached
    anonymous pages) does not move, and no page a signed-in user saw reaches anyone else."""
    anon = browser(srv)
    first = get(srv, anon, "/dataset")
    before = catalog_version(portal)
    s = browser(srv)
    assert sign_in(srv, s, pw_user, PASSWORD).status_code == 303
    mine = get(srv, s, "/dataset")
    assert pw_user in mine.text
    after_in = catalog_version(portal)
    assert after_in["catalog"] == before["catalog"], (before, after_in)
    # The anonymous page is the same document (from the cache, its ETag unchanged) and
    # shows nobody's name.
    again = get(srv, anon, "/dataset")
    assert again.headers["ETag"] == first.headers["ETag"]
    assert pw_user not in again.text and 'href="/user/login' in again.text
    out = post(srv, s, "/user/logout", {"csrf_token": session_csrf(srv, s)})
    assert out.status_code == 303
    after_out = catalog_version(portal)
    assert after_out["catalog"] == before["catalog"], (before, after_out)
    assert after_out["version"] > before["version"]  # the sessions were written
    assert get(srv, anon, "/dataset").headers["ETag"] == first.headers["ETag"]


def test_column_types_form_changes_only_the_tables_columns(srv, pw_user, tok):
    """The column types form re-types the table's columns; a field it does not have (a
    forged form) is refused with the form's error and the table keeps its columns (found
    by a fresh-user test: an all-null "ghost_col" was added to the live table)."""
    d = ok(srv.api("package_create", token=tok["editor"], name=unique("dict"), owner_org="ministry-of-data"))
    rid = ok(srv.api("datastore_create", token=tok["editor"], resource={"package_id": d["id"], "name": "t"},
                     fields=[{"id": "a", "type": "int"}], records=[{"a": 1}]))["resource_id"]
    s = browser(srv)
    assert sign_in(srv, s, pw_user, PASSWORD).status_code == 303
    csrf = session_csrf(srv, s)
    path = "/dataset/%s/resource/%s/dictionary" % (d["name"], rid)
    r = post(srv, s, path, {"csrf_token": csrf, "field_0": "ghost_col", "type_0": "date"})
    assert r.status_code == 409 and "&quot;ghost_col&quot; is not a column of the table" in r.text, r.text[:2000]
    fields = ok(srv.api("datastore_search", resource_id=rid))["fields"]
    assert [f["id"] for f in fields] == ["_id", "a"], fields


def test_editors_get_links_to_the_publisher_pages(srv, pw_user, tok):
    """A signed-in editor of the dataset's organization sees links to edit it, add a
    resource and change a table's column types; a visitor does not (found by a fresh-user
    test: the pages were reachable only by knowing their URLs)."""
    d = ok(srv.api("package_create", token=tok["editor"], name=unique("links"), owner_org="ministry-of-data"))
    rid = ok(srv.api("datastore_create", token=tok["editor"], resource={"package_id": d["id"], "name": "t"},
                     fields=[{"id": "a", "type": "int"}], records=[{"a": 1}]))["resource_id"]
    s = browser(srv)
    assert sign_in(srv, s, pw_user, PASSWORD).status_code == 303
    page = "/dataset/%s" % d["name"]
    rpage = "%s/resource/%s" % (page, rid)
    html = get(srv, s, page).text
    assert 'href="/dataset/edit/%s"' % d["name"] in html and 'href="%s/resource/new"' % page in html, html[:3000]
    assert 'href="%s/dictionary"' % rpage in get(srv, s, rpage).text
    for path in (page, rpage):
        anon = get(srv, browser(srv), path).text
        assert "publisher-actions" not in anon and "/dataset/edit/" not in anon
