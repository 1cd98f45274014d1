"""Edges between features: deleted datasets and their files, membership changes on a
running server, resources through package_update/patch, odd Range and method requests."""

import urllib.parse

from conftest import ORG, fails, make_dataset, ok, unique


def upload(srv, token, package_id, content, filename="f.csv"):
    return ok(srv.api("resource_create", token=token, params={"package_id": package_id, "name": filename},
                      files={"upload": (filename, content, "text/csv")}))


def path_of(url):
    return urllib.parse.urlparse(url).path


def test_deleted_dataset_hides_its_files_and_resources(srv, tok):
    ds = make_dataset(srv, tok["editor"])
    res = upload(srv, tok["editor"], ds["id"], b"a,b\n1,2\n")
    assert srv.get(path_of(res["url"])).status_code == 200
    ok(srv.api("package_delete", token=tok["editor"], id=ds["id"]))
    assert srv.get(path_of(res["url"])).status_code == 404
    r = srv.api("resource_show", id=res["id"])
    assert r.status in (403, 404) and r.body["success"] is False, r
    # No new resources on a deleted dataset for those who cannot see it.
    r = srv.api("resource_create", token=tok["outsider"], package_id=ds["id"], url="https://x.org/a")
    assert r.status in (403, 404), r
    assert srv.get("/dataset/" + ds["name"]).status_code == 404


def test_private_then_public_then_private(srv, tok):
    ds = make_dataset(srv, tok["editor"], private=True, tags=[{"name": "flip-flop"}])
    res = upload(srv, tok["editor"], ds["id"], b"x\n1\n")
    assert srv.get(path_of(res["url"])).status_code == 404
    ok(srv.api("package_patch", token=tok["editor"], id=ds["id"], private=False))
    assert srv.get(path_of(res["url"])).status_code == 200
    assert ds["name"] in {r["name"] for r in ok(srv.api("package_search", q="tags:flip-flop"))["results"]}
    ok(srv.api("package_patch", token=tok["editor"], id=ds["id"], private=True))
    assert srv.get(path_of(res["url"])).status_code == 404
    assert ok(srv.api("package_search", q="tags:flip-flop"))["count"] == 0


def test_membership_change_applies_at_once(portal, srv, tok):
    o = unique("org")
    ok(srv.api("organization_create", token=tok["sysadmin"], name=o))
    ds = ok(srv.api("package_create", token=tok["sysadmin"], name=unique(), owner_org=o, private=True))
    fails(srv.api("package_show", token=tok["outsider"], id=ds["id"]), 404)
    portal.cli("member", "add", o, "outsider", "member")
    assert ok(srv.api("package_show", token=tok["outsider"], id=ds["id"]))["private"] is True
    fails(srv.api("package_patch", token=tok["outsider"], id=ds["id"], title="x"), 403)
    portal.cli("member", "add", o, "outsider", "editor")  # a change of capacity
    ok(srv.api("package_patch", token=tok["outsider"], id=ds["id"], title="x"))
    portal.cli("member", "remove", o, "outsider")
    fails(srv.api("package_show", token=tok["outsider"], id=ds["id"]), 404)


def test_package_update_with_resources(srv, tok):
    ds = make_dataset(srv, tok["editor"])
    a = ok(srv.api("resource_create", token=tok["editor"], package_id=ds["id"], url="https://x.org/a", name="a"))
    ok(srv.api("resource_create", token=tok["editor"], package_id=ds["id"], url="https://x.org/b", name="b"))
    # Update with a resources list: keeps "a" (by id, renamed), drops "b", adds "c".
    upd = ok(srv.api("package_update", token=tok["editor"], id=ds["id"], name=ds["name"], owner_org=ORG,
                     resources=[{"id": a["id"], "url": "https://x.org/a", "name": "a2"},
                                {"url": "https://x.org/c", "name": "c"}]))
    assert [r["name"] for r in upd["resources"]] == ["a2", "c"]
    assert upd["resources"][0]["id"] == a["id"]
    assert [r["position"] for r in upd["resources"]] == [0, 1]
    assert upd["num_resources"] == 2
    # package_patch without resources keeps them.
    p = ok(srv.api("package_patch", token=tok["editor"], id=ds["id"], title="patched"))
    assert [r["name"] for r in p["resources"]] == ["a2", "c"]


def test_package_create_with_resources(srv, tok):
    ds = ok(srv.api("package_create", token=tok["editor"], name=unique(), owner_org=ORG,
                    resources=[{"url": "https://x.org/1.csv", "name": "one", "format": "CSV"},
                               {"url": "https://x.org/2.json", "name": "two", "format": "JSON"}]))
    assert [r["name"] for r in ds["resources"]] == ["one", "two"]
    assert all(r["package_id"] == ds["id"] for r in ds["resources"])
    assert ok(srv.api("resource_show", id=ds["resources"][1]["id"]))["format"] == "JSON"
    fails(srv.api("package_create", token=tok["editor"], name=unique(), owner_org=ORG,
                  resources=[{"url": "https://x.org/1.csv", "name": {"bad": 1}}]), 409, field="resources")


def test_multiple_ranges_and_head(srv, tok):
    ds = make_dataset(srv, tok["editor"])
    body = b"0123456789" * 100
    res = upload(srv, tok["editor"], ds["id"], body, filename="digits.csv")
    path = path_of(res["url"])
    r = srv.get(path, headers={"Range": "bytes=0-1,5-6"})
    # Either the whole file (servers may ignore multi-range) or a multipart/byteranges 206.
    assert r.status_code in (200, 206)
    if r.status_code == 200:
        assert r.content == body
    else:
        assert r.headers["Content-Type"].startswith("multipart/byteranges")
    r = srv.get(path, headers={"Range": "bytes=0-99999"})
    assert r.status_code == 206 and r.content == body
    assert r.headers["Content-Range"] == "bytes 0-%d/%d" % (len(body) - 1, len(body))
    r = srv.request("HEAD", "/api/3/action/package_show?id=" + ds["name"])
    assert r.status_code == 200 and r.content == b""


def test_method_not_allowed_on_download(srv, tok):
    ds = make_dataset(srv, tok["editor"])
    res = upload(srv, tok["editor"], ds["id"], b"q\n")
    r = srv.request("DELETE", path_of(res["url"]))
    assert r.status_code in (404, 405), r.status_code
    assert srv.get(path_of(res["url"])).content == b"q\n"
    r = srv.request("PUT", "/api/3/action/package_create", data=b"{}")
    assert r.status_code in (400, 404, 405), r.status_code


def test_package_show_by_old_name_after_rename(srv, tok):
    old = unique()
    ds = make_dataset(srv, tok["editor"], old)
    new = unique()
    ok(srv.api("package_patch", token=tok["editor"], id=ds["id"], name=new))
    fails(srv.api("package_show", id=old), 404)
    # The old name is free again.
    ok(srv.api("package_create", token=tok["editor"], name=old, owner_org=ORG))


def test_search_sees_resource_changes(srv, tok):
    ds = make_dataset(srv, tok["editor"], tags=[{"name": "resfmt"}])
    assert ok(srv.api("package_search", q="tags:resfmt res_format:GeoJSON"))["count"] == 0
    r = ok(srv.api("resource_create", token=tok["editor"], package_id=ds["id"], url="https://x.org/m.geojson",
                   format="GeoJSON", name="map"))
    assert ok(srv.api("package_search", q="tags:resfmt res_format:GeoJSON"))["count"] == 1
    ok(srv.api("resource_delete", token=tok["editor"], id=r["id"]))
    assert ok(srv.api("package_search", q="tags:resfmt res_format:GeoJSON"))["count"] == 0
