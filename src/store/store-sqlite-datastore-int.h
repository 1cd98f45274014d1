/*
 * store-sqlite-datastore-int.h - what the files of the SQLite datastore backend share:
 * store-sqlite-datastore.c (state, table files, readers, search),
 * store-sqlite-datastore-build.c (building a table file aside and swapping it in),
 * store-sqlite-datastore-write.c (writes in place) and store-sqlite-datastore-sql.c
 * (datastore_search_sql). Nothing outside src/store/ includes it.
 * docs/internals/datastore.md, "Storage".
 *
 * A table file <portal>/datastore/<resource_id>.db holds
 *   t_<hex>  the rows: _id INTEGER PRIMARY KEY, then c_1 … c_n, one per field in order
 *   meta     key/value rows: fields, primary key, indexes, the module's meta, row count,
 *            generation, next _id
 *   ftx      (tables built with fulltext that have text fields) Kaifang's inverted index
 *            of the text fields (store/ftx.h; store-sqlite-datastore-ftx.c), with meta
 *            ftx_rows, ftx_tokens, ftx_ncols, ftx_max_id
 *   fts      (tables built before ftx) a contentless FTS5 table with one column per
 *            text field, named as the table column (c_<n>), rowid = _id, fed with the
 *            build's tokenizer output; searched as before until the table is rebuilt
 *   pk       the unique index of the primary key; i_<k> the other indexes
 * where <hex> is the resource id without dashes. Field ids are data only.
 *
 * Functions declared here have the sqds_ prefix, since they are visible to the whole
 * program.
 */
#ifndef KAIFANG_STORE_STORE_SQLITE_DATASTORE_INT_H
#define KAIFANG_STORE_STORE_SQLITE_DATASTORE_INT_H

#include <jansson.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "core/buf.h"
#include "core/dstype.h"
#include "core/err.h"
#include "store/ftx.h"
#include "store/store-int.h"

/* A resource id as text: 36 characters and the NUL. */
#define SQDS_ID_SIZE 37
/* Its 32 hex digits and the NUL (table names). */
#define SQDS_HEX_SIZE 33

/* The format of a table file (meta 'format'); a file of another format is refused. */
#define SQDS_FORMAT 1

/* The message of -ERR_NOT_FOUND for a resource without a table (store-datastore.h). */
#define SQDS_NOT_FOUND "resource \"%s\" has no datastore table"

/* Waits for a lock held by another connection (a writer's commit, a reader's snapshot). */
#define SQDS_BUSY_MS 5000

/* Page cache of each reader connection, KiB (negative cache_size). */
#define SQDS_READER_CACHE_KIB 2048

/* The engine's own limit on a value (SQLITE_MAX_LENGTH in Debian's build). */
#define SQDS_MAX_VALUE 1000000000u

/* Per-store state (s->ds). */
struct sqds_thread;
struct sqds {
    char *dir; /* <directory of the catalog database>/datastore */
    bool readonly;
    pthread_key_t key; /* struct sqds_thread of the calling thread */
    pthread_mutex_t threads_lock;
    struct sqds_thread *threads; /* every thread's state, for close */
    /* Bumped by every swap and drop in this process: readers then check the files
     * their thread keeps open, so that a replaced or dropped file is let go (its disk
     * space is freed only when the last connection to it closes). */
    atomic_uint_fast64_t swaps;
};

/* A field of a table as the file's meta holds it: column c_<i+1>. */
struct sqds_field {
    char *id;
    enum dstype type;
};

/* What a table file's meta says (a snapshot of it). */
struct sqds_table {
    char id[SQDS_ID_SIZE];
    char hex[SQDS_HEX_SIZE];
    struct sqds_field *fields;
    size_t nfields;
    size_t *pk; /* field indexes */
    size_t npk;
    json_t *indexes;      /* [[field id, …], …] */
    bool fulltext;        /* built with fulltext */
    bool has_fts;         /* … and has text fields: a full-text index exists (ftx or fts) */
    bool has_ftx;         /* … and it is the ftx table (else FTS5's fts, an older table) */
    bool fts_pending;     /* … and has text fields, but the index is not built yet
                           * (store_ds_fulltext_build) */
    struct ftx_stats ftx; /* with has_ftx */
    uint64_t rows;
    uint64_t generation;
    int64_t next_id;
};

/* ---- Helpers (store-sqlite-datastore.c) ------------------------------------------------ */

/* Checks that id is a UUID (8-4-4-4-12 hex digits, either case) and writes it in lower
 * case into out and its digits into hex (either may be NULL). Returns false otherwise. */
bool sqds_id_parse(const char *id, char out[SQDS_ID_SIZE], char hex[SQDS_HEX_SIZE]);

/* "<dir>/<id><suffix>", to free(). */
char *sqds_path(const struct sqds *q, const char *id, const char *suffix);

/* Logs the engine's message and sets err as sq_db_error does (-ERR_UNAVAILABLE when busy,
 * else -ERR_INTERNAL naming what). */
int sqds_db_error(sqlite3 *db, int rc, const char *what, struct err *err);

/* Runs SQL without results on db; errors as sqds_db_error(what). */
int sqds_exec(sqlite3 *db, const char *sql, const char *what, struct err *err);

/* Registers the "kaifang_space" FTS5 tokenizer on db: tokens are the runs of bytes
 * between spaces, kept whole (the text is a tokenizer's output already). */
int sqds_tokenizer_register(sqlite3 *db, struct err *err);

/* Reads the meta of the table file open on db as schema (NULL: main; inside a transaction
 * the caller holds) into t (released first). -ERR_INTERNAL when it is not a table file of
 * this format. */
int sqds_table_load(sqlite3 *db, const char *schema, const char *id, struct sqds_table *t,
                    struct err *err);
void sqds_table_release(struct sqds_table *t);

/* The index of field id in t, or -1. */
ssize_t sqds_field_find(const struct sqds_table *t, const char *id);

/* The declared column type of a field type in the CREATE TABLE of a table file:
 * INTEGER affinity for int8, none for numeric (the exact text is kept), TEXT otherwise. */
const char *sqds_decltype(enum dstype type);

/* Appends the text of a value of field type type as the store keeps it (INT values of
 * non-int8 fields as decimal text) — for messages and the tokenizer. */
void sqds_value_text(const struct dsvalue *v, struct buf *out);

/* Writes a meta row (key, value as text or integer). */
int sqds_meta_set(sqlite3 *db, const char *key, const char *text, int64_t num, struct err *err);

/* Opens a read-write connection to a table file for the build and writes in place:
 * busy timeout, the tokenizer, a bounded page cache. */
int sqds_open_rw(const char *path, bool create, sqlite3 **db, struct err *err);

/* ---- Writers' lock (store-sqlite-datastore.c) -----------------------------------------
 * One writer at a time per table, across threads and processes: flock() on
 * <dir>/<id>.lock, taken by every change of a table file (the swap of a build, writes in
 * place, drop). Returns 0 with *fd the lock, or an error. */
int sqds_lock(const struct sqds *q, const char *id, int *fd, struct err *err);
void sqds_unlock(int fd);

/* fsync()s path (a file or a directory); errors name what. */
int sqds_fsync_path(const char *path, const char *what, struct err *err);

/* ---- Values and generated SQL (store-sqlite-datastore.c) ------------------------------ */

/* A value to bind, converted for a field's column. */
enum sqds_bind_kind { SQDS_B_NULL, SQDS_B_INT, SQDS_B_TEXT, SQDS_B_FTX };

/* The pointer type of an ftx_match bound for ftx_ids() (sqlite3_bind_pointer). */
#define SQDS_FTX_POINTER "kaifang_ftx_match"

struct sqds_bindv {
    enum sqds_bind_kind kind;
    int64_t i;
    const struct ftx_match *ftx; /* SQDS_B_FTX: borrowed, alive while the statement runs */
    const char *s;               /* borrowed, or num below */
    size_t len;
    char num[24];
};

/*
 * Converts v for a column of type type: int8 columns take INT, or TEXT holding an integer;
 * numeric TEXT must be a decimal number; other types take TEXT, and INT as its decimal
 * text. Errors: -ERR_VALIDATION in field place, naming field.
 */
int sqds_value_convert(enum dstype type, const struct dsvalue *v, const char *field,
                       const char *place, struct sqds_bindv *out, struct err *err);

/* Binds b as parameter i of st, copied (SQLITE_TRANSIENT). */
void sqds_bindv_bind(sqlite3_stmt *st, int i, const struct sqds_bindv *b);

/* Generated SQL text and the values of its parameters, in order. */
struct sqds_gen {
    struct buf sql;
    struct sqds_bindv *v;
    size_t nv, alloc;
};

void sqds_gen_init(struct sqds_gen *g);
void sqds_gen_release(struct sqds_gen *g);
/* Appends "?" and returns its value to fill. */
struct sqds_bindv *sqds_gen_param(struct sqds_gen *g);
void sqds_gen_bind(const struct sqds_gen *g, sqlite3_stmt *st);

/* Appends " AND <column> IN (?, …)" for each filter (table alias t), values converted as
 * sqds_value_convert(); numeric fields compare by value. Errors name place. */
int sqds_gen_filters(struct sqds_gen *g, const struct sqds_table *t,
                     const struct store_ds_filter *fl, size_t n, const char *place,
                     struct err *err);

/* ---- Writes in place (store-sqlite-datastore-write.c): store-datastore.h's contracts -- */
int sqds_meta_put(struct store *s, const char *resource_id, const json_t *meta, struct err *err);
int sqds_index_create(struct store *s, const char *resource_id, const char *const *fields,
                      size_t nfields, struct err *err);
int sqds_drop(struct store *s, const char *resource_id, struct err *err);
int sqds_upsert(struct store *s, const char *resource_id, enum store_ds_method method,
                const char *const *fields, size_t nfields, const struct dsvalue *values,
                size_t nrows, uint64_t *count, struct err *err);
int sqds_delete(struct store *s, const char *resource_id, const struct store_ds_filter *filters,
                size_t nfilters, uint64_t *count, struct err *err);

/* ---- Build (store-sqlite-datastore-build.c) -------------------------------------------- */
int sqds_build_begin(struct store *s, const char *resource_id, const struct store_ds_table_def *def,
                     struct store_ds_build **out, struct err *err);
int sqds_build_row(struct store_ds_build *b, const struct dsvalue *values, struct err *err);
int sqds_build_commit(struct store_ds_build *b, const json_t *meta, uint64_t *rows,
                      struct err *err);
void sqds_build_abort(struct store_ds_build *b);
int sqds_fulltext_build(struct store *s, const char *resource_id, store_tokenize_fn tokenize,
                        const atomic_bool *cancel, struct err *err);
/* ---- Full text (store-sqlite-datastore-ftx.c) ------------------------------------------- */

/* (Re)builds the ftx index of table t_<hex> in db, inside the caller's transaction: every
 * row's text fields through tokenize, the ftx table and its meta. cancel (may be NULL) is
 * read between rows (-ERR_UNAVAILABLE). A table without text fields gets an empty ftx. */
int sqds_ftx_build(sqlite3 *db, const char *hex, const struct sqds_field *fields, size_t nfields,
                   store_tokenize_fn tokenize, const atomic_bool *cancel, struct err *err);

/* Memory of an index builder before it writes a run to disk: the ingest's peak RSS stays
 * within issue 3's 64 MB whatever the table's size. */
#define SQDS_FTX_BUDGET (16u << 20)

/* Writes the index that fb was fed (every row of t_<hex>, through ftx_build_row and
 * ftx_build_add) into db, inside the caller's transaction: the ftx table (emptied first)
 * and its meta. fb stays the caller's to free. What a table build uses when it took the
 * tokens in its load pass (sqds_build_row), instead of reading the rows again. */
int sqds_ftx_write(sqlite3 *db, const char *hex, struct ftx_build *fb, struct err *err);

/* Changes the ftx index (format 2, whose stats before the change are *stats) of the table
 * file open on db as edit says, inside the caller's transaction: the rows of ftx whose
 * entries change and the meta ftx_rows, ftx_tokens, ftx_max_id (ftx.h, "Changing an index
 * in place"). Errors: the engine's; -ERR_INTERNAL from ftx_edit_apply (damaged entries, or
 * an index that does not hold a removed row's tokens: the caller rebuilds it). */
int sqds_ftx_edit_write(sqlite3 *db, const struct ftx_stats *stats, struct ftx_edit *edit,
                        struct err *err);

/* The rows of t (has_ftx) matching the text conditions: *out (NULL when they hold no
 * token), with their ranks when ranked, for one page when keep > 0 (ftx_match_new()),
 * free with ftx_match_free(). Errors: -ERR_VALIDATION naming
 * q for a field that is not a text field of t; -ERR_INTERNAL for a damaged index. */
int sqds_ftx_match(sqlite3 *db, const struct sqds_table *t, const struct store_ds_text *text,
                   size_t ntext, bool ranked, size_t keep, struct ftx_match **out, struct err *err);

/* Registers ftx_ids(match) on db: rowid = each matching row's _id in order, column rank
 * its FTS5 rank; match bound as SQDS_B_FTX. */
int sqds_ftx_register(sqlite3 *db, struct err *err);

/* Removes build files older than a day (a crash's leftovers) from q->dir. */
void sqds_build_sweep(const struct sqds *q);

/* ---- datastore_search_sql (store-sqlite-datastore-sql.c) ------------------------------- */
int sqds_sql(struct store *s, const char *sql, const struct store_ds_sql_opts *o,
             struct store_ds_cursor **out, struct err *err);

extern const struct store_ds_backend sq_ds_backend;

#endif
