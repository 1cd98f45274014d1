#include <stdarg.h>

#include "core/util.h"

void die(const char *fmt, ...)
{
    va_list ap;

    fputs("fatal: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    exit(128);
}

void bug_fail(const char *file, int line, const char *cond)
{
    fprintf(stderr, "BUG: %s:%d: %s\n", file, line, cond);
    abort();
}

void *xmalloc(size_t size)
{
    void *p = malloc(size ? size : 1);

    if (!p)
        die("out of memory allocating %zu bytes", size);
    return p;
}

void *xcalloc(size_t nmemb, size_t size)
{
    void *p = calloc(nmemb ? nmemb : 1, size ? size : 1);

    if (!p)
        die("out of memory allocating %zu x %zu bytes", nmemb, size);
    return p;
}

void *xrealloc(void *ptr, size_t size)
{
    void *p = realloc(ptr, size ? size : 1);

    if (!p)
        die("out of memory reallocating to %zu bytes", size);
    return p;
}

char *xstrdup(const char *s)
{
    return xstrndup(s, strlen(s));
}

char *xstrndup(const char *s, size_t n)
{
    size_t len = strnlen(s, n);
    char *p = xmalloc(len + 1);

    memcpy(p, s, len);
    p[len] = '\0';
    return p;
}

char *xstrfmt(const char *fmt, ...)
{
    va_list ap;
    char *out = NULL;

    va_start(ap, fmt);
    if (vasprintf(&out, fmt, ap) < 0)
        die("out of memory formatting a string");
    va_end(ap);
    return out;
}

void xsnprintf(char *dst, size_t size, const char *fmt, ...)
{
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(dst, size, fmt, ap);
    va_end(ap);
    BUG_ON(n < 0 || (size_t)n >= size);
}

/* [lo, hi] code point ranges, sorted. */
struct cp_range {
    uint32_t lo, hi;
};

static const struct cp_range zero_width[] = {
        {0x0300, 0x036f}, {0x0483, 0x0489}, {0x0591, 0x05bd}, {0x0610, 0x061a}, {0x064b, 0x065f},
        {0x0e31, 0x0e31}, {0x0e34, 0x0e3a}, {0x0e47, 0x0e4e}, {0x1ab0, 0x1aff}, {0x1dc0, 0x1dff},
        {0x200b, 0x200f}, {0x202a, 0x202e}, {0x2060, 0x2064}, {0x20d0, 0x20ff}, {0x302a, 0x302d},
        {0x3099, 0x309a}, {0xfe00, 0xfe0f}, {0xfe20, 0xfe2f}, {0xfeff, 0xfeff}, {0xe0100, 0xe01ef},
};

static const struct cp_range wide[] = {
        {0x1100, 0x115f},   {0x231a, 0x231b},   {0x2e80, 0x303e},   {0x3041, 0x33ff},
        {0x3400, 0x4dbf},   {0x4e00, 0x9fff},   {0xa000, 0xa4cf},   {0xa960, 0xa97f},
        {0xac00, 0xd7a3},   {0xf900, 0xfaff},   {0xfe10, 0xfe19},   {0xfe30, 0xfe6f},
        {0xff00, 0xff60},   {0xffe0, 0xffe6},   {0x1f300, 0x1f64f}, {0x1f900, 0x1f9ff},
        {0x20000, 0x2fffd}, {0x30000, 0x3fffd},
};

static bool in_ranges(uint32_t cp, const struct cp_range *r, size_t n)
{
    size_t lo = 0, hi = n;

    while (lo < hi) {
        size_t mid = (lo + hi) / 2;

        if (cp < r[mid].lo)
            hi = mid;
        else if (cp > r[mid].hi)
            lo = mid + 1;
        else
            return true;
    }
    return false;
}

size_t utf8_width(const char *s, size_t len)
{
    const unsigned char *p = (const unsigned char *)s, *end = p + len;
    size_t w = 0;

    while (p < end) {
        uint32_t cp;
        size_t n;

        if (*p < 0x80) {
            w++;
            p++;
            continue;
        }
        n = *p >= 0xf0 && *p <= 0xf4   ? 4
            : *p >= 0xe0 && *p <= 0xef ? 3
            : *p >= 0xc2 && *p < 0xe0  ? 2
                                       : 0;
        if (!n || (size_t)(end - p) < n) {
            w++; /* not the start of a sequence: one column, as a terminal shows U+FFFD */
            p++;
            continue;
        }
        cp = n == 2 ? *p & 0x1f : n == 3 ? *p & 0x0f : *p & 0x07;
        for (size_t i = 1; i < n; i++) {
            if ((p[i] & 0xc0) != 0x80) {
                n = 0;
                break;
            }
            cp = cp << 6 | (p[i] & 0x3f);
        }
        if (!n) {
            w++;
            p++;
            continue;
        }
        p += n;
        if (in_ranges(cp, zero_width, sizeof(zero_width) / sizeof(zero_width[0])))
            continue;
        w += in_ranges(cp, wide, sizeof(wide) / sizeof(wide[0])) ? 2 : 1;
    }
    return w;
}

void fput_padded(const char *s, size_t width, FILE *f)
{
    size_t w = utf8_width(s, strlen(s));

    fputs(s, f);
    while (w++ < width)
        fputc(' ', f);
}
