/*
 * account.c - what the account pages need beyond access.c and session.c: disabling and
 * enabling a user, a user's API tokens (listed by id and label, revoked by their owner)
 * and checking a user's current password before it changes (access.h;
 * docs/internals/access.md, "Account pages").
 */
#include <jansson.h>
#include <string.h>

#include "access/access.h"
#include "core/limits.h"
#include "core/timeutil.h"
#include "ledger/ledger.h"
#include "core/util.h"

int access_user_state_set_as(struct store *s, const struct actor *by, const char *user_name,
                             bool active, struct err *err)
{
    struct err e = ERR_INIT;
    json_t *user = NULL, *objects = NULL, *digest = NULL;
    const char *uid, *state = active ? "active" : "deleted";
    bool began = false;
    int ret;

    if (!by || !by->authenticated || !by->sysadmin) {
        ret = err_set(err, ERR_AUTH, NULL, "user \"%s\" may not disable or enable users",
                      by && by->authenticated ? by->name : "public");
        goto out;
    }
    if (!user_name || !*user_name) {
        ret = err_set(err, ERR_VALIDATION, "user", "missing value");
        goto out;
    }
    if (!active && str_eq(by->name, user_name)) {
        ret = err_set(err, ERR_VALIDATION, "user", "you may not disable your own account");
        goto out;
    }
    ret = store_begin(s, err);
    if (ret)
        goto out;
    began = true;
    ret = store_user_get(s, user_name, &user, err);
    if (ret)
        goto out;
    uid = json_string_value(json_object_get(user, "id"));
    if (str_eq(json_string_value(json_object_get(user, "state")), state)) {
        ret = err_set(err, ERR_CONFLICT, "user", "user \"%s\" is already %s", user_name,
                      active ? "active" : "disabled");
        goto out;
    }
    ret = store_user_state_set(s, uid, state, err);
    /* A disabled user's sessions end with it (its tokens stop working by its state). */
    if (!ret && !active)
        ret = store_session_delete(s, NULL, uid, err);
    if (ret)
        goto out;
    objects = json_pack("{s:s}", "user", json_string_value(json_object_get(user, "name")));
    digest = json_pack("{s:s, s:s}", "user", uid, "state", state);
    ret = ledger_record(s, "user_state_set", by->name, NULL, objects, digest, NULL, &e);
    if (ret) {
        ret = err_set(err, ERR_INTERNAL, NULL, "cannot record \"user_state_set\" in the ledger: %s",
                      e.msg);
        goto out;
    }
    ret = store_commit(s, err);
    began = false;
out:
    if (began)
        store_rollback(s);
    json_decref(objects);
    json_decref(digest);
    json_decref(user);
    return ret;
}

/* The user user_name as by may manage their tokens (themselves or a sysadmin). */
static int token_owner(struct store *s, const struct actor *by, const char *user_name,
                       json_t **user, struct err *err)
{
    *user = NULL;
    if (!by || !by->authenticated)
        return err_set(err, ERR_AUTH, NULL, "anonymous users have no API tokens");
    if (!user_name || (!by->sysadmin && !str_eq(by->name, user_name)))
        return err_set(err, ERR_AUTH, NULL, "user \"%s\" may not manage the tokens of \"%s\"",
                       by->name, user_name ? user_name : "");
    return store_user_get(s, user_name, user, err);
}

int access_token_list_as(struct store *s, const struct actor *by, const char *user_name,
                         json_t **tokens, struct err *err)
{
    json_t *user = NULL;
    int ret = token_owner(s, by, user_name, &user, err);

    *tokens = NULL;
    if (!ret)
        ret = store_token_list(s, json_string_value(json_object_get(user, "id")), tokens, err);
    json_decref(user);
    return ret;
}

int access_token_revoke_own_as(struct store *s, const struct actor *by, const char *user_name,
                               const char *token_id, struct err *err)
{
    json_t *tokens = NULL, *t;
    bool found = false;
    size_t i;
    int ret = access_token_list_as(s, by, user_name, &tokens, err);

    if (ret)
        goto out;
    json_array_foreach (tokens, i, t)
        if (token_id && str_eq(json_string_value(json_object_get(t, "id")), token_id))
            found = true;
    if (!found) {
        ret = err_set(err, ERR_NOT_FOUND, "id", "token \"%.64s\" not found",
                      token_id ? token_id : "");
        goto out;
    }
    ret = access_token_revoke_as(s, by->name, token_id, err);
out:
    json_decref(tokens);
    return ret;
}

int access_password_check(struct store *s, const char *name, const char *password, struct err *err)
{
    struct err e = ERR_INIT;
    json_t *user = NULL;
    char *stored = NULL;
    size_t plen = password ? strlen(password) : 0;
    int ret;

    if (plen > ACCESS_PASSWORD_MAX)
        return err_set(err, ERR_AUTH, "old_password", "the current password is wrong");
    ret = store_user_password_get(s, name, &user, &stored, &e);
    if (ret && ret != -ERR_NOT_FOUND) {
        ret = err_set(err, e.kind, NULL, "%s", e.msg);
        goto out;
    }
    if (ret || !stored || !secret_password_verify(stored, password ? password : "", plen))
        ret = err_set(err, ERR_AUTH, "old_password", "the current password is wrong");
out:
    free(stored);
    json_decref(user);
    return ret;
}

int access_user_list_as(struct store *s, const struct actor *by, json_t **users, struct err *err)
{
    *users = NULL;
    if (!by || !by->authenticated || !by->sysadmin)
        return err_set(err, ERR_AUTH, NULL, "only a sysadmin lists the users");
    return store_user_list(s, users, err);
}

int access_org_members(struct store *s, const char *org_id, json_t **members, struct err *err)
{
    json_t *users = NULL, *u, *out = json_array();
    char cap[16];
    size_t i;
    int ret;

    *members = NULL;
    /* NEEDSWORK: one lookup per user; a store call listing an organization's members
     * would do it in one query once portals have thousands of accounts. */
    ret = store_user_list(s, &users, err);
    if (ret)
        goto out;
    json_array_foreach (users, i, u) {
        const char *uid = json_string_value(json_object_get(u, "id"));
        struct err e = ERR_INIT;
        int rc = store_member_get(s, org_id, uid, cap, sizeof(cap), &e);

        if (rc == -ERR_NOT_FOUND)
            continue;
        if (rc) {
            ret = err_set(err, e.kind, NULL, "%s", e.msg);
            goto out;
        }
        json_array_append_new(out,
                              json_pack("{s:O, s:s, s:O}", "name", json_object_get(u, "name"),
                                        "capacity", cap, "state", json_object_get(u, "state")));
    }
    *members = out;
    out = NULL;
out:
    json_decref(users);
    json_decref(out);
    return ret;
}

int access_org_roles(struct store *s, const char *org_id, json_t **roles, struct err *err)
{
    json_t *all = NULL, *r, *out;
    size_t i;
    int ret = store_role_list(s, &all, err);

    *roles = NULL;
    if (ret)
        return ret;
    out = json_array();
    json_array_foreach (all, i, r) {
        const char *o = json_string_value(json_object_get(r, "organization"));

        if (!o || str_eq(o, org_id))
            json_array_append(out, r);
    }
    json_decref(all);
    *roles = out;
    return 0;
}
