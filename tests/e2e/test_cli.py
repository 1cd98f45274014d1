"""The command line: help, usage errors, init, users, tokens, organizations, members."""

import os
import re

import pytest

from conftest import ORG, Portal, create_token, fails, ok, run_cli, unique

UUID_RE = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")

COMMANDS = ["init", "serve", "load", "user", "token", "member", "organization", "demo"]


def test_help_lists_every_command(kaifang_bin):
    p = run_cli("--help", check=0)
    out = p.stdout + p.stderr
    for c in COMMANDS:
        assert c in out, "--help does not mention %r:\n%s" % (c, out)


def test_help_command_describes_it(kaifang_bin):
    for c in ["serve", "load", "token"]:
        p = run_cli("help", c, check=0)
        out = p.stdout + p.stderr
        assert c in out and "--portal" in out, "help %s says nothing useful:\n%s" % (c, out)
    p = run_cli("help", "serve", check=0)
    out = p.stdout + p.stderr
    for flag in ["--listen", "--site-url", "--threads", "--max-body", "--access-log"]:
        assert flag in out, "help serve does not document %s" % flag


def test_usage_errors_exit_2(kaifang_bin, tmp_path):
    cases = [
        ["no-such-command"],
        ["help", "no-such-command"],
        ["user"],
        ["user", "frobnicate"],
        ["token"],
        ["member", "add", ORG],
        ["serve", "--portal", str(tmp_path), "--no-such-flag"],
        ["init", "--portal"],
    ]
    for args in cases:
        p = run_cli(*args)
        assert p.returncode == 2, "%r: exit %d, wanted 2 (usage)\n%s" % (args, p.returncode, p.stderr)
        assert p.stderr.strip(), "%r: a usage error must say something on stderr" % (args,)
    p = run_cli()
    assert p.returncode == 2


def test_init_is_idempotent(kaifang_bin, tmp_path):
    d = tmp_path / "p"
    run_cli("init", portal=d, check=0)
    assert (d / "kaifang.db").exists(), "init made no kaifang.db in %s: %s" % (d, os.listdir(d))
    conf = d / "kaifang.conf"
    before = conf.read_bytes() if conf.exists() else None
    run_cli("init", portal=d, check=0)
    if before is not None:
        assert conf.read_bytes() == before, "a second init rewrote kaifang.conf"
    # The portal still works after a second init.
    run_cli("user", "add", "alice", portal=d, check=0)
    run_cli("init", portal=d, check=0)
    p = run_cli("user", "list", portal=d, check=0)
    assert "alice" in p.stdout, "second init lost a user: %r" % p.stdout


@pytest.mark.parametrize("args", [["user", "list"], ["serve", "--listen", "127.0.0.1:0"], ["token", "create", "x"],
                                  ["organization", "add", "some-org"], ["load", "."]])
def test_command_on_missing_portal_fails(kaifang_bin, tmp_path, args):
    missing = tmp_path / "nothing-here"
    p = run_cli(*args, portal=missing, timeout=30)
    assert p.returncode == 1, "%r on a portal that does not exist: exit %d" % (args, p.returncode)
    assert "init" in p.stderr, "the error should say to run kaifang init: %r" % p.stderr
    assert not missing.exists(), "a command other than init created the portal directory"


def test_users(kaifang_bin, clone_portal):
    pt = clone_portal()
    pt.cli("user", "add", "carol", "--email", "carol@example.org")
    pt.cli("user", "add", "dave-2", "--sysadmin")
    out = pt.cli("user", "list").stdout
    for name in ["carol", "dave-2", "sysadmin", "editor", "outsider"]:
        assert name in out, "user list lacks %r:\n%s" % (name, out)
    # Duplicate user name: error, not a second user.
    p = pt.cli("user", "add", "carol", check=None)
    assert p.returncode == 1, "duplicate user: exit %d" % p.returncode
    assert p.stderr.strip()
    assert pt.cli("user", "list").stdout.count("carol@example.org") <= 1
    # CKAN's user name rules: 2..100 of a-z0-9_-.
    for bad in ["A", "x", "Bad Name", "bad/name", "x" * 101]:
        p = pt.cli("user", "add", bad, check=None)
        assert p.returncode in (1, 2), "user add %r: exit %d" % (bad, p.returncode)
        assert p.returncode != 0


def test_token_create_and_use(kaifang_bin, clone_portal, start_server):
    pt = clone_portal()
    srv = start_server(pt)
    t = create_token(pt, "editor", label="laptop")
    assert t not in pt.tokens.values(), "a new token must differ from earlier ones"
    r = srv.api("package_create", token=t, name=unique(), owner_org=ORG)
    ok(r)
    # Unknown user.
    p = pt.cli("token", "create", "nobody-here", check=None)
    assert p.returncode == 1


def test_token_revoke(kaifang_bin, clone_portal, start_server):
    pt = clone_portal()
    srv = start_server(pt)
    p = pt.cli("token", "create", "editor", "--label", "to-revoke")
    token = p.stdout.strip()
    # The token's id must be shown somewhere (stderr, as the token alone goes to stdout),
    # or `token revoke ID` cannot be used.
    ids = UUID_RE.findall(p.stderr) + UUID_RE.findall(p.stdout.replace(token, ""))
    assert ids, "token create shows no token id to revoke it with: stdout %r stderr %r" % (p.stdout, p.stderr)
    ok(srv.api("package_create", token=token, name=unique(), owner_org=ORG))
    pt.cli("token", "revoke", ids[0])
    fails(srv.api("package_create", token=token, name=unique(), owner_org=ORG), 403, "Authorization Error")
    # The user's other tokens still work.
    ok(srv.api("package_create", token=pt.tokens["editor"], name=unique(), owner_org=ORG))
    p = pt.cli("token", "revoke", "00000000-0000-4000-8000-000000000000", check=None)
    assert p.returncode == 1, "revoking an unknown token id: exit %d" % p.returncode


def test_organization_and_members(kaifang_bin, clone_portal, start_server):
    pt = clone_portal()
    srv = start_server(pt)
    pt.cli("organization", "add", "water-bureau", "--title", "Water Bureau 水务局")
    org = ok(srv.api("organization_show", id="water-bureau"))
    assert org["name"] == "water-bureau" and org["title"] == "Water Bureau 水务局"
    assert "water-bureau" in ok(srv.api("organization_list"))
    p = pt.cli("organization", "add", "water-bureau", check=None)
    assert p.returncode == 1, "duplicate organization: exit %d" % p.returncode
    p = pt.cli("organization", "add", "Bad Name!", check=None)
    assert p.returncode in (1, 2) and p.returncode != 0

    outsider = pt.tokens["outsider"]
    fails(srv.api("package_create", token=outsider, name=unique(), owner_org="water-bureau"), 403)
    pt.cli("member", "add", "water-bureau", "outsider", "editor")
    ds = ok(srv.api("package_create", token=outsider, name=unique(), owner_org="water-bureau"))
    assert ds["organization"]["name"] == "water-bureau"
    pt.cli("member", "remove", "water-bureau", "outsider")
    fails(srv.api("package_create", token=outsider, name=unique(), owner_org="water-bureau"), 403)
    fails(srv.api("package_patch", token=outsider, id=ds["id"], title="x"), 403)

    p = pt.cli("member", "add", "water-bureau", "outsider", "overlord", check=None)
    assert p.returncode in (1, 2) and p.returncode != 0, "bad capacity accepted"
    p = pt.cli("member", "add", "no-such-org", "outsider", "member", check=None)
    assert p.returncode == 1
    p = pt.cli("member", "add", "water-bureau", "no-such-user", "member", check=None)
    assert p.returncode == 1


def test_load_usage(kaifang_bin, clone_portal, tmp_path):
    pt = clone_portal()
    p = pt.cli("load", tmp_path / "does-not-exist", check=None)
    assert p.returncode == 1, "load of a missing directory: exit %d" % p.returncode
    # A folder whose metadata.json is not JSON: an error naming the file, nothing loaded.
    bad = tmp_path / "cat" / "broken-dataset"
    bad.mkdir(parents=True)
    (bad / "metadata.json").write_text("{ not json")
    p = pt.cli("load", tmp_path / "cat", check=None)
    assert p.returncode == 1, "load of broken metadata.json: exit %d" % p.returncode
    assert "metadata.json" in p.stderr or "broken-dataset" in p.stderr, p.stderr


def test_demo(kaifang_bin, tmp_path):
    # `kaifang demo` creates the portal, loads the example catalog and serves it.
    from conftest import CATALOG_DIR, Server
    pt = Portal(tmp_path / "demo")
    s = Server(pt, command=("demo", "--examples", CATALOG_DIR), access_log=False, name="demo")
    try:
        names = sorted(d for d in os.listdir(CATALOG_DIR) if os.path.isfile(os.path.join(CATALOG_DIR, d, "metadata.json")))
        # and the synthetic hospital discharges published through the privacy gate, and
        # the restricted register the demo's grant is on (its metadata is public)
        names = sorted(names + ["hospital-discharges", "demo-standards-copy-requests"])
        assert sorted(ok(s.api("package_list"))) == names
        assert s.get("/").status_code == 200
    finally:
        s.stop()
    # A second demo on the same directory reuses it (no duplicates).
    s = Server(pt, command=("demo", "--examples", CATALOG_DIR), access_log=False, name="demo")
    try:
        assert len(ok(s.api("package_list"))) == len(names)
    finally:
        s.stop()


def write_folder(root, name, files, meta_extra=None, sha_override=None):
    import hashlib
    import json
    d = root / name
    d.mkdir(parents=True)
    res = []
    for fname, data in files.items():
        (d / fname).write_bytes(data)
        res.append({"file": fname, "bytes": len(data),
                    "sha256": sha_override or hashlib.sha256(data).hexdigest()})
    m = {"title": "Folder " + name, "description": "d", "publisher": "Test Bureau", "license": "CC BY 4.0",
         "keywords": ["test"], "resources": res}
    m.update(meta_extra or {})
    (d / "metadata.json").write_text(json.dumps(m))


def test_load_checks_sha256_and_reports_each_failure(kaifang_bin, clone_portal, start_server, tmp_path):
    cat = tmp_path / "cat"
    write_folder(cat, "good-one", {"a.csv": b"x,y\n1,2\n"})
    write_folder(cat, "bad-hash", {"b.csv": b"x,y\n3,4\n"}, sha_override="0" * 64)
    write_folder(cat, "missing-file", {"c.csv": b"x\n"})
    (cat / "missing-file" / "c.csv").unlink()
    pt = clone_portal()
    p = pt.cli("load", cat, check=None)
    assert p.returncode == 1, "a folder failed: exit must be 1, got %d" % p.returncode
    assert "bad-hash" in p.stderr and "missing-file" in p.stderr, p.stderr
    s = start_server(pt)
    lst = ok(s.api("package_list"))
    assert "good-one" in lst
    assert "bad-hash" not in lst and "missing-file" not in lst, lst
    d = ok(s.api("package_show", id="good-one"))
    assert d["num_resources"] == 1
    assert d["title"] == "Folder good-one"


def test_load_metadata_field_types(kaifang_bin, clone_portal, tmp_path):
    cat = tmp_path / "cat"
    write_folder(cat, "wrong-types", {"a.csv": b"a\n"}, meta_extra={"keywords": "not-a-list", "title": 5})
    pt = clone_portal()
    p = pt.cli("load", cat, check=None)
    assert p.returncode == 1
    assert "wrong-types" in p.stderr
