/*
 * server.c - the libmicrohttpd daemon: options and limits, the access handler that
 * drives each request through its life cycle, and graceful shutdown.
 *
 * Life cycle of a request (docs/internals/http.md):
 *   1. first callback: allocate struct request, find the route, check the method and
 *      (for POST) Content-Length against the limit; GET and HEAD are answered at once;
 *   2. body callbacks: the body is buffered (JSON, form) or streamed (multipart);
 *   3. last callback: parameters are complete; resolve the actor and call the handler;
 *   4. completion: access log line, free the request, count it out.
 */
#include <arpa/inet.h>
#include <microhttpd.h>
#include <netdb.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include "core/timeutil.h"
#include "http/http-int.h"
#include "http/server.h"
#include "core/log.h"
#include "core/util.h"

/* How long a stop waits for in-flight requests before closing their connections. */
#define SHUTDOWN_GRACE_US (30ull * 1000 * 1000)

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

static struct request *request_new(struct http_server *srv, struct MHD_Connection *conn,
                                   const char *url, const char *method)
{
    struct request *r = xcalloc(1, sizeof(*r));

    r->srv = srv;
    r->conn = conn;
    r->url = url;
    r->method_name = method;
    r->method = method_of(method);
    r->started_us = time_mono_us();
    r->up_fd = -1;
    buf_init(&r->body, (size_t)srv->cfg->max_body);
    buf_init(&r->field_val, 0);
    if (srv->log_fd >= 0)
        remote_of(r);
    return r;
}

/* Resolves the actor from the API token: "Authorization" (bare or "Bearer …"), or
 * CKAN's older "X-CKAN-API-Key". 0, or -1 after queueing 403. */
static int resolve_actor(struct request *r)
{
    const char *token = http_header(r, MHD_HTTP_HEADER_AUTHORIZATION);
    struct err err = ERR_INIT;

    if (!token || !token[0])
        token = http_header(r, "X-CKAN-API-Key");
    if (!token || !token[0])
        return 0;
    if (access_actor_from_token(r->srv->catalog->store, token, &r->actor, &err) < 0) {
        if (err.kind != ERR_AUTH && err.kind != ERR_INTERNAL)
            err.kind = ERR_AUTH;
        http_reply_error(r, &err);
        return -1;
    }
    return 0;
}

static enum MHD_Result dispatch(struct request *r)
{
    if ((r->route->flags & ROUTE_ACTOR) && resolve_actor(r))
        return MHD_YES;
    return r->route->fn(r);
}

static enum MHD_Result add_size(void *cls, enum MHD_ValueKind kind, const char *key,
                                const char *value)
{
    size_t *total = cls;

    (void)kind;
    /* "Key: value\r\n" for headers, "key=value&" for arguments */
    *total += strlen(key) + (value ? strlen(value) : 0) + 4;
    return MHD_YES;
}

/* The size of the request line and headers as received, near enough: libmicrohttpd
 * keeps them in its per-connection pool but does not report their length. The pool
 * (memory_limit()) is larger than max_header, so this check is the one that applies;
 * the pool only stops requests far beyond it. */
static bool header_too_large(struct request *r)
{
    size_t total = strlen(r->url) + strlen(r->method_name) + 12;

    MHD_get_connection_values(r->conn, MHD_HEADER_KIND | MHD_GET_ARGUMENT_KIND, add_size, &total);
    return total > r->srv->cfg->max_header;
}

static enum MHD_Result header_too_large_reply(struct request *r)
{
    static const char msg[] = "request header fields too large\n";
    struct MHD_Response *resp;

    resp = MHD_create_response_from_buffer(sizeof(msg) - 1, (void *)msg, MHD_RESPMEM_PERSISTENT);
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "text/plain;charset=utf-8");
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONNECTION, "close");
    http_common_headers(r, resp, false);
    return http_queue(r, MHD_HTTP_REQUEST_HEADER_FIELDS_TOO_LARGE, resp, sizeof(msg) - 1);
}

static enum MHD_Result access_handler(void *cls, struct MHD_Connection *conn, const char *url,
                                      const char *method, const char *version,
                                      const char *upload_data, size_t *upload_data_size,
                                      void **con_cls)
{
    struct http_server *srv = cls;
    struct request *r = *con_cls;
    bool path_matched = false;

    (void)version;
    if (!r) {
        r = request_new(srv, conn, url, method);
        *con_cls = r;
        atomic_fetch_add_explicit(&srv->inflight, 1, memory_order_relaxed);
        r->route = r->method ? http_route_find(r->method, url, r->args, &path_matched) : NULL;
        r->path_matched = path_matched;
        if (header_too_large(r))
            return header_too_large_reply(r);
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
        enum MHD_Result ret = MHD_YES;

        if (!r->status && r->route)
            ret = http_body_data(r, upload_data, *upload_data_size);
        *upload_data_size = 0;
        return ret;
    }
    if (r->status)
        return MHD_YES;
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

    (void)conn;
    (void)toe;
    if (!r)
        return;
    http_access_log_write(srv, r);
    http_request_free(r);
    *con_cls = NULL;
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

/* Room libmicrohttpd needs per connection: the request line and headers must fit in
 * its read buffer, which takes part of the pool; the rest holds the response headers
 * and parsing state. */
static size_t memory_limit(unsigned max_header)
{
    return (size_t)max_header + 16 * 1024;
}

int server_run(const struct config *cfg, struct catalog *c, void (*ready)(void *arg, unsigned port),
               void *arg, struct err *err)
{
    struct http_server srv;
    struct sockaddr_storage ss;
    sigset_t stop_signals, old_mask;
    const union MHD_DaemonInfo *info;
    unsigned flags;
    bool v6 = false, masked = false, cache = false;
    MHD_socket lsock;
    uint64_t waited;
    int ret, sig;

    memset(&srv, 0, sizeof(srv));
    srv.cfg = cfg;
    srv.catalog = c;
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
    ret = listen_addr(cfg->listen, &ss, &v6, err);
    if (ret < 0)
        goto out;
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
    srv.daemon = MHD_start_daemon(
            flags, 0, NULL, NULL, access_handler, &srv, MHD_OPTION_EXTERNAL_LOGGER, mhd_logger,
            NULL, MHD_OPTION_SOCK_ADDR, (const struct sockaddr *)&ss, MHD_OPTION_THREAD_POOL_SIZE,
            (unsigned)(cfg->threads > 1 ? cfg->threads : 0), MHD_OPTION_CONNECTION_LIMIT,
            (unsigned)cfg->max_connections, MHD_OPTION_CONNECTION_TIMEOUT,
            (unsigned)cfg->idle_timeout, MHD_OPTION_CONNECTION_MEMORY_LIMIT,
            memory_limit(cfg->max_header), MHD_OPTION_NOTIFY_COMPLETED, request_completed, &srv,
            MHD_OPTION_LISTEN_BACKLOG_SIZE, (unsigned)1024, MHD_OPTION_END);
    if (!srv.daemon) {
        ret = err_set(err, ERR_INTERNAL, "listen",
                      "cannot listen on \"%s\" (address in use or not "
                      "available)",
                      cfg->listen);
        goto out;
    }
    info = MHD_get_daemon_info(srv.daemon, MHD_DAEMON_INFO_BIND_PORT);
    if (ready)
        ready(arg, info ? info->port : 0);

    do {
        if (sigwait(&stop_signals, &sig))
            sig = 0;
    } while (sig != SIGINT && sig != SIGTERM);
    log_info("http: %s received, stopping", sig == SIGINT ? "SIGINT" : "SIGTERM");

    atomic_store(&srv.stopping, true);
    lsock = MHD_quiesce_daemon(srv.daemon);
    /* Closed now, not after the stop: while it stays open the kernel would still
     * complete handshakes into its backlog that nobody will ever accept. */
    if (lsock != MHD_INVALID_SOCKET)
        close(lsock);
    for (waited = 0;
         atomic_load_explicit(&srv.inflight, memory_order_acquire) && waited < SHUTDOWN_GRACE_US;
         waited += 10000)
        usleep(10000);
    if (atomic_load(&srv.inflight))
        log_warn("http: %u requests still running after the grace period; closing them",
                 atomic_load(&srv.inflight));
    MHD_stop_daemon(srv.daemon);
    srv.daemon = NULL;
    ret = 0;
out:
    if (srv.daemon)
        MHD_stop_daemon(srv.daemon);
    if (cache)
        http_cache_fini();
    if (masked)
        pthread_sigmask(SIG_SETMASK, &old_mask, NULL);
    http_access_log_close(&srv);
    free(srv.tmp_dir);
    return ret;
}
