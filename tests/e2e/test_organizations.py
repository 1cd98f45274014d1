"""organization_* and group_* actions."""

import pytest

from conftest import ORG, fails, make_dataset, ok, unique


def test_organization_list_and_show(srv, tok):
    lst = ok(srv.api("organization_list"))
    assert ORG in lst
    org = ok(srv.api("organization_show", id=ORG))
    assert org["name"] == ORG
    assert org["title"] == "Ministry of Data"
    assert org["is_organization"] is True
    assert org["type"] == "organization"
    assert org["state"] == "active"
    assert ok(srv.api("organization_show", id=org["id"])) == org
    full = ok(srv.api("organization_list", all_fields=True))
    assert any(isinstance(o, dict) and o.get("name") == ORG for o in full), full


def test_organization_show_counts_public_datasets(srv, tok):
    o = unique("org")
    ok(srv.api("organization_create", token=tok["sysadmin"], name=o, title="Counting org"))
    ok(srv.api("package_create", token=tok["sysadmin"], name=unique(), owner_org=o))
    ok(srv.api("package_create", token=tok["sysadmin"], name=unique(), owner_org=o))
    ok(srv.api("package_create", token=tok["sysadmin"], name=unique(), owner_org=o, private=True))
    org = ok(srv.api("organization_show", id=o, include_datasets=True))
    assert org["package_count"] == 2, "anonymous callers count public datasets only: %r" % org["package_count"]
    assert len(org.get("packages", [])) == 2
    org = ok(srv.api("organization_show", id=o, include_datasets=True, token=tok["sysadmin"]))
    assert org["package_count"] == 3


def test_organization_create(srv, tok):
    o = unique("org")
    created = ok(srv.api("organization_create", token=tok["sysadmin"], name=o, title="新机构 New org",
                         description="An organization"))
    assert created["name"] == o and created["title"] == "新机构 New org"
    assert created["description"] == "An organization"
    assert o in ok(srv.api("organization_list"))
    fails(srv.api("organization_create", token=tok["sysadmin"], name=o), 409, "Validation Error", field="name")
    fails(srv.api("organization_create", token=tok["sysadmin"], name="Bad Org"), 409, field="name")
    fails(srv.api("organization_create", token=tok["sysadmin"], name=unique("org"), colour="red"), 409)


@pytest.mark.parametrize("who", [None, "orgadmin", "editor", "member", "outsider"])
def test_organization_create_sysadmin_only(srv, tok, who):
    o = unique("org")
    fails(srv.api("organization_create", token=tok[who] if who else None, name=o), 403, "Authorization Error")
    fails(srv.api("organization_show", id=o), 404)


def test_organization_show_unknown(srv):
    fails(srv.api("organization_show", id="no-such-org"), 404, "Not Found Error")
    fails(srv.api("organization_show"), 409, field="id")


def test_group_lifecycle(srv, tok):
    g = unique("grp")
    created = ok(srv.api("group_create", token=tok["sysadmin"], name=g, title="Environment 环境"))
    assert created["name"] == g
    assert created["is_organization"] is False
    assert created["type"] == "group"
    assert g in ok(srv.api("group_list"))
    assert g not in ok(srv.api("organization_list")), "a group is not an organization"
    assert ORG not in ok(srv.api("group_list")), "an organization is not a group"
    shown = ok(srv.api("group_show", id=g))
    assert shown["title"] == "Environment 环境"
    fails(srv.api("group_show", id=ORG), 404)
    fails(srv.api("organization_show", id=g), 404)
    fails(srv.api("group_create", token=tok["sysadmin"], name=g), 409, field="name")
    fails(srv.api("group_show", id="no-such-group"), 404, "Not Found Error")


@pytest.mark.parametrize("who", [None, "orgadmin", "editor", "outsider"])
def test_group_create_sysadmin_only(srv, tok, who):
    g = unique("grp")
    fails(srv.api("group_create", token=tok[who] if who else None, name=g), 403, "Authorization Error")
    assert g not in ok(srv.api("group_list"))


def test_group_and_organization_names_share_a_namespace(srv, tok):
    # CKAN keeps groups and organizations in one table: one name, one owner.
    n = unique("both")
    ok(srv.api("organization_create", token=tok["sysadmin"], name=n))
    fails(srv.api("group_create", token=tok["sysadmin"], name=n), 409, field="name")


def test_group_show_lists_datasets(srv, tok):
    g = unique("grp")
    ok(srv.api("group_create", token=tok["sysadmin"], name=g))
    ds = make_dataset(srv, tok["sysadmin"], groups=[{"name": g}])
    shown = ok(srv.api("group_show", id=g, include_datasets=True))
    assert shown["package_count"] == 1
    assert [p["name"] for p in shown.get("packages", [])] == [ds["name"]]
