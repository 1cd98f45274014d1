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

#include "access/access.h"
#include "catalog/catalog.h"
#include "core/err.h"
#include "datastore/datastore.h"
#include "ingest/ingest.h"

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

/* The stop flag of c's datastore, for ds_ingest_run(); NULL when c has none. */
const atomic_bool *ds_cancel_flag(struct catalog *c);

/* Whether c's datastore runs a worker (xloader_submit queues; otherwise it ingests at once). */
bool ds_worker_running(struct catalog *c);

/* Queues resource_id for the worker as user (no status change: the caller set
 * "pending"). */
void ds_queue_push(struct datastore *d, const char *resource_id, const char *user);

#endif
