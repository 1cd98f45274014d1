#!/usr/bin/env python3
"""bench/audit-index.py - what the audit's partial index on ledger_entries (schema 9,
SQ_LEDGER_AUDIT_WHERE in src/store/store-sqlite-int.h) costs each ledger write; not a
test. N single-entry write transactions (as restricted reads write them) of canonical
entries, half of a type the index holds, into a table shaped as the store's, without
and with the index, twice each, synchronous=OFF to leave the disk out; prints CPU time
per transaction and the time of the audit's walk through the index.
  bench/audit-index.py [N=30000]"""
import hashlib
import json
import os
import sqlite3
import sys
import tempfile
import time

W = "CASE WHEN json_valid(CAST(entry AS TEXT)) THEN json_extract(CAST(entry AS TEXT), '$.type') END IN ('grant_request', 'grant_approve', 'grant_refuse', 'grant_revoke', 'restricted_read', 'restricted_read_refused', 'privacy_override', 'resource_create', 'resource_update', 'dataset_update')"
def run(index, n):
    p = os.path.join(DIR, "idx-%d.db" % index)
    for suf in ("", "-wal", "-shm"):
        if os.path.exists(p + suf): os.unlink(p + suf)
    db = sqlite3.connect(p, isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL"); db.execute("PRAGMA synchronous=OFF")
    db.execute("CREATE TABLE ledger_entries (idx INTEGER PRIMARY KEY, entry BLOB NOT NULL, leaf_hash BLOB NOT NULL)")
    db.execute("CREATE INDEX ledger_entries_leaf ON ledger_entries (leaf_hash)")
    if index:
        db.execute("CREATE INDEX ledger_entries_audit ON ledger_entries (idx) WHERE " + W)
    rows = []
    for i in range(n):
        t = "restricted_read" if i % 2 else "charge_record"
        e = json.dumps({"actor": "gina", "digest": "sha256:" + "ab" * 32, "objects": {"dataset": "d" * 36, "grant": "g" * 36, "resource": "r" * 36, "rows": 10}, "org": "fifth", "time": "2026-12-05T21:00:00Z", "type": t}, separators=(",", ":"), sort_keys=True).encode()
        rows.append((i, e, hashlib.sha256(e).digest()))
    c0 = time.process_time(); t0 = time.perf_counter()
    for r in rows:  # one transaction per entry, as a restricted read
        db.execute("BEGIN IMMEDIATE"); db.execute("INSERT INTO ledger_entries VALUES (?,?,?)", r); db.execute("COMMIT")
    t1 = time.perf_counter(); c1 = time.process_time()
    q0 = time.perf_counter()
    k = db.execute("SELECT count(*) FROM (SELECT idx, entry FROM ledger_entries WHERE " + W + " ORDER BY idx)").fetchone()[0]
    q1 = time.perf_counter()
    s0 = time.perf_counter()
    k2 = db.execute("SELECT count(*) FROM ledger_entries WHERE instr(entry, CAST('\"type\":\"restricted_read\"' AS BLOB)) > 0").fetchone()[0]
    s1 = time.perf_counter()
    print("index=%d sqlite %s: %d single-entry transactions %.2f s wall, %.2f s cpu (%.1f us/entry); audit walk of %d typed entries %.3f s; a full scan for comparison %.3f s" % (index, sqlite3.sqlite_version, n, t1 - t0, c1 - c0, (c1 - c0) / n * 1e6, k, q1 - q0, s1 - s0))
DIR = tempfile.mkdtemp(prefix="kaifang-bench-audit-index-")
N = int(sys.argv[1]) if len(sys.argv) > 1 else 30000
print("load average:", open("/proc/loadavg").read().strip())
for i in (0, 1, 0, 1):
    run(i, N)
for f in os.listdir(DIR):
    os.unlink(os.path.join(DIR, f))
os.rmdir(DIR)
