/*
 * accesslog.c - the JSON-lines access log: one object per request,
 *   {"time","remote","method","path","status","bytes","duration_ms","user"}
 * The path never includes the query string (it may carry secrets), and no header is
 * ever logged (Authorization holds tokens).
 *
 * Each line is written with a single write(2) on a descriptor opened with O_APPEND,
 * so lines from concurrent threads never interleave and no lock is taken. Lines are
 * kept below PIPE_BUF (the path is truncated) so that this also holds for pipes.
 */
#include <fcntl.h>
#include <jansson.h>

#include "core/timeutil.h"
#include "http/http-int.h"
#include "core/log.h"
#include "core/util.h"

#define LOG_PATH_MAX 1024
#define LOG_LINE_MAX 4096

int http_access_log_open(struct http_server *srv, struct err *err)
{
    const char *path = srv->cfg->access_log;

    srv->log_fd = -1;
    srv->log_close = false;
    if (!path || !path[0])
        return 0;
    if (!strcmp(path, "-")) {
        srv->log_fd = STDOUT_FILENO;
        return 0;
    }
    srv->log_fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
    if (srv->log_fd < 0)
        return err_set(err, ERR_INTERNAL, "access_log", "cannot open access log \"%s\": %s", path,
                       strerror(errno));
    srv->log_close = true;
    return 0;
}

void http_access_log_close(struct http_server *srv)
{
    if (srv->log_close && srv->log_fd >= 0)
        close(srv->log_fd);
    srv->log_fd = -1;
    srv->log_close = false;
}

void http_access_log_write(struct http_server *srv, const struct request *r)
{
    char when[TIME_ISO_MAX], path[LOG_PATH_MAX], line[LOG_LINE_MAX];
    uint64_t us = time_mono_us() - r->started_us;
    json_t *o;
    size_t n;

    if (srv->log_fd < 0)
        return;
    time_now_rfc3339(when);
    http_log_path(r->url ? r->url : "", path, sizeof(path));
    o = json_object();
    json_object_set_new(o, "time", json_string(when));
    json_object_set_new(o, "remote", json_string(r->remote));
    json_object_set_new(o, "method", json_string(r->method_name ? r->method_name : ""));
    /* A path with invalid UTF-8 cannot be a JSON string as is; log it escaped. */
    if (json_object_set_new(o, "path", json_string(path))) {
        struct buf b = BUF_INIT;
        const unsigned char *p;

        for (p = (const unsigned char *)path; *p; p++) {
            if (*p < 0x80)
                buf_addch(&b, *p);
            else
                buf_addf(&b, "%%%02X", *p);
        }
        json_object_set_new(o, "path", json_string(b.buf));
        buf_release(&b);
    }
    json_object_set_new(o, "status", json_integer(r->status));
    json_object_set_new(o, "bytes", json_integer((json_int_t)r->bytes));
    json_object_set_new(o, "duration_ms", json_real((double)us / 1000.0));
    json_object_set_new(o, "user",
                        r->actor.authenticated ? json_string(r->actor.name) : json_null());
    n = json_dumpb(o, line, sizeof(line) - 1, JSON_COMPACT | JSON_REAL_PRECISION(6));
    json_decref(o);
    if (n == 0 || n >= sizeof(line) - 1)
        return;
    line[n++] = '\n';
    if (write(srv->log_fd, line, n) < 0)
        log_debug("http: access log write failed: %s", strerror(errno));
}
