"""Upload URLs follow the server that shows them: the stored resource keeps only its file
name, and every answer builds the absolute download URL from that server's site_url
(CKAN does the same). So a portal loaded with `kaifang load` (which runs with the
configured site_url) and served on another port, or behind another --site-url, hands
out download links that reach it."""

import hashlib
import json
import socket
import urllib.parse

from conftest import ok

DATA = ("id,城市\n1,北京\n2,上海\n" * 20).encode("utf-8")


def write_folder(root, name, files):
    d = root / name
    d.mkdir(parents=True)
    res = [{"file": f, "bytes": len(b), "sha256": hashlib.sha256(b).hexdigest()} for f, b in files.items()]
    for f, b in files.items():
        (d / f).write_bytes(b)
    (d / "metadata.json").write_text(json.dumps({
        "title": "Upload URLs " + name, "description": "d", "publisher": "Test Bureau",
        "license": "CC BY 4.0", "keywords": ["test"], "resources": res}))


def upload_of(pkg):
    ups = [r for r in pkg["resources"] if r["url_type"] == "upload"]
    assert len(ups) == 1, pkg["resources"]
    return ups[0]


def download(srv, url):
    """Fetches an absolute URL that must point at srv."""
    u = urllib.parse.urlparse(url)
    assert (u.hostname, u.port) == (srv.host, srv.port), (url, srv.url)
    return srv.get(u.path)


def test_loaded_upload_follows_the_serving_port(clone_portal, start_server, tmp_path):
    cat = tmp_path / "cat"
    write_folder(cat, "upload-urls", {"cities.csv": DATA})
    pt = clone_portal()
    pt.cli("load", cat)

    s1 = start_server(pt)
    res = upload_of(ok(s1.api("package_show", id="upload-urls")))
    assert res["url"].startswith(s1.url + "/dataset/"), (res["url"], s1.url)
    assert download(s1, res["url"]).content == DATA
    port1 = s1.port
    s1.stop()

    # Restart on another port: hold the old one so the new server cannot get it again.
    hold = socket.socket()
    hold.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        hold.bind(("127.0.0.1", port1))
        s2 = start_server(pt)
    finally:
        hold.close()
    assert s2.port != port1
    pkg = ok(s2.api("package_show", id="upload-urls"))
    res2 = upload_of(pkg)
    assert res2["id"] == res["id"]
    assert urllib.parse.urlparse(res2["url"]).port == s2.port, res2["url"]
    assert urllib.parse.urlparse(res2["url"]).path == urllib.parse.urlparse(res["url"]).path
    d = download(s2, res2["url"])
    assert d.status_code == 200 and d.content == DATA
    # The other answers that carry resources agree.
    assert ok(s2.api("resource_show", id=res["id"]))["url"] == res2["url"]
    found = ok(s2.api("package_search", q="name:upload-urls"))["results"]
    assert upload_of(found[0])["url"] == res2["url"]
    # So does the dataset page (src/web reads through package_show), whose download link
    # is the upload's path on this site: it works on whatever host and port served it.
    page = s2.get("/dataset/upload-urls")
    path = urllib.parse.urlparse(res2["url"]).path
    assert page.status_code == 200 and 'download href="%s"' % path in page.text, path
    assert "http://127.0.0.1:%d/dataset/" % port1 not in page.text

    # package_show -> package_update (what ckanapi does) keeps the upload.
    tok = pt.tokens["sysadmin"]
    pkg["notes"] = "sent back unchanged"
    upd = ok(s2.api("package_update", token=tok, json_body=pkg))
    assert upload_of(upd)["url"] == res2["url"]
    assert upload_of(upd)["hash"] == "sha256:" + hashlib.sha256(DATA).hexdigest()
    assert download(s2, upload_of(ok(s2.api("package_show", id="upload-urls")))["url"]).content == DATA

    # Loading again (package_show -> package_update inside the CLI) changes nothing.
    pt.cli("load", cat)
    assert upload_of(ok(s2.api("package_show", id="upload-urls")))["url"] == res2["url"]


def test_upload_follows_site_url(clone_portal, start_server):
    pt = clone_portal()
    tok = pt.tokens["editor"]
    s1 = start_server(pt)
    ds = ok(s1.api("package_create", token=tok, name="site-url-upload", owner_org=pt.org))
    res = ok(s1.api("resource_create", token=tok, params={"package_id": ds["id"]},
                    files={"upload": ("a.csv", DATA, "text/csv")}))
    assert res["url"].startswith(s1.url + "/"), res["url"]
    s1.stop()
    s2 = start_server(pt, args=["--site-url", "https://data.example.gov.cn/"])
    shown = ok(s2.api("resource_show", id=res["id"]))
    assert shown["url"] == "https://data.example.gov.cn" + urllib.parse.urlparse(res["url"]).path
    assert shown["url_type"] == "upload"
    # The path still downloads from this server.
    d = s2.get(urllib.parse.urlparse(shown["url"]).path)
    assert d.status_code == 200 and d.content == DATA
    # A resource_update that sends the url back keeps the upload; another url makes a link.
    u = ok(s2.api("resource_update", token=tok, id=res["id"], url=shown["url"], name="Kept"))
    assert u["url_type"] == "upload" and u["url"] == shown["url"] and u["name"] == "Kept"
    u = ok(s2.api("resource_update", token=tok, id=res["id"], url="https://elsewhere.example.org/a.csv"))
    assert u["url_type"] in ("", None) and u["url"] == "https://elsewhere.example.org/a.csv"
    assert s2.get(urllib.parse.urlparse(shown["url"]).path).status_code == 404
