/*
 * audit.h - fees and the audit (issue 8): fee schedules approved by a second person and
 * published, charges recorded or imported from a unit's billing system, and the audit
 * that reconciles the ledger and the store and lists every exception
 * (docs/internals/audit.md).
 *
 * Money is exact: amounts are int64 fen (1/100 yuan), parsed from and printed as
 * decimal text ("145000000.00"); no floating point anywhere.
 *
 * Every write (audit_schedule_create, audit_schedule_approve, audit_charge_record,
 * audit_charges_import) runs in one store transaction and stages its ledger entries in
 * it (docs/internals/ledger-entries.md): on any error nothing changes. Entries hold no
 * personal data: a charge's payer is only in its entry's digest, salted (audit.md,
 * "What the public entry holds").
 *
 * Errors: -ERR_VALIDATION naming the field (and for a file, its line and column),
 * -ERR_AUTH, -ERR_NOT_FOUND, -ERR_CONFLICT, -ERR_INTERNAL (store or ledger).
 * Ownership: json_t results are new references. Thread-safety: any thread.
 */
#ifndef KAIFANG_AUDIT_AUDIT_H
#define KAIFANG_AUDIT_AUDIT_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "access/access.h"
#include "core/buf.h"
#include "core/err.h"
#include "store/store.h"

/* ---- Money and dates (money.c; pure) -------------------------------------------------- */

/* The largest amount accepted: 10^12 yuan in fen (the sum of a million of them still fits
 * an int64 many times over). */
#define AUDIT_AMOUNT_MAX_FEN INT64_C(100000000000000)
/* Room for any amount's text: 13 digits, '.', 2 digits, a sign and the NUL. */
#define AUDIT_AMOUNT_STR_MAX 32
/* The one currency charges may be in (ISO 4217). */
#define AUDIT_CURRENCY "CNY"

/*
 * Parses an amount in yuan: digits, optionally '.' and one or two digits ("12", "12.5",
 * "12.50"); no sign, spaces, exponent or thousands separators; more than 0 and at most
 * AUDIT_AMOUNT_MAX_FEN. len bytes of s (no NUL needed). *fen gets the amount in fen.
 * Returns 0, or -1 with *why (a static phrase: "has more than two decimals", …).
 */
int audit_amount_parse(const char *s, size_t len, int64_t *fen, const char **why);

/* Writes fen as yuan with exactly two decimals ("145000000.00", "-0.05"). */
void audit_amount_format(int64_t fen, char out[AUDIT_AMOUNT_STR_MAX]);

/* Whether len bytes of s are a calendar date YYYY-MM-DD (ISO 8601, years 1900..2999,
 * leap years as the Gregorian calendar). */
bool audit_date_valid(const char *s, size_t len);

/* ---- The charges file (csv.c; pure) ---------------------------------------------------- */

/* The header a charges file must start with, exactly (a UTF-8 BOM before it is allowed). */
#define AUDIT_CHARGES_HEADER  "organization,unit,system,payer,date,amount,currency,schedule"
#define AUDIT_CHARGES_COLUMNS 8
/* The longest text of a field in bytes (organization, unit, system, payer, schedule). */
#define AUDIT_FIELD_MAX 200u

/* One row of a charges file, as parsed: fields borrowed for the callback only
 * (NUL-terminated), amount checked and converted. schedule "" when none. */
struct audit_charge_row {
    const char *organization, *unit, *system, *payer, *date, *currency, *schedule;
    int64_t amount_fen;
    unsigned long line; /* 1-based line of the file the row is on */
};

/*
 * Reads a charges file (len bytes of data, not NUL-terminated): RFC 4180 CSV, UTF-8,
 * LF or CRLF line ends, fields optionally in double quotes ("" for a quote; a quoted
 * field may not span lines); the first line is AUDIT_CHARGES_HEADER exactly; every other
 * line has 8 fields: organization, unit, system and payer non-empty (at most
 * AUDIT_FIELD_MAX bytes, no control characters), date YYYY-MM-DD, amount as
 * audit_amount_parse, currency "CNY", schedule empty or a name. A final line end is
 * optional; an empty line elsewhere is an error. fn(ctx, row, err) is called for each
 * row in order; a non-zero return stops the read and is returned.
 * Errors: -ERR_VALIDATION, field "file", with "line L, column C (name): problem" (C the
 * 1-based field number), or "line L: problem" for the shape of a line. Pure: nothing
 * but fn is called; the fuzz harness tests/fuzz/fuzz-audit-charges.c drives it.
 */
int audit_charges_parse(const char *data, size_t len,
                        int (*fn)(void *ctx, const struct audit_charge_row *row, struct err *err),
                        void *ctx, struct err *err);

/* ---- Who may do what (access.c of this module) ------------------------------------------ */

/*
 * Whether a may approve a fee schedule of the organization org_id that creator (a user
 * name) created: a holder of the "approver" role of that organization (or portal-wide)
 * who is not the creator (the two-person rule): access_approver_check(). Sysadmins and
 * organization admins approve only when they hold the role. 0, or -ERR_AUTH with the
 * reason.
 */
int audit_may_approve(const struct actor *a, const char *org_id, const char *creator,
                      struct err *err);

/* ---- Fee schedules (schedule.c) ------------------------------------------------------- */

/*
 * Creates a pending fee schedule. params (borrowed): name (CKAN name rules), organization
 * (name or id), service, unit, price (yuan, as audit_amount_parse; a JSON string, or a
 * number written with at most two decimals), legal_basis, period_start and period_end
 * (YYYY-MM-DD, start ≤ end). The actor must be an editor or admin of the organization
 * (or a sysadmin). *out (may be NULL): the schedule as audit_schedule_show gives it.
 * Ledger: "fee_schedule_create".
 */
int audit_schedule_create(struct store *s, const struct actor *a, const json_t *params,
                          json_t **out, struct err *err);

/*
 * Approves a pending fee schedule (id or name): audit_may_approve() must allow it
 * (-ERR_AUTH otherwise, also for the creator); an approved one is -ERR_CONFLICT. The
 * schedule is published from then on. Ledger: "fee_schedule_approve".
 */
int audit_schedule_approve(struct store *s, const struct actor *a, const char *id_or_name,
                           json_t **out, struct err *err);

/* A schedule by id or name: {id, name, organization, organization_id, service, unit,
 * price, currency, legal_basis, period_start, period_end, state, creator, created,
 * approver, approved, ledger: {create, approve}}. Pending schedules are shown only to
 * members of their organization and sysadmins (-ERR_NOT_FOUND to others). */
int audit_schedule_show(struct store *s, const struct actor *a, const char *id_or_name,
                        json_t **out, struct err *err);

/* Approved (published) schedules, of one organization (name or id) or all (NULL),
 * ordered by name; with pending true also the pending ones the actor may see. */
int audit_schedule_list(struct store *s, const struct actor *a, const char *org, bool pending,
                        json_t **out, struct err *err);

/* ---- Charges (charge.c) ---------------------------------------------------------------- */

/*
 * Records one charge made through Kaifang (a grant's fee): params organization, unit,
 * system, payer, date, amount, currency (default CNY), schedule (required: an approved
 * schedule of the organization whose period holds the date and whose price is at least
 * the amount; anything else is refused, since Kaifang itself never charges outside a
 * schedule), grant (optional id). Actor: an editor or admin of the organization, or a
 * sysadmin. *out: {id, ledger_index}. Ledger: "charge_record".
 */
int audit_charge_record(struct store *s, const struct actor *a, const json_t *params, json_t **out,
                        struct err *err);

/*
 * Imports a charges file (audit_charges_parse) as it came from a unit's billing system:
 * every organization must exist (-ERR_VALIDATION naming line and column otherwise), the
 * schedule column is kept as written whatever it names (the audit judges it). Only a
 * sysadmin may import. All rows or none: one store transaction, one "charge_record"
 * entry per row. *count gets the number of charges imported.
 */
int audit_charges_import(struct store *s, const struct actor *a, const char *data, size_t len,
                         uint64_t *count, struct err *err);

/* ---- The audit (report.c) -------------------------------------------------------------- */

struct audit_options {
    bool proofs;          /* embed an RFC 9162 inclusion proof for every entry named */
    const char *site_url; /* prefix of the proof links ("" or NULL: relative links) */
};

/*
 * Reconciles the store and the ledger and lists the exceptions (audit.md, "The report"):
 * unapproved_charges, charges_outside_period, charges_above_price (each a list per
 * organization with units, systems, charges, total and by_system), ledger_mismatches,
 * the signed checkpoint the entry indexes refer to, and a summary. Public: holds no
 * payer. Reads only (one snapshot per part); entries staged but not yet integrated are
 * named without proofs. *report: new reference.
 */
int audit_report(struct store *s, const struct audit_options *o, json_t **report, struct err *err);

/* The report as CSV (RFC 4180): one line per finding per unit and system:
 * kind,organization,unit,system,charges,total,entries,subject,detail (entry indexes
 * separated by spaces). For the findings about restricted data (audit.md) unit is the
 * dataset, system the resource, charges the count of occurrences, total empty, and
 * subject and detail as audit_finding_describe() gives them. */
void audit_report_csv(const json_t *report, struct buf *out);

/* The lists of findings about restricted data, in report order (findings.c):
 * reads_outside_grant, expired_grants_used, restricted_published_without_grant,
 * privacy_overrides, grants_self_approved; each a list per organization of
 * {organization, title, findings, count, items}. */
#define AUDIT_FINDING_KINDS 5
extern const char *const audit_finding_keys[AUDIT_FINDING_KINDS];

/* What one item of those lists is about, in words, for the CSV and the HTML page. */
struct audit_finding_text {
    const char *dataset;  /* the dataset's name when known, else its id (may be NULL) */
    const char *resource; /* resource id or NULL */
    const char *subject;  /* who or what: the reader, the grant, the approver, or NULL */
};

/* Fills t (strings borrowed from item) and appends to detail a line of text about item
 * of kind (0-based index into audit_finding_keys): the reasons, the grant's period, the
 * link, the justification, who requested and decided. */
void audit_finding_describe(size_t kind, const json_t *item, struct audit_finding_text *t,
                            struct buf *detail);

#endif
