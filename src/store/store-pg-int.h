/*
 * store-pg-int.h - what the files of the PostgreSQL backend share: store-pg.c (schema,
 * migrations, connections, transactions, records), store-pg-search.c (generated SQL:
 * search, dataset names, tags), store-pg-ledger.c (the ledger's rows) and
 * store-pg-datastore*.c (datastore tables, store-pg-ds-int.h). Nothing outside src/store/
 * includes it. See docs/internals/store.md, "The PostgreSQL store".
 *
 * Functions declared here have the pg_ prefix (not libpq's PQ). Threads: each thread
 * talks to the server over its own connection (pg_conn finds it), so the helpers need
 * no lock.
 */
#ifndef KAIFANG_STORE_STORE_PG_INT_H
#define KAIFANG_STORE_STORE_PG_INT_H

#include <jansson.h>
#include <libpq-fe.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/err.h"
#include "store/store-int.h"

/* The PostgreSQL schema's own version (its migrations are not SQLite's). */
#define PG_SCHEMA_VERSION 6

/* The role datastore_search_sql runs as (store-pg-datastore-sql.c). */
#define PG_DS_READER "kaifang_datastore_read"

/*
 * Parameters of one statement, all sent as text except those added with
 * pg_params_bytes (binary bytea). Values are copied; the arrays grow as needed.
 */
struct pg_params {
    size_t n, alloc;
    char **vals;
    int *lens;
    int *fmts;
};
#define PG_PARAMS_INIT                                                                             \
    {                                                                                              \
        0, 0, NULL, NULL, NULL                                                                     \
    }

/* Appends a text parameter (NULL: SQL NULL); returns its number ($1 is 1). */
int pg_params_text(struct pg_params *p, const char *s);
/* Appends a bytea parameter of len bytes; returns its number. */
int pg_params_bytes(struct pg_params *p, const void *data, size_t len);
/* Appends an integer as a text parameter; returns its number. */
int pg_params_int(struct pg_params *p, int64_t v);
/* Frees the copies; p may be reused after. */
void pg_params_release(struct pg_params *p);

/*
 * Runs sql with p (NULL: none) on the calling thread's connection and returns its result
 * in *res (PQclear it; NULL when res is NULL). Text results. Returns 0; PG_UNIQUE or
 * PG_FOREIGN (positive, err untouched, no result) for a unique or foreign-key violation,
 * which callers word themselves; or a negative error: -ERR_UNAVAILABLE when the server
 * is gone or a lock wait timed out, else -ERR_INTERNAL naming what (the server's text
 * goes to the log).
 */
#define PG_UNIQUE  1
#define PG_FOREIGN 2
int pg_query(struct store *s, const char *sql, const struct pg_params *p, PGresult **res,
             const char *what, struct err *err);

/* As pg_query, on connection c (one of pg_conn_take's). */
int pg_exec(PGconn *c, const char *sql, const struct pg_params *p, PGresult **res, const char *what,
            struct err *err);

/*
 * A connection of the store's own, apart from the calling thread's (a datastore build's
 * transaction, a cursor's snapshot), taken from a small pool of idle ones or opened.
 * Give it back with pg_conn_give, which rolls back what it left open and keeps it idle
 * (or closes it when the pool is full or the connection broken). Thread-safe.
 */
int pg_conn_take(struct store *s, PGconn **out, struct err *err);
void pg_conn_give(struct store *s, PGconn *c);

/* As pg_query, with a constraint violation reported as -ERR_INTERNAL too. */
int pg_run(struct store *s, const char *sql, const struct pg_params *p, PGresult **res,
           const char *what, struct err *err);

/* Fails with BUG_ON unless the calling thread holds the write transaction. */
void pg_assert_writing(struct store *s);

/* Is the calling thread inside its write transaction? */
bool pg_writing(struct store *s);

/* Rolls back the calling thread's open transaction, if any (its connection is then
 * idle). */
void pg_rollback_open(struct store *s);

/* The connection of the calling thread's write transaction, NULL outside one (a datastore
 * build begun inside it joins it: `kaifang migrate`'s one transaction). */
PGconn *pg_writing_conn(struct store *s);

/* A read snapshot around several statements: REPEATABLE READ on this thread's
 * connection, or nothing when the thread is in its write transaction already. */
int pg_read_begin(struct store *s, bool *began, struct err *err);
void pg_read_end(struct store *s, bool began);

/* The value of row r, column c as a new JSON string (null for SQL NULL). */
json_t *pg_json_string(const PGresult *res, int r, int c);

/* Decodes a bytea in text form ("\x0a1b…") into out, which has room for size bytes;
 * *len gets the length. -1 when malformed or too long. */
int pg_bytea_decode(const char *text, uint8_t *out, size_t size, size_t *len);

/* Parses an integer column value; 0 for NULL or junk (callers' columns are NOT NULL). */
int64_t pg_int(const PGresult *res, int r, int c);

/* The document (JSON text) in column 0 of row 0, parsed into *doc (new reference): 0;
 * 1 when there is no row (err untouched), callers word the "not found"; -ERR_INTERNAL
 * naming what when the text is not JSON. */
int pg_fetch_doc(PGresult *r, json_t **doc, const char *what, struct err *err);

/* Column 0 of every row as a new JSON array in *list: parsed documents (docs) or
 * strings. -ERR_INTERNAL naming what when a document is not JSON. */
int pg_fetch_list(PGresult *r, bool docs, json_t **list, const char *what, struct err *err);

/* A boolean parameter's text ("t", "f"). */
const char *pg_bool(bool b);

/* The columns of a user row (users u) that pg_user_row reads, in its order, and the row
 * i of a result starting with them as store_user_get's object (new reference). */
#define PG_USER_COLUMNS "u.id, u.name, u.fullname, u.email, u.sysadmin, u.state, u.created"
json_t *pg_user_row(const PGresult *r, int i);

/* ---- Entries of store_pg_backend in the other files ------------------------------------
 * Contracts: the store_* functions of the same name in store.h. */
int pg_dataset_names(struct store *s, const struct store_visibility *vis, size_t offset,
                     size_t limit, json_t **names, struct err *err);
int pg_dataset_search(struct store *s, const struct store_search *q,
                      struct store_search_result *res, struct err *err);
int pg_tag_list(struct store *s, const char *prefix, json_t **tags, struct err *err);

int pg_ledger_stage(struct store *s, const void *entry, size_t len, const uint8_t leaf_hash[32],
                    uint64_t *index, struct err *err);
int pg_ledger_count(struct store *s, uint64_t *count, struct err *err);
int pg_ledger_leaves(struct store *s, uint64_t start, uint64_t end, uint8_t (*out)[32],
                     struct err *err);
int pg_ledger_entries(struct store *s, uint64_t start, uint64_t end,
                      struct store_ledger_entry **out, size_t *n, struct err *err);
int pg_ledger_find_leaf(struct store *s, const uint8_t leaf[32], uint64_t below, uint64_t *index,
                        struct err *err);
int pg_ledger_tile_get(struct store *s, unsigned level, uint64_t index, uint8_t (*out)[32],
                       size_t *width, struct err *err);
int pg_ledger_tile_put(struct store *s, unsigned level, uint64_t index, const uint8_t (*hashes)[32],
                       size_t width, struct err *err);
int pg_ledger_checkpoint_put(struct store *s, uint64_t size, const uint8_t root[32],
                             const char *note, const char *time, struct err *err);
int pg_ledger_checkpoint_get(struct store *s, uint64_t *size, uint8_t root[32], char **note,
                             struct err *err);
int pg_ledger_checkpoints(struct store *s,
                          int (*fn)(void *ctx, uint64_t size, const uint8_t root[32],
                                    const char *note, struct err *err),
                          void *ctx, struct err *err);

/* Roles, grants, passwords and web sessions (store-pg-access.c). */
int pg_role_set(struct store *s, const char *user_id, const char *role, const char *org_id, bool on,
                struct err *err);
int pg_roles_of(struct store *s, const char *user_id, json_t **roles, struct err *err);
int pg_role_list(struct store *s, json_t **roles, struct err *err);
int pg_grant_put(struct store *s, const char *id, const char *dataset_id, const char *grantee_id,
                 const char *state, const char *created, const json_t *doc, struct err *err);
int pg_grant_get(struct store *s, const char *id, json_t **doc, struct err *err);
int pg_grant_list(struct store *s, const char *dataset_id, const char *grantee_id, json_t **docs,
                  struct err *err);
int pg_user_password_get(struct store *s, const char *name, json_t **user, char **hash,
                         struct err *err);
int pg_user_password_set(struct store *s, const char *user_id, const char *hash, struct err *err);
int pg_session_put(struct store *s, const char *id_hash, const char *user_id, const char *csrf,
                   int64_t expires, int64_t now, struct err *err);
int pg_session_get(struct store *s, const char *id_hash, int64_t now, json_t **user, char **csrf,
                   struct err *err);
int pg_session_delete(struct store *s, const char *id_hash, const char *user_id, struct err *err);
/* store_token_list and store_user_state_set (store.h) on PostgreSQL: as the SQLite store
 * (tokens ordered by created, then id, bytewise; -ERR_NOT_FOUND for an unknown user). */
int pg_token_list(struct store *s, const char *user_id, json_t **tokens, struct err *err);
int pg_user_state_set(struct store *s, const char *user_id, const char *state, struct err *err);

/* View totals (store-pg-views.c). */
int pg_views_add(struct store *s, const struct store_view_count *v, size_t n, size_t *added,
                 struct err *err);
int pg_views_top(struct store *s, size_t limit, json_t **list, struct err *err);

/* Pins (pin true) the calling thread's statements to the primary, also outside a write
 * transaction, when a read replica is set (store_read_replica_set), or unpins them;
 * returns what it was, for the caller to restore. */
bool pg_primary_pin(struct store *s, bool pin);

/* Is the store open read-only (store_open_readonly)? */
bool pg_readonly(struct store *s);

/* Fee schedules, charges and the audit's walks (store-pg-audit.c). */
extern const struct store_audit_backend pg_audit_backend;

/* The ledger entries the audit reads (store_ledger_audit_walk), by the type their JSON
 * names: the condition of the partial index of migration 5, which the audit's query
 * repeats exactly so that the planner uses that index. */
#define PG_LEDGER_AUDIT_WHERE                                                                      \
    "kaifang_entry_type(entry) IN ('grant_request', 'grant_approve', 'grant_refuse',"              \
    " 'grant_revoke', 'restricted_read', 'restricted_read_refused', 'privacy_override',"           \
    " 'resource_create', 'resource_update', 'dataset_update')"

/* The charge_record entries (store_charge_entries_orphaned): the condition of the
 * partial index of migration 6, repeated exactly by the query. */
#define PG_LEDGER_CHARGE_WHERE "kaifang_entry_type(entry) = 'charge_record'"

/* The datastore entries (store-pg-datastore.c). */
extern const struct store_ds_backend pg_ds_backend;

#endif
