/*
 * store-pg-ds-int.h - what the two files of the PostgreSQL datastore share:
 * store-pg-datastore.c (tables, builds, writes, search, cursors) and
 * store-pg-datastore-sql.c (datastore_search_sql). Nothing outside src/store/ includes
 * it. The resource id checks and value conversions are the SQLite backend's
 * (store-sqlite-datastore-int.h), so that both stores accept and refuse the same values
 * with the same messages. docs/internals/store.md, "Datastore tables".
 */
#ifndef KAIFANG_STORE_STORE_PG_DS_INT_H
#define KAIFANG_STORE_STORE_PG_DS_INT_H

#include <jansson.h>
#include <libpq-fe.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "core/buf.h"
#include "core/dstype.h"
#include "core/err.h"
#include "store/store-pg-int.h"
#include "store/store-sqlite-datastore-int.h"

/* Rows a cursor fetches at once, and the largest page read without a cursor. */
#define PGDS_FETCH      1000
#define PGDS_FETCH_TEXT "1000"

struct pgds_field {
    char *id;
    enum dstype type;
};

/* A table's row of datastore_tables. */
struct pgds_table {
    char id[SQDS_ID_SIZE];
    char hex[SQDS_HEX_SIZE];
    struct pgds_field *fields; /* column c_<i+1> */
    size_t nfields;
    size_t *pk; /* field indexes */
    size_t npk;
    json_t *indexes; /* [[field id, …], …] */
    json_t *meta;
    bool fulltext; /* built with fulltext */
    bool has_fts;  /* … and has text fields: the fts column exists */
    uint64_t rows;
    uint64_t generation;
};

/* Reads resource id's row into t (released first) on c; for_update locks it. Errors:
 * -ERR_NOT_FOUND (no table), -ERR_INTERNAL. */
int pgds_table_load(PGconn *c, const char *id, bool for_update, struct pgds_table *t,
                    struct err *err);
void pgds_table_release(struct pgds_table *t);
ssize_t pgds_field_find(const struct pgds_table *t, const char *id);

/* -ERR_NOT_FOUND "resource "<id>" has no datastore table". */
int pgds_not_found(const char *resource_id, struct err *err);

/* Takes the transaction-level advisory lock of table id on c (inside a transaction). */
int pgds_lock(PGconn *c, const char *id, struct err *err);

/* Starts a read of table id on c: a REPEATABLE READ READ ONLY transaction whose snapshot
 * comes after an ACCESS SHARE lock on the table (so a build's swap is seen whole).
 * -ERR_NOT_FOUND when the table does not exist. */
int pgds_read_begin(PGconn *c, const char *id, struct err *err);

/* Generated SQL and its parameters ($1 …); tmp is scratch. */
struct pgds_gen {
    struct buf sql;
    struct pg_params p;
    struct buf tmp;
};
void pgds_gen_init(struct pgds_gen *g);
void pgds_gen_release(struct pgds_gen *g);

/* Appends " AND <column> IN ($n, …)" per filter (alias t), values converted and checked
 * as the SQLite store does; numeric compares by value. Errors name place. */
int pgds_gen_filters(struct pgds_gen *g, const struct pgds_table *t,
                     const struct store_ds_filter *fl, size_t n, const char *place,
                     struct err *err);

/* A cursor over a result on a pooled connection (the snapshot stays open until free). */
struct store_ds_cursor {
    struct store_ds_cursor_head head;
    struct store *s;
    PGconn *conn;
    size_t ncols;
    char **names;
    enum dstype *types;
    struct dsvalue *vals;
    PGresult *res; /* the rows being read */
    int row;
    bool done;
    /* With fetch: more rows come from FETCH statements run by fetch_error, which sets
     * c->res or returns an error. */
    const char *fetch;
    int (*fetch_error)(struct store_ds_cursor *c, const char *sql, struct err *err);
    uint64_t cap, seen; /* store_ds_sql's row cap; rows returned */
    bool truncated;
    unsigned timeout_ms;
};

struct store_ds_cursor *pgds_cursor_new(struct store *s);
void pgds_cursor_free(struct store_ds_cursor *c);
/* Sets c's columns (names, types from the type OIDs) from r, once. */
void pgds_cursor_columns(struct store_ds_cursor *c, const PGresult *r);
/* The datastore type of a PostgreSQL type OID (int2/4/8 int8, float and numeric numeric,
 * bool, date, timestamp(tz), json(b); anything else text). */
enum dstype pgds_oid_type(unsigned oid);

/* The lexical checks of store_ds_sql's text (store-pg-datastore-sql.c), which read a
 * visitor's SQL and the server's deparsed plan (tests/fuzz/fuzz-pg-sql-text.c):
 * pgds_sql_text_limits refuses parentheses nested deeper than 200 or 50 and more
 * UNION/INTERSECT/EXCEPT, outside literals, quoted names and comments;
 * pgds_plan_text_check refuses, in one expression string of a plan, a call of a function
 * not in the allowed list or a session word (CURRENT_USER …). Both: 0, or -ERR_VALIDATION
 * naming "sql" with a message starting "sql: ". */
int pgds_sql_text_limits(const char *sql, struct err *err);
int pgds_plan_text_check(const char *s, struct err *err);

/* store_ds_build_row with the row's _id given (id ≥ 1, unique: the primary key added at
 * commit refuses a duplicate): `kaifang migrate` keeps each row's _id. Errors as
 * store_ds_build_row's. */
int pgds_build_row_id(struct store_ds_build *b, int64_t id, const struct dsvalue *values,
                      struct err *err);

/* store_ds_sql (store-pg-datastore-sql.c). */
int pgds_sql(struct store *s, const char *sql, const struct store_ds_sql_opts *o,
             struct store_ds_cursor **out, struct err *err);

/* Privacy reports (store-pg-privacy.c): the entries of pg_ds_backend, contracts of
 * store_privacy_report_put and _get (store-datastore.h). */
int pgds_privacy_put(struct store *s, const char *resource_id, const json_t *report,
                     struct err *err);
int pgds_privacy_get(struct store *s, const char *resource_id, json_t **report, struct err *err);

#endif
