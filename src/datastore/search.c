/*
 * search.c - datastore_search and datastore_search_sql (CKAN 2.10 docs, "DataStore
 * extension: API reference"), as CKAN lays their answers out, with records whose
 * numbers keep their exact text. docs/internals/datastore.md, "API".
 *
 * Each action has two forms. The catalog_action_fn (datastore_search) gives the result
 * as a json_t, for in-process callers: jansson holds numbers as int64 or double, so there
 * numbers jansson cannot hold exactly are approximated (DS_NUMBERS_JANSSON). The _text
 * form (datastore_search_text), which the HTTP API uses, puts a placeholder string in
 * "records" and the records' exact JSON text beside it, for the API layer to splice in
 * (api_ckan_call_text, as package_search does): the text that came in is the text that
 * goes out.
 */
#include <jansson.h>

#include "core/limits.h"
#include "access/grant.h"
#include "datastore/datastore-int.h"
#include "store/store-datastore.h"
#include "core/util.h"

/* A JSON string of s (len bytes), bytes that are not UTF-8 as U+FFFD. New reference. */
static json_t *string_lossy(const char *s, size_t len)
{
    struct buf text = BUF_INIT;
    json_t *v = json_stringn(s, len);

    if (v)
        return v;
    ds_json_string(&text, s, len);
    v = json_loadb(text.buf, text.len, JSON_DECODE_ANY | JSON_ALLOW_NUL, NULL);
    buf_release(&text);
    return v ? v : json_string("");
}

/* The fields of a cursor as CKAN lists them: [{"id", "type", "info"?}], "_id" as "int"
 * (CKAN's serial column). */
static json_t *cursor_fields(struct store_ds_cursor *cur, const json_t *meta)
{
    json_t *fields = json_array();

    for (size_t i = 0; i < store_ds_cursor_ncolumns(cur); i++) {
        const char *id = store_ds_cursor_column(cur, i);
        bool is_id = str_eq(id, "_id");
        json_t *f = json_pack("{s:s,s:s}", "id", id ? id : "", "type",
                              is_id ? "int" : dstype_name(store_ds_cursor_type(cur, i)));
        json_t *info = is_id || !meta ? NULL : ds_field_info(meta, id);

        BUG_ON(!f);
        if (info)
            json_object_set(f, "info", info);
        json_array_append_new(fields, f);
    }
    return fields;
}

/* The records of text (objects or lists) for the result: the placeholder, with the
 * text appended to records_text, or the text parsed. */
static int records_json(struct buf *text, struct buf *records_text, json_t **out, struct err *err)
{
    if (records_text) {
        buf_add(records_text, text->buf, text->len);
        if (buf_failed(records_text))
            return err_set(err, ERR_TOO_LARGE, "limit",
                           "the records asked for are too large to answer at once: ask for "
                           "fewer (limit, fields)");
        *out = json_string(catalog_splice_token());
        return 0;
    }
    *out = json_loadb(text->buf, text->len, JSON_DECODE_ANY | JSON_ALLOW_NUL, NULL);
    if (!*out)
        return err_set(err, ERR_INTERNAL, NULL, "the records do not read back as JSON");
    return 0;
}

/* ---- _links ----------------------------------------------------------------------------- */

/* Python's urllib.parse.quote_plus, as CKAN's links are written. */
static void quote_plus(struct buf *out, const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];

        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
            c == '_' || c == '.' || c == '-' || c == '~')
            buf_addch(out, (char)c);
        else if (c == ' ')
            buf_addch(out, '+');
        else
            buf_addf(out, "%%%02X", c);
    }
}

static void query_arg(struct buf *out, const char *key, const json_t *v)
{
    char *text;

    if (out->buf[out->len - 1] != '?')
        buf_addch(out, '&');
    quote_plus(out, key, strlen(key));
    buf_addch(out, '=');
    if (json_is_string(v)) {
        quote_plus(out, json_string_value(v), json_string_length(v));
        return;
    }
    text = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
    if (text)
        quote_plus(out, text, strlen(text));
    free(text);
}

/*
 * CKAN's _links: "start", the query without offset, and "next", with offset + limit,
 * relative to the site ("/api/3/action/datastore_search?…"). CKAN takes them from the
 * request's URL, so for a POST they hold no parameter; here they are made of the
 * parameters however they came, so that following them with GET gives the next page.
 */
static json_t *links(struct catalog *c, const json_t *params, uint64_t limit, uint64_t offset)
{
    const char *site = c->site_url ? c->site_url : "", *p = strstr(site, "://");
    struct buf start = BUF_INIT, next = BUF_INIT;
    /* Saturated: a page past INT64_MAX rows is as empty as the one at it. */
    json_t *v, *off = json_integer(offset > (uint64_t)INT64_MAX - limit
                                           ? INT64_MAX
                                           : (json_int_t)(offset + limit));
    const char *key;
    bool had_offset = false;
    json_t *out;

    /* The site's own path, when it is served below one. */
    p = p ? strchr(p + 3, '/') : NULL;
    buf_addstr(&start, p ? p : "");
    while (start.len && start.buf[start.len - 1] == '/')
        buf_setlen(&start, start.len - 1);
    buf_addstr(&start, "/api/3/action/datastore_search?");
    buf_add(&next, start.buf, start.len);
    json_object_foreach ((json_t *)params, key, v) {
        /* Absent and empty parameters are the same (ds_param_*): neither is repeated. */
        if (json_is_null(v) || (json_is_string(v) && !json_string_length(v)))
            continue;
        if (!strcmp(key, "offset")) {
            had_offset = true;
            query_arg(&next, key, off);
            continue;
        }
        query_arg(&start, key, v);
        query_arg(&next, key, v);
    }
    if (!had_offset)
        query_arg(&next, "offset", off);
    if (start.buf[start.len - 1] == '?')
        buf_setlen(&start, start.len - 1);
    out = json_pack("{s:s,s:s}", "start", start.buf, "next", next.buf);
    BUG_ON(!out);
    buf_release(&start);
    buf_release(&next);
    json_decref(off);
    return out;
}

/* ---- datastore_search ------------------------------------------------------------------- */

static int keycmp(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static int search(struct catalog *c, const struct actor *a, json_t *params, json_t **result,
                  struct buf *records_text, struct err *err)
{
    struct ds_query_params *p = NULL;
    struct store_ds_cursor *cur = NULL;
    struct ds_restricted rs = {0};
    struct buf text;
    json_t *records = NULL, *res = NULL, *v;
    const char **keys = NULL, *rid, *key;
    uint64_t total = 0, nrows = 0;
    size_t n = 0, i;
    bool none;
    int ret;

    *result = NULL;
    buf_init(&text, 0);
    ret = ds_resource_id(params, &rid, err);
    /* A restricted resource runs under the caller's grant, narrowed to it. */
    if (!ret)
        ret = ds_restricted_begin(c, a, rid, "datastore_search", params, &rs, err);
    if (!ret)
        ret = ds_query_params_parse(c, rid, rs.params ? rs.params : params, false, &p, err);
    if (ret)
        goto out;
    /* limit 0 asks for the total alone (the store reads 0 as no limit, for dumps). */
    none = !p->q.limit;
    if (none)
        p->q.limit = 1;
    ret = store_ds_search(c->store, &p->q, &cur, &total, err);
    if (!ret && none)
        buf_addstr(&text,
                   p->format == DS_RECORDS_OBJECTS || p->format == DS_RECORDS_LISTS ? "[]" : "");
    else if (!ret)
        ret = ds_records_write(cur, p->format, records_text ? DS_NUMBERS_EXACT : DS_NUMBERS_JANSSON,
                               &text, &nrows, err);
    if (none)
        p->q.limit = 0;
    if (ret)
        goto out;
    if (p->format == DS_RECORDS_CSV || p->format == DS_RECORDS_TSV)
        records = string_lossy(text.buf, text.len);
    else
        ret = records_json(&text, records_text, &records, err);
    if (ret)
        goto out;
    /* CKAN's order: the validated parameters (sorted, as its validation leaves them),
     * then records, fields, _links, total. */
    res = json_object();
    keys = xcalloc(json_object_size(p->echo) + 1, sizeof(*keys));
    json_object_foreach (p->echo, key, v)
        keys[n++] = key;
    qsort(keys, n, sizeof(*keys), keycmp);
    for (i = 0; i < n; i++)
        json_object_set(res, keys[i], json_object_get(p->echo, keys[i]));
    json_object_set_new(res, "records", records);
    records = NULL;
    json_object_set_new(res, "fields", cursor_fields(cur, p->info.meta));
    json_object_set_new(res, "_links", links(c, params, p->q.limit, p->q.offset));
    if (p->include_total) {
        json_object_set_new(res, "total", json_integer((json_int_t)total));
        json_object_set_new(res, "total_was_estimated", json_false());
    }
    /* No rows under a grant without their ledger entry. */
    ret = ds_restricted_end(c, a, rid, &rs, none ? 0 : nrows, err);
    if (ret)
        goto out;
    *result = res;
    res = NULL;
out:
    free(keys);
    json_decref(records);
    json_decref(res);
    store_ds_cursor_free(cur);
    ds_query_params_free(p);
    ds_restricted_release(&rs);
    buf_release(&text);
    return ret;
}

int datastore_search(struct catalog *c, const struct actor *a, json_t *params, json_t **result,
                     struct err *err)
{
    return search(c, a, params, result, NULL, err);
}

int datastore_search_text(struct catalog *c, const struct actor *a, json_t *params, json_t **result,
                          struct buf *records, struct err *err)
{
    return search(c, a, params, result, records, err);
}

/* ---- datastore_search_sql ---------------------------------------------------------------- */

struct sql_reader {
    struct catalog *c;
    const struct actor *a;
    /* The first restricted resource the statement named, its dataset (stored dict): the
     * refusal is recorded once the statement is done with the store. */
    char restricted[UUID_STR_LEN + 1];
    json_t *dataset;
};

/* The store asks for each resource a statement names. One the actor may not see reads as
 * one without a table (the engine's own "no such table"), so that a private resource's
 * existence does not leak; its owner and members get it. A restricted one is refused to
 * everyone (restricted.c). */
static int may_read(void *ctx, const char *resource_id, struct err *err)
{
    struct sql_reader *r = ctx;
    struct err e = ERR_INIT;
    json_t *d = NULL;
    int ret = catalog_resource_readable(r->c, r->a, resource_id, &d, &e);

    if (ret == -ERR_NOT_FOUND)
        return err_set(err, ERR_VALIDATION, "sql", "sql: no such table: %s", resource_id);
    if (ret)
        return err_set(err, e.kind, e.field[0] ? e.field : NULL, "%s", e.msg);
    if (dataset_restricted(d)) {
        if (!r->dataset) {
            xsnprintf(r->restricted, sizeof(r->restricted), "%s", resource_id);
            r->dataset = d;
            d = NULL;
        }
        json_decref(d);
        return err_set(err, ERR_AUTH, NULL,
                       "resource \"%s\" is restricted: datastore_search_sql is not available "
                       "on it; a grantee reads it with datastore_search under its grant",
                       resource_id);
    }
    json_decref(d);
    return 0;
}

static int search_sql(struct catalog *c, const struct actor *a, json_t *params, json_t **result,
                      struct buf *records_text, struct err *err)
{
    static const char *const keys[] = {"sql"};
    struct sql_reader reader = {c, a, "", NULL};
    struct store_ds_sql_opts o;
    struct store_ds_cursor *cur = NULL;
    struct buf text;
    json_t *records = NULL;
    const char *sql;
    int ret;

    *result = NULL;
    buf_init(&text, 0);
    ret = ds_check_keys(params, "datastore_search_sql", keys, ARRAY_SIZE(keys), err);
    if (!ret)
        ret = ds_param_str(params, "sql", &sql, err);
    if (ret)
        goto out;
    if (!sql || !*sql) {
        ret = err_set(err, ERR_VALIDATION, "sql", "Missing value");
        goto out;
    }
    if (strlen(sql) > LIMIT_DATASTORE_SQL) {
        ret = err_set(err, ERR_VALIDATION, "sql", "\"sql\" is longer than %u bytes",
                      LIMIT_DATASTORE_SQL);
        goto out;
    }
    memset(&o, 0, sizeof(o));
    o.row_cap = LIMIT_DATASTORE_SQL_ROWS;
    o.timeout_ms = LIMIT_DATASTORE_SQL_MS;
    o.may_read = may_read;
    o.ctx = &reader;
    ret = store_ds_sql(c->store, sql, &o, &cur, err);
    if (!ret)
        ret = ds_records_write(cur, DS_RECORDS_OBJECTS,
                               records_text ? DS_NUMBERS_EXACT : DS_NUMBERS_JANSSON, &text, NULL,
                               err);
    if (!ret)
        ret = records_json(&text, records_text, &records, err);
    if (ret)
        goto out;
    *result = json_pack("{s:s,s:o,s:o}", "sql", sql, "records", records, "fields",
                        cursor_fields(cur, NULL));
    records = NULL;
    BUG_ON(!*result);
    if (store_ds_cursor_truncated(cur))
        json_object_set_new(*result, "records_truncated", json_true());
out:
    json_decref(records);
    store_ds_cursor_free(cur);
    if (reader.dataset)
        ds_restricted_refuse(c, a, reader.dataset, NULL, reader.restricted, params,
                             "datastore_search_sql");
    json_decref(reader.dataset);
    buf_release(&text);
    return ret;
}

int datastore_search_sql(struct catalog *c, const struct actor *a, json_t *params, json_t **result,
                         struct err *err)
{
    return search_sql(c, a, params, result, NULL, err);
}

int datastore_search_sql_text(struct catalog *c, const struct actor *a, json_t *params,
                              json_t **result, struct buf *records, struct err *err)
{
    return search_sql(c, a, params, result, records, err);
}
