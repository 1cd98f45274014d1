/*
 * fetch.h - HTTP GET for the command line's clients (`kaifang ledger verify URL`), the
 * only user of libcurl. One handle per struct fetch, so a run of requests to one server
 * reuses its connection (keep-alive) and gets gzip bodies decoded.
 */
#ifndef KAIFANG_CLI_FETCH_H
#define KAIFANG_CLI_FETCH_H

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

#endif
