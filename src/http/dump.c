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
#include <zlib.h>

#include "datastore/datastore.h"
#include "http/http-int.h"
#include "web/html.h"
#include "core/log.h"
#include "core/util.h"

/* Bytes of dump read per deflate input. */
#define DUMP_GZIP_IN (64u * 1024)

struct dump_stream {
    struct datastore_dump *dump;
    struct request *r; /* valid while the body is being sent; not in dump_stream_free */
    bool gzip;
    bool z_open;
    bool z_eof; /* the dump has ended: deflate is finishing */
    z_stream z;
    char *in;
};

static void dump_stream_free(void *cls)
{
    struct dump_stream *st = cls;

    if (!st)
        return;
    if (st->z_open)
        deflateEnd(&st->z);
    free(st->in);
    datastore_dump_free(st->dump);
    free(st);
}

static ssize_t dump_stream_read(void *cls, uint64_t pos, char *buf, size_t max)
{
    struct dump_stream *st = cls;
    long n;
    int zr;

    (void)pos;
    if (!st->gzip) {
        n = datastore_dump_read(st->dump, buf, max);
        if (n < 0)
            return MHD_CONTENT_READER_END_WITH_ERROR;
        if (n == 0)
            return MHD_CONTENT_READER_END_OF_STREAM;
        st->r->bytes += (uint64_t)n;
        return (ssize_t)n;
    }
    for (;;) {
        if (!st->z.avail_in && !st->z_eof) {
            n = datastore_dump_read(st->dump, st->in, DUMP_GZIP_IN);
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

enum MHD_Result http_datastore_dump(struct request *r)
{
    struct datastore_dump *dump = NULL;
    struct dump_stream *st = NULL;
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
    st = xcalloc(1, sizeof(*st));
    st->dump = dump;
    st->r = r;
    /* XLSX is a ZIP already; text compresses five to ten times. */
    st->gzip = !strstr(ctype, "spreadsheetml") &&
               http_accepts_gzip(http_header(r, MHD_HTTP_HEADER_ACCEPT_ENCODING));
    if (st->gzip) {
        st->in = xmalloc(DUMP_GZIP_IN);
        /* Level 1 as http_gzip(); 15 + 16: a gzip wrapper (RFC 1952). */
        if (deflateInit2(&st->z, 1, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
            dump_stream_free(st);
            err_set(&err, ERR_INTERNAL, NULL, "cannot start compressing the dump");
            return http_reply_error(r, &err);
        }
        st->z_open = true;
    }
    resp = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 64 * 1024, dump_stream_read, st,
                                             dump_stream_free);
    if (!resp) {
        dump_stream_free(st);
        err_set(&err, ERR_INTERNAL, NULL, "cannot serve the dump of resource \"%s\"", rid);
        return http_reply_error(r, &err);
    }
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, ctype);
    if (st->gzip)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_ENCODING, "gzip");
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
