/*
 * catalog-int.h - internals shared by the files of src/catalog/ (not for other modules).
 */
#ifndef KAIFANG_CATALOG_CATALOG_INT_H
#define KAIFANG_CATALOG_CATALOG_INT_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "catalog/catalog.h"

/* ---- catalog.c: parameters, visibility, persistence ---- */

/* Reads an optional string parameter: absent or null leaves *out NULL. A number or a
 * boolean is refused (-ERR_VALIDATION naming the key). */
int param_str(json_t *params, const char *key, const char **out, struct err *err);
/* Reads an optional integer given as a number or a decimal string, in [min, max]. */
int param_int(json_t *params, const char *key, int64_t min, int64_t max, int64_t def, int64_t *out,
              struct err *err);
/* Reads an optional boolean given as true/false or a CKAN asbool string. */
int param_bool(json_t *params, const char *key, bool def, bool *out, struct err *err);
/* The "id" parameter (or "name" when allow_name), required. */
int param_id(json_t *params, bool allow_name, const char **out, struct err *err);

/* Whether the actor may read / edit a package dict (CKAN's package_show and
 * package_update auth functions). */
bool dataset_can_read(const struct actor *a, json_t *doc);
bool dataset_can_edit(const struct actor *a, json_t *doc);

/* Loads a dataset by id or name that the actor may read; -ERR_NOT_FOUND otherwise.
 * *doc: new reference. */
int dataset_load_readable(struct catalog *c, const struct actor *a, const char *id_or_name,
                          json_t **doc, struct err *err);

/* privacy.c: -ERR_AUTH when the resource of the package dict doc is withheld from a by
 * the publish gate (a public dataset, a blocked report, a reader who may not edit the
 * dataset); 0 otherwise. */
int catalog_privacy_withheld(struct catalog *c, const struct actor *a, json_t *doc,
                             const char *resource_id, struct err *err);

/* Writes a package dict with its search and facet rows (inside a transaction). */
int dataset_write(struct catalog *c, json_t *doc, struct err *err);

/* Runs fn inside a store transaction: commit on 0, rollback otherwise. */
int catalog_tx_begin(struct catalog *c, struct err *err);
int catalog_tx_end(struct catalog *c, int ret, struct err *err);

/*
 * Stages the ledger entry of a write action inside its open transaction
 * (ledger_record(); docs/internals/ledger-entries.md lists the types). Every write action calls
 * this, or dataset_record(), exactly once, after its last store write and before
 * catalog_tx_end(), so that the entry commits or rolls back with the change.
 *   a        the acting user: signed in (writes refuse anonymous callers first;
 *            BUG_ON otherwise, an entry without its actor would corrupt the ledger)
 *   type     "organization_create", "group_create", … (a string literal)
 *   org      the organization's name, or NULL when none applies
 *   objects  JSON object of ids, stolen
 *   digest   the new state as stored, borrowed (hashed, never written in clear), or NULL
 * Any failure is -ERR_INTERNAL ("cannot record … in the ledger"): the action must fail
 * and roll back.
 */
int catalog_record(struct catalog *c, const struct actor *a, const char *type, const char *org,
                   json_t *objects, json_t *digest, struct err *err);

/* catalog_record() for a change of a dataset: org is its organization's name (NULL for
 * a dataset without one), objects {"dataset": id, "name": name} plus {"resource": id}
 * when resource_id is not NULL, digest doc: the package dict as stored (upload urls as
 * file names; dataset_output() not applied). */
int dataset_record(struct catalog *c, const struct actor *a, const char *type, json_t *doc,
                   const char *resource_id, struct err *err);

/* ---- validate.c ---- */

/* CKAN's name_validator: 2..100 of [a-z0-9_-], not "new"/"edit"/"search". */
int name_check(const char *field, const char *name, struct err *err);
/* CKAN's tag rules: 2..100 characters of letters, digits, spaces, '-', '_', '.'. */
int tag_check(const char *tag, struct err *err);

/*
 * Validates package input (create: old NULL; update: old is the current package dict)
 * and builds the full package_show dict in *doc (new reference). Checks organization
 * and group existence and the actor's rights in the organization(s).
 */
int dataset_build(struct catalog *c, const struct actor *a, json_t *in, json_t *old, json_t **doc,
                  struct err *err);

/* Builds one resource dict (stored form) from input. old: the stored resource with the
 * same id, or NULL; dataset_id: the id of the dataset holding old (NULL with old NULL).
 * An uploaded old resource stays an upload when the input's url is absent or
 * upload_url_same() says it is the upload's own. position and package_id are set by
 * the caller. */
int resource_build(struct catalog *c, const char *dataset_id, json_t *in, json_t *old,
                   const char *now, json_t **res, struct err *err);

/* Fills the derived fields of a package dict: num_resources, num_tags, resource positions
 * and package_id. */
void dataset_derive(json_t *doc);

/* ---- resource.c: upload urls ----
 *
 * A resource with url_type "upload" stores in "url" only its file name (sanitised, not
 * percent-encoded), as CKAN does; older portals stored the absolute download url, which
 * is read the same way (its last segment, percent-decoded). Every action that returns
 * resources passes them through resource_output() / dataset_output(), which put the
 * absolute url under c->site_url there, so the links follow the server that shows them
 * (another port, host or --site-url) rather than the one that stored them. */

/* The file name of a stored upload url: its last path segment, percent-decoded ("file"
 * when empty). Appended to out. */
void upload_filename(const char *url, struct buf *out);
/* <site_url>/dataset/<dataset_id>/resource/<id>/download/<escaped file name> for a
 * stored upload resource dict. Free the result with free(). */
char *upload_url(struct catalog *c, const char *dataset_id, json_t *res);
/* Whether url (from input) names the stored upload resource old of dataset_id: its
 * stored url, or its absolute url under c->site_url (what package_show gave the client,
 * sent back unchanged as ckanapi does). False when old is not an upload. */
bool upload_url_same(struct catalog *c, const char *dataset_id, json_t *old, const char *url);
/* Whether a stored resource dict is a table only (made by datastore_create with
 * "resource": no url, a datastore table). CKAN calls it url_type "datastore" and shows
 * its dump as its url. */
bool resource_is_datastore_only(const json_t *res);
/* <site_url>/datastore/dump/<id> of a resource dict. Free the result with free(). */
char *datastore_dump_url(struct catalog *c, const json_t *res);
/* Turns a stored resource dict of dataset_id into its output form in place (the
 * absolute url of an upload; a table-only resource gets url_type "datastore" and its
 * dump's url, as CKAN shows it; links are left alone). */
void resource_output(struct catalog *c, const char *dataset_id, json_t *res);
/* The same for every resource of a package dict, and of an array of package dicts. */
void dataset_output(struct catalog *c, json_t *doc);
void datasets_output(struct catalog *c, json_t *docs);
/*
 * The output form of a stored dataset text (store_search.raw_docs), appended to out:
 * the text itself when it holds no upload resource, else json_dumps(…, JSON_COMPACT) of
 * the parsed document after dataset_output(). Either way the bytes
 * json_dumps(dataset_output(json_loadb(text)), JSON_COMPACT) would give. -ERR_INTERNAL
 * when such a text does not parse (a corrupt store).
 */
int dataset_output_text(struct catalog *c, const char *text, size_t len, struct buf *out,
                        struct err *err);

/* ---- license.c ---- */

/* The licence object with that id, borrowed, or NULL. */
json_t *license_find(const char *id);

/* ---- search.c ---- */

/* Query tokens of free text (CJK runs of 2+ give bigrams only); appended to *terms, a
 * JSON array of strings. */
void search_query_terms(const char *text, json_t *terms);
/* Tokens of a quoted phrase: the index's own tokens of text (a CJK run gives its
 * characters and bigrams interleaved), so that adjacent tokens in the phrase are
 * adjacent in an indexed text that holds it; appended to *terms. */
void search_phrase_terms(const char *text, json_t *terms);
/* Whether the code point is a CJK ideograph (Unified, Ext A, Compatibility). */
bool is_cjk(uint32_t cp);
/* Whether the code point counts as a letter or digit in names of tags and in search. */
bool is_word_cp(uint32_t cp);
/* Decodes one UTF-8 sequence at s (len bytes left); returns its length (0 for an
 * invalid sequence) and stores the code point. */
size_t utf8_decode(const char *s, size_t len, uint32_t *cp);

/* The UUID-shaped stable id derived from a tag name (tags have no table of their own). */
void tag_id(const char *name, char out[UUID_STR_LEN]);

#endif
