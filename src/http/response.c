/*
 * response.c - queueing responses: security headers, content negotiation (gzip),
 * ETags and conditional GET (RFC 9110 §8.8.3, §13.1.2), CKAN-shaped errors.
 */
#include <jansson.h>
#include <microhttpd.h>

#include "api/api.h"
#include "http/http-int.h"
#include "web/ui.h"
#include "core/util.h"

const char *http_header(struct request *r, const char *name)
{
    return MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, name);
}

void http_common_headers(struct request *r, struct MHD_Response *resp, bool html)
{
    MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
    MHD_add_response_header(resp, "Referrer-Policy", "strict-origin-when-cross-origin");
    /* Pages load only this site's stylesheet and scripts (no inline script or style,
     * no eval: the charts use Vega's interpreter), post forms only here and may not be
     * framed. */
    if (html)
        MHD_add_response_header(resp, "Content-Security-Policy",
                                "default-src 'none'; script-src 'self'; style-src 'self'; "
                                "img-src 'self' data:; connect-src 'self'; form-action 'self'; "
                                "base-uri 'none'; frame-ancestors 'none'");
    /* While stopping, finish this request and let the client reconnect elsewhere. */
    if (atomic_load_explicit(&r->srv->stopping, memory_order_relaxed))
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CONNECTION, "close");
}

enum MHD_Result http_queue(struct request *r, unsigned status, struct MHD_Response *resp,
                           uint64_t bytes)
{
    enum MHD_Result ret;

    http_upload_discard(r);
    r->status = status;
    r->bytes = r->method == HM_HEAD ? 0 : bytes;
    ret = MHD_queue_response(r->conn, status, resp);
    MHD_destroy_response(resp);
    return ret;
}

enum MHD_Result http_reply(struct request *r, unsigned status, const char *ctype, char *body,
                           size_t len, unsigned flags)
{
    return http_reply_cc(r, status, ctype, body, len, flags, NULL);
}

enum MHD_Result http_reply_cc(struct request *r, unsigned status, const char *ctype, char *body,
                              size_t len, unsigned flags, const char *cache_control)
{
    struct MHD_Response *resp;
    char etag[HTTP_ETAG_MAX] = "";
    bool gzip = false;
    bool negotiated = !(flags & REPLY_NO_GZIP) &&
                      (len >= HTTP_GZIP_MIN || ((flags & REPLY_GZIP_ANY) && len > 0));
    char vary_buf[96] = "";
    const char *vary = NULL;

    /* Pages come in the language of the cookie or of Accept-Language (web/i18n.h). */
    xsnprintf(vary_buf, sizeof(vary_buf), "%s%s%s", flags & REPLY_VARY_ACCEPT ? ", Accept" : "",
              negotiated ? ", Accept-Encoding" : "",
              flags & REPLY_HTML ? ", Accept-Language, Cookie" : "");
    if (vary_buf[0])
        vary = vary_buf + 2;
    if (negotiated)
        gzip = http_accepts_gzip(http_header(r, MHD_HTTP_HEADER_ACCEPT_ENCODING));
    if ((flags & REPLY_CACHEABLE) && status == 200 && (r->method & (HM_GET | HM_HEAD))) {
        /* One SHA-256 over the identity body: with the CPU's SHA extensions about
         * 2 GB/s, so a few microseconds for a large package_show. */
        http_etag_of(body, len, gzip, etag);
        if (http_etag_match(http_header(r, MHD_HTTP_HEADER_IF_NONE_MATCH), etag)) {
            free(body);
            resp = MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
            MHD_add_response_header(resp, MHD_HTTP_HEADER_ETAG, etag);
            if (vary)
                MHD_add_response_header(resp, MHD_HTTP_HEADER_VARY, vary);
            /* RFC 9111 §4.3.4: a 304 carries the Cache-Control a 200 would have. */
            if (cache_control)
                MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, cache_control);
            http_common_headers(r, resp, flags & REPLY_HTML);
            return http_queue(r, MHD_HTTP_NOT_MODIFIED, resp, 0);
        }
    }
    if (gzip) {
        struct buf z;

        buf_init(&z, len + 1024);
        if (!http_gzip(body, len, &z)) {
            free(body);
            body = buf_detach(&z, &len);
        } else {
            buf_release(&z);
            gzip = false;
            if (etag[0])
                http_etag_of(body, len, false, etag);
        }
    }
    resp = MHD_create_response_from_buffer(len, body, MHD_RESPMEM_MUST_FREE);
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, ctype);
    if (gzip)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_ENCODING, "gzip");
    if (vary)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_VARY, vary);
    if (etag[0])
        MHD_add_response_header(resp, MHD_HTTP_HEADER_ETAG, etag);
    if (cache_control)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, cache_control);
    else if (etag[0])
        /* Shared caches may keep public answers; with a token the answer is the
         * caller's own. Either way revalidate, which the ETag makes cheap. */
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL,
                                r->actor.authenticated ? "private, no-cache" : "no-cache");
    /* Every 503 is a busy or not-yet-ready moment (an expensive request's slot, a table
     * being written, a full-text index being built, a server stopping): say when to come
     * back, as nginx's limit_conn does with its 503. */
    if (status == MHD_HTTP_SERVICE_UNAVAILABLE) {
        char after[16];

        xsnprintf(after, sizeof(after), "%u", HTTP_RETRY_AFTER_SECONDS);
        MHD_add_response_header(resp, MHD_HTTP_HEADER_RETRY_AFTER, after);
    }
    http_common_headers(r, resp, flags & REPLY_HTML);
    return http_queue(r, status, resp, len);
}

enum MHD_Result http_reply_json(struct request *r, unsigned status, json_t *doc, unsigned flags)
{
    char *s = json_dumps(doc, JSON_COMPACT);
    enum MHD_Result ret;

    json_decref(doc);
    BUG_ON(!s);
    ret = http_reply(r, status, HTTP_JSON_TYPE, s, strlen(s), flags);
    return ret;
}

enum MHD_Result http_reply_api_error(struct request *r, const char *action, const struct err *err)
{
    json_t *doc = api_ckan_error(r->srv->catalog->site_url, action, err);

    return http_reply_json(r, err_kind_status(err->kind), doc, 0);
}

enum MHD_Result http_reply_html_error(struct request *r, unsigned status, const char *message)
{
    struct buf b = BUF_INIT;
    size_t len;
    char *s;

    ui_error_page(status, message, &b);
    s = buf_detach(&b, &len);
    return http_reply(r, status, HTTP_HTML_TYPE, s, len, REPLY_HTML);
}

enum MHD_Result http_reply_error(struct request *r, const struct err *err)
{
    char action[128];

    if (!r->route || (r->route->flags & ROUTE_API)) {
        /* On action routes the first capture is the action name: help names it. */
        if (r->route && (r->route->flags & ROUTE_WRITES) && r->args[0].len < sizeof(action)) {
            xsnprintf(action, sizeof(action), "%.*s", (int)r->args[0].len, r->args[0].p);
            return http_reply_api_error(r, action, err);
        }
        return http_reply_api_error(r, NULL, err);
    }
    return http_reply_html_error(r, err_kind_status(err->kind), err->msg);
}
