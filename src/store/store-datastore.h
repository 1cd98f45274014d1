/*
 * store-datastore.h - datastore tables in the store: one table per resource, as CKAN's
 * DataStore keeps one PostgreSQL table per resource, named by the resource id.
 *
 * The store only keeps rows and runs queries; the datastore module (src/datastore/)
 * decides what goes in (types, the data dictionary, parameters, permissions). Nothing
 * here names the engine. The SQLite backend keeps each resource's table in a file of its
 * own, <portal>/datastore/<resource_id>.db, with generated identifiers (table t_<hex>,
 * columns c_<n>) and the field names stored as data (STYLE.md); a build writes a new
 * file aside and renames it over the old one, so a table is replaced atomically and a
 * failed build leaves the previous one serving. docs/internals/datastore.md.
 *
 * Every table has the column "_id" (int8, 1, 2, … in insertion order), as CKAN's.
 * Fields are named by their id (any UTF-8 text of 1..LIMIT_INGEST_FIELD_ID bytes that
 * does not start with '_'); values are struct dsvalue in the canonical text of the
 * field's type (core/dstype.h); the store does not convert values between types.
 *
 * Errors as in store.h, and: -ERR_NOT_FOUND "resource \"<id>\" has no datastore table";
 * -ERR_VALIDATION (field "fields", "filters", "sort", "q", "sql" …) for a name that is
 * not a field of the table or a query the store refuses; -ERR_CONFLICT for a duplicate
 * primary key. Thread-safety: every function may be called from any thread; writes to
 * one table are serialised by the store; a cursor belongs to one thread.
 *
 * The failure injection of store.h (KAIFANG_FAIL_STORE_AT) counts
 * store_ds_build_commit, store_ds_upsert, store_ds_delete, store_ds_drop,
 * store_ds_meta_put and store_ds_index_create as writes.
 */
#ifndef KAIFANG_STORE_STORE_DATASTORE_H
#define KAIFANG_STORE_STORE_DATASTORE_H

#include <jansson.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/dstype.h"
#include "core/err.h"
#include "store/store.h"

struct store_ds_field {
    const char *id;
    enum dstype type;
};

/* Splits text (NUL-terminated) into full-text tokens appended to out, space-separated
 * (catalog_search_text() is the one Kaifang uses: the same as the catalog search). */
typedef void (*store_tokenize_fn)(const char *text, struct buf *out);

/* The definition of a table being built. */
struct store_ds_table_def {
    const struct store_ds_field *fields; /* in order; at most LIMIT_DATASTORE_FIELDS */
    size_t nfields;
    const char *const *primary_key; /* field ids, unique together; NULL/0: none */
    size_t nprimary_key;
    /* Indexes to create after the rows are in: each a list of field ids. */
    const char *const *const *indexes;
    const size_t *index_sizes;
    size_t nindexes;
    /* Full-text index over the text fields for store_ds_query.text; tokenize must be
     * set when true. */
    bool fulltext;
    store_tokenize_fn tokenize;
    /* With fulltext: store_ds_build_commit swaps the table in without its full-text
     * index, and store_ds_fulltext_build() adds it afterwards. Meanwhile the table serves
     * everything but text queries, which fail with -ERR_UNAVAILABLE (an ingest's table
     * is queryable as soon as its rows are in: the index is most of an ingest's time). */
    bool fulltext_later;
};

struct store_ds_build;

/*
 * Starts building the table of resource_id aside (the current table, if any, keeps
 * serving until store_ds_build_commit). def and everything it points to is copied.
 * Memory stays bounded whatever the number of rows. *out: free with _commit or _abort.
 */
int store_ds_build_begin(struct store *s, const char *resource_id,
                         const struct store_ds_table_def *def, struct store_ds_build **out,
                         struct err *err);

/* Appends one row: def->nfields values (borrowed for the call). _id is assigned. */
int store_ds_build_row(struct store_ds_build *b, const struct dsvalue *values, struct err *err);

/*
 * Creates the primary key and indexes, stores meta (a JSON object the datastore module
 * owns: the data dictionary's labels and notes, the ingest report …; borrowed, copied)
 * and replaces the resource's table with the new one atomically. *rows (may be NULL)
 * gets the row count. Frees b in every case; on failure the previous table, if any, is
 * unchanged (a duplicate primary key: -ERR_CONFLICT naming the key).
 */
int store_ds_build_commit(struct store_ds_build *b, const json_t *meta, uint64_t *rows,
                          struct err *err);

/* Abandons a build and removes what it wrote. NULL is a no-op. */
void store_ds_build_abort(struct store_ds_build *b);

/*
 * Builds the full-text index of resource_id's table when it was committed with
 * fulltext_later and has text fields (else returns 0 at once), with tokenize (the
 * build's; NULL: store_ds_set_tokenizer's). The index is built into a
 * copy of the table file, aside, and the copy is swapped in when the table has not
 * changed since it was copied; writes in place meanwhile (upserts, deletes) make it copy
 * and build again, and the last of a few attempts holds the writers' lock throughout, so
 * that it ends. Readers are never blocked. cancel (may be NULL) is checked between rows:
 * when set, the build is abandoned with -ERR_UNAVAILABLE and the table stays without an
 * index. Errors: -ERR_NOT_FOUND when the table is gone; -ERR_INTERNAL on I/O failure
 * (needs free disk space for a second copy of the table).
 */
int store_ds_fulltext_build(struct store *s, const char *resource_id, store_tokenize_fn tokenize,
                            const atomic_bool *cancel, struct err *err);

/*
 * The tokenizer store_ds_upsert and store_ds_delete use on the tables built with fulltext:
 * a full-text row is removed with the tokens it was indexed with, so changing rows needs
 * the tokenizer of the build (catalog_search_text; the datastore module sets it once,
 * after store_open). Without one, changing the rows of such a table fails with
 * -ERR_INTERNAL. Thread-safe.
 */
void store_ds_set_tokenizer(struct store *s, store_tokenize_fn tokenize);

/* What the store knows of a table. Release with store_ds_info_release(). */
struct store_ds_info {
    json_t *fields;      /* [{"id": …, "type": "int8"}, …] without _id; new reference */
    json_t *meta;        /* what the last build or store_ds_meta_put stored; new reference */
    json_t *primary_key; /* [field ids] */
    json_t *indexes;     /* [[field ids], …] */
    uint64_t rows;
    uint64_t generation;   /* bumped by every change of the table (rows, fields, meta) */
    bool fulltext_pending; /* its full-text index is not built yet (fulltext_later) */
    bool fulltext;         /* built with fulltext (store_ds_table_def.fulltext) */
};

/* -ERR_NOT_FOUND when resource_id has no table. */
int store_ds_info(struct store *s, const char *resource_id, struct store_ds_info *info,
                  struct err *err);
void store_ds_info_release(struct store_ds_info *info);

/* Replaces the stored meta object (labels, descriptions: no change to rows or types). */
int store_ds_meta_put(struct store *s, const char *resource_id, const json_t *meta,
                      struct err *err);

/* Adds an index over the named fields (no-op when one over the same list exists). */
int store_ds_index_create(struct store *s, const char *resource_id, const char *const *fields,
                          size_t nfields, struct err *err);

/* Removes the table of resource_id (datastore_delete without filters). -ERR_NOT_FOUND
 * when it has none. */
int store_ds_drop(struct store *s, const char *resource_id, struct err *err);

/* The ids of every resource that has a table, as a new JSON array (for sweeps, audits
 * and tests). */
int store_ds_list(struct store *s, json_t **ids, struct err *err);

/* ---- Changing rows in place (datastore_upsert; datastore_delete with filters) ------ */
enum store_ds_method {
    STORE_DS_INSERT, /* new rows; a duplicate primary key is -ERR_CONFLICT */
    STORE_DS_UPSERT, /* update the row with the same primary key, or insert */
    STORE_DS_UPDATE, /* update the row with the same primary key; none: -ERR_NOT_FOUND */
};

/*
 * Writes nrows records in one transaction (all or nothing). Each record gives
 * nfields values, for the fields named by fields[] (a subset of the table's, in any
 * order; upsert/update need every primary-key field). For an update, fields not named
 * keep their value; an insert leaves them NULL. *count gets the rows written.
 */
int store_ds_upsert(struct store *s, const char *resource_id, enum store_ds_method method,
                    const char *const *fields, size_t nfields, const struct dsvalue *values,
                    size_t nrows, uint64_t *count, struct err *err);

/* A filter: field = one of values (OR); an AND of these is the row filter. values in
 * the canonical text of the field's type (int8 as INT or TEXT). Comparisons follow the
 * type: numeric compares as numbers (0.5 = 0.50), the others as their canonical value. */
struct store_ds_filter {
    const char *field;
    const struct dsvalue *values;
    size_t nvalues;
};

/* Deletes the rows that pass every filter (nfilters > 0), in one transaction; *count
 * gets how many. */
int store_ds_delete(struct store *s, const char *resource_id, const struct store_ds_filter *filters,
                    size_t nfilters, uint64_t *count, struct err *err);

/* ---- Reading -------------------------------------------------------------------- */

/* Full-text condition: every token (of the tokenizer of the build) appears in the field
 * (field NULL: in any text field). */
struct store_ds_text {
    const char *field;
    const char *const *tokens;
    size_t ntokens;
};

struct store_ds_sort {
    const char *field; /* a field id or "_id" */
    bool descending;
};

struct store_ds_query {
    const char *resource_id;
    const char *const *fields; /* columns to return, "_id" allowed; NULL/0: _id then all */
    size_t nfields;
    const struct store_ds_filter *filters; /* AND */
    size_t nfilters;
    const struct store_ds_text *text; /* AND; needs a table built with fulltext */
    size_t ntext;
    const struct store_ds_sort *sort; /* NULL/0: by relevance when text, else by _id */
    size_t nsort;
    bool distinct;   /* distinct rows of the returned fields */
    uint64_t offset; /* rows to skip */
    uint64_t limit;  /* rows at most; 0: no limit (dumps) */
    bool total;      /* count every matching row (whatever offset/limit) into *total */
};

struct store_ds_cursor;

/*
 * Runs a query on a consistent snapshot of the table. *out yields the rows (free with
 * store_ds_cursor_free()); *total (when q->total) the number of matching rows. Memory
 * does not grow with the rows returned: rows are read one at a time.
 */
int store_ds_search(struct store *s, const struct store_ds_query *q, struct store_ds_cursor **out,
                    uint64_t *total, struct err *err);

/* Limits of store_ds_sql. may_read decides, for every resource the statement names,
 * whether the caller may read it: 0, or a negative error it sets (-ERR_AUTH …) that
 * store_ds_sql returns. */
struct store_ds_sql_opts {
    uint64_t row_cap;    /* rows at most; more: the cursor ends and truncated() is true */
    unsigned timeout_ms; /* the statement is interrupted after this long: -ERR_VALIDATION
                            "sql: statement took longer than N ms" */
    int (*may_read)(void *ctx, const char *resource_id, struct err *err);
    void *ctx;
};

/*
 * Runs a read-only SQL statement over datastore tables (datastore_search_sql): tables
 * are named by their resource id in double quotes, columns by field id, as in CKAN.
 * Refused (-ERR_VALIDATION, field "sql", message naming why): anything but one SELECT
 * (a second statement, INSERT/UPDATE/DELETE/CREATE/DROP/ATTACH/PRAGMA/…), any table
 * that is not a datastore table the caller may read (catalog tables, sqlite_master,
 * files), functions outside a list of pure ones (no load_extension, readfile, …). The
 * engine enforces this (SQLite: a read-only connection with an authorizer and a
 * progress handler), not a parse of the text.
 */
int store_ds_sql(struct store *s, const char *sql, const struct store_ds_sql_opts *o,
                 struct store_ds_cursor **out, struct err *err);

/* The cursor's columns: their number, names and types (for SQL results: the type of
 * the column they come from, or from the first value for expressions). */
size_t store_ds_cursor_ncolumns(const struct store_ds_cursor *c);
const char *store_ds_cursor_column(const struct store_ds_cursor *c, size_t i);
enum dstype store_ds_cursor_type(const struct store_ds_cursor *c, size_t i);

/* The next row: 1 and *values (ncolumns values, borrowed until the next call), 0 at the
 * end, or a negative error. */
int store_ds_cursor_next(struct store_ds_cursor *c, const struct dsvalue **values, struct err *err);

/* True when a store_ds_sql cursor stopped at its row cap. */
bool store_ds_cursor_truncated(const struct store_ds_cursor *c);

void store_ds_cursor_free(struct store_ds_cursor *c);

/* ---- Ingest status (in the catalog database, beside the resource) ------------------
 * The datastore module's record of the last ingest of a resource (pending, running,
 * complete, error; message, line, column, encoding …), an object it owns. Kept apart
 * from the table so that a failed ingest is recorded while the previous table serves. */

/* Sets (insert or replace) the status of resource_id; status NULL removes it. Write:
 * inside a store transaction (store.h), counted by failure injection. */
int store_ds_status_put(struct store *s, const char *resource_id, const json_t *status,
                        struct err *err);

/* The status of resource_id as a new reference; -ERR_NOT_FOUND when none. */
int store_ds_status_get(struct store *s, const char *resource_id, json_t **status, struct err *err);

/* Every stored status as a new JSON object {resource_id: status, …} (the ingest worker
 * re-queues the "pending" and "running" ones when it starts: a server stopped or killed
 * mid-ingest). */
int store_ds_status_list(struct store *s, json_t **statuses, struct err *err);

/* ---- Privacy reports (in the catalog database, beside the resource) ----------------
 * The privacy report of the table last ingested from a resource's file (the scan's
 * classification of its columns, the quasi-identifiers and the k they reach, the file's
 * SHA-256) and an override of the publish gate when one was recorded: an object the
 * datastore and catalog modules own (docs/internals/privacy-gate.md). */

/* Whether the store's backend keeps privacy reports (the SQLite one does; PostgreSQL, for
 * now, does not). What withholds a resource by its report needs them. */
bool store_privacy_reports_kept(struct store *s);

/* Sets (insert or replace) the report of resource_id; report NULL removes it. Write:
 * inside a store transaction, counted by failure injection. A backend that keeps no
 * reports (PostgreSQL, for now) stores nothing and returns 0, warning once in the log. */
int store_privacy_report_put(struct store *s, const char *resource_id, const json_t *report,
                             struct err *err);

/* The report of resource_id as a new reference; -ERR_NOT_FOUND when none. */
int store_privacy_report_get(struct store *s, const char *resource_id, json_t **report,
                             struct err *err);

#endif
