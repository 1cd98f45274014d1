/*
 * ui-dataset.c - dataset pages: the search results list (/dataset?q=) and one
 * dataset (/dataset/<name>).
 */
#include <jansson.h>

#include "web/html.h"
#include "web/markdown.h"
#include "web/ui.h"
#include "web/web-int.h"
#include "core/util.h"

int ui_dataset_search(struct catalog *c, const struct actor *a, const char *q, struct buf *out,
                      struct err *err)
{
    json_t *params, *search = NULL, *v;
    size_t i;
    int ret;

    params = json_pack("{s:s, s:s}", "q", q ? q : "", "rows", "50");
    ret = catalog_package_search(c, a, params, &search, err);
    if (ret < 0)
        goto out;
    ui_header(out, q && q[0] ? q : "Datasets");
    HTML(out, "<h1>Datasets</h1>\n<p>");
    html_uint(out, json_integer_value(json_object_get(search, "count")));
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
