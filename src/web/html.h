/*
 * html.h - HTML output with escaping at the sink.
 *
 * Every string that did not come from a literal in our source goes through one of the
 * escapers, chosen by context (OWASP XSS prevention rules 1, 2 and 5):
 *   html_text()    element content
 *   html_attr()    a double-quoted attribute value
 *   html_url_arg() one path segment or query argument inside a URL (percent-encoded;
 *                  the result is also safe inside a quoted attribute)
 * Markup itself only enters through HTML(), which accepts string literals and nothing
 * else: HTML(b, "<p>") compiles, HTML(b, title) does not. That makes "forgot to
 * escape" a compile error instead of an XSS.
 *
 * All functions append to a struct buf and share its sticky failure flag.
 */
#ifndef KAIFANG_WEB_HTML_H
#define KAIFANG_WEB_HTML_H

#include <stddef.h>

#include "core/buf.h"

/* Appends markup from a string literal. The "" lit "" concatenation refuses anything
 * that is not a literal at compile time. */
#define HTML(b, lit) html_literal_((b), "" lit "", sizeof("" lit "") - 1)
void html_literal_(struct buf *b, const char *lit, size_t len);

/* Appends s (NULL: nothing) as element text: & < > " ' become entities. Bytes that are
 * not valid UTF-8 are replaced by U+FFFD. */
void html_text(struct buf *b, const char *s);

/* Appends s (NULL: nothing) escaped for a double-quoted attribute value. */
void html_attr(struct buf *b, const char *s);

/* Appends s (NULL: nothing) percent-encoded (RFC 3986 unreserved characters kept), for
 * a URL path segment or query value. */
void html_url_arg(struct buf *b, const char *s);

/* Appends an unsigned number (counts, sizes). */
void html_uint(struct buf *b, unsigned long long v);

#endif
