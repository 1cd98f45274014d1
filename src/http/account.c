/*
 * account.c - the account pages (web/ui-account.c renders them; docs/internals/web.md,
 * "Account pages"): "my account" for anyone signed in (password, API tokens), the users
 * of the portal for a sysadmin (create, set a password, disable, enable), an
 * organization's members and roles for its admins, and the pending grant requests of an
 * organization for its approvers.
 *
 * GET shows the page; a POST (its CSRF token checked by dispatch()) names what it does in
 * "op" and runs it as r's actor: through the CKAN action when there is one (so that the
 * checks, errors and ledger entries are the API's), else through the access function the
 * action would call. Success answers 303 back to the page with "done" naming what was
 * done (the page says it), so that reloading sends nothing again; an API token created
 * is the exception: it is shown once, in the answer to the POST itself (no-store). An
 * error shows the page again with the message (the status of the error's kind).
 * Anonymous callers are sent to sign in; others who may not use a page get 403.
 */
#include <jansson.h>
#include <microhttpd.h>
#include <string.h>

#include "access/grant.h"
#include "http/http-int.h"
#include "web/html.h"
#include "web/i18n.h"
#include "web/ui.h"
#include "core/util.h"

static const char *param(const struct request *r, const char *name)
{
    return json_string_value(json_object_get(r->params, name));
}

/* A form value, "" when absent. */
static const char *field(const struct request *r, const char *name)
{
    const char *v = param(r, name);

    return v ? v : "";
}

/* 303 to base (a path) with ?done=what. */
static enum MHD_Result done(struct request *r, const char *base, const char *what)
{
    struct buf loc = BUF_INIT;

    buf_addstr(&loc, base);
    buf_addstr(&loc, "?done=");
    html_url_arg(&loc, what);
    return http_see_other(r, &loc);
}

/* The path of this request, for redirecting back to it. */
static const char *self(const struct request *r)
{
    return r->url;
}

typedef int (*account_render_fn)(struct request *r, const json_t *org,
                                 const struct ui_account_form *f, struct buf *b, struct err *err);

/* Renders the page with f (the error of an op, or a notice) and queues it. */
static enum MHD_Result show(struct request *r, account_render_fn render, const json_t *org,
                            struct ui_account_form *f, unsigned status)
{
    struct buf b = BUF_INIT;
    struct err err = ERR_INIT;
    int rc;

    if (!f->notice && r->method != HM_POST)
        f->notice = param(r, "done");
    rc = render(r, org, f, &b, &err);
    return http_reply_form(r, status, rc, &b, &err);
}

/* Shows the page again with the error of op. */
static enum MHD_Result failed(struct request *r, account_render_fn render, const json_t *org,
                              const char *op, struct err *aerr)
{
    struct ui_account_form f = {.values = r->params, .error = aerr, .op = op};

    return show(r, render, org, &f, err_kind_status(aerr->kind));
}

/* ---- My account ---------------------------------------------------------------------- */

/* The page after one's own password changed: the session ended with it, so the chrome
 * shows nobody signed in (and no stale CSRF token). */
static enum MHD_Result password_changed(struct request *r)
{
    struct ui_request ur = *ui_request_current();
    struct err err = ERR_INIT;
    struct buf b = BUF_INIT;

    ur.user = NULL;
    ur.csrf = NULL;
    ui_request_begin(&ur);
    ui_password_changed_page(&b);
    ui_request_end();
    return http_reply_form(r, 200, 0, &b, &err);
}

static int render_account(struct request *r, const json_t *org, const struct ui_account_form *f,
                          struct buf *b, struct err *err)
{
    (void)org;
    return ui_account_page(r->srv->catalog, &r->actor, f, b, err);
}

enum MHD_Result http_account_page(struct request *r)
{
    struct ui_account_form f = {0};
    struct err aerr = ERR_INIT;
    struct store *s = r->srv->catalog->store;
    const char *op = field(r, "op");
    json_t *params = NULL, *res = NULL;
    enum MHD_Result ret;

    if (!r->actor.authenticated)
        return http_to_login(r);
    if (r->method != HM_POST)
        return show(r, render_account, NULL, &f, 200);
    if (str_eq(op, "password")) {
        /* The current password first: a session left open must not be enough to take
         * the account over. The change ends every session of the user, this one too. */
        if (access_password_check(s, r->actor.name, field(r, "old_password"), &aerr) ||
            (strcmp(field(r, "password"), field(r, "password2")) &&
             err_set(&aerr, ERR_VALIDATION, "password2", "the two new passwords differ")) ||
            access_password_set_as(s, &r->actor, r->actor.name, field(r, "password"), &aerr))
            return failed(r, render_account, NULL, op, &aerr);
        return password_changed(r);
    }
    if (str_eq(op, "token_create")) {
        params = json_pack("{s:s, s:s}", "user", r->actor.name, "name", field(r, "label"));
        if (http_page_action(r, "api_token_create", params, NULL, &res, &aerr)) {
            ret = failed(r, render_account, NULL, op, &aerr);
            goto out;
        }
        /* Shown once, in this answer: never stored by a cache (http_reply_form). */
        f.new_token = json_string_value(json_object_get(res, "token"));
        ret = show(r, render_account, NULL, &f, 200);
        goto out;
    }
    if (str_eq(op, "token_revoke")) {
        if (access_token_revoke_own_as(s, &r->actor, r->actor.name, field(r, "id"), &aerr))
            return failed(r, render_account, NULL, op, &aerr);
        return done(r, self(r), "token-revoked");
    }
    err_set(&aerr, ERR_VALIDATION, "op", "unknown operation \"%.40s\"", op);
    return failed(r, render_account, NULL, op, &aerr);
out:
    if (res) {
        /* The token's text: wiped from the result before it is freed. */
        const char *t = json_string_value(json_object_get(res, "token"));

        if (t)
            secret_wipe((char *)t, strlen(t));
    }
    json_decref(params);
    json_decref(res);
    return ret;
}

/* ---- The users of the portal (sysadmins) ---------------------------------------------- */

static int render_users(struct request *r, const json_t *org, const struct ui_account_form *f,
                        struct buf *b, struct err *err)
{
    (void)org;
    return ui_users_page(r->srv->catalog, &r->actor, f, b, err);
}

enum MHD_Result http_users_page(struct request *r)
{
    struct ui_account_form f = {0};
    struct err aerr = ERR_INIT;
    struct store *s = r->srv->catalog->store;
    const char *op = field(r, "op"), *user = field(r, "user");
    json_t *params = NULL, *res = NULL;
    enum MHD_Result ret;

    if (!r->actor.authenticated)
        return http_to_login(r);
    if (!r->actor.sysadmin)
        return http_reply_html_error(r, 403, ui_account_refusal(UI_REFUSE_USERS));
    if (r->method != HM_POST)
        return show(r, render_users, NULL, &f, 200);
    if (str_eq(op, "create")) {
        params = json_pack("{s:s, s:b}", "name", field(r, "name"), "sysadmin",
                           str_eq(field(r, "sysadmin"), "on"));
        if (*field(r, "email"))
            json_object_set_new(params, "email", json_string(field(r, "email")));
        if (*field(r, "fullname"))
            json_object_set_new(params, "fullname", json_string(field(r, "fullname")));
        if (*field(r, "password"))
            json_object_set_new(params, "password", json_string(field(r, "password")));
        if (http_page_action(r, "user_create", params, NULL, &res, &aerr))
            ret = failed(r, render_users, NULL, op, &aerr);
        else
            ret = done(r, self(r), "user-created");
        json_decref(params);
        json_decref(res);
        return ret;
    }
    if (str_eq(op, "password")) {
        if (access_password_set_as(s, &r->actor, user, field(r, "password"), &aerr))
            return failed(r, render_users, NULL, op, &aerr);
        return done(r, self(r), "password-set");
    }
    if (str_eq(op, "disable") || str_eq(op, "enable")) {
        if (access_user_state_set_as(s, &r->actor, user, str_eq(op, "enable"), &aerr))
            return failed(r, render_users, NULL, op, &aerr);
        return done(r, self(r), str_eq(op, "enable") ? "user-enabled" : "user-disabled");
    }
    err_set(&aerr, ERR_VALIDATION, "op", "unknown operation \"%.40s\"", op);
    return failed(r, render_users, NULL, op, &aerr);
}

/* ---- An organization's members and roles (its admins) -------------------------------- */

/* The organization args[0] as organization_show gives it to r's actor, or NULL after
 * queueing the answer (303 to sign in, 404). */
static json_t *organization_of(struct request *r)
{
    char *id = xstrndup(r->args[0].p, r->args[0].len);
    json_t *params = json_pack("{s:s, s:b}", "id", id, "include_datasets", false), *org = NULL;
    struct err err = ERR_INIT;

    if (!r->actor.authenticated)
        http_to_login(r);
    else if (catalog_organization_show(r->srv->catalog, &r->actor, params, &org, &err) < 0)
        http_reply_html_error(r, err_kind_status(err.kind), err.msg);
    json_decref(params);
    free(id);
    return org;
}

static int render_members(struct request *r, const json_t *org, const struct ui_account_form *f,
                          struct buf *b, struct err *err)
{
    return ui_members_page(r->srv->catalog, &r->actor, org, f, b, err);
}

enum MHD_Result http_members_page(struct request *r)
{
    struct ui_account_form f = {0};
    struct err aerr = ERR_INIT;
    json_t *org = organization_of(r), *params = NULL, *res = NULL;
    const char *op = field(r, "op"), *oid, *action = NULL, *what = NULL;
    enum MHD_Result ret = MHD_YES;

    if (!org)
        return MHD_YES;
    oid = json_string_value(json_object_get(org, "id"));
    if (actor_capacity(&r->actor, oid) < CAPACITY_ADMIN) {
        ret = http_reply_html_error(r, 403, ui_account_refusal(UI_REFUSE_MEMBERS));
        goto out;
    }
    if (r->method != HM_POST) {
        ret = show(r, render_members, org, &f, 200);
        goto out;
    }
    if (str_eq(op, "member_set")) {
        action = "organization_member_create";
        what = "member-set";
        params = json_pack("{s:s, s:s, s:s}", "id", oid, "username", field(r, "username"), "role",
                           field(r, "capacity"));
    } else if (str_eq(op, "member_remove")) {
        action = "organization_member_delete";
        what = "member-removed";
        params = json_pack("{s:s, s:s}", "id", oid, "username", field(r, "username"));
    } else if (str_eq(op, "role_add") || str_eq(op, "role_remove")) {
        bool add = str_eq(op, "role_add");

        action = add ? "user_role_create" : "user_role_delete";
        what = add ? "role-added" : "role-removed";
        /* Of this organization only: portal-wide roles are a sysadmin's, on the CLI/API. */
        params = json_pack("{s:s, s:s, s:s}", "user", field(r, "user"), "role", field(r, "role"),
                           "organization", oid);
    }
    if (!action) {
        err_set(&aerr, ERR_VALIDATION, "op", "unknown operation \"%.40s\"", op);
        ret = failed(r, render_members, org, op, &aerr);
        goto out;
    }
    if (http_page_action(r, action, params, NULL, &res, &aerr))
        ret = failed(r, render_members, org, op, &aerr);
    else
        ret = done(r, self(r), what);
out:
    json_decref(org);
    json_decref(params);
    json_decref(res);
    return ret;
}

/* ---- An organization's pending grant requests (its approvers) ------------------------- */

static int render_grants(struct request *r, const json_t *org, const struct ui_account_form *f,
                         struct buf *b, struct err *err)
{
    return ui_grants_page(r->srv->catalog, &r->actor, org, f, b, err);
}

enum MHD_Result http_grants_page(struct request *r)
{
    struct ui_account_form f = {0};
    struct err aerr = ERR_INIT;
    json_t *org = organization_of(r), *params = NULL, *res = NULL;
    const char *op = field(r, "op"), *oid;
    enum MHD_Result ret = MHD_YES;

    if (!org)
        return MHD_YES;
    oid = json_string_value(json_object_get(org, "id"));
    if (!actor_has_role(&r->actor, ROLE_APPROVER, oid)) {
        ret = http_reply_html_error(r, 403, ui_account_refusal(UI_REFUSE_GRANTS));
        goto out;
    }
    if (r->method != HM_POST) {
        ret = show(r, render_grants, org, &f, 200);
        goto out;
    }
    if (!str_eq(op, "approve") && !str_eq(op, "refuse")) {
        err_set(&aerr, ERR_VALIDATION, "op", "unknown operation \"%.40s\"", op);
        ret = failed(r, render_grants, org, op, &aerr);
        goto out;
    }
    /* grant_approve / grant_refuse check the two-person rule (access_approver_check()):
     * the page offers no decision on one's own request, and the action refuses it too. */
    params = json_pack("{s:s}", "id", field(r, "id"));
    if (*field(r, "note"))
        json_object_set_new(params, "note", json_string(field(r, "note")));
    if (http_page_action(r, str_eq(op, "approve") ? "grant_approve" : "grant_refuse", params, NULL,
                         &res, &aerr))
        ret = failed(r, render_grants, org, op, &aerr);
    else
        ret = done(r, self(r), str_eq(op, "approve") ? "grant-approved" : "grant-refused");
out:
    json_decref(org);
    json_decref(params);
    json_decref(res);
    return ret;
}

/* ---- The privacy override (an approver, from the resource page) ----------------------- */

enum MHD_Result http_privacy_override(struct request *r)
{
    char *id = xstrndup(r->args[0].p, r->args[0].len),
         *rid = xstrndup(r->args[1].p, r->args[1].len);
    json_t *params = json_pack("{s:s, s:s}", "resource_id", rid, "justification",
                               field(r, "justification")),
           *res = NULL;
    struct err aerr = ERR_INIT;
    struct buf loc = BUF_INIT;
    enum MHD_Result ret;

    if (!r->actor.authenticated) {
        ret = http_to_login(r);
        goto out;
    }
    if (http_page_action(r, "datastore_privacy_override", params, NULL, &res, &aerr)) {
        ret = http_reply_html_error(r, err_kind_status(aerr.kind), aerr.msg);
        goto out;
    }
    buf_addstr(&loc, "/dataset/");
    html_url_arg(&loc, id);
    buf_addstr(&loc, "/resource/");
    html_url_arg(&loc, rid);
    buf_addstr(&loc, "#h-privacy");
    ret = http_see_other(r, &loc);
out:
    json_decref(params);
    json_decref(res);
    free(id);
    free(rid);
    return ret;
}
