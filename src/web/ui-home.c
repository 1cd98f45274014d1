/*
 * ui-home.c - the home page: search box, counts, newest and most-viewed datasets,
 * organizations, themes.
 */
#include <jansson.h>

#include "catalog/views.h"
#include "core/log.h"
#include "web/html.h"
#include "web/ui.h"
#include "web/web-int.h"
#include "core/util.h"

#define HOME_NEWEST 10
#define HOME_VIEWED 10
#define HOME_OWNERS 20

/* The organizations or groups with public datasets, most datasets first: package_search's
 * facet items ({name, display_name, count}), each linking to base/<name>. At most
 * HOME_OWNERS are listed. */
static void owner_list(struct buf *out, const json_t *items, const char *cls, bool org)
{
    const json_t *v;
    size_t i;

    HTML(out, "<ul class=\"");
    html_attr(out, cls);
    HTML(out, "\">\n");
    json_array_foreach (items, i, v) {
        const char *title = ui_str(v, "display_name"), *name = ui_str(v, "name");

        if (i >= HOME_OWNERS)
            break;
        if (org)
            HTML(out, "<li><a href=\"/organization/");
        else
            HTML(out, "<li><a href=\"/group/");
        html_url_arg(out, name);
        HTML(out, "\">");
        html_text(out, title && title[0] ? title : name);
        HTML(out, "</a> <span class=\"count\">");
        html_uint(out, (unsigned long long)json_integer_value(json_object_get(v, "count")));
        HTML(out, "</span></li>\n");
    }
    HTML(out, "</ul>\n");
}

/* The most-viewed public datasets (catalog_most_viewed(): the totals every server has
 * flushed to the store), with their counts; nothing while none was viewed, or when the
 * store keeps no totals (logged: the rest of the page does not depend on it). */
static void most_viewed(struct catalog *c, struct buf *out)
{
    struct err err = ERR_INIT;
    json_t *list = NULL, *v;
    size_t i;

    if (catalog_most_viewed(c->store, HOME_VIEWED, &list, &err) < 0) {
        log_debug("web: no most-viewed datasets on the home page: %s", err.msg);
        return;
    }
    if (json_array_size(list)) {
        HTML(out, "<section aria-labelledby=\"h-viewed\">\n<h2 id=\"h-viewed\">");
        TX(out, "Most viewed datasets");
        HTML(out, "</h2>\n<ol class=\"datasets\">\n");
        json_array_foreach (list, i, v)
            ui_dataset_item_views(out, json_object_get(v, "dataset"),
                                  (long long)json_integer_value(json_object_get(v, "views")));
        HTML(out, "</ol>\n</section>\n");
    }
    json_decref(list);
}

/*
 * One package_search gives everything: the newest datasets, and the organizations and
 * groups with their counts as facets (one pass over the matches), rather than
 * organization_list's count query per organization, which takes seconds on a catalog of
 * 100,000 datasets. So the counts are of organizations and themes with public datasets.
 */
int ui_home(struct catalog *c, const struct actor *a, struct buf *out, struct err *err)
{
    json_t *params = NULL, *search = NULL, *facets, *orgs, *groups, *v;
    size_t i;
    int ret;

    params = json_pack("{s:s, s:i, s:s, s:[s,s], s:i}", "q", "", "rows", HOME_NEWEST, "sort",
                       "metadata_created desc", "facet.field", "organization", "groups",
                       "facet.limit", -1);
    ret = catalog_package_search_summaries(c, a, params, &search, err);
    if (ret < 0)
        goto out;
    facets = json_object_get(search, "search_facets");
    orgs = json_object_get(json_object_get(facets, "organization"), "items");
    groups = json_object_get(json_object_get(facets, "groups"), "items");

    ui_header(out, _("Open data"));
    HTML(out, "<h1>");
    TX(out, "Open government data");
    HTML(out, "</h1>\n<form class=\"hero-search\" action=\"/dataset\" method=\"get\" "
              "role=\"search\">\n<label for=\"home-q\">");
    TX(out, "Find data");
    HTML(out, "</label>\n<input type=\"search\" id=\"home-q\" name=\"q\" placeholder=\"");
    html_attr(out, _("air quality, 人口, unemployment …"));
    HTML(out, "\">\n<button type=\"submit\">");
    TX(out, "Search");
    HTML(out, "</button>\n</form>\n<p class=\"counts\">");
    ui_count(out, (unsigned long long)json_integer_value(json_object_get(search, "count")),
             "%n dataset", "%n datasets");
    HTML(out, " · ");
    ui_count(out, json_array_size(orgs), "%n organization", "%n organizations");
    HTML(out, " · ");
    ui_count(out, json_array_size(groups), "%n theme", "%n themes");
    HTML(out, "</p>\n<p class=\"ledger\">");
    TX(out, "Every change to the catalog is recorded in the public ledger, which anyone can "
            "verify.");
    HTML(out, " <a href=\"/ledger\">");
    TX(out, "Read the ledger");
    HTML(out, "</a></p>\n<section aria-labelledby=\"h-newest\">\n<h2 id=\"h-newest\">");
    TX(out, "Newest datasets");
    HTML(out, "</h2>\n<ul class=\"datasets\">\n");
    json_array_foreach (json_object_get(search, "results"), i, v)
        if (i < HOME_NEWEST)
            ui_dataset_item(out, v);
    HTML(out, "</ul>\n</section>\n");
    most_viewed(c, out);
    HTML(out, "<section aria-labelledby=\"h-orgs\">\n<h2 id=\"h-orgs\">");
    TX(out, "Organizations");
    HTML(out, "</h2>\n");
    owner_list(out, orgs, "organizations", true);
    HTML(out, "<p><a href=\"/organization\">");
    TX(out, "All organizations");
    HTML(out, "</a></p>\n</section>\n");
    if (json_array_size(groups)) {
        HTML(out, "<section aria-labelledby=\"h-themes\">\n<h2 id=\"h-themes\">");
        TX(out, "Themes");
        HTML(out, "</h2>\n");
        owner_list(out, groups, "groups", false);
        HTML(out, "</section>\n");
    }
    ui_footer(out);
out:
    json_decref(params);
    json_decref(search);
    return ret;
}
