/*
 * headers.c - parsing of the request headers Kaifang honours (Range, Accept-Encoding,
 * If-None-Match, Content-Type), ETags, gzip, route patterns. Pure functions: no
 * libmicrohttpd, no catalog, so tests/unit/test-http.c calls them directly.
 */
#include <ctype.h>
#include <pthread.h>
#include <zlib.h>

#include "crypto/digest.h"
#include "core/parse.h"
#include "http/http-int.h"
#include "core/util.h"

static const char *skip_ows(const char *p)
{
    while (*p == ' ' || *p == '\t')
        p++;
    return p;
}

/* Parses the decimal digits at *pp into *out, advancing *pp past all of them. -1 when
 * there are none. A value past uint64_t saturates at UINT64_MAX: in a Range every
 * position is compared with the representation's size, and RFC 9110 §14.1.2 clamps a
 * last-byte-pos past the end, however many digits it has. */
static int parse_digits(const char **pp, uint64_t *out)
{
    const char *p = *pp;
    uint64_t v = 0;

    if (!isdigit((unsigned char)*p))
        return -1;
    while (isdigit((unsigned char)*p)) {
        unsigned d = (unsigned)(*p - '0');
        if (v > (UINT64_MAX - d) / 10)
            v = UINT64_MAX;
        else
            v = v * 10 + d;
        p++;
    }
    *pp = p;
    *out = v;
    return 0;
}

enum http_range_result http_range_parse(const char *header, uint64_t size, uint64_t *first,
                                        uint64_t *last)
{
    const char *p;
    uint64_t a = 0, b = 0;
    bool have_a = false, have_b = false;

    if (!header)
        return HTTP_RANGE_NONE;
    p = skip_ows(header);
    if (strncasecmp(p, "bytes", 5))
        return HTTP_RANGE_NONE;
    p = skip_ows(p + 5);
    if (*p++ != '=')
        return HTTP_RANGE_NONE;
    p = skip_ows(p);
    if (isdigit((unsigned char)*p)) {
        if (parse_digits(&p, &a))
            return HTTP_RANGE_NONE;
        have_a = true;
    }
    if (*p++ != '-')
        return HTTP_RANGE_NONE;
    if (isdigit((unsigned char)*p)) {
        if (parse_digits(&p, &b))
            return HTTP_RANGE_NONE;
        have_b = true;
    }
    p = skip_ows(p);
    /* Several ranges: answered with the whole representation, which RFC 9110 allows. */
    if (*p)
        return HTTP_RANGE_NONE;
    if (!have_a && !have_b)
        return HTTP_RANGE_NONE;
    if (have_a && have_b && b < a)
        return HTTP_RANGE_NONE; /* invalid range-spec: ignore the header */
    if (!have_a) {
        /* suffix-range "-n": the last n bytes */
        if (b == 0 || size == 0)
            return HTTP_RANGE_UNSATISFIABLE;
        *first = b >= size ? 0 : size - b;
        *last = size - 1;
        return HTTP_RANGE_OK;
    }
    if (a >= size)
        return HTTP_RANGE_UNSATISFIABLE;
    *first = a;
    *last = !have_b || b >= size ? size - 1 : b;
    return HTTP_RANGE_OK;
}

/* The q-value of one Accept-Encoding element's parameters (p just after the coding
 * name). Missing: 1000; malformed: 0. In thousandths. */
static unsigned parse_qvalue(const char *p, const char *end)
{
    unsigned q = 1000, scale = 100;

    while (p < end) {
        p = skip_ows(p);
        if (p < end && *p == ';') {
            p = skip_ows(p + 1);
            if (end - p >= 2 && (p[0] == 'q' || p[0] == 'Q') && p[1] == '=') {
                p += 2;
                if (p >= end || (*p != '0' && *p != '1'))
                    return 0;
                q = *p == '1' ? 1000 : 0;
                p++;
                if (p < end && *p == '.') {
                    p++;
                    while (p < end && isdigit((unsigned char)*p) && scale) {
                        if (q < 1000)
                            q += (unsigned)(*p - '0') * scale;
                        scale /= 10;
                        p++;
                    }
                }
                return q > 1000 ? 1000 : q;
            }
        }
        while (p < end && *p != ';')
            p++;
    }
    return q;
}

bool http_accepts_gzip(const char *accept_encoding)
{
    const char *p = accept_encoding;
    int gzip_q = -1, star_q = -1;

    if (!p)
        return false;
    while (*p) {
        const char *start, *name_end, *end;
        size_t n;

        p = skip_ows(p);
        start = p;
        while (*p && *p != ',' && *p != ';' && *p != ' ' && *p != '\t')
            p++;
        name_end = p;
        while (*p && *p != ',')
            p++;
        end = p;
        n = (size_t)(name_end - start);
        if ((n == 4 && !strncasecmp(start, "gzip", 4)) ||
            (n == 6 && !strncasecmp(start, "x-gzip", 6)))
            gzip_q = (int)parse_qvalue(name_end, end);
        else if (n == 1 && *start == '*')
            star_q = (int)parse_qvalue(name_end, end);
        if (*p == ',')
            p++;
    }
    if (gzip_q >= 0)
        return gzip_q > 0;
    return star_q > 0;
}

void http_etag_from_hex(const char *hex, bool gzip, char out[HTTP_ETAG_MAX])
{
    xsnprintf(out, HTTP_ETAG_MAX, "\"%.64s%s\"", hex, gzip ? "-gz" : "");
}

void http_etag_of(const void *body, size_t len, bool gzip, char out[HTTP_ETAG_MAX])
{
    uint8_t md[SHA256_LEN];
    char hex[SHA256_HEX_LEN];

    sha256(body, len, md);
    hex_encode(md, sizeof(md), hex);
    http_etag_from_hex(hex, gzip, out);
}

bool http_etag_match(const char *if_none_match, const char *etag)
{
    const char *p = if_none_match;
    size_t elen;

    if (!p || !etag)
        return false;
    if (!strncmp(etag, "W/", 2))
        etag += 2;
    elen = strlen(etag);
    while (*p) {
        const char *start;

        p = skip_ows(p);
        if (*p == '*')
            return true;
        if (!strncmp(p, "W/", 2))
            p += 2;
        start = p;
        if (*p == '"') {
            p++;
            while (*p && *p != '"')
                p++;
            if (*p == '"')
                p++;
        } else {
            while (*p && *p != ',')
                p++;
        }
        if ((size_t)(p - start) == elen && !memcmp(start, etag, elen))
            return true;
        while (*p && *p != ',')
            p++;
        if (*p == ',')
            p++;
    }
    return false;
}

/*
 * The compressor of the calling thread, made once and reset for each answer: a deflate
 * state at windowBits 15 and memLevel 8 is about 260 KiB, above malloc's mmap threshold,
 * so making one per answer cost an mmap, its page faults and an munmap each time (a
 * sixth of a freshly rendered dataset page's CPU time; BENCHMARKS.md, issue 4, "Fresh
 * renders"). Freed by the key's destructor when the thread exits.
 */
static pthread_key_t gzip_key;
static pthread_once_t gzip_once = PTHREAD_ONCE_INIT;

static void gzip_free(void *p)
{
    z_stream *zs = p;

    deflateEnd(zs);
    free(zs);
}

static void gzip_key_make(void)
{
    if (pthread_key_create(&gzip_key, gzip_free))
        die("cannot create the gzip thread key");
}

static z_stream *gzip_stream(void)
{
    z_stream *zs;

    pthread_once(&gzip_once, gzip_key_make);
    zs = pthread_getspecific(gzip_key);
    if (zs)
        return deflateReset(zs) == Z_OK ? zs : NULL;
    zs = xcalloc(1, sizeof(*zs));
    /* windowBits 15 + 16: a gzip header and trailer instead of zlib's */
    if (deflateInit2(zs, 1, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
        free(zs);
        return NULL;
    }
    if (pthread_setspecific(gzip_key, zs))
        die("cannot set thread-specific data");
    return zs;
}

int http_gzip(const void *in, size_t len, struct buf *out)
{
    z_stream *zs = gzip_stream();
    int zr;

    if (!zs)
        return -1;
    buf_grow(out, deflateBound(zs, (uLong)len));
    if (buf_failed(out))
        return -1;
    zs->next_in = (Bytef *)(uintptr_t)in;
    zs->avail_in = (uInt)len;
    zs->next_out = (Bytef *)out->buf + out->len;
    zs->avail_out = (uInt)(out->alloc - out->len - 1);
    zr = deflate(zs, Z_FINISH);
    if (zr != Z_STREAM_END)
        return -1;
    /* deflate wrote past len inside the room buf_grow() made; keep the NUL invariant */
    out->len += (size_t)(zs->next_out - ((Bytef *)out->buf + out->len));
    out->buf[out->len] = '\0';
    return 0;
}

int http_listen_parse(const char *listen, char *host, size_t hostsize, unsigned *port)
{
    const char *colon, *hstart, *hend;
    uint64_t v;
    size_t n;

    if (!listen)
        return -1;
    if (listen[0] == '[') {
        hstart = listen + 1;
        hend = strchr(hstart, ']');
        if (!hend || hend[1] != ':')
            return -1;
        colon = hend + 1;
    } else {
        colon = strrchr(listen, ':');
        if (!colon)
            return -1;
        hstart = listen;
        hend = colon;
        if (memchr(hstart, ':', (size_t)(hend - hstart)))
            return -1; /* a bare IPv6 address needs brackets */
    }
    n = (size_t)(hend - hstart);
    if (n >= hostsize)
        return -1;
    if (parse_u64(colon + 1, 65535, &v))
        return -1;
    memcpy(host, hstart, n);
    host[n] = '\0';
    *port = (unsigned)v;
    return 0;
}

void http_media_type(const char *content_type, char *out, size_t size)
{
    size_t n = 0;
    const char *p;

    if (!size)
        return;
    out[0] = '\0';
    if (!content_type)
        return;
    p = skip_ows(content_type);
    while (*p && *p != ';' && *p != ' ' && *p != '\t' && n + 1 < size)
        out[n++] = (char)tolower((unsigned char)*p++);
    out[n] = '\0';
}

int http_path_match(const char *pattern, const char *path, struct str *args, size_t nargs)
{
    const char *p = pattern, *s = path;
    int n = 0;

    while (*p) {
        if (*p == ':') {
            const char *seg = s;
            while (*p && *p != '/')
                p++;
            /* ":name*" as the last segment takes the rest of the path, slashes and all
             * (tlog-tiles paths such as "tile/1/x001/234.p/7" have a variable depth). */
            if (p[-1] == '*' && !*p) {
                s += strlen(s);
                if (s == seg)
                    return -1;
                if ((size_t)n < nargs) {
                    args[n].p = seg;
                    args[n].len = (size_t)(s - seg);
                }
                return n + 1;
            }
            while (*s && *s != '/')
                s++;
            if (s == seg)
                return -1;
            if ((size_t)n < nargs) {
                args[n].p = seg;
                args[n].len = (size_t)(s - seg);
            }
            n++;
            continue;
        }
        if (*p != *s)
            return -1;
        p++;
        s++;
    }
    if (*s == '/' && s[1] == '\0' && s != path && s[-1] != '/')
        s++;
    return *s ? -1 : n;
}

bool http_utf8_valid(const char *s, size_t len)
{
    const unsigned char *p = (const unsigned char *)s, *end = p + len;

    while (p < end) {
        unsigned c = *p, n, cp;

        if (c < 0x80) {
            p++;
            continue;
        }
        if (c >= 0xc2 && c <= 0xdf)
            n = 1, cp = c & 0x1f;
        else if (c >= 0xe0 && c <= 0xef)
            n = 2, cp = c & 0x0f;
        else if (c >= 0xf0 && c <= 0xf4)
            n = 3, cp = c & 0x07;
        else
            return false; /* continuation byte, overlong lead (c0, c1) or past f4 */
        if ((size_t)(end - p) <= n)
            return false;
        for (unsigned i = 1; i <= n; i++) {
            if ((p[i] & 0xc0) != 0x80)
                return false;
            cp = (cp << 6) | (p[i] & 0x3f);
        }
        /* overlong forms, surrogates, past U+10FFFF */
        if ((n == 2 && cp < 0x800) || (n == 3 && (cp < 0x10000 || cp > 0x10ffff)) ||
            (cp >= 0xd800 && cp <= 0xdfff))
            return false;
        p += n + 1;
    }
    return true;
}

struct str http_trim_ows(const char *s)
{
    struct str t = {s, 0};
    size_t n;

    if (!s)
        return t;
    while (*s == ' ' || *s == '\t')
        s++;
    n = strlen(s);
    while (n && (s[n - 1] == ' ' || s[n - 1] == '\t'))
        n--;
    t.p = s;
    t.len = n;
    return t;
}

void http_log_path(const char *url, char *out, size_t size)
{
    size_t n = strcspn(url, "?");

    if (n < size) {
        memcpy(out, url, n);
        out[n] = '\0';
        return;
    }
    BUG_ON(size < 4);
    memcpy(out, url, size - 4);
    memcpy(out + size - 4, "...", 4);
}
