"""
The public ledger over HTTP, checked the way an outside monitor would: with nothing but
the published verifier key, the C2SP specs and RFC 9162, implemented here in Python and
independent of the C code.

  /ledger/checkpoint                 C2SP tlog-checkpoint in a C2SP signed note (Ed25519)
  /ledger/tile/<L>/<N>[.p/<W>]       C2SP tlog-tiles hash tiles
  /ledger/tile/entries/<N>[.p/<W>]   entry bundles
  /api/ledger/entries, /api/ledger/proof/inclusion, /api/ledger/proof/consistency,
  /api/ledger/key                    plain JSON
  /ledger                            the HTML page
"""

import base64
import gzip
import hashlib
import json
import re
import struct
import time

import pytest

from conftest import ORG, make_dataset, portal_sql, unique

TILE_WIDTH = 256
SETTLE_TIMEOUT = 20.0  # the sequencer integrates every 100 ms; ASan builds are slow

HOSTILE_TITLE = '<script>alert("ledger")</script><img src=x onerror=alert(1)>'


# -- RFC 9162 / C2SP, independently ------------------------------------------------------


def leaf_hash(entry: bytes) -> bytes:
    return hashlib.sha256(b"\x00" + entry).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def mth(hashes):
    """RFC 9162 §2.1.1 over leaf hashes."""
    n = len(hashes)
    if n == 0:
        return hashlib.sha256(b"").digest()
    if n == 1:
        return hashes[0]
    k = 1
    while k * 2 < n:
        k *= 2
    return node_hash(mth(hashes[:k]), mth(hashes[k:]))


def verify_inclusion(index, size, leaf, proof, root):
    """RFC 9162 §2.1.3.2."""
    if index >= size:
        return False
    fn, sn, r = index, size - 1, leaf
    for p in proof:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            if not fn & 1:
                while not fn & 1 and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    return sn == 0 and r == root


def verify_consistency(first, second, first_root, second_root, proof):
    """RFC 9162 §2.1.4.2, with first == second needing an empty proof."""
    if first == second:
        return not proof and first_root == second_root
    if first == 0 or first > second or not proof:
        return False
    path = list(proof)
    if first & (first - 1) == 0:
        path = [first_root] + path
    fn, sn = first - 1, second - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            if not fn & 1:
                while not fn & 1 and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    return fr == first_root and sr == second_root and sn == 0


def ed25519_verify(pk: bytes, sig: bytes, msg: bytes) -> bool:
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    try:
        Ed25519PublicKey.from_public_bytes(pk).verify(sig, msg)
        return True
    except InvalidSignature:
        return False


def parse_vkey(vkey):
    """C2SP signed-note verifier key: name+hex id+base64(0x01 || pk)."""
    name, key_id, key = vkey.split("+", 2)
    raw = base64.b64decode(key, validate=True)
    assert raw[0] == 0x01 and len(raw) == 33, "not an Ed25519 verifier key: %r" % vkey
    want = hashlib.sha256(name.encode() + b"\n\x01" + raw[1:]).digest()[:4]
    assert want.hex() == key_id, "key id %s does not match the key (%s)" % (key_id, want.hex())
    return name, bytes.fromhex(key_id), raw[1:]


def verify_checkpoint(note: bytes, vkey: str):
    """Verifies a signed checkpoint note; returns (origin, size, root)."""
    name, key_id, pk = parse_vkey(vkey)
    text = note.decode("utf-8")
    assert text.endswith("\n")
    sep = text.rindex("\n\n")
    body, sigs = text[: sep + 1], text[sep + 2 :]
    good = 0
    for line in sigs.splitlines():
        assert line.startswith("\u2014 "), "bad signature line %r" % line
        kname, b64 = line[2:].split(" ")
        sig = base64.b64decode(b64, validate=True)
        if kname != name or sig[:4] != key_id:
            continue
        assert len(sig) == 68
        assert ed25519_verify(pk, sig[4:], body.encode("utf-8")), "checkpoint signature invalid"
        good += 1
    assert good == 1, "no signature by %s in %r" % (vkey, text)
    lines = body.split("\n")
    origin, size_s, root_s = lines[0], lines[1], lines[2]
    assert origin == name, "the key name must be the origin"
    assert re.fullmatch(r"0|[1-9][0-9]*", size_s), size_s
    root = base64.b64decode(root_s, validate=True)
    assert len(root) == 32 and len(root_s) == 44
    return origin, int(size_s), root


def tile_index_path(n):
    """tlog-tiles: 1234067 -> x001/x234/067."""
    s = "%03d" % (n % 1000)
    n //= 1000
    while n:
        s = "x%03d/%s" % (n % 1000, s)
        n //= 1000
    return s


def b64(h):
    return base64.b64encode(h).decode()


def canonical(entry_text):
    return json.dumps(json.loads(entry_text), sort_keys=True, separators=(",", ":"), ensure_ascii=False)


# -- helpers against the server ---------------------------------------------------------


def vkey_of(srv):
    r = srv.get("/api/ledger/key")
    assert r.status_code == 200, r.text
    body = r.json()
    assert set(body) == {"origin", "vkey"}, body
    return body["vkey"]


def checkpoint(srv):
    r = srv.get("/ledger/checkpoint")
    assert r.status_code == 200, r.text
    return verify_checkpoint(r.content, vkey_of(srv))


def wait_for_size(srv, at_least, timeout=SETTLE_TIMEOUT):
    """Polls the checkpoint until the tree has at least at_least entries."""
    deadline = time.monotonic() + timeout
    while True:
        cp = checkpoint(srv)
        if cp[1] >= at_least or time.monotonic() > deadline:
            return cp
        time.sleep(0.1)


def all_entries(srv, size):
    out = []
    start = 0
    while start < size:
        r = srv.get("/api/ledger/entries", params={"start": start, "end": size})
        assert r.status_code == 200, r.text
        batch = r.json()
        assert 0 < len(batch) <= TILE_WIDTH
        out += batch
        start += len(batch)
    return out


def writes(srv, token, n=3, title=HOSTILE_TITLE):
    """Catalog writes that the ledger must record: creates, an update, a delete."""
    made = [make_dataset(srv, token, title=title) for _ in range(n)]
    ok_update = srv.api("package_patch", token=token, id=made[0]["id"], notes="changed")
    assert ok_update.status == 200, ok_update
    gone = make_dataset(srv, token)
    assert srv.api("package_delete", token=token, id=gone["id"]).status == 200
    return made


def grown_log(srv, tok, at_least=1):
    """The checkpoint after some writes (each catalog write appends one entry)."""
    before = checkpoint(srv)[1]
    writes(srv, tok["sysadmin"])
    cp = wait_for_size(srv, max(at_least, before + 1))
    assert cp[1] >= max(at_least, before + 1), "catalog writes were not recorded (size %d)" % cp[1]
    return cp


def assert_error(r, status, parameter=None):
    assert r.status_code == status, "wanted %d, got %d: %s" % (status, r.status_code, r.text)
    assert r.headers["Content-Type"].startswith("application/json")
    body = r.json()
    assert isinstance(body.get("error"), str) and body["error"], body
    assert "success" not in body, "the ledger API is not CKAN-enveloped: %r" % body
    if parameter is not None:
        assert body.get("parameter") == parameter, body
        assert parameter in body["error"], "the message must name %r: %r" % (parameter, body)
    return body


# -- tests -------------------------------------------------------------------------------


def test_key_and_checkpoint(srv):
    vkey = vkey_of(srv)
    r = srv.get("/ledger/checkpoint")
    assert r.status_code == 200
    assert r.headers["Content-Type"] == "text/plain; charset=utf-8"
    cc = r.headers["Cache-Control"]
    m = re.search(r"max-age=(\d+)", cc)
    assert m and 1 <= int(m.group(1)) <= 10, cc
    assert "immutable" not in cc
    origin, size, root = verify_checkpoint(r.content, vkey)
    assert origin.endswith("/ledger")
    if size == 0:
        assert root == hashlib.sha256(b"").digest()
    # HEAD: same headers, no body
    h = srv.request("HEAD", "/ledger/checkpoint")
    assert h.status_code == 200 and h.content == b""
    assert h.headers["Content-Type"] == "text/plain; charset=utf-8"
    # revalidation
    etag = r.headers.get("ETag")
    assert etag
    again = srv.get("/ledger/checkpoint", headers={"If-None-Match": etag})
    assert again.status_code in (200, 304)
    # the key is on the page too
    page = srv.get("/ledger")
    assert page.status_code == 200
    assert vkey in page.text


def test_writes_make_verifiable_entries(srv, tok):
    origin, size, root = grown_log(srv, tok)
    entries = all_entries(srv, size)
    assert [e["index"] for e in entries] == list(range(size))
    leaves = []
    for e in entries:
        assert set(e) == {"index", "entry", "leaf_hash"}
        raw = e["entry"].encode("utf-8")
        assert len(raw) <= 65535
        assert e["entry"] == canonical(e["entry"]), "entry is not canonical JSON: %r" % e["entry"]
        h = leaf_hash(raw)
        assert e["leaf_hash"] == b64(h), "leaf hash of entry %d" % e["index"]
        leaves.append(h)
        doc = json.loads(e["entry"])
        for k in ("time", "type", "actor"):
            assert isinstance(doc.get(k), str) and doc[k], (k, doc)
    assert mth(leaves) == root, "the entries do not hash to the checkpoint root"
    types = {json.loads(e["entry"])["type"] for e in entries}
    assert any(t.startswith("dataset") or t.startswith("package") for t in types), types


def test_inclusion_proofs_verify(srv, tok):
    origin, size, root = grown_log(srv, tok)
    entries = all_entries(srv, size)
    for e in entries:
        r = srv.get("/api/ledger/proof/inclusion", params={"index": e["index"], "size": size})
        assert r.status_code == 200, r.text
        p = r.json()
        assert set(p) == {"index", "size", "leaf_hash", "root_hash", "proof"}
        assert p["index"] == e["index"] and p["size"] == size
        assert p["leaf_hash"] == e["leaf_hash"]
        assert p["root_hash"] == b64(root)
        proof = [base64.b64decode(x, validate=True) for x in p["proof"]]
        assert verify_inclusion(e["index"], size, base64.b64decode(e["leaf_hash"]), proof, root)
        # a tampered proof must not verify
        if proof:
            bad = [proof[0][:-1] + bytes([proof[0][-1] ^ 1])] + proof[1:]
            assert not verify_inclusion(e["index"], size, base64.b64decode(e["leaf_hash"]), bad, root)
    # by leaf hash, and with the default size (the latest checkpoint)
    last = entries[-1]
    r = srv.get("/api/ledger/proof/inclusion", params={"leaf_hash": last["leaf_hash"]})
    assert r.status_code == 200, r.text
    p = r.json()
    assert p["index"] == last["index"] and p["size"] >= size
    cp = checkpoint(srv)
    if p["size"] == cp[1]:
        assert p["root_hash"] == b64(cp[2])
    # a leaf hash with '+' unencoded arrives as a space: still understood
    plus = [e for e in entries if "+" in e["leaf_hash"]]
    if plus:
        url = "/api/ledger/proof/inclusion?size=%d&leaf_hash=%s" % (size, plus[0]["leaf_hash"])
        r = srv.get(url)
        assert r.status_code == 200, r.text
        assert r.json()["index"] == plus[0]["index"]


def test_consistency_between_checkpoints(srv, tok):
    _, n1, root1 = grown_log(srv, tok)
    writes(srv, tok["sysadmin"], n=2)
    _, n2, root2 = wait_for_size(srv, n1 + 1)
    assert n2 > n1, "the log did not grow after more writes"
    r = srv.get("/api/ledger/proof/consistency", params={"first": n1, "second": n2})
    assert r.status_code == 200, r.text
    p = r.json()
    assert set(p) == {"first", "second", "first_root", "second_root", "proof"}
    assert p["first"] == n1 and p["second"] == n2
    assert p["first_root"] == b64(root1) and p["second_root"] == b64(root2)
    proof = [base64.b64decode(x) for x in p["proof"]]
    assert verify_consistency(n1, n2, root1, root2, proof)
    assert not verify_consistency(n1, n2, root1, root2, proof[:-1] or [b"\0" * 32])
    # every earlier size is consistent with the latest
    for first in range(1, n2 + 1):
        r = srv.get("/api/ledger/proof/consistency", params={"first": first, "second": n2})
        assert r.status_code == 200, r.text
        p = r.json()
        proof = [base64.b64decode(x) for x in p["proof"]]
        assert verify_consistency(first, n2, base64.b64decode(p["first_root"]), root2, proof), first
    # the same size: empty proof
    r = srv.get("/api/ledger/proof/consistency", params={"first": n2, "second": n2})
    assert r.status_code == 200 and r.json()["proof"] == []


def fetch_bundle(srv, n, width, gz):
    path = "/ledger/tile/entries/%s" % tile_index_path(n)
    if width < TILE_WIDTH:
        path += ".p/%d" % width
    headers = {"Accept-Encoding": "gzip"} if gz else {"Accept-Encoding": "identity"}
    r = srv.get(path, headers=headers, stream=True)
    assert r.status_code == 200, (path, r.status_code)
    raw = r.raw.read()
    if gz:
        assert r.headers.get("Content-Encoding") == "gzip", r.headers
        assert "Accept-Encoding" in r.headers.get("Vary", "")
        raw = gzip.decompress(raw)
    else:
        assert "Content-Encoding" not in r.headers
    out, i = [], 0
    while i < len(raw):
        (ln,) = struct.unpack(">H", raw[i : i + 2])
        out.append(raw[i + 2 : i + 2 + ln])
        i += 2 + ln
    assert i == len(raw), "trailing bytes in the bundle"
    return r, out


def test_tiles_rebuild_the_root(srv, tok):
    origin, size, root = grown_log(srv, tok)
    entries = all_entries(srv, size)
    leaves = []
    full, width = divmod(size, TILE_WIDTH)
    for n in range(full + (1 if width else 0)):
        w = TILE_WIDTH if n < full else width
        path = "/ledger/tile/0/%s" % tile_index_path(n) + ("" if w == TILE_WIDTH else ".p/%d" % w)
        r = srv.get(path, headers={"Accept-Encoding": "gzip"})
        assert r.status_code == 200, (path, r.text)
        assert r.headers["Content-Type"] == "application/octet-stream"
        assert "Content-Encoding" not in r.headers, "hash tiles are random bytes: never gzipped"
        assert len(r.content) == 32 * w
        cc = r.headers["Cache-Control"]
        if w == TILE_WIDTH:
            assert "immutable" in cc and "max-age=31536000" in cc and "public" in cc, cc
        else:
            assert "immutable" not in cc
            m = re.search(r"max-age=(\d+)", cc)
            assert m and int(m.group(1)) <= 3600, cc
        leaves += [r.content[i : i + 32] for i in range(0, len(r.content), 32)]
        # the entry bundle of the same tile, gzipped and not
        r1, bundle = fetch_bundle(srv, n, w, gz=True)
        _, bundle2 = fetch_bundle(srv, n, w, gz=False)
        assert bundle == bundle2
        assert [leaf_hash(b) for b in bundle] == leaves[n * TILE_WIDTH :]
        assert [b.decode() for b in bundle] == [e["entry"] for e in entries[n * TILE_WIDTH : n * TILE_WIDTH + w]]
    assert len(leaves) == size
    assert leaves == [base64.b64decode(e["leaf_hash"]) for e in entries]
    assert mth(leaves) == root, "level-0 tiles do not hash up to the checkpoint root"

    # beyond the tree: 404, not cached
    past = "/ledger/tile/0/%s.p/%d" % (tile_index_path(full), width + 1) if width < 255 else None
    for path in filter(None, [past, "/ledger/tile/0/%s" % tile_index_path(full + 5),
                              "/ledger/tile/entries/%s" % tile_index_path(full + 1),
                              "/ledger/tile/3/000.p/1" if size < 256 ** 3 else None]):
        r = srv.get(path)
        assert r.status_code == 404, (path, r.status_code, r.text)
        assert "no-store" in r.headers.get("Cache-Control", "")


@pytest.mark.parametrize("path", [
    "/ledger/tile/",
    "/ledger/tile/0",
    "/ledger/tile/0/",
    "/ledger/tile/0/5",
    "/ledger/tile/0/0005",
    "/ledger/tile/0/x000/005",
    "/ledger/tile/0/000.p/0",
    "/ledger/tile/0/000.p/256",
    "/ledger/tile/0/000.p/",
    "/ledger/tile/64/000",
    "/ledger/tile/-1/000",
    "/ledger/tile/entries/",
    "/ledger/tile/entries/abc",
    "/ledger/tile/0/000/",
    "/ledger/tile/0/%3Cscript%3E",
    "/ledger/tile/data/000",
])
def test_bad_tile_paths(srv, path):
    r = srv.get(path)
    assert r.status_code in (400, 404), (path, r.status_code)
    assert "<script>" not in r.text
    assert r.headers["Content-Type"].startswith("text/plain") or r.status_code == 404


def test_full_tile_and_level_one(srv, tok, portal):
    """Grows the log past one full tile: full tiles are immutable, level 1 holds the
    MTH of the full level-0 tile, and the root still rebuilds from tiles."""
    _, size, _ = grown_log(srv, tok)
    token = tok["sysadmin"]
    while size < TILE_WIDTH + 3:
        for _ in range(min(64, TILE_WIDTH + 3 - size)):
            make_dataset(srv, token)
        _, size, _ = wait_for_size(srv, size + 1)
    _, size, root = wait_for_size(srv, TILE_WIDTH + 3)
    r = srv.get("/ledger/tile/0/000")
    assert r.status_code == 200 and len(r.content) == 32 * TILE_WIDTH
    assert r.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    tile0 = [r.content[i : i + 32] for i in range(0, len(r.content), 32)]
    r1 = srv.get("/ledger/tile/1/000.p/%d" % (size // TILE_WIDTH))
    assert r1.status_code == 200, r1.text
    assert r1.content[:32] == mth(tile0)
    # the partial level-0 tile after it, and the root from level 1 + the partial tile
    width = size % TILE_WIDTH
    rp = srv.get("/ledger/tile/0/001.p/%d" % width)
    assert rp.status_code == 200, rp.text
    leaves = tile0 + [rp.content[i : i + 32] for i in range(0, len(rp.content), 32)]
    if size < 2 * TILE_WIDTH:
        assert mth(leaves) == root
    # the full bundle is a bundle of 256 entries
    _, bundle = fetch_bundle(srv, 0, TILE_WIDTH, gz=True)
    assert len(bundle) == TILE_WIDTH and [leaf_hash(b) for b in bundle] == tile0
    # entries: at most 256 per call
    r = srv.get("/api/ledger/entries", params={"start": 0, "end": size})
    assert r.status_code == 200 and len(r.json()) == TILE_WIDTH


def settled_size(srv):
    """The checkpoint's size once it stopped growing: entries staged by an earlier test
    (which waited only for some of them) may still be integrated, and a size read before
    that would make "size + 1" a valid parameter a moment later."""
    size = checkpoint(srv)[1]
    deadline = time.monotonic() + SETTLE_TIMEOUT
    while time.monotonic() < deadline:
        time.sleep(0.3)
        now = checkpoint(srv)[1]
        if now == size:
            break
        size = now
    return size


def test_bad_parameters(srv, tok):
    size = settled_size(srv)
    cases = [
        ("/api/ledger/entries", {"start": "abc"}, "start"),
        ("/api/ledger/entries", {"start": "-1"}, "start"),
        ("/api/ledger/entries", {"start": "1e3"}, "start"),
        ("/api/ledger/entries", {"start": " 1"}, "start"),
        ("/api/ledger/entries", {"start": "99999999999999999999999"}, "start"),
        ("/api/ledger/entries", {"start": str(size + 1)}, "start"),
        ("/api/ledger/entries", {"start": "5", "end": "5"}, "end"),
        ("/api/ledger/entries", {"start": "5", "end": "2"}, "end"),
        ("/api/ledger/entries", {"end": "x"}, "end"),
        ("/api/ledger/proof/inclusion", {"index": "x"}, "index"),
        ("/api/ledger/proof/inclusion", {"index": str(size)}, "index"),
        ("/api/ledger/proof/inclusion", {"index": "0", "size": "0"}, "size"),
        ("/api/ledger/proof/inclusion", {"index": "0", "size": str(size + 1)}, "size"),
        ("/api/ledger/proof/inclusion", {"index": "0", "size": "abc"}, "size"),
        ("/api/ledger/proof/inclusion", {}, "index"),
        ("/api/ledger/proof/inclusion", {"index": "0", "leaf_hash": "AAAA"}, "index"),
        ("/api/ledger/proof/inclusion", {"leaf_hash": "not base64"}, "leaf_hash"),
        ("/api/ledger/proof/inclusion", {"leaf_hash": b64(b"\0" * 31)}, "leaf_hash"),
        ("/api/ledger/proof/inclusion", {"leaf_hash": b64(b"\0" * 33)}, "leaf_hash"),
        ("/api/ledger/proof/consistency", {"second": "1"}, "first"),
        ("/api/ledger/proof/consistency", {"first": "1"}, "second"),
        ("/api/ledger/proof/consistency", {"first": "0", "second": "1"}, "first"),
        ("/api/ledger/proof/consistency", {"first": "2", "second": "1"}, "first"),
        ("/api/ledger/proof/consistency", {"first": "1", "second": str(size + 1)}, "second"),
        ("/api/ledger/proof/consistency", {"first": "one", "second": "2"}, "first"),
    ]
    for path, params, name in cases:
        r = srv.get(path, params=params)
        assert_error(r, 400, name)
        assert "max-age" not in r.headers.get("Cache-Control", "")
    # an unknown leaf hash: 404
    r = srv.get("/api/ledger/proof/inclusion", params={"leaf_hash": b64(hashlib.sha256(b"nope").digest())})
    if size:
        assert_error(r, 404, "leaf_hash")
    # start at the end of the log: an empty list, not an error
    r = srv.get("/api/ledger/entries", params={"start": size})
    assert r.status_code == 200 and r.json() == []
    # writes are not accepted
    r = srv.request("POST", "/api/ledger/entries", data=b"{}", headers={"Content-Type": "application/json"})
    assert r.status_code == 405
    assert r.headers["Allow"] == "GET, HEAD"
    r = srv.request("POST", "/ledger/checkpoint", data=b"x")
    assert r.status_code == 405


def test_json_caching(srv, tok):
    size = grown_log(srv, tok)[1]
    assert size > 0
    r = srv.get("/api/ledger/entries", params={"start": 0, "end": 1})
    assert r.status_code == 200
    assert r.headers["Content-Type"].startswith("application/json")
    etag = r.headers["ETag"]
    again = srv.get("/api/ledger/entries", params={"start": 0, "end": 1}, headers={"If-None-Match": etag})
    assert again.status_code == 304
    r = srv.get("/ledger/tile/0/000.p/1" if size < TILE_WIDTH else "/ledger/tile/0/000")
    assert r.status_code == 200
    again = srv.get(r.url[len(srv.url):], headers={"If-None-Match": r.headers["ETag"]})
    assert again.status_code == 304
    assert again.headers["Cache-Control"] == r.headers["Cache-Control"]


def test_ledger_page(srv, tok):
    token = tok["sysadmin"]
    name = unique("xss")
    before = checkpoint(srv)[1]
    d = make_dataset(srv, token, name=name, title=HOSTILE_TITLE, notes="<b>bold</b>")
    _, size, root = wait_for_size(srv, before + 1)
    page = srv.get("/ledger")
    assert page.status_code == 200
    assert page.headers["Content-Type"].startswith("text/html")
    assert "Content-Security-Policy" in page.headers
    html = page.text
    assert "<script>alert" not in html and "<img src=x" not in html
    assert b64(root) in html
    assert vkey_of(srv) in html
    entries = all_entries(srv, size) if size else []
    if entries:
        newest = entries[-1]
        assert "/api/ledger/proof/inclusion?index=%d&amp;size=%d" % (newest["index"], size) in html
        # newest first
        first_row = re.search(r'<tr id="entry-(\d+)"', html)
        assert first_row and int(first_row.group(1)) == newest["index"]
        recorded = [json.loads(e["entry"]) for e in entries]
        if any(json.dumps(x).find(d["id"]) >= 0 for x in recorded):
            assert 'href="/dataset/%s"' % d["id"] in html
    # hostile filters are reflected escaped
    r = srv.get("/ledger", params={"type": '"><script>alert(1)</script>', "org": "<svg onload=x>"})
    assert r.status_code == 200
    assert "<script>alert(1)" not in r.text and "<svg onload" not in r.text
    assert "&lt;svg onload=x&gt;" in r.text or "%3Csvg" in r.text
    # filters narrow the list
    if entries:
        some_type = json.loads(entries[-1]["entry"])["type"]
        r = srv.get("/ledger", params={"type": some_type})
        rows = re.findall(r'<tr id="entry-(\d+)"', r.text)
        want = [e["index"] for e in reversed(entries) if json.loads(e["entry"])["type"] == some_type]
        assert [int(x) for x in rows] == want[: len(rows)] and rows
        r = srv.get("/ledger", params={"org": ORG})
        assert r.status_code == 200
        r = srv.get("/ledger", params={"type": "no-such-type"})
        assert r.status_code == 200 and '<tr id="entry-' not in r.text
    # paging: before= shows older entries only; junk is a 400 naming it
    if len(entries) > 1:
        r = srv.get("/ledger", params={"before": entries[-1]["index"]})
        rows = [int(x) for x in re.findall(r'<tr id="entry-(\d+)"', r.text)]
        assert rows and max(rows) == entries[-2]["index"]
    for junk in ("abc", "-1", "99999999999999999999", "0"):
        r = srv.get("/ledger", params={"before": junk})
        assert r.status_code == 400 and "before" in r.text, (junk, r.status_code)
    # linked from the home page
    home = srv.get("/")
    assert 'href="/ledger"' in home.text


def test_graceful_stop_integrates(clone_portal, start_server):
    """Entries staged when SIGTERM arrives are integrated by the sequencer's stop: after
    a graceful shutdown the latest checkpoint covers every entry in the database."""
    p = clone_portal("stop")
    s = start_server(p)
    token = p.tokens["sysadmin"]
    for _ in range(5):
        make_dataset(s, token)
    s.stop()  # at once: the last writes may still be staged
    ((entries,),) = portal_sql(p.path, "SELECT COUNT(*) FROM ledger_entries")
    ((signed,),) = portal_sql(p.path, "SELECT COALESCE(MAX(size), 0) FROM ledger_checkpoints")
    entries, signed = int(entries), int(signed)
    assert entries == signed, "%d entries but the latest checkpoint has %d" % (entries, signed)
    s2 = start_server(p)
    _, size, root = checkpoint(s2)
    assert size == signed
    got = all_entries(s2, size)
    assert mth([base64.b64decode(e["leaf_hash"]) for e in got]) == root
