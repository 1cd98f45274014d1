/*
 * dump.c - GET/HEAD /datastore/dump/<resource_id>: a datastore table as a download
 * (CKAN's /datastore/dump/<id>?format=csv|tsv|json|xlsx&bom=…, with datastore_search's
 * q, filters, fields, sort, limit and offset). The body is produced while it is sent
 * (MHD_create_response_from_callback, chunked), so memory does not grow with the table;
 * text formats are gzipped on the way for clients that accept it, as every other
 * response of 1 KiB or more is. Permissions as datastore_search: a resource the caller
 * may not read is 404. The dump itself is src/datastore/dump.c.
 */
#include <microhttpd.h>

#include "datastore/datastore.h"
#include "http/http-int.h"
#include "web/html.h"
#include "core/log.h"
#include "core/util.h"

static long dump_read(void *src, char *buf, size_t max)
{
    return datastore_dump_read(src, buf, max);
}

static void dump_free(void *src)
{
    datastore_dump_free(src);
}

enum MHD_Result http_datastore_dump(struct request *r)
{
    struct datastore_dump *dump = NULL;
    struct MHD_Response *resp;
    struct err err = ERR_INIT;
    struct buf cd = BUF_INIT;
    char rid[256];
    const char *ctype, *name;

    if (r->args[0].len >= sizeof(rid)) {
        err_set(&err, ERR_NOT_FOUND, NULL, "resource not found");
        return http_reply_error(r, &err);
    }
    xsnprintf(rid, sizeof(rid), "%.*s", (int)r->args[0].len, r->args[0].p);
    if (datastore_dump_open(r->srv->catalog, &r->actor, rid, r->params, &dump, &err) < 0)
        return http_reply_error(r, &err);
    ctype = datastore_dump_content_type(dump);
    /* XLSX is a ZIP already; text compresses five to ten times. */
    resp = http_stream_response(
            r, dump, dump_read, dump_free,
            !strstr(ctype, "spreadsheetml") &&
                    http_accepts_gzip(http_header(r, MHD_HTTP_HEADER_ACCEPT_ENCODING)));
    if (!resp) {
        err_set(&err, ERR_INTERNAL, NULL, "cannot serve the dump of resource \"%s\"", rid);
        return http_reply_error(r, &err);
    }
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, ctype);
    if (!strstr(ctype, "spreadsheetml"))
        MHD_add_response_header(resp, MHD_HTTP_HEADER_VARY, "Accept-Encoding");
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL,
                            r->actor.authenticated ? "private, no-cache" : "no-cache");
    /* RFC 6266: a plain file name (a resource id and an extension) and its RFC 8187
     * form. */
    name = datastore_dump_filename(dump);
    buf_addstr(&cd, "attachment");
    if (strspn(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-_") ==
        strlen(name))
        buf_addf(&cd, "; filename=\"%s\"", name);
    buf_addstr(&cd, "; filename*=UTF-8''");
    html_url_arg(&cd, name);
    MHD_add_response_header(resp, "Content-Disposition", cd.buf);
    buf_release(&cd);
    MHD_add_response_header(resp, "Content-Security-Policy", "default-src 'none'; sandbox");
    /* libmicrohttpd 0.9.75 ends the headers of a HEAD answer of unknown length with a
     * zero-size chunk ("0\r\n\r\n") that no body should follow: on a kept-alive
     * connection the client would read it as the next status line. Closing after HEAD
     * keeps the headers those of GET (chunked) without that. */
    if (r->method == HM_HEAD && !atomic_load_explicit(&r->srv->stopping, memory_order_relaxed))
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CONNECTION, "close");
    http_common_headers(r, resp, false);
    return http_queue(r, MHD_HTTP_OK, resp, 0);
}
