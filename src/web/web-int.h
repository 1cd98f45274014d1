/*
 * web-int.h - shared chrome and helpers of the HTML pages (ui-shared.c), for src/web/ only.
 */
#ifndef KAIFANG_WEB_WEB_INT_H
#define KAIFANG_WEB_WEB_INT_H

#include <jansson.h>

#include "web/i18n.h"
#include "core/buf.h"

struct catalog;
struct actor;

/* Appends the translation of a literal, escaped as text (out must be in scope). */
#define TX(b, s) html_text((b), _(s))

/* Opens the document: doctype, <html lang> of the page's language, head with charset,
 * viewport, the escaped title ("<title> · Kaifang") and the stylesheet, then the site
 * header: skip link, home link, navigation, the search box and the language switch
 * (a link to the same address in the other language). Opens <main id="main">. */
void ui_header(struct buf *b, const char *title);

/* As ui_header(), with extra markup for <head> from a literal of the caller (scripts
 * the page needs, always with defer or type=module: never render-blocking). */
#define ui_header_head(b, title, lit) ui_header_head_((b), (title), "" lit "")
void ui_header_head_(struct buf *b, const char *title, const char *head_literal);

/* Appends the hidden csrf_token field of the request's session (ui_request.csrf; empty
 * outside a session). Every form that POSTs carries it (docs/internals/web.md). */
void ui_csrf_field(struct buf *b);

/* The ingest section of a resource (xloader_status: status, time, rows read, format
 * and encoding, or the error with its line and column); nothing when the resource was
 * never ingested or a may not see its status (ui-resource.c). */
void ui_ingest_status(struct buf *out, struct catalog *c, const struct actor *a, const char *rid);

/* Closes what ui_header() opened. */
void ui_footer(struct buf *b);

/* Appends an <a href> to url when it is an http(s) URL, else the URL as plain text
 * (a resource URL is input: javascript: and data: must never become links). label
 * NULL: the URL itself. */
void ui_link_external(struct buf *b, const char *url, const char *label);

/* Appends "<li><a href=/dataset/NAME>TITLE</a> …</li>" for a package dict: the title
 * in the page's language, the organization and formats. */
void ui_dataset_item(struct buf *b, const json_t *d);

/* As ui_dataset_item(), followed by "N views" when views ≥ 0 (the home page's
 * most-viewed datasets). */
void ui_dataset_item_views(struct buf *b, const json_t *d, long long views);

/* A JSON string member of obj, or NULL when absent or not a string. */
const char *ui_str(const json_t *obj, const char *key);

/* The dataset's title (or notes, key "notes") in the page's language: the zh_CN member of
 * title_translated / notes_translated on a Chinese page when it is non-empty, else the
 * field itself; the title falls back to the name. */
const char *ui_dataset_title(const json_t *d);
const char *ui_dataset_notes(const json_t *d);

/* Whether the dataset's access_level restricts its data ("restricted public",
 * "non-public"): its tables are read only under a grant, its files not downloaded. */
bool ui_dataset_restricted(const json_t *d);

/* For a caller who may edit dataset d (a sysadmin, or an editor or admin of its
 * organization), the publisher's links: edit the dataset, add a resource, and with rid
 * (may be NULL) the column types of that resource's table when it has one
 * (datastore_active). Nothing for anyone else. */
void ui_publisher_actions(struct buf *b, const struct actor *a, const json_t *d, const json_t *r);

/* Appends a byte count as "512 B", "1.5 KB", "7.0 MB". */
void ui_size(struct buf *b, unsigned long long bytes);

/* Appends a count with its noun: ui_ngettext(singular, plural, n) with "%n" replaced by
 * the number, escaped as text. */
void ui_count(struct buf *b, unsigned long long n, const char *singular, const char *plural);

/* Appends form (a translated string, from _()) with {1}, {2} and {3} replaced by a1, a2
 * and a3 (NULL: nothing), all of it escaped as text: for sentences whose word order
 * differs between languages ("{1} yuan under {2}" / "按 {2} 收取 {1} 元"). */
void ui_fill(struct buf *b, const char *form, const char *a1, const char *a2, const char *a3);

#endif
