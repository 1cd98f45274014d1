/*
 * grant.h - grants: the only way anyone reads the data of a restricted dataset (issue 8;
 * docs/internals/access.md, "Grants").
 *
 * A dataset is restricted when its access_level (DCAT-US 1.1 accessLevel) is
 * "restricted public" or "non-public": its metadata stays public, its data (datastore
 * tables, uploaded files) does not. An editor of the dataset's organization requests a
 * grant naming a grantee account (role "grantee"), a purpose, a legal basis, the columns
 * and rows (a filter in datastore_search's "filters" shape) it may read, a period and
 * optionally a fee schedule; an approver of the same organization who is neither the
 * requester nor the grantee approves or refuses it (access_approver_check()). Every step
 * is a ledger entry; grants are public (without personal data) wherever their dataset is.
 *
 * A grant's public shape (grant_request … grant_list):
 *   {"id", "dataset": id, "dataset_name", "organization": name, "grantee": user name,
 *    "purpose", "legal_basis", "columns": [names], "filters": {column: [values]},
 *    "valid_from": "YYYY-MM-DD", "valid_until": "YYYY-MM-DD" (both days included, UTC),
 *    "fee_schedule": id or null, "state": "requested" | "approved" | "refused" |
 *    "revoked", "requested_by", "requested_at", "decided_by", "decided_at", "note"
 *    (who approved or refused it, when, their note), and once revoked "revoked_by",
 *    "revoked_at", "revoke_note" (a revocation leaves the decision as it was)}
 *
 * Thread-safety: every function may be called from any thread at once.
 */
#ifndef KAIFANG_ACCESS_GRANT_H
#define KAIFANG_ACCESS_GRANT_H

#include <jansson.h>
#include <stdbool.h>

#include "access/access.h"
#include "core/err.h"
#include "store/store.h"

/* True when a package dict's access_level is "restricted public" or "non-public". */
bool dataset_restricted(const json_t *dataset);

/*
 * grant_request: params {dataset (id or name), grantee, purpose, legal_basis, columns,
 * filters (optional), valid_from, valid_until, fee_schedule (optional)}. The caller must
 * be an editor or admin of the dataset's organization, or a sysadmin; the dataset active
 * and restricted; the grantee an active user with the grantee role. Each problem is
 * -ERR_VALIDATION naming its field, -ERR_NOT_FOUND (dataset, grantee) or -ERR_AUTH. One
 * transaction; ledger "grant_request", org the dataset's organization, objects {grant,
 * dataset, grantee}, digest of the public shape. *grant: the public shape (new).
 */
int grant_request_as(struct store *s, const struct actor *a, json_t *params, json_t **grant,
                     struct err *err);

/*
 * grant_approve (approve true) / grant_refuse: params {id, note (optional)}. The grant
 * must be "requested"; the caller must pass access_approver_check() for the grant's
 * organization against its requester, and must not be its grantee. Ledger
 * "grant_approve" / "grant_refuse" (objects {grant, dataset, grantee}, digest of the
 * public shape after the decision). *grant: the public shape.
 */
int grant_decide_as(struct store *s, const struct actor *a, json_t *params, bool approve,
                    json_t **grant, struct err *err);

/*
 * grant_revoke: params {id, note (optional)}: an approved grant ends now. An approver of
 * the organization (any, the requester too: ending access needs no second person), an
 * admin of it, or a sysadmin. Sets state "revoked", revoked_by, revoked_at and
 * revoke_note; decided_by and decided_at keep the approver. Ledger "grant_revoke".
 */
int grant_revoke_as(struct store *s, const struct actor *a, json_t *params, json_t **grant,
                    struct err *err);

/*
 * grant_show: params {id}; grant_list: params {dataset (id or name, optional), grantee
 * (user name, optional)}. The public shapes of the grants the actor may see: all grants
 * on public active datasets; on private, draft or deleted ones only for the
 * organization's members, the grant's grantee and sysadmins. grant_show of one the actor
 * may not see is -ERR_NOT_FOUND, as a dataset it may not see.
 */
int grant_show(struct store *s, const struct actor *a, json_t *params, json_t **grant,
               struct err *err);
int grant_list(struct store *s, const struct actor *a, json_t *params, json_t **grants,
               struct err *err);

/*
 * The grants under which a may read dataset_id (its id) on day ("YYYY-MM-DD", UTC): every
 * approved grant naming a as grantee with valid_from <= day <= valid_until, in the store's
 * order (requested_at, then id). 0 and *valid (new array of copies of the stored records, which
 * have the public shape's fields plus "organization_id", "grantee_id"); the reader picks
 * the one that covers the read (ds_restricted_begin()). -ERR_AUTH with the reason
 * otherwise ("no approved grant", "expired on", "valid from"); *nearest then is the
 * last approved grant not valid today when there was one, else NULL: the refusal's
 * ledger entry names it. *valid and *nearest are NULL when not set.
 */
int grant_find_valid(struct store *s, const struct actor *a, const char *dataset_id,
                     const char *day, json_t **valid, json_t **nearest, struct err *err);

/*
 * Records one read of restricted data, or one refusal, as its own transaction (shared
 * with concurrent reads' entries: ledger_append(), group commit), and returns once it
 * committed:
 *   refusal NULL: "restricted_read", objects {grant, dataset, resource, rows}
 *   refusal set:  "restricted_read_refused", objects {dataset, resource, grant (when
 *                 one applies), reason: refusal (a short text, no personal data)}
 * actor the reader's name, org the dataset's organization name (or NULL), query the
 * parameters as run (borrowed; its canonical JSON is the entry's digest: the query
 * digest). -ERR_INTERNAL when the entry cannot be committed: the caller then withholds
 * the data (no read without its entry).
 */
int grant_read_record(struct store *s, const char *actor, const char *org, const char *grant_id,
                      const char *dataset_id, const char *resource_id, json_t *query,
                      long long rows, const char *refusal, struct err *err);

/* Today's date in UTC, "YYYY-MM-DD" (out: at least 11 bytes). */
void grant_today(char *out);

#endif
