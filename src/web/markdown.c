/*
 * markdown.c - the cmark wrapper (CommonMark 0.30, safe mode).
 */
#include <cmark.h>

#include "core/limits.h"
#include "web/html.h"
#include "web/markdown.h"
#include "core/util.h"

void markdown_html(const char *md, struct buf *out)
{
    size_t len;
    char *html;

    if (!md)
        return;
    len = strlen(md);
    if (len > LIMIT_TEXT_MAX) {
        HTML(out, "<pre>");
        html_text(out, md);
        HTML(out, "</pre>");
        return;
    }
    /* CMARK_OPT_SAFE is the default in cmark >= 0.29 and a no-op flag there; passing it
     * keeps older libraries safe too. Never CMARK_OPT_UNSAFE. */
    html = cmark_markdown_to_html(md, len, CMARK_OPT_SAFE | CMARK_OPT_VALIDATE_UTF8);
    if (html)
        buf_addstr(out, html);
    free(html);
}
