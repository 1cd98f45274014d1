/*
 * Fuzz harness for the HTTP header parsers that read client input: Range,
 * Accept-Encoding, If-None-Match, Content-Type, route paths and listen addresses.
 * The input is split at its first byte: the rest is the header text.
 *
 * Invariants: a satisfiable range lies inside the representation (first <= last <
 * size), and a range from 0 with a last-byte-pos of any length (even past 64 bits) is
 * satisfiable when the representation is not empty; an ETag always matches itself and
 * "*"; a route capture is a non-empty slice of the path without '/'; a parsed listen
 * port is within 0..65535; the UTF-8 check agrees with jansson's; a value trimmed of
 * optional white space is a slice of the input with none at either end.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <microhttpd.h>

#include "http/http-int.h"
#include "core/util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text, *range, media[128], host[256], etag[HTTP_ETAG_MAX];
    struct str t;
    json_t *js;
    size_t len;
    uint64_t first = 0, last = 0, rsize;
    struct str args[4];
    unsigned port = 0;
    int n;

    if (size < 1 || size > 8192)
        return 0;
    rsize = data[0] * 37u; /* representation sizes 0..9435, including 0 */
    text = xstrndup((const char *)data + 1, size - 1);
    len = strlen(text);

    if (http_range_parse(text, rsize, &first, &last) == HTTP_RANGE_OK)
        BUG_ON(rsize == 0 || first > last || last >= rsize);
    /* "bytes=0-<digits>" with the input's digits (all of them, however long). */
    if (len && strspn(text, "0123456789") == len) {
        range = xstrfmt("bytes=0-%s", text);
        if (rsize)
            BUG_ON(http_range_parse(range, rsize, &first, &last) != HTTP_RANGE_OK || first);
        free(range);
    }
    js = json_stringn(text, len);
    BUG_ON(http_utf8_valid(text, len) != (js != NULL));
    json_decref(js);
    t = http_trim_ows(text);
    BUG_ON(t.p < text || t.p + t.len > text + len);
    BUG_ON(t.len &&
           (t.p[0] == ' ' || t.p[0] == '\t' || t.p[t.len - 1] == ' ' || t.p[t.len - 1] == '\t'));
    (void)http_accepts_gzip(text);
    http_etag_of(text, strlen(text), data[0] & 1, etag);
    BUG_ON(!http_etag_match(etag, etag));
    BUG_ON(!http_etag_match("*", etag));
    (void)http_etag_match(text, etag);
    http_media_type(text, media, sizeof(media));
    BUG_ON(strlen(media) >= sizeof(media));
    n = http_path_match("/dataset/:id/resource/:rid/download/:name", text, args, ARRAY_SIZE(args));
    for (int i = 0; i < n && i < (int)ARRAY_SIZE(args); i++) {
        BUG_ON(!args[i].len);
        BUG_ON(memchr(args[i].p, '/', args[i].len) != NULL);
        BUG_ON(args[i].p < text || args[i].p + args[i].len > text + strlen(text));
    }
    if (!http_listen_parse(text, host, sizeof(host), &port))
        BUG_ON(port > 65535);
    free(text);
    return 0;
}
