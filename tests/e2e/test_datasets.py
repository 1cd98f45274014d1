"""package_create / show / update / patch / delete, fields and validation."""

import re
import time

import pytest

from conftest import ORG, fails, make_dataset, ok, unique

UUID_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
TS_RE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?$")  # CKAN: naive ISO 8601, UTC


def full_dataset(name):
    return {
        "name": name,
        "title": "Road traffic counts 道路交通流量",
        "owner_org": ORG,
        "notes": "Hourly **counts** at 120 sites.",
        "author": "Traffic Unit",
        "author_email": "traffic@example.org",
        "maintainer": "Data Office",
        "maintainer_email": "data@example.org",
        "license_id": "CC-BY-4.0",
        "url": "https://example.org/traffic",
        "version": "1.2",
        "tags": [{"name": "transport"}, {"name": "交通"}],
        "extras": [{"key": "source system", "value": "TMS-3"}],
        "access_level": "public",
        "contact_name": "Li Wei",
        "contact_email": "li.wei@example.org",
        "temporal": "2023-01-01/2023-12-31",
        "spatial": "Shanghai",
        "frequency": "R/P1M",  # ISO 8601 repeating duration (DCAT-US accrualPeriodicity)
        "language": ["en", "zh_CN"],
        "title_translated": {"en": "Road traffic counts", "zh_CN": "道路交通流量"},
        "notes_translated": {"en": "Hourly counts.", "zh_CN": "每小时计数。"},
    }


def test_create_and_show_roundtrip(srv, tok):
    name = unique()
    d = full_dataset(name)
    created = ok(srv.api("package_create", token=tok["editor"], json_body=d))
    shown = ok(srv.api("package_show", id=name))
    assert shown == ok(srv.api("package_show", id=created["id"])), "show by id and by name differ"
    for k in ("name", "title", "notes", "author", "author_email", "maintainer", "maintainer_email",
              "license_id", "url", "version", "access_level", "contact_name", "contact_email",
              "temporal", "spatial", "frequency", "language", "title_translated", "notes_translated"):
        assert shown[k] == d[k], "%s: stored %r, returned %r" % (k, d[k], shown[k])
    assert sorted(t["name"] for t in shown["tags"]) == sorted(["transport", "交通"])
    assert shown["num_tags"] == 2
    assert {"key": "source system", "value": "TMS-3"} in [{"key": e["key"], "value": e["value"]} for e in shown["extras"]]
    assert UUID_RE.match(shown["id"]), shown["id"]
    assert shown["type"] == "dataset"
    assert shown["state"] == "active"
    assert shown["private"] is False
    assert shown["num_resources"] == 0 and shown["resources"] == []
    assert shown["owner_org"] == shown["organization"]["id"]
    assert shown["organization"]["name"] == ORG
    assert TS_RE.match(shown["metadata_created"]), shown["metadata_created"]
    assert TS_RE.match(shown["metadata_modified"]), shown["metadata_modified"]
    assert shown["creator_user_id"] and UUID_RE.match(shown["creator_user_id"])
    # package_create returns what package_show shows.
    assert created == shown


def test_create_minimal_defaults(srv, tok):
    name = unique()
    ds = ok(srv.api("package_create", token=tok["editor"], name=name, owner_org=ORG))
    assert ds["name"] == name
    assert ds["title"] == name, "CKAN's title defaults to the name: %r" % ds["title"]
    assert ds["tags"] == [] and ds["num_tags"] == 0
    assert ds["access_level"] == "public"
    assert ds["private"] is False


def test_create_requires_name(srv, tok):
    fails(srv.api("package_create", token=tok["editor"], title="no name", owner_org=ORG), 409,
          "Validation Error", field="name")


@pytest.mark.parametrize("bad", ["A", "Has-Upper", "has space", "x", "x" * 101, "点", "a/b", "a.b", "a\u00e9"])
def test_invalid_names(srv, tok, bad):
    r = srv.api("package_create", token=tok["editor"], name=bad, owner_org=ORG)
    fails(r, 409, "Validation Error", field="name")


def test_name_rule_message(srv, tok):
    r = srv.api("package_create", token=tok["editor"], name="Has-Upper", owner_org=ORG)
    fails(r, 409, field="name",
          message="Must be purely lowercase alphanumeric (ascii) characters and these symbols: -_")


def test_valid_unusual_names(srv, tok):
    for n in ["ab", "a_b-c", "0-9", "x" * 100]:
        ok(srv.api("package_create", token=tok["editor"], name=n, owner_org=ORG))
        assert ok(srv.api("package_show", id=n))["name"] == n


def test_duplicate_name(srv, tok):
    name = unique()
    make_dataset(srv, tok["editor"], name)
    r = srv.api("package_create", token=tok["editor"], name=name, owner_org=ORG)
    fails(r, 409, "Validation Error", field="name", message="That URL is already in use.")
    assert ok(srv.api("package_list")).count(name) == 1


def test_unknown_top_level_field(srv, tok):
    name = unique()
    r = srv.api("package_create", token=tok["editor"], name=name, owner_org=ORG, colour="blue")
    err = fails(r, 409, "Validation Error")
    assert "colour" in err or "colour" in str(err), "the error must name the unknown field: %r" % err
    fails(srv.api("package_show", id=name), 404)


@pytest.mark.parametrize("field,value", [
    ("title", {"a": 1}),
    ("title", 12),
    ("notes", ["x"]),
    ("tags", "transport"),
    ("tags", [{"name": "x"}]),           # CKAN: tags are 2..100 characters
    ("tags", [{"name": "bad/tag!"}]),    # CKAN: alphanumerics and -_. and spaces
    ("tags", [{"nom": "wrong-key"}]),
    ("extras", "k=v"),
    ("resources", "none"),
    ("access_level", "secret"),
    ("language", "en"),
    ("language", [1, 2]),
    ("title_translated", "Road traffic"),
    ("title_translated", {"en": 5}),
    ("notes_translated", ["x"]),
    ("author_email", "not-an-email"),     # CKAN 2.10 email_validator
    ("owner_org", "no-such-organization"),
    ("private", {"x": 1}),
])
def test_field_type_errors(srv, tok, field, value):
    name = unique()
    r = srv.api("package_create", token=tok["sysadmin"], json_body={"name": name, "owner_org": ORG, field: value})
    err = fails(r, 409, "Validation Error")
    assert field in err, "the error must name %r: %r" % (field, err)
    fails(srv.api("package_show", id=name), 404)


def test_title_too_long(srv, tok):
    name = unique()
    r = srv.api("package_create", token=tok["editor"], name=name, owner_org=ORG, title="t" * 1001)
    fails(r, 409, field="title")
    ok(srv.api("package_create", token=tok["editor"], name=name, owner_org=ORG, title="t" * 1000))


def test_update_replaces(srv, tok):
    name = unique()
    ds = ok(srv.api("package_create", token=tok["editor"], json_body=full_dataset(name)))
    upd = ok(srv.api("package_update", token=tok["editor"], id=ds["id"], name=name, owner_org=ORG,
                     title="New title", tags=[{"name": "roads"}]))
    assert upd["title"] == "New title"
    assert [t["name"] for t in upd["tags"]] == ["roads"]
    # Update replaces: fields not given are cleared (CKAN: use package_patch to keep them).
    assert upd["notes"] in (None, ""), upd["notes"]
    assert upd["author"] in (None, "")
    assert upd["id"] == ds["id"]
    assert upd["metadata_created"] == ds["metadata_created"]
    assert upd["metadata_modified"] >= ds["metadata_modified"]
    assert ok(srv.api("package_show", id=name)) == upd


def test_update_rename_and_conflict(srv, tok):
    a, b = unique(), unique()
    da = make_dataset(srv, tok["editor"], a)
    make_dataset(srv, tok["editor"], b)
    fails(srv.api("package_update", token=tok["editor"], id=da["id"], name=b, owner_org=ORG), 409,
          field="name", message="That URL is already in use.")
    new = unique()
    ok(srv.api("package_update", token=tok["editor"], id=da["id"], name=new, owner_org=ORG))
    assert ok(srv.api("package_show", id=new))["id"] == da["id"]
    fails(srv.api("package_show", id=a), 404)


def test_update_unknown(srv, tok):
    fails(srv.api("package_update", token=tok["sysadmin"], id="no-such-dataset", name="no-such-dataset"), 404,
          "Not Found Error")
    fails(srv.api("package_patch", token=tok["sysadmin"], id="no-such-dataset", title="x"), 404)
    fails(srv.api("package_delete", token=tok["sysadmin"], id="no-such-dataset"), 404)


def test_patch_keeps_other_fields(srv, tok):
    name = unique()
    d = full_dataset(name)
    ds = ok(srv.api("package_create", token=tok["editor"], json_body=d))
    p = ok(srv.api("package_patch", token=tok["editor"], id=name, notes="Patched notes"))
    assert p["notes"] == "Patched notes"
    for k in ("title", "author", "maintainer", "license_id", "language", "title_translated", "contact_email"):
        assert p[k] == ds[k], "patch changed %s" % k
    assert sorted(t["name"] for t in p["tags"]) == sorted(t["name"] for t in ds["tags"])
    # A patch is validated like a create.
    fails(srv.api("package_patch", token=tok["editor"], id=name, name="Bad Name"), 409, field="name")
    fails(srv.api("package_patch", token=tok["editor"], id=name, bogus_field=1), 409)
    assert ok(srv.api("package_show", id=name))["notes"] == "Patched notes"


def test_patch_private_flag(srv, tok):
    name = unique()
    make_dataset(srv, tok["editor"], name)
    ok(srv.api("package_patch", token=tok["editor"], id=name, private=True))
    fails(srv.api("package_show", id=name), 404)
    assert name not in ok(srv.api("package_list"))
    assert ok(srv.api("package_show", id=name, token=tok["member"]))["private"] is True
    ok(srv.api("package_patch", token=tok["editor"], id=name, private=False))
    assert ok(srv.api("package_show", id=name))["private"] is False


def test_delete(srv, tok):
    name = unique()
    ds = make_dataset(srv, tok["editor"], name, tags=[{"name": "deleted-tag-" + name[-8:]}])
    r = ok(srv.api("package_delete", token=tok["editor"], id=name))
    assert r is None
    assert name not in ok(srv.api("package_list"))
    r = srv.api("package_show", id=name)
    assert r.status in (403, 404) and r.body["success"] is False, r
    # A sysadmin still sees it, in state "deleted" (CKAN).
    shown = ok(srv.api("package_show", id=ds["id"], token=tok["sysadmin"]))
    assert shown["state"] == "deleted"
    assert ok(srv.api("package_search", q="name:" + name))["count"] == 0
    # The name is not free while the deleted dataset exists? CKAN frees it only on purge;
    # deleting twice is fine.
    ok(srv.api("package_delete", token=tok["editor"], id=name))


def test_draft_state(srv, tok):
    name = unique()
    ds = ok(srv.api("package_create", token=tok["editor"], name=name, owner_org=ORG, state="draft"))
    assert ds["state"] == "draft"
    fails(srv.api("package_show", id=name), 404)
    assert name not in ok(srv.api("package_list"))
    ok(srv.api("package_patch", token=tok["editor"], id=name, state="active"))
    assert ok(srv.api("package_show", id=name))["state"] == "active"


def test_metadata_modified_advances(srv, tok):
    name = unique()
    ds = make_dataset(srv, tok["editor"], name)
    time.sleep(0.01)
    p = ok(srv.api("package_patch", token=tok["editor"], id=name, title="Changed"))
    assert p["metadata_modified"] > ds["metadata_modified"]
    assert p["metadata_created"] == ds["metadata_created"]


def test_groups_on_dataset(srv, tok):
    g = unique("grp")
    ok(srv.api("group_create", token=tok["sysadmin"], name=g, title="Transport group"))
    name = unique()
    ds = ok(srv.api("package_create", token=tok["sysadmin"], name=name, owner_org=ORG, groups=[{"name": g}]))
    assert [x["name"] for x in ds["groups"]] == [g]
    fails(srv.api("package_create", token=tok["sysadmin"], name=unique(), owner_org=ORG,
                  groups=[{"name": "no-such-group"}]), 409, field="groups")


@pytest.mark.parametrize("level", ["public", "restricted public", "non-public"])
def test_access_levels(srv, tok, level):
    ds = make_dataset(srv, tok["editor"], access_level=level)
    assert ds["access_level"] == level
    assert ok(srv.api("package_show", id=ds["id"], token=tok["editor"]))["access_level"] == level
