"""
`kaifang load` of the metadata documents the exports write (issue 7, import): the example
catalog exported as data.json, as DCAT-AP Turtle (every page, fetched from the URL) and as
a data package per dataset, each loaded into a fresh portal and exported again: the same
metadata. What cannot round-trip, and why (docs/internals/dcat.md, "Import"):

- data.json: a distribution's describedBy/describedByType point at the datastore's data
  package, which only exists for a file in the datastore: the second portal keeps links
  (no --download), so it has none.
- DCAT-AP: the second portal gives its datasets, resources and organizations its own ids,
  so their IRIs differ; they are mapped back (datasets through dct:identifier, resources
  through their download URL, organizations through their name) before the graphs are
  compared. A distribution's dct:issued is its resource's creation time in the portal
  that holds it, which the catalog sets and an import cannot. The catalog's paging triples
  (hydra) depend on each portal's page size, and every page repeats the catalog node with
  a blank publisher of its own, so the catalog node is compared apart.
- data package: "id", "homepage" and "created" are the portal's own (its dataset IRI and
  page, its metadata_created); a resource's Table Schema ("schema", "type", "profile",
  "encoding") comes from its datastore table, so only after --download.
"""

import json
import os
import re
import shutil
import subprocess

import pytest

from conftest import CATALOG_DIR, Portal, SOURCE_DIR, Server, copy_portal, ok

VALIDATORS = os.path.join(SOURCE_DIR, "tests", "validators")


def fresh(clone_portal):
    return clone_portal("import")


def datajson_by_identifier(srv):
    r = srv.get("/data.json")
    assert r.status_code == 200, r.text[:300]
    return {d["identifier"]: d for d in r.json()["dataset"]}


@pytest.fixture(scope="module")
def source(tmp_path_factory, base_portal):
    """The example catalog, served with catalog pages of 5 datasets (so that the Turtle
    import has pages to follow)."""
    dest = tmp_path_factory.mktemp("dcat-import") / "portal"
    copy_portal(base_portal.path, dest)
    p = Portal(dest)
    p.tokens = dict(base_portal.tokens)
    with open(os.path.join(p.path, "kaifang.conf"), "a") as f:
        f.write("\ncatalog_page_size = 5\n")
    p.cli("load", CATALOG_DIR)
    srv = Server(p, name="dcat-import-source")
    yield srv
    srv.stop()


# -- data.json --------------------------------------------------------------------------------


def test_datajson_round_trip(source, clone_portal, start_server, tmp_path):
    raw = source.get("/data.json").content
    path = tmp_path / "data.json"
    path.write_bytes(raw)
    before = datajson_by_identifier(source)
    assert len(before) == 21
    b = fresh(clone_portal)
    out = b.cli("load", path).stdout
    assert "loaded 21 datasets (21 created, 0 updated, 0 unchanged)" in out
    # Loading again matches every dataset by its identifier: nothing new, nothing changed.
    out = b.cli("load", path).stdout
    assert "loaded 21 datasets (0 created, 0 updated, 21 unchanged)" in out
    srv = start_server(b)
    after = datajson_by_identifier(srv)
    assert set(after) == set(before)
    for ident, want in before.items():
        got = after[ident]
        # describedBy of distributions: the datastore's data package (see the top).
        for d in want.get("distribution", []):
            d.pop("describedBy", None)
            d.pop("describedByType", None)
        assert got == want, ident


def test_datajson_every_optional_field(clone_portal, start_server, tmp_path):
    full = {
        "@type": "dcat:Dataset",
        "title": "Every optional field",
        "description": "A dataset with every DCAT-US field set.",
        "keyword": ["census", "人口"],
        "modified": "2024-03-01",
        "publisher": {"@type": "org:Organization", "name": "Bureau of Everything"},
        "contactPoint": {"@type": "vcard:Contact", "fn": "Ada Lovelace",
                         "hasEmail": "mailto:ada@example.gov"},
        "identifier": "urn:example:every-field",
        "accessLevel": "public",
        "bureauCode": ["015:11"],
        "programCode": ["015:001", "015:002"],
        "license": "https://creativecommons.org/licenses/by/4.0/",
        "rights": "Free to use.",
        "spatial": "Washington, DC",
        "temporal": "2010-01-01/2012-12-31",
        "distribution": [
            {"@type": "dcat:Distribution", "downloadURL": "https://data.example.gov/a.csv",
             "mediaType": "text/csv", "format": "CSV", "title": "The table",
             "description": "All rows."},
            {"@type": "dcat:Distribution", "accessURL": "https://data.example.gov/api",
             "title": "The API", "format": "API"},
        ],
        "accrualPeriodicity": "R/P1M",
        "conformsTo": "https://example.gov/standard",
        "dataQuality": True,
        "describedBy": "https://example.gov/dictionary.json",
        "describedByType": "application/json",
        "isPartOf": "urn:example:parent",
        "issued": "2010-06-01",
        "language": ["en-US"],
        "landingPage": "https://example.gov/every-field",
        "primaryITInvestmentUII": "015-999999999",
        "references": ["https://example.gov/ref1", "https://example.gov/ref2"],
        "systemOfRecords": "https://example.gov/sorn",
        "theme": ["Population", "Geography"],
    }
    doc = {"@type": "dcat:Catalog", "dataset": [full]}
    path = tmp_path / "full.json"
    path.write_text(json.dumps(doc, ensure_ascii=False))
    b = fresh(clone_portal)
    b.cli("load", path, "--format", "datajson")
    srv = start_server(b)
    got = datajson_by_identifier(srv)["urn:example:every-field"]
    assert got == full
    pkg = ok(srv.api("package_show", id="every-optional-field"))
    assert pkg["organization"]["title"] == "Bureau of Everything"
    assert pkg["license_id"] == "CC-BY-4.0"
    assert pkg["contact_email"] == "ada@example.gov"
    assert pkg["frequency"] == "R/P1M"
    assert pkg["language"] == ["en-US"]
    assert pkg["url"] == "https://example.gov/every-field"
    assert [r["url"] for r in pkg["resources"]] == ["https://data.example.gov/a.csv",
                                                    "https://data.example.gov/api"]


def test_datajson_not_public_loads_private(clone_portal, start_server, tmp_path):
    doc = [{"title": "Closed data", "description": "Ask.", "identifier": "closed-1",
            "accessLevel": "non-public", "publisher": {"name": "Closed Office"},
            "keyword": ["closed"], "modified": "2020-01-01",
            "contactPoint": {"fn": "Office", "hasEmail": "mailto:o@example.gov"}}]
    path = tmp_path / "closed.json"
    path.write_text(json.dumps(doc))
    b = fresh(clone_portal)
    b.cli("load", path)
    srv = start_server(b)
    assert datajson_by_identifier(srv) == {}
    pkg = ok(srv.api("package_show", id="closed-data", token=b.tokens["sysadmin"]))
    assert pkg["private"] is True
    assert pkg["access_level"] == "non-public"


def test_datajson_broken_loads_nothing(clone_portal, tmp_path):
    good = {"title": "Fine", "description": "x", "identifier": "fine-1",
            "publisher": {"name": "Office"}}
    bad = {"title": "Broken", "identifier": "broken-2", "publisher": {"name": "Office"},
           "distribution": [{"downloadURL": "javascript:alert(1)", "mediaType": "text/csv"}]}
    path = tmp_path / "broken.json"
    path.write_text(json.dumps({"dataset": [good, bad]}))
    b = fresh(clone_portal)
    p = b.cli("load", path, check=1)
    assert 'invalid URL in "dataset[1].distribution[0].downloadURL": "javascript:alert(1)"' \
        in p.stderr
    assert 'dataset[1], identifier "broken-2"' in p.stderr
    assert "nothing loaded" in p.stderr
    # The good dataset before it was not written either.
    srv = Server(b)
    try:
        assert ok(srv.api("package_list")) == []
    finally:
        srv.stop()
    # Not JSON at all: the line and column.
    path.write_text('{"dataset": [\n  {"title": }\n]}')
    p = b.cli("load", path, "--format", "datajson", check=1)
    assert "invalid JSON at line 2" in p.stderr
    # A missing title names the dataset and the field.
    path.write_text(json.dumps({"dataset": [good, {"identifier": "x-3", "description": "d"}]}))
    p = b.cli("load", path, check=1)
    assert 'missing field "dataset[1].title" (dataset[1], identifier "x-3")' in p.stderr


# -- data packages ---------------------------------------------------------------------------


def strip_package(dp):
    dp = dict(dp)
    for k in ("id", "homepage", "created"):
        dp.pop(k)
    dp["resources"] = [{k: v for k, v in r.items()
                        if k not in ("schema", "type", "profile", "encoding")}
                       for r in dp["resources"]]
    return dp


def test_datapackage_round_trip(source, clone_portal, start_server, tmp_path):
    names = ok(source.api("package_list"))
    assert len(names) == 21
    b = fresh(clone_portal)
    packages = {}
    for name in names:
        r = source.get("/dataset/%s/datapackage.json" % name)
        assert r.status_code == 200
        packages[name] = r.json()
        path = tmp_path / ("%s.json" % name)
        path.write_bytes(r.content)
        b.cli("load", path)
    srv = start_server(b)
    for name, want in packages.items():
        got = srv.get("/dataset/%s/datapackage.json" % name)
        assert got.status_code == 200, name
        assert strip_package(got.json()) == strip_package(want), name


def test_datapackage_download_keeps_schema(source, clone_portal, start_server, tmp_path):
    name = "bls-ces-employment-by-supersector"
    want = source.get("/dataset/%s/datapackage.json" % name).json()
    assert want["resources"][0]["schema"]["fields"]
    path = tmp_path / "datapackage.json"
    path.write_text(json.dumps(want))
    b = fresh(clone_portal)
    out = b.cli("load", path, "--download").stdout
    assert "1 files downloaded, 1 datastore tables ingested, 0 failed" in out
    srv = start_server(b)
    got = srv.get("/dataset/%s/datapackage.json" % name).json()
    assert got["resources"][0]["schema"] == want["resources"][0]["schema"]
    assert got["resources"][0]["hash"] == want["resources"][0]["hash"]
    assert got["resources"][0]["path"].startswith(srv.url + "/")


# -- DCAT-AP ----------------------------------------------------------------------------------


def node_run(mode, path):
    p = subprocess.run([shutil.which("node"), os.path.join(VALIDATORS, "canonical-rdf.mjs"), mode,
                        str(path)], capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stderr[-2000:]
    return p.stdout


def all_pages(srv, tmp_path, tag):
    """The N-Triples lines of every catalog page, without the paging (hydra) triples."""
    lines, page = [], 1
    while True:
        r = srv.get("/catalog.ttl?page=%d" % page)
        if r.status_code == 404:
            break
        assert r.status_code == 200
        path = tmp_path / ("%s-%d.ttl" % (tag, page))
        path.write_bytes(r.content)
        nt = node_run("ntriples", path)
        # Blank node labels are per page: keep them apart.
        lines += [re.sub(r"_:(\S+)", r"_:p%d_\1" % page, l) for l in nt.splitlines() if l]
        page += 1
    return [l for l in lines if "hydra/core#" not in l]


def triples(lines):
    out = []
    for l in lines:
        m = re.match(r'(\S+) (\S+) (.*) \.$', l)
        assert m, l
        out.append(m.groups())
    return out


def canon(lines, tmp_path, tag):
    path = tmp_path / ("%s.nt" % tag)
    path.write_text("\n".join(lines) + "\n")
    return node_run("canon", path).splitlines()


ISSUED = "<http://purl.org/dc/terms/issued>"
DIST = "<http://www.w3.org/ns/dcat#distribution>"


def comparable(lines, site):
    """Without distributions' dct:issued and without the catalog node and its publisher
    (every page repeats them, with a blank publisher of its own, and the pages differ)."""
    ts = triples(lines)
    dists = {t[2] for t in ts if t[1] == DIST}
    catalog = "<%s/>" % site
    blanks = {t[2] for t in ts if t[0] == catalog and t[2].startswith("_:")}
    return [l for l, t in zip(lines, ts)
            if not (t[0] in dists and t[1] == ISSUED) and t[0] != catalog and t[0] not in blanks]


def test_turtle_round_trip(source, clone_portal, start_server, tmp_path):
    a = all_pages(source, tmp_path, "a")
    b_portal = fresh(clone_portal)
    # From the URL: the pages after the first are found through hydra:nextPage.
    out = b_portal.cli("load", source.url + "/catalog.ttl").stdout
    assert "loaded 21 datasets (21 created" in out
    out = b_portal.cli("load", source.url + "/catalog.ttl").stdout
    assert "loaded 21 datasets (0 created, 0 updated, 21 unchanged)" in out
    srv = start_server(b_portal)
    b = all_pages(srv, tmp_path, "b")
    A, B = source.url, srv.url
    ta, tb = triples(a), triples(b)
    ident = "<http://purl.org/dc/terms/identifier>"
    # The second portal's IRIs mapped to the first's (see the top).
    iri = {}
    for s, p, o in tb:
        if p == ident and s.startswith("<%s/dataset/" % B):
            iri[s[1:-1]] = "%s/dataset/%s" % (A, json.loads(o))
    for s, p, o in tb:
        if p == "<http://www.w3.org/ns/dcat#downloadURL>" and s.startswith("<%s/dataset/" % B):
            iri[s[1:-1]] = o[1:-1].split("/download/")[0]
    names_a = {o: s for s, p, o in ta if p == "<http://xmlns.com/foaf/0.1/name>" and "/organization/" in s}
    for s, p, o in tb:
        if p == "<http://xmlns.com/foaf/0.1/name>" and "/organization/" in s:
            iri[s[1:-1]] = names_a[o][1:-1]
    assert len(iri) > 21

    def norm(line):
        for k in sorted(iri, key=len, reverse=True):
            line = line.replace("<%s>" % k, "<%s>" % iri[k])
        return line.replace(B, A)

    b = [norm(l) for l in b]
    ca = canon(comparable(a, A), tmp_path, "a")
    cb = canon(comparable(b, A), tmp_path, "b")
    # The catalog node itself: the same description, once per page.
    assert {l for l in a if l.startswith("<%s/> " % A) and "_:" not in l} == \
        {l for l in b if l.startswith("<%s/> " % A) and "_:" not in l}
    assert len(ca) > 500
    missing, extra = sorted(set(ca) - set(cb)), sorted(set(cb) - set(ca))
    assert not missing and not extra, "only in the source:\n%s\nonly in the copy:\n%s" % (
        "\n".join(missing[:30]), "\n".join(extra[:30]))


def test_turtle_broken_names_line_and_column(clone_portal, tmp_path):
    path = tmp_path / "broken.ttl"
    path.write_text("@prefix dcat: <http://www.w3.org/ns/dcat#> .\n"
                    "<http://x.example/d> a dcat:Dataset ;\n"
                    "   dcat:keyword \"unterminated .\n")
    b = fresh(clone_portal)
    p = b.cli("load", path, check=1)
    assert re.search(r"invalid RDF at line \d+, column -?\d+", p.stderr), p.stderr
    assert "nothing loaded" in p.stderr
    # A dataset without a title: the dataset's IRI and the property.
    path.write_text("@prefix dcat: <http://www.w3.org/ns/dcat#> .\n"
                    "@prefix dct: <http://purl.org/dc/terms/> .\n"
                    "<http://x.example/d> a dcat:Dataset ; dct:identifier \"d-1\" .\n")
    p = b.cli("load", path, check=1)
    assert 'missing dct:title without a language tag (dataset <http://x.example/d>, ' \
           'identifier "d-1")' in p.stderr


def test_rdfxml_and_jsonld_load_the_same(source, clone_portal, start_server, tmp_path):
    name = "bls-ces-employment-by-supersector"
    portals = {}
    for ext in ("ttl", "rdf", "jsonld"):
        r = source.get("/dataset/%s.%s" % (name, ext))
        assert r.status_code == 200
        path = tmp_path / ("d.%s" % ext)
        path.write_bytes(r.content)
        b = clone_portal("import-" + ext)
        b.cli("load", path)
        srv = start_server(b)
        portals[ext] = datajson_by_identifier(srv)
    assert portals["ttl"] == portals["rdf"] == portals["jsonld"]
    assert len(portals["ttl"]) == 1


def test_turtle_pages_loop_and_other_servers(clone_portal):
    """hydra:nextPage is followed only on the source's server, and a loop of pages is an
    error, not a load that never ends."""
    import http.server
    import threading

    pages = {}

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            body = pages.get(self.path, "").encode()
            self.send_response(200 if body else 404)
            self.send_header("Content-Type", "text/turtle")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *a):
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    base = "http://127.0.0.1:%d" % httpd.server_address[1]

    def page(path, nxt):
        return ("@prefix dcat: <http://www.w3.org/ns/dcat#> .\n"
                "@prefix dct: <http://purl.org/dc/terms/> .\n"
                "@prefix hydra: <http://www.w3.org/ns/hydra/core#> .\n"
                "<%s%s> a hydra:PagedCollection ; hydra:nextPage <%s> .\n"
                "<http://x.example/d%s> a dcat:Dataset ; dct:title \"D\" ; "
                "dct:identifier \"d%s\" .\n" % (base, path, nxt, len(pages), len(pages)))

    try:
        pages["/a.ttl"] = page("/a.ttl", base + "/b.ttl")
        pages["/b.ttl"] = page("/b.ttl", base + "/a.ttl")
        pages["/c.ttl"] = page("/c.ttl", "http://169.254.169.254/latest/meta-data")
        b = fresh(clone_portal)
        p = b.cli("load", base + "/a.ttl", check=1)
        assert "the pages loop" in p.stderr and "nothing loaded" in p.stderr, p.stderr
        p = b.cli("load", base + "/c.ttl", check=1)
        assert "on another server: not followed" in p.stderr, p.stderr
        assert b.cli("load", base + "/b.ttl", check=1)  # b → a → b: the same loop
    finally:
        httpd.shutdown()
