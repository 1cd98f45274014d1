"""`kaifang ledger verify` and `kaifang init` for real deployments: two portals that both
sign as the default origin are two logs (state keyed by the verifier key), `init
--origin`, usage errors for a malformed --key or an unsupported URL scheme, the
concurrent tile fetch with and without gzip, and the ledger page's refusal of a
malformed "before"."""

import os

from conftest import Portal, run_cli, unique


def portal_with_entries(path, n=3):
    p = Portal(path).init()
    for _ in range(n):
        p.cli("organization", "add", unique("org"))
    return p


def vkey(p):
    return p.cli("ledger", "key").stdout.strip()


def verify(target, home, *extra, check=None):
    """verify with the default state file under home (no --state)."""
    return run_cli("ledger", "verify", target, *extra, check=check, env={"HOME": str(home)})


def test_two_default_portals_are_two_logs(tmp_path, start_server):
    home = tmp_path / "home"
    home.mkdir()
    a = portal_with_entries(tmp_path / "a", 3)
    b = portal_with_entries(tmp_path / "b", 5)
    ka, kb = vkey(a), vkey(b)
    assert ka != kb and ka.split("+")[0] == kb.split("+")[0] == "127.0.0.1:8080/ledger"
    sa, sb = start_server(a), start_server(b)
    verify(sa.url, home, "--key", ka, check=0)
    # Before: the state file was keyed by the origin, so B's checkpoint was checked
    # against A's: "BAD".
    r = verify(sb.url, home, "--key", kb, check=0)
    assert "ledger ok" in r.stdout, r.stdout + r.stderr
    states = sorted(os.listdir(home / ".kaifang"))
    assert len(states) == 2, states
    # Each log keeps its own history: both verify again, consistent with what was seen.
    for srv, key in ((sa, ka), (sb, kb)):
        r = verify(srv.url, home, "--key", key, check=0)
        assert "consistent with size" in r.stdout, r.stdout + r.stderr
    # Without --key: two logs of this origin were seen and the server's key is one of
    # them, so it is pinned.
    r = verify(sb.url, home, check=0)
    assert "consistent with size" in r.stdout, r.stdout + r.stderr


def test_without_key_the_origin_pins_the_key_seen(tmp_path, start_server):
    home = tmp_path / "home"
    home.mkdir()
    a = portal_with_entries(tmp_path / "a")
    b = portal_with_entries(tmp_path / "b")
    sa, sb = start_server(a), start_server(b)
    r = verify(sa.url, home, check=0)  # trust on first use
    assert "trusting the key" in r.stderr
    # Another key for the same origin without --key: a changed key and a different log
    # look alike, so it is a problem, not a silent new trust.
    r = verify(sb.url, home, check=1)
    assert "BAD" in r.stderr, r.stderr
    # A third log when two were seen: the server's key is none of them.
    verify(sb.url, home, "--key", vkey(b), check=0)
    c = portal_with_entries(tmp_path / "c")
    sc = start_server(c)
    r = verify(sc.url, home, check=1)
    assert "pass --key" in r.stderr, r.stderr


def test_the_former_state_file_of_the_origin_is_read(tmp_path, start_server):
    """A state file named by SHA-256 of the origin (before this change) still counts:
    a rollback against it is reported."""
    import hashlib
    home = tmp_path / "home"
    (home / ".kaifang").mkdir(parents=True)
    a = portal_with_entries(tmp_path / "a", 4)
    key = vkey(a)
    sa = start_server(a)
    state = tmp_path / "s"
    verify(sa.url, home, "--key", key, "--state", state, check=0)
    legacy = home / ".kaifang" / ("ledger-%s.state" % hashlib.sha256(
        b"127.0.0.1:8080/ledger").hexdigest()[:16])
    legacy.write_bytes(state.read_bytes())
    r = verify(sa.url, home, "--key", key, check=0)
    assert "consistent with size" in r.stdout, r.stdout + r.stderr


def test_init_origin(tmp_path):
    d = tmp_path / "p"
    r = run_cli("init", "--origin", "data.example.gov/ledger", portal=d, check=0)
    key = run_cli("ledger", "key", portal=d, check=0).stdout.strip()
    assert key.startswith("data.example.gov/ledger+") and key in r.stdout, (key, r.stdout)
    r = run_cli("ledger", "verify", d, "--key", key, "--state", tmp_path / "s", check=0)
    assert "data.example.gov/ledger size 0" in r.stdout, r.stdout
    # Same origin again: kept; another origin: refused, the key is kept.
    run_cli("init", "--origin", "data.example.gov/ledger", portal=d, check=0)
    r = run_cli("init", "--origin", "other.example/ledger", portal=d, check=1)
    assert "data.example.gov/ledger" in r.stderr and "kept" in r.stderr, r.stderr
    assert run_cli("ledger", "key", portal=d, check=0).stdout.strip() == key
    for bad in ("https://data.example.gov/ledger", "data example/ledger", "a+b/ledger", "",
                "/ledger", "tab\there"):
        e = tmp_path / unique("bad")
        r = run_cli("init", "--origin", bad, portal=e, check=2)
        assert "--origin" in r.stderr, (bad, r.stderr)
        assert not os.path.exists(e / "ledger.key"), bad
    assert "--origin" in run_cli("help", "init", check=0).stdout


def test_verify_usage_errors(tmp_path):
    r = run_cli("ledger", "verify", "http://127.0.0.1:9", "--key", "garbage", "--state",
                tmp_path / "s")
    assert r.returncode == 2 and "--key" in r.stderr, (r.returncode, r.stderr)
    # A key whose id does not match it is malformed too.
    d = Portal(tmp_path / "p").init()
    k = vkey(d)
    broken = k[:-8] + ("A" if k[-8] != "A" else "B") + k[-7:]
    r = run_cli("ledger", "verify", d.path, "--key", broken, "--state", tmp_path / "s")
    assert r.returncode == 2 and "--key" in r.stderr, (r.returncode, r.stderr)
    for url, scheme in (("ftp://x", "ftp"), ("file:///etc", "file"), ("gopher://h/1", "gopher")):
        r = run_cli("ledger", "verify", url, "--state", tmp_path / "s")
        assert r.returncode == 2 and '"%s"' % scheme in r.stderr, (url, r.returncode, r.stderr)
    r = run_cli("ledger", "verify", "HTTP://127.0.0.1:9", "--state", tmp_path / "s")
    assert r.returncode == 1, r.stderr  # a URL (unreachable), not a usage error
    r = run_cli("ledger", "verify", d.path, "--gzip", "maybe")
    assert r.returncode == 2 and "--gzip" in r.stderr, r.stderr


def test_ledger_page_refuses_a_malformed_before(tmp_path, start_server):
    p = portal_with_entries(tmp_path / "p", 2)
    srv = start_server(p)
    for value in ("-1", "abc", "99999999999999999999", "0", "1e3", "<b>x</b>"):
        r = srv.get("/ledger", params={"before": value})
        assert r.status_code == 400, (value, r.status_code)
        assert r.headers["Content-Type"].startswith("text/html")
        assert '"before"' in r.text or "&quot;before&quot;" in r.text, r.text
        assert "<b>x</b>" not in r.text
    # Past the end, or empty: the newest entries.
    for ok_value in ("999999", ""):
        assert srv.get("/ledger", params={"before": ok_value}).status_code == 200
