/*
 * merkle.c - RFC 9162 §2.1 tree hashing and proof verification (pure functions).
 *
 * Verification follows the RFC's algorithms step by step (§2.1.3.2, §2.1.4.2); the
 * edge cases the RFC leaves open (first == second, first == 0) follow
 * transparency-dev/merkle and golang.org/x/mod/sumdb/tlog, see ../notes §1.3.
 */
#include "crypto/digest.h"
#include "ledger/ledger.h"
#include "ledger/ledger-int.h"
#include "core/util.h"

void merkle_leaf_hash(const void *entry, size_t len, uint8_t out[LEDGER_HASH_LEN])
{
    sha256_prefixed(0x00, entry, len, NULL, 0, out);
}

void merkle_node_hash(const uint8_t left[LEDGER_HASH_LEN], const uint8_t right[LEDGER_HASH_LEN],
                      uint8_t out[LEDGER_HASH_LEN])
{
    sha256_prefixed(0x01, left, LEDGER_HASH_LEN, right, LEDGER_HASH_LEN, out);
}

void merkle_empty_root(uint8_t out[LEDGER_HASH_LEN])
{
    sha256("", 0, out);
}

/* The root of n hashes (n a power of two, 1..256), bottom-up in place in a copy. */
void merkle_perfect_root(const uint8_t (*hashes)[LEDGER_HASH_LEN], size_t n,
                         uint8_t out[LEDGER_HASH_LEN])
{
    uint8_t tmp[LEDGER_TILE_WIDTH / 2][LEDGER_HASH_LEN];
    size_t i, w;

    BUG_ON(n == 0 || n > LEDGER_TILE_WIDTH || (n & (n - 1)));
    if (n == 1) {
        memcpy(out, hashes[0], LEDGER_HASH_LEN);
        return;
    }
    for (i = 0; i < n / 2; i++)
        merkle_node_hash(hashes[2 * i], hashes[2 * i + 1], tmp[i]);
    for (w = n / 2; w > 1; w /= 2)
        for (i = 0; i < w / 2; i++)
            merkle_node_hash(tmp[2 * i], tmp[2 * i + 1], tmp[i]);
    memcpy(out, tmp[0], LEDGER_HASH_LEN);
}

/* Constant time is not needed (every value here is public), only equality. */
static bool hash_eq(const uint8_t a[LEDGER_HASH_LEN], const uint8_t b[LEDGER_HASH_LEN])
{
    return !memcmp(a, b, LEDGER_HASH_LEN);
}

int merkle_verify_inclusion(uint64_t index, uint64_t size, const uint8_t leaf[LEDGER_HASH_LEN],
                            const uint8_t (*proof)[LEDGER_HASH_LEN], size_t n,
                            const uint8_t root[LEDGER_HASH_LEN])
{
    uint8_t r[LEDGER_HASH_LEN];
    uint64_t fn, sn;
    size_t i;

    /* §2.1.3.2 step 1. */
    if (index >= size || n > LEDGER_PROOF_MAX)
        return -1;
    fn = index;
    sn = size - 1;
    memcpy(r, leaf, LEDGER_HASH_LEN);
    for (i = 0; i < n; i++) {
        if (sn == 0)
            return -1;
        if ((fn & 1) || fn == sn) {
            merkle_node_hash(proof[i], r, r);
            /* Right edge: climb while fn is a left child (RFC text: until LSB(fn) is
             * set or fn is 0). */
            if (!(fn & 1))
                while (!(fn & 1) && fn != 0) {
                    fn >>= 1;
                    sn >>= 1;
                }
        } else {
            merkle_node_hash(r, proof[i], r);
        }
        fn >>= 1;
        sn >>= 1;
    }
    return sn == 0 && hash_eq(r, root) ? 0 : -1;
}

int merkle_verify_consistency(uint64_t first, uint64_t second,
                              const uint8_t first_root[LEDGER_HASH_LEN],
                              const uint8_t second_root[LEDGER_HASH_LEN],
                              const uint8_t (*proof)[LEDGER_HASH_LEN], size_t n)
{
    uint8_t fr[LEDGER_HASH_LEN], sr[LEDGER_HASH_LEN];
    uint64_t fn, sn;
    size_t i = 0;

    /* Edge cases, as transparency-dev/merkle and x/mod: no proof from the empty tree,
     * none backwards, and equal sizes need an empty proof and equal roots. */
    if (first == 0 || first > second || n > LEDGER_PROOF_MAX)
        return -1;
    if (first == second)
        return n == 0 && hash_eq(first_root, second_root) ? 0 : -1;
    /* §2.1.4.2 step 1. */
    if (n == 0)
        return -1;
    /* Steps 3-4. */
    fn = first - 1;
    sn = second - 1;
    while (fn & 1) {
        fn >>= 1;
        sn >>= 1;
    }
    /* Steps 2 and 5: when first is a power of two the proof starts with first_root,
     * implicitly prepended. */
    if ((first & (first - 1)) == 0) {
        memcpy(fr, first_root, LEDGER_HASH_LEN);
    } else {
        memcpy(fr, proof[0], LEDGER_HASH_LEN);
        i = 1;
    }
    memcpy(sr, fr, LEDGER_HASH_LEN);
    /* Step 6. */
    for (; i < n; i++) {
        if (sn == 0)
            return -1;
        if ((fn & 1) || fn == sn) {
            merkle_node_hash(proof[i], fr, fr);
            merkle_node_hash(proof[i], sr, sr);
            if (!(fn & 1))
                while (!(fn & 1) && fn != 0) {
                    fn >>= 1;
                    sn >>= 1;
                }
        } else {
            merkle_node_hash(sr, proof[i], sr);
        }
        fn >>= 1;
        sn >>= 1;
    }
    /* Step 7. */
    return sn == 0 && hash_eq(fr, first_root) && hash_eq(sr, second_root) ? 0 : -1;
}
