/*
 * Unit tests for de-identification policies (src/privacy/policy.h): HMAC-SHA-256
 * pseudonyms against vectors computed independently, masking, the key file, every
 * transformation applied to a small table, flags overriding the policy, and the errors of
 * the policy parser (each naming the member).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <jansson.h>

#include "privacy/policy.h"
#include "unit-util.h"
#include "core/util.h"

static char tmpdir[64];

static int group_setup(void **state)
{
    (void)state;
    return unit_tmpdir(tmpdir, sizeof(tmpdir), "policy");
}

static int group_teardown(void **state)
{
    (void)state;
    unit_remove_tree(tmpdir);
    return 0;
}

static char *write_tmp(const char *name, const char *text)
{
    char *path = xstrfmt("%s/%s", tmpdir, name);
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(text, 1, strlen(text), f), strlen(text));
    assert_int_equal(fclose(f), 0);
    return path;
}

static char *read_all(const char *path)
{
    FILE *f = fopen(path, "rb");
    char *s = xcalloc(1, 1 << 16);
    assert_non_null(f);
    size_t n = fread(s, 1, (1 << 16) - 1, f);
    s[n] = '\0';
    fclose(f);
    return s;
}

static void key_of(struct privacy_key *k, const char *bytes)
{
    memset(k, 0, sizeof(*k));
    k->len = strlen(bytes);
    memcpy(k->bytes, bytes, k->len);
}

/*
 * RFC 4231 §4.3 (test case 2) and two vectors computed outside Kaifang:
 *   python3 -c "import hmac,hashlib; print(hmac.new(b'kaifang-privacy-test-key-32bytes',
 *               '110101199003074477'.encode(), hashlib.sha256).hexdigest())"
 *   echo -n 110101199003074477 | openssl dgst -sha256 -hmac kaifang-privacy-test-key-32bytes
 * (both 8b4a70db…), and the same key over "张三" in UTF-8 with python.
 */
static void test_pseudonym_vectors(void **state)
{
    struct privacy_key k;
    char out[128];
    (void)state;

    key_of(&k, "Jefe");
    privacy_pseudonym(&k, "what do ya want for nothing?", 28, NULL, 64, out);
    assert_string_equal(out, "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
    key_of(&k, "kaifang-privacy-test-key-32bytes");
    privacy_pseudonym(&k, "110101199003074477", 18, NULL, 64, out);
    assert_string_equal(out, "8b4a70dbff98601d386900611c753054fb93c41085c0fbf61aaef25baee1dfe4");
    privacy_pseudonym(&k, "110101199003074477", 18, "p-", 16, out);
    assert_string_equal(out, "p-8b4a70dbff98601d");
    privacy_pseudonym(&k, "张三", strlen("张三"), NULL, 9, out);
    assert_string_equal(out, "448993340");
    /* another key, another pseudonym */
    key_of(&k, "kaifang-privacy-test-key-32bytez");
    privacy_pseudonym(&k, "110101199003074477", 18, NULL, 16, out);
    assert_string_not_equal(out, "8b4a70dbff98601d");
}

static void test_mask(void **state)
{
    static const struct {
        const char *in;
        unsigned first, last;
        const char *ch, *out;
    } cases[] = {
            {"13812345678", 3, 4, "*", "138****5678"},
            {"13812345678", 0, 4, "*", "*******5678"},
            {"13812345678", 3, 0, "#", "138########"},
            {"张三丰", 1, 0, "*", "张**"},
            {"张三丰", 0, 1, "某", "某某丰"},
            {"1234", 2, 2, "*", "****"}, /* nothing left whole */
            {"123", 0, 5, "*", "***"},
            {"", 1, 1, "*", ""},
            {"a", 0, 0, "*", "*"},
    };
    (void)state;
    for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
        char *m = privacy_mask(cases[i].in, cases[i].first, cases[i].last, cases[i].ch);
        assert_string_equal(m, cases[i].out);
        free(m);
    }
}

static void test_key_file(void **state)
{
    struct privacy_key k, k2;
    struct err err = ERR_INIT;
    struct stat st;
    bool created;
    char *path = xstrfmt("%s/privacy.key", tmpdir);
    (void)state;

    assert_int_equal(privacy_key_create(path, &created, &err), 0);
    assert_true(created);
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    assert_int_equal(st.st_size, PRIVACY_KEY_BYTES);
    assert_int_equal(privacy_key_load(&k, path, &err), 0);
    assert_int_equal(k.len, PRIVACY_KEY_BYTES);
    /* kept, not replaced */
    assert_int_equal(privacy_key_create(path, &created, &err), 0);
    assert_false(created);
    assert_int_equal(privacy_key_load(&k2, path, &err), 0);
    assert_memory_equal(k.bytes, k2.bytes, PRIVACY_KEY_BYTES);
    /* readable by others: refused */
    assert_int_equal(chmod(path, 0644), 0);
    assert_int_equal(privacy_key_load(&k2, path, &err), -ERR_VALIDATION);
    assert_non_null(strstr(err.msg, "chmod 600"));
    assert_string_equal(err.field, "key_file");
    /* too short */
    char *shortp = write_tmp("short.key", "0123456789");
    assert_int_equal(chmod(shortp, 0600), 0);
    err_clear(&err);
    assert_int_equal(privacy_key_load(&k2, shortp, &err), -ERR_VALIDATION);
    assert_non_null(strstr(err.msg, "must hold 16 to 4096 bytes"));
    err_clear(&err);
    assert_int_equal(privacy_key_load(&k2, "/nonexistent/privacy.key", &err), -ERR_VALIDATION);
    privacy_key_wipe(&k);
    privacy_key_wipe(&k2);
    free(shortp);
    free(path);
}

/* The message of parsing json as a policy (which must fail), and its field. */
static char msg[ERR_MSG_MAX], field[ERR_FIELD_MAX];
static const char *policy_error(const char *json)
{
    struct privacy_policy *p = NULL;
    struct err err = ERR_INIT;
    int ret = privacy_policy_parse(&p, json, strlen(json), "p.json", &err);
    assert_true(ret < 0);
    assert_null(p);
    memcpy(msg, err.msg, sizeof(msg));
    memcpy(field, err.field, sizeof(field));
    return msg;
}

static void test_policy_errors(void **state)
{
    static const struct {
        const char *json, *msg, *field;
    } cases[] = {
            {"[1]", "policy \"p.json\": must be a JSON object with \"columns\"", "policy"},
            {"{\"k\": 0}", "k: must be a positive integer", "k"},
            {"{\"k\": 2.5}", "k: must be a positive integer", "k"},
            {"{\"k\": \"5\"}", "k: must be a positive integer", "k"},
            {"{\"suppression\": 1.5}", "suppression: must be a number from 0 to 1", "suppression"},
            {"{\"metric\": \"speed\"}",
             "metric: must be \"loss\", \"entropy\", \"discernibility\" or \"aecs\"", "metric"},
            {"{\"l\": 2.5}", "l: must be an integer for distinct l-diversity", "l"},
            {"{\"ldiv\": \"entropy\"}", "ldiv: only with \"l\"", "ldiv"},
            {"{\"colums\": []}",
             "colums: unknown member (a policy has k, l, ldiv, t, suppression, metric, "
             "risk_threshold, unlisted, columns, description)",
             "colums"},
            {"{\"\": []}",
             "\"\": unknown member (a policy has k, l, ldiv, t, suppression, metric, "
             "risk_threshold, unlisted, columns, description)",
             "\"\""},
            {"{\"columns\": [{\"name\": \"a\", \"\": 1}]}",
             "columns[0].\"\": unknown member (columns[0] has name, action, mask, "
             "pseudonymize, hierarchy, top, bottom, top_value, bottom_value, round, round_mode, "
             "sensitive, comment)",
             "columns[0].\"\""},
            {"{\"columns\": {}}", "columns: must be an array of column objects", "columns"},
            {"{\"columns\": [3]}", "columns[0]: must be an object with \"name\" and \"action\"",
             "columns[0]"},
            {"{\"columns\": [{\"action\": \"keep\"}]}", "columns[0].name: is missing",
             "columns[0].name"},
            {"{\"columns\": [{\"name\": \"\"}]}",
             "columns[0].name: must be a string of 1 to 1024 bytes without NUL", "columns[0].name"},

            {"{\"columns\": [{\"name\": \"a\"}, {\"name\": \"a\"}]}",
             "columns[1].name: column \"a\" is listed twice (also columns[0])", "columns[1].name"},
            {"{\"columns\": [{\"name\": \"a\", \"action\": \"encrypt\"}]}",
             "columns[0].action: must be one of \"keep\", \"suppress\", \"mask\", "
             "\"pseudonymize\", \"generalize\"",
             "columns[0].action"},
            {"{\"columns\": [{\"name\": \"a\"}, {\"name\": \"b\"}, {\"name\": \"c\", \"action\": "
             "\"mask\", \"mask\": {\"keep_last\": -1}}]}",
             "columns[2].mask.keep_last: must be a non-negative integer",
             "columns[2].mask.keep_last"},
            {"{\"columns\": [{\"name\": \"c\", \"action\": \"mask\", \"mask\": {\"keep_first\": "
             "\"3\"}}]}",
             "columns[0].mask.keep_first: must be a non-negative integer",
             "columns[0].mask.keep_first"},
            {"{\"columns\": [{\"name\": \"c\", \"action\": \"mask\", \"mask\": {\"char\": \"**\"}}]}",
             "columns[0].mask.char: must be one character (not a control character, '\"' or ',')",
             "columns[0].mask.char"},
            {"{\"columns\": [{\"name\": \"c\", \"action\": \"mask\", \"mask\": {\"keep\": 1}}]}",
             "columns[0].mask.keep: unknown member (columns[0].mask has keep_first, keep_last, "
             "char)",
             "columns[0].mask.keep"},
            {"{\"columns\": [{\"name\": \"c\", \"mask\": {\"keep_first\": 1}}]}",
             "columns[0].mask: only with the action \"mask\"", "columns[0].mask"},
            {"{\"columns\": [{\"name\": \"c\", \"action\": \"pseudonymize\", \"pseudonymize\": "
             "{\"length\": 100}}]}",
             "columns[0].pseudonymize.length: must be an integer from 8 to 64",
             "columns[0].pseudonymize.length"},
            {"{\"columns\": [{\"name\": \"c\", \"action\": \"generalize\"}]}",
             "columns[0].hierarchy: is missing (the action \"generalize\" needs a hierarchy)",
             "columns[0].hierarchy"},
            {"{\"columns\": [{\"name\": \"c\", \"hierarchy\": {\"builtin\": \"interval\", "
             "\"widths\": [5, 7]}}]}",
             "columns[0].hierarchy.widths[1]: must be a multiple of the width before it (5)",
             "columns[0].hierarchy.widths[1]"},
            {"{\"columns\": [{\"name\": \"c\", \"hierarchy\": {\"builtin\": \"zodiac\"}}]}",
             "columns[0].hierarchy.builtin: must be one of \"date\", \"interval\", \"region\", "
             "\"mask\", \"postal\"",
             "columns[0].hierarchy.builtin"},
            {"{\"columns\": [{\"name\": \"c\", \"hierarchy\": {\"builtin\": \"date\", \"file\": "
             "\"x\"}}]}",
             "columns[0].hierarchy: needs exactly one of \"builtin\" and \"file\"",
             "columns[0].hierarchy"},
            {"{\"columns\": [{\"name\": \"c\", \"action\": \"suppress\", \"top\": 90}]}",
             "columns[0].top: only with the actions \"keep\" and \"generalize\"", "columns[0].top"},
            {"{\"columns\": [{\"name\": \"c\", \"round\": 0}]}",
             "columns[0].round: must be a number from 1e-12 to 1e+15", "columns[0].round"},
            {"{\"columns\": [{\"name\": \"c\", \"top\": 10, \"bottom\": 20}]}",
             "columns[0].bottom: must not exceed \"top\" (10)", "columns[0].bottom"},
            {"{\"columns\": [{\"name\": \"c\", \"top_value\": \"90+\"}]}",
             "columns[0].top_value: only with \"top\"", "columns[0].top_value"},
            {"{\"columns\": [{\"name\": \"c\", \"sensitive\": true, \"action\": \"mask\"}]}",
             "columns[0].sensitive: a sensitive column is kept (its action must be \"keep\")",
             "columns[0].sensitive"},
            {"{\"columns\": [{\"name\": \"c\", \"sensitive\": true}, {\"name\": \"d\", "
             "\"sensitive\": true}]}",
             "columns[1].sensitive: only one column may be sensitive", "columns[1].sensitive"},
    };
    (void)state;
    for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
        const char *m = policy_error(cases[i].json);
        if (strcmp(m, cases[i].msg))
            fail_msg("case %zu: %s\n  got: %s", i, cases[i].json, m);
        assert_string_equal(field, cases[i].field);
    }
    /* malformed JSON names line and column */
    assert_non_null(strstr(policy_error("{\n  \"k\": 5,\n}"), "policy \"p.json\", line 3"));
    assert_non_null(strstr(policy_error("{\"k\": 5, \"k\": 6}"), "duplicate"));
    assert_non_null(strstr(policy_error("{\"columns\": [{\"name\": \"a\\u0000b\"}]}"),
                           "line 1, column 32"));
}

static const char *people = "id,name,phone,age,income,city,dx\n"
                            "1,Wang Fang,13812345678,23,4321.5,440305,flu\n"
                            "2,Li Lei,13912345678,27,12000,440306,flu\n"
                            "3,Zhang Wei,13712345678,95,,440103,cold\n"
                            "4,Chen Jing,13612345678,8,880,440104,cold\n";

static json_t *apply(const char *policy_json, const struct privacy_overrides *ov, char **csv,
                     struct privacy_outcome *res)
{
    struct privacy_policy *p = NULL;
    struct privacy_key k;
    struct err err = ERR_INIT;
    char *in = write_tmp("people.csv", people), *out = xstrfmt("%s/out.csv", tmpdir);

    key_of(&k, "kaifang-privacy-test-key-32bytes");
    assert_int_equal(privacy_policy_parse(&p, policy_json, strlen(policy_json), "p", &err), 0);
    if (ov)
        assert_int_equal(privacy_policy_override(p, ov, &err), 0);
    int ret = privacy_policy_apply(p, in, out, &k, res, &err);
    if (ret)
        fail_msg("%s", err.msg);
    *csv = read_all(out);
    privacy_policy_free(p);
    free(in);
    free(out);
    return res->report;
}

static void test_apply_transformations(void **state)
{
    struct privacy_outcome res;
    char *csv;
    (void)state;

    json_t *rep = apply("{\"columns\": ["
                        "{\"name\": \"name\", \"action\": \"suppress\"},"
                        "{\"name\": \"id\", \"action\": \"pseudonymize\"},"
                        "{\"name\": \"phone\", \"action\": \"mask\", \"mask\": {\"keep_first\": 3, "
                        "\"keep_last\": 2}},"
                        "{\"name\": \"age\", \"top\": 90, \"top_value\": \"90+\", \"bottom\": 10},"
                        "{\"name\": \"income\", \"round\": 1000},"
                        "{\"name\": \"city\", \"hierarchy\": \"region\"}]}",
                        NULL, &csv, &res);
    /* HMAC-SHA-256 of "1".."4" under the test key, first 16 hex digits (python hmac) */
    assert_string_equal(csv, "id,phone,age,income,city,dx\r\n"
                             "88bc4a9058636df3,138******78,23,4000,440300,flu\r\n"
                             "2ca54bbde7446329,139******78,27,12000,440300,flu\r\n"
                             "fd98467de91a6ba2,137******78,90+,,440100,cold\r\n"
                             "b287f9961a2eb1c5,136******78,10,1000,440100,cold\r\n");
    assert_true(res.found);
    assert_int_equal(res.records, 4);
    assert_int_equal(res.k_reached, 2);
    const json_t *cols = json_object_get(rep, "columns");
    assert_string_equal(json_string_value(json_object_get(json_object_get(cols, "name"), "action")),
                        "suppress");
    assert_int_equal(json_integer_value(json_object_get(json_object_get(cols, "age"), "top_coded")),
                     1);
    assert_int_equal(
            json_integer_value(json_object_get(json_object_get(cols, "age"), "bottom_coded")), 1);
    assert_int_equal(json_integer_value(json_object_get(json_object_get(rep, "levels"), "city")),
                     1);
    assert_string_equal(json_string_value(json_object_get(json_object_get(cols, "dx"), "action")),
                        "keep");
    /* the report never holds a key or a raw value */
    char *dump = json_dumps(rep, 0);
    assert_null(strstr(dump, "kaifang-privacy-test-key"));
    assert_null(strstr(dump, "13812345678"));
    assert_null(strstr(dump, "Wang Fang"));
    free(dump);
    free(csv);
    privacy_outcome_release(&res);
}

static void test_overrides_win(void **state)
{
    struct privacy_outcome res;
    struct privacy_overrides ov;
    const char *cols[] = {"city"}, *specs[] = {"region"};
    char *csv;
    (void)state;

    privacy_overrides_init(&ov);
    ov.k = 4;
    ov.qi_col = cols;
    ov.qi_spec = specs;
    ov.nqi = 1;
    /* the policy masks city and asks k = 2; the flags make it a QI with k = 4 */
    json_t *rep = apply("{\"k\": 2, \"unlisted\": \"suppress\", \"columns\": [{\"name\": \"city\", "
                        "\"action\": \"mask\"}, {\"name\": \"dx\", \"action\": \"keep\"}]}",
                        &ov, &csv, &res);
    assert_string_equal(csv, "city,dx\r\n440000,flu\r\n440000,flu\r\n440000,cold\r\n"
                             "440000,cold\r\n");
    assert_int_equal(json_integer_value(json_object_get(rep, "k")), 4);
    assert_int_equal(res.k_reached, 4);
    assert_true(json_is_true(
            json_object_get(json_object_get(json_object_get(rep, "columns"), "id"), "unlisted")));
    free(csv);
    privacy_outcome_release(&res);
}

static void test_apply_errors(void **state)
{
    struct privacy_policy *p = NULL;
    struct privacy_outcome res;
    struct err err = ERR_INIT;
    char *in = write_tmp("people.csv", people), *out = xstrfmt("%s/err.csv", tmpdir);
    const char *j1 = "{\"columns\": [{\"name\": \"id\"}, {\"name\": \"dob\"}]}";
    const char *j2 = "{\"columns\": [{\"name\": \"name\", \"round\": 10}]}";
    const char *j3 = "{\"columns\": [{\"name\": \"id\", \"action\": \"pseudonymize\"}]}";
    (void)state;

    assert_int_equal(privacy_policy_parse(&p, j1, strlen(j1), "p", &err), 0);
    assert_int_equal(privacy_policy_apply(p, in, out, NULL, &res, &err), -ERR_VALIDATION);
    assert_string_equal(err.msg, "columns[1]: column \"dob\" not found (name)");
    privacy_policy_free(p);
    err_clear(&err);
    assert_int_equal(privacy_policy_parse(&p, j2, strlen(j2), "p", &err), 0);
    assert_int_equal(privacy_policy_apply(p, in, out, NULL, &res, &err), -ERR_VALIDATION);
    assert_string_equal(
            err.msg, "column \"name\", line 2: \"Wang Fang\" is not a number (columns[0].round)");
    privacy_policy_free(p);
    err_clear(&err);
    assert_int_equal(privacy_policy_parse(&p, j3, strlen(j3), "p", &err), 0);
    assert_true(privacy_policy_needs_key(p));
    assert_int_equal(privacy_policy_apply(p, in, out, NULL, &res, &err), -ERR_VALIDATION);
    assert_string_equal(err.field, "key_file");
    privacy_policy_free(p);
    assert_int_equal(access(out, F_OK), -1); /* nothing half-written */
    free(in);
    free(out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_pseudonym_vectors),
            cmocka_unit_test(test_mask),
            cmocka_unit_test(test_key_file),
            cmocka_unit_test(test_policy_errors),
            cmocka_unit_test(test_apply_transformations),
            cmocka_unit_test(test_overrides_win),
            cmocka_unit_test(test_apply_errors),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
