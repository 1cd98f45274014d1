/*
 * Fuzz harness for dcat_split_objects() (src/dcat/split.c), which cuts the datasets of
 * a package_search page given as text apart before data.json looks them up in its
 * cache.
 *
 * Input: the text.
 *
 * Invariants checked, beyond "no crash" (ASan sees every read past the end):
 * - on success the pieces, in order and joined by ',', are the input again, each one
 *   starting with '{' and ending with '}';
 * - jansson as the reference: when "[" + input + "]" parses as an array of objects, the
 *   split succeeds with that many pieces, and each piece parses as the object at its
 *   place.
 */
#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dcat/dcat-int.h"
#include "core/util.h"

#define PIECES 64

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t starts[PIECES], lens[PIECES], n = 0, i;
    const char *text = (const char *)data;
    char *wrapped = NULL;
    json_t *ref;
    int ret = dcat_split_objects(text, size, starts, lens, PIECES, &n);

    if (!ret) {
        size_t at = 0;

        BUG_ON(n > PIECES);
        for (i = 0; i < n; i++) {
            BUG_ON(starts[i] != at + (i ? 1 : 0));
            BUG_ON(i && text[at] != ',');
            BUG_ON(lens[i] < 2 || text[starts[i]] != '{' || text[starts[i] + lens[i] - 1] != '}');
            at = starts[i] + lens[i];
        }
        BUG_ON(at != size);
    }
    wrapped = xmalloc(size + 3);
    wrapped[0] = '[';
    memcpy(wrapped + 1, data, size);
    wrapped[size + 1] = ']';
    wrapped[size + 2] = '\0';
    ref = json_loadb(wrapped, size + 2, JSON_ALLOW_NUL, NULL);
    if (json_is_array(ref) && json_array_size(ref) <= PIECES) {
        json_t *v;
        bool objects = true;

        json_array_foreach (ref, i, v)
            objects = objects && json_is_object(v);
        if (objects && !memchr(data, ' ', size) && !memchr(data, '\n', size) &&
            !memchr(data, '\t', size) && !memchr(data, '\r', size)) {
            /* Compact text (no white space between tokens, as jansson writes it). */
            BUG_ON(ret != 0 || n != json_array_size(ref));
            for (i = 0; i < n; i++) {
                json_t *piece = json_loadb(text + starts[i], lens[i], JSON_ALLOW_NUL, NULL);

                BUG_ON(!json_equal(piece, json_array_get(ref, i)));
                json_decref(piece);
            }
        }
    }
    json_decref(ref);
    free(wrapped);
    return 0;
}
