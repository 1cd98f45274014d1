/*
 * params.c - the parameters of the DataStore API (datastore_search's filters, q, fields,
 * sort, limit, offset, records_format …; the values of records and filters), parsed
 * against a table's fields: untrusted input from any visitor. CKAN 2.10 docs,
 * "DataStore extension: API reference"; docs/internals/datastore.md, "API".
 *
 * Nothing here builds SQL: names are looked up in the table's field list and handed to
 * the store as the table's own strings, values are converted to the canonical text of
 * their field's type and bound by the store. So SQL metacharacters in a name are an
 * unknown field, and in a value only a value.
 */
#include <jansson.h>

#include "catalog/catalog.h"
#include "core/limits.h"
#include "core/parse.h"
#include "datastore/datastore-int.h"
#include "store/store-datastore.h"
#include "core/util.h"

/* ---- Pool --------------------------------------------------------------------------- */

#define POOL_BLOCK (64u * 1024)

struct ds_pool_block {
    struct ds_pool_block *next;
    size_t used, size;
    char data[];
};

const char *ds_pool_add(struct ds_pool *p, const char *s, size_t len)
{
    struct ds_pool_block *b = p->head;
    char *at;

    if (!b || b->size - b->used < len + 1) {
        size_t size = len + 1 > POOL_BLOCK ? len + 1 : POOL_BLOCK;

        b = xmalloc(sizeof(*b) + size);
        b->used = 0;
        b->size = size;
        b->next = p->head;
        p->head = b;
    }
    at = b->data + b->used;
    if (len)
        memcpy(at, s, len);
    at[len] = '\0';
    b->used += len + 1;
    return at;
}

void ds_pool_release(struct ds_pool *p)
{
    while (p->head) {
        struct ds_pool_block *next = p->head->next;

        free(p->head);
        p->head = next;
    }
}

/* ---- Names ------------------------------------------------------------------------ */

int ds_table_field(const struct ds_table *t, const char *name, size_t len, const char **id,
                   enum dstype *type)
{
    if (len == 3 && !memcmp(name, "_id", 3)) {
        *id = "_id";
        *type = DSTYPE_INT8;
        return 0;
    }
    for (size_t i = 0; i < t->nfields; i++) {
        const char *f = t->fields[i].id;

        if (strlen(f) == len && !memcmp(f, name, len)) {
            *id = f;
            *type = t->fields[i].type;
            return 0;
        }
    }
    return -1;
}

int ds_table_from_info(const struct store_ds_info *info, struct store_ds_field **out,
                       struct ds_table *t, struct err *err)
{
    size_t n = json_array_size(info->fields), i;
    struct store_ds_field *f = xcalloc(n + 1, sizeof(*f));
    json_t *v;

    json_array_foreach (info->fields, i, v) {
        const char *type = json_string_value(json_object_get(v, "type"));

        f[i].id = json_string_value(json_object_get(v, "id"));
        if (!f[i].id || !type || !dstype_parse(type, &f[i].type)) {
            free(f);
            *out = NULL;
            return err_set(err, ERR_INTERNAL, NULL, "the store gave a field without id or type");
        }
    }
    *out = f;
    t->fields = f;
    t->nfields = n;
    return 0;
}

static bool is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static struct str trim(struct str s)
{
    while (s.len && is_space(s.p[0]))
        s.p++, s.len--;
    while (s.len && is_space(s.p[s.len - 1]))
        s.len--;
    return s;
}

/* A name without its double quotes, when it has them at both ends. Field ids never hold
 * '"' (CKAN's rule, and the ingest's), so no escape is needed inside. */
static struct str unquote(struct str s)
{
    if (s.len >= 2 && s.p[0] == '"' && s.p[s.len - 1] == '"') {
        s.p++;
        s.len -= 2;
    }
    return s;
}

/* At most this many bytes of a name in a message. */
#define NAME_SHOWN 80

static int unknown_field(const char *param, struct str name, struct err *err)
{
    int n = (int)(name.len > NAME_SHOWN ? NAME_SHOWN : name.len);

    return err_set(err, ERR_VALIDATION, param, "field \"%.*s%s\" not in table", n, name.p,
                   name.len > NAME_SHOWN ? "…" : "");
}

/*
 * Splits text at commas outside double quotes into trimmed pieces (appended to *parts,
 * *n of them, at most max). An unclosed quote, or more than max pieces, is an error
 * naming param. Empty pieces are kept (the caller decides).
 */
static int split_list(const char *text, size_t len, const char *param, size_t max,
                      struct str **parts, size_t *n, struct err *err)
{
    size_t alloc = 0, start = 0;
    bool quoted = false;

    *parts = NULL;
    *n = 0;
    for (size_t i = 0; i <= len; i++) {
        if (i < len && text[i] == '"') {
            quoted = !quoted;
            continue;
        }
        if (i < len && (quoted || text[i] != ','))
            continue;
        if (quoted)
            return err_set(err, ERR_VALIDATION, param,
                           "\"%s\" has a double quote that is not closed", param);
        if (*n == max)
            return err_set(err, ERR_VALIDATION, param, "\"%s\" names more than %zu fields", param,
                           max);
        ALLOC_GROW(*parts, *n + 1, alloc);
        (*parts)[(*n)++] = trim((struct str){text + start, i - start});
        start = i + 1;
    }
    return 0;
}

/*
 * The pieces of a list parameter: a JSON array of strings (each one piece, trimmed), a
 * string holding such an array, or a string split by split_list(). *parts point into v
 * or *parsed (a new reference to the parsed array, to release after use).
 */
static int list_param(const json_t *v, const char *param, size_t max, json_t **parsed,
                      struct str **parts, size_t *n, struct err *err)
{
    const json_t *arr = NULL, *e;
    size_t i, alloc = 0;

    *parsed = NULL;
    *parts = NULL;
    *n = 0;
    if (json_is_string(v)) {
        const char *s = json_string_value(v);
        struct str t = trim((struct str){s, json_string_length(v)});

        if (t.len && t.p[0] == '[') {
            *parsed = json_loadb(t.p, t.len, JSON_DECODE_ANY, NULL);
            if (json_is_array(*parsed)) {
                arr = *parsed;
            } else {
                json_decref(*parsed);
                *parsed = NULL;
            }
        }
        if (!arr)
            return split_list(s, json_string_length(v), param, max, parts, n, err);
    } else if (json_is_array(v)) {
        arr = v;
    } else {
        return err_set(err, ERR_VALIDATION, param, "\"%s\" must be a string or a list of strings",
                       param);
    }
    if (json_array_size(arr) > max)
        return err_set(err, ERR_VALIDATION, param, "\"%s\" names more than %zu fields", param, max);
    json_array_foreach (arr, i, e) {
        if (!json_is_string(e)) {
            free(*parts);
            *parts = NULL;
            *n = 0;
            return err_set(err, ERR_VALIDATION, param, "\"%s\" must be a list of strings", param);
        }
        ALLOC_GROW(*parts, *n + 1, alloc);
        (*parts)[(*n)++] = trim((struct str){json_string_value(e), json_string_length(e)});
    }
    return 0;
}

/* ---- sort ------------------------------------------------------------------------- */

/* Whether s ends with a blank and then word (ASCII case-insensitive) after a non-empty
 * name: *name gets what comes before. */
static bool ends_with_word(struct str s, const char *word, struct str *name)
{
    size_t w = strlen(word);

    if (s.len < w + 2 || strncasecmp(s.p + s.len - w, word, w) || !is_space(s.p[s.len - w - 1]))
        return false;
    *name = trim((struct str){s.p, s.len - w});
    return name->len > 0;
}

int ds_sort_parse(const json_t *sort, const struct ds_table *t, struct store_ds_sort **out,
                  size_t *n, struct err *err)
{
    struct store_ds_sort *items = NULL;
    struct str *parts = NULL;
    json_t *parsed = NULL;
    size_t nparts = 0, i;
    int ret;

    *out = NULL;
    *n = 0;
    if (!sort || json_is_null(sort))
        return 0;
    ret = list_param(sort, "sort", LIMIT_DATASTORE_FIELDS + 1, &parsed, &parts, &nparts, err);
    if (ret)
        goto out;
    /* "" (a query string's sort=) is no sort; a list of them is. */
    if (nparts == 1 && !parts[0].len)
        nparts = 0;
    items = xcalloc(nparts + 1, sizeof(*items));
    for (i = 0; i < nparts; i++) {
        struct str name = parts[i];
        enum dstype type;

        if (!name.len) {
            ret = err_set(err, ERR_VALIDATION, "sort", "\"sort\" has an empty clause (%zu)", i + 1);
            goto out;
        }
        if (ends_with_word(parts[i], "desc", &name))
            items[i].descending = true;
        else if (!ends_with_word(parts[i], "asc", &name))
            name = parts[i];
        name = unquote(name);
        if (ds_table_field(t, name.p, name.len, &items[i].field, &type)) {
            ret = unknown_field("sort", name, err);
            goto out;
        }
    }
    *out = items;
    *n = nparts;
    items = NULL;
out:
    free(items);
    free(parts);
    json_decref(parsed);
    return ret;
}

void ds_sort_format(const struct store_ds_sort *s, size_t n, struct buf *out)
{
    for (size_t i = 0; i < n; i++)
        buf_addf(out, "%s\"%s\" %s", i ? ", " : "", s[i].field, s[i].descending ? "desc" : "asc");
}

/* ---- fields ----------------------------------------------------------------------- */

int ds_fields_parse(const json_t *fields, const struct ds_table *t, const char ***out, size_t *n,
                    struct err *err)
{
    const char **names = NULL;
    struct str *parts = NULL;
    json_t *parsed = NULL;
    size_t nparts = 0, i, k;
    int ret;

    *out = NULL;
    *n = 0;
    if (!fields || json_is_null(fields))
        return 0;
    ret = list_param(fields, "fields", LIMIT_DATASTORE_FIELDS + 1, &parsed, &parts, &nparts, err);
    if (ret)
        goto out;
    if (nparts == 1 && !parts[0].len)
        nparts = 0;
    names = xcalloc(nparts + 1, sizeof(*names));
    for (i = 0; i < nparts; i++) {
        struct str name = unquote(parts[i]);
        enum dstype type;

        if (!parts[i].len) {
            ret = err_set(err, ERR_VALIDATION, "fields", "\"fields\" has an empty name (%zu)",
                          i + 1);
            goto out;
        }
        if (ds_table_field(t, name.p, name.len, &names[i], &type)) {
            ret = unknown_field("fields", name, err);
            goto out;
        }
        for (k = 0; k < i; k++)
            if (names[k] == names[i]) {
                ret = err_set(err, ERR_VALIDATION, "fields", "field \"%s\" is named twice",
                              names[i]);
                goto out;
            }
    }
    *out = names;
    *n = nparts;
    names = NULL;
out:
    free(names);
    free(parts);
    json_decref(parsed);
    return ret;
}

/* ---- Values ------------------------------------------------------------------------ */

/* The shortest "%.*g" text of d that reads back as d (as Python's repr, which is what
 * most clients wrote into the request): 0.1 → "0.1", 1e20 → "1e+20". */
static void real_text(double d, char *buf, size_t size)
{
    for (int prec = 1; prec <= 17; prec++) {
        xsnprintf(buf, size, "%.*g", prec, d);
        if (strtod(buf, NULL) == d)
            return;
    }
}

void ds_json_cell(const json_t *v, struct ds_pool *pool, struct ingest_cell *cell)
{
    char num[40];

    cell->kind = INGEST_CELL_EMPTY;
    cell->s = "";
    cell->len = 0;
    switch (json_typeof(v)) {
    case JSON_STRING:
        cell->kind = INGEST_CELL_TEXT;
        cell->s = json_string_value(v);
        cell->len = json_string_length(v);
        break;
    case JSON_INTEGER:
        xsnprintf(num, sizeof(num), "%" JSON_INTEGER_FORMAT, json_integer_value(v));
        cell->kind = INGEST_CELL_NUMBER;
        cell->len = strlen(num);
        cell->s = ds_pool_add(pool, num, cell->len);
        break;
    case JSON_REAL:
        /* jansson refuses inf and nan when parsing, so d is finite. */
        real_text(json_real_value(v), num, sizeof(num));
        cell->kind = INGEST_CELL_NUMBER;
        cell->len = strlen(num);
        cell->s = ds_pool_add(pool, num, cell->len);
        break;
    case JSON_TRUE:
    case JSON_FALSE:
        cell->kind = INGEST_CELL_BOOL;
        cell->s = json_is_true(v) ? "true" : "false";
        cell->len = strlen(cell->s);
        break;
    case JSON_OBJECT:
    case JSON_ARRAY: {
        char *text = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);

        BUG_ON(!text);
        cell->kind = INGEST_CELL_JSON;
        cell->len = strlen(text);
        cell->s = ds_pool_add(pool, text, cell->len);
        free(text);
        break;
    }
    default:
        break;
    }
}

/* ingest's message for a value that does not fit, for the tokens it would let pass. */
static int not_valid(enum dstype t, const struct ingest_cell *cell, struct err *err)
{
    return err_set(err, ERR_VALIDATION, NULL, "\"%.*s\" is not a valid %s",
                   (int)(cell->len > NAME_SHOWN ? NAME_SHOWN : cell->len), cell->s, dstype_name(t));
}

int ds_cell_convert(enum dstype t, const struct ingest_cell *cell, char *scratch,
                    struct dsvalue *out, struct err *err)
{
    memset(out, 0, sizeof(*out));
    if (cell->kind == INGEST_CELL_EMPTY)
        return 0;
    if (!cell->len && t == DSTYPE_TEXT) {
        out->kind = DSVALUE_TEXT;
        out->s = "";
        return 0;
    }
    if (cell->len && t != DSTYPE_TEXT && ingest_is_missing(cell))
        return not_valid(t, cell, err);
    return ingest_value_convert(t, cell, out, scratch, err);
}

int ds_value_from_json(enum dstype t, const json_t *v, struct ds_pool *pool, struct dsvalue *out,
                       struct err *err)
{
    char scratch[INGEST_SCRATCH];
    struct ingest_cell cell;
    int ret;

    ds_json_cell(v, pool, &cell);
    ret = ds_cell_convert(t, &cell, scratch, out, err);
    if (ret)
        return ret;
    /* The canonical text points into the cell (v's string, which a caller may free
     * before the value is used: a parsed query-string value) or into scratch. */
    if (out->kind == DSVALUE_TEXT)
        out->s = ds_pool_add(pool, out->s, out->len);
    return 0;
}

/* ---- Scalar parameters ---------------------------------------------------------------- */

int ds_param_str(const json_t *params, const char *key, const char **out, struct err *err)
{
    const json_t *v = json_object_get(params, key);

    *out = NULL;
    if (!v || json_is_null(v))
        return 0;
    if (!json_is_string(v))
        return err_set(err, ERR_VALIDATION, key, "\"%s\" must be a string", key);
    *out = json_string_value(v);
    return 0;
}

int ds_param_int(const json_t *params, const char *key, int64_t min, int64_t max, int64_t def,
                 int64_t *out, struct err *err)
{
    const json_t *v = json_object_get(params, key);
    int64_t n;

    *out = def;
    if (!v || json_is_null(v) || (json_is_string(v) && !json_string_length(v)))
        return 0;
    if (json_is_integer(v)) {
        n = json_integer_value(v);
    } else if (json_is_string(v)) {
        const char *s = json_string_value(v);
        const char *digits = s + (s[0] == '-');

        if (!*digits || strspn(digits, "0123456789") != strlen(digits))
            return err_set(err, ERR_VALIDATION, key, "\"%s\" must be an integer", key);
        if (parse_i64(s, INT64_MIN, INT64_MAX, &n))
            return err_set(err, ERR_VALIDATION, key,
                           "\"%s\" is out of range: it must be between %" PRId64 " and %" PRId64,
                           key, min, max);
    } else {
        return err_set(err, ERR_VALIDATION, key, "\"%s\" must be an integer", key);
    }
    if (n < min || n > max) {
        /* CKAN's natural_number_validator says so for a negative limit. */
        if (n < 0 && min == 0)
            return err_set(err, ERR_VALIDATION, key, "\"%s\": must be a natural number", key);
        return err_set(err, ERR_VALIDATION, key,
                       "\"%s\" is out of range: it must be between %" PRId64 " and %" PRId64, key,
                       min, max);
    }
    *out = n;
    return 0;
}

int ds_param_bool(const json_t *params, const char *key, bool def, bool *out, struct err *err)
{
    const json_t *v = json_object_get(params, key);

    *out = def;
    if (!v || json_is_null(v) || (json_is_string(v) && !json_string_length(v)))
        return 0;
    if (json_is_boolean(v)) {
        *out = json_is_true(v);
        return 0;
    }
    if (json_is_string(v) && !parse_bool(json_string_value(v), out))
        return 0;
    if (json_is_integer(v) && (json_integer_value(v) == 0 || json_integer_value(v) == 1)) {
        *out = json_integer_value(v) == 1;
        return 0;
    }
    *out = def;
    return err_set(err, ERR_VALIDATION, key, "\"%s\" must be a boolean", key);
}

/* An object parameter, or a query-string value holding one (a JSON object's text).
 * *parsed: a new reference when it was parsed, else NULL. */
static int object_param(const json_t *v, const char *key, json_t **parsed, const json_t **obj,
                        struct err *err)
{
    *parsed = NULL;
    *obj = NULL;
    if (!v || json_is_null(v) || (json_is_string(v) && !json_string_length(v)))
        return 0;
    if (json_is_object(v)) {
        *obj = v;
        return 0;
    }
    if (json_is_string(v))
        *parsed = json_loadb(json_string_value(v), json_string_length(v), 0, NULL);
    if (!json_is_object(*parsed)) {
        json_decref(*parsed);
        *parsed = NULL;
        return err_set(err, ERR_VALIDATION, key, "\"%s\" must be a JSON object", key);
    }
    *obj = *parsed;
    return 0;
}

/* ---- filters ------------------------------------------------------------------------ */

int ds_filters_parse(const json_t *filters, const struct ds_table *t, struct ds_filters *out,
                     struct err *err)
{
    json_t *parsed = NULL, *v;
    const json_t *obj;
    const char *key;
    size_t i = 0;
    int ret;

    memset(out, 0, sizeof(*out));
    ret = object_param(filters, "filters", &parsed, &obj, err);
    if (ret || !obj)
        goto out;
    out->f = xcalloc(json_object_size(obj) + 1, sizeof(*out->f));
    out->echo = json_object();
    json_object_foreach ((json_t *)obj, key, v) {
        struct store_ds_filter *f = &out->f[i];
        struct dsvalue *values;
        enum dstype type;
        size_t n = json_is_array(v) ? json_array_size(v) : 1;
        json_t *echo;

        if (ds_table_field(t, key, strlen(key), &f->field, &type)) {
            ret = unknown_field("filters", (struct str){key, strlen(key)}, err);
            goto out;
        }
        if (n > LIMIT_DATASTORE_FILTER_VALUES) {
            ret = err_set(err, ERR_VALIDATION, "filters",
                          "filter on field \"%s\" has more than %u values", f->field,
                          LIMIT_DATASTORE_FILTER_VALUES);
            goto out;
        }
        values = xcalloc(n + 1, sizeof(*values));
        f->values = values;
        f->nvalues = n;
        out->n = ++i;
        echo = json_array();
        json_object_set_new(out->echo, f->field, echo);
        for (size_t k = 0; k < n; k++) {
            const json_t *e = json_is_array(v) ? json_array_get(v, k) : v;
            struct err e2 = ERR_INIT;

            if (json_is_object(e) || json_is_array(e)) {
                ret = err_set(err, ERR_VALIDATION, "filters",
                              "filter on field \"%s\": a value must be a string, number, "
                              "boolean or null (filter operators are not supported)",
                              f->field);
                goto out;
            }
            if (ds_value_from_json(type, e, &out->pool, &values[k], &e2)) {
                ret = err_set(err, ERR_VALIDATION, "filters", "filter on field \"%s\": %s",
                              f->field, e2.msg);
                goto out;
            }
            if (values[k].kind == DSVALUE_INT)
                json_array_append_new(echo, json_integer(values[k].i));
            else if (values[k].kind == DSVALUE_TEXT)
                json_array_append_new(echo, json_stringn(values[k].s, values[k].len));
            else
                json_array_append_new(echo, json_null());
        }
    }
out:
    json_decref(parsed);
    return ret;
}

void ds_filters_release(struct ds_filters *f)
{
    for (size_t i = 0; i < f->n; i++)
        free((void *)f->f[i].values);
    free(f->f);
    ds_pool_release(&f->pool);
    json_decref(f->echo);
    memset(f, 0, sizeof(*f));
}

/* ---- q ------------------------------------------------------------------------------- */

/* Whether text holds an operator of PostgreSQL's to_tsquery syntax. */
static bool has_operator(const char *text, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if (text[i] && strchr("&|!():*<>", text[i]))
            return true;
    return false;
}

/* One full-text condition: the tokens of text (none: no condition). */
static int text_add(struct ds_text *x, const char *field, const char *text, size_t len, bool plain,
                    struct err *err)
{
    struct buf tokens = BUF_INIT;
    struct store_ds_text *c;
    const char **tok;
    char *copy;

    if (len > LIMIT_SEARCH_QUERY)
        return err_set(err, ERR_VALIDATION, "q", "\"q\" is longer than %u bytes",
                       LIMIT_SEARCH_QUERY);
    if (!plain && has_operator(text, len))
        return err_set(err, ERR_VALIDATION, "q",
                       "full-text query syntax (plain=false with & | ! ( ) : * < >) is not "
                       "supported: send the words as plain text");
    copy = xstrndup(text, len);
    catalog_search_text(copy, &tokens);
    free(copy);
    if (tokens.len) {
        c = &x->t[x->n++];
        c->field = field;
        tok = xcalloc(1, sizeof(*tok));
        /* One string of space-separated tokens: the store splits it (each one AND'ed). */
        tok[0] = ds_pool_add(&x->pool, tokens.buf, tokens.len);
        c->tokens = tok;
        c->ntokens = 1;
    }
    buf_release(&tokens);
    return 0;
}

int ds_q_parse(const json_t *q, bool plain, const struct ds_table *t, struct ds_text *out,
               struct err *err)
{
    json_t *parsed = NULL, *v;
    const json_t *obj = NULL;
    const char *key;
    int ret = 0;

    memset(out, 0, sizeof(*out));
    if (!q || json_is_null(q))
        return 0;
    if (json_is_string(q)) {
        const char *s = json_string_value(q);
        struct str tr = trim((struct str){s, json_string_length(q)});

        /* CKAN's unicode_or_json_validator: a string holding a JSON object is one. */
        if (tr.len && tr.p[0] == '{') {
            parsed = json_loadb(tr.p, tr.len, 0, NULL);
            if (json_is_object(parsed))
                obj = parsed;
        }
        if (!obj) {
            out->t = xcalloc(1, sizeof(*out->t));
            ret = text_add(out, NULL, s, json_string_length(q), plain, err);
            goto out;
        }
    } else if (json_is_object(q)) {
        obj = q;
    } else {
        ret = err_set(err, ERR_VALIDATION, "q", "\"q\" must be a string or an object");
        goto out;
    }
    out->t = xcalloc(json_object_size(obj) + 1, sizeof(*out->t));
    json_object_foreach ((json_t *)obj, key, v) {
        const char *id;
        enum dstype type;

        if (ds_table_field(t, key, strlen(key), &id, &type) || str_eq(id, "_id")) {
            ret = unknown_field("q", (struct str){key, strlen(key)}, err);
            goto out;
        }
        if (type != DSTYPE_TEXT) {
            ret = err_set(err, ERR_VALIDATION, "q",
                          "field \"%s\" is not a text field: full-text search reads text "
                          "fields (use filters for the others)",
                          id);
            goto out;
        }
        if (!json_is_string(v)) {
            ret = err_set(err, ERR_VALIDATION, "q", "\"q\" of field \"%s\" must be a string", id);
            goto out;
        }
        ret = text_add(out, id, json_string_value(v), json_string_length(v), plain, err);
        if (ret)
            goto out;
    }
out:
    json_decref(parsed);
    return ret;
}

void ds_text_release(struct ds_text *x)
{
    for (size_t i = 0; i < x->n; i++)
        free((void *)x->t[i].tokens);
    free(x->t);
    ds_pool_release(&x->pool);
    memset(x, 0, sizeof(*x));
}

/* ---- datastore_search as a whole -------------------------------------------------------- */

static const char *const format_names[] = {"objects", "lists", "csv", "tsv"};

const char *ds_records_format_name(enum ds_records_format f)
{
    return (size_t)f < ARRAY_SIZE(format_names) ? format_names[f] : "objects";
}

/* datastore_search's parameters (CKAN 2.10's datastore_search_schema). */
static const char *const search_keys[] = {
        "resource_id",
        "id",
        "filters",
        "q",
        "plain",
        "language",
        "limit",
        "offset",
        "fields",
        "sort",
        "distinct",
        "include_total",
        "total_estimation_threshold",
        "records_format",
};

/* The largest offset (PostgreSQL's OFFSET is a bigint too). */
#define OFFSET_MAX INT64_MAX

int ds_query_params_parse(struct catalog *c, const char *resource_id, json_t *params, bool dump,
                          struct ds_query_params **out, struct err *err)
{
    struct ds_query_params *p = xcalloc(1, sizeof(*p));
    const json_t *v;
    const char *key, *s;
    int64_t limit, offset, threshold;
    bool plain, distinct;
    size_t i;
    int ret;

    *out = NULL;
    p->resource_id = xstrdup(resource_id ? resource_id : "");
    p->echo = json_object();
    json_object_foreach (params, key, v) {
        bool known = false;

        (void)v;
        for (i = 0; i < ARRAY_SIZE(search_keys) && !known; i++)
            known = !strcmp(key, search_keys[i]);
        if (!known) {
            ret = err_set(err, ERR_VALIDATION, key, "\"%s\" is not a parameter of datastore_search",
                          key);
            goto out;
        }
    }
    ret = store_ds_info(c->store, p->resource_id, &p->info, err);
    if (!ret)
        ret = ds_table_from_info(&p->info, &p->tfields, &p->table, err);
    if (ret)
        goto out;
    p->q.resource_id = p->resource_id;

    ret = ds_fields_parse(json_object_get(params, "fields"), &p->table, &p->fields, &p->q.nfields,
                          err);
    if (ret)
        goto out;
    p->q.fields = p->fields;
    v = json_object_get(params, "sort");
    ret = ds_sort_parse(v, &p->table, &p->sort, &p->q.nsort, err);
    if (ret)
        goto out;
    p->q.sort = p->sort;
    if (v && !json_is_null(v))
        json_object_set(p->echo, "sort", (json_t *)v);
    ret = ds_filters_parse(json_object_get(params, "filters"), &p->table, &p->filters, err);
    if (ret)
        goto out;
    p->q.filters = p->filters.f;
    p->q.nfilters = p->filters.n;
    v = json_object_get(params, "filters");
    if (v && !json_is_null(v) && !(json_is_string(v) && !json_string_length(v)))
        json_object_set_new(
                p->echo, "filters",
                json_is_string(v) ? json_loadb(json_string_value(v), json_string_length(v), 0, NULL)
                                  : json_incref((json_t *)v));

    ret = ds_param_bool(params, "plain", true, &plain, err);
    if (ret)
        goto out;
    if (json_object_get(params, "plain") && !json_is_null(json_object_get(params, "plain")))
        json_object_set_new(p->echo, "plain", json_boolean(plain));
    ret = ds_param_str(params, "language", &s, err);
    if (!ret && s && strlen(s) > LIMIT_FIELD_MAX)
        ret = err_set(err, ERR_VALIDATION, "language", "\"language\" is longer than %u bytes",
                      LIMIT_FIELD_MAX);
    if (ret)
        goto out;
    if (s)
        json_object_set_new(p->echo, "language", json_string(s));
    v = json_object_get(params, "q");
    ret = ds_q_parse(v, plain, &p->table, &p->text, err);
    if (ret)
        goto out;
    p->q.text = p->text.t;
    p->q.ntext = p->text.n;
    if (json_is_string(v) && json_string_length(v) && json_string_value(v)[0] == '{') {
        json_t *o = json_loadb(json_string_value(v), json_string_length(v), 0, NULL);

        json_object_set_new(p->echo, "q", o ? o : json_incref((json_t *)v));
    } else if (v && !json_is_null(v)) {
        json_object_set(p->echo, "q", (json_t *)v);
    }

    /* CKAN caps limit at ckan.datastore.search.rows_max without a word (its
     * limit_to_configured_maximum validator), and says so by echoing the limit used. */
    ret = ds_param_int(params, "limit", 0, INT64_MAX, dump ? 0 : LIMIT_DATASTORE_ROWS_DEFAULT,
                       &limit, err);
    if (ret)
        goto out;
    if (!dump && limit > LIMIT_DATASTORE_ROWS_MAX)
        limit = LIMIT_DATASTORE_ROWS_MAX;
    p->q.limit = (uint64_t)limit;
    json_object_set_new(p->echo, "limit", json_integer(limit));
    ret = ds_param_int(params, "offset", 0, OFFSET_MAX, 0, &offset, err);
    if (ret)
        goto out;
    p->q.offset = (uint64_t)offset;
    v = json_object_get(params, "offset");
    if (v && !json_is_null(v) && !(json_is_string(v) && !json_string_length(v)))
        json_object_set_new(p->echo, "offset", json_integer(offset));
    ret = ds_param_bool(params, "distinct", false, &distinct, err);
    if (ret)
        goto out;
    p->q.distinct = distinct;
    v = json_object_get(params, "distinct");
    if (v && !json_is_null(v))
        json_object_set_new(p->echo, "distinct", json_boolean(distinct));
    ret = ds_param_bool(params, "include_total", !dump, &p->include_total, err);
    if (ret)
        goto out;
    p->q.total = p->include_total;
    json_object_set_new(p->echo, "include_total", json_boolean(p->include_total));
    /* Accepted for CKAN's clients; the count is always exact here (a table without
     * filters knows its row count). */
    ret = ds_param_int(params, "total_estimation_threshold", INT64_MIN, INT64_MAX, -1, &threshold,
                       err);
    if (ret)
        goto out;
    v = json_object_get(params, "total_estimation_threshold");
    json_object_set_new(p->echo, "total_estimation_threshold",
                        v && !json_is_null(v) && !(json_is_string(v) && !json_string_length(v))
                                ? json_integer(threshold)
                                : json_null());
    ret = ds_param_str(params, "records_format", &s, err);
    if (ret)
        goto out;
    p->format = DS_RECORDS_OBJECTS;
    if (s && *s) {
        for (i = 0; i < ARRAY_SIZE(format_names) && strcmp(s, format_names[i]); i++)
            ;
        if (i == ARRAY_SIZE(format_names)) {
            ret = err_set(err, ERR_VALIDATION, "records_format",
                          "Value must be one of: objects; lists; csv; tsv (not \"%.40s\")", s);
            goto out;
        }
        p->format = (enum ds_records_format)i;
    }
    json_object_set_new(p->echo, "records_format", json_string(format_names[p->format]));
    json_object_set_new(p->echo, "resource_id", json_string(p->resource_id));
    *out = p;
    p = NULL;
out:
    ds_query_params_free(p);
    return ret;
}

const struct store_ds_query *ds_query_params_query(const struct ds_query_params *p)
{
    return &p->q;
}

void ds_query_params_free(struct ds_query_params *p)
{
    if (!p)
        return;
    free(p->resource_id);
    store_ds_info_release(&p->info);
    free(p->tfields);
    free(p->fields);
    free(p->sort);
    ds_filters_release(&p->filters);
    ds_text_release(&p->text);
    json_decref(p->echo);
    free(p);
}
