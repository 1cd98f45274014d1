/*
 * test-store.c - the store against a real SQLite database in a temporary directory.
 */
#include <stdatomic.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "core/buf.h"
#include "core/limits.h"
#include "core/log.h"
#include "store/store-int.h"
#include "core/util.h"
#include "unit-util.h"

static int setup(void **state)
{
    return unit_store_setup(state, "store");
}

static int teardown(void **state)
{
    return unit_store_teardown(state);
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
    struct unit_store *f = *state;
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

    /* PostgreSQL: a server that is not there is named by host and port, never with the
     * password of the URL. Unknown schemes are named. */
    assert_int_equal(store_open(&s, "postgresql://u:secret@127.0.0.1:1/kaifang?connect_timeout=5",
                                true, &err),
                     -ERR_UNAVAILABLE);
    assert_null(s);
    assert_non_null(strstr(err.msg, "cannot connect to the PostgreSQL server"));
    assert_non_null(strstr(err.msg, "host \"127.0.0.1\" port 1"));
    assert_non_null(strstr(err.msg, "database \"kaifang\""));
    assert_null(strstr(err.msg, "secret"));
    err_clear(&err);
    assert_int_equal(store_open(&s, "postgresql://u@h/db?nosuchoption=1", true, &err),
                     -ERR_VALIDATION);
    assert_non_null(strstr(err.msg, "nosuchoption"));
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
    struct unit_store *f = *state;
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
    struct unit_store *f = *state;
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
    struct unit_store *f = *state;
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
    struct unit_store *f = *state;
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
    struct unit_store *f = *state;
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
    struct unit_store *f = *state;
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
    struct unit_store *f = *state;
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
    struct unit_store *f = *state;
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

/* ---- Search ----------------------------------------------------------------------------- */
static const struct ds search_set[] = {
        {.id = "s1",
         .name = "beijing-traffic",
         .org = "transport",
         .title = "Beijing traffic",
         .created = "2024-01-01",
         .modified = "2024-06-01",
         .fts_title = "北京 京交 交通 北 京 交 通",
         .fts_tags = "traffic",
         .fts_text = "road counts",
         .tags = {"traffic", "roads"}},
        {.id = "s2",
         .name = "bus-routes",
         .org = "transport",
         .title = "Bus routes",
         .created = "2024-02-01",
         .modified = "2024-03-01",
         .fts_title = "bus routes",
         .fts_tags = "bus traffic",
         .fts_text = "routes of the city buses",
         .tags = {"bus", "traffic"}},
        {.id = "s3",
         .name = "clinics",
         .org = "health",
         .title = "Clinics",
         .created = "2024-03-01",
         .modified = "2024-05-01",
         .fts_title = "clinics",
         .fts_tags = "health",
         .fts_text = "clinic locations and traffic to them",
         .tags = {"health"}},
        {.id = "s4",
         .name = "secret-roads",
         .org = "transport",
         .priv = true,
         .title = "Secret roads",
         .created = "2024-04-01",
         .modified = "2024-04-01",
         .fts_title = "secret roads",
         .fts_tags = "traffic",
         .fts_text = "",
         .tags = {"traffic", "roads"}},
        {.id = "s5",
         .name = "draft-health",
         .org = "health",
         .state = "draft",
         .title = "Draft health",
         .created = "2024-05-01",
         .modified = "2024-07-01",
         .fts_title = "draft health",
         .fts_tags = "health",
         .tags = {"health"}},
        {.id = "s6",
         .name = "old-traffic",
         .org = "transport",
         .state = "deleted",
         .title = "Old traffic",
         .created = "2023-01-01",
         .modified = "2023-01-01",
         .fts_title = "old traffic",
         .tags = {"traffic"}},
        {.id = "s7",
         .name = "air-quality",
         .org = "environment",
         .title = "Air quality",
         .created = "2024-06-01",
         .modified = "2024-02-01",
         .fts_title = "air quality",
         .fts_tags = "air",
         .fts_text = "pm2.5 \"quoted\" traffic",
         .tags = {"air", "health"}},
};

static void load_search_set(struct store *s)
{
    size_t i;

    for (i = 0; i < ARRAY_SIZE(search_set); i++)
        put_ds_ok(s, &search_set[i]);
}

/* Runs a search and returns the names of the page, space-separated (free() it). */
static char *search_names(struct store *s, const struct store_search *q, size_t *count,
                          json_t **facets)
{
    struct store_search_result res;
    struct err err = ERR_INIT;
    struct buf b = BUF_INIT;
    size_t i;

    if (store_dataset_search(s, q, &res, &err))
        fail_msg("search: %s", err.msg);
    for (i = 0; i < json_array_size(res.docs); i++) {
        if (i)
            buf_addch(&b, ' ');
        buf_addstr(&b, doc_str(json_array_get(res.docs, i), "name"));
    }
    if (count)
        *count = res.count;
    if (facets)
        *facets = json_incref(res.facets);
    store_search_result_release(&res);
    return buf_detach(&b, NULL);
}

#define ASSERT_SEARCH(s, q, expect_names, expect_count)                                            \
    do {                                                                                           \
        size_t count_ = 0;                                                                         \
        char *got_ = search_names((s), (q), &count_, NULL);                                        \
        assert_string_equal(got_, (expect_names));                                                 \
        assert_int_equal(count_, (expect_count));                                                  \
        free(got_);                                                                                \
    } while (0)

/* A text term of n tokens. */
static struct store_term text_term(const char *const *tokens, size_t n, bool phrase,
                                   enum store_column column, bool negate)
{
    return (struct store_term){
            .tokens = tokens, .ntokens = n, .phrase = phrase, .column = column, .negate = negate};
}

static struct store_term filter_term(const char *field, const char *value, bool negate)
{
    return (struct store_term){.is_filter = true, .filter = {field, value}, .negate = negate};
}

#define WORDS(...) ((const char *const[]){__VA_ARGS__})
#define TEXT(...)                                                                                  \
    text_term(WORDS(__VA_ARGS__), ARRAY_SIZE(WORDS(__VA_ARGS__)), false, STORE_COLUMN_ANY, false)

static void test_search_terms(void **state)
{
    struct unit_store *f = *state;
    const char *t_hostile[] = {
            "traffic\" OR \"clinics", "*", "NEAR(a b)", "title:x", "-", "\"quoted\""};
    struct store_term t[2];
    struct store_clause cl[2] = {{&t[0], 1}, {&t[1], 1}};
    struct store_search q = {.sort = STORE_SORT_NAME, .rows = 10, .clauses = cl};

    load_search_set(f->s);

    /* No clauses: every visible active dataset. */
    ASSERT_SEARCH(f->s, &q, "air-quality beijing-traffic bus-routes clinics", 4);

    /* One term: title, tags and text all count; private, draft, deleted excluded. */
    t[0] = TEXT("traffic");
    q.nclauses = 1;
    ASSERT_SEARCH(f->s, &q, "air-quality beijing-traffic bus-routes clinics", 4);
    /* Clauses are ANDed, and so are the tokens of one (non-phrase) term. */
    t[1] = TEXT("bus");
    q.nclauses = 2;
    ASSERT_SEARCH(f->s, &q, "bus-routes", 1);
    t[0] = TEXT("traffic", "bus");
    q.nclauses = 1;
    ASSERT_SEARCH(f->s, &q, "bus-routes", 1);
    /* Chinese bigrams and single characters stay whole tokens. */
    t[0] = TEXT("交通");
    ASSERT_SEARCH(f->s, &q, "beijing-traffic", 1);
    t[0] = TEXT("交");
    ASSERT_SEARCH(f->s, &q, "beijing-traffic", 1);
    t[0] = TEXT("通北");
    ASSERT_SEARCH(f->s, &q, "", 0);
    /* Nothing the user typed becomes FTS5 syntax: each is a quoted string. */
    for (size_t i = 0; i < ARRAY_SIZE(t_hostile); i++) {
        t[0] = text_term(&t_hostile[i], 1, false, STORE_COLUMN_ANY, false);
        ASSERT_SEARCH(f->s, &q, i == 5 ? "air-quality" : "", i == 5 ? 1 : 0);
        t[0].phrase = true;
        ASSERT_SEARCH(f->s, &q, i == 5 ? "air-quality" : "", i == 5 ? 1 : 0);
        t[0].column = STORE_COLUMN_TITLE;
        ASSERT_SEARCH(f->s, &q, "", 0);
    }

    /* Relevance: a title match (weight 10) beats a text match (weight 1). */
    t[0] = TEXT("traffic");
    q.sort = STORE_SORT_SCORE;
    q.descending = true;
    {
        char *got = search_names(f->s, &q, NULL, NULL);

        assert_true(starts_with(got, "beijing-traffic") || starts_with(got, "bus-routes"));
        assert_non_null(strstr(got, "clinics"));
        assert_true(strstr(got, "clinics") > strstr(got, "bus-routes"));
        free(got);
    }
}

/* OR inside a clause, NOT on terms, text and filters mixed, phrases, columns. */
static void test_search_boolean(void **state)
{
    struct unit_store *f = *state;
    struct store_term t[4];
    struct store_clause cl[2] = {{&t[0], 2}, {&t[2], 2}};
    struct store_search q = {.sort = STORE_SORT_NAME, .rows = 10, .clauses = cl, .nclauses = 1};

    load_search_set(f->s);

    /* OR of text terms (one MATCH) and of text with a filter (a subquery). */
    t[0] = TEXT("clinics");
    t[1] = TEXT("bus");
    ASSERT_SEARCH(f->s, &q, "bus-routes clinics", 2);
    t[1] = filter_term("tags", "air", false);
    ASSERT_SEARCH(f->s, &q, "air-quality clinics", 2);
    /* Scored by the rank clause (tags weigh more than text), filtered by the mixed one. */
    t[0] = TEXT("clinic");
    t[1] = filter_term("tags", "bus", false);
    cl[1].nterms = 1;
    t[2] = TEXT("traffic");
    q.nclauses = 2;
    q.sort = STORE_SORT_SCORE;
    q.descending = true;
    ASSERT_SEARCH(f->s, &q, "bus-routes clinics", 2);
    q.descending = false;
    ASSERT_SEARCH(f->s, &q, "clinics bus-routes", 2);
    q.sort = STORE_SORT_NAME;
    q.descending = false;
    /* Negated text: datasets without the word, alone or beside other clauses. */
    t[0] = text_term(WORDS("bus"), 1, false, STORE_COLUMN_ANY, true);
    cl[0].nterms = 1;
    q.nclauses = 1;
    ASSERT_SEARCH(f->s, &q, "air-quality beijing-traffic clinics", 3);
    q.nclauses = 2;
    ASSERT_SEARCH(f->s, &q, "air-quality beijing-traffic clinics", 3);
    /* A negated filter OR a word. */
    t[0] = filter_term("tags", "traffic", true);
    t[1] = TEXT("bus");
    cl[0].nterms = 2;
    q.nclauses = 1;
    ASSERT_SEARCH(f->s, &q, "air-quality bus-routes clinics", 3);
    /* A clause with no terms, or a text term with no tokens, matches nothing. */
    cl[0].nterms = 0;
    ASSERT_SEARCH(f->s, &q, "", 0);
    t[0] = text_term(NULL, 0, false, STORE_COLUMN_ANY, false);
    cl[0].nterms = 1;
    ASSERT_SEARCH(f->s, &q, "", 0);
    t[1] = TEXT("bus");
    cl[0].nterms = 2;
    ASSERT_SEARCH(f->s, &q, "bus-routes", 1);

    /* Phrases: adjacent and in order; without phrase, anywhere. */
    cl[0].nterms = 1;
    t[0] = text_term(WORDS("city", "buses"), 2, true, STORE_COLUMN_ANY, false);
    ASSERT_SEARCH(f->s, &q, "bus-routes", 1);
    t[0] = text_term(WORDS("buses", "city"), 2, true, STORE_COLUMN_ANY, false);
    ASSERT_SEARCH(f->s, &q, "", 0);
    t[0].phrase = false;
    ASSERT_SEARCH(f->s, &q, "bus-routes", 1);
    t[0] = text_term(WORDS("京交", "交通"), 2, true, STORE_COLUMN_TITLE, false);
    ASSERT_SEARCH(f->s, &q, "beijing-traffic", 1);
    t[0] = text_term(WORDS("the", "city"), 2, true, STORE_COLUMN_TITLE, false);
    ASSERT_SEARCH(f->s, &q, "", 0);
    /* Columns: the same word in title, tags, text. */
    t[0] = text_term(WORDS("traffic"), 1, false, STORE_COLUMN_TITLE, false);
    ASSERT_SEARCH(f->s, &q, "", 0);
    t[0].column = STORE_COLUMN_TAGS;
    ASSERT_SEARCH(f->s, &q, "beijing-traffic bus-routes", 2);
    t[0].column = STORE_COLUMN_TEXT;
    ASSERT_SEARCH(f->s, &q, "air-quality clinics", 2);
    /* A column on a non-phrase term applies to each token; negated, in a subquery. */
    t[0] = text_term(WORDS("routes", "buses"), 2, false, STORE_COLUMN_TEXT, false);
    ASSERT_SEARCH(f->s, &q, "bus-routes", 1);
    t[0].column = STORE_COLUMN_TITLE;
    ASSERT_SEARCH(f->s, &q, "", 0);
    t[0].negate = true;
    ASSERT_SEARCH(f->s, &q, "air-quality beijing-traffic bus-routes clinics", 4);
}

static void test_search_visibility(void **state)
{
    struct unit_store *f = *state;
    const char *transport[] = {"transport"};
    const char *health[] = {"health"};
    struct store_search q = {.sort = STORE_SORT_NAME, .rows = 10};

    load_search_set(f->s);

    /* Members of transport see its private dataset. */
    q.vis = (struct store_visibility){false, transport, 1, false};
    ASSERT_SEARCH(f->s, &q, "air-quality beijing-traffic bus-routes clinics secret-roads", 5);
    /* Drafts need include_drafts and a visible organization. */
    q.vis.include_drafts = true;
    ASSERT_SEARCH(f->s, &q, "air-quality beijing-traffic bus-routes clinics secret-roads", 5);
    q.vis = (struct store_visibility){false, health, 1, true};
    ASSERT_SEARCH(f->s, &q, "air-quality beijing-traffic bus-routes clinics draft-health", 5);
    q.vis.include_drafts = false;
    ASSERT_SEARCH(f->s, &q, "air-quality beijing-traffic bus-routes clinics", 4);
    /* Sysadmin: every private one; drafts when asked; never deleted ones. */
    q.vis = (struct store_visibility){true, NULL, 0, false};
    ASSERT_SEARCH(f->s, &q, "air-quality beijing-traffic bus-routes clinics secret-roads", 5);
    q.vis.include_drafts = true;
    ASSERT_SEARCH(f->s, &q,
                  "air-quality beijing-traffic bus-routes clinics draft-health secret-roads", 6);
}

static void test_search_filters(void **state)
{
    struct unit_store *f = *state;
    struct store_term t[2];
    struct store_clause cl[2] = {{&t[0], 1}, {&t[1], 1}};
    struct store_search q = {.sort = STORE_SORT_NAME, .rows = 10, .clauses = cl};

    load_search_set(f->s);

    t[0] = filter_term("organization", "transport", false);
    q.nclauses = 1;
    ASSERT_SEARCH(f->s, &q, "beijing-traffic bus-routes", 2);
    t[1] = filter_term("tags", "roads", false);
    q.nclauses = 2;
    ASSERT_SEARCH(f->s, &q, "beijing-traffic", 1);
    /* Negation excludes datasets that have the value. */
    t[1].negate = true;
    ASSERT_SEARCH(f->s, &q, "bus-routes", 1);
    t[0].negate = true;
    t[1] = filter_term("tags", "air", true);
    ASSERT_SEARCH(f->s, &q, "clinics", 1);
    /* OR of filters in one clause. */
    t[0] = filter_term("tags", "bus", false);
    t[1] = filter_term("tags", "air", false);
    cl[0].nterms = 2;
    q.nclauses = 1;
    ASSERT_SEARCH(f->s, &q, "air-quality bus-routes", 2);
    /* SQL metacharacters in values are data. */
    cl[0].nterms = 1;
    t[0] = filter_term("tags", "x' OR '1'='1", false);
    ASSERT_SEARCH(f->s, &q, "", 0);
    t[0] = filter_term("no-such-field", "traffic", false);
    ASSERT_SEARCH(f->s, &q, "", 0);
}

static void test_search_sort_paging(void **state)
{
    struct unit_store *f = *state;
    struct store_search q = {.rows = 10};

    load_search_set(f->s);

    q.sort = STORE_SORT_MODIFIED;
    q.descending = true;
    ASSERT_SEARCH(f->s, &q, "beijing-traffic clinics bus-routes air-quality", 4);
    q.descending = false;
    ASSERT_SEARCH(f->s, &q, "air-quality bus-routes clinics beijing-traffic", 4);
    q.sort = STORE_SORT_CREATED;
    ASSERT_SEARCH(f->s, &q, "beijing-traffic bus-routes clinics air-quality", 4);
    q.descending = true;
    ASSERT_SEARCH(f->s, &q, "air-quality clinics bus-routes beijing-traffic", 4);
    q.sort = STORE_SORT_NAME;
    ASSERT_SEARCH(f->s, &q, "clinics bus-routes beijing-traffic air-quality", 4);
    q.sort = STORE_SORT_TITLE;
    q.descending = false;
    ASSERT_SEARCH(f->s, &q, "air-quality beijing-traffic bus-routes clinics", 4);
    /* Score without terms: newest modified first. */
    q.sort = STORE_SORT_SCORE;
    q.descending = true;
    ASSERT_SEARCH(f->s, &q, "beijing-traffic clinics bus-routes air-quality", 4);

    /* Paging: the count is the whole match. */
    q.sort = STORE_SORT_NAME;
    q.descending = false;
    q.start = 1;
    q.rows = 2;
    ASSERT_SEARCH(f->s, &q, "beijing-traffic bus-routes", 4);
    q.start = 3;
    ASSERT_SEARCH(f->s, &q, "clinics", 4);
    q.start = 100;
    ASSERT_SEARCH(f->s, &q, "", 4);
    q.start = 0;
    q.rows = 0;
    ASSERT_SEARCH(f->s, &q, "", 4);
}

static void test_search_facets(void **state)
{
    struct unit_store *f = *state;
    const char *fields[] = {"tags", "organization", "res_format"};
    struct store_term term = TEXT("traffic");
    struct store_clause cl = {&term, 1};
    struct store_search q = {.sort = STORE_SORT_NAME,
                             .rows = 0,
                             .facet_fields = fields,
                             .nfacet_fields = 3,
                             .facet_limit = 50};
    json_t *facets = NULL, *want;
    char *got;
    size_t count = 0;

    load_search_set(f->s);

    got = search_names(f->s, &q, &count, &facets);
    free(got);
    assert_int_equal(count, 4);
    /* By count desc, then value asc; only visible active datasets count. */
    want = json_pack("{s:[[s,i],[s,i],[s,i],[s,i],[s,i]], s:[[s,i],[s,i],[s,i]], s:[]}", "tags",
                     "health", 2, "traffic", 2, "air", 1, "bus", 1, "roads", 1, "organization",
                     "transport", 2, "environment", 1, "health", 1, "res_format");
    assert_non_null(want);
    assert_true(json_equal(facets, want));
    json_decref(want);
    json_decref(facets);

    /* facet_limit per field. */
    q.facet_limit = 1;
    got = search_names(f->s, &q, &count, &facets);
    free(got);
    want = json_pack("{s:[[s,i]], s:[[s,i]], s:[]}", "tags", "health", 2, "organization",
                     "transport", 2, "res_format");
    assert_true(json_equal(facets, want));
    json_decref(want);
    json_decref(facets);

    /* Facets of the matching set only. */
    q.clauses = &cl;
    q.nclauses = 1;
    q.facet_limit = 10;
    q.nfacet_fields = 1;
    got = search_names(f->s, &q, &count, &facets);
    free(got);
    assert_int_equal(count, 4);
    want = json_pack("{s:[[s,i],[s,i],[s,i],[s,i],[s,i]]}", "tags", "health", 2, "traffic", 2,
                     "air", 1, "bus", 1, "roads", 1);
    assert_true(json_equal(facets, want));
    json_decref(want);
    json_decref(facets);
}

static void test_search_limits(void **state)
{
    struct unit_store *f = *state;
    struct store_term terms[LIMIT_SEARCH_TERMS + 2];
    const char *tokens[LIMIT_SEARCH_QUERY + 1];
    struct store_clause cl = {terms, LIMIT_SEARCH_TERMS + 1};
    struct store_search q = {.clauses = &cl, .nclauses = 1, .rows = 1};
    struct store_search_result res;
    struct err err = ERR_INIT;
    size_t i;

    for (i = 0; i < ARRAY_SIZE(tokens); i++)
        tokens[i] = "x";
    for (i = 0; i < ARRAY_SIZE(terms); i++)
        terms[i] = text_term(tokens, 1, false, STORE_COLUMN_ANY, false);
    assert_int_equal(store_dataset_search(f->s, &q, &res, &err), -ERR_SEARCH);
    assert_null(res.docs);
    err_clear(&err);
    /* Filters do not count (the catalog adds some for visibility). */
    terms[LIMIT_SEARCH_TERMS] = filter_term("tags", "x", false);
    terms[LIMIT_SEARCH_TERMS + 1] = filter_term("tags", "y", false);
    cl.nterms = LIMIT_SEARCH_TERMS + 2;
    assert_int_equal(store_dataset_search(f->s, &q, &res, &err), 0);
    assert_int_equal(res.count, 0);
    store_search_result_release(&res);
    /* Tokens in all. */
    terms[0] = text_term(tokens, LIMIT_SEARCH_QUERY + 1, true, STORE_COLUMN_ANY, false);
    cl.nterms = 1;
    assert_int_equal(store_dataset_search(f->s, &q, &res, &err), -ERR_SEARCH);
    err_clear(&err);
    terms[0].ntokens = LIMIT_SEARCH_QUERY;
    assert_int_equal(store_dataset_search(f->s, &q, &res, &err), 0);
    store_search_result_release(&res);
}

/* Counts and facets are cached per store version: a commit here or in another store
 * (another process) is seen at once, and changing a result does not change the cache. */
static void test_search_cache(void **state)
{
    struct unit_store *f = *state;
    const char *fields[] = {"tags"};
    struct store_search q = {
            .rows = 1, .facet_fields = fields, .nfacet_fields = 1, .facet_limit = 10};
    struct store_search_result res;
    struct err err = ERR_INIT;
    struct store *other = NULL;
    struct ds a = {.id = "n1", .name = "new-one", .tags = {"fresh"}};
    struct ds b = {.id = "n2", .name = "new-two", .tags = {"fresh"}};

    load_search_set(f->s);
    assert_int_equal(store_dataset_search(f->s, &q, &res, &err), 0);
    assert_int_equal(res.count, 4);
    json_array_clear(json_object_get(res.facets, "tags"));
    store_search_result_release(&res);
    assert_int_equal(store_dataset_search(f->s, &q, &res, &err), 0);
    assert_int_equal(res.count, 4);
    assert_int_equal(json_array_size(json_object_get(res.facets, "tags")), 5);
    store_search_result_release(&res);

    put_ds_ok(f->s, &a);
    assert_int_equal(store_dataset_search(f->s, &q, &res, &err), 0);
    assert_int_equal(res.count, 5);
    assert_int_equal(json_array_size(json_object_get(res.facets, "tags")), 6);
    store_search_result_release(&res);

    assert_int_equal(store_open(&other, f->path, false, &err), 0);
    put_ds_ok(other, &b);
    store_free(other);
    assert_int_equal(store_dataset_search(f->s, &q, &res, &err), 0);
    assert_int_equal(res.count, 6);
    assert_string_equal(json_string_value(json_array_get(
                                json_array_get(json_object_get(res.facets, "tags"), 0), 0)),
                        "fresh");
    store_search_result_release(&res);

    /* Inside a write transaction: the uncommitted state, not the cache. */
    assert_int_equal(store_begin(f->s, &err), 0);
    assert_int_equal(store_dataset_purge(f->s, "n1", &err), 0);
    assert_int_equal(store_dataset_search(f->s, &q, &res, &err), 0);
    assert_int_equal(res.count, 5);
    store_search_result_release(&res);
    store_rollback(f->s);
    assert_int_equal(store_dataset_search(f->s, &q, &res, &err), 0);
    assert_int_equal(res.count, 6);
    store_search_result_release(&res);
}

/* A large filtered set pages by walking the sort index (the EXISTS form): same results. */
static void test_search_large_filtered(void **state)
{
    struct unit_store *f = *state;
    struct store_term t = filter_term("tags", "even", false);
    struct store_clause cl = {&t, 1};
    struct store_search q = {.sort = STORE_SORT_MODIFIED,
                             .descending = true,
                             .rows = 3,
                             .clauses = &cl,
                             .nclauses = 1};
    struct err err = ERR_INIT;
    char id[32], name[32], mod[40];
    int i;

    assert_int_equal(store_begin(f->s, &err), 0);
    for (i = 0; i < 2400; i++) {
        struct ds d = {.id = id, .name = name, .modified = mod, .tags = {i % 2 ? "odd" : "even"}};

        xsnprintf(id, sizeof(id), "L%d", i);
        xsnprintf(name, sizeof(name), "large-%04d", i);
        xsnprintf(mod, sizeof(mod), "2024-01-01T00:%02d:%02d", i / 60, i % 60);
        assert_int_equal(put_ds(f->s, &d, &err), 0);
    }
    assert_int_equal(store_commit(f->s, &err), 0);

    ASSERT_SEARCH(f->s, &q, "large-2398 large-2396 large-2394", 1200);
    q.descending = false;
    q.start = 2;
    ASSERT_SEARCH(f->s, &q, "large-0004 large-0006 large-0008", 1200);
    t.negate = true;
    ASSERT_SEARCH(f->s, &q, "large-0005 large-0007 large-0009", 1200);
    /* OR of filters in the EXISTS form. */
    t.negate = false;
    {
        struct store_term two[2] = {filter_term("tags", "even", false),
                                    filter_term("tags", "odd", false)};
        struct store_clause cl2 = {two, 2};

        q.clauses = &cl2;
        ASSERT_SEARCH(f->s, &q, "large-0002 large-0003 large-0004", 2400);
        q.clauses = &cl;
    }
    /* Past the middle: the IN form; the same answer. */
    q.start = 1197;
    ASSERT_SEARCH(f->s, &q, "large-2394 large-2396 large-2398", 1200);
}

/*
 * The paths a full-text search may take outside a write transaction (the whole ranked
 * list, cached, then sliced; the list of the text alone narrowed by filter clauses;
 * facets counted over a list) give what the SQL of the reference path gives: inside a
 * write transaction nothing is cached and count, page and facets come from SQL.
 * The corpus has many equal scores and equal modification times, so the tie-breaks
 * (metadata_modified desc, rid desc) decide most of the order.
 */
static char *search_signature(struct store *s, const struct store_search *q, bool reference)
{
    struct store_search_result res;
    struct err err = ERR_INIT;
    struct buf b = BUF_INIT;
    char *facets;
    size_t i;

    if (reference)
        assert_int_equal(store_begin(s, &err), 0);
    if (store_dataset_search(s, q, &res, &err))
        fail_msg("search: %s", err.msg);
    if (reference)
        store_rollback(s);
    buf_addf(&b, "%zu:", res.count);
    for (i = 0; i < json_array_size(res.docs); i++)
        buf_addf(&b, " %s", doc_str(json_array_get(res.docs, i), "name"));
    facets = json_dumps(res.facets, JSON_COMPACT | JSON_SORT_KEYS);
    buf_addf(&b, " %s", facets ? facets : "-");
    free(facets);
    store_search_result_release(&res);
    return buf_detach(&b, NULL);
}

/* Every page of q (and its count and facets) is the same on both paths, twice (the
 * second time from the cache). */
static void assert_paths_agree(struct store *s, struct store_search q)
{
    size_t start;

    for (start = 0; start < 260; start += q.rows ? q.rows : 260) {
        char *want, *got, *again;

        q.start = start;
        want = search_signature(s, &q, true);
        got = search_signature(s, &q, false);
        again = search_signature(s, &q, false);
        assert_string_equal(got, want);
        assert_string_equal(again, want);
        free(want);
        free(got);
        free(again);
    }
}

/*
 * raw_docs: each text of the page is exactly json_dumps(doc, JSON_COMPACT) of the parsed
 * document the same search gives without it, on the cached (list) path, the SQL path and
 * inside a write transaction; rows 0 gives none.
 */
static void assert_raw_matches(struct store *s, struct store_search q, bool in_tx)
{
    struct store_search_result parsed, raw;
    struct err err = ERR_INIT;
    size_t i;

    if (in_tx)
        assert_int_equal(store_begin(s, &err), 0);
    q.raw_docs = false;
    assert_int_equal(store_dataset_search(s, &q, &parsed, &err), 0);
    q.raw_docs = true;
    assert_int_equal(store_dataset_search(s, &q, &raw, &err), 0);
    if (in_tx)
        store_rollback(s);
    assert_int_equal(raw.count, parsed.count);
    assert_int_equal(json_array_size(raw.docs), json_array_size(parsed.docs));
    for (i = 0; i < json_array_size(raw.docs); i++) {
        json_t *t = json_array_get(raw.docs, i);
        char *want = json_dumps(json_array_get(parsed.docs, i), JSON_COMPACT);

        assert_true(json_is_string(t));
        assert_int_equal(json_string_length(t), strlen(want));
        assert_memory_equal(json_string_value(t), want, strlen(want));
        free(want);
    }
    store_search_result_release(&parsed);
    store_search_result_release(&raw);
}

static void test_search_raw_docs(void **state)
{
    struct unit_store *f = *state;
    struct store_term t[1];
    struct store_clause cl[1] = {{&t[0], 1}};
    struct store_search q = {.sort = STORE_SORT_NAME, .rows = 10, .clauses = cl};
    size_t start;

    load_search_set(f->s);
    t[0] = TEXT("traffic");
    for (start = 0; start < 5; start++) {
        q.start = start;
        q.rows = 2;
        q.nclauses = 0;
        assert_raw_matches(f->s, q, false);
        assert_raw_matches(f->s, q, true);
        q.nclauses = 1;
        q.sort = STORE_SORT_SCORE;
        assert_raw_matches(f->s, q, false); /* ranked once, then a slice of the list */
        assert_raw_matches(f->s, q, false);
        assert_raw_matches(f->s, q, true);
        q.sort = STORE_SORT_NAME;
    }
    q.rows = 0;
    assert_raw_matches(f->s, q, false);
}

static void test_search_ranked_paths(void **state)
{
    struct unit_store *f = *state;
    static const char *const titles[] = {"alpha", "alpha beta", "beta gamma", "alpha alpha"};
    const char *fields[] = {"tags", "organization"};
    const char *orgs[] = {"o1"};
    const char *alpha[] = {"alpha"}, *beta[] = {"beta"}, *common[] = {"common"};
    struct store_term t[4];
    struct store_clause cl[2];
    struct store_search q = {.clauses = cl, .rows = 7};
    struct err err = ERR_INIT;
    char id[16], name[16], mod[40], org[8], year[16];
    int i;

    assert_int_equal(store_begin(f->s, &err), 0);
    for (i = 0; i < 240; i++) {
        struct ds d = {.id = id,
                       .name = name,
                       .org = org,
                       .modified = mod,
                       .priv = i % 10 == 3,
                       .state = i % 15 == 4   ? "draft"
                                : i % 20 == 5 ? "deleted"
                                              : "active",
                       .fts_title = titles[i % 4],
                       .fts_tags = i % 3 ? "alpha" : "delta",
                       .fts_text = "common words",
                       .tags = {i % 2 ? "odd" : "even", year}};

        xsnprintf(id, sizeof(id), "R%d", i);
        xsnprintf(name, sizeof(name), "ranked-%03d", i);
        xsnprintf(mod, sizeof(mod), "2024-01-0%dT00:00:00", 1 + i % 7);
        xsnprintf(org, sizeof(org), "o%d", i % 3);
        xsnprintf(year, sizeof(year), "y%d", i % 5);
        assert_int_equal(put_ds(f->s, &d, &err), 0);
    }
    assert_int_equal(store_commit(f->s, &err), 0);

    /* One word, sorted by score both ways, then by name and by modified. */
    t[0] = text_term(alpha, 1, false, STORE_COLUMN_ANY, false);
    cl[0] = (struct store_clause){&t[0], 1};
    q.nclauses = 1;
    assert_paths_agree(f->s, q);
    q.descending = true;
    assert_paths_agree(f->s, q);
    q.sort = STORE_SORT_NAME;
    assert_paths_agree(f->s, q);
    q.sort = STORE_SORT_MODIFIED;
    q.descending = false;
    assert_paths_agree(f->s, q);
    q.sort = STORE_SORT_SCORE;
    q.descending = true;

    /* Two words ORed in the ranked clause; a word in one column. */
    t[1] = text_term(beta, 1, false, STORE_COLUMN_ANY, false);
    cl[0] = (struct store_clause){&t[0], 2};
    assert_paths_agree(f->s, q);
    t[0] = text_term(alpha, 1, false, STORE_COLUMN_TAGS, false);
    cl[0] = (struct store_clause){&t[0], 1};
    assert_paths_agree(f->s, q);
    t[0] = text_term(alpha, 1, false, STORE_COLUMN_ANY, false);

    /* A word and a filter clause (the list of the word narrowed), an OR of filters. */
    t[2] = filter_term("tags", "even", false);
    t[3] = filter_term("tags", "y3", false);
    cl[1] = (struct store_clause){&t[2], 1};
    q.nclauses = 2;
    assert_paths_agree(f->s, q);
    cl[1] = (struct store_clause){&t[2], 2};
    assert_paths_agree(f->s, q);
    /* A negated filter and a filter ORed with text: the whole query ranked in SQL. */
    t[2].negate = true;
    assert_paths_agree(f->s, q);
    t[2] = text_term(common, 1, false, STORE_COLUMN_ANY, false);
    t[3] = filter_term("tags", "y3", false);
    assert_paths_agree(f->s, q);
    t[2] = filter_term("tags", "even", false);

    /* Counts and facets alone, and with a page; facet ties ordered by value. */
    q.facet_fields = fields;
    q.nfacet_fields = 2;
    q.facet_limit = 3;
    assert_paths_agree(f->s, q);
    q.nclauses = 1;
    q.facet_limit = 50;
    assert_paths_agree(f->s, q);
    q.rows = 0;
    assert_paths_agree(f->s, q);
    q.nclauses = 2;
    assert_paths_agree(f->s, q);
    q.rows = 7;

    /* Private datasets and drafts of an organization, and of all. */
    q.vis.org_ids = orgs;
    q.vis.norg_ids = 1;
    q.vis.include_drafts = true;
    assert_paths_agree(f->s, q);
    q.nclauses = 1;
    assert_paths_agree(f->s, q);
    q.vis = (struct store_visibility){.all = true};
    assert_paths_agree(f->s, q);
    q.nclauses = 2;
    assert_paths_agree(f->s, q);

    /* A change is seen at once: the cached list belongs to the old version. */
    q.vis = (struct store_visibility){0};
    assert_int_equal(store_begin(f->s, &err), 0);
    assert_int_equal(store_dataset_purge(f->s, "R0", &err), 0);
    assert_int_equal(store_commit(f->s, &err), 0);
    assert_paths_agree(f->s, q);
    q.nclauses = 1;
    assert_paths_agree(f->s, q);
}

/* Schema version 2 adds datasets_brief: a database left at version 1 (every object of
 * later versions dropped) gets it on open, keeps its datasets, and searches as before. */
static void test_migrate_from_1(void **state)
{
    static const char *const v1[] = {
            "meta",
            "schema_version",
            "groups",
            "datasets",
            "datasets_modified",
            "datasets_created",
            "datasets_title",
            "datasets_owner_org",
            "datasets_public_modified",
            "datasets_public_name",
            "dataset_facets",
            "dataset_facets_value",
            "dataset_resources",
            "dataset_resources_dataset",
            "datasets_fts_delete",
            "users",
            "tokens",
            "tokens_user",
            "members",
            "members_user",
    };
    struct unit_store *f = *state;
    const char *alpha[] = {"alpha"};
    struct store_term t = text_term(alpha, 1, false, STORE_COLUMN_ANY, false);
    struct store_clause cl = {&t, 1};
    struct store_search q = {.clauses = &cl, .nclauses = 1, .rows = 10};
    struct ds a = {.id = "m1", .name = "migrated", .fts_title = "alpha", .tags = {"x"}};
    struct err err = ERR_INIT;
    struct buf drop = BUF_INIT;
    sqlite3_stmt *st = NULL;
    sqlite3 *db = NULL;
    int v = 0;
    size_t i;

    put_ds_ok(f->s, &a);
    store_free(f->s);
    f->s = NULL;
    assert_int_equal(sqlite3_open(f->path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_prepare_v2(db,
                                        "SELECT type, name FROM sqlite_master WHERE type IN"
                                        " ('table', 'index', 'trigger', 'view') AND name NOT"
                                        " LIKE 'sqlite_%' AND name NOT LIKE 'dataset_fts%'",
                                        -1, &st, NULL),
                     SQLITE_OK);
    while (sqlite3_step(st) == SQLITE_ROW) {
        const char *type = (const char *)sqlite3_column_text(st, 0);
        const char *obj = (const char *)sqlite3_column_text(st, 1);
        bool old = false;

        for (i = 0; i < ARRAY_SIZE(v1); i++)
            old = old || !strcmp(v1[i], obj);
        if (!old)
            buf_addf(&drop, "DROP %s IF EXISTS \"%s\";", type, obj);
    }
    sqlite3_finalize(st);
    sqlite3_close(db);
    assert_non_null(strstr(drop.buf, "datasets_brief"));
    buf_addstr(&drop, "UPDATE schema_version SET version = 1;");
    raw_exec(f->path, drop.buf);
    buf_release(&drop);
    assert_int_equal(raw_count(f->path, "SELECT count(*) FROM sqlite_master"
                                        " WHERE name = 'datasets_brief'"),
                     0);

    assert_int_equal(store_open(&f->s, f->path, false, &err), 0);
    assert_int_equal(store_schema_version(f->s, &v, &err), 0);
    assert_int_equal(v, STORE_SCHEMA_VERSION);
    assert_int_equal(raw_count(f->path, "SELECT count(*) FROM sqlite_master"
                                        " WHERE name = 'datasets_brief'"),
                     1);
    ASSERT_SEARCH(f->s, &q, "migrated", 1);
}

/* ---- Derived texts ----------------------------------------------------------------------- */

/* The derived texts of a name-ordered search of every public dataset under key: into
 * texts (JSON null where none), and the stored docs into docs. */
static void derived_search(struct store *s, const uint8_t *key, json_t **texts, json_t **docs)
{
    struct store_search q = {
            .rows = 10, .sort = STORE_SORT_NAME, .raw_docs = true, .derived_key = key};
    struct store_search_result r = {0};
    struct err err = ERR_INIT;

    if (store_dataset_search(s, &q, &r, &err))
        fail_msg("search: %s", err.msg);
    assert_non_null(r.derived);
    assert_int_equal(json_array_size(r.derived), json_array_size(r.docs));
    *texts = json_incref(r.derived);
    *docs = json_incref(r.docs);
    store_search_result_release(&r);
}

static void test_derived_texts(void **state)
{
    struct unit_store *f = *state;
    uint8_t key[STORE_DERIVED_KEY], other[STORE_DERIVED_KEY];
    struct ds b = {.id = "d2", .name = "b-plain"};
    struct store_dataset d = {0};
    struct err err = ERR_INIT;
    json_t *texts, *docs;
    static const char text[] = "entry \x01 with\0bytes";

    memset(key, 7, sizeof(key));
    memset(other, 8, sizeof(other));
    put_ds_ok(f->s, &b);
    /* Put with its derived text (any bytes) in the same transaction. */
    d.doc = json_pack("{s:s, s:s}", "id", "d1", "name", "a-derived");
    d.id = "d1";
    d.name = "a-derived";
    d.state = "active";
    d.derived = text;
    d.derived_len = sizeof(text) - 1;
    d.derived_key = key;
    assert_int_equal(store_begin(f->s, &err), 0);
    assert_int_equal(store_dataset_put(f->s, &d, &err), 0);
    assert_int_equal(store_commit(f->s, &err), 0);
    derived_search(f->s, key, &texts, &docs);
    assert_int_equal(json_array_size(texts), 2);
    assert_int_equal(json_string_length(json_array_get(texts, 0)), sizeof(text) - 1);
    assert_memory_equal(json_string_value(json_array_get(texts, 0)), text, sizeof(text) - 1);
    /* The document is not read where the text is; the other has its document. */
    assert_true(json_is_null(json_array_get(docs, 0)));
    assert_true(json_is_null(json_array_get(texts, 1)));
    assert_non_null(strstr(json_string_value(json_array_get(docs, 1)), "b-plain"));
    json_decref(texts);
    json_decref(docs);
    /* Another key: no text, the document. */
    derived_search(f->s, other, &texts, &docs);
    assert_true(json_is_null(json_array_get(texts, 0)));
    assert_non_null(strstr(json_string_value(json_array_get(docs, 0)), "a-derived"));
    json_decref(texts);
    json_decref(docs);
    /* Stored back by id, for the other key, outside a put. */
    assert_int_equal(store_begin(f->s, &err), 0);
    assert_int_equal(store_dataset_derived_put(f->s, "d2", other, "b", 1, &err), 0);
    assert_int_equal(store_dataset_derived_put(f->s, "gone", other, "x", 1, &err), 0);
    assert_int_equal(store_commit(f->s, &err), 0);
    derived_search(f->s, other, &texts, &docs);
    assert_string_equal(json_string_value(json_array_get(texts, 1)), "b");
    json_decref(texts);
    json_decref(docs);
    /* A put without one removes the old one: a stale text never outlives a write. */
    d.derived = NULL;
    assert_int_equal(store_begin(f->s, &err), 0);
    assert_int_equal(store_dataset_put(f->s, &d, &err), 0);
    assert_int_equal(store_commit(f->s, &err), 0);
    assert_int_equal(raw_count(f->path, "SELECT count(*) FROM dataset_derived"), 1);
    /* A purge takes it with the dataset. */
    assert_int_equal(store_begin(f->s, &err), 0);
    assert_int_equal(store_dataset_purge(f->s, "d2", &err), 0);
    assert_int_equal(store_commit(f->s, &err), 0);
    assert_int_equal(raw_count(f->path, "SELECT count(*) FROM dataset_derived"), 0);
    /* Without a key, the search gives no derived texts. */
    {
        struct store_search q = {.rows = 10, .raw_docs = true};
        struct store_search_result r = {0};

        assert_int_equal(store_dataset_search(f->s, &q, &r, &err), 0);
        assert_null(r.derived);
        store_search_result_release(&r);
    }
    json_decref(d.doc);
}

/* The page of a name-ordered search of every public dataset, with summaries or not. */
static json_t *summary_search(struct store *s, bool summaries)
{
    struct store_search q = {.rows = 10, .sort = STORE_SORT_NAME, .summaries = summaries};
    struct store_search_result r = {0};
    struct err err = ERR_INIT;
    json_t *docs;

    if (store_dataset_search(s, &q, &r, &err))
        fail_msg("search: %s", err.msg);
    docs = json_incref(r.docs);
    store_search_result_release(&r);
    return docs;
}

/* Search summaries (store_dataset.summary, store_search.summaries): kept with the dataset,
 * read instead of its document, the document where there is none; replaced, removed and
 * purged with it; made from the stored documents by the migration that adds them. */
static void test_dataset_summaries(void **state)
{
    struct unit_store *f = *state;
    struct ds b = {.id = "s2", .name = "b-plain"};
    struct store_dataset d = {0};
    struct err err = ERR_INIT;
    json_t *docs, *sum;
    int v = 0;

    put_ds_ok(f->s, &b);
    d.doc = json_pack("{s:s, s:s, s:s, s:[{s:s, s:s}]}", "id", "s1", "name", "a-summed", "title",
                      "Summed", "resources", "format", "CSV", "url", "http://example.org/a.csv");
    d.id = "s1";
    d.name = "a-summed";
    d.state = "active";
    d.summary = "{\"name\":\"a-summed\",\"shown\":true}";
    assert_int_equal(store_begin(f->s, &err), 0);
    assert_int_equal(store_dataset_put(f->s, &d, &err), 0);
    assert_int_equal(store_commit(f->s, &err), 0);
    assert_int_equal(raw_count(f->path, "SELECT count(*) FROM dataset_summaries"), 1);

    docs = summary_search(f->s, true);
    assert_int_equal(json_array_size(docs), 2);
    assert_true(json_is_true(json_object_get(json_array_get(docs, 0), "shown")));
    assert_null(json_object_get(json_array_get(docs, 0), "id"));
    /* No summary: the document. */
    assert_string_equal(doc_str(json_array_get(docs, 1), "id"), "s2");
    json_decref(docs);
    docs = summary_search(f->s, false);
    assert_string_equal(doc_str(json_array_get(docs, 0), "id"), "s1");
    assert_null(json_object_get(json_array_get(docs, 0), "shown"));
    json_decref(docs);

    /* A put without one removes it: a stale summary never outlives a write. */
    d.summary = NULL;
    assert_int_equal(store_begin(f->s, &err), 0);
    assert_int_equal(store_dataset_put(f->s, &d, &err), 0);
    assert_int_equal(store_commit(f->s, &err), 0);
    assert_int_equal(raw_count(f->path, "SELECT count(*) FROM dataset_summaries"), 0);
    docs = summary_search(f->s, true);
    assert_string_equal(doc_str(json_array_get(docs, 0), "id"), "s1");
    json_decref(docs);

    /* The migration makes one for each stored dataset from its document. */
    store_free(f->s);
    f->s = NULL;
    raw_exec(f->path, "DROP TABLE dataset_summaries; UPDATE schema_version SET version = 13;");
    assert_int_equal(store_open(&f->s, f->path, false, &err), 0);
    assert_int_equal(store_schema_version(f->s, &v, &err), 0);
    assert_int_equal(v, STORE_SCHEMA_VERSION);
    assert_int_equal(raw_count(f->path, "SELECT count(*) FROM dataset_summaries"), 2);
    docs = summary_search(f->s, true);
    sum = json_array_get(docs, 0);
    assert_string_equal(doc_str(sum, "name"), "a-summed");
    assert_string_equal(doc_str(sum, "title"), "Summed");
    assert_null(json_object_get(sum, "id"));
    assert_int_equal(json_array_size(json_object_get(sum, "resources")), 1);
    assert_string_equal(doc_str(json_array_get(json_object_get(sum, "resources"), 0), "format"),
                        "CSV");
    assert_null(json_object_get(json_array_get(json_object_get(sum, "resources"), 0), "url"));
    assert_string_equal(doc_str(json_array_get(docs, 1), "name"), "b-plain");
    assert_null(json_object_get(json_array_get(docs, 1), "id"));
    json_decref(docs);

    /* A purge takes it with the dataset. */
    assert_int_equal(store_begin(f->s, &err), 0);
    assert_int_equal(store_dataset_purge(f->s, "s1", &err), 0);
    assert_int_equal(store_commit(f->s, &err), 0);
    assert_int_equal(raw_count(f->path, "SELECT count(*) FROM dataset_summaries"), 1);
    json_decref(d.doc);
}

/* ---- Tags, counts ------------------------------------------------------------------------ */
static void test_tags_and_counts(void **state)
{
    struct unit_store *f = *state;
    struct err err = ERR_INIT;
    json_t *tags = NULL, *want;
    size_t n = 99;
    struct ds g = {.id = "g1d", .name = "grouped", .org = "transport"};
    struct store_facet facet = {"groups", "mobility"};
    struct store_dataset d = {0};

    load_search_set(f->s);
    assert_int_equal(store_tag_list(f->s, NULL, &tags, &err), 0);
    want = json_pack("[s,s,s,s,s]", "air", "bus", "health", "roads", "traffic");
    assert_true(json_equal(tags, want));
    json_decref(want);
    json_decref(tags);
    assert_int_equal(store_tag_list(f->s, "ro", &tags, &err), 0);
    want = json_pack("[s]", "roads");
    assert_true(json_equal(tags, want));
    json_decref(want);
    json_decref(tags);
    assert_int_equal(store_tag_list(f->s, "%", &tags, &err), 0);
    assert_int_equal(json_array_size(tags), 0);
    json_decref(tags);

    assert_int_equal(store_group_dataset_count(f->s, true, "transport", &n, &err), 0);
    assert_int_equal(n, 2);
    assert_int_equal(store_group_dataset_count(f->s, true, "nobody", &n, &err), 0);
    assert_int_equal(n, 0);

    /* Groups are counted through their facet rows (by group name or id). */
    assert_int_equal(store_begin(f->s, &err), 0);
    assert_int_equal(put_group(f->s, "grp-1", "mobility", false, "active", &err), 0);
    d.id = g.id;
    d.name = g.name;
    d.state = "active";
    d.title = "Grouped";
    d.doc = json_pack("{s:s}", "name", "grouped");
    d.facets = &facet;
    d.nfacets = 1;
    assert_int_equal(store_dataset_put(f->s, &d, &err), 0);
    json_decref(d.doc);
    assert_int_equal(store_commit(f->s, &err), 0);
    assert_int_equal(store_group_dataset_count(f->s, false, "grp-1", &n, &err), 0);
    assert_int_equal(n, 1);
}

/* ---- Users, tokens, members -------------------------------------------------------------- */
static void test_users_tokens_members(void **state)
{
    struct unit_store *f = *state;
    struct err err = ERR_INIT;
    struct store_user u1 = {"u1",  "alice",  "Alice A",     "a@example.org",
                            false, "active", "$argon2id$x", "2024-01-01"};
    struct store_user u2 = {"u2", "bob", NULL, NULL, true, "active", NULL, NULL};
    json_t *user = NULL, *list = NULL, *want;
    char cap[16];

    assert_int_equal(store_begin(f->s, &err), 0);
    assert_int_equal(store_user_put(f->s, &u1, &err), 0);
    assert_int_equal(store_user_put(f->s, &u2, &err), 0);
    assert_int_equal(put_group(f->s, "o1", "transport", true, "active", &err), 0);
    assert_int_equal(put_group(f->s, "o2", "health", true, "active", &err), 0);
    assert_int_equal(put_group(f->s, "g1", "themes", false, "active", &err), 0);
    assert_int_equal(store_token_put(f->s, "t1", "u1", "hash-1", "cli", "2024-01-02", &err), 0);
    assert_int_equal(store_token_put(f->s, "t2", "u2", "hash-2", NULL, NULL, &err), 0);
    assert_int_equal(store_member_set(f->s, "o1", "u1", "editor", &err), 0);
    assert_int_equal(store_member_set(f->s, "o2", "u1", "member", &err), 0);
    assert_int_equal(store_member_set(f->s, "g1", "u1", "admin", &err), 0);
    assert_int_equal(store_commit(f->s, &err), 0);

    assert_int_equal(store_user_get(f->s, "alice", &user, &err), 0);
    want = json_pack("{s:s, s:s, s:s, s:s, s:b, s:s, s:s}", "id", "u1", "name", "alice", "fullname",
                     "Alice A", "email", "a@example.org", "sysadmin", 0, "state", "active",
                     "created", "2024-01-01");
    assert_true(json_equal(user, want));
    assert_null(json_object_get(user, "password_hash"));
    json_decref(want);
    json_decref(user);
    assert_int_equal(store_user_get(f->s, "u2", &user, &err), 0);
    assert_true(json_is_true(json_object_get(user, "sysadmin")));
    assert_true(json_is_null(json_object_get(user, "email")));
    json_decref(user);
    assert_int_equal(store_user_get(f->s, "carol", &user, &err), -ERR_NOT_FOUND);
    err_clear(&err);
    assert_int_equal(store_user_list(f->s, &list, &err), 0);
    assert_int_equal(json_array_size(list), 2);
    assert_string_equal(doc_str(json_array_get(list, 1), "name"), "bob");
    json_decref(list);

    /* Conflicts and missing references. */
    assert_int_equal(store_begin(f->s, &err), 0);
    u2.name = "alice";
    assert_int_equal(store_user_put(f->s, &u2, &err), -ERR_CONFLICT);
    assert_string_equal(err.msg, "user name \"alice\" is already in use");
    err_clear(&err);
    assert_int_equal(store_token_put(f->s, "t3", "u9", "hash-3", NULL, NULL, &err), -ERR_NOT_FOUND);
    err_clear(&err);
    assert_int_equal(store_token_put(f->s, "t3", "u1", "hash-1", NULL, NULL, &err), -ERR_CONFLICT);
    err_clear(&err);
    assert_int_equal(store_member_set(f->s, "o9", "u1", "admin", &err), -ERR_NOT_FOUND);
    err_clear(&err);
    assert_int_equal(store_member_set(f->s, "o1", "u1", "owner", &err), -ERR_VALIDATION);
    err_clear(&err);
    store_rollback(f->s);
    u2.name = "bob";

    /* Tokens. */
    assert_int_equal(store_token_user(f->s, "hash-1", &user, &err), 0);
    assert_string_equal(doc_str(user, "name"), "alice");
    json_decref(user);
    assert_int_equal(store_token_user(f->s, "hash-x", &user, &err), -ERR_NOT_FOUND);
    err_clear(&err);

    /* Memberships: organizations only in member_orgs, by name. */
    assert_int_equal(store_member_get(f->s, "o1", "u1", cap, sizeof(cap), &err), 0);
    assert_string_equal(cap, "editor");
    assert_int_equal(store_member_get(f->s, "o1", "u2", cap, sizeof(cap), &err), -ERR_NOT_FOUND);
    err_clear(&err);
    assert_int_equal(store_member_orgs(f->s, "u1", &list, &err), 0);
    want = json_pack("[{s:s, s:s}, {s:s, s:s}]", "id", "o2", "capacity", "member", "id", "o1",
                     "capacity", "editor");
    assert_true(json_equal(list, want));
    json_decref(want);
    json_decref(list);

    /* Change, remove, revoke, and a deleted user's token no longer works. */
    assert_int_equal(store_begin(f->s, &err), 0);
    assert_int_equal(store_member_set(f->s, "o1", "u1", "admin", &err), 0);
    assert_int_equal(store_member_set(f->s, "o2", "u1", NULL, &err), 0);
    assert_int_equal(store_token_revoke(f->s, "t1", &err), 0);
    assert_int_equal(store_token_revoke(f->s, "t1", &err), -ERR_NOT_FOUND);
    err_clear(&err);
    u2.state = "deleted";
    assert_int_equal(store_user_put(f->s, &u2, &err), 0);
    assert_int_equal(store_commit(f->s, &err), 0);
    assert_int_equal(store_member_get(f->s, "o1", "u1", cap, sizeof(cap), &err), 0);
    assert_string_equal(cap, "admin");
    assert_int_equal(store_member_orgs(f->s, "u1", &list, &err), 0);
    assert_int_equal(json_array_size(list), 1);
    json_decref(list);
    assert_int_equal(store_token_user(f->s, "hash-1", &user, &err), -ERR_NOT_FOUND);
    err_clear(&err);
    assert_int_equal(store_token_user(f->s, "hash-2", &user, &err), -ERR_NOT_FOUND);
    err_clear(&err);
}

/* ---- Version and threads ----------------------------------------------------------------- */
static void test_version_other_writer(void **state)
{
    struct unit_store *f = *state;
    struct err err = ERR_INIT;
    struct store *other = NULL;
    uint64_t v0, v1;
    struct ds a = {.id = "d1", .name = "one"};

    v0 = store_version(f->s);
    /* Another store on the same file stands for another process (kaifang load). */
    assert_int_equal(store_open(&other, f->path, false, &err), 0);
    put_ds_ok(other, &a);
    v1 = store_version(f->s);
    assert_true(v1 != v0);
    assert_true(store_version(other) == v1);
    /* A rolled-back transaction in the other store changes nothing. */
    assert_int_equal(store_begin(other, &err), 0);
    a.id = "d2";
    a.name = "two";
    assert_int_equal(put_ds(other, &a, &err), 0);
    store_rollback(other);
    assert_true(store_version(f->s) == v1);
    store_free(other);
}

/* store_catalog_version(): the ledger's own commits leave it, every other commit moves
 * it (store_version() moves at every commit). */
static void test_catalog_version(void **state)
{
    struct unit_store *f = *state;
    struct err err = ERR_INIT;
    struct store *other = NULL;
    uint8_t leaf[STORE_LEDGER_HASH] = {1}, hashes[1][STORE_LEDGER_HASH] = {{2}};
    uint64_t v0, c0, v, c, idx = 0, n = 0;
    struct ds a = {.id = "d1", .name = "one"};

    v0 = store_version(f->s);
    c0 = store_catalog_version(f->s);
    /* A catalog write moves both. */
    put_ds_ok(f->s, &a);
    v = store_version(f->s);
    c = store_catalog_version(f->s);
    assert_true(v != v0);
    assert_true(c != c0);
    /* An entry alone (a restricted read's): only store_version(). */
    assert_int_equal(store_begin(f->s, &err), 0);
    assert_int_equal(store_ledger_stage(f->s, "{}", 2, leaf, &idx, &err), 0);
    assert_int_equal(store_commit(f->s, &err), 0);
    assert_true(store_version(f->s) != v);
    assert_true(store_catalog_version(f->s) == c);
    v = store_version(f->s);
    /* An integration's rows alone: the same. */
    assert_int_equal(store_begin(f->s, &err), 0);
    assert_int_equal(store_ledger_tile_put(f->s, 0, 0, hashes, 1, &err), 0);
    assert_int_equal(store_ledger_checkpoint_put(f->s, 1, hashes[0], "note\n", "t", &err), 0);
    assert_int_equal(store_commit(f->s, &err), 0);
    assert_true(store_version(f->s) != v);
    assert_true(store_catalog_version(f->s) == c);
    v = store_version(f->s);
    /* store_ledger_append(): the same, and the entry is there when it returns. */
    assert_int_equal(store_ledger_append(f->s, "{\"a\":1}", 7, leaf, &idx, &err), 0);
    assert_int_equal(idx, 1);
    assert_int_equal(store_ledger_count(f->s, &n, &err), 0);
    assert_int_equal(n, 2);
    assert_true(store_version(f->s) != v);
    assert_true(store_catalog_version(f->s) == c);
    v = store_version(f->s);
    /* An entry with a change (every catalog write has one): both move. */
    assert_int_equal(store_begin(f->s, &err), 0);
    assert_int_equal(store_ledger_stage(f->s, "{}", 2, leaf, &idx, &err), 0);
    a.name = "one-renamed";
    assert_int_equal(put_ds(f->s, &a, &err), 0);
    assert_int_equal(store_commit(f->s, &err), 0);
    assert_true(store_version(f->s) != v);
    assert_true(store_catalog_version(f->s) != c);
    v = store_version(f->s);
    c = store_catalog_version(f->s);
    /* The change first, the entry after: both move. */
    assert_int_equal(store_begin(f->s, &err), 0);
    assert_int_equal(store_member_set(f->s, "g", "u", NULL, &err), 0);
    assert_int_equal(store_ledger_stage(f->s, "{}", 2, leaf, &idx, &err), 0);
    assert_int_equal(store_commit(f->s, &err), 0);
    assert_true(store_catalog_version(f->s) != c);
    c = store_catalog_version(f->s);
    v = store_version(f->s);
    /* A transaction that wrote nothing counts as a change, as before. */
    assert_int_equal(store_begin(f->s, &err), 0);
    assert_int_equal(store_commit(f->s, &err), 0);
    assert_true(store_catalog_version(f->s) != c);
    c = store_catalog_version(f->s);
    v = store_version(f->s);
    /* A rolled-back change moves neither; the next entry alone still leaves the catalog
     * version (the rolled-back write is forgotten). */
    assert_int_equal(store_begin(f->s, &err), 0);
    assert_int_equal(put_ds(f->s, &(struct ds){.id = "d9", .name = "nine"}, &err), 0);
    store_rollback(f->s);
    assert_true(store_version(f->s) == v);
    assert_true(store_catalog_version(f->s) == c);
    assert_int_equal(store_ledger_append(f->s, "{}", 2, leaf, &idx, &err), 0);
    assert_true(store_catalog_version(f->s) == c);
    assert_true(store_version(f->s) != v);
    /* Another process (another store on the file) sees the same counters. */
    assert_int_equal(store_open(&other, f->path, false, &err), 0);
    assert_true(store_catalog_version(other) == c);
    assert_true(store_version(other) == store_version(f->s));
    a.name = "one-again";
    put_ds_ok(other, &a);
    assert_true(store_catalog_version(f->s) != c);
    store_free(other);
}

/* store_ledger_append() under KAIFANG_FAIL_STORE_AT: a failed stage or commit stores
 * nothing and says so; the next append works. */
static void test_ledger_append_failure(void **state)
{
    struct unit_store *f = *state;
    struct err err = ERR_INIT;
    uint8_t leaf[STORE_LEDGER_HASH] = {3};
    uint64_t idx = 7, n = 0, v;

    for (uint64_t at = 1; at <= 2; at++) {
        v = store_version(f->s);
        f->s->fail_at = at; /* 1: the stage, 2: the commit */
        store_fail_count_reset();
        assert_int_equal(store_ledger_append(f->s, "{}", 2, leaf, &idx, &err), -ERR_INTERNAL);
        assert_non_null(strstr(err.msg, "injected"));
        err_clear(&err);
        assert_int_equal(idx, 0);
        assert_int_equal(store_ledger_count(f->s, &n, &err), 0);
        assert_int_equal(n, 0);
        assert_true(store_version(f->s) == v);
    }
    f->s->fail_at = 0;
    assert_int_equal(store_ledger_append(f->s, "{}", 2, leaf, &idx, &err), 0);
    assert_int_equal(store_ledger_count(f->s, &n, &err), 0);
    assert_int_equal(n, 1);
}

#define APPEND_THREADS 8
#define APPEND_EACH    150

struct append_arg {
    struct store *s;
    int t;
    int errors;
    uint64_t idx[APPEND_EACH];
};

static void *append_main(void *p)
{
    struct append_arg *a = p;
    uint8_t leaf[STORE_LEDGER_HASH] = {0};
    char text[64];

    for (int i = 0; i < APPEND_EACH; i++) {
        struct err err = ERR_INIT;
        int len = snprintf(text, sizeof(text), "{\"t\":%d,\"i\":%d}", a->t, i);

        leaf[0] = (uint8_t)a->t;
        leaf[1] = (uint8_t)i;
        if (store_ledger_append(a->s, text, (size_t)len, leaf, &a->idx[i], &err))
            a->errors++;
    }
    return NULL;
}

/* Concurrent store_ledger_append() (group commit): every entry stored once, at the index
 * its caller was given, none lost, none twice; catalog writers in between. */
static void test_ledger_append_concurrent(void **state)
{
    struct unit_store *f = *state;
    struct append_arg args[APPEND_THREADS];
    pthread_t th[APPEND_THREADS];
    struct store_ledger_entry *e = NULL, *part = NULL;
    struct err err = ERR_INIT;
    uint64_t n = 0, c0 = store_catalog_version(f->s), at;
    char expect[64];
    bool *seen;
    size_t got = 0, k = 0, i;
    int t;

    for (t = 0; t < APPEND_THREADS; t++) {
        args[t] = (struct append_arg){.s = f->s, .t = t};
        assert_int_equal(pthread_create(&th[t], NULL, append_main, &args[t]), 0);
    }
    /* A catalog write among them takes the same write lock. */
    put_ds_ok(f->s, &(struct ds){.id = "c1", .name = "concurrent"});
    for (t = 0; t < APPEND_THREADS; t++)
        pthread_join(th[t], NULL);
    assert_int_equal(store_ledger_count(f->s, &n, &err), 0);
    assert_int_equal(n, APPEND_THREADS * APPEND_EACH);
    e = xcalloc(n, sizeof(*e));
    for (at = 0; at < n; at += k) {
        assert_int_equal(
                store_ledger_entries(f->s, at, n - at > 256 ? at + 256 : n, &part, &k, &err), 0);
        assert_true(k > 0);
        memcpy(e + at, part, k * sizeof(*part));
        free(part); /* the entries' texts now belong to e */
        got += k;
    }
    assert_int_equal(got, n);
    seen = xcalloc(n, sizeof(*seen));
    for (t = 0; t < APPEND_THREADS; t++) {
        assert_int_equal(args[t].errors, 0);
        for (i = 0; i < APPEND_EACH; i++) {
            uint64_t x = args[t].idx[i];

            assert_true(x < n);
            assert_false(seen[x]);
            seen[x] = true;
            snprintf(expect, sizeof(expect), "{\"t\":%d,\"i\":%zu}", t, i);
            assert_int_equal(e[x].len, strlen(expect));
            assert_memory_equal(e[x].entry, expect, e[x].len);
            assert_int_equal(e[x].leaf_hash[0], t);
            assert_int_equal(e[x].leaf_hash[1], (uint8_t)i);
            /* One caller's entries in the order it appended them. */
            if (i)
                assert_true(x > args[t].idx[i - 1]);
        }
    }
    free(seen);
    store_ledger_entries_free(e, got);
    /* Only the one catalog write moved the catalog version. */
    assert_true(store_catalog_version(f->s) == c0 + 1);
}

struct reader_arg {
    struct store *s;
    atomic_int *stop;
    int errors;
    size_t reads;
};

static void *reader_main(void *p)
{
    struct reader_arg *r = p;
    struct store_search q = {.sort = STORE_SORT_MODIFIED, .descending = true, .rows = 5};
    struct store_search_result res;
    size_t last = 0;
    json_t *doc = NULL;

    while (!atomic_load(r->stop) || r->reads < 20) {
        struct err err = ERR_INIT;

        if (store_dataset_search(r->s, &q, &res, &err)) {
            r->errors++;
            continue;
        }
        /* Committed writes only add datasets: the count never goes back. */
        if (res.count < last || json_array_size(res.docs) > 5)
            r->errors++;
        last = res.count;
        store_search_result_release(&res);
        if (store_dataset_get(r->s, "c-0", &doc, &err) == 0)
            json_decref(doc);
        else if (err.kind != ERR_NOT_FOUND)
            r->errors++;
        (void)store_version(r->s);
        r->reads++;
    }
    return NULL;
}

static void *writer_main(void *p)
{
    struct reader_arg *w = p;
    char id[32], name[32];
    int i;

    for (i = 0; i < 60; i++) {
        struct err err = ERR_INIT;
        struct ds d = {.id = id, .name = name, .fts_title = "concurrent"};

        xsnprintf(id, sizeof(id), "cid-%d", i);
        xsnprintf(name, sizeof(name), "c-%d", i);
        if (store_begin(w->s, &err) || put_ds(w->s, &d, &err) || store_commit(w->s, &err)) {
            store_rollback(w->s);
            w->errors++;
        }
    }
    return NULL;
}

static void test_concurrency(void **state)
{
    struct unit_store *f = *state;
    atomic_int stop = 0;
    struct reader_arg readers[4], writer = {f->s, &stop, 0, 0};
    pthread_t rt[4], wt;
    struct store_search q = {.rows = 0};
    struct store_search_result res;
    struct err err = ERR_INIT;
    size_t i;

    for (i = 0; i < 4; i++) {
        readers[i] = (struct reader_arg){f->s, &stop, 0, 0};
        assert_int_equal(pthread_create(&rt[i], NULL, reader_main, &readers[i]), 0);
    }
    assert_int_equal(pthread_create(&wt, NULL, writer_main, &writer), 0);
    pthread_join(wt, NULL);
    atomic_store(&stop, 1);
    for (i = 0; i < 4; i++) {
        pthread_join(rt[i], NULL);
        assert_int_equal(readers[i].errors, 0);
        assert_true(readers[i].reads >= 20);
    }
    assert_int_equal(writer.errors, 0);
    assert_int_equal(store_dataset_search(f->s, &q, &res, &err), 0);
    assert_int_equal(res.count, 60);
    store_search_result_release(&res);
}

struct peek_arg {
    struct store *s;
    int rc;
};

static void *peek_main(void *p)
{
    struct peek_arg *a = p;
    struct err err = ERR_INIT;
    json_t *doc = NULL;

    a->rc = store_dataset_get(a->s, "uncommitted", &doc, &err);
    json_decref(doc);
    return NULL;
}

/* Other threads do not see a transaction's writes before commit. */
static void test_isolation(void **state)
{
    struct unit_store *f = *state;
    struct err err = ERR_INIT;
    struct peek_arg a = {f->s, 0};
    struct ds d = {.id = "u", .name = "uncommitted"};
    pthread_t t;

    assert_int_equal(store_begin(f->s, &err), 0);
    assert_int_equal(put_ds(f->s, &d, &err), 0);
    assert_int_equal(pthread_create(&t, NULL, peek_main, &a), 0);
    pthread_join(t, NULL);
    assert_int_equal(a.rc, -ERR_NOT_FOUND);
    assert_int_equal(store_commit(f->s, &err), 0);
    assert_int_equal(pthread_create(&t, NULL, peek_main, &a), 0);
    pthread_join(t, NULL);
    assert_int_equal(a.rc, 0);
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
            cmocka_unit_test_setup_teardown(test_search_boolean, setup, teardown),
            cmocka_unit_test_setup_teardown(test_search_terms, setup, teardown),
            cmocka_unit_test_setup_teardown(test_search_visibility, setup, teardown),
            cmocka_unit_test_setup_teardown(test_search_filters, setup, teardown),
            cmocka_unit_test_setup_teardown(test_search_sort_paging, setup, teardown),
            cmocka_unit_test_setup_teardown(test_search_facets, setup, teardown),
            cmocka_unit_test_setup_teardown(test_search_limits, setup, teardown),
            cmocka_unit_test_setup_teardown(test_search_cache, setup, teardown),
            cmocka_unit_test_setup_teardown(test_search_large_filtered, setup, teardown),
            cmocka_unit_test_setup_teardown(test_search_ranked_paths, setup, teardown),
            cmocka_unit_test_setup_teardown(test_migrate_from_1, setup, teardown),
            cmocka_unit_test_setup_teardown(test_search_raw_docs, setup, teardown),
            cmocka_unit_test_setup_teardown(test_derived_texts, setup, teardown),
            cmocka_unit_test_setup_teardown(test_dataset_summaries, setup, teardown),
            cmocka_unit_test_setup_teardown(test_tags_and_counts, setup, teardown),
            cmocka_unit_test_setup_teardown(test_users_tokens_members, setup, teardown),
            cmocka_unit_test_setup_teardown(test_version_other_writer, setup, teardown),
            cmocka_unit_test_setup_teardown(test_catalog_version, setup, teardown),
            cmocka_unit_test_setup_teardown(test_ledger_append_failure, setup, teardown),
            cmocka_unit_test_setup_teardown(test_ledger_append_concurrent, setup, teardown),
            cmocka_unit_test_setup_teardown(test_concurrency, setup, teardown),
            cmocka_unit_test_setup_teardown(test_isolation, setup, teardown),
    };

    log_set_level(LOG_ERROR);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
