"""
The DataStore API over HTTP against the real `kaifang serve` (CKAN 2.10's datastore_create,
datastore_upsert, datastore_delete, datastore_info, datastore_search, datastore_search_sql):
CKAN's shapes, every search parameter, the records formats, _links paging, errors naming
the field, private datasets, write permissions, upsert/insert/update, deletes, SQL with
joins and the injection corpus (tests/data/datastore/sql-injection.txt), SQL metacharacters
in every parameter, the limits, and the ledger entries of the writes.
"""

import json
import os
import time
import urllib.parse

import pytest

from conftest import DATA_DIR, ORG, STORE, fails, make_dataset, ok, unique

POLL_TIMEOUT = 20.0  # seconds for the ledger's sequencer (an ASan build on a busy machine)

FIELDS = [
    {"id": "name", "type": "text", "info": {"label": "Name", "notes": "the place"}},
    {"id": "amount", "type": "numeric"},
    {"id": "n", "type": "int"},
    {"id": "when", "type": "date"},
    {"id": "ok", "type": "bool"},
    {"id": "j", "type": "json"},
]
RECORDS = [
    {"name": "Alpha river", "amount": "315.70", "n": 1, "when": "2020/1/2", "ok": True, "j": {"a": [1, 2]}},
    {"name": "Beta lake", "amount": ".097", "n": 2, "when": "2021-03-04", "ok": "false", "j": None},
    {"name": "Gamma river, north", "amount": "12345678901234567890.123", "n": 3, "when": None,
     "ok": None, "j": "{\"b\": 1.50}"},
]


def create_table(srv, token, dataset, fields=FIELDS, records=RECORDS, **kw):
    """datastore_create with a new resource of dataset; returns the result."""
    params = {"resource": {"package_id": dataset, "name": unique("table")}, "fields": fields,
              "records": records}
    params.update(kw)
    return ok(srv.api("datastore_create", token=token, json_body=params))


def search(srv, token=None, method="GET", **params):
    return srv.api("datastore_search", token=token, method=method, **params)


def raw_records(resp):
    """The records' bytes of an answer, as sent (numbers in their text)."""
    raw = resp.raw.decode("utf-8")
    start = raw.index('"records":') + len('"records":')
    end = raw.index(',"fields":', start)
    return raw[start:end]


@pytest.fixture(scope="module")
def tok(portal):
    return portal.tokens


@pytest.fixture(scope="module")
def table(srv, tok):
    """A public dataset with the standard table; its resource id."""
    ds = make_dataset(srv, tok["editor"])
    r = create_table(srv, tok["editor"], ds["id"], primary_key="n")
    return r["resource_id"]


# -- datastore_create and datastore_search ------------------------------------------------


def test_create_shape(srv, tok):
    ds = make_dataset(srv, tok["editor"])
    r = create_table(srv, tok["editor"], ds["id"], primary_key=["n"])
    assert set(r) == {"resource_id", "fields", "primary_key", "method"}, r
    assert r["method"] == "insert" and r["primary_key"] == ["n"]
    assert [(f["id"], f["type"]) for f in r["fields"]] == [
        ("name", "text"), ("amount", "numeric"), ("n", "int8"), ("when", "date"), ("ok", "bool"),
        ("j", "json")]
    assert r["fields"][0]["info"] == {"label": "Name", "notes": "the place"}
    res = ok(srv.api("resource_show", id=r["resource_id"]))
    assert res["datastore_active"] is True and res["package_id"] == ds["id"]
    # GET is refused for writes, as CKAN refuses side effects without POST.
    fails(srv.api("datastore_create", method="GET", token=tok["editor"], resource_id=r["resource_id"]),
          400)


def test_table_only_resource_url(srv, tok):
    """A resource made by datastore_create has no file: CKAN shows url_type "datastore" and
    its dump as its url; sending the dict back keeps it so; the exports link the dump."""
    ds = make_dataset(srv, tok["editor"])
    rid = create_table(srv, tok["editor"], ds["id"])["resource_id"]
    res = ok(srv.api("resource_show", id=rid))
    dump = srv.url + "/datastore/dump/" + rid
    assert res["url_type"] == "datastore" and res["url"] == dump, res
    body = srv.session.get(res["url"]).text
    assert body.splitlines()[0].startswith("_id,name,amount") and "Alpha river" in body
    pkg = ok(srv.api("package_show", id=ds["id"]))
    assert [r["url"] for r in pkg["resources"]] == [dump]
    # package_search answers from the stored texts: the same url there.
    found = ok(srv.api("package_search", q="name:" + ds["name"]))["results"]
    assert found and found[0]["resources"][0]["url"] == dump
    # resource_update with the dict as shown (ckanapi's way) keeps a table only.
    upd = dict(res, description="edited")
    ok(srv.api("resource_update", token=tok["editor"], json_body=upd))
    res2 = ok(srv.api("resource_show", id=rid))
    assert res2["url_type"] == "datastore" and res2["url"] == dump and res2["description"] == "edited"
    # The exports: data.json's distribution downloads the CSV dump; the data package lists it.
    dj = srv.session.get(srv.url + "/data.json").json()
    dists = [d for e in dj["dataset"] for d in e.get("distribution", [])
             if d.get("downloadURL") == dump]
    assert dists and dists[0]["mediaType"] == "text/csv", dists
    dp = srv.session.get(srv.url + "/dataset/%s/datapackage.json" % ds["name"]).json()
    assert [r["path"] for r in dp["resources"]] == [dump]
    assert dp["resources"][0]["schema"]["fields"][0]["name"] == "name"


def test_create_with_resource_is_all_or_nothing(srv, tok):
    """A datastore_create that makes a resource and then fails leaves no resource."""
    ds = make_dataset(srv, tok["editor"])
    for body in ({"fields": [{"id": "a", "type": "int"}], "records": [{"a": "notint"}]},
                 {"fields": [{"id": "A"}, {"id": "a"}]},
                 {"fields": [{"id": "a", "type": "int"}], "records": [{"a": 1}, {"a": 1}],
                  "primary_key": "a"}):
        params = dict(body, resource={"package_id": ds["id"], "name": unique("orphan")})
        fails(srv.api("datastore_create", token=tok["editor"], json_body=params), 409)
        pkg = ok(srv.api("package_show", id=ds["id"], token=tok["editor"]))
        assert pkg["resources"] == [], (body, [x["name"] for x in pkg["resources"]])
    e = fails(srv.api("datastore_create", token=tok["editor"],
                      json_body={"resource": {"package_id": ds["id"]},
                                 "fields": [{"id": "A"}, {"id": "a"}]}), 409, field="fields")
    assert 'field ids "A" and "a" differ only in case' in e["message"], e
    # What can be checked before the resource is made is: the dataset is not touched at
    # all (no resource made and removed again, which moves metadata_modified and writes two
    # ledger entries).
    before = ok(srv.api("package_show", id=ds["id"], token=tok["editor"]))["metadata_modified"]
    for body in ({"fields": [{"id": "a", "type": "int"}], "records": [{"a": "notint"}]},
                 {"fields": [{"id": "A"}, {"id": "a"}]},
                 {"records": [{"a": 1, "A": 2}]},
                 {"fields": [{"id": "a"}], "primary_key": "b"},
                 {"fields": [{"id": "a"}], "records": [{"b": 1}], "indexes": "c"}):
        params = dict(body, resource={"package_id": ds["id"], "name": unique("orphan")})
        fails(srv.api("datastore_create", token=tok["editor"], json_body=params), 409)
        pkg = ok(srv.api("package_show", id=ds["id"], token=tok["editor"]))
        assert pkg["resources"] == [] and pkg["metadata_modified"] == before, body
    # And one that succeeds keeps its resource.
    create_table(srv, tok["editor"], ds["id"])
    assert len(ok(srv.api("package_show", id=ds["id"]))["resources"]) == 1


def test_search_default_shape(srv, table):
    resp = search(srv, resource_id=table)
    res = ok(resp)
    assert list(res) == ["include_total", "limit", "records_format", "resource_id",
                         "total_estimation_threshold", "records", "fields", "_links", "total",
                         "total_was_estimated"], list(res)
    assert res["include_total"] is True and res["limit"] == 100 and res["records_format"] == "objects"
    assert res["total"] == 3 and res["total_was_estimated"] is False
    assert res["total_estimation_threshold"] is None
    assert res["fields"][0] == {"id": "_id", "type": "int"}
    assert res["fields"][1] == {"id": "name", "type": "text",
                                "info": {"label": "Name", "notes": "the place"}}
    assert res["_links"] == {
        "start": "/api/3/action/datastore_search?resource_id=" + table,
        "next": "/api/3/action/datastore_search?resource_id=%s&offset=100" % table}
    # The text that came in is the text that goes out: numerics are JSON numbers written
    # from their stored text, never through a double.
    assert raw_records(resp) == (
        '[{"_id":1,"name":"Alpha river","amount":315.70,"n":1,"when":"2020-01-02","ok":true,'
        '"j":{"a":[1,2]}},{"_id":2,"name":"Beta lake","amount":0.097,"n":2,"when":"2021-03-04",'
        '"ok":false,"j":null},{"_id":3,"name":"Gamma river, north","amount":'
        '12345678901234567890.123,"n":3,"when":null,"ok":null,"j":{"b": 1.50}}]')
    assert res["records"][2]["j"] == {"b": 1.5}


def test_search_every_parameter(srv, table):
    params = {"resource_id": table, "q": "river", "filters": {"ok": [True, None]},
              "fields": "n, name", "sort": "n desc", "limit": 1, "offset": 0, "distinct": False,
              "include_total": True, "plain": True, "language": "english",
              "total_estimation_threshold": 1000, "records_format": "objects"}
    for method in ("GET", "POST"):
        res = ok(search(srv, method=method, **params))
        assert res["records"] == [{"n": 1, "name": "Alpha river"}], (method, res)
        assert res["total"] == 1
        assert [f["id"] for f in res["fields"]] == ["n", "name"]
        assert res["q"] == "river" and res["filters"] == {"ok": [True, None]}
        assert res["sort"] == "n desc" and res["offset"] == 0 and res["limit"] == 1
        assert res["distinct"] is False and res["plain"] is True and res["language"] == "english"
        assert res["total_estimation_threshold"] == 1000
    # q per field, and the id parameter instead of resource_id.
    res = ok(search(srv, id=table, q={"name": "lake"}, fields=["n"]))
    assert res["records"] == [{"n": 2}]
    # A field name with a comma, quoted in sort; distinct rows.
    res = ok(search(srv, resource_id=table, fields="ok", distinct=True, sort='"ok" desc'))
    assert [r["ok"] for r in res["records"]] == [None, True, False]
    # limit above the maximum is capped (CKAN: ckan.datastore.search.rows_max), 0 gives the
    # total alone; include_total false gives none.
    assert ok(search(srv, resource_id=table, limit=100000))["limit"] == 32000
    res = ok(search(srv, resource_id=table, limit=0))
    assert res["records"] == [] and res["total"] == 3
    res = ok(search(srv, resource_id=table, include_total=False))
    assert "total" not in res and "total_was_estimated" not in res


def test_records_formats(srv, table):
    resp = search(srv, resource_id=table, records_format="lists", sort="n desc", limit=2)
    res = ok(resp)
    assert res["records_format"] == "lists"
    assert raw_records(resp) == (
        '[[3,"Gamma river, north",12345678901234567890.123,3,null,null,{"b": 1.50}],'
        '[2,"Beta lake",0.097,2,"2021-03-04",false,null]]')
    res = ok(search(srv, resource_id=table, records_format="csv"))
    assert res["records"] == (
        '1,Alpha river,315.70,1,2020-01-02,true,"{""a"":[1,2]}"\n'
        '2,Beta lake,.097,2,2021-03-04,false,\n'
        '3,"Gamma river, north",12345678901234567890.123,3,,,"{""b"": 1.50}"\n')
    res = ok(search(srv, resource_id=table, records_format="tsv", fields="name,n"))
    assert res["records"] == "Alpha river\t1\nBeta lake\t2\nGamma river, north\t3\n"
    assert [f["id"] for f in res["fields"]] == ["name", "n"]


def test_links_page_through(srv, tok):
    ds = make_dataset(srv, tok["editor"])
    recs = [{"k": i, "v": "row %d" % i} for i in range(1, 26)]
    rid = create_table(srv, tok["editor"], ds["id"], fields=[{"id": "k", "type": "int"}],
                       records=recs)["resource_id"]
    seen = []
    res = ok(search(srv, resource_id=rid, limit=7, sort="k"))
    pages = 0
    while res["records"]:
        seen += [r["k"] for r in res["records"]]
        pages += 1
        assert pages < 10
        nxt = res["_links"]["next"]
        assert nxt.startswith("/api/3/action/datastore_search?")
        res = ok(_get_json(srv, nxt))
    assert seen == list(range(1, 26)) and pages == 4
    start = res["_links"]["start"]
    assert "offset" not in urllib.parse.parse_qs(urllib.parse.urlsplit(start).query)
    # A POST's links carry its parameters too, so that GET follows them.
    res = ok(search(srv, method="POST", resource_id=rid, limit=10, filters={"k": [1, 2, 30]}))
    q = urllib.parse.parse_qs(urllib.parse.urlsplit(res["_links"]["next"]).query)
    assert q == {"resource_id": [rid], "limit": ["10"], "filters": ['{"k":[1,2,30]}'],
                 "offset": ["10"]}


class _Resp:
    def __init__(self, r):
        self.status = r.status_code
        self.raw = r.content
        self.body = r.json()


def _get_json(srv, path):
    return _Resp(srv.get(path))


def test_search_errors_name_the_field(srv, table):
    fails(search(srv, resource_id=table, sort="nope desc"), 409, field="sort",
          message='field "nope" not in table')
    fails(search(srv, resource_id=table, sort="sum(n)"), 409, field="sort")
    fails(search(srv, resource_id=table, filters={"n": "one"}), 409, field="filters",
          message='field "n"')
    fails(search(srv, resource_id=table, filters="{not json"), 409, field="filters")
    fails(search(srv, resource_id=table, fields="name,secret"), 409, field="fields",
          message='"secret"')
    fails(search(srv, resource_id=table, q={"n": "1"}), 409, field="q")
    fails(search(srv, resource_id=table, limit=-1), 409, field="limit")
    fails(search(srv, resource_id=table, records_format="xml"), 409, field="records_format")
    fails(search(srv, resource_id=table, colour="red"), 409, field="colour")
    fails(search(srv), 409, field="resource_id")
    fails(search(srv, resource_id="00000000-0000-4000-8000-000000000000"), 404)


# -- permissions ---------------------------------------------------------------------------


def test_private_dataset_is_invisible(srv, tok):
    ds = make_dataset(srv, tok["editor"], private=True)
    rid = create_table(srv, tok["editor"], ds["id"], fields=[{"id": "secret", "type": "text"}],
                       records=[{"secret": "s3"}])["resource_id"]
    for token in (None, tok["outsider"]):
        fails(search(srv, token=token, resource_id=rid), 404)
        fails(srv.api("datastore_info", token=token, id=rid), 404)
        fails(srv.api("datastore_upsert", token=token, resource_id=rid, records=[{"secret": "x"}]), 404)
        fails(srv.api("datastore_delete", token=token, resource_id=rid), 404)
    for token in (tok["member"], tok["editor"], tok["orgadmin"], tok["sysadmin"]):
        assert ok(search(srv, token=token, resource_id=rid))["records"][0]["secret"] == "s3"
    sql = 'SELECT * FROM "%s"' % rid
    absent = 'SELECT * FROM "%s"' % "00000000-0000-4000-8000-00000000abcd"
    e1 = fails(srv.api("datastore_search_sql", sql=sql), 409, field="sql")
    e2 = fails(srv.api("datastore_search_sql", sql=absent), 409, field="sql")
    assert e1["message"].replace(rid, "ID") == e2["message"].replace(
        "00000000-0000-4000-8000-00000000abcd", "ID"), (e1, e2)
    assert ok(srv.api("datastore_search_sql", token=tok["member"], sql=sql))["records"][0]["secret"] == "s3"


def test_write_permissions(srv, tok, table):
    for token in (None, tok["outsider"], tok["member"]):
        fails(srv.api("datastore_upsert", token=token, resource_id=table, params={"method": "insert"},
                      records=[{"n": 99}]), 403)
        fails(srv.api("datastore_delete", token=token, resource_id=table, filters={"n": 1}), 403)
        fails(srv.api("datastore_create", token=token, resource_id=table, records=[{"n": 98}]), 403)
    ds = make_dataset(srv, tok["editor"])
    fails(srv.api("datastore_create", token=tok["outsider"],
                  json_body={"resource": {"package_id": ds["id"]}, "records": [{"a": 1}]}), 403)
    fails(srv.api("datastore_create", json_body={"resource": {"package_id": ds["id"]}}), 403)
    assert ok(search(srv, resource_id=table))["total"] == 3


# -- upsert, delete, info ------------------------------------------------------------------


def test_upsert_insert_update(srv, tok):
    ds = make_dataset(srv, tok["editor"])
    rid = create_table(srv, tok["editor"], ds["id"], primary_key="n")["resource_id"]
    ed = tok["editor"]
    r = ok(srv.api("datastore_upsert", token=ed, resource_id=rid,
                   records=[{"n": 2, "amount": "1.10"}, {"n": 4, "amount": 2}]))
    assert r == {"resource_id": rid, "method": "upsert"}
    resp = search(srv, resource_id=rid, filters={"n": [2, 4]}, sort="n", fields="n,name,amount")
    assert raw_records(resp) == '[{"n":2,"name":"Beta lake","amount":1.10},{"n":4,"name":null,"amount":2}]'
    # update: a key no record has is CKAN's 409 naming "key"; nothing changes.
    fails(srv.api("datastore_upsert", token=ed, resource_id=rid, params={"method": "update"},
                  records=[{"n": 1, "name": "x"}, {"n": 77, "name": "y"}]), 409, field="key")
    assert ok(search(srv, resource_id=rid, filters={"n": 1}))["records"][0]["name"] == "Alpha river"
    ok(srv.api("datastore_upsert", token=ed, resource_id=rid, params={"method": "update"},
               records=[{"n": 1, "name": "Alpha"}]))
    rec = ok(search(srv, resource_id=rid, filters={"n": 1}))["records"][0]
    assert rec["name"] == "Alpha" and rec["when"] == "2020-01-02"
    # insert: a duplicate key is refused (409), new keys go in.
    fails(srv.api("datastore_upsert", token=ed, resource_id=rid, params={"method": "insert"},
                  records=[{"n": 3}]), 409, field="records", message="duplicate")
    r = ok(srv.api("datastore_upsert", token=ed, resource_id=rid, params={"method": "insert"},
                   records=[{"n": 5, "name": "Epsilon"}], include_records=True))
    assert r["records"] == [{"n": 5, "name": "Epsilon"}]
    assert ok(search(srv, resource_id=rid))["total"] == 5
    fails(srv.api("datastore_upsert", token=ed, resource_id=rid, records=[{"n": 6, "colour": "red"}]),
          409, field="records", message='"colour"')
    fails(srv.api("datastore_upsert", token=ed, resource_id=rid, records=[{"n": 6, "when": "soon"}]),
          409, field="records", message='field "when"')
    fails(srv.api("datastore_upsert", token=ed, resource_id=rid, params={"method": "merge"}, records=[]), 409,
          field="method")


def test_delete_with_and_without_filters(srv, tok):
    ds = make_dataset(srv, tok["editor"])
    rid = create_table(srv, tok["editor"], ds["id"])["resource_id"]
    r = ok(srv.api("datastore_delete", token=tok["editor"], resource_id=rid,
                   filters={"name": "Beta lake"}))
    assert r == {"resource_id": rid, "filters": {"name": "Beta lake"}}
    assert [x["n"] for x in ok(search(srv, resource_id=rid))["records"]] == [1, 3]
    fails(srv.api("datastore_delete", token=tok["editor"], resource_id=rid, filters={"nope": 1}),
          409, field="filters")
    ok(srv.api("datastore_delete", token=tok["editor"], resource_id=rid))
    fails(search(srv, resource_id=rid), 404)
    assert ok(srv.api("resource_show", id=rid))["datastore_active"] is False
    fails(srv.api("datastore_delete", token=tok["editor"], resource_id=rid), 404)


def test_info(srv, table):
    res = ok(srv.api("datastore_info", id=table))
    assert res["meta"]["count"] == 3 and res["meta"]["id"] == table
    assert res["meta"]["table_type"] == "BASE TABLE"
    ids = [f["id"] for f in res["fields"]]
    assert ids == ["name", "amount", "n", "when", "ok", "j"]  # _id is not listed
    name = res["fields"][0]
    assert name["type"] == "text" and name["info"] == {"label": "Name", "notes": "the place"}
    assert name["schema"]["native_type"] == "text"
    n = res["fields"][2]
    assert n["schema"]["uniquekey"] is True and n["schema"]["is_index"] is True
    assert res["primary_key"] == ["n"]
    assert ok(srv.api("datastore_info", resource_id=table))["fields"] == res["fields"]


def test_create_adds_fields_and_retypes(srv, tok):
    ds = make_dataset(srv, tok["editor"])
    ed = tok["editor"]
    rid = create_table(srv, ed, ds["id"], fields=[], records=[{"code": "007", "n": "12"},
                                                             {"code": "010", "n": 3}])["resource_id"]
    types = {f["id"]: f["type"] for f in ok(srv.api("datastore_info", id=rid))["fields"]}
    assert types == {"code": "text", "n": "int8"}
    ok(srv.api("datastore_create", token=ed, resource_id=rid, records=[{"code": "011", "price": 1.5}]))
    res = ok(search(srv, resource_id=rid, sort="code"))
    assert [(r["code"], r["n"], r["price"]) for r in res["records"]] == [
        ("007", 12, None), ("010", 3, None), ("011", None, 1.5)]
    fails(srv.api("datastore_create", token=ed, resource_id=rid,
                  fields=[{"id": "code", "type": "date"}]), 409, field="fields", message="_id 1")
    ok(srv.api("datastore_create", token=ed, resource_id=rid,
               fields=[{"id": "n", "type": "numeric", "info": {"label": "N"}}]))
    info = ok(srv.api("datastore_info", id=rid))
    assert {f["id"]: f["type"] for f in info["fields"]}["n"] == "numeric"
    assert ok(search(srv, resource_id=rid, sort="code"))["records"][0]["n"] == 12


# -- datastore_search_sql -------------------------------------------------------------------


def test_sql_join(srv, tok, table):
    ds = make_dataset(srv, tok["editor"])
    other = create_table(srv, tok["editor"], ds["id"], fields=[{"id": "n", "type": "int"}],
                         records=[{"n": 1, "label": "one"}, {"n": 3, "label": "three"}])["resource_id"]
    sql = ('SELECT a.name, b.label, a.amount FROM "%s" a JOIN "%s" b ON a.n = b.n ORDER BY a.n'
           % (table, other))
    resp = srv.api("datastore_search_sql", sql=sql)
    res = ok(resp)
    assert res["sql"] == sql and "records_truncated" not in res
    assert res["fields"] == [{"id": "name", "type": "text"}, {"id": "label", "type": "text"},
                             {"id": "amount", "type": "numeric"}]
    raw = resp.raw.decode("utf-8")
    assert ('"records":[{"name":"Alpha river","label":"one","amount":315.70},{"name":"Gamma river, '
            'north","label":"three","amount":12345678901234567890.123}]') in raw
    fails(srv.api("datastore_search_sql"), 409, field="sql")
    fails(srv.api("datastore_search_sql", sql="x" * (64 * 1024 + 1), method="POST"), 409, field="sql")


def _portal_files(path):
    """The portal's files (names), with the modification time of each datastore table:
    the catalog database itself moves with the ledger's sequencer, so only its name."""
    out = {}
    for root, dirs, files in os.walk(path):
        dirs[:] = [d for d in dirs if d != "tmp"]
        for f in files:
            if f.endswith(("-wal", "-shm", "-journal")):
                continue
            p = os.path.join(root, f)
            rel = os.path.relpath(p, path)
            out[rel] = os.stat(p).st_mtime_ns if rel.startswith("datastore" + os.sep) else None
    return out


def test_sql_injection_corpus(srv, tok, portal):
    ed = tok["editor"]
    ds = make_dataset(srv, ed)
    fields = [{"id": "name", "type": "text"}, {"id": "amount", "type": "numeric"},
              {"id": "n", "type": "int"}]
    recs = [{"name": "row %d" % i, "amount": "%d.5" % i, "n": i} for i in range(9)]
    a = create_table(srv, ed, ds["id"], fields=fields, records=recs)["resource_id"]
    b = create_table(srv, ed, ds["id"], fields=fields, records=recs[:3])["resource_id"]
    pds = make_dataset(srv, ed, private=True)
    p = create_table(srv, ed, pds["id"], fields=fields, records=recs[:2])["resource_id"]
    before_show = ok(srv.api("package_show", token=ed, id=ds["id"]))
    before_files = _portal_files(portal.path)
    before = {rid: ok(search(srv, token=ed, resource_id=rid))["records"] for rid in (a, b, p)}
    with open(os.path.join(DATA_DIR, "datastore", "sql-injection.txt"), encoding="utf-8") as f:
        lines = [l.rstrip("\n") for l in f if l.strip() and not l.startswith("#")]
    assert len(lines) > 100
    outcomes = {}
    wrong = []
    for line in lines:
        outcome, sql = line.split("\t", 1)
        if "|" in outcome:
            # SQLITE|POSTGRESQL where the dialects differ: only what SQLite runs may be
            # refused by PostgreSQL, never the other way round.
            lite, pg = outcome.split("|")
            assert lite == "ok" and pg == "refused", line
            outcome = pg if STORE == "postgresql" else lite
        sql = (sql.replace("{A}", a).replace("{B}", b).replace("{P}", p)
               .replace("{HEXA}", a.replace("-", "")))
        resp = srv.api("datastore_search_sql", method="POST", sql=sql)
        outcomes[outcome] = outcomes.get(outcome, 0) + 1
        try:
            if outcome in ("refused", "timeout", "denied"):
                # denied: a resource the caller may not see reads as one without a table,
                # so that a private resource's existence does not leak (409 naming "sql").
                err = fails(resp, 409, field="sql")
                if outcome == "timeout":
                    assert "took longer" in err["message"], (sql, err)
            elif outcome == "capped":
                assert (ok(resp)["records_truncated"] is True
                        and len(resp.body["result"]["records"]) == 32000)
            else:
                assert outcome == "ok", line
                ok(resp)
            assert "Traceback" not in resp.raw.decode("utf-8", "replace")
        except AssertionError as e:
            # Every line is tried; the failures are listed together.
            wrong.append("%s\t%s: %s" % (outcome, sql[:120], str(e).splitlines()[0][:300]))
    assert not wrong, "\n".join(wrong)
    assert set(outcomes) == {"refused", "timeout", "capped", "denied", "ok"}
    # Nothing changed: the tables, the catalog, the files.
    for rid in (a, b, p):
        assert ok(search(srv, token=ed, resource_id=rid))["records"] == before[rid]
    after_show = ok(srv.api("package_show", token=ed, id=ds["id"]))
    assert after_show == before_show
    assert _portal_files(portal.path) == before_files
    for path in ("/tmp/kf-attach.db", "/tmp/kf-vacuum.db", "/tmp/kf-evil"):
        assert not os.path.exists(path), path


def test_injection_through_parameters(srv, tok):
    ds = make_dataset(srv, tok["editor"])
    rid = create_table(srv, tok["editor"], ds["id"], primary_key="n")["resource_id"]
    evil = "x'); DROP TABLE t; --"
    ok(srv.api("datastore_upsert", token=tok["editor"], resource_id=rid, records=[{"n": 10, "name": evil}]))
    assert ok(search(srv, resource_id=rid, filters={"name": evil}))["total"] == 1
    assert ok(search(srv, resource_id=rid, filters={"name": "' OR '1'='1"}))["total"] == 0
    assert ok(search(srv, resource_id=rid, q='" OR 1=1 --'))["total"] == 0
    assert ok(search(srv, resource_id=rid, q={"name": "'; DELETE FROM x; --"}))["total"] == 0
    fails(search(srv, resource_id=rid, sort="n; DELETE FROM t"), 409, field="sort")
    fails(search(srv, resource_id=rid, sort='n" desc, (SELECT 1) --'), 409, field="sort")
    fails(search(srv, resource_id=rid, fields="n, (SELECT sql FROM sqlite_master)"), 409, field="fields")
    fails(search(srv, resource_id=rid, filters={"n) OR (1": 1}), 409, field="filters")
    fails(search(srv, resource_id=rid, filters={"n": "1 OR 1=1"}), 409, field="filters")
    fails(srv.api("datastore_delete", token=tok["editor"], resource_id=rid,
                  filters={"name\" OR 1=1 --": "x"}), 409, field="filters")
    assert ok(search(srv, resource_id=rid))["total"] == 4


# -- limits ----------------------------------------------------------------------------------


def test_limits(srv, tok, table):
    ed = tok["editor"]
    # LIMIT_DATASTORE_RECORDS (100000) records per call: {} each keeps the body small.
    body = '{"resource_id": "%s", "method": "insert", "records": [%s]}' % (table, ",".join(["{}"] * 100001))
    fails(srv.api("datastore_upsert", token=ed, data=body.encode(),
                  headers={"Content-Type": "application/json"}), 409, field="records",
          message="too many records")
    # LIMIT_DATASTORE_FILTER_VALUES (1000) values of one filter.
    assert ok(search(srv, method="POST", resource_id=table, filters={"n": list(range(1000))}))["total"] == 3
    fails(search(srv, method="POST", resource_id=table, filters={"n": list(range(1001))}), 409,
          field="filters")
    # LIMIT_DATASTORE_FIELDS (1000) fields.
    ds = make_dataset(srv, ed)
    many = [{"id": "c%d" % i, "type": "text"} for i in range(1001)]
    fails(srv.api("datastore_create", token=ed,
                  json_body={"resource": {"package_id": ds["id"]}, "fields": many}), 409, field="fields")
    r = ok(srv.api("datastore_create", token=ed,
                   json_body={"resource": {"package_id": ds["id"]}, "fields": many[:1000]}))
    assert len(r["fields"]) == 1000
    # LIMIT_DATASTORE_SQL (64 KiB) of sql.
    sql = "SELECT 1" + " " * (64 * 1024 - 8)
    ok(srv.api("datastore_search_sql", method="POST", sql=sql))
    fails(srv.api("datastore_search_sql", method="POST", sql=sql + " "), 409, field="sql")
    assert ok(search(srv, resource_id=table))["total"] == 3


# -- the ledger ------------------------------------------------------------------------------


def _checkpoint_size(srv):
    r = srv.get("/ledger/checkpoint")
    assert r.status_code == 200
    return int(r.content.decode("utf-8").split("\n")[1])


def _entries_since(srv, start, want):
    deadline = time.monotonic() + POLL_TIMEOUT
    size = _checkpoint_size(srv)
    while size < start + want and time.monotonic() < deadline:
        time.sleep(0.05)
        size = _checkpoint_size(srv)
    time.sleep(0.5)
    size = _checkpoint_size(srv)
    got = []
    while start < size:
        r = srv.get("/api/ledger/entries?start=%d&end=%d" % (start, size))
        assert r.status_code == 200
        for e in r.json():
            got.append(json.loads(e["entry"]))
            start += 1
    return got, size


def test_ledger_entries(srv, tok):
    ed = tok["editor"]
    ds = make_dataset(srv, ed)
    pds = make_dataset(srv, ed, private=True)
    size = _checkpoint_size(srv)
    _, size = _entries_since(srv, size, 0)
    rid = create_table(srv, ed, ds["id"], primary_key="n")["resource_id"]
    got, size = _entries_since(srv, size, 2)
    # The resource made by datastore_create, then the table.
    assert [e["type"] for e in got] == ["resource_create", "datastore_create"], got
    e = got[1]
    assert e["actor"] == "editor" and e["org"] == ORG
    assert e["objects"] == {"dataset": ds["id"], "name": ds["name"], "resource": rid}
    assert e["digest"].startswith("sha256:")
    ok(srv.api("datastore_upsert", token=ed, resource_id=rid, records=[{"n": 9, "name": "Alpha"}]))
    ok(srv.api("datastore_delete", token=ed, resource_id=rid, filters={"n": 9}))
    ok(srv.api("datastore_delete", token=ed, resource_id=rid))
    got, size = _entries_since(srv, size, 3)
    assert [e["type"] for e in got] == ["datastore_upsert", "datastore_delete", "datastore_delete"]
    assert all(e["objects"]["resource"] == rid for e in got)
    assert "Alpha" not in json.dumps(got)  # records only as a digest
    # A failed write records nothing.
    fails(srv.api("datastore_upsert", token=ed, resource_id=rid, records=[{"n": 1}]), 404)
    # A private dataset's entries: ids only.
    prid = create_table(srv, ed, pds["id"])["resource_id"]
    got, size = _entries_since(srv, size, 2)
    assert [e["type"] for e in got] == ["resource_create", "datastore_create"], got
    assert got[1]["objects"] == {"dataset": pds["id"], "visibility": "private", "resource": prid}
    assert pds["name"] not in json.dumps(got)


def test_actions_listed_with_help(srv):
    names = srv.get("/api/3/action").json()
    if isinstance(names, dict):
        names = names["result"]
    for a in ("datastore_create", "datastore_upsert", "datastore_delete", "datastore_info",
              "datastore_search", "datastore_search_sql"):
        assert a in names
        assert "param" in ok(srv.api("help_show", name=a))
