/*
 * api.h - the CKAN Action API v3 layer: the action table, the request envelope and the
 * error shapes (CKAN 2.10 docs, "API guide"; ckan/views/api.py). It turns a parsed
 * request (action name, parameters, actor, optional upload) into the JSON document to
 * send and its HTTP status. It neither parses HTTP nor touches the store directly.
 *
 * Envelopes, exactly as CKAN writes them:
 *   success  {"help": "<site_url>/api/3/action/help_show?name=<action>",
 *             "success": true, "result": …}
 *   error    {"help": …, "success": false, "error": {"__type": "<type>", …}}
 * where the error object is {"__type": "Validation Error", "<field>": ["message"],
 * "message": "…"} for validation errors and {"__type": …, "message": "…"} otherwise.
 *
 * The ledger's JSON API (api-ledger.c, at the end of this header) is plain JSON with
 * no envelope: it is read by ledger monitors, not by CKAN clients.
 *
 * Thread-safety: every function may be called from any thread at once.
 */
#ifndef KAIFANG_API_API_H
#define KAIFANG_API_API_H

#include <jansson.h>
#include <stdbool.h>

#include "access/access.h"
#include "catalog/catalog.h"
#include "core/config.h"
#include "core/err.h"

enum api_flags {
    API_GET = 1 << 0,       /* may be called with GET (reads); others need POST */
    API_WRITES = 1 << 1,    /* changes the catalog (and later appends to the ledger) */
    API_UPLOAD = 1 << 2,    /* accepts a multipart "upload" file part */
    API_CACHEABLE = 1 << 3, /* GET answers may carry an ETag and be revalidated */
    API_EXPENSIVE = 1 << 4, /* may run for seconds: api_ckan_expensive() tells which calls */
    /* The answer shows the ledger (entries, checkpoints, proofs, what the audit finds in
     * them): an anonymous answer is cached against store_version(), which every commit
     * moves. Other cacheable answers are cached against store_catalog_version(), which
     * the ledger's own commits (restricted reads, integration) leave unchanged. */
    API_LEDGER_VIEW = 1 << 5,
};

struct api_action {
    const char *name;     /* CKAN action name */
    catalog_action_fn fn; /* NULL for actions served by the API layer itself */
    unsigned flags;       /* enum api_flags */
    const char *doc;      /* what help_show returns */
};

/* Looks an action up by name; NULL when unknown. The result points into a static
 * table. */
const struct api_action *api_ckan_action(const char *name);

/*
 * True when a call of action name with params may hold its thread for seconds, so that
 * the HTTP layer admits only a few at once (src/http/gate.c): datastore_search_sql (up
 * to its time limit, LIMIT_DATASTORE_SQL_MS), and datastore_search with a full-text q
 * (ranking every match of a large table). Unknown actions: false.
 */
bool api_ckan_expensive(const char *name, json_t *params);

/* Every action's name in table order, as a new JSON array (GET /api/3/action). */
json_t *api_ckan_action_names(void);

/*
 * Runs a CKAN action and builds the response document.
 *   name    the action name from the URL ("package_show"); unknown → 400 Bad request
 *   is_post false when the request came by GET: write actions then answer 400
 *   params  borrowed JSON object of parameters
 *   up      an uploaded file for resource_create/resource_update, or NULL
 * On return *doc is a new reference to the envelope (success or error) and *status the
 * HTTP status (200, or err_kind_status() of the error). Always returns 0: every failure
 * is reported through the envelope; the kind is stored in *kind (ERR_NONE on success)
 * when kind is not NULL.
 */
int api_ckan_call(struct catalog *c, const struct actor *a, const char *name, bool is_post,
                  json_t *params, const struct upload *up, json_t **doc, unsigned *status,
                  enum err_kind *kind);

/*
 * api_ckan_call() with the envelope as text: *body (free() it; NUL-terminated after *len
 * bytes) is exactly json_dumps(doc, JSON_COMPACT) of the *doc api_ckan_call() would
 * give, the bytes the HTTP layer sends. package_search builds it without parsing and
 * dumping each dataset of its page: their stored texts are spliced into the dump of
 * the rest (docs/internals/catalog.md, "package_search as text"). Always returns 0.
 */
int api_ckan_call_text(struct catalog *c, const struct actor *a, const char *name, bool is_post,
                       json_t *params, const struct upload *up, char **body, size_t *len,
                       unsigned *status, enum err_kind *kind);

/*
 * The error envelope for err about action name (which may be unknown, or NULL when the
 * request never named one: help then points at help_show without a name). site_url
 * without trailing slash. New reference.
 */
json_t *api_ckan_error(const char *site_url, const char *name, const struct err *err);

/* The success envelope around result (stolen: the envelope takes the reference). New
 * reference. */
json_t *api_ckan_success(const char *site_url, const char *name, json_t *result);

/* ---- The ledger's JSON API (api-ledger.c) -------------------------------------------
 *
 * Plain JSON for ledger clients and monitors, not CKAN envelopes. Each function takes
 * the request's parameters (a borrowed JSON object of query-string values), and sets
 * *doc (new reference) and *status: 200 with the document, or an error document
 * {"error": "<message>", "parameter": "<name>"} ("parameter" when one is to blame) with
 * 400 (a parameter missing, malformed or out of range), 404 (an unknown leaf hash), 500
 * (a store failure) or 503. Hashes are standard base64 with padding (RFC 4648 §4).
 * Proofs refer to trees no larger than the latest signed checkpoint. Thread-safe.
 */
struct ledger_key;

/* GET /api/ledger/entries?start=S&end=E: the entries [S, E) of the log as
 * [{"index", "entry" (the canonical JSON text), "leaf_hash"}]. start defaults to 0, end
 * to start + 256; end must be greater than start; at most 256 entries per call and
 * none past the latest checkpoint (end is clamped to both); start equal to the
 * checkpoint size gives [], larger is 400. */
void api_ledger_entries(struct store *s, const json_t *params, json_t **doc, unsigned *status);

/* GET /api/ledger/proof/inclusion?index=I&size=N, or leaf_hash=<base64> instead of
 * index: {"index", "size", "leaf_hash", "root_hash", "proof": [hashes, bottom-up]}, the
 * RFC 9162 §2.1.3.1 inclusion proof of entry I in the tree of size N (default: the latest
 * checkpoint's). Exactly one of index and leaf_hash; 0 ≤ I < N ≤ checkpoint size. */
void api_ledger_inclusion(struct store *s, const json_t *params, json_t **doc, unsigned *status);

/* GET /api/ledger/proof/consistency?first=N1&second=N2: {"first", "second",
 * "first_root", "second_root", "proof"}, the RFC 9162 §2.1.4.1 consistency proof
 * (0 < N1 ≤ N2 ≤ checkpoint size; N1 == N2 gives an empty proof). */
void api_ledger_consistency(struct store *s, const json_t *params, json_t **doc, unsigned *status);

/* GET /api/ledger/key: {"origin", "vkey"} (the C2SP signed-note verifier key that
 * checkpoints verify with). key NULL: 503. */
void api_ledger_key(const struct ledger_key *key, json_t **doc, unsigned *status);

/* An error document of the ledger API (see above). New reference. */
json_t *api_ledger_error(const char *parameter, const char *msg);

/* ---- The metadata exports (api-dcat.c; docs/internals/dcat.md) ---------------------
 *
 * The documents harvesters read: /data.json (DCAT-US 1.1), /catalog.ttl|rdf|jsonld
 * (DCAT-AP 3.0.1, paged), /dataset/<name>.ttl|rdf|jsonld (and /dataset/<name> with an
 * RDF type in Accept), /dataset/<name>/datapackage.json (Frictionless). Every document
 * is the public's view, whoever asks (src/dcat/dcat.h). cfg gives the catalog's title,
 * publisher, default contact and codes (kaifang.conf); links are under c->site_url.
 * Each function returns 0 with *body (free() it; *len bytes) and *ctype (static), or a
 * negative enum err_kind with err set: -ERR_BAD_REQUEST for a malformed parameter,
 * -ERR_NOT_FOUND for a dataset or page the public cannot see, -ERR_INTERNAL.
 * Thread-safe.
 */
struct dcat_stream;

/* GET /catalog.<ext>?page=N: ext "ttl", "rdf" or "jsonld"; params (borrowed query
 * arguments as strings): "page", a decimal ≥ 1, default 1. */
int api_dcat_catalog(struct catalog *c, const struct config *cfg, const char *ext,
                     const json_t *params, char **body, size_t *len, const char **ctype,
                     struct err *err);

/*
 * Whether the last path segment of /dataset/<segment> asks for a DCAT-AP document: it
 * ends in ".ttl", ".rdf" or ".jsonld" (dataset names and ids hold no '.'), or accept
 * (the Accept header, may be NULL) prefers an RDF type to the HTML page (dcat.h,
 * dcat_format_negotiate). On true, *name_len is the length of the dataset's name or id
 * within segment and *format the format (enum dcat_format).
 */
bool api_dcat_dataset_wanted(const char *segment, const char *accept, size_t *name_len,
                             int *format);

/* GET /dataset/<id or name>.<ext>: the dataset as a DCAT-AP document in format (enum
 * dcat_format, from api_dcat_dataset_wanted). */
int api_dcat_dataset(struct catalog *c, const struct config *cfg, const char *id, int format,
                     char **body, size_t *len, const char **ctype, struct err *err);

/* GET /dataset/<id or name>/datapackage.json. */
int api_dcat_datapackage(struct catalog *c, const struct config *cfg, const char *id, char **body,
                         size_t *len, const char **ctype, struct err *err);

/*
 * GET /data.json: opens the document as a stream (dcat_stream_read(); free with
 * dcat_stream_free()); cfg and c must outlive it. *ctype: its Content-Type.
 */
int api_dcat_datajson_open(struct catalog *c, const struct config *cfg, struct dcat_stream **out,
                           const char **ctype, struct err *err);
/* A digest that names /data.json as it would be opened now and changes whenever the
 * document may (the store's version, the site and the options it is written with), for
 * an entity tag that answers a conditional request before anything is written: the
 * SHA-256 of those, as 64 lower-case hex digits and a NUL into hex. */
void api_dcat_datajson_digest(struct catalog *c, const struct config *cfg, char hex[65]);

#endif
