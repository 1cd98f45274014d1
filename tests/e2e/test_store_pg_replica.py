"""
`kaifang serve --read-store URL` (issue 9): reads go to a read replica, writes to the
primary. The "replica" here is a second URL on the same cluster that logs in as a role
that may only SELECT, in read-only transactions: a write sent to it would fail, so every
write answering 200 went to the primary; taking the role's SELECT away makes the catalog
reads fail, so they went to it. (A real streaming replica would need a second cluster
and a base backup per test run; docs/deploy.md shows the setup.)

Runs in the PostgreSQL pass only (conftest.py leaves it out of the SQLite pass).
"""

import time
import uuid

from conftest import ORG, Portal, Server, ok, pg_start, pg_sql, pg_value, portal_db, run_cli, unique


def reader_url(db, role):
    return ("postgresql:///%s?host=%s&user=%s&options=-c%%20default_transaction_read_only%%3Don"
            % (db, pg_start(), role))


def make_reader(db):
    role = "kfreader_" + uuid.uuid4().hex[:8]
    pg_sql("CREATE ROLE %s LOGIN" % role)
    pg_value(db, "GRANT SELECT ON ALL TABLES IN SCHEMA public TO %s" % role)
    return role


def wait_checkpoint(srv, size):
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        r = srv.get("/ledger/checkpoint")
        if r.status_code == 200 and int(r.text.split("\n")[1]) >= size:
            return
        time.sleep(0.1)
    raise AssertionError("the checkpoint did not reach %d" % size)


def test_reads_go_to_the_replica_writes_to_the_primary(clone_portal, start_server):
    p = clone_portal()
    db = portal_db(p.path)
    role = make_reader(db)
    token = p.tokens["sysadmin"]
    srv = start_server(p, args=["--read-store", reader_url(db, role)], name="replica")
    assert "reads go to a read replica" in srv.stderr_text()
    assert role not in srv.stderr_text()  # the URL is never logged

    # Writes (catalog, datastore, the ledger's integration) all answer: they went to the
    # primary, the replica refusing every write.
    name = unique("rep")
    d = ok(srv.api("package_create", token=token, name=name, owner_org=ORG, title="Replica",
                   resources=[{"url": "http://example.org/r.csv", "format": "CSV"}]))
    ok(srv.api("package_patch", token=token, id=name, title="Replica, edited"))
    res = d["resources"][0]["id"]
    ok(srv.api("datastore_create", token=token, resource_id=res, force=True,
               fields=[{"id": "a", "type": "int"}], records=[{"a": 1}, {"a": 2}]))
    entries = int(pg_value(db, "SELECT count(*) FROM ledger_entries"))
    wait_checkpoint(srv, entries)

    # Reads answer what was written (the same cluster: no lag), through the replica's
    # connections.
    assert ok(srv.api("package_show", id=name))["title"] == "Replica, edited"
    assert name in ok(srv.api("package_list"))
    assert ok(srv.api("package_search", q="edited"))["count"] >= 1
    assert ok(srv.api("datastore_search", resource_id=res))["total"] == 2
    assert int(pg_value(db, "SELECT count(*) FROM pg_stat_activity WHERE usename = '%s'" % role)) >= 1

    # Without SELECT on the replica the catalog's reads fail: they were going there.
    pg_value(db, "REVOKE SELECT ON ALL TABLES IN SCHEMA public FROM %s" % role)
    assert srv.api("package_show", id=unique("nothing")).status >= 500
    pg_value(db, "GRANT SELECT ON ALL TABLES IN SCHEMA public TO %s" % role)
    assert ok(srv.api("package_show", id=name))["name"] == name
    srv.stop()


def test_read_store_refused_clearly(tmp_path, clone_portal):
    # A SQLite portal has no replicas.
    sq = Portal(tmp_path / "sqlite")
    run_cli("init", portal=sq.path, check=0)
    r = run_cli("serve", "--read-store", "postgresql:///x?host=/nonexistent", portal=sq.path, check=1)
    assert "needs a postgresql store" in r.stderr, r.stderr
    # A replica that does not answer stops the server at start, naming host and port only.
    p = clone_portal()
    r = run_cli("serve", "--read-store", "postgresql://secretuser:secretpw@127.0.0.1:1/db",
                portal=p.path, check=1)
    assert "cannot connect" in r.stderr and "secretpw" not in r.stderr, r.stderr
    # Not a PostgreSQL URL.
    r = run_cli("serve", "--read-store", "sqlite:x.db", portal=p.path, check=2)
    assert "read-store" in r.stderr, r.stderr
