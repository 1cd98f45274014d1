"""The public ledger, checked from outside: `kaifang ledger verify` (from a portal
directory and from a URL) on an untampered portal and on copies whose store was tampered
with (an entry's bytes changed, an entry deleted, two reordered, the tree rolled back, a
checkpoint re-signed by another key); the independent Go verifier (Go's own sumdb
tlog/note code) against a live server at several sizes; and a kill -9 in the middle of
a burst of writes, after which the log and the catalog still agree."""

import base64
import contextlib
import hashlib
import os
import re
import shutil
import signal
import sqlite3
import subprocess
import tempfile
import threading
import time

import pytest

from conftest import ORG, Portal, Server, ok, run_cli, unique

VERIFIER = os.environ.get("KAIFANG_LEDGER_VERIFIER", "")


def vkey_of(portal):
    return portal.cli("ledger", "key").stdout.strip()


def verify(target, state, key=None, check=None):
    args = ["ledger", "verify", str(target), "--state", str(state)]
    if key:
        args += ["--key", key]
    return run_cli(*args, check=check)


def burst(srv, token, n, prefix="ledger"):
    names = []
    for _ in range(n):
        name = unique(prefix)
        ok(srv.api("package_create", token=token, name=name, title="Ledger " + name, owner_org=ORG))
        names.append(name)
    return names


def wait_integrated(srv, at_least, timeout=30):
    """The server's sequencer runs every 100 ms: wait until the checkpoint covers at_least."""
    deadline = time.monotonic() + timeout
    size = -1
    while time.monotonic() < deadline:
        r = srv.get("/ledger/checkpoint")
        assert r.status_code == 200, r.text
        size = int(r.text.split("\n")[1])
        if size >= at_least:
            return size
        time.sleep(0.1)
    raise AssertionError("the checkpoint stayed at size %d, wanted %d" % (size, at_least))


def connect(path):
    """A connection closed when the with block ends: sqlite3's `with connect()` only
    commits, and the connection (in a reference cycle with its statement cache) closes
    when the garbage collector gets to it, removing the WAL file under a copytree of the
    portal in another test."""
    return contextlib.closing(sqlite3.connect(path))


def entry_count(path):
    with connect(os.path.join(path, "kaifang.db")) as db:
        return db.execute("SELECT count(*) FROM ledger_entries").fetchone()[0]


@pytest.fixture(scope="module")
def ledger_portal(tmp_path_factory, base_portal):
    """A portal with a few hundred ledger entries (more than one tile), served once to
    write them and then stopped; a state file from `verify URL` and one from `verify
    DIR` taken while it was untampered."""
    root = tmp_path_factory.mktemp("ledger")
    dest = root / "portal"
    shutil.copytree(base_portal.path, dest)
    p = Portal(dest)
    p.tokens = dict(base_portal.tokens)
    srv = Server(p, name="ledger")
    try:
        burst(srv, p.tokens["sysadmin"], 120)
        size = wait_integrated(srv, entry_count(p.path))
        # Entries beyond one 256-hash tile: a partial second tile and a bundle boundary.
        while size <= 300:
            burst(srv, p.tokens["sysadmin"], 40)
            size = wait_integrated(srv, entry_count(p.path))
        key = vkey_of(p)
        url_state = root / "url.state"
        r = verify(srv.url, url_state, key=key, check=0)
        assert "size %d" % size in r.stdout, r.stdout
    finally:
        srv.stop()
    dir_state = root / "dir.state"
    verify(p.path, dir_state, key=key, check=0)
    return {"portal": p, "key": key, "url_state": url_state, "dir_state": dir_state, "size": size,
            "root": root}


def tampered_copy(lp, tmp_path, tamper):
    dest = tmp_path / "tampered"
    shutil.copytree(lp["portal"].path, dest)
    for name in ("url_state", "dir_state"):
        shutil.copy(lp[name], tmp_path / (name + ".copy"))
    with connect(os.path.join(dest, "kaifang.db")) as db, db:
        tamper(db)
    p = Portal(dest)
    p.tokens = dict(lp["portal"].tokens)
    return p, tmp_path / "url_state.copy", tmp_path / "dir_state.copy"


# -- tampering ---------------------------------------------------------------------------


def rewrite_entry(index):
    def tamper(db):
        (entry,) = db.execute("SELECT entry FROM ledger_entries WHERE idx = ?", (index,)).fetchone()
        text = bytes(entry).decode("utf-8")
        assert '"actor":"' in text
        db.execute("UPDATE ledger_entries SET entry = ? WHERE idx = ?",
                   (text.replace('"actor":"', '"actor":"x', 1).encode("utf-8"), index))
    return tamper


def delete_entry(index):
    def tamper(db):
        db.execute("DELETE FROM ledger_entries WHERE idx = ?", (index,))
    return tamper


def swap_entries(i, j):
    """Reorders two entries, each row with its own leaf hash (a careful forger)."""
    def tamper(db):
        a = db.execute("SELECT entry, leaf_hash FROM ledger_entries WHERE idx = ?", (i,)).fetchone()
        b = db.execute("SELECT entry, leaf_hash FROM ledger_entries WHERE idx = ?", (j,)).fetchone()
        db.execute("UPDATE ledger_entries SET entry = ?, leaf_hash = ? WHERE idx = ?", (b[0], b[1], i))
        db.execute("UPDATE ledger_entries SET entry = ?, leaf_hash = ? WHERE idx = ?", (a[0], a[1], j))
    return tamper


def roll_back(keep_at_most):
    """Removes the newest entries, their checkpoints and the tiles' hashes past keep:
    a smaller tree that is consistent in itself."""
    def tamper(db):
        # Back to a size that was signed (checkpoints are per batch).
        (keep_,) = db.execute("SELECT max(size) FROM ledger_checkpoints WHERE size <= ?",
                              (keep_at_most,)).fetchone()
        keep = keep_
        db.execute("DELETE FROM ledger_entries WHERE idx >= ?", (keep,))
        db.execute("DELETE FROM ledger_checkpoints WHERE size > ?", (keep,))
        for level, idx, hashes in db.execute("SELECT level, idx, hashes FROM ledger_tiles").fetchall():
            start = idx * 256 << (8 * level)
            width = max(0, min(256, (keep >> (8 * level)) - idx * 256))
            if width == 0:
                db.execute("DELETE FROM ledger_tiles WHERE level = ? AND idx = ?", (level, idx))
            elif width * 32 < len(hashes):
                db.execute("UPDATE ledger_tiles SET hashes = ? WHERE level = ? AND idx = ?",
                           (bytes(hashes)[:width * 32], level, idx))
            del start
    return tamper


def ed25519_sign(seed, msg):
    """Ed25519 with the openssl command line (no Python crypto package needed)."""
    der = bytes.fromhex("302e020100300506032b657004220420") + seed
    with tempfile.TemporaryDirectory() as d:
        kp, mp = os.path.join(d, "k.der"), os.path.join(d, "m")
        open(kp, "wb").write(der)
        open(mp, "wb").write(msg)
        sig = subprocess.run(["openssl", "pkeyutl", "-sign", "-rawin", "-inkey", kp, "-keyform", "DER",
                              "-in", mp], capture_output=True, check=True).stdout
        pub = subprocess.run(["openssl", "pkey", "-inform", "DER", "-in", kp, "-pubout", "-outform", "DER"],
                             capture_output=True, check=True).stdout[-32:]
    assert len(sig) == 64 and len(pub) == 32
    return sig, pub


def resign_checkpoint(db):
    """Replaces the latest checkpoint with the same text signed by another key of the
    same name (C2SP signed-note: key id = SHA-256(name || "\\n" || 0x01 || key)[:4])."""
    size, note = db.execute("SELECT size, note FROM ledger_checkpoints ORDER BY size DESC LIMIT 1").fetchone()
    text = note.split("\n\n")[0] + "\n"
    name = text.split("\n")[0]
    sig, pub = ed25519_sign(os.urandom(32), text.encode())
    key_id = hashlib.sha256(name.encode() + b"\n\x01" + pub).digest()[:4]
    forged = text + "\n\u2014 " + name + " " + base64.b64encode(key_id + sig).decode() + "\n"
    db.execute("UPDATE ledger_checkpoints SET note = ? WHERE size = ?", (forged, size))


TAMPERS = {
    "rewrite": (rewrite_entry(37), ["entry 37"]),
    "delete": (delete_entry(100), ["entry 100"]),
    "reorder": (swap_entries(20, 45), ["20", "45"]),
    "rollback": (roll_back(150), ["rollback", "smaller than size"]),
    "foreign-key": (resign_checkpoint, ["signature"]),
}


def test_untampered_portal_verifies(ledger_portal, tmp_path):
    lp = ledger_portal
    state = tmp_path / "s"
    shutil.copy(lp["dir_state"], state)
    r = verify(lp["portal"].path, state, key=lp["key"], check=0)
    assert "size %d" % lp["size"] in r.stdout and "consistent with size" in r.stdout, r.stdout


@pytest.mark.parametrize("name", sorted(TAMPERS))
def test_tampering_is_reported_from_the_portal_dir(ledger_portal, tmp_path, name):
    tamper, words = TAMPERS[name]
    p, _, dir_state = tampered_copy(ledger_portal, tmp_path, tamper)
    r = verify(p.path, dir_state, key=ledger_portal["key"], check=1)
    out = r.stdout + r.stderr
    for w in words:
        assert w in out, "%s: %r not reported: %s" % (name, w, out)
    # A bad run does not move the state on: the next run still reports it.
    verify(p.path, dir_state, key=ledger_portal["key"], check=1)


@pytest.mark.parametrize("name", sorted(TAMPERS))
def test_tampering_is_reported_from_the_url(ledger_portal, tmp_path, start_server, name):
    tamper, words = TAMPERS[name]
    p, url_state, _ = tampered_copy(ledger_portal, tmp_path, tamper)
    srv = start_server(p)
    # Without --key: the state file pins the key it was first given.
    r = verify(srv.url, url_state, check=1)
    out = r.stdout + r.stderr
    for w in words:
        assert w in out, "%s: %r not reported: %s" % (name, w, out)


def rewrite_consistently(index):
    """Rewrites an entry, its leaf hash and its slot in the level-0 tile together: only
    the stored level-1 hash over its 256 entries still disagrees."""
    def tamper(db):
        (entry,) = db.execute("SELECT entry FROM ledger_entries WHERE idx = ?", (index,)).fetchone()
        new = bytes(entry).replace(b'"actor":"', b'"actor":"x', 1)
        leaf = hashlib.sha256(b"\x00" + new).digest()
        db.execute("UPDATE ledger_entries SET entry = ?, leaf_hash = ? WHERE idx = ?",
                   (new, leaf, index))
        (hashes,) = db.execute("SELECT hashes FROM ledger_tiles WHERE level = 0 AND idx = ?",
                               (index // 256,)).fetchone()
        h = bytearray(hashes)
        h[(index % 256) * 32:(index % 256 + 1) * 32] = leaf
        db.execute("UPDATE ledger_tiles SET hashes = ? WHERE level = 0 AND idx = ?",
                   (bytes(h), index // 256))
    return tamper


def rewrite_level1_hash(db):
    (hashes,) = db.execute("SELECT hashes FROM ledger_tiles WHERE level = 1 AND idx = 0").fetchone()
    h = bytearray(hashes)
    h[0] ^= 1
    db.execute("UPDATE ledger_tiles SET hashes = ? WHERE level = 1 AND idx = 0", (bytes(h),))


def test_consistent_rewrite_names_the_range_and_why(ledger_portal, tmp_path):
    """Entry 37 rewritten with its leaf hash and level-0 slot: the tiles cannot say which
    entry, so the range 0..255 is named with the reason; the state's signed root over
    the range shows that the entries (not the stored hash) changed."""
    lp = ledger_portal
    p, _, dir_state = tampered_copy(lp, tmp_path, rewrite_consistently(37))
    r = verify(p.path, dir_state, key=lp["key"], check=1)
    out = r.stdout + r.stderr
    assert "entries 0..255" in out and "cannot be named" in out, out
    # Stored checkpoints inside the range narrow it; never past the tiles' range.
    assert re.search(r"history changed within entries (\d+)\.\.255 ", out), out
    lo = int(re.search(r"history changed within entries (\d+)\.\.255 ", out).group(1))
    assert lo <= 37, out
    assert "entry 0:" not in out and "at entry 0" not in out, out


def test_rewritten_interior_hash_is_told_from_rewritten_entries(ledger_portal, tmp_path):
    lp = ledger_portal
    p, _, dir_state = tampered_copy(lp, tmp_path, rewrite_level1_hash)
    r = verify(p.path, dir_state, key=lp["key"], check=1)
    out = r.stdout + r.stderr
    assert "stored hash 1/0 is what was rewritten" in out, out


@pytest.mark.parametrize("gzip", ["yes", "no"])
def test_url_verify_concurrent_with_and_without_gzip(ledger_portal, tmp_path, start_server, gzip):
    """The tiles and bundles fetched ahead over several connections, bundles gzip'd or
    not: the same tree, and a rewrite still named."""
    lp = ledger_portal
    p, url_state, _ = tampered_copy(lp, tmp_path, rewrite_entry(300))
    srv = start_server(p)
    r = run_cli("ledger", "verify", srv.url, "--key", lp["key"], "--gzip", gzip, "--state",
                tmp_path / "fresh", check=1)
    assert "entry 300" in r.stderr, r.stderr
    clean = start_server(lp["portal"])
    r = run_cli("ledger", "verify", clean.url, "--key", lp["key"], "--gzip", gzip, "--state",
                url_state, check=0)
    assert "size %d" % lp["size"] in r.stdout, r.stdout


def test_verify_usage_and_unreachable(tmp_path):
    assert run_cli("ledger", "verify").returncode == 2
    assert run_cli("ledger", "frobnicate").returncode == 2
    r = run_cli("ledger", "verify", "http://127.0.0.1:9", "--state", tmp_path / "s")
    assert r.returncode == 1, r.stderr


def test_init_prints_and_keeps_the_key(tmp_path):
    d = tmp_path / "p"
    first = run_cli("init", portal=d, check=0).stdout
    key = run_cli("ledger", "key", portal=d, check=0).stdout.strip()
    assert key in first and key.startswith("127.0.0.1:8080/ledger+"), (first, key)
    again = run_cli("init", portal=d, check=0).stdout
    assert key in again, "a second init changed the ledger key: %r" % again
    # An empty log has a signed checkpoint of size 0 and verifies.
    r = verify(d, tmp_path / "s", key=key, check=0)
    assert "size 0" in r.stdout or "size 1" in r.stdout, r.stdout


def test_cli_writes_are_integrated_without_a_server(clone_portal, tmp_path):
    p = clone_portal()
    before = run_cli("ledger", "verify", p.path, "--state", tmp_path / "s", check=0).stdout
    p.cli("user", "add", unique("u"))
    p.cli("organization", "add", unique("org"))
    with connect(os.path.join(p.path, "kaifang.db")) as db:
        (size,) = db.execute("SELECT max(size) FROM ledger_checkpoints").fetchone()
        (count,) = db.execute("SELECT count(*) FROM ledger_entries").fetchone()
    assert size == count, "CLI writes left entries staged: checkpoint %d of %d entries" % (size, count)
    after = run_cli("ledger", "verify", p.path, "--state", tmp_path / "s", check=0).stdout
    assert "consistent with size" in after, (before, after)


# -- the independent Go verifier ----------------------------------------------------------


def test_go_verifier_at_several_sizes(clone_portal, start_server, tmp_path):
    # make test builds it (scripts/install-deps.sh installs golang-go and x/mod).
    assert VERIFIER and os.path.exists(VERIFIER), "KAIFANG_LEDGER_VERIFIER is not built"
    p = clone_portal()
    key = vkey_of(p)
    srv = start_server(p)
    saved = tmp_path / "checkpoints"
    sizes = []
    for n in (0, 3, 60, 200, 7):
        burst(srv, p.tokens["sysadmin"], n)
        size = wait_integrated(srv, entry_count(p.path))
        sizes.append(size)
        r = subprocess.run([VERIFIER, "-url", srv.url, "-key", key, "-save", str(saved), "-samples", "30"],
                           capture_output=True, text=True, timeout=300)
        assert r.returncode == 0, "Go verifier at size %d:\n%s%s" % (size, r.stdout, r.stderr)
        assert "ok" in r.stdout
    assert len(set(sizes)) >= 4, sizes
    assert len(os.listdir(saved)) >= 4
    # The Go verifier refuses a wrong key.
    other = vkey_of(Portal(tmp_path / "other").init())
    r = subprocess.run([VERIFIER, "-url", srv.url, "-key", other], capture_output=True, text=True, timeout=120)
    assert r.returncode == 1, r.stdout + r.stderr
    # And Kaifang's own monitor agrees from the URL.
    verify(srv.url, tmp_path / "s", key=key, check=0)


# -- crash --------------------------------------------------------------------------------


def test_kill_9_mid_burst_log_and_catalog_agree(clone_portal, start_server, tmp_path):
    p = clone_portal()
    key = vkey_of(p)
    srv = Server(p, name="crash")
    token = p.tokens["sysadmin"]
    stop = threading.Event()

    def writer():
        import requests
        s = requests.Session()
        s.trust_env = False
        while not stop.is_set():
            try:
                s.post(srv.url + "/api/3/action/package_create", timeout=10,
                       headers={"Authorization": token, "Content-Type": "application/json"},
                       data='{"name": "%s", "title": "t", "owner_org": "%s"}' % (unique("crash"), ORG))
            except Exception:
                return

    threads = [threading.Thread(target=writer) for _ in range(6)]
    for t in threads:
        t.start()
    time.sleep(2.5)
    srv.proc.send_signal(signal.SIGKILL)
    srv.proc.wait(timeout=30)
    stop.set()
    for t in threads:
        t.join(timeout=30)
    srv.stopped = True
    srv._stderr.close()

    srv2 = start_server(p)
    size = wait_integrated(srv2, entry_count(p.path))
    datasets = ok(srv2.api("package_list"))
    entries = []
    for start in range(0, size, 256):
        r = srv2.get("/api/ledger/entries?start=%d&end=%d" % (start, min(size, start + 256)))
        assert r.status_code == 200, r.text
        entries += r.json()
    assert [e["index"] for e in entries] == list(range(size))
    import json
    creates = {}
    for e in entries:
        body = json.loads(e["entry"])
        if body["type"] == "dataset_create":
            creates.setdefault(body["objects"]["dataset"], []).append(e["index"])
    crash_datasets = [d for d in datasets if d.startswith("crash")]
    assert len(crash_datasets) > 5, "the burst wrote too little before the kill: %d" % len(crash_datasets)
    for name in datasets:
        d = ok(srv2.api("package_show", id=name))
        assert len(creates.get(d["id"], [])) == 1, "dataset %s has %r dataset_create entries" % (
            name, creates.get(d["id"]))
    for ds_id in creates:
        ok(srv2.api("package_show", id=ds_id))  # every entry's change exists
    verify(srv2.url, tmp_path / "s", key=key, check=0)
    srv2.stop()
    verify(p.path, tmp_path / "s2", key=key, check=0)
