/*
 * Fuzz harness for the postings reader of Kaifang's full-text index (src/store/ftx.h),
 * which reads bytes from a table file on disk: a damaged or hostile file must give an
 * error, never a read out of bounds or a wrong answer's crash.
 *
 * Input: byte 0 the number of query tokens (1 + b % 3) and whether the table has one
 * text field or several; bytes 1-2 the index's max_id (little-endian); byte 3 where the
 * second token's postings start within the rest; byte 4 the rows per id; the rest the
 * postings of token "a" (token "b": the rest from byte 3's offset; "c" is not indexed
 * when byte 0's bit 2 is set).
 *
 * The same rest is also read as a row of the ftx table (ftx_entries_find: entries of key
 * and postings, for the key "a" of every column).
 *
 * The same rest is also the old row of token "a" for an edit in place (ftx_edit_apply: row 1
 * loses "a" twice in field 1, row max_id + 1 gains it): either an error, or entries whose
 * postings ftx_postings_check accepts.
 *
 * Invariants checked, beyond "no crash": an entry found lies inside the row; postings that
 * ftx_postings_check accepts are accepted by a query; when a query is accepted, its count is the
 * number of ids ftx_match_next yields (increasing, at most max_id), the page of every match holds
 * each of them once, best rank first (ranks never decrease along the page), and each one's rank is
 * what ftx_match_rank says.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/util.h"
#include "store/ftx.h"

struct fuzz_index {
    const uint8_t *a, *b;
    size_t alen, blen;
    bool no_c;
};

static int lookup(void *ctx, const uint8_t *key, size_t klen, const uint8_t **post, size_t *plen,
                  struct err *err)
{
    const struct fuzz_index *ix = ctx;
    char tok = klen ? (char)key[klen - 1] : 0;

    (void)err;
    if (tok == 'a' || (tok == 'c' && !ix->no_c)) {
        *post = ix->a;
        *plen = ix->alen;
        return 1;
    }
    if (tok == 'b') {
        *post = ix->b;
        *plen = ix->blen;
        return 1;
    }
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const struct ftx_term all[3] = {
            {FTX_COL_ANY, "a", 1}, {1, "b", 1}, {FTX_COL_ANY, "c", 1}};
    struct fuzz_index ix;
    struct ftx_stats st;
    struct err err = ERR_INIT;
    struct ftx_match *m = NULL;
    size_t nterms, split;
    int64_t *ids;
    double *ranks, r;
    uint64_t count, seen = 0;
    int64_t id = -1;
    bool valid;
    int rc;

    if (size < 5 || size > 65536)
        return 0;
    nterms = 1 + data[0] % 3;
    st.ncols = (data[0] & 8) ? 3 : 1;
    st.max_id = data[1] | (int64_t)data[2] << 8;
    st.rows = (uint64_t)st.max_id * (1 + data[4] % 4);
    st.tokens = st.rows * (1 + data[4] / 64);
    ix.a = data + 5;
    ix.alen = size - 5;
    split = data[3] % (ix.alen + 1);
    ix.b = ix.a + split;
    ix.blen = ix.alen - split;
    ix.no_c = (data[0] & 4) != 0;

    for (uint32_t col = 0; col < 3; col++) {
        uint8_t key[16];
        size_t klen = ftx_key(col, "a", 1, key);
        const uint8_t *post = NULL;
        size_t plen = 0;

        err = (struct err)ERR_INIT;
        rc = ftx_entries_find(ix.a, ix.alen, key, klen, &post, &plen, &err);
        BUG_ON(rc != 0 && rc != 1 && rc != -ERR_INTERNAL);
        BUG_ON(rc == 1 && (post < ix.a || plen > ix.alen || post + plen > ix.a + ix.alen));
    }
    {
        struct ftx_edit *e = ftx_edit_new(st.ncols);
        uint8_t key[16];
        size_t klen = ftx_key(FTX_COL_ANY, "a", 1, key), outlen = 0;
        const uint8_t *out = NULL;
        int64_t max_id = st.max_id + 1;

        ftx_edit_row(e, 1, true);
        ftx_edit_tokens(e, 1, 1, "a a", 3, true);
        ftx_edit_row(e, max_id, false);
        ftx_edit_tokens(e, max_id, 1, "a", 1, false);
        err = (struct err)ERR_INIT;
        rc = ftx_edit_apply(e, ftx_key_hash(key, klen), ix.a, ix.alen, max_id, &out, &outlen, &err);
        BUG_ON(rc != 0 && rc != -ERR_INTERNAL);
        for (uint32_t col = 0; !rc && col < 3; col++) {
            const uint8_t *post = NULL;
            size_t plen = 0;

            klen = ftx_key(col, "a", 1, key);
            err = (struct err)ERR_INIT;
            rc = ftx_entries_find(out, outlen, key, klen, &post, &plen, &err);
            BUG_ON(rc < 0);
            BUG_ON(rc == 1 && plen && ftx_postings_check(post, plen, max_id, &err));
            rc = 0;
        }
        ftx_edit_free(e);
    }
    err = (struct err)ERR_INIT;
    rc = ftx_match_new(&st, all, 1, true, 0, lookup, &ix, &m, &err);
    valid = !ftx_postings_check(ix.a, ix.alen, st.max_id, &err);
    if (valid)
        BUG_ON(rc != 0);
    ftx_match_free(m);
    m = NULL;

    err = (struct err)ERR_INIT;
    rc = ftx_match_new(&st, all, nterms, (data[0] & 16) == 0, 0, lookup, &ix, &m, &err);
    BUG_ON(rc != 0 && rc != -ERR_INTERNAL);
    if (rc)
        return 0;
    count = ftx_match_count(m);
    BUG_ON(count > (uint64_t)st.max_id + 1);
    while ((id = ftx_match_next(m, id)) >= 0) {
        BUG_ON(id > st.max_id);
        BUG_ON(!ftx_match_rank(m, id, &r));
        seen++;
    }
    BUG_ON(seen != count);
    ids = xcalloc(count + 1, sizeof(*ids));
    ranks = xcalloc(count + 1, sizeof(*ranks));
    BUG_ON(ftx_match_page(m, 0, count + 1, ids, ranks) != count);
    for (uint64_t i = 0; i < count; i++) {
        BUG_ON(!ftx_match_rank(m, ids[i], &r) || r != ranks[i]);
        BUG_ON(i && ranks[i] < ranks[i - 1]);
        BUG_ON(i && ranks[i] == ranks[i - 1] && ids[i] <= ids[i - 1]);
    }
    /* A page of the best 3 kept: the same rows as the whole match's first 3. */
    {
        struct ftx_match *k = NULL;
        int64_t kids[3];
        double kranks[3];
        size_t n;

        err = (struct err)ERR_INIT;
        BUG_ON(ftx_match_new(&st, all, nterms, (data[0] & 16) == 0, 3, lookup, &ix, &k, &err));
        BUG_ON(ftx_match_count(k) != count);
        n = ftx_match_page(k, 0, 3, kids, kranks);
        BUG_ON(n != (count < 3 ? count : 3));
        /* Only for postings ftx_postings_check accepts: in a malformed list (an id twice)
         * the kept page may name a row twice; it must only stay in bounds. */
        for (size_t i = 0; valid && i < n; i++)
            BUG_ON(kids[i] != ids[i] || kranks[i] != ranks[i]);
        for (size_t i = 0; i < n; i++)
            BUG_ON(kids[i] < 0 || kids[i] > st.max_id);
        ftx_match_free(k);
    }
    free(ids);
    free(ranks);
    ftx_match_free(m);
    return 0;
}
