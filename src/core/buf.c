#include "core/buf.h"
#include "core/util.h"

char buf_empty[1];

void buf_init(struct buf *b, size_t max)
{
    b->buf = buf_empty;
    b->len = 0;
    b->alloc = 0;
    b->max = max ? max : BUF_MAX_DEFAULT;
    b->failed = false;
}

void buf_release(struct buf *b)
{
    size_t max = b->max;

    if (b->alloc)
        free(b->buf);
    buf_init(b, max);
}

void buf_reset(struct buf *b)
{
    b->len = 0;
    b->failed = false;
    if (b->alloc)
        b->buf[0] = '\0';
}

char *buf_detach(struct buf *b, size_t *len)
{
    char *out;

    if (len)
        *len = b->len;
    if (!b->alloc) {
        out = xmalloc(1);
        out[0] = '\0';
    } else {
        out = b->buf;
    }
    buf_init(b, b->max);
    return out;
}

void buf_grow(struct buf *b, size_t extra)
{
    size_t want;

    if (b->failed)
        return;
    if (extra > b->max - b->len) {
        b->failed = true;
        return;
    }
    want = b->len + extra + 1;
    if (want <= b->alloc)
        return;
    if (want < b->alloc * 2)
        want = b->alloc * 2;
    if (want < 64)
        want = 64;
    if (!b->alloc) {
        b->buf = xmalloc(want);
        b->buf[0] = '\0';
    } else {
        b->buf = xrealloc(b->buf, want);
    }
    b->alloc = want;
}

void buf_add(struct buf *b, const void *data, size_t len)
{
    buf_grow(b, len);
    if (b->failed || !len)
        return;
    memcpy(b->buf + b->len, data, len);
    b->len += len;
    b->buf[b->len] = '\0';
}

void buf_addstr(struct buf *b, const char *s)
{
    buf_add(b, s, strlen(s));
}

void buf_addch(struct buf *b, int c)
{
    char ch = (char)c;

    buf_add(b, &ch, 1);
}

void buf_vaddf(struct buf *b, const char *fmt, va_list ap)
{
    va_list cp;
    int n;

    if (b->failed)
        return;
    buf_grow(b, 64);
    if (b->failed)
        return;
    va_copy(cp, ap);
    n = vsnprintf(b->buf + b->len, b->alloc - b->len, fmt, cp);
    va_end(cp);
    if (n < 0) {
        b->failed = true;
        b->buf[b->len] = '\0';
        return;
    }
    if ((size_t)n >= b->alloc - b->len) {
        buf_grow(b, (size_t)n);
        if (b->failed) {
            b->buf[b->len] = '\0';
            return;
        }
        vsnprintf(b->buf + b->len, b->alloc - b->len, fmt, ap);
    }
    b->len += (size_t)n;
}

void buf_addf(struct buf *b, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    buf_vaddf(b, fmt, ap);
    va_end(ap);
}

void buf_setlen(struct buf *b, size_t len)
{
    BUG_ON(len > b->len);
    b->len = len;
    if (b->alloc)
        b->buf[len] = '\0';
}
