/*
 * stream.c - response bodies produced while they are sent (chunked), gzipped on the way
 * for clients that accept it: data.json (dcat.c) and datastore dumps (dump.c).
 */
#include <microhttpd.h>
#include <zlib.h>

#include "http/http-int.h"
#include "core/util.h"

/* Bytes of the source read per deflate input. */
#define STREAM_GZIP_IN (64u * 1024)

struct http_stream {
    void *src;
    http_source_read_fn read;
    http_source_free_fn free_src;
    struct request *r; /* valid while the body is being sent; not in stream_free */
    bool gzip, z_open, z_eof;
    z_stream z;
    char *in;
};

static void stream_free(void *cls)
{
    struct http_stream *st = cls;

    if (!st)
        return;
    if (st->z_open)
        deflateEnd(&st->z);
    free(st->in);
    st->free_src(st->src);
    free(st);
}

static ssize_t stream_read(void *cls, uint64_t pos, char *buf, size_t max)
{
    struct http_stream *st = cls;
    long n;
    int zr;

    (void)pos;
    if (!st->gzip) {
        n = st->read(st->src, buf, max);
        if (n < 0)
            return MHD_CONTENT_READER_END_WITH_ERROR;
        if (n == 0)
            return MHD_CONTENT_READER_END_OF_STREAM;
        st->r->bytes += (uint64_t)n;
        return (ssize_t)n;
    }
    for (;;) {
        if (!st->z.avail_in && !st->z_eof) {
            n = st->read(st->src, st->in, STREAM_GZIP_IN);
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

struct MHD_Response *http_stream_response(struct request *r, void *src, http_source_read_fn read,
                                          http_source_free_fn free_src, bool gzip)
{
    struct http_stream *st = xcalloc(1, sizeof(*st));
    struct MHD_Response *resp;

    st->src = src;
    st->read = read;
    st->free_src = free_src;
    st->r = r;
    st->gzip = gzip;
    if (gzip) {
        st->in = xmalloc(STREAM_GZIP_IN);
        /* Level 1 as http_gzip(); 15 + 16: a gzip wrapper (RFC 1952). */
        if (deflateInit2(&st->z, 1, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
            stream_free(st);
            return NULL;
        }
        st->z_open = true;
    }
    resp = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 64 * 1024, stream_read, st,
                                             stream_free);
    if (!resp) {
        stream_free(st);
        return NULL;
    }
    if (gzip)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_ENCODING, "gzip");
    return resp;
}
