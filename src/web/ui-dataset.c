/*
 * ui-dataset.c - dataset pages: the search results list (/dataset?q=) and one
 * dataset (/dataset/<name>).
 */
#include <jansson.h>

#include "web/html.h"
#include "web/markdown.h"
#include "web/ui.h"
#include "web/web-int.h"
#include "core/parse.h"
#include "core/util.h"

/* The page number asked for: a decimal at least 1; anything else is page 1. */
static uint64_t page_number(const char *page)
{
    uint64_t n;

    if (!page || parse_u64(page, UI_SEARCH_PAGE_MAX, &n) || n < 1)
        return 1;
    return n;
}

/* A link to another page of the same search: q is percent-encoded (so it is also
 * safe inside the quoted attribute), label is markup from a literal. */
static void page_link(struct buf *b, const char *q, uint64_t page, const char *rel)
{
    HTML(b, "<a href=\"/dataset?");
    if (q && q[0]) {
        HTML(b, "q=");
        html_url_arg(b, q);
        HTML(b, "&amp;");
    }
    HTML(b, "page=");
    html_uint(b, page);
    HTML(b, "\" rel=\"");
    html_attr(b, rel);
    HTML(b, "\">");
    if (str_eq(rel, "prev"))
        HTML(b, "← Previous");
    else
        HTML(b, "Next →");
    HTML(b, "</a>");
}

int ui_dataset_search_page(struct catalog *c, const struct actor *a, const char *q,
                           const char *page, struct buf *out, struct err *err)
{
    json_t *params = NULL, *search = NULL, *v;
    uint64_t n = page_number(page), pages, count;
    size_t i;
    int ret;

    for (;;) {
        params = json_pack("{s:s, s:I, s:I}", "q", q ? q : "", "rows", (json_int_t)UI_SEARCH_ROWS,
                           "start", (json_int_t)((n - 1) * UI_SEARCH_ROWS));
        ret = catalog_package_search(c, a, params, &search, err);
        if (ret < 0)
            goto out;
        count = (uint64_t)json_integer_value(json_object_get(search, "count"));
        pages = count ? (count + UI_SEARCH_ROWS - 1) / UI_SEARCH_ROWS : 1;
        if (n <= pages)
            break;
        /* Past the end (an old link, a hand-made URL): show the last page. */
        n = pages;
        json_decref(params);
        json_decref(search);
        params = search = NULL;
    }
    ui_header(out, q && q[0] ? q : "Datasets");
    HTML(out, "<h1>Datasets</h1>\n<p>");
    html_uint(out, count);
    if (count == 1)
        HTML(out, " dataset found");
    else
        HTML(out, " datasets found");
    if (q && q[0]) {
        HTML(out, " for “");
        html_text(out, q);
        HTML(out, "”");
    }
    HTML(out, ".</p>\n<ul class=\"datasets\">\n");
    json_array_foreach (json_object_get(search, "results"), i, v)
        ui_dataset_item(out, v);
    HTML(out, "</ul>\n");
    if (pages > 1) {
        HTML(out, "<nav class=\"pagination\"><p>");
        if (n > 1) {
            page_link(out, q, n - 1, "prev");
            HTML(out, " ");
        }
        HTML(out, "Page ");
        html_uint(out, n);
        HTML(out, " of ");
        html_uint(out, pages);
        if (n < pages) {
            HTML(out, " ");
            page_link(out, q, n + 1, "next");
        }
        HTML(out, "</p></nav>\n");
    }
    ui_footer(out);
out:
    json_decref(params);
    json_decref(search);
    return ret;
}

static void resource_item(struct buf *b, const json_t *r)
{
    const char *name = ui_str(r, "name"), *format = ui_str(r, "format");
    const char *url = ui_str(r, "url"), *desc = ui_str(r, "description");

    HTML(b, "<li>");
    html_text(b, name && name[0] ? name : "Unnamed resource");
    if (format && format[0]) {
        HTML(b, " <span class=\"format\">");
        html_text(b, format);
        HTML(b, "</span>");
    }
    if (desc && desc[0]) {
        HTML(b, "<p>");
        html_text(b, desc);
        HTML(b, "</p>");
    }
    if (url && url[0]) {
        HTML(b, "<p>");
        ui_link_external(b, url, str_eq(ui_str(r, "url_type"), "upload") ? "Download" : NULL);
        HTML(b, "</p>");
    }
    HTML(b, "</li>\n");
}

int ui_dataset(struct catalog *c, const struct actor *a, const char *id, struct buf *out,
               struct err *err)
{
    json_t *params, *d = NULL, *org, *v;
    const char *title, *licence;
    size_t i;
    int ret;

    params = json_pack("{s:s}", "id", id);
    ret = catalog_package_show(c, a, params, &d, err);
    if (ret < 0)
        goto out;
    title = ui_str(d, "title");
    if (!title || !title[0])
        title = ui_str(d, "name");
    ui_header(out, title);
    HTML(out, "<article>\n<h1>");
    html_text(out, title);
    HTML(out, "</h1>\n");
    org = json_object_get(d, "organization");
    if (json_is_object(org)) {
        const char *ot = ui_str(org, "title");
        HTML(out, "<p class=\"organization\">Published by ");
        html_text(out, ot && ot[0] ? ot : ui_str(org, "name"));
        HTML(out, "</p>\n");
    }
    HTML(out, "<div class=\"notes\">\n");
    markdown_html(ui_str(d, "notes"), out);
    HTML(out, "</div>\n<dl>\n");
    licence = ui_str(d, "license_title");
    if (!licence || !licence[0])
        licence = ui_str(d, "license_id");
    if (licence && licence[0]) {
        HTML(out, "<dt>Licence</dt><dd>");
        ui_link_external(out, ui_str(d, "license_url"), licence);
        if (!ui_str(d, "license_url"))
            html_text(out, licence);
        HTML(out, "</dd>\n");
    }
    HTML(out, "<dt>Last modified</dt><dd>");
    html_text(out, ui_str(d, "metadata_modified"));
    HTML(out, "</dd>\n</dl>\n");
    if (json_array_size(json_object_get(d, "tags"))) {
        HTML(out, "<h2>Tags</h2>\n<ul class=\"tags\">\n");
        json_array_foreach (json_object_get(d, "tags"), i, v) {
            HTML(out, "<li>");
            html_text(out, ui_str(v, "name"));
            HTML(out, "</li>\n");
        }
        HTML(out, "</ul>\n");
    }
    HTML(out, "<h2>Data and resources</h2>\n<ul class=\"resources\">\n");
    json_array_foreach (json_object_get(d, "resources"), i, v)
        resource_item(out, v);
    HTML(out, "</ul>\n</article>\n");
    ui_footer(out);
out:
    json_decref(params);
    json_decref(d);
    return ret;
}
