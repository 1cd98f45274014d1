"""Several clients at once: writers creating datasets while readers search, show and
list. Every response is a clean CKAN envelope; at the end every dataset that was
reported created is there exactly once, and nothing else appeared."""

import threading

import requests

from conftest import ORG, Response, ok

WRITERS = 4
READERS = 4
PER_WRITER = 12


def test_concurrent_writers_and_readers(srv, tok):
    created, refused, problems = [], [], []
    lock = threading.Lock()
    stop = threading.Event()

    def check(r, what):
        b = r.body
        if r.status == 200 and isinstance(b, dict) and b.get("success") is True:
            return True
        if r.status == 503 and isinstance(b, dict) and b.get("success") is False:
            return False
        with lock:
            problems.append("%s: %r" % (what, r))
        return False

    def writer(w):
        sess = requests.Session()
        sess.trust_env = False
        for i in range(PER_WRITER):
            name = "conc-w%d-%02d" % (w, i)
            body = {"name": name, "owner_org": ORG, "title": "并发 concurrent %d %d" % (w, i),
                    "tags": [{"name": "concurrent"}, {"name": "writer-%d" % w}], "private": i % 4 == 0}
            r = Response(sess.post(srv.url + "/api/3/action/package_create", json=body,
                                   headers={"Authorization": tok["editor"]}, timeout=120))
            if check(r, "create " + name):
                with lock:
                    created.append(name)
                # Read-your-writes: the creator sees it at once.
                r = Response(sess.get(srv.url + "/api/3/action/package_show", params={"id": name},
                                      headers={"Authorization": tok["editor"]}, timeout=120))
                if check(r, "show " + name) and r.body["result"]["name"] != name:
                    with lock:
                        problems.append("show %s returned %s" % (name, r.body["result"]["name"]))
            else:
                with lock:
                    refused.append(name)

    def reader(k):
        sess = requests.Session()
        sess.trust_env = False
        n = 0
        while not stop.is_set() or n < 5:
            n += 1
            if k % 2:
                r = Response(sess.get(srv.url + "/api/3/action/package_search",
                                      params={"q": "concurrent", "rows": 50, "facet.field": '["tags"]'}, timeout=120))
                if check(r, "search"):
                    res = r.body["result"]
                    if res["count"] < len(res["results"]):
                        with lock:
                            problems.append("search count %d < %d results" % (res["count"], len(res["results"])))
            else:
                r = Response(sess.get(srv.url + "/api/3/action/package_list", timeout=120))
                if check(r, "list"):
                    lst = r.body["result"]
                    if len(lst) != len(set(lst)):
                        with lock:
                            problems.append("package_list repeats a name")
                    for name in lst[:3]:
                        check(Response(sess.get(srv.url + "/api/3/action/package_show", params={"id": name},
                                                timeout=120)), "show " + name)

    writers = [threading.Thread(target=writer, args=(w,)) for w in range(WRITERS)]
    readers = [threading.Thread(target=reader, args=(k,)) for k in range(READERS)]
    for t in writers + readers:
        t.start()
    for t in writers:
        t.join(timeout=600)
    stop.set()
    for t in readers:
        t.join(timeout=600)
    assert not any(t.is_alive() for t in writers + readers), "a client thread hung"
    assert not problems, "\n".join(problems[:20])
    assert created, "no create succeeded"
    assert len(refused) <= len(created), "most creates were refused under light load: %d refused" % len(refused)

    public = {n for n in created if int(n[-2:]) % 4 != 0}
    lst = ok(srv.api("package_list"))
    mine = [n for n in lst if n.startswith("conc-")]
    assert sorted(mine) == sorted(public), "package_list after the run differs from what was created"
    res = ok(srv.api("package_search", token=tok["editor"], q="tags:concurrent", rows=1000, include_private=True))
    found = [r["name"] for r in res["results"]]
    assert res["count"] == len(created) == len(found)
    assert sorted(found) == sorted(created)
    for n in refused:
        assert srv.api("package_show", token=tok["sysadmin"], id=n).status == 404, "%s was refused yet exists" % n
    facets = ok(srv.api("package_search", token=tok["editor"], q="tags:concurrent", rows=0, include_private=True,
                        **{"facet.field": ["tags"], "facet.limit": -1}))["facets"]["tags"]
    for w in range(WRITERS):
        assert facets.get("writer-%d" % w, 0) == len([n for n in created if n.startswith("conc-w%d-" % w)])


def test_concurrent_identical_uploads(srv, tok):
    # Content-addressed files: many resources with the same bytes at once, then half of
    # them deleted; the rest still download those bytes.
    name = "conc-uploads"
    ok(srv.api("package_create", token=tok["editor"], name=name, owner_org=ORG))
    payload = b"same,bytes\n" * 5000
    results, problems = [], []
    lock = threading.Lock()

    def up(i):
        sess = requests.Session()
        sess.trust_env = False
        r = Response(sess.post(srv.url + "/api/3/action/resource_create", data={"package_id": name, "name": "u%d" % i},
                               files={"upload": ("same.csv", payload, "text/csv")},
                               headers={"Authorization": tok["editor"]}, timeout=120))
        with lock:
            if r.status == 200 and r.body["success"]:
                results.append(r.body["result"])
            else:
                problems.append(repr(r))

    threads = [threading.Thread(target=up, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=300)
    assert not problems, problems
    d = ok(srv.api("package_show", id=name))
    assert d["num_resources"] == 8
    assert sorted(r["position"] for r in d["resources"]) == list(range(8)), "positions must be 0..7, once each"
    for r in results[:4]:
        ok(srv.api("resource_delete", token=tok["editor"], id=r["id"]))
    for r in results[4:]:
        path = "/dataset/%s/resource/%s/download/same.csv" % (name, r["id"])
        got = srv.get(path)
        assert got.status_code == 200 and got.content == payload
