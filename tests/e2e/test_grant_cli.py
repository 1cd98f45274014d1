"""`kaifang grant request|approve|refuse|revoke|list|show` (issue 8): the grants of the
Action API from the command line, with the API's checks and errors (the two-person rule
above all), one ledger entry per change and none for a refused command. The server of
the same portal answers the same requests, so each refusal is compared with the API's.
It counts the portal's ledger rows in its database (conftest.portal_sql), on either store."""
import json

import pytest

from conftest import ENTRY_TEXT, ORG, fails, ok, portal_sql, run_cli, unique
from test_grants import ROWS, day



def ledger_rows(portal):
    return int(portal_sql(portal.path, "SELECT count(*) FROM ledger_entries")[0][0])


def last_entry(portal):
    return json.loads(portal_sql(portal.path, "SELECT " + ENTRY_TEXT + " FROM ledger_entries"
                                 " ORDER BY idx DESC LIMIT 1")[0][0])


@pytest.fixture(scope="module")
def world(portal, srv, tok):
    t = dict(tok)
    for name in ("approver", "grantee"):
        portal.cli("user", "add", name)
        t[name] = portal.cli("token", "create", name).stdout.strip()
    portal.cli("role", "add", "approver", "approver", "--org", ORG)
    portal.cli("role", "add", "orgadmin", "approver", "--org", ORG)
    portal.cli("role", "add", "grantee", "grantee")
    d = ok(srv.api("package_create", token=t["editor"], name=unique("restricted"), owner_org=ORG,
                   access_level="non-public"))
    ok(srv.api("datastore_create", token=t["editor"], resource={"package_id": d["id"], "name": "people"},
               fields=[{"id": "district", "type": "text"}, {"id": "name", "type": "text"},
                       {"id": "age", "type": "int"}], records=ROWS))
    return t, d


def request_args(d, **kw):
    a = {"grantee": "grantee", "purpose": "housing study", "legal-basis": "Statistics Law art. 9",
         "columns": "district,age", "filters": '{"district": "A"}', "valid-from": day(-1),
         "valid-until": day(30)}
    a.update(kw)
    out = ["grant", "request", d["name"]]
    for k, v in a.items():
        if v is not None:
            out += ["--" + k, v]
    return out


def test_request_errors_are_the_apis(portal, srv, world):
    t, d = world
    n = ledger_rows(portal)
    for kw, field in [({"purpose": None}, "purpose"), ({"columns": ""}, "columns"),
                      ({"valid-until": day(-5)}, "valid_until"), ({"grantee": "member"}, "grantee"),
                      ({"filters": '{"name": "x"}'}, "filters")]:
        r = portal.cli(*request_args(d, **kw), "--as", "editor", check=1)
        api = dict(dataset=d["name"], grantee="grantee", purpose="housing study",
                   legal_basis="Statistics Law art. 9", columns="district,age",
                   filters={"district": "A"}, valid_from=day(-1), valid_until=day(30))
        key = field if field != "valid_until" else "valid_until"
        if kw.get(list(kw)[0]) is None:
            del api[key]
        else:
            api[key] = kw[list(kw)[0]] if field != "filters" else {"name": "x"}
        err = fails(srv.api("grant_request", token=t["editor"], **api), 409, field=field)
        msg = err[field][0] if isinstance(err.get(field), list) else err["message"]
        assert ("%s: %s" % (field, msg)) in r.stderr, (field, r.stderr, err)
    # filters as text (a form or query string sends it so) naming an ungranted column.
    fails(srv.api("grant_request", token=t["editor"], dataset=d["name"], grantee="grantee",
                  purpose="p", legal_basis="b", columns="age", filters='{"name": "x"}',
                  valid_from=day(0), valid_until=day(1)), 409, field="filters")
    # Who may request: not a member (403 over the API, an error here), not anonymous.
    r = portal.cli(*request_args(d), "--as", "member", check=1)
    fails(srv.api("grant_request", token=t["member"], dataset=d["name"], grantee="grantee",
                  purpose="p", legal_basis="b", columns="age", valid_from=day(0), valid_until=day(1)), 403)
    assert "member" in r.stderr
    assert ledger_rows(portal) == n, "a refused command wrote to the ledger"


def test_request_approve_refuse_revoke(portal, srv, world):
    t, d = world
    n = ledger_rows(portal)
    g = json.loads(portal.cli(*request_args(d), "--as", "orgadmin").stdout)
    assert g["state"] == "requested" and g["requested_by"] == "orgadmin" and g["columns"] == ["district", "age"]
    assert g["filters"] == {"district": ["A"]} and "grantee_id" not in g
    assert ledger_rows(portal) == n + 1 and last_entry(portal)["type"] == "grant_request"
    # The two-person rule: the requester may not approve, nor may the CLI's sysadmin
    # (no approver role); the API says the same.
    r = portal.cli("grant", "approve", g["id"], "--as", "orgadmin", check=1)
    err = fails(srv.api("grant_approve", token=t["orgadmin"], id=g["id"]), 403)
    assert err["message"] in r.stderr and "own request" in r.stderr, (r.stderr, err)
    r = portal.cli("grant", "approve", g["id"], check=1)
    assert "not an approver" in r.stderr, r.stderr
    r = portal.cli("grant", "approve", g["id"], "--as", "grantee", check=1)
    assert ledger_rows(portal) == n + 1, "a refused approval wrote to the ledger"
    a = json.loads(portal.cli("grant", "approve", g["id"], "--as", "approver", "--note", "ok").stdout)
    assert a["state"] == "approved" and a["decided_by"] == "approver" and a["note"] == "ok"
    assert ledger_rows(portal) == n + 2 and last_entry(portal)["type"] == "grant_approve"
    r = portal.cli("grant", "approve", g["id"], "--as", "approver", check=1)
    err = fails(srv.api("grant_approve", token=t["approver"], id=g["id"]), 409)
    assert "approved already" in r.stderr and "approved already" in err["message"]
    # The grant works: the grantee reads under it through the API.
    res = ok(srv.api("datastore_search", token=t["grantee"],
                     resource_id=ok(srv.api("package_show", token=t["editor"], id=d["id"]))["resources"][0]["id"]))
    assert sorted(x["age"] for x in res["records"]) == [31, 45]
    # show and list, as the API.
    assert json.loads(portal.cli("grant", "show", g["id"]).stdout) == ok(srv.api("grant_show", token=t["editor"], id=g["id"]))
    lst = json.loads(portal.cli("grant", "list", "--dataset", d["name"]).stdout)
    assert g["id"] in {x["id"] for x in lst}
    assert json.loads(portal.cli("grant", "list", "--grantee", "nobody").stdout) == []
    r = portal.cli("grant", "show", "no-such-grant", check=1)
    assert "not found" in r.stderr
    # Refuse another request; revoke the approved one (then reads stop).
    o = json.loads(portal.cli(*request_args(d, purpose="second"), "--as", "editor").stdout)
    f = json.loads(portal.cli("grant", "refuse", o["id"], "--as", "orgadmin", "--note", "no").stdout)
    assert f["state"] == "refused" and f["decided_by"] == "orgadmin"
    assert last_entry(portal)["type"] == "grant_refuse"
    r = portal.cli("grant", "revoke", o["id"], "--as", "approver", check=1)
    assert "not approved" in r.stderr
    v = json.loads(portal.cli("grant", "revoke", g["id"], "--as", "approver").stdout)
    assert v["state"] == "revoked" and last_entry(portal)["type"] == "grant_revoke"
    # request, approve, the grantee's read, request, refuse, revoke: six entries.
    assert ledger_rows(portal) == n + 6


def test_usage(portal):
    r = run_cli("grant", check=2)
    assert "missing sub-command" in r.stderr
    r = portal.cli("grant", "grant-all", check=2)
    assert "unknown sub-command" in r.stderr
    r = portal.cli("grant", "approve", check=2)
    assert "GRANT_ID" in r.stderr or "argument" in r.stderr
