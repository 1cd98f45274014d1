/*
 * split.c - the datasets of a package_search page given as text (stored package dicts,
 * each a compact JSON object, joined by ','), cut apart without parsing them: data.json
 * looks each up in its cache by its text before paying for a parse (cache.c).
 */
#include "dcat/dcat-int.h"
#include "core/util.h"

/* Bytes that matter outside strings: quote and brackets. */
static const unsigned char special[256] = {
        ['"'] = 1, ['{'] = 1, ['['] = 1, ['}'] = 1, [']'] = 1,
};

int dcat_split_objects(const char *text, size_t len, size_t *starts, size_t *lens, size_t max,
                       size_t *n)
{
    const char *p = text, *end = text + len, *start;
    size_t depth;

    *n = 0;
    while (p < end) {
        if (*n && *p++ != ',')
            return -1;
        if (p >= end || *p != '{' || *n == max)
            return -1;
        start = p;
        depth = 0;
        while (p < end) {
            char c;

            while (p < end && !special[(unsigned char)*p])
                p++;
            if (p == end)
                break;
            c = *p++;
            if (c == '"') {
                /* To the closing quote: the next quote not escaped by an odd run of
                 * backslashes. */
                for (;;) {
                    const char *q = memchr(p, '"', (size_t)(end - p)), *b;

                    if (!q)
                        return -1;
                    for (b = q; b > p && b[-1] == '\\'; b--)
                        ;
                    p = q + 1;
                    if ((q - b) % 2 == 0)
                        break;
                }
            } else if (c == '{' || c == '[') {
                depth++;
            } else if (!depth) {
                return -1;
            } else if (!--depth) {
                /* The object's own end: a '}' (inner brackets are not matched by kind;
                 * a stored text is jansson's, and a parse follows on a cache miss). */
                if (c != '}')
                    return -1;
                break;
            }
        }
        if (depth)
            return -1;
        starts[*n] = (size_t)(start - text);
        lens[*n] = (size_t)(p - start);
        (*n)++;
    }
    return 0;
}
