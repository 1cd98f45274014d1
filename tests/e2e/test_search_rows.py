"""package_search's rows limit (CKAN: ckan.search.rows_max, 1000; larger values are
clamped, not refused), on a portal of 1,005 datasets made with `kaifang load`."""

import json

import pytest

from conftest import Portal, Server, create_token, ok

N = 1005


@pytest.fixture(scope="module")
def big(tmp_path_factory, kaifang_bin):
    root = tmp_path_factory.mktemp("rows")
    cat = root / "catalog"
    for i in range(N):
        d = cat / ("gen-%04d" % i)
        d.mkdir(parents=True)
        (d / "metadata.json").write_text(json.dumps({
            "title": "Generated dataset %d" % i,
            "description": "Row-limit test dataset number %d." % i,
            "publisher": "Test Publisher",
            "license": "CC BY 4.0",
            "keywords": ["generated", "bucket-%d" % (i % 3)],
        }))
    p = Portal(root / "portal").init()
    p.cli("load", cat)
    s = Server(p, name="rows")
    yield s
    s.stop()


def test_count(big):
    assert ok(big.api("package_search", rows=0))["count"] == N
    assert len(ok(big.api("package_list"))) == N


@pytest.mark.parametrize("rows,want", [(1000, 1000), (1001, 1000), (5000, 1000), (999, 999), (0, 0)])
def test_rows_clamped(big, rows, want):
    res = ok(big.api("package_search", rows=rows, sort="name asc"))
    assert res["count"] == N
    assert len(res["results"]) == want
    if want:
        assert res["results"][0]["name"] == "gen-0000"


def test_last_page(big):
    res = ok(big.api("package_search", rows=1000, start=1000, sort="name asc"))
    assert [r["name"] for r in res["results"]] == ["gen-%04d" % i for i in range(1000, N)]


def test_facet_counts_at_scale(big):
    res = ok(big.api("package_search", rows=0, q="generated", **{"facet.field": ["tags"], "facet.limit": -1}))
    assert res["facets"]["tags"]["generated"] == N
    assert res["facets"]["tags"]["bucket-0"] == 335
    assert res["facets"]["tags"]["bucket-2"] == 335


def test_package_list_paging(big):
    first = ok(big.api("package_list", limit=1000))
    assert len(first) == 1000
    rest = ok(big.api("package_list", limit=1000, offset=1000))
    assert first + rest == ["gen-%04d" % i for i in range(N)]
