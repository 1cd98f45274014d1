/*
 * Fuzz harness for the table layer of src/ingest (infer.c, header.c, table.c). The input
 * is written to a memory file and opened through its /proc/self/fd path as a CSV table,
 * strict and lenient; each line of it is also run through the grammars as one cell.
 *
 * Invariants, beyond "no crash":
 * - grammars: a value converts to the type inferred for it; converting a value's
 *   canonical text again gives the same text (int8: the same integer, whose decimal is
 *   the text itself; numeric: the text as it came in); an int8 is a numeric and a date a
 *   timestamp;
 * - a failed open sets an error kind and message and leaves no table;
 * - field ids are 1–63 bytes, without '"', control characters or a leading '_', and
 *   distinct (ASCII case-insensitively);
 * - every typed row agrees with the raw row the source yields at the same line: NULL
 *   only for missing cells (for text only ""), int8 values print as the cell's text,
 *   numeric and text values are the cell's text, and every value converts to itself;
 * - the second pass yields exactly t->rows rows and never fails with inferred types, a
 *   rewind yields the same rows again, and a file that opens strictly opens leniently
 *   with the same rows and nothing ragged.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "core/limits.h"
#include "ingest/ingest.h"
#include "core/util.h"

#define FUZZ_MAX_INPUT (64u * 1024)
#define FUZZ_MAX_CELLS 64u /* lines run through the grammars */

static uint64_t fnv(uint64_t h, const void *data, size_t len)
{
    const unsigned char *p = data;

    for (size_t i = 0; i < len; i++) {
        h ^= p[i];
        h *= 1099511628211ull;
    }
    return h;
}

/* v, converted from cell to type t, converts to itself again from its canonical text. */
static void check_value(enum dstype t, const struct ingest_cell *cell, const struct dsvalue *v)
{
    char scratch[INGEST_SCRATCH], dec[32];
    struct ingest_cell again = {INGEST_CELL_TEXT, NULL, 0};
    struct dsvalue w;

    switch (v->kind) {
    case DSVALUE_NULL:
        BUG_ON(!ingest_is_missing(cell));
        BUG_ON(t == DSTYPE_TEXT && cell->len);
        return;
    case DSVALUE_INT:
        BUG_ON(t != DSTYPE_INT8);
        xsnprintf(dec, sizeof(dec), "%" PRId64, v->i);
        BUG_ON(strlen(dec) != cell->len || memcmp(dec, cell->s, cell->len));
        again.s = dec;
        again.len = strlen(dec);
        BUG_ON(ingest_value_convert(t, &again, &w, scratch, NULL));
        BUG_ON(w.kind != DSVALUE_INT || w.i != v->i);
        return;
    case DSVALUE_TEXT:
        BUG_ON(t == DSTYPE_INT8 || !v->s || !v->len);
        if (t == DSTYPE_TEXT || t == DSTYPE_NUMERIC || t == DSTYPE_JSON)
            BUG_ON(v->len != cell->len || memcmp(v->s, cell->s, cell->len));
        if (t == DSTYPE_BOOL)
            BUG_ON(strcmp(v->s, "true") && strcmp(v->s, "false"));
        if (t == DSTYPE_DATE)
            BUG_ON(v->len != 10);
        if (t == DSTYPE_TIMESTAMP)
            BUG_ON(v->len < 19 || v->s[10] != 'T');
        /* The canonical text, copied: as a NUL-terminated cell of its own (it may hold
         * NUL bytes: a CSV field can). */
        {
            char *copy = xmalloc(v->len + 1);

            memcpy(copy, v->s, v->len);
            copy[v->len] = '\0';

            again.s = copy;
            again.len = v->len;
            if (t == DSTYPE_JSON)
                again.kind = INGEST_CELL_JSON;
            BUG_ON(ingest_value_convert(t, &again, &w, scratch, NULL));
            BUG_ON(w.kind != DSVALUE_TEXT || w.len != v->len || memcmp(w.s, v->s, v->len));
            free(copy);
        }
        return;
    }
    bug_fail(__FILE__, __LINE__, "no other value kind");
}

/* One cell through every grammar. */
static void check_cell_grammars(const char *s, size_t len, enum ingest_cell_kind kind)
{
    struct ingest_cell c = {kind, s, len};
    struct dsvalue v[DSTYPE_COUNT];
    char scratch[DSTYPE_COUNT][INGEST_SCRATCH];
    bool ok[DSTYPE_COUNT];
    struct ingest_infer inf;
    struct err err = ERR_INIT;
    enum dstype t;

    for (unsigned k = 0; k < DSTYPE_COUNT; k++) {
        err_clear(&err);
        ok[k] = !ingest_value_convert((enum dstype)k, &c, &v[k], scratch[k], &err);
        if (ok[k])
            check_value((enum dstype)k, &c, &v[k]);
        else
            BUG_ON(err.kind != ERR_VALIDATION || !strstr(err.msg, "is not a valid"));
    }
    BUG_ON(!ok[DSTYPE_TEXT]);
    BUG_ON(ok[DSTYPE_INT8] && !ok[DSTYPE_NUMERIC]);
    BUG_ON(ok[DSTYPE_DATE] && !ok[DSTYPE_TIMESTAMP]);
    ingest_infer_init(&inf);
    ingest_infer_cell(&inf, &c);
    t = ingest_infer_type(&inf);
    BUG_ON(!ok[t]);
    BUG_ON(inf.values + inf.missing != 1);
    BUG_ON(inf.missing != ingest_is_missing(&c));
    /* A missing value is NULL in every type but text. */
    if (ingest_is_missing(&c))
        for (unsigned k = DSTYPE_INT8; k < DSTYPE_COUNT; k++)
            BUG_ON(!ok[k] || v[k].kind != DSVALUE_NULL);
}

static void check_ids(const struct ingest_table *t)
{
    BUG_ON(!t->nfields || t->nfields > LIMIT_DATASTORE_FIELDS);
    for (size_t i = 0; i < t->nfields; i++) {
        const char *id = t->fields[i].id;
        size_t n = strlen(id);

        BUG_ON(!n || n > LIMIT_INGEST_FIELD_ID || id[0] == '_' || !t->fields[i].label);
        for (size_t k = 0; k < n; k++)
            BUG_ON((unsigned char)id[k] < 0x20 || id[k] == 0x7f || id[k] == '"');
        BUG_ON((unsigned)t->fields[i].type >= DSTYPE_COUNT);
        BUG_ON(t->fields[i].nonnull > t->rows);
    }
    /* Distinct; a header is at most LIMIT_DATASTORE_FIELDS wide, so pairs are cheap. */
    for (size_t i = 0; i < t->nfields; i++)
        for (size_t j = i + 1; j < t->nfields; j++)
            BUG_ON(!strcasecmp(t->fields[i].id, t->fields[j].id));
}

/* Reads every typed row beside the raw rows of src (positioned at the first data row):
 * returns a digest of the values. */
static uint64_t read_typed(struct ingest_table *t, struct ingest_source *src)
{
    static const struct ingest_cell empty = {INGEST_CELL_EMPTY, "", 0};
    uint64_t h = 1469598103934665603ull, n = 0, line, *nonnull;
    const struct dsvalue *v;
    struct ingest_row row;
    struct err err = ERR_INIT;
    int rc;

    nonnull = xcalloc(t->nfields, sizeof(*nonnull));
    while ((rc = ingest_table_next(t, &v, &line, &err)) == 1) {
        BUG_ON(ingest_source_next(src, &row, &err) != 1);
        BUG_ON(row.line != line);
        for (size_t i = 0; i < t->nfields; i++) {
            const struct ingest_cell *c = i < row.n ? &row.cells[i] : &empty;

            check_value(t->fields[i].type, c, &v[i]);
            nonnull[i] += v[i].kind != DSVALUE_NULL;
            h = fnv(h, &v[i].kind, sizeof(v[i].kind));
            if (v[i].kind == DSVALUE_INT)
                h = fnv(h, &v[i].i, sizeof(v[i].i));
            else if (v[i].kind == DSVALUE_TEXT)
                h = fnv(h, v[i].s, v[i].len);
        }
        h = fnv(h, &line, sizeof(line));
        n++;
    }
    BUG_ON(rc != 0);
    BUG_ON(n != t->rows);
    for (size_t i = 0; i < t->nfields; i++)
        BUG_ON(nonnull[i] != t->fields[i].nonnull);
    free(nonnull);
    return h;
}

static void skip_to_data(struct ingest_source *src, const struct ingest_table *t)
{
    struct ingest_row row;
    struct err err = ERR_INIT;

    for (uint64_t i = 0; i < (uint64_t)t->skipped + 1; i++)
        BUG_ON(ingest_source_next(src, &row, &err) != 1);
    BUG_ON(row.line != t->header_line);
}

/* Opens path as a CSV table; on success returns 1 with the digest of its rows. */
static int check_table(const char *path, bool lenient, uint64_t *digest, uint64_t *rows,
                       uint64_t *ragged)
{
    struct ingest_options o = INGEST_OPTIONS_INIT;
    struct ingest_table *t = NULL;
    struct ingest_source *src = NULL;
    struct err err = ERR_INIT;
    struct ingest_pos pos;
    uint64_t d2;

    o.format = INGEST_FORMAT_CSV;
    o.lenient = lenient;
    if (ingest_table_open_pos(&t, path, "fuzz.csv", &o, &pos, &err)) {
        BUG_ON(t || err.kind == ERR_NONE || !err.msg[0]);
        BUG_ON(lenient && strstr(err.msg, "fields, the header has"));
        return 0;
    }
    check_ids(t);
    BUG_ON(t->skipped > LIMIT_INGEST_TITLE_ROWS);
    BUG_ON(!lenient && t->ragged);
    BUG_ON(t->ragged > t->rows || (t->ragged && !t->first_ragged_line));
    BUG_ON(ingest_source_open(&src, path, "fuzz.csv", &o, &err));
    skip_to_data(src, t);
    *digest = read_typed(t, src);

    /* Again after a rewind: the same rows. */
    BUG_ON(ingest_table_rewind(t, &err) || ingest_source_rewind(src, &err));
    skip_to_data(src, t);
    d2 = read_typed(t, src);
    BUG_ON(d2 != *digest);
    *rows = t->rows;
    *ragged = t->ragged;
    ingest_source_free(src);
    ingest_table_free(t);
    return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint64_t d_strict = 0, d_lenient = 0, r_strict = 0, r_lenient = 0, ragged = 0;
    const char *s = (const char *)data, *end = s + size;
    char path[64];
    unsigned cells = 0;
    int fd, strict_ok, lenient_ok;

    if (size > FUZZ_MAX_INPUT)
        return 0;

    /* Each line as one cell (NUL-terminated, as the readers give them). */
    while (s < end && cells++ < FUZZ_MAX_CELLS) {
        const char *nl = memchr(s, '\n', (size_t)(end - s));
        size_t len = nl ? (size_t)(nl - s) : (size_t)(end - s);
        char *cell = xstrndup(s, len);

        len = strlen(cell); /* up to a NUL byte */
        check_cell_grammars(cell, len, INGEST_CELL_TEXT);
        if (len)
            check_cell_grammars(cell, len, INGEST_CELL_NUMBER);
        free(cell);
        s = nl ? nl + 1 : end;
    }

    fd = memfd_create("fuzz-ingest-table", 0);
    BUG_ON(fd < 0);
    BUG_ON(size && write(fd, data, size) != (ssize_t)size);
    xsnprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
    strict_ok = check_table(path, false, &d_strict, &r_strict, &ragged);
    BUG_ON(strict_ok && ragged);
    lenient_ok = check_table(path, true, &d_lenient, &r_lenient, &ragged);
    if (strict_ok) {
        BUG_ON(!lenient_ok || ragged);
        BUG_ON(d_strict != d_lenient || r_strict != r_lenient);
    }
    close(fd);
    return 0;
}
