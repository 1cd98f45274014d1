"""
Fixes from a hostile review of the catalog, access, CLI and web pages, end to end:
include_drafts on its own, names equal to ids, CKAN's q/fq fields, multipart resource
extras, e-mail checks in `user add`, `member remove` of a non-member, duplicate keys
in kaifang.conf, symbolic links in a catalog folder, re-loading an unchanged catalog,
pagination of /dataset and singular counts on the home page.
"""

import hashlib
import json
import os
import shutil


from conftest import (CATALOG_DIR, ORG, Portal, Server, create_token, fails, make_dataset, ok,
                      run_cli, unique)


def names(r):
    return {d["name"] for d in ok(r)["results"]}


# -- 1. include_drafts without include_private ------------------------------------------


def test_include_drafts_alone(srv, tok):
    word = unique("draftword").replace("-", "")
    pub = make_dataset(srv, tok["editor"], title=word)["name"]
    drf = make_dataset(srv, tok["editor"], title=word, state="draft")["name"]
    pdrf = make_dataset(srv, tok["editor"], title=word, state="draft", private=True)["name"]
    priv = make_dataset(srv, tok["editor"], title=word, private=True)["name"]
    want = {
        "sysadmin": {pub, drf, pdrf},
        "orgadmin": {pub, drf, pdrf},
        "editor": {pub, drf, pdrf},
        "member": {pub},
        "outsider": {pub},
        None: {pub},
    }
    for who, expected in want.items():
        t = tok[who] if who else None
        got = names(srv.api("package_search", token=t, q=word, include_drafts="true", rows=100))
        assert got == expected, "%s: %r" % (who, got)
        assert priv not in got
    # Together with include_private, as before.
    got = names(srv.api("package_search", token=tok["member"], q=word, include_drafts=True,
                        include_private=True, rows=100))
    assert got == {pub, priv}


# -- 2, 3. names that are ids; grammar ----------------------------------------------------


def test_name_equal_to_another_id_is_refused(srv, tok):
    a = make_dataset(srv, tok["editor"])
    fails(srv.api("package_create", token=tok["editor"], name=a["id"], owner_org=ORG), 409,
          "Validation Error", field="name", message="That URL is already in use.")
    # The id of a dataset is still its id, and its name still reaches it.
    assert ok(srv.api("package_show", id=a["id"]))["name"] == a["name"]
    org = ok(srv.api("organization_show", id=ORG))
    fails(srv.api("group_create", token=tok["sysadmin"], name=org["id"]), 409, field="name")
    fails(srv.api("organization_create", token=tok["sysadmin"], name=org["id"]), 409, field="name")
    r = fails(srv.api("group_create", token=tok["editor"], name=unique("g")), 403)
    assert "create a group" in r["message"], r


# -- 4. CKAN's q/fq fields ------------------------------------------------------------------


def test_ckan_search_fields(srv, tok):
    word = unique("fieldword").replace("-", "")
    pub = make_dataset(srv, tok["editor"], title=word + " river", author="Zhang Wei")["name"]
    priv = make_dataset(srv, tok["editor"], title=word, notes="canal locks", private=True)["name"]
    t = tok["editor"]
    assert names(srv.api("package_search", token=t, q=word, fq="private:true",
                         include_private=True)) == {priv}
    assert names(srv.api("package_search", token=t, q=word, fq="private:false",
                         include_private=True)) == {pub}
    assert names(srv.api("package_search", token=t, q="title:%s notes:canal" % word,
                         include_private=True)) == {priv}
    assert names(srv.api("package_search", q="author:zhang " + word)) == {pub}
    assert names(srv.api("package_search", q=word, fq="type:dataset +state:active")) == {pub}
    assert names(srv.api("package_search", q=word, fq="type:showcase")) == set()
    fails(srv.api("package_search", q="colour:blue"), 409, "Search Query Error", message="colour")
    fails(srv.api("package_search", q="state:deleted"), 409, "Search Query Error")


# -- 5. multipart resource fields follow the JSON rules ------------------------------------


def test_multipart_extras_follow_json_rules(srv, tok):
    d = make_dataset(srv, tok["editor"])
    up = {"upload": ("a.csv", b"a,b\n1,2\n", "text/csv")}
    r = ok(srv.api("resource_create", token=tok["editor"], files=up, package_id=d["id"], zzz="1"))
    assert r["zzz"] == "1"
    assert ok(srv.api("resource_show", id=r["id"]))["zzz"] == "1"
    for extra in ({"k" * 101: "1"}, {"long": "v" * 20000}):
        jr = srv.api("resource_create", token=tok["editor"], package_id=d["id"], url="http://x/a.csv",
                     **extra)
        mr = srv.api("resource_create", token=tok["editor"], files=up, package_id=d["id"], **extra)
        assert jr.status == 409 and mr.status == 409, (jr, mr)
        assert jr.body["error"] == mr.body["error"], (jr, mr)


# -- 6, 7, 8. the command line ----------------------------------------------------------------


def test_cli_user_email_member_token_conf(clone_portal):
    p = clone_portal()
    r = p.cli("user", "add", "mailer", "--email", "notanemail", check=1)
    assert "notanemail" in r.stderr and "not a valid format" in r.stderr, r.stderr
    p.cli("user", "add", "mailer", "--email", "mailer@example.org")

    r = p.cli("member", "remove", ORG, "outsider", check=1)
    assert 'user "outsider" is not a member of "%s"' % ORG in r.stderr, r.stderr
    p.cli("member", "remove", ORG, "member")
    p.cli("member", "remove", ORG, "member", check=1)

    r = p.cli("token", "create", "mailer")
    tid = r.stderr.split("token id ")[1].split()[0]
    p.cli("token", "revoke", tid)
    r = p.cli("token", "revoke", tid, check=1)
    assert 'token "%s" not found' % tid in r.stderr, r.stderr

    with open(os.path.join(p.path, "kaifang.conf"), "a") as f:
        f.write("listen = 127.0.0.1:0\n# again\nlisten = 127.0.0.1:1\n")
    lines = open(os.path.join(p.path, "kaifang.conf")).read().splitlines()
    first, second = len(lines) - 2, len(lines)
    r = run_cli("serve", portal=p.path, check=1)
    assert 'kaifang.conf:%d: duplicate key "listen" (first on line %d)' % (second, first) in r.stderr, \
        r.stderr


# -- 9. symbolic links in a catalog folder ---------------------------------------------------


def write_folder(root, name, files, title="Linked"):
    d = os.path.join(root, name)
    os.makedirs(d, exist_ok=True)
    res = []
    for fname, data in files.items():
        res.append({"file": fname, "bytes": len(data), "sha256": hashlib.sha256(data).hexdigest()})
    meta = {"title": title, "publisher": "Test Office", "license": "CC0", "resources": res}
    with open(os.path.join(d, "metadata.json"), "w") as f:
        json.dump(meta, f)
    return d


def test_load_refuses_symlinks(clone_portal, tmp_path):
    p = clone_portal()
    cat = str(tmp_path / "catalog")
    secret = open("/etc/passwd", "rb").read()
    d = write_folder(cat, "linked-data", {"passwd.csv": secret})
    os.symlink("/etc/passwd", os.path.join(d, "passwd.csv"))
    d2 = write_folder(cat, "linked-meta", {"ok.csv": b"a\n1\n"})
    with open(os.path.join(d2, "ok.csv"), "wb") as f:
        f.write(b"a\n1\n")
    real = os.path.join(str(tmp_path), "meta.json")
    shutil.move(os.path.join(d2, "metadata.json"), real)
    os.symlink(real, os.path.join(d2, "metadata.json"))
    d3 = write_folder(cat, "fifo-data", {"pipe.csv": b""})
    os.mkfifo(os.path.join(d3, "pipe.csv"))
    os.symlink(d2, os.path.join(cat, "linked-folder"))
    r = p.cli("load", cat, check=1)
    assert '"linked-data": field "resources[0].file": "passwd.csv" is a symbolic link' in r.stderr, r.stderr
    assert '"linked-meta": "metadata.json" is a symbolic link' in r.stderr, r.stderr
    assert '"fifo-data": field "resources[0].file": "pipe.csv" is not a regular file' in r.stderr, r.stderr
    assert 'folder "linked-folder" is a symbolic link' in r.stderr, r.stderr
    assert "loaded 0 of 4 datasets" in r.stdout, r.stdout
    s = Server(p)
    try:
        assert ok(s.api("package_list")) == []
    finally:
        s.stop()


# -- 10. re-loading an unchanged catalog ------------------------------------------------------


def test_reload_unchanged_keeps_metadata_modified(tmp_path, kaifang_bin):
    p = Portal(tmp_path / "portal").init()
    cat = str(tmp_path / "catalog")
    shutil.copytree(CATALOG_DIR, cat)
    r = p.cli("load", cat)
    n = len([e for e in os.listdir(cat) if os.path.isdir(os.path.join(cat, e))])

    def modified():
        s = Server(p)
        try:
            res = ok(s.api("package_search", rows=1000))["results"]
            return {d["name"]: d["metadata_modified"] for d in res}
        finally:
            s.stop()

    before = modified()
    assert len(before) == n
    r = p.cli("load", cat)
    assert "(0 created, 0 updated, %d unchanged)" % n in r.stdout, r.stdout
    assert "0 files uploaded" in r.stdout, r.stdout
    assert modified() == before

    # A changed title updates that dataset only.
    name = sorted(before)[0]
    mp = os.path.join(cat, name, "metadata.json")
    meta = json.load(open(mp, encoding="utf-8"))
    meta["title"] = meta["title"] + " (revised)"
    json.dump(meta, open(mp, "w", encoding="utf-8"), ensure_ascii=False)
    r = p.cli("load", cat)
    assert "(0 created, 1 updated, %d unchanged)" % (n - 1) in r.stdout, r.stdout
    after = modified()
    assert after[name] > before[name]
    assert {k: v for k, v in after.items() if k != name} == {k: v for k, v in before.items() if k != name}


# -- 11, 12. the HTML pages ----------------------------------------------------------------------


def test_home_page_counts_are_singular_when_one(clone_portal):
    p = clone_portal()
    s = Server(p)
    try:
        ok(s.api("group_create", token=p.tokens["sysadmin"], name="only-group"))
        make_dataset(s, p.tokens["sysadmin"], groups=[{"name": "only-group"}])
        page = s.get("/").text
        assert "1 dataset · 1 organization · 1 theme</p>" in page, page
    finally:
        s.stop()


# Every page of a search is reachable over HTTP, and its links keep the query.
def test_search_page_paginates(clone_portal):
    p = clone_portal()
    s = Server(p)
    try:
        for i in range(45):
            make_dataset(s, p.tokens["editor"], name="page-test-%02d" % i, title="Paged table %02d" % i)
        seen = []
        for page in (1, 2, 3):
            html = s.get("/dataset?q=paged&page=%d" % page).text
            assert "45 datasets found" in html
            assert '<span class="page-of">Page %d / 3</span>' % page in html, html
            seen += [l.split('href="/dataset/')[1].split('"')[0] for l in html.splitlines()
                     if l.startswith('<li><a href="/dataset/page-test-')]
            assert len(seen) == min(45, 20 * page)
        assert sorted(seen) == ["page-test-%02d" % i for i in range(45)]
        html = s.get("/dataset?q=paged&page=2").text
        assert '<a rel="prev" href="/dataset?q=paged">' in html
        assert '<a rel="next" href="/dataset?q=paged&amp;page=3">' in html
    finally:
        s.stop()
