"""
/datastore/dump/<resource_id> against the real server: CSV (RFC 4180, CRLF, as CKAN's
dump), TSV, JSON and XLSX (opened back with zipfile), the BOM, datastore_search's
parameters (filters, q, fields, sort, limit, offset), gzip, HEAD, permissions (a private
resource is 404 to those who may not read it), and a 200,000-row table streamed.
"""

import csv
import gzip
import io
import json
import re
import time
import xml.etree.ElementTree as ET
import zipfile

import pytest
import requests

from conftest import Portal, Server, fails, make_dataset, ok

WAIT = 120.0

TRICKY = ('code,name,amount,day,flag\n'
          '007,"Smith, J.",315.70,2024-01-31,true\n'
          '010,"say ""hi""",.097,2024-02-29,false\n'
          '123,"line\nbreak 东城区",-1e-3,,TRUE\n').encode("utf-8")

CSV_DUMP = ('_id,code,name,amount,day,flag\r\n'
            '1,007,"Smith, J.",315.70,2024-01-31,true\r\n'
            '2,010,"say ""hi""",.097,2024-02-29,false\r\n'
            '3,123,"line\nbreak 东城区",-1e-3,,true\r\n').encode("utf-8")

NS = {"m": "http://schemas.openxmlformats.org/spreadsheetml/2006/main"}


def upload(srv, token, package_id, content, filename):
    return ok(srv.api("resource_create", token=token, params={"package_id": package_id, "name": filename},
                      files={"upload": (filename, content, "text/csv")}))


def wait_complete(srv, rid, token=None):
    deadline = time.monotonic() + WAIT
    while time.monotonic() < deadline:
        st = ok(srv.api("xloader_status", token=token, resource_id=rid))
        if st["status"] in ("complete", "error"):
            assert st["status"] == "complete", st
            return st
        time.sleep(0.05)
    raise AssertionError("resource %s was not ingested in time" % rid)


def get(srv, rid, token=None, headers=None, **params):
    h = dict(headers or {})
    if token:
        h["Authorization"] = token
    return srv.get("/datastore/dump/%s" % rid, headers=h, params=params)


@pytest.fixture(scope="module")
def tables(srv, tok):
    """The tricky table (public) and a private one, ingested."""
    ds = make_dataset(srv, tok["editor"])
    pub = upload(srv, tok["editor"], ds["id"], TRICKY, "tricky.csv")
    priv_ds = make_dataset(srv, tok["editor"], private=True)
    priv = upload(srv, tok["editor"], priv_ds["id"], b"secret,n\nyes,1\n", "private.csv")
    wait_complete(srv, pub["id"])
    wait_complete(srv, priv["id"], tok["editor"])
    return {"public": pub["id"], "private": priv["id"]}


def test_csv_exact_bytes(srv, tables):
    r = get(srv, tables["public"], headers={"Accept-Encoding": "identity"})
    assert r.status_code == 200
    assert r.content == CSV_DUMP
    assert r.headers["Content-Type"] == "text/csv; charset=utf-8"
    cd = r.headers["Content-Disposition"]
    assert cd.startswith("attachment") and 'filename="%s.csv"' % tables["public"] in cd, cd
    assert "Content-Length" not in r.headers and r.headers.get("Transfer-Encoding") == "chunked"
    assert "ETag" not in r.headers
    # Python's csv module reads it back to the same values.
    rows = list(csv.reader(io.StringIO(r.content.decode("utf-8"), newline="")))
    assert rows[3] == ["3", "123", "line\nbreak 东城区", "-1e-3", "", "true"]


def test_tsv_and_bom(srv, tables):
    r = get(srv, tables["public"], format="tsv", bom="true")
    assert r.status_code == 200
    assert r.headers["Content-Type"] == "text/tab-separated-values; charset=utf-8"
    assert 'filename="%s.tsv"' % tables["public"] in r.headers["Content-Disposition"]
    assert r.content.startswith(b"\xef\xbb\xbf_id\tcode\tname\t")
    assert b"\r\n1\t007\tSmith, J.\t315.70\t2024-01-31\ttrue\r\n" in r.content
    assert b'\r\n2\t010\t"say ""hi"""\t.097\t' in r.content
    assert get(srv, tables["public"], bom="false").content == CSV_DUMP
    assert get(srv, tables["public"], format="csv", bom="true").content == b"\xef\xbb\xbf" + CSV_DUMP
    fails(srv.api("xloader_status"), 409, field="resource_id")


def test_json(srv, tables):
    r = get(srv, tables["public"], format="json")
    assert r.status_code == 200
    assert r.headers["Content-Type"] == "application/json; charset=utf-8"
    doc = r.json()
    assert [f["id"] for f in doc["fields"]] == ["_id", "code", "name", "amount", "day", "flag"]
    # "_id" is "int", as datastore_search lists it.
    assert [f["type"] for f in doc["fields"]] == ["int", "text", "text", "numeric", "date", "bool"]
    search = ok(srv.api("datastore_search", resource_id=tables["public"], limit=0))
    assert search["fields"][0] == {"id": "_id", "type": "int"}
    assert doc["records"][0] == [1, "007", "Smith, J.", 315.70, "2024-01-31", True]
    assert doc["records"][2][4] is None and doc["records"][2][5] is True
    # Numbers keep their stored text (JSON's spelling for ".097").
    text = r.content.decode("utf-8")
    assert "315.70" in text and "0.097" in text and "-1e-3" in text


def cells(sheet_xml):
    """{ref: (type, text)} of a worksheet's cells (inline strings, numbers, booleans)."""
    out = {}
    root = ET.fromstring(sheet_xml)
    for c in root.iter("{%s}c" % NS["m"]):
        t = c.get("t", "n")
        if t == "inlineStr":
            v = "".join(x.text or "" for x in c.iter("{%s}t" % NS["m"]))
        else:
            v = c.find("m:v", NS).text
        out[c.get("r")] = (t, v, c.get("s"))
    return out


def test_xlsx_opened_back(srv, tables):
    r = get(srv, tables["public"], format="xlsx")
    assert r.status_code == 200
    assert r.headers["Content-Type"] == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    assert 'filename="%s.xlsx"' % tables["public"] in r.headers["Content-Disposition"]
    assert "Content-Encoding" not in r.headers  # a ZIP already
    z = zipfile.ZipFile(io.BytesIO(r.content))
    assert z.testzip() is None
    c = cells(z.read("xl/worksheets/sheet1.xml"))
    assert c["A1"][:2] == ("inlineStr", "_id") and c["F1"][:2] == ("inlineStr", "flag")
    assert c["A2"][:2] == ("n", "1")
    assert c["B2"][:2] == ("inlineStr", "007")  # leading zeros kept: text
    assert c["B3"][:2] == ("inlineStr", "010")
    assert c["C2"][:2] == ("inlineStr", "Smith, J.")
    assert c["C4"][:2] == ("inlineStr", "line\nbreak 东城区")
    assert c["D2"][0] == "n" and float(c["D2"][1]) == 315.7
    assert c["D3"][0] == "n" and float(c["D3"][1]) == 0.097
    assert c["E2"][:2] == ("n", "45322")  # 2024-01-31 as an Excel date
    assert "E4" not in c  # NULL: no cell
    assert c["F2"][:2] == ("b", "1") and c["F3"][:2] == ("b", "0")
    # 315.70 shows two decimals; the date shows as a date.
    styles = z.read("xl/styles.xml").decode("utf-8")
    fmts = dict(re.findall(r'<numFmt numFmtId="(\d+)" formatCode="([^"]*)"', styles))
    xfs = re.findall(r"<xf [^>]*numFmtId=\"(\d+)\"", styles.split("<cellXfs")[1])
    assert fmts[xfs[int(c["D2"][2])]] == "0.00"
    assert fmts[xfs[int(c["E2"][2])]] == "yyyy\\-mm\\-dd" or fmts[xfs[int(c["E2"][2])]] == "yyyy-mm-dd"


def test_search_parameters(srv, tables):
    rid = tables["public"]
    body = get(srv, rid, filters=json.dumps({"code": "010"})).content.decode("utf-8")
    assert body.split("\r\n")[1].startswith("2,010,")
    assert len(body.strip("\r\n").split("\r\n")) == 2
    body = get(srv, rid, fields="code,name").content.decode("utf-8")
    assert body.startswith("code,name\r\n007,\"Smith, J.\"\r\n")
    body = get(srv, rid, fields="code", sort="code desc").content.decode("utf-8")
    assert body == "code\r\n123\r\n010\r\n007\r\n"
    body = get(srv, rid, fields="code", limit="1", offset="1").content.decode("utf-8")
    assert body == "code\r\n010\r\n"
    body = get(srv, rid, fields="code", q="smith").content.decode("utf-8")
    assert body == "code\r\n007\r\n"
    # limit=0: the header alone (CKAN's dump); limit= (empty) is no limit.
    assert get(srv, rid, fields="code", limit="0").content.decode("utf-8") == "code\r\n"
    doc = get(srv, rid, format="json", fields="code", limit="0").json()
    assert doc["records"] == [] and [f["id"] for f in doc["fields"]] == ["code"]
    assert get(srv, rid, fields="code", limit="").content.decode("utf-8") == "code\r\n007\r\n010\r\n123\r\n"
    r = get(srv, rid, limit="-1")
    assert r.status_code == 409 and b"limit" in r.content
    doc = get(srv, rid, format="json", fields="amount", filters=json.dumps({"code": ["007", "123"]})).json()
    assert doc["records"] == [[315.70], [-0.001]]
    # A field that is not there, a format that is not one: refused before any byte.
    assert get(srv, rid, fields="nope").status_code == 409
    assert get(srv, rid, format="pdf").status_code == 409
    assert get(srv, rid, filters="{not json").status_code == 409


def test_gzip_and_head(srv, tables):
    rid = tables["public"]
    raw = srv.request("GET", "/datastore/dump/%s" % rid, headers={"Accept-Encoding": "gzip"}, stream=True)
    assert raw.status_code == 200 and raw.headers["Content-Encoding"] == "gzip"
    assert "Accept-Encoding" in raw.headers.get("Vary", "")
    body = raw.raw.read(decode_content=False)
    assert gzip.decompress(body) == CSV_DUMP
    h = srv.request("HEAD", "/datastore/dump/%s" % rid)
    assert h.status_code == 200 and h.content == b""
    assert h.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert "attachment" in h.headers["Content-Disposition"]
    # The next request on the same client gets its own answer (no stray bytes of the HEAD).
    for _ in range(3):
        assert srv.request("HEAD", "/datastore/dump/%s" % rid).status_code == 200
        assert srv.get("/healthz").json() == {"status": "ok"}
    assert srv.request("HEAD", "/datastore/dump/%s" % tables["private"]).status_code == 404


def test_permissions(srv, tok, tables):
    rid = tables["private"]
    assert get(srv, rid).status_code == 404
    assert get(srv, rid, token=tok["outsider"]).status_code == 404
    assert get(srv, rid, token=tok["member"]).content == b"_id,secret,n\r\n1,yes,1\r\n"
    r = get(srv, rid, token=tok["editor"], format="json")
    assert r.status_code == 200 and r.json()["records"] == [[1, "yes", 1]]
    assert r.headers["Cache-Control"] == "private, no-cache"
    assert get(srv, tables["public"]).headers["Cache-Control"] == "no-cache"
    assert get(srv, "no-such-resource").status_code == 404
    assert srv.get("/datastore/dump/").status_code == 404
    # A resource without a table.
    ds = make_dataset(srv, tok["editor"])
    link = ok(srv.api("resource_create", token=tok["editor"], package_id=ds["id"], url="http://example.org/x.csv"))
    assert get(srv, link["id"]).status_code == 404
    assert srv.request("POST", "/datastore/dump/%s" % tables["public"]).status_code == 405


def test_big_table_streams(srv, tok):
    n = 200000
    data = "id,code,value\n" + "".join("%d,%06d,%d.%d\n" % (i, i, i, i % 10) for i in range(n))
    ds = make_dataset(srv, tok["editor"])
    r = upload(srv, tok["editor"], ds["id"], data.encode(), "big.csv")
    st = wait_complete(srv, r["id"])
    assert st["report"]["rows"] == n
    s = requests.Session()
    s.trust_env = False
    resp = s.get(srv.url + "/datastore/dump/" + r["id"], stream=True, timeout=120,
                 headers={"Accept-Encoding": "identity"})
    assert resp.status_code == 200 and "Content-Length" not in resp.headers
    lines = 0
    tail = b""
    first = None
    for chunk in resp.iter_content(65536):
        if first is None:
            first = chunk[:40]
        lines += chunk.count(b"\n")
        tail = (tail + chunk)[-64:]
    assert first.startswith(b"_id,id,code,value\r\n1,0,000000,0.0\r\n")
    assert lines == n + 1
    assert tail.endswith(b"\r\n200000,199999,199999,199999.9\r\n")
    # The same through gzip, and as JSON.
    doc = s.get(srv.url + "/datastore/dump/" + r["id"], params={"format": "json"}, timeout=120).json()
    assert len(doc["records"]) == n and doc["records"][-1] == [200000, 199999, "199999", 199999.9]
    s.close()


def test_xlsx_too_many_rows_refused_first(srv, tok):
    """A selection larger than an XLSX sheet (1,048,575 rows below the header) is refused
    before any byte, naming the way out; a smaller part of the same table is served."""
    ds = make_dataset(srv, tok["editor"])
    rows = 1048576
    body = ("n\n" + "\n".join(str(i) for i in range(rows)) + "\n").encode()
    r = upload(srv, tok["editor"], ds["id"], body, "many.csv")
    st = wait_complete(srv, r["id"])
    assert st["report"]["rows"] == rows
    got = get(srv, r["id"], format="xlsx")
    assert got.status_code == 409 and b"1048575" in got.content and b"format=csv" in got.content
    assert "spreadsheetml" not in got.headers.get("Content-Type", "")
    # Filters, limit and offset bring it under: served.
    assert get(srv, r["id"], format="xlsx", limit="10").status_code == 200
    assert get(srv, r["id"], format="xlsx", offset=str(rows - 5)).status_code == 200
    assert get(srv, r["id"], format="xlsx", q="7").status_code == 200


def test_xlsx_numbers_in_exponent_form(srv, tok):
    """Numeric values written with an exponent are numbers in XLSX too when a double holds
    them exactly (at most 15 significant digits); one that would lose digits stays text."""
    ds = make_dataset(srv, tok["editor"])
    vals = ["-1e3", "1.5E-3", "12.5", "1e20", "2.5e-20", "1.23456789012345678e3", "1e400"]
    r = ok(srv.api("datastore_create", token=tok["editor"],
                   json_body={"resource": {"package_id": ds["id"]},
                              "fields": [{"id": "v", "type": "numeric"}],
                              "records": [{"v": v} for v in vals]}))
    got = get(srv, r["resource_id"], format="xlsx", fields="v", sort="_id")
    assert got.status_code == 200
    z = zipfile.ZipFile(io.BytesIO(got.content))
    c = cells(z.read("xl/worksheets/sheet1.xml"))
    styles = z.read("xl/styles.xml").decode("utf-8")
    fmts = dict(re.findall(r'<numFmt numFmtId="(\d+)" formatCode="([^"]*)"', styles))
    xfs = re.findall(r"<xf [^>]*numFmtId=\"(\d+)\"", styles.split("<cellXfs")[1])

    def num(ref):
        t, v, s = c[ref]
        assert t == "n", (ref, c[ref])
        return float(v), fmts.get(xfs[int(s)]) if s else None

    assert num("A2") == (-1000.0, "0")
    assert num("A3") == (0.0015, "0.0000")
    assert num("A4") == (12.5, "0.0")
    assert num("A5")[0] == 1e20 and num("A5")[1] is None  # General: shown as 1E+20
    assert num("A6")[0] == 2.5e-20 and num("A6")[1] is None
    # 18 significant digits, and a value past a double's range: text, every digit kept.
    assert c["A7"][0] == "inlineStr" and c["A7"][1].replace("E", "e") == "1.23456789012345678e3"
    assert c["A8"][0] == "inlineStr" and c["A8"][1].lower() == "1e400"
