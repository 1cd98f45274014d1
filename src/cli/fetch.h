/*
 * fetch.h - HTTP GET for the command line's clients (`kaifang ledger verify URL`), the
 * only user of libcurl. One handle per struct fetch, so a run of requests to one server
 * reuses its connection (keep-alive) and gets gzip bodies decoded. struct fetch_multi
 * runs many GETs to one server at once (libcurl's multi interface) over a few
 * keep-alive connections, for the monitor's stream of tiles and entry bundles.
 */
#ifndef KAIFANG_CLI_FETCH_H
#define KAIFANG_CLI_FETCH_H

#include <stdbool.h>
#include <stddef.h>

#include "core/buf.h"
#include "core/err.h"

/* The largest body fetch_get() accepts: a full tile is 8 KiB, a bundle of 256
 * entries at most 256 * 65537 bytes. */
#define FETCH_BODY_MAX ((size_t)32 << 20)

struct fetch {
    void *curl; /* CURL * */
    char *base; /* "http://host:port", no trailing '/' */
    char errbuf[256];
};

/* Prepares requests to base (http:// or https:// URL; a trailing '/' is dropped).
 * -ERR_VALIDATION for another scheme. Release with fetch_release() (also on failure). */
int fetch_init(struct fetch *f, const char *base, struct err *err);
void fetch_release(struct fetch *f);

/*
 * GETs base + path (path starts with '/') into out (emptied first). Returns 0 on a 200
 * response; -ERR_NOT_FOUND on 404 and -ERR_INTERNAL on any other status or transport
 * failure, with a message naming the path and the status or curl's error. Not
 * thread-safe for one f.
 */
int fetch_get(struct fetch *f, const char *path, struct buf *out, struct err *err);

/*
 * Concurrent GETs to one server: requests are started in any number (the caller bounds
 * how many it keeps, and so the memory: each holds its whole body) and run over at most
 * conns keep-alive connections (HTTP/1.1, one request at a time per connection; the
 * rest wait inside libcurl for a free connection, in the order started). Finishing one
 * request drives all the others. Not thread-safe for one fm.
 */
struct fetch_multi {
    void *multi;            /* CURLM * */
    char *base;             /* as struct fetch's */
    struct fetch_req *reqs; /* every request started and not yet finished or cancelled */
};

struct fetch_req;

/* Prepares concurrent requests to base (http:// or https://; -ERR_VALIDATION for
 * another scheme) over at most conns (1..64) connections. Release with
 * fetch_multi_release() (also on failure), which cancels unfinished requests. */
int fetch_multi_init(struct fetch_multi *fm, const char *base, unsigned conns, struct err *err);
void fetch_multi_release(struct fetch_multi *fm);

/* Starts GET base + path (path starts with '/'). gzip: ask for a gzip body (decoded
 * on arrival; worth it for entry bundles, not for hash tiles, which are random bytes).
 * The request belongs to fm until fetch_multi_finish() or fetch_multi_cancel(). */
struct fetch_req *fetch_multi_start(struct fetch_multi *fm, const char *path, bool gzip);

/* Waits for req (driving every transfer of fm meanwhile), copies its body into out
 * (emptied first) and frees req. Returns as fetch_get(). */
int fetch_multi_finish(struct fetch_multi *fm, struct fetch_req *req, struct buf *out,
                       struct err *err);

/* Abandons req (NULL: nothing) and frees it. */
void fetch_multi_cancel(struct fetch_multi *fm, struct fetch_req *req);

#endif
