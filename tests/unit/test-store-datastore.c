/*
 * test-store-datastore.c - the store's datastore tables (store-datastore.h) against real
 * table files in a temporary portal directory: builds (every type, large and odd-sized
 * rows, checked with PRAGMA integrity_check), the atomic swap, searches, full text,
 * writes in place, the ingest status, failure injection, and datastore_search_sql with
 * the injection corpus of tests/data/datastore/sql-injection.txt.
 */
#include <dirent.h>
#include <fcntl.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <sys/file.h>
#include <unistd.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "catalog/catalog.h"
#include "core/buf.h"
#include "core/limits.h"
#include "core/log.h"
#include "store/store-datastore.h"
#include "store/store-int.h"
#include "store/store-sqlite-datastore-int.h"
#include "core/util.h"
#include "unit-util.h"

#define RID_A "6f1c7a52-0d3e-4f59-9a0b-1c2d3e4f5a6b"
#define RID_B "0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d"
#define RID_P "ffffffff-1111-4222-8333-444444444444"
#define HEX_A "6f1c7a520d3e4f599a0b1c2d3e4f5a6b"

static int setup(void **state)
{
    int rc = unit_store_setup(state, "storeds");

    if (!rc)
        store_ds_set_tokenizer(((struct unit_store *)*state)->s, catalog_search_text);
    return rc;
}

static int teardown(void **state)
{
    return unit_store_teardown(state);
}

/* ---- Helpers ---------------------------------------------------------------------------- */

static char *table_path(const struct unit_store *u, const char *id)
{
    return xstrfmt("%s/datastore/%s.db", u->dir, id);
}

/* PRAGMA integrity_check of a table file: "ok" or the first problem. */
static void assert_integrity(const struct unit_store *u, const char *id)
{
    char *path = table_path(u, id);
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;

    assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &st, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    if (strcmp((const char *)sqlite3_column_text(st, 0), "ok"))
        fail_msg("integrity_check of %s: %s", id, sqlite3_column_text(st, 0));
    sqlite3_finalize(st);
    sqlite3_close(db);
    free(path);
}

/* A scalar from a table file, opened directly (as another process would). */
static long long raw_int(const struct unit_store *u, const char *id, const char *sql)
{
    char *path = table_path(u, id);
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    long long n = -1;

    assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
    if (sqlite3_step(st) == SQLITE_ROW)
        n = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    sqlite3_close(db);
    free(path);
    return n;
}

/* The names in <dir>/datastore, sorted, space-separated. */
static char *dir_listing(const struct unit_store *u)
{
    char *dir = xstrfmt("%s/datastore", u->dir);
    json_t *names = json_array();
    struct buf out = BUF_INIT;
    struct dirent *e;
    DIR *d = opendir(dir);
    size_t i;
    json_t *v;

    while (d && (e = readdir(d)))
        if (e->d_name[0] != '.')
            json_array_append_new(names, json_string(e->d_name));
    if (d)
        closedir(d);
    /* Sort with a simple insertion sort: a handful of names. */
    for (i = 1; i < json_array_size(names); i++) {
        for (size_t j = i; j > 0; j--) {
            json_t *a = json_array_get(names, j - 1), *b = json_array_get(names, j);

            if (strcmp(json_string_value(a), json_string_value(b)) <= 0)
                break;
            json_incref(a);
            json_array_set(names, j - 1, b);
            json_array_set_new(names, j, a);
        }
    }
    json_array_foreach (names, i, v) {
        buf_addstr(&out, i ? " " : "");
        buf_addstr(&out, json_string_value(v));
    }
    json_decref(names);
    free(dir);
    return buf_detach(&out, NULL);
}

/* Whether the process has a file open whose path ends with name. */
static bool holds_file(const char *name)
{
    DIR *d = opendir("/proc/self/fd");
    struct dirent *e;
    bool found = false;

    assert_non_null(d);
    while ((e = readdir(d))) {
        char *p = xstrfmt("/proc/self/fd/%s", e->d_name);
        char target[4096];
        ssize_t n = readlink(p, target, sizeof(target) - 1);

        free(p);
        if (n <= 0)
            continue;
        target[n] = 0;
        if (strstr(target, name))
            found = true;
    }
    closedir(d);
    return found;
}

static bool has_build_files(const struct unit_store *u)
{
    char *list = dir_listing(u);
    bool found = strstr(list, ".build-") != NULL;

    free(list);
    return found;
}

/* A text value (NULL: SQL NULL). */
static struct dsvalue tv(const char *s)
{
    struct dsvalue v = {0};

    if (s) {
        v.kind = DSVALUE_TEXT;
        v.s = s;
        v.len = strlen(s);
    }
    return v;
}

static struct dsvalue iv(int64_t i)
{
    struct dsvalue v = {DSVALUE_INT, i, NULL, 0};

    return v;
}

/*
 * Builds a table: nfields fields, rows as text (NULL: SQL NULL; int8 fields as decimal
 * text), pk as a comma-free list of field ids (NULL: none). Returns the commit's result.
 */
struct table_spec {
    const struct store_ds_field *fields;
    size_t nfields;
    const char *const *pk;
    size_t npk;
    bool fulltext;
    const char *const *indexes[4];
    size_t index_sizes[4];
    size_t nindexes;
    bool fulltext_later;
};

static int build_rows(struct store *s, const char *id, const struct table_spec *t,
                      const char *const *rows, size_t nrows, struct err *err)
{
    struct store_ds_table_def def = {0};
    struct store_ds_build *b = NULL;
    struct dsvalue *vals = xcalloc(t->nfields + 1, sizeof(*vals));
    uint64_t n = 0;
    int rc;

    def.fields = t->fields;
    def.nfields = t->nfields;
    def.primary_key = t->pk;
    def.nprimary_key = t->npk;
    def.indexes = t->indexes;
    def.index_sizes = t->index_sizes;
    def.nindexes = t->nindexes;
    def.fulltext = t->fulltext;
    def.fulltext_later = t->fulltext_later;
    def.tokenize = catalog_search_text;
    rc = store_ds_build_begin(s, id, &def, &b, err);
    for (size_t i = 0; !rc && i < nrows; i++) {
        for (size_t j = 0; j < t->nfields; j++)
            vals[j] = tv(rows[i * t->nfields + j]);
        rc = store_ds_build_row(b, vals, err);
    }
    if (rc)
        store_ds_build_abort(b);
    else
        rc = store_ds_build_commit(b, NULL, &n, err);
    if (!rc)
        assert_int_equal(n, nrows);
    free(vals);
    return rc;
}

/* The rows of a cursor as a JSON array of arrays (INT → integer, TEXT → string). Frees c. */
static json_t *collect(struct store_ds_cursor *c)
{
    json_t *rows = json_array();
    const struct dsvalue *v;
    struct err err = ERR_INIT;
    int rc;

    while ((rc = store_ds_cursor_next(c, &v, &err)) == 1) {
        json_t *row = json_array();

        for (size_t i = 0; i < store_ds_cursor_ncolumns(c); i++) {
            if (v[i].kind == DSVALUE_INT)
                json_array_append_new(row, json_integer(v[i].i));
            else if (v[i].kind == DSVALUE_TEXT)
                json_array_append_new(row, json_stringn(v[i].s, v[i].len));
            else
                json_array_append_new(row, json_null());
        }
        json_array_append_new(rows, row);
    }
    if (rc < 0)
        fail_msg("cursor: %s", err.msg);
    store_ds_cursor_free(c);
    return rows;
}

static void assert_json(json_t *got, const char *want_text)
{
    json_error_t jerr;
    json_t *want = json_loads(want_text, 0, &jerr);
    char *g;

    if (!want)
        fail_msg("bad expected JSON: %s: %s", jerr.text, want_text);
    if (!json_equal(got, want)) {
        g = json_dumps(got, JSON_COMPACT | JSON_ENCODE_ANY);
        fail_msg("got %s\nwant %s", g, want_text);
    }
    json_decref(want);
    json_decref(got);
}

/* Runs a search and returns its rows as JSON; *total when asked. */
static json_t *search(struct store *s, const struct store_ds_query *q, uint64_t *total)
{
    struct store_ds_cursor *c = NULL;
    struct err err = ERR_INIT;

    if (store_ds_search(s, q, &c, total, &err))
        fail_msg("search: %s", err.msg);
    return collect(c);
}

/* The error of a search that must fail. */
static int search_fails(struct store *s, const struct store_ds_query *q, struct err *err)
{
    struct store_ds_cursor *c = NULL;
    int rc = store_ds_search(s, q, &c, NULL, err);

    assert_null(c);
    return rc;
}

static const struct store_ds_field people_fields[] = {
        {"name", DSTYPE_TEXT},
        {"amount", DSTYPE_NUMERIC},
        {"n", DSTYPE_INT8},
};
static const struct table_spec people = {people_fields, 3, NULL, 0, true, {NULL}, {0}, 0, false};

static void build_people(struct store *s, const char *id)
{
    static const char *const rows[] = {
            "alice", "0.5",  "3",   /**/
            "bob",   "10",   "1",   /**/
            "carol", "2.25", NULL,  /**/
            "dave",  ".097", "-7",  /**/
            "erin",  NULL,   "3",   /**/
            "alice", "0.50", "100", /**/
            "frank", "-1e2", "42",  /**/
    };
    struct err err = ERR_INIT;

    if (build_rows(s, id, &people, rows, ARRAY_SIZE(rows) / 3, &err))
        fail_msg("build: %s", err.msg);
}

/* ---- Builds ----------------------------------------------------------------------------- */

static void test_build_types(void **state)
{
    struct unit_store *u = *state;
    static const struct store_ds_field fields[] = {
            {"text", DSTYPE_TEXT}, {"int", DSTYPE_INT8},  {"num", DSTYPE_NUMERIC},
            {"flag", DSTYPE_BOOL}, {"day", DSTYPE_DATE},  {"at", DSTYPE_TIMESTAMP},
            {"doc", DSTYPE_JSON},  {"名称", DSTYPE_TEXT},
    };
    struct store_ds_table_def def = {
            fields, ARRAY_SIZE(fields), NULL, 0, NULL, NULL, 0, false, NULL, false};
    struct store_ds_build *b = NULL;
    struct store_ds_query q = {.resource_id = RID_A};
    struct store_ds_info info;
    struct err err = ERR_INIT;
    json_t *meta = json_pack("{s:{s:s}}", "fields_info", "text", "label");
    struct dsvalue v[8];
    uint64_t n = 0;

    assert_int_equal(store_ds_build_begin(u->s, RID_A, &def, &b, &err), 0);
    v[0] = tv("plain");
    v[1] = iv(INT64_MAX);
    v[2] = tv("315.70");
    v[3] = tv("true");
    v[4] = tv("2024-02-29");
    v[5] = tv("2024-02-29T23:59:59.123456+08:00");
    v[6] = tv("{\"a\": [1, 2.50]}");
    v[7] = tv("北京市 🐼 naïve");
    assert_int_equal(store_ds_build_row(b, v, &err), 0);
    v[0] = tv("");
    v[1] = iv(INT64_MIN);
    v[2] = tv(".097");
    v[3] = tv("false");
    v[4] = tv(NULL);
    v[5] = tv(NULL);
    v[6] = tv("null");
    v[7] = tv(NULL);
    assert_int_equal(store_ds_build_row(b, v, &err), 0);
    v[0] = tv(NULL);
    v[1] = tv("-9223372036854775808");
    v[2] = tv("1e-3");
    v[3] = tv(NULL);
    v[4] = tv("0001-01-01");
    v[5] = tv("1970-01-01T00:00:00Z");
    v[6] = tv("[]");
    v[7] = tv("x");
    assert_int_equal(store_ds_build_row(b, v, &err), 0);
    v[1] = tv("9223372036854775807");
    v[2] = iv(12); /* an integer given for a numeric field: its decimal text */
    v[0] = iv(-5);
    assert_int_equal(store_ds_build_row(b, v, &err), 0);
    v[1] = iv(0);
    v[2] = tv("-0.000");
    assert_int_equal(store_ds_build_row(b, v, &err), 0);
    v[1] = iv(1);
    assert_int_equal(store_ds_build_row(b, v, &err), 0);
    /* Not an int8: refused, and the build goes on. */
    v[1] = tv("12.5");
    assert_int_equal(store_ds_build_row(b, v, &err), -ERR_VALIDATION);
    assert_non_null(strstr(err.msg, "\"12.5\""));
    err_clear(&err);
    v[1] = tv("99999999999999999999");
    assert_int_equal(store_ds_build_row(b, v, &err), -ERR_VALIDATION);
    err_clear(&err);
    v[1] = iv(-1);
    assert_int_equal(store_ds_build_row(b, v, &err), 0);
    assert_int_equal(store_ds_build_commit(b, meta, &n, &err), 0);
    assert_int_equal(n, 7);
    json_decref(meta);
    assert_integrity(u, RID_A);

    assert_json(search(u->s, &q, NULL),
                "[[1, \"plain\", 9223372036854775807, \"315.70\", \"true\", \"2024-02-29\","
                "  \"2024-02-29T23:59:59.123456+08:00\", \"{\\\"a\\\": [1, 2.50]}\","
                "  \"北京市 🐼 naïve\"],"
                " [2, \"\", -9223372036854775808, \".097\", \"false\", null, null, \"null\", null],"
                " [3, null, -9223372036854775808, \"1e-3\", null, \"0001-01-01\","
                "  \"1970-01-01T00:00:00Z\", \"[]\", \"x\"],"
                " [4, \"-5\", 9223372036854775807, \"12\", null, \"0001-01-01\","
                "  \"1970-01-01T00:00:00Z\", \"[]\", \"x\"],"
                " [5, \"-5\", 0, \"-0.000\", null, \"0001-01-01\","
                "  \"1970-01-01T00:00:00Z\", \"[]\", \"x\"],"
                " [6, \"-5\", 1, \"-0.000\", null, \"0001-01-01\","
                "  \"1970-01-01T00:00:00Z\", \"[]\", \"x\"],"
                " [7, \"-5\", -1, \"-0.000\", null, \"0001-01-01\","
                "  \"1970-01-01T00:00:00Z\", \"[]\", \"x\"]]");

    /* Column names and types. */
    {
        struct store_ds_cursor *c = NULL;
        static const char *const names[] = {"_id", "text", "int", "num", "flag",
                                            "day", "at",   "doc", "名称"};
        static const enum dstype types[] = {DSTYPE_INT8,      DSTYPE_TEXT, DSTYPE_INT8,
                                            DSTYPE_NUMERIC,   DSTYPE_BOOL, DSTYPE_DATE,
                                            DSTYPE_TIMESTAMP, DSTYPE_JSON, DSTYPE_TEXT};

        assert_int_equal(store_ds_search(u->s, &q, &c, NULL, &err), 0);
        assert_int_equal(store_ds_cursor_ncolumns(c), 9);
        for (size_t i = 0; i < 9; i++) {
            assert_string_equal(store_ds_cursor_column(c, i), names[i]);
            assert_int_equal(store_ds_cursor_type(c, i), types[i]);
        }
        assert_false(store_ds_cursor_truncated(c));
        store_ds_cursor_free(c);
    }

    assert_int_equal(store_ds_info(u->s, RID_A, &info, &err), 0);
    assert_int_equal(info.rows, 7);
    assert_int_equal(info.generation, 1);
    assert_json(json_incref(info.fields),
                "[{\"id\": \"text\", \"type\": \"text\"}, {\"id\": \"int\", \"type\": \"int8\"},"
                " {\"id\": \"num\", \"type\": \"numeric\"}, {\"id\": \"flag\", \"type\": \"bool\"},"
                " {\"id\": \"day\", \"type\": \"date\"}, {\"id\": \"at\", \"type\": \"timestamp\"},"
                " {\"id\": \"doc\", \"type\": \"json\"}, {\"id\": \"名称\", \"type\": \"text\"}]");
    assert_json(json_incref(info.meta), "{\"fields_info\": {\"text\": \"label\"}}");
    assert_json(json_incref(info.primary_key), "[]");
    assert_json(json_incref(info.indexes), "[]");
    store_ds_info_release(&info);
    assert_false(has_build_files(u));
}

/* Bad definitions are refused at begin. */
static void test_build_def_errors(void **state)
{
    struct unit_store *u = *state;
    struct store_ds_field fields[3] = {{"a", DSTYPE_TEXT}, {"B", DSTYPE_INT8}, {"b", DSTYPE_TEXT}};
    const char *pk[] = {"zz"};
    struct store_ds_table_def def = {fields, 3, NULL, 0, NULL, NULL, 0, false, NULL, false};
    struct store_ds_build *b = NULL;
    struct err err = ERR_INIT;

    /* Case-insensitive duplicates. */
    assert_int_equal(store_ds_build_begin(u->s, RID_A, &def, &b, &err), -ERR_VALIDATION);
    assert_null(b);
    assert_string_equal(err.field, "fields");
    err_clear(&err);
    def.nfields = 2;
    fields[0].id = "_x";
    assert_int_equal(store_ds_build_begin(u->s, RID_A, &def, &b, &err), -ERR_VALIDATION);
    err_clear(&err);
    fields[0].id = "";
    assert_int_equal(store_ds_build_begin(u->s, RID_A, &def, &b, &err), -ERR_VALIDATION);
    err_clear(&err);
    fields[0].id = "0123456789012345678901234567890123456789012345678901234567890123";
    assert_int_equal(store_ds_build_begin(u->s, RID_A, &def, &b, &err), -ERR_VALIDATION);
    err_clear(&err);
    fields[0].id = "a";
    def.primary_key = pk;
    def.nprimary_key = 1;
    assert_int_equal(store_ds_build_begin(u->s, RID_A, &def, &b, &err), -ERR_VALIDATION);
    assert_string_equal(err.field, "primary_key");
    assert_non_null(strstr(err.msg, "\"zz\""));
    err_clear(&err);
    def.nprimary_key = 0;
    /* Resource ids become file names: UUIDs only. */
    assert_int_equal(store_ds_build_begin(u->s, "../../etc/passwd", &def, &b, &err),
                     -ERR_VALIDATION);
    err_clear(&err);
    assert_int_equal(store_ds_build_begin(u->s, RID_A "x", &def, &b, &err), -ERR_VALIDATION);
    err_clear(&err);
    assert_int_equal(
            store_ds_build_begin(u->s, "6f1c7a52-0d3e-4f59-9a0b-1c2d3e4f5a6g", &def, &b, &err),
            -ERR_VALIDATION);
    assert_false(has_build_files(u));
}

/* Rows of every size around the page's overflow thresholds, a three-level tree, a wide
 * table whose schema spills from page 1: all read back whole, and the files pass
 * SQLite's integrity check. */
static void test_build_layout(void **state)
{
    struct unit_store *u = *state;
    static const struct store_ds_field one[] = {{"v", DSTYPE_TEXT}};
    struct store_ds_table_def def = {one, 1, NULL, 0, NULL, NULL, 0, false, NULL, false};
    static const size_t sizes[] = {0,    1,    100,  3978,  3979,  4050,  4055, 4056,
                                   4057, 4060, 4061, 4062,  4063,  4100,  4500, 8153,
                                   8154, 8155, 8200, 12000, 65536, 300000};
    struct store_ds_query q = {.resource_id = RID_A};
    struct store_ds_build *b = NULL;
    struct err err = ERR_INIT;
    struct dsvalue v;
    char *big = xmalloc(300010);
    json_t *rows;
    size_t i, k;

    for (i = 0; i < 300010; i++)
        big[i] = (char)('a' + (i * 7919) % 26);
    assert_int_equal(store_ds_build_begin(u->s, RID_A, &def, &b, &err), 0);
    /* Each size several times, interleaved with small rows, so that leaves fill at
     * every offset. */
    for (k = 0; k < 5; k++) {
        for (i = 0; i < ARRAY_SIZE(sizes); i++) {
            v.kind = DSVALUE_TEXT;
            v.s = big + k;
            v.len = sizes[i];
            assert_int_equal(store_ds_build_row(b, &v, &err), 0);
            v.len = k * 3;
            assert_int_equal(store_ds_build_row(b, &v, &err), 0);
        }
    }
    assert_int_equal(store_ds_build_commit(b, NULL, NULL, &err), 0);
    assert_integrity(u, RID_A);
    rows = search(u->s, &q, NULL);
    assert_int_equal(json_array_size(rows), 5 * 2 * ARRAY_SIZE(sizes));
    for (k = 0; k < 5; k++) {
        for (i = 0; i < ARRAY_SIZE(sizes); i++) {
            json_t *r = json_array_get(rows, (k * ARRAY_SIZE(sizes) + i) * 2);
            json_t *small = json_array_get(rows, (k * ARRAY_SIZE(sizes) + i) * 2 + 1);

            assert_int_equal(json_integer_value(json_array_get(r, 0)),
                             (k * ARRAY_SIZE(sizes) + i) * 2 + 1);
            assert_int_equal(json_string_length(json_array_get(r, 1)), sizes[i]);
            assert_memory_equal(json_string_value(json_array_get(r, 1)), big + k, sizes[i]);
            assert_int_equal(json_string_length(json_array_get(small, 1)), k * 3);
        }
    }
    json_decref(rows);

    /* 300,000 tiny rows: three levels of interior pages. */
    {
        static const struct store_ds_field f[] = {{"i", DSTYPE_INT8}};
        struct store_ds_table_def d2 = {f, 1, NULL, 0, NULL, NULL, 0, false, NULL, false};
        struct store_ds_query q2 = {.resource_id = RID_B, .offset = 299990, .limit = 20};
        int64_t n;

        assert_int_equal(store_ds_build_begin(u->s, RID_B, &d2, &b, &err), 0);
        for (n = 0; n < 300000; n++) {
            v = iv(n % 3 == 0 ? n : -n * 1000003);
            assert_int_equal(store_ds_build_row(b, &v, &err), 0);
        }
        assert_int_equal(store_ds_build_commit(b, NULL, NULL, &err), 0);
        assert_integrity(u, RID_B);
        assert_int_equal(
                raw_int(u, RID_B, "SELECT count(*) FROM t_0a1b2c3d4e5f4a6b8c7d9e0f1a2b3c4d"),
                300000);
        assert_int_equal(raw_int(u, RID_B,
                                 "SELECT sum(c_1 = CASE WHEN (_id - 1) % 3 = 0 THEN _id - 1"
                                 " ELSE -(_id - 1) * 1000003 END) FROM"
                                 " t_0a1b2c3d4e5f4a6b8c7d9e0f1a2b3c4d"),
                         300000);
        assert_json(search(u->s, &q2, NULL),
                    "[[299991, -299990899970], [299992, 299991], [299993, -299992899976],"
                    " [299994, -299993899979], [299995, 299994], [299996, -299995899985],"
                    " [299997, -299996899988], [299998, 299997], [299999, -299998899994],"
                    " [300000, -299999899997]]");
    }

    /* LIMIT_DATASTORE_FIELDS fields: the CREATE TABLE overflows page 1. */
    {
        struct store_ds_field *f = xcalloc(LIMIT_DATASTORE_FIELDS, sizeof(*f));
        struct dsvalue *vals = xcalloc(LIMIT_DATASTORE_FIELDS, sizeof(*vals));
        char **ids = xcalloc(LIMIT_DATASTORE_FIELDS, sizeof(*ids));
        struct store_ds_table_def d3 = {0};
        struct store_ds_info info;

        for (i = 0; i < LIMIT_DATASTORE_FIELDS; i++) {
            ids[i] = xstrfmt("field number %zu with a long name", i);
            f[i].id = ids[i];
            f[i].type = i % 2 ? DSTYPE_INT8 : DSTYPE_TEXT;
            vals[i] = i % 2 ? iv((int64_t)i) : tv(ids[i]);
        }
        d3.fields = f;
        d3.nfields = LIMIT_DATASTORE_FIELDS;
        assert_int_equal(store_ds_build_begin(u->s, RID_P, &d3, &b, &err), 0);
        for (i = 0; i < 3; i++)
            assert_int_equal(store_ds_build_row(b, vals, &err), 0);
        assert_int_equal(store_ds_build_commit(b, NULL, NULL, &err), 0);
        assert_integrity(u, RID_P);
        assert_int_equal(store_ds_info(u->s, RID_P, &info, &err), 0);
        assert_int_equal(json_array_size(info.fields), LIMIT_DATASTORE_FIELDS);
        assert_int_equal(info.rows, 3);
        store_ds_info_release(&info);
        q.resource_id = RID_P;
        rows = search(u->s, &q, NULL);
        assert_int_equal(json_array_size(json_array_get(rows, 2)), LIMIT_DATASTORE_FIELDS + 1);
        assert_string_equal(json_string_value(json_array_get(json_array_get(rows, 2), 999)),
                            "field number 998 with a long name");
        assert_int_equal(json_integer_value(json_array_get(json_array_get(rows, 2), 1000)), 999);
        json_decref(rows);
        /* One more field is refused. */
        d3.nfields = LIMIT_DATASTORE_FIELDS + 1;
        d3.fields = xrealloc(f, (LIMIT_DATASTORE_FIELDS + 1) * sizeof(*f));
        f = (struct store_ds_field *)d3.fields;
        f[LIMIT_DATASTORE_FIELDS].id = "one more";
        f[LIMIT_DATASTORE_FIELDS].type = DSTYPE_TEXT;
        assert_int_equal(store_ds_build_begin(u->s, RID_P, &d3, &b, &err), -ERR_VALIDATION);
        for (i = 0; i < LIMIT_DATASTORE_FIELDS; i++)
            free(ids[i]);
        free(ids);
        free(f);
        free(vals);
    }
    /* An empty table. */
    assert_int_equal(store_ds_build_begin(u->s, RID_A, &def, &b, &err), 0);
    assert_int_equal(store_ds_build_commit(b, NULL, NULL, &err), 0);
    assert_integrity(u, RID_A);
    q.resource_id = RID_A;
    assert_json(search(u->s, &q, NULL), "[]");
    free(big);
}

/* A file past 1 GiB: the lock-byte page (the one holding the byte at 1 GiB) is skipped,
 * also inside an overflow chain. */
static void test_build_past_lock_page(void **state)
{
    struct unit_store *u = *state;
    static const struct store_ds_field one[] = {{"v", DSTYPE_TEXT}};
    struct store_ds_table_def def = {one, 1, NULL, 0, NULL, NULL, 0, false, NULL, false};
    const size_t size = 4u << 20;
    struct store_ds_build *b = NULL;
    struct err err = ERR_INIT;
    char *big = xmalloc(size);
    struct dsvalue v = {DSVALUE_TEXT, 0, big, size};
    char num[16];

    memset(big, 'x', size);
    assert_int_equal(store_ds_build_begin(u->s, RID_A, &def, &b, &err), 0);
    for (int i = 1; i <= 260; i++) {
        xsnprintf(num, sizeof(num), "%08d", i);
        memcpy(big, num, 8);
        memcpy(big + size - 8, num, 8);
        assert_int_equal(store_ds_build_row(b, &v, &err), 0);
    }
    assert_int_equal(store_ds_build_commit(b, NULL, NULL, &err), 0);
    assert_true(raw_int(u, RID_A, "PRAGMA page_count") > (1 << 30) / 4096 + 1);
    assert_integrity(u, RID_A);
    assert_int_equal(raw_int(u, RID_A,
                             "SELECT count(*) FROM t_" HEX_A " WHERE length(c_1) = 4194304"
                             " AND substr(c_1, 1, 8) = printf('%08d', _id)"
                             " AND substr(c_1, -8) = printf('%08d', _id)"),
                     260);
    free(big);
}

/* Random rows checked against a second copy made through SQLite's own INSERT. */
static void test_build_random(void **state)
{
    struct unit_store *u = *state;
    static const struct store_ds_field f[] = {
            {"a", DSTYPE_INT8}, {"b", DSTYPE_TEXT}, {"c", DSTYPE_NUMERIC}, {"d", DSTYPE_INT8}};
    struct store_ds_table_def def = {f, 4, NULL, 0, NULL, NULL, 0, false, NULL, false};
    struct store_ds_build *b = NULL;
    struct err err = ERR_INIT;
    uint64_t x = 88172645463325252ull;
    char *path = table_path(u, RID_A);
    char *text = xmalloc(20001);
    sqlite3 *db = NULL;
    sqlite3_stmt *ins = NULL;
    int64_t n;

    for (size_t i = 0; i < 20000; i++)
        text[i] = (char)(' ' + i % 90);
    assert_int_equal(store_ds_build_begin(u->s, RID_A, &def, &b, &err), 0);
    assert_int_equal(sqlite3_open(":memory:", &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db,
                                  "CREATE TABLE w(_id INTEGER PRIMARY KEY, a INTEGER, b TEXT,"
                                  " c, d INTEGER)",
                                  NULL, NULL, NULL),
                     SQLITE_OK);
    assert_int_equal(sqlite3_prepare_v2(db, "INSERT INTO w VALUES (?, ?, ?, ?, ?)", -1, &ins, NULL),
                     SQLITE_OK);
    for (n = 1; n <= 3000; n++) {
        struct dsvalue v[4];
        char num[32];
        int shift;

        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        shift = (int)(x % 64);
        v[0] = x % 11 == 0 ? tv(NULL) : iv((int64_t)(x >> shift) * (x & 1 ? -1 : 1));
        v[1] = x % 13 == 0 ? tv(NULL)
                           : (struct dsvalue){DSVALUE_TEXT, 0, text + x % 97,
                                              (x >> 8) % (x % 7 == 0 ? 19000 : 300)};
        xsnprintf(num, sizeof(num), "%" PRId64 ".%02d", (int64_t)(x % 100000) - 50000,
                  (int)(x % 100));
        v[2] = tv(num);
        v[3] = iv((int64_t)(x % 3));
        assert_int_equal(store_ds_build_row(b, v, &err), 0);
        sqlite3_bind_int64(ins, 1, n);
        for (int k = 0; k < 4; k++) {
            if (v[k].kind == DSVALUE_INT)
                sqlite3_bind_int64(ins, k + 2, v[k].i);
            else if (v[k].kind == DSVALUE_TEXT)
                sqlite3_bind_text(ins, k + 2, v[k].s, (int)v[k].len, SQLITE_TRANSIENT);
            else
                sqlite3_bind_null(ins, k + 2);
        }
        assert_int_equal(sqlite3_step(ins), SQLITE_DONE);
        sqlite3_reset(ins);
    }
    sqlite3_finalize(ins);
    assert_int_equal(store_ds_build_commit(b, NULL, NULL, &err), 0);
    assert_integrity(u, RID_A);
    {
        char *attach = xstrfmt("ATTACH '%s' AS x", path);
        sqlite3_stmt *st = NULL;

        assert_int_equal(sqlite3_exec(db, attach, NULL, NULL, NULL), SQLITE_OK);
        assert_int_equal(sqlite3_prepare_v2(db,
                                            "SELECT count(*) FROM w JOIN x.t_" HEX_A
                                            " t USING (_id)"
                                            " WHERE w.a IS t.c_1 AND w.b IS t.c_2 AND w.c IS t.c_3"
                                            " AND w.d IS t.c_4 AND typeof(w.a) = typeof(t.c_1)"
                                            " AND typeof(w.c) = typeof(t.c_3)",
                                            -1, &st, NULL),
                         SQLITE_OK);
        assert_int_equal(sqlite3_step(st), SQLITE_ROW);
        assert_int_equal(sqlite3_column_int64(st, 0), 3000);
        sqlite3_finalize(st);
        free(attach);
    }
    sqlite3_close(db);
    free(text);
    free(path);
}

/* ---- The swap ---------------------------------------------------------------------- */

static void test_atomic_replace(void **state)
{
    struct unit_store *u = *state;
    static const struct store_ds_field f[] = {{"k", DSTYPE_INT8}, {"v", DSTYPE_TEXT}};
    static const char *const pk[] = {"k"};
    struct table_spec spec = {f, 2, pk, 1, false, {NULL}, {0}, 0, false};
    static const char *const v1[] = {"1", "one", "2", "two", "3", "three"};
    static const char *const v2[] = {"10", "ten", "20", "twenty"};
    static const char *const dup[] = {"5", "x", "6", "y", "5", "z"};
    struct store_ds_query q = {.resource_id = RID_A};
    struct store_ds_cursor *old = NULL;
    const struct dsvalue *vals;
    struct store_ds_info info;
    struct err err = ERR_INIT;
    struct store_ds_build *b = NULL;
    struct store_ds_table_def def = {f, 2, NULL, 0, NULL, NULL, 0, false, NULL, false};

    assert_int_equal(build_rows(u->s, RID_A, &spec, v1, 3, &err), 0);
    /* A reader in the middle of the old table. */
    assert_int_equal(store_ds_search(u->s, &q, &old, NULL, &err), 0);
    assert_int_equal(store_ds_cursor_next(old, &vals, &err), 1);
    assert_int_equal(vals[1].i, 1);

    assert_int_equal(build_rows(u->s, RID_A, &spec, v2, 2, &err), 0);
    assert_json(search(u->s, &q, NULL), "[[1, 10, \"ten\"], [2, 20, \"twenty\"]]");
    /* The old cursor reads the old table to its end. */
    assert_int_equal(store_ds_cursor_next(old, &vals, &err), 1);
    assert_int_equal(vals[1].i, 2);
    assert_int_equal(store_ds_cursor_next(old, &vals, &err), 1);
    assert_string_equal(vals[2].s, "three");
    assert_int_equal(store_ds_cursor_next(old, &vals, &err), 0);
    store_ds_cursor_free(old);
    assert_int_equal(store_ds_info(u->s, RID_A, &info, &err), 0);
    assert_int_equal(info.generation, 2);
    assert_int_equal(info.rows, 2);
    store_ds_info_release(&info);

    /* A failed build (duplicate key) leaves the table as it was. */
    assert_int_equal(build_rows(u->s, RID_A, &spec, dup, 3, &err), -ERR_CONFLICT);
    assert_string_equal(err.field, "primary_key");
    assert_non_null(strstr(err.msg, "\"5\""));
    assert_non_null(strstr(err.msg, "\"k\""));
    err_clear(&err);
    assert_json(search(u->s, &q, NULL), "[[1, 10, \"ten\"], [2, 20, \"twenty\"]]");
    assert_false(has_build_files(u));

    /* An abandoned one too, and no file is left of either. */
    assert_int_equal(store_ds_build_begin(u->s, RID_A, &def, &b, &err), 0);
    {
        struct dsvalue v[2] = {iv(7), tv("seven")};

        assert_int_equal(store_ds_build_row(b, v, &err), 0);
    }
    assert_true(has_build_files(u));
    store_ds_build_abort(b);
    store_ds_build_abort(NULL);
    assert_false(has_build_files(u));
    assert_json(search(u->s, &q, NULL), "[[1, 10, \"ten\"], [2, 20, \"twenty\"]]");

    /* A key left empty is refused at the row. */
    assert_int_equal(store_ds_build_begin(u->s, RID_B,
                                          &(struct store_ds_table_def){f, 2, pk, 1, NULL, NULL, 0,
                                                                       false, NULL, false},
                                          &b, &err),
                     0);
    {
        struct dsvalue v[2] = {tv(NULL), tv("x")};

        assert_int_equal(store_ds_build_row(b, v, &err), -ERR_VALIDATION);
        assert_string_equal(err.field, "primary_key");
    }
    store_ds_build_abort(b);
    q.resource_id = RID_B;
    err_clear(&err);
    assert_int_equal(search_fails(u->s, &q, &err), -ERR_NOT_FOUND);
    assert_false(has_build_files(u));
}

/* Readers in several threads while another thread swaps tables in: every search sees one
 * whole table (three rows, all of the same build). */
struct swap_ctx {
    struct store *s;
    atomic_bool stop;
    atomic_int errors;
};

static void *swap_reader(void *arg)
{
    struct swap_ctx *x = arg;
    struct store_ds_query q = {.resource_id = RID_A, .total = true};

    while (!atomic_load(&x->stop)) {
        struct store_ds_cursor *c = NULL;
        struct err err = ERR_INIT;
        const struct dsvalue *v;
        uint64_t total = 0;
        int64_t first = -1;
        int n = 0, rc;

        if (store_ds_search(x->s, &q, &c, &total, &err)) {
            atomic_fetch_add(&x->errors, 1);
            continue;
        }
        while ((rc = store_ds_cursor_next(c, &v, &err)) == 1) {
            if (first < 0)
                first = v[1].i;
            if (v[1].i != first)
                atomic_fetch_add(&x->errors, 1);
            n++;
        }
        if (rc < 0 || n != 3 || total != 3)
            atomic_fetch_add(&x->errors, 1);
        store_ds_cursor_free(c);
    }
    return NULL;
}

static void test_swap_threads(void **state)
{
    struct unit_store *u = *state;
    static const struct store_ds_field f[] = {{"gen", DSTYPE_INT8}};
    struct table_spec spec = {f, 1, NULL, 0, false, {NULL}, {0}, 0, false};
    struct swap_ctx x = {u->s, false, 0};
    struct err err = ERR_INIT;
    pthread_t th[3];
    char g[3][24];
    const char *rows[3];

    for (int i = 0; i < 3; i++) {
        xsnprintf(g[i], sizeof(g[i]), "0");
        rows[i] = g[i];
    }
    assert_int_equal(build_rows(u->s, RID_A, &spec, rows, 3, &err), 0);
    for (int i = 0; i < 3; i++)
        assert_int_equal(pthread_create(&th[i], NULL, swap_reader, &x), 0);
    for (int gen = 1; gen <= 40; gen++) {
        for (int i = 0; i < 3; i++)
            xsnprintf(g[i], sizeof(g[i]), "%d", gen);
        assert_int_equal(build_rows(u->s, RID_A, &spec, rows, 3, &err), 0);
    }
    atomic_store(&x.stop, true);
    for (int i = 0; i < 3; i++)
        pthread_join(th[i], NULL);
    assert_int_equal(atomic_load(&x.errors), 0);
    assert_false(has_build_files(u));
}

/* ---- Searches ------------------------------------------------------------------------- */

static void test_search_filters_sort(void **state)
{
    struct unit_store *u = *state;
    struct store_ds_query q = {.resource_id = RID_A};
    const char *cols[] = {"name", "amount"};
    struct dsvalue names[] = {tv("alice"), tv("dave")};
    struct dsvalue half[] = {tv("0.5")};
    struct dsvalue three[] = {tv("3"), iv(100)};
    struct dsvalue nothing[] = {tv(NULL)};
    struct store_ds_filter f[2];
    struct store_ds_sort s[2];
    uint64_t total = 0;

    build_people(u->s, RID_A);
    /* No query: _id order, every column. */
    q.total = true;
    assert_json(
            search(u->s, &q, &total),
            "[[1, \"alice\", \"0.5\", 3], [2, \"bob\", \"10\", 1], [3, \"carol\", \"2.25\", null],"
            " [4, \"dave\", \".097\", -7], [5, \"erin\", null, 3], [6, \"alice\", \"0.50\", 100],"
            " [7, \"frank\", \"-1e2\", 42]]");
    assert_int_equal(total, 7);

    /* Filters: an OR of values, AND across fields; int8 as TEXT or INT. */
    q.fields = cols;
    q.nfields = 2;
    f[0] = (struct store_ds_filter){"name", names, 2};
    q.filters = f;
    q.nfilters = 1;
    assert_json(search(u->s, &q, &total),
                "[[\"alice\", \"0.5\"], [\"dave\", \".097\"], [\"alice\", \"0.50\"]]");
    assert_int_equal(total, 3);
    f[1] = (struct store_ds_filter){"n", three, 2};
    q.nfilters = 2;
    assert_json(search(u->s, &q, &total), "[[\"alice\", \"0.5\"], [\"alice\", \"0.50\"]]");
    assert_int_equal(total, 2);
    /* Numeric compares by value: 0.5 = 0.50. */
    f[0] = (struct store_ds_filter){"amount", half, 1};
    q.nfilters = 1;
    assert_json(search(u->s, &q, &total), "[[\"alice\", \"0.5\"], [\"alice\", \"0.50\"]]");
    assert_int_equal(total, 2);
    /* A NULL value matches nothing (as SQL's = NULL). */
    f[0] = (struct store_ds_filter){"amount", nothing, 1};
    assert_json(search(u->s, &q, &total), "[]");
    assert_int_equal(total, 0);
    /* _id is a field too. */
    {
        struct dsvalue ids[] = {tv("2"), iv(4)};

        f[0] = (struct store_ds_filter){"_id", ids, 2};
        assert_json(search(u->s, &q, &total), "[[\"bob\", \"10\"], [\"dave\", \".097\"]]");
    }

    /* Numeric sort is by value; NULLs last ascending, first descending (PostgreSQL). */
    q.nfilters = 0;
    q.total = false;
    s[0] = (struct store_ds_sort){"amount", false};
    q.sort = s;
    q.nsort = 1;
    assert_json(
            search(u->s, &q, NULL),
            "[[\"frank\", \"-1e2\"], [\"dave\", \".097\"], [\"alice\", \"0.5\"],"
            " [\"alice\", \"0.50\"], [\"carol\", \"2.25\"], [\"bob\", \"10\"], [\"erin\", null]]");
    s[0].descending = true;
    assert_json(search(u->s, &q, NULL),
                "[[\"erin\", null], [\"bob\", \"10\"], [\"carol\", \"2.25\"], [\"alice\", \"0.5\"],"
                " [\"alice\", \"0.50\"], [\"dave\", \".097\"], [\"frank\", \"-1e2\"]]");
    /* Two keys; text sorts by code point. */
    s[0] = (struct store_ds_sort){"name", true};
    s[1] = (struct store_ds_sort){"_id", true};
    q.nsort = 2;
    assert_json(
            search(u->s, &q, NULL),
            "[[\"frank\", \"-1e2\"], [\"erin\", null], [\"dave\", \".097\"], [\"carol\", \"2.25\"],"
            " [\"bob\", \"10\"], [\"alice\", \"0.50\"], [\"alice\", \"0.5\"]]");
    /* Offset and limit. */
    q.offset = 2;
    q.limit = 3;
    q.total = true;
    assert_json(search(u->s, &q, &total),
                "[[\"dave\", \".097\"], [\"carol\", \"2.25\"], [\"bob\", \"10\"]]");
    assert_int_equal(total, 7);
    q.offset = 100;
    assert_json(search(u->s, &q, &total), "[]");
    assert_int_equal(total, 7);

    /* Distinct rows of the fields returned. */
    {
        const char *nm[] = {"name"};
        const char *nn[] = {"n"};

        q.offset = 0;
        q.limit = 0;
        q.nsort = 0;
        q.fields = nm;
        q.nfields = 1;
        q.distinct = true;
        assert_json(search(u->s, &q, &total),
                    "[[\"alice\"], [\"bob\"], [\"carol\"], [\"dave\"], [\"erin\"], [\"frank\"]]");
        assert_int_equal(total, 6);
        q.fields = nn;
        s[0] = (struct store_ds_sort){"n", true};
        q.nsort = 1;
        assert_json(search(u->s, &q, &total), "[[null], [100], [42], [3], [1], [-7]]");
        assert_int_equal(total, 6);
        q.limit = 2;
        assert_json(search(u->s, &q, &total), "[[null], [100]]");
        assert_int_equal(total, 6);
    }
}

static void test_search_errors(void **state)
{
    struct unit_store *u = *state;
    struct store_ds_query q = {.resource_id = RID_A};
    const char *bad[] = {"name", "nope"};
    struct dsvalue one[] = {tv("x")};
    struct dsvalue bad_int[] = {tv("3.5")};
    struct dsvalue bad_num[] = {tv("abc")};
    struct dsvalue *many = xcalloc(LIMIT_DATASTORE_FILTER_VALUES + 1, sizeof(*many));
    struct store_ds_filter f = {"nope", one, 1};
    struct store_ds_sort s = {"nope", false};
    const char *tok[] = {"x"};
    struct store_ds_text t = {"nope", tok, 1};
    struct err err = ERR_INIT;

    assert_int_equal(search_fails(u->s, &q, &err), -ERR_NOT_FOUND);
    assert_non_null(strstr(err.msg, RID_A));
    err_clear(&err);
    q.resource_id = "not-a-uuid/../x";
    assert_int_equal(search_fails(u->s, &q, &err), -ERR_NOT_FOUND);
    err_clear(&err);
    build_people(u->s, RID_A);
    q.resource_id = RID_A;

    q.fields = bad;
    q.nfields = 2;
    assert_int_equal(search_fails(u->s, &q, &err), -ERR_VALIDATION);
    assert_string_equal(err.field, "fields");
    assert_non_null(strstr(err.msg, "\"nope\""));
    err_clear(&err);
    q.nfields = 0;
    q.filters = &f;
    q.nfilters = 1;
    assert_int_equal(search_fails(u->s, &q, &err), -ERR_VALIDATION);
    assert_string_equal(err.field, "filters");
    assert_non_null(strstr(err.msg, "\"nope\""));
    err_clear(&err);
    f = (struct store_ds_filter){"n", bad_int, 1};
    assert_int_equal(search_fails(u->s, &q, &err), -ERR_VALIDATION);
    assert_string_equal(err.field, "filters");
    err_clear(&err);
    f = (struct store_ds_filter){"amount", bad_num, 1};
    assert_int_equal(search_fails(u->s, &q, &err), -ERR_VALIDATION);
    assert_string_equal(err.field, "filters");
    err_clear(&err);
    /* LIMIT_DATASTORE_FILTER_VALUES values of one filter, and one more. */
    for (size_t i = 0; i <= LIMIT_DATASTORE_FILTER_VALUES; i++)
        many[i] = iv((int64_t)i);
    f = (struct store_ds_filter){"n", many, LIMIT_DATASTORE_FILTER_VALUES};
    json_decref(search(u->s, &q, NULL));
    f.nvalues++;
    assert_int_equal(search_fails(u->s, &q, &err), -ERR_VALIDATION);
    assert_string_equal(err.field, "filters");
    err_clear(&err);
    free(many);
    q.nfilters = 0;
    q.sort = &s;
    q.nsort = 1;
    assert_int_equal(search_fails(u->s, &q, &err), -ERR_VALIDATION);
    assert_string_equal(err.field, "sort");
    assert_non_null(strstr(err.msg, "\"nope\""));
    err_clear(&err);
    q.nsort = 0;
    q.text = &t;
    q.ntext = 1;
    assert_int_equal(search_fails(u->s, &q, &err), -ERR_VALIDATION);
    assert_string_equal(err.field, "q");
    assert_non_null(strstr(err.msg, "\"nope\""));
    err_clear(&err);
    t.field = "n";
    assert_int_equal(search_fails(u->s, &q, &err), -ERR_VALIDATION);
    assert_string_equal(err.field, "q");
    err_clear(&err);
    /* No full-text index: a text query is refused. */
    {
        static const struct store_ds_field f1[] = {{"w", DSTYPE_TEXT}};
        struct table_spec spec = {f1, 1, NULL, 0, false, {NULL}, {0}, 0, false};
        static const char *const r[] = {"x"};

        assert_int_equal(build_rows(u->s, RID_B, &spec, r, 1, &err), 0);
        t.field = NULL;
        q.resource_id = RID_B;
        assert_int_equal(search_fails(u->s, &q, &err), -ERR_VALIDATION);
        assert_string_equal(err.field, "q");
    }
}

/* Tokens of text for a query, as the datastore module makes them. */
static size_t tokens(const char *text, struct buf *b, const char **out, size_t max)
{
    size_t n = 0;
    char *p;

    buf_reset(b);
    catalog_search_text(text, b);
    for (p = b->buf; *p && n < max;) {
        out[n++] = p;
        p += strcspn(p, " ");
        if (*p)
            *p++ = 0;
    }
    return n;
}

static void test_fulltext(void **state)
{
    struct unit_store *u = *state;
    static const struct store_ds_field f[] = {
            {"id", DSTYPE_INT8}, {"title", DSTYPE_TEXT}, {"body", DSTYPE_TEXT}};
    static const char *const pk[] = {"id"};
    struct table_spec spec = {f, 3, pk, 1, true, {NULL}, {0}, 0, false};
    static const char *const rows[] = {
            "1",
            "北京市交通运输委员会",
            "公交线路 bus routes",
            "2",
            "Beijing Traffic",
            "地铁 subway lines and bus stops",
            "3",
            "上海交通",
            "Shanghai metro",
            "4",
            "River levels",
            "水位 Yangtze river",
            "5",
            NULL,
            "bus bus bus bus",
    };
    const char *cols[] = {"id"};
    struct store_ds_query q = {.resource_id = RID_A, .fields = cols, .nfields = 1, .total = true};
    struct buf b1 = BUF_INIT, b2 = BUF_INIT;
    const char *t1[16], *t2[16];
    struct store_ds_text t[2];
    struct err err = ERR_INIT;
    uint64_t total = 0;

    assert_int_equal(build_rows(u->s, RID_A, &spec, rows, 5, &err), 0);
    assert_integrity(u, RID_A);
    q.text = t;
    q.ntext = 1;
    t[0] = (struct store_ds_text){NULL, t1, tokens("交通", &b1, t1, 16)};
    /* Ranked by bm25 (frequency and rarity, not length): a tie, in _id order. */
    assert_json(search(u->s, &q, &total), "[[1], [3]]");
    assert_int_equal(total, 2);
    /* A bigram and its characters must all be there: 交运 is not a bigram of any row. */
    t[0].ntokens = tokens("交运", &b1, t1, 16);
    assert_json(search(u->s, &q, &total), "[]");
    assert_int_equal(total, 0);
    t[0].ntokens = tokens("BUS", &b1, t1, 16);
    /* Ranked (bm25): the row saying "bus" four times first, then the others by _id. */
    assert_json(search(u->s, &q, &total), "[[5], [1], [2]]");
    assert_int_equal(total, 3);
    /* In one field only. */
    t[0].field = "title";
    assert_json(search(u->s, &q, &total), "[]");
    t[0].ntokens = tokens("traffic", &b1, t1, 16);
    assert_json(search(u->s, &q, &total), "[[2]]");
    /* Two conditions, AND; with a filter; with a sort. */
    t[0] = (struct store_ds_text){"body", t1, tokens("bus", &b1, t1, 16)};
    t[1] = (struct store_ds_text){NULL, t2, tokens("北京", &b2, t2, 16)};
    q.ntext = 2;
    assert_json(search(u->s, &q, &total), "[[1]]");
    q.ntext = 1;
    {
        struct dsvalue two[] = {iv(2), iv(5)};
        struct store_ds_filter fl = {"id", two, 2};
        struct store_ds_sort so = {"id", true};

        q.filters = &fl;
        q.nfilters = 1;
        q.sort = &so;
        q.nsort = 1;
        assert_json(search(u->s, &q, &total), "[[5], [2]]");
        assert_int_equal(total, 2);
        q.nfilters = 0;
        q.nsort = 0;
    }
    /* Sorted by _id (FTS5's own order, read without a sort), both ways, with the total. */
    {
        struct store_ds_sort so = {"_id", true};

        t[0] = (struct store_ds_text){NULL, t1, tokens("bus", &b1, t1, 16)};
        q.ntext = 1;
        q.sort = &so;
        q.nsort = 1;
        assert_json(search(u->s, &q, &total), "[[5], [2], [1]]");
        assert_int_equal(total, 3);
        so.descending = false;
        q.offset = 1;
        assert_json(search(u->s, &q, &total), "[[2], [5]]");
        assert_int_equal(total, 3);
        q.offset = 0;
        q.nsort = 0;
    }
    /* FTS5 syntax in a token is only a token. */
    {
        const char *odd[] = {"bus\" OR \"river", "*", "NEAR(", "title:bus", "\"\""};
        struct store_ds_text ot = {NULL, odd, 5};

        q.text = &ot;
        assert_json(search(u->s, &q, &total), "[]");
        ot.ntokens = 0; /* no token: no condition */
        assert_json(search(u->s, &q, &total), "[[1], [2], [3], [4], [5]]");
        q.text = t;
    }

    /* Upsert and delete keep the index in step. */
    {
        const char *fl[] = {"id", "body"};
        struct dsvalue v[] = {iv(4), tv("公交 bus depot")};
        struct dsvalue ids[] = {iv(5)};
        struct store_ds_filter del = {"id", ids, 1};
        uint64_t n = 0;

        assert_int_equal(store_ds_upsert(u->s, RID_A, STORE_DS_UPDATE, fl, 2, v, 1, &n, &err), 0);
        t[0] = (struct store_ds_text){NULL, t1, tokens("bus", &b1, t1, 16)};
        assert_json(search(u->s, &q, &total), "[[5], [1], [2], [4]]");
        t[0].ntokens = tokens("yangtze", &b1, t1, 16);
        assert_json(search(u->s, &q, &total), "[]");
        /* The title was kept, and is still found. */
        t[0].ntokens = tokens("river levels", &b1, t1, 16);
        assert_json(search(u->s, &q, &total), "[[4]]");
        assert_int_equal(store_ds_delete(u->s, RID_A, &del, 1, &n, &err), 0);
        assert_int_equal(n, 1);
        t[0].ntokens = tokens("bus", &b1, t1, 16);
        assert_json(search(u->s, &q, &total), "[[1], [2], [4]]");
        v[0] = iv(9);
        v[1] = tv("新的 river");
        assert_int_equal(store_ds_upsert(u->s, RID_A, STORE_DS_INSERT, fl, 2, v, 1, &n, &err), 0);
        t[0].ntokens = tokens("river 新", &b1, t1, 16);
        assert_json(search(u->s, &q, &total), "[[9]]");
    }
    /* Without a tokenizer, the rows of a full-text table cannot change. */
    {
        const char *fl[] = {"id", "body"};
        struct dsvalue v[] = {iv(4), tv("x")};

        store_ds_set_tokenizer(u->s, NULL);
        assert_int_equal(store_ds_upsert(u->s, RID_A, STORE_DS_UPSERT, fl, 2, v, 1, NULL, &err),
                         -ERR_INTERNAL);
        store_ds_set_tokenizer(u->s, catalog_search_text);
    }
    assert_integrity(u, RID_A);
    buf_release(&b1);
    buf_release(&b2);
}

/* Runs SQL on a table file directly (what an older build or a damaged disk left). */
static void raw_exec(const struct unit_store *u, const char *id, const char *sql)
{
    char *path = table_path(u, id);
    sqlite3 *db = NULL;
    struct err err = ERR_INIT;

    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    assert_int_equal(sqds_tokenizer_register(db, &err), 0);
    if (sqlite3_exec(db, sql, NULL, NULL, NULL) != SQLITE_OK)
        fail_msg("%s: %s", sql, sqlite3_errmsg(db));
    sqlite3_close(db);
    free(path);
}

/* A table built before ftx has FTS5's index: searched and changed through it as before;
 * a damaged ftx row is an error naming the index, not a crash. */
/* ---- The full-text index changed in place against one rebuilt ---------------------------- */

/* The answers of the queries qs (each a text, in field qf[i] or any when NULL) over the table
 * file at path: for each, [count, [[id, rank], …] of the whole match by rank, [ids of a
 * ranked page of 10]], then [rows, tokens] of the index. */
static json_t *ftx_answers(const char *path, const char *rid, const char *const *qs,
                           const char *const *qf, size_t nq)
{
    json_t *all = json_array();
    struct sqds_table t = {0};
    struct err err = ERR_INIT;
    struct buf b = BUF_INIT;
    sqlite3 *db = NULL;

    assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    if (sqds_table_load(db, NULL, rid, &t, &err))
        fail_msg("table: %s", err.msg);
    assert_true(t.has_ftx);
    for (size_t i = 0; i < nq; i++) {
        const char *toks[16];
        struct store_ds_text text = {qf[i], toks, tokens(qs[i], &b, toks, 16)};
        json_t *one = json_array(), *list = json_array(), *page = json_array();
        struct ftx_match *m = NULL;
        uint64_t n = 0;

        if (sqds_ftx_match(db, &t, &text, 1, true, 0, &m, &err))
            fail_msg("match %s: %s", qs[i], err.msg);
        if (m) {
            int64_t *ids;
            double *ranks;
            size_t got;

            n = ftx_match_count(m);
            ids = xcalloc(n + 1, sizeof(*ids));
            ranks = xcalloc(n + 1, sizeof(*ranks));
            got = ftx_match_page(m, 0, (size_t)n, ids, ranks);
            assert_int_equal(got, n);
            for (size_t k = 0; k < got; k++)
                json_array_append_new(list, json_pack("[I, f]", (json_int_t)ids[k], ranks[k]));
            ftx_match_free(m);
            m = NULL;
            free(ids);
            free(ranks);
        }
        /* The one-page way (match_one for one token), which keeps only its best rows. */
        if (sqds_ftx_match(db, &t, &text, 1, true, 10, &m, &err))
            fail_msg("match %s: %s", qs[i], err.msg);
        if (m) {
            int64_t ids[10];
            size_t got = ftx_match_page(m, 0, 10, ids, NULL);

            for (size_t k = 0; k < got; k++)
                json_array_append_new(page, json_integer(ids[k]));
            ftx_match_free(m);
        }
        json_array_append_new(one, json_string(qs[i]));
        json_array_append_new(one, json_integer((json_int_t)n));
        json_array_append_new(one, list);
        json_array_append_new(one, page);
        json_array_append_new(all, one);
    }
    json_array_append_new(all,
                          json_pack("[I, I]", (json_int_t)t.ftx.rows, (json_int_t)t.ftx.tokens));
    sqds_table_release(&t);
    sqlite3_close(db);
    buf_release(&b);
    return all;
}

/* A copy of the table file at path whose index is built again from every row. */
static char *rebuilt_copy(const struct unit_store *u, const char *path, const char *rid)
{
    char *copy = xstrfmt("%s/rebuilt.db", u->dir);
    struct sqds_table t = {0};
    struct err err = ERR_INIT;
    sqlite3 *db = NULL, *src = NULL;
    sqlite3_backup *bk;

    unlink(copy);
    assert_int_equal(sqlite3_open_v2(path, &src, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_open(copy, &db), SQLITE_OK);
    bk = sqlite3_backup_init(db, "main", src, "main");
    assert_non_null(bk);
    assert_int_equal(sqlite3_backup_step(bk, -1), SQLITE_DONE);
    sqlite3_backup_finish(bk);
    sqlite3_close(src);
    assert_int_equal(sqlite3_exec(db, "BEGIN", NULL, NULL, NULL), SQLITE_OK);
    if (sqds_table_load(db, NULL, rid, &t, &err) ||
        sqds_ftx_build(db, t.hex, t.fields, t.nfields, catalog_search_text, NULL, &err))
        fail_msg("rebuild: %s", err.msg);
    assert_int_equal(sqlite3_exec(db, "COMMIT", NULL, NULL, NULL), SQLITE_OK);
    sqds_table_release(&t);
    sqlite3_close(db);
    return copy;
}

static uint64_t incr_rand(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

/* A text of 0–6 words of a small vocabulary (repeats likely: rows holding a token more
 * than once), or NULL. */
static const char *incr_text(uint64_t *s, char *out, size_t size)
{
    static const char *const words[] = {"bus",   "river", "metro", "北京", "交通",
                                        "depot", "lines", "a",     "b",    "c"};
    size_t n = incr_rand(s) % 7, len = 0;

    if (incr_rand(s) % 8 == 0)
        return NULL;
    out[0] = 0;
    for (size_t i = 0; i < n; i++)
        len += (size_t)snprintf(out + len, size - len, "%s%s", i ? " " : "",
                                words[incr_rand(s) % ARRAY_SIZE(words)]);
    return out;
}

/*
 * Random upserts, inserts, updates and deletes on a table with ntext text fields (1 or 2);
 * after each, the ranked answers of every query over the index changed in place must be
 * those over the same table's index built again from every row: counts, ids, order, ranks
 * to the bit, the one-page way too, and the index's rows and tokens.
 */
static void incr_run(struct unit_store *u, const char *rid, size_t ntext, uint64_t seed)
{
    static const struct store_ds_field f2[] = {
            {"id", DSTYPE_INT8}, {"title", DSTYPE_TEXT}, {"n", DSTYPE_INT8}, {"body", DSTYPE_TEXT}};
    static const struct store_ds_field f1[] = {{"id", DSTYPE_INT8}, {"body", DSTYPE_TEXT}};
    static const char *const pk[] = {"id"};
    static const char *const qs[] = {"bus",      "river", "metro",   "北京",      "交通",
                                     "depot",    "a",     "b",       "c",         "bus river",
                                     "北京 bus", "a b c", "lines a", "交通 metro"};
    const char *qf[3 * ARRAY_SIZE(qs)], *qq[3 * ARRAY_SIZE(qs)];
    struct table_spec spec = {
            ntext == 2 ? f2 : f1, ntext == 2 ? 4 : 2, pk, 1, true, {NULL}, {0}, 0, false};
    char texts[8][128], ids[8][24];
    const char *rows[40 * 4];
    struct err err = ERR_INIT;
    char *path = table_path(u, rid);
    size_t nq = 0, nfields = spec.nfields;
    int64_t next = 100;
    uint64_t s = seed;

    for (size_t i = 0; i < ARRAY_SIZE(qs); i++) {
        qq[nq] = qs[i];
        qf[nq++] = NULL;
        qq[nq] = qs[i];
        qf[nq++] = "body";
        if (ntext == 2) {
            qq[nq] = qs[i];
            qf[nq++] = "title";
        }
    }
    {
        char(*buf)[128] = xcalloc(40 * 2, sizeof(*buf));
        char(*num)[24] = xcalloc(40, sizeof(*num));

        for (size_t r = 0; r < 40; r++) {
            snprintf(num[r], sizeof(num[r]), "%zu", r + 1);
            rows[r * nfields] = num[r];
            if (ntext == 2) {
                rows[r * nfields + 1] = incr_text(&s, buf[2 * r], sizeof(buf[0]));
                rows[r * nfields + 2] = num[r];
                rows[r * nfields + 3] = incr_text(&s, buf[2 * r + 1], sizeof(buf[0]));
            } else {
                rows[r * nfields + 1] = incr_text(&s, buf[2 * r], sizeof(buf[0]));
            }
        }
        assert_int_equal(build_rows(u->s, rid, &spec, rows, 40, &err), 0);
        free(buf);
        free(num);
    }
    for (int round = 0; round < 60; round++) {
        unsigned op = (unsigned)(incr_rand(&s) % 4);
        size_t k = 1 + incr_rand(&s) % 4;
        uint64_t n = 0;
        json_t *got, *want;
        char *copy;

        if (op < 3) {
            /* upsert (old and new keys), insert (new keys), update (keys 1..40, which a
             * delete may have removed: then 404 and nothing written) */
            enum store_ds_method m = op == 0   ? STORE_DS_UPSERT
                                     : op == 1 ? STORE_DS_INSERT
                                               : STORE_DS_UPDATE;
            bool both = ntext == 2 && incr_rand(&s) % 2;
            const char *fl[3] = {"id", "body", "title"};
            size_t nf = both ? 3 : 2;
            struct dsvalue v[4 * 3];

            for (size_t r = 0; r < k; r++) {
                int64_t id = op == 1 ? next++ : 1 + (int64_t)(incr_rand(&s) % 50);

                snprintf(ids[r], sizeof(ids[r]), "%lld", (long long)id);
                v[r * nf] = iv(id);
                v[r * nf + 1] = tv(incr_text(&s, texts[2 * r], sizeof(texts[0])));
                if (both)
                    v[r * nf + 2] = tv(incr_text(&s, texts[2 * r + 1], sizeof(texts[0])));
            }
            int rc = store_ds_upsert(u->s, rid, m, fl, nf, v, k, &n, &err);

            if (rc && !(op == 2 && rc == -ERR_NOT_FOUND))
                fail_msg("round %d: upsert: %s", round, err.msg);
        } else {
            struct dsvalue v[4];
            struct store_ds_filter del = {"id", v, k};

            for (size_t r = 0; r < k; r++)
                v[r] = iv(incr_rand(&s) % 2
                                  ? 1 + (int64_t)(incr_rand(&s) % 50)
                                  : 100 + (int64_t)(incr_rand(&s) % (uint64_t)(next - 99)));
            assert_int_equal(store_ds_delete(u->s, rid, &del, 1, &n, &err), 0);
        }
        copy = rebuilt_copy(u, path, rid);
        got = ftx_answers(path, rid, qq, qf, nq);
        want = ftx_answers(copy, rid, qq, qf, nq);
        if (!json_equal(got, want)) {
            char *g = json_dumps(got, JSON_COMPACT), *w = json_dumps(want, JSON_COMPACT);

            fail_msg("round %d (op %u): in place %s\nrebuilt %s", round, op, g, w);
        }
        json_decref(got);
        json_decref(want);
        free(copy);
    }
    assert_integrity(u, rid);
    free(path);
}

static void test_fulltext_incremental(void **state)
{
    struct unit_store *u = *state;
    struct err err = ERR_INIT;
    uint64_t n = 0;

    incr_run(u, RID_A, 2, 0x9e3779b97f4a7c15ull);
    incr_run(u, RID_B, 1, 0xd1b54a32d192ed03ull);
    /* The index was changed in place, not built again: its largest row id stays when the
     * last row goes (a rebuild would lower it). */
    {
        long long max =
                raw_int(u, RID_B, "SELECT max(_id) FROM t_0a1b2c3d4e5f4a6b8c7d9e0f1a2b3c4d");
        long long key = raw_int(u, RID_B,
                                "SELECT c_1 FROM t_0a1b2c3d4e5f4a6b8c7d9e0f1a2b3c4d"
                                " ORDER BY _id DESC LIMIT 1");
        long long before = raw_int(u, RID_B, "SELECT value FROM meta WHERE key = 'ftx_max_id'");
        struct dsvalue v[] = {iv(key)};
        struct store_ds_filter del = {"id", v, 1};

        assert_true(before >= max);
        assert_int_equal(store_ds_delete(u->s, RID_B, &del, 1, &n, &err), 0);
        assert_int_equal(n, 1);
        assert_true(raw_int(u, RID_B, "SELECT max(_id) FROM t_0a1b2c3d4e5f4a6b8c7d9e0f1a2b3c4d") <
                    max);
        assert_int_equal(raw_int(u, RID_B, "SELECT value FROM meta WHERE key = 'ftx_max_id'"),
                         before);
    }
}

static void test_fulltext_older_and_damaged(void **state)
{
    struct unit_store *u = *state;
    static const struct store_ds_field f[] = {{"id", DSTYPE_INT8}, {"body", DSTYPE_TEXT}};
    static const char *const pk[] = {"id"};
    struct table_spec spec = {f, 2, pk, 1, true, {NULL}, {0}, 0, false};
    static const char *const rows[] = {"1", "bus stop", "2", "bus bus depot", "3", "river"};
    const char *cols[] = {"id"};
    struct store_ds_query q = {.resource_id = RID_A, .fields = cols, .nfields = 1, .total = true};
    const char *t1[16];
    struct buf b1 = BUF_INIT;
    struct store_ds_text t = {NULL, t1, 0};
    struct err err = ERR_INIT;
    uint64_t total = 0;
    struct store_ds_cursor *c = NULL;

    assert_int_equal(build_rows(u->s, RID_A, &spec, rows, 3, &err), 0);
    q.text = &t;
    q.ntext = 1;
    t.ntokens = tokens("bus", &b1, t1, 16);
    /* FTS5's bm25 without column sizes (D = -1 here, avgdl 2) favours one "bus" over
     * two in so short a table; ftx ranks the same. */
    assert_json(search(u->s, &q, &total), "[[1], [2]]");
    raw_exec(u, RID_A,
             "DROP TABLE ftx; DELETE FROM meta WHERE key LIKE 'ftx_%';"
             " CREATE VIRTUAL TABLE fts USING fts5(c_2, content='', columnsize=0,"
             " tokenize='kaifang_space');"
             " INSERT INTO fts(rowid, c_2) VALUES (1, 'bus stop'), (2, 'bus bus depot'),"
             " (3, 'river');"
             " UPDATE meta SET value = value + 1 WHERE key = 'generation'");
    assert_json(search(u->s, &q, &total), "[[1], [2]]");
    assert_int_equal(total, 2);
    {
        const char *fl[] = {"id", "body"};
        struct dsvalue v[] = {iv(3), tv("river bus")};
        uint64_t n = 0;

        assert_int_equal(store_ds_upsert(u->s, RID_A, STORE_DS_UPDATE, fl, 2, v, 1, &n, &err), 0);
        assert_json(search(u->s, &q, &total), "[[1], [3], [2]]");
    }
    assert_integrity(u, RID_A);

    /* Built again: ftx; then one of its rows damaged. */
    assert_int_equal(build_rows(u->s, RID_A, &spec, rows, 3, &err), 0);
    assert_json(search(u->s, &q, &total), "[[1], [2]]");
    raw_exec(u, RID_A,
             "UPDATE ftx SET entries = substr(entries, 1, length(entries) - 1);"
             " UPDATE meta SET value = value + 1 WHERE key = 'generation'");
    err = (struct err)ERR_INIT;
    assert_int_equal(store_ds_search(u->s, &q, &c, &total, &err), -ERR_INTERNAL);
    assert_null(c);
    assert_non_null(strstr(err.msg, "full-text index is damaged"));
    buf_release(&b1);
}

/* ---- An index of format 1 (before 2026-12-05): keys under ftx_key_hash_v1, field keys
 * with their own postings ---- */
struct v1_entry {
    uint64_t h;
    uint8_t *key, *post;
    size_t klen, plen;
};

static uint64_t v1_varint(const uint8_t **p)
{
    uint64_t v = 0;
    unsigned shift = 0;

    while (**p & 0x80) {
        v |= (uint64_t)(**p & 0x7f) << shift;
        shift += 7;
        (*p)++;
    }
    v |= (uint64_t) * *p << shift;
    (*p)++;
    return v;
}

static int v1_cmp(const void *a, const void *b)
{
    const struct v1_entry *x = a, *y = b;

    return x->h < y->h ? -1 : x->h > y->h;
}

/* Rewrites table id's ftx as format 1 would have stored it. */
static void ftx_to_format1(const struct unit_store *u, const char *id)
{
    char *path = table_path(u, id);
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    struct v1_entry *e = NULL;
    size_t n = 0, alloc = 0;

    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_prepare_v2(db, "SELECT entries FROM ftx", -1, &st, NULL), SQLITE_OK);
    while (sqlite3_step(st) == SQLITE_ROW) {
        const uint8_t *p = sqlite3_column_blob(st, 0);
        const uint8_t *end = p + sqlite3_column_bytes(st, 0);
        size_t first = n;

        while (p < end) {
            ALLOC_GROW(e, n + 1, alloc);
            e[n].klen = (size_t)v1_varint(&p);
            e[n].key = xmalloc(e[n].klen);
            memcpy(e[n].key, p, e[n].klen);
            p += e[n].klen;
            e[n].plen = (size_t)v1_varint(&p);
            e[n].post = xmalloc(e[n].plen ? e[n].plen : 1);
            memcpy(e[n].post, p, e[n].plen);
            p += e[n].plen;
            e[n].h = ftx_key_hash_v1(e[n].key, e[n].klen);
            n++;
        }
        /* An empty field key: the postings of FTX_COL_ANY's key of its token (same row). */
        for (size_t i = first; i < n; i++) {
            if (e[i].plen)
                continue;
            for (size_t j = first; j < n; j++) {
                if (e[j].key[0] == FTX_COL_ANY && e[j].klen == e[i].klen &&
                    !memcmp(e[j].key + 1, e[i].key + 1, e[i].klen - 1)) {
                    free(e[i].post);
                    e[i].post = xmalloc(e[j].plen);
                    memcpy(e[i].post, e[j].post, e[j].plen);
                    e[i].plen = e[j].plen;
                }
            }
            assert_true(e[i].plen > 0);
        }
    }
    sqlite3_finalize(st);
    qsort(e, n, sizeof(*e), v1_cmp);
    assert_int_equal(sqlite3_exec(db, "DELETE FROM ftx", NULL, NULL, NULL), SQLITE_OK);
    assert_int_equal(
            sqlite3_prepare_v2(db, "INSERT INTO ftx(h, entries) VALUES (?, ?)", -1, &st, NULL),
            SQLITE_OK);
    for (size_t i = 0; i < n;) {
        struct buf row = BUF_INIT;
        size_t j = i;

        for (; j < n && e[j].h == e[i].h; j++) {
            uint8_t *one = xmalloc(ftx_entry_size(e[j].klen, e[j].plen));
            size_t len = ftx_entry_put(one, e[j].key, e[j].klen, e[j].post, e[j].plen);

            buf_add(&row, one, len);
            free(one);
        }
        sqlite3_bind_int64(st, 1, (int64_t)e[i].h);
        sqlite3_bind_blob(st, 2, row.buf, (int)row.len, SQLITE_TRANSIENT);
        assert_int_equal(sqlite3_step(st), SQLITE_DONE);
        sqlite3_reset(st);
        buf_release(&row);
        i = j;
    }
    sqlite3_finalize(st);
    assert_int_equal(sqlite3_exec(db,
                                  "DELETE FROM meta WHERE key = 'ftx_format';"
                                  " UPDATE meta SET value = value + 1 WHERE key = 'generation'",
                                  NULL, NULL, NULL),
                     SQLITE_OK);
    sqlite3_close(db);
    for (size_t i = 0; i < n; i++) {
        free(e[i].key);
        free(e[i].post);
    }
    free(e);
    free(path);
}

/* An index written before 2026-12-05 (format 1: no ftx_format meta, keys hashed whole,
 * field keys holding their postings) answers as the index of today. */
static void test_fulltext_format1(void **state)
{
    struct unit_store *u = *state;
    static const struct store_ds_field f[] = {
            {"id", DSTYPE_INT8}, {"title", DSTYPE_TEXT}, {"body", DSTYPE_TEXT}};
    static const char *const pk[] = {"id"};
    struct table_spec spec = {f, 3, pk, 1, true, {NULL}, {0}, 0, false};
    static const char *const rows[] = {"1",
                                       "北京市交通运输委员会",
                                       "公交线路 bus routes",
                                       "2",
                                       "Beijing Traffic bus",
                                       "地铁 subway lines and bus stops",
                                       "3",
                                       "上海交通",
                                       "Shanghai metro bus bus",
                                       "4",
                                       "River levels",
                                       "水位 Yangtze river"};
    /* Each with the rows it matches (any order: the ranks are compared between the
     * formats below). */
    static const struct {
        const char *field, *text;
        uint64_t total;
    } qs[] = {{NULL, "交通", 2},         {NULL, "bus", 3},
              {"title", "traffic", 1},   {"body", "traffic", 0},
              {"title", "bus", 1},       {"body", "bus", 3},
              {NULL, "river", 1},        {"body", "yangtze river", 1},
              {"title", "北京 交通", 1}, {NULL, "nowhere", 0}};
    char *got[ARRAY_SIZE(qs)];
    const char *cols[] = {"id"};
    struct store_ds_query q = {.resource_id = RID_A, .fields = cols, .nfields = 1, .total = true};
    struct buf b1 = BUF_INIT;
    const char *t1[16];
    struct store_ds_text t = {NULL, t1, 0};
    struct err err = ERR_INIT;
    uint64_t total = 0;

    assert_int_equal(build_rows(u->s, RID_A, &spec, rows, 4, &err), 0);
    /* Format 2 has keys with empty postings: "traffic" is in the title only. */
    assert_int_equal(raw_int(u, RID_A, "SELECT value FROM meta WHERE key = 'ftx_format'"), 2);
    q.text = &t;
    q.ntext = 1;
    for (int pass = 0; pass < 2; pass++) {
        for (size_t i = 0; i < ARRAY_SIZE(qs); i++) {
            json_t *rows_got;

            t.field = qs[i].field;
            t.ntokens = tokens(qs[i].text, &b1, t1, 16);
            rows_got = search(u->s, &q, &total);
            assert_int_equal(total, qs[i].total);
            assert_int_equal(json_array_size(rows_got), qs[i].total);
            if (!pass) {
                got[i] = json_dumps(rows_got, JSON_COMPACT);
                json_decref(rows_got);
            } else {
                /* The same rows in the same order (by rank, then _id). */
                assert_json(rows_got, got[i]);
                free(got[i]);
            }
        }
        if (!pass)
            ftx_to_format1(u, RID_A);
    }
    assert_int_equal(raw_int(u, RID_A, "SELECT count(*) FROM meta WHERE key = 'ftx_format'"), 0);
    assert_integrity(u, RID_A);
    buf_release(&b1);
}

/* A table committed with fulltext_later serves at once; text queries wait for
 * store_ds_fulltext_build, which indexes the rows written meanwhile too. */
static void test_fulltext_later(void **state)
{
    struct unit_store *u = *state;
    static const struct store_ds_field f[] = {{"id", DSTYPE_INT8}, {"body", DSTYPE_TEXT}};
    static const struct store_ds_field nums[] = {{"id", DSTYPE_INT8}, {"x", DSTYPE_NUMERIC}};
    static const char *const pk[] = {"id"};
    struct table_spec spec = {f, 2, pk, 1, true, {NULL}, {0}, 0, true};
    struct table_spec numspec = {nums, 2, NULL, 0, true, {NULL}, {0}, 0, true};
    static const char *const rows[] = {"1", "bus routes", "2", "subway lines", "3", "公交 bus"};
    static const char *const numrows[] = {"1", "2.5"};
    const char *cols[] = {"id"}, *t1[8], *fl[] = {"id", "body"};
    struct store_ds_query q = {.resource_id = RID_A, .fields = cols, .nfields = 1, .total = true};
    struct store_ds_info info;
    struct store_ds_text t;
    struct dsvalue v[] = {iv(4), tv("night bus")};
    struct buf b1 = BUF_INIT;
    struct err err = ERR_INIT;
    atomic_bool stop;
    uint64_t total = 0, gen;

    assert_int_equal(build_rows(u->s, RID_A, &spec, rows, 3, &err), 0);
    assert_int_equal(store_ds_info(u->s, RID_A, &info, &err), 0);
    assert_true(info.fulltext_pending);
    store_ds_info_release(&info);
    /* Filters, sort and plain pages work; q says why it cannot yet. */
    assert_json(search(u->s, &q, &total), "[[1], [2], [3]]");
    t = (struct store_ds_text){NULL, t1, tokens("bus", &b1, t1, 8)};
    q.text = &t;
    q.ntext = 1;
    assert_int_equal(search_fails(u->s, &q, &err), -ERR_UNAVAILABLE);
    assert_string_equal(err.field, "q");
    assert_non_null(strstr(err.msg, "full-text index"));
    /* A write meanwhile. */
    assert_int_equal(store_ds_upsert(u->s, RID_A, STORE_DS_INSERT, fl, 2, v, 1, NULL, &err), 0);
    /* Abandoned: no index, no file left behind. */
    atomic_init(&stop, true);
    err_clear(&err);
    assert_int_equal(store_ds_fulltext_build(u->s, RID_A, NULL, &stop, &err), -ERR_UNAVAILABLE);
    assert_false(has_build_files(u));
    assert_int_equal(store_ds_info(u->s, RID_A, &info, &err), 0);
    assert_true(info.fulltext_pending);
    gen = info.generation;
    store_ds_info_release(&info);
    /* Built: a new generation, and every row is found, the upserted one too. */
    assert_int_equal(store_ds_fulltext_build(u->s, RID_A, NULL, NULL, &err), 0);
    assert_false(has_build_files(u));
    assert_int_equal(store_ds_info(u->s, RID_A, &info, &err), 0);
    assert_false(info.fulltext_pending);
    assert_int_equal(info.generation, gen + 1);
    assert_int_equal(info.rows, 4);
    store_ds_info_release(&info);
    assert_json(search(u->s, &q, &total), "[[1], [3], [4]]");
    assert_int_equal(total, 3);
    assert_integrity(u, RID_A);
    /* Writes keep it in step from now on; building again does nothing. */
    v[0] = iv(5);
    v[1] = tv("bus depot");
    assert_int_equal(store_ds_upsert(u->s, RID_A, STORE_DS_INSERT, fl, 2, v, 1, NULL, &err), 0);
    assert_json(search(u->s, &q, &total), "[[1], [3], [4], [5]]");
    assert_int_equal(store_ds_info(u->s, RID_A, &info, &err), 0);
    gen = info.generation;
    store_ds_info_release(&info);
    assert_int_equal(store_ds_fulltext_build(u->s, RID_A, NULL, NULL, &err), 0);
    assert_int_equal(store_ds_info(u->s, RID_A, &info, &err), 0);
    assert_int_equal(info.generation, gen);
    store_ds_info_release(&info);
    /* No text field: nothing to build, and q matches nothing, as before. */
    assert_int_equal(build_rows(u->s, RID_B, &numspec, numrows, 1, &err), 0);
    assert_int_equal(store_ds_fulltext_build(u->s, RID_B, catalog_search_text, NULL, &err), 0);
    q.resource_id = RID_B;
    assert_json(search(u->s, &q, &total), "[]");
    /* No table. */
    assert_int_equal(store_ds_drop(u->s, RID_B, &err), 0);
    assert_int_equal(store_ds_fulltext_build(u->s, RID_B, catalog_search_text, NULL, &err),
                     -ERR_NOT_FOUND);
    assert_false(has_build_files(u));
    buf_release(&b1);
}

struct fts_job {
    struct store *s;
    int rc;
    struct err err;
};

static void *fts_build_thread(void *arg)
{
    struct fts_job *j = arg;

    j->rc = store_ds_fulltext_build(j->s, RID_A, NULL, NULL, &j->err);
    return NULL;
}

/* Writes while the index is built: whichever way they fall (before the copy, between the
 * copy and the swap, which makes it build again, or after the swap), every one is found. */
static void test_fulltext_later_writes(void **state)
{
    struct unit_store *u = *state;
    static const struct store_ds_field f[] = {{"id", DSTYPE_INT8}, {"body", DSTYPE_TEXT}};
    static const char *const pk[] = {"id"};
    struct table_spec spec = {f, 2, pk, 1, true, {NULL}, {0}, 0, true};
    enum { ROWS = 30000, WRITES = 40 };
    const char **rows = xcalloc(2 * ROWS, sizeof(*rows));
    char(*text)[32] = xcalloc(2 * ROWS, sizeof(*text));
    const char *cols[] = {"id"}, *t1[8], *fl[] = {"id", "body"};
    struct store_ds_query q = {.resource_id = RID_A, .fields = cols, .nfields = 1, .total = true};
    struct fts_job job = {u->s, 0, ERR_INIT};
    struct store_ds_text t;
    struct buf b1 = BUF_INIT;
    struct err err = ERR_INIT;
    uint64_t total = 0;
    pthread_t th;

    for (size_t i = 0; i < ROWS; i++) {
        xsnprintf(text[2 * i], sizeof(text[0]), "%zu", i + 1);
        xsnprintf(text[2 * i + 1], sizeof(text[0]), "row %zu of the river", i + 1);
        rows[2 * i] = text[2 * i];
        rows[2 * i + 1] = text[2 * i + 1];
    }
    assert_int_equal(build_rows(u->s, RID_A, &spec, rows, ROWS, &err), 0);
    assert_int_equal(pthread_create(&th, NULL, fts_build_thread, &job), 0);
    for (int i = 0; i < WRITES; i++) {
        struct dsvalue v[] = {iv(ROWS + 1 + i), tv("zebra crossing")};

        assert_int_equal(store_ds_upsert(u->s, RID_A, STORE_DS_INSERT, fl, 2, v, 1, NULL, &err), 0);
        usleep(2000);
    }
    pthread_join(th, NULL);
    assert_int_equal(job.rc, 0);
    assert_false(has_build_files(u));
    t = (struct store_ds_text){NULL, t1, tokens("zebra", &b1, t1, 8)};
    q.text = &t;
    q.ntext = 1;
    q.limit = 1;
    json_decref(search(u->s, &q, &total));
    assert_int_equal(total, WRITES);
    t.ntokens = tokens("river", &b1, t1, 8);
    json_decref(search(u->s, &q, &total));
    assert_int_equal(total, ROWS);
    assert_integrity(u, RID_A);
    buf_release(&b1);
    free(rows);
    free(text);
}

/* Writes a file of size bytes at path. */
static void put_file(const char *path, size_t size)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    char zero[512] = {0};

    assert_true(fd >= 0);
    for (size_t done = 0; done < size; done += sizeof(zero))
        assert_int_equal(write(fd, zero, sizeof(zero)), (ssize_t)sizeof(zero));
    close(fd);
}

/* The store's open sweeps the build files of builders that are gone (their owner file
 * can be locked), whatever their age, and leaves those of live builders. */
static void test_sweep_dead_builds(void **state)
{
    struct unit_store *u = *state;
    char *dir = xstrfmt("%s/datastore", u->dir);
    char *dead = xstrfmt("%s/%s.db.build-00000000000000aa", dir, RID_A);
    char *dead_owner = xstrfmt("%s.owner", dead);
    char *live = xstrfmt("%s/%s.db.build-fts-00000000000000bb", dir, RID_B);
    char *live_owner = xstrfmt("%s.owner", live);
    char *stray = xstrfmt("%s/%s.db.build-00000000000000cc.owner", dir, RID_A);
    struct err err = ERR_INIT;
    int held;

    build_people(u->s, RID_A); /* the directory exists */
    put_file(dead, 8192);
    put_file(dead_owner, 0);
    put_file(live, 8192);
    put_file(live_owner, 0);
    put_file(stray, 0);
    held = open(live_owner, O_RDWR);
    assert_true(held >= 0);
    assert_int_equal(flock(held, LOCK_EX | LOCK_NB), 0);
    store_free(u->s);
    assert_int_equal(store_open(&u->s, u->path, false, &err), 0);
    store_ds_set_tokenizer(u->s, catalog_search_text);
    assert_int_equal(access(dead, F_OK), -1);
    assert_int_equal(access(dead_owner, F_OK), -1);
    assert_int_equal(access(stray, F_OK), -1);
    assert_int_equal(access(live, F_OK), 0);
    assert_int_equal(access(live_owner, F_OK), 0);
    /* Its builder gone too: the next open takes it. */
    close(held);
    store_free(u->s);
    assert_int_equal(store_open(&u->s, u->path, false, &err), 0);
    store_ds_set_tokenizer(u->s, catalog_search_text);
    assert_false(has_build_files(u));
    /* A real build leaves nothing behind, its owner file included. */
    build_people(u->s, RID_B);
    assert_int_equal(store_ds_fulltext_build(u->s, RID_B, NULL, NULL, &err), 0);
    assert_false(has_build_files(u));
    /* A builder that dies while the store is open (a `kaifang ingest` killed beside the
     * server): its file goes when the next build begins, not only at the next open. */
    put_file(dead, 8192);
    put_file(dead_owner, 0);
    build_people(u->s, RID_B);
    assert_int_equal(access(dead, F_OK), -1);
    assert_int_equal(access(dead_owner, F_OK), -1);
    assert_false(has_build_files(u));
    free(dir);
    free(dead);
    free(dead_owner);
    free(live);
    free(live_owner);
    free(stray);
}

/* ---- Writes in place --------------------------------------------------------------------- */

static void test_upsert(void **state)
{
    struct unit_store *u = *state;
    static const struct store_ds_field f[] = {
            {"code", DSTYPE_TEXT}, {"price", DSTYPE_NUMERIC}, {"qty", DSTYPE_INT8}};
    static const char *const pk[] = {"code"};
    struct table_spec spec = {f, 3, pk, 1, false, {NULL}, {0}, 0, false};
    static const char *const rows[] = {"a", "1.50", "1", "b", "2", "2"};
    struct store_ds_query q = {.resource_id = RID_A};
    const char *all[] = {"code", "price", "qty"};
    const char *some[] = {"qty", "code"};
    struct store_ds_info info;
    struct err err = ERR_INIT;
    uint64_t n = 0;

    assert_int_equal(build_rows(u->s, RID_A, &spec, rows, 2, &err), 0);
    {
        /* Insert: new keys only; all or nothing. */
        struct dsvalue v[] = {tv("c"), tv("3.00"), iv(3), tv("a"), tv("9"), iv(9)};

        assert_int_equal(store_ds_upsert(u->s, RID_A, STORE_DS_INSERT, all, 3, v, 2, &n, &err),
                         -ERR_CONFLICT);
        assert_non_null(strstr(err.msg, "\"a\""));
        assert_non_null(strstr(err.msg, "\"code\""));
        assert_int_equal(n, 0);
        err_clear(&err);
        assert_int_equal(store_ds_upsert(u->s, RID_A, STORE_DS_INSERT, all, 3, v, 1, &n, &err), 0);
        assert_int_equal(n, 1);
    }
    {
        /* Update: existing keys only; fields not named keep their value. */
        struct dsvalue v[] = {iv(20), tv("b"), iv(5), tv("zz")};

        assert_int_equal(store_ds_upsert(u->s, RID_A, STORE_DS_UPDATE, some, 2, v, 2, &n, &err),
                         -ERR_NOT_FOUND);
        assert_non_null(strstr(err.msg, "\"zz\""));
        err_clear(&err);
        assert_int_equal(store_ds_upsert(u->s, RID_A, STORE_DS_UPDATE, some, 2, v, 1, &n, &err), 0);
        assert_int_equal(n, 1);
    }
    {
        /* Upsert: both; a field left out of an insert is NULL. */
        struct dsvalue v[] = {iv(7), tv("a"), iv(8), tv("d")};

        assert_int_equal(store_ds_upsert(u->s, RID_A, STORE_DS_UPSERT, some, 2, v, 2, &n, &err), 0);
        assert_int_equal(n, 2);
    }
    assert_json(search(u->s, &q, NULL),
                "[[1, \"a\", \"1.50\", 7], [2, \"b\", \"2\", 20], [3, \"c\", \"3.00\", 3],"
                " [4, \"d\", null, 8]]");
    assert_int_equal(store_ds_info(u->s, RID_A, &info, &err), 0);
    assert_int_equal(info.rows, 4);
    assert_int_equal(info.generation, 4);
    store_ds_info_release(&info);

    /* Errors. */
    {
        const char *nokey[] = {"qty"};
        const char *unknown[] = {"code", "colour"};
        const char *twice[] = {"code", "code"};
        struct dsvalue v[] = {tv("a"), tv("x")};
        struct dsvalue bad[] = {tv("a"), tv("x"), tv("1")};

        assert_int_equal(store_ds_upsert(u->s, RID_A, STORE_DS_UPSERT, nokey, 1, v, 1, &n, &err),
                         -ERR_VALIDATION);
        assert_non_null(strstr(err.msg, "\"code\""));
        err_clear(&err);
        assert_int_equal(store_ds_upsert(u->s, RID_A, STORE_DS_UPSERT, unknown, 2, v, 1, &n, &err),
                         -ERR_VALIDATION);
        assert_non_null(strstr(err.msg, "\"colour\""));
        err_clear(&err);
        assert_int_equal(store_ds_upsert(u->s, RID_A, STORE_DS_UPSERT, twice, 2, v, 1, &n, &err),
                         -ERR_VALIDATION);
        err_clear(&err);
        /* A numeric that is not a number, an int8 that is not an integer. */
        assert_int_equal(store_ds_upsert(u->s, RID_A, STORE_DS_UPSERT, all, 3, bad, 1, &n, &err),
                         -ERR_VALIDATION);
        assert_non_null(strstr(err.msg, "\"price\""));
        err_clear(&err);
        bad[1] = tv("1");
        bad[2] = tv("one");
        assert_int_equal(store_ds_upsert(u->s, RID_A, STORE_DS_UPSERT, all, 3, bad, 1, &n, &err),
                         -ERR_VALIDATION);
        assert_non_null(strstr(err.msg, "\"qty\""));
        err_clear(&err);
        /* An empty key. */
        bad[0] = tv(NULL);
        bad[2] = iv(1);
        assert_int_equal(store_ds_upsert(u->s, RID_A, STORE_DS_UPSERT, all, 3, bad, 1, &n, &err),
                         -ERR_VALIDATION);
        err_clear(&err);
        assert_int_equal(store_ds_upsert(u->s, RID_B, STORE_DS_UPSERT, all, 3, v, 0, &n, &err),
                         -ERR_NOT_FOUND);
        err_clear(&err);
        /* More than LIMIT_DATASTORE_RECORDS records in one call. */
        assert_int_equal(store_ds_upsert(u->s, RID_A, STORE_DS_UPSERT, all, 3, bad,
                                         LIMIT_DATASTORE_RECORDS + 1, &n, &err),
                         -ERR_VALIDATION);
        assert_string_equal(err.field, "records");
        err_clear(&err);
    }
    assert_json(search(u->s, &q, NULL),
                "[[1, \"a\", \"1.50\", 7], [2, \"b\", \"2\", 20], [3, \"c\", \"3.00\", 3],"
                " [4, \"d\", null, 8]]");

    /* A table without a primary key takes inserts only; _id goes on from the last. */
    {
        static const struct store_ds_field g[] = {{"w", DSTYPE_TEXT}};
        struct table_spec nopk = {g, 1, NULL, 0, false, {NULL}, {0}, 0, false};
        static const char *const r[] = {"x", "y"};
        const char *w[] = {"w"};
        struct dsvalue v[] = {tv("z"), tv("z")};
        struct store_ds_query qb = {.resource_id = RID_B};

        assert_int_equal(build_rows(u->s, RID_B, &nopk, r, 2, &err), 0);
        assert_int_equal(store_ds_upsert(u->s, RID_B, STORE_DS_UPSERT, w, 1, v, 1, &n, &err),
                         -ERR_VALIDATION);
        err_clear(&err);
        assert_int_equal(store_ds_upsert(u->s, RID_B, STORE_DS_INSERT, w, 1, v, 2, &n, &err), 0);
        assert_int_equal(n, 2);
        assert_json(search(u->s, &qb, NULL), "[[1, \"x\"], [2, \"y\"], [3, \"z\"], [4, \"z\"]]");
    }
    /* A numeric key matches by value: "2.0" is the row keyed "2". */
    {
        static const struct store_ds_field g[] = {{"k", DSTYPE_NUMERIC}, {"v", DSTYPE_TEXT}};
        static const char *const gk[] = {"k"};
        struct table_spec numpk = {g, 2, gk, 1, false, {NULL}, {0}, 0, false};
        static const char *const r[] = {"2", "two", "0.5", "half"};
        static const char *const dup[] = {"2", "two", "2.00", "again"};
        const char *kv[] = {"k", "v"};
        struct dsvalue v[] = {tv("2.0"), tv("TWO"), tv(".50"), tv("HALF")};
        struct store_ds_query qp = {.resource_id = RID_P};

        assert_int_equal(build_rows(u->s, RID_P, &numpk, dup, 2, &err), -ERR_CONFLICT);
        err_clear(&err);
        assert_int_equal(build_rows(u->s, RID_P, &numpk, r, 2, &err), 0);
        assert_int_equal(store_ds_upsert(u->s, RID_P, STORE_DS_UPDATE, kv, 2, v, 2, &n, &err), 0);
        assert_json(search(u->s, &qp, NULL), "[[1, \"2\", \"TWO\"], [2, \"0.5\", \"HALF\"]]");
    }
}

static void test_delete_index_meta_drop(void **state)
{
    struct unit_store *u = *state;
    struct store_ds_query q = {.resource_id = RID_A};
    const char *cols[] = {"name"};
    struct dsvalue alice[] = {tv("alice")};
    struct dsvalue n3[] = {iv(3)};
    struct store_ds_filter f[2] = {{"name", alice, 1}, {"n", n3, 1}};
    struct store_ds_info info;
    struct err err = ERR_INIT;
    json_t *ids = NULL;
    uint64_t n = 0;

    build_people(u->s, RID_A);
    build_people(u->s, RID_B);
    assert_int_equal(store_ds_delete(u->s, RID_A, f, 2, &n, &err), 0);
    assert_int_equal(n, 1);
    f[1].field = "nope";
    assert_int_equal(store_ds_delete(u->s, RID_A, f, 2, &n, &err), -ERR_VALIDATION);
    assert_string_equal(err.field, "filters");
    err_clear(&err);
    assert_int_equal(store_ds_delete(u->s, RID_A, f, 1, &n, &err), 0);
    assert_int_equal(n, 1);
    q.fields = cols;
    q.nfields = 1;
    q.total = true;
    assert_json(search(u->s, &q, &n),
                "[[\"bob\"], [\"carol\"], [\"dave\"], [\"erin\"], [\"frank\"]]");
    assert_int_equal(n, 5);

    /* Indexes: made once, named in info, used by the engine. */
    {
        const char *one[] = {"name"};
        const char *two[] = {"amount", "n"};
        const char *bad[] = {"nope"};

        assert_int_equal(store_ds_index_create(u->s, RID_A, one, 1, &err), 0);
        assert_int_equal(store_ds_index_create(u->s, RID_A, two, 2, &err), 0);
        assert_int_equal(store_ds_index_create(u->s, RID_A, one, 1, &err), 0);
        assert_int_equal(store_ds_index_create(u->s, RID_A, bad, 1, &err), -ERR_VALIDATION);
        assert_string_equal(err.field, "indexes");
        err_clear(&err);
        assert_int_equal(raw_int(u, RID_A,
                                 "SELECT count(*) FROM sqlite_schema WHERE type = 'index'"
                                 " AND name LIKE 'i\\_%' ESCAPE '\\'"),
                         2);
        assert_int_equal(store_ds_info(u->s, RID_A, &info, &err), 0);
        assert_json(json_incref(info.indexes), "[[\"name\"], [\"amount\", \"n\"]]");
        store_ds_info_release(&info);
        assert_json(search(u->s, &q, &n),
                    "[[\"bob\"], [\"carol\"], [\"dave\"], [\"erin\"], [\"frank\"]]");
    }

    /* Meta. */
    {
        json_t *meta = json_pack("{s:s, s:[i]}", "note", "新", "list", 1);

        assert_int_equal(store_ds_meta_put(u->s, RID_A, meta, &err), 0);
        json_decref(meta);
        assert_int_equal(store_ds_info(u->s, RID_A, &info, &err), 0);
        assert_json(json_incref(info.meta), "{\"note\": \"新\", \"list\": [1]}");
        assert_int_equal(info.rows, 5);
        store_ds_info_release(&info);
    }
    assert_integrity(u, RID_A);

    /* List and drop. */
    assert_int_equal(store_ds_list(u->s, &ids, &err), 0);
    assert_json(ids, "[\"" RID_B "\", \"" RID_A "\"]");
    assert_true(holds_file(RID_A ".db")); /* this thread's cached reader */
    assert_int_equal(store_ds_drop(u->s, RID_A, &err), 0);
    /* The next search lets the dropped file go. */
    q.resource_id = RID_B;
    json_decref(search(u->s, &q, NULL));
    assert_false(holds_file(RID_A ".db"));
    assert_int_equal(store_ds_drop(u->s, RID_A, &err), -ERR_NOT_FOUND);
    err_clear(&err);
    assert_int_equal(store_ds_info(u->s, RID_A, &info, &err), -ERR_NOT_FOUND);
    err_clear(&err);
    assert_int_equal(store_ds_meta_put(u->s, RID_A, NULL, &err), -ERR_NOT_FOUND);
    err_clear(&err);
    assert_int_equal(store_ds_list(u->s, &ids, &err), 0);
    assert_json(ids, "[\"" RID_B "\"]");
    {
        char *list = dir_listing(u);

        assert_string_equal(list, RID_B ".db " RID_B ".lock");
        free(list);
    }
}

/* Writers in several threads at once: each write waits for the one before (the table's
 * lock), none is lost, and _id is never given twice. */
struct writer_ctx {
    struct store *s;
    int id;
    atomic_int errors;
};

static void *insert_many(void *arg)
{
    struct writer_ctx *x = arg;
    const char *f[] = {"name", "n"};

    for (int i = 0; i < 25; i++) {
        struct err err = ERR_INIT;
        char name[32];
        struct dsvalue v[2] = {tv(name), iv(x->id)};

        xsnprintf(name, sizeof(name), "w%d-%d", x->id, i);
        v[0] = tv(name);
        if (store_ds_upsert(x->s, RID_A, STORE_DS_INSERT, f, 2, v, 1, NULL, &err))
            atomic_fetch_add(&x->errors, 1);
    }
    return NULL;
}

static void test_concurrent_writers(void **state)
{
    struct unit_store *u = *state;
    struct writer_ctx x[3];
    pthread_t th[3];
    struct store_ds_info info;
    struct err err = ERR_INIT;

    build_people(u->s, RID_A);
    for (int i = 0; i < 3; i++) {
        x[i] = (struct writer_ctx){u->s, i + 1, 0};
        assert_int_equal(pthread_create(&th[i], NULL, insert_many, &x[i]), 0);
    }
    for (int i = 0; i < 3; i++) {
        pthread_join(th[i], NULL);
        assert_int_equal(atomic_load(&x[i].errors), 0);
    }
    assert_int_equal(store_ds_info(u->s, RID_A, &info, &err), 0);
    assert_int_equal(info.rows, 7 + 75);
    assert_int_equal(info.generation, 1 + 75);
    store_ds_info_release(&info);
    assert_int_equal(raw_int(u, RID_A, "SELECT count(DISTINCT _id) FROM t_" HEX_A), 82);
    assert_int_equal(raw_int(u, RID_A, "SELECT max(_id) FROM t_" HEX_A), 82);
    assert_int_equal(
            raw_int(u, RID_A, "SELECT count(DISTINCT c_1) FROM t_" HEX_A " WHERE c_1 LIKE 'w%'"),
            75);
    assert_integrity(u, RID_A);
}

/* ---- Ingest status ------------------------------------------------------------------ */
static void test_status(void **state)
{
    struct unit_store *u = *state;
    struct err err = ERR_INIT;
    json_t *st = json_pack("{s:s, s:i}", "status", "pending", "line", 3), *got = NULL;

    assert_int_equal(store_ds_status_get(u->s, RID_A, &got, &err), -ERR_NOT_FOUND);
    err_clear(&err);
    assert_int_equal(store_begin(u->s, &err), 0);
    assert_int_equal(store_ds_status_put(u->s, RID_A, st, &err), 0);
    assert_int_equal(store_ds_status_put(u->s, RID_B, st, &err), 0);
    /* Read inside the transaction: its own write. */
    assert_int_equal(store_ds_status_get(u->s, RID_A, &got, &err), 0);
    assert_true(json_equal(got, st));
    json_decref(got);
    assert_int_equal(store_commit(u->s, &err), 0);
    assert_int_equal(store_begin(u->s, &err), 0);
    assert_int_equal(store_ds_status_put(u->s, RID_B, NULL, &err), 0);
    store_rollback(u->s);
    assert_int_equal(store_ds_status_list(u->s, &got, &err), 0);
    assert_int_equal(json_object_size(got), 2);
    json_decref(got);
    assert_int_equal(store_begin(u->s, &err), 0);
    assert_int_equal(store_ds_status_put(u->s, RID_B, NULL, &err), 0);
    assert_int_equal(store_commit(u->s, &err), 0);
    assert_int_equal(store_ds_status_list(u->s, &got, &err), 0);
    assert_json(got, "{\"" RID_A "\": {\"status\": \"pending\", \"line\": 3}}");
    json_decref(st);
}

/* ---- Failure injection ---------------------------------------------------------------- */
static void test_fail_injection(void **state)
{
    struct unit_store *u = *state;
    struct store_ds_query q = {.resource_id = RID_A};
    static const char *const rows[] = {"zed", "1", "1"};
    const char *all[] = {"name", "amount", "n"};
    struct dsvalue v[] = {tv("x"), tv("1"), iv(1)};
    struct dsvalue alice[] = {tv("alice")};
    struct store_ds_filter f = {"name", alice, 1};
    const char *idx[] = {"name"};
    struct store_ds_info before, after;
    struct err err = ERR_INIT;
    json_t *meta = json_object(), *st = json_object();
    json_t *rows_before;

    build_people(u->s, RID_A);
    assert_int_equal(store_ds_info(u->s, RID_A, &before, &err), 0);
    rows_before = search(u->s, &q, NULL);
    setenv("KAIFANG_FAIL_STORE_AT", "1", 1);
    store_free(u->s);
    assert_int_equal(store_open(&u->s, u->path, false, &err), 0);
    store_ds_set_tokenizer(u->s, catalog_search_text);

    store_fail_count_reset();
    assert_int_equal(build_rows(u->s, RID_A, &people, rows, 1, &err), -ERR_INTERNAL);
    assert_false(has_build_files(u));
    err_clear(&err);
    store_fail_count_reset();
    assert_int_equal(store_ds_upsert(u->s, RID_A, STORE_DS_INSERT, all, 3, v, 1, NULL, &err),
                     -ERR_INTERNAL);
    err_clear(&err);
    store_fail_count_reset();
    assert_int_equal(store_ds_delete(u->s, RID_A, &f, 1, NULL, &err), -ERR_INTERNAL);
    err_clear(&err);
    store_fail_count_reset();
    assert_int_equal(store_ds_drop(u->s, RID_A, &err), -ERR_INTERNAL);
    err_clear(&err);
    store_fail_count_reset();
    assert_int_equal(store_ds_meta_put(u->s, RID_A, meta, &err), -ERR_INTERNAL);
    err_clear(&err);
    store_fail_count_reset();
    assert_int_equal(store_ds_index_create(u->s, RID_A, idx, 1, &err), -ERR_INTERNAL);
    err_clear(&err);
    assert_int_equal(store_begin(u->s, &err), 0);
    store_fail_count_reset();
    assert_int_equal(store_ds_status_put(u->s, RID_A, st, &err), -ERR_INTERNAL);
    store_rollback(u->s);
    err_clear(&err);

    assert_int_equal(store_ds_info(u->s, RID_A, &after, &err), 0);
    assert_int_equal(after.generation, before.generation);
    assert_true(json_equal(after.meta, before.meta));
    assert_true(json_equal(after.indexes, before.indexes));
    store_ds_info_release(&after);
    store_ds_info_release(&before);
    {
        char *text = json_dumps(rows_before, JSON_COMPACT);

        assert_json(search(u->s, &q, NULL), text);
        free(text);
    }
    json_decref(rows_before);
    {
        json_t *got = NULL;

        assert_int_equal(store_ds_status_get(u->s, RID_A, &got, &err), -ERR_NOT_FOUND);
    }
    /* The second write after a reset is not the one that fails. */
    store_fail_count_reset();
    assert_int_equal(store_ds_meta_put(u->s, RID_A, meta, &err), -ERR_INTERNAL);
    err_clear(&err);
    assert_int_equal(store_ds_meta_put(u->s, RID_A, meta, &err), 0);
    unsetenv("KAIFANG_FAIL_STORE_AT");
    json_decref(meta);
    json_decref(st);
}

/* A read-only store reads tables and refuses to change them. */
static void test_readonly_store(void **state)
{
    struct unit_store *u = *state;
    struct store_ds_query q = {.resource_id = RID_A, .limit = 1};
    struct store *ro = NULL;
    struct err err = ERR_INIT;
    struct store_ds_build *b = NULL;

    build_people(u->s, RID_A);
    assert_int_equal(store_open_readonly(&ro, u->path, 1024, &err), 0);
    assert_json(search(ro, &q, NULL), "[[1, \"alice\", \"0.5\", 3]]");
    assert_int_equal(store_ds_build_begin(ro, RID_B, &(struct store_ds_table_def){0}, &b, &err),
                     -ERR_INTERNAL);
    err_clear(&err);
    assert_int_equal(store_ds_drop(ro, RID_A, &err), -ERR_INTERNAL);
    store_free(ro);
}

/* ---- datastore_search_sql ---------------------------------------------------------------- */

static int may_read(void *ctx, const char *resource_id, struct err *err)
{
    (void)ctx;
    if (!strcmp(resource_id, RID_P))
        return err_set(err, ERR_AUTH, "resource_id", "not allowed to read \"%s\"", resource_id);
    return 0;
}

static const struct store_ds_sql_opts sql_opts = {50, 400, may_read, NULL};

static int run_sql(struct store *s, const char *sql, json_t **rows, struct err *err,
                   bool *truncated)
{
    struct store_ds_cursor *c = NULL;
    int rc = store_ds_sql(s, sql, &sql_opts, &c, err);
    const struct dsvalue *v;

    if (rc) {
        assert_null(c);
        return rc;
    }
    *rows = json_array();
    while ((rc = store_ds_cursor_next(c, &v, err)) == 1) {
        json_t *row = json_array();

        for (size_t i = 0; i < store_ds_cursor_ncolumns(c); i++)
            json_array_append_new(row, v[i].kind == DSVALUE_INT    ? json_integer(v[i].i)
                                       : v[i].kind == DSVALUE_TEXT ? json_stringn(v[i].s, v[i].len)
                                                                   : json_null());
        json_array_append_new(*rows, row);
    }
    if (truncated)
        *truncated = store_ds_cursor_truncated(c);
    store_ds_cursor_free(c);
    if (rc < 0) {
        json_decref(*rows);
        *rows = NULL;
    }
    return rc;
}

/* run_sql that must succeed. */
static json_t *sql_rows(struct store *s, const char *sql, bool *truncated)
{
    struct err err = ERR_INIT;
    json_t *rows = NULL;

    if (run_sql(s, sql, &rows, &err, truncated))
        fail_msg("sql: %s: %s", err.msg, sql);
    return rows;
}

static void test_sql(void **state)
{
    struct unit_store *u = *state;
    static const struct store_ds_field fb[] = {{"name", DSTYPE_TEXT}, {"city", DSTYPE_TEXT}};
    struct table_spec spec = {fb, 2, NULL, 0, false, {NULL}, {0}, 0, false};
    static const char *const rb[] = {"alice", "北京", "bob", "上海", "zed", "x"};
    struct store_ds_cursor *c = NULL;
    struct err err = ERR_INIT;
    const struct dsvalue *v;
    bool truncated = false;
    json_t *rows = NULL;

    build_people(u->s, RID_A);
    assert_int_equal(build_rows(u->s, RID_B, &spec, rb, 3, &err), 0);
    /* A join of two tables by resource id; numeric text comes out exact. */
    assert_int_equal(run_sql(u->s,
                             "SELECT a.name, a.amount, b.city FROM \"" RID_A "\" a"
                             " JOIN \"" RID_B "\" AS b ON b.name = a.name ORDER BY a._id",
                             &rows, &err, NULL),
                     0);
    assert_json(rows, "[[\"alice\", \"0.5\", \"北京\"], [\"bob\", \"10\", \"上海\"],"
                      " [\"alice\", \"0.50\", \"北京\"]]");
    /* Column names and types: from the table column, or from the first value. */
    if (store_ds_sql(u->s,
                     "SELECT _id, name, amount, n, amount * 2 AS twice, n + 1,"
                     " count(*) OVER () AS c, 'x' || name, NULL AS empty"
                     " FROM \"" RID_A "\" WHERE n = 3 ORDER BY _id",
                     &sql_opts, &c, &err))
        fail_msg("sql: %s", err.msg);
    {
        static const char *const names[] = {"_id",   "name", "amount",      "n",    "twice",
                                            "n + 1", "c",    "'x' || name", "empty"};
        static const enum dstype types[] = {DSTYPE_INT8, DSTYPE_TEXT,    DSTYPE_NUMERIC,
                                            DSTYPE_INT8, DSTYPE_NUMERIC, DSTYPE_INT8,
                                            DSTYPE_INT8, DSTYPE_TEXT,    DSTYPE_TEXT};

        assert_int_equal(store_ds_cursor_ncolumns(c), 9);
        for (size_t i = 0; i < 9; i++) {
            assert_string_equal(store_ds_cursor_column(c, i), names[i]);
            assert_int_equal(store_ds_cursor_type(c, i), types[i]);
        }
        assert_int_equal(store_ds_cursor_next(c, &v, &err), 1);
        assert_int_equal(v[0].i, 1);
        assert_int_equal(v[4].kind, DSVALUE_TEXT);
        assert_memory_equal(v[4].s, "1", 1);
        assert_int_equal(v[4].len, 1);
        assert_int_equal(store_ds_cursor_next(c, &v, &err), 1);
        assert_int_equal(v[0].i, 5);
        assert_int_equal(v[2].kind, DSVALUE_NULL);
        assert_int_equal(store_ds_cursor_next(c, &v, &err), 0);
        assert_false(store_ds_cursor_truncated(c));
        store_ds_cursor_free(c);
    }
    /* REAL values: the shortest text that reads back the same. */
    assert_int_equal(
            run_sql(u->s, "SELECT 0.1 + 0.2, 1.5, 1e300 * 1e10, 2.0 / 3", &rows, &err, NULL), 0);
    assert_json(rows, "[[\"0.30000000000000004\", \"1.5\", \"Infinity\", \"0.6666666666666666\"]]");
    /* Numeric fields are exact text in SQL: compare them as numbers with CAST. */
    assert_int_equal(run_sql(u->s,
                             "SELECT name FROM \"" RID_A "\" WHERE CAST(amount AS REAL) > 1"
                             " ORDER BY CAST(amount AS REAL)",
                             &rows, &err, NULL),
                     0);
    assert_json(rows, "[[\"carol\"], [\"bob\"]]");
    /* The row cap. */
    rows = sql_rows(u->s, "SELECT a.name FROM \"" RID_A "\" a, \"" RID_B "\"", &truncated);
    assert_int_equal(json_array_size(rows), 21);
    assert_false(truncated);
    json_decref(rows);
    {
        struct store_ds_sql_opts few = sql_opts;

        few.row_cap = 2;
        assert_int_equal(store_ds_sql(u->s, "SELECT _id FROM \"" RID_A "\"", &few, &c, &err), 0);
        assert_int_equal(store_ds_cursor_next(c, &v, &err), 1);
        assert_int_equal(store_ds_cursor_next(c, &v, &err), 1);
        assert_int_equal(store_ds_cursor_next(c, &v, &err), 0);
        assert_true(store_ds_cursor_truncated(c));
        store_ds_cursor_free(c);
        few.row_cap = 7;
        assert_int_equal(store_ds_sql(u->s, "SELECT _id FROM \"" RID_A "\"", &few, &c, &err), 0);
        rows = collect(c);
        assert_int_equal(json_array_size(rows), 7);
        json_decref(rows);
    }
    /* Table-valued functions are refused as what they are; an UPDATE as a statement. */
    {
        static const char *const tvf[] = {"SELECT * FROM pragma_table_info('meta')",
                                          "SELECT * FROM json_each('[1,2]')"};

        for (size_t i = 0; i < ARRAY_SIZE(tvf); i++) {
            assert_int_equal(run_sql(u->s, tvf[i], &rows, &err, NULL), -ERR_VALIDATION);
            assert_non_null(strstr(err.msg, "table-valued functions"));
            err_clear(&err);
        }
        assert_int_equal(run_sql(u->s, "UPDATE \"" RID_A "\" SET n = 1", &rows, &err, NULL),
                         -ERR_VALIDATION);
        assert_null(strstr(err.msg, "table-valued"));
        err_clear(&err);
    }
    /* An engine error names no internal name. */
    assert_int_equal(run_sql(u->s, "SELECT nope FROM \"" RID_A "\"", &rows, &err, NULL),
                     -ERR_VALIDATION);
    assert_string_equal(err.field, "sql");
    assert_non_null(strstr(err.msg, "nope"));
    err_clear(&err);
    assert_int_equal(run_sql(u->s, "SELECT * FROM \"" RID_A "\" x JOIN \"" RID_B "\" y USING (n)",
                             &rows, &err, NULL),
                     -ERR_VALIDATION);
    assert_null(strstr(err.msg, HEX_A));
    assert_null(strstr(err.msg, "r0"));
    err_clear(&err);
    /* Limits: the statement's length, the tables of one statement. */
    {
        struct buf big = BUF_INIT;

        buf_addstr(&big, "SELECT 1");
        while (big.len <= LIMIT_DATASTORE_SQL)
            buf_addstr(&big, " + 1");
        assert_int_equal(run_sql(u->s, big.buf, &rows, &err, NULL), -ERR_VALIDATION);
        assert_string_equal(err.field, "sql");
        err_clear(&err);
        buf_reset(&big);
        buf_addstr(&big, "SELECT count(*) FROM \"" RID_A "\"");
        for (unsigned i = 0; i < LIMIT_DATASTORE_SQL_TABLES; i++) {
            char id[40];

            xsnprintf(id, sizeof(id), "%08x-0000-4000-8000-000000000000", i);
            assert_int_equal(build_rows(u->s, id, &spec, rb, 1, &err), 0);
            buf_addf(&big, " JOIN \"%s\" USING (_id)", id);
            if (i + 2 == LIMIT_DATASTORE_SQL_TABLES) {
                /* As many tables as allowed: runs. */
                json_decref(sql_rows(u->s, big.buf, NULL));
            }
        }
        assert_int_equal(run_sql(u->s, big.buf, &rows, &err, NULL), -ERR_VALIDATION);
        assert_non_null(strstr(err.msg, "too many tables"));
        err_clear(&err);
        buf_release(&big);
    }
    /* A table the caller may not read: that error, as it is. */
    assert_int_equal(build_rows(u->s, RID_P, &spec, rb, 1, &err), 0);
    assert_int_equal(run_sql(u->s, "SELECT * FROM \"" RID_P "\"", &rows, &err, NULL), -ERR_AUTH);
    assert_string_equal(err.field, "resource_id");
}

/* A file's bytes, to check that nothing changed. */
static char *file_bytes(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    struct buf b = BUF_INIT;
    char chunk[65536];
    size_t n;

    assert_non_null(f);
    while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
        buf_add(&b, chunk, n);
    fclose(f);
    return buf_detach(&b, len);
}

static char *substitute(const char *line)
{
    struct buf b = BUF_INIT;

    for (const char *p = line; *p;) {
        if (starts_with(p, "{A}")) {
            buf_addstr(&b, RID_A);
            p += 3;
        } else if (starts_with(p, "{B}")) {
            buf_addstr(&b, RID_B);
            p += 3;
        } else if (starts_with(p, "{P}")) {
            buf_addstr(&b, RID_P);
            p += 3;
        } else if (starts_with(p, "{HEXA}")) {
            buf_addstr(&b, HEX_A);
            p += 6;
        } else {
            buf_addch(&b, *p++);
        }
    }
    return buf_detach(&b, NULL);
}

static void test_sql_injection_corpus(void **state)
{
    struct unit_store *u = *state;
    const char *data = getenv("KAIFANG_TEST_DATA");
    char *path = xstrfmt("%s/datastore/sql-injection.txt", data ? data : "tests/data");
    const char *ids[] = {RID_A, RID_B, RID_P};
    char *before[3], *listing;
    size_t len[3], nlines = 0, counts[5] = {0};
    char *catalog;
    size_t catalog_len;
    FILE *f;
    char line[70000];

    for (int i = 0; i < 3; i++)
        build_people(u->s, ids[i]);
    for (int i = 0; i < 3; i++) {
        char *p = table_path(u, ids[i]);

        before[i] = file_bytes(p, &len[i]);
        free(p);
    }
    listing = dir_listing(u);
    catalog = file_bytes(u->path, &catalog_len);

    f = fopen(path, "r");
    if (!f)
        fail_msg("cannot open %s (set KAIFANG_TEST_DATA)", path);
    while (fgets(line, sizeof(line), f)) {
        char *tab, *sql;
        const char *want;
        struct err err = ERR_INIT;
        json_t *rows = NULL;
        bool truncated = false;
        int rc;

        line[strcspn(line, "\n")] = 0;
        if (!line[0] || line[0] == '#')
            continue;
        tab = strchr(line, '\t');
        if (!tab)
            fail_msg("corpus line without a tab: %s", line);
        *tab = 0;
        want = line;
        /* SQLITE|POSTGRESQL outcomes: this test runs on SQLite. */
        line[strcspn(line, "|")] = 0;
        sql = substitute(tab + 1);
        rc = run_sql(u->s, sql, &rows, &err, &truncated);
        nlines++;
        if (!strcmp(want, "refused")) {
            if (rc != -ERR_VALIDATION || strcmp(err.field, "sql"))
                fail_msg("not refused (%d %s): %s", rc, err.msg, sql);
            counts[0]++;
        } else if (!strcmp(want, "denied")) {
            if (rc != -ERR_AUTH)
                fail_msg("not denied (%d %s): %s", rc, err.msg, sql);
            counts[1]++;
        } else if (!strcmp(want, "timeout")) {
            if (rc != -ERR_VALIDATION || !strstr(err.msg, "took longer than 400 ms"))
                fail_msg("no timeout (%d %s): %s", rc, err.msg, sql);
            counts[2]++;
        } else if (!strcmp(want, "capped")) {
            if (rc || !truncated || json_array_size(rows) != sql_opts.row_cap)
                fail_msg("not capped (%d %s): %s", rc, err.msg, sql);
            counts[3]++;
        } else if (!strcmp(want, "ok")) {
            if (rc)
                fail_msg("failed (%d %s): %s", rc, err.msg, sql);
            counts[4]++;
        } else {
            fail_msg("unknown outcome \"%s\"", want);
        }
        /* No message shows an internal name. */
        if (rc && ((strstr(err.msg, HEX_A) && !strstr(sql, HEX_A)) ||
                   (strstr(err.msg, "r0.") && !strstr(sql, "r0.")) ||
                   (strstr(err.msg, "c_1") && !strstr(sql, "c_1"))))
            fail_msg("message shows an internal name: %s (%s)", err.msg, sql);
        json_decref(rows);
        free(sql);
    }
    fclose(f);
    assert_true(nlines >= 40);
    for (int i = 0; i < 5; i++)
        assert_true(counts[i] > 0);

    /* Nothing changed. */
    for (int i = 0; i < 3; i++) {
        char *p = table_path(u, ids[i]);
        size_t n;
        char *now = file_bytes(p, &n);

        assert_int_equal(n, len[i]);
        assert_memory_equal(now, before[i], n);
        free(now);
        free(before[i]);
        free(p);
    }
    {
        char *l2 = dir_listing(u);
        size_t n;
        char *now = file_bytes(u->path, &n);

        assert_string_equal(l2, listing);
        assert_int_equal(n, catalog_len);
        assert_memory_equal(now, catalog, n);
        free(l2);
        free(now);
    }
    assert_int_equal(access("/tmp/kf-vacuum.db", F_OK), -1);
    assert_int_equal(access("/tmp/kf-attach.db", F_OK), -1);
    assert_int_equal(access("/tmp/kf-evil", F_OK), -1);
    free(listing);
    free(catalog);
    free(path);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
            cmocka_unit_test_setup_teardown(test_build_types, setup, teardown),
            cmocka_unit_test_setup_teardown(test_build_def_errors, setup, teardown),
            cmocka_unit_test_setup_teardown(test_build_layout, setup, teardown),
            cmocka_unit_test_setup_teardown(test_build_random, setup, teardown),
            cmocka_unit_test_setup_teardown(test_build_past_lock_page, setup, teardown),
            cmocka_unit_test_setup_teardown(test_atomic_replace, setup, teardown),
            cmocka_unit_test_setup_teardown(test_swap_threads, setup, teardown),
            cmocka_unit_test_setup_teardown(test_search_filters_sort, setup, teardown),
            cmocka_unit_test_setup_teardown(test_search_errors, setup, teardown),
            cmocka_unit_test_setup_teardown(test_fulltext, setup, teardown),
            cmocka_unit_test_setup_teardown(test_fulltext_incremental, setup, teardown),
            cmocka_unit_test_setup_teardown(test_fulltext_older_and_damaged, setup, teardown),
            cmocka_unit_test_setup_teardown(test_fulltext_format1, setup, teardown),
            cmocka_unit_test_setup_teardown(test_fulltext_later, setup, teardown),
            cmocka_unit_test_setup_teardown(test_fulltext_later_writes, setup, teardown),
            cmocka_unit_test_setup_teardown(test_sweep_dead_builds, setup, teardown),
            cmocka_unit_test_setup_teardown(test_upsert, setup, teardown),
            cmocka_unit_test_setup_teardown(test_delete_index_meta_drop, setup, teardown),
            cmocka_unit_test_setup_teardown(test_concurrent_writers, setup, teardown),
            cmocka_unit_test_setup_teardown(test_status, setup, teardown),
            cmocka_unit_test_setup_teardown(test_fail_injection, setup, teardown),
            cmocka_unit_test_setup_teardown(test_readonly_store, setup, teardown),
            cmocka_unit_test_setup_teardown(test_sql, setup, teardown),
            cmocka_unit_test_setup_teardown(test_sql_injection_corpus, setup, teardown),
    };

    log_set_level(LOG_ERROR);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
