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
#include <stdint.h>

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
    json_t *roles;       /* owned: array of {"role", "organization": id or null}, or NULL */
};

#define ACTOR_ANONYMOUS                                                                            \
    {                                                                                              \
        false, false, "", "", NULL, NULL                                                           \
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

/* Fills *a (reset by the caller) for a user object as store_user_get gives it: its
 * memberships and roles from the store. -ERR_INTERNAL for a malformed record. */
int access_actor_fill(struct store *s, json_t *user, struct actor *a, struct err *err);

/* The actor's capacity in an organization (CAPACITY_ADMIN for sysadmins). */
enum capacity actor_capacity(const struct actor *a, const char *org_id);

/* "admin" | "editor" | "member" → enum; -1 for anything else. */
int capacity_parse(const char *s);
const char *capacity_name(enum capacity c);

/*
 * Roles beside the organization capacities (issue 8; docs/internals/access.md):
 *   "approver"  of an organization: approves or refuses the requests of others (grants on
 *               its restricted datasets, privacy overrides, fee schedules); never their
 *               own (the two-person rule). A sysadmin is no approver unless given the role.
 *   "auditor"   of an organization or of the whole portal: reads what the audit needs.
 *   "grantee"   portal-wide: an outside operator's account, the only kind a grant names.
 * A portal-wide role (organization NULL) counts in every organization.
 */
#define ROLE_APPROVER "approver"
#define ROLE_AUDITOR  "auditor"
#define ROLE_GRANTEE  "grantee"

/* True when s is one of the three role names. */
bool role_valid(const char *s);

/* True when the signed-in actor holds role in organization org_id (an id), or portal-wide;
 * org_id NULL: held portal-wide or in any organization. Anonymous: false. Pure. */
bool actor_has_role(const struct actor *a, const char *role, const char *org_id);

/*
 * The approver check, for every approval Kaifang knows (grants, privacy overrides, fee
 * schedules): 0 when a holds the "approver" role of organization org_id (its id) or
 * portal-wide, and is not requester (the user name that made the request: the two-person
 * rule, DESIGN.md "approver ... never their own request"). Otherwise -ERR_AUTH with the
 * reason ("user \"bob\" is not an approver of this organization", "user \"bob\" may not
 * approve their own request"). requester NULL: no request to compare with. Pure.
 */
int access_approver_check(const struct actor *a, const char *org_id, const char *requester,
                          struct err *err);

/*
 * Gives (on) or takes away a role of user_name. org: the organization's id or name, or
 * NULL / "" for portal-wide. Who may: a sysadmin, any role; an admin of org, "approver"
 * and "auditor" in org, to anyone but themselves. "grantee" is portal-wide only,
 * "approver" is of one organization only. -ERR_AUTH, -ERR_VALIDATION (field "role" or
 * "organization"), -ERR_NOT_FOUND (user, organization; taking a role not held). One
 * transaction. Ledger: "role_set", org the organization's name (absent portal-wide),
 * objects {"user": name, "role", "organization": id (absent portal-wide)}, digest of
 * {user (id), role, organization (id or null), held (bool)}.
 */
int access_role_set_as(struct store *s, const struct actor *by, const char *user_name,
                       const char *role, const char *org, bool on, struct err *err);

/*
 * Checks the shape of an e-mail address, for users and for the e-mail fields of
 * datasets alike (CKAN 2.10's email_validator is a regular expression of the same
 * spirit): one '@' with something before it, a dot after it (not right after the '@'
 * nor at the end), no white space or <>,;". NULL or "" passes (the field is optional).
 * -ERR_VALIDATION naming field: "Email <address> is not a valid format". Pure.
 */
int access_email_check(const char *field, const char *email, struct err *err);

/*
 * The write functions below each run in one store transaction and stage exactly one
 * ledger entry in it (ledger_record(); docs/internals/ledger-entries.md lists the types):
 * user_create, token_create, token_revoke, member_set. On any error nothing changes and
 * no entry is staged; a ledger failure is -ERR_INTERNAL. actor is the name of the user
 * who acts (not NULL, not empty: BUG_ON otherwise, as an entry without its actor would
 * corrupt the ledger). Entries hold ids and names only: e-mail addresses and full names
 * go into the entry's digest input, never into a field; tokens are recorded by id,
 * never the token or its hash.
 */

/*
 * Creates a user. name must follow CKAN's user name rules (2..100 of a-z0-9_-) and may
 * not be "public" (the ledger's actor for anonymous callers); email, when given, must
 * pass access_email_check().
 * -ERR_CONFLICT when the name is taken. *user_out (may be NULL): new reference to the
 * user object as store_user_get returns it. One store transaction.
 * Ledger: "user_create", objects {"user": name}, digest of {id, name, fullname, email,
 * sysadmin, state, created}.
 */
int access_user_add_as(struct store *s, const char *actor, const char *name, const char *email,
                       const char *fullname, bool sysadmin, json_t **user_out, struct err *err);

/* As access_user_add_as(), with a password (NULL: none) checked by
 * access_password_hash() and stored as its argon2id hash in the same transaction; the
 * ledger entry is the same "user_create" (a password is never in the ledger). */
int access_user_add_pw_as(struct store *s, const char *actor, const char *name, const char *email,
                          const char *fullname, bool sysadmin, const char *password,
                          json_t **user_out, struct err *err);

/* ---- Passwords and web sessions (session.c; docs/internals/access.md) ------------------
 *
 * The web pages sign a user in with a password (argon2id, secret_password_hash()) and
 * keep them signed in with a session: a random id (LIMIT_TOKEN_BYTES, 256 bits) in an
 * HttpOnly cookie, stored only as its BLAKE2b hash with its user, its end and its CSRF
 * token (OWASP's synchronizer token pattern), so that every server of a portal sharing
 * a store knows it (issue 9). Sessions are not on the ledger: signing in changes no
 * catalog object, and who reads the portal when is nobody's business. */

/* How long a session lasts from sign-in (seconds): a working day. */
#define ACCESS_SESSION_SECONDS (8 * 3600)

/* A password's length in bytes: at least 8 (NIST SP 800-63B §5.1.1.2), at most 1,024
 * (argon2id reads all of it). */
#define ACCESS_PASSWORD_MIN 8u
#define ACCESS_PASSWORD_MAX 1024u

/* Checks a new password (length, no NUL: it is a C string) and hashes it into hash
 * (SECRET_PWHASH_MAX). -ERR_VALIDATION naming "password" (the message never holds it),
 * -ERR_INTERNAL when argon2id cannot get its memory. */
int access_password_hash(const char *password, char hash[SECRET_PWHASH_MAX], struct err *err);

/*
 * Sets (password) or removes (NULL) the password of user_name. Who may: a sysadmin, or
 * the user themselves (actor == user_name). One transaction; the user's web sessions
 * end with it. Ledger: "user_password_set", objects {"user": name}, digest of {user
 * (id), "password": "set" | "removed", time} (never the password or its hash).
 * -ERR_NOT_FOUND, -ERR_VALIDATION, -ERR_AUTH.
 */
int access_password_set_as(struct store *s, const struct actor *by, const char *user_name,
                           const char *password, struct err *err);

/*
 * Signs in: checks password against name's stored hash (argon2id verify; an unknown
 * name or a user without a password is verified against a dummy hash so that the time
 * does not tell which), then stores a new session ending at now + ACCESS_SESSION_SECONDS
 * (Unix seconds). Writes the session id (for the cookie) into sid and its CSRF token into
 * csrf (both TOKEN_STR_MAX). -ERR_AUTH "wrong user name or password" for any mismatch
 * (never which one), -ERR_INTERNAL. One transaction.
 */
int access_session_create(struct store *s, const char *name, const char *password, int64_t now,
                          char sid[TOKEN_STR_MAX], char csrf[TOKEN_STR_MAX], struct err *err);

/* The actor of a session id (the cookie's value) at now (Unix seconds), and its CSRF
 * token into csrf (TOKEN_STR_MAX). -ERR_AUTH "session ended" for an unknown, ended or
 * malformed id, or a user no longer active. Release the actor with actor_release(). */
int access_actor_from_session(struct store *s, const char *sid, int64_t now, struct actor *a,
                              char csrf[TOKEN_STR_MAX], struct err *err);

/* Ends a session (signs out): deletes it from the store. An unknown id is no error. One
 * transaction. */
int access_session_end(struct store *s, const char *sid, struct err *err);

/*
 * Creates an API token for a user and writes it to token_out (TOKEN_STR_MAX). Only its
 * hash is stored; the token cannot be shown again. -ERR_NOT_FOUND for an unknown user.
 * Ledger: "token_create", objects {"token": id, "user": name}, digest of {id, user (id),
 * label, created}.
 */
int access_token_create_as(struct store *s, const char *actor, const char *user_name,
                           const char *label, char token_out[TOKEN_STR_MAX],
                           char token_id_out[UUID_STR_LEN], struct err *err);

/* Revokes a token by id. -ERR_NOT_FOUND ("token \"<id>\" not found") when no active
 * token has that id, also when it was revoked already.
 * Ledger: "token_revoke", objects {"token": id}, digest of {id, state "revoked"}. */
int access_token_revoke_as(struct store *s, const char *actor, const char *token_id,
                           struct err *err);

/* Makes a user a member of an organization (by id or name) with a capacity, or removes
 * them (capacity NULL): removing someone who is not a member is -ERR_NOT_FOUND,
 * "user \"<user>\" is not a member of \"<org>\"". One transaction.
 * Ledger: "member_set", org the organization's name, objects {"organization": id,
 * "user": name}, digest of {organization (id), user (id), capacity (null: removed)}. */
int access_member_set_as(struct store *s, const char *actor, const char *org, const char *user_name,
                         const char *capacity, struct err *err);

/* ---- The account pages (account.c; docs/internals/access.md, "Account pages") ------- */

/*
 * Disables (active false: state "deleted", as CKAN's user_delete) or enables again a user.
 * Only a sysadmin; nobody disables themselves (-ERR_VALIDATION, field "user"). A disabled
 * user's sessions end in the same transaction; its API tokens stop working (they resolve
 * active users only); its roles, memberships and tokens stay for when it is enabled.
 * -ERR_AUTH, -ERR_NOT_FOUND, -ERR_CONFLICT (already in that state). One transaction.
 * Ledger: "user_state_set", objects {"user": name}, digest of {user (id), state}.
 */
int access_user_state_set_as(struct store *s, const struct actor *by, const char *user_name,
                             bool active, struct err *err);

/* The API tokens of user_name (by: that user or a sysadmin) as store_token_list() gives
 * them: [{"id", "label", "created"}], never a token. *tokens new reference. -ERR_AUTH,
 * -ERR_NOT_FOUND. */
int access_token_list_as(struct store *s, const struct actor *by, const char *user_name,
                         json_t **tokens, struct err *err);

/* Revokes token_id when it is one of user_name's tokens (by: that user or a sysadmin),
 * as access_token_revoke_as() (ledger "token_revoke"). -ERR_NOT_FOUND for a token of
 * someone else, as for one that does not exist. */
int access_token_revoke_own_as(struct store *s, const struct actor *by, const char *user_name,
                               const char *token_id, struct err *err);

/* Checks name's current password (argon2id verify), before a change of password on the
 * account page. 0, or -ERR_AUTH (field "old_password") when it does not match or the user
 * has none, -ERR_INTERNAL. Reads only. */
int access_password_check(struct store *s, const char *name, const char *password, struct err *err);

/* Every user (by: a sysadmin) as store_user_list() gives them. -ERR_AUTH otherwise. */
int access_user_list_as(struct store *s, const struct actor *by, json_t **users, struct err *err);

/* The members of organization org_id (its id) as a new array of {"name", "capacity",
 * "state"} ordered by name. Reads only; the caller checked who may see them. */
int access_org_members(struct store *s, const char *org_id, json_t **members, struct err *err);

/* The roles held in organization org_id (its id) or portal-wide, as store_role_list()
 * gives them ({"user", "role", "organization": id or null}). Reads only. */
int access_org_roles(struct store *s, const char *org_id, json_t **roles, struct err *err);

/* The command line's user (src/cli acts as this sysadmin account). */
#define ACCESS_CLI_ACTOR "kaifang-cli"

/* The same four, acting as ACCESS_CLI_ACTOR.
 * NEEDSWORK: only src/cli calls these; once it passes its actor to the _as forms
 * (which HTTP callers must use), they go. */
int access_user_add(struct store *s, const char *name, const char *email, const char *fullname,
                    bool sysadmin, json_t **user_out, struct err *err);
int access_token_create(struct store *s, const char *user_name, const char *label,
                        char token_out[TOKEN_STR_MAX], char token_id_out[UUID_STR_LEN],
                        struct err *err);
int access_token_revoke(struct store *s, const char *token_id, struct err *err);
int access_member_set(struct store *s, const char *org, const char *user_name, const char *capacity,
                      struct err *err);

#endif
