"""
The metadata exports against a real `kaifang serve`, checked by validators no one on the
project wrote (tests/validators: ajv-draft-04 for DCAT-US 1.1 data.json, rdf-validate-
shacl with the DCAT-AP 3.0.1 shapes for Turtle, JSON-LD and RDF/XML, ajv for the
Frictionless 1.0 and 2.0 profiles), on a portal loaded with examples/catalog plus
datasets that set every optional field, restricted and non-public ones, a private one,
a draft and hostile text. Also: what the schemas fail to check (their known defects),
that the validators do fail on broken documents, paging, content negotiation, ETags and
gzip. Node and the validators' npm packages come from scripts/install-deps.sh; without
them these tests fail (they do not skip).
"""

import copy
import gzip as gzip_module
import json
import os
import re
import shutil
import subprocess
import time
import urllib.parse

import pytest

from conftest import CATALOG_DIR, ORG, Portal, SOURCE_DIR, Server, copy_portal, ok, run_cli

VALIDATORS = os.path.join(SOURCE_DIR, "tests", "validators")
WAIT = 120.0  # seconds for the ingest worker (ASan, two shared cores)
PAGE_SIZE = 5

CONF = """
catalog_title = "Kaifang test catalog"
catalog_description = "Datasets for the export tests."
catalog_publisher = "Ministry of Data"
catalog_contact_email = opendata@ministry.example.gov
bureau_code = 015:11
program_code = 015:001
catalog_page_size = %d
""" % PAGE_SIZE

FULL = {
    "name": "dcat-full",
    "title": "Every optional field",
    "notes": "A dataset that sets every field DCAT-US 1.1 knows.",
    "tags": [{"name": "complete"}, {"name": "测试"}],
    "contact_name": "Ada Li",
    "contact_email": "ada@ministry.example.gov",
    "temporal": "2010-01-01/2012-12-31",
    "spatial": "Beijing",
    "frequency": "R/P1M",
    "language": ["en", "zh_CN"],
    "title_translated": {"en": "Every optional field", "zh_CN": "所有可选字段"},
    "license_id": "CC-BY-4.0",
    "url": "https://ministry.example.gov/full",
    "version": "1.2",
    "groups": [{"name": "dcat-theme"}],
    "extras": [
        {"key": "bureau_code", "value": "015:12"},
        {"key": "program_code", "value": "015:002"},
        {"key": "issued", "value": "2009-05-01"},
        {"key": "references", "value": "https://ministry.example.gov/doc"},
        {"key": "conforms_to", "value": "https://standards.example.org/s1"},
        {"key": "data_quality", "value": "true"},
        {"key": "described_by", "value": "https://ministry.example.gov/dictionary.csv"},
        {"key": "described_by_type", "value": "text/csv"},
        {"key": "is_part_of", "value": "https://ministry.example.gov/collection"},
        {"key": "primary_it_investment_uii", "value": "015-000000001"},
        {"key": "system_of_records", "value": "https://ministry.example.gov/sorn"},
        {"key": "rights", "value": "No restrictions."},
        {"key": "theme", "value": "Testing"},
    ],
    "resources": [
        {"name": "API", "url": "https://ministry.example.gov/api", "format": "API",
         "resource_type": "api", "description": "The query interface."},
    ],
}

# Every optional DCAT-US dataset field (dataset.json's properties) that FULL sets.
DATASET_FIELDS = {
    "@type", "accessLevel", "rights", "accrualPeriodicity", "bureauCode", "contactPoint",
    "describedBy", "describedByType", "conformsTo", "dataQuality", "description",
    "distribution", "identifier", "issued", "keyword", "landingPage", "language", "license",
    "modified", "primaryITInvestmentUII", "programCode", "publisher", "references", "spatial",
    "systemOfRecords", "temporal", "isPartOf", "theme", "title",
}
DISTRIBUTION_FIELDS = {"@type", "downloadURL", "mediaType", "format", "title", "description",
                       "describedBy", "describedByType"}

HOSTILE_TITLE = '<script>alert(1)</script> """ \' ]]> @prefix x: <y> . \\ end'


# -- validators ---------------------------------------------------------------------------


def node():
    path = shutil.which("node")
    assert path, "node is not on PATH: run scripts/install-deps.sh (make deps)"
    assert os.path.isdir(os.path.join(VALIDATORS, "node_modules")), \
        "tests/validators/node_modules is missing: run scripts/install-deps.sh (make deps)"
    return path


def validate(script, files, *args):
    """Runs a validator on files; returns its report (all files)."""
    p = subprocess.run([node(), os.path.join(VALIDATORS, script)] + list(args) + [str(f) for f in files],
                       capture_output=True, text=True, timeout=300)
    assert p.returncode in (0, 1), "%s failed to run (exit %d): %s %s" % (script, p.returncode,
                                                                        p.stdout[-2000:], p.stderr[-2000:])
    report = json.loads(p.stdout)
    assert (p.returncode == 0) == report["valid"]
    return report


def assert_valid(report):
    bad = [(f["file"], f["errors"][:20]) for f in report["files"] if not f["valid"]]
    assert not bad, "not valid:\n%s" % json.dumps(bad, indent=1, ensure_ascii=False)


def save(tmp_path, name, data):
    path = tmp_path / name
    path.write_bytes(data if isinstance(data, bytes) else data.encode("utf-8"))
    return path


# -- the portal ---------------------------------------------------------------------------


def wait_ingested(srv, rid, token):
    deadline = time.monotonic() + WAIT
    while time.monotonic() < deadline:
        st = ok(srv.api("xloader_status", token=token, resource_id=rid))
        if st["status"] in ("complete", "error"):
            assert st["status"] == "complete", st
            return
        time.sleep(0.05)
    raise AssertionError("resource %s was never ingested" % rid)


@pytest.fixture(scope="module")
def exported(tmp_path_factory, base_portal):
    node()
    dest = tmp_path_factory.mktemp("dcat") / "portal"
    copy_portal(base_portal.path, dest)
    p = Portal(dest)
    p.tokens = dict(base_portal.tokens)
    with open(os.path.join(p.path, "kaifang.conf"), "a") as f:
        f.write(CONF)
    p.cli("load", CATALOG_DIR)
    srv = Server(p, name="dcat")
    tok = p.tokens["sysadmin"]
    ok(srv.api("group_create", token=tok, name="dcat-theme", title="Theme of the tests"))
    full = dict(FULL, owner_org=ORG)
    ok(srv.api("package_create", token=tok, json_body=full))
    table = b"year,value,code\n2010,1.5,007\n2011,2.25,110\n"
    r = ok(srv.api("resource_create", token=tok, params={"package_id": "dcat-full", "name": "Table",
                                                         "description": "The figures."},
                   files={"upload": ("table.csv", table, "text/csv")}))
    wait_ingested(srv, r["id"], tok)
    ok(srv.api("package_create", token=tok, name="dcat-restricted", owner_org=ORG,
               title="Restricted data", access_level="restricted public",
               tags=[{"name": "health"}], notes="Ask for access."))
    r = ok(srv.api("resource_create", token=tok, params={"package_id": "dcat-restricted",
                                                         "name": "Restricted table"},
                   files={"upload": ("secret-rows.csv", b"a,b\n1,2\n", "text/csv")}))
    restricted_rid = r["id"]
    ok(srv.api("package_create", token=tok, name="dcat-nonpublic", owner_org=ORG,
               title="Non-public data", access_level="non-public",
               resources=[{"name": "Closed", "url": "https://ministry.example.gov/closed-file.csv",
                           "format": "CSV"}]))
    ok(srv.api("package_create", token=tok, name="dcat-private", owner_org=ORG, private=True,
               title="Private draft title", notes="private-marker"))
    ok(srv.api("package_create", token=tok, name="dcat-draft", owner_org=ORG, state="draft",
               title="Drafted title", notes="draft-marker"))
    ok(srv.api("package_create", token=tok, name="dcat-hostile", owner_org=ORG, title=HOSTILE_TITLE,
               notes="<img src=x onerror=alert(1)> \u0001\u0085 end", spatial="中国 😀",
               tags=[{"name": "hostile"}],
               resources=[{"name": "odd link", "url": "https://h.example/a b>c\"d{}",
                           "format": "weird format", "mimetype": "text/csv; charset=utf-8"}]))
    srv.restricted_rid = restricted_rid
    yield srv
    srv.stop()


def public_names(srv):
    """Names of the datasets the public sees, from the CKAN API."""
    return ok(srv.api("package_list"))


def datajson(srv, tmp_path):
    r = srv.get("/data.json")
    assert r.status_code == 200, r.text[:500]
    assert r.headers["Content-Type"].startswith("application/json")
    return r.content, save(tmp_path, "data.json", r.content)


# -- DCAT-US ------------------------------------------------------------------------------


def test_datajson_validates(exported, tmp_path):
    raw, path = datajson(exported, tmp_path)
    report = validate("validate-datajson.mjs", [path])
    assert_valid(report)
    doc = json.loads(raw)
    names = public_names(exported)
    # Every public dataset once: the 21 of examples/catalog and the test's own.
    assert len(doc["dataset"]) == len(names) == 21 + 4
    assert report["files"][0]["summary"]["datasets"] == len(names)
    text = raw.decode("utf-8")
    for marker in ("dcat-private", "Private draft title", "private-marker", "dcat-draft",
                   "Drafted title", "draft-marker"):
        assert marker not in text, marker
    assert doc["@id"] == exported.url + "/data.json"
    assert doc["@context"] == "https://project-open-data.cio.gov/v1.1/schema/catalog.jsonld"
    assert doc["conformsTo"] == "https://project-open-data.cio.gov/v1.1/schema"
    # The configured codes and contact stand in for datasets without their own.
    airports = next(d for d in doc["dataset"] if d["title"].startswith("US Airports"))
    assert airports["bureauCode"] == ["015:11"] and airports["programCode"] == ["015:001"]
    assert airports["contactPoint"]["hasEmail"] == "mailto:opendata@ministry.example.gov"
    dist = airports["distribution"][0]
    assert dist["mediaType"] == "text/csv"
    assert exported.get(urllib.parse.urlparse(dist["downloadURL"]).path).status_code == 200


def test_datajson_every_optional_field(exported, tmp_path):
    raw, path = datajson(exported, tmp_path)
    doc = json.loads(raw)
    full = next(d for d in doc["dataset"] if d["title"] == "Every optional field")
    missing = DATASET_FIELDS - set(full)
    assert not missing, "fields not exported: %s" % sorted(missing)
    assert full["bureauCode"] == ["015:12"] and full["programCode"] == ["015:002"]
    assert full["language"] == ["en", "zh-CN"]
    assert full["temporal"] == "2010-01-01/2012-12-31"
    assert full["issued"] == "2009-05-01"
    assert full["dataQuality"] is True
    assert full["theme"] == ["Theme of the tests", "Testing"]
    assert full["contactPoint"] == {"@type": "vcard:Contact", "fn": "Ada Li",
                                    "hasEmail": "mailto:ada@ministry.example.gov"}
    table = next(x for x in full["distribution"] if x.get("title") == "Table")
    assert DISTRIBUTION_FIELDS <= set(table), sorted(DISTRIBUTION_FIELDS - set(table))
    assert table["describedBy"] == exported.url + "/dataset/dcat-full/datapackage.json"
    api = next(x for x in full["distribution"] if x.get("title") == "API")
    assert api["accessURL"] == "https://ministry.example.gov/api" and "downloadURL" not in api
    # A catalog of this dataset alone validates too.
    alone = dict(doc, dataset=[full])
    assert_valid(validate("validate-datajson.mjs", [save(tmp_path, "full.json", json.dumps(alone))]))


def test_datajson_restricted_without_downloads(exported, tmp_path):
    raw, path = datajson(exported, tmp_path)
    doc = json.loads(raw)
    by_title = {d["title"]: d for d in doc["dataset"]}
    restricted = by_title["Restricted data"]
    closed = by_title["Non-public data"]
    assert restricted["accessLevel"] == "restricted public"
    assert closed["accessLevel"] == "non-public"
    for d, page in ((restricted, "dcat-restricted"), (closed, "dcat-nonpublic")):
        assert d["rights"]
        for dist in d["distribution"]:
            assert "downloadURL" not in dist
            assert dist["accessURL"] == exported.url + "/dataset/" + page
    text = raw.decode("utf-8")
    assert exported.restricted_rid not in text
    assert "secret-rows.csv" not in text and "closed-file.csv" not in text
    summary = validate("validate-datajson.mjs", [path])["files"][0]["summary"]
    assert not [u for u in summary["downloadURLs"] if "secret-rows" in u]


def test_datajson_known_defects_are_caught(exported, tmp_path):
    """The checks the official schema lacks do fail: each broken copy is refused."""
    raw, _ = datajson(exported, tmp_path)
    doc = json.loads(raw)
    i_public = next(i for i, d in enumerate(doc["dataset"]) if d["accessLevel"] == "public")
    i_restricted = next(i for i, d in enumerate(doc["dataset"]) if d["accessLevel"] == "restricted public")
    cases = {
        "empty": (lambda d: d.update(dataset=[]), "lists no dataset"),
        "bureau": (lambda d: d["dataset"][i_public].update(bureauCode=["x015:11x"]), "is not NNN:NN"),
        "program": (lambda d: d["dataset"][i_public].update(programCode=["015:0011"]), "is not NNN:NNN"),
        "rights": (lambda d: d["dataset"][i_restricted].pop("rights"), "without rights"),
        "download": (lambda d: d["dataset"][i_restricted]["distribution"][0].update(
            downloadURL="https://x.example/f.csv", mediaType="text/csv"), "lists downloadURL"),
        "duplicate": (lambda d: d["dataset"].append(copy.deepcopy(d["dataset"][0])), "is not unique"),
        "modified": (lambda d: d["dataset"][i_public].update(modified="2020-13-45"), None),
    }
    files = []
    for name, (mutate, _) in cases.items():
        d = copy.deepcopy(doc)
        mutate(d)
        files.append(save(tmp_path, name + ".json", json.dumps(d)))
    report = validate("validate-datajson.mjs", files)
    assert not report["valid"]
    for (name, (_, message)), f in zip(cases.items(), report["files"]):
        assert not f["valid"], "%s passed" % name
        if message:
            assert any(message in e for e in f["errors"]), (name, f["errors"])
    # And the original passes the same checks.
    assert_valid(validate("validate-datajson.mjs", [save(tmp_path, "orig.json", raw)]))


def test_datajson_http(exported):
    r = exported.get("/data.json", headers={"Accept-Encoding": "identity"})
    etag = r.headers["ETag"]
    assert r.headers["Cache-Control"] == "no-cache"
    # A conditional request costs nothing while nothing changed.
    r2 = exported.get("/data.json", headers={"If-None-Match": etag, "Accept-Encoding": "identity"})
    assert r2.status_code == 304 and r2.content == b""
    # gzip on the way, the same document inside, a different tag.
    g = exported.session.get(exported.url + "/data.json", headers={"Accept-Encoding": "gzip"},
                             stream=True, timeout=60)
    assert g.headers.get("Content-Encoding") == "gzip"
    assert g.headers["ETag"] != etag
    assert gzip_module.decompress(g.raw.read()) == r.content
    h = exported.request("HEAD", "/data.json")
    assert h.status_code == 200 and h.content == b""
    # The same bytes twice; a change makes a new tag.
    assert exported.get("/data.json", headers={"Accept-Encoding": "identity"}).content == r.content
    tok = exported.portal.tokens["sysadmin"]
    ok(exported.api("package_patch", token=tok, id="dcat-full", version="1.3"))
    r3 = exported.get("/data.json", headers={"If-None-Match": etag, "Accept-Encoding": "identity"})
    assert r3.status_code == 200 and r3.headers["ETag"] != etag
    assert exported.request("POST", "/data.json").status_code == 405


# -- DCAT-AP ------------------------------------------------------------------------------


def walk_pages(srv):
    """Every page of /catalog.ttl, following hydra:nextPage from the first."""
    pages = []
    url = "/catalog.ttl"
    while url:
        r = srv.get(url)
        assert r.status_code == 200, (url, r.text[:300])
        pages.append(r.content)
        m = re.search(r'hydra:nextPage "([^"]+)"', r.text)
        url = None
        if m:
            u = urllib.parse.urlparse(m.group(1))
            url = u.path + "?" + u.query
        assert len(pages) < 100
    return pages


def test_catalog_turtle_pages(exported, tmp_path):
    pages = walk_pages(exported)
    total = len(public_names(exported))
    assert len(pages) == (total + PAGE_SIZE - 1) // PAGE_SIZE
    files = [save(tmp_path, "page-%d.ttl" % (i + 1), p) for i, p in enumerate(pages)]
    report = validate("validate-shacl.mjs", files, "turtle")
    assert_valid(report)
    identifiers = []
    for i, f in enumerate(report["files"]):
        s = f["summary"]
        assert s["catalogs"] == 1
        h = s["hydra"]
        page = i + 1
        assert h["page"] == "%s/catalog.ttl?page=%d" % (exported.url, page)
        assert h["totalItems"] == str(total) and h["itemsPerPage"] == str(PAGE_SIZE)
        assert h["firstPage"] == exported.url + "/catalog.ttl?page=1"
        assert h["lastPage"] == "%s/catalog.ttl?page=%d" % (exported.url, len(pages))
        assert ("nextPage" in h) == (page < len(pages))
        assert ("previousPage" in h) == (page > 1)
        assert len(s["datasets"]) == (PAGE_SIZE if page < len(pages) else total - PAGE_SIZE * (len(pages) - 1))
        identifiers += [d["identifier"][0] for d in s["datasets"]]
    # Every public dataset exactly once across the pages, as in data.json.
    doc = json.loads(exported.get("/data.json").content)
    assert sorted(identifiers) == sorted(d["identifier"] for d in doc["dataset"])
    text = b"".join(pages).decode("utf-8")
    for marker in ("Private draft title", "private-marker", "Drafted title", "draft-marker",
                   "secret-rows.csv", "closed-file.csv", exported.restricted_rid):
        assert marker not in text, marker
    # Past the last page there is none; a malformed page number is refused.
    assert exported.get("/catalog.ttl?page=%d" % (len(pages) + 1)).status_code == 404
    assert exported.get("/catalog.ttl?page=0").status_code == 400
    assert exported.get("/catalog.ttl?page=abc").status_code == 400
    assert exported.get("/catalog.ttl?page=-1").status_code == 400


@pytest.mark.parametrize("ext,fmt,ctype", [("jsonld", "jsonld", "application/ld+json"),
                                           ("rdf", "rdfxml", "application/rdf+xml")])
def test_catalog_other_formats(exported, tmp_path, ext, fmt, ctype):
    total = len(public_names(exported))
    last = (total + PAGE_SIZE - 1) // PAGE_SIZE
    files = []
    for page in (1, 2, last):
        r = exported.get("/catalog.%s?page=%d" % (ext, page))
        assert r.status_code == 200
        assert r.headers["Content-Type"].startswith(ctype)
        assert r.headers.get("ETag")
        files.append(save(tmp_path, "page-%d.%s" % (page, ext), r.content))
    report = validate("validate-shacl.mjs", files, fmt)
    assert_valid(report)
    turtle = validate("validate-shacl.mjs", [save(tmp_path, "p1.ttl", exported.get("/catalog.ttl").content)],
                      "turtle")
    # The same graph as the Turtle of the same page.
    assert report["files"][0]["summary"]["triples"] == turtle["files"][0]["summary"]["triples"]
    assert report["files"][0]["summary"]["hydra"]["nextPage"] == "%s/catalog.%s?page=2" % (exported.url, ext)


def test_dataset_documents(exported, tmp_path):
    names = ["dcat-full", "dcat-restricted", "dcat-nonpublic", "dcat-hostile", "faa-us-airports",
             "cn-nbs-administrative-divisions-2023"]
    for ext, fmt in (("ttl", "turtle"), ("jsonld", "jsonld"), ("rdf", "rdfxml")):
        files = []
        for name in names:
            r = exported.get("/dataset/%s.%s" % (name, ext))
            assert r.status_code == 200, (name, ext, r.text[:300])
            files.append(save(tmp_path, "%s.%s" % (name, ext), r.content))
        report = validate("validate-shacl.mjs", files, fmt)
        assert_valid(report)
        by_file = {os.path.basename(f["file"]): f["summary"] for f in report["files"]}
        full = by_file["dcat-full.%s" % ext]["datasets"][0]
        assert full["title"].count("Every optional field") == 1 and "所有可选字段" in full["title"]
        assert full["accessRights"] == ["http://publications.europa.eu/resource/authority/access-right/PUBLIC"]
        assert len(full["downloadURLs"]) == 1 and full["downloadURLs"][0].endswith("/table.csv")
        for name in ("dcat-restricted", "dcat-nonpublic"):
            d = by_file["%s.%s" % (name, ext)]["datasets"][0]
            assert d["distributions"] == 1 and d["downloadURLs"] == []
        hostile = by_file["dcat-hostile.%s" % ext]["datasets"][0]
        assert HOSTILE_TITLE in hostile["title"]
    # By id as well as by name.
    full_id = ok(exported.api("package_show", id="dcat-full"))["id"]
    assert exported.get("/dataset/%s.ttl" % full_id).content == exported.get("/dataset/dcat-full.ttl").content


def test_content_negotiation(exported):
    ttl = exported.get("/dataset/dcat-full.ttl")
    r = exported.get("/dataset/dcat-full", headers={"Accept": "text/turtle"})
    assert r.status_code == 200 and r.headers["Content-Type"].startswith("text/turtle")
    assert r.content == ttl.content
    r = exported.get("/dataset/dcat-full", headers={"Accept": "application/ld+json"})
    assert r.headers["Content-Type"].startswith("application/ld+json")
    assert r.content == exported.get("/dataset/dcat-full.jsonld").content
    r = exported.get("/dataset/dcat-full", headers={"Accept": "text/html;q=0.5, application/rdf+xml"})
    assert r.headers["Content-Type"].startswith("application/rdf+xml")
    browser = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
    for accept in (browser, "*/*", None, "text/html, text/turtle"):
        h = {"Accept": accept} if accept else {}
        r = exported.get("/dataset/dcat-full", headers=h)
        assert r.status_code == 200 and r.headers["Content-Type"].startswith("text/html"), accept
    # The page's URL is negotiated: every variant says so to shared caches (RFC 9110
    # §12.5.5), on the 304 too; a URL with an extension is not.
    def vary(r):
        return {v.strip().lower() for v in r.headers.get("Vary", "").split(",") if v.strip()}
    for h in ({"Accept": "text/turtle"}, {"Accept": "application/ld+json"}, {"Accept": browser}, {},
              {"Accept": "text/turtle", "Accept-Encoding": "identity"}):
        r = exported.get("/dataset/dcat-full", headers=h)
        assert r.status_code == 200 and "accept" in vary(r), (h, r.headers.get("Vary"))
        again = exported.get("/dataset/dcat-full", headers=dict(h, **{"If-None-Match": r.headers["ETag"]}))
        assert again.status_code == 304 and "accept" in vary(again), (h, again.headers.get("Vary"))
    assert "accept" not in vary(exported.get("/dataset/dcat-full.ttl"))
    # What the public may not see is not found in any form.
    for name in ("dcat-private", "dcat-draft", "no-such-dataset"):
        for path, h in (("/dataset/%s.ttl" % name, {}), ("/dataset/%s.jsonld" % name, {}),
                        ("/dataset/%s.rdf" % name, {}),
                        ("/dataset/%s" % name, {"Accept": "text/turtle"}),
                        ("/dataset/%s/datapackage.json" % name, {})):
            r = exported.get(path, headers=h)
            assert r.status_code == 404, (path, r.status_code)
            assert b"private-marker" not in r.content and b"draft-marker" not in r.content
    # Even with the token of a sysadmin, who sees them everywhere else: the exports are
    # the public's.
    tok = exported.portal.tokens["sysadmin"]
    assert exported.get("/dataset/dcat-private", headers={"Authorization": tok}).status_code == 200
    assert exported.get("/dataset/dcat-private.ttl", headers={"Authorization": tok}).status_code == 404
    assert exported.get("/dataset/dcat-full.xml").status_code == 404


# -- Frictionless -------------------------------------------------------------------------


def test_datapackages(exported, tmp_path):
    files = []
    names = public_names(exported)
    refused = {}
    for name in names:
        r = exported.get("/dataset/%s/datapackage.json" % name)
        if r.status_code == 404:
            refused[name] = r.status_code
            continue
        assert r.status_code == 200, (name, r.text[:300])
        assert r.headers["Content-Type"].startswith("application/json")
        files.append(save(tmp_path, "%s.datapackage.json" % name, r.content))
    # Only what the public may not download has none.
    assert set(refused) == {"dcat-restricted", "dcat-nonpublic"}, refused
    report = validate("validate-datapackage.mjs", files)
    assert_valid(report)
    by_name = {f["summary"]["name"]: f["summary"] for f in report["files"]}
    airports = by_name["faa-us-airports"]["resources"][0]
    assert dict(airports["fields"]) == {"iata": "string", "name": "string", "city": "string",
                                        "state": "string", "country": "string",
                                        "latitude": "number", "longitude": "number"}
    towns = next(r for r in by_name["cn-nbs-administrative-divisions-2023"]["resources"] if r["name"] == "towns.csv")
    assert dict(towns["fields"])["code"] == "string"  # codes keep their leading zeros
    full = by_name["dcat-full"]["resources"]
    table = next(r for r in full if r["name"] == "table")
    assert table["fields"] == [["year", "integer"], ["value", "number"], ["code", "string"]]
    assert exported.get(urllib.parse.urlparse(table["path"]).path).content.startswith(b"year,value,code")
    # Every example file with a table has its schema, and the GB18030 copy says so.
    dp = json.loads(exported.get("/dataset/cn-nbs-administrative-divisions-2023/datapackage.json").content)
    gb = next(r for r in dp["resources"] if r["name"] == "counties.gb18030.csv")
    assert gb["encoding"] == "gb18030"
    assert all("schema" in r for r in dp["resources"])


def test_validators_catch_broken_documents(exported, tmp_path):
    """The SHACL and Frictionless checks fail on documents broken on purpose."""
    ttl = exported.get("/dataset/dcat-full.ttl").text
    broken = {
        # A distribution without its accessURL.
        "no-access.ttl": re.sub(r"dcat:accessURL <[^>]+>\s*;", "", ttl),
        # A publisher that is not stated to be a foaf:Agent (range.ttl).
        "untyped-agent.ttl": ttl.replace("a foaf:Agent", "a foaf:Document"),
        # A modified date the shapes never check.
        "bad-date.ttl": re.sub(r'dct:modified "[^"]+"\^\^xsd:dateTime',
                               'dct:modified "2020-13-45"^^xsd:date', ttl, count=1),
    }
    for name, text in broken.items():
        assert text != ttl, name
    report = validate("validate-shacl.mjs", [save(tmp_path, n, t) for n, t in broken.items()], "turtle")
    assert not report["valid"]
    for f in report["files"]:
        assert not f["valid"] and f["errors"], f["file"]
    dp = json.loads(exported.get("/dataset/dcat-full/datapackage.json").content)
    bad = copy.deepcopy(dp)
    bad["resources"][0]["name"] = "Not Valid Name"
    bad2 = copy.deepcopy(dp)
    bad2["resources"].append(copy.deepcopy(dp["resources"][0]))
    report = validate("validate-datapackage.mjs", [save(tmp_path, "bad.json", json.dumps(bad)),
                                                   save(tmp_path, "bad2.json", json.dumps(bad2))])
    assert [f["valid"] for f in report["files"]] == [False, False]


def test_export_round_trip_is_stable(exported, tmp_path):
    """The same request gives the same bytes (the import's round trip needs a stable
    export)."""
    for path in ("/data.json", "/catalog.ttl?page=2", "/catalog.jsonld", "/dataset/dcat-full.rdf",
                 "/dataset/dcat-full/datapackage.json"):
        a = exported.get(path, headers={"Accept-Encoding": "identity"})
        b = exported.get(path, headers={"Accept-Encoding": "identity"})
        assert a.status_code == 200 and a.content == b.content, path


def test_bad_config_stops_the_server(tmp_path, kaifang_bin):
    p = Portal(tmp_path / "portal").init()
    with open(os.path.join(p.path, "kaifang.conf"), "a") as f:
        f.write("bureau_code = 15:11\n")
    r = run_cli("serve", "--listen", "127.0.0.1:0", portal=p.path, timeout=60)
    assert r.returncode != 0
    assert 'invalid value "15:11" for key "bureau_code"' in r.stderr
