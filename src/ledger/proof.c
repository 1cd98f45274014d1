/*
 * proof.c - hashes of the tree from stored tiles, roots, and proof generation
 * (RFC 9162 §2.1.1, §2.1.3.1, §2.1.4.1).
 *
 * The store holds C2SP tlog-tiles hash tiles: hash j of a level-L tile row is the root
 * of the perfect subtree of height 8L over leaves [j * 256^L, (j + 1) * 256^L). Any
 * perfect subtree of height h = 8L + k is then the root of 2^k consecutive hashes of one
 * level-L tile (k < 8 and the range is aligned, so it never straddles two tiles); any
 * MTH(D[a:b]) splits into at most 2 * 64 perfect subtrees. A proof reads about two
 * tiles per tile level (the one on the path, the one at the right edge): O(log n) reads,
 * each at most 8 KiB, plus at most 255 node hashes per subtree.
 */
#include <pthread.h>

#include "ledger/ledger-int.h"
#include "ledger/ledger.h"
#include "core/util.h"

#define READER_CACHE 24

/*
 * Full tiles shared by every reader of the public read functions (ledger_root and the
 * proofs), each kept with all 511 nodes of its perfect tree (rows of 256, 128, … 1
 * hashes), so that a perfect subtree inside a full tile is a lookup, not up to 255 node
 * hashes. A full tile never changes (c2sp.org/tlog-tiles), so nothing is ever
 * invalidated; entries are keyed by store_id() too (tests open several in one process).
 * SHARED_SETS * SHARED_WAYS slots of 16 KiB: at most 64 MiB, allocated as filled; a log
 * of 1,000,000 entries has 3,922 full tiles. Set-associative, LRU within a set, one
 * mutex (a lookup copies one hash out under it).
 */
#define SHARED_SETS  1024
#define SHARED_WAYS  4
#define PYRAMID_SIZE (2 * LEDGER_TILE_WIDTH - 1)

struct pyramid {
    uint64_t s; /* store_id(); 0: slot unused */
    unsigned level;
    uint64_t index;
    uint64_t used;
    uint8_t (*nodes)[LEDGER_HASH_LEN]; /* PYRAMID_SIZE of them */
};

static struct {
    pthread_mutex_t lock;
    uint64_t tick;
    struct pyramid slot[SHARED_SETS][SHARED_WAYS];
} shared = {.lock = PTHREAD_MUTEX_INITIALIZER};

/* Offset of row k (0: the tile's own hashes, 8: its root) in a pyramid. */
static size_t row_offset(unsigned k)
{
    return 2 * LEDGER_TILE_WIDTH - (2 * LEDGER_TILE_WIDTH >> k);
}

static struct pyramid *shared_set(uint64_t s, unsigned level, uint64_t index)
{
    uint64_t h = (index * 0x9E3779B97F4A7C15u) ^ ((uint64_t)level << 56) ^ s * 0xC2B2AE3D27D4EB4Fu;

    return shared.slot[(h ^ (h >> 29)) % SHARED_SETS];
}

/* Node (row k, position j) of the full tile (level, index) if cached: 0, else -1. */
static int shared_node(uint64_t s, unsigned level, uint64_t index, unsigned k, size_t j,
                       uint8_t out[LEDGER_HASH_LEN])
{
    struct pyramid *set;
    int rc = -1;

    pthread_mutex_lock(&shared.lock);
    set = shared_set(s, level, index);
    for (size_t w = 0; w < SHARED_WAYS; w++) {
        if (set[w].s == s && set[w].level == level && set[w].index == index) {
            memcpy(out, set[w].nodes[row_offset(k) + j], LEDGER_HASH_LEN);
            set[w].used = ++shared.tick;
            rc = 0;
            break;
        }
    }
    pthread_mutex_unlock(&shared.lock);
    return rc;
}

/* Computes the pyramid of a full tile outside the lock and caches it (LRU way). */
static void shared_put(uint64_t s, unsigned level, uint64_t index,
                       const uint8_t (*hashes)[LEDGER_HASH_LEN])
{
    uint8_t(*nodes)[LEDGER_HASH_LEN] = xmalloc(PYRAMID_SIZE * LEDGER_HASH_LEN);
    struct pyramid *set, *victim;

    memcpy(nodes, hashes, LEDGER_TILE_WIDTH * LEDGER_HASH_LEN);
    for (unsigned k = 1; k <= LEDGER_TILE_HEIGHT; k++) {
        size_t below = row_offset(k - 1), at = row_offset(k);

        for (size_t j = 0; j < (size_t)LEDGER_TILE_WIDTH >> k; j++)
            merkle_node_hash(nodes[below + 2 * j], nodes[below + 2 * j + 1], nodes[at + j]);
    }
    pthread_mutex_lock(&shared.lock);
    set = shared_set(s, level, index);
    victim = &set[0];
    for (size_t w = 0; w < SHARED_WAYS; w++) {
        if (set[w].s == s && set[w].level == level && set[w].index == index) {
            victim = NULL; /* another thread was first */
            break;
        }
        if (!set[w].s || set[w].used < victim->used)
            victim = &set[w];
        if (!victim->s)
            break;
    }
    if (victim) {
        free(victim->nodes);
        victim->s = s;
        victim->level = level;
        victim->index = index;
        victim->used = ++shared.tick;
        victim->nodes = nodes;
        nodes = NULL;
    }
    pthread_mutex_unlock(&shared.lock);
    free(nodes);
}

struct cached_tile {
    unsigned level;
    uint64_t index;
    size_t width;
    uint8_t (*hashes)[LEDGER_HASH_LEN]; /* LEDGER_TILE_WIDTH of them; NULL: slot unused */
};

struct tree_reader {
    struct store *s;
    uint64_t size;
    bool shared; /* use and fill the shared cache of full tiles */
    struct cached_tile cache[READER_CACHE];
    size_t next; /* slot to evict next */
};

struct tree_reader *tree_reader_new(struct store *s, uint64_t size)
{
    struct tree_reader *r = xcalloc(1, sizeof(*r));

    r->s = s;
    r->size = size;
    return r;
}

void tree_reader_free(struct tree_reader *r)
{
    if (!r)
        return;
    for (size_t i = 0; i < READER_CACHE; i++)
        free(r->cache[i].hashes);
    free(r);
}

/* Tile (level, index) with at least `need` hashes, from the cache or the store. */
static int tile_read(struct tree_reader *r, unsigned level, uint64_t index, size_t need,
                     const struct cached_tile **out, struct err *err)
{
    struct cached_tile *t;
    int rc;

    for (size_t i = 0; i < READER_CACHE; i++) {
        t = &r->cache[i];
        if (t->hashes && t->level == level && t->index == index && t->width >= need) {
            *out = t;
            return 0;
        }
    }
    t = &r->cache[r->next];
    r->next = (r->next + 1) % READER_CACHE;
    if (!t->hashes)
        t->hashes = xmalloc(LEDGER_TILE_WIDTH * LEDGER_HASH_LEN);
    t->level = level;
    t->index = index;
    t->width = 0;
    rc = store_ledger_tile_get(r->s, level, index, t->hashes, &t->width, err);
    if (rc == -ERR_NOT_FOUND || (!rc && t->width < need)) {
        t->width = 0;
        /* Readers only ask for what the integrated tree holds: the tiles lag. */
        return err_set(err, ERR_INTERNAL, NULL,
                       "ledger tile %u/%" PRIu64 " is missing or short (want %zu hashes)", level,
                       index, need);
    }
    if (rc) {
        t->width = 0;
        return rc;
    }
    *out = t;
    return 0;
}

/* The perfect subtree of height h (0..63) number i: leaves [i << h, (i + 1) << h). */
static int subtree_hash(struct tree_reader *r, unsigned h, uint64_t i, uint8_t out[LEDGER_HASH_LEN],
                        struct err *err)
{
    const struct cached_tile *t = NULL;
    unsigned level = h / LEDGER_TILE_HEIGHT, k = h % LEDGER_TILE_HEIGHT;
    uint64_t first = i << k; /* first stored hash at this level */
    size_t off = (size_t)(first % LEDGER_TILE_WIDTH), n = (size_t)1 << k;
    int rc;

    if (r->shared &&
        !shared_node(store_id(r->s), level, first / LEDGER_TILE_WIDTH, k, off >> k, out))
        return 0;
    rc = tile_read(r, level, first / LEDGER_TILE_WIDTH, off + n, &t, err);
    if (rc)
        return rc;
    if (r->shared && t->width == LEDGER_TILE_WIDTH) {
        shared_put(store_id(r->s), level, t->index, (const uint8_t(*)[LEDGER_HASH_LEN])t->hashes);
        if (!shared_node(store_id(r->s), level, t->index, k, off >> k, out))
            return 0;
    }
    merkle_perfect_root((const uint8_t(*)[LEDGER_HASH_LEN])t->hashes + off, n, out);
    return 0;
}

/* The largest power of two below n (n >= 2): RFC 9162 §2.1.1's k. */
static uint64_t split_point(uint64_t n)
{
    uint64_t k = 1;

    while (k << 1 < n)
        k <<= 1;
    return k;
}

static unsigned log2_exact(uint64_t n)
{
    unsigned h = 0;

    while (((uint64_t)1 << h) < n)
        h++;
    return h;
}

int tree_range_hash(struct tree_reader *r, uint64_t start, uint64_t end,
                    uint8_t out[LEDGER_HASH_LEN], struct err *err)
{
    uint8_t left[LEDGER_HASH_LEN], right[LEDGER_HASH_LEN];
    uint64_t n = end - start, k;
    int rc;

    BUG_ON(start > end || end > r->size);
    if (n == 0) {
        BUG_ON(start != 0);
        merkle_empty_root(out);
        return 0;
    }
    if ((n & (n - 1)) == 0 && start % n == 0)
        return subtree_hash(r, log2_exact(n), start / n, out, err);
    k = split_point(n);
    /* The callers' ranges start at a multiple of k, so the left half is perfect. */
    BUG_ON(start % k);
    rc = tree_range_hash(r, start, start + k, left, err);
    if (!rc)
        rc = tree_range_hash(r, start + k, end, right, err);
    if (!rc)
        merkle_node_hash(left, right, out);
    return rc;
}

/* PATH(m, D[start:end]) appended to proof (RFC 9162 §2.1.3.1), bottom-up. */
static int inclusion_path(struct tree_reader *r, uint64_t m, uint64_t start, uint64_t end,
                          uint8_t (*proof)[LEDGER_HASH_LEN], size_t *n, struct err *err)
{
    uint64_t k;
    int rc;

    if (end - start == 1)
        return 0;
    k = split_point(end - start);
    if (m < k) {
        rc = inclusion_path(r, m, start, start + k, proof, n, err);
        BUG_ON(!rc && *n >= LEDGER_PROOF_MAX);
        if (!rc)
            rc = tree_range_hash(r, start + k, end, proof[*n], err);
    } else {
        rc = inclusion_path(r, m - k, start + k, end, proof, n, err);
        BUG_ON(!rc && *n >= LEDGER_PROOF_MAX);
        if (!rc)
            rc = tree_range_hash(r, start, start + k, proof[*n], err);
    }
    if (!rc)
        (*n)++;
    return rc;
}

int tree_inclusion_proof(struct tree_reader *r, uint64_t index, uint8_t (*proof)[LEDGER_HASH_LEN],
                         size_t *n, struct err *err)
{
    *n = 0;
    if (index >= r->size)
        return err_set(err, ERR_VALIDATION, "index",
                       "leaf index %" PRIu64 " is not below tree size %" PRIu64, index, r->size);
    return inclusion_path(r, index, 0, r->size, proof, n, err);
}

/* SUBPROOF(m, D[start:end], b) appended to proof (RFC 9162 §2.1.4.1). */
static int subproof(struct tree_reader *r, uint64_t m, uint64_t start, uint64_t end, bool b,
                    uint8_t (*proof)[LEDGER_HASH_LEN], size_t *n, struct err *err)
{
    uint64_t k;
    int rc;

    if (m == end - start) {
        if (b)
            return 0;
        BUG_ON(*n >= LEDGER_PROOF_MAX);
        rc = tree_range_hash(r, start, end, proof[*n], err);
        if (!rc)
            (*n)++;
        return rc;
    }
    k = split_point(end - start);
    if (m <= k) {
        rc = subproof(r, m, start, start + k, b, proof, n, err);
        BUG_ON(!rc && *n >= LEDGER_PROOF_MAX);
        if (!rc)
            rc = tree_range_hash(r, start + k, end, proof[*n], err);
    } else {
        rc = subproof(r, m - k, start + k, end, false, proof, n, err);
        BUG_ON(!rc && *n >= LEDGER_PROOF_MAX);
        if (!rc)
            rc = tree_range_hash(r, start, start + k, proof[*n], err);
    }
    if (!rc)
        (*n)++;
    return rc;
}

int tree_consistency_proof(struct tree_reader *r, uint64_t first, uint8_t (*proof)[LEDGER_HASH_LEN],
                           size_t *n, struct err *err)
{
    *n = 0;
    if (first == 0 || first > r->size)
        return err_set(err, ERR_VALIDATION, "first",
                       "consistency proofs need 0 < first (%" PRIu64 ") <= second (%" PRIu64 ")",
                       first, r->size);
    if (first == r->size)
        return 0;
    return subproof(r, first, 0, r->size, true, proof, n, err);
}

/* ---- The public functions over the integrated tree -------------------------------- */

/*
 * The latest checkpoint's size and root, remembered for the store_version() it was read
 * at: a request asks for it several times, and it only changes with a commit. One entry
 * (the last store asked about); the version is read first, so a commit in between makes
 * the entry older than its version says, never newer: the next call re-reads.
 */
static struct {
    pthread_mutex_t lock;
    uint64_t s; /* store_id(), 0 before the first call */
    uint64_t version;
    uint64_t size;
    bool empty; /* no checkpoint yet */
    uint8_t root[LEDGER_HASH_LEN];
} head = {.lock = PTHREAD_MUTEX_INITIALIZER};

int ledger_head(struct store *s, uint64_t *size, uint8_t root[LEDGER_HASH_LEN], struct err *err)
{
    uint64_t v = store_version(s), id = store_id(s);
    struct err e = ERR_INIT;
    bool hit = false;
    int rc;

    pthread_mutex_lock(&head.lock);
    if (head.s == id && head.version == v && v) {
        *size = head.size;
        memcpy(root, head.root, LEDGER_HASH_LEN);
        hit = true;
        rc = head.empty ? -ERR_NOT_FOUND : 0;
    }
    pthread_mutex_unlock(&head.lock);
    if (hit)
        return rc ? err_set(err, ERR_NOT_FOUND, NULL, "the ledger has no checkpoint yet") : 0;
    rc = store_ledger_checkpoint_get(s, size, root, NULL, &e);
    if (rc == -ERR_NOT_FOUND) {
        *size = 0;
        merkle_empty_root(root);
    } else if (rc) {
        return err_set(err, e.kind, e.field[0] ? e.field : NULL, "%s", e.msg);
    }
    pthread_mutex_lock(&head.lock);
    head.s = id;
    head.version = v;
    head.size = *size;
    head.empty = rc != 0;
    memcpy(head.root, root, LEDGER_HASH_LEN);
    pthread_mutex_unlock(&head.lock);
    return rc ? err_set(err, ERR_NOT_FOUND, NULL, "%s", e.msg) : 0;
}

/* The integrated size (latest checkpoint), 0 when none. */
int ledger_integrated_size(struct store *s, uint64_t *size, struct err *err)
{
    uint8_t root[LEDGER_HASH_LEN];
    int rc = ledger_head(s, size, root, err);

    if (rc == -ERR_NOT_FOUND) {
        err_clear(err);
        *size = 0;
        return 0;
    }
    return rc;
}

int ledger_signed_size(struct store *s, uint64_t *size, struct err *err)
{
    return ledger_integrated_size(s, size, err);
}

int ledger_leaf(struct store *s, uint64_t index, uint8_t leaf[LEDGER_HASH_LEN], struct err *err)
{
    uint64_t size = 0;
    int rc = ledger_integrated_size(s, &size, err);

    if (!rc && index >= size)
        rc = err_set(err, ERR_VALIDATION, "index",
                     "leaf index %" PRIu64 " is not below tree size %" PRIu64, index, size);
    return rc ? rc
              : store_ledger_leaves(s, index, index + 1, (uint8_t(*)[LEDGER_HASH_LEN])leaf, err);
}

static struct tree_reader *shared_reader_new(struct store *s, uint64_t size)
{
    struct tree_reader *r = tree_reader_new(s, size);

    r->shared = true;
    return r;
}

static int check_size(struct store *s, uint64_t size, struct err *err)
{
    uint64_t have = 0;
    int rc = ledger_integrated_size(s, &have, err);

    if (rc)
        return rc;
    if (size > have)
        return err_set(err, ERR_VALIDATION, "tree_size",
                       "tree size %" PRIu64 " is larger than the log (%" PRIu64 ")", size, have);
    return 0;
}

int ledger_root(struct store *s, uint64_t size, uint8_t root[LEDGER_HASH_LEN], struct err *err)
{
    uint8_t latest[LEDGER_HASH_LEN];
    struct tree_reader *r = NULL;
    uint64_t have = 0;
    int rc = ledger_head(s, &have, latest, err);

    if (rc == -ERR_NOT_FOUND) {
        err_clear(err);
        rc = 0;
    }
    if (rc)
        return rc;
    if (size > have)
        return err_set(err, ERR_VALIDATION, "tree_size",
                       "tree size %" PRIu64 " is larger than the log (%" PRIu64 ")", size, have);
    /* The signed root of the latest tree was computed from these tiles when it was
     * signed (and checked against them at every integration since). */
    if (size == have) {
        memcpy(root, latest, LEDGER_HASH_LEN);
        return 0;
    }
    r = shared_reader_new(s, size);
    rc = tree_range_hash(r, 0, size, root, err);
    tree_reader_free(r);
    return rc;
}

int ledger_inclusion_proof(struct store *s, uint64_t index, uint64_t size,
                           uint8_t (*proof)[LEDGER_HASH_LEN], size_t *n, struct err *err)
{
    struct tree_reader *r = NULL;
    int rc;

    *n = 0;
    if (index >= size)
        return err_set(err, ERR_VALIDATION, "index",
                       "leaf index %" PRIu64 " is not below tree size %" PRIu64, index, size);
    rc = check_size(s, size, err);
    if (rc)
        return rc;
    r = shared_reader_new(s, size);
    rc = tree_inclusion_proof(r, index, proof, n, err);
    tree_reader_free(r);
    return rc;
}

int ledger_consistency_proof(struct store *s, uint64_t first, uint64_t second,
                             uint8_t (*proof)[LEDGER_HASH_LEN], size_t *n, struct err *err)
{
    struct tree_reader *r = NULL;
    int rc;

    *n = 0;
    if (first == 0 || first > second)
        return err_set(err, ERR_VALIDATION, "first",
                       "consistency proofs need 0 < first (%" PRIu64 ") <= second (%" PRIu64 ")",
                       first, second);
    rc = check_size(s, second, err);
    if (rc)
        return rc;
    r = shared_reader_new(s, second);
    rc = tree_consistency_proof(r, first, proof, n, err);
    tree_reader_free(r);
    return rc;
}
