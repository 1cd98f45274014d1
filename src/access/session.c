/*
 * session.c - passwords (argon2id through crypto/secret.c) and the web pages' sessions:
 * sign in, the actor of a session cookie, sign out (access.h; docs/internals/access.md,
 * "Web sessions"). Session ids and CSRF tokens are 256-bit random strings; the store
 * keeps the hash of the id, never the id.
 */
#include <jansson.h>
#include <pthread.h>
#include <string.h>

#include "access/access.h"
#include "core/limits.h"
#include "core/timeutil.h"
#include "ledger/ledger.h"
#include "core/util.h"

int access_password_hash(const char *password, char hash[SECRET_PWHASH_MAX], struct err *err)
{
    size_t len = password ? strlen(password) : 0;

    hash[0] = '\0';
    if (len < ACCESS_PASSWORD_MIN)
        return err_set(err, ERR_VALIDATION, "password", "password shorter than %u characters",
                       ACCESS_PASSWORD_MIN);
    if (len > ACCESS_PASSWORD_MAX)
        return err_set(err, ERR_VALIDATION, "password", "password longer than %u bytes",
                       ACCESS_PASSWORD_MAX);
    if (secret_password_hash(password, len, hash))
        return err_set(err, ERR_INTERNAL, NULL, "cannot hash the password (out of memory)");
    return 0;
}

int access_password_set_as(struct store *s, const struct actor *by, const char *user_name,
                           const char *password, struct err *err)
{
    char hash[SECRET_PWHASH_MAX], now[TIME_ISO_MAX];
    struct err e = ERR_INIT;
    json_t *user = NULL, *objects = NULL, *digest = NULL;
    const char *uid;
    bool began = false;
    int ret;

    hash[0] = '\0';
    if (!by || !by->authenticated) {
        ret = err_set(err, ERR_AUTH, NULL, "anonymous users may not set passwords");
        goto out;
    }
    if (!by->sysadmin && !str_eq(by->name, user_name)) {
        ret = err_set(err, ERR_AUTH, NULL, "user \"%s\" may not set the password of \"%s\"",
                      by->name, user_name ? user_name : "");
        goto out;
    }
    if (password) {
        ret = access_password_hash(password, hash, err);
        if (ret)
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
    uid = json_string_value(json_object_get(user, "id"));
    ret = store_user_password_set(s, uid, password ? hash : NULL, err);
    /* A new password ends the sessions the old one opened (someone may have guessed it). */
    if (!ret)
        ret = store_session_delete(s, NULL, uid, err);
    if (ret)
        goto out;
    time_now_ckan(now);
    objects = json_pack("{s:s}", "user", json_string_value(json_object_get(user, "name")));
    digest = json_pack("{s:s, s:s, s:s}", "user", uid, "password", password ? "set" : "removed",
                       "time", now);
    ret = ledger_record(s, "user_password_set", by->name, NULL, objects, digest, NULL, &e);
    if (ret) {
        ret = err_set(err, ERR_INTERNAL, NULL,
                      "cannot record \"user_password_set\" in the ledger: %s", e.msg);
        goto out;
    }
    ret = store_commit(s, err);
    began = false;
out:
    if (began)
        store_rollback(s);
    secret_wipe(hash, sizeof(hash));
    json_decref(objects);
    json_decref(digest);
    json_decref(user);
    return ret;
}

/* A fixed argon2id hash to verify against when the name is unknown or has no password,
 * made once per process: the answer then takes as long as for a real user. */
static pthread_once_t dummy_once = PTHREAD_ONCE_INIT;
static char dummy_hash[SECRET_PWHASH_MAX];

static void dummy_init(void)
{
    char pw[TOKEN_STR_MAX];

    secret_token_new(pw);
    if (secret_password_hash(pw, strlen(pw), dummy_hash))
        dummy_hash[0] = '\0';
    secret_wipe(pw, sizeof(pw));
}

int access_session_create(struct store *s, const char *name, const char *password, int64_t now,
                          char sid[TOKEN_STR_MAX], char csrf[TOKEN_STR_MAX], struct err *err)
{
    char hash[TOKEN_HASH_HEX_LEN];
    struct err e = ERR_INIT;
    json_t *user = NULL;
    char *stored = NULL;
    size_t plen = password ? strlen(password) : 0;
    bool began = false, good;
    int ret;

    sid[0] = csrf[0] = '\0';
    pthread_once(&dummy_once, dummy_init);
    if (!name || !*name || strlen(name) > LIMIT_FIELD_MAX || plen > ACCESS_PASSWORD_MAX) {
        ret = err_set(err, ERR_AUTH, NULL, "wrong user name or password");
        goto out;
    }
    /* Its own err: "user not found" must not become the message (the first error wins). */
    ret = store_user_password_get(s, name, &user, &stored, &e);
    if (ret && ret != -ERR_NOT_FOUND) {
        ret = err_set(err, e.kind, NULL, "%s", e.msg);
        goto out;
    }
    good = secret_password_verify(stored ? stored : dummy_hash, password ? password : "", plen);
    if (ret || !stored || !good) {
        ret = err_set(err, ERR_AUTH, NULL, "wrong user name or password");
        goto out;
    }
    secret_token_new(sid);
    secret_token_new(csrf);
    secret_token_hash(sid, hash);
    ret = store_begin(s, err);
    if (ret)
        goto out;
    began = true;
    ret = store_session_put(s, hash, json_string_value(json_object_get(user, "id")), csrf,
                            now + ACCESS_SESSION_SECONDS, now, err);
    if (ret)
        goto out;
    ret = store_commit(s, err);
    began = false;
out:
    if (began)
        store_rollback(s);
    if (ret) {
        secret_wipe(sid, TOKEN_STR_MAX);
        secret_wipe(csrf, TOKEN_STR_MAX);
        sid[0] = csrf[0] = '\0';
    }
    free(stored);
    json_decref(user);
    return ret;
}

/* A session id as secret_token_new() makes them: "kf_" and URL-safe base64. */
static bool sid_wellformed(const char *sid)
{
    size_t len = sid ? strlen(sid) : 0;

    if (len < 4 || len >= TOKEN_STR_MAX || strncmp(sid, "kf_", 3))
        return false;
    for (size_t i = 3; i < len; i++)
        if (!((sid[i] >= 'a' && sid[i] <= 'z') || (sid[i] >= 'A' && sid[i] <= 'Z') ||
              (sid[i] >= '0' && sid[i] <= '9') || sid[i] == '-' || sid[i] == '_'))
            return false;
    return true;
}

int access_actor_from_session(struct store *s, const char *sid, int64_t now, struct actor *a,
                              char csrf[TOKEN_STR_MAX], struct err *err)
{
    char hash[TOKEN_HASH_HEX_LEN];
    struct err e = ERR_INIT;
    json_t *user = NULL;
    char *token = NULL;
    int ret;

    csrf[0] = '\0';
    a->authenticated = false;
    a->sysadmin = false;
    a->id[0] = a->name[0] = '\0';
    a->memberships = a->roles = NULL;
    if (!sid_wellformed(sid)) {
        ret = err_set(err, ERR_AUTH, NULL, "session ended");
        goto out;
    }
    secret_token_hash(sid, hash);
    ret = store_session_get(s, hash, now, &user, &token, &e);
    if (ret == -ERR_NOT_FOUND || (!ret && (!token || strlen(token) >= TOKEN_STR_MAX))) {
        ret = err_set(err, ERR_AUTH, NULL, "session ended");
        goto out;
    }
    if (ret) {
        ret = err_set(err, e.kind, NULL, "%s", e.msg);
        goto out;
    }
    ret = access_actor_fill(s, user, a, err);
    if (!ret)
        xsnprintf(csrf, TOKEN_STR_MAX, "%s", token);
out:
    free(token);
    json_decref(user);
    return ret;
}

int access_session_end(struct store *s, const char *sid, struct err *err)
{
    char hash[TOKEN_HASH_HEX_LEN];
    int ret;

    if (!sid_wellformed(sid))
        return 0;
    secret_token_hash(sid, hash);
    ret = store_begin(s, err);
    if (ret)
        return ret;
    ret = store_session_delete(s, hash, NULL, err);
    if (ret) {
        store_rollback(s);
        return ret;
    }
    return store_commit(s, err);
}
