/*
 * publish.c - web sessions for the publisher pages: the session cookie, the CSRF check
 * of every POST to a page, signing in (with failed attempts slowed per account and per
 * client address) and out (docs/internals/web.md, "Publisher pages").
 *
 * The session is a cookie holding a 256-bit random id (access/session.c keeps only its
 * hash in the store): HttpOnly, SameSite=Lax, Path=/, Secure when the site URL is https.
 * CSRF: OWASP's synchronizer token pattern. Each session has a random token, written in
 * every form as csrf_token and compared (constant time) with the session's on every POST
 * to a page. The sign-in form has no session yet: its token is a pre-session cookie
 * (HttpOnly, SameSite=Strict, Path=/user/login) sent back as the same field (OWASP's
 * double-submit cookie), so a foreign page cannot sign a browser into another account.
 * The JSON API takes API tokens only and never the cookie: a cross-site form can reach
 * it, but not as the browser's user.
 */
#include <microhttpd.h>
#include <pthread.h>
#include <string.h>
#include <time.h>

#include "api/api.h"
#include "core/timeutil.h"
#include "http/http-int.h"
#include "web/html.h"
#include "web/i18n.h"
#include "web/ui.h"
#include "core/util.h"

/* ---- Failed sign-ins ---------------------------------------------------------------------
 * A direct-mapped table of counters, one per account name and one per client address,
 * placed by a keyed hash (a random key per process, so nobody can aim a name at a slot).
 * Up to THROTTLE_FREE failures (per address: THROTTLE_FREE_ADDR, as many people may share
 * one behind a NAT) cost nothing; each further one locks the key for twice as long as the
 * last, up to THROTTLE_MAX_S; a quiet THROTTLE_FORGET_S forgets the count. A success
 * clears the account's count (not the address's). Per process: with several servers an
 * attacker gets each server's allowance, which still bounds guesses to a few per
 * quarter hour per server. */
#define THROTTLE_SLOTS     1024u
#define THROTTLE_FREE      5u
#define THROTTLE_FREE_ADDR 20u
#define THROTTLE_MAX_S     900u
#define THROTTLE_FORGET_S  900u

struct throttle_slot {
    uint8_t key[16];
    unsigned fails;
    uint64_t last_us, until_us;
};

static pthread_mutex_t throttle_lock = PTHREAD_MUTEX_INITIALIZER;
static struct throttle_slot throttle[THROTTLE_SLOTS];
static uint8_t throttle_seed[32];
static pthread_once_t throttle_once = PTHREAD_ONCE_INIT;

static void throttle_init(void)
{
    secret_random(throttle_seed, sizeof(throttle_seed));
}

static struct throttle_slot *throttle_slot(char kind, const char *what, uint8_t key[16])
{
    uint8_t h[SHA256_LEN];
    struct sha256_ctx ctx;
    size_t i;

    pthread_once(&throttle_once, throttle_init);
    sha256_init(&ctx);
    sha256_update(&ctx, throttle_seed, sizeof(throttle_seed));
    sha256_update(&ctx, &kind, 1);
    sha256_update(&ctx, what, strlen(what));
    sha256_final(&ctx, h);
    memcpy(key, h, 16);
    i = ((size_t)h[16] << 8 | h[17]) % THROTTLE_SLOTS;
    return &throttle[i];
}

/* Seconds key (kind 'u': account, 'a': address) is still locked for (0: free). Call
 * with throttle_lock held. */
static unsigned long throttle_wait(char kind, const char *what, uint64_t now_us)
{
    uint8_t key[16];
    struct throttle_slot *t = throttle_slot(kind, what, key);

    if (memcmp(t->key, key, sizeof(key)) || t->until_us <= now_us)
        return 0;
    return (unsigned long)((t->until_us - now_us + 999999) / 1000000);
}

static void throttle_fail(char kind, const char *what, unsigned free_fails, uint64_t now_us)
{
    uint8_t key[16];
    struct throttle_slot *t = throttle_slot(kind, what, key);
    unsigned over, wait_s;

    if (memcmp(t->key, key, sizeof(key)) ||
        now_us - t->last_us > (uint64_t)THROTTLE_FORGET_S * 1000000) {
        memcpy(t->key, key, sizeof(key));
        t->fails = 0;
        t->until_us = 0;
    }
    t->fails++;
    t->last_us = now_us;
    if (t->fails < free_fails)
        return;
    over = t->fails - free_fails;
    wait_s = over >= 10 ? THROTTLE_MAX_S : 1u << over;
    if (wait_s > THROTTLE_MAX_S)
        wait_s = THROTTLE_MAX_S;
    t->until_us = now_us + (uint64_t)wait_s * 1000000;
}

static void throttle_clear(char kind, const char *what)
{
    uint8_t key[16];
    struct throttle_slot *t = throttle_slot(kind, what, key);

    if (!memcmp(t->key, key, sizeof(key)))
        memset(t, 0, sizeof(*t));
}

/* ---- Cookies ------------------------------------------------------------------------------ */

static bool site_https(const struct request *r)
{
    const char *u = r->srv->catalog->site_url;

    return u && !strncasecmp(u, "https://", 8);
}

/* A cookie value as secret_token_new() makes them ("kf_" + URL-safe base64), else NULL:
 * anything else is not ours and is never echoed into a page or compared. */
static const char *token_cookie(struct request *r, const char *name)
{
    const char *v = MHD_lookup_connection_value(r->conn, MHD_COOKIE_KIND, name);
    size_t len = v ? strlen(v) : 0;

    if (len < 8 || len >= TOKEN_STR_MAX || strncmp(v, "kf_", 3))
        return NULL;
    for (size_t i = 3; i < len; i++)
        if (!((v[i] >= 'a' && v[i] <= 'z') || (v[i] >= 'A' && v[i] <= 'Z') ||
              (v[i] >= '0' && v[i] <= '9') || v[i] == '-' || v[i] == '_'))
            return NULL;
    return v;
}

static void add_cookie(struct MHD_Response *resp, const struct request *r, const char *name,
                       const char *value, const char *path, long max_age, const char *samesite)
{
    char c[256];

    xsnprintf(c, sizeof(c), "%s=%s; Path=%s; Max-Age=%ld; HttpOnly; SameSite=%s%s", name, value,
              path, max_age, samesite, site_https(r) ? "; Secure" : "");
    MHD_add_response_header(resp, MHD_HTTP_HEADER_SET_COOKIE, c);
    secret_wipe(c, sizeof(c));
}

/* Queues an HTML page (b, taken) or, location not NULL, an empty 303 to it, never
 * stored by any cache, with up to two Set-Cookie headers already added by the caller
 * through the callback's response. */
static enum MHD_Result reply_session(struct request *r, unsigned status, struct buf *b,
                                     const char *location, const char *cookie_name,
                                     const char *cookie_value, const char *cookie_path,
                                     long max_age, const char *samesite, bool clear_login)
{
    struct MHD_Response *resp;
    size_t len = 0;
    char *s = NULL;

    if (b) {
        s = buf_detach(b, &len);
        resp = MHD_create_response_from_buffer(len, s, MHD_RESPMEM_MUST_FREE);
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, HTTP_HTML_TYPE);
    } else {
        resp = MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
        MHD_add_response_header(resp, MHD_HTTP_HEADER_LOCATION, location);
    }
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
    if (cookie_name)
        add_cookie(resp, r, cookie_name, cookie_value, cookie_path, max_age, samesite);
    if (clear_login)
        add_cookie(resp, r, HTTP_LOGIN_COOKIE, "", "/user/login", 0, "Strict");
    http_common_headers(r, resp, b != NULL);
    return http_queue(r, status, resp, len);
}

/* ---- Sessions and CSRF -------------------------------------------------------------------- */

int http_session_resolve(struct request *r)
{
    const char *sid = token_cookie(r, HTTP_SESSION_COOKIE);
    struct err err = ERR_INIT;
    int rc;

    if (!sid)
        return 0;
    rc = access_actor_from_session(r->srv->catalog->store, sid, (int64_t)time(NULL), &r->actor,
                                   r->csrf, &err);
    if (rc == -ERR_AUTH)
        return 0; /* ended or unknown: anonymous, and the login link is offered */
    if (rc) {
        http_reply_html_error(r, err_kind_status(err.kind), err.msg);
        return -1;
    }
    r->session = true;
    xsnprintf(r->sid, sizeof(r->sid), "%s", sid);
    return 0;
}

static bool token_equal(const char *a, const char *b)
{
    size_t n = a ? strlen(a) : 0;

    return a && b && n > 0 && n == strlen(b) && secret_equal(a, b, n);
}

int http_csrf_check(struct request *r)
{
    const char *sent = json_string_value(json_object_get(r->params, "csrf_token"));
    bool login = r->route->flags & ROUTE_LOGIN;
    struct buf b = BUF_INIT;
    size_t len;
    char *s;

    if (login ? token_equal(token_cookie(r, HTTP_LOGIN_COOKIE), sent)
              : r->session && token_equal(r->csrf, sent))
        return 0;
    ui_csrf_refused_page(login, &b);
    s = buf_detach(&b, &len);
    http_reply(r, 403, HTTP_HTML_TYPE, s, len, REPLY_HTML);
    return -1;
}

/* A local path to go to after signing in ("/…", never "//…" or "/\…": another host). */
static const char *safe_next(const char *next)
{
    if (!next || next[0] != '/' || next[1] == '/' || next[1] == '\\' || strpbrk(next, "\r\n") ||
        strlen(next) > LIMIT_FIELD_MAX)
        return NULL;
    return next;
}

/* Renders the login form with the pre-session token tok as its CSRF field. */
static void login_form(struct request *r, const char *tok, const char *name, const char *next,
                       enum ui_login_error error, unsigned long wait_s, struct buf *b)
{
    struct ui_request ur = *ui_request_current();

    ur.csrf = tok;
    ui_request_begin(&ur);
    ui_login_page(name, safe_next(next), error, wait_s, b);
    ui_request_end();
    (void)r;
}

enum MHD_Result http_login_page(struct request *r)
{
    const char *tok = token_cookie(r, HTTP_LOGIN_COOKIE);
    char fresh[TOKEN_STR_MAX];
    struct buf b = BUF_INIT;
    const char *next = json_string_value(json_object_get(r->params, "next"));

    if (r->session) {
        ui_signed_in_page(r->actor.name, &b);
        return reply_session(r, 200, &b, NULL, NULL, NULL, NULL, 0, NULL, false);
    }
    if (tok) {
        login_form(r, tok, NULL, next, UI_LOGIN_OK, 0, &b);
        return reply_session(r, 200, &b, NULL, NULL, NULL, NULL, 0, NULL, false);
    }
    secret_token_new(fresh);
    login_form(r, fresh, NULL, next, UI_LOGIN_OK, 0, &b);
    return reply_session(r, 200, &b, NULL, HTTP_LOGIN_COOKIE, fresh, "/user/login", 3600, "Strict",
                         false);
}

enum MHD_Result http_login(struct request *r)
{
    const char *name = json_string_value(json_object_get(r->params, "name"));
    const char *password = json_string_value(json_object_get(r->params, "password"));
    const char *next = json_string_value(json_object_get(r->params, "next"));
    const char *tok = token_cookie(r, HTTP_LOGIN_COOKIE); /* checked by http_csrf_check */
    char sid[TOKEN_STR_MAX], csrf[TOKEN_STR_MAX];
    uint64_t now_us = time_mono_us();
    unsigned long wait_s, w;
    struct err err = ERR_INIT;
    struct buf b = BUF_INIT;
    enum MHD_Result ret;
    int rc;

    if (!name)
        name = "";
    pthread_mutex_lock(&throttle_lock);
    wait_s = throttle_wait('u', name, now_us);
    w = throttle_wait('a', r->remote, now_us);
    pthread_mutex_unlock(&throttle_lock);
    if (w > wait_s)
        wait_s = w;
    if (wait_s) {
        char retry[32];
        struct MHD_Response *resp;
        size_t len;
        char *s;

        login_form(r, tok, name, next, UI_LOGIN_THROTTLED, wait_s, &b);
        s = buf_detach(&b, &len);
        resp = MHD_create_response_from_buffer(len, s, MHD_RESPMEM_MUST_FREE);
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, HTTP_HTML_TYPE);
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
        xsnprintf(retry, sizeof(retry), "%lu", wait_s);
        MHD_add_response_header(resp, MHD_HTTP_HEADER_RETRY_AFTER, retry);
        http_common_headers(r, resp, true);
        return http_queue(r, MHD_HTTP_TOO_MANY_REQUESTS, resp, len);
    }
    rc = access_session_create(r->srv->catalog->store, name, password, (int64_t)time(NULL), sid,
                               csrf, &err);
    if (rc == -ERR_AUTH) {
        pthread_mutex_lock(&throttle_lock);
        throttle_fail('u', name, THROTTLE_FREE, now_us);
        throttle_fail('a', r->remote, THROTTLE_FREE_ADDR, now_us);
        pthread_mutex_unlock(&throttle_lock);
        login_form(r, tok, name, next, UI_LOGIN_WRONG, 0, &b);
        return reply_session(r, 403, &b, NULL, NULL, NULL, NULL, 0, NULL, false);
    }
    if (rc) {
        login_form(r, tok, name, next, UI_LOGIN_UNAVAILABLE, 0, &b);
        return reply_session(r, err_kind_status(err.kind), &b, NULL, NULL, NULL, NULL, 0, NULL,
                             false);
    }
    pthread_mutex_lock(&throttle_lock);
    throttle_clear('u', name);
    pthread_mutex_unlock(&throttle_lock);
    next = safe_next(next);
    ret = reply_session(r, 303, NULL, next ? next : "/", HTTP_SESSION_COOKIE, sid, "/",
                        ACCESS_SESSION_SECONDS, "Lax", true);
    secret_wipe(sid, sizeof(sid));
    secret_wipe(csrf, sizeof(csrf));
    return ret;
}

enum MHD_Result http_logout(struct request *r)
{
    struct err err = ERR_INIT;

    /* http_csrf_check let only a session's own form through. */
    if (access_session_end(r->srv->catalog->store, r->sid, &err))
        return http_reply_html_error(r, err_kind_status(err.kind), err.msg);
    return reply_session(r, 303, NULL, "/", HTTP_SESSION_COOKIE, "", "/", 0, "Lax", false);
}

/* ---- The publisher pages ------------------------------------------------------------------ */

int http_page_action(struct request *r, const char *name, json_t *params, const struct upload *up,
                     json_t **result, struct err *err)
{
    enum err_kind kind = ERR_NONE;
    unsigned status = 500;
    json_t *doc = NULL, *e;
    const char *key, *field = NULL;
    json_t *v;
    int ret = 0;

    *result = NULL;
    api_ckan_call(r->srv->catalog, &r->actor, name, true, params, up, &doc, &status, &kind);
    if (kind == ERR_NONE) {
        *result = json_incref(json_object_get(doc, "result"));
        goto out;
    }
    e = json_object_get(doc, "error");
    json_object_foreach (e, key, v) {
        if (strcmp(key, "__type") && strcmp(key, "message")) {
            field = key;
            break;
        }
    }
    ret = err_set(err, kind, field, "%s",
                  json_string_value(json_object_get(e, "message"))
                          ? json_string_value(json_object_get(e, "message"))
                          : "the action failed");
out:
    json_decref(doc);
    return ret;
}

enum MHD_Result http_to_login(struct request *r)
{
    struct buf loc = BUF_INIT;
    enum MHD_Result ret;

    buf_addstr(&loc, "/user/login?next=");
    html_url_arg(&loc, r->url);
    ret = reply_session(r, 303, NULL, loc.buf, NULL, NULL, NULL, 0, NULL, false);
    buf_release(&loc);
    return ret;
}

enum MHD_Result http_reply_form(struct request *r, unsigned status, int rc, struct buf *b,
                                struct err *err)
{
    size_t len;
    char *s;

    if (rc < 0) {
        buf_release(b);
        return http_reply_html_error(r, err_kind_status(err->kind), err->msg);
    }
    if (buf_failed(b)) {
        buf_release(b);
        return http_reply_html_error(r, 500, "the page is too large");
    }
    s = buf_detach(b, &len);
    return http_reply_cc(r, status, HTTP_HTML_TYPE, s, len, REPLY_HTML, "no-store");
}

enum MHD_Result http_see_other(struct request *r, struct buf *loc)
{
    enum MHD_Result ret = reply_session(r, 303, NULL, loc->buf, NULL, NULL, NULL, 0, NULL, false);

    buf_release(loc);
    return ret;
}

static char *arg_dup(const struct request *r, unsigned i)
{
    return xstrndup(r->args[i].p, r->args[i].len);
}

/* The dataset id (args[0]) as package_show gives it to r's actor, and whether the actor
 * may edit it (editor or admin of its organization, or sysadmin). 0, or -1 after
 * queueing the answer (404 for a dataset the actor may not see, 303 to sign in for an
 * anonymous caller, 403 for one who may not edit). */
static int editable_dataset(struct request *r, json_t **d)
{
    char *id = arg_dup(r, 0);
    json_t *params = json_pack("{s:s}", "id", id);
    struct err err = ERR_INIT;
    int ret = 0;

    *d = NULL;
    if (!r->actor.authenticated) {
        http_to_login(r);
        ret = -1;
        goto out;
    }
    if (catalog_package_show(r->srv->catalog, &r->actor, params, d, &err) < 0) {
        http_reply_html_error(r, err_kind_status(err.kind), err.msg);
        ret = -1;
        goto out;
    }
    if (actor_capacity(&r->actor, json_string_value(json_object_get(*d, "owner_org"))) <
        CAPACITY_EDITOR) {
        http_reply_html_error(r, 403, "you may not edit this dataset");
        json_decref(*d);
        *d = NULL;
        ret = -1;
    }
out:
    json_decref(params);
    free(id);
    return ret;
}

enum MHD_Result http_dataset_new(struct request *r)
{
    json_t *params = NULL, *res = NULL;
    struct err err = ERR_INIT, aerr = ERR_INIT;
    struct buf b = BUF_INIT, loc = BUF_INIT;
    enum MHD_Result ret;
    int rc;

    if (!r->actor.authenticated)
        return http_to_login(r);
    if (r->method != HM_POST) {
        rc = ui_dataset_form(r->srv->catalog, &r->actor, NULL, NULL, NULL, &b, &err);
        return http_reply_form(r, 200, rc, &b, &err);
    }
    params = ui_dataset_form_params(r->params, NULL);
    if (http_page_action(r, "package_create", params, NULL, &res, &aerr)) {
        rc = ui_dataset_form(r->srv->catalog, &r->actor, NULL, r->params, &aerr, &b, &err);
        ret = http_reply_form(r, err_kind_status(aerr.kind), rc, &b, &err);
        goto out;
    }
    buf_addstr(&loc, "/dataset/");
    html_url_arg(&loc, json_string_value(json_object_get(res, "name")));
    ret = http_see_other(r, &loc);
out:
    json_decref(params);
    json_decref(res);
    return ret;
}

enum MHD_Result http_dataset_edit(struct request *r)
{
    json_t *d = NULL, *params = NULL, *res = NULL;
    struct err err = ERR_INIT, aerr = ERR_INIT;
    struct buf b = BUF_INIT, loc = BUF_INIT;
    enum MHD_Result ret = MHD_YES;
    int rc;

    if (editable_dataset(r, &d))
        goto out;
    if (r->method != HM_POST) {
        rc = ui_dataset_form(r->srv->catalog, &r->actor, d, NULL, NULL, &b, &err);
        ret = http_reply_form(r, 200, rc, &b, &err);
        goto out;
    }
    params = ui_dataset_form_params(r->params, d);
    if (http_page_action(r, "package_patch", params, NULL, &res, &aerr)) {
        rc = ui_dataset_form(r->srv->catalog, &r->actor, d, r->params, &aerr, &b, &err);
        ret = http_reply_form(r, err_kind_status(aerr.kind), rc, &b, &err);
        goto out;
    }
    buf_addstr(&loc, "/dataset/");
    html_url_arg(&loc, json_string_value(json_object_get(res, "name")));
    ret = http_see_other(r, &loc);
out:
    json_decref(d);
    json_decref(params);
    json_decref(res);
    return ret;
}

enum MHD_Result http_resource_new(struct request *r)
{
    json_t *d = NULL, *params = NULL, *res = NULL;
    struct err aerr = ERR_INIT;
    struct buf b = BUF_INIT, loc = BUF_INIT;
    enum MHD_Result ret = MHD_YES;
    struct upload up;
    const char *name;

    if (editable_dataset(r, &d))
        goto out;
    if (r->method != HM_POST) {
        ui_resource_form(d, NULL, NULL, &b);
        ret = http_reply_form(r, 200, 0, &b, &aerr);
        goto out;
    }
    if (!http_upload_get(r, &up)) {
        err_set(&aerr, ERR_VALIDATION, "upload", "choose a file to upload");
        ui_resource_form(d, r->params, &aerr, &b);
        ret = http_reply_form(r, 409, 0, &b, &aerr);
        goto out;
    }
    name = json_string_value(json_object_get(r->params, "name"));
    params = json_pack("{s:O, s:s, s:s}", "package_id", json_object_get(d, "id"), "name",
                       name && name[0] ? name : (up.filename ? up.filename : ""), "description",
                       json_string_value(json_object_get(r->params, "description"))
                               ? json_string_value(json_object_get(r->params, "description"))
                               : "");
    if (http_page_action(r, "resource_create", params, &up, &res, &aerr)) {
        ui_resource_form(d, r->params, &aerr, &b);
        ret = http_reply_form(r, err_kind_status(aerr.kind), 0, &b, &aerr);
        goto out;
    }
    buf_addstr(&loc, "/dataset/");
    html_url_arg(&loc, json_string_value(json_object_get(d, "name")));
    buf_addstr(&loc, "/resource/");
    html_url_arg(&loc, json_string_value(json_object_get(res, "id")));
    buf_addstr(&loc, "/ingest");
    ret = http_see_other(r, &loc);
out:
    json_decref(d);
    json_decref(params);
    json_decref(res);
    return ret;
}

/* The resource args[1] of the dataset d, or NULL after queueing 404. */
static json_t *resource_of(struct request *r, const json_t *d)
{
    size_t i;
    json_t *v;

    json_array_foreach (json_object_get(d, "resources"), i, v) {
        const char *id = json_string_value(json_object_get(v, "id"));

        if (id && strlen(id) == r->args[1].len && !memcmp(id, r->args[1].p, r->args[1].len))
            return v;
    }
    http_reply_html_error(r, 404, "resource not found in this dataset");
    return NULL;
}

enum MHD_Result http_ingest_page(struct request *r)
{
    json_t *d = NULL, *res;
    struct buf b = BUF_INIT;
    struct err err = ERR_INIT;
    enum MHD_Result ret = MHD_YES;

    if (editable_dataset(r, &d))
        goto out;
    res = resource_of(r, d);
    if (!res)
        goto out;
    ui_ingest_page(r->srv->catalog, &r->actor, d, res, &b);
    ret = http_reply_form(r, 200, 0, &b, &err);
out:
    json_decref(d);
    return ret;
}

/* The column types form re-types the table's columns: a field it names that the table
 * does not have (a forged form; datastore_create would add it as an empty column) is
 * -ERR_VALIDATION naming it. */
static int dictionary_check(struct request *r, const json_t *res, const json_t *fields,
                            struct err *err)
{
    json_t *params = json_pack("{s:O}", "id", json_object_get(res, "id")), *info = NULL, *f, *c;
    size_t i, j;
    int ret;

    ret = http_page_action(r, "datastore_info", params, NULL, &info, err);
    json_array_foreach (fields, i, f) {
        const char *id = json_string_value(json_object_get(f, "id"));
        bool known = false;

        if (ret)
            break;
        json_array_foreach (json_object_get(info, "fields"), j, c)
            known = known || str_eq(json_string_value(json_object_get(c, "id")), id);
        if (!known)
            ret = err_set(err, ERR_VALIDATION, "fields",
                          "\"%s\" is not a column of the table: this form changes the types "
                          "of the table's columns",
                          id ? id : "");
    }
    json_decref(params);
    json_decref(info);
    return ret;
}

enum MHD_Result http_dictionary(struct request *r)
{
    json_t *d = NULL, *res, *params = NULL, *out = NULL;
    struct err err = ERR_INIT, aerr = ERR_INIT;
    struct buf b = BUF_INIT, loc = BUF_INIT;
    enum MHD_Result ret = MHD_YES;
    int rc;

    if (editable_dataset(r, &d))
        goto out;
    res = resource_of(r, d);
    if (!res)
        goto out;
    if (r->method != HM_POST) {
        rc = ui_dictionary_form(r->srv->catalog, &r->actor, d, res, NULL, NULL, &b, &err);
        ret = http_reply_form(r, 200, rc, &b, &err);
        goto out;
    }
    /* As through the API: datastore_create with other types re-ingests the file with
     * them (datastore.md); a value that does not fit stops it with its line. */
    /* force: a table ingested from a file is read-only to datastore writes (CKAN's
     * url_type rule); the user may edit the resource, which the action checks. */
    params = json_pack("{s:O, s:o, s:b}", "resource_id", json_object_get(res, "id"), "fields",
                       ui_dictionary_fields(r->params), "force", true);
    if (dictionary_check(r, res, json_object_get(params, "fields"), &aerr) ||
        http_page_action(r, "datastore_create", params, NULL, &out, &aerr)) {
        rc = ui_dictionary_form(r->srv->catalog, &r->actor, d, res, r->params, &aerr, &b, &err);
        ret = http_reply_form(r, err_kind_status(aerr.kind), rc, &b, &err);
        goto out;
    }
    buf_addstr(&loc, "/dataset/");
    html_url_arg(&loc, json_string_value(json_object_get(d, "name")));
    buf_addstr(&loc, "/resource/");
    html_url_arg(&loc, json_string_value(json_object_get(res, "id")));
    buf_addstr(&loc, "/ingest");
    ret = http_see_other(r, &loc);
out:
    json_decref(d);
    json_decref(params);
    json_decref(out);
    return ret;
}
