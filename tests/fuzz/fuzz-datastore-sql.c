/*
 * Fuzz harness for datastore_search_sql in the store (store_ds_sql,
 * src/store/store-sqlite-datastore-sql.c): any visitor's SQL text against real table
 * files in a temporary portal made at the first input and removed at exit.
 *
 * Input: the SQL text (up to the first NUL byte). "{A}", "{B}", "{P}" and "{HEXA}" are
 * replaced by the resource ids of two tables the caller may read, one it may not, and the
 * hex digits of the first (its internal table is t_{HEXA}), so that mutations reach the
 * tables (tests/data/datastore/sql-injection.txt uses the same placeholders).
 *
 * Invariants checked, beyond "no crash, no leak":
 * - a failure is -ERR_VALIDATION naming "sql" with a message starting "sql: ", or the
 *   caller's -ERR_AUTH for the table it may not read; never an internal error;
 * - a message names no internal name (t_<hex>, r0.) the input did not hold;
 * - a success gives a cursor whose rows have its number of columns, valid types and
 *   values, at most the row cap of them, and ends cleanly or with that kind of error;
 * - nothing changes: every file of the portal keeps its size and modification time, and
 *   no file appears or goes.
 */
#include <dirent.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/buf.h"
#include "core/log.h"
#include "store/store-datastore.h"
#include "core/util.h"

#define RID_A   "6f1c7a52-0d3e-4f59-9a0b-1c2d3e4f5a6b"
#define RID_B   "0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d"
#define RID_P   "ffffffff-1111-4222-8333-444444444444"
#define HEX_A   "6f1c7a520d3e4f599a0b1c2d3e4f5a6b"
#define ROW_CAP 20

static struct store *store;
static char dir[64];
static char *snapshot; /* names, sizes and times of the portal's files */

static void remove_tree(const char *path)
{
    struct dirent *e;
    DIR *d = opendir(path);

    if (!d)
        return;
    while ((e = readdir(d))) {
        struct stat st;
        char *p;

        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
            continue;
        p = xstrfmt("%s/%s", path, e->d_name);
        if (!lstat(p, &st) && S_ISDIR(st.st_mode))
            remove_tree(p);
        else
            unlink(p);
        free(p);
    }
    closedir(d);
    rmdir(path);
}

/* Every file under path with its size and time, in directory order (stable here). */
static void list_files(const char *path, struct buf *out)
{
    struct dirent *e;
    DIR *d = opendir(path);

    BUG_ON(!d);
    while ((e = readdir(d))) {
        struct stat st;
        char *p;

        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
            continue;
        p = xstrfmt("%s/%s", path, e->d_name);
        BUG_ON(lstat(p, &st));
        if (S_ISDIR(st.st_mode))
            list_files(p, out);
        else
            buf_addf(out, "%s %lld %lld.%09ld\n", e->d_name, (long long)st.st_size,
                     (long long)st.st_mtim.tv_sec, st.st_mtim.tv_nsec);
        free(p);
    }
    closedir(d);
}

static char *portal_snapshot(void)
{
    struct buf b = BUF_INIT;

    list_files(dir, &b);
    return buf_detach(&b, NULL);
}

static void cleanup(void)
{
    store_free(store);
    remove_tree(dir);
    free(snapshot);
}

static void build(const char *id)
{
    static const struct store_ds_field fields[] = {
            {"name", DSTYPE_TEXT}, {"amount", DSTYPE_NUMERIC}, {"n", DSTYPE_INT8}};
    static const char *const names[] = {"alice", "bob", "carol", "北京", "o'brien", "a\"b"};
    struct store_ds_table_def def = {fields, 3, NULL, 0, NULL, NULL, 0, false, NULL, false};
    struct store_ds_build *b = NULL;
    struct err err = ERR_INIT;
    char amount[16];

    BUG_ON(store_ds_build_begin(store, id, &def, &b, &err));
    for (int i = 0; i < 30; i++) {
        struct dsvalue v[3] = {{DSVALUE_TEXT, 0, names[i % 6], strlen(names[i % 6])},
                               {DSVALUE_TEXT, 0, amount, 0},
                               {DSVALUE_INT, i * 7 - 50, NULL, 0}};

        xsnprintf(amount, sizeof(amount), "%d.%02d", i, i * 3 % 100);
        v[1].len = strlen(amount);
        BUG_ON(store_ds_build_row(b, v, &err));
    }
    BUG_ON(store_ds_build_commit(b, NULL, NULL, &err));
}

static void setup(void)
{
    struct err err = ERR_INIT;
    char path[96];

    log_set_level(LOG_ERROR);
    xsnprintf(dir, sizeof(dir), "/tmp/kf-fuzz-dssql-XXXXXX");
    BUG_ON(!mkdtemp(dir));
    xsnprintf(path, sizeof(path), "%s/kaifang.db", dir);
    BUG_ON(store_open(&store, path, true, &err));
    build(RID_A);
    build(RID_B);
    build(RID_P);
    snapshot = portal_snapshot();
    atexit(cleanup);
}

static int may_read(void *ctx, const char *resource_id, struct err *err)
{
    (void)ctx;
    if (!strcmp(resource_id, RID_P))
        return err_set(err, ERR_AUTH, "resource_id", "not allowed");
    return 0;
}

static char *substitute(const uint8_t *data, size_t size)
{
    struct buf b = BUF_INIT;
    size_t i = 0;

    while (i < size && data[i]) {
        const char *p = (const char *)data + i;
        size_t left = size - i;

        if (left >= 3 && !memcmp(p, "{A}", 3)) {
            buf_addstr(&b, RID_A);
            i += 3;
        } else if (left >= 3 && !memcmp(p, "{B}", 3)) {
            buf_addstr(&b, RID_B);
            i += 3;
        } else if (left >= 3 && !memcmp(p, "{P}", 3)) {
            buf_addstr(&b, RID_P);
            i += 3;
        } else if (left >= 6 && !memcmp(p, "{HEXA}", 6)) {
            buf_addstr(&b, HEX_A);
            i += 6;
        } else {
            buf_addch(&b, *p);
            i++;
        }
    }
    return buf_detach(&b, NULL);
}

static void check_error(int rc, const struct err *err, const char *sql)
{
    if (rc == -ERR_AUTH) {
        BUG_ON(strcmp(err->field, "resource_id"));
        return;
    }
    BUG_ON(rc != -ERR_VALIDATION);
    BUG_ON(strcmp(err->field, "sql"));
    BUG_ON(strncmp(err->msg, "sql: ", 5));
    BUG_ON(strstr(err->msg, HEX_A) && !strstr(sql, HEX_A));
    BUG_ON(strstr(err->msg, "r0.") && !strstr(sql, "r0."));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct store_ds_sql_opts o = {ROW_CAP, 50, may_read, NULL};
    struct store_ds_cursor *c = NULL;
    struct err err = ERR_INIT;
    const struct dsvalue *v;
    char *sql, *now;
    uint64_t rows = 0;
    int rc;

    if (!store)
        setup();
    sql = substitute(data, size);
    rc = store_ds_sql(store, sql, &o, &c, &err);
    if (rc) {
        BUG_ON(c);
        check_error(rc, &err, sql);
    } else {
        size_t n = store_ds_cursor_ncolumns(c);

        for (size_t i = 0; i < n; i++) {
            BUG_ON(!store_ds_cursor_column(c, i));
            BUG_ON((unsigned)store_ds_cursor_type(c, i) >= DSTYPE_COUNT);
        }
        while ((rc = store_ds_cursor_next(c, &v, &err)) == 1) {
            rows++;
            for (size_t i = 0; i < n; i++) {
                BUG_ON(v[i].kind != DSVALUE_NULL && v[i].kind != DSVALUE_INT &&
                       v[i].kind != DSVALUE_TEXT);
                BUG_ON(v[i].kind == DSVALUE_TEXT && !v[i].s);
            }
        }
        BUG_ON(rows > ROW_CAP);
        BUG_ON(store_ds_cursor_truncated(c) && rows != ROW_CAP);
        if (rc)
            check_error(rc, &err, sql);
        store_ds_cursor_free(c);
    }
    now = portal_snapshot();
    BUG_ON(strcmp(now, snapshot));
    free(now);
    free(sql);
    return 0;
}
