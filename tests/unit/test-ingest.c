/*
 * Unit tests for the text readers of src/ingest: sources and format guessing
 * (source.c), encodings (encoding.c), CSV/TSV (csv.c), JSON/NDJSON (json.c).
 *
 * Fixtures: tests/data/ingest/ (small files for each quirk and encoding, written by
 * make-fixtures.py there; README.md says what each holds), files generated here in a
 * temporary directory (chunk boundaries, limits, errors past the sniffed start), and the
 * real files of examples/catalog: counties.csv and its GB18030 copy, towns.csv converted
 * to GB18030 here with iconv(3) (CJK Extension A characters outside GBK), the ISO 3166
 * and OMB budget JSON, airports.csv and birdstrikes.csv.
 *
 * Every file is read through read_all(), which checks the invariants of each cell (valid
 * UTF-8 without NUL, NUL-terminated at len, the kind the format allows), reads it a
 * second time after a rewind and requires the same rows and the same ending.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <iconv.h>

#include "core/buf.h"
#include "core/limits.h"
#include "ingest/ingest.h"
#include "unit-util.h"
#include "core/util.h"

static char tmpdir[64];

static int group_setup(void **state)
{
    (void)state;
    return unit_tmpdir(tmpdir, sizeof(tmpdir), "ingest");
}

static char **kept;
static size_t nkept;

static int group_teardown(void **state)
{
    (void)state;
    for (size_t i = 0; i < nkept; i++)
        free(kept[i]);
    free(kept);
    unit_remove_tree(tmpdir);
    return 0;
}

/* ---- Helpers ---------------------------------------------------------------------- */

/* A string literal and its length without the NUL (literals may hold NUL bytes). */
#define TAIL(s) s, sizeof(s) - 1

/* tests/data/ingest/<name>; free() it. */
static char *fixture(const char *name)
{
    const char *d = getenv("KAIFANG_TEST_DATA");

    return xstrfmt("%s/ingest/%s", d ? d : "tests/data", name);
}

/* examples/catalog/<dir>/<file>; free() it. */
static char *example(const char *dir, const char *file)
{
    const char *src = getenv("KAIFANG_SOURCE_DIR");

    return xstrfmt("%s/examples/catalog/%s/%s", src ? src : ".", dir, file);
}

/* Writes len bytes to a new file in the temporary directory; free() the path. */
static char *write_tmp(const char *name, const char *data, size_t len)
{
    char *p = xstrfmt("%s/%s", tmpdir, name);
    FILE *f = fopen(p, "wb");

    assert_non_null(f);
    assert_int_equal(fwrite(data, 1, len, f), len);
    assert_int_equal(fclose(f), 0);
    return p;
}

/* An independent UTF-8 check (RFC 3629), NUL refused. */
static bool utf8_ok(const char *s, size_t n)
{
    const unsigned char *p = (const unsigned char *)s;
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

/* Appends a cell as the expectations write it: kinds other than TEXT marked (# number,
 * ? bool, @ json, ∅ empty), line ends and tabs as \n \r \t. */
static void render_cell(struct buf *b, const struct ingest_cell *c)
{
    switch (c->kind) {
    case INGEST_CELL_EMPTY:
        buf_addstr(b, "∅");
        return;
    case INGEST_CELL_NUMBER:
        buf_addch(b, '#');
        break;
    case INGEST_CELL_BOOL:
        buf_addch(b, '?');
        break;
    case INGEST_CELL_JSON:
        buf_addch(b, '@');
        break;
    default:
        break;
    }
    for (size_t i = 0; i < c->len; i++) {
        if (c->s[i] == '\n')
            buf_addstr(b, "\\n");
        else if (c->s[i] == '\r')
            buf_addstr(b, "\\r");
        else if (c->s[i] == '\t')
            buf_addstr(b, "\\t");
        else
            buf_addch(b, c->s[i]);
    }
}

/* Reads every row of src into out (one line each: "L: a|b|c"), checking each cell.
 * Returns the last result of next (0 at the end, or the error). */
static int read_rows(struct ingest_source *src, struct buf *out, struct err *e)
{
    const struct ingest_info *info = ingest_source_info(src);
    bool text_only = info->format == INGEST_FORMAT_CSV || info->format == INGEST_FORMAT_TSV;
    struct ingest_row row;
    uint64_t last = 0;
    int rc;

    while ((rc = ingest_source_next(src, &row, e)) == 1) {
        assert_true(row.line >= last);
        last = row.line;
        buf_addf(out, "%" PRIu64 ":", row.line);
        for (size_t i = 0; i < row.n; i++) {
            const struct ingest_cell *c = &row.cells[i];

            assert_non_null(c->s);
            assert_int_equal(c->s[c->len], '\0');
            assert_true(utf8_ok(c->s, c->len));
            if (text_only)
                assert_int_equal(c->kind, INGEST_CELL_TEXT);
            if (c->kind == INGEST_CELL_EMPTY)
                assert_int_equal(c->len, 0);
            if (c->kind == INGEST_CELL_BOOL)
                assert_true(!strcmp(c->s, "true") || !strcmp(c->s, "false"));
            buf_addstr(out, i ? "|" : " ");
            render_cell(out, c);
        }
        buf_addch(out, '\n');
    }
    return rc;
}

/* What read_all() found. */
struct result {
    int rc;         /* of the open, else of the last next */
    struct err err; /* its error */
    struct ingest_pos pos;
    struct ingest_info info;
    uint64_t offset; /* ingest_source_offset() at the end */
    char *rows;      /* rendered (read_rows); freed with the test group */
    size_t rows_len;
};

/* The rendered rows of every read_all(), freed by group_teardown(). */
static size_t kept_alloc;

static char *keep(struct buf *b, size_t *len)
{
    ALLOC_GROW(kept, nkept + 1, kept_alloc);
    kept[nkept] = buf_detach(b, len);
    return kept[nkept++];
}

/*
 * Opens path (named filename, options o or the defaults) and reads every row, twice: the
 * second pass after a rewind must give the same rows, the same result and the same error.
 * Release r->rows with buf_release().
 */
static void read_all(const char *path, const char *filename, const struct ingest_options *o,
                     struct result *r)
{
    struct ingest_options defaults = INGEST_OPTIONS_INIT;
    struct ingest_source *src = NULL;
    struct buf rows = BUF_INIT, again = BUF_INIT;
    struct err e2 = ERR_INIT;
    struct ingest_pos pos2;

    memset(r, 0, sizeof(*r));
    err_clear(&r->err);
    r->rc = ingest_source_open(&src, path, filename, o ? o : &defaults, &r->err);
    if (r->rc) {
        assert_null(src);
        assert_true(r->err.msg[0]);
        r->rows = keep(&rows, &r->rows_len);
        return;
    }
    r->info = *ingest_source_info(src);
    assert_int_not_equal(r->info.format, INGEST_FORMAT_AUTO);
    r->rc = read_rows(src, &rows, &r->err);
    r->rows = keep(&rows, &r->rows_len);
    ingest_source_pos(src, &r->pos);
    if (!r->rc)
        r->offset = ingest_source_offset(src);
    assert_int_equal(ingest_source_rewind(src, &e2), 0);
    assert_int_equal(read_rows(src, &again, &e2), r->rc);
    assert_string_equal(again.buf, r->rows);
    assert_string_equal(e2.msg, r->err.msg);
    ingest_source_pos(src, &pos2);
    assert_int_equal(pos2.line, r->pos.line);
    assert_int_equal(pos2.column, r->pos.column);
    buf_release(&again);
    ingest_source_free(src);
}

/* read_all() of a fixture that must read without error; its rows. */
static void read_fixture(const char *name, const struct ingest_options *o, struct result *r)
{
    char *p = fixture(name);

    read_all(p, name, o, r);
    if (r->rc)
        fail_msg("%s: %s", name, r->err.msg);
    free(p);
}

static void assert_fixture_rows(const char *name, const char *want)
{
    struct result r;

    read_fixture(name, NULL, &r);
    assert_string_equal(r.rows, want);
}

/* ---- Format names and guessing ---------------------------------------------------- */

static void test_format_names(void **state)
{
    static const struct {
        const char *name;
        enum ingest_format f;
    } ok[] = {
            {"csv", INGEST_FORMAT_CSV},
            {"CSV", INGEST_FORMAT_CSV},
            {"text/csv", INGEST_FORMAT_CSV},
            {"TSV", INGEST_FORMAT_TSV},
            {".tab", INGEST_FORMAT_TSV},
            {"json", INGEST_FORMAT_JSON},
            {"application/json", INGEST_FORMAT_JSON},
            {"NDJSON", INGEST_FORMAT_NDJSON},
            {"jsonl", INGEST_FORMAT_NDJSON},
            {"JSON Lines", INGEST_FORMAT_NDJSON},
            {"XLSX", INGEST_FORMAT_XLSX},
            {"xls", INGEST_FORMAT_XLS},
            {"auto", INGEST_FORMAT_AUTO},
    };
    enum ingest_format f;

    (void)state;
    for (size_t i = 0; i < ARRAY_SIZE(ok); i++) {
        f = INGEST_FORMAT_XLS;
        assert_true(ingest_format_parse(ok[i].name, &f));
        assert_int_equal(f, ok[i].f);
    }
    assert_false(ingest_format_parse("pdf", &f));
    assert_false(ingest_format_parse("", &f));
    assert_false(ingest_format_parse(NULL, &f));

    assert_string_equal(ingest_format_name(INGEST_FORMAT_AUTO), "auto");
    assert_string_equal(ingest_format_name(INGEST_FORMAT_CSV), "csv");
    assert_string_equal(ingest_format_name(INGEST_FORMAT_TSV), "tsv");
    assert_string_equal(ingest_format_name(INGEST_FORMAT_JSON), "json");
    assert_string_equal(ingest_format_name(INGEST_FORMAT_NDJSON), "ndjson");
    assert_string_equal(ingest_format_name(INGEST_FORMAT_XLSX), "xlsx");
    assert_string_equal(ingest_format_name(INGEST_FORMAT_XLS), "xls");

    assert_int_equal(ingest_format_from_name("a.csv"), INGEST_FORMAT_CSV);
    assert_int_equal(ingest_format_from_name("A.CSV"), INGEST_FORMAT_CSV);
    assert_int_equal(ingest_format_from_name("a.txt"), INGEST_FORMAT_CSV);
    assert_int_equal(ingest_format_from_name("a.tsv"), INGEST_FORMAT_TSV);
    assert_int_equal(ingest_format_from_name("a.tab"), INGEST_FORMAT_TSV);
    assert_int_equal(ingest_format_from_name("a.json"), INGEST_FORMAT_JSON);
    assert_int_equal(ingest_format_from_name("a.ndjson"), INGEST_FORMAT_NDJSON);
    assert_int_equal(ingest_format_from_name("a.jsonl"), INGEST_FORMAT_NDJSON);
    assert_int_equal(ingest_format_from_name("a.b.xlsx"), INGEST_FORMAT_XLSX);
    assert_int_equal(ingest_format_from_name("a.xls"), INGEST_FORMAT_XLS);
    assert_int_equal(ingest_format_from_name("dir.v1/file"), INGEST_FORMAT_AUTO);
    assert_int_equal(ingest_format_from_name("file"), INGEST_FORMAT_AUTO);
    assert_int_equal(ingest_format_from_name("a.pdf"), INGEST_FORMAT_AUTO);
    assert_int_equal(ingest_format_from_name(NULL), INGEST_FORMAT_AUTO);
}

/* Copies file src to a new temporary file named name; free() the path. */
static char *copy_tmp(const char *src, const char *name)
{
    struct buf b = BUF_INIT;
    char chunk[65536];
    FILE *f = fopen(src, "rb");
    size_t n;
    char *p;

    assert_non_null(f);
    while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
        buf_add(&b, chunk, n);
    fclose(f);
    p = write_tmp(name, b.buf, b.len);
    buf_release(&b);
    return p;
}

static enum ingest_format guessed(const char *path)
{
    struct ingest_source *src = NULL;
    struct err e = ERR_INIT;
    enum ingest_format f;

    if (ingest_source_open(&src, path, NULL, NULL, &e))
        fail_msg("%s: %s", path, e.msg);
    f = ingest_source_info(src)->format;
    ingest_source_free(src);
    return f;
}

static void test_guess_from_content(void **state)
{
    static const struct {
        const char *data;
        enum ingest_format f;
    } cases[] = {
            {"a,b\n1,2\n", INGEST_FORMAT_CSV},
            {"a\tb\n1\t2\n", INGEST_FORMAT_TSV},
            {"  \n[{\"a\": 1}]", INGEST_FORMAT_JSON},
            {"{\"a\": 1}\n{\"a\": 2}\n", INGEST_FORMAT_NDJSON},
            {"{\"a\": \"}\\\"{\"}\r\n\r\n{\"a\": 2}", INGEST_FORMAT_NDJSON},
            /* One object on one line holding the records: JSON. */
            {"{\"rows\": [{\"a\": 1}, {\"a\": 2}]}\n", INGEST_FORMAT_JSON},
            {"{\n \"rows\": [{\"a\": 1}]\n}\n", INGEST_FORMAT_JSON},
    };
    char *p, *src;

    (void)state;
    for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
        p = write_tmp("noext", cases[i].data, strlen(cases[i].data));
        assert_int_equal(guessed(p), cases[i].f);
        free(p);
    }
    /* Workbooks without an extension: by their magic. */
    src = example("nyc-doe-regents-score-distribution-2010", "2010_bigfive_regents.xlsx");
    p = copy_tmp(src, "workbook");
    assert_int_equal(guessed(p), INGEST_FORMAT_XLSX);
    free(p);
    free(src);
    src = example("nyc-doe-regents-score-distribution-2010", "2010_bigfive_regents.xls");
    p = copy_tmp(src, "workbook");
    assert_int_equal(guessed(p), INGEST_FORMAT_XLS);
    free(p);
    free(src);

    /* The caller's format wins over the extension, the extension over the content. */
    {
        struct ingest_options o = INGEST_OPTIONS_INIT;
        struct result r;

        p = write_tmp("x.json", TAIL("a;b\n1;2\n"));
        read_all(p, "x.csv", NULL, &r);
        assert_int_equal(r.rc, 0);
        assert_int_equal(r.info.format, INGEST_FORMAT_CSV);
        assert_string_equal(r.rows, "1: a|b\n2: 1|2\n");
        o.format = INGEST_FORMAT_CSV;
        read_all(p, "x.json", &o, &r);
        assert_int_equal(r.rc, 0);
        assert_int_equal(r.info.format, INGEST_FORMAT_CSV);
        /* No filename: the path's extension. */
        read_all(p, NULL, NULL, &r);
        assert_int_equal(r.rc, -ERR_VALIDATION);
        assert_string_equal(r.err.field, "file");
        free(p);
    }
}

static void test_open_errors(void **state)
{
    struct ingest_source *src = (struct ingest_source *)&src;
    struct err e = ERR_INIT;
    char *p;

    (void)state;
    p = xstrfmt("%s/missing.csv", tmpdir);
    assert_int_equal(ingest_source_open(&src, p, NULL, NULL, &e), -ERR_INTERNAL);
    assert_null(src);
    assert_string_equal(e.field, "file");
    assert_non_null(strstr(e.msg, "cannot open the file"));
    free(p);

    err_clear(&e);
    assert_int_equal(ingest_source_open(&src, tmpdir, "dir.csv", NULL, &e), -ERR_VALIDATION);
    assert_string_equal(e.msg, "file is not a regular file");
}

/* ---- CSV quirks ------------------------------------------------------------------- */

static void test_csv_bom_crlf(void **state)
{
    struct result r;

    (void)state;
    read_fixture("bom.csv", NULL, &r);
    assert_string_equal(r.rows, "1: id|name\n2: 1|Zoë\n3: 2|北京\n");
    assert_string_equal(r.info.encoding, "UTF-8");
    assert_true(r.info.bom);
    assert_true(r.info.encoding_detected);
    assert_int_equal(r.info.delimiter, ',');
    assert_int_equal(r.info.format, INGEST_FORMAT_CSV);
    assert_int_equal(r.info.bytes, 30);
    assert_int_equal(r.offset, 30);

    /* CRLF, with a CRLF inside a quoted field (part of the value, and a line). */
    assert_fixture_rows("crlf.csv", "1: id|name|note\n2: 1|a|x\n3: 2|b|two\\r\\nlines\n5: 3|c|\n");
    /* CR only (classic Mac OS). */
    assert_fixture_rows("cr.csv", "1: id|name\n2: 1|a\n3: 2|b\\rc\n5: 3|d\n");
    /* LF, CRLF and CR mixed; a blank line (CRLF) inside; no final newline. */
    assert_fixture_rows("mixed-newlines.csv", "1: a|b\n2: 1|2\n3: 3|4\n4: 5|6\n5: \n6: 7|8\n");
}

static void test_csv_quoting(void **state)
{
    (void)state;
    assert_fixture_rows("quoted.csv", "1: id|text|n\n"
                                      "2: 1|a, b|2\n"
                                      "3: 2|He said \"hi\"|3\n"
                                      "4: 3|line one\\nline two\\n\\nline four|4\n"
                                      "8: 4||5\n"
                                      "9: 5|6\" tall|6\n"
                                      "10: 6|quotedtail|7\n"
                                      "11: 7|\"|8\n");
}

static void test_csv_blank_lines(void **state)
{
    struct result r;
    char *p;

    (void)state;
    /* Blank lines inside are rows of one empty cell; at the end they are not rows. */
    assert_fixture_rows("trailing-blank.csv", "1: a|b\n2: 1|2\n3: \n4: 3|4\n");
    assert_fixture_rows("no-final-newline.csv", "1: a|b\n2: 1|2\n3: 3|4\n");
    /* A line ending in a delimiter has an empty last field, at the end of the file too. */
    p = write_tmp("t.csv", TAIL("a,b,\n1,2,"));
    read_all(p, "t.csv", NULL, &r);
    assert_int_equal(r.rc, 0);
    assert_string_equal(r.rows, "1: a|b|\n2: 1|2|\n");
    free(p);
    /* Leading blank lines keep their line numbers. */
    p = write_tmp("t.csv", TAIL("\r\n\na,b\n"));
    read_all(p, "t.csv", NULL, &r);
    assert_int_equal(r.rc, 0);
    assert_string_equal(r.rows, "1: \n2: \n3: a|b\n");
    free(p);
}

static void test_csv_delimiters(void **state)
{
    struct ingest_options o = INGEST_OPTIONS_INIT;
    struct result r;
    char *p;

    (void)state;
    read_fixture("semicolon.csv", NULL, &r);
    assert_int_equal(r.info.delimiter, ';');
    assert_string_equal(r.rows, "1: name|amount|date\n2: Äpfel|1,50|2023-01-02\n"
                                "3: Birnen|2,25|2023-01-03\n"
                                "4: Kirschen, sauer|3,00|2023-01-04\n");
    read_fixture("pipe.txt", NULL, &r);
    assert_int_equal(r.info.delimiter, '|');
    assert_string_equal(r.rows, "1: code|name|note\n2: 01|one|a,b\n3: 02|two|c;d\n"
                                "4: 03|three|\n");
    read_fixture("tab.txt", NULL, &r);
    assert_int_equal(r.info.delimiter, '\t');
    assert_int_equal(r.info.format, INGEST_FORMAT_TSV);
    assert_string_equal(r.rows, "1: name|description\n2: alpha|a, b, c\n3: beta|d; e\n");

    /* Title lines above the table do not change the sniffed delimiter. */
    p = write_tmp("t.csv", TAIL("Population by county (2020)\n\ncounty;pop\nA;1\nB;2\n"));
    read_all(p, "t.csv", NULL, &r);
    assert_int_equal(r.info.delimiter, ';');
    free(p);
    /* One column: nothing splits it, the delimiter is ','. */
    p = write_tmp("t.csv", TAIL("name\nAnn\nBob\n"));
    read_all(p, "t.csv", NULL, &r);
    assert_int_equal(r.info.delimiter, ',');
    assert_string_equal(r.rows, "1: name\n2: Ann\n3: Bob\n");
    free(p);
    /* Quoted delimiters do not count. */
    p = write_tmp("t.csv", TAIL("a;b\n\"x,y,z\";1\n\"p,q,r\";2\n"));
    read_all(p, "t.csv", NULL, &r);
    assert_int_equal(r.info.delimiter, ';');
    free(p);

    /* A .tsv file is tab-separated without sniffing; the caller's delimiter wins. */
    p = write_tmp("t.tsv", TAIL("a,b\tc\n1,2\t3\n"));
    read_all(p, "t.tsv", NULL, &r);
    assert_int_equal(r.info.format, INGEST_FORMAT_TSV);
    assert_string_equal(r.rows, "1: a,b|c\n2: 1,2|3\n");
    o.delimiter = ',';
    read_all(p, "t.tsv", &o, &r);
    assert_int_equal(r.info.format, INGEST_FORMAT_CSV);
    assert_string_equal(r.rows, "1: a|b\\tc\n2: 1|2\\t3\n");
    o.delimiter = ':';
    read_all(p, "t.tsv", &o, &r);
    assert_int_equal(r.rc, -ERR_VALIDATION);
    assert_string_equal(r.err.field, "delimiter");
    free(p);
}

static void test_csv_errors(void **state)
{
    struct result r;
    char *p;

    (void)state;
    /* An unclosed quote: the line where its field starts, after the rows before it. */
    p = fixture("unterminated.csv");
    read_all(p, "unterminated.csv", NULL, &r);
    assert_int_equal(r.rc, -ERR_VALIDATION);
    assert_string_equal(r.err.msg,
                        "line 3, field 2: a quoted field is not closed before the end of the file");
    assert_string_equal(r.err.field, "file");
    assert_int_equal(r.pos.line, 3);
    assert_int_equal(r.pos.column, 2);
    assert_string_equal(r.rows, "1: a|b\n2: 1|2\n");
    free(p);

    /* Empty: no bytes, white space only, a BOM only. */
    p = fixture("blank.csv");
    read_all(p, "blank.csv", NULL, &r);
    assert_int_equal(r.rc, -ERR_VALIDATION);
    assert_string_equal(r.err.msg, "file is empty");
    free(p);
    p = write_tmp("e.csv", TAIL(""));
    read_all(p, "e.csv", NULL, &r);
    assert_string_equal(r.err.msg, "file is empty");
    free(p);
    p = write_tmp("e.csv", TAIL("\xef\xbb\xbf\n"));
    read_all(p, "e.csv", NULL, &r);
    assert_string_equal(r.err.msg, "file is empty");
    free(p);
    p = write_tmp("e.json", TAIL("\xff\xfe \0\n\0"));
    read_all(p, "e.json", NULL, &r);
    assert_string_equal(r.err.msg, "file is empty");
    free(p);
}

/* ---- Encodings -------------------------------------------------------------------- */

static void test_encodings_detected(void **state)
{
    static const char cities[] = "1: id|city|country\n2: 1|Zürich|Schweiz\n3: 2|北京|中国\n"
                                 "4: 3|São Paulo|Brasil\n";
    static const struct {
        const char *file, *encoding;
        bool bom;
        const char *rows; /* the first rows */
    } cases[] = {
            {"utf16le.csv", "UTF-16LE", true, cities},
            {"utf16be.csv", "UTF-16BE", true, cities},
            {"big5.csv", "BIG5", false, "1: 縣市|人口|面積\n2: 臺北市|2500000|271.8\n"},
            {"windows-1252.csv", "WINDOWS-1252", false,
             "1: name|city|remark\n2: José|São Paulo|“quoted” – dash\n3: Françoise|Besançon|€ "
             "12\n"},
            /* ISO-8859-1 is read as WINDOWS-1252, which agrees with it on these bytes. */
            {"latin1.csv", "WINDOWS-1252", false, "1: name|city|remark\n2: José|São Paulo|señor\n"},
            {"iso-8859-2.csv", "ISO-8859-2", false,
             "1: miasto|województwo|ludność\n2: Łódź|łódzkie|670000\n"},
            {"windows-1251.csv", "WINDOWS-1251", false,
             "1: город|область|население\n2: Москва|Московская область|13000000\n"},
            {"koi8-r.csv", "KOI8-R", false,
             "1: город|область|население\n2: Москва|Московская область|13000000\n"},
            {"gb18030.csv", "GB18030", false,
             "1: code|name|county\n2: 320282113|湖㳇镇|宜兴市\n3: 341524112|流波䃥镇|金寨县\n"},
    };

    (void)state;
    for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
        struct result r;

        read_fixture(cases[i].file, NULL, &r);
        if (strcmp(r.info.encoding, cases[i].encoding))
            fail_msg("%s: read as %s", cases[i].file, r.info.encoding);
        assert_true(r.info.encoding_detected);
        assert_int_equal(r.info.bom, cases[i].bom);
        if (strncmp(r.rows, cases[i].rows, strlen(cases[i].rows)))
            fail_msg("%s: rows\n%s", cases[i].file, r.rows);
        assert_int_equal(r.offset, r.info.bytes);
    }
}

/* Bytes of UTF-8 text in another encoding (iconv), to a new temporary file. */
static char *write_encoded(const char *name, const char *text, const char *encoding)
{
    iconv_t cd = iconv_open(encoding, "UTF-8");
    size_t in_left = strlen(text), out_left = 4 * in_left + 16;
    char *out = xmalloc(out_left), *in = (char *)text, *o = out, *p;

    assert_true(cd != (iconv_t)-1);
    assert_true(iconv(cd, &in, &in_left, &o, &out_left) != (size_t)-1);
    iconv_close(cd);
    p = write_tmp(name, out, (size_t)(o - out));
    free(out);
    return p;
}

/* A few Chinese words in GB18030 (a short file, one value among numbers) are not taken
 * for WINDOWS-1252 ("北京" is not "±±¾©"); western words that also decode as GB18030 stay
 * WINDOWS-1252. */
static void test_encoding_short_gb18030(void **state)
{
    struct buf many = BUF_INIT;
    struct result r;
    char *p;

    (void)state;
    p = write_encoded("short.csv", "name,v\n北京,1\n", "GB18030");
    read_all(p, "short.csv", NULL, &r);
    assert_int_equal(r.rc, 0);
    assert_string_equal(r.info.encoding, "GB18030");
    assert_string_equal(r.rows, "1: name|v\n2: 北京|1\n");
    free(p);
    buf_addstr(&many, "id,city,n\n");
    for (int i = 1; i <= 200; i++)
        buf_addf(&many, "%d,%s,%d\n", i, i == 117 ? "北京市" : "x", i * 7);
    p = write_encoded("one.csv", many.buf, "GB18030");
    read_all(p, "one.csv", NULL, &r);
    assert_int_equal(r.rc, 0);
    assert_string_equal(r.info.encoding, "GB18030");
    assert_non_null(strstr(r.rows, "118: 117|北京市|819\n"));
    free(p);
    /* Western text whose bytes GB18030 would also decode. */
    {
        static const char *const latin[] = {
                "city,n\nQuébec,1\nMontréal,2\n",
                "word,n\nação,1\nnação,2\n",
                "name,n\nJosé Müller,1\n",
                /* accented capitals in pairs make GB2312 level-1 hanzi (C7C3) */
                "w\nAÇÃO\n",
                "w\nCORAÇÃO\n",
                "w\nÜBER\n",
                "w\nnaïve café\n",
                "street\nStraße 5\n",
        };

        for (size_t i = 0; i < ARRAY_SIZE(latin); i++) {
            p = write_encoded("latin.csv", latin[i], "WINDOWS-1252");
            read_all(p, "latin.csv", NULL, &r);
            assert_int_equal(r.rc, 0);
            if (strcmp(r.info.encoding, "WINDOWS-1252"))
                fail_msg("%s: read as %s", latin[i], r.info.encoding);
            free(p);
        }
    }
    buf_release(&many);

    /* A word or two alone: uchardet guesses ISO-8859-7 (上海), or nothing that decodes
     * (广州市, 深圳, 鑫). */
    {
        static const char *const words[] = {"上海", "广州市", "深圳", "中", "王", "鑫", "统计局"};

        for (size_t i = 0; i < ARRAY_SIZE(words); i++) {
            char text[64], want[64];

            xsnprintf(text, sizeof(text), "w\n%s\n", words[i]);
            xsnprintf(want, sizeof(want), "1: w\n2: %s\n", words[i]);
            p = write_encoded("word.csv", text, "GB18030");
            read_all(p, "word.csv", NULL, &r);
            if (r.rc || strcmp(r.info.encoding, "GB18030"))
                fail_msg("%s: read as \"%s\": %s", words[i], r.info.encoding, r.err.msg);
            assert_string_equal(r.rows, want);
            free(p);
        }
    }
    /* Greek, Russian and Hebrew words in their code pages stay in them. */
    {
        static const struct {
            const char *text, *encoding;
        } others[] = {
                {"w\nМосква\n", "WINDOWS-1251"}, {"w\nПривет мир\n", "WINDOWS-1251"},
                {"w\nΑθήνα\n", "ISO-8859-7"},    {"w\nшкола\n", "KOI8-R"},
                {"w\nשלום\n", "ISO-8859-8"},
        };

        for (size_t i = 0; i < ARRAY_SIZE(others); i++) {
            p = write_encoded("other.csv", others[i].text, others[i].encoding);
            read_all(p, "other.csv", NULL, &r);
            assert_int_equal(r.rc, 0);
            if (!strcmp(r.info.encoding, "GB18030"))
                fail_msg("%s: read as GB18030", others[i].text);
            free(p);
        }
    }

    /* A GB18030 file and its UTF-8 twin give the same rows: ideographs, Chinese
     * punctuation, full-width forms. */
    {
        static const char text[] = "name,city,note\n张三,北京市,“你好”，全角ＡＢＣ\n"
                                   "李四,上海,中文标点。\n";
        char *rows_gb;

        p = write_encoded("twin-gb.csv", text, "GB18030");
        read_all(p, "twin-gb.csv", NULL, &r);
        assert_int_equal(r.rc, 0);
        assert_string_equal(r.info.encoding, "GB18030");
        rows_gb = xstrdup(r.rows);
        free(p);
        p = write_tmp("twin-utf8.csv", text, strlen(text));
        read_all(p, "twin-utf8.csv", NULL, &r);
        assert_int_equal(r.rc, 0);
        assert_string_equal(r.info.encoding, "UTF-8");
        assert_string_equal(r.rows, rows_gb);
        assert_string_equal(rows_gb, "1: name|city|note\n2: 张三|北京市|“你好”，全角ＡＢＣ\n"
                                     "3: 李四|上海|中文标点。\n");
        free(rows_gb);
        free(p);
    }
    /* Told UTF-8, the GB18030 file fails at the first Chinese character, named by line
     * and column. */
    {
        struct ingest_options o = INGEST_OPTIONS_INIT;

        p = write_encoded("short.csv", "name,v\n北京,1\n", "GB18030");
        o.encoding = "UTF-8";
        read_all(p, "short.csv", &o, &r);
        assert_int_equal(r.rc, -ERR_VALIDATION);
        assert_string_equal(r.err.msg, "line 2, column 1: bytes not valid in encoding \"UTF-8\"");
        free(p);
        p = write_encoded("short.csv", "name,v\nab,北京\n", "GB18030");
        read_all(p, "short.csv", &o, &r);
        assert_string_equal(r.err.msg, "line 2, column 4: bytes not valid in encoding \"UTF-8\"");
        free(p);
    }
}

static void test_encoding_override(void **state)
{
    struct ingest_options o = INGEST_OPTIONS_INIT;
    struct result r;
    char *p = fixture("windows-1252.csv");

    (void)state;
    o.encoding = "windows-1252";
    read_all(p, "windows-1252.csv", &o, &r);
    assert_int_equal(r.rc, 0);
    assert_string_equal(r.info.encoding, "WINDOWS-1252");
    assert_false(r.info.encoding_detected);

    /* Read as ISO-8859-1 when told: the curly quotes become C1 controls, still text. */
    o.encoding = "ISO-8859-1";
    read_all(p, "windows-1252.csv", &o, &r);
    assert_int_equal(r.rc, 0);
    assert_non_null(strstr(r.rows, "2: José|São Paulo|\xc2\x93quoted\xc2\x94"));

    /* Told UTF-8: the first byte that is not, with its line. */
    o.encoding = "utf-8";
    read_all(p, "windows-1252.csv", &o, &r);
    assert_int_equal(r.rc, -ERR_VALIDATION);
    assert_string_equal(r.err.field, "encoding");
    assert_string_equal(r.err.msg, "line 2, column 4: bytes not valid in encoding \"UTF-8\"");

    /* Names iconv does not know, and suffixes that would change its behaviour. */
    o.encoding = "no-such-encoding";
    read_all(p, "windows-1252.csv", &o, &r);
    assert_int_equal(r.rc, -ERR_VALIDATION);
    assert_string_equal(r.err.field, "encoding");
    assert_string_equal(r.err.msg, "unknown encoding \"no-such-encoding\"");
    o.encoding = "UTF-8//IGNORE";
    read_all(p, "windows-1252.csv", &o, &r);
    assert_string_equal(r.err.msg, "unknown encoding \"UTF-8//IGNORE\"");
    o.encoding = "";
    read_all(p, "windows-1252.csv", &o, &r);
    assert_string_equal(r.err.field, "encoding");
    free(p);

    /* A BOM of the encoding given is skipped; "UTF-16" takes its byte order from it. */
    p = fixture("utf16be.csv");
    o.encoding = "UTF-16";
    read_all(p, "utf16be.csv", &o, &r);
    assert_int_equal(r.rc, 0);
    assert_string_equal(r.info.encoding, "UTF-16BE");
    assert_true(r.info.bom);
    assert_false(r.info.encoding_detected);
    assert_true(starts_with(r.rows, "1: id|city|country\n"));
    free(p);
    p = fixture("bom.csv");
    o.encoding = "UTF8";
    read_all(p, "bom.csv", &o, &r);
    assert_int_equal(r.rc, 0);
    assert_string_equal(r.info.encoding, "UTF-8");
    assert_true(r.info.bom);
    assert_true(starts_with(r.rows, "1: id|name\n"));
    free(p);
}

/* A file of `lines` lines "n,some text\n" (ASCII, past the sniffed start), then tail. */
static char *long_file(const char *name, unsigned lines, const char *tail, size_t tail_len)
{
    struct buf b = BUF_INIT;
    char *p;

    buf_addstr(&b, "n,text\n");
    for (unsigned i = 2; i <= lines; i++)
        buf_addf(&b, "%u,some plain ASCII text on line %u\n", i, i);
    buf_add(&b, tail, tail_len);
    p = write_tmp(name, b.buf, b.len);
    buf_release(&b);
    return p;
}

static void test_encoding_errors_later(void **state)
{
    struct ingest_options o = INGEST_OPTIONS_INIT;
    struct result r;
    char *p;

    (void)state;
    /* Detected as UTF-8 from the first 64 KiB; a Latin-1 byte on line 3001. */
    p = long_file("late.csv", 3000, TAIL("3001,caf\xe9\n3002,x\n"));
    read_all(p, "late.csv", NULL, &r);
    assert_string_equal(r.info.encoding, "UTF-8");
    assert_int_equal(r.rc, -ERR_VALIDATION);
    assert_string_equal(r.err.field, "encoding");
    assert_string_equal(r.err.msg, "line 3001, column 9: bytes not valid in encoding \"UTF-8\" "
                                   "(detected); set the encoding if that is wrong");
    assert_int_equal(r.pos.line, 3001);
    /* Every row before it was yielded. */
    assert_non_null(strstr(r.rows, "\n3000: 3000|"));
    free(p);

    /* A sequence cut by the end of the file; a NUL; an overlong form; a surrogate. */
    p = long_file("late.csv", 3000, TAIL("3001,\xe2\x82"));
    read_all(p, "late.csv", NULL, &r);
    assert_int_equal(r.rc, -ERR_VALIDATION);
    assert_int_equal(r.pos.line, 3001);
    free(p);
    p = long_file("late.csv", 3000, TAIL("3001,a\0b\n"));
    read_all(p, "late.csv", NULL, &r);
    assert_int_equal(r.rc, -ERR_VALIDATION);
    assert_int_equal(r.pos.line, 3001);
    assert_true(starts_with(r.err.msg, "line 3001, column 7: a NUL character"));
    free(p);
    p = long_file("late.csv", 3000, TAIL("3001,\xc0\xaf\n"));
    read_all(p, "late.csv", NULL, &r);
    assert_int_equal(r.pos.line, 3001);
    free(p);
    p = long_file("late.csv", 3000, TAIL("3001,\"x\r\ny\"\r\n3003,\xed\xa0\x80\n"));
    read_all(p, "late.csv", NULL, &r);
    assert_int_equal(r.pos.line, 3003);
    free(p);

    /* The same through iconv: a byte GB18030 does not allow after a lead byte. */
    p = long_file("late.csv", 3000, TAIL("3001,\xd6\xd0\n3002,\x81\x20\n"));
    o.encoding = "GB18030";
    read_all(p, "late.csv", &o, &r);
    assert_int_equal(r.rc, -ERR_VALIDATION);
    assert_string_equal(r.err.msg, "line 3002, column 6: bytes not valid in encoding \"GB18030\"");
    assert_int_equal(r.pos.line, 3002);
    assert_non_null(strstr(r.rows, "\n3001: 3001|中\n"));
    free(p);
    /* A GB18030 sequence cut by the end of the file. */
    p = long_file("late.csv", 3000, TAIL("3001,\x81\x30\x81"));
    read_all(p, "late.csv", &o, &r);
    assert_int_equal(r.rc, -ERR_VALIDATION);
    assert_int_equal(r.pos.line, 3001);
    free(p);
}

/* The n bytes of UTF-8 at s in GB18030 (iconv(3)), *len bytes; free() them. */
static char *gb18030(const char *s, size_t n, size_t *len)
{
    iconv_t cd = iconv_open("GB18030", "UTF-8");
    char *out = xmalloc(n * 2 + 1), *in = (char *)s, *op = out;
    size_t left = n, room = n * 2 + 1;

    assert_true(cd != (iconv_t)-1);
    assert_int_equal(iconv(cd, &in, &left, &op, &room), 0);
    iconv_close(cd);
    *len = (size_t)(op - out);
    return out;
}

/* ---- Chunk boundaries ------------------------------------------------------------- */

/*
 * A record that straddles the end of the reader's buffer (1 MiB of text) or of the
 * converter's input (256 KiB of file) at every byte of it: a filler line puts the
 * record's start k bytes before the boundary.
 */
static void test_chunk_boundaries(void **state)
{
    static const char rec[] = "1,\"q\"\"€\r\nz\"\r\n2,😀\r\n";
    const size_t boundaries[] = {1u << 20, 256u * 1024};

    (void)state;
    for (size_t bi = 0; bi < ARRAY_SIZE(boundaries); bi++) {
        for (size_t k = 1; k <= sizeof(rec); k++) {
            struct ingest_options o = INGEST_OPTIONS_INIT;
            struct buf b = BUF_INIT, want = BUF_INIT;
            size_t fill = boundaries[bi] - k - strlen("a,b\n") - strlen("f,\n");
            struct result r;
            char *p;

            buf_addstr(&b, "a,b\nf,");
            for (size_t i = 0; i < fill; i++)
                buf_addch(&b, (char)('a' + i % 26));
            buf_addstr(&b, "\n");
            assert_int_equal(b.len, boundaries[bi] - k);
            buf_addstr(&b, rec);
            if (bi == 1) {
                /* Through iconv: the same text in GB18030 (€ and 😀 are 2 and 4 bytes). */
                size_t len;
                char *gb = gb18030(b.buf, b.len, &len);

                p = write_tmp("edge.csv", gb, len);
                free(gb);
                o.encoding = "GB18030";
            } else {
                p = write_tmp("edge.csv", b.buf, b.len);
            }
            read_all(p, "edge.csv", &o, &r);
            if (r.rc)
                fail_msg("k %zu: %s", k, r.err.msg);
            buf_addf(&want, "1: a|b\n2: f|%.*s\n3: 1|q\"€\\r\\nz\n5: 2|😀\n", (int)fill,
                     b.buf + strlen("a,b\nf,"));
            assert_string_equal(r.rows, want.buf);
            buf_release(&want);
            buf_release(&b);
            free(p);
        }
    }
}

/* ---- Real files ------------------------------------------------------------------- */

static void read_example(const char *dir, const char *file, const struct ingest_options *o,
                         struct result *r)
{
    char *p = example(dir, file);

    read_all(p, file, o, r);
    if (r->rc)
        fail_msg("%s: %s", file, r->err.msg);
    free(p);
}

static void test_real_counties(void **state)
{
    struct result utf8, gb;

    (void)state;
    read_example("cn-nbs-administrative-divisions-2023", "counties.csv", NULL, &utf8);
    read_example("cn-nbs-administrative-divisions-2023", "counties.gb18030.csv", NULL, &gb);
    assert_string_equal(utf8.info.encoding, "UTF-8");
    assert_string_equal(gb.info.encoding, "GB18030");
    assert_true(gb.info.encoding_detected);
    assert_string_equal(utf8.rows, gb.rows);
    assert_true(starts_with(utf8.rows, "1: code|name|city_code|city_name|province_code|"
                                       "province_name\n2: 110101|东城区|1101|市辖区|11|北京市\n"));
    assert_non_null(strstr(utf8.rows, "\n2979: "));
    assert_null(strstr(utf8.rows, "\n2980: "));
    assert_int_equal(gb.offset, gb.info.bytes);
}

/* Converts file src from UTF-8 to GB18030 with iconv(3) into a new temporary file. */
static char *to_gb18030(const char *src, const char *name)
{
    struct buf in = BUF_INIT;
    char chunk[65536], *gb, *p;
    FILE *f = fopen(src, "rb");
    size_t n;

    assert_non_null(f);
    while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
        buf_add(&in, chunk, n);
    fclose(f);
    gb = gb18030(in.buf, in.len, &n);
    p = write_tmp(name, gb, n);
    free(gb);
    buf_release(&in);
    return p;
}

/* How many rows of rendered rows hold a CJK Extension A character (U+3400-U+4DBF: E3 90
 * 80 to E4 B6 BF in UTF-8). */
static size_t ext_a_rows(const char *rows)
{
    size_t n = 0;

    for (const char *line = rows; *line;) {
        const char *end = strchr(line, '\n');

        for (const unsigned char *q = (const unsigned char *)line; q < (const unsigned char *)end;
             q++)
            if ((q[0] == 0xe3 && q[1] >= 0x90) || (q[0] == 0xe4 && q[1] <= 0xb6)) {
                n++;
                break;
            }
        line = end + 1;
    }
    return n;
}

static void test_real_towns_gb18030(void **state)
{
    struct result utf8, gb;
    char *src = example("cn-nbs-administrative-divisions-2023", "towns.csv");
    char *p = to_gb18030(src, "towns.gb18030.csv");

    (void)state;
    read_example("cn-nbs-administrative-divisions-2023", "towns.csv", NULL, &utf8);
    read_all(p, "towns.gb18030.csv", NULL, &gb);
    if (gb.rc)
        fail_msg("towns.gb18030.csv: %s", gb.err.msg);
    /* GBK cannot hold them: the detection must say GB18030, and the rows round-trip. */
    assert_string_equal(gb.info.encoding, "GB18030");
    assert_string_equal(utf8.rows, gb.rows);
    assert_int_equal(ext_a_rows(gb.rows), 8);
    assert_non_null(strstr(gb.rows, "|湖㳇镇|"));
    assert_non_null(strstr(gb.rows, "\n41353: "));
    free(src);
    free(p);
}

static void test_real_csv(void **state)
{
    struct result r;

    (void)state;
    /* Commas inside quoted fields, doubled quotes. */
    read_example("faa-us-airports", "airports.csv", NULL, &r);
    assert_true(starts_with(r.rows, "1: iata|name|city|state|country|latitude|longitude\n"
                                    "2: 00M|Thigpen|Bay Springs|MS|USA|31.95376472|"
                                    "-89.23450472\n"));
    assert_non_null(strstr(r.rows, "\n303: 35A|Union County, Troy Shelton|Union|SC|"));
    assert_non_null(strstr(r.rows, "\n1253: DBN|W. H. \"Bud\" Barron|Dublin|GA|USA|"));
    assert_non_null(strstr(r.rows, "\n3377: "));
    assert_null(strstr(r.rows, "\n3378: "));

    /* CRLF and no final newline: 10,000 rows, no CR left in a cell. */
    read_example("faa-wildlife-strikes", "birdstrikes.csv", NULL, &r);
    assert_null(strstr(r.rows, "\\r"));
    assert_non_null(strstr(r.rows, "\n10001: "));
    assert_null(strstr(r.rows, "\n10002: "));
    assert_true(r.rows_len > 5 && !strcmp(r.rows + r.rows_len - 5, "|140\n"));
    assert_int_equal(r.offset, r.info.bytes);

    /* Tab-separated. */
    read_example("bls-county-unemployment-2009", "unemployment.tsv", NULL, &r);
    assert_int_equal(r.info.format, INGEST_FORMAT_TSV);
    assert_true(starts_with(r.rows, "1: id|rate\n2: 1001|.097\n"));
}

static void test_real_json(void **state)
{
    struct result r;

    (void)state;
    /* Records under "3166-1"; keys in first-seen order; flags; Namibia is "NA". */
    read_example("iso-3166-1-countries", "iso_3166-1.json", NULL, &r);
    assert_int_equal(r.info.format, INGEST_FORMAT_JSON);
    assert_true(starts_with(r.rows,
                            "3: alpha_2|alpha_3|flag|name|numeric|official_name|common_name\n"
                            "3: AW|ABW|🇦🇼|Aruba|533|∅|∅\n"
                            "10: AF|AFG|🇦🇫|Afghanistan|004|Islamic Republic of Afghanistan|∅\n"));
    assert_non_null(strstr(r.rows, ": NA|NAM|🇳🇦|Namibia|516|Republic of Namibia|∅\n"));

    /* 72 keys in order (the TQ quarter between 1976 and 1977), numbers as written,
     * strings with commas as text. */
    read_example("omb-federal-receipts-fy2016-budget", "budget.json", NULL, &r);
    {
        const char *header = r.rows, *end = strchr(header, '\n');
        size_t keys = 1;

        for (const char *q = header; q < end; q++)
            keys += *q == '|';
        assert_int_equal(keys, 72);
        assert_true(starts_with(header, "2: Source Category Code|Source category name|Source "
                                        "subcategory|"));
        assert_non_null(strstr(header, "|1975|1976|TQ|1977|1978|"));
    }
    assert_non_null(strstr(r.rows, "\n2: #931|Individual Income Taxes|#0|"));
    assert_non_null(strstr(r.rows, "|-566,000|"));
    assert_non_null(strstr(r.rows, "|1,004,401,000|"));
}

/* ---- JSON ------------------------------------------------------------------------- */

static void test_json_fixtures(void **state)
{
    struct ingest_options o = INGEST_OPTIONS_INIT;
    struct result r;

    (void)state;
    /* Every kind; blank lines; a CRLF; keys in first-seen order; numbers as written. */
    read_fixture("records.ndjson", NULL, &r);
    assert_int_equal(r.info.format, INGEST_FORMAT_NDJSON);
    assert_string_equal(r.rows, "1: id|name|score|ok|tags|geo|extra|note\n"
                                "1: #1|Ann|#1.10|?true|@[\"a\",\"b\"]|@{\"x\":1e3}|∅|∅\n"
                                "3: #2|Béa 😀|∅|?false|∅|∅|∅|∅\n"
                                "5: #-0.5E-2|Cy|#12345678901234567890|∅|∅|∅|∅|x\\ty\n");
    assert_int_equal(r.offset, r.info.bytes);

    /* The only array of the top-level object, found without records_path, or named. */
    static const char wrapped[] = "4: a|b|c\n4: 1|#2|∅\n5: ∅|#3|@{\"d\":[true,null]}\n";

    read_fixture("wrapped.json", NULL, &r);
    assert_string_equal(r.rows, wrapped);
    o.records_path = "rows";
    read_fixture("wrapped.json", &o, &r);
    assert_string_equal(r.rows, wrapped);
}

/* Errors in the records come after the rows before them, with their place. */
static void test_json_error_place(void **state)
{
    struct result r;
    char *p;

    (void)state;
    p = fixture("bad-syntax.json");
    read_all(p, "bad-syntax.json", NULL, &r);
    assert_int_equal(r.rc, -ERR_VALIDATION);
    assert_string_equal(r.err.msg, "line 3, column 11: expected a key (a string), found ','");
    assert_int_equal(r.pos.line, 3);
    assert_int_equal(r.pos.column, 11);
    assert_string_equal(r.rows, "2: a\n2: #1\n");
    free(p);
    p = fixture("not-object.json");
    read_all(p, "not-object.json", NULL, &r);
    assert_string_equal(r.err.msg, "line 3: record 2 is a string, not an object");
    assert_int_equal(r.pos.line, 3);
    assert_int_equal(r.pos.column, 3);
    assert_string_equal(r.rows, "2: a\n2: #1\n");
    free(p);
    /* After the records array: its rows, then the error. */
    p = write_tmp("a.json", TAIL("{\"rows\": [{\"a\": 1}],\n \"x\": tru}"));
    read_all(p, "a.json", NULL, &r);
    assert_string_equal(r.err.msg, "line 2, column 10: a value is not valid: expected \"true\"");
    assert_int_equal(r.pos.line, 2);
    assert_string_equal(r.rows, "1: a\n1: #1\n");
    free(p);
    /* Bytes not valid in the encoding: the line, after the records before it. */
    p = write_tmp("a.ndjson", TAIL("{\"a\": \"x\"}\n{\"a\": \"caf\xc3\"}\n"));
    {
        struct ingest_options o = INGEST_OPTIONS_INIT;

        o.encoding = "UTF-8";
        read_all(p, "a.ndjson", &o, &r);
    }
    assert_int_equal(r.rc, -ERR_VALIDATION);
    assert_string_equal(r.err.field, "encoding");
    assert_int_equal(r.pos.line, 2);
    assert_string_equal(r.rows, "1: a\n1: x\n");
    free(p);
}

/* Reading JSON text data (in a file named name) fails with want_rc, want_field and
 * want_msg (errors found at open have their place only in the message). */
static void json_error(const char *name, const char *data, const char *records_path, int want_rc,
                       const char *want_field, const char *want_msg)
{
    struct ingest_options o = INGEST_OPTIONS_INIT;
    char *p = write_tmp(name, data, strlen(data));
    struct result r;

    o.records_path = records_path;
    read_all(p, name, &o, &r);
    if (r.rc != want_rc || strcmp(r.err.msg, want_msg))
        fail_msg("%s: got %d \"%s\"", data, r.rc, r.err.msg);
    assert_string_equal(r.err.field, want_field);
    free(p);
}

static void test_json_errors(void **state)
{
    (void)state;
    json_error("a.json", "[\n  {\"a\": 1},\n  {\"a\": 2,, \"b\": 3}\n]\n", NULL, -ERR_VALIDATION,
               "file", "line 3, column 11: expected a key (a string), found ','");
    json_error("a.json", "[\n  {\"a\": 1},\n  \"two\"\n]\n", NULL, -ERR_VALIDATION, "file",
               "line 3: record 2 is a string, not an object");
    json_error("a.json", "  42\n", NULL, -ERR_VALIDATION, "file",
               "the JSON is neither an array of records nor an object holding one");
    json_error("a.json", "[{\"a\": 1}] x", NULL, -ERR_VALIDATION, "file",
               "line 1, column 12: expected the end of the file after the top-level value, "
               "found 'x'");
    json_error("a.json", "[{\"a\": 1}, ]", NULL, -ERR_VALIDATION, "file",
               "line 1, column 12: expected a record (an object), found ']'");
    json_error("a.json", "[{\"a\": 01}]", NULL, -ERR_VALIDATION, "file",
               "line 1, column 9: expected ',' or '}' after a value in an object, found '1'");
    json_error("a.json", "[{\"a\": \"x\ny\"}]", NULL, -ERR_VALIDATION, "file",
               "line 1, column 10: a string is not closed before the end of the line");
    json_error("a.json", "[{\"a\": \"\\u0000\"}]", NULL, -ERR_VALIDATION, "file",
               "line 1, column 15: a string holds \\u0000 (NUL), which no cell can hold");
    json_error("a.json", "[{\"a\": \"\\ud800x\"}]", NULL, -ERR_VALIDATION, "file",
               "line 1, column 15: a \\u escape holds a high surrogate without a low one");
    json_error("a.json", "[{\"a\": \"\\q\"}]", NULL, -ERR_VALIDATION, "file",
               "line 1, column 10: an escape in a string is not valid: '\\' then 'q'");
    json_error("a.json", "[{\"a\": [1, 2}]", NULL, -ERR_VALIDATION, "file",
               "line 1, column 13: expected ',' or ']' after a value in an array, found '}'");
    json_error("a.json", "[{\"a\": 1}", NULL, -ERR_VALIDATION, "file",
               "line 1, column 10: expected ',' or ']' after a record, found the end of the file");
    json_error("a.json", "[{\"a\": tru}]", NULL, -ERR_VALIDATION, "file",
               "line 1, column 11: a value is not valid: expected \"true\"");

    /* Choosing the records of a top-level object. */
    json_error("a.json", "{\"x\": [{\"a\": 1}], \"y\": [{\"b\": 2}]}", NULL, -ERR_VALIDATION,
               "records_path",
               "the top-level object has several arrays (\"x\", \"y\"): set records_path to the "
               "key of the records");
    json_error("a.json", "{\"x\": {\"n\": [1]}, \"y\": 2}", NULL, -ERR_VALIDATION, "records_path",
               "no records: the top-level object holds no array");
    json_error("a.json", "{\"x\": [{\"a\": 1}]}", "z", -ERR_VALIDATION, "records_path",
               "records_path \"z\" not found in the top-level object");
    json_error("a.json", "{\"x\": [{\"a\": 1}], \"z\": 3}", "z", -ERR_VALIDATION, "records_path",
               "records_path \"z\" is not an array of records");
    json_error("a.json", "[{\"a\": 1}]", "z", -ERR_VALIDATION, "records_path",
               "records_path \"z\" is set but the top level is an array");

    /* NDJSON: one record per line. */
    json_error("a.ndjson", "{\"a\": 1} {\"a\": 2}\n", NULL, -ERR_VALIDATION, "file",
               "line 1, column 10: expected the end of the line after a record (one record per "
               "line), found '{'");
    json_error("a.ndjson", "{\"a\": 1}\n\n[1, 2]\n", NULL, -ERR_VALIDATION, "file",
               "line 3: record 2 is an array, not an object");
    json_error("a.ndjson", "\n \n", NULL, -ERR_VALIDATION, "file", "file is empty");
}

static void test_json_shapes(void **state)
{
    struct result r;
    char *p;

    (void)state;
    /* An empty array: no keys, no rows. */
    p = write_tmp("a.json", TAIL("[ ]"));
    read_all(p, "a.json", NULL, &r);
    assert_int_equal(r.rc, 0);
    assert_string_equal(r.rows, "");
    free(p);
    /* Records records_path names beside other arrays; the members after it checked. */
    p = write_tmp("a.json", TAIL("{\"x\": [1], \"y\": [{\"b\": 2}, {}], \"z\": [true]}"));
    {
        struct ingest_options o = INGEST_OPTIONS_INIT;

        o.records_path = "y";
        read_all(p, "a.json", &o, &r);
    }
    assert_int_equal(r.rc, 0);
    assert_string_equal(r.rows, "1: b\n1: #2\n1: ∅\n");
    free(p);
    /* A duplicate key keeps its last value; escapes in keys; a key that is "". */
    p = write_tmp("a.json", TAIL("[{\"a\": 1, \"\\u0061\": \"two\", \"\": null, \"b\\\"\": [ ]}]"));
    read_all(p, "a.json", NULL, &r);
    assert_int_equal(r.rc, 0);
    assert_string_equal(r.rows, "1: a||b\"\n1: two|∅|@[]\n");
    free(p);
    /* JSON in UTF-16 with a BOM. */
    p = write_tmp("a.json", TAIL("\xff\xfe[\0{\0\"\0a\0\"\0:\0\"\0\xe9\0\"\0}\0]\0"));
    read_all(p, "a.json", NULL, &r);
    assert_int_equal(r.rc, 0);
    assert_string_equal(r.info.encoding, "UTF-16LE");
    assert_string_equal(r.rows, "1: a\n1: é\n");
    free(p);
}

/* ---- Limits (core/limits.h) ------------------------------------------------------- */

static void test_limit_field(void **state)
{
    struct buf b = BUF_INIT;
    struct result r;
    char *p;

    (void)state;
    /* Exactly LIMIT_INGEST_FIELD bytes (quoted, with doubled quotes) is a field. */
    buf_addstr(&b, "a,b\n1,\"");
    for (size_t i = 0; i < LIMIT_INGEST_FIELD - 2; i++)
        buf_addch(&b, 'x');
    buf_addstr(&b, "\"\"\"\"\"\n");
    p = write_tmp("big.csv", b.buf, b.len);
    read_all(p, "big.csv", NULL, &r);
    assert_int_equal(r.rc, 0);
    assert_true(starts_with(r.rows, "1: a|b\n2: 1|xxx"));
    assert_true(r.rows_len == strlen("1: a|b\n2: 1|") + LIMIT_INGEST_FIELD + 1);
    free(p);
    /* One more byte is too large. */
    buf_reset(&b);
    buf_addstr(&b, "a,b\n1,2\n3,");
    for (size_t i = 0; i <= LIMIT_INGEST_FIELD; i++)
        buf_addch(&b, 'x');
    buf_addstr(&b, "\n");
    p = write_tmp("big.csv", b.buf, b.len);
    read_all(p, "big.csv", NULL, &r);
    assert_int_equal(r.rc, -ERR_TOO_LARGE);
    assert_string_equal(r.err.msg, "line 3, field 2: a field is larger than 4 MiB");
    assert_int_equal(r.pos.line, 3);
    assert_int_equal(r.pos.column, 2);
    free(p);
    buf_release(&b);
}

static void test_limit_record(void **state)
{
    struct buf b = BUF_INIT;
    struct result r;
    char *p;
    size_t field = LIMIT_INGEST_FIELD - 1;

    (void)state;
    /* Four fields just under the field limit, then a fifth: past LIMIT_INGEST_RECORD. */
    buf_addstr(&b, "a\n");
    for (int f = 0; f < 5; f++) {
        if (f)
            buf_addch(&b, ',');
        for (size_t i = 0; i < field; i++)
            buf_addch(&b, 'y');
    }
    buf_addstr(&b, "\n");
    p = write_tmp("big.csv", b.buf, b.len);
    read_all(p, "big.csv", NULL, &r);
    assert_int_equal(r.rc, -ERR_TOO_LARGE);
    assert_string_equal(r.err.msg, "line 2: a record is larger than 16 MiB");
    assert_int_equal(r.pos.line, 2);
    free(p);

    /* The same values in a JSON record. */
    buf_reset(&b);
    buf_addstr(&b, "[{\"a\": 1},\n{");
    for (int f = 0; f < 5; f++) {
        buf_addf(&b, "%s\"k%d\": \"", f ? ", " : "", f);
        for (size_t i = 0; i < field; i++)
            buf_addch(&b, 'y');
        buf_addch(&b, '"');
    }
    buf_addstr(&b, "}]");
    p = write_tmp("big.json", b.buf, b.len);
    read_all(p, "big.json", NULL, &r);
    assert_int_equal(r.rc, -ERR_TOO_LARGE);
    assert_string_equal(r.err.msg, "line 2: a record is larger than 16 MiB");
    assert_int_equal(r.pos.line, 2);
    free(p);

    /* A JSON value past LIMIT_INGEST_FIELD. */
    buf_reset(&b);
    buf_addstr(&b, "[{\"a\": \"");
    for (size_t i = 0; i <= LIMIT_INGEST_FIELD; i++)
        buf_addch(&b, 'y');
    buf_addstr(&b, "\"}]");
    p = write_tmp("big.json", b.buf, b.len);
    read_all(p, "big.json", NULL, &r);
    assert_int_equal(r.rc, -ERR_TOO_LARGE);
    assert_string_equal(r.err.msg, "line 1, key \"a\": a value is larger than 4 MiB");
    free(p);
    buf_release(&b);
}

static void test_limit_fields(void **state)
{
    struct buf b = BUF_INIT;
    struct result r;
    char *p;

    (void)state;
    /* LIMIT_INGEST_RECORD_FIELDS fields in a record, then one more. */
    for (unsigned i = 0; i < LIMIT_INGEST_RECORD_FIELDS; i++)
        buf_addstr(&b, i ? ",x" : "x");
    buf_addch(&b, '\n');
    p = write_tmp("wide.csv", b.buf, b.len);
    read_all(p, "wide.csv", NULL, &r);
    assert_int_equal(r.rc, 0);
    free(p);
    buf_setlen(&b, b.len - 1);
    buf_addstr(&b, ",x\n");
    p = write_tmp("wide.csv", b.buf, b.len);
    read_all(p, "wide.csv", NULL, &r);
    assert_int_equal(r.rc, -ERR_TOO_LARGE);
    assert_string_equal(r.err.msg, "line 1: a record has more than 16384 fields");
    free(p);

    /* Distinct JSON keys across records. */
    buf_reset(&b);
    buf_addch(&b, '[');
    for (unsigned i = 0; i <= LIMIT_INGEST_RECORD_FIELDS; i++)
        buf_addf(&b, "%s{\"k%u\": %u}", i ? ",\n" : "", i, i);
    buf_addch(&b, ']');
    p = write_tmp("keys.json", b.buf, b.len);
    read_all(p, "keys.json", NULL, &r);
    assert_int_equal(r.rc, -ERR_TOO_LARGE);
    assert_string_equal(r.err.msg, "line 16385, column 10: the records have more than 16384 "
                                   "distinct keys");
    free(p);
    buf_release(&b);
}

static void test_limit_json_depth(void **state)
{
    struct buf b = BUF_INIT;
    struct result r;
    char *p;

    (void)state;
    /* A record's value nested LIMIT_INGEST_JSON_DEPTH - 1 deep is read, one more is not. */
    for (unsigned depth = LIMIT_INGEST_JSON_DEPTH - 1; depth <= LIMIT_INGEST_JSON_DEPTH; depth++) {
        buf_reset(&b);
        buf_addstr(&b, "[{\"a\": ");
        for (unsigned i = 0; i < depth; i++)
            buf_addch(&b, '[');
        for (unsigned i = 0; i < depth; i++)
            buf_addch(&b, ']');
        buf_addstr(&b, "}]");
        p = write_tmp("deep.json", b.buf, b.len);
        read_all(p, "deep.json", NULL, &r);
        if (depth < LIMIT_INGEST_JSON_DEPTH) {
            assert_int_equal(r.rc, 0);
        } else {
            assert_int_equal(r.rc, -ERR_TOO_LARGE);
            assert_string_equal(r.err.msg, "line 1, column 519: values are nested more than 512 "
                                           "deep");
        }
        free(p);
    }
    buf_release(&b);
}

/* ---- Sheets ----------------------------------------------------------------------- */

static void test_sheet_names(void **state)
{
    static const char *const want[] = {"Sheet1", "Sheet2", "Sheet3"};
    struct err e = ERR_INIT;
    char **names = NULL;
    char *p;

    (void)state;
    for (int xls = 0; xls < 2; xls++) {
        p = example("nyc-doe-regents-score-distribution-2010",
                    xls ? "2010_bigfive_regents.xls" : "2010_bigfive_regents.xlsx");
        assert_int_equal(ingest_sheet_names(p, &names, &e), 0);
        for (size_t i = 0; i < ARRAY_SIZE(want); i++) {
            assert_non_null(names[i]);
            assert_string_equal(names[i], want[i]);
        }
        assert_null(names[ARRAY_SIZE(want)]);
        ingest_strv_free(names);
        free(p);
    }
    p = fixture("bom.csv");
    assert_int_equal(ingest_sheet_names(p, &names, &e), -ERR_VALIDATION);
    assert_null(names);
    assert_string_equal(e.msg, "file is not a workbook (XLSX or XLS)");
    free(p);
    ingest_strv_free(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_format_names),
            cmocka_unit_test(test_guess_from_content),
            cmocka_unit_test(test_open_errors),
            cmocka_unit_test(test_csv_bom_crlf),
            cmocka_unit_test(test_csv_quoting),
            cmocka_unit_test(test_csv_blank_lines),
            cmocka_unit_test(test_csv_delimiters),
            cmocka_unit_test(test_csv_errors),
            cmocka_unit_test(test_encodings_detected),
            cmocka_unit_test(test_encoding_short_gb18030),
            cmocka_unit_test(test_encoding_override),
            cmocka_unit_test(test_encoding_errors_later),
            cmocka_unit_test(test_chunk_boundaries),
            cmocka_unit_test(test_real_counties),
            cmocka_unit_test(test_real_towns_gb18030),
            cmocka_unit_test(test_real_csv),
            cmocka_unit_test(test_real_json),
            cmocka_unit_test(test_json_fixtures),
            cmocka_unit_test(test_json_error_place),
            cmocka_unit_test(test_json_errors),
            cmocka_unit_test(test_json_shapes),
            cmocka_unit_test(test_limit_field),
            cmocka_unit_test(test_limit_record),
            cmocka_unit_test(test_limit_fields),
            cmocka_unit_test(test_limit_json_depth),
            cmocka_unit_test(test_sheet_names),
    };

    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
