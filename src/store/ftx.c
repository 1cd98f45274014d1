/*
 * ftx.c - Kaifang's inverted index for the full text of datastore tables: the builder,
 * the postings format and the queries (count, page by rank, membership). ftx.h has the
 * format and the ranking; docs/internals/datastore.md, "Full text", why it exists.
 */
#include <fcntl.h>
#include <malloc.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/util.h"
#include "store/ftx.h"

/* Bitmaps of row ids are read into 64-bit words by memcpy: bit i of byte i / 8 is bit
 * i % 64 of word i / 64 on a little-endian machine only. */
#if __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "ftx.c reads its bitmaps as little-endian words"
#endif

/* ---- varints (LEB128: 7 bits a byte, low first) ------------------------------------------ */
static size_t vput(uint8_t *p, uint64_t v)
{
    size_t n = 0;

    while (v >= 0x80) {
        p[n++] = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    p[n++] = (uint8_t)v;
    return n;
}

/* Reads a varint at *p (before end): 0, or -1 when it is cut short or longer than 64 bits. */
static int vget(const uint8_t **p, const uint8_t *end, uint64_t *v)
{
    const uint8_t *q = *p;
    uint64_t x = 0;
    unsigned shift = 0;

    if (q < end && *q < 0x80) {
        *v = *q;
        *p = q + 1;
        return 0;
    }
    while (q < end) {
        uint8_t c = *q++;

        if (shift == 63 && c > 1)
            return -1;
        x |= (uint64_t)(c & 0x7f) << shift;
        if (c < 0x80) {
            *v = x;
            *p = q;
            return 0;
        }
        shift += 7;
        if (shift > 63)
            return -1;
    }
    return -1;
}

size_t ftx_key(uint32_t col, const char *token, size_t len, uint8_t *out)
{
    size_t n = vput(out, col);

    memcpy(out + n, token, len);
    return n + len;
}

/* ---- Building ---------------------------------------------------------------------------- */
struct bytes {
    uint8_t *p;
    size_t len, cap;
};

static void bytes_room(struct bytes *b, size_t extra)
{
    if (b->len + extra > b->cap) {
        size_t cap = b->cap ? b->cap * 2 : 8;

        while (cap < b->len + extra)
            cap *= 2;
        b->p = xrealloc(b->p, cap);
        b->cap = cap;
    }
}

static void bytes_varint(struct bytes *b, uint64_t v)
{
    bytes_room(b, 10);
    b->len += vput(b->p + b->len, v);
}

/* A growing list of varints: up to 8 bytes inline (most lists of a run, rare tokens, hold
 * one id), then on the heap. */
struct small {
    uint32_t len, cap; /* cap 0: inline */
    union {
        uint8_t *p;
        uint8_t in[8];
    } u;
};

static uint8_t *small_data(struct small *l)
{
    return l->cap ? l->u.p : l->u.in;
}

/* Appends a varint; returns the heap bytes it newly took. */
static size_t small_varint(struct small *l, uint64_t v)
{
    uint8_t *d;
    size_t grown = 0;

    if (l->len + 10 > (l->cap ? l->cap : sizeof(l->u.in))) {
        uint8_t tmp[10];
        size_t n = vput(tmp, v);

        if (!l->cap && l->len + n > sizeof(l->u.in)) {
            uint8_t *p = xmalloc(32);

            memcpy(p, l->u.in, l->len);
            l->u.p = p;
            l->cap = 32;
            grown = 32;
        } else if (l->cap && l->len + n > l->cap) {
            l->u.p = xrealloc(l->u.p, (size_t)l->cap * 2);
            grown = l->cap;
            l->cap *= 2;
        }
        memcpy(small_data(l) + l->len, tmp, n);
        l->len += (uint32_t)n;
        return grown;
    }
    d = small_data(l) + l->len;
    l->len += (uint32_t)vput(d, v);
    return 0;
}

static void small_free(struct small *l)
{
    if (l->cap)
        free(l->u.p);
    memset(l, 0, sizeof(*l));
}

/*
 * The builder keeps a dictionary of the tokens it has seen (struct tok, shared by the
 * runs while it fits in half the budget) and, for the rows since the last run, one list
 * per token and field (struct list): a token is posted once, under its field. The keys
 * under FTX_COL_ANY are made when the index is written: a token in one field has the
 * field's postings (stored once, the field's key pointing at them), a token in several
 * the union of theirs.
 */
struct list {
    struct small docs, exc; /* row ids (varint differences); exceptions (difference, count) */
    int64_t prev;           /* the last id in docs: the row being counted (0: none) */
    int64_t prev_exc;       /* the last id in exc (0: none) */
    uint32_t tf;            /* the token's count in row prev */
    uint32_t df, nexc;
    uint32_t col;  /* the field */
    uint32_t next; /* index + 1 of the token's next list, 0: none */
};

/* A slot of the dictionary (open addressing): 24 bytes, the bytes of tokens of up to 8
 * bytes (most) inline, so that finding one reads one place in memory. */
struct tok {
    uint64_t hash; /* ftx_key_hash of its keys: the row of the ftx table */
    uint32_t klen; /* 0: an empty slot */
    uint32_t list; /* index + 1 of its first list since the last run, 0: none */
    union {
        uint8_t in[8];
        uint32_t off; /* in the builder's token arena, when klen > 8 */
    } k;
};

/* A token's postings in one field, whole (what a key's postings are made of). */
struct colpost {
    uint32_t col;
    uint64_t df, nexc;
    int64_t last, last_exc;
    struct bytes docs, exc; /* varint differences from 0: ids; pairs (id difference, count) */
};

/* In the run file, sorted by (hash, token): a token, then its lists. */
struct run_tok {
    uint64_t hash;
    uint32_t klen, nlists;
};

struct run_list {
    uint64_t df, nexc;
    int64_t last, last_exc;
    uint32_t col, dlen, elen, pad;
};

struct ftx_build {
    uint32_t ncols;
    const char *dir; /* spill directory (NULL: never spill) */
    size_t budget;
    int fd; /* the run file, unlinked (O_TMPFILE); -1 until the first spill */
    FILE *out;
    off_t *runs; /* end offset of each run */
    size_t nruns;
    int64_t row; /* the current row */
    uint64_t rows, tokens;
    struct tok *toks; /* the dictionary: nslots slots, ntoks of them used */
    size_t ntoks;
    size_t nslots; /* a power of two */
    struct bytes keys;
    struct list *lists;
    size_t nlists, alists;
    size_t heap; /* bytes the lists took on the heap */
    /* for writing: the tokens of a run in order, a token's postings by field */
    struct colpost *cp;
    size_t ncp, acp;
    struct bytes any_docs, any_exc, pbuf;
    uint8_t key[16 + 4096];
};

static uint64_t hash_bytes(const uint8_t *p, size_t n)
{
    uint64_t h = 0xcbf29ce484222325ull;

    for (size_t i = 0; i < n; i++) {
        h ^= p[i];
        h *= 0x100000001b3ull;
    }
    return h ^ (h >> 29);
}

/* A key's token: what follows the column's varint. */
static size_t key_token(const uint8_t *key, size_t klen)
{
    size_t i = 0;

    while (i < klen && (key[i] & 0x80))
        i++;
    return i < klen ? i + 1 : klen;
}

uint64_t ftx_key_hash(const uint8_t *key, size_t klen)
{
    size_t t = key_token(key, klen);

    return hash_bytes(key + t, klen - t) >> 1;
}

uint64_t ftx_key_hash_v1(const uint8_t *key, size_t klen)
{
    return hash_bytes(key, klen) >> 1;
}

struct ftx_build *ftx_build_new(uint32_t ncols, const char *spill_dir, size_t budget)
{
    struct ftx_build *b = xcalloc(1, sizeof(*b));

    b->ncols = ncols;
    b->dir = spill_dir;
    b->budget = budget;
    b->fd = -1;
    b->nslots = 1024;
    b->toks = xcalloc(b->nslots, sizeof(*b->toks));
    return b;
}

static size_t dict_memory(const struct ftx_build *b)
{
    return b->nslots * sizeof(*b->toks) + b->keys.cap;
}

size_t ftx_build_memory(const struct ftx_build *b)
{
    return dict_memory(b) + b->alists * sizeof(*b->lists) + b->heap + b->acp * sizeof(*b->cp);
}

static int spill(struct ftx_build *b, bool reset, struct err *err);

/* Tokens a row may add to the dictionary before it must grow (a margin for long rows). */
#define DICT_MARGIN 1024

int ftx_build_row(struct ftx_build *b, int64_t id, struct err *err)
{
    if (id <= b->row)
        return err_set(err, ERR_INTERNAL, "", "full-text index: row %lld after row %lld",
                       (long long)id, (long long)b->row);
    if (b->dir && b->nlists) {
        /* The dictionary stays within half the budget: rather than doubling past it (the
         * old and the new slots both held while it grows), it starts again empty. */
        bool full = b->ntoks + DICT_MARGIN > b->nslots / 2 &&
                    2 * b->nslots * sizeof(*b->toks) > b->budget / 2;
        int rc = 0;

        if (full || ftx_build_memory(b) > b->budget)
            rc = spill(b, full, err);
        if (rc)
            return rc;
    }
    b->row = id;
    b->rows++;
    return 0;
}

/* The home slot of hash h (63 bits) among nslots (a power of two): its high bits, so that
 * the slots in order hold the tokens nearly in hash order, the order runs are written in
 * (run_order then only mends the few a probe moved, and reads the slots in order). */
static inline size_t home(uint64_t h, size_t nslots)
{
    return (size_t)(h >> (63 - __builtin_ctzll((unsigned long long)nslots)));
}

static void slots_grow(struct ftx_build *b)
{
    size_t n = b->nslots * 2, mask = n - 1;
    struct tok *s = xcalloc(n, sizeof(*s));

    for (size_t i = 0; i < b->nslots; i++) {
        size_t j;

        if (!b->toks[i].klen)
            continue;
        j = home(b->toks[i].hash, n);
        while (s[j].klen)
            j = (j + 1) & mask;
        s[j] = b->toks[i];
    }
    free(b->toks);
    b->toks = s;
    b->nslots = n;
}

static const uint8_t *tok_bytes(const struct ftx_build *b, const struct tok *t)
{
    return t->klen <= sizeof(t->k.in) ? t->k.in : b->keys.p + t->k.off;
}

/* Ends row prev of l: its count, when more than one, goes to the exceptions. */
static void list_close(struct ftx_build *b, struct list *l)
{
    if (l->tf > 1) {
        b->heap += small_varint(&l->exc, (uint64_t)(l->prev - l->prev_exc));
        b->heap += small_varint(&l->exc, l->tf);
        l->prev_exc = l->prev;
        l->nexc++;
    }
    l->tf = 0;
}

static void post(struct ftx_build *b, uint32_t col, const uint8_t *token, size_t n)
{
    uint64_t h = hash_bytes(token, n) >> 1;
    size_t mask = b->nslots - 1, j = home(h, b->nslots);
    uint32_t li;
    struct tok *t;
    struct list *l;

    for (;;) {
        t = &b->toks[j];
        if (!t->klen)
            break;
        if (t->hash == h && t->klen == n) {
            const uint8_t *k = n <= sizeof(t->k.in) ? t->k.in : b->keys.p + t->k.off;
            size_t i = 0;

            while (i < n && k[i] == token[i])
                i++;
            if (i == n)
                goto found;
        }
        j = (j + 1) & mask;
    }
    t->hash = h;
    t->klen = (uint32_t)n;
    t->list = 0;
    if (n <= sizeof(t->k.in)) {
        memcpy(t->k.in, token, n);
    } else {
        t->k.off = (uint32_t)b->keys.len;
        bytes_room(&b->keys, n);
        memcpy(b->keys.p + b->keys.len, token, n);
        b->keys.len += n;
    }
    b->ntoks++;
    if (b->ntoks * 2 > b->nslots) {
        slots_grow(b);
        /* find it again in its new slot */
        for (j = home(h, b->nslots);; j = (j + 1) & (b->nslots - 1)) {
            t = &b->toks[j];
            if (t->hash == h && t->klen == n && !memcmp(tok_bytes(b, t), token, n))
                break;
        }
    }
found:
    for (li = t->list; li; li = b->lists[li - 1].next)
        if (b->lists[li - 1].col == col)
            break;
    if (!li) {
        ALLOC_GROW(b->lists, b->nlists + 1, b->alists);
        l = &b->lists[b->nlists++];
        memset(l, 0, sizeof(*l));
        l->col = col;
        l->next = t->list;
        t->list = (uint32_t)b->nlists;
    } else {
        l = &b->lists[li - 1];
        if (l->prev == b->row) {
            if (l->tf < UINT32_MAX)
                l->tf++;
            return;
        }
        list_close(b, l);
    }
    b->heap += small_varint(&l->docs, (uint64_t)(b->row - l->prev));
    l->prev = b->row;
    l->tf = 1;
    l->df++;
}

void ftx_build_add(struct ftx_build *b, uint32_t col, const char *tokens, size_t len)
{
    size_t i = 0;

    while (i < len) {
        size_t start, n;

        while (i < len && tokens[i] == ' ')
            i++;
        start = i;
        while (i < len && tokens[i] != ' ')
            i++;
        n = i - start;
        if (!n)
            break;
        if (n > 4096)
            n = 4096; /* longer tokens are cut (the catalog tokenizer makes none) */
        b->tokens++;
        post(b, col, (const uint8_t *)tokens + start, n);
    }
}

/*
 * Writes a key's postings into out: the row ids as varint differences (docs, the first
 * from 0), or as a bitmap when that is smaller (a token in more than about one row in
 * eight: last_id / 8 + 1 bytes, bit i of byte i / 8 for row i).
 */
static void postings_put(struct bytes *out, uint64_t df, uint64_t nexc, const uint8_t *dp,
                         size_t dlen, int64_t last_id, const uint8_t *ep, size_t elen)
{
    size_t blen = (size_t)(last_id >> 3) + 1;

    out->len = 0;
    bytes_varint(out, df);
    bytes_varint(out, nexc);
    if (blen < dlen) {
        const uint8_t *p = dp, *end = dp + dlen;
        uint64_t id = 0, d;
        uint8_t *bm;

        bytes_varint(out, (uint64_t)blen << 1 | 1);
        bytes_room(out, blen + elen);
        bm = out->p + out->len;
        memset(bm, 0, blen);
        while (p < end && !vget(&p, end, &d)) {
            id += d;
            bm[id >> 3] |= (uint8_t)(1u << (id & 7));
        }
        out->len += blen;
    } else {
        bytes_varint(out, (uint64_t)dlen << 1);
        bytes_room(out, dlen + elen);
        memcpy(out->p + out->len, dp, dlen);
        out->len += dlen;
    }
    if (elen)
        memcpy(out->p + out->len, ep, elen);
    out->len += elen;
}

/* ---- Writing the index: keys by hash, a token's keys together ------------------------------ */
static int io_error(struct err *err, const char *what)
{
    return err_set(err, ERR_INTERNAL, "", "full-text index: %s the run file failed", what);
}

/* Whether token x comes before y: (hash, bytes). */
static int tok_cmp(uint64_t hx, const uint8_t *x, size_t nx, uint64_t hy, const uint8_t *y,
                   size_t ny)
{
    size_t n = nx < ny ? nx : ny;
    int c;

    if (hx != hy)
        return hx < hy ? -1 : 1;
    c = memcmp(x, y, n);
    return c ? c : nx < ny ? -1 : nx > ny;
}

struct order {
    uint64_t hash;
    uint32_t i;
};

static int cmp_order(const void *a, const void *b, void *ctx)
{
    const struct ftx_build *bd = ctx;
    const struct order *x = a, *y = b;
    const struct tok *tx = &bd->toks[x->i], *ty = &bd->toks[y->i];

    if (x->hash != y->hash)
        return x->hash < y->hash ? -1 : 1;
    return tok_cmp(0, tok_bytes(bd, tx), tx->klen, 0, tok_bytes(bd, ty), ty->klen);
}

/* The tokens with lists since the last run, in (hash, bytes) order: *n of them. The slots
 * are in that order but for the tokens a probe moved on (past others, or around the end),
 * so an insertion sort has little to do. */
static struct order *run_order(struct ftx_build *b, size_t *n)
{
    struct order *ord = xmalloc((b->ntoks ? b->ntoks : 1) * sizeof(*ord));
    size_t k = 0;

    for (size_t i = 0; i < b->nslots; i++)
        if (b->toks[i].list) {
            struct order x = {b->toks[i].hash, (uint32_t)i};
            size_t j = k++;

            while (j > 0 && cmp_order(&ord[j - 1], &x, b) > 0) {
                ord[j] = ord[j - 1];
                j--;
            }
            ord[j] = x;
        }
    *n = k;
    return ord;
}

/* The colpost of field col of the token being written (made empty when new). */
static struct colpost *colpost_get(struct ftx_build *b, uint32_t col)
{
    struct colpost *c;
    size_t i;

    for (i = 0; i < b->ncp; i++)
        if (b->cp[i].col == col)
            return &b->cp[i];
    if (b->ncp == b->acp) {
        size_t before = b->acp;

        ALLOC_GROW(b->cp, b->ncp + 1, b->acp);
        memset(b->cp + before, 0, (b->acp - before) * sizeof(*b->cp));
    }
    /* Keep them by field, so that the keys of a token come out in one order. */
    for (i = b->ncp; i > 0 && b->cp[i - 1].col > col; i--) {
        struct colpost t = b->cp[i];

        b->cp[i] = b->cp[i - 1];
        b->cp[i - 1] = t;
    }
    c = &b->cp[i];
    b->ncp++;
    c->col = col;
    c->df = c->nexc = 0;
    c->last = c->last_exc = 0;
    c->docs.len = c->exc.len = 0;
    return c;
}

/* Appends a list of varints (the first a difference from 0) to out, its first re-based on
 * prev, the last id before it. pairs: the list is (difference, count) pairs. */
static void append_rebased(struct bytes *out, const uint8_t *p, size_t len, int64_t prev)
{
    const uint8_t *end = p + len;
    uint64_t first = 0;

    if (!len)
        return;
    if (vget(&p, end, &first))
        return; /* our own bytes: cannot happen */
    bytes_varint(out, first - (uint64_t)prev);
    bytes_room(out, (size_t)(end - p));
    memcpy(out->p + out->len, p, (size_t)(end - p));
    out->len += (size_t)(end - p);
}

/* Adds one run's list of field col (its df, nexc, last ids and bytes) to the token's. */
static void colpost_add(struct ftx_build *b, uint32_t col, uint64_t df, uint64_t nexc, int64_t last,
                        int64_t last_exc, const uint8_t *dp, size_t dlen, const uint8_t *ep,
                        size_t elen)
{
    struct colpost *c = colpost_get(b, col);

    append_rebased(&c->docs, dp, dlen, c->last);
    append_rebased(&c->exc, ep, elen, c->last_exc);
    c->df += df;
    c->nexc += nexc;
    c->last = last;
    if (nexc)
        c->last_exc = last_exc;
}

/* Reading one field's ids and exceptions in order, for the union of several. */
struct col_iter {
    const uint8_t *d, *dend, *e, *eend;
    int64_t id, exc_id; /* current row id (-1: done), next exception's id (-1: none) */
    uint64_t exc_tf;
};

static void ci_exc(struct col_iter *it)
{
    uint64_t d, tf;

    if (it->e < it->eend && !vget(&it->e, it->eend, &d) && !vget(&it->e, it->eend, &tf)) {
        it->exc_id = (it->exc_id < 0 ? 0 : it->exc_id) + (int64_t)d;
        it->exc_tf = tf;
    } else {
        it->e = it->eend;
        it->exc_id = -1;
    }
}

static void ci_next(struct col_iter *it)
{
    uint64_t d;

    if (it->d < it->dend && !vget(&it->d, it->dend, &d))
        it->id = (it->id < 0 ? 0 : it->id) + (int64_t)d;
    else
        it->id = -1;
}

/* The FTX_COL_ANY postings of a token found in several fields: the union of their rows,
 * each row's count the sum of its counts in them. */
static void any_union(struct ftx_build *b, uint64_t *df, uint64_t *nexc, int64_t *last)
{
    struct col_iter *it = xcalloc(b->ncp, sizeof(*it));
    int64_t prev = 0, prev_exc = 0;

    b->any_docs.len = b->any_exc.len = 0;
    *df = *nexc = 0;
    for (size_t i = 0; i < b->ncp; i++) {
        it[i].d = b->cp[i].docs.p;
        it[i].dend = b->cp[i].docs.p + b->cp[i].docs.len;
        it[i].e = b->cp[i].exc.p;
        it[i].eend = b->cp[i].exc.p + b->cp[i].exc.len;
        it[i].id = it[i].exc_id = -1;
        ci_next(&it[i]);
        ci_exc(&it[i]);
    }
    for (;;) {
        int64_t id = -1;
        uint64_t tf = 0;

        for (size_t i = 0; i < b->ncp; i++)
            if (it[i].id >= 0 && (id < 0 || it[i].id < id))
                id = it[i].id;
        if (id < 0)
            break;
        for (size_t i = 0; i < b->ncp; i++) {
            if (it[i].id != id)
                continue;
            if (it[i].exc_id == id) {
                tf += it[i].exc_tf;
                ci_exc(&it[i]);
            } else {
                tf++;
            }
            ci_next(&it[i]);
        }
        bytes_varint(&b->any_docs, (uint64_t)(id - prev));
        prev = id;
        (*df)++;
        if (tf > 1) {
            bytes_varint(&b->any_exc, (uint64_t)(id - prev_exc));
            bytes_varint(&b->any_exc, tf > UINT32_MAX ? UINT32_MAX : tf);
            prev_exc = id;
            (*nexc)++;
        }
    }
    *last = prev;
    free(it);
}

/* Emits the keys of the token (n bytes) whose postings by field are in b->cp. */
static int emit_token(struct ftx_build *b, const uint8_t *token, size_t n, ftx_emit_fn emit,
                      void *ctx, struct err *err)
{
    uint8_t *key = b->key;
    size_t klen;
    int rc;

    if (!b->ncp)
        return 0;
    klen = ftx_key(FTX_COL_ANY, (const char *)token, n, key);
    if (b->ncp == 1) {
        struct colpost *c = &b->cp[0];

        postings_put(&b->pbuf, c->df, c->nexc, c->docs.p, c->docs.len, c->last, c->exc.p,
                     c->exc.len);
        rc = emit(ctx, key, klen, b->pbuf.p, b->pbuf.len, err);
        if (rc || b->ncols <= 1)
            return rc;
        /* The field's postings are the same: its key points at FTX_COL_ANY's (empty). */
        klen = ftx_key(c->col, (const char *)token, n, key);
        return emit(ctx, key, klen, (const uint8_t *)"", 0, err);
    }
    {
        uint64_t df, nexc;
        int64_t last;

        any_union(b, &df, &nexc, &last);
        postings_put(&b->pbuf, df, nexc, b->any_docs.p, b->any_docs.len, last, b->any_exc.p,
                     b->any_exc.len);
        rc = emit(ctx, key, klen, b->pbuf.p, b->pbuf.len, err);
    }
    for (size_t i = 0; i < b->ncp && !rc; i++) {
        struct colpost *c = &b->cp[i];

        postings_put(&b->pbuf, c->df, c->nexc, c->docs.p, c->docs.len, c->last, c->exc.p,
                     c->exc.len);
        klen = ftx_key(c->col, (const char *)token, n, key);
        rc = emit(ctx, key, klen, b->pbuf.p, b->pbuf.len, err);
    }
    return rc;
}

/* Writes every token's lists to the run file sorted by (hash, token), empties the lists
 * and, when reset or when it has grown past half the budget, the dictionary. */
static int spill(struct ftx_build *b, bool reset, struct err *err)
{
    struct order *ord;
    size_t n;
    int rc = 0;

    if (b->fd < 0) {
        b->fd = open(b->dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
        if (b->fd < 0)
            return io_error(err, "creating");
        b->out = fdopen(dup(b->fd), "wb");
        if (!b->out)
            return io_error(err, "creating");
    }
    ord = run_order(b, &n);
    for (size_t k = 0; k < n && !rc; k++) {
        struct tok *t = &b->toks[ord[k].i];
        struct run_tok h = {.hash = t->hash, .klen = t->klen};

        for (uint32_t li = t->list; li; li = b->lists[li - 1].next)
            h.nlists++;
        if (fwrite(&h, sizeof(h), 1, b->out) != 1 ||
            fwrite(tok_bytes(b, t), 1, t->klen, b->out) != t->klen) {
            rc = io_error(err, "writing");
            break;
        }
        for (uint32_t li = t->list; li && !rc; li = b->lists[li - 1].next) {
            struct list *l = &b->lists[li - 1];
            struct run_list rl = {0};

            list_close(b, l);
            rl.df = l->df;
            rl.nexc = l->nexc;
            rl.last = l->prev;
            rl.last_exc = l->prev_exc;
            rl.col = l->col;
            rl.dlen = l->docs.len;
            rl.elen = l->exc.len;
            if (fwrite(&rl, sizeof(rl), 1, b->out) != 1 ||
                fwrite(small_data(&l->docs), 1, l->docs.len, b->out) != l->docs.len ||
                (l->exc.len && fwrite(small_data(&l->exc), 1, l->exc.len, b->out) != l->exc.len))
                rc = io_error(err, "writing");
        }
        t->list = 0;
    }
    free(ord);
    if (!rc && fflush(b->out))
        rc = io_error(err, "writing");
    if (rc)
        return rc;
    b->runs = xrealloc(b->runs, (b->nruns + 1) * sizeof(*b->runs));
    b->runs[b->nruns++] = ftello(b->out);
    for (size_t i = 0; i < b->nlists; i++) {
        small_free(&b->lists[i].docs);
        small_free(&b->lists[i].exc);
    }
    /* Start again small: arrays kept at their size would count against the next run. */
    free(b->lists);
    b->lists = NULL;
    b->nlists = b->alists = 0;
    b->heap = 0;
    if (reset || dict_memory(b) > b->budget / 2) {
        free(b->toks);
        b->ntoks = 0;
        b->nslots = 1024;
        b->toks = xcalloc(b->nslots, sizeof(*b->toks));
        free(b->keys.p);
        memset(&b->keys, 0, sizeof(b->keys));
    }
    return 0;
}

/* A run being read back: its file range, a read buffer, and its current token. */
struct cursor {
    int fd;
    off_t pos, end;
    uint8_t *buf;
    size_t bpos, blen;
    struct run_tok h;
    struct bytes key, lists; /* the token; its lists (run_list, docs, exc each) */
    bool eof;
    size_t run;
};

#define CURSOR_BUF (16u << 10)

static int cursor_read(struct cursor *c, void *dst, size_t n, struct err *err)
{
    uint8_t *d = dst;

    while (n) {
        size_t k;

        if (c->bpos == c->blen) {
            size_t want =
                    c->end - c->pos < (off_t)CURSOR_BUF ? (size_t)(c->end - c->pos) : CURSOR_BUF;
            ssize_t got = want ? pread(c->fd, c->buf, want, c->pos) : 0;

            if (got <= 0)
                return io_error(err, "reading");
            c->pos += got;
            c->bpos = 0;
            c->blen = (size_t)got;
        }
        k = c->blen - c->bpos < n ? c->blen - c->bpos : n;
        memcpy(d, c->buf + c->bpos, k);
        c->bpos += k;
        d += k;
        n -= k;
    }
    return 0;
}

static int cursor_next(struct cursor *c, struct err *err)
{
    int rc;

    if (c->pos == c->end && c->bpos == c->blen) {
        c->eof = true;
        return 0;
    }
    rc = cursor_read(c, &c->h, sizeof(c->h), err);
    c->key.len = c->lists.len = 0;
    if (rc)
        return rc;
    bytes_room(&c->key, c->h.klen);
    rc = cursor_read(c, c->key.p, c->h.klen, err);
    c->key.len = c->h.klen;
    for (uint32_t i = 0; i < c->h.nlists && !rc; i++) {
        struct run_list rl;

        rc = cursor_read(c, &rl, sizeof(rl), err);
        if (rc)
            break;
        bytes_room(&c->lists, sizeof(rl) + rl.dlen + rl.elen);
        memcpy(c->lists.p + c->lists.len, &rl, sizeof(rl));
        rc = cursor_read(c, c->lists.p + c->lists.len + sizeof(rl), rl.dlen + rl.elen, err);
        c->lists.len += sizeof(rl) + rl.dlen + rl.elen;
    }
    return rc;
}

/* Whether cursor a's token comes before b's: (hash, token), then the earlier run. */
static bool cursor_before(const struct cursor *a, const struct cursor *b)
{
    int c;

    if (a->eof || b->eof)
        return !a->eof;
    c = tok_cmp(a->h.hash, a->key.p, a->key.len, b->h.hash, b->key.p, b->key.len);
    return c ? c < 0 : a->run < b->run;
}

static void heap_down(struct cursor **h, size_t n, size_t i)
{
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, m = i;
        struct cursor *t;

        if (l < n && cursor_before(h[l], h[m]))
            m = l;
        if (r < n && cursor_before(h[r], h[m]))
            m = r;
        if (m == i)
            return;
        t = h[i];
        h[i] = h[m];
        h[m] = t;
        i = m;
    }
}

/* Merges the runs: for each token, its lists of every run in order. */
static int merge(struct ftx_build *b, ftx_emit_fn emit, void *ctx, struct err *err)
{
    struct cursor *cs = xcalloc(b->nruns, sizeof(*cs));
    struct cursor **heap = xcalloc(b->nruns, sizeof(*heap));
    struct bytes key = {0};
    uint64_t hash;
    int rc = 0;

    for (size_t i = 0; i < b->nruns && !rc; i++) {
        cs[i].fd = b->fd;
        cs[i].pos = i ? b->runs[i - 1] : 0;
        cs[i].end = b->runs[i];
        cs[i].buf = xmalloc(CURSOR_BUF);
        cs[i].run = i;
        heap[i] = &cs[i];
        rc = cursor_next(&cs[i], err);
    }
    for (size_t i = b->nruns / 2; i-- > 0;)
        heap_down(heap, b->nruns, i);
    while (!rc && !heap[0]->eof) {
        key.len = 0;
        bytes_room(&key, heap[0]->key.len);
        memcpy(key.p, heap[0]->key.p, heap[0]->key.len);
        key.len = heap[0]->key.len;
        hash = heap[0]->h.hash;
        b->ncp = 0;
        do {
            struct cursor *c = heap[0];
            const uint8_t *p = c->lists.p, *end = c->lists.p + c->lists.len;

            while (p < end) {
                struct run_list rl;

                memcpy(&rl, p, sizeof(rl));
                p += sizeof(rl);
                colpost_add(b, rl.col, rl.df, rl.nexc, rl.last, rl.last_exc, p, rl.dlen,
                            p + rl.dlen, rl.elen);
                p += rl.dlen + rl.elen;
            }
            rc = cursor_next(c, err);
            heap_down(heap, b->nruns, 0);
        } while (!rc && !heap[0]->eof &&
                 !tok_cmp(heap[0]->h.hash, heap[0]->key.p, heap[0]->key.len, hash, key.p, key.len));
        if (!rc)
            rc = emit_token(b, key.p, key.len, emit, ctx, err);
    }
    for (size_t i = 0; i < b->nruns; i++) {
        free(cs[i].buf);
        free(cs[i].key.p);
        free(cs[i].lists.p);
    }
    free(cs);
    free(heap);
    free(key.p);
    return rc;
}

int ftx_build_finish(struct ftx_build *b, ftx_emit_fn emit, void *ctx, struct ftx_stats *stats,
                     struct err *err)
{
    struct order *ord;
    size_t n;
    int rc = 0;

    stats->rows = b->rows;
    stats->tokens = b->tokens;
    stats->ncols = b->ncols;
    stats->max_id = b->row;
    stats->format = FTX_FORMAT;
    if (b->nruns) {
        rc = spill(b, true, err);
        if (rc)
            return rc;
        /* The runs hold everything: the dictionary's memory goes before they are merged,
         * and the heap the lists took is given back to the system (the peak RSS of an
         * ingest is its commit's). */
        free(b->toks);
        b->ntoks = 0;
        b->nslots = 1024;
        b->toks = xcalloc(b->nslots, sizeof(*b->toks));
        free(b->keys.p);
        memset(&b->keys, 0, sizeof(b->keys));
        malloc_trim(0);
        return merge(b, emit, ctx, err);
    }
    ord = run_order(b, &n);
    for (size_t k = 0; k < n && !rc; k++) {
        struct tok *t = &b->toks[ord[k].i];

        b->ncp = 0;
        for (uint32_t li = t->list; li; li = b->lists[li - 1].next) {
            struct list *l = &b->lists[li - 1];

            list_close(b, l);
            colpost_add(b, l->col, l->df, l->nexc, l->prev, l->prev_exc, small_data(&l->docs),
                        l->docs.len, small_data(&l->exc), l->exc.len);
            /* What is written is not needed again. */
            small_free(&l->docs);
            small_free(&l->exc);
        }
        rc = emit_token(b, tok_bytes(b, t), t->klen, emit, ctx, err);
    }
    free(ord);
    return rc;
}

size_t ftx_entry_size(size_t klen, size_t plen)
{
    uint8_t tmp[10];

    return vput(tmp, klen) + klen + vput(tmp, plen) + plen;
}

size_t ftx_entry_put(uint8_t *out, const uint8_t *key, size_t klen, const uint8_t *post,
                     size_t plen)
{
    size_t n = vput(out, klen);

    memcpy(out + n, key, klen);
    n += klen;
    n += vput(out + n, plen);
    memcpy(out + n, post, plen);
    return n + plen;
}

int ftx_entries_find(const uint8_t *blob, size_t len, const uint8_t *key, size_t klen,
                     const uint8_t **post, size_t *plen, struct err *err)
{
    const uint8_t *p = blob, *end = blob + len;

    while (p < end) {
        uint64_t kl, pl;

        if (vget(&p, end, &kl) || kl > (uint64_t)(end - p))
            return err_set(err, ERR_INTERNAL, "q", "the full-text index is damaged (key)");
        const uint8_t *k = p;

        p += kl;
        if (vget(&p, end, &pl) || pl > (uint64_t)(end - p))
            return err_set(err, ERR_INTERNAL, "q", "the full-text index is damaged (entry)");
        if (kl == klen && !memcmp(k, key, klen)) {
            *post = p;
            *plen = (size_t)pl;
            return 1;
        }
        p += pl;
    }
    return 0;
}

size_t ftx_build_runs(const struct ftx_build *b)
{
    return b->nruns;
}

void ftx_build_free(struct ftx_build *b)
{
    if (!b)
        return;
    for (size_t i = 0; i < b->nlists; i++) {
        small_free(&b->lists[i].docs);
        small_free(&b->lists[i].exc);
    }
    for (size_t i = 0; i < b->acp; i++) {
        free(b->cp[i].docs.p);
        free(b->cp[i].exc.p);
    }
    free(b->cp);
    free(b->any_docs.p);
    free(b->any_exc.p);
    free(b->pbuf.p);
    free(b->lists);
    free(b->toks);
    free(b->keys.p);
    if (b->out)
        fclose(b->out);
    if (b->fd >= 0)
        close(b->fd);
    free(b->runs);
    free(b);
}

/* ---- Reading ----------------------------------------------------------------------------- */
struct postings {
    uint64_t df, nexc;
    bool bitmap; /* docs is a bitmap of the row ids, not their differences */
    const uint8_t *docs, *docs_end, *exc, *end;
};

static int damaged(struct err *err, const char *what)
{
    return err_set(err, ERR_INTERNAL, "q", "the full-text index is damaged (%s)", what);
}

static int postings_open(const uint8_t *post, size_t plen, struct postings *p, struct err *err)
{
    const uint8_t *q = post, *end = post + plen;
    uint64_t dlen;

    if (vget(&q, end, &p->df) || vget(&q, end, &p->nexc) || vget(&q, end, &dlen))
        return damaged(err, "postings header");
    p->bitmap = dlen & 1;
    dlen >>= 1;
    if (!p->df || p->nexc > p->df || dlen > (uint64_t)(end - q) ||
        (p->bitmap ? p->df > dlen * 8 : p->df > dlen))
        return damaged(err, "postings counts");
    p->docs = q;
    p->docs_end = q + dlen;
    p->exc = p->docs_end;
    p->end = end;
    /* Each exception takes at least two bytes. */
    if (p->nexc > (uint64_t)(end - p->exc) / 2)
        return damaged(err, "exception counts");
    return 0;
}

/* Decodes the row ids of p into the bitmap words (max_id + 1 bits), setting their bits;
 * checks the ids. */
static int postings_bits(const struct postings *p, int64_t max_id, uint64_t *bits, struct err *err)
{
    const uint8_t *q = p->docs, *end = p->docs_end;
    uint64_t id = 0, d;

    if (p->bitmap) {
        size_t len = (size_t)(end - q), maxlen = (size_t)(max_id >> 3) + 1;
        uint64_t n = 0;

        /* No byte past max_id's, no bit past max_id in its byte. */
        if (!len || len > maxlen || (len == maxlen && (q[len - 1] >> ((max_id & 7) + 1))))
            return damaged(err, "row id bitmap");
        for (size_t w = 0; w * 8 < len; w++) {
            uint64_t x = 0;

            memcpy(&x, q + w * 8, len - w * 8 < 8 ? len - w * 8 : 8);
            bits[w] |= x;
            n += (uint64_t)__builtin_popcountll(x);
        }
        if (n != p->df)
            return damaged(err, "row id bitmap count");
        return 0;
    }
    for (uint64_t i = 0; i < p->df; i++) {
        if (q < end && *q < 0x80) {
            d = *q++;
        } else if (vget(&q, end, &d)) {
            return damaged(err, "row id");
        }
        if ((i && !d) || d > (uint64_t)max_id - id)
            return damaged(err, "row id order");
        id += d;
        bits[id >> 6] |= 1ull << (id & 63);
    }
    if (q != end)
        return damaged(err, "row id length");
    return 0;
}

/* ANDs the row ids of p, a bitmap, into bits (nwords words, max_id + 1 bits), checking them
 * as postings_bits does. */
static int postings_and(const struct postings *p, int64_t max_id, uint64_t *bits, size_t nwords,
                        struct err *err)
{
    const uint8_t *q = p->docs;
    size_t len = (size_t)(p->docs_end - q), maxlen = (size_t)(max_id >> 3) + 1, w;
    uint64_t n = 0;

    if (!len || len > maxlen || (len == maxlen && (q[len - 1] >> ((max_id & 7) + 1))))
        return damaged(err, "row id bitmap");
    for (w = 0; w * 8 < len && w < nwords; w++) {
        uint64_t x = 0;

        memcpy(&x, q + w * 8, len - w * 8 < 8 ? len - w * 8 : 8);
        n += (uint64_t)__builtin_popcountll(x);
        bits[w] &= x;
    }
    for (; w < nwords; w++)
        bits[w] = 0;
    if (n != p->df)
        return damaged(err, "row id bitmap count");
    return 0;
}

int ftx_postings_check(const uint8_t *post, size_t plen, int64_t max_id, struct err *err)
{
    struct postings p;
    const uint8_t *q;
    uint64_t id = 0, d = 0, tf = 0;
    uint64_t *bits;
    int rc;

    if (max_id < 0 || max_id > (int64_t)1 << 40)
        return damaged(err, "max id");
    rc = postings_open(post, plen, &p, err);
    if (rc)
        return rc;
    bits = xcalloc((size_t)(max_id >> 6) + 1, sizeof(*bits));
    rc = postings_bits(&p, max_id, bits, err);
    q = p.exc;
    for (uint64_t i = 0; i < p.nexc && !rc; i++) {
        if (vget(&q, p.end, &d) || vget(&q, p.end, &tf) || tf < 2 || (i && !d) ||
            d > (uint64_t)max_id - id)
            rc = damaged(err, "exception");
        else if (!(bits[(id + d) >> 6] & (1ull << ((id + d) & 63))))
            rc = damaged(err, "exception not among the row ids");
        id += d;
    }
    if (!rc && q != p.end)
        rc = damaged(err, "trailing bytes");
    free(bits);
    return rc;
}

/* A scored row: one holding a token more than once, whose score is not the base. */
struct scored {
    int64_t id;
    double score;
};

struct ftx_match {
    uint64_t *bits; /* rows matching with the base score */
    size_t nwords;
    uint64_t nbits;   /* set in bits */
    struct scored *e; /* the others, by id */
    size_t ne;
    double base;
    /* e split by score against the base (copies), put in order as far as a page needs */
    struct scored *hi, *lo;
    size_t nhi, nlo;
    size_t hi_ready, lo_ready; /* leading entries already in order */
    uint64_t nhi_all, nlo_all; /* with keep, only the best keep of each are in hi, lo */
};

static bool better(const struct scored *a, const struct scored *b);
static void sift_down(struct scored *h, size_t n, size_t i);

/* Keeps x among the best keep rows of the heap h (root: the worst kept). */
static void heap_keep(struct scored **h, size_t *n, size_t *alloc, size_t keep, struct scored x)
{
    size_t i;

    if (*n < keep) {
        ALLOC_GROW(*h, *n + 1, *alloc);
        i = (*n)++;
        (*h)[i] = x;
        while (i && better(&(*h)[(i - 1) / 2], &(*h)[i])) {
            struct scored t = (*h)[i];

            (*h)[i] = (*h)[(i - 1) / 2];
            (*h)[(i - 1) / 2] = t;
            i = (i - 1) / 2;
        }
    } else if (keep && better(&x, &(*h)[0])) {
        (*h)[0] = x;
        sift_down(*h, *n, 0);
    }
}

#define BM25_K1 1.2
#define BM25_B  0.75

/* fts5_aux.c's bm25 with D = -ncols; freq[i] the count of term i in the row. */
static double bm25(const double *idf, const uint64_t *freq, size_t n, double denom_k)
{
    double score = 0.0;

    for (size_t i = 0; i < n; i++) {
        double f = (double)freq[i];

        score += idf[i] * ((f * (BM25_K1 + 1.0)) / (f + denom_k));
    }
    /* Only statistics no table has (a damaged index) make NaN, which would break the order. */
    return isnan(score) ? 0.0 : score;
}

struct exc_cursor {
    const uint8_t *q, *end;
    uint64_t left;
    int64_t id;
    uint64_t tf;
};

static int exc_next(struct exc_cursor *c, int64_t max_id, struct err *err)
{
    uint64_t d, tf;

    if (!c->left) {
        c->id = -1;
        return 0;
    }
    if (vget(&c->q, c->end, &d) || vget(&c->q, c->end, &tf) || tf < 2 || (c->id > 0 && !d) ||
        d > (uint64_t)max_id - (uint64_t)(c->id < 0 ? 0 : c->id))
        return damaged(err, "exception");
    c->id = (c->id < 0 ? 0 : c->id) + (int64_t)d;
    c->tf = tf;
    c->left--;
    return 0;
}

/* Counts of a token in a row below this are taken by match_one(). */
#define ONE_MAXTF 64

/*
 * One token, ranked, for one page (keep > 0), m->bits its rows and m->base the score of a
 * row holding it once: a row's score depends only on its count of the token, so the best
 * keep rows are found from the number of rows of each count (a first pass over the
 * exceptions) and a second pass that takes the rows of the counts scoring best, the last
 * of them in id order; nothing else is scored and no bit is cleared (the count is the
 * bitmap's). The same rows, order and scores as the general way below (bm25 of the same
 * arguments), which is taken instead (0) when a count is ONE_MAXTF or more or fewer than
 * keep rows score above the base. 1 when done, or a negative error.
 */
/* match_one takes pages of at most this many rows (it keeps the first rows of each count:
 * ONE_MAXTF * keep ids); larger ones go the general way. */
#define ONE_KEEP 1024

/* The next exception of a single token's list (as exc_next, checked the same way, read
 * inline): 1 and *id, *tf; 0 at the end; or a negative error. */
static inline int one_next(const uint8_t **q, const uint8_t *end, uint64_t *left, int64_t max_id,
                           int64_t *id, uint64_t *tf, struct err *err)
{
    uint64_t d;

    if (!*left)
        return 0;
    if (*q < end && **q < 0x80)
        d = *(*q)++;
    else if (vget(q, end, &d))
        return damaged(err, "exception");
    if (*q < end && **q < 0x80)
        *tf = *(*q)++;
    else if (vget(q, end, tf))
        return damaged(err, "exception");
    if (*tf < 2 || (*id > 0 && !d) || d > (uint64_t)max_id - (uint64_t)*id)
        return damaged(err, "exception");
    *id += (int64_t)d;
    (*left)--;
    return 1;
}

static int cmp_id(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

    return x < y ? -1 : x > y;
}

static int match_one(struct ftx_match *m, const struct postings *p, int64_t max_id, double idf,
                     double denom_k, size_t keep, struct err *err)
{
    uint64_t hist[ONE_MAXTF] = {0}, nhi = 0, nlo = 0, total = 0, tf = 0, left;
    double score[ONE_MAXTF], S = 0.0;
    int64_t *cand = NULL;
    int64_t *same = NULL, id;
    const uint8_t *q;
    size_t n = 0, nsame = 0;
    int rc;

    if (keep > ONE_KEEP)
        return 0;
    cand = xmalloc(ONE_MAXTF * keep * sizeof(*cand));
    /* One pass: the rows of each count, and the first keep of each. */
    q = p->exc;
    left = p->nexc;
    id = 0;
    while ((rc = one_next(&q, p->end, &left, max_id, &id, &tf, err)) == 1) {
        if (tf >= ONE_MAXTF) {
            rc = 0;
            goto out;
        }
        /* An exception that is not among the rows (a damaged index) is not a match. */
        if (!(m->bits[id >> 6] & (1ull << (id & 63))))
            continue;
        if (hist[tf] < keep)
            cand[tf * keep + hist[tf]] = id;
        hist[tf]++;
    }
    if (rc < 0)
        goto out;
    for (tf = 2; tf < ONE_MAXTF; tf++) {
        uint64_t f = tf;

        if (!hist[tf])
            continue;
        score[tf] = bm25(&idf, &f, 1, denom_k);
        if (score[tf] > m->base)
            nhi += hist[tf];
        else if (score[tf] < m->base)
            nlo += hist[tf];
    }
    rc = 0;
    if (nhi < keep)
        goto out;
    /* S: the score of the keep-th best row (total rows score more). */
    for (;;) {
        double best = -INFINITY;
        uint64_t nbest = 0;

        for (tf = 2; tf < ONE_MAXTF; tf++)
            if (hist[tf] && score[tf] > m->base && (!total || score[tf] < S) && score[tf] >= best) {
                nbest = score[tf] > best ? hist[tf] : nbest + hist[tf];
                best = score[tf];
            }
        S = best;
        if (total + nbest >= keep)
            break;
        total += nbest;
    }
    m->hi = xmalloc(keep * sizeof(*m->hi));
    {
        /* Every row of a count scoring above S is kept (fewer than keep in all); of those
         * scoring S, the first ones by id up to keep. */
        same = xmalloc(ONE_MAXTF * keep * sizeof(*same));
        for (tf = 2; tf < ONE_MAXTF; tf++) {
            size_t kept = hist[tf] < keep ? (size_t)hist[tf] : keep;

            if (!hist[tf] || score[tf] < S)
                continue;
            for (size_t i = 0; i < kept; i++) {
                if (score[tf] > S) {
                    m->hi[n].id = cand[tf * keep + i];
                    m->hi[n].score = score[tf];
                    n++;
                } else {
                    same[nsame++] = cand[tf * keep + i];
                }
            }
        }
        qsort(same, nsame, sizeof(*same), cmp_id);
        for (size_t i = 0; i < nsame && n < keep; i++) {
            m->hi[n].id = same[i];
            m->hi[n].score = S;
            n++;
        }
    }
    m->nhi = n;
    m->nhi_all = nhi;
    m->nlo_all = nlo;
    for (size_t w = 0; w < m->nwords; w++)
        m->nbits += (uint64_t)__builtin_popcountll(m->bits[w]);
    m->nbits -= nhi + nlo;
    rc = 1;
out:
    free(cand);
    free(same);
    return rc;
}

int ftx_match_new(const struct ftx_stats *stats, const struct ftx_term *terms, size_t nterms,
                  bool ranked, size_t keep, ftx_lookup_fn lookup, void *ctx, struct ftx_match **out,
                  struct err *err)
{
    size_t ahi = 0, alo = 0;
    struct ftx_match *m = xcalloc(1, sizeof(*m));
    struct postings *p = xcalloc(nterms ? nterms : 1, sizeof(*p));
    size_t *cstart = xcalloc(nterms + 1, sizeof(*cstart));
    size_t *cpos = xcalloc(nterms + 1, sizeof(*cpos));
    size_t *same = xcalloc(nterms + 1, sizeof(*same));
    struct cand {
        int64_t id;
        uint64_t tf;
    } *cand = NULL;
    size_t nc = 0, acand = 0;
    double *idf = xcalloc(nterms ? nterms : 1, sizeof(*idf));
    uint64_t *freq = xcalloc(nterms ? nterms : 1, sizeof(*freq));
    uint64_t *tmp = NULL;
    size_t first = 0, ae = 0;
    double N = (double)stats->rows, avgdl, denom_k;
    bool empty = false;
    int rc = 0;

    *out = NULL;
    if (stats->max_id < 0 || stats->max_id > (int64_t)1 << 40) {
        rc = damaged(err, "max id");
        goto out;
    }
    m->nwords = (size_t)(stats->max_id >> 6) + 1;
    for (size_t i = 0; i < nterms; i++) {
        uint8_t *key = xmalloc(10 + terms[i].len);
        /* One text field: its keys are the FTX_COL_ANY ones (ftx_build_add). */
        uint32_t col = stats->ncols > 1 ? terms[i].col : FTX_COL_ANY;
        size_t klen = ftx_key(col, terms[i].token, terms[i].len, key);
        const uint8_t *post = NULL;
        size_t plen = 0;

        rc = lookup(ctx, key, klen, &post, &plen, err);
        if (rc == 1 && !plen && col != FTX_COL_ANY) {
            /* The field's postings are FTX_COL_ANY's (a token in this field only). */
            klen = ftx_key(FTX_COL_ANY, terms[i].token, terms[i].len, key);
            rc = lookup(ctx, key, klen, &post, &plen, err);
        }
        free(key);
        if (rc < 0)
            goto out;
        if (rc == 0) {
            empty = true;
            rc = 0;
            break;
        }
        rc = postings_open(post, plen, &p[i], err);
        if (rc)
            goto out;
        /* Tokens with the same postings (a Chinese word's characters and bigram when they are
         * only ever together) are read once: same[i] is the first of them. */
        same[i] = i;
        for (size_t j = 0; j < i; j++)
            if (same[j] == j && p[j].df == p[i].df && p[j].nexc == p[i].nexc &&
                p[j].bitmap == p[i].bitmap && p[j].end - p[j].docs == p[i].end - p[i].docs &&
                p[j].docs_end - p[j].docs == p[i].docs_end - p[i].docs &&
                !memcmp(p[j].docs, p[i].docs, (size_t)(p[i].end - p[i].docs))) {
                same[i] = j;
                break;
            }
        if (p[i].df < p[first].df)
            first = i;
        /* fts5_aux.c: idf = log((nRow - nHit + 0.5) / (nHit + 0.5)), at least 1e-6. */
        idf[i] = log((N - (double)p[i].df + 0.5) / ((double)p[i].df + 0.5));
        if (!(idf[i] > 0.0)) /* NaN too: more matches than rows in a damaged index */
            idf[i] = 1e-6;
    }
    if (empty || !nterms) {
        m->nwords = 0;
        goto done;
    }
    m->bits = xcalloc(m->nwords, sizeof(*m->bits));
    rc = postings_bits(&p[first], stats->max_id, m->bits, err);
    if (rc)
        goto out;
    for (size_t i = 0; i < nterms; i++) {
        if (i == first || same[i] != i)
            continue;
        if (p[i].bitmap) {
            /* ANDed as it is read: no second bitmap to fill (its pages are a cost too). */
            rc = postings_and(&p[i], stats->max_id, m->bits, m->nwords, err);
            if (rc)
                goto out;
            continue;
        }
        if (!tmp)
            tmp = xmalloc(m->nwords * sizeof(*tmp));
        memset(tmp, 0, m->nwords * sizeof(*tmp));
        rc = postings_bits(&p[i], stats->max_id, tmp, err);
        if (rc)
            goto out;
        for (size_t w = 0; w < m->nwords; w++)
            m->bits[w] &= tmp[w];
    }

    if (!ranked)
        goto done;
    /* The rows holding a token more than once: merge the exception lists by id. */
    avgdl = stats->rows ? (double)stats->tokens / N : 0.0;
    denom_k = BM25_K1 * (1.0 - BM25_B + BM25_B * -(double)stats->ncols / avgdl);
    for (size_t i = 0; i < nterms; i++)
        freq[i] = 1;
    m->base = bm25(idf, freq, nterms, denom_k);
    if (nterms == 1 && keep) {
        rc = match_one(m, &p[0], stats->max_id, idf[0], denom_k, keep, err);
        if (rc < 0)
            goto out;
        if (rc == 1) {
            rc = 0;
            *out = m;
            m = NULL;
            goto out;
        }
    }
    /* Each token's exceptions are read once, and only those of matching rows kept (most
     * are not: the AND is usually far smaller than a token's rows); then the kept ones are
     * merged by id, each row scored with the counts of every token it holds more than once. */
    for (size_t i = 0; i < nterms; i++) {
        const uint8_t *q = p[i].exc;
        uint64_t left = p[i].nexc, tf = 0;
        int64_t id = 0;

        cstart[i] = nc;
        if (same[i] != i)
            continue;
        while ((rc = one_next(&q, p[i].end, &left, stats->max_id, &id, &tf, err)) == 1) {
            if (!(m->bits[id >> 6] & (1ull << (id & 63))))
                continue;
            ALLOC_GROW(cand, nc + 1, acand);
            cand[nc].id = id;
            cand[nc].tf = tf;
            nc++;
        }
        if (rc < 0)
            goto out;
        rc = 0;
    }
    cstart[nterms] = nc;
    for (size_t i = 0; i < nterms; i++)
        cpos[i] = cstart[i];
    for (;;) {
        int64_t id = -1;
        double score;

        for (size_t i = 0; i < nterms; i++)
            if (cpos[i] < cstart[i + 1] && (id < 0 || cand[cpos[i]].id < id))
                id = cand[cpos[i]].id;
        if (id < 0)
            break;
        for (size_t i = 0; i < nterms; i++) {
            freq[i] = 1;
            if (same[i] != i)
                freq[i] = freq[same[i]];
            else if (cpos[i] < cstart[i + 1] && cand[cpos[i]].id == id)
                freq[i] = cand[cpos[i]++].tf;
        }
        /* Scored already: an id listed twice (damaged postings) counts once. */
        if (!(m->bits[id >> 6] & (1ull << (id & 63))))
            continue;
        score = bm25(idf, freq, nterms, denom_k);
        if (score == m->base)
            continue;
        m->bits[id >> 6] &= ~(1ull << (id & 63));
        if (keep) {
            struct scored x = {id, score};

            if (score > m->base) {
                heap_keep(&m->hi, &m->nhi, &ahi, keep, x);
                m->nhi_all++;
            } else {
                heap_keep(&m->lo, &m->nlo, &alo, keep, x);
                m->nlo_all++;
            }
            continue;
        }
        ALLOC_GROW(m->e, m->ne + 1, ae);
        m->e[m->ne].id = id;
        m->e[m->ne].score = score;
        m->ne++;
    }
done:
    for (size_t w = 0; w < m->nwords; w++)
        m->nbits += (uint64_t)__builtin_popcountll(m->bits[w]);
    if (!keep) {
        m->hi = xcalloc(m->ne ? m->ne : 1, sizeof(*m->hi));
        m->lo = xcalloc(m->ne ? m->ne : 1, sizeof(*m->lo));
        for (size_t i = 0; i < m->ne; i++) {
            if (m->e[i].score > m->base)
                m->hi[m->nhi++] = m->e[i];
            else
                m->lo[m->nlo++] = m->e[i];
        }
        m->nhi_all = m->nhi;
        m->nlo_all = m->nlo;
    }
    *out = m;
    m = NULL;
out:
    ftx_match_free(m);
    free(p);
    free(cstart);
    free(cpos);
    free(same);
    free(cand);
    free(idf);
    free(freq);
    free(tmp);
    return rc;
}

uint64_t ftx_match_count(const struct ftx_match *m)
{
    return m->nbits + m->nhi_all + m->nlo_all;
}

static bool bit(const struct ftx_match *m, int64_t id)
{
    return id >= 0 && (uint64_t)id < (uint64_t)m->nwords * 64 &&
           (m->bits[id >> 6] & (1ull << (id & 63)));
}

/* The index in e of the first row with an id ≥ id. */
static size_t e_lower(const struct ftx_match *m, int64_t id)
{
    size_t lo = 0, hi = m->ne;

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;

        if (m->e[mid].id < id)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

bool ftx_match_rank(const struct ftx_match *m, int64_t id, double *rank)
{
    size_t k;

    if (bit(m, id)) {
        *rank = -m->base;
        return true;
    }
    k = e_lower(m, id);
    if (k < m->ne && m->e[k].id == id) {
        *rank = -m->e[k].score;
        return true;
    }
    return false;
}

/* Whether a comes before b: higher score, then lower id. */
static bool better(const struct scored *a, const struct scored *b)
{
    return a->score > b->score || (a->score == b->score && a->id < b->id);
}

static int cmp_better(const void *a, const void *b)
{
    return better(a, b) ? -1 : better(b, a) ? 1 : 0;
}

static void sift_down(struct scored *h, size_t n, size_t i)
{
    /* A heap whose root is the worst of the kept rows. */
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, w = i;
        struct scored t;

        if (l < n && better(&h[w], &h[l]))
            w = l;
        if (r < n && better(&h[w], &h[r]))
            w = r;
        if (w == i)
            return;
        t = h[i];
        h[i] = h[w];
        h[w] = t;
        i = w;
    }
}

/* Puts the best k of list (n entries) first, in order: O(n log k). */
static void select_best(struct scored *list, size_t n, size_t k)
{
    if (k > n)
        k = n;
    if (k && k < n) {
        for (size_t i = k / 2; i-- > 0;)
            sift_down(list, k, i);
        for (size_t i = k; i < n; i++) {
            if (better(&list[i], &list[0])) {
                struct scored t = list[0];

                list[0] = list[i];
                list[i] = t;
                sift_down(list, k, 0);
            }
        }
    }
    qsort(list, k, sizeof(*list), cmp_better);
}

size_t ftx_match_page(struct ftx_match *m, uint64_t offset, size_t max, int64_t *ids, double *ranks)
{
    size_t n = 0;

    if (offset < m->nhi_all && max) {
        uint64_t want = offset + max;

        size_t k = want < m->nhi ? (size_t)want : m->nhi;

        if (k > m->hi_ready) {
            /* Pages read in turn (a dump) grow what is in order geometrically, and past a
             * quarter everything is sorted once. */
            if (k < 2 * m->hi_ready)
                k = 2 * m->hi_ready < m->nhi ? 2 * m->hi_ready : m->nhi;
            if (k > m->nhi / 4)
                k = m->nhi;
            select_best(m->hi, m->nhi, k);
            m->hi_ready = k;
        }
        for (uint64_t i = offset; i < m->nhi && n < max; i++, n++) {
            ids[n] = m->hi[i].id;
            if (ranks)
                ranks[n] = -m->hi[i].score;
        }
        /* Past the rows kept (ftx_match_new's keep): not this match's to give. */
        if (n < max && offset + n < m->nhi_all)
            return n;
    }
    offset = offset > m->nhi_all ? offset - m->nhi_all : 0;
    if (n < max && offset < m->nbits) {
        uint64_t skip = offset;
        size_t w = 0;

        while (w < m->nwords && (uint64_t)__builtin_popcountll(m->bits[w]) <= skip)
            skip -= (uint64_t)__builtin_popcountll(m->bits[w++]);
        for (; w < m->nwords && n < max; w++) {
            uint64_t x = m->bits[w];

            while (x && n < max) {
                int b = __builtin_ctzll(x);

                x &= x - 1;
                if (skip) {
                    skip--;
                    continue;
                }
                ids[n] = (int64_t)(w * 64 + (size_t)b);
                if (ranks)
                    ranks[n] = -m->base;
                n++;
            }
        }
    }
    offset = offset > m->nbits ? offset - m->nbits : 0;
    if (n < max && offset < m->nlo_all) {
        uint64_t want = offset + (max - n);

        size_t k = want < m->nlo ? (size_t)want : m->nlo;

        if (k > m->lo_ready) {
            /* Pages read in turn (a dump) grow what is in order geometrically, and past a
             * quarter everything is sorted once. */
            if (k < 2 * m->lo_ready)
                k = 2 * m->lo_ready < m->nlo ? 2 * m->lo_ready : m->nlo;
            if (k > m->nlo / 4)
                k = m->nlo;
            select_best(m->lo, m->nlo, k);
            m->lo_ready = k;
        }
        for (uint64_t i = offset; i < m->nlo && n < max; i++, n++) {
            ids[n] = m->lo[i].id;
            if (ranks)
                ranks[n] = -m->lo[i].score;
        }
    }
    return n;
}

int64_t ftx_match_next(const struct ftx_match *m, int64_t after)
{
    int64_t best = -1;
    size_t k = e_lower(m, after < 0 ? 0 : after + 1);
    uint64_t from = after < 0 ? 0 : (uint64_t)after + 1;

    if (k < m->ne)
        best = m->e[k].id;
    for (size_t w = (size_t)(from >> 6); w < m->nwords; w++) {
        uint64_t x = m->bits[w];

        if (w == (size_t)(from >> 6))
            x &= ~0ull << (from & 63);
        if (x) {
            int64_t id = (int64_t)(w * 64 + (size_t)__builtin_ctzll(x));

            if (best < 0 || id < best)
                best = id;
            break;
        }
        if (best >= 0 && (int64_t)(w * 64) > best)
            break;
    }
    return best;
}

void ftx_match_free(struct ftx_match *m)
{
    if (!m)
        return;
    free(m->bits);
    free(m->e);
    free(m->hi);
    free(m->lo);
    free(m);
}

/* ---- Changing an index in place ------------------------------------------------------------
 * The tokens of the rows a write changed (as they were, as they are), sorted by (hash, token,
 * field, row); each changed token's keys are then made again from its old postings and the
 * changes, through emit_token(), so that they are what a rebuild would write for them. */
struct change {
    uint64_t hash;
    uint32_t off, len; /* the token, in the edit's arena */
    uint32_t col;
    int32_t delta; /* +1 for an occurrence added, -1 for one removed */
    int64_t id;
};

struct ftx_edit {
    uint32_t ncols;
    struct change *ch;
    size_t nch, ach;
    struct bytes arena;
    bool sorted;
    uint64_t *hashes;
    size_t nhashes;
    int64_t rows_delta, tokens_delta, max_id;
    struct ftx_build *b; /* scratch: emit_token's buffers */
    struct bytes out;    /* the entries of the hash being made */
};

struct ftx_edit *ftx_edit_new(uint32_t ncols)
{
    struct ftx_edit *e = xcalloc(1, sizeof(*e));

    e->ncols = ncols;
    e->b = ftx_build_new(ncols, NULL, 0);
    return e;
}

void ftx_edit_row(struct ftx_edit *e, int64_t id, bool removed)
{
    e->rows_delta += removed ? -1 : 1;
    if (!removed && id > e->max_id)
        e->max_id = id;
}

void ftx_edit_tokens(struct ftx_edit *e, int64_t id, uint32_t col, const char *tokens, size_t len,
                     bool removed)
{
    size_t i = 0;

    while (i < len) {
        size_t start, n;
        struct change *c;

        while (i < len && tokens[i] == ' ')
            i++;
        start = i;
        while (i < len && tokens[i] != ' ')
            i++;
        n = i - start;
        if (!n)
            break;
        if (n > 4096)
            n = 4096; /* as ftx_build_add */
        e->tokens_delta += removed ? -1 : 1;
        ALLOC_GROW(e->ch, e->nch + 1, e->ach);
        c = &e->ch[e->nch++];
        c->hash = hash_bytes((const uint8_t *)tokens + start, n) >> 1;
        c->off = (uint32_t)e->arena.len;
        c->len = (uint32_t)n;
        c->col = col;
        c->delta = removed ? -1 : 1;
        c->id = id;
        bytes_room(&e->arena, n);
        memcpy(e->arena.p + e->arena.len, tokens + start, n);
        e->arena.len += n;
    }
    e->sorted = false;
}

size_t ftx_edit_memory(const struct ftx_edit *e)
{
    return e->ach * sizeof(*e->ch) + e->arena.cap + e->nhashes * sizeof(*e->hashes);
}

static int cmp_change(const void *a, const void *b, void *ctx)
{
    const struct change *x = a, *y = b;
    const uint8_t *arena = ctx;
    int c = tok_cmp(x->hash, arena + x->off, x->len, y->hash, arena + y->off, y->len);

    if (c)
        return c;
    if (x->col != y->col)
        return x->col < y->col ? -1 : 1;
    return x->id < y->id ? -1 : x->id > y->id;
}

const uint64_t *ftx_edit_hashes(struct ftx_edit *e, size_t *n)
{
    if (!e->sorted && e->nch) {
        qsort_r(e->ch, e->nch, sizeof(*e->ch), cmp_change, e->arena.p);
        e->hashes = xrealloc(e->hashes, (e->nch ? e->nch : 1) * sizeof(*e->hashes));
        e->nhashes = 0;
        for (size_t i = 0; i < e->nch; i++)
            if (!e->nhashes || e->hashes[e->nhashes - 1] != e->ch[i].hash)
                e->hashes[e->nhashes++] = e->ch[i].hash;
    }
    e->sorted = true;
    *n = e->nhashes;
    return e->hashes;
}

/* Reading a key's postings as (row, count), increasing, every id and count checked. */
struct piter {
    struct postings p;
    const uint8_t *q; /* the next varint of the row ids */
    uint64_t pos;     /* bitmap: the next bit to look at */
    uint64_t nbits, seen;
    int64_t id, max_id;
    struct exc_cursor ec;
};

static int piter_open(struct piter *it, const uint8_t *post, size_t plen, int64_t max_id,
                      struct err *err)
{
    int rc;

    memset(it, 0, sizeof(*it));
    rc = postings_open(post, plen, &it->p, err);
    if (rc)
        return rc;
    it->q = it->p.docs;
    it->nbits = (uint64_t)(it->p.docs_end - it->p.docs) * 8;
    it->max_id = max_id;
    it->ec.q = it->p.exc;
    it->ec.end = it->p.end;
    it->ec.left = it->p.nexc;
    it->ec.id = -1;
    return exc_next(&it->ec, max_id, err);
}

/* 1 and *id, *tf; 0 at the end; or a negative error. */
static int piter_next(struct piter *it, int64_t *id, uint64_t *tf, struct err *err)
{
    int rc;

    if (it->seen == it->p.df) {
        if (it->ec.id >= 0 || it->ec.left || it->ec.q != it->ec.end)
            return damaged(err, "exception not among the row ids");
        if (!it->p.bitmap && it->q != it->p.docs_end)
            return damaged(err, "row id length");
        return 0;
    }
    if (it->p.bitmap) {
        for (;;) {
            unsigned byte;

            if (it->pos >= it->nbits)
                return damaged(err, "row id bitmap count");
            byte = it->p.docs[it->pos >> 3] >> (it->pos & 7);
            if (byte) {
                it->pos += (uint64_t)__builtin_ctz(byte);
                break;
            }
            it->pos = (it->pos | 7) + 1;
        }
        if (it->pos > (uint64_t)it->max_id)
            return damaged(err, "row id bitmap");
        it->id = (int64_t)it->pos++;
    } else {
        uint64_t d;

        if (vget(&it->q, it->p.docs_end, &d) || (it->seen && !d) ||
            d > (uint64_t)it->max_id - (uint64_t)it->id)
            return damaged(err, "row id order");
        it->id += (int64_t)d;
    }
    it->seen++;
    *id = it->id;
    *tf = 1;
    if (it->ec.id >= 0 && it->ec.id < it->id)
        return damaged(err, "exception not among the row ids");
    if (it->ec.id == it->id) {
        *tf = it->ec.tf;
        rc = exc_next(&it->ec, it->max_id, err);
        if (rc)
            return rc;
    }
    return 1;
}

/* Appends row id with count tf to the token's postings in field c (ids increasing). */
static void colpost_put(struct colpost *c, int64_t id, uint64_t tf)
{
    bytes_varint(&c->docs, (uint64_t)(id - c->last));
    c->last = id;
    c->df++;
    if (tf > 1) {
        bytes_varint(&c->exc, (uint64_t)(id - c->last_exc));
        bytes_varint(&c->exc, tf > UINT32_MAX ? UINT32_MAX : tf);
        c->last_exc = id;
        c->nexc++;
    }
}

static int edit_inconsistent(struct err *err)
{
    return err_set(err, ERR_INTERNAL, "", "full-text index: a changed row's tokens are not in it");
}

/* The new postings of the token in field col: old (plen bytes; NULL: none) with the changes
 * ch[0 .. n) (this token and field, by id), into the scratch builder's colposts (none when
 * no row holds the token any more). */
static int edit_field(struct ftx_edit *e, uint32_t col, const uint8_t *old, size_t plen,
                      int64_t max_id, const struct change *ch, size_t n, struct err *err)
{
    struct ftx_build *b = e->b;
    struct colpost *c = colpost_get(b, col);
    struct piter it;
    int64_t oid = -1;
    uint64_t otf = 0;
    size_t i = 0;
    int rc = 0;

    if (old) {
        rc = piter_open(&it, old, plen, max_id, err);
        if (!rc)
            rc = piter_next(&it, &oid, &otf, err);
        if (rc < 0)
            return rc;
        if (!rc)
            oid = -1;
    }
    while (oid >= 0 || i < n) {
        int64_t id = oid >= 0 && (i == n || oid <= ch[i].id) ? oid : ch[i].id;
        int64_t tf = id == oid ? (int64_t)otf : 0;

        for (; i < n && ch[i].id == id; i++)
            tf += ch[i].delta;
        if (tf < 0)
            return edit_inconsistent(err);
        if (tf > 0)
            colpost_put(c, id, (uint64_t)tf);
        if (id == oid) {
            rc = piter_next(&it, &oid, &otf, err);
            if (rc < 0)
                return rc;
            if (!rc)
                oid = -1;
        }
    }
    if (!c->df)
        b->ncp--; /* the last colpost: fields are made in increasing order */
    return 0;
}

/* Collects emit_token's keys into the entries being made. */
static int edit_emit(void *ctx, const uint8_t *key, size_t klen, const uint8_t *post, size_t plen,
                     struct err *err)
{
    struct bytes *out = ctx;

    (void)err;
    bytes_room(out, ftx_entry_size(klen, plen));
    out->len += ftx_entry_put(out->p + out->len, key, klen, post, plen);
    return 0;
}

/* One entry of a hash's entries. */
struct entry {
    const uint8_t *key, *post;
    size_t klen, plen;
};

static int entries_parse(const uint8_t *blob, size_t len, struct entry **out, size_t *n,
                         struct err *err)
{
    const uint8_t *p = blob, *end = blob ? blob + len : NULL;
    size_t alloc = 0;

    *out = NULL;
    *n = 0;
    if (!blob)
        return 0;
    while (p < end) {
        uint64_t kl, pl;
        struct entry *en;

        if (vget(&p, end, &kl) || !kl || kl > (uint64_t)(end - p))
            return damaged(err, "key");
        ALLOC_GROW(*out, *n + 1, alloc);
        en = &(*out)[(*n)++];
        en->key = p;
        en->klen = (size_t)kl;
        p += kl;
        if (vget(&p, end, &pl) || pl > (uint64_t)(end - p))
            return damaged(err, "entry");
        en->post = p;
        en->plen = (size_t)pl;
        p += pl;
    }
    return 0;
}

/* The field (1-based; FTX_COL_ANY) of a key and where its token starts. */
static uint32_t key_col(const uint8_t *key, size_t klen, size_t *tok)
{
    const uint8_t *p = key;
    uint64_t col = 0;

    if (vget(&p, key + klen, &col) || col > UINT32_MAX)
        col = UINT32_MAX;
    *tok = (size_t)(p - key);
    return (uint32_t)col;
}

static bool entry_is(const struct entry *en, const uint8_t *token, size_t n)
{
    size_t t;

    key_col(en->key, en->klen, &t);
    return en->klen - t == n && !memcmp(en->key + t, token, n);
}

int ftx_edit_apply(struct ftx_edit *e, uint64_t h, const uint8_t *old, size_t len, int64_t max_id,
                   const uint8_t **out, size_t *outlen, struct err *err)
{
    struct entry *en = NULL;
    size_t nen = 0, lo = 0, hi, nh;
    int rc;

    ftx_edit_hashes(e, &nh);
    e->out.len = 0;
    rc = entries_parse(old, len, &en, &nen, err);
    if (rc)
        goto out;
    /* The changes of hash h: ch[lo .. hi). */
    hi = e->nch;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;

        if (e->ch[mid].hash < h)
            lo = mid + 1;
        else
            hi = mid;
    }
    for (hi = lo; hi < e->nch && e->ch[hi].hash == h; hi++)
        ;
    /* The entries of the tokens that did not change stay as they are. */
    for (size_t k = 0; k < nen; k++) {
        bool changed = false;

        for (size_t i = lo; i < hi && !changed; i++)
            changed = entry_is(&en[k], e->arena.p + e->ch[i].off, e->ch[i].len);
        if (!changed)
            edit_emit(&e->out, en[k].key, en[k].klen, en[k].post, en[k].plen, err);
    }
    for (size_t i = lo; i < hi && !rc;) {
        const uint8_t *tok = e->arena.p + e->ch[i].off;
        size_t n = e->ch[i].len, end = i, any = SIZE_MAX;
        uint32_t single = 0; /* with one text field: its number, from the changes */

        while (end < hi && e->ch[end].len == n && !memcmp(e->arena.p + e->ch[end].off, tok, n))
            end++;
        for (size_t k = 0; k < nen; k++) {
            size_t t;

            if (entry_is(&en[k], tok, n) && key_col(en[k].key, en[k].klen, &t) == FTX_COL_ANY)
                any = k;
        }
        if (e->ncols <= 1) {
            single = e->ch[i].col;
            for (size_t j = i; j < end; j++)
                if (e->ch[j].col != single) {
                    rc = edit_inconsistent(err);
                    goto out;
                }
        }
        e->b->ncp = 0;
        /* Field by field in increasing order: those the old keys have and those changed. */
        for (uint32_t col = 1, next;; col = next + 1) {
            const uint8_t *post = NULL;
            size_t plen = 0, j = i, jn;

            next = UINT32_MAX;
            for (size_t k = 0; k < nen; k++) {
                size_t t;
                uint32_t c = key_col(en[k].key, en[k].klen, &t);

                if (c != FTX_COL_ANY && c >= col && c < next && entry_is(&en[k], tok, n))
                    next = c;
            }
            if (single >= col && single < next && any != SIZE_MAX)
                next = single;
            for (size_t k = i; k < end; k++)
                if (e->ch[k].col >= col && e->ch[k].col < next)
                    next = e->ch[k].col;
            if (next == UINT32_MAX)
                break;
            if (e->ncols <= 1) {
                if (any != SIZE_MAX) {
                    post = en[any].post;
                    plen = en[any].plen;
                }
            } else {
                for (size_t k = 0; k < nen; k++) {
                    size_t t;

                    if (key_col(en[k].key, en[k].klen, &t) == next && entry_is(&en[k], tok, n)) {
                        post = en[k].post;
                        plen = en[k].plen;
                        if (!plen) { /* "the same as FTX_COL_ANY's" */
                            if (any == SIZE_MAX) {
                                rc = damaged(err, "postings");
                                goto out;
                            }
                            post = en[any].post;
                            plen = en[any].plen;
                        }
                    }
                }
            }
            while (j < end && e->ch[j].col != next)
                j++;
            for (jn = j; jn < end && e->ch[jn].col == next; jn++)
                ;
            rc = edit_field(e, next, post, plen, max_id, e->ch + j, jn - j, err);
            if (rc)
                goto out;
            if (next == UINT32_MAX - 1)
                break;
        }
        rc = emit_token(e->b, tok, n, edit_emit, &e->out, err);
        i = end;
    }
out:
    free(en);
    *out = e->out.p;
    *outlen = rc ? 0 : e->out.len;
    return rc;
}

void ftx_edit_stats(const struct ftx_edit *e, struct ftx_stats *st)
{
    st->rows = (uint64_t)((int64_t)st->rows + e->rows_delta);
    st->tokens = (uint64_t)((int64_t)st->tokens + e->tokens_delta);
    if (e->max_id > st->max_id)
        st->max_id = e->max_id;
}

void ftx_edit_free(struct ftx_edit *e)
{
    if (!e)
        return;
    free(e->ch);
    free(e->arena.p);
    free(e->hashes);
    free(e->out.p);
    ftx_build_free(e->b);
    free(e);
}
