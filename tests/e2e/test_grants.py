"""Grants on restricted datasets, and restricted reads (issue 8).

A dataset whose access_level is "restricted public" or "non-public" keeps public
metadata, but its data (datastore table, uploaded file) is read only by a grantee,
through datastore_search, under an approved grant valid today, within the grant's
columns and rows. Request, approval, refusal, every read and every refusal of a signed-in
caller are ledger entries; grants are public where their dataset is.
"""

import datetime
import json
import os
import stat
import time

import pytest

from conftest import ORG, fails, ok, portal_sql, unique
from test_ledger_completeness import Ledger

ROWS = [
    {"district": "A", "name": "Zhang San", "age": 31},
    {"district": "A", "name": "Li Si", "age": 45},
    {"district": "B", "name": "Wang Wu", "age": 52},
]


def day(delta=0):
    return (datetime.datetime.now(datetime.timezone.utc).date() + datetime.timedelta(days=delta)).isoformat()


@pytest.fixture(scope="module")
def setup(portal, srv, tok):
    t = dict(tok)
    for name in ("approver", "grantee", "grantee2"):
        portal.cli("user", "add", name)
        t[name] = portal.cli("token", "create", name).stdout.strip()
    portal.cli("role", "add", "approver", "approver", "--org", ORG)
    portal.cli("role", "add", "orgadmin", "approver", "--org", ORG)
    portal.cli("role", "add", "grantee", "grantee")
    portal.cli("role", "add", "grantee2", "grantee")
    d = ok(srv.api("package_create", token=t["editor"], name=unique("restricted"), owner_org=ORG,
                   access_level="restricted public"))
    r = ok(srv.api("datastore_create", token=t["editor"],
                   resource={"package_id": d["id"], "name": "people"},
                   fields=[{"id": "district", "type": "text"}, {"id": "name", "type": "text"},
                           {"id": "age", "type": "int"}], records=ROWS))
    return t, d, r["resource_id"]


def request(srv, token, d, grantee="grantee", **kw):
    p = dict(dataset=d["name"], grantee=grantee, purpose="housing study", legal_basis="Statistics Law art. 9",
             columns=["district", "age"], filters={"district": ["A"]}, valid_from=day(-1), valid_until=day(30))
    p.update(kw)
    return srv.api("grant_request", token=token, **p)


def test_restricted_data_is_closed_to_everyone_without_a_grant(srv, setup):
    t, d, rid = setup
    # Metadata stays public.
    ok(srv.api("package_show", id=d["name"]))
    ok(srv.api("datastore_info", id=rid))
    lg = Ledger(srv)
    fails(srv.api("datastore_search", resource_id=rid), 403)
    lg.new(0, "an anonymous refusal is not recorded")
    for who in ("editor", "orgadmin", "member", "sysadmin", "grantee"):
        fails(srv.api("datastore_search", token=t[who], resource_id=rid), 403)
        e = lg.one("restricted_read_refused", "search by %s" % who, actor=who, org=ORG, resource=rid,
                   dataset=d["id"])
        assert e["objects"]["reason"] == "no grant", e
        fails(srv.api("datastore_search_sql", token=t[who], sql='SELECT * FROM "%s"' % rid), 403)
        lg.one("restricted_read_refused", "sql by %s" % who, actor=who, resource=rid)
        r = srv.get("/datastore/dump/" + rid, headers={"Authorization": t[who]})
        assert r.status_code == 403, r
        lg.one("restricted_read_refused", "dump by %s" % who, actor=who, resource=rid)
    assert srv.get("/datastore/dump/" + rid).status_code == 403
    fails(srv.api("datastore_search_sql", sql='SELECT * FROM "%s"' % rid), 403)


def test_request_approve_read(srv, setup):
    t, d, rid = setup
    lg = Ledger(srv)
    # Who may request: the organization's editors and admins.
    fails(request(srv, t["member"], d), 403)
    fails(request(srv, None, d), 403)
    fails(request(srv, t["editor"], d, grantee="member"), 409, field="grantee")
    fails(request(srv, t["editor"], d, valid_until=day(-5)), 409, field="valid_until")
    fails(request(srv, t["editor"], d, valid_from="2026-02-30"), 409, field="valid_from")
    fails(request(srv, t["editor"], d, columns=[]), 409, field="columns")
    fails(request(srv, t["editor"], d, filters={"name": "x"}), 409, field="filters")
    pub = ok(srv.api("package_create", token=t["editor"], name=unique("pub"), owner_org=ORG))
    lg.one("dataset_create", "a public dataset")
    fails(request(srv, t["editor"], pub), 409, field="dataset")
    lg.new(0, "refused requests")

    g = ok(request(srv, t["editor"], d))
    assert g["state"] == "requested" and g["grantee"] == "grantee" and g["requested_by"] == "editor", g
    assert "grantee_id" not in g and "organization_id" not in g, g
    lg.one("grant_request", "grant_request", actor="editor", org=ORG, grant=g["id"], dataset=d["id"],
           grantee="grantee")
    # Nobody approves their own request; only approvers of the organization; not the grantee.
    fails(srv.api("grant_approve", token=t["editor"], id=g["id"]), 403)
    fails(srv.api("grant_approve", token=t["sysadmin"], id=g["id"]), 403)
    fails(srv.api("grant_approve", token=t["grantee"], id=g["id"]), 403)
    own = ok(request(srv, t["orgadmin"], d))
    lg.one("grant_request", "orgadmin's request")
    fails(srv.api("grant_approve", token=t["orgadmin"], id=own["id"]), 403, message="own request")
    lg.new(0, "refused approvals")
    fails(srv.api("datastore_search", token=t["grantee"], resource_id=rid), 403)
    lg.one("restricted_read_refused", "read before approval")

    g = ok(srv.api("grant_approve", token=t["approver"], id=g["id"], note="ok"))
    assert g["state"] == "approved" and g["decided_by"] == "approver", g
    lg.one("grant_approve", "grant_approve", actor="approver", org=ORG, grant=g["id"])
    fails(srv.api("grant_approve", token=t["approver"], id=g["id"]), 409)
    refused = ok(srv.api("grant_refuse", token=t["approver"], id=own["id"], note="no purpose"))
    assert refused["state"] == "refused", refused
    lg.one("grant_refuse", "grant_refuse", actor="approver", grant=own["id"])

    # The grant is public where the dataset is, without personal data.
    lst = ok(srv.api("grant_list", dataset=d["name"]))
    assert {x["id"] for x in lst} == {g["id"], own["id"]}, lst
    assert "@" not in json.dumps(lst)
    assert ok(srv.api("grant_show", id=g["id"]))["columns"] == ["district", "age"]
    page = srv.get("/dataset/" + d["name"], headers={"Accept-Language": "en"}).text
    assert 'id="h-grants"' in page and "housing study" in page and "Statistics Law art. 9" in page, page[-3000:]
    assert "district, age" in page and "approved (approver)" in page

    # The grantee reads within the grant: its columns, its rows.
    res = ok(srv.api("datastore_search", token=t["grantee"], resource_id=rid))
    assert [f["id"] for f in res["fields"]] == ["district", "age"], res["fields"]
    assert sorted(r["age"] for r in res["records"]) == [31, 45], res["records"]
    assert all("name" not in r for r in res["records"])
    e = lg.one("restricted_read", "a read", actor="grantee", org=ORG, grant=g["id"], resource=rid)
    assert e["objects"]["rows"] == 2 and e["digest"].startswith("sha256:"), e
    res = ok(srv.api("datastore_search", token=t["grantee"], resource_id=rid, fields="age",
                     filters={"district": "A"}, sort="age desc", limit=1))
    assert res["records"] == [{"age": 45}], res
    e = lg.one("restricted_read", "a narrower read")
    assert e["objects"]["rows"] == 1, e
    ok(srv.api("datastore_search", token=t["grantee"], resource_id=rid, q={"district": "A"}))
    lg.one("restricted_read", "q on a granted column")

    # Outside the grant: 403 and a refusal entry.
    for kw, reason in [({"fields": "district,name"}, "field outside the grant"),
                       ({"fields": ["_id"]}, "field outside the grant"),
                       ({"sort": "name"}, "sort outside the grant"),
                       ({"filters": {"district": "B"}}, "rows outside the grant"),
                       ({"filters": {"name": "Li Si"}}, "filter outside the grant"),
                       ({"q": "Zhang"}, "full-text q over every column"),
                       ({"q": {"name": "Zhang"}}, "q outside the grant")]:
        fails(srv.api("datastore_search", token=t["grantee"], resource_id=rid, **kw), 403)
        e = lg.one("restricted_read_refused", repr(kw), actor="grantee", grant=g["id"])
        assert e["objects"]["reason"] == reason, (kw, e)
    fails(srv.api("datastore_search_sql", token=t["grantee"], sql='SELECT age FROM "%s"' % rid), 403)
    lg.one("restricted_read_refused", "sql under a grant")
    assert srv.get("/datastore/dump/" + rid, headers={"Authorization": t["grantee"]}).status_code == 403
    lg.one("restricted_read_refused", "dump under a grant")
    # Another grantee has no grant.
    fails(srv.api("datastore_search", token=t["grantee2"], resource_id=rid), 403)
    lg.one("restricted_read_refused", "another grantee", actor="grantee2")

    # Revoked: reads stop.
    ok(srv.api("grant_revoke", token=t["approver"], id=g["id"]))
    lg.one("grant_revoke", "grant_revoke", actor="approver", grant=g["id"])
    fails(srv.api("datastore_search", token=t["grantee"], resource_id=rid), 403)
    lg.one("restricted_read_refused", "after revocation")


def test_period(portal, srv, setup):
    t, d, rid = setup
    lg = Ledger(srv)
    # A period already over is refused at request and approval: a grant that expired is
    # made current, approved, then moved into the past below the product (before any
    # read of grantee2, whose grants are then read afresh).
    fails(request(srv, t["editor"], d, grantee="grantee2", valid_from=day(-30), valid_until=day(-1)),
          409, field="valid_until", message="is over")
    old = ok(request(srv, t["editor"], d, grantee="grantee2", valid_from=day(-30), valid_until=day(0)))
    ok(srv.api("grant_approve", token=t["approver"], id=old["id"]))
    doc = json.loads(portal_sql(portal.path, "SELECT doc FROM grants WHERE id = ?", (old["id"],))[0][0])
    doc["valid_until"] = day(-1)
    portal_sql(portal.path, "UPDATE grants SET doc = ? WHERE id = ?", (json.dumps(doc), old["id"]))
    lg.new(2, "an expired grant")
    r = fails(srv.api("datastore_search", token=t["grantee2"], resource_id=rid), 403, message="expired")
    e = lg.one("restricted_read_refused", "expired", grant=old["id"])
    assert e["objects"]["reason"] == "grant not valid today", e
    later = ok(request(srv, t["editor"], d, grantee="grantee2", valid_from=day(2), valid_until=day(9)))
    ok(srv.api("grant_approve", token=t["orgadmin"], id=later["id"]))
    lg.new(2, "a later grant")
    fails(srv.api("datastore_search", token=t["grantee2"], resource_id=rid), 403)
    lg.one("restricted_read_refused", "not yet valid")


def test_raw_file_never_served(portal, srv, setup):
    t, d, _ = setup
    up = ok(srv.api("resource_create", token=t["editor"], params={"package_id": d["id"], "name": "raw"},
                    files={"upload": ("people.csv", b"district,name,age\nA,Zhang San,31\n", "text/csv")}))
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        st = ok(srv.api("xloader_status", token=t["editor"], resource_id=up["id"]))
        if st["status"] in ("complete", "error"):
            break
        time.sleep(0.05)
    assert st["status"] == "complete", st
    for who in (None, "editor", "sysadmin", "grantee"):
        h = {"Authorization": t[who]} if who else {}
        r = srv.get("/dataset/%s/resource/%s/download" % (d["id"], up["id"]), headers=h)
        assert r.status_code == 403 and b"Zhang" not in r.content, (who, r.status_code)
    # Encrypted at rest: only the ciphertext is on disk, the key beside it, 0600; the
    # ingest read it (the table has its row).
    digest = up["hash"].split(":", 1)[1]
    stored = os.path.join(portal.path, "files", digest[:2], digest[2:])
    assert not os.path.exists(stored), "a plain copy of a restricted upload"
    with open(stored + ".enc", "rb") as f:
        blob = f.read()
    assert b"Zhang" not in blob and len(blob) == 24 + 33 + 17, len(blob)
    key = os.path.join(portal.path, "restricted.key")
    assert stat.S_IMODE(os.stat(key).st_mode) == 0o600
    info = ok(srv.api("datastore_info", token=t["editor"], id=up["id"]))
    assert info["meta"]["count"] == 1, info
    assert not [n for n in os.listdir(os.path.join(portal.path, "files", "tmp")) if n.startswith("plain-")]


def test_file_of_a_dataset_made_public_is_served(portal, srv, setup):
    """A file uploaded while its dataset was restricted is stored encrypted only; once the
    dataset is public it is downloaded as it was uploaded (found by a fresh-user test:
    404 "file of resource … is missing")."""
    t, _, _ = setup
    d = ok(srv.api("package_create", token=t["editor"], name=unique("flip"), owner_org=ORG,
                   access_level="restricted public"))
    content = b"region,count\nA,10\nB,12\n"
    up = ok(srv.api("resource_create", token=t["editor"], params={"package_id": d["id"], "name": "flip"},
                    files={"upload": ("counts.csv", content, "text/csv")}))
    digest = up["hash"].split(":", 1)[1]
    stored = os.path.join(portal.path, "files", digest[:2], digest[2:])
    assert os.path.exists(stored + ".enc") and not os.path.exists(stored)
    ok(srv.api("package_patch", token=t["editor"], id=d["id"], access_level="public"))
    for _ in range(2):  # restored once, then served from the plain copy
        r = srv.get("/dataset/%s/resource/%s/download" % (d["id"], up["id"]))
        assert r.status_code == 200 and r.content == content, (r.status_code, r.content[:200])
    assert stat.S_IMODE(os.stat(stored).st_mode) == 0o600
