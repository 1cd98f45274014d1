/*
 * catalog.h - datasets, resources, organizations, groups, tags and licences, with the
 * semantics of CKAN's Action API v3 (CKAN 2.10 docs, "API guide" and
 * ckan.logic.action.{get,create,update,patch,delete}).
 *
 * Every action takes its parameters as a JSON object (from a POST body, or from a query
 * string where every value is a string: actions accept "10" where they want 10 and
 * "true" where they want true, as CKAN does) and returns its CKAN "result" value.
 * Validation errors name the field (err->field) and use CKAN's messages where CKAN has
 * one ("That URL is already in use.", "Must be purely lowercase alphanumeric (ascii)
 * characters and these symbols: -_"). Unknown top-level fields are refused (409, naming
 * the field), except under "extras".
 *
 * Every action that writes runs in one store transaction: on any error nothing is
 * changed. Visibility: a private or draft dataset that the actor may not read is
 * reported as not found (404), so its existence does not leak.
 *
 * Thread-safety: a struct catalog is shared by all server threads; the actions are
 * safe to call concurrently.
 */
#ifndef KAIFANG_CATALOG_CATALOG_H
#define KAIFANG_CATALOG_CATALOG_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "access/access.h"
#include "core/buf.h"
#include "core/err.h"
#include "crypto/digest.h"
#include "store/store.h"

struct datastore;

/*
 * A text derived from every public dataset the catalog writes, stored with it in the
 * same transaction (store_dataset.derived), so that a reader need not derive it again:
 * the data.json entry of src/dcat/ (dcat_catalog_derive()). Datasets that are not
 * public and active get none (their old one is removed).
 */
struct catalog_derive {
    /* What the text depends on besides the dataset, stored beside it: a reader that
     * names another key derives the text again (STORE_DERIVED_KEY bytes). */
    uint8_t key[STORE_DERIVED_KEY];
    /* The site URL derive() sees the dataset under (the URLs of uploads and datastore
     * dumps begin with it), instead of the catalog's site_url: so that the text need
     * not depend on the site. Borrowed, static or owned by the hook. */
    const char *site;
    /* Appends the text of doc (the package dict as package_show shows it under site;
     * derive may change it) to out; false when the dataset gets none. Must not touch
     * the store. */
    bool (*derive)(const struct catalog_derive *d, json_t *doc, struct buf *out);
    /* Frees d (catalog_release()). */
    void (*release)(struct catalog_derive *d);
};

struct catalog {
    struct store *store; /* borrowed */
    char *files_dir;     /* owned: <portal>/files, content-addressed uploads */
    char *site_url;      /* owned: "http://127.0.0.1:8080", no trailing slash */
    /* The datastore of this portal (src/datastore/datastore.h), borrowed, or NULL when
     * none was set up: set by datastore_new(), which the server and the CLI call. The
     * catalog never calls into it; it is here so that the API layer, which gets only
     * the catalog, reaches the DataStore actions. */
    struct datastore *datastore;
    /* Owned, or NULL: see struct catalog_derive. */
    struct catalog_derive *derive;
    /* The publish gate's k (config privacy_k; catalog_init sets CATALOG_PRIVACY_K). */
    unsigned privacy_k;
    /* Scans a resource's uploaded file now, for the publish gate when its ingest has not
     * run yet (docs/internals/privacy-gate.md): *report a privacy report, or NULL when the
     * file is not a table. Set by datastore_new() (the catalog knows no table reader);
     * NULL: such a file cannot be published until it is ingested. */
    int (*privacy_scan)(struct catalog *c, const json_t *resource, json_t **report);
};

#define CATALOG_PRIVACY_K 5

/* Sets up c over an open store. files_dir and site_url are copied. */
void catalog_init(struct catalog *c, struct store *s, const char *files_dir, const char *site_url);
void catalog_release(struct catalog *c);

/* An uploaded file, already streamed to a temporary file inside files_dir/tmp by the
 * HTTP layer (or the CLI). The catalog moves it to its content address. */
struct upload {
    const char *tmp_path;     /* borrowed; renamed or unlinked by the catalog */
    const char *filename;     /* client's file name (sanitised by the catalog) */
    const char *content_type; /* client's Content-Type, may be NULL */
    uint64_t size;            /* bytes */
    char sha256_hex[SHA256_HEX_LEN];
};

/* An action: params is borrowed; *result is a new reference on success. */
typedef int (*catalog_action_fn)(struct catalog *c, const struct actor *a, json_t *params,
                                 json_t **result, struct err *err);

/* The actions of the issue, by CKAN name. */
int catalog_package_list(struct catalog *c, const struct actor *a, json_t *params, json_t **result,
                         struct err *err);
int catalog_package_show(struct catalog *c, const struct actor *a, json_t *params, json_t **result,
                         struct err *err);
int catalog_package_search(struct catalog *c, const struct actor *a, json_t *params,
                           json_t **result, struct err *err);

/*
 * catalog_package_search() for a list of results (the web's search page): each element
 * of "results" is the dataset's search summary (catalog_dataset_summary(): name, title,
 * the Chinese title_translated, the organization's name and title, and each resource's
 * format only, as stored; no resource url is made absolute) instead of the whole package dict, or
 * the package dict as stored where the store keeps no summary of the dataset. Same parameters,
 * checks, errors, count and facets.
 */
int catalog_package_search_summaries(struct catalog *c, const struct actor *a, json_t *params,
                                     json_t **result, struct err *err);

/*
 * A dataset's search summary: the compact JSON text (malloc'ed, never NULL) of an object
 * holding, of the stored package dict doc, what a list of search results shows
 * (ui_dataset_item()) and nothing else, each key where doc has it: "name", "title",
 * "title_translated" (of an object, only its "zh_CN" and "zh"), "organization" (of an
 * object, only its "name" and "title") and "resources" (of an array, one object per
 * resource holding its "format" where it has one). Kept with the dataset by
 * dataset_write() (store_dataset.summary).
 */
char *catalog_dataset_summary(const json_t *doc);

/*
 * package_search with the page's datasets as JSON text, for the API's response, which
 * then costs neither a parse nor a dump of each dataset (docs/internals/catalog.md,
 * "package_search as text"). Same parameters, checks and errors as
 * catalog_package_search(); on success *result is its result except "results": an empty
 * array when the page is empty, else an array of one string, catalog_splice_token(),
 * whose JSON encoding the caller replaces, in json_dumps(…, JSON_COMPACT) of a document
 * holding *result, with *results: the page's package dicts, each exactly the bytes
 * json_dumps(dict, JSON_COMPACT) gives for the dict catalog_package_search() returns,
 * joined by ",". results: an initialised buffer, appended to (left as it was on error).
 */
int catalog_package_search_text(struct catalog *c, const struct actor *a, json_t *params,
                                json_t **result, struct buf *results, struct err *err);

/*
 * catalog_package_search_text() for a reader of derived texts (struct catalog_derive):
 * the datasets are shown under site (NULL: c->site_url), and with key (not NULL) *derived
 * gets an array as long as the page (new reference), each element the dataset's derived
 * text of that key (a JSON string of any bytes) or null; results then holds only the
 * datasets whose element is null, in order. *derived NULL: the store keeps no derived
 * texts (results holds every dataset).
 */
int catalog_package_search_derived(struct catalog *c, const struct actor *a, json_t *params,
                                   const char *site, const uint8_t *key, json_t **result,
                                   struct buf *results, json_t **derived, struct err *err);

/*
 * The placeholder of catalog_package_search_text(): "kaifang-splice-" and 32 hex digits
 * of a random 128-bit number drawn once per process, so no client can know it or put it
 * in a value of its own. Only ASCII letters, digits and "-": its JSON encoding is itself
 * between double quotes. Static storage; thread-safe (drawn under pthread_once).
 */
const char *catalog_splice_token(void);

int catalog_package_create(struct catalog *c, const struct actor *a, json_t *params,
                           json_t **result, struct err *err);
int catalog_package_update(struct catalog *c, const struct actor *a, json_t *params,
                           json_t **result, struct err *err);
int catalog_package_patch(struct catalog *c, const struct actor *a, json_t *params, json_t **result,
                          struct err *err);
int catalog_package_delete(struct catalog *c, const struct actor *a, json_t *params,
                           json_t **result, struct err *err);
int catalog_resource_show(struct catalog *c, const struct actor *a, json_t *params, json_t **result,
                          struct err *err);
int catalog_resource_delete(struct catalog *c, const struct actor *a, json_t *params,
                            json_t **result, struct err *err);
int catalog_organization_list(struct catalog *c, const struct actor *a, json_t *params,
                              json_t **result, struct err *err);
int catalog_organization_show(struct catalog *c, const struct actor *a, json_t *params,
                              json_t **result, struct err *err);
int catalog_organization_create(struct catalog *c, const struct actor *a, json_t *params,
                                json_t **result, struct err *err);
int catalog_group_list(struct catalog *c, const struct actor *a, json_t *params, json_t **result,
                       struct err *err);
int catalog_group_show(struct catalog *c, const struct actor *a, json_t *params, json_t **result,
                       struct err *err);
int catalog_group_create(struct catalog *c, const struct actor *a, json_t *params, json_t **result,
                         struct err *err);
int catalog_tag_list(struct catalog *c, const struct actor *a, json_t *params, json_t **result,
                     struct err *err);
int catalog_license_list(struct catalog *c, const struct actor *a, json_t *params, json_t **result,
                         struct err *err);
int catalog_status_show(struct catalog *c, const struct actor *a, json_t *params, json_t **result,
                        struct err *err);

/* resource_create / resource_update take an optional upload (NULL: params["url"] is a
 * link). With an upload, url_type becomes "upload", and size, hash ("sha256:<hex>") and
 * mimetype are set; the dataset stores only the file name in url, and every action that
 * returns the resource (these two, resource_show, package_show/search/create/update/patch,
 * organization_show and group_show with include_datasets) shows url as
 * <c->site_url>/dataset/<id>/resource/<rid>/download/<filename>, so links follow the
 * server that shows them (CKAN stores and dictizes uploads the same way). Input that
 * sends an upload's url back unchanged (that absolute url, or the stored file name) keeps
 * the upload; another url makes the resource a link.
 * On every return, success or failure, up->tmp_path has been renamed or unlinked; when the
 * action fails after moving it to its content address, the file is removed again if the
 * action created it (never when the same content was stored already). */
int catalog_resource_create(struct catalog *c, const struct actor *a, json_t *params,
                            const struct upload *up, json_t **result, struct err *err);
int catalog_resource_update(struct catalog *c, const struct actor *a, json_t *params,
                            const struct upload *up, json_t **result, struct err *err);

/* A file to serve for a resource download. */
struct resource_file {
    char *path;     /* owned: absolute path of the content-addressed file */
    char *mimetype; /* owned */
    char *filename; /* owned */
    uint64_t size;
    char sha256_hex[SHA256_HEX_LEN];
    /* The dataset is restricted (access_level "restricted public" or "non-public"): the
     * file is for the ingest only, never served (docs/internals/access.md). */
    bool restricted;
    /* path is the file encrypted at rest (filecrypt.h): catalog_resource_file_plain()
     * gives a readable copy. */
    bool encrypted;
    bool temporary; /* path is a decrypted copy that resource_file_release() removes */
};

/*
 * The path of a file encrypted at rest is its ciphertext; for the readers inside the
 * portal that need the bytes (the ingest, the privacy scan) this decrypts it into a
 * temporary file of <files>/tmp (mode 0600), which f->path then names and
 * resource_file_release() removes. Not encrypted: nothing to do. Never call it to serve
 * a download. -ERR_VALIDATION when the file does not decrypt, -ERR_INTERNAL on I/O.
 */
int catalog_resource_file_plain(struct catalog *c, struct resource_file *f, struct err *err);

/* The key file of files encrypted at rest: <portal>/restricted.key beside files_dir.
 * Free the result. */
char *catalog_file_key_path(const struct catalog *c);

/* Resolves /dataset/<dataset>/resource/<resource_id>/download[/<name>] for an actor:
 * -ERR_NOT_FOUND when the dataset or resource is absent, invisible to the actor, or the
 * resource is a link and not an upload. Release with resource_file_release(). */
int catalog_resource_file(struct catalog *c, const struct actor *a, const char *dataset,
                          const char *resource_id, struct resource_file *f, struct err *err);
void resource_file_release(struct resource_file *f);

/*
 * Resolves resource_id for an actor that wants to read (write false) or change (write
 * true) it, as resource_show and resource_update decide (CKAN's resource_show /
 * resource_update auth functions): -ERR_NOT_FOUND when the resource is absent or its
 * dataset invisible to the actor (private, draft or deleted), -ERR_AUTH when visible
 * but not editable. On success *resource and *dataset (either may be NULL) are new
 * references to the resource dict (as resource_show shows it) and the package dict.
 */
int catalog_resource_authorize(struct catalog *c, const struct actor *a, const char *resource_id,
                               bool write, json_t **resource, json_t **dataset, struct err *err);

/*
 * As catalog_resource_authorize(write false) for a read of the resource's data, without
 * shaping anything: *dataset is a new reference to the package dict as stored (its
 * "access_level" says whether the data is restricted: src/access/grant.h). Same errors.
 */
int catalog_resource_readable(struct catalog *c, const struct actor *a, const char *resource_id,
                              json_t **dataset, struct err *err);

/*
 * Sets the datastore fields of a resource in its dataset (CKAN's "datastore_active" and
 * Kaifang's "datastore_status": "pending" | "running" | "complete" | "error"), without
 * changing metadata_modified (CKAN's xloader does the same through resource_patch, which
 * does bump it; Kaifang keeps the dates for the metadata). Write: call inside the
 * caller's store transaction; records a ledger entry of type "datastore_ingest" with
 * entry (borrowed: {"resource_id", "source_sha256", "rows", "fields_sha256"}) when entry
 * is not NULL. -ERR_NOT_FOUND when the resource is gone.
 */
int catalog_resource_datastore(struct catalog *c, const struct actor *a, const char *resource_id,
                               bool active, const char *status, json_t *entry, struct err *err);

/*
 * Records a ledger entry of type ("datastore_create", "datastore_upsert",
 * "datastore_delete": a string literal) for a change of resource_id's datastore table by
 * the DataStore API, inside the caller's store transaction: org the dataset's
 * organization, objects {"dataset", "name" | "visibility", "resource"} (a private or
 * draft dataset only by its id), digest borrowed and hashed (its canonical JSON; never
 * written in clear). a must be signed in. -ERR_NOT_FOUND when the resource is gone,
 * -ERR_INTERNAL when the entry cannot be staged. docs/internals/ledger-entries.md.
 */
int catalog_resource_record(struct catalog *c, const struct actor *a, const char *resource_id,
                            const char *type, json_t *digest, struct err *err);

/*
 * Splits text into search tokens for the full-text index and for queries, the same way
 * for both: ASCII case-folded words; runs of CJK ideographs become overlapping
 * bigrams plus single characters (so one- and two-character Chinese queries match,
 * as CJK bigram analysers do). Tokens are appended to out separated by spaces.
 */
void catalog_search_text(const char *text, struct buf *out);

/* The Open Definition licence list (CKAN's license_list shape), borrowed. */
json_t *catalog_licenses(void);

/* ---- The publish gate (privacy.c; docs/internals/privacy-gate.md; issue 5 §4) ------- */

/*
 * The gate's verdict on a privacy report (the object the datastore stores for a resource's
 * table: "columns" as the scan writes them, "quasi_identifiers", "k", "rows",
 * "source_sha256", and an "override" when one was recorded) against the portal's k:
 *   {"status": "passed" | "blocked" | "overridden", "k_required": k,
 *    "reasons": [{"reason": "direct_identifier", "columns": [...]},
 *                {"reason": "k_anonymity", "k": n, "columns": [quasi-identifiers]}],
 *    "message": "..." (when there are reasons)}
 * Blocked: a column classified direct_identifier (an identifier left in clear), or
 * quasi-identifiers whose smallest equivalence class is below k (a table without rows
 * reaches any k). The rows must be records of people for either: an identifier or
 * quasi-identifier found in the values (not only named by a column), or a sensitive
 * attribute, says so; a direct identifier known only by its column's name ("name")
 * blocks when the table is about people or has quasi-identifiers; k is judged
 * ("k_enforced") when the table is about people or has a direct identifier that blocks.
 * What the publisher declared counts first: "personal_data" true in the report (the
 * caller puts catalog_privacy_personal() there) or a column "declared" a direct
 * identifier, quasi-identifier or sensitive makes the table one of people, and a column
 * declared a direct identifier blocks. Columns declared below their detected class
 * among those that block are listed as "lowered" ([{"column", "declared", "detected"}])
 * and named in the message: only an override lets them through.
 * Overridden: blocked, but the report's override is for the same file (its
 * source_sha256). New reference; never NULL. Pure.
 */
json_t *catalog_privacy_gate(const json_t *report, unsigned k);

/*
 * Whether the publisher declared that a resource holds records of people: the resource
 * dict's "personal_data" (true, or "true"/"yes" in any case), or the package dict's extra
 * "personal_data" with such a value. Either may be NULL. Pure.
 */
bool catalog_privacy_personal(const json_t *doc, const json_t *resource);

/* Whether a package dict's data is public, which is what the publish gate guards: the
 * dataset is active, not private, and not restricted (access_level "restricted public" or
 * "non-public": its data goes only to grantees, src/access/grant.h). Pure. */
bool catalog_data_public(const json_t *doc);

/* Whether a verdict of catalog_privacy_gate() blocks publication. */
bool catalog_privacy_blocked(const json_t *verdict);

/*
 * datastore_privacy_report: {"resource_id"} → the resource's stored report with its
 * verdict under "gate". Visible as the resource is (404 otherwise, and when it has no
 * report: it was never scanned). Callers who may not edit the dataset get no masked
 * examples ("examples" removed from each column): the public report names columns,
 * classes, shares, detectors, the k reached and what was transformed, never values.
 */
int catalog_privacy_report_show(struct catalog *c, const struct actor *a, json_t *params,
                                json_t **result, struct err *err);

/*
 * The report of resource_id as catalog_privacy_report_show() gives it, for a page that
 * already holds the resource's dataset: dataset is a package dict that a may read (from
 * catalog_package_show() for the same actor: it is not loaded again), and resource_id
 * one of its resources. -ERR_NOT_FOUND when the resource is not the dataset's, has no
 * report, or the report cannot be read. *result: a new reference, or NULL on error.
 */
int catalog_privacy_report_of(struct catalog *c, const struct actor *a, const json_t *dataset,
                              const char *resource_id, json_t **result);

/*
 * datastore_privacy_override: {"resource_id", "justification"} records an approver's
 * override of the gate for the resource's scanned table, in one transaction with its
 * "privacy_override" ledger entry (objects: dataset, name or visibility, resource; digest
 * of {resource_id, source_sha256, justification, reasons, k_required}). Errors: 403
 * anonymous, not an approver of the dataset's organization, or the table's publisher
 * (access_approver_check(): issue 8's role and the two-person rule); 404 unknown resource or no
 * report; 409 "justification" missing, blank or longer than 4,000 bytes, or the table is not
 * blocked (passes, or is already overridden). Result: what catalog_privacy_report_show() returns.
 */
int catalog_privacy_override(struct catalog *c, const struct actor *a, json_t *params,
                             json_t **result, struct err *err);

/*
 * The gate at publication: -ERR_VALIDATION (409, field "privacy", the message naming each
 * resource, the reason and the columns) when a resource of the package dict doc would be
 * published with a blocked report, or with its file not scanned yet (datastore_status
 * "pending" or "running"); 0 otherwise. Reads the store (inside the caller's transaction
 * or not).
 */
int catalog_privacy_publish_check(struct catalog *c, json_t *doc, struct err *err);

#endif
