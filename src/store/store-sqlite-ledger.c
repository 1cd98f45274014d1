/*
 * store-sqlite-ledger.c - the SQLite backend's ledger rows: entries, hash tiles and
 * signed checkpoints (schema migration 3 in store-sqlite.c; docs/internals/ledger.md).
 *
 * Sequencing: SQLite has one writer at a time (store_begin takes the process's write
 * lock and BEGIN IMMEDIATE the database's), so "largest index + 1" read and written in
 * one INSERT is atomic: two staged entries can never get the same index, and an index
 * is only taken if the caller's transaction commits. Indexes are dense because the
 * rows are only ever appended and never deleted.
 */
#include <sqlite3.h>

#include "core/log.h"
#include "store/store-sqlite-int.h"
#include "core/util.h"

static const char *const ledger_sql[] = {
        [ST_LEDGER_STAGE] = "INSERT INTO ledger_entries (idx, entry, leaf_hash)"
                            " VALUES ((SELECT coalesce(max(idx) + 1, 0) FROM ledger_entries),"
                            " ?1, ?2)",
        [ST_LEDGER_COUNT] = "SELECT coalesce(max(idx) + 1, 0) FROM ledger_entries",
        [ST_LEDGER_LEAVES] = "SELECT idx, leaf_hash FROM ledger_entries"
                             " WHERE idx >= ?1 AND idx < ?2 ORDER BY idx",
        [ST_LEDGER_ENTRIES] = "SELECT idx, entry, leaf_hash FROM ledger_entries"
                              " WHERE idx >= ?1 AND idx < ?2 ORDER BY idx",
        [ST_LEDGER_FIND] = "SELECT min(idx) FROM ledger_entries WHERE leaf_hash = ?1 AND idx < ?2",
        [ST_LEDGER_TILE_GET] = "SELECT hashes FROM ledger_tiles WHERE level = ?1 AND idx = ?2",
        [ST_LEDGER_TILE_PUT] = "INSERT INTO ledger_tiles (level, idx, hashes) VALUES (?1, ?2, ?3)"
                               " ON CONFLICT (level, idx) DO UPDATE SET hashes = excluded.hashes",
        [ST_LEDGER_CHECKPOINT_PUT] = "INSERT INTO ledger_checkpoints (size, root, note, created)"
                                     " VALUES (?1, ?2, ?3, ?4)",
        [ST_LEDGER_CHECKPOINT_GET] =
                "SELECT size, root, note FROM ledger_checkpoints ORDER BY size DESC LIMIT 1",
        [ST_LEDGER_CHECKPOINT_MAX] = "SELECT max(size) FROM ledger_checkpoints",
};

/*
 * The writer's page cache while it stages entries: each entry inserts one random key
 * into the leaf-hash index (45 bytes a row: 45 MB at a million entries), and with
 * SQLite's default 2 MiB cache almost every insert read its index page back from the
 * file (bench/ledger.sh: 31,000 entries/s, half of it in the kernel). 64 MiB holds the
 * index of about 1.4 million entries; pages are only allocated as used.
 * NEEDSWORK: a connection setting belongs in conn_open() (store-sqlite.c), which another
 * change holds; it is set here when the writer first prepares the stage statement, which
 * happens once per connection.
 */
#define WRITER_CACHE_PRAGMA "PRAGMA cache_size = -65536" /* KiB */

/* The cached statement id on c, prepared from ledger_sql[] on first use. */
static int ledger_stmt(struct conn *c, enum stmt_id id, sqlite3_stmt **st, struct err *err)
{
    int rc;

    BUG_ON(id < ST_LEDGER_STAGE || id >= ST__COUNT || (size_t)id >= ARRAY_SIZE(ledger_sql));
    if (!c->st[id] && id == ST_LEDGER_STAGE) {
        rc = sqlite3_exec(c->db, WRITER_CACHE_PRAGMA, NULL, NULL, NULL);
        if (rc != SQLITE_OK)
            return sq_db_error(c->db, rc, "sizing the ledger writer's cache", err);
    }
    if (!c->st[id]) {
        rc = sqlite3_prepare_v3(c->db, ledger_sql[id], -1, SQLITE_PREPARE_PERSISTENT, &c->st[id],
                                NULL);
        if (rc != SQLITE_OK)
            return sq_db_error(c->db, rc, "preparing a ledger statement", err);
    }
    *st = c->st[id];
    return 0;
}

static int read_stmt(struct store *s, enum stmt_id id, struct conn **c, sqlite3_stmt **st,
                     struct err *err)
{
    int rc = sq_read_conn(s, c, err);

    return rc ? rc : ledger_stmt(*c, id, st, err);
}

/* SQLite integers are signed 64-bit: every index and size the ledger stores fits. */
static int check_u64(uint64_t v, const char *what, struct err *err)
{
    if (v > INT64_MAX)
        return err_set(err, ERR_VALIDATION, NULL, "ledger %s %" PRIu64 " is out of range", what, v);
    return 0;
}

static bool blob_is_hash(sqlite3_stmt *st, int col)
{
    return sqlite3_column_type(st, col) == SQLITE_BLOB && sqlite3_column_bytes(st, col) == 32;
}

int sq_ledger_stage(struct store *s, const void *entry, size_t len, const uint8_t leaf_hash[32],
                    uint64_t *index, struct err *err)
{
    struct conn *c = sq_write_conn(s);
    sqlite3_stmt *st = NULL;
    int rc;

    rc = ledger_stmt(c, ST_LEDGER_STAGE, &st, err);
    if (rc)
        return rc;
    sqlite3_bind_blob64(st, 1, len ? entry : "", len, SQLITE_STATIC);
    sqlite3_bind_blob(st, 2, leaf_hash, 32, SQLITE_STATIC);
    rc = sqlite3_step(st);
    if (rc == SQLITE_DONE) {
        /* idx is the rowid: no RETURNING row to step through. */
        *index = (uint64_t)sqlite3_last_insert_rowid(c->db);
        rc = 0;
    } else {
        rc = sq_db_error(c->db, rc, "staging a ledger entry", err);
    }
    stmt_done(st);
    return rc;
}

int sq_ledger_count(struct store *s, uint64_t *count, struct err *err)
{
    sqlite3_stmt *st = NULL;
    struct conn *c = NULL;
    int64_t v = 0;
    int rc;

    rc = read_stmt(s, ST_LEDGER_COUNT, &c, &st, err);
    if (!rc)
        rc = sq_fetch_int64(c, st, &v, "counting ledger entries", err);
    if (!rc)
        *count = (uint64_t)v;
    return rc;
}

int sq_ledger_leaves(struct store *s, uint64_t start, uint64_t end, uint8_t (*out)[32],
                     struct err *err)
{
    sqlite3_stmt *st = NULL;
    struct conn *c = NULL;
    uint64_t next = start;
    int rc;

    rc = check_u64(end, "index", err);
    if (!rc)
        rc = read_stmt(s, ST_LEDGER_LEAVES, &c, &st, err);
    if (rc)
        return rc;
    sqlite3_bind_int64(st, 1, (int64_t)start);
    sqlite3_bind_int64(st, 2, (int64_t)end);
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if ((uint64_t)sqlite3_column_int64(st, 0) != next || !blob_is_hash(st, 1)) {
            rc = err_set(err, ERR_INTERNAL, NULL, "ledger entry %" PRIu64 " is missing or corrupt",
                         next);
            goto out;
        }
        memcpy(out[next - start], sqlite3_column_blob(st, 1), 32);
        next++;
    }
    if (rc != SQLITE_DONE) {
        rc = sq_db_error(c->db, rc, "reading ledger leaf hashes", err);
        goto out;
    }
    rc = next == end
                 ? 0
                 : err_set(err, ERR_INTERNAL, NULL, "ledger entry %" PRIu64 " is missing", next);
out:
    stmt_done(st);
    return rc;
}

int sq_ledger_entries(struct store *s, uint64_t start, uint64_t end,
                      struct store_ledger_entry **out, size_t *n, struct err *err)
{
    struct store_ledger_entry *e = NULL;
    sqlite3_stmt *st = NULL;
    struct conn *c = NULL;
    size_t count = 0;
    int rc;

    rc = check_u64(end, "index", err);
    if (!rc)
        rc = read_stmt(s, ST_LEDGER_ENTRIES, &c, &st, err);
    if (rc)
        return rc;
    e = xcalloc(end - start, sizeof(*e));
    sqlite3_bind_int64(st, 1, (int64_t)start);
    sqlite3_bind_int64(st, 2, (int64_t)end);
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        size_t len = (size_t)sqlite3_column_bytes(st, 1);
        const void *p = sqlite3_column_blob(st, 1);

        if (count >= end - start || !blob_is_hash(st, 2)) {
            rc = err_set(err, ERR_INTERNAL, NULL, "a stored ledger entry is corrupt");
            goto out;
        }
        e[count].index = (uint64_t)sqlite3_column_int64(st, 0);
        e[count].entry = xmalloc(len + 1);
        if (len)
            memcpy(e[count].entry, p, len);
        e[count].entry[len] = '\0';
        e[count].len = len;
        memcpy(e[count].leaf_hash, sqlite3_column_blob(st, 2), 32);
        count++;
    }
    if (rc != SQLITE_DONE) {
        rc = sq_db_error(c->db, rc, "reading ledger entries", err);
        goto out;
    }
    rc = 0;
    *out = e;
    *n = count;
    e = NULL;
out:
    stmt_done(st);
    store_ledger_entries_free(e, count);
    return rc;
}

int sq_ledger_find_leaf(struct store *s, const uint8_t leaf[32], uint64_t below, uint64_t *index,
                        struct err *err)
{
    sqlite3_stmt *st = NULL;
    struct conn *c = NULL;
    int rc;

    rc = read_stmt(s, ST_LEDGER_FIND, &c, &st, err);
    if (rc)
        return rc;
    sqlite3_bind_blob(st, 1, leaf, 32, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, below > INT64_MAX ? INT64_MAX : (int64_t)below);
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW && sqlite3_column_type(st, 0) != SQLITE_NULL) {
        *index = (uint64_t)sqlite3_column_int64(st, 0);
        rc = 0;
    } else if (rc == SQLITE_ROW || rc == SQLITE_DONE) {
        rc = err_set(err, ERR_NOT_FOUND, "leaf_hash", "no ledger entry has this leaf hash");
    } else {
        rc = sq_db_error(c->db, rc, "looking up a ledger leaf", err);
    }
    stmt_done(st);
    return rc;
}

int sq_ledger_tile_get(struct store *s, unsigned level, uint64_t index, uint8_t (*out)[32],
                       size_t *width, struct err *err)
{
    sqlite3_stmt *st = NULL;
    struct conn *c = NULL;
    int rc;

    rc = check_u64(index, "tile index", err);
    if (!rc)
        rc = read_stmt(s, ST_LEDGER_TILE_GET, &c, &st, err);
    if (rc)
        return rc;
    sqlite3_bind_int(st, 1, (int)level);
    sqlite3_bind_int64(st, 2, (int64_t)index);
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        size_t len = (size_t)sqlite3_column_bytes(st, 0);

        if (sqlite3_column_type(st, 0) != SQLITE_BLOB || len == 0 || len % 32 ||
            len > 32 * STORE_LEDGER_TILE_WIDTH) {
            rc = err_set(err, ERR_INTERNAL, NULL, "stored ledger tile %u/%" PRIu64 " is corrupt",
                         level, index);
        } else {
            memcpy(out, sqlite3_column_blob(st, 0), len);
            *width = len / 32;
            rc = 0;
        }
    } else if (rc == SQLITE_DONE) {
        rc = err_set(err, ERR_NOT_FOUND, NULL, "ledger tile %u/%" PRIu64 " not found", level,
                     index);
    } else {
        rc = sq_db_error(c->db, rc, "reading a ledger tile", err);
    }
    stmt_done(st);
    return rc;
}

int sq_ledger_tile_put(struct store *s, unsigned level, uint64_t index, const uint8_t (*hashes)[32],
                       size_t width, struct err *err)
{
    struct conn *c = sq_write_conn(s);
    sqlite3_stmt *st = NULL;
    int rc;

    rc = check_u64(index, "tile index", err);
    if (!rc)
        rc = ledger_stmt(c, ST_LEDGER_TILE_PUT, &st, err);
    if (rc)
        return rc;
    sqlite3_bind_int(st, 1, (int)level);
    sqlite3_bind_int64(st, 2, (int64_t)index);
    sqlite3_bind_blob(st, 3, hashes, (int)(width * 32), SQLITE_STATIC);
    rc = sqlite3_step(st);
    rc = rc == SQLITE_DONE ? 0 : sq_db_error(c->db, rc, "storing a ledger tile", err);
    stmt_done(st);
    return rc;
}

int sq_ledger_checkpoint_put(struct store *s, uint64_t size, const uint8_t root[32],
                             const char *note, const char *time, struct err *err)
{
    struct conn *c = sq_write_conn(s);
    sqlite3_stmt *st = NULL;
    int64_t max = -1;
    int rc;

    rc = check_u64(size, "tree size", err);
    if (!rc)
        rc = ledger_stmt(c, ST_LEDGER_CHECKPOINT_MAX, &st, err);
    if (rc)
        return rc;
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        if (sqlite3_column_type(st, 0) != SQLITE_NULL)
            max = sqlite3_column_int64(st, 0);
        rc = 0;
    } else {
        rc = sq_db_error(c->db, rc, "reading the latest ledger checkpoint", err);
    }
    stmt_done(st);
    if (rc)
        return rc;
    if ((int64_t)size <= max)
        return err_set(err, ERR_CONFLICT, "size",
                       "ledger checkpoint of size %" PRIu64 " is not past the latest (%" PRId64 ")",
                       size, max);
    rc = ledger_stmt(c, ST_LEDGER_CHECKPOINT_PUT, &st, err);
    if (rc)
        return rc;
    sqlite3_bind_int64(st, 1, (int64_t)size);
    sqlite3_bind_blob(st, 2, root, 32, SQLITE_STATIC);
    bind_text(st, 3, note);
    bind_text(st, 4, time);
    rc = sqlite3_step(st);
    rc = rc == SQLITE_DONE ? 0 : sq_db_error(c->db, rc, "storing a ledger checkpoint", err);
    stmt_done(st);
    return rc;
}

int sq_ledger_checkpoint_get(struct store *s, uint64_t *size, uint8_t root[32], char **note,
                             struct err *err)
{
    sqlite3_stmt *st = NULL;
    struct conn *c = NULL;
    int rc;

    rc = read_stmt(s, ST_LEDGER_CHECKPOINT_GET, &c, &st, err);
    if (rc)
        return rc;
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        const char *text = (const char *)sqlite3_column_text(st, 2);

        if (!blob_is_hash(st, 1) || !text || sqlite3_column_int64(st, 0) < 0) {
            rc = err_set(err, ERR_INTERNAL, NULL, "the stored ledger checkpoint is corrupt");
        } else {
            *size = (uint64_t)sqlite3_column_int64(st, 0);
            memcpy(root, sqlite3_column_blob(st, 1), 32);
            if (note)
                *note = xstrndup(text, (size_t)sqlite3_column_bytes(st, 2));
            rc = 0;
        }
    } else if (rc == SQLITE_DONE) {
        rc = err_set(err, ERR_NOT_FOUND, NULL, "the ledger has no checkpoint yet");
    } else {
        rc = sq_db_error(c->db, rc, "reading the latest ledger checkpoint", err);
    }
    stmt_done(st);
    return rc;
}

int sq_ledger_checkpoints(struct store *s,
                          int (*fn)(void *ctx, uint64_t size, const uint8_t root[32],
                                    const char *note, struct err *err),
                          void *ctx, struct err *err)
{
    sqlite3_stmt *st = NULL;
    struct conn *c = NULL;
    int rc;

    rc = sq_read_conn(s, &c, err);
    if (!rc)
        rc = sq_read_begin(s, c, err);
    if (rc)
        return rc;
    /* Called once per verify run: prepared per call, not cached. */
    rc = sqlite3_prepare_v2(c->db, "SELECT size, root, note FROM ledger_checkpoints ORDER BY size",
                            -1, &st, NULL);
    if (rc != SQLITE_OK) {
        rc = sq_db_error(c->db, rc, "listing ledger checkpoints", err);
        goto out;
    }
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        const char *text = (const char *)sqlite3_column_text(st, 2);

        if (!blob_is_hash(st, 1) || !text || sqlite3_column_int64(st, 0) < 0) {
            rc = err_set(err, ERR_INTERNAL, NULL, "a stored ledger checkpoint is corrupt");
            goto out;
        }
        rc = fn(ctx, (uint64_t)sqlite3_column_int64(st, 0), sqlite3_column_blob(st, 1), text, err);
        if (rc)
            goto out;
    }
    rc = rc == SQLITE_DONE ? 0 : sq_db_error(c->db, rc, "listing ledger checkpoints", err);
out:
    sqlite3_finalize(st);
    sq_read_end(s, c);
    return rc;
}

/* The journal mark is a row of meta ('ledger_journal'), the generation as the int64 of
 * its bits. Both run on the writer, inside its transaction (store.c checks), so that the
 * mark commits with the entries it stands for. */
int sq_ledger_journal_get(struct store *s, uint64_t *gen, struct err *err)
{
    struct conn *c = sq_write_conn(s);
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(c->db, "SELECT value FROM meta WHERE key = 'ledger_journal'", -1,
                                &st, NULL);

    *gen = 0;
    if (rc != SQLITE_OK)
        return sq_db_error(c->db, rc, "reading the ledger journal mark", err);
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        *gen = (uint64_t)sqlite3_column_int64(st, 0);
        rc = 0;
    } else if (rc == SQLITE_DONE) {
        rc = 0;
    } else {
        rc = sq_db_error(c->db, rc, "reading the ledger journal mark", err);
    }
    sqlite3_finalize(st);
    return rc;
}

int sq_ledger_journal_put(struct store *s, uint64_t gen, struct err *err)
{
    struct conn *c = sq_write_conn(s);
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(
            c->db, "INSERT OR REPLACE INTO meta (key, value) VALUES ('ledger_journal', ?1)", -1,
            &st, NULL);

    if (rc != SQLITE_OK)
        return sq_db_error(c->db, rc, "writing the ledger journal mark", err);
    sqlite3_bind_int64(st, 1, (int64_t)gen);
    rc = sqlite3_step(st);
    rc = rc == SQLITE_DONE ? 0 : sq_db_error(c->db, rc, "writing the ledger journal mark", err);
    sqlite3_finalize(st);
    return rc;
}
