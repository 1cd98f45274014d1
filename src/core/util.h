/*
 * util.h - allocation that aborts on failure, BUG_ON, small helpers.
 *
 * Allocation failure aborts the process (as in git and Redis): callers never check
 * for NULL from x*alloc(). Sizes that input controls must be checked against a limit
 * in core/limits.h before they reach these functions.
 *
 * Include system headers before this one: it ends with banned.h, which turns names
 * such as gmtime() into compile errors.
 */
#ifndef KAIFANG_CORE_UTIL_H
#define KAIFANG_CORE_UTIL_H

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* Prints "fatal: <message>" to stderr and exits with status 128. Never returns. */
__attribute__((noreturn, format(printf, 1, 2))) void die(const char *fmt, ...);

/* Always-on check for states that would corrupt the catalog, the ledger or a privacy
 * guarantee. Prints the location and aborts. Never use it for input validation. */
#define BUG_ON(cond)                                                                               \
    do {                                                                                           \
        if (cond)                                                                                  \
            bug_fail(__FILE__, __LINE__, #cond);                                                   \
    } while (0)
__attribute__((noreturn)) void bug_fail(const char *file, int line, const char *cond);

/* Allocators: same contracts as malloc/calloc/realloc/strdup, but abort on failure.
 * xmalloc(0) returns a unique pointer. Free with free(). */
void *xmalloc(size_t size);
void *xcalloc(size_t nmemb, size_t size);
void *xrealloc(void *ptr, size_t size);
char *xstrdup(const char *s);
/* Copies at most n bytes of s and NUL-terminates. */
char *xstrndup(const char *s, size_t n);
/* Formats into a newly allocated string; free() it. */
__attribute__((format(printf, 1, 2))) char *xstrfmt(const char *fmt, ...);

/* snprintf that dies when the output would not fit (a programming error: only for
 * fixed-size formats whose maximum length is known). */
__attribute__((format(printf, 3, 4))) void xsnprintf(char *dst, size_t size, const char *fmt, ...);

/* Grows an array: ensures alloc >= nr, growing geometrically. */
#define ALLOC_GROW(x, nr, alloc)                                                                   \
    do {                                                                                           \
        if ((nr) > (alloc)) {                                                                      \
            (alloc) = (alloc)*2 + 16 > (nr) ? (alloc)*2 + 16 : (nr);                               \
            (x) = xrealloc((x), (alloc) * sizeof(*(x)));                                           \
        }                                                                                          \
    } while (0)

/*
 * The width of UTF-8 text s (len bytes) in a terminal's columns, by Unicode's East Asian
 * Width (UAX #11) for the blocks a portal's tables hold: wide and full-width characters
 * (Hangul Jamo, CJK radicals, punctuation and ideographs with their extensions, kana,
 * Yi, Hangul syllables, CJK compatibility forms, full-width forms, the emoji blocks) 2;
 * combining marks, variation selectors and zero-width characters 0; everything else
 * 1, including each byte that does not start a well-formed sequence. Independent of
 * the locale (wcwidth() needs a UTF-8 LC_CTYPE, which the command line does not set).
 * Pure.
 */
size_t utf8_width(const char *s, size_t len);

/* Writes s to f followed by spaces up to width columns (utf8_width()); a wider s is
 * written whole, with no space. */
void fput_padded(const char *s, size_t width, FILE *f);

static inline bool str_eq(const char *a, const char *b)
{
    return a && b && !strcmp(a, b);
}

static inline bool starts_with(const char *s, const char *prefix)
{
    return !strncmp(s, prefix, strlen(prefix));
}

#include "core/banned.h"

#endif
