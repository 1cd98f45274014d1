/*
 * store-audit.h - fee schedules and charges in the store (src/audit/ decides what goes
 * in; docs/internals/audit.md).
 *
 * A fee schedule is kept as its document (the JSON fee_schedule_show returns, without
 * what callers compute) plus the columns queries need. A charge is a row of fixed
 * columns: amounts are integers of fen (1/100 yuan), never floating point. Each charge
 * row names the ledger entry that recorded it (ledger_idx), so that the audit can read
 * a charge and its entry together (store_charges_walk).
 *
 * Errors as in store.h. Writes must run inside a store transaction (BUG_ON otherwise)
 * and count for KAIFANG_FAIL_STORE_AT. Thread-safety as store.h: any thread.
 * Ownership: json_t results are new references.
 */
#ifndef KAIFANG_STORE_STORE_AUDIT_H
#define KAIFANG_STORE_STORE_AUDIT_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/err.h"
#include "store/store.h"

/* Inserts or replaces (by id) a fee schedule. name: unique slug (-ERR_CONFLICT, field
 * "name", when another schedule has it); org_id: the organization's id; state:
 * "pending" | "approved"; doc borrowed. */
int store_fee_schedule_put(struct store *s, const char *id, const char *name, const char *org_id,
                           const char *state, const json_t *doc, struct err *err);

/* A fee schedule by id or name: *doc new reference. -ERR_NOT_FOUND. */
int store_fee_schedule_get(struct store *s, const char *id_or_name, json_t **doc, struct err *err);

/* Fee schedules ordered by name, as an array of docs: of one organization (org_id, or
 * NULL for all) and one state (NULL for any). */
int store_fee_schedule_list(struct store *s, const char *org_id, const char *state, json_t **docs,
                            struct err *err);

/* One charge. Strings are borrowed. */
struct store_charge {
    const char *id;       /* UUID */
    const char *org_id;   /* organization id */
    const char *unit;     /* the charging unit inside the organization */
    const char *system;   /* the information system the charge was for */
    const char *payer;    /* personal or business data: never in the ledger in clear */
    const char *date;     /* YYYY-MM-DD */
    int64_t amount_fen;   /* > 0 */
    const char *currency; /* "CNY" */
    const char *schedule; /* the schedule named by the charge (name or id), NULL: none */
    const char *source;   /* "import" | "kaifang" */
    const char *grant_id; /* NULL unless recorded for a grant */
    const char *salt;     /* hex; the digest's salt (docs/internals/audit.md) */
    const char *created;  /* RFC 3339 */
    int64_t ledger_idx;   /* the index of its charge_record entry */
};

/* Inserts n charges (write, one prepared statement for all). -ERR_CONFLICT on a
 * duplicate id. */
int store_charges_put(struct store *s, const struct store_charge *c, size_t n, struct err *err);

/* A charge as JSON {id, organization_id, unit, system, payer, date, amount_fen, currency,
 * schedule, source, grant_id, created, ledger_index}. -ERR_NOT_FOUND. */
int store_charge_get(struct store *s, const char *id, json_t **charge, struct err *err);

/* The number of charges stored. */
int store_charge_count(struct store *s, uint64_t *count, struct err *err);

/*
 * Every charge in increasing ledger_idx, each with the ledger entry at its ledger_idx
 * (entry NULL and len 0 when the ledger holds none there): fn(ctx, charge, entry, len,
 * err) for each, everything borrowed for the call only (payer and salt are NULL: the
 * audit has no use for them). A non-zero return from fn stops the walk and is returned.
 * One read snapshot; memory: one row at a time.
 */
int store_charges_walk(struct store *s,
                       int (*fn)(void *ctx, const struct store_charge *c, const char *entry,
                                 size_t len, struct err *err),
                       void *ctx, struct err *err);

/*
 * Every ledger entry of the types the audit reads beside charges: grant_request,
 * grant_approve, grant_refuse, grant_revoke, restricted_read, restricted_read_refused,
 * privacy_override, resource_create, resource_update, dataset_update (staged or
 * integrated), in increasing index: fn(ctx, index, entry, len, err), the entry's
 * canonical JSON bytes borrowed for the call only. A non-zero return from fn stops the
 * walk and is returned. One read snapshot; memory: one entry at a time. SQLite reads
 * them through a partial index (schema 12), so the cost follows these entries, not the
 * size of the ledger.
 */
int store_ledger_audit_walk(struct store *s,
                            int (*fn)(void *ctx, uint64_t index, const char *entry, size_t len,
                                      struct err *err),
                            void *ctx, struct err *err);

/*
 * Every "charge_record" ledger entry (staged or integrated) whose index no charge row
 * names (charges.ledger_idx): a charge deleted from the store leaves its entry behind.
 * In increasing index, fn as for store_ledger_audit_walk. One read snapshot. SQLite
 * reads the charge_record entries through a partial index (schema 13), so the cost
 * follows the charges, not the size of the ledger.
 */
int store_charge_entries_orphaned(struct store *s,
                                  int (*fn)(void *ctx, uint64_t index, const char *entry,
                                            size_t len, struct err *err),
                                  void *ctx, struct err *err);

#endif
