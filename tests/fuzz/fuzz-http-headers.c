/*
 * Fuzz harness for the HTTP header parsers that read client input: Range,
 * Accept-Encoding, If-None-Match, Content-Type, route paths and listen addresses.
 * The input is split at its first byte: the rest is the header text.
 *
 * Invariants: a satisfiable range lies inside the representation (first <= last <
 * size); an ETag always matches itself and "*"; a route capture is a non-empty slice of
 * the path without '/'; a parsed listen port is within 0..65535.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <microhttpd.h>

#include "http/http-int.h"
#include "core/util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text, media[128], host[256], etag[HTTP_ETAG_MAX];
    uint64_t first = 0, last = 0, rsize;
    struct str args[4];
    unsigned port = 0;
    int n;

    if (size < 1 || size > 8192)
        return 0;
    rsize = data[0] * 37u; /* representation sizes 0..9435, including 0 */
    text = xstrndup((const char *)data + 1, size - 1);

    if (http_range_parse(text, rsize, &first, &last) == HTTP_RANGE_OK)
        BUG_ON(rsize == 0 || first > last || last >= rsize);
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
