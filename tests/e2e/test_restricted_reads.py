"""Restricted reads and their ledger entries under load and crashes (issue 8).

A grantee's datastore_search on a restricted table is answered only once its
restricted_read entry is kept: on SQLite appended to the read journal (kaifang.db-reads,
docs/internals/ledger.md "The read journal"), which the sequencer stages into the ledger
in batches. These tests check what that must not change: every answered read has
exactly one entry (none lost, none twice), even when the server is killed with SIGKILL
right after the last answer (in the journal or in the store at the kill, in the ledger
after the restart); and that the entries' drains, which do not move the version the
catalog caches are keyed by (store_catalog_version()), leave those caches correct: a
real change to the catalog is seen at once, and an answer that shows the ledger
(audit_report) follows the ledger.
"""

import datetime
import json
import os
import signal
import struct
import threading
import time

from conftest import ENTRY_TEXT, ORG, STORE, ok, portal_sql, run_cli, unique
from test_ledger_completeness import POLL_TIMEOUT, checkpoint_size, entries

ROWS = [{"district": "ABCD"[i % 4], "name": "person %d" % i, "age": 20 + i} for i in range(60)]
THREADS = 6
READS_EACH = 12


def day(delta=0):
    return (datetime.datetime.now(datetime.timezone.utc).date() + datetime.timedelta(days=delta)).isoformat()


def restricted_portal(clone_portal, start_server):
    """A fresh portal and server with a restricted table and an approved grant (columns
    district and age, rows of districts A and B) to the user "grantee"."""
    p = clone_portal()
    t = dict(p.tokens)
    for name in ("approver", "grantee"):
        p.cli("user", "add", name)
        t[name] = p.cli("token", "create", name).stdout.strip()
    p.cli("role", "add", "approver", "approver", "--org", ORG)
    p.cli("role", "add", "grantee", "grantee")
    srv = start_server(p)
    d = ok(srv.api("package_create", token=t["editor"], name=unique("restricted"), owner_org=ORG,
                   access_level="restricted public"))
    rid = ok(srv.api("datastore_create", token=t["editor"], resource={"package_id": d["id"], "name": "people"},
                     fields=[{"id": "district", "type": "text"}, {"id": "name", "type": "text"},
                             {"id": "age", "type": "int"}], records=ROWS))["resource_id"]
    g = ok(srv.api("grant_request", token=t["editor"], dataset=d["name"], grantee="grantee", purpose="study",
                   legal_basis="Statistics Law art. 9", columns=["district", "age"],
                   filters={"district": ["A", "B"]}, valid_from=day(-1), valid_until=day(30)))
    ok(srv.api("grant_approve", token=t["approver"], id=g["id"]))
    return p, srv, t, d, rid


def read(srv, token, rid, offset, limit):
    """One restricted read; a distinct (offset, limit) makes a distinct query digest."""
    r = ok(srv.api("datastore_search", token=token, resource_id=rid, offset=offset, limit=limit,
                   sort="age"))
    return len(r["records"])


def read_entries(srv, rid):
    """Every restricted_read entry of resource rid, once the sequencer has integrated all
    that the store holds (the checkpoint stops growing)."""
    deadline = time.monotonic() + POLL_TIMEOUT
    size = checkpoint_size(srv)
    while time.monotonic() < deadline:
        time.sleep(0.5)
        now = checkpoint_size(srv)
        if now == size:
            break
        size = now
    return [e for e in entries(srv, 0, size)
            if e["type"] == "restricted_read" and e["objects"].get("resource") == rid]


def test_every_answered_read_has_its_entry_after_sigkill(clone_portal, start_server, tmp_path):
    p, srv, t, d, rid = restricted_portal(clone_portal, start_server)
    answered = []  # (offset, limit, rows) of every answered read
    errors = []
    lock = threading.Lock()

    def reader(k):
        try:
            for i in range(READS_EACH):
                offset, limit = k * READS_EACH + i, 1 + (i % 3)
                n = read(srv, t["grantee"], rid, offset, limit)
                with lock:
                    answered.append((offset, limit, n))
        except Exception as e:  # reported below: an assertion in a thread is lost otherwise
            errors.append(repr(e))

    threads = [threading.Thread(target=reader, args=(k,)) for k in range(THREADS)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    # Killed at once, with no chance to flush anything after the last answer.
    srv.stop(sig=signal.SIGKILL, check=False)
    assert srv.exit_code == -signal.SIGKILL, srv.exit_code
    assert not errors, errors
    assert len(answered) == THREADS * READS_EACH
    # The rows the grant lets through: districts A and B, 30 of the 60.
    assert sum(n for _, _, n in answered) == sum(min(l, max(0, 30 - o)) for o, l, _ in answered)

    again = start_server(p)
    got = read_entries(again, rid)
    assert len(got) == len(answered), "%d entries for %d answered reads" % (len(got), len(answered))
    # One per read, none twice: every read asked a different query, so every digest differs.
    assert len({e["digest"] for e in got}) == len(answered)
    assert sorted(e["objects"]["rows"] for e in got) == sorted(n for _, _, n in answered)
    for e in got:
        assert e["actor"] == "grantee" and e["org"] == ORG and e["objects"]["dataset"] == d["id"], e
    # The ledger the entries went into still verifies end to end.
    again.stop()
    run_cli("ledger", "verify", p.path, "--state", tmp_path / "state", check=0)


def kept_reads(p, rid):
    """At rest (no server running): the restricted_read entries of rid in the store's
    ledger_entries and the records of the read journal, read directly from the database
    and the file. The PostgreSQL store keeps no journal (ledger.h): each read's entry is
    committed before its answer, so all of them are in ledger_entries."""
    staged = [json.loads(e) for (e,) in portal_sql(p.path, "SELECT " + ENTRY_TEXT + " FROM ledger_entries")]
    journal = []
    path = os.path.join(p.path, "kaifang.db-reads")
    if STORE == "postgresql":
        assert not os.path.exists(path)
    else:
        with open(path, "rb") as f:
            data = f.read()
        assert data[:8] == b"KFJRNL1\n", data[:16]
        at = 16
        while at < len(data):
            (n,) = struct.unpack_from("<I", data, at)
            journal.append(json.loads(data[at + 36:at + 36 + n]))
            at += 36 + n
        assert at == len(data), "a partial record at byte %d" % at

    def mine(es):
        return [e for e in es if e["type"] == "restricted_read" and e["objects"].get("resource") == rid]
    return mine(staged), mine(journal)


def test_last_answer_before_sigkill_is_in_the_ledger(clone_portal, start_server):
    """Sequential reads, the server killed right after each last answer, three times."""
    p, srv, t, d, rid = restricted_portal(clone_portal, start_server)
    total = 0
    for round_ in range(3):
        for i in range(5):
            read(srv, t["grantee"], rid, 100 * round_ + i, 2)
            total += 1
        srv.stop(sig=signal.SIGKILL, check=False)
        # At the kill every answered read's entry is in the journal or already staged
        # (the sequencer drains every 100 ms), once.
        staged, journal = kept_reads(p, rid)
        assert len(staged) + len(journal) == total, (len(staged), len(journal), total)
        assert len({e["digest"] for e in staged + journal}) == total
        srv = start_server(p)
        got = read_entries(srv, rid)
        assert len(got) == total, "round %d: %d entries for %d answered reads" % (round_, len(got), total)


def test_catalog_caches_follow_catalog_changes_not_reads(clone_portal, start_server):
    p, srv, t, d, rid = restricted_portal(clone_portal, start_server)
    pub = ok(srv.api("package_create", token=t["editor"], name=unique("pub"), owner_org=ORG, title="Before"))
    page = "/dataset/" + d["name"]

    def anon_title():
        return ok(srv.api("package_show", id=pub["name"]))["title"]

    # Anonymous answers and pages, cached from here on.
    assert anon_title() == "Before"
    assert srv.get(page).status_code == 200
    before = ok(srv.api("audit_report"))["checkpoint"]["size"]
    for i in range(5):
        read(srv, t["grantee"], rid, i, 1)
    # The reads changed no catalog content: the same answers.
    assert anon_title() == "Before"
    # An answer that shows the ledger follows it: the five entries get signed.
    deadline = time.monotonic() + POLL_TIMEOUT
    size = before
    while size < before + 5 and time.monotonic() < deadline:
        time.sleep(0.1)
        size = ok(srv.api("audit_report"))["checkpoint"]["size"]
    assert size >= before + 5, "audit_report's checkpoint stayed at %d" % size
    # A real change is seen at once by anonymous callers, after reads as before them.
    ok(srv.api("package_patch", token=t["editor"], id=pub["id"], title="After"))
    assert anon_title() == "After"
    read(srv, t["grantee"], rid, 10, 1)
    assert anon_title() == "After"
    # A grant decision is a catalog change too: the dataset page lists the grant's state.
    g = ok(srv.api("grant_request", token=t["editor"], dataset=d["name"], grantee="grantee", purpose="second study",
                   legal_basis="Statistics Law art. 9", columns=["age"], valid_from=day(-1),
                   valid_until=day(30)))
    assert "second study" in srv.get(page).text
    ok(srv.api("grant_refuse", token=t["approver"], id=g["id"], note="no"))
    assert "refused (approver)" in srv.get(page).text
    # A write from another process (the CLI) also reaches the cached answers.
    assert "another-org" not in json.dumps(ok(srv.api("organization_list")))
    p.cli("organization", "add", "another-org", "--title", "Another")
    assert "another-org" in json.dumps(ok(srv.api("organization_list")))


def test_revocation_stops_reads_at_once_on_every_thread(clone_portal, start_server):
    """The grants a read checks are kept per server thread for the catalog version they
    were read at: a revocation (a catalog change) must stop the next read on any thread."""
    p, srv, t, d, rid = restricted_portal(clone_portal, start_server)
    g = ok(srv.api("grant_list", token=t["editor"], dataset=d["name"]))[0]
    results = []

    def burst(expect_ok):
        def one(k):
            s = type(srv.session)()
            s.trust_env = False
            for i in range(6):
                r = s.get(srv.url + "/api/3/action/datastore_search",
                          params={"resource_id": rid, "offset": k * 6 + i, "limit": 1},
                          headers={"Authorization": t["grantee"]}, timeout=60)
                results.append((expect_ok, r.status_code))
            s.close()
        threads = [threading.Thread(target=one, args=(k,)) for k in range(4)]
        for th in threads:
            th.start()
        for th in threads:
            th.join()

    burst(True)
    ok(srv.api("grant_revoke", token=t["approver"], id=g["id"]))
    burst(False)
    assert [s for e, s in results if e] == [200] * 24, results
    assert [s for e, s in results if not e] == [403] * 24, results


def test_reads_just_before_a_revocation_precede_it(clone_portal, start_server):
    """Reads answered right before a revocation come before its grant_revoke entry in
    the ledger (the revocation drains the read journal first), so the audit does not
    count them as reads of a revoked grant; the next read is refused at once."""
    p, srv, t, d, rid = restricted_portal(clone_portal, start_server)
    [g] = ok(srv.api("grant_list", token=t["approver"], dataset=d["name"]))
    for i in range(5):
        read(srv, t["grantee"], rid, i, 1)
    ok(srv.api("grant_revoke", token=t["approver"], id=g["id"]))
    r = srv.api("datastore_search", token=t["grantee"], resource_id=rid, limit=1)
    assert r.status == 403, r.status
    size = checkpoint_size(srv)
    deadline = time.monotonic() + POLL_TIMEOUT
    while time.monotonic() < deadline:
        time.sleep(0.3)
        now = checkpoint_size(srv)
        if now == size:
            break
        size = now
    es = list(enumerate(entries(srv, 0, size)))
    reads = [i for i, e in es if e["type"] == "restricted_read" and e["objects"].get("grant") == g["id"]]
    [revoke] = [i for i, e in es if e["type"] == "grant_revoke" and e["objects"].get("grant") == g["id"]]
    assert len(reads) == 5 and max(reads) < revoke, (reads, revoke)
    # The refusal after it is recorded too, after it.
    refused = [i for i, e in es if e["type"] == "restricted_read_refused" and e["objects"].get("resource") == rid]
    assert refused and min(refused) > revoke, (refused, revoke)
    rep = ok(srv.api("audit_report"))
    assert not [it for o in rep["expired_grants_used"] for it in o["items"] if it.get("grant") == g["id"]], \
        rep["expired_grants_used"]
