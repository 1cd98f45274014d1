/*
 * api-access.c - accounts, organization members and roles over the Action API (CKAN 2.10
 * ckan.logic.action.create.user_create, api_token_create, organization_member_create,
 * ckan.logic.action.delete.organization_member_delete; Kaifang's user_role_*). The
 * rules of who may do what live in src/access/; this file reads parameters and checks
 * the caller's standing where access.c takes a plain actor name.
 */
#include <jansson.h>

#include "access/access.h"
#include "access/grant.h"
#include "api/api-access.h"
#include "core/util.h"

/* An optional string parameter: absent or null gives NULL; anything but a string is a
 * validation error naming key. */
static int opt_str(json_t *params, const char *key, const char **out, struct err *err)
{
    json_t *v = json_object_get(params, key);

    *out = NULL;
    if (!v || json_is_null(v))
        return 0;
    if (!json_is_string(v))
        return err_set(err, ERR_VALIDATION, key, "\"%s\" must be a string", key);
    *out = json_string_value(v);
    return 0;
}

static int req_str(json_t *params, const char *key, const char **out, struct err *err)
{
    int ret = opt_str(params, key, out, err);

    if (!ret && (!*out || !**out))
        ret = err_set(err, ERR_VALIDATION, key, "Missing value");
    return ret;
}

/* "true"/"false" as a query string sends them, or JSON booleans. */
static int opt_bool(json_t *params, const char *key, bool *out, struct err *err)
{
    json_t *v = json_object_get(params, key);

    *out = false;
    if (!v || json_is_null(v))
        return 0;
    if (json_is_boolean(v)) {
        *out = json_is_true(v);
        return 0;
    }
    if (json_is_string(v) &&
        (str_eq(json_string_value(v), "true") || str_eq(json_string_value(v), "True"))) {
        *out = true;
        return 0;
    }
    if (json_is_string(v) &&
        (str_eq(json_string_value(v), "false") || str_eq(json_string_value(v), "False")))
        return 0;
    return err_set(err, ERR_VALIDATION, key, "\"%s\" must be true or false", key);
}

static int need_sysadmin(const struct actor *a, const char *what, struct err *err)
{
    if (!a || !a->authenticated)
        return err_set(err, ERR_AUTH, NULL, "anonymous users may not %s", what);
    if (!a->sysadmin)
        return err_set(err, ERR_AUTH, NULL, "user \"%s\" may not %s", a->name, what);
    return 0;
}

int api_user_create(struct catalog *c, const struct actor *a, json_t *params, json_t **result,
                    struct err *err)
{
    const char *name, *email, *fullname, *password;
    json_t *user = NULL;
    bool sysadmin;
    int ret;

    *result = NULL;
    ret = need_sysadmin(a, "create users", err);
    if (!ret)
        ret = req_str(params, "name", &name, err);
    if (!ret)
        ret = opt_str(params, "email", &email, err);
    if (!ret)
        ret = opt_str(params, "fullname", &fullname, err);
    if (!ret)
        ret = opt_bool(params, "sysadmin", &sysadmin, err);
    /* CKAN's user_create takes the password too; it is stored only as its argon2id hash. */
    if (!ret)
        ret = opt_str(params, "password", &password, err);
    if (!ret)
        ret = access_user_add_pw_as(c->store, a->name, name, email, fullname, sysadmin, password,
                                    &user, err);
    if (ret)
        goto out;
    /* The public shape: no e-mail address, no full name. */
    *result = json_pack("{s:O, s:O, s:O, s:O, s:O}", "id", json_object_get(user, "id"), "name",
                        json_object_get(user, "name"), "sysadmin",
                        json_object_get(user, "sysadmin"), "state", json_object_get(user, "state"),
                        "created", json_object_get(user, "created"));
out:
    json_decref(user);
    return ret;
}

int api_token_create(struct catalog *c, const struct actor *a, json_t *params, json_t **result,
                     struct err *err)
{
    char token[TOKEN_STR_MAX], id[UUID_STR_LEN];
    const char *user, *label;
    int ret;

    *result = NULL;
    token[0] = '\0';
    if (!a || !a->authenticated) {
        ret = err_set(err, ERR_AUTH, NULL, "anonymous users may not create API tokens");
        goto out;
    }
    ret = req_str(params, "user", &user, err);
    if (!ret)
        ret = opt_str(params, "name", &label, err);
    if (ret)
        goto out;
    if (!a->sysadmin && !str_eq(user, a->name) && !str_eq(user, a->id)) {
        ret = err_set(err, ERR_AUTH, NULL, "user \"%s\" may not create tokens for \"%s\"", a->name,
                      user);
        goto out;
    }
    ret = access_token_create_as(c->store, a->name, user, label, token, id, err);
    if (!ret)
        *result = json_pack("{s:s, s:s}", "token", token, "id", id);
out:
    secret_wipe(token, sizeof(token));
    return ret;
}

/* The caller must be a sysadmin or an admin of the organization org (id or name). */
static int need_org_admin(struct catalog *c, const struct actor *a, const char *org,
                          struct err *err)
{
    json_t *g = NULL;
    int ret;

    if (!a || !a->authenticated)
        return err_set(err, ERR_AUTH, NULL, "anonymous users may not change members");
    ret = store_group_get(c->store, true, org, &g, NULL);
    if (ret == -ERR_NOT_FOUND) {
        ret = err_set(err, ERR_NOT_FOUND, "id", "organization \"%s\" not found", org);
        goto out;
    }
    if (ret) {
        ret = err_set(err, ERR_INTERNAL, NULL, "cannot look up organization \"%s\"", org);
        goto out;
    }
    if (actor_capacity(a, json_string_value(json_object_get(g, "id"))) < CAPACITY_ADMIN)
        ret = err_set(err, ERR_AUTH, NULL, "user \"%s\" may not change the members of \"%s\"",
                      a->name, org);
out:
    json_decref(g);
    return ret;
}

int api_organization_member_create(struct catalog *c, const struct actor *a, json_t *params,
                                   json_t **result, struct err *err)
{
    const char *org, *user, *role;
    int ret;

    *result = NULL;
    ret = req_str(params, "id", &org, err);
    if (!ret)
        ret = req_str(params, "username", &user, err);
    if (!ret)
        ret = req_str(params, "role", &role, err);
    if (!ret && capacity_parse(role) < 0)
        ret = err_set(err, ERR_VALIDATION, "role",
                      "role \"%.100s\" is not one of admin, editor, member", role);
    if (!ret)
        ret = need_org_admin(c, a, org, err);
    if (!ret)
        ret = access_member_set_as(c->store, a->name, org, user, role, err);
    if (!ret)
        *result = json_pack("{s:s, s:s, s:s}", "organization", org, "user", user, "capacity", role);
    return ret;
}

int api_organization_member_delete(struct catalog *c, const struct actor *a, json_t *params,
                                   json_t **result, struct err *err)
{
    const char *org, *user;
    int ret;

    *result = NULL;
    ret = req_str(params, "id", &org, err);
    if (!ret)
        ret = req_str(params, "username", &user, err);
    if (!ret)
        ret = need_org_admin(c, a, org, err);
    if (!ret)
        ret = access_member_set_as(c->store, a->name, org, user, NULL, err);
    return ret;
}

static int role_set(struct catalog *c, const struct actor *a, json_t *params, bool on,
                    json_t **result, struct err *err)
{
    const char *user, *role, *org;
    int ret;

    *result = NULL;
    ret = req_str(params, "user", &user, err);
    if (!ret)
        ret = req_str(params, "role", &role, err);
    if (!ret)
        ret = opt_str(params, "organization", &org, err);
    if (!ret)
        ret = access_role_set_as(c->store, a, user, role, org, on, err);
    if (!ret && on)
        *result = json_pack("{s:s, s:s, s:s?}", "user", user, "role", role, "organization",
                            org && *org ? org : NULL);
    return ret;
}

int api_user_role_create(struct catalog *c, const struct actor *a, json_t *params, json_t **result,
                         struct err *err)
{
    return role_set(c, a, params, true, result, err);
}

int api_user_role_delete(struct catalog *c, const struct actor *a, json_t *params, json_t **result,
                         struct err *err)
{
    return role_set(c, a, params, false, result, err);
}

int api_user_role_list(struct catalog *c, const struct actor *a, json_t *params, json_t **result,
                       struct err *err)
{
    (void)a;
    (void)params;
    *result = NULL;
    return store_role_list(c->store, result, err);
}

/* ---- grants (src/access/grant.c) ---- */

int api_grant_request(struct catalog *c, const struct actor *a, json_t *params, json_t **result,
                      struct err *err)
{
    return grant_request_as(c->store, a, params, result, err);
}

int api_grant_approve(struct catalog *c, const struct actor *a, json_t *params, json_t **result,
                      struct err *err)
{
    return grant_decide_as(c->store, a, params, true, result, err);
}

int api_grant_refuse(struct catalog *c, const struct actor *a, json_t *params, json_t **result,
                     struct err *err)
{
    return grant_decide_as(c->store, a, params, false, result, err);
}

int api_grant_revoke(struct catalog *c, const struct actor *a, json_t *params, json_t **result,
                     struct err *err)
{
    return grant_revoke_as(c->store, a, params, result, err);
}

int api_grant_show(struct catalog *c, const struct actor *a, json_t *params, json_t **result,
                   struct err *err)
{
    return grant_show(c->store, a, params, result, err);
}

int api_grant_list(struct catalog *c, const struct actor *a, json_t *params, json_t **result,
                   struct err *err)
{
    return grant_list(c->store, a, params, result, err);
}
