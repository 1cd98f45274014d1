"""The public ledger never names what the public may not see: entries for private and
draft datasets carry only their random id (and the organization), and user entries hold
no e-mail address or full name, in clear or as a digest anyone could recompute."""

import json
import time

from conftest import ORG, ok, unique


def checkpoint_size(srv):
    r = srv.get("/ledger/checkpoint")
    assert r.status_code == 200, r.text
    return int(r.content.decode("utf-8").split("\n")[1])


def all_entries(srv, at_least):
    deadline = time.monotonic() + 20
    while checkpoint_size(srv) < at_least:
        assert time.monotonic() < deadline, "the sequencer did not integrate %d entries" % at_least
        time.sleep(0.05)
    size = checkpoint_size(srv)
    out = []
    for start in range(0, size, 256):
        r = srv.get("/api/ledger/entries", params={"start": start, "end": min(size, start + 256)})
        assert r.status_code == 200, r.text
        out += [e["entry"] for e in r.json()]
    return out


def test_private_and_draft_datasets_are_not_named(srv, tok):
    t = tok["editor"]
    secret, draft, public = unique("secret-plan"), unique("draft-plan"), unique("open-data")
    before = checkpoint_size(srv)
    priv = ok(srv.api("package_create", token=t, name=secret, owner_org=ORG, private=True,
                      title="Secret layoffs"))
    ok(srv.api("package_create", token=t, name=draft, owner_org=ORG, state="draft"))
    ok(srv.api("resource_create", token=t, package_id=secret, url="http://example.org/x.csv",
               name="hidden-file"))
    ok(srv.api("package_patch", token=t, id=secret, title="Still secret"))
    pub = ok(srv.api("package_create", token=t, name=public, owner_org=ORG))
    texts = all_entries(srv, before + 5)[before:]
    assert len(texts) == 5, texts
    joined = "\n".join(texts)
    for hidden in (secret, draft, "Secret layoffs", "Still secret", "hidden-file"):
        assert hidden not in joined, "%r appears in the public ledger" % hidden
    entries = [json.loads(x) for x in texts]
    assert entries[0]["objects"] == {"dataset": priv["id"], "visibility": "private"}
    assert entries[1]["objects"]["visibility"] == "draft"
    assert entries[0]["org"] == ORG  # holdings kept from the public still show, by whom
    # A public dataset is named; publishing the private one names it from then on.
    assert entries[4]["objects"] == {"dataset": pub["id"], "name": public}
    ok(srv.api("package_patch", token=t, id=secret, private=False))
    last = json.loads(all_entries(srv, before + 6)[before + 5])
    assert last["type"] == "dataset_update" and last["objects"]["name"] == secret


def test_user_entries_hold_no_email_or_name(portal, srv):
    before = checkpoint_size(srv)
    name = unique("u").replace("-", "")
    portal.cli("user", "add", name, "--email", "%s@example.gov" % name, "--fullname", "Li Hua 李华")
    text = all_entries(srv, before + 1)[before]
    entry = json.loads(text)
    assert entry["type"] == "user_create" and entry["objects"] == {"user": name}
    for private in ("example.gov", "Li Hua", "李华"):
        assert private not in text, "%r appears in the public ledger" % private
