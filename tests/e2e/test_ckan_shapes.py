"""Kaifang's answers against CKAN's response shapes (tests/data/ckan/, see
tests/data/README.md for their source): every key CKAN has must be there with a
compatible JSON type; Kaifang may add keys."""

import json
import os

import pytest

from conftest import DATA_DIR, ORG, ok, unique

# String fields that CKAN itself returns as null when unset (CKAN 2.10
# package_show/resource_show; e.g. "author": null, "organization": null).
NULLABLE = {
    "author", "author_email", "maintainer", "maintainer_email", "license_id", "license_title",
    "license_url", "notes", "url", "version", "organization", "owner_org", "description", "format",
    "hash", "mimetype", "name", "image_url", "image_display_url", "title", "created", "last_modified",
    "url_type", "resource_type", "size", "cache_url", "cache_last_updated", "mimetype_inner",
    "approval_status", "display_name",
}


# Keys CKAN itself omits in some cases: license_url when the licence has no URL (or
# there is no licence: ckan/lib/dictization/model_dictize.py, package_dictize).
OPTIONAL = {"license_url"}


def load(name):
    with open(os.path.join(DATA_DIR, "ckan", name), encoding="utf-8") as f:
        return json.load(f)


def jtype(v):
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "boolean"
    if isinstance(v, int):
        return "integer"
    if isinstance(v, float):
        return "number"
    if isinstance(v, str):
        return "string"
    if isinstance(v, list):
        return "array"
    return "object"


def compare(ref, got, path, problems, key=None):
    """Every key of ref is in got with a compatible type. Lists: each element of got
    against ref's first element."""
    rt, gt = jtype(ref), jtype(got)
    if rt == "null":
        return
    if gt == "null":
        if key not in NULLABLE:
            problems.append("%s: null where CKAN has %s" % (path, rt))
        return
    if rt in ("integer", "number") and gt in ("integer", "number"):
        if rt == "integer" and gt != "integer":
            problems.append("%s: %s where CKAN has an integer" % (path, gt))
        return
    if rt != gt:
        problems.append("%s: %s where CKAN has %s" % (path, gt, rt))
        return
    if rt == "object":
        # Maps keyed by data (facets) are compared by value type only.
        if path.endswith(".facets") or (path.endswith(".facets.tags")):
            return
        for k, v in ref.items():
            if k not in got:
                if k in OPTIONAL:
                    continue
                problems.append("%s: missing key %r" % (path, k))
                continue
            compare(v, got[k], "%s.%s" % (path, k), problems, key=k)
    elif rt == "array" and ref:
        for i, item in enumerate(got):
            compare(ref[0], item, "%s[%d]" % (path, i), problems, key=key)


def assert_shape(ref_file, resp_body):
    problems = []
    compare(load(ref_file), resp_body, "$", problems)
    assert not problems, "%s:\n  %s" % (ref_file, "\n  ".join(problems))


@pytest.fixture(scope="module")
def sample(srv, tok):
    s = tok["sysadmin"]
    g = unique("grp")
    ok(srv.api("group_create", token=s, name=g, title="Test Group"))
    ds = ok(srv.api("package_create", token=s, name=unique(), title="Sample Dataset", owner_org=ORG,
                    notes="A sample.", license_id="CC-BY-4.0", author="Test Author", author_email="a@example.org",
                    version="1.0", tags=[{"name": "csv"}], groups=[{"name": g}],
                    extras=[{"key": "Sample extra", "value": "Sample value"}]))
    res = ok(srv.api("resource_create", token=s, package_id=ds["id"], url="https://example.org/a.csv",
                     name="sample-linked.csv", format="CSV", description="A linked resource."))
    up = ok(srv.api("resource_create", token=s, params={"package_id": ds["id"], "name": "up.csv"},
                    files={"upload": ("up.csv", b"a,b\n1,2\n", "text/csv")}))
    return {"dataset": ds, "resource": res, "upload": up, "group": g}


def test_package_show_shape(srv, sample):
    r = srv.api("package_show", id=sample["dataset"]["name"])
    ok(r)
    assert_shape("package_show.json", r.body)


def test_package_show_minimal_shape(srv, tok):
    # A dataset with nothing optional set still has every key.
    ds = ok(srv.api("package_create", token=tok["editor"], name=unique(), owner_org=ORG))
    r = srv.api("package_show", id=ds["id"])
    assert_shape("package_show.json", r.body)


def test_resource_show_shape(srv, sample):
    for k in ("resource", "upload"):
        r = srv.api("resource_show", id=sample[k]["id"])
        ok(r)
        assert_shape("resource_show.json", r.body)


def test_organization_show_shape(srv, sample):
    r = srv.api("organization_show", id=ORG)
    ok(r)
    assert_shape("organization_show.json", r.body)


def test_package_search_shape(srv, sample):
    r = srv.api("package_search", q="name:" + sample["dataset"]["name"], **{"facet.field": ["tags"]})
    res = ok(r)
    assert res["count"] == 1
    assert_shape("package_search.json", r.body)
    problems = []
    compare(load("package_show.json")["result"], res["results"][0], "$.result.results[0]", problems)
    assert not problems, "package_search results are package_show dicts:\n  " + "\n  ".join(problems)


@pytest.mark.parametrize("ref,call", [
    ("error_not_found.json", lambda srv, tok: srv.api("package_show", id="no-such-dataset")),
    ("error_authorization.json", lambda srv, tok: srv.api("package_create", name=unique(), owner_org=ORG)),
    ("error_validation.json", lambda srv, tok: srv.api("package_create", token=tok["sysadmin"], name=ORG + "-x",
                                                       owner_org=ORG, tags="x")),
])
def test_error_shapes(srv, tok, ref, call):
    r = call(srv, tok)
    assert r.body["success"] is False
    want = load(ref)
    assert set(r.body) == {"help", "success", "error"}
    assert r.body["error"]["__type"] == want["error"]["__type"]
    if "message" in want["error"]:
        assert isinstance(r.body["error"].get("message"), str)


def test_duplicate_error_matches_ckan(srv, tok):
    name = unique()
    ok(srv.api("package_create", token=tok["editor"], name=name, owner_org=ORG))
    r = srv.api("package_create", token=tok["editor"], name=name, owner_org=ORG)
    want = load("error_validation.json")["error"]
    assert r.status == 409
    assert r.body["error"]["__type"] == want["__type"]
    assert r.body["error"]["name"] == want["name"]
