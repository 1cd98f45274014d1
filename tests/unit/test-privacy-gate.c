/*
 * test-privacy-gate.c - the k the publish gate judges (privacy/kclass.h: equivalence
 * classes over quasi-identifiers, as they are) and the gate's decision on a report
 * (catalog_privacy_gate(); docs/internals/privacy-gate.md).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <string.h>

#include <jansson.h>

#include "catalog/catalog.h"
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

int main(void)
{
    const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_kclass_by_hand),
            cmocka_unit_test(test_kclass_keys_do_not_collide),
            cmocka_unit_test(test_kclass_many),
            cmocka_unit_test(test_gate_decision),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
