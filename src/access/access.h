/*
 * access.h - who is asking, and what they may do: users, API tokens, organization roles.
 *
 * Roles follow CKAN's authorization model (CKAN docs, "Organizations and authorization"):
 * a sysadmin may do anything; in an organization, "admin" manages members and datasets,
 * "editor" creates, edits and deletes datasets, "member" may read the organization's
 * private datasets. Anyone, signed in or not, reads public active datasets.
 */
#ifndef KAIFANG_ACCESS_ACCESS_H
#define KAIFANG_ACCESS_ACCESS_H

#include <jansson.h>
#include <stdbool.h>

#include "core/err.h"
#include "crypto/secret.h"
#include "store/store.h"

enum capacity {
    CAPACITY_NONE = 0,
    CAPACITY_MEMBER = 1,
    CAPACITY_EDITOR = 2,
    CAPACITY_ADMIN = 3,
};

/* The caller of an action. Anonymous: authenticated false, id/name empty. */
struct actor {
    bool authenticated;
    bool sysadmin;
    char id[UUID_STR_LEN];
    char name[128];
    json_t *memberships; /* owned: array of {"id": org id, "capacity": "admin"|…}, or NULL */
};

#define ACTOR_ANONYMOUS                                                                            \
    {                                                                                              \
        false, false, "", "", NULL                                                                 \
    }

/*
 * Resolves the Authorization header value (CKAN accepts the bare token, and Kaifang
 * also "Bearer <token>"). header NULL or empty: anonymous, returns 0. A token that does
 * not match an active user: -ERR_AUTH ("invalid API token"). Fills *a; release with
 * actor_release().
 */
int access_actor_from_token(struct store *s, const char *header, struct actor *a, struct err *err);

/* Loads the actor for a user name (the CLI acts as a named user). -ERR_NOT_FOUND. */
int access_actor_from_user(struct store *s, const char *name, struct actor *a, struct err *err);

void actor_release(struct actor *a);

/* The actor's capacity in an organization (CAPACITY_ADMIN for sysadmins). */
enum capacity actor_capacity(const struct actor *a, const char *org_id);

/* "admin" | "editor" | "member" → enum; -1 for anything else. */
int capacity_parse(const char *s);
const char *capacity_name(enum capacity c);

/*
 * Checks the shape of an e-mail address, for users and for the e-mail fields of
 * datasets alike (CKAN 2.10's email_validator is a regular expression of the same
 * spirit): one '@' with something before it, a dot after it (not right after the '@'
 * nor at the end), no white space or <>,;". NULL or "" passes (the field is optional).
 * -ERR_VALIDATION naming field: "Email <address> is not a valid format". Pure.
 */
int access_email_check(const char *field, const char *email, struct err *err);

/*
 * Creates a user. name must follow CKAN's user name rules (2..100 of a-z0-9_-); email,
 * when given, must pass access_email_check().
 * -ERR_CONFLICT when the name is taken. *user_out (may be NULL): new reference to the
 * user object as store_user_get returns it. One store transaction.
 */
int access_user_add(struct store *s, const char *name, const char *email, const char *fullname,
                    bool sysadmin, json_t **user_out, struct err *err);

/*
 * Creates an API token for a user and writes it to token_out (TOKEN_STR_MAX). Only its
 * hash is stored; the token cannot be shown again. -ERR_NOT_FOUND for an unknown user.
 */
int access_token_create(struct store *s, const char *user_name, const char *label,
                        char token_out[TOKEN_STR_MAX], char token_id_out[UUID_STR_LEN],
                        struct err *err);

/* Revokes a token by id. -ERR_NOT_FOUND ("token \"<id>\" not found") when no active
 * token has that id, also when it was revoked already. */
int access_token_revoke(struct store *s, const char *token_id, struct err *err);

/* Makes a user a member of an organization (by id or name) with a capacity, or removes
 * them (capacity NULL): removing someone who is not a member is -ERR_NOT_FOUND,
 * "user \"<user>\" is not a member of \"<org>\"". One transaction. */
int access_member_set(struct store *s, const char *org, const char *user_name, const char *capacity,
                      struct err *err);

#endif
