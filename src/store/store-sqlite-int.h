/*
 * store-sqlite-int.h - what the two files of the SQLite backend share: store-sqlite.c
 * (schema, migrations, connections, transactions, records) and store-sqlite-search.c
 * (generated SQL: search, dataset names, tags). Nothing outside src/store/ includes it.
 *
 * Functions declared here have the sq_ prefix, as the backend's entry points do, since
 * they are visible to the whole program; the few one-liners are static inline.
 * Threads: the helpers work on the connection they are given, which belongs to the
 * calling thread (sq_read_conn finds it), so callers hold no lock for them.
 */
#ifndef KAIFANG_STORE_STORE_SQLITE_INT_H
#define KAIFANG_STORE_STORE_SQLITE_INT_H

#include <jansson.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/err.h"
#include "store/store-int.h"

/* Generated statements cached per connection (LRU keyed by SQL text). */
#define DYN_STMTS 32

/* ---- Fixed statements: their SQL is stmt_sql[] in store-sqlite.c ---------------------- */
enum stmt_id {
    ST_BEGIN_WRITE,
    ST_BEGIN_READ,
    ST_COMMIT,
    ST_ROLLBACK,
    ST_VERSION_GET,
    ST_VERSION_BUMP,
    ST_CATALOG_VERSION_GET,
    ST_VERSION_BUMP_LEDGER,
    ST_SCHEMA_GET,
    ST_GROUP_NAME_TAKEN,
    ST_GROUP_PUT,
    ST_GROUP_GET,
    ST_GROUP_NAMES,
    ST_GROUP_DOCS,
    ST_DATASET_NAME_TAKEN,
    ST_DATASET_PUT,
    ST_FACETS_DELETE,
    ST_FACET_INSERT,
    ST_FTS_DELETE,
    ST_FTS_INSERT,
    ST_RESOURCE_OWNER,
    ST_RESOURCES_DELETE,
    ST_RESOURCE_INSERT,
    ST_DATASET_PURGE,
    ST_DATASET_GET,
    ST_DOC_BY_RID,
    ST_DERIVED_BY_RID,
    ST_DERIVED_PUT,
    ST_DERIVED_DELETE,
    ST_DERIVED_PUT_BY_ID,
    ST_SUMMARY_BY_RID,
    ST_PRIVACY_GET,
    ST_DS_STATUS_GET,
    ST_SUMMARY_PUT,
    ST_SUMMARY_DELETE,
    ST_TAG_LIST,
    ST_ORG_COUNT,
    ST_GROUP_COUNT,
    ST_USER_NAME_TAKEN,
    ST_USER_PUT,
    ST_USER_GET,
    ST_USER_LIST,
    ST_TOKEN_PUT,
    ST_TOKEN_USER,
    ST_TOKEN_REVOKE,
    ST_MEMBER_PUT,
    ST_MEMBER_DELETE,
    ST_MEMBER_GET,
    ST_MEMBER_ORGS,
    /* The ledger's: their SQL is ledger_sql[] in store-sqlite-ledger.c, prepared by
     * sq_ledger_stmt() there (stmt_sql[] has no text for them). */
    ST_LEDGER_STAGE,
    ST_LEDGER_COUNT,
    ST_LEDGER_LEAVES,
    ST_LEDGER_ENTRIES,
    ST_LEDGER_FIND,
    ST_LEDGER_TILE_GET,
    ST_LEDGER_TILE_PUT,
    ST_LEDGER_CHECKPOINT_PUT,
    ST_LEDGER_CHECKPOINT_GET,
    ST_LEDGER_CHECKPOINT_MAX,
    /* Roles and grants: their SQL is access_sql[] in store-sqlite-access.c. */
    ST_ROLE_PUT,
    ST_ROLE_DELETE,
    ST_ROLES_OF,
    ST_ROLE_LIST,
    ST_GRANT_PUT,
    ST_GRANT_GET,
    ST_GRANT_LIST,
    /* Passwords and web sessions: also in access_sql[]. */
    ST_PASSWORD_GET,
    ST_PASSWORD_SET,
    ST_SESSION_PUT,
    ST_SESSION_SWEEP,
    ST_SESSION_GET,
    ST_SESSION_DELETE,
    ST_SESSION_DELETE_USER,
    /* Account pages (token list, disabling a user): also in access_sql[]. */
    ST_TOKEN_LIST,
    ST_USER_STATE_SET,
    ST__COUNT
};

/* ---- Connections and the backend state ------------------------------------------------- */
struct dyn_stmt {
    char *sql;
    sqlite3_stmt *st;
    uint64_t used;
};

struct conn {
    sqlite3 *db;
    sqlite3_stmt *st[ST__COUNT];
    struct dyn_stmt dyn[DYN_STMTS];
    uint64_t tick;
};

struct sq;
struct thread_state; /* store-sqlite.c */

/*
 * Recent searches, each entry valid while the store version is the one it was computed
 * at, keyed by the generated SQL and every bound value. Two kinds of entry (the key says
 * which): a match set (its count and, for a full-text search, the whole ordered list of
 * row ids when it is short enough, so that any page is a slice of it) and a facet count
 * (facets, for the set and the facet fields and limit). Two tables, each an LRU:
 * `ranked` holds the sets of searches made only of full-text clauses (a word, ranked:
 * the costly ones, which searches with filters reuse), lists of up to SEARCH_LIST_MAX
 * rids (256 KiB); `cache` everything else, lists of up to SEARCH_LIST_SMALL. Worst case
 * 64 x 256 KiB + 256 x 32 KiB = 24 MiB of lists.
 */
#define SEARCH_CACHE      256
#define SEARCH_RANKED     64
#define SEARCH_LIST_MAX   32768
#define SEARCH_LIST_SMALL 4096
struct cached_search {
    char *key;
    uint64_t hash; /* of key: most entries are told apart without comparing keys */
    uint64_t version;
    uint64_t used;
    size_t count;
    int64_t *rids; /* the ordered matches (count of them), or NULL */
    json_t *facets;
};

struct sq {
    char *path;
    /* store_open_readonly(): no writer (writer.db NULL), readers opened read-only with
     * a page cache of cache_kib KiB and no memory map. */
    bool readonly;
    size_t cache_kib;
    struct conn writer;
    pthread_mutex_t write_lock;
    pthread_key_t key;
    pthread_mutex_t threads_lock;
    struct thread_state *threads; /* every thread_state, for store_free */
    atomic_uint_fast64_t failed_versions;
    /* Counts and facets of recent searches, valid for one store version. */
    pthread_mutex_t cache_lock;
    struct cached_search cache[SEARCH_CACHE];
    struct cached_search ranked[SEARCH_RANKED];
    uint64_t cache_tick;
};

/* ---- Helpers (store-sqlite.c) ---------------------------------------------------------- */

/* Logs the engine's message for rc and sets err: -ERR_UNAVAILABLE when the database is
 * busy or locked, else -ERR_INTERNAL; what names the operation ("storing a group").
 * Returns the negative error. */
int sq_db_error(sqlite3 *db, int rc, const char *what, struct err *err);

/* The cached statement id on c, prepared on first use; *st stays owned by c. */
int sq_stmt_get(struct conn *c, enum stmt_id id, sqlite3_stmt **st, struct err *err);

/* Makes a statement ready for its next use and drops borrowed bindings. NULL is a no-op. */
static inline void stmt_done(sqlite3_stmt *st)
{
    if (!st)
        return;
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
}

/* Binds s (borrowed: it must outlive the statement's use) or NULL as SQL NULL. */
static inline void bind_text(sqlite3_stmt *st, int i, const char *s)
{
    if (s)
        sqlite3_bind_text(st, i, s, -1, SQLITE_STATIC);
    else
        sqlite3_bind_null(st, i);
}

/* LIMIT and OFFSET values: limit 0 (no limit) becomes -1, which SQLite reads as none. */
static inline int64_t sql_limit(size_t limit)
{
    return limit == 0 || limit > INT64_MAX ? -1 : (int64_t)limit;
}

static inline int64_t sql_offset(size_t offset)
{
    return offset > INT64_MAX ? INT64_MAX : (int64_t)offset;
}

/* The connection the calling thread reads through: the writer while this thread holds
 * the write transaction (so it sees its own changes), else its own reader, opened on
 * first use. */
/* The ledger entries the audit reads by type (schema migration 12: a partial index over
 * them; store_ledger_audit_walk). The expression reads the entry's "type" without
 * failing on bytes that are not JSON; the query must repeat it exactly for SQLite to use
 * the index. */
#define SQ_LEDGER_AUDIT_TYPE                                                                       \
    "CASE WHEN json_valid(CAST(entry AS TEXT)) THEN json_extract(CAST(entry AS TEXT), '$.type') "  \
    "END"
#define SQ_LEDGER_AUDIT_WHERE                                                                      \
    SQ_LEDGER_AUDIT_TYPE " IN ('grant_request', 'grant_approve', 'grant_refuse', 'grant_revoke',"  \
                         " 'restricted_read', 'restricted_read_refused', 'privacy_override',"      \
                         " 'resource_create', 'resource_update', 'dataset_update')"
/* The charge_record entries (schema migration 13; store_charge_entries_orphaned). */
#define SQ_LEDGER_CHARGE_WHERE SQ_LEDGER_AUDIT_TYPE " = 'charge_record'"

int sq_read_conn(struct store *s, struct conn **c, struct err *err);

/* A read snapshot around several statements on c (from sq_read_conn): sq_read_begin
 * starts it (nothing to do on the writer, already in its transaction), sq_read_end ends
 * it and ignores failures. */
int sq_read_begin(struct store *s, struct conn *c, struct err *err);
void sq_read_end(struct store *s, struct conn *c);

/* The store_version() counter as seen by c. */
int sq_version_read(struct conn *c, uint64_t *v, struct err *err);

/* The store_catalog_version() counter as seen by c. */
int sq_catalog_version_read(struct conn *c, uint64_t *v, struct err *err);

/* Column col of the current row as a new JSON string (null for SQL NULL). */
json_t *sq_column_string(sqlite3_stmt *st, int col);

/* Steps st (already bound), parses column 0 of its first row into *doc (new reference)
 * and resets st. Returns 0, 1 when there is no row (the caller reports what is missing),
 * or a negative error: -ERR_INTERNAL "a stored <what> is corrupt" when not JSON. */
int sq_fetch_doc(struct conn *c, sqlite3_stmt *st, json_t **doc, const char *what, struct err *err);

/* Steps st (already bound), whose first row holds one integer (a count, the version
 * counter), into *v; resets st. No row is a failure like any other: sq_db_error(what). */
int sq_fetch_int64(struct conn *c, sqlite3_stmt *st, int64_t *v, const char *what, struct err *err);

/* Steps st (already bound) to the end and collects column 0 of every row into *list, a
 * new JSON array of parsed documents (docs) or strings; resets st. */
int sq_fetch_list(struct conn *c, sqlite3_stmt *st, bool docs, json_t **list, const char *what,
                  struct err *err);

/* ---- Entries of store_sqlite_backend in store-sqlite-search.c --------------------------
 * Contracts: store_dataset_names, store_dataset_search, store_tag_list in store.h. */
int sq_dataset_names(struct store *s, const struct store_visibility *vis, size_t offset,
                     size_t limit, json_t **names, struct err *err);
int sq_dataset_search(struct store *s, const struct store_search *q,
                      struct store_search_result *res, struct err *err);
int sq_tag_list(struct store *s, const char *prefix, json_t **tags, struct err *err);

/* ---- Entries of store_sqlite_backend in store-sqlite-views.c ---------------------------
 * Contracts: store_dataset_views_add, store_dataset_views_top in store.h. */
int sq_views_add(struct store *s, const struct store_view_count *v, size_t n, size_t *added,
                 struct err *err);
int sq_views_top(struct store *s, size_t limit, json_t **list, struct err *err);

/* The writer connection; the calling thread must hold the write transaction (BUG_ON
 * otherwise: a store write outside store_begin/store_commit). */
struct conn *sq_write_conn(struct store *s);

/* ---- Entries of store_sqlite_backend in store-sqlite-ledger.c --------------------------
 * Contracts: store_ledger_* in store.h. */
int sq_ledger_stage(struct store *s, const void *entry, size_t len, const uint8_t leaf_hash[32],
                    uint64_t *index, struct err *err);
int sq_ledger_count(struct store *s, uint64_t *count, struct err *err);
int sq_ledger_leaves(struct store *s, uint64_t start, uint64_t end, uint8_t (*out)[32],
                     struct err *err);
int sq_ledger_entries(struct store *s, uint64_t start, uint64_t end,
                      struct store_ledger_entry **out, size_t *n, struct err *err);
int sq_ledger_find_leaf(struct store *s, const uint8_t leaf[32], uint64_t below, uint64_t *index,
                        struct err *err);
int sq_ledger_tile_get(struct store *s, unsigned level, uint64_t index, uint8_t (*out)[32],
                       size_t *width, struct err *err);
int sq_ledger_tile_put(struct store *s, unsigned level, uint64_t index, const uint8_t (*hashes)[32],
                       size_t width, struct err *err);
int sq_ledger_checkpoint_put(struct store *s, uint64_t size, const uint8_t root[32],
                             const char *note, const char *time, struct err *err);
int sq_ledger_checkpoint_get(struct store *s, uint64_t *size, uint8_t root[32], char **note,
                             struct err *err);
int sq_ledger_journal_get(struct store *s, uint64_t *gen, struct err *err);
int sq_ledger_journal_put(struct store *s, uint64_t gen, struct err *err);
int sq_role_set(struct store *s, const char *user_id, const char *role, const char *org_id, bool on,
                struct err *err);
int sq_roles_of(struct store *s, const char *user_id, json_t **roles, struct err *err);
int sq_role_list(struct store *s, json_t **roles, struct err *err);
int sq_grant_put(struct store *s, const char *id, const char *dataset_id, const char *grantee_id,
                 const char *state, const char *created, const json_t *doc, struct err *err);
int sq_grant_get(struct store *s, const char *id, json_t **doc, struct err *err);
int sq_grant_list(struct store *s, const char *dataset_id, const char *grantee_id, json_t **docs,
                  struct err *err);
/* A user row of USER_COLUMNS (store-sqlite.c) as store_user_get gives it. */
json_t *sq_user_row(sqlite3_stmt *st);
#define SQ_USER_COLUMNS "u.id, u.name, u.fullname, u.email, u.sysadmin, u.state, u.created"
int sq_user_password_get(struct store *s, const char *name, json_t **user, char **hash,
                         struct err *err);
int sq_user_password_set(struct store *s, const char *user_id, const char *hash, struct err *err);
int sq_session_put(struct store *s, const char *id_hash, const char *user_id, const char *csrf,
                   int64_t expires, int64_t now, struct err *err);
int sq_session_get(struct store *s, const char *id_hash, int64_t now, json_t **user, char **csrf,
                   struct err *err);
int sq_session_delete(struct store *s, const char *id_hash, const char *user_id, struct err *err);
int sq_token_list(struct store *s, const char *user_id, json_t **tokens, struct err *err);
int sq_user_state_set(struct store *s, const char *user_id, const char *state, struct err *err);
/* ---- store-sqlite-audit.c: fee schedules and charges (store-audit.h) ------------------ */
extern const struct store_audit_backend sq_audit_backend;

int sq_ledger_checkpoints(struct store *s,
                          int (*fn)(void *ctx, uint64_t size, const uint8_t root[32],
                                    const char *note, struct err *err),
                          void *ctx, struct err *err);

#endif
