"""The server as a program: ready line, gzip, ETag/304, HTML pages, the access log,
configured limits, graceful shutdown on SIGTERM and SIGINT."""

import gzip
import json
import os
import signal
import socket
import threading
import time

import pytest

from conftest import ORG, Server, fails, make_dataset, ok, unique


def test_catalog_get_etag_304(srv, tok):
    ds = make_dataset(srv, tok["editor"], notes="etag test")
    path = "/api/3/action/package_show?id=" + ds["name"]
    r1 = srv.get(path)
    etag = r1.headers.get("ETag")
    assert r1.status_code == 200 and etag, "a catalog GET must carry an ETag"
    r2 = srv.get(path, headers={"If-None-Match": etag})
    assert r2.status_code == 304 and r2.content == b""
    assert r2.headers.get("ETag") == etag
    # A change makes a new ETag; the old one no longer matches.
    ok(srv.api("package_patch", token=tok["editor"], id=ds["name"], notes="changed"))
    r3 = srv.get(path, headers={"If-None-Match": etag})
    assert r3.status_code == 200 and r3.json()["result"]["notes"] == "changed"
    assert r3.headers["ETag"] != etag
    # Lists and searches too.
    for p in ("/api/3/action/package_list", "/api/3/action/package_search?q=etag"):
        e = srv.get(p).headers.get("ETag")
        assert e, p
        assert srv.get(p, headers={"If-None-Match": e}).status_code == 304, p
    # What the caller may see differs per caller: a private dataset's ETag must not let
    # an anonymous caller revalidate a member's copy into a 200 body they may not read.
    priv = make_dataset(srv, tok["editor"], private=True)
    p = "/api/3/action/package_show?id=" + priv["name"]
    rm = srv.get(p, headers={"Authorization": tok["member"]})
    assert rm.status_code == 200
    ra = srv.get(p, headers={"If-None-Match": rm.headers["ETag"]})
    assert ra.status_code == 404


def test_gzip(srv, tok):
    ds = make_dataset(srv, tok["editor"], notes="compress me " * 2000)
    path = "/api/3/action/package_show?id=" + ds["name"]
    r = srv.get(path, headers={"Accept-Encoding": "gzip"}, stream=True)
    assert r.headers.get("Content-Encoding") == "gzip"
    raw = r.raw.read(decode_content=False)
    body = json.loads(gzip.decompress(raw))
    assert body["result"]["notes"] == "compress me " * 2000
    assert len(raw) < 4000
    assert "Accept-Encoding" in r.headers.get("Vary", "")
    r = srv.get(path, headers={"Accept-Encoding": "identity"})
    assert "Content-Encoding" not in r.headers
    assert r.json()["result"]["notes"] == "compress me " * 2000
    # gzip and ETag together: a 304 for the same representation.
    r1 = srv.get(path, headers={"Accept-Encoding": "gzip"})
    r2 = srv.get(path, headers={"Accept-Encoding": "gzip", "If-None-Match": r1.headers["ETag"]})
    assert r2.status_code == 304


def test_home_page(srv):
    r = srv.get("/")
    assert r.status_code == 200
    assert r.headers["Content-Type"].startswith("text/html")
    assert "<html" in r.text.lower()


def test_dataset_page(srv, tok):
    ds = make_dataset(srv, tok["editor"], title="Page <b>title</b> & more 页面", notes="Plain *notes*.")
    r = srv.get("/dataset/" + ds["name"])
    assert r.status_code == 200 and r.headers["Content-Type"].startswith("text/html")
    assert "Page &lt;b&gt;title&lt;/b&gt; &amp; more 页面" in r.text
    assert "<em>notes</em>" in r.text
    assert srv.get("/dataset/" + ds["id"]).status_code == 200
    assert srv.get("/dataset/no-such-dataset").status_code == 404
    priv = make_dataset(srv, tok["editor"], private=True, title="Hidden page")
    r = srv.get("/dataset/" + priv["name"])
    assert r.status_code == 404 and "Hidden page" not in r.text


def read_log(s):
    out = []
    for line in s.access_log_lines():
        assert line.strip(), "blank line in the access log"
        obj = json.loads(line)
        assert isinstance(obj, dict), line
        out.append(obj)
    return out


def test_access_log(clone_portal, start_server):
    pt = clone_portal()
    s = start_server(pt)
    t = pt.tokens["editor"]
    ok(s.api("package_create", token=t, name="logged", owner_org=ORG))
    ok(s.api("package_show", id="logged", token="Bearer " + t))
    ok(s.api("package_patch", id="logged", token=t, auth_header="X-CKAN-API-Key", title="x"))
    fails(s.api("package_create", token=t + "wrong", name="nope", owner_org=ORG), 403)
    s.get("/healthz")
    s.get("/no/such/page")
    s.get("/api/3/action/package_show?id=logged&api_key=" + t)
    s.stop()
    entries = read_log(s)
    assert len(entries) == 7, "one line per request: %r" % entries
    text = open(s.access_log).read()
    for secret in (t, t + "wrong"):
        assert secret not in text, "the access log contains a token"
    statuses = [e.get("status") for e in entries]
    assert statuses[:6] == [200, 200, 200, 403, 200, 404], entries


def test_access_log_off_and_stdout(clone_portal, start_server):
    pt = clone_portal()
    s = start_server(pt, args=["--access-log", "-"], access_log=False)
    ok(s.api("status_show"))


def test_threads_and_limits_flags(clone_portal, start_server):
    pt = clone_portal()
    s = start_server(pt, args=["--threads", "2", "--max-body", "2048", "--max-upload", "4096",
                               "--max-header", "4096", "--max-connections", "16", "--idle-timeout", "5"])
    t = pt.tokens["editor"]
    ok(s.api("package_create", token=t, name="small", owner_org=ORG, notes="n" * 1500))
    r = s.api("package_create", token=t, name="big", owner_org=ORG, notes="n" * 3000)
    fails(r, 413)
    fails(s.api("package_show", id="big"), 404)
    import requests
    try:
        r = s.api("package_create", token=t, name="bigger", owner_org=ORG, notes="n" * (256 * 1024))
    except requests.exceptions.ConnectionError as e:
        raise AssertionError("a 256 KiB body over --max-body 2048: connection reset, no 413 (%s)" % e)
    assert r.status == 413, r
    r = s.api("resource_create", token=t, params={"package_id": "small"},
              files={"upload": ("f.bin", b"z" * 5000, "application/octet-stream")})
    assert r.status == 413, r
    try:
        r = s.api("resource_create", token=t, params={"package_id": "small"},
                  files={"upload": ("f.bin", b"z" * (4 << 20), "application/octet-stream")})
    except requests.exceptions.ConnectionError as e:
        raise AssertionError("a 4 MiB upload over --max-upload 4096: connection reset, no 413 (%s)" % e)
    assert r.status == 413, r
    r = s.api("resource_create", token=t, params={"package_id": "small"},
              files={"upload": ("f.bin", b"z" * 3000, "application/octet-stream")})
    ok(r)
    assert ok(s.api("package_show", id="small"))["num_resources"] == 1
    r = s.get("/healthz", headers={"X-Pad": "p" * 5000})
    assert r.status_code in (400, 413, 431)
    ok(s.api("status_show"))


@pytest.mark.parametrize("flags", [["--threads", "0"], ["--threads", "abc"], ["--max-body", "-1"],
                                   ["--listen", "not-an-address"], ["--idle-timeout", "99999999999999999999"]])
def test_bad_serve_flags(clone_portal, flags):
    from conftest import run_cli
    pt = clone_portal()
    p = run_cli("serve", *flags, portal=pt.path, timeout=30)
    assert p.returncode in (1, 2), "serve %r: exit %d" % (flags, p.returncode)
    assert p.stderr.strip()


def test_listen_address_in_use(clone_portal, start_server):
    from conftest import run_cli
    pt = clone_portal()
    s = start_server(pt)
    try:
        p = run_cli("serve", "--listen", "127.0.0.1:%d" % s.port, portal=pt.path, timeout=10)
    except Exception as e:
        raise AssertionError("a second serve on port %d (in use) did not fail: %s" % (s.port, e))
    assert p.returncode == 1, "a port in use must fail with 1, got %d" % p.returncode
    assert str(s.port) in p.stderr


def test_site_url(clone_portal, start_server):
    pt = clone_portal()
    s = start_server(pt, args=["--site-url", "https://data.example.gov.cn"])
    assert ok(s.api("status_show"))["site_url"] == "https://data.example.gov.cn"
    ok(s.api("package_create", token=pt.tokens["editor"], name="su", owner_org=ORG))
    r = ok(s.api("resource_create", token=pt.tokens["editor"], params={"package_id": "su"},
                 files={"upload": ("a.csv", b"a\n1\n", "text/csv")}))
    assert r["url"].startswith("https://data.example.gov.cn/dataset/"), r["url"]


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_graceful_stop_idle(clone_portal, start_server, sig):
    pt = clone_portal()
    s = start_server(pt)
    ok(s.api("status_show"))
    assert s.stop(sig) == 0


def test_shutdown_lets_inflight_upload_finish(clone_portal, start_server):
    pt = clone_portal()
    s = start_server(pt)
    t = pt.tokens["editor"]
    ok(s.api("package_create", token=t, name="slow", owner_org=ORG))
    payload = os.urandom(256 * 1024)
    boundary = "kaifangboundary7f3a"
    parts = []
    parts.append(("--%s\r\nContent-Disposition: form-data; name=\"package_id\"\r\n\r\nslow\r\n" % boundary).encode())
    parts.append(("--%s\r\nContent-Disposition: form-data; name=\"upload\"; filename=\"slow.bin\"\r\n"
                  "Content-Type: application/octet-stream\r\n\r\n" % boundary).encode() + payload + b"\r\n")
    parts.append(("--%s--\r\n" % boundary).encode())
    body = b"".join(parts)
    head = ("POST /api/3/action/resource_create HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: %s\r\n"
            "Content-Type: multipart/form-data; boundary=%s\r\nContent-Length: %d\r\nConnection: close\r\n\r\n"
            % (t, boundary, len(body))).encode()
    sock = socket.create_connection((s.host, s.port), timeout=60)
    half = len(body) // 2
    sock.sendall(head + body[:half])
    time.sleep(0.5)
    s.kill_with(signal.SIGTERM)  # mid-upload
    time.sleep(1.0)
    assert s.proc.poll() is None, "the server quit with an upload in flight"
    sock.sendall(body[half:])
    resp = b""
    while True:
        c = sock.recv(65536)
        if not c:
            break
        resp += c
    sock.close()
    status = int(resp.split(b" ", 2)[1])
    assert status == 200, resp[:500]
    hdr, _, rbody = resp.partition(b"\r\n\r\n")
    if b"chunked" in hdr.lower():
        # Undo chunked transfer coding.
        out, rest = b"", rbody
        while rest:
            size_line, _, rest = rest.partition(b"\r\n")
            n = int(size_line.split(b";")[0], 16)
            if n == 0:
                break
            out, rest = out + rest[:n], rest[n + 2:]
        rbody = out
    res = json.loads(rbody)["result"]
    assert res["size"] == len(payload)
    # The server then stops by itself (no second signal), with status 0.
    try:
        s.proc.wait(timeout=30)
    except Exception:
        raise AssertionError("the server did not stop after its last request finished")
    assert s.stop() == 0
    # The upload is really there after a restart.
    s2 = start_server(pt)
    d = ok(s2.api("package_show", id="slow"))
    assert d["num_resources"] == 1
    got = s2.get("/dataset/slow/resource/%s/download/slow.bin" % res["id"])
    assert got.content == payload


def test_new_connections_refused_after_stop(clone_portal, start_server):
    pt = clone_portal()
    s = start_server(pt)
    port = s.port
    s.stop()
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", port), timeout=5).close()
