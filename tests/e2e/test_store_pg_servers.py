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


def test_three_servers_concurrent_writers_and_kill(clone_portal, start_server):
    """Three servers on three loopback ports, one database: a write through one is seen by
    the next read through the others (their caches follow the shared store version),
    concurrent writers through all three, kill -9 of the sequencer mid-burst; afterwards
    every change has exactly one ledger entry, the log verifies and the survivors answer
    the same."""
    import threading

    p = clone_portal()
    db = portal_db(p.path)
    token = p.tokens["sysadmin"]
    servers = [start_server(p, name="pg3-%d" % i) for i in range(3)]
    assert len({s.port for s in servers}) == 3
    pids = [s.proc.pid for s in servers]
    a, b, c = servers

    # Caches across servers: b and c answer anonymously from their HTTP caches; a write
    # through a must show in their next read (keyed by the version in the database).
    name = create(a, token, 1)[0]
    for s in (b, c):
        assert ok(s.api("package_show", id=name))["title"] == "Two servers"
        assert name in ok(s.api("package_list"))
        assert ok(s.api("package_search", q="name:" + name))["count"] == 1
    ok(a.api("package_patch", token=token, id=name, title="Edited through a"))
    for s in (b, c):
        assert ok(s.api("package_show", id=name))["title"] == "Edited through a"
        assert ok(s.api("package_search", q="title:edited"))["count"] == 1
    ok(c.api("package_delete", token=token, id=name))
    for s in (a, b):
        assert name not in ok(s.api("package_list"))
        assert s.api("package_show", id=name).status == 404

    leader_pid = wait_leader(db, pids)
    leader = servers[pids.index(leader_pid)]
    created = []  # names whose package_create answered 200
    lock = threading.Lock()
    started = threading.Event()
    stop = threading.Event()

    def writer(srv, n):
        for i in range(n):
            if stop.is_set() and srv is leader:
                return
            nm = unique("three")
            try:
                r = srv.api("package_create", token=token, name=nm, title="Burst", owner_org=ORG)
            except Exception:  # the killed server's connections fail
                if srv is leader:
                    return
                raise
            if srv is leader and r.status != 200:
                return
            assert r.status == 200, r
            with lock:
                created.append(nm)
                if len(created) >= 12:
                    started.set()

    threads = [threading.Thread(target=writer, args=(s, 12)) for s in servers for _ in range(2)]
    for t in threads:
        t.start()
    assert started.wait(60), "the writers did not get going"
    stop.set()
    leader.stop(sig=signal.SIGKILL, check=False)
    for t in threads:
        t.join(120)
        assert not t.is_alive()
    survivors = [s for s in servers if s is not leader]
    assert wait_leader(db, [s.proc.pid for s in survivors]) in [s.proc.pid for s in survivors]
    size = wait_integrated(survivors[0], db)

    # One entry per change: no gap, no duplicate, each dataset created once, every
    # answered create stored (a create in flight at the kill may or may not have been).
    assert pg_value(db, "SELECT count(*) = max(idx) + 1 AND count(DISTINCT idx) = count(*)"
                        " FROM ledger_entries") == "t"
    stored = pg_value(db, "SELECT string_agg(name, ' ') FROM datasets WHERE name LIKE 'three-%'").split()
    assert set(created) <= set(stored)
    for nm in stored:
        n = pg_value(db, "SELECT count(*) FROM ledger_entries"
                         " WHERE position('%s' IN convert_from(entry, 'UTF8')) > 0" % nm)
        assert n == "1", (nm, n)

    # The survivors answer the same.
    x, y = survivors
    assert ok(x.api("package_list")) == ok(y.api("package_list"))
    assert set(stored) <= set(ok(x.api("package_list")))
    for nm in stored[:10]:
        assert ok(x.api("package_show", id=nm)) == ok(y.api("package_show", id=nm))
    assert x.get("/ledger/checkpoint").text == y.get("/ledger/checkpoint").text
    assert checkpoint_size(y) == size
    for s in survivors:
        s.stop()
    r = run_cli("ledger", "verify", p.path, "--state", str(p.path) + "/verify3.state", check=0)
    assert "size %d" % size in r.stdout, r.stdout
