"""
The SQLite and PostgreSQL stores answer the same searches the same way (issue 9): the
example catalog (examples/catalog) loaded into a portal on each, then package_search
asked the same queries on both, and the counts, the order of the results (relevance
included: the PostgreSQL store computes FTS5's bm25) and the facets compared. English words, phrases, columns, negation, OR, filters, each sort, and Chinese
queries of one and two characters (the catalog's titles have Chinese versions).

Runs in the PostgreSQL pass only (KAIFANG_TEST_STORE=postgresql; conftest.py leaves it
out of the SQLite pass), which has the throwaway cluster.
"""

import pytest

from conftest import CATALOG_DIR, Portal, Server, create_token, ok, pg_new_db, pg_url

QUERIES = [
    # (q, extra parameters)
    ("", {}),
    ("data", {}),
    ("county", {}),
    ("seattle", {}),
    ("population state", {}),
    ('"climate normals"', {}),
    ("title:seattle", {}),
    ("seattle OR iowa", {}),
    ("us -county", {}),
    ("income AND state", {}),
    ("codes", {"fq": "res_format:CSV"}),
    ("", {"sort": "name asc"}),
    ("", {"sort": "title desc"}),
    ("county", {"sort": "metadata_modified desc"}),
    ("", {"facet.field": '["organization", "res_format", "tags"]', "rows": 0}),
    ("us", {"facet.field": '["organization"]', "facet.limit": 3}),
    ("nosuchwordanywhere", {}),
    ("county", {"start": 2, "rows": 3}),
    ("data", {"sort": "score asc"}),
    ('title:"climate normals"', {}),
    ("seattle weather", {}),
    ("population OR income OR codes", {"start": 1, "rows": 4}),
    # Chinese: two characters (one bigram token), one character, longer runs.
    ("美国", {}),
    ("机场", {}),
    ("中国", {}),
    ("代码", {}),
    ("美", {}),
    ("年", {}),
    ("国", {"sort": "name asc"}),
    ("美国机场", {}),
    ('"行政区划"', {}),
]


def load_portal(path, store_url):
    p = Portal(path)
    if store_url:
        p.cli("init", "--store", store_url)
    else:
        p.cli("init")
    p.cli("user", "add", "sysadmin", "--sysadmin")
    p.tokens["sysadmin"] = create_token(p, "sysadmin")
    # The PostgreSQL store has no datastore tables yet: the files are uploaded, their
    # ingest fails and is reported; the catalog itself loads alike.
    p.cli("load", CATALOG_DIR, check=None)
    return p


@pytest.fixture(scope="module")
def servers(tmp_path_factory):
    root = tmp_path_factory.mktemp("parity")
    sq = Server(load_portal(root / "sqlite", None), name="parity-sqlite")
    pg = Server(load_portal(root / "pg", pg_url(pg_new_db())), name="parity-pg")
    yield sq, pg
    sq.stop()
    pg.stop()


def search(srv, q, extra):
    params = {"rows": 50}
    if q:
        params["q"] = q
    params.update(extra)
    return ok(srv.api("package_search", **params))


def test_the_catalog_loaded_alike(servers):
    sq, pg = servers
    a = ok(sq.api("package_list"))
    b = ok(pg.api("package_list"))
    assert a == b and len(a) == 21, (a, b)


@pytest.mark.parametrize("q,extra", QUERIES, ids=["%d-%s" % (i, q or "all") for i, (q, _) in enumerate(QUERIES)])
def test_same_results_in_the_same_order(servers, q, extra):
    sq, pg = servers
    a = search(sq, q, extra)
    b = search(pg, q, extra)
    names_a = [d["name"] for d in a["results"]]
    names_b = [d["name"] for d in b["results"]]
    assert a["count"] == b["count"], (q, a["count"], b["count"], names_a, names_b)
    assert names_a == names_b, (q, names_a, names_b)
    assert a.get("facets") == b.get("facets"), (q, a.get("facets"), b.get("facets"))


def test_chinese_queries_find_something(servers):
    """The Chinese queries above are not vacuous: one- and two-character queries match."""
    sq, pg = servers
    for q in ("美国", "美", "机场", "中国"):
        assert search(pg, q, {})["count"] > 0, q
