/*
 * ledger.c - the public ledger over HTTP.
 *
 * The tlog-tiles read API (c2sp.org/tlog-tiles v0.1.0, under the prefix /ledger):
 *   /ledger/checkpoint                       the signed note (C2SP tlog-checkpoint);
 *                                            mutable, so cached for seconds only
 *   /ledger/tile/<L>/<N>[.p/<W>]             Merkle tiles: 32-byte hashes
 *   /ledger/tile/entries/<N>[.p/<W>]         entry bundles (uint16-length-prefixed)
 * Full tiles never change and are cached for a year as immutable; a partial tile of a
 * given width never changes either, but the spec lets a log drop it once the full tile
 * exists, so it is cached briefly. Entry bundles are gzipped for clients that accept
 * it, as the spec recommends; hash tiles are random bytes and never are.
 *
 * The JSON API (/api/ledger/...) is built by api/api-ledger.c; this file only hands it
 * the parameters and sends what it returns.
 */
#include <jansson.h>
#include <microhttpd.h>

#include "api/api.h"
#include "http/http-int.h"
#include "ledger/ledger.h"
#include "core/util.h"

/* A checkpoint changes every LEDGER_BATCH_MS while writes arrive: a few seconds of
 * staleness is what the spec asks for ("cache for seconds only"). */
#define CC_CHECKPOINT   "public, max-age=5"
#define CC_TILE_FULL    "public, max-age=31536000, immutable"
#define CC_TILE_PARTIAL "public, max-age=60"
/* Not found and errors: a tile beyond the tree appears later; 404 is heuristically
 * cacheable (RFC 9110 §15.1), so say not to keep it. */
#define CC_ERROR "no-store"

/* The longest tile path after "tile/": "entries/" and N in groups of "x123/" for a
 * 64-bit index (7 groups), ".p/255": under 64 bytes. Anything longer is refused before
 * it is copied. */
#define TILE_PATH_MAX 96

#define TEXT_TYPE  "text/plain; charset=utf-8"
#define OCTET_TYPE "application/octet-stream"

static enum MHD_Result reply_text(struct request *r, unsigned status, const char *msg)
{
    char *s = xstrfmt("%s\n", msg);

    return http_reply_cc(r, status, TEXT_TYPE, s, strlen(s), 0, CC_ERROR);
}

enum MHD_Result http_ledger_checkpoint(struct request *r)
{
    struct buf note = BUF_INIT;
    struct err err = ERR_INIT;
    uint64_t size;
    size_t len;
    char *s;

    if (ledger_checkpoint(r->srv->catalog->store, &note, &size, &err) < 0) {
        buf_release(&note);
        if (err.kind == ERR_NOT_FOUND)
            return reply_text(r, 404, "the ledger has no checkpoint yet");
        return reply_text(r, err_kind_status(err.kind), err.msg);
    }
    s = buf_detach(&note, &len);
    return http_reply_cc(r, 200, TEXT_TYPE, s, len, REPLY_CACHEABLE | REPLY_NO_GZIP, CC_CHECKPOINT);
}

enum MHD_Result http_ledger_tile(struct request *r)
{
    struct buf out = BUF_INIT, canon = BUF_INIT;
    struct err err = ERR_INIT;
    char path[TILE_PATH_MAX];
    unsigned level = 0, w = 0;
    uint64_t n = 0;
    bool entries = false, full;
    enum MHD_Result ret;
    size_t len;
    char *s;

    if (r->args[0].len >= sizeof(path)) {
        ret = reply_text(r, 400, "bad tile path: too long");
        goto out;
    }
    xsnprintf(path, sizeof(path), "%.*s", (int)r->args[0].len, r->args[0].p);
    /* Only the canonical spelling of a tile is served (no "0005", no "x000/005"), so one
     * tile has one URL and one cache entry. */
    if (ledger_tile_path_parse(path, &level, &n, &w, &entries)) {
        ret = reply_text(r, 400,
                         "bad tile path: expected <L>/<N>[.p/<W>] or "
                         "entries/<N>[.p/<W>] (c2sp.org/tlog-tiles)");
        goto out;
    }
    ledger_tile_path(level, n, w, entries, &canon);
    if (!str_eq(canon.buf, path)) {
        ret = reply_text(r, 400, "bad tile path: not in canonical form (c2sp.org/tlog-tiles)");
        goto out;
    }
    full = w == LEDGER_TILE_WIDTH;
    if (ledger_tile(r->srv->catalog->store, level, n, w, entries, &out, &err) < 0) {
        if (err.kind == ERR_NOT_FOUND)
            ret = reply_text(r, 404, "no such tile: it is beyond the tree");
        else
            ret = reply_text(r, err_kind_status(err.kind), err.msg);
        goto out;
    }
    s = buf_detach(&out, &len);
    ret = http_reply_cc(r, 200, OCTET_TYPE, s, len,
                        REPLY_CACHEABLE | (entries ? REPLY_GZIP_ANY : REPLY_NO_GZIP),
                        full ? CC_TILE_FULL : CC_TILE_PARTIAL);
out:
    buf_release(&out);
    buf_release(&canon);
    return ret;
}

/* Sends a document of the JSON API: 200 with an ETag (every answer is a function of the
 * log, which only grows), errors uncached. */
static enum MHD_Result reply_doc(struct request *r, unsigned status, json_t *doc)
{
    char *s = json_dumps(doc, JSON_COMPACT);

    json_decref(doc);
    BUG_ON(!s);
    if (status == 200)
        return http_reply_cc(r, 200, HTTP_JSON_TYPE, s, strlen(s), REPLY_CACHEABLE, NULL);
    return http_reply_cc(r, status, HTTP_JSON_TYPE, s, strlen(s), 0, CC_ERROR);
}

enum MHD_Result http_ledger_entries(struct request *r)
{
    json_t *doc = NULL;
    unsigned status = 500;

    api_ledger_entries(r->srv->catalog->store, r->params, &doc, &status);
    return reply_doc(r, status, doc);
}

enum MHD_Result http_ledger_inclusion(struct request *r)
{
    json_t *doc = NULL;
    unsigned status = 500;

    api_ledger_inclusion(r->srv->catalog->store, r->params, &doc, &status);
    return reply_doc(r, status, doc);
}

enum MHD_Result http_ledger_consistency(struct request *r)
{
    json_t *doc = NULL;
    unsigned status = 500;

    api_ledger_consistency(r->srv->catalog->store, r->params, &doc, &status);
    return reply_doc(r, status, doc);
}

enum MHD_Result http_ledger_key(struct request *r)
{
    json_t *doc = NULL;
    unsigned status = 500;

    api_ledger_key(r->srv->ledger_key, &doc, &status);
    return reply_doc(r, status, doc);
}
