/*
 * ftx.h - Kaifang's own inverted index for the full text of datastore tables (q of
 * datastore_search), meant to replace SQLite's FTS5 there: FTS5 builds at ~190,000
 * rows/s and ranks every match with bm25 before a page is cut (docs/internals/datastore.md,
 * "Cost"); this index is written from the build's tokens in one pass, keeps for each
 * token the sorted row ids apart from the few rows holding it more than once, and so
 * counts and pages a query without scoring every match.
 *
 * Keys: a token of a text field is found under the field (its 1-based number among the
 * table's fields) and under FTX_COL_ANY (every text field). A key's bytes are the column
 * as a varint, then the token. A table with one text field has FTX_COL_ANY keys only. A
 * token found in one field only has its postings once, under FTX_COL_ANY, and its field's
 * key has empty postings (0 bytes): "those of FTX_COL_ANY" (format 2; format 1 repeated
 * them).
 *
 * Postings of a key (the bytes ftx_build_finish emits and the reader takes, which come
 * from a table file on disk: every length, count and id is checked, a damaged index is an
 * error and never a read out of bounds):
 *
 *     varint df        rows holding the token (≥ 1)
 *     varint nexc      of them, rows holding it more than once (≤ df)
 *     varint dlen·2+b  bytes of the row ids, and whether they are a bitmap (b = 1)
 *     row ids          b = 0: df varints, each the difference from the previous (the first
 *                      from 0), strictly increasing, at most the index's max_id;
 *                      b = 1: a bitmap, bit i of byte i / 8 for row i, at most up to
 *                      max_id, df bits set (written when smaller: common tokens)
 *     nexc pairs       (varint id difference, varint count ≥ 2): the rows holding the
 *                      token more than once, increasing, each also in the row ids
 *
 * Ranking reproduces what the FTS5 index of a datastore table (contentless, columnsize=0)
 * gives as bm25 (https://sqlite.org/fts5.html §5.1.1, ext/fts5/fts5_aux.c): for each
 * query token i (a phrase there) with n_i matching rows of N,
 * idf_i = ln((N - n_i + 0.5) / (n_i + 0.5)), 1e-6 when not positive, and
 * score = Σ_i idf_i · f_i · (k1 + 1) / (f_i + k1 · (1 - b + b · D / avgdl)) with k1 = 1.2,
 * b = 0.75, f_i the token's count in the row (in its field), avgdl the tokens of the table
 * over its rows and D = minus the number of text fields (FTS5 gives a contentless table
 * without column sizes a size of -1 per column). Rows come by score descending, then by
 * id: the order of `ORDER BY rank, rowid` on FTS5. Since a row's score depends only on the
 * counts, every row holding each token once has the same score (the "base" score), and
 * only the rows listed as exceptions need scoring.
 */
#ifndef KAIFANG_STORE_FTX_H
#define KAIFANG_STORE_FTX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/err.h"

#define FTX_COL_ANY 0u

/* What the ranking needs of the whole index (kept beside the postings). */
struct ftx_stats {
    uint64_t rows;   /* rows of the table (N) */
    uint64_t tokens; /* tokens in every text field of every row */
    uint32_t ncols;  /* text fields indexed */
    int64_t max_id;  /* the largest row id posted (0 when none) */
    uint32_t format; /* FTX_FORMAT; 1: the first one (ftx_key_hash_v1, no empty postings) */
};

/* The format ftx_build_finish writes: keys stored under ftx_key_hash (the token's hash, so
 * that a token's keys are one row), a field's key empty when FTX_COL_ANY's are the same. */
#define FTX_FORMAT 2u

/* ---- Building ------------------------------------------------------------------------ */
struct ftx_build;

/*
 * A new, empty builder for a table with ncols text fields. When its memory passes budget
 * bytes (checked at each row), what it holds is written sorted to a run file in spill_dir
 * (an unlinked O_TMPFILE, gone with the builder or the process) and it starts again
 * empty; ftx_build_finish merges the runs. spill_dir NULL: everything stays in memory.
 * Free with ftx_build_free().
 */
struct ftx_build *ftx_build_new(uint32_t ncols, const char *spill_dir, size_t budget);

/* Starts row id (> every id before it, ≥ 1): counted in stats.rows even without text.
 * Errors: -ERR_INTERNAL for an id out of order or a run that cannot be written. */
int ftx_build_row(struct ftx_build *b, int64_t id, struct err *err);

/* Posts the tokens of field col (1-based field number, > 0) of the current row: tokens
 * are separated by spaces (a store_tokenize_fn's output), len bytes. Each field of a row
 * at most once. */
void ftx_build_add(struct ftx_build *b, uint32_t col, const char *tokens, size_t len);

/* Receives one key with its postings (both borrowed for the call); a negative return
 * stops ftx_build_finish with that error. */
typedef int (*ftx_emit_fn)(void *ctx, const uint8_t *key, size_t klen, const uint8_t *post,
                           size_t plen, struct err *err);

/* Emits every key once, in increasing order of ftx_key_hash() (equal hashes in any
 * order: the keys of one token have one hash), and fills *stats (format FTX_FORMAT).
 * Postings of 0 bytes are a field's key pointing at FTX_COL_ANY's (see "Keys"). b stays
 * to be freed (the postings emitted are freed). */
int ftx_build_finish(struct ftx_build *b, ftx_emit_fn emit, void *ctx, struct ftx_stats *stats,
                     struct err *err);

/* Bytes the builder holds (for tests and the memory bound of its caller). */
size_t ftx_build_memory(const struct ftx_build *b);

/* Runs written to disk so far (0: everything fit in memory). */
size_t ftx_build_runs(const struct ftx_build *b);

void ftx_build_free(struct ftx_build *b);

/* The key of token (len bytes) in column col into out (at most 10 + len bytes): its
 * length. */
size_t ftx_key(uint32_t col, const char *token, size_t len, uint8_t *out);

/* The hash a key is stored under (format 2): the hash of its token, whatever the column,
 * 0 .. INT64_MAX (a SQLite rowid). ftx_key_hash_v1: format 1's, the hash of the whole key. */
uint64_t ftx_key_hash(const uint8_t *key, size_t klen);
uint64_t ftx_key_hash_v1(const uint8_t *key, size_t klen);

/*
 * The keys of one hash are stored together, as entries: varint key length, key, varint
 * postings length, postings. ftx_entry_size() is the bytes of one, ftx_entry_put() writes
 * it at out and returns that size. ftx_entries_find() looks for key among the entries of
 * blob (len bytes, from disk: lengths are checked): 1 and the postings (borrowed from
 * blob), 0 when it is not there, -ERR_INTERNAL when the entries are damaged.
 */
size_t ftx_entry_size(size_t klen, size_t plen);
size_t ftx_entry_put(uint8_t *out, const uint8_t *key, size_t klen, const uint8_t *post,
                     size_t plen);
int ftx_entries_find(const uint8_t *blob, size_t len, const uint8_t *key, size_t klen,
                     const uint8_t **post, size_t *plen, struct err *err);

/* ---- Changing an index in place -------------------------------------------------------
 * A write that changes a few rows changes the postings of their tokens only: the edit is
 * told each changed row's tokens as they were and as they are, then makes again the
 * entries of each hash (ftx table row) those tokens are stored under, from the old entries
 * and the changes, the keys being what ftx_build_finish would write for the table as it is
 * now (format 2 only). With the stats changed as ftx_edit_stats() says, every query then
 * answers what it would over an index rebuilt from every row (same rows, counts, ranks);
 * only max_id may stay above the largest id (it never decreases). */
struct ftx_edit;

/* A new edit of an index of ncols text fields (its stats' ncols). Free with
 * ftx_edit_free(). */
struct ftx_edit *ftx_edit_new(uint32_t ncols);

/* Row id is removed (removed true) or added: counted in the index's rows. A changed row
 * is removed, then added. */
void ftx_edit_row(struct ftx_edit *e, int64_t id, bool removed);

/* The tokens (a store_tokenize_fn's output, len bytes) of field col (1-based field number)
 * of row id as they were (removed true) or as they are now: as ftx_build_add's. */
void ftx_edit_tokens(struct ftx_edit *e, int64_t id, uint32_t col, const char *tokens, size_t len,
                     bool removed);

/* Bytes the edit holds (its caller rebuilds the whole index past a budget instead). */
size_t ftx_edit_memory(const struct ftx_edit *e);

/* The hashes (ftx_key_hash: the rows of the index's table) whose entries the edit changes,
 * increasing, *n of them; borrowed from e until its next change. */
const uint64_t *ftx_edit_hashes(struct ftx_edit *e, size_t *n);

/*
 * The new entries of hash h (one of ftx_edit_hashes()) from its old ones (old, len bytes, as
 * stored, checked as ftx_entries_find() and ftx_postings_check() would; NULL, 0: no row),
 * for an index whose largest row id is max_id (the old stats' and the rows added: ids above
 * it are damage): *out, *outlen bytes, borrowed from e until the next call (0 bytes: the
 * row goes). Errors: -ERR_INTERNAL for damaged entries or postings, or when a removed token
 * is not in them (the index does not match the rows; the caller rebuilds it).
 */
int ftx_edit_apply(struct ftx_edit *e, uint64_t h, const uint8_t *old, size_t len, int64_t max_id,
                   const uint8_t **out, size_t *outlen, struct err *err);

/* Changes *st (the index's stats before the edit) into those after it: rows, tokens, max_id. */
void ftx_edit_stats(const struct ftx_edit *e, struct ftx_stats *st);

void ftx_edit_free(struct ftx_edit *e);

/* ---- Querying ------------------------------------------------------------------------ */

/* One query token: every one must be in the row (AND), in field col or FTX_COL_ANY. */
struct ftx_term {
    uint32_t col;
    const char *token;
    size_t len;
};

/* Finds a key's postings: 1 and *post, *plen (borrowed until the query's ftx_match is
 * made), 0 when the key is not in the index, or a negative error. Empty postings of a
 * field's key make ftx_match_new look up the FTX_COL_ANY key of the token. */
typedef int (*ftx_lookup_fn)(void *ctx, const uint8_t *key, size_t klen, const uint8_t **post,
                             size_t *plen, struct err *err);

/* The rows matching a query, with their scores. */
struct ftx_match;

/*
 * Evaluates nterms terms (≥ 1) against the index described by stats, whose postings
 * lookup gives. ranked false skips the scores (a search sorted otherwise): every rank is
 * then 0 and pages come in id order. keep > 0 is for one page (its offset + limit rows at
 * most): only the best keep of the scored rows are kept, so the match costs no memory per
 * scored row, and then only ftx_match_count and ftx_match_page up to position keep may be
 * asked (not ftx_match_rank, ftx_match_next). Memory: a bitmap of max_id bits and 16 bytes per
 * matching row holding a token more than once. Errors: the lookup's; -ERR_INTERNAL "the full-text
 * index is damaged …" when postings break the format above. *out: free with ftx_match_free().
 */
int ftx_match_new(const struct ftx_stats *stats, const struct ftx_term *terms, size_t nterms,
                  bool ranked, size_t keep, ftx_lookup_fn lookup, void *ctx, struct ftx_match **out,
                  struct err *err);

/* How many rows match. */
uint64_t ftx_match_count(const struct ftx_match *m);

/* Whether row id matches, and then its FTS5 rank (minus the score) into *rank. */
bool ftx_match_rank(const struct ftx_match *m, int64_t id, double *rank);

/*
 * The page of rows by rank (best first), then id: at most max ids of the rows at
 * positions offset, offset + 1, … into ids (and their ranks into ranks, may be NULL).
 * Returns how many were written.
 */
size_t ftx_match_page(struct ftx_match *m, uint64_t offset, size_t max, int64_t *ids,
                      double *ranks);

/* The first matching id greater than after (after < 0: the first), or -1 at the end. */
int64_t ftx_match_next(const struct ftx_match *m, int64_t after);

void ftx_match_free(struct ftx_match *m);

/*
 * Checks one key's postings against the format above without a query (what
 * ftx_match_new checks of each key it reads): 0, or -ERR_INTERNAL naming what is wrong.
 */
int ftx_postings_check(const uint8_t *post, size_t plen, int64_t max_id, struct err *err);

#endif
