"""The authorization matrix (issue 8): every endpoint x every role x every dataset state.

Endpoints are the server's own lists (`kaifang routes`: the route table and the CKAN
action table); an endpoint without a row here fails test_every_endpoint_has_a_row, so a
new one cannot land unjudged. Each row says, for a role and a dataset state, the status
the endpoint answers. Writes are sent with a payload that fails validation after the
authorization check (so an allowed caller gets 409 and nothing changes), or, when none
exists (deletions, grant decisions), against a fresh object made for the call.

One server, requests in a loop; every mismatch is collected and reported at once.
"""

import datetime
import json

import pytest

from conftest import ORG, create_token, ok, run_cli, unique

ROLES = ["anonymous", "member", "editor", "admin", "approver", "auditor", "grantee",
         "grantee_nogrant", "sysadmin"]
STATES = ["public", "private", "draft", "restricted", "non-public", "deleted"]
OPEN = {"public", "restricted", "non-public"}  # active and not private: metadata for all
RESTRICTED = {"restricted", "non-public"}
EDIT = {"editor", "admin", "sysadmin"}
USER_OF = {"admin": "orgadmin"}


def visible(role, state):
    """Who sees a dataset's metadata (package_show)."""
    if state in OPEN:
        return True
    if state == "private":
        return role in {"member"} | EDIT
    return role in EDIT  # draft, deleted


def day(delta=0):
    return (datetime.datetime.now(datetime.timezone.utc).date() + datetime.timedelta(days=delta)).isoformat()


class World:
    def __init__(self, portal, srv):
        self.portal, self.srv = portal, srv
        self.tok = {"anonymous": None}
        for role in ("member", "editor", "admin", "sysadmin"):
            self.tok[role] = portal.tokens[USER_OF.get(role, role)]
        for name in ("approver", "auditor", "grantee", "grantee_nogrant"):
            user = name.replace("_", "-")
            portal.cli("user", "add", user)
            self.tok[name] = create_token(portal, user)
        portal.cli("role", "add", "approver", "approver", "--org", ORG)
        portal.cli("role", "add", "auditor", "auditor", "--org", ORG)
        portal.cli("role", "add", "grantee", "grantee")
        portal.cli("role", "add", "grantee-nogrant", "grantee")
        self.group = unique("grp")
        ok(srv.api("group_create", token=self.tok["sysadmin"], name=self.group))
        self.ds = {s: self.make(s) for s in STATES}

    def make(self, state):
        """A dataset in state with a datastore table (link resource) and an uploaded file;
        restricted ones with an approved grant for grantee. Returns {name, id, rid, up, grant}."""
        t = self.tok
        kw = {}
        if state == "private":
            kw["private"] = True
        if state == "draft":
            kw["state"] = "draft"
        if state in RESTRICTED:
            kw["access_level"] = "restricted public" if state == "restricted" else "non-public"
        d = ok(self.srv.api("package_create", token=t["editor"], name=unique(state.replace("-", "")),
                            owner_org=ORG, **kw))
        r = ok(self.srv.api("datastore_create", token=t["editor"], resource={"package_id": d["id"], "name": "t"},
                            fields=[{"id": "a", "type": "int"}, {"id": "b", "type": "text"}],
                            records=[{"a": 1, "b": "x"}]))
        up = ok(self.srv.api("resource_create", token=t["editor"], params={"package_id": d["id"], "name": "f"},
                             files={"upload": ("f.txt", b"hello\n", "text/plain")}))
        out = {"name": d["name"], "id": d["id"], "rid": r["resource_id"], "up": up["id"], "grant": None}
        if state in RESTRICTED:
            out["grant"] = self.grant(out, approve=True)
        if state == "deleted":
            ok(self.srv.api("package_delete", token=t["editor"], id=d["id"]))
        return out

    def grant(self, d, approve):
        g = ok(self.srv.api("grant_request", token=self.tok["editor"], dataset=d["id"], grantee="grantee",
                            purpose="p", legal_basis="b", columns=["a", "b"], valid_from=day(-1),
                            valid_until=day(10)))
        if approve:
            ok(self.srv.api("grant_approve", token=self.tok["approver"], id=g["id"]))
        return g["id"]


@pytest.fixture(scope="module")
def world(portal, srv):
    return World(portal, srv)


# ---- the rows: endpoint -> (call, expected) ---------------------------------------------


def override_expected(role, state):
    """datastore_privacy_override of the dataset's text file (a report that passes)."""
    if role == "anonymous":
        return 403
    seen = read_meta(role, state)
    if seen != 200:
        return seen
    return 409 if role == "approver" else 403

# call(w, role, state) returns the status; expected(role, state) the status wanted.

def api(action, params, method=None):
    def call(w, role, state):
        d = w.ds[state]
        p = json.loads(json.dumps(params).replace("@id", d["id"]).replace("@rid", d["rid"])
                       .replace("@up", d["up"]).replace("@name", d["name"]).replace("@uniq", unique("m")))
        return w.srv.api(action, token=w.tok[role], method=method, **p).status
    return call


def fresh(action, make):
    """A destructive action on an object made for this one call."""
    def call(w, role, state):
        params = make(w, state)
        return w.srv.api(action, token=w.tok[role], **params).status
    return call


def web(path):
    def call(w, role, state):
        d = w.ds[state]
        p = (path.replace("@name", d["name"]).replace("@id", d["id"]).replace("@rid", d["rid"])
             .replace("@up", d["up"]))
        h = {"Authorization": w.tok[role]} if w.tok[role] else {}
        return w.srv.get(p, headers=h).status_code
    return call


def read_meta(role, state):
    return 200 if visible(role, state) else 404


def write_after_auth(role, state):
    """A write whose payload fails validation once the caller passed the auth check."""
    if role == "anonymous":
        return 403
    if not visible(role, state):
        return 404
    return 409 if role in EDIT else 403


def write_ds(role, state):
    """A DataStore write: 404 for a resource its caller may not see, anonymous or not."""
    if not visible(role, state):
        return 404
    return 409 if role in EDIT else 403


def read_data(role, state):
    if state in RESTRICTED:
        return 200 if role == "grantee" else 403
    return read_meta(role, state)


def never_restricted(role, state):
    if state in RESTRICTED:
        return 403
    return read_meta(role, state)


def sql(role, state):
    if state in RESTRICTED:
        return 403
    return 200 if visible(role, state) else 409  # "no such table", as for a missing one


def web_post(path, data=None):
    """A POST to a page as an API token's caller: no web session, so no CSRF token."""
    def call(w, role, state):
        d = w.ds[state]
        p = path.replace("@name", d["name"]).replace("@id", d["id"]).replace("@rid", d["rid"])
        h = {"Authorization": w.tok[role]} if w.tok[role] else {}
        return w.srv.request("POST", p, headers=h, data=data or {"x": "1"}).status_code
    return call


def edit_page(role, state):
    """A publisher page of a dataset (GET)."""
    if role == "anonymous":
        return 303
    if not visible(role, state):
        return 404
    return 200 if role in EDIT else 403


def everyone(code):
    return lambda role, state: code


def only(roles, yes, no=403):
    return lambda role, state: yes if role in roles else no


def new_dataset(w, state):
    d = w.make(state) if state != "deleted" else w.make("public")
    return {"id": d["id"]}


def new_resource(w, state):
    d = w.make(state)
    if state == "deleted":
        # make() deleted it: its resources stay for its editors to delete.
        pass
    return {"id": d["up"]}


def package_delete(role, state):
    if state == "deleted":
        return write_delete(role, "public")
    return write_delete(role, state)


def write_delete(role, state):
    if role == "anonymous":
        return 403
    if not visible(role, state):
        return 404
    return 200 if role in EDIT else 403


def resource_delete(role, state):
    return write_delete(role, state)


def new_grant(approve):
    def make(w, state):
        if state not in RESTRICTED:
            return {"id": "no-such-grant"}
        return {"id": w.grant(w.ds[state], approve)}
    return make


def grant_decide(role, state):
    if state not in RESTRICTED:
        return 403 if role == "anonymous" else 404
    return 200 if role == "approver" else 403


def grant_revoke(role, state):
    if state not in RESTRICTED:
        return 403 if role == "anonymous" else 404
    return 200 if role in {"approver", "admin", "sysadmin"} else 403


def grant_request(role, state):
    if role == "anonymous":
        return 403
    if state in ("draft", "deleted") or not visible(role, state):
        return 404
    if role not in EDIT:
        return 403
    return 409  # grantee "member" is no grantee account; a public dataset takes none


def grant_show(role, state):
    return 200 if state in RESTRICTED else 404


def grant_id(w, state):
    return w.ds[state]["grant"] or "no-such-grant"


GRANT_REQ = {"dataset": "@id", "grantee": "member", "purpose": "p", "legal_basis": "b",
             "columns": ["a"], "valid_from": "2026-01-01", "valid_until": "2026-12-31"}

ACTIONS = {
    "package_list": (api("package_list", {}), everyone(200)),
    "package_show": (api("package_show", {"id": "@id"}), read_meta),
    "package_search": (api("package_search", {"q": "@name", "include_private": True, "include_drafts": True}),
                       everyone(200)),
    # A valid dataset: package_create validates before it authorizes (409 for anyone's bad
    # name), so the row makes a new dataset for each caller allowed to.
    "package_create": (api("package_create", {"name": "@uniq", "owner_org": ORG}), only(EDIT, 200)),
    "package_update": (api("package_update", {"id": "@id", "name": "Bad Name"}), write_after_auth),
    "package_patch": (api("package_patch", {"id": "@id", "name": "Bad Name"}), write_after_auth),
    "package_delete": (fresh("package_delete", new_dataset), package_delete),
    "resource_create": (api("resource_create", {"package_id": "@id", "url": "javascript:x"}),
                        write_after_auth),
    "resource_show": (api("resource_show", {"id": "@up"}), read_meta),
    "resource_update": (api("resource_update", {"id": "@up", "url": "javascript:x"}),
                        write_after_auth),
    "resource_delete": (fresh("resource_delete", new_resource), resource_delete),
    "organization_list": (api("organization_list", {}), everyone(200)),
    "organization_show": (api("organization_show", {"id": ORG}), everyone(200)),
    "organization_create": (api("organization_create", {"name": "Bad Name"}), only({"sysadmin"}, 409)),
    "group_list": (api("group_list", {}), everyone(200)),
    "group_show": (lambda w, r, s: w.srv.api("group_show", token=w.tok[r], id=w.group).status, everyone(200)),
    "group_create": (api("group_create", {"name": "Bad Name"}), only({"sysadmin"}, 409)),
    "tag_list": (api("tag_list", {}), everyone(200)),
    "license_list": (api("license_list", {}), everyone(200)),
    "status_show": (api("status_show", {}), everyone(200)),
    "help_show": (api("help_show", {"name": "package_show"}), everyone(200)),
    "user_create": (api("user_create", {"name": "Bad Name"}), only({"sysadmin"}, 409)),
    "api_token_create": (api("api_token_create", {"user": "no-such-user"}), only({"sysadmin"}, 404)),
    "organization_member_create": (api("organization_member_create",
                                       {"id": ORG, "username": "no-such-user", "role": "member"}),
                                   only({"admin", "sysadmin"}, 404)),
    "organization_member_delete": (api("organization_member_delete", {"id": ORG, "username": "no-such-user"}),
                                   only({"admin", "sysadmin"}, 404)),
    "user_role_create": (api("user_role_create", {"user": "no-such-user", "role": "auditor", "organization": ORG}),
                         only({"admin", "sysadmin"}, 404)),
    "user_role_delete": (api("user_role_delete", {"user": "no-such-user", "role": "auditor", "organization": ORG}),
                         only({"admin", "sysadmin"}, 404)),
    "user_role_list": (api("user_role_list", {}), everyone(200)),
    "grant_request": (api("grant_request", GRANT_REQ), grant_request),
    "grant_approve": (fresh("grant_approve", new_grant(False)), grant_decide),
    "grant_refuse": (fresh("grant_refuse", new_grant(False)), grant_decide),
    "grant_revoke": (fresh("grant_revoke", new_grant(True)), grant_revoke),
    "grant_show": (lambda w, r, s: w.srv.api("grant_show", token=w.tok[r], id=grant_id(w, s)).status, grant_show),
    "grant_list": (api("grant_list", {"dataset": "@id"}), everyone(200)),
    "datastore_create": (api("datastore_create", {"resource_id": "@rid", "primary_key": "nosuch"}), write_ds),
    "datastore_upsert": (api("datastore_upsert", {"resource_id": "@rid", "records": [{"nosuch": 1}]}),
                         write_ds),
    "datastore_delete": (api("datastore_delete", {"resource_id": "@rid", "filters": {"nosuch": 1}}),
                         write_ds),
    "datastore_info": (api("datastore_info", {"id": "@rid"}), read_meta),
    "datastore_search": (api("datastore_search", {"resource_id": "@rid"}), read_data),
    "datastore_search_sql": (api("datastore_search_sql", {"sql": 'SELECT a FROM "@rid"'}), sql),
    "xloader_submit": (api("xloader_submit", {"resource_id": "@rid"}), write_after_auth),
    "xloader_status": (api("xloader_status", {"resource_id": "@rid"}), read_meta),
    # Fees and the audit (src/audit/): who may, then the payload (a price or amount with
    # three decimals) fails; approval of no schedule is 404 to any signed-in caller.
    "fee_schedule_create": (api("fee_schedule_create",
                                {"name": "fee-x", "organization": ORG, "service": "s", "unit": "u",
                                 "price": "1.005", "legal_basis": "b", "period_start": "2020-01-01",
                                 "period_end": "2020-12-31"}), only(EDIT, 409)),
    "fee_schedule_approve": (api("fee_schedule_approve", {"id": "no-such-fee"}),
                             lambda r, s: 403 if r == "anonymous" else 404),
    "fee_schedule_show": (api("fee_schedule_show", {"id": "no-such-fee"}), everyone(404)),
    "fee_schedule_list": (api("fee_schedule_list", {}), everyone(200)),
    "charge_record": (api("charge_record", {"organization": ORG, "unit": "u", "system": "s",
                                            "payer": "p", "date": "2024-01-01", "amount": "1.005",
                                            "schedule": "no-such-fee"}), only(EDIT, 409)),
    "audit_report": (api("audit_report", {}), everyone(200)),
    # The publish gate (test_privacy_gate.py has the gated tables): the table made through
    # the API with records is scanned (its report visible as the resource is); the text
    # file is scanned when its report is asked for (privacy-gate.md, "Files that are not
    # tables") and passes: those who may read it get the report, and only an approver may
    # override, which a report that passes refuses (409); an anonymous override is refused
    # first.
    "datastore_privacy_report": (api("datastore_privacy_report", {"resource_id": "@rid"}),
                                 read_meta),
    "datastore_privacy_override": (api("datastore_privacy_override",
                                       {"resource_id": "@up", "justification": "j"}),
                                   override_expected),
}

ROUTES = {
    "/healthz": (web("/healthz"), everyone(200)),
    "/": (web("/"), everyone(200)),
    "/api/3": (web("/api/3"), everyone(200)),
    "/api/3/action": (web("/api/3/action"), everyone(200)),
    # Every action through both prefixes: the rows of ACTIONS (the alias checked below).
    "/api/3/action/:name": (None, None),
    "/api/action/:name": (web("/api/action/package_show?id=@name"), read_meta),
    "/dataset": (web("/dataset"), everyone(200)),
    "/dataset/:id": (web("/dataset/@name"), read_meta),
    "/dataset/:id/resource/:rid/download": (web("/dataset/@id/resource/@up/download"), never_restricted),
    "/dataset/:id/resource/:rid/download/:filename": (web("/dataset/@id/resource/@up/download/f.txt"),
                                                      never_restricted),
    # Harvesters' metadata: the same for everyone, the public's view; a restricted
    # dataset has no data package (its data is not public).
    "/dataset/:id/datapackage.json": (web("/dataset/@name/datapackage.json"),
                                      lambda r, s: 200 if s == "public" else 404),
    "/data.json": (web("/data.json"), everyone(200)),
    "/catalog.ttl": (web("/catalog.ttl"), everyone(200)),
    "/catalog.rdf": (web("/catalog.rdf"), everyone(200)),
    "/catalog.jsonld": (web("/catalog.jsonld"), everyone(200)),
    "/datastore/dump/:rid": (web("/datastore/dump/@rid"), never_restricted),
    # The web pages: a resource's page is its dataset's (a restricted table is not
    # previewed); lists and owners are public; the language switch redirects.
    "/dataset/:id/resource/:rid": (web("/dataset/@name/resource/@rid"), read_meta),
    "/organization": (web("/organization"), everyone(200)),
    "/organization/:id": (web("/organization/" + ORG), everyone(200)),
    "/group": (web("/group"), everyone(200)),
    "/group/:id": (lambda w, r, s: w.srv.get("/group/" + w.group,
                                            headers={"Authorization": w.tok[r]} if w.tok[r] else {}
                                            ).status_code, everyone(200)),
    "/licenses": (web("/licenses"), everyone(200)),
    "/api": (web("/api"), everyone(200)),
    "/static/:file": (web("/static/kaifang.css"), everyone(200)),
    "/lang": (web("/lang?to=zh_CN&next=/"), everyone(303)),
    "/ledger": (web("/ledger"), everyone(200)),
    "/ledger/checkpoint": (web("/ledger/checkpoint"), everyone(200)),
    "/ledger/tile/:path*": (web("/ledger/tile/0/000.p/1"), everyone(200)),
    "/api/ledger/entries": (web("/api/ledger/entries?start=0&end=1"), everyone(200)),
    "/api/ledger/proof/inclusion": (web("/api/ledger/proof/inclusion?index=0&size=1"), everyone(200)),
    "/api/ledger/proof/consistency": (web("/api/ledger/proof/consistency?first=1&second=1"), everyone(200)),
    "/api/ledger/key": (web("/api/ledger/key"), everyone(200)),
    "/audit": (web("/audit"), everyone(200)),
    # Signing in (src/http/publish.c): the form is for everyone; a POST to a page needs
    # the CSRF token of a web session (or of the form's pre-session cookie), which an
    # API token is not: 403 whoever sends it (tests/e2e/test_web_session.py signs in).
    "/user/login": (web("/user/login"), everyone(200)),
    "/user/logout": (web_post("/user/logout"), everyone(403)),
    # The publisher pages (src/http/publish.c): an anonymous caller is sent to sign in;
    # a signed-in one gets the form for a dataset they may edit (editor, admin,
    # sysadmin), 403 for one they see but may not edit, 404 for one they do not see.
    # Their POSTs need a session's CSRF token: 403 for every API token's caller.
    "/dataset/new": (web("/dataset/new"), lambda r, s: 303 if r == "anonymous" else 200),
    "/dataset/edit/:id": (web("/dataset/edit/@name"), edit_page),
    "/dataset/:id/resource/new": (web("/dataset/@name/resource/new"), edit_page),
    "/dataset/:id/resource/:rid/ingest": (web("/dataset/@name/resource/@rid/ingest"), edit_page),
    "/dataset/:id/resource/:rid/dictionary": (web("/dataset/@name/resource/@rid/dictionary"),
                                              edit_page),
    # The account pages (src/http/account.c): an anonymous caller is sent to sign in; my
    # account is anyone's; the users are a sysadmin's; an organization's members and roles
    # its admins' (and sysadmins'); its pending grant requests its approvers' (a sysadmin
    # is no approver). Their POSTs need a session's CSRF token (test_web_accounts.py).
    "/user/account": (web("/user/account"), lambda r, s: 303 if r == "anonymous" else 200),
    "/user": (web("/user"), lambda r, s: 303 if r == "anonymous" else only({"sysadmin"}, 200)(r, s)),
    "/organization/members/:id": (web("/organization/members/" + ORG),
                                  lambda r, s: 303 if r == "anonymous"
                                  else only({"admin", "sysadmin"}, 200)(r, s)),
    # The privacy override form of the resource page posts here: a session's CSRF token
    # first, so 403 for every API token's caller (datastore_privacy_override's own row
    # judges the roles; test_web_accounts.py signs in).
    "/dataset/:id/resource/:rid/override": (web_post("/dataset/@name/resource/@up/override",
                                                     {"justification": "j"}), everyone(403)),
    "/organization/grants/:id": (web("/organization/grants/" + ORG),
                                 lambda r, s: 303 if r == "anonymous" else only({"approver"}, 200)(r, s)),
}

POSTS = {
    "/dataset/new": web_post("/dataset/new"),
    "/dataset/edit/:id": web_post("/dataset/edit/@name"),
    "/dataset/:id/resource/new": web_post("/dataset/@name/resource/new"),
    "/dataset/:id/resource/:rid/dictionary": web_post("/dataset/@name/resource/@rid/dictionary"),
    "/user/account": web_post("/user/account", {"op": "token_create", "label": "x"}),
    "/user": web_post("/user", {"op": "create", "name": "x-by-token"}),
    "/organization/members/:id": web_post("/organization/members/" + ORG,
                                          {"op": "member_remove", "username": "editor"}),
    "/organization/grants/:id": web_post("/organization/grants/" + ORG, {"op": "approve", "id": "x"}),
}


def test_page_posts_need_a_session(world):
    bad = []
    for endpoint, call in POSTS.items():
        for state in STATES:
            for role in ROLES:
                got = call(world, role, state)
                if got != 403:
                    bad.append("POST %s as %s on %s: %d, wanted 403" % (endpoint, role, state, got))
    assert not bad, "\n".join(bad)


def test_every_endpoint_has_a_row(kaifang_bin):
    doc = json.loads(run_cli("routes", check=0).stdout)
    routes = [r["pattern"] for r in doc["routes"]]
    assert routes and doc["actions"], doc
    missing = sorted(set(routes) - set(ROUTES)) + sorted(set(doc["actions"]) - set(ACTIONS))
    stale = sorted(set(ROUTES) - set(routes)) + sorted(set(ACTIONS) - set(doc["actions"]))
    assert not missing, "endpoints with no row in the authorization matrix: %r" % missing
    assert not stale, "rows for endpoints the server does not have: %r" % stale


def test_matrix(world):
    bad = []
    n = 0
    for table in (ACTIONS, ROUTES):
        for endpoint, (call, expected) in table.items():
            if call is None:
                continue
            for state in STATES:
                for role in ROLES:
                    want = expected(role, state)
                    got = call(world, role, state)
                    n += 1
                    if got != want:
                        bad.append("%s as %s on %s: %d, wanted %d" % (endpoint, role, state, got, want))
    assert n >= (len(ACTIONS) + len(ROUTES) - 1) * len(ROLES) * len(STATES)
    assert not bad, "%d of %d answers wrong:\n%s" % (len(bad), n, "\n".join(bad))


def listed(role, state):
    """Who finds a dataset in package_search with include_private and include_drafts."""
    if state in OPEN:
        return True
    if state == "private":
        return role in {"member"} | EDIT
    if state == "draft":
        return role in EDIT
    return False


def test_listings(world):
    """The state dimension of the lists: which datasets each role finds."""
    bad = []
    for role in ROLES:
        t = world.tok[role]
        plist = set(ok(world.srv.api("package_list", token=t)))
        h = {"Authorization": t} if t else {}
        page = world.srv.get("/dataset?q=", headers=h).text
        data = world.srv.get("/data.json").text
        for state in STATES:
            d = world.ds[state]
            found = {x["name"] for x in ok(world.srv.api("package_search", token=t, q="name:" + d["name"],
                                                         include_private=True, include_drafts=True))["results"]}
            if (d["name"] in found) != listed(role, state):
                bad.append("package_search as %s: %s dataset %s" % (role, state, "missing" if listed(role, state) else "shown"))
            if (d["name"] in plist) != (state in OPEN):
                bad.append("package_list as %s: %s dataset" % (role, state))
            if role == "anonymous" and (d["name"] in data) != (state in OPEN):
                bad.append("data.json: %s dataset" % state)
            if role == "anonymous" and state not in OPEN and d["name"] in page:
                bad.append("/dataset as anonymous shows the %s dataset" % state)
    assert not bad, "\n".join(bad)
