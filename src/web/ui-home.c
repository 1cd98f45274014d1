/*
 * ui-home.c - the home page: counts, newest datasets, organizations, search box.
 */
#include <jansson.h>

#include "web/html.h"
#include "web/ui.h"
#include "web/web-int.h"
#include "core/util.h"

#define HOME_NEWEST 10

/* "1 dataset", "0 datasets", "2 datasets": noun is an English word whose plural adds
 * an "s" (a literal of ours, never input). */
static void count_of(struct buf *out, uint64_t n, const char *noun)
{
    html_uint(out, n);
    HTML(out, " ");
    html_text(out, noun);
    if (n != 1)
        HTML(out, "s");
}

int ui_home(struct catalog *c, const struct actor *a, struct buf *out, struct err *err)
{
    json_t *params = NULL, *search = NULL, *orgs = NULL, *groups = NULL, *v;
    size_t i;
    int ret;

    params = json_pack("{s:s, s:s}", "rows", "10", "sort", "metadata_modified desc");
    ret = catalog_package_search(c, a, params, &search, err);
    if (ret < 0)
        goto out;
    json_decref(params);
    params = json_pack("{s:s}", "all_fields", "true");
    ret = catalog_organization_list(c, a, params, &orgs, err);
    if (ret < 0)
        goto out;
    ret = catalog_group_list(c, a, params, &groups, err);
    if (ret < 0)
        goto out;

    ui_header(out, "Open data");
    HTML(out, "<h1>Open government data</h1>\n<p class=\"counts\">");
    count_of(out, (uint64_t)json_integer_value(json_object_get(search, "count")), "dataset");
    HTML(out, ", ");
    count_of(out, json_array_size(orgs), "organization");
    HTML(out, ", ");
    count_of(out, json_array_size(groups), "group");
    HTML(out, ".</p>\n<p class=\"ledger\">Every change to the catalog is recorded in the <a "
              "href=\"/ledger\">public ledger</a>, which anyone can verify.</p>\n"
              "<h2>Newest datasets</h2>\n<ul class=\"datasets\">\n");
    json_array_foreach (json_object_get(search, "results"), i, v)
        if (i < HOME_NEWEST)
            ui_dataset_item(out, v);
    HTML(out, "</ul>\n<h2>Organizations</h2>\n<ul class=\"organizations\">\n");
    json_array_foreach (orgs, i, v) {
        const char *title = ui_str(v, "title"), *name = ui_str(v, "name");
        json_t *count = json_object_get(v, "package_count");

        HTML(out, "<li>");
        html_text(out, title && title[0] ? title : name);
        if (json_is_integer(count)) {
            HTML(out, " (");
            html_uint(out, (unsigned long long)json_integer_value(count));
            HTML(out, ")");
        }
        HTML(out, "</li>\n");
    }
    HTML(out, "</ul>\n");
    ui_footer(out);
out:
    json_decref(params);
    json_decref(search);
    json_decref(orgs);
    json_decref(groups);
    return ret;
}
