/*
 * ui-resource.c - one resource (/dataset/<name>/resource/<id>): its facts, download
 * link, a paged, sortable, filterable preview of its datastore table that works with
 * links and a form alone, and a chart drawn by /static/chart.js (Vega-Lite).
 */
#include <jansson.h>

#include "datastore/datastore.h"
#include "web/html.h"
#include "web/markdown.h"
#include "web/ui.h"
#include "web/web-int.h"
#include "core/parse.h"
#include "core/util.h"

/* The deepest offset a preview link may ask for (datastore_search allows more, but a
 * page link that far is a hand-made URL). */
#define PREVIEW_OFFSET_MAX 100000000u

struct preview {
    const char *dataset, *rid; /* names for links */
    uint64_t offset;
    const char *sort_col; /* a column of the table, or NULL */
    bool desc;
    const char *fcol, *fval; /* filter, both set or both NULL */
    const char *q;
};

static bool numeric_type(const char *t)
{
    return str_eq(t, "int") || str_eq(t, "numeric") || str_eq(t, "float") || str_eq(t, "float8") ||
           str_eq(t, "bigint") || str_eq(t, "int4") || str_eq(t, "int8");
}

static bool date_type(const char *t)
{
    return str_eq(t, "date") || str_eq(t, "timestamp") || str_eq(t, "timestamptz");
}

/* A column of fields (datastore_search's "fields") named id, or NULL. */
static const json_t *field_named(const json_t *fields, const char *id)
{
    const json_t *f;
    size_t i;

    if (!id)
        return NULL;
    json_array_foreach (fields, i, f)
        if (str_eq(ui_str(f, "id"), id) && !str_eq(id, "_id"))
            return f;
    return NULL;
}

/* "/dataset/D/resource/R?…" with the preview state, changed by the arguments:
 * offset, sort column (NULL: none) and direction. */
static void preview_url(struct buf *b, const struct preview *pv, uint64_t offset,
                        const char *sort_col, bool desc)
{
    HTML(b, "/dataset/");
    html_url_arg(b, pv->dataset);
    HTML(b, "/resource/");
    html_url_arg(b, pv->rid);
    HTML(b, "?offset=");
    html_uint(b, offset);
    if (sort_col) {
        HTML(b, "&amp;sort=");
        html_url_arg(b, sort_col);
        if (desc)
            HTML(b, "%20desc");
    }
    if (pv->fcol) {
        HTML(b, "&amp;column=");
        html_url_arg(b, pv->fcol);
        HTML(b, "&amp;value=");
        html_url_arg(b, pv->fval);
    }
    if (pv->q && pv->q[0]) {
        HTML(b, "&amp;q=");
        html_url_arg(b, pv->q);
    }
    HTML(b, "#preview");
}

static void cell(struct buf *out, const json_t *v)
{
    if (json_is_string(v))
        html_text(out, json_string_value(v));
    else if (json_is_integer(v))
        buf_addf(out, "%lld", (long long)json_integer_value(v));
    else if (json_is_real(v))
        buf_addf(out, "%.15g", json_real_value(v));
    else if (json_is_true(v))
        HTML(out, "true");
    else if (json_is_false(v))
        HTML(out, "false");
    else if (!json_is_null(v) && v) {
        char *s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);

        html_text(out, s);
        free(s);
    }
}

/* The filter form: a column, a value, full-text q. Hidden: the sort. */
static void filter_form(struct buf *out, const struct preview *pv, const json_t *fields)
{
    const json_t *f;
    size_t i;

    HTML(out, "<form class=\"filter\" method=\"get\" action=\"#preview\">\n");
    if (pv->sort_col) {
        HTML(out, "<input type=\"hidden\" name=\"sort\" value=\"");
        html_attr(out, pv->sort_col);
        if (pv->desc)
            HTML(out, " desc");
        HTML(out, "\">\n");
    }
    HTML(out, "<label for=\"f-column\">");
    TX(out, "Column");
    HTML(out, "</label>\n<select id=\"f-column\" name=\"column\">\n<option value=\"\">");
    TX(out, "(any)");
    HTML(out, "</option>\n");
    json_array_foreach (fields, i, f) {
        const char *id = ui_str(f, "id");

        if (str_eq(id, "_id"))
            continue;
        HTML(out, "<option value=\"");
        html_attr(out, id);
        HTML(out, "\"");
        if (str_eq(id, pv->fcol))
            HTML(out, " selected");
        HTML(out, ">");
        html_text(out, id);
        HTML(out, "</option>\n");
    }
    HTML(out, "</select>\n<label for=\"f-value\">");
    TX(out, "equals");
    HTML(out, "</label>\n<input id=\"f-value\" name=\"value\" value=\"");
    html_attr(out, pv->fval);
    HTML(out, "\">\n<label for=\"f-q\">");
    TX(out, "Text search");
    HTML(out, "</label>\n<input type=\"search\" id=\"f-q\" name=\"q\" value=\"");
    html_attr(out, pv->q);
    HTML(out, "\">\n<button type=\"submit\">");
    TX(out, "Filter");
    HTML(out, "</button>\n</form>\n");
}

static void preview_table(struct buf *out, const struct preview *pv, const json_t *res)
{
    const json_t *fields = json_object_get(res, "fields"), *f, *row, *v;
    uint64_t total = (uint64_t)json_integer_value(json_object_get(res, "total"));
    size_t i, j, nrows = json_array_size(json_object_get(res, "records"));

    HTML(out, "<p class=\"rows\" aria-live=\"polite\">");
    if (nrows) {
        TX(out, "Rows");
        HTML(out, " ");
        html_uint(out, pv->offset + 1);
        HTML(out, "–");
        html_uint(out, pv->offset + nrows);
        HTML(out, " / ");
        html_uint(out, total);
    } else {
        TX(out, "No rows match.");
    }
    HTML(out, "</p>\n<div class=\"table-wrap\" tabindex=\"0\" role=\"region\" aria-label=\"");
    TX(out, "Table preview");
    HTML(out, "\"><table class=\"preview\">\n<thead><tr>");
    json_array_foreach (fields, i, f) {
        const char *id = ui_str(f, "id");
        bool sorted = str_eq(id, pv->sort_col);

        if (str_eq(id, "_id"))
            continue;
        HTML(out, "<th scope=\"col\"");
        if (sorted) {
            if (pv->desc)
                HTML(out, " aria-sort=\"descending\"");
            else
                HTML(out, " aria-sort=\"ascending\"");
        }
        HTML(out, "><a href=\"");
        /* A click sorts ascending, a second click on the same column descending. */
        preview_url(out, pv, 0, id, sorted && !pv->desc);
        HTML(out, "\">");
        html_text(out, id);
        if (sorted && pv->desc)
            HTML(out, " ▼");
        else if (sorted)
            HTML(out, " ▲");
        HTML(out, "</a> <span class=\"type\">");
        html_text(out, ui_str(f, "type"));
        HTML(out, "</span></th>");
    }
    HTML(out, "</tr></thead>\n<tbody>\n");
    json_array_foreach (json_object_get(res, "records"), i, row) {
        HTML(out, "<tr>");
        json_array_foreach (fields, j, f) {
            if (str_eq(ui_str(f, "id"), "_id"))
                continue;
            v = json_array_get(row, j);
            if (numeric_type(ui_str(f, "type")))
                HTML(out, "<td class=\"num\">");
            else
                HTML(out, "<td>");
            cell(out, v);
            HTML(out, "</td>");
        }
        HTML(out, "</tr>\n");
    }
    HTML(out, "</tbody>\n</table></div>\n<nav class=\"pagination\" aria-label=\"");
    TX(out, "Table pages");
    HTML(out, "\"><p>");
    if (pv->offset > 0) {
        uint64_t prev = pv->offset > UI_PREVIEW_ROWS ? pv->offset - UI_PREVIEW_ROWS : 0;

        HTML(out, "<a rel=\"prev\" href=\"");
        preview_url(out, pv, prev, pv->sort_col, pv->desc);
        HTML(out, "\">← ");
        TX(out, "Previous rows");
        HTML(out, "</a> ");
    }
    if (pv->offset + nrows < total) {
        HTML(out, "<a rel=\"next\" href=\"");
        preview_url(out, pv, pv->offset + UI_PREVIEW_ROWS, pv->sort_col, pv->desc);
        HTML(out, "\">");
        TX(out, "Next rows");
        HTML(out, " →</a>");
    }
    HTML(out, "</p></nav>\n");
}

/* The chart's figure: two selects (x, y) that a plain GET submits, and the data
 * attributes chart.js reads. A date/number pair draws a line, text/number a bar. */
static void chart(struct buf *out, const struct preview *pv, const json_t *fields,
                  const struct ui_preview_query *pq)
{
    const json_t *f, *fx = NULL, *fy = NULL;
    const char *want_x = NULL, *want_y = NULL;
    size_t i;

    json_array_foreach (fields, i, f) {
        const char *t = ui_str(f, "type");

        if (str_eq(ui_str(f, "id"), "_id"))
            continue;
        if (!fx && date_type(t))
            fx = f;
        if (!fy && numeric_type(t))
            fy = f;
    }
    if (!fx)
        json_array_foreach (fields, i, f)
            if (str_eq(ui_str(f, "type"), "text")) {
                fx = f;
                break;
            }
    if (!fx || !fy)
        return;
    want_x = ui_str(fx, "id");
    want_y = ui_str(fy, "id");
    /* The user's choice (the form below, submitted without JavaScript). */
    f = field_named(fields, pq->x);
    if (f && (date_type(ui_str(f, "type")) || str_eq(ui_str(f, "type"), "text")))
        want_x = ui_str(f, "id");
    f = field_named(fields, pq->y);
    if (f && numeric_type(ui_str(f, "type")))
        want_y = ui_str(f, "id");
    HTML(out, "<section class=\"chart\" aria-labelledby=\"h-chart\">\n<h2 id=\"h-chart\">");
    TX(out, "Chart");
    HTML(out, "</h2>\n<form class=\"chart-controls\" method=\"get\" action=\"#h-chart\">\n"
              "<label for=\"chart-x\">");
    TX(out, "Horizontal axis");
    HTML(out, "</label>\n<select id=\"chart-x\" name=\"x\">\n");
    json_array_foreach (fields, i, f) {
        const char *t = ui_str(f, "type"), *id = ui_str(f, "id");

        if (str_eq(id, "_id") || numeric_type(t) || !(date_type(t) || str_eq(t, "text")))
            continue;
        HTML(out, "<option value=\"");
        html_attr(out, id);
        HTML(out, "\" data-type=\"");
        html_attr(out, date_type(t) ? "temporal" : "nominal");
        HTML(out, "\"");
        if (str_eq(id, want_x))
            HTML(out, " selected");
        HTML(out, ">");
        html_text(out, id);
        HTML(out, "</option>\n");
    }
    HTML(out, "</select>\n<label for=\"chart-y\">");
    TX(out, "Vertical axis");
    HTML(out, "</label>\n<select id=\"chart-y\" name=\"y\">\n");
    json_array_foreach (fields, i, f) {
        const char *id = ui_str(f, "id");

        if (str_eq(id, "_id") || !numeric_type(ui_str(f, "type")))
            continue;
        HTML(out, "<option value=\"");
        html_attr(out, id);
        HTML(out, "\"");
        if (str_eq(id, want_y))
            HTML(out, " selected");
        HTML(out, ">");
        html_text(out, id);
        HTML(out, "</option>\n");
    }
    HTML(out, "</select>\n</form>\n<figure id=\"chart\" data-resource=\"");
    html_attr(out, pv->rid);
    HTML(out, "\" data-loading=\"");
    html_attr(out, _("Drawing the chart…"));
    HTML(out, "\" data-error=\"");
    html_attr(out, _("The chart could not be drawn."));
    HTML(out, "\"><div class=\"chart-canvas\" role=\"img\" aria-label=\"");
    TX(out, "Chart of the table");
    HTML(out, "\"></div><figcaption>");
    TX(out, "Up to the first 2,000 rows, as the API returns them. Needs JavaScript; the "
            "table above does not.");
    HTML(out, "</figcaption></figure>\n</section>\n");
}

/* The state of the resource's ingest into its datastore table (xloader_status): status,
 * time, rows and encoding read, or the error with its line and column. Nothing when the
 * resource was never ingested or the actor may not see the status. */
void ui_ingest_status(struct buf *out, struct catalog *c, const struct actor *a, const char *rid)
{
    json_t *params = json_pack("{s:s}", "resource_id", rid), *st = NULL, *rep, *err_doc;
    struct err err = ERR_INIT;
    const char *status;

    if (datastore_xloader_status(c, a, params, &st, &err) < 0)
        goto out;
    status = ui_str(st, "status");
    if (!status)
        goto out;
    rep = json_object_get(st, "report");
    HTML(out, "<section class=\"ingest\" aria-labelledby=\"h-ingest\">\n<h2 id=\"h-ingest\">");
    TX(out, "Ingest into the datastore");
    HTML(out, "</h2>\n<dl class=\"facts\">\n<dt>");
    TX(out, "Status");
    HTML(out, "</dt><dd class=\"ingest-status\" data-status=\"");
    html_attr(out, status);
    HTML(out, "\">");
    if (str_eq(status, "complete"))
        TX(out, "complete");
    else if (str_eq(status, "error"))
        TX(out, "error");
    else if (str_eq(status, "running"))
        TX(out, "running");
    else if (str_eq(status, "pending"))
        TX(out, "waiting");
    else
        html_text(out, status);
    HTML(out, "</dd>\n<dt>");
    TX(out, "Last updated");
    HTML(out, "</dt><dd><time>");
    html_text(out, ui_str(st, "last_updated"));
    HTML(out, "</time></dd>\n");
    if (str_eq(status, "complete") && json_is_integer(json_object_get(rep, "rows"))) {
        HTML(out, "<dt>");
        TX(out, "Rows read");
        HTML(out, "</dt><dd>");
        html_uint(out, (unsigned long long)json_integer_value(json_object_get(rep, "rows")));
        HTML(out, "</dd>\n<dt>");
        TX(out, "File read as");
        HTML(out, "</dt><dd>");
        html_text(out, ui_str(rep, "format"));
        HTML(out, ", ");
        html_text(out, ui_str(rep, "encoding"));
        HTML(out, "</dd>\n");
    }
    err_doc = json_object_get(st, "error");
    if (json_is_object(err_doc)) {
        json_t *line = json_object_get(err_doc, "line"), *col = json_object_get(err_doc, "column");

        HTML(out, "<dt>");
        TX(out, "Error");
        HTML(out, "</dt><dd class=\"error\">");
        html_text(out, ui_str(err_doc, "message"));
        if (json_is_integer(line) && json_integer_value(line) > 0) {
            HTML(out, " (");
            ui_count(out, (unsigned long long)json_integer_value(line), "line %n", "line %n");
            if (json_is_integer(col) && json_integer_value(col) > 0) {
                HTML(out, ", ");
                ui_count(out, (unsigned long long)json_integer_value(col), "column %n",
                         "column %n");
            }
            HTML(out, ")");
        }
        HTML(out, "</dd>\n");
    } else if (json_is_string(err_doc)) {
        HTML(out, "<dt>");
        TX(out, "Error");
        HTML(out, "</dt><dd class=\"error\">");
        html_text(out, json_string_value(err_doc));
        HTML(out, "</dd>\n");
    }
    HTML(out, "</dl>\n</section>\n");
out:
    json_decref(params);
    json_decref(st);
}

int ui_resource(struct catalog *c, const struct actor *a, const char *dataset, const char *rid,
                const struct ui_preview_query *pq, struct buf *out, struct err *err)
{
    json_t *params = NULL, *d = NULL, *res = NULL, *r = NULL, *v, *fields = NULL;
    struct preview pv = {0};
    struct err serr = ERR_INIT;
    const char *href, *url, *site = c->site_url;
    size_t i;
    int ret;

    params = json_pack("{s:s}", "id", dataset);
    ret = catalog_package_show(c, a, params, &d, err);
    if (ret < 0)
        goto out;
    json_array_foreach (json_object_get(d, "resources"), i, v)
        if (str_eq(ui_str(v, "id"), rid))
            r = v;
    if (!r) {
        ret = err_set(err, ERR_NOT_FOUND, "id", "resource not found in this dataset");
        goto out;
    }
    pv.dataset = ui_str(d, "name");
    pv.rid = rid;
    if (pq->offset && parse_u64(pq->offset, PREVIEW_OFFSET_MAX, &pv.offset))
        pv.offset = 0;
    pv.q = pq->q;

    ui_header_head(out, ui_str(r, "name") ? ui_str(r, "name") : rid,
                   "<script defer src=\"/static/vega.min.js\"></script>\n"
                   "<script defer src=\"/static/vega-lite.min.js\"></script>\n"
                   "<script defer src=\"/static/vega-embed.min.js\"></script>\n"
                   "<script type=\"module\" src=\"/static/chart.js\"></script>\n");
    HTML(out, "<nav class=\"breadcrumb\" aria-label=\"");
    TX(out, "Breadcrumb");
    HTML(out, "\"><a href=\"/dataset/");
    html_url_arg(out, pv.dataset);
    HTML(out, "\">");
    html_text(out, ui_dataset_title(d));
    HTML(out, "</a></nav>\n");
    ui_publisher_actions(out, a, d, r);
    HTML(out, "<h1>");
    html_text(out, ui_str(r, "name") && ui_str(r, "name")[0] ? ui_str(r, "name")
                                                             : _("Unnamed resource"));
    HTML(out, "</h1>\n<div class=\"description\">");
    markdown_html(ui_str(r, "description"), out);
    HTML(out, "</div>\n<dl class=\"facts\">\n<dt>");
    TX(out, "Format");
    HTML(out, "</dt><dd>");
    html_text(out, ui_str(r, "format"));
    HTML(out, "</dd>\n");
    if (json_is_integer(json_object_get(r, "size"))) {
        HTML(out, "<dt>");
        TX(out, "Size");
        HTML(out, "</dt><dd>");
        ui_size(out, (unsigned long long)json_integer_value(json_object_get(r, "size")));
        HTML(out, "</dd>\n");
    }
    HTML(out, "<dt>");
    TX(out, "Resource id");
    HTML(out, "</dt><dd><code>");
    html_text(out, rid);
    HTML(out, "</code></dd>\n");
    if (ui_str(r, "hash")) {
        HTML(out, "<dt>");
        TX(out, "Hash");
        HTML(out, "</dt><dd><code class=\"hash\">");
        html_text(out, ui_str(r, "hash"));
        HTML(out, "</code></dd>\n");
    }
    HTML(out, "</dl>\n<p class=\"actions\">");
    url = ui_str(r, "url");
    href = url;
    if (url && str_eq(ui_str(r, "url_type"), "upload") && site && site[0] &&
        starts_with(url, site) && url[strlen(site)] == '/')
        href = url + strlen(site);
    if (ui_dataset_restricted(d)) {
        /* Downloads and dumps of restricted resources are refused to everyone. */
    } else if (href && href[0] == '/') {
        HTML(out, "<a class=\"download\" download href=\"");
        html_attr(out, href);
        HTML(out, "\">");
        TX(out, "Download");
        HTML(out, "</a>");
    } else if (href && href[0]) {
        ui_link_external(out, href, _("Go to resource"));
    }
    if (json_is_true(json_object_get(r, "datastore_active")) && !ui_dataset_restricted(d)) {
        HTML(out, " <a href=\"/datastore/dump/");
        html_url_arg(out, rid);
        HTML(out, "\">");
        TX(out, "Table as CSV");
        HTML(out, "</a>");
    }
    HTML(out, "</p>\n");
    ui_ingest_status(out, c, a, rid);
    ui_privacy_resource(c, a, r, out);
    ui_privacy_override_form(c, a, d, r, out);

    if (ui_dataset_restricted(d)) {
        /* A restricted table is read only under a grant (datastore_search records each
         * read and each refusal in the ledger): the page does not read it. */
        HTML(out, "<p>");
        TX(out, "This table is not public: it can be read through the API under a grant.");
        HTML(out, "</p>\n");
        ui_footer(out);
        goto out;
    }
    if (!json_is_true(json_object_get(r, "datastore_active"))) {
        /* A file withheld by the publish gate without a table (its ingest failed): why. */
        if (catalog_resource_authorize(c, a, rid, false, NULL, NULL, &serr) < 0 &&
            serr.kind == ERR_AUTH) {
            HTML(out, "<p class=\"withheld\">");
            html_text(out, serr.msg);
            HTML(out, "</p>\n");
        }
        err_clear(&serr);
        HTML(out, "<p>");
        TX(out, "This resource has no table to preview.");
        HTML(out, "</p>\n");
        ui_footer(out);
        goto out;
    }
    /* The columns first, to check the sort and filter column names against them. */
    json_decref(params);
    params = json_pack("{s:s, s:i}", "resource_id", rid, "limit", 0);
    ret = datastore_search(c, a, params, &res, err);
    if (ret < 0 && err && err->kind == ERR_AUTH) {
        /* Withheld by the publish gate (its report above says why): no preview. */
        HTML(out, "<p class=\"withheld\">");
        html_text(out, err->msg);
        HTML(out, "</p>\n");
        err_clear(err);
        ret = 0;
        ui_footer(out);
        goto out;
    }
    if (ret < 0)
        goto out;
    fields = json_incref(json_object_get(res, "fields"));
    json_decref(res);
    res = NULL;
    if (pq->sort) {
        char *col = xstrdup(pq->sort);
        size_t n = strlen(col);
        bool desc = n > 5 && str_eq(col + n - 5, " desc");

        if (desc)
            col[n - 5] = '\0';
        if (field_named(fields, col)) {
            pv.sort_col = ui_str(field_named(fields, col), "id");
            pv.desc = desc;
        }
        free(col);
    }
    if (pq->column && field_named(fields, pq->column) && pq->value) {
        pv.fcol = ui_str(field_named(fields, pq->column), "id");
        pv.fval = pq->value;
    }
    json_decref(params);
    params = json_pack("{s:s, s:I, s:I, s:s}", "resource_id", rid, "limit",
                       (json_int_t)UI_PREVIEW_ROWS, "offset", (json_int_t)pv.offset,
                       "records_format", "lists");
    if (pv.sort_col) {
        struct buf s = BUF_INIT;

        /* Column names are quoted for datastore_search's sort ("a b" desc). */
        buf_addf(&s, "\"%s\"%s", pv.sort_col, pv.desc ? " desc" : "");
        json_object_set_new(params, "sort", json_string(s.buf));
        buf_release(&s);
    }
    if (pv.fcol)
        json_object_set_new(params, "filters", json_pack("{s:s}", pv.fcol, pv.fval));
    if (pv.q && pv.q[0])
        json_object_set_new(params, "q", json_string(pv.q));
    HTML(out, "<section class=\"preview\" id=\"preview\" aria-labelledby=\"h-preview\">\n"
              "<h2 id=\"h-preview\">");
    TX(out, "Table preview");
    HTML(out, "</h2>\n");
    filter_form(out, &pv, fields);
    ret = datastore_search(c, a, params, &res, &serr);
    if (ret == -ERR_VALIDATION || ret == -ERR_SEARCH || ret == -ERR_BAD_REQUEST) {
        HTML(out, "<p class=\"error\" role=\"alert\">");
        html_text(out, serr.msg);
        HTML(out, "</p>\n");
        ret = 0;
    } else if (ret < 0) {
        *err = serr;
        buf_reset(out);
        goto out;
    } else {
        preview_table(out, &pv, res);
    }
    HTML(out, "</section>\n");
    chart(out, &pv, fields, pq);
    ui_footer(out);
out:
    json_decref(params);
    json_decref(d);
    json_decref(res);
    json_decref(fields);
    return ret;
}
