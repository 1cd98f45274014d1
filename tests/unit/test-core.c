/*
 * Unit tests for src/core and src/crypto: buffers, the integer parser, errors,
 * timestamps, digests and secrets.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "core/buf.h"
#include "core/err.h"
#include "core/limits.h"
#include "core/parse.h"
#include "core/timeutil.h"
#include "crypto/digest.h"
#include "crypto/secret.h"
#include "core/util.h"

static void test_buf_basic(void **state)
{
    struct buf b = BUF_INIT;

    (void)state;
    assert_non_null(b.buf);
    assert_string_equal(b.buf, "");
    buf_addstr(&b, "abc");
    buf_addch(&b, '-');
    buf_addf(&b, "%d/%s", 42, "x");
    assert_string_equal(b.buf, "abc-42/x");
    assert_int_equal(b.len, 8);
    buf_setlen(&b, 3);
    assert_string_equal(b.buf, "abc");
    buf_reset(&b);
    assert_string_equal(b.buf, "");
    buf_release(&b);
    assert_string_equal(b.buf, "");
}

static void test_buf_long_format(void **state)
{
    struct buf b = BUF_INIT;
    char big[5000];

    (void)state;
    memset(big, 'z', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    buf_addf(&b, "<%s>", big);
    assert_int_equal(b.len, sizeof(big) + 1);
    assert_int_equal(b.buf[0], '<');
    assert_int_equal(b.buf[b.len - 1], '>');
    assert_int_equal(b.buf[b.len], '\0');
    buf_release(&b);
}

static void test_buf_max_is_sticky(void **state)
{
    struct buf b;
    char *out;
    size_t len;

    (void)state;
    buf_init(&b, 8);
    buf_addstr(&b, "12345");
    assert_false(buf_failed(&b));
    buf_addstr(&b, "6789"); /* would pass 8 */
    assert_true(buf_failed(&b));
    assert_string_equal(b.buf, "12345");
    buf_addstr(&b, "a"); /* sticky: even a fitting append is refused */
    assert_string_equal(b.buf, "12345");
    buf_addf(&b, "%s", "b");
    assert_string_equal(b.buf, "12345");
    out = buf_detach(&b, &len);
    assert_int_equal(len, 5);
    assert_string_equal(out, "12345");
    free(out);
    assert_false(buf_failed(&b));
    assert_string_equal(b.buf, "");
    buf_release(&b);
}

static void test_buf_detach_empty(void **state)
{
    struct buf b = BUF_INIT;
    char *out = buf_detach(&b, NULL);

    (void)state;
    assert_string_equal(out, "");
    free(out);
}

static void test_parse_i64(void **state)
{
    int64_t v = 7;

    (void)state;
    assert_int_equal(parse_i64("0", 0, 10, &v), 0);
    assert_int_equal(v, 0);
    assert_int_equal(parse_i64("-12", -100, 100, &v), 0);
    assert_int_equal(v, -12);
    assert_int_equal(parse_i64("9223372036854775807", INT64_MIN, INT64_MAX, &v), 0);
    assert_true(v == INT64_MAX);
    assert_int_equal(parse_i64("-9223372036854775808", INT64_MIN, INT64_MAX, &v), 0);
    assert_true(v == INT64_MIN);
    v = 7;
    assert_int_equal(parse_i64("9223372036854775808", INT64_MIN, INT64_MAX, &v), -1);
    assert_int_equal(parse_i64("", 0, 10, &v), -1);
    assert_int_equal(parse_i64("-", 0, 10, &v), -1);
    assert_int_equal(parse_i64("+1", 0, 10, &v), -1);
    assert_int_equal(parse_i64(" 1", 0, 10, &v), -1);
    assert_int_equal(parse_i64("1 ", 0, 10, &v), -1);
    assert_int_equal(parse_i64("1x", 0, 10, &v), -1);
    assert_int_equal(parse_i64("11", 0, 10, &v), -1);
    assert_int_equal(parse_i64("-1", 0, 10, &v), -1);
    assert_int_equal(v, 7); /* unchanged on every failure */
}

static void test_parse_u64_and_bool(void **state)
{
    uint64_t u = 0;
    bool b = false;

    (void)state;
    assert_int_equal(parse_u64("1000", LIMIT_SEARCH_ROWS_MAX, &u), 0);
    assert_int_equal(u, 1000);
    assert_int_equal(parse_u64("1001", LIMIT_SEARCH_ROWS_MAX, &u), -1);
    assert_int_equal(parse_u64("-1", 10, &u), -1);
    assert_int_equal(parse_bool("TRUE", &b), 0);
    assert_true(b);
    assert_int_equal(parse_bool("off", &b), 0);
    assert_false(b);
    assert_int_equal(parse_bool("maybe", &b), -1);
    assert_int_equal(parse_bool(NULL, &b), -1);
}

static void test_err(void **state)
{
    struct err err = ERR_INIT;
    int rc;

    (void)state;
    rc = err_set(&err, ERR_NOT_FOUND, "id", "dataset \"%s\" not found", "x");
    assert_int_equal(rc, -ERR_NOT_FOUND);
    assert_string_equal(err.field, "id");
    assert_string_equal(err.msg, "dataset \"x\" not found");
    /* the first error wins */
    rc = err_set(&err, ERR_AUTH, NULL, "later");
    assert_int_equal(rc, -ERR_AUTH);
    assert_string_equal(err.msg, "dataset \"x\" not found");
    assert_int_equal(err.kind, ERR_NOT_FOUND);
    err_clear(&err);
    assert_int_equal(err.kind, ERR_NONE);
    assert_int_equal(err_set(NULL, ERR_INTERNAL, NULL, "no err"), -ERR_INTERNAL);
    assert_int_equal(err_kind_status(ERR_VALIDATION), 409);
    assert_int_equal(err_kind_status(ERR_CONFLICT), 409);
    assert_int_equal(err_kind_status(ERR_NOT_FOUND), 404);
    assert_int_equal(err_kind_status(ERR_AUTH), 403);
    assert_int_equal(err_kind_status(ERR_BAD_REQUEST), 400);
    assert_int_equal(err_kind_status(ERR_TOO_LARGE), 413);
    assert_int_equal(err_kind_status(ERR_INTERNAL), 500);
    assert_string_equal(err_kind_type(ERR_VALIDATION), "Validation Error");
    assert_string_equal(err_kind_type(ERR_NOT_FOUND), "Not Found Error");
    assert_string_equal(err_kind_type(ERR_AUTH), "Authorization Error");
}

static void test_err_truncates(void **state)
{
    struct err err = ERR_INIT;
    char longname[ERR_MSG_MAX * 2];

    (void)state;
    memset(longname, 'n', sizeof(longname) - 1);
    longname[sizeof(longname) - 1] = '\0';
    err_set(&err, ERR_VALIDATION, longname, "bad \"%s\"", longname);
    assert_int_equal(strlen(err.msg), ERR_MSG_MAX - 1);
    assert_int_equal(strlen(err.field), ERR_FIELD_MAX - 1);
}

static void test_time_formats(void **state)
{
    char a[TIME_ISO_MAX], b[TIME_ISO_MAX], c[TIME_ISO_MAX];

    (void)state;
    time_now_rfc3339(a);
    assert_int_equal(strlen(a), 20);
    assert_int_equal(a[10], 'T');
    assert_int_equal(a[19], 'Z');
    time_now_ckan(b);
    assert_int_equal(strlen(b), 26);
    assert_int_equal(b[19], '.');
    time_http_date(0, c);
    assert_string_equal(c, "Thu, 01 Jan 1970 00:00:00 GMT");
    time_http_date(1700000000, c);
    assert_string_equal(c, "Tue, 14 Nov 2023 22:13:20 GMT");
}

static void test_sha256_vectors(void **state)
{
    /* FIPS 180-4 examples (NIST CSRC "SHA256.pdf"). */
    uint8_t d[SHA256_LEN];
    char hex[SHA256_HEX_LEN];
    struct sha256_ctx ctx;

    (void)state;
    sha256("", 0, d);
    hex_encode(d, sizeof(d), hex);
    assert_string_equal(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    sha256("abc", 3, d);
    hex_encode(d, sizeof(d), hex);
    assert_string_equal(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    sha256_init(&ctx);
    sha256_update(&ctx, "a", 1);
    sha256_update(&ctx, "bc", 2);
    sha256_final(&ctx, d);
    hex_encode(d, sizeof(d), hex);
    assert_string_equal(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    sha256_init(&ctx);
    sha256_update(&ctx, "abandoned", 9);
    sha256_release(&ctx);
    assert_null(ctx.md);
}

static void test_uuid_and_tokens(void **state)
{
    char u1[UUID_STR_LEN], u2[UUID_STR_LEN];
    char t1[TOKEN_STR_MAX], t2[TOKEN_STR_MAX];
    char h1[TOKEN_HASH_HEX_LEN], h2[TOKEN_HASH_HEX_LEN];

    (void)state;
    secret_init();
    secret_uuid4(u1);
    secret_uuid4(u2);
    assert_int_equal(strlen(u1), 36);
    assert_int_equal(u1[8], '-');
    assert_int_equal(u1[14], '4');               /* version 4 */
    assert_true(strchr("89ab", u1[19]) != NULL); /* RFC 9562 variant */
    assert_string_not_equal(u1, u2);
    secret_token_new(t1);
    secret_token_new(t2);
    assert_true(starts_with(t1, "kf_"));
    assert_int_equal(strlen(t1), 3 + 43); /* 32 bytes, base64url without padding */
    assert_string_not_equal(t1, t2);
    secret_token_hash(t1, h1);
    secret_token_hash(t1, h2);
    assert_string_equal(h1, h2);
    assert_int_equal(strlen(h1), 64);
    secret_token_hash(t2, h2);
    assert_string_not_equal(h1, h2);
    assert_true(secret_equal("abc", "abc", 3));
    assert_false(secret_equal("abc", "abd", 3));
    secret_wipe(t1, sizeof(t1));
    assert_int_equal(t1[0], 0);
}

static void test_utf8_width(void **state)
{
    static const struct {
        const char *s;
        size_t width;
    } cases[] = {
            {"", 0},
            {"abc", 3},
            {"身份证号", 8},                 /* CJK ideographs: wide */
            {"한국", 4},                     /* Hangul syllables */
            {"カナ", 4},                     /* katakana */
            {"Ａ１", 4},                     /* full-width forms */
            {"\xef\xbd\xb1", 1},             /* U+FF71 half-width katakana: narrow */
            {"\xc3\xa9", 1},                 /* é precomposed */
            {"e\xcc\x81", 1},                /* e + U+0301 combining acute */
            {"\xe2\x80\xa6", 1},             /* U+2026 ellipsis: three bytes, one column */
            {"\xe2\x82\xac", 1},             /* U+20AC euro sign */
            {"\xf0\x9f\x98\x80", 2},         /* U+1F600 emoji */
            {"\xf0\xa0\x80\x80", 2},         /* U+20000, CJK extension B */
            {"\xe2\x80\x8b", 0},             /* U+200B zero width space */
            {"\xff", 1},                     /* not UTF-8: one column a byte */
            {"\xe4\xb8", 2},                 /* a cut sequence */
            {"\xc0\xaf", 2},                 /* an overlong lead byte */
            {"\xe3\x80\x82\xe4\xb8\xad", 4}, /* 。中 */
    };

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        assert_int_equal(utf8_width(cases[i].s, strlen(cases[i].s)), cases[i].width);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_buf_basic),
            cmocka_unit_test(test_buf_long_format),
            cmocka_unit_test(test_buf_max_is_sticky),
            cmocka_unit_test(test_buf_detach_empty),
            cmocka_unit_test(test_parse_i64),
            cmocka_unit_test(test_parse_u64_and_bool),
            cmocka_unit_test(test_err),
            cmocka_unit_test(test_err_truncates),
            cmocka_unit_test(test_time_formats),
            cmocka_unit_test(test_sha256_vectors),
            cmocka_unit_test(test_uuid_and_tokens),
            cmocka_unit_test(test_utf8_width),
    };

    return cmocka_run_group_tests_name("core", tests, NULL, NULL);
}
