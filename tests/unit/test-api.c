/*
 * test-api.c - the CKAN v3 envelope and error shapes, by calling the API layer directly
 * over a real (temporary) SQLite store.
 */
#include <jansson.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "api/api.h"
#include "core/util.h"

#define SITE "http://portal.test"

struct fixture {
    char dir[64];
    struct store *store;
    struct catalog catalog;
};

static int setup(void **state)
{
    struct fixture *f = xcalloc(1, sizeof(*f));
    struct err err = ERR_INIT;
    char *url, *files;

    xsnprintf(f->dir, sizeof(f->dir), "/tmp/kf-test-api-XXXXXX");
    if (!mkdtemp(f->dir))
        return -1;
    url = xstrfmt("sqlite:%s/kaifang.db", f->dir);
    files = xstrfmt("%s/files", f->dir);
    if (store_open(&f->store, url, true, &err)) {
        print_error("store_open: %s\n", err.msg);
        free(url);
        free(files);
        return -1;
    }
    catalog_init(&f->catalog, f->store, files, SITE);
    free(url);
    free(files);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    static const char *const names[] = {"kaifang.db", "kaifang.db-wal", "kaifang.db-shm",
                                        "kaifang.db-journal"};
    struct fixture *f = *state;
    size_t i;

    catalog_release(&f->catalog);
    store_free(f->store);
    for (i = 0; i < ARRAY_SIZE(names); i++) {
        char *p = xstrfmt("%s/%s", f->dir, names[i]);
        unlink(p);
        free(p);
    }
    if (rmdir(f->dir))
        print_error("cannot remove %s: %s\n", f->dir, strerror(errno));
    free(f);
    return 0;
}

/* Checks the envelope's common members and returns the "error" object (or NULL). */
static json_t *check_envelope(json_t *doc, const char *action, bool success)
{
    char help[256];

    assert_true(json_is_object(doc));
    if (action)
        xsnprintf(help, sizeof(help), SITE "/api/3/action/help_show?name=%s", action);
    else
        xsnprintf(help, sizeof(help), SITE "/api/3/action/help_show");
    assert_string_equal(json_string_value(json_object_get(doc, "help")), help);
    assert_true(json_is_boolean(json_object_get(doc, "success")));
    assert_int_equal(json_is_true(json_object_get(doc, "success")), success);
    if (success) {
        assert_non_null(json_object_get(doc, "result"));
        assert_null(json_object_get(doc, "error"));
        assert_int_equal(json_object_size(doc), 3);
        return NULL;
    }
    assert_null(json_object_get(doc, "result"));
    assert_int_equal(json_object_size(doc), 3);
    assert_true(json_is_object(json_object_get(doc, "error")));
    return json_object_get(doc, "error");
}

static void call(struct fixture *f, const struct actor *a, const char *name, bool post,
                 const char *params_json, json_t **doc, unsigned *status)
{
    json_t *params = json_loads(params_json, 0, NULL);

    assert_non_null(params);
    assert_int_equal(api_ckan_call(&f->catalog, a, name, post, params, NULL, doc, status, NULL), 0);
    json_decref(params);
}

static void test_success_envelope(void **state)
{
    json_t *doc = api_ckan_success(SITE, "package_list", json_array());

    (void)state;
    check_envelope(doc, "package_list", true);
    assert_true(json_is_array(json_object_get(doc, "result")));
    json_decref(doc);
}

static void test_validation_error_shape(void **state)
{
    struct err err = ERR_INIT;
    json_t *doc, *e, *list;

    (void)state;
    err_set(&err, ERR_CONFLICT, "name", "That URL is already in use.");
    doc = api_ckan_error(SITE, "package_create", &err);
    e = check_envelope(doc, "package_create", false);
    assert_string_equal(json_string_value(json_object_get(e, "__type")), "Validation Error");
    list = json_object_get(e, "name");
    assert_true(json_is_array(list));
    assert_int_equal(json_array_size(list), 1);
    assert_string_equal(json_string_value(json_array_get(list, 0)), "That URL is already in use.");
    /* The per-field list keeps CKAN's bare message; the top-level one names the field. */
    assert_string_equal(json_string_value(json_object_get(e, "message")),
                        "name: That URL is already in use.");
    json_decref(doc);
}

static void test_other_error_shapes(void **state)
{
    static const struct {
        enum err_kind kind;
        const char *type;
        unsigned status;
    } cases[] = {
            {ERR_NOT_FOUND, "Not Found Error", 404},
            {ERR_AUTH, "Authorization Error", 403},
            {ERR_SEARCH, "Search Query Error", 409},
            {ERR_BAD_REQUEST, "Bad request", 400},
    };
    size_t i;

    (void)state;
    for (i = 0; i < ARRAY_SIZE(cases); i++) {
        struct err err = ERR_INIT;
        json_t *doc, *e;

        /* a field on a non-validation error does not turn into a field list */
        err_set(&err, cases[i].kind, "id", "something about \"x\"");
        doc = api_ckan_error(SITE, "package_show", &err);
        e = check_envelope(doc, "package_show", false);
        assert_string_equal(json_string_value(json_object_get(e, "__type")), cases[i].type);
        assert_string_equal(json_string_value(json_object_get(e, "message")),
                            "something about \"x\"");
        assert_int_equal(json_object_size(e), 2);
        assert_int_equal(err_kind_status(cases[i].kind), cases[i].status);
        json_decref(doc);
    }
}

static void test_unknown_action(void **state)
{
    struct fixture *f = *state;
    struct actor anon = ACTOR_ANONYMOUS;
    unsigned status = 0;
    json_t *doc, *e;

    call(f, &anon, "package_explode", true, "{}", &doc, &status);
    assert_int_equal(status, 400);
    e = check_envelope(doc, "package_explode", false);
    assert_string_equal(json_string_value(json_object_get(e, "__type")), "Bad request");
    assert_string_equal(json_string_value(json_object_get(e, "message")),
                        "Bad request - Action name not known: package_explode");
    json_decref(doc);

    /* a name that is not an identifier never lands in the help URL */
    call(f, &anon, "x?y=<z>", false, "{}", &doc, &status);
    assert_int_equal(status, 400);
    check_envelope(doc, NULL, false);
    json_decref(doc);
    assert_null(api_ckan_action(NULL));
}

static void test_write_by_get_refused(void **state)
{
    struct fixture *f = *state;
    struct actor anon = ACTOR_ANONYMOUS;
    static const char *const writes[] = {
            "package_create",  "package_update",      "package_patch",
            "package_delete",  "resource_create",     "resource_update",
            "resource_delete", "organization_create", "group_create",
    };
    size_t i;

    for (i = 0; i < ARRAY_SIZE(writes); i++) {
        unsigned status = 0;
        json_t *doc, *e;
        const struct api_action *act = api_ckan_action(writes[i]);

        assert_non_null(act);
        assert_true(act->flags & API_WRITES);
        assert_false(act->flags & API_GET);
        call(f, &anon, writes[i], false, "{\"name\": \"x\"}", &doc, &status);
        assert_int_equal(status, 400);
        e = check_envelope(doc, writes[i], false);
        assert_string_equal(json_string_value(json_object_get(e, "__type")), "Bad request");
        assert_non_null(strstr(json_string_value(json_object_get(e, "message")), "POST"));
        json_decref(doc);
    }
}

static void test_read_actions_table(void **state)
{
    static const char *const reads[] = {
            "package_list",      "package_show",
            "package_search",    "resource_show",
            "organization_list", "organization_show",
            "group_list",        "group_show",
            "tag_list",          "license_list",
            "status_show",       "help_show",
            "xloader_status",    "datastore_privacy_report",
    };
    json_t *names = api_ckan_action_names();
    size_t i;

    (void)state;
    for (i = 0; i < ARRAY_SIZE(reads); i++) {
        const struct api_action *act = api_ckan_action(reads[i]);
        assert_non_null(act);
        assert_true(act->flags & API_GET);
        assert_false(act->flags & API_WRITES);
        assert_non_null(act->doc);
    }
    /* CKAN's 21, the DataStore API's 6, xloader's 2, accounts and roles' 7 and grants' 6
     * (api-access.c), fees and the audit's 6 (audit/actions.c), and the privacy gate's 2. */
    assert_int_equal(json_array_size(names), 50);
    json_decref(names);
}

static void test_help_show(void **state)
{
    struct fixture *f = *state;
    struct actor anon = ACTOR_ANONYMOUS;
    unsigned status = 0;
    json_t *doc, *e;

    call(f, &anon, "help_show", false, "{\"name\": \"package_show\"}", &doc, &status);
    assert_int_equal(status, 200);
    check_envelope(doc, "help_show", true);
    assert_string_equal(json_string_value(json_object_get(doc, "result")),
                        api_ckan_action("package_show")->doc);
    json_decref(doc);

    call(f, &anon, "help_show", false, "{\"name\": \"nope\"}", &doc, &status);
    assert_int_equal(status, 404);
    e = check_envelope(doc, "help_show", false);
    assert_string_equal(json_string_value(json_object_get(e, "__type")), "Not Found Error");
    json_decref(doc);
}

static void test_catalog_errors_through_envelope(void **state)
{
    struct fixture *f = *state;
    struct actor anon = ACTOR_ANONYMOUS;
    unsigned status = 0;
    enum err_kind kind;
    json_t *doc, *e, *params;

    call(f, &anon, "package_show", false, "{\"id\": \"no-such-dataset\"}", &doc, &status);
    assert_int_equal(status, 404);
    e = check_envelope(doc, "package_show", false);
    assert_string_equal(json_string_value(json_object_get(e, "__type")), "Not Found Error");
    assert_true(json_is_string(json_object_get(e, "message")));
    json_decref(doc);

    call(f, &anon, "package_create", true, "{\"name\": \"a-dataset\"}", &doc, &status);
    assert_int_equal(status, 403);
    e = check_envelope(doc, "package_create", false);
    assert_string_equal(json_string_value(json_object_get(e, "__type")), "Authorization Error");
    json_decref(doc);

    call(f, &anon, "package_list", false, "{}", &doc, &status);
    assert_int_equal(status, 200);
    check_envelope(doc, "package_list", true);
    assert_true(json_is_array(json_object_get(doc, "result")));
    json_decref(doc);

    /* parameters that are not an object */
    params = json_array();
    assert_int_equal(api_ckan_call(&f->catalog, &anon, "package_list", true, params, NULL, &doc,
                                   &status, &kind),
                     0);
    assert_int_equal(status, 400);
    assert_int_equal(kind, ERR_BAD_REQUEST);
    json_decref(doc);
    json_decref(params);
}

static void test_upload_only_where_accepted(void **state)
{
    struct fixture *f = *state;
    struct actor anon = ACTOR_ANONYMOUS;
    struct upload up = {.tmp_path = "/nonexistent", .filename = "x.csv", .size = 1};
    unsigned status = 0;
    json_t *doc, *params = json_object();

    assert_int_equal(api_ckan_call(&f->catalog, &anon, "package_create", true, params, &up, &doc,
                                   &status, NULL),
                     0);
    assert_int_equal(status, 400);
    json_decref(doc);
    json_decref(params);
    assert_true(api_ckan_action("resource_create")->flags & API_UPLOAD);
    assert_true(api_ckan_action("resource_update")->flags & API_UPLOAD);
}

/* A message echoing client bytes that are not UTF-8 keeps its message (jansson's
 * json_string() refuses such text, which used to leave the error without one). */
static void test_error_message_not_utf8(void **state)
{
    struct err err = ERR_INIT;
    json_t *doc, *e;

    (void)state;
    err_set(&err, ERR_BAD_REQUEST, NULL,
            "Bad request - Action name not known: pack\xff\xfe"
            "age");
    doc = api_ckan_error(SITE,
                         "pack\xff\xfe"
                         "age",
                         &err);
    e = check_envelope(doc, NULL, false);
    assert_string_equal(json_string_value(json_object_get(e, "message")),
                        "Bad request - Action name not known: pack??age");
    json_decref(doc);
    err_clear(&err);
    err_set(&err, ERR_VALIDATION, "name", "bad \xe4\xb8 name \xe4\xb8\xad");
    doc = api_ckan_error(SITE, NULL, &err);
    e = check_envelope(doc, NULL, false);
    assert_string_equal(json_string_value(json_object_get(e, "message")),
                        "bad ?? name \xe4\xb8\xad");
    assert_string_equal(json_string_value(json_array_get(json_object_get(e, "name"), 0)),
                        "bad ?? name \xe4\xb8\xad");
    json_decref(doc);
}

/* "upload" sent as a plain field (curl -F 'upload=<file' has no filename) is not a
 * file: without a url it is refused naming "upload", never stored as an empty url. */
static void test_upload_field_without_file(void **state)
{
    struct fixture *f = *state;
    struct actor anon = ACTOR_ANONYMOUS;
    enum err_kind kind;
    unsigned status = 0;
    json_t *doc, *e;
    json_t *params = json_pack("{s:s, s:s}", "package_id", "x", "upload", "a,b\n1,2\n");

    assert_int_equal(api_ckan_call(&f->catalog, &anon, "resource_create", true, params, NULL, &doc,
                                   &status, &kind),
                     0);
    assert_int_equal(status, 409);
    e = check_envelope(doc, "resource_create", false);
    assert_non_null(json_object_get(e, "upload"));
    json_decref(doc);
    /* With a url the field is ignored, as in CKAN: the request goes on (here to the
     * anonymous caller's refusal). */
    json_object_set_new(params, "url", json_string("https://example.org/a.csv"));
    assert_int_equal(api_ckan_call(&f->catalog, &anon, "resource_create", true, params, NULL, &doc,
                                   &status, &kind),
                     0);
    assert_int_not_equal(status, 200);
    e = json_object_get(doc, "error");
    assert_null(json_object_get(e, "upload"));
    json_decref(doc);
    /* An empty "upload" (a browser's form without a chosen file) is no upload. */
    json_object_del(params, "url");
    json_object_set_new(params, "upload", json_string(""));
    assert_int_equal(api_ckan_call(&f->catalog, &anon, "resource_update", true, params, NULL, &doc,
                                   &status, &kind),
                     0);
    assert_null(json_object_get(json_object_get(doc, "error"), "upload"));
    json_decref(doc);
    json_decref(params);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_success_envelope),
            cmocka_unit_test(test_validation_error_shape),
            cmocka_unit_test(test_other_error_shapes),
            cmocka_unit_test(test_read_actions_table),
            cmocka_unit_test_setup_teardown(test_unknown_action, setup, teardown),
            cmocka_unit_test_setup_teardown(test_write_by_get_refused, setup, teardown),
            cmocka_unit_test_setup_teardown(test_help_show, setup, teardown),
            cmocka_unit_test_setup_teardown(test_catalog_errors_through_envelope, setup, teardown),
            cmocka_unit_test_setup_teardown(test_upload_only_where_accepted, setup, teardown),
            cmocka_unit_test(test_error_message_not_utf8),
            cmocka_unit_test_setup_teardown(test_upload_field_without_file, setup, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
