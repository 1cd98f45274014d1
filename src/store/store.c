/*
 * store.c - the front of the store: URL parsing, backend dispatch, failure injection.
 *
 * Every public function forwards to the backend chosen at open (store-int.h). The
 * functions that write also pass through fail_point(), which implements
 * KAIFANG_FAIL_STORE_AT: the Nth write call of the process (counted from 1 over all
 * stores, with an atomic counter) fails with -ERR_INTERNAL before reaching the engine.
 * The datastore writes (store-datastore.h) count too; an injected failure of
 * store_ds_build_commit aborts the build, as a real one does.
 */
#include <stdatomic.h>

#include "core/limits.h"
#include "core/log.h"
#include "core/parse.h"
#include "store/store-int.h"
#include "core/util.h"

static atomic_uint_fast64_t write_calls;
/* store_id(): the next one to give. */
static atomic_uint_fast64_t next_id = 1;

/* What the calling thread's write transaction wrote so far (store_catalog_version()):
 * tx_store is the store whose transaction this thread holds (NULL: none), tx_writes the
 * kinds of write calls made in it. */
#define TX_LEDGER  1u /* ledger rows */
#define TX_OTHER   2u /* anything else */
#define TX_SESSION 4u /* web sessions: who is signed in is no catalog content */
static _Thread_local const struct store *tx_store;
static _Thread_local unsigned tx_writes;

void store_fail_count_reset(void)
{
    atomic_store(&write_calls, 0);
}

/* Counts one write call of kind (TX_LEDGER or TX_OTHER); fails it when it is the one
 * KAIFANG_FAIL_STORE_AT names. */
static int count_write(struct store *s, unsigned kind, const char *what, struct err *err)
{
    uint64_t n = atomic_fetch_add(&write_calls, 1) + 1;

    if (tx_store == s)
        tx_writes |= kind;
    if (s->fail_at && n == s->fail_at) {
        log_warn("store: injected failure at write %" PRIu64 " (%s)", n, what);
        return err_set(err, ERR_INTERNAL, NULL, "injected store failure at write %" PRIu64 " (%s)",
                       n, what);
    }
    return 0;
}

/* A write call of anything but the ledger's rows. */
static int fail_point(struct store *s, const char *what, struct err *err)
{
    return count_write(s, TX_OTHER, what, err);
}

int store_fail_point(struct store *s, const char *what, struct err *err)
{
    return fail_point(s, what, err);
}

/* Sets up the backend's datastore tables after its open (nothing when it has none). */
static int ds_open(struct store *s, struct err *err)
{
    return s->backend->ds ? s->backend->ds->open(s, err) : 0;
}

/*
 * Splits url into a backend and its location. "sqlite:PATH" and bare paths go to
 * SQLite; "postgresql://" and "postgres://" to PostgreSQL (libpq connection URIs); another
 * "scheme://" is refused by name.
 */
static int pick_backend(const char *url, const struct store_backend **be, const char **location,
                        struct err *err)
{
    size_t n = 0;

    if (!url || !*url)
        return err_set(err, ERR_VALIDATION, "store_url", "store url is empty");
    if (starts_with(url, "sqlite:")) {
        *be = &store_sqlite_backend;
        *location = url + strlen("sqlite:");
        if (!**location)
            return err_set(err, ERR_VALIDATION, "store_url", "store url \"%s\" names no file", url);
        return 0;
    }
    /* libpq takes the whole URI (store-pg.c): the location keeps its scheme. */
    if (starts_with(url, "postgresql://") || starts_with(url, "postgres://")) {
        *be = &store_pg_backend;
        *location = url;
        return 0;
    }
    /* A URL scheme: letter, then letters, digits, '+', '-', '.', then "://". */
    while (url[n] && (((url[n] | 32) >= 'a' && (url[n] | 32) <= 'z') ||
                      (n > 0 && ((url[n] >= '0' && url[n] <= '9') || url[n] == '+' ||
                                 url[n] == '-' || url[n] == '.'))))
        n++;
    if (n > 0 && starts_with(url + n, "://"))
        return err_set(err, ERR_VALIDATION, "store_url",
                       "store url scheme \"%.*s\" is not supported", (int)n, url);
    *be = &store_sqlite_backend;
    *location = url;
    return 0;
}

/*
 * The part of opening that every mode shares: the backend named by url, the failure
 * injection setting, a fresh struct store. On success *out is the new store (not yet
 * opened by its backend) and *location the backend's part of the url.
 */
static int store_new(const char *url, struct store **out, const char **location, struct err *err)
{
    const struct store_backend *be = NULL;
    const char *fail = getenv("KAIFANG_FAIL_STORE_AT");
    uint64_t fail_at = 0;
    int rc;

    *out = NULL;
    rc = pick_backend(url, &be, location, err);
    if (rc)
        return rc;
    if (fail && *fail && parse_u64(fail, UINT64_MAX, &fail_at))
        return err_set(err, ERR_VALIDATION, NULL,
                       "KAIFANG_FAIL_STORE_AT \"%s\" is not a non-negative integer", fail);
    *out = xcalloc(1, sizeof(**out));
    (*out)->backend = be;
    (*out)->fail_at = fail_at;
    (*out)->id = atomic_fetch_add(&next_id, 1);
    pthread_mutex_init(&(*out)->group_lock, NULL);
    pthread_cond_init(&(*out)->group_done, NULL);
    return 0;
}

/* Frees what store_new() made, for a store its backend did not open. */
static void store_shell_free(struct store *s)
{
    if (!s)
        return;
    pthread_cond_destroy(&s->group_done);
    pthread_mutex_destroy(&s->group_lock);
    free(s);
}

int store_open(struct store **out, const char *url, bool create, struct err *err)
{
    const char *location = NULL;
    struct store *s = NULL;
    int rc;

    *out = NULL;
    rc = store_new(url, &s, &location, err);
    if (!rc)
        rc = s->backend->open(s, location, create, err);
    if (rc) {
        store_shell_free(s);
        return rc;
    }
    rc = ds_open(s, err);
    if (rc) {
        store_free(s);
        return rc;
    }
    *out = s;
    return 0;
}

int store_open_readonly(struct store **out, const char *url, size_t cache_kib, struct err *err)
{
    const char *location = NULL;
    struct store *s = NULL;
    int rc;

    *out = NULL;
    rc = store_new(url, &s, &location, err);
    if (!rc)
        rc = s->backend->open_readonly
                     ? s->backend->open_readonly(s, location, cache_kib, err)
                     : err_set(err, ERR_VALIDATION, NULL, "the %s store cannot be opened read-only",
                               s->backend->name);
    if (rc) {
        store_shell_free(s);
        return rc;
    }
    rc = ds_open(s, err);
    if (rc) {
        store_free(s);
        return rc;
    }
    *out = s;
    return 0;
}

void store_free(struct store *s)
{
    if (!s)
        return;
    if (s->ds && s->backend->ds)
        s->backend->ds->close(s);
    if (s->be)
        s->backend->close(s);
    BUG_ON(s->group_head); /* store_free while store_ledger_append runs */
    store_shell_free(s);
}

int store_schema_version(struct store *s, int *version, struct err *err)
{
    return s->backend->schema_version(s, version, err);
}

int store_begin(struct store *s, struct err *err)
{
    int rc = s->backend->begin(s, err);

    if (!rc) {
        tx_store = s;
        tx_writes = 0;
    }
    return rc;
}

int store_commit(struct store *s, struct err *err)
{
    /* Counted before it is decided: a commit is neither kind of row. */
    /* Ledger rows and web sessions only: the catalog is unchanged, so its version is too
     * (signing in and out must not empty the caches of anonymous pages). */
    bool ledger_only = tx_store == s && tx_writes && !(tx_writes & ~(TX_LEDGER | TX_SESSION));
    int rc = count_write(s, 0, "store_commit", err);

    if (tx_store == s)
        tx_store = NULL;
    if (rc) {
        s->backend->rollback(s);
        return rc;
    }
    if (ledger_only && s->backend->commit_ledger)
        return s->backend->commit_ledger(s, err);
    return s->backend->commit(s, err);
}

void store_rollback(struct store *s)
{
    if (tx_store == s)
        tx_store = NULL;
    s->backend->rollback(s);
}

uint64_t store_version(struct store *s)
{
    return s->backend->version(s);
}

bool store_in_transaction(const struct store *s)
{
    return tx_store == s;
}

uint64_t store_catalog_version(struct store *s)
{
    return s->backend->catalog_version ? s->backend->catalog_version(s) : s->backend->version(s);
}

uint64_t store_id(const struct store *s)
{
    return s->id;
}

int store_group_put(struct store *s, const struct store_group *g, struct err *err)
{
    int rc = fail_point(s, "store_group_put", err);

    BUG_ON(!g->id || !g->name || !g->state || !g->doc);
    return rc ? rc : s->backend->group_put(s, g, err);
}

int store_group_get(struct store *s, bool is_organization, const char *id_or_name, json_t **doc,
                    struct err *err)
{
    *doc = NULL;
    return s->backend->group_get(s, is_organization, id_or_name, doc, err);
}

int store_group_list(struct store *s, bool is_organization, bool all_fields, size_t offset,
                     size_t limit, json_t **list, struct err *err)
{
    *list = NULL;
    return s->backend->group_list(s, is_organization, all_fields, offset, limit, list, err);
}

int store_dataset_put(struct store *s, const struct store_dataset *d, struct err *err)
{
    int rc = fail_point(s, "store_dataset_put", err);

    BUG_ON(!d->id || !d->name || !d->state || !d->doc);
    BUG_ON(d->nfacets && !d->facets);
    BUG_ON(d->nresource_ids && !d->resource_ids);
    return rc ? rc : s->backend->dataset_put(s, d, err);
}

int store_dataset_derived_put(struct store *s, const char *id, const uint8_t *key, const void *text,
                              size_t len, struct err *err)
{
    int rc = fail_point(s, "store_dataset_derived_put", err);

    BUG_ON(!id || !key || (!text && len));
    if (rc || !s->backend->dataset_derived_put)
        return rc;
    return s->backend->dataset_derived_put(s, id, key, text, len, err);
}

int store_dataset_purge(struct store *s, const char *id, struct err *err)
{
    int rc = fail_point(s, "store_dataset_purge", err);

    return rc ? rc : s->backend->dataset_purge(s, id, err);
}

int store_dataset_get(struct store *s, const char *id_or_name, json_t **doc, struct err *err)
{
    *doc = NULL;
    return s->backend->dataset_get(s, id_or_name, doc, err);
}

int store_resource_dataset(struct store *s, const char *resource_id, char *dataset_id, size_t size,
                           struct err *err)
{
    return s->backend->resource_dataset(s, resource_id, dataset_id, size, err);
}

int store_dataset_names(struct store *s, const struct store_visibility *vis, size_t offset,
                        size_t limit, json_t **names, struct err *err)
{
    *names = NULL;
    return s->backend->dataset_names(s, vis, offset, limit, names, err);
}

int store_dataset_search(struct store *s, const struct store_search *q,
                         struct store_search_result *res, struct err *err)
{
    size_t i, j, nterms = 0, ntokens = 0;

    memset(res, 0, sizeof(*res));
    for (i = 0; i < q->nclauses; i++) {
        for (j = 0; j < q->clauses[i].nterms; j++) {
            const struct store_term *t = &q->clauses[i].terms[j];

            if (t->is_filter)
                continue;
            nterms++;
            ntokens += t->ntokens;
        }
    }
    if (nterms > LIMIT_SEARCH_TERMS)
        return err_set(err, ERR_SEARCH, "q", "too many search terms (at most %u)",
                       LIMIT_SEARCH_TERMS);
    if (ntokens > LIMIT_SEARCH_QUERY)
        return err_set(err, ERR_SEARCH, "q", "too many search tokens (at most %u)",
                       LIMIT_SEARCH_QUERY);
    if (q->nfacet_fields > LIMIT_FACET_FIELDS)
        return err_set(err, ERR_SEARCH, "facet.field", "too many facet fields (at most %u)",
                       LIMIT_FACET_FIELDS);
    return s->backend->dataset_search(s, q, res, err);
}

void store_search_result_release(struct store_search_result *res)
{
    if (!res)
        return;
    json_decref(res->docs);
    json_decref(res->derived);
    json_decref(res->facets);
    res->docs = NULL;
    res->derived = NULL;
    res->facets = NULL;
    res->count = 0;
}

int store_tag_list(struct store *s, const char *prefix, json_t **tags, struct err *err)
{
    *tags = NULL;
    return s->backend->tag_list(s, prefix, tags, err);
}

int store_group_dataset_count(struct store *s, bool is_organization, const char *group_id,
                              size_t *count, struct err *err)
{
    *count = 0;
    return s->backend->group_dataset_count(s, is_organization, group_id, count, err);
}

int store_user_put(struct store *s, const struct store_user *u, struct err *err)
{
    int rc = fail_point(s, "store_user_put", err);

    BUG_ON(!u->id || !u->name || !u->state);
    return rc ? rc : s->backend->user_put(s, u, err);
}

int store_user_get(struct store *s, const char *id_or_name, json_t **user, struct err *err)
{
    *user = NULL;
    return s->backend->user_get(s, id_or_name, user, err);
}

int store_user_list(struct store *s, json_t **users, struct err *err)
{
    *users = NULL;
    return s->backend->user_list(s, users, err);
}

int store_token_put(struct store *s, const char *token_id, const char *user_id,
                    const char *token_hash, const char *label, const char *created, struct err *err)
{
    int rc = fail_point(s, "store_token_put", err);

    BUG_ON(!token_id || !user_id || !token_hash);
    return rc ? rc : s->backend->token_put(s, token_id, user_id, token_hash, label, created, err);
}

int store_token_user(struct store *s, const char *token_hash, json_t **user, struct err *err)
{
    *user = NULL;
    return s->backend->token_user(s, token_hash, user, err);
}

int store_token_revoke(struct store *s, const char *token_id, struct err *err)
{
    int rc = fail_point(s, "store_token_revoke", err);

    return rc ? rc : s->backend->token_revoke(s, token_id, err);
}

int store_member_set(struct store *s, const char *group_id, const char *user_id,
                     const char *capacity, struct err *err)
{
    int rc = fail_point(s, "store_member_set", err);

    return rc ? rc : s->backend->member_set(s, group_id, user_id, capacity, err);
}

int store_member_get(struct store *s, const char *group_id, const char *user_id, char *out,
                     size_t size, struct err *err)
{
    return s->backend->member_get(s, group_id, user_id, out, size, err);
}

int store_member_orgs(struct store *s, const char *user_id, json_t **orgs, struct err *err)
{
    *orgs = NULL;
    return s->backend->member_orgs(s, user_id, orgs, err);
}

/* ---- Roles and grants ------------------------------------------------------------------ */
static int unsupported(struct store *s, const char *what, struct err *err)
{
    return err_set(err, ERR_INTERNAL, NULL, "%s is not supported by the %s store", what,
                   s->backend->name);
}

int store_user_password_get(struct store *s, const char *name, json_t **user, char **hash,
                            struct err *err)
{
    *user = NULL;
    *hash = NULL;
    if (!s->backend->user_password_get)
        return unsupported(s, "passwords", err);
    return s->backend->user_password_get(s, name, user, hash, err);
}

int store_user_password_set(struct store *s, const char *user_id, const char *hash, struct err *err)
{
    int rc = fail_point(s, "store_user_password_set", err);

    BUG_ON(!user_id);
    if (rc)
        return rc;
    if (!s->backend->user_password_set)
        return unsupported(s, "passwords", err);
    return s->backend->user_password_set(s, user_id, hash, err);
}

int store_session_put(struct store *s, const char *id_hash, const char *user_id, const char *csrf,
                      int64_t expires, int64_t now, struct err *err)
{
    int rc = count_write(s, TX_SESSION, "store_session_put", err);

    BUG_ON(!id_hash || !user_id || !csrf);
    if (rc)
        return rc;
    if (!s->backend->session_put)
        return unsupported(s, "web sessions", err);
    return s->backend->session_put(s, id_hash, user_id, csrf, expires, now, err);
}

int store_session_get(struct store *s, const char *id_hash, int64_t now, json_t **user, char **csrf,
                      struct err *err)
{
    *user = NULL;
    *csrf = NULL;
    if (!s->backend->session_get)
        return unsupported(s, "web sessions", err);
    return s->backend->session_get(s, id_hash, now, user, csrf, err);
}

int store_token_list(struct store *s, const char *user_id, json_t **tokens, struct err *err)
{
    *tokens = NULL;
    if (!s->backend->token_list)
        return unsupported(s, "listing API tokens", err);
    return s->backend->token_list(s, user_id, tokens, err);
}

int store_user_state_set(struct store *s, const char *user_id, const char *state, struct err *err)
{
    int rc = fail_point(s, "store_user_state_set", err);

    if (rc)
        return rc;
    if (!s->backend->user_state_set)
        return unsupported(s, "disabling users", err);
    return s->backend->user_state_set(s, user_id, state, err);
}

int store_session_delete(struct store *s, const char *id_hash, const char *user_id, struct err *err)
{
    int rc = count_write(s, TX_SESSION, "store_session_delete", err);

    if (rc)
        return rc;
    if (!s->backend->session_delete)
        return unsupported(s, "web sessions", err);
    BUG_ON(!id_hash && !user_id);
    return s->backend->session_delete(s, id_hash, user_id, err);
}

int store_dataset_views_add(struct store *s, const struct store_view_count *v, size_t n,
                            size_t *added, struct err *err)
{
    int rc = fail_point(s, "store_dataset_views_add", err);

    *added = 0;
    if (rc)
        return rc;
    if (!s->backend->views_add)
        return unsupported(s, "view totals", err);
    return n ? s->backend->views_add(s, v, n, added, err) : 0;
}

bool store_dataset_views_supported(const struct store *s)
{
    return s->backend->views_add && s->backend->views_top;
}

int store_dataset_views_top(struct store *s, size_t limit, json_t **list, struct err *err)
{
    *list = NULL;
    BUG_ON(limit == 0 || limit > 1000);
    if (!s->backend->views_top)
        return unsupported(s, "view totals", err);
    return s->backend->views_top(s, limit, list, err);
}

int store_role_set(struct store *s, const char *user_id, const char *role, const char *org_id,
                   bool on, struct err *err)
{
    int rc = fail_point(s, "store_role_set", err);

    BUG_ON(!user_id || !role);
    if (rc)
        return rc;
    if (!s->backend->role_set)
        return unsupported(s, "roles", err);
    return s->backend->role_set(s, user_id, role, org_id ? org_id : "", on, err);
}

int store_roles_of(struct store *s, const char *user_id, json_t **roles, struct err *err)
{
    *roles = NULL;
    if (!s->backend->roles_of) {
        /* No roles in such a store: nobody holds one. */
        *roles = json_array();
        return 0;
    }
    return s->backend->roles_of(s, user_id, roles, err);
}

int store_role_list(struct store *s, json_t **roles, struct err *err)
{
    *roles = NULL;
    if (!s->backend->role_list)
        return unsupported(s, "roles", err);
    return s->backend->role_list(s, roles, err);
}

int store_grant_put(struct store *s, const char *id, const char *dataset_id, const char *grantee_id,
                    const char *state, const char *created, const json_t *doc, struct err *err)
{
    int rc = fail_point(s, "store_grant_put", err);

    BUG_ON(!id || !dataset_id || !grantee_id || !state || !created || !doc);
    if (rc)
        return rc;
    if (!s->backend->grant_put)
        return unsupported(s, "grants", err);
    return s->backend->grant_put(s, id, dataset_id, grantee_id, state, created, doc, err);
}

int store_grant_get(struct store *s, const char *id, json_t **doc, struct err *err)
{
    *doc = NULL;
    if (!s->backend->grant_get)
        return unsupported(s, "grants", err);
    return s->backend->grant_get(s, id, doc, err);
}

int store_grant_list(struct store *s, const char *dataset_id, const char *grantee_id, json_t **docs,
                     struct err *err)
{
    *docs = NULL;
    if (!s->backend->grant_list) {
        *docs = json_array();
        return 0;
    }
    return s->backend->grant_list(s, dataset_id, grantee_id, docs, err);
}

int store_read_replica_set(struct store *s, const char *url, struct err *err)
{
    if (!s->backend->read_replica_set)
        return err_set(err, ERR_VALIDATION, "read_store",
                       "a read replica needs a postgresql store (this one is %s)",
                       s->backend->name);
    if (!url || (strncmp(url, "postgresql://", 13) && strncmp(url, "postgres://", 11)))
        return err_set(err, ERR_VALIDATION, "read_store",
                       "a read replica is named by a postgresql:// URL");
    return s->backend->read_replica_set(s, url, err);
}

int store_sequencer_lead(struct store *s, bool *lead, struct err *err)
{
    *lead = false;
    if (!s->backend->sequencer_lead) {
        *lead = true;
        return 0;
    }
    return s->backend->sequencer_lead(s, lead, err);
}

/* ---- The public ledger ---------------------------------------------------------------- */
int store_ledger_stage(struct store *s, const void *entry, size_t len,
                       const uint8_t leaf_hash[STORE_LEDGER_HASH], uint64_t *index, struct err *err)
{
    int rc = count_write(s, TX_LEDGER, "store_ledger_stage", err);

    BUG_ON(!entry && len);
    return rc ? rc : s->backend->ledger_stage(s, entry, len, leaf_hash, index, err);
}

/* One caller of store_ledger_append() waiting in the store's queue. */
struct store_group_item {
    const void *entry;
    size_t len;
    const uint8_t *leaf_hash;
    uint64_t index;
    int rc;
    struct err err;
    bool done; /* rc, err and index are set; the item has left the queue */
    struct store_group_item *next;
};

/*
 * Commits the entries of the first n items of the queue, from first (the caller's own),
 * in one transaction. Runs without group_lock: the items stay in the queue, and only
 * the committing caller (the queue's head) reads them, so none of them returns or is
 * moved meanwhile. On any failure the whole transaction is rolled back and every item
 * gets the error.
 */
static int group_commit(struct store *s, struct store_group_item *first, size_t n, struct err *err)
{
    struct store_group_item *it = first;
    size_t i;
    int rc = store_begin(s, err);

    for (i = 0; !rc && i < n; i++) {
        rc = store_ledger_stage(s, it->entry, it->len, it->leaf_hash, &it->index, err);
        /* The last item's next may be set by a caller queueing now: not read here. */
        if (i + 1 < n)
            it = it->next;
    }
    if (!rc)
        rc = store_commit(s, err);
    else
        store_rollback(s);
    return rc;
}

int store_ledger_append(struct store *s, const void *entry, size_t len,
                        const uint8_t leaf_hash[STORE_LEDGER_HASH], uint64_t *index,
                        struct err *err)
{
    struct store_group_item me = {.entry = entry, .len = len, .leaf_hash = leaf_hash};
    struct store_group_item *it, *next;
    struct err e = ERR_INIT;
    size_t n = 0;
    int rc;

    BUG_ON(tx_store); /* store_ledger_append inside a transaction */
    BUG_ON(!entry && len);
    *index = 0;
    pthread_mutex_lock(&s->group_lock);
    if (s->group_tail)
        s->group_tail->next = &me;
    else
        s->group_head = &me;
    s->group_tail = &me;
    /* Wait until a committer took this entry and finished, or until it is first in the
     * queue: then this caller commits it with those queued behind it. */
    while (!me.done && s->group_head != &me)
        pthread_cond_wait(&s->group_done, &s->group_lock);
    if (me.done)
        goto out;
    for (it = &me; it && n < STORE_LEDGER_GROUP_MAX; it = it->next)
        n++;
    pthread_mutex_unlock(&s->group_lock);
    rc = group_commit(s, &me, n, &e);
    pthread_mutex_lock(&s->group_lock);
    /* The first n items leave the queue with the result; the next one, if any, commits
     * the entries that queued meanwhile. */
    for (it = &me; n; n--, it = next) {
        next = it->next;
        it->rc = rc; /* its index was set by group_commit() */
        if (rc)
            it->err = e;
        it->next = NULL;
        it->done = true;
    }
    s->group_head = it;
    if (!it)
        s->group_tail = NULL;
    pthread_cond_broadcast(&s->group_done);
out:
    pthread_mutex_unlock(&s->group_lock);
    if (me.rc) {
        *err = me.err;
        return me.rc;
    }
    *index = me.index;
    return 0;
}

int store_ledger_count(struct store *s, uint64_t *count, struct err *err)
{
    *count = 0;
    return s->backend->ledger_count(s, count, err);
}

int store_ledger_leaves(struct store *s, uint64_t start, uint64_t end,
                        uint8_t (*out)[STORE_LEDGER_HASH], struct err *err)
{
    BUG_ON(start > end);
    return start == end ? 0 : s->backend->ledger_leaves(s, start, end, out, err);
}

int store_ledger_entries(struct store *s, uint64_t start, uint64_t end,
                         struct store_ledger_entry **out, size_t *n, struct err *err)
{
    *out = NULL;
    *n = 0;
    BUG_ON(start > end || end - start > STORE_LEDGER_TILE_WIDTH);
    return start == end ? 0 : s->backend->ledger_entries(s, start, end, out, n, err);
}

void store_ledger_entries_free(struct store_ledger_entry *e, size_t n)
{
    if (!e)
        return;
    for (size_t i = 0; i < n; i++)
        free(e[i].entry);
    free(e);
}

int store_ledger_find_leaf(struct store *s, const uint8_t leaf[STORE_LEDGER_HASH], uint64_t below,
                           uint64_t *index, struct err *err)
{
    return s->backend->ledger_find_leaf(s, leaf, below, index, err);
}

int store_ledger_tile_get(struct store *s, unsigned level, uint64_t index,
                          uint8_t (*out)[STORE_LEDGER_HASH], size_t *width, struct err *err)
{
    *width = 0;
    return s->backend->ledger_tile_get(s, level, index, out, width, err);
}

int store_ledger_tile_put(struct store *s, unsigned level, uint64_t index,
                          const uint8_t (*hashes)[STORE_LEDGER_HASH], size_t width, struct err *err)
{
    int rc = count_write(s, TX_LEDGER, "store_ledger_tile_put", err);

    BUG_ON(width == 0 || width > STORE_LEDGER_TILE_WIDTH);
    return rc ? rc : s->backend->ledger_tile_put(s, level, index, hashes, width, err);
}

int store_ledger_checkpoint_put(struct store *s, uint64_t size,
                                const uint8_t root[STORE_LEDGER_HASH], const char *note,
                                const char *time, struct err *err)
{
    int rc = count_write(s, TX_LEDGER, "store_ledger_checkpoint_put", err);

    BUG_ON(!note || !time);
    return rc ? rc : s->backend->ledger_checkpoint_put(s, size, root, note, time, err);
}

bool store_ledger_journal_supported(const struct store *s)
{
    return s->backend->ledger_journal_get && s->backend->ledger_journal_put;
}

int store_ledger_journal_get(struct store *s, uint64_t *gen, struct err *err)
{
    *gen = 0;
    BUG_ON(tx_store != s); /* read with the entries it stands for */
    if (!store_ledger_journal_supported(s))
        return err_set(err, ERR_INTERNAL, NULL, "the %s store keeps no ledger journal mark",
                       s->backend->name);
    return s->backend->ledger_journal_get(s, gen, err);
}

int store_ledger_journal_put(struct store *s, uint64_t gen, struct err *err)
{
    int rc = count_write(s, TX_LEDGER, "store_ledger_journal_put", err);

    BUG_ON(tx_store != s);
    if (!rc && !store_ledger_journal_supported(s))
        rc = err_set(err, ERR_INTERNAL, NULL, "the %s store keeps no ledger journal mark",
                     s->backend->name);
    return rc ? rc : s->backend->ledger_journal_put(s, gen, err);
}

int store_ledger_checkpoint_get(struct store *s, uint64_t *size, uint8_t root[STORE_LEDGER_HASH],
                                char **note, struct err *err)
{
    *size = 0;
    if (note)
        *note = NULL;
    return s->backend->ledger_checkpoint_get(s, size, root, note, err);
}

int store_ledger_checkpoints(struct store *s,
                             int (*fn)(void *ctx, uint64_t size,
                                       const uint8_t root[STORE_LEDGER_HASH], const char *note,
                                       struct err *err),
                             void *ctx, struct err *err)
{
    if (!s->backend->ledger_checkpoints)
        return err_set(err, ERR_INTERNAL, NULL, "the %s store cannot list ledger checkpoints",
                       s->backend->name);
    return s->backend->ledger_checkpoints(s, fn, ctx, err);
}

/* ---- Datastore tables (store-datastore.h) --------------------------------------------- */

/* The datastore backend of s, or an error when the backend has none. */
static int ds_backend(struct store *s, const struct store_ds_backend **ds, struct err *err)
{
    *ds = s->backend->ds;
    if (!*ds)
        return err_set(err, ERR_INTERNAL, NULL, "the %s store has no datastore tables",
                       s->backend->name);
    return 0;
}

static struct store *build_store(struct store_ds_build *b)
{
    return ((struct store_ds_build_head *)b)->s;
}

static const struct store_ds_cursor_ops *cursor_ops(const struct store_ds_cursor *c)
{
    return ((const struct store_ds_cursor_head *)c)->ops;
}

void store_ds_set_tokenizer(struct store *s, store_tokenize_fn tokenize)
{
    atomic_store(&s->ds_tokenize, tokenize);
}

int store_ds_build_begin(struct store *s, const char *resource_id,
                         const struct store_ds_table_def *def, struct store_ds_build **out,
                         struct err *err)
{
    const struct store_ds_backend *ds = NULL;
    int rc = ds_backend(s, &ds, err);

    *out = NULL;
    BUG_ON(!resource_id || !def);
    BUG_ON(def->nfields && !def->fields);
    BUG_ON(def->nprimary_key && !def->primary_key);
    BUG_ON(def->nindexes && (!def->indexes || !def->index_sizes));
    return rc ? rc : ds->build_begin(s, resource_id, def, out, err);
}

int store_ds_build_row(struct store_ds_build *b, const struct dsvalue *values, struct err *err)
{
    return build_store(b)->backend->ds->build_row(b, values, err);
}

int store_ds_build_commit(struct store_ds_build *b, const json_t *meta, uint64_t *rows,
                          struct err *err)
{
    const struct store_ds_backend *ds = build_store(b)->backend->ds;
    int rc = fail_point(build_store(b), "store_ds_build_commit", err);

    if (rows)
        *rows = 0;
    if (rc) {
        ds->build_abort(b);
        return rc;
    }
    return ds->build_commit(b, meta, rows, err);
}

int store_ds_fulltext_build(struct store *s, const char *resource_id, store_tokenize_fn tokenize,
                            const atomic_bool *cancel, struct err *err)
{
    const struct store_ds_backend *ds = NULL;
    int rc = ds_backend(s, &ds, err);

    if (!rc)
        rc = fail_point(s, "store_ds_fulltext_build", err);
    return rc ? rc : ds->fulltext_build(s, resource_id, tokenize, cancel, err);
}

void store_ds_build_abort(struct store_ds_build *b)
{
    if (b)
        build_store(b)->backend->ds->build_abort(b);
}

int store_ds_info(struct store *s, const char *resource_id, struct store_ds_info *info,
                  struct err *err)
{
    const struct store_ds_backend *ds = NULL;
    int rc = ds_backend(s, &ds, err);

    memset(info, 0, sizeof(*info));
    return rc ? rc : ds->info(s, resource_id, info, err);
}

void store_ds_info_release(struct store_ds_info *info)
{
    if (!info)
        return;
    json_decref(info->fields);
    json_decref(info->meta);
    json_decref(info->primary_key);
    json_decref(info->indexes);
    memset(info, 0, sizeof(*info));
}

int store_ds_meta_put(struct store *s, const char *resource_id, const json_t *meta, struct err *err)
{
    const struct store_ds_backend *ds = NULL;
    int rc = ds_backend(s, &ds, err);

    if (!rc)
        rc = fail_point(s, "store_ds_meta_put", err);
    return rc ? rc : ds->meta_put(s, resource_id, meta, err);
}

int store_ds_index_create(struct store *s, const char *resource_id, const char *const *fields,
                          size_t nfields, struct err *err)
{
    const struct store_ds_backend *ds = NULL;
    int rc = ds_backend(s, &ds, err);

    BUG_ON(nfields && !fields);
    if (!rc)
        rc = fail_point(s, "store_ds_index_create", err);
    return rc ? rc : ds->index_create(s, resource_id, fields, nfields, err);
}

int store_ds_drop(struct store *s, const char *resource_id, struct err *err)
{
    const struct store_ds_backend *ds = NULL;
    int rc = ds_backend(s, &ds, err);

    if (!rc)
        rc = fail_point(s, "store_ds_drop", err);
    return rc ? rc : ds->drop(s, resource_id, err);
}

int store_ds_list(struct store *s, json_t **ids, struct err *err)
{
    const struct store_ds_backend *ds = NULL;
    int rc = ds_backend(s, &ds, err);

    *ids = NULL;
    return rc ? rc : ds->list(s, ids, err);
}

int store_ds_upsert(struct store *s, const char *resource_id, enum store_ds_method method,
                    const char *const *fields, size_t nfields, const struct dsvalue *values,
                    size_t nrows, uint64_t *count, struct err *err)
{
    const struct store_ds_backend *ds = NULL;
    int rc = ds_backend(s, &ds, err);

    if (count)
        *count = 0;
    BUG_ON(nfields && !fields);
    BUG_ON(nfields && nrows && !values);
    if (!rc)
        rc = fail_point(s, "store_ds_upsert", err);
    return rc ? rc : ds->upsert(s, resource_id, method, fields, nfields, values, nrows, count, err);
}

int store_ds_delete(struct store *s, const char *resource_id, const struct store_ds_filter *filters,
                    size_t nfilters, uint64_t *count, struct err *err)
{
    const struct store_ds_backend *ds = NULL;
    int rc = ds_backend(s, &ds, err);

    if (count)
        *count = 0;
    BUG_ON(nfilters == 0 || !filters);
    if (!rc)
        rc = fail_point(s, "store_ds_delete", err);
    return rc ? rc : ds->delete (s, resource_id, filters, nfilters, count, err);
}

int store_ds_search(struct store *s, const struct store_ds_query *q, struct store_ds_cursor **out,
                    uint64_t *total, struct err *err)
{
    const struct store_ds_backend *ds = NULL;
    int rc = ds_backend(s, &ds, err);

    *out = NULL;
    if (total)
        *total = 0;
    BUG_ON(!q->resource_id);
    BUG_ON(q->nfields && !q->fields);
    BUG_ON(q->nfilters && !q->filters);
    BUG_ON(q->ntext && !q->text);
    BUG_ON(q->nsort && !q->sort);
    return rc ? rc : ds->search(s, q, out, total, err);
}

int store_ds_sql(struct store *s, const char *sql, const struct store_ds_sql_opts *o,
                 struct store_ds_cursor **out, struct err *err)
{
    const struct store_ds_backend *ds = NULL;
    int rc = ds_backend(s, &ds, err);

    *out = NULL;
    BUG_ON(!sql || !o);
    return rc ? rc : ds->sql(s, sql, o, out, err);
}

size_t store_ds_cursor_ncolumns(const struct store_ds_cursor *c)
{
    return cursor_ops(c)->ncolumns(c);
}

const char *store_ds_cursor_column(const struct store_ds_cursor *c, size_t i)
{
    return cursor_ops(c)->column(c, i);
}

enum dstype store_ds_cursor_type(const struct store_ds_cursor *c, size_t i)
{
    return cursor_ops(c)->type(c, i);
}

int store_ds_cursor_next(struct store_ds_cursor *c, const struct dsvalue **values, struct err *err)
{
    return cursor_ops(c)->next(c, values, err);
}

bool store_ds_cursor_truncated(const struct store_ds_cursor *c)
{
    return cursor_ops(c)->truncated(c);
}

void store_ds_cursor_free(struct store_ds_cursor *c)
{
    if (c)
        cursor_ops(c)->free(c);
}

int store_ds_status_put(struct store *s, const char *resource_id, const json_t *status,
                        struct err *err)
{
    const struct store_ds_backend *ds = NULL;
    int rc = ds_backend(s, &ds, err);

    BUG_ON(!resource_id);
    if (!rc)
        rc = fail_point(s, "store_ds_status_put", err);
    return rc ? rc : ds->status_put(s, resource_id, status, err);
}

int store_ds_status_get(struct store *s, const char *resource_id, json_t **status, struct err *err)
{
    const struct store_ds_backend *ds = NULL;
    int rc = ds_backend(s, &ds, err);

    *status = NULL;
    return rc ? rc : ds->status_get(s, resource_id, status, err);
}

int store_ds_status_list(struct store *s, json_t **statuses, struct err *err)
{
    const struct store_ds_backend *ds = NULL;
    int rc = ds_backend(s, &ds, err);

    *statuses = NULL;
    return rc ? rc : ds->status_list(s, statuses, err);
}

bool store_privacy_reports_kept(struct store *s)
{
    const struct store_ds_backend *ds = NULL;
    struct err ignored = ERR_INIT;

    return !ds_backend(s, &ds, &ignored) && ds->privacy_put && ds->privacy_get;
}

int store_privacy_report_put(struct store *s, const char *resource_id, const json_t *report,
                             struct err *err)
{
    const struct store_ds_backend *ds = NULL;
    int rc = ds_backend(s, &ds, err);

    BUG_ON(!resource_id);
    /* A backend without privacy reports (both stores have them) keeps none, so that its
     * ingests still complete; the gate then sees no stored report
     * (docs/internals/privacy-gate.md). */
    if (!rc && !ds->privacy_put) {
        static atomic_bool warned;

        if (!atomic_exchange(&warned, true))
            log_warn("store: this store keeps no privacy reports: the publish gate only "
                     "checks uploads");
        return 0;
    }
    if (!rc)
        rc = fail_point(s, "store_privacy_report_put", err);
    return rc ? rc : ds->privacy_put(s, resource_id, report, err);
}

int store_privacy_report_get(struct store *s, const char *resource_id, json_t **report,
                             struct err *err)
{
    const struct store_ds_backend *ds = NULL;
    int rc = ds_backend(s, &ds, err);

    *report = NULL;
    if (!rc && !ds->privacy_get)
        rc = err_set(err, ERR_NOT_FOUND, "resource_id", "this store keeps no privacy reports");
    return rc ? rc : ds->privacy_get(s, resource_id, report, err);
}
