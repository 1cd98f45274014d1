/*
 * web-int.h - shared chrome of the HTML pages (ui-shared.c), for src/web/ only.
 */
#ifndef KAIFANG_WEB_WEB_INT_H
#define KAIFANG_WEB_WEB_INT_H

#include <jansson.h>

#include "core/buf.h"

/* Opens the document: doctype, <html lang="en">, head with charset, viewport and the
 * escaped title ("<title> · Kaifang"), then the site header with the search box. */
void ui_header(struct buf *b, const char *title);

/* Closes what ui_header() opened. */
void ui_footer(struct buf *b);

/* Appends an <a href> to url when it is an http(s) URL, else the URL as plain text
 * (a resource URL is input: javascript: and data: must never become links). label
 * NULL: the URL itself. */
void ui_link_external(struct buf *b, const char *url, const char *label);

/* Appends "<li><a href=/dataset/NAME>TITLE</a></li>" for a package dict. */
void ui_dataset_item(struct buf *b, const json_t *d);

/* A JSON string member of obj, or NULL when absent or not a string. */
const char *ui_str(const json_t *obj, const char *key);

#endif
