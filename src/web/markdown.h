/*
 * markdown.h - Markdown (CommonMark) to HTML through cmark, the only user of it, in
 * safe mode: raw HTML is replaced by a comment and links or images with javascript:,
 * vbscript:, file: or data: (other than images) URLs are emptied (cmark's
 * CMARK_OPT_SAFE, the default since cmark 0.29).
 */
#ifndef KAIFANG_WEB_MARKDOWN_H
#define KAIFANG_WEB_MARKDOWN_H

#include "core/buf.h"

/*
 * Renders md (NUL-terminated, NULL renders nothing) as HTML appended to out. Input
 * longer than LIMIT_TEXT_MAX bytes is rendered as escaped plain text instead (the
 * catalog refuses such notes; this keeps rendering time bounded whatever the caller).
 * Thread-safe.
 */
void markdown_html(const char *md, struct buf *out);

#endif
