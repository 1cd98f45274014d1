"""
End-to-end: `kaifang anonymize FILE --policy P.json` (issue 5 §2,
docs/internals/privacy-anonymization.md "Policies and transformations") on a synthetic
people table (`kaifang synth people`).

Checks: `kaifang init` makes the portal's privacy.key (32 bytes, mode 0600) and keeps it;
the policy suppresses, masks, pseudonymises, rounds, top-codes and generalises; the output
is k-anonymous (k = 5, counted here in Python over the quasi-identifiers, suppressed records
apart) and `kaifang scan --json` finds no direct identifier left in clear in it (while it
finds them in the input); pseudonyms are HMAC-SHA-256 of the value under the portal key
(computed here with Python's hmac); a flag wins over the policy; a policy error names the
member; a missing key says how to make one.
"""

import collections
import csv
import hashlib
import hmac
import json
import os
import stat

import pytest

from conftest import run_cli

QI = ["出生日期", "性别", "民族", "职业"]
ROWS = 3000

POLICY = {
    "description": "synthetic people, k = 5",
    "k": 5,
    "suppression": 0.04,
    "metric": "loss",
    "columns": [
        {"name": "姓名", "action": "suppress"},
        {"name": "备注", "action": "suppress"},
        {"name": "身份证号", "action": "pseudonymize",
         "pseudonymize": {"prefix": "p-", "length": 16}},
        {"name": "手机号码", "action": "mask", "mask": {"keep_first": 3}},
        {"name": "出生日期", "hierarchy": "date"},
        {"name": "性别", "hierarchy": "mask"},
        {"name": "民族", "hierarchy": "mask"},
        {"name": "职业", "hierarchy": "mask"},
        {"name": "年收入", "round": 10000, "top": 300000, "top_value": "300000+"},
        {"name": "诊断", "sensitive": True},
    ],
}


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    d = tmp_path_factory.mktemp("policy")
    portal = d / "portal"
    run_cli("init", portal=portal, check=0)
    people = d / "people.csv"
    run_cli("synth", "people", "--rows", ROWS, "--seed", 7, "-o", people, check=0)
    policy = d / "policy.json"
    policy.write_text(json.dumps(POLICY, ensure_ascii=False), encoding="utf-8")
    return d, portal, people, policy


def read_csv(path):
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def scan(path):
    p = run_cli("scan", "--json", path, check=0)
    return json.loads(p.stdout)["columns"]


def test_init_makes_key(setup):
    _, portal, _, _ = setup
    key = portal / "privacy.key"
    st = os.stat(key)
    assert stat.S_IMODE(st.st_mode) == 0o600
    assert st.st_size == 32
    before = key.read_bytes()
    run_cli("init", portal=portal, check=0)
    assert key.read_bytes() == before  # kept: pseudonyms stay stable


def test_policy_k5_no_identifier_in_clear(setup):
    d, portal, people, policy = setup
    out = d / "out.csv"
    p = run_cli("anonymize", people, "--policy", policy, "-o", out, "--json", portal=portal,
                check=0)
    rep = json.loads(p.stdout)
    assert rep["k"] == 5 and rep["records"] == ROWS
    assert set(rep["levels"]) == set(QI)
    assert rep["min_class"] >= 5
    assert rep["suppressed"] <= rep["suppression_limit"] == int(0.04 * ROWS)
    cols = rep["columns"]
    assert cols["姓名"]["action"] == "suppress" and cols["备注"]["action"] == "suppress"
    assert cols["身份证号"] == {"action": "pseudonymize", "algorithm": "HMAC-SHA-256",
                               "length": 16, "prefix": "p-"}
    assert cols["手机号码"]["action"] == "mask"
    assert cols["诊断"]["sensitive"] is True
    assert cols["年收入"]["top_coded"] > 0

    src = read_csv(people)
    rows = read_csv(out)
    assert len(rows) == ROWS
    assert "姓名" not in rows[0] and "备注" not in rows[0]
    # k-anonymity counted here, suppressed records ("*" in every QI) apart
    classes = collections.Counter(tuple(r[q] for q in QI) for r in rows)
    suppressed = classes.pop(("*",) * len(QI), 0)
    assert suppressed == rep["suppressed"]
    assert min(classes.values()) >= 5
    assert len(classes) == rep["classes"]
    # pseudonyms: HMAC-SHA-256 under the portal key, the same value the same pseudonym
    key = (portal / "privacy.key").read_bytes()
    for s, r in zip(src, rows):
        want = "p-" + hmac.new(key, s["身份证号"].encode(), hashlib.sha256).hexdigest()[:16]
        assert r["身份证号"] == want
        assert r["手机号码"] == s["手机号码"][:3] + "*" * (len(s["手机号码"]) - 3)
        inc = r["年收入"]
        assert inc == "300000+" or int(inc) % 10000 == 0
    # the scanner finds direct identifiers in the input and none in the output
    before = {c["name"]: c for c in scan(people)}
    assert before["身份证号"]["detectors"].get("cn_resident_id") == ROWS
    assert before["手机号码"]["detectors"].get("cn_mobile") == ROWS
    after = scan(out)
    for c in after:
        assert c["class"] != "direct_identifier", c
        assert not c["detectors"], c
    raw_ids = {s["身份证号"] for s in src}
    assert not raw_ids & {r["身份证号"] for r in rows}


def test_flag_wins_over_policy(setup):
    d, portal, people, policy = setup
    out = d / "out10.csv"
    p = run_cli("anonymize", people, "--policy", policy, "--k", 10, "-o", out, "--json",
                portal=portal, check=0)
    rep = json.loads(p.stdout)
    assert rep["k"] == 10 and rep["min_class"] >= 10
    rows = read_csv(out)
    classes = collections.Counter(tuple(r[q] for q in QI) for r in rows)
    classes.pop(("*",) * len(QI), None)
    assert min(classes.values()) >= 10


def test_text_report(setup):
    d, portal, people, policy = setup
    p = run_cli("anonymize", people, "--policy", policy, "-o", d / "t.csv", portal=portal,
                check=0)
    assert "pseudonymize (HMAC-SHA-256, 16 hex digits)" in p.stdout
    assert "levels: " in p.stdout and "classes: " in p.stdout
    # The actions line up under Chinese column names: each starts at display column 27
    # (two spaces, the name padded to 24 columns, a space; CJK characters take two).
    lines = p.stdout.split("columns:\n", 1)[1].split("levels:", 1)[0].splitlines()
    assert len(lines) == 11, lines  # every column of the table, listed or not
    for line in lines:
        name, action = line[2:].split(" ", 1)
        assert display_width("  " + name + " " + action) - display_width(action.lstrip()) == 27, line


def display_width(s):
    """Terminal columns of s: East Asian wide and full-width characters take two."""
    import unicodedata
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in s)


def test_scan_text_report_aligned(setup):
    d, portal, people, policy = setup
    p = run_cli("scan", people, check=0)
    lines = p.stdout.splitlines()[:-2]  # the last two: rows and columns counted, then k
    assert p.stdout.splitlines()[-1].startswith("k = "), p.stdout
    assert len(lines) == 12, lines  # the header and eleven columns
    classes = ("class", "direct_identifier", "quasi_identifier", "sensitive", "other")
    starts = set()
    for line in lines:
        at = min(line.index(c) for c in classes if c in line)
        starts.add(display_width(line[:at]))
    # every class starts at the same column: 年收入/出生日期… are 6–8 columns wide
    assert starts == {10}, (starts, lines)


def test_policy_errors(setup):
    d, portal, people, _ = setup
    bad = d / "bad.json"
    bad.write_text(json.dumps({"columns": [
        {"name": "姓名", "action": "suppress"},
        {"name": "性别", "hierarchy": "mask"},
        {"name": "手机号码", "action": "mask", "mask": {"keep_last": -4}}]}), encoding="utf-8")
    out = d / "never.csv"
    p = run_cli("anonymize", people, "--policy", bad, "-o", out, portal=portal, check=1)
    assert 'policy "%s": columns[2].mask.keep_last: must be a non-negative integer' % bad in p.stderr
    assert not out.exists()
    missing = d / "missing.json"
    missing.write_text('{"columns": [{"name": "dob", "hierarchy": "date"}]}')
    p = run_cli("anonymize", people, "--policy", missing, "-o", out, portal=portal, check=1)
    assert 'table "%s": columns[0]: column "dob" not found' % people in p.stderr
    assert not out.exists()


def test_missing_key(setup, tmp_path):
    d, _, people, policy = setup
    p = run_cli("anonymize", people, "--policy", policy, "-o", tmp_path / "o.csv",
                portal=tmp_path / "noportal", check=1)
    assert "needs a key" in p.stderr and "kaifang init" in p.stderr
    weak = tmp_path / "weak.key"
    weak.write_bytes(b"k" * 32)
    os.chmod(weak, 0o644)
    p = run_cli("anonymize", people, "--policy", policy, "--key-file", weak, "-o",
                tmp_path / "o.csv", check=1)
    assert "chmod 600" in p.stderr
