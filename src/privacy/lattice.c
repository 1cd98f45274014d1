/*
 * lattice.c - the lattice of hierarchy levels: grouping the tuples into equivalence
 * classes at a node (from the data, or rolled up from a computed predecessor), the
 * privacy models and metrics of a node, the optimal search, risk.
 *
 * A node is a vector of levels, numbered in mixed radix with the first quasi-identifier
 * least significant. The classes of a node are a list of (representative tuple, count):
 * every record of a class has the same generalised values, which the representative's
 * original values give through each level's map, so a node's classes can be grouped
 * from any predecessor's classes instead of from every tuple (ARX's roll-up).
 */
#include <math.h>
#include <time.h>

#include "privacy/anon-int.h"
#include "privacy/anon.h"
#include "core/util.h"

#define MAX_NODES     (1u << 22)
#define CACHE_ENTRIES (16u << 20) /* class entries kept for roll-ups (8 bytes each) */

enum { NODE_UNKNOWN = 0, NODE_FEASIBLE = 1, NODE_INFEASIBLE = 2 };

struct cls {
    uint32_t n;
    uint32_t *rep; /* a tuple of each class */
    uint32_t *cnt; /* records of each class */
};

struct anon_lattice {
    size_t m;
    uint64_t nnodes;
    uint64_t stride[64];
    unsigned height[64];
    unsigned shift[64]; /* bit offset of QI j in a packed key */
    unsigned word[64];  /* its word */
    size_t words;       /* uint64 words of a packed key */
    /* grouping scratch */
    uint32_t *slots;
    size_t cap;
    uint64_t *keys;
    size_t keys_alloc;
    struct cls scratch;
    size_t scratch_alloc;
    /* classes kept per node */
    struct cls **cache;
    uint64_t *cached; /* nodes with classes kept (any order) */
    size_t ncached, cached_alloc;
    uint64_t cache_entries;
    /* per-search state */
    uint8_t *state;
    uint8_t *evaluated; /* nodes whose classes this search computed or used */
    uint64_t checked, rollups, stopped;
    /* the sensitive hierarchy by level (hierarchical t-closeness) */
    size_t sh_height;
    uint32_t **sgid; /* sh_height arrays: sensitive value id → id at the level */
    uint32_t **sup;  /* sh_height arrays: id at level l - 1 → id at level l */
    uint32_t *sng;   /* ids at each level */
    double *tmp_a, *tmp_b, *tmp_c;
    uint64_t *hist; /* nsens */
    uint32_t *touched;
};

static void cls_free(struct cls *c)
{
    if (!c)
        return;
    free(c->rep);
    free(c->cnt);
    free(c);
}

void anon_lattice_free(struct anon_lattice *l)
{
    if (!l)
        return;
    if (l->cache)
        for (size_t i = 0; i < l->ncached; i++)
            cls_free(l->cache[l->cached[i]]);
    free(l->cache);
    free(l->cached);
    free(l->slots);
    free(l->keys);
    free(l->scratch.rep);
    free(l->scratch.cnt);
    free(l->state);
    free(l->evaluated);
    for (size_t i = 0; i < l->sh_height; i++) {
        free(l->sgid[i]);
        free(l->sup[i]);
    }
    free(l->sgid);
    free(l->sup);
    free(l->sng);
    free(l->tmp_a);
    free(l->tmp_b);
    free(l->tmp_c);
    free(l->hist);
    free(l->touched);
    free(l);
}

static void node_levels(const struct anon_lattice *l, uint64_t node, unsigned *lev)
{
    for (size_t j = 0; j < l->m; j++)
        lev[j] = (unsigned)((node / l->stride[j]) % l->height[j]);
}

static uint64_t node_of(const struct anon_lattice *l, const unsigned *lev)
{
    uint64_t n = 0;
    for (size_t j = 0; j < l->m; j++)
        n += lev[j] * l->stride[j];
    return n;
}

/* Prepares the sensitive hierarchy's levels for hierarchical t-closeness. */
static void lattice_sensitive(struct anon_data *d, struct anon_lattice *l)
{
    const struct anon_hierarchy *h = d->sens_h;
    struct anon_dict *dl;

    if (!d->has_sensitive)
        return;
    l->hist = xcalloc(d->nsens + 1, sizeof(*l->hist));
    l->touched = xmalloc((d->nsens + 1) * sizeof(*l->touched));
    if (!h)
        return;
    l->sh_height = h->height;
    l->sgid = xcalloc(h->height, sizeof(*l->sgid));
    l->sup = xcalloc(h->height, sizeof(*l->sup));
    l->sng = xcalloc(h->height, sizeof(*l->sng));
    dl = xcalloc(h->height, sizeof(*dl));
    uint32_t **rowg = xcalloc(h->height, sizeof(*rowg));
    for (size_t lv = 0; lv < h->height; lv++) {
        anon_dict_init(&dl[lv]);
        rowg[lv] = xmalloc((h->nrows + 1) * sizeof(uint32_t));
        for (size_t r = 0; r < h->nrows; r++) {
            const char *s = h->cells[r * h->height + lv];
            rowg[lv][r] = anon_dict_intern(&dl[lv], s, strlen(s), NULL);
        }
        l->sng[lv] = (uint32_t)dl[lv].n;
        l->sgid[lv] = xmalloc((d->nsens + 1) * sizeof(uint32_t));
        for (uint32_t i = 0; i < d->nsens; i++)
            l->sgid[lv][i] = rowg[lv][d->sens_row[i]];
        if (lv) {
            l->sup[lv] = xcalloc(dl[lv - 1].n + 1, sizeof(uint32_t));
            for (size_t r = 0; r < h->nrows; r++)
                l->sup[lv][rowg[lv - 1][r]] = rowg[lv][r];
        }
    }
    size_t most = h->nrows + 1;
    l->tmp_a = xcalloc(most, sizeof(double));
    l->tmp_b = xcalloc(most, sizeof(double));
    l->tmp_c = xcalloc(most, sizeof(double));
    for (size_t lv = 0; lv < h->height; lv++) {
        anon_dict_release(&dl[lv]);
        free(rowg[lv]);
    }
    free(dl);
    free(rowg);
}

static int lattice_get(struct anon_data *d, struct anon_lattice **out, struct err *err)
{
    struct anon_lattice *l;
    uint64_t n = 1;
    unsigned bit = 0, word = 0;

    if (d->lat) {
        *out = d->lat;
        return 0;
    }
    for (size_t j = 0; j < d->nqi; j++) {
        n *= d->attr[j].height;
        if (n > MAX_NODES)
            return err_set(err, ERR_TOO_LARGE, "qi",
                           "the lattice of hierarchy levels has more than %u nodes", MAX_NODES);
    }
    l = xcalloc(1, sizeof(*l));
    l->m = d->nqi;
    l->nnodes = n;
    n = 1;
    for (size_t j = 0; j < d->nqi; j++) {
        l->stride[j] = n;
        l->height[j] = (unsigned)d->attr[j].height;
        n *= d->attr[j].height;
        if (bit + d->attr[j].bits > 64) {
            word++;
            bit = 0;
        }
        l->shift[j] = bit;
        l->word[j] = word;
        bit += d->attr[j].bits;
    }
    l->words = word + 1;
    l->cache = xcalloc(l->nnodes, sizeof(*l->cache));
    l->state = xcalloc(l->nnodes, 1);
    l->evaluated = xcalloc(l->nnodes, 1);
    lattice_sensitive(d, l);
    d->lat = l;
    *out = l;
    return 0;
}

/* SplitMix64's finaliser (Steele, Lea, Flood, "Fast splittable pseudorandom number
 * generators", OOPSLA 2014): every input bit affects every output bit. */
static inline uint64_t mix64(uint64_t z)
{
    z ^= z >> 30;
    z *= 0xbf58476d1ce4e5b9ull;
    z ^= z >> 27;
    z *= 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static inline bool keys_equal(const uint64_t *a, const uint64_t *b, size_t w)
{
    uint64_t diff = 0;
    for (size_t x = 0; x < w; x++)
        diff |= a[x] ^ b[x];
    return diff == 0;
}

/* The slot of a packed key of w words in a table of 2^hb slots. */
static inline size_t key_slot(const uint64_t *key, size_t w, unsigned hb)
{
    uint64_t h;

    if (w == 1) /* Fibonacci hashing: the product's high bits */
        return hb ? (size_t)((key[0] * 0x9e3779b97f4a7c15ull) >> (64 - hb)) : 0;
    /* every bit of every word must reach the slot index: a QI packed into a word's
     * high bits would otherwise leave whole classes on one probe chain */
    h = mix64(key[0]);
    for (size_t x = 1; x < w; x++)
        h = mix64(h ^ key[x]);
    return (size_t)(h >> (64 - hb));
}

/* Makes the slot table 2^hb slots and puts the n classes found so far into it. */
static void slots_rebuild(struct anon_lattice *l, unsigned hb, size_t n)
{
    size_t cap = (size_t)1 << hb, w = l->words;

    if (cap > l->cap) {
        free(l->slots);
        l->slots = xmalloc(cap * sizeof(*l->slots));
        l->cap = cap;
    }
    memset(l->slots, 0, cap * sizeof(*l->slots));
    for (size_t c = 0; c < n; c++) {
        size_t s = key_slot(l->keys + c * w, w, hb);
        while (l->slots[s])
            s = (s + 1) & (cap - 1);
        l->slots[s] = (uint32_t)c + 1;
    }
}

/*
 * Groups the classes of src (or of the tuples, src NULL) into the classes of the node
 * at lev, in l->scratch. class_of, when not NULL, gets each tuple's class (src NULL
 * only). stop, when not 0, ends the grouping as soon as more than stop classes are found:
 * the classes are then incomplete and the call returns false (else true).
 *
 * Each class's packed key is in l->keys (class order); an open-addressed table of class
 * numbers finds them. The table starts small and doubles when half full, so a node of
 * few classes is grouped in a table that stays in cache (most of the cost of grouping
 * is the cache misses on the table and the keys).
 */
static bool group(struct anon_data *d, struct anon_lattice *l, const unsigned *lev,
                  const struct cls *src, uint32_t *class_of, size_t stop)
{
    const uint32_t *maps[64];
    size_t m = l->m, w = l->words, nsrc = src ? src->n : d->ntuples;
    size_t most = stop && stop < nsrc ? stop : nsrc;
    struct cls *out = &l->scratch;
    unsigned hb = 6;
    uint64_t key[8];

    BUG_ON(w > 8);
    if (!stop)
        stop = SIZE_MAX;
    for (size_t j = 0; j < m; j++)
        maps[j] = d->attr[j].map[lev[j]];
    /* at most `most` classes; start at 2^16 slots (256 KiB) or fewer */
    while (((size_t)1 << hb) < 2 * most && hb < 16)
        hb++;
    if (nsrc > l->scratch_alloc) {
        l->scratch_alloc = nsrc;
        out->rep = xrealloc(out->rep, nsrc * sizeof(uint32_t));
        out->cnt = xrealloc(out->cnt, nsrc * sizeof(uint32_t));
    }
    if ((nsrc + 1) * w > l->keys_alloc) {
        l->keys_alloc = (nsrc + 1) * w;
        l->keys = xrealloc(l->keys, l->keys_alloc * sizeof(uint64_t));
    }
    out->n = 0;
    slots_rebuild(l, hb, 0);
    size_t cap = (size_t)1 << hb, grow_at = cap / 2;
    for (size_t i = 0; i < nsrc; i++) {
        uint32_t rep = src ? src->rep[i] : (uint32_t)i;
        uint32_t cnt = src ? src->cnt[i] : (uint32_t)d->tcount[i];
        const uint32_t *tv = d->tval + (size_t)rep * m;
        size_t s, c;

        if (w == 1) {
            /* the common case, a key in one word: no loop over words */
            uint64_t k1 = 0;
            for (size_t j = 0; j < m; j++)
                k1 |= (uint64_t)maps[j][tv[j]] << l->shift[j];
            for (s = key_slot(&k1, 1, hb);; s = (s + 1) & (cap - 1)) {
                c = l->slots[s];
                if (!c || l->keys[c - 1] == k1)
                    break;
            }
            if (c) {
                out->cnt[c - 1] += cnt;
                if (class_of)
                    class_of[i] = (uint32_t)c - 1;
                continue;
            }
            key[0] = k1;
        } else {
            memset(key, 0, w * sizeof(uint64_t));
            for (size_t j = 0; j < m; j++)
                key[l->word[j]] |= (uint64_t)maps[j][tv[j]] << l->shift[j];
            for (s = key_slot(key, w, hb);; s = (s + 1) & (cap - 1)) {
                c = l->slots[s];
                if (!c || keys_equal(l->keys + (c - 1) * w, key, w))
                    break;
            }
            if (c) {
                out->cnt[c - 1] += cnt;
                if (class_of)
                    class_of[i] = (uint32_t)c - 1;
                continue;
            }
        }
        /* a new class */
        if (out->n == stop)
            return false;
        c = out->n++;
        l->slots[s] = (uint32_t)c + 1;
        memcpy(l->keys + c * w, key, w * sizeof(uint64_t));
        out->rep[c] = rep;
        out->cnt[c] = cnt;
        if (class_of)
            class_of[i] = (uint32_t)c;
        if (out->n >= grow_at) {
            slots_rebuild(l, ++hb, out->n);
            cap = (size_t)1 << hb;
            grow_at = cap / 2;
        }
    }
    return true;
}

/* The classes of node (computed, or kept from before), valid until the next call; NULL
 * when more than stop (0: no limit) classes were found (see group()). */
static const struct cls *classes(struct anon_data *d, struct anon_lattice *l, uint64_t node,
                                 size_t stop)
{
    unsigned lev[64], plev[64];
    const struct cls *src = NULL;
    struct cls *keep;

    if (l->cache[node])
        return l->cache[node];
    node_levels(l, node, lev);
    /* the smallest computed predecessor: a direct one, else any kept */
    for (size_t j = 0; j < l->m; j++)
        if (lev[j] && l->cache[node - l->stride[j]] &&
            (!src || l->cache[node - l->stride[j]]->n < src->n))
            src = l->cache[node - l->stride[j]];
    if (!src) {
        for (size_t i = 0; i < l->ncached; i++) {
            const struct cls *c = l->cache[l->cached[i]];
            bool below = true;
            if (src && c->n >= src->n)
                continue;
            node_levels(l, l->cached[i], plev);
            for (size_t j = 0; j < l->m && below; j++)
                below = plev[j] <= lev[j];
            if (below)
                src = c;
        }
    }
    if (src)
        l->rollups++;
    bool whole = group(d, l, lev, src, NULL, stop);
    if (!whole) {
        l->stopped++;
        return NULL;
    }
    /* Kept within CACHE_ENTRIES, the largest lists go first: a list of few classes is the
     * better roll-up source (a roll-up costs the source's classes) and the cheaper to keep */
    while (l->cache_entries + l->scratch.n > CACHE_ENTRIES) {
        size_t big = SIZE_MAX;
        for (size_t i = 0; i < l->ncached; i++)
            if (big == SIZE_MAX || l->cache[l->cached[i]]->n > l->cache[l->cached[big]]->n)
                big = i;
        if (big == SIZE_MAX || l->cache[l->cached[big]]->n <= l->scratch.n)
            return &l->scratch;
        l->cache_entries -= l->cache[l->cached[big]]->n;
        cls_free(l->cache[l->cached[big]]);
        l->cache[l->cached[big]] = NULL;
        l->cached[big] = l->cached[--l->ncached];
    }
    keep = xmalloc(sizeof(*keep));
    keep->n = l->scratch.n;
    keep->rep = xmalloc((keep->n + 1) * sizeof(uint32_t));
    keep->cnt = xmalloc((keep->n + 1) * sizeof(uint32_t));
    memcpy(keep->rep, l->scratch.rep, keep->n * sizeof(uint32_t));
    memcpy(keep->cnt, l->scratch.cnt, keep->n * sizeof(uint32_t));
    l->cache[node] = keep;
    l->cache_entries += keep->n;
    ALLOC_GROW(l->cached, l->ncached + 1, l->cached_alloc);
    l->cached[l->ncached++] = node;
    return keep;
}

/* ---- Models ------------------------------------------------------------------------- */

static bool needs_sensitive(const struct anon_config *c)
{
    return c->ldiv != ANON_LDIV_NONE || c->tclose != ANON_TCLOSE_NONE;
}

static int config_check(const struct anon_data *d, const struct anon_config *c, struct err *err)
{
    if (c->k < 1)
        return err_set(err, ERR_VALIDATION, "k", "k must be at least 1");
    if (!(c->suppression >= 0 && c->suppression <= 1))
        return err_set(err, ERR_VALIDATION, "suppression",
                       "the suppression limit must be a share from 0 to 1");
    if (needs_sensitive(c) && !d->has_sensitive)
        return err_set(err, ERR_VALIDATION, "sensitive",
                       "l-diversity and t-closeness need a sensitive column");
    if (c->ldiv != ANON_LDIV_NONE && !(c->l >= 1))
        return err_set(err, ERR_VALIDATION, "l", "l must be at least 1");
    if (c->tclose != ANON_TCLOSE_NONE && !(c->t >= 0 && c->t <= 1))
        return err_set(err, ERR_VALIDATION, "t", "t must be from 0 to 1");
    if (c->tclose == ANON_TCLOSE_HIERARCHICAL && !d->sens_h)
        return err_set(err, ERR_VALIDATION, "t",
                       "hierarchical t-closeness needs a hierarchy of the sensitive column");
    return 0;
}

/* Earth mover's distance of a class's sensitive histogram (l->hist over l->touched[0..nt),
 * n records) to the table's distribution. */
static double class_emd(const struct anon_data *d, struct anon_lattice *l,
                        const struct anon_config *c, size_t nt, uint64_t n)
{
    double N = (double)d->nrecords, emd = 0;

    if (c->tclose == ANON_TCLOSE_EQUAL) {
        double qin = 0;
        for (size_t i = 0; i < nt; i++) {
            uint32_t v = l->touched[i];
            double p = (double)l->hist[v] / (double)n, q = (double)d->sens_count[v] / N;
            emd += fabs(p - q);
            qin += q;
        }
        emd += 1 - qin; /* values absent from the class: |0 - q| */
        return emd / 2;
    }
    /* Hierarchical distance (Li et al. 2007): each node of height h of a hierarchy of
     * height H costs h/H · min(positive extra, negative extra) of its children. */
    size_t H = l->sh_height - 1;
    double *ext = l->tmp_a, *pos = l->tmp_b, *neg = l->tmp_c;
    if (H == 0)
        return 0;
    /* level 1 from the leaves: every sensitive value of the table */
    memset(ext, 0, l->sng[1] * sizeof(double));
    memset(pos, 0, l->sng[1] * sizeof(double));
    memset(neg, 0, l->sng[1] * sizeof(double));
    for (uint32_t v = 0; v < d->nsens; v++) {
        double e = -(double)d->sens_count[v] / N;
        uint32_t g = l->sgid[1][v];
        ext[g] += e;
        (e > 0 ? pos : neg)[g] += fabs(e);
    }
    for (size_t i = 0; i < nt; i++) {
        uint32_t v = l->touched[i], g = l->sgid[1][v];
        double q = (double)d->sens_count[v] / N, e = (double)l->hist[v] / (double)n - q;
        /* replace the leaf's −q by p − q */
        ext[g] += (double)l->hist[v] / (double)n;
        neg[g] -= q;
        (e > 0 ? pos : neg)[g] += fabs(e);
    }
    for (size_t lv = 1; lv <= H; lv++) {
        size_t ng = l->sng[lv];
        for (size_t g = 0; g < ng; g++)
            emd += (double)lv / (double)H * fmin(pos[g], fabs(neg[g]));
        if (lv == H)
            break;
        size_t nu = l->sng[lv + 1];
        double *ne = xcalloc(nu + 1, sizeof(double)), *np = xcalloc(nu + 1, sizeof(double)),
               *nn = xcalloc(nu + 1, sizeof(double));
        for (size_t g = 0; g < ng; g++) {
            uint32_t u = l->sup[lv + 1][g];
            ne[u] += ext[g];
            (ext[g] > 0 ? np : nn)[u] += fabs(ext[g]);
        }
        memcpy(ext, ne, nu * sizeof(double));
        memcpy(pos, np, nu * sizeof(double));
        memcpy(neg, nn, nu * sizeof(double));
        free(ne);
        free(np);
        free(nn);
    }
    return emd;
}

/*
 * Which classes of the node at lev fail the models: fail[c] for the classes in cl. With
 * a sensitive model the classes are grouped from the tuples (cl is then l->scratch and
 * class_of, ntuples entries, is filled).
 */
static void classes_fail(struct anon_data *d, struct anon_lattice *l, const struct anon_config *c,
                         const struct cls *cl, const uint32_t *class_of, bool *fail)
{
    for (uint32_t i = 0; i < cl->n; i++)
        fail[i] = cl->cnt[i] < c->k;
    if (!needs_sensitive(c))
        return;
    /* the tuples of each class, by counting sort */
    uint32_t *start = xcalloc(cl->n + 1, sizeof(uint32_t));
    uint32_t *order = xmalloc((d->ntuples + 1) * sizeof(uint32_t));
    for (size_t t = 0; t < d->ntuples; t++)
        start[class_of[t] + 1]++;
    for (uint32_t i = 0; i < cl->n; i++)
        start[i + 1] += start[i];
    uint32_t *pos = xmalloc((cl->n + 1) * sizeof(uint32_t));
    memcpy(pos, start, (cl->n + 1) * sizeof(uint32_t));
    for (size_t t = 0; t < d->ntuples; t++)
        order[pos[class_of[t]]++] = (uint32_t)t;
    for (uint32_t i = 0; i < cl->n; i++) {
        size_t nt = 0;
        uint64_t n = 0;
        for (uint32_t x = start[i]; x < start[i + 1]; x++) {
            uint32_t t = order[x], v = d->tsens[t];
            if (!l->hist[v])
                l->touched[nt++] = v;
            l->hist[v] += d->tcount[t];
            n += d->tcount[t];
        }
        if (c->ldiv == ANON_LDIV_DISTINCT && (double)nt < c->l - 1e-9)
            fail[i] = true;
        if (c->ldiv == ANON_LDIV_ENTROPY) {
            double e = 0;
            for (size_t x = 0; x < nt; x++) {
                double p = (double)l->hist[l->touched[x]] / (double)n;
                e -= p * log(p);
            }
            if (e < log(c->l) - 1e-9)
                fail[i] = true;
        }
        if (c->tclose != ANON_TCLOSE_NONE && class_emd(d, l, c, nt, n) > c->t + 1e-9)
            fail[i] = true;
        for (size_t x = 0; x < nt; x++)
            l->hist[l->touched[x]] = 0;
    }
    free(start);
    free(order);
    free(pos);
}

static uint64_t suppression_limit(const struct anon_data *d, const struct anon_config *c)
{
    /* ARX: floor(limit · N) records */
    return (uint64_t)floor(c->suppression * (double)d->nrecords + 1e-9);
}

/*
 * The most classes a node can have and be anonymous under k-anonymity with the suppression
 * limit L, 0 when there is no such count (k = 1). With C classes of which K pass (at
 * least k records each) the records suppressed are S ≥ C − K (each failing class holds
 * one record at least) and N − S ≥ k·K, so S ≥ (k·C − N) / (k − 1): S > L once
 * C > (N + (k − 1)·L) / k. Other models only fail more classes, so the count holds for
 * every configuration; a grouping that finds more classes can stop.
 */
static size_t feasible_classes_most(const struct anon_data *d, const struct anon_config *c)
{
    if (c->k < 2)
        return 0;
    uint64_t k = c->k, L = suppression_limit(d, c), most = (d->nrecords + (k - 1) * L) / k;
    return most > SIZE_MAX / 4 ? 0 : (size_t)most;
}

/* The classes of a node and which fail; *cl_out valid until the next grouping. For a
 * sensitive model class_of (ntuples) is filled and the classes come from the tuples.
 * With feasibility (only whether the node is anonymous matters), NULL when the grouping
 * found too many classes for the node to be anonymous (feasible_classes_most()). */
static const struct cls *node_classes(struct anon_data *d, struct anon_lattice *l,
                                      const struct anon_config *c, uint64_t node,
                                      uint32_t **class_of_out, bool **fail_out, bool feasibility)
{
    const struct cls *cl;
    uint32_t *class_of = NULL;
    unsigned lev[64];

    if (!l->evaluated[node]) {
        l->evaluated[node] = 1;
        l->checked++;
    }
    if (needs_sensitive(c) || class_of_out) {
        node_levels(l, node, lev);
        class_of = xmalloc((d->ntuples + 1) * sizeof(uint32_t));
        group(d, l, lev, NULL, class_of, 0);
        cl = &l->scratch;
    } else {
        cl = classes(d, l, node, feasibility ? feasible_classes_most(d, c) : 0);
        if (!cl) {
            *fail_out = NULL;
            return NULL;
        }
    }
    *fail_out = xmalloc((cl->n + 1) * sizeof(bool));
    classes_fail(d, l, c, cl, class_of, *fail_out);
    if (class_of_out)
        *class_of_out = class_of;
    else
        free(class_of);
    return cl;
}

/* Loss from the per-QI raw losses T_j (privacy.md §1.3). */
static double loss_aggregate(const struct anon_data *d, const double *T)
{
    double N = (double)d->nrecords, prod = 0;

    for (size_t j = 0; j < d->nqi; j++) {
        double R = (double)d->attr[j].rows, lo = N / R, L = 0;
        /* T_j = N/R_j exactly at level 0, but summed shares round */
        if (N - lo > 0 && T[j] - lo > 1e-9 * N)
            L = (T[j] - lo) / (N - lo);
        prod += log1p(L);
    }
    return expm1(prod / (double)d->nqi);
}

static void node_scores(struct anon_data *d, struct anon_lattice *l, const struct anon_config *c,
                        uint64_t node, const struct cls *cl, const bool *fail,
                        struct anon_scores *s)
{
    unsigned lev[64];
    double T[64] = {0}, H[64] = {0}, N = (double)d->nrecords, dm = 0;
    uint64_t S = 0;

    node_levels(l, node, lev);
    memset(s, 0, sizeof(*s));
    for (uint32_t i = 0; i < cl->n; i++) {
        if (fail[i]) {
            S += cl->cnt[i];
        } else {
            s->classes++;
            if (!s->min_class || cl->cnt[i] < s->min_class)
                s->min_class = cl->cnt[i];
            dm += (double)cl->cnt[i] * (double)cl->cnt[i];
        }
    }
    for (size_t j = 0; j < d->nqi; j++) {
        const struct anon_attr *a = &d->attr[j];
        const uint32_t *map = a->map[lev[j]];
        const double *share = a->share[lev[j]];
        size_t ng = a->gval[lev[j]].n;
        double t = (double)S, h = a->entropy[lev[j]];
        uint64_t *cw = S ? xcalloc(ng + 1, sizeof(uint64_t)) : NULL;
        for (uint32_t i = 0; i < cl->n; i++) {
            uint32_t g = map[d->tval[(size_t)cl->rep[i] * d->nqi + j]];
            if (fail[i])
                cw[g] += cl->cnt[i];
            else
                t += (double)cl->cnt[i] * share[g];
        }
        if (cw)
            for (size_t g = 0; g < ng; g++)
                if (cw[g])
                    h -= (double)cw[g] * log2((double)cw[g] / (double)S);
        free(cw);
        T[j] = t;
        H[j] = h;
    }
    s->suppressed = S;
    s->loss = loss_aggregate(d, T);
    s->entropy = 0;
    for (size_t j = 0; j < d->nqi; j++)
        s->entropy += H[j];
    s->discernibility = dm + (double)S * N;
    s->aecs = N / (double)(s->classes + (S ? 1 : 0));
    s->feasible = S <= suppression_limit(d, c);
}

static double metric_value(const struct anon_scores *s, enum anon_metric m)
{
    switch (m) {
    case ANON_METRIC_LOSS:
        return s->loss;
    case ANON_METRIC_ENTROPY:
        return s->entropy;
    case ANON_METRIC_DISCERNIBILITY:
        return s->discernibility;
    case ANON_METRIC_AECS:
        return s->aecs;
    }
    return s->loss;
}

/* A lower bound of the metric at node from its levels alone, monotonic in the lattice:
 * the value without suppression for Loss and entropy (a suppressed record costs at
 * least as much as a generalised one), N and 1 for the others. */
static double lower_bound(const struct anon_data *d, const struct anon_lattice *l,
                          enum anon_metric m, uint64_t node)
{
    unsigned lev[64];
    double T[64] = {0}, e = 0;

    node_levels(l, node, lev);
    switch (m) {
    case ANON_METRIC_LOSS:
        for (size_t j = 0; j < d->nqi; j++)
            T[j] = d->attr[j].gen_loss[lev[j]];
        return loss_aggregate(d, T);
    case ANON_METRIC_ENTROPY:
        for (size_t j = 0; j < d->nqi; j++)
            e += d->attr[j].entropy[lev[j]];
        return e;
    case ANON_METRIC_DISCERNIBILITY:
        return (double)d->nrecords;
    case ANON_METRIC_AECS:
        return 1;
    }
    return 0;
}

static int levels_check(const struct anon_data *d, const unsigned *levels, struct err *err)
{
    for (size_t j = 0; j < d->nqi; j++)
        if (levels[j] >= d->attr[j].height)
            return err_set(err, ERR_VALIDATION, "levels",
                           "level %u of \"%s\" is beyond its hierarchy's %zu levels", levels[j],
                           d->attr[j].name, d->attr[j].height);
    return 0;
}

int anon_evaluate(struct anon_data *d, const struct anon_config *c, const unsigned *levels,
                  struct anon_scores *out, struct err *err)
{
    struct anon_lattice *l;
    bool *fail = NULL;
    int ret;

    if ((ret = config_check(d, c, err)) || (ret = levels_check(d, levels, err)) ||
        (ret = lattice_get(d, &l, err)))
        return ret;
    uint64_t node = node_of(l, levels);
    const struct cls *cl = node_classes(d, l, c, node, NULL, &fail, false);
    node_scores(d, l, c, node, cl, fail, out);
    free(fail);
    return 0;
}

int anon_tuples_suppressed(struct anon_data *d, const struct anon_config *c, const unsigned *levels,
                           bool **out, struct err *err)
{
    struct anon_lattice *l;
    uint32_t *class_of = NULL;
    bool *fail = NULL;
    int ret;

    *out = NULL;
    if ((ret = config_check(d, c, err)) || (ret = levels_check(d, levels, err)) ||
        (ret = lattice_get(d, &l, err)))
        return ret;
    node_classes(d, l, c, node_of(l, levels), &class_of, &fail, false);
    *out = xmalloc((d->ntuples + 1) * sizeof(bool));
    for (size_t t = 0; t < d->ntuples; t++)
        (*out)[t] = fail[class_of[t]];
    free(class_of);
    free(fail);
    return 0;
}

int anon_risk(struct anon_data *d, const struct anon_config *c, const unsigned *levels,
              double threshold, struct anon_risk *out, struct err *err)
{
    struct anon_lattice *l;
    bool *fail = NULL;
    uint64_t S = 0, minc = 0, atrisk = 0, uniq = 0;
    double N = (double)d->nrecords;
    int ret;

    memset(out, 0, sizeof(*out));
    if ((ret = config_check(d, c, err)) || (ret = levels_check(d, levels, err)) ||
        (ret = lattice_get(d, &l, err)))
        return ret;
    uint64_t node = node_of(l, levels);
    const struct cls *cl = node_classes(d, l, c, node, NULL, &fail, false);
    for (uint32_t i = 0; i < cl->n; i++) {
        uint64_t n = cl->cnt[i];
        if (fail[i]) {
            S += n;
            continue;
        }
        out->classes++;
        if (!minc || n < minc)
            minc = n;
        if (1.0 / (double)n > threshold)
            atrisk += n;
        if (n == 1)
            uniq++;
    }
    if (S) {
        out->classes++;
        if (!minc || S < minc)
            minc = S;
        if (1.0 / (double)S > threshold)
            atrisk += S;
        if (S == 1)
            uniq++;
    }
    free(fail);
    if (!d->nrecords)
        return 0;
    out->highest = 1.0 / (double)minc;
    out->average = (double)out->classes / N;
    out->at_risk = (double)atrisk / N;
    out->uniques = (double)uniq / N;
    return 0;
}

/* ---- The search --------------------------------------------------------------------- */

/* Tags node and all its successors (up) or predecessors (down) with state. */
static void tag(struct anon_lattice *l, uint64_t node, uint8_t state, bool up, uint64_t **stack,
                size_t *alloc)
{
    size_t n = 0;

    if (l->state[node] == state)
        return;
    l->state[node] = state;
    ALLOC_GROW(*stack, 1, *alloc);
    (*stack)[n++] = node;
    while (n) {
        uint64_t x = (*stack)[--n];
        for (size_t j = 0; j < l->m; j++) {
            unsigned lv = (unsigned)((x / l->stride[j]) % l->height[j]);
            uint64_t y;
            if (up ? lv + 1 >= l->height[j] : lv == 0)
                continue;
            y = up ? x + l->stride[j] : x - l->stride[j];
            if (l->state[y] == state)
                continue;
            l->state[y] = state;
            ALLOC_GROW(*stack, n + 1, *alloc);
            (*stack)[n++] = y;
        }
    }
}

static bool check_feasible(struct anon_data *d, struct anon_lattice *l, const struct anon_config *c,
                           uint64_t node, uint64_t **stack, size_t *alloc)
{
    bool *fail = NULL;
    uint64_t S = 0;
    const struct cls *cl;

    if (l->state[node] != NODE_UNKNOWN)
        return l->state[node] == NODE_FEASIBLE;
    cl = node_classes(d, l, c, node, NULL, &fail, true);
    for (uint32_t i = 0; cl && i < cl->n; i++)
        if (fail[i])
            S += cl->cnt[i];
    free(fail);
    bool ok = cl && S <= suppression_limit(d, c);
    tag(l, node, ok ? NODE_FEASIBLE : NODE_INFEASIBLE, ok, stack, alloc);
    return ok;
}

/* State of the search by bound (search_bounded). */
struct bsearch {
    struct anon_data *d;
    struct anon_lattice *l;
    const struct anon_config *c;
    const double *bound;
    const uint32_t *rank; /* position in the order of ties: level sum, then number */
    uint8_t *scored;
    uint64_t **stack;
    size_t *stack_alloc;
    bool found;
    double best;
    uint64_t best_node;
    struct anon_scores best_scores;
    uint64_t pruned; /* nodes left out by bsearch_raised() */
    /* Loss with suppression (bsearch_raised()): the anonymous nodes scored that suppress
     * records, each its levels (m) and D_j (m), in q_lev and q_sup */
    bool raise;
    size_t nq, q_alloc;
    unsigned *q_lev;
    double *q_sup;
};

struct byb {
    double bound;
    uint32_t rank, node;
};

static int byb_cmp(const void *pa, const void *pb)
{
    const struct byb *a = pa, *b = pb;
    if (a->bound != b->bound)
        return a->bound < b->bound ? -1 : 1;
    return a->rank < b->rank ? -1 : a->rank > b->rank;
}

static double tie_tolerance(double best)
{
    return 1e-12 * fmax(1, fabs(best));
}

/* Scores the node whose classes cl and failing classes fail are in hand; keeps it when
 * it beats the best, or ties with it and comes first in the order of ties. */
static void bsearch_score(struct bsearch *b, uint64_t n, const struct cls *cl, const bool *fail)
{
    struct anon_scores s;

    b->scored[n] = 1;
    node_scores(b->d, b->l, b->c, n, cl, fail, &s);
    if (!s.feasible)
        return;
    if (b->raise && s.suppressed) {
        /* D_j = Σ over the suppressed records of (1 − share of their value at n) */
        const struct anon_data *d = b->d;
        size_t m = b->l->m, x = b->nq++;
        unsigned *lev;
        double *D;
        if (b->nq > b->q_alloc) {
            b->q_alloc = b->nq * 2;
            b->q_lev = xrealloc(b->q_lev, b->q_alloc * m * sizeof(*b->q_lev));
            b->q_sup = xrealloc(b->q_sup, b->q_alloc * m * sizeof(*b->q_sup));
        }
        lev = b->q_lev + x * m;
        D = b->q_sup + x * m;
        node_levels(b->l, n, lev);
        for (size_t j = 0; j < m; j++) {
            const uint32_t *map = d->attr[j].map[lev[j]];
            const double *share = d->attr[j].share[lev[j]];
            D[j] = 0;
            for (uint32_t i = 0; i < cl->n; i++)
                if (fail[i])
                    D[j] += (double)cl->cnt[i] *
                            (1 - share[map[d->tval[(size_t)cl->rep[i] * m + j]]]);
        }
    }
    double v = metric_value(&s, b->c->metric), tol = tie_tolerance(b->best);
    if (!b->found || v < b->best - tol ||
        (v <= b->best + tol && b->rank[n] < b->rank[b->best_node])) {
        b->found = true;
        b->best = v;
        b->best_node = n;
        b->best_scores = s;
    }
}

/* Whether node is anonymous: from its tag, else from its classes, which then tag its
 * successors or predecessors and, when it is anonymous, score it. */
static bool bsearch_check(struct bsearch *b, uint64_t n)
{
    struct anon_lattice *l = b->l;
    bool *fail = NULL;
    uint64_t S = 0;

    if (l->state[n] != NODE_UNKNOWN)
        return l->state[n] == NODE_FEASIBLE;
    const struct cls *cl = node_classes(b->d, l, b->c, n, NULL, &fail, true);
    for (uint32_t i = 0; cl && i < cl->n; i++)
        if (fail[i])
            S += cl->cnt[i];
    bool ok = cl && S <= suppression_limit(b->d, b->c);
    if (ok)
        bsearch_score(b, n, cl, fail);
    free(fail);
    tag(l, n, ok ? NODE_FEASIBLE : NODE_INFEASIBLE, ok, b->stack, b->stack_alloc);
    return ok;
}

/*
 * A lower bound of Loss at node n if it is anonymous, at least bound[n]: the records
 * suppressed at an anonymous node q ≥ n are suppressed at n too (their class at n is
 * part of their class at q, so it fails k-anonymity or distinct l-diversity as well),
 * and each costs 1 in T_j instead of the share of its value at n, which is at most its
 * share at q. So T_j(n) ≥ T_j(n without suppression) + D_j(q), D_j(q) = Σ over the
 * records suppressed at q of (1 − share_j at q), for each j and each such q; Loss grows
 * with every T_j.
 */
static double bsearch_raised(const struct bsearch *b, uint64_t n)
{
    const struct anon_data *d = b->d;
    size_t m = b->l->m;
    unsigned lev[64];
    double T[64], D[64] = {0};
    bool any = false;

    if (!b->nq)
        return b->bound[n];
    node_levels(b->l, n, lev);
    for (size_t x = 0; x < b->nq; x++) {
        const unsigned *q = b->q_lev + x * m;
        bool above = true;
        for (size_t j = 0; j < m && above; j++)
            above = q[j] >= lev[j];
        if (!above)
            continue;
        any = true;
        for (size_t j = 0; j < m; j++)
            D[j] = fmax(D[j], b->q_sup[x * m + j]);
    }
    if (!any)
        return b->bound[n];
    for (size_t j = 0; j < m; j++)
        T[j] = d->attr[j].gen_loss[lev[j]] + D[j];
    return fmax(b->bound[n], loss_aggregate(d, T));
}

/* Whether node n may still be the optimum by its bound: below the best, or equal to
 * it within the tolerance (a tie that comes first in the order wins). */
static bool bsearch_candidate(const struct bsearch *b, uint64_t n)
{
    return !b->found || b->bound[n] <= b->best + tie_tolerance(b->best);
}

/*
 * The search when feasibility is monotonic and the metric has a lower bound that is its
 * value without suppression (Loss, non-uniform entropy): nodes in ascending order of
 * the bound, stopping at the first whose bound exceeds the best score. The nodes still
 * in question form a down-set C of the lattice (the bound only grows upwards); an
 * untagged node of C starts a greedy path upwards that stays in C, whose top is checked
 * first (most of C lies below the anonymous frontier, and one non-anonymous top tags
 * every node below it) and which is then bisected as in Flash. Every anonymous node
 * checked is scored with the classes already grouped. Without suppression the bound is
 * the score, so the first anonymous node reached is the optimum.
 */
static void search_bounded(struct bsearch *b, const uint64_t *order, unsigned maxsum)
{
    struct anon_data *d = b->d;
    struct anon_lattice *l = b->l;
    uint64_t *byb = xmalloc(l->nnodes * sizeof(*byb)), *path;
    unsigned lev[64];

    /* by bound, then in the order of ties */
    struct byb *keys = xmalloc(l->nnodes * sizeof(*keys));
    for (uint64_t i = 0; i < l->nnodes; i++)
        keys[i] = (struct byb){b->bound[order[i]], (uint32_t)i, (uint32_t)order[i]};
    qsort(keys, l->nnodes, sizeof(*keys), byb_cmp);
    for (uint64_t i = 0; i < l->nnodes; i++)
        byb[i] = keys[i].node;
    free(keys);
    path = xmalloc((maxsum + 2) * sizeof(*path));
    for (uint64_t i = 0; i < l->nnodes; i++) {
        uint64_t n = byb[i];
        size_t len = 0;

        if (b->found && b->bound[n] > b->best + tie_tolerance(b->best))
            break;
        if (l->state[n] == NODE_INFEASIBLE)
            continue;
        if (b->found && b->bound[n] >= b->best - tie_tolerance(b->best) &&
            b->rank[n] > b->rank[b->best_node])
            continue; /* at best a tie that comes later */
        if (b->found && b->nq && (!b->scored[n] || l->state[n] == NODE_UNKNOWN)) {
            /* the bound raised by what anonymous nodes above n suppress */
            double r = bsearch_raised(b, n);
            if (r > b->best + tie_tolerance(b->best) ||
                (r >= b->best - tie_tolerance(b->best) && b->rank[n] > b->rank[b->best_node])) {
                b->pruned++;
                continue;
            }
        }
        if (l->state[n] == NODE_UNKNOWN) {
            node_levels(l, n, lev);
            path[len++] = n;
            for (;;) {
                size_t pick = SIZE_MAX;
                uint64_t cur = path[len - 1];
                if (l->state[cur] != NODE_UNKNOWN)
                    break;
                for (size_t j = 0; j < l->m; j++) {
                    if (lev[j] + 1 >= l->height[j] || !bsearch_candidate(b, cur + l->stride[j]))
                        continue;
                    if (pick == SIZE_MAX || (double)lev[j] / (l->height[j] - 1) <
                                                    (double)lev[pick] / (l->height[pick] - 1))
                        pick = j;
                }
                if (pick == SIZE_MAX)
                    break;
                lev[pick]++;
                path[len] = cur + l->stride[pick];
                len++;
            }
            /* the top first: below the frontier it settles the whole path */
            if (bsearch_check(b, path[len - 1]) && len > 1) {
                size_t lo = 0, hi = len - 1;
                while (lo < hi) {
                    size_t mid = lo + (hi - lo) / 2;
                    if (bsearch_check(b, path[mid]))
                        hi = mid;
                    else
                        lo = mid + 1;
                }
            }
        }
        if (l->state[n] == NODE_FEASIBLE && !b->scored[n] && bsearch_candidate(b, n)) {
            bool *fail = NULL;
            const struct cls *cl = node_classes(d, l, b->c, n, NULL, &fail, false);
            bsearch_score(b, n, cl, fail);
            free(fail);
        }
    }
    free(path);
    free(byb);
}

void anon_result_release(struct anon_result *r)
{
    free(r->levels);
    memset(r, 0, sizeof(*r));
}

static double clock_seconds(clockid_t clock)
{
    struct timespec ts;
    clock_gettime(clock, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int anon_search(struct anon_data *d, const struct anon_config *c, struct anon_result *out,
                struct err *err)
{
    struct anon_lattice *l;
    uint64_t *order = NULL, *stack = NULL, *path = NULL, best_node = 0;
    size_t stack_alloc = 0;
    uint64_t *bucket = NULL;
    double *bound = NULL;
    double t0 = clock_seconds(CLOCK_MONOTONIC), best = INFINITY;
    double cpu0 = clock_seconds(CLOCK_PROCESS_CPUTIME_ID);
    bool found = false;
    int ret;

    memset(out, 0, sizeof(*out));
    if ((ret = config_check(d, c, err)) || (ret = lattice_get(d, &l, err)))
        return ret;
    memset(l->state, 0, l->nnodes);
    memset(l->evaluated, 0, l->nnodes);
    l->checked = l->rollups = l->stopped = 0;

    /* nodes by the sum of their levels, then by number: bottom-up breadth first */
    unsigned maxsum = 0, lev[64];
    for (size_t j = 0; j < l->m; j++)
        maxsum += l->height[j] - 1;
    bucket = xcalloc(maxsum + 2, sizeof(*bucket));
    for (uint64_t n = 0; n < l->nnodes; n++) {
        unsigned s = 0;
        node_levels(l, n, lev);
        for (size_t j = 0; j < l->m; j++)
            s += lev[j];
        bucket[s + 1]++;
    }
    for (unsigned s = 0; s <= maxsum; s++)
        bucket[s + 1] += bucket[s];
    order = xmalloc(l->nnodes * sizeof(*order));
    for (uint64_t n = 0; n < l->nnodes; n++) {
        unsigned s = 0;
        node_levels(l, n, lev);
        for (size_t j = 0; j < l->m; j++)
            s += lev[j];
        order[bucket[s]++] = n;
    }

    /* Feasibility is monotonic unless a non-monotonic model meets suppression (a class
     * that passes entropy l-diversity or t-closeness may fail once merged with one that
     * fails, and then be suppressed too). */
    bool monotone =
            c->suppression == 0 || (c->ldiv != ANON_LDIV_ENTROPY && c->tclose == ANON_TCLOSE_NONE);
    bound = xmalloc(l->nnodes * sizeof(*bound));
    if (monotone && (c->metric == ANON_METRIC_LOSS || c->metric == ANON_METRIC_ENTROPY)) {
        uint32_t *rank = xmalloc(l->nnodes * sizeof(*rank));
        struct bsearch b = {.d = d,
                            .l = l,
                            .c = c,
                            .bound = bound,
                            .rank = rank,
                            .stack = &stack,
                            .stack_alloc = &stack_alloc};
        for (uint64_t i = 0; i < l->nnodes; i++) {
            uint64_t n = order[i];
            double v = lower_bound(d, l, c->metric, n);
            node_levels(l, n, lev);
            for (size_t j = 0; j < l->m; j++)
                if (lev[j] && bound[n - l->stride[j]] > v)
                    v = bound[n - l->stride[j]];
            bound[n] = v;
            rank[n] = (uint32_t)i;
        }
        b.scored = xcalloc(l->nnodes, 1);
        /* suppressed records only ever make a node's Loss larger than its bound, for the
         * models whose failing classes fail at every specialisation */
        b.raise = c->metric == ANON_METRIC_LOSS && c->suppression > 0 &&
                  (c->ldiv == ANON_LDIV_NONE || c->ldiv == ANON_LDIV_DISTINCT) &&
                  c->tclose == ANON_TCLOSE_NONE;
        search_bounded(&b, order, maxsum);
        free(b.q_lev);
        free(b.q_sup);
        out->pruned = b.pruned;
        found = b.found;
        best = b.best;
        best_node = b.best_node;
        out->scores = b.best_scores;
        free(b.scored);
        free(rank);
        goto done;
    }
    if (monotone) {
        /* Flash: from each untagged node bottom-up, a greedy path to the top, searched
         * by bisection; every check tags its successors or predecessors. */
        size_t maxpath = maxsum + 1;
        path = xmalloc((maxpath + 1) * sizeof(*path));
        for (uint64_t i = 0; i < l->nnodes; i++) {
            uint64_t n = order[i];
            size_t len = 0;
            if (l->state[n] != NODE_UNKNOWN)
                continue;
            node_levels(l, n, lev);
            path[len++] = n;
            for (;;) {
                /* the lowest level relative to its height goes up first */
                size_t pick = SIZE_MAX;
                for (size_t j = 0; j < l->m; j++) {
                    if (lev[j] + 1 >= l->height[j])
                        continue;
                    if (pick == SIZE_MAX || (double)lev[j] / (l->height[j] - 1) <
                                                    (double)lev[pick] / (l->height[pick] - 1))
                        pick = j;
                }
                if (pick == SIZE_MAX)
                    break;
                lev[pick]++;
                path[len] = path[len - 1] + l->stride[pick];
                len++;
            }
            size_t lo = 0, hi = len;
            while (lo < hi) {
                size_t mid = lo + (hi - lo) / 2;
                if (check_feasible(d, l, c, path[mid], &stack, &stack_alloc))
                    hi = mid;
                else
                    lo = mid + 1;
            }
        }
    }
    /* Scoring: without suppression every metric is monotonic, so only minimal feasible
     * nodes; with it every feasible node whose lower bound can still win. */
    /* bound[n]: a lower bound of the metric at n and above, the largest of the bound
     * from n's levels and its direct predecessors' bounds, raised at computed nodes by
     * what their classes show without suppression (Σ|E|², which only grows upwards, for
     * discernibility; the class count, which only falls, for the average class size). */
    for (uint64_t i = 0; i < l->nnodes; i++) {
        uint64_t n = order[i];
        struct anon_scores s;
        bool *fail = NULL;
        double b = lower_bound(d, l, c->metric, n);
        node_levels(l, n, lev);
        for (size_t j = 0; j < l->m; j++)
            if (lev[j] && bound[n - l->stride[j]] > b)
                b = bound[n - l->stride[j]];
        bound[n] = b;
        if (monotone && l->state[n] != NODE_FEASIBLE)
            continue;
        if (monotone && c->suppression == 0) {
            bool minimal = true;
            for (size_t j = 0; j < l->m && minimal; j++)
                if (lev[j] && l->state[n - l->stride[j]] == NODE_FEASIBLE)
                    minimal = false;
            if (!minimal)
                continue;
        }
        if (found && b >= best - 1e-12 * fmax(1, fabs(best)))
            continue;
        const struct cls *cl = node_classes(d, l, c, n, NULL, &fail, false);
        node_scores(d, l, c, n, cl, fail, &s);
        free(fail);
        if (c->metric == ANON_METRIC_DISCERNIBILITY) {
            double sq = 0;
            for (uint32_t x = 0; x < cl->n; x++)
                sq += (double)cl->cnt[x] * (double)cl->cnt[x];
            bound[n] = fmax(bound[n], sq);
        } else if (c->metric == ANON_METRIC_AECS) {
            bound[n] = fmax(bound[n], (double)d->nrecords / ((double)cl->n + 1));
        }
        if (!s.feasible)
            continue;
        double v = metric_value(&s, c->metric);
        if (!found || v < best - 1e-12 * fmax(1, fabs(best))) {
            found = true;
            best = v;
            best_node = n;
            out->scores = s;
        }
    }
done:
    out->found = found;
    out->nodes = l->nnodes;
    out->checked = l->checked;
    out->rollups = l->rollups;
    out->stopped = l->stopped;
    out->levels = xcalloc(l->m, sizeof(unsigned));
    if (found) {
        node_levels(l, best_node, out->levels);
        out->score = best;
    }
    out->seconds = clock_seconds(CLOCK_MONOTONIC) - t0;
    out->cpu_seconds = clock_seconds(CLOCK_PROCESS_CPUTIME_ID) - cpu0;
    free(order);
    free(stack);
    free(path);
    free(bucket);
    free(bound);
    return 0;
}

const char *anon_metric_name(enum anon_metric m)
{
    switch (m) {
    case ANON_METRIC_LOSS:
        return "loss";
    case ANON_METRIC_ENTROPY:
        return "entropy";
    case ANON_METRIC_DISCERNIBILITY:
        return "discernibility";
    case ANON_METRIC_AECS:
        return "aecs";
    }
    return "loss";
}

bool anon_metric_parse(const char *s, enum anon_metric *out)
{
    static const struct {
        const char *name;
        enum anon_metric m;
    } names[] = {
            {"loss", ANON_METRIC_LOSS},
            {"entropy", ANON_METRIC_ENTROPY},
            {"discernibility", ANON_METRIC_DISCERNIBILITY},
            {"discernability", ANON_METRIC_DISCERNIBILITY},
            {"dm", ANON_METRIC_DISCERNIBILITY},
            {"aecs", ANON_METRIC_AECS},
    };
    for (size_t i = 0; i < ARRAY_SIZE(names); i++)
        if (!strcasecmp(s, names[i].name)) {
            *out = names[i].m;
            return true;
        }
    return false;
}
