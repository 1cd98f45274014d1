/*
 * store-pg-datastore.c - the datastore of the PostgreSQL backend: so far only the
 * ingest statuses (table datastore_status, as SQLite's), so that `kaifang serve` and
 * xloader_status work. Datastore tables (issue 9: COPY ingest into a `datastore`
 * schema, datastore_search_sql through a read-only role) are not written yet: every
 * operation that would make, change or read one fails with "… is not supported on the
 * PostgreSQL store yet", naming the operation; what only asks whether a table exists
 * (store_ds_info, store_ds_drop, store_ds_list) answers truthfully that none does.
 * docs/internals/store.md, "The PostgreSQL store".
 */
#include "store/store-pg-int.h"
#include "core/util.h"

static int unsupported(const char *what, struct err *err)
{
    return err_set(err, ERR_INTERNAL, NULL,
                   "%s is not supported on the PostgreSQL store yet (datastore tables)", what);
}

static int pgds_open(struct store *s, struct err *err)
{
    (void)s;
    (void)err;
    return 0;
}

static void pgds_close(struct store *s)
{
    (void)s;
}

static int pgds_build_begin(struct store *s, const char *resource_id,
                            const struct store_ds_table_def *def, struct store_ds_build **out,
                            struct err *err)
{
    (void)s;
    (void)resource_id;
    (void)def;
    *out = NULL;
    return unsupported("building a datastore table (datastore_create, ingest)", err);
}

/* No build is ever begun, so these are never reached. */
static int pgds_build_row(struct store_ds_build *b, const struct dsvalue *values, struct err *err)
{
    (void)b;
    (void)values;
    (void)err;
    BUG_ON(1);
    return 0;
}

static int pgds_build_commit(struct store_ds_build *b, const json_t *meta, uint64_t *rows,
                             struct err *err)
{
    (void)b;
    (void)meta;
    (void)rows;
    (void)err;
    BUG_ON(1);
    return 0;
}

static void pgds_build_abort(struct store_ds_build *b)
{
    (void)b;
    BUG_ON(1);
}

static int pgds_fulltext_build(struct store *s, const char *resource_id, store_tokenize_fn tokenize,
                               const atomic_bool *cancel, struct err *err)
{
    (void)s;
    (void)resource_id;
    (void)tokenize;
    (void)cancel;
    return unsupported("building a datastore full-text index", err);
}

static int no_table(const char *resource_id, struct err *err)
{
    return err_set(err, ERR_NOT_FOUND, "resource_id", "resource \"%s\" has no datastore table",
                   resource_id);
}

static int pgds_info(struct store *s, const char *resource_id, struct store_ds_info *info,
                     struct err *err)
{
    (void)s;
    (void)info;
    return no_table(resource_id, err);
}

static int pgds_meta_put(struct store *s, const char *resource_id, const json_t *meta,
                         struct err *err)
{
    (void)s;
    (void)resource_id;
    (void)meta;
    return unsupported("storing datastore table metadata", err);
}

static int pgds_index_create(struct store *s, const char *resource_id, const char *const *fields,
                             size_t nfields, struct err *err)
{
    (void)s;
    (void)resource_id;
    (void)fields;
    (void)nfields;
    return unsupported("creating a datastore index", err);
}

static int pgds_drop(struct store *s, const char *resource_id, struct err *err)
{
    (void)s;
    return no_table(resource_id, err);
}

static int pgds_list(struct store *s, json_t **ids, struct err *err)
{
    (void)s;
    (void)err;
    *ids = json_array();
    return 0;
}

static int pgds_upsert(struct store *s, const char *resource_id, enum store_ds_method method,
                       const char *const *fields, size_t nfields, const struct dsvalue *values,
                       size_t nrows, uint64_t *count, struct err *err)
{
    (void)s;
    (void)resource_id;
    (void)method;
    (void)fields;
    (void)nfields;
    (void)values;
    (void)nrows;
    (void)count;
    return unsupported("writing datastore records (datastore_upsert)", err);
}

static int pgds_delete(struct store *s, const char *resource_id,
                       const struct store_ds_filter *filters, size_t nfilters, uint64_t *count,
                       struct err *err)
{
    (void)s;
    (void)resource_id;
    (void)filters;
    (void)nfilters;
    (void)count;
    return unsupported("deleting datastore records (datastore_delete)", err);
}

static int pgds_search(struct store *s, const struct store_ds_query *q,
                       struct store_ds_cursor **out, uint64_t *total, struct err *err)
{
    (void)s;
    (void)q;
    (void)out;
    (void)total;
    return unsupported("searching a datastore table (datastore_search)", err);
}

static int pgds_sql(struct store *s, const char *sql, const struct store_ds_sql_opts *o,
                    struct store_ds_cursor **out, struct err *err)
{
    (void)s;
    (void)sql;
    (void)o;
    (void)out;
    return unsupported("datastore_search_sql", err);
}

/* ---- Ingest statuses -------------------------------------------------------------------- */
static int pgds_status_put(struct store *s, const char *resource_id, const json_t *status,
                           struct err *err)
{
    struct pg_params p = PG_PARAMS_INIT;
    char *text = NULL;
    int rc;

    pg_assert_writing(s);
    if (status) {
        text = json_dumps(status, JSON_COMPACT | JSON_ENCODE_ANY);
        if (!text)
            return err_set(err, ERR_INTERNAL, NULL, "datastore status cannot be serialised");
    }
    pg_params_text(&p, resource_id);
    if (text)
        pg_params_text(&p, text);
    rc = pg_run(s,
                status ? "INSERT INTO datastore_status (resource_id, status) VALUES ($1, $2)"
                         " ON CONFLICT (resource_id) DO UPDATE SET status = excluded.status"
                       : "DELETE FROM datastore_status WHERE resource_id = $1",
                &p, NULL, "storing a datastore status", err);
    pg_params_release(&p);
    free(text);
    return rc;
}

static int pgds_status_get(struct store *s, const char *resource_id, json_t **status,
                           struct err *err)
{
    struct pg_params p = PG_PARAMS_INIT;
    PGresult *r = NULL;
    int rc;

    pg_params_text(&p, resource_id);
    rc = pg_run(s, "SELECT status FROM datastore_status WHERE resource_id = $1", &p, &r,
                "reading a datastore status", err);
    if (!rc && PQntuples(r) == 0)
        rc = err_set(err, ERR_NOT_FOUND, "resource_id", "resource \"%s\" has no datastore status",
                     resource_id);
    else if (!rc && !(*status = json_loads(PQgetvalue(r, 0, 0), 0, NULL)))
        rc = err_set(err, ERR_INTERNAL, NULL, "a stored datastore status is corrupt");
    PQclear(r);
    pg_params_release(&p);
    return rc;
}

static int pgds_status_list(struct store *s, json_t **statuses, struct err *err)
{
    PGresult *r = NULL;
    int rc;

    rc = pg_run(s, "SELECT resource_id, status FROM datastore_status", NULL, &r,
                "listing datastore statuses", err);
    if (rc)
        return rc;
    *statuses = json_object();
    for (int i = 0; i < PQntuples(r); i++) {
        json_t *doc = json_loads(PQgetvalue(r, i, 1), 0, NULL);

        if (!doc) {
            rc = err_set(err, ERR_INTERNAL, NULL, "a stored datastore status is corrupt");
            json_decref(*statuses);
            *statuses = NULL;
            break;
        }
        json_object_set_new(*statuses, PQgetvalue(r, i, 0), doc);
    }
    PQclear(r);
    return rc;
}

const struct store_ds_backend pg_ds_backend = {
        .open = pgds_open,
        .close = pgds_close,
        .build_begin = pgds_build_begin,
        .build_row = pgds_build_row,
        .build_commit = pgds_build_commit,
        .build_abort = pgds_build_abort,
        .fulltext_build = pgds_fulltext_build,
        .info = pgds_info,
        .meta_put = pgds_meta_put,
        .index_create = pgds_index_create,
        .drop = pgds_drop,
        .list = pgds_list,
        .upsert = pgds_upsert,
        .delete = pgds_delete,
        .search = pgds_search,
        .sql = pgds_sql,
        .status_put = pgds_status_put,
        .status_get = pgds_status_get,
        .status_list = pgds_status_list,
};
