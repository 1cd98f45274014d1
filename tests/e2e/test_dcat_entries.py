"""
data.json entries kept in the store (docs/internals/dcat.md, "Speed and memory"): every
public dataset's entry is written with the dataset, by the server's actions and by
`kaifang load`; data.json concatenates them with the site URL spliced in, derives and
stores back what is missing, and gives the same bytes as entries derived afresh, after
every kind of write, under another site URL (each server here listens on port 0, so its
site URL is new) and after a configuration change.
"""

import os
import shutil

from conftest import CATALOG_DIR, ORG, Portal, create_token, ok, portal_sql


def count(portal, sql):
    return int(portal_sql(portal.path, sql)[0][0])


def entries(portal):
    return count(portal, "SELECT count(*) FROM dataset_derived")


def public(portal):
    # private is an integer in SQLite, a boolean in PostgreSQL: NOT reads both.
    return count(portal, "SELECT count(*) FROM datasets WHERE state = 'active' AND NOT private")


def version(portal):
    """The store version (bumped by every committed write, an entry stored back too)."""
    return count(portal, "SELECT value FROM meta WHERE key = 'version'")


def keys(portal):
    return {k for (k,) in portal_sql(portal.path, "SELECT DISTINCT key FROM dataset_derived")}


def wipe(portal):
    """Removes every kept entry and files/dcat: the next data.json derives them afresh."""
    portal_sql(portal.path, "DELETE FROM dataset_derived")
    shutil.rmtree(os.path.join(portal.path, "files", "dcat"), ignore_errors=True)


def datajson(srv):
    r = srv.get("/data.json", headers={"Accept-Encoding": "identity"})
    assert r.status_code == 200, r.text[:500]
    return r.content


def same_but_site(a, site_a, b, site_b):
    """a and b are the same document, each under its own site URL."""
    assert site_a.encode() in a and site_b.encode() in b
    assert a.replace(site_a.encode(), site_b.encode()) == b


def test_load_writes_entries(tmp_path, kaifang_bin, start_server):
    p = Portal(tmp_path / "portal").init()
    p.cli("load", CATALOG_DIR)
    # `kaifang load` wrote each public dataset's entry with it.
    n = public(p)
    assert n > 0 and entries(p) == n
    v = version(p)
    s1 = start_server(p)
    first = datajson(s1)
    s1.stop()
    # Read, nothing derived and stored back (no write): the entries are the ones load
    # wrote, under the options the server reads.
    assert entries(p) == n and version(p) == v
    # Derived afresh under another site (another port): the same document.
    wipe(p)
    s2 = start_server(p)
    fresh = datajson(s2)
    assert entries(p) == n  # stored back
    again = datajson(s2)
    s2.stop()
    same_but_site(first, s1.url, fresh, s2.url)
    assert again == fresh


def test_entries_follow_writes(clone_portal, start_server):
    p = clone_portal()
    tok = p.tokens["sysadmin"]
    s1 = start_server(p)
    made = []
    for i in range(4):
        made.append(ok(s1.api("package_create", token=tok, name="entry-%d" % i, title="Entry %d" % i,
                              owner_org=ORG, notes="Version one.",
                              resources=[{"name": "link", "url": "https://x.example/%d.csv" % i,
                                          "format": "CSV"}])))
    ok(s1.api("resource_create", token=tok, package_id="entry-0", name="upload",
              files={"upload": ("table.csv", b"a,b\n1,2\n", "text/csv")}))
    assert entries(p) == public(p) == 4
    before = datajson(s1)
    etag = s1.get("/data.json").headers["ETag"]
    # Every kind of write.
    ok(s1.api("package_patch", token=tok, id="entry-1", title="Renamed title"))
    ok(s1.api("package_update", token=tok, id="entry-2", name="entry-2", title="Updated",
              owner_org=ORG, notes="Version two."))
    res = made[3]["resources"][0]["id"]
    ok(s1.api("resource_update", token=tok, id=res, name="moved", url="https://y.example/3.json",
              format="JSON"))
    ok(s1.api("resource_create", token=tok, package_id="entry-3", name="second",
              url="https://y.example/4.csv", format="CSV"))
    ok(s1.api("resource_delete", token=tok, id=res))
    ok(s1.api("package_delete", token=tok, id="entry-0"))
    ok(s1.api("package_patch", token=tok, id="entry-3", private=True))
    ok(s1.api("package_patch", token=tok, id="entry-3", private=False))
    ok(s1.api("package_patch", token=tok, id="entry-1", access_level="non-public"))
    assert entries(p) == public(p) == 3
    after = datajson(s1)
    assert after != before
    assert b"Renamed title" in after and b"Version two." in after and b"entry-0" not in after
    assert b"https://y.example/3.json" not in after and b"https://y.example/4.csv" in after
    # The ETag moved with the writes; the current one still answers 304.
    assert s1.get("/data.json", headers={"If-None-Match": etag}).status_code == 200
    now = s1.get("/data.json").headers["ETag"]
    assert now != etag
    assert s1.get("/data.json", headers={"If-None-Match": now}).status_code == 304
    s1.stop()
    # The same bytes as entries derived afresh (under this server's site and the next's).
    wipe(p)
    s2 = start_server(p)
    same_but_site(after, s1.url, datajson(s2), s2.url)


def test_configuration_change(clone_portal, start_server):
    p = clone_portal()
    tok = p.tokens["sysadmin"]
    s1 = start_server(p)
    for i in range(3):
        ok(s1.api("package_create", token=tok, name="conf-%d" % i, owner_org=ORG))
    datajson(s1)
    s1.stop()
    old = keys(p)
    assert len(old) == 1 and entries(p) == 3
    with open(os.path.join(p.path, "kaifang.conf"), "a") as f:
        f.write("\ncatalog_publisher = Another publisher\ncatalog_contact_email = other@example.gov\n")
    s2 = start_server(p)
    text = datajson(s2)
    assert b"mailto:other@example.gov" in text
    # Derived again and stored back under the new options' key.
    new = keys(p)
    assert len(new) == 1 and new != old and entries(p) == 3
    assert datajson(s2) == text
    s2.stop()
    wipe(p)
    s3 = start_server(p)
    same_but_site(text, s2.url, datajson(s3), s3.url)
