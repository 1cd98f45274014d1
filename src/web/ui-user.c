/*
 * ui-user.c - signing in and out: the login form, the page of a signed-in user, and the
 * page a POST without its CSRF token gets (docs/internals/web.md, "Publisher pages").
 */
#include <jansson.h>

#include "web/html.h"
#include "web/ui.h"
#include "web/web-int.h"
#include "core/util.h"

void ui_login_page(const char *name, const char *next, enum ui_login_error error,
                   unsigned long retry_seconds, struct buf *out)
{
    ui_header(out, _("Log in"));
    HTML(out, "<h1>");
    TX(out, "Log in");
    HTML(out, "</h1>\n");
    if (error != UI_LOGIN_OK) {
        /* role=alert: read out at once when the page comes back with it. */
        HTML(out, "<p class=\"error\" role=\"alert\" id=\"login-error\">");
        switch (error) {
        case UI_LOGIN_WRONG:
            TX(out, "Wrong user name or password.");
            break;
        case UI_LOGIN_THROTTLED:
            TX(out, "Too many failed attempts: wait before trying again.");
            HTML(out, " ");
            ui_count(out, retry_seconds, "Try again in %n second.", "Try again in %n seconds.");
            break;
        case UI_LOGIN_UNAVAILABLE:
            TX(out, "Signing in is not available on this portal's store.");
            break;
        case UI_LOGIN_OK:
            break;
        }
        HTML(out, "</p>\n");
    }
    HTML(out, "<form class=\"login\" action=\"/user/login\" method=\"post\">\n");
    ui_csrf_field(out);
    if (next && next[0]) {
        HTML(out, "<input type=\"hidden\" name=\"next\" value=\"");
        html_attr(out, next);
        HTML(out, "\">");
    }
    HTML(out, "<p><label for=\"login-name\">");
    TX(out, "User name");
    HTML(out, "</label>\n<input id=\"login-name\" name=\"name\" autocomplete=\"username\" "
              "autocapitalize=\"none\" spellcheck=\"false\" required");
    if (error != UI_LOGIN_OK)
        HTML(out, " aria-describedby=\"login-error\"");
    if (name && name[0]) {
        HTML(out, " value=\"");
        html_attr(out, name);
        HTML(out, "\"");
    }
    HTML(out, "></p>\n<p><label for=\"login-password\">");
    TX(out, "Password");
    HTML(out, "</label>\n<input id=\"login-password\" name=\"password\" type=\"password\" "
              "autocomplete=\"current-password\" required");
    if (error != UI_LOGIN_OK)
        HTML(out, " aria-describedby=\"login-error\"");
    HTML(out, "></p>\n<p><button type=\"submit\">");
    TX(out, "Log in");
    HTML(out, "</button></p>\n</form>\n");
    ui_footer(out);
}

void ui_signed_in_page(const char *user, struct buf *out)
{
    ui_header(out, _("Signed in"));
    HTML(out, "<h1>");
    TX(out, "Signed in");
    HTML(out, "</h1>\n<p>");
    TX(out, "You are signed in as");
    HTML(out, " <strong>");
    html_text(out, user);
    HTML(out, "</strong>.</p>\n<p><a href=\"/dataset/new\">");
    TX(out, "Create a dataset");
    HTML(out, "</a></p>\n<form action=\"/user/logout\" method=\"post\">");
    ui_csrf_field(out);
    HTML(out, "<button type=\"submit\">");
    TX(out, "Log out");
    HTML(out, "</button></form>\n");
    ui_footer(out);
}

void ui_csrf_refused_page(bool login, struct buf *out)
{
    ui_error_page(403,
                  login ? _("The form's security token (CSRF) is missing or does not match: "
                            "open the login page again and send the form from there.")
                        : _("The form's security token (CSRF) is missing or does not match "
                            "your session: open the page again (you may have been signed out) "
                            "and send the form from there."),
                  out);
}
