"""Resources: by URL and by multipart upload; downloads with Content-Type/Length, ETag, Range."""

import hashlib
import os
import urllib.parse

import pytest

from conftest import ORG, fails, make_dataset, ok, unique

CSV = ("code,name\n11,北京市\n12,天津市\n13,河北省\n" * 50).encode("utf-8")


def upload(srv, token, package_id, content, filename="data.csv", ctype="text/csv", action="resource_create", **fields):
    f = {"package_id": package_id, "name": fields.pop("name", filename)}
    f.update(fields)
    return srv.api(action, token=token, params=f, files={"upload": (filename, content, ctype)})


def path_of(url):
    return urllib.parse.urlparse(url).path


def test_resource_by_url(srv, tok):
    ds = make_dataset(srv, tok["editor"])
    r = ok(srv.api("resource_create", token=tok["editor"], package_id=ds["id"],
                   url="https://example.org/files/roads.csv", name="Roads", format="CSV",
                   description="All roads"))
    assert r["package_id"] == ds["id"]
    assert r["url"] == "https://example.org/files/roads.csv"
    assert r["name"] == "Roads" and r["format"] == "CSV" and r["description"] == "All roads"
    assert r["url_type"] in (None, "")
    assert r["position"] == 0
    shown = ok(srv.api("resource_show", id=r["id"]))
    assert shown == r
    pkg = ok(srv.api("package_show", id=ds["id"]))
    assert pkg["num_resources"] == 1 and pkg["resources"][0] == r
    r2 = ok(srv.api("resource_create", token=tok["editor"], package_id=ds["name"], url="https://example.org/b.json",
                    name="B"))
    assert r2["position"] == 1
    # A link resource has no download.
    resp = srv.get("/dataset/%s/resource/%s/download/roads.csv" % (ds["id"], r["id"]))
    assert resp.status_code == 404


def test_resource_create_errors(srv, tok):
    ds = make_dataset(srv, tok["editor"])
    fails(srv.api("resource_create", token=tok["editor"], package_id="no-such-dataset", url="https://x.org/a"), 404)
    fails(srv.api("resource_create", token=tok["editor"], url="https://x.org/a"), 409, field="package_id")
    fails(srv.api("resource_create", token=tok["editor"], package_id=ds["id"], url="https://x.org/a",
                  name={"x": 1}), 409, field="name")
    fails(srv.api("resource_create", package_id=ds["id"], url="https://x.org/a"), 403)
    fails(srv.api("resource_create", token=tok["member"], package_id=ds["id"], url="https://x.org/a"), 403)
    fails(srv.api("resource_create", token=tok["outsider"], package_id=ds["id"], url="https://x.org/a"), 403)
    assert ok(srv.api("package_show", id=ds["id"]))["num_resources"] == 0


def test_resource_update_and_delete(srv, tok):
    ds = make_dataset(srv, tok["editor"])
    r = ok(srv.api("resource_create", token=tok["editor"], package_id=ds["id"], url="https://x.org/a.csv", name="A"))
    u = ok(srv.api("resource_update", token=tok["editor"], id=r["id"], url="https://x.org/b.csv", name="B",
                   format="CSV"))
    assert u["id"] == r["id"] and u["url"] == "https://x.org/b.csv" and u["name"] == "B"
    assert ok(srv.api("resource_show", id=r["id"]))["name"] == "B"
    fails(srv.api("resource_update", token=tok["outsider"], id=r["id"], url="https://x.org/c", name="C"), 403)
    fails(srv.api("resource_update", token=tok["editor"], id="00000000-0000-4000-8000-000000000000",
                  url="https://x.org/c"), 404)
    fails(srv.api("resource_delete", token=tok["member"], id=r["id"]), 403)
    assert ok(srv.api("resource_delete", token=tok["editor"], id=r["id"])) is None
    fails(srv.api("resource_show", id=r["id"]), 404, "Not Found Error")
    pkg = ok(srv.api("package_show", id=ds["id"]))
    assert pkg["num_resources"] == 0 and pkg["resources"] == []
    fails(srv.api("resource_delete", token=tok["editor"], id=r["id"]), 404)


def test_resource_show_unknown(srv):
    fails(srv.api("resource_show", id="00000000-0000-4000-8000-000000000000"), 404, "Not Found Error")
    fails(srv.api("resource_show", id="not-a-uuid"), 404)
    fails(srv.api("resource_show"), 409, field="id")


def test_upload_and_download(srv, tok):
    ds = make_dataset(srv, tok["editor"])
    res = ok(upload(srv, tok["editor"], ds["id"], CSV, filename="provinces.csv", format="CSV"))
    assert res["url_type"] == "upload"
    assert res["size"] == len(CSV)
    assert res["hash"] == "sha256:" + hashlib.sha256(CSV).hexdigest()
    assert res["mimetype"] == "text/csv"
    path = path_of(res["url"])
    assert path == "/dataset/%s/resource/%s/download/provinces.csv" % (ds["id"], res["id"]), res["url"]
    d = srv.get(path)
    assert d.status_code == 200
    assert d.content == CSV
    assert d.headers["Content-Type"].startswith("text/csv"), d.headers["Content-Type"]
    assert int(d.headers["Content-Length"]) == len(CSV)
    assert d.headers.get("ETag"), "download without ETag"
    # The dataset's name works in place of its id.
    d2 = srv.get("/dataset/%s/resource/%s/download/provinces.csv" % (ds["name"], res["id"]))
    assert d2.status_code == 200 and d2.content == CSV


def test_upload_url_points_at_this_server(srv, tok):
    # Without --site-url, the download URL must reach the server that made it (with
    # --listen 127.0.0.1:0, the port actually bound, not 0).
    ds = make_dataset(srv, tok["editor"])
    res = ok(upload(srv, tok["editor"], ds["id"], b"a,b\n1,2\n", filename="t.csv"))
    u = urllib.parse.urlparse(res["url"])
    assert (u.hostname, u.port) == (srv.host, srv.port), res["url"]


def test_download_conditional_and_ranges(srv, tok):
    ds = make_dataset(srv, tok["editor"])
    body = bytes(range(256)) * 40
    res = ok(upload(srv, tok["editor"], ds["id"], body, filename="blob.bin", ctype="application/octet-stream"))
    path = path_of(res["url"])
    full = srv.get(path)
    etag = full.headers["ETag"]
    assert full.content == body
    r = srv.get(path, headers={"If-None-Match": etag})
    assert r.status_code == 304 and r.content == b""
    r = srv.get(path, headers={"Range": "bytes=0-9"})
    assert r.status_code == 206
    assert r.content == body[:10]
    assert r.headers["Content-Range"] == "bytes 0-9/%d" % len(body)
    assert int(r.headers["Content-Length"]) == 10
    r = srv.get(path, headers={"Range": "bytes=100-"})
    assert r.status_code == 206 and r.content == body[100:]
    r = srv.get(path, headers={"Range": "bytes=-16"})
    assert r.status_code == 206 and r.content == body[-16:]
    r = srv.get(path, headers={"Range": "bytes=%d-" % len(body)})
    assert r.status_code == 416
    assert r.headers.get("Content-Range") == "bytes */%d" % len(body)
    r = srv.get(path, headers={"Range": "bytes=50-10"})
    assert r.status_code in (200, 416), "an unsatisfiable or invalid range: %d" % r.status_code
    if r.status_code == 200:
        assert r.content == body
    r = srv.get(path, headers={"Range": "bogus"})
    assert r.status_code == 200 and r.content == body
    r = srv.request("HEAD", path)
    assert r.status_code == 200 and int(r.headers["Content-Length"]) == len(body) and r.content == b""


def test_upload_replaces_file(srv, tok):
    ds = make_dataset(srv, tok["editor"])
    res = ok(upload(srv, tok["editor"], ds["id"], b"v1\n", filename="v.txt", ctype="text/plain"))
    new = b"version two\n" * 100
    u = ok(upload(srv, tok["editor"], ds["id"], new, filename="v2.txt", ctype="text/plain",
                  action="resource_update", id=res["id"]))
    assert u["id"] == res["id"] and u["size"] == len(new)
    assert u["hash"] == "sha256:" + hashlib.sha256(new).hexdigest()
    assert srv.get(path_of(u["url"])).content == new


def test_upload_same_bytes_twice(srv, tok):
    # Content-addressed store: two resources with the same bytes both download them,
    # and deleting one leaves the other intact.
    ds = make_dataset(srv, tok["editor"])
    a = ok(upload(srv, tok["editor"], ds["id"], CSV, filename="a.csv"))
    b = ok(upload(srv, tok["editor"], ds["id"], CSV, filename="b.csv"))
    ok(srv.api("resource_delete", token=tok["editor"], id=a["id"]))
    assert srv.get(path_of(a["url"])).status_code == 404
    assert srv.get(path_of(b["url"])).content == CSV


def test_upload_hostile_filename(srv, tok):
    ds = make_dataset(srv, tok["editor"])
    for fname in ["../../etc/passwd", "..\\..\\boot.ini", "<img src=x>.csv", "a b%2F.csv", "数据.csv", ".hidden"]:
        r = upload(srv, tok["editor"], ds["id"], b"x,y\n", filename=fname)
        assert r.status in (200, 409), r
        if r.status == 200:
            res = r.body["result"]
            p = path_of(res["url"])
            assert "/../" not in p and "\\" not in p, p
            d = srv.get(res["url"][res["url"].index("/dataset/"):])
            assert d.status_code == 200 and d.content == b"x,y\n", (fname, res["url"])
    # Nothing escaped the portal's files directory.
    ok(srv.api("status_show"))


def test_upload_permissions(srv, tok):
    ds = make_dataset(srv, tok["editor"])
    fails(upload(srv, None, ds["id"], b"x"), 403)
    fails(upload(srv, tok["member"], ds["id"], b"x"), 403)
    fails(upload(srv, tok["outsider"], ds["id"], b"x"), 403)
    fails(upload(srv, tok["editor"], "no-such-dataset", b"x"), 404)
    assert ok(srv.api("package_show", id=ds["id"]))["num_resources"] == 0


def test_private_dataset_download(srv, tok):
    ds = make_dataset(srv, tok["editor"], private=True)
    res = ok(upload(srv, tok["editor"], ds["id"], b"secret,data\n", filename="s.csv"))
    path = path_of(res["url"])
    assert srv.get(path).status_code == 404
    assert srv.get(path, headers={"Authorization": tok["outsider"]}).status_code == 404
    r = srv.get(path, headers={"Authorization": tok["member"]})
    assert r.status_code == 200 and r.content == b"secret,data\n"
    fails(srv.api("resource_show", id=res["id"]), 404)
    assert ok(srv.api("resource_show", id=res["id"], token=tok["member"]))["id"] == res["id"]


def test_download_unknown(srv, tok):
    ds = make_dataset(srv, tok["editor"])
    assert srv.get("/dataset/%s/resource/00000000-0000-4000-8000-000000000000/download/x.csv" % ds["id"]).status_code == 404
    assert srv.get("/dataset/no-such-dataset/resource/00000000-0000-4000-8000-000000000000/download/x").status_code == 404


def test_multipart_without_file_is_a_link_or_error(srv, tok):
    ds = make_dataset(srv, tok["editor"])
    r = srv.api("resource_create", token=tok["editor"], params={"package_id": ds["id"], "url": "https://x.org/a"},
                files={"other": ("x.txt", b"ignored", "text/plain")})
    assert r.status in (200, 400, 409), r
    if r.status == 200:
        assert r.body["result"]["url"] == "https://x.org/a"
    else:
        assert r.body["success"] is False


def vm_hwm_kib(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    raise AssertionError("no VmHWM")


def test_large_upload_streams_to_disk(srv, tok):
    # 64 MiB up and down: the server's peak RSS must not grow by anything near the file
    # size (uploads stream to a temporary file, downloads from the file).
    ds = make_dataset(srv, tok["editor"])
    size = 64 << 20
    blob = os.urandom(1 << 20) * 64
    before = vm_hwm_kib(srv.proc.pid)
    res = ok(upload(srv, tok["editor"], ds["id"], blob, filename="big.bin", ctype="application/octet-stream"))
    assert res["size"] == size
    assert res["hash"] == "sha256:" + hashlib.sha256(blob).hexdigest()
    d = srv.get(path_of(res["url"]), stream=True)
    h, n = hashlib.sha256(), 0
    for chunk in d.iter_content(1 << 20):
        h.update(chunk)
        n += len(chunk)
    assert n == size and h.hexdigest() == hashlib.sha256(blob).hexdigest()
    grew = vm_hwm_kib(srv.proc.pid) - before
    assert grew < 16 * 1024, "peak RSS grew by %d KiB for a 64 MiB upload and download" % grew
