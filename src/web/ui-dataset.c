/*
 * ui-dataset.c - one dataset (/dataset/<name>), as a list of sections.
 *
 * The page is dataset_sections[]: each section is a function that appends its own
 * <section> (or nothing) from the dataset dict. A new part of the page (a privacy
 * report, grants, …) is one function and one line in that table.
 */
#include <jansson.h>

#include "access/grant.h"
#include "datastore/datastore.h"
#include "web/html.h"
#include "web/markdown.h"
#include "web/ui.h"
#include "web/web-int.h"
#include "core/util.h"

/* What every section gets. */
struct dataset_page {
    struct catalog *c;
    const struct actor *a;
    const json_t *d; /* package_show's result */
    struct buf *out;
};

/* The address of a resource's download for a link on this site: an upload's URL with
 * the site URL taken off (so the link works whatever host the browser used), else the
 * URL itself. NULL when there is nothing to link to. */
static const char *download_href(const struct dataset_page *p, const json_t *r)
{
    const char *url = ui_str(r, "url"), *site = p->c->site_url;

    if (!url || !url[0])
        return NULL;
    if (str_eq(ui_str(r, "url_type"), "upload") && site && site[0] && starts_with(url, site) &&
        url[strlen(site)] == '/')
        return url + strlen(site);
    return url;
}

static void section_open(struct buf *out, const char *id, const char *title)
{
    HTML(out, "<section class=\"");
    html_attr(out, id);
    HTML(out, "\" aria-labelledby=\"h-");
    html_attr(out, id);
    HTML(out, "\">\n<h2 id=\"h-");
    html_attr(out, id);
    HTML(out, "\">");
    html_text(out, title);
    HTML(out, "</h2>\n");
}

static void dt(struct buf *out, const char *term)
{
    HTML(out, "<dt>");
    html_text(out, term);
    HTML(out, "</dt><dd>");
}

/* Title, publisher, description and the facts list. */
static void section_summary(const struct dataset_page *p)
{
    struct buf *out = p->out;
    const json_t *d = p->d, *org = json_object_get(d, "organization"), *v;
    const char *licence = ui_str(d, "license_title"), *lid = ui_str(d, "license_id");
    const char *s;
    size_t i;

    HTML(out, "<h1>");
    html_text(out, ui_dataset_title(d));
    HTML(out, "</h1>\n");
    if (json_is_object(org)) {
        const char *ot = ui_str(org, "title");

        HTML(out, "<p class=\"publisher\">");
        TX(out, "Published by");
        HTML(out, " <a href=\"/organization/");
        html_url_arg(out, ui_str(org, "name"));
        HTML(out, "\">");
        html_text(out, ot && ot[0] ? ot : ui_str(org, "name"));
        HTML(out, "</a></p>\n");
    }
    HTML(out, "<div class=\"notes\">\n");
    markdown_html(ui_dataset_notes(d), out);
    HTML(out, "</div>\n<dl class=\"facts\">\n");
    if (!licence || !licence[0])
        licence = lid;
    if (licence && licence[0]) {
        dt(out, _("Licence"));
        HTML(out, "<a href=\"/licenses#");
        html_url_arg(out, lid);
        HTML(out, "\">");
        html_text(out, licence);
        HTML(out, "</a>");
        if (ui_str(d, "license_url")) {
            HTML(out, " (");
            ui_link_external(out, ui_str(d, "license_url"), _("licence text"));
            HTML(out, ")");
        }
        HTML(out, "</dd>\n");
    }
    s = ui_str(d, "access_level");
    if (s && s[0]) {
        dt(out, _("Access level"));
        if (str_eq(s, "public"))
            TX(out, "Public");
        else if (str_eq(s, "restricted public"))
            TX(out, "Restricted public");
        else if (str_eq(s, "non-public"))
            TX(out, "Non-public");
        else
            html_text(out, s);
        HTML(out, "</dd>\n");
    }
    s = ui_str(d, "temporal");
    if (s && s[0]) {
        dt(out, _("Temporal coverage"));
        html_text(out, s);
        HTML(out, "</dd>\n");
    }
    s = ui_str(d, "spatial");
    if (s && s[0]) {
        dt(out, _("Spatial coverage"));
        html_text(out, s);
        HTML(out, "</dd>\n");
    }
    s = ui_str(d, "frequency");
    if (s && s[0]) {
        dt(out, _("Update frequency"));
        html_text(out, s);
        HTML(out, "</dd>\n");
    }
    dt(out, _("Created"));
    HTML(out, "<time>");
    html_text(out, ui_str(d, "metadata_created"));
    HTML(out, "</time></dd>\n");
    dt(out, _("Last modified"));
    HTML(out, "<time>");
    html_text(out, ui_str(d, "metadata_modified"));
    HTML(out, "</time></dd>\n");
    s = ui_str(d, "url");
    if (s && s[0]) {
        dt(out, _("Source"));
        ui_link_external(out, s, NULL);
        HTML(out, "</dd>\n");
    }
    if (json_array_size(json_object_get(d, "groups"))) {
        dt(out, _("Themes"));
        json_array_foreach (json_object_get(d, "groups"), i, v) {
            const char *gt = ui_str(v, "title");

            if (i)
                HTML(out, ", ");
            HTML(out, "<a href=\"/group/");
            html_url_arg(out, ui_str(v, "name"));
            HTML(out, "\">");
            html_text(out, gt && gt[0] ? gt : ui_str(v, "name"));
            HTML(out, "</a>");
        }
        HTML(out, "</dd>\n");
    }
    HTML(out, "</dl>\n");
}

static void section_tags(const struct dataset_page *p)
{
    struct buf *out = p->out;
    const json_t *v;
    size_t i;

    if (!json_array_size(json_object_get(p->d, "tags")))
        return;
    section_open(out, "tags", _("Tags"));
    HTML(out, "<ul class=\"tags\">\n");
    json_array_foreach (json_object_get(p->d, "tags"), i, v) {
        HTML(out, "<li><a href=\"/dataset?tags=");
        html_url_arg(out, ui_str(v, "name"));
        HTML(out, "\">");
        html_text(out, ui_str(v, "name"));
        HTML(out, "</a></li>\n");
    }
    HTML(out, "</ul>\n</section>\n");
}

static void resource_item(const struct dataset_page *p, const json_t *r)
{
    struct buf *out = p->out;
    const char *name = ui_str(r, "name"), *format = ui_str(r, "format");
    const char *desc = ui_str(r, "description"), *href = download_href(p, r);
    json_t *size = json_object_get(r, "size");

    HTML(out, "<li class=\"resource\">\n<h3><a href=\"/dataset/");
    html_url_arg(out, ui_str(p->d, "name"));
    HTML(out, "/resource/");
    html_url_arg(out, ui_str(r, "id"));
    HTML(out, "\">");
    html_text(out, name && name[0] ? name : _("Unnamed resource"));
    HTML(out, "</a></h3>\n<p class=\"meta\">");
    if (format && format[0]) {
        HTML(out, "<span class=\"format\">");
        html_text(out, format);
        HTML(out, "</span> ");
    }
    if (json_is_integer(size)) {
        HTML(out, "<span class=\"size\">");
        ui_size(out, (unsigned long long)json_integer_value(size));
        HTML(out, "</span>");
    }
    HTML(out, "</p>\n");
    if (desc && desc[0]) {
        HTML(out, "<div class=\"description\">");
        markdown_html(desc, out);
        HTML(out, "</div>\n");
    }
    HTML(out, "<p class=\"actions\">");
    if (ui_dataset_restricted(p->d)) {
        /* Downloads of restricted resources are refused to everyone: no dead link. */
    } else if (href && href[0] == '/') {
        HTML(out, "<a class=\"download\" download href=\"");
        html_attr(out, href);
        HTML(out, "\">");
        TX(out, "Download");
        HTML(out, "</a>");
    } else if (href) {
        ui_link_external(out, href, _("Go to resource"));
    }
    if (json_is_true(json_object_get(r, "datastore_active"))) {
        HTML(out, " <a href=\"/dataset/");
        html_url_arg(out, ui_str(p->d, "name"));
        HTML(out, "/resource/");
        html_url_arg(out, ui_str(r, "id"));
        HTML(out, "\">");
        TX(out, "Preview and chart");
        HTML(out, "</a>");
    }
    HTML(out, "</p>\n</li>\n");
}

static void section_resources(const struct dataset_page *p)
{
    const json_t *v;
    size_t i;

    section_open(p->out, "resources", _("Data and resources"));
    HTML(p->out, "<ul class=\"resources\">\n");
    json_array_foreach (json_object_get(p->d, "resources"), i, v)
        resource_item(p, v);
    HTML(p->out, "</ul>\n</section>\n");
}

/* The data dictionary of every resource with a datastore table. */
static void section_dictionary(const struct dataset_page *p)
{
    struct buf *out = p->out;
    const json_t *r;
    bool opened = false;
    size_t i;

    json_array_foreach (json_object_get(p->d, "resources"), i, r) {
        json_t *schema = NULL, *f;
        struct err err = ERR_INIT;
        size_t j;

        /* The columns of a restricted table are part of what a grant gives. */
        if (!json_is_true(json_object_get(r, "datastore_active")) || ui_dataset_restricted(p->d))
            continue;
        if (datastore_table_schema(p->c, ui_str(r, "id"), &schema, &err) < 0)
            continue;
        if (!opened) {
            section_open(out, "dictionary", _("Data dictionary"));
            opened = true;
        }
        HTML(out, "<div class=\"table-wrap\" tabindex=\"0\" role=\"region\" aria-label=\"");
        html_attr(out, ui_str(r, "name"));
        HTML(out, "\"><table class=\"dictionary\">\n<caption>");
        html_text(out, ui_str(r, "name"));
        HTML(out, "</caption>\n<thead><tr><th scope=\"col\">");
        TX(out, "Column");
        HTML(out, "</th><th scope=\"col\">");
        TX(out, "Type");
        HTML(out, "</th><th scope=\"col\">");
        TX(out, "Description");
        HTML(out, "</th></tr></thead>\n<tbody>\n");
        json_array_foreach (json_object_get(schema, "fields"), j, f) {
            const char *title = ui_str(f, "title");

            HTML(out, "<tr><th scope=\"row\"><code>");
            html_text(out, ui_str(f, "name"));
            HTML(out, "</code>");
            if (title && title[0] && !str_eq(title, ui_str(f, "name"))) {
                HTML(out, " ");
                html_text(out, title);
            }
            HTML(out, "</th><td>");
            html_text(out, ui_str(f, "type"));
            HTML(out, "</td><td>");
            html_text(out, ui_str(f, "description"));
            HTML(out, "</td></tr>\n");
        }
        HTML(out, "</tbody>\n</table></div>\n");
        json_decref(schema);
    }
    if (opened)
        HTML(out, "</section>\n");
}

/* curl and Python snippets with the first datastore resource's real id. */
static void section_api(const struct dataset_page *p)
{
    struct buf *out = p->out;
    const char *site = p->c->site_url && p->c->site_url[0] ? p->c->site_url : "";
    const char *rid = NULL;
    const json_t *r;
    size_t i;

    json_array_foreach (json_object_get(p->d, "resources"), i, r)
        if (json_is_true(json_object_get(r, "datastore_active"))) {
            rid = ui_str(r, "id");
            break;
        }
    section_open(out, "api", _("Use the API"));
    HTML(out, "<p>");
    TX(out, "The dataset's metadata:");
    HTML(out, "</p>\n<pre tabindex=\"0\"><code>curl '");
    html_text(out, site);
    HTML(out, "/api/3/action/package_show?id=");
    html_text(out, ui_str(p->d, "name"));
    HTML(out, "'</code></pre>\n");
    if (rid) {
        HTML(out, "<p>");
        TX(out, "The first rows of its table (datastore_search):");
        HTML(out, "</p>\n<pre tabindex=\"0\"><code>curl '");
        html_text(out, site);
        HTML(out, "/api/3/action/datastore_search?resource_id=");
        html_text(out, rid);
        HTML(out,
             "&amp;limit=5'</code></pre>\n<pre tabindex=\"0\"><code>import json, urllib.request\n\n"
             "url = '");
        html_text(out, site);
        HTML(out, "/api/3/action/datastore_search?resource_id=");
        html_text(out, rid);
        HTML(out, "&amp;limit=5'\nwith urllib.request.urlopen(url) as f:\n"
                  "    result = json.load(f)['result']\nfor record in result['records']:\n"
                  "    print(record)</code></pre>\n");
    }
    HTML(out, "</section>\n");
}

/* The dataset's metadata documents. */
static void section_metadata(const struct dataset_page *p)
{
    struct buf *out = p->out;
    const char *name = ui_str(p->d, "name");

    section_open(out, "metadata", _("Metadata"));
    HTML(out, "<ul class=\"metadata-links\">\n<li><a href=\"/dataset/");
    html_url_arg(out, name);
    HTML(out, "/datapackage.json\">datapackage.json</a> (Frictionless)</li>\n"
              "<li><a href=\"/dataset/");
    html_url_arg(out, name);
    HTML(out, ".ttl\">DCAT-AP (Turtle)</a></li>\n<li><a href=\"/dataset/");
    html_url_arg(out, name);
    HTML(out, ".jsonld\">DCAT-AP (JSON-LD)</a></li>\n<li><a href=\"/api/3/action/"
              "package_show?id=");
    html_url_arg(out, name);
    HTML(out, "\">CKAN package_show</a></li>\n<li><a href=\"/data.json\">data.json</a> "
              "(DCAT-US, ");
    TX(out, "whole catalog");
    HTML(out, ")</li>\n</ul>\n</section>\n");
}

/* The grants on a restricted dataset (src/access/grant.h): who may read what, why,
 * under which law, when, and who decided. grant_list gives what the visitor may see,
 * without personal data. */
static void section_grants(const struct dataset_page *p)
{
    struct buf *out = p->out;
    struct err err = ERR_INIT;
    json_t *params, *grants = NULL, *g, *v;
    char *text;
    size_t i, j;

    if (!ui_dataset_restricted(p->d))
        return;
    params = json_pack("{s:s}", "dataset", ui_str(p->d, "id"));
    if (grant_list(p->c->store, p->a, params, &grants, &err))
        json_array_clear(grants = json_array());
    json_decref(params);
    section_open(out, "grants", _("Grants"));
    if (!json_array_size(grants)) {
        HTML(out, "<p>");
        TX(out, "No grant: nobody reads this dataset's data.");
        HTML(out, "</p>\n</section>\n");
        json_decref(grants);
        return;
    }
    HTML(out, "<table class=\"grants\">\n<thead><tr><th scope=\"col\">");
    TX(out, "Grantee");
    HTML(out, "</th><th scope=\"col\">");
    TX(out, "Purpose");
    HTML(out, "</th><th scope=\"col\">");
    TX(out, "Legal basis");
    HTML(out, "</th><th scope=\"col\">");
    TX(out, "Columns");
    HTML(out, "</th><th scope=\"col\">");
    TX(out, "Rows");
    HTML(out, "</th><th scope=\"col\">");
    TX(out, "Period");
    HTML(out, "</th><th scope=\"col\">");
    TX(out, "State");
    HTML(out, "</th></tr></thead>\n<tbody>\n");
    json_array_foreach (grants, i, g) {
        HTML(out, "<tr><td>");
        html_text(out, ui_str(g, "grantee"));
        HTML(out, "</td><td>");
        html_text(out, ui_str(g, "purpose"));
        HTML(out, "</td><td>");
        html_text(out, ui_str(g, "legal_basis"));
        HTML(out, "</td><td>");
        json_array_foreach (json_object_get(g, "columns"), j, v) {
            if (j)
                HTML(out, ", ");
            html_text(out, json_string_value(v));
        }
        HTML(out, "</td><td><code>");
        text = json_dumps(json_object_get(g, "filters"), JSON_COMPACT | JSON_SORT_KEYS);
        html_text(out, text ? text : "{}");
        free(text);
        HTML(out, "</code></td><td>");
        html_text(out, ui_str(g, "valid_from"));
        HTML(out, " – ");
        html_text(out, ui_str(g, "valid_until"));
        HTML(out, "</td><td>");
        html_text(out, ui_str(g, "state"));
        if (ui_str(g, "decided_by")) {
            HTML(out, " (");
            html_text(out, ui_str(g, "decided_by"));
            HTML(out, ")");
        }
        HTML(out, "</td></tr>\n");
    }
    HTML(out, "</tbody>\n</table>\n</section>\n");
    json_decref(grants);
}

/* The privacy report of each scanned resource (ui-privacy.c). */
static void section_privacy(const struct dataset_page *p)
{
    ui_privacy_report(p->c, p->a, p->d, p->out);
}

/* The page, top to bottom. Add a section here. */
static void (*const dataset_sections[])(const struct dataset_page *) = {
        section_summary, section_tags,    section_resources, section_dictionary,
        section_grants,  section_privacy, section_api,       section_metadata,
};

int ui_dataset(struct catalog *c, const struct actor *a, const char *id, struct buf *out,
               struct err *err)
{
    json_t *params, *d = NULL;
    struct dataset_page p;
    int ret;

    params = json_pack("{s:s}", "id", id);
    ret = catalog_package_show(c, a, params, &d, err);
    if (ret < 0)
        goto out;
    p = (struct dataset_page){c, a, d, out};
    ui_header(out, ui_dataset_title(d));
    ui_publisher_actions(out, a, d, NULL);
    HTML(out, "<article class=\"dataset\">\n");
    for (size_t i = 0; i < ARRAY_SIZE(dataset_sections); i++)
        dataset_sections[i](&p);
    HTML(out, "</article>\n");
    ui_footer(out);
out:
    json_decref(params);
    json_decref(d);
    return ret;
}
