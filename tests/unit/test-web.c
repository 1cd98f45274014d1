/*
 * test-web.c - escaping at the sink and Markdown in safe mode: markup in input comes out
 * as text, raw HTML and javascript: links never reach the page.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "core/limits.h"
#include "web/html.h"
#include "web/markdown.h"
#include "web/ui.h"
#include "core/util.h"

static void test_html_text(void **state)
{
    struct buf b = BUF_INIT;

    (void)state;
    html_text(&b, "<script>alert(\"x\" & 'y')</script>");
    assert_string_equal(b.buf,
                        "&lt;script&gt;alert(&quot;x&quot; &amp; &#39;y&#39;)&lt;/script&gt;");
    buf_reset(&b);
    html_text(&b, NULL);
    assert_string_equal(b.buf, "");
    html_text(&b, "统计局 plain");
    assert_string_equal(b.buf, "统计局 plain");
    buf_reset(&b);
    /* invalid UTF-8 (a lone continuation byte, an overlong '<', a surrogate) becomes U+FFFD,
     * never a byte a browser might read as markup */
    html_text(&b, "a\x80z\xc0\xbc\xed\xa0\x80");
    assert_string_equal(b.buf, "a\xef\xbf\xbdz\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"
                               "\xef\xbf\xbd");
    buf_release(&b);
}

static void test_html_attr_and_url(void **state)
{
    struct buf b = BUF_INIT;

    (void)state;
    html_attr(&b, "\" onmouseover=\"alert(1)");
    assert_null(strchr(b.buf, '"'));
    assert_string_equal(b.buf, "&quot; onmouseover=&quot;alert(1)");
    buf_reset(&b);
    html_url_arg(&b, "a b/c?d=e&f\"<统");
    assert_string_equal(b.buf, "a%20b%2Fc%3Fd%3De%26f%22%3C%E7%BB%9F");
    buf_reset(&b);
    html_url_arg(&b, "Safe-name_1.2~");
    assert_string_equal(b.buf, "Safe-name_1.2~");
    buf_reset(&b);
    HTML(&b, "<p>");
    html_uint(&b, 42);
    HTML(&b, "</p>");
    assert_string_equal(b.buf, "<p>42</p>");
    buf_release(&b);
}

static void test_markdown_safe(void **state)
{
    struct buf b = BUF_INIT;

    (void)state;
    markdown_html("# Title\n\nSome **bold** text.\n", &b);
    assert_non_null(strstr(b.buf, "<h1>Title</h1>"));
    assert_non_null(strstr(b.buf, "<strong>bold</strong>"));
    buf_reset(&b);

    markdown_html("before\n\n<script>alert(1)</script>\n\n<img src=x onerror=alert(1)>\n", &b);
    assert_null(strstr(b.buf, "<script"));
    assert_null(strstr(b.buf, "<img"));
    assert_null(strstr(b.buf, "onerror"));
    assert_non_null(strstr(b.buf, "raw HTML omitted"));
    buf_reset(&b);

    markdown_html("inline <b onclick=\"x()\">tag</b> here", &b);
    assert_null(strstr(b.buf, "<b"));
    assert_null(strstr(b.buf, "onclick"));
    buf_reset(&b);

    markdown_html("[click](javascript:alert(1)) [v](VBScript:x) [d](data:text/html,<x>) "
                  "[ok](https://example.org/a?b=1&c=2)",
                  &b);
    assert_null(strstr(b.buf, "javascript:"));
    assert_null(strcasestr(b.buf, "vbscript:"));
    assert_null(strstr(b.buf, "data:text/html"));
    assert_non_null(strstr(b.buf, "href=\"https://example.org/a?b=1&amp;c=2\""));
    buf_reset(&b);

    markdown_html("![x](javascript:alert(1))", &b);
    assert_null(strstr(b.buf, "javascript:"));
    buf_reset(&b);

    markdown_html(NULL, &b);
    assert_string_equal(b.buf, "");
    buf_release(&b);
}

static void test_markdown_too_long(void **state)
{
    struct buf b = BUF_INIT;
    char *md = xmalloc(LIMIT_TEXT_MAX + 16);

    (void)state;
    memset(md, 'a', LIMIT_TEXT_MAX + 15);
    memcpy(md, "<script>", 8);
    md[LIMIT_TEXT_MAX + 15] = '\0';
    markdown_html(md, &b);
    assert_true(starts_with(b.buf, "<pre>&lt;script&gt;"));
    assert_null(strstr(b.buf, "<script"));
    free(md);
    buf_release(&b);
}

static void test_error_page(void **state)
{
    struct buf b = BUF_INIT;

    (void)state;
    ui_error_page(404, "dataset \"<svg onload=x>\" not found", &b);
    assert_non_null(strstr(b.buf, "<html lang=\"en\">"));
    assert_non_null(strstr(b.buf, "<title>Not found"));
    assert_non_null(strstr(b.buf, "&lt;svg onload=x&gt;"));
    assert_null(strstr(b.buf, "<svg"));
    buf_release(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_html_text),     cmocka_unit_test(test_html_attr_and_url),
            cmocka_unit_test(test_markdown_safe), cmocka_unit_test(test_markdown_too_long),
            cmocka_unit_test(test_error_page),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
