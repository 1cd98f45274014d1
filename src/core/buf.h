/*
 * buf.h - the growable byte buffer (git's strbuf invariants, curl's dynbuf maximum,
 * SQLite's sqlite3_str sticky error).
 *
 * Invariants: b->buf is never NULL and always NUL-terminated at b->buf[b->len], so a
 * buffer can be used as a C string at any time. A buffer has a maximum size (0 means
 * BUF_MAX_DEFAULT); an append that would pass it appends nothing and sets the sticky
 * b->failed flag, which every later append respects. Check buf_failed() once at the
 * end of a sequence of appends instead of after each one.
 *
 * Not thread-safe: a buffer belongs to one thread at a time.
 */
#ifndef KAIFANG_CORE_BUF_H
#define KAIFANG_CORE_BUF_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>

#define BUF_MAX_DEFAULT ((size_t)1 << 31)

struct buf {
    char *buf;
    size_t len;
    size_t alloc; /* 0 while buf points at the shared empty string */
    size_t max;   /* largest len allowed */
    bool failed;
};

extern char buf_empty[];
#define BUF_INIT                                                                                   \
    {                                                                                              \
        buf_empty, 0, 0, BUF_MAX_DEFAULT, false                                                    \
    }

/* Initialises an empty buffer holding at most max bytes (0: BUF_MAX_DEFAULT). */
void buf_init(struct buf *b, size_t max);
/* Frees the memory and leaves b as after buf_init() with the same max. */
void buf_release(struct buf *b);
/* Empties b, keeping its memory. */
void buf_reset(struct buf *b);
/* Returns the contents as malloc'ed memory (free() it; never NULL) and resets b. The
 * length is stored in *len when len is not NULL. */
char *buf_detach(struct buf *b, size_t *len);

/* Appends; each does nothing once b->failed is set. */
void buf_add(struct buf *b, const void *data, size_t len);
void buf_addstr(struct buf *b, const char *s);
void buf_addch(struct buf *b, int c);
__attribute__((format(printf, 2, 3))) void buf_addf(struct buf *b, const char *fmt, ...);
void buf_vaddf(struct buf *b, const char *fmt, va_list ap);
/* Makes room for at least extra more bytes (subject to max). */
void buf_grow(struct buf *b, size_t extra);
/* Shortens to len (len <= b->len). */
void buf_setlen(struct buf *b, size_t len);

static inline bool buf_failed(const struct buf *b)
{
    return b->failed;
}

/* A non-owning slice of bytes, not necessarily NUL-terminated. */
struct str {
    const char *p;
    size_t len;
};

#endif
