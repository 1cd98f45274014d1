"""
The second hostile review: search syntax that silently did the wrong thing (dangling AND,
a field without a value, a '*' dropped from a word), facet.mincount, integers past 64
bits, output-only resource fields sent back, an upload part without a file name, deleting
a deleted dataset twice, 405 on the CKAN API, and an empty --portal.
"""

import os
import time

import pytest
import requests

from conftest import ORG, fails, make_dataset, ok, run_cli, unique


# -- 1. package_search: dangling operators, empty field values, wildcards ----------------


def search_fails(resp, param, part):
    """A Search Query Error (409) whose message names the parameter and says part."""
    err = fails(resp, 409, type_="Search Query Error", message=part)
    assert err["message"].startswith('invalid "%s": ' % param), err


@pytest.fixture(scope="module")
def climate(srv, tok):
    return make_dataset(srv, tok["editor"], title="Climate observations", tags=[{"name": "weather"}])


@pytest.mark.parametrize("param, text", [
    ("q", "AND"), ("q", "&&"), ("q", "climate AND"), ("q", "AND climate"), ("q", "(AND climate)"),
    ("q", "climate AND AND observations"), ("fq", "AND"), ("fq_list", '["AND"]'),
    ("q", "OR"), ("q", "NOT"),
])
def test_dangling_operator_is_a_search_error(srv, climate, param, text):
    search_fails(srv.api("package_search", **{param: text}), param, "missing term")


@pytest.mark.parametrize("param, text", [
    ("q", "title:"), ("q", "notes:"), ("q", "-title:"), ("q", "climate title:"), ("q", 'title:""'),
    ("fq", "organization:"), ("fq", "tags:"), ("fq_list", '["res_format:"]'),
])
def test_field_without_value_is_a_search_error(srv, climate, param, text):
    search_fails(srv.api("package_search", **{param: text}), param, "no value for field")


@pytest.mark.parametrize("param, text", [
    ("q", "cli*"), ("q", "climate*"), ("q", "c*e"), ("q", "title:cli*"), ("fq", "name:clim*"),
    ("fq", "tags:weath*"), ("q", "title:(obs* OR x)"),
])
def test_wildcard_inside_a_word_is_refused(srv, climate, param, text):
    search_fails(srv.api("package_search", **{param: text}), param, "wildcards are not supported")


@pytest.mark.parametrize("text", ["*:*", "*", "tags:*", "climate", r"climate\*", '"climate*"',
                                  "climate AND observations", "climate && observations"])
def test_everything_and_plain_words_still_work(srv, climate, text):
    r = ok(srv.api("package_search", q=text, rows=1000))
    assert climate["id"] in [d["id"] for d in r["results"]], text


# -- 2. facet.mincount, integers out of range ----------------------------------------------


def test_facet_mincount_is_validated(srv, climate):
    for bad in ("x", "1.5", "-1"):
        fails(srv.api("package_search", **{"facet.mincount": bad}), 409, field="facet.mincount")


def test_facet_mincount_is_applied(srv, tok):
    tag = "mc" + unique("t").replace("-", "")[:20]
    for _ in range(2):
        make_dataset(srv, tok["editor"], tags=[{"name": tag}, {"name": tag + "-solo"}])
    make_dataset(srv, tok["editor"], tags=[{"name": tag}])
    base = {"fq": "tags:" + tag, "facet.field": '["tags"]'}
    r = ok(srv.api("package_search", **base))
    assert r["facets"]["tags"] == {tag: 3, tag + "-solo": 2}
    r = ok(srv.api("package_search", **dict(base, **{"facet.mincount": "3"})))
    assert r["facets"]["tags"] == {tag: 3}
    assert [i["name"] for i in r["search_facets"]["tags"]["items"]] == [tag]
    r = ok(srv.api("package_search", **dict(base, **{"facet.mincount": "4"})))
    assert r["facets"]["tags"] == {}
    r = ok(srv.api("package_search", **dict(base, **{"facet.mincount": "0"})))
    assert r["facets"]["tags"] == {tag: 3, tag + "-solo": 2}


@pytest.mark.parametrize("param, value", [
    ("start", "18446744073709551615"), ("rows", "100000000000000000000"),
    ("facet.limit", "99999999999999999999"), ("start", "-99999999999999999999"),
    ("start", "100000000"), ("rows", "-1"),
])
def test_integer_out_of_range_says_so(srv, param, value):
    err = fails(srv.api("package_search", **{param: value}), 409, field=param, message="out of range")
    assert "between" in err["message"] and param in err["message"], err


def test_integer_junk_is_not_out_of_range(srv):
    for v in ("abc", "1e3", "--1", "12a"):
        fails(srv.api("package_search", rows=v), 409, field="rows", message="must be an integer")


# -- 3. resource position: output-only, ignored as CKAN's schema does ('position': [ignore]) -


def test_resource_position_is_ignored(srv, tok):
    d = make_dataset(srv, tok["editor"])
    r = ok(srv.api("resource_create", token=tok["editor"], package_id=d["id"],
                   url="http://example.org/a.csv", position="abc"))
    assert r["position"] == 0
    r = ok(srv.api("resource_create", token=tok["editor"], package_id=d["id"],
                   url="http://example.org/b.csv", position=0))
    assert r["position"] == 1
    r = ok(srv.api("resource_create", token=tok["editor"], package_id=d["id"],
                   url="http://example.org/c.csv", position="abc", files={"zzz": (None, "1")}))
    assert r["position"] == 2
    shown = ok(srv.api("package_show", id=d["id"]))
    assert [x["position"] for x in shown["resources"]] == [0, 1, 2]


# -- 4. an upload part without a file name --------------------------------------------------


def multipart(srv, token, fields, upload_part):
    """POSTs resource_create with fields and one raw "upload" part header + content."""
    boundary = "kaifangreview2boundary"
    body = b""
    for k, v in fields.items():
        body += ("--%s\r\nContent-Disposition: form-data; name=\"%s\"\r\n\r\n%s\r\n"
                 % (boundary, k, v)).encode()
    disposition, content = upload_part
    body += ("--%s\r\nContent-Disposition: form-data; name=\"upload\"%s\r\n"
             "Content-Type: text/csv\r\n\r\n" % (boundary, disposition)).encode()
    body += content + b"\r\n--" + boundary.encode() + b"--\r\n"
    r = srv.request("POST", "/api/3/action/resource_create", data=body,
                    headers={"Authorization": token,
                             "Content-Type": "multipart/form-data; boundary=" + boundary})
    from conftest import Response
    return Response(r)


@pytest.mark.parametrize("part", [
    ('; filename=""', b"a,b\n1,2\n"),  # curl -F 'upload=@f.csv;filename='
    ('; filename=""', b""),             # a browser's "no file chosen"
    ("", b""),                          # no filename and no bytes
])
def test_upload_without_file_name_is_refused(srv, tok, part):
    d = make_dataset(srv, tok["editor"])
    fails(multipart(srv, tok["editor"], {"package_id": d["id"], "name": "x"}, part), 409,
          type_="Validation Error", field="upload", message="has no file name")
    assert ok(srv.api("package_show", id=d["id"]))["resources"] == []


def test_upload_without_file_name_beside_a_url_is_ignored(srv, tok):
    d = make_dataset(srv, tok["editor"])
    r = ok(multipart(srv, tok["editor"], {"package_id": d["id"], "url": "http://example.org/x.csv"},
                     ('; filename=""', b"a,b\n")))
    assert r["url"] == "http://example.org/x.csv" and r["url_type"] == ""


def test_upload_with_a_file_name_still_works(srv, tok):
    d = make_dataset(srv, tok["editor"])
    r = ok(multipart(srv, tok["editor"], {"package_id": d["id"]}, ('; filename="f.csv"', b"a,b\n")))
    assert r["url_type"] == "upload" and r["url"].endswith("/f.csv")


# -- 5. deleting a deleted dataset records nothing -------------------------------------------


def checkpoint_size(srv):
    r = srv.get("/ledger/checkpoint")
    assert r.status_code == 200, r.content[:300]
    lines = r.content.decode("utf-8").split("\n")
    assert len(lines) >= 3 and lines[1].isdigit(), r.content[:300]
    return int(lines[1])


def settled_size(srv, timeout=20.0, quiet=0.6):
    """The checkpoint size once it has not moved for `quiet` seconds (the sequencer
    integrates in 100 ms batches)."""
    deadline = time.monotonic() + timeout
    size, since = checkpoint_size(srv), time.monotonic()
    while time.monotonic() < deadline:
        time.sleep(0.05)
        now = checkpoint_size(srv)
        if now != size:
            size, since = now, time.monotonic()
        elif time.monotonic() - since >= quiet:
            return size
    raise AssertionError("the checkpoint kept growing for %ss" % timeout)


def test_second_package_delete_changes_nothing(clone_portal, start_server):
    p = clone_portal()
    s = start_server(p)
    editor = p.tokens["editor"]
    d = make_dataset(s, editor)
    before = settled_size(s)
    assert ok(s.api("package_delete", token=editor, id=d["id"])) is None
    after_first = settled_size(s)
    assert after_first == before + 1, (before, after_first)
    shown = ok(s.api("package_show", token=editor, id=d["id"]))
    assert shown["state"] == "deleted"
    assert ok(s.api("package_delete", token=editor, id=d["id"])) is None
    assert ok(s.api("package_delete", token=editor, id=d["name"])) is None
    # Well past several 100 ms batches: a second entry would have been integrated.
    deadline = time.monotonic() + 1.5
    while time.monotonic() < deadline:
        assert checkpoint_size(s) == after_first
        time.sleep(0.1)
    again = ok(s.api("package_show", token=editor, id=d["id"]))
    assert again == shown, "a second delete changed the dataset"


# -- 6. 405 on the CKAN API is a CKAN envelope -----------------------------------------------


@pytest.mark.parametrize("method, path", [
    ("PUT", "/api/3/action/package_show"), ("DELETE", "/api/3/action/package_delete"),
    ("PATCH", "/api/action/package_list"), ("OPTIONS", "/api/3/action/status_show"),
    ("BREW", "/api/3/action/package_list"), ("DELETE", "/api/3"), ("POST", "/api/3"),
    ("PUT", "/api/3/action"),
])
def test_405_on_the_ckan_api_is_an_envelope(srv, method, path):
    r = srv.request(method, path, data=b"{}" if method in ("PUT", "POST", "PATCH") else None)
    assert r.status_code == 405, (method, path, r.status_code, r.content[:300])
    assert r.headers.get("Allow") in ("GET, HEAD", "GET, HEAD, POST"), r.headers
    assert r.headers["Content-Type"].startswith("application/json"), r.headers
    b = r.json()
    assert b["success"] is False and isinstance(b["help"], str), b
    assert b["error"]["__type"] == "Bad request", b
    assert method in b["error"]["message"] and "not allowed" in b["error"]["message"], b


def test_405_elsewhere_stays_plain(srv):
    r = srv.request("DELETE", "/dataset")
    assert r.status_code == 405 and r.headers.get("Allow") == "GET, HEAD"
    assert r.headers["Content-Type"].startswith("text/plain")


# -- 7. an empty --portal or KAIFANG_PORTAL is a usage error ----------------------------------


@pytest.mark.parametrize("args", [["init", "--portal", ""], ["init", "--portal="],
                                  ["user", "list", "--portal", ""],
                                  ["serve", "--portal", "", "--listen", "127.0.0.1:0"]])
def test_empty_portal_option_is_a_usage_error(kaifang_bin, tmp_path, args):
    p = run_cli_in(tmp_path, args)
    assert p.returncode == 2, (p.returncode, p.stderr)
    assert "--portal" in p.stderr, p.stderr
    assert not os.path.exists(tmp_path / "kaifang-portal")


def test_empty_portal_variable_is_a_usage_error(kaifang_bin, tmp_path):
    p = run_cli_in(tmp_path, ["init"], env={"KAIFANG_PORTAL": ""})
    assert p.returncode == 2, (p.returncode, p.stderr)
    assert "KAIFANG_PORTAL" in p.stderr, p.stderr
    assert not os.path.exists(tmp_path / "kaifang-portal")
    # An explicit --portal wins over the empty variable.
    p = run_cli_in(tmp_path, ["init", "--portal", str(tmp_path / "p")], env={"KAIFANG_PORTAL": ""})
    assert p.returncode == 0, p.stderr


def run_cli_in(cwd, args, env=None):
    import subprocess

    from conftest import BIN, assert_no_sanitizer_report, sanitizer_env

    e = sanitizer_env(env)
    if env is None:
        e.pop("KAIFANG_PORTAL", None)
    p = subprocess.run([BIN] + args, capture_output=True, text=True, cwd=str(cwd), env=e, timeout=120)
    assert_no_sanitizer_report(p.stderr, " ".join(args))
    return p
