/*
 * Unit tests for the table layer of src/ingest (infer.c, header.c, table.c): the
 * grammar of every type, missing-value tokens, conversion, header normalisation, title
 * rows, ragged and blank rows, re-typed fields, and the real files of examples/catalog
 * with the types their metadata.json and /work/shared/data/real/README.md ("Quirks")
 * say must hold. Small inputs are written to a temporary directory here.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "core/buf.h"
#include "core/limits.h"
#include "ingest/ingest.h"
#include "unit-util.h"
#include "core/util.h"

static char tmpdir[64];

static int group_setup(void **state)
{
    (void)state;
    return unit_tmpdir(tmpdir, sizeof(tmpdir), "table");
}

static int group_teardown(void **state)
{
    (void)state;
    unit_remove_tree(tmpdir);
    return 0;
}

/* ---- Helpers ---------------------------------------------------------------------- */

/* The type inferred for a column of TEXT cells (NULL-terminated). */
static enum dstype type_of_kinds(const enum ingest_cell_kind *kinds, const char *const *vals)
{
    struct ingest_infer inf;

    ingest_infer_init(&inf);
    for (size_t i = 0; vals[i]; i++) {
        struct ingest_cell c = {kinds ? kinds[i] : INGEST_CELL_TEXT, vals[i], strlen(vals[i])};

        if (!c.len)
            c.kind = INGEST_CELL_EMPTY;
        ingest_infer_cell(&inf, &c);
    }
    return ingest_infer_type(&inf);
}

#define TYPE_OF(...) type_of_kinds(NULL, (const char *const[]){__VA_ARGS__, NULL})

static enum dstype type1(const char *v)
{
    return TYPE_OF(v);
}

/* s converted to t, rendered: the integer, the text, "<null>", or "error: <message>". */
static char conv_out[256];
static const char *conv_kind(enum dstype t, enum ingest_cell_kind kind, const char *s)
{
    char scratch[INGEST_SCRATCH];
    struct ingest_cell c = {kind, s, strlen(s)};
    struct err e = ERR_INIT;
    struct dsvalue v;

    if (ingest_value_convert(t, &c, &v, scratch, &e)) {
        assert_int_equal(e.kind, ERR_VALIDATION);
        assert_int_equal(v.kind, DSVALUE_NULL);
        xsnprintf(conv_out, sizeof(conv_out), "error: %s", e.msg);
    } else if (v.kind == DSVALUE_NULL) {
        xsnprintf(conv_out, sizeof(conv_out), "<null>");
    } else if (v.kind == DSVALUE_INT) {
        xsnprintf(conv_out, sizeof(conv_out), "%" PRId64, v.i);
    } else {
        assert_true(v.len < sizeof(conv_out));
        xsnprintf(conv_out, sizeof(conv_out), "%.*s", (int)v.len, v.s);
    }
    return conv_out;
}

static const char *conv(enum dstype t, const char *s)
{
    return conv_kind(t, INGEST_CELL_TEXT, s);
}

/* Writes content to a new file in the temporary directory; free() the path. */
static char *write_tmp(const char *name, const char *content, size_t len)
{
    char *p = xstrfmt("%s/%s", tmpdir, name);
    FILE *f = fopen(p, "wb");

    assert_non_null(f);
    assert_int_equal(fwrite(content, 1, len, f), len);
    assert_int_equal(fclose(f), 0);
    return p;
}

static struct ingest_table *open_csv_opts(const char *content, const struct ingest_options *o)
{
    char *p = write_tmp("t.csv", content, strlen(content));
    struct ingest_table *t = NULL;
    struct err e = ERR_INIT;
    int rc = ingest_table_open(&t, p, "t.csv", o, &e);

    if (rc)
        fail_msg("open failed: %s", e.msg);
    free(p);
    return t;
}

static struct ingest_table *open_csv(const char *content)
{
    struct ingest_options o = INGEST_OPTIONS_INIT;

    o.format = INGEST_FORMAT_CSV;
    return open_csv_opts(content, &o);
}

/* The error of opening content as CSV; *pos its place. */
static int open_csv_error(const char *content, bool lenient, struct err *e, struct ingest_pos *pos)
{
    char *p = write_tmp("t.csv", content, strlen(content));
    struct ingest_options o = INGEST_OPTIONS_INIT;
    struct ingest_table *t = (struct ingest_table *)&o; /* must come back NULL */
    int rc;

    o.format = INGEST_FORMAT_CSV;
    o.lenient = lenient;
    rc = ingest_table_open_pos(&t, p, "t.csv", &o, pos, e);
    assert_null(t);
    free(p);
    return rc;
}

static void render_value(struct buf *b, const struct dsvalue *v)
{
    if (v->kind == DSVALUE_NULL)
        buf_addstr(b, "∅");
    else if (v->kind == DSVALUE_INT)
        buf_addf(b, "%" PRId64, v->i);
    else
        buf_add(b, v->s, v->len);
}

/* Every typed row, "line: v1|v2|…\n" (NULL as ∅); the second pass must end at t->rows. */
static char *read_rows(struct ingest_table *t)
{
    struct buf b = BUF_INIT;
    const struct dsvalue *v;
    struct err e = ERR_INIT;
    uint64_t line, n = 0;
    int rc;

    while ((rc = ingest_table_next(t, &v, &line, &e)) == 1) {
        buf_addf(&b, "%" PRIu64 ":", line);
        for (size_t i = 0; i < t->nfields; i++) {
            buf_addstr(&b, i ? "|" : " ");
            render_value(&b, &v[i]);
        }
        buf_addch(&b, '\n');
        n++;
    }
    if (rc)
        fail_msg("next failed: %s", e.msg);
    assert_int_equal(n, t->rows);
    return buf_detach(&b, NULL);
}

/* "id:type,…" for the fields. */
static char *field_types(const struct ingest_table *t)
{
    struct buf b = BUF_INIT;

    for (size_t i = 0; i < t->nfields; i++)
        buf_addf(&b, "%s%s:%s", i ? "," : "", t->fields[i].id, dstype_name(t->fields[i].type));
    return buf_detach(&b, NULL);
}

static void assert_rows(struct ingest_table *t, const char *want)
{
    char *got = read_rows(t);

    assert_string_equal(got, want);
    free(got);
}

static void assert_types(const struct ingest_table *t, const char *want)
{
    char *got = field_types(t);

    assert_string_equal(got, want);
    free(got);
}

/* ---- Grammar ---------------------------------------------------------------------- */

static void test_int8_grammar(void **state)
{
    (void)state;
    assert_int_equal(type1("0"), DSTYPE_INT8);
    assert_int_equal(type1("42"), DSTYPE_INT8);
    assert_int_equal(type1("-17"), DSTYPE_INT8);
    assert_int_equal(type1("9223372036854775807"), DSTYPE_INT8);
    assert_int_equal(type1("-9223372036854775808"), DSTYPE_INT8);
    /* One beyond int64: still an exact number, so numeric. */
    assert_int_equal(type1("9223372036854775808"), DSTYPE_NUMERIC);
    assert_int_equal(type1("-9223372036854775809"), DSTYPE_NUMERIC);
    assert_int_equal(type1("99999999999999999999"), DSTYPE_NUMERIC);
    /* Not the canonical form of an integer. */
    assert_int_equal(type1("+5"), DSTYPE_NUMERIC);
    assert_int_equal(type1("-0"), DSTYPE_NUMERIC);
    assert_int_equal(type1("007"), DSTYPE_TEXT);
    assert_int_equal(type1("00"), DSTYPE_TEXT);
    assert_int_equal(type1("-01"), DSTYPE_TEXT);
    assert_int_equal(type1(" 1"), DSTYPE_TEXT);
    assert_int_equal(type1("1 "), DSTYPE_TEXT);
    assert_int_equal(type1("1,000"), DSTYPE_TEXT);
    assert_int_equal(type1("0x10"), DSTYPE_TEXT);
    assert_int_equal(type1("--1"), DSTYPE_TEXT);
    assert_int_equal(type1("12abc"), DSTYPE_TEXT);

    assert_string_equal(conv(DSTYPE_INT8, "9223372036854775807"), "9223372036854775807");
    assert_string_equal(conv(DSTYPE_INT8, "-9223372036854775808"), "-9223372036854775808");
    assert_string_equal(conv(DSTYPE_INT8, "0"), "0");
    assert_string_equal(conv(DSTYPE_INT8, "-42"), "-42");
    assert_string_equal(conv(DSTYPE_INT8, "9223372036854775808"),
                        "error: \"9223372036854775808\" is not a valid int8");
    assert_string_equal(conv(DSTYPE_INT8, "-9223372036854775809"),
                        "error: \"-9223372036854775809\" is not a valid int8");
    assert_string_equal(conv(DSTYPE_INT8, "+5"), "error: \"+5\" is not a valid int8");
    assert_string_equal(conv(DSTYPE_INT8, "-0"), "error: \"-0\" is not a valid int8");
    assert_string_equal(conv(DSTYPE_INT8, "007"), "error: \"007\" is not a valid int8");
    assert_string_equal(conv(DSTYPE_INT8, "1.0"), "error: \"1.0\" is not a valid int8");

    /* Leading zeros keep a column text, and every zero. */
    assert_int_equal(TYPE_OF("01001", "1001"), DSTYPE_TEXT);
    assert_int_equal(TYPE_OF("110000", "010000"), DSTYPE_TEXT);
    assert_int_equal(TYPE_OF("13800138000", "01012345678"), DSTYPE_TEXT);
    assert_string_equal(conv(DSTYPE_TEXT, "007"), "007");
}

static void test_numeric_grammar(void **state)
{
    char scratch[INGEST_SCRATCH];
    struct ingest_cell c = {INGEST_CELL_TEXT, "315.70", 6};
    struct dsvalue v;

    (void)state;
    assert_int_equal(type1(".097"), DSTYPE_NUMERIC);
    assert_int_equal(type1("-.5"), DSTYPE_NUMERIC);
    assert_int_equal(type1("0.5"), DSTYPE_NUMERIC);
    assert_int_equal(type1("1e5"), DSTYPE_NUMERIC);
    assert_int_equal(type1("1E-3"), DSTYPE_NUMERIC);
    assert_int_equal(type1("-2.5e+10"), DSTYPE_NUMERIC);
    assert_int_equal(type1("0e0"), DSTYPE_NUMERIC);
    assert_int_equal(type1("1e1000"), DSTYPE_NUMERIC);
    assert_int_equal(type1("1e1001"), DSTYPE_TEXT); /* PostgreSQL's exponent bound */
    assert_int_equal(type1("5."), DSTYPE_TEXT);
    assert_int_equal(type1("."), DSTYPE_TEXT);
    assert_int_equal(type1("-"), DSTYPE_TEXT); /* a missing token: only missing → text */
    assert_int_equal(type1("1e"), DSTYPE_TEXT);
    assert_int_equal(type1("1e+"), DSTYPE_TEXT);
    assert_int_equal(type1("007.5"), DSTYPE_TEXT);
    assert_int_equal(type1("00.5"), DSTYPE_TEXT);
    assert_int_equal(type1("1.2.3"), DSTYPE_TEXT);
    assert_int_equal(type1("1,004,401,000"), DSTYPE_TEXT);
    assert_int_equal(type1("inf"), DSTYPE_TEXT);
    assert_int_equal(type1("NaN"), DSTYPE_TEXT);
    assert_int_equal(type1("1234.5678"), DSTYPE_NUMERIC);
    /* Integers and decimals mixed (us-employment.csv): numeric. */
    assert_int_equal(TYPE_OF("4420", "4429.4"), DSTYPE_NUMERIC);
    assert_int_equal(TYPE_OF("0", "-0.17", "1.02"), DSTYPE_NUMERIC);

    /* The text as it came in: never rounded, never re-formatted, not copied. */
    assert_int_equal(ingest_value_convert(DSTYPE_NUMERIC, &c, &v, scratch, NULL), 0);
    assert_int_equal(v.kind, DSVALUE_TEXT);
    assert_ptr_equal(v.s, c.s);
    assert_int_equal(v.len, 6);
    assert_string_equal(conv(DSTYPE_NUMERIC, ".097"), ".097");
    assert_string_equal(conv(DSTYPE_NUMERIC, "4420"), "4420");
    assert_string_equal(conv(DSTYPE_NUMERIC, "+5"), "+5");
    assert_string_equal(conv(DSTYPE_NUMERIC, "1E-3"), "1E-3");
    assert_string_equal(conv(DSTYPE_NUMERIC, "123456789012345678901234567890.000"),
                        "123456789012345678901234567890.000");
    assert_string_equal(conv(DSTYPE_NUMERIC, "1,000"), "error: \"1,000\" is not a valid numeric");
}

static void test_bool_grammar(void **state)
{
    (void)state;
    assert_int_equal(TYPE_OF("true", "FALSE", "True", "fAlSe"), DSTYPE_BOOL);
    assert_int_equal(type1("yes"), DSTYPE_TEXT);
    assert_int_equal(type1("t"), DSTYPE_TEXT);
    assert_int_equal(type1("truth"), DSTYPE_TEXT);
    assert_int_equal(TYPE_OF("true", "1"), DSTYPE_TEXT);
    assert_string_equal(conv(DSTYPE_BOOL, "TRUE"), "true");
    assert_string_equal(conv(DSTYPE_BOOL, "False"), "false");
    assert_string_equal(conv(DSTYPE_BOOL, "1"), "error: \"1\" is not a valid bool");
}

static void test_date_grammar(void **state)
{
    (void)state;
    assert_int_equal(type1("2024-02-29"), DSTYPE_DATE);
    assert_int_equal(type1("2023-02-29"), DSTYPE_TEXT);
    assert_int_equal(type1("2000-02-29"), DSTYPE_DATE);
    assert_int_equal(type1("1900-02-29"), DSTYPE_TEXT);
    assert_int_equal(type1("2012-04-31"), DSTYPE_TEXT);
    assert_int_equal(type1("2012-13-01"), DSTYPE_TEXT);
    assert_int_equal(type1("2012-00-10"), DSTYPE_TEXT);
    assert_int_equal(type1("2012-01-00"), DSTYPE_TEXT);
    assert_int_equal(type1("0000-01-01"), DSTYPE_TEXT);
    assert_int_equal(type1("2012-3-4"), DSTYPE_TEXT);
    assert_int_equal(type1("12-03-04"), DSTYPE_TEXT);
    assert_int_equal(type1("2012-03-04 "), DSTYPE_TEXT);
    assert_int_equal(type1("03/04/2012"), DSTYPE_TEXT);
    assert_int_equal(type1("2012/03/04"), DSTYPE_DATE);
    assert_int_equal(type1("2012/3/4"), DSTYPE_DATE);
    assert_int_equal(type1("2012/3/32"), DSTYPE_TEXT);
    assert_int_equal(type1("2012年3月4日"), DSTYPE_DATE);
    assert_int_equal(type1("2012年03月04日"), DSTYPE_DATE);
    assert_int_equal(type1("2023年2月29日"), DSTYPE_TEXT);
    assert_int_equal(type1("2012年3月4"), DSTYPE_TEXT);
    assert_int_equal(TYPE_OF("2012-03-04", "2012/3/5", "2012年3月6日"), DSTYPE_DATE);

    assert_string_equal(conv(DSTYPE_DATE, "2012年3月4日"), "2012-03-04");
    assert_string_equal(conv(DSTYPE_DATE, "2012/3/4"), "2012-03-04");
    assert_string_equal(conv(DSTYPE_DATE, "2024-02-29"), "2024-02-29");
    assert_string_equal(conv(DSTYPE_DATE, "0001-01-01"), "0001-01-01");
    assert_string_equal(conv(DSTYPE_DATE, "2023-02-29"),
                        "error: \"2023-02-29\" is not a valid date");
    assert_string_equal(conv(DSTYPE_DATE, "2012-03-04T10:00:00"),
                        "error: \"2012-03-04T10:00:00\" is not a valid date");
}

static void test_timestamp_grammar(void **state)
{
    (void)state;
    assert_int_equal(type1("2010-01-01T01:00:00"), DSTYPE_TIMESTAMP);
    assert_int_equal(type1("2010-01-01 01:00"), DSTYPE_TIMESTAMP);
    assert_int_equal(type1("2010-01-01T23:59:59.123456Z"), DSTYPE_TIMESTAMP);
    assert_int_equal(type1("2010-01-01T01:00:00+08:00"), DSTYPE_TIMESTAMP);
    assert_int_equal(type1("2010-01-01T01:00-05:30"), DSTYPE_TIMESTAMP);
    assert_int_equal(type1("2012年3月4日 10:30"), DSTYPE_TIMESTAMP);
    assert_int_equal(type1("2010-01-01T24:00"), DSTYPE_TEXT);
    assert_int_equal(type1("2010-01-01T01:60"), DSTYPE_TEXT);
    assert_int_equal(type1("2010-01-01T01:00:60"), DSTYPE_TEXT);
    assert_int_equal(type1("2010-01-01T1:00"), DSTYPE_TEXT);
    assert_int_equal(type1("2010-01-01T01"), DSTYPE_TEXT);
    assert_int_equal(type1("2010-01-01T01:00:00."), DSTYPE_TEXT);
    assert_int_equal(type1("2010-01-01T01:00:00.1234567890"), DSTYPE_TEXT);
    assert_int_equal(type1("2010-01-01T01:00:00+0800"), DSTYPE_TEXT);
    assert_int_equal(type1("2010-01-01T01:00:00z"), DSTYPE_TEXT);
    assert_int_equal(type1("2010-01-01t01:00:00"), DSTYPE_TEXT);
    assert_int_equal(type1("2010-02-30T01:00:00"), DSTYPE_TEXT);
    /* Dates and timestamps in one column: timestamp. */
    assert_int_equal(TYPE_OF("2010-01-01", "2010-01-01T06:00:00"), DSTYPE_TIMESTAMP);

    assert_string_equal(conv(DSTYPE_TIMESTAMP, "2010-01-01T01:00:00"), "2010-01-01T01:00:00");
    assert_string_equal(conv(DSTYPE_TIMESTAMP, "2010-01-01 01:00"), "2010-01-01T01:00:00");
    assert_string_equal(conv(DSTYPE_TIMESTAMP, "2010-01-01"), "2010-01-01T00:00:00");
    assert_string_equal(conv(DSTYPE_TIMESTAMP, "2012年3月4日 10:30:05.5+08:00"),
                        "2012-03-04T10:30:05.5+08:00");
    assert_string_equal(conv(DSTYPE_TIMESTAMP, "2012/3/4 10:30:05.123456789Z"),
                        "2012-03-04T10:30:05.123456789Z");
    assert_string_equal(conv(DSTYPE_TIMESTAMP, "2010-01-01T25:00"),
                        "error: \"2010-01-01T25:00\" is not a valid timestamp");
}

static void test_missing_tokens(void **state)
{
    static const char *const tokens[] = {"", "NA", "N/A", "n/a", "null", "NULL", "-", "—"};

    (void)state;
    for (size_t i = 0; i < ARRAY_SIZE(tokens); i++) {
        struct ingest_cell c = {INGEST_CELL_TEXT, tokens[i], strlen(tokens[i])};

        assert_true(ingest_is_missing(&c));
        /* They do not count against a type … */
        assert_int_equal(TYPE_OF("1", tokens[i], "2"), DSTYPE_INT8);
        assert_int_equal(TYPE_OF("2012-03-04", tokens[i]), DSTYPE_DATE);
        /* … are NULL in typed columns … */
        assert_string_equal(conv(DSTYPE_INT8, tokens[i]), "<null>");
        assert_string_equal(conv(DSTYPE_NUMERIC, tokens[i]), "<null>");
        assert_string_equal(conv(DSTYPE_DATE, tokens[i]), "<null>");
        assert_string_equal(conv(DSTYPE_BOOL, tokens[i]), "<null>");
        /* … and kept in text ones, except "". */
        assert_string_equal(conv(DSTYPE_TEXT, tokens[i]), tokens[i][0] ? tokens[i] : "<null>");
    }
    /* Not tokens: real values. */
    static const char *const values[] = {"None", "na", "Null", "nan", "NaN", "–", "--", "N/a"};
    for (size_t i = 0; i < ARRAY_SIZE(values); i++) {
        struct ingest_cell c = {INGEST_CELL_TEXT, values[i], strlen(values[i])};

        assert_false(ingest_is_missing(&c));
        assert_int_equal(TYPE_OF("1", values[i]), DSTYPE_TEXT);
    }
    /* A column of only missing values is text. */
    assert_int_equal(TYPE_OF("NA", "", "-"), DSTYPE_TEXT);
    assert_int_equal(TYPE_OF(""), DSTYPE_TEXT);
    /* A NUMBER cell is never a token. */
    struct ingest_cell n = {INGEST_CELL_NUMBER, "1", 1};
    assert_false(ingest_is_missing(&n));
    struct ingest_cell e = {INGEST_CELL_EMPTY, "", 0};
    assert_true(ingest_is_missing(&e));
}

static void test_cell_kinds(void **state)
{
    (void)state;
    {
        enum ingest_cell_kind k[] = {INGEST_CELL_NUMBER, INGEST_CELL_NUMBER};
        assert_int_equal(type_of_kinds(k, (const char *const[]){"1.0", "2", NULL}), DSTYPE_NUMERIC);
        assert_int_equal(type_of_kinds(k, (const char *const[]){"110101199001011234", "2", NULL}),
                         DSTYPE_INT8);
        assert_int_equal(type_of_kinds(k, (const char *const[]){"1.10101199001011E+17", "2", NULL}),
                         DSTYPE_NUMERIC);
    }
    {
        enum ingest_cell_kind k[] = {INGEST_CELL_DATE, INGEST_CELL_TIMESTAMP, INGEST_CELL_TEXT};
        assert_int_equal(type_of_kinds(k, (const char *const[]){"2012-03-04", "2012-03-04T10:00:00",
                                                                "2012-03-05", NULL}),
                         DSTYPE_TIMESTAMP);
        assert_int_equal(type_of_kinds(k, (const char *const[]){"2012-03-04", "2012-03-04T10:00:00",
                                                                "soon", NULL}),
                         DSTYPE_TEXT);
    }
    {
        enum ingest_cell_kind k[] = {INGEST_CELL_BOOL, INGEST_CELL_BOOL, INGEST_CELL_TEXT};
        assert_int_equal(type_of_kinds(k, (const char *const[]){"true", "false", "NA", NULL}),
                         DSTYPE_BOOL);
    }
    {
        enum ingest_cell_kind k[] = {INGEST_CELL_JSON, INGEST_CELL_JSON, INGEST_CELL_TEXT};
        assert_int_equal(type_of_kinds(k, (const char *const[]){"[1,2]", "{\"a\":1}", "", NULL}),
                         DSTYPE_JSON);
        assert_int_equal(type_of_kinds(k, (const char *const[]){"[1,2]", "{\"a\":1}", "x", NULL}),
                         DSTYPE_TEXT);
        /* JSON-looking text is text: only a JSON reader's nested values are json. */
        assert_int_equal(TYPE_OF("[1,2]", "{}"), DSTYPE_TEXT);
    }
    /* A NUMBER cell and text that is not a number: text. */
    {
        enum ingest_cell_kind k[] = {INGEST_CELL_NUMBER, INGEST_CELL_TEXT};
        assert_int_equal(type_of_kinds(k, (const char *const[]){"1", "abc", NULL}), DSTYPE_TEXT);
    }
    assert_string_equal(conv_kind(DSTYPE_JSON, INGEST_CELL_JSON, "[1,2]"), "[1,2]");
    assert_string_equal(conv_kind(DSTYPE_JSON, INGEST_CELL_TEXT, "{\"a\": [1]}"), "{\"a\": [1]}");
    assert_string_equal(conv_kind(DSTYPE_JSON, INGEST_CELL_TEXT, "{oops"),
                        "error: \"{oops\" is not a valid json");
    assert_string_equal(conv_kind(DSTYPE_TIMESTAMP, INGEST_CELL_DATE, "2012-03-04"),
                        "2012-03-04T00:00:00");
    assert_string_equal(conv_kind(DSTYPE_TEXT, INGEST_CELL_NUMBER, "4429.4"), "4429.4");
    assert_string_equal(conv_kind(DSTYPE_INT8, INGEST_CELL_NUMBER, "2010"), "2010");
    assert_string_equal(conv_kind(DSTYPE_INT8, INGEST_CELL_BOOL, "true"),
                        "error: \"true\" is not a valid int8");
    assert_string_equal(conv_kind(DSTYPE_TEXT, INGEST_CELL_EMPTY, ""), "<null>");
}

static enum dstype type_field(const char *id, const char *const *vals,
                              const enum ingest_cell_kind *kinds)
{
    struct ingest_infer inf;

    ingest_infer_init(&inf);
    for (size_t i = 0; vals[i]; i++) {
        struct ingest_cell c = {kinds ? kinds[i] : INGEST_CELL_TEXT, vals[i], strlen(vals[i])};

        ingest_infer_cell(&inf, &c);
    }
    return ingest_infer_type_field(&inf, id);
}

#define FIELD_TYPE(id, ...) type_field(id, (const char *const[]){__VA_ARGS__, NULL}, NULL)

static void test_code_columns(void **state)
{
    (void)state;
    /* Fixed-width digits under a code's name: identifiers, text. */
    assert_int_equal(FIELD_TYPE("code", "110101", "110102", "NA"), DSTYPE_TEXT);
    assert_int_equal(FIELD_TYPE("city_code", "1101", "1201"), DSTYPE_TEXT);
    assert_int_equal(FIELD_TYPE("Province Code", "11", "12"), DSTYPE_TEXT);
    assert_int_equal(FIELD_TYPE("countyId", "53073", "53000"), DSTYPE_TEXT);
    assert_int_equal(FIELD_TYPE("ID", "10", "11"), DSTYPE_TEXT);
    assert_int_equal(FIELD_TYPE("行政区划代码", "110101", "110102"), DSTYPE_TEXT);
    assert_int_equal(FIELD_TYPE("zip", "94110", "10001"), DSTYPE_TEXT);
    /* Not codes: other names, varying widths, one digit, negatives, a numeric column. */
    assert_int_equal(FIELD_TYPE("year", "1880", "1881"), DSTYPE_INT8);
    assert_int_equal(FIELD_TYPE("paid", "10", "11"), DSTYPE_INT8);
    assert_int_equal(FIELD_TYPE("codex", "10", "11"), DSTYPE_INT8);
    assert_int_equal(FIELD_TYPE("id", "1", "2", "10"), DSTYPE_INT8);
    assert_int_equal(FIELD_TYPE("id", "1", "2"), DSTYPE_INT8);
    assert_int_equal(FIELD_TYPE("id", "-10", "11"), DSTYPE_INT8);
    assert_int_equal(FIELD_TYPE("code", "10", "1.5"), DSTYPE_NUMERIC);
    /* A publisher who stored numbers (JSON, a workbook) meant numbers. */
    {
        enum ingest_cell_kind k[] = {INGEST_CELL_NUMBER, INGEST_CELL_NUMBER};
        assert_int_equal(
                type_field("Account code", (const char *const[]){"800415", "800416", NULL}, k),
                DSTYPE_INT8);
    }
}

/* ---- Header ids ------------------------------------------------------------------- */

static void assert_ids(const char *const *labels, size_t n, const char *const *want)
{
    char **ids = xcalloc(n, sizeof(*ids));

    ingest_header_ids(labels, n, ids);
    for (size_t i = 0; i < n; i++) {
        assert_string_equal(ids[i], want[i]);
        assert_true(strlen(ids[i]) <= LIMIT_INGEST_FIELD_ID);
        assert_true(ids[i][0] && ids[i][0] != '_');
        free(ids[i]);
    }
    free(ids);
}

#define IDS(labels, ...) assert_ids(labels, ARRAY_SIZE(labels), (const char *const[]){__VA_ARGS__})

static void test_header_ids(void **state)
{
    /* 100 bytes: carbon_emissions.csv's second header. */
    static const char carbon[] = "Total carbon emissions from fossil fuel consumption and "
                                 "cement production (million metric tons of C)";
    /* 31 three-byte characters (93 bytes): cut to 21 characters (63 bytes). */
    static const char zh[] = "中华人民共和国国家统计局统计用区划代码和城乡划分代码年度数据表";
    (void)state;
    {
        const char *l[] = {"  name ", "name", "Name", "", NULL, "  ", "name"};
        IDS(l, "name", "name_2", "Name_3", "column_4", "column_5", "column_6", "name_4");
    }
    {
        /* A repeat's suffix does not take a later column's own name. */
        const char *l[] = {"a", "a", "a_2", "column_5", ""};
        IDS(l, "a", "a_3", "a_2", "column_5", "column_5_2");
    }
    {
        const char *l[] = {"_id",         "__full_text",
                           "_",           "_ x",
                           "say \"hi\"",  "tab\there",
                           "line\nbreak", "del\x7f",
                           "c1\xc2\x85",  "\xe3\x80\x80全角\xe3\x80\x80"};
        IDS(l, "id", "full_text", "column_3", "x", "say _hi_", "tab_here", "line_break", "del_",
            "c1_", "全角");
    }
    {
        const char *l[] = {"\"quoted\"", "\x01start", "Year"};
        IDS(l, "quoted_", "start", "Year");
    }
    {
        /* Bytes that are not UTF-8 (a truncated sequence, a surrogate) become '_'. */
        const char *l[] = {"a\xc4\"b", "\xff\xfe", "\xed\xa0\x80x", "\xe4\xb8"};
        IDS(l, "a__b", "column_2", "x", "column_4");
    }
    {
        const char *l[] = {"Year", carbon};
        assert_int_equal(strlen(carbon), 100);
        IDS(l, "Year", "Total carbon emissions from fossil fuel consumption and cement");
    }
    {
        /* Cut at a character boundary: 21 characters, 63 bytes. */
        const char *l[] = {zh, zh, zh};
        char cut[64], cut2[64], cut3[64];

        memcpy(cut, zh, 63);
        cut[63] = '\0';
        /* "_2" needs 2 bytes: 20 characters (60 bytes) and the suffix. */
        xsnprintf(cut2, sizeof(cut2), "%.60s_2", zh);
        xsnprintf(cut3, sizeof(cut3), "%.60s_3", zh);
        IDS(l, cut, cut2, cut3);
    }
    {
        /* Repeats of a 63-byte ASCII name: the suffixed ones are cut to fit too. */
        char longname[80];
        char want2[64], want10[64];
        const char *l[10];

        memset(longname, 'x', 70);
        longname[70] = '\0';
        for (size_t i = 0; i < 10; i++)
            l[i] = longname;
        xsnprintf(want2, sizeof(want2), "%.61s_2", longname);
        xsnprintf(want10, sizeof(want10), "%.60s_10", longname);
        char **ids = xcalloc(10, sizeof(*ids));
        ingest_header_ids(l, 10, ids);
        assert_int_equal(strlen(ids[0]), 63);
        assert_string_equal(ids[1], want2);
        assert_string_equal(ids[9], want10);
        for (size_t i = 0; i < 10; i++)
            free(ids[i]);
        free(ids);
    }
    {
        /* Many repeats stay fast and distinct. */
        const size_t n = 1000;
        const char **l = xcalloc(n, sizeof(*l));
        char **ids = xcalloc(n, sizeof(*ids));

        for (size_t i = 0; i < n; i++)
            l[i] = "v";
        ingest_header_ids(l, n, ids);
        assert_string_equal(ids[0], "v");
        assert_string_equal(ids[999], "v_1000");
        for (size_t i = 0; i < n; i++)
            free(ids[i]);
        free(ids);
        free(l);
    }
}

/* ---- Tables ----------------------------------------------------------------------- */

static void test_table_basic(void **state)
{
    struct ingest_table *t;
    struct err e = ERR_INIT;

    (void)state;
    t = open_csv("id,name,score,when,ok\n"
                 "1,Ann,1.5,2024-02-29,true\n"
                 "2,NA,NA,NA,NA\n"
                 "3,,,,\n"
                 "4,None,2,2012/3/4,FALSE\n");
    assert_int_equal(t->rows, 4);
    assert_int_equal(t->header_line, 1);
    assert_int_equal(t->skipped, 0);
    assert_types(t, "id:int8,name:text,score:numeric,when:date,ok:bool");
    assert_int_equal(t->fields[0].nonnull, 4);
    assert_int_equal(t->fields[1].nonnull, 3); /* "NA" and "None" are names */
    assert_int_equal(t->fields[2].nonnull, 2);
    assert_string_equal(t->fields[1].label, "name");
    assert_rows(t, "2: 1|Ann|1.5|2024-02-29|true\n"
                   "3: 2|NA|∅|∅|∅\n"
                   "4: 3|∅|∅|∅|∅\n"
                   "5: 4|None|2|2012-03-04|false\n");
    /* A rewind gives the same rows again. */
    assert_int_equal(ingest_table_rewind(t, &e), 0);
    assert_rows(t, "2: 1|Ann|1.5|2024-02-29|true\n"
                   "3: 2|NA|∅|∅|∅\n"
                   "4: 3|∅|∅|∅|∅\n"
                   "5: 4|None|2|2012-03-04|false\n");
    ingest_table_free(t);
}

static void test_table_header_only_and_blank_rows(void **state)
{
    struct ingest_table *t;
    struct err e = ERR_INIT;
    struct ingest_pos pos;

    (void)state;
    t = open_csv("a,b\n");
    assert_int_equal(t->rows, 0);
    assert_int_equal(t->nfields, 2);
    assert_types(t, "a:text,b:text");
    assert_rows(t, "");
    ingest_table_free(t);

    /* Blank rows inside the data are rows of NULLs; at the end they are dropped. */
    t = open_csv("a,b\n1,x\n,\n\n2,y\n,\n\n");
    assert_int_equal(t->rows, 4);
    assert_types(t, "a:int8,b:text");
    assert_int_equal(t->ragged, 0);
    assert_rows(t, "2: 1|x\n3: ∅|∅\n4: ∅|∅\n5: 2|y\n");
    ingest_table_free(t);

    /* Only blank rows under the header: 0 rows. */
    t = open_csv("a,b\n,\n\n");
    assert_int_equal(t->rows, 0);
    assert_rows(t, "");
    ingest_table_free(t);

    /* An empty file is an error (the source says so). */
    assert_int_equal(open_csv_error("", false, &e, &pos), -ERR_VALIDATION);
    assert_string_equal(e.msg, "file is empty");
}

static void test_table_ragged(void **state)
{
    static const char csv[] = "a,b,c\n1,2,3\n4,5\n6,7,8,9\n10,11,12\n";
    struct ingest_options o = INGEST_OPTIONS_INIT;
    struct ingest_table *t;
    struct err e = ERR_INIT;
    struct ingest_pos pos;

    (void)state;
    assert_int_equal(open_csv_error(csv, false, &e, &pos), -ERR_VALIDATION);
    assert_string_equal(e.msg, "line 3: 2 fields, the header has 3");
    assert_string_equal(e.field, "file");
    assert_int_equal(pos.line, 3);
    assert_int_equal(pos.column, 3);

    err_clear(&e);
    assert_int_equal(open_csv_error("a,b\n1,2\n3,4,5\n", false, &e, &pos), -ERR_VALIDATION);
    assert_string_equal(e.msg, "line 3: 3 fields, the header has 2");
    assert_int_equal(pos.line, 3);
    assert_int_equal(pos.column, 3);

    err_clear(&e);
    assert_int_equal(open_csv_error("a,b\n1,2\n3\n", false, &e, &pos), -ERR_VALIDATION);
    assert_string_equal(e.msg, "line 3: 1 field, the header has 2");

    o.format = INGEST_FORMAT_CSV;
    o.lenient = true;
    t = open_csv_opts(csv, &o);
    assert_int_equal(t->rows, 4);
    assert_int_equal(t->ragged, 2);
    assert_int_equal(t->first_ragged_line, 3);
    assert_types(t, "a:int8,b:int8,c:int8");
    assert_rows(t, "2: 1|2|3\n3: 4|5|∅\n4: 6|7|8\n5: 10|11|12\n");
    ingest_table_free(t);
}

static void test_table_title_rows(void **state)
{
    struct ingest_options o = INGEST_OPTIONS_INIT;
    struct ingest_table *t;
    struct err e = ERR_INIT;
    struct ingest_pos pos;

    (void)state;
    o.format = INGEST_FORMAT_CSV;
    /* One cell of text above the table, and a blank row. */
    t = open_csv("Population by county (2020)\n\ncounty,pop\nA,1\nB,2\n");
    assert_int_equal(t->skipped, 2);
    assert_int_equal(t->header_line, 3);
    assert_types(t, "county:text,pop:int8");
    assert_int_equal(t->rows, 2);
    ingest_table_free(t);

    /* A title padded to the table's width, and a notes row with far fewer cells. */
    t = open_csv("Table 1,,,,,\nSource: NBS,(units),,,,\nc1,c2,c3,c4,c5,c6\n1,2,3,4,5,6\n");
    assert_int_equal(t->skipped, 2);
    assert_types(t, "c1:int8,c2:int8,c3:int8,c4:int8,c5:int8,c6:int8");
    ingest_table_free(t);

    /* A one-column file keeps its header. */
    t = open_csv("name\nAnn\nBob\n");
    assert_int_equal(t->skipped, 0);
    assert_int_equal(t->rows, 2);
    ingest_table_free(t);

    /* A header with half its names empty is no title (2·2 is not below 4). */
    t = open_csv("a,b,,\n1,2,3,4\n");
    assert_int_equal(t->skipped, 0);
    assert_types(t, "a:int8,b:int8,column_3:int8,column_4:int8");
    ingest_table_free(t);

    /* A single row is the header, even with one cell. */
    t = open_csv("Title only\n");
    assert_int_equal(t->skipped, 0);
    assert_int_equal(t->rows, 0);
    ingest_table_free(t);

    /* At most LIMIT_INGEST_TITLE_ROWS rows are skipped: a title and 9 blank rows … */
    {
        struct buf b = BUF_INIT;

        buf_addstr(&b, "Title,,\n");
        for (unsigned i = 1; i < LIMIT_INGEST_TITLE_ROWS; i++)
            buf_addstr(&b, ",,\n");
        buf_addstr(&b, "a,b,c\n1,2,3\n");
        t = open_csv(b.buf);
        assert_int_equal(t->skipped, LIMIT_INGEST_TITLE_ROWS);
        assert_int_equal(t->header_line, LIMIT_INGEST_TITLE_ROWS + 1);
        assert_types(t, "a:int8,b:int8,c:int8");
        ingest_table_free(t);
        /* … but with one blank row more, that row is the header. */
        buf_reset(&b);
        buf_addstr(&b, "Title,,\n");
        for (unsigned i = 0; i < LIMIT_INGEST_TITLE_ROWS; i++)
            buf_addstr(&b, ",,\n");
        buf_addstr(&b, "a,b,c\n1,2,3\n");
        t = open_csv(b.buf);
        assert_int_equal(t->skipped, LIMIT_INGEST_TITLE_ROWS);
        assert_types(t, "column_1:text,column_2:text,column_3:text");
        assert_int_equal(t->rows, 2);
        ingest_table_free(t);
        buf_release(&b);
    }

    /* skip_rows given: exactly that many, whatever they hold. */
    o.skip_rows = 0;
    o.lenient = true;
    t = open_csv_opts("Title\na,b\n1,2\n", &o);
    assert_int_equal(t->skipped, 0);
    assert_string_equal(t->fields[0].id, "Title");
    assert_int_equal(t->ragged, 2);
    ingest_table_free(t);
    o.skip_rows = 1;
    o.lenient = false;
    t = open_csv_opts("Title\na,b\n1,2\n", &o);
    assert_int_equal(t->skipped, 1);
    assert_types(t, "a:int8,b:int8");
    assert_rows(t, "3: 1|2\n");
    ingest_table_free(t);

    /* skip_rows past the end of the file. */
    o.skip_rows = 3;
    {
        char *p = write_tmp("t.csv", "x\ny\n", 4);
        t = NULL;
        assert_int_equal(ingest_table_open_pos(&t, p, "t.csv", &o, &pos, &e), -ERR_VALIDATION);
        assert_null(t);
        assert_string_equal(e.field, "skip_rows");
        assert_string_equal(e.msg, "no header row: skip_rows is 3 and the file has 2 rows");
        free(p);
    }
}

static void test_table_override(void **state)
{
    struct ingest_table *t;
    const struct dsvalue *v;
    struct err e = ERR_INIT;
    struct ingest_pos pos;
    uint64_t line;

    (void)state;
    t = open_csv("when,code,n\n2012-03-04,01,1\n2012-03-05 10:00,x1,2\n");
    assert_types(t, "when:timestamp,code:text,n:int8");
    /* Re-typed: the timestamps as dates cannot hold the second row. */
    ingest_table_set_type(t, 0, DSTYPE_DATE);
    assert_int_equal(ingest_table_next(t, &v, &line, &e), 1);
    assert_int_equal(line, 2);
    assert_int_equal(v[0].kind, DSVALUE_TEXT);
    assert_int_equal(ingest_table_next(t, &v, &line, &e), -ERR_VALIDATION);
    assert_string_equal(e.msg, "line 3, column 1 (\"when\"): \"2012-03-05 10:00\" is not a valid "
                               "date");
    assert_string_equal(e.field, "when");
    ingest_table_pos(t, &pos);
    assert_int_equal(pos.line, 3);
    assert_int_equal(pos.column, 1);

    /* Text as int8: "01" is not a canonical integer. */
    err_clear(&e);
    assert_int_equal(ingest_table_rewind(t, &e), 0);
    ingest_table_set_type(t, 0, DSTYPE_TEXT);
    ingest_table_set_type(t, 1, DSTYPE_INT8);
    assert_int_equal(ingest_table_next(t, &v, &line, &e), -ERR_VALIDATION);
    assert_string_equal(e.msg, "line 2, column 2 (\"code\"): \"01\" is not a valid int8");

    /* Widening always fits: int8 as numeric and text. */
    err_clear(&e);
    assert_int_equal(ingest_table_rewind(t, &e), 0);
    ingest_table_set_type(t, 1, DSTYPE_TEXT);
    ingest_table_set_type(t, 2, DSTYPE_NUMERIC);
    assert_rows(t, "2: 2012-03-04|01|1\n3: 2012-03-05 10:00|x1|2\n");
    ingest_table_free(t);

    /* nonnull follows the type: a text column keeps "NA", an int8 one does not. */
    t = open_csv("a\nNA\n5\n");
    assert_types(t, "a:int8");
    assert_int_equal(t->fields[0].nonnull, 1);
    ingest_table_set_type(t, 0, DSTYPE_TEXT);
    assert_int_equal(t->fields[0].nonnull, 2);
    assert_rows(t, "2: NA\n3: 5\n");
    ingest_table_free(t);
}

static void test_table_header_normalised(void **state)
{
    struct ingest_table *t;

    (void)state;
    t = open_csv(" a ,a,,_id,\"x\"\"y\"\n1,2,3,4,5\n");
    assert_types(t, "a:int8,a_2:int8,column_3:int8,id:int8,x_y:int8");
    assert_string_equal(t->fields[0].label, " a ");
    assert_string_equal(t->fields[2].label, "");
    assert_string_equal(t->fields[3].label, "_id");
    assert_string_equal(t->fields[4].label, "x\"y");
    ingest_table_free(t);
}

static void test_table_limit_fields(void **state)
{
    struct buf b = BUF_INIT;
    struct err e = ERR_INIT;
    struct ingest_pos pos;

    (void)state;
    for (unsigned i = 0; i <= LIMIT_DATASTORE_FIELDS; i++)
        buf_addf(&b, "%sc%u", i ? "," : "", i);
    buf_addch(&b, '\n');
    assert_int_equal(open_csv_error(b.buf, false, &e, &pos), -ERR_TOO_LARGE);
    assert_string_equal(e.msg, "line 1: the header has 1001 fields, more than 1000");
    buf_release(&b);

    /* Exactly the limit is fine. */
    for (unsigned i = 0; i < LIMIT_DATASTORE_FIELDS; i++)
        buf_addf(&b, "%sc%u", i ? "," : "", i);
    buf_addch(&b, '\n');
    struct ingest_table *t = open_csv(b.buf);
    assert_int_equal(t->nfields, LIMIT_DATASTORE_FIELDS);
    ingest_table_free(t);
    buf_release(&b);
}

/* ---- Real files (examples/catalog) ------------------------------------------------ */

static struct ingest_table *open_example(const char *dir, const char *file,
                                         const struct ingest_options *o)
{
    const char *src = getenv("KAIFANG_SOURCE_DIR");
    char *p = xstrfmt("%s/examples/catalog/%s/%s", src ? src : ".", dir, file);
    struct ingest_options defaults = INGEST_OPTIONS_INIT;
    struct ingest_table *t = NULL;
    struct err e = ERR_INIT;

    int rc = ingest_table_open(&t, p, file, o ? o : &defaults, &e);

    free(p);
    if (rc)
        fail_msg("%s: %s", file, e.msg);
    return t;
}

static size_t field_index(const struct ingest_table *t, const char *id)
{
    for (size_t i = 0; i < t->nfields; i++)
        if (!strcmp(t->fields[i].id, id))
            return i;
    fail_msg("no field \"%s\"", id);
    return 0;
}

static enum dstype field_type(const struct ingest_table *t, const char *id)
{
    return t->fields[field_index(t, id)].type;
}

/* How many rows hold want (rendered as read_rows does) in field id; every row is read. */
static uint64_t count_value(struct ingest_table *t, const char *id, const char *want)
{
    size_t i = field_index(t, id);
    struct buf b = BUF_INIT;
    const struct dsvalue *v;
    struct err e = ERR_INIT;
    uint64_t n = 0, rows = 0;
    int rc;

    assert_int_equal(ingest_table_rewind(t, &e), 0);
    while ((rc = ingest_table_next(t, &v, NULL, &e)) == 1) {
        buf_reset(&b);
        render_value(&b, &v[i]);
        n += !strcmp(b.buf, want);
        rows++;
    }
    if (rc)
        fail_msg("next failed: %s", e.msg);
    assert_int_equal(rows, t->rows);
    buf_release(&b);
    return n;
}

static void test_real_counties(void **state)
{
    struct ingest_table *t =
            open_example("cn-nbs-administrative-divisions-2023", "counties.csv", NULL);

    (void)state;
    assert_int_equal(t->rows, 2978);
    assert_types(t, "code:text,name:text,city_code:text,city_name:text,province_code:text,"
                    "province_name:text");
    assert_int_equal(count_value(t, "code", "110101"), 1);
    assert_int_equal(count_value(t, "city_code", "1101"), 16);
    ingest_table_free(t);

    t = open_example("cn-nbs-administrative-divisions-2023", "provinces.csv", NULL);
    assert_int_equal(t->rows, 31);
    assert_types(t, "code:text,name:text");
    ingest_table_free(t);
}

/* The same counties in GB18030, the towns (9-digit codes), and other quirks of the
 * data README: thousands separators stay text, a "year" of full dates is a date. */
static void test_real_more(void **state)
{
    struct ingest_table *t =
            open_example("cn-nbs-administrative-divisions-2023", "counties.gb18030.csv", NULL);

    (void)state;
    assert_int_equal(t->rows, 2978);
    assert_types(t, "code:text,name:text,city_code:text,city_name:text,province_code:text,"
                    "province_name:text");
    assert_int_equal(count_value(t, "name", "东城区"), 1);
    ingest_table_free(t);

    t = open_example("cn-nbs-administrative-divisions-2023", "towns.csv", NULL);
    assert_int_equal(t->rows, 41352);
    assert_types(t, "code:text,name:text,county_code:text,county_name:text,city_code:text,"
                    "city_name:text,province_code:text,province_name:text");
    assert_int_equal(count_value(t, "county_code", "110101"), 17);
    ingest_table_free(t);

    t = open_example("ssa-period-life-table-2015", "ssa-death-probability.csv", NULL);
    assert_int_equal(t->rows, 240);
    assert_types(t, "Age:int8,Sex:text,DeathProb:numeric,NumberOfLives:text,LifeExp:numeric");
    assert_int_equal(count_value(t, "NumberOfLives", "100,000"), 2);
    ingest_table_free(t);

    t = open_example("eia-iowa-electricity-generation", "iowa-electricity.csv", NULL);
    assert_int_equal(t->rows, 51);
    assert_types(t, "year:date,source:text,net_generation:int8");
    ingest_table_free(t);

    t = open_example("iso-3166-2-subdivisions", "iso_3166-2.json", NULL);
    assert_int_equal(t->rows, 5127);
    assert_types(t, "code:text,name:text,type:text,parent:text");
    assert_int_equal(t->fields[3].nonnull, 1412);
    assert_int_equal(count_value(t, "parent", "01"), 18);
    ingest_table_free(t);
}

static void test_real_species(void **state)
{
    struct ingest_table *t =
            open_example("usgs-gap-species-habitat-by-county", "species.csv", NULL);

    (void)state;
    assert_int_equal(t->rows, 12360);
    assert_int_equal(field_type(t, "county_id"), DSTYPE_TEXT);
    assert_int_equal(field_type(t, "habitat_yearround_pct"), DSTYPE_NUMERIC);
    assert_true(count_value(t, "county_id", "01001") > 0);
    assert_int_equal(count_value(t, "county_id", "1001"), 0);
    ingest_table_free(t);
}

static void test_real_unemployment(void **state)
{
    struct ingest_table *t = open_example("bls-county-unemployment-2009", "unemployment.tsv", NULL);

    (void)state;
    assert_int_equal(t->rows, 3218);
    /* FIPS codes written as integers of 4 and 5 digits: int8 (not fixed width). */
    assert_types(t, "id:int8,rate:numeric");
    assert_true(count_value(t, "rate", ".097") > 0);
    assert_int_equal(count_value(t, "rate", "0.097"), 0);
    assert_int_equal(count_value(t, "id", "1001"), 1);
    ingest_table_free(t);
}

static void test_real_airports(void **state)
{
    struct ingest_table *t = open_example("faa-us-airports", "airports.csv", NULL);

    (void)state;
    assert_int_equal(t->rows, 3376);
    assert_types(t, "iata:text,name:text,city:text,state:text,country:text,latitude:numeric,"
                    "longitude:numeric");
    assert_int_equal(count_value(t, "iata", "0E0"), 1);
    assert_int_equal(count_value(t, "iata", "0E8"), 1);
    assert_int_equal(count_value(t, "city", "NA"), 12);
    assert_int_equal(count_value(t, "state", "NA"), 12);
    ingest_table_free(t);
}

static void test_real_birdstrikes(void **state)
{
    struct ingest_table *t = open_example("faa-wildlife-strikes", "birdstrikes.csv", NULL);
    size_t speed;

    (void)state;
    assert_int_equal(t->rows, 10000);
    assert_int_equal(t->nfields, 14);
    speed = field_index(t, "Speed IAS in knots");
    assert_int_equal(t->fields[speed].type, DSTYPE_INT8);
    assert_int_equal(t->fields[speed].nonnull, 10000 - 2836);
    assert_int_equal(count_value(t, "Speed IAS in knots", "∅"), 2836);
    assert_int_equal(field_type(t, "Effect Amount of damage"), DSTYPE_TEXT);
    assert_int_equal(count_value(t, "Effect Amount of damage", "None"), 8939);
    assert_int_equal(field_type(t, "Flight Date"), DSTYPE_DATE);
    assert_int_equal(field_type(t, "Cost Total $"), DSTYPE_INT8);
    ingest_table_free(t);
}

static void test_real_weather(void **state)
{
    struct ingest_table *t =
            open_example("noaa-seattle-daily-weather", "seattle-weather.csv", NULL);

    (void)state;
    assert_int_equal(t->rows, 1461);
    assert_types(t, "date:date,precipitation:numeric,temp_max:numeric,temp_min:numeric,"
                    "wind:numeric,weather:text");
    ingest_table_free(t);

    t = open_example("noaa-seattle-hourly-climate-normals", "seattle-weather-hourly-normals.csv",
                     NULL);
    assert_int_equal(t->rows, 8759);
    assert_types(t, "date:timestamp,pressure:numeric,temperature:numeric,wind:numeric");
    assert_int_equal(count_value(t, "date", "2010-01-01T01:00:00"), 1);
    ingest_table_free(t);
}

static void test_real_numbers(void **state)
{
    struct ingest_table *t =
            open_example("scripps-mauna-loa-co2-monthly", "co2-concentration.csv", NULL);
    static const char *const mixed[] = {"transportation_and_warehousing", "wholesale_trade",
                                        "retail_trade", "utilities"};

    (void)state;
    assert_int_equal(t->rows, 741);
    assert_types(t, "Date:date,CO2:numeric,adjusted CO2:numeric");
    assert_int_equal(count_value(t, "CO2", "315.70"), 1);
    ingest_table_free(t);

    t = open_example("bls-ces-employment-by-supersector", "us-employment.csv", NULL);
    assert_int_equal(t->rows, 120);
    assert_int_equal(t->nfields, 24);
    assert_int_equal(field_type(t, "month"), DSTYPE_DATE);
    for (size_t i = 0; i < ARRAY_SIZE(mixed); i++)
        assert_int_equal(field_type(t, mixed[i]), DSTYPE_NUMERIC);
    assert_int_equal(count_value(t, "transportation_and_warehousing", "4420"), 1);
    assert_int_equal(count_value(t, "transportation_and_warehousing", "4429.4"), 1);
    assert_int_equal(field_type(t, "nonfarm_change"), DSTYPE_INT8);
    ingest_table_free(t);

    t = open_example("nasa-giss-global-temperature-index", "global-temp.csv", NULL);
    assert_int_equal(t->rows, 144);
    assert_types(t, "year:int8,temp:numeric");
    assert_int_equal(count_value(t, "temp", "0"), 1);
    ingest_table_free(t);
}

static void test_real_carbon(void **state)
{
    struct ingest_table *t =
            open_example("cdiac-global-fossil-carbon-emissions", "carbon_emissions.csv", NULL);

    (void)state;
    assert_int_equal(t->rows, 264);
    assert_int_equal(t->nfields, 2);
    assert_string_equal(t->fields[1].id,
                        "Total carbon emissions from fossil fuel consumption and cement");
    assert_true(strlen(t->fields[1].id) <= LIMIT_INGEST_FIELD_ID);
    assert_string_equal(t->fields[1].label, "Total carbon emissions from fossil fuel consumption "
                                            "and cement production (million metric tons of C)");
    assert_types(t, "Year:int8,Total carbon emissions from fossil fuel consumption and "
                    "cement:int8");
    ingest_table_free(t);
}

static void test_real_json(void **state)
{
    struct ingest_table *t = open_example("iso-3166-1-countries", "iso_3166-1.json", NULL);

    (void)state;
    assert_int_equal(t->rows, 249);
    assert_int_equal(field_type(t, "alpha_2"), DSTYPE_TEXT);
    assert_int_equal(field_type(t, "numeric"), DSTYPE_TEXT); /* "004" */
    assert_int_equal(count_value(t, "alpha_2", "NA"), 1);
    assert_int_equal(count_value(t, "numeric", "004"), 1);
    ingest_table_free(t);

    t = open_example("omb-federal-receipts-fy2016-budget", "budget.json", NULL);
    assert_int_equal(t->rows, 237);
    assert_int_equal(t->nfields, 72);
    assert_int_equal(field_type(t, "Source Category Code"), DSTYPE_INT8);
    assert_int_equal(field_type(t, "Agency code"), DSTYPE_INT8);
    assert_int_equal(field_type(t, "Account code"), DSTYPE_INT8);
    assert_int_equal(field_type(t, "1962"), DSTYPE_TEXT);
    assert_int_equal(field_type(t, "2000"), DSTYPE_TEXT);
    assert_int_equal(field_type(t, "TQ"), DSTYPE_TEXT);
    assert_int_equal(count_value(t, "2000", "1,004,401,000"), 1);
    ingest_table_free(t);
}

/*
 * The Regents workbook: rows 1–3 are `label` (the exam names), `test_year` and `Scores`
 * (totals), then the frequency table of scores 0–100 and 999. Row 1 has as many cells
 * as the rows under it, so the automatic rule skips nothing and takes it as the header;
 * test_year and Scores become the first data rows and make `label` text.
 */
static void test_real_regents(void **state)
{
    struct ingest_options o = INGEST_OPTIONS_INIT;
    struct ingest_table *t;
    const char *ext[] = {"xlsx", "xls"};

    (void)state;
    for (size_t k = 0; k < ARRAY_SIZE(ext); k++) {
        char *file = xstrfmt("2010_bigfive_regents.%s", ext[k]);

        o.skip_rows = -1;
        t = open_example("nyc-doe-regents-score-distribution-2010", file, &o);
        assert_int_equal(t->skipped, 0);
        assert_int_equal(t->header_line, 1);
        assert_int_equal(t->rows, 104);
        assert_types(t, "label:text,INTEGRATED ALGEBRA:int8,GLOBAL HISTORY:int8,"
                        "LIVING ENVIRONMENT:int8,ENGLISH:int8,U.S. HISTORY:int8");
        assert_int_equal(count_value(t, "label", "Scores"), 1);
        assert_int_equal(count_value(t, "label", "999"), 1);
        assert_int_equal(count_value(t, "INTEGRATED ALGEBRA", "131024"), 1);
        ingest_table_free(t);

        /* skip_rows 0: the same table. */
        o.skip_rows = 0;
        t = open_example("nyc-doe-regents-score-distribution-2010", file, &o);
        assert_int_equal(t->rows, 104);
        assert_string_equal(t->fields[1].id, "INTEGRATED ALGEBRA");
        ingest_table_free(t);

        /* skip_rows 2: the totals row is the header and the scores an int8 column. */
        o.skip_rows = 2;
        t = open_example("nyc-doe-regents-score-distribution-2010", file, &o);
        assert_int_equal(t->skipped, 2);
        assert_int_equal(t->header_line, 3);
        assert_int_equal(t->rows, 102);
        assert_types(t, "Scores:int8,131024:int8,113804:int8,104201:int8,103886:int8,91756:int8");
        assert_int_equal(count_value(t, "Scores", "100"), 1);
        ingest_table_free(t);

        /* skip_rows 1: the test_year row as the header: repeated years get suffixes. */
        o.skip_rows = 1;
        t = open_example("nyc-doe-regents-score-distribution-2010", file, &o);
        assert_types(t, "test_year:text,2010:int8,2010_2:int8,2010_3:int8,2010_4:int8,"
                        "2010_5:int8");
        assert_int_equal(t->rows, 103);
        ingest_table_free(t);
        free(file);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_int8_grammar),
            cmocka_unit_test(test_numeric_grammar),
            cmocka_unit_test(test_bool_grammar),
            cmocka_unit_test(test_date_grammar),
            cmocka_unit_test(test_timestamp_grammar),
            cmocka_unit_test(test_missing_tokens),
            cmocka_unit_test(test_cell_kinds),
            cmocka_unit_test(test_code_columns),
            cmocka_unit_test(test_header_ids),
            cmocka_unit_test(test_table_basic),
            cmocka_unit_test(test_table_header_only_and_blank_rows),
            cmocka_unit_test(test_table_ragged),
            cmocka_unit_test(test_table_title_rows),
            cmocka_unit_test(test_table_override),
            cmocka_unit_test(test_table_header_normalised),
            cmocka_unit_test(test_table_limit_fields),
            cmocka_unit_test(test_real_counties),
            cmocka_unit_test(test_real_species),
            cmocka_unit_test(test_real_more),
            cmocka_unit_test(test_real_unemployment),
            cmocka_unit_test(test_real_airports),
            cmocka_unit_test(test_real_birdstrikes),
            cmocka_unit_test(test_real_weather),
            cmocka_unit_test(test_real_numbers),
            cmocka_unit_test(test_real_carbon),
            cmocka_unit_test(test_real_json),
            cmocka_unit_test(test_real_regents),
    };

    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
