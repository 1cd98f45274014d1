"""
Ingest into the DataStore against the real binary: `kaifang load` of examples/catalog
(every data file becomes a table with the row count of its metadata.json and the types
its data calls for), uploads through the API queued for the ingest worker, failures
that keep the previous table serving, re-typing, lenient loading, encodings, the
`kaifang ingest` command, atomic replacement under concurrent readers, and a server
killed mid-ingest. One portal per module (loaded once), as the suite runs under ASan on
a small machine.
"""

import csv
import decimal
import io
import json
import os
import re
import signal
import threading
import time
import zipfile

import pytest

from conftest import (CATALOG_DIR, ORG, STORE, Portal, Server, copy_portal, create_token, fails,
                      make_dataset, ok, pg_value, portal_db, unique)

WAIT = 120.0  # seconds to wait for the worker (ASan, two cores shared)


# -- helpers --------------------------------------------------------------------------


def upload(srv, token, package_id, content, filename="data.csv", action="resource_create", **fields):
    f = {"name": fields.pop("name", filename)}
    if action == "resource_create":
        f["package_id"] = package_id
    f.update(fields)
    return srv.api(action, token=token, params=f, files={"upload": (filename, content, "text/csv")})


def status(srv, rid, token=None):
    return ok(srv.api("xloader_status", token=token, resource_id=rid))


def wait_for(srv, rid, states=("complete", "error"), token=None):
    """Polls xloader_status until its status is one of states; returns the result."""
    deadline = time.monotonic() + WAIT
    seen = []
    while time.monotonic() < deadline:
        st = status(srv, rid, token)
        if not seen or seen[-1] != st["status"]:
            seen.append(st["status"])
        if st["status"] in states:
            return st
        time.sleep(0.05)
    raise AssertionError("resource %s never reached %s (saw %s)" % (rid, states, seen))


def dump_csv(srv, rid, token=None, **params):
    h = {"Authorization": token} if token else {}
    r = srv.get("/datastore/dump/%s" % rid, headers=h, params=params)
    assert r.status_code == 200, (r.status_code, r.text[:500])
    return r.content


def dump_rows(srv, rid, token=None):
    """The table as a list of rows (header first), through the CSV dump."""
    text = dump_csv(srv, rid, token).decode("utf-8")
    return list(csv.reader(io.StringIO(text, newline="")))


def report_types(st):
    return {f["id"]: f["type"] for f in st["report"]["fields"]}


def search_total(srv, rid, token=None):
    return ok(srv.api("datastore_search", token=token, resource_id=rid, limit=0,
                      include_total=True))["total"]


# -- the example catalog ---------------------------------------------------------------


@pytest.fixture(scope="module")
def loaded(tmp_path_factory, kaifang_bin):
    """examples/catalog loaded (every file ingested at load), served."""
    p = Portal(tmp_path_factory.mktemp("dsload") / "portal").init()
    p.cli("user", "add", "sysadmin", "--sysadmin")
    p.tokens["sysadmin"] = create_token(p, "sysadmin")
    r = p.cli("load", CATALOG_DIR)
    assert "ingested 26 datastore tables" in r.stdout and ", 0 failed" in r.stdout, (r.stdout, r.stderr)
    # Loading again ingests nothing: every table holds its file already.
    r = p.cli("load", CATALOG_DIR)
    assert "ingested 0 datastore tables (0 rows), 26 unchanged, 0 failed" in r.stdout, r.stdout
    s = Server(p, name="dsload")
    yield p, s
    s.stop()


def catalog_resources(srv):
    """(folder, metadata resource, catalog resource) for every data file of the catalog."""
    out = []
    for folder in sorted(os.listdir(CATALOG_DIR)):
        mp = os.path.join(CATALOG_DIR, folder, "metadata.json")
        if not os.path.isfile(mp):
            continue
        meta = json.load(open(mp, encoding="utf-8"))
        ds = ok(srv.api("package_show", id=folder))
        by_name = {r["name"]: r for r in ds["resources"]}
        for m in meta["resources"]:
            assert m["file"] in by_name, (folder, m["file"], list(by_name))
            out.append((folder, m, by_name[m["file"]]))
    return out


def test_every_catalog_file_is_a_table(loaded):
    _, srv = loaded
    res = catalog_resources(srv)
    assert len(res) == 26
    for folder, m, r in res:
        assert r["datastore_active"] is True, (folder, m["file"], r)
        assert r["datastore_status"] == "complete", (folder, m["file"])
        st = status(srv, r["id"])
        assert st["status"] == "complete" and st["error"] is None, (folder, m["file"], st)
        # metadata.json counts data rows; for the workbooks, every row of the sheet (the
        # header row is the first of them).
        want = m["rows"] - 1 if "sheets" in m else m["rows"]
        assert st["report"]["rows"] == want, (folder, m["file"], st["report"]["rows"], want)
        assert len(st["report"]["fields"]) == m["columns"], (folder, m["file"])


def test_catalog_types_and_values(loaded):
    _, srv = loaded
    res = {m["file"]: (folder, r) for folder, m, r in catalog_resources(srv)}

    def types(name):
        return report_types(status(srv, res[name][1]["id"]))

    def rows(name):
        return dump_rows(srv, res[name][1]["id"])

    def column(name, field):
        t = rows(name)
        i = t[0].index(field)
        return [row[i] for row in t[1:]]

    # GB2260 codes stay 6-digit text; the GB18030 copy is the same table.
    t = types("counties.csv")
    assert t == {"code": "text", "name": "text", "city_code": "text", "city_name": "text",
                 "province_code": "text", "province_name": "text"}
    assert types("counties.gb18030.csv") == t
    utf8, gb = rows("counties.csv"), rows("counties.gb18030.csv")
    assert len(utf8) == 2979 and utf8 == gb
    assert "110101" in column("counties.csv", "code")
    st = status(srv, res["counties.gb18030.csv"][1]["id"])
    assert st["report"]["encoding"] == "GB18030" and st["report"]["encoding_detected"] is True
    assert types("towns.csv")["code"] == "text"
    # Dates, timestamps, exact numbers, codes with letters.
    assert types("seattle-weather.csv")["date"] == "date"
    assert types("seattle-weather.csv")["precipitation"] == "numeric"
    assert types("seattle-weather-hourly-normals.csv")["date"] == "timestamp"
    assert types("iowa-electricity.csv")["year"] == "date"
    assert types("birdstrikes.csv")["Flight Date"] == "date"
    assert types("co2-concentration.csv")["CO2"] == "numeric"
    assert "315.70" in column("co2-concentration.csv", "CO2")
    a = types("airports.csv")
    assert a["iata"] == "text" and a["latitude"] == "numeric"
    iata = column("airports.csv", "iata")
    assert "0E0" in iata and "0E8" in iata
    u = types("unemployment.tsv")
    assert u == {"id": "int8", "rate": "numeric"}
    assert ".097" in column("unemployment.tsv", "rate")
    assert status(srv, res["unemployment.tsv"][1]["id"])["report"]["delimiter"] == "\t"
    assert types("species.csv")["county_id"] == "text"
    assert "01001" in column("species.csv", "county_id")
    assert types("ssa-death-probability.csv")["NumberOfLives"] == "text"
    assert types("global-temp.csv") == {"year": "int8", "temp": "numeric"}
    # JSON: Namibia's "NA" is a value, numeric codes keep their zeros, amounts with
    # thousands separators stay text.
    assert types("iso_3166-1.json")["numeric"] == "text"
    assert "NA" in column("iso_3166-1.json", "alpha_2")
    assert "004" in column("iso_3166-1.json", "numeric")
    b = types("budget.json")
    assert b["2000"] == "text" and b["Agency code"] == "int8"
    assert "1,004,401,000" in column("budget.json", "2000")
    # The Regents workbook: the .xls and its .xlsx copy give the same table.
    r = types("2010_bigfive_regents.xls")
    assert r["label"] == "text" and r["INTEGRATED ALGEBRA"] == "int8"
    assert types("2010_bigfive_regents.xlsx") == r
    assert rows("2010_bigfive_regents.xls") == rows("2010_bigfive_regents.xlsx")
    # A 100-byte header is cut to 63 bytes; the full text is its label.
    assert "Total carbon emissions from fossil fuel consumption and cement" in types("carbon_emissions.csv")


def test_catalog_ingest_ledger_entries(loaded):
    _, srv = loaded
    entries = []
    start = 0
    while True:
        r = srv.get("/api/ledger/entries", params={"start": start})
        assert r.status_code == 200
        page = r.json()
        if not page:
            break
        entries += [json.loads(e["entry"]) for e in page]
        start += len(page)
    ingests = [e for e in entries if e["type"] == "datastore_ingest"]
    assert len(ingests) == 26
    assert all(e["actor"] == "kaifang-cli" and e["objects"].get("resource") for e in ingests)


# -- uploads through the API -------------------------------------------------------------


@pytest.fixture(scope="module")
def api(tmp_path_factory, base_portal):
    dest = tmp_path_factory.mktemp("dsapi") / "portal"
    copy_portal(base_portal.path, dest)
    p = Portal(dest)
    p.tokens = dict(base_portal.tokens)
    s = Server(p, name="dsapi")
    yield p, s
    s.stop()


def assert_whole_microseconds(text):
    """The report's timings in a JSON text are written as whole microseconds, without the
    noise of a double's 17 digits (0.042263, not 0.042263000000000002)."""
    found = re.findall(r'"(seconds|typing|loading|fulltext_index)":\s*([-+0-9.eE]+)', text)
    assert len(found) == 4, text
    for key, num in found:
        us = decimal.Decimal(num) * 1000000
        assert us == us.to_integral_value() and len(num) <= 17, (key, num)


def test_upload_is_queued_and_ingested(api):
    _, srv = api
    tok = srv_tokens(api)
    ds = make_dataset(srv, tok["editor"])
    body = b"code,city,population\n0101,Alpha,1200\n0102,Beta,800\n0103,Gamma,\n"
    r = ok(upload(srv, tok["editor"], ds["id"], body, "cities.csv", format="CSV"))
    st = status(srv, r["id"])
    assert st["status"] in ("pending", "running", "complete")
    st = wait_for(srv, r["id"])
    assert st["status"] == "complete", st
    assert st["task_info"]["trigger"] == "upload"
    assert report_types(st) == {"code": "text", "city": "text", "population": "int8"}
    shown = ok(srv.api("resource_show", id=r["id"]))
    assert shown["datastore_active"] is True and shown["datastore_status"] == "complete"
    res = ok(srv.api("datastore_search", resource_id=r["id"], q="beta"))
    assert [rec["code"] for rec in res["records"]] == ["0102"]
    # A new file: the answer of resource_update says the ingest is pending, not the state
    # of the file before.
    upd = ok(upload(srv, tok["editor"], ds["id"], body + b"0104,Delta,5\n", "cities.csv",
                    action="resource_update", id=r["id"]))
    assert r["datastore_status"] == "pending" and upd["datastore_status"] == "pending", upd
    assert wait_for(srv, r["id"])["status"] == "complete"
    assert_whole_microseconds(srv.api("xloader_status", resource_id=r["id"]).raw.decode("utf-8"))
    # A file that is not a table is not queued.
    other = ok(upload(srv, tok["editor"], ds["id"], b"%PDF-1.4\n", "report.pdf"))
    assert status(srv, other["id"])["status"] == "unknown"
    assert ok(srv.api("resource_show", id=other["id"]))["datastore_active"] is False


def srv_tokens(fixture):
    return fixture[0].tokens


def test_failed_ingest_keeps_previous_table(api):
    _, srv = api
    tok = srv_tokens(api)
    ds = make_dataset(srv, tok["editor"])
    r = ok(upload(srv, tok["editor"], ds["id"], b"a,b\n1,2\n3,4\n5,6\n", "t.csv"))
    assert wait_for(srv, r["id"])["status"] == "complete"
    # Line 3 has one field: the file cannot be read, so it cannot be scanned either, and
    # into a public dataset it is refused with nothing stored (409, privacy-gate.md "A
    # file that cannot be scanned"): the previous file and its three rows still serve.
    ragged = b"a,b\n7,8\n9\n10,11\n"
    err = fails(upload(srv, tok["editor"], None, ragged, "t.csv", action="resource_update", id=r["id"]),
                409, field="privacy")
    assert "nothing was stored" in err["message"], err
    st = wait_for(srv, r["id"], token=tok["editor"])
    assert st["status"] == "complete" and st["report"]["rows"] == 3, st
    assert search_total(srv, r["id"]) == 3
    assert dump_rows(srv, r["id"]) == [["_id", "a", "b"], ["1", "1", "2"], ["2", "3", "4"], ["3", "5", "6"]]
    shown = ok(srv.api("resource_show", id=r["id"]))
    assert shown["datastore_status"] == "complete" and shown["datastore_active"] is True


def test_retype_and_encoding(api):
    _, srv = api
    tok = srv_tokens(api)
    ds = make_dataset(srv, tok["editor"])
    text = "code,name\n110101,东城区\n110102,西城区\n"
    r = ok(upload(srv, tok["editor"], ds["id"], text.encode("gb18030"), "gb.csv"))
    st = wait_for(srv, r["id"])
    assert st["status"] == "complete" and st["report"]["encoding"] == "GB18030"
    assert dump_rows(srv, r["id"])[1] == ["1", "110101", "东城区"]
    # An encoding that does not exist is refused at once, naming it.
    fails(srv.api("xloader_submit", token=tok["editor"], resource_id=r["id"], encoding="KLINGON"),
          409, field="encoding", message="KLINGON")
    # A wrong encoding given by hand: the bytes do not decode, the error says where.
    ok(srv.api("xloader_submit", token=tok["editor"], resource_id=r["id"], encoding="UTF-8"))
    st = wait_for(srv, r["id"])
    assert st["status"] == "error" and st["error"]["line"] == 2, st
    assert dump_rows(srv, r["id"])[1] == ["1", "110101", "东城区"]
    ok(srv.api("xloader_submit", token=tok["editor"], resource_id=r["id"], encoding="GB18030",
               fields=[{"id": "code", "type": "text"}]))
    st = wait_for(srv, r["id"])
    assert st["status"] == "complete" and report_types(st) == {"code": "text", "name": "text"}
    assert st["report"]["encoding_detected"] is False
    # Re-typing through xloader_submit: code as int8 (the options stay for later).
    ok(srv.api("xloader_submit", token=tok["editor"], resource_id=r["id"],
               fields=[{"id": "code", "type": "int8"}]))
    st = wait_for(srv, r["id"])
    assert report_types(st)["code"] == "int8"
    # A type the values do not fit: line and column of the first misfit.
    ok(srv.api("xloader_submit", token=tok["editor"], resource_id=r["id"],
               fields=[{"id": "name", "type": "date"}]))
    st = wait_for(srv, r["id"])
    assert st["status"] == "error" and st["error"]["line"] == 2 and st["error"]["column"] == 2, st
    # Refused at once: unknown types, parameters, other people's resources.
    fails(srv.api("xloader_submit", token=tok["editor"], resource_id=r["id"],
                  fields=[{"id": "name", "type": "money"}]), 409, field="fields")
    fails(srv.api("xloader_submit", token=tok["editor"], resource_id=r["id"], colour="red"), 409,
          field="colour")
    fails(srv.api("xloader_submit", token=tok["outsider"], resource_id=r["id"]), 403)
    fails(srv.api("xloader_submit", resource_id=r["id"]), 403)
    fails(srv.api("xloader_submit", token=tok["editor"], resource_id="no-such-id"), 404)


def test_retype_through_datastore_create(api):
    _, srv = api
    tok = srv_tokens(api)
    ds = make_dataset(srv, tok["editor"])
    r = ok(upload(srv, tok["editor"], ds["id"], b"n,when\n1,2024-01-01\n2,2024-02-30x\n", "w.csv"))
    st = wait_for(srv, r["id"])
    assert report_types(st) == {"n": "int8", "when": "text"}
    ok(srv.api("datastore_create", token=tok["editor"], resource_id=r["id"], force=True,
               fields=[{"id": "n", "type": "numeric"}, {"id": "when", "type": "text"}]))
    info = ok(srv.api("datastore_info", id=r["id"]))
    assert {f["id"]: f["type"] for f in info["fields"]} == {"n": "numeric", "when": "text"}
    assert search_total(srv, r["id"]) == 2


def test_private_resource_status_is_hidden(api):
    _, srv = api
    tok = srv_tokens(api)
    ds = make_dataset(srv, tok["editor"], private=True)
    r = ok(upload(srv, tok["editor"], ds["id"], b"a\n1\n", "p.csv"))
    assert wait_for(srv, r["id"], token=tok["editor"])["status"] == "complete"
    fails(srv.api("xloader_status", resource_id=r["id"]), 404)
    fails(srv.api("xloader_status", token=tok["outsider"], resource_id=r["id"]), 404)
    assert status(srv, r["id"], tok["member"])["status"] == "complete"


def test_long_text_cell_is_stored_and_searched(api):
    # A cell of 1.5 MB of distinct words (under the 4 MiB cell limit): stored whole on both
    # stores; PostgreSQL's tsvector holds 1 MiB of lexemes, so there the row's first
    # tokens are indexed (docs/internals/store.md), and the ingest does not fail.
    _, srv = api
    tok = srv_tokens(api)
    ds = make_dataset(srv, tok["editor"])
    words = " ".join("w%06d" % i for i in range(190000))
    body = ("t\n%s\nshort w000001\n" % words).encode()
    r = ok(upload(srv, tok["editor"], ds["id"], body, "long.csv"))
    assert wait_for(srv, r["id"])["status"] == "complete"
    res = ok(srv.api("datastore_search", resource_id=r["id"], q="w000000"))
    assert res["total"] == 1 and res["records"][0]["t"] == words
    assert ok(srv.api("datastore_search", resource_id=r["id"], q="w000001"))["total"] == 2


def has_table(portal, srv, rid):
    """Whether the store keeps a datastore table for rid: its table file (SQLite), its
    row of datastore_tables and its table in the datastore schema (PostgreSQL)."""
    if STORE == "postgresql":
        db = portal_db(portal.path)
        hexid = rid.replace("-", "")
        rows = pg_value(db, "SELECT count(*) FROM datastore_tables WHERE resource_id = '%s'" % rid)
        tables = pg_value(db, "SELECT count(*) FROM pg_tables WHERE schemaname = 'datastore'"
                              " AND tablename = 't_%s'" % hexid)
        assert rows == tables, (rows, tables)
        return rows == "1"
    return os.path.exists(os.path.join(portal.path, "datastore", rid + ".db"))


def build_leftovers(portal):
    """What killed builds left: *.build-* files (SQLite), or tables b_* of the datastore
    schema (PostgreSQL, where the server rolls a dead connection's transaction back)."""
    if STORE == "postgresql":
        names = pg_value(portal_db(portal.path),
                         "SELECT string_agg(tablename, ' ') FROM pg_tables"
                         " WHERE schemaname = 'datastore' AND tablename LIKE 'b\\_%'")
        return names.split()
    return [f for f in os.listdir(os.path.join(portal.path, "datastore")) if ".build-" in f]


def test_resource_delete_drops_table(api):
    p, srv = api
    tok = srv_tokens(api)
    ds = make_dataset(srv, tok["editor"])
    r = ok(upload(srv, tok["editor"], ds["id"], b"a\n1\n", "gone.csv"))
    assert wait_for(srv, r["id"])["status"] == "complete"
    assert has_table(p, srv, r["id"])
    ok(srv.api("resource_delete", token=tok["editor"], id=r["id"]))
    assert not has_table(p, srv, r["id"])
    assert srv.get("/datastore/dump/%s" % r["id"]).status_code == 404
    # package_update without a resource deletes it (CKAN): its table goes too; the
    # resource it keeps keeps its table.
    keep = ok(upload(srv, tok["editor"], ds["id"], b"k\n1\n", "keep.csv"))
    drop = ok(upload(srv, tok["editor"], ds["id"], b"d\n1\n", "drop.csv"))
    assert wait_for(srv, keep["id"])["status"] == "complete"
    assert wait_for(srv, drop["id"])["status"] == "complete"
    shown = ok(srv.api("package_show", id=ds["name"]))
    shown["resources"] = [x for x in shown["resources"] if x["id"] == keep["id"]]
    ok(srv.api("package_update", token=tok["editor"], json_body=shown))
    assert not has_table(p, srv, drop["id"])
    assert has_table(p, srv, keep["id"])
    assert status(srv, keep["id"])["status"] == "complete"


# -- atomic replacement -------------------------------------------------------------------


def numbered(n, tag):
    return ("id,tag\n" + "".join("%d,%s\n" % (i, tag) for i in range(n))).encode()


def test_reingest_is_atomic_for_readers(api):
    _, srv = api
    tok = srv_tokens(api)
    ds = make_dataset(srv, tok["editor"])
    r = ok(upload(srv, tok["editor"], ds["id"], numbered(2000, "old"), "n.csv"))
    assert wait_for(srv, r["id"])["status"] == "complete"
    seen, errors = [], []
    stop = threading.Event()

    def reader(kind):
        import requests

        s = requests.Session()
        s.trust_env = False
        while not stop.is_set():
            try:
                if kind == "search":
                    body = s.get(srv.url + "/api/3/action/datastore_search",
                                 params={"resource_id": r["id"], "limit": 0}, timeout=60).json()
                    seen.append(body["result"]["total"])
                else:
                    text = s.get(srv.url + "/datastore/dump/" + r["id"], timeout=60).text
                    lines = text.strip("\r\n").split("\r\n")
                    tags = {l.split(",")[2] for l in lines[1:]}
                    seen.append(len(lines) - 1)
                    if len(tags) != 1:
                        errors.append("mixed rows: %r" % tags)
            except Exception as e:  # noqa: BLE001 - reported below
                errors.append(repr(e))

    threads = [threading.Thread(target=reader, args=(k,)) for k in ("search", "dump", "dump")]
    for t in threads:
        t.start()
    try:
        for n, tag in ((5000, "new"), (3000, "newer")):
            ok(upload(srv, tok["editor"], None, numbered(n, tag), "n.csv", action="resource_update",
                      id=r["id"]))
            assert wait_for(srv, r["id"])["status"] == "complete"
    finally:
        stop.set()
        for t in threads:
            t.join()
    assert not errors, errors[:5]
    assert seen and set(seen) <= {2000, 5000, 3000}, sorted(set(seen))


# -- the command line ----------------------------------------------------------------------


def test_cli_ingest(loaded, tmp_path):
    p, srv = loaded
    res = {m["file"]: r for _, m, r in catalog_resources(srv)}
    rid = res["global-temp.csv"]["id"]
    good = tmp_path / "temps.csv"
    good.write_text("year,temp\n2001,0.54\n2002,0.63\n2003,0.62\n")
    r = p.cli("ingest", good, "--resource", rid)
    assert "ingested" in r.stdout and "3 rows, 2 fields" in r.stdout, r.stdout
    assert len(dump_rows(srv, rid)) == 4
    # --json: the report; the options given are kept.
    r = p.cli("ingest", good, "--resource", rid, "--json", "--delimiter", ",",
              "--fields", write_json(tmp_path / "f.json", [{"id": "year", "type": "text"}]))
    rep = json.loads(r.stdout)
    assert rep["status"] == "complete" and rep["rows"] == 3 and rep["delimiter"] == ","
    assert {f["id"]: f["type"] for f in rep["fields"]} == {"year": "text", "temp": "numeric"}
    assert rep["timings"]["typing"] >= 0 and rep["timings"]["loading"] >= 0
    assert rep["timings"]["fulltext_index"] >= 0
    assert_whole_microseconds(r.stdout)
    # The full-text index was built after the table was served: q finds the row.
    found = ok(srv.api("datastore_search", resource_id=rid, q="2001"))
    assert [r["year"] for r in found["records"]] == ["2001"], found
    # A bad file: exit 1, the line in the message, the table of before still there.
    bad = tmp_path / "bad.csv"
    bad.write_text("year,temp\n2001,0.54\n2002\n")
    r = p.cli("ingest", bad, "--resource", rid, check=1)
    assert "line 3" in r.stderr, r.stderr
    assert len(dump_rows(srv, rid)) == 4
    r = p.cli("ingest", bad, "--resource", rid, "--json", check=1)
    assert json.loads(r.stdout)["line"] == 3
    r = p.cli("ingest", bad, "--resource", rid, "--lenient")
    assert "1 ragged rows" in r.stdout, r.stdout
    # A zip bomb named .xlsx: a 300 MiB sheet of spaces in a few hundred KiB, refused before
    # it is inflated, and the table of before still there.
    bomb = tmp_path / "bomb.xlsx"
    ns = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
    rel = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as z:
        z.writestr("[Content_Types].xml",
                   '<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/'
                   '2006/content-types"><Override PartName="/xl/workbook.xml" ContentType="application/'
                   'vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/></Types>')
        z.writestr("xl/workbook.xml", '<?xml version="1.0"?><workbook xmlns="%s" xmlns:r="%s">'
                   '<sheets><sheet name="S" sheetId="1" r:id="rId1"/></sheets></workbook>' % (ns, rel))
        z.writestr("xl/_rels/workbook.xml.rels",
                   '<?xml version="1.0"?><Relationships xmlns="http://schemas.openxmlformats.org/'
                   'package/2006/relationships"><Relationship Id="rId1" Type="%s/worksheet" '
                   'Target="worksheets/sheet1.xml"/></Relationships>' % rel)
        with z.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as f:
            f.write(('<?xml version="1.0"?><worksheet xmlns="%s"><sheetData>' % ns).encode())
            chunk = b" " * (1 << 20)
            for _ in range(300):
                f.write(chunk)
            f.write(b"</sheetData></worksheet>")
    assert bomb.stat().st_size < 2 << 20
    before = dump_rows(srv, rid)
    r = p.cli("ingest", bomb, "--resource", rid, check=1)
    assert "zip bomb" in r.stderr and "sheet1.xml" in r.stderr, r.stderr
    assert dump_rows(srv, rid) == before
    # Usage errors exit 2.
    p.cli("ingest", good, check=2)
    p.cli("ingest", good, "--resource", rid, "--format", "pdf", check=2)
    p.cli("ingest", good, "--resource", rid, "--skip-rows", "x", check=2)
    r = p.cli("ingest", good, "--resource", "no-such-resource", check=1)
    assert "not found" in r.stderr
    r = p.cli("ingest", tmp_path / "missing.csv", "--resource", rid, check=1)
    assert "missing.csv" in r.stderr
    # The original file back, for the other tests of the module.
    p.cli("ingest", os.path.join(CATALOG_DIR, "nasa-giss-global-temperature-index", "global-temp.csv"),
          "--resource", rid)


def write_json(path, value):
    path.write_text(json.dumps(value))
    return path


# -- a server stopped or killed mid-ingest ------------------------------------------------------


def test_kill_during_ingest_then_restart(base_portal, tmp_path):
    dest = tmp_path / "portal"
    copy_portal(base_portal.path, dest)
    p = Portal(dest)
    p.tokens = dict(base_portal.tokens)
    tok = p.tokens
    srv = Server(p, name="dskill")
    rows = 400000
    try:
        ds = make_dataset(srv, tok["editor"])
        big = ("id,code,amount\n" + "".join("%d,%06d,%d.%02d\n" % (i, i, i, i % 100)
                                            for i in range(rows))).encode()
        r = ok(upload(srv, tok["editor"], ds["id"], big, "big.csv"))
        wait_for(srv, r["id"], states=("running", "complete"))
        srv.kill_with(signal.SIGKILL)
        srv.proc.wait(timeout=60)
    finally:
        srv.stop(check=False)
    # The status is left "running" (or "complete" had the ingest won the race): a new
    # server queues it again and finishes it.
    srv = Server(p, name="dskill2")
    try:
        st = wait_for(srv, r["id"])
        assert st["status"] == "complete", st
        assert st["report"]["rows"] == rows
        assert dump_csv(srv, r["id"]).count(b"\n") == rows + 1
        # Only the killed build may have left its *.build-* file: the store sweeps those at
        # open, but only once a day old (NEEDSWORK in docs/internals/datastore.md), as it
        # cannot yet tell a dead build from another process's; none of the finished one.
        leftovers = build_leftovers(p)
        if STORE == "postgresql":
            assert leftovers == [], leftovers
        else:
            assert len(leftovers) <= 1 and all(f.startswith(r["id"]) for f in leftovers), leftovers
        # A graceful stop during an ingest does not wait for it: the status stays pending
        # and the next start completes it.
        ok(srv.api("xloader_submit", token=tok["editor"], resource_id=r["id"]))
        wait_for(srv, r["id"], states=("running", "complete"))
    finally:
        srv.stop()
    srv = Server(p, name="dskill3")
    try:
        st = wait_for(srv, r["id"])
        assert st["status"] == "complete" and st["report"]["rows"] == rows
        assert st["task_info"]["trigger"] == "submit"
    finally:
        srv.stop()


def test_demo_ingests_its_catalog(tmp_path, kaifang_bin):
    import shutil

    cat = tmp_path / "catalog"
    cat.mkdir()
    for name in ("nyc-doe-regents-score-distribution-2010", "iso-4217-currencies"):
        shutil.copytree(os.path.join(CATALOG_DIR, name), cat / name)
    p = Portal(tmp_path / "demo")
    s = Server(p, command=("demo", "--examples", str(cat)), access_log=False, name="dsdemo")
    try:
        for name, n in (("nyc-doe-regents-score-distribution-2010", 2), ("iso-4217-currencies", 1)):
            res = ok(s.api("package_show", id=name))["resources"]
            assert len(res) == n
            for r in res:
                assert r["datastore_active"] is True, r
                assert status(s, r["id"])["status"] == "complete"
        regents = ok(s.api("package_show", id="nyc-doe-regents-score-distribution-2010"))["resources"]
        rows = dump_rows(s, regents[0]["id"])
        assert rows[0] == ["_id", "label", "INTEGRATED ALGEBRA", "GLOBAL HISTORY", "LIVING ENVIRONMENT",
                           "ENGLISH", "U.S. HISTORY"]
        assert len(rows) == 105 and rows[1][1] == "test_year" and rows[-1][1] == "999"
    finally:
        s.stop()
