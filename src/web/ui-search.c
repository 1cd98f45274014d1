/*
 * ui-search.c - the dataset search page (/dataset?q=…): package_search with CKAN's
 * facets, sorting and pages, all of its state in the URL.
 */
#include <jansson.h>

#include "web/html.h"
#include "web/ui.h"
#include "web/web-int.h"
#include "core/parse.h"
#include "core/util.h"

const char *const ui_search_facet_fields[UI_SEARCH_FACETS] = {
        "organization", "groups", "tags", "res_format", "license_id",
};

/* Values shown per facet. */
#define FACET_LIMIT 10

static const char *facet_title(size_t i)
{
    static const char *const titles[UI_SEARCH_FACETS] = {
            N_("Organizations"), N_("Themes"), N_("Tags"), N_("Formats"), N_("Licences"),
    };
    return ui_gettext(titles[i]);
}

/* The sort keys offered (package_search's sort strings), and their labels. */
static const struct {
    const char *key;
    const char *label;
} sorts[] = {
        {"score desc", N_("Relevance")},
        {"title_string asc", N_("Name (A–Z)")},
        {"metadata_modified desc", N_("Last modified")},
        {"metadata_created desc", N_("Newest")},
};

static const char *sort_key(const char *sort)
{
    for (size_t i = 0; i < ARRAY_SIZE(sorts); i++)
        if (str_eq(sort, sorts[i].key))
            return sorts[i].key;
    return NULL;
}

static uint64_t page_number(const char *page)
{
    uint64_t n;

    if (!page || parse_u64(page, UI_SEARCH_PAGE_MAX, &n) || n < 1)
        return 1;
    return n;
}

/* What a link changes in the current state. */
struct url_change {
    int facet;         /* -1: none; else toggle value in this facet */
    const char *value; /* the value toggled */
    const char *sort;  /* NULL: keep */
    uint64_t page;     /* 0: first page (omitted) */
};

static bool facet_selected(const struct ui_search_query *sq, size_t f, const char *v)
{
    for (size_t i = 0; i < sq->nfacets[f]; i++)
        if (str_eq(sq->facets[f][i], v))
            return true;
    return false;
}

static void arg(struct buf *b, bool *first, const char *name, const char *value)
{
    buf_addstr(b, *first ? "?" : "&amp;");
    *first = false;
    buf_addstr(b, name);
    buf_addch(b, '=');
    html_url_arg(b, value);
}

/* Appends "/dataset?…" for the state sq with change ch applied, ready for href="". */
static void search_url(struct buf *b, const struct ui_search_query *sq, const struct url_change *ch)
{
    const char *sort = ch->sort ? ch->sort : sort_key(sq->sort);
    bool first = true;

    HTML(b, "/dataset");
    if (sq->q && sq->q[0])
        arg(b, &first, "q", sq->q);
    for (size_t f = 0; f < UI_SEARCH_FACETS; f++) {
        for (size_t i = 0; i < sq->nfacets[f]; i++) {
            /* toggling a selected value removes it */
            if (ch->facet == (int)f && str_eq(sq->facets[f][i], ch->value))
                continue;
            arg(b, &first, ui_search_facet_fields[f], sq->facets[f][i]);
        }
        if (ch->facet == (int)f && !facet_selected(sq, f, ch->value))
            arg(b, &first, ui_search_facet_fields[f], ch->value);
    }
    if (sort && !str_eq(sort, "score desc"))
        arg(b, &first, "sort", sort);
    if (ch->page > 1) {
        char n[24];

        xsnprintf(n, sizeof(n), "%llu", (unsigned long long)ch->page);
        arg(b, &first, "page", n);
    }
}

/* fq for the selected facet values: field:"value" AND … (quotes and backslashes in
 * values escaped with a backslash, as the query parser reads them). */
static void build_fq(struct buf *fq, const struct ui_search_query *sq)
{
    for (size_t f = 0; f < UI_SEARCH_FACETS; f++) {
        for (size_t i = 0; i < sq->nfacets[f]; i++) {
            const char *p;

            if (fq->len)
                buf_addstr(fq, " AND ");
            buf_addf(fq, "%s:\"", ui_search_facet_fields[f]);
            for (p = sq->facets[f][i]; *p; p++) {
                if (*p == '"' || *p == '\\')
                    buf_addch(fq, '\\');
                buf_addch(fq, *p);
            }
            buf_addch(fq, '"');
        }
    }
}

static void facets_aside(struct buf *out, const struct ui_search_query *sq, const json_t *facets)
{
    HTML(out, "<aside class=\"facets\" aria-label=\"");
    TX(out, "Filter results");
    HTML(out, "\">\n");
    for (size_t f = 0; f < UI_SEARCH_FACETS; f++) {
        const json_t *items = json_object_get(json_object_get(facets, ui_search_facet_fields[f]),
                                              "items"),
                     *it;
        size_t i;

        if (!json_array_size(items))
            continue;
        HTML(out, "<section class=\"facet\" data-facet=\"");
        html_attr(out, ui_search_facet_fields[f]);
        HTML(out, "\">\n<h2>");
        html_text(out, facet_title(f));
        HTML(out, "</h2>\n<ul>\n");
        json_array_foreach (items, i, it) {
            const char *name = ui_str(it, "name"), *display = ui_str(it, "display_name");
            struct url_change ch = {.facet = (int)f, .value = name};
            bool on = facet_selected(sq, f, name);

            if (!name)
                continue;
            HTML(out, "<li><a href=\"");
            search_url(out, sq, &ch);
            HTML(out, "\"");
            if (on)
                HTML(out, " class=\"selected\" aria-current=\"true\"");
            HTML(out, ">");
            if (on)
                HTML(out, "<span class=\"remove\" aria-hidden=\"true\">✕ </span>");
            html_text(out, display && display[0] ? display : name);
            HTML(out, " <span class=\"count\">");
            html_uint(out, (unsigned long long)json_integer_value(json_object_get(it, "count")));
            HTML(out, "</span></a></li>\n");
        }
        HTML(out, "</ul>\n</section>\n");
    }
    HTML(out, "</aside>\n");
}

static void sort_form(struct buf *out, const struct ui_search_query *sq)
{
    const char *cur = sort_key(sq->sort);

    /* A form that submits the same state with another sort: hidden inputs carry q and the
     * facets; no script needed. */
    HTML(out, "<form class=\"sort\" action=\"/dataset\" method=\"get\">\n");
    if (sq->q && sq->q[0]) {
        HTML(out, "<input type=\"hidden\" name=\"q\" value=\"");
        html_attr(out, sq->q);
        HTML(out, "\">\n");
    }
    for (size_t f = 0; f < UI_SEARCH_FACETS; f++)
        for (size_t i = 0; i < sq->nfacets[f]; i++) {
            HTML(out, "<input type=\"hidden\" name=\"");
            html_attr(out, ui_search_facet_fields[f]);
            HTML(out, "\" value=\"");
            html_attr(out, sq->facets[f][i]);
            HTML(out, "\">\n");
        }
    HTML(out, "<label for=\"sort\">");
    TX(out, "Sort by");
    HTML(out, "</label>\n<select id=\"sort\" name=\"sort\">\n");
    for (size_t i = 0; i < ARRAY_SIZE(sorts); i++) {
        HTML(out, "<option value=\"");
        html_attr(out, sorts[i].key);
        HTML(out, "\"");
        if (str_eq(sorts[i].key, cur) || (!cur && i == 0))
            HTML(out, " selected");
        HTML(out, ">");
        html_text(out, ui_gettext(sorts[i].label));
        HTML(out, "</option>\n");
    }
    HTML(out, "</select>\n<button type=\"submit\">");
    TX(out, "Sort");
    HTML(out, "</button>\n</form>\n");
}

int ui_dataset_search_page(struct catalog *c, const struct actor *a,
                           const struct ui_search_query *sq, struct buf *out, struct err *err)
{
    json_t *params = NULL, *search = NULL, *fields = NULL, *v;
    struct buf fq = BUF_INIT;
    struct err serr = ERR_INIT;
    const char *sort = sort_key(sq->sort);
    uint64_t n = page_number(sq->page), pages = 1, count = 0;
    size_t i;
    int ret = 0;

    build_fq(&fq, sq);
    fields = json_array();
    for (i = 0; i < UI_SEARCH_FACETS; i++)
        json_array_append_new(fields, json_string(ui_search_facet_fields[i]));
    for (;;) {
        params = json_pack("{s:s, s:s, s:O, s:I, s:I, s:I, s:s}", "q", sq->q ? sq->q : "", "fq",
                           fq.buf, "facet.field", fields, "facet.limit", (json_int_t)FACET_LIMIT,
                           "rows", (json_int_t)UI_SEARCH_ROWS, "start",
                           (json_int_t)((n - 1) * UI_SEARCH_ROWS), "sort",
                           sort ? sort : "score desc");
        ret = catalog_package_search_summaries(c, a, params, &search, &serr);
        if (ret == -ERR_SEARCH || ret == -ERR_VALIDATION) {
            /* The user's query is wrong: say so on the page. */
            ret = 0;
            break;
        }
        if (ret < 0) {
            *err = serr;
            goto out;
        }
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
    ui_header(out, sq->q && sq->q[0] ? sq->q : _("Datasets"));
    HTML(out, "<h1>");
    TX(out, "Datasets");
    HTML(out, "</h1>\n<form class=\"hero-search\" action=\"/dataset\" method=\"get\" "
              "role=\"search\">\n<label for=\"q\">");
    TX(out, "Search datasets");
    HTML(out, "</label>\n<input type=\"search\" id=\"q\" name=\"q\" value=\"");
    html_attr(out, sq->q);
    HTML(out, "\">\n");
    for (size_t f = 0; f < UI_SEARCH_FACETS; f++)
        for (i = 0; i < sq->nfacets[f]; i++) {
            HTML(out, "<input type=\"hidden\" name=\"");
            html_attr(out, ui_search_facet_fields[f]);
            HTML(out, "\" value=\"");
            html_attr(out, sq->facets[f][i]);
            HTML(out, "\">\n");
        }
    HTML(out, "<button type=\"submit\">");
    TX(out, "Search");
    HTML(out, "</button>\n</form>\n<div class=\"search-layout\">\n");
    facets_aside(out, sq, json_object_get(search, "search_facets"));
    HTML(out, "<section class=\"results\" aria-labelledby=\"h-results\">\n<h2 id=\"h-results\" "
              "class=\"result-count\">");
    if (serr.kind != ERR_NONE) {
        TX(out, "The query could not be read:");
        HTML(out, " ");
        html_text(out, serr.msg);
    } else {
        ui_count(out, count, "%n dataset found", "%n datasets found");
        if (sq->q && sq->q[0]) {
            HTML(out, " · “");
            html_text(out, sq->q);
            HTML(out, "”");
        }
    }
    HTML(out, "</h2>\n");
    sort_form(out, sq);
    HTML(out, "<ul class=\"datasets\">\n");
    json_array_foreach (json_object_get(search, "results"), i, v)
        ui_dataset_item(out, v);
    HTML(out, "</ul>\n");
    if (pages > 1) {
        HTML(out, "<nav class=\"pagination\" aria-label=\"");
        TX(out, "Pages");
        HTML(out, "\"><p>");
        if (n > 1) {
            struct url_change ch = {.facet = -1, .page = n - 1};

            HTML(out, "<a rel=\"prev\" href=\"");
            search_url(out, sq, &ch);
            HTML(out, "\">← ");
            TX(out, "Previous");
            HTML(out, "</a> ");
        }
        HTML(out, "<span class=\"page-of\">");
        TX(out, "Page");
        HTML(out, " ");
        html_uint(out, n);
        HTML(out, " / ");
        html_uint(out, pages);
        HTML(out, "</span>");
        if (n < pages) {
            struct url_change ch = {.facet = -1, .page = n + 1};

            HTML(out, " <a rel=\"next\" href=\"");
            search_url(out, sq, &ch);
            HTML(out, "\">");
            TX(out, "Next");
            HTML(out, " →</a>");
        }
        HTML(out, "</p></nav>\n");
    }
    HTML(out, "</section>\n</div>\n");
    ui_footer(out);
out:
    buf_release(&fq);
    json_decref(params);
    json_decref(search);
    json_decref(fields);
    return ret;
}
