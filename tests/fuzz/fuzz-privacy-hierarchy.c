/*
 * Fuzz harness for the reader of ARX hierarchy CSV files (src/privacy/hierarchy.c,
 * anon_hierarchy_parse()). The input is parsed as a hierarchy; the built-in hierarchies
 * are also built over its lines as column values.
 *
 * Invariants, beyond "no crash":
 * - a hierarchy accepted has at least one row and one level, at most ANON_MAX_LEVELS
 *   levels, and every row has exactly height values (none NULL);
 * - its level-0 values are pairwise distinct;
 * - each level is a function of the one below: equal values at level l have equal values
 *   at level l + 1;
 * - a rejected input leaves *out NULL and sets a message that names the hierarchy;
 * - a built-in hierarchy accepted over n distinct values has n rows whose level 0 is
 *   those values in order, and the same invariants.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "privacy/anon.h"
#include "core/util.h"

#define FUZZ_MAX_INPUT (64u * 1024)

static void check(const struct anon_hierarchy *h)
{
    if (!h->nrows || !h->height || h->height > ANON_MAX_LEVELS)
        abort();
    for (size_t r = 0; r < h->nrows * h->height; r++)
        if (!h->cells[r])
            abort();
    /* quadratic, but inputs are small */
    for (size_t a = 0; a < h->nrows; a++)
        for (size_t b = a + 1; b < h->nrows; b++) {
            if (!strcmp(h->cells[a * h->height], h->cells[b * h->height]))
                abort();
            for (size_t l = 0; l + 1 < h->height; l++)
                if (!strcmp(h->cells[a * h->height + l], h->cells[b * h->height + l]) &&
                    strcmp(h->cells[a * h->height + l + 1], h->cells[b * h->height + l + 1]))
                    abort();
        }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const specs[] = {"date", "interval:3,6", "interval:1", "region",
                                        "mask", "postal",       "interval:0", "bogus"};
    struct anon_hierarchy *h = NULL;
    struct err err = ERR_INIT;
    char **vals = NULL;
    size_t n = 0;

    if (size > FUZZ_MAX_INPUT)
        return 0;
    if (anon_hierarchy_parse(&h, (const char *)data, size, "fuzz.csv", &err) == 0) {
        if (!h)
            abort();
        check(h);
        anon_hierarchy_free(h);
        h = NULL;
    } else if (h || !strstr(err.msg, "fuzz.csv")) {
        abort();
    }

    /* the distinct lines (without NUL bytes) as a column's values */
    char *text = xstrndup((const char *)data, size);
    vals = xcalloc(size + 1, sizeof(*vals));
    for (char *p = text; p < text + strlen(text);) {
        size_t w = strcspn(p, "\n");
        bool dup = false;
        p[w] = '\0';
        for (size_t i = 0; i < n && !dup; i++)
            dup = !strcmp(vals[i], p);
        if (!dup)
            vals[n++] = p;
        p += w + 1;
    }
    for (size_t s = 0; s < ARRAY_SIZE(specs); s++) {
        err_clear(&err);
        if (anon_hierarchy_builtin(&h, specs[s], (const char *const *)vals, n, &err) == 0) {
            if (!h || h->nrows != n)
                abort();
            for (size_t r = 0; r < n; r++)
                if (strcmp(h->cells[r * h->height], vals[r]))
                    abort();
            if (n)
                check(h);
            anon_hierarchy_free(h);
            h = NULL;
        } else if (h) {
            abort();
        }
    }
    free(vals);
    free(text);
    return 0;
}
