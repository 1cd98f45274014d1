/*
 * Fuzz harness for the JSON and NDJSON reader (src/ingest/json.c). The input is the file:
 * it is written to a memory file and opened through its /proc/self/fd path with
 * ingest_source_open(). Its length modulo 3 picks how: 0 as "fuzz.json", 1 as
 * "fuzz.ndjson", 2 as "fuzz.json" with records_path "rows".
 *
 * Invariants, beyond "no crash":
 * - a failed open sets an error kind, a message and a field ("file", "encoding" or
 *   "records_path") and leaves no source;
 * - the first row is the header: distinct TEXT cells; every other row has as many cells,
 *   lines do not decrease; every cell is valid UTF-8 without NUL, NUL-terminated at its
 *   length; NUMBER cells follow RFC 8259's number grammar, BOOL cells are true/false,
 *   EMPTY cells are "", JSON cells are JSON (jansson reads them, but for numbers past a
 *   double, whose text the reader keeps) with no white space
 *   outside strings;
 * - an error has a kind, a message and a line;
 * - a rewind gives the same rows (a digest), the same ending and the same error;
 * - when jansson reads the whole input as an array of objects (JSON, no records_path),
 *   the rows agree with it: one per object, each key's value of the kind of its jansson
 *   type, strings equal, nested values equal (json_equal), absent keys EMPTY.
 */
#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "ingest/ingest.h"
#include "core/util.h"

#define FUZZ_MAX_INPUT (64u * 1024)

static uint64_t fnv(uint64_t h, const void *data, size_t len)
{
    const unsigned char *p = data;

    for (size_t i = 0; i < len; i++) {
        h ^= p[i];
        h *= 1099511628211ull;
    }
    return h;
}

static bool utf8_ok(const unsigned char *p, size_t n)
{
    size_t i = 0;

    while (i < n) {
        unsigned cp, k;

        if (!p[i])
            return false;
        if (p[i] < 0x80) {
            i++;
            continue;
        }
        if (p[i] >= 0xc2 && p[i] <= 0xdf)
            k = 2, cp = p[i] & 0x1f;
        else if (p[i] >= 0xe0 && p[i] <= 0xef)
            k = 3, cp = p[i] & 0x0f;
        else if (p[i] >= 0xf0 && p[i] <= 0xf4)
            k = 4, cp = p[i] & 0x07;
        else
            return false;
        if (i + k > n)
            return false;
        for (unsigned j = 1; j < k; j++) {
            if ((p[i + j] & 0xc0) != 0x80)
                return false;
            cp = cp << 6 | (p[i + j] & 0x3f);
        }
        if ((k == 3 && cp < 0x800) || (k == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
            (cp >= 0xd800 && cp <= 0xdfff))
            return false;
        i += k;
    }
    return true;
}

static bool digit(char c)
{
    return c >= '0' && c <= '9';
}

/* RFC 8259 §6: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)? over the whole of s. */
static bool json_number(const char *s, size_t n)
{
    size_t i = 0;

    if (i < n && s[i] == '-')
        i++;
    if (i < n && s[i] == '0') {
        i++;
    } else if (i < n && digit(s[i])) {
        while (i < n && digit(s[i]))
            i++;
    } else {
        return false;
    }
    if (i < n && s[i] == '.') {
        if (++i >= n || !digit(s[i]))
            return false;
        while (i < n && digit(s[i]))
            i++;
    }
    if (i < n && (s[i] == 'e' || s[i] == 'E')) {
        i++;
        if (i < n && (s[i] == '+' || s[i] == '-'))
            i++;
        if (i >= n || !digit(s[i]))
            return false;
        while (i < n && digit(s[i]))
            i++;
    }
    return i == n;
}

/* No JSON white space outside strings. */
static bool compact(const char *s, size_t n)
{
    bool str = false;

    for (size_t i = 0; i < n; i++) {
        if (str) {
            if (s[i] == '\\')
                i++;
            else if (s[i] == '"')
                str = false;
        } else if (s[i] == '"') {
            str = true;
        } else if (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r') {
            return false;
        }
    }
    return true;
}

static void check_cell(const struct ingest_cell *c)
{
    json_error_t je;
    json_t *v;

    BUG_ON(!c->s || c->s[c->len]);
    BUG_ON(!utf8_ok((const unsigned char *)c->s, c->len));
    switch (c->kind) {
    case INGEST_CELL_EMPTY:
        BUG_ON(c->len);
        break;
    case INGEST_CELL_TEXT:
        break;
    case INGEST_CELL_NUMBER:
        BUG_ON(!json_number(c->s, c->len));
        break;
    case INGEST_CELL_BOOL:
        BUG_ON(strcmp(c->s, "true") && strcmp(c->s, "false"));
        break;
    case INGEST_CELL_JSON:
        BUG_ON(!compact(c->s, c->len));
        /* jansson stops at numbers past a double ("real number overflow"); the reader
         * keeps their text, as it should. */
        v = json_loadb(c->s, c->len, JSON_DECODE_ANY | JSON_DECODE_INT_AS_REAL, &je);
        BUG_ON(!v && !strstr(je.text, "overflow"));
        BUG_ON(v && !json_is_object(v) && !json_is_array(v));
        json_decref(v);
        break;
    default:
        bug_fail(__FILE__, __LINE__, "JSON yields no other cell kind");
    }
}

/* The rows of the first pass, kept for the comparison with jansson: row r, cell i. */
struct kept {
    json_t *rows; /* an array of arrays of [kind, text] */
};

static void keep_row(struct kept *k, const struct ingest_row *row)
{
    json_t *cells = json_array();

    for (size_t i = 0; i < row->n; i++)
        json_array_append_new(cells, json_pack("[is%]", (int)row->cells[i].kind, row->cells[i].s,
                                               row->cells[i].len));
    json_array_append_new(k->rows, cells);
}

/* Reads every row: their count in *rows, their digest in *digest; each row into k when
 * it is not NULL. Returns the last result of next (0 at the end, or the error). */
static int read_all(struct ingest_source *src, uint64_t *rows, uint64_t *digest, struct kept *k,
                    struct err *err)
{
    struct ingest_row row;
    uint64_t h = 1469598103934665603ull, last = 0;
    size_t width = 0;
    int rc;

    *rows = 0;
    while ((rc = ingest_source_next(src, &row, err)) == 1) {
        BUG_ON(row.line < last || !row.line);
        last = row.line;
        if (!*rows) {
            /* The header: distinct keys. */
            width = row.n;
            BUG_ON(!width);
            for (size_t i = 0; i < row.n; i++) {
                BUG_ON(row.cells[i].kind != INGEST_CELL_TEXT);
                for (size_t j = 0; j < i; j++)
                    BUG_ON(row.cells[i].len == row.cells[j].len &&
                           !memcmp(row.cells[i].s, row.cells[j].s, row.cells[i].len));
            }
        }
        BUG_ON(row.n != width);
        h = fnv(h, &row.line, sizeof(row.line));
        for (size_t i = 0; i < row.n; i++) {
            check_cell(&row.cells[i]);
            h = fnv(h, &row.cells[i].kind, sizeof(row.cells[i].kind));
            h = fnv(h, row.cells[i].s, row.cells[i].len + 1);
        }
        if (k)
            keep_row(k, &row);
        (*rows)++;
    }
    if (rc < 0) {
        struct ingest_pos pos;

        BUG_ON(err->kind == ERR_NONE || !err->msg[0]);
        ingest_source_pos(src, &pos);
        BUG_ON(err->kind != ERR_INTERNAL && !pos.line);
    }
    *digest = h;
    return rc;
}

/* The rows agree with jansson's reading of the whole input (an array of objects). */
static void compare_jansson(const json_t *records, const struct kept *k)
{
    size_t nrows = json_array_size(k->rows);
    const json_t *header;

    if (!nrows) {
        /* No keys at all: every record is {}. */
        for (size_t r = 0; r < json_array_size(records); r++)
            BUG_ON(json_object_size(json_array_get(records, r)));
        return;
    }
    BUG_ON(nrows != json_array_size(records) + 1);
    header = json_array_get(k->rows, 0);
    for (size_t r = 0; r < json_array_size(records); r++) {
        const json_t *rec = json_array_get(records, r), *row = json_array_get(k->rows, r + 1);

        for (size_t i = 0; i < json_array_size(header); i++) {
            const char *key = json_string_value(json_array_get(json_array_get(header, i), 1));
            const json_t *cell = json_array_get(row, i), *want = json_object_get(rec, key);
            int kind = (int)json_integer_value(json_array_get(cell, 0));
            const json_t *text = json_array_get(cell, 1);

            switch (json_typeof(want ? want : json_null())) {
            case JSON_NULL:
                BUG_ON(kind != INGEST_CELL_EMPTY);
                break;
            case JSON_TRUE:
            case JSON_FALSE:
                BUG_ON(kind != INGEST_CELL_BOOL);
                BUG_ON(strcmp(json_string_value(text), json_is_true(want) ? "true" : "false"));
                break;
            case JSON_INTEGER:
            case JSON_REAL:
                BUG_ON(kind != INGEST_CELL_NUMBER);
                break;
            case JSON_STRING:
                BUG_ON(kind != INGEST_CELL_TEXT);
                BUG_ON(!json_equal(text, want));
                break;
            default: {
                json_t *got = json_loads(json_string_value(text), JSON_DECODE_ANY, NULL);

                BUG_ON(kind != INGEST_CELL_JSON);
                BUG_ON(!json_equal(got, want));
                json_decref(got);
            }
            }
        }
        /* Every key of the record is a column. */
        {
            const char *key;
            json_t *v;

            json_object_foreach ((json_t *)rec, key, v) {
                bool found = false;

                for (size_t i = 0; i < json_array_size(header) && !found; i++)
                    found = !strcmp(json_string_value(json_array_get(json_array_get(header, i), 1)),
                                    key);
                BUG_ON(!found);
            }
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct ingest_options o = INGEST_OPTIONS_INIT;
    struct ingest_source *src = NULL;
    const struct ingest_info *info;
    struct err e1 = ERR_INIT, e2 = ERR_INIT;
    struct ingest_pos p1, p2;
    struct kept k = {NULL};
    uint64_t rows1, rows2, d1, d2;
    const char *name = size % 3 == 1 ? "fuzz.ndjson" : "fuzz.json";
    char path[64];
    int fd, rc1, rc2;

    if (size > FUZZ_MAX_INPUT)
        return 0;
    if (size % 3 == 2)
        o.records_path = "rows";
    fd = memfd_create("fuzz-json-records", 0);
    BUG_ON(fd < 0);
    BUG_ON(size && write(fd, data, size) != (ssize_t)size);
    xsnprintf(path, sizeof(path), "/proc/self/fd/%d", fd);

    if (ingest_source_open(&src, path, name, &o, &e1)) {
        BUG_ON(e1.kind == ERR_NONE || !e1.msg[0]);
        BUG_ON(strcmp(e1.field, "file") && strcmp(e1.field, "encoding") &&
               strcmp(e1.field, "records_path"));
        BUG_ON(src);
        goto out;
    }
    info = ingest_source_info(src);
    BUG_ON(info->format != (size % 3 == 1 ? INGEST_FORMAT_NDJSON : INGEST_FORMAT_JSON));
    BUG_ON(!info->encoding[0]);

    k.rows = json_array();
    rc1 = read_all(src, &rows1, &d1, &k, &e1);
    ingest_source_pos(src, &p1);
    /* Progress: within the file (a pass ends at the records' ']', before what follows). */
    BUG_ON(ingest_source_offset(src) > size);
    BUG_ON(ingest_source_rewind(src, &e2));
    rc2 = read_all(src, &rows2, &d2, NULL, &e2);
    ingest_source_pos(src, &p2);
    BUG_ON(rc1 != rc2 || rows1 != rows2 || d1 != d2);
    BUG_ON(strcmp(e1.msg, e2.msg) || p1.line != p2.line || p1.column != p2.column);

    if (size % 3 == 0 && !strcmp(info->encoding, "UTF-8") && !info->bom) {
        json_error_t je;
        json_t *all = json_loadb((const char *)data, size, 0, &je);
        bool objects = json_is_array(all);

        for (size_t i = 0; objects && i < json_array_size(all); i++)
            objects = json_is_object(json_array_get(all, i));
        /* jansson nests deeper than the reader allows; otherwise both read it. */
        if (objects && !(rc1 == -ERR_TOO_LARGE))
            BUG_ON(rc1);
        if (objects && !rc1)
            compare_jansson(all, &k);
        json_decref(all);
    }
    json_decref(k.rows);
    ingest_source_free(src);
out:
    close(fd);
    return 0;
}
