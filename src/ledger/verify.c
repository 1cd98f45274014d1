/*
 * verify.c - the ledger monitor's tree check (verify.h): streams entry bundles and tiles
 * once, recomputes every leaf and every node from the entries (RFC 9162 §2.1.1) and
 * compares them with the stored hashes, the checkpoint's root and earlier roots.
 */
#include <sodium.h>

#include "crypto/digest.h"
#include "ledger/verify.h"
#include "core/util.h"

/* Tile levels checked above level 0: 2^(8*8) entries is more than a uint64_t counts. */
#define VERIFY_LEVELS 8
/* Rewritten entries remembered to recognise two that swapped places. */
#define VERIFY_MISMATCHES 32

/* A peak of the compact range: the root of a perfect subtree of 2^height leaves. */
struct peak {
    uint8_t hash[LEDGER_HASH_LEN];
    unsigned height;
};

/* The tile of one level (≥ 1) the stream is in. */
struct level_tile {
    bool loaded;
    bool ok; /* fetched with the right length */
    uint64_t n;
    unsigned w;
    struct buf data;
};

struct mismatch {
    uint64_t index;
    uint8_t got[LEDGER_HASH_LEN];  /* hash of the entry's bytes */
    uint8_t want[LEDGER_HASH_LEN]; /* the stored leaf hash */
};

struct verifier {
    const struct ledger_source *src;
    struct ledger_verify_report *rep;
    uint64_t size;
    struct peak stack[65];
    size_t npeaks;
    uint64_t count; /* leaves pushed */
    struct level_tile lv[VERIFY_LEVELS];
    struct buf bundle, tile0;
    uint32_t at[LEDGER_TILE_WIDTH]; /* offset of each entry of the bundle */
    uint16_t len[LEDGER_TILE_WIDTH];
    struct ledger_verify_point *points; /* sorted by size */
    size_t npoints, next_point;
    uint64_t good_prefix; /* largest point size whose root matched */
    struct mismatch mm[VERIFY_MISMATCHES];
    size_t nmm;
    bool have_bad; /* an entry was found rewritten or missing ... */
    uint64_t first_bad, last_bad;
    bool first_bad_exact; /* first_bad is an entry, not the start of a hash's range */
    /* The first stored interior hash that disagreed while the entries and their leaf
     * hashes agreed: the change is somewhere in [first, last], which entry the tiles
     * cannot say (a stored hash commits to its 256 children only as a whole). A signed
     * root that covers the range tells which side was rewritten (check_points). */
    struct {
        bool set, resolved;
        unsigned level;
        uint64_t j, first, last;
    } range;
    bool stop;
};

__attribute__((format(printf, 5, 6))) static void problem(struct verifier *v,
                                                          enum ledger_problem kind, bool has_index,
                                                          uint64_t index, const char *fmt, ...)
{
    char msg[512];
    va_list ap;

    if (v->stop)
        return;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    v->rep->problems++;
    if (v->rep->problem)
        v->rep->problem(v->rep->ctx, kind, has_index, index, msg);
    if (v->rep->problems >= v->rep->max_problems)
        v->stop = true;
}

static void mark_bad(struct verifier *v, uint64_t index, bool exact)
{
    if (!v->have_bad || index < v->first_bad) {
        v->first_bad = index;
        v->first_bad_exact = exact;
    }
    if (!v->have_bad || index > v->last_bad)
        v->last_bad = index;
    v->have_bad = true;
}

void ledger_verify_hash_b64(const uint8_t hash[LEDGER_HASH_LEN], char out[45])
{
    sodium_bin2base64(out, 45, hash, LEDGER_HASH_LEN, sodium_base64_VARIANT_ORIGINAL);
}

int ledger_verify_hash_parse(const char *s, uint8_t hash[LEDGER_HASH_LEN])
{
    size_t n = 0;
    const char *end = NULL;

    if (!s || strlen(s) != 44)
        return -1;
    if (sodium_base642bin(hash, LEDGER_HASH_LEN, s, 44, NULL, &n, &end,
                          sodium_base64_VARIANT_ORIGINAL) ||
        n != LEDGER_HASH_LEN || end != s + 44)
        return -1;
    return 0;
}

void ledger_verify_tile_path(unsigned level, uint64_t n, unsigned w, bool entries, struct buf *out)
{
    char groups[8][4];
    size_t ng = 0;

    /* tlog-tiles: N in groups of three digits, all but the last prefixed with 'x'. */
    do {
        xsnprintf(groups[ng++], sizeof(groups[0]), "%03u", (unsigned)(n % 1000));
        n /= 1000;
    } while (n);
    if (entries)
        buf_addstr(out, "entries/");
    else
        buf_addf(out, "%u/", level);
    while (ng > 1)
        buf_addf(out, "x%s/", groups[--ng]);
    buf_addstr(out, groups[0]);
    if (w < LEDGER_TILE_WIDTH)
        buf_addf(out, ".p/%u", w);
}

static int fetch(struct verifier *v, unsigned level, uint64_t n, unsigned w, bool entries,
                 struct buf *out, struct err *err)
{
    buf_reset(out);
    v->rep->tiles++;
    return v->src->tile(v->src->ctx, level, n, w, entries, out, err);
}

static void root_of_stack(const struct verifier *v, uint8_t out[LEDGER_HASH_LEN])
{
    uint8_t r[LEDGER_HASH_LEN];

    if (!v->npeaks) {
        sha256("", 0, out);
        return;
    }
    memcpy(r, v->stack[v->npeaks - 1].hash, LEDGER_HASH_LEN);
    for (size_t i = v->npeaks - 1; i-- > 0;)
        merkle_node_hash(v->stack[i].hash, r, r);
    memcpy(out, r, LEDGER_HASH_LEN);
}

static void check_points(struct verifier *v)
{
    uint8_t root[LEDGER_HASH_LEN];

    while (v->next_point < v->npoints && v->points[v->next_point].size == v->count) {
        const struct ledger_verify_point *pt = &v->points[v->next_point++];

        root_of_stack(v, root);
        if (!memcmp(root, pt->root, LEDGER_HASH_LEN)) {
            v->good_prefix = pt->size;
            if (v->range.set && !v->range.resolved && pt->size > v->range.last) {
                /* The entries reproduce a signed root over the range: they are the
                 * ones signed, and the stored hash is the forgery. */
                v->range.resolved = true;
                problem(v, LEDGER_PROBLEM_HASH, true, v->range.first,
                        "entries %" PRIu64 "..%" PRIu64 " reproduce the root of %s (size %" PRIu64
                        "): the entries are as signed, so the stored hash %u/%" PRIu64
                        " is what was rewritten",
                        v->range.first, v->range.last, pt->what, pt->size, v->range.level,
                        v->range.j);
            }
            continue;
        }
        if (v->have_bad && v->first_bad < pt->size && !v->first_bad_exact)
            problem(v, LEDGER_PROBLEM_FORK, true, v->first_bad,
                    "%s (size %" PRIu64 ") does not match the entries: history changed within "
                    "entries %" PRIu64 "..%" PRIu64
                    " (one or more of them rewritten together with their leaf hashes; the "
                    "signed roots commit to the range only as a whole, so the entry cannot be "
                    "named)",
                    pt->what, pt->size,
                    v->good_prefix > v->range.first ? v->good_prefix : v->range.first,
                    v->range.last);
        else if (v->have_bad && v->first_bad < pt->size)
            problem(v, LEDGER_PROBLEM_FORK, true, v->first_bad,
                    "%s (size %" PRIu64 ") does not match the entries: history changed at "
                    "entry %" PRIu64,
                    pt->what, pt->size, v->first_bad);
        else
            problem(v, LEDGER_PROBLEM_FORK, true, v->good_prefix,
                    "%s (size %" PRIu64 ") is not a prefix of this tree: fork or rewrite in "
                    "entries %" PRIu64 "..%" PRIu64,
                    pt->what, pt->size, v->good_prefix, pt->size - 1);
    }
}

/* A stored hash of tile level L (≥ 1) at node index j against the recomputed node. */
static void check_interior(struct verifier *v, unsigned L, uint64_t j,
                           const uint8_t hash[LEDGER_HASH_LEN])
{
    struct level_tile *t;
    struct err err = ERR_INIT;
    uint64_t n = j / LEDGER_TILE_WIDTH, width, first = j << (8 * L);

    if (L >= VERIFY_LEVELS)
        return;
    t = &v->lv[L];
    if (!t->loaded || t->n != n) {
        width = (v->size >> (8 * L)) - n * LEDGER_TILE_WIDTH;
        if (width > LEDGER_TILE_WIDTH)
            width = LEDGER_TILE_WIDTH;
        t->loaded = true;
        t->n = n;
        t->w = (unsigned)width;
        t->ok = false;
        if (fetch(v, L, n, t->w, false, &t->data, &err)) {
            problem(v, LEDGER_PROBLEM_HASH, true, first,
                    "tile %u/%" PRIu64 " (entries from %" PRIu64 "): %s", L, n, first,
                    err.msg[0] ? err.msg : "unavailable");
        } else if (t->data.len != (size_t)t->w * LEDGER_HASH_LEN) {
            problem(v, LEDGER_PROBLEM_MALFORMED, true, first,
                    "tile %u/%" PRIu64 " has %zu bytes, wanted %u hashes", L, n, t->data.len, t->w);
        } else {
            t->ok = true;
        }
    }
    if (!t->ok)
        return;
    if (memcmp(t->data.buf + (j % LEDGER_TILE_WIDTH) * LEDGER_HASH_LEN, hash, LEDGER_HASH_LEN)) {
        uint64_t last = first + ((uint64_t)1 << (8 * L)) - 1;

        /* A rewritten entry changes every node above it: report only the entry. */
        if (v->have_bad && v->last_bad >= first)
            return;
        if (!v->range.set) {
            v->range.set = true;
            v->range.level = L;
            v->range.j = j;
            v->range.first = first;
            v->range.last = last;
        }
        mark_bad(v, first, false);
        /* Every entry hashed to its stored leaf hash, so the entries and tile level 0
         * agree; only this stored node does not. Either it was rewritten, or entries in
         * the range were rewritten with their leaf hashes; the node is one hash of all
         * its leaves, and the monitor has no earlier copy of them, so which entry cannot
         * be known. A signed root over the range decides between the two (check_points). */
        problem(v, LEDGER_PROBLEM_HASH, true, first,
                "stored hash %u/%" PRIu64 " does not match entries %" PRIu64 "..%" PRIu64
                " as recomputed: the entries agree with their stored leaf hashes, so either "
                "one or more of entries %" PRIu64 "..%" PRIu64
                " were rewritten together with their leaf hashes, or the stored hash was; it "
                "commits to its %" PRIu64 " entries only as a whole, so the exact entry cannot "
                "be named",
                L, j, first, last, first, last, last - first + 1);
    }
}

/* Appends leaf index (== v->count) to the compact range, checking every completed node
 * that a tile stores. */
static void push_leaf(struct verifier *v, const uint8_t leaf[LEDGER_HASH_LEN])
{
    uint64_t index = v->count;
    struct peak *top;

    top = &v->stack[v->npeaks++];
    memcpy(top->hash, leaf, LEDGER_HASH_LEN);
    top->height = 0;
    while (v->npeaks >= 2 && v->stack[v->npeaks - 1].height == v->stack[v->npeaks - 2].height) {
        struct peak *l = &v->stack[v->npeaks - 2];
        const struct peak *r = &v->stack[v->npeaks - 1];

        merkle_node_hash(l->hash, r->hash, l->hash);
        l->height++;
        v->npeaks--;
        if (l->height % LEDGER_TILE_HEIGHT == 0)
            check_interior(v, l->height / LEDGER_TILE_HEIGHT, ((index + 1) >> l->height) - 1,
                           l->hash);
    }
    v->count++;
    check_points(v);
}

static void rewritten(struct verifier *v, uint64_t index, const uint8_t got[LEDGER_HASH_LEN],
                      const uint8_t want[LEDGER_HASH_LEN])
{
    struct mismatch *m;

    mark_bad(v, index, true);
    problem(v, LEDGER_PROBLEM_REWRITTEN, true, index,
            "entry %" PRIu64 ": its bytes do not hash to the stored leaf hash (entry rewritten "
            "or moved)",
            index);
    for (size_t i = 0; i < v->nmm; i++) {
        m = &v->mm[i];
        if (!memcmp(m->got, want, LEDGER_HASH_LEN) && !memcmp(m->want, got, LEDGER_HASH_LEN)) {
            problem(v, LEDGER_PROBLEM_REORDERED, true, m->index,
                    "entries %" PRIu64 " and %" PRIu64 " swapped places (reordered)", m->index,
                    index);
            return;
        }
    }
    m = &v->mm[v->nmm < VERIFY_MISMATCHES ? v->nmm++ : index % VERIFY_MISMATCHES];
    m->index = index;
    memcpy(m->got, got, LEDGER_HASH_LEN);
    memcpy(m->want, want, LEDGER_HASH_LEN);
}

/* One bundle of w entries from start, with its level-0 tile. */
static void verify_bundle(struct verifier *v, uint64_t k, unsigned w)
{
    uint64_t start = k * LEDGER_TILE_WIDTH;
    struct err err = ERR_INIT;
    const uint8_t *stored = NULL;
    const unsigned char *p, *end;
    uint8_t leaf[LEDGER_HASH_LEN];
    unsigned count = 0, missing, pos = 0; /* pos: tree position within the bundle */
    bool bundle_ok;

    if (fetch(v, 0, k, w, false, &v->tile0, &err)) {
        problem(v, LEDGER_PROBLEM_HASH, true, start,
                "tile 0/%" PRIu64 " (leaf hashes of entries %" PRIu64 "..%" PRIu64 "): %s", k,
                start, start + w - 1, err.msg[0] ? err.msg : "unavailable");
        err_clear(&err);
    } else if (v->tile0.len != (size_t)w * LEDGER_HASH_LEN) {
        problem(v, LEDGER_PROBLEM_MISSING, true, start + v->tile0.len / LEDGER_HASH_LEN,
                "tile 0/%" PRIu64 " holds %zu leaf hashes, wanted %u: leaf hashes missing from "
                "entry %" PRIu64,
                k, v->tile0.len / LEDGER_HASH_LEN, w, start + v->tile0.len / LEDGER_HASH_LEN);
    } else {
        stored = (const uint8_t *)v->tile0.buf;
    }
    bundle_ok = !fetch(v, 0, k, w, true, &v->bundle, &err);
    if (!bundle_ok) {
        problem(v, LEDGER_PROBLEM_MISSING, true, start,
                "entry bundle %" PRIu64 " (entries %" PRIu64 "..%" PRIu64 "): %s", k, start,
                start + w - 1, err.msg[0] ? err.msg : "unavailable");
        mark_bad(v, start, true);
    }
    /* First pass: where each entry is (uint16 big-endian length, then the bytes). */
    p = (const unsigned char *)v->bundle.buf;
    end = p + (bundle_ok ? v->bundle.len : 0);
    while (p < end && count < w) {
        size_t len;

        if (end - p < 2 || (size_t)(end - p - 2) < (len = (size_t)p[0] << 8 | p[1])) {
            problem(v, LEDGER_PROBLEM_MALFORMED, true, start + count,
                    "entry bundle %" PRIu64 " is cut inside its entry number %u", k, count);
            break;
        }
        v->at[count] = (uint32_t)(p - (const unsigned char *)v->bundle.buf);
        v->len[count++] = (uint16_t)len;
        p += 2 + len;
    }
    if (bundle_ok && p < end && count == w)
        problem(v, LEDGER_PROBLEM_MALFORMED, true, start + w,
                "entry bundle %" PRIu64 " holds more than its %u entries (%zu bytes left over)", k,
                w, (size_t)(end - p));
    /* Entries the bundle lacks: placed against the level-0 tile below. */
    missing = w - count;
    for (unsigned c = 0; c < count && !v->stop; c++) {
        const unsigned char *e = (const unsigned char *)v->bundle.buf + v->at[c] + 2;

        merkle_leaf_hash(e, v->len[c], leaf);
        v->rep->entries++;
        v->rep->entry_bytes += v->len[c];
        if (stored && memcmp(leaf, stored + pos * LEDGER_HASH_LEN, LEDGER_HASH_LEN)) {
            unsigned skip = 0;

            /* The entry belongs further on, and the bundle is short: the ones in between
             * are missing. */
            for (unsigned q = pos + 1; q <= pos + missing && q < w && !skip; q++) {
                if (!memcmp(leaf, stored + q * LEDGER_HASH_LEN, LEDGER_HASH_LEN))
                    skip = q - pos;
            }
            if (skip) {
                for (unsigned q = pos; q < pos + skip; q++) {
                    mark_bad(v, start + q, true);
                    problem(v, LEDGER_PROBLEM_MISSING, true, start + q,
                            "entry %" PRIu64 " is missing (the store goes from entry %" PRIu64
                            " to entry %" PRIu64 ")",
                            start + q, start + pos ? start + pos - 1 : (uint64_t)0,
                            start + pos + skip);
                    /* Carry the tree on with the stored hash: later checks stay useful. */
                    push_leaf(v, stored + q * LEDGER_HASH_LEN);
                }
                pos += skip;
                missing -= skip;
            } else {
                rewritten(v, start + pos, leaf, stored + pos * LEDGER_HASH_LEN);
            }
        }
        push_leaf(v, leaf);
        pos++;
    }
    if (pos < w && !v->stop) {
        if (bundle_ok)
            problem(v, LEDGER_PROBLEM_MISSING, true, start + pos,
                    "entry bundle %" PRIu64 " ends early: entries %" PRIu64 "..%" PRIu64 " missing",
                    k, start + pos, start + w - 1);
        mark_bad(v, start + pos, true);
        if (!stored) {
            /* Neither entries nor their hashes: the tree cannot be recomputed further. */
            problem(v, LEDGER_PROBLEM_MISSING, true, start + pos,
                    "cannot recompute the tree past entry %" PRIu64, start + pos);
            v->stop = true;
            return;
        }
        for (; pos < w; pos++)
            push_leaf(v, stored + pos * LEDGER_HASH_LEN);
    }
}

static int store_tile(void *ctx, unsigned level, uint64_t n, unsigned w, bool entries,
                      struct buf *out, struct err *err)
{
    struct store *s = ctx;
    struct store_ledger_entry *e = NULL;
    uint8_t(*hashes)[STORE_LEDGER_HASH] = NULL;
    size_t count = 0, width = 0;
    int ret;

    BUG_ON(w == 0 || w > LEDGER_TILE_WIDTH);
    if (entries) {
        ret = store_ledger_entries(s, n * LEDGER_TILE_WIDTH, n * LEDGER_TILE_WIDTH + w, &e, &count,
                                   err);
        if (ret)
            goto out;
        for (size_t i = 0; i < count; i++) {
            if (e[i].len > LEDGER_ENTRY_MAX) {
                ret = err_set(err, ERR_VALIDATION, NULL,
                              "entry %" PRIu64 " is %zu bytes, more than a bundle holds",
                              e[i].index, e[i].len);
                goto out;
            }
            buf_addch(out, (int)(e[i].len >> 8));
            buf_addch(out, (int)(e[i].len & 0xff));
            buf_add(out, e[i].entry, e[i].len);
        }
        goto out;
    }
    hashes = xmalloc(LEDGER_TILE_WIDTH * sizeof(*hashes));
    ret = store_ledger_tile_get(s, level, n, hashes, &width, err);
    if (ret)
        goto out;
    buf_add(out, hashes, (width < w ? width : w) * LEDGER_HASH_LEN);
out:
    store_ledger_entries_free(e, count);
    free(hashes);
    return ret;
}

void ledger_verify_store_source(struct store *s, struct ledger_source *out)
{
    out->ctx = s;
    out->tile = store_tile;
}

static int point_cmp(const void *a, const void *b)
{
    const struct ledger_verify_point *x = a, *y = b;

    return x->size < y->size ? -1 : x->size > y->size;
}

int ledger_verify_tree(const struct ledger_source *src, uint64_t size,
                       const uint8_t root[LEDGER_HASH_LEN],
                       const struct ledger_verify_point *points, size_t npoints,
                       struct ledger_verify_report *rep, struct err *err)
{
    struct verifier *v = xcalloc(1, sizeof(*v));
    uint8_t got[LEDGER_HASH_LEN];
    int ret = 0;

    (void)err;
    rep->problems = 0;
    rep->entries = rep->tiles = rep->entry_bytes = 0;
    if (!rep->max_problems)
        rep->max_problems = 100;
    v->src = src;
    v->rep = rep;
    v->size = size;
    buf_init(&v->bundle, 0);
    buf_init(&v->tile0, 0);
    for (size_t i = 0; i < VERIFY_LEVELS; i++)
        buf_init(&v->lv[i].data, 0);
    v->points = xmalloc((npoints ? npoints : 1) * sizeof(*v->points));
    if (npoints)
        memcpy(v->points, points, npoints * sizeof(*points));
    qsort(v->points, npoints, sizeof(*v->points), point_cmp);
    v->npoints = npoints;
    /* Sizes beyond this tree: someone saw a bigger tree than the one shown now. */
    while (v->npoints && v->points[v->npoints - 1].size > size) {
        const struct ledger_verify_point *pt = &v->points[--v->npoints];

        problem(v, LEDGER_PROBLEM_ROLLBACK, true, size,
                "tree size %" PRIu64 " is smaller than size %" PRIu64 " of %s: entries %" PRIu64
                "..%" PRIu64 " were removed (rollback)",
                size, pt->size, pt->what, size, pt->size - 1);
    }
    check_points(v); /* size 0 */
    for (uint64_t k = 0; k * LEDGER_TILE_WIDTH < size && !v->stop; k++) {
        uint64_t left = size - k * LEDGER_TILE_WIDTH;

        verify_bundle(v, k, left < LEDGER_TILE_WIDTH ? (unsigned)left : LEDGER_TILE_WIDTH);
    }
    if (v->stop)
        goto out;
    root_of_stack(v, got);
    if (memcmp(got, root, LEDGER_HASH_LEN)) {
        if (v->have_bad && !v->first_bad_exact)
            problem(v, LEDGER_PROBLEM_ROOT, true, v->first_bad,
                    "the checkpoint's root (size %" PRIu64 ") is not the root of the entries, "
                    "which differ within entries %" PRIu64 "..%" PRIu64,
                    size, v->range.first, v->range.last);
        else if (v->have_bad)
            problem(v, LEDGER_PROBLEM_ROOT, true, v->first_bad,
                    "the checkpoint's root (size %" PRIu64 ") is not the root of the entries, "
                    "which differ from entry %" PRIu64,
                    size, v->first_bad);
        else
            problem(v, LEDGER_PROBLEM_ROOT, true, v->good_prefix,
                    "the checkpoint's root (size %" PRIu64 ") is not the root of the entries "
                    "(which agree with every stored hash): checkpoint rewritten, or entries "
                    "%" PRIu64 "..%" PRIu64 " rewritten with their hashes",
                    size, v->good_prefix, size ? size - 1 : 0);
    }
out:
    buf_release(&v->bundle);
    buf_release(&v->tile0);
    for (size_t i = 0; i < VERIFY_LEVELS; i++)
        buf_release(&v->lv[i].data);
    free(v->points);
    free(v);
    return ret;
}
