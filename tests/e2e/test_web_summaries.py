"""The pages that list datasets (search, home, organization) read each dataset's search
summary (issue 4, fresh renders: docs/internals/web.md) instead of its whole document.
The guard: the same portal served three ways gives the same pages, byte for byte, in
English and Chinese: with the summaries dataset_write() keeps, with none (every dataset
read from its document, as before summaries existed), and with the ones the schema
migration makes from the stored documents with SQLite's JSON functions."""

import contextlib
import os
import sqlite3
import urllib.parse

from conftest import CATALOG_DIR, ORG, Portal, Server, copy_portal, make_dataset

TITLE = 'Guard <b>"bold"</b> & \'quoted\' 测试 😀'
ZH_TITLE = "守卫 <i>标题</i>"


def db_exec(portal, sql):
    with contextlib.closing(sqlite3.connect(os.path.join(portal.path, "kaifang.db"))) as db:
        with db:
            db.executescript(sql)


def db_value(portal, sql):
    with contextlib.closing(sqlite3.connect(os.path.join(portal.path, "kaifang.db"))) as db:
        return db.execute(sql).fetchone()[0]


def pages(srv, paths):
    """Each path in English and Chinese: {(lang, path): body, the server's URL taken out}."""
    out = {}
    for lang in ("en", "zh-CN"):
        for path in paths:
            r = srv.get(path, headers={"Accept-Language": lang})
            assert r.status_code == 200, (lang, path, r.status_code)
            out[(lang, path)] = r.text.replace(srv.url, "URL")
    return out


def test_list_pages_same_with_and_without_summaries(tmp_path):
    p = Portal(tmp_path / "a").init().add_users()
    p.cli("load", CATALOG_DIR)
    srv = Server(p, access_log=False)
    try:
        make_dataset(
            srv, p.tokens["editor"], name="summary-guard", title=TITLE,
            title_translated={"zh_CN": ZH_TITLE},
            resources=[{"name": "a", "url": "http://example.org/a.csv", "format": "CSV"},
                       {"name": "b", "url": "http://example.org/b", "format": "CSV"},
                       {"name": "c", "url": "http://example.org/c"},
                       {"name": "d", "url": "http://example.org/d.json", "format": "JSON"}])
        make_dataset(srv, p.tokens["editor"], name="summary-guard-bare", title="Guard bare")
        orgs = srv.api("organization_list").body["result"]
        assert ORG in orgs and len(orgs) > 2
        paths = ["/", "/dataset", "/dataset?page=2", "/dataset?q=weather",
                 "/dataset?q=" + urllib.parse.quote("美国"), "/dataset?q=guard",
                 "/dataset?q=guard&sort=title_string+asc", "/dataset?res_format=CSV",
                 "/dataset?sort=metadata_created+desc"]
        paths += ["/organization/" + o for o in orgs]
        kept = pages(srv, paths)
    finally:
        srv.stop()
    n = db_value(p, "SELECT count(*) FROM datasets")
    assert n >= 23 and db_value(p, "SELECT count(*) FROM dataset_summaries") == n

    # What the guard dataset's list item shows, from its summary.
    en = kept[("en", "/dataset?q=guard")]
    item = en[en.index('<li><a href="/dataset/summary-guard">'):]
    item = item[:item.index("</li>")]
    assert ">Guard &lt;b&gt;&quot;bold&quot;&lt;/b&gt; &amp; &#39;quoted&#39; 测试 😀</a>" in item, item
    assert "<b>" not in item and "Ministry of Data" in item
    assert item.count('<span class="format">CSV</span>') == 1
    assert item.count('<span class="format">JSON</span>') == 1
    zh = kept[("zh-CN", "/dataset?q=guard")]
    assert "守卫 &lt;i&gt;标题&lt;/i&gt;" in zh
    for key, body in kept.items():
        if key[1].startswith("/dataset"):
            assert '<ul class="datasets">\n<li>' in body, key

    # Without summaries: every dataset read from its document.
    without = Portal(tmp_path / "b")
    copy_portal(p.path, without.path)
    db_exec(without, "DELETE FROM dataset_summaries;")
    # Summaries made by the migration from the stored documents.
    migrated = Portal(tmp_path / "c")
    copy_portal(p.path, migrated.path)
    db_exec(migrated, "DROP TABLE dataset_summaries; UPDATE schema_version SET version = 13;")
    for other in (without, migrated):
        s = Server(other, access_log=False)
        try:
            got = pages(s, paths)
        finally:
            s.stop()
        for key in kept:
            assert got[key] == kept[key], "%s: %s differs" % (other.path, key)
    assert db_value(without, "SELECT count(*) FROM dataset_summaries") == 0
    assert db_value(migrated, "SELECT count(*) FROM dataset_summaries") == n
