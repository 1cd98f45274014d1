"""package_search: free text, field:value, fq, negation, facets, paging, sorting,
visibility, and Chinese one- and two-character queries (CJK bigrams)."""

import time

import pytest

from conftest import ORG, fails, ok

OTHER = "other-org"

CORPUS = [
    # name, title, notes, tags, license, extra fields
    ("traffic-stats", "交通运输统计 Transport statistics", "Annual freight and passenger volumes.",
     ["transport", "统计"], "CC-BY-4.0", {}),
    ("traffic-accidents", "交通事故 Road accidents", "Accidents by province.",
     ["transport", "safety"], "CC0-1.0", {}),
    ("census-2020", "人口普查 Population census", "Population statistics by county.",
     ["population"], "CC-BY-4.0", {}),
    ("air-quality", "Air quality 空气质量", "Hourly PM2.5 readings from 40 stations.",
     ["environment"], "ODbL-1.0", {}),
    ("water-quality", "Water quality", "River monitoring stations.",
     ["environment", "water"], "CC-BY-4.0", {}),
    ("secret-budget", "Budget 预算", "Internal budget lines.", ["finance"], "CC-BY-4.0", {"private": True}),
]
PUBLIC_IN_ORG = {c[0] for c in CORPUS if not c[5].get("private")}
ALL_PUBLIC = PUBLIC_IN_ORG | {"school-places"}


@pytest.fixture(scope="module")
def corpus(srv, tok):
    s = tok["sysadmin"]
    ok(srv.api("organization_create", token=s, name=OTHER, title="Other Org"))
    made = {}
    for name, title, notes, tags, lic, extra in CORPUS:
        d = {"name": name, "title": title, "notes": notes, "owner_org": ORG, "license_id": lic,
             "tags": [{"name": t} for t in tags]}
        d.update(extra)
        made[name] = ok(srv.api("package_create", token=s, json_body=d))
    made["school-places"] = ok(srv.api("package_create", token=s, name="school-places", title="School places 学位",
                                       notes="Primary school places.", owner_org=OTHER,
                                       tags=[{"name": "education"}], license_id="CC-BY-4.0"))
    ok(srv.api("resource_create", token=s, package_id="water-quality", url="https://x.org/w.csv", format="CSV",
               name="w"))
    # metadata_modified order: census-2020, then air-quality last of all.
    time.sleep(1.1)
    ok(srv.api("package_patch", token=s, id="census-2020", version="2"))
    time.sleep(1.1)
    ok(srv.api("package_patch", token=s, id="air-quality", version="2"))
    return made


def search(srv, token=None, **params):
    return ok(srv.api("package_search", token=token, **params))


def names(res):
    return {r["name"] for r in res["results"]}


def test_result_shape(srv, corpus):
    res = search(srv, q="name:water-quality")
    for k in ("count", "results", "facets", "search_facets", "sort"):
        assert k in res, "package_search lacks %r" % k
    assert res["count"] == 1
    d = res["results"][0]
    assert d["name"] == "water-quality"
    assert d["organization"]["name"] == ORG
    assert d["num_resources"] == 1 and d["resources"][0]["format"] == "CSV"
    assert {t["name"] for t in d["tags"]} == {"environment", "water"}
    assert isinstance(res["sort"], str)


def test_everything(srv, corpus):
    res = search(srv, rows=100)
    assert names(res) == ALL_PUBLIC
    assert res["count"] == len(ALL_PUBLIC)
    assert search(srv, q="*:*", rows=100)["count"] == len(ALL_PUBLIC)
    assert search(srv, q="", rows=100)["count"] == len(ALL_PUBLIC)


@pytest.mark.parametrize("q,want", [
    ("quality", {"air-quality", "water-quality"}),
    ("QUALITY", {"air-quality", "water-quality"}),
    ("stations", {"air-quality", "water-quality"}),          # notes are searched
    ("water", {"water-quality"}),                             # tags and title
    ("statistics", {"traffic-stats", "census-2020"}),
    ("river monitoring", {"water-quality"}),                  # terms are ANDed
    ("nonexistentword", set()),
    ("交", {"traffic-stats", "traffic-accidents"}),           # one Chinese character
    ("交通", {"traffic-stats", "traffic-accidents"}),         # two characters
    ("统计", {"traffic-stats"}),
    ("人", {"census-2020"}),
    ("人口", {"census-2020"}),
    ("空气", {"air-quality"}),
    ("质量", {"air-quality"}),
    ("学位", {"school-places"}),
    ("交通 statistics", {"traffic-stats"}),                   # mixed Chinese and English
    ("交通运输统计", {"traffic-stats"}),                      # a longer phrase
    ("预算", set()),                                          # private: not without rights
])
def test_free_text(srv, corpus, q, want):
    res = search(srv, q=q, rows=100)
    assert names(res) == want, "q=%r" % q
    assert res["count"] == len(want)


@pytest.mark.parametrize("q,want", [
    ("tags:environment", {"air-quality", "water-quality"}),
    ("tags:统计", {"traffic-stats"}),
    ("name:census-2020", {"census-2020"}),
    ("organization:" + OTHER, {"school-places"}),
    ("license_id:CC0-1.0", {"traffic-accidents"}),
    ("res_format:CSV", {"water-quality"}),
    ("tags:transport tags:safety", {"traffic-accidents"}),
    ("tags:transport accidents", {"traffic-accidents"}),
])
def test_field_queries(srv, corpus, q, want):
    assert names(search(srv, q=q, rows=100)) == want, "q=%r" % q


def test_fq(srv, corpus):
    assert names(search(srv, q="quality", fq="tags:water")) == {"water-quality"}
    assert names(search(srv, fq="tags:transport", rows=100)) == {"traffic-stats", "traffic-accidents"}
    assert names(search(srv, fq="organization:" + ORG, rows=100)) == PUBLIC_IN_ORG
    assert names(search(srv, q="交通", fq="tags:safety")) == {"traffic-accidents"}


def test_negation(srv, corpus):
    assert names(search(srv, fq="-tags:environment", rows=100)) == ALL_PUBLIC - {"air-quality", "water-quality"}
    assert names(search(srv, q="quality -tags:water", rows=100)) == {"air-quality"}


def test_facets(srv, corpus):
    res = search(srv, rows=0, **{"facet.field": ["tags", "organization", "license_id"]})
    assert res["results"] == []
    assert res["count"] == len(ALL_PUBLIC)
    f = res["facets"]
    assert f["tags"]["transport"] == 2
    assert f["tags"]["environment"] == 2
    assert f["tags"]["统计"] == 1
    assert "finance" not in f["tags"], "a private dataset's tag leaked into the facets"
    assert f["organization"] == {ORG: len(PUBLIC_IN_ORG), OTHER: 1}
    assert f["license_id"]["CC-BY-4.0"] == 4
    sf = res["search_facets"]
    assert set(sf) == {"tags", "organization", "license_id"}
    assert sf["tags"]["title"] == "tags"
    items = sf["tags"]["items"]
    assert {"name": "transport", "display_name": "transport", "count": 2} in items
    for it in items:
        assert set(it) >= {"name", "display_name", "count"}
        assert f["tags"][it["name"]] == it["count"]
    org_items = {i["name"]: i for i in sf["organization"]["items"]}
    assert org_items[OTHER]["display_name"] == "Other Org", "CKAN shows an organization facet by title"


def test_facets_follow_query(srv, corpus):
    res = search(srv, q="quality", **{"facet.field": ["tags"]})
    assert res["facets"]["tags"] == {"environment": 2, "water": 1}


def test_facet_limit(srv, corpus):
    res = search(srv, rows=0, **{"facet.field": ["tags"], "facet.limit": 1})
    assert len(res["facets"]["tags"]) == 1
    assert list(res["facets"]["tags"].values()) == [2]
    assert len(res["search_facets"]["tags"]["items"]) == 1


def test_facet_field_errors(srv, corpus):
    r = srv.api("package_search", **{"facet.field": "tags"})  # not a JSON list
    assert r.status in (200, 409), r
    fails(srv.api("package_search", **{"facet.field": "[tags"}), 409)


def test_paging(srv, corpus):
    seen = []
    for start in range(0, 8, 2):
        res = search(srv, rows=2, start=start, sort="name asc")
        assert res["count"] == len(ALL_PUBLIC)
        assert len(res["results"]) == min(2, max(0, len(ALL_PUBLIC) - start))
        seen += [r["name"] for r in res["results"]]
    assert seen == sorted(ALL_PUBLIC)
    assert search(srv, rows=5, start=1000)["results"] == []


def test_rows_default_and_errors(srv, corpus):
    assert len(search(srv)["results"]) == min(10, len(ALL_PUBLIC))
    for bad in ({"rows": -1}, {"rows": "many"}, {"start": -1}, {"start": "x"}):
        fails(srv.api("package_search", **bad), 409, field=list(bad)[0])


@pytest.mark.parametrize("sort,key,reverse", [
    ("name asc", "name", False),
    ("name desc", "name", True),
    ("title asc", "title", False),
    ("title desc", "title", True),
    ("metadata_modified desc", "metadata_modified", True),
    ("metadata_modified asc", "metadata_modified", False),
    ("metadata_created asc", "metadata_created", False),
    ("metadata_created desc", "metadata_created", True),
])
def test_sort(srv, corpus, sort, key, reverse):
    res = search(srv, rows=100, sort=sort)
    vals = [r[key] for r in res["results"]]
    assert names(res) == ALL_PUBLIC
    if key == "title":
        vals = [v.lower() for v in vals]
    assert vals == sorted(vals, reverse=reverse), "%s: %r" % (sort, vals)
    assert res["sort"] == sort


def test_sort_by_modified_sees_patches(srv, corpus):
    res = search(srv, rows=2, sort="metadata_modified desc")
    assert [r["name"] for r in res["results"]] == ["air-quality", "census-2020"]


def test_sort_score(srv, corpus):
    res = search(srv, q="quality", sort="score desc, metadata_modified desc")
    assert names(res) == {"air-quality", "water-quality"}
    assert res["count"] == 2


def test_sort_errors(srv, corpus):
    for bad in ("bogus asc", "name sideways", "name asc; drop table package"):
        r = srv.api("package_search", sort=bad)
        err = fails(r, 409)
        assert "Search" in err["__type"] or "sort" in err, r


def test_query_errors_are_clean(srv, corpus):
    for q in ("title:(", "tags:", ":", "\"unterminated", "((((", "AND", "*", "nosuchfield:x"):
        r = srv.api("package_search", q=q)
        assert r.status in (200, 409), (q, r)
        assert r.body["success"] is (r.status == 200), (q, r)
    fails(srv.api("package_search", fq="nosuchfield:x"), 409)
    ok(srv.api("status_show"))


def test_include_private(srv, tok, corpus):
    assert "secret-budget" not in names(search(srv, q="预算", include_private=True))
    assert "secret-budget" not in names(search(srv, tok["outsider"], q="预算", include_private=True))
    assert "secret-budget" not in names(search(srv, tok["member"], q="预算"))
    assert names(search(srv, tok["member"], q="预算", include_private=True)) == {"secret-budget"}
    assert names(search(srv, tok["sysadmin"], q="预算", include_private=True)) == {"secret-budget"}
    res = search(srv, tok["member"], include_private=True, rows=100, **{"facet.field": ["tags"]})
    assert res["facets"]["tags"].get("finance") == 1
    res = search(srv, tok["outsider"], include_private=True, rows=100, **{"facet.field": ["tags"]})
    assert "finance" not in res["facets"]["tags"]


def test_post_search(srv, corpus):
    res = ok(srv.api("package_search", method="POST", q="交通", rows=1, sort="name asc",
                     **{"facet.field": ["tags"]}))
    assert res["count"] == 2
    assert [r["name"] for r in res["results"]] == ["traffic-accidents"]
    assert res["facets"]["tags"]["transport"] == 2


def test_search_sees_updates_and_deletes(srv, tok, corpus):
    s = tok["sysadmin"]
    ok(srv.api("package_create", token=s, name="fleeting", title="Fleeting zyxwvut", owner_org=ORG))
    assert names(search(srv, q="zyxwvut")) == {"fleeting"}
    ok(srv.api("package_patch", token=s, id="fleeting", title="Renamed qponmlk"))
    assert names(search(srv, q="zyxwvut")) == set()
    assert names(search(srv, q="qponmlk")) == {"fleeting"}
    ok(srv.api("package_delete", token=s, id="fleeting"))
    assert names(search(srv, q="qponmlk")) == set()


# Solr query syntax that CKAN clients use every day (CKAN's package_search passes q to
# Solr's edismax/lucene parser: field queries on any indexed field, OR, phrases).

def test_or_operator(srv, corpus):
    assert names(search(srv, q="tags:water OR tags:population", rows=100)) == {"water-quality", "census-2020"}
    assert names(search(srv, q="river OR accidents", rows=100)) == {"water-quality", "traffic-accidents"}


def test_title_and_notes_field_queries(srv, corpus):
    assert names(search(srv, q="title:quality", rows=100)) == {"air-quality", "water-quality"}
    assert names(search(srv, q="notes:province", rows=100)) == {"traffic-accidents"}
    assert names(search(srv, q="title:交通", rows=100)) == {"traffic-stats", "traffic-accidents"}


def test_phrase_keeps_word_order(srv, corpus):
    assert names(search(srv, q='"river monitoring"')) == {"water-quality"}
    assert names(search(srv, q='"monitoring river"')) == set()


# The grammar in docs/internals/catalog.md: OR binds the terms beside it, juxtaposition
# and AND join the rest, parentheses regroup, NOT/-/! negate, field:( ) groups.

@pytest.mark.parametrize("q,want", [
    ("river quality OR accidents", {"water-quality"}),                 # river AND (quality OR accidents)
    ("(river quality) OR accidents", {"water-quality", "traffic-accidents"}),
    ("(river OR accidents) (monitoring OR province)", {"water-quality", "traffic-accidents"}),
    ("tags:(water OR population)", {"water-quality", "census-2020"}),
    ("quality -river", {"air-quality"}),
    ("NOT (tags:transport OR tags:environment)", {"census-2020", "school-places"}),
    ("tags:safety OR -tags:transport", ALL_PUBLIC - {"traffic-stats"}),
    ('"运输统计"', {"traffic-stats"}),                                  # CJK phrase: adjacent
    ('"统计运输"', set()),
    ('title:"air quality" OR notes:"river monitoring"', {"air-quality", "water-quality"}),
    ("notes:statistics", {"census-2020"}),                             # not traffic-stats: in its title
])
def test_query_grammar(srv, corpus, q, want):
    assert names(search(srv, q=q, rows=100)) == want, "q=%r" % q


def test_fq_or(srv, corpus):
    assert names(search(srv, fq="tags:water OR tags:population", rows=100)) == {"water-quality", "census-2020"}
    assert names(search(srv, q="quality", fq_list=["tags:water || tags:population"], rows=100)) == {"water-quality"}


@pytest.mark.parametrize("q,message", [
    ("(river", "parenthesis"),
    ("river)", "parenthesis"),
    ('"river', "quote"),
    ("river OR", "missing term"),
    ("(" * 9 + "river" + ")" * 9, "nested"),
    ("(a b c d e f) OR (g h i j k l)", "terms"),
])
def test_query_syntax_errors(srv, corpus, q, message):
    fails(srv.api("package_search", q=q), 409, "Search Query Error", message=message)
    fails(srv.api("package_search", fq=q), 409, "Search Query Error", message=message)
