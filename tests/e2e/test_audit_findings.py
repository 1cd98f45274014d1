"""The audit's findings about restricted data (issue 8; docs/internals/audit.md,
"Findings about restricted data"), against a real server: reads outside any grant,
expired grants still used, restricted resources published without a grant, privacy
overrides and grants approved by their own requester, each per organization in the
audit_report action's JSON, the CSV and the /audit page, each naming its ledger entries,
and every entry named verified against the signed checkpoint with its inclusion proof.

The product refuses to make two of the situations (a read after its grant's period, a
grant approved by its own requester): the test makes them by writing the store below
the product, with sqlite3 on the portal's database while the server runs: a grant's
period moved into the past after a read under it, a grant's decision given to its
requester. Everything else goes through the API as any caller would."""
import base64
import csv
import io
import json
import os
import sys
import time
import urllib.parse

import pytest

from conftest import ORG, fails, ok, portal_sql, unique

sys.path.insert(0, os.path.dirname(__file__))
from test_audit_case import leaf_hash, verify_inclusion  # noqa: E402
from test_grants import ROWS, day  # noqa: E402
from test_privacy_gate import people_csv, upload, wait_ingest  # noqa: E402



def store_edit(portal, grant_id, **fields):
    """Sets fields of a grant's stored record (a lower layer than the product)."""
    doc = json.loads(portal_sql(portal.path, "SELECT doc FROM grants WHERE id = ?", (grant_id,))[0][0])
    doc.update(fields)
    portal_sql(portal.path, "UPDATE grants SET doc = ? WHERE id = ?", (json.dumps(doc), grant_id))


def items(rep, kind, org=ORG):
    for o in rep[kind]:
        if o["organization"] == org:
            return o["items"]
    return []


@pytest.fixture(scope="module")
def world(portal, srv, tok):
    t = dict(tok)
    for name in ("approver", "grantee", "admin2"):
        portal.cli("user", "add", name)
        t[name] = portal.cli("token", "create", name).stdout.strip()
    portal.cli("role", "add", "approver", "approver", "--org", ORG)
    portal.cli("role", "add", "grantee", "grantee")
    portal.cli("member", "add", ORG, "admin2", "admin")
    portal.cli("role", "add", "admin2", "approver", "--org", ORG)
    d = ok(srv.api("package_create", token=t["editor"], name=unique("restricted"), owner_org=ORG,
                   access_level="restricted public"))
    rid = ok(srv.api("datastore_create", token=t["editor"],
                     resource={"package_id": d["id"], "name": "people"},
                     fields=[{"id": "district", "type": "text"}, {"id": "name", "type": "text"},
                             {"id": "age", "type": "int"}], records=ROWS))["resource_id"]
    w = {"t": t, "d": d, "rid": rid}

    def grant(dataset, **kw):
        p = dict(dataset=dataset, grantee="grantee", purpose="housing study",
                 legal_basis="Statistics Law art. 9", columns=["district", "age"],
                 valid_from=day(-1), valid_until=day(30))
        p.update(kw)
        g = ok(srv.api("grant_request", token=t["editor"], **p))
        return ok(srv.api("grant_approve", token=t["approver"], id=g["id"]))

    # 1. Reads outside any grant: the member asks for the restricted table (refused).
    fails(srv.api("datastore_search", token=t["member"], resource_id=rid), 403)
    # 2. An expired grant still used: a read under a grant, whose period the store then
    #    says ended years ago (the product refuses such a read; the store is edited).
    g = grant(d["name"])
    ok(srv.api("datastore_search", token=t["grantee"], resource_id=rid))
    store_edit(portal, g["id"], valid_from="2019-01-01", valid_until="2019-12-31")
    w["expired"] = g
    # 3. A grant approved by its own requester (the API refuses it; the store is edited).
    s = grant(d["name"], purpose="second study")
    store_edit(portal, s["id"], decided_by="editor")
    w["self"] = s
    # 4a. A link resource on the restricted dataset: its address is public metadata.
    w["link"] = ok(srv.api("resource_create", token=t["editor"], package_id=d["id"],
                           url="https://example.org/people-full.csv", name="full copy"))
    # 4b. A dataset granted as restricted, then made public.
    d2 = ok(srv.api("package_create", token=t["editor"], name=unique("was-restricted"), owner_org=ORG,
                    access_level="non-public"))
    g2 = ok(srv.api("grant_request", token=t["editor"], dataset=d2["name"], grantee="grantee",
                    purpose="p", legal_basis="b", columns=["a"], valid_from=day(0), valid_until=day(3)))
    ok(srv.api("package_patch", token=t["editor"], id=d2["id"], access_level="public"))
    w["d2"], w["g2"] = d2, g2
    # 5. A privacy override: a private dataset's blocked table let through by admin2.
    d3 = ok(srv.api("package_create", token=t["orgadmin"], name=unique("priv"), owner_org=ORG,
                    private=True))
    r3 = ok(upload(srv, t["orgadmin"], d3["id"], people_csv(portal, rows=30, seed=5)))["id"]
    wait_ingest(srv, r3, t["orgadmin"])
    ok(srv.api("datastore_privacy_override", token=t["admin2"], resource_id=r3,
               justification="synthetic records, reviewed for the audit test"))
    w["r3"] = r3
    return w


def wait_signed(srv, timeout=30):
    """Waits until the checkpoint covers every entry (the sequencer runs every 100 ms)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        rep = ok(srv.api("audit_report"))
        if rep["summary"]["entries_not_yet_signed"] == 0:
            return rep
        time.sleep(0.1)
    raise AssertionError("entries stayed unsigned")


def test_findings_in_json(srv, world):
    rep = wait_signed(srv)
    assert "reads outside any grant" not in json.dumps(rep["not_checked"])
    # Reads outside any grant: the member's refusal, with its reason.
    [ref] = [i for i in items(rep, "reads_outside_grant") if i["actor"] == "member"]
    assert ref["kind"] == "refused" and ref["count"] == 1 and ref["reasons"] == ["no grant"], ref
    assert ref["dataset"] == world["d"]["id"] and ref["resource"] == world["rid"]
    # The expired grant: its approval and the read after its (edited) period.
    [ex] = [i for i in items(rep, "expired_grants_used") if i["grant"] == world["expired"]["id"]]
    assert ex["reason"] == "read after the grant's period" and ex["count"] == 1, ex
    assert ex["valid_until"] == "2019-12-31" and len(ex["entries"]) == 2, ex
    # The self-approved grant, from the store (the ledger's approval is by "approver").
    [se] = [i for i in items(rep, "grants_self_approved") if i["grant"] == world["self"]["id"]]
    assert se["sources"] == ["store"] and se["decided_by"] == "editor", se
    assert len(se["entries"]) == 2, se
    # Published without a grant: the link and the dataset made public.
    pub = items(rep, "restricted_published_without_grant")
    [ln] = [i for i in pub if i["reason"] == "link"]
    assert ln["resource"] == world["link"]["id"] and ln["url"] == "https://example.org/people-full.csv"
    assert ln["entries"], ln  # its resource_create entry
    [mp] = [i for i in pub if i["reason"] == "made_public"]
    assert mp["dataset"] == world["d2"]["id"] and mp["grants"] == [world["g2"]["id"]], mp
    assert len(mp["entries"]) >= 2, mp  # the grant request and the update that opened it
    # Privacy overrides: approver and justification.
    [ov] = [i for i in items(rep, "privacy_overrides") if i["resource"] == world["r3"]]
    assert ov["approver"] == "admin2" and ov["publisher"] == "orgadmin", ov
    assert ov["justification"] == "synthetic records, reviewed for the audit test"
    assert ov["self_approved"] is False
    for kind in ("reads_outside_grant", "expired_grants_used", "grants_self_approved",
                 "restricted_published_without_grant", "privacy_overrides"):
        s = rep["summary"][kind]
        assert s["organizations"] == 1 and s["findings"] >= 1, (kind, s)


def test_every_finding_entry_has_a_verified_proof(srv, world):
    wait_signed(srv)
    rep = ok(srv.api("audit_report", proofs="true"))
    cp = rep["checkpoint"]
    root = base64.b64decode(cp["root_hash"])
    named = set()
    for kind in ("reads_outside_grant", "expired_grants_used", "grants_self_approved",
                 "restricted_published_without_grant", "privacy_overrides"):
        for o in rep[kind]:
            for it in o["items"]:
                assert it["entries"], (kind, it)
                named.update(it["entries"])
    assert named
    for i in sorted(named):
        r = srv.get("/api/ledger/entries?start=%d&end=%d" % (i, i + 1))
        assert r.status_code == 200
        text = r.json()[0]["entry"].encode("utf-8")
        pr = rep["proofs"][str(i)]
        assert base64.b64decode(pr["leaf_hash"]) == leaf_hash(text)
        assert verify_inclusion(i, cp["size"], leaf_hash(text),
                                [base64.b64decode(h) for h in pr["proof"]], root), i
        # The proof endpoint the page links to answers the same proof.
        u = urllib.parse.urlsplit(rep["proof_url"].replace("{index}", str(i)))
        p = srv.get(u.path + "?" + u.query)
        assert p.status_code == 200, p.text
    # The entries are what the findings say: the expired grant's read is a
    # restricted_read of its grant.
    [ex] = [i for i in items(rep, "expired_grants_used") if i["grant"] == world["expired"]["id"]]
    e = json.loads(srv.get("/api/ledger/entries?start=%d&end=%d" % (ex["entries"][-1],
                                                                     ex["entries"][-1] + 1)).json()[0]["entry"])
    assert e["type"] == "restricted_read" and e["objects"]["grant"] == world["expired"]["id"], e


def test_findings_in_csv_and_html(portal, srv, world):
    wait_signed(srv)
    r = portal.cli("audit", "--format", "csv")
    rows = list(csv.reader(io.StringIO(r.stdout)))
    assert rows[0] == ["kind", "organization", "unit", "system", "charges", "total", "entries",
                       "subject", "detail"]
    kinds = {x[0] for x in rows[1:] if x}
    assert kinds >= {"reads_outside_grant", "expired_grants_used", "grants_self_approved",
                     "restricted_published_without_grant", "privacy_overrides"}, kinds
    [ov] = [x for x in rows if x and x[0] == "privacy_overrides"]
    assert ov[1] == ORG and ov[7] == "admin2" and "reviewed for the audit test" in ov[8], ov
    page = srv.get("/audit", headers={"Accept-Language": "en"})
    assert page.status_code == 200
    h = page.text
    for sec in ("reads_outside_grant", "expired_grants_used", "grants_self_approved",
                "restricted_published_without_grant", "privacy_overrides"):
        start = h.index('id="%s"' % sec)
        part = h[start:h.index("</section>", start)]
        assert "None found" not in part, sec
        assert "/api/ledger/proof/inclusion?index=" in part and "/api/ledger/entries?start=" in part, sec
    # The links work.
    i = h.index('id="privacy_overrides"')
    href = h[h.index('href="/api/ledger/proof/inclusion?', i) + 6:]
    href = href[:href.index('"')].replace("&amp;", "&")
    assert srv.get(href).status_code == 200
