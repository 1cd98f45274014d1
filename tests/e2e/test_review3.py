"""
The third review: `kaifang load` of a directory without dataset folders, a dataset
without a publisher, last_modified of an upload, and `kaifang ledger verify` wording.
"""

import hashlib
import json

import pytest

from conftest import Portal, fails, make_dataset, ok, run_cli, unique


def write_folder(root, name, meta_extra=None, drop=()):
    """A dataset folder root/name with one CSV file and a metadata.json."""
    d = root / name
    d.mkdir(parents=True)
    data = b"x,y\n1,2\n"
    (d / "a.csv").write_bytes(data)
    m = {"title": "Folder " + name, "description": "d", "publisher": "Test Bureau",
         "license": "CC BY 4.0", "keywords": ["test"],
         "resources": [{"file": "a.csv", "bytes": len(data),
                        "sha256": hashlib.sha256(data).hexdigest()}]}
    m.update(meta_extra or {})
    for k in drop:
        m.pop(k)
    (d / "metadata.json").write_text(json.dumps(m))
    return d


# -- 1. load of a directory without dataset folders --------------------------------------


def test_load_of_an_empty_directory_fails(clone_portal, tmp_path):
    cat = tmp_path / "empty"
    cat.mkdir()
    p = clone_portal().cli("load", cat, check=1)
    assert "no dataset folders found" in p.stderr and str(cat) in p.stderr, p.stderr
    assert "loaded 0 of 0" not in p.stdout, p.stdout


def test_load_of_a_dataset_folder_says_pass_its_parent(clone_portal, tmp_path):
    d = write_folder(tmp_path / "cat", "one")
    (d / "sub").mkdir()  # a sub-folder without a metadata.json is no dataset folder
    p = clone_portal().cli("load", d, check=1)
    assert "no dataset folders found" in p.stderr and "is a dataset folder" in p.stderr, p.stderr
    assert "pass its parent" in p.stderr, p.stderr


def test_load_of_the_parent_still_works(clone_portal, tmp_path):
    write_folder(tmp_path / "cat", "one")
    p = clone_portal().cli("load", tmp_path / "cat", check=0)
    assert "loaded 1 of 1" in p.stdout, p.stdout


# -- 2. a dataset without a publisher ----------------------------------------------------


@pytest.mark.parametrize("meta_extra, drop", [({}, ("publisher",)), ({"publisher": ""}, ()),
                                              ({"publisher": None}, ())])
def test_load_without_publisher_fails_naming_the_field(clone_portal, start_server, tmp_path,
                                                       meta_extra, drop):
    cat = tmp_path / "cat"
    write_folder(cat, "no-publisher", meta_extra, drop)
    write_folder(cat, "with-publisher")
    pt = clone_portal()
    p = pt.cli("load", cat, check=1)
    assert '"no-publisher"' in p.stderr and '"publisher"' in p.stderr, p.stderr
    assert "loaded 1 of 2" in p.stdout, p.stdout
    lst = ok(start_server(pt).api("package_list"))
    assert "with-publisher" in lst and "no-publisher" not in lst, lst


# -- 3. resource urls with dangerous schemes ---------------------------------------------


@pytest.mark.parametrize("url", [
    "javascript:alert(1)", "JAVASCRIPT:alert(1)", " \tjavascript:alert(1)", "\x01javascript:alert(1)",
    "java\tscript:alert(1)", "data:text/html,<script>alert(1)</script>", "file:///etc/passwd",
    "vbscript:msgbox(1)",
])
def test_dangerous_resource_url_is_refused(srv, tok, url):
    d = make_dataset(srv, tok["editor"])
    fails(srv.api("resource_create", token=tok["editor"], package_id=d["id"], url=url), 409,
          type_="Validation Error", field="url")
    good = ok(srv.api("resource_create", token=tok["editor"], package_id=d["id"],
                      url="https://example.org/a.csv"))
    fails(srv.api("resource_update", token=tok["editor"], id=good["id"], url=url), 409,
          type_="Validation Error", field="url")
    fails(srv.api("package_create", token=tok["editor"], name=unique("urls"), title="t",
                  owner_org=d["owner_org"], resources=[{"url": url}]), 409,
          type_="Validation Error", field="resources", message='"url"')
    shown = ok(srv.api("package_show", id=d["id"]))
    assert [r["url"] for r in shown["resources"]] == ["https://example.org/a.csv"], shown


@pytest.mark.parametrize("url", ["", "http://example.org/a.csv", "HTTPS://example.org/b.csv",
                                 "ftp://ftp.example.org/c.csv", "data/d.csv", "/files/e.csv"])
def test_safe_resource_url_is_kept(srv, tok, url):
    d = make_dataset(srv, tok["editor"])
    r = ok(srv.api("resource_create", token=tok["editor"], package_id=d["id"], url=url))
    assert r["url"] == url, r


# -- 4. last_modified of an upload -------------------------------------------------------


def test_upload_sets_last_modified(srv, tok):
    d = make_dataset(srv, tok["editor"])
    r = ok(srv.api("resource_create", token=tok["editor"], package_id=d["id"],
                   files={"upload": ("a.csv", b"a,b\n1,2\n", "text/csv")}))
    assert r["last_modified"] is not None and r["last_modified"] == r["metadata_modified"], r
    first = r["last_modified"]
    r = ok(srv.api("resource_update", token=tok["editor"], id=r["id"], description="words"))
    assert r["last_modified"] == first, r
    r = ok(srv.api("resource_update", token=tok["editor"], id=r["id"],
                   files={"upload": ("b.csv", b"a,b\n3,4\n", "text/csv")}))
    assert r["last_modified"] is not None and r["last_modified"] > first, r
    link = ok(srv.api("resource_create", token=tok["editor"], package_id=d["id"],
                      url="https://example.org/x.csv"))
    assert link["last_modified"] is None, link


# -- 5. kaifang ledger verify wording ----------------------------------------------------


def test_ledger_verify_one_stored_checkpoint_is_singular(tmp_path):
    p = Portal(tmp_path / "portal").init()
    key = p.cli("ledger", "key").stdout.strip()
    r = run_cli("ledger", "verify", p.path, "--state", tmp_path / "s", "--key", key, check=0)
    assert "; 1 stored checkpoint signed" in r.stdout, r.stdout


def test_ledger_verify_unwritable_state_is_not_a_bad_log(clone_portal, tmp_path):
    p = clone_portal()
    key = p.cli("ledger", "key").stdout.strip()
    state = tmp_path / "no-such-dir" / "s"
    r = run_cli("ledger", "verify", p.path, "--state", state, "--key", key, check=1)
    assert "BAD" not in r.stderr, r.stderr
    assert "the log verified" in r.stderr and str(state) in r.stderr, r.stderr
    assert "No such file or directory" in r.stderr, r.stderr
    assert r.stdout.startswith("ledger ok:"), r.stdout
