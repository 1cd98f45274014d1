/*
 * ui-ledger.c - the public ledger page (/ledger): the latest signed checkpoint, the
 * verifier key, and the entries newest first, paged, filtered by type and organization.
 *
 * Paging is by index ("before=N": entries with a lower index), not by page number, so
 * that a page stays put while the log grows. Filtering walks the log backwards from
 * "before" and looks at no more than UI_LEDGER_SCAN entries per page: a rare type can
 * need several "Older" clicks to reach, but no request reads more than a bounded slice
 * of the log. The page says so.
 */
#include <jansson.h>

#include "ledger/ledger.h"
#include "web/html.h"
#include "web/ui.h"
#include "web/web-int.h"
#include "core/parse.h"
#include "core/util.h"

/* The fields every entry has (ledger.h, ledger_record); any other member is shown
 * beside the objects, so nothing in an entry is hidden from the page. */
static const char *const known_fields[] = {"time", "type", "actor", "org", "objects", "digest"};

static const char *nonempty(const char *s)
{
    return s && s[0] ? s : NULL;
}

/* A link back to this page with before and the filters (percent-encoded, so also safe
 * inside the quoted attribute). before 0: none (the newest entries). */
static void page_href(struct buf *b, uint64_t before, const char *type, const char *org)
{
    bool first = true;

    HTML(b, "/ledger");
    if (before) {
        HTML(b, "?before=");
        html_uint(b, before);
        first = false;
    }
    if (type) {
        if (first)
            HTML(b, "?type=");
        else
            HTML(b, "&amp;type=");
        html_url_arg(b, type);
        first = false;
    }
    if (org) {
        if (first)
            HTML(b, "?org=");
        else
            HTML(b, "&amp;org=");
        html_url_arg(b, org);
    }
}

/* A JSON value as text: strings as they are, anything else in compact JSON. */
static void value_text(struct buf *b, const json_t *v)
{
    char *s;

    if (json_is_string(v)) {
        html_text(b, json_string_value(v));
        return;
    }
    s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
    html_text(b, s);
    free(s);
}

static bool known_field(const char *key)
{
    for (size_t i = 0; i < ARRAY_SIZE(known_fields); i++)
        if (!strcmp(known_fields[i], key))
            return true;
    return false;
}

/* The objects an entry is about: a dataset links to its page; anything else, and any
 * member the page does not know, as "key: value". */
static void objects_cell(struct buf *b, const json_t *e)
{
    const json_t *objects = json_object_get(e, "objects");
    const char *key;
    json_t *v;
    bool first = true;

    json_object_foreach ((json_t *)objects, key, v) {
        if (!first)
            HTML(b, "<br>");
        first = false;
        html_text(b, key);
        HTML(b, ": ");
        if (!strcmp(key, "dataset") && json_is_string(v)) {
            HTML(b, "<a href=\"/dataset/");
            html_url_arg(b, json_string_value(v));
            HTML(b, "\">");
            html_text(b, json_string_value(v));
            HTML(b, "</a>");
        } else {
            value_text(b, v);
        }
    }
    json_object_foreach ((json_t *)e, key, v) {
        if (known_field(key))
            continue;
        if (!first)
            HTML(b, "<br>");
        first = false;
        html_text(b, key);
        HTML(b, ": ");
        value_text(b, v);
    }
}

/* A cell that links to this page filtered by name=value (type or org). */
static void filter_cell(struct buf *b, const char *name, const char *value)
{
    HTML(b, "<td>");
    if (value) {
        HTML(b, "<a href=\"/ledger?");
        html_url_arg(b, name);
        HTML(b, "=");
        html_url_arg(b, value);
        HTML(b, "\">");
        html_text(b, value);
        HTML(b, "</a>");
    }
    HTML(b, "</td>");
}

/* One table row for entry index of the tree of size (the proof link's size). */
static void entry_row(struct buf *b, uint64_t index, uint64_t size, const json_t *e,
                      const char *raw)
{
    HTML(b, "<tr id=\"entry-");
    html_uint(b, index);
    HTML(b, "\"><td>");
    html_uint(b, index);
    HTML(b, "</td>");
    if (!e) {
        /* Not a JSON object: never written by Kaifang, but show what is there. */
        HTML(b, "<td colspan=\"5\"><code>");
        html_text(b, raw);
        HTML(b, "</code></td>");
    } else {
        HTML(b, "<td>");
        html_text(b, ui_str(e, "time"));
        HTML(b, "</td>");
        filter_cell(b, "type", ui_str(e, "type"));
        HTML(b, "<td>");
        html_text(b, ui_str(e, "actor"));
        HTML(b, "</td>");
        filter_cell(b, "org", ui_str(e, "org"));
        HTML(b, "<td>");
        objects_cell(b, e);
        HTML(b, "</td>");
    }
    HTML(b, "<td><a href=\"/api/ledger/proof/inclusion?index=");
    html_uint(b, index);
    HTML(b, "&amp;size=");
    html_uint(b, size);
    HTML(b, "\">");
    TX(b, "inclusion proof");
    HTML(b, "</a></td></tr>\n");
}

/* The line-th line (0-based) of text, into out (size bytes, truncated). */
static void text_line(const char *text, unsigned line, char *out, size_t size)
{
    const char *p = text, *nl;

    while (line-- && (nl = strchr(p, '\n')))
        p = nl + 1;
    nl = strchr(p, '\n');
    xsnprintf(out, size, "%.*s", (int)(nl ? (size_t)(nl - p) : strlen(p)), p);
}

/* The checkpoint section. note: the signed note, NULL when the log has none yet. */
static int checkpoint_section(struct buf *out, const struct ledger_key *key, const char *note,
                              size_t len, uint64_t size, struct err *err)
{
    struct buf text = BUF_INIT;
    char origin[256], root[64];
    int ret = 0;

    HTML(out, "<h2>");
    TX(out, "Latest checkpoint");
    HTML(out, "</h2>\n");
    if (!note) {
        HTML(out, "<p>");
        TX(out, "The ledger has no checkpoint yet.");
        HTML(out, "</p>\n");
        goto key;
    }
    if (key) {
        /* Shown as verified only because it is: a page that displayed a checkpoint
         * the published key refuses would vouch for it. */
        ret = ledger_note_verify(ledger_key_vkey(key), note, len, &text, err);
        if (ret < 0) {
            err_clear(err);
            ret = err_set(err, ERR_INTERNAL, NULL,
                          "the latest checkpoint does not verify with the ledger's key");
            goto out;
        }
    } else {
        const char *sep = strstr(note, "\n\n");

        buf_add(&text, note, sep ? (size_t)(sep - note) + 1 : len);
    }
    text_line(text.buf, 0, origin, sizeof(origin));
    text_line(text.buf, 2, root, sizeof(root));
    HTML(out, "<dl class=\"checkpoint\">\n<dt>");
    TX(out, "Origin");
    HTML(out, "</dt><dd><code>");
    html_text(out, origin);
    HTML(out, "</code></dd>\n<dt>");
    TX(out, "Tree size");
    HTML(out, "</dt><dd id=\"tree-size\">");
    ui_count(out, size, "%n entry", "%n entries");
    HTML(out, "</dd>\n<dt>");
    TX(out, "Root hash");
    HTML(out, "</dt><dd><code id=\"root-hash\">");
    html_text(out, root);
    HTML(out, "</code></dd>\n</dl>\n<p>");
    if (key)
        TX(out, "The signed note (its signature verifies with the key below), as served at");
    else
        TX(out, "The signed note, as served at");
    HTML(out, " <a href=\"/ledger/checkpoint\">/ledger/checkpoint</a>:</p>\n"
              "<pre class=\"checkpoint\">");
    html_text(out, note);
    HTML(out, "</pre>\n");
key:
    HTML(out, "<h2>");
    TX(out, "Verifier key");
    HTML(out, "</h2>\n");
    if (key) {
        HTML(out, "<p><code id=\"vkey\">");
        html_text(out, ledger_key_vkey(key));
        HTML(out, "</code></p>\n<p>");
        TX(out, "Also at");
        HTML(out, " <a href=\"/api/ledger/key\">/api/ledger/key</a>. ");
        TX(out, "Checkpoints are signed notes (Ed25519); the log is served as tiles under "
                "/ledger/tile/, and its proofs are those of RFC 9162.");
        HTML(out, "</p>\n<p>");
        TX(out, "Specifications:");
        HTML(out, " <a href=\"https://c2sp.org/signed-note\">C2SP signed-note</a>, <a "
                  "href=\"https://c2sp.org/tlog-tiles\">C2SP tlog-tiles</a>, <a "
                  "href=\"https://www.rfc-editor.org/rfc/rfc9162\">RFC 9162</a>.</p>\n");
    } else {
        HTML(out, "<p>");
        TX(out, "This server does not publish the ledger's key.");
        HTML(out, "</p>\n");
    }
out:
    buf_release(&text);
    return ret;
}

static void filter_form(struct buf *out, const char *type, const char *org)
{
    HTML(out, "<form action=\"/ledger\" method=\"get\" class=\"ledger-filter\">\n"
              "<label for=\"ledger-type\">");
    TX(out, "Type");
    HTML(out, "</label>\n<input id=\"ledger-type\" name=\"type\" value=\"");
    html_attr(out, type);
    HTML(out, "\" placeholder=\"dataset_create\">\n<label for=\"ledger-org\">");
    TX(out, "Organization");
    HTML(out, "</label>\n<input id=\"ledger-org\" name=\"org\" value=\"");
    html_attr(out, org);
    HTML(out, "\">\n<button type=\"submit\">");
    TX(out, "Filter");
    HTML(out, "</button>\n</form>\n");
}

int ui_ledger(struct catalog *c, const struct ledger_key *key, const struct ui_ledger_query *q,
              struct buf *out, struct err *err)
{
    const char *type = nonempty(q->type), *org = nonempty(q->org);
    struct buf note = BUF_INIT;
    json_t *batch = NULL, *e = NULL, *v;
    uint64_t size = 0, before, hi, lo, oldest = 0, scanned = 0, shown = 0;
    bool have_note = true;
    size_t i;
    int ret;

    ret = ledger_checkpoint(c->store, &note, &size, err);
    if (ret == -ERR_NOT_FOUND) {
        err_clear(err);
        have_note = false;
        size = 0;
        ret = 0;
    }
    if (ret < 0)
        goto out;
    /* "before" is a number the page made or a person typed: anything but a decimal
     * index ≥ 1 is refused rather than silently shown as the newest page; an index past
     * the log's end shows the newest entries (all of them are before it). Empty is
     * absent, as the filters' empty fields are. */
    if (!nonempty(q->before)) {
        before = size;
    } else if (parse_u64(q->before, INT64_MAX, &before) || before == 0) {
        ret = err_set(err, ERR_BAD_REQUEST, "before",
                      "parameter \"before\" must be an entry index from 1 to %" PRIu64
                      " (a decimal number), not \"%.40s\"",
                      (uint64_t)INT64_MAX, q->before);
        goto out;
    } else if (before > size) {
        before = size;
    }

    ui_header(out, _("Public ledger"));
    HTML(out, "<h1>");
    TX(out, "Public ledger");
    HTML(out, "</h1>\n<p>");
    TX(out, "Every change to the catalog is recorded in an append-only Merkle tree log that "
            "anyone can verify: a change cannot be hidden or rewritten without the published "
            "checkpoints showing it.");
    HTML(out, "</p>\n");
    ret = checkpoint_section(out, key, have_note ? note.buf : NULL, note.len, size, err);
    if (ret < 0)
        goto out;

    HTML(out, "<h2>");
    TX(out, "Entries");
    HTML(out, "</h2>\n");
    filter_form(out, type, org);
    if (type || org) {
        HTML(out, "<p class=\"note\">");
        ui_count(out, UI_LEDGER_SCAN,
                 "Filters look at up to %n entry per page, newest first; follow “Older "
                 "entries” to search further back.",
                 "Filters look at up to %n entries per page, newest first; follow “Older "
                 "entries” to search further back.");
        HTML(out, "</p>\n");
    }
    HTML(out, "<table class=\"ledger\">\n<thead><tr><th>");
    TX(out, "Index");
    HTML(out, "</th><th>");
    TX(out, "Time");
    HTML(out, "</th><th>");
    TX(out, "Type");
    HTML(out, "</th><th>");
    TX(out, "Actor");
    HTML(out, "</th><th>");
    TX(out, "Organization");
    HTML(out, "</th><th>");
    TX(out, "Objects");
    HTML(out, "</th><th>");
    TX(out, "Proof");
    HTML(out, "</th></tr></thead>\n<tbody>\n");
    oldest = before;
    for (hi = before; hi > 0 && shown < UI_LEDGER_ROWS && scanned < UI_LEDGER_SCAN; hi = lo) {
        lo = hi > LEDGER_TILE_WIDTH ? hi - LEDGER_TILE_WIDTH : 0;
        json_decref(batch);
        batch = NULL;
        ret = ledger_entries(c->store, lo, hi, &batch, err);
        if (ret < 0)
            goto out;
        for (i = json_array_size(batch); i-- > 0;) {
            const char *raw;
            uint64_t index;

            if (shown >= UI_LEDGER_ROWS || scanned >= UI_LEDGER_SCAN)
                break;
            v = json_array_get(batch, i);
            index = (uint64_t)json_integer_value(json_object_get(v, "index"));
            raw = ui_str(v, "entry");
            oldest = index;
            scanned++;
            json_decref(e);
            e = raw ? json_loads(raw, 0, NULL) : NULL;
            if (e && !json_is_object(e)) {
                json_decref(e);
                e = NULL;
            }
            if ((type && !str_eq(ui_str(e, "type"), type)) ||
                (org && !str_eq(ui_str(e, "org"), org)))
                continue;
            entry_row(out, index, size, e, raw);
            shown++;
        }
    }
    HTML(out, "</tbody>\n</table>\n<p class=\"pager\">");
    if (!shown) {
        TX(out, "No entries here.");
        HTML(out, " ");
    }
    if (before < size) {
        HTML(out, "<a href=\"");
        page_href(out, 0, type, org);
        HTML(out, "\">");
        TX(out, "Newest entries");
        HTML(out, "</a> ");
    }
    if (scanned && oldest > 0) {
        HTML(out, "<a href=\"");
        page_href(out, oldest, type, org);
        HTML(out, "\" rel=\"next\">");
        TX(out, "Older entries →");
        HTML(out, "</a>");
    }
    HTML(out, "</p>\n");
    ui_footer(out);
out:
    json_decref(e);
    json_decref(batch);
    buf_release(&note);
    return ret;
}
