/*
 * store-pg-privacy.c - the PostgreSQL backend's privacy reports (store_privacy_report_put
 * and _get, store-datastore.h; migration 4 in store-pg.c): the report of each resource's
 * last scanned table, with an override when one was given, as SQLite's privacy_reports
 * (docs/internals/privacy-gate.md). Entries of pg_ds_backend.
 */
#include "store/store-pg-ds-int.h"
#include "core/util.h"

int pgds_privacy_put(struct store *s, const char *resource_id, const json_t *report,
                     struct err *err)
{
    struct pg_params p = PG_PARAMS_INIT;
    char *text = NULL;
    int rc;

    pg_assert_writing(s);
    if (report) {
        text = json_dumps(report, JSON_COMPACT | JSON_ENCODE_ANY);
        if (!text)
            return err_set(err, ERR_INTERNAL, NULL, "privacy report cannot be serialised");
    }
    pg_params_text(&p, resource_id);
    if (text)
        pg_params_text(&p, text);
    rc = pg_run(s,
                report ? "INSERT INTO privacy_reports (resource_id, report) VALUES ($1, $2)"
                         " ON CONFLICT (resource_id) DO UPDATE SET report = excluded.report"
                       : "DELETE FROM privacy_reports WHERE resource_id = $1",
                &p, NULL, "storing a privacy report", err);
    pg_params_release(&p);
    free(text);
    return rc;
}

int pgds_privacy_get(struct store *s, const char *resource_id, json_t **report, struct err *err)
{
    struct pg_params p = PG_PARAMS_INIT;
    PGresult *r = NULL;
    int rc;

    pg_params_text(&p, resource_id);
    rc = pg_run(s, "SELECT report FROM privacy_reports WHERE resource_id = $1", &p, &r,
                "reading a privacy report", err);
    if (!rc)
        rc = pg_fetch_doc(r, report, "privacy report", err);
    if (rc > 0)
        rc = err_set(err, ERR_NOT_FOUND, "resource_id", "resource \"%s\" has no privacy report",
                     resource_id);
    PQclear(r);
    pg_params_release(&p);
    return rc;
}
