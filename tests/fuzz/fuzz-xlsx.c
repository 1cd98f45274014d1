/*
 * Fuzz harness for the XLSX reader (src/ingest/xlsx.c). An input that starts as a zip
 * ("PK") is the workbook itself; any other input is the XML of up to three parts split at
 * NUL bytes (the sheet, xl/sharedStrings.xml, xl/styles.xml), stored into a workbook of
 * one sheet here, so that mutations reach the XML instead of breaking deflate streams
 * and CRCs. The workbook is written to a memory file and opened through its
 * /proc/self/fd path (libzip and the reader open files by name).
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
#include <zip.h>

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

#define MAIN_NS "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
#define REL_NS  "http://schemas.openxmlformats.org/officeDocument/2006/relationships"

static const char wrap_workbook[] = "<workbook xmlns=\"" MAIN_NS "\" xmlns:r=\"" REL_NS "\">"
                                    "<sheets><sheet name=\"Fuzz\" sheetId=\"1\" r:id=\"rId1\"/>"
                                    "</sheets></workbook>";
static const char wrap_rels[] =
        "<Relationships xmlns=\"http://schemas.openxmlformats.org/package/2006/relationships\">"
        "<Relationship Id=\"rId1\" Type=\"" REL_NS "/worksheet\" Target=\"worksheets/sheet1.xml\"/>"
        "<Relationship Id=\"rId2\" Type=\"" REL_NS "/sharedStrings\" Target=\"sharedStrings.xml\"/>"
        "<Relationship Id=\"rId3\" Type=\"" REL_NS "/styles\" Target=\"styles.xml\"/>"
        "</Relationships>";

/* The parts in data (see the top) stored in a new zip: its bytes, free() them. */
static uint8_t *wrap_parts(const uint8_t *data, size_t size, size_t *len)
{
    static const char *const names[] = {"xl/worksheets/sheet1.xml", "xl/sharedStrings.xml",
                                        "xl/styles.xml"};
    zip_error_t ze;
    zip_source_t *buf;
    zip_t *z;
    zip_stat_t st;
    uint8_t *out;
    size_t start = 0;

    zip_error_init(&ze);
    buf = zip_source_buffer_create(NULL, 0, 0, &ze);
    BUG_ON(!buf);
    zip_source_keep(buf);
    z = zip_open_from_source(buf, ZIP_TRUNCATE, &ze);
    BUG_ON(!z);
    BUG_ON(zip_file_add(z, "xl/workbook.xml",
                        zip_source_buffer(z, wrap_workbook, strlen(wrap_workbook), 0), 0) < 0);
    BUG_ON(zip_file_add(z, "xl/_rels/workbook.xml.rels",
                        zip_source_buffer(z, wrap_rels, strlen(wrap_rels), 0), 0) < 0);
    for (size_t i = 0; i < ARRAY_SIZE(names) && start <= size; i++) {
        const uint8_t *nul = memchr(data + start, 0, size - start);
        size_t end = nul ? (size_t)(nul - data) : size;
        zip_int64_t idx;

        idx = zip_file_add(z, names[i], zip_source_buffer(z, data + start, end - start, 0), 0);
        BUG_ON(idx < 0);
        BUG_ON(zip_set_file_compression(z, (zip_uint64_t)idx, ZIP_CM_STORE, 0));
        start = end + 1;
    }
    BUG_ON(zip_close(z));
    BUG_ON(zip_source_stat(buf, &st) || zip_source_open(buf));
    out = xmalloc(st.size ? st.size : 1);
    BUG_ON(zip_source_read(buf, out, st.size) != (zip_int64_t)st.size);
    zip_source_close(buf);
    zip_source_free(buf);
    zip_error_fini(&ze);
    *len = st.size;
    return out;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct ingest_source src;
    struct err err = ERR_INIT;
    char path[64], **names = NULL;
    uint64_t rows1, rows2, d1, d2;
    uint8_t *wrapped = NULL;
    int fd, rc1, rc2;

    if (size > FUZZ_MAX_INPUT)
        return 0;
    if (size < 2 || memcmp(data, "PK", 2))
        data = wrapped = wrap_parts(data, size, &size);
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
    free(wrapped);
    close(fd);
    return 0;
}
