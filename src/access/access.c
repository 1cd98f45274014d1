/*
 * access.c - users, API tokens and organization roles (CKAN docs, "Organizations and
 * authorization"; user names as CKAN's user name_validator).
 */
#include <jansson.h>

#include "access/access.h"
#include "core/limits.h"
#include "core/timeutil.h"
#include "ledger/ledger.h"
#include "core/util.h"

/* CKAN's user name rule: 2..100 of lowercase a-z, 0-9, '-' and '_'. */
static int user_name_check(const char *name, struct err *err)
{
    size_t len = name ? strlen(name) : 0;

    if (!name || !*name)
        return err_set(err, ERR_VALIDATION, "name", "missing value");
    if (len < LIMIT_NAME_MIN)
        return err_set(err, ERR_VALIDATION, "name", "user name too short: \"%s\"", name);
    if (len > LIMIT_USER_NAME_MAX)
        return err_set(err, ERR_VALIDATION, "name", "user name longer than %u characters",
                       LIMIT_USER_NAME_MAX);
    for (const char *p = name; *p; p++) {
        if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '-' || *p == '_'))
            return err_set(err, ERR_VALIDATION, "name",
                           "Must be purely lowercase alphanumeric (ascii) characters and these "
                           "symbols: -_");
    }
    /* The ledger names anonymous callers "public": a user of that name would make its
     * entries ambiguous. */
    if (!strcmp(name, "public"))
        return err_set(err, ERR_CONFLICT, "name", "That login name is not available.");
    return 0;
}

/* Stages one ledger entry inside the open transaction; objects and digest are stolen.
 * -ERR_INTERNAL naming the type on any failure (the caller rolls back). */
static int access_record(struct store *s, const char *type, const char *actor, const char *org,
                         json_t *objects, json_t *digest, struct err *err)
{
    struct err e = ERR_INIT;
    int ret;

    BUG_ON(!actor || !*actor || !objects);
    ret = ledger_record(s, type, actor, org, objects, digest, NULL, &e);
    if (ret)
        ret = err_set(err, ERR_INTERNAL, NULL, "cannot record \"%s\" in the ledger: %s", type,
                      e.msg);
    json_decref(objects);
    json_decref(digest);
    return ret;
}

int access_actor_fill(struct store *s, json_t *user, struct actor *a, struct err *err)
{
    const char *id = json_string_value(json_object_get(user, "id"));
    const char *name = json_string_value(json_object_get(user, "name"));
    json_t *orgs = NULL, *roles = NULL;
    int ret;

    if (!id || !name || strlen(id) >= sizeof(a->id) || strlen(name) >= sizeof(a->name)) {
        ret = err_set(err, ERR_INTERNAL, NULL, "user record is malformed");
        goto out;
    }
    ret = store_member_orgs(s, id, &orgs, err);
    if (!ret)
        ret = store_roles_of(s, id, &roles, err);
    if (ret)
        goto out;
    a->authenticated = true;
    a->sysadmin = json_is_true(json_object_get(user, "sysadmin"));
    xsnprintf(a->id, sizeof(a->id), "%s", id);
    xsnprintf(a->name, sizeof(a->name), "%s", name);
    a->memberships = orgs;
    orgs = NULL;
    a->roles = roles;
    roles = NULL;
out:
    json_decref(orgs);
    json_decref(roles);
    return ret;
}

static void actor_reset(struct actor *a)
{
    a->authenticated = false;
    a->sysadmin = false;
    a->id[0] = '\0';
    a->name[0] = '\0';
    a->memberships = NULL;
    a->roles = NULL;
}

int access_actor_from_token(struct store *s, const char *header, struct actor *a, struct err *err)
{
    char hash[TOKEN_HASH_HEX_LEN];
    json_t *user = NULL;
    const char *tok = header;
    int ret = 0;

    actor_reset(a);
    if (!header)
        goto out;
    while (*tok == ' ' || *tok == '\t')
        tok++;
    if (!strncasecmp(tok, "Bearer ", 7))
        tok += 7;
    while (*tok == ' ' || *tok == '\t')
        tok++;
    if (!*tok)
        goto out;
    if (strlen(tok) >= TOKEN_STR_MAX) {
        ret = err_set(err, ERR_AUTH, NULL, "invalid API token");
        goto out;
    }
    secret_token_hash(tok, hash);
    ret = store_token_user(s, hash, &user, NULL);
    if (ret == -ERR_NOT_FOUND) {
        ret = err_set(err, ERR_AUTH, NULL, "invalid API token");
        goto out;
    }
    if (ret) {
        ret = err_set(err, ERR_INTERNAL, NULL, "cannot look up API token");
        goto out;
    }
    ret = access_actor_fill(s, user, a, err);
out:
    json_decref(user);
    return ret;
}

int access_actor_from_user(struct store *s, const char *name, struct actor *a, struct err *err)
{
    json_t *user = NULL;
    int ret;

    actor_reset(a);
    ret = store_user_get(s, name, &user, err);
    if (ret)
        goto out;
    if (!str_eq(json_string_value(json_object_get(user, "state")), "active")) {
        ret = err_set(err, ERR_NOT_FOUND, "name", "user \"%s\" not found", name);
        goto out;
    }
    ret = access_actor_fill(s, user, a, err);
out:
    json_decref(user);
    return ret;
}

void actor_release(struct actor *a)
{
    if (!a)
        return;
    json_decref(a->memberships);
    json_decref(a->roles);
    actor_reset(a);
}

enum capacity actor_capacity(const struct actor *a, const char *org_id)
{
    size_t i;
    json_t *m;

    if (!a || !a->authenticated || !org_id)
        return CAPACITY_NONE;
    if (a->sysadmin)
        return CAPACITY_ADMIN;
    json_array_foreach (a->memberships, i, m) {
        if (str_eq(json_string_value(json_object_get(m, "id")), org_id)) {
            int c = capacity_parse(json_string_value(json_object_get(m, "capacity")));

            return c < 0 ? CAPACITY_NONE : (enum capacity)c;
        }
    }
    return CAPACITY_NONE;
}

int capacity_parse(const char *s)
{
    if (str_eq(s, "admin"))
        return CAPACITY_ADMIN;
    if (str_eq(s, "editor"))
        return CAPACITY_EDITOR;
    if (str_eq(s, "member"))
        return CAPACITY_MEMBER;
    return -1;
}

const char *capacity_name(enum capacity c)
{
    switch (c) {
    case CAPACITY_ADMIN:
        return "admin";
    case CAPACITY_EDITOR:
        return "editor";
    case CAPACITY_MEMBER:
        return "member";
    case CAPACITY_NONE:
        break;
    }
    return "none";
}

int access_email_check(const char *field, const char *email, struct err *err)
{
    const char *at = email ? strchr(email, '@') : NULL;

    if (!email || !*email)
        return 0;
    if (!at || at == email || strchr(at + 1, '@') || !strchr(at + 1, '.') ||
        strpbrk(email, " \t\r\n<>,;\"") || at[1] == '.' || email[strlen(email) - 1] == '.')
        return err_set(err, ERR_VALIDATION, field, "Email %s is not a valid format", email);
    return 0;
}

int access_user_add_as(struct store *s, const char *actor, const char *name, const char *email,
                       const char *fullname, bool sysadmin, json_t **user_out, struct err *err)
{
    return access_user_add_pw_as(s, actor, name, email, fullname, sysadmin, NULL, user_out, err);
}

int access_user_add_pw_as(struct store *s, const char *actor, const char *name, const char *email,
                          const char *fullname, bool sysadmin, const char *password,
                          json_t **user_out, struct err *err)
{
    char id[UUID_STR_LEN], now[TIME_ISO_MAX], hash[SECRET_PWHASH_MAX];
    struct store_user u = {0};
    json_t *old = NULL;
    bool began = false;
    int ret;

    if (user_out)
        *user_out = NULL;
    ret = user_name_check(name, err);
    if (ret)
        goto out;
    if (email && strlen(email) > LIMIT_FIELD_MAX) {
        ret = err_set(err, ERR_VALIDATION, "email", "email longer than %u bytes", LIMIT_FIELD_MAX);
        goto out;
    }
    ret = access_email_check("email", email, err);
    if (ret)
        goto out;
    if (fullname && strlen(fullname) > LIMIT_FIELD_MAX) {
        ret = err_set(err, ERR_VALIDATION, "fullname", "full name longer than %u bytes",
                      LIMIT_FIELD_MAX);
        goto out;
    }
    hash[0] = '\0';
    if (password) {
        /* Hashed before the transaction: argon2id takes a tenth of a second on purpose. */
        ret = access_password_hash(password, hash, err);
        if (ret)
            goto out;
    }
    ret = store_begin(s, err);
    if (ret)
        goto out;
    began = true;
    ret = store_user_get(s, name, &old, NULL);
    if (ret == 0) {
        /* CKAN's user name_validator message. */
        ret = err_set(err, ERR_CONFLICT, "name", "That login name is not available.");
        goto out;
    }
    if (ret != -ERR_NOT_FOUND) {
        ret = err_set(err, ERR_INTERNAL, NULL, "cannot look up user \"%s\"", name);
        goto out;
    }
    secret_uuid4(id);
    time_now_ckan(now);
    u.id = id;
    u.name = name;
    u.fullname = fullname;
    u.email = email;
    u.sysadmin = sysadmin;
    u.state = "active";
    u.password_hash = hash[0] ? hash : NULL;
    u.created = now;
    ret = store_user_put(s, &u, err);
    if (ret)
        goto out;
    /* The digest leaves out the e-mail address and the full name: the user's id and
     * creation time are public (creator_user_id, the entry's time), so a digest over
     * them would let anyone confirm a guessed address. */
    ret = access_record(s, "user_create", actor, NULL, json_pack("{s:s}", "user", name),
                        json_pack("{s:s, s:s, s:b, s:s, s:s}", "id", id, "name", name, "sysadmin",
                                  sysadmin, "state", "active", "created", now),
                        err);
    if (ret)
        goto out;
    ret = store_commit(s, err);
    if (ret)
        goto out;
    began = false;
    if (user_out)
        ret = store_user_get(s, id, user_out, err);
out:
    if (began)
        store_rollback(s);
    json_decref(old);
    return ret;
}

int access_token_create_as(struct store *s, const char *actor, const char *user_name,
                           const char *label, char token_out[TOKEN_STR_MAX],
                           char token_id_out[UUID_STR_LEN], struct err *err)
{
    char token[TOKEN_STR_MAX], hash[TOKEN_HASH_HEX_LEN], id[UUID_STR_LEN], now[TIME_ISO_MAX];
    json_t *user = NULL;
    bool began = false;
    int ret;

    token[0] = '\0';
    if (label && strlen(label) > LIMIT_FIELD_MAX) {
        ret = err_set(err, ERR_VALIDATION, "name", "token label longer than %u bytes",
                      LIMIT_FIELD_MAX);
        goto out;
    }
    ret = store_begin(s, err);
    if (ret)
        goto out;
    began = true;
    ret = store_user_get(s, user_name, &user, err);
    if (ret)
        goto out;
    if (!str_eq(json_string_value(json_object_get(user, "state")), "active")) {
        ret = err_set(err, ERR_NOT_FOUND, "user", "user \"%s\" not found", user_name);
        goto out;
    }
    secret_token_new(token);
    secret_token_hash(token, hash);
    secret_uuid4(id);
    time_now_ckan(now);
    ret = store_token_put(s, id, json_string_value(json_object_get(user, "id")), hash,
                          label ? label : "", now, err);
    if (ret)
        goto out;
    /* The token's id only: never the token, nor its hash (a hash of a token is enough
     * to test a guess, and the ledger is public forever). */
    ret = access_record(s, "token_create", actor, NULL,
                        json_pack("{s:s, s:s?}", "token", id, "user",
                                  json_string_value(json_object_get(user, "name"))),
                        json_pack("{s:s, s:s?, s:s, s:s}", "id", id, "user",
                                  json_string_value(json_object_get(user, "id")), "label",
                                  label ? label : "", "created", now),
                        err);
    if (ret)
        goto out;
    ret = store_commit(s, err);
    if (ret)
        goto out;
    began = false;
    xsnprintf(token_out, TOKEN_STR_MAX, "%s", token);
    xsnprintf(token_id_out, UUID_STR_LEN, "%s", id);
out:
    if (began)
        store_rollback(s);
    secret_wipe(token, sizeof(token));
    json_decref(user);
    return ret;
}

int access_token_revoke_as(struct store *s, const char *actor, const char *token_id,
                           struct err *err)
{
    bool began = false;
    int ret;

    if (!token_id || !*token_id) {
        ret = err_set(err, ERR_VALIDATION, "id", "missing value");
        goto out;
    }
    ret = store_begin(s, err);
    if (ret)
        goto out;
    began = true;
    ret = store_token_revoke(s, token_id, err);
    if (ret)
        goto out;
    ret = access_record(s, "token_revoke", actor, NULL, json_pack("{s:s}", "token", token_id),
                        json_pack("{s:s, s:s}", "id", token_id, "state", "revoked"), err);
    if (ret)
        goto out;
    ret = store_commit(s, err);
    if (!ret)
        began = false;
out:
    if (began)
        store_rollback(s);
    return ret;
}

int access_member_set_as(struct store *s, const char *actor, const char *org, const char *user_name,
                         const char *capacity, struct err *err)
{
    json_t *g = NULL, *user = NULL;
    bool began = false;
    int ret;

    if (capacity && capacity_parse(capacity) < 0) {
        ret = err_set(err, ERR_VALIDATION, "capacity", "unknown capacity \"%s\"", capacity);
        goto out;
    }
    ret = store_begin(s, err);
    if (ret)
        goto out;
    began = true;
    ret = store_group_get(s, true, org, &g, err);
    if (ret)
        goto out;
    ret = store_user_get(s, user_name, &user, err);
    if (ret)
        goto out;
    if (!capacity) {
        char cap[16];

        ret = store_member_get(s, json_string_value(json_object_get(g, "id")),
                               json_string_value(json_object_get(user, "id")), cap, sizeof(cap),
                               NULL);
        if (ret == -ERR_NOT_FOUND) {
            ret = err_set(err, ERR_NOT_FOUND, "user", "user \"%s\" is not a member of \"%s\"",
                          user_name, org);
            goto out;
        }
        if (ret) {
            ret = err_set(err, ERR_INTERNAL, NULL, "cannot look up the members of \"%s\"", org);
            goto out;
        }
    }
    ret = store_member_set(s, json_string_value(json_object_get(g, "id")),
                           json_string_value(json_object_get(user, "id")), capacity, err);
    if (ret)
        goto out;
    /* Removal too (capacity null): a lost membership is as public as a new one. */
    ret = access_record(
            s, "member_set", actor, json_string_value(json_object_get(g, "name")),
            json_pack("{s:s?, s:s?}", "organization", json_string_value(json_object_get(g, "id")),
                      "user", json_string_value(json_object_get(user, "name"))),
            json_pack("{s:s?, s:s?, s:s?}", "organization",
                      json_string_value(json_object_get(g, "id")), "user",
                      json_string_value(json_object_get(user, "id")), "capacity", capacity),
            err);
    if (ret)
        goto out;
    ret = store_commit(s, err);
    if (!ret)
        began = false;
out:
    if (began)
        store_rollback(s);
    json_decref(g);
    json_decref(user);
    return ret;
}

/* ---- roles ---- */

bool role_valid(const char *s)
{
    return str_eq(s, ROLE_APPROVER) || str_eq(s, ROLE_AUDITOR) || str_eq(s, ROLE_GRANTEE);
}

bool actor_has_role(const struct actor *a, const char *role, const char *org_id)
{
    size_t i;
    json_t *r;

    if (!a || !a->authenticated || !role)
        return false;
    json_array_foreach (a->roles, i, r) {
        const char *o = json_string_value(json_object_get(r, "organization"));

        if (!str_eq(json_string_value(json_object_get(r, "role")), role))
            continue;
        if (!o || !org_id || str_eq(o, org_id))
            return true;
    }
    return false;
}

int access_approver_check(const struct actor *a, const char *org_id, const char *requester,
                          struct err *err)
{
    if (!a || !a->authenticated)
        return err_set(err, ERR_AUTH, NULL, "anonymous users may not approve");
    if (!org_id || !actor_has_role(a, ROLE_APPROVER, org_id))
        return err_set(err, ERR_AUTH, NULL, "user \"%s\" is not an approver of this organization",
                       a->name);
    if (requester && str_eq(requester, a->name))
        return err_set(err, ERR_AUTH, NULL, "user \"%s\" may not approve their own request",
                       a->name);
    return 0;
}

/* Whether by may give or take role in the organization g (NULL: portal-wide) to or from
 * the user named user_name. */
static int role_set_allowed(const struct actor *by, const char *role, json_t *g,
                            const char *user_name, struct err *err)
{
    const char *org_id = g ? json_string_value(json_object_get(g, "id")) : NULL;

    if (!by || !by->authenticated)
        return err_set(err, ERR_AUTH, NULL, "anonymous users may not change roles");
    if (by->sysadmin)
        return 0;
    if (!g || str_eq(role, ROLE_GRANTEE))
        return err_set(err, ERR_AUTH, NULL,
                       "only a sysadmin may change portal-wide roles and grantee accounts");
    if (actor_capacity(by, org_id) < CAPACITY_ADMIN)
        return err_set(err, ERR_AUTH, NULL, "user \"%s\" is not an admin of \"%s\"", by->name,
                       json_string_value(json_object_get(g, "name")));
    if (str_eq(by->name, user_name))
        return err_set(err, ERR_AUTH, NULL, "user \"%s\" may not change their own roles", by->name);
    return 0;
}

int access_role_set_as(struct store *s, const struct actor *by, const char *user_name,
                       const char *role, const char *org, bool on, struct err *err)
{
    json_t *g = NULL, *user = NULL;
    const char *org_id = NULL, *org_name = NULL;
    bool began = false;
    int ret;

    if (!role || !*role) {
        ret = err_set(err, ERR_VALIDATION, "role", "missing value");
        goto out;
    }
    if (!role_valid(role)) {
        ret = err_set(err, ERR_VALIDATION, "role",
                      "unknown role \"%.100s\" (expected approver, auditor or grantee)", role);
        goto out;
    }
    if (!user_name || !*user_name) {
        ret = err_set(err, ERR_VALIDATION, "user", "missing value");
        goto out;
    }
    if (org && !*org)
        org = NULL;
    if (org && str_eq(role, ROLE_GRANTEE)) {
        ret = err_set(err, ERR_VALIDATION, "organization",
                      "the grantee role is portal-wide: give no organization");
        goto out;
    }
    if (!org && str_eq(role, ROLE_APPROVER)) {
        ret = err_set(err, ERR_VALIDATION, "organization",
                      "an approver is of one organization: give \"organization\"");
        goto out;
    }
    if (!by || !by->authenticated) {
        ret = err_set(err, ERR_AUTH, NULL, "anonymous users may not change roles");
        goto out;
    }
    ret = store_begin(s, err);
    if (ret)
        goto out;
    began = true;
    if (org) {
        ret = store_group_get(s, true, org, &g, NULL);
        if (ret == -ERR_NOT_FOUND ||
            (!ret && !str_eq(json_string_value(json_object_get(g, "state")), "active"))) {
            ret = err_set(err, ERR_NOT_FOUND, "organization", "organization \"%s\" not found", org);
            goto out;
        }
        if (ret) {
            ret = err_set(err, ERR_INTERNAL, NULL, "cannot look up organization \"%s\"", org);
            goto out;
        }
        org_id = json_string_value(json_object_get(g, "id"));
        org_name = json_string_value(json_object_get(g, "name"));
    }
    ret = role_set_allowed(by, role, g, user_name, err);
    if (ret)
        goto out;
    ret = store_user_get(s, user_name, &user, NULL);
    if (ret == -ERR_NOT_FOUND ||
        (!ret && !str_eq(json_string_value(json_object_get(user, "state")), "active"))) {
        ret = err_set(err, ERR_NOT_FOUND, "user", "user \"%s\" not found", user_name);
        goto out;
    }
    if (ret) {
        ret = err_set(err, ERR_INTERNAL, NULL, "cannot look up user \"%s\"", user_name);
        goto out;
    }
    ret = store_role_set(s, json_string_value(json_object_get(user, "id")), role, org_id, on, err);
    if (ret == -ERR_NOT_FOUND)
        ret = err_set(err, ERR_NOT_FOUND, "role", "user \"%s\" has no role \"%s\"%s%s", user_name,
                      role, org_name ? " in " : "", org_name ? org_name : "");
    if (ret)
        goto out;
    ret = access_record(s, "role_set", by->name, org_name,
                        json_pack("{s:s?, s:s, s:s*}", "user",
                                  json_string_value(json_object_get(user, "name")), "role", role,
                                  "organization", org_id),
                        json_pack("{s:s?, s:s, s:s?, s:b}", "user",
                                  json_string_value(json_object_get(user, "id")), "role", role,
                                  "organization", org_id, "held", on),
                        err);
    if (ret)
        goto out;
    ret = store_commit(s, err);
    if (!ret)
        began = false;
out:
    if (began)
        store_rollback(s);
    json_decref(g);
    json_decref(user);
    return ret;
}

/* ---- acting as the command line (NEEDSWORK: see access.h) ---- */

int access_user_add(struct store *s, const char *name, const char *email, const char *fullname,
                    bool sysadmin, json_t **user_out, struct err *err)
{
    return access_user_add_as(s, ACCESS_CLI_ACTOR, name, email, fullname, sysadmin, user_out, err);
}

int access_token_create(struct store *s, const char *user_name, const char *label,
                        char token_out[TOKEN_STR_MAX], char token_id_out[UUID_STR_LEN],
                        struct err *err)
{
    return access_token_create_as(s, ACCESS_CLI_ACTOR, user_name, label, token_out, token_id_out,
                                  err);
}

int access_token_revoke(struct store *s, const char *token_id, struct err *err)
{
    return access_token_revoke_as(s, ACCESS_CLI_ACTOR, token_id, err);
}

int access_member_set(struct store *s, const char *org, const char *user_name, const char *capacity,
                      struct err *err)
{
    return access_member_set_as(s, ACCESS_CLI_ACTOR, org, user_name, capacity, err);
}
