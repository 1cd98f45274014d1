/*
 * store-migrate.h - moving a portal's records from one store to another (`kaifang
 * migrate --to`, issue 9). docs/internals/store.md, "Moving a portal to PostgreSQL".
 */
#ifndef KAIFANG_STORE_STORE_MIGRATE_H
#define KAIFANG_STORE_STORE_MIGRATE_H

#include <stdint.h>

#include "core/err.h"
#include "store/store-datastore.h"
#include "store/store.h"

/* What store_migrate() carried (and dropped on purpose), for the command's report. */
struct store_migrate_counts {
    uint64_t groups;  /* organizations and groups, deleted ones included */
    uint64_t users;   /* with their password hashes */
    uint64_t tokens;  /* API tokens (their hashes) */
    uint64_t members; /* organization memberships */
    uint64_t roles, grants;
    uint64_t sessions; /* web sessions that had not ended */
    uint64_t datasets, resources;
    uint64_t ledger_entries, ledger_tiles, ledger_checkpoints;
    uint64_t ds_statuses; /* datastore ingest statuses */
    uint64_t ds_tables, ds_rows;
    uint64_t derived_dropped; /* derived texts (data.json entries): derived again on read */
};

/*
 * Copies every record of src, a SQLite store, into dst, a PostgreSQL store that holds
 * nothing yet, in one transaction of dst: organizations and groups, users with their
 * password hashes, API tokens, memberships, roles, grants, web sessions that have not
 * ended, datasets (documents, facet and resource rows,
 * full-text tokens; every state, private ones too), the ledger's entries with their
 * indexes, tiles and signed checkpoints (byte for byte, so the same checkpoints verify),
 * datastore ingest statuses and datastore tables (fields, primary key, indexes, meta,
 * full-text flag, and every row with its _id). Files are not touched (they stay in the
 * file store). tokenize is the full-text tokenizer of the datastore tables
 * (catalog_search_text). *counts gets what was carried (zeroed on failure).
 *
 * Nothing is written when it fails: -ERR_VALIDATION when src or dst is not of those
 * kinds, or when src holds data dst cannot keep yet (fee schedules, charges,
 * privacy reports, view counts, or a table this version does not know: the
 * message names the kind and the count); -ERR_CONFLICT when dst is not empty (naming
 * what it holds); -ERR_UNAVAILABLE, -ERR_INTERNAL from either store. Derived texts are not
 * carried (counted in *counts): readers derive them again. src should not be written
 * meanwhile: its rows are read in one snapshot, but its datastore tables one by one.
 */
int store_migrate(struct store *src, struct store *dst, store_tokenize_fn tokenize,
                  struct store_migrate_counts *counts, struct err *err);

#endif
