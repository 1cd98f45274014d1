/*
 * actions.c - the DataStore API's writes and datastore_info (CKAN 2.10 docs,
 * "DataStore extension: API reference"): datastore_create, datastore_upsert,
 * datastore_delete, datastore_info. datastore_search and datastore_search_sql are in
 * search.c. docs/internals/datastore.md, "API".
 *
 * A write: authorise (catalog_resource_authorize with write: 404 for a resource the
 * actor may not see, 403 for one it may not change), check and convert every value
 * before anything is written, change the table (its own file: one store call, all or
 * nothing), then one catalog transaction with the resource's datastore_active and the
 * ledger entry (catalog_resource_record). The two commits are ordered table first: a
 * failure between them leaves the table changed without its entry (NEEDSWORK, as for
 * ingests).
 *
 * Writes through the API are serialised in the process (write_lock): a table rebuilt to
 * add fields is read, built aside and swapped in, and a write in place meanwhile would
 * be lost by the swap.
 */
#include <jansson.h>
#include <pthread.h>
#include <strings.h>

#include "core/limits.h"
#include "core/log.h"
#include "crypto/digest.h"
#include "datastore/datastore-int.h"
#include "store/store-datastore.h"
#include "core/util.h"

static pthread_mutex_t write_lock = PTHREAD_MUTEX_INITIALIZER;

/* ---- Shared with search.c ------------------------------------------------------------ */

int ds_check_keys(const json_t *params, const char *action, const char *const *keys, size_t n,
                  struct err *err)
{
    const char *key;
    json_t *v;

    json_object_foreach ((json_t *)params, key, v) {
        bool known = false;

        (void)v;
        for (size_t i = 0; i < n && !known; i++)
            known = !strcmp(key, keys[i]);
        if (!known)
            return err_set(err, ERR_VALIDATION, key, "\"%s\" is not a parameter of %s", key,
                           action);
    }
    return 0;
}

int ds_resource_id(const json_t *params, const char **rid, struct err *err)
{
    const json_t *v = json_object_get(params, "resource_id");

    if (!v || json_is_null(v) || (json_is_string(v) && !json_string_length(v)))
        v = json_object_get(params, "id");
    *rid = json_string_value(v);
    if (v && !json_is_null(v) && !json_is_string(v))
        return err_set(err, ERR_VALIDATION, "resource_id", "\"resource_id\" must be a string");
    if (!*rid || !**rid)
        return err_set(err, ERR_VALIDATION, "resource_id", "Missing value");
    return 0;
}

json_t *ds_field_info(const json_t *meta, const char *id)
{
    json_t *info = json_object_get(json_object_get(meta, "fields_info"), id);

    return json_is_object(info) ? info : NULL;
}

/* ---- Common to the writes --------------------------------------------------------------- */

/*
 * CKAN refuses writes to a table that something else fills (datastore_create,
 * datastore_upsert and datastore_delete's _check_read_only) unless force is true: here a
 * table ingested from the resource's file, which the next ingest would replace, and the
 * table of an uploaded file. A table made through the API (a link or a resource made by
 * datastore_create) is writable. CKAN's message.
 */
static int read_only_check(const json_t *res, const json_t *meta, bool force, struct err *err)
{
    bool upload = str_eq(json_string_value(json_object_get(res, "url_type")), "upload");

    if (force || !(upload || json_object_get(meta, "source")))
        return 0;
    return err_set(err, ERR_VALIDATION, "read-only",
                   "Cannot edit read-only resource. Either pass \"force=True\" or change url_type "
                   "to \"datastore\"");
}

/* CKAN's is_valid_field_name, and Kaifang's: 1..63 bytes (PostgreSQL's NAMEDATALEN), not
 * starting with '_', no '"', no white space at either end, no control characters. */
static int field_id_check(const char *id, size_t len, const char *param, struct err *err)
{
    bool ok = len > 0 && id[0] != '_' && !memchr(id, '"', len) && !(id[0] == ' ') &&
              !(id[len - 1] == ' ');

    for (size_t i = 0; ok && i < len; i++)
        ok = (unsigned char)id[i] >= 0x20 && id[i] != 0x7f;
    if (!ok)
        return err_set(err, ERR_VALIDATION, param, "\"%.*s\" is not a valid field name",
                       (int)(len > 80 ? 80 : len), id);
    if (len > LIMIT_INGEST_FIELD_ID)
        return err_set(err, ERR_VALIDATION, param,
                       "Column heading \"%.*s…\" exceeds limit of %u characters.", 40, id,
                       LIMIT_INGEST_FIELD_ID);
    return 0;
}

/* The records parameter: NULL/absent, or an array of at most LIMIT_DATASTORE_RECORDS
 * objects. */
static int records_param(const json_t *params, const json_t **records, struct err *err)
{
    const json_t *v = json_object_get(params, "records"), *r;
    size_t i;

    *records = NULL;
    if (!v || json_is_null(v))
        return 0;
    if (!json_is_array(v))
        return err_set(err, ERR_VALIDATION, "records", "\"records\" must be a list of objects");
    if (json_array_size(v) > LIMIT_DATASTORE_RECORDS)
        return err_set(err, ERR_VALIDATION, "records",
                       "too many records in one call: %zu (at most %u)", json_array_size(v),
                       LIMIT_DATASTORE_RECORDS);
    json_array_foreach (v, i, r) {
        if (!json_is_object(r))
            return err_set(err, ERR_VALIDATION, "records", "record %zu is not a JSON object",
                           i + 1);
        if (json_object_get(r, "_id"))
            return err_set(err, ERR_VALIDATION, "records",
                           "record %zu has \"_id\": records are matched by the primary key "
                           "(datastore_create's primary_key), not by \"_id\"",
                           i + 1);
    }
    *records = v;
    return 0;
}

/* Converted records: nrows × ncols values, column j of field cols[j]. */
struct rows {
    const char **cols;
    enum dstype *types;
    size_t ncols;
    json_t *index; /* field id → column */
    struct dsvalue *values;
    size_t nrows;
    struct ds_pool pool;
    char sha256[SHA256_HEX_LEN]; /* of the canonical JSON of the converted records */
};

static void rows_init(struct rows *r)
{
    memset(r, 0, sizeof(*r));
    r->index = json_object();
}

static void rows_add_col(struct rows *r, const char *id, enum dstype type, size_t *alloc)
{
    ALLOC_GROW(r->cols, r->ncols + 1, *alloc);
    r->types = xrealloc(r->types, *alloc * sizeof(*r->types));
    r->cols[r->ncols] = id;
    r->types[r->ncols] = type;
    json_object_set_new(r->index, id, json_integer((json_int_t)r->ncols));
    r->ncols++;
}

static void rows_release(struct rows *r)
{
    free(r->cols);
    free(r->types);
    json_decref(r->index);
    free(r->values);
    ds_pool_release(&r->pool);
    memset(r, 0, sizeof(*r));
}

static int json_sha_cb(const char *buffer, size_t size, void *data)
{
    sha256_update(data, buffer, size);
    return 0;
}

/*
 * Converts records into r's columns (every key must be one; absent keys are NULL), each
 * value for its column's type. Errors name "records" with the record (1-based) and the
 * field. r->sha256: SHA-256 of the canonical JSON (sorted keys, no white space) of
 * [{field: canonical text | integer | null}] for the keys each record gave: the ledger's
 * digest input, checkable by anyone holding the records as stored.
 */
static int rows_convert(struct rows *r, const json_t *records, struct err *err)
{
    struct sha256_ctx sha;
    uint8_t digest[SHA256_LEN];
    const json_t *rec;
    size_t i;
    int ret = 0;

    r->nrows = json_array_size(records);
    if (r->ncols && r->nrows > LIMIT_DATASTORE_CELLS / r->ncols)
        return err_set(err, ERR_VALIDATION, "records",
                       "too many values in one call: %zu records of %zu fields (at most %u "
                       "values): send fewer records per call",
                       r->nrows, r->ncols, LIMIT_DATASTORE_CELLS);
    r->values = xcalloc(r->nrows * r->ncols + 1, sizeof(*r->values));
    sha256_init(&sha);
    sha256_update(&sha, "[", 1);
    json_array_foreach (records, i, rec) {
        json_t *canon = json_object(), *v;
        const char *key;

        json_object_foreach ((json_t *)rec, key, v) {
            json_t *col = json_object_get(r->index, key);
            struct dsvalue *d;
            struct err e = ERR_INIT;
            size_t j;

            if (!col) {
                ret = err_set(err, ERR_VALIDATION, "records",
                              "record %zu: field \"%.80s\" not in table", i + 1, key);
                json_decref(canon);
                goto out;
            }
            j = (size_t)json_integer_value(col);
            d = &r->values[i * r->ncols + j];
            if (ds_value_from_json(r->types[j], v, &r->pool, d, &e)) {
                ret = err_set(err, ERR_VALIDATION, "records", "record %zu, field \"%s\": %s", i + 1,
                              key, e.msg);
                json_decref(canon);
                goto out;
            }
            json_object_set_new(canon, key,
                                d->kind == DSVALUE_INT    ? json_integer(d->i)
                                : d->kind == DSVALUE_TEXT ? json_stringn_nocheck(d->s, d->len)
                                                          : json_null());
        }
        if (i)
            sha256_update(&sha, ",", 1);
        json_dump_callback(canon, json_sha_cb, &sha, JSON_COMPACT | JSON_SORT_KEYS);
        json_decref(canon);
    }
    sha256_update(&sha, "]", 1);
out:
    sha256_final(&sha, digest);
    sha256_release(&sha);
    hex_encode(digest, SHA256_LEN, r->sha256);
    return ret;
}

/* A type for a field the records bring and the fields do not type: the ingest's
 * inference over every value given (ingest_infer_type_field), except that a column
 * holding a missing-value token ("NA") is text, as the API keeps such tokens as values. */
static enum dstype infer_type(const json_t *records, const char *id)
{
    struct ds_pool pool = DS_POOL_INIT;
    struct ingest_infer inf;
    const json_t *rec;
    bool token = false;
    size_t i;

    ingest_infer_init(&inf);
    json_array_foreach (records, i, rec) {
        const json_t *v = json_object_get(rec, id);
        struct ingest_cell cell;

        if (!v)
            continue;
        ds_json_cell(v, &pool, &cell);
        token = token || (cell.kind == INGEST_CELL_TEXT && cell.len && ingest_is_missing(&cell));
        ingest_infer_cell(&inf, &cell);
    }
    ds_pool_release(&pool);
    return token ? DSTYPE_TEXT : ingest_infer_type_field(&inf, id);
}

/* The names of a list parameter (primary_key, one index): a list of strings, or a
 * string of names separated by commas (CKAN's get_list), trimmed. New array of
 * borrowed strings in *names (pointing into v or pool). */
static int names_param(const json_t *v, const char *param, struct ds_pool *pool,
                       const char ***names, size_t *n, struct err *err)
{
    size_t alloc = 0, i;
    const json_t *e;

    *names = NULL;
    *n = 0;
    if (!v || json_is_null(v))
        return 0;
    if (json_is_string(v)) {
        const char *s = json_string_value(v);

        while (*s) {
            size_t len = strcspn(s, ",");
            const char *a = s, *b = s + len;

            while (a < b && (*a == ' ' || *a == '\t'))
                a++;
            while (b > a && (b[-1] == ' ' || b[-1] == '\t'))
                b--;
            if (b > a) {
                if (*n >= LIMIT_DATASTORE_FIELDS)
                    return err_set(err, ERR_VALIDATION, param, "\"%s\" names too many fields",
                                   param);
                ALLOC_GROW(*names, *n + 1, alloc);
                (*names)[(*n)++] = ds_pool_add(pool, a, (size_t)(b - a));
            }
            s += len + (s[len] == ',');
        }
        return 0;
    }
    if (!json_is_array(v) || json_array_size(v) > LIMIT_DATASTORE_FIELDS)
        return err_set(err, ERR_VALIDATION, param, "\"%s\" must be a list of field names", param);
    json_array_foreach (v, i, e) {
        if (!json_is_string(e))
            return err_set(err, ERR_VALIDATION, param, "\"%s\" must be a list of field names",
                           param);
        ALLOC_GROW(*names, *n + 1, alloc);
        (*names)[(*n)++] = json_string_value(e);
    }
    return 0;
}

/* Whether name is one of r's columns; *id gets r's own string. */
static bool rows_has(const struct rows *r, const char *name, const char **id)
{
    json_t *col = json_object_get(r->index, name);

    if (!col)
        return false;
    *id = r->cols[json_integer_value(col)];
    return true;
}

/* The catalog's side of a write, after the table changed: datastore_active (when active
 * is not -1 and differs), the status record (removed with the table), the privacy report
 * (privacy, when not NULL: declared classes applied again) and the ledger entry. One
 * transaction. */
static int catalog_after(struct catalog *c, const struct actor *a, const json_t *res,
                         const char *rid, int active, bool drop_status, const char *type,
                         json_t *digest, json_t *privacy, struct err *err)
{
    const char *status = json_string_value(json_object_get(res, "datastore_status"));
    int ret;

    ret = store_begin(c->store, err);
    if (ret)
        return ret;
    if (drop_status)
        ret = store_ds_status_put(c->store, rid, NULL, err);
    if (!ret && privacy)
        ret = ds_privacy_store(c, rid, privacy, err);
    if (!ret && active >= 0 &&
        (json_is_true(json_object_get(res, "datastore_active")) != (active == 1) || drop_status))
        ret = catalog_resource_datastore(c, a, rid, active == 1, drop_status ? NULL : status, NULL,
                                         err);
    if (!ret)
        ret = catalog_resource_record(c, a, rid, type, digest, err);
    if (!ret)
        ret = store_commit(c->store, err);
    if (ret) {
        store_rollback(c->store);
        log_error("datastore: the table of resource \"%s\" changed (%s) but the catalog "
                  "transaction failed: %s",
                  rid, type, err ? err->msg : "");
    }
    return ret;
}

/* ---- datastore_create --------------------------------------------------------------- */

static const char *const create_keys[] = {
        "resource_id",
        "resource",
        "force",
        "fields",
        "records",
        "primary_key",
        "indexes",
        "aliases",
        "triggers",
        "include_records",
        "calculate_record_count",
};

/* The fields parameter: [{"id", "type"?, "info"?}], checked. */
static int fields_param(const json_t *fields, struct err *err)
{
    const json_t *f;
    size_t i, k;

    if (!fields || json_is_null(fields))
        return 0;
    if (!json_is_array(fields))
        return err_set(err, ERR_VALIDATION, "fields", "\"fields\" must be a list of objects");
    if (json_array_size(fields) > LIMIT_DATASTORE_FIELDS)
        return err_set(err, ERR_VALIDATION, "fields", "more than %u fields",
                       LIMIT_DATASTORE_FIELDS);
    json_array_foreach (fields, i, f) {
        const json_t *id = json_object_get(f, "id"), *type = json_object_get(f, "type");
        const json_t *info = json_object_get(f, "info");
        enum dstype t;
        int ret;

        if (!json_is_object(f) || !json_is_string(id))
            return err_set(err, ERR_VALIDATION, "fields",
                           "field %zu must be an object with an \"id\"", i + 1);
        ret = field_id_check(json_string_value(id), json_string_length(id), "fields", err);
        if (ret)
            return ret;
        for (k = 0; k < i; k++)
            if (str_eq(json_string_value(json_object_get(json_array_get(fields, k), "id")),
                       json_string_value(id)))
                return err_set(err, ERR_VALIDATION, "fields",
                               "Duplicate column names are not supported (\"%s\")",
                               json_string_value(id));
        if (type && !json_is_null(type) &&
            (!json_is_string(type) || !dstype_parse(json_string_value(type), &t)))
            return err_set(err, ERR_VALIDATION, "fields",
                           "\"%.40s\" is not a valid field type (text, int8, numeric, bool, "
                           "date, timestamp, json and their aliases)",
                           json_is_string(type) ? json_string_value(type) : "?");
        if (info && !json_is_null(info) && !json_is_object(info))
            return err_set(err, ERR_VALIDATION, "fields",
                           "the \"info\" of field \"%s\" must be an object", json_string_value(id));
        ret = ds_privacy_class_check(json_string_value(id), json_object_get(info, "privacy_class"),
                                     err);
        if (ret)
            return ret;
    }
    return 0;
}

static const json_t *field_param(const json_t *fields, const char *id)
{
    const json_t *f;
    size_t i;

    json_array_foreach (fields, i, f) {
        if (str_eq(json_string_value(json_object_get(f, "id")), id))
            return f;
    }
    return NULL;
}

static bool field_typed(const json_t *f, enum dstype *t)
{
    const char *type = json_string_value(json_object_get(f, "type"));

    return type && dstype_parse(type, t);
}

/* What datastore_create is asked to make of a table. */
struct create {
    struct catalog *c;
    const struct actor *a;
    const char *rid;
    const json_t *fields, *records, *pk_param, *indexes_param;
    struct store_ds_info info; /* the current table, when have_table */
    bool have_table;
    struct rows r;       /* the columns of the table to be */
    struct ds_pool pool; /* names of primary_key and indexes */
    const char **pk;
    size_t npk;
    const char **index_names; /* all indexes' fields, in a row: the table's, then new ones */
    size_t *index_sizes;
    bool *index_new; /* not an index of the table yet */
    size_t nindexes, nnew;
    json_t *meta; /* the meta to store */
    bool rebuild, meta_changed;
    size_t ncurrent; /* columns of the current table (the first ones of r) */
    enum dstype *old_types;
};

static void create_release(struct create *x)
{
    store_ds_info_release(&x->info);
    rows_release(&x->r);
    ds_pool_release(&x->pool);
    free(x->pk);
    free(x->index_names);
    free(x->index_sizes);
    free(x->index_new);
    json_decref(x->meta);
    free(x->old_types);
}

/* The columns of the new table: the current ones (types as the fields ask), then the
 * fields' new ones, then the records' new keys in first-seen order. */
static int create_columns(struct create *x, struct err *err)
{
    struct store_ds_field *cur = NULL;
    struct ds_table t = {NULL, 0};
    size_t alloc = 0, i;
    const json_t *f, *rec;
    int ret = 0;

    if (x->have_table) {
        ret = ds_table_from_info(&x->info, &cur, &t, err);
        if (ret)
            return ret;
        x->ncurrent = t.nfields;
        x->old_types = xcalloc(t.nfields + 1, sizeof(*x->old_types));
        for (i = 0; i < t.nfields; i++) {
            enum dstype type = cur[i].type;

            x->old_types[i] = type;
            f = field_param(x->fields, cur[i].id);
            if (f && field_typed(f, &type) && type != cur[i].type)
                x->rebuild = true;
            rows_add_col(&x->r, ds_pool_add(&x->pool, cur[i].id, strlen(cur[i].id)), type, &alloc);
        }
        free(cur);
    }
    json_array_foreach (x->fields, i, f) {
        const char *id = json_string_value(json_object_get(f, "id")), *own;
        enum dstype type;

        if (rows_has(&x->r, id, &own))
            continue;
        if (!field_typed(f, &type))
            type = infer_type(x->records, id);
        rows_add_col(&x->r, id, type, &alloc);
        x->rebuild = x->rebuild || x->have_table;
    }
    json_array_foreach (x->records, i, rec) {
        const char *key, *own;
        json_t *v;

        json_object_foreach ((json_t *)rec, key, v) {
            (void)v;
            if (rows_has(&x->r, key, &own))
                continue;
            ret = field_id_check(key, strlen(key), "records", err);
            if (ret)
                return ret;
            if (x->r.ncols >= LIMIT_DATASTORE_FIELDS)
                return err_set(err, ERR_VALIDATION, "fields", "more than %u fields",
                               LIMIT_DATASTORE_FIELDS);
            rows_add_col(&x->r, key, infer_type(x->records, key), &alloc);
            x->rebuild = x->rebuild || x->have_table;
        }
    }
    if (x->r.ncols > LIMIT_DATASTORE_FIELDS)
        return err_set(err, ERR_VALIDATION, "fields", "more than %u fields",
                       LIMIT_DATASTORE_FIELDS);
    return 0;
}

/* Whether the n names at names are the index of list (a JSON array of names). */
static bool index_same(const json_t *list, const char *const *names, size_t n)
{
    if (json_array_size(list) != n)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!str_eq(json_string_value(json_array_get(list, i)), names[i]))
            return false;
    return true;
}

/* The indexes to have: the table's own (a rebuild makes them again), then the requested
 * ones it lacks (index_new), each once. */
static int merge_indexes(struct create *x)
{
    const char **names = NULL;
    size_t *sizes = xcalloc(json_array_size(x->info.indexes) + x->nindexes + 1, sizeof(*sizes));
    bool *fresh = xcalloc(json_array_size(x->info.indexes) + x->nindexes + 1, sizeof(*fresh));
    size_t n = 0, total = 0, alloc = 0, i, k;
    const json_t *index, *f;
    json_t *seen = json_array();

    json_array_foreach (x->info.indexes, i, index) {
        json_array_foreach (index, k, f) {
            const char *own = NULL;

            ALLOC_GROW(names, total + 1, alloc);
            names[total++] = rows_has(&x->r, json_string_value(f), &own) ? own : "";
        }
        sizes[n++] = json_array_size(index);
        json_array_append(seen, (json_t *)index);
    }
    for (i = 0, k = 0; i < x->nindexes; k += x->index_sizes[i++]) {
        bool dup = false;
        const json_t *s;
        size_t j;

        json_array_foreach (seen, j, s)
            dup = dup || index_same(s, x->index_names + k, x->index_sizes[i]);
        if (dup)
            continue;
        ALLOC_GROW(names, total + x->index_sizes[i], alloc);
        memcpy(names + total, x->index_names + k, x->index_sizes[i] * sizeof(*names));
        total += x->index_sizes[i];
        fresh[n] = true;
        sizes[n++] = x->index_sizes[i];
        x->nnew++;
        s = json_array();
        for (j = k; j < k + x->index_sizes[i]; j++)
            json_array_append_new((json_t *)s, json_string(x->index_names[j]));
        json_array_append_new(seen, (json_t *)s);
    }
    json_decref(seen);
    free(x->index_names);
    free(x->index_sizes);
    x->index_names = names;
    x->index_sizes = sizes;
    x->index_new = fresh;
    x->nindexes = n;
    return 0;
}

/* primary_key and indexes, checked against the columns. */
static int create_keys_indexes(struct create *x, struct err *err)
{
    const char **names = NULL, *own;
    const json_t *list = x->indexes_param, *e;
    size_t n = 0, i, k, alloc = 0;
    int ret;

    ret = names_param(x->pk_param, "primary_key", &x->pool, &x->pk, &x->npk, err);
    if (ret)
        return ret;
    for (i = 0; i < x->npk; i++) {
        if (!rows_has(&x->r, x->pk[i], &own))
            return err_set(err, ERR_VALIDATION, "primary_key", "field \"%.80s\" not in table",
                           x->pk[i]);
        x->pk[i] = own;
        for (k = 0; k < i; k++)
            if (x->pk[k] == own)
                return err_set(err, ERR_VALIDATION, "primary_key", "field \"%s\" is named twice",
                               own);
    }
    if (x->have_table && x->pk_param && !json_is_null(x->pk_param)) {
        bool same = x->npk == json_array_size(x->info.primary_key);

        for (i = 0; same && i < x->npk; i++)
            same = str_eq(x->pk[i], json_string_value(json_array_get(x->info.primary_key, i)));
        x->rebuild = x->rebuild || !same;
    } else if (x->have_table) {
        /* No primary_key: the table keeps its own. */
        free(x->pk);
        x->pk = NULL;
        x->npk = 0;
        json_array_foreach (x->info.primary_key, i, e) {
            ALLOC_GROW(x->pk, x->npk + 1, alloc);
            x->pk[x->npk++] = json_string_value(e);
        }
        alloc = 0;
    }
    /* indexes: "a,b" (two indexes), or a list of indexes, each a name or a list of names
     * (or "a,b": one index of two fields), as CKAN's get_list reads them. */
    if (!list || json_is_null(list))
        return merge_indexes(x);
    if (json_is_string(list)) {
        ret = names_param(list, "indexes", &x->pool, &names, &n, err);
        if (ret)
            return ret;
        x->index_sizes = xcalloc(n + 1, sizeof(*x->index_sizes));
        for (i = 0; i < n; i++)
            x->index_sizes[i] = 1;
        x->index_names = names;
        x->nindexes = n;
    } else if (json_is_array(list) && json_array_size(list) <= LIMIT_DATASTORE_FIELDS) {
        size_t total = 0;

        x->index_sizes = xcalloc(json_array_size(list) + 1, sizeof(*x->index_sizes));
        json_array_foreach (list, i, e) {
            ret = names_param(e, "indexes", &x->pool, &names, &n, err);
            if (ret)
                return ret;
            if (!n) {
                free(names);
                continue;
            }
            ALLOC_GROW(x->index_names, total + n, alloc);
            memcpy(x->index_names + total, names, n * sizeof(*names));
            total += n;
            x->index_sizes[x->nindexes++] = n;
            free(names);
            if (total > LIMIT_DATASTORE_FIELDS * 4u)
                return err_set(err, ERR_VALIDATION, "indexes", "too many indexes");
        }
    } else {
        return err_set(err, ERR_VALIDATION, "indexes",
                       "\"indexes\" must be a list of field names or of lists of them");
    }
    for (i = 0, k = 0; i < x->nindexes; k += x->index_sizes[i++]) {
        for (size_t j = k; j < k + x->index_sizes[i]; j++) {
            if (!rows_has(&x->r, x->index_names[j], &own))
                return err_set(err, ERR_VALIDATION, "indexes",
                               "The field \"%.80s\" is not a valid column name.",
                               x->index_names[j]);
            x->index_names[j] = own;
        }
    }
    return merge_indexes(x);
}

/* The meta to store: the current one, with the fields' info in fields_info. */
static void create_meta(struct create *x)
{
    json_t *finfo;
    const json_t *f;
    size_t i;

    x->meta = x->have_table && json_is_object(x->info.meta) ? json_deep_copy(x->info.meta)
                                                            : json_object();
    finfo = json_object_get(x->meta, "fields_info");
    if (!json_is_object(finfo)) {
        finfo = json_object();
        json_object_set_new(x->meta, "fields_info", finfo);
    }
    json_array_foreach (x->fields, i, f) {
        const json_t *info = json_object_get(f, "info");
        const char *id = json_string_value(json_object_get(f, "id"));

        if (json_is_object(info)) {
            json_object_set_new(finfo, id, json_deep_copy(info));
            x->meta_changed = true;
        }
    }
}

/* Copies the current rows into build b under the new columns (old values converted when a
 * field's type changes: one that does not fit is an error naming its _id and field). */
static int copy_rows(struct create *x, struct store_ds_build *b, struct err *err)
{
    struct store_ds_query q;
    struct store_ds_cursor *cur = NULL;
    const char **names = xcalloc(x->ncurrent + 2, sizeof(*names));
    struct dsvalue *row = xcalloc(x->r.ncols + 1, sizeof(*row));
    char(*scratch)[INGEST_SCRATCH] = xcalloc(x->ncurrent + 1, sizeof(*scratch));
    char(*num)[24] = xcalloc(x->ncurrent + 1, sizeof(*num));
    const struct dsvalue *values;
    int ret;

    memset(&q, 0, sizeof(q));
    names[0] = "_id";
    for (size_t j = 0; j < x->ncurrent; j++)
        names[j + 1] = x->r.cols[j];
    q.resource_id = x->rid;
    q.fields = names;
    q.nfields = x->ncurrent + 1;
    ret = store_ds_search(x->c->store, &q, &cur, NULL, err);
    while (!ret && (ret = store_ds_cursor_next(cur, &values, err)) == 1) {
        ret = 0;
        for (size_t j = 0; j < x->ncurrent && !ret; j++) {
            const struct dsvalue *v = &values[j + 1];
            struct ingest_cell cell = {INGEST_CELL_EMPTY, "", 0};
            struct err e = ERR_INIT;

            if (x->r.types[j] == x->old_types[j]) {
                row[j] = *v;
                continue;
            }
            if (v->kind == DSVALUE_INT) {
                /* The converted value may point at this text until the row is built. */
                xsnprintf(num[j], sizeof(num[j]), "%" PRId64, v->i);
                cell = (struct ingest_cell){INGEST_CELL_NUMBER, num[j], strlen(num[j])};
            } else if (v->kind == DSVALUE_TEXT) {
                cell = (struct ingest_cell){x->old_types[j] == DSTYPE_JSON ? INGEST_CELL_JSON
                                                                           : INGEST_CELL_TEXT,
                                            v->s, v->len};
            }
            if (ds_cell_convert(x->r.types[j], &cell, scratch[j], &row[j], &e))
                ret = err_set(err, ERR_VALIDATION, "fields",
                              "field \"%s\" cannot become %s: the record with _id %" PRId64
                              " has %s",
                              x->r.cols[j], dstype_name(x->r.types[j]), values[0].i, e.msg);
        }
        if (!ret)
            ret = store_ds_build_row(b, row, err);
    }
    store_ds_cursor_free(cur);
    free(names);
    free(row);
    free(scratch);
    free(num);
    return ret;
}

/* A new table, or the current one rebuilt with new fields, types or key, and the
 * records appended. */
static int create_build(struct create *x, uint64_t *nrows, struct err *err)
{
    struct store_ds_field *fields = xcalloc(x->r.ncols + 1, sizeof(*fields));
    const char *const **index_lists = xcalloc(x->nindexes + 1, sizeof(*index_lists));
    struct store_ds_table_def def;
    struct store_ds_build *b = NULL;
    int ret;

    for (size_t j = 0; j < x->r.ncols; j++) {
        fields[j].id = x->r.cols[j];
        fields[j].type = x->r.types[j];
    }
    for (size_t i = 0, k = 0; i < x->nindexes; k += x->index_sizes[i++])
        index_lists[i] = x->index_names + k;
    memset(&def, 0, sizeof(def));
    def.fields = fields;
    def.nfields = x->r.ncols;
    def.primary_key = x->pk;
    def.nprimary_key = x->npk;
    def.indexes = index_lists;
    def.index_sizes = x->index_sizes;
    def.nindexes = x->nindexes;
    def.fulltext = true;
    def.tokenize = catalog_search_text;
    ret = store_ds_build_begin(x->c->store, x->rid, &def, &b, err);
    if (!ret && x->have_table)
        ret = copy_rows(x, b, err);
    for (size_t i = 0; !ret && i < x->r.nrows; i++)
        ret = store_ds_build_row(b, x->r.values + i * x->r.ncols, err);
    if (ret)
        store_ds_build_abort(b);
    else
        ret = store_ds_build_commit(b, x->meta, nrows, err);
    free(fields);
    free(index_lists);
    return ret;
}

/* Appends the records to the current table in place (no new field, type or key). */
static int create_append(struct create *x, struct err *err)
{
    const char **cols = xcalloc(x->r.ncols + 1, sizeof(*cols));
    struct dsvalue *values;
    size_t used = 0, *map = xcalloc(x->r.ncols + 1, sizeof(*map));
    bool *named = xcalloc(x->r.ncols + 1, sizeof(*named));
    const json_t *rec;
    size_t i;
    uint64_t count = 0;
    int ret;

    /* Only the fields some record names: the others stay NULL, as an insert leaves
     * them. */
    json_array_foreach (x->records, i, rec) {
        const char *key;
        json_t *v;

        json_object_foreach ((json_t *)rec, key, v) {
            (void)v;
            named[json_integer_value(json_object_get(x->r.index, key))] = true;
        }
    }
    for (size_t j = 0; j < x->r.ncols; j++)
        if (named[j]) {
            map[used] = j;
            cols[used++] = x->r.cols[j];
        }
    values = xcalloc(x->r.nrows * used + 1, sizeof(*values));
    for (i = 0; i < x->r.nrows; i++)
        for (size_t k = 0; k < used; k++)
            values[i * used + k] = x->r.values[i * x->r.ncols + map[k]];
    ret = store_ds_upsert(x->c->store, x->rid, STORE_DS_INSERT, cols, used, values, x->r.nrows,
                          &count, err);
    free(cols);
    free(values);
    free(map);
    free(named);
    return ret;
}

/* The columns, key, indexes and records of x checked and converted (create_columns,
 * create_keys_indexes, rows_convert), and ids that differ only in case refused as the
 * store would refuse them (SQL takes them for one): what can fail before a table is
 * built. */
static int create_prepare(struct create *x, struct err *err)
{
    int ret = create_columns(x, err);

    if (!ret)
        ret = create_keys_indexes(x, err);
    if (!ret)
        ret = rows_convert(&x->r, x->records, err);
    for (size_t i = 0; !ret && i < x->r.ncols; i++)
        for (size_t j = 0; j < i; j++)
            if (!strcasecmp(x->r.cols[j], x->r.cols[i]))
                return err_set(err, ERR_VALIDATION, "fields",
                               "field ids \"%s\" and \"%s\" differ only in case: SQL would "
                               "take them for one",
                               x->r.cols[j], x->r.cols[i]);
    return ret;
}

int datastore_create(struct catalog *c, const struct actor *a, json_t *params, json_t **result,
                     struct err *err)
{
    struct create x;
    json_t *res = NULL, *created = NULL, *digest = NULL, *fields_out = NULL, *retype = NULL, *v;
    json_t *privacy = NULL;
    const json_t *resource = json_object_get(params, "resource");
    const char *rid = NULL;
    bool force, locked = false, prepared = false;
    uint64_t nrows = 0;
    int ret;

    *result = NULL;
    memset(&x, 0, sizeof(x));
    rows_init(&x.r);
    ret = ds_check_keys(params, "datastore_create", create_keys, ARRAY_SIZE(create_keys), err);
    if (ret)
        goto out;
    v = json_object_get(params, "aliases");
    if (!ret && v && !json_is_null(v) && !(json_is_array(v) && !json_array_size(v)) &&
        !(json_is_string(v) && !json_string_length(v)))
        ret = err_set(err, ERR_VALIDATION, "aliases", "aliases are not supported");
    v = json_object_get(params, "triggers");
    if (!ret && v && !json_is_null(v) && !(json_is_array(v) && !json_array_size(v)))
        ret = err_set(err, ERR_VALIDATION, "triggers", "triggers are not supported");
    if (!ret)
        ret = ds_param_bool(params, "force", false, &force, err);
    if (!ret)
        ret = ds_param_str(params, "resource_id", &rid, err);
    if (ret)
        goto out;
    if (resource && !json_is_null(resource) && rid && *rid) {
        ret = err_set(err, ERR_VALIDATION, "resource", "resource cannot be used with resource_id");
        goto out;
    }
    if ((!resource || json_is_null(resource)) && (!rid || !*rid)) {
        ret = err_set(err, ERR_VALIDATION, "resource_id", "resource_id or resource required");
        goto out;
    }
    x.fields = json_object_get(params, "fields");
    if (json_is_null(x.fields))
        x.fields = NULL;
    ret = fields_param(x.fields, err);
    if (!ret)
        ret = records_param(params, &x.records, err);
    if (ret)
        goto out;
    x.pk_param = json_object_get(params, "primary_key");
    x.indexes_param = json_object_get(params, "indexes");

    if (resource && !json_is_null(resource)) {
        json_t *rparams;

        if (!json_is_object(resource)) {
            ret = err_set(err, ERR_VALIDATION, "resource", "\"resource\" must be an object");
            goto out;
        }
        /* CKAN: a table-only resource (no url: the datapusher is not Kaifang's way). */
        if (json_object_get(resource, "url") || json_object_get(resource, "upload")) {
            ret = err_set(err, ERR_VALIDATION, "resource",
                          "a resource made by datastore_create has no url: upload the file "
                          "with resource_create instead (it is ingested)");
            goto out;
        }
        /* All or nothing: the fields and records are checked before the resource is
         * made (a new resource has no table: what create_prepare makes now is what it
         * would make after), so that a request that cannot succeed writes nothing. */
        ret = create_prepare(&x, err);
        if (ret)
            goto out;
        prepared = true;
        rparams = json_deep_copy(resource);
        ret = catalog_resource_create(c, a, rparams, NULL, &created, err);
        json_decref(rparams);
        if (ret)
            goto out;
        rid = json_string_value(json_object_get(created, "id"));
    }
    ret = catalog_resource_authorize(c, a, rid, true, &res, NULL, err);
    if (ret)
        goto out;
    x.c = c;
    x.a = a;
    x.rid = rid;
    store_ds_set_tokenizer(c->store, catalog_search_text);
    pthread_mutex_lock(&write_lock);
    locked = true;
    ret = store_ds_info(c->store, rid, &x.info, err);
    x.have_table = !ret;
    if (ret == -ERR_NOT_FOUND) {
        err_clear(err);
        ret = 0;
    }
    if (!ret)
        ret = read_only_check(res, x.have_table ? x.info.meta : NULL, force, err);
    if (ret)
        goto out;

    /* A table ingested from a file changes type through a new ingest of the file (the
     * values are read again from their source, not from what the old types made of
     * them): ds_retype, which records its own datastore_ingest entry. */
    if (x.have_table && json_object_get(x.info.meta, "source") && x.fields) {
        struct store_ds_field *cur = NULL;
        struct ds_table t;
        const json_t *f;
        bool change = false;
        size_t i;

        ret = ds_table_from_info(&x.info, &cur, &t, err);
        if (ret)
            goto out;
        retype = json_array();
        json_array_foreach (x.fields, i, f) {
            const char *id = json_string_value(json_object_get(f, "id")), *own;
            enum dstype old, want;

            if (ds_table_field(&t, id, strlen(id), &own, &old))
                continue;
            json_array_append(retype, (json_t *)f);
            change = change || (field_typed(f, &want) && want != old);
        }
        free(cur);
        if (change) {
            ret = ds_retype(c, a, rid, retype, err);
            store_ds_info_release(&x.info);
            if (!ret)
                ret = store_ds_info(c->store, rid, &x.info, err);
            if (ret)
                goto out;
        }
    }
    BUG_ON(prepared && x.have_table); /* the resource was made by this call */
    if (!prepared)
        ret = create_prepare(&x, err);
    if (ret)
        goto out;
    create_meta(&x);
    /* The publish gate: the table as the records would leave it is scanned before
     * anything is written, and a public dataset refuses it when it is blocked (409,
     * nothing written; a resource made by this call goes again). Its report is stored
     * with the ledger entry. docs/internals/privacy-gate.md, "Writes through the API". */
    if (x.r.nrows) {
        json_t *refused = NULL;

        ret = ds_privacy_write_report(c, rid, x.r.cols, x.r.ncols, x.r.values, x.r.nrows,
                                      json_object_get(x.meta, "fields_info"), a ? a->name : NULL,
                                      x.r.sha256, &privacy, err);
        if (!ret)
            ret = ds_privacy_write_check(c, rid, privacy, &refused, err);
        if (ret) {
            *result = refused;
            goto out;
        }
    }
    /* In place when one store write does it (records, the data dictionary, or one new
     * index); more than one would not be all or nothing: a rebuild, one swap, is. */
    if (x.have_table && !x.rebuild && (x.r.nrows > 0) + x.meta_changed + x.nnew > 1)
        x.rebuild = true;
    if (!x.have_table || x.rebuild) {
        ret = create_build(&x, &nrows, err);
    } else if (x.r.nrows) {
        ret = create_append(&x, err);
    } else if (x.meta_changed) {
        ret = store_ds_meta_put(c->store, rid, x.meta, err);
    } else {
        for (size_t i = 0, k = 0; !ret && i < x.nindexes; k += x.index_sizes[i++])
            if (x.index_new[i])
                ret = store_ds_index_create(c->store, rid, x.index_names + k, x.index_sizes[i],
                                            err);
    }
    if (ret)
        goto out;

    fields_out = json_array();
    for (size_t j = 0; j < x.r.ncols; j++) {
        json_t *f = json_pack("{s:s,s:s}", "id", x.r.cols[j], "type", dstype_name(x.r.types[j]));
        json_t *info = ds_field_info(x.meta, x.r.cols[j]);

        if (info)
            json_object_set(f, "info", info);
        json_array_append_new(fields_out, f);
    }
    digest = json_pack("{s:s,s:O,s:[],s:I,s:s}", "resource_id", rid, "fields", fields_out,
                       "primary_key", "records", (json_int_t)x.r.nrows, "records_sha256",
                       x.r.sha256);
    BUG_ON(!digest);
    for (size_t i = 0; i < x.npk; i++)
        json_array_append_new(json_object_get(digest, "primary_key"), json_string(x.pk[i]));
    /* Classes declared in the data dictionary change what the gate sees (the report of
     * the records written has them already). */
    if (x.meta_changed && !privacy)
        ret = ds_privacy_redeclare(c, rid, x.meta, &privacy, err);
    if (!ret)
        ret = catalog_after(c, a, res, rid, 1, false, "datastore_create", digest, privacy, err);
    if (ret)
        goto out;

    *result = json_pack("{s:s,s:O}", "resource_id", rid, "fields", fields_out);
    BUG_ON(!*result);
    if (x.npk)
        json_object_set(*result, "primary_key", json_object_get(digest, "primary_key"));
    if (x.indexes_param && !json_is_null(x.indexes_param))
        json_object_set(*result, "indexes", (json_t *)x.indexes_param);
    if (x.records) {
        bool include = false;

        json_object_set_new(*result, "method", json_string("insert"));
        if (!ds_param_bool(params, "include_records", false, &include, NULL) && include)
            json_object_set(*result, "records", (json_t *)x.records);
    }
out:
    if (locked)
        pthread_mutex_unlock(&write_lock);
    if (ret && created) {
        /* All or nothing: the resource made for this call goes again (its table, if one
         * was built, with it) when what create_prepare could not check fails (a primary
         * key repeated among the records, a store error). The ledger keeps both entries:
         * it never forgets. */
        json_t *del = json_pack("{s:O}", "id", json_object_get(created, "id")), *gone = NULL;
        struct err e = ERR_INIT;

        BUG_ON(!del);
        if (catalog_resource_delete(c, a, del, &gone, &e))
            log_error("datastore: datastore_create failed, and removing the resource it made "
                      "failed too: %s",
                      e.msg);
        json_decref(del);
        json_decref(gone);
    }
    create_release(&x);
    json_decref(privacy);
    json_decref(res);
    json_decref(created);
    json_decref(digest);
    json_decref(fields_out);
    json_decref(retype);
    return ret;
}

/* ---- datastore_upsert -------------------------------------------------------------- */

static const char *const upsert_keys[] = {
        "resource_id",
        "id",
        "records",
        "method",
        "force",
        "include_records",
        "calculate_record_count",
};

int datastore_upsert(struct catalog *c, const struct actor *a, json_t *params, json_t **result,
                     struct err *err)
{
    static const char *const methods[] = {"insert", "upsert", "update"};
    struct store_ds_info info = {0};
    struct store_ds_field *tf = NULL;
    struct ds_table t;
    struct rows r;
    const json_t *records = NULL, *first;
    json_t *res = NULL, *digest = NULL, *privacy = NULL, *refused = NULL;
    const char *rid, *method = "upsert", *key;
    enum store_ds_method m = STORE_DS_UPSERT;
    bool force, locked = false;
    uint64_t count = 0;
    size_t i, alloc = 0;
    int ret;

    *result = NULL;
    rows_init(&r);
    ret = ds_check_keys(params, "datastore_upsert", upsert_keys, ARRAY_SIZE(upsert_keys), err);
    if (!ret)
        ret = ds_resource_id(params, &rid, err);
    if (!ret)
        ret = ds_param_bool(params, "force", false, &force, err);
    if (!ret)
        ret = ds_param_str(params, "method", &key, err);
    if (ret)
        goto out;
    if (key && *key) {
        for (i = 0; i < ARRAY_SIZE(methods) && strcmp(methods[i], key); i++)
            ;
        if (i == ARRAY_SIZE(methods)) {
            ret = err_set(err, ERR_VALIDATION, "method",
                          "Value must be one of: upsert; insert; update (not \"%.40s\")", key);
            goto out;
        }
        method = methods[i];
        m = i == 0 ? STORE_DS_INSERT : i == 1 ? STORE_DS_UPSERT : STORE_DS_UPDATE;
    }
    ret = records_param(params, &records, err);
    if (!ret)
        ret = catalog_resource_authorize(c, a, rid, true, &res, NULL, err);
    if (ret)
        goto out;
    store_ds_set_tokenizer(c->store, catalog_search_text);
    pthread_mutex_lock(&write_lock);
    locked = true;
    ret = store_ds_info(c->store, rid, &info, err);
    if (!ret)
        ret = read_only_check(res, info.meta, force, err);
    if (!ret)
        ret = ds_table_from_info(&info, &tf, &t, err);
    if (ret)
        goto out;
    /* The columns: the keys the records give. An update or upsert changes the fields it
     * names and keeps the others; records naming different fields would need one store
     * call each (not all or nothing), so they are refused. */
    first = json_array_get(records, 0);
    json_array_foreach (records, i, first) {
        json_t *v;

        json_object_foreach ((json_t *)first, key, v) {
            const char *own;
            enum dstype type;

            (void)v;
            if (json_object_get(r.index, key))
                continue;
            if (ds_table_field(&t, key, strlen(key), &own, &type)) {
                ret = err_set(err, ERR_VALIDATION, "records",
                              "record %zu: field \"%.80s\" not in table", i + 1, key);
                goto out;
            }
            if (m != STORE_DS_INSERT && i > 0) {
                ret = err_set(err, ERR_VALIDATION, "records",
                              "record %zu names field \"%s\", which record 1 does not: the "
                              "records of an %s must name the same fields (send the others "
                              "in another call)",
                              i + 1, own, method);
                goto out;
            }
            rows_add_col(&r, own, type, &alloc);
        }
        if (m != STORE_DS_INSERT && json_object_size(first) != r.ncols) {
            ret = err_set(err, ERR_VALIDATION, "records",
                          "record %zu names fewer fields than record 1: the records of an %s "
                          "must name the same fields (send the others in another call)",
                          i + 1, method);
            goto out;
        }
    }
    ret = rows_convert(&r, records, err);
    /* The publish gate, as for datastore_create: scanned before the write (an upsert or
     * update counts the rows it replaces too), refused in a public dataset when blocked,
     * nothing written. */
    if (!ret && r.nrows) {
        ret = ds_privacy_write_report(c, rid, r.cols, r.ncols, r.values, r.nrows,
                                      json_object_get(info.meta, "fields_info"), a ? a->name : NULL,
                                      r.sha256, &privacy, err);
        if (!ret)
            ret = ds_privacy_write_check(c, rid, privacy, &refused, err);
        if (ret)
            goto out;
    }
    if (!ret && r.nrows)
        ret = store_ds_upsert(c->store, rid, m, r.cols, r.ncols, r.values, r.nrows, &count, err);
    if (ret == -ERR_NOT_FOUND && err && str_eq(err->field, "records")) {
        /* An update of a key no record has: CKAN's 409 naming "key". */
        char msg[ERR_MSG_MAX];

        xsnprintf(msg, sizeof(msg), "%s", err->msg);
        err_clear(err);
        ret = err_set(err, ERR_VALIDATION, "key", "key not found: %s", msg);
    }
    if (ret)
        goto out;
    digest = json_pack("{s:s,s:s,s:I,s:s}", "resource_id", rid, "method", method, "records",
                       (json_int_t)r.nrows, "records_sha256", r.sha256);
    BUG_ON(!digest);
    if (privacy && m != STORE_DS_INSERT) {
        /* What the rows replaced held is gone: the report of the table as it is now. A
         * report that blocks withholds the resource (privacy-gate.md, 3). */
        json_decref(privacy);
        privacy = NULL;
        ret = ds_privacy_write_report(c, rid, NULL, 0, NULL, 0,
                                      json_object_get(info.meta, "fields_info"), a ? a->name : NULL,
                                      r.sha256, &privacy, err);
        if (ret)
            goto out;
    }
    ret = catalog_after(c, a, res, rid, -1, false, "datastore_upsert", digest, privacy, err);
    if (ret)
        goto out;
    *result = json_pack("{s:s,s:s}", "resource_id", rid, "method", method);
    BUG_ON(!*result);
    if (records) {
        bool include = false;

        if (!ds_param_bool(params, "include_records", false, &include, NULL) && include)
            json_object_set(*result, "records", (json_t *)records);
    }
out:
    if (locked)
        pthread_mutex_unlock(&write_lock);
    if (ret && refused)
        *result = refused;
    else
        json_decref(refused);
    rows_release(&r);
    store_ds_info_release(&info);
    free(tf);
    json_decref(res);
    json_decref(digest);
    json_decref(privacy);
    return ret;
}

/* ---- datastore_delete ------------------------------------------------------------------ */

static const char *const delete_keys[] = {
        "resource_id", "id", "filters", "force", "calculate_record_count",
};

int datastore_delete(struct catalog *c, const struct actor *a, json_t *params, json_t **result,
                     struct err *err)
{
    struct store_ds_info info = {0};
    struct store_ds_field *tf = NULL;
    struct ds_filters filters;
    struct ds_table t;
    json_t *res = NULL, *digest = NULL, *privacy = NULL, *old = NULL;
    const json_t *fv = json_object_get(params, "filters");
    const char *rid;
    bool force, all, locked = false;
    uint64_t count = 0;
    int ret;

    *result = NULL;
    memset(&filters, 0, sizeof(filters));
    ret = ds_check_keys(params, "datastore_delete", delete_keys, ARRAY_SIZE(delete_keys), err);
    if (!ret)
        ret = ds_resource_id(params, &rid, err);
    if (!ret)
        ret = ds_param_bool(params, "force", false, &force, err);
    if (!ret)
        ret = catalog_resource_authorize(c, a, rid, true, &res, NULL, err);
    if (ret)
        goto out;
    store_ds_set_tokenizer(c->store, catalog_search_text);
    pthread_mutex_lock(&write_lock);
    locked = true;
    ret = store_ds_info(c->store, rid, &info, err);
    if (!ret)
        ret = read_only_check(res, info.meta, force, err);
    if (!ret)
        ret = ds_table_from_info(&info, &tf, &t, err);
    if (!ret)
        ret = ds_filters_parse(fv, &t, &filters, err);
    if (ret)
        goto out;
    /* No filters, or {}: the whole table goes (CKAN). */
    all = !filters.n;
    if (all) {
        ret = store_ds_drop(c->store, rid, err);
        count = info.rows;
    } else {
        ret = store_ds_delete(c->store, rid, filters.f, filters.n, &count, err);
    }
    if (ret)
        goto out;
    digest = json_pack("{s:s,s:O?,s:I}", "resource_id", rid, "filters", all ? NULL : filters.echo,
                       "deleted", (json_int_t)count);
    BUG_ON(!digest);
    /* Fewer rows can mean smaller classes: a scanned table is scanned again, and a report
     * that now blocks withholds the resource (privacy-gate.md, 3). */
    if (!all && count && !store_privacy_report_get(c->store, rid, &old, NULL))
        ret = ds_privacy_write_report(c, rid, NULL, 0, NULL, 0,
                                      json_object_get(info.meta, "fields_info"), a ? a->name : NULL,
                                      NULL, &privacy, err);
    if (!ret)
        ret = catalog_after(c, a, res, rid, all ? 0 : -1, all, "datastore_delete", digest, privacy,
                            err);
    if (ret)
        goto out;
    *result = json_pack("{s:s}", "resource_id", rid);
    BUG_ON(!*result);
    /* CKAN answers with the filters sent (a query string's text as the object). */
    if (json_is_object(fv))
        json_object_set(*result, "filters", (json_t *)fv);
    else if (json_is_string(fv) && json_string_length(fv))
        json_object_set_new(*result, "filters",
                            json_loadb(json_string_value(fv), json_string_length(fv), 0, NULL));
out:
    if (locked)
        pthread_mutex_unlock(&write_lock);
    ds_filters_release(&filters);
    store_ds_info_release(&info);
    free(tf);
    json_decref(res);
    json_decref(digest);
    json_decref(privacy);
    json_decref(old);
    return ret;
}

/* ---- datastore_info ---------------------------------------------------------------------- */

static const char *const info_keys[] = {
        "id",
        "resource_id",
        "include_meta",
        "include_fields_schema",
};

/* Whether field id is in one of the table's indexes (the primary key's included). */
static bool indexed(const struct store_ds_info *info, const char *id, bool *unique)
{
    const json_t *index, *f;
    size_t i, k;
    bool found = false;

    *unique = json_array_size(info->primary_key) == 1 &&
              str_eq(json_string_value(json_array_get(info->primary_key, 0)), id);
    json_array_foreach (info->primary_key, i, f)
        found = found || str_eq(json_string_value(f), id);
    json_array_foreach (info->indexes, i, index) {
        json_array_foreach (index, k, f)
            found = found || str_eq(json_string_value(f), id);
    }
    return found;
}

int datastore_info(struct catalog *c, const struct actor *a, json_t *params, json_t **result,
                   struct err *err)
{
    struct store_ds_info info = {0};
    json_t *meta = NULL, *fields = NULL, *f;
    const char *rid, *key;
    bool with_meta, with_schema;
    size_t i;
    int ret;

    *result = NULL;
    ret = ds_check_keys(params, "datastore_info", info_keys, ARRAY_SIZE(info_keys), err);
    if (!ret)
        ret = ds_resource_id(params, &rid, err);
    if (!ret)
        ret = ds_param_bool(params, "include_meta", true, &with_meta, err);
    if (!ret)
        ret = ds_param_bool(params, "include_fields_schema", true, &with_schema, err);
    if (!ret)
        ret = catalog_resource_authorize(c, a, rid, false, NULL, NULL, err);
    if (!ret)
        ret = store_ds_info(c->store, rid, &info, err);
    if (ret)
        goto out;
    /* CKAN 2.10's meta (no sizes: the store does not say), then what Kaifang keeps: the
     * ingest's source, options and time. The data dictionary is in the fields. */
    meta = json_pack("{s:s,s:I,s:s,s:[]}", "id", rid, "count", (json_int_t)info.rows, "table_type",
                     "BASE TABLE", "aliases");
    BUG_ON(!meta);
    json_object_foreach (info.meta, key, f) {
        if (strcmp(key, "fields_info") && !json_object_get(meta, key))
            json_object_set(meta, key, f);
    }
    fields = json_array();
    json_array_foreach (info.fields, i, f) {
        const char *id = json_string_value(json_object_get(f, "id"));
        json_t *out = json_pack("{s:O,s:O}", "id", json_object_get(f, "id"), "type",
                                json_object_get(f, "type"));
        json_t *dict = ds_field_info(info.meta, id);
        bool unique, is_index;

        BUG_ON(!out);
        if (dict)
            json_object_set(out, "info", dict);
        if (with_schema) {
            bool notnull = false;
            const json_t *k;
            size_t j;

            is_index = indexed(&info, id, &unique);
            json_array_foreach (info.primary_key, j, k)
                notnull = notnull || str_eq(json_string_value(k), id);
            /* index_name: CKAN's is PostgreSQL's; the store names none. */
            json_object_set_new(out, "schema",
                                json_pack("{s:O,s:b,s:b,s:b,s:n}", "native_type",
                                          json_object_get(f, "type"), "notnull", notnull,
                                          "is_index", is_index, "uniquekey", unique, "index_name"));
        }
        json_array_append_new(fields, out);
    }
    *result = json_pack("{s:O}", "fields", fields);
    BUG_ON(!*result);
    if (with_meta)
        json_object_set(*result, "meta", meta);
    if (json_array_size(info.primary_key))
        json_object_set(*result, "primary_key", info.primary_key);
out:
    store_ds_info_release(&info);
    json_decref(meta);
    json_decref(fields);
    return ret;
}
