"""The Action API's envelope, routing and the small read actions."""

import json

from conftest import ORG, fails, make_dataset, ok, unique


def test_envelope_and_content_type(srv):
    r = srv.api("package_list")
    result = ok(r)
    assert isinstance(result, list)
    assert r.headers["Content-Type"].startswith("application/json"), r.headers["Content-Type"]
    assert set(r.body) == {"help", "success", "result"}, "CKAN's envelope has exactly these keys: %r" % list(r.body)


def test_unversioned_api_path(srv, tok):
    name = unique()
    make_dataset(srv, tok["editor"], name)
    a = ok(srv.api("package_show", id=name))
    b = ok(srv.api("package_show", id=name, prefix="/api/action/"))
    assert a == b


def test_get_and_post_reads_agree(srv, tok):
    name = unique()
    make_dataset(srv, tok["editor"], name)
    a = ok(srv.api("package_show", id=name, method="GET"))
    b = ok(srv.api("package_show", id=name, method="POST"))
    assert a == b


def test_unknown_action(srv):
    for method in ("GET", "POST"):
        r = srv.api("no_such_action", method=method)
        err = fails(r, 400)
        assert "Action name not known: no_such_action" in err.get("message", ""), r


def test_write_action_by_get_is_refused(srv, tok):
    name = unique()
    r = srv.api("package_create", token=tok["sysadmin"], method="GET", name=name, owner_org=ORG)
    fails(r, 400)
    fails(srv.api("package_show", id=name), 404)


def test_malformed_json(srv, tok):
    bodies = [b"{", b"{\"name\": }", b"[1, 2", b"\xff\xfe{}", b"{\"a\": 1} trailing", b"nul\x00l"]
    for body in bodies:
        r = srv.api("package_create", token=tok["sysadmin"], data=body,
                    headers={"Content-Type": "application/json"})
        err = fails(r, 400)
        msg = err.get("message", "")
        assert msg, r
        assert "line" in msg.lower() or "column" in msg.lower() or "json" in msg.lower(), \
            "the message should locate or name the JSON problem: %r" % msg


def test_json_body_must_be_an_object(srv, tok):
    for body in (b"[]", b"42", b"\"name\"", b"null"):
        r = srv.api("package_create", token=tok["sysadmin"], data=body,
                    headers={"Content-Type": "application/json"})
        assert r.status in (400, 409), r
        assert r.body and r.body.get("success") is False, r


def test_empty_post_body_to_read_action(srv):
    r = srv.api("package_list", method="POST", data=b"", headers={"Content-Type": "application/json"})
    assert isinstance(ok(r), list)


def test_oversized_body_413(srv, tok):
    # The client is still sending when the server decides: the server must still deliver
    # a readable 413 (read and discard the rest, or a lingering close), not reset the
    # connection under the client, which then sees no answer at all.
    import requests
    for size in ((1 << 20) + 100, 4 << 20):
        for attempt in range(3):
            big = json.dumps({"name": unique(), "owner_org": ORG, "notes": "x" * size}).encode()
            try:
                r = srv.api("package_create", token=tok["sysadmin"], data=big,
                            headers={"Content-Type": "application/json"})
            except requests.exceptions.ConnectionError as e:
                raise AssertionError("POST of a %d-byte body: connection reset before a 413 could be read (%s)"
                                     % (len(big), e))
            assert r.status == 413, r
            assert r.body is None or r.body.get("success") is False, r
    # The server is still fine.
    ok(srv.api("status_show"))


def test_status_show(srv):
    r = ok(srv.api("status_show"))
    for k in ("ckan_version", "site_url", "site_title", "extensions"):
        assert k in r, "status_show lacks %r: %r" % (k, r)
    assert isinstance(r["ckan_version"], str) and r["ckan_version"]
    assert isinstance(r["extensions"], list)
    assert r["site_url"].startswith("http")


def test_help_show(srv):
    r = ok(srv.api("help_show", name="package_show"))
    assert isinstance(r, str) and r.strip(), "help_show must return the action's documentation"
    r2 = ok(srv.api("help_show", name="package_search"))
    assert r2 != r
    fails(srv.api("help_show", name="no_such_action"), 404)
    # The envelope's help points at help_show for the action (as CKAN's does).
    body = srv.api("package_list").body
    assert "help_show" in body["help"] and "package_list" in body["help"], body["help"]


def test_license_list(srv):
    lic = ok(srv.api("license_list"))
    assert isinstance(lic, list) and lic
    for l in lic:
        assert isinstance(l.get("id"), str) and l["id"]
        assert isinstance(l.get("title"), str) and l["title"]
    ids = {l["id"] for l in lic}
    assert len(ids) == len(lic), "duplicate licence ids"
    for want in ("CC-BY-4.0", "CC0-1.0", "ODbL-1.0"):
        assert want in ids, "license_list lacks the Open Definition id %r: %r" % (want, sorted(ids))


def test_dataset_licence_fields(srv, tok):
    ds = make_dataset(srv, tok["editor"], license_id="CC-BY-4.0")
    assert ds["license_id"] == "CC-BY-4.0"
    assert isinstance(ds["license_title"], str) and "Attribution" in ds["license_title"], ds["license_title"]
    assert ds["isopen"] is True


def test_tag_list(srv, tok):
    tag = "zebra" + unique("t")
    make_dataset(srv, tok["editor"], tags=[{"name": tag}, {"name": "common-tag"}])
    make_dataset(srv, tok["editor"], tags=[{"name": "common-tag"}])
    tags = ok(srv.api("tag_list"))
    assert isinstance(tags, list) and all(isinstance(t, str) for t in tags)
    assert tag in tags and "common-tag" in tags
    assert tags.count("common-tag") == 1, "tag_list must not repeat a tag"
    # A private dataset's tags are not public.
    secret = "secret" + unique("t")
    make_dataset(srv, tok["editor"], private=True, tags=[{"name": secret}])
    assert secret not in ok(srv.api("tag_list"))


def test_package_list(srv, tok):
    names = [unique() for _ in range(3)]
    for n in names:
        make_dataset(srv, tok["editor"], n)
    lst = ok(srv.api("package_list"))
    for n in names:
        assert lst.count(n) == 1
    assert lst == sorted(lst), "CKAN's package_list is ordered by name"
    page = ok(srv.api("package_list", limit=2, offset=0))
    assert page == lst[:2]
    page2 = ok(srv.api("package_list", limit=2, offset=2))
    assert page2 == lst[2:4]
    fails(srv.api("package_list", limit="abc"), 409, field="limit")
    fails(srv.api("package_list", limit=-1), 409, field="limit")


def test_healthz(srv):
    r = srv.get("/healthz")
    assert r.status_code == 200
    assert r.json() == {"status": "ok"}


def test_unknown_path_404(srv):
    r = srv.get("/no/such/page")
    assert r.status_code == 404
    r = srv.get("/api/3/action/")
    assert r.status_code in (200, 400, 404)
    if r.status_code == 200:  # a list of the actions, as a discovery aid
        assert "package_show" in r.json()["result"]


def test_token_header_forms(srv, tok):
    t = tok["editor"]
    ok(srv.api("package_create", token=t, name=unique(), owner_org=ORG))
    ok(srv.api("package_create", token="Bearer " + t, name=unique(), owner_org=ORG))
    ok(srv.api("package_create", token=t, auth_header="X-CKAN-API-Key", name=unique(), owner_org=ORG))


def test_bad_tokens_403(srv, tok):
    t = tok["editor"]
    for bad in ["nonsense", t + "x", t[:-1], "Bearer ", "Bearer nonsense", "Basic " + t]:
        r = srv.api("package_create", token=bad, name=unique(), owner_org=ORG)
        fails(r, 403, "Authorization Error")
    # A bad token is refused even on a read: CKAN does not silently downgrade to anonymous.
    r = srv.api("package_list", token="nonsense")
    fails(r, 403, "Authorization Error")
    # No token at all on a write.
    fails(srv.api("package_create", name=unique(), owner_org=ORG), 403, "Authorization Error")


ACTIONS = ["package_list", "package_show", "package_search", "package_create", "package_update", "package_patch",
           "package_delete", "resource_create", "resource_show", "resource_update", "resource_delete",
           "organization_list", "organization_show", "organization_create", "group_list", "group_show",
           "group_create", "tag_list", "license_list", "status_show", "help_show"]


def test_every_action_is_known_and_documented(srv):
    for a in ACTIONS:
        doc = ok(srv.api("help_show", name=a))
        assert isinstance(doc, str) and doc.strip(), a
        r = srv.api(a, method="POST")  # no parameters: may fail validation or auth, never "not known"
        msg = json.dumps(r.body)
        assert "Action name not known" not in msg, (a, r)
        assert r.status in (200, 403, 404, 409), (a, r)
