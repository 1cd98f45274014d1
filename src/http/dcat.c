/*
 * dcat.c - the metadata exports over HTTP (api/api-dcat.c builds the documents):
 *   /data.json                          DCAT-US 1.1, streamed (chunked) as it is written,
 *                                       gzipped on the way for clients that accept it,
 *                                       with an entity tag from the store's version so
 *                                       that a harvester's conditional GET costs nothing
 *   /catalog.ttl|rdf|jsonld?page=N      DCAT-AP pages
 *   /dataset/<name>.ttl|rdf|jsonld      one dataset; also /dataset/<name> when Accept
 *                                       names an RDF type before text/html (routes.c)
 *   /dataset/<name>/datapackage.json    the Frictionless Data Package
 * All public, read as the anonymous actor whoever asks: the same bytes for everyone, so
 * they carry ETags and are gzipped like every other document (http_reply).
 */
#include <jansson.h>
#include <microhttpd.h>
#include <zlib.h>

#include "api/api.h"
#include "dcat/dcat.h"
#include "http/http-int.h"
#include "core/util.h"

/* Bytes of data.json read per deflate input. */
#define DATAJSON_GZIP_IN (64u * 1024)

/* The longest dataset segment copied: a name (100) or id, plus an extension. */
#define SEGMENT_MAX 256

struct datajson_stream {
    struct dcat_stream *s;
    struct request *r; /* valid while the body is being sent; not in datajson_free */
    bool gzip, z_open, z_eof;
    z_stream z;
    char *in;
};

static void datajson_free(void *cls)
{
    struct datajson_stream *st = cls;

    if (!st)
        return;
    if (st->z_open)
        deflateEnd(&st->z);
    free(st->in);
    dcat_stream_free(st->s);
    free(st);
}

static ssize_t datajson_read(void *cls, uint64_t pos, char *buf, size_t max)
{
    struct datajson_stream *st = cls;
    long n;
    int zr;

    (void)pos;
    if (!st->gzip) {
        n = dcat_stream_read(st->s, buf, max);
        if (n < 0)
            return MHD_CONTENT_READER_END_WITH_ERROR;
        if (n == 0)
            return MHD_CONTENT_READER_END_OF_STREAM;
        st->r->bytes += (uint64_t)n;
        return (ssize_t)n;
    }
    for (;;) {
        if (!st->z.avail_in && !st->z_eof) {
            n = dcat_stream_read(st->s, st->in, DATAJSON_GZIP_IN);
            if (n < 0)
                return MHD_CONTENT_READER_END_WITH_ERROR;
            st->z_eof = n == 0;
            st->z.next_in = (Bytef *)st->in;
            st->z.avail_in = (uInt)n;
        }
        st->z.next_out = (Bytef *)buf;
        st->z.avail_out = (uInt)(max > UINT32_MAX ? UINT32_MAX : max);
        zr = deflate(&st->z, st->z_eof ? Z_FINISH : Z_NO_FLUSH);
        if (zr == Z_STREAM_ERROR)
            return MHD_CONTENT_READER_END_WITH_ERROR;
        n = (long)(max - st->z.avail_out);
        if (n > 0) {
            st->r->bytes += (uint64_t)n;
            return (ssize_t)n;
        }
        if (zr == Z_STREAM_END)
            return MHD_CONTENT_READER_END_OF_STREAM;
    }
}

static void public_headers(struct MHD_Response *resp, const char *etag)
{
    MHD_add_response_header(resp, MHD_HTTP_HEADER_VARY, "Accept-Encoding");
    MHD_add_response_header(resp, MHD_HTTP_HEADER_ETAG, etag);
    /* The same for everyone (the public's view): shared caches may keep it, and
     * revalidate, which the entity tag makes cheap. */
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-cache");
}

enum MHD_Result http_dcat_data_json(struct request *r)
{
    struct datajson_stream *st = NULL;
    struct dcat_stream *s = NULL;
    struct MHD_Response *resp;
    struct err err = ERR_INIT;
    char hex[SHA256_HEX_LEN], etag[HTTP_ETAG_MAX];
    const char *ctype;
    bool gzip = http_accepts_gzip(http_header(r, MHD_HTTP_HEADER_ACCEPT_ENCODING));

    api_dcat_datajson_digest(r->srv->catalog, r->srv->cfg, hex);
    http_etag_from_hex(hex, gzip, etag);
    if (http_etag_match(http_header(r, MHD_HTTP_HEADER_IF_NONE_MATCH), etag)) {
        resp = MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
        public_headers(resp, etag);
        http_common_headers(r, resp, false);
        return http_queue(r, MHD_HTTP_NOT_MODIFIED, resp, 0);
    }
    if (api_dcat_datajson_open(r->srv->catalog, r->srv->cfg, &s, &ctype, &err) < 0)
        return http_reply_error(r, &err);
    if (r->method == HM_HEAD) {
        /* libmicrohttpd 0.9.75 ends the headers of a chunked answer to HEAD with a last
         * chunk, which the client reads as the start of the next answer: the headers
         * alone then. NEEDSWORK: their Content-Length is 0, not the document's. */
        dcat_stream_free(s);
        resp = MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, ctype);
        if (gzip)
            MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_ENCODING, "gzip");
        public_headers(resp, etag);
        http_common_headers(r, resp, false);
        return http_queue(r, MHD_HTTP_OK, resp, 0);
    }
    st = xcalloc(1, sizeof(*st));
    st->s = s;
    st->r = r;
    st->gzip = gzip;
    if (gzip) {
        st->in = xmalloc(DATAJSON_GZIP_IN);
        /* Level 1 as http_gzip(); 15 + 16: a gzip wrapper (RFC 1952). */
        if (deflateInit2(&st->z, 1, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
            datajson_free(st);
            err_set(&err, ERR_INTERNAL, NULL, "cannot start compressing data.json");
            return http_reply_error(r, &err);
        }
        st->z_open = true;
    }
    resp = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 64 * 1024, datajson_read, st,
                                             datajson_free);
    if (!resp) {
        datajson_free(st);
        err_set(&err, ERR_INTERNAL, NULL, "cannot serve data.json");
        return http_reply_error(r, &err);
    }
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, ctype);
    if (gzip)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_ENCODING, "gzip");
    public_headers(resp, etag);
    http_common_headers(r, resp, false);
    return http_queue(r, MHD_HTTP_OK, resp, 0);
}

enum MHD_Result http_dcat_catalog(struct request *r)
{
    const char *ext = strrchr(r->route->pattern, '.'), *ctype = NULL;
    struct err err = ERR_INIT;
    char *body;
    size_t len;

    if (api_dcat_catalog(r->srv->catalog, r->srv->cfg, ext ? ext + 1 : "", r->params, &body, &len,
                         &ctype, &err) < 0)
        return http_reply_error(r, &err);
    return http_reply(r, 200, ctype, body, len, REPLY_CACHEABLE);
}

bool http_dcat_dataset_wanted(struct request *r)
{
    char segment[SEGMENT_MAX];
    size_t name_len;
    int format;

    if (!r->args[0].len || r->args[0].len >= sizeof(segment))
        return false;
    xsnprintf(segment, sizeof(segment), "%.*s", (int)r->args[0].len, r->args[0].p);
    return api_dcat_dataset_wanted(segment, http_header(r, MHD_HTTP_HEADER_ACCEPT), &name_len,
                                   &format);
}

enum MHD_Result http_dcat_dataset(struct request *r)
{
    char segment[SEGMENT_MAX];
    bool negotiated;
    struct err err = ERR_INIT;
    const char *ctype = NULL;
    size_t name_len, len;
    int format;
    char *body;

    if (!r->args[0].len || r->args[0].len >= sizeof(segment))
        goto not_found;
    xsnprintf(segment, sizeof(segment), "%.*s", (int)r->args[0].len, r->args[0].p);
    if (!api_dcat_dataset_wanted(segment, http_header(r, MHD_HTTP_HEADER_ACCEPT), &name_len,
                                 &format))
        goto not_found;
    /* Without an extension the format came from Accept: the page's URL, negotiated. */
    negotiated = segment[name_len] == '\0';
    segment[name_len] = '\0';
    if (api_dcat_dataset(r->srv->catalog, r->srv->cfg, segment, format, &body, &len, &ctype, &err) <
        0)
        return http_reply_error(r, &err);
    return http_reply(r, 200, ctype, body, len,
                      REPLY_CACHEABLE | (negotiated ? REPLY_VARY_ACCEPT : 0));
not_found:
    err_set(&err, ERR_NOT_FOUND, NULL, "dataset not found");
    return http_reply_error(r, &err);
}

enum MHD_Result http_dcat_datapackage(struct request *r)
{
    char segment[SEGMENT_MAX];
    struct err err = ERR_INIT;
    const char *ctype = NULL;
    size_t len;
    char *body;

    if (r->args[0].len >= sizeof(segment)) {
        err_set(&err, ERR_NOT_FOUND, NULL, "dataset not found");
        return http_reply_error(r, &err);
    }
    xsnprintf(segment, sizeof(segment), "%.*s", (int)r->args[0].len, r->args[0].p);
    if (api_dcat_datapackage(r->srv->catalog, r->srv->cfg, segment, &body, &len, &ctype, &err) < 0)
        return http_reply_error(r, &err);
    return http_reply(r, 200, ctype, body, len, REPLY_CACHEABLE);
}
