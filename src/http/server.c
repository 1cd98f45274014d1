/*
 * server.c - the libmicrohttpd daemon: options and limits, the access handler that
 * drives each request through its life cycle, and graceful shutdown.
 *
 * Life cycle of a request (docs/internals/http.md):
 *   0. request line read (URI log callback): allocate struct request, note the length
 *      of the request target and a "%00" in its path, both lost once decoded;
 *   1. first callback (headers complete): raise the connection's timeout from the
 *      header timeout to idle_timeout, find the route, refuse what is malformed or too
 *      large (414, 431, 400), check (for POST) Content-Length against the limit;
 *   2. body callbacks: the body is buffered (JSON, form) or streamed (multipart);
 *   3. last callback: parameters are complete; resolve the actor and call the handler;
 *   4. completion: access log line, free the request, count it out.
 */
#include <arpa/inet.h>
#include <dirent.h>
#include <fcntl.h>
#include <microhttpd.h>
#include <netdb.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include "api/api.h"
#include "catalog/views.h"
#include "core/limits.h"
#include "core/timeutil.h"
#include "http/http-int.h"
#include "web/html.h"
#include "web/i18n.h"
#include "http/server.h"
#include "core/log.h"
#include "core/util.h"

/* How long a stop waits for in-flight requests before closing their connections. */
#define SHUTDOWN_GRACE_US (30ull * 1000 * 1000)

/* The longest a connection may stay silent before its request headers are complete. */
#define HEADER_TIMEOUT_MAX 10u

/* Seconds of silence allowed before the request headers are complete: idle_timeout / 3,
 * between 1 and HEADER_TIMEOUT_MAX, never above idle_timeout. A client that opens
 * connections and never finishes its headers (slowloris) then holds a slot for seconds,
 * not for idle_timeout; once the headers are in, the connection gets idle_timeout. */
static unsigned header_timeout(const struct config *cfg)
{
    unsigned t = cfg->idle_timeout / 3;

    if (t < 1)
        t = 1;
    if (t > HEADER_TIMEOUT_MAX)
        t = HEADER_TIMEOUT_MAX;
    return t < cfg->idle_timeout ? t : cfg->idle_timeout;
}

static unsigned method_of(const char *m)
{
    if (!strcmp(m, MHD_HTTP_METHOD_GET))
        return HM_GET;
    if (!strcmp(m, MHD_HTTP_METHOD_HEAD))
        return HM_HEAD;
    if (!strcmp(m, MHD_HTTP_METHOD_POST))
        return HM_POST;
    return 0;
}

static void remote_of(struct request *r)
{
    const union MHD_ConnectionInfo *ci =
            MHD_get_connection_info(r->conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    const struct sockaddr *sa = ci ? ci->client_addr : NULL;

    r->remote[0] = '\0';
    if (!sa)
        return;
    if (sa->sa_family == AF_INET)
        inet_ntop(AF_INET, &((const struct sockaddr_in *)(const void *)sa)->sin_addr, r->remote,
                  sizeof(r->remote));
    else if (sa->sa_family == AF_INET6)
        inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr, r->remote,
                  sizeof(r->remote));
}

static struct request *request_new(struct http_server *srv, struct MHD_Connection *conn)
{
    struct request *r = xcalloc(1, sizeof(*r));

    r->srv = srv;
    r->conn = conn;
    r->url = "";
    r->method_name = "";
    r->started_us = time_mono_us();
    r->up_fd = -1;
    buf_init(&r->body, (size_t)srv->cfg->max_body);
    buf_init(&r->field_val, 0);
    /* For the access log and the per-client limit of expensive requests (gate.c). */
    remote_of(r);
    return r;
}

/* libmicrohttpd's URI log callback, called once the request line is read and before
 * the target is decoded in place: its return value becomes *con_cls. The request is
 * allocated here to keep what decoding loses: the target's length as sent (414) and a
 * "%00" in the path, which decoding would turn into a silent truncation. libmicrohttpd
 * marks the connection client-aware, so request_completed() frees it even when the
 * access handler is never called (a request libmicrohttpd refuses itself). */
static void *uri_logged(void *cls, const char *uri, struct MHD_Connection *conn)
{
    struct request *r = request_new(cls, conn);
    size_t plen = strcspn(uri, "?");
    size_t args = 0;

    r->target_len = strlen(uri);
    for (size_t i = 0; i + 3 <= plen; i++)
        if (uri[i] == '%' && uri[i + 1] == '0' && uri[i + 2] == '0')
            r->target_nul = true;
    if (uri[plen] == '?') {
        args = 1;
        for (const char *p = uri + plen + 1; *p; p++)
            args += *p == '&';
    }
    /* libmicrohttpd parses the query right after this callback into one 64-byte record
     * per argument in the connection's pool (max_header + 16 KiB, which it keeps
     * resident for the connection's life): a few hundred arguments exhausted it and
     * the connection was closed with no answer. A query with more arguments than
     * LIMIT_HTTP_QUERY_ARGS is cut here at its '?' so that libmicrohttpd parses none
     * of it; request_refused() answers 414. The target lies in libmicrohttpd's read
     * buffer, writable memory it hands over as const; it is only changed for a request
     * that is refused whatever follows. */
    if (args > LIMIT_HTTP_QUERY_ARGS) {
        r->query_args = args;
        ((char *)uri)[plen + 1] = '\0';
    }
    return r;
}

/* Resolves the actor from the API token: "Authorization" (bare or "Bearer …"), or
 * CKAN's older "X-CKAN-API-Key", without the optional white space around a field value
 * (RFC 9110 §5.5; libmicrohttpd strips only the leading part). 0, or -1 after queueing
 * 403. */
static int resolve_actor(struct request *r)
{
    struct str t = http_trim_ows(http_header(r, MHD_HTTP_HEADER_AUTHORIZATION));
    struct err err = ERR_INIT;
    char *token = NULL;
    int ret = 0;

    if (!t.len)
        t = http_trim_ows(http_header(r, "X-CKAN-API-Key"));
    if (!t.len)
        goto out;
    token = xstrndup(t.p, t.len);
    if (access_actor_from_token(r->srv->catalog->store, token, &r->actor, &err) < 0) {
        if (err.kind != ERR_AUTH && err.kind != ERR_INTERNAL)
            err.kind = ERR_AUTH;
        http_reply_error(r, &err);
        ret = -1;
    }
out:
    free(token);
    return ret;
}

static enum MHD_Result add_query_arg(void *cls, enum MHD_ValueKind kind, const char *key,
                                     const char *value)
{
    struct buf *q = cls;

    (void)kind;
    if (q->len)
        buf_addch(q, '&');
    html_url_arg(q, key);
    if (value) {
        buf_addch(q, '=');
        html_url_arg(q, value);
    }
    return MHD_YES;
}

static enum MHD_Result dispatch(struct request *r)
{
    struct ui_request ur = {.path = r->url};
    struct buf query = BUF_INIT;
    enum MHD_Result ret;

    if ((r->route->flags & ROUTE_ACTOR) && resolve_actor(r))
        return MHD_YES;
    if (r->route->flags & ROUTE_API)
        return r->route->fn(r);
    /* A page: a session cookie signs the caller in when no API token did, and every POST
     * to a page must carry the form's CSRF token (publish.c). */
    if ((r->route->flags & ROUTE_ACTOR) && !r->actor.authenticated && http_session_resolve(r))
        return MHD_YES;
    /* An HTML page (or an error page): its language and address, for the chrome and the
     * language switch (web/i18n.h). */
    ur.lang = ui_lang_negotiate(MHD_lookup_connection_value(r->conn, MHD_COOKIE_KIND, "lang"),
                                http_header(r, MHD_HTTP_HEADER_ACCEPT_LANGUAGE));
    MHD_get_connection_values(r->conn, MHD_GET_ARGUMENT_KIND, add_query_arg, &query);
    ur.query = query.buf;
    ur.user = r->actor.authenticated ? r->actor.name : NULL;
    ur.csrf = r->session ? r->csrf : NULL;
    ui_request_begin(&ur);
    if (r->method == HM_POST && http_csrf_check(r)) {
        ui_request_end();
        buf_release(&query);
        return MHD_YES;
    }
    ret = r->route->fn(r);
    ui_request_end();
    buf_release(&query);
    return ret;
}

static enum MHD_Result add_size(void *cls, enum MHD_ValueKind kind, const char *key,
                                const char *value)
{
    size_t *total = cls;

    (void)kind;
    /* "Key: value\r\n" */
    *total += strlen(key) + (value ? strlen(value) : 0) + 4;
    return MHD_YES;
}

/* The size of the header fields as received, near enough: libmicrohttpd keeps them in
 * its per-connection pool but does not report their length. The pool
 * (memory_limit()) is larger than max_header, so this check is the one that applies;
 * the pool only stops requests far beyond it. */
static size_t header_fields_size(struct request *r)
{
    size_t total = 0;

    MHD_get_connection_values(r->conn, MHD_HEADER_KIND, add_size, &total);
    return total;
}

/* Refuses a request before its body is read: a CKAN error envelope under /api/, an HTML
 * page elsewhere. libmicrohttpd closes the connection after it, which is what a
 * malformed request deserves. */
static enum MHD_Result refuse_early(struct request *r, unsigned status, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));
static enum MHD_Result refuse_early(struct request *r, unsigned status, const char *fmt, ...)
{
    struct err err = ERR_INIT;
    char msg[ERR_MSG_MAX];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    err_set(&err, ERR_BAD_REQUEST, NULL, "%s", msg);
    if (starts_with(r->url, "/api/"))
        return http_reply_json(r, status, api_ckan_error(r->srv->catalog->site_url, NULL, &err), 0);
    return http_reply_html_error(r, status, msg);
}

struct length_scan {
    const char *first; /* the first Content-Length value */
    bool conflict;     /* another one differs */
};

static enum MHD_Result scan_length(void *cls, enum MHD_ValueKind kind, const char *key,
                                   const char *value)
{
    struct length_scan *ls = cls;

    (void)kind;
    if (strcasecmp(key, MHD_HTTP_HEADER_CONTENT_LENGTH))
        return MHD_YES;
    if (!value)
        value = "";
    if (!ls->first)
        ls->first = value;
    else if (strcmp(ls->first, value))
        ls->conflict = true;
    return MHD_YES;
}

/*
 * Checks what libmicrohttpd leaves to us once the headers are complete, before any body
 * is read: the request target's length (414, RFC 9110 §15.5.15) and the header fields'
 * (431, RFC 6585 §5), both against max_header; Content-Length headers that disagree, or
 * one beside Transfer-Encoding (400, RFC 9112 §6.3: the framing would be ambiguous);
 * a path that decodes to a NUL or to invalid UTF-8 (400). libmicrohttpd 0.9.75 itself
 * refuses a non-numeric or negative Content-Length before calling us.
 * Returns true when a response was queued.
 */
static bool request_refused(struct request *r, const char *version, enum MHD_Result *ret)
{
    const struct config *cfg = r->srv->cfg;
    size_t line = strlen(r->method_name) + r->target_len + strlen(version) + 4;
    struct length_scan ls = {NULL, false};

    if (line > cfg->max_header) {
        *ret = refuse_early(r, MHD_HTTP_URI_TOO_LONG,
                            "URI too long: the request target is %zu bytes, the limit is %u",
                            r->target_len, cfg->max_header);
        return true;
    }
    if (r->query_args) {
        *ret = refuse_early(r, MHD_HTTP_URI_TOO_LONG,
                            "URI too long: the query has %zu arguments, the limit is %u",
                            r->query_args, LIMIT_HTTP_QUERY_ARGS);
        return true;
    }
    if (line + header_fields_size(r) > cfg->max_header) {
        *ret = refuse_early(r, MHD_HTTP_REQUEST_HEADER_FIELDS_TOO_LARGE,
                            "request header fields too large: the limit is %u bytes",
                            cfg->max_header);
        return true;
    }
    MHD_get_connection_values(r->conn, MHD_HEADER_KIND, scan_length, &ls);
    if (ls.conflict) {
        *ret = refuse_early(r, MHD_HTTP_BAD_REQUEST,
                            "Bad request - conflicting Content-Length headers");
        return true;
    }
    if (ls.first && http_header(r, MHD_HTTP_HEADER_TRANSFER_ENCODING)) {
        *ret = refuse_early(r, MHD_HTTP_BAD_REQUEST,
                            "Bad request - both Content-Length and Transfer-Encoding");
        return true;
    }
    if (r->target_nul) {
        *ret = refuse_early(r, MHD_HTTP_BAD_REQUEST,
                            "Bad request - the path contains a NUL byte (%%00)");
        return true;
    }
    if (!http_utf8_valid(r->url, strlen(r->url))) {
        *ret = refuse_early(r, MHD_HTTP_BAD_REQUEST,
                            "Bad request - the path is not valid UTF-8 once percent-decoded");
        return true;
    }
    return false;
}

static enum MHD_Result access_handler(void *cls, struct MHD_Connection *conn, const char *url,
                                      const char *method, const char *version,
                                      const char *upload_data, size_t *upload_data_size,
                                      void **con_cls)
{
    struct http_server *srv = cls;
    struct request *r = *con_cls;
    bool path_matched = false;
    enum MHD_Result ret = MHD_YES;

    if (!r) {
        /* not reached while the URI log callback is installed */
        r = request_new(srv, conn);
        r->target_len = strlen(url);
        *con_cls = r;
    }
    if (!r->begun) {
        r->begun = true;
        r->url = url;
        r->method_name = method;
        r->method = method_of(method);
        atomic_fetch_add_explicit(&srv->inflight, 1, memory_order_relaxed);
        /* The headers are complete: from now on the connection gets the full idle
         * timeout instead of the header timeout it started with. */
        MHD_set_connection_option(conn, MHD_CONNECTION_OPTION_TIMEOUT,
                                  (unsigned)srv->cfg->idle_timeout);
        r->route = r->method ? http_route_find(r->method, url, r->args, &path_matched) : NULL;
        r->path_matched = path_matched;
        if (request_refused(r, version ? version : "", &ret))
            return ret;
        /* Only a POST is answered on this first callback, and only when it is refused
         * before its body is read (404, 405, 413): libmicrohttpd 0.9.75 closes the
         * connection after a response queued before the end of the request, which
         * would defeat keep-alive for every GET. */
        if (r->method == HM_POST) {
            if (!r->route)
                return r->path_matched ? http_method_not_allowed(r) : http_not_found(r);
            if (!http_query_params(r))
                http_body_begin(r);
        }
        return MHD_YES;
    }
    if (*upload_data_size) {
        if (!r->status && r->route)
            ret = http_body_data(r, upload_data, *upload_data_size);
        *upload_data_size = 0;
        return ret;
    }
    if (r->status)
        return MHD_YES;
    if (r->gate_queued) /* resumed by the gate's worker (gate.c) */
        return http_gate_answer(r);
    if (!r->route)
        return !r->method || r->path_matched ? http_method_not_allowed(r) : http_not_found(r);
    if (r->method == HM_POST ? http_body_end(r) : http_query_params(r))
        return MHD_YES;
    return dispatch(r);
}

static void request_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                              enum MHD_RequestTerminationCode toe)
{
    struct http_server *srv = cls;
    struct request *r = *con_cls;
    bool counted;

    (void)conn;
    (void)toe;
    if (!r)
        return;
    /* A request libmicrohttpd refused before our handler saw it (a malformed
     * Content-Length, say) was never counted and has nothing to log. */
    counted = r->begun;
    if (counted)
        http_access_log_write(srv, r);
    if (r->gated) /* closed before its answer was queued */
        http_gate_leave(&srv->gate, r->remote);
    free(r->gate_body);
    http_request_free(r);
    *con_cls = NULL;
    if (counted)
        atomic_fetch_sub_explicit(&srv->inflight, 1, memory_order_release);
}

static void mhd_logger(void *cls, const char *fmt, va_list ap)
{
    char msg[512];
    size_t n;

    (void)cls;
    vsnprintf(msg, sizeof(msg), fmt, ap);
    n = strlen(msg);
    while (n && (msg[n - 1] == '\n' || msg[n - 1] == '\r'))
        msg[--n] = '\0';
    log_warn("http: %s", msg);
}

/* Resolves cfg->listen into a socket address. */
static int listen_addr(const char *listen, struct sockaddr_storage *ss, bool *v6, struct err *err)
{
    char host[256], port_s[8];
    unsigned port;
    struct addrinfo hints, *res = NULL;
    int rc;

    if (http_listen_parse(listen, host, sizeof(host), &port))
        return err_set(err, ERR_VALIDATION, "listen",
                       "invalid listen address \"%s\": expected HOST:PORT", listen);
    xsnprintf(port_s, sizeof(port_s), "%u", port);
    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
    rc = getaddrinfo(host[0] ? host : NULL, port_s, &hints, &res);
    if (rc || !res) {
        if (res)
            freeaddrinfo(res);
        return err_set(err, ERR_INTERNAL, "listen", "cannot resolve listen address \"%s\": %s",
                       listen, gai_strerror(rc));
    }
    memset(ss, 0, sizeof(*ss));
    memcpy(ss, res->ai_addr, res->ai_addrlen);
    *v6 = res->ai_family == AF_INET6;
    freeaddrinfo(res);
    return 0;
}

/* Creates the listening socket for ss. Bound here rather than by libmicrohttpd so that a
 * failure names the address and port asked for and the system's reason (libmicrohttpd
 * 0.9.75, given MHD_OPTION_SOCK_ADDR, logs "Failed to bind to port 0"). The socket is
 * non-blocking (every pool thread accepts on it) and close-on-exec; an IPv6 address
 * listens on IPv6 only, as libmicrohttpd would. 0 and *fd_out, or -ERR_INTERNAL. */
static int listen_socket(const char *where, const struct sockaddr_storage *ss, bool v6, int *fd_out,
                         struct err *err)
{
    socklen_t len = v6 ? sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in);
    char host[NI_MAXHOST] = "?", port[NI_MAXSERV] = "?";
    int fd, one = 1, ret = 0, e;

    getnameinfo((const struct sockaddr *)ss, len, host, sizeof(host), port, sizeof(port),
                NI_NUMERICHOST | NI_NUMERICSERV);
    fd = socket(ss->ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        ret = err_set(err, ERR_INTERNAL, "listen", "cannot listen on \"%s\": socket: %s", where,
                      strerror(errno));
        goto out;
    }
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (v6)
        setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
    if (bind(fd, (const struct sockaddr *)ss, len) || listen(fd, 1024)) {
        e = errno;
        close(fd);
        fd = -1;
        ret = err_set(err, ERR_INTERNAL, "listen",
                      "cannot listen on \"%s\" (address %s, port %s): %s", where, host, port,
                      strerror(e));
        goto out;
    }
out:
    *fd_out = fd;
    return ret;
}

/* The port a listening socket is bound to (the one the kernel chose for port 0). */
static unsigned bound_port(int fd)
{
    struct sockaddr_storage ss;
    socklen_t len = sizeof(ss);

    if (getsockname(fd, (struct sockaddr *)&ss, &len))
        return 0;
    if (ss.ss_family == AF_INET)
        return ntohs(((const struct sockaddr_in *)(const void *)&ss)->sin_port);
    if (ss.ss_family == AF_INET6)
        return ntohs(((const struct sockaddr_in6 *)(const void *)&ss)->sin6_port);
    return 0;
}

/* Room libmicrohttpd needs per connection: the request line and headers must fit in
 * its read buffer, which takes part of the pool; the rest holds the response headers
 * and parsing state, and one 64-byte record per header field and query argument (at
 * most LIMIT_HTTP_QUERY_ARGS, see uri_logged()). The pool stays resident for the
 * connection's life (measured: a pool of 1 MiB cost 1 MiB of RSS per open connection). */
static size_t memory_limit(unsigned max_header)
{
    return (size_t)max_header + 16 * 1024;
}

/*
 * Removes what a crashed upload left in files/tmp: every file there that no process
 * holds a lock on (uploads and `kaifang load` copies are locked while they exist, and a
 * lock dies with its process). Returns the number of files removed.
 */
static unsigned tmp_sweep(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    unsigned removed = 0;

    if (!d)
        return 0;
    while ((e = readdir(d))) {
        int fd;

        if (e->d_name[0] == '.')
            continue;
        fd = openat(dirfd(d), e->d_name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
        if (fd < 0)
            continue;
        if (!flock(fd, LOCK_EX | LOCK_NB) && !unlinkat(dirfd(d), e->d_name, 0))
            removed++;
        close(fd);
    }
    closedir(d);
    return removed;
}

int server_run(const struct config *cfg, struct catalog *c, const struct ledger_key *ledger_key,
               void (*ready)(void *arg, unsigned port), void *arg, struct err *err)
{
    struct http_server srv;
    struct sockaddr_storage ss;
    sigset_t stop_signals, old_mask;
    unsigned flags, port;
    int lfd = -1;
    bool v6 = false, masked = false, cache = false;
    uint64_t waited;
    int ret, sig;

    memset(&srv, 0, sizeof(srv));
    srv.cfg = cfg;
    srv.catalog = c;
    srv.ledger_key = ledger_key;
    srv.log_fd = -1;
    atomic_init(&srv.inflight, 0);
    atomic_init(&srv.stopping, false);
    srv.tmp_dir = xstrfmt("%s/tmp", c->files_dir);
    if (mkdir(c->files_dir, 0750) && errno != EEXIST) {
        ret = err_set(err, ERR_INTERNAL, NULL, "cannot create \"%s\": %s", c->files_dir,
                      strerror(errno));
        goto out;
    }
    if (mkdir(srv.tmp_dir, 0700) && errno != EEXIST) {
        ret = err_set(err, ERR_INTERNAL, NULL, "cannot create \"%s\": %s", srv.tmp_dir,
                      strerror(errno));
        goto out;
    }
    {
        unsigned swept = tmp_sweep(srv.tmp_dir);

        if (swept)
            log_info("http: removed %u unfinished upload(s) from \"%s\"", swept, srv.tmp_dir);
    }
    ret = listen_addr(cfg->listen, &ss, &v6, err);
    if (ret < 0)
        goto out;
    ret = listen_socket(cfg->listen, &ss, v6, &lfd, err);
    if (ret < 0)
        goto out;
    port = bound_port(lfd);
    ret = http_access_log_open(&srv, err);
    if (ret < 0)
        goto out;

    /* Stop signals are blocked before the daemon starts its threads, which inherit the
     * mask; this thread then takes them with sigwait(). */
    sigemptyset(&stop_signals);
    sigaddset(&stop_signals, SIGINT);
    sigaddset(&stop_signals, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &stop_signals, &old_mask);
    masked = true;

    flags = MHD_USE_ITC | MHD_USE_ERROR_LOG | MHD_USE_TURBO;
    flags |= MHD_is_feature_supported(MHD_FEATURE_EPOLL) == MHD_YES ? MHD_USE_EPOLL_INTERNAL_THREAD
                                                                    : MHD_USE_POLL_INTERNAL_THREAD;
    if (v6)
        flags |= MHD_USE_IPv6;
    http_cache_init();
    cache = true;
    ret = http_gate_init(&srv.gate, cfg->threads, err);
    if (ret < 0)
        goto out;
    flags |= MHD_ALLOW_SUSPEND_RESUME;
    /* MHD_OPTION_CONNECTION_TIMEOUT is where every connection starts: the short header
     * timeout, raised to idle_timeout by the access handler once the headers are in. */
    srv.daemon = MHD_start_daemon(
            flags, 0, NULL, NULL, access_handler, &srv, MHD_OPTION_EXTERNAL_LOGGER, mhd_logger,
            NULL, MHD_OPTION_LISTEN_SOCKET, (MHD_socket)lfd, MHD_OPTION_THREAD_POOL_SIZE,
            (unsigned)(cfg->threads > 1 ? cfg->threads : 0), MHD_OPTION_CONNECTION_LIMIT,
            (unsigned)cfg->max_connections, MHD_OPTION_PER_IP_CONNECTION_LIMIT,
            (unsigned)cfg->max_connections_per_ip, MHD_OPTION_CONNECTION_TIMEOUT,
            header_timeout(cfg), MHD_OPTION_CONNECTION_MEMORY_LIMIT, memory_limit(cfg->max_header),
            MHD_OPTION_URI_LOG_CALLBACK, uri_logged, &srv, MHD_OPTION_NOTIFY_COMPLETED,
            request_completed, &srv, MHD_OPTION_END);
    /* From here libmicrohttpd owns the socket (it closes it on failure as well). */
    lfd = -1;
    if (!srv.daemon) {
        ret = err_set(err, ERR_INTERNAL, "listen", "cannot start the HTTP server on \"%s\"",
                      cfg->listen);
        goto out;
    }
    srv.views = catalog_views_new(c->store, LIMIT_VIEWS_DATASETS);
    ret = catalog_views_start(srv.views, cfg->views_flush, err);
    if (ret < 0)
        goto out;
    if (ready)
        ready(arg, port);

    do {
        if (sigwait(&stop_signals, &sig))
            sig = 0;
    } while (sig != SIGINT && sig != SIGTERM);
    log_info("http: %s received, stopping", sig == SIGINT ? "SIGINT" : "SIGTERM");

    atomic_store(&srv.stopping, true);
    /* No MHD_quiesce_daemon(): with epoll and a thread pool, libmicrohttpd 0.9.75 removes
     * the listening socket from each worker's epoll set both in the quiescing thread and
     * in the worker itself, unlocked, and aborts the process when the worker loses that
     * race (epoll_ctl answers ENOENT; seen in CI as "Failed to remove listen FD from epoll
     * set"). So the socket stays open until MHD_stop_daemon() closes it: a request that
     * arrives during the grace period is served, with "Connection: close" (response.c). */
    for (waited = 0;
         atomic_load_explicit(&srv.inflight, memory_order_acquire) && waited < SHUTDOWN_GRACE_US;
         waited += 10000)
        usleep(10000);
    if (atomic_load(&srv.inflight))
        log_warn("http: %u requests still running after the grace period; closing them",
                 atomic_load(&srv.inflight));
    /* The gate's workers finish first: libmicrohttpd cannot stop with suspended
     * connections, and a statement ends within its time limit. */
    http_gate_stop(&srv.gate);
    MHD_stop_daemon(srv.daemon);
    srv.daemon = NULL;
    ret = 0;
out:
    if (lfd >= 0)
        close(lfd);
    http_gate_stop(&srv.gate);
    if (srv.daemon)
        MHD_stop_daemon(srv.daemon);
    /* After the daemon: no request counts a view any more. Then the last flush. */
    catalog_views_free(srv.views);
    http_gate_release(&srv.gate);
    if (cache)
        http_cache_fini();
    if (masked)
        pthread_sigmask(SIG_SETMASK, &old_mask, NULL);
    http_access_log_close(&srv);
    free(srv.tmp_dir);
    return ret;
}
