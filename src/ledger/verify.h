/*
 * verify.h - the ledger monitor: recomputes a tlog-tiles log from its entries and checks
 * it against its own stored hashes, its checkpoint and the checkpoints seen before.
 *
 * What `kaifang ledger verify` runs, over two sources of tiles: a portal's store
 * (ledger_tile) or a server's /ledger/tile/... URLs. The check is the one a
 * Certificate Transparency monitor or Go's sumdb client makes, done for every entry:
 *   - every entry bundle holds exactly the entries the tree size says, and each entry's
 *     RFC 9162 leaf hash SHA-256(0x00 || entry) equals the hash in the level-0 tile
 *     (a rewritten, deleted or reordered entry is reported with its index);
 *   - every stored hash of a higher tile level equals the node recomputed from the
 *     entries (RFC 9162 §2.1.1), so no stored hash can stand in for missing entries;
 *   - the root recomputed from the entries equals the checkpoint's root, and the roots
 *     of the tree at every earlier size the caller saw (checkpoints kept in a state
 *     file or stored in the portal) equal the recomputed root of that prefix: a fork,
 *     a rewrite of history or a rollback is reported with the size.
 * The signature of the checkpoints and consistency proofs are the caller's part
 * (ledger_note_verify, merkle_verify_consistency).
 *
 * Cost: one leaf hash per entry and, amortised, one node hash; memory is one tile per
 * level (no per-entry allocation), so a million entries verify in well under two
 * seconds from a local store.
 */
#ifndef KAIFANG_LEDGER_VERIFY_H
#define KAIFANG_LEDGER_VERIFY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/err.h"
#include "ledger/ledger.h"

/* Where a verifier reads tiles from. tile() has ledger_tile()'s contract: level, index n,
 * width w (1..256), entries for the entry bundle; the bytes are appended to out (which
 * the verifier empties first). A failure is reported as a problem of the tile's range
 * (a missing tile means missing entries or hashes), not as an error of the run. */
struct ledger_source {
    void *ctx;
    int (*tile)(void *ctx, unsigned level, uint64_t n, unsigned w, bool entries, struct buf *out,
                struct err *err);
};

/* A prefix the entries must reproduce: the tree of size had root (a checkpoint seen
 * before, or one stored by the portal). what names it in reports ("the checkpoint in
 * the state file"). */
struct ledger_verify_point {
    uint64_t size;
    uint8_t root[LEDGER_HASH_LEN];
    const char *what;
};

/* Problem kinds, for callers and tests that need more than the message. */
enum ledger_problem {
    LEDGER_PROBLEM_REWRITTEN = 1, /* an entry's bytes do not hash to its stored leaf hash */
    LEDGER_PROBLEM_REORDERED,     /* two entries swapped places */
    LEDGER_PROBLEM_MISSING,       /* an entry (or a tile holding entries) is missing */
    LEDGER_PROBLEM_HASH,          /* a stored interior hash disagrees with the entries */
    LEDGER_PROBLEM_ROOT,          /* the checkpoint's root is not the entries' root */
    LEDGER_PROBLEM_FORK,          /* an earlier checkpoint is not a prefix of this tree */
    LEDGER_PROBLEM_ROLLBACK,      /* the tree is smaller than a size seen before */
    LEDGER_PROBLEM_MALFORMED,     /* a tile or bundle has the wrong shape */
    LEDGER_PROBLEM_SIGNATURE,     /* (callers) a checkpoint's signature does not verify */
    LEDGER_PROBLEM_PROOF,         /* (callers) a served proof does not verify */
};

/*
 * The verifier's report: problem() is called once per problem with its kind, the entry
 * index it concerns (has_index false when it concerns no single entry: a root, a size)
 * and a one-line message naming the index ("entry 41: …"). At most max_problems are
 * reported (0: 100); the run stops after that.
 */
struct ledger_verify_report {
    void (*problem)(void *ctx, enum ledger_problem kind, bool has_index, uint64_t index,
                    const char *msg);
    void *ctx;
    size_t max_problems;
    /* Filled by ledger_verify_tree(): */
    size_t problems;
    uint64_t entries;     /* entries hashed */
    uint64_t tiles;       /* tiles and bundles read */
    uint64_t entry_bytes; /* bytes of entries hashed */
};

/*
 * Reads the whole tree of size from src, recomputes it and checks it against root and
 * every point (points in any order, each size ≤ size or it is reported as a rollback).
 * Returns 0 when the run completed, whether or not problems were found (rep->problems
 * says), or -ERR_INTERNAL if it could not run. Not thread-safe for one report; separate
 * reports may run in parallel.
 */
int ledger_verify_tree(const struct ledger_source *src, uint64_t size,
                       const uint8_t root[LEDGER_HASH_LEN],
                       const struct ledger_verify_point *points, size_t npoints,
                       struct ledger_verify_report *rep, struct err *err);

/*
 * A source over a portal's store (read-only use): entry bundles built from the stored
 * entry rows, so a deleted row leaves a gap that the verifier places against the
 * level-0 tile; hash tiles as stored (a partial request gets the first w hashes). s is
 * borrowed and must outlive out.
 */
void ledger_verify_store_source(struct store *s, struct ledger_source *out);

/* The tlog-tiles path of a tile after "tile/" ("0/x001/234", "entries/005.p/7"): an
 * implementation separate from the ledger's own, so the monitor does not trust the code
 * it checks. */
void ledger_verify_tile_path(unsigned level, uint64_t n, unsigned w, bool entries, struct buf *out);

/* Standard base64 of a hash (44 characters + NUL) and back; decode returns 0 or -1. */
void ledger_verify_hash_b64(const uint8_t hash[LEDGER_HASH_LEN], char out[45]);
int ledger_verify_hash_parse(const char *s, uint8_t hash[LEDGER_HASH_LEN]);

#endif
