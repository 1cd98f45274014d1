/*
 * routes.c - the route table: every URL the portal answers, with its methods, its
 * handler and what it may do. This table (with the action table in api/api-ckan.c) is
 * the single place to audit who may do what.
 */
#include <jansson.h>
#include <microhttpd.h>

#include "api/api.h"
#include "catalog/views.h"
#include "http/http-int.h"
#include "http/server.h"
#include "web/i18n.h"
#include "web/ui.h"
#include "core/util.h"

static enum MHD_Result h_healthz(struct request *r);
static enum MHD_Result h_home(struct request *r);
static enum MHD_Result h_api_version(struct request *r);
static enum MHD_Result h_action_index(struct request *r);
static enum MHD_Result h_action(struct request *r);
static enum MHD_Result h_dataset_search(struct request *r);
static enum MHD_Result h_dataset(struct request *r);
static enum MHD_Result h_ledger_page(struct request *r);
static enum MHD_Result h_resource(struct request *r);
static enum MHD_Result h_organization_list(struct request *r);
static enum MHD_Result h_organization(struct request *r);
static enum MHD_Result h_group_list(struct request *r);
static enum MHD_Result h_group(struct request *r);
static enum MHD_Result h_licenses(struct request *r);
static enum MHD_Result h_api_page(struct request *r);
static enum MHD_Result h_static(struct request *r);
static enum MHD_Result h_lang(struct request *r);
static enum MHD_Result h_audit_page(struct request *r);

#define GH           (HM_GET | HM_HEAD)
#define ACTION_FLAGS (ROUTE_ACTOR | ROUTE_CACHEABLE | ROUTE_WRITES | ROUTE_BODY | ROUTE_API)

static const struct route routes[] = {
        /* methods, pattern,                                  handler,        flags */
        {GH, "/healthz", h_healthz, ROUTE_API},
        {GH, "/", h_home, ROUTE_ACTOR | ROUTE_CACHEABLE},
        {GH, "/api/3", h_api_version, ROUTE_CACHEABLE | ROUTE_API},
        {GH, "/api/3/action", h_action_index, ROUTE_CACHEABLE | ROUTE_API},
        {GH | HM_POST, "/api/3/action/:name", h_action, ACTION_FLAGS},
        {GH | HM_POST, "/api/action/:name", h_action, ACTION_FLAGS},
        /* Signing in and out (publish.c): the form, a POST checked against the form's
         * pre-session cookie, and a POST that ends the session. */
        {GH, "/user/login", http_login_page, ROUTE_ACTOR},
        {HM_POST, "/user/login", http_login, ROUTE_ACTOR | ROUTE_BODY | ROUTE_LOGIN},
        {HM_POST, "/user/logout", http_logout, ROUTE_ACTOR | ROUTE_BODY},
        /* The account pages (account.c): my account, the users (sysadmins), an
         * organization's members and roles (its admins), its pending grant requests (its
         * approvers). POSTs change accounts, roles and grants, each with its ledger entry. */
        {GH | HM_POST, "/user/account", http_account_page, ROUTE_ACTOR | ROUTE_BODY | ROUTE_WRITES},
        {GH | HM_POST, "/user", http_users_page, ROUTE_ACTOR | ROUTE_BODY | ROUTE_WRITES},
        {GH | HM_POST, "/organization/members/:id", http_members_page,
         ROUTE_ACTOR | ROUTE_BODY | ROUTE_WRITES},
        {GH | HM_POST, "/organization/grants/:id", http_grants_page,
         ROUTE_ACTOR | ROUTE_BODY | ROUTE_WRITES},
        /* An approver's override of the privacy gate, from the resource page's form. */
        {HM_POST, "/dataset/:id/resource/:rid/override", http_privacy_override,
         ROUTE_ACTOR | ROUTE_BODY | ROUTE_WRITES},
        /* The publisher pages (publish.c), before /dataset/:id and its resources, whose
         * patterns would take "new" and "edit" for names. */
        {GH | HM_POST, "/dataset/new", http_dataset_new, ROUTE_ACTOR | ROUTE_BODY | ROUTE_WRITES},
        {GH | HM_POST, "/dataset/edit/:id", http_dataset_edit,
         ROUTE_ACTOR | ROUTE_BODY | ROUTE_WRITES},
        {GH | HM_POST, "/dataset/:id/resource/new", http_resource_new,
         ROUTE_ACTOR | ROUTE_BODY | ROUTE_WRITES},
        {GH, "/dataset/:id/resource/:rid/ingest", http_ingest_page, ROUTE_ACTOR},
        {GH | HM_POST, "/dataset/:id/resource/:rid/dictionary", http_dictionary,
         ROUTE_ACTOR | ROUTE_BODY | ROUTE_WRITES},
        {GH, "/dataset", h_dataset_search, ROUTE_ACTOR | ROUTE_CACHEABLE},
        {GH, "/dataset/:id", h_dataset, ROUTE_ACTOR | ROUTE_CACHEABLE},
        {GH, "/dataset/:id/resource/:rid", h_resource, ROUTE_ACTOR | ROUTE_CACHEABLE},
        {GH, "/dataset/:id/resource/:rid/download", http_download, ROUTE_ACTOR},
        {GH, "/dataset/:id/resource/:rid/download/:filename", http_download, ROUTE_ACTOR},
        {GH, "/organization", h_organization_list, ROUTE_ACTOR | ROUTE_CACHEABLE},
        {GH, "/organization/:id", h_organization, ROUTE_ACTOR | ROUTE_CACHEABLE},
        {GH, "/group", h_group_list, ROUTE_ACTOR | ROUTE_CACHEABLE},
        {GH, "/group/:id", h_group, ROUTE_ACTOR | ROUTE_CACHEABLE},
        {GH, "/licenses", h_licenses, ROUTE_ACTOR | ROUTE_CACHEABLE},
        {GH, "/api", h_api_page, ROUTE_ACTOR | ROUTE_CACHEABLE},
        /* The portal's stylesheet and scripts, and the chart libraries (web/static.c). */
        {GH, "/static/:file", h_static, ROUTE_CACHEABLE},
        /* The language switch: sets the "lang" cookie, back to the page it came from. */
        {GH, "/lang", h_lang, 0},
        /* Metadata for harvesters (dcat.c): public, the same for everyone. */
        {GH, "/dataset/:id/datapackage.json", http_dcat_datapackage, ROUTE_CACHEABLE},
        {GH, "/data.json", http_dcat_data_json, ROUTE_CACHEABLE},
        {GH, "/catalog.ttl", http_dcat_catalog, ROUTE_CACHEABLE},
        {GH, "/catalog.rdf", http_dcat_catalog, ROUTE_CACHEABLE},
        {GH, "/catalog.jsonld", http_dcat_catalog, ROUTE_CACHEABLE},
        /* A datastore table as CSV, TSV, JSON or XLSX, streamed (dump.c); readers only. */
        {GH, "/datastore/dump/:rid", http_datastore_dump, ROUTE_ACTOR},
        /* The public ledger: read-only and public, whoever asks (ledger.c). Its page
         * resolves the caller only to show who is signed in in its header. */
        {GH, "/ledger", h_ledger_page, ROUTE_ACTOR | ROUTE_CACHEABLE},
        {GH, "/ledger/checkpoint", http_ledger_checkpoint, ROUTE_CACHEABLE},
        {GH, "/ledger/tile/:path*", http_ledger_tile, ROUTE_CACHEABLE},
        {GH, "/api/ledger/entries", http_ledger_entries, ROUTE_CACHEABLE | ROUTE_API},
        {GH, "/api/ledger/proof/inclusion", http_ledger_inclusion, ROUTE_CACHEABLE | ROUTE_API},
        {GH, "/api/ledger/proof/consistency", http_ledger_consistency, ROUTE_CACHEABLE | ROUTE_API},
        {GH, "/api/ledger/key", http_ledger_key, ROUTE_CACHEABLE | ROUTE_API},
        /* The audit of fees (web/ui-audit.c): public, computed from the store and ledger. */
        {GH, "/audit", h_audit_page, ROUTE_ACTOR | ROUTE_CACHEABLE},
};

json_t *http_endpoints(void)
{
    json_t *routes_out = json_array();

    for (size_t i = 0; i < ARRAY_SIZE(routes); i++) {
        json_t *m = json_array();

        if (routes[i].methods & HM_GET)
            json_array_append_new(m, json_string("GET"));
        if (routes[i].methods & HM_HEAD)
            json_array_append_new(m, json_string("HEAD"));
        if (routes[i].methods & HM_POST)
            json_array_append_new(m, json_string("POST"));
        json_array_append_new(routes_out,
                              json_pack("{s:o, s:s}", "methods", m, "pattern", routes[i].pattern));
    }
    return json_pack("{s:o, s:o}", "routes", routes_out, "actions", api_ckan_action_names());
}

const struct route *http_route_find(unsigned method, const char *path, struct str *args,
                                    bool *path_matched)
{
    size_t i;

    *path_matched = false;
    for (i = 0; i < ARRAY_SIZE(routes); i++) {
        if (http_path_match(routes[i].pattern, path, args, ROUTE_ARGS_MAX) < 0)
            continue;
        *path_matched = true;
        if (routes[i].methods & method)
            return &routes[i];
    }
    return NULL;
}

enum MHD_Result http_not_found(struct request *r)
{
    struct err err = ERR_INIT;

    err_set(&err, ERR_NOT_FOUND, NULL, "Not found");
    if (starts_with(r->url, "/api/"))
        return http_reply_api_error(r, NULL, &err);
    return http_reply_html_error(r, 404, "There is no page at this address.");
}

/* The methods the routes matching path accept (RFC 9110 §10.2.1 Allow). */
static const char *allowed_methods(const char *path)
{
    struct str args[ROUTE_ARGS_MAX];
    unsigned m = 0;

    for (size_t i = 0; i < ARRAY_SIZE(routes); i++)
        if (http_path_match(routes[i].pattern, path, args, ROUTE_ARGS_MAX) >= 0)
            m |= routes[i].methods;
    return m & HM_POST ? "GET, HEAD, POST" : "GET, HEAD";
}

/* The CKAN API's paths, whose every answer is a CKAN envelope (the ledger's JSON API
 * under /api/ledger has its own error shape). */
static bool ckan_api_path(const char *path)
{
    return str_eq(path, "/api/3") || starts_with(path, "/api/3/") || str_eq(path, "/api/action") ||
           starts_with(path, "/api/action/");
}

/* 405 with Allow (RFC 9110 §15.5.6): a CKAN envelope on the CKAN API, as its clients
 * parse every answer as one ("Bad request", CKAN's type for a request it cannot
 * serve), plain text elsewhere. */
enum MHD_Result http_method_not_allowed(struct request *r)
{
    struct MHD_Response *resp;
    static const char msg[] = "method not allowed\n";
    const char *allow = allowed_methods(r->url);
    struct err err = ERR_INIT;
    json_t *doc;
    char *s;
    size_t len;

    if (!ckan_api_path(r->url)) {
        resp = MHD_create_response_from_buffer(sizeof(msg) - 1, (void *)msg,
                                               MHD_RESPMEM_PERSISTENT);
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "text/plain;charset=utf-8");
        MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW, allow);
        http_common_headers(r, resp, false);
        return http_queue(r, MHD_HTTP_METHOD_NOT_ALLOWED, resp, sizeof(msg) - 1);
    }
    /* The method is client input: at most 32 bytes of it, and api_ckan_error() makes
     * whatever is not UTF-8 a '?'. */
    err_set(&err, ERR_BAD_REQUEST, NULL, "Bad request - method \"%.32s\" not allowed: use %s",
            r->method_name ? r->method_name : "", allow);
    doc = api_ckan_error(r->srv->catalog->site_url, NULL, &err);
    s = json_dumps(doc, JSON_COMPACT);
    json_decref(doc);
    BUG_ON(!s);
    len = strlen(s);
    resp = MHD_create_response_from_buffer(len, s, MHD_RESPMEM_MUST_FREE);
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, HTTP_JSON_TYPE);
    MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW, allow);
    http_common_headers(r, resp, false);
    return http_queue(r, MHD_HTTP_METHOD_NOT_ALLOWED, resp, len);
}

static enum MHD_Result h_healthz(struct request *r)
{
    static const char ok[] = "{\"status\":\"ok\"}";
    static const char stopping[] = "{\"status\":\"stopping\"}";
    bool stop = atomic_load_explicit(&r->srv->stopping, memory_order_relaxed);
    struct MHD_Response *resp;

    /* Constant documents, so printed once here rather than built per probe. */
    resp = MHD_create_response_from_buffer(stop ? sizeof(stopping) - 1 : sizeof(ok) - 1,
                                           (void *)(stop ? stopping : ok), MHD_RESPMEM_PERSISTENT);
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, HTTP_JSON_TYPE);
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
    http_common_headers(r, resp, false);
    return http_queue(r, stop ? MHD_HTTP_SERVICE_UNAVAILABLE : MHD_HTTP_OK, resp,
                      stop ? sizeof(stopping) - 1 : sizeof(ok) - 1);
}

static char *arg_dup(const struct request *r, unsigned i)
{
    return xstrndup(r->args[i].p, r->args[i].len);
}

static enum MHD_Result reply_page_flags(struct request *r, int ret, struct buf *b, struct err *err,
                                        unsigned flags)
{
    size_t len;
    char *s;

    if (ret < 0) {
        buf_release(b);
        return http_reply_html_error(r, err_kind_status(err->kind), err->msg);
    }
    if (buf_failed(b)) {
        buf_release(b);
        return http_reply_html_error(r, 500, "the page is too large");
    }
    s = buf_detach(b, &len);
    return http_reply(r, 200, HTTP_HTML_TYPE, s, len, REPLY_HTML | REPLY_CACHEABLE | flags);
}

static enum MHD_Result reply_page(struct request *r, int ret, struct buf *b, struct err *err)
{
    return reply_page_flags(r, ret, b, err, 0);
}

/*
 * A page that only reads the catalog, answered through the per-thread cache (cache.c)
 * for anonymous GET and HEAD: keyed by the language, the path and the query arguments,
 * valid while store_catalog_version() is unchanged (a page showing ledger entries must not
 * come through here) (read before rendering, so a write that
 * commits meanwhile makes the entry stale at once). render appends the page to b and
 * returns 0, or a negative error kind with err set. flags: extra reply_flags (Vary).
 * Pages that read datastore tables are not cached this way: a table's rows change
 * without the catalog version (datastore_upsert).
 */
typedef int (*page_render_fn)(struct request *r, struct buf *b, struct err *err);

/* What cached_page_ex() does besides caching. */
struct page_opts {
    unsigned flags;  /* extra reply_flags (Vary) */
    uint64_t epoch;  /* part of the cache key: a page that changes without the store
                        version (the home page's view totals) moves it */
    bool count_view; /* a 200 answer to GET counts a view of the dataset args[0] names */
};

/* Counts a view of the dataset of a page answered 200 (catalog/views.h): GET only, so
 * that a HEAD (a link checker) is not a view. */
static void count_view(struct request *r, const struct page_opts *o)
{
    if (o->count_view && r->method == HM_GET)
        catalog_views_hit(r->srv->views, r->args[0].p, r->args[0].len);
}

static enum MHD_Result cached_page_ex(struct request *r, page_render_fn render,
                                      const struct page_opts *o)
{
    struct buf b = BUF_INIT, key = BUF_INIT, action = BUF_INIT;
    struct err err = ERR_INIT;
    struct cache_entry *e;
    uint64_t version = 0;
    bool cached = false;
    enum MHD_Result ret;
    size_t len;
    char *s;
    int rc;

    if (!r->actor.authenticated && (r->method & (HM_GET | HM_HEAD))) {
        buf_addf(&action, "page %s %" PRIu64 " %s", ui_lang_code(ui_lang_current()), o->epoch,
                 r->url);
        cached = !buf_failed(&action) && !http_cache_key(r, action.buf, &key);
    }
    buf_release(&action);
    if (cached) {
        /* These pages show the catalog, not the ledger: the ledger's own commits
         * (restricted reads, integration) leave them valid. */
        version = store_catalog_version(r->srv->catalog->store);
        e = http_cache_find(&key, version);
        if (e) {
            count_view(r, o);
            ret = http_cache_reply(r, e);
            goto out;
        }
    }
    rc = render(r, &b, &err);
    if (rc == 0 && !buf_failed(&b))
        count_view(r, o);
    if (!cached || rc < 0 || buf_failed(&b)) {
        ret = reply_page_flags(r, rc, &b, &err, o->flags);
        goto out;
    }
    s = buf_detach(&b, &len);
    e = http_cache_put_as(&key, version, s, len, REPLY_HTML | o->flags);
    if (e) {
        free(s);
        ret = http_cache_reply(r, e);
    } else {
        ret = http_reply(r, 200, HTTP_HTML_TYPE, s, len, REPLY_HTML | REPLY_CACHEABLE | o->flags);
    }
out:
    if (cached)
        buf_release(&key);
    return ret;
}

static enum MHD_Result cached_page(struct request *r, page_render_fn render, unsigned flags)
{
    const struct page_opts o = {.flags = flags};

    return cached_page_ex(r, render, &o);
}

static int render_home(struct request *r, struct buf *b, struct err *err)
{
    return ui_home(r->srv->catalog, &r->actor, b, err);
}

static enum MHD_Result h_home(struct request *r)
{
    /* Its most-viewed datasets change with the view totals, which do not move the store
     * version: kept for at most one flush interval. */
    const struct page_opts o = {.epoch = catalog_views_generation(r->srv->views)};

    return cached_page_ex(r, render_home, &o);
}

/* Collects every value of the facet parameters (tags=a&tags=b): r->params keeps only
 * the last of a repeated name. */
struct facet_args {
    struct ui_search_query *sq;
    const char *values[UI_SEARCH_FACETS][UI_SEARCH_FACET_VALUES_MAX];
};

static enum MHD_Result facet_arg(void *cls, enum MHD_ValueKind kind, const char *key,
                                 const char *value)
{
    struct facet_args *fa = cls;

    (void)kind;
    if (!value || !value[0])
        return MHD_YES;
    for (size_t f = 0; f < UI_SEARCH_FACETS; f++)
        if (str_eq(key, ui_search_facet_fields[f]) &&
            fa->sq->nfacets[f] < UI_SEARCH_FACET_VALUES_MAX)
            fa->values[f][fa->sq->nfacets[f]++] = value;
    return MHD_YES;
}

static int render_dataset_search(struct request *r, struct buf *b, struct err *err)
{
    struct ui_search_query sq = {
            .q = json_string_value(json_object_get(r->params, "q")),
            .page = json_string_value(json_object_get(r->params, "page")),
            .sort = json_string_value(json_object_get(r->params, "sort")),
    };
    struct facet_args fa = {.sq = &sq};

    /* Values were checked as UTF-8 without NULs when r->params was filled. */
    MHD_get_connection_values(r->conn, MHD_GET_ARGUMENT_KIND, facet_arg, &fa);
    for (size_t f = 0; f < UI_SEARCH_FACETS; f++)
        sq.facets[f] = fa.values[f];
    return ui_dataset_search_page(r->srv->catalog, &r->actor, &sq, b, err);
}

static enum MHD_Result h_dataset_search(struct request *r)
{
    return cached_page(r, render_dataset_search, 0);
}

static const char *param(const struct request *r, const char *name)
{
    return json_string_value(json_object_get(r->params, name));
}

static enum MHD_Result h_resource(struct request *r)
{
    struct buf b = BUF_INIT;
    struct err err = ERR_INIT;
    char *id = arg_dup(r, 0), *rid = arg_dup(r, 1);
    struct ui_preview_query pq = {
            .offset = param(r, "offset"),
            .sort = param(r, "sort"),
            .column = param(r, "column"),
            .value = param(r, "value"),
            .q = param(r, "q"),
            .x = param(r, "x"),
            .y = param(r, "y"),
    };
    int ret = ui_resource(r->srv->catalog, &r->actor, id, rid, &pq, &b, &err);

    free(id);
    free(rid);
    return reply_page(r, ret, &b, &err);
}

static int render_organization_list(struct request *r, struct buf *b, struct err *err)
{
    return ui_organization_list(r->srv->catalog, &r->actor, b, err);
}

static enum MHD_Result h_organization_list(struct request *r)
{
    return cached_page(r, render_organization_list, 0);
}

static int render_organization(struct request *r, struct buf *b, struct err *err)
{
    char *id = arg_dup(r, 0);
    int ret = ui_organization(r->srv->catalog, &r->actor, id, b, err);

    free(id);
    return ret;
}

static enum MHD_Result h_organization(struct request *r)
{
    return cached_page(r, render_organization, 0);
}

static int render_group_list(struct request *r, struct buf *b, struct err *err)
{
    return ui_group_list(r->srv->catalog, &r->actor, b, err);
}

static enum MHD_Result h_group_list(struct request *r)
{
    return cached_page(r, render_group_list, 0);
}

static int render_group(struct request *r, struct buf *b, struct err *err)
{
    char *id = arg_dup(r, 0);
    int ret = ui_group(r->srv->catalog, &r->actor, id, b, err);

    free(id);
    return ret;
}

static enum MHD_Result h_group(struct request *r)
{
    return cached_page(r, render_group, 0);
}

static int render_licenses(struct request *r, struct buf *b, struct err *err)
{
    return ui_licenses(r->srv->catalog, &r->actor, b, err);
}

static enum MHD_Result h_licenses(struct request *r)
{
    return cached_page(r, render_licenses, 0);
}

static enum MHD_Result h_api_page(struct request *r)
{
    struct buf b = BUF_INIT;
    struct err err = ERR_INIT;

    ui_api_page(r->srv->catalog, &b);
    return reply_page(r, 0, &b, &err);
}

static enum MHD_Result h_static(struct request *r)
{
    struct ui_asset asset;
    char name[64], *body;

    if (r->args[0].len >= sizeof(name))
        return http_not_found(r);
    xsnprintf(name, sizeof(name), "%.*s", (int)r->args[0].len, r->args[0].p);
    if (ui_static_find(name, &asset))
        return http_not_found(r);
    /* The files change only with the binary or the npm packages: an hour, then the ETag. */
    body = xmalloc(asset.len + 1);
    memcpy(body, asset.body, asset.len);
    return http_reply_cc(r, 200, asset.ctype, body, asset.len, REPLY_CACHEABLE,
                         "public, max-age=3600");
}

/* GET /lang?to=zh_CN&next=/dataset%3Fq%3Dx: remembers the choice in a cookie for a year
 * and sends the browser back to next, a path on this site ("/…" but not "//…", so never
 * another host); anything else goes home. */
static enum MHD_Result h_lang(struct request *r)
{
    const char *to = param(r, "to"), *next = param(r, "next");
    enum ui_lang lang;
    struct MHD_Response *resp;
    char cookie[96];

    if (ui_lang_parse(to, &lang))
        return http_reply_html_error(r, 400, "unknown language: use \"en\" or \"zh_CN\"");
    if (!next || next[0] != '/' || next[1] == '/' || next[1] == '\\' || strpbrk(next, "\r\n"))
        next = "/";
    xsnprintf(cookie, sizeof(cookie), "lang=%s; Path=/; Max-Age=31536000; SameSite=Lax",
              ui_lang_code(lang));
    resp = MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
    MHD_add_response_header(resp, MHD_HTTP_HEADER_LOCATION, next);
    MHD_add_response_header(resp, MHD_HTTP_HEADER_SET_COOKIE, cookie);
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
    http_common_headers(r, resp, false);
    return http_queue(r, MHD_HTTP_SEE_OTHER, resp, 0);
}

static int render_dataset(struct request *r, struct buf *b, struct err *err)
{
    char *id = arg_dup(r, 0);
    int ret = ui_dataset(r->srv->catalog, &r->actor, id, b, err);

    free(id);
    return ret;
}

static enum MHD_Result h_dataset(struct request *r)
{
    /* /dataset/<name>.ttl|rdf|jsonld, or an RDF type preferred in Accept (dcat.c). */
    if (http_dcat_dataset_wanted(r))
        return http_dcat_dataset(r);
    /* The same URL answers Turtle, RDF/XML or JSON-LD to those who ask (http_dcat_dataset). */
    const struct page_opts o = {.flags = REPLY_VARY_ACCEPT, .count_view = true};

    return cached_page_ex(r, render_dataset, &o);
}

static enum MHD_Result h_ledger_page(struct request *r)
{
    struct buf b = BUF_INIT;
    struct err err = ERR_INIT;
    struct ui_ledger_query q = {
            .before = json_string_value(json_object_get(r->params, "before")),
            .type = json_string_value(json_object_get(r->params, "type")),
            .org = json_string_value(json_object_get(r->params, "org")),
    };
    int ret = ui_ledger(r->srv->catalog, r->srv->ledger_key, &q, &b, &err);

    return reply_page(r, ret, &b, &err);
}

static enum MHD_Result h_audit_page(struct request *r)
{
    struct buf b = BUF_INIT;
    struct err err = ERR_INIT;
    int ret = ui_audit(r->srv->catalog, &b, &err);

    return reply_page(r, ret, &b, &err);
}

static enum MHD_Result h_api_version(struct request *r)
{
    return http_reply_json(r, 200, json_pack("{s:i}", "version", 3), REPLY_CACHEABLE);
}

static enum MHD_Result h_action_index(struct request *r)
{
    json_t *doc = api_ckan_success(r->srv->catalog->site_url, NULL, api_ckan_action_names());

    return http_reply_json(r, 200, doc, REPLY_CACHEABLE);
}

/* A package_show answered with success counts a view of its dataset, as a page does
 * (CKAN's tracking counts API reads of a dataset too). GET only. */
static void action_view(struct request *r, const char *name, unsigned status)
{
    const char *id;

    if (status != 200 || r->method != HM_GET || !str_eq(name, "package_show"))
        return;
    id = json_string_value(json_object_get(r->params, "id"));
    if (id)
        catalog_views_hit(r->srv->views, id, strlen(id));
}

static enum MHD_Result h_action(struct request *r)
{
    const struct api_action *act;
    struct cache_entry *e;
    struct upload up;
    struct buf key = BUF_INIT;
    bool have_upload = http_upload_get(r, &up), cached;
    char name[128];
    unsigned status = 500;
    unsigned flags = 0;
    uint64_t version = 0;
    enum MHD_Result ret;
    size_t len;
    char *s;

    xsnprintf(name, sizeof(name), "%.*s", (int)(r->args[0].len < 100 ? r->args[0].len : 100),
              r->args[0].p);
    act = api_ckan_action(name);
    /* Anonymous catalog reads go through the per-thread cache (cache.c). */
    cached = act && (act->flags & API_CACHEABLE) && r->method != HM_POST &&
             !r->actor.authenticated && !have_upload && !http_cache_key(r, name, &key);
    if (cached) {
        /* Catalog answers outlive the ledger's own commits (restricted reads); an answer
         * that shows the ledger does not (api.h, API_LEDGER_VIEW). */
        version = (act->flags & API_LEDGER_VIEW) ? store_version(r->srv->catalog->store)
                                                 : store_catalog_version(r->srv->catalog->store);
        e = http_cache_find(&key, version);
        if (e) {
            action_view(r, name, 200);
            ret = http_cache_reply(r, e);
            goto out;
        }
    }
    if (!have_upload && r->up_unnamed && act && (act->flags & API_UPLOAD) &&
        !json_string_length(json_object_get(r->params, "url"))) {
        /* The file part came without a file name (request.c): storing nothing under an
         * empty url would silently lose the file. With a url it is ignored, as CKAN
         * ignores an upload field that holds no file. */
        struct err err = ERR_INIT;

        err_set(&err, ERR_VALIDATION, "upload",
                "the uploaded file has no file name: send the \"upload\" part with a "
                "filename (curl -F 'upload=@file.csv'), or give a \"url\"");
        ret = http_reply_api_error(r, name, &err);
        goto out;
    }
    /* A request that may run for seconds takes a slot and runs on a worker of the gate,
     * leaving this thread to its other connections (gate.c). */
    if (!have_upload && api_ckan_expensive(name, r->params)) {
        struct err err = ERR_INIT;

        if (http_gate_enter(&r->srv->gate, r->remote, name, &err)) {
            ret = http_reply_api_error(r, name, &err);
            goto out;
        }
        r->gated = true;
        ret = http_gate_run(r, name);
        goto out;
    }
    /* As text: package_search splices its datasets' stored texts in (api.h). */
    api_ckan_call_text(r->srv->catalog, &r->actor, name, r->method == HM_POST, r->params,
                       have_upload ? &up : NULL, &s, &len, &status, NULL);
    action_view(r, name, status);
    if (act && (act->flags & API_CACHEABLE))
        flags |= REPLY_CACHEABLE;
    if (!cached || status != 200) {
        ret = http_reply(r, status, HTTP_JSON_TYPE, s, len, flags);
        goto out;
    }
    e = http_cache_put(&key, version, s, len);
    if (e) {
        free(s);
        ret = http_cache_reply(r, e);
    } else {
        ret = http_reply(r, status, HTTP_JSON_TYPE, s, len, flags);
    }
out:
    if (cached)
        buf_release(&key);
    return ret;
}
