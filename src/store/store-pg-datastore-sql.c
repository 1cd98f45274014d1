/*
 * store-pg-datastore-sql.c - datastore_search_sql on PostgreSQL (store_ds_sql): a
 * read-only SQL statement over datastore tables named by resource id, as CKAN runs it.
 * docs/internals/store.md, "Datastore tables", and the injection corpus in
 * tests/data/datastore/sql-injection.txt (which runs on both stores).
 *
 * The statement runs on a pooled connection inside
 *     BEGIN ISOLATION LEVEL READ COMMITTED READ ONLY;
 *     SET LOCAL ROLE kaifang_datastore_read; SET LOCAL search_path = datastore;
 *     SET LOCAL statement_timeout = <o->timeout_ms>
 * The role may use the schema datastore and read the views datastore."<resource id>"
 * (the tables' columns under their field ids, typed), nothing else of ours: not the
 * tables t_<hex>, not the catalog. The engine enforces that; before running, the store
 * also
 *   - calls o->may_read for every resource id in the text (any UUID-shaped substring)
 *     that has a table, as the SQLite store does (so a private id in a string literal is
 *     denied on both);
 *   - sends the text alone through the extended protocol, which refuses a second
 *     statement, after a lexical check of the limits SQLite enforces (expression depth,
 *     compound selects);
 *   - plans it (EXPLAIN (VERBOSE, FORMAT JSON)) and refuses a plan that writes or locks
 *     rows, samples, reads a relation that is not a datastore table (pg_catalog's
 *     included), reads a table whose resource may_read did not allow, or calls a function
 *     outside a list of pure ones (no set_config, no pg_sleep, no advisory locks, no
 *     random, no server information);
 *   - reads the rows through a cursor, FETCH by FETCH (each under statement_timeout),
 *     stopping after o->row_cap rows. READ COMMITTED: the cursor's snapshot is taken
 *     when it runs, after its tables are locked, so a build's swap it waited for is seen
 *     whole (REPEATABLE READ would keep an older snapshot and see the new table empty).
 * Refusals are -ERR_VALIDATION naming "sql", with PostgreSQL's message where it has one
 * (internal names t_<hex> replaced by the resource id).
 */
#include <ctype.h>
#include <inttypes.h>

#include "core/buf.h"
#include "core/limits.h"
#include "core/log.h"
#include "store/store-pg-ds-int.h"
#include "core/util.h"

/* Limits checked on the text, SQLite's (store-sqlite-datastore-sql.c). */
#define SQL_EXPR_DEPTH 200
#define SQL_COMPOUND   50

/*
 * Functions a statement may call (as they appear in a plan, lower-cased): pure ones, and
 * the SQL-standard forms PostgreSQL shows as calls. Sorted for bsearch (strcmp).
 */
static const char *const allowed_functions[] = {
        "abs",
        "acos",
        "all",
        "any",
        "array",
        "array_agg",
        "array_length",
        "array_to_string",
        "asin",
        "atan",
        "atan2",
        "avg",
        "bit",
        "bit_length",
        "bool_and",
        "bool_or",
        "btrim",
        "cast",
        "cbrt",
        "ceil",
        "ceiling",
        "char",
        "char_length",
        "character",
        "character_length",
        "coalesce",
        "concat",
        "concat_ws",
        "corr",
        "cos",
        "cot",
        "count",
        "covar_pop",
        "covar_samp",
        "cume_dist",
        "date_part",
        "date_trunc",
        "decimal",
        "degrees",
        "dense_rank",
        "div",
        "every",
        "exists",
        "exp",
        "extract",
        "first_value",
        "float",
        "floor",
        "format",
        "greatest",
        "in",
        "initcap",
        "interval",
        "json_agg",
        "json_array_length",
        "json_build_array",
        "json_build_object",
        "json_extract_path",
        "json_extract_path_text",
        "json_object_agg",
        "json_typeof",
        "jsonb_array_length",
        "jsonb_build_array",
        "jsonb_build_object",
        "jsonb_extract_path",
        "jsonb_extract_path_text",
        "jsonb_typeof",
        "lag",
        "last_value",
        "lead",
        "least",
        "left",
        "length",
        "ln",
        "log",
        "log10",
        "lower",
        "lpad",
        "ltrim",
        "max",
        "md5",
        "min",
        "mod",
        "nth_value",
        "ntile",
        "nullif",
        "numeric",
        "octet_length",
        "overlay",
        "percent_rank",
        "percentile_cont",
        "percentile_disc",
        "pi",
        "position",
        "power",
        "radians",
        "rank",
        "regexp_replace",
        "replace",
        "reverse",
        "right",
        "round",
        "row",
        "row_number",
        "rpad",
        "rtrim",
        "sign",
        "sin",
        "split_part",
        "sqrt",
        "stddev",
        "stddev_pop",
        "stddev_samp",
        "string_agg",
        "strpos",
        "substr",
        "substring",
        "sum",
        "tan",
        "time",
        "timestamp",
        "to_char",
        "to_date",
        "to_number",
        "translate",
        "trim",
        "trunc",
        "upper",
        "var_pop",
        "var_samp",
        "variance",
        "varying",
        "width_bucket",
};

static int name_cmp(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static bool function_allowed(const char *name)
{
    return bsearch(&name, allowed_functions, ARRAY_SIZE(allowed_functions),
                   sizeof(allowed_functions[0]), name_cmp) != NULL;
}

static int refuse(struct err *err, const char *fmt, const char *arg)
{
    return err_set(err, ERR_VALIDATION, "sql", fmt, arg);
}

static bool is_word(unsigned char ch)
{
    return ch == '_' || (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
           (ch >= '0' && ch <= '9') || ch >= 0x80;
}

/*
 * The lexical limits of the text: parentheses nested at most SQL_EXPR_DEPTH deep and at
 * most SQL_COMPOUND UNION/INTERSECT/EXCEPT, outside literals, quoted names and comments.
 */
int pgds_sql_text_limits(const char *sql, struct err *err)
{
    int depth = 0, max = 0, compound = 0;
    const char *p = sql;

    while (*p) {
        if (*p == '\'' || *p == '"') {
            char q = *p++;

            while (*p && !(*p == q && p[1] != q))
                p += *p == q ? 2 : 1;
            if (*p)
                p++;
        } else if (p[0] == '-' && p[1] == '-') {
            p += strcspn(p, "\n");
        } else if (p[0] == '/' && p[1] == '*') {
            const char *e = strstr(p + 2, "*/");

            p = e ? e + 2 : p + strlen(p);
        } else if (*p == '(') {
            if (++depth > max)
                max = depth;
            p++;
        } else if (*p == ')') {
            depth--;
            p++;
        } else if (is_word((unsigned char)*p)) {
            size_t len = 0;

            while (is_word((unsigned char)p[len]))
                len++;
            if ((len == 5 && !strncasecmp(p, "union", 5)) ||
                (len == 9 && !strncasecmp(p, "intersect", 9)) ||
                (len == 6 && !strncasecmp(p, "except", 6)))
                compound++;
            p += len;
        } else {
            p++;
        }
    }
    if (max > SQL_EXPR_DEPTH)
        return refuse(err, "sql: %s", "expression tree is too large (maximum depth 200)");
    if (compound >= SQL_COMPOUND)
        return refuse(err, "sql: %s", "too many terms in compound SELECT");
    return 0;
}

/* Resources the statement may read (their hex table names), found by may_read. */
struct allowed {
    char (*hex)[SQDS_HEX_SIZE];
    char (*id)[SQDS_ID_SIZE];
    size_t n, alloc;
};

static bool allowed_has(const struct allowed *a, const char *hex)
{
    for (size_t i = 0; i < a->n; i++)
        if (!strcmp(a->hex[i], hex))
            return true;
    return false;
}

/* The resource ids in the text that have a table: each through o->may_read. */
static int text_resources(PGconn *c, const char *sql, const struct store_ds_sql_opts *o,
                          struct allowed *a, struct err *err)
{
    size_t len = strlen(sql);
    int rc = 0;

    for (size_t i = 0; !rc && i + 36 <= len; i++) {
        char cand[SQDS_ID_SIZE], id[SQDS_ID_SIZE], hex[SQDS_HEX_SIZE];
        struct pgds_table t = {0};
        struct err e = ERR_INIT;

        if (i && (sql[i - 1] == '-' || isxdigit((unsigned char)sql[i - 1])))
            continue;
        memcpy(cand, sql + i, 36);
        cand[36] = 0;
        if (!sqds_id_parse(cand, id, hex) || allowed_has(a, hex))
            continue;
        /* A local err: "no table" is not an error here. */
        rc = pgds_table_load(c, id, false, &t, &e);
        pgds_table_release(&t);
        if (rc == -ERR_NOT_FOUND) {
            rc = 0;
            continue;
        }
        if (rc && err && err->kind == ERR_NONE)
            *err = e;
        if (!rc && a->n >= LIMIT_DATASTORE_SQL_TABLES)
            rc = err_set(err, ERR_VALIDATION, "sql", "sql: a statement reads at most %u tables",
                         LIMIT_DATASTORE_SQL_TABLES);
        if (!rc && o->may_read)
            rc = o->may_read(o->ctx, id, err);
        if (rc)
            break;
        ALLOC_GROW(a->hex, a->n + 1, a->alloc);
        a->id = xrealloc(a->id, a->alloc * sizeof(*a->id));
        memcpy(a->hex[a->n], hex, sizeof(hex));
        memcpy(a->id[a->n], id, sizeof(id));
        a->n++;
        i += 35;
    }
    return rc;
}

/* Words of a plan that read the session: CURRENT_USER, SESSION_USER, USER, CURRENT_ROLE,
 * CURRENT_SCHEMA, CURRENT_CATALOG (PostgreSQL shows them upper-case, unquoted). */
static bool session_word(const char *w, size_t len)
{
    static const char *const words[] = {"CURRENT_USER", "SESSION_USER",   "USER",
                                        "CURRENT_ROLE", "CURRENT_SCHEMA", "CURRENT_CATALOG"};

    for (size_t i = 0; i < ARRAY_SIZE(words); i++)
        if (strlen(words[i]) == len && !strncmp(w, words[i], len))
            return true;
    return false;
}

/* Checks the function calls in one string of a plan: every name directly before '('
 * (outside quotes, and not a type after "::") must be allowed. */
int pgds_plan_text_check(const char *s, struct err *err)
{
    const char *p = s;
    char name[64];

    while (*p) {
        if (*p == '\'' || *p == '"') {
            char q = *p++;

            while (*p && !(*p == q && p[1] != q))
                p += *p == q ? 2 : 1;
            if (*p)
                p++;
            continue;
        }
        if (is_word((unsigned char)*p)) {
            const char *start = p;
            size_t len = 0;

            while (is_word((unsigned char)p[len]))
                len++;
            p += len;
            if (*p != '(') {
                /* SQL's value functions naming the roles and the schema: no calls. */
                if (session_word(start, len))
                    return refuse(err, "sql: \"%s\" is not allowed", "CURRENT_USER");
                continue;
            }
            if (start - s >= 2 && start[-1] == ':' && start[-2] == ':')
                continue;
            if (len >= sizeof(name))
                return refuse(err, "sql: function \"%s\" is not allowed", "(long name)");
            for (size_t i = 0; i < len; i++)
                name[i] = (char)tolower((unsigned char)start[i]);
            name[len] = 0;
            /* "pg_catalog.lower(" is allowed as "lower(": qualified by another schema, the
             * schema itself is a word before '.', never before '(', so it is the name
             * that is checked. */
            if (!function_allowed(name))
                return refuse(err, "sql: function \"%s\" is not allowed", name);
            continue;
        }
        p++;
    }
    return 0;
}

/* Keys of a plan node that hold names, not expressions. */
static bool plan_name_key(const char *key)
{
    static const char *const keys[] = {"Node Type",    "Relation Name",       "Schema",
                                       "Alias",        "Index Name",          "CTE Name",
                                       "Subplan Name", "Parent Relationship", "Join Type",
                                       "Strategy",     "Scan Direction",      "Partial Mode",
                                       "Sort Method",  "Operation",           "Command"};

    for (size_t i = 0; i < ARRAY_SIZE(keys); i++)
        if (str_eq(key, keys[i]))
            return true;
    return false;
}

static int plan_check(const json_t *node, const struct store_ds_sql_opts *o, struct allowed *a,
                      struct err *err);

static int plan_value_check(const char *key, const json_t *v, const struct store_ds_sql_opts *o,
                            struct allowed *a, struct err *err)
{
    size_t i;
    json_t *x;
    int rc = 0;

    if (json_is_string(v))
        return key && plan_name_key(key) ? 0 : pgds_plan_text_check(json_string_value(v), err);
    if (json_is_array(v)) {
        json_array_foreach (v, i, x) {
            rc = json_is_object(x) ? plan_check(x, o, a, err) : plan_value_check(key, x, o, a, err);
            if (rc)
                break;
        }
        return rc;
    }
    if (json_is_object(v))
        return plan_check(v, o, a, err);
    return 0;
}

/* Checks a plan node and its children (see the top of the file). */
static int plan_check(const json_t *node, const struct store_ds_sql_opts *o, struct allowed *a,
                      struct err *err)
{
    const char *type = json_string_value(json_object_get(node, "Node Type"));
    const char *rel = json_string_value(json_object_get(node, "Relation Name"));
    const char *schema = json_string_value(json_object_get(node, "Schema"));
    const char *key;
    json_t *v;
    int rc;

    if (type &&
        (str_eq(type, "ModifyTable") || str_eq(type, "LockRows") || str_eq(type, "Sample Scan") ||
         str_eq(type, "Foreign Scan") || str_eq(type, "Custom Scan") ||
         str_eq(type, "Table Function Scan") || str_eq(type, "Named Tuplestore Scan")))
        return refuse(err, "sql: %s is not allowed (a read-only SELECT only)", type);
    if (rel) {
        char hex[SQDS_HEX_SIZE];

        if (!schema || !str_eq(schema, "datastore") || strlen(rel) != 34 || strncmp(rel, "t_", 2))
            return refuse(err, "sql: table \"%s\" is not a datastore table", rel);
        memcpy(hex, rel + 2, 33);
        if (!allowed_has(a, hex)) {
            /* A table named without its id in the text (an escaped name): ask may_read. */
            char id[SQDS_ID_SIZE];

            xsnprintf(id, sizeof(id), "%.8s-%.4s-%.4s-%.4s-%.12s", hex, hex + 8, hex + 12, hex + 16,
                      hex + 20);
            rc = o->may_read ? o->may_read(o->ctx, id, err) : 0;
            if (rc)
                return rc;
            ALLOC_GROW(a->hex, a->n + 1, a->alloc);
            a->id = xrealloc(a->id, a->alloc * sizeof(*a->id));
            memcpy(a->hex[a->n], hex, sizeof(hex));
            memcpy(a->id[a->n], id, sizeof(id));
            a->n++;
        }
    }
    json_object_foreach ((json_t *)node, key, v) {
        rc = plan_value_check(key, v, o, a, err);
        if (rc)
            return rc;
    }
    return 0;
}

/* The refusal of a statement PostgreSQL failed: its message, with t_<hex> shown as the
 * resource id; a cancelled statement is the timeout's. */
static int statement_error(const PGresult *r, PGconn *c, const struct store_ds_sql_opts *o,
                           const struct allowed *a, struct err *err)
{
    const char *state = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;
    const char *msg = r ? PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY) : NULL;
    struct buf text;
    const char *p;
    int rc;

    if (state && !strcmp(state, "57014"))
        return err_set(err, ERR_VALIDATION, "sql", "sql: statement took longer than %u ms",
                       o->timeout_ms);
    /* (08P01, a protocol violation, is the statement's: "SELECT $1" without a value.) */
    if (!state || PQstatus(c) == CONNECTION_BAD || !strncmp(state, "57P", 3) ||
        (!strncmp(state, "08", 2) && strcmp(state, "08P01"))) {
        log_error("store: postgresql: datastore_search_sql: %s", PQerrorMessage(c));
        return err_set(err, ERR_UNAVAILABLE, NULL, "database is unavailable while running sql");
    }
    if (state && !strcmp(state, "42P01") && msg && (p = strchr(msg, '"'))) {
        /* SQLite's words, which the API's callers compare (no existence leaks). */
        const char *e = strrchr(msg, '"');

        return err_set(err, ERR_VALIDATION, "sql", "sql: no such table: %.*s",
                       e > p ? (int)(e - p - 1) : 0, p + 1);
    }
    buf_init(&text, 0);
    for (p = msg ? msg : "invalid statement"; *p;) {
        const char *t = strstr(p, "t_");
        size_t i;

        if (!t) {
            buf_addstr(&text, p);
            break;
        }
        buf_add(&text, p, (size_t)(t - p));
        for (i = 0; i < a->n && strncmp(t + 2, a->hex[i], 32); i++)
            ;
        if (i < a->n) {
            buf_addstr(&text, a->id[i]);
            p = t + 34;
        } else {
            buf_addstr(&text, "t_");
            p = t + 2;
        }
    }
    rc = err_set(err, ERR_VALIDATION, "sql", "sql: %s", text.buf);
    buf_release(&text);
    return rc;
}

/* Runs a FETCH of an sql cursor into c->res, with the statement's refusals. */
static int sql_fetch(struct store_ds_cursor *c, const char *sql, struct err *err)
{
    static const struct allowed none;
    struct store_ds_sql_opts o = {0};
    PGresult *r = PQexec(c->conn, sql);

    if (PQresultStatus(r) == PGRES_TUPLES_OK) {
        c->res = r;
        pgds_cursor_columns(c, r);
        return 0;
    }
    o.timeout_ms = c->timeout_ms;
    {
        int rc = statement_error(r, c->conn, &o, &none, err);

        PQclear(r);
        c->done = true;
        return rc;
    }
}

int pgds_sql(struct store *s, const char *sql, const struct store_ds_sql_opts *o,
             struct store_ds_cursor **out, struct err *err)
{
    struct store_ds_cursor *c = pgds_cursor_new(s);
    struct allowed a = {0};
    struct buf text;
    PGresult *r = NULL;
    json_t *plan = NULL;
    char *set = NULL;
    int rc;

    *out = NULL;
    buf_init(&text, 0);
    c->timeout_ms = o->timeout_ms;
    c->cap = o->row_cap;
    rc = pgds_sql_text_limits(sql, err);
    if (!rc)
        rc = pg_conn_take(s, &c->conn, err);
    if (!rc)
        rc = pg_exec(c->conn, "BEGIN ISOLATION LEVEL READ COMMITTED READ ONLY", NULL, NULL,
                     "starting datastore_search_sql", err);
    if (!rc)
        rc = text_resources(c->conn, sql, o, &a, err);
    if (rc)
        goto out;
    set = xstrfmt("SET LOCAL ROLE " PG_DS_READER "; SET LOCAL search_path = datastore;"
                  " SET LOCAL statement_timeout = %u",
                  o->timeout_ms ? o->timeout_ms : 1);
    rc = pg_exec(c->conn, set, NULL, NULL, "starting datastore_search_sql", err);
    if (rc)
        goto out;

    /* The plan: what the statement reads and calls. The text goes alone through the
     * extended protocol (PQexecParams), which takes one statement only. */
    buf_addstr(&text, "EXPLAIN (VERBOSE, FORMAT JSON) ");
    buf_addstr(&text, sql);
    r = PQexecParams(c->conn, text.buf, 0, NULL, NULL, NULL, NULL, 0);
    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
        rc = statement_error(r, c->conn, o, &a, err);
        goto out;
    }
    plan = json_loads(PQgetvalue(r, 0, 0), 0, NULL);
    if (!json_is_array(plan)) {
        rc = err_set(err, ERR_INTERNAL, NULL, "datastore_search_sql: a plan cannot be read");
        goto out;
    }
    rc = plan_value_check(NULL, plan, o, &a, err);
    if (rc)
        goto out;
    PQclear(r);

    buf_reset(&text);
    buf_addstr(&text, "DECLARE kaifang_cursor NO SCROLL CURSOR FOR ");
    buf_addstr(&text, sql);
    r = PQexecParams(c->conn, text.buf, 0, NULL, NULL, NULL, NULL, 0);
    if (PQresultStatus(r) != PGRES_COMMAND_OK) {
        rc = statement_error(r, c->conn, o, &a, err);
        goto out;
    }
    c->fetch = "FETCH " PGDS_FETCH_TEXT " FROM kaifang_cursor";
    c->fetch_error = sql_fetch;
    /* The first rows now, so that a refusal at run time (a timeout) is the call's error
     * and the columns are known before the first row. */
    PQclear(r);
    r = NULL;
    rc = sql_fetch(c, c->fetch, err);
    if (!rc && PQntuples(c->res) < PGDS_FETCH)
        c->done = true;
out:
    if (rc > 0)
        rc = err_set(err, ERR_INTERNAL, NULL, "database failure while running sql");
    PQclear(r);
    json_decref(plan);
    free(set);
    free(a.hex);
    free(a.id);
    buf_release(&text);
    if (rc) {
        pgds_cursor_free(c);
        c = NULL;
    }
    *out = c;
    return rc;
}
