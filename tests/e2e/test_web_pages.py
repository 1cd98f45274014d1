"""The HTML pages through the per-thread page cache (src/http/routes.c cached_page): an
anonymous page is kept per language, path and query, and a write to the catalog makes
it stale at once; a caller with a token never gets the anonymous copy."""

from conftest import make_dataset, ok


def test_page_cache_follows_writes_and_language(srv, tok):
    ds = make_dataset(srv, tok["editor"], title="Before the edit")
    path = "/dataset/" + ds["name"]
    first = srv.get(path)
    again = srv.get(path)
    assert first.status_code == again.status_code == 200
    assert first.headers["ETag"] == again.headers["ETag"]
    assert first.text == again.text and "Before the edit" in first.text
    assert again.headers["Content-Type"].startswith("text/html")
    assert "frame-ancestors 'none'" in again.headers["Content-Security-Policy"]
    assert again.headers["Vary"].endswith("Accept-Language, Cookie")
    assert srv.get(path, headers={"If-None-Match": first.headers["ETag"]}).status_code == 304
    ok(srv.api("package_patch", token=tok["editor"], id=ds["id"], title="After the edit"))
    edited = srv.get(path)
    assert "After the edit" in edited.text and "Before the edit" not in edited.text
    assert edited.headers["ETag"] != first.headers["ETag"]
    # Each language is its own entry, whichever was asked first.
    for _ in range(2):
        zh = srv.get("/", headers={"Accept-Language": "zh-CN"})
        en = srv.get("/", headers={"Accept-Language": "en"})
        assert '<html lang="zh-CN">' in zh.text and "政府开放数据" in zh.text
        assert '<html lang="en">' in en.text and "Open government data" in en.text
        assert zh.headers["ETag"] != en.headers["ETag"]
    cookie = srv.get("/", headers={"Accept-Language": "en", "Cookie": "lang=zh_CN"})
    assert "政府开放数据" in cookie.text


def test_private_dataset_only_for_its_editor(srv, tok):
    ds = make_dataset(srv, tok["editor"], title="Private page test", private=True)
    for _ in range(2):  # anonymous first, then the editor, then both again
        anon = srv.get("/dataset?q=%22Private+page+test%22")
        assert 'href="/dataset/%s"' % ds["name"] not in anon.text
        assert srv.get("/dataset/" + ds["name"]).status_code == 404
        page = srv.get("/dataset/" + ds["name"], headers={"Authorization": tok["editor"]})
        assert page.status_code == 200 and "Private page test" in page.text
        assert page.headers["Cache-Control"].startswith("private")


def test_language_switch(srv):
    r = srv.get("/lang?to=zh_CN&next=%2Fdataset%3Fq%3Dx")
    assert r.status_code == 303
    assert r.headers["Location"] == "/dataset?q=x"
    assert "lang=zh_CN" in r.headers["Set-Cookie"] and "SameSite=Lax" in r.headers["Set-Cookie"]
    for bad in ("//evil.example/", "/\\evil.example", "https://evil.example/", ""):
        r = srv.get("/lang?to=en&next=" + bad)
        assert r.status_code == 303 and r.headers["Location"] == "/", bad
    assert srv.get("/lang?to=fr&next=/").status_code == 400
