"""
`kaifang init --store URL` (issue 9): the store URL recorded in kaifang.conf, an existing
portal's store kept, a bad or unreachable PostgreSQL URL refused by name and never echoed
with its password.
"""

import os
import stat

from conftest import run_cli


def conf(path):
    with open(os.path.join(str(path), "kaifang.conf")) as f:
        return f.read()


def test_sqlite_store_url_recorded_and_kept(tmp_path):
    portal = tmp_path / "portal"
    run_cli("init", "--store", "sqlite:other.db", portal=portal, check=0)
    assert "\nstore_url = sqlite:%s/other.db\n" % portal in conf(portal)
    assert os.path.isfile(portal / "other.db")
    assert not os.path.exists(portal / "kaifang.db")
    # Commands find the store through kaifang.conf.
    run_cli("user", "add", "alice", portal=portal, check=0)
    assert "alice" in run_cli("user", "list", portal=portal, check=0).stdout

    # Re-running init with the same store migrates; another store is refused.
    run_cli("init", "--store", "sqlite:other.db", portal=portal, check=0)
    r = run_cli("init", "--store", "sqlite:third.db", portal=portal, check=1)
    assert "already uses another store" in r.stderr, r.stderr
    assert not os.path.exists(portal / "third.db")


def test_default_store_stays_commented(tmp_path):
    portal = tmp_path / "portal"
    run_cli("init", portal=portal, check=0)
    assert "\n# store_url = sqlite:kaifang.db\n" in conf(portal)
    assert stat.S_IMODE(os.stat(portal / "kaifang.conf").st_mode) == 0o644


def test_unreachable_postgresql_named_without_password(tmp_path):
    portal = tmp_path / "portal"
    url = "postgresql://kaifang:s3cret-pw@127.0.0.1:1/kaifang?connect_timeout=5"
    r = run_cli("init", "--store", url, portal=portal, check=1)
    assert 'cannot connect to the PostgreSQL server at host "127.0.0.1" port 1' in r.stderr, r.stderr
    assert "s3cret-pw" not in r.stderr + r.stdout
    # The URL was recorded, readable by the owner only (it holds a password).
    assert stat.S_IMODE(os.stat(portal / "kaifang.conf").st_mode) == 0o600


def test_bad_store_urls_refused(tmp_path):
    r = run_cli("init", "--store", "mysql://db/x", portal=tmp_path / "a", check=1)
    assert "store_url" in r.stderr or "mysql" in r.stderr, r.stderr
    r = run_cli("init", "--store", "postgresql://u:pw@h/db?nosuchoption=1", portal=tmp_path / "b",
                check=1)
    assert "nosuchoption" in r.stderr, r.stderr
    assert "pw@" not in r.stderr
