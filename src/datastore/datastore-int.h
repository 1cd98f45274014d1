/*
 * datastore-int.h - what the files of src/datastore/ share (not for other modules).
 *
 * Shared by datastore.c (the module object, the ingest worker), ingest.c (datastore_ingest,
 * xloader_submit/status, re-typing), dump.c (dumps) and the DataStore actions (actions.c,
 * params.c, records.c). docs/internals/datastore.md.
 */
#ifndef KAIFANG_DATASTORE_DATASTORE_INT_H
#define KAIFANG_DATASTORE_DATASTORE_INT_H

#include <jansson.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "access/access.h"
#include "catalog/catalog.h"
#include "core/buf.h"
#include "core/err.h"
#include "datastore/datastore.h"
#include "ingest/ingest.h"
#include "privacy/detect.h"
#include "store/store-datastore.h"

/* ---- Ingest (ingest.c) ----------------------------------------------------------------
 *
 * The table meta an ingest stores (store_ds_build_commit; datastore_info shows it):
 *   {"source": {"sha256", "filename", "format", "encoding", "encoding_detected",
 *               "delimiter", "sheet", "skipped_rows", "ragged_rows"},
 *    "fields_info": {"<field id>": {"label", "notes"}},   the data dictionary
 *    "options": {…},                                      the ingest options used
 *    "ingested_at": "<CKAN timestamp>"}
 * Whoever rewrites the meta (datastore_create with "info") keeps the keys it does not
 * change.
 *
 * The status record (store_ds_status_put) of a resource:
 *   {"status": "pending" | "running" | "complete" | "error",
 *    "user": the name of the actor who asked (the worker acts as them),
 *    "options": the ingest options as xloader_submit takes them (encoding, format,
 *               delimiter, sheet, skip_rows, lenient, fields), kept for the next ingest,
 *    "created", "last_updated": CKAN timestamps,
 *    "error": null | {"message", "line", "column"},
 *    "report": the last report of datastore_ingest (datastore.h)}
 */

/*
 * Re-ingests a resource's source file with new field types (datastore_create with fields
 * whose types differ from the table's): fields is [{"id", "type", "info"?}] by field id
 * (ids not in the file: -ERR_VALIDATION, field "fields"; types as dstype_parse() reads
 * them). The source is the resource's uploaded file when it is the one last ingested,
 * else the content-addressed copy of the last ingest's source in files/; neither:
 * -ERR_VALIDATION naming "fields". The other options are those of the last ingest. The
 * new types are kept in the status record's options for later ingests. Synchronous;
 * checks that a may change the resource; errors as datastore_ingest().
 */
int ds_retype(struct catalog *c, const struct actor *a, const char *resource_id,
              const json_t *fields, struct err *err);

/*
 * datastore_ingest() as the worker, xloader_submit and re-typing run it:
 *   trigger       what asked for it, kept in the status record: "upload" (the API after
 *                 an upload), "submit" (xloader_submit), "retype", "cli"
 *   loose_fields  ids of r->fields that are not columns of the file are skipped rather
 *                 than refused (types kept from an earlier file, applied to a new one)
 *   cancel        the worker's stop flag, checked between rows (NULL: never). A
 *                 cancelled ingest aborts its build, leaves the status "pending" and
 *                 returns -ERR_UNAVAILABLE.
 * err may be NULL.
 */
int ds_ingest_run(struct catalog *c, const struct actor *a,
                  const struct datastore_ingest_request *r, const char *trigger, bool loose_fields,
                  const atomic_bool *cancel, json_t **report, struct err *err);

/*
 * Reads xloader_submit's ingest options from a JSON object (values as JSON or as query
 * string text): encoding, format, delimiter (one character, or "tab"), sheet (name or
 * 1-based index), skip_rows (-1 … LIMIT_INGEST_TITLE_ROWS * 1000), lenient, fields.
 * Strings in *o point into opts (borrowed: keep opts alive while *o is used); *fields
 * (may be NULL) gets the "fields" array, borrowed, or NULL. -ERR_VALIDATION naming the
 * option. opts NULL: the defaults.
 */
int ds_options_parse(const json_t *opts, struct ingest_options *o, const json_t **fields,
                     struct err *err);

/* Sets the status record of resource_id (stolen) and the resource's datastore_status
 * (keeping datastore_active) in one transaction. */
int ds_status_set(struct catalog *c, const struct actor *a, const char *resource_id, json_t *status,
                  struct err *err);

/* ---- The worker (datastore.c) ----------------------------------------------------------- */

/* ---- privacy.c: the scan of each ingested table (docs/internals/privacy-gate.md) ---- */

/*
 * The privacy report of a table just built for resource_id from the file with SHA-256
 * source_sha256 (named filename) by user publisher: sc is the finished scan of its rows
 * (detect_scan_finish() done), finfo the table's data dictionary ({"<field id>":
 * {"privacy_class"?, …}}, may be NULL) whose declared classes are applied
 * (ds_privacy_declare()); the k its quasi-identifiers reach is counted from the stored
 * table (one read of those columns). *out: {"resource_id", "source_sha256", "filename",
 * "publisher", "scanned_at", "rows", "columns": [the scan's columns, each with
 * "detected" and, when declared, "declared"], "direct_identifiers",
 * "quasi_identifiers", "sensitive", "k" (null without quasi-identifiers or rows),
 * "classes", "rows_below_k" ({k: rows} for the portal's k)}, new reference. Errors: the
 * store's.
 */
int ds_privacy_report(struct catalog *c, const char *resource_id, const struct detect_scan *sc,
                      const char *source_sha256, const char *filename, const char *publisher,
                      const json_t *finfo, json_t **out, struct err *err);

/*
 * Applies the classes declared in the data dictionary finfo ({"<field id>":
 * {"privacy_class": "direct_identifier" | "quasi_identifier" | "sensitive" | "other"}},
 * may be NULL) to a report's columns (docs/internals/privacy-gate.md, "Declared
 * classes"): each column keeps what the detectors found under "detected" (and
 * "detected_reason"), gets "declared" when one is declared, and its "class" is the one
 * of the two that the gate guards more (detect_class_rank(); "reason": "declared" when
 * the declaration raised it). A declaration below the detected class is shown, never
 * applied: the gate blocks as detected until an approver overrides it. Rebuilds
 * "direct_identifiers", "quasi_identifiers" and "sensitive". Returns whether the
 * quasi-identifiers changed (k must then be counted again). Pure.
 */
bool ds_privacy_declare(json_t *report, const json_t *finfo);

/* Checks the "privacy_class" of field id's data dictionary entry (v; absent or null is
 * fine): -ERR_VALIDATION, field "fields", naming the field and the four classes, for
 * anything but one of them. */
int ds_privacy_class_check(const char *id, const json_t *v, struct err *err);

/*
 * After the data dictionary of resource_id's table changed (meta: the table's new meta,
 * its "fields_info"), its stored report with the declarations applied again and, when
 * the quasi-identifiers changed, k counted again from the table: *out (new reference), or
 * NULL when the table has no report (never scanned). Stores nothing: the caller puts it
 * in its transaction. Errors: the store's.
 */
int ds_privacy_redeclare(struct catalog *c, const char *resource_id, const json_t *meta,
                         json_t **out, struct err *err);

/* Scans the file at path as a table (named filename for its format), applies the
 * declared classes of finfo (a data dictionary, may be NULL) and counts the classes of
 * the quasi-identifiers: *report as ds_privacy_report() makes it (resource_id ""), or
 * an unscanned report (ds_privacy_unscanned()) when it cannot be read as a table. */
void ds_privacy_scan_table(struct catalog *c, const char *path, const char *filename,
                           const char *sha256_hex, const char *publisher, const json_t *finfo,
                           json_t **report);

/* ---- privacy-files.c: files that are not tables (privacy-gate.md) ------------------ */

/* A report saying the file could not be scanned: {"resource_id": "", "source_sha256",
 * "filename", "publisher", "scanned_at", "rows": 0, "columns": [], "unscanned": why}
 * (the gate blocks it). New reference. */
json_t *ds_privacy_unscanned(const char *filename, const char *sha256_hex, const char *publisher,
                             const char *why);

/* Whether filename may be text not named as a table: no extension, or .txt, .dat,
 * .text, .asc, .prn (case-insensitive). */
bool ds_privacy_text_named(const char *filename);

/*
 * Scans a file that is not named as a table (path, uploaded as filename): text named so
 * (ds_privacy_text_named()) as a delimited table, else line by line as free text
 * ("read_as": "lines"); an archive or compressed file (by name or first bytes,
 * ingest_archive_named/_sniff) member by member, at most LIMIT_ARCHIVE_DEPTH deep and
 * LIMIT_ARCHIVE_BYTES copied out into <files>/tmp: the report of the member the gate
 * blocks first (members judged with personal_data = personal), else of the member with
 * the smallest k, with "archive_member" (its path in the archive) and
 * "archive_members_scanned". Unreadable text, a broken, encrypted, too large or too
 * deeply nested archive: an unscanned report. NULL when the gate reads nothing of the
 * file (a PDF, an image, an archive of such files). New reference.
 */
json_t *ds_privacy_scan_other(struct catalog *c, const char *path, const char *filename,
                              const char *sha256_hex, const char *publisher, bool personal);

/* The catalog's privacy_scan hook (catalog.h): scans the uploaded file of resource (a
 * resource dict) that the datastore would ingest; *report NULL when it is not such a
 * file or cannot be read as a table. Returns 0. */
int ds_privacy_scan_resource(struct catalog *c, const json_t *resource, json_t **report);

/*
 * The privacy report of resource_id's table as it is after a write through the API
 * (datastore_create with records, datastore_upsert): every row of the stored table (when
 * it has one) and the nrows new records (values: nrows × ncols, the columns named by cols,
 * fields of the table or new ones), scanned as an ingest scans (detect_scan_row()), finfo
 * applied (ds_privacy_declare()) and the classes of the quasi-identifiers counted
 * (kclass). Called before the write it is the table the write would leave, exactly for an
 * insert or a new table; for an upsert or update the replaced rows are counted too (the
 * old values stay in the scan); called after the write with nrows 0 it is exact.
 * source_sha256: the previous report's, or the given one for a table never scanned (the
 * digest of the write that makes it), so that an override stays bound across writes.
 * Cost: two reads of every row of the table (the scan, then the quasi-identifiers);
 * memory grows with the distinct combinations of quasi-identifiers, not the rows.
 * *out: as ds_privacy_report()'s, new reference. Errors: the store's.
 */
int ds_privacy_write_report(struct catalog *c, const char *resource_id, const char *const *cols,
                            size_t ncols, const struct dsvalue *values, size_t nrows,
                            const json_t *finfo, const char *publisher, const char *source_sha256,
                            json_t **out, struct err *err);

/*
 * The publish gate on a write through the API: when resource_id belongs to a dataset
 * whose data is public (catalog_data_public()) and report (ds_privacy_write_report(),
 * borrowed) is blocked (catalog_privacy_gate(), with "personal_data" of the resource and
 * dataset, and the override on record for the table's file), -ERR_VALIDATION (field
 * "privacy", the verdict's message) and *refused = {"resource_id", "privacy_gate",
 * "next_steps"} (new reference) for the 409's error object. Else 0 and *refused NULL:
 * private datasets are never refused (their report is stored and gates publication).
 */
int ds_privacy_write_check(struct catalog *c, const char *resource_id, const json_t *report,
                           json_t **refused, struct err *err);

/* Stores report (borrowed) as resource_id's, inside the caller's transaction, keeping
 * the override and transformations of the previous report when it was of the same file. */
int ds_privacy_store(struct catalog *c, const char *resource_id, json_t *report, struct err *err);

/* The stop flag of c's datastore, for ds_ingest_run(); NULL when c has none. */
const atomic_bool *ds_cancel_flag(struct catalog *c);

/* Whether c's datastore runs a worker (xloader_submit queues; otherwise it ingests at once). */
bool ds_worker_running(struct catalog *c);

/* Queues resource_id for the worker as user (no status change: the caller set
 * "pending"). */
void ds_queue_push(struct datastore *d, const char *resource_id, const char *user);

/* ---- The DataStore API's parameters (params.c) -----------------------------------------
 *
 * Parsers of what clients send to datastore_search, datastore_delete, datastore_create
 * and the dumps (CKAN 2.10 docs, "DataStore extension: API reference"): untrusted input,
 * fuzzed by tests/fuzz/fuzz-datastore-params.c. Names are checked against the table's
 * fields, never put in SQL by this module (the store generates identifiers); values are
 * converted to the canonical text of the field's type (core/dstype.h) and bound by the
 * store. Errors are -ERR_VALIDATION naming the parameter (err->field "sort", "fields",
 * "filters", "q", "records" …) with the offending name in quotes, as CKAN's ("field
 * \"x\" not in table"). docs/internals/datastore.md, "API".
 */

/* Stable copies of texts: a list of blocks, so that pointers stay valid as it grows. */
struct ds_pool {
    struct ds_pool_block *head;
};
#define DS_POOL_INIT                                                                               \
    {                                                                                              \
        NULL                                                                                       \
    }

/* A NUL-terminated copy of s[0..len) that lives until ds_pool_release(). */
const char *ds_pool_add(struct ds_pool *p, const char *s, size_t len);
void ds_pool_release(struct ds_pool *p);

/* A table as the parsers see it: its fields in order, without "_id" (borrowed). */
struct ds_table {
    const struct store_ds_field *fields;
    size_t nfields;
};

/* Finds the field named name[0..len) of t, "_id" included (type int8): 0 with *id (the
 * table's own string, or the static "_id") and *type; -1 when none. */
int ds_table_field(const struct ds_table *t, const char *name, size_t len, const char **id,
                   enum dstype *type);

/*
 * The text a JSON value stands for, as an ingest cell (src/ingest/ingest.h): a string is
 * TEXT, a number NUMBER (an integer's decimal digits; a real's shortest text that reads
 * back as the same double, "0.1" and not "0.10000000000000001": jansson keeps no number
 * text, so "315.70" sent as a JSON number arrives as 315.7: send exact decimals as
 * strings), true/false BOOL, an object or array JSON (compact text), null EMPTY. The
 * text lives in the cell or in pool.
 */
void ds_json_cell(const json_t *v, struct ds_pool *pool, struct ingest_cell *cell);

/*
 * Converts a JSON value for a field of type t into *out (text in pool): null → NULL; ""
 * → NULL, except for text fields, which keep the empty string (CKAN); otherwise
 * ingest_value_convert(). Stricter than an ingest: the missing-value tokens ("NA",
 * "null", "-" …) are values, so they fail a typed field instead of becoming NULL.
 * -ERR_VALIDATION "\"x\" is not a valid <type>" (err->field left empty for the caller).
 */
int ds_value_from_json(enum dstype t, const json_t *v, struct ds_pool *pool, struct dsvalue *out,
                       struct err *err);

/* ds_value_from_json() for a cell: out->s may point into cell->s or scratch
 * (INGEST_SCRATCH bytes), so it lives as long as both. */
int ds_cell_convert(enum dstype t, const struct ingest_cell *cell, char *scratch,
                    struct dsvalue *out, struct err *err);

/* Reads an optional parameter, given as JSON or as query-string text ("10", "true"):
 * absent, null or "" leaves the default. -ERR_VALIDATION naming key. */
int ds_param_int(const json_t *params, const char *key, int64_t min, int64_t max, int64_t def,
                 int64_t *out, struct err *err);
int ds_param_bool(const json_t *params, const char *key, bool def, bool *out, struct err *err);
/* A string parameter: absent or null gives NULL; anything but a string is refused. */
int ds_param_str(const json_t *params, const char *key, const char **out, struct err *err);

/*
 * "sort": a string of clauses separated by commas ("a desc, b"), each a field name or
 * "_id" and an optional direction asc | desc (any case; asc when none); a name in double
 * quotes may hold commas, spaces and the words asc/desc ("\"x, y\" desc"). Also a JSON
 * array of clause strings, or a query-string value holding one ("[\"a desc\"]"). At most
 * LIMIT_DATASTORE_FIELDS + 1 clauses. *out (free()) points at t's names; *n 0 for an
 * empty sort. Errors name "sort": an empty clause, an unclosed quote, a name that is
 * not a field ("field \"x\" not in table"; functions such as "sum(a)" are names too).
 */
int ds_sort_parse(const json_t *sort, const struct ds_table *t, struct store_ds_sort **out,
                  size_t *n, struct err *err);

/* Appends a sort as text ds_sort_parse() reads back the same: "\"a\" desc, \"_id\" asc"
 * (field ids hold no '"': CKAN's rule, which datastore_create and the ingest enforce). */
void ds_sort_format(const struct store_ds_sort *s, size_t n, struct buf *out);

/*
 * "fields": the fields to return, in order: "a,b" (names trimmed; double quotes as in
 * sort), a JSON array of names, or a query-string value holding one. "_id" allowed; a
 * name given twice is refused; "" or [] mean all (*n 0). *out (free()) points at t's
 * names. Errors name "fields".
 */
int ds_fields_parse(const json_t *fields, const struct ds_table *t, const char ***out, size_t *n,
                    struct err *err);

/* Filters converted for the store: f[i].values point into this structure. */
struct ds_filters {
    struct store_ds_filter *f;
    size_t n;
    struct ds_pool pool;
    json_t *echo; /* {field: [canonical values]}: what was asked, for the ledger digest */
};

/*
 * "filters": {field: value | [values]} (or a query-string value holding that object);
 * rows match when each named field equals one of its values (CKAN). "_id" allowed. Each
 * value is converted to the field's type (ds_value_from_json): one that cannot be of
 * the type is refused naming the field; null matches nothing (SQL's = NULL); [] matches
 * nothing. At most LIMIT_DATASTORE_FILTER_VALUES values per field; objects as values
 * (CKAN 2.11's operators) are refused. Errors name "filters". Release with
 * ds_filters_release() (also after a failure).
 */
int ds_filters_parse(const json_t *filters, const struct ds_table *t, struct ds_filters *out,
                     struct err *err);
void ds_filters_release(struct ds_filters *f);

/* Full-text conditions for the store. */
struct ds_text {
    struct store_ds_text *t;
    size_t n;
    struct ds_pool pool;
};

/*
 * "q": a string (every token anywhere in the row's text fields) or {field: text} (each
 * in that field, which must be a text field), or a query-string value holding such an
 * object. Tokens come from catalog_search_text(), the catalog's tokenizer, and are
 * AND'ed (PostgreSQL's plainto_tsquery). A q without tokens ("", "!!!") sets no
 * condition. plain false (to_tsquery's syntax) is accepted only for text without its
 * operators (& | ! ( ) : * < >), else refused naming "q". At most LIMIT_SEARCH_QUERY bytes
 * per text. Release with ds_text_release() (also after a failure).
 */
int ds_q_parse(const json_t *q, bool plain, const struct ds_table *t, struct ds_text *out,
               struct err *err);
void ds_text_release(struct ds_text *x);

/* records_format of datastore_search. */
enum ds_records_format {
    DS_RECORDS_OBJECTS = 0,
    DS_RECORDS_LISTS,
    DS_RECORDS_CSV,
    DS_RECORDS_TSV,
};
const char *ds_records_format_name(enum ds_records_format f);

/*
 * Everything datastore_search (and a dump) asks of a table, parsed against it: the
 * store query and what it points to, and what the answer echoes. resource_id: the
 * table's resource (read permission is the caller's to check). params: datastore_search's
 * parameters, JSON or query-string text ("resource_id" and "id" are skipped: the caller
 * read them); an unknown parameter is refused naming it. dump: a dump's defaults (no
 * limit unless given, no cap, no total). -ERR_NOT_FOUND when the resource has no table.
 * Free with ds_query_params_free().
 */
struct ds_query_params {
    struct store_ds_query q;
    char *resource_id;
    struct store_ds_info info; /* the table when parsed */
    struct store_ds_field *tfields;
    struct ds_table table;
    const char **fields;
    struct store_ds_sort *sort;
    struct ds_filters filters;
    struct ds_text text;
    enum ds_records_format format;
    bool include_total;
    json_t *echo; /* the parameters as CKAN echoes them: {"filters", "q", "limit" …} */
};

int ds_query_params_parse(struct catalog *c, const char *resource_id, json_t *params, bool dump,
                          struct ds_query_params **out, struct err *err);
const struct store_ds_query *ds_query_params_query(const struct ds_query_params *p);
void ds_query_params_free(struct ds_query_params *p);

/* The table's fields as ds_table_field() reads them, from a store_ds_info's "fields"
 * ([{"id", "type"}]): *out (free()) points into info. */
int ds_table_from_info(const struct store_ds_info *info, struct store_ds_field **out,
                       struct ds_table *t, struct err *err);

/* ---- Records out (records.c) -----------------------------------------------------------
 *
 * Rows of a store cursor as CKAN's DataStore writes them. JSON: int8 as integers,
 * numeric as numbers written from their exact text (CKAN's PostgreSQL gives the same
 * through row_to_json), bool as true/false, json as the stored JSON, NULL as null,
 * everything else as strings (dates "YYYY-MM-DD", timestamps ISO 8601). jansson cannot
 * hold such numbers, so the exact text is spliced into the answer (datastore_search_text);
 * DS_NUMBERS_JANSSON writes, for the json_t form of an action, only numbers jansson can
 * read back (others as strings). docs/internals/datastore.md, "API".
 */
enum ds_json_numbers {
    DS_NUMBERS_EXACT = 0,
    DS_NUMBERS_JANSSON,
};

/* A JSON string of s[0..len) through jansson's encoder (bytes that are not UTF-8 become
 * U+FFFD), appended to out. */
void ds_json_string(struct buf *out, const char *s, size_t len);

/* One value of a field of type t as JSON text, appended to out. */
void ds_json_value(struct buf *out, enum dstype t, const struct dsvalue *v,
                   enum ds_json_numbers mode);

/*
 * Writes every row of cur as records: objects ({"<column>": value, …}; a column name
 * given twice keeps its first place and its last value, as a Python dict would) or lists
 * ([value, …]) as one JSON array; csv or tsv as CKAN's PostgreSQL COPY writes them (no
 * header, "\n" after each row, fields quoted when they hold the delimiter, a quote, CR
 * or LF, or are the empty string; NULL is an empty field; values in their canonical
 * text). *nrows (may be NULL) gets the rows. -ERR_TOO_LARGE when out reaches its
 * maximum; the cursor's errors otherwise.
 */
int ds_records_write(struct store_ds_cursor *cur, enum ds_records_format f,
                     enum ds_json_numbers mode, struct buf *out, uint64_t *nrows, struct err *err);

/* ---- The actions (actions.c, search.c) -------------------------------------------------- */

/* Refuses a parameter of params that is not one of keys[n]: -ERR_VALIDATION naming it,
 * "\"x\" is not a parameter of <action>". */
int ds_check_keys(const json_t *params, const char *action, const char *const *keys, size_t n,
                  struct err *err);

/* The resource of an action: "resource_id", else "id" (CKAN's datastore_search and
 * datastore_info take either); missing: -ERR_VALIDATION "Missing value" naming
 * "resource_id". *rid borrowed from params. */
int ds_resource_id(const json_t *params, const char **rid, struct err *err);

/* ---- Restricted data (restricted.c; docs/internals/access.md) ------------------------ */

/* A read of a resource's data as ds_restricted_begin() prepared it. */
struct ds_restricted {
    json_t *dataset; /* the package dict as stored */
    json_t *grant;   /* the grant the read runs under (restricted datasets), else NULL */
    json_t *params;  /* the parameters to run under the grant, else NULL (run as given) */
};

/*
 * Resolves resource_id for a read of its data by a, what naming the read
 * ("datastore_search", "datastore_search_sql", "dump"): 404 as
 * catalog_resource_readable(); a public dataset: 0 with r->grant NULL. A restricted one:
 * datastore_search needs an approved grant of a valid today, and runs with r->params
 * (the grant's columns and rows applied: grant.h); anything else, or a read outside the
 * grant, is -ERR_AUTH, recorded as a "restricted_read_refused" ledger entry when a is
 * signed in (query: params). Release r with ds_restricted_release() in every case.
 */
int ds_restricted_begin(struct catalog *c, const struct actor *a, const char *resource_id,
                        const char *what, json_t *params, struct ds_restricted *r, struct err *err);

/* After a read under a grant returned rows rows: its "restricted_read" ledger entry
 * (query digest of r->params). No grant: nothing, 0. -ERR_INTERNAL when the entry cannot
 * be written: the caller must not hand out the rows. */
int ds_restricted_end(struct catalog *c, const struct actor *a, const char *resource_id,
                      struct ds_restricted *r, uint64_t rows, struct err *err);
void ds_restricted_release(struct ds_restricted *r);

/*
 * The parameters a grantee's datastore_search runs with (params borrowed, the client's):
 * "fields" within the grant's columns (all of them when none are asked for), "sort" and
 * "q" (only the {column: text} form: a plain q matches every column) within them too,
 * and the grant's row filter added to the caller's "filters" (whose values on a column
 * the grant filters must be among the grant's). Sets *eff (new) or returns -ERR_AUTH
 * naming what is outside the grant, with a short reason for the ledger in *reason, or
 * -ERR_VALIDATION for a parameter of the wrong shape. grant: a stored grant record
 * (grant.h). table_fields: the field ids of the table read (borrowed), or NULL to take
 * the grant's columns as they are; given, the grant's columns are those of its columns
 * the table has (none: -ERR_AUTH), and a grant whose row filter names a column the
 * table lacks does not cover the read (-ERR_AUTH). Pure.
 */
int ds_restricted_narrow(const json_t *grant, const json_t *table_fields, json_t *params,
                         json_t **eff, const char **reason, struct err *err);

/* Records a refused read of restricted data by a signed-in a ("restricted_read_refused",
 * reason a short text); failures are logged. Anonymous callers are not recorded. */
void ds_restricted_refuse(struct catalog *c, const struct actor *a, const json_t *dataset,
                          const json_t *grant, const char *resource_id, json_t *query,
                          const char *reason);

/* The data dictionary entry ({"label", "notes", …}) of field id in a table's meta,
 * borrowed, or NULL. */
json_t *ds_field_info(const json_t *meta, const char *id);

#endif
