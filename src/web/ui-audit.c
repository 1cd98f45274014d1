/*
 * ui-audit.c - the public audit page (/audit): the report of src/audit/ (audit_report)
 * as HTML. Every finding links to the ledger entries it rests on and to their RFC 9162
 * inclusion proofs in the tree of the checkpoint the report names, so a reader can
 * check each line without trusting the page. Everything shown is escaped at the sink.
 */
#include <jansson.h>

#include "audit/audit.h"
#include "core/util.h"
#include "web/html.h"
#include "web/ui.h"
#include "web/web-int.h"

/* Entry links shown per unit and system; the rest are counted (the JSON report, or
 * `kaifang audit --format json`, lists them all). */
#define UI_AUDIT_ENTRY_LINKS 20u

static const struct {
    const char *key, *title, *what;
} sections[] = {
        {"unapproved_charges", "Charges with no approved fee schedule",
         "Charges that name no fee schedule, or one that is unknown, not approved, or of "
         "another organization."},
        {"charges_outside_period", "Charges outside their schedule's period",
         "Charges dated before or after the period of the approved schedule they name."},
        {"charges_above_price", "Charges above their schedule's price",
         "Charges of more than the price of the approved schedule they name."},
};

static void entry_links(struct buf *b, const json_t *entries, uint64_t size)
{
    size_t i, n = json_array_size(entries);
    json_t *ix;

    json_array_foreach (entries, i, ix) {
        json_int_t v = json_integer_value(ix);

        if (i == UI_AUDIT_ENTRY_LINKS) {
            HTML(b, " … and ");
            html_uint(b, n - i);
            HTML(b, " more");
            break;
        }
        if (i)
            HTML(b, ", ");
        HTML(b, "<a href=\"/api/ledger/entries?start=");
        html_uint(b, (unsigned long long)v);
        HTML(b, "&amp;end=");
        html_uint(b, (unsigned long long)v + 1);
        HTML(b, "\">#");
        html_uint(b, (unsigned long long)v);
        HTML(b, "</a>");
        if ((uint64_t)v < size) {
            HTML(b, " (<a href=\"/api/ledger/proof/inclusion?index=");
            html_uint(b, (unsigned long long)v);
            HTML(b, "&amp;size=");
            html_uint(b, size);
            HTML(b, "\">proof</a>)");
        } else {
            HTML(b, " (not yet signed)");
        }
    }
}

static void section(struct buf *b, const json_t *report, size_t k, uint64_t size)
{
    const json_t *list = json_object_get(report, sections[k].key);
    const json_t *sum = json_object_get(json_object_get(report, "summary"), sections[k].key);
    json_t *org, *g, *d;
    size_t i, j, m;

    HTML(b, "<section id=\"");
    html_attr(b, sections[k].key);
    HTML(b, "\"><h2>");
    html_text(b, sections[k].title);
    HTML(b, "</h2>\n<p>");
    html_text(b, sections[k].what);
    HTML(b, "</p>\n");
    if (!json_array_size(list)) {
        HTML(b, "<p class=\"none\">None found.</p></section>\n");
        return;
    }
    HTML(b, "<p class=\"summary\">");
    html_uint(b, (unsigned long long)json_integer_value(json_object_get(sum, "organizations")));
    HTML(b, " organizations, ");
    html_uint(b, (unsigned long long)json_integer_value(json_object_get(sum, "units")));
    HTML(b, " units, ");
    html_uint(b, (unsigned long long)json_integer_value(json_object_get(sum, "systems")));
    HTML(b, " systems, ");
    html_uint(b, (unsigned long long)json_integer_value(json_object_get(sum, "charges")));
    HTML(b, " charges, <strong>");
    html_text(b, ui_str(sum, "total"));
    HTML(b, " yuan</strong></p>\n<table>\n<thead><tr><th>Organization</th><th>Unit</th>"
            "<th>System</th><th>Charges</th><th>Total (yuan)</th><th>Dates</th>"
            "<th>Ledger entries</th></tr></thead>\n<tbody>\n");
    json_array_foreach (list, i, org) {
        json_array_foreach (json_object_get(org, "by_system"), j, g) {
            HTML(b, "<tr><td>");
            html_text(b, ui_str(org, "organization"));
            if (ui_str(org, "title") && *ui_str(org, "title")) {
                HTML(b, " <small>");
                html_text(b, ui_str(org, "title"));
                HTML(b, "</small>");
            }
            HTML(b, "</td><td>");
            html_text(b, ui_str(g, "unit"));
            HTML(b, "</td><td>");
            html_text(b, ui_str(g, "system"));
            HTML(b, "</td><td class=\"num\">");
            html_uint(b, (unsigned long long)json_integer_value(json_object_get(g, "charges")));
            HTML(b, "</td><td class=\"num\">");
            html_text(b, ui_str(g, "total"));
            HTML(b, "</td><td>");
            html_text(b, ui_str(g, "first_date"));
            HTML(b, " – ");
            html_text(b, ui_str(g, "last_date"));
            HTML(b, "</td><td>");
            entry_links(b, json_object_get(g, "entries"), size);
            json_array_foreach (json_object_get(g, "details"), m, d) {
                if (m == UI_AUDIT_ENTRY_LINKS)
                    break;
                HTML(b, "<br>#");
                html_uint(b, (unsigned long long)json_integer_value(json_object_get(d, "entry")));
                HTML(b, ": ");
                html_text(b, ui_str(d, "date"));
                HTML(b, ", ");
                html_text(b, ui_str(d, "amount"));
                HTML(b, " yuan under ");
                html_text(b, ui_str(d, "schedule"));
                if (ui_str(d, "price")) {
                    HTML(b, " (price ");
                    html_text(b, ui_str(d, "price"));
                    HTML(b, ")");
                } else {
                    HTML(b, " (period ");
                    html_text(b, ui_str(d, "period_start"));
                    HTML(b, " – ");
                    html_text(b, ui_str(d, "period_end"));
                    HTML(b, ")");
                }
            }
            HTML(b, "</td></tr>\n");
        }
        HTML(b, "<tr class=\"subtotal\"><td>");
        html_text(b, ui_str(org, "organization"));
        HTML(b, "</td><td>");
        html_uint(b, (unsigned long long)json_integer_value(json_object_get(org, "units")));
        HTML(b, " units</td><td>");
        html_uint(b, (unsigned long long)json_integer_value(json_object_get(org, "systems")));
        HTML(b, " systems</td><td class=\"num\">");
        html_uint(b, (unsigned long long)json_integer_value(json_object_get(org, "charges")));
        HTML(b, "</td><td class=\"num\"><strong>");
        html_text(b, ui_str(org, "total"));
        HTML(b, "</strong></td><td></td><td></td></tr>\n");
    }
    HTML(b, "</tbody></table></section>\n");
}

void ui_audit_render(const json_t *report, struct buf *b)
{
    const json_t *cp = json_object_get(report, "checkpoint");
    const json_t *sum = json_object_get(report, "summary");
    uint64_t size = (uint64_t)json_integer_value(json_object_get(cp, "size"));
    json_t *v;
    size_t i;

    ui_header(b, "Audit of fees");
    HTML(b, "<h1>Audit of fees</h1>\n<p>Every fee schedule and charge the portal holds, "
            "reconciled with the <a href=\"/ledger\">public ledger</a>. Each finding names "
            "its ledger entries with their inclusion proofs in the tree of the signed "
            "checkpoint below. The same report: <code>kaifang audit --format json</code> "
            "or the <a href=\"/api/3/action/audit_report\">audit_report</a> action.</p>\n"
            "<p>Generated ");
    html_text(b, ui_str(report, "generated"));
    HTML(b, " from the checkpoint of size ");
    html_uint(b, size);
    if (ui_str(cp, "root_hash")) {
        HTML(b, ", root hash <code>");
        html_text(b, ui_str(cp, "root_hash"));
        HTML(b, "</code>");
    }
    HTML(b, "; ");
    html_uint(b, (unsigned long long)json_integer_value(json_object_get(sum, "charges_audited")));
    HTML(b, " charges and ");
    html_uint(b, (unsigned long long)json_integer_value(json_object_get(sum, "fee_schedules")));
    HTML(b, " fee schedules audited.</p>\n");
    for (i = 0; i < ARRAY_SIZE(sections); i++)
        section(b, report, i, size);
    HTML(b, "<section id=\"schedules_self_approved\"><h2>Fee schedules approved by their "
            "creator</h2>\n");
    if (!json_array_size(json_object_get(report, "schedules_self_approved")))
        HTML(b, "<p class=\"none\">None found.</p>\n");
    else
        HTML(b, "<ul>\n");
    json_array_foreach (json_object_get(report, "schedules_self_approved"), i, v) {
        HTML(b, "<li>");
        html_text(b, ui_str(v, "organization"));
        HTML(b, ": ");
        html_text(b, ui_str(v, "fee_schedule"));
        HTML(b, " approved by ");
        html_text(b, ui_str(v, "approver"));
        HTML(b, "</li>\n");
    }
    if (json_array_size(json_object_get(report, "schedules_self_approved")))
        HTML(b, "</ul>\n");
    HTML(b, "</section>\n<section id=\"grants_self_approved\"><h2>Grants decided by their "
            "requester or grantee</h2>\n");
    if (!json_array_size(json_object_get(report, "grants_self_approved")))
        HTML(b, "<p class=\"none\">None found.</p>\n");
    else
        HTML(b, "<ul>\n");
    json_array_foreach (json_object_get(report, "grants_self_approved"), i, v) {
        HTML(b, "<li>");
        html_text(b, ui_str(v, "organization"));
        HTML(b, ": grant ");
        html_text(b, ui_str(v, "grant"));
        HTML(b, " requested by ");
        html_text(b, ui_str(v, "requested_by"));
        HTML(b, " for ");
        html_text(b, ui_str(v, "grantee"));
        HTML(b, ", decided by ");
        html_text(b, ui_str(v, "decided_by"));
        HTML(b, "</li>\n");
    }
    if (json_array_size(json_object_get(report, "grants_self_approved")))
        HTML(b, "</ul>\n");
    HTML(b, "</section>\n<section id=\"ledger_mismatches\"><h2>Store and ledger "
            "disagree</h2>\n");
    if (!json_array_size(json_object_get(report, "ledger_mismatches")))
        HTML(b, "<p class=\"none\">None found: every charge and schedule matches its "
                "ledger entry.</p>\n");
    else
        HTML(b, "<ul>\n");
    json_array_foreach (json_object_get(report, "ledger_mismatches"), i, v) {
        HTML(b, "<li>");
        html_text(b, ui_str(v, "object"));
        HTML(b, " ");
        html_text(b, ui_str(v, "id"));
        HTML(b, ", entry #");
        html_uint(b, (unsigned long long)json_integer_value(json_object_get(v, "entry")));
        HTML(b, ": ");
        html_text(b, ui_str(v, "problem"));
        HTML(b, "</li>\n");
    }
    if (json_array_size(json_object_get(report, "ledger_mismatches")))
        HTML(b, "</ul>\n");
    HTML(b, "</section>\n<section id=\"not_checked\"><h2>Not checked by this version</h2>\n"
            "<ul>\n");
    json_array_foreach (json_object_get(report, "not_checked"), i, v) {
        HTML(b, "<li>");
        html_text(b, json_string_value(v));
        HTML(b, "</li>\n");
    }
    HTML(b, "</ul></section>\n");
    ui_footer(b);
}

int ui_audit(struct catalog *c, struct buf *out, struct err *err)
{
    struct audit_options o = {0};
    json_t *report = NULL;
    int rc = audit_report(c->store, &o, &report, err);

    if (!rc)
        ui_audit_render(report, out);
    json_decref(report);
    return rc;
}
