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
 * Thread-safety: every function may be called from any thread at once.
 */
#ifndef KAIFANG_API_API_H
#define KAIFANG_API_API_H

#include <jansson.h>
#include <stdbool.h>

#include "access/access.h"
#include "catalog/catalog.h"
#include "core/err.h"

enum api_flags {
    API_GET = 1 << 0,       /* may be called with GET (reads); others need POST */
    API_WRITES = 1 << 1,    /* changes the catalog (and later appends to the ledger) */
    API_UPLOAD = 1 << 2,    /* accepts a multipart "upload" file part */
    API_CACHEABLE = 1 << 3, /* GET answers may carry an ETag and be revalidated */
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
 * The error envelope for err about action name (which may be unknown, or NULL when the
 * request never named one: help then points at help_show without a name). site_url
 * without trailing slash. New reference.
 */
json_t *api_ckan_error(const char *site_url, const char *name, const struct err *err);

/* The success envelope around result (stolen: the envelope takes the reference). New
 * reference. */
json_t *api_ckan_success(const char *site_url, const char *name, json_t *result);

#endif
