/*
 * cache.c - a per-thread cache of anonymous catalog reads (package_show,
 * package_search, …, and the HTML pages that only read the catalog, routes.c): the
 * serialised CKAN envelope or page, its SHA-256 and, once asked for,
 * its gzip form, keyed by the action and its query arguments and valid while
 * store_catalog_version() is unchanged (store_version() for an answer that shows the
 * ledger: routes.c, API_LEDGER_VIEW).
 *
 * Why: a cached package_show skips the store read, two passes of jansson (parse and
 * dump) and the ETag hash, which together are most of its cost. Why per thread: no
 * lock and no reference counting on the hot path; a request stays on one libmicrohttpd
 * thread for its whole life. The price is one copy per thread of a popular answer.
 *
 * Correctness: only requests without an API token use it, so every entry is what any
 * anonymous caller would be sent. The version is read before the action runs: a write
 * that commits meanwhile makes the entry stale at once, never a stale entry current.
 * The version is read from the database, so writes by other processes (the CLI)
 * invalidate too.
 */
#include <jansson.h>
#include <microhttpd.h>

#include "http/http-int.h"
#include "core/util.h"

#define CACHE_SLOTS    256
#define CACHE_BODY_MAX (64u * 1024) /* larger answers are not kept: at most 16 MiB per thread */
#define CACHE_KEY_MAX  1024u

struct cache_entry {
    uint64_t version;
    uint64_t hash;
    char *key;
    size_t keylen;
    char *body;
    size_t len;
    char *gz; /* NULL until a client asked for gzip */
    size_t gzlen;
    unsigned flags; /* REPLY_HTML (an HTML page), REPLY_VARY_ACCEPT */
    char hex[SHA256_HEX_LEN];
};

struct cache {
    struct cache_entry slots[CACHE_SLOTS];
};

static pthread_key_t cache_tls;

static void entry_clear(struct cache_entry *e)
{
    free(e->key);
    free(e->body);
    free(e->gz);
    memset(e, 0, sizeof(*e));
}

static void cache_free(void *p)
{
    struct cache *c = p;
    size_t i;

    if (!c)
        return;
    for (i = 0; i < CACHE_SLOTS; i++)
        entry_clear(&c->slots[i]);
    free(c);
}

void http_cache_init(void)
{
    BUG_ON(pthread_key_create(&cache_tls, cache_free));
}

void http_cache_fini(void)
{
    /* The worker threads have exited (their destructors freed their caches); the
     * calling thread may have one too if it served requests. */
    cache_free(pthread_getspecific(cache_tls));
    pthread_setspecific(cache_tls, NULL);
    pthread_key_delete(cache_tls);
}

/* FNV-1a, 64 bits: keys are short and this is not exposed to collisions that matter
 * (a collision only evicts; lookups compare the whole key). */
static uint64_t fnv1a(const char *s, size_t n)
{
    uint64_t h = 0xcbf29ce484222325ull;
    size_t i;

    for (i = 0; i < n; i++) {
        h ^= (unsigned char)s[i];
        h *= 0x100000001b3ull;
    }
    return h;
}

static enum MHD_Result add_arg(void *cls, enum MHD_ValueKind kind, const char *key,
                               const char *value)
{
    struct buf *b = cls;

    (void)kind;
    /* NUL separators: keys and values cannot contain NUL, so the key is unambiguous */
    buf_addstr(b, key);
    buf_addch(b, '\0');
    buf_addstr(b, value ? value : "");
    buf_addch(b, '\0');
    return MHD_YES;
}

int http_cache_key(struct request *r, const char *action, struct buf *key)
{
    buf_init(key, CACHE_KEY_MAX);
    buf_addstr(key, action);
    buf_addch(key, '\0');
    MHD_get_connection_values(r->conn, MHD_GET_ARGUMENT_KIND, add_arg, key);
    if (buf_failed(key)) {
        buf_release(key);
        return -1;
    }
    return 0;
}

static struct cache *cache_get(void)
{
    struct cache *c = pthread_getspecific(cache_tls);

    if (!c) {
        c = xcalloc(1, sizeof(*c));
        pthread_setspecific(cache_tls, c);
    }
    return c;
}

struct cache_entry *http_cache_find(const struct buf *key, uint64_t version)
{
    struct cache *c = cache_get();
    uint64_t h = fnv1a(key->buf, key->len);
    struct cache_entry *e = &c->slots[h % CACHE_SLOTS];

    if (e->body && e->version == version && e->hash == h && e->keylen == key->len &&
        !memcmp(e->key, key->buf, key->len))
        return e;
    return NULL;
}

struct cache_entry *http_cache_put(const struct buf *key, uint64_t version, const char *body,
                                   size_t len)
{
    return http_cache_put_as(key, version, body, len, 0);
}

struct cache_entry *http_cache_put_as(const struct buf *key, uint64_t version, const char *body,
                                      size_t len, unsigned flags)
{
    struct cache *c;
    struct cache_entry *e;
    uint64_t h;
    uint8_t md[SHA256_LEN];

    if (len > CACHE_BODY_MAX)
        return NULL;
    c = cache_get();
    h = fnv1a(key->buf, key->len);
    e = &c->slots[h % CACHE_SLOTS];
    entry_clear(e);
    e->version = version;
    e->hash = h;
    e->key = xmalloc(key->len);
    memcpy(e->key, key->buf, key->len);
    e->keylen = key->len;
    e->body = xmalloc(len + 1);
    memcpy(e->body, body, len);
    e->body[len] = '\0';
    e->len = len;
    e->flags = flags;
    sha256(body, len, md);
    hex_encode(md, sizeof(md), e->hex);
    return e;
}

enum MHD_Result http_cache_reply(struct request *r, struct cache_entry *e)
{
    struct MHD_Response *resp;
    char etag[HTTP_ETAG_MAX];
    bool negotiated = e->len >= HTTP_GZIP_MIN, gzip = false, html = e->flags & REPLY_HTML;
    char vary_buf[96] = "";
    const char *vary = NULL;

    if (negotiated && http_accepts_gzip(http_header(r, MHD_HTTP_HEADER_ACCEPT_ENCODING))) {
        if (!e->gz) {
            struct buf z;

            buf_init(&z, e->len + 1024);
            if (!http_gzip(e->body, e->len, &z))
                e->gz = buf_detach(&z, &e->gzlen);
            else
                buf_release(&z);
        }
        gzip = e->gz != NULL;
    }
    /* As http_reply_cc() says it for the same answer. */
    xsnprintf(vary_buf, sizeof(vary_buf), "%s%s%s", e->flags & REPLY_VARY_ACCEPT ? ", Accept" : "",
              negotiated ? ", Accept-Encoding" : "", html ? ", Accept-Language, Cookie" : "");
    if (vary_buf[0])
        vary = vary_buf + 2;
    http_etag_from_hex(e->hex, gzip, etag);
    if (http_etag_match(http_header(r, MHD_HTTP_HEADER_IF_NONE_MATCH), etag)) {
        resp = MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
        MHD_add_response_header(resp, MHD_HTTP_HEADER_ETAG, etag);
        if (vary)
            MHD_add_response_header(resp, MHD_HTTP_HEADER_VARY, vary);
        http_common_headers(r, resp, html);
        return http_queue(r, MHD_HTTP_NOT_MODIFIED, resp, 0);
    }
    /* Copied: the entry may be replaced by the next request on this thread while
     * libmicrohttpd is still sending this one. */
    resp = MHD_create_response_from_buffer(gzip ? e->gzlen : e->len, gzip ? e->gz : e->body,
                                           MHD_RESPMEM_MUST_COPY);
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE,
                            html ? HTTP_HTML_TYPE : HTTP_JSON_TYPE);
    if (gzip)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_ENCODING, "gzip");
    if (vary)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_VARY, vary);
    MHD_add_response_header(resp, MHD_HTTP_HEADER_ETAG, etag);
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-cache");
    http_common_headers(r, resp, html);
    return http_queue(r, MHD_HTTP_OK, resp, gzip ? e->gzlen : e->len);
}
