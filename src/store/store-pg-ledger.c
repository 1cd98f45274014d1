/*
 * store-pg-ledger.c - the PostgreSQL backend's ledger rows: entries, hash tiles and
 * signed checkpoints (migration 1 in store-pg.c; docs/internals/ledger.md).
 *
 * Sequencing: every write transaction holds the database-wide advisory write lock
 * (store-pg.c), so "largest index + 1" read and written in one INSERT is atomic across
 * every process sharing the database: an entry is staged in the same transaction as the
 * change it records, two staged entries never get the same index, and an index is only
 * taken if the transaction commits. Integration (tiles and checkpoints) is a write
 * transaction too, so two servers' sequencers never fork the tree: the second finds the
 * entries integrated. Indexes are dense because rows are only ever appended.
 */
#include "core/log.h"
#include "store/store-pg-int.h"
#include "core/util.h"

/* bigint columns: every index and size the ledger stores must fit. */
static int check_u64(uint64_t v, const char *what, struct err *err)
{
    if (v > INT64_MAX)
        return err_set(err, ERR_VALIDATION, NULL, "ledger %s %" PRIu64 " is out of range", what, v);
    return 0;
}

/* Decodes a 32-byte hash column; false when it is not one. */
static bool column_hash(const PGresult *r, int i, int c, uint8_t out[32])
{
    size_t len = 0;

    return !PQgetisnull(r, i, c) && !pg_bytea_decode(PQgetvalue(r, i, c), out, 32, &len) &&
           len == 32;
}

int pg_ledger_stage(struct store *s, const void *entry, size_t len, const uint8_t leaf_hash[32],
                    uint64_t *index, struct err *err)
{
    struct pg_params p = PG_PARAMS_INIT;
    PGresult *r = NULL;
    int rc;

    pg_assert_writing(s);
    pg_params_bytes(&p, len ? entry : "", len);
    pg_params_bytes(&p, leaf_hash, 32);
    rc = pg_run(s,
                "INSERT INTO ledger_entries (idx, entry, leaf_hash) VALUES"
                " ((SELECT coalesce(max(idx) + 1, 0) FROM ledger_entries), $1, $2) RETURNING idx",
                &p, &r, "staging a ledger entry", err);
    if (!rc)
        *index = (uint64_t)pg_int(r, 0, 0);
    PQclear(r);
    pg_params_release(&p);
    return rc;
}

int pg_ledger_count(struct store *s, uint64_t *count, struct err *err)
{
    PGresult *r = NULL;
    int rc = pg_run(s, "SELECT coalesce(max(idx) + 1, 0) FROM ledger_entries", NULL, &r,
                    "counting ledger entries", err);

    if (!rc)
        *count = (uint64_t)pg_int(r, 0, 0);
    PQclear(r);
    return rc;
}

int pg_ledger_leaves(struct store *s, uint64_t start, uint64_t end, uint8_t (*out)[32],
                     struct err *err)
{
    struct pg_params p = PG_PARAMS_INIT;
    PGresult *r = NULL;
    uint64_t next = start;
    int rc;

    rc = check_u64(end, "index", err);
    if (rc)
        return rc;
    pg_params_int(&p, (int64_t)start);
    pg_params_int(&p, (int64_t)end);
    rc = pg_run(s,
                "SELECT idx, leaf_hash FROM ledger_entries WHERE idx >= $1 AND idx < $2"
                " ORDER BY idx",
                &p, &r, "reading ledger leaf hashes", err);
    for (int i = 0; !rc && i < PQntuples(r); i++, next++) {
        if ((uint64_t)pg_int(r, i, 0) != next || !column_hash(r, i, 1, out[next - start]))
            rc = err_set(err, ERR_INTERNAL, NULL, "ledger entry %" PRIu64 " is missing or corrupt",
                         next);
    }
    if (!rc && next != end)
        rc = err_set(err, ERR_INTERNAL, NULL, "ledger entry %" PRIu64 " is missing", next);
    PQclear(r);
    pg_params_release(&p);
    return rc;
}

int pg_ledger_entries(struct store *s, uint64_t start, uint64_t end,
                      struct store_ledger_entry **out, size_t *n, struct err *err)
{
    struct pg_params p = PG_PARAMS_INIT;
    struct store_ledger_entry *e = NULL;
    PGresult *r = NULL;
    size_t count = 0;
    int rc;

    rc = check_u64(end, "index", err);
    if (rc)
        return rc;
    pg_params_int(&p, (int64_t)start);
    pg_params_int(&p, (int64_t)end);
    rc = pg_run(s,
                "SELECT idx, entry, leaf_hash FROM ledger_entries WHERE idx >= $1 AND idx < $2"
                " ORDER BY idx",
                &p, &r, "reading ledger entries", err);
    if (rc)
        goto out;
    e = xcalloc(end - start, sizeof(*e));
    for (int i = 0; i < PQntuples(r); i++) {
        /* Hex text: two characters a byte after "\x". */
        size_t room = (size_t)PQgetlength(r, i, 1) / 2;

        if (count >= end - start) {
            rc = err_set(err, ERR_INTERNAL, NULL, "a stored ledger entry is corrupt");
            goto out;
        }
        e[count].index = (uint64_t)pg_int(r, i, 0);
        e[count].entry = xmalloc(room + 1);
        if (pg_bytea_decode(PQgetvalue(r, i, 1), (uint8_t *)e[count].entry, room, &e[count].len) ||
            !column_hash(r, i, 2, e[count].leaf_hash)) {
            count++;
            rc = err_set(err, ERR_INTERNAL, NULL, "a stored ledger entry is corrupt");
            goto out;
        }
        e[count].entry[e[count].len] = '\0';
        count++;
    }
    *out = e;
    *n = count;
    e = NULL;
out:
    store_ledger_entries_free(e, count);
    PQclear(r);
    pg_params_release(&p);
    return rc;
}

int pg_ledger_find_leaf(struct store *s, const uint8_t leaf[32], uint64_t below, uint64_t *index,
                        struct err *err)
{
    struct pg_params p = PG_PARAMS_INIT;
    PGresult *r = NULL;
    int rc;

    pg_params_bytes(&p, leaf, 32);
    pg_params_int(&p, below > INT64_MAX ? INT64_MAX : (int64_t)below);
    rc = pg_run(s, "SELECT min(idx) FROM ledger_entries WHERE leaf_hash = $1 AND idx < $2", &p, &r,
                "looking up a ledger leaf", err);
    if (!rc && PQgetisnull(r, 0, 0))
        rc = err_set(err, ERR_NOT_FOUND, "leaf_hash", "no ledger entry has this leaf hash");
    else if (!rc)
        *index = (uint64_t)pg_int(r, 0, 0);
    PQclear(r);
    pg_params_release(&p);
    return rc;
}

int pg_ledger_tile_get(struct store *s, unsigned level, uint64_t index, uint8_t (*out)[32],
                       size_t *width, struct err *err)
{
    struct pg_params p = PG_PARAMS_INIT;
    PGresult *r = NULL;
    size_t len = 0;
    int rc;

    rc = check_u64(index, "tile index", err);
    if (rc)
        return rc;
    pg_params_int(&p, level);
    pg_params_int(&p, (int64_t)index);
    rc = pg_run(s, "SELECT hashes FROM ledger_tiles WHERE level = $1 AND idx = $2", &p, &r,
                "reading a ledger tile", err);
    if (!rc && PQntuples(r) == 0)
        rc = err_set(err, ERR_NOT_FOUND, NULL, "ledger tile %u/%" PRIu64 " not found", level,
                     index);
    else if (!rc && (pg_bytea_decode(PQgetvalue(r, 0, 0), (uint8_t *)out,
                                     32 * STORE_LEDGER_TILE_WIDTH, &len) ||
                     len == 0 || len % 32))
        rc = err_set(err, ERR_INTERNAL, NULL, "stored ledger tile %u/%" PRIu64 " is corrupt", level,
                     index);
    else if (!rc)
        *width = len / 32;
    PQclear(r);
    pg_params_release(&p);
    return rc;
}

int pg_ledger_tile_put(struct store *s, unsigned level, uint64_t index, const uint8_t (*hashes)[32],
                       size_t width, struct err *err)
{
    struct pg_params p = PG_PARAMS_INIT;
    int rc;

    pg_assert_writing(s);
    rc = check_u64(index, "tile index", err);
    if (rc)
        return rc;
    pg_params_int(&p, level);
    pg_params_int(&p, (int64_t)index);
    pg_params_bytes(&p, hashes, width * 32);
    rc = pg_run(s,
                "INSERT INTO ledger_tiles (level, idx, hashes) VALUES ($1, $2, $3)"
                " ON CONFLICT (level, idx) DO UPDATE SET hashes = excluded.hashes",
                &p, NULL, "storing a ledger tile", err);
    pg_params_release(&p);
    return rc;
}

int pg_ledger_checkpoint_put(struct store *s, uint64_t size, const uint8_t root[32],
                             const char *note, const char *time, struct err *err)
{
    struct pg_params p = PG_PARAMS_INIT;
    PGresult *r = NULL;
    int64_t max = -1;
    int rc;

    pg_assert_writing(s);
    rc = check_u64(size, "tree size", err);
    if (!rc)
        rc = pg_run(s, "SELECT max(size) FROM ledger_checkpoints", NULL, &r,
                    "reading the latest ledger checkpoint", err);
    if (rc)
        goto out;
    if (!PQgetisnull(r, 0, 0))
        max = pg_int(r, 0, 0);
    if ((int64_t)size <= max) {
        rc = err_set(err, ERR_CONFLICT, "size",
                     "ledger checkpoint of size %" PRIu64 " is not past the latest (%" PRId64 ")",
                     size, max);
        goto out;
    }
    pg_params_int(&p, (int64_t)size);
    pg_params_bytes(&p, root, 32);
    pg_params_text(&p, note);
    pg_params_text(&p, time);
    rc = pg_run(s,
                "INSERT INTO ledger_checkpoints (size, root, note, created)"
                " VALUES ($1, $2, $3, $4)",
                &p, NULL, "storing a ledger checkpoint", err);
out:
    PQclear(r);
    pg_params_release(&p);
    return rc;
}

int pg_ledger_checkpoint_get(struct store *s, uint64_t *size, uint8_t root[32], char **note,
                             struct err *err)
{
    PGresult *r = NULL;
    int rc;

    rc = pg_run(s, "SELECT size, root, note FROM ledger_checkpoints ORDER BY size DESC LIMIT 1",
                NULL, &r, "reading the latest ledger checkpoint", err);
    if (!rc && PQntuples(r) == 0)
        rc = err_set(err, ERR_NOT_FOUND, NULL, "the ledger has no checkpoint yet");
    else if (!rc && (!column_hash(r, 0, 1, root) || pg_int(r, 0, 0) < 0))
        rc = err_set(err, ERR_INTERNAL, NULL, "the stored ledger checkpoint is corrupt");
    else if (!rc) {
        *size = (uint64_t)pg_int(r, 0, 0);
        if (note)
            *note = xstrdup(PQgetvalue(r, 0, 2));
    }
    PQclear(r);
    return rc;
}

/* Pages of this many checkpoints, read in one snapshot. */
#define CHECKPOINT_PAGE 1000

int pg_ledger_checkpoints(struct store *s,
                          int (*fn)(void *ctx, uint64_t size, const uint8_t root[32],
                                    const char *note, struct err *err),
                          void *ctx, struct err *err)
{
    struct pg_params p = PG_PARAMS_INIT;
    PGresult *r = NULL;
    int64_t after = -1;
    bool began = false;
    uint8_t root[32];
    int rc;

    rc = pg_read_begin(s, &began, err);
    while (!rc) {
        pg_params_release(&p);
        pg_params_int(&p, after);
        pg_params_int(&p, CHECKPOINT_PAGE);
        PQclear(r);
        r = NULL;
        rc = pg_run(s,
                    "SELECT size, root, note FROM ledger_checkpoints WHERE size > $1"
                    " ORDER BY size LIMIT $2",
                    &p, &r, "listing ledger checkpoints", err);
        if (rc || PQntuples(r) == 0)
            break;
        for (int i = 0; !rc && i < PQntuples(r); i++) {
            after = pg_int(r, i, 0);
            if (!column_hash(r, i, 1, root) || after < 0)
                rc = err_set(err, ERR_INTERNAL, NULL, "a stored ledger checkpoint is corrupt");
            else
                rc = fn(ctx, (uint64_t)after, root, PQgetvalue(r, i, 2), err);
        }
    }
    PQclear(r);
    pg_params_release(&p);
    pg_read_end(s, began);
    return rc;
}
