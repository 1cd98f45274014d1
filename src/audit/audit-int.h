/*
 * audit-int.h - what the files of src/audit/ share (and tests/unit/test-audit.c).
 */
#ifndef KAIFANG_AUDIT_AUDIT_INT_H
#define KAIFANG_AUDIT_AUDIT_INT_H

#include <jansson.h>
#include <stdint.h>

#include "audit/audit.h"

/* An active organization by name or id: *doc (new reference) its organization_show
 * dict. -ERR_VALIDATION on field "organization \"x\" not found" when missing or
 * deleted; a store failure as is. */
int audit_org_lookup(struct store *s, const char *org, const char *field, json_t **doc,
                     struct err *err);

/* ledger_record() inside the caller's transaction, taking objects and digest (stolen);
 * a failure becomes -ERR_INTERNAL "cannot record \"type\" in the ledger: …". */
int audit_record(struct store *s, const char *type, const char *actor, const char *org,
                 json_t *objects, json_t *digest, uint64_t *index, struct err *err);

/* params[key] as an amount (a decimal string, or a JSON integer of whole yuan; a JSON
 * real is refused): -ERR_VALIDATION naming key. */
int audit_amount_param(const json_t *params, const char *key, int64_t *fen, struct err *err);

/* params[key] as a date YYYY-MM-DD (borrowed from params). */
int audit_date_param(const json_t *params, const char *key, const char **out, struct err *err);

/*
 * The findings about restricted data (findings.c; audit.md, "Findings about restricted
 * data"): adds the five lists of audit_finding_keys to report, each a list per organization
 * (name) sorted by name: {organization, title, findings (items), count (occurrences:
 * reads, refusals, overrides), items: [{…, count, first, last, entries}]}, entries the
 * ledger indexes the item rests on in increasing order; and summary[key] = {organizations,
 * findings, count, entries}. Reads the store's grants and datasets and the ledger's
 * entries of the audit's types (store_ledger_audit_walk). -ERR_INTERNAL on a store
 * failure (report then holds what was added so far: the caller drops it).
 */
int audit_findings(struct store *s, json_t *report, json_t *summary, struct err *err);

#endif
