/*
 * ui-account.c - the account pages (src/http/account.c serves them; docs/internals/web.md,
 * "Account pages"): my account (password, API tokens), the portal's users (sysadmins),
 * an organization's members and roles (its admins), and its pending grant requests (its
 * approvers). Every form posts back to its page with the session's CSRF token and an
 * "op" naming what it does; an error comes back above the form it belongs to.
 */
#include <jansson.h>

#include "access/grant.h"
#include "web/html.h"
#include "web/ui.h"
#include "web/web-int.h"
#include "core/util.h"

/* What a "done" key of the URL says (anything else: nothing). */
static const char *notice_text(const char *key)
{
    static const struct {
        const char *key, *text;
    } map[] = {
            {"user-created", N_("The user was created.")},
            {"password-set", N_("The password was set; the user's sessions ended.")},
            {"user-disabled", N_("The user was disabled; their sessions ended.")},
            {"user-enabled", N_("The user was enabled.")},
            {"member-set", N_("The member was saved.")},
            {"member-removed", N_("The member was removed.")},
            {"role-added", N_("The role was given.")},
            {"role-removed", N_("The role was taken away.")},
            {"grant-approved", N_("The grant was approved.")},
            {"grant-refused", N_("The grant was refused.")},
            {"token-revoked", N_("The API token was revoked.")},
    };

    for (size_t i = 0; key && i < ARRAY_SIZE(map); i++)
        if (str_eq(key, map[i].key))
            return ui_gettext(map[i].text);
    return NULL;
}

static void notice(struct buf *out, const struct ui_account_form *f)
{
    const char *t = notice_text(f->notice);

    if (!t || f->error)
        return;
    HTML(out, "<p class=\"notice\" role=\"status\">");
    html_text(out, t);
    HTML(out, "</p>\n");
}

/* The error of op's form, above it. */
static void form_error(struct buf *out, const struct ui_account_form *f, const char *op)
{
    if (!f->error || f->error->kind == ERR_NONE || !str_eq(f->op, op))
        return;
    HTML(out, "<p class=\"error\" role=\"alert\" id=\"e-");
    html_attr(out, op);
    HTML(out, "\">");
    html_text(out, f->error->msg);
    HTML(out, "</p>\n");
}

/* The value submitted for name when op's form came back with an error, else "". */
static const char *value(const struct ui_account_form *f, const char *op, const char *name)
{
    const char *v;

    if (!f->error || !str_eq(f->op, op))
        return "";
    v = json_string_value(json_object_get(f->values, name));
    return v ? v : "";
}

static void form_open(struct buf *out, const char *action, const char *op, const char *klass)
{
    HTML(out, "<form method=\"post\" class=\"");
    html_attr(out, klass);
    HTML(out, "\" action=\"");
    html_attr(out, action);
    HTML(out, "\">");
    ui_csrf_field(out);
    if (!op)
        return; /* the form's buttons carry it */
    HTML(out, "<input type=\"hidden\" name=\"op\" value=\"");
    html_attr(out, op);
    HTML(out, "\">\n");
}

static void hidden(struct buf *out, const char *name, const char *v)
{
    HTML(out, "<input type=\"hidden\" name=\"");
    html_attr(out, name);
    HTML(out, "\" value=\"");
    html_attr(out, v ? v : "");
    HTML(out, "\">");
}

/* <p class="field"><label for=id>label</label> <input ...></p>; type: "text",
 * "password", "email". autocomplete may be NULL. */
static void input(struct buf *out, const char *id, const char *name, const char *label,
                  const char *type, const char *val, const char *autocomplete, bool required)
{
    HTML(out, "<p class=\"field\"><label for=\"");
    html_attr(out, id);
    HTML(out, "\">");
    html_text(out, label);
    HTML(out, "</label>\n<input id=\"");
    html_attr(out, id);
    HTML(out, "\" name=\"");
    html_attr(out, name);
    HTML(out, "\" type=\"");
    html_attr(out, type);
    HTML(out, "\"");
    if (val && val[0]) {
        HTML(out, " value=\"");
        html_attr(out, val);
        HTML(out, "\"");
    }
    if (autocomplete) {
        HTML(out, " autocomplete=\"");
        html_attr(out, autocomplete);
        HTML(out, "\"");
    }
    if (required)
        HTML(out, " required");
    HTML(out, "></p>\n");
}

static void button(struct buf *out, const char *label)
{
    HTML(out, "<button type=\"submit\">");
    html_text(out, label);
    HTML(out, "</button>");
}

static void capacity_select(struct buf *out, const char *id, const char *selected, bool labelled_by)
{
    static const char *const caps[] = {"member", "editor", "admin"};
    const char *names[] = {_("member"), _("editor"), _("admin")};

    HTML(out, "<select id=\"");
    html_attr(out, id);
    HTML(out, "\" name=\"capacity\"");
    if (labelled_by) {
        HTML(out, " aria-label=\"");
        TX(out, "Capacity");
        HTML(out, "\"");
    }
    HTML(out, ">");
    for (size_t i = 0; i < ARRAY_SIZE(caps); i++) {
        HTML(out, "<option value=\"");
        html_attr(out, caps[i]);
        HTML(out, "\"");
        if (str_eq(selected, caps[i]))
            HTML(out, " selected");
        HTML(out, ">");
        html_text(out, names[i]);
        HTML(out, "</option>");
    }
    HTML(out, "</select>");
}

static const char *role_label(const char *role)
{
    if (str_eq(role, ROLE_APPROVER))
        return _("approver");
    if (str_eq(role, ROLE_AUDITOR))
        return _("auditor");
    if (str_eq(role, ROLE_GRANTEE))
        return _("grantee");
    return role;
}

/* A table in a focusable scrolling region (narrow screens scroll it, not the page). */
static void table_open(struct buf *out, const char *label)
{
    HTML(out, "<div class=\"table-wrap\" tabindex=\"0\" role=\"region\" aria-label=\"");
    html_attr(out, label);
    HTML(out, "\">\n<table>\n");
}

static void table_close(struct buf *out)
{
    HTML(out, "</table>\n</div>\n");
}

static void th(struct buf *out, const char *label)
{
    HTML(out, "<th scope=\"col\">");
    html_text(out, label);
    HTML(out, "</th>");
}

/* ---- My account --------------------------------------------------------------------- */

/* Links to the pages where a acts for an organization: members (admin), grant requests
 * (approver), and the users (sysadmin). */
static void section_where(struct catalog *c, const struct actor *a, struct buf *out)
{
    json_t *seen = json_object(), *m, *r, *org = NULL, *params;
    struct buf items = BUF_INIT;
    size_t i;

    json_array_foreach (a->memberships, i, m) {
        const char *oid = ui_str(m, "id");

        if (oid && str_eq(ui_str(m, "capacity"), "admin"))
            json_object_set_new(seen, oid, json_string("admin"));
    }
    json_array_foreach (a->roles, i, r) {
        const char *oid = ui_str(r, "organization");

        if (oid && str_eq(ui_str(r, "role"), ROLE_APPROVER)) {
            const char *had = json_string_value(json_object_get(seen, oid));

            json_object_set_new(seen, oid, json_string(had ? "both" : "approver"));
        }
    }
    if (a->sysadmin) {
        HTML(&items, "<li><a href=\"/user\">");
        TX(&items, "Users of the portal");
        HTML(&items, "</a></li>\n");
    }
    {
        const char *oid;
        json_t *v;

        json_object_foreach (seen, oid, v) {
            struct err e = ERR_INIT;
            const char *what = json_string_value(v), *title;

            params = json_pack("{s:s, s:b}", "id", oid, "include_datasets", false);
            org = NULL;
            if (catalog_organization_show(c, a, params, &org, &e) < 0) {
                json_decref(params);
                continue;
            }
            json_decref(params);
            title = ui_str(org, "title");
            if (!title || !title[0])
                title = ui_str(org, "name");
            if (!str_eq(what, "approver")) {
                HTML(&items, "<li><a href=\"/organization/members/");
                html_url_arg(&items, ui_str(org, "name"));
                HTML(&items, "\">");
                ui_fill(&items, _("Members and roles of {1}"), title, NULL, NULL);
                HTML(&items, "</a></li>\n");
            }
            if (!str_eq(what, "admin")) {
                HTML(&items, "<li><a href=\"/organization/grants/");
                html_url_arg(&items, ui_str(org, "name"));
                HTML(&items, "\">");
                ui_fill(&items, _("Grant requests of {1}"), title, NULL, NULL);
                HTML(&items, "</a></li>\n");
            }
            json_decref(org);
        }
    }
    if (items.len) {
        HTML(out, "<section aria-labelledby=\"where\">\n<h2 id=\"where\">");
        TX(out, "What you manage");
        HTML(out, "</h2>\n<ul>\n");
        buf_add(out, items.buf, items.len);
        HTML(out, "</ul>\n</section>\n");
    }
    buf_release(&items);
    json_decref(seen);
}

int ui_account_page(struct catalog *c, const struct actor *a, const struct ui_account_form *f,
                    struct buf *out, struct err *err)
{
    json_t *tokens = NULL, *t;
    size_t i;
    int ret = access_token_list_as(c->store, a, a->name, &tokens, err);

    if (ret)
        return ret;
    ui_header(out, _("My account"));
    HTML(out, "<h1>");
    TX(out, "My account");
    HTML(out, "</h1>\n<p>");
    TX(out, "You are signed in as");
    HTML(out, " <strong>");
    html_text(out, a->name);
    HTML(out, "</strong>.</p>\n");
    notice(out, f);
    if (f->new_token) {
        HTML(out, "<div class=\"new-token\" role=\"status\">\n<p>");
        TX(out, "Your new API token. It is shown only this once: copy it now.");
        HTML(out, "</p>\n<pre tabindex=\"0\"><code id=\"new-token\">");
        html_text(out, f->new_token);
        HTML(out, "</code></pre>\n</div>\n");
    }
    section_where(c, a, out);

    HTML(out, "<section aria-labelledby=\"pw\">\n<h2 id=\"pw\">");
    TX(out, "Change your password");
    HTML(out, "</h2>\n<p>");
    TX(out, "Changing it signs you out everywhere; sign in again with the new one.");
    HTML(out, "</p>\n");
    form_error(out, f, "password");
    form_open(out, "/user/account", "password", "account");
    input(out, "f-old", "old_password", _("Current password"), "password", NULL, "current-password",
          true);
    input(out, "f-new", "password", _("New password (at least 8 characters)"), "password", NULL,
          "new-password", true);
    input(out, "f-new2", "password2", _("New password again"), "password", NULL, "new-password",
          true);
    HTML(out, "<p>");
    button(out, _("Change password"));
    HTML(out, "</p>\n</form>\n</section>\n");

    HTML(out, "<section aria-labelledby=\"tokens\">\n<h2 id=\"tokens\">");
    TX(out, "API tokens");
    HTML(out, "</h2>\n<p>");
    TX(out, "A token lets a program call the API as you (header Authorization). Revoke a token "
            "you no longer use.");
    HTML(out, "</p>\n");
    form_error(out, f, "token_revoke");
    if (json_array_size(tokens)) {
        table_open(out, _("API tokens"));
        HTML(out, "<thead><tr>");
        th(out, _("Label"));
        th(out, _("Created"));
        th(out, _("Token id"));
        th(out, _("Action"));
        HTML(out, "</tr></thead>\n<tbody>\n");
        json_array_foreach (tokens, i, t) {
            const char *label = ui_str(t, "label");

            HTML(out, "<tr><td>");
            html_text(out, label && label[0] ? label : "—");
            HTML(out, "</td><td>");
            html_text(out, ui_str(t, "created") ? ui_str(t, "created") : "");
            HTML(out, "</td><td><code>");
            html_text(out, ui_str(t, "id"));
            HTML(out, "</code></td><td>");
            form_open(out, "/user/account", "token_revoke", "inline");
            hidden(out, "id", ui_str(t, "id"));
            HTML(out, "<button type=\"submit\" aria-label=\"");
            html_attr(out, _("Revoke"));
            HTML(out, " ");
            html_attr(out, label && label[0] ? label : ui_str(t, "id"));
            HTML(out, "\">");
            TX(out, "Revoke");
            HTML(out, "</button></form></td></tr>\n");
        }
        HTML(out, "</tbody>\n");
        table_close(out);
    } else {
        HTML(out, "<p>");
        TX(out, "You have no API tokens.");
        HTML(out, "</p>\n");
    }
    HTML(out, "<h3>");
    TX(out, "New API token");
    HTML(out, "</h3>\n");
    form_error(out, f, "token_create");
    form_open(out, "/user/account", "token_create", "account");
    input(out, "f-label", "label", _("Label (what the token is for)"), "text",
          value(f, "token_create", "label"), "off", false);
    HTML(out, "<p>");
    button(out, _("Create token"));
    HTML(out, "</p>\n</form>\n</section>\n");
    ui_footer(out);
    json_decref(tokens);
    return 0;
}

void ui_password_changed_page(struct buf *out)
{
    ui_header(out, _("Password changed"));
    HTML(out, "<h1>");
    TX(out, "Password changed");
    HTML(out, "</h1>\n<p role=\"status\">");
    TX(out, "Your password was changed and you were signed out everywhere.");
    HTML(out, "</p>\n<p><a href=\"/user/login?next=%2Fuser%2Faccount\">");
    TX(out, "Sign in with the new password");
    HTML(out, "</a></p>\n");
    ui_footer(out);
}

/* ---- The users (sysadmins) ---------------------------------------------------------- */

int ui_users_page(struct catalog *c, const struct actor *a, const struct ui_account_form *f,
                  struct buf *out, struct err *err)
{
    json_t *users = NULL, *u;
    size_t i;
    int ret = access_user_list_as(c->store, a, &users, err);

    if (ret)
        return ret;
    ui_header(out, _("Users"));
    HTML(out, "<h1>");
    TX(out, "Users");
    HTML(out, "</h1>\n");
    notice(out, f);

    HTML(out, "<section aria-labelledby=\"new-user\">\n<h2 id=\"new-user\">");
    TX(out, "New user");
    HTML(out, "</h2>\n");
    form_error(out, f, "create");
    form_open(out, "/user", "create", "account");
    input(out, "f-name", "name", _("User name (2 to 100 of a-z, 0-9, - and _)"), "text",
          value(f, "create", "name"), "off", true);
    input(out, "f-fullname", "fullname", _("Full name"), "text", value(f, "create", "fullname"),
          "off", false);
    input(out, "f-email", "email", _("E-mail address"), "email", value(f, "create", "email"), "off",
          false);
    input(out, "f-password", "password", _("Password (at least 8 characters; empty: none)"),
          "password", NULL, "new-password", false);
    HTML(out, "<p class=\"field\"><input type=\"checkbox\" id=\"f-sysadmin\" name=\"sysadmin\"");
    if (str_eq(value(f, "create", "sysadmin"), "on"))
        HTML(out, " checked");
    HTML(out, "> <label for=\"f-sysadmin\">");
    TX(out, "Sysadmin (may do anything)");
    HTML(out, "</label></p>\n<p>");
    button(out, _("Create user"));
    HTML(out, "</p>\n</form>\n</section>\n");

    HTML(out, "<section aria-labelledby=\"all-users\">\n<h2 id=\"all-users\">");
    TX(out, "All users");
    HTML(out, "</h2>\n");
    form_error(out, f, "password");
    form_error(out, f, "disable");
    form_error(out, f, "enable");
    table_open(out, _("All users"));
    HTML(out, "<thead><tr>");
    th(out, _("User"));
    th(out, _("Full name"));
    th(out, _("State"));
    th(out, _("Set a password"));
    th(out, _("Action"));
    HTML(out, "</tr></thead>\n<tbody>\n");
    json_array_foreach (users, i, u) {
        const char *name = ui_str(u, "name"), *state = ui_str(u, "state");
        bool active = str_eq(state, "active");
        char id[32];

        HTML(out, "<tr><th scope=\"row\">");
        html_text(out, name);
        if (json_is_true(json_object_get(u, "sysadmin"))) {
            HTML(out, " <span class=\"badge\">");
            TX(out, "sysadmin");
            HTML(out, "</span>");
        }
        HTML(out, "</th><td>");
        html_text(out, ui_str(u, "fullname") ? ui_str(u, "fullname") : "");
        HTML(out, "</td><td>");
        if (active)
            TX(out, "active");
        else
            TX(out, "disabled");
        HTML(out, "</td><td>");
        form_open(out, "/user", "password", "inline");
        hidden(out, "user", name);
        xsnprintf(id, sizeof(id), "pw-%zu", i);
        HTML(out, "<label class=\"visually-hidden\" for=\"");
        html_attr(out, id);
        HTML(out, "\">");
        ui_fill(out, _("New password for {1}"), name, NULL, NULL);
        HTML(out, "</label><input type=\"password\" id=\"");
        html_attr(out, id);
        HTML(out, "\" name=\"password\" autocomplete=\"new-password\" minlength=\"8\" required> ");
        button(out, _("Set"));
        HTML(out, "</form></td><td>");
        if (!str_eq(name, a->name)) {
            form_open(out, "/user", active ? "disable" : "enable", "inline");
            hidden(out, "user", name);
            HTML(out, "<button type=\"submit\" aria-label=\"");
            html_attr(out, active ? _("Disable") : _("Enable"));
            HTML(out, " ");
            html_attr(out, name);
            HTML(out, "\">");
            if (active)
                TX(out, "Disable");
            else
                TX(out, "Enable");
            HTML(out, "</button></form>");
        }
        HTML(out, "</td></tr>\n");
    }
    HTML(out, "</tbody>\n");
    table_close(out);
    HTML(out, "</section>\n");
    ui_footer(out);
    json_decref(users);
    return 0;
}

/* ---- An organization's members and roles (its admins) ------------------------------- */

static const char *org_title(const json_t *org)
{
    const char *t = ui_str(org, "title");

    return t && t[0] ? t : ui_str(org, "name");
}

int ui_members_page(struct catalog *c, const struct actor *a, const json_t *org,
                    const struct ui_account_form *f, struct buf *out, struct err *err)
{
    const char *oid = ui_str(org, "id"), *name = ui_str(org, "name");
    json_t *members = NULL, *roles = NULL, *m;
    struct buf action = BUF_INIT;
    char title[512];
    size_t i;
    int ret;

    (void)a;
    ret = access_org_members(c->store, oid, &members, err);
    if (!ret)
        ret = access_org_roles(c->store, oid, &roles, err);
    if (ret)
        goto out;
    buf_addstr(&action, "/organization/members/");
    html_url_arg(&action, name);
    xsnprintf(title, sizeof(title), "%s", org_title(org));
    ui_header(out, _("Members and roles"));
    HTML(out, "<h1>");
    ui_fill(out, _("Members and roles of {1}"), title, NULL, NULL);
    HTML(out, "</h1>\n<p><a href=\"/organization/");
    html_url_arg(out, name);
    HTML(out, "\">");
    TX(out, "The organization's page");
    HTML(out, "</a></p>\n");
    notice(out, f);

    HTML(out, "<section aria-labelledby=\"members\">\n<h2 id=\"members\">");
    TX(out, "Members");
    HTML(out, "</h2>\n<p>");
    TX(out, "A member reads the organization's private datasets; an editor also publishes and "
            "edits them; an admin also manages the members and the roles.");
    HTML(out, "</p>\n");
    form_error(out, f, "member_remove");
    if (json_array_size(members)) {
        table_open(out, _("Members"));
        HTML(out, "<thead><tr>");
        th(out, _("User"));
        th(out, _("Capacity"));
        th(out, _("Action"));
        HTML(out, "</tr></thead>\n<tbody>\n");
        json_array_foreach (members, i, m) {
            const char *user = ui_str(m, "name");
            char id[32];

            HTML(out, "<tr><th scope=\"row\">");
            html_text(out, user);
            if (!str_eq(ui_str(m, "state"), "active")) {
                HTML(out, " <span class=\"badge\">");
                TX(out, "disabled");
                HTML(out, "</span>");
            }
            HTML(out, "</th><td>");
            form_open(out, action.buf, "member_set", "inline");
            hidden(out, "username", user);
            xsnprintf(id, sizeof(id), "cap-%zu", i);
            HTML(out, "<label class=\"visually-hidden\" for=\"");
            html_attr(out, id);
            HTML(out, "\">");
            ui_fill(out, _("Capacity of {1}"), user, NULL, NULL);
            HTML(out, "</label>");
            capacity_select(out, id, ui_str(m, "capacity"), false);
            HTML(out, " ");
            button(out, _("Save"));
            HTML(out, "</form></td><td>");
            form_open(out, action.buf, "member_remove", "inline");
            hidden(out, "username", user);
            HTML(out, "<button type=\"submit\" aria-label=\"");
            html_attr(out, _("Remove"));
            HTML(out, " ");
            html_attr(out, user);
            HTML(out, "\">");
            TX(out, "Remove");
            HTML(out, "</button></form></td></tr>\n");
        }
        HTML(out, "</tbody>\n");
        table_close(out);
    } else {
        HTML(out, "<p>");
        TX(out, "The organization has no members.");
        HTML(out, "</p>\n");
    }
    HTML(out, "<h3>");
    TX(out, "Add a member or change a capacity");
    HTML(out, "</h3>\n");
    form_error(out, f, "member_set");
    form_open(out, action.buf, "member_set", "account");
    input(out, "f-username", "username", _("User name"), "text", value(f, "member_set", "username"),
          "off", true);
    HTML(out, "<p class=\"field\"><label for=\"f-capacity\">");
    TX(out, "Capacity");
    HTML(out, "</label>\n");
    capacity_select(out, "f-capacity", value(f, "member_set", "capacity"), false);
    HTML(out, "</p>\n<p>");
    button(out, _("Add member"));
    HTML(out, "</p>\n</form>\n</section>\n");

    HTML(out, "<section aria-labelledby=\"roles\">\n<h2 id=\"roles\">");
    TX(out, "Approvers and auditors");
    HTML(out, "</h2>\n<p>");
    TX(out, "An approver decides the grant requests and privacy overrides of others in this "
            "organization, never their own; an auditor reads what the audit needs. Portal-wide "
            "roles are given by a sysadmin.");
    HTML(out, "</p>\n");
    form_error(out, f, "role_remove");
    table_open(out, _("Roles"));
    HTML(out, "<thead><tr>");
    th(out, _("User"));
    th(out, _("Role"));
    th(out, _("Where"));
    th(out, _("Action"));
    HTML(out, "</tr></thead>\n<tbody>\n");
    json_array_foreach (roles, i, m) {
        const char *user = ui_str(m, "user"), *role = ui_str(m, "role");
        bool here = ui_str(m, "organization") != NULL;

        HTML(out, "<tr><th scope=\"row\">");
        html_text(out, user);
        HTML(out, "</th><td>");
        html_text(out, role_label(role));
        HTML(out, "</td><td>");
        if (here)
            html_text(out, title);
        else
            TX(out, "portal-wide");
        HTML(out, "</td><td>");
        if (here) {
            form_open(out, action.buf, "role_remove", "inline");
            hidden(out, "user", user);
            hidden(out, "role", role);
            HTML(out, "<button type=\"submit\" aria-label=\"");
            html_attr(out, _("Take away"));
            HTML(out, " ");
            html_attr(out, role_label(role));
            HTML(out, " ");
            html_attr(out, user);
            HTML(out, "\">");
            TX(out, "Take away");
            HTML(out, "</button></form>");
        }
        HTML(out, "</td></tr>\n");
    }
    HTML(out, "</tbody>\n");
    table_close(out);
    HTML(out, "<h3>");
    TX(out, "Give a role");
    HTML(out, "</h3>\n");
    form_error(out, f, "role_add");
    form_open(out, action.buf, "role_add", "account");
    input(out, "f-role-user", "user", _("User name"), "text", value(f, "role_add", "user"), "off",
          true);
    HTML(out, "<p class=\"field\"><label for=\"f-role\">");
    TX(out, "Role");
    HTML(out, "</label>\n<select id=\"f-role\" name=\"role\"><option value=\"approver\"");
    if (str_eq(value(f, "role_add", "role"), "approver"))
        HTML(out, " selected");
    HTML(out, ">");
    TX(out, "approver");
    HTML(out, "</option><option value=\"auditor\"");
    if (str_eq(value(f, "role_add", "role"), "auditor"))
        HTML(out, " selected");
    HTML(out, ">");
    TX(out, "auditor");
    HTML(out, "</option></select></p>\n<p>");
    button(out, _("Give role"));
    HTML(out, "</p>\n</form>\n</section>\n");
    ui_footer(out);
out:
    buf_release(&action);
    json_decref(members);
    json_decref(roles);
    return ret;
}

/* ---- Pending grant requests (approvers) ---------------------------------------------- */

static void fact(struct buf *out, const char *label, const char *v)
{
    HTML(out, "<dt>");
    html_text(out, label);
    HTML(out, "</dt><dd>");
    html_text(out, v && v[0] ? v : "—");
    HTML(out, "</dd>\n");
}

int ui_grants_page(struct catalog *c, const struct actor *a, const json_t *org,
                   const struct ui_account_form *f, struct buf *out, struct err *err)
{
    const char *name = ui_str(org, "name");
    json_t *grants = NULL, *params = json_object(), *g;
    struct buf action = BUF_INIT;
    size_t i, n = 0;
    int ret = grant_list(c->store, a, params, &grants, err);

    json_decref(params);
    if (ret)
        return ret;
    buf_addstr(&action, "/organization/grants/");
    html_url_arg(&action, name);
    ui_header(out, _("Grant requests"));
    HTML(out, "<h1>");
    ui_fill(out, _("Grant requests of {1}"), org_title(org), NULL, NULL);
    HTML(out, "</h1>\n<p>");
    TX(out, "Each request asks to read a restricted dataset. Approve or refuse it with a note; "
            "the decision is a ledger entry. Nobody decides a request they made or one that "
            "names them as grantee.");
    HTML(out, "</p>\n");
    notice(out, f);
    if (f->error && f->error->kind != ERR_NONE) {
        HTML(out, "<p class=\"error\" role=\"alert\" id=\"e-decide\">");
        html_text(out, f->error->msg);
        HTML(out, "</p>\n");
    }
    json_array_foreach (grants, i, g) {
        const char *gid = ui_str(g, "id"), *by = ui_str(g, "requested_by");
        bool own = str_eq(by, a->name) || str_eq(ui_str(g, "grantee"), a->name);
        json_t *col;
        struct buf cols = BUF_INIT, period = BUF_INIT;
        char *filters;
        size_t j;

        if (!str_eq(ui_str(g, "organization"), name) || !str_eq(ui_str(g, "state"), "requested"))
            continue;
        n++;
        json_array_foreach (json_object_get(g, "columns"), j, col) {
            if (j)
                buf_addstr(&cols, ", ");
            buf_addstr(&cols, json_string_value(col) ? json_string_value(col) : "");
        }
        buf_addf(&period, "%s – %s", ui_str(g, "valid_from") ? ui_str(g, "valid_from") : "",
                 ui_str(g, "valid_until") ? ui_str(g, "valid_until") : "");
        filters = json_object_size(json_object_get(g, "filters"))
                          ? json_dumps(json_object_get(g, "filters"), JSON_COMPACT)
                          : NULL;
        HTML(out, "<section class=\"grant\" aria-labelledby=\"g-");
        html_attr(out, gid);
        HTML(out, "\">\n<h2 id=\"g-");
        html_attr(out, gid);
        HTML(out, "\">");
        ui_fill(out, _("{1} for {2}"), ui_str(g, "dataset_name"), ui_str(g, "grantee"), NULL);
        HTML(out, "</h2>\n<dl class=\"facts\">\n");
        fact(out, _("Dataset"), ui_str(g, "dataset_name"));
        fact(out, _("Grantee"), ui_str(g, "grantee"));
        fact(out, _("Purpose"), ui_str(g, "purpose"));
        fact(out, _("Legal basis"), ui_str(g, "legal_basis"));
        fact(out, _("Columns"), cols.buf);
        fact(out, _("Row filter"), filters);
        fact(out, _("Period"), period.buf);
        fact(out, _("Fee schedule"), ui_str(g, "fee_schedule"));
        fact(out, _("Requested by"), by);
        fact(out, _("Requested at"), ui_str(g, "requested_at"));
        HTML(out, "</dl>\n");
        if (own) {
            HTML(out, "<p class=\"own\">");
            TX(out, "You made this request or are its grantee: another approver decides it.");
            HTML(out, "</p>\n");
        } else {
            char id[64];

            form_open(out, action.buf, NULL, "decide");
            hidden(out, "id", gid);
            xsnprintf(id, sizeof(id), "note-%zu", i);
            HTML(out, "<p class=\"field\"><label for=\"");
            html_attr(out, id);
            HTML(out, "\">");
            TX(out, "Note (why; public with the decision)");
            HTML(out, "</label>\n<input type=\"text\" id=\"");
            html_attr(out, id);
            HTML(out, "\" name=\"note\"></p>\n<p class=\"buttons\"><button type=\"submit\" "
                      "name=\"op\" value=\"approve\">");
            TX(out, "Approve");
            HTML(out, "</button> <button type=\"submit\" name=\"op\" value=\"refuse\" "
                      "class=\"secondary\">");
            TX(out, "Refuse");
            HTML(out, "</button></p>\n</form>\n");
        }
        HTML(out, "</section>\n");
        free(filters);
        buf_release(&cols);
        buf_release(&period);
    }
    if (!n) {
        HTML(out, "<p>");
        TX(out, "No grant request is waiting for a decision.");
        HTML(out, "</p>\n");
    }
    ui_footer(out);
    buf_release(&action);
    json_decref(grants);
    return 0;
}

const char *ui_account_refusal(enum ui_account_refusal what)
{
    switch (what) {
    case UI_REFUSE_USERS:
        return _("Only a sysadmin manages the users.");
    case UI_REFUSE_MEMBERS:
        return _("Only an admin of this organization manages its members and roles.");
    case UI_REFUSE_GRANTS:
        return _("Only an approver of this organization decides its grant requests.");
    }
    return "";
}

/* ---- The privacy override form of a resource page (approvers) ------------------------- */

/* One reason of the gate's verdict ({"reason", …}, catalog_privacy_gate()) as a sentence. */
static void gate_reason(struct buf *out, const json_t *r, const json_t *gate)
{
    const char *why = ui_str(r, "reason");
    char a1[32], a2[32];

    if (str_eq(why, "direct_identifier")) {
        struct buf cols = BUF_INIT;
        const json_t *v;
        size_t i;

        json_array_foreach (json_object_get(r, "columns"), i, v) {
            if (i)
                buf_addstr(&cols, ", ");
            buf_addstr(&cols, json_string_value(v) ? json_string_value(v) : "");
        }
        ui_fill(out, _("Direct identifiers left in clear in the columns {1}."), cols.buf, NULL,
                NULL);
        buf_release(&cols);
    } else if (str_eq(why, "k_anonymity")) {
        xsnprintf(a1, sizeof(a1), "%lld", (long long)json_integer_value(json_object_get(r, "k")));
        xsnprintf(a2, sizeof(a2), "%lld",
                  (long long)json_integer_value(json_object_get(gate, "k_required")));
        ui_fill(out, _("The quasi-identifiers reach k = {1}, below the portal's {2}."), a1, a2,
                NULL);
    } else if (str_eq(why, "unscanned")) {
        ui_fill(out, _("The file could not be scanned: {1}"), ui_str(r, "error"), NULL, NULL);
    } else {
        html_text(out, why ? why : "");
    }
}

void ui_privacy_override_form(struct catalog *c, const struct actor *a, const json_t *dataset,
                              const json_t *resource, struct buf *out)
{
    const char *rid = ui_str(resource, "id"), *publisher;
    json_t *params, *rep = NULL, *gate, *r;
    struct err err = ERR_INIT;
    size_t i;

    if (!a->authenticated || !rid ||
        !actor_has_role(a, ROLE_APPROVER, ui_str(dataset, "owner_org")))
        return;
    params = json_pack("{s:s}", "resource_id", rid);
    if (catalog_privacy_report_show(c, a, params, &rep, &err) ||
        !catalog_privacy_blocked(gate = json_object_get(rep, "gate")))
        goto out;
    publisher = ui_str(rep, "publisher");
    HTML(out,
         "<section class=\"override\" aria-labelledby=\"h-override\">\n<h2 id=\"h-override\">");
    TX(out, "Override the privacy gate");
    HTML(out, "</h2>\n<p>");
    TX(out, "The gate withholds this table because:");
    HTML(out, "</p>\n<ul class=\"reasons\">\n");
    json_array_foreach (json_object_get(gate, "reasons"), i, r) {
        HTML(out, "<li>");
        gate_reason(out, r, gate);
        HTML(out, "</li>\n");
    }
    HTML(out, "</ul>\n");
    if (str_eq(publisher, a->name)) {
        HTML(out, "<p class=\"own\">");
        TX(out, "You published this table: another approver decides on an override.");
        HTML(out, "</p>\n</section>\n");
        goto out;
    }
    HTML(out, "<p>");
    TX(out, "As an approver other than its publisher you may publish it anyway. Your "
            "justification is public, in the privacy report and the ledger.");
    HTML(out, "</p>\n<form method=\"post\" class=\"account\" action=\"/dataset/");
    html_url_arg(out, ui_str(dataset, "name"));
    HTML(out, "/resource/");
    html_url_arg(out, rid);
    HTML(out, "/override\">");
    ui_csrf_field(out);
    HTML(out, "\n<p class=\"field\"><label for=\"f-justification\">");
    TX(out, "Justification (required)");
    HTML(out, "</label>\n<textarea id=\"f-justification\" name=\"justification\" rows=\"4\" "
              "maxlength=\"4000\" required></textarea></p>\n<p>");
    button(out, _("Override and publish"));
    HTML(out, "</p>\n</form>\n</section>\n");
out:
    json_decref(rep);
    json_decref(params);
}
