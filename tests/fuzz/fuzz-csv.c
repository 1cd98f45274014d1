/*
 * Fuzz harness for the CSV/TSV reader (src/ingest/csv.c) and the text decoding under it
 * (encoding.c). The input is the file: it is written to a memory file and opened through
 * its /proc/self/fd path with ingest_source_open(). The options depend on the input's
 * length modulo 4, so that any input reaches each of them: 0 the defaults (encoding
 * detected, delimiter sniffed), 1 TSV, 2 ';' as delimiter and WINDOWS-1252, 3 GB18030.
 *
 * Invariants, beyond "no crash":
 * - a failed open sets an error kind, a message and a field ("file", "encoding" or
 *   "delimiter") and leaves no source;
 * - the info says CSV or TSV (TSV exactly when the delimiter is a tab), one of the four
 *   delimiters and an encoding;
 * - every row has at least one cell, lines increase, every cell is TEXT, valid UTF-8
 *   without NUL and NUL-terminated at its length;
 * - an error has a kind, a message and a line;
 * - reading the file again after a rewind gives the same rows (a digest of every row and
 *   line), the same ending, the same error and place;
 * - when the file is UTF-8 without a BOM (so the text is the input itself) and reads
 *   without error, the rows are those of ref_parse(), a plain byte-at-a-time reading of
 *   the same rules written here independently of the reader's buffer handling.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "core/buf.h"
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

/* Adds a row (its line, its cells' lengths and bytes) to digest h. */
static uint64_t digest_row(uint64_t h, uint64_t line, const char *const *cells, const size_t *lens,
                           size_t n)
{
    h = fnv(h, &line, sizeof(line));
    h = fnv(h, &n, sizeof(n));
    for (size_t i = 0; i < n; i++) {
        h = fnv(h, &lens[i], sizeof(lens[i]));
        h = fnv(h, cells[i], lens[i]);
    }
    return h;
}

/*
 * The reference: the rows of text p[0..n) split by delim, as a digest (and their count).
 * One byte at a time: a record is a line; a line end is LF, CRLF or CR, inside quotes
 * too (where it is part of the value and still counts a line); a field starting with '"'
 * is quoted up to a '"' not followed by another ('""' is one '"'), and what follows the
 * closing quote up to the delimiter is appended; a '"' elsewhere is text; an empty line
 * is a row of one empty cell, except at the end of the file.
 */
static uint64_t ref_parse(const char *p, size_t n, char delim, uint64_t *rows)
{
    struct buf field = BUF_INIT;
    char **cells = NULL;
    size_t *lens = NULL, ncells = 0, alloc = 0, i = 0;
    uint64_t h = 1469598103934665603ull, line = 1;
    /* Rows of empty lines wait until a record with text follows them. */
    uint64_t blank_from = 0, blanks = 0;
    static const char *const empty_cell[1] = {""};
    static const size_t zero[1] = {0};

    *rows = 0;
    while (i < n) {
        uint64_t rec_line = line;
        bool end = false;

        if (p[i] == '\n' || p[i] == '\r') {
            if (!blanks)
                blank_from = line;
            blanks++;
            i += p[i] == '\r' && i + 1 < n && p[i + 1] == '\n' ? 2 : 1;
            line++;
            continue;
        }
        for (uint64_t b = 0; b < blanks; b++) {
            h = digest_row(h, blank_from + b, empty_cell, zero, 1);
            (*rows)++;
        }
        blanks = 0;
        ncells = 0;
        while (!end) {
            buf_reset(&field);
            if (i < n && p[i] == '"') {
                for (i++;; i++) {
                    if (i >= n) {
                        bug_fail(__FILE__, __LINE__, "the reader read an unclosed quote");
                    } else if (p[i] == '"') {
                        if (i + 1 < n && p[i + 1] == '"') {
                            buf_addch(&field, '"');
                            i++;
                        } else {
                            i++;
                            break;
                        }
                    } else {
                        if (p[i] == '\r' || (p[i] == '\n' && (i == 0 || p[i - 1] != '\r')))
                            line++;
                        buf_addch(&field, p[i]);
                    }
                }
            }
            while (i < n && p[i] != delim && p[i] != '\n' && p[i] != '\r')
                buf_addch(&field, p[i++]);
            ALLOC_GROW(cells, ncells + 1, alloc);
            lens = xrealloc(lens, alloc * sizeof(*lens));
            lens[ncells] = field.len;
            cells[ncells++] = buf_detach(&field, NULL);
            if (i < n && p[i] == delim) {
                i++;
                continue;
            }
            end = true;
            if (i < n) {
                i += p[i] == '\r' && i + 1 < n && p[i + 1] == '\n' ? 2 : 1;
                line++;
            }
        }
        h = digest_row(h, rec_line, (const char *const *)cells, lens, ncells);
        (*rows)++;
        for (size_t c = 0; c < ncells; c++)
            free(cells[c]);
    }
    free(cells);
    free(lens);
    buf_release(&field);
    return h;
}

/* Reads every row: their count in *rows, their digest in *digest. Returns the last
 * result of next (0 at the end, or the error). */
static int read_all(struct ingest_source *src, uint64_t *rows, uint64_t *digest, struct err *err)
{
    const char **cells = NULL;
    size_t *lens = NULL, alloc = 0;
    struct ingest_row row;
    uint64_t h = 1469598103934665603ull, last = 0;
    int rc;

    *rows = 0;
    while ((rc = ingest_source_next(src, &row, err)) == 1) {
        BUG_ON(!row.n);
        BUG_ON(row.line <= last);
        last = row.line;
        if (row.n > alloc) {
            alloc = row.n;
            cells = xrealloc(cells, alloc * sizeof(*cells));
            lens = xrealloc(lens, alloc * sizeof(*lens));
        }
        for (size_t i = 0; i < row.n; i++) {
            const struct ingest_cell *c = &row.cells[i];

            BUG_ON(c->kind != INGEST_CELL_TEXT);
            BUG_ON(!c->s || c->s[c->len]);
            BUG_ON(!utf8_ok((const unsigned char *)c->s, c->len));
            cells[i] = c->s;
            lens[i] = c->len;
        }
        h = digest_row(h, row.line, cells, lens, row.n);
        (*rows)++;
    }
    if (rc < 0) {
        struct ingest_pos pos;

        BUG_ON(err->kind == ERR_NONE || !err->msg[0]);
        ingest_source_pos(src, &pos);
        BUG_ON(err->kind != ERR_INTERNAL && !pos.line);
    }
    free(cells);
    free(lens);
    *digest = h;
    return rc;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct ingest_options o = INGEST_OPTIONS_INIT;
    struct ingest_source *src = NULL;
    const struct ingest_info *info;
    struct err e1 = ERR_INIT, e2 = ERR_INIT;
    struct ingest_pos p1, p2;
    uint64_t rows1, rows2, d1, d2;
    char path[64];
    int fd, rc1, rc2;

    if (size > FUZZ_MAX_INPUT)
        return 0;
    switch (size % 4) {
    case 1:
        o.format = INGEST_FORMAT_TSV;
        break;
    case 2:
        o.delimiter = ';';
        o.encoding = "WINDOWS-1252";
        break;
    case 3:
        o.encoding = "GB18030";
        break;
    default:
        break;
    }
    fd = memfd_create("fuzz-csv", 0);
    BUG_ON(fd < 0);
    BUG_ON(size && write(fd, data, size) != (ssize_t)size);
    xsnprintf(path, sizeof(path), "/proc/self/fd/%d", fd);

    if (ingest_source_open(&src, path, "fuzz.csv", &o, &e1)) {
        BUG_ON(e1.kind == ERR_NONE || !e1.msg[0]);
        BUG_ON(strcmp(e1.field, "file") && strcmp(e1.field, "encoding") &&
               strcmp(e1.field, "delimiter"));
        BUG_ON(src);
        goto out;
    }
    info = ingest_source_info(src);
    BUG_ON(info->format != INGEST_FORMAT_CSV && info->format != INGEST_FORMAT_TSV);
    BUG_ON(!info->delimiter || !strchr(",;\t|", info->delimiter));
    BUG_ON((info->format == INGEST_FORMAT_TSV) != (info->delimiter == '\t'));
    BUG_ON(!info->encoding[0]);
    BUG_ON(info->bytes != size);

    rc1 = read_all(src, &rows1, &d1, &e1);
    ingest_source_pos(src, &p1);
    if (!rc1)
        BUG_ON(ingest_source_offset(src) != size);
    BUG_ON(ingest_source_rewind(src, &e2));
    rc2 = read_all(src, &rows2, &d2, &e2);
    ingest_source_pos(src, &p2);
    BUG_ON(rc1 != rc2 || rows1 != rows2 || d1 != d2);
    BUG_ON(strcmp(e1.msg, e2.msg) || p1.line != p2.line || p1.column != p2.column);

    if (!rc1 && !strcmp(info->encoding, "UTF-8") && !info->bom) {
        uint64_t ref_rows, ref = ref_parse((const char *)data, size, info->delimiter, &ref_rows);

        BUG_ON(ref_rows != rows1 || ref != d1);
    }
    ingest_source_free(src);
out:
    close(fd);
    return 0;
}
