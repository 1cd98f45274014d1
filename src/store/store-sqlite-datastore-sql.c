/*
 * store-sqlite-datastore-sql.c - datastore_search_sql on SQLite (store_ds_sql): a
 * read-only SQL statement over datastore tables named by resource id, as CKAN runs it on
 * PostgreSQL. docs/internals/datastore.md, "Storage", and the injection corpus in
 * tests/data/datastore/sql-injection.txt.
 *
 * The statement runs on a connection of its own whose main database is in memory and
 * empty. Each resource id in the text (any UUID-shaped substring) that has a table, and
 * that the caller may read (o->may_read), is attached read-only (URI mode=ro) as schema
 * r<k>, and a temporary view named by the resource id exposes its table with the field
 * ids as column names:
 *     CREATE TEMP VIEW "<id>" AS SELECT _id AS "_id", c_1 AS "<field id>", … FROM r<k>.t_<hex>
 * Then the engine, not a parse of the text, enforces what may run:
 *   - an authorizer allows SELECT, reading the views, reading r<k>.t_<hex> through the
 *     view of resource k only, recursive CTEs, and the functions of allowed_functions[];
 *     it denies everything else: writes, schema changes, ATTACH/DETACH, PRAGMA, other
 *     tables (sqlite_schema, the meta and full-text tables, the catalog: not even
 *     attached), table-valued functions (json_each and the pragma_* ones need a schema
 *     change the authorizer cannot tell apart from a user's);
 *   - exactly one statement, read-only (sqlite3_stmt_readonly), not EXPLAIN;
 *   - PRAGMA query_only, SQLITE_DBCONFIG_DEFENSIVE, no extension loading, no
 *     double-quoted string literals ("x" is always a name), no untrusted schema;
 *   - sqlite3_limit() on statement length, value length, expression depth, compound
 *     selects, program size, LIKE patterns and variables;
 *   - a progress handler ends the statement after o->timeout_ms of execution, and the
 *     cursor stops after o->row_cap rows.
 * Engine messages reach the user with the internal names (r<k>, t_<hex>) replaced.
 */
#include <sqlite3.h>
#include <time.h>

#include "core/buf.h"
#include "core/limits.h"
#include "core/log.h"
#include "store/store-sqlite-datastore-int.h"
#include "core/util.h"

/* Engine limits for a datastore_search_sql statement. */
#define SQL_VALUE_MAX     (2u * LIMIT_INGEST_FIELD) /* bytes of a string or blob */
#define SQL_EXPR_DEPTH    200
#define SQL_COMPOUND      50
#define SQL_VDBE_OPS      100000
#define SQL_LIKE_PATTERN  1000
#define SQL_FUNCTION_ARGS 32
#define SQL_PROGRESS_OPS  1000 /* VM instructions between clock checks */
#define SQL_READER_KIB    2048 /* page cache per attached table */

/*
 * Functions a statement may call: pure ones (no state, no files, no randomness, no
 * knowledge of the engine). Denied among the built-ins: load_extension, fts3_tokenizer,
 * sqlite_* (version, source id, compile options, offsets), changes, total_changes,
 * last_insert_rowid, random, randomblob, zeroblob, match, the FTS auxiliary functions
 * (bm25, highlight, snippet …), and anything not listed. Sorted for bsearch (strcmp).
 */
static const char *const allowed_functions[] = {
        "->",
        "->>",
        "abs",
        "acos",
        "acosh",
        "asin",
        "asinh",
        "atan",
        "atan2",
        "atanh",
        "avg",
        "ceil",
        "ceiling",
        "char",
        "coalesce",
        "cos",
        "cosh",
        "count",
        "cume_dist",
        "date",
        "datetime",
        "degrees",
        "dense_rank",
        "exp",
        "first_value",
        "floor",
        "format",
        "glob",
        "group_concat",
        "hex",
        "ifnull",
        "iif",
        "instr",
        "json",
        "json_array",
        "json_array_length",
        "json_extract",
        "json_group_array",
        "json_group_object",
        "json_insert",
        "json_object",
        "json_patch",
        "json_quote",
        "json_remove",
        "json_replace",
        "json_set",
        "json_type",
        "json_valid",
        "julianday",
        "lag",
        "last_value",
        "lead",
        "length",
        "like",
        "likelihood",
        "likely",
        "ln",
        "log",
        "log10",
        "log2",
        "lower",
        "ltrim",
        "max",
        "min",
        "mod",
        "nth_value",
        "ntile",
        "nullif",
        "percent_rank",
        "pi",
        "pow",
        "power",
        "printf",
        "quote",
        "radians",
        "rank",
        "replace",
        "round",
        "row_number",
        "rtrim",
        "sign",
        "sin",
        "sinh",
        "sqrt",
        "strftime",
        "substr",
        "substring",
        "sum",
        "tan",
        "tanh",
        "time",
        "total",
        "trim",
        "trunc",
        "typeof",
        "unicode",
        "unixepoch",
        "unlikely",
        "upper",
};

struct sql_table {
    char id[SQDS_ID_SIZE];
    char schema[8]; /* r<k> */
    char table[2 + SQDS_HEX_SIZE];
    struct sqds_table t;
};

/* What the authorizer and the progress handler see. */
struct sql_ctx {
    struct sql_table tables[LIMIT_DATASTORE_SQL_TABLES];
    size_t ntables;
    bool locked;       /* the user's statement is being prepared or run */
    bool is_select;    /* … and the authorizer saw it is a SELECT */
    char denied[200];  /* why the authorizer refused, for the message */
    uint64_t limit_ns; /* execution time allowed */
    uint64_t spent_ns;
    uint64_t start_ns; /* of the step in progress; 0: none */
    bool timed_out;
};

struct sql_cursor {
    struct store_ds_cursor_head head;
    sqlite3 *db;
    sqlite3_stmt *st;
    struct sql_ctx *ctx;
    size_t ncols;
    enum dstype *types;
    bool *typed; /* types[i] known from the column's origin */
    struct dsvalue *vals;
    struct buf *text; /* per column: REAL and BLOB values as text */
    uint64_t rows, cap;
    bool pending; /* the first row was stepped at open and not returned yet */
    bool done, truncated;
    unsigned timeout_ms;
};

static bool is_hex_digit(char c)
{
    return (c >= '0' && c <= '9') || ((c | 32) >= 'a' && (c | 32) <= 'f');
}

static uint64_t now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* ---- The authorizer -------------------------------------------------------------------- */
static int function_cmp(const void *key, const void *elem)
{
    return strcmp(key, *(const char *const *)elem);
}

static bool function_allowed(const char *name)
{
    char lower[32];
    size_t i;

    if (!name || strlen(name) >= sizeof(lower))
        return false;
    for (i = 0; name[i]; i++)
        lower[i] = (char)(name[i] >= 'A' && name[i] <= 'Z' ? name[i] | 32 : name[i]);
    lower[i] = 0;
    return bsearch(lower, allowed_functions, ARRAY_SIZE(allowed_functions),
                   sizeof(allowed_functions[0]), function_cmp) != NULL;
}

static int deny(struct sql_ctx *x, const char *fmt, const char *arg)
{
    if (!x->denied[0])
        xsnprintf(x->denied, sizeof(x->denied), fmt, arg ? arg : "");
    return SQLITE_DENY;
}

/* The name of an authorizer action that is never allowed, for the message. */
static const char *action_name(int action)
{
    switch (action) {
    case SQLITE_INSERT:
        return "INSERT";
    case SQLITE_UPDATE:
        return "UPDATE";
    case SQLITE_DELETE:
        return "DELETE";
    case SQLITE_PRAGMA:
        return "PRAGMA";
    case SQLITE_ATTACH:
        return "ATTACH";
    case SQLITE_DETACH:
        return "DETACH";
    case SQLITE_TRANSACTION:
        return "transaction control";
    case SQLITE_SAVEPOINT:
        return "SAVEPOINT";
    case SQLITE_REINDEX:
        return "REINDEX";
    case SQLITE_ANALYZE:
        return "ANALYZE";
    case SQLITE_ALTER_TABLE:
        return "ALTER TABLE";
    case SQLITE_CREATE_VTABLE:
    case SQLITE_DROP_VTABLE:
        return "virtual tables";
    default:
        return action >= SQLITE_CREATE_INDEX && action <= SQLITE_DROP_VIEW ? "CREATE or DROP"
                                                                           : "this statement";
    }
}

static int authorize(void *arg, int action, const char *a1, const char *a2, const char *db,
                     const char *inner)
{
    struct sql_ctx *x = arg;

    if (!x->locked)
        return SQLITE_OK; /* our own setup */
    switch (action) {
    case SQLITE_SELECT:
        x->is_select = true;
        return SQLITE_OK;
    case SQLITE_RECURSIVE:
        return SQLITE_OK;
    case SQLITE_FUNCTION:
        return function_allowed(a2) ? SQLITE_OK : deny(x, "function \"%s\" is not allowed", a2);
    case SQLITE_READ:
        /* No schema: a CTE or a subquery (count(*) of a CTE reads it so). */
        if (!db)
            return SQLITE_OK;
        for (size_t k = 0; k < x->ntables; k++) {
            const struct sql_table *t = &x->tables[k];

            /* A view of ours. */
            if (str_eq(db, "temp") && a1 && !strcasecmp(a1, t->id))
                return SQLITE_OK;
            /* Its table, read through it (the view, or a CTE named as it: the same data);
             * or no column of it (count(*) of the view, a join that reads none of its
             * columns: SQLite names no view then, and only the row count shows). */
            if (str_eq(db, t->schema) && str_eq(a1, t->table) &&
                ((inner && !strcasecmp(inner, t->id)) || (a2 && !*a2)))
                return SQLITE_OK;
        }
        /* Never echo an internal name. */
        if (a1 && (starts_with(a1, "t_") || str_eq(a1, "meta") || starts_with(a1, "fts") ||
                   starts_with(a1, "ftx")))
            return deny(x, "%s", "reading a table that is not a datastore table is not allowed");
        return deny(x, "reading \"%s\" is not allowed: only datastore tables can be read", a1);
    case SQLITE_UPDATE:
        /* In a statement that is a SELECT, an "update" is the engine readying a
         * table-valued function (pragma_table_info('x'), json_each(…)): it names
         * sqlite_master, not the function. */
        if (x->is_select)
            return deny(x, "%s",
                        "table-valued functions (json_each, pragma_… and the like) are not "
                        "allowed: only datastore tables can be read");
        return deny(x, "%s is not allowed: only SELECT statements are", action_name(action));
    default:
        return deny(x, "%s is not allowed: only SELECT statements are", action_name(action));
    }
}

static int progress(void *arg)
{
    struct sql_ctx *x = arg;

    if (x->start_ns && x->spent_ns + (now_ns() - x->start_ns) > x->limit_ns) {
        x->timed_out = true;
        return 1;
    }
    return 0;
}

/* ---- Messages ------------------------------------------------------------------------- */

/* msg with the internal names replaced: r<k>.t_<hex> and t_<hex> by "<resource id>", a
 * remaining "r<k>." dropped. */
static void message_clean(const struct sql_ctx *x, const char *msg, struct buf *out)
{
    const char *p = msg;

    while (*p) {
        bool done = false;

        for (size_t k = 0; k < x->ntables && !done; k++) {
            const struct sql_table *t = &x->tables[k];
            size_t sl = strlen(t->schema), tl = strlen(t->table);

            if (!strncmp(p, t->schema, sl) && p[sl] == '.' && !strncmp(p + sl + 1, t->table, tl)) {
                buf_addf(out, "\"%s\"", t->id);
                p += sl + 1 + tl;
                done = true;
            } else if (!strncmp(p, t->table, tl)) {
                buf_addf(out, "\"%s\"", t->id);
                p += tl;
                done = true;
            } else if (!strncmp(p, t->schema, sl) && p[sl] == '.') {
                p += sl + 1;
                done = true;
            }
        }
        if (!done)
            buf_addch(out, *p++);
    }
}

/* The error of a statement that failed: the authorizer's reason, the time limit, or the
 * engine's message (cleaned); -ERR_VALIDATION in field "sql". */
static int sql_error(struct sql_ctx *x, sqlite3 *db, int rc, unsigned timeout_ms, struct err *err)
{
    struct buf msg = BUF_INIT;
    int ret;

    if (x->timed_out || (rc & 0xff) == SQLITE_INTERRUPT) {
        ret = err_set(err, ERR_VALIDATION, "sql", "sql: statement took longer than %u ms",
                      timeout_ms);
    } else if (x->denied[0]) {
        ret = err_set(err, ERR_VALIDATION, "sql", "sql: %s", x->denied);
    } else if ((rc & 0xff) == SQLITE_NOMEM) {
        ret = err_set(err, ERR_VALIDATION, "sql", "sql: statement needs too much memory");
    } else if ((rc & 0xff) == SQLITE_BUSY || (rc & 0xff) == SQLITE_LOCKED) {
        ret = sqds_db_error(db, rc, "running sql", err);
    } else if ((rc & 0xff) == SQLITE_IOERR || (rc & 0xff) == SQLITE_CORRUPT ||
               (rc & 0xff) == SQLITE_CANTOPEN || (rc & 0xff) == SQLITE_FULL) {
        ret = sqds_db_error(db, rc, "running sql", err);
    } else {
        message_clean(x, sqlite3_errmsg(db), &msg);
        ret = err_set(err, ERR_VALIDATION, "sql", "sql: %s", msg.buf);
    }
    buf_release(&msg);
    return ret;
}

/* ---- Setting up the connection --------------------------------------------------------- */

/* "file:<path>?mode=ro" with the path percent-encoded (RFC 3986, as SQLite's URI
 * filenames read it). */
static char *uri_ro(const char *path)
{
    struct buf b = BUF_INIT;

    buf_addstr(&b, "file:");
    for (const unsigned char *p = (const unsigned char *)path; *p; p++) {
        if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
            *p == '/' || *p == '.' || *p == '-' || *p == '_')
            buf_addch(&b, *p);
        else
            buf_addf(&b, "%%%02X", *p);
    }
    buf_addstr(&b, "?mode=ro");
    return buf_detach(&b, NULL);
}

/* Rolls back a hot journal a crashed writer left on path (a read-only attach cannot). */
static int recover(const struct sqds *q, const char *id, struct err *err)
{
    char *journal = sqds_path(q, id, ".db-journal"), *path = sqds_path(q, id, ".db");
    sqlite3 *db = NULL;
    int rc = 0;

    if (!q->readonly && !access(journal, F_OK)) {
        rc = sqds_open_rw(path, false, &db, err);
        if (!rc)
            rc = sqds_exec(db, "SELECT count(*) FROM sqlite_schema", "recovering a table", err);
        sqlite3_close(db);
    }
    free(journal);
    free(path);
    return rc;
}

/* The resource ids in sql that have a table, after may_read allowed each. */
static int find_tables(struct store *s, const char *sql, const struct store_ds_sql_opts *o,
                       struct sql_ctx *x, struct err *err)
{
    const struct sqds *q = s->ds;
    size_t len = strlen(sql);
    char id[SQDS_ID_SIZE], cand[SQDS_ID_SIZE];
    int rc;

    for (size_t i = 0; i + 36 <= len; i++) {
        bool seen = false;
        char *path;

        if (!is_hex_digit(sql[i]))
            continue;
        memcpy(cand, sql + i, 36);
        cand[36] = 0;
        if (!sqds_id_parse(cand, id, NULL))
            continue;
        for (size_t k = 0; k < x->ntables; k++)
            seen |= !strcmp(x->tables[k].id, id);
        path = sqds_path(q, id, ".db");
        if (!seen && !access(path, F_OK)) {
            if (x->ntables == LIMIT_DATASTORE_SQL_TABLES) {
                free(path);
                return err_set(err, ERR_VALIDATION, "sql",
                               "sql: too many tables (at most %u in one statement)",
                               LIMIT_DATASTORE_SQL_TABLES);
            }
            rc = o->may_read ? o->may_read(o->ctx, id, err) : 0;
            if (rc) {
                free(path);
                return rc;
            }
            memcpy(x->tables[x->ntables].id, id, SQDS_ID_SIZE);
            x->ntables++;
        }
        free(path);
        i += 35;
    }
    return 0;
}

/* Attaches each table read-only and creates its view; all in the transaction begun. */
static int attach_tables(struct store *s, sqlite3 *db, struct sql_ctx *x, struct err *err)
{
    const struct sqds *q = s->ds;
    struct buf sql = BUF_INIT;
    sqlite3_stmt *st = NULL;
    int rc = 0;

    for (size_t k = 0; !rc && k < x->ntables; k++) {
        struct sql_table *t = &x->tables[k];
        char *path = sqds_path(q, t->id, ".db"), *uri = uri_ro(path);

        xsnprintf(t->schema, sizeof(t->schema), "r%zu", k);
        rc = recover(q, t->id, err);
        if (!rc) {
            buf_reset(&sql);
            buf_addf(&sql, "ATTACH ?1 AS %s", t->schema);
            rc = sqlite3_prepare_v2(db, sql.buf, -1, &st, NULL);
            if (rc == SQLITE_OK) {
                sqlite3_bind_text(st, 1, uri, -1, SQLITE_STATIC);
                rc = sqlite3_step(st);
            }
            rc = rc == SQLITE_DONE ? 0 : sqds_db_error(db, rc, "attaching a table", err);
            sqlite3_finalize(st);
            st = NULL;
        }
        free(path);
        free(uri);
        if (!rc) {
            buf_reset(&sql);
            buf_addf(&sql, "PRAGMA %s.cache_size = -%d", t->schema, SQL_READER_KIB);
            rc = sqds_exec(db, sql.buf, "attaching a table", err);
        }
    }
    /* One snapshot of every table, from the meta read to the last row. */
    if (!rc)
        rc = sqds_exec(db, "BEGIN", "reading tables", err);
    for (size_t k = 0; !rc && k < x->ntables; k++) {
        struct sql_table *t = &x->tables[k];

        rc = sqds_table_load(db, t->schema, t->id, &t->t, err);
        if (rc)
            break;
        xsnprintf(t->table, sizeof(t->table), "t_%s", t->t.hex);
        buf_reset(&sql);
        buf_addf(&sql, "CREATE TEMP VIEW \"%s\" AS SELECT _id AS \"_id\"", t->id);
        for (size_t i = 0; i < t->t.nfields; i++) {
            buf_addf(&sql, ", c_%zu AS \"", i + 1);
            for (const char *p = t->t.fields[i].id; *p; p++) {
                if (*p == '"')
                    buf_addch(&sql, '"');
                buf_addch(&sql, *p);
            }
            buf_addch(&sql, '"');
        }
        buf_addf(&sql, " FROM %s.%s", t->schema, t->table);
        rc = sqds_exec(db, sql.buf, "setting up sql", err);
    }
    buf_release(&sql);
    return rc;
}

static int open_db(sqlite3 **db, unsigned timeout_ms, struct err *err)
{
    int rc = sqlite3_open_v2(":memory:", db,
                             SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_URI, NULL);

    if (rc != SQLITE_OK)
        return sqds_db_error(*db, rc, "opening sql", err);
    sqlite3_extended_result_codes(*db, 1);
    sqlite3_busy_timeout(*db, (int)(timeout_ms < SQDS_BUSY_MS ? timeout_ms : SQDS_BUSY_MS));
    sqlite3_db_config(*db, SQLITE_DBCONFIG_DQS_DML, 0, NULL);
    sqlite3_db_config(*db, SQLITE_DBCONFIG_DQS_DDL, 0, NULL);
    sqlite3_db_config(*db, SQLITE_DBCONFIG_DEFENSIVE, 1, NULL);
    sqlite3_db_config(*db, SQLITE_DBCONFIG_ENABLE_LOAD_EXTENSION, 0, NULL);
    sqlite3_db_config(*db, SQLITE_DBCONFIG_ENABLE_FTS3_TOKENIZER, 0, NULL);
    sqlite3_db_config(*db, SQLITE_DBCONFIG_TRUSTED_SCHEMA, 0, NULL);
    sqlite3_db_config(*db, SQLITE_DBCONFIG_ENABLE_TRIGGER, 0, NULL);
    return 0;
}

/* The engine limits for the user's statement (after our own setup). */
static void set_limits(sqlite3 *db, size_t ntables)
{
    sqlite3_limit(db, SQLITE_LIMIT_SQL_LENGTH, LIMIT_DATASTORE_SQL);
    sqlite3_limit(db, SQLITE_LIMIT_LENGTH, SQL_VALUE_MAX);
    sqlite3_limit(db, SQLITE_LIMIT_ATTACHED, (int)ntables);
    sqlite3_limit(db, SQLITE_LIMIT_EXPR_DEPTH, SQL_EXPR_DEPTH);
    sqlite3_limit(db, SQLITE_LIMIT_COMPOUND_SELECT, SQL_COMPOUND);
    sqlite3_limit(db, SQLITE_LIMIT_VDBE_OP, SQL_VDBE_OPS);
    sqlite3_limit(db, SQLITE_LIMIT_LIKE_PATTERN_LENGTH, SQL_LIKE_PATTERN);
    sqlite3_limit(db, SQLITE_LIMIT_VARIABLE_NUMBER, 0);
    sqlite3_limit(db, SQLITE_LIMIT_FUNCTION_ARG, SQL_FUNCTION_ARGS);
    sqlite3_limit(db, SQLITE_LIMIT_WORKER_THREADS, 0);
}

/* ---- The cursor -------------------------------------------------------------------- */

/* The shortest "%.*g" text of d that reads back as d. */
static void real_text(double d, struct buf *out)
{
    char tmp[40];

    if (d != d) {
        buf_addstr(out, "NaN");
        return;
    }
    if (d > 1.7976931348623157e308 || d < -1.7976931348623157e308) {
        buf_addstr(out, d > 0 ? "Infinity" : "-Infinity");
        return;
    }
    for (int p = 1; p <= 17; p++) {
        xsnprintf(tmp, sizeof(tmp), "%.*g", p, d);
        if (strtod(tmp, NULL) == d)
            break;
    }
    buf_addstr(out, tmp);
}

static enum dstype value_type(int type)
{
    switch (type) {
    case SQLITE_INTEGER:
        return DSTYPE_INT8;
    case SQLITE_FLOAT:
        return DSTYPE_NUMERIC;
    default:
        return DSTYPE_TEXT;
    }
}

/* The current row's values into c->vals. */
static void row_values(struct sql_cursor *c)
{
    for (size_t i = 0; i < c->ncols; i++) {
        struct dsvalue *v = &c->vals[i];
        int type = sqlite3_column_type(c->st, (int)i);

        memset(v, 0, sizeof(*v));
        if (!c->typed[i] && type != SQLITE_NULL) {
            c->types[i] = value_type(type);
            c->typed[i] = true;
        }
        switch (type) {
        case SQLITE_INTEGER:
            v->kind = DSVALUE_INT;
            v->i = sqlite3_column_int64(c->st, (int)i);
            break;
        case SQLITE_FLOAT:
            buf_reset(&c->text[i]);
            real_text(sqlite3_column_double(c->st, (int)i), &c->text[i]);
            v->kind = DSVALUE_TEXT;
            v->s = c->text[i].buf;
            v->len = c->text[i].len;
            break;
        case SQLITE_BLOB: {
            /* PostgreSQL's bytea output: \x and hex digits. */
            const unsigned char *p = sqlite3_column_blob(c->st, (int)i);
            int n = sqlite3_column_bytes(c->st, (int)i);

            buf_reset(&c->text[i]);
            buf_addstr(&c->text[i], "\\x");
            for (int k = 0; k < n; k++)
                buf_addf(&c->text[i], "%02x", p[k]);
            v->kind = DSVALUE_TEXT;
            v->s = c->text[i].buf;
            v->len = c->text[i].len;
            break;
        }
        case SQLITE_TEXT:
            v->kind = DSVALUE_TEXT;
            v->s = (const char *)sqlite3_column_text(c->st, (int)i);
            v->len = (size_t)sqlite3_column_bytes(c->st, (int)i);
            if (!v->s)
                v->s = "";
            break;
        default:
            break;
        }
    }
}

/* Steps the statement within the time limit: SQLITE_ROW, SQLITE_DONE or an error set. */
static int timed_step(struct sql_cursor *c, struct err *err)
{
    int rc;

    c->ctx->start_ns = now_ns();
    rc = sqlite3_step(c->st);
    c->ctx->spent_ns += now_ns() - c->ctx->start_ns;
    c->ctx->start_ns = 0;
    if (rc == SQLITE_ROW || rc == SQLITE_DONE)
        return rc;
    c->done = true;
    return sql_error(c->ctx, c->db, rc, c->timeout_ms, err);
}

static size_t sql_ncolumns(const struct store_ds_cursor *cur)
{
    return ((const struct sql_cursor *)cur)->ncols;
}

static const char *sql_column(const struct store_ds_cursor *cur, size_t i)
{
    const struct sql_cursor *c = (const struct sql_cursor *)cur;

    return i < c->ncols ? sqlite3_column_name(c->st, (int)i) : NULL;
}

static enum dstype sql_type(const struct store_ds_cursor *cur, size_t i)
{
    const struct sql_cursor *c = (const struct sql_cursor *)cur;

    return i < c->ncols ? c->types[i] : DSTYPE_TEXT;
}

static int sql_next(struct store_ds_cursor *cur, const struct dsvalue **values, struct err *err)
{
    struct sql_cursor *c = (struct sql_cursor *)cur;
    int rc;

    *values = NULL;
    if (c->done)
        return 0;
    if (c->cap && c->rows == c->cap) {
        /* One more row tells whether the cap cut the result. */
        if (!c->pending) {
            rc = timed_step(c, err);
            if (rc < 0)
                return rc;
            c->pending = rc == SQLITE_ROW;
        }
        c->truncated = c->pending;
        c->done = true;
        return 0;
    }
    if (!c->pending) {
        rc = timed_step(c, err);
        if (rc < 0)
            return rc;
        if (rc == SQLITE_DONE) {
            c->done = true;
            return 0;
        }
        row_values(c);
    }
    c->pending = false;
    c->rows++;
    *values = c->vals;
    return 1;
}

static bool sql_truncated(const struct store_ds_cursor *cur)
{
    return ((const struct sql_cursor *)cur)->truncated;
}

static void sql_free(struct store_ds_cursor *cur)
{
    struct sql_cursor *c = (struct sql_cursor *)cur;

    sqlite3_finalize(c->st);
    c->ctx->locked = false; /* ending our transaction is no user's statement */
    if (c->db && !sqlite3_get_autocommit(c->db))
        sqlite3_exec(c->db, "COMMIT", NULL, NULL, NULL);
    if (c->db && sqlite3_close(c->db) != SQLITE_OK)
        log_error("store: datastore: closing sql: %s", sqlite3_errmsg(c->db));
    if (c->ctx)
        for (size_t k = 0; k < c->ctx->ntables; k++)
            sqds_table_release(&c->ctx->tables[k].t);
    for (size_t i = 0; c->text && i < c->ncols; i++)
        buf_release(&c->text[i]);
    free(c->text);
    free(c->types);
    free(c->typed);
    free(c->vals);
    free(c->ctx);
    free(c);
}

static const struct store_ds_cursor_ops sql_ops = {
        .ncolumns = sql_ncolumns,
        .column = sql_column,
        .type = sql_type,
        .next = sql_next,
        .truncated = sql_truncated,
        .free = sql_free,
};

/* The type of result column i from the table column it comes from, when it does. */
static bool origin_type(const struct sql_cursor *c, int i, enum dstype *type)
{
    const char *db = sqlite3_column_database_name(c->st, i);
    const char *table = sqlite3_column_table_name(c->st, i);
    const char *col = sqlite3_column_origin_name(c->st, i);
    uint64_t n = 0;

    for (size_t k = 0; db && table && col && k < c->ctx->ntables; k++) {
        const struct sql_table *t = &c->ctx->tables[k];

        if (strcmp(db, t->schema) || strcmp(table, t->table))
            continue;
        if (!strcmp(col, "_id")) {
            *type = DSTYPE_INT8;
            return true;
        }
        for (const char *p = col + 2; starts_with(col, "c_") && *p >= '0' && *p <= '9'; p++)
            n = n * 10 + (uint64_t)(*p - '0');
        if (n >= 1 && n <= t->t.nfields) {
            *type = t->t.fields[n - 1].type;
            return true;
        }
    }
    return false;
}

/* Whether the rest of the text after the first statement holds another one. */
static int check_tail(sqlite3 *db, struct sql_ctx *x, const char *tail, struct err *err)
{
    sqlite3_stmt *st = NULL;
    int rc;

    while (tail && *tail) {
        rc = sqlite3_prepare_v2(db, tail, -1, &st, &tail);
        if (st || rc != SQLITE_OK) {
            sqlite3_finalize(st);
            x->denied[0] = 0;
            return err_set(err, ERR_VALIDATION, "sql", "sql: only one statement is allowed");
        }
    }
    return 0;
}

int sqds_sql(struct store *s, const char *sql, const struct store_ds_sql_opts *o,
             struct store_ds_cursor **out, struct err *err)
{
    struct sql_cursor *c = xcalloc(1, sizeof(*c));
    struct sql_ctx *x = xcalloc(1, sizeof(*x));
    const char *tail = NULL;
    size_t len = strlen(sql);
    int rc;

    c->head.ops = &sql_ops;
    c->ctx = x;
    c->cap = o->row_cap;
    c->timeout_ms = o->timeout_ms ? o->timeout_ms : LIMIT_DATASTORE_SQL_MS;
    x->limit_ns = (uint64_t)c->timeout_ms * 1000000u;
    if (len > LIMIT_DATASTORE_SQL) {
        rc = err_set(err, ERR_VALIDATION, "sql", "sql: statement is longer than %u bytes",
                     LIMIT_DATASTORE_SQL);
        goto out;
    }
    rc = find_tables(s, sql, o, x, err);
    if (!rc)
        rc = open_db(&c->db, c->timeout_ms, err);
    if (!rc)
        rc = attach_tables(s, c->db, x, err);
    if (!rc)
        rc = sqds_exec(c->db, "PRAGMA query_only = ON", "setting up sql", err);
    if (rc)
        goto out;
    set_limits(c->db, x->ntables);
    sqlite3_set_authorizer(c->db, authorize, x);
    sqlite3_progress_handler(c->db, SQL_PROGRESS_OPS, progress, x);
    x->locked = true;

    rc = sqlite3_prepare_v3(c->db, sql, (int)len, 0, &c->st, &tail);
    if (rc != SQLITE_OK) {
        rc = sql_error(x, c->db, rc, c->timeout_ms, err);
        goto out;
    }
    if (!c->st) {
        rc = err_set(err, ERR_VALIDATION, "sql", "sql: no statement");
        goto out;
    }
    rc = check_tail(c->db, x, tail, err);
    if (rc)
        goto out;
    /* A query returns columns: REINDEX or ANALYZE with nothing to do is read-only too. */
    if (!sqlite3_stmt_readonly(c->st) || sqlite3_stmt_isexplain(c->st) ||
        !sqlite3_column_count(c->st)) {
        rc = err_set(err, ERR_VALIDATION, "sql", "sql: only SELECT statements are allowed");
        goto out;
    }
    c->ncols = (size_t)sqlite3_column_count(c->st);
    c->types = xcalloc(c->ncols + 1, sizeof(*c->types));
    c->typed = xcalloc(c->ncols + 1, sizeof(*c->typed));
    c->vals = xcalloc(c->ncols + 1, sizeof(*c->vals));
    c->text = xcalloc(c->ncols + 1, sizeof(*c->text));
    for (size_t i = 0; i < c->ncols; i++) {
        buf_init(&c->text[i], 0);
        c->typed[i] = origin_type(c, (int)i, &c->types[i]);
    }
    /* The first row now: the types of expressions come from its values, and most
     * failures (time, limits) show here rather than halfway through a response. */
    rc = timed_step(c, err);
    if (rc < 0)
        goto out;
    if (rc == SQLITE_ROW) {
        row_values(c);
        c->pending = true;
    } else {
        c->done = true;
    }
    rc = 0;
out:
    if (rc) {
        sql_free((struct store_ds_cursor *)c);
        c = NULL;
    }
    *out = (struct store_ds_cursor *)c;
    return rc;
}
