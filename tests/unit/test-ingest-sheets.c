/*
 * Unit tests for the spreadsheet readers of src/ingest (xlsx.c, xls.c, sheet.c).
 *
 * Fixtures: the NYC Regents workbook of examples/catalog (the .xls original and its .xlsx
 * conversion); a workbook written here with libxlsxwriter at test time (shared strings,
 * date formats in the 1900 system, merged ranges, sparse and missing rows, an empty first
 * sheet); tests/data/ingest-sheets/handmade/, the parts of a workbook written by hand
 * (inline strings, date1904, custom number formats, rich text, escapes, a prefixed
 * namespace), zipped here with libzip; and small workbooks built here part by part for
 * the errors and the limits. tests/data/ingest-sheets/README.md says more.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <dirent.h>
#include <xlsxwriter.h>
#include <zip.h>

#include "core/buf.h"
#include "core/limits.h"
#include "ingest/ingest-int.h"
#include "unit-util.h"
#include "core/util.h"

#define MAIN_NS "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
#define REL_NS  "http://schemas.openxmlformats.org/officeDocument/2006/relationships"

static char tmpdir[64];

static int group_setup(void **state)
{
    (void)state;
    return unit_tmpdir(tmpdir, sizeof(tmpdir), "sheets");
}

static int group_teardown(void **state)
{
    (void)state;
    unit_remove_tree(tmpdir);
    return 0;
}

/* A path in the temporary directory; free() it. */
static char *tmp_path(const char *name)
{
    return xstrfmt("%s/%s", tmpdir, name);
}

static char *regents_path(const char *ext)
{
    const char *src = getenv("KAIFANG_SOURCE_DIR");

    return xstrfmt("%s/examples/catalog/nyc-doe-regents-score-distribution-2010/"
                   "2010_bigfive_regents.%s",
                   src ? src : ".", ext);
}

/* ---- Reading ---------------------------------------------------------------------- */

static int sheets_open(struct ingest_source *src, enum ingest_format f, const char *path,
                       const char *sheet, struct err *err)
{
    struct ingest_options o = INGEST_OPTIONS_INIT;

    memset(src, 0, sizeof(*src));
    err_clear(err);
    o.format = f;
    o.sheet = sheet;
    if (f == INGEST_FORMAT_XLS)
        return ingest_xls_open(src, path, &o, err);
    return ingest_xlsx_open(src, path, &o, err);
}

static void sheets_close(struct ingest_source *src)
{
    if (src->impl)
        src->ops->free(src->impl);
    src->impl = NULL;
}

/*
 * Every row of src as text, one line per row: "L: K'text' K'text' …" with K the kind
 * (_ empty, T text, N number, B bool, D date, S timestamp). Also checks what every row
 * must satisfy: the same width throughout, increasing lines, cells NUL-terminated at
 * len, EMPTY cells "". An error ends the text with "error: <message>". free() it.
 */
static char *sheets_dump(struct ingest_source *src)
{
    static const char kinds[] = "_TNBDSJ";
    struct buf b = BUF_INIT;
    struct ingest_row row;
    struct err err = ERR_INIT;
    uint64_t last = 0;
    size_t width = SIZE_MAX;
    int rc;

    while ((rc = src->ops->next(src, &row, &err)) == 1) {
        assert_true(row.line > last);
        last = row.line;
        if (width == SIZE_MAX)
            width = row.n;
        assert_int_equal(row.n, width);
        buf_addf(&b, "%" PRIu64 ":", row.line);
        for (size_t i = 0; i < row.n; i++) {
            const struct ingest_cell *c = &row.cells[i];

            assert_non_null(c->s);
            assert_int_equal(strlen(c->s), c->len);
            if (c->kind == INGEST_CELL_EMPTY)
                assert_int_equal(c->len, 0);
            else
                assert_true(c->len > 0);
            buf_addf(&b, " %c'%s'", kinds[c->kind], c->s);
        }
        buf_addch(&b, '\n');
    }
    if (rc)
        buf_addf(&b, "error: %s", err.msg);
    return buf_detach(&b, NULL);
}

/* Opens, dumps and closes; the text of the open error when it fails. */
static char *sheets_read(enum ingest_format f, const char *path, const char *sheet)
{
    struct ingest_source src;
    struct err err;
    char *s;

    if (sheets_open(&src, f, path, sheet, &err))
        return xstrfmt("open: %s", err.msg);
    s = sheets_dump(&src);
    sheets_close(&src);
    return s;
}

/* tests/data/ingest-sheets/<name>; free() it. */
static char *data_path(const char *name)
{
    const char *data = getenv("KAIFANG_TEST_DATA");

    return xstrfmt("%s/ingest-sheets/%s", data ? data : "tests/data", name);
}

/* ---- Building workbooks ----------------------------------------------------------- */

struct part {
    const char *name;
    const char *data;
    size_t len; /* 0: strlen(data) */
};

/* Writes a zip at path holding parts (stored when store, else deflated). */
static void zip_parts(const char *path, const struct part *parts, size_t n, bool store)
{
    int zerr = 0;
    zip_t *z = zip_open(path, ZIP_CREATE | ZIP_TRUNCATE, &zerr);

    assert_non_null(z);
    for (size_t i = 0; i < n; i++) {
        size_t len = parts[i].len ? parts[i].len : strlen(parts[i].data);
        zip_source_t *s = zip_source_buffer(z, parts[i].data, len, 0);
        zip_int64_t idx;

        assert_non_null(s);
        idx = zip_file_add(z, parts[i].name, s, ZIP_FL_OVERWRITE);
        assert_true(idx >= 0);
        if (store)
            assert_int_equal(zip_set_file_compression(z, (zip_uint64_t)idx, ZIP_CM_STORE, 0), 0);
    }
    assert_int_equal(zip_close(z), 0);
}

static const char min_workbook[] = "<workbook xmlns=\"" MAIN_NS "\" xmlns:r=\"" REL_NS "\">"
                                   "<sheets><sheet name=\"Sheet1\" sheetId=\"1\" r:id=\"rId1\"/>"
                                   "</sheets></workbook>";
static const char min_rels[] =
        "<Relationships xmlns=\"http://schemas.openxmlformats.org/package/2006/relationships\">"
        "<Relationship Id=\"rId1\" Type=\"" REL_NS "/worksheet\" Target=\"worksheets/sheet1.xml\"/>"
        "<Relationship Id=\"rId2\" Type=\"" REL_NS "/sharedStrings\" Target=\"sharedStrings.xml\"/>"
        "<Relationship Id=\"rId3\" Type=\"" REL_NS "/styles\" Target=\"styles.xml\"/>"
        "</Relationships>";

/* A workbook of one sheet "Sheet1" (sheet: its XML), with sst and styles parts when not
 * NULL, and workbook.xml replaced when workbook is not NULL. */
static void xlsx_min(const char *path, const char *workbook, const char *sheet, const char *sst,
                     const char *styles)
{
    struct part parts[5];
    size_t n = 0;

    parts[n++] = (struct part){"xl/workbook.xml", workbook ? workbook : min_workbook, 0};
    parts[n++] = (struct part){"xl/_rels/workbook.xml.rels", min_rels, 0};
    parts[n++] = (struct part){"xl/worksheets/sheet1.xml", sheet, 0};
    if (sst)
        parts[n++] = (struct part){"xl/sharedStrings.xml", sst, 0};
    if (styles)
        parts[n++] = (struct part){"xl/styles.xml", styles, 0};
    zip_parts(path, parts, n, false);
}

/* Adds every file under dir to the zip z, named by its path below root. */
static void zip_add_tree(zip_t *z, const char *root, const char *rel)
{
    char *dir = *rel ? xstrfmt("%s/%s", root, rel) : xstrdup(root);
    DIR *d = opendir(dir);
    struct dirent *e;

    assert_non_null(d);
    while ((e = readdir(d))) {
        char *child, *path;
        struct stat st;

        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
            continue;
        child = *rel ? xstrfmt("%s/%s", rel, e->d_name) : xstrdup(e->d_name);
        path = xstrfmt("%s/%s", root, child);
        assert_int_equal(stat(path, &st), 0);
        if (S_ISDIR(st.st_mode)) {
            zip_add_tree(z, root, child);
        } else {
            zip_source_t *s = zip_source_file(z, path, 0, -1);

            assert_non_null(s);
            assert_true(zip_file_add(z, child, s, ZIP_FL_OVERWRITE) >= 0);
        }
        free(child);
        free(path);
    }
    closedir(d);
    free(dir);
}

/* tests/data/ingest-sheets/handmade zipped into the temporary directory; free() it. */
static char *handmade_xlsx(void)
{
    char *root = data_path("handmade");
    char *path = tmp_path("handmade.xlsx");
    int zerr = 0;
    zip_t *z = zip_open(path, ZIP_CREATE | ZIP_TRUNCATE, &zerr);

    assert_non_null(z);
    zip_add_tree(z, root, "");
    assert_int_equal(zip_close(z), 0);
    free(root);
    return path;
}

/*
 * The libxlsxwriter workbook: sheets "Blank" (no cells), "Data" and "Other". free() the
 * path. Data's rows (1-based):
 *   1  "Quarterly report" merged over A1:D1 (a title above the header)
 *   2  the header
 *   3  a text code, a name, a number, a date, a boolean, a date-time, a number under
 *      "000000"
 *   4  a sparse row: A and C only
 *   5  missing
 *   6-7  "both" merged over B6:C7, with A6 and A7
 *   8  serials 59, 60, 61 and 1 under a date format; 45000 under built-in format 14,
 *      45000.5 under 22, 0.5 under 20 (h:mm)
 */
static char *features_xlsx(void)
{
    char *path = tmp_path("features.xlsx");
    lxw_workbook *wb = workbook_new(path);
    lxw_worksheet *blank, *ws, *other;
    lxw_format *date, *stamp, *pad, *b14, *b22, *b20;
    lxw_datetime d = {2024, 1, 15, 0, 0, 0}, dt = {2024, 1, 15, 13, 45, 30};
    static const char *const header[] = {"code", "name",  "amount", "day",
                                         "flag", "stamp", "serial"};

    assert_non_null(wb);
    blank = workbook_add_worksheet(wb, "Blank");
    ws = workbook_add_worksheet(wb, "Data");
    other = workbook_add_worksheet(wb, "Other");
    assert_non_null(blank);
    date = workbook_add_format(wb);
    format_set_num_format(date, "yyyy-mm-dd");
    stamp = workbook_add_format(wb);
    format_set_num_format(stamp, "yyyy-mm-dd hh:mm:ss");
    pad = workbook_add_format(wb);
    format_set_num_format(pad, "000000");
    b14 = workbook_add_format(wb);
    format_set_num_format_index(b14, 14);
    b22 = workbook_add_format(wb);
    format_set_num_format_index(b22, 22);
    b20 = workbook_add_format(wb);
    format_set_num_format_index(b20, 20);

    worksheet_merge_range(ws, 0, 0, 0, 3, "Quarterly report", NULL);
    for (lxw_col_t c = 0; c < ARRAY_SIZE(header); c++)
        worksheet_write_string(ws, 1, c, header[c], NULL);
    worksheet_write_string(ws, 2, 0, "000123", NULL);
    worksheet_write_string(ws, 2, 1, "Alice", NULL);
    worksheet_write_number(ws, 2, 2, 4429.4, NULL);
    worksheet_write_datetime(ws, 2, 3, &d, date);
    worksheet_write_boolean(ws, 2, 4, 1, NULL);
    worksheet_write_datetime(ws, 2, 5, &dt, stamp);
    worksheet_write_number(ws, 2, 6, 123, pad);
    worksheet_write_string(ws, 3, 0, "000456", NULL);
    worksheet_write_number(ws, 3, 2, 12.5, NULL);
    worksheet_merge_range(ws, 5, 1, 6, 2, "both", NULL);
    worksheet_write_string(ws, 5, 0, "x", NULL);
    worksheet_write_string(ws, 6, 0, "y", NULL);
    worksheet_write_number(ws, 7, 0, 59, date);
    worksheet_write_number(ws, 7, 1, 60, date);
    worksheet_write_number(ws, 7, 2, 61, date);
    worksheet_write_number(ws, 7, 3, 1, date);
    worksheet_write_number(ws, 7, 4, 45000, b14);
    worksheet_write_number(ws, 7, 5, 45000.5, b22);
    worksheet_write_number(ws, 7, 6, 0.5, b20);
    worksheet_write_string(other, 0, 0, "other", NULL);
    assert_int_equal(workbook_close(wb), LXW_NO_ERROR);
    return path;
}

/* ---- Tests ------------------------------------------------------------------------ */

static void test_xlsx_features(void **state)
{
    char *path = features_xlsx();
    struct ingest_source src;
    struct err err;
    char *rows;

    (void)state;
    /* The default is the first sheet holding a value: "Blank" is skipped. */
    assert_int_equal(sheets_open(&src, INGEST_FORMAT_XLSX, path, NULL, &err), 0);
    assert_int_equal(src.info.format, INGEST_FORMAT_XLSX);
    assert_string_equal(src.info.sheet, "Data");
    assert_int_equal(src.info.sheet_index, 2);
    assert_int_equal(src.info.nsheets, 3);
    assert_string_equal(src.info.encoding, "");
    {
        struct stat st;

        assert_int_equal(stat(path, &st), 0);
        assert_int_equal(src.info.bytes, (uint64_t)st.st_size);
    }
    rows = sheets_dump(&src);
    assert_string_equal(rows,
                        "1: T'Quarterly report' T'Quarterly report' T'Quarterly report' "
                        "T'Quarterly report' _'' _'' _''\n"
                        "2: T'code' T'name' T'amount' T'day' T'flag' T'stamp' T'serial'\n"
                        "3: T'000123' T'Alice' N'4429.4' D'2024-01-15' B'true' "
                        "S'2024-01-15T13:45:30' T'000123'\n"
                        "4: T'000456' _'' N'12.5' _'' _'' _'' _''\n"
                        "5: _'' _'' _'' _'' _'' _'' _''\n"
                        "6: T'x' T'both' T'both' _'' _'' _'' _''\n"
                        "7: T'y' T'both' T'both' _'' _'' _'' _''\n"
                        "8: D'1900-02-28' D'1900-02-28' D'1900-03-01' D'1900-01-01' D'2023-03-15' "
                        "S'2023-03-15T12:00:00' T'12:00:00'\n");
    free(rows);
    sheets_close(&src);
    free(path);
}

static void test_xlsx_handmade(void **state)
{
    char *path = handmade_xlsx();
    struct ingest_source src;
    struct err err;
    char *rows;

    (void)state;
    assert_int_equal(sheets_open(&src, INGEST_FORMAT_XLSX, path, NULL, &err), 0);
    assert_string_equal(src.info.sheet, "Codes");
    assert_int_equal(src.info.sheet_index, 2);
    rows = sheets_dump(&src);
    /* Leading row 1 holds only a styled blank cell: not yielded. Row 5 is missing: a
     * blank row. Row 12 (a styled blank far right) and the merge C11:D11 hold no value:
     * neither widens nor lengthens the sheet. date1904: serial 45000 is 2027-03-16. */
    assert_string_equal(rows,
                        "2: T'Report of codes' _'' _'' _'' _'' _''\n"
                        "3: T'code' T'name' T'amount' T'day' T'ok' T'id'\n"
                        "4: T'000123' T'line one\r\nline two' N'4429.40' D'2027-03-16' B'true' "
                        "N'110101199001011234'\n"
                        "5: _'' _'' _'' _'' _'' _''\n"
                        "6: T'000456' _'' T'a_x0041_b\xf0\x9f\x98\x80' N'0.5' _'' "
                        "N'1.10101199001011E+17'\n"
                        "7: T'1234567' _'' _'' T'36:00:00' B'false' N'-12.5'\n"
                        "8: T'merged' T'merged' _'' S'2027-03-16T18:00:00' D'2024-02-29' "
                        "D'1904-01-01'\n"
                        "9: T'merged' T'merged' D'2027-03-16' T'06:00:00' S'2024-02-29T08:30:00' "
                        "S'2027-03-16T12:00:00'\n");
    free(rows);
    sheets_close(&src);

    /* A main namespace bound to a prefix; rows and cells without r. */
    rows = sheets_read(INGEST_FORMAT_XLSX, path, "Prefixed");
    assert_string_equal(rows, "1: T'a' N'1'\n2: T'b' N'2'\n");
    free(rows);
    /* The empty sheet, chosen: no rows. */
    assert_int_equal(sheets_open(&src, INGEST_FORMAT_XLSX, path, "1", &err), 0);
    assert_string_equal(src.info.sheet, "Empty");
    rows = sheets_dump(&src);
    assert_string_equal(rows, "");
    free(rows);
    sheets_close(&src);
    free(path);
}

/*
 * XLS cells through freexl (kinds-1900.xls and kinds-1904.xls, written by make-xls.py
 * with xlwt): integers, the shortest text of doubles, text in UTF-8, dates in both date
 * systems with freexl's calendar corrected (1900-02-29, 2100-03-01, 9999-12-31), a time
 * of day as text, a blank row between data, an empty first sheet. A boolean comes out of
 * freexl as the integer 1, and merged ranges are not reported by freexl (row 6).
 */
static void test_xls_kinds(void **state)
{
    char *p1900 = data_path("kinds-1900.xls"), *p1904 = data_path("kinds-1904.xls");
    struct ingest_source src;
    struct err err;
    char *rows;

    (void)state;
    assert_int_equal(sheets_open(&src, INGEST_FORMAT_XLS, p1900, NULL, &err), 0);
    assert_string_equal(src.info.sheet, "Kinds");
    assert_int_equal(src.info.sheet_index, 2);
    assert_int_equal(src.info.nsheets, 2);
    assert_int_equal(src.info.format, INGEST_FORMAT_XLS);
    rows = sheets_dump(&src);
    assert_string_equal(
            rows, "1: T'int' T'float' T'code' T'date' T'stamp' T'time' T'flag' T'name'\n"
                  "2: N'42' N'4429.4' T'000123' D'2024-01-15' S'2024-01-15T13:45:30' T'12:00:00' "
                  "N'1' T'Z\xc3\xbcrich \xe5\x8c\x97\xe4\xba\xac'\n"
                  "3: _'' _'' _'' _'' _'' _'' _'' _''\n"
                  "4: N'1.1010119900101123e+17' N'0.1' N'-2.5e-07' D'1900-01-01' "
                  "S'2023-03-15T18:00:00' T'06:00:00' _'' _''\n"
                  "5: D'1900-02-28' D'1900-03-01' D'2100-03-01' D'9999-12-31' _'' _'' _'' _''\n"
                  "6: T'merged' _'' _'' _'' _'' _'' _'' _''\n");
    free(rows);
    sheets_close(&src);

    rows = sheets_read(INGEST_FORMAT_XLS, p1904, NULL);
    assert_non_null(strstr(rows, "2: N'42' N'4429.4' T'000123' D'2024-01-15' "
                                 "S'2024-01-15T13:45:30' T'12:00:00' "));
    assert_non_null(strstr(rows, "4: N'1.1010119900101123e+17' N'0.1' N'-2.5e-07' "
                                 "D'1904-01-02' S'2027-03-16T18:00:00' T'06:00:00' _'' _''\n"));
    free(rows);
    free(p1900);
    free(p1904);
}

/* The .xls original and the .xlsx conversion yield the same rows, cell for cell. */
static void test_regents_xls_matches_xlsx(void **state)
{
    char *xls = regents_path("xls"), *xlsx = regents_path("xlsx");
    char *a = sheets_read(INGEST_FORMAT_XLS, xls, NULL);
    char *b = sheets_read(INGEST_FORMAT_XLSX, xlsx, NULL);
    struct ingest_source src;
    struct ingest_row row;
    struct err err;
    size_t nrows = 0;
    int rc;

    (void)state;
    assert_string_equal(a, b);
    assert_non_null(strstr(a, "1: T'label' T'INTEGRATED ALGEBRA' T'GLOBAL HISTORY' "
                              "T'LIVING ENVIRONMENT' T'ENGLISH' T'U.S. HISTORY'\n"
                              "2: T'test_year' N'2010' N'2010' N'2010' N'2010' N'2010'\n"
                              "3: T'Scores' N'131024' N'113804' N'104201' N'103886' N'91756'\n"
                              "4: N'0' N'56' N'55' N'66' N'165' N'65'\n"
                              "5: N'1' _'' N'8' N'3' N'69' N'4'\n"));
    assert_non_null(strstr(a, "\n104: N'100' _'' _'' _'' _'' _''\n"
                              "105: N'999' N'148' N'65' N'95' N'86' N'83'\n"));

    assert_int_equal(sheets_open(&src, INGEST_FORMAT_XLS, xls, NULL, &err), 0);
    assert_int_equal(src.info.format, INGEST_FORMAT_XLS);
    assert_string_equal(src.info.sheet, "Sheet1");
    assert_int_equal(src.info.sheet_index, 1);
    assert_int_equal(src.info.nsheets, 3);
    assert_int_equal(src.info.bytes, 33280);
    while ((rc = src.ops->next(&src, &row, &err)) == 1) {
        assert_int_equal(row.n, 6);
        nrows++;
    }
    assert_int_equal(rc, 0);
    assert_int_equal(nrows, 105);
    sheets_close(&src);
    free(a);
    free(b);
    free(xls);
    free(xlsx);
}

static void assert_names(char **names, const char *const *want, size_t n)
{
    assert_non_null(names);
    for (size_t i = 0; i < n; i++)
        assert_string_equal(names[i], want[i]);
    assert_null(names[n]);
}

static void free_names(char **v)
{
    for (size_t i = 0; v && v[i]; i++)
        free(v[i]);
    free(v);
}

static void test_sheet_names(void **state)
{
    static const char *const regents[] = {"Sheet1", "Sheet2", "Sheet3"};
    static const char *const hand[] = {"Empty", "Codes", "Prefixed"};
    char *xls = regents_path("xls"), *xlsx = regents_path("xlsx"), *h = handmade_xlsx();
    char **names = NULL;
    struct err err = ERR_INIT;

    (void)state;
    assert_int_equal(ingest_xls_sheet_names(xls, &names, &err), 0);
    assert_names(names, regents, 3);
    free_names(names);
    assert_int_equal(ingest_xlsx_sheet_names(xlsx, &names, &err), 0);
    assert_names(names, regents, 3);
    free_names(names);
    assert_int_equal(ingest_xlsx_sheet_names(h, &names, &err), 0);
    assert_names(names, hand, 3);
    free_names(names);
    /* Not a workbook of the kind asked. */
    assert_int_equal(ingest_xlsx_sheet_names(xls, &names, &err), -ERR_VALIDATION);
    assert_null(names);
    err_clear(&err);
    assert_int_equal(ingest_xls_sheet_names(xlsx, &names, &err), -ERR_VALIDATION);
    assert_null(names);
    free(xls);
    free(xlsx);
    free(h);
}

static void test_sheet_choice(void **state)
{
    static const enum ingest_format formats[] = {INGEST_FORMAT_XLS, INGEST_FORMAT_XLSX};
    struct ingest_source src;
    struct err err;

    (void)state;
    for (size_t i = 0; i < ARRAY_SIZE(formats); i++) {
        char *path = regents_path(formats[i] == INGEST_FORMAT_XLS ? "xls" : "xlsx");
        char *rows;

        assert_int_equal(sheets_open(&src, formats[i], path, "Sheet2", &err), 0);
        assert_string_equal(src.info.sheet, "Sheet2");
        assert_int_equal(src.info.sheet_index, 2);
        rows = sheets_dump(&src);
        assert_string_equal(rows, "");
        free(rows);
        sheets_close(&src);

        assert_int_equal(sheets_open(&src, formats[i], path, "3", &err), 0);
        assert_string_equal(src.info.sheet, "Sheet3");
        assert_int_equal(src.info.sheet_index, 3);
        sheets_close(&src);

        assert_int_equal(sheets_open(&src, formats[i], path, "1", &err), 0);
        assert_string_equal(src.info.sheet, "Sheet1");
        sheets_close(&src);

        assert_int_equal(sheets_open(&src, formats[i], path, "Scores", &err), -ERR_VALIDATION);
        assert_null(src.impl);
        assert_string_equal(err.field, "sheet");
        assert_string_equal(err.msg, "sheet \"Scores\" not found: the workbook has 3 sheets: "
                                     "\"Sheet1\", \"Sheet2\", \"Sheet3\"");
        assert_int_equal(sheets_open(&src, formats[i], path, "4", &err), -ERR_VALIDATION);
        assert_string_equal(err.field, "sheet");
        assert_int_equal(sheets_open(&src, formats[i], path, "0", &err), -ERR_VALIDATION);
        assert_int_equal(sheets_open(&src, formats[i], path, "", &err), -ERR_VALIDATION);
        free(path);
    }
}

/* A name that is also an index: the name wins. */
static void test_sheet_named_like_index(void **state)
{
    char *path = tmp_path("index.xlsx");
    static const char wb[] = "<workbook xmlns=\"" MAIN_NS "\" xmlns:r=\"" REL_NS "\"><sheets>"
                             "<sheet name=\"Sheet1\" sheetId=\"1\" r:id=\"rId1\"/>"
                             "<sheet name=\"1\" sheetId=\"2\" r:id=\"rId1\"/>"
                             "</sheets></workbook>";
    struct ingest_source src;
    struct err err;

    (void)state;
    xlsx_min(path, wb, "<worksheet xmlns=\"" MAIN_NS "\"><sheetData/></worksheet>", NULL, NULL);
    assert_int_equal(sheets_open(&src, INGEST_FORMAT_XLSX, path, "1", &err), 0);
    assert_int_equal(src.info.sheet_index, 2);
    sheets_close(&src);
    assert_int_equal(sheets_open(&src, INGEST_FORMAT_XLSX, path, "2", &err), 0);
    assert_int_equal(src.info.sheet_index, 2);
    sheets_close(&src);
    free(path);
}

/* Rewinding yields the same rows again; the offset reaches the file's size. */
static void test_rewind(void **state)
{
    char *paths[4] = {features_xlsx(), handmade_xlsx(), regents_path("xlsx"), regents_path("xls")};

    (void)state;
    for (size_t i = 0; i < ARRAY_SIZE(paths); i++) {
        enum ingest_format f = i == 3 ? INGEST_FORMAT_XLS : INGEST_FORMAT_XLSX;
        struct ingest_source src;
        struct ingest_row row;
        struct err err;
        char *a, *b;

        assert_int_equal(sheets_open(&src, f, paths[i], NULL, &err), 0);
        assert_int_equal(src.ops->offset(&src), 0);
        a = sheets_dump(&src);
        if (f == INGEST_FORMAT_XLSX)
            assert_int_equal(src.ops->offset(&src), src.info.bytes);
        assert_int_equal(src.ops->rewind(&src, &err), 0);
        b = sheets_dump(&src);
        assert_string_equal(a, b);
        free(b);
        /* Rewind halfway through. */
        assert_int_equal(src.ops->rewind(&src, &err), 0);
        assert_int_equal(src.ops->next(&src, &row, &err), 1);
        assert_int_equal(src.ops->next(&src, &row, &err), 1);
        assert_int_equal(src.ops->rewind(&src, &err), 0);
        b = sheets_dump(&src);
        assert_string_equal(a, b);
        assert_true(strlen(a) > 0);
        free(a);
        free(b);
        sheets_close(&src);
        free(paths[i]);
    }
}

static void write_file(const char *path, const void *data, size_t len)
{
    FILE *f = fopen(path, "wb");

    assert_non_null(f);
    assert_int_equal(fwrite(data, 1, len, f), len);
    assert_int_equal(fclose(f), 0);
}

/* The first len bytes of src copied to dst. */
static void copy_prefix(const char *src, const char *dst, size_t len)
{
    FILE *f = fopen(src, "rb");
    char *data = xmalloc(len);

    assert_non_null(f);
    assert_int_equal(fread(data, 1, len, f), len);
    fclose(f);
    write_file(dst, data, len);
    free(data);
}

/* Opening fails with kind, field "file" and a message containing want. */
static void assert_open_fails(enum ingest_format f, const char *path, const char *sheet, int kind,
                              const char *want)
{
    struct ingest_source src;
    struct err err;
    int rc = sheets_open(&src, f, path, sheet, &err);

    if (rc != -kind || !strstr(err.msg, want))
        fail_msg("open \"%s\": %d \"%s\", expected %d \"…%s…\"", path, rc, err.msg, -kind, want);
    assert_string_equal(err.field, "file");
    assert_null(src.impl);
}

static void test_errors_file(void **state)
{
    char *p = tmp_path("bad.xlsx"), *xlsx = regents_path("xlsx"), *xls = regents_path("xls");
    struct part only_text[] = {{"hello.txt", "hello", 0}};

    (void)state;
    write_file(p, "a,b\n1,2\n", 8);
    assert_open_fails(INGEST_FORMAT_XLSX, p, NULL, ERR_VALIDATION,
                      "not an XLSX workbook: not a zip archive");
    assert_open_fails(INGEST_FORMAT_XLS, p, NULL, ERR_VALIDATION,
                      "not an XLS workbook: not an OLE2 compound file");
    write_file(p, "", 0);
    assert_open_fails(INGEST_FORMAT_XLSX, p, NULL, ERR_VALIDATION, "file is empty");
    assert_open_fails(INGEST_FORMAT_XLS, p, NULL, ERR_VALIDATION, "file is empty");
    zip_parts(p, only_text, 1, false);
    assert_open_fails(INGEST_FORMAT_XLSX, p, NULL, ERR_VALIDATION,
                      "not an XLSX workbook: the zip archive has no \"xl/workbook.xml\"");
    /* Truncated: the zip's central directory is at its end. */
    copy_prefix(xlsx, p, 4000);
    assert_open_fails(INGEST_FORMAT_XLSX, p, NULL, ERR_VALIDATION, "not an XLSX workbook: ");
    copy_prefix(xls, p, 4000);
    assert_open_fails(INGEST_FORMAT_XLS, p, NULL, ERR_VALIDATION, "not an XLS workbook: ");
    /* Each format given the other. */
    assert_open_fails(INGEST_FORMAT_XLSX, xls, NULL, ERR_VALIDATION,
                      "not an XLSX workbook: an OLE2 compound file");
    assert_open_fails(INGEST_FORMAT_XLS, xlsx, NULL, ERR_VALIDATION, "not an XLS workbook");
    assert_open_fails(INGEST_FORMAT_XLSX, "/nonexistent/kaifang.xlsx", NULL, ERR_INTERNAL,
                      "cannot read the workbook");
    free(p);
    free(xlsx);
    free(xls);
}

/* A byte of a stored sheet changed after the zip was written: the CRC check at the end
 * of the entry fails, naming the sheet. */
static void test_errors_damaged_entry(void **state)
{
    char *p = tmp_path("crc.xlsx");
    static const char sheet[] = "<worksheet xmlns=\"" MAIN_NS "\"><sheetData>"
                                "<row r=\"1\"><c r=\"A1\"><v>12345</v></c></row>"
                                "</sheetData></worksheet>";
    struct part parts[] = {{"xl/workbook.xml", min_workbook, 0},
                           {"xl/_rels/workbook.xml.rels", min_rels, 0},
                           {"xl/worksheets/sheet1.xml", sheet, 0}};
    FILE *f;
    char *data, *hit;
    long len;

    (void)state;
    zip_parts(p, parts, ARRAY_SIZE(parts), true);
    f = fopen(p, "rb");
    assert_non_null(f);
    fseek(f, 0, SEEK_END);
    len = ftell(f);
    rewind(f);
    data = xmalloc((size_t)len + 1);
    assert_int_equal(fread(data, 1, (size_t)len, f), (size_t)len);
    fclose(f);
    data[len] = '\0';
    hit = memmem(data, (size_t)len, "12345", 5);
    assert_non_null(hit);
    hit[4] = '6';
    write_file(p, data, (size_t)len);
    assert_open_fails(INGEST_FORMAT_XLSX, p, NULL, ERR_VALIDATION,
                      "the workbook is damaged: sheet \"Sheet1\": ");
    free(data);
    free(p);
}

static void test_errors_xml(void **state)
{
    char *p = tmp_path("xml.xlsx");
    static const struct {
        const char *workbook, *sheet, *sst, *want;
    } cases[] = {
            {NULL,
             "<worksheet xmlns=\"" MAIN_NS "\"><sheetData>\n<row r=\"1\">\n<c r=\"A1\"><v>1</v>"
             "</row></sheetData></worksheet>",
             NULL, "sheet \"Sheet1\": XML error at line 3: mismatched tag"},
            {NULL,
             "<!DOCTYPE worksheet [<!ENTITY a \"aaaa\">]><worksheet xmlns=\"" MAIN_NS "\">"
             "<sheetData/></worksheet>",
             NULL, "\"xl/worksheets/sheet1.xml\" has a document type declaration"},
            {NULL,
             "<worksheet xmlns=\"" MAIN_NS "\"><sheetData><row r=\"4\"><c r=\"B4\" t=\"s\">"
             "<v>2</v></c></row></sheetData></worksheet>",
             "<sst xmlns=\"" MAIN_NS "\"><si><t>a</t></si><si><t>b</t></si></sst>",
             "sheet \"Sheet1\" cell B4: shared string \"2\" does not exist"},
            {NULL,
             "<worksheet xmlns=\"" MAIN_NS "\"><sheetData><row r=\"4\"/><row r=\"2\"/>"
             "</sheetData></worksheet>",
             NULL, "sheet \"Sheet1\": row 2 comes after row 4"},
            {NULL,
             "<worksheet xmlns=\"" MAIN_NS "\"><sheetData><row r=\"0\"/></sheetData></worksheet>",
             NULL, "sheet \"Sheet1\": row number \"0\" is not valid"},
            {NULL,
             "<worksheet xmlns=\"" MAIN_NS "\"><sheetData><row r=\"1\"><c r=\"1A\"><v>1</v></c>"
             "</row></sheetData></worksheet>",
             NULL, "sheet \"Sheet1\" row 1: cell reference \"1A\" is not valid"},
            {NULL,
             "<worksheet xmlns=\"" MAIN_NS "\"><sheetData><row r=\"1\"><c r=\"XFE1\"><v>1</v>"
             "</c></row></sheetData></worksheet>",
             NULL, "cell reference \"XFE1\" is not valid"},
            {"<workbook xmlns=\"" MAIN_NS "\"><sheets/></workbook>",
             "<worksheet xmlns=\"" MAIN_NS "\"><sheetData/></worksheet>", NULL,
             "not a valid XLSX workbook: it has no sheets"},
            {"<workbook xmlns=\"" MAIN_NS "\" xmlns:r=\"" REL_NS "\"><sheets>"
             "<sheet name=\"Lost\" sheetId=\"1\" r:id=\"rId9\"/></sheets></workbook>",
             "<worksheet xmlns=\"" MAIN_NS "\"><sheetData/></worksheet>", NULL,
             "sheet \"Lost\" has no part"},
            {"<workbook xmlns=\"" MAIN_NS "\"><sheets><sheet", "", NULL,
             "not a valid XLSX workbook: \"xl/workbook.xml\" line 1: "},
    };

    (void)state;
    for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
        xlsx_min(p, cases[i].workbook, cases[i].sheet, cases[i].sst, NULL);
        assert_open_fails(INGEST_FORMAT_XLSX, p, NULL, ERR_VALIDATION, cases[i].want);
    }
    free(p);
}

/* A cell error found by the scan at open names its row and column in the source's pos
 * as well as in the message. */
static void test_errors_position(void **state)
{
    char *p = tmp_path("pos.xlsx");
    struct ingest_source src;
    struct ingest_pos pos;
    struct err err;

    (void)state;
    xlsx_min(p, NULL,
             "<worksheet xmlns=\"" MAIN_NS "\"><sheetData><row r=\"2\"><c r=\"C2\" t=\"s\">"
             "<v>7</v></c></row></sheetData></worksheet>",
             "<sst xmlns=\"" MAIN_NS "\"><si><t>a</t></si></sst>", NULL);
    assert_int_equal(sheets_open(&src, INGEST_FORMAT_XLSX, p, NULL, &err), -ERR_VALIDATION);
    pos = src.pos;
    assert_int_equal(pos.line, 2);
    assert_int_equal(pos.column, 3);
    free(p);
}

static void test_limit_merges(void **state)
{
    char *p = tmp_path("merges.xlsx");
    struct buf b = BUF_INIT;

    (void)state;
    buf_addstr(&b, "<worksheet xmlns=\"" MAIN_NS "\"><sheetData><row r=\"1\"><c r=\"A1\" "
                   "t=\"inlineStr\"><is><t>x</t></is></c></row></sheetData><mergeCells>");
    for (unsigned i = 0; i < LIMIT_INGEST_MERGES; i++)
        buf_addf(&b, "<mergeCell ref=\"A%u:B%u\"/>", i + 1, i + 1);
    buf_addstr(&b, "</mergeCells></worksheet>");
    xlsx_min(p, NULL, b.buf, NULL, NULL);
    {
        struct ingest_source src;
        struct err err;
        char *rows;

        /* At the limit: read; the title's merge fills B1. */
        assert_int_equal(sheets_open(&src, INGEST_FORMAT_XLSX, p, NULL, &err), 0);
        rows = sheets_dump(&src);
        assert_string_equal(rows, "1: T'x' T'x'\n");
        free(rows);
        sheets_close(&src);
    }
    buf_setlen(&b, b.len - strlen("</mergeCells></worksheet>"));
    buf_addstr(&b, "<mergeCell ref=\"C1:D2\"/></mergeCells></worksheet>");
    xlsx_min(p, NULL, b.buf, NULL, NULL);
    assert_open_fails(INGEST_FORMAT_XLSX, p, NULL, ERR_TOO_LARGE,
                      "sheet \"Sheet1\" has more than 100000 merged ranges");
    buf_release(&b);
    free(p);
}

static void test_limit_sheets(void **state)
{
    char *p = tmp_path("sheets.xlsx");
    struct buf b = BUF_INIT;

    (void)state;
    buf_addstr(&b, "<workbook xmlns=\"" MAIN_NS "\" xmlns:r=\"" REL_NS "\"><sheets>");
    for (unsigned i = 0; i <= LIMIT_INGEST_SHEETS; i++)
        buf_addf(&b, "<sheet name=\"S%u\" sheetId=\"%u\" r:id=\"rId1\"/>", i + 1, i + 1);
    buf_addstr(&b, "</sheets></workbook>");
    xlsx_min(p, b.buf, "<worksheet xmlns=\"" MAIN_NS "\"><sheetData/></worksheet>", NULL, NULL);
    assert_open_fails(INGEST_FORMAT_XLSX, p, NULL, ERR_TOO_LARGE,
                      "the workbook has more than 4096 sheets");
    buf_release(&b);
    free(p);
}

/* Sets the sizes the central directory of the zip at path declares for member name. */
static void zip_declare_sizes(const char *path, const char *name, uint32_t comp, uint32_t size)
{
    FILE *f = fopen(path, "rb");
    size_t len, nlen = strlen(name), i, hits = 0;
    unsigned char *d;

    assert_non_null(f);
    assert_int_equal(fseek(f, 0, SEEK_END), 0);
    len = (size_t)ftell(f);
    rewind(f);
    d = xmalloc(len);
    assert_int_equal(fread(d, 1, len, f), len);
    fclose(f);
    /* A central directory file header (APPNOTE 4.3.12): the signature, the sizes at 20 and
     * 24, the name's length at 28, the name at 46. */
    for (i = 0; i + 46 + nlen <= len; i++) {
        if (memcmp(d + i, "PK\1\2", 4) || (size_t)(d[i + 28] | d[i + 29] << 8) != nlen ||
            memcmp(d + i + 46, name, nlen))
            continue;
        for (int k = 0; k < 4; k++) {
            d[i + 20 + k] = (unsigned char)(comp >> (8 * k));
            d[i + 24 + k] = (unsigned char)(size >> (8 * k));
        }
        hits++;
    }
    assert_int_equal(hits, 1);
    write_file(path, d, len);
    free(d);
}

/* The parts one reading opens together: an empty sheet part that declares 3.75 GiB from
 * 20 MiB (each within the part limits) listed as nine sheets, which the search for the
 * first sheet with a value reads one after the other: refused before the ninth. */
static void test_limit_uncompressed(void **state)
{
    static const char sheet[] = "<worksheet xmlns=\"" MAIN_NS "\"><sheetData/></worksheet>";
    char *p = tmp_path("total.xlsx");
    struct buf wb = BUF_INIT, rels = BUF_INIT;
    struct part parts[3];
    unsigned n = 9;

    (void)state;
    assert_true((uint64_t)n * 0xf0000000u > LIMIT_INGEST_XLSX_UNCOMPRESSED);
    assert_true((uint64_t)(n - 1) * 0xf0000000u <= LIMIT_INGEST_XLSX_UNCOMPRESSED);
    assert_true(0xf0000000u / (20u << 20) <= LIMIT_INGEST_XLSX_RATIO);
    buf_addstr(&wb, "<workbook xmlns=\"" MAIN_NS "\" xmlns:r=\"" REL_NS "\"><sheets>");
    buf_addstr(&rels, "<Relationships xmlns=\"http://schemas.openxmlformats.org/package/2006/"
                      "relationships\">");
    for (unsigned i = 1; i <= n; i++) {
        buf_addf(&wb, "<sheet name=\"S%u\" sheetId=\"%u\" r:id=\"rId%u\"/>", i, i, i);
        buf_addf(&rels,
                 "<Relationship Id=\"rId%u\" Type=\"" REL_NS
                 "/worksheet\" Target=\"worksheets/sheet1.xml\"/>",
                 i);
    }
    buf_addstr(&wb, "</sheets></workbook>");
    buf_addstr(&rels, "</Relationships>");
    parts[0] = (struct part){"xl/workbook.xml", wb.buf, 0};
    parts[1] = (struct part){"xl/_rels/workbook.xml.rels", rels.buf, 0};
    parts[2] = (struct part){"xl/worksheets/sheet1.xml", sheet, 0};
    zip_parts(p, parts, 3, false);
    /* As written: nine empty sheets, all read in the search for a value; it opens. */
    {
        struct ingest_source src;
        struct err err;

        assert_int_equal(sheets_open(&src, INGEST_FORMAT_XLSX, p, NULL, &err), 0);
        sheets_close(&src);
    }
    zip_declare_sizes(p, "xl/worksheets/sheet1.xml", 20u << 20, 0xf0000000u);
    assert_open_fails(INGEST_FORMAT_XLSX, p, NULL, ERR_VALIDATION,
                      "the workbook expands to more than 32 GiB with \"xl/worksheets/sheet1.xml\"");
    buf_release(&wb);
    buf_release(&rels);
    free(p);
}

static void test_limit_styles(void **state)
{
    char *p = tmp_path("styles.xlsx");
    static const char sheet[] = "<worksheet xmlns=\"" MAIN_NS "\"><sheetData><row r=\"1\">"
                                "<c r=\"A1\" s=\"65535\"><v>45000</v></c></row></sheetData>"
                                "</worksheet>";
    struct buf b = BUF_INIT;

    (void)state;
    buf_addstr(&b, "<styleSheet xmlns=\"" MAIN_NS "\"><cellXfs>");
    for (unsigned i = 0; i < LIMIT_INGEST_STYLES - 1; i++)
        buf_addstr(&b, "<xf numFmtId=\"0\"/>");
    buf_addstr(&b, "<xf numFmtId=\"14\"/></cellXfs></styleSheet>");
    xlsx_min(p, NULL, sheet, NULL, b.buf);
    {
        char *rows = sheets_read(INGEST_FORMAT_XLSX, p, NULL);

        /* At the limit: the last style applies (a date). */
        assert_string_equal(rows, "1: D'2023-03-15'\n");
        free(rows);
    }
    buf_setlen(&b, b.len - strlen("</cellXfs></styleSheet>"));
    buf_addstr(&b, "<xf numFmtId=\"0\"/></cellXfs></styleSheet>");
    xlsx_min(p, NULL, sheet, NULL, b.buf);
    assert_open_fails(INGEST_FORMAT_XLSX, p, NULL, ERR_TOO_LARGE,
                      "the workbook has more than 65536 cell formats");
    buf_release(&b);
    free(p);
}

/* A cell of LIMIT_INGEST_FIELD bytes is read; one byte more is too large. So is a row of
 * more than LIMIT_INGEST_RECORD bytes. */
static void test_limit_cell_and_row(void **state)
{
    char *p = tmp_path("cell.xlsx");
    struct buf b = BUF_INIT;
    size_t big = LIMIT_INGEST_FIELD;
    char *text = xmalloc(big + 2);

    (void)state;
    memset(text, 'a', big + 1);
    text[big] = '\0';
    buf_addf(&b,
             "<worksheet xmlns=\"" MAIN_NS "\"><sheetData><row r=\"1\"><c r=\"A1\" "
             "t=\"inlineStr\"><is><t>%s</t></is></c></row></sheetData></worksheet>",
             text);
    xlsx_min(p, NULL, b.buf, NULL, NULL);
    {
        struct ingest_source src;
        struct ingest_row row;
        struct err err;

        assert_int_equal(sheets_open(&src, INGEST_FORMAT_XLSX, p, NULL, &err), 0);
        assert_int_equal(src.ops->next(&src, &row, &err), 1);
        assert_int_equal(row.cells[0].len, big);
        sheets_close(&src);
    }
    buf_reset(&b);
    text[big] = 'a';
    text[big + 1] = '\0';
    buf_addf(&b,
             "<worksheet xmlns=\"" MAIN_NS "\"><sheetData><row r=\"1\"><c r=\"B1\" "
             "t=\"inlineStr\"><is><t>%s</t></is></c></row></sheetData></worksheet>",
             text);
    xlsx_min(p, NULL, b.buf, NULL, NULL);
    assert_open_fails(INGEST_FORMAT_XLSX, p, NULL, ERR_TOO_LARGE,
                      "sheet \"Sheet1\" cell B1: a value longer than 4 MiB");

    /* Five cells of 4 MiB: 20 MiB in one row. */
    buf_reset(&b);
    text[big] = '\0';
    buf_addstr(&b, "<worksheet xmlns=\"" MAIN_NS "\"><sheetData><row r=\"1\">");
    for (int i = 0; i < 5; i++)
        buf_addf(&b, "<c t=\"inlineStr\"><is><t>%s</t></is></c>", text);
    buf_addstr(&b, "</row></sheetData></worksheet>");
    xlsx_min(p, NULL, b.buf, NULL, NULL);
    {
        struct ingest_source src;
        struct ingest_row row;
        struct err err;

        assert_int_equal(sheets_open(&src, INGEST_FORMAT_XLSX, p, NULL, &err), 0);
        assert_int_equal(src.ops->next(&src, &row, &err), -ERR_TOO_LARGE);
        assert_string_equal(err.msg, "sheet \"Sheet1\" row 1: more than 16 MiB of text");
        assert_int_equal(src.pos.line, 1);
        /* The error is sticky. */
        assert_int_equal(src.ops->next(&src, &row, &err), -ERR_TOO_LARGE);
        sheets_close(&src);
    }
    buf_release(&b);
    free(text);
    free(p);
}

/* A zip source that generates a shared-string table of nstrings strings of len 'a's
 * without holding it in memory. */
struct sst_gen {
    size_t nstrings, len;
    size_t seg; /* 0 header, 1..nstrings a string, then the footer */
    size_t off; /* in the segment */
    size_t pos; /* in the string segment: 0..len + tags */
    zip_error_t error;
};

static const char sst_head[] = "<sst xmlns=\"" MAIN_NS "\">";
static const char sst_tail[] = "</sst>";

static size_t sst_gen_fill(struct sst_gen *g, char *out, size_t size)
{
    size_t n = 0;

    while (n < size && g->seg <= g->nstrings + 1) {
        const char *lit = NULL;
        size_t seglen;

        if (g->seg == 0) {
            lit = sst_head;
            seglen = strlen(sst_head);
        } else if (g->seg == g->nstrings + 1) {
            lit = sst_tail;
            seglen = strlen(sst_tail);
        } else {
            seglen = 7 + g->len + 9; /* <si><t> … </t></si> */
        }
        while (n < size && g->off < seglen) {
            if (lit)
                out[n] = lit[g->off];
            else if (g->off < 7)
                out[n] = "<si><t>"[g->off];
            else if (g->off < 7 + g->len)
                out[n] = 'a';
            else
                out[n] = "</t></si>"[g->off - 7 - g->len];
            n++;
            g->off++;
        }
        if (g->off == seglen) {
            g->seg++;
            g->off = 0;
        }
    }
    return n;
}

static zip_int64_t sst_gen_cb(void *ud, void *data, zip_uint64_t len, zip_source_cmd_t cmd)
{
    struct sst_gen *g = ud;

    switch (cmd) {
    case ZIP_SOURCE_OPEN:
        g->seg = 0;
        g->off = 0;
        return 0;
    case ZIP_SOURCE_READ:
        return (zip_int64_t)sst_gen_fill(g, data, (size_t)len);
    case ZIP_SOURCE_CLOSE:
    case ZIP_SOURCE_FREE:
        return 0;
    case ZIP_SOURCE_STAT: {
        zip_stat_t *st = data;

        zip_stat_init(st);
        st->size = strlen(sst_head) + g->nstrings * (16 + g->len) + strlen(sst_tail);
        st->valid |= ZIP_STAT_SIZE;
        return sizeof(*st);
    }
    case ZIP_SOURCE_ERROR:
        return zip_error_to_data(&g->error, data, len);
    case ZIP_SOURCE_SUPPORTS:
        return zip_source_make_command_bitmap(ZIP_SOURCE_OPEN, ZIP_SOURCE_READ, ZIP_SOURCE_CLOSE,
                                              ZIP_SOURCE_STAT, ZIP_SOURCE_ERROR, ZIP_SOURCE_FREE,
                                              -1);
    default:
        zip_error_set(&g->error, ZIP_ER_OPNOTSUPP, 0);
        return -1;
    }
}

static void test_limit_shared_strings(void **state)
{
    char *p = tmp_path("sst.xlsx");
    struct sst_gen g = {0};
    int zerr = 0;
    zip_t *z = zip_open(p, ZIP_CREATE | ZIP_TRUNCATE, &zerr);
    zip_source_t *s;
    zip_int64_t idx;
    static const char sheet[] = "<worksheet xmlns=\"" MAIN_NS "\"><sheetData/></worksheet>";

    (void)state;
    /* 1 MiB strings, 257 of them: past 256 MiB. */
    g.len = 1u << 20;
    g.nstrings = (LIMIT_INGEST_SHARED_STRINGS / g.len) + 1;
    zip_error_init(&g.error);
    assert_non_null(z);
    assert_true(zip_file_add(z, "xl/workbook.xml",
                             zip_source_buffer(z, min_workbook, strlen(min_workbook), 0), 0) >= 0);
    assert_true(zip_file_add(z, "xl/_rels/workbook.xml.rels",
                             zip_source_buffer(z, min_rels, strlen(min_rels), 0), 0) >= 0);
    assert_true(zip_file_add(z, "xl/worksheets/sheet1.xml",
                             zip_source_buffer(z, sheet, strlen(sheet), 0), 0) >= 0);
    s = zip_source_function(z, sst_gen_cb, &g);
    assert_non_null(s);
    idx = zip_file_add(z, "xl/sharedStrings.xml", s, 0);
    assert_true(idx >= 0);
    /* Stored, not deflated: so repetitive a part would be refused as a zip bomb first. */
    assert_int_equal(zip_set_file_compression(z, (zip_uint64_t)idx, ZIP_CM_STORE, 0), 0);
    assert_int_equal(zip_close(z), 0);
    zip_error_fini(&g.error);
    assert_open_fails(INGEST_FORMAT_XLSX, p, NULL, ERR_TOO_LARGE,
                      "the workbook's shared strings are larger than 256 MiB");
    free(p);
}

/* The merged values held across rows count against the same budget; each is freed when
 * its range ends, so a long sheet of short merges stays within it. */
static void test_merges_across_rows(void **state)
{
    char *p = tmp_path("tall.xlsx");
    struct buf b = BUF_INIT;
    char *rows;

    (void)state;
    buf_addstr(&b, "<worksheet xmlns=\"" MAIN_NS "\"><sheetData>");
    for (unsigned r = 1; r <= 6; r += 2)
        buf_addf(&b,
                 "<row r=\"%u\"><c r=\"A%u\"><v>%u</v></c><c r=\"C%u\" t=\"inlineStr\"><is>"
                 "<t>v%u</t></is></c></row>",
                 r, r, r, r, r);
    buf_addstr(&b, "</sheetData><mergeCells><mergeCell ref=\"A1:B2\"/><mergeCell ref=\"C3:C6\"/>"
                   "<mergeCell ref=\"A5:A6\"/></mergeCells></worksheet>");
    xlsx_min(p, NULL, b.buf, NULL, NULL);
    rows = sheets_read(INGEST_FORMAT_XLSX, p, NULL);
    assert_string_equal(rows, "1: N'1' N'1' T'v1'\n"
                              "2: N'1' N'1' _''\n"
                              "3: N'3' _'' T'v3'\n"
                              "4: _'' _'' T'v3'\n"
                              "5: N'5' _'' T'v3'\n"
                              "6: N'5' _'' T'v3'\n");
    free(rows);
    buf_release(&b);
    free(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_xlsx_features),
            cmocka_unit_test(test_xlsx_handmade),
            cmocka_unit_test(test_regents_xls_matches_xlsx),
            cmocka_unit_test(test_xls_kinds),
            cmocka_unit_test(test_sheet_names),
            cmocka_unit_test(test_sheet_choice),
            cmocka_unit_test(test_sheet_named_like_index),
            cmocka_unit_test(test_rewind),
            cmocka_unit_test(test_errors_file),
            cmocka_unit_test(test_errors_damaged_entry),
            cmocka_unit_test(test_errors_xml),
            cmocka_unit_test(test_errors_position),
            cmocka_unit_test(test_limit_merges),
            cmocka_unit_test(test_limit_sheets),
            cmocka_unit_test(test_limit_uncompressed),
            cmocka_unit_test(test_limit_styles),
            cmocka_unit_test(test_limit_cell_and_row),
            cmocka_unit_test(test_limit_shared_strings),
            cmocka_unit_test(test_merges_across_rows),
    };

    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
