/*
 * test-datastore.c - the DataStore API (src/datastore/params.c, records.c, actions.c,
 * search.c): the parsers of filters, sort, fields and q against a table; values of
 * records and filters converted per type; records written as objects, lists, csv and tsv
 * with numbers in their exact text; and the six actions against a real store in a
 * temporary portal: CKAN's shapes, errors naming the field, permissions, private
 * datasets, upsert/insert/update, deletes, datastore_info, SQL with joins and
 * refusals, adding fields and re-typing, the limits, and the ledger entries.
 */
#include <jansson.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "catalog/catalog.h"
#include "core/limits.h"
#include "crypto/secret.h"
#include "datastore/datastore-int.h"
#include "datastore/datastore.h"
#include "ledger/ledger.h"
#include "store/store-datastore.h"
#include "store/store-int.h" /* store_fail_count_reset() for failure injection */
#include "unit-util.h"
#include "core/util.h"

static json_t *parse(const char *text)
{
    json_error_t e;
    json_t *v = json_loads(text, JSON_DECODE_ANY, &e);

    if (!v)
        fail_msg("bad JSON in test: %s: %s", e.text, text);
    return v;
}

static const char *sget(const json_t *o, const char *key)
{
    return json_string_value(json_object_get(o, key));
}

/* ---- Parsers ------------------------------------------------------------------------- */

static const struct store_ds_field tfields[] = {
        {"name", DSTYPE_TEXT}, {"amount", DSTYPE_NUMERIC}, {"n", DSTYPE_INT8},
        {"when", DSTYPE_DATE}, {"ok", DSTYPE_BOOL},        {"j", DSTYPE_JSON},
        {"x, y", DSTYPE_TEXT}, {"desc", DSTYPE_TEXT},      {"名前", DSTYPE_TEXT},
};
static const struct ds_table table = {tfields, ARRAY_SIZE(tfields)};

/* Parses sort (JSON text) expecting success; returns "field dir, …" in out. */
static void sort_ok(const char *json, const char *want)
{
    struct err err = ERR_INIT, err2 = ERR_INIT;
    struct store_ds_sort *s = NULL, *s2 = NULL;
    struct buf got = BUF_INIT, back = BUF_INIT;
    json_t *v = parse(json), *v2;
    size_t n = 0, n2 = 0;

    if (ds_sort_parse(v, &table, &s, &n, &err))
        fail_msg("sort %s: %s", json, err.msg);
    for (size_t i = 0; i < n; i++)
        buf_addf(&got, "%s%s %s", i ? ", " : "", s[i].field, s[i].descending ? "desc" : "asc");
    assert_string_equal(got.buf, want);
    /* Written back, it reads the same. */
    ds_sort_format(s, n, &back);
    v2 = json_string(back.buf);
    assert_int_equal(ds_sort_parse(v2, &table, &s2, &n2, &err2), 0);
    assert_int_equal(n2, n);
    for (size_t i = 0; i < n; i++) {
        assert_ptr_equal(s2[i].field, s[i].field);
        assert_int_equal(s2[i].descending, s[i].descending);
    }
    free(s);
    free(s2);
    json_decref(v);
    json_decref(v2);
    buf_release(&got);
    buf_release(&back);
}

static void sort_err(const char *json, const char *msg)
{
    struct err err = ERR_INIT;
    struct store_ds_sort *s = NULL;
    json_t *v = parse(json);
    size_t n = 0;

    assert_int_equal(ds_sort_parse(v, &table, &s, &n, &err), -ERR_VALIDATION);
    assert_string_equal(err.field, "sort");
    if (!strstr(err.msg, msg))
        fail_msg("sort %s: message \"%s\" lacks \"%s\"", json, err.msg, msg);
    assert_null(s);
    json_decref(v);
}

static void test_sort(void **state)
{
    struct store_ds_sort *s = NULL;
    struct err err = ERR_INIT;
    struct buf many = BUF_INIT;
    json_t *v;
    size_t n;

    (void)state;
    sort_ok("\"name desc, n\"", "name desc, n asc");
    sort_ok("\"  name   DESC ,n Asc\"", "name desc, n asc");
    sort_ok("\"_id desc\"", "_id desc");
    sort_ok("\"\\\"x, y\\\" desc, \\\"desc\\\"\"", "x, y desc, desc asc");
    sort_ok("\"desc desc\"", "desc desc");
    sort_ok("\"desc\"", "desc asc");
    sort_ok("\"名前 desc\"", "名前 desc");
    sort_ok("[\"amount desc\", \"x, y\"]", "amount desc, x, y asc");
    sort_ok("\"[\\\"amount desc\\\", \\\"n\\\"]\"", "amount desc, n asc");
    sort_ok("\"\"", "");
    sort_ok("null", "");
    sort_err("\"nope desc\"", "field \"nope\" not in table");
    sort_err("\"name, , n\"", "empty clause");
    sort_err("\"name,\"", "empty clause");
    sort_err("\"\\\"x, y desc\"", "not closed");
    sort_err("\"x, y desc\"", "field \"x\" not in table");
    sort_err("\"sum(n) desc\"", "field \"sum(n)\" not in table");
    sort_err("\"name; DROP TABLE t\"", "field \"name; DROP TABLE t\" not in table");
    sort_err("\"name desc nulls last\"", "not in table");
    sort_err("42", "must be a string or a list");
    sort_err("[\"name\", 3]", "list of strings");
    /* At most LIMIT_DATASTORE_FIELDS + 1 clauses. */
    for (unsigned i = 0; i < LIMIT_DATASTORE_FIELDS + 2; i++)
        buf_addstr(&many, i ? ",n" : "n");
    v = json_string(many.buf);
    assert_int_equal(ds_sort_parse(v, &table, &s, &n, &err), -ERR_VALIDATION);
    assert_string_equal(err.field, "sort");
    json_decref(v);
    buf_setlen(&many, many.len - 2);
    v = json_string(many.buf);
    err_clear(&err);
    assert_int_equal(ds_sort_parse(v, &table, &s, &n, &err), 0);
    assert_int_equal(n, LIMIT_DATASTORE_FIELDS + 1);
    free(s);
    json_decref(v);
    buf_release(&many);
}

static void fields_case(const char *json, int want_ret, const char *want)
{
    struct err err = ERR_INIT;
    const char **names = NULL;
    struct buf got = BUF_INIT;
    json_t *v = parse(json);
    size_t n = 0;
    int ret = ds_fields_parse(v, &table, &names, &n, &err);

    assert_int_equal(ret, want_ret);
    if (ret) {
        assert_string_equal(err.field, "fields");
        if (!strstr(err.msg, want))
            fail_msg("fields %s: message \"%s\" lacks \"%s\"", json, err.msg, want);
    } else {
        for (size_t i = 0; i < n; i++)
            buf_addf(&got, "%s%s", i ? "|" : "", names[i]);
        assert_string_equal(got.buf, want);
    }
    free(names);
    json_decref(v);
    buf_release(&got);
}

static void test_fields(void **state)
{
    (void)state;
    fields_case("\"name, n\"", 0, "name|n");
    fields_case("\"_id,\\\"x, y\\\",名前\"", 0, "_id|x, y|名前");
    fields_case("[\"amount\", \"x, y\"]", 0, "amount|x, y");
    fields_case("\"[\\\"n\\\"]\"", 0, "n");
    fields_case("\"\"", 0, "");
    fields_case("[]", 0, "");
    fields_case("\"name,name\"", -ERR_VALIDATION, "field \"name\" is named twice");
    fields_case("\"name,\"", -ERR_VALIDATION, "empty name");
    fields_case("\"name, nope\"", -ERR_VALIDATION, "field \"nope\" not in table");
    fields_case("\"name\\\" FROM t --\"", -ERR_VALIDATION, "not closed");
    fields_case("\"count(*)\"", -ERR_VALIDATION, "field \"count(*)\" not in table");
    fields_case("{}", -ERR_VALIDATION, "must be a string or a list");
}

/* Parses filters expecting success; returns "field=v1/v2;…" (NULL as ~, INT as #n). */
static void filters_ok(const char *json, const char *want)
{
    struct err err = ERR_INIT;
    struct ds_filters f;
    struct buf got = BUF_INIT;
    json_t *v = parse(json);

    if (ds_filters_parse(v, &table, &f, &err))
        fail_msg("filters %s: %s", json, err.msg);
    for (size_t i = 0; i < f.n; i++) {
        buf_addf(&got, "%s%s=", i ? ";" : "", f.f[i].field);
        for (size_t k = 0; k < f.f[i].nvalues; k++) {
            const struct dsvalue *d = &f.f[i].values[k];

            buf_addstr(&got, k ? "/" : "");
            if (d->kind == DSVALUE_INT)
                buf_addf(&got, "#%" PRId64, d->i);
            else if (d->kind == DSVALUE_TEXT)
                buf_add(&got, d->s, d->len);
            else
                buf_addch(&got, '~');
        }
    }
    assert_string_equal(got.buf, want);
    ds_filters_release(&f);
    json_decref(v);
    buf_release(&got);
}

static void filters_err(const char *json, const char *msg)
{
    struct err err = ERR_INIT;
    struct ds_filters f;
    json_t *v = parse(json);

    assert_int_equal(ds_filters_parse(v, &table, &f, &err), -ERR_VALIDATION);
    assert_string_equal(err.field, "filters");
    if (!strstr(err.msg, msg))
        fail_msg("filters %s: message \"%s\" lacks \"%s\"", json, err.msg, msg);
    ds_filters_release(&f);
    json_decref(v);
}

static void test_filters(void **state)
{
    struct buf many = BUF_INIT;

    (void)state;
    filters_ok("{\"name\": \"Alpha\"}", "name=Alpha");
    filters_ok("{\"n\": [1, \"2\", 3.0]}", "n=#1/#2/#3");
    filters_ok("{\"amount\": [\".097\", \"+5\", 0.1, 1e20]}", "amount=.097/+5/0.1/1e+20");
    filters_ok("{\"when\": \"2020/1/2\", \"ok\": \"TRUE\"}", "when=2020-01-02;ok=true");
    filters_ok("{\"j\": \"[1, 2]\"}", "j=[1, 2]");
    filters_ok("{\"name\": [\"\", null], \"n\": []}", "name=/~;n=");
    filters_ok("{\"_id\": 7}", "_id=#7");
    /* A query string's value: the object's text. */
    filters_ok("\"{\\\"名前\\\": \\\"北京\\\"}\"", "名前=北京");
    filters_ok("\"\"", "");
    filters_ok("{}", "");
    /* SQL metacharacters are a value like any other. */
    filters_ok("{\"name\": \"x'; DROP TABLE t; --\"}", "name=x'; DROP TABLE t; --");
    filters_err("{\"n\": \"abc\"}", "filter on field \"n\": \"abc\" is not a valid int8");
    filters_err("{\"n\": \"NA\"}", "\"NA\" is not a valid int8");
    filters_err("{\"n\": 1.5}", "\"1.5\" is not a valid int8");
    filters_err("{\"when\": \"2020-02-30\"}", "field \"when\"");
    filters_err("{\"ok\": 1}", "field \"ok\"");
    filters_err("{\"j\": \"not json\"}", "field \"j\"");
    filters_err("{\"nope\": 1}", "field \"nope\" not in table");
    filters_err("{\"name\": {\"$gt\": 1}}", "operators are not supported");
    filters_err("{\"name\": [[1]]}", "operators are not supported");
    filters_err("\"{not json\"", "must be a JSON object");
    filters_err("[1]", "must be a JSON object");
    /* LIMIT_DATASTORE_FILTER_VALUES values of one field, and one more. */
    buf_addstr(&many, "{\"n\": [");
    for (unsigned i = 0; i < LIMIT_DATASTORE_FILTER_VALUES; i++)
        buf_addf(&many, "%s%u", i ? "," : "", i);
    buf_addstr(&many, "]}");
    {
        struct err err = ERR_INIT;
        struct ds_filters f;
        json_t *v = parse(many.buf);

        assert_int_equal(ds_filters_parse(v, &table, &f, &err), 0);
        assert_int_equal(f.f[0].nvalues, LIMIT_DATASTORE_FILTER_VALUES);
        ds_filters_release(&f);
        json_decref(v);
    }
    buf_setlen(&many, many.len - 2);
    buf_addstr(&many, ",1]}");
    filters_err(many.buf, "more than 1000 values");
    buf_release(&many);
}

static void q_case(const char *json, bool plain, int want_ret, const char *want)
{
    struct err err = ERR_INIT;
    struct ds_text x;
    struct buf got = BUF_INIT;
    json_t *v = parse(json);
    int ret = ds_q_parse(v, plain, &table, &x, &err);

    assert_int_equal(ret, want_ret);
    if (ret) {
        assert_string_equal(err.field, "q");
        if (!strstr(err.msg, want))
            fail_msg("q %s: message \"%s\" lacks \"%s\"", json, err.msg, want);
    } else {
        for (size_t i = 0; i < x.n; i++)
            buf_addf(&got, "%s%s:%s", i ? ";" : "", x.t[i].field ? x.t[i].field : "*",
                     x.t[i].tokens[0]);
        assert_string_equal(got.buf, want);
    }
    ds_text_release(&x);
    json_decref(v);
    buf_release(&got);
}

static void test_q(void **state)
{
    struct buf big = BUF_INIT;

    (void)state;
    q_case("\"Hello, World!\"", true, 0, "*:hello world");
    q_case("\"北京市\"", true, 0, "*:北 北京 京 京市 市");
    q_case("{\"name\": \"River\", \"x, y\": \"a\"}", true, 0, "name:river;x, y:a");
    q_case("\"{\\\"name\\\": \\\"lake\\\"}\"", true, 0, "name:lake");
    q_case("\"!!!\"", true, 0, "");
    q_case("\"\"", true, 0, "");
    q_case("\"river lake\"", false, 0, "*:river lake");
    q_case("\"river & lake\"", false, -ERR_VALIDATION, "not supported");
    q_case("\"river & lake\"", true, 0, "*:river lake");
    q_case("\"' OR 1=1 --\"", true, 0, "*:or 1 1");
    q_case("{\"n\": \"1\"}", true, -ERR_VALIDATION, "field \"n\" is not a text field");
    q_case("{\"nope\": \"1\"}", true, -ERR_VALIDATION, "field \"nope\" not in table");
    q_case("{\"_id\": \"1\"}", true, -ERR_VALIDATION, "field \"_id\" not in table");
    q_case("{\"name\": 1}", true, -ERR_VALIDATION, "must be a string");
    q_case("3", true, -ERR_VALIDATION, "must be a string or an object");
    /* LIMIT_SEARCH_QUERY bytes, and one more. */
    for (unsigned i = 0; i < LIMIT_SEARCH_QUERY; i++)
        buf_addch(&big, 'a');
    {
        json_t *v = json_string(big.buf);
        struct err err = ERR_INIT;
        struct ds_text x;

        assert_int_equal(ds_q_parse(v, true, &table, &x, &err), 0);
        ds_text_release(&x);
        json_decref(v);
        buf_addch(&big, 'a');
        v = json_string(big.buf);
        assert_int_equal(ds_q_parse(v, true, &table, &x, &err), -ERR_VALIDATION);
        assert_string_equal(err.field, "q");
        ds_text_release(&x);
        json_decref(v);
    }
    buf_release(&big);
}

/* Converts json for type t: the canonical text ("#n" for INT, "~" for NULL), or "!" and
 * the message. */
static void value_case(enum dstype t, const char *json, const char *want)
{
    struct ds_pool pool = DS_POOL_INIT;
    struct err err = ERR_INIT;
    struct dsvalue d;
    struct buf got = BUF_INIT;
    json_t *v = parse(json);

    if (ds_value_from_json(t, v, &pool, &d, &err))
        buf_addf(&got, "!%s", err.msg);
    else if (d.kind == DSVALUE_INT)
        buf_addf(&got, "#%" PRId64, d.i);
    else if (d.kind == DSVALUE_TEXT)
        buf_add(&got, d.s, d.len);
    else
        buf_addch(&got, '~');
    if (strcmp(got.buf, want))
        fail_msg("%s as %s: got \"%s\", wanted \"%s\"", json, dstype_name(t), got.buf, want);
    ds_pool_release(&pool);
    json_decref(v);
    buf_release(&got);
}

static void test_values(void **state)
{
    (void)state;
    value_case(DSTYPE_INT8, "123", "#123");
    value_case(DSTYPE_INT8, "\"-9223372036854775808\"", "#-9223372036854775808");
    value_case(DSTYPE_INT8, "\"9223372036854775808\"",
               "!\"9223372036854775808\" is not a valid int8");
    value_case(DSTYPE_INT8, "\"\"", "~");
    value_case(DSTYPE_INT8, "null", "~");
    value_case(DSTYPE_INT8, "\"NA\"", "!\"NA\" is not a valid int8");
    value_case(DSTYPE_INT8, "true", "!\"true\" is not a valid int8");
    value_case(DSTYPE_NUMERIC, "0.1", "0.1");
    value_case(DSTYPE_NUMERIC, "315.7", "315.7");
    value_case(DSTYPE_NUMERIC, "\"315.70\"", "315.70");
    value_case(DSTYPE_NUMERIC, "1e20", "1e+20");
    value_case(DSTYPE_NUMERIC, "-0.000001", "-1e-06");
    value_case(DSTYPE_NUMERIC, "12345678901234567", "12345678901234567");
    value_case(DSTYPE_NUMERIC, "\"1,000\"", "!\"1,000\" is not a valid numeric");
    value_case(DSTYPE_TEXT, "\"\"", "");
    value_case(DSTYPE_TEXT, "\"NA\"", "NA");
    value_case(DSTYPE_TEXT, "42", "42");
    value_case(DSTYPE_TEXT, "{\"a\": 1}", "{\"a\":1}");
    value_case(DSTYPE_BOOL, "false", "false");
    value_case(DSTYPE_BOOL, "\"True\"", "true");
    value_case(DSTYPE_DATE, "\"2024年2月29日\"", "2024-02-29");
    value_case(DSTYPE_DATE, "\"2023-02-29\"", "!\"2023-02-29\" is not a valid date");
    value_case(DSTYPE_TIMESTAMP, "\"2024-01-02 03:04:05\"", "2024-01-02T03:04:05");
    value_case(DSTYPE_JSON, "{\"a\": [1, 2.5]}", "{\"a\":[1,2.5]}");
    value_case(DSTYPE_JSON, "\"[1, 2]\"", "[1, 2]");
    value_case(DSTYPE_JSON, "7", "7");
    value_case(DSTYPE_JSON, "\"abc\"", "!\"abc\" is not a valid json");
}

static void json_value_case(enum dstype t, enum dsvalue_kind k, const char *text,
                            enum ds_json_numbers mode, const char *want)
{
    struct buf out = BUF_INIT;
    struct dsvalue v = {k, 0, text, text ? strlen(text) : 0};

    if (k == DSVALUE_INT)
        v.i = text ? (int64_t)strtoll(text, NULL, 10) : 0;
    ds_json_value(&out, t, &v, mode);
    assert_string_equal(out.buf, want);
    buf_release(&out);
}

static void test_json_values(void **state)
{
    (void)state;
    json_value_case(DSTYPE_NUMERIC, DSVALUE_TEXT, "315.70", DS_NUMBERS_EXACT, "315.70");
    json_value_case(DSTYPE_NUMERIC, DSVALUE_TEXT, ".097", DS_NUMBERS_EXACT, "0.097");
    json_value_case(DSTYPE_NUMERIC, DSVALUE_TEXT, "-.5", DS_NUMBERS_EXACT, "-0.5");
    json_value_case(DSTYPE_NUMERIC, DSVALUE_TEXT, "+5", DS_NUMBERS_EXACT, "5");
    json_value_case(DSTYPE_NUMERIC, DSVALUE_TEXT, "1E+3", DS_NUMBERS_EXACT, "1E+3");
    json_value_case(DSTYPE_NUMERIC, DSVALUE_TEXT, "1e400", DS_NUMBERS_EXACT, "1e400");
    json_value_case(DSTYPE_NUMERIC, DSVALUE_TEXT, "1e400", DS_NUMBERS_JANSSON, "\"1e400\"");
    json_value_case(DSTYPE_NUMERIC, DSVALUE_TEXT, "1e-400", DS_NUMBERS_JANSSON, "1e-400");
    json_value_case(DSTYPE_NUMERIC, DSVALUE_TEXT, "12345678901234567890", DS_NUMBERS_EXACT,
                    "12345678901234567890");
    json_value_case(DSTYPE_NUMERIC, DSVALUE_TEXT, "12345678901234567890", DS_NUMBERS_JANSSON,
                    "\"12345678901234567890\"");
    json_value_case(DSTYPE_NUMERIC, DSVALUE_TEXT, "inf", DS_NUMBERS_EXACT, "\"inf\"");
    json_value_case(DSTYPE_NUMERIC, DSVALUE_TEXT, "007", DS_NUMBERS_EXACT, "\"007\"");
    json_value_case(DSTYPE_INT8, DSVALUE_INT, "-42", DS_NUMBERS_EXACT, "-42");
    json_value_case(DSTYPE_TEXT, DSVALUE_INT, "7", DS_NUMBERS_EXACT, "7");
    json_value_case(DSTYPE_TEXT, DSVALUE_NULL, NULL, DS_NUMBERS_EXACT, "null");
    json_value_case(DSTYPE_TEXT, DSVALUE_TEXT, "a\"b\n</script>", DS_NUMBERS_EXACT,
                    "\"a\\\"b\\n</script>\"");
    json_value_case(DSTYPE_TEXT, DSVALUE_TEXT, "\xff\xfeok", DS_NUMBERS_EXACT,
                    "\"\xef\xbf\xbd\xef\xbf\xbdok\"");
    json_value_case(DSTYPE_BOOL, DSVALUE_TEXT, "true", DS_NUMBERS_EXACT, "true");
    json_value_case(DSTYPE_DATE, DSVALUE_TEXT, "2020-01-02", DS_NUMBERS_EXACT, "\"2020-01-02\"");
    json_value_case(DSTYPE_JSON, DSVALUE_TEXT, "{\"b\": 1.50}", DS_NUMBERS_EXACT, "{\"b\": 1.50}");
    json_value_case(DSTYPE_JSON, DSVALUE_TEXT, "{\"b\": 1.50}", DS_NUMBERS_JANSSON, "{\"b\":1.5}");
    json_value_case(DSTYPE_JSON, DSVALUE_TEXT, "{broken", DS_NUMBERS_EXACT, "\"{broken\"");
}

/* ---- Actions against a store ---------------------------------------------------------- */

struct fixture {
    char dir[64];
    char files[128];
    struct store *s;
    struct catalog c;
    struct actor root, editor, member, outsider, anon;
    struct ledger_key *key;
    uint64_t lsize;
    char dataset_id[UUID_STR_LEN];
    char private_id[UUID_STR_LEN];
};

static void load_actor(struct fixture *f, const char *name, struct actor *a)
{
    struct err err = ERR_INIT;

    if (access_actor_from_user(f->s, name, a, &err))
        fail_msg("actor %s: %s", name, err.msg);
}

/* Runs an action with params (JSON text, "@" replaced by rid) expecting success. */
static json_t *act_ok(struct fixture *f, catalog_action_fn fn, const struct actor *a,
                      const char *rid, const char *params)
{
    struct err err = ERR_INIT;
    struct buf text = BUF_INIT;
    json_t *p, *result = NULL;

    for (const char *c = params; *c; c++) {
        if (*c == '@' && rid)
            buf_addstr(&text, rid);
        else
            buf_addch(&text, *c);
    }
    p = parse(text.buf);
    if (fn(&f->c, a, p, &result, &err))
        fail_msg("action failed: %s (field \"%s\"): %s", err.msg, err.field, text.buf);
    json_decref(p);
    buf_release(&text);
    return result;
}

/* Runs an action expecting an error of kind, naming field (NULL: any), whose message holds
 * msg (NULL: any). */
static void act_err(struct fixture *f, catalog_action_fn fn, const struct actor *a, const char *rid,
                    const char *params, enum err_kind kind, const char *field, const char *msg)
{
    struct err err = ERR_INIT;
    struct buf text = BUF_INIT;
    json_t *p, *result = NULL;
    int ret;

    for (const char *c = params; *c; c++) {
        if (*c == '@' && rid)
            buf_addstr(&text, rid);
        else
            buf_addch(&text, *c);
    }
    p = parse(text.buf);
    ret = fn(&f->c, a, p, &result, &err);
    if (ret != -(int)kind || err.kind != kind)
        fail_msg("%s: wanted error %d, got %d (%s)", text.buf, kind, -ret, err.msg);
    assert_null(result);
    if (field && strcmp(err.field, field))
        fail_msg("%s: error names \"%s\", wanted \"%s\" (%s)", text.buf, err.field, field, err.msg);
    if (msg && !strstr(err.msg, msg))
        fail_msg("%s: message \"%s\" lacks \"%s\"", text.buf, err.msg, msg);
    json_decref(p);
    buf_release(&text);
}

/* The body the HTTP API sends for datastore_search(_sql): the _text form's result with the
 * records text spliced in for its placeholder. */
static char *search_body(struct fixture *f, bool sql, const struct actor *a, const char *rid,
                         const char *params)
{
    struct err err = ERR_INIT;
    struct buf text = BUF_INIT, records = BUF_INIT, out = BUF_INIT;
    const char *token = catalog_splice_token(), *at;
    json_t *p, *result = NULL;
    char *dumped, *quoted;
    int ret;

    for (const char *c = params; *c; c++) {
        if (*c == '@' && rid)
            buf_addstr(&text, rid);
        else
            buf_addch(&text, *c);
    }
    p = parse(text.buf);
    ret = sql ? datastore_search_sql_text(&f->c, a, p, &result, &records, &err)
              : datastore_search_text(&f->c, a, p, &result, &records, &err);
    if (ret)
        fail_msg("search failed: %s: %s", err.msg, text.buf);
    dumped = json_dumps(result, JSON_COMPACT);
    quoted = xstrfmt("\"%s\"", token);
    at = strstr(dumped, quoted);
    if (records.len) {
        assert_non_null(at);
        buf_add(&out, dumped, (size_t)(at - dumped));
        buf_add(&out, records.buf, records.len);
        buf_addstr(&out, at + strlen(quoted));
        assert_null(strstr(at + 1, quoted));
    } else {
        assert_null(at);
        buf_addstr(&out, dumped);
    }
    free(dumped);
    free(quoted);
    json_decref(p);
    json_decref(result);
    buf_release(&text);
    buf_release(&records);
    return buf_detach(&out, NULL);
}

/* The records' text of a search body: from "records": to the "fields" key after it. */
static char *records_of(const char *body)
{
    const char *a = strstr(body, "\"records\":"), *b;

    assert_non_null(a);
    a += strlen("\"records\":");
    b = strstr(a, ",\"fields\":");
    assert_non_null(b);
    return xstrndup(a, (size_t)(b - a));
}

/* The ledger entries appended since the last call. */
static json_t *ledger_new(struct fixture *f)
{
    struct err err = ERR_INIT;
    uint64_t size = 0;
    json_t *list = NULL, *out = json_array(), *e;
    size_t i;

    if (ledger_integrate(f->s, f->key, &size, &err))
        fail_msg("ledger_integrate: %s", err.msg);
    while (f->lsize < size) {
        if (ledger_entries(f->s, f->lsize, size, &list, &err))
            fail_msg("ledger_entries: %s", err.msg);
        json_array_foreach (list, i, e) {
            json_array_append_new(out, parse(sget(e, "entry")));
            f->lsize++;
        }
        json_decref(list);
    }
    return out;
}

/* A new link resource of dataset (id or name); its id into rid. */
static void new_resource(struct fixture *f, const char *dataset, char *rid)
{
    struct err err = ERR_INIT;
    json_t *p = json_pack("{s:s,s:s}", "package_id", dataset, "url", "http://example.org/t.csv");
    json_t *res = NULL;

    if (catalog_resource_create(&f->c, &f->root, p, NULL, &res, &err))
        fail_msg("resource_create: %s", err.msg);
    xsnprintf(rid, UUID_STR_LEN, "%s", sget(res, "id"));
    json_decref(res);
    json_decref(p);
}

static int setup(void **state)
{
    struct fixture *f = xcalloc(1, sizeof(*f));
    struct err err = ERR_INIT;
    json_t *o, *p;
    char db[128], *tmp;

    secret_init();
    if (unit_tmpdir(f->dir, sizeof(f->dir), "dsapi"))
        return -1;
    xsnprintf(db, sizeof(db), "%s/kaifang.db", f->dir);
    xsnprintf(f->files, sizeof(f->files), "%s/files", f->dir);
    mkdir(f->files, 0755);
    if (store_open(&f->s, db, true, &err)) {
        fprintf(stderr, "store_open: %s\n", err.msg);
        return -1;
    }
    catalog_init(&f->c, f->s, f->files, "http://portal.test");
    f->anon = (struct actor)ACTOR_ANONYMOUS;
    if (access_user_add(f->s, "root", NULL, NULL, true, NULL, &err) ||
        access_user_add(f->s, "ed", NULL, NULL, false, NULL, &err) ||
        access_user_add(f->s, "mem", NULL, NULL, false, NULL, &err) ||
        access_user_add(f->s, "out", NULL, NULL, false, NULL, &err))
        return -1;
    load_actor(f, "root", &f->root);
    p = parse("{\"name\": \"stats\"}");
    if (catalog_organization_create(&f->c, &f->root, p, &o, &err))
        return -1;
    json_decref(o);
    json_decref(p);
    p = parse("{\"name\": \"other\"}");
    if (catalog_organization_create(&f->c, &f->root, p, &o, &err))
        return -1;
    json_decref(o);
    json_decref(p);
    if (access_member_set(f->s, "stats", "ed", "editor", &err) ||
        access_member_set(f->s, "stats", "mem", "member", &err) ||
        access_member_set(f->s, "other", "out", "editor", &err))
        return -1;
    load_actor(f, "ed", &f->editor);
    load_actor(f, "mem", &f->member);
    load_actor(f, "out", &f->outsider);
    p = parse("{\"name\": \"tables\", \"owner_org\": \"stats\"}");
    if (catalog_package_create(&f->c, &f->root, p, &o, &err))
        return -1;
    xsnprintf(f->dataset_id, sizeof(f->dataset_id), "%s", sget(o, "id"));
    json_decref(o);
    json_decref(p);
    p = parse("{\"name\": \"secret-tables\", \"owner_org\": \"stats\", \"private\": true}");
    if (catalog_package_create(&f->c, &f->root, p, &o, &err))
        return -1;
    xsnprintf(f->private_id, sizeof(f->private_id), "%s", sget(o, "id"));
    json_decref(o);
    json_decref(p);
    tmp = xstrfmt("%s/ledger.key", f->dir);
    if (ledger_key_create(tmp, "portal.test/ledger", &err) || ledger_key_load(tmp, &f->key, &err) ||
        ledger_integrate(f->s, f->key, &f->lsize, &err)) {
        fprintf(stderr, "ledger: %s\n", err.msg);
        free(tmp);
        return -1;
    }
    free(tmp);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;

    actor_release(&f->root);
    actor_release(&f->editor);
    actor_release(&f->member);
    actor_release(&f->outsider);
    ledger_key_free(f->key);
    catalog_release(&f->c);
    store_free(f->s);
    unit_remove_tree(f->dir);
    free(f);
    return 0;
}

/* The test table: six types, a primary key, three records. */
static const char table_params[] =
        "{\"resource_id\": \"@\", \"primary_key\": \"n\", \"fields\": ["
        "{\"id\": \"name\", \"type\": \"text\", \"info\": {\"label\": \"Name\", \"notes\": "
        "\"who\"}},"
        "{\"id\": \"amount\", \"type\": \"numeric\"}, {\"id\": \"n\", \"type\": \"int\"},"
        "{\"id\": \"when\", \"type\": \"date\"}, {\"id\": \"ok\", \"type\": \"bool\"},"
        "{\"id\": \"j\", \"type\": \"json\"}], \"records\": ["
        "{\"name\": \"Alpha river\", \"amount\": \"315.70\", \"n\": 1, \"when\": \"2020/1/2\", "
        "\"ok\": true, \"j\": {\"a\": [1, 2]}},"
        "{\"name\": \"Beta lake\", \"amount\": \".097\", \"n\": 2, \"when\": \"2021-03-04\", "
        "\"ok\": \"false\", \"j\": null},"
        "{\"name\": \"Gamma river, north\", \"amount\": \"12345678901234567890.123\", \"n\": 3, "
        "\"when\": null, \"ok\": null, \"j\": \"{\\\"b\\\": 1.50}\"}]}";

static void make_table(struct fixture *f, const char *rid)
{
    json_decref(act_ok(f, datastore_create, &f->editor, rid, table_params));
}

static void test_create_shape(void **state)
{
    struct fixture *f = *state;
    char rid[UUID_STR_LEN];
    json_t *r, *entries, *e, *res;
    struct err err = ERR_INIT;

    new_resource(f, "tables", rid);
    json_decref(ledger_new(f));
    r = act_ok(f, datastore_create, &f->editor, rid, table_params);
    assert_string_equal(sget(r, "resource_id"), rid);
    assert_string_equal(sget(r, "method"), "insert");
    assert_null(json_object_get(r, "records"));
    assert_string_equal(json_string_value(json_array_get(json_object_get(r, "primary_key"), 0)),
                        "n");
    assert_int_equal(json_array_size(json_object_get(r, "fields")), 6);
    e = json_array_get(json_object_get(r, "fields"), 2);
    assert_string_equal(sget(e, "id"), "n");
    assert_string_equal(sget(e, "type"), "int8");
    e = json_array_get(json_object_get(r, "fields"), 0);
    assert_string_equal(sget(json_object_get(e, "info"), "label"), "Name");
    json_decref(r);
    /* datastore_active, and one entry naming the dataset and the resource. */
    assert_int_equal(catalog_resource_authorize(&f->c, &f->anon, rid, false, &res, NULL, &err), 0);
    assert_true(json_is_true(json_object_get(res, "datastore_active")));
    json_decref(res);
    entries = ledger_new(f);
    assert_int_equal(json_array_size(entries), 1);
    e = json_array_get(entries, 0);
    assert_string_equal(sget(e, "type"), "datastore_create");
    assert_string_equal(sget(e, "actor"), "ed");
    assert_string_equal(sget(e, "org"), "stats");
    assert_string_equal(sget(json_object_get(e, "objects"), "resource"), rid);
    assert_string_equal(sget(json_object_get(e, "objects"), "dataset"), f->dataset_id);
    assert_string_equal(sget(json_object_get(e, "objects"), "name"), "tables");
    assert_true(starts_with(sget(e, "digest"), "sha256:"));
    json_decref(entries);
    /* include_records gives them back; records given again append (duplicate key: 409). */
    r = act_ok(f, datastore_create, &f->editor, rid,
               "{\"resource_id\": \"@\", \"records\": [{\"n\": 9}], \"include_records\": true}");
    assert_int_equal(json_array_size(json_object_get(r, "records")), 1);
    json_decref(r);
    act_err(f, datastore_create, &f->editor, rid,
            "{\"resource_id\": \"@\", \"records\": [{\"n\": 9}]}", ERR_CONFLICT, "records",
            "duplicate");
}

static void test_search_shapes(void **state)
{
    struct fixture *f = *state;
    char rid[UUID_STR_LEN], *body, *rec;
    json_t *r, *v;

    new_resource(f, "tables", rid);
    make_table(f, rid);
    /* The answer as HTTP sends it: numbers in their exact text. */
    body = search_body(f, false, &f->anon, rid, "{\"resource_id\": \"@\"}");
    rec = records_of(body);
    assert_string_equal(
            rec, "[{\"_id\":1,\"name\":\"Alpha river\",\"amount\":315.70,\"n\":1,\"when\":"
                 "\"2020-01-02\",\"ok\":true,\"j\":{\"a\":[1,2]}},{\"_id\":2,\"name\":\"Beta "
                 "lake\",\"amount\":0.097,\"n\":2,\"when\":\"2021-03-04\",\"ok\":false,\"j\":"
                 "null},{\"_id\":3,\"name\":\"Gamma river, north\",\"amount\":"
                 "12345678901234567890.123,\"n\":3,\"when\":null,\"ok\":null,\"j\":{\"b\": "
                 "1.50}}]");
    free(rec);
    r = parse(body);
    free(body);
    v = json_object_get(r, "result");
    assert_null(v); /* not an envelope: the result itself */
    assert_true(json_is_true(json_object_get(r, "include_total")));
    assert_int_equal(json_integer_value(json_object_get(r, "limit")), 100);
    assert_string_equal(sget(r, "records_format"), "objects");
    assert_string_equal(sget(r, "resource_id"), rid);
    assert_true(json_is_null(json_object_get(r, "total_estimation_threshold")));
    assert_int_equal(json_integer_value(json_object_get(r, "total")), 3);
    assert_true(json_is_false(json_object_get(r, "total_was_estimated")));
    v = json_array_get(json_object_get(r, "fields"), 0);
    assert_string_equal(sget(v, "id"), "_id");
    assert_string_equal(sget(v, "type"), "int");
    v = json_array_get(json_object_get(r, "fields"), 1);
    assert_string_equal(sget(v, "id"), "name");
    assert_string_equal(sget(json_object_get(v, "info"), "notes"), "who");
    v = json_object_get(r, "_links");
    {
        char *start = xstrfmt("/api/3/action/datastore_search?resource_id=%s", rid);
        char *next = xstrfmt("/api/3/action/datastore_search?resource_id=%s&offset=100", rid);

        assert_string_equal(sget(v, "start"), start);
        assert_string_equal(sget(v, "next"), next);
        free(start);
        free(next);
    }
    json_decref(r);

    /* The json_t form: the same, numbers as jansson holds them. */
    r = act_ok(f, datastore_search, &f->anon, rid, "{\"id\": \"@\", \"sort\": \"n\"}");
    v = json_array_get(json_object_get(r, "records"), 0);
    assert_true(json_is_real(json_object_get(v, "amount")));
    assert_true(json_real_value(json_object_get(v, "amount")) == 315.7);
    assert_int_equal(json_integer_value(json_object_get(v, "n")), 1);
    assert_string_equal(sget(r, "sort"), "n");
    json_decref(r);

    /* Every parameter. */
    body = search_body(f, false, &f->anon, rid,
                       "{\"resource_id\": \"@\", \"q\": \"river\", \"filters\": {\"ok\": [true, "
                       "null]}, \"fields\": \"n, name\", \"sort\": \"n desc\", \"limit\": \"1\", "
                       "\"offset\": 0, \"plain\": \"true\", \"language\": \"english\"}");
    rec = records_of(body);
    assert_string_equal(rec, "[{\"n\":1,\"name\":\"Alpha river\"}]");
    free(rec);
    r = parse(body);
    free(body);
    assert_int_equal(json_integer_value(json_object_get(r, "total")), 1);
    assert_string_equal(sget(r, "q"), "river");
    assert_true(json_is_object(json_object_get(r, "filters")));
    assert_int_equal(json_integer_value(json_object_get(r, "offset")), 0);
    assert_string_equal(sget(r, "language"), "english");
    assert_int_equal(json_array_size(json_object_get(r, "fields")), 2);
    assert_string_equal(sget(json_array_get(json_object_get(r, "fields"), 0), "id"), "n");
    {
        char *next =
                xstrfmt("/api/3/action/datastore_search?resource_id=%s&q=river&filters=%%7B%%22ok%%"
                        "22%%3A%%5Btrue%%2Cnull%%5D%%7D&fields=n%%2C+name&sort=n+desc&limit=1&"
                        "offset=1&plain=true&language=english",
                        rid);

        assert_string_equal(sget(json_object_get(r, "_links"), "next"), next);
        free(next);
    }
    json_decref(r);

    /* The largest offset: the next one saturates instead of wrapping; an empty parameter
     * is not repeated in the links. */
    body = search_body(f, false, &f->anon, rid,
                       "{\"resource_id\": \"@\", \"offset\": 9223372036854775807, \"limit\": "
                       "\"\", \"fields\": \"n\"}");
    r = parse(body);
    free(body);
    {
        char *next = xstrfmt("/api/3/action/datastore_search?resource_id=%s&offset="
                             "9223372036854775807&fields=n",
                             rid);

        assert_string_equal(sget(json_object_get(r, "_links"), "next"), next);
        free(next);
    }
    json_decref(r);

    /* q per field, and sort by a quoted name; include_total false drops total. */
    body = search_body(f, false, &f->anon, rid,
                       "{\"resource_id\": \"@\", \"q\": {\"name\": \"lake\"}, \"fields\": [\"n\"], "
                       "\"include_total\": false}");
    assert_null(strstr(body, "\"total\""));
    rec = records_of(body);
    assert_string_equal(rec, "[{\"n\":2}]");
    free(rec);
    free(body);

    /* lists, csv, tsv. */
    body = search_body(f, false, &f->anon, rid,
                       "{\"resource_id\": \"@\", \"records_format\": \"lists\", \"sort\": "
                       "\"\\\"n\\\" desc\", \"limit\": 2}");
    rec = records_of(body);
    assert_string_equal(rec, "[[3,\"Gamma river, north\",12345678901234567890.123,3,null,null,{"
                             "\"b\": 1.50}],[2,\"Beta lake\",0.097,2,\"2021-03-04\",false,null]]");
    free(rec);
    free(body);
    r = act_ok(f, datastore_search, &f->anon, rid,
               "{\"resource_id\": \"@\", \"records_format\": \"csv\"}");
    assert_string_equal(sget(r, "records"),
                        "1,Alpha river,315.70,1,2020-01-02,true,\"{\"\"a\"\":[1,2]}\"\n"
                        "2,Beta lake,.097,2,2021-03-04,false,\n"
                        "3,\"Gamma river, north\",12345678901234567890.123,3,,,\"{\"\"b\"\": "
                        "1.50}\"\n");
    json_decref(r);
    r = act_ok(
            f, datastore_search, &f->anon, rid,
            "{\"resource_id\": \"@\", \"records_format\": \"tsv\", \"fields\": \"name,amount\"}");
    assert_string_equal(sget(r, "records"), "Alpha river\t315.70\nBeta lake\t.097\n"
                                            "Gamma river, north\t12345678901234567890.123\n");
    json_decref(r);
    /* distinct. */
    r = act_ok(f, datastore_search, &f->anon, rid,
               "{\"resource_id\": \"@\", \"fields\": \"ok\", \"distinct\": true, \"filters\": "
               "{\"n\": [1, 3]}}");
    assert_int_equal(json_array_size(json_object_get(r, "records")), 2);
    assert_int_equal(json_integer_value(json_object_get(r, "total")), 2);
    json_decref(r);
    /* limit is capped at LIMIT_DATASTORE_ROWS_MAX, as CKAN caps it. */
    r = act_ok(f, datastore_search, &f->anon, rid, "{\"resource_id\": \"@\", \"limit\": 999999}");
    assert_int_equal(json_integer_value(json_object_get(r, "limit")), LIMIT_DATASTORE_ROWS_MAX);
    json_decref(r);
    r = act_ok(f, datastore_search, &f->anon, rid, "{\"resource_id\": \"@\", \"limit\": 0}");
    assert_int_equal(json_array_size(json_object_get(r, "records")), 0);
    assert_int_equal(json_integer_value(json_object_get(r, "total")), 3);
    json_decref(r);
}

static void test_search_errors(void **state)
{
    struct fixture *f = *state;
    char rid[UUID_STR_LEN], bare[UUID_STR_LEN];

    new_resource(f, "tables", rid);
    new_resource(f, "tables", bare);
    make_table(f, rid);
    act_err(f, datastore_search, &f->anon, rid, "{\"resource_id\": \"@\", \"sort\": \"nope\"}",
            ERR_VALIDATION, "sort", "field \"nope\" not in table");
    act_err(f, datastore_search, &f->anon, rid,
            "{\"resource_id\": \"@\", \"filters\": {\"n\": \"one\"}}", ERR_VALIDATION, "filters",
            "field \"n\"");
    act_err(f, datastore_search, &f->anon, rid,
            "{\"resource_id\": \"@\", \"fields\": \"name, secret\"}", ERR_VALIDATION, "fields",
            "\"secret\"");
    act_err(f, datastore_search, &f->anon, rid, "{\"resource_id\": \"@\", \"q\": {\"n\": \"1\"}}",
            ERR_VALIDATION, "q", "not a text field");
    act_err(f, datastore_search, &f->anon, rid, "{\"resource_id\": \"@\", \"limit\": -1}",
            ERR_VALIDATION, "limit", "\"limit\": must be a natural number");
    /* Past 64 bits: refused, not clamped. */
    act_err(f, datastore_search, &f->anon, rid,
            "{\"resource_id\": \"@\", \"offset\": \"9223372036854775808\"}", ERR_VALIDATION,
            "offset", "out of range");
    act_err(f, datastore_search, &f->anon, rid, "{\"resource_id\": \"@\", \"limit\": \"ten\"}",
            ERR_VALIDATION, "limit", "integer");
    act_err(f, datastore_search, &f->anon, rid, "{\"resource_id\": \"@\", \"offset\": -5}",
            ERR_VALIDATION, "offset", NULL);
    act_err(f, datastore_search, &f->anon, rid,
            "{\"resource_id\": \"@\", \"records_format\": \"xml\"}", ERR_VALIDATION,
            "records_format", "objects");
    act_err(f, datastore_search, &f->anon, rid, "{\"resource_id\": \"@\", \"colour\": \"red\"}",
            ERR_VALIDATION, "colour", "not a parameter");
    act_err(f, datastore_search, &f->anon, rid, "{}", ERR_VALIDATION, "resource_id",
            "Missing value");
    act_err(f, datastore_search, &f->anon, bare, "{\"resource_id\": \"@\"}", ERR_NOT_FOUND, NULL,
            NULL);
    act_err(f, datastore_search, &f->anon, NULL,
            "{\"resource_id\": \"00000000-0000-4000-8000-000000000000\"}", ERR_NOT_FOUND, NULL,
            NULL);
    act_err(f, datastore_info, &f->anon, bare, "{\"id\": \"@\"}", ERR_NOT_FOUND, NULL, NULL);
}

static void test_upsert(void **state)
{
    struct fixture *f = *state;
    char rid[UUID_STR_LEN], nokey[UUID_STR_LEN];
    json_t *r, *entries;
    char *body, *rec;

    new_resource(f, "tables", rid);
    new_resource(f, "tables", nokey);
    make_table(f, rid);
    json_decref(ledger_new(f));
    /* upsert (the default): the key's record changes the fields named, a new key is
     * inserted. */
    r = act_ok(f, datastore_upsert, &f->editor, rid,
               "{\"resource_id\": \"@\", \"records\": [{\"n\": 2, \"amount\": \"1.10\"}, {\"n\": "
               "4, \"amount\": 2}]}");
    assert_string_equal(sget(r, "method"), "upsert");
    json_decref(r);
    body = search_body(f, false, &f->anon, rid,
                       "{\"resource_id\": \"@\", \"fields\": \"n,name,amount\", \"filters\": "
                       "{\"n\": [2, 4]}, \"sort\": \"n\"}");
    rec = records_of(body);
    assert_string_equal(rec,
                        "[{\"n\":2,\"name\":\"Beta lake\",\"amount\":1.10},{\"n\":4,\"name\":null,"
                        "\"amount\":2}]");
    free(rec);
    free(body);
    entries = ledger_new(f);
    assert_int_equal(json_array_size(entries), 1);
    assert_string_equal(sget(json_array_get(entries, 0), "type"), "datastore_upsert");
    json_decref(entries);
    /* update: a key no record has is CKAN's 409 naming "key", and nothing changes. */
    act_err(f, datastore_upsert, &f->editor, rid,
            "{\"resource_id\": \"@\", \"method\": \"update\", \"records\": [{\"n\": 1, \"name\": "
            "\"x\"}, {\"n\": 77, \"name\": \"y\"}]}",
            ERR_VALIDATION, "key", "77");
    r = act_ok(f, datastore_search, &f->anon, rid,
               "{\"resource_id\": \"@\", \"filters\": {\"n\": 1}, \"fields\": \"name\"}");
    assert_string_equal(sget(json_array_get(json_object_get(r, "records"), 0), "name"),
                        "Alpha river");
    json_decref(r);
    json_decref(act_ok(f, datastore_upsert, &f->editor, rid,
                       "{\"resource_id\": \"@\", \"method\": \"update\", \"records\": [{\"n\": "
                       "1, \"name\": \"Alpha\"}]}"));
    r = act_ok(f, datastore_search, &f->anon, rid,
               "{\"resource_id\": \"@\", \"filters\": {\"n\": 1}}");
    {
        json_t *one = json_array_get(json_object_get(r, "records"), 0);

        assert_string_equal(sget(one, "name"), "Alpha");
        assert_string_equal(sget(one, "when"), "2020-01-02"); /* kept */
    }
    json_decref(r);
    /* insert: a duplicate key is a conflict. */
    act_err(f, datastore_upsert, &f->editor, rid,
            "{\"resource_id\": \"@\", \"method\": \"insert\", \"records\": [{\"n\": 3}]}",
            ERR_CONFLICT, "records", "duplicate");
    act_err(f, datastore_upsert, &f->editor, rid,
            "{\"resource_id\": \"@\", \"method\": \"merge\", \"records\": []}", ERR_VALIDATION,
            "method", NULL);
    act_err(f, datastore_upsert, &f->editor, rid,
            "{\"resource_id\": \"@\", \"records\": [{\"n\": 5, \"name\": \"a\"}, {\"n\": 6}]}",
            ERR_VALIDATION, "records", "same fields");
    act_err(f, datastore_upsert, &f->editor, rid,
            "{\"resource_id\": \"@\", \"records\": [{\"n\": 5, \"colour\": \"red\"}]}",
            ERR_VALIDATION, "records", "field \"colour\" not in table");
    act_err(f, datastore_upsert, &f->editor, rid,
            "{\"resource_id\": \"@\", \"records\": [{\"n\": 5, \"when\": \"yesterday\"}]}",
            ERR_VALIDATION, "records", "record 1, field \"when\"");
    act_err(f, datastore_upsert, &f->editor, rid,
            "{\"resource_id\": \"@\", \"records\": [{\"_id\": 1, \"name\": \"a\"}]}",
            ERR_VALIDATION, "records", "\"_id\"");
    act_err(f, datastore_upsert, &f->editor, rid, "{\"resource_id\": \"@\", \"records\": [1]}",
            ERR_VALIDATION, "records", "record 1 is not a JSON object");
    /* A table without a primary key only takes inserts. */
    json_decref(act_ok(f, datastore_create, &f->editor, nokey,
                       "{\"resource_id\": \"@\", \"records\": [{\"a\": 1}]}"));
    act_err(f, datastore_upsert, &f->editor, nokey,
            "{\"resource_id\": \"@\", \"records\": [{\"a\": 2}]}", ERR_VALIDATION, "method",
            "no primary key");
    json_decref(act_ok(f, datastore_upsert, &f->editor, nokey,
                       "{\"resource_id\": \"@\", \"method\": \"insert\", \"records\": [{\"a\": 2}, "
                       "{}]}"));
    r = act_ok(f, datastore_search, &f->anon, nokey, "{\"resource_id\": \"@\"}");
    assert_int_equal(json_integer_value(json_object_get(r, "total")), 3);
    json_decref(r);
    json_decref(ledger_new(f));
}

static void test_delete_info(void **state)
{
    struct fixture *f = *state;
    char rid[UUID_STR_LEN];
    struct store_ds_info info = {0};
    struct err err = ERR_INIT;
    json_t *r, *v, *res, *entries;

    new_resource(f, "tables", rid);
    make_table(f, rid);
    /* datastore_info: CKAN 2.10's shape; _id is not a field there. */
    r = act_ok(f, datastore_info, &f->anon, rid, "{\"id\": \"@\"}");
    assert_int_equal(json_integer_value(json_object_get(json_object_get(r, "meta"), "count")), 3);
    assert_string_equal(sget(json_object_get(r, "meta"), "id"), rid);
    assert_int_equal(json_array_size(json_object_get(r, "fields")), 6);
    v = json_array_get(json_object_get(r, "fields"), 0);
    assert_string_equal(sget(v, "id"), "name");
    assert_string_equal(sget(json_object_get(v, "info"), "label"), "Name");
    assert_string_equal(sget(json_object_get(v, "schema"), "native_type"), "text");
    v = json_array_get(json_object_get(r, "fields"), 2);
    assert_true(json_is_true(json_object_get(json_object_get(v, "schema"), "uniquekey")));
    assert_true(json_is_true(json_object_get(json_object_get(v, "schema"), "is_index")));
    assert_string_equal(json_string_value(json_array_get(json_object_get(r, "primary_key"), 0)),
                        "n");
    json_decref(r);
    r = act_ok(f, datastore_info, &f->anon, rid,
               "{\"resource_id\": \"@\", \"include_meta\": false}");
    assert_null(json_object_get(r, "meta"));
    json_decref(r);
    json_decref(ledger_new(f));

    /* With filters: those rows. */
    r = act_ok(f, datastore_delete, &f->editor, rid,
               "{\"resource_id\": \"@\", \"filters\": {\"name\": \"Beta lake\"}}");
    assert_string_equal(sget(json_object_get(r, "filters"), "name"), "Beta lake");
    json_decref(r);
    r = act_ok(f, datastore_search, &f->anon, rid, "{\"resource_id\": \"@\"}");
    assert_int_equal(json_integer_value(json_object_get(r, "total")), 2);
    json_decref(r);
    act_err(f, datastore_delete, &f->editor, rid,
            "{\"resource_id\": \"@\", \"filters\": {\"nope\": 1}}", ERR_VALIDATION, "filters",
            "\"nope\"");
    entries = ledger_new(f);
    assert_int_equal(json_array_size(entries), 1);
    assert_string_equal(sget(json_array_get(entries, 0), "type"), "datastore_delete");
    json_decref(entries);
    /* Without filters ({} too): the table, and datastore_active false. */
    r = act_ok(f, datastore_delete, &f->editor, rid, "{\"resource_id\": \"@\", \"filters\": {}}");
    json_decref(r);
    assert_int_equal(store_ds_info(f->s, rid, &info, &err), -ERR_NOT_FOUND);
    store_ds_info_release(&info);
    assert_int_equal(catalog_resource_authorize(&f->c, &f->anon, rid, false, &res, NULL, &err), 0);
    assert_true(json_is_false(json_object_get(res, "datastore_active")));
    json_decref(res);
    entries = ledger_new(f);
    assert_int_equal(json_array_size(entries), 1);
    assert_string_equal(sget(json_array_get(entries, 0), "type"), "datastore_delete");
    json_decref(entries);
    act_err(f, datastore_delete, &f->editor, rid, "{\"resource_id\": \"@\"}", ERR_NOT_FOUND, NULL,
            NULL);
    act_err(f, datastore_search, &f->anon, rid, "{\"resource_id\": \"@\"}", ERR_NOT_FOUND, NULL,
            NULL);
}

static void test_permissions(void **state)
{
    struct fixture *f = *state;
    char rid[UUID_STR_LEN], prid[UUID_STR_LEN];
    struct err e1 = ERR_INIT, e2 = ERR_INIT;
    json_t *r, *entries, *p;

    new_resource(f, "tables", rid);
    new_resource(f, "secret-tables", prid);
    make_table(f, rid);
    json_decref(act_ok(f, datastore_create, &f->root, prid,
                       "{\"resource_id\": \"@\", \"records\": [{\"secret\": \"s3\"}]}"));
    /* Writes: anonymous and outsiders may not (403 on a public resource, 404 on a
     * private one, whose existence does not leak). */
    act_err(f, datastore_upsert, &f->anon, rid,
            "{\"resource_id\": \"@\", \"records\": [{\"n\": 8}]}", ERR_AUTH, NULL, NULL);
    act_err(f, datastore_upsert, &f->outsider, rid,
            "{\"resource_id\": \"@\", \"records\": [{\"n\": 8}]}", ERR_AUTH, NULL, NULL);
    act_err(f, datastore_delete, &f->member, rid, "{\"resource_id\": \"@\"}", ERR_AUTH, NULL, NULL);
    act_err(f, datastore_create, &f->anon, rid, "{\"resource_id\": \"@\"}", ERR_AUTH, NULL, NULL);
    act_err(f, datastore_create, &f->outsider, rid, "{\"resource_id\": \"@\", \"records\": []}",
            ERR_AUTH, NULL, NULL);
    act_err(f, datastore_upsert, &f->anon, prid,
            "{\"resource_id\": \"@\", \"records\": [{\"secret\": \"x\"}]}", ERR_NOT_FOUND, NULL,
            NULL);
    act_err(f, datastore_delete, &f->outsider, prid, "{\"resource_id\": \"@\"}", ERR_NOT_FOUND,
            NULL, NULL);
    /* Reads of the private table: 404 but for the organization's members. */
    act_err(f, datastore_search, &f->anon, prid, "{\"resource_id\": \"@\"}", ERR_NOT_FOUND, NULL,
            NULL);
    act_err(f, datastore_search, &f->outsider, prid, "{\"resource_id\": \"@\"}", ERR_NOT_FOUND,
            NULL, NULL);
    act_err(f, datastore_info, &f->anon, prid, "{\"id\": \"@\"}", ERR_NOT_FOUND, NULL, NULL);
    r = act_ok(f, datastore_search, &f->member, prid, "{\"resource_id\": \"@\"}");
    assert_string_equal(sget(json_array_get(json_object_get(r, "records"), 0), "secret"), "s3");
    json_decref(r);
    /* SQL: a private table reads as one that does not exist. */
    p = json_pack("{s:s}", "sql", "SELECT * FROM \"00000000-0000-4000-8000-000000000000\"");
    assert_int_equal(datastore_search_sql(&f->c, &f->anon, p, &r, &e1), -ERR_VALIDATION);
    json_decref(p);
    {
        char *sql = xstrfmt("SELECT * FROM \"%s\"", prid);

        p = json_pack("{s:s}", "sql", sql);
        free(sql);
    }
    assert_int_equal(datastore_search_sql(&f->c, &f->anon, p, &r, &e2), -ERR_VALIDATION);
    assert_string_equal(e1.field, "sql");
    assert_string_equal(e2.field, "sql");
    /* The same words as the engine's for a table that does not exist. */
    assert_string_equal(e1.msg, "sql: no such table: 00000000-0000-4000-8000-000000000000");
    {
        char *want = xstrfmt("sql: no such table: %s", prid);

        assert_string_equal(e2.msg, want);
        free(want);
    }
    assert_int_equal(datastore_search_sql(&f->c, &f->member, p, &r, &e2), 0);
    assert_int_equal(json_array_size(json_object_get(r, "records")), 1);
    json_decref(r);
    json_decref(p);
    /* The private dataset's entries carry only ids. */
    json_decref(ledger_new(f));
    json_decref(
            act_ok(f, datastore_upsert, &f->editor, prid,
                   "{\"resource_id\": \"@\", \"method\": \"insert\", \"records\": [{\"secret\": "
                   "\"s4\"}]}"));
    entries = ledger_new(f);
    assert_int_equal(json_array_size(entries), 1);
    assert_string_equal(sget(json_object_get(json_array_get(entries, 0), "objects"), "visibility"),
                        "private");
    assert_null(json_object_get(json_object_get(json_array_get(entries, 0), "objects"), "name"));
    {
        char *text = json_dumps(entries, 0);

        assert_null(strstr(text, "secret-tables"));
        free(text);
    }
    json_decref(entries);
}

static void test_sql(void **state)
{
    struct fixture *f = *state;
    char a[UUID_STR_LEN], b[UUID_STR_LEN], *body, *rec, *q;

    new_resource(f, "tables", a);
    new_resource(f, "tables", b);
    make_table(f, a);
    json_decref(act_ok(f, datastore_create, &f->editor, b,
                       "{\"resource_id\": \"@\", \"fields\": [{\"id\": \"n\", \"type\": \"int\"}, "
                       "{\"id\": \"label\", \"type\": \"text\"}], \"records\": [{\"n\": 1, "
                       "\"label\": \"one\"}, {\"n\": 3, \"label\": \"three\"}]}"));
    q = xstrfmt("{\"sql\": \"SELECT a.name, b.label, a.amount FROM \\\"%s\\\" a JOIN \\\"%s\\\" b "
                "ON a.n = b.n ORDER BY a.n\"}",
                a, b);
    body = search_body(f, true, &f->anon, NULL, q);
    free(q);
    rec = xstrndup(strstr(body, "\"records\":") + 10, 1000);
    assert_true(starts_with(rec, "[{\"name\":\"Alpha river\",\"label\":\"one\",\"amount\":315.70},"
                                 "{\"name\":\"Gamma river, north\",\"label\":\"three\",\"amount\":"
                                 "12345678901234567890.123}]"));
    assert_non_null(strstr(body, "\"fields\":[{\"id\":\"name\",\"type\":\"text\"},{\"id\":"
                                 "\"label\",\"type\":\"text\"},{\"id\":\"amount\",\"type\":"
                                 "\"numeric\"}]"));
    assert_null(strstr(body, "records_truncated"));
    free(rec);
    free(body);
    /* Refusals name "sql"; the table is unchanged. */
    q = xstrfmt("{\"sql\": \"DELETE FROM \\\"%s\\\"\"}", a);
    act_err(f, datastore_search_sql, &f->anon, NULL, q, ERR_VALIDATION, "sql", NULL);
    free(q);
    q = xstrfmt("{\"sql\": \"SELECT 1; DROP TABLE \\\"%s\\\"\"}", a);
    act_err(f, datastore_search_sql, &f->anon, NULL, q, ERR_VALIDATION, "sql", NULL);
    free(q);
    act_err(f, datastore_search_sql, &f->anon, NULL, "{\"sql\": \"SELECT * FROM sqlite_master\"}",
            ERR_VALIDATION, "sql", NULL);
    act_err(f, datastore_search_sql, &f->anon, NULL, "{}", ERR_VALIDATION, "sql", "Missing value");
    act_err(f, datastore_search_sql, &f->anon, NULL, "{\"sql\": \"SELECT 1\", \"limit\": 5}",
            ERR_VALIDATION, "limit", NULL);
    {
        json_t *r = act_ok(f, datastore_search, &f->anon, a, "{\"resource_id\": \"@\"}");

        assert_int_equal(json_integer_value(json_object_get(r, "total")), 3);
        json_decref(r);
    }
    /* LIMIT_DATASTORE_SQL bytes of sql pass the length check; one more does not. */
    {
        struct buf sql = BUF_INIT;
        struct err err = ERR_INIT;
        json_t *p, *r = NULL;

        buf_addstr(&sql, "SELECT 1");
        while (sql.len < LIMIT_DATASTORE_SQL)
            buf_addch(&sql, ' ');
        p = json_pack("{s:s}", "sql", sql.buf);
        assert_int_equal(datastore_search_sql(&f->c, &f->anon, p, &r, &err), 0);
        json_decref(r);
        json_decref(p);
        buf_addch(&sql, ' ');
        p = json_pack("{s:s}", "sql", sql.buf);
        assert_int_equal(datastore_search_sql(&f->c, &f->anon, p, &r, &err), -ERR_VALIDATION);
        assert_string_equal(err.field, "sql");
        assert_non_null(strstr(err.msg, "longer than"));
        json_decref(p);
        buf_release(&sql);
    }
    /* The row cap: LIMIT_DATASTORE_SQL_ROWS rows and records_truncated. */
    {
        char *sql = xstrfmt("{\"sql\": \"WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 "
                            "FROM c WHERE x < %u) SELECT x FROM c\"}",
                            LIMIT_DATASTORE_SQL_ROWS + 5);
        json_t *r = act_ok(f, datastore_search_sql, &f->anon, NULL, sql);

        assert_int_equal(json_array_size(json_object_get(r, "records")), LIMIT_DATASTORE_SQL_ROWS);
        assert_true(json_is_true(json_object_get(r, "records_truncated")));
        json_decref(r);
        free(sql);
    }
}

static void test_alter(void **state)
{
    struct fixture *f = *state;
    char rid[UUID_STR_LEN], *body, *rec;
    json_t *r, *v;

    new_resource(f, "tables", rid);
    json_decref(act_ok(f, datastore_create, &f->editor, rid,
                       "{\"resource_id\": \"@\", \"records\": [{\"code\": \"007\", \"n\": \"12\"}, "
                       "{\"code\": \"010\", \"n\": 3, \"when\": \"2020-01-01\"}]}"));
    /* Types inferred over every value: codes with leading zeros stay text. */
    r = act_ok(f, datastore_info, &f->anon, rid, "{\"id\": \"@\"}");
    v = json_object_get(r, "fields");
    assert_string_equal(sget(json_array_get(v, 0), "type"), "text");
    assert_string_equal(sget(json_array_get(v, 1), "type"), "int8");
    assert_string_equal(sget(json_array_get(v, 2), "id"), "when");
    assert_string_equal(sget(json_array_get(v, 2), "type"), "date");
    json_decref(r);
    /* A new field through the records: the table is rebuilt, old rows get NULL. */
    json_decref(act_ok(f, datastore_create, &f->editor, rid,
                       "{\"resource_id\": \"@\", \"records\": [{\"code\": \"011\", \"price\": "
                       "1.5}]}"));
    body = search_body(f, false, &f->anon, rid, "{\"resource_id\": \"@\"}");
    rec = records_of(body);
    assert_string_equal(rec,
                        "[{\"_id\":1,\"code\":\"007\",\"n\":12,\"when\":null,\"price\":null},"
                        "{\"_id\":2,\"code\":\"010\",\"n\":3,\"when\":\"2020-01-01\",\"price\":"
                        "null},{\"_id\":3,\"code\":\"011\",\"n\":null,\"when\":null,\"price\":"
                        "1.5}]");
    free(rec);
    free(body);
    /* Re-typing a table made through the API converts its values; one that does not fit
     * is refused naming its _id, and the table stays. */
    act_err(f, datastore_create, &f->editor, rid,
            "{\"resource_id\": \"@\", \"fields\": [{\"id\": \"code\", \"type\": \"date\"}]}",
            ERR_VALIDATION, "fields", "_id 1");
    json_decref(act_ok(f, datastore_create, &f->editor, rid,
                       "{\"resource_id\": \"@\", \"fields\": [{\"id\": \"n\", \"type\": "
                       "\"numeric\"}, {\"id\": \"when\", \"type\": \"text\", \"info\": {\"label\": "
                       "\"When\"}}], \"primary_key\": [\"code\"], \"indexes\": \"n\"}"));
    r = act_ok(f, datastore_info, &f->anon, rid, "{\"id\": \"@\"}");
    v = json_object_get(r, "fields");
    assert_string_equal(sget(json_array_get(v, 1), "type"), "numeric");
    assert_string_equal(sget(json_array_get(v, 2), "type"), "text");
    assert_string_equal(sget(json_object_get(json_array_get(v, 2), "info"), "label"), "When");
    assert_true(json_is_true(
            json_object_get(json_object_get(json_array_get(v, 1), "schema"), "is_index")));
    assert_string_equal(json_string_value(json_array_get(json_object_get(r, "primary_key"), 0)),
                        "code");
    json_decref(r);
    /* info alone: the data dictionary, not the rows. */
    json_decref(act_ok(f, datastore_create, &f->editor, rid,
                       "{\"resource_id\": \"@\", \"fields\": [{\"id\": \"code\", \"info\": "
                       "{\"label\": \"Code\", \"notes\": \"GB/T\"}}]}"));
    r = act_ok(f, datastore_search, &f->anon, rid,
               "{\"resource_id\": \"@\", \"fields\": \"code\"}");
    v = json_array_get(json_object_get(r, "fields"), 0);
    assert_string_equal(sget(json_object_get(v, "info"), "notes"), "GB/T");
    assert_int_equal(json_integer_value(json_object_get(r, "total")), 3);
    json_decref(r);
    /* The key now refuses a duplicate through datastore_create's insert. */
    act_err(f, datastore_create, &f->editor, rid,
            "{\"resource_id\": \"@\", \"records\": [{\"code\": \"007\"}]}", ERR_CONFLICT, NULL,
            NULL);
    /* A rebuild for a new field keeps the key and the indexes. */
    json_decref(act_ok(f, datastore_create, &f->editor, rid,
                       "{\"resource_id\": \"@\", \"records\": [{\"code\": \"012\", \"extra\": "
                       "true}]}"));
    r = act_ok(f, datastore_info, &f->anon, rid, "{\"id\": \"@\"}");
    v = json_object_get(r, "fields");
    assert_string_equal(sget(json_array_get(v, 4), "id"), "extra");
    assert_string_equal(sget(json_array_get(v, 4), "type"), "bool");
    assert_true(json_is_true(
            json_object_get(json_object_get(json_array_get(v, 1), "schema"), "is_index")));
    assert_string_equal(json_string_value(json_array_get(json_object_get(r, "primary_key"), 0)),
                        "code");
    assert_string_equal(sget(json_object_get(json_array_get(v, 0), "info"), "notes"), "GB/T");
    json_decref(r);
    /* Field names: CKAN's rules. */
    act_err(f, datastore_create, &f->editor, rid,
            "{\"resource_id\": \"@\", \"fields\": [{\"id\": \"_x\"}]}", ERR_VALIDATION, "fields",
            "not a valid field name");
    act_err(f, datastore_create, &f->editor, rid,
            "{\"resource_id\": \"@\", \"fields\": [{\"id\": \"a\\\"b\"}]}", ERR_VALIDATION,
            "fields", "not a valid field name");
    act_err(f, datastore_create, &f->editor, rid,
            "{\"resource_id\": \"@\", \"fields\": [{\"id\": \"a\"}, {\"id\": \"a\"}]}",
            ERR_VALIDATION, "fields", "Duplicate");
    act_err(f, datastore_create, &f->editor, rid,
            "{\"resource_id\": \"@\", \"fields\": [{\"id\": "
            "\"a234567890123456789012345678901234567890123456789012345678901234\"}]}",
            ERR_VALIDATION, "fields", "exceeds limit of 63");
    act_err(f, datastore_create, &f->editor, rid,
            "{\"resource_id\": \"@\", \"fields\": [{\"id\": \"a\", \"type\": \"money\"}]}",
            ERR_VALIDATION, "fields", "not a valid field type");
    act_err(f, datastore_create, &f->editor, rid,
            "{\"resource_id\": \"@\", \"records\": [{\"_hidden\": 1}]}", ERR_VALIDATION, "records",
            NULL);
    act_err(f, datastore_create, &f->editor, rid,
            "{\"resource_id\": \"@\", \"primary_key\": \"nope\"}", ERR_VALIDATION, "primary_key",
            "\"nope\"");
    act_err(f, datastore_create, &f->editor, rid, "{\"resource_id\": \"@\", \"indexes\": \"nope\"}",
            ERR_VALIDATION, "indexes", "\"nope\"");
    act_err(f, datastore_create, &f->editor, rid, "{\"resource_id\": \"@\", \"aliases\": [\"x\"]}",
            ERR_VALIDATION, "aliases", NULL);
}

static void test_create_resource(void **state)
{
    struct fixture *f = *state;
    char rid[UUID_STR_LEN];
    json_t *r, *res;
    struct err err = ERR_INIT;
    const char *id;

    new_resource(f, "tables", rid);
    r = act_ok(f, datastore_create, &f->editor, NULL,
               "{\"resource\": {\"package_id\": \"tables\", \"name\": \"made here\"}, \"fields\": "
               "[{\"id\": \"a\", \"type\": \"text\"}], \"records\": [{\"a\": \"x\"}]}");
    id = sget(r, "resource_id");
    assert_non_null(id);
    assert_int_equal(catalog_resource_authorize(&f->c, &f->anon, id, false, &res, NULL, &err), 0);
    assert_string_equal(sget(res, "name"), "made here");
    assert_true(json_is_true(json_object_get(res, "datastore_active")));
    json_decref(res);
    json_decref(r);
    act_err(f, datastore_create, &f->editor, rid,
            "{\"resource_id\": \"@\", \"resource\": {\"package_id\": \"tables\"}}", ERR_VALIDATION,
            "resource", "cannot be used with resource_id");
    act_err(f, datastore_create, &f->editor, NULL, "{\"fields\": []}", ERR_VALIDATION,
            "resource_id", "resource_id or resource required");
    act_err(f, datastore_create, &f->outsider, NULL, "{\"resource\": {\"package_id\": \"tables\"}}",
            ERR_AUTH, NULL, NULL);
}

/* A table whose meta says it came from an ingest is read-only without force (CKAN's
 * _check_read_only). */
static void test_read_only(void **state)
{
    struct fixture *f = *state;
    char rid[UUID_STR_LEN];
    struct store_ds_field fields[] = {{"a", DSTYPE_TEXT}};
    struct store_ds_table_def def;
    struct store_ds_build *b = NULL;
    struct dsvalue v = {DSVALUE_TEXT, 0, "x", 1};
    struct err err = ERR_INIT;
    json_t *meta = parse("{\"source\": {\"sha256\": \"00\"}, \"fields_info\": {}}");

    new_resource(f, "tables", rid);
    memset(&def, 0, sizeof(def));
    def.fields = fields;
    def.nfields = 1;
    def.fulltext = true;
    def.tokenize = catalog_search_text;
    assert_int_equal(store_ds_build_begin(f->s, rid, &def, &b, &err), 0);
    assert_int_equal(store_ds_build_row(b, &v, &err), 0);
    assert_int_equal(store_ds_build_commit(b, meta, NULL, &err), 0);
    json_decref(meta);
    act_err(f, datastore_upsert, &f->editor, rid,
            "{\"resource_id\": \"@\", \"method\": \"insert\", \"records\": [{\"a\": \"y\"}]}",
            ERR_VALIDATION, "read-only", "force=True");
    act_err(f, datastore_delete, &f->editor, rid, "{\"resource_id\": \"@\"}", ERR_VALIDATION,
            "read-only", NULL);
    json_decref(act_ok(f, datastore_upsert, &f->editor, rid,
                       "{\"resource_id\": \"@\", \"force\": true, \"method\": \"insert\", "
                       "\"records\": [{\"a\": \"y\"}]}"));
    json_decref(act_ok(f, datastore_delete, &f->editor, rid,
                       "{\"resource_id\": \"@\", \"force\": \"true\", \"filters\": {\"a\": "
                       "\"x\"}}"));
    {
        json_t *r = act_ok(f, datastore_search, &f->anon, rid, "{\"resource_id\": \"@\"}");

        assert_int_equal(json_integer_value(json_object_get(r, "total")), 1);
        json_decref(r);
    }
}

static void test_limits(void **state)
{
    struct fixture *f = *state;
    char rid[UUID_STR_LEN];
    struct err err = ERR_INIT;
    json_t *p, *records, *one, *fields, *r = NULL;

    new_resource(f, "tables", rid);
    make_table(f, rid);
    /* LIMIT_DATASTORE_RECORDS + 1 records: refused before anything is read. */
    records = json_array();
    one = json_object();
    for (unsigned i = 0; i < LIMIT_DATASTORE_RECORDS + 1; i++)
        json_array_append(records, one);
    json_decref(one);
    p = json_pack("{s:s,s:o,s:s}", "resource_id", rid, "records", records, "method", "insert");
    assert_int_equal(datastore_upsert(&f->c, &f->editor, p, &r, &err), -ERR_VALIDATION);
    assert_string_equal(err.field, "records");
    assert_non_null(strstr(err.msg, "too many records"));
    err_clear(&err);
    assert_int_equal(datastore_create(&f->c, &f->editor, p, &r, &err), -ERR_VALIDATION);
    assert_string_equal(err.field, "method"); /* datastore_create has no method */
    json_object_del(p, "method");
    err_clear(&err);
    assert_int_equal(datastore_create(&f->c, &f->editor, p, &r, &err), -ERR_VALIDATION);
    assert_string_equal(err.field, "records");
    /* LIMIT_DATASTORE_RECORDS records of LIMIT_DATASTORE_CELLS / … fields: past the
     * values' limit. */
    json_array_remove(json_object_get(p, "records"), 0);
    one = json_array_get(json_object_get(p, "records"), 0);
    for (unsigned i = 0; i <= LIMIT_DATASTORE_CELLS / LIMIT_DATASTORE_RECORDS; i++) {
        char id[16];

        xsnprintf(id, sizeof(id), "f%u", i);
        json_object_set_new(one, id, json_null());
    }
    err_clear(&err);
    assert_int_equal(datastore_create(&f->c, &f->editor, p, &r, &err), -ERR_VALIDATION);
    assert_string_equal(err.field, "records");
    assert_non_null(strstr(err.msg, "too many values"));
    json_decref(p);
    /* LIMIT_DATASTORE_FIELDS + 1 fields. */
    fields = json_array();
    for (unsigned i = 0; i < LIMIT_DATASTORE_FIELDS + 1; i++) {
        char id[16];

        xsnprintf(id, sizeof(id), "c%u", i);
        json_array_append_new(fields, json_pack("{s:s,s:s}", "id", id, "type", "text"));
    }
    p = json_pack("{s:s,s:o}", "resource_id", rid, "fields", fields);
    err_clear(&err);
    assert_int_equal(datastore_create(&f->c, &f->editor, p, &r, &err), -ERR_VALIDATION);
    assert_string_equal(err.field, "fields");
    assert_non_null(strstr(err.msg, "more than 1000 fields"));
    json_decref(p);
    /* The table is as it was. */
    r = act_ok(f, datastore_search, &f->anon, rid, "{\"resource_id\": \"@\"}");
    assert_int_equal(json_integer_value(json_object_get(r, "total")), 3);
    assert_int_equal(json_array_size(json_object_get(r, "fields")), 7);
    json_decref(r);
}

/* Names and values with SQL in them are names that are not fields, and values. */
static void test_injection(void **state)
{
    struct fixture *f = *state;
    char rid[UUID_STR_LEN];
    json_t *r;

    new_resource(f, "tables", rid);
    make_table(f, rid);
    json_decref(act_ok(f, datastore_upsert, &f->editor, rid,
                       "{\"resource_id\": \"@\", \"records\": [{\"n\": 10, \"name\": \"x'); DROP "
                       "TABLE t; --\"}]}"));
    r = act_ok(f, datastore_search, &f->anon, rid,
               "{\"resource_id\": \"@\", \"filters\": {\"name\": \"x'); DROP TABLE t; --\"}}");
    assert_int_equal(json_integer_value(json_object_get(r, "total")), 1);
    json_decref(r);
    r = act_ok(f, datastore_search, &f->anon, rid,
               "{\"resource_id\": \"@\", \"filters\": {\"name\": \"' OR '1'='1\"}}");
    assert_int_equal(json_integer_value(json_object_get(r, "total")), 0);
    json_decref(r);
    r = act_ok(f, datastore_search, &f->anon, rid,
               "{\"resource_id\": \"@\", \"q\": \"\\\" OR 1=1 --\"}");
    assert_int_equal(json_integer_value(json_object_get(r, "total")), 0);
    json_decref(r);
    act_err(f, datastore_search, &f->anon, rid,
            "{\"resource_id\": \"@\", \"sort\": \"n; DELETE FROM t\"}", ERR_VALIDATION, "sort",
            NULL);
    act_err(f, datastore_search, &f->anon, rid,
            "{\"resource_id\": \"@\", \"fields\": \"n, (SELECT 1)\"}", ERR_VALIDATION, "fields",
            NULL);
    act_err(f, datastore_search, &f->anon, rid,
            "{\"resource_id\": \"@\", \"filters\": {\"n) OR (1\": 1}}", ERR_VALIDATION, "filters",
            NULL);
    r = act_ok(f, datastore_search, &f->anon, rid, "{\"resource_id\": \"@\"}");
    assert_int_equal(json_integer_value(json_object_get(r, "total")), 4);
    json_decref(r);
}

/* The table of rid as a text to compare: its fields and rows, or "none". */
static char *table_snapshot(struct fixture *f, const char *rid)
{
    struct err err = ERR_INIT;
    json_t *p = json_pack("{s:s,s:s}", "resource_id", rid, "sort", "_id"), *r = NULL;
    char *text;

    if (datastore_search(&f->c, &f->root, p, &r, &err)) {
        json_decref(p);
        return xstrdup("none");
    }
    json_object_del(r, "_links");
    text = json_dumps(r, JSON_SORT_KEYS | JSON_COMPACT);
    json_decref(r);
    json_decref(p);
    return text;
}

/* Whether an injected failure's message names a write of a table (not of the catalog). */
static bool table_write(const char *msg)
{
    static const char *const writes[] = {"(store_ds_build_commit)", "(store_ds_upsert)",
                                         "(store_ds_delete)",       "(store_ds_drop)",
                                         "(store_ds_meta_put)",     "(store_ds_index_create)"};

    for (size_t i = 0; i < ARRAY_SIZE(writes); i++)
        if (strstr(msg, writes[i]))
            return true;
    return false;
}

/* Every write, with each of its store writes failing in turn (KAIFANG_FAIL_STORE_AT): a
 * clean -ERR_INTERNAL, no ledger entry, and the table as it was when a table write
 * failed (a failure of the catalog's transaction after the table changed leaves the
 * change without its entry: docs/internals/datastore.md, "Writes"). */
static void test_failure_injection(void **state)
{
    struct fixture *f = *state;
    static const struct {
        const char *what;
        catalog_action_fn fn;
        bool table; /* the resource gets the standard table first */
        const char *params;
        const char *type;
    } cases[] = {
            {"create", datastore_create, false, table_params, "datastore_create"},
            {"create+field", datastore_create, true,
             "{\"resource_id\": \"@\", \"records\": [{\"n\": 8, \"extra\": \"x\"}]}",
             "datastore_create"},
            {"create+info", datastore_create, true,
             "{\"resource_id\": \"@\", \"fields\": [{\"id\": \"n\", \"info\": {\"label\": "
             "\"N\"}}], \"indexes\": [\"amount\"]}",
             "datastore_create"},
            {"upsert", datastore_upsert, true,
             "{\"resource_id\": \"@\", \"records\": [{\"n\": 2, \"name\": \"B\"}, {\"n\": 9, "
             "\"name\": \"I\"}]}",
             "datastore_upsert"},
            {"delete filters", datastore_delete, true,
             "{\"resource_id\": \"@\", \"filters\": {\"n\": [1, 3]}}", "datastore_delete"},
            {"delete table", datastore_delete, true, "{\"resource_id\": \"@\"}",
             "datastore_delete"},
    };
    char db[128];

    xsnprintf(db, sizeof(db), "%s/kaifang.db", f->dir);
    for (size_t k = 0; k < ARRAY_SIZE(cases); k++) {
        int ret = -1, n, failures = 0;

        for (n = 1; n < 40 && ret; n++) {
            char rid[UUID_STR_LEN], num[16], *before, *after;
            struct store *s2 = NULL;
            struct catalog c2;
            struct err err = ERR_INIT;
            struct buf text = BUF_INIT;
            json_t *p, *result = NULL, *entries;

            new_resource(f, "tables", rid);
            if (cases[k].table)
                make_table(f, rid);
            json_decref(ledger_new(f));
            before = table_snapshot(f, rid);
            for (const char *c = cases[k].params; *c; c++) {
                if (*c == '@')
                    buf_addstr(&text, rid);
                else
                    buf_addch(&text, *c);
            }
            p = parse(text.buf);
            xsnprintf(num, sizeof(num), "%d", n);
            setenv("KAIFANG_FAIL_STORE_AT", num, 1);
            assert_int_equal(store_open(&s2, db, false, &err), 0);
            unsetenv("KAIFANG_FAIL_STORE_AT");
            store_fail_count_reset();
            catalog_init(&c2, s2, f->files, "http://portal.test");
            ret = cases[k].fn(&c2, &f->editor, p, &result, &err);
            catalog_release(&c2);
            store_free(s2);
            entries = ledger_new(f);
            after = table_snapshot(f, rid);
            if (ret) {
                if (ret != -ERR_INTERNAL)
                    fail_msg("%s at write %d: %d %s", cases[k].what, n, ret, err.msg);
                assert_null(result);
                assert_int_equal(json_array_size(entries), 0);
                if (table_write(err.msg) && strcmp(before, after))
                    fail_msg("%s failed at write %d (%s) but changed the table", cases[k].what, n,
                             err.msg);
                failures++;
            } else {
                assert_int_equal(json_array_size(entries), 1);
                assert_string_equal(sget(json_array_get(entries, 0), "type"), cases[k].type);
                assert_string_not_equal(before, after);
            }
            json_decref(result);
            json_decref(entries);
            json_decref(p);
            buf_release(&text);
            free(before);
            free(after);
        }
        if (ret)
            fail_msg("%s never succeeded", cases[k].what);
        if (failures < 2)
            fail_msg("%s: %d injected failures", cases[k].what, failures);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_sort),
            cmocka_unit_test(test_fields),
            cmocka_unit_test(test_filters),
            cmocka_unit_test(test_q),
            cmocka_unit_test(test_values),
            cmocka_unit_test(test_json_values),
            cmocka_unit_test_setup_teardown(test_create_shape, setup, teardown),
            cmocka_unit_test_setup_teardown(test_search_shapes, setup, teardown),
            cmocka_unit_test_setup_teardown(test_search_errors, setup, teardown),
            cmocka_unit_test_setup_teardown(test_upsert, setup, teardown),
            cmocka_unit_test_setup_teardown(test_delete_info, setup, teardown),
            cmocka_unit_test_setup_teardown(test_permissions, setup, teardown),
            cmocka_unit_test_setup_teardown(test_sql, setup, teardown),
            cmocka_unit_test_setup_teardown(test_alter, setup, teardown),
            cmocka_unit_test_setup_teardown(test_create_resource, setup, teardown),
            cmocka_unit_test_setup_teardown(test_read_only, setup, teardown),
            cmocka_unit_test_setup_teardown(test_limits, setup, teardown),
            cmocka_unit_test_setup_teardown(test_injection, setup, teardown),
            cmocka_unit_test_setup_teardown(test_failure_injection, setup, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
