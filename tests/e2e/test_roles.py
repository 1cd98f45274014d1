"""Roles beside the organization capacities: approver, auditor, grantee (issue 8).

Accounts, members and roles through the Action API (user_create, api_token_create,
organization_member_create/delete, user_role_create/delete/list) and the CLI (kaifang
role add/remove/list); who may give which role; one role_set ledger entry per change.
"""

import json

from conftest import ORG, fails, ok, unique
from test_ledger_completeness import Ledger


def test_accounts_and_roles_over_the_api(srv, tok):
    lg = Ledger(srv)
    name = unique("appr")
    u = ok(srv.api("user_create", token=tok["sysadmin"], name=name, email=name + "@example.org"))
    assert u["name"] == name and "email" not in u, u
    lg.one("user_create", "user_create", actor="sysadmin", user=name)
    t = ok(srv.api("api_token_create", token=tok["sysadmin"], user=name, name="cli"))
    assert len(t["token"]) >= 16 and t["id"], t
    lg.one("token_create", "api_token_create", actor="sysadmin", user=name, token=t["id"])
    # The new token works, and its owner may make itself another token, not one for others.
    ok(srv.api("api_token_create", token=t["token"], user=name))
    lg.one("token_create", "own token", actor=name)
    fails(srv.api("api_token_create", token=t["token"], user="editor"), 403)
    fails(srv.api("user_create", token=tok["orgadmin"], name=unique("x")), 403)
    fails(srv.api("user_create", name=unique("x")), 403)

    ok(srv.api("organization_member_create", token=tok["orgadmin"], id=ORG, username=name, role="member"))
    lg.one("member_set", "organization_member_create", actor="orgadmin", org=ORG, user=name)
    fails(srv.api("organization_member_create", token=tok["editor"], id=ORG, username=name, role="editor"), 403)
    fails(srv.api("organization_member_create", token=tok["orgadmin"], id=ORG, username=name, role="king"),
          409, field="role")

    r = ok(srv.api("user_role_create", token=tok["orgadmin"], user=name, role="approver", organization=ORG))
    assert r == {"user": name, "role": "approver", "organization": ORG}, r
    e = lg.one("role_set", "user_role_create", actor="orgadmin", org=ORG, user=name, role="approver")
    assert "@example.org" not in json.dumps(e)
    roles = ok(srv.api("user_role_list"))
    assert any(x["user"] == name and x["role"] == "approver" and x["organization"] for x in roles), roles

    # Who may not: anonymous, editors, an admin for themselves, an admin for grantees or
    # portal-wide roles.
    fails(srv.api("user_role_create", user=name, role="auditor", organization=ORG), 403)
    fails(srv.api("user_role_create", token=tok["editor"], user=name, role="auditor", organization=ORG), 403)
    fails(srv.api("user_role_create", token=tok["orgadmin"], user="orgadmin", role="approver",
                  organization=ORG), 403, message="their own")
    fails(srv.api("user_role_create", token=tok["orgadmin"], user=name, role="grantee"), 403)
    fails(srv.api("user_role_create", token=tok["orgadmin"], user=name, role="auditor"), 403)
    # Shapes.
    fails(srv.api("user_role_create", token=tok["sysadmin"], user=name, role="grantee", organization=ORG),
          409, field="organization")
    fails(srv.api("user_role_create", token=tok["sysadmin"], user=name, role="approver"), 409,
          field="organization")
    fails(srv.api("user_role_create", token=tok["sysadmin"], user=name, role="pope"), 409, field="role")
    fails(srv.api("user_role_create", token=tok["sysadmin"], user="no-such-user", role="grantee"), 404)
    fails(srv.api("user_role_create", token=tok["sysadmin"], user=name, role="auditor",
                  organization="no-such-org"), 404)
    fails(srv.api("user_role_delete", token=tok["sysadmin"], user=name, role="grantee"), 404)
    lg.new(0, "refused role changes")

    ok(srv.api("user_role_create", token=tok["sysadmin"], user=name, role="auditor"))
    e = lg.one("role_set", "portal-wide auditor", actor="sysadmin", user=name, role="auditor")
    assert "org" not in e and "organization" not in e["objects"], e
    ok(srv.api("user_role_delete", token=tok["orgadmin"], user=name, role="approver", organization=ORG))
    lg.one("role_set", "user_role_delete", actor="orgadmin", org=ORG, user=name)
    roles = ok(srv.api("user_role_list"))
    assert {x["role"] for x in roles if x["user"] == name} == {"auditor"}, roles
    ok(srv.api("organization_member_delete", token=tok["sysadmin"], id=ORG, username=name))
    lg.one("member_set", "organization_member_delete", actor="sysadmin", org=ORG, user=name)


def test_roles_from_the_cli(portal, srv):
    lg = Ledger(srv)
    name = unique("grantee")
    portal.cli("user", "add", name)
    lg.one("user_create", "user add")
    portal.cli("role", "add", name, "grantee")
    lg.one("role_set", "role add", actor="kaifang-cli", user=name, role="grantee")
    portal.cli("role", "add", "member", "approver", "--org", ORG)
    lg.one("role_set", "role add --org", org=ORG, user="member", role="approver")
    out = portal.cli("role", "list").stdout.splitlines()
    assert out[0] == "user\trole\torganization", out
    assert "%s\tgrantee\t" % name in out and "member\tapprover\t%s" % ORG in out, out
    portal.cli("role", "add", name, "grantee", "--org", ORG, check=1)
    portal.cli("role", "add", name, "emperor", check=2)
    portal.cli("role", "remove", name, "auditor", check=1)
    lg.new(0, "failed role commands")
    portal.cli("role", "remove", "member", "approver", "--org", ORG)
    lg.one("role_set", "role remove", org=ORG, user="member")
    out = portal.cli("role", "list").stdout
    assert "member\tapprover" not in out, out
