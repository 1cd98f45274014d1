/*
 * download.c - GET/HEAD /dataset/<id>/resource/<rid>/download[/<filename>]: uploaded
 * files served from their descriptor (sendfile where libmicrohttpd can), with ETag
 * (the file's SHA-256), Last-Modified, single byte ranges (RFC 9110 §14) and
 * conditional requests.
 *
 * Uploads are input from publishers: they are always served as attachments with a
 * sandboxing Content-Security-Policy, so an uploaded HTML or SVG file can never run
 * script on the portal's origin.
 */
#include <fcntl.h>
#include <microhttpd.h>
#include <sys/stat.h>

#include "core/timeutil.h"
#include "http/http-int.h"
#include "web/html.h"
#include "core/log.h"
#include "core/util.h"

static void download_headers(struct request *r, struct MHD_Response *resp,
                             const struct resource_file *f, const char *etag, time_t mtime)
{
    char date[TIME_ISO_MAX];
    struct buf cd = BUF_INIT;

    MHD_add_response_header(resp, MHD_HTTP_HEADER_ETAG, etag);
    MHD_add_response_header(resp, MHD_HTTP_HEADER_ACCEPT_RANGES, "bytes");
    if (mtime > 0) {
        time_http_date((int64_t)mtime, date);
        MHD_add_response_header(resp, MHD_HTTP_HEADER_LAST_MODIFIED, date);
    }
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL,
                            r->actor.authenticated ? "private, no-cache" : "no-cache");
    MHD_add_response_header(resp, "Content-Security-Policy", "default-src 'none'; sandbox");
    /* RFC 6266 §4.3: filename* with RFC 8187 encoding carries any name safely. */
    buf_addstr(&cd, "attachment; filename*=UTF-8''");
    html_url_arg(&cd, f->filename && f->filename[0] ? f->filename : "download");
    MHD_add_response_header(resp, "Content-Disposition", cd.buf);
    buf_release(&cd);
    http_common_headers(r, resp, false);
}

enum MHD_Result http_download(struct request *r)
{
    struct resource_file f = {0};
    struct err err = ERR_INIT;
    struct MHD_Response *resp = NULL;
    char dataset[512], rid[512], etag[HTTP_ETAG_MAX], range[96];
    struct stat st;
    uint64_t first = 0, last = 0;
    enum http_range_result rr;
    enum MHD_Result ret;
    int fd = -1;

    if (r->args[0].len >= sizeof(dataset) || r->args[1].len >= sizeof(rid)) {
        err_set(&err, ERR_NOT_FOUND, NULL, "resource not found");
        ret = http_reply_error(r, &err);
        goto out;
    }
    xsnprintf(dataset, sizeof(dataset), "%.*s", (int)r->args[0].len, r->args[0].p);
    xsnprintf(rid, sizeof(rid), "%.*s", (int)r->args[1].len, r->args[1].p);
    if (catalog_resource_file(r->srv->catalog, &r->actor, dataset, rid, &f, &err) < 0) {
        ret = http_reply_error(r, &err);
        goto out;
    }
    /* The raw file of a restricted resource is served to nobody: its rows leave the
     * portal only through datastore_search under a grant (docs/internals/access.md). */
    if (f.restricted) {
        err_set(&err, ERR_AUTH, NULL,
                "resource \"%s\" is restricted: its file is not served; a grantee reads its "
                "rows with datastore_search under its grant",
                rid);
        ret = http_reply_error(r, &err);
        goto out;
    }
    fd = open(f.path, O_RDONLY | O_CLOEXEC);
    if (fd < 0 || fstat(fd, &st)) {
        log_error("http: cannot open resource file \"%s\": %s", f.path, strerror(errno));
        err_set(&err, ERR_INTERNAL, NULL, "the file of resource \"%s\" is missing", rid);
        ret = http_reply_error(r, &err);
        goto out;
    }
    http_etag_from_hex(f.sha256_hex, false, etag);
    if (http_etag_match(http_header(r, MHD_HTTP_HEADER_IF_NONE_MATCH), etag)) {
        resp = MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
        download_headers(r, resp, &f, etag, st.st_mtime);
        ret = http_queue(r, MHD_HTTP_NOT_MODIFIED, resp, 0);
        goto out;
    }
    rr = http_range_parse(http_header(r, MHD_HTTP_HEADER_RANGE), (uint64_t)st.st_size, &first,
                          &last);
    /* If-Range (RFC 9110 §13.1.5): a range only applies to the representation named. */
    if (rr != HTTP_RANGE_NONE && http_header(r, MHD_HTTP_HEADER_IF_RANGE) &&
        strcmp(http_header(r, MHD_HTTP_HEADER_IF_RANGE), etag))
        rr = HTTP_RANGE_NONE;
    if (rr == HTTP_RANGE_UNSATISFIABLE) {
        resp = MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
        xsnprintf(range, sizeof(range), "bytes */%" PRIu64, (uint64_t)st.st_size);
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_RANGE, range);
        download_headers(r, resp, &f, etag, st.st_mtime);
        ret = http_queue(r, MHD_HTTP_RANGE_NOT_SATISFIABLE, resp, 0);
        goto out;
    }
    if (rr == HTTP_RANGE_NONE) {
        first = 0;
        last = st.st_size ? (uint64_t)st.st_size - 1 : 0;
    }
    if (st.st_size == 0)
        resp = MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
    else
        resp = MHD_create_response_from_fd_at_offset64(last - first + 1, fd, first);
    if (!resp) {
        err_set(&err, ERR_INTERNAL, NULL, "cannot serve resource \"%s\"", rid);
        ret = http_reply_error(r, &err);
        goto out;
    }
    if (st.st_size)
        fd = -1; /* the response owns it now */
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE,
                            f.mimetype && f.mimetype[0] ? f.mimetype : "application/octet-stream");
    if (rr == HTTP_RANGE_OK) {
        xsnprintf(range, sizeof(range), "bytes %" PRIu64 "-%" PRIu64 "/%" PRIu64, first, last,
                  (uint64_t)st.st_size);
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_RANGE, range);
    }
    download_headers(r, resp, &f, etag, st.st_mtime);
    ret = http_queue(r, rr == HTTP_RANGE_OK ? MHD_HTTP_PARTIAL_CONTENT : MHD_HTTP_OK, resp,
                     st.st_size ? last - first + 1 : 0);
out:
    if (fd >= 0)
        close(fd);
    resource_file_release(&f);
    return ret;
}
