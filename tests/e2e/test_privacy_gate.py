"""
The publish gate of the privacy engine (issue 5 §1 and §4; docs/internals/privacy-gate.md)
against a real `kaifang serve`: every ingested table is scanned and its report kept
(datastore_privacy_report); a file with identity numbers uploaded into a public dataset
is refused with 409 naming the column; a private dataset holding such a table cannot be
made public (409); the publisher may not override the gate on their own table (403),
another approver (issue 8's role) may, with a written justification that the ledger records; a table
ingested into a public dataset that fails the gate is withheld from the public; the
report on the dataset page and in the API holds no raw value; a clean table publishes.
Synthetic people only (`kaifang synth people`): nobody's real data.
"""

import json
import os
import shutil
import time
import urllib.parse

import pytest

from conftest import CATALOG_DIR, ORG, Portal, Server, create_token, fails, ok, run_cli, unique

WAIT = 120.0  # seconds for the ingest worker (ASan, two cores shared)
POLL_TIMEOUT = 20.0


def people_csv(portal, rows=40, seed=7):
    out = run_cli("synth", "people", "--rows", str(rows), "--seed", str(seed), check=0)
    return out.stdout.encode("utf-8")


def upload(srv, token, package_id, content, filename="people.csv"):
    return srv.api("resource_create", token=token, params={"package_id": package_id, "name": filename},
                   files={"upload": (filename, content, "text/csv")})


def wait_ingest(srv, rid, token):
    deadline = time.monotonic() + WAIT
    while time.monotonic() < deadline:
        st = ok(srv.api("xloader_status", token=token, resource_id=rid))
        if st["status"] in ("complete", "error"):
            assert st["status"] == "complete", st
            return st
        time.sleep(0.05)
    raise AssertionError("resource %s was never ingested" % rid)


def checkpoint_size(srv):
    r = srv.get("/ledger/checkpoint")
    assert r.status_code == 200
    return int(r.content.decode("utf-8").split("\n")[1])


def ledger_entries_since(srv, start, type_):
    """The entries of type_ appended at or after start (waits for the sequencer)."""
    deadline = time.monotonic() + POLL_TIMEOUT
    while time.monotonic() < deadline:
        size = checkpoint_size(srv)
        if size > start:
            r = srv.get("/api/ledger/entries?start=%d&end=%d" % (start, size))
            assert r.status_code == 200
            got = [json.loads(e["entry"]) for e in r.json()]
            hits = [e for e in got if e.get("type") == type_]
            if hits:
                return hits
        time.sleep(0.05)
    raise AssertionError("no %s entry in the ledger" % type_)


def raw_values(csv_bytes, columns):
    """The values of the named columns of a CSV (to check none leaks)."""
    lines = csv_bytes.decode("utf-8").splitlines()
    head = lines[0].split(",")
    idx = [head.index(c) for c in columns]
    return {line.split(",")[i] for line in lines[1:] for i in idx}


@pytest.fixture(scope="module")
def admin2(portal, srv):
    """A second admin of the organization holding the approver role (issue 8), and the
    approver role for orgadmin too (so that the two-person rule is what refuses it)."""
    portal.cli("user", "add", "admin2", "--email", "admin2@example.org", check=0)
    portal.cli("member", "add", ORG, "admin2", "admin", check=0)
    portal.cli("role", "add", "admin2", "approver", "--org", ORG, check=0)
    portal.cli("role", "add", "orgadmin", "approver", "--org", ORG, check=0)
    return create_token(portal, "admin2")


def test_upload_with_id_numbers_into_public_dataset_is_refused(portal, srv, tok):
    name = unique("pub")
    d = ok(srv.api("package_create", token=tok["editor"], name=name, owner_org=ORG))
    # Someone who may not add resources gets the catalog's 403, not a scan.
    fails(upload(srv, tok["outsider"], d["id"], people_csv(portal)), 403)
    people = people_csv(portal)
    before = ok(srv.api("package_show", id=d["id"]))["metadata_modified"]
    err = fails(upload(srv, tok["editor"], d["id"], people), 409, field="privacy")
    msg = json.dumps(err, ensure_ascii=False)
    assert "身份证号" in msg and "direct identifier" in msg, msg
    # Refused with nothing stored (privacy-gate.md, "A refused upload"): no resource, no
    # change to the dataset; the answer says why and how to go on.
    assert "nothing was stored" in err["message"] and "resource_id" not in err, err
    shown = ok(srv.api("package_show", token=tok["editor"], id=d["id"]))
    assert shown["resources"] == [] and shown["metadata_modified"] == before, shown
    gate = err["privacy_gate"]
    assert gate["status"] == "blocked", gate
    direct = [r for r in gate["reasons"] if r["reason"] == "direct_identifier"][0]
    assert "身份证号" in direct["columns"] and "手机号码" in direct["columns"], gate
    steps = " ".join(err["next_steps"])
    assert "policy" in steps and "private dataset" in steps and "datastore_privacy_override" in steps, err
    for v in raw_values(people, ["身份证号", "手机号码"]):
        assert v not in msg, v


def test_quasi_identifiers_below_k_refused(portal, srv, tok):
    # No direct identifier, but sex, age and diagnosis single people out (k = 1).
    content = "性别,年龄,诊断\n" + "".join("%s,%d,J0%d\n" % ("男女"[i % 2], 20 + i, i % 9)
                                            for i in range(30))
    d = ok(srv.api("package_create", token=tok["editor"], name=unique("pub"), owner_org=ORG))
    err = fails(upload(srv, tok["editor"], d["id"], content.encode("utf-8"), "ages.csv"), 409,
                field="privacy")
    msg = json.dumps(err, ensure_ascii=False)
    assert "k = 1" in msg and "年龄" in msg and "below the portal's k = 5" in msg, msg


def test_private_dataset_gate_override_and_report(portal, srv, tok, admin2):
    people = people_csv(portal, rows=60, seed=11)
    name = unique("priv")
    d = ok(srv.api("package_create", token=tok["orgadmin"], name=name, owner_org=ORG, private=True))
    rid = ok(upload(srv, tok["orgadmin"], d["id"], people))["id"]
    wait_ingest(srv, rid, tok["orgadmin"])

    rep = ok(srv.api("datastore_privacy_report", token=tok["orgadmin"], resource_id=rid))
    classes = {c["name"]: c["class"] for c in rep["columns"]}
    assert classes["身份证号"] == "direct_identifier" and classes["手机号码"] == "direct_identifier"
    assert classes["性别"] == "quasi_identifier" and classes["诊断"] == "sensitive"
    assert rep["publisher"] == "orgadmin" and rep["rows"] == 60
    assert isinstance(rep["k"], int) and rep["k"] >= 1
    assert rep["gate"]["status"] == "blocked"
    # The public cannot see a private dataset's report.
    fails(srv.api("datastore_privacy_report", resource_id=rid), 404)

    # Making it public is refused, naming the columns; nothing changes.
    err = fails(srv.api("package_patch", token=tok["orgadmin"], id=name, private=False), 409,
                field="privacy")
    assert "身份证号" in json.dumps(err, ensure_ascii=False)
    assert ok(srv.api("package_show", token=tok["orgadmin"], id=name))["private"] is True

    # Overrides: the publisher may not (two-person rule), an editor is no approver, and a
    # justification is required.
    err = fails(srv.api("datastore_privacy_override", token=tok["orgadmin"], resource_id=rid,
                        justification="I say so"), 403)
    assert "own request" in err["message"], err
    err = fails(srv.api("datastore_privacy_override", token=tok["editor"], resource_id=rid,
                        justification="x"), 403)
    assert "not an approver" in err["message"], err
    fails(srv.api("datastore_privacy_override", token=admin2, resource_id=rid, justification="  "),
          409, field="justification")

    start = checkpoint_size(srv)
    got = ok(srv.api("datastore_privacy_override", token=admin2, resource_id=rid,
                     justification="synthetic test records, approved for publication"))
    assert got["gate"]["status"] == "overridden" and got["override"]["user"] == "admin2"
    [entry] = ledger_entries_since(srv, start, "privacy_override")
    assert entry["actor"] == "admin2" and entry["org"] == ORG, entry
    assert entry["objects"]["resource"] == rid and entry["objects"]["visibility"] == "private", entry
    assert entry["digest"].startswith("sha256:"), entry
    # A second override of the same table: nothing to override.
    fails(srv.api("datastore_privacy_override", token=admin2, resource_id=rid,
                  justification="again"), 409)

    ok(srv.api("package_patch", token=tok["orgadmin"], id=name, private=False))

    # The published report: in the API and on the dataset page, without raw values.
    pub = ok(srv.api("datastore_privacy_report", resource_id=rid))
    assert pub["gate"]["status"] == "overridden"
    assert pub["override"]["justification"].startswith("synthetic test records")
    assert all("examples" not in c for c in pub["columns"])
    text = json.dumps(pub, ensure_ascii=False)
    page = srv.get("/dataset/" + name)
    assert page.status_code == 200
    html = page.content.decode("utf-8")
    assert "身份证号" in html and "overridden" in html, html[:2000]
    for v in raw_values(people, ["身份证号", "手机号码", "姓名"]):
        assert v not in text, v
        assert v not in html, v
    # The editor's view has masked examples, never a whole value.
    mine = ok(srv.api("datastore_privacy_report", token=tok["orgadmin"], resource_id=rid))
    examples = [e for c in mine["columns"] for e in c.get("examples", [])]
    assert examples and all("*" in e for e in examples), examples
    ids = raw_values(people, ["身份证号"])
    assert not any(e in ids for e in examples)


def test_ingest_into_public_dataset_is_withheld(portal, srv, tok, tmp_path, admin2):
    name = unique("pubi")
    d = ok(srv.api("package_create", token=tok["editor"], name=name, owner_org=ORG))
    rid = ok(upload(srv, tok["editor"], d["id"], b"region,year,count\nA,2020,10\nB,2020,12\n",
                    "counts.csv"))["id"]
    wait_ingest(srv, rid, tok["editor"])
    ok(srv.api("datastore_search", resource_id=rid))
    # The command line ingests another file into the resource: it fails the gate, so the
    # table is not served to the public, and neither is the file.
    f = tmp_path / "people.csv"
    f.write_bytes(people_csv(portal, rows=20, seed=3))
    got = portal.cli("ingest", str(f), "--resource", rid)
    assert "warning: the privacy gate blocks this table" in got.stderr, got.stderr
    assert "withheld from the public" in got.stderr, got.stderr
    err = fails(srv.api("datastore_search", resource_id=rid), 403)
    assert "withheld by the privacy gate" in err["message"], err
    fails(srv.api("datastore_search_sql", sql='SELECT * FROM "%s"' % rid), 403)
    assert srv.get("/datastore/dump/%s" % rid).status_code == 403
    url = ok(srv.api("resource_show", id=rid))["url"]
    assert srv.get(urllib.parse.urlparse(url).path).status_code == 403
    ok(srv.api("datastore_search", token=tok["editor"], resource_id=rid))
    rep = ok(srv.api("datastore_privacy_report", resource_id=rid))
    assert rep["gate"]["status"] == "blocked"
    # The resource's page shows why, and no row.
    page = srv.get("/dataset/%s/resource/%s" % (name, rid))
    assert page.status_code == 200
    html = page.content.decode("utf-8")
    assert "withheld by the privacy gate" in html and "身份证号" in html, html[:3000]
    for v in raw_values(f.read_bytes(), ["身份证号", "手机号码", "姓名"]):
        assert v not in html, v
    # Overridden by an approver who did not publish it (the command line did): served.
    ok(srv.api("datastore_privacy_override", token=admin2, resource_id=rid,
               justification="test: a known synthetic table"))
    ok(srv.api("datastore_search", resource_id=rid))


def test_clean_table_publishes(portal, srv, tok):
    name = unique("clean")
    d = ok(srv.api("package_create", token=tok["editor"], name=name, owner_org=ORG, private=True))
    content = "省份,年份,出院人数\n" + "".join("%d,%d,%d\n" % (110000 + i * 10000, 2020 + i % 3, 100 + i)
                                             for i in range(12))
    rid = ok(upload(srv, tok["editor"], d["id"], content.encode("utf-8"), "discharges.csv"))["id"]
    wait_ingest(srv, rid, tok["editor"])
    ok(srv.api("package_patch", token=tok["editor"], id=name, private=False))
    rep = ok(srv.api("datastore_privacy_report", resource_id=rid))
    assert rep["gate"]["status"] == "passed" and rep["direct_identifiers"] == [], rep
    ok(srv.api("datastore_search", resource_id=rid))
    # A clean upload into the public dataset is accepted too.
    ok(upload(srv, tok["editor"], d["id"], content.encode("utf-8"), "more.csv"))


def test_scan_resource_on_the_command_line(portal, srv, tok):
    d = ok(srv.api("package_create", token=tok["editor"], name=unique("cli"), owner_org=ORG,
                   private=True))
    rid = ok(upload(srv, tok["editor"], d["id"], people_csv(portal, rows=10, seed=5)))["id"]
    wait_ingest(srv, rid, tok["editor"])
    out = portal.cli("scan", rid, "--json")
    rep = json.loads(out.stdout)
    classes = {c["name"]: c["class"] for c in rep["columns"]}
    assert classes["身份证号"] == "direct_identifier", rep


def test_demo_publishes_hospital_discharges(tmp_path, kaifang_bin):
    """`kaifang demo` publishes synthetic people through the pipeline: de-identified to
    k >= 5 by a policy (the interface of `kaifang anonymize --policy`), scanned at ingest,
    passed by the gate; a visitor sees the report and the policy."""
    cat = tmp_path / "catalog"
    cat.mkdir()
    shutil.copytree(os.path.join(CATALOG_DIR, "iso-4217-currencies"), cat / "iso-4217-currencies")
    p = Portal(tmp_path / "demo")
    s = Server(p, command=("demo", "--examples", str(cat)), access_log=False, name="pgdemo")
    try:
        d = ok(s.api("package_show", id="hospital-discharges"))
        assert d["private"] is False and len(d["resources"]) == 1
        rid = d["resources"][0]["id"]
        rep = ok(s.api("datastore_privacy_report", resource_id=rid))
        assert rep["gate"]["status"] == "passed", rep["gate"]
        assert rep["k"] >= 5 and rep["direct_identifiers"] == [], rep
        assert set(rep["quasi_identifiers"]) == {"性别", "民族", "出生日期", "职业"}, rep
        assert rep["rows"] == 3000
        tr = {t["column"]: t["transformation"] for t in rep["transformations"]}
        assert {"姓名", "身份证号", "手机号码", "备注", "出生日期"} <= set(tr), rep["transformations"]
        # What the policy did, from the policy's own report: the identifiers dropped, the
        # quasi-identifiers generalised through their hierarchies, k as the policy says.
        assert tr["身份证号"] == "suppressed (column dropped by the policy)", tr
        assert tr["出生日期"].startswith('generalised through the "date" hierarchy to level'), tr
        assert tr["k-anonymity"].startswith("by a policy") and "k >= 5" in tr["k-anonymity"], tr
        assert ok(s.api("datastore_search", resource_id=rid, limit=1))["total"] == 3000
        html = s.get("/dataset/hospital-discharges").content.decode("utf-8")
        assert "Privacy" in html and "k = %d" % rep["k"] in html and "passed" in html
        assert "suppressed (column dropped by the policy)" in html
        # The policy itself is on the page, as a publisher would write the file.
        assert "&quot;hierarchy&quot;: &quot;date&quot;" in html or '"hierarchy": "date"' in html
        page = s.get("/dataset/hospital-discharges/resource/%s" % rid).content.decode("utf-8")
        assert "k = %d" % rep["k"] in page and "passed" in page
        # The currencies' "name" column is not about people: published as it was.
        cur = ok(s.api("package_show", id="iso-4217-currencies"))["resources"][0]["id"]
        assert ok(s.api("datastore_privacy_report", resource_id=cur))["gate"]["status"] == "passed"
    finally:
        s.stop()
    # A second start keeps what the first published (no second dataset, no error).
    s = Server(p, command=("demo", "--examples", str(cat)), access_log=False, name="pgdemo")
    try:
        assert sorted(ok(s.api("package_list"))) == ["hospital-discharges", "iso-4217-currencies"]
        assert "not published" not in s.stderr_text()
    finally:
        s.stop()


def esperanto_people(rows=30):
    """Records of people whose nature shows in neither values nor column names (Esperanto
    headers, no identifier the detectors validate): the gate sees nothing by itself."""
    return ("kodo,aĝo,sekso,urbo\n" + "".join(
        "K%03d,%d,%s,urbo%d\n" % (i, 20 + i, "vi"[i % 2], i % 3) for i in range(rows))).encode("utf-8")


def test_declared_classes_close_what_detection_misses(portal, srv, tok, admin2):
    name = unique("decl")
    d = ok(srv.api("package_create", token=tok["orgadmin"], name=name, owner_org=ORG, private=True))
    rid = ok(upload(srv, tok["orgadmin"], d["id"], esperanto_people(), "homoj.csv"))["id"]
    wait_ingest(srv, rid, tok["orgadmin"])
    rep = ok(srv.api("datastore_privacy_report", token=tok["orgadmin"], resource_id=rid))
    assert rep["gate"]["status"] == "passed" and rep["quasi_identifiers"] == [], rep

    # A class that is not one of the four: refused, naming the field; nothing changes.
    fails(srv.api("datastore_create", token=tok["orgadmin"], resource_id=rid, force=True,
                  fields=[{"id": "aĝo", "info": {"privacy_class": "secret"}}]), 409,
          field="fields", message="aĝo")
    # The same through xloader_submit: refused at once, not first by the ingest.
    fails(srv.api("xloader_submit", token=tok["orgadmin"], resource_id=rid,
                  fields=[{"id": "sekso", "type": "text", "info": {"privacy_class": "bogus"}}]),
          409, field="fields", message="sekso")
    # The data dictionary declares age and sex quasi-identifiers: k = 1 now blocks.
    ok(srv.api("datastore_create", token=tok["orgadmin"], resource_id=rid, force=True,
               fields=[{"id": "aĝo", "info": {"label": "aĝo", "privacy_class": "quasi_identifier"}},
                       {"id": "sekso", "info": {"privacy_class": "quasi_identifier"}}]))
    info = ok(srv.api("datastore_info", token=tok["orgadmin"], id=rid))
    dic = {f["id"]: f.get("info", {}) for f in info["fields"]}
    assert dic["aĝo"]["privacy_class"] == "quasi_identifier", dic
    rep = ok(srv.api("datastore_privacy_report", token=tok["orgadmin"], resource_id=rid))
    assert rep["quasi_identifiers"] == ["aĝo", "sekso"] and rep["k"] == 1, rep
    col = {c["name"]: c for c in rep["columns"]}
    assert col["aĝo"]["declared"] == "quasi_identifier" and col["aĝo"]["detected"] == "other"
    assert col["aĝo"]["reason"] == "declared"
    assert rep["gate"]["status"] == "blocked" and "k = 1" in rep["gate"]["message"], rep["gate"]
    err = fails(srv.api("package_patch", token=tok["orgadmin"], id=name, private=False), 409,
                field="privacy")
    assert "aĝo" in json.dumps(err, ensure_ascii=False)

    # The declaration stays with the field when the file is ingested again.
    ok(srv.api("xloader_submit", token=tok["orgadmin"], resource_id=rid))
    time.sleep(0.2)
    wait_ingest(srv, rid, tok["orgadmin"])
    rep = ok(srv.api("datastore_privacy_report", token=tok["orgadmin"], resource_id=rid))
    assert rep["quasi_identifiers"] == ["aĝo", "sekso"] and rep["gate"]["status"] == "blocked", rep

    # Withdrawn (info without a class): the table passes again and can be published.
    ok(srv.api("datastore_create", token=tok["orgadmin"], resource_id=rid, force=True,
               fields=[{"id": "aĝo", "info": {"label": "aĝo"}}, {"id": "sekso", "info": {}}]))
    rep = ok(srv.api("datastore_privacy_report", token=tok["orgadmin"], resource_id=rid))
    assert rep["gate"]["status"] == "passed" and rep["quasi_identifiers"] == [], rep

    # "Records of people" declared on the resource: shown in the report; with no
    # identifier nor quasi-identifier left, nothing blocks.
    ok(srv.api("resource_update", token=tok["orgadmin"], id=rid, name="homoj.csv",
               personal_data=True))
    rep = ok(srv.api("datastore_privacy_report", token=tok["orgadmin"], resource_id=rid))
    assert rep["personal_data"] is True and rep["gate"]["status"] == "passed", rep
    ok(srv.api("package_patch", token=tok["orgadmin"], id=name, private=False))
    ok(srv.api("datastore_search", resource_id=rid))


def test_personal_data_declaration_enforces_k_on_named_quasi_identifiers(portal, srv, tok):
    # Age and sex known by their names only: a table of aggregates passes...
    content = ("age,sex,count\n" + "".join("%d,%s,%d\n" % (20 + i, "MF"[i % 2], 100 + i)
                                           for i in range(20))).encode("utf-8")
    d = ok(srv.api("package_create", token=tok["editor"], name=unique("life"), owner_org=ORG))
    ok(upload(srv, tok["editor"], d["id"], content, "life.csv"))
    # ...but the same file declared as records of people (the dataset's extra) is refused.
    d2 = ok(srv.api("package_create", token=tok["editor"], name=unique("lifep"), owner_org=ORG,
                    extras=[{"key": "personal_data", "value": "true"}]))
    err = fails(upload(srv, tok["editor"], d2["id"], content, "life.csv"), 409, field="privacy")
    assert "reach k = 1" in json.dumps(err), err


def test_lowered_declaration_needs_an_override(portal, srv, tok, admin2):
    name = unique("low")
    d = ok(srv.api("package_create", token=tok["orgadmin"], name=name, owner_org=ORG, private=True))
    rid = ok(upload(srv, tok["orgadmin"], d["id"], people_csv(portal, rows=30, seed=21)))["id"]
    wait_ingest(srv, rid, tok["orgadmin"])
    ok(srv.api("datastore_create", token=tok["orgadmin"], resource_id=rid, force=True,
               fields=[{"id": "身份证号", "info": {"privacy_class": "other"}}]))
    rep = ok(srv.api("datastore_privacy_report", token=tok["orgadmin"], resource_id=rid))
    col = {c["name"]: c for c in rep["columns"]}
    # Declared lower than found: shown, not applied.
    assert col["身份证号"]["class"] == "direct_identifier" and col["身份证号"]["declared"] == "other"
    gate = rep["gate"]
    assert gate["status"] == "blocked", gate
    assert {"column": "身份证号", "declared": "other", "detected": "direct_identifier"} in gate["lowered"]
    assert "takes an approver's override" in gate["message"], gate
    ok(srv.api("datastore_privacy_override", token=admin2, resource_id=rid,
               justification="test: the column holds synthetic numbers"))
    ok(srv.api("package_patch", token=tok["orgadmin"], id=name, private=False))
    html = srv.get("/dataset/" + name).content.decode("utf-8")
    assert "direct_identifier (declared other)" in html, html[:3000]


# ---- Writes through the DataStore API (privacy-gate.md, "Writes through the API") ----

def synth_ids(portal, rows, seed):
    """Valid resident ID numbers (GB 11643: listed county, birth date, check character)
    of `kaifang synth people`: synthetic, nobody's."""
    import csv
    import io
    got = list(csv.DictReader(io.StringIO(people_csv(portal, rows=rows, seed=seed).decode("utf-8"))))
    return [r["身份证号"] for r in got]


def test_datastore_create_with_id_numbers_into_public_dataset_is_refused(portal, srv, tok):
    d = ok(srv.api("package_create", token=tok["editor"], name=unique("pub"), owner_org=ORG))
    records = [{"编号": i, "代码": v} for i, v in enumerate(synth_ids(portal, 12, 21))]
    start = checkpoint_size(srv)
    err = fails(srv.api("datastore_create", token=tok["editor"],
                        params={"resource": {"package_id": d["id"], "name": "people"},
                                "records": records}), 409, field="privacy")
    assert "not written" in err["message"] and "代码" in err["message"], err
    gate = err["privacy_gate"]
    assert gate["status"] == "blocked", gate
    assert [r for r in gate["reasons"] if r["reason"] == "direct_identifier"][0]["columns"] == ["代码"]
    assert err["resource_id"] and len(err["next_steps"]) == 2, err
    msg = json.dumps(err, ensure_ascii=False)
    for r in records:
        assert r["代码"] not in msg
    # Nothing written: the resource the call made went again, with no table.
    assert ok(srv.api("package_show", id=d["id"]))["resources"] == []
    fails(srv.api("datastore_search", token=tok["editor"], resource_id=err["resource_id"]), 404)
    # An existing resource of the dataset gets no table either.
    made = ok(srv.api("datastore_create", token=tok["editor"],
                      params={"resource": {"package_id": d["id"], "name": "empty"},
                              "fields": [{"id": "编号", "type": "int"}, {"id": "代码", "type": "text"}]}))
    rid = made["resource_id"]
    err = fails(srv.api("datastore_create", token=tok["editor"],
                        params={"resource_id": rid, "records": records}), 409, field="privacy")
    assert err["resource_id"] == rid, err
    assert ok(srv.api("datastore_search", resource_id=rid))["total"] == 0
    assert checkpoint_size(srv) >= start


def test_datastore_create_with_id_numbers_into_private_dataset_is_scanned(portal, srv, tok):
    d = ok(srv.api("package_create", token=tok["editor"], name=unique("priv"), owner_org=ORG,
                   private=True))
    records = [{"编号": i, "代码": v} for i, v in enumerate(synth_ids(portal, 12, 22))]
    got = ok(srv.api("datastore_create", token=tok["editor"],
                     params={"resource": {"package_id": d["id"], "name": "people"},
                             "records": records}))
    rid = got["resource_id"]
    assert ok(srv.api("datastore_search", token=tok["editor"], resource_id=rid))["total"] == 12
    rep = ok(srv.api("datastore_privacy_report", token=tok["editor"], resource_id=rid))
    classes = {c["name"]: c["class"] for c in rep["columns"]}
    assert classes == {"编号": "other", "代码": "direct_identifier"}, rep
    assert rep["rows"] == 12 and rep["publisher"] == "editor", rep
    assert rep["gate"]["status"] == "blocked", rep
    # Made public, it is refused as any blocked table is.
    fails(srv.api("package_patch", token=tok["editor"], id=d["id"], private=False), 409,
          field="privacy")


def test_datastore_upsert_of_id_numbers_into_clean_public_table_is_refused(portal, srv, tok):
    d = ok(srv.api("package_create", token=tok["editor"], name=unique("pub"), owner_org=ORG))
    clean = [{"编号": i, "代码": "A%03d" % i} for i in range(3)]
    rid = ok(srv.api("datastore_create", token=tok["editor"],
                     params={"resource": {"package_id": d["id"], "name": "codes"},
                             "fields": [{"id": "编号", "type": "int"}, {"id": "代码", "type": "text"}],
                             "primary_key": ["编号"], "records": clean}))["resource_id"]
    rep = ok(srv.api("datastore_privacy_report", resource_id=rid))
    assert rep["gate"]["status"] == "passed" and rep["rows"] == 3, rep
    before = ok(srv.api("datastore_search", resource_id=rid, sort="编号"))["records"]
    ids = synth_ids(portal, 20, 23)
    for method in ("insert", "upsert"):
        records = [{"编号": 100 + i, "代码": v} for i, v in enumerate(ids)]
        err = fails(srv.api("datastore_upsert", token=tok["editor"],
                            params={"resource_id": rid, "method": method, "records": records}),
                    409, field="privacy")
        assert err["resource_id"] == rid and err["privacy_gate"]["status"] == "blocked", err
        assert "代码" in err["message"], err
        assert ok(srv.api("datastore_search", resource_id=rid, sort="编号"))["records"] == before
    # Harmless records go in.
    ok(srv.api("datastore_upsert", token=tok["editor"],
               params={"resource_id": rid, "records": [{"编号": 7, "代码": "B007"}]}))
    ok(srv.api("datastore_create", token=tok["editor"],
               params={"resource_id": rid, "records": [{"编号": 8, "代码": "B008"}]}))
    assert ok(srv.api("datastore_search", resource_id=rid))["total"] == 5
    rep = ok(srv.api("datastore_privacy_report", resource_id=rid))
    assert rep["gate"]["status"] == "passed" and rep["rows"] == 5, rep


def test_datastore_writes_after_an_override_go_on(portal, srv, tok, admin2):
    name = unique("priv")
    d = ok(srv.api("package_create", token=tok["orgadmin"], name=name, owner_org=ORG, private=True))
    ids = synth_ids(portal, 20, 24)
    rid = ok(srv.api("datastore_create", token=tok["orgadmin"],
                     params={"resource": {"package_id": d["id"], "name": "people"},
                             "records": [{"编号": i, "代码": v} for i, v in enumerate(ids[:10])]}))["resource_id"]
    got = ok(srv.api("datastore_privacy_override", token=admin2, resource_id=rid,
                     justification="synthetic test records, approved for publication"))
    assert got["gate"]["status"] == "overridden", got
    ok(srv.api("package_patch", token=tok["orgadmin"], id=name, private=False))
    # The override is the table's: more records of the same kind go in, and stay public.
    ok(srv.api("datastore_upsert", token=tok["orgadmin"],
               params={"resource_id": rid, "method": "insert",
                       "records": [{"编号": 10 + i, "代码": v} for i, v in enumerate(ids[10:])]}))
    rep = ok(srv.api("datastore_privacy_report", resource_id=rid))
    assert rep["gate"]["status"] == "overridden" and rep["rows"] == 20, rep
    assert ok(srv.api("datastore_search", resource_id=rid))["total"] == 20


def test_datastore_delete_that_lowers_k_withholds(portal, srv, tok):
    d = ok(srv.api("package_create", token=tok["editor"], name=unique("pub"), owner_org=ORG))
    records = [{"编号": i, "性别": "男女"[i % 2], "年龄": 30 + 10 * (i % 2), "诊断": "J0%d" % (i % 2)}
               for i in range(10)]
    rid = ok(srv.api("datastore_create", token=tok["editor"],
                     params={"resource": {"package_id": d["id"], "name": "cells"},
                             "records": records}))["resource_id"]
    rep = ok(srv.api("datastore_privacy_report", resource_id=rid))
    assert rep["k"] == 5 and rep["gate"]["status"] == "passed", rep
    # One person fewer: k = 4, below the portal's 5; the table is withheld from the public.
    ok(srv.api("datastore_delete", token=tok["editor"],
               params={"resource_id": rid, "filters": {"编号": 0}}))
    rep = ok(srv.api("datastore_privacy_report", resource_id=rid))
    assert rep["k"] == 4 and rep["gate"]["status"] == "blocked", rep
    err = fails(srv.api("datastore_search", resource_id=rid), 403)
    assert "withheld by the privacy gate" in err["message"], err
    assert ok(srv.api("datastore_search", token=tok["editor"], resource_id=rid))["total"] == 9

# ---- A file that cannot be read (docs/internals/privacy-gate.md, "A file that cannot be
# scanned"): no report of it exists, so nothing says it is free of identifiers.

def wait_settled(srv, rid, token):
    deadline = time.monotonic() + WAIT
    while time.monotonic() < deadline:
        st = ok(srv.api("xloader_status", token=token, resource_id=rid))
        if st["status"] in ("complete", "error"):
            return st
        time.sleep(0.05)
    raise AssertionError("resource %s never settled" % rid)


def unreadable(content, how):
    """content (a CSV) made unreadable at its 51st data line: a short row, a NUL byte, or
    a last line with an unterminated quote."""
    lines = content.decode("utf-8").splitlines(keepends=True)
    if how == "short":
        lines.insert(51, "52,李四,女\n")
    elif how == "nul":
        lines[51] = lines[51].replace(",", ",\0", 1)
    else:
        lines.append('"9999,unterminated\n')
    return "".join(lines).encode("utf-8")


@pytest.mark.parametrize("how", ["short", "nul", "quote"])
def test_unreadable_upload_into_public_dataset_is_refused(portal, srv, tok, how):
    people = unreadable(people_csv(portal, rows=200, seed=3), how)
    name = unique("ragged")
    d = ok(srv.api("package_create", token=tok["editor"], name=name, owner_org=ORG))
    err = fails(upload(srv, tok["editor"], d["id"], people, "ragged.csv"), 409, field="privacy")
    assert "could not be scanned" in err["message"] and "nothing was stored" in err["message"], err
    assert [r["reason"] for r in err["privacy_gate"]["reasons"]] == ["unscanned"], err
    # A format problem is answered as one (found by a fresh-user test: it got privacy
    # advice, and "ingest it leniently", which needs a stored file).
    assert err["next_steps"][0].startswith("fix the file"), err
    assert "anonymize" not in " ".join(err["next_steps"]), err
    assert ok(srv.api("package_show", token=tok["editor"], id=d["id"]))["resources"] == []
    for v in raw_values(people_csv(portal, rows=200, seed=3), ["身份证号"]):
        assert v not in json.dumps(err, ensure_ascii=False), v


def test_refused_resource_update_keeps_the_previous_file_serving(portal, srv, tok):
    """A resource_update the gate refuses changes nothing: the file and table published
    before keep serving (found by a fresh-user test: the refused file used to replace it,
    withheld, so the public table went offline)."""
    name = unique("upd")
    d = ok(srv.api("package_create", token=tok["editor"], name=name, owner_org=ORG))
    res = ok(upload(srv, tok["editor"], d["id"], b"region,year,count\nA,2020,10\nB,2020,12\n",
                    "counts.csv"))
    rid = res["id"]
    wait_ingest(srv, rid, tok["editor"])
    for people, why in ((unreadable(people_csv(portal, rows=200, seed=3), "short"), "could not be scanned"),
                        (people_csv(portal, rows=200, seed=3), "direct identifier")):
        err = fails(srv.api("resource_update", token=tok["editor"], params={"id": rid},
                            files={"upload": ("people.csv", people, "text/csv")}), 409, field="privacy")
        assert why in err["message"] and "nothing was stored" in err["message"], err
        now = ok(srv.api("resource_show", id=rid))
        assert now["hash"] == res["hash"] and now["url"] == res["url"], now
        assert ok(srv.api("datastore_search", resource_id=rid))["total"] == 2
        assert srv.get(urllib.parse.urlparse(now["url"]).path).status_code == 200
        assert ok(srv.api("datastore_privacy_report", resource_id=rid))["gate"]["status"] == "passed"


def test_unreadable_private_file_cannot_be_made_public(portal, srv, tok, admin2):
    people = unreadable(people_csv(portal, rows=200, seed=3), "short")
    name = unique("rpriv")
    d = ok(srv.api("package_create", token=tok["editor"], name=name, owner_org=ORG, private=True))
    rid = ok(upload(srv, tok["editor"], d["id"], people, "ragged.csv"))["id"]
    assert wait_settled(srv, rid, tok["editor"])["status"] == "error"
    err = fails(srv.api("package_patch", token=tok["editor"], id=name, private=False), 409,
                field="privacy")
    assert "could not be scanned" in err["message"], err
    assert ok(srv.api("package_show", token=tok["editor"], id=name))["private"] is True
    got = ok(srv.api("datastore_privacy_override", token=admin2, resource_id=rid,
                     justification="test: synthetic people, published on purpose"))
    assert got["gate"]["status"] == "overridden", got
    ok(srv.api("package_patch", token=tok["editor"], id=name, private=False))
    res = ok(srv.api("resource_show", id=rid))
    assert srv.get(urllib.parse.urlparse(res["url"]).path).status_code == 200


def test_lenient_ingest_of_a_clean_ragged_table_then_publishes(portal, srv, tok):
    """A ragged table cannot go into a public dataset as it is (it cannot be scanned);
    in a private one, a lenient ingest reads it, and the dataset can then be made
    public."""
    content = "region,year,count\n" + "".join("R%d,2020,%d\n" % (i, i) for i in range(60))
    content += "R99,2021\n"
    pub = ok(srv.api("package_create", token=tok["editor"], name=unique("rpub"), owner_org=ORG))
    fails(upload(srv, tok["editor"], pub["id"], content.encode("utf-8"), "counts.csv"), 409,
          field="privacy")
    name = unique("rclean")
    d = ok(srv.api("package_create", token=tok["editor"], name=name, owner_org=ORG, private=True))
    rid = ok(upload(srv, tok["editor"], d["id"], content.encode("utf-8"), "counts.csv"))["id"]
    assert wait_settled(srv, rid, tok["editor"])["status"] == "error"
    fails(srv.api("package_patch", token=tok["editor"], id=name, private=False), 409, field="privacy")
    assert ok(srv.api("xloader_submit", token=tok["editor"], resource_id=rid, lenient=True)) is True
    wait_ingest(srv, rid, tok["editor"])
    ok(srv.api("package_patch", token=tok["editor"], id=name, private=False))
    assert ok(srv.api("datastore_privacy_report", resource_id=rid))["gate"]["status"] == "passed"
    path = urllib.parse.urlparse(ok(srv.api("resource_show", id=rid))["url"]).path
    assert srv.get(path).status_code == 200


@pytest.mark.parametrize("filename", ["people.txt", "people.dat", "people"])
def test_table_of_people_not_named_as_a_table_is_refused(portal, srv, tok, filename):
    people = people_csv(portal, rows=200, seed=3)
    d = ok(srv.api("package_create", token=tok["editor"], name=unique("txt"), owner_org=ORG))
    err = fails(upload(srv, tok["editor"], d["id"], people, filename), 409, field="privacy")
    assert "身份证号" in json.dumps(err, ensure_ascii=False), err
    assert ok(srv.api("package_show", token=tok["editor"], id=d["id"]))["resources"] == []
    # Plain text that is not about people still goes in.
    ok(upload(srv, tok["editor"], d["id"], "今年的报告见附件。\nSee the annex.\n".encode("utf-8"),
              "notes.txt"))
