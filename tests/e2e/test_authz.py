"""The authorization matrix: actor x dataset state, for reads, searches, lists and writes.

CKAN's rules (CKAN docs, "Organizations and authorization"): anyone reads public active
datasets; members of the owning organization also read its private ones; editors and
admins (and sysadmins) also see drafts and deleted ones, and write. What a caller may not
see does not exist for them: 404, never 403, so existence does not leak.
"""

import pytest

from conftest import ORG, fails, ok, unique

ACTORS = ["anonymous", "member", "editor", "orgadmin", "outsider", "sysadmin"]
STATES = ["public", "private", "draft", "deleted"]

# Who may read a dataset in each state with package_show.
READERS = {
    "public": set(ACTORS),
    "private": {"member", "editor", "orgadmin", "sysadmin"},
    "draft": {"editor", "orgadmin", "sysadmin"},
    "deleted": {"editor", "orgadmin", "sysadmin"},
}
WRITERS = {"editor", "orgadmin", "sysadmin"}


@pytest.fixture(scope="module")
def datasets(srv, tok):
    ds = {}
    e = tok["editor"]
    ds["public"] = ok(srv.api("package_create", token=e, name=unique("pub"), owner_org=ORG,
                              tags=[{"name": "matrix"}]))
    ds["private"] = ok(srv.api("package_create", token=e, name=unique("priv"), owner_org=ORG, private=True,
                               tags=[{"name": "matrix"}]))
    ds["draft"] = ok(srv.api("package_create", token=e, name=unique("draft"), owner_org=ORG, state="draft",
                             tags=[{"name": "matrix"}]))
    ds["deleted"] = ok(srv.api("package_create", token=e, name=unique("del"), owner_org=ORG,
                               tags=[{"name": "matrix"}]))
    ok(srv.api("package_delete", token=e, id=ds["deleted"]["id"]))
    return ds


def token_of(tok, actor):
    return None if actor == "anonymous" else tok[actor]


@pytest.mark.parametrize("actor", ACTORS)
@pytest.mark.parametrize("state", STATES)
def test_package_show(srv, tok, datasets, actor, state):
    d = datasets[state]
    for key in ("id", "name"):
        r = srv.api("package_show", token=token_of(tok, actor), id=d[key])
        if actor in READERS[state]:
            shown = ok(r)
            assert shown["id"] == d["id"]
        elif state == "deleted":
            # CKAN answers 403 for a deleted dataset; 404 hides it better. Either, never its body.
            assert r.status in (403, 404) and r.body["success"] is False, r
        else:
            fails(r, 404, "Not Found Error")


@pytest.mark.parametrize("actor", ACTORS)
def test_package_list_shows_public_active_only(srv, tok, datasets, actor):
    lst = ok(srv.api("package_list", token=token_of(tok, actor)))
    assert datasets["public"]["name"] in lst
    for s in ("private", "draft", "deleted"):
        assert datasets[s]["name"] not in lst, "%s dataset in package_list for %s" % (s, actor)


@pytest.mark.parametrize("actor", ACTORS)
def test_package_search_visibility(srv, tok, datasets, actor):
    t = token_of(tok, actor)
    names = lambda r: {x["name"] for x in ok(r)["results"]}
    plain = names(srv.api("package_search", token=t, q="tags:matrix", rows=100))
    assert plain == {datasets["public"]["name"]}, "without include_private, only public: %r" % plain
    priv = names(srv.api("package_search", token=t, q="tags:matrix", rows=100, include_private=True))
    want = {datasets["public"]["name"]}
    if actor in READERS["private"]:
        want.add(datasets["private"]["name"])
    assert priv == want, "%s with include_private" % actor
    drafts = names(srv.api("package_search", token=t, q="tags:matrix", rows=100, include_private=True,
                           include_drafts=True))
    if actor in READERS["draft"]:
        want.add(datasets["draft"]["name"])
    assert drafts == want, "%s with include_drafts" % actor
    assert datasets["deleted"]["name"] not in drafts


@pytest.mark.parametrize("actor", ACTORS)
@pytest.mark.parametrize("state", ["public", "private", "draft"])
def test_package_patch(srv, tok, datasets, actor, state):
    d = datasets[state]
    title = "patched by %s" % actor
    r = srv.api("package_patch", token=token_of(tok, actor), id=d["id"], title=title)
    if actor in WRITERS:
        assert ok(r)["title"] == title
    elif actor in READERS[state]:
        fails(r, 403, "Authorization Error")
    else:
        # Anonymous: 403 (no token on a write). Others who cannot see it: 403 or 404.
        assert r.status in (403, 404) and r.body["success"] is False, r
        if actor == "anonymous":
            assert r.status == 403
    shown = ok(srv.api("package_show", token=tok["sysadmin"], id=d["id"]))
    if actor not in WRITERS:
        assert shown["title"] != title


@pytest.mark.parametrize("actor", ACTORS)
def test_package_create_in_org(srv, tok, actor):
    name = unique()
    r = srv.api("package_create", token=token_of(tok, actor), name=name, owner_org=ORG)
    if actor in WRITERS:
        ok(r)
    else:
        fails(r, 403, "Authorization Error")
        fails(srv.api("package_show", id=name, token=tok["sysadmin"]), 404)


@pytest.mark.parametrize("actor", ACTORS)
def test_package_delete(srv, tok, actor):
    d = ok(srv.api("package_create", token=tok["editor"], name=unique(), owner_org=ORG))
    r = srv.api("package_delete", token=token_of(tok, actor), id=d["id"])
    if actor in WRITERS:
        ok(r)
        assert d["name"] not in ok(srv.api("package_list"))
    else:
        fails(r, 403, "Authorization Error")
        assert ok(srv.api("package_show", id=d["id"]))["state"] == "active"


@pytest.mark.parametrize("actor", ["anonymous", "outsider", "member"])
def test_update_by_non_writer(srv, tok, datasets, actor):
    d = datasets["public"]
    r = srv.api("package_update", token=token_of(tok, actor), id=d["id"], name=d["name"], owner_org=ORG,
                title="overwritten")
    fails(r, 403, "Authorization Error")


def test_editor_cannot_move_dataset_to_foreign_org(srv, tok, datasets):
    o = unique("org")
    ok(srv.api("organization_create", token=tok["sysadmin"], name=o))
    d = ok(srv.api("package_create", token=tok["editor"], name=unique(), owner_org=ORG))
    r = srv.api("package_patch", token=tok["editor"], id=d["id"], owner_org=o)
    assert r.status in (403, 409) and r.body["success"] is False, r
    assert ok(srv.api("package_show", id=d["id"]))["organization"]["name"] == ORG
    fails(srv.api("package_create", token=tok["editor"], name=unique(), owner_org=o), 403)


@pytest.mark.parametrize("actor", ["member", "outsider"])
def test_private_resource_show(srv, tok, datasets, actor):
    r = ok(srv.api("resource_create", token=tok["editor"], package_id=datasets["private"]["id"],
                   url="https://x.org/r.csv", name="r"))
    got = srv.api("resource_show", token=tok[actor], id=r["id"])
    if actor in READERS["private"]:
        assert ok(got)["id"] == r["id"]
    else:
        fails(got, 404)
