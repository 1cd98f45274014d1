/*
 * test-access.c - users, API tokens and organization roles against a real store in a
 * temporary directory.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>
#include <jansson.h>

#include "access/access.h"
#include "core/limits.h"
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

int main(void)
{
    const struct CMUnitTest tests[] = {
            cmocka_unit_test_setup_teardown(test_user_names, setup, teardown),
            cmocka_unit_test_setup_teardown(test_tokens, setup, teardown),
            cmocka_unit_test_setup_teardown(test_memberships, setup, teardown),
            cmocka_unit_test(test_capacity_names),
            cmocka_unit_test_setup_teardown(test_user_emails, setup, teardown),
            cmocka_unit_test_setup_teardown(test_member_remove_and_revoke_errors, setup, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
