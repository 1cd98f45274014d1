/*
 * records.c - rows of a datastore table as the DataStore API returns them
 * (datastore_search's records_format objects, lists, csv, tsv; datastore_search_sql's
 * records): CKAN 2.10's shapes, and Kaifang's rule that a value leaves as it is stored.
 *
 * CKAN builds these on PostgreSQL (array_to_json for objects and lists, COPY … TO STDOUT
 * csv for csv and tsv), so its numbers keep their exact text, which Python's json would
 * not. Here too: a numeric value is written from its stored text, in JSON's spelling
 * (".097" → 0.097, "+5" → 5), never through a double. docs/internals/datastore.md, "API".
 */
#include <jansson.h>

#include "core/parse.h"
#include "datastore/datastore-int.h"
#include "store/store-datastore.h"
#include "core/util.h"

static int append_cb(const char *buffer, size_t size, void *data)
{
    buf_add(data, buffer, size);
    return 0;
}

void ds_json_string(struct buf *out, const char *s, size_t len)
{
    json_t *v = json_stringn_nocheck(s, len);
    size_t mark = out->len;

    /* jansson checks UTF-8 as it encodes: a failure means bytes that are not UTF-8,
     * which the store should never hold; they become U+FFFD rather than break the
     * answer. */
    if (json_dump_callback(v, append_cb, out, JSON_ENCODE_ANY)) {
        struct buf clean = BUF_INIT;

        buf_setlen(out, mark);
        for (size_t i = 0; i < len;) {
            unsigned char c = (unsigned char)s[i];
            size_t n = c < 0x80                 ? 1
                       : c >= 0xc2 && c <= 0xdf ? 2
                       : c >= 0xe0 && c <= 0xef ? 3
                       : c >= 0xf0 && c <= 0xf4 ? 4
                                                : 0;
            json_t *one = n && i + n <= len ? json_stringn(s + i, n) : NULL;

            if (one) {
                buf_add(&clean, s + i, n);
                i += n;
            } else {
                buf_addstr(&clean, "\xef\xbf\xbd");
                i++;
            }
            json_decref(one);
        }
        json_decref(v);
        v = json_stringn_nocheck(clean.buf, clean.len);
        json_dump_callback(v, append_cb, out, JSON_ENCODE_ANY);
        buf_release(&clean);
    }
    json_decref(v);
}

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

/*
 * A number's text in JSON's grammar (RFC 8259 §6) into out: a '+' dropped, a '0' put
 * before a leading '.'. false, and out unchanged, when the text is not a decimal number
 * (a value computed by SQL: "inf"). For DS_NUMBERS_JANSSON, also false for a number
 * jansson cannot read (an integer past 64 bits, a real past a double's range).
 */
static bool json_number(struct buf *out, const char *s, size_t len, enum ds_json_numbers mode)
{
    size_t i = 0, start, mark = out->len;
    bool integer = true;

    if (i < len && (s[i] == '+' || s[i] == '-'))
        i++;
    start = i;
    if (i < len && is_digit(s[i])) {
        if (s[i] == '0' && i + 1 < len && is_digit(s[i + 1]))
            return false;
        while (i < len && is_digit(s[i]))
            i++;
    } else if (!(i < len && s[i] == '.')) {
        return false;
    }
    if (i < len && s[i] == '.') {
        size_t d = ++i;

        integer = false;
        while (i < len && is_digit(s[i]))
            i++;
        if (i == d)
            return false;
    }
    if (i < len && (s[i] == 'e' || s[i] == 'E')) {
        size_t d;

        integer = false;
        i++;
        if (i < len && (s[i] == '+' || s[i] == '-'))
            i++;
        d = i;
        while (i < len && is_digit(s[i]))
            i++;
        if (i == d)
            return false;
    }
    if (i != len)
        return false;
    if (s[0] == '-')
        buf_addch(out, '-');
    if (s[start] == '.')
        buf_addch(out, '0');
    buf_add(out, s + start, len - start);
    if (mode == DS_NUMBERS_JANSSON) {
        const char *text = out->buf + mark;
        bool ok;

        if (integer) {
            int64_t n;

            ok = !parse_i64(text, INT64_MIN, INT64_MAX, &n);
        } else {
            char *end;
            double d;

            errno = 0;
            d = strtod(text, &end);
            ok = !(errno == ERANGE && (d > 1 || d < -1));
        }
        if (!ok) {
            buf_setlen(out, mark);
            return false;
        }
    }
    return true;
}

void ds_json_value(struct buf *out, enum dstype t, const struct dsvalue *v,
                   enum ds_json_numbers mode)
{
    switch (v->kind) {
    case DSVALUE_NULL:
        buf_addstr(out, "null");
        return;
    case DSVALUE_INT:
        buf_addf(out, "%" PRId64, v->i);
        return;
    default:
        break;
    }
    switch (t) {
    case DSTYPE_INT8:
    case DSTYPE_NUMERIC:
        if (json_number(out, v->s, v->len, mode))
            return;
        break;
    case DSTYPE_BOOL:
        if (v->len == 4 && !memcmp(v->s, "true", 4)) {
            buf_addstr(out, "true");
            return;
        }
        if (v->len == 5 && !memcmp(v->s, "false", 5)) {
            buf_addstr(out, "false");
            return;
        }
        break;
    case DSTYPE_JSON: {
        /* The stored text itself (valid JSON: the store took it through jansson), so
         * that its numbers keep their text too. */
        json_t *j = json_loadb(v->s, v->len, JSON_DECODE_ANY | JSON_ALLOW_NUL, NULL);

        if (j && mode == DS_NUMBERS_EXACT) {
            buf_add(out, v->s, v->len);
            json_decref(j);
            return;
        }
        if (j) {
            json_dump_callback(j, append_cb, out, JSON_ENCODE_ANY | JSON_COMPACT);
            json_decref(j);
            return;
        }
        break;
    }
    default:
        break;
    }
    ds_json_string(out, v->s ? v->s : "", v->len);
}

/* A CSV field as PostgreSQL's COPY … csv writes it (CKAN's csv and tsv formats). */
static void csv_value(struct buf *out, const struct dsvalue *v, char delim)
{
    const char *s;
    size_t len;
    bool quote;

    if (v->kind == DSVALUE_NULL)
        return;
    if (v->kind == DSVALUE_INT) {
        buf_addf(out, "%" PRId64, v->i);
        return;
    }
    s = v->s ? v->s : "";
    len = v->len;
    quote = !len; /* the empty string, told apart from NULL */
    for (size_t i = 0; i < len && !quote; i++)
        quote = s[i] == delim || s[i] == '"' || s[i] == '\r' || s[i] == '\n';
    if (!quote) {
        buf_add(out, s, len);
        return;
    }
    buf_addch(out, '"');
    for (size_t i = 0, start = 0; i <= len; i++) {
        if (i == len || s[i] == '"') {
            buf_add(out, s + start, i - start);
            if (i < len)
                buf_addstr(out, "\"\"");
            start = i + 1;
        }
    }
    buf_addch(out, '"');
}

int ds_records_write(struct store_ds_cursor *cur, enum ds_records_format f,
                     enum ds_json_numbers mode, struct buf *out, uint64_t *nrows, struct err *err)
{
    size_t n = store_ds_cursor_ncolumns(cur), i, k;
    const struct dsvalue *values;
    struct buf *keys = NULL;
    size_t *src = NULL;
    bool *shown = NULL;
    enum dstype *types = xcalloc(n + 1, sizeof(*types));
    uint64_t rows = 0;
    int ret;

    for (i = 0; i < n; i++)
        types[i] = store_ds_cursor_type(cur, i);
    if (f == DS_RECORDS_OBJECTS) {
        /* Each name once, at its first place, with the value of its last column (SQL
         * can name a column twice; JSON objects should not). */
        keys = xcalloc(n + 1, sizeof(*keys));
        src = xcalloc(n + 1, sizeof(*src));
        shown = xcalloc(n + 1, sizeof(*shown));
        for (i = 0; i < n; i++) {
            const char *name = store_ds_cursor_column(cur, i);

            buf_init(&keys[i], 0);
            shown[i] = true;
            src[i] = i;
            for (k = 0; k < i && shown[i]; k++)
                if (str_eq(store_ds_cursor_column(cur, k), name))
                    shown[i] = false;
            for (k = i + 1; k < n; k++)
                if (str_eq(store_ds_cursor_column(cur, k), name))
                    src[i] = k;
            ds_json_string(&keys[i], name ? name : "", name ? strlen(name) : 0);
            buf_addch(&keys[i], ':');
        }
    }
    if (f == DS_RECORDS_OBJECTS || f == DS_RECORDS_LISTS)
        buf_addch(out, '[');
    while ((ret = store_ds_cursor_next(cur, &values, err)) == 1) {
        char delim = f == DS_RECORDS_TSV ? '\t' : ',';
        bool first = true;

        switch (f) {
        case DS_RECORDS_OBJECTS:
            buf_addstr(out, rows ? ",{" : "{");
            for (i = 0; i < n; i++) {
                if (!shown[i])
                    continue;
                if (!first)
                    buf_addch(out, ',');
                first = false;
                buf_add(out, keys[i].buf, keys[i].len);
                ds_json_value(out, types[src[i]], &values[src[i]], mode);
            }
            buf_addch(out, '}');
            break;
        case DS_RECORDS_LISTS:
            buf_addstr(out, rows ? ",[" : "[");
            for (i = 0; i < n; i++) {
                if (i)
                    buf_addch(out, ',');
                ds_json_value(out, types[i], &values[i], mode);
            }
            buf_addch(out, ']');
            break;
        default:
            for (i = 0; i < n; i++) {
                if (i)
                    buf_addch(out, delim);
                csv_value(out, &values[i], delim);
            }
            buf_addch(out, '\n');
            break;
        }
        rows++;
        if (buf_failed(out)) {
            ret = err_set(err, ERR_TOO_LARGE, "limit",
                          "the records asked for are too large to answer at once: ask for "
                          "fewer (limit, fields)");
            goto out;
        }
    }
    if (ret)
        goto out;
    if (f == DS_RECORDS_OBJECTS || f == DS_RECORDS_LISTS)
        buf_addch(out, ']');
    if (buf_failed(out))
        ret = err_set(err, ERR_TOO_LARGE, "limit",
                      "the records asked for are too large to answer at once: ask for fewer "
                      "(limit, fields)");
out:
    if (nrows)
        *nrows = rows;
    for (i = 0; keys && i < n; i++)
        buf_release(&keys[i]);
    free(keys);
    free(src);
    free(shown);
    free(types);
    return ret;
}
