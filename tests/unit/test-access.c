/*
 * test-access.c - users, API tokens and organization roles against a real store in a
 * temporary directory, and the ledger entry of each of their writes.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>
#include <jansson.h>

#include "access/access.h"
#include "core/limits.h"
#include "crypto/digest.h"
#include "ledger/ledger.h"
#include "store/store-int.h" /* store_fail_count_reset() for failure injection */
#include "core/util.h"
#include "unit-util.h"

static int setup(void **state)
{
    secret_init();
    return unit_store_setup(state, "access");
}

static int teardown(void **state)
{
    return unit_store_teardown(state);
}

static void add_org(struct store *s, const char *id, const char *name)
{
    struct err err = ERR_INIT;
    struct store_group g = {0};
    json_t *doc = json_pack("{s:s, s:s, s:s, s:s}", "id", id, "name", name, "title", name, "state",
                            "active");

    g.id = id;
    g.name = name;
    g.is_organization = true;
    g.state = "active";
    g.doc = doc;
    assert_int_equal(store_begin(s, &err), 0);
    assert_int_equal(store_group_put(s, &g, &err), 0);
    assert_int_equal(store_commit(s, &err), 0);
    json_decref(doc);
}

static void test_user_names(void **state)
{
    struct unit_store *f = *state;
    static const char *const bad[] = {"a", "Bob", "bob!", "张三", "bob smith", ""};
    char longname[LIMIT_USER_NAME_MAX + 2];
    json_t *u = NULL;

    for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
        struct err err = ERR_INIT;

        assert_int_equal(access_user_add(f->s, bad[i], NULL, NULL, false, &u, &err),
                         -ERR_VALIDATION);
        assert_string_equal(err.field, "name");
        assert_null(u);
    }
    memset(longname, 'a', sizeof(longname) - 1);
    longname[sizeof(longname) - 1] = '\0';
    {
        struct err err = ERR_INIT;

        assert_int_equal(access_user_add(f->s, longname, NULL, NULL, false, NULL, &err),
                         -ERR_VALIDATION);
    }
    longname[LIMIT_USER_NAME_MAX] = '\0';
    {
        struct err err = ERR_INIT;

        assert_int_equal(access_user_add(f->s, longname, NULL, NULL, false, NULL, &err), 0);
    }
    {
        struct err err = ERR_INIT;

        assert_int_equal(
                access_user_add(f->s, "li-wei_2", "li@example.org", "Li Wei", false, &u, &err), 0);
        assert_string_equal(json_string_value(json_object_get(u, "name")), "li-wei_2");
        assert_false(json_is_true(json_object_get(u, "sysadmin")));
        assert_null(json_object_get(u, "password_hash"));
        json_decref(u);
        u = NULL;
    }
    {
        struct err err = ERR_INIT;

        assert_int_equal(access_user_add(f->s, "li-wei_2", NULL, NULL, false, &u, &err),
                         -ERR_CONFLICT);
        assert_string_equal(err.field, "name");
        assert_null(u);
    }
}

/* Whether the bytes of needle occur in a file. */
static bool file_contains(const char *path, const char *needle)
{
    FILE *fp = fopen(path, "rb");
    char *data;
    long len;
    bool found = false;

    if (!fp)
        return false;
    fseek(fp, 0, SEEK_END);
    len = ftell(fp);
    fseek(fp, 0, SEEK_SET);
    data = xmalloc((size_t)len + 1);
    if (fread(data, 1, (size_t)len, fp) == (size_t)len)
        found = memmem(data, (size_t)len, needle, strlen(needle)) != NULL;
    free(data);
    fclose(fp);
    return found;
}

static void test_tokens(void **state)
{
    struct unit_store *f = *state;
    struct err err = ERR_INIT;
    char token[TOKEN_STR_MAX], tid[UUID_STR_LEN], hash[TOKEN_HASH_HEX_LEN], *bearer, *wal;
    struct actor a = ACTOR_ANONYMOUS;

    assert_int_equal(access_user_add(f->s, "publisher", NULL, NULL, false, NULL, &err), 0);
    assert_int_equal(access_token_create(f->s, "publisher", "ci", token, tid, &err), 0);
    assert_true(starts_with(token, "kf_"));

    /* Bare token (CKAN) and "Bearer" both work. */
    assert_int_equal(access_actor_from_token(f->s, token, &a, &err), 0);
    assert_true(a.authenticated);
    assert_false(a.sysadmin);
    assert_string_equal(a.name, "publisher");
    actor_release(&a);
    bearer = xstrfmt("Bearer %s", token);
    assert_int_equal(access_actor_from_token(f->s, bearer, &a, &err), 0);
    assert_string_equal(a.name, "publisher");
    actor_release(&a);

    /* No header: anonymous. */
    assert_int_equal(access_actor_from_token(f->s, NULL, &a, &err), 0);
    assert_false(a.authenticated);
    assert_int_equal(access_actor_from_token(f->s, "", &a, &err), 0);
    assert_false(a.authenticated);

    /* Only the hash is stored: the token text is in neither the database nor its WAL. */
    secret_token_hash(token, hash);
    wal = xstrfmt("%s-wal", f->path);
    assert_false(file_contains(f->path, token));
    assert_false(file_contains(wal, token));
    assert_true(file_contains(f->path, hash) || file_contains(wal, hash));
    free(wal);

    /* A wrong token is an authorization error, not anonymous. */
    {
        struct err e2 = ERR_INIT;

        assert_int_equal(access_actor_from_token(f->s, "kf_not-a-token", &a, &e2), -ERR_AUTH);
        assert_string_equal(e2.msg, "invalid API token");
        assert_false(a.authenticated);
    }

    /* Revoked tokens stop working. */
    assert_int_equal(access_token_revoke(f->s, tid, &err), 0);
    {
        struct err e2 = ERR_INIT;

        assert_int_equal(access_actor_from_token(f->s, bearer, &a, &e2), -ERR_AUTH);
    }
    free(bearer);

    /* Unknown user. */
    {
        struct err e2 = ERR_INIT;

        assert_int_equal(access_token_create(f->s, "nobody", NULL, token, tid, &e2),
                         -ERR_NOT_FOUND);
    }
}

static void test_memberships(void **state)
{
    struct unit_store *f = *state;
    struct err err = ERR_INIT;
    struct actor a = ACTOR_ANONYMOUS;
    const char *org1 = "11111111-1111-4111-8111-111111111111";
    const char *org2 = "22222222-2222-4222-8222-222222222222";

    add_org(f->s, org1, "stats-bureau");
    add_org(f->s, org2, "transport-bureau");
    assert_int_equal(access_user_add(f->s, "wang", NULL, NULL, false, NULL, &err), 0);
    assert_int_equal(access_user_add(f->s, "root", NULL, NULL, true, NULL, &err), 0);

    assert_int_equal(access_member_set(f->s, "stats-bureau", "wang", "editor", &err), 0);
    assert_int_equal(access_member_set(f->s, org2, "wang", "member", &err), 0);
    assert_int_equal(access_actor_from_user(f->s, "wang", &a, &err), 0);
    assert_int_equal(actor_capacity(&a, org1), CAPACITY_EDITOR);
    assert_int_equal(actor_capacity(&a, org2), CAPACITY_MEMBER);
    assert_int_equal(actor_capacity(&a, "33333333-3333-4333-8333-333333333333"), CAPACITY_NONE);
    actor_release(&a);

    /* Promotion, then removal. */
    assert_int_equal(access_member_set(f->s, org1, "wang", "admin", &err), 0);
    assert_int_equal(access_member_set(f->s, org2, "wang", NULL, &err), 0);
    assert_int_equal(access_actor_from_user(f->s, "wang", &a, &err), 0);
    assert_int_equal(actor_capacity(&a, org1), CAPACITY_ADMIN);
    assert_int_equal(actor_capacity(&a, org2), CAPACITY_NONE);
    actor_release(&a);

    /* Sysadmins are admins everywhere; anonymous is nothing anywhere. */
    assert_int_equal(access_actor_from_user(f->s, "root", &a, &err), 0);
    assert_true(a.sysadmin);
    assert_int_equal(actor_capacity(&a, org2), CAPACITY_ADMIN);
    actor_release(&a);
    {
        struct actor anon = ACTOR_ANONYMOUS;

        assert_int_equal(actor_capacity(&anon, org1), CAPACITY_NONE);
    }

    /* Bad capacity, unknown org, unknown user. */
    {
        struct err e2 = ERR_INIT;

        assert_int_equal(access_member_set(f->s, org1, "wang", "owner", &e2), -ERR_VALIDATION);
        assert_string_equal(e2.field, "capacity");
    }
    {
        struct err e2 = ERR_INIT;

        assert_int_equal(access_member_set(f->s, "no-such-org", "wang", "member", &e2),
                         -ERR_NOT_FOUND);
    }
    {
        struct err e2 = ERR_INIT;

        assert_int_equal(access_member_set(f->s, org1, "nobody", "member", &e2), -ERR_NOT_FOUND);
    }
    {
        struct err e2 = ERR_INIT;

        assert_int_equal(access_actor_from_user(f->s, "nobody", &a, &e2), -ERR_NOT_FOUND);
        assert_false(a.authenticated);
    }
}

static void test_capacity_names(void **state)
{
    (void)state;
    assert_int_equal(capacity_parse("admin"), CAPACITY_ADMIN);
    assert_int_equal(capacity_parse("editor"), CAPACITY_EDITOR);
    assert_int_equal(capacity_parse("member"), CAPACITY_MEMBER);
    assert_int_equal(capacity_parse("Admin"), -1);
    assert_int_equal(capacity_parse(NULL), -1);
    assert_string_equal(capacity_name(CAPACITY_EDITOR), "editor");
    assert_string_equal(capacity_name(CAPACITY_ADMIN), "admin");
    assert_string_equal(capacity_name(CAPACITY_MEMBER), "member");
}

/* E-mail addresses: the same check for users as for the e-mail fields of datasets. */
static void test_user_emails(void **state)
{
    struct unit_store *f = *state;
    static const char *const bad[] = {
            "notanemail", "@example.org", "a@b@example.org", "a@example", "a b@example.org",
            "a@.example", "a@example.",   "<a>@example.org", "a;b@x.org",
    };
    static const char *const good[] = {"a@example.org", "li.wei+data@stats.gov.cn", "", NULL};
    json_t *u = NULL;

    for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
        struct err err = ERR_INIT;

        assert_int_equal(access_user_add(f->s, "mail-user", bad[i], NULL, false, &u, &err),
                         -ERR_VALIDATION);
        assert_string_equal(err.field, "email");
        assert_non_null(strstr(err.msg, "is not a valid format"));
        assert_null(u);
        err_clear(&err);
        assert_int_equal(access_email_check("author_email", bad[i], &err), -ERR_VALIDATION);
        assert_string_equal(err.field, "author_email");
    }
    for (size_t i = 0; i < ARRAY_SIZE(good); i++) {
        struct err err = ERR_INIT;
        char name[32];

        assert_int_equal(access_email_check("email", good[i], &err), 0);
        xsnprintf(name, sizeof(name), "mail-user-%zu", i);
        assert_int_equal(access_user_add(f->s, name, good[i], NULL, false, NULL, &err), 0);
    }
}

/* Removing a non-member is an error naming both; revoking twice names the token. */
static void test_member_remove_and_revoke_errors(void **state)
{
    struct unit_store *f = *state;
    struct err err = ERR_INIT;
    char token[TOKEN_STR_MAX], tid[UUID_STR_LEN], *want;

    add_org(f->s, "11111111-1111-4111-8111-111111111111", "stats-bureau");
    assert_int_equal(access_user_add(f->s, "wang", NULL, NULL, false, NULL, &err), 0);
    assert_int_equal(access_member_set(f->s, "stats-bureau", "wang", NULL, &err), -ERR_NOT_FOUND);
    assert_string_equal(err.msg, "user \"wang\" is not a member of \"stats-bureau\"");
    err_clear(&err);
    assert_int_equal(access_member_set(f->s, "stats-bureau", "wang", "member", &err), 0);
    assert_int_equal(access_member_set(f->s, "stats-bureau", "wang", NULL, &err), 0);
    assert_int_equal(access_member_set(f->s, "stats-bureau", "wang", NULL, &err), -ERR_NOT_FOUND);
    err_clear(&err);

    assert_int_equal(access_token_create(f->s, "wang", NULL, token, tid, &err), 0);
    assert_int_equal(access_token_revoke(f->s, tid, &err), 0);
    assert_int_equal(access_token_revoke(f->s, tid, &err), -ERR_NOT_FOUND);
    want = xstrfmt("token \"%s\" not found", tid);
    assert_string_equal(err.msg, want);
    free(want);
}

/* ---- the ledger: one entry per successful write, none per failure ---- */

/* A signing key in the test's directory and how much of the log was read. */
struct probe {
    struct ledger_key *key;
    uint64_t size;
};

static void probe_init(struct unit_store *f, struct probe *p)
{
    struct err err = ERR_INIT;
    char *path = xstrfmt("%s/ledger.key", f->dir);

    assert_int_equal(ledger_key_create(path, "access.test/ledger", &err), 0);
    assert_int_equal(ledger_key_load(path, &p->key, &err), 0);
    assert_int_equal(ledger_integrate(f->s, p->key, &p->size, &err), 0);
    free(path);
}

/* Integrates what is staged; returns the entries appended since the last call as a new
 * array of {"text": the canonical entry, "entry": it parsed}. */
static json_t *probe_new(struct unit_store *f, struct probe *p)
{
    struct err err = ERR_INIT;
    uint64_t size = 0;
    json_t *list = NULL, *out = json_array(), *e;
    size_t i;

    assert_int_equal(ledger_integrate(f->s, p->key, &size, &err), 0);
    while (p->size < size) {
        assert_int_equal(ledger_entries(f->s, p->size, size, &list, &err), 0);
        assert_true(json_array_size(list) > 0);
        json_array_foreach (list, i, e) {
            const char *text = json_string_value(json_object_get(e, "entry"));

            assert_int_equal(json_integer_value(json_object_get(e, "index")), p->size);
            json_array_append_new(
                    out, json_pack("{s:s, s:o}", "text", text, "entry", json_loads(text, 0, NULL)));
            p->size++;
        }
        json_decref(list);
    }
    return out;
}

static const char *jstr(json_t *o, const char *key)
{
    return json_string_value(json_object_get(o, key));
}

/* Exactly one new entry of type by actor about org (NULL: none) with exactly objects
 * (stolen) and the digest of digest_of (stolen; NULL: not checked). Returns the
 * entry's canonical text (free it). */
static char *expect_entry_(struct unit_store *f, struct probe *p, const char *type,
                           const char *actor, const char *org, json_t *objects, json_t *digest_of,
                           int line)
{
    json_t *entries = probe_new(f, p), *e;
    char *text;

    if (json_array_size(entries) != 1)
        fail_msg("line %d: %zu entries for %s, want 1", line, json_array_size(entries), type);
    e = json_object_get(json_array_get(entries, 0), "entry");
    assert_string_equal(jstr(e, "type"), type);
    assert_string_equal(jstr(e, "actor"), actor);
    if (org)
        assert_string_equal(jstr(e, "org"), org);
    else
        assert_true(!json_object_get(e, "org") || json_is_null(json_object_get(e, "org")));
    if (!json_equal(json_object_get(e, "objects"), objects))
        fail_msg("line %d: %s: objects differ", line, type);
    if (digest_of) {
        char *canon = json_dumps(digest_of, JSON_SORT_KEYS | JSON_COMPACT | JSON_ENCODE_ANY);
        char hex[SHA256_HEX_LEN], *want;
        uint8_t h[SHA256_LEN];

        sha256(canon, strlen(canon), h);
        hex_encode(h, SHA256_LEN, hex);
        want = xstrfmt("sha256:%s", hex);
        assert_string_equal(jstr(e, "digest"), want);
        free(want);
        free(canon);
    }
    text = xstrdup(jstr(json_array_get(entries, 0), "text"));
    json_decref(objects);
    json_decref(digest_of);
    json_decref(entries);
    return text;
}
#define expect_entry(f, p, type, actor, org, objects, digest_of)                                   \
    expect_entry_(f, p, type, actor, org, objects, digest_of, __LINE__)

static void expect_no_entry_(struct unit_store *f, struct probe *p, int line)
{
    json_t *entries = probe_new(f, p);

    if (json_array_size(entries))
        fail_msg("line %d: %zu unexpected entries", line, json_array_size(entries));
    json_decref(entries);
}
#define expect_no_entry(f, p) expect_no_entry_(f, p, __LINE__)

/* Each access write appends one entry of its type; personal data, tokens and token
 * hashes never appear in an entry. */
static void test_ledger_entries(void **state)
{
    struct unit_store *f = *state;
    struct err err = ERR_INIT;
    struct probe p;
    char token[TOKEN_STR_MAX], tid[UUID_STR_LEN], hash[TOKEN_HASH_HEX_LEN], *text;
    const char *org = "11111111-1111-4111-8111-111111111111";
    json_t *u = NULL, *digest;

    probe_init(f, &p);
    add_org(f->s, org, "stats-bureau");
    expect_no_entry(f, &p);

    assert_int_equal(access_user_add_as(f->s, "root", "alice", "alice@example.org", "Alice Wong 王",
                                        false, &u, &err),
                     0);
    /* The digest covers no e-mail address or full name: its other inputs are public. */
    digest = json_pack("{s:O, s:s, s:b, s:s, s:O}", "id", json_object_get(u, "id"), "name", "alice",
                       "sysadmin", 0, "state", "active", "created", json_object_get(u, "created"));
    text = expect_entry(f, &p, "user_create", "root", NULL, json_pack("{s:s}", "user", "alice"),
                        digest);
    assert_null(strstr(text, "alice@"));
    assert_null(strstr(text, "Wong"));
    free(text);
    json_decref(u);

    /* Without email or full name; the command line's form acts as its own user. */
    assert_int_equal(access_user_add(f->s, "bob", NULL, NULL, true, NULL, &err), 0);
    free(expect_entry(f, &p, "user_create", ACCESS_CLI_ACTOR, NULL,
                      json_pack("{s:s}", "user", "bob"), NULL));

    assert_int_equal(access_token_create_as(f->s, "alice", "alice", "laptop", token, tid, &err), 0);
    text = expect_entry(f, &p, "token_create", "alice", NULL,
                        json_pack("{s:s, s:s}", "token", tid, "user", "alice"), NULL);
    secret_token_hash(token, hash);
    assert_null(strstr(text, token));
    assert_null(strstr(text, token + 3)); /* without its "kf_" prefix either */
    assert_null(strstr(text, hash));
    free(text);

    assert_int_equal(access_token_revoke_as(f->s, "bob", tid, &err), 0);
    free(expect_entry(f, &p, "token_revoke", "bob", NULL, json_pack("{s:s}", "token", tid),
                      json_pack("{s:s, s:s}", "id", tid, "state", "revoked")));

    assert_int_equal(access_member_set_as(f->s, "bob", "stats-bureau", "alice", "editor", &err), 0);
    assert_int_equal(store_user_get(f->s, "alice", &u, &err), 0);
    free(expect_entry(f, &p, "member_set", "bob", "stats-bureau",
                      json_pack("{s:s, s:s}", "organization", org, "user", "alice"),
                      json_pack("{s:s, s:O, s:s}", "organization", org, "user",
                                json_object_get(u, "id"), "capacity", "editor")));
    /* By the organization's id; removal is a member_set with capacity null. */
    assert_int_equal(access_member_set_as(f->s, "bob", org, "alice", NULL, &err), 0);
    free(expect_entry(f, &p, "member_set", "bob", "stats-bureau",
                      json_pack("{s:s, s:s}", "organization", org, "user", "alice"),
                      json_pack("{s:s, s:O, s:n}", "organization", org, "user",
                                json_object_get(u, "id"), "capacity")));
    json_decref(u);

    /* Reads append nothing. */
    {
        struct actor a = ACTOR_ANONYMOUS;

        assert_int_equal(access_actor_from_user(f->s, "alice", &a, &err), 0);
        actor_release(&a);
    }
    expect_no_entry(f, &p);
    ledger_key_free(p.key);
}

/* "public" is the ledger's name for anonymous callers: no user may take it. */
static void test_user_name_public(void **state)
{
    struct unit_store *f = *state;
    struct err err = ERR_INIT;

    assert_int_equal(access_user_add(f->s, "public", NULL, NULL, false, NULL, &err), -ERR_CONFLICT);
    assert_string_equal(err.field, "name");
}

/* Failures append nothing: validation, not found, conflicts, and a store failure at
 * each write (the ledger's own included) for every access write. */
/* Passwords (argon2id) and web sessions: sign in, the session's actor and CSRF token,
 * an ended session, sign out, a new password ending the sessions. */
static void test_passwords_and_sessions(void **state)
{
    struct unit_store *f = *state;
    struct err err = ERR_INIT;
    struct actor a = ACTOR_ANONYMOUS, admin = ACTOR_ANONYMOUS;
    char sid[TOKEN_STR_MAX], csrf[TOKEN_STR_MAX], sid2[TOKEN_STR_MAX], csrf2[TOKEN_STR_MAX];
    char got[TOKEN_STR_MAX], hash[SECRET_PWHASH_MAX], *stored = NULL;
    json_t *u = NULL;
    const int64_t now = 1800000000;

    assert_int_equal(access_password_hash("xyz12", hash, &err), -ERR_VALIDATION);
    assert_string_equal(err.field, "password");
    assert_null(strstr(err.msg, "xyz12"));
    assert_int_equal(
            access_user_add_pw_as(f->s, "root", "erin", NULL, NULL, false, "1234567", NULL, &err),
            -ERR_VALIDATION);
    assert_int_equal(access_user_add_pw_as(f->s, "root", "erin", NULL, NULL, false,
                                           "erin's password", NULL, &err),
                     0);
    assert_int_equal(store_user_password_get(f->s, "erin", &u, &stored, &err), 0);
    assert_true(starts_with(stored, "$argon2id$v=19$"));
    assert_null(strstr(stored, "erin's password"));
    assert_true(secret_password_verify(stored, "erin's password", 15));
    assert_false(secret_password_verify(stored, "erin's passwore", 15));
    assert_false(secret_password_verify("not a hash", "x", 1));
    free(stored);
    json_decref(u);

    /* Wrong password, unknown user, no password: one answer. */
    assert_int_equal(access_user_add(f->s, "frank", NULL, NULL, false, NULL, &err), 0);
    err_clear(&err);
    assert_int_equal(access_session_create(f->s, "erin", "wrong one!", now, sid, csrf, &err),
                     -ERR_AUTH);
    assert_string_equal(err.msg, "wrong user name or password");
    err_clear(&err);
    assert_int_equal(access_session_create(f->s, "nobody", "erin's password", now, sid, csrf, &err),
                     -ERR_AUTH);
    assert_string_equal(err.msg, "wrong user name or password");
    err_clear(&err);
    assert_int_equal(access_session_create(f->s, "frank", "", now, sid, csrf, &err), -ERR_AUTH);
    assert_string_equal(err.msg, "wrong user name or password");
    assert_string_equal(sid, "");

    assert_int_equal(access_session_create(f->s, "erin", "erin's password", now, sid, csrf, &err),
                     0);
    assert_true(starts_with(sid, "kf_") && strlen(sid) == 3 + 43);
    assert_true(starts_with(csrf, "kf_") && strcmp(sid, csrf));
    assert_int_equal(access_actor_from_session(f->s, sid, now + 1, &a, got, &err), 0);
    assert_true(a.authenticated);
    assert_string_equal(a.name, "erin");
    assert_string_equal(got, csrf);
    actor_release(&a);
    /* Ended: refused at its end and after; malformed and unknown ids likewise. */
    assert_int_equal(
            access_actor_from_session(f->s, sid, now + ACCESS_SESSION_SECONDS, &a, got, &err),
            -ERR_AUTH);
    assert_false(a.authenticated);
    assert_int_equal(access_actor_from_session(f->s, "kf_nope", now, &a, got, &err), -ERR_AUTH);
    assert_int_equal(access_actor_from_session(f->s, "x' OR 1=1 --", now, &a, got, &err),
                     -ERR_AUTH);
    assert_int_equal(access_actor_from_session(f->s, NULL, now, &a, got, &err), -ERR_AUTH);

    /* Sign out: the id no longer works; a second sign-out is no error. */
    assert_int_equal(access_session_end(f->s, sid, &err), 0);
    assert_int_equal(access_actor_from_session(f->s, sid, now + 1, &a, got, &err), -ERR_AUTH);
    assert_int_equal(access_session_end(f->s, sid, &err), 0);

    /* A new password ends every session of the user; only a sysadmin or the user may. */
    assert_int_equal(access_session_create(f->s, "erin", "erin's password", now, sid, csrf, &err),
                     0);
    assert_int_equal(access_session_create(f->s, "erin", "erin's password", now, sid2, csrf2, &err),
                     0);
    assert_int_equal(access_actor_from_user(f->s, "frank", &a, &err), 0);
    assert_int_equal(access_password_set_as(f->s, &a, "erin", "frank was here", &err), -ERR_AUTH);
    actor_release(&a);
    assert_int_equal(access_actor_from_user(f->s, "erin", &admin, &err), 0);
    assert_int_equal(access_password_set_as(f->s, &admin, "erin", "a new password", &err), 0);
    actor_release(&admin);
    assert_int_equal(access_actor_from_session(f->s, sid, now + 1, &a, got, &err), -ERR_AUTH);
    assert_int_equal(access_actor_from_session(f->s, sid2, now + 1, &a, got, &err), -ERR_AUTH);
    assert_int_equal(access_session_create(f->s, "erin", "erin's password", now, sid, csrf, &err),
                     -ERR_AUTH);
    assert_int_equal(access_session_create(f->s, "erin", "a new password", now, sid, csrf, &err),
                     0);
}

static void test_ledger_failures(void **state)
{
    struct unit_store *f = *state;
    struct err err = ERR_INIT;
    struct probe p;
    char token[TOKEN_STR_MAX], tid[UUID_STR_LEN], tid2[UUID_STR_LEN];
    bool ledger_failed = false;

    probe_init(f, &p);
    add_org(f->s, "11111111-1111-4111-8111-111111111111", "stats-bureau");
    assert_int_equal(access_user_add(f->s, "carol", NULL, NULL, false, NULL, &err), 0);
    assert_int_equal(access_token_create(f->s, "carol", NULL, token, tid, &err), 0);
    json_decref(probe_new(f, &p));

#define FAILS(call, kind)                                                                          \
    do {                                                                                           \
        struct err e_ = ERR_INIT;                                                                  \
        assert_int_equal(call, -(kind));                                                           \
        (void)e_;                                                                                  \
    } while (0)
    FAILS(access_user_add_as(f->s, "root", "Carol!", NULL, NULL, false, NULL, &e_), ERR_VALIDATION);
    FAILS(access_user_add_as(f->s, "root", "carol", NULL, NULL, false, NULL, &e_), ERR_CONFLICT);
    FAILS(access_user_add_as(f->s, "root", "dave", "not-an-email", NULL, false, NULL, &e_),
          ERR_VALIDATION);
    FAILS(access_token_create_as(f->s, "root", "nobody", NULL, token, tid2, &e_), ERR_NOT_FOUND);
    FAILS(access_token_revoke_as(f->s, "root", "nope", &e_), ERR_NOT_FOUND);
    FAILS(access_token_revoke_as(f->s, "root", "", &e_), ERR_VALIDATION);
    FAILS(access_member_set_as(f->s, "root", "stats-bureau", "carol", "owner", &e_),
          ERR_VALIDATION);
    FAILS(access_member_set_as(f->s, "root", "no-org", "carol", "member", &e_), ERR_NOT_FOUND);
    FAILS(access_member_set_as(f->s, "root", "stats-bureau", "nobody", "member", &e_),
          ERR_NOT_FOUND);
    FAILS(access_member_set_as(f->s, "root", "stats-bureau", "carol", NULL, &e_), ERR_NOT_FOUND);
#undef FAILS
    expect_no_entry(f, &p);

    /* 0 user add, 1 token create, 2 token revoke, 3 member add, 4 member remove. */
    for (int k = 0; k < 5; k++) {
        static const char *const types[] = {"user_create", "token_create", "token_revoke",
                                            "member_set", "member_set"};
        int ret = -1, n, failures = 0;

        for (n = 1; n < 40 && ret; n++) {
            struct store *s2 = NULL;
            char num[16], cap[16] = "", tok2[TOKEN_STR_MAX] = "";
            json_t *entries, *u = NULL;
            struct actor a = ACTOR_ANONYMOUS;

            xsnprintf(num, sizeof(num), "%d", n);
            setenv("KAIFANG_FAIL_STORE_AT", num, 1);
            assert_int_equal(store_open(&s2, f->path, false, &err), 0);
            unsetenv("KAIFANG_FAIL_STORE_AT");
            store_fail_count_reset();
            err_clear(&err);
            switch (k) {
            case 0:
                ret = access_user_add_as(s2, "root", "erin", "erin@example.org", "Erin", false,
                                         NULL, &err);
                break;
            case 1:
                ret = access_token_create_as(s2, "root", "carol", "x", tok2, tid2, &err);
                break;
            case 2:
                ret = access_token_revoke_as(s2, "root", tid, &err);
                break;
            default:
                ret = access_member_set_as(s2, "root", "stats-bureau", "carol",
                                           k == 3 ? "editor" : NULL, &err);
                break;
            }
            store_free(s2);
            entries = probe_new(f, &p);
            if (ret) {
                assert_int_equal(ret, -ERR_INTERNAL);
                assert_int_equal(json_array_size(entries), 0);
                failures++;
                if (starts_with(err.msg, "cannot record"))
                    ledger_failed = true;
                /* Nothing changed. */
                switch (k) {
                case 0:
                    assert_int_equal(store_user_get(f->s, "erin", &u, NULL), -ERR_NOT_FOUND);
                    break;
                case 1:
                    assert_string_equal(tok2, "");
                    break;
                case 2:
                    assert_int_equal(access_actor_from_token(f->s, token, &a, &err), 0);
                    assert_string_equal(a.name, "carol");
                    actor_release(&a);
                    break;
                case 3:
                    assert_int_equal(store_user_get(f->s, "carol", &u, NULL), 0);
                    assert_int_equal(store_member_get(f->s, "11111111-1111-4111-8111-111111111111",
                                                      jstr(u, "id"), cap, sizeof(cap), NULL),
                                     -ERR_NOT_FOUND);
                    break;
                default:
                    assert_int_equal(store_user_get(f->s, "carol", &u, NULL), 0);
                    assert_int_equal(store_member_get(f->s, "11111111-1111-4111-8111-111111111111",
                                                      jstr(u, "id"), cap, sizeof(cap), NULL),
                                     0);
                    assert_string_equal(cap, "editor");
                    break;
                }
            } else {
                assert_int_equal(json_array_size(entries), 1);
                assert_string_equal(
                        jstr(json_object_get(json_array_get(entries, 0), "entry"), "type"),
                        types[k]);
            }
            json_decref(u);
            json_decref(entries);
            secret_wipe(tok2, sizeof(tok2));
        }
        if (ret)
            fail_msg("%s never succeeded", types[k]);
        if (!failures)
            fail_msg("%s: no injected failure happened", types[k]);
    }
    assert_true(ledger_failed);
    ledger_key_free(p.key);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
            cmocka_unit_test_setup_teardown(test_user_names, setup, teardown),
            cmocka_unit_test_setup_teardown(test_tokens, setup, teardown),
            cmocka_unit_test_setup_teardown(test_memberships, setup, teardown),
            cmocka_unit_test(test_capacity_names),
            cmocka_unit_test_setup_teardown(test_user_emails, setup, teardown),
            cmocka_unit_test_setup_teardown(test_member_remove_and_revoke_errors, setup, teardown),
            cmocka_unit_test_setup_teardown(test_ledger_entries, setup, teardown),
            cmocka_unit_test_setup_teardown(test_user_name_public, setup, teardown),
            cmocka_unit_test_setup_teardown(test_ledger_failures, setup, teardown),
            cmocka_unit_test_setup_teardown(test_passwords_and_sessions, setup, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
