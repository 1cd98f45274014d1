/*
 * api-access.h - the actions of accounts, roles and grants (api-access.c), in the
 * catalog_action_fn shape of the CKAN action table (api-ckan.c). Internal to src/api/.
 *
 * CKAN 2.10's names and parameters where CKAN has the action (user_create,
 * api_token_create, organization_member_create, organization_member_delete); Kaifang's
 * own for roles and grants (docs/internals/access.md). Errors as catalog.h: 403 for
 * what the caller may not do, 404 for what does not exist, 409 naming the field.
 */
#ifndef KAIFANG_API_API_ACCESS_H
#define KAIFANG_API_API_ACCESS_H

#include "catalog/catalog.h"

/* user_create: name, email, fullname, sysadmin (sysadmins only) → the user
 * {id, name, sysadmin, state, created} (no e-mail in the answer). */
int api_user_create(struct catalog *c, const struct actor *a, json_t *params, json_t **result,
                    struct err *err);

/* api_token_create: user, name (a label) → {"token", "id"}; a sysadmin for anyone, a
 * user for themselves. */
int api_token_create(struct catalog *c, const struct actor *a, json_t *params, json_t **result,
                     struct err *err);

/* organization_member_create: id (organization), username, role (admin | editor |
 * member) → {organization, user, capacity}; organization_member_delete: id, username.
 * A sysadmin or an admin of the organization. */
int api_organization_member_create(struct catalog *c, const struct actor *a, json_t *params,
                                   json_t **result, struct err *err);
int api_organization_member_delete(struct catalog *c, const struct actor *a, json_t *params,
                                   json_t **result, struct err *err);

/* user_role_create / user_role_delete: user, role (approver | auditor | grantee),
 * organization (optional) → {user, role, organization}: access_role_set_as(). user_role_list:
 * every role of every active user, public (who approves is public, as the ledger says). */
int api_user_role_create(struct catalog *c, const struct actor *a, json_t *params, json_t **result,
                         struct err *err);
int api_user_role_delete(struct catalog *c, const struct actor *a, json_t *params, json_t **result,
                         struct err *err);
int api_user_role_list(struct catalog *c, const struct actor *a, json_t *params, json_t **result,
                       struct err *err);

/* Grants (src/access/grant.h, which gives their parameters and shapes): grant_request,
 * grant_approve, grant_refuse, grant_revoke (writes, one ledger entry each), grant_show,
 * grant_list (public where the dataset is). */
int api_grant_request(struct catalog *c, const struct actor *a, json_t *params, json_t **result,
                      struct err *err);
int api_grant_approve(struct catalog *c, const struct actor *a, json_t *params, json_t **result,
                      struct err *err);
int api_grant_refuse(struct catalog *c, const struct actor *a, json_t *params, json_t **result,
                     struct err *err);
int api_grant_revoke(struct catalog *c, const struct actor *a, json_t *params, json_t **result,
                     struct err *err);
int api_grant_show(struct catalog *c, const struct actor *a, json_t *params, json_t **result,
                   struct err *err);
int api_grant_list(struct catalog *c, const struct actor *a, json_t *params, json_t **result,
                   struct err *err);

#endif
