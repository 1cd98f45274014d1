/*
 * test-http.c - the HTTP layer's pure helpers: Range, Accept-Encoding, ETag and
 * If-None-Match, gzip, listen addresses, media types, route patterns, log paths.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <zlib.h>

#include <cmocka.h>

#include "http/http-int.h"
#include "core/util.h"

static void test_range(void **state)
{
    uint64_t a = 99, b = 99;

    (void)state;
    assert_int_equal(http_range_parse(NULL, 100, &a, &b), HTTP_RANGE_NONE);
    assert_int_equal(http_range_parse("bytes=0-9", 100, &a, &b), HTTP_RANGE_OK);
    assert_int_equal(a, 0);
    assert_int_equal(b, 9);
    assert_int_equal(http_range_parse("bytes=90-", 100, &a, &b), HTTP_RANGE_OK);
    assert_int_equal(a, 90);
    assert_int_equal(b, 99);
    assert_int_equal(http_range_parse("bytes=-10", 100, &a, &b), HTTP_RANGE_OK);
    assert_int_equal(a, 90);
    assert_int_equal(b, 99);
    /* a suffix longer than the file is the whole file */
    assert_int_equal(http_range_parse("bytes=-500", 100, &a, &b), HTTP_RANGE_OK);
    assert_int_equal(a, 0);
    assert_int_equal(b, 99);
    /* the end is clamped */
    assert_int_equal(http_range_parse("bytes=50-1000", 100, &a, &b), HTTP_RANGE_OK);
    assert_int_equal(a, 50);
    assert_int_equal(b, 99);
    assert_int_equal(http_range_parse(" bytes = 1-1 ", 100, &a, &b), HTTP_RANGE_OK);
    assert_int_equal(a, 1);
    assert_int_equal(b, 1);
    /* unsatisfiable */
    assert_int_equal(http_range_parse("bytes=100-", 100, &a, &b), HTTP_RANGE_UNSATISFIABLE);
    assert_int_equal(http_range_parse("bytes=200-300", 100, &a, &b), HTTP_RANGE_UNSATISFIABLE);
    assert_int_equal(http_range_parse("bytes=-0", 100, &a, &b), HTTP_RANGE_UNSATISFIABLE);
    assert_int_equal(http_range_parse("bytes=0-", 0, &a, &b), HTTP_RANGE_UNSATISFIABLE);
    /* ignored: malformed, other units, several ranges, inverted, overflow */
    assert_int_equal(http_range_parse("bytes=5-1", 100, &a, &b), HTTP_RANGE_NONE);
    assert_int_equal(http_range_parse("items=0-1", 100, &a, &b), HTTP_RANGE_NONE);
    assert_int_equal(http_range_parse("bytes=0-1,5-6", 100, &a, &b), HTTP_RANGE_NONE);
    assert_int_equal(http_range_parse("bytes=-", 100, &a, &b), HTTP_RANGE_NONE);
    assert_int_equal(http_range_parse("bytes=a-b", 100, &a, &b), HTTP_RANGE_NONE);
    assert_int_equal(http_range_parse("bytes 0-1", 100, &a, &b), HTTP_RANGE_NONE);
    /* Positions past 64 bits are past the end (RFC 9110 §14.1.2): a last-byte-pos is
     * clamped, a first-byte-pos unsatisfiable, a suffix the whole representation. */
    assert_int_equal(http_range_parse("bytes=99999999999999999999999-", 100, &a, &b),
                     HTTP_RANGE_UNSATISFIABLE);
    assert_int_equal(http_range_parse("bytes=0-99999999999999999999999", 100, &a, &b),
                     HTTP_RANGE_OK);
    assert_true(a == 0 && b == 99);
    assert_int_equal(http_range_parse("bytes=10-18446744073709551616", 100, &a, &b), HTTP_RANGE_OK);
    assert_true(a == 10 && b == 99);
    assert_int_equal(http_range_parse("bytes=0-18446744073709551615", UINT64_MAX, &a, &b),
                     HTTP_RANGE_OK);
    assert_true(a == 0 && b == UINT64_MAX - 1);
    assert_int_equal(http_range_parse("bytes=-99999999999999999999999", 100, &a, &b),
                     HTTP_RANGE_OK);
    assert_true(a == 0 && b == 99);
    assert_int_equal(
            http_range_parse("bytes=99999999999999999999999-99999999999999999999999", 100, &a, &b),
            HTTP_RANGE_UNSATISFIABLE);
}

static void test_utf8_valid(void **state)
{
    (void)state;
    assert_true(http_utf8_valid("", 0));
    assert_true(http_utf8_valid("/dataset/abc", 12));
    assert_true(http_utf8_valid("\xe4\xb8\xad\xe6\x96\x87", 6)); /* 中文 */
    assert_true(http_utf8_valid("\xf0\x9f\x98\x80", 4));         /* U+1F600 */
    assert_false(http_utf8_valid("\xff", 1));
    assert_false(http_utf8_valid("a\x80", 2));            /* lone continuation */
    assert_false(http_utf8_valid("\xc0\xaf", 2));         /* overlong '/' */
    assert_false(http_utf8_valid("\xe0\x80\xaf", 3));     /* overlong, 3 bytes */
    assert_false(http_utf8_valid("\xed\xa0\x80", 3));     /* surrogate U+D800 */
    assert_false(http_utf8_valid("\xf4\x90\x80\x80", 4)); /* past U+10FFFF */
    assert_false(http_utf8_valid("\xe4\xb8", 2));         /* truncated */
    assert_false(http_utf8_valid("\xe4\xb8\xad", 2));     /* cut by len */
}

static void test_trim_ows(void **state)
{
    struct str t;

    (void)state;
    t = http_trim_ows(NULL);
    assert_int_equal(t.len, 0);
    t = http_trim_ows(" \t tok-en \t ");
    assert_int_equal(t.len, 6);
    assert_memory_equal(t.p, "tok-en", 6);
    t = http_trim_ows("Bearer abc\t");
    assert_int_equal(t.len, 10);
    assert_memory_equal(t.p, "Bearer abc", 10);
    t = http_trim_ows(" \t ");
    assert_int_equal(t.len, 0);
}

static void test_accept_gzip(void **state)
{
    (void)state;
    assert_false(http_accepts_gzip(NULL));
    assert_false(http_accepts_gzip(""));
    assert_true(http_accepts_gzip("gzip"));
    assert_true(http_accepts_gzip("gzip, deflate, br"));
    assert_true(http_accepts_gzip("br;q=1.0, GZIP;q=0.5"));
    assert_true(http_accepts_gzip("x-gzip"));
    assert_true(http_accepts_gzip("*"));
    assert_false(http_accepts_gzip("identity"));
    assert_false(http_accepts_gzip("deflate, br"));
    assert_false(http_accepts_gzip("gzip;q=0"));
    assert_false(http_accepts_gzip("gzip;q=0.000"));
    assert_true(http_accepts_gzip("gzip;q=0.001"));
    assert_false(http_accepts_gzip("*, gzip;q=0"));
    assert_false(http_accepts_gzip("*;q=0"));
    assert_false(http_accepts_gzip("gzipx"));
    assert_true(http_accepts_gzip("deflate , gzip ; q=0.8"));
}

static void test_etag(void **state)
{
    char id[HTTP_ETAG_MAX], gz[HTTP_ETAG_MAX], other[HTTP_ETAG_MAX];

    (void)state;
    http_etag_of("abc", 3, false, id);
    /* SHA-256("abc"), FIPS 180-4 example */
    assert_string_equal(id, "\"ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad\"");
    http_etag_of("abc", 3, true, gz);
    assert_string_equal(gz,
                        "\"ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad-gz\"");
    http_etag_of("abd", 3, false, other);
    assert_string_not_equal(id, other);

    assert_false(http_etag_match(NULL, id));
    assert_true(http_etag_match(id, id));
    assert_true(http_etag_match("*", id));
    assert_false(http_etag_match(other, id));
    assert_false(http_etag_match(gz, id));
    assert_false(http_etag_match(id, gz));
    {
        char list[256];
        xsnprintf(list, sizeof(list), "\"x\", W/%s , \"y\"", id);
        assert_true(http_etag_match(list, id));
        xsnprintf(list, sizeof(list), "\"x\", \"y\"");
        assert_false(http_etag_match(list, id));
    }
    /* a prefix of the tag is no match */
    assert_false(http_etag_match("\"ba7816bf\"", id));
}

static void test_gzip_round_trip(void **state)
{
    struct buf in = BUF_INIT, out = BUF_INIT;
    unsigned char back[8192];
    z_stream zs;
    int i;

    (void)state;
    for (i = 0; i < 200; i++)
        buf_addf(&in, "{\"name\":\"dataset-%d\"},", i);
    assert_int_equal(http_gzip(in.buf, in.len, &out), 0);
    assert_true(out.len > 18 && out.len < in.len);
    assert_int_equal((unsigned char)out.buf[0], 0x1f);
    assert_int_equal((unsigned char)out.buf[1], 0x8b);
    assert_int_equal(out.buf[out.len], '\0');

    memset(&zs, 0, sizeof(zs));
    assert_int_equal(inflateInit2(&zs, 15 + 16), Z_OK);
    zs.next_in = (Bytef *)out.buf;
    zs.avail_in = (uInt)out.len;
    zs.next_out = back;
    zs.avail_out = sizeof(back);
    assert_int_equal(inflate(&zs, Z_FINISH), Z_STREAM_END);
    assert_int_equal(zs.total_out, in.len);
    assert_memory_equal(back, in.buf, in.len);
    inflateEnd(&zs);

    /* a buffer whose maximum is too small fails cleanly */
    {
        struct buf tiny;
        buf_init(&tiny, 8);
        assert_int_equal(http_gzip(in.buf, in.len, &tiny), -1);
        buf_release(&tiny);
    }
    buf_release(&in);
    buf_release(&out);
}

static void test_listen_parse(void **state)
{
    char host[64];
    unsigned port = 1;

    (void)state;
    assert_int_equal(http_listen_parse("127.0.0.1:8080", host, sizeof(host), &port), 0);
    assert_string_equal(host, "127.0.0.1");
    assert_int_equal(port, 8080);
    assert_int_equal(http_listen_parse("[::1]:0", host, sizeof(host), &port), 0);
    assert_string_equal(host, "::1");
    assert_int_equal(port, 0);
    assert_int_equal(http_listen_parse(":9000", host, sizeof(host), &port), 0);
    assert_string_equal(host, "");
    assert_int_equal(port, 9000);
    assert_int_equal(http_listen_parse("localhost:65535", host, sizeof(host), &port), 0);
    assert_int_equal(http_listen_parse("localhost:65536", host, sizeof(host), &port), -1);
    assert_int_equal(http_listen_parse("localhost", host, sizeof(host), &port), -1);
    assert_int_equal(http_listen_parse("localhost:", host, sizeof(host), &port), -1);
    assert_int_equal(http_listen_parse("localhost:8x", host, sizeof(host), &port), -1);
    assert_int_equal(http_listen_parse("::1:80", host, sizeof(host), &port), -1);
    assert_int_equal(http_listen_parse("[::1]80", host, sizeof(host), &port), -1);
    assert_int_equal(http_listen_parse(NULL, host, sizeof(host), &port), -1);
    assert_int_equal(http_listen_parse("averyveryverylonghostname:1", host, 8, &port), -1);
}

static void test_media_type(void **state)
{
    char t[32];

    (void)state;
    http_media_type("Application/JSON; charset=utf-8", t, sizeof(t));
    assert_string_equal(t, "application/json");
    http_media_type("  multipart/form-data;boundary=xyz", t, sizeof(t));
    assert_string_equal(t, "multipart/form-data");
    http_media_type(NULL, t, sizeof(t));
    assert_string_equal(t, "");
    http_media_type("text/plain", t, 5);
    assert_string_equal(t, "text");
}

static void test_path_match(void **state)
{
    struct str a[4];

    (void)state;
    assert_int_equal(http_path_match("/", "/", a, 4), 0);
    assert_int_equal(http_path_match("/healthz", "/healthz", a, 4), 0);
    assert_int_equal(http_path_match("/healthz", "/healthz/", a, 4), 0);
    assert_int_equal(http_path_match("/healthz", "/healthzx", a, 4), -1);
    assert_int_equal(http_path_match("/healthz", "/health", a, 4), -1);
    assert_int_equal(http_path_match("/", "//", a, 4), -1);
    assert_int_equal(http_path_match("/api/3/action/:name", "/api/3/action/package_show", a, 4), 1);
    assert_int_equal(a[0].len, strlen("package_show"));
    assert_memory_equal(a[0].p, "package_show", a[0].len);
    assert_int_equal(http_path_match("/api/3/action/:name", "/api/3/action/", a, 4), -1);
    assert_int_equal(http_path_match("/api/3/action/:name", "/api/3/action/a/b", a, 4), -1);
    assert_int_equal(http_path_match("/dataset/:id/resource/:rid/download/:f",
                                     "/dataset/d1/resource/r-2/download/x.csv", a, 4),
                     3);
    assert_memory_equal(a[0].p, "d1", 2);
    assert_memory_equal(a[1].p, "r-2", 3);
    assert_memory_equal(a[2].p, "x.csv", 5);
    assert_int_equal(http_path_match("/dataset/:id", "/dataset/x/resource", a, 4), -1);
    assert_int_equal(http_path_match("/dataset/:id", "/dataset//", a, 4), -1);
}

/* ":rest*" takes the rest of the path, of any depth: tlog-tiles paths. */
static void test_path_match_rest(void **state)
{
    struct str a[4];
    const char *p = "/ledger/tile/:path*";

    (void)state;
    assert_int_equal(http_path_match(p, "/ledger/tile/0/000", a, 4), 1);
    assert_int_equal(a[0].len, 5);
    assert_memory_equal(a[0].p, "0/000", 5);
    assert_int_equal(http_path_match(p, "/ledger/tile/1/x001/x234/067.p/7", a, 4), 1);
    assert_int_equal(a[0].len, strlen("1/x001/x234/067.p/7"));
    assert_memory_equal(a[0].p, "1/x001/x234/067.p/7", a[0].len);
    assert_int_equal(http_path_match(p, "/ledger/tile/entries/005", a, 4), 1);
    assert_memory_equal(a[0].p, "entries/005", a[0].len);
    /* a trailing slash belongs to the capture (the tile parser refuses it) */
    assert_int_equal(http_path_match(p, "/ledger/tile/0/000/", a, 4), 1);
    assert_int_equal(a[0].len, 6);
    /* the rest must not be empty */
    assert_int_equal(http_path_match(p, "/ledger/tile/", a, 4), -1);
    assert_int_equal(http_path_match(p, "/ledger/tile", a, 4), -1);
    assert_int_equal(http_path_match(p, "/ledger/tiles/0/000", a, 4), -1);
    assert_int_equal(http_path_match(p, "/ledger/checkpoint", a, 4), -1);
    /* ordinary captures before it still count */
    assert_int_equal(http_path_match("/x/:a/:b*", "/x/one/two/three", a, 4), 2);
    assert_memory_equal(a[0].p, "one", a[0].len);
    assert_int_equal(a[1].len, strlen("two/three"));
    assert_memory_equal(a[1].p, "two/three", a[1].len);
    /* '*' elsewhere than the last segment is an ordinary capture name */
    assert_int_equal(http_path_match("/x/:a*/y", "/x/one/y", a, 4), 1);
    assert_int_equal(http_path_match("/x/:a*/y", "/x/one/two/y", a, 4), -1);
    /* more captures than room: counted, not written */
    assert_int_equal(http_path_match("/x/:a/:b*", "/x/one/two", a, 1), 2);
}

static void test_log_path(void **state)
{
    char out[16];

    (void)state;
    http_log_path("/api/3/action/package_show?id=x&token=secret", out, sizeof(out));
    assert_string_equal(out, "/api/3/actio...");
    http_log_path("/a?token=secret", out, sizeof(out));
    assert_string_equal(out, "/a");
    http_log_path("/exactly15chars", out, sizeof(out));
    assert_string_equal(out, "/exactly15chars");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_range),
            cmocka_unit_test(test_accept_gzip),
            cmocka_unit_test(test_etag),
            cmocka_unit_test(test_gzip_round_trip),
            cmocka_unit_test(test_listen_parse),
            cmocka_unit_test(test_media_type),
            cmocka_unit_test(test_path_match),
            cmocka_unit_test(test_log_path),
            cmocka_unit_test(test_utf8_valid),
            cmocka_unit_test(test_trim_ows),
            cmocka_unit_test(test_path_match_rest),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
