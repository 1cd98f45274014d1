/*
 * Fuzz harness for the XLSX reader (src/ingest/xlsx.c): any bytes, written to a memory
 * file and opened as a workbook through its /proc/self/fd path (libzip and the reader
 * open files by name).
 *
 * Invariants, beyond "no crash":
 * - a failure sets an error kind, a message and a field ("file" or "sheet") and leaves
 *   no source behind;
 * - on success the info names a sheet within the workbook, and the sheet name list agrees
 *   with it;
 * - every row has the same width, lines increase, every cell is NUL-terminated at its
 *   length, EMPTY cells are "", BOOL cells are "true"/"false", DATE cells are
 *   YYYY-MM-DD and TIMESTAMP cells YYYY-MM-DDTHH:MM:SS;
 * - a rewind yields the same rows again (compared through a digest of every row) and
 *   the same error, if reading stopped at one.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "ingest/ingest-int.h"
#include "core/util.h"

#define FUZZ_MAX_INPUT (64u * 1024) /* a zip of 64 KiB can still inflate to 64 MiB */

static uint64_t fnv(uint64_t h, const void *data, size_t len)
{
    const unsigned char *p = data;

    for (size_t i = 0; i < len; i++) {
        h ^= p[i];
        h *= 1099511628211ull;
    }
    return h;
}

static bool digits(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (s[i] < '0' || s[i] > '9')
            return false;
    return true;
}

static void check_cell(const struct ingest_cell *c)
{
    const char *s = c->s;

    BUG_ON(!s || strlen(s) != c->len);
    switch (c->kind) {
    case INGEST_CELL_EMPTY:
        BUG_ON(c->len);
        break;
    case INGEST_CELL_BOOL:
        BUG_ON(strcmp(s, "true") && strcmp(s, "false"));
        break;
    case INGEST_CELL_DATE:
        BUG_ON(c->len != 10 || !digits(s, 4) || s[4] != '-' || !digits(s + 5, 2) || s[7] != '-' ||
               !digits(s + 8, 2));
        break;
    case INGEST_CELL_TIMESTAMP:
        BUG_ON(c->len != 19 || !digits(s, 4) || s[4] != '-' || !digits(s + 5, 2) || s[7] != '-' ||
               !digits(s + 8, 2) || s[10] != 'T' || !digits(s + 11, 2) || s[13] != ':' ||
               !digits(s + 14, 2) || s[16] != ':' || !digits(s + 17, 2));
        break;
    case INGEST_CELL_TEXT:
    case INGEST_CELL_NUMBER:
        BUG_ON(!c->len);
        break;
    default:
        bug_fail(__FILE__, __LINE__, "a sheet yields no other cell kind");
    }
}

/* Reads every row: their count in *rows, a digest of them in *digest. Returns the last
 * result of next (0 at the end, or the error). */
static int read_all(struct ingest_source *src, uint64_t *rows, uint64_t *digest, struct err *err)
{
    struct ingest_row row;
    uint64_t h = 1469598103934665603ull, last = 0;
    size_t width = SIZE_MAX;
    int rc;

    *rows = 0;
    while ((rc = src->ops->next(src, &row, err)) == 1) {
        BUG_ON(row.line <= last);
        last = row.line;
        if (width == SIZE_MAX)
            width = row.n;
        BUG_ON(row.n != width);
        h = fnv(h, &row.line, sizeof(row.line));
        for (size_t i = 0; i < row.n; i++) {
            const struct ingest_cell *c = &row.cells[i];

            check_cell(c);
            h = fnv(h, &c->kind, sizeof(c->kind));
            h = fnv(h, c->s, c->len + 1);
        }
        (*rows)++;
    }
    BUG_ON(rc < 0 && (err->kind == ERR_NONE || !err->msg[0]));
    *digest = h;
    return rc;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct ingest_source src;
    struct err err = ERR_INIT;
    char path[64], **names = NULL;
    uint64_t rows1, rows2, d1, d2;
    int fd, rc1, rc2;

    if (size > FUZZ_MAX_INPUT)
        return 0;
    fd = memfd_create("fuzz-xlsx", 0);
    BUG_ON(fd < 0);
    BUG_ON(size && write(fd, data, size) != (ssize_t)size);
    xsnprintf(path, sizeof(path), "/proc/self/fd/%d", fd);

    memset(&src, 0, sizeof(src));
    if (ingest_xlsx_open(&src, path, NULL, &err)) {
        BUG_ON(err.kind == ERR_NONE || !err.msg[0]);
        BUG_ON(strcmp(err.field, "file") && strcmp(err.field, "sheet"));
        BUG_ON(src.impl);
        goto out;
    }
    BUG_ON(src.info.format != INGEST_FORMAT_XLSX);
    BUG_ON(!src.info.nsheets || !src.info.sheet_index || src.info.sheet_index > src.info.nsheets);
    BUG_ON(src.info.bytes != size);

    /* The name list is the one the reader chose from. */
    err_clear(&err);
    BUG_ON(ingest_xlsx_sheet_names(path, &names, &err));
    for (unsigned i = 0; i < src.info.nsheets; i++)
        BUG_ON(!names[i]);
    BUG_ON(names[src.info.nsheets]);
    BUG_ON(strncmp(names[src.info.sheet_index - 1], src.info.sheet, strlen(src.info.sheet)));

    rc1 = read_all(&src, &rows1, &d1, &err);
    err_clear(&err);
    BUG_ON(src.ops->rewind(&src, &err));
    rc2 = read_all(&src, &rows2, &d2, &err);
    BUG_ON(rc1 != rc2 || rows1 != rows2 || d1 != d2);
    src.ops->free(src.impl);
out:
    for (size_t i = 0; names && names[i]; i++)
        free(names[i]);
    free(names);
    close(fd);
    return 0;
}
