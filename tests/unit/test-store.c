/*
 * test-store.c - the store against a real SQLite database in a temporary directory.
 */
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "core/log.h"
#include "store/store-int.h"
#include "core/util.h"

struct fixture {
    char dir[64];
    char path[128];
    struct store *s;
};

static void remove_dir(const char *dir)
{
    struct dirent *e;
    DIR *d = opendir(dir);
    char *p;

    if (!d)
        return;
    while ((e = readdir(d))) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
            continue;
        p = xstrfmt("%s/%s", dir, e->d_name);
        unlink(p);
        free(p);
    }
    closedir(d);
    rmdir(dir);
}

static int setup(void **state)
{
    struct fixture *f = xcalloc(1, sizeof(*f));
    struct err err = ERR_INIT;

    xsnprintf(f->dir, sizeof(f->dir), "/tmp/kf-store-XXXXXX");
    if (!mkdtemp(f->dir))
        return -1;
    xsnprintf(f->path, sizeof(f->path), "%s/kaifang.db", f->dir);
    if (store_open(&f->s, f->path, true, &err)) {
        fprintf(stderr, "store_open: %s\n", err.msg);
        return -1;
    }
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;

    store_free(f->s);
    remove_dir(f->dir);
    free(f);
    return 0;
}

/* ---- Helpers ---------------------------------------------------------------------------- */

/* Runs a scalar query on the database file directly (as another process would). */
static long long raw_count(const char *path, const char *sql)
{
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    long long n = -1;

    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
    if (sqlite3_step(st) == SQLITE_ROW)
        n = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    sqlite3_close(db);
    return n;
}

static void raw_exec(const char *path, const char *sql)
{
    sqlite3 *db = NULL;

    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    sqlite3_busy_timeout(db, 5000);
    assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);
}

struct ds {
    const char *id, *name, *org, *state;
    bool priv;
    const char *title, *created, *modified;
    const char *fts_title, *fts_tags, *fts_text;
    const char *tags[4];
    const char *resources[3];
};

static int put_ds(struct store *s, const struct ds *x, struct err *err)
{
    struct store_facet facets[8];
    struct store_dataset d = {0};
    size_t nf = 0, nr = 0, i;
    int rc;

    d.doc = json_pack("{s:s, s:s, s:s, s:b}", "id", x->id, "name", x->name, "title",
                      x->title ? x->title : x->name, "private", x->priv);
    d.id = x->id;
    d.name = x->name;
    d.owner_org = x->org;
    d.state = x->state ? x->state : "active";
    d.is_private = x->priv;
    d.title = x->title ? x->title : x->name;
    d.metadata_created = x->created ? x->created : "2024-01-01T00:00:00.000000";
    d.metadata_modified = x->modified ? x->modified : d.metadata_created;
    d.fts_title = x->fts_title;
    d.fts_tags = x->fts_tags;
    d.fts_text = x->fts_text;
    if (x->org)
        facets[nf++] = (struct store_facet){"organization", x->org};
    for (i = 0; i < 4 && x->tags[i]; i++)
        facets[nf++] = (struct store_facet){"tags", x->tags[i]};
    for (i = 0; i < 3 && x->resources[i]; i++)
        nr++;
    d.facets = facets;
    d.nfacets = nf;
    d.resource_ids = x->resources;
    d.nresource_ids = nr;
    rc = store_dataset_put(s, &d, err);
    json_decref(d.doc);
    return rc;
}

/* Puts one dataset in its own transaction; asserts success. */
static void put_ds_ok(struct store *s, const struct ds *x)
{
    struct err err = ERR_INIT;

    assert_int_equal(store_begin(s, &err), 0);
    if (put_ds(s, x, &err))
        fail_msg("put %s: %s", x->name, err.msg);
    assert_int_equal(store_commit(s, &err), 0);
}

static int put_group(struct store *s, const char *id, const char *name, bool org, const char *state,
                     struct err *err)
{
    struct store_group g = {id, name, org, state, NULL};
    int rc;

    g.doc = json_pack("{s:s, s:s, s:b}", "id", id, "name", name, "is_organization", org);
    rc = store_group_put(s, &g, err);
    json_decref(g.doc);
    return rc;
}

static const char *doc_str(json_t *doc, const char *key)
{
    return json_string_value(json_object_get(doc, key));
}

/* ---- Open, migrate, URLs ---------------------------------------------------------------- */
static void test_open_migrate_reopen(void **state)
{
    struct fixture *f = *state;
    struct err err = ERR_INIT;
    struct store *s = NULL;
    char *url, *missing;
    int v = 0;

    assert_int_equal(store_schema_version(f->s, &v, &err), 0);
    assert_int_equal(v, STORE_SCHEMA_VERSION);
    assert_int_equal(raw_count(f->path, "SELECT version FROM schema_version"),
                     STORE_SCHEMA_VERSION);
    assert_int_equal(raw_count(f->path, "SELECT count(*) FROM schema_version"), 1);
    store_free(f->s);
    f->s = NULL;

    /* Reopen without create; "sqlite:" URL form. */
    url = xstrfmt("sqlite:%s", f->path);
    assert_int_equal(store_open(&f->s, url, false, &err), 0);
    assert_int_equal(store_schema_version(f->s, &v, &err), 0);
    assert_int_equal(v, STORE_SCHEMA_VERSION);
    free(url);

    /* A missing file without create. */
    missing = xstrfmt("%s/missing.db", f->dir);
    assert_int_equal(store_open(&s, missing, false, &err), -ERR_NOT_FOUND);
    assert_null(s);
    assert_non_null(strstr(err.msg, "does not exist"));
    assert_int_equal(access(missing, F_OK), -1);
    free(missing);
    err_clear(&err);

    /* PostgreSQL: a clear "not supported yet". Unknown schemes are named. */
    assert_true(store_open(&s, "postgresql://u:secret@db/kaifang", true, &err) < 0);
    assert_null(s);
    assert_non_null(strstr(err.msg, "not supported yet"));
    assert_null(strstr(err.msg, "secret"));
    err_clear(&err);
    assert_true(store_open(&s, "mysql://db/x", true, &err) < 0);
    assert_non_null(strstr(err.msg, "\"mysql\""));
    err_clear(&err);
    assert_true(store_open(&s, "sqlite:", true, &err) < 0);
    err_clear(&err);
    assert_true(store_open(&s, "", true, &err) < 0);
    err_clear(&err);
}

static void test_newer_schema_refused(void **state)
{
    struct fixture *f = *state;
    struct err err = ERR_INIT;
    struct store *s = NULL;

    store_free(f->s);
    f->s = NULL;
    raw_exec(f->path, "UPDATE schema_version SET version = 99");
    assert_int_equal(store_open(&s, f->path, false, &err), -ERR_INTERNAL);
    assert_null(s);
    assert_non_null(strstr(err.msg, "newer"));
    assert_non_null(strstr(err.msg, "99"));
    /* Nothing was changed by the refused open. */
    assert_int_equal(raw_count(f->path, "SELECT version FROM schema_version"), 99);
}

static void test_not_a_database(void **state)
{
    struct fixture *f = *state;
    struct err err = ERR_INIT;
    struct store *s = NULL;
    char *path = xstrfmt("%s/junk.db", f->dir);
    FILE *fp = fopen(path, "w");

    assert_non_null(fp);
    for (int i = 0; i < 200; i++)
        fputs("this is not a sqlite database at all ", fp);
    fclose(fp);
    assert_int_equal(store_open(&s, path, false, &err), -ERR_INTERNAL);
    assert_null(s);
    assert_non_null(strstr(err.msg, "not a database"));
    free(path);
}

/* Migration from an empty (version 0) database is what store_open did; a partially
 * created schema_version table (another process started) is picked up. */
static void test_migrate_existing_empty(void **state)
{
    struct fixture *f = *state;
    struct err err = ERR_INIT;
    struct store *s = NULL;
    char *path = xstrfmt("%s/old.db", f->dir);
    int v = 0;

    raw_exec(path, "CREATE TABLE schema_version (version INTEGER NOT NULL);"
                   " INSERT INTO schema_version VALUES (0);");
    assert_int_equal(store_open(&s, path, false, &err), 0);
    assert_int_equal(store_schema_version(s, &v, &err), 0);
    assert_int_equal(v, STORE_SCHEMA_VERSION);
    store_free(s);
    free(path);
}

/* ---- Groups ----------------------------------------------------------------------------- */
static void test_groups(void **state)
{
    struct fixture *f = *state;
    struct err err = ERR_INIT;
    json_t *doc = NULL, *list = NULL;

    assert_int_equal(store_begin(f->s, &err), 0);
    assert_int_equal(put_group(f->s, "o1", "transport", true, "active", &err), 0);
    assert_int_equal(put_group(f->s, "o2", "health", true, "active", &err), 0);
    assert_int_equal(put_group(f->s, "o3", "archive", true, "deleted", &err), 0);
    /* The same name as a group (other kind) is fine. */
    assert_int_equal(put_group(f->s, "g1", "transport", false, "active", &err), 0);
    assert_int_equal(store_commit(f->s, &err), 0);

    assert_int_equal(store_group_get(f->s, true, "o1", &doc, &err), 0);
    assert_string_equal(doc_str(doc, "name"), "transport");
    json_decref(doc);
    assert_int_equal(store_group_get(f->s, true, "health", &doc, &err), 0);
    assert_string_equal(doc_str(doc, "id"), "o2");
    json_decref(doc);
    assert_int_equal(store_group_get(f->s, false, "transport", &doc, &err), 0);
    assert_string_equal(doc_str(doc, "id"), "g1");
    json_decref(doc);
    /* Deleted ones are returned by get. */
    assert_int_equal(store_group_get(f->s, true, "archive", &doc, &err), 0);
    json_decref(doc);
    /* The other kind is not found. */
    assert_int_equal(store_group_get(f->s, false, "health", &doc, &err), -ERR_NOT_FOUND);
    assert_null(doc);
    assert_string_equal(err.msg, "group \"health\" not found");
    err_clear(&err);

    /* A duplicate name under another id. */
    assert_int_equal(store_begin(f->s, &err), 0);
    assert_int_equal(put_group(f->s, "o9", "health", true, "active", &err), -ERR_CONFLICT);
    assert_string_equal(err.field, "name");
    assert_string_equal(err.msg, "organization name \"health\" is already in use");
    store_rollback(f->s);
    err_clear(&err);

    /* Replace by id (rename). */
    assert_int_equal(store_begin(f->s, &err), 0);
    assert_int_equal(put_group(f->s, "o2", "public-health", true, "active", &err), 0);
    assert_int_equal(store_commit(f->s, &err), 0);
    assert_int_equal(store_group_get(f->s, true, "health", &doc, &err), -ERR_NOT_FOUND);
    err_clear(&err);
    assert_int_equal(store_group_get(f->s, true, "public-health", &doc, &err), 0);
    json_decref(doc);

    /* Lists: active only, by name, offset and limit. */
    assert_int_equal(store_group_list(f->s, true, false, 0, 0, &list, &err), 0);
    assert_int_equal(json_array_size(list), 2);
    assert_string_equal(json_string_value(json_array_get(list, 0)), "public-health");
    assert_string_equal(json_string_value(json_array_get(list, 1)), "transport");
    json_decref(list);
    assert_int_equal(store_group_list(f->s, true, true, 1, 1, &list, &err), 0);
    assert_int_equal(json_array_size(list), 1);
    assert_string_equal(doc_str(json_array_get(list, 0), "id"), "o1");
    json_decref(list);
    assert_int_equal(store_group_list(f->s, false, false, 0, 10, &list, &err), 0);
    assert_int_equal(json_array_size(list), 1);
    json_decref(list);
}

/* ---- Datasets --------------------------------------------------------------------------- */
static void test_datasets(void **state)
{
    struct fixture *f = *state;
    struct err err = ERR_INIT;
    char did[64];
    json_t *doc = NULL, *names = NULL;
    struct ds a = {.id = "d1",
                   .name = "bus-stops",
                   .org = "o1",
                   .fts_title = "bus stops",
                   .tags = {"transport", "bus"},
                   .resources = {"r1", "r2"}};
    struct ds b = {
            .id = "d2", .name = "clinics", .org = "o2", .tags = {"health"}, .resources = {"r3"}};

    put_ds_ok(f->s, &a);
    put_ds_ok(f->s, &b);

    assert_int_equal(store_dataset_get(f->s, "d1", &doc, &err), 0);
    assert_string_equal(doc_str(doc, "name"), "bus-stops");
    json_decref(doc);
    assert_int_equal(store_dataset_get(f->s, "clinics", &doc, &err), 0);
    assert_string_equal(doc_str(doc, "id"), "d2");
    json_decref(doc);
    assert_int_equal(store_dataset_get(f->s, "nope", &doc, &err), -ERR_NOT_FOUND);
    assert_null(doc);
    assert_string_equal(err.msg, "dataset \"nope\" not found");
    err_clear(&err);

    /* Resources. */
    assert_int_equal(store_resource_dataset(f->s, "r2", did, sizeof(did), &err), 0);
    assert_string_equal(did, "d1");
    assert_int_equal(store_resource_dataset(f->s, "r3", did, sizeof(did), &err), 0);
    assert_string_equal(did, "d2");
    assert_int_equal(store_resource_dataset(f->s, "r9", did, sizeof(did), &err), -ERR_NOT_FOUND);
    err_clear(&err);

    /* Name conflict with another id. */
    assert_int_equal(store_begin(f->s, &err), 0);
    b.name = "bus-stops";
    assert_int_equal(put_ds(f->s, &b, &err), -ERR_CONFLICT);
    assert_string_equal(err.field, "name");
    assert_string_equal(err.msg, "dataset name \"bus-stops\" is already in use");
    store_rollback(f->s);
    err_clear(&err);
    b.name = "clinics";

    /* A resource id of another dataset. */
    assert_int_equal(store_begin(f->s, &err), 0);
    b.resources[1] = "r1";
    assert_int_equal(put_ds(f->s, &b, &err), -ERR_CONFLICT);
    assert_string_equal(err.field, "id");
    assert_string_equal(err.msg, "resource id \"r1\" is already in use");
    store_rollback(f->s);
    err_clear(&err);
    b.resources[1] = NULL;

    /* Replace by id: rename, drop a resource, move one. */
    a.name = "bus-stops-2024";
    a.resources[1] = NULL;
    put_ds_ok(f->s, &a);
    assert_int_equal(store_dataset_get(f->s, "bus-stops", &doc, &err), -ERR_NOT_FOUND);
    err_clear(&err);
    assert_int_equal(store_dataset_get(f->s, "bus-stops-2024", &doc, &err), 0);
    json_decref(doc);
    assert_int_equal(store_resource_dataset(f->s, "r2", did, sizeof(did), &err), -ERR_NOT_FOUND);
    err_clear(&err);
    b.resources[1] = "r2"; /* now free to be used by d2 */
    put_ds_ok(f->s, &b);
    assert_int_equal(store_resource_dataset(f->s, "r2", did, sizeof(did), &err), 0);
    assert_string_equal(did, "d2");
    assert_int_equal(raw_count(f->path, "SELECT count(*) FROM datasets"), 2);
    assert_int_equal(raw_count(f->path, "SELECT count(*) FROM dataset_fts"), 2);

    /* Purge cascades to facets, resources and the search index. */
    assert_int_equal(store_begin(f->s, &err), 0);
    assert_int_equal(store_dataset_purge(f->s, "d2", &err), 0);
    assert_int_equal(store_commit(f->s, &err), 0);
    assert_int_equal(store_dataset_get(f->s, "d2", &doc, &err), -ERR_NOT_FOUND);
    err_clear(&err);
    assert_int_equal(raw_count(f->path, "SELECT count(*) FROM datasets"), 1);
    assert_int_equal(raw_count(f->path, "SELECT count(*) FROM dataset_facets"
                                        " WHERE dataset_rid NOT IN (SELECT rid FROM datasets)"),
                     0);
    assert_int_equal(raw_count(f->path, "SELECT count(*) FROM dataset_facets"), 3);
    assert_int_equal(raw_count(f->path, "SELECT count(*) FROM dataset_resources"), 1);
    assert_int_equal(raw_count(f->path, "SELECT count(*) FROM dataset_fts"), 1);
    assert_int_equal(store_resource_dataset(f->s, "r3", did, sizeof(did), &err), -ERR_NOT_FOUND);
    err_clear(&err);
    assert_int_equal(store_begin(f->s, &err), 0);
    assert_int_equal(store_dataset_purge(f->s, "d2", &err), -ERR_NOT_FOUND);
    store_rollback(f->s);
    err_clear(&err);

    assert_int_equal(store_dataset_names(f->s, &(struct store_visibility){0}, 0, 0, &names, &err),
                     0);
    assert_int_equal(json_array_size(names), 1);
    assert_string_equal(json_string_value(json_array_get(names, 0)), "bus-stops-2024");
    json_decref(names);
}

static void test_dataset_names_visibility(void **state)
{
    struct fixture *f = *state;
    struct err err = ERR_INIT;
    const char *orgs[] = {"o2"};
    json_t *names = NULL;
    struct ds list[] = {
            {.id = "1", .name = "a-public", .org = "o1"},
            {.id = "2", .name = "b-private-o1", .org = "o1", .priv = true},
            {.id = "3", .name = "c-private-o2", .org = "o2", .priv = true},
            {.id = "4", .name = "d-draft-o2", .org = "o2", .state = "draft"},
            {.id = "5", .name = "e-deleted", .org = "o2", .state = "deleted"},
            {.id = "6", .name = "f-public", .org = NULL},
    };
    size_t i;

    for (i = 0; i < ARRAY_SIZE(list); i++)
        put_ds_ok(f->s, &list[i]);

    assert_int_equal(store_dataset_names(f->s, &(struct store_visibility){0}, 0, 0, &names, &err),
                     0);
    assert_int_equal(json_array_size(names), 2);
    assert_string_equal(json_string_value(json_array_get(names, 0)), "a-public");
    assert_string_equal(json_string_value(json_array_get(names, 1)), "f-public");
    json_decref(names);

    assert_int_equal(store_dataset_names(f->s, &(struct store_visibility){false, orgs, 1, false}, 0,
                                         0, &names, &err),
                     0);
    assert_int_equal(json_array_size(names), 3);
    assert_string_equal(json_string_value(json_array_get(names, 1)), "c-private-o2");
    json_decref(names);

    assert_int_equal(store_dataset_names(f->s, &(struct store_visibility){true, NULL, 0, false}, 1,
                                         2, &names, &err),
                     0);
    assert_int_equal(json_array_size(names), 2);
    assert_string_equal(json_string_value(json_array_get(names, 0)), "b-private-o1");
    assert_string_equal(json_string_value(json_array_get(names, 1)), "c-private-o2");
    json_decref(names);
}

/* ---- Transactions ----------------------------------------------------------------------- */
static void test_rollback_leaves_nothing(void **state)
{
    struct fixture *f = *state;
    struct err err = ERR_INIT;
    json_t *doc = NULL;
    uint64_t v0 = store_version(f->s), v1;
    struct ds a = {.id = "d1", .name = "first", .tags = {"x1"}, .resources = {"r1"}};
    struct ds b = {.id = "d2", .name = "first"};

    assert_int_equal(store_begin(f->s, &err), 0);
    assert_int_equal(put_ds(f->s, &a, &err), 0);
    /* Reads in the transaction see its own writes. */
    assert_int_equal(store_dataset_get(f->s, "first", &doc, &err), 0);
    json_decref(doc);
    /* A failed put mid-transaction, then rollback. */
    assert_int_equal(put_ds(f->s, &b, &err), -ERR_CONFLICT);
    store_rollback(f->s);
    store_rollback(f->s); /* harmless when nothing is open */
    err_clear(&err);

    assert_int_equal(store_dataset_get(f->s, "first", &doc, &err), -ERR_NOT_FOUND);
    err_clear(&err);
    assert_int_equal(raw_count(f->path, "SELECT count(*) FROM datasets"), 0);
    assert_int_equal(raw_count(f->path, "SELECT count(*) FROM dataset_facets"), 0);
    assert_int_equal(raw_count(f->path, "SELECT count(*) FROM dataset_fts"), 0);
    assert_int_equal(raw_count(f->path, "SELECT count(*) FROM dataset_resources"), 0);
    assert_true(store_version(f->s) == v0);

    /* And a commit changes the version. */
    put_ds_ok(f->s, &a);
    v1 = store_version(f->s);
    assert_true(v1 != v0);
    assert_true(store_version(f->s) == v1); /* stable without writes */
}

static void test_fail_injection(void **state)
{
    struct fixture *f = *state;
    struct err err = ERR_INIT;
    struct store *s = NULL;
    json_t *doc = NULL;
    struct ds a = {.id = "d1", .name = "one"};
    struct ds b = {.id = "d2", .name = "two"};

    /* The second write fails. */
    setenv("KAIFANG_FAIL_STORE_AT", "2", 1);
    assert_int_equal(store_open(&s, f->path, false, &err), 0);
    store_fail_count_reset();
    assert_int_equal(store_begin(s, &err), 0);
    assert_int_equal(put_ds(s, &a, &err), 0);
    assert_int_equal(put_ds(s, &b, &err), -ERR_INTERNAL);
    assert_non_null(strstr(err.msg, "injected"));
    store_rollback(s);
    err_clear(&err);
    assert_int_equal(store_dataset_get(s, "one", &doc, &err), -ERR_NOT_FOUND);
    err_clear(&err);
    /* Only the Nth fails: the third write works. */
    put_ds_ok(s, &a);
    assert_int_equal(store_dataset_get(s, "one", &doc, &err), 0);
    json_decref(doc);
    store_free(s);

    /* A failed commit (the third write) leaves nothing and ends the transaction. */
    setenv("KAIFANG_FAIL_STORE_AT", "3", 1);
    assert_int_equal(store_open(&s, f->path, false, &err), 0);
    store_fail_count_reset();
    assert_int_equal(store_begin(s, &err), 0);
    assert_int_equal(put_ds(s, &b, &err), 0);
    assert_int_equal(store_dataset_purge(s, "d1", &err), 0);
    assert_int_equal(store_commit(s, &err), -ERR_INTERNAL);
    store_rollback(s); /* safe after a failed commit */
    err_clear(&err);
    assert_int_equal(store_dataset_get(s, "two", &doc, &err), -ERR_NOT_FOUND);
    err_clear(&err);
    assert_int_equal(store_dataset_get(s, "one", &doc, &err), 0);
    json_decref(doc);
    /* The write lock was released. */
    assert_int_equal(store_begin(s, &err), 0);
    store_rollback(s);
    store_free(s);

    /* A bad value is refused. */
    setenv("KAIFANG_FAIL_STORE_AT", "x", 1);
    assert_int_equal(store_open(&s, f->path, false, &err), -ERR_VALIDATION);
    assert_null(s);
    unsetenv("KAIFANG_FAIL_STORE_AT");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
            cmocka_unit_test_setup_teardown(test_open_migrate_reopen, setup, teardown),
            cmocka_unit_test_setup_teardown(test_newer_schema_refused, setup, teardown),
            cmocka_unit_test_setup_teardown(test_not_a_database, setup, teardown),
            cmocka_unit_test_setup_teardown(test_migrate_existing_empty, setup, teardown),
            cmocka_unit_test_setup_teardown(test_groups, setup, teardown),
            cmocka_unit_test_setup_teardown(test_datasets, setup, teardown),
            cmocka_unit_test_setup_teardown(test_dataset_names_visibility, setup, teardown),
            cmocka_unit_test_setup_teardown(test_rollback_leaves_nothing, setup, teardown),
            cmocka_unit_test_setup_teardown(test_fail_injection, setup, teardown),
    };

    log_set_level(LOG_ERROR);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
