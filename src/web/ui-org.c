/*
 * ui-org.c - organizations, groups (themes) and licences: /organization,
 * /organization/<name>, /group, /group/<name>, /licenses.
 */
#include <jansson.h>

#include "web/html.h"
#include "web/markdown.h"
#include "web/ui.h"
#include "web/web-int.h"
#include "core/util.h"

/* Datasets listed on an organization or group page (the rest through the search page). */
#define OWNER_ROWS 20

static int list_page(struct catalog *c, const struct actor *a, bool org, struct buf *out,
                     struct err *err)
{
    json_t *params = json_pack("{s:s}", "all_fields", "true"), *list = NULL, *v;
    size_t i;
    int ret;

    ret = org ? catalog_organization_list(c, a, params, &list, err)
              : catalog_group_list(c, a, params, &list, err);
    if (ret < 0)
        goto out;
    ui_header(out, org ? _("Organizations") : _("Themes"));
    HTML(out, "<h1>");
    html_text(out, org ? _("Organizations") : _("Themes"));
    HTML(out, "</h1>\n");
    if (!json_array_size(list)) {
        HTML(out, "<p>");
        TX(out, "None yet.");
        HTML(out, "</p>\n");
    }
    HTML(out, "<ul class=\"cards\">\n");
    json_array_foreach (list, i, v) {
        const char *title = ui_str(v, "title"), *name = ui_str(v, "name");

        HTML(out, "<li><h2><a href=\"");
        if (org)
            HTML(out, "/organization/");
        else
            HTML(out, "/group/");
        html_url_arg(out, name);
        HTML(out, "\">");
        html_text(out, title && title[0] ? title : name);
        HTML(out, "</a></h2><p>");
        ui_count(out, (unsigned long long)json_integer_value(json_object_get(v, "package_count")),
                 "%n dataset", "%n datasets");
        HTML(out, "</p></li>\n");
    }
    HTML(out, "</ul>\n");
    ui_footer(out);
out:
    json_decref(params);
    json_decref(list);
    return ret;
}

int ui_organization_list(struct catalog *c, const struct actor *a, struct buf *out, struct err *err)
{
    return list_page(c, a, true, out, err);
}

int ui_group_list(struct catalog *c, const struct actor *a, struct buf *out, struct err *err)
{
    return list_page(c, a, false, out, err);
}

static int owner_page(struct catalog *c, const struct actor *a, const char *id, bool org,
                      struct buf *out, struct err *err)
{
    json_t *params = json_pack("{s:s}", "id", id), *o = NULL, *search = NULL, *v;
    struct buf fq = BUF_INIT;
    const char *title, *name, *p;
    size_t i;
    int ret;

    ret = org ? catalog_organization_show(c, a, params, &o, err)
              : catalog_group_show(c, a, params, &o, err);
    if (ret < 0)
        goto out;
    name = ui_str(o, "name");
    title = ui_str(o, "title");
    if (!title || !title[0])
        title = name;
    buf_addstr(&fq, org ? "organization:\"" : "groups:\"");
    for (p = name; p && *p; p++) {
        if (*p == '"' || *p == '\\')
            buf_addch(&fq, '\\');
        buf_addch(&fq, *p);
    }
    buf_addch(&fq, '"');
    json_decref(params);
    params = json_pack("{s:s, s:s, s:I, s:s}", "q", "", "fq", fq.buf, "rows",
                       (json_int_t)OWNER_ROWS, "sort", "title_string asc");
    ret = catalog_package_search_summaries(c, a, params, &search, err);
    if (ret < 0)
        goto out;
    ui_header(out, title);
    HTML(out, "<h1>");
    html_text(out, title);
    HTML(out, "</h1>\n<div class=\"notes\">");
    markdown_html(ui_str(o, "description"), out);
    HTML(out, "</div>\n<p class=\"counts\">");
    ui_count(out, (unsigned long long)json_integer_value(json_object_get(search, "count")),
             "%n dataset", "%n datasets");
    HTML(out, " · <a href=\"/dataset?");
    if (org)
        HTML(out, "organization=");
    else
        HTML(out, "groups=");
    html_url_arg(out, name);
    HTML(out, "\">");
    TX(out, "Search these datasets");
    HTML(out, "</a></p>\n<ul class=\"datasets\">\n");
    json_array_foreach (json_object_get(search, "results"), i, v)
        ui_dataset_item(out, v);
    HTML(out, "</ul>\n");
    ui_footer(out);
out:
    buf_release(&fq);
    json_decref(params);
    json_decref(o);
    json_decref(search);
    return ret;
}

int ui_organization(struct catalog *c, const struct actor *a, const char *id, struct buf *out,
                    struct err *err)
{
    return owner_page(c, a, id, true, out, err);
}

int ui_group(struct catalog *c, const struct actor *a, const char *id, struct buf *out,
             struct err *err)
{
    return owner_page(c, a, id, false, out, err);
}

int ui_licenses(struct catalog *c, const struct actor *a, struct buf *out, struct err *err)
{
    json_t *params = json_object(), *list = NULL, *search = NULL, *counts, *v;
    size_t i;
    int ret;

    ret = catalog_license_list(c, a, params, &list, err);
    if (ret < 0)
        goto out;
    json_decref(params);
    params = json_pack("{s:s, s:i, s:[s], s:i}", "q", "", "rows", 0, "facet.field", "license_id",
                       "facet.limit", -1);
    ret = catalog_package_search(c, a, params, &search, err);
    if (ret < 0)
        goto out;
    counts = json_object_get(json_object_get(search, "facets"), "license_id");
    ui_header(out, _("Licences"));
    HTML(out, "<h1>");
    TX(out, "Licences");
    HTML(out, "</h1>\n<p>");
    TX(out, "The licences datasets may be published under, with the number of datasets "
            "under each.");
    HTML(out, "</p>\n<div class=\"table-wrap\" tabindex=\"0\" role=\"region\" aria-label=\"");
    TX(out, "Licences");
    HTML(out, "\"><table>\n<thead><tr><th scope=\"col\">");
    TX(out, "Licence");
    HTML(out, "</th><th scope=\"col\">");
    TX(out, "Open");
    HTML(out, "</th><th scope=\"col\">");
    TX(out, "Datasets");
    HTML(out, "</th></tr></thead>\n<tbody>\n");
    json_array_foreach (list, i, v) {
        const char *id = ui_str(v, "id"), *title = ui_str(v, "title");
        json_t *n = json_object_get(counts, id ? id : "");
        bool open = json_is_true(json_object_get(v, "od_conformance")) ||
                    str_eq(ui_str(v, "od_conformance"), "approved");

        HTML(out, "<tr id=\"");
        html_attr(out, id);
        HTML(out, "\"><th scope=\"row\">");
        ui_link_external(out, ui_str(v, "url"), title && title[0] ? title : id);
        if (!ui_str(v, "url") || !ui_str(v, "url")[0])
            html_text(out, title && title[0] ? title : id);
        HTML(out, "</th><td>");
        if (open)
            TX(out, "yes");
        HTML(out, "</td><td>");
        if (json_is_integer(n)) {
            HTML(out, "<a href=\"/dataset?license_id=");
            html_url_arg(out, id);
            HTML(out, "\">");
            html_uint(out, (unsigned long long)json_integer_value(n));
            HTML(out, "</a>");
        } else {
            HTML(out, "0");
        }
        HTML(out, "</td></tr>\n");
    }
    HTML(out, "</tbody>\n</table></div>\n");
    ui_footer(out);
out:
    json_decref(params);
    json_decref(list);
    json_decref(search);
    return ret;
}

void ui_api_page(struct catalog *c, struct buf *out)
{
    const char *site = c->site_url ? c->site_url : "";

    ui_header(out, _("API"));
    HTML(out, "<h1>");
    TX(out, "The API");
    HTML(out, "</h1>\n<p>");
    TX(out, "Everything on this site can be read by programs through the CKAN Action API "
            "v3, the same API as data.gov and data.gov.uk. Answers are JSON; reading needs "
            "no key.");
    HTML(out, "</p>\n<h2>");
    TX(out, "Find datasets");
    HTML(out, "</h2>\n<pre tabindex=\"0\"><code>curl '");
    html_text(out, site);
    HTML(out, "/api/3/action/package_search?q=weather&amp;rows=5'</code></pre>\n<h2>");
    TX(out, "Read a table");
    HTML(out, "</h2>\n<pre tabindex=\"0\"><code>curl '");
    html_text(out, site);
    HTML(out, "/api/3/action/datastore_search?resource_id=RESOURCE_ID&amp;limit=5'</code></pre>\n"
              "<h2>");
    TX(out, "Endpoints");
    HTML(out, "</h2>\n<dl class=\"endpoints\">\n"
              "<dt><a href=\"/api/3/action\"><code>/api/3/action</code></a></dt><dd>");
    TX(out, "The list of actions (package_show, package_search, organization_list, "
            "datastore_search …).");
    HTML(out, "</dd>\n<dt><code>/api/3/action/datastore_search</code></dt><dd>");
    TX(out, "Rows of a resource's table: filters, full-text q, sort, limit and offset.");
    HTML(out, "</dd>\n<dt><code>/datastore/dump/RESOURCE_ID</code></dt><dd>");
    TX(out, "A whole table as CSV, TSV, JSON or XLSX (format=…).");
    HTML(out, "</dd>\n<dt><a href=\"/data.json\"><code>/data.json</code></a></dt><dd>");
    TX(out, "The catalog as DCAT-US data.json.");
    HTML(out, "</dd>\n<dt><a href=\"/catalog.ttl\"><code>/catalog.ttl</code></a></dt><dd>");
    TX(out, "The catalog as DCAT-AP (Turtle; also .rdf and .jsonld).");
    HTML(out, "</dd>\n<dt><code>/dataset/NAME/datapackage.json</code></dt><dd>");
    TX(out, "A dataset as a Frictionless data package.");
    HTML(out, "</dd>\n<dt><a href=\"/ledger\"><code>/ledger</code></a></dt><dd>");
    TX(out, "The public ledger of every change, with its signed checkpoint and proofs.");
    HTML(out, "</dd>\n</dl>\n<p>");
    TX(out, "Writing needs an API token in the Authorization header.");
    HTML(out, "</p>\n");
    ui_footer(out);
}
