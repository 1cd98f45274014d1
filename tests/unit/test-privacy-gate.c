/*
 * test-privacy-gate.c - the k the publish gate judges (privacy/kclass.h: equivalence
 * classes over quasi-identifiers, as they are) and the gate's decision on a report
 * (catalog_privacy_gate(); docs/internals/privacy-gate.md), and the classes a publisher
 * declares in the data dictionary (ds_privacy_declare(), catalog_privacy_personal()).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <string.h>

#include <jansson.h>

#include "catalog/catalog.h"
#include "datastore/datastore-int.h"
#include "privacy/kclass.h"

static struct dsvalue text(const char *s)
{
    struct dsvalue v = {DSVALUE_TEXT, 0, s, strlen(s)};
    return v;
}

static struct dsvalue integer(int64_t i)
{
    struct dsvalue v = {DSVALUE_INT, i, NULL, 0};
    return v;
}

static struct dsvalue null(void)
{
    struct dsvalue v = {DSVALUE_NULL, 0, NULL, 0};
    return v;
}

static void test_kclass_by_hand(void **state)
{
    /* sex, age: (F,30) ×3, (M,30) ×2, (F,41) ×1 → classes of 3, 2 and 1: k = 1 */
    static const char *const sex[] = {"F", "F", "M", "F", "M", "F"};
    static const int64_t age[] = {30, 30, 30, 41, 30, 30};
    struct kclass *k = kclass_new(2);

    (void)state;
    assert_int_equal(kclass_min(k), 0);
    for (size_t i = 0; i < 6; i++) {
        struct dsvalue row[2] = {text(sex[i]), integer(age[i])};
        kclass_add(k, row);
    }
    assert_int_equal(kclass_rows(k), 6);
    assert_int_equal(kclass_classes(k), 3);
    assert_int_equal(kclass_min(k), 1);
    assert_int_equal(kclass_rows_below(k, 3), 3); /* the class of 2 and the class of 1 */
    assert_int_equal(kclass_rows_below(k, 2), 1);
    kclass_free(k);
}

static void test_kclass_keys_do_not_collide(void **state)
{
    /* Values whose bytes run together must stay apart: ("ab","c") and ("a","bc"); the
     * text "1" and the integer 1; NULL and the empty text. */
    struct kclass *k = kclass_new(2);
    struct dsvalue r1[2] = {text("ab"), text("c")}, r2[2] = {text("a"), text("bc")};
    struct dsvalue r3[2] = {text("1"), null()}, r4[2] = {integer(1), null()};
    struct dsvalue r5[2] = {text(""), null()}, r6[2] = {null(), null()};

    (void)state;
    kclass_add(k, r1);
    kclass_add(k, r2);
    kclass_add(k, r3);
    kclass_add(k, r4);
    kclass_add(k, r5);
    kclass_add(k, r6);
    assert_int_equal(kclass_classes(k), 6);
    assert_int_equal(kclass_min(k), 1);
    kclass_add(k, r6);
    kclass_add(k, r2);
    assert_int_equal(kclass_classes(k), 6);
    kclass_free(k);
}

static void test_kclass_many(void **state)
{
    /* 100,000 rows over 20,000 combinations of five each, then one alone: the table grows
     * past many resizes and still counts exactly. */
    struct kclass *k = kclass_new(2);
    char buf[32];

    (void)state;
    for (int64_t i = 0; i < 100000; i++) {
        struct dsvalue row[2];

        snprintf(buf, sizeof(buf), "v%d", (int)(i % 20000 / 100));
        row[0] = text(buf);
        row[1] = integer(i % 100);
        kclass_add(k, row);
    }
    assert_int_equal(kclass_classes(k), 20000);
    assert_int_equal(kclass_min(k), 5);
    assert_int_equal(kclass_rows_below(k, 5), 0);
    {
        struct dsvalue row[2] = {text("alone"), integer(0)};
        kclass_add(k, row);
    }
    assert_int_equal(kclass_min(k), 1);
    assert_int_equal(kclass_rows_below(k, 5), 1);
    kclass_free(k);
}

static json_t *report(const char *columns, const char *qis, int k)
{
    json_t *r = json_loads(columns, 0, NULL);
    json_t *rep = json_pack("{s:o,s:o,s:s,s:i}", "columns", r, "quasi_identifiers",
                            json_loads(qis, 0, NULL), "source_sha256", "aa", "rows", 100);

    assert_non_null(rep);
    json_object_set_new(rep, "k", k < 0 ? json_null() : json_integer(k));
    return rep;
}

static const char *status(json_t *v)
{
    return json_string_value(json_object_get(v, "status"));
}

static void test_gate_decision(void **state)
{
    json_t *rep, *v;

    (void)state;
    /* An ID number column found by its values: blocked, named. */
    rep = report(
            "[{\"name\": \"身份证号\", \"class\": \"direct_identifier\", \"reason\": \"values\"},"
            " {\"name\": \"年份\", \"class\": \"other\"}]",
            "[]", -1);
    v = catalog_privacy_gate(rep, 5);
    assert_string_equal(status(v), "blocked");
    assert_true(catalog_privacy_blocked(v));
    assert_non_null(strstr(json_string_value(json_object_get(v, "message")), "\"身份证号\""));
    assert_string_equal(json_string_value(json_object_get(
                                json_array_get(json_object_get(v, "reasons"), 0), "reason")),
                        "direct_identifier");
    json_decref(v);

    /* Overridden for this file; not for another one. */
    json_object_set_new(rep, "override",
                        json_pack("{s:s,s:s}", "user", "b", "source_sha256", "aa"));
    v = catalog_privacy_gate(rep, 5);
    assert_string_equal(status(v), "overridden");
    assert_false(catalog_privacy_blocked(v));
    json_decref(v);
    json_object_set_new(rep, "override",
                        json_pack("{s:s,s:s}", "user", "b", "source_sha256", "bb"));
    v = catalog_privacy_gate(rep, 5);
    assert_string_equal(status(v), "blocked");
    json_decref(v);
    json_decref(rep);

    /* Quasi-identifiers below k with a sensitive attribute: blocked at k 5, passes at 2. */
    rep = report("[{\"name\": \"性别\", \"class\": \"quasi_identifier\", \"reason\": \"name\"},"
                 " {\"name\": \"年龄\", \"class\": \"quasi_identifier\", \"reason\": \"name\"},"
                 " {\"name\": \"诊断\", \"class\": \"sensitive\", \"reason\": \"name\"}]",
                 "[\"性别\", \"年龄\"]", 2);
    v = catalog_privacy_gate(rep, 5);
    assert_string_equal(status(v), "blocked");
    assert_non_null(strstr(json_string_value(json_object_get(v, "message")),
                           "reach k = 2, below the portal's k = 5"));
    json_decref(v);
    v = catalog_privacy_gate(rep, 2);
    assert_string_equal(status(v), "passed");
    assert_null(json_object_get(v, "message"));
    json_decref(v);
    json_decref(rep);

    /* A life table: age and sex by their names, nothing about people: k reported, not
     * enforced. */
    rep = report("[{\"name\": \"Age\", \"class\": \"quasi_identifier\", \"reason\": \"name\"},"
                 " {\"name\": \"Sex\", \"class\": \"quasi_identifier\", \"reason\": \"name\"},"
                 " {\"name\": \"q\", \"class\": \"other\"}]",
                 "[\"Age\", \"Sex\"]", 1);
    v = catalog_privacy_gate(rep, 5);
    assert_string_equal(status(v), "passed");
    assert_false(json_is_true(json_object_get(v, "k_enforced")));
    json_decref(v);
    json_decref(rep);

    /* "name" of countries: a direct identifier by its column's name alone, in a table
     * with nothing personal: passes; beside a sensitive attribute it blocks. */
    rep = report("[{\"name\": \"name\", \"class\": \"direct_identifier\", \"reason\": \"name\"},"
                 " {\"name\": \"alpha_2\", \"class\": \"other\"}]",
                 "[]", -1);
    v = catalog_privacy_gate(rep, 5);
    assert_string_equal(status(v), "passed");
    json_decref(v);
    json_array_append_new(json_object_get(rep, "columns"),
                          json_pack("{s:s,s:s,s:s}", "name", "diagnosis", "class", "sensitive",
                                    "reason", "name"));
    v = catalog_privacy_gate(rep, 5);
    assert_string_equal(status(v), "blocked");
    json_decref(v);
    json_decref(rep);

    /* A table without rows reaches any k (k null). */
    rep = report("[{\"name\": \"性别\", \"class\": \"quasi_identifier\", \"reason\": \"name\"},"
                 " {\"name\": \"诊断\", \"class\": \"sensitive\", \"reason\": \"name\"}]",
                 "[\"性别\"]", -1);
    v = catalog_privacy_gate(rep, 5);
    assert_string_equal(status(v), "passed");
    json_decref(v);
    json_decref(rep);
}

static const char *col_str(json_t *rep, size_t i, const char *key)
{
    return json_string_value(
            json_object_get(json_array_get(json_object_get(rep, "columns"), i), key));
}

static void test_declared_classes(void **state)
{
    json_t *rep, *finfo, *v, *lowered;
    const char *msg;

    (void)state;
    /* 甲: nothing found, declared a quasi-identifier: raised. 乙: a quasi-identifier by its
     * name, declared other: shown, not applied. 丙: ID numbers found, declared other: the
     * gate keeps blocking and says that only an override lets it through. */
    rep = report("[{\"name\": \"甲\", \"class\": \"other\"},"
                 " {\"name\": \"乙\", \"class\": \"quasi_identifier\", \"reason\": \"name\"},"
                 " {\"name\": \"丙\", \"class\": \"direct_identifier\", \"reason\": \"values\"}]",
                 "[\"乙\"]", 1);
    finfo = json_loads("{\"甲\": {\"privacy_class\": \"quasi_identifier\"},"
                       " \"乙\": {\"label\": \"x\", \"privacy_class\": \"other\"},"
                       " \"丙\": {\"privacy_class\": \"other\"}}",
                       0, NULL);
    assert_true(ds_privacy_declare(rep, finfo));
    assert_string_equal(col_str(rep, 0, "class"), "quasi_identifier");
    assert_string_equal(col_str(rep, 0, "reason"), "declared");
    assert_string_equal(col_str(rep, 0, "detected"), "other");
    assert_string_equal(col_str(rep, 0, "declared"), "quasi_identifier");
    assert_string_equal(col_str(rep, 1, "class"), "quasi_identifier");
    assert_string_equal(col_str(rep, 1, "reason"), "name");
    assert_string_equal(col_str(rep, 1, "declared"), "other");
    assert_string_equal(col_str(rep, 2, "class"), "direct_identifier");
    assert_int_equal(json_array_size(json_object_get(rep, "quasi_identifiers")), 2);
    assert_string_equal(
            json_string_value(json_array_get(json_object_get(rep, "quasi_identifiers"), 0)), "甲");
    assert_string_equal(
            json_string_value(json_array_get(json_object_get(rep, "direct_identifiers"), 0)), "丙");
    /* The same declarations again: the quasi-identifiers did not change (k stands). */
    assert_false(ds_privacy_declare(rep, finfo));

    v = catalog_privacy_gate(rep, 5);
    assert_string_equal(status(v), "blocked");
    lowered = json_object_get(v, "lowered");
    assert_int_equal(json_array_size(lowered), 2); /* 乙 counts towards k = 1, 丙 blocks */
    msg = json_string_value(json_object_get(v, "message"));
    assert_non_null(strstr(msg, "\"丙\" (declared other, found direct_identifier)"));
    assert_non_null(strstr(msg, "takes an approver's override"));
    json_decref(v);
    /* An override of this file lets the lowered declarations through. */
    json_object_set_new(rep, "override",
                        json_pack("{s:s,s:s}", "user", "b", "source_sha256", "aa"));
    v = catalog_privacy_gate(rep, 5);
    assert_string_equal(status(v), "overridden");
    json_decref(v);
    json_object_del(rep, "override");

    /* Declarations withdrawn: back to what the detectors found. */
    assert_true(ds_privacy_declare(rep, NULL));
    assert_string_equal(col_str(rep, 0, "class"), "other");
    assert_null(col_str(rep, 0, "reason"));
    assert_null(col_str(rep, 0, "declared"));
    assert_string_equal(col_str(rep, 1, "reason"), "name");
    assert_int_equal(json_array_size(json_object_get(rep, "quasi_identifiers")), 1);
    json_decref(finfo);
    json_decref(rep);

    /* A life table passes (k not enforced) until the publisher says it holds records of
     * people: then k = 1 blocks. */
    rep = report("[{\"name\": \"Age\", \"class\": \"quasi_identifier\", \"reason\": \"name\"},"
                 " {\"name\": \"Sex\", \"class\": \"quasi_identifier\", \"reason\": \"name\"}]",
                 "[\"Age\", \"Sex\"]", 1);
    v = catalog_privacy_gate(rep, 5);
    assert_string_equal(status(v), "passed");
    json_decref(v);
    json_object_set_new(rep, "personal_data", json_true());
    v = catalog_privacy_gate(rep, 5);
    assert_string_equal(status(v), "blocked");
    assert_true(json_is_true(json_object_get(v, "k_enforced")));
    json_decref(v);
    json_decref(rep);

    /* Columns named in an unknown language, nothing found: declared, they block. */
    rep = report(
            "[{\"name\": \"nomo\", \"class\": \"other\"}, {\"name\": \"aĝo\", \"class\": \"other\"}]",
            "[]", -1);
    v = catalog_privacy_gate(rep, 5);
    assert_string_equal(status(v), "passed");
    json_decref(v);
    finfo = json_loads("{\"nomo\": {\"privacy_class\": \"direct_identifier\"}}", 0, NULL);
    ds_privacy_declare(rep, finfo);
    v = catalog_privacy_gate(rep, 5);
    assert_string_equal(status(v), "blocked");
    assert_non_null(strstr(json_string_value(json_object_get(v, "message")), "\"nomo\""));
    json_decref(v);
    json_decref(finfo);
    json_decref(rep);
}

static void test_personal_declaration(void **state)
{
    json_t *doc = json_loads("{\"extras\": [{\"key\": \"other\", \"value\": \"true\"}]}", 0, NULL);
    json_t *res = json_loads("{\"personal_data\": false}", 0, NULL);

    (void)state;
    assert_false(catalog_privacy_personal(NULL, NULL));
    assert_false(catalog_privacy_personal(doc, res));
    json_object_set_new(res, "personal_data", json_string("Yes"));
    assert_true(catalog_privacy_personal(doc, res));
    json_object_set_new(res, "personal_data", json_string("no"));
    assert_false(catalog_privacy_personal(doc, res));
    json_array_append_new(json_object_get(doc, "extras"),
                          json_pack("{s:s,s:s}", "key", "personal_data", "value", "true"));
    assert_true(catalog_privacy_personal(doc, res));
    assert_true(catalog_privacy_personal(doc, NULL));
    json_decref(doc);
    json_decref(res);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_kclass_by_hand),
            cmocka_unit_test(test_kclass_keys_do_not_collide),
            cmocka_unit_test(test_kclass_many),
            cmocka_unit_test(test_gate_decision),
            cmocka_unit_test(test_declared_classes),
            cmocka_unit_test(test_personal_declaration),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
