"""
Two `kaifang serve` processes on one PostgreSQL database (issue 9): writes through both
land in one catalog and one ledger; one server is elected to sequence the ledger (a
PostgreSQL session advisory lock); after kill -9 of that server the other takes over
within seconds, every change has exactly one ledger entry, and the log verifies.

Runs in the PostgreSQL pass only (conftest.py leaves it out of the SQLite pass).
"""

import signal
import time

from conftest import ORG, ok, pg_value, portal_db, run_cli, unique

TOOK_OVER = "ledger: this server now sequences the ledger"
# store-pg.c's PG_SEQUENCER_LOCK, as pg_locks shows an advisory lock on a bigint key.
KEY = 7021788819189334018


def sequencer_pid(db):
    """The pid of the kaifang process whose connection holds the sequencer's lock on
    database db (advisory locks are per database; its application_name is
    kaifang[PID]), or None."""
    v = pg_value(db, "SELECT a.application_name FROM pg_locks l JOIN pg_stat_activity a"
                     " ON a.pid = l.pid WHERE l.locktype = 'advisory' AND l.granted"
                     " AND l.classid = %d AND l.objid = %d AND l.database ="
                     " (SELECT oid FROM pg_database WHERE datname = current_database())"
                     % (KEY >> 32, KEY & 0xFFFFFFFF))
    if not v:
        return None
    assert v.startswith("kaifang[") and v.endswith("]"), v
    return int(v[len("kaifang["):-1])


def wait_leader(db, pids, timeout=10):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        pid = sequencer_pid(db)
        if pid in pids:
            return pid
        time.sleep(0.1)
    raise AssertionError("no server among %r took the sequencer's lock within %ds" % (pids, timeout))


def checkpoint_size(srv):
    r = srv.get("/ledger/checkpoint")
    assert r.status_code == 200, r.text
    return int(r.text.split("\n")[1])


def wait_integrated(srv, db, timeout=20):
    """Waits until srv's checkpoint covers every stored entry; returns the size."""
    deadline = time.monotonic() + timeout
    want = size = -1
    while time.monotonic() < deadline:
        want = int(pg_value(db, "SELECT count(*) FROM ledger_entries"))
        size = checkpoint_size(srv)
        if size == want:
            return size
        time.sleep(0.1)
    raise AssertionError("checkpoint at %d, %d entries stored" % (size, want))


def create(srv, token, n):
    names = []
    for _ in range(n):
        name = unique("two")
        ok(srv.api("package_create", token=token, name=name, title="Two servers", owner_org=ORG))
        names.append(name)
    return names


def test_two_servers_one_sequencer_and_takeover(clone_portal, start_server):
    p = clone_portal()
    db = portal_db(p.path)
    token = p.tokens["sysadmin"]
    a = start_server(p, name="pg-a")
    b = start_server(p, name="pg-b")

    names = create(a, token, 5) + create(b, token, 5)
    wait_integrated(a, db)
    # Both servers see every dataset and the same signed checkpoint.
    for name in names:
        assert ok(a.api("package_show", id=name))["name"] == name
        assert ok(b.api("package_show", id=name))["name"] == name
    assert a.get("/ledger/checkpoint").text == b.get("/ledger/checkpoint").text

    # One of them was elected; the lock is one, so the other is not.
    pid = wait_leader(db, [a.proc.pid, b.proc.pid])
    leader, other = (a, b) if pid == a.proc.pid else (b, a)

    # The leader dies mid-burst; the other takes over and integrates what is staged.
    names += create(leader, token, 3)
    leader.stop(sig=signal.SIGKILL, check=False)
    more = create(other, token, 5)
    names += more
    # The survivor takes the lock within seconds (the dead one's session is gone).
    assert wait_leader(db, [other.proc.pid]) == other.proc.pid
    size = wait_integrated(other, db)
    assert TOOK_OVER in other.stderr_text(), other.stderr_text()[-2000:]
    for name in more:
        assert ok(other.api("package_show", id=name))["name"] == name

    # One entry per change: no gap, no duplicate index, each dataset created once.
    assert pg_value(db, "SELECT count(*) = max(idx) + 1 AND count(DISTINCT idx) = count(*)"
                        " FROM ledger_entries") == "t"
    for name in names:
        n = pg_value(db, "SELECT count(*) FROM ledger_entries"
                         " WHERE position('%s' IN convert_from(entry, 'UTF8')) > 0" % name)
        assert n == "1", (name, n)
    assert size == int(pg_value(db, "SELECT count(*) FROM ledger_entries"))
    other.stop()

    # The whole log verifies from the portal directory (the database behind it).
    r = run_cli("ledger", "verify", p.path, "--state", str(p.path) + "/verify.state", check=0)
    assert "size %d" % size in r.stdout, r.stdout
