/*
 * store-migrate.c - store_migrate(): every record of a SQLite store into an empty
 * PostgreSQL store, in one transaction of the target (`kaifang migrate --to`, issue 9).
 *
 * The source is read through a read-only SQLite connection of its own (one snapshot of
 * kaifang.db) and, for the datastore tables, through store_ds_search (the table files).
 * The target is written through the store's own entries (store_group_put,
 * store_dataset_put, store_ledger_stage …) inside one store_begin/store_commit, so that
 * the rows are what the PostgreSQL store itself writes; a datastore build begun inside
 * that transaction joins it (store-pg-datastore.c). What the target store cannot keep
 * yet is refused before anything is written, naming the kind of data.
 * docs/internals/store.md, "Moving a portal to PostgreSQL".
 */
#include <inttypes.h>
#include <sqlite3.h>
#include <string.h>
#include <time.h>

#include "core/util.h"
#include "store/store-int.h"
#include "store/store-migrate.h"
#include "store/store-pg-ds-int.h"
#include "store/store-pg-int.h"
#include "store/store-sqlite-int.h"

/* Tables of the SQLite schema whose rows the PostgreSQL store cannot keep yet: a source
 * with rows in one of them is refused (nothing is dropped silently). */
static const struct {
    const char *table;
    const char *kind;
} not_carried[] = {
        {"fee_schedules", "fee schedules"},
        {"charges", "charges"},
        {"privacy_reports", "privacy reports"},
        {"dataset_views", "dataset view counts"},
};

/* Every other table of the SQLite schema (version STORE_SCHEMA_VERSION): carried, or
 * (sessions, dataset_derived) dropped on purpose and counted; dataset_summaries (what a
 * search result shows, derived from each dataset) is left: the PostgreSQL store keeps
 * none and reads the datasets. A table not named here nor
 * above (a later schema's) with rows is refused, so a new kind of data is never lost. */
static const char *const known_tables[] = {
        "meta",
        "schema_version",
        "groups",
        "datasets",
        "dataset_facets",
        "dataset_resources",
        "users",
        "tokens",
        "members",
        "ledger_entries",
        "ledger_tiles",
        "ledger_checkpoints",
        "datastore_status",
        "sessions",
        "dataset_derived",
        "dataset_summaries",
        "roles",
        "grants",
};

struct mig {
    struct store *src, *dst;
    sqlite3 *db;
    struct store_migrate_counts *n;
    store_tokenize_fn tokenize;
};

static int db_fail(struct mig *m, const char *what, struct err *err)
{
    return err_set(err, ERR_INTERNAL, NULL, "reading the SQLite store: %s: %s", what,
                   sqlite3_errmsg(m->db));
}

static int prepare(struct mig *m, const char *sql, sqlite3_stmt **st, struct err *err)
{
    if (sqlite3_prepare_v2(m->db, sql, -1, st, NULL) != SQLITE_OK)
        return db_fail(m, sql, err);
    return 0;
}

static const char *col_text(sqlite3_stmt *st, int i)
{
    return (const char *)sqlite3_column_text(st, i);
}

/* The JSON document of column i (a new reference), or -ERR_INTERNAL naming what. */
static int col_json(sqlite3_stmt *st, int i, const char *what, const char *id, json_t **out,
                    struct err *err)
{
    json_error_t jerr;
    const char *text = col_text(st, i);

    *out = text ? json_loads(text, JSON_DECODE_ANY, &jerr) : NULL;
    if (!*out)
        return err_set(err, ERR_INTERNAL, NULL, "the SQLite store's %s \"%s\" is not JSON", what,
                       id ? id : "");
    return 0;
}

static int64_t count_rows(struct mig *m, const char *table, struct err *err)
{
    sqlite3_stmt *st = NULL;
    char *sql = xstrfmt("SELECT count(*) FROM \"%s\"", table);
    int64_t n = -1;

    if (!prepare(m, sql, &st, err) && sqlite3_step(st) == SQLITE_ROW)
        n = sqlite3_column_int64(st, 0);
    else
        db_fail(m, sql, err);
    sqlite3_finalize(st);
    free(sql);
    return n;
}

static bool is_known(const char *name)
{
    for (size_t i = 0; i < ARRAY_SIZE(known_tables); i++)
        if (!strcmp(name, known_tables[i]))
            return true;
    for (size_t i = 0; i < ARRAY_SIZE(not_carried); i++)
        if (!strcmp(name, not_carried[i].table))
            return true;
    /* FTS5's table and its shadow tables: rebuilt by the target from the datasets. */
    return !strncmp(name, "dataset_fts", 11);
}

/* Refuses a source holding what the target cannot keep (ERR_VALIDATION naming it). */
static int check_source(struct mig *m, struct err *err)
{
    sqlite3_stmt *st = NULL;
    int rc = 0;

    for (size_t i = 0; !rc && i < ARRAY_SIZE(not_carried); i++) {
        int64_t n = count_rows(m, not_carried[i].table, err);

        if (n < 0)
            rc = -ERR_INTERNAL;
        else if (n > 0)
            rc = err_set(err, ERR_VALIDATION, "to",
                         "cannot migrate: the portal holds %s (%" PRId64 " in table \"%s\"), "
                         "which the postgresql store does not keep yet; nothing was written",
                         not_carried[i].kind, n, not_carried[i].table);
    }
    if (!rc)
        rc = prepare(m, "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name", &st,
                     err);
    while (!rc && sqlite3_step(st) == SQLITE_ROW) {
        const char *name = col_text(st, 0);
        int64_t n;

        if (!name || !strncmp(name, "sqlite_", 7) || is_known(name))
            continue;
        n = count_rows(m, name, err);
        if (n < 0)
            rc = -ERR_INTERNAL;
        else if (n > 0)
            rc = err_set(err, ERR_VALIDATION, "to",
                         "cannot migrate: table \"%s\" (%" PRId64 " rows) is not known to this "
                         "kaifang migrate; nothing was written",
                         name, n);
    }
    sqlite3_finalize(st);
    return rc;
}

/* Refuses a target that holds anything (ERR_CONFLICT naming what). */
static int check_target(struct mig *m, struct err *err)
{
    static const struct {
        const char *table, *what;
    } tables[] = {
            {"groups", "organizations or groups"},
            {"datasets", "datasets"},
            {"users", "users"},
            {"tokens", "API tokens"},
            {"ledger_entries", "ledger entries"},
            {"ledger_checkpoints", "ledger checkpoints"},
            {"ledger_tiles", "ledger tiles"},
            {"datastore_tables", "datastore tables"},
            {"datastore_status", "datastore ingest statuses"},
    };
    int rc = 0;

    for (size_t i = 0; !rc && i < ARRAY_SIZE(tables); i++) {
        char *sql = xstrfmt("SELECT count(*) FROM %s", tables[i].table);
        PGresult *r = NULL;

        rc = pg_run(m->dst, sql, NULL, &r, "checking that the target is empty", err);
        if (!rc && pg_int(r, 0, 0) > 0)
            rc = err_set(err, ERR_CONFLICT, "to",
                         "the target database is not empty: it holds %" PRId64 " %s; migrate "
                         "into a new database (createdb) made for this portal",
                         pg_int(r, 0, 0), tables[i].what);
        PQclear(r);
        free(sql);
    }
    return rc;
}

static int copy_groups(struct mig *m, struct err *err)
{
    sqlite3_stmt *st = NULL;
    json_t *doc = NULL;
    int rc = prepare(m, "SELECT id, name, is_organization, state, doc FROM groups ORDER BY rowid",
                     &st, err);

    while (!rc && sqlite3_step(st) == SQLITE_ROW) {
        struct store_group g = {
                .id = col_text(st, 0),
                .name = col_text(st, 1),
                .is_organization = sqlite3_column_int(st, 2) != 0,
                .state = col_text(st, 3),
        };

        rc = col_json(st, 4, "group", g.id, &doc, err);
        g.doc = doc;
        if (!rc)
            rc = store_group_put(m->dst, &g, err);
        json_decref(doc);
        doc = NULL;
        if (!rc)
            m->n->groups++;
    }
    sqlite3_finalize(st);
    return rc;
}

static int copy_users(struct mig *m, struct err *err)
{
    sqlite3_stmt *st = NULL;
    int rc = prepare(m,
                     "SELECT id, name, fullname, email, sysadmin, state, password_hash, created"
                     " FROM users ORDER BY rowid",
                     &st, err);

    while (!rc && sqlite3_step(st) == SQLITE_ROW) {
        struct store_user u = {
                .id = col_text(st, 0),
                .name = col_text(st, 1),
                .fullname = col_text(st, 2),
                .email = col_text(st, 3),
                .sysadmin = sqlite3_column_int(st, 4) != 0,
                .state = col_text(st, 5),
                .password_hash = col_text(st, 6),
                .created = col_text(st, 7),
        };

        rc = store_user_put(m->dst, &u, err);
        if (!rc)
            m->n->users++;
    }
    sqlite3_finalize(st);
    if (!rc)
        rc = prepare(m, "SELECT id, user_id, hash, label, created FROM tokens ORDER BY rowid", &st,
                     err);
    while (!rc && sqlite3_step(st) == SQLITE_ROW) {
        rc = store_token_put(m->dst, col_text(st, 0), col_text(st, 1), col_text(st, 2),
                             col_text(st, 3), col_text(st, 4), err);
        if (!rc)
            m->n->tokens++;
    }
    sqlite3_finalize(st);
    st = NULL;
    if (!rc)
        rc = prepare(m,
                     "SELECT group_id, user_id, capacity FROM members ORDER BY group_id, user_id",
                     &st, err);
    while (!rc && sqlite3_step(st) == SQLITE_ROW) {
        rc = store_member_set(m->dst, col_text(st, 0), col_text(st, 1), col_text(st, 2), err);
        if (!rc)
            m->n->members++;
    }
    sqlite3_finalize(st);
    return rc;
}

/* The facet rows and resource ids of dataset rid, into arrays of copies. */
struct ds_rows {
    struct store_facet *facets;
    size_t nfacets;
    char **rids;
    size_t nrids;
};

static void ds_rows_clear(struct ds_rows *r)
{
    for (size_t i = 0; i < r->nfacets; i++) {
        free((char *)r->facets[i].field);
        free((char *)r->facets[i].value);
    }
    for (size_t i = 0; i < r->nrids; i++)
        free(r->rids[i]);
    free(r->facets);
    free(r->rids);
    memset(r, 0, sizeof(*r));
}

static int ds_rows_read(struct mig *m, sqlite3_stmt *facets, sqlite3_stmt *res, int64_t rid,
                        struct ds_rows *r, struct err *err)
{
    size_t alloc = 0;
    int step;

    sqlite3_reset(facets);
    sqlite3_bind_int64(facets, 1, rid);
    while ((step = sqlite3_step(facets)) == SQLITE_ROW) {
        if (r->nfacets == alloc) {
            alloc = alloc ? 2 * alloc : 16;
            r->facets = xrealloc(r->facets, alloc * sizeof(*r->facets));
        }
        r->facets[r->nfacets].field = xstrdup(col_text(facets, 0));
        r->facets[r->nfacets].value = xstrdup(col_text(facets, 1));
        r->nfacets++;
    }
    if (step != SQLITE_DONE)
        return db_fail(m, "facets", err);
    alloc = 0;
    sqlite3_reset(res);
    sqlite3_bind_int64(res, 1, rid);
    while ((step = sqlite3_step(res)) == SQLITE_ROW) {
        if (r->nrids == alloc) {
            alloc = alloc ? 2 * alloc : 8;
            r->rids = xrealloc(r->rids, alloc * sizeof(*r->rids));
        }
        r->rids[r->nrids++] = xstrdup(col_text(res, 0));
    }
    if (step != SQLITE_DONE)
        return db_fail(m, "resources", err);
    return 0;
}

static int copy_datasets(struct mig *m, struct err *err)
{
    sqlite3_stmt *st = NULL, *facets = NULL, *res = NULL;
    struct ds_rows rows = {0};
    json_t *doc = NULL;
    int rc = prepare(m,
                     "SELECT d.rid, d.id, d.name, d.owner_org, d.state, d.private, d.title,"
                     " d.metadata_created, d.metadata_modified, d.doc, f.title, f.tags, f.text"
                     " FROM datasets d LEFT JOIN dataset_fts f ON f.rowid = d.rid ORDER BY d.rid",
                     &st, err);

    if (!rc)
        rc = prepare(m,
                     "SELECT field, value FROM dataset_facets WHERE dataset_rid = ?1"
                     " ORDER BY field, value",
                     &facets, err);
    if (!rc)
        rc = prepare(m,
                     "SELECT resource_id FROM dataset_resources WHERE dataset_rid = ?1"
                     " ORDER BY rowid",
                     &res, err);
    while (!rc && sqlite3_step(st) == SQLITE_ROW) {
        struct store_dataset d = {
                .id = col_text(st, 1),
                .name = col_text(st, 2),
                .owner_org = col_text(st, 3),
                .state = col_text(st, 4),
                .is_private = sqlite3_column_int(st, 5) != 0,
                .title = col_text(st, 6),
                .metadata_created = col_text(st, 7),
                .metadata_modified = col_text(st, 8),
                .fts_title = col_text(st, 10),
                .fts_tags = col_text(st, 11),
                .fts_text = col_text(st, 12),
        };

        rc = col_json(st, 9, "dataset", d.id, &doc, err);
        if (!rc)
            rc = ds_rows_read(m, facets, res, sqlite3_column_int64(st, 0), &rows, err);
        d.doc = doc;
        d.facets = rows.facets;
        d.nfacets = rows.nfacets;
        d.resource_ids = (const char *const *)rows.rids;
        d.nresource_ids = rows.nrids;
        if (!rc)
            rc = store_dataset_put(m->dst, &d, err);
        if (!rc) {
            m->n->datasets++;
            m->n->resources += rows.nrids;
        }
        ds_rows_clear(&rows);
        json_decref(doc);
        doc = NULL;
    }
    ds_rows_clear(&rows);
    sqlite3_finalize(st);
    sqlite3_finalize(facets);
    sqlite3_finalize(res);
    if (!rc)
        m->n->derived_dropped = (uint64_t)count_rows(m, "dataset_derived", err);
    return rc;
}

static int copy_ledger(struct mig *m, struct err *err)
{
    sqlite3_stmt *st = NULL;
    int rc = prepare(m, "SELECT idx, entry, leaf_hash FROM ledger_entries ORDER BY idx", &st, err);

    while (!rc && sqlite3_step(st) == SQLITE_ROW) {
        int64_t idx = sqlite3_column_int64(st, 0);
        const void *entry = sqlite3_column_blob(st, 1);
        size_t len = (size_t)sqlite3_column_bytes(st, 1);
        const uint8_t *leaf = sqlite3_column_blob(st, 2);
        uint64_t got = 0;

        if (sqlite3_column_bytes(st, 2) != STORE_LEDGER_HASH || !leaf)
            rc = err_set(err, ERR_INTERNAL, NULL,
                         "ledger entry %" PRId64 " of the SQLite store has no leaf hash", idx);
        if (!rc)
            rc = store_ledger_stage(m->dst, entry ? entry : "", len, leaf, &got, err);
        /* Entries are numbered from 0 without gaps; staged in order they keep their
         * numbers, which the tiles and checkpoints below depend on. */
        if (!rc && got != (uint64_t)idx)
            rc = err_set(err, ERR_INTERNAL, NULL,
                         "ledger entry %" PRId64 " would become entry %" PRIu64
                         " (the SQLite ledger has a gap)",
                         idx, got);
        if (!rc)
            m->n->ledger_entries++;
    }
    sqlite3_finalize(st);
    st = NULL;
    if (!rc)
        rc = prepare(m, "SELECT level, idx, hashes FROM ledger_tiles ORDER BY level, idx", &st,
                     err);
    while (!rc && sqlite3_step(st) == SQLITE_ROW) {
        size_t len = (size_t)sqlite3_column_bytes(st, 2);
        const void *hashes = sqlite3_column_blob(st, 2);

        if (!hashes || !len || len % STORE_LEDGER_HASH ||
            len / STORE_LEDGER_HASH > STORE_LEDGER_TILE_WIDTH)
            rc = err_set(err, ERR_INTERNAL, NULL, "a ledger tile of the SQLite store is malformed");
        if (!rc)
            rc = store_ledger_tile_put(m->dst, (unsigned)sqlite3_column_int(st, 0),
                                       (uint64_t)sqlite3_column_int64(st, 1), hashes,
                                       len / STORE_LEDGER_HASH, err);
        if (!rc)
            m->n->ledger_tiles++;
    }
    sqlite3_finalize(st);
    st = NULL;
    if (!rc)
        rc = prepare(m, "SELECT size, root, note, created FROM ledger_checkpoints ORDER BY size",
                     &st, err);
    while (!rc && sqlite3_step(st) == SQLITE_ROW) {
        const uint8_t *root = sqlite3_column_blob(st, 1);

        if (!root || sqlite3_column_bytes(st, 1) != STORE_LEDGER_HASH || !col_text(st, 2) ||
            !col_text(st, 3))
            rc = err_set(err, ERR_INTERNAL, NULL,
                         "a ledger checkpoint of the SQLite store is malformed");
        if (!rc)
            rc = store_ledger_checkpoint_put(m->dst, (uint64_t)sqlite3_column_int64(st, 0), root,
                                             col_text(st, 2), col_text(st, 3), err);
        if (!rc)
            m->n->ledger_checkpoints++;
    }
    sqlite3_finalize(st);
    return rc;
}

/* Roles, grants and the web sessions that have not ended (a signed-in user stays signed
 * in: the cookie's id hashes to the same row). */
static int copy_access(struct mig *m, struct err *err)
{
    sqlite3_stmt *st = NULL;
    json_t *doc = NULL;
    int64_t now = (int64_t)time(NULL);
    int rc = prepare(m,
                     "SELECT user_id, role, nullif(org_id, '') FROM roles"
                     " ORDER BY user_id, role, org_id",
                     &st, err);

    while (!rc && sqlite3_step(st) == SQLITE_ROW) {
        rc = store_role_set(m->dst, col_text(st, 0), col_text(st, 1), col_text(st, 2), true, err);
        if (!rc)
            m->n->roles++;
    }
    sqlite3_finalize(st);
    st = NULL;
    if (!rc)
        rc = prepare(m,
                     "SELECT id, dataset_id, grantee_id, state, created, doc FROM grants"
                     " ORDER BY created, rowid",
                     &st, err);
    while (!rc && sqlite3_step(st) == SQLITE_ROW) {
        rc = col_json(st, 5, "grant", col_text(st, 0), &doc, err);
        if (!rc)
            rc = store_grant_put(m->dst, col_text(st, 0), col_text(st, 1), col_text(st, 2),
                                 col_text(st, 3), col_text(st, 4), doc, err);
        json_decref(doc);
        doc = NULL;
        if (!rc)
            m->n->grants++;
    }
    sqlite3_finalize(st);
    st = NULL;
    if (!rc)
        rc = prepare(m,
                     "SELECT id_hash, user_id, csrf, expires FROM sessions WHERE expires > ?1"
                     " ORDER BY expires, id_hash",
                     &st, err);
    if (!rc)
        sqlite3_bind_int64(st, 1, now);
    while (!rc && sqlite3_step(st) == SQLITE_ROW) {
        rc = store_session_put(m->dst, col_text(st, 0), col_text(st, 1), col_text(st, 2),
                               sqlite3_column_int64(st, 3), now, err);
        if (!rc)
            m->n->sessions++;
    }
    sqlite3_finalize(st);
    return rc;
}

static int copy_ds_statuses(struct mig *m, struct err *err)
{
    sqlite3_stmt *st = NULL;
    json_t *status = NULL;
    int rc = prepare(m, "SELECT resource_id, status FROM datastore_status ORDER BY resource_id",
                     &st, err);

    while (!rc && sqlite3_step(st) == SQLITE_ROW) {
        rc = col_json(st, 1, "datastore status", col_text(st, 0), &status, err);
        if (!rc)
            rc = store_ds_status_put(m->dst, col_text(st, 0), status, err);
        json_decref(status);
        status = NULL;
        if (!rc)
            m->n->ds_statuses++;
    }
    sqlite3_finalize(st);
    return rc;
}

/* One datastore table: its definition from store_ds_info, its rows (with their _id) from
 * store_ds_search on the source, built on the target inside its transaction. */
static int copy_ds_table(struct mig *m, const char *id, struct err *err)
{
    struct store_ds_info info = {0};
    struct store_ds_field *fields = NULL;
    const char **pk = NULL, ***indexes = NULL;
    size_t *index_sizes = NULL, nfields = 0, npk = 0, nindexes = 0;
    struct store_ds_table_def def;
    struct store_ds_query q;
    struct store_ds_build *b = NULL;
    struct store_ds_cursor *cur = NULL;
    const struct dsvalue *vals;
    uint64_t rows = 0;
    int rc;

    memset(&def, 0, sizeof(def));
    memset(&q, 0, sizeof(q));
    rc = store_ds_info(m->src, id, &info, err);
    if (rc)
        goto out;
    nfields = json_array_size(info.fields);
    npk = json_array_size(info.primary_key);
    nindexes = json_array_size(info.indexes);
    fields = xcalloc(nfields + 1, sizeof(*fields));
    pk = xcalloc(npk + 1, sizeof(*pk));
    indexes = xcalloc(nindexes + 1, sizeof(*indexes));
    index_sizes = xcalloc(nindexes + 1, sizeof(*index_sizes));
    for (size_t i = 0; i < nfields; i++) {
        json_t *f = json_array_get(info.fields, i);

        fields[i].id = json_string_value(json_object_get(f, "id"));
        if (!dstype_parse(json_string_value(json_object_get(f, "type")), &fields[i].type)) {
            rc = err_set(err, ERR_INTERNAL, NULL,
                         "datastore table of resource \"%s\": field \"%s\" has an unknown type", id,
                         fields[i].id ? fields[i].id : "");
            goto out;
        }
    }
    for (size_t i = 0; i < npk; i++)
        pk[i] = json_string_value(json_array_get(info.primary_key, i));
    for (size_t i = 0; i < nindexes; i++) {
        json_t *ix = json_array_get(info.indexes, i);

        index_sizes[i] = json_array_size(ix);
        indexes[i] = xcalloc(index_sizes[i] + 1, sizeof(**indexes));
        for (size_t j = 0; j < index_sizes[i]; j++)
            indexes[i][j] = json_string_value(json_array_get(ix, j));
    }
    def.fields = fields;
    def.nfields = nfields;
    def.primary_key = pk;
    def.nprimary_key = npk;
    def.indexes = (const char *const *const *)indexes;
    def.index_sizes = index_sizes;
    def.nindexes = nindexes;
    /* A table whose full-text index was still pending gets it now: the PostgreSQL
     * build writes each row's tsvector with the row. */
    def.fulltext = info.fulltext;
    def.tokenize = m->tokenize;
    rc = store_ds_build_begin(m->dst, id, &def, &b, err);
    if (rc)
        goto out;
    q.resource_id = id; /* _id then every field, by _id, no limit */
    rc = store_ds_search(m->src, &q, &cur, NULL, err);
    while (!rc && (rc = store_ds_cursor_next(cur, &vals, err)) == 1) {
        if (store_ds_cursor_ncolumns(cur) != nfields + 1 || vals[0].kind != DSVALUE_INT) {
            rc = err_set(err, ERR_INTERNAL, NULL,
                         "datastore table of resource \"%s\": a row has no _id", id);
            break;
        }
        rc = pgds_build_row_id(b, vals[0].i, vals + 1, err);
        rows++;
    }
    store_ds_cursor_free(cur);
    cur = NULL;
    if (!rc) {
        rc = store_ds_build_commit(b, info.meta, NULL, err);
        b = NULL;
    }
    if (!rc) {
        m->n->ds_tables++;
        m->n->ds_rows += rows;
    }
out:
    if (rc && err && err->msg[0] && !strstr(err->msg, id)) {
        struct err e = *err;

        err_clear(err);
        err_set(err, e.kind, e.field[0] ? e.field : NULL, "datastore table of resource \"%s\": %s",
                id, e.msg);
    }
    store_ds_cursor_free(cur);
    if (b)
        store_ds_build_abort(b);
    for (size_t i = 0; i < nindexes; i++)
        free(indexes[i]);
    free(indexes);
    free(index_sizes);
    free(pk);
    free(fields);
    store_ds_info_release(&info);
    return rc;
}

static int copy_ds_tables(struct mig *m, struct err *err)
{
    json_t *ids = NULL;
    int rc = store_ds_list(m->src, &ids, err);

    for (size_t i = 0; !rc && i < json_array_size(ids); i++)
        rc = copy_ds_table(m, json_string_value(json_array_get(ids, i)), err);
    json_decref(ids);
    return rc;
}

int store_migrate(struct store *src, struct store *dst, store_tokenize_fn tokenize,
                  struct store_migrate_counts *counts, struct err *err)
{
    struct mig m = {.src = src, .dst = dst, .n = counts, .tokenize = tokenize};
    const struct sq *q;
    bool began = false;
    int rc;

    memset(counts, 0, sizeof(*counts));
    if (src->backend != &store_sqlite_backend || dst->backend != &store_pg_backend)
        return err_set(err, ERR_VALIDATION, "to",
                       "kaifang migrate moves a portal from a sqlite store to a postgresql "
                       "store (this is %s to %s)",
                       src->backend->name, dst->backend->name);
    q = src->be;
    if (sqlite3_open_v2(q->path, &m.db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) {
        rc = db_fail(&m, "opening", err);
        goto out;
    }
    sqlite3_busy_timeout(m.db, 5000);
    /* One snapshot of the source for every statement below. */
    rc = sqlite3_exec(m.db, "BEGIN; SELECT count(*) FROM meta", NULL, NULL, NULL) == SQLITE_OK
                 ? 0
                 : db_fail(&m, "starting a read", err);
    if (!rc)
        rc = check_source(&m, err);
    if (!rc)
        rc = store_begin(dst, err);
    began = !rc;
    if (!rc)
        rc = check_target(&m, err);
    if (!rc)
        rc = copy_groups(&m, err);
    if (!rc)
        rc = copy_users(&m, err);
    if (!rc)
        rc = copy_datasets(&m, err);
    if (!rc)
        rc = copy_access(&m, err);
    if (!rc)
        rc = copy_ledger(&m, err);
    if (!rc)
        rc = copy_ds_statuses(&m, err);
    if (!rc)
        rc = copy_ds_tables(&m, err);
    if (!rc) {
        rc = store_commit(dst, err);
        began = false;
    }
out:
    if (began)
        store_rollback(dst);
    if (rc)
        memset(counts, 0, sizeof(*counts));
    sqlite3_close(m.db);
    return rc;
}
