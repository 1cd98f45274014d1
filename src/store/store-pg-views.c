/*
 * store-pg-views.c - the PostgreSQL backend's view totals (store_dataset_views_add and
 * store_dataset_views_top, store.h): one row per public dataset in dataset_views
 * (migration 4 in store-pg.c), as SQLite's (store-sqlite-views.c).
 *
 * A flush is one short transaction of its own on the thread's connection, outside the
 * write lock and without bumping either counter: totals are not catalog content, and
 * moving the version would empty every page and search cache of every server once per
 * flush. The servers sharing the database add to the same rows: each addition is one
 * INSERT … ON CONFLICT DO UPDATE, which PostgreSQL makes atomic per row, so no count is
 * lost when two servers flush at once.
 */
#include "store/store-pg-int.h"
#include "core/util.h"

/* Whether dataset row d is public now: what a count and the top list require. The
 * access_level facet holds the dataset's level (catalog.c), "public" by default. */
#define VIEWS_PUBLIC                                                                               \
    "d.state = 'active' AND NOT d.private AND NOT EXISTS (SELECT 1 FROM dataset_facets f"          \
    " WHERE f.dataset_rid = d.rid AND f.field = 'access_level'"                                    \
    " AND f.value IN ('restricted public', 'non-public'))"

int pg_views_add(struct store *s, const struct store_view_count *v, size_t n, size_t *added,
                 struct err *err)
{
    struct pg_params p = PG_PARAMS_INIT;
    PGresult *r = NULL;
    size_t kept = 0;
    bool pinned;
    int rc;

    BUG_ON(pg_writing(s)); /* inside store_begin on this thread */
    if (pg_readonly(s))
        return err_set(err, ERR_INTERNAL, NULL, "the PostgreSQL store is open read-only");
    /* A write: on the primary, not a read replica. */
    pinned = pg_primary_pin(s, true);
    rc = pg_run(s, "BEGIN", NULL, NULL, "starting to add view counts", err);
    for (size_t i = 0; !rc && i < n; i++) {
        if (!v[i].views || v[i].views > INT64_MAX)
            continue;
        pg_params_release(&p);
        pg_params_text(&p, v[i].dataset);
        pg_params_int(&p, (int64_t)v[i].views);
        PQclear(r);
        r = NULL;
        rc = pg_run(s,
                    "INSERT INTO dataset_views (dataset_id, views)"
                    " SELECT d.id, $2::bigint FROM datasets d WHERE (d.id = $1 OR d.name = $1)"
                    " AND " VIEWS_PUBLIC " ORDER BY d.id = $1 DESC LIMIT 1"
                    " ON CONFLICT (dataset_id) DO UPDATE SET"
                    " views = dataset_views.views + excluded.views",
                    &p, &r, "adding view counts", err);
        if (!rc)
            kept += strcmp(PQcmdTuples(r), "0") != 0;
    }
    if (!rc)
        rc = pg_run(s, "COMMIT", NULL, NULL, "committing view counts", err);
    if (rc)
        pg_rollback_open(s);
    else
        *added = kept;
    pg_primary_pin(s, pinned);
    PQclear(r);
    pg_params_release(&p);
    return rc;
}

int pg_views_top(struct store *s, size_t limit, json_t **list, struct err *err)
{
    struct pg_params p = PG_PARAMS_INIT;
    PGresult *r = NULL;
    json_t *out = NULL;
    int rc;

    pg_params_int(&p, (int64_t)limit);
    rc = pg_run(s,
                "SELECT d.doc, v.views FROM dataset_views v JOIN datasets d ON d.id = v.dataset_id"
                " WHERE " VIEWS_PUBLIC " ORDER BY v.views DESC, v.dataset_id DESC LIMIT $1",
                &p, &r, "reading the most-viewed datasets", err);
    if (rc)
        goto out;
    out = json_array();
    for (int i = 0; i < PQntuples(r); i++) {
        json_error_t jerr;
        json_t *doc = json_loadb(PQgetvalue(r, i, 0), (size_t)PQgetlength(r, i, 0), 0, &jerr);

        if (!doc) {
            rc = err_set(err, ERR_INTERNAL, NULL, "a stored dataset is corrupt");
            goto out;
        }
        json_array_append_new(
                out, json_pack("{s:o, s:I}", "dataset", doc, "views", (json_int_t)pg_int(r, i, 1)));
    }
    *list = out;
    out = NULL;
out:
    json_decref(out);
    PQclear(r);
    pg_params_release(&p);
    return rc;
}
