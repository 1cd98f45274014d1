/*
 * policy.h - de-identification policies: a JSON file, one entry per column, that says how
 * each column of a table is transformed (kept, suppressed, masked, pseudonymised with a
 * keyed HMAC, top/bottom coded, rounded, generalised through a hierarchy) and which
 * privacy models the generalisation must satisfy (k-anonymity, l-diversity,
 * t-closeness, a record-suppression limit, a utility metric), and its application to a
 * table: the transformed table written as CSV and a report of what was done.
 * docs/internals/privacy-anonymization.md ("Policies") has the format.
 *
 * This header is the library interface used by `kaifang anonymize --policy` and by the
 * publish pipeline (`kaifang demo`); it is kept stable.
 *
 * Thread-safety: a policy is read-only once parsed and may be applied from several
 * threads at once; everything else belongs to one thread at a time.
 */
#ifndef KAIFANG_PRIVACY_POLICY_H
#define KAIFANG_PRIVACY_POLICY_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/err.h"
#include "privacy/anon.h"

#define PRIVACY_POLICY_MAX_SRC     (1u << 20) /* bytes of a policy file */
#define PRIVACY_POLICY_MAX_COLUMNS 1024u      /* entries of "columns" */
#define PRIVACY_KEY_BYTES          32u        /* a key made by privacy_key_create() */
#define PRIVACY_KEY_MIN            16u        /* shortest key file accepted */
#define PRIVACY_KEY_MAX            4096u      /* longest key file accepted */

/* What happens to one column (a column absent from the policy: its "unlisted" action). */
enum privacy_action {
    PRIVACY_KEEP = 0,     /* unchanged (after top/bottom coding and rounding, if any) */
    PRIVACY_SUPPRESS,     /* the column is dropped from the output */
    PRIVACY_MASK,         /* keep the first/last N characters, the rest masked */
    PRIVACY_PSEUDONYMIZE, /* HMAC-SHA-256 under the portal's key, hex */
    PRIVACY_GENERALIZE,   /* a quasi-identifier: generalised through its hierarchy */
};

/* A parsed policy (opaque). */
struct privacy_policy;

/*
 * Parses a policy from JSON text (untrusted: any bytes). name names the source in
 * messages (a file name). Errors are -ERR_VALIDATION (-ERR_TOO_LARGE past
 * PRIVACY_POLICY_MAX_SRC) with err->field the JSON path of the offending member and the
 * message starting with it: "columns[2].mask.keep_last: must be a non-negative
 * integer", "k: must be a positive integer", "columns[1].name: column \"dob\" is listed
 * twice (also columns[0])"; malformed JSON names the line and column. Nothing about the
 * table is checked here (column names are checked by privacy_policy_apply()). On
 * success *out owns the policy (privacy_policy_free()).
 */
int privacy_policy_parse(struct privacy_policy **out, const char *json, size_t len,
                         const char *name, struct err *err);

/* privacy_policy_parse() of the file at path; -ERR_VALIDATION when it cannot be read. */
int privacy_policy_load(struct privacy_policy **out, const char *path, struct err *err);

void privacy_policy_free(struct privacy_policy *p);

/*
 * Command-line settings that override the policy's (`kaifang anonymize` flags win over the
 * policy file). A member left at its "unset" value keeps the policy's.
 */
struct privacy_overrides {
    uint32_t k;              /* 0: unset */
    double l;                /* 0: unset; with ldiv */
    enum anon_ldiv ldiv;     /* ANON_LDIV_NONE: unset */
    double t;                /* < 0: unset */
    double suppression;      /* < 0: unset */
    int metric;              /* < 0: unset, else an enum anon_metric */
    double risk_threshold;   /* < 0: unset */
    const char *sensitive;   /* NULL: unset; the sensitive column */
    const char *sensitive_h; /* NULL: unset; its hierarchy (ARX CSV path) */
    /* --qi COLUMN=HIERARCHY: each column becomes a generalised quasi-identifier with that
     * hierarchy (a file path or a built-in spec), replacing the policy's entry for it */
    const char *const *qi_col;
    const char *const *qi_spec;
    size_t nqi;
};

/* Sets every member of o to "unset". */
void privacy_overrides_init(struct privacy_overrides *o);

/* Applies overrides to p (p is changed; errors as for privacy_policy_parse(), the field
 * naming the option: "qi", "k" …). */
int privacy_policy_override(struct privacy_policy *p, const struct privacy_overrides *o,
                            struct err *err);

/* Whether the policy pseudonymises any column (so privacy_policy_apply() needs a key). */
bool privacy_policy_needs_key(const struct privacy_policy *p);

/* ---- The pseudonymisation key ---------------------------------------------------------- */

/* A key for HMAC-SHA-256 (RFC 2104, FIPS 198-1 with SHA-256), len bytes. */
struct privacy_key {
    unsigned char bytes[PRIVACY_KEY_MAX];
    size_t len;
};

/*
 * Reads a key file: its bytes exactly are the key (PRIVACY_KEY_MIN to PRIVACY_KEY_MAX of
 * them; `head -c 32 /dev/urandom > k` makes one). A file that group or others may read or
 * write is refused ("chmod 600 it"), as is a missing one. -ERR_VALIDATION, err->field
 * "key_file".
 */
int privacy_key_load(struct privacy_key *k, const char *path, struct err *err);

/*
 * Creates the key file at path with PRIVACY_KEY_BYTES random bytes (libsodium), mode
 * 0600, when there is none (*created true); an existing file is kept untouched (*created
 * false; created may be NULL). -ERR_INTERNAL when it cannot be written.
 */
int privacy_key_create(const char *path, bool *created, struct err *err);

/* The portal's key file: DIR/privacy.key (new string). */
char *privacy_key_portal_path(const char *portal_dir);

/* Wipes a key (sodium_memzero). */
void privacy_key_wipe(struct privacy_key *k);

/*
 * The pseudonym of value (len bytes) under key: HMAC-SHA-256(key, value) (libsodium
 * crypto_auth_hmacsha256), written as lower-case hex, its first hexlen characters (8 to
 * 64, even), after prefix (may be NULL). out needs strlen(prefix) + hexlen + 1 bytes.
 * The same value and key always give the same pseudonym.
 */
void privacy_pseudonym(const struct privacy_key *key, const char *value, size_t len,
                       const char *prefix, unsigned hexlen, char *out);

/*
 * Masks a UTF-8 value: its first keep_first and last keep_last code points kept, every
 * other code point replaced by mask_char (a UTF-8 character). When keep_first + keep_last
 * reaches the value's length, every code point is masked (nothing is left whole). An
 * empty value stays empty. Returns a new string.
 */
char *privacy_mask(const char *value, unsigned keep_first, unsigned keep_last,
                   const char *mask_char);

/* ---- Application ------------------------------------------------------------------------ */

/* What privacy_policy_apply() did. */
struct privacy_outcome {
    bool found;          /* false: no generalisation satisfies the models (nothing written) */
    uint64_t records;    /* records read */
    uint64_t suppressed; /* records suppressed by the search */
    uint64_t classes;    /* equivalence classes kept (0 without quasi-identifiers) */
    uint64_t k_reached;  /* the smallest kept class (0 without quasi-identifiers) */
    json_t *report;      /* the report (owned: json_decref()); see privacy_policy_apply() */
};

/*
 * Applies policy p to the table at input (any format src/ingest reads; every field read
 * as text) and writes the result as CSV (RFC 4180, CRLF, header of field ids) to output
 * (NULL: nothing written). Steps: columns named by the policy are looked up (by field id,
 * else header text); per column, top/bottom coding, then rounding, then its action
 * (suppressed columns are dropped); then, when there are generalised quasi-identifiers,
 * the optimal generalisation under the models (anon_search(); records of suppressed
 * classes get "*" in every quasi-identifier). key is needed when the policy pseudonymises
 * (privacy_policy_needs_key()), else may be NULL. The report (out->report) is the JSON
 * `kaifang anonymize --json` prints: "columns" ({column: {"action", and its parameters,
 * never a key or a raw value}}), and with quasi-identifiers "levels", "heights",
 * "records", "suppressed", "suppression_limit", "classes", "min_class", "k", "metric",
 * "score", "search_seconds", "search_cpu_seconds", "load_seconds", "nodes", "checked", "stopped",
 * "pruned", "risk" and "utility" (each {"before", "after"}). Errors: -ERR_VALIDATION naming the
 * policy member or the column and line ("columns[0].name: column \"dob\" not found", "column
 * \"age\", line 7:
 * \"abc\" is not a number (columns[3].top)"), ingest's errors, -ERR_INTERNAL when output
 * cannot be written. out->found false with return 0 when no generalisation satisfies the
 * models. Release out with privacy_outcome_release().
 */
int privacy_policy_apply(const struct privacy_policy *p, const char *input, const char *output,
                         const struct privacy_key *key, struct privacy_outcome *out,
                         struct err *err);

void privacy_outcome_release(struct privacy_outcome *o);

#endif
