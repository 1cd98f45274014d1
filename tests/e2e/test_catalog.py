"""`kaifang load` of the shipped example catalog (examples/catalog): every dataset there,
with its organization, licence, tags and Chinese title; every file downloadable with the
bytes metadata.json promises; loading again changes nothing."""

import hashlib
import json
import os
import re
import urllib.parse

import pytest

from conftest import CATALOG_DIR, ok, run_cli

TAG_RE = re.compile(r"^[\w \-.]{2,100}$", re.UNICODE)  # CKAN's tag rule


def folders():
    return sorted(d for d in os.listdir(CATALOG_DIR) if os.path.isfile(os.path.join(CATALOG_DIR, d, "metadata.json")))


def meta(name):
    with open(os.path.join(CATALOG_DIR, name, "metadata.json"), encoding="utf-8") as f:
        return json.load(f)


def test_catalog_is_there():
    assert len(folders()) >= 20, "examples/catalog holds %d datasets" % len(folders())


def test_every_dataset_listed_once(catalog_server):
    lst = ok(catalog_server.api("package_list"))
    assert sorted(lst) == folders()


@pytest.mark.parametrize("name", folders() if os.path.isdir(CATALOG_DIR) else [])
def test_dataset_metadata(catalog_server, name):
    m = meta(name)
    d = ok(catalog_server.api("package_show", id=name))
    assert d["name"] == name
    assert d["title"] == m["title"]
    assert d["state"] == "active" and d["private"] is False
    # Organization from the publisher.
    org = d["organization"]
    assert org and org["name"] and org["title"], "no organization for %s" % name
    assert ok(catalog_server.api("organization_show", id=org["name"]))["id"] == org["id"]
    extras = {e["key"]: e["value"] for e in d["extras"]}
    assert extras.get("publisher") == m["publisher"], "the publisher's own words are kept"
    # Licence: an id from license_list; the source's licence text is kept.
    ids = {l["id"] for l in ok(catalog_server.api("license_list"))}
    assert d["license_id"] in ids, d["license_id"]
    assert isinstance(d["license_title"], str) and d["license_title"]
    assert extras.get("source_license") == m["license"]
    # Tags: every keyword CKAN accepts as a tag.
    tags = {t["name"] for t in d["tags"]}
    for k in m.get("keywords", []) + m.get("keywords_zh", []):
        if TAG_RE.match(k):
            assert k in tags, "%s: keyword %r is not a tag (tags: %r)" % (name, k, sorted(tags))
    assert d["num_tags"] == len(d["tags"])
    # Chinese title.
    if m.get("title_zh"):
        assert d["title_translated"]["zh_CN"] == m["title_zh"]
        assert d["title_translated"]["en"] == m["title"]
    if m.get("description_zh"):
        assert d["notes_translated"]["zh_CN"] == m["description_zh"]
    assert m["description"] in d["notes"]
    if m.get("temporal"):
        # Normalised to an ISO 8601 interval ("2009" -> "2009/2009"); asides dropped.
        assert d["temporal"] and d["temporal"].split("/")[0] == m["temporal"].split()[0].split("/")[0], \
            (d["temporal"], m["temporal"])
    if m.get("spatial"):
        assert d["spatial"] == m["spatial"]
    # Resources: one per file, named after it.
    files = [r["file"] for r in m["resources"]]
    assert sorted(r["name"] for r in d["resources"]) == sorted(files)
    assert d["num_resources"] == len(files)


def test_same_publisher_same_organization(catalog_server):
    by_pub = {}
    for name in folders():
        d = ok(catalog_server.api("package_show", id=name))
        by_pub.setdefault(meta(name)["publisher"], set()).add(d["organization"]["id"])
    for pub, orgs in by_pub.items():
        assert len(orgs) == 1, "publisher %r split over %d organizations" % (pub, len(orgs))
    # Publishers that differ only in an aside ("BLS (CES program)", "BLS (LAUS program)")
    # may share one organization; no organization is left without datasets.
    orgs = ok(catalog_server.api("organization_list"))
    used = set().union(*by_pub.values())
    assert len(orgs) == len(used) <= len(by_pub), "organizations: %r" % orgs


@pytest.mark.parametrize("name", folders() if os.path.isdir(CATALOG_DIR) else [])
def test_resources_download_with_sha256(catalog_server, name):
    m = meta(name)
    d = ok(catalog_server.api("package_show", id=name))
    by_name = {r["name"]: r for r in d["resources"]}
    for rm in m["resources"]:
        r = by_name[rm["file"]]
        assert r["url_type"] == "upload"
        assert r["size"] == rm["bytes"]
        assert r["hash"] == "sha256:" + rm["sha256"]
        path = urllib.parse.urlparse(r["url"]).path
        resp = catalog_server.get(path)
        assert resp.status_code == 200, (name, rm["file"], resp.status_code)
        assert hashlib.sha256(resp.content).hexdigest() == rm["sha256"], "%s/%s: bytes differ" % (name, rm["file"])
        assert int(resp.headers["Content-Length"]) == rm["bytes"]
        assert resp.headers.get("ETag")
        assert r["format"] == rm["file"].rsplit(".", 1)[1].upper()


@pytest.mark.parametrize("term", ["区划", "气", "美国", "机场", "碳"])
def test_chinese_search_on_real_data(catalog_server, term):
    # A Chinese term finds every dataset whose (Chinese) title, description or keywords
    # contain it.
    want = set()
    for name in folders():
        m = meta(name)
        texts = [m.get("title", ""), m.get("title_zh", ""), m.get("description", ""), m.get("description_zh", "")]
        texts += m.get("keywords", []) + m.get("keywords_zh", [])
        if any(term in t for t in texts):
            want.add(name)
    assert want, "no dataset mentions %r: pick another term" % term
    res = ok(catalog_server.api("package_search", q=term, rows=100))
    got = {r["name"] for r in res["results"]}
    assert want <= got, "q=%r misses %r" % (term, sorted(want - got))


def test_reload_does_not_duplicate(catalog_server):
    srv = catalog_server
    before = {n: ok(srv.api("package_show", id=n)) for n in folders()}
    orgs = ok(srv.api("organization_list"))
    run_cli("load", CATALOG_DIR, portal=srv.portal.path, check=0)
    assert sorted(ok(srv.api("package_list"))) == folders()
    assert ok(srv.api("organization_list")) == orgs
    for n, b in before.items():
        a = ok(srv.api("package_show", id=n))
        assert a["id"] == b["id"], "%s got a new id on re-load" % n
        assert a["num_resources"] == b["num_resources"]
        assert sorted(r["id"] for r in a["resources"]) == sorted(r["id"] for r in b["resources"]), \
            "%s: re-load replaced its resources" % n
        assert sorted(t["name"] for t in a["tags"]) == sorted(t["name"] for t in b["tags"])


def test_reload_picks_up_changes(tmp_path, kaifang_bin):
    import shutil
    from conftest import Portal, Server
    cat = tmp_path / "cat"
    shutil.copytree(os.path.join(CATALOG_DIR, "eia-iowa-electricity-generation"), cat / "eia-iowa-electricity-generation")
    p = Portal(tmp_path / "portal").init()
    p.cli("load", cat)
    mpath = cat / "eia-iowa-electricity-generation" / "metadata.json"
    m = json.loads(mpath.read_text())
    m["title"] = "Changed title"
    mpath.write_text(json.dumps(m))
    p.cli("load", cat)
    s = Server(p, name="reload")
    try:
        d = ok(s.api("package_show", id="eia-iowa-electricity-generation"))
        assert d["title"] == "Changed title"
        assert d["num_resources"] == len(m["resources"])
        assert ok(s.api("package_list")) == ["eia-iowa-electricity-generation"]
    finally:
        s.stop()
