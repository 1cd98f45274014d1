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

#include "api/api.h"
#include "dcat/dcat.h"
#include "http/http-int.h"
#include "core/util.h"

/* The longest dataset segment copied: a name (100) or id, plus an extension. */
#define SEGMENT_MAX 256

static long datajson_read(void *src, char *buf, size_t max)
{
    return dcat_stream_read(src, buf, max);
}

static void datajson_free(void *src)
{
    dcat_stream_free(src);
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
    resp = http_stream_response(r, s, datajson_read, datajson_free, gzip);
    if (!resp) {
        err_set(&err, ERR_INTERNAL, NULL, "cannot serve data.json");
        return http_reply_error(r, &err);
    }
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, ctype);
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
