/*
 * ledger.h - the public ledger: an append-only Merkle log of every change the public
 * should be able to see (publications, metadata edits, deletions, memberships, tokens;
 * later grants, restricted reads, fee schedules, charges), verifiable by anyone.
 *
 * Standards, used exactly so that existing tools verify the log unchanged:
 *   RFC 9162 §2.1        leaf hash SHA-256(0x00 || entry), node hash
 *                        SHA-256(0x01 || left || right), inclusion proofs (§2.1.3),
 *                        consistency proofs (§2.1.4);
 *   C2SP tlog-checkpoint origin line, tree size, base64 root hash;
 *   C2SP signed-note     Ed25519 (type 0x01) signature lines, verifier keys
 *                        "<name>+<hex key id>+<base64(0x01 || public key)>";
 *   C2SP tlog-tiles      tiles of height 8 (256 hashes), entry bundles of
 *                        uint16-length-prefixed entries, "x001/x234/067" paths.
 *
 * Life of an entry
 *   1. A domain module (catalog, access, later datastore/privacy/fees) calls
 *      ledger_record() inside the store transaction of the change it records: the entry
 *      is staged in the same transaction, so there is no change without its entry and
 *      no entry without its change. Staging assigns the entry its index.
 *   2. The sequencer (ledger_integrate(): the server's background thread every
 *      LEDGER_BATCH_MS, and every CLI command before it exits) integrates staged
 *      entries into the tree in batches, storing every tile hash, and signs a new
 *      checkpoint when the tree grew. One sequencer at a time: it runs inside a store
 *      write transaction.
 *   3. Readers serve checkpoints, tiles, entry bundles and proofs from stored hashes:
 *      every proof is O(log n) reads.
 *
 * Entries are canonical JSON: sorted keys, no insignificant white space, UTF-8 (not
 * \u-escaped), at most LEDGER_ENTRY_MAX bytes (the tlog-tiles bundle limit). They never
 * hold personal data in clear: changes are recorded as SHA-256 digests.
 */
#ifndef KAIFANG_LEDGER_LEDGER_H
#define KAIFANG_LEDGER_LEDGER_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/err.h"
#include "store/store.h"

#define LEDGER_HASH_LEN    32
#define LEDGER_ENTRY_MAX   65535u
#define LEDGER_TILE_HEIGHT 8
#define LEDGER_TILE_WIDTH  256
#define LEDGER_BATCH_MS    100
#define LEDGER_PROOF_MAX   64 /* hashes in a proof: ⌈log2 n⌉ ≤ 63 */

/* ---- Merkle primitives (merkle.c; pure, thread-safe) ------------------------------ */

/* RFC 9162 §2.1.1: SHA-256(0x00 || entry). */
void merkle_leaf_hash(const void *entry, size_t len, uint8_t out[LEDGER_HASH_LEN]);
/* RFC 9162 §2.1.1: SHA-256(0x01 || left || right). */
void merkle_node_hash(const uint8_t left[LEDGER_HASH_LEN], const uint8_t right[LEDGER_HASH_LEN],
                      uint8_t out[LEDGER_HASH_LEN]);

/* RFC 9162 §2.1.3.2. proof: n hashes of LEDGER_HASH_LEN bytes, bottom-up. Returns 0
 * when the leaf at index is in the tree of size whose root is root, -1 otherwise
 * (index >= size, wrong length, mismatch). */
int merkle_verify_inclusion(uint64_t index, uint64_t size, const uint8_t leaf[LEDGER_HASH_LEN],
                            const uint8_t (*proof)[LEDGER_HASH_LEN], size_t n,
                            const uint8_t root[LEDGER_HASH_LEN]);

/* RFC 9162 §2.1.4.2, with the edge cases of ../notes: first == second needs an empty
 * proof and equal roots; first == 0 or first > second is refused. Returns 0 or -1. */
int merkle_verify_consistency(uint64_t first, uint64_t second,
                              const uint8_t first_root[LEDGER_HASH_LEN],
                              const uint8_t second_root[LEDGER_HASH_LEN],
                              const uint8_t (*proof)[LEDGER_HASH_LEN], size_t n);

/* Standard base64 (RFC 4648 §4, padded) of a hash, as the ledger's JSON API and
 * checkpoints write hashes: 44 characters and a NUL. */
#define LEDGER_HASH_B64_LEN 45
void ledger_hash_b64(const uint8_t hash[LEDGER_HASH_LEN], char out[LEDGER_HASH_B64_LEN]);

/* ---- Signed notes and checkpoints (note.c; libsodium Ed25519) ---------------------- */

/* A log key pair as stored in <portal>/ledger.key (mode 0600): the signing key never
 * leaves ledger/. */
struct ledger_key;

/* Creates a new Ed25519 key pair for origin (e.g. "127.0.0.1:8080/ledger" or the
 * site's host + "/ledger") and writes it to path (0600, refusing to overwrite). */
int ledger_key_create(const char *path, const char *origin, struct err *err);
/* Loads a key pair; release with ledger_key_free(). */
int ledger_key_load(const char *path, struct ledger_key **out, struct err *err);
void ledger_key_free(struct ledger_key *k);
/* The verifier key "<origin>+<8 hex>+<base64(0x01 || pk)>" (C2SP signed-note). */
const char *ledger_key_vkey(const struct ledger_key *k);
const char *ledger_key_origin(const struct ledger_key *k);

/* Signs note text (which must end in "\n") and appends the text, a blank line and the
 * signature line to out (C2SP signed-note). */
int ledger_note_sign(const struct ledger_key *k, const char *text, struct buf *out,
                     struct err *err);
/* Verifies a signed note against one verifier key; on success copies the text (up to
 * and including its last "\n") into text. -ERR_VALIDATION naming what failed. */
int ledger_note_verify(const char *vkey, const char *note, size_t len, struct buf *text,
                       struct err *err);

/* Formats and parses checkpoint text (C2SP tlog-checkpoint). */
void ledger_checkpoint_text(const char *origin, uint64_t size, const uint8_t root[LEDGER_HASH_LEN],
                            struct buf *out);
int ledger_checkpoint_parse(const char *text, char *origin, size_t origin_size, uint64_t *size,
                            uint8_t root[LEDGER_HASH_LEN], struct err *err);

/* ---- The ledger over a store (ledger.c, sequencer.c, proof.c, tiles.c) ------------ */

/*
 * Stages one entry inside the caller's open store transaction (BUG_ON otherwise).
 *   type    "dataset_create", "dataset_update", "dataset_delete", "resource_create", …
 *           (docs/internals/ledger.md lists every type and who writes it)
 *   actor   user name, or "public"
 *   org     organization name, or NULL
 *   objects borrowed JSON object of ids ({"dataset": id, "resource": id, …})
 *   digest  borrowed JSON value whose canonical form is hashed into the entry as
 *           "digest": "sha256:<hex>" (the new state, never personal data in clear), or
 *           NULL
 * The entry gets "time" (RFC 3339 UTC) and the fields above; its index is returned in
 * *index when index is not NULL. -ERR_INTERNAL on a store failure.
 */
int ledger_record(struct store *s, const char *type, const char *actor, const char *org,
                  json_t *objects, json_t *digest, uint64_t *index, struct err *err);

/*
 * Records one entry (the arguments of ledger_record()) that belongs to no other change
 * (a restricted read, a refused one), and returns once the entry is kept as durably as a
 * store commit: 0 means it will be in the ledger, a crash of the process
 * notwithstanding. The entry is built and hashed on the caller's thread. With a read
 * journal open for s (ledger_journal_open()) it is appended to that file and staged by
 * the next drain (the sequencer's, within LEDGER_BATCH_MS); *index then gets
 * LEDGER_INDEX_PENDING, since the index is given at the drain. Without one, it is
 * committed in a store transaction of its own shared with concurrent callers
 * (store_ledger_append(): group commit) and *index gets its index. Must not be called
 * inside a store transaction. -ERR_INTERNAL on a store or file failure (nothing kept),
 * -ERR_TOO_LARGE for an entry over LEDGER_ENTRY_MAX. Thread-safe.
 */
#define LEDGER_INDEX_PENDING UINT64_MAX
int ledger_append(struct store *s, const char *type, const char *actor, const char *org,
                  json_t *objects, json_t *digest, uint64_t *index, struct err *err);

/*
 * The sequencer: stages the read journal's records (when one is open for s), then
 * integrates every staged entry into the tree (storing leaf and tile hashes), and when
 * the tree grew signs and stores a new checkpoint with key. Runs in its own store write
 * transaction. *size gets the integrated tree size (may be NULL).
 */

int ledger_integrate(struct store *s, const struct ledger_key *key, uint64_t *size,
                     struct err *err);

/*
 * The read journal (journal.c; docs/internals/ledger.md, "The read journal"): a file at
 * path (the portal's "kaifang.db-reads") to which ledger_append() appends the entries of
 * restricted reads, so that a read does not take the store's write transaction. Opened
 * once per process for the portal's store, before any thread calls ledger_append() on
 * it, and closed after they stopped; a store whose backend keeps no journal mark
 * (store_ledger_journal_supported(): PostgreSQL) gets none and 0 is returned. Records
 * left by an earlier process are staged by the next drain. -ERR_INTERNAL when the file
 * cannot be opened or is not a journal, or one is already open in this process.
 */
int ledger_journal_open(struct store *s, const char *path, struct err *err);
void ledger_journal_close(struct store *s);

/* Whether a read journal is open for s. */
bool ledger_journal_attached(const struct store *s);

/*
 * Stages the journal's records in ledger_entries now, in a write transaction of its own
 * (nothing to do: no transaction), so that what reads before now were recorded is in
 * the store: for the audit, and before a grant decision, so that the reads made under a
 * grant precede its revocation in index order. *staged (may be NULL) gets how many.
 * Outside a store transaction only. 0 without a journal.
 */
int ledger_journal_drain(struct store *s, size_t *staged, struct err *err);

/* The latest signed checkpoint (the whole note) into out; its size in *size. An empty
 * log has a signed checkpoint of size 0 once integrate ran. -ERR_NOT_FOUND before. */
int ledger_checkpoint(struct store *s, struct buf *out, uint64_t *size, struct err *err);

/* The size of the latest signed checkpoint, 0 before the first: a cheap call (the
 * checkpoint is remembered per store_version()), for readers outside write
 * transactions. Thread-safe. */
int ledger_signed_size(struct store *s, uint64_t *size, struct err *err);

/* The leaf hash of entry index (< the integrated size): one indexed read, no JSON. */
int ledger_leaf(struct store *s, uint64_t index, uint8_t leaf[LEDGER_HASH_LEN], struct err *err);

/* Entries [start, end) of the integrated log, as a JSON array of {"index", "entry"
 * (the canonical JSON text), "leaf_hash" (standard base64)}. end is clamped to the
 * tree size and end - start to LEDGER_TILE_WIDTH. */
int ledger_entries(struct store *s, uint64_t start, uint64_t end, json_t **out, struct err *err);

/* The index of the entry whose leaf hash is leaf, or -ERR_NOT_FOUND. */
int ledger_find_leaf(struct store *s, const uint8_t leaf[LEDGER_HASH_LEN], uint64_t *index,
                     struct err *err);

/* Root hash of the tree at size (≤ the integrated size), from stored hashes; the
 * latest checkpoint's own root when size is its size. Proofs and roots read full tiles
 * through a process-wide cache (at most 64 MiB; full tiles never change). */
int ledger_root(struct store *s, uint64_t size, uint8_t root[LEDGER_HASH_LEN], struct err *err);

/* RFC 9162 §2.1.3.1 inclusion proof of index in the tree of size. *n hashes into proof
 * (room for LEDGER_PROOF_MAX). -ERR_VALIDATION when index >= size or size is larger
 * than the integrated tree. */
int ledger_inclusion_proof(struct store *s, uint64_t index, uint64_t size,
                           uint8_t (*proof)[LEDGER_HASH_LEN], size_t *n, struct err *err);

/* RFC 9162 §2.1.4.1 consistency proof between sizes first and second (0 < first ≤
 * second ≤ integrated size). */
int ledger_consistency_proof(struct store *s, uint64_t first, uint64_t second,
                             uint8_t (*proof)[LEDGER_HASH_LEN], size_t *n, struct err *err);

/* A tlog-tiles tile: level (0..63), index n, width w (1..256; 256 = full). Hash tiles
 * get w * 32 bytes; with entries true the entry bundle. -ERR_NOT_FOUND when the tile
 * is not (yet) within the integrated tree. */
int ledger_tile(struct store *s, unsigned level, uint64_t n, unsigned w, bool entries,
                struct buf *out, struct err *err);

/* ---- The sequencer thread (sequencer.c) -------------------------------------------- */
struct ledger_sequencer;

/*
 * Starts a thread that calls ledger_integrate(s, key) every LEDGER_BATCH_MS while
 * store_version(s) changed since its last run (errors are logged and retried at the next
 * tick). s and key are borrowed and must outlive ledger_sequencer_stop(). Of several
 * servers sharing one database, only the one store_sequencer_lead() elects integrates;
 * the others ask at every tick and take over when it is gone (ledger_integrate is safe
 * against others anyway: it runs in a store write transaction). -ERR_INTERNAL when the
 * thread cannot be created.
 */
int ledger_sequencer_start(struct ledger_sequencer **out, struct store *s,
                           const struct ledger_key *key, struct err *err);
/* Stops the thread, integrates what is staged one last time (logging a failure) and
 * frees q. NULL is a no-op. */
void ledger_sequencer_stop(struct ledger_sequencer *q);

/* Parses a tile path as tlog-tiles writes it after "tile/": "<L>/<N>[.p/<W>]" or
 * "entries/<N>[.p/<W>]" with N in "x001/x234/067" form. Returns 0 or -1. */
int ledger_tile_path_parse(const char *path, unsigned *level, uint64_t *n, unsigned *w,
                           bool *entries);
/* Formats a tile path (inverse of the above). */
void ledger_tile_path(unsigned level, uint64_t n, unsigned w, bool entries, struct buf *out);

#endif
