"""Issue 8's acceptance test: the case's synthetic charges file (tests/e2e/audit_case.py)
imported into a portal, and `kaifang audit` reporting exactly the four ministries, 7
units, 13 systems and 248,373,200.00 yuan of charges with no approved fee schedule, and
nothing for the fifth organization, whose charges all match approved schedules. Every
entry the report names is checked against the signed checkpoint with its RFC 9162
inclusion proof. Plus: malformed rows (line and column, nothing imported), the two-person
rule, charges above a schedule's price or outside its period, and the /audit page's
escaping."""
import base64
import csv
import hashlib
import io
import json
import os
import sys
import time

import pytest

from conftest import Portal, create_token, ok, fails

sys.path.insert(0, os.path.dirname(__file__))
import audit_case  # noqa: E402

EXPECTED = {
    "mot": (2, 4, "145000000.00"),
    "moe": (2, 3, "58657000.00"),
    "miit": (2, 5, "24470700.00"),
    "samr": (1, 1, "20245500.00"),
}


def leaf_hash(entry):
    return hashlib.sha256(b"\x00" + entry).digest()


def node(l, r):
    return hashlib.sha256(b"\x01" + l + r).digest()


def verify_inclusion(index, size, leaf, proof, root):
    """RFC 9162 §2.1.3.2, as written."""
    if index >= size:
        return False
    fn, sn, r = index, size - 1, leaf
    for p in proof:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = node(p, r)
            if not fn & 1:
                while fn and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:
            r = node(r, p)
        fn >>= 1
        sn >>= 1
    return sn == 0 and r == root


def wait_integrated(srv, at_least, timeout=30):
    """The server's sequencer runs every 100 ms: wait until the checkpoint covers at_least."""
    deadline = time.monotonic() + timeout
    size = -1
    while time.monotonic() < deadline:
        size = int(srv.get("/ledger/checkpoint").text.split("\n")[1])
        if size >= at_least:
            return size
        time.sleep(0.1)
    raise AssertionError("the checkpoint stayed at size %d, wanted %d" % (size, at_least))


def make_case_portal(path):
    p = Portal(path).init()
    for org, title, _, _ in audit_case.MINISTRIES:
        p.cli("organization", "add", org, "--title", title)
    p.cli("organization", "add", audit_case.FIFTH[0], "--title", audit_case.FIFTH[1])
    for u in ("alice", "bob"):
        p.cli("user", "add", u)
        p.cli("member", "add", audit_case.FIFTH[0], u, "admin")
    p.cli("role", "add", "bob", "approver", "--org", audit_case.FIFTH[0])
    for name, price in audit_case.FIFTH_SCHEDULES:
        p.cli("audit", "schedule", "create", name, "--organization", audit_case.FIFTH[0],
              "--service", "standard texts and data", "--unit", "one request",
              "--price", audit_case.yuan(price), "--legal-basis", "made-up regulation 12",
              "--period-start", audit_case.PERIOD[0], "--period-end", audit_case.PERIOD[1],
              "--as", "alice")
        p.cli("audit", "schedule", "approve", name, "--as", "bob")
    return p


@pytest.fixture(scope="module")
def case(tmp_path_factory, kaifang_bin):
    d = tmp_path_factory.mktemp("audit-case")
    p = make_case_portal(d / "portal")
    f = d / "charges.csv"
    f.write_text(audit_case.csv_text(seed=7), encoding="utf-8")
    r = p.cli("audit", "import-charges", str(f))
    assert r.stdout.strip() == "%d charges imported" % (len(audit_case.rows(seed=7)))
    return p


def test_the_case(case):
    r = case.cli("audit", "--format", "json", "--proofs")
    rep = json.loads(r.stdout)
    un = rep["unapproved_charges"]
    assert sorted(o["organization"] for o in un) == sorted(EXPECTED)
    for o in un:
        units, systems, total = EXPECTED[o["organization"]]
        assert (o["units"], o["systems"], o["total"]) == (units, systems, total), o["organization"]
        assert sum(g["charges"] for g in o["by_system"]) == o["charges"]
    s = rep["summary"]["unapproved_charges"]
    assert (s["organizations"], s["units"], s["systems"], s["total"]) == (4, 7, 13, "248373200.00")
    # The fifth organization: nothing of any kind.
    for kind in ("unapproved_charges", "charges_outside_period", "charges_above_price"):
        assert all(o["organization"] != "cnis" for o in rep[kind]), kind
    assert rep["charges_outside_period"] == [] and rep["charges_above_price"] == []
    assert rep["ledger_mismatches"] == [] and rep["schedules_self_approved"] == []
    assert rep["summary"]["charges_audited"] == len(audit_case.rows(seed=7))
    # Every entry named: a charge_record whose public fields add up, with a proof.
    cp = rep["checkpoint"]
    root = base64.b64decode(cp["root_hash"])
    entries = [i for o in un for g in o["by_system"] for i in g["entries"]]
    assert len(entries) == s["charges"]
    assert rep["summary"]["entries_not_yet_signed"] == 0
    # The entries themselves, from the portal's store as the ledger API serves them.
    srv_entries = ledger_entries(case, entries)
    fen = 0
    for i in entries:
        text = srv_entries[i]
        e = json.loads(text)
        assert e["type"] == "charge_record"
        assert e["org"] in EXPECTED
        assert "payer" not in e["objects"] and "payer" not in text
        whole, frac = e["objects"]["amount"].split(".")
        fen += int(whole) * 100 + int(frac)
        pr = rep["proofs"][str(i)]
        assert base64.b64decode(pr["leaf_hash"]) == leaf_hash(text.encode("utf-8"))
        assert verify_inclusion(i, cp["size"], leaf_hash(text.encode("utf-8")),
                                [base64.b64decode(h) for h in pr["proof"]], root), i
    assert fen == 24837320000


def ledger_entries(portal, indexes):
    """The entries at indexes, read from a server on the portal (/api/ledger/entries)."""
    from conftest import Server
    s = Server(portal)
    try:
        out = {}
        for i in sorted(set(indexes)):
            if i in out:
                continue
            r = s.get("/api/ledger/entries?start=%d&end=%d" % (i, i + 256))
            assert r.status_code == 200
            for e in r.json():
                out[e["index"]] = e["entry"]
        return out
    finally:
        s.stop()


def test_csv_and_html(case):
    r = case.cli("audit", "--format", "csv")
    rows = list(csv.reader(io.StringIO(r.stdout)))
    assert rows[0] == ["kind", "organization", "unit", "system", "charges", "total", "entries",
                       "subject", "detail"]
    body = [x for x in rows[1:] if x]
    assert len(body) == 13 and {x[0] for x in body} == {"unapproved_charges"}
    fen = sum(int(x[5].replace(".", "")) for x in body)
    assert fen == 24837320000
    h = case.cli("audit", "--format", "html").stdout
    assert "248373200.00" in h and "全国高速公路联网收费系统" in h
    assert "/api/ledger/proof/inclusion?index=" in h


def test_malformed_rows_import_nothing(case, tmp_path):
    before = json.loads(case.cli("audit").stdout)["summary"]["charges_audited"]
    good = audit_case.csv_text(seed=3).splitlines()
    cases = [
        (5, "2021-02-30", "line 5, column 5 (date)"),
        (9, "12.345", "line 9, column 6 (amount)"),
        (12, "USD", "line 12, column 7 (currency)"),
    ]
    for line, bad, msg in cases:
        rows = list(good)
        f = rows[line - 1].split(",")
        col = {"2021-02-30": 4, "12.345": 5, "USD": 6}[bad]
        f[col] = bad
        rows[line - 1] = ",".join(f)
        p = tmp_path / ("bad-%d.csv" % line)
        p.write_text("\n".join(rows) + "\n", encoding="utf-8")
        r = case.cli("audit", "import-charges", str(p), check=1)
        assert msg in r.stderr and "nothing was imported" in r.stderr, r.stderr
    p = tmp_path / "unknown-org.csv"
    p.write_text("\n".join(good[:3] + ["nobody,u,s,p,2021-01-01,1,CNY,"]) + "\n", encoding="utf-8")
    r = case.cli("audit", "import-charges", str(p), check=1)
    assert "line 4, column 1 (organization)" in r.stderr
    after = json.loads(case.cli("audit").stdout)["summary"]["charges_audited"]
    assert after == before


def test_two_person_rule_over_http(clone_portal, start_server):
    p = clone_portal()
    srv = start_server(p)
    tok = p.tokens
    body = dict(name="fee-two", organization=p.org, service="extracts", unit="record",
                price="0.50", legal_basis="regulation 3", period_start="2020-01-01",
                period_end="2030-12-31")
    fails(srv.api("fee_schedule_create", token=tok["member"], **body), 403)
    s = ok(srv.api("fee_schedule_create", token=tok["orgadmin"], **body))
    assert s["state"] == "pending" and s["creator"] == "orgadmin"
    # Not published while pending: anonymous sees nothing.
    assert ok(srv.api("fee_schedule_list")) == []
    fails(srv.api("fee_schedule_show", id="fee-two"), 404)
    # The creator may not approve, though an approver; nor an editor, nor a sysadmin
    # without the approver role.
    p.cli("role", "add", "orgadmin", "approver", "--org", p.org)
    p.cli("role", "add", "member", "approver", "--org", p.org)
    fails(srv.api("fee_schedule_approve", token=tok["orgadmin"], id="fee-two"), 403,
          message="own request")
    fails(srv.api("fee_schedule_approve", token=tok["editor"], id="fee-two"), 403)
    fails(srv.api("fee_schedule_approve", token=tok["sysadmin"], id="fee-two"), 403)
    a = ok(srv.api("fee_schedule_approve", token=tok["member"], id="fee-two"))
    assert a["state"] == "approved" and a["approver"] == "member"
    assert [x["name"] for x in ok(srv.api("fee_schedule_list"))] == ["fee-two"]
    fails(srv.api("fee_schedule_approve", token=tok["member"], id="fee-two"), 409)
    # Each step is a ledger entry (once the sequencer signed them).
    wait_integrated(srv, a["ledger"]["approve"] + 1)
    ents = srv.get("/api/ledger/entries?start=%d&end=%d" % (
        a["ledger"]["create"], a["ledger"]["approve"] + 1)).json()
    kinds = {e["index"]: json.loads(e["entry"])["type"] for e in ents}
    assert kinds[a["ledger"]["create"]] == "fee_schedule_create"
    assert kinds[a["ledger"]["approve"]] == "fee_schedule_approve"
    # A charge through Kaifang: within the schedule only.
    c = dict(organization=p.org, unit="office", system="portal", payer="made-up payer",
             date="2024-01-02", amount="0.50", schedule="fee-two")
    ok(srv.api("charge_record", token=tok["editor"], **c))
    fails(srv.api("charge_record", token=tok["editor"], **dict(c, amount="0.51")), 409,
          field="amount")
    fails(srv.api("charge_record", token=tok["member"], **c), 403)
    rep = ok(srv.api("audit_report"))
    assert rep["summary"]["charges_audited"] == 1 and rep["unapproved_charges"] == []


def test_above_price_and_outside_period(clone_portal, tmp_path):
    p = clone_portal()
    p.cli("audit", "schedule", "create", "copy", "--organization", p.org, "--service", "copy",
          "--unit", "page", "--price", "2.00", "--legal-basis", "r", "--period-start",
          "2021-01-01", "--period-end", "2021-12-31", "--as", "orgadmin")
    # The creator may not approve from the CLI either.
    p.cli("role", "add", "orgadmin", "approver", "--org", p.org)
    p.cli("role", "add", "editor", "approver", "--org", p.org)
    r = p.cli("audit", "schedule", "approve", "copy", "--as", "orgadmin", check=1)
    assert "may not approve their own request" in r.stderr
    p.cli("audit", "schedule", "approve", "copy", "--as", "editor")
    f = tmp_path / "c.csv"
    f.write_text(audit_case.HEADER + "\n"
                 "%s,u1,s1,x,2021-06-01,2.00,CNY,copy\n"
                 "%s,u1,s1,x,2021-06-02,2.01,CNY,copy\n"
                 "%s,u1,s1,x,2022-01-01,1.00,CNY,copy\n"
                 "%s,u1,s1,x,2020-12-31,3.00,CNY,copy\n" % ((p.org,) * 4), encoding="utf-8")
    p.cli("audit", "import-charges", str(f))
    rep = json.loads(p.cli("audit").stdout)
    assert rep["unapproved_charges"] == []
    [above] = rep["charges_above_price"]
    assert (above["charges"], above["total"]) == (2, "5.01")
    dates = sorted(d["date"] for d in above["by_system"][0]["details"])
    assert dates == ["2020-12-31", "2021-06-02"]
    [outside] = rep["charges_outside_period"]
    assert (outside["charges"], outside["total"]) == (2, "4.00")
    assert sorted(d["date"] for d in outside["by_system"][0]["details"]) == \
        ["2020-12-31", "2022-01-01"]


def test_audit_page_escapes(clone_portal, start_server, tmp_path):
    p = clone_portal()
    p.cli("organization", "add", "evil", "--title", "<script>alert(1)</script>")
    f = tmp_path / "c.csv"
    f.write_text(audit_case.HEADER + "\n"
                 "evil,\"<img src=x onerror=alert(2)>\",\"a&b\"\"c\",x,2021-06-01,2.00,CNY,"
                 "\"<b>fee</b>\"\n", encoding="utf-8")
    p.cli("audit", "import-charges", str(f))
    srv = start_server(p)
    r = srv.get("/audit")
    assert r.status_code == 200 and r.headers["Content-Type"].startswith("text/html")
    t = r.text
    assert "<script>alert(1)" not in t and "&lt;script&gt;alert(1)&lt;/script&gt;" in t
    assert "<img src=x" not in t and "&lt;img src=x onerror=alert(2)&gt;" in t
    assert "a&amp;b&quot;c" in t or "a&amp;b\"c" in t
    assert "2.00" in t


def test_demo_fees(tmp_path):
    """`kaifang demo` loads the small scenario of examples/audit once: /audit shows its
    findings, each entry link and proof link answering, and a second start adds nothing."""
    from conftest import Server, SOURCE_DIR
    import shutil
    ex = tmp_path / "examples"
    (ex / "catalog").mkdir(parents=True)
    shutil.copytree(os.path.join(SOURCE_DIR, "examples", "audit"), ex / "audit")
    pt = Portal(tmp_path / "demo")
    for round_ in (1, 2):
        s = Server(pt, command=("demo", "--examples", str(ex / "catalog")), access_log=False,
                   name="demo")
        try:
            rep = ok(s.api("audit_report"))
            assert rep["summary"]["charges_audited"] == 11, round_
            [un] = rep["unapproved_charges"]
            assert (un["organization"], un["units"], un["systems"], un["total"]) == \
                ("demo-transport", 2, 3, "819150.50")
            assert rep["charges_above_price"][0]["total"] == "80.00"
            assert rep["charges_outside_period"][0]["total"] == "50.00"
            sched = ok(s.api("fee_schedule_show", id="demo-copy-fee"))
            assert (sched["creator"], sched["approver"]) == ("demo-clerk", "demo-approver")
            page = s.get("/audit").text
            i = un["by_system"][0]["entries"][0]
            wait_integrated(s, i + 1)
            assert "/api/ledger/proof/inclusion?index=%d&amp;size=" % i in page or \
                "(not yet signed)" in page
            r = s.get("/api/ledger/proof/inclusion?index=%d" % i)
            assert r.status_code == 200 and r.json()["index"] == i
            e = s.get("/api/ledger/entries?start=%d&end=%d" % (i, i + 1)).json()[0]
            assert json.loads(e["entry"])["type"] == "charge_record"
            demo_grant(s, round_)
        finally:
            s.stop()


def demo_grant(s, round_):
    """The demo's grant on its restricted table (made once): approved by another person
    than its requester, one read under it, and one request outside it that /audit lists
    as a read outside any grant, whose entry and inclusion proof a visitor can follow."""
    [g] = ok(s.api("grant_list", dataset="demo-standards-copy-requests"))
    assert g["state"] == "approved" and g["grantee"] == "demo-researcher", g
    assert (g["requested_by"], g["decided_by"]) == ("demo-clerk", "demo-approver"), g
    d = ok(s.api("package_show", id="demo-standards-copy-requests"))
    assert d["access_level"] == "restricted public"
    rid = d["resources"][0]["id"]
    # The table is closed to the public.
    fails(s.api("datastore_search", resource_id=rid), 403)
    rep = ok(s.api("audit_report"))
    [o] = [x for x in rep["reads_outside_grant"] if x["organization"] == "demo-standards"]
    [it] = o["items"]
    assert (it["kind"], it["actor"], it["count"], it["resource"]) == \
        ("refused", "demo-researcher", 1, rid), (round_, it)
    [i] = it["entries"]
    size = wait_integrated(s, i + 1)
    e = json.loads(s.get("/api/ledger/entries?start=%d&end=%d" % (i, i + 1)).json()[0]["entry"])
    assert e["type"] == "restricted_read_refused" and e["actor"] == "demo-researcher", e
    # The read under the grant is in the ledger too, just before the refusal.
    r = json.loads(s.get("/api/ledger/entries?start=%d&end=%d" % (i - 1, i)).json()[0]["entry"])
    assert r["type"] == "restricted_read" and r["objects"]["grant"] == g["id"], r
    # The page links the finding to its entry and proof; the proof verifies.
    rep = ok(s.api("audit_report", proofs="true"))
    cp = rep["checkpoint"]
    page = s.get("/audit").text
    sec = page[page.index('id="reads_outside_grant"'):]
    sec = sec[:sec.index("</section>")]
    assert "/api/ledger/entries?start=%d&amp;end=%d" % (i, i + 1) in sec, sec
    assert "/api/ledger/proof/inclusion?index=%d&amp;size=%d" % (i, cp["size"]) in sec, sec
    pr = s.get("/api/ledger/proof/inclusion?index=%d&size=%d" % (i, cp["size"])).json()
    text = s.get("/api/ledger/entries?start=%d&end=%d" % (i, i + 1)).json()[0]["entry"].encode()
    assert pr["root_hash"] == cp["root_hash"] and pr["proof"] == rep["proofs"][str(i)]["proof"]
    assert verify_inclusion(i, cp["size"], leaf_hash(text), [base64.b64decode(h) for h in pr["proof"]],
                            base64.b64decode(cp["root_hash"])), i
    assert size >= i + 1
