"""
Expensive requests (datastore_search_sql, datastore_search with a full-text q) never hold
every server thread (src/http/gate.c): at most threads - 1 run at once, at most half of
them (rounded up) from one client address; one more is refused at once with 503, the CKAN
error envelope and Retry-After, while /healthz and cheap actions keep answering.

No timing assertions: a slow statement runs for its 10 s time limit; the tests check that
the cheap requests are answered while the slow ones are still running (their threads are
alive), with generous timeouts as hang guards only.
"""

import http.client
import json
import threading
import urllib.parse

from conftest import Portal, Server, copy_portal, make_dataset

SLOW = "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x+1 FROM c) SELECT count(*) FROM c"
HANG_GUARD = 120  # seconds; never reached unless the server hangs


def server_with(tmp_path_factory, base_portal, name, threads):
    dest = tmp_path_factory.mktemp(name) / "portal"
    copy_portal(base_portal.path, dest)
    p = Portal(dest)
    p.tokens = dict(base_portal.tokens)
    return Server(p, args=["--threads", str(threads)], name=name)


def get(s, path, source="127.0.0.1", **params):
    """GET on a new connection from source (any 127.0.0.0/8 address reaches a loopback
    server on Linux), closed after the answer: (status, headers, parsed body or None)."""
    c = http.client.HTTPConnection(s.host, s.port, timeout=HANG_GUARD, source_address=(source, 0))
    try:
        url = path + ("?" + urllib.parse.urlencode(params) if params else "")
        c.request("GET", url, headers={"Connection": "close"})
        r = c.getresponse()
        body = r.read()
        try:
            doc = json.loads(body)
        except ValueError:
            doc = None
        return r.status, r.headers, doc
    finally:
        c.close()


def sql(s, statement, source="127.0.0.1"):
    return get(s, "/api/3/action/datastore_search_sql", source=source, sql=statement)


def start(fn, *args, **kw):
    """Runs fn in a thread; returns (thread, box) where box["r"] is its result."""
    box = {}

    def run():
        box["r"] = fn(*args, **kw)

    t = threading.Thread(target=run, daemon=True)
    t.start()
    return t, box


def first_done(threads, timeout=HANG_GUARD):
    """Waits until at least one of the threads has finished (hang guard: timeout)."""
    ev = threading.Event()
    for t, _ in threads:
        threading.Thread(target=lambda t=t: (t.join(timeout), ev.set()), daemon=True).start()
    assert ev.wait(timeout), "no request finished within %d s" % timeout
    return [(t, box) for t, box in threads if not t.is_alive()]


def assert_busy(status, headers, doc, what, message):
    assert status == 503, (status, doc)
    assert headers["Retry-After"] and int(headers["Retry-After"]) > 0, dict(headers)
    assert doc["success"] is False and "help_show?name=" + what in doc["help"], doc
    assert doc["error"]["__type"] == "Service Unavailable", doc
    assert doc["error"]["message"].startswith(what + " is busy:"), doc
    assert message in doc["error"]["message"], doc


def test_two_slow_statements_leave_a_thread(tmp_path_factory, base_portal):
    """Two threads (the demo's default on 2 CPUs): of two slow statements one runs, the
    other is refused at once; /healthz and package_show answer while the first runs."""
    s = server_with(tmp_path_factory, base_portal, "gate-two", 2)
    try:
        ds = make_dataset(s, base_portal.tokens["editor"])
        slow = [start(sql, s, SLOW), start(sql, s, SLOW)]
        done = first_done(slow)
        assert len(done) == 1, "both slow statements ended: %r" % [b for _, b in slow]
        status, headers, doc = done[0][1]["r"]
        assert_busy(status, headers, doc, "datastore_search_sql", "already running")
        running = [t for t, _ in slow if t.is_alive()]
        assert len(running) == 1
        # Cheap requests on new connections, while the slow statement holds its thread.
        status, _, _ = get(s, "/healthz")
        assert status == 200
        status, _, doc = get(s, "/api/3/action/package_show", id=ds["name"])
        assert status == 200 and doc["result"]["id"] == ds["id"], doc
        # A full-text datastore_search is expensive too: refused while the slot is held.
        status, headers, doc = get(s, "/api/3/action/datastore_search",
                                   resource_id="00000000-0000-4000-8000-000000000000", q="river")
        assert_busy(status, headers, doc, "datastore_search", "already running")
        assert running[0].is_alive(), "the slow statement ended before the cheap requests"
        running[0].join(HANG_GUARD)
        status, _, doc = [b for t, b in slow if b is not done[0][1]][0]["r"]
        assert status == 409 and "longer than" in doc["error"]["message"], doc
        # The slot is free again.
        status, _, doc = sql(s, "SELECT 1 AS one")
        assert status == 200 and doc["result"]["records"] == [{"one": 1}], doc
    finally:
        s.stop()


def test_one_client_takes_half_the_slots(tmp_path_factory, base_portal):
    """Four threads: three slots, two per client address. A third slow statement from the
    same address is refused; another address still gets the last slot."""
    s = server_with(tmp_path_factory, base_portal, "gate-client", 4)
    try:
        slow = [start(sql, s, SLOW) for _ in range(3)]
        done = first_done(slow)
        assert len(done) == 1, "more than one slow statement ended: %r" % [b for _, b in slow]
        assert_busy(*done[0][1]["r"], "datastore_search_sql", "one client address")
        running = [t for t, _ in slow if t.is_alive()]
        assert len(running) == 2
        status, _, doc = sql(s, "SELECT 2 AS two", source="127.0.0.2")
        assert status == 200 and doc["result"]["records"] == [{"two": 2}], doc
        status, _, _ = get(s, "/healthz", source="127.0.0.3")
        assert status == 200
        assert all(t.is_alive() for t in running), "a slow statement ended too early"
        for t in running:
            t.join(HANG_GUARD)
        for t, box in slow:
            assert not t.is_alive()
    finally:
        s.stop()


def test_unknown_and_cheap_actions_are_not_gated(tmp_path_factory, base_portal):
    """While the only slot is held, datastore_search without q and datastore_info are
    answered as usual (404 for a table that does not exist, not 503)."""
    s = server_with(tmp_path_factory, base_portal, "gate-cheap", 2)
    try:
        slow = [start(sql, s, SLOW), start(sql, s, SLOW)]
        first_done(slow)
        running = [t for t, _ in slow if t.is_alive()]
        assert len(running) == 1
        rid = "00000000-0000-4000-8000-000000000000"
        status, _, doc = get(s, "/api/3/action/datastore_search", resource_id=rid)
        assert status == 404, doc
        status, _, doc = get(s, "/api/3/action/datastore_search", resource_id=rid, q="")
        assert status == 404, doc
        status, _, doc = get(s, "/api/3/action/datastore_info", id=rid)
        assert status == 404, doc
        assert running[0].is_alive()
        running[0].join(HANG_GUARD)
    finally:
        s.stop()
