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
        {"unapproved_charges", N_("Charges with no approved fee schedule"),
         N_("Charges that name no fee schedule, or one that is unknown, not approved, or of "
            "another organization.")},
        {"charges_outside_period", N_("Charges outside their schedule's period"),
         N_("Charges dated before or after the period of the approved schedule they name.")},
        {"charges_above_price", N_("Charges above their schedule's price"),
         N_("Charges of more than the price of the approved schedule they name.")},
};

static unsigned long long uint_of(const json_t *obj, const char *key)
{
    return (unsigned long long)json_integer_value(json_object_get(obj, key));
}

/* "None found" as a paragraph when list is empty, else opens the <ul> of its items. */
static void none_or_list(struct buf *b, const json_t *list, const char *none)
{
    if (json_array_size(list)) {
        HTML(b, "<ul>\n");
        return;
    }
    HTML(b, "<p class=\"none\">");
    html_text(b, none);
    HTML(b, "</p>\n");
}

static void entry_links(struct buf *b, const json_t *entries, uint64_t size)
{
    size_t i, n = json_array_size(entries);
    json_t *ix;

    json_array_foreach (entries, i, ix) {
        json_int_t v = json_integer_value(ix);

        if (i == UI_AUDIT_ENTRY_LINKS) {
            HTML(b, " ");
            ui_count(b, n - i, "… and %n more", "… and %n more");
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
            HTML(b, "\">");
            TX(b, "proof");
            HTML(b, "</a>)");
        } else {
            HTML(b, " (");
            TX(b, "not yet signed");
            HTML(b, ")");
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
    html_text(b, ui_gettext(sections[k].title));
    HTML(b, "</h2>\n<p>");
    html_text(b, ui_gettext(sections[k].what));
    HTML(b, "</p>\n");
    if (!json_array_size(list)) {
        HTML(b, "<p class=\"none\">");
        TX(b, "None found.");
        HTML(b, "</p></section>\n");
        return;
    }
    HTML(b, "<p class=\"summary\">");
    ui_count(b, uint_of(sum, "organizations"), "%n organization", "%n organizations");
    HTML(b, ", ");
    ui_count(b, uint_of(sum, "units"), "%n unit", "%n units");
    HTML(b, ", ");
    ui_count(b, uint_of(sum, "systems"), "%n system", "%n systems");
    HTML(b, ", ");
    ui_count(b, uint_of(sum, "charges"), "%n charge", "%n charges");
    HTML(b, ", <strong>");
    ui_fill(b, _("{1} yuan"), ui_str(sum, "total"), NULL, NULL);
    HTML(b, "</strong></p>\n<table>\n<thead><tr><th>");
    TX(b, "Organization");
    HTML(b, "</th><th>");
    TX(b, "Unit");
    HTML(b, "</th><th>");
    TX(b, "System");
    HTML(b, "</th><th>");
    TX(b, "Charges");
    HTML(b, "</th><th>");
    TX(b, "Total (yuan)");
    HTML(b, "</th><th>");
    TX(b, "Dates");
    HTML(b, "</th><th>");
    TX(b, "Ledger entries");
    HTML(b, "</th></tr></thead>\n<tbody>\n");
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
                ui_fill(b, _("{1} yuan under {2}"), ui_str(d, "amount"), ui_str(d, "schedule"),
                        NULL);
                HTML(b, " ");
                if (ui_str(d, "price"))
                    ui_fill(b, _("(price {1})"), ui_str(d, "price"), NULL, NULL);
                else
                    ui_fill(b, _("(period {1} – {2})"), ui_str(d, "period_start"),
                            ui_str(d, "period_end"), NULL);
            }
            HTML(b, "</td></tr>\n");
        }
        HTML(b, "<tr class=\"subtotal\"><td>");
        html_text(b, ui_str(org, "organization"));
        HTML(b, "</td><td>");
        ui_count(b, uint_of(org, "units"), "%n unit", "%n units");
        HTML(b, "</td><td>");
        ui_count(b, uint_of(org, "systems"), "%n system", "%n systems");
        HTML(b, "</td><td class=\"num\">");
        html_uint(b, (unsigned long long)json_integer_value(json_object_get(org, "charges")));
        HTML(b, "</td><td class=\"num\"><strong>");
        html_text(b, ui_str(org, "total"));
        HTML(b, "</strong></td><td></td><td></td></tr>\n");
    }
    HTML(b, "</tbody></table></section>\n");
}

/* The findings about restricted data (audit.md, "Findings about restricted data"), in
 * the order of audit_finding_keys. */
static const struct {
    const char *title, *what;
} finding_sections[AUDIT_FINDING_KINDS] = {
        {N_("Reads outside any grant"),
         N_("Requests for restricted data refused for want of a grant, and reads of restricted "
            "data whose grant the store or the ledger does not bear out (no grant, another "
            "dataset's or user's grant, no approval before the read, a read before the "
            "grant's period).")},
        {N_("Expired grants still used"),
         N_("Reads under a grant after the last day of its period, or after it was revoked.")},
        {N_("Restricted resources published without a grant"),
         N_("Restricted data anyone can reach without a grant: a link resource of a public "
            "restricted dataset (its address is in the public metadata), or a dataset that "
            "grants were made on, now public and no longer restricted.")},
        {N_("Privacy overrides"),
         N_("Every table let through the privacy gate by an approver, with the "
            "justification.")},
        {N_("Grants approved by their own requester"),
         N_("Grants decided by the user who requested them or by their grantee, in the store "
            "or in the ledger (the API refuses both).")},
};

static void finding_section(struct buf *b, const json_t *report, size_t k, uint64_t size)
{
    const char *key = audit_finding_keys[k];
    const json_t *list = json_object_get(report, key);
    json_t *org, *it;
    size_t i, j;

    HTML(b, "<section id=\"");
    html_attr(b, key);
    HTML(b, "\"><h2>");
    html_text(b, ui_gettext(finding_sections[k].title));
    HTML(b, "</h2>\n<p>");
    html_text(b, ui_gettext(finding_sections[k].what));
    HTML(b, "</p>\n");
    if (!json_array_size(list)) {
        HTML(b, "<p class=\"none\">");
        TX(b, "None found.");
        HTML(b, "</p></section>\n");
        return;
    }
    HTML(b, "<table>\n<thead><tr><th>");
    TX(b, "Organization");
    HTML(b, "</th><th>");
    TX(b, "Dataset");
    HTML(b, "</th><th>");
    TX(b, "Resource");
    HTML(b, "</th><th>");
    TX(b, "Who or what");
    HTML(b, "</th><th>");
    TX(b, "Finding");
    HTML(b, "</th><th>");
    TX(b, "Count");
    HTML(b, "</th><th>");
    TX(b, "Dates");
    HTML(b, "</th><th>");
    TX(b, "Ledger entries");
    HTML(b, "</th></tr></thead>\n<tbody>\n");
    json_array_foreach (list, i, org) {
        json_array_foreach (json_object_get(org, "items"), j, it) {
            struct audit_finding_text t;
            struct buf detail = BUF_INIT;

            audit_finding_describe(k, it, &t, &detail);
            HTML(b, "<tr><td>");
            html_text(b, ui_str(org, "organization"));
            if (ui_str(org, "title") && *ui_str(org, "title")) {
                HTML(b, " <small>");
                html_text(b, ui_str(org, "title"));
                HTML(b, "</small>");
            }
            HTML(b, "</td><td>");
            html_text(b, t.dataset ? t.dataset : "");
            HTML(b, "</td><td>");
            html_text(b, t.resource ? t.resource : "");
            HTML(b, "</td><td>");
            html_text(b, t.subject ? t.subject : "");
            HTML(b, "</td><td>");
            html_text(b, detail.buf);
            HTML(b, "</td><td class=\"num\">");
            html_uint(b, (unsigned long long)json_integer_value(json_object_get(it, "count")));
            HTML(b, "</td><td>");
            if (ui_str(it, "first")) {
                html_text(b, ui_str(it, "first"));
                if (!str_eq(ui_str(it, "first"), ui_str(it, "last"))) {
                    HTML(b, " – ");
                    html_text(b, ui_str(it, "last"));
                }
            }
            HTML(b, "</td><td>");
            entry_links(b, json_object_get(it, "entries"), size);
            HTML(b, "</td></tr>\n");
            buf_release(&detail);
        }
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

    ui_header(b, _("Audit of fees"));
    HTML(b, "<h1>");
    TX(b, "Audit of fees");
    HTML(b, "</h1>\n<p>");
    TX(b, "Every fee schedule and charge the portal holds, reconciled with the public "
          "ledger. Each finding names its ledger entries with their inclusion proofs in the "
          "tree of the signed checkpoint below.");
    HTML(b, " <a href=\"/ledger\">");
    TX(b, "Public ledger");
    HTML(b, "</a>.</p>\n<p>");
    TX(b, "The same report as JSON:");
    HTML(b, " <code>kaifang audit --format json</code>, <a "
            "href=\"/api/3/action/audit_report\">audit_report</a>.</p>\n<p>");
    {
        char n[24];

        xsnprintf(n, sizeof(n), "%" PRIu64, size);
        ui_fill(b, _("Generated {1} from the checkpoint of size {2}."), ui_str(report, "generated"),
                n, NULL);
    }
    if (ui_str(cp, "root_hash")) {
        HTML(b, " ");
        TX(b, "Root hash:");
        HTML(b, " <code>");
        html_text(b, ui_str(cp, "root_hash"));
        HTML(b, "</code>.");
    }
    HTML(b, " ");
    ui_count(b, uint_of(sum, "charges_audited"), "%n charge audited.", "%n charges audited.");
    HTML(b, " ");
    ui_count(b, uint_of(sum, "fee_schedules"), "%n fee schedule audited.",
             "%n fee schedules audited.");
    HTML(b, "</p>\n");
    for (i = 0; i < ARRAY_SIZE(sections); i++)
        section(b, report, i, size);
    HTML(b, "<section id=\"schedules_self_approved\"><h2>");
    TX(b, "Fee schedules approved by their creator");
    HTML(b, "</h2>\n");
    none_or_list(b, json_object_get(report, "schedules_self_approved"), _("None found."));
    json_array_foreach (json_object_get(report, "schedules_self_approved"), i, v) {
        HTML(b, "<li>");
        html_text(b, ui_str(v, "organization"));
        HTML(b, ": ");
        ui_fill(b, _("{1} approved by {2}"), ui_str(v, "fee_schedule"), ui_str(v, "approver"),
                NULL);
        HTML(b, "</li>\n");
    }
    if (json_array_size(json_object_get(report, "schedules_self_approved")))
        HTML(b, "</ul>\n");
    HTML(b, "</section>\n");
    for (i = 0; i < AUDIT_FINDING_KINDS; i++)
        finding_section(b, report, i, size);
    HTML(b, "<section id=\"ledger_mismatches\"><h2>");
    TX(b, "Store and ledger disagree");
    HTML(b, "</h2>\n");
    none_or_list(b, json_object_get(report, "ledger_mismatches"),
                 _("None found: every charge and schedule matches its ledger entry."));
    json_array_foreach (json_object_get(report, "ledger_mismatches"), i, v) {
        HTML(b, "<li>");
        html_text(b, ui_str(v, "object"));
        HTML(b, " ");
        html_text(b, ui_str(v, "id"));
        HTML(b, ", ");
        TX(b, "entry");
        HTML(b, " #");
        html_uint(b, uint_of(v, "entry"));
        HTML(b, ": ");
        html_text(b, ui_str(v, "problem"));
        HTML(b, "</li>\n");
    }
    if (json_array_size(json_object_get(report, "ledger_mismatches")))
        HTML(b, "</ul>\n");
    HTML(b, "</section>\n<section id=\"not_checked\"><h2>");
    TX(b, "Not checked by this version");
    HTML(b, "</h2>\n<ul>\n");
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
