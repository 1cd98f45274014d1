/*
 * Fuzz harness for the parameters of the DataStore API (src/datastore/params.c):
 * datastore_search's filters, sort, fields and q, which any visitor sends, parsed
 * against a fixed table.
 *
 * Input: up to four parts separated by the byte 0x01: the filters (JSON text; when it is
 * not JSON it is passed as a string, as a query string would), the sort, the fields and
 * q (strings). The first byte's low bits choose plain (q) and whether sort and fields go
 * as a JSON list of the comma-separated pieces instead of the string.
 *
 * Invariants checked, beyond "no crash, no leak":
 * - a failure is -ERR_VALIDATION (or -ERR_TOO_LARGE never) naming its parameter, with a
 *   message; a success leaves no error;
 * - a parsed sort lists only the table's fields (the table's own strings, or "_id"); the
 *   sort written back by ds_sort_format() parses to the same clauses;
 * - parsed fields are the table's, none twice;
 * - each filter names a field of the table; each value is of its field's kind (int8:
 *   integer or NULL; others: text or NULL) and converting its canonical text again gives
 *   the same text;
 * - q's conditions name text fields only (or none) and carry non-empty tokens without
 *   upper-case ASCII; parsing twice gives the same tokens.
 */
#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/limits.h"
#include "datastore/datastore-int.h"
#include "core/util.h"

/* Field ids never hold '"' (CKAN's rule, datastore_create's check, the ingest's header
 * ids): the quoting of sort and fields relies on it. */
static const struct store_ds_field table_fields[] = {
        {"name", DSTYPE_TEXT}, {"amount", DSTYPE_NUMERIC}, {"n", DSTYPE_INT8},
        {"when", DSTYPE_DATE}, {"at", DSTYPE_TIMESTAMP},   {"ok", DSTYPE_BOOL},
        {"j", DSTYPE_JSON},    {"x, y", DSTYPE_TEXT},      {"desc", DSTYPE_TEXT},
        {"名前", DSTYPE_TEXT},
};
static const struct ds_table table = {table_fields, ARRAY_SIZE(table_fields)};

static bool own_name(const char *p, enum dstype *type)
{
    if (str_eq(p, "_id")) {
        *type = DSTYPE_INT8;
        return true;
    }
    for (size_t i = 0; i < table.nfields; i++)
        if (p == table.fields[i].id) {
            *type = table.fields[i].type;
            return true;
        }
    return false;
}

static void check_error(int ret, const struct err *err, const char *param)
{
    if (ret) {
        BUG_ON(ret != -ERR_VALIDATION);
        BUG_ON(err->kind != ERR_VALIDATION);
        BUG_ON(strcmp(err->field, param));
        BUG_ON(!err->msg[0]);
    } else {
        BUG_ON(err->kind != ERR_NONE);
    }
}

/* The pieces of s split at commas, as a JSON list (the list form of sort and fields). */
static json_t *as_list(const char *s)
{
    json_t *list = json_array();
    const char *p = s;

    for (;;) {
        const char *comma = strchr(p, ',');
        size_t len = comma ? (size_t)(comma - p) : strlen(p);
        json_t *one = json_stringn(p, len);

        if (one)
            json_array_append_new(list, one);
        if (!comma)
            break;
        p = comma + 1;
    }
    return list;
}

static void fuzz_sort(const char *text, bool list)
{
    struct err err = ERR_INIT, err2 = ERR_INIT;
    struct store_ds_sort *s = NULL, *s2 = NULL;
    struct buf back = BUF_INIT;
    json_t *v = list ? as_list(text) : json_string(text);
    json_t *v2 = NULL;
    size_t n = 0, n2 = 0;
    enum dstype type;
    int ret;

    if (!v)
        return;
    ret = ds_sort_parse(v, &table, &s, &n, &err);
    check_error(ret, &err, "sort");
    if (!ret) {
        BUG_ON(n > LIMIT_DATASTORE_FIELDS + 1);
        for (size_t i = 0; i < n; i++)
            BUG_ON(!own_name(s[i].field, &type));
        ds_sort_format(s, n, &back);
        v2 = json_string(back.buf);
        BUG_ON(!v2);
        BUG_ON(ds_sort_parse(v2, &table, &s2, &n2, &err2));
        BUG_ON(n2 != n);
        for (size_t i = 0; i < n; i++)
            BUG_ON(s2[i].field != s[i].field || s2[i].descending != s[i].descending);
    }
    free(s);
    free(s2);
    json_decref(v);
    json_decref(v2);
    buf_release(&back);
}

static void fuzz_fields(const char *text, bool list)
{
    struct err err = ERR_INIT;
    const char **names = NULL;
    json_t *v = list ? as_list(text) : json_string(text);
    size_t n = 0;
    enum dstype type;
    int ret;

    if (!v)
        return;
    ret = ds_fields_parse(v, &table, &names, &n, &err);
    check_error(ret, &err, "fields");
    if (!ret) {
        BUG_ON(n > LIMIT_DATASTORE_FIELDS + 1);
        for (size_t i = 0; i < n; i++) {
            BUG_ON(!own_name(names[i], &type));
            for (size_t k = 0; k < i; k++)
                BUG_ON(names[k] == names[i]);
        }
    }
    free(names);
    json_decref(v);
}

static void fuzz_filters(const char *text, size_t len)
{
    struct err err = ERR_INIT;
    struct ds_filters f;
    json_t *v = json_loadb(text, len, 0, NULL);
    enum dstype type;
    int ret;

    if (!v)
        v = json_stringn(text, len);
    if (!v)
        return;
    ret = ds_filters_parse(v, &table, &f, &err);
    check_error(ret, &err, "filters");
    if (!ret) {
        for (size_t i = 0; i < f.n; i++) {
            BUG_ON(!own_name(f.f[i].field, &type));
            BUG_ON(f.f[i].nvalues > LIMIT_DATASTORE_FILTER_VALUES);
            for (size_t k = 0; k < f.f[i].nvalues; k++) {
                const struct dsvalue *d = &f.f[i].values[k];
                struct ds_pool pool = DS_POOL_INIT;
                struct err e2 = ERR_INIT;
                struct dsvalue again;
                json_t *t;

                if (d->kind == DSVALUE_NULL)
                    continue;
                BUG_ON((type == DSTYPE_INT8) != (d->kind == DSVALUE_INT));
                if (d->kind == DSVALUE_INT)
                    continue;
                /* The canonical text converts to itself. */
                t = json_stringn(d->s, d->len);
                BUG_ON(!t);
                BUG_ON(ds_value_from_json(type, t, &pool, &again, &e2));
                BUG_ON(again.kind != DSVALUE_TEXT || again.len != d->len ||
                       memcmp(again.s, d->s, d->len));
                json_decref(t);
                ds_pool_release(&pool);
            }
        }
    }
    ds_filters_release(&f);
    json_decref(v);
}

static void fuzz_q(const char *text, bool plain)
{
    struct err err = ERR_INIT;
    struct ds_text x, y;
    json_t *v = json_string(text);
    enum dstype type;
    int ret;

    if (!v)
        return;
    ret = ds_q_parse(v, plain, &table, &x, &err);
    check_error(ret, &err, "q");
    if (!ret) {
        BUG_ON(ds_q_parse(v, plain, &table, &y, &err));
        BUG_ON(x.n != y.n);
        for (size_t i = 0; i < x.n; i++) {
            const char *tok = x.t[i].tokens[0];

            BUG_ON(x.t[i].ntokens != 1 || !tok[0]);
            BUG_ON(strcmp(tok, y.t[i].tokens[0]));
            if (x.t[i].field) {
                BUG_ON(!own_name(x.t[i].field, &type) || type != DSTYPE_TEXT);
                BUG_ON(str_eq(x.t[i].field, "_id"));
            }
            for (const char *p = tok; *p; p++)
                BUG_ON(*p >= 'A' && *p <= 'Z');
        }
        ds_text_release(&y);
    }
    ds_text_release(&x);
    json_decref(v);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *parts[4] = {"", "", "", ""};
    size_t lens[4] = {0, 0, 0, 0};
    char *copy, *p;
    unsigned flags;
    size_t k = 0;

    if (!size || size > 16384)
        return 0;
    flags = data[0];
    copy = xstrndup((const char *)data + 1, size - 1);
    /* xstrndup stops at a NUL: the parts are what comes before it. */
    p = copy;
    parts[0] = p;
    for (; *p && k < 3; p++) {
        if (*p == '\x01') {
            lens[k] = (size_t)(p - parts[k]);
            *p = '\0';
            parts[++k] = p + 1;
        }
    }
    lens[k] = strlen(parts[k]);
    fuzz_filters(parts[0], lens[0]);
    fuzz_sort(parts[1], flags & 2);
    fuzz_fields(parts[2], flags & 4);
    fuzz_q(parts[3], !(flags & 1));
    /* Each part also goes to the other parsers: names and values everywhere. */
    fuzz_sort(parts[3], false);
    fuzz_fields(parts[1], false);
    fuzz_q(parts[0], true);
    free(copy);
    return 0;
}
