/*
 * ui-privacy.c - the privacy report on a dataset's page (issue 5 §4;
 * docs/internals/privacy-gate.md): for each resource whose table was scanned, the
 * publish gate's verdict, the k its quasi-identifiers reach against the portal's, what was
 * transformed, an override with its approver and justification, and each column's class
 * with the detectors that fired. Column names and counts only: never a value, not even a
 * masked one. Everything is escaped at the sink (html.h).
 */
#include <jansson.h>
#include <stdio.h>

#include "web/html.h"
#include "web/i18n.h"
#include "web/ui.h"
#include "web/web-int.h"
#include "core/util.h"

static void names(struct buf *b, const json_t *list)
{
    const json_t *v;
    size_t i;

    json_array_foreach (list, i, v) {
        if (i)
            HTML(b, ", ");
        html_text(b, json_string_value(v));
    }
    if (!json_array_size(list))
        HTML(b, "none");
}

static void one(struct buf *b, const json_t *res, const json_t *rep)
{
    const json_t *gate = json_object_get(rep, "gate"), *col, *ov = json_object_get(rep, "override");
    const json_t *k = json_object_get(rep, "k"), *tr = json_object_get(rep, "transformations");
    const char *status = ui_str(gate, "status"), *name = ui_str(res, "name");
    char share[32];
    size_t i;

    HTML(b, "<div class=\"privacy-report\">\n<h3>");
    html_text(b, name && name[0] ? name : ui_str(res, "id"));
    HTML(b, "</h3>\n<dl>\n<dt>Publish gate</dt><dd class=\"gate-");
    html_attr(b, status ? status : "unknown");
    HTML(b, "\">");
    html_text(b, status ? status : "unknown");
    if (ui_str(gate, "message")) {
        HTML(b, ": ");
        html_text(b, ui_str(gate, "message"));
    }
    HTML(b, "</dd>\n<dt>k-anonymity</dt><dd>");
    if (json_is_integer(k)) {
        HTML(b, "k = ");
        html_uint(b, (unsigned long long)json_integer_value(k));
    } else {
        HTML(b, "no quasi-identifier");
    }
    HTML(b, " (the portal requires k ≥ ");
    html_uint(b, (unsigned long long)json_integer_value(json_object_get(gate, "k_required")));
    HTML(b, ")</dd>\n<dt>Quasi-identifiers</dt><dd>");
    names(b, json_object_get(rep, "quasi_identifiers"));
    HTML(b, "</dd>\n<dt>Direct identifiers</dt><dd>");
    names(b, json_object_get(rep, "direct_identifiers"));
    HTML(b, "</dd>\n<dt>Rows scanned</dt><dd>");
    html_uint(b, (unsigned long long)json_integer_value(json_object_get(rep, "rows")));
    HTML(b, "</dd>\n");
    if (json_array_size(tr)) {
        HTML(b, "<dt>Transformations</dt><dd><ul>\n");
        json_array_foreach (tr, i, col) {
            HTML(b, "<li>");
            html_text(b, ui_str(col, "column"));
            HTML(b, ": ");
            html_text(b, ui_str(col, "transformation"));
            HTML(b, "</li>\n");
        }
        HTML(b, "</ul></dd>\n");
    }
    if (json_is_object(ov)) {
        HTML(b, "<dt>Override</dt><dd>by ");
        html_text(b, ui_str(ov, "user"));
        HTML(b, " on ");
        html_text(b, ui_str(ov, "at"));
        HTML(b, ": ");
        html_text(b, ui_str(ov, "justification"));
        HTML(b, "</dd>\n");
    }
    HTML(b, "</dl>\n<table>\n<thead><tr><th>Column</th><th>Class</th><th>Share</th>"
            "<th>Detectors</th></tr></thead>\n<tbody>\n");
    json_array_foreach (json_object_get(rep, "columns"), i, col) {
        const char *key;
        const json_t *n;
        bool first = true;

        HTML(b, "<tr><td>");
        html_text(b, ui_str(col, "name"));
        HTML(b, "</td><td>");
        html_text(b, ui_str(col, "class"));
        /* What the publisher declared in the data dictionary, when it is not what
         * the gate applies (a raised class says so; a lowered one waits for an
         * override). */
        if (json_is_string(json_object_get(col, "declared"))) {
            if (str_eq(ui_str(col, "reason"), "declared")) {
                HTML(b, " (declared)");
            } else if (!str_eq(ui_str(col, "declared"), ui_str(col, "class"))) {
                HTML(b, " (declared ");
                html_text(b, ui_str(col, "declared"));
                HTML(b, ")");
            }
        }
        HTML(b, "</td><td>");
        snprintf(share, sizeof(share), "%.1f%%",
                 100.0 * json_number_value(json_object_get(col, "share")));
        html_text(b, share);
        HTML(b, "</td><td>");
        json_object_foreach ((json_t *)json_object_get(col, "detectors"), key, n) {
            if (!first)
                HTML(b, ", ");
            first = false;
            html_text(b, key);
            HTML(b, " ");
            html_uint(b, (unsigned long long)json_integer_value(n));
        }
        HTML(b, "</td></tr>\n");
    }
    HTML(b, "</tbody>\n</table>\n</div>\n");
}

void ui_privacy_report(struct catalog *c, const struct actor *a, const json_t *dataset,
                       struct buf *out)
{
    const json_t *r;
    bool any = false;
    size_t i;

    json_array_foreach (json_object_get(dataset, "resources"), i, r) {
        json_t *rep = NULL;

        /* The dataset is the page's, read by a already: not loaded again per resource. */
        if (!catalog_privacy_report_of(c, a, dataset, ui_str(r, "id"), &rep)) {
            if (!any) {
                HTML(out, "<section class=\"privacy\" aria-labelledby=\"h-privacy\">\n"
                          "<h2 id=\"h-privacy\">");
                html_text(out, _("Privacy"));
                HTML(out, "</h2>\n<p>");
                html_text(out, _("Each table is scanned for personal data when it is loaded; a "
                                 "public table must hold no direct identifier in clear and its "
                                 "quasi-identifiers must reach the portal's k."));
                HTML(out, "</p>\n");
            }
            any = true;
            one(out, r, rep);
        }
        json_decref(rep);
    }
    if (any)
        HTML(out, "</section>\n");
}

void ui_privacy_resource(struct catalog *c, const struct actor *a, const json_t *resource,
                         struct buf *out)
{
    struct err err = ERR_INIT;
    json_t *params = json_pack("{s:s?}", "resource_id", ui_str(resource, "id")), *rep = NULL;

    if (!catalog_privacy_report_show(c, a, params, &rep, &err)) {
        HTML(out, "<section class=\"privacy\" aria-labelledby=\"h-privacy\">\n"
                  "<h2 id=\"h-privacy\">");
        html_text(out, _("Privacy"));
        HTML(out, "</h2>\n");
        one(out, resource, rep);
        HTML(out, "</section>\n");
    }
    json_decref(rep);
    json_decref(params);
}
