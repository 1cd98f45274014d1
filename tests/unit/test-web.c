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
#include "crypto/secret.h"
#include "ledger/ledger.h"
#include "web/html.h"
#include "web/i18n.h"
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
static int search(struct web_fixture *w, const char *q, const char *page, struct buf *b,
                  struct err *err)
{
    const struct actor anon = ACTOR_ANONYMOUS;
    struct ui_search_query sq = {.q = q, .page = page};

    return ui_dataset_search_page(&w->c, &anon, &sq, b, err);
}

static void test_search_pagination(void **state)
{
    struct web_fixture w;
    struct buf b = BUF_INIT;
    struct err err = ERR_INIT;

    web_setup(state, &w, 2 * UI_SEARCH_ROWS + 5); /* 45: three pages */
    assert_int_equal(search(&w, NULL, NULL, &b, &err), 0);
    assert_non_null(strstr(b.buf, "45 datasets found"));
    assert_int_equal(count_str(b.buf, "<li><a href=\"/dataset/ds-"), UI_SEARCH_ROWS);
    assert_non_null(strstr(b.buf, "Page 1 / 3"));
    assert_non_null(strstr(b.buf, "<a rel=\"next\" href=\"/dataset?page=2\">"));
    assert_null(strstr(b.buf, "rel=\"prev\""));
    buf_reset(&b);

    /* A query the parser refuses is said on the page, not an error page. */
    assert_int_equal(search(&w, "table \"<&>\" OR", "2", &b, &err), 0);
    assert_non_null(strstr(b.buf, "The query could not be read:"));
    assert_null(strstr(b.buf, "<&>"));
    buf_reset(&b);
    /* q is kept, percent-encoded; the page in the middle links both ways. */
    assert_int_equal(search(&w, "table <&>\"", "2", &b, &err), 0);
    assert_non_null(strstr(b.buf, "Page 2 / 3"));
    assert_non_null(strstr(b.buf, "<a rel=\"prev\" href=\"/dataset?q=table%20%3C%26%3E%22\">"));
    assert_non_null(
            strstr(b.buf, "<a rel=\"next\" href=\"/dataset?q=table%20%3C%26%3E%22&amp;page=3\">"));
    assert_null(strstr(b.buf, "<&>"));
    assert_int_equal(count_str(b.buf, "<li><a href=\"/dataset/ds-"), UI_SEARCH_ROWS);
    buf_reset(&b);

    /* The last page holds the rest; every dataset is on exactly one page. */
    assert_int_equal(search(&w, NULL, "3", &b, &err), 0);
    assert_non_null(strstr(b.buf, "Page 3 / 3"));
    assert_int_equal(count_str(b.buf, "<li><a href=\"/dataset/ds-"), 5);
    assert_null(strstr(b.buf, "rel=\"next\""));
    buf_reset(&b);

    /* Past the end: the last page; nonsense: the first. */
    assert_int_equal(search(&w, NULL, "99", &b, &err), 0);
    assert_non_null(strstr(b.buf, "Page 3 / 3"));
    buf_reset(&b);
    static const char *const junk[] = {"0", "-1", "x", "", "2x", "99999999999999999999999"};
    for (size_t i = 0; i < ARRAY_SIZE(junk); i++) {
        assert_int_equal(search(&w, NULL, junk[i], &b, &err), 0);
        assert_non_null(strstr(b.buf, "Page 1 / 3"));
        buf_reset(&b);
    }

    /* One page: no pagination; one result: singular. */
    assert_int_equal(search(&w, "name:ds-007", NULL, &b, &err), 0);
    assert_non_null(strstr(b.buf, "1 dataset found"));
    assert_null(strstr(b.buf, "page-of"));
    buf_reset(&b);
    assert_int_equal(search(&w, "nothing-matches", NULL, &b, &err), 0);
    assert_non_null(strstr(b.buf, "0 datasets found"));
    buf_release(&b);
    web_teardown(state, &w);
}

/* Facet values are counted, link to the state with the value added, and a selected
 * value links to the state without it; sort and q ride along. */
static void test_search_facets(void **state)
{
    struct web_fixture w;
    struct buf b = BUF_INIT;
    struct err err = ERR_INIT;
    const struct actor anon = ACTOR_ANONYMOUS;
    static const char *const orgs[] = {"stats"};
    struct ui_search_query sq = {.q = "table", .sort = "title_string asc"};

    web_setup(state, &w, 3);
    assert_int_equal(ui_dataset_search_page(&w.c, &anon, &sq, &b, &err), 0);
    assert_non_null(strstr(b.buf, "<a href=\"/dataset?q=table&amp;organization=stats&amp;"
                                  "sort=title_string%20asc\">"));
    assert_non_null(strstr(b.buf, "<span class=\"count\">3</span>"));
    buf_reset(&b);
    sq.facets[0] = orgs;
    sq.nfacets[0] = 1;
    assert_int_equal(ui_dataset_search_page(&w.c, &anon, &sq, &b, &err), 0);
    assert_non_null(strstr(b.buf, "3 datasets found"));
    assert_non_null(strstr(b.buf, "<a href=\"/dataset?q=table&amp;sort=title_string%20asc\" "
                                  "class=\"selected\" aria-current=\"true\">"));
    /* The search and sort forms carry the facet as a hidden field. */
    assert_int_equal(count_str(b.buf, "<input type=\"hidden\" name=\"organization\" "
                                      "value=\"stats\">"),
                     2);
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
    /* Organizations and themes are counted when they hold public datasets (facets). */
    assert_non_null(strstr(b.buf, "1 dataset · 1 organization · 0 themes"));
    buf_reset(&b);
    web_run(&w, catalog_organization_create, "{\"name\": \"transport\"}");
    web_run(&w, catalog_group_create, "{\"name\": \"society\"}");
    web_run(&w, catalog_package_create,
            "{\"name\": \"ds-two\", \"owner_org\": \"transport\", \"groups\": [{\"name\": "
            "\"society\"}]}");
    assert_int_equal(ui_home(&w.c, &anon, &b, &err), 0);
    assert_non_null(strstr(b.buf, "2 datasets · 2 organizations · 1 theme</p>"));
    assert_non_null(strstr(b.buf, "<a href=\"/group/society\">society</a>"));
    buf_reset(&b);
    web_run(&w, catalog_package_create,
            "{\"name\": \"ds-three\", \"owner_org\": \"stats\", \"groups\": [{\"name\": "
            "\"economy\"}]}");
    assert_int_equal(ui_home(&w.c, &anon, &b, &err), 0);
    assert_non_null(strstr(b.buf, "3 datasets · 2 organizations · 2 themes</p>"));
    buf_release(&b);
    web_teardown(state, &w);
}

/* Accept-Language and the cookie choose the language; the Chinese catalog linked into
 * the binary translates, plural forms included, and English is the source text. */
static void test_language(void **state)
{
    struct ui_request zh = {.lang = UI_LANG_ZH, .path = "/", .query = NULL};
    struct buf b = BUF_INIT;

    (void)state;
    assert_int_equal(ui_lang_negotiate(NULL, NULL), UI_LANG_EN);
    assert_int_equal(ui_lang_negotiate(NULL, "zh-CN,zh;q=0.9,en;q=0.8"), UI_LANG_ZH);
    assert_int_equal(ui_lang_negotiate(NULL, "en-GB,en;q=0.9,zh;q=0.5"), UI_LANG_EN);
    assert_int_equal(ui_lang_negotiate(NULL, "fr, zh-TW;q=0.3"), UI_LANG_ZH);
    assert_int_equal(ui_lang_negotiate(NULL, "zh;q=0, en;q=0.1"), UI_LANG_EN);
    assert_int_equal(ui_lang_negotiate(NULL, "zhx, de"), UI_LANG_EN);
    assert_int_equal(ui_lang_negotiate("en", "zh-CN"), UI_LANG_EN);
    assert_int_equal(ui_lang_negotiate("zh_CN", "en"), UI_LANG_ZH);
    assert_int_equal(ui_lang_negotiate("klingon", "zh"), UI_LANG_ZH);
    assert_string_equal(_("Datasets"), "Datasets");
    ui_request_begin(&zh);
    assert_string_equal(_("Datasets"), "数据集");
    assert_string_equal(_("no such string, kept as it is"), "no such string, kept as it is");
    assert_string_equal(ui_ngettext("%n dataset", "%n datasets", 5), "%n 个数据集");
    ui_error_page(404, "x", &b);
    assert_non_null(strstr(b.buf, "<html lang=\"zh-CN\">"));
    assert_non_null(strstr(b.buf, "<h1>未找到</h1>"));
    /* The switch links to the same address in the other language. */
    assert_non_null(strstr(b.buf, "href=\"/lang?to=en&amp;next=%2F\""));
    ui_request_end();
    assert_string_equal(_("Datasets"), "Datasets");
    buf_release(&b);
}

/* Records n entries "type-<i mod 3>" directly (one transaction), the first with markup
 * in every field, and integrates them. */
static void ledger_fill(struct store *s, const struct ledger_key *key, size_t n)
{
    struct err err = ERR_INIT;
    uint64_t size = 0;

    assert_int_equal(store_begin(s, &err), 0);
    for (size_t i = 0; i < n; i++) {
        char type[32];
        json_t *objects;

        xsnprintf(type, sizeof(type), "type-%zu", i % 3);
        if (i == 0)
            objects = json_pack("{s:s, s:s}", "dataset", "id\"><script>x</script>", "title",
                                "<script>alert(1)</script>");
        else
            objects = json_pack("{s:s}", "dataset", "plain-id");
        if (ledger_record(s, i == 0 ? "<b>type</b>" : type, i == 0 ? "<i>actor</i>" : "root",
                          i == 0 ? "org\"<x>" : "stats", objects, NULL, NULL, &err))
            fail_msg("ledger_record: %s", err.msg);
        json_decref(objects);
    }
    assert_int_equal(store_commit(s, &err), 0);
    assert_int_equal(ledger_integrate(s, key, &size, &err), 0);
    assert_true(size >= n);
}

static size_t count_rows(const char *html)
{
    return count_str(html, "<tr id=\"entry-");
}

/* /ledger: checkpoint and key shown, entries newest first and escaped, filters and
 * paging by index. */
static void test_ledger_page(void **state)
{
    struct unit_store *u;
    struct catalog c;
    struct ledger_key *key = NULL;
    struct buf b = BUF_INIT;
    struct err err = ERR_INIT;
    struct ui_ledger_query q = {NULL, NULL, NULL};
    char path[128], *p;
    const char *first;

    secret_init();
    assert_int_equal(unit_store_setup(state, "webledger"), 0);
    u = *state;
    catalog_init(&c, u->s, u->dir, "http://portal.test");
    xsnprintf(path, sizeof(path), "%s/ledger.key", u->dir);
    assert_int_equal(ledger_key_create(path, "portal.test/ledger", &err), 0);
    assert_int_equal(ledger_key_load(path, &key, &err), 0);

    /* an empty log before the first integration */
    assert_int_equal(ui_ledger(&c, key, &q, &b, &err), 0);
    assert_non_null(strstr(b.buf, ledger_key_vkey(key)));
    assert_int_equal(count_rows(b.buf), 0);
    buf_reset(&b);

    ledger_fill(u->s, key, UI_LEDGER_ROWS + 10);
    assert_int_equal(ui_ledger(&c, key, &q, &b, &err), 0);
    assert_non_null(strstr(b.buf, "portal.test/ledger"));
    assert_non_null(strstr(b.buf, ledger_key_vkey(key)));
    assert_int_equal(count_rows(b.buf), UI_LEDGER_ROWS);
    /* newest first: the first row is the last entry */
    first = strstr(b.buf, "<tr id=\"entry-");
    assert_non_null(first);
    p = xstrfmt("<tr id=\"entry-%u\"", UI_LEDGER_ROWS + 9);
    assert_ptr_equal(first, strstr(b.buf, p));
    free(p);
    assert_non_null(strstr(b.buf, "/api/ledger/proof/inclusion?index=59&amp;size=60\""));
    /* the next page starts below the oldest entry shown */
    assert_non_null(strstr(b.buf, "href=\"/ledger?before=10\" rel=\"next\""));
    buf_reset(&b);

    q.before = "10";
    assert_int_equal(ui_ledger(&c, key, &q, &b, &err), 0);
    assert_int_equal(count_rows(b.buf), 10);
    /* entry 0: every field escaped, the dataset link percent-encoded */
    assert_null(strstr(b.buf, "<script"));
    assert_null(strstr(b.buf, "<b>type"));
    assert_null(strstr(b.buf, "<i>actor"));
    assert_null(strstr(b.buf, "org\"<x>"));
    assert_non_null(strstr(b.buf, "&lt;script&gt;alert(1)&lt;/script&gt;"));
    assert_non_null(strstr(b.buf, "href=\"/dataset/id%22%3E%3Cscript%3Ex%3C%2Fscript%3E\""));
    assert_non_null(strstr(b.buf, "href=\"/ledger?org=org%22%3Cx%3E\""));
    assert_null(strstr(b.buf, "rel=\"next\""));
    buf_reset(&b);

    /* filters: exact type, exact organization; the paging links keep them */
    q.before = NULL;
    q.type = "type-1";
    assert_int_equal(ui_ledger(&c, key, &q, &b, &err), 0);
    assert_int_equal(count_rows(b.buf), 20); /* 1, 4, …, 58 */
    assert_int_equal(count_str(b.buf, ">type-1</a>"), 20);
    assert_int_equal(count_str(b.buf, ">type-2</a>"), 0);
    assert_non_null(strstr(b.buf, "Filters look at up to"));
    buf_reset(&b);
    q.type = "\"><script>";
    q.org = "org\"<x>";
    assert_int_equal(ui_ledger(&c, key, &q, &b, &err), 0);
    assert_int_equal(count_rows(b.buf), 0);
    assert_null(strstr(b.buf, "<script"));
    assert_non_null(strstr(b.buf, "value=\"&quot;&gt;&lt;script&gt;\""));
    buf_reset(&b);
    q.type = NULL;
    assert_int_equal(ui_ledger(&c, key, &q, &b, &err), 0);
    assert_int_equal(count_rows(b.buf), 1);
    buf_reset(&b);

    /* "before" past the log's end: the newest page (every entry is before it); empty:
     * absent */
    q.org = NULL;
    q.before = "9223372036854775807";
    assert_int_equal(ui_ledger(&c, key, &q, &b, &err), 0);
    assert_int_equal(count_rows(b.buf), UI_LEDGER_ROWS);
    buf_reset(&b);
    q.before = "";
    assert_int_equal(ui_ledger(&c, key, &q, &b, &err), 0);
    assert_int_equal(count_rows(b.buf), UI_LEDGER_ROWS);
    buf_reset(&b);

    /* "before" that is not an index: a 400 naming it, not silently the newest page */
    {
        static const char *const bad[] = {"-1", "abc", "99999999999999999999", "0", "1x", " 5",
                                          "+5", "0x10"};

        for (size_t k = 0; k < ARRAY_SIZE(bad); k++) {
            q.before = bad[k];
            err_clear(&err);
            assert_int_equal(ui_ledger(&c, key, &q, &b, &err), -ERR_BAD_REQUEST);
            assert_int_equal(err.kind, ERR_BAD_REQUEST);
            assert_string_equal(err.field, "before");
            assert_non_null(strstr(err.msg, "\"before\""));
            buf_reset(&b);
        }
    }
    err_clear(&err);

    buf_release(&b);
    ledger_key_free(key);
    catalog_release(&c);
    unit_store_teardown(state);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_html_text),     cmocka_unit_test(test_html_attr_and_url),
            cmocka_unit_test(test_markdown_safe), cmocka_unit_test(test_markdown_too_long),
            cmocka_unit_test(test_error_page),    cmocka_unit_test(test_search_pagination),
            cmocka_unit_test(test_home_counts),   cmocka_unit_test(test_search_facets),
            cmocka_unit_test(test_language),      cmocka_unit_test(test_ledger_page),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
