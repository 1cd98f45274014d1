/*
 * datastore.h - the DataStore: resources as typed, queryable tables (CKAN 2.10 docs,
 * "DataStore extension": datastore_create, datastore_upsert, datastore_delete,
 * datastore_info, datastore_search, datastore_search_sql; ckanext-xloader:
 * xloader_submit, xloader_status), the ingest of uploaded files into them, and dumps
 * (/datastore/dump/<resource_id>). docs/internals/datastore.md.
 *
 * The module sits between the API/CLI and the store: it checks who may read or change a
 * resource through the catalog (catalog_resource_authorize), turns parameters into
 * store queries (src/store/store-datastore.h), types files through src/ingest/, and
 * records ingests in the ledger through the catalog (catalog_resource_datastore).
 *
 * Actions have the signature of catalog_action_fn and reach the datastore through
 * c->datastore (catalog.h); errors as in catalog.h (409 naming the field, 404 for a
 * resource the actor may not see, 403 for one it may not change).
 *
 * Thread-safety: every function may be called from any thread at once.
 */
#ifndef KAIFANG_DATASTORE_DATASTORE_H
#define KAIFANG_DATASTORE_DATASTORE_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "access/access.h"
#include "catalog/catalog.h"
#include "core/buf.h"
#include "core/err.h"
#include "ingest/ingest.h"

struct datastore;

/* Sets up the datastore of catalog c (c->datastore points at it; c must outlive it).
 * No thread is started. Free with datastore_free(), which also clears c->datastore. */
struct datastore *datastore_new(struct catalog *c);

/*
 * Starts the ingest worker (the server's: as xloader's job queue): a thread that takes
 * queued resources one at a time and ingests their uploaded file. Resources whose
 * status is "pending" or "running" in the store (a server stopped mid-ingest) are queued
 * again. Stopped and joined by datastore_free().
 */
int datastore_start_worker(struct datastore *d, struct err *err);

/* Stops the worker (the ingest in progress is abandoned, its table not swapped in, its
 * status left "pending" for the next start) and frees d. NULL is a no-op. */
void datastore_free(struct datastore *d);

/* ---- Actions (the CKAN DataStore API) ---------------------------------------------- *
 * datastore_create   resource_id (or resource: {package_id, name …} to create one),
 *                    fields [{"id","type","info"}], records, primary_key, indexes,
 *                    force; on a resource with an ingested file, fields with other
 *                    types re-type the table (a new ingest with those types) and
 *                    "info" alone updates the data dictionary.
 * datastore_upsert   resource_id, records, method (upsert | insert | update), force
 *                    datastore_create with records and datastore_upsert pass the publish
 *                    gate (docs/internals/privacy-gate.md, "Writes through the API"): the
 *                    table they would leave is scanned first; in a public dataset a
 *                    blocked one is refused (-ERR_VALIDATION, field "privacy", nothing
 *                    written, and *result is {"resource_id", "privacy_gate",
 *                    "next_steps"}, the rest of the 409's error object); else the report
 *                    is stored with the write's ledger entry.
 * datastore_delete   resource_id, filters (none: the whole table), force
 * datastore_info     id | resource_id → {"meta": {…}, "fields": [{"id","type",
 *                    "info","schema"}], "primary_key", "count"} (CKAN 2.10's shape, plus
 *                    the ingest report in "meta")
 * datastore_search   resource_id, filters ({field: value | [values]}), q (text, or
 *                    {field: text}), plain, fields, sort ("a desc, b"), limit (default
 *                    100, at most 32000), offset, distinct, include_total,
 *                    records_format (objects | lists | csv | tsv) → {"resource_id",
 *                    "fields", "records", "total", "total_was_estimated", "limit",
 *                    "_links": {"start", "next"}} as CKAN returns them
 * datastore_search_sql  sql → {"records", "fields", "sql", "records_truncated"?}
 * xloader_submit     resource_id, and Kaifang's options: encoding, format, delimiter,
 *                    sheet, skip_rows, lenient, fields (types to use) → queued
 * xloader_status     resource_id → {"status", "error", "last_updated", "task_info"}
 *                    (xloader's shape), with Kaifang's ingest report
 */
int datastore_create(struct catalog *c, const struct actor *a, json_t *params, json_t **result,
                     struct err *err);
int datastore_upsert(struct catalog *c, const struct actor *a, json_t *params, json_t **result,
                     struct err *err);
int datastore_delete(struct catalog *c, const struct actor *a, json_t *params, json_t **result,
                     struct err *err);
int datastore_info(struct catalog *c, const struct actor *a, json_t *params, json_t **result,
                   struct err *err);
int datastore_search(struct catalog *c, const struct actor *a, json_t *params, json_t **result,
                     struct err *err);
int datastore_search_sql(struct catalog *c, const struct actor *a, json_t *params, json_t **result,
                         struct err *err);
/*
 * datastore_search and datastore_search_sql for the HTTP API: the same checks and result,
 * except "records" (objects and lists), which is catalog_splice_token() as a string, and
 * whose JSON text (the array) is appended to records (an initialised buffer) instead: the
 * numbers in it keep their exact stored text, which a json_t cannot hold (jansson has no
 * decimal type). api_ckan_call_text() splices it in, as package_search's datasets. The
 * json_t forms above parse that text back, so numbers jansson cannot hold exactly (more
 * than 17 significant digits, trailing zeros) come out approximated there, and integers
 * past 64 bits as strings. csv and tsv records are a string either way.
 */
int datastore_search_text(struct catalog *c, const struct actor *a, json_t *params, json_t **result,
                          struct buf *records, struct err *err);
int datastore_search_sql_text(struct catalog *c, const struct actor *a, json_t *params,
                              json_t **result, struct buf *records, struct err *err);
int datastore_xloader_submit(struct catalog *c, const struct actor *a, json_t *params,
                             json_t **result, struct err *err);
int datastore_xloader_status(struct catalog *c, const struct actor *a, json_t *params,
                             json_t **result, struct err *err);

/* ---- Ingest ---------------------------------------------------------------------- */
struct datastore_ingest_request {
    const char *resource_id;
    const char *path;     /* the file to read; NULL: the resource's uploaded file */
    const char *filename; /* the publisher's file name (format guess); NULL: from the
                             resource */
    struct ingest_options opts;
    const json_t *fields;          /* types and data dictionary to use instead of the inferred:
                                      [{"id", "type", "info": {"label", "notes"}}] by field id;
                                      NULL: inferred */
    const json_t *transformations; /* what de-identified the file before, for its privacy
                                      report: [{"column", "transformation", …}]; NULL:
                                      nothing said (docs/internals/privacy-gate.md) */
};

/*
 * Ingests a file into the resource's table now (the CLI's `kaifang ingest`, the worker):
 * checks that the actor may change the resource, sets the status "running", types the
 * file (ingest_table_open: both passes), builds the new table aside, and in one catalog
 * transaction swaps it in, sets "datastore_active" and the status "complete", and
 * records a "datastore_ingest" ledger entry. On failure the previous table keeps serving
 * and the status is "error" with the message, line and column. *report (may be NULL):
 * the ingest report (new reference): {"status", "rows", "fields", "format", "encoding",
 * "encoding_detected", "delimiter", "sheet", "skipped_rows", "ragged_rows", "seconds"}
 * or, on failure, {"status": "error", "message", "line", "column"}.
 */
int datastore_ingest(struct catalog *c, const struct actor *a,
                     const struct datastore_ingest_request *r, json_t **report, struct err *err);

/* Whether a resource dict names a file the ingest reads (an upload whose format or file
 * name is CSV, TSV, JSON, NDJSON, XLSX or XLS). */
bool datastore_ingestible(const json_t *resource);

/* Whether the resource (a dict as resource_show gives it) has a table ingested from its
 * current upload ("hash"), with the status "complete": loading the same file again
 * would change nothing (`kaifang load` skips it). */
bool datastore_table_current(struct catalog *c, const json_t *resource);

/*
 * Queues an ingest of the resource's uploaded file by the worker, as the API does after
 * resource_create/resource_update with an ingestible upload: sets the status "pending"
 * (its own transaction) and wakes the worker. Returns at once.
 */
int datastore_ingest_enqueue(struct datastore *d, const struct actor *a, const char *resource_id,
                             struct err *err);

/* Waits until the worker's queue is empty and nothing runs (tests, `kaifang load`). */
void datastore_ingest_wait(struct datastore *d);

/* Removes the table and status of a deleted resource (after resource_delete or
 * dataset_purge). No table: 0. */
int datastore_resource_deleted(struct catalog *c, const char *resource_id, struct err *err);

/*
 * The publish gate on an upload (docs/internals/privacy-gate.md): before resource_create
 * or resource_update (action) stores the file up into a public, active dataset, scans it
 * when it is a table the datastore ingests (privacy/detect.h), applies what the publisher
 * declared (the data dictionary of the table a resource_update replaces, personal_data of
 * the request, resource and dataset) and counts the classes of its quasi-identifiers.
 * When the gate blocks it (a direct identifier in clear, or k below the portal's,
 * c->privacy_k), or it cannot be read (an "unscanned" report): -ERR_VALIDATION (field
 * "privacy", the message naming the file, the dataset, the reasons and the columns) and
 * *held the file's privacy report (new reference, "personal_data" set) for the caller's
 * error (the caller stores nothing of the upload). 0 and *held NULL otherwise, also when
 * the request is wrong in a way the catalog will report. Writes nothing. params
 * borrowed.
 */
int datastore_privacy_precheck(struct catalog *c, const struct actor *a, const char *action,
                               json_t *params, const struct upload *up, json_t **held,
                               struct err *err);

/* ---- Dumps: /datastore/dump/<resource_id>?format=csv|tsv|json|xlsx ---------------- */
struct datastore_dump;

/*
 * Opens a dump of the resource's table for the actor: the whole table, or what the
 * same parameters as datastore_search select (q, filters, fields, sort, limit, offset;
 * every value a string, as from a query string), in format (csv default, tsv, json,
 * xlsx), and bom=true to start CSV/TSV with a UTF-8 BOM for Excel. Streaming: memory
 * does not grow with the table (XLSX is written to a temporary file by libxlsxwriter
 * in constant-memory mode first, then read back). Free with datastore_dump_free().
 */
int datastore_dump_open(struct catalog *c, const struct actor *a, const char *resource_id,
                        json_t *params, struct datastore_dump **out, struct err *err);

/* "text/csv; charset=utf-8", … and the download file name ("<resource_id>.csv"). */
const char *datastore_dump_content_type(const struct datastore_dump *d);
const char *datastore_dump_filename(const struct datastore_dump *d);

/* Up to size bytes of the dump into buf: the count, 0 at the end, -1 on an error (the
 * response is then cut short; the error is logged). */
long datastore_dump_read(struct datastore_dump *d, char *buf, size_t size);
void datastore_dump_free(struct datastore_dump *d);

/*
 * The data dictionary of a resource's table as a Frictionless Table Schema (for
 * datapackage.json and DCAT exports): {"fields": [{"name", "title", "type", "format"?,
 * "description"?}], "missingValues": [""], "primaryKey"?}. -ERR_NOT_FOUND when the
 * resource has no table. No permission check: the caller has decided.
 */
int datastore_table_schema(struct catalog *c, const char *resource_id, json_t **schema,
                           struct err *err);

#endif
