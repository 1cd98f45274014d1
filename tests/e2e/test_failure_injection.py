"""KAIFANG_FAIL_STORE_AT=N makes the server's Nth store write fail: the action must fail
cleanly (500, or 409), change nothing, and leave the server healthy. Each N runs on a
fresh server over a fresh copy of the same portal."""

import os
import shutil

import pytest

from conftest import ORG, copy_portal, ok, unique

K = 4  # N = 1..K (package_create: 1..6)


def assert_clean_failure(r):
    assert r.status in (409, 500), "an injected store failure must answer 500 (or 409), got %r" % (r,)
    b = r.body
    assert isinstance(b, dict) and b.get("success") is False and isinstance(b.get("error"), dict), r
    assert b["error"].get("__type"), r


def snapshot(srv, tok):
    """What a failed write must not change."""
    return {
        "list": ok(srv.api("package_list", token=tok)),
        "search": ok(srv.api("package_search", token=tok, rows=1000, include_private=True, include_drafts=True,
                             sort="name asc"))["count"],
        "orgs": ok(srv.api("organization_list")),
        "tags": ok(srv.api("tag_list")),
    }


@pytest.fixture
def seeded(clone_portal, start_server):
    """A portal with one dataset (with a resource) to update, then a fresh server per N."""
    pt = clone_portal("seed")
    s = start_server(pt)
    t = pt.tokens["editor"]
    ok(s.api("package_create", token=t, name="existing", owner_org=ORG, title="Existing", notes="before",
             tags=[{"name": "old-tag"}]))
    ok(s.api("resource_create", token=t, package_id="existing", url="https://x.org/a.csv", name="a"))
    s.stop()
    return pt


def run_for_each_n(seeded, clone_portal, start_server, write, check_unchanged, k=K):
    failed = []
    for n in range(1, k + 1):
        pt = clone_portal("n%d" % n)
        shutil.rmtree(pt.path)
        copy_portal(seeded.path, pt.path)
        s = start_server(pt, env={"KAIFANG_FAIL_STORE_AT": str(n)})
        tok = pt.tokens["sysadmin"]
        before = snapshot(s, tok)
        r = write(s, pt.tokens, n)
        if r.status == 200 and r.body.get("success") is True:
            # N is past the writes this action makes: nothing failed.
            continue
        failed.append(n)
        assert_clean_failure(r)
        assert snapshot(s, tok) == before, "N=%d: a failed write changed the catalog" % n
        check_unchanged(s, pt.tokens, n)
        # The server recovers: the same write now succeeds (the Nth write is past).
        r2 = write(s, pt.tokens, n)
        assert r2.status == 200 and r2.body["success"] is True, "N=%d: no recovery after the failure: %r" % (n, r2)
        s.stop()
    assert 1 in failed, "KAIFANG_FAIL_STORE_AT=1 made nothing fail: the switch is not wired"
    return failed


def test_package_create(seeded, clone_portal, start_server):
    names = {}

    def write(s, tokens, n):
        names[n] = "created-%d" % n
        return s.api("package_create", token=tokens["editor"], name=names[n], owner_org=ORG, title="New",
                     tags=[{"name": "t1"}, {"name": "t2"}], extras=[{"key": "k", "value": "v"}])

    def unchanged(s, tokens, n):
        r = s.api("package_show", token=tokens["sysadmin"], id=names[n])
        assert r.status == 404, "N=%d: the failed dataset is visible: %r" % (n, r)
        assert "t1" not in ok(s.api("tag_list"))

    run_for_each_n(seeded, clone_portal, start_server, write, unchanged, k=6)


def test_package_patch(seeded, clone_portal, start_server):
    def write(s, tokens, n):
        return s.api("package_patch", token=tokens["editor"], id="existing", notes="after",
                     tags=[{"name": "new-tag"}])

    def unchanged(s, tokens, n):
        d = ok(s.api("package_show", id="existing"))
        assert d["notes"] == "before" and [t["name"] for t in d["tags"]] == ["old-tag"], "N=%d: %r" % (n, d)
        assert d["num_resources"] == 1

    run_for_each_n(seeded, clone_portal, start_server, write, unchanged)


def test_package_delete(seeded, clone_portal, start_server):
    def write(s, tokens, n):
        return s.api("package_delete", token=tokens["editor"], id="existing")

    def unchanged(s, tokens, n):
        assert ok(s.api("package_show", id="existing"))["state"] == "active"

    run_for_each_n(seeded, clone_portal, start_server, write, unchanged)


def files_in(portal):
    out = set()
    for root, dirs, files in os.walk(os.path.join(portal.path, "files")):
        for f in files:
            out.add(os.path.relpath(os.path.join(root, f), portal.path))
    return out


def test_resource_upload(seeded, clone_portal, start_server):
    before = {}

    def write(s, tokens, n):
        before.setdefault(n, files_in(s.portal))
        return s.api("resource_create", token=tokens["editor"], params={"package_id": "existing", "name": "up"},
                     files={"upload": ("up.csv", b"a,b\n1,2\n", "text/csv")})

    def unchanged(s, tokens, n):
        d = ok(s.api("package_show", id="existing"))
        assert d["num_resources"] == 1, "N=%d: a failed upload added a resource" % n
        assert files_in(s.portal) == before[n], "N=%d: a failed upload left files behind: %r" % (
            n, sorted(files_in(s.portal) ^ before[n]))

    run_for_each_n(seeded, clone_portal, start_server, write, unchanged)


def test_organization_create(seeded, clone_portal, start_server):
    def write(s, tokens, n):
        return s.api("organization_create", token=tokens["sysadmin"], name="new-org-%d" % n)

    def unchanged(s, tokens, n):
        assert s.api("organization_show", id="new-org-%d" % n).status == 404

    run_for_each_n(seeded, clone_portal, start_server, write, unchanged)


def test_package_update(seeded, clone_portal, start_server):
    def write(s, tokens, n):
        return s.api("package_update", token=tokens["editor"], id="existing", name="existing", owner_org=ORG,
                     title="Replaced", tags=[{"name": "replaced-tag"}])

    def unchanged(s, tokens, n):
        d = ok(s.api("package_show", id="existing"))
        assert d["title"] == "Existing" and d["notes"] == "before", "N=%d: %r" % (n, d)
        assert [t["name"] for t in d["tags"]] == ["old-tag"]

    run_for_each_n(seeded, clone_portal, start_server, write, unchanged)


def test_resource_delete(seeded, clone_portal, start_server):
    def write(s, tokens, n):
        rid = ok(s.api("package_show", id="existing"))["resources"]
        if not rid:
            return s.api("resource_delete", token=tokens["editor"], id="00000000-0000-4000-8000-000000000000")
        return s.api("resource_delete", token=tokens["editor"], id=rid[0]["id"])

    def unchanged(s, tokens, n):
        assert ok(s.api("package_show", id="existing"))["num_resources"] == 1

    run_for_each_n(seeded, clone_portal, start_server, write, unchanged)


def test_group_create(seeded, clone_portal, start_server):
    def write(s, tokens, n):
        return s.api("group_create", token=tokens["sysadmin"], name="new-group-%d" % n)

    def unchanged(s, tokens, n):
        assert "new-group-%d" % n not in ok(s.api("group_list"))

    run_for_each_n(seeded, clone_portal, start_server, write, unchanged)
