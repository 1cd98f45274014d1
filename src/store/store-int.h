/*
 * store-int.h - what store.c shares with the backends (and with tests/unit/test-store.c).
 *
 * A backend is a table of function pointers, as curl's vtls backends or SQLite's VFS:
 * store.c parses the URL, picks the backend, counts writes for failure injection and
 * forwards every call. Each entry has the contract of the public function of the same
 * name in store.h, with the same errors; backends never see the URL scheme.
 *
 * Adding a backend (docs/internals/store.md): write src/store/store-<engine>.c defining
 * a const struct store_backend, declare it below, and map its URL scheme to it in
 * store.c's store_open(). Callers do not change.
 */
#ifndef KAIFANG_STORE_STORE_INT_H
#define KAIFANG_STORE_STORE_INT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "store/store-audit.h"
#include "store/store-datastore.h"
#include "store/store.h"

/*
 * The datastore tables of a backend (store-datastore.h): each entry has the contract of
 * the public function of the same name. open runs after the backend's open (also a
 * read-only one) and sets up s->ds; close runs before the backend's close. store.c counts
 * the writes for failure injection before forwarding.
 */
struct store_ds_backend {
    int (*open)(struct store *s, struct err *err);
    void (*close)(struct store *s);

    int (*build_begin)(struct store *s, const char *resource_id,
                       const struct store_ds_table_def *def, struct store_ds_build **out,
                       struct err *err);
    int (*build_row)(struct store_ds_build *b, const struct dsvalue *values, struct err *err);
    int (*build_commit)(struct store_ds_build *b, const json_t *meta, uint64_t *rows,
                        struct err *err);
    void (*build_abort)(struct store_ds_build *b);
    int (*fulltext_build)(struct store *s, const char *resource_id, store_tokenize_fn tokenize,
                          const atomic_bool *cancel, struct err *err);
    int (*info)(struct store *s, const char *resource_id, struct store_ds_info *info,
                struct err *err);
    int (*meta_put)(struct store *s, const char *resource_id, const json_t *meta, struct err *err);
    int (*index_create)(struct store *s, const char *resource_id, const char *const *fields,
                        size_t nfields, struct err *err);
    int (*drop)(struct store *s, const char *resource_id, struct err *err);
    int (*list)(struct store *s, json_t **ids, struct err *err);
    int (*upsert)(struct store *s, const char *resource_id, enum store_ds_method method,
                  const char *const *fields, size_t nfields, const struct dsvalue *values,
                  size_t nrows, uint64_t *count, struct err *err);
    int (*delete)(struct store *s, const char *resource_id, const struct store_ds_filter *filters,
                  size_t nfilters, uint64_t *count, struct err *err);
    int (*search)(struct store *s, const struct store_ds_query *q, struct store_ds_cursor **out,
                  uint64_t *total, struct err *err);
    int (*sql)(struct store *s, const char *sql, const struct store_ds_sql_opts *o,
               struct store_ds_cursor **out, struct err *err);
    int (*status_put)(struct store *s, const char *resource_id, const json_t *status,
                      struct err *err);
    int (*status_get)(struct store *s, const char *resource_id, json_t **status, struct err *err);
    int (*status_list)(struct store *s, json_t **statuses, struct err *err);
    /* Privacy reports; NULL: the backend keeps none (the calls fail). */
    int (*privacy_put)(struct store *s, const char *resource_id, const json_t *report,
                       struct err *err);
    int (*privacy_get)(struct store *s, const char *resource_id, json_t **report, struct err *err);
};

/* What store.c knows of builds and cursors: a backend's struct store_ds_build starts with
 * a struct store_ds_build_head, its struct store_ds_cursor with a struct
 * store_ds_cursor_head, so that the functions taking only a build or a cursor find their
 * way back to the backend. */
struct store_ds_build_head {
    struct store *s;
};

struct store_ds_cursor_ops {
    size_t (*ncolumns)(const struct store_ds_cursor *c);
    const char *(*column)(const struct store_ds_cursor *c, size_t i);
    enum dstype (*type)(const struct store_ds_cursor *c, size_t i);
    int (*next)(struct store_ds_cursor *c, const struct dsvalue **values, struct err *err);
    bool (*truncated)(const struct store_ds_cursor *c);
    void (*free)(struct store_ds_cursor *c);
};

struct store_ds_cursor_head {
    const struct store_ds_cursor_ops *ops;
};

/* Fee schedules and charges of a backend (store-audit.h): each entry has the contract
 * of the public function of the same name; store-audit.c counts the writes. */
struct store_audit_backend {
    int (*schedule_put)(struct store *s, const char *id, const char *name, const char *org_id,
                        const char *state, const json_t *doc, struct err *err);
    int (*schedule_get)(struct store *s, const char *id_or_name, json_t **doc, struct err *err);
    int (*schedule_list)(struct store *s, const char *org_id, const char *state, json_t **docs,
                         struct err *err);
    int (*charges_put)(struct store *s, const struct store_charge *c, size_t n, struct err *err);
    int (*charge_get)(struct store *s, const char *id, json_t **charge, struct err *err);
    int (*charge_count)(struct store *s, uint64_t *count, struct err *err);
    int (*charges_walk)(struct store *s,
                        int (*fn)(void *ctx, const struct store_charge *c, const char *entry,
                                  size_t len, struct err *err),
                        void *ctx, struct err *err);
    int (*ledger_audit_walk)(struct store *s,
                             int (*fn)(void *ctx, uint64_t index, const char *entry, size_t len,
                                       struct err *err),
                             void *ctx, struct err *err);
    /* NULL: the store cannot list them (store_charge_entries_orphaned says so). */
    int (*charge_entries_orphaned)(struct store *s,
                                   int (*fn)(void *ctx, uint64_t index, const char *entry,
                                             size_t len, struct err *err),
                                   void *ctx, struct err *err);
};

struct store_backend {
    const char *name; /* "sqlite" */

    /* Opens location (the URL without its scheme) and applies migrations; sets s->be. */
    int (*open)(struct store *s, const char *location, bool create, struct err *err);
    /* Frees s->be and everything it holds. */
    void (*close)(struct store *s);

    int (*schema_version)(struct store *s, int *version, struct err *err);
    int (*begin)(struct store *s, struct err *err);
    /* On failure the backend has already rolled back and ended the transaction. */
    int (*commit)(struct store *s, struct err *err);
    /* commit, for a transaction whose only writes were ledger rows: store_version()
     * moves, store_catalog_version() does not. NULL: commit is used. */
    int (*commit_ledger)(struct store *s, struct err *err);
    void (*rollback)(struct store *s);
    uint64_t (*version)(struct store *s);
    /* NULL: the backend has one counter, and store_catalog_version() answers version. */
    uint64_t (*catalog_version)(struct store *s);

    int (*group_put)(struct store *s, const struct store_group *g, struct err *err);
    int (*group_get)(struct store *s, bool is_organization, const char *id_or_name, json_t **doc,
                     struct err *err);
    int (*group_list)(struct store *s, bool is_organization, bool all_fields, size_t offset,
                      size_t limit, json_t **list, struct err *err);

    int (*dataset_put)(struct store *s, const struct store_dataset *d, struct err *err);
    int (*dataset_purge)(struct store *s, const char *id, struct err *err);
    /* May be NULL: the backend keeps no derived texts (store_dataset.derived is then
     * ignored and store_search_result.derived left NULL). */
    int (*dataset_derived_put)(struct store *s, const char *id, const uint8_t *key,
                               const void *text, size_t len, struct err *err);
    int (*dataset_get)(struct store *s, const char *id_or_name, json_t **doc, struct err *err);
    int (*resource_dataset)(struct store *s, const char *resource_id, char *dataset_id, size_t size,
                            struct err *err);
    int (*dataset_names)(struct store *s, const struct store_visibility *vis, size_t offset,
                         size_t limit, json_t **names, struct err *err);
    int (*dataset_search)(struct store *s, const struct store_search *q,
                          struct store_search_result *res, struct err *err);
    int (*tag_list)(struct store *s, const char *prefix, json_t **tags, struct err *err);
    int (*group_dataset_count)(struct store *s, bool is_organization, const char *group_id,
                               size_t *count, struct err *err);

    int (*user_put)(struct store *s, const struct store_user *u, struct err *err);
    int (*user_get)(struct store *s, const char *id_or_name, json_t **user, struct err *err);
    int (*user_list)(struct store *s, json_t **users, struct err *err);
    int (*token_put)(struct store *s, const char *token_id, const char *user_id,
                     const char *token_hash, const char *label, const char *created,
                     struct err *err);
    int (*token_user)(struct store *s, const char *token_hash, json_t **user, struct err *err);
    int (*token_revoke)(struct store *s, const char *token_id, struct err *err);
    int (*member_set)(struct store *s, const char *group_id, const char *user_id,
                      const char *capacity, struct err *err);
    int (*member_get)(struct store *s, const char *group_id, const char *user_id, char *out,
                      size_t size, struct err *err);
    int (*member_orgs)(struct store *s, const char *user_id, json_t **orgs, struct err *err);

    /* Roles and grants (store.h). A backend that has none leaves them NULL: the store
     * then answers -ERR_INTERNAL "not supported". */
    int (*role_set)(struct store *s, const char *user_id, const char *role, const char *org_id,
                    bool on, struct err *err);
    int (*roles_of)(struct store *s, const char *user_id, json_t **roles, struct err *err);
    int (*role_list)(struct store *s, json_t **roles, struct err *err);
    int (*grant_put)(struct store *s, const char *id, const char *dataset_id,
                     const char *grantee_id, const char *state, const char *created,
                     const json_t *doc, struct err *err);
    int (*grant_get)(struct store *s, const char *id, json_t **doc, struct err *err);
    int (*grant_list)(struct store *s, const char *dataset_id, const char *grantee_id,
                      json_t **docs, struct err *err);
    /* Passwords and web sessions (store.h). NULL: the backend keeps none (the calls
     * fail: nobody can sign in to the web pages; API tokens still work). */
    int (*user_password_get)(struct store *s, const char *name, json_t **user, char **hash,
                             struct err *err);
    int (*user_password_set)(struct store *s, const char *user_id, const char *hash,
                             struct err *err);
    int (*session_put)(struct store *s, const char *id_hash, const char *user_id, const char *csrf,
                       int64_t expires, int64_t now, struct err *err);
    int (*session_get)(struct store *s, const char *id_hash, int64_t now, json_t **user,
                       char **csrf, struct err *err);
    int (*session_delete)(struct store *s, const char *id_hash, const char *user_id,
                          struct err *err);
    /* The account pages (store.h). NULL: not kept (the calls fail). */
    int (*token_list)(struct store *s, const char *user_id, json_t **tokens, struct err *err);
    int (*user_state_set)(struct store *s, const char *user_id, const char *state, struct err *err);

    int (*ledger_stage)(struct store *s, const void *entry, size_t len,
                        const uint8_t leaf_hash[STORE_LEDGER_HASH], uint64_t *index,
                        struct err *err);
    int (*ledger_count)(struct store *s, uint64_t *count, struct err *err);
    int (*ledger_leaves)(struct store *s, uint64_t start, uint64_t end,
                         uint8_t (*out)[STORE_LEDGER_HASH], struct err *err);
    int (*ledger_entries)(struct store *s, uint64_t start, uint64_t end,
                          struct store_ledger_entry **out, size_t *n, struct err *err);
    int (*ledger_find_leaf)(struct store *s, const uint8_t leaf[STORE_LEDGER_HASH], uint64_t below,
                            uint64_t *index, struct err *err);
    int (*ledger_tile_get)(struct store *s, unsigned level, uint64_t index,
                           uint8_t (*out)[STORE_LEDGER_HASH], size_t *width, struct err *err);
    int (*ledger_tile_put)(struct store *s, unsigned level, uint64_t index,
                           const uint8_t (*hashes)[STORE_LEDGER_HASH], size_t width,
                           struct err *err);
    int (*ledger_checkpoint_put)(struct store *s, uint64_t size,
                                 const uint8_t root[STORE_LEDGER_HASH], const char *note,
                                 const char *time, struct err *err);
    int (*ledger_checkpoint_get)(struct store *s, uint64_t *size, uint8_t root[STORE_LEDGER_HASH],
                                 char **note, struct err *err);
    /* store_ledger_journal_get/put; NULL: the backend keeps no journal mark (the ledger
     * then commits restricted reads' entries with store_ledger_append). */
    int (*ledger_journal_get)(struct store *s, uint64_t *gen, struct err *err);
    int (*ledger_journal_put)(struct store *s, uint64_t gen, struct err *err);

    /* store_open_readonly(): as open, but no writes, no migration, bounded memory. */
    int (*open_readonly)(struct store *s, const char *location, size_t cache_kib, struct err *err);
    int (*ledger_checkpoints)(struct store *s,
                              int (*fn)(void *ctx, uint64_t size,
                                        const uint8_t root[STORE_LEDGER_HASH], const char *note,
                                        struct err *err),
                              void *ctx, struct err *err);
    /* store_read_replica_set(); NULL: the backend has no replicas (refused). */
    int (*read_replica_set)(struct store *s, const char *location, struct err *err);
    /* store_sequencer_lead(); NULL: every caller leads (one host, as SQLite). */
    int (*sequencer_lead)(struct store *s, bool *lead, struct err *err);
    /* View totals (store_dataset_views_add/_top); NULL: the backend keeps none. */
    int (*views_add)(struct store *s, const struct store_view_count *v, size_t n, size_t *added,
                     struct err *err);
    int (*views_top)(struct store *s, size_t limit, json_t **list, struct err *err);
    /* Datastore tables; NULL: the backend has none (every store_ds_* call fails). */
    const struct store_ds_backend *ds;
    /* Fee schedules and charges; NULL: the backend has none (every call fails). */
    const struct store_audit_backend *audit;
};

struct store {
    const struct store_backend *backend;
    void *be;         /* the backend's state */
    uint64_t fail_at; /* KAIFANG_FAIL_STORE_AT at open; 0: no failure injection */
    uint64_t id;      /* store_id(): from a process-wide counter, never reused */
    void *ds;         /* the datastore backend's state (store_ds_backend.open) */
    _Atomic(store_tokenize_fn) ds_tokenize; /* store_ds_set_tokenizer() */
    /* store_ledger_append()'s queue: callers waiting for their entry to commit, oldest
     * first; the first is the one committing (store.c). Under group_lock. */
    pthread_mutex_t group_lock;
    pthread_cond_t group_done;
    struct store_group_item *group_head, *group_tail;
};

extern const struct store_backend store_sqlite_backend;
/* store-pg.c: its location is the whole postgresql:// URI, which libpq reads. */
extern const struct store_backend store_pg_backend;

/* Tests only: restarts the per-process count of write calls that KAIFANG_FAIL_STORE_AT
 * refers to, so that a test can inject a failure at a known write. Thread-safe. */
void store_fail_count_reset(void);

/* Counts one write call for KAIFANG_FAIL_STORE_AT (store.h) and fails it with
 * -ERR_INTERNAL naming what when it is the one named; for the store's other front files
 * (store-audit.c). */
int store_fail_point(struct store *s, const char *what, struct err *err);

#endif
