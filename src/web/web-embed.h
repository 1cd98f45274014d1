/*
 * web-embed.h - files linked into the binary (cmake/embed.cmake writes their arrays at
 * build time): the Chinese catalog compiled from po/zh_CN.po, and the portal's own
 * stylesheet and script (src/web/static/). Each array is followed by a NUL byte that
 * its _len does not count.
 */
#ifndef KAIFANG_WEB_WEB_EMBED_H
#define KAIFANG_WEB_WEB_EMBED_H

#include <stddef.h>

extern const unsigned char web_embed_mo_zh_CN[];
extern const size_t web_embed_mo_zh_CN_len;
extern const unsigned char web_embed_css[];
extern const size_t web_embed_css_len;
extern const unsigned char web_embed_chart_js[];
extern const size_t web_embed_chart_js_len;
extern const unsigned char web_embed_publish_js[];
extern const size_t web_embed_publish_js_len;

#endif
