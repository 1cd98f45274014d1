/*
 * request.c - request parameters and bodies: the query string, JSON bodies,
 * application/x-www-form-urlencoded bodies and multipart/form-data uploads streamed to
 * a temporary file with their SHA-256 computed on the way.
 *
 * Limits: a Content-Length above the limit is refused with 413: at once when the body is
 * larger than DISCARD_MAX or the client sent "Expect: 100-continue", else after reading
 * and dropping it, so that the client, which
 * is still sending, gets to read the answer instead of a reset connection; a body without
 * Content-Length (chunked) that grows past it is refused with 413 once it ends. JSON and form
 * bodies are held to max_body. In a multipart body the file part ("upload") is held to max_upload
 * and the other fields together to max_body; the whole body (boundaries and part headers included)
 * to their sum. What arrives after the refusal is dropped unread, up to DISCARD_MAX bytes; past
 * that the connection is closed (an endless chunked body must not keep a worker busy).
 * libmicrohttpd 0.9.75 cannot queue a response while a body is arriving, hence the draining.
 */
#include <fcntl.h>
#include <jansson.h>
#include <microhttpd.h>
#include <sys/file.h>
#include <sys/stat.h>

#include "core/limits.h"
#include "core/parse.h"
#include "http/http-int.h"
#include "core/log.h"
#include "core/util.h"

#define DISCARD_MAX (16u << 20)
#define POST_BUFFER (64u * 1024)

static uint64_t body_limit(const struct request *r)
{
    const struct config *cfg = r->srv->cfg;

    if (r->body_kind != BODY_MULTIPART)
        return cfg->max_body;
    return cfg->max_upload > UINT64_MAX - cfg->max_body ? UINT64_MAX
                                                        : cfg->max_upload + cfg->max_body;
}

static void refuse(struct request *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void refuse(struct request *r, const char *fmt, ...)
{
    va_list ap;
    struct buf b = BUF_INIT;

    if (r->bad_request)
        return;
    va_start(ap, fmt);
    buf_vaddf(&b, fmt, ap);
    va_end(ap);
    r->bad_request = buf_detach(&b, NULL);
}

static enum MHD_Result too_large(struct request *r)
{
    struct err err = ERR_INIT;

    if (r->up_too_large)
        err_set(&err, ERR_TOO_LARGE, "upload",
                "file \"upload\" too large: the limit is %" PRIu64 " bytes",
                r->srv->cfg->max_upload);
    else
        err_set(&err, ERR_TOO_LARGE, NULL, "request body too large: the limit is %" PRIu64 " bytes",
                body_limit(r));
    return http_reply_error(r, &err);
}

static enum MHD_Result bad_request(struct request *r, const char *msg)
{
    struct err err = ERR_INIT;

    err_set(&err, ERR_BAD_REQUEST, NULL, "%s", msg);
    return http_reply_error(r, &err);
}

/* ---- Query string --------------------------------------------------------------- */

static enum MHD_Result query_arg(void *cls, enum MHD_ValueKind kind, const char *key,
                                 size_t key_size, const char *value, size_t value_size)
{
    struct request *r = cls;
    json_t *v;

    (void)kind;
    /* libmicrohttpd decodes "%00" into a C string: the sizes it reports are the decoded
     * lengths, so a shorter string means an embedded NUL that would cut the value. */
    if (strlen(key) != key_size || (value && strlen(value) != value_size)) {
        refuse(r, "Bad request - query parameter \"%.64s\" contains a NUL byte (%%00)", key);
        return MHD_NO;
    }
    v = json_string(value ? value : "");
    if (!v || json_object_set_new(r->params, key, v)) {
        refuse(r, "Bad request - invalid UTF-8 in query parameter");
        return MHD_NO;
    }
    return MHD_YES;
}

int http_query_params(struct request *r)
{
    if (!r->params)
        r->params = json_object();
    MHD_get_connection_values_n(r->conn, MHD_GET_ARGUMENT_KIND, query_arg, r);
    if (r->bad_request) {
        bad_request(r, r->bad_request);
        return -1;
    }
    return 0;
}

/* ---- Form fields and the upload part ---------------------------------------------- */

static void field_flush(struct request *r)
{
    json_t *v;

    if (!r->field_key)
        return;
    /* jansson would keep a NUL, but every reader of the parameter stops at it */
    if (memchr(r->field_val.buf, '\0', r->field_val.len)) {
        refuse(r, "Bad request - form field \"%.64s\" contains a NUL byte", r->field_key);
        v = NULL;
    } else {
        v = json_stringn(r->field_val.buf, r->field_val.len);
        if (!v || json_object_set_new(r->params, r->field_key, v))
            refuse(r, "Bad request - invalid UTF-8 in form field \"%.64s\"", r->field_key);
    }
    free(r->field_key);
    r->field_key = NULL;
    buf_reset(&r->field_val);
}

static int upload_open(struct request *r, const char *filename, const char *content_type)
{
    BUG_ON(r->up_open || r->up_done);
    r->up_path = xstrfmt("%s/upload-XXXXXX", r->srv->tmp_dir);
    r->up_fd = mkostemp(r->up_path, O_CLOEXEC);
    if (r->up_fd < 0) {
        log_error("http: cannot create a temporary file in \"%s\": %s", r->srv->tmp_dir,
                  strerror(errno));
        free(r->up_path);
        r->up_path = NULL;
        refuse(r, "upload failed: cannot store the file");
        return -1;
    }
    /* Held until the file is closed (or the process dies): the start-up sweep of
     * files/tmp removes only files nobody holds. */
    if (flock(r->up_fd, LOCK_EX | LOCK_NB))
        log_warn("http: cannot lock \"%s\": %s", r->up_path, strerror(errno));
    r->up_filename = xstrdup(filename);
    r->up_ctype = content_type ? xstrdup(content_type) : NULL;
    sha256_init(&r->up_sha);
    r->up_open = true;
    return 0;
}

static int upload_write(struct request *r, const char *data, size_t size)
{
    if (size > r->srv->cfg->max_upload - r->up_size) {
        r->too_large = true;
        r->up_too_large = true;
        return -1;
    }
    sha256_update(&r->up_sha, data, size);
    r->up_size += size;
    while (size) {
        ssize_t n = write(r->up_fd, data, size);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            log_error("http: writing upload \"%s\": %s", r->up_path, strerror(errno));
            refuse(r, "upload failed: cannot store the file");
            return -1;
        }
        data += n;
        size -= (size_t)n;
    }
    return 0;
}

/* True when this piece starts a new part: another name or kind than the last piece, or
 * an offset that does not continue it. libmicrohttpd 0.9.75 may call once with no data
 * (offset 0) before the first bytes of a part arrive, so offset 0 after an empty piece
 * of the same name is the same part: two adjacent empty parts of one name count once. */
static bool part_begins(struct request *r, const char *key, bool file, uint64_t off, size_t size)
{
    bool begins =
            !r->part_key || strcmp(r->part_key, key) || r->part_file != file || off != r->part_end;

    if (begins) {
        free(r->part_key);
        r->part_key = xstrdup(key);
        r->part_file = file;
    }
    r->part_end = off + size;
    return begins;
}

/*
 * The post processor's callback, for every piece of every form field (multipart and
 * application/x-www-form-urlencoded). Everything here is client input: key is NULL for
 * a part without a name (no Content-Disposition, or one without name=); filename,
 * content_type and transfer_encoding may be NULL; data may be NULL when size is 0; off
 * is the offset of data in the part. transfer_encoding is ignored: RFC 7578 §4.7
 * deprecates Content-Transfer-Encoding, so the bytes are taken as sent.
 */
static enum MHD_Result form_iter(void *cls, enum MHD_ValueKind kind, const char *key,
                                 const char *filename, const char *content_type,
                                 const char *transfer_encoding, const char *data, uint64_t off,
                                 size_t size)
{
    struct request *r = cls;
    bool is_upload, begins;

    (void)kind;
    (void)transfer_encoding;
    if (r->bad_request || r->too_large)
        return MHD_NO;
    if (!key) {
        refuse(r, "Bad request - a form part has no name: its Content-Disposition must be "
                  "form-data with a name=\"...\" parameter");
        return MHD_NO;
    }
    if (size && !data)
        return MHD_NO;
    is_upload = !strcmp(key, "upload");
    begins = part_begins(r, key, filename != NULL, off, size);
    if (begins && is_upload && r->up_parts++) {
        refuse(r, "Bad request - only one \"upload\" part is allowed per request");
        return MHD_NO;
    }
    if (filename) {
        if (!is_upload) {
            refuse(r, "Bad request - unexpected file field \"%.64s\"", key);
            return MHD_NO;
        }
        /* A browser sends an empty part with filename="" when no file was chosen, and
         * curl -F 'upload=@f.csv;filename=' sends the bytes without a name: neither is
         * stored (an upload's url is its file name), and the action refuses the request
         * unless it gives a url (routes.c). */
        if (!filename[0] && !r->up_open) {
            r->up_unnamed = true;
            return MHD_YES;
        }
        if (!r->up_open && upload_open(r, filename, content_type))
            return MHD_NO;
        if (size && upload_write(r, data, size))
            return MHD_NO;
        return MHD_YES;
    }
    if (begins || !r->field_key) {
        field_flush(r);
        r->field_key = xstrdup(key);
    }
    /* Form fields together are held to the JSON body limit. */
    r->fields_bytes += size + strlen(key);
    if (r->fields_bytes > r->srv->cfg->max_body) {
        r->too_large = true;
        return MHD_NO;
    }
    if (size)
        buf_add(&r->field_val, data, size);
    return MHD_YES;
}

/* ---- Bodies ----------------------------------------------------------------------- */

int http_body_begin(struct request *r)
{
    const char *cl = http_header(r, MHD_HTTP_HEADER_CONTENT_LENGTH);
    char type[64];
    uint64_t len = 0;

    http_media_type(http_header(r, MHD_HTTP_HEADER_CONTENT_TYPE), type, sizeof(type));
    r->body_kind = !strcmp(type, "multipart/form-data") ? BODY_MULTIPART : BODY_BUFFERED;
    if (cl && !parse_u64(cl, UINT64_MAX, &len) && len > body_limit(r)) {
        /* A client still sending when the answer comes sees its connection reset and
         * never reads the 413. A body small enough to drain is read and dropped, and the
         * 413 goes out at its end. A larger one, or one whose client waits for
         * "100 Continue" before sending it (RFC 9110 §10.1.1), is refused at once. */
        const char *expect = http_header(r, MHD_HTTP_HEADER_EXPECT);

        if (len <= DISCARD_MAX && !(expect && !strcasecmp(expect, "100-continue"))) {
            r->too_large = true;
            return 0;
        }
        too_large(r);
        return -1;
    }
    if (r->body_kind == BODY_MULTIPART) {
        r->pp = MHD_create_post_processor(r->conn, POST_BUFFER, form_iter, r);
        if (!r->pp) {
            bad_request(r, "Bad request - malformed multipart/form-data (no boundary)");
            return -1;
        }
    }
    return 0;
}

enum MHD_Result http_body_data(struct request *r, const char *data, size_t size)
{
    r->received += size;
    if (r->too_large || r->bad_request) {
        r->discarded += size;
        return r->discarded > DISCARD_MAX ? MHD_NO : MHD_YES;
    }
    if (r->body_kind == BODY_MULTIPART) {
        /* The file and the fields have their own limits (form_iter); this bounds the
         * rest: boundaries, part headers, preamble. */
        if (r->received > body_limit(r)) {
            r->too_large = true;
            return MHD_YES;
        }
        if (MHD_post_process(r->pp, data, size) != MHD_YES && !r->too_large)
            refuse(r, "Bad request - malformed multipart/form-data");
        return MHD_YES;
    }
    buf_add(&r->body, data, size);
    if (buf_failed(&r->body))
        r->too_large = true;
    return MHD_YES;
}

/* A form-urlencoded name with "%00": libmicrohttpd decodes names into C strings, so
 * "i%00d=x" would silently become "i". Values keep their length (field_flush checks
 * them). Returns the first such name, as sent, or NULL. */
static const char *form_name_nul(const struct buf *b, size_t *len)
{
    const char *p = b->buf, *end = b->buf + b->len;

    while (p < end) {
        const char *amp = memchr(p, '&', (size_t)(end - p));
        const char *pair_end = amp ? amp : end;
        const char *eq = memchr(p, '=', (size_t)(pair_end - p));
        const char *name_end = eq ? eq : pair_end;

        for (const char *q = p; q + 3 <= name_end; q++) {
            if (q[0] == '%' && q[1] == '0' && q[2] == '0') {
                *len = (size_t)(name_end - p);
                return p;
            }
        }
        p = pair_end + 1;
    }
    return NULL;
}

/* CKAN (ckan/views/api.py _get_request_data) also takes a JSON body sent as
 * application/x-www-form-urlencoded, which is what `curl -d '{…}'` does. */
static bool looks_like_json(const struct buf *b)
{
    size_t i = 0;

    while (i < b->len &&
           (b->buf[i] == ' ' || b->buf[i] == '\t' || b->buf[i] == '\r' || b->buf[i] == '\n'))
        i++;
    return i < b->len && (b->buf[i] == '{' || b->buf[i] == '[' || b->buf[i] == '"');
}

static int parse_json_body(struct request *r)
{
    json_error_t jerr;
    json_t *doc;
    const char *k;
    json_t *v;

    if (!r->body.len)
        return 0; /* an empty body is an empty object, as in CKAN */
    doc = json_loadb(r->body.buf, r->body.len, 0, &jerr);
    if (!doc) {
        refuse(r, "Bad request - JSON Error: %s (line %d, column %d)", jerr.text, jerr.line,
               jerr.column);
        return -1;
    }
    if (!json_is_object(doc)) {
        json_decref(doc);
        refuse(r, "Bad request data: Request data JSON decoded to a non-object but it needs "
                  "to be a dictionary.");
        return -1;
    }
    /* The body wins over query arguments of the same name. */
    json_object_foreach (doc, k, v)
        json_object_set(r->params, k, v);
    json_decref(doc);
    return 0;
}

int http_body_end(struct request *r)
{
    if (!r->params)
        r->params = json_object();
    if (r->too_large) {
        too_large(r);
        return -1;
    }
    if (!r->bad_request) {
        if (r->body_kind == BODY_MULTIPART) {
            if (MHD_destroy_post_processor(r->pp) != MHD_YES && !r->too_large)
                refuse(r, "Bad request - malformed multipart/form-data");
            r->pp = NULL;
            field_flush(r);
            /* An "upload" part with neither a filename nor bytes is no file either. */
            if (!r->up_open && json_is_string(json_object_get(r->params, "upload")) &&
                !json_string_length(json_object_get(r->params, "upload")))
                r->up_unnamed = true;
            if (r->up_open) {
                uint8_t md[SHA256_LEN];

                sha256_final(&r->up_sha, md);
                hex_encode(md, sizeof(md), r->up_hex);
                r->up_open = false;
                r->up_done = true;
            }
        } else if (r->body_kind == BODY_BUFFERED) {
            char type[64];

            http_media_type(http_header(r, MHD_HTTP_HEADER_CONTENT_TYPE), type, sizeof(type));
            if (!strcmp(type, "application/x-www-form-urlencoded") && !looks_like_json(&r->body)) {
                struct MHD_PostProcessor *pp = NULL;
                const char *nul;
                size_t nlen = 0;

                nul = form_name_nul(&r->body, &nlen);
                if (!nul)
                    pp = MHD_create_post_processor(r->conn, POST_BUFFER, form_iter, r);
                if (nul) {
                    refuse(r, "Bad request - form field \"%.*s\" contains a NUL byte (%%00)",
                           (int)(nlen < 64 ? nlen : 64), nul);
                } else if (!pp) {
                    refuse(r, "Bad request - malformed form body");
                } else {
                    MHD_post_process(pp, r->body.buf, r->body.len);
                    MHD_destroy_post_processor(pp);
                    field_flush(r);
                }
            } else {
                parse_json_body(r);
            }
        }
    }
    if (r->too_large) {
        too_large(r);
        return -1;
    }
    if (r->bad_request) {
        bad_request(r, r->bad_request);
        return -1;
    }
    return 0;
}

bool http_upload_get(struct request *r, struct upload *up)
{
    if (!r->up_done)
        return false;
    memset(up, 0, sizeof(*up));
    up->tmp_path = r->up_path;
    up->filename = r->up_filename;
    up->content_type = r->up_ctype;
    up->size = r->up_size;
    xsnprintf(up->sha256_hex, sizeof(up->sha256_hex), "%s", r->up_hex);
    return true;
}

/* Removes the temporary upload unless the catalog moved it away: the path is
 * unlinked only while it still names the file we wrote (same device and inode), so a
 * name reused by a later mkstemp() is never touched. */
void http_upload_discard(struct request *r)
{
    struct stat fst, pst;

    if (r->up_open)
        sha256_release(&r->up_sha);
    r->up_open = false;
    r->up_done = false;
    if (r->up_fd >= 0) {
        if (r->up_path && !fstat(r->up_fd, &fst) && !stat(r->up_path, &pst) &&
            fst.st_dev == pst.st_dev && fst.st_ino == pst.st_ino)
            unlink(r->up_path);
        close(r->up_fd);
        r->up_fd = -1;
    }
    free(r->up_path);
    free(r->up_filename);
    free(r->up_ctype);
    r->up_path = r->up_filename = r->up_ctype = NULL;
}

void http_request_free(struct request *r)
{
    if (!r)
        return;
    if (r->pp)
        MHD_destroy_post_processor(r->pp);
    http_upload_discard(r);
    json_decref(r->params);
    buf_release(&r->body);
    buf_release(&r->field_val);
    free(r->field_key);
    free(r->part_key);
    free(r->bad_request);
    actor_release(&r->actor);
    secret_wipe(r->sid, sizeof(r->sid));
    secret_wipe(r->csrf, sizeof(r->csrf));
    free(r);
}
