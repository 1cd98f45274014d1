/*
 * http-int.h - shared internals of src/http/: header parsing helpers, the request
 * state, the response helpers and the route table. Only files in src/http/ include it.
 *
 * The helpers in the first section (headers.c) do not depend on libmicrohttpd, the
 * catalog or the store, so the unit test links them alone.
 */
#ifndef KAIFANG_HTTP_HTTP_INT_H
#define KAIFANG_HTTP_HTTP_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>
#include <microhttpd.h>
#include <pthread.h>
#include <stdatomic.h>

#include "access/access.h"
#include "catalog/catalog.h"
#include "core/buf.h"
#include "core/config.h"
#include "core/err.h"
#include "core/limits.h"
#include "crypto/digest.h"
#include "crypto/secret.h"

struct ledger_key;

/* ---- Pure helpers (headers.c) ------------------------------------------------------ */

/* Responses at least this large are gzipped for clients that accept it. */
#define HTTP_GZIP_MIN 1024u

/* An ETag: quotes, 64 hex digits, an optional "-gz" suffix, NUL. */
#define HTTP_ETAG_MAX 72

enum http_range_result {
    HTTP_RANGE_NONE = 0,          /* no usable Range: serve the whole representation (200) */
    HTTP_RANGE_OK = 1,            /* one satisfiable range: 206 */
    HTTP_RANGE_UNSATISFIABLE = 2, /* 416 with "Content-Range: bytes * /size" */
};

/*
 * Parses a Range header (RFC 9110 §14.1.2) against a representation of size bytes.
 * Only a single "bytes=" range is honoured: "a-b", "a-", "-n". A header that is absent,
 * malformed, of another unit, or lists several ranges gives HTTP_RANGE_NONE (RFC 9110
 * lets a server ignore Range). A well-formed single range that starts at or after the
 * end (or a zero-length suffix) gives HTTP_RANGE_UNSATISFIABLE. On HTTP_RANGE_OK,
 * *first and *last are the inclusive byte positions, clamped to size - 1. Positions too
 * large for 64 bits count as "past the end": a last-byte-pos is clamped (so
 * "bytes=0-99999999999999999999999" is the whole representation, 206), a first-byte-pos
 * is unsatisfiable, a suffix length takes the whole representation.
 */
enum http_range_result http_range_parse(const char *header, uint64_t size, uint64_t *first,
                                        uint64_t *last);

/*
 * True when an Accept-Encoding header value (RFC 9110 §12.5.3) accepts gzip: "gzip"
 * or "x-gzip" or "*" listed with a q-value above zero (an explicit "gzip;q=0" refuses
 * it even when "*" is accepted). NULL: false.
 */
bool http_accepts_gzip(const char *accept_encoding);

/*
 * Writes the strong ETag of a body: the quoted lower-case hex SHA-256 of the identity
 * bytes; the gzip variant gets a distinct tag with a "-gz" suffix inside the quotes, as
 * RFC 9110 §8.8.3 requires for different representations. out: HTTP_ETAG_MAX.
 */
void http_etag_of(const void *body, size_t len, bool gzip, char out[HTTP_ETAG_MAX]);

/* As http_etag_of() from an already computed hex digest (64 characters). */
void http_etag_from_hex(const char *hex, bool gzip, char out[HTTP_ETAG_MAX]);

/*
 * True when an If-None-Match header value (RFC 9110 §13.1.2) matches etag: "*", or a
 * comma-separated list containing the tag, compared weakly (a "W/" prefix ignored on
 * either side, as If-None-Match requires). NULL: false.
 */
bool http_etag_match(const char *if_none_match, const char *etag);

/*
 * Compresses len bytes into out as a gzip member (RFC 1952) with zlib at level 1 (the
 * speed nginx's gzip_comp_level defaults to). Returns 0, or -1 when zlib fails or out
 * reaches its maximum (out then holds an unspecified prefix). Thread-safe: each thread
 * keeps one compressor, reset per call (freed when the thread exits).
 */
int http_gzip(const void *in, size_t len, struct buf *out);

/*
 * Splits "HOST:PORT", "[V6]:PORT" or ":PORT" (all interfaces) into host (brackets
 * removed; "" for all interfaces) and port. Returns 0, or -1 when malformed or the
 * port is not in 0..65535.
 */
int http_listen_parse(const char *listen, char *host, size_t hostsize, unsigned *port);

/*
 * The media type of a Content-Type header, without parameters, lower-cased into out
 * ("application/json"). NULL or empty header: "". Longer types are truncated.
 */
void http_media_type(const char *content_type, char *out, size_t size);

/*
 * Matches a path against a route pattern of literal segments and ":name" segments
 * (each matching one non-empty segment without '/'). A last segment ":name*" matches
 * the whole non-empty rest of the path, slashes included and taken as sent (a
 * trailing slash is then part of the capture). Otherwise a trailing slash on the path
 * is tolerated. Captured segments go to args (up to nargs, in order). Returns the
 * number of captures, or -1 when the path does not match.
 */
int http_path_match(const char *pattern, const char *path, struct str *args, size_t nargs);

/* True when s[0..len) is well-formed UTF-8 (RFC 3629: no overlong forms, surrogates or
 * code points past U+10FFFF). Used on percent-decoded paths, which libmicrohttpd hands
 * over as bytes. */
bool http_utf8_valid(const char *s, size_t len);

/* A header value without the optional white space (SP, HTAB) on either side that
 * RFC 9110 §5.5 excludes from field values. The slice points into s (borrowed); NULL s
 * gives {NULL, 0}. */
struct str http_trim_ows(const char *s);

/* Copies an access-log path: the URL path without the query string, at most size-1
 * bytes (longer paths end with "..."). */
void http_log_path(const char *url, char *out, size_t size);

/* ---- Expensive requests (gate.c) --------------------------------------------------- */

/* Seconds in the Retry-After of every 503 (RFC 9110 §10.2.3): an expensive request holds
 * its slot for at most the datastore_search_sql time limit. */
#define HTTP_RETRY_AFTER_SECONDS ((LIMIT_DATASTORE_SQL_MS + 999u) / 1000u)

struct http_gate_client {
    char addr[64]; /* the client address, as struct request's remote */
    unsigned running;
};

/*
 * At most max expensive requests at once (threads - 1, at least 1), at most per_client of
 * them from one client address ((max + 1) / 2; behind a reverse proxy every client has
 * the proxy's address). They do not run on libmicrohttpd's threads: the connection is
 * suspended and one of max workers of the gate runs the action, then resumes it. A pool
 * thread that ran them itself would stall every connection it serves (a keep-alive
 * connection stays on one thread, and a thread accepts several at once) for as long as
 * the statement runs.
 */
struct http_gate {
    pthread_mutex_t lock;
    pthread_cond_t work; /* signalled when a request is queued or stopping is set */
    unsigned max, per_client, running;
    struct http_gate_client *clients; /* max entries; running == 0: free */
    pthread_t *workers;
    unsigned nworkers;           /* started */
    struct request *head, *tail; /* queued, linked by gate_next */
    bool stopping;
};

/* Sets the gate up for a pool of threads threads and starts its workers. 0, or
 * -ERR_INTERNAL. http_gate_release (also after a failure) stops and frees it. */
int http_gate_init(struct http_gate *g, unsigned threads, struct err *err);
/* Lets the workers finish what they run or is queued and joins them; expensive requests
 * are refused from then on. Call before MHD_stop_daemon: libmicrohttpd refuses to stop
 * with connections suspended. Idempotent. */
void http_gate_stop(struct http_gate *g);
/* Stops the gate if needed and frees it (after the daemon has stopped). Idempotent. */
void http_gate_release(struct http_gate *g);
/*
 * Takes a slot for an expensive request of client (an address; borrowed). 0, or
 * -ERR_UNAVAILABLE (503) when max are running or client runs per_client already: the
 * message names what (the action, borrowed) and which limit. Never waits. Thread-safe.
 */
int http_gate_enter(struct http_gate *g, const char *client, const char *what, struct err *err);
/* Gives back a slot that http_gate_enter gave client. Thread-safe. */
void http_gate_leave(struct http_gate *g, const char *client);
/*
 * Runs the action of r (which holds a slot: r->gated) on a worker: suspends r's
 * connection and queues r; the worker calls the action and resumes the connection, and
 * the access handler then calls http_gate_answer(). Returns MHD_YES.
 */
enum MHD_Result http_gate_run(struct request *r, const char *action);
/* Queues the answer of r's finished action and gives its slot back. */
enum MHD_Result http_gate_answer(struct request *r);

/* ---- The server and the request (server.c, request.c) ----------------------------- */

struct http_server {
    const struct config *cfg; /* borrowed */
    struct catalog *catalog;  /* borrowed */
    struct MHD_Daemon *daemon;
    atomic_uint inflight;                /* requests between their first callback and completion */
    atomic_bool stopping;                /* set once a stop signal arrived: /healthz answers 503 */
    int log_fd;                          /* access log, or -1 */
    bool log_close;                      /* log_fd is ours to close */
    char *tmp_dir;                       /* <files>/tmp: uploads in progress */
    const struct ledger_key *ledger_key; /* borrowed; NULL: /api/ledger/key answers 503 */
    struct http_gate gate;               /* expensive requests (gate.c) */
    struct catalog_views *views;         /* dataset views counted (catalog/views.h) */
};

enum http_method {
    HM_GET = 1 << 0,
    HM_HEAD = 1 << 1,
    HM_POST = 1 << 2,
};

enum route_flags {
    ROUTE_ACTOR = 1 << 0,     /* resolves the actor from the API token (anonymous allowed) */
    ROUTE_CACHEABLE = 1 << 1, /* GET answers carry an ETag and honour If-None-Match */
    ROUTE_WRITES = 1 << 2,    /* may change the catalog (the action table says which do) */
    ROUTE_BODY = 1 << 3,      /* accepts a request body (POST: JSON, form or multipart) */
    ROUTE_API = 1 << 4,       /* errors are CKAN-shaped JSON rather than HTML pages */
    ROUTE_LOGIN = 1 << 5,     /* the sign-in form: a POST's CSRF token is checked against the
                               * pre-session cookie (publish.c) rather than a session */
};

struct request;
/* A route handler: queues exactly one response through http_reply*() and returns its
 * result (MHD_YES, or MHD_NO to drop the connection). */
typedef enum MHD_Result (*route_fn)(struct request *r);

struct route {
    unsigned methods;    /* enum http_method */
    const char *pattern; /* see http_path_match() */
    route_fn fn;
    unsigned flags; /* enum route_flags */
};

#define ROUTE_ARGS_MAX 4

enum body_kind {
    BODY_NONE,
    BODY_BUFFERED, /* JSON or application/x-www-form-urlencoded, held in body */
    BODY_MULTIPART,
};

struct request {
    struct http_server *srv;
    struct MHD_Connection *conn;
    bool begun;        /* the access handler has seen the request (headers complete) */
    size_t target_len; /* bytes of the request target as sent (before decoding) */
    bool target_nul;   /* the path (before '?') contains "%00" */
    size_t query_args; /* query arguments beyond LIMIT_HTTP_QUERY_ARGS: their count, else 0 */
    const struct route *route;
    bool path_matched; /* some route has this path (405 rather than 404) */
    struct str args[ROUTE_ARGS_MAX];
    unsigned method; /* enum http_method */
    const char *url; /* path, percent-decoded by libmicrohttpd; valid for the request */
    const char *method_name;
    uint64_t started_us;
    struct actor actor;
    bool session;             /* actor comes from a web session cookie (publish.c) */
    char sid[TOKEN_STR_MAX];  /* that session's id */
    char csrf[TOKEN_STR_MAX]; /* and its CSRF token */
    json_t *params;           /* parameters: query arguments, then body fields */

    /* body */
    enum body_kind body_kind;
    struct buf body;
    uint64_t received;
    uint64_t discarded; /* bytes dropped after the body was refused */
    bool too_large;
    char *bad_request; /* a message: the body was refused (400) */
    struct MHD_PostProcessor *pp;
    char *field_key; /* form field being received */
    struct buf field_val;
    size_t fields_bytes;
    /* the multipart part being received, to tell a new part from the next piece of the
     * same one: libmicrohttpd only passes the name and the offset in the part */
    char *part_key;
    bool part_file;
    uint64_t part_end; /* offset after the last piece received */
    unsigned up_parts; /* parts named "upload" (file or not) */
    bool up_unnamed;   /* a multipart "upload" part gave no file: filename="" (its bytes
                        * dropped), or no filename and no bytes */
    bool up_too_large; /* the file passed max_upload (too_large is also set) */

    /* upload: the "upload" file part streamed to tmp_path */
    int up_fd;
    char *up_path;
    char *up_filename;
    char *up_ctype;
    uint64_t up_size;
    struct sha256_ctx up_sha;
    char up_hex[SHA256_HEX_LEN];
    bool up_open, up_done;

    /* an expensive action (gate.c) */
    bool gated;                /* holds a slot of the gate */
    bool gate_queued;          /* run by a gate worker: the next callback answers */
    struct request *gate_next; /* the gate's queue */
    char gate_action[128];
    char *gate_body; /* the answer: a JSON document (malloc'ed), its length and status */
    size_t gate_len;
    unsigned gate_status;

    /* what was answered, for the access log */
    unsigned status;
    uint64_t bytes;
    char remote[64];
};

/* Route lookup and dispatch (routes.c). http_route_find returns the route for method
 * and path, or NULL; *path_matched tells a wrong method (405) from no route (404). */
const struct route *http_route_find(unsigned method, const char *path, struct str *args,
                                    bool *path_matched);
/* The handler of a path no route matches, and of a wrong method. */
enum MHD_Result http_not_found(struct request *r);
enum MHD_Result http_method_not_allowed(struct request *r);

/* Request bodies (request.c). */
/* Called on the first callback of a POST: checks Content-Length and Content-Type,
 * prepares body parsing. Returns 0, or -1 when a response was already queued. */
int http_body_begin(struct request *r);
/* Consumes a piece of the body. Returns MHD_YES, or MHD_NO to close the connection. */
enum MHD_Result http_body_data(struct request *r, const char *data, size_t size);
/* Finishes the body: fills r->params from it. 0, or -1 after queueing an error. */
int http_body_end(struct request *r);
/* Query arguments into r->params. 0, or -1 after queueing an error. */
int http_query_params(struct request *r);
/* Fills up with the finished upload; false when the request carried none. */
bool http_upload_get(struct request *r, struct upload *up);
/* Removes the temporary upload unless the catalog moved it away (idempotent). Called
 * before any response is queued, so a client never sees its answer while the file is
 * still there. */
void http_upload_discard(struct request *r);
/* Frees everything the request holds and removes a temporary upload the catalog did
 * not take. */
void http_request_free(struct request *r);

/* Responses (response.c). Each queues one response and records status and bytes. */
enum reply_flags {
    REPLY_CACHEABLE = 1 << 0,   /* ETag and If-None-Match (only for 200 on GET/HEAD) */
    REPLY_HTML = 1 << 1,        /* HTML: adds the Content-Security-Policy */
    REPLY_NO_GZIP = 1 << 2,     /* never compress (random bytes such as hash tiles) */
    REPLY_GZIP_ANY = 1 << 3,    /* compress for clients that accept it whatever the size */
    REPLY_VARY_ACCEPT = 1 << 4, /* the URL's answer depends on Accept (content negotiation,
                                 * RFC 9110 §12.5.5): Vary names it for shared caches */
};
#define HTTP_JSON_TYPE "application/json;charset=utf-8"
#define HTTP_HTML_TYPE "text/html;charset=utf-8"
/* body: malloc'ed memory, taken (freed by the response). */
enum MHD_Result http_reply(struct request *r, unsigned status, const char *ctype, char *body,
                           size_t len, unsigned flags);
/* As http_reply(), with a Cache-Control header value (borrowed; on the 304 as well).
 * NULL: the default of http_reply() ("no-cache", or "private, no-cache" with a token,
 * on answers that carry an ETag). */
enum MHD_Result http_reply_cc(struct request *r, unsigned status, const char *ctype, char *body,
                              size_t len, unsigned flags, const char *cache_control);
/* doc: taken. */
enum MHD_Result http_reply_json(struct request *r, unsigned status, json_t *doc, unsigned flags);
/* A CKAN-shaped error envelope for err (action may be NULL). */
enum MHD_Result http_reply_api_error(struct request *r, const char *action, const struct err *err);
/* An HTML error page. */
enum MHD_Result http_reply_html_error(struct request *r, unsigned status, const char *message);
/* An error shaped for the route (API JSON, else HTML). */
enum MHD_Result http_reply_error(struct request *r, const struct err *err);
/* Adds the headers every response carries. */
void http_common_headers(struct request *r, struct MHD_Response *resp, bool html);
/* Queues resp (taking it) with status, recording it for the access log. */
enum MHD_Result http_queue(struct request *r, unsigned status, struct MHD_Response *resp,
                           uint64_t bytes);

/* A request header, or NULL. */
const char *http_header(struct request *r, const char *name);

/* The ledger over HTTP (ledger.c): the tlog-tiles read API (c2sp.org/tlog-tiles:
 * checkpoint, tiles, entry bundles) and the JSON API of api/api-ledger.c. */
enum MHD_Result http_ledger_checkpoint(struct request *r);
enum MHD_Result http_ledger_tile(struct request *r);
enum MHD_Result http_ledger_entries(struct request *r);
enum MHD_Result http_ledger_inclusion(struct request *r);
enum MHD_Result http_ledger_consistency(struct request *r);
enum MHD_Result http_ledger_key(struct request *r);

/* Web sessions and the publisher pages (publish.c; docs/internals/web.md, "Publisher
 * pages"). */
/* The session cookie's and the sign-in form's pre-session cookie's names. */
#define HTTP_SESSION_COOKIE "kf_session"
#define HTTP_LOGIN_COOKIE   "kf_login"
/* For a route that is no API route and a request without an API token: the actor of the
 * session cookie, if any and still valid (an ended one leaves the caller anonymous).
 * Returns 0, or -1 after queueing 500 when the store fails. */
int http_session_resolve(struct request *r);

/* Runs a CKAN action for a page's form as r's actor through the API layer (so that its
 * hooks and checks are the API's: an uploaded table is queued for the ingest) and turns
 * a failure back into err: the envelope's message, the field it names, the kind of its
 * status. *result: the action's result on success (new reference), else NULL. Returns 0
 * or the negative error kind. */
int http_page_action(struct request *r, const char *name, json_t *params, const struct upload *up,
                     json_t **result, struct err *err);

/* Queues a 303 to the sign-in form, coming back to r's path afterwards. */
enum MHD_Result http_to_login(struct request *r);

/* Queues a page of a form (b, taken) with status, never stored by any cache; rc < 0:
 * the error page of err instead (b released). */
enum MHD_Result http_reply_form(struct request *r, unsigned status, int rc, struct buf *b,
                                struct err *err);

/* Queues an empty 303 to loc (a path on this site; released), never cached. */
enum MHD_Result http_see_other(struct request *r, struct buf *loc);

/* The CSRF check of every state-changing POST to a page (not the API, which takes API
 * tokens only): the form's csrf_token must equal the session's (ROUTE_LOGIN: the
 * pre-session cookie's). Returns 0, or -1 after queueing 403 with the reason. */
int http_csrf_check(struct request *r);
enum MHD_Result http_login_page(struct request *r);
enum MHD_Result http_login(struct request *r);
enum MHD_Result http_logout(struct request *r);
/* The publisher pages (ui-publish.c renders them): GET shows the form, POST (checked for
 * its CSRF token by dispatch()) runs the action through the API layer and answers 303 to
 * the result, or the form again with the error next to its field. Anonymous callers are
 * sent to sign in; callers who may not edit the dataset get 403. */
enum MHD_Result http_dataset_new(struct request *r);
enum MHD_Result http_dataset_edit(struct request *r);
enum MHD_Result http_resource_new(struct request *r);
enum MHD_Result http_ingest_page(struct request *r);
enum MHD_Result http_dictionary(struct request *r);
/* The account pages (account.c; ui-account.c renders them): "/user/account" (anyone
 * signed in: password, API tokens), "/user" (sysadmins: the users), "/organization/
 * members/<id>" (the organization's admins: members and roles), "/organization/grants/
 * <id>" (its approvers: pending grant requests). GET shows the page, POST runs its "op"
 * and answers 303 back with "done", or the page with the error. Anonymous: 303 to sign in;
 * not allowed: 403; unknown organization: 404. */
enum MHD_Result http_account_page(struct request *r);
enum MHD_Result http_users_page(struct request *r);
enum MHD_Result http_members_page(struct request *r);
enum MHD_Result http_grants_page(struct request *r);
/* POST "/dataset/<id>/resource/<rid>/override" {justification}: datastore_privacy_override
 * as r's actor (an approver, not the table's publisher: the action checks), then 303 back
 * to the resource page's privacy report; an error is its page (403, 404, 409). */
enum MHD_Result http_privacy_override(struct request *r);

/* Downloads (download.c). */
enum MHD_Result http_download(struct request *r);

/* Datastore dumps, /datastore/dump/<resource_id> (dump.c). */
enum MHD_Result http_datastore_dump(struct request *r);

/* The metadata exports (dcat.c): /data.json, /catalog.<ext>, /dataset/<id>.<ext> (and
 * /dataset/<id> with an RDF type in Accept: http_dcat_dataset_wanted() tells),
 * /dataset/<id>/datapackage.json. */
enum MHD_Result http_dcat_data_json(struct request *r);
enum MHD_Result http_dcat_catalog(struct request *r);
bool http_dcat_dataset_wanted(struct request *r);
enum MHD_Result http_dcat_dataset(struct request *r);
enum MHD_Result http_dcat_datapackage(struct request *r);

/* The per-thread cache of anonymous catalog reads (cache.c). init/fini once per
 * server_run, around the daemon's life. */
struct cache_entry;
void http_cache_init(void);
void http_cache_fini(void);
/* The cache key of an action request: the action and its query arguments in order.
 * key is initialised here; -1 (key released) when it would be longer than 1 KiB. */
int http_cache_key(struct request *r, const char *action, struct buf *key);
/* The entry for key if it was stored at this version, else NULL. */
struct cache_entry *http_cache_find(const struct buf *key, uint64_t version);
/* Stores a copy of body (NULL when too large to keep); the entry is valid until the
 * next http_cache_put on this thread. */
struct cache_entry *http_cache_put(const struct buf *key, uint64_t version, const char *body,
                                   size_t len);
/* As http_cache_put, for an answer of http_reply_cc() with these reply_flags (REPLY_HTML:
 * an HTML page, with its Content-Type, CSP and Vary; REPLY_VARY_ACCEPT). */
struct cache_entry *http_cache_put_as(const struct buf *key, uint64_t version, const char *body,
                                      size_t len, unsigned flags);
/* Answers from an entry: 304, gzip or identity, with its ETag. */
enum MHD_Result http_cache_reply(struct request *r, struct cache_entry *e);

/* Access log (accesslog.c). */
int http_access_log_open(struct http_server *srv, struct err *err);
void http_access_log_close(struct http_server *srv);
void http_access_log_write(struct http_server *srv, const struct request *r);

/* A body source for http_stream_response(): read gives up to max bytes into buf, 0 at
 * the end, < 0 on failure (the response is then cut short). */
typedef long (*http_source_read_fn)(void *src, char *buf, size_t max);
typedef void (*http_source_free_fn)(void *src);

/*
 * A response whose body is read from src while it is sent (chunked, memory bounded by
 * one 64 KiB block), compressed as a gzip member (RFC 1952, zlib level 1) on the way when
 * gzip, with "Content-Encoding: gzip" then. Adds the bytes sent to r->bytes. Owns src
 * from the call on (free_src(src) when the response is done, or at once when NULL is
 * returned: zlib or libmicrohttpd could not start). The caller adds the other headers
 * and queues it.
 */
struct MHD_Response *http_stream_response(struct request *r, void *src, http_source_read_fn read,
                                          http_source_free_fn free_src, bool gzip);

#endif
