"""Hostile input: markup, SQL metacharacters, broken encodings, long values, odd
requests. Stored values come back verbatim; nothing breaks the server; HTML pages escape."""

import json
import socket

import pytest

from conftest import ORG, fails, make_dataset, ok, unique

HOSTILE = [
    "<script>alert(1)</script>",
    "\"><img src=x onerror=alert(1)>",
    "'; DROP TABLE package; --",
    "Robert'); DELETE FROM user WHERE ('1'='1",
    "%00%zz%E4%B8",
    "a\\\"b\\\\c",
    "line\nbreak\ttab\r\n",
    "{{7*7}} ${7*7} <%= 7*7 %>",
    "\u202egnp.exe",
    "emoji 😀 and 中文 and ‮ and \ufeff",
    "NOT AND OR * ? ~ ^ : ( ) [ ] { } \" \\",
    "x" * 900,
]


@pytest.mark.parametrize("value", HOSTILE)
def test_hostile_strings_roundtrip(srv, tok, value):
    name = unique()
    d = {"name": name, "owner_org": ORG, "title": value, "notes": value, "author": value[:200],
         "tags": [{"name": "hostile"}], "extras": [{"key": "k " + value[:50], "value": value}]}
    created = ok(srv.api("package_create", token=tok["editor"], json_body=d))
    shown = ok(srv.api("package_show", id=name))
    assert shown["title"] == value and shown["notes"] == value and shown["author"] == value[:200]
    assert {"key": "k " + value[:50], "value": value} in [{"key": e["key"], "value": e["value"]} for e in shown["extras"]]
    assert created["title"] == value
    # Searching for it is harmless (it may or may not match, but must not fail).
    r = srv.api("package_search", q=value)
    assert r.status in (200, 409), r
    assert r.body["success"] is (r.status == 200)
    # The dataset page escapes it.
    page = srv.get("/dataset/" + name)
    assert page.status_code == 200
    html = page.text
    assert "<script>alert(1)</script>" not in html
    assert "<img src=x onerror" not in html
    ok(srv.api("status_show"))


def test_hostile_names_rejected_cleanly(srv, tok):
    for bad in ["'; DROP TABLE package; --", "<b>", "a%2Fb", "../../etc", "  ", ""]:
        r = srv.api("package_create", token=tok["editor"], json_body={"name": bad, "owner_org": ORG})
        fails(r, 409, field="name")
    # A NUL may be refused by the JSON parser already (400) or by the name rule (409).
    r = srv.api("package_create", token=tok["editor"], json_body={"name": "a\u0000b", "owner_org": ORG})
    assert r.status in (400, 409) and r.body["success"] is False, r
    # The datasets are still there.
    assert isinstance(ok(srv.api("package_list")), list)


def test_nul_in_strings(srv, tok):
    name = unique()
    body = ('{"name": "%s", "owner_org": "%s", "title": "a\\u0000b"}' % (name, ORG)).encode()
    r = srv.api("package_create", token=tok["editor"], data=body, headers={"Content-Type": "application/json"})
    assert r.status in (200, 400, 409), r
    if r.status == 200:
        assert ok(srv.api("package_show", id=name))["title"] == "a\u0000b"
    else:
        assert r.body["success"] is False
        fails(srv.api("package_show", id=name), 404)


def test_invalid_utf8_in_json(srv, tok):
    name = unique()
    body = b'{"name": "' + name.encode() + b'", "owner_org": "' + ORG.encode() + b'", "title": "\xc3\x28\xff"}'
    r = srv.api("package_create", token=tok["editor"], data=body, headers={"Content-Type": "application/json"})
    fails(r, 400)
    fails(srv.api("package_show", id=name), 404)


@pytest.mark.parametrize("path", [
    "/api/3/action/package_show?id=%zz",
    "/api/3/action/package_show?id=%E4%B8",
    "/api/3/action/package_show?id=%",
    "/api/3/action/package_show?id=%00",
    "/api/3/action/package_show?id=a&id=b",
    "/api/3/action/package_search?q=%E4%B8%AD%E6",
    "/api/3/action/package_search?q=%zz&rows=%zz",
    "/api/3/action/package_search?facet.field=%5B%22tags%22",
    "/api/3/action/%70ackage_list",
    "/api/3/action/package_list%00",
    "/api/3/action/../../../etc/passwd",
    "/dataset/%zz",
    "/dataset/%E4%B8",
    "/dataset/..%2F..%2Fetc%2Fpasswd",
    "/dataset/x/resource/%zz/download/%zz",
    "/%00",
    "/?q=<script>alert(1)</script>",
])
def test_broken_urls(srv, path):
    # Sent raw over a socket: requests would re-encode them.
    out = raw_request(srv, b"GET " + path.encode() + b" HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    assert out.startswith(b"HTTP/1."), (path, out[:200])
    status = int(out.split(b" ", 2)[1])
    assert status in (200, 400, 404, 409), (path, out[:400])
    assert b"<script>alert(1)</script>" not in out
    ok(srv.api("status_show"))


def test_very_long_values(srv, tok):
    long_notes = "长" * 20000 + "end"
    ds = make_dataset(srv, tok["editor"], notes=long_notes)
    assert ok(srv.api("package_show", id=ds["id"]))["notes"] == long_notes
    fails(srv.api("package_create", token=tok["editor"], name=unique(), owner_org=ORG, notes="n" * (64 * 1024 + 1)),
          409, field="notes")
    fails(srv.api("package_create", token=tok["editor"], name=unique(), owner_org=ORG, url="http://x.org/" + "a" * 2100),
          409, field="url")
    many_tags = [{"name": "tag-%d" % i} for i in range(201)]
    fails(srv.api("package_create", token=tok["editor"], name=unique(), owner_org=ORG, tags=many_tags), 409,
          field="tags")
    r = srv.api("package_search", q="word " * 300)
    assert r.status in (200, 409), r
    r = srv.api("package_show", id="x" * 5000)
    assert r.status in (404, 409), r


def test_deeply_nested_json(srv, tok):
    body = ("[" * 100000 + "]" * 100000).encode()
    r = srv.api("package_create", token=tok["editor"], data=body, headers={"Content-Type": "application/json"})
    assert r.status in (400, 409, 413), r
    body = json.dumps({"name": unique(), "owner_org": ORG, "extras": [{"key": "k", "value": {"a": {"b": [1]}}}]})
    r = srv.api("package_create", token=tok["editor"], data=body.encode(), headers={"Content-Type": "application/json"})
    assert r.status in (200, 409), r
    ok(srv.api("status_show"))


def test_huge_header_refused(srv):
    r = srv.get("/api/3/action/status_show", headers={"X-Big": "a" * 40000})
    assert r.status_code in (400, 413, 431), r.status_code
    ok(srv.api("status_show"))


def test_markdown_notes_rendered_safely(srv, tok):
    notes = ("# Heading\n\nSome **bold** text.\n\n<script>alert('x')</script>\n\n"
             "[click](javascript:alert(1)) <iframe src=\"https://evil.example\"></iframe>\n")
    ds = make_dataset(srv, tok["editor"], notes=notes, title="Markdown test")
    r = srv.get("/dataset/" + ds["name"])
    assert r.status_code == 200
    assert r.headers["Content-Type"].startswith("text/html")
    html = r.text
    assert "<strong>bold</strong>" in html
    assert "Markdown test" in html
    assert "<script>alert" not in html
    assert "javascript:alert" not in html
    assert "<iframe" not in html
    # The API returns the notes as written.
    assert ok(srv.api("package_show", id=ds["id"]))["notes"] == notes


def raw_request(srv, data, timeout=10):
    s = socket.create_connection((srv.host, srv.port), timeout=timeout)
    try:
        s.sendall(data)
        chunks = []
        while True:
            try:
                c = s.recv(65536)
            except socket.timeout:
                break
            if not c:
                break
            chunks.append(c)
        return b"".join(chunks)
    finally:
        s.close()


@pytest.mark.parametrize("req", [
    b"GARBAGE\r\n\r\n",
    b"GET / HTTP/9.9\r\nHost: x\r\n\r\n",
    b"POST /api/3/action/package_create HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999999999999999\r\n\r\n{}",
    b"POST /api/3/action/package_create HTTP/1.1\r\nHost: x\r\nContent-Length: -5\r\n\r\n",
    b"POST /api/3/action/package_create HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
    b"GET /healthz HTTP/1.1\r\nHost: x\r\n" + b"X-A: b\r\n" * 2000 + b"\r\n",
    b"\x00\x01\x02\x03" * 100,
])
def test_malformed_http(srv, req):
    out = raw_request(srv, req, timeout=5)
    if out:
        assert out.startswith(b"HTTP/1."), out[:200]
        status = int(out.split(b" ", 2)[1])
        assert 400 <= status < 600 and status != 500, out[:300]
    ok(srv.api("status_show"))


def test_html_pages_escape_every_field(srv, tok):
    import re
    X = "<script>alert(1)</script>"
    Y = "\"><img src=x onerror=alert(2)>"
    t = tok["sysadmin"]
    o = unique("xss")
    ok(srv.api("organization_create", token=t, name=o, title=X + Y, description=X))
    name = unique()
    ok(srv.api("package_create", token=t, name=name, title=X, owner_org=o, notes=Y, author=X, maintainer=Y,
               url="javascript:alert(3)", version=X, extras=[{"key": X, "value": Y}],
               title_translated={"en": X, "zh_CN": Y}, notes_translated={"en": X, "zh_CN": "[a](javascript:alert(4))"},
               spatial=X, tags=[{"name": "xss test"}]))
    # A resource url with a script scheme is refused outright (409 naming "url") …
    r = srv.api("resource_create", token=t, package_id=name, url="javascript:alert(5)", name=X)
    fails(r, 409, field="url")
    # … so the page is checked with hostile text in every other resource field.
    ok(srv.api("resource_create", token=t, package_id=name, url="http://example.org/a.csv?x=\"><script>alert(5)</script>",
               name=X, description=Y, format=Y))
    for path in ["/dataset/" + name, "/", "/dataset/" + name + "?lang=zh_CN"]:
        r = srv.get(path)
        assert r.status_code == 200, path
        body = r.text
        assert "<script>alert" not in body, path
        assert "<img src=x" not in body, path
        assert not re.search(r"""(href|src|action)\s*=\s*["']?\s*javascript:""", body, re.I), path
