/*
 * restricted.c - reads of restricted data (issue 8; docs/internals/access.md, "Restricted
 * reads"). A resource of a "restricted public" or "non-public" dataset is read by
 * datastore_search only, by a grantee under an approved grant valid today, within the
 * grant's columns and rows; every such read is a "restricted_read" ledger entry, every
 * refusal of a signed-in caller a "restricted_read_refused" one. datastore_search_sql and
 * dumps of restricted tables are refused to everyone: their SQL and their whole-table
 * output cannot be narrowed to a grant the way datastore_search's parameters can.
 */
#include <jansson.h>

#include "access/grant.h"
#include "datastore/datastore-int.h"
#include "core/limits.h"
#include "core/log.h"
#include "core/util.h"

static const char *sget(const json_t *o, const char *key)
{
    return json_string_value(json_object_get(o, key));
}

static bool in_columns(const json_t *columns, const char *name, size_t len)
{
    size_t i;
    json_t *c;

    json_array_foreach (columns, i, c)
        if (json_string_length(c) == len && !memcmp(json_string_value(c), name, len))
            return true;
    return false;
}

/* Pieces of a list parameter as datastore_search reads them: a JSON array of strings, a
 * string holding one, or a comma-separated string. Names are trimmed and a pair of
 * double quotes around one is removed. A new array of strings, or NULL when the value
 * has another shape (the caller refuses it). */
static json_t *list_pieces(const json_t *v)
{
    json_t *arr = NULL, *out, *e;
    size_t i;

    if (json_is_array(v)) {
        arr = json_incref((json_t *)v);
    } else if (json_is_string(v)) {
        const char *s = json_string_value(v);

        while (*s == ' ' || *s == '\t')
            s++;
        if (*s == '[') {
            arr = json_loads(s, 0, NULL);
            if (!json_is_array(arr)) {
                json_decref(arr);
                return NULL;
            }
        } else {
            arr = json_array();
            s = json_string_value(v);
            while (*s) {
                size_t n = strcspn(s, ",");

                json_array_append_new(arr, json_stringn(s, n));
                s += n;
                if (*s)
                    s++;
            }
        }
    } else {
        return NULL;
    }
    out = json_array();
    json_array_foreach (arr, i, e) {
        const char *p = json_string_value(e);
        size_t n;

        if (!p) {
            json_decref(arr);
            json_decref(out);
            return NULL;
        }
        n = json_string_length(e);
        while (n && (*p == ' ' || *p == '\t'))
            p++, n--;
        while (n && (p[n - 1] == ' ' || p[n - 1] == '\t'))
            n--;
        json_array_append_new(out, json_stringn(p, n));
    }
    json_decref(arr);
    return out;
}

/* Strips one pair of surrounding double quotes. */
static void unquote(const char **p, size_t *n)
{
    if (*n >= 2 && (*p)[0] == '"' && (*p)[*n - 1] == '"') {
        (*p)++;
        *n -= 2;
    }
}

/* An object parameter, or a string holding one. New reference, or NULL when absent;
 * *bad when present but not an object. */
static json_t *object_of(const json_t *v, bool *bad)
{
    json_t *o;

    *bad = false;
    if (!v || json_is_null(v) || (json_is_string(v) && !json_string_length(v)))
        return NULL;
    if (json_is_object(v))
        return json_incref((json_t *)v);
    o = json_is_string(v) ? json_loads(json_string_value(v), 0, NULL) : NULL;
    if (!json_is_object(o)) {
        json_decref(o);
        *bad = true;
        return NULL;
    }
    return o;
}

/* Whether a filter value the caller asks for is one the grant allows (as text: the
 * query string sends numbers as strings). */
static bool value_allowed(const json_t *allowed, const json_t *v)
{
    char *a, *b;
    size_t i;
    json_t *x;
    bool ok = false;

    json_array_foreach (allowed, i, x) {
        if (json_equal(x, v))
            return true;
        a = json_is_string(x) ? xstrdup(json_string_value(x)) : json_dumps(x, JSON_ENCODE_ANY);
        b = json_is_string(v) ? xstrdup(json_string_value(v)) : json_dumps(v, JSON_ENCODE_ANY);
        ok = a && b && !strcmp(a, b);
        free(a);
        free(b);
        if (ok)
            return true;
    }
    return false;
}

/* datastore-int.h */
int ds_restricted_narrow(const json_t *grant, const json_t *table_fields, json_t *params,
                         json_t **eff, const char **reason, struct err *err)
{
    const json_t *gcolumns = json_object_get(grant, "columns");
    const json_t *gfilters = json_object_get(grant, "filters");
    json_t *out = NULL, *v, *pieces = NULL, *f = NULL, *q = NULL, *x, *vals, *columns;
    const char *key;
    size_t i;
    bool bad;
    int ret = 0;

    *eff = NULL;
    /* The grant's columns that this table has: a grant on a dataset of several tables
     * names the columns of all of them. */
    if (table_fields) {
        columns = json_array();
        json_array_foreach (gcolumns, i, x)
            if (in_columns(table_fields, json_string_value(x), json_string_length(x)))
                json_array_append(columns, x);
    } else {
        columns = json_incref((json_t *)gcolumns);
    }
    if (!json_array_size(columns)) {
        *reason = "no granted column in this table";
        ret = err_set(err, ERR_AUTH, NULL, "the grant names no column of this table");
        goto out;
    }
    /* The grant's row filter must apply to this table, else its rows are not narrowed. */
    json_object_foreach ((json_t *)gfilters, key, x) {
        if (!in_columns(columns, key, strlen(key))) {
            *reason = "row filter on a column this table lacks";
            ret = err_set(err, ERR_AUTH, NULL,
                          "the grant's row filter is on \"%.100s\", which this table lacks", key);
            goto out;
        }
    }
    out = json_deep_copy(params);
    /* fields */
    v = json_object_get(params, "fields");
    if (v && !json_is_null(v) && !(json_is_string(v) && !json_string_length(v))) {
        pieces = list_pieces(v);
        if (!pieces) {
            ret = err_set(err, ERR_VALIDATION, "fields",
                          "\"fields\" must be a string or a list of strings");
            goto out;
        }
        json_array_foreach (pieces, i, x) {
            const char *p = json_string_value(x);
            size_t n = json_string_length(x);

            unquote(&p, &n);
            if (!in_columns(columns, p, n)) {
                *reason = "field outside the grant";
                ret = err_set(err, ERR_AUTH, "fields", "field \"%.*s\" is outside the grant",
                              (int)(n > 100 ? 100 : n), p);
                goto out;
            }
            json_array_set_new(pieces, i, json_stringn(p, n));
        }
        json_object_set(out, "fields", pieces);
    } else {
        json_object_set(out, "fields", (json_t *)columns);
    }
    /* sort */
    v = json_object_get(params, "sort");
    if (v && !json_is_null(v) && !(json_is_string(v) && !json_string_length(v))) {
        json_decref(pieces);
        pieces = list_pieces(v);
        if (!pieces) {
            ret = err_set(err, ERR_VALIDATION, "sort", "\"sort\" must be a string or a list");
            goto out;
        }
        json_array_foreach (pieces, i, x) {
            const char *p = json_string_value(x);
            size_t n = json_string_length(x);
            const char *dir = "asc";

            if (n > 5 && !strncasecmp(p + n - 5, " desc", 5))
                n -= 5, dir = "desc";
            else if (n > 4 && !strncasecmp(p + n - 4, " asc", 4))
                n -= 4;
            while (n && (p[n - 1] == ' ' || p[n - 1] == '\t'))
                n--;
            unquote(&p, &n);
            if (!in_columns(columns, p, n)) {
                *reason = "sort outside the grant";
                ret = err_set(err, ERR_AUTH, "sort", "sort on \"%.*s\" is outside the grant",
                              (int)(n > 100 ? 100 : n), p);
                goto out;
            }
            /* Rebuilt from the checked name, so that the parser reads what was checked. */
            json_array_set_new(pieces, i, json_sprintf("%.*s %s", (int)n, p, dir));
        }
        json_object_set(out, "sort", pieces);
    } else {
        /* No sort (absent, null or ""): none is passed on, so the parameters searched are
         * only what was checked. */
        json_object_del(out, "sort");
    }
    /* q: only per column */
    v = json_object_get(params, "q");
    q = object_of(v, &bad);
    if (bad && json_is_string(v)) {
        *reason = "full-text q over every column";
        ret = err_set(err, ERR_AUTH, "q",
                      "a plain \"q\" searches every column: under a grant, give q as "
                      "{column: text} on the grant's columns");
        goto out;
    }
    if (bad) {
        ret = err_set(err, ERR_VALIDATION, "q", "\"q\" must be a string or an object");
        goto out;
    }
    json_object_foreach (q, key, x) {
        if (!in_columns(columns, key, strlen(key))) {
            *reason = "q outside the grant";
            ret = err_set(err, ERR_AUTH, "q", "q on \"%.100s\" is outside the grant", key);
            goto out;
        }
    }
    /* filters: the caller's within the columns and the grant's values, then the grant's */
    f = object_of(json_object_get(params, "filters"), &bad);
    if (bad) {
        ret = err_set(err, ERR_VALIDATION, "filters", "\"filters\" must be a JSON object");
        goto out;
    }
    if (!f)
        f = json_object();
    json_object_foreach (f, key, x) {
        const json_t *allowed = json_object_get(gfilters, key);

        if (!in_columns(columns, key, strlen(key))) {
            *reason = "filter outside the grant";
            ret = err_set(err, ERR_AUTH, "filters", "filter on \"%.100s\" is outside the grant",
                          key);
            goto out;
        }
        if (!allowed)
            continue;
        vals = json_is_array(x) ? json_incref(x) : json_pack("[O]", x);
        json_array_foreach (vals, i, v) {
            if (!value_allowed(allowed, v)) {
                json_decref(vals);
                *reason = "rows outside the grant";
                ret = err_set(err, ERR_AUTH, "filters",
                              "filter \"%.100s\" asks for rows outside the grant", key);
                goto out;
            }
        }
        json_decref(vals);
    }
    json_object_foreach ((json_t *)gfilters, key, x)
        if (!json_object_get(f, key))
            json_object_set(f, key, x);
    json_object_set(out, "filters", f);
    *eff = out;
    out = NULL;
out:
    json_decref(out);
    json_decref(pieces);
    json_decref(f);
    json_decref(q);
    json_decref(columns);
    return ret;
}

/* The name of the organization of a stored package dict, or NULL. Copied into buf. */
static const char *org_name(struct catalog *c, const json_t *dataset, char *buf, size_t size)
{
    json_t *g = NULL;
    const char *org = sget(dataset, "owner_org");

    if (!org || store_group_get(c->store, true, org, &g, NULL))
        return NULL;
    xsnprintf(buf, size, "%s", sget(g, "name") ? sget(g, "name") : "");
    json_decref(g);
    return buf;
}

void ds_restricted_refuse(struct catalog *c, const struct actor *a, const json_t *dataset,
                          const json_t *grant, const char *resource_id, json_t *query,
                          const char *reason)
{
    struct err e = ERR_INIT;
    char org[LIMIT_NAME_MAX + 1];

    /* Anonymous refusals are not recorded: anyone could fill the ledger with them. */
    if (!a || !a->authenticated)
        return;
    if (grant_read_record(c->store, a->name, org_name(c, dataset, org, sizeof(org)),
                          sget(grant, "id"), sget(dataset, "id"), resource_id, query, 0, reason,
                          &e))
        log_error("datastore: %s", e.msg);
}

/* The field ids of resource_id's table (a new array), or NULL when the store has none
 * (the search then fails as on any resource without a table). */
static json_t *table_fields(struct catalog *c, const char *resource_id)
{
    struct store_ds_info info = {0};
    struct err e = ERR_INIT;
    json_t *out = NULL, *f;
    size_t i;

    if (!store_ds_info(c->store, resource_id, &info, &e)) {
        out = json_array();
        json_array_foreach (info.fields, i, f)
            json_array_append(out, json_object_get(f, "id"));
    }
    store_ds_info_release(&info);
    return out;
}

int ds_restricted_begin(struct catalog *c, const struct actor *a, const char *resource_id,
                        const char *what, json_t *params, struct ds_restricted *r, struct err *err)
{
    char today[11], why[ERR_MSG_MAX];
    const char *reason = NULL, *first_reason = NULL;
    struct err e = ERR_INIT;
    json_t *valid = NULL, *nearest = NULL, *fields = NULL, *g;
    size_t i, used = 0;
    int ret;

    memset(r, 0, sizeof(*r));
    ret = catalog_resource_readable(c, a, resource_id, &r->dataset, err);
    if (ret || !dataset_restricted(r->dataset))
        return ret;
    if (strcmp(what, "datastore_search")) {
        ds_restricted_refuse(c, a, r->dataset, NULL, resource_id, params, what);
        return err_set(err, ERR_AUTH, NULL,
                       "resource \"%s\" is restricted: %s is not available on it; a grantee "
                       "reads it with datastore_search under its grant",
                       resource_id, what);
    }
    grant_today(today);
    ret = grant_find_valid(c->store, a, sget(r->dataset, "id"), today, &valid, &nearest, &e);
    if (ret == -ERR_AUTH) {
        ds_restricted_refuse(c, a, r->dataset, nearest, resource_id, params,
                             nearest ? "grant not valid today" : "no grant");
        json_decref(nearest);
        return err_set(err, ERR_AUTH, NULL, "resource \"%s\" is restricted: %s", resource_id,
                       e.msg);
    }
    if (ret)
        return err_set(err, e.kind, NULL, "%s", e.msg);
    /* The read runs under the first valid grant (the store's order) that covers it; it is
     * refused only when none does, naming each grant considered and why. */
    fields = table_fields(c, resource_id);
    why[0] = 0;
    json_array_foreach (valid, i, g) {
        e = (struct err)ERR_INIT;
        reason = NULL;
        ret = ds_restricted_narrow(g, fields, params, &r->params, &reason, &e);
        if (!ret) {
            r->grant = json_incref(g);
            goto out;
        }
        if (ret != -ERR_AUTH) {
            ret = err_set(err, e.kind, e.field[0] ? e.field : NULL, "%s", e.msg);
            goto out;
        }
        if (!first_reason)
            first_reason = reason;
        if (used < sizeof(why))
            used += (size_t)snprintf(why + used, sizeof(why) - used, "%sgrant \"%s\": %s",
                                     i ? "; " : "", sget(g, "id"), e.msg);
    }
    ds_restricted_refuse(c, a, r->dataset, json_array_get(valid, 0), resource_id, params,
                         first_reason);
    ret = err_set(err, ERR_AUTH, NULL,
                  "resource \"%s\" is restricted: the read is outside every grant valid "
                  "today (%zu considered: %s)",
                  resource_id, json_array_size(valid), why);
out:
    json_decref(valid);
    json_decref(fields);
    return ret;
}

int ds_restricted_end(struct catalog *c, const struct actor *a, const char *resource_id,
                      struct ds_restricted *r, uint64_t rows, struct err *err)
{
    if (!r->grant)
        return 0;
    return grant_read_record(c->store, a->name, sget(r->grant, "organization"),
                             sget(r->grant, "id"), sget(r->dataset, "id"), resource_id, r->params,
                             (long long)rows, NULL, err);
}

void ds_restricted_release(struct ds_restricted *r)
{
    json_decref(r->dataset);
    json_decref(r->grant);
    json_decref(r->params);
    memset(r, 0, sizeof(*r));
}
