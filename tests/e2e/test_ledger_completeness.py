"""The public ledger is complete: over real HTTP and the real command line, every write
action and write command appends exactly one entry of its type (kaifang load: one per
organization, dataset and file it writes, and one per table it ingests; an upload is
followed by the ingest worker's datastore_ingest entry), reads and failed writes append
none.

The server's sequencer integrates staged entries every 100 ms and the CLI before it
exits, so each check polls /ledger/checkpoint (with a timeout) until the tree has grown
by the expected count, then waits a few more batches to see that nothing else arrives,
and reads the new entries from /api/ledger/entries?start=&end= ([{"index", "entry",
"leaf_hash"}], "entry" the canonical JSON text).
"""

import json
import os
import shutil
import time

import pytest

from conftest import CATALOG_DIR, ORG, READ_ACTIONS, create_token, fails, ok, run_cli, unique

# Every write action of the CKAN API and the type of its one entry. A write action the
# server lists (GET /api/3/action) that is missing here fails test_every_write_action_is_known.
WRITE_TYPES = {
    "package_create": "dataset_create",
    "package_update": "dataset_update",
    "package_patch": "dataset_update",
    "package_delete": "dataset_delete",
    "resource_create": "resource_create",
    "resource_update": "resource_update",
    "resource_delete": "resource_delete",
    "organization_create": "organization_create",
    "group_create": "group_create",
    # Queues an ingest: its entry comes when the worker has built the table.
    "xloader_submit": "datastore_ingest",
    # The DataStore API's writes: one entry each, after the table changed.
    "datastore_create": "datastore_create",
    "datastore_upsert": "datastore_upsert",
    "datastore_delete": "datastore_delete",
    # Accounts, members and roles (tests/e2e/test_roles.py).
    "user_create": "user_create",
    "api_token_create": "token_create",
    "organization_member_create": "member_set",
    "organization_member_delete": "member_set",
    "user_role_create": "role_set",
    "user_role_delete": "role_set",
    # Grants (tests/e2e/test_grants.py).
    "grant_request": "grant_request",
    "grant_approve": "grant_approve",
    "grant_refuse": "grant_refuse",
    "grant_revoke": "grant_revoke",
    # Fees (src/audit/; tests/e2e/test_audit_case.py checks their entries).
    "fee_schedule_create": "fee_schedule_create",
    "fee_schedule_approve": "fee_schedule_approve",
    "charge_record": "charge_record",
    "datastore_privacy_override": "privacy_override",
}

POLL_TIMEOUT = 20.0  # seconds for the sequencer (ASan build on a busy machine)
SETTLE = 0.5  # five batches: long enough for a stray extra entry to show up


def checkpoint_size(srv):
    r = srv.get("/ledger/checkpoint")
    assert r.status_code == 200, "GET /ledger/checkpoint: %d %r" % (r.status_code, r.content[:300])
    lines = r.content.decode("utf-8").split("\n")
    assert len(lines) >= 3 and lines[1].isdigit(), "not a checkpoint: %r" % r.content[:300]
    return int(lines[1])


def entries(srv, start, end):
    out = []
    while start < end:
        r = srv.get("/api/ledger/entries?start=%d&end=%d" % (start, end))
        assert r.status_code == 200, "entries %d..%d: %d %r" % (start, end, r.status_code, r.content[:300])
        got = r.json()
        assert isinstance(got, list) and got, "entries %d..%d: %r" % (start, end, got)
        for e in got:
            assert set(e) >= {"index", "entry", "leaf_hash"}, e
            assert e["index"] == start, "index %r, wanted %d" % (e["index"], start)
            out.append(json.loads(e["entry"]))
            start += 1
    return out


class Ledger:
    """Follows one server's log: new(n) waits for exactly n new entries."""

    def __init__(self, srv):
        self.srv = srv
        self.size = self.wait(0, settle=True)

    def wait(self, at_least, settle=False):
        deadline = time.monotonic() + POLL_TIMEOUT
        size = checkpoint_size(self.srv)
        while size < at_least and time.monotonic() < deadline:
            time.sleep(0.05)
            size = checkpoint_size(self.srv)
        if settle:
            time.sleep(SETTLE)
            size = checkpoint_size(self.srv)
        return size

    def new(self, n, what):
        size = self.wait(self.size + n, settle=True)
        got = entries(self.srv, self.size, size) if size > self.size else []
        assert len(got) == n, "%s: %d new ledger entries, wanted %d: %r" % (what, len(got), n, got)
        self.size = size
        return got

    def one(self, type_, what, actor=None, org=None, **objects):
        e = self.new(1, what)[0]
        assert e.get("type") == type_, "%s: entry type %r, wanted %r: %r" % (what, e.get("type"), type_, e)
        if actor is not None:
            assert e.get("actor") == actor, "%s: actor %r, wanted %r" % (what, e.get("actor"), actor)
        if org is not None:
            assert e.get("org") == org, "%s: org %r, wanted %r" % (what, e.get("org"), org)
        for k, v in objects.items():
            assert e.get("objects", {}).get(k) == v, "%s: objects[%r] = %r, wanted %r (%r)" % (
                what, k, e.get("objects", {}).get(k), v, e)
        assert str(e.get("digest", "sha256:")).startswith("sha256:"), e
        return e


@pytest.fixture
def ledger_srv(clone_portal, start_server):
    portal = clone_portal("ledger")
    srv = start_server(portal)
    assert srv.get("/ledger/checkpoint").status_code == 200
    return portal, srv, Ledger(srv)


def test_every_write_action_is_known(ledger_srv):
    _, srv, _ = ledger_srv
    names = srv.get("/api/3/action").json()
    if isinstance(names, dict):  # a CKAN envelope
        names = names.get("result")
    assert isinstance(names, list) and "package_create" in names, names
    writes = {n for n in names if n not in READ_ACTIONS}
    assert writes == set(WRITE_TYPES), (
        "write actions without a ledger expectation here: %r; listed here but not served: %r"
        % (sorted(writes - set(WRITE_TYPES)), sorted(set(WRITE_TYPES) - writes)))


def test_http_write_actions_one_entry_each(ledger_srv):
    portal, srv, lg = ledger_srv
    tok = portal.tokens
    name = unique("ledger")

    d = ok(srv.api("package_create", token=tok["editor"], name=name, owner_org=ORG,
                   author_email="someone@example.org",
                   resources=[{"url": "http://example.org/a.csv", "name": "A"}]))
    e = lg.one("dataset_create", "package_create", actor="editor", org=ORG, dataset=d["id"], name=name)
    assert "someone@example.org" not in json.dumps(e, ensure_ascii=False)
    rid = d["resources"][0]["id"]

    ok(srv.api("package_update", token=tok["orgadmin"], id=name, name=name, owner_org=ORG,
               title="Updated", resources=[{"id": rid, "url": "http://example.org/a.csv"}]))
    lg.one("dataset_update", "package_update", actor="orgadmin", org=ORG, dataset=d["id"])
    ok(srv.api("package_patch", token=tok["editor"], id=name, notes="patched"))
    lg.one("dataset_update", "package_patch", actor="editor", dataset=d["id"])

    r = ok(srv.api("resource_create", token=tok["editor"], package_id=name, url="http://example.org/b.csv"))
    lg.one("resource_create", "resource_create (link)", actor="editor", dataset=d["id"], resource=r["id"])
    up = ok(srv.api("resource_create", token=tok["editor"], params={"package_id": name, "name": "up"},
                    files={"upload": ("data.csv", b"a,b\n1,2\n", "text/csv")}))
    # An uploaded CSV is ingested by the worker: its datastore_ingest entry follows.
    got = lg.new(2, "resource_create (upload)")
    assert [e["type"] for e in got] == ["resource_create", "datastore_ingest"], got
    assert all(e["objects"]["resource"] == up["id"] for e in got), got
    ok(srv.api("resource_update", token=tok["editor"], id=r["id"], description="new"))
    lg.one("resource_update", "resource_update", dataset=d["id"], resource=r["id"])
    ok(srv.api("resource_update", token=tok["editor"], params={"id": up["id"]},
               files={"upload": ("data2.csv", b"a,b\n3,4\n", "text/csv")}))
    got = lg.new(2, "resource_update (upload)")
    assert [e["type"] for e in got] == ["resource_update", "datastore_ingest"], got
    ok(srv.api("xloader_submit", token=tok["editor"], resource_id=up["id"]))
    lg.one("datastore_ingest", "xloader_submit", actor="editor", dataset=d["id"], resource=up["id"])
    ok(srv.api("resource_delete", token=tok["editor"], id=r["id"]))
    lg.one("resource_delete", "resource_delete", dataset=d["id"], resource=r["id"])
    ok(srv.api("package_delete", token=tok["editor"], id=name))
    lg.one("dataset_delete", "package_delete", actor="editor", org=ORG, dataset=d["id"], name=name)

    org = unique("org")
    o = ok(srv.api("organization_create", token=tok["sysadmin"], name=org))
    lg.one("organization_create", "organization_create", actor="sysadmin", org=org,
           organization=o["id"], name=org)
    grp = unique("grp")
    g = ok(srv.api("group_create", token=tok["sysadmin"], name=grp))
    lg.one("group_create", "group_create", actor="sysadmin", group=g["id"], name=grp)


def test_http_reads_and_failures_append_nothing(ledger_srv):
    portal, srv, lg = ledger_srv
    tok = portal.tokens
    name = unique("ledger")
    ok(srv.api("package_create", token=tok["editor"], name=name, owner_org=ORG))
    lg.one("dataset_create", "package_create")

    for action, params in [("package_show", {"id": name}), ("package_search", {"q": "ledger"}),
                           ("package_list", {}), ("organization_show", {"id": ORG}),
                           ("organization_list", {}), ("group_list", {}), ("tag_list", {}),
                           ("license_list", {}), ("status_show", {})]:
        ok(srv.api(action, token=tok["sysadmin"], **params))
    srv.get("/dataset/" + name)
    srv.get("/ledger/checkpoint")
    fails(srv.api("package_create", token=tok["editor"], name="Bad Name", owner_org=ORG), 409)
    fails(srv.api("package_create", token=tok["editor"], name=name, owner_org=ORG), 409)
    fails(srv.api("package_create", token=tok["member"], name=unique(), owner_org=ORG), 403)
    fails(srv.api("package_create", name=unique(), owner_org=ORG), 403)
    fails(srv.api("package_patch", token=tok["editor"], id=name, tags="x"), 409)
    fails(srv.api("package_delete", token=tok["outsider"], id=name), 403)
    fails(srv.api("resource_create", token=tok["editor"], package_id="no-such-dataset", url="http://x"), 404)
    fails(srv.api("resource_delete", token=tok["editor"], id="no-such-resource"), 404)
    fails(srv.api("organization_create", token=tok["editor"], name=unique("org")), 403)
    fails(srv.api("group_create", token=tok["sysadmin"], name="X Y"), 409)
    lg.new(0, "reads and failed writes")


def test_cli_commands_one_entry_each(ledger_srv):
    """The command line writes to the same store while the server runs; the CLI
    integrates before it exits, so the served checkpoint grows."""
    portal, srv, lg = ledger_srv
    user = unique("user")
    portal.cli("user", "add", user, "--email", user + "@example.org")
    e = lg.one("user_create", "user add", user=user)
    assert "@example.org" not in json.dumps(e, ensure_ascii=False), "an e-mail address in the ledger: %r" % e

    p = portal.cli("token", "create", user)
    token = p.stdout.strip()
    e = lg.one("token_create", "token create", user=user)
    tid = e["objects"]["token"]
    text = json.dumps(e, ensure_ascii=False)
    assert token not in text and token[3:] not in text, "the token in the ledger: %r" % e
    assert tid in p.stderr, "token create names its id on stderr: %r" % p.stderr
    portal.cli("token", "revoke", tid)
    lg.one("token_revoke", "token revoke", token=tid)

    run_cli("user", "password", user, portal=portal.path, check=0, input="a new password\n")
    e = lg.one("user_password_set", "user password", user=user)
    text = json.dumps(e, ensure_ascii=False)
    assert "a new password" not in text and "argon2" not in text, "a password in the ledger: %r" % e

    portal.cli("member", "add", ORG, user, "editor")
    lg.one("member_set", "member add", org=ORG, user=user)
    portal.cli("member", "remove", ORG, user)
    lg.one("member_set", "member remove", org=ORG, user=user)

    org = unique("org")
    portal.cli("organization", "add", org, "--title", "Ledger Org")
    lg.one("organization_create", "organization add", org=org, name=org)

    # Failed commands append nothing.
    portal.cli("user", "add", user, check=1)
    portal.cli("token", "revoke", tid, check=1)
    portal.cli("member", "remove", ORG, user, check=1)
    lg.new(0, "failed commands")


def test_cli_load_one_entry_per_write(ledger_srv, tmp_path):
    portal, srv, lg = ledger_srv
    # Two small datasets of the example catalog.
    src = tmp_path / "catalog"
    src.mkdir()
    picked = ["bls-ces-employment-by-supersector", "eia-iowa-electricity-generation"]
    files, publishers = 0, set()
    for name in picked:
        shutil.copytree(os.path.join(CATALOG_DIR, name), src / name)
        with open(src / name / "metadata.json", encoding="utf-8") as f:
            meta = json.load(f)
        files += len(meta.get("resources", []))
        publishers.add(meta.get("publisher"))
    portal.cli("load", str(src))
    # The command line's own user may be created by its first catalog command; the
    # base portal ran "organization add" already, so it exists.
    # Each file is also ingested into its datastore table: one datastore_ingest each.
    got = lg.new(len(picked) + 2 * files + len(publishers), "load")
    types = sorted(e["type"] for e in got)
    assert types == sorted(["dataset_create"] * len(picked) + ["resource_create"] * files
                           + ["datastore_ingest"] * files
                           + ["organization_create"] * len(publishers)), types
    # Loading the same files again changes nothing, so it appends nothing.
    portal.cli("load", str(src))
    lg.new(0, "load (unchanged)")
