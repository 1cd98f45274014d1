/*
 * store-sqlite-views.c - the SQLite backend's view totals (store_dataset_views_add and
 * store_dataset_views_top, store.h): one row per public dataset in dataset_views
 * (migration 9), each flush of a server's counts one short transaction that adds to it.
 *
 * The flush takes the writer connection under the backend's write lock, as store_begin()
 * does, but commits without bumping the version counter: totals are not catalog content,
 * and moving the version would empty every page and search cache of every server once
 * per flush. Both statements are prepared per call: a flush runs once a minute or so,
 * the top list once per home page render.
 */
#include "core/log.h"
#include "store/store-sqlite-int.h"
#include "core/util.h"

/* Whether dataset row d is public now: what a count and the top list require. The
 * access_level facet holds the dataset's level (catalog.c), "public" by default. */
#define VIEWS_PUBLIC                                                                               \
    "d.state = 'active' AND d.private = 0 AND NOT EXISTS (SELECT 1 FROM dataset_facets f"          \
    " WHERE f.dataset_rid = d.rid AND f.field = 'access_level'"                                    \
    " AND f.value IN ('restricted public', 'non-public'))"

static const char views_add_sql[] =
        "INSERT INTO dataset_views (dataset_id, views)"
        " SELECT d.id, ?2 FROM datasets d WHERE (d.id = ?1 OR d.name = ?1) AND " VIEWS_PUBLIC
        " ORDER BY d.id = ?1 DESC LIMIT 1"
        " ON CONFLICT (dataset_id) DO UPDATE SET views = views + excluded.views";

/* CROSS JOIN keeps dataset_views the outer loop, walked down its (views, dataset_id)
 * index until limit public rows are found. With a plain JOIN SQLite scanned every public
 * dataset (datasets_public_name) and sorted: ~1.5-4 s per fresh home page on 100,000
 * datasets (BENCHMARKS.md, issue 4, fresh renders). */
static const char views_top_sql[] =
        "SELECT d.doc, v.views FROM dataset_views v CROSS JOIN datasets d ON d.id = v.dataset_id"
        " WHERE " VIEWS_PUBLIC " ORDER BY v.views DESC, v.dataset_id DESC LIMIT ?1";

int sq_views_add(struct store *s, const struct store_view_count *v, size_t n, size_t *added,
                 struct err *err)
{
    struct sq *q = s->be;
    sqlite3 *db = q->writer.db;
    sqlite3_stmt *st = NULL;
    size_t kept = 0;
    int rc;

    if (q->readonly)
        return err_set(err, ERR_INTERNAL, NULL, "database \"%s\" is open read-only", q->path);
    pthread_mutex_lock(&q->write_lock);
    rc = sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL);
    if (rc != SQLITE_OK) {
        rc = sq_db_error(db, rc, "starting to add view counts", err);
        goto out;
    }
    rc = sqlite3_prepare_v2(db, views_add_sql, -1, &st, NULL);
    if (rc != SQLITE_OK) {
        rc = sq_db_error(db, rc, "preparing to add view counts", err);
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        if (!v[i].views || v[i].views > INT64_MAX)
            continue;
        bind_text(st, 1, v[i].dataset);
        sqlite3_bind_int64(st, 2, (int64_t)v[i].views);
        rc = sqlite3_step(st);
        stmt_done(st);
        if (rc != SQLITE_DONE) {
            rc = sq_db_error(db, rc, "adding view counts", err);
            goto out;
        }
        kept += sqlite3_changes(db) > 0;
    }
    rc = sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
    if (rc != SQLITE_OK) {
        rc = sq_db_error(db, rc, "committing view counts", err);
        goto out;
    }
    rc = 0;
    *added = kept;
out:
    sqlite3_finalize(st);
    if (!sqlite3_get_autocommit(db))
        sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
    pthread_mutex_unlock(&q->write_lock);
    return rc;
}

int sq_views_top(struct store *s, size_t limit, json_t **list, struct err *err)
{
    sqlite3_stmt *st = NULL;
    struct conn *c = NULL;
    json_t *out = json_array();
    int rc;

    rc = sq_read_conn(s, &c, err);
    if (rc)
        goto out;
    rc = sqlite3_prepare_v2(c->db, views_top_sql, -1, &st, NULL);
    if (rc != SQLITE_OK) {
        rc = sq_db_error(c->db, rc, "preparing the most-viewed datasets", err);
        goto out;
    }
    sqlite3_bind_int64(st, 1, (int64_t)limit);
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        const char *text = (const char *)sqlite3_column_text(st, 0);
        json_error_t jerr;
        json_t *doc;

        doc = text ? json_loadb(text, (size_t)sqlite3_column_bytes(st, 0), 0, &jerr) : NULL;
        if (!doc) {
            rc = err_set(err, ERR_INTERNAL, NULL, "a stored dataset is corrupt");
            goto out;
        }
        json_array_append_new(out, json_pack("{s:o, s:I}", "dataset", doc, "views",
                                             (json_int_t)sqlite3_column_int64(st, 1)));
    }
    if (rc != SQLITE_DONE) {
        rc = sq_db_error(c->db, rc, "reading the most-viewed datasets", err);
        goto out;
    }
    rc = 0;
    *list = out;
    out = NULL;
out:
    sqlite3_finalize(st);
    json_decref(out);
    return rc;
}
