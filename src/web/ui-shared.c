/*
 * ui-shared.c - the chrome every page shares: document head, site header with the
 * navigation, search box and language switch, footer; helpers for dataset fields.
 */
#include <jansson.h>

#include "web/html.h"
#include "web/ui.h"
#include "web/web-int.h"
#include "core/util.h"

/* The language switch: /lang?to=CODE&next=<this page's path and query>. The server
 * sets the cookie and sends the browser back to next (routes.c). */
static void lang_switch(struct buf *b)
{
    const struct ui_request *r = ui_request_current();
    enum ui_lang other = ui_lang_current() == UI_LANG_ZH ? UI_LANG_EN : UI_LANG_ZH;

    HTML(b, "<a class=\"lang\" href=\"/lang?to=");
    html_url_arg(b, ui_lang_code(other));
    if (r && r->path) {
        struct buf next = BUF_INIT;

        buf_addstr(&next, r->path);
        if (r->query && r->query[0]) {
            buf_addch(&next, '?');
            buf_addstr(&next, r->query);
        }
        HTML(b, "&amp;next=");
        html_url_arg(b, next.buf);
        buf_release(&next);
    }
    HTML(b, "\" hreflang=\"");
    html_attr(b, ui_lang_tag(other));
    HTML(b, "\" lang=\"");
    html_attr(b, ui_lang_tag(other));
    HTML(b, "\">");
    if (other == UI_LANG_ZH)
        HTML(b, "中文");
    else
        HTML(b, "English");
    HTML(b, "</a>");
}

/* The account part of the navigation: "Log in" (back to this page afterwards), or the
 * signed-in user (a link to their account page) with "New dataset" and a "Log out" button (a POST
 * form carrying the session's CSRF token: signing out changes state, so it is no link). */
static void account_links(struct buf *b)
{
    const struct ui_request *r = ui_request_current();

    if (r && r->user && r->csrf) {
        HTML(b, "<li><a href=\"/dataset/new\">");
        TX(b, "New dataset");
        HTML(b, "</a></li>\n<li class=\"account\"><a class=\"user\" href=\"/user/account\" "
                "title=\"");
        TX(b, "My account");
        HTML(b, "\">");
        html_text(b, r->user);
        HTML(b, "</a> <form class=\"logout\" action=\"/user/logout\" method=\"post\">");
        ui_csrf_field(b);
        HTML(b, "<button type=\"submit\">");
        TX(b, "Log out");
        HTML(b, "</button></form></li>\n");
        return;
    }
    if (r && r->user)
        return; /* an API token's caller: no session to end */
    HTML(b, "<li><a href=\"/user/login");
    if (r && r->path && !str_eq(r->path, "/user/login")) {
        struct buf next = BUF_INIT;

        buf_addstr(&next, r->path);
        if (r->query && r->query[0]) {
            buf_addch(&next, '?');
            buf_addstr(&next, r->query);
        }
        HTML(b, "?next=");
        html_url_arg(b, next.buf);
        buf_release(&next);
    }
    HTML(b, "\">");
    TX(b, "Log in");
    HTML(b, "</a></li>\n");
}

void ui_csrf_field(struct buf *b)
{
    const struct ui_request *r = ui_request_current();

    HTML(b, "<input type=\"hidden\" name=\"csrf_token\" value=\"");
    if (r && r->csrf)
        html_attr(b, r->csrf);
    HTML(b, "\">");
}

static void header(struct buf *b, const char *title, const char *head)
{
    HTML(b, "<!DOCTYPE html>\n<html lang=\"");
    html_attr(b, ui_lang_tag(ui_lang_current()));
    HTML(b, "\">\n<head>\n<meta charset=\"utf-8\">\n"
            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
            "<title>");
    html_text(b, title);
    HTML(b, " · ");
    TX(b, "Kaifang open data");
    HTML(b, "</title>\n<link rel=\"stylesheet\" href=\"/static/kaifang.css\">\n");
    if (head)
        buf_addstr(b, head);
    HTML(b, "</head>\n<body>\n<a class=\"skip\" href=\"#main\">");
    TX(b, "Skip to content");
    HTML(b, "</a>\n<header class=\"site\">\n<a class=\"brand\" href=\"/\">");
    TX(b, "Kaifang open data");
    HTML(b, "</a>\n<nav aria-label=\"");
    TX(b, "Site");
    HTML(b, "\"><ul>\n<li><a href=\"/dataset\">");
    TX(b, "Datasets");
    HTML(b, "</a></li>\n<li><a href=\"/organization\">");
    TX(b, "Organizations");
    HTML(b, "</a></li>\n<li><a href=\"/group\">");
    TX(b, "Themes");
    HTML(b, "</a></li>\n<li><a href=\"/ledger\">");
    TX(b, "Ledger");
    HTML(b, "</a></li>\n<li><a href=\"/api\">");
    TX(b, "API");
    HTML(b, "</a></li>\n");
    account_links(b);
    HTML(b, "<li>");
    lang_switch(b);
    HTML(b, "</li>\n</ul></nav>\n<form class=\"search\" action=\"/dataset\" method=\"get\" "
            "role=\"search\">\n<label for=\"site-q\">");
    TX(b, "Search datasets");
    HTML(b, "</label>\n<input type=\"search\" id=\"site-q\" name=\"q\">\n<button "
            "type=\"submit\">");
    TX(b, "Search");
    HTML(b, "</button>\n</form>\n</header>\n<main id=\"main\">\n");
}

void ui_header(struct buf *b, const char *title)
{
    header(b, title, NULL);
}

void ui_header_head_(struct buf *b, const char *title, const char *head_literal)
{
    header(b, title, head_literal);
}

void ui_footer(struct buf *b)
{
    HTML(b, "</main>\n<footer>\n<p>");
    TX(b, "Data published through the CKAN API v3.");
    HTML(b, " <a href=\"/api\">");
    TX(b, "Use the API");
    HTML(b, "</a> · <a href=\"/licenses\">");
    TX(b, "Licences");
    HTML(b, "</a> · <a href=\"/ledger\">");
    TX(b, "Every change is recorded in the public ledger.");
    HTML(b, "</a></p>\n</footer>\n</body>\n</html>\n");
}

void ui_link_external(struct buf *b, const char *url, const char *label)
{
    if (!url || !url[0])
        return;
    if (strncasecmp(url, "http://", 7) && strncasecmp(url, "https://", 8)) {
        html_text(b, label ? label : url);
        return;
    }
    HTML(b, "<a href=\"");
    html_attr(b, url);
    HTML(b, "\" rel=\"nofollow noopener\">");
    html_text(b, label ? label : url);
    HTML(b, "</a>");
}

static const char *translated(const json_t *d, const char *field)
{
    const char *t;
    char key[32];

    if (ui_lang_current() != UI_LANG_ZH)
        return NULL;
    xsnprintf(key, sizeof(key), "%s_translated", field);
    t = ui_str(json_object_get(d, key), "zh_CN");
    if (!t || !t[0])
        t = ui_str(json_object_get(d, key), "zh");
    return t && t[0] ? t : NULL;
}

const char *ui_dataset_title(const json_t *d)
{
    const char *t = translated(d, "title");

    if (!t)
        t = ui_str(d, "title");
    return t && t[0] ? t : ui_str(d, "name");
}

const char *ui_dataset_notes(const json_t *d)
{
    const char *t = translated(d, "notes");

    return t ? t : ui_str(d, "notes");
}

bool ui_dataset_restricted(const json_t *d)
{
    const char *level = ui_str(d, "access_level");

    return level && level[0] && !str_eq(level, "public");
}

void ui_publisher_actions(struct buf *b, const struct actor *a, const json_t *d, const json_t *r)
{
    const char *name = ui_str(d, "name");

    if (!a || !a->authenticated || !name ||
        (!a->sysadmin && actor_capacity(a, ui_str(d, "owner_org")) < CAPACITY_EDITOR))
        return;
    HTML(b, "<nav class=\"publisher-actions\" aria-label=\"");
    TX(b, "Publisher actions");
    HTML(b, "\"><ul>\n<li><a href=\"/dataset/edit/");
    html_url_arg(b, name);
    HTML(b, "\">");
    TX(b, "Edit dataset");
    HTML(b, "</a></li>\n<li><a href=\"/dataset/");
    html_url_arg(b, name);
    HTML(b, "/resource/new\">");
    TX(b, "Add a resource");
    HTML(b, "</a></li>\n");
    if (r && json_is_true(json_object_get(r, "datastore_active"))) {
        HTML(b, "<li><a href=\"/dataset/");
        html_url_arg(b, name);
        HTML(b, "/resource/");
        html_url_arg(b, ui_str(r, "id"));
        HTML(b, "/dictionary\">");
        TX(b, "Change the column types");
        HTML(b, "</a></li>\n");
    }
    HTML(b, "</ul></nav>\n");
}

void ui_dataset_item(struct buf *b, const json_t *d)
{
    ui_dataset_item_views(b, d, -1);
}

void ui_dataset_item_views(struct buf *b, const json_t *d, long long views)
{
    const char *name = ui_str(d, "name");
    const json_t *org = json_object_get(d, "organization"), *r;
    json_t *seen = json_object();
    size_t i;

    HTML(b, "<li><a href=\"/dataset/");
    html_url_arg(b, name);
    HTML(b, "\">");
    html_text(b, ui_dataset_title(d));
    HTML(b, "</a>");
    if (json_is_object(org)) {
        const char *ot = ui_str(org, "title");

        HTML(b, "<span class=\"org\">");
        html_text(b, ot && ot[0] ? ot : ui_str(org, "name"));
        HTML(b, "</span>");
    }
    json_array_foreach (json_object_get(d, "resources"), i, r) {
        const char *f = ui_str(r, "format");

        if (!f || !f[0] || json_object_get(seen, f))
            continue;
        json_object_set_new(seen, f, json_true());
        HTML(b, "<span class=\"format\">");
        html_text(b, f);
        HTML(b, "</span>");
    }
    json_decref(seen);
    if (views >= 0) {
        HTML(b, "<span class=\"views\">");
        ui_count(b, (unsigned long long)views, "%n view", "%n views");
        HTML(b, "</span>");
    }
    HTML(b, "</li>\n");
}

const char *ui_str(const json_t *obj, const char *key)
{
    return json_string_value(json_object_get(obj, key));
}

void ui_size(struct buf *b, unsigned long long bytes)
{
    if (bytes < 1024)
        buf_addf(b, "%llu B", bytes);
    else if (bytes < 1024 * 1024)
        buf_addf(b, "%.1f KB", (double)bytes / 1024);
    else if (bytes < 1024ull * 1024 * 1024)
        buf_addf(b, "%.1f MB", (double)bytes / (1024 * 1024));
    else
        buf_addf(b, "%.1f GB", (double)bytes / (1024.0 * 1024 * 1024));
}

void ui_count(struct buf *b, unsigned long long n, const char *singular, const char *plural)
{
    const char *form = ui_ngettext(singular, plural, n), *p = strstr(form, "%n");
    char num[24];
    struct buf tmp = BUF_INIT;

    xsnprintf(num, sizeof(num), "%llu", n);
    if (p) {
        buf_add(&tmp, form, (size_t)(p - form));
        buf_addstr(&tmp, num);
        buf_addstr(&tmp, p + 2);
    } else {
        buf_addstr(&tmp, form);
    }
    html_text(b, tmp.buf);
    buf_release(&tmp);
}

void ui_fill(struct buf *b, const char *form, const char *a1, const char *a2, const char *a3)
{
    const char *args[3] = {a1, a2, a3}, *p = form, *q;
    struct buf tmp = BUF_INIT;

    while ((q = strchr(p, '{')) != NULL) {
        if (q[1] >= '1' && q[1] <= '3' && q[2] == '}') {
            buf_add(&tmp, p, (size_t)(q - p));
            if (args[q[1] - '1'])
                buf_addstr(&tmp, args[q[1] - '1']);
            p = q + 3;
        } else {
            buf_add(&tmp, p, (size_t)(q - p) + 1);
            p = q + 1;
        }
    }
    buf_addstr(&tmp, p);
    html_text(b, tmp.buf);
    buf_release(&tmp);
}

void ui_error_page(unsigned status, const char *message, struct buf *out)
{
    const char *title;

    switch (status) {
    case 400:
        title = _("Bad request");
        break;
    case 403:
        title = _("Forbidden");
        break;
    case 404:
        title = _("Not found");
        break;
    case 503:
        title = _("Service unavailable");
        break;
    default:
        title = status >= 500 ? _("Server error") : _("Error");
        break;
    }
    ui_header(out, title);
    HTML(out, "<h1>");
    html_text(out, title);
    HTML(out, "</h1>\n<p>");
    html_text(out, message);
    HTML(out, "</p>\n");
    ui_footer(out);
}
