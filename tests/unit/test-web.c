/*
 * test-web.c - escaping at the sink and Markdown in safe mode: markup in input comes out
 * as text, raw HTML and javascript: links never reach the page.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "access/access.h"
#include "catalog/catalog.h"
#include "core/limits.h"
#include "web/html.h"
#include "web/markdown.h"
#include "web/ui.h"
#include "core/util.h"
#include "unit-util.h"

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

/* A catalog over a fresh store, with a sysadmin and n datasets "ds-001"…; one
 * organization and one group. */
struct web_fixture {
    struct unit_store *u;
    struct catalog c;
    struct actor root;
};

static void web_run(struct web_fixture *w, catalog_action_fn fn, const char *params)
{
    struct err err = ERR_INIT;
    json_t *p = json_loads(params, 0, NULL), *r = NULL;

    assert_non_null(p);
    if (fn(&w->c, &w->root, p, &r, &err))
        fail_msg("%s: %s", params, err.msg);
    json_decref(p);
    json_decref(r);
}

static void web_setup(void **state, struct web_fixture *w, size_t n)
{
    struct err err = ERR_INIT;

    secret_init();
    assert_int_equal(unit_store_setup(state, "web"), 0);
    w->u = *state;
    catalog_init(&w->c, w->u->s, w->u->dir, "http://portal.test");
    assert_int_equal(access_user_add(w->u->s, "root", NULL, NULL, true, NULL, &err), 0);
    assert_int_equal(access_actor_from_user(w->u->s, "root", &w->root, &err), 0);
    web_run(w, catalog_organization_create, "{\"name\": \"stats\"}");
    web_run(w, catalog_group_create, "{\"name\": \"economy\"}");
    for (size_t i = 1; i <= n; i++) {
        char *p = xstrfmt("{\"name\": \"ds-%03zu\", \"title\": \"Table %03zu\", \"owner_org\": "
                          "\"stats\", \"notes\": \"a&b <x>\"}",
                          i, i);

        web_run(w, catalog_package_create, p);
        free(p);
    }
}

static void web_teardown(void **state, struct web_fixture *w)
{
    actor_release(&w->root);
    catalog_release(&w->c);
    unit_store_teardown(state);
}

static size_t count_str(const char *hay, const char *needle)
{
    size_t n = 0;

    for (const char *p = strstr(hay, needle); p; p = strstr(p + 1, needle))
        n++;
    return n;
}

/* /dataset pages through every result, UI_SEARCH_ROWS at a time, and its links keep q. */
static void test_search_pagination(void **state)
{
    struct web_fixture w;
    struct buf b = BUF_INIT;
    struct err err = ERR_INIT;
    const struct actor anon = ACTOR_ANONYMOUS;

    web_setup(state, &w, 2 * UI_SEARCH_ROWS + 5); /* 45: three pages */
    assert_int_equal(ui_dataset_search_page(&w.c, &anon, NULL, NULL, &b, &err), 0);
    assert_non_null(strstr(b.buf, "45 datasets found."));
    assert_int_equal(count_str(b.buf, "<li><a href=\"/dataset/ds-"), UI_SEARCH_ROWS);
    assert_non_null(strstr(b.buf, "Page 1 of 3"));
    assert_non_null(strstr(b.buf, "<a href=\"/dataset?page=2\" rel=\"next\">"));
    assert_null(strstr(b.buf, "rel=\"prev\""));
    buf_reset(&b);

    /* q is kept, percent-encoded; the page in the middle links both ways. */
    assert_int_equal(ui_dataset_search_page(&w.c, &anon, "table \"<&>\" OR", "2", &b, &err),
                     -ERR_SEARCH);
    err_clear(&err);
    buf_reset(&b);
    assert_int_equal(ui_dataset_search_page(&w.c, &anon, "table <&>\"", "2", &b, &err), 0);
    assert_non_null(strstr(b.buf, "Page 2 of 3"));
    assert_non_null(strstr(b.buf, "<a href=\"/dataset?q=table%20%3C%26%3E%22&amp;page=1\" "
                                  "rel=\"prev\">"));
    assert_non_null(strstr(b.buf, "<a href=\"/dataset?q=table%20%3C%26%3E%22&amp;page=3\" "
                                  "rel=\"next\">"));
    assert_null(strstr(b.buf, "<&>"));
    assert_int_equal(count_str(b.buf, "<li><a href=\"/dataset/ds-"), UI_SEARCH_ROWS);
    buf_reset(&b);

    /* The last page holds the rest; every dataset is on exactly one page. */
    assert_int_equal(ui_dataset_search_page(&w.c, &anon, NULL, "3", &b, &err), 0);
    assert_non_null(strstr(b.buf, "Page 3 of 3"));
    assert_int_equal(count_str(b.buf, "<li><a href=\"/dataset/ds-"), 5);
    assert_null(strstr(b.buf, "rel=\"next\""));
    buf_reset(&b);

    /* Past the end: the last page; nonsense: the first. */
    assert_int_equal(ui_dataset_search_page(&w.c, &anon, NULL, "99", &b, &err), 0);
    assert_non_null(strstr(b.buf, "Page 3 of 3"));
    buf_reset(&b);
    static const char *const junk[] = {"0", "-1", "x", "", "2x", "99999999999999999999999"};
    for (size_t i = 0; i < ARRAY_SIZE(junk); i++) {
        assert_int_equal(ui_dataset_search_page(&w.c, &anon, NULL, junk[i], &b, &err), 0);
        assert_non_null(strstr(b.buf, "Page 1 of 3"));
        buf_reset(&b);
    }

    /* One page: no pagination; one result: singular. */
    assert_int_equal(ui_dataset_search_page(&w.c, &anon, "name:ds-007", NULL, &b, &err), 0);
    assert_non_null(strstr(b.buf, "1 dataset found for"));
    assert_null(strstr(b.buf, "Page "));
    buf_reset(&b);
    assert_int_equal(ui_dataset_search_page(&w.c, &anon, "nothing-matches", NULL, &b, &err), 0);
    assert_non_null(strstr(b.buf, "0 datasets found"));
    buf_release(&b);
    web_teardown(state, &w);
}

/* The home page's counts agree in number with their nouns. */
static void test_home_counts(void **state)
{
    struct web_fixture w;
    struct buf b = BUF_INIT;
    struct err err = ERR_INIT;
    const struct actor anon = ACTOR_ANONYMOUS;

    web_setup(state, &w, 1);
    assert_int_equal(ui_home(&w.c, &anon, &b, &err), 0);
    assert_non_null(strstr(b.buf, "1 dataset, 1 organization, 1 group."));
    buf_reset(&b);
    web_run(&w, catalog_organization_create, "{\"name\": \"transport\"}");
    web_run(&w, catalog_group_create, "{\"name\": \"society\"}");
    web_run(&w, catalog_package_create, "{\"name\": \"ds-two\", \"owner_org\": \"stats\"}");
    assert_int_equal(ui_home(&w.c, &anon, &b, &err), 0);
    assert_non_null(strstr(b.buf, "2 datasets, 2 organizations, 2 groups."));
    buf_release(&b);
    web_teardown(state, &w);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_html_text),     cmocka_unit_test(test_html_attr_and_url),
            cmocka_unit_test(test_markdown_safe), cmocka_unit_test(test_markdown_too_long),
            cmocka_unit_test(test_error_page),    cmocka_unit_test(test_search_pagination),
            cmocka_unit_test(test_home_counts),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
