/*
 * dump.c - /datastore/dump/<resource_id>: a table (or what datastore_search's parameters
 * select from it) as CSV, TSV, JSON or XLSX, streamed from a store cursor so that memory
 * does not grow with the table (CKAN 2.10's datastore dump: same formats, same header
 * row of field ids with "_id" first, CRLF line ends, the JSON shape {"fields",
 * "records"}). And the Frictionless Table Schema of a table (datastore_table_schema).
 *
 * Values come out as the store keeps them, in the canonical text of their type
 * (core/dstype.h): numeric exactly as stored ("315.70" stays "315.70"), codes with their
 * leading zeros. XLSX writes numbers as numbers only where Excel holds them exactly (at
 * most 15 significant digits), with as many decimals shown as stored, dates as dates,
 * and everything else as text. docs/internals/datastore.md, "Ingest and dumps".
 */
#include <fcntl.h>
#include <inttypes.h>
#include <jansson.h>
#include <sys/file.h>
#include <xlsxwriter.h>

#include "core/buf.h"
#include "core/limits.h"
#include "core/log.h"
#include "core/parse.h"
#include "datastore/datastore-int.h"
#include "store/store-datastore.h"
#include "core/util.h"

/* Bytes gathered before a read hands them out. */
#define DUMP_CHUNK (64u * 1024)

/* Rows of an XLSX sheet under its header (Excel: 1,048,576 rows in all). */
#define XLSX_ROWS_MAX 1048575u
/* Characters of an Excel cell. */
#define XLSX_CELL_MAX 32767u
/* Significant digits a double keeps for Excel to show the same number. */
#define XLSX_DIGITS_MAX 15
/* The largest decimal exponent written as a number: with at most 15 digits before it, the
 * value stays a normal double, inside Excel's range (about 2.2e-308 to 9.99e307). */
#define XLSX_EXPONENT_MAX 290

enum dump_format {
    DUMP_CSV,
    DUMP_TSV,
    DUMP_JSON,
    DUMP_XLSX,
};

static const struct {
    const char *name, *content_type;
} dump_formats[] = {
        [DUMP_CSV] = {"csv", "text/csv; charset=utf-8"},
        [DUMP_TSV] = {"tsv", "text/tab-separated-values; charset=utf-8"},
        [DUMP_JSON] = {"json", "application/json; charset=utf-8"},
        [DUMP_XLSX] = {"xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"},
};

enum dump_state {
    DUMP_HEAD,  /* the header (BOM, header row, JSON "fields") is next */
    DUMP_ROWS,  /* rows */
    DUMP_TAIL,  /* the JSON closing brackets */
    DUMP_DONE,  /* everything is in out */
    DUMP_ERROR, /* a read failed: the response is cut short */
};

struct datastore_dump {
    struct catalog *c;
    enum dump_format format;
    bool bom;
    bool no_rows; /* limit=0 asked: the header (and the JSON frame) alone */
    enum dump_state state;
    char *resource_id;
    char *filename;
    struct ds_query_params *qp; /* owns what the query points to */
    struct store_ds_cursor *cur;
    size_t ncol;
    uint64_t rows;
    struct buf out; /* bytes ready to hand out, from out_pos */
    size_t out_pos;
    int xlsx_fd; /* XLSX: the finished workbook, unlinked, read back; -1 before */
};

/* ---- Text formats ----------------------------------------------------------------- */

/* RFC 4180 quoting, as Python's csv.QUOTE_MINIMAL (CKAN's dump writer) does it: a
 * value holding the delimiter, a double quote, CR or LF is quoted, quotes doubled. */
static void csv_field(struct buf *b, const char *s, size_t len, char delim)
{
    bool quote = false;

    for (size_t i = 0; i < len && !quote; i++)
        quote = s[i] == delim || s[i] == '"' || s[i] == '\r' || s[i] == '\n';
    if (!quote) {
        buf_add(b, s, len);
        return;
    }
    buf_addch(b, '"');
    for (size_t i = 0, start = 0; i <= len; i++) {
        if (i == len || s[i] == '"') {
            buf_add(b, s + start, i - start);
            if (i < len)
                buf_addstr(b, "\"\"");
            start = i + 1;
        }
    }
    buf_addch(b, '"');
}

static void value_text(const struct dsvalue *v, char num[24], const char **s, size_t *len)
{
    switch (v->kind) {
    case DSVALUE_INT:
        xsnprintf(num, 24, "%" PRId64, v->i);
        *s = num;
        *len = strlen(num);
        break;
    case DSVALUE_TEXT:
        *s = v->s;
        *len = v->len;
        break;
    default:
        *s = "";
        *len = 0;
        break;
    }
}

static void csv_row(struct datastore_dump *d, const struct dsvalue *values)
{
    char delim = d->format == DUMP_TSV ? '\t' : ',';
    char num[24];
    const char *s;
    size_t len;

    for (size_t i = 0; i < d->ncol; i++) {
        if (i)
            buf_addch(&d->out, delim);
        value_text(&values[i], num, &s, &len);
        csv_field(&d->out, s, len, delim);
    }
    buf_addstr(&d->out, "\r\n");
}

static int json_append(const char *buffer, size_t size, void *data)
{
    buf_add(data, buffer, size);
    return 0;
}

/* A JSON string of s[0..len) through jansson's encoder; bytes that are not UTF-8 (which
 * the store should never hold) become U+FFFD rather than breaking the document. */
static void json_str(struct buf *b, const char *s, size_t len)
{
    json_t *v = json_stringn_nocheck(s, len);
    size_t mark = b->len;

    if (json_dump_callback(v, json_append, b, JSON_ENCODE_ANY) < 0) {
        buf_setlen(b, mark);
        json_decref(v);
        v = json_stringn(s, len);
        if (!v) {
            struct buf clean = BUF_INIT;

            for (size_t i = 0; i < len; i++) {
                unsigned char ch = (unsigned char)s[i];

                if (ch < 0x80)
                    buf_addch(&clean, ch);
                else
                    buf_addstr(&clean, "\xef\xbf\xbd");
            }
            v = json_stringn(clean.buf, clean.len);
            buf_release(&clean);
        }
        json_dump_callback(v, json_append, b, JSON_ENCODE_ANY);
    }
    json_decref(v);
}

/* A numeric value as a JSON number with the same value, written from its exact text:
 * the text itself when JSON's grammar takes it ("315.70", "-1e-3"), else with the
 * spelling JSON wants (".097" → "0.097", "+5" → "5", "5.e3" does not occur). */
static void json_numeric(struct buf *b, const char *s, size_t len)
{
    size_t i = 0;

    if (i < len && s[i] == '+')
        i++;
    else if (i < len && s[i] == '-')
        buf_addch(b, s[i++]);
    if (i < len && s[i] == '.')
        buf_addch(b, '0');
    buf_add(b, s + i, len - i);
}

static void json_row(struct datastore_dump *d, const struct dsvalue *values)
{
    buf_addstr(&d->out, d->rows ? ",\n    [" : "\n    [");
    for (size_t i = 0; i < d->ncol; i++) {
        const struct dsvalue *v = &values[i];
        enum dstype t = store_ds_cursor_type(d->cur, i);

        if (i)
            buf_addstr(&d->out, ", ");
        if (v->kind == DSVALUE_NULL) {
            buf_addstr(&d->out, "null");
        } else if (v->kind == DSVALUE_INT) {
            buf_addf(&d->out, "%" PRId64, v->i);
        } else if (t == DSTYPE_NUMERIC || t == DSTYPE_INT8) {
            json_numeric(&d->out, v->s, v->len);
        } else if (t == DSTYPE_BOOL) {
            buf_addstr(&d->out, v->len && (v->s[0] == 't' || v->s[0] == 'T') ? "true" : "false");
        } else if (t == DSTYPE_JSON) {
            json_t *j = json_loadb(v->s, v->len, JSON_DECODE_ANY, NULL);

            if (j)
                json_dump_callback(j, json_append, &d->out, JSON_ENCODE_ANY | JSON_COMPACT);
            else
                json_str(&d->out, v->s, v->len);
            json_decref(j);
        } else {
            json_str(&d->out, v->s, v->len);
        }
    }
    buf_addch(&d->out, ']');
}

/* The fields of the cursor as CKAN's dump lists them: [{"id", "type"}], "_id" as "int"
 * (as datastore_search lists it). */
static json_t *fields_json(const struct datastore_dump *d)
{
    json_t *a = json_array();

    for (size_t i = 0; i < d->ncol; i++) {
        const char *id = store_ds_cursor_column(d->cur, i);

        json_array_append_new(a, json_pack("{s:s,s:s}", "id", id, "type",
                                           !strcmp(id, "_id")
                                                   ? "int"
                                                   : dstype_name(store_ds_cursor_type(d->cur, i))));
    }
    return a;
}

static void text_head(struct datastore_dump *d)
{
    char delim = d->format == DUMP_TSV ? '\t' : ',';

    if (d->format == DUMP_JSON) {
        json_t *f = fields_json(d);

        buf_addstr(&d->out, "{\n  \"fields\": ");
        json_dump_callback(f, json_append, &d->out, JSON_COMPACT);
        buf_addstr(&d->out, ",\n  \"records\": [");
        json_decref(f);
        return;
    }
    /* Excel reads a CSV as UTF-8 only after a BOM. */
    if (d->bom)
        buf_addstr(&d->out, "\xef\xbb\xbf");
    for (size_t i = 0; i < d->ncol; i++) {
        const char *id = store_ds_cursor_column(d->cur, i);

        if (i)
            buf_addch(&d->out, delim);
        csv_field(&d->out, id, strlen(id), delim);
    }
    buf_addstr(&d->out, "\r\n");
}

/* Fills d->out with at least want bytes, or up to the end. */
static int text_fill(struct datastore_dump *d, size_t want, struct err *err)
{
    const struct dsvalue *values;
    int ret;

    while (d->out.len - d->out_pos < want && d->state != DUMP_DONE) {
        switch (d->state) {
        case DUMP_HEAD:
            text_head(d);
            d->state = DUMP_ROWS;
            break;
        case DUMP_ROWS:
            ret = d->no_rows ? 0 : store_ds_cursor_next(d->cur, &values, err);
            if (ret < 0)
                return ret;
            if (!ret) {
                d->state = d->format == DUMP_JSON ? DUMP_TAIL : DUMP_DONE;
                break;
            }
            if (d->format == DUMP_JSON)
                json_row(d, values);
            else
                csv_row(d, values);
            d->rows++;
            break;
        case DUMP_TAIL:
            buf_addstr(&d->out, d->rows ? "\n  ]\n}\n" : "]\n}\n");
            d->state = DUMP_DONE;
            break;
        default:
            return -ERR_INTERNAL;
        }
        if (buf_failed(&d->out))
            return err_set(err, ERR_TOO_LARGE, NULL, "a row of the dump is too large");
    }
    return 0;
}

/* ---- XLSX ------------------------------------------------------------------------- */

struct xlsx {
    lxw_workbook *wb;
    lxw_worksheet *ws;
    lxw_format *decimals[XLSX_DIGITS_MAX + 1]; /* "0.0…" by number of decimals */
    lxw_format *date, *datetime;
};

/* Whether numeric text ([-]digits[.digits] or ".digits", with or without an exponent:
 * "-1e3", "1.5E-3") is a decimal of at most XLSX_DIGITS_MAX significant digits within
 * Excel's range, which a double and Excel hold exactly (DBL_DIG is 15: such a decimal
 * comes back from the nearest double unchanged). Zeros after the point count as digits
 * (they are shown). *decimals gets the decimals to show when written out in full ("1.50"
 * 2, "-1e3" 0, "1.5e-3" 4), or -1 when in full it would need more than XLSX_DIGITS_MAX
 * digits ("1e20", "1e-20"): Excel's General format then shows it in scientific notation. */
static bool excel_decimal(const char *s, size_t len, int *decimals)
{
    size_t i = 0, sig = 0;
    int frac = 0, exp = 0, shown;
    bool point = false, lead = true, digit = false, neg = false;

    *decimals = -1;
    if (i < len && s[i] == '-')
        i++;
    for (; i < len && s[i] != 'e' && s[i] != 'E'; i++) {
        if (s[i] == '.' && !point) {
            point = true;
            continue;
        }
        if (s[i] < '0' || s[i] > '9')
            return false;
        digit = true;
        if (point)
            frac++;
        if (s[i] != '0' || !lead) {
            lead = false;
            sig++;
        } else if (point) {
            sig++; /* zeros after the point count: they are shown */
        }
    }
    if (!digit || sig > XLSX_DIGITS_MAX)
        return false;
    if (i < len) {
        i++;
        if (i < len && (s[i] == '+' || s[i] == '-'))
            neg = s[i++] == '-';
        if (i == len)
            return false;
        for (; i < len; i++) {
            if (s[i] < '0' || s[i] > '9')
                return false;
            exp = exp * 10 + (s[i] - '0');
            if (exp > XLSX_EXPONENT_MAX)
                return false;
        }
        if (neg)
            exp = -exp;
    }
    /* Decimals in full; a positive exponent past them appends zeros before the point. */
    shown = frac - exp;
    if (shown <= XLSX_DIGITS_MAX && (int)sig + (shown < 0 ? -shown : 0) <= XLSX_DIGITS_MAX)
        *decimals = shown < 0 ? 0 : shown;
    return true;
}

static lxw_format *decimals_format(struct xlsx *x, unsigned decimals)
{
    char fmt[XLSX_DIGITS_MAX + 3] = "0.";

    if (!x->decimals[decimals]) {
        x->decimals[decimals] = workbook_add_format(x->wb);
        for (unsigned i = 0; i < decimals; i++)
            fmt[2 + i] = '0';
        fmt[2 + decimals] = '\0';
        format_set_num_format(x->decimals[decimals], decimals ? fmt : "0");
    }
    return x->decimals[decimals];
}

static int digits(const char *s, size_t n)
{
    int v = 0;

    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    return v;
}

/* "YYYY-MM-DD" or "YYYY-MM-DDTHH:MM:SS" (no fraction, no zone) from 1900 on, as Excel
 * dates count from 1900-01-01; false otherwise (written as text). */
static bool excel_datetime(const char *s, size_t len, lxw_datetime *dt)
{
    if ((len != 10 && len != 19) || s[4] != '-' || s[7] != '-')
        return false;
    memset(dt, 0, sizeof(*dt));
    dt->year = digits(s, 4);
    dt->month = (uint8_t)digits(s + 5, 2);
    dt->day = (uint8_t)digits(s + 8, 2);
    if (dt->year < 1900 || digits(s + 5, 2) < 1 || digits(s + 8, 2) < 1)
        return false;
    if (len == 19) {
        if ((s[10] != 'T' && s[10] != ' ') || s[13] != ':' || s[16] != ':' ||
            digits(s + 11, 2) < 0 || digits(s + 14, 2) < 0 || digits(s + 17, 2) < 0)
            return false;
        dt->hour = (uint8_t)digits(s + 11, 2);
        dt->min = (uint8_t)digits(s + 14, 2);
        dt->sec = digits(s + 17, 2);
    }
    return true;
}

/* Writes text, cut at a character boundary to what a cell holds. */
static lxw_error xlsx_text(struct xlsx *x, lxw_row_t row, lxw_col_t col, const char *s, size_t len)
{
    char *copy;
    lxw_error e;

    if (len > XLSX_CELL_MAX) {
        len = XLSX_CELL_MAX;
        while (len && ((unsigned char)s[len] & 0xc0) == 0x80)
            len--;
    }
    copy = xstrndup(s, len);
    e = worksheet_write_string(x->ws, row, col, copy, NULL);
    free(copy);
    return e;
}

static lxw_error xlsx_cell(struct xlsx *x, lxw_row_t row, lxw_col_t col, enum dstype t,
                           const struct dsvalue *v)
{
    lxw_datetime dt;
    int decimals;
    char num[24];

    if (v->kind == DSVALUE_NULL)
        return LXW_NO_ERROR;
    if (v->kind == DSVALUE_INT) {
        /* Beyond 15 digits Excel would show other digits: text keeps them. */
        if (v->i >= -999999999999999LL && v->i <= 999999999999999LL)
            return worksheet_write_number(x->ws, row, col, (double)v->i, NULL);
        xsnprintf(num, sizeof(num), "%" PRId64, v->i);
        return worksheet_write_string(x->ws, row, col, num, NULL);
    }
    switch (t) {
    case DSTYPE_INT8:
    case DSTYPE_NUMERIC:
        if (excel_decimal(v->s, v->len, &decimals)) {
            char *copy = xstrndup(v->s, v->len);
            double n = strtod(copy, NULL);

            free(copy);
            return worksheet_write_number(x->ws, row, col, n,
                                          decimals < 0 ? NULL
                                                       : decimals_format(x, (unsigned)decimals));
        }
        break;
    case DSTYPE_BOOL:
        return worksheet_write_boolean(x->ws, row, col, v->len && v->s[0] == 't', NULL);
    case DSTYPE_DATE:
    case DSTYPE_TIMESTAMP:
        if (excel_datetime(v->s, v->len, &dt))
            return worksheet_write_datetime(x->ws, row, col, &dt,
                                            v->len == 10 ? x->date : x->datetime);
        break;
    default:
        break;
    }
    return xlsx_text(x, row, col, v->s, v->len);
}

/* Writes the whole selection into a workbook under files/tmp (libxlsxwriter in
 * constant-memory mode: one row in memory at a time), then keeps it open, unlinked, to
 * be read back. */
static int xlsx_build(struct datastore_dump *d, struct err *err)
{
    /* libxlsxwriter's own temporary files (the sheet's rows before they are zipped) go
     * to files/tmp too, not to /tmp, which may be memory (tmpfs); they are unlinked as
     * soon as opened. */
    char *tmpdir = xstrfmt("%s/tmp", d->c->files_dir);
    lxw_workbook_options wo = {
            .constant_memory = LXW_TRUE, .tmpdir = tmpdir, .use_zip64 = LXW_TRUE};
    struct xlsx x;
    const struct dsvalue *values;
    char *path = xstrfmt("%s/tmp/dump-XXXXXX", d->c->files_dir);
    lxw_row_t row = 0;
    lxw_error e = LXW_NO_ERROR;
    int lock_fd, ret = 0;

    memset(&x, 0, sizeof(x));
    /* A name of our own, locked while it exists so that a server starting meanwhile
     * does not sweep it from files/tmp (its sweep skips locked files). */
    lock_fd = mkostemp(path, O_CLOEXEC);
    if (lock_fd < 0) {
        ret = err_set(err, ERR_INTERNAL, NULL, "cannot create the XLSX dump in \"%s/tmp\": %s",
                      d->c->files_dir, strerror(errno));
        goto out;
    }
    flock(lock_fd, LOCK_EX | LOCK_NB);
    x.wb = workbook_new_opt(path, &wo);
    if (!x.wb) {
        ret = err_set(err, ERR_INTERNAL, NULL, "cannot start the XLSX dump");
        goto out;
    }
    x.ws = workbook_add_worksheet(x.wb, "data");
    x.date = workbook_add_format(x.wb);
    format_set_num_format(x.date, "yyyy-mm-dd");
    x.datetime = workbook_add_format(x.wb);
    format_set_num_format(x.datetime, "yyyy-mm-dd hh:mm:ss");
    for (size_t i = 0; i < d->ncol && !e; i++)
        e = worksheet_write_string(x.ws, 0, (lxw_col_t)i, store_ds_cursor_column(d->cur, i), NULL);
    while (!e) {
        ret = d->no_rows ? 0 : store_ds_cursor_next(d->cur, &values, err);
        if (ret <= 0)
            break;
        if (row >= XLSX_ROWS_MAX) {
            ret = err_set(err, ERR_TOO_LARGE, NULL,
                          "the selection has more than %u rows, which an XLSX sheet cannot hold",
                          XLSX_ROWS_MAX);
            break;
        }
        row++;
        for (size_t i = 0; i < d->ncol && !e; i++)
            e = xlsx_cell(&x, row, (lxw_col_t)i, store_ds_cursor_type(d->cur, i), &values[i]);
        d->rows++;
    }
    if (!ret && e)
        ret = err_set(err, ERR_INTERNAL, NULL, "cannot write the XLSX dump: %s", lxw_strerror(e));
    e = workbook_close(x.wb);
    x.wb = NULL;
    if (!ret && e)
        ret = err_set(err, ERR_INTERNAL, NULL, "cannot write the XLSX dump: %s", lxw_strerror(e));
    if (ret)
        goto out;
    d->xlsx_fd = open(path, O_RDONLY | O_CLOEXEC);
    if (d->xlsx_fd < 0)
        ret = err_set(err, ERR_INTERNAL, NULL, "cannot read the XLSX dump back: %s",
                      strerror(errno));
out:
    if (x.wb)
        workbook_close(x.wb);
    if (lock_fd >= 0) {
        unlink(path);
        close(lock_fd);
    }
    free(path);
    free(tmpdir);
    return ret;
}

/* ---- The dump --------------------------------------------------------------------- */

static bool format_parse(const char *s, enum dump_format *f)
{
    for (size_t i = 0; i < ARRAY_SIZE(dump_formats); i++)
        if (!strcasecmp(s, dump_formats[i].name)) {
            *f = (enum dump_format)i;
            return true;
        }
    return false;
}

int datastore_dump_open(struct catalog *c, const struct actor *a, const char *resource_id,
                        json_t *params, struct datastore_dump **out, struct err *err)
{
    struct datastore_dump *d = xcalloc(1, sizeof(*d));
    json_t *q = NULL, *v;
    const char *fmt = NULL;
    bool bom = false;
    int ret;

    *out = NULL;
    d->c = c;
    d->xlsx_fd = -1;
    buf_init(&d->out, (size_t)LIMIT_INGEST_RECORD * 4 + DUMP_CHUNK);
    d->resource_id = xstrdup(resource_id ? resource_id : "");
    {
        /* A restricted table is not dumped, to anyone (restricted.c). */
        struct ds_restricted rs;

        ret = ds_restricted_begin(c, a, d->resource_id, "dump", params, &rs, err);
        ds_restricted_release(&rs);
        if (ret)
            goto out;
    }
    /* format and bom are the dump's own; the rest are datastore_search's. */
    q = json_is_object(params) ? json_deep_copy(params) : json_object();
    v = json_object_get(q, "format");
    if (v && !json_is_null(v)) {
        fmt = json_string_value(v);
        if (!fmt || !format_parse(fmt, &d->format)) {
            ret = err_set(err, ERR_VALIDATION, "format",
                          "format \"%s\" is not one of csv, tsv, json, xlsx", fmt ? fmt : "?");
            goto out;
        }
    }
    v = json_object_get(q, "bom");
    if (v && !json_is_null(v)) {
        if (json_is_boolean(v))
            bom = json_is_true(v);
        else if (!json_is_string(v) || parse_bool(json_string_value(v), &bom))
            ret = err_set(err, ERR_VALIDATION, "bom", "\"bom\" must be a boolean");
        if (ret)
            goto out;
    }
    d->bom = bom;
    json_object_del(q, "format");
    json_object_del(q, "bom");
    ret = ds_query_params_parse(c, d->resource_id, q, true, &d->qp, err);
    if (ret)
        goto out;
    /* A dump's limit is absent (every row) unless given; limit=0 writes no row, as CKAN's
     * dump does (the store reads limit 0 as no limit). */
    v = json_object_get(q, "limit");
    if (v && !json_is_null(v) && !(json_is_string(v) && !json_string_length(v)) &&
        !d->qp->q.limit) {
        d->no_rows = true;
        d->qp->q.limit = 1;
    }
    /* An XLSX sheet holds 1,048,575 rows below its header: a larger selection is refused
     * before the first byte (counted: the cost of a count beside writing a workbook). */
    if (d->format == DUMP_XLSX && !d->no_rows) {
        uint64_t total = 0, rows;

        d->qp->q.total = true;
        ret = store_ds_search(c->store, &d->qp->q, &d->cur, &total, err);
        d->qp->q.total = false;
        if (ret)
            goto out;
        rows = total > d->qp->q.offset ? total - d->qp->q.offset : 0;
        if (d->qp->q.limit && rows > d->qp->q.limit)
            rows = d->qp->q.limit;
        if (rows > XLSX_ROWS_MAX) {
            ret = err_set(err, ERR_VALIDATION, "format",
                          "the selection has %" PRIu64 " rows, more than an XLSX sheet holds "
                          "(%u): ask for format=csv, or fewer rows with limit, offset or filters",
                          rows, XLSX_ROWS_MAX);
            goto out;
        }
    } else {
        ret = store_ds_search(c->store, ds_query_params_query(d->qp), &d->cur, NULL, err);
        if (ret)
            goto out;
    }
    d->ncol = store_ds_cursor_ncolumns(d->cur);
    d->filename = xstrfmt("%s.%s", d->resource_id, dump_formats[d->format].name);
    d->state = DUMP_HEAD;
    *out = d;
    d = NULL;
out:
    json_decref(q);
    datastore_dump_free(d);
    return ret;
}

const char *datastore_dump_content_type(const struct datastore_dump *d)
{
    return dump_formats[d->format].content_type;
}

const char *datastore_dump_filename(const struct datastore_dump *d)
{
    return d->filename;
}

long datastore_dump_read(struct datastore_dump *d, char *buf, size_t size)
{
    struct err err = ERR_INIT;
    size_t n;
    ssize_t r;

    if (d->state == DUMP_ERROR)
        return -1;
    if (d->format == DUMP_XLSX) {
        if (d->xlsx_fd < 0 && xlsx_build(d, &err)) {
            log_error("datastore: dump of resource \"%s\" failed: %s", d->resource_id, err.msg);
            d->state = DUMP_ERROR;
            return -1;
        }
        do
            r = read(d->xlsx_fd, buf, size);
        while (r < 0 && errno == EINTR);
        if (r < 0) {
            log_error("datastore: dump of resource \"%s\": cannot read the XLSX file: %s",
                      d->resource_id, strerror(errno));
            d->state = DUMP_ERROR;
        }
        return (long)r;
    }
    if (text_fill(d, size < DUMP_CHUNK ? size : DUMP_CHUNK, &err)) {
        log_error("datastore: dump of resource \"%s\" failed after %" PRIu64 " rows: %s",
                  d->resource_id, d->rows, err.msg);
        d->state = DUMP_ERROR;
        return -1;
    }
    n = d->out.len - d->out_pos;
    if (n > size)
        n = size;
    memcpy(buf, d->out.buf + d->out_pos, n);
    d->out_pos += n;
    if (d->out_pos == d->out.len) {
        buf_reset(&d->out);
        d->out_pos = 0;
    } else if (d->out_pos >= DUMP_CHUNK) {
        /* Keep the buffer from creeping: move what is left to the front. */
        memmove(d->out.buf, d->out.buf + d->out_pos, d->out.len - d->out_pos);
        buf_setlen(&d->out, d->out.len - d->out_pos);
        d->out_pos = 0;
    }
    return (long)n;
}

void datastore_dump_free(struct datastore_dump *d)
{
    if (!d)
        return;
    store_ds_cursor_free(d->cur);
    ds_query_params_free(d->qp);
    if (d->xlsx_fd >= 0)
        close(d->xlsx_fd);
    buf_release(&d->out);
    free(d->resource_id);
    free(d->filename);
    free(d);
}

/* ---- Table Schema ----------------------------------------------------------------- */

int datastore_table_schema(struct catalog *c, const char *resource_id, json_t **schema,
                           struct err *err)
{
    struct store_ds_info info = {0};
    json_t *fields, *f, *finfo;
    size_t i;
    int ret;

    *schema = NULL;
    ret = store_ds_info(c->store, resource_id, &info, err);
    if (ret)
        goto out;
    finfo = json_object_get(info.meta, "fields_info");
    fields = json_array();
    json_array_foreach (info.fields, i, f) {
        const char *id = json_string_value(json_object_get(f, "id"));
        json_t *fi = json_object_get(finfo, id);
        const char *label = json_string_value(json_object_get(fi, "label"));
        const char *notes = json_string_value(json_object_get(fi, "notes"));
        enum dstype t = DSTYPE_TEXT;
        json_t *field;

        dstype_parse(json_string_value(json_object_get(f, "type")), &t);
        field = json_pack("{s:s,s:s,s:s}", "name", id, "title", label && *label ? label : id,
                          "type", dstype_frictionless(t));
        if (notes && *notes)
            json_object_set_new(field, "description", json_string(notes));
        json_array_append_new(fields, field);
    }
    *schema = json_pack("{s:o,s:[s]}", "fields", fields, "missingValues", "");
    if (json_array_size(info.primary_key))
        json_object_set(*schema, "primaryKey", info.primary_key);
out:
    store_ds_info_release(&info);
    return ret;
}
