"""Hostile HTTP over real sockets: multipart parts without a name or doubled, upload
limits on the file's bytes, NUL bytes in parameters and paths, ambiguous Content-Length,
414 and 431, invalid UTF-8 paths, ETags of the gzip variant on every path, Range
positions past 64 bits, white space around tokens, bind failures, and slow clients
holding connections (slowloris)."""

import gzip
import json
import os
import socket
import time

import pytest

from conftest import ORG, Portal, Response, Server, copy_portal, fails, make_dataset, ok, run_cli, unique


def raw(s, data, timeout=20, source=None):
    """Sends raw bytes on a fresh connection and reads until the server closes it or a
    whole response (by Content-Length) is in. Returns (status, headers, body, all)."""
    sock = socket.create_connection((s.host, s.port), timeout=timeout,
                                    source_address=(source, 0) if source else None)
    out = b""
    try:
        sock.sendall(data)
        while True:
            try:
                c = sock.recv(65536)
            except (ConnectionResetError, socket.timeout):
                break
            if not c:
                break
            out += c
            head, sep, body = out.partition(b"\r\n\r\n")
            if sep:
                cl = [l for l in head.split(b"\r\n") if l.lower().startswith(b"content-length:")]
                if cl and len(body) >= int(cl[0].split(b":")[1]):
                    break
    finally:
        sock.close()
    head, _, body = out.partition(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    status = int(lines[0].split(b" ")[1]) if lines and lines[0].startswith(b"HTTP/") else 0
    headers = {}
    for l in lines[1:]:
        k, _, v = l.partition(b":")
        headers[k.strip().lower().decode()] = v.strip().decode("latin-1")
    return status, headers, body, out


def envelope(body):
    doc = json.loads(body)
    assert doc["success"] is False and isinstance(doc["help"], str), doc
    return doc["error"]


def multipart(boundary, parts):
    """parts: (headers text, body bytes)."""
    out = b""
    for headers, body in parts:
        out += b"--" + boundary + b"\r\n" + headers.encode() + b"\r\n\r\n" + body + b"\r\n"
    return out + b"--" + boundary + b"--\r\n"


def post_multipart(s, action, body, token=None, boundary=b"XyZ"):
    h = {"Content-Type": "multipart/form-data; boundary=" + boundary.decode()}
    if token:
        h["Authorization"] = token
    return Response(s.request("POST", "/api/3/action/" + action, headers=h, data=body))


def tmp_files(s):
    d = os.path.join(s.portal.path, "files", "tmp")
    return sorted(os.listdir(d)) if os.path.isdir(d) else []


def server_with(tmp_path_factory, base_portal, name, args=(), conf=""):
    dest = tmp_path_factory.mktemp(name) / "portal"
    copy_portal(base_portal.path, dest)
    p = Portal(dest)
    p.tokens = dict(base_portal.tokens)
    if conf:
        with open(os.path.join(p.path, "kaifang.conf"), "a") as f:
            f.write("\n" + conf + "\n")
    s = Server(p, args=list(args), name=name)
    s.tokens = p.tokens
    return s


@pytest.fixture(scope="module")
def small(tmp_path_factory, base_portal):
    """Uploads 8 KiB, other bodies 2 KiB, headers 4 KiB."""
    s = server_with(tmp_path_factory, base_portal, "hostile-small",
                    ["--max-body", "2048", "--max-upload", "8192", "--max-header", "4096"])
    yield s
    s.stop()


# -- 1. multipart parts without a name ------------------------------------------------


@pytest.mark.parametrize("disposition", [
    "Content-Disposition: form-data",
    "Content-Type: text/plain",  # no Content-Disposition at all
    'Content-Disposition: form-data; filename="a.csv"',
    'Content-Disposition: attachment; filename="a.csv"',
])
@pytest.mark.parametrize("action", ["package_show", "resource_create", "no_such_action"])
def test_form_part_without_name_is_400(srv, disposition, action):
    body = multipart(b"XyZ", [(disposition, b"x")])
    r = post_multipart(srv, action, body)
    err = fails(r, 400, "Bad request")
    assert "no name" in err["message"], r
    assert ok(srv.api("status_show"))  # still serving
    assert tmp_files(srv) == []


def test_form_part_without_name_after_named_ones(srv, tok):
    body = multipart(b"XyZ", [('Content-Disposition: form-data; name="id"', b"x"),
                              ("Content-Disposition: form-data", b"y")])
    fails(post_multipart(srv, "package_show", body, tok["editor"]), 400, "Bad request")


# -- 2. one "upload" per request ---------------------------------------------------------


def test_two_upload_parts_are_refused(srv, tok):
    t = tok["editor"]
    ds = make_dataset(srv, t)
    pid = 'Content-Disposition: form-data; name="package_id"'
    f1 = 'Content-Disposition: form-data; name="upload"; filename="a.csv"\r\nContent-Type: text/csv'
    f2 = 'Content-Disposition: form-data; name="upload"; filename="b.csv"\r\nContent-Type: text/csv'
    plain = 'Content-Disposition: form-data; name="upload"'
    cases = [
        [(pid, ds["name"].encode()), (f1, b"a,b\n1,2\n"), (f2, b"c,d\n3,4\n")],
        [(pid, ds["name"].encode()), (f1, b"a,b\n1,2\n"), (f1, b"a,b\n1,2\n")],  # same name
        [(f1, b"a,b\n1,2\n"), (pid, ds["name"].encode()), (f2, b"c,d\n")],  # not adjacent
        [(pid, ds["name"].encode()), (f1, b"a,b\n1,2\n"), (plain, b"text")],
        [(pid, ds["name"].encode()), (plain, b"text"), (f1, b"a,b\n1,2\n")],
        [(pid, ds["name"].encode()), (plain, b"one"), (plain, b"two")],
    ]
    for parts in cases:
        r = post_multipart(srv, "resource_create", multipart(b"XyZ", parts), t)
        err = fails(r, 400, "Bad request")
        assert '"upload"' in err["message"], (parts, r)
        assert tmp_files(srv) == []
    assert ok(srv.api("package_show", id=ds["name"]))["num_resources"] == 0
    # form-urlencoded: two "upload" fields as well
    r = srv.api("resource_create", token=t, data="package_id=%s&upload=a&upload=b" % ds["name"],
                headers={"Content-Type": "application/x-www-form-urlencoded"})
    fails(r, 400, "Bad request")


def test_upload_field_without_filename(srv, tok):
    """curl -F 'upload=<file.csv' sends the content without a filename: not a file."""
    t = tok["editor"]
    ds = make_dataset(srv, t)
    parts = [('Content-Disposition: form-data; name="package_id"', ds["name"].encode()),
             ('Content-Disposition: form-data; name="upload"', b"a,b\n1,2\n")]
    r = post_multipart(srv, "resource_create", multipart(b"XyZ", parts), t)
    fails(r, 409, "Validation Error", field="upload")
    assert ok(srv.api("package_show", id=ds["name"]))["num_resources"] == 0
    # With a url, CKAN ignores such an "upload" and keeps the link.
    parts.append(('Content-Disposition: form-data; name="url"', b"https://example.org/a.csv"))
    res = ok(post_multipart(srv, "resource_create", multipart(b"XyZ", parts), t))
    assert res["url"] == "https://example.org/a.csv"
    # A JSON body naming "upload" is no file either.
    fails(srv.api("resource_create", token=t, package_id=ds["name"], upload="a,b"), 409,
          field="upload")
    # A browser's empty file part (no file chosen) with a url is a link resource.
    parts = [('Content-Disposition: form-data; name="package_id"', ds["name"].encode()),
             ('Content-Disposition: form-data; name="url"', b"https://example.org/b.csv"),
             ('Content-Disposition: form-data; name="upload"; filename=""', b"")]
    assert ok(post_multipart(srv, "resource_create", multipart(b"XyZ", parts), t))["url"] == \
        "https://example.org/b.csv"


def test_single_upload_still_works(srv, tok):
    t = tok["editor"]
    ds = make_dataset(srv, t)
    payload = b"a,b\n" + b"1,2\n" * 5000
    res = ok(srv.api("resource_create", token=t, params={"package_id": ds["name"]},
                     files={"upload": ("data.csv", payload, "text/csv")}))
    r = srv.get("/dataset/%s/resource/%s/download" % (ds["name"], res["id"]))
    assert r.status_code == 200 and r.content == payload


# -- 3. max_upload is the file's size ---------------------------------------------------


def test_max_upload_counts_the_file_not_the_body(small):
    t = small.tokens["editor"]
    ds = make_dataset(small, t)
    exact = bytes(range(256)) * 32  # 8192 bytes: exactly max_upload
    res = ok(small.api("resource_create", token=t,
                       params={"package_id": ds["name"], "name": "n" * 500,
                               "description": "d" * 1000},
                       files={"upload": ("exact.bin", exact, "application/octet-stream")}))
    assert res["size"] == len(exact)
    r = small.get("/dataset/%s/resource/%s/download" % (ds["name"], res["id"]))
    assert r.content == exact
    # One byte more is refused, naming the upload and its limit.
    r = small.api("resource_create", token=t, params={"package_id": ds["name"]},
                  files={"upload": ("big.bin", exact + b"x", "application/octet-stream")})
    err = fails(r, 413)
    assert "upload" in json.dumps(err) and "8192" in err["message"], r
    assert tmp_files(small) == []
    # The whole body stays bounded: max_upload plus max_body.
    head = ("POST /api/3/action/resource_create HTTP/1.1\r\nHost: x\r\nAuthorization: %s\r\n"
            "Content-Type: multipart/form-data; boundary=XyZ\r\nExpect: 100-continue\r\n"
            "Content-Length: %d\r\n\r\n" % (t, 8192 + 2048 + 1)).encode()
    status, _, body, _ = raw(small, head)
    assert status == 413, body
    # The other fields are held to max_body together.
    r = small.api("resource_create", token=t,
                  params={"package_id": ds["name"], "description": "d" * 3000},
                  files={"upload": ("s.bin", b"x", "application/octet-stream")})
    fails(r, 413)
    assert ok(small.api("package_show", id=ds["name"]))["num_resources"] == 1


# -- 4. NUL bytes in parameters ------------------------------------------------------------


def test_nul_in_query_parameter_is_400(srv, tok):
    ds = make_dataset(srv, tok["editor"])
    for q in ("id=%s%%00anything" % ds["name"], "id=%s%%00" % ds["name"], "i%%00d=%s" % ds["name"]):
        r = Response(srv.get("/api/3/action/package_show?" + q))
        err = fails(r, 400, "Bad request")
        assert "NUL" in err["message"] and ('"id"' in err["message"] or '"i"' in err["message"]), r
    ok(srv.api("package_show", id=ds["name"]))
    # on HTML pages too
    assert srv.get("/dataset?q=a%00b").status_code == 400


def test_nul_in_form_body_is_400(srv, tok):
    ds = make_dataset(srv, tok["editor"])
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    for body in ("id=%s%%00x" % ds["name"], "i%%00d=%s" % ds["name"]):
        err = fails(srv.api("package_show", data=body, headers=form), 400, "Bad request")
        assert "NUL" in err["message"], err
    parts = [('Content-Disposition: form-data; name="id"', ds["name"].encode() + b"\0x")]
    err = fails(post_multipart(srv, "package_show", multipart(b"XyZ", parts)), 400)
    assert '"id"' in err["message"] and "NUL" in err["message"], err
    assert ok(srv.api("package_show", data="id=" + ds["name"], headers=form))["name"] == ds["name"]


# -- 5. Content-Length -----------------------------------------------------------------------


def test_conflicting_content_length_is_400(srv):
    base = ("POST /api/3/action/package_show HTTP/1.1\r\nHost: x\r\n"
            "Content-Type: application/json\r\n%s\r\n")
    status, _, body, _ = raw(srv, (base % "Content-Length: 2\r\nContent-Length: 30\r\n").encode()
                             + b"{}")
    assert status == 400
    assert "Content-Length" in envelope(body)["message"]
    status, _, body, _ = raw(srv, (base % "Content-Length: 2\r\nTransfer-Encoding: chunked\r\n")
                             .encode() + b"2\r\n{}\r\n0\r\n\r\n")
    assert status == 400
    assert "Transfer-Encoding" in envelope(body)["message"]
    # identical duplicates are one length (RFC 9112 §6.3 allows either)
    status, _, body, _ = raw(srv, (base % "Content-Length: 2\r\ncontent-length: 2\r\nConnection: close\r\n")
                             .encode() + b"{}")
    assert status == 409, body  # package_show without id


@pytest.mark.parametrize("value,status", [("-5", 400), ("abc", 400), ("2, 2", 400),
                                          ("18446744073709551616", 413)])
def test_malformed_content_length_is_refused(srv, value, status):
    # libmicrohttpd 0.9.75 refuses these itself, before the application sees the request
    # (docs/internals/http.md: its answer is a bare HTML 400 whose head it sends twice).
    data = ("POST /api/3/action/package_show HTTP/1.1\r\nHost: x\r\nContent-Type: "
            "application/json\r\nContent-Length: %s\r\nConnection: close\r\n\r\n{}" % value).encode()
    got, _, _, _ = raw(srv, data)
    assert got == status
    ok(srv.api("status_show"))


# -- 6. 414 and 431 -------------------------------------------------------------------------


def test_long_target_is_414_and_big_headers_431(small):
    r = small.get("/api/3/action/package_list?x=" + "q" * 5000)
    assert r.status_code == 414
    assert r.headers["Content-Type"].startswith("application/json")
    err = envelope(r.content)
    assert err["__type"] and "too long" in err["message"]
    r = small.get("/api/3/" + "p" * 5000)
    assert r.status_code == 414 and envelope(r.content)
    r = small.get("/dataset/" + "d" * 5000)
    assert r.status_code == 414 and r.headers["Content-Type"].startswith("text/html")
    r = small.get("/api/3/action/package_list", headers={"X-Pad": "p" * 5000})
    assert r.status_code == 431
    assert "header" in envelope(r.content)["message"]
    r = small.get("/dataset", headers={"X-Pad": "p" * 5000})
    assert r.status_code == 431 and r.headers["Content-Type"].startswith("text/html")
    # a POST too, before its body is read
    head = ("POST /api/3/action/package_create?%s HTTP/1.1\r\nHost: x\r\nContent-Type: "
            "application/json\r\nContent-Length: 100000\r\n\r\n" % ("a" * 5000)).encode()
    status, _, body, _ = raw(small, head)
    assert status == 414 and envelope(body)
    assert small.get("/api/3/action/package_list?x=" + "q" * 3000).status_code == 200


# -- 7. invalid UTF-8 and broken percent-encoding in paths -----------------------------------


def test_invalid_paths(srv, tok):
    ds = make_dataset(srv, tok["editor"])
    for path in ("/dataset/%ff", "/dataset/%c0%af", "/dataset/%ed%a0%80", "/dataset/a%00b",
                 "/dataset/%s%%00" % ds["name"], "/dataset/x/resource/%ff/download",
                 "/dataset/%ff/resource/y/download/z"):
        r = srv.get(path)
        assert r.status_code == 400, (path, r.status_code, r.text[:300])
        assert r.headers["Content-Type"].startswith("text/html")
        assert "UTF-8" in r.text or "NUL" in r.text, path
    for path in ("/api/3/action/package_sh%ffow", "/api/3/action/%00", "/api/3/%ff"):
        r = Response(srv.get(path))
        err = fails(r, 400, "Bad request")
        assert err["message"], r
    # Broken percent-encoding is left as sent: no such dataset.
    for path in ("/dataset/%zz", "/dataset/%", "/dataset/%f", "/dataset/a%2"):
        assert srv.get(path).status_code == 404, path
    # Valid UTF-8 still works.
    assert srv.get("/dataset/%E4%B8%AD%E6%96%87").status_code == 404
    assert srv.get("/dataset/" + ds["name"]).status_code == 200


# -- 8. ETags of the gzip variant ------------------------------------------------------------


def test_gzip_variant_has_its_own_etag_everywhere(srv, tok):
    t = tok["editor"]
    ds = make_dataset(srv, t, notes="n" * 4000)
    identity = {"Accept-Encoding": "identity"}
    gz = {"Accept-Encoding": "gzip"}

    def check(path, headers):
        tags = {}
        for _ in range(2):  # the second anonymous call comes from the cache
            for name, h in (("id", identity), ("gz", gz)):
                r = srv.get(path, headers=dict(headers, **h), stream=True)
                raw_body = r.raw.read()
                assert r.status_code == 200, (path, r.status_code)
                tag = r.headers["ETag"]
                # A dataset's page is also negotiated on Accept (its RDF forms); every HTML
                # page on Accept-Language and the language cookie.
                vary = "Accept, Accept-Encoding" if path.startswith("/dataset/") else "Accept-Encoding"
                if r.headers["Content-Type"].startswith("text/html"):
                    vary += ", Accept-Language, Cookie"
                assert r.headers.get("Vary") == vary, (path, r.headers.get("Vary"))
                if name == "gz":
                    assert r.headers.get("Content-Encoding") == "gzip"
                    assert tag.endswith('-gz"'), tag
                    raw_body = gzip.decompress(raw_body)
                else:
                    assert "Content-Encoding" not in r.headers
                assert tags.setdefault(name, tag) == tag, "tag changed between calls"
                assert len(raw_body) >= 1024
        assert tags["id"] != tags["gz"]
        # 304 with each tag for its own variant only
        for name, h in (("id", identity), ("gz", gz)):
            other = tags["gz" if name == "id" else "id"]
            r = srv.get(path, headers=dict(headers, **h, **{"If-None-Match": tags[name]}))
            assert r.status_code == 304 and r.headers["ETag"] == tags[name], (path, name)
            r = srv.get(path, headers=dict(headers, **h, **{"If-None-Match": other}))
            assert r.status_code == 200 and r.headers["ETag"] == tags[name], (path, name)
        r = srv.request("HEAD", path, headers=dict(headers, **gz))
        assert r.headers["ETag"] == tags["gz"]
        return tags

    api = "/api/3/action/package_show?id=" + ds["name"]
    anon = check(api, {})                        # cached path
    member = check(api, {"Authorization": t})    # uncached path (a token bypasses the cache)
    assert anon["gz"] == anon["id"][:-1] + '-gz"'
    assert member["gz"] == member["id"][:-1] + '-gz"'
    check("/dataset/" + ds["name"], {})          # HTML page


# -- 9. Range positions past 64 bits ---------------------------------------------------------


def test_range_past_64_bits_is_clamped(srv, tok):
    t = tok["editor"]
    ds = make_dataset(srv, t)
    payload = bytes(range(256)) * 4
    res = ok(srv.api("resource_create", token=t, params={"package_id": ds["name"]},
                     files={"upload": ("r.bin", payload, "application/octet-stream")}))
    url = "/dataset/%s/resource/%s/download" % (ds["name"], res["id"])
    n = len(payload)
    for rng, first in (("bytes=0-99999999999999999999999", 0), ("bytes=10-18446744073709551616", 10),
                       ("bytes=5-18446744073709551615", 5)):
        r = srv.get(url, headers={"Range": rng})
        assert r.status_code == 206, rng
        assert r.content == payload[first:]
        assert r.headers["Content-Range"] == "bytes %d-%d/%d" % (first, n - 1, n)
    r = srv.get(url, headers={"Range": "bytes=-99999999999999999999999"})
    assert r.status_code == 206 and r.content == payload
    r = srv.get(url, headers={"Range": "bytes=99999999999999999999999-"})
    assert r.status_code == 416


# -- 10. white space around the token ---------------------------------------------------------


def test_token_with_surrounding_white_space(srv, tok):
    t = tok["editor"]
    ds = make_dataset(srv, t, private=True)
    path = "/api/3/action/package_show?id=" + ds["name"]

    def call(header, value):
        data = ("GET %s HTTP/1.1\r\nHost: x\r\n%s:%s\r\nConnection: close\r\n\r\n"
                % (path, header, value)).encode()
        return raw(srv, data)

    for value in (t + " ", t + "\t", "\t" + t, " " + t + " \t", "Bearer " + t + " ",
                  "\tBearer " + t + "\t"):
        status, _, body, _ = call("Authorization", value)
        assert status == 200, (repr(value), body[:300])
        assert json.loads(body)["result"]["name"] == ds["name"]
    status, _, body, _ = call("X-CKAN-API-Key", " " + t + "\t")
    assert status == 200, body[:300]
    status, _, body, _ = call("Authorization", " " + t + "x ")
    assert status == 403, body[:300]


# -- 11. bind failures name what was asked for ------------------------------------------------


def test_bind_failure_names_address_and_port(srv):
    holder = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    holder.bind(("127.0.0.1", 0))
    holder.listen(1)
    port = holder.getsockname()[1]
    try:
        p = run_cli("serve", "--listen", "127.0.0.1:%d" % port, "--access-log", "",
                    portal=srv.portal.path, timeout=60)
    finally:
        holder.close()
    assert p.returncode == 1, p
    assert "127.0.0.1:%d" % port in p.stderr and "port %d" % port in p.stderr, p.stderr
    assert "in use" in p.stderr, p.stderr
    assert "port 0" not in p.stderr, p.stderr


# -- 12. slow clients -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def guarded(tmp_path_factory, base_portal):
    """40 connections, 8 per client address, idle_timeout 6 s (so 2 s for headers)."""
    s = server_with(tmp_path_factory, base_portal, "hostile-slow",
                    ["--max-connections", "40", "--idle-timeout", "6"],
                    conf="max_connections_per_ip = 8")
    yield s
    s.stop()


def test_half_open_connections_do_not_starve_healthz(guarded):
    held = []
    try:
        # One client (127.0.0.2) opens more connections than the whole server allows and
        # never finishes its headers.
        for _ in range(60):
            try:
                c = socket.create_connection((guarded.host, guarded.port), timeout=5,
                                             source_address=("127.0.0.2", 0))
                c.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ")
                held.append(c)
            except OSError:
                pass
        time.sleep(0.3)
        t0 = time.monotonic()
        r = guarded.get("/healthz", timeout=5)
        assert r.status_code == 200 and time.monotonic() - t0 < 2
        # The first 8 are held, the rest were closed at once (per-address limit).
        alive = 0
        for c in held:
            c.setblocking(False)
            try:
                alive += c.recv(1) != b""
            except BlockingIOError:
                alive += 1
            except OSError:
                pass
        assert alive <= 8, alive
    finally:
        for c in held:
            c.close()


def test_unfinished_headers_get_the_short_timeout(guarded):
    sock = socket.create_connection((guarded.host, guarded.port), timeout=30)
    t0 = time.monotonic()
    sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
    data = sock.recv(100)
    elapsed = time.monotonic() - t0
    sock.close()
    assert data == b""
    assert 1.0 <= elapsed < 5.0, elapsed  # 2 s for headers, not the 6 s idle timeout
    # Once the headers are in, a body may pause for longer than the header timeout.
    sock = socket.create_connection((guarded.host, guarded.port), timeout=30)
    sock.sendall(b"POST /api/3/action/status_show HTTP/1.1\r\nHost: x\r\nContent-Type: "
                 b"application/json\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{")
    time.sleep(3.5)
    sock.sendall(b"}")
    out = b""
    while True:
        c = sock.recv(65536)
        if not c:
            break
        out += c
    sock.close()
    assert out.startswith(b"HTTP/1.1 200"), out[:200]


# -- 9. long SQL statements never hold every thread ---------------------------------------


def test_slow_sql_leaves_a_thread_for_others(tmp_path_factory, base_portal):
    """With 2 threads, one datastore_search_sql may run (for up to its 10 s limit); another
    gets 503 at once instead of holding the second thread, so /healthz and package_show
    answer on new connections while the first still runs. (A keep-alive connection that
    the busy thread serves waits for it: libmicrohttpd's pool keeps a connection on one
    thread.)"""
    import threading

    import requests

    s = server_with(tmp_path_factory, base_portal, "hostile-sql", ["--threads", "2"])
    slow = ("WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x+1 FROM c) "
            "SELECT count(*) FROM c")
    sql_url = s.url + "/api/3/action/datastore_search_sql"

    def fresh_get(url, **params):
        # A new connection each time, closed after the answer.
        return requests.get(url, params=params, headers={"Connection": "close"}, timeout=60)

    try:
        busy = None
        for _ in range(10):
            out = {}

            def run_slow():
                out["slow"] = fresh_get(sql_url, sql=slow)

            t = threading.Thread(target=run_slow)
            t.start()
            # Probe with a fast statement until the slow one holds the slot (hang guard
            # only: it takes it within moments, unless a probe took it first).
            deadline = time.monotonic() + 8
            while time.monotonic() < deadline and t.is_alive():
                r = fresh_get(sql_url, sql="SELECT 1 AS one")
                if r.status_code == 503:
                    busy = r
                    break
                time.sleep(0.02)
            if busy is not None:
                break
            t.join(60)  # a probe held the slot when the slow one came: it got the 503
        assert busy is not None, "never a 503 while a statement ran"
        e = busy.json()["error"]
        assert busy.json()["success"] is False and "datastore_search_sql is busy" in e["message"], e
        assert fresh_get(s.url + "/healthz").status_code == 200
        assert fresh_get(s.url + "/api/3/action/package_list").json()["success"] is True
        assert t.is_alive(), "the slow statement ended before the checks: %r" % (out,)
        t.join(60)
        assert not t.is_alive()
        slow_answer = out["slow"]
        assert slow_answer.status_code == 409 and "longer than" in slow_answer.text, slow_answer.text
        # The slot is free again.
        ok(s.api("datastore_search_sql", sql="SELECT 1 AS one"))
    finally:
        s.stop()
