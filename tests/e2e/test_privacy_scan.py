"""
End-to-end: `kaifang synth people` writes synthetic citizens, `kaifang scan` finds the
personal data in them (issue 5, part 1, docs/internals/privacy-detection.md).

Checks: the synthetic table is deterministic per seed and its IDs carry valid check
characters, birth dates and gender parity; the JSON report classes each column, counts
validated values (share 1.0 for the ID and phone columns), finds phone numbers inside the
free-text remarks, and never prints a raw ID or phone number, in JSON nor as a table;
reading options and errors behave as `kaifang ingest`'s (exit 1 with the place, 2 for
usage); a resource's stored file scans through --resource.
"""

import csv
import json
import os

from conftest import ok, make_dataset, run_cli

W = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]


def check_char(d17):
    """GB 11643-1999 check character, computed here independently of the C code."""
    return "10X98765432"[sum(int(a) * w for a, w in zip(d17, W)) % 11]


def synth(tmp_path, rows, seed, name="people.csv"):
    path = tmp_path / name
    run_cli("synth", "people", "--rows", rows, "--seed", seed, "-o", path, check=0)
    return path


def read_rows(path):
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def scan_json(path, *args):
    p = run_cli("scan", path, "--json", *args, check=0)
    return json.loads(p.stdout), p.stdout


def test_synth_is_deterministic_and_valid(tmp_path):
    a = synth(tmp_path, 500, 11, "a.csv")
    b = synth(tmp_path, 500, 11, "b.csv")
    c = synth(tmp_path, 500, 12, "c.csv")
    assert a.read_bytes() == b.read_bytes()
    assert a.read_bytes() != c.read_bytes()
    rows = read_rows(a)
    assert len(rows) == 500
    for r in rows:
        pid = r["身份证号"]
        assert len(pid) == 18 and pid[:17].isdigit()
        assert check_char(pid[:17]) == pid[17]
        assert pid[6:14] == r["出生日期"].replace("-", "")
        assert r["性别"] == ("男" if int(pid[16]) % 2 else "女")
        assert len(r["手机号码"]) == 11 and r["手机号码"].startswith("1")
    # stdout without -o is the same table
    p = run_cli("synth", "people", "--rows", 500, "--seed", 11, check=0)
    assert p.stdout.encode() == a.read_bytes()


def test_scan_synthetic_people(tmp_path):
    path = synth(tmp_path, 4000, 3)
    rows = read_rows(path)
    report, raw = scan_json(path)
    assert report["rows"] == 4000
    cols = {c["name"]: c for c in report["columns"]}
    assert list(cols) == ["序号", "姓名", "性别", "民族", "出生日期", "身份证号", "手机号码",
                          "职业", "诊断", "年收入", "备注"]
    idc = cols["身份证号"]
    assert idc["class"] == "direct_identifier"
    assert idc["share"] == 1.0
    assert idc["detectors"] == {"cn_resident_id": 4000}
    assert 1 <= len(idc["examples"]) <= 3
    for ex in idc["examples"]:
        assert len(ex) == 18 and ex[3:14] == "*" * 11
    phone = cols["手机号码"]
    assert phone["class"] == "direct_identifier" and phone["share"] == 1.0
    assert phone["detectors"] == {"cn_mobile": 4000}
    assert cols["姓名"]["class"] == "direct_identifier"
    assert cols["出生日期"]["class"] == "quasi_identifier"
    assert cols["出生日期"]["detectors"] == {"date_of_birth": 4000}
    for name in ("性别", "民族", "职业"):
        assert cols[name]["class"] == "quasi_identifier", name
    for name in ("诊断", "年收入"):
        assert cols[name]["class"] == "sensitive", name
    assert cols["序号"]["class"] == "other" and cols["序号"]["detectors"] == {}
    remarks = cols["备注"]
    with_phone = sum(1 for r in rows if r["备注"] != "无")
    assert with_phone > 0
    assert remarks["class"] == "direct_identifier"
    assert remarks["detectors"] == {"cn_mobile": with_phone}
    assert remarks["embedded"] == {"cn_mobile": with_phone}
    assert abs(remarks["share"] - with_phone / 4000) < 1e-4

    text = run_cli("scan", path, check=0).stdout
    assert "身份证号" in text and "direct_identifier" in text and "cn_resident_id=4000" in text
    # no raw value anywhere: no ID, no phone, not even the digits after a remark's words
    for r in rows:
        for out in (raw, text):
            assert r["身份证号"] not in out
            assert r["身份证号"][4:15] not in out
            assert r["手机号码"] not in out
            if r["备注"] != "无":
                assert r["备注"][-11:] not in out


def test_scan_other_formats_and_free_text(tmp_path):
    # TSV with English names, an embedded e-mail and a card number
    path = tmp_path / "contacts.tsv"
    path.write_text(
        "full_name\temail\tnotes\tzip\tcompany_name\tcard\n"
        "Ann Lee\tann.lee@example.com\tcall 010-62345678 after 5\t100101\tAcme\t4111 1111 1111 1111\n"
        "Bo Chen\tbo@example.org\t请发邮件到bo.chen@example.com谢谢\t200001\tAcme\t5555555555554444\n"
        "Cy Wu\tcy@example.net\tnothing here\t300000\tBeta\t4111111111111112\n",
        encoding="utf-8")
    report, raw = scan_json(path, "--format", "tsv")
    cols = {c["name"]: c for c in report["columns"]}
    assert cols["full_name"]["class"] == "direct_identifier"
    assert cols["email"]["detectors"] == {"email": 3}
    assert cols["notes"]["class"] == "direct_identifier"
    assert cols["notes"]["embedded"] == {"cn_landline": 1, "email": 1}
    assert cols["zip"]["class"] == "quasi_identifier"
    assert cols["zip"]["detectors"] == {"postal_code": 3}
    assert cols["company_name"]["class"] == "other"
    # the last card fails Luhn
    assert cols["card"]["detectors"] == {"bank_card": 2}
    for value in ("ann.lee@example.com", "62345678", "4111 1111 1111 1111", "5555555555554444"):
        assert value not in raw


def test_help(kaifang_bin):
    out = run_cli("--help", check=0).stdout
    assert "scan" in out and "synth" in out
    out = run_cli("help", "scan", check=0).stdout
    for flag in ("--json", "--resource", "--encoding", "--sheet", "direct_identifier"):
        assert flag in out, flag
    out = run_cli("help", "synth", check=0).stdout
    for flag in ("--rows", "--seed", "-o"):
        assert flag in out, flag


def test_scan_errors(tmp_path):
    p = run_cli("scan", tmp_path / "missing.csv", check=1)
    assert "missing.csv" in p.stderr
    bad = tmp_path / "ragged.csv"
    bad.write_text("a,b\n1,2\n3\n", encoding="utf-8")
    p = run_cli("scan", bad, check=1)
    assert "line 3" in p.stderr
    # --lenient reads it
    report, _ = scan_json(bad, "--lenient")
    assert report["rows"] == 2
    run_cli("scan", check=2)
    run_cli("scan", bad, "--format", "pdf", check=2)
    run_cli("synth", "people", "--rows", "-1", check=2)
    run_cli("synth", "animals", check=2)


def test_scan_resource(clone_portal, start_server, tmp_path):
    portal = clone_portal()
    srv = start_server(portal)
    tok = portal.tokens["editor"]
    # Private: the publish gate refuses these people into a public dataset
    # (test_privacy_gate.py).
    ds = make_dataset(srv, tok, private=True)
    path = synth(tmp_path, 300, 9)
    with open(path, "rb") as f:
        r = ok(srv.api("resource_create", token=tok, params={"package_id": ds["id"], "name": "people"},
                       files={"upload": ("people.csv", f.read(), "text/csv")}))
    p = run_cli("scan", "--resource", r["id"], "--json", portal=portal.path, check=0)
    report = json.loads(p.stdout)
    assert report["rows"] == 300
    cols = {c["name"]: c for c in report["columns"]}
    assert cols["身份证号"]["detectors"] == {"cn_resident_id": 300}
    p = run_cli("scan", "--resource", "no-such-resource", portal=portal.path, check=1)
    assert "no-such-resource" in p.stderr
    run_cli("scan", path, "--resource", r["id"], portal=portal.path, check=2)


def test_json_shares_are_printed_as_rounded(tmp_path):
    # A share is rounded to four places; the JSON shows it so (0.2, not
    # 0.20000000000000001 as 17 significant digits print it).
    path = tmp_path / "ids.csv"
    path.write_text("v\n" + "\n".join(["341182197101216849"] + ["x%d" % i for i in range(4)]) + "\n")
    rep, text = scan_json(path)
    assert rep["columns"][0]["share"] == 0.2, rep
    assert '"share": 0.2,' in text and "0000000" not in text, text


def test_scan_counts_k_over_the_quasi_identifiers(tmp_path):
    """The scan says the k its quasi-identifiers reach, as the portal's privacy report
    does: 6 men of 30 and 4 women of 40 are two equivalence classes, k = 4; with k = 5
    required, the 4 women are the rows of classes smaller than k."""
    t = tmp_path / "ages.csv"
    t.write_text("性别,年龄,人数\n" + "男,30,1\n" * 6 + "女,40,2\n" * 4, encoding="utf-8")
    report, _ = scan_json(t, "--k", "5")
    assert report["quasi_identifiers"] == ["性别", "年龄"], report
    assert (report["k"], report["classes"]) == (4, 2), report
    assert report["rows_below_k"] == {"k": 5, "rows": 4}, report
    out = run_cli("scan", t, "--k", "3", check=0).stdout
    assert "k = 4 over the quasi-identifiers 性别, 年龄: 2 equivalence classes; 0 rows in " \
           "classes smaller than k = 3\n" in out, out
    plain = tmp_path / "plain.csv"
    plain.write_text("region,count\nA,1\nB,2\n", encoding="utf-8")
    report, _ = scan_json(plain)
    assert report["quasi_identifiers"] == [] and report["k"] is None, report
    assert "k: no quasi-identifier found" in run_cli("scan", plain, check=0).stdout
    p = run_cli("scan", plain, "--k", "0", check=2)
    assert '"--k": "0" is not an integer from 1 to 1000' in p.stderr
