/*
 * ledger-int.h - what the files of src/ledger/ share (and tests/unit/test-ledger.c,
 * tests/fuzz/fuzz-ledger-*.c). Nothing outside src/ledger/ and its tests includes it.
 */
#ifndef KAIFANG_LEDGER_LEDGER_INT_H
#define KAIFANG_LEDGER_LEDGER_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/err.h"
#include "ledger/ledger.h"
#include "store/store.h"

/* ---- merkle.c ---------------------------------------------------------------------- */

/* RFC 9162 §2.1.1: MTH({}) = SHA-256(""). */
void merkle_empty_root(uint8_t out[LEDGER_HASH_LEN]);

/* The Merkle root of n hashes taken as the leaves of a perfect tree: n is a power of
 * two in 1..LEDGER_TILE_WIDTH (BUG_ON otherwise). A tile's level-8 hash is
 * merkle_perfect_root(tile, 256). */
void merkle_perfect_root(const uint8_t (*hashes)[LEDGER_HASH_LEN], size_t n,
                         uint8_t out[LEDGER_HASH_LEN]);

/* ---- proof.c: reading the tree from the stored tiles ------------------------------- */

/*
 * A reader of hashes of the tree of size `size` from stored tiles, with a small cache of
 * the tiles it read (a proof touches about two tiles per tile level). Every hash it
 * returns is MTH of a range inside [0, size); size must not exceed the integrated size
 * seen by the calling thread (inside a write transaction: the tiles just written).
 */
struct tree_reader;

struct tree_reader *tree_reader_new(struct store *s, uint64_t size);
void tree_reader_free(struct tree_reader *r);

/* MTH(D[start:end]) for 0 <= start < end <= size, as RFC 9162 §2.1.1 splits it (start
 * is a multiple of the largest power of two below end - start, which every range of the
 * §2.1.3.1 and §2.1.4.1 recursions is). end == start == 0 gives the empty root. */
int tree_range_hash(struct tree_reader *r, uint64_t start, uint64_t end,
                    uint8_t out[LEDGER_HASH_LEN], struct err *err);

/* The latest checkpoint's size and root (-ERR_NOT_FOUND before the first, with size 0
 * and the empty root), remembered per store_version(): for the read functions, which
 * run outside write transactions (inside one, the version does not move until commit).
 * Thread-safe. */
int ledger_head(struct store *s, uint64_t *size, uint8_t root[LEDGER_HASH_LEN], struct err *err);

/* The integrated tree size: the latest checkpoint's, 0 before the first. */
int ledger_integrated_size(struct store *s, uint64_t *size, struct err *err);

/* Proof generation over a reader (RFC 9162 §2.1.3.1, §2.1.4.1), for tests too. */
int tree_inclusion_proof(struct tree_reader *r, uint64_t index, uint8_t (*proof)[LEDGER_HASH_LEN],
                         size_t *n, struct err *err);
int tree_consistency_proof(struct tree_reader *r, uint64_t first, uint8_t (*proof)[LEDGER_HASH_LEN],
                           size_t *n, struct err *err);

/* ---- tiles.c ----------------------------------------------------------------------- */

/* Appends the leaf hashes of entries [old_size, new_size) to the stored tiles (all
 * levels), inside the caller's write transaction. */
int tiles_append(struct store *s, uint64_t old_size, uint64_t new_size, struct err *err);

/* ---- note.c ------------------------------------------------------------------------ */

/* Base64 (RFC 4648 §4, with padding), strict: 0, or -1 on bad input or when the decoded
 * length is not exactly n (decode) / does not fit (encode: out needs 4 * ceil(n/3) + 1). */
int note_b64_decode(const char *in, size_t len, uint8_t *out, size_t n);
void note_b64_encode(const uint8_t *in, size_t n, char *out, size_t size);

/* A key as in ledger_key_load, built from a 32-byte Ed25519 seed (tests, vectors). */
int ledger_key_from_seed(const char *origin, const uint8_t seed[32], struct ledger_key **out,
                         struct err *err);

/* ---- journal.c: the read journal (ledger.h, ledger_journal_open) ------------------ */

/* Appends one built entry (its canonical text and leaf hash) to the journal of s and
 * sets *done; with no journal open for s, returns 0 with *done false (the caller commits
 * the entry to the store instead). -ERR_INTERNAL when the file cannot be written (no
 * part of the record is left in it). Thread-safe. */
int journal_append(struct store *s, const char *text, size_t len,
                   const uint8_t leaf[LEDGER_HASH_LEN], bool *done, struct err *err);

/* Whether the journal of s holds records (false when none is open). One fstat(). */
bool journal_pending(struct store *s);

/* A drain in progress: the journal stays locked from journal_stage() to journal_finish(). */
struct journal_drain {
    bool locked;
    uint64_t gen;  /* the file's generation when it held records, else 0 */
    size_t staged; /* records staged */
};

/* Inside the caller's write transaction: locks the journal of s, stages its records in
 * order (store_ledger_stage) and sets the store's mark to its generation. A trailing
 * partial or damaged record (only a torn write leaves one: its read was never answered)
 * is logged and dropped. Always call journal_finish(), after the commit or rollback. */
int journal_stage(struct store *s, struct journal_drain *d, struct err *err);

/* Ends a drain: when the transaction committed, cuts the file to a new generation;
 * unlocks the journal. */
void journal_finish(struct store *s, struct journal_drain *d, bool committed);

#endif
