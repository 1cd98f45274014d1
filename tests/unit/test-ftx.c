/*
 * test-ftx.c - Kaifang's inverted index for datastore full text (src/store/ftx.h):
 * built from random tables and queried, its matches, counts, page order and ranks are
 * compared with those of the FTS5 index the datastore builds today (contentless,
 * columnsize=0, the kaifang_space tokenizer) over the same tokens: equal, to the bit;
 * pages at every offset, membership and ids in order; damaged postings refused.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "core/buf.h"
#include "core/util.h"
#include "store/ftx.h"
#include "store/store-sqlite-datastore-int.h"

/* ---- A small key → postings map (what the table file will hold) ---- */
struct entry {
    uint8_t *key, *post;
    size_t klen, plen;
};

struct index {
    struct entry *e;
    size_t n, alloc;
    struct ftx_stats st;
};

static int emit(void *ctx, const uint8_t *key, size_t klen, const uint8_t *post, size_t plen,
                struct err *err)
{
    struct index *ix = ctx;
    struct entry *e;

    (void)err;
    ALLOC_GROW(ix->e, ix->n + 1, ix->alloc);
    e = &ix->e[ix->n++];
    e->key = xmalloc(klen);
    memcpy(e->key, key, klen);
    e->klen = klen;
    e->post = xmalloc(plen);
    memcpy(e->post, post, plen);
    e->plen = plen;
    return 0;
}

static int lookup(void *ctx, const uint8_t *key, size_t klen, const uint8_t **post, size_t *plen,
                  struct err *err)
{
    struct index *ix = ctx;

    (void)err;
    for (size_t i = 0; i < ix->n; i++) {
        if (ix->e[i].klen == klen && !memcmp(ix->e[i].key, key, klen)) {
            *post = ix->e[i].post;
            *plen = ix->e[i].plen;
            return 1;
        }
    }
    return 0;
}

/* Whether a key's postings hold their row ids as a bitmap (the third varint's low bit). */
static bool postings_bitmap(const uint8_t *p, size_t len)
{
    size_t i = 0;

    for (int v = 0; v < 2; v++) {
        while (i < len && (p[i] & 0x80))
            i++;
        i++;
    }
    assert_true(i < len);
    return p[i] & 1;
}

static void index_release(struct index *ix)
{
    for (size_t i = 0; i < ix->n; i++) {
        free(ix->e[i].key);
        free(ix->e[i].post);
    }
    free(ix->e);
    memset(ix, 0, sizeof(*ix));
}

/* ---- Random tables ---- */
static uint64_t rng;

static uint64_t rnd(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

/* Tokens of up to 8 bytes and longer ones (kept apart by the builder). */
static const char *const vocab[] = {"river", "road",  "park",        "清河",    "清",
                                    "河",    "depot", "north",       "x",       "xx",
                                    "00451", "a",     "harbourside", "清河东城"};

/* Tokens that only field c (1..4) holds: a token in one field has its postings once. */
static const char *const own[] = {"f1", "f2", "f3", "f4"};

/* Random tokens (space-separated) of field col into out: 0..maxlen of them, skewed to the
 * first words, and sometimes the field's own token. */
static void random_text(struct buf *out, uint32_t col, unsigned maxlen)
{
    unsigned n = (unsigned)(rnd() % (maxlen + 1));

    buf_reset(out);
    for (unsigned i = 0; i < n; i++) {
        size_t w = (size_t)(rnd() % ARRAY_SIZE(vocab));

        if (rnd() % 2)
            w = w / 3;
        if (out->len)
            buf_addch(out, ' ');
        buf_addstr(out, rnd() % 5 == 0 ? own[col - 1] : vocab[w]);
    }
}

struct table {
    sqlite3 *db;
    struct index ix;
    uint32_t ncols;
};

/* nrows rows of ncols text fields, ids with gaps, into FTS5 and the ftx index. */
static void table_make(struct table *t, uint32_t ncols, unsigned nrows, unsigned maxlen,
                       size_t budget)
{
    const char *tmp = getenv("TMPDIR");
    struct ftx_build *b = ftx_build_new(ncols, budget ? (tmp ? tmp : "/tmp") : NULL, budget);
    struct buf sql = BUF_INIT, text = BUF_INIT;
    struct err err = ERR_INIT;
    sqlite3_stmt *st;
    int64_t id = 0;

    memset(t, 0, sizeof(*t));
    t->ncols = ncols;
    assert_int_equal(sqlite3_open(":memory:", &t->db), SQLITE_OK);
    assert_int_equal(sqds_tokenizer_register(t->db, &err), 0);
    buf_addstr(&sql, "CREATE VIRTUAL TABLE fts USING fts5(");
    for (uint32_t c = 1; c <= ncols; c++)
        buf_addf(&sql, "c_%u, ", c);
    buf_addstr(&sql, "content='', columnsize=0, tokenize='kaifang_space')");
    assert_int_equal(sqlite3_exec(t->db, sql.buf, NULL, NULL, NULL), SQLITE_OK);
    buf_reset(&sql);
    buf_addstr(&sql, "INSERT INTO fts(rowid");
    for (uint32_t c = 1; c <= ncols; c++)
        buf_addf(&sql, ", c_%u", c);
    buf_addstr(&sql, ") VALUES (?");
    for (uint32_t c = 1; c <= ncols; c++)
        buf_addstr(&sql, ", ?");
    buf_addch(&sql, ')');
    assert_int_equal(sqlite3_prepare_v2(t->db, sql.buf, -1, &st, NULL), SQLITE_OK);
    for (unsigned r = 0; r < nrows; r++) {
        id += 1 + (int64_t)(rnd() % 40 == 0 ? rnd() % 70 : 0);
        assert_int_equal(ftx_build_row(b, id, &err), 0);
        sqlite3_bind_int64(st, 1, id);
        for (uint32_t c = 1; c <= ncols; c++) {
            random_text(&text, c, maxlen);
            ftx_build_add(b, c, text.buf, text.len);
            sqlite3_bind_text(st, (int)c + 1, text.buf, (int)text.len, SQLITE_TRANSIENT);
        }
        assert_int_equal(sqlite3_step(st), SQLITE_DONE);
        sqlite3_reset(st);
    }
    sqlite3_finalize(st);
    assert_int_equal(ftx_build_finish(b, emit, &t->ix, &t->ix.st, &err), 0);
    assert_int_equal((int64_t)t->ix.st.max_id, id);
    assert_int_equal(t->ix.st.rows, nrows);
    ftx_build_free(b);
    buf_release(&sql);
    buf_release(&text);
}

static void table_release(struct table *t)
{
    sqlite3_close(t->db);
    index_release(&t->ix);
}

/* One random query of 1..3 tokens, each in any field or in one. */
static size_t random_query(const struct table *t, struct ftx_term *terms, struct buf *match)
{
    size_t n = 1 + (size_t)(rnd() % 3);

    buf_reset(match);
    for (size_t i = 0; i < n; i++) {
        const char *w = rnd() % 4 ? vocab[rnd() % ARRAY_SIZE(vocab)] : own[rnd() % t->ncols];

        terms[i].col = rnd() % 3 == 0 ? 1 + (uint32_t)(rnd() % t->ncols) : FTX_COL_ANY;
        terms[i].token = w;
        terms[i].len = strlen(w);
        if (i)
            buf_addstr(match, " AND ");
        if (terms[i].col)
            buf_addf(match, "c_%u : ", terms[i].col);
        buf_addf(match, "\"%s\"", w);
    }
    return n;
}

/* The query through FTS5 and through ftx: the same rows, order and ranks. */
static void compare(struct table *t, const struct ftx_term *terms, size_t n, const char *match)
{
    struct err err = ERR_INIT;
    struct ftx_match *m = NULL;
    sqlite3_stmt *st;
    int64_t *ids = NULL, *page = NULL;
    double *ranks = NULL, *pranks = NULL, r;
    size_t nids = 0, alloc = 0, got;
    int64_t next = -1;

    assert_int_equal(sqlite3_prepare_v2(t->db,
                                        "SELECT rowid, rank FROM fts WHERE fts MATCH ?"
                                        " ORDER BY rank, rowid",
                                        -1, &st, NULL),
                     SQLITE_OK);
    sqlite3_bind_text(st, 1, match, -1, SQLITE_STATIC);
    while (sqlite3_step(st) == SQLITE_ROW) {
        ALLOC_GROW(ids, nids + 1, alloc);
        ranks = xrealloc(ranks, alloc * sizeof(*ranks));
        ids[nids] = sqlite3_column_int64(st, 0);
        ranks[nids] = sqlite3_column_double(st, 1);
        nids++;
    }
    sqlite3_finalize(st);

    assert_int_equal(ftx_match_new(&t->ix.st, terms, n, true, 0, lookup, &t->ix, &m, &err), 0);
    assert_int_equal(ftx_match_count(m), nids);
    page = xcalloc(nids + 1, sizeof(*page));
    pranks = xcalloc(nids + 1, sizeof(*pranks));
    got = ftx_match_page(m, 0, nids + 1, page, pranks);
    assert_int_equal(got, nids);
    for (size_t i = 0; i < nids; i++) {
        if (page[i] != ids[i] || pranks[i] != ranks[i])
            fail_msg("%s: row %zu is %lld (rank %.17g), FTS5 has %lld (rank %.17g)", match, i,
                     (long long)page[i], pranks[i], (long long)ids[i], ranks[i]);
        assert_true(ftx_match_rank(m, ids[i], &r));
        assert_true(r == ranks[i]);
    }
    /* Pages at other offsets are slices of the whole. */
    for (uint64_t off = 0; off <= nids; off += 1 + nids / 7) {
        got = ftx_match_page(m, off, 3, page, NULL);
        assert_int_equal(got, off + 3 <= nids ? 3 : nids - off);
        for (size_t i = 0; i < got; i++)
            assert_int_equal(page[i], ids[off + i]);
    }
    /* Ids in increasing order: the set FTS5 matched. */
    got = 0;
    while ((next = ftx_match_next(m, next)) >= 0) {
        bool found = false;

        for (size_t i = 0; i < nids && !found; i++)
            found = ids[i] == next;
        assert_true(found);
        got++;
    }
    assert_int_equal(got, nids);
    assert_false(ftx_match_rank(m, 0, &r));
    ftx_match_free(m);
    /* One page kept (keep = 4): its rows and the count as the whole match's. */
    assert_int_equal(ftx_match_new(&t->ix.st, terms, n, true, 4, lookup, &t->ix, &m, &err), 0);
    assert_int_equal(ftx_match_count(m), nids);
    got = ftx_match_page(m, 1, 3, page, pranks);
    assert_int_equal(got, nids >= 4 ? 3 : nids > 1 ? nids - 1 : 0);
    for (size_t i = 0; i < got; i++) {
        assert_int_equal(page[i], ids[1 + i]);
        assert_true(pranks[i] == ranks[1 + i]);
    }
    ftx_match_free(m);
    /* Unranked: the same rows, in id order. */
    assert_int_equal(ftx_match_new(&t->ix.st, terms, n, false, 0, lookup, &t->ix, &m, &err), 0);
    assert_int_equal(ftx_match_count(m), nids);
    got = ftx_match_page(m, 0, nids + 1, page, NULL);
    assert_int_equal(got, nids);
    next = -1;
    for (size_t i = 0; i < nids; i++) {
        next = ftx_match_next(m, next);
        assert_int_equal(page[i], next);
    }
    ftx_match_free(m);
    free(ids);
    free(ranks);
    free(page);
    free(pranks);
}

static void test_against_fts5(void **state)
{
    static const struct {
        uint32_t ncols;
        unsigned rows, maxlen;
        size_t budget; /* 0: in memory; else runs spilled and merged */
    } shapes[] = {{1, 1, 3, 0},        {1, 40, 2, 0},        {2, 300, 6, 0},    {3, 1000, 12, 0},
                  {4, 3000, 20, 0},    {1, 2000, 1, 0},      {1, 40, 2, 1},     {2, 300, 6, 2000},
                  {3, 1000, 12, 9000}, {4, 3000, 20, 30000}, {1, 2000, 1, 5000}};
    struct ftx_term terms[3];
    struct buf match = BUF_INIT;
    size_t nbitmap = 0, nlist = 0, nsame = 0;

    (void)state;
    rng = 0x2545f4914f6cdd1dull;
    for (size_t s = 0; s < ARRAY_SIZE(shapes); s++) {
        struct table t;

        table_make(&t, shapes[s].ncols, shapes[s].rows, shapes[s].maxlen, shapes[s].budget);
        for (int q = 0; q < 60; q++) {
            size_t n = random_query(&t, terms, &match);

            compare(&t, terms, n, match.buf);
        }
        for (size_t i = 0; i < t.ix.n; i++) {
            /* A field's key with FTX_COL_ANY's postings (a token of that field only). */
            if (!t.ix.e[i].plen) {
                assert_true(t.ix.e[i].key[0] != FTX_COL_ANY);
                assert_true(t.ncols > 1);
                nsame++;
                continue;
            }
            if (postings_bitmap(t.ix.e[i].post, t.ix.e[i].plen))
                nbitmap++;
            else
                nlist++;
        }
        table_release(&t);
    }
    /* Both forms of row ids were compared, and keys pointing at FTX_COL_ANY's. */
    assert_true(nbitmap > 10);
    assert_true(nlist > 10);
    assert_true(nsame > 10);
    buf_release(&match);
}

/* A token no row holds matches nothing, alone or with others. */
static void test_absent(void **state)
{
    struct ftx_term terms[2] = {{FTX_COL_ANY, "river", 5}, {FTX_COL_ANY, "nowhere", 7}};
    struct err err = ERR_INIT;
    struct ftx_match *m = NULL;
    struct table t;
    int64_t id;

    (void)state;
    rng = 42;
    table_make(&t, 2, 100, 5, 0);
    assert_int_equal(ftx_match_new(&t.ix.st, terms, 2, true, 0, lookup, &t.ix, &m, &err), 0);
    assert_int_equal(ftx_match_count(m), 0);
    assert_int_equal(ftx_match_page(m, 0, 1, &id, NULL), 0);
    assert_int_equal(ftx_match_next(m, -1), -1);
    ftx_match_free(m);
    table_release(&t);
}

/* Every truncation and every single-byte change of real postings is either refused as
 * damaged or still well-formed; a query over damaged postings fails cleanly. */
static void test_damaged(void **state)
{
    struct err err = ERR_INIT;
    struct table t;

    (void)state;
    rng = 7;
    table_make(&t, 2, 200, 6, 0);
    for (size_t i = 0; i < t.ix.n; i++) {
        struct entry *e = &t.ix.e[i];
        uint8_t *copy;

        if (!e->plen) /* FTX_COL_ANY's postings, checked under that key */
            continue;
        copy = xmalloc(e->plen);
        assert_int_equal(ftx_postings_check(e->post, e->plen, t.ix.st.max_id, &err), 0);
        for (size_t len = 0; len < e->plen; len++) {
            err = (struct err)ERR_INIT;
            assert_int_equal(ftx_postings_check(e->post, len, t.ix.st.max_id, &err), -ERR_INTERNAL);
            assert_non_null(strstr(err.msg, "damaged"));
        }
        for (size_t k = 0; k < e->plen; k++) {
            uint8_t *keep = e->post;
            struct ftx_term term = {FTX_COL_ANY, "river", 5};
            struct ftx_match *m = NULL;
            int rc;

            memcpy(copy, keep, e->plen);
            copy[k] ^= (uint8_t)(1 + rnd() % 255);
            err = (struct err)ERR_INIT;
            (void)ftx_postings_check(copy, e->plen, t.ix.st.max_id, &err);
            e->post = copy;
            rc = ftx_match_new(&t.ix.st, &term, 1, true, 0, lookup, &t.ix, &m, &err);
            assert_true(rc == 0 || rc == -ERR_INTERNAL);
            ftx_match_free(m);
            e->post = keep;
        }
        free(copy);
    }
    table_release(&t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_against_fts5),
            cmocka_unit_test(test_absent),
            cmocka_unit_test(test_damaged),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
