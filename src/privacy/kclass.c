/*
 * kclass.c - counting equivalence classes over quasi-identifiers (kclass.h).
 *
 * Each row's values are encoded into one key (per value: a kind byte, then for TEXT its
 * length as 8 bytes and its bytes, for INT its 8 bytes), so that no two different rows
 * share a key whatever bytes they hold. Keys live in one growing arena; an open-addressed
 * table of (hash, offset, length, count) finds them. FNV-1a picks the slot; keys are
 * compared in full, so a hash collision never merges two classes (which would overstate
 * k, the direction a privacy check must not err in).
 */
#include <string.h>

#include "core/util.h"
#include "privacy/kclass.h"

struct slot {
    uint64_t hash;
    uint64_t off; /* key bytes at arena + off */
    uint64_t len;
    uint64_t count; /* 0: empty slot */
};

struct kclass {
    size_t n;
    struct slot *slots;
    size_t cap; /* power of two */
    size_t used;
    char *arena;
    size_t arena_len, arena_cap;
    char *key; /* the current row's key */
    size_t key_cap;
    uint64_t rows;
};

struct kclass *kclass_new(size_t n)
{
    struct kclass *k = xcalloc(1, sizeof(*k));

    k->n = n ? n : 1;
    k->cap = 1024;
    k->slots = xcalloc(k->cap, sizeof(*k->slots));
    return k;
}

static uint64_t fnv1a(const char *p, size_t len)
{
    uint64_t h = 14695981039346656037ull;

    for (size_t i = 0; i < len; i++) {
        h ^= (unsigned char)p[i];
        h *= 1099511628211ull;
    }
    return h;
}

static void key_put(struct kclass *k, size_t *len, const void *p, size_t n)
{
    if (*len + n > k->key_cap) {
        k->key_cap = (*len + n) * 2 + 64;
        k->key = xrealloc(k->key, k->key_cap);
    }
    memcpy(k->key + *len, p, n);
    *len += n;
}

static void grow(struct kclass *k)
{
    size_t cap = k->cap * 2;
    struct slot *slots = xcalloc(cap, sizeof(*slots));

    for (size_t i = 0; i < k->cap; i++) {
        size_t j;

        if (!k->slots[i].count)
            continue;
        for (j = k->slots[i].hash & (cap - 1); slots[j].count; j = (j + 1) & (cap - 1))
            ;
        slots[j] = k->slots[i];
    }
    free(k->slots);
    k->slots = slots;
    k->cap = cap;
}

void kclass_add(struct kclass *k, const struct dsvalue *values)
{
    size_t len = 0, j;
    uint64_t h;

    for (size_t i = 0; i < k->n; i++) {
        const struct dsvalue *v = &values[i];
        unsigned char kind = (unsigned char)v->kind;
        uint64_t x;

        key_put(k, &len, &kind, 1);
        if (v->kind == DSVALUE_INT) {
            x = (uint64_t)v->i;
            key_put(k, &len, &x, sizeof(x));
        } else if (v->kind == DSVALUE_TEXT) {
            x = v->len;
            key_put(k, &len, &x, sizeof(x));
            if (v->len)
                key_put(k, &len, v->s, v->len);
        }
    }
    h = fnv1a(k->key, len);
    k->rows++;
    for (j = h & (k->cap - 1); k->slots[j].count; j = (j + 1) & (k->cap - 1)) {
        struct slot *s = &k->slots[j];

        if (s->hash == h && s->len == len && !memcmp(k->arena + s->off, k->key, len)) {
            s->count++;
            return;
        }
    }
    if (k->arena_len + len > k->arena_cap) {
        k->arena_cap = (k->arena_len + len) * 2 + 4096;
        k->arena = xrealloc(k->arena, k->arena_cap);
    }
    memcpy(k->arena + k->arena_len, k->key, len);
    k->slots[j] = (struct slot){h, k->arena_len, len, 1};
    k->arena_len += len;
    /* at most half full, so probes stay short */
    if (++k->used * 2 > k->cap)
        grow(k);
}

uint64_t kclass_rows(const struct kclass *k)
{
    return k->rows;
}

uint64_t kclass_classes(const struct kclass *k)
{
    return k->used;
}

uint64_t kclass_min(const struct kclass *k)
{
    uint64_t m = 0;

    for (size_t i = 0; i < k->cap; i++) {
        uint64_t c = k->slots[i].count;

        if (c && (!m || c < m))
            m = c;
    }
    return m;
}

uint64_t kclass_rows_below(const struct kclass *k, uint64_t kmin)
{
    uint64_t n = 0;

    for (size_t i = 0; i < k->cap; i++)
        if (k->slots[i].count && k->slots[i].count < kmin)
            n += k->slots[i].count;
    return n;
}

void kclass_free(struct kclass *k)
{
    if (!k)
        return;
    free(k->slots);
    free(k->arena);
    free(k->key);
    free(k);
}
