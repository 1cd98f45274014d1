/*
 * tiles.c - C2SP tlog-tiles (c2sp.org/tlog-tiles): writing hash tiles as the tree grows,
 * serving hash tiles and entry bundles, and tile paths.
 *
 * Tile height is 8: a tile row at level L holds up to 256 hashes, hash j being the root
 * of the perfect subtree over leaves [j * 256^L, (j + 1) * 256^L); level 0 holds leaf
 * hashes. The store keeps one row per tile with the hashes it has so far: a partial tile
 * grows in place, and the partial tile of width w for any checkpointed size is a prefix
 * of the stored row (tiles are append-only), so every partial width ever checkpointed
 * can still be served.
 */
#include "core/buf.h"
#include "ledger/ledger-int.h"
#include "ledger/ledger.h"
#include "core/util.h"

#define TILE_LEVELS  8 /* 256^8 = 2^64 leaves */
#define APPEND_CHUNK 4096

/* The rightmost tile of one level while appending. */
struct level_state {
    bool loaded;
    bool dirty;
    uint64_t index;
    size_t width;
    uint8_t hashes[LEDGER_TILE_WIDTH][LEDGER_HASH_LEN];
};

struct appender {
    struct store *s;
    uint64_t old_size;
    struct level_state *levels[TILE_LEVELS];
};

static int level_get(struct appender *a, unsigned level, struct level_state **out, struct err *err)
{
    struct level_state *l = a->levels[level];
    uint64_t count; /* hashes at this level in the old tree */
    size_t width = 0;
    int rc;

    if (!l) {
        l = a->levels[level] = xcalloc(1, sizeof(*l));
        count = a->old_size >> (LEDGER_TILE_HEIGHT * level);
        l->index = count / LEDGER_TILE_WIDTH;
        l->width = (size_t)(count % LEDGER_TILE_WIDTH);
        if (l->width) {
            rc = store_ledger_tile_get(a->s, level, l->index, l->hashes, &width, err);
            if (!rc && width != l->width)
                rc = err_set(err, ERR_INTERNAL, NULL,
                             "ledger tile %u/%" PRIu64 " holds %zu hashes, not %zu", level,
                             l->index, width, l->width);
            if (rc)
                return rc;
        }
        l->loaded = true;
    }
    *out = l;
    return 0;
}

/* Appends one hash at level; a tile that fills is written and its root goes up. */
static int push(struct appender *a, unsigned level, const uint8_t h[LEDGER_HASH_LEN],
                struct err *err)
{
    uint8_t root[LEDGER_HASH_LEN];
    struct level_state *l = NULL;
    int rc;

    BUG_ON(level >= TILE_LEVELS);
    rc = level_get(a, level, &l, err);
    if (rc)
        return rc;
    memcpy(l->hashes[l->width++], h, LEDGER_HASH_LEN);
    l->dirty = true;
    if (l->width < LEDGER_TILE_WIDTH)
        return 0;
    rc = store_ledger_tile_put(a->s, level, l->index, (const uint8_t(*)[LEDGER_HASH_LEN])l->hashes,
                               l->width, err);
    if (rc)
        return rc;
    merkle_perfect_root((const uint8_t(*)[LEDGER_HASH_LEN])l->hashes, LEDGER_TILE_WIDTH, root);
    l->index++;
    l->width = 0;
    l->dirty = false;
    return level + 1 < TILE_LEVELS ? push(a, level + 1, root, err) : 0;
}

int tiles_append(struct store *s, uint64_t old_size, uint64_t new_size, struct err *err)
{
    struct appender a = {.s = s, .old_size = old_size};
    uint8_t(*leaves)[LEDGER_HASH_LEN] = NULL;
    uint64_t at, end;
    unsigned i;
    int rc = 0;

    BUG_ON(old_size > new_size);
    leaves = xmalloc(APPEND_CHUNK * LEDGER_HASH_LEN);
    for (at = old_size; at < new_size; at = end) {
        end = new_size - at > APPEND_CHUNK ? at + APPEND_CHUNK : new_size;
        rc = store_ledger_leaves(s, at, end, leaves, err);
        if (rc)
            goto out;
        for (uint64_t j = at; j < end; j++) {
            rc = push(&a, 0, leaves[j - at], err);
            if (rc)
                goto out;
        }
    }
    /* The partial tiles at the right edge. */
    for (i = 0; i < TILE_LEVELS; i++) {
        struct level_state *l = a.levels[i];

        if (!l || !l->dirty || !l->width)
            continue;
        rc = store_ledger_tile_put(s, i, l->index, (const uint8_t(*)[LEDGER_HASH_LEN])l->hashes,
                                   l->width, err);
        if (rc)
            goto out;
    }
out:
    for (i = 0; i < TILE_LEVELS; i++)
        free(a.levels[i]);
    free(leaves);
    return rc;
}

/* ---- Serving ------------------------------------------------------------------------- */
int ledger_tile(struct store *s, unsigned level, uint64_t n, unsigned w, bool entries,
                struct buf *out, struct err *err)
{
    uint8_t(*hashes)[LEDGER_HASH_LEN] = NULL;
    struct store_ledger_entry *e = NULL;
    uint64_t size = 0, count, first;
    size_t width = 0, ne = 0;
    int rc;

    if (w == 0 || w > LEDGER_TILE_WIDTH || level >= 64 || (entries && level))
        return err_set(err, ERR_VALIDATION, "tile", "tile width or level is out of range");
    rc = ledger_integrated_size(s, &size, err);
    if (rc)
        return rc;
    /* Hashes at this level in the integrated tree; the tile must lie within them. */
    count = level * LEDGER_TILE_HEIGHT >= 64 ? 0 : size >> (level * LEDGER_TILE_HEIGHT);
    if (n > count / LEDGER_TILE_WIDTH || n * LEDGER_TILE_WIDTH + w > count)
        return err_set(err, ERR_NOT_FOUND, "tile", "tile is not in the log (size %" PRIu64 ")",
                       size);
    /* A partial tile is only served at the width the tree has now or had before; a
     * smaller request on a full tile is a prefix of it and as valid. */
    if (entries) {
        first = n * LEDGER_TILE_WIDTH;
        rc = store_ledger_entries(s, first, first + w, &e, &ne, err);
        if (rc)
            goto out;
        if (ne != w) {
            rc = err_set(err, ERR_INTERNAL, NULL, "ledger entries of bundle %" PRIu64 " missing",
                         n);
            goto out;
        }
        for (size_t i = 0; i < ne; i++) {
            BUG_ON(e[i].len > LEDGER_ENTRY_MAX);
            buf_addch(out, (int)(e[i].len >> 8));
            buf_addch(out, (int)(e[i].len & 0xff));
            buf_add(out, e[i].entry, e[i].len);
        }
    } else {
        hashes = xmalloc(LEDGER_TILE_WIDTH * LEDGER_HASH_LEN);
        rc = store_ledger_tile_get(s, level, n, hashes, &width, err);
        if (!rc && width < w)
            rc = err_set(err, ERR_INTERNAL, NULL, "ledger tile %u/%" PRIu64 " is short", level, n);
        if (rc)
            goto out;
        buf_add(out, hashes, (size_t)w * LEDGER_HASH_LEN);
    }
    if (buf_failed(out))
        rc = err_set(err, ERR_INTERNAL, NULL, "tile does not fit");
out:
    store_ledger_entries_free(e, ne);
    free(hashes);
    return rc;
}

/* ---- Paths ----------------------------------------------------------------------------- */

/* "x001/x234/067": 3-digit groups, all but the last prefixed with "x" (tlog-tiles). */
static void add_index(struct buf *out, uint64_t n)
{
    char groups[8][4];
    int k = 0;

    do {
        xsnprintf(groups[k++], sizeof(groups[0]), "%03u", (unsigned)(n % 1000));
        n /= 1000;
    } while (n);
    while (k-- > 0)
        buf_addf(out, "%s%s%s", k ? "x" : "", groups[k], k ? "/" : "");
}

void ledger_tile_path(unsigned level, uint64_t n, unsigned w, bool entries, struct buf *out)
{
    if (entries)
        buf_addstr(out, "entries/");
    else
        buf_addf(out, "%u/", level);
    add_index(out, n);
    if (w < LEDGER_TILE_WIDTH)
        buf_addf(out, ".p/%u", w);
}

/* Decimal without leading zeros in [0, max]; advances *p. */
static int parse_dec(const char **p, uint64_t max, uint64_t *out)
{
    const char *s = *p;
    uint64_t v = 0;

    if (*s < '0' || *s > '9' || (s[0] == '0' && s[1] >= '0' && s[1] <= '9'))
        return -1;
    for (; *s >= '0' && *s <= '9'; s++) {
        if (v > (max - (uint64_t)(*s - '0')) / 10)
            return -1;
        v = v * 10 + (uint64_t)(*s - '0');
    }
    *out = v;
    *p = s;
    return 0;
}

static int digits3(const char *s)
{
    for (int i = 0; i < 3; i++)
        if (s[i] < '0' || s[i] > '9')
            return -1;
    return (s[0] - '0') * 100 + (s[1] - '0') * 10 + (s[2] - '0');
}

int ledger_tile_path_parse(const char *path, unsigned *level, uint64_t *n, unsigned *w,
                           bool *entries)
{
    const char *p = path;
    uint64_t v = 0, lv = 0, width = LEDGER_TILE_WIDTH;
    bool first = true;
    int d;

    if (starts_with(p, "entries/")) {
        *entries = true;
        p += strlen("entries/");
    } else {
        *entries = false;
        if (parse_dec(&p, 63, &lv) || *p++ != '/')
            return -1;
    }
    /* Groups "xDDD/" then a last "DDD"; the first group of a multi-group index is not
     * "x000" (the canonical form has no leading zero groups). */
    while (p[0] == 'x') {
        d = digits3(p + 1);
        if (d < 0 || p[4] != '/' || (first && d == 0) || v > (UINT64_MAX - (uint64_t)d) / 1000)
            return -1;
        v = v * 1000 + (uint64_t)d;
        first = false;
        p += 5;
    }
    d = digits3(p);
    if (d < 0 || v > (UINT64_MAX - (uint64_t)d) / 1000)
        return -1;
    v = v * 1000 + (uint64_t)d;
    p += 3;
    if (starts_with(p, ".p/")) {
        p += 3;
        if (parse_dec(&p, LEDGER_TILE_WIDTH - 1, &width) || width == 0)
            return -1;
    }
    if (*p)
        return -1;
    *level = (unsigned)lv;
    *n = v;
    *w = (unsigned)width;
    return 0;
}
