/*
 * ui-publish.c - the publisher pages (signed in): create and edit a dataset, upload a
 * resource (a plain multipart form, enhanced by /static/publish.js with a progress bar),
 * the ingest status of a resource (refreshing itself through the same script until the
 * ingest ends) and the data dictionary's types (docs/internals/web.md, "Publisher pages").
 *
 * Each form carries the session's CSRF token (ui_csrf_field). An error of the action
 * (package_create, package_patch, resource_create, datastore_create) comes back as the
 * same form with the submitted values, a summary at the top and the message next to the
 * field it names (aria-invalid, aria-describedby).
 */
#include <jansson.h>

#include "access/access.h"
#include "core/dstype.h"
#include "datastore/datastore.h"
#include "web/html.h"
#include "web/ui.h"
#include "web/web-int.h"
#include "core/util.h"

/* ---- Shared form parts ------------------------------------------------------------------ */

/* Which form field shows an error of the action: the error's field, with the action's
 * names mapped to the form's (tags → tag_string, title_translated → title_zh …). */
static const char *error_field(const struct err *e)
{
    static const char *const map[][2] = {
            {"tags", "tag_string"},           {"title_translated", "title_zh"},
            {"notes_translated", "notes_zh"}, {"organization", "owner_org"},
            {"package_id", "name"},           {"upload", "upload"},
    };

    if (!e || e->kind == ERR_NONE || !e->field[0])
        return NULL;
    for (size_t i = 0; i < ARRAY_SIZE(map); i++)
        if (str_eq(e->field, map[i][0]))
            return map[i][1];
    return e->field;
}

/* The fields of each form, for the summary's link to the one the error names. */
static const char *const dataset_fields[] = {
        "title",     "name",       "title_zh",   "notes",        "notes_zh",
        "owner_org", "license_id", "tag_string", "access_level", "private",
        "temporal",  "spatial",    "frequency",  "url",          NULL,
};
static const char *const resource_fields[] = {"upload", "name", "description", NULL};
static const char *const no_fields[] = {NULL};

static bool listed(const char *const *list, const char *s)
{
    for (; s && *list; list++)
        if (str_eq(*list, s))
            return true;
    return false;
}

/* The summary at the top of a form that came back with an error: the message and, when
 * the error is about one of the form's fields, a link to it. */
static void error_summary(struct buf *out, const struct err *e, const char *const *fields)
{
    if (!e || e->kind == ERR_NONE)
        return;
    HTML(out, "<div class=\"error-summary\" role=\"alert\" tabindex=\"-1\" id=\"errors\">\n<h2>");
    TX(out, "The form could not be saved");
    HTML(out, "</h2>\n<p>");
    html_text(out, e->msg);
    if (listed(fields, error_field(e))) {
        HTML(out, " <a href=\"#f-");
        html_attr(out, error_field(e));
        HTML(out, "\">");
        TX(out, "Go to the field");
        HTML(out, "</a>");
    }
    HTML(out, "</p>\n</div>\n");
}

/* Opens <p class="field"> with the label for id "f-<name>"; closes nothing. */
static void field_label(struct buf *out, const char *name, const char *label, bool required)
{
    HTML(out, "<p class=\"field\"><label for=\"f-");
    html_attr(out, name);
    HTML(out, "\">");
    html_text(out, label);
    if (required) {
        HTML(out, " <span class=\"required\">(");
        TX(out, "required");
        HTML(out, ")</span>");
    }
    HTML(out, "</label>");
}

/* The attributes every control has: id, name, and when the error is about it
 * aria-invalid and aria-describedby pointing at the message; a hint is described too. */
static void field_attrs(struct buf *out, const char *name, const struct err *e, bool hint)
{
    bool bad = str_eq(error_field(e), name);

    HTML(out, " id=\"f-");
    html_attr(out, name);
    HTML(out, "\" name=\"");
    html_attr(out, name);
    HTML(out, "\"");
    if (bad)
        HTML(out, " aria-invalid=\"true\"");
    if (bad || hint) {
        HTML(out, " aria-describedby=\"");
        if (hint) {
            HTML(out, "h-");
            html_attr(out, name);
        }
        if (bad) {
            if (hint)
                HTML(out, " ");
            HTML(out, "e-");
            html_attr(out, name);
        }
        HTML(out, "\"");
    }
}

/* Closes a field: its hint and its error message, if any. */
static void field_end(struct buf *out, const char *name, const char *hint, const struct err *e)
{
    if (hint) {
        HTML(out, "<span class=\"hint\" id=\"h-");
        html_attr(out, name);
        HTML(out, "\">");
        html_text(out, hint);
        HTML(out, "</span>");
    }
    if (str_eq(error_field(e), name)) {
        HTML(out, "<span class=\"field-error\" id=\"e-");
        html_attr(out, name);
        HTML(out, "\">");
        html_text(out, e->msg);
        HTML(out, "</span>");
    }
    HTML(out, "</p>\n");
}

static void text_field(struct buf *out, const char *name, const char *label, const char *value,
                       const char *hint, bool required, const struct err *e)
{
    field_label(out, name, label, required);
    HTML(out, "<input type=\"text\"");
    field_attrs(out, name, e, hint != NULL);
    if (required)
        HTML(out, " required");
    HTML(out, " value=\"");
    html_attr(out, value);
    HTML(out, "\">");
    field_end(out, name, hint, e);
}

static void textarea_field(struct buf *out, const char *name, const char *label, const char *value,
                           const char *hint, const struct err *e)
{
    field_label(out, name, label, false);
    HTML(out, "<textarea rows=\"6\"");
    field_attrs(out, name, e, hint != NULL);
    HTML(out, ">");
    html_text(out, value);
    HTML(out, "</textarea>");
    field_end(out, name, hint, e);
}

/* One <option>, selected when value equals current. label NULL: the value itself. */
static void option(struct buf *out, const char *value, const char *label, const char *current)
{
    HTML(out, "<option value=\"");
    html_attr(out, value);
    HTML(out, "\"");
    if (str_eq(value, current ? current : ""))
        HTML(out, " selected");
    HTML(out, ">");
    html_text(out, label ? label : value);
    HTML(out, "</option>");
}

/* ---- Create and edit a dataset ---------------------------------------------------------- */

/* The form's value of name: the submitted one when the form came back with an error, else
 * the dataset's (d may be NULL: a new dataset). */
static const char *form_value(const json_t *values, const json_t *d, const char *name)
{
    const json_t *zh;

    if (values)
        return ui_str(values, name);
    if (!d)
        return NULL;
    if (str_eq(name, "title_zh") || str_eq(name, "notes_zh")) {
        zh = json_object_get(d, str_eq(name, "title_zh") ? "title_translated" : "notes_translated");
        return ui_str(zh, "zh_CN");
    }
    return ui_str(d, name);
}

/* "a, b, c" of a dataset's tags. */
static void tag_string(struct buf *b, const json_t *d)
{
    size_t i;
    json_t *t;

    json_array_foreach (json_object_get(d, "tags"), i, t) {
        if (i)
            buf_addstr(b, ", ");
        buf_addstr(b, ui_str(t, "name"));
    }
}

int ui_dataset_form(struct catalog *c, const struct actor *a, const json_t *d, const json_t *values,
                    const struct err *error, struct buf *out, struct err *err)
{
    json_t *params = NULL, *orgs = NULL, *licences = NULL, *v;
    struct buf tags = BUF_INIT;
    const char *cur, *title = d ? ui_dataset_title(d) : NULL;
    bool is_private, any_org = false;
    size_t i;
    int ret;

    params = json_pack("{s:b}", "all_fields", true);
    ret = catalog_organization_list(c, a, params, &orgs, err);
    if (!ret)
        ret = catalog_license_list(c, a, NULL, &licences, err);
    if (ret)
        goto out;
    ui_header(out, d ? _("Edit dataset") : _("New dataset"));
    HTML(out, "<h1>");
    if (d) {
        TX(out, "Edit dataset");
        HTML(out, ": ");
        html_text(out, title);
    } else {
        TX(out, "New dataset");
    }
    HTML(out, "</h1>\n");
    error_summary(out, error, dataset_fields);
    HTML(out, "<form class=\"publish\" method=\"post\" action=\"");
    if (d) {
        HTML(out, "/dataset/edit/");
        html_url_arg(out, ui_str(d, "name"));
    } else {
        HTML(out, "/dataset/new");
    }
    HTML(out, "\" novalidate>\n");
    ui_csrf_field(out);
    text_field(out, "title", _("Title"), form_value(values, d, "title"), NULL, true, error);
    text_field(out, "name", _("URL name"), form_value(values, d, "name"),
               _("2 to 100 lower-case letters, digits, - and _; the dataset's address is "
                 "/dataset/<name>."),
               true, error);
    text_field(out, "title_zh", _("Chinese title"), form_value(values, d, "title_zh"), NULL, false,
               error);
    textarea_field(out, "notes", _("Description"), form_value(values, d, "notes"),
                   _("Markdown: paragraphs, lists, links, emphasis."), error);
    textarea_field(out, "notes_zh", _("Chinese description"), form_value(values, d, "notes_zh"),
                   NULL, error);

    /* Only the organizations the user may publish for (editor or admin; a sysadmin: all). */
    cur = form_value(values, d, "owner_org");
    field_label(out, "owner_org", _("Organization"), true);
    HTML(out, "<select");
    field_attrs(out, "owner_org", error, false);
    HTML(out, " required>");
    json_array_foreach (orgs, i, v) {
        const char *id = ui_str(v, "id"), *ot = ui_str(v, "title");

        if (actor_capacity(a, id) < CAPACITY_EDITOR)
            continue;
        any_org = true;
        HTML(out, "<option value=\"");
        html_attr(out, id);
        HTML(out, "\"");
        if (str_eq(cur, id) || str_eq(cur, ui_str(v, "name")))
            HTML(out, " selected");
        HTML(out, ">");
        html_text(out, ot && ot[0] ? ot : ui_str(v, "name"));
        HTML(out, "</option>");
    }
    HTML(out, "</select>");
    field_end(out, "owner_org",
              any_org ? NULL : _("You may not publish for any organization: ask its admin."),
              error);

    cur = form_value(values, d, "license_id");
    field_label(out, "license_id", _("Licence"), false);
    HTML(out, "<select");
    field_attrs(out, "license_id", error, false);
    HTML(out, ">");
    option(out, "", _("(none)"), cur);
    json_array_foreach (licences, i, v)
        option(out, ui_str(v, "id"), ui_str(v, "title"), cur);
    HTML(out, "</select>");
    field_end(out, "license_id", NULL, error);

    if (values) {
        buf_addstr(&tags, ui_str(values, "tag_string") ? ui_str(values, "tag_string") : "");
    } else if (d) {
        tag_string(&tags, d);
    }
    text_field(out, "tag_string", _("Tags"), tags.buf,
               _("Separated by commas: letters, digits, spaces, - _ and ."), false, error);

    cur = form_value(values, d, "access_level");
    field_label(out, "access_level", _("Access level"), false);
    HTML(out, "<select");
    field_attrs(out, "access_level", error, false);
    HTML(out, ">");
    option(out, "public", _("public"), cur && cur[0] ? cur : "public");
    option(out, "restricted public", _("restricted public"), cur);
    option(out, "non-public", _("non-public"), cur);
    HTML(out, "</select>");
    field_end(out, "access_level", NULL, error);

    if (values)
        is_private = str_eq(ui_str(values, "private"), "true");
    else
        is_private = d ? json_is_true(json_object_get(d, "private")) : false;
    HTML(out, "<p class=\"field check\"><input type=\"checkbox\" value=\"true\"");
    field_attrs(out, "private", error, true);
    if (is_private)
        HTML(out, " checked");
    HTML(out, "> <label for=\"f-private\">");
    TX(out, "Private");
    HTML(out, "</label>");
    field_end(out, "private", _("A private dataset is seen only by its organization's members."),
              error);

    text_field(out, "temporal", _("Temporal coverage"), form_value(values, d, "temporal"),
               _("An ISO 8601 interval, such as 2020-01-01/2020-12-31."), false, error);
    text_field(out, "spatial", _("Spatial coverage"), form_value(values, d, "spatial"), NULL, false,
               error);
    cur = form_value(values, d, "frequency");
    field_label(out, "frequency", _("Update frequency"), false);
    HTML(out, "<select");
    field_attrs(out, "frequency", error, false);
    HTML(out, ">");
    option(out, "", _("(not given)"), cur);
    option(out, "R/P1D", _("daily"), cur);
    option(out, "R/P1W", _("weekly"), cur);
    option(out, "R/P1M", _("monthly"), cur);
    option(out, "R/P3M", _("quarterly"), cur);
    option(out, "R/P1Y", _("yearly"), cur);
    option(out, "irregular", _("irregular"), cur);
    if (cur && cur[0] && !str_eq(cur, "R/P1D") && !str_eq(cur, "R/P1W") && !str_eq(cur, "R/P1M") &&
        !str_eq(cur, "R/P3M") && !str_eq(cur, "R/P1Y") && !str_eq(cur, "irregular"))
        option(out, cur, NULL, cur);
    HTML(out, "</select>");
    field_end(out, "frequency", NULL, error);
    text_field(out, "url", _("Source"), form_value(values, d, "url"),
               _("The address of the data's origin (http or https)."), false, error);

    HTML(out, "<p><button type=\"submit\">");
    if (d)
        TX(out, "Save the dataset");
    else
        TX(out, "Create the dataset");
    HTML(out, "</button>");
    if (d) {
        HTML(out, " <a href=\"/dataset/");
        html_url_arg(out, ui_str(d, "name"));
        HTML(out, "\">");
        TX(out, "Cancel");
        HTML(out, "</a>");
    }
    HTML(out, "</p>\n</form>\n");
    ui_footer(out);
out:
    buf_release(&tags);
    json_decref(params);
    json_decref(orgs);
    json_decref(licences);
    return ret;
}

/* Sets key to a string of the form (absent or empty: "", so an edit can clear it). */
static void take_str(json_t *p, const json_t *form, const char *key)
{
    const char *s = ui_str(form, key);

    json_object_set_new(p, key, json_string(s ? s : ""));
}

json_t *ui_dataset_form_params(const json_t *form, const json_t *d)
{
    static const char *const keys[] = {"title",      "name",       "notes",        "owner_org",
                                       "license_id", "tag_string", "access_level", "temporal",
                                       "spatial",    "frequency",  "url"};
    json_t *p = json_object(), *tt, *nt;
    const char *s;

    for (size_t i = 0; i < ARRAY_SIZE(keys); i++)
        take_str(p, form, keys[i]);
    /* A checkbox sends its value only when ticked. */
    json_object_set_new(p, "private", json_boolean(str_eq(ui_str(form, "private"), "true")));
    /* The Chinese title and description: the other languages the dataset has stay. */
    tt = json_deep_copy(json_object_get(d, "title_translated"));
    nt = json_deep_copy(json_object_get(d, "notes_translated"));
    if (!json_is_object(tt)) {
        json_decref(tt);
        tt = json_object();
    }
    if (!json_is_object(nt)) {
        json_decref(nt);
        nt = json_object();
    }
    s = ui_str(form, "title_zh");
    if (s && s[0])
        json_object_set_new(tt, "zh_CN", json_string(s));
    else
        json_object_del(tt, "zh_CN");
    s = ui_str(form, "notes_zh");
    if (s && s[0])
        json_object_set_new(nt, "zh_CN", json_string(s));
    else
        json_object_del(nt, "zh_CN");
    json_object_set_new(p, "title_translated", tt);
    json_object_set_new(p, "notes_translated", nt);
    if (d)
        json_object_set(p, "id", json_object_get(d, "id"));
    return p;
}

/* ---- Upload a resource ------------------------------------------------------------------- */

int ui_resource_form(const json_t *d, const json_t *values, const struct err *error,
                     struct buf *out)
{
    ui_header_head(out, _("Add a resource"),
                   "<script type=\"module\" src=\"/static/publish.js\"></script>\n");
    HTML(out, "<h1>");
    TX(out, "Add a resource");
    HTML(out, "</h1>\n<p>");
    TX(out, "To the dataset");
    HTML(out, " <a href=\"/dataset/");
    html_url_arg(out, ui_str(d, "name"));
    HTML(out, "\">");
    html_text(out, ui_dataset_title(d));
    HTML(out, "</a>. ");
    TX(out, "A CSV, TSV, XLSX, XLS, ODS or JSON file is read into the datastore after the "
            "upload, and its table can be previewed.");
    HTML(out, "</p>\n");
    error_summary(out, error, resource_fields);
    HTML(out, "<form class=\"publish upload\" method=\"post\" enctype=\"multipart/form-data\" "
              "action=\"/dataset/");
    html_url_arg(out, ui_str(d, "name"));
    HTML(out, "/resource/new\" data-upload data-msg-uploading=\"");
    html_attr(out, _("Uploading"));
    HTML(out, "\" data-msg-uploaded=\"");
    html_attr(out, _("Uploaded: reading the file…"));
    HTML(out, "\" data-msg-failed=\"");
    html_attr(out, _("The upload failed: check the connection and send the form again."));
    HTML(out, "\">\n");
    ui_csrf_field(out);
    field_label(out, "upload", _("File"), true);
    HTML(out, "<input type=\"file\"");
    field_attrs(out, "upload", error, false);
    HTML(out, " required>");
    field_end(out, "upload", NULL, error);
    text_field(out, "name", _("Name"), ui_str(values, "name"),
               _("Shown in the dataset's list of resources (default: the file name)."), false,
               error);
    textarea_field(out, "description", _("Description"), ui_str(values, "description"),
                   _("Markdown: paragraphs, lists, links, emphasis."), error);
    /* The progress bar: hidden until the script starts an upload; the status line is
     * read out by screen readers as it changes. */
    HTML(out, "<p class=\"progress\" hidden><label for=\"upload-progress\">");
    TX(out, "Upload progress");
    HTML(out, "</label> <progress id=\"upload-progress\" max=\"100\" value=\"0\"></progress>"
              "</p>\n<p class=\"upload-status\" role=\"status\" aria-live=\"polite\"></p>\n"
              "<p><button type=\"submit\">");
    TX(out, "Upload");
    HTML(out, "</button></p>\n</form>\n");
    ui_footer(out);
    return 0;
}

/* ---- Ingest status ------------------------------------------------------------------------ */

int ui_ingest_page(struct catalog *c, const struct actor *a, const json_t *d, const json_t *r,
                   struct buf *out)
{
    json_t *params = json_pack("{s:s}", "resource_id", ui_str(r, "id")), *st = NULL;
    struct err err = ERR_INIT;
    const char *status = NULL, *name = ui_str(r, "name");
    bool done;

    if (!datastore_xloader_status(c, a, params, &st, &err))
        status = ui_str(st, "status");
    done = !status || str_eq(status, "complete") || str_eq(status, "error");
    ui_header_head(out, _("Ingest status"),
                   "<script type=\"module\" src=\"/static/publish.js\"></script>\n");
    HTML(out, "<h1>");
    TX(out, "Ingest status");
    HTML(out, ": ");
    html_text(out, name && name[0] ? name : ui_str(r, "id"));
    HTML(out, "</h1>\n<p>");
    TX(out, "Dataset");
    HTML(out, ": <a href=\"/dataset/");
    html_url_arg(out, ui_str(d, "name"));
    HTML(out, "\">");
    html_text(out, ui_dataset_title(d));
    HTML(out, "</a></p>\n");
    /* The script reloads this block until data-done is "true" (no meta refresh: it
     * would reload the whole page under a screen reader's feet, WCAG 2.2.1). */
    HTML(out, "<div id=\"ingest-live\" role=\"status\" aria-live=\"polite\" data-done=\"");
    HTML(out, "");
    if (done)
        HTML(out, "true");
    else
        HTML(out, "false");
    HTML(out, "\">\n");
    if (!status) {
        HTML(out, "<p>");
        TX(out, "This resource has not been read into the datastore (not a table, or not "
                "yet queued).");
        HTML(out, "</p>\n");
    } else {
        ui_ingest_status(out, c, a, ui_str(r, "id"));
        if (!done) {
            HTML(out, "<p class=\"hint\">");
            TX(out, "This page follows the ingest until it ends; reload it to see the latest "
                    "state without JavaScript.");
            HTML(out, "</p>\n");
        }
    }
    HTML(out, "</div>\n<ul class=\"actions\">\n<li><a href=\"/dataset/");
    html_url_arg(out, ui_str(d, "name"));
    HTML(out, "/resource/");
    html_url_arg(out, ui_str(r, "id"));
    HTML(out, "\">");
    TX(out, "Preview the table");
    HTML(out, "</a></li>\n");
    if (str_eq(status, "complete") || str_eq(status, "error")) {
        HTML(out, "<li><a href=\"/dataset/");
        html_url_arg(out, ui_str(d, "name"));
        HTML(out, "/resource/");
        html_url_arg(out, ui_str(r, "id"));
        HTML(out, "/dictionary\">");
        TX(out, "Change the column types");
        HTML(out, "</a></li>\n");
    }
    HTML(out, "</ul>\n");
    ui_footer(out);
    json_decref(params);
    json_decref(st);
    return 0;
}

/* ---- The data dictionary's types ------------------------------------------------------------ */

int ui_dictionary_form(struct catalog *c, const struct actor *a, const json_t *d, const json_t *r,
                       const json_t *values, const struct err *error, struct buf *out,
                       struct err *err)
{
    json_t *params = json_pack("{s:s}", "id", ui_str(r, "id")), *info = NULL, *f;
    const char *name = ui_str(r, "name");
    size_t i;
    int ret;

    ret = datastore_info(c, a, params, &info, err);
    if (ret)
        goto out;
    ui_header(out, _("Column types"));
    HTML(out, "<h1>");
    TX(out, "Column types");
    HTML(out, ": ");
    html_text(out, name && name[0] ? name : ui_str(r, "id"));
    HTML(out, "</h1>\n<p>");
    TX(out, "Changing a type reads the resource's file again with the new types; a value "
            "that does not fit its column's type stops the ingest with its line, and the "
            "table stays as it was.");
    HTML(out, "</p>\n");
    error_summary(out, error, no_fields);
    HTML(out, "<form class=\"publish dictionary\" method=\"post\" action=\"/dataset/");
    html_url_arg(out, ui_str(d, "name"));
    HTML(out, "/resource/");
    html_url_arg(out, ui_str(r, "id"));
    HTML(out, "/dictionary\">\n");
    ui_csrf_field(out);
    HTML(out, "<table>\n<caption>");
    TX(out, "The table's columns");
    HTML(out, "</caption>\n<thead><tr><th scope=\"col\">");
    TX(out, "Column");
    HTML(out, "</th><th scope=\"col\">");
    TX(out, "Type");
    HTML(out, "</th></tr></thead>\n<tbody>\n");
    json_array_foreach (json_object_get(info, "fields"), i, f) {
        const char *id = ui_str(f, "id"), *type = ui_str(f, "type"), *sent;
        char key[32];

        if (!id || str_eq(id, "_id"))
            continue;
        if (i >= UI_DICTIONARY_FIELDS_MAX)
            break;
        xsnprintf(key, sizeof(key), "type_%zu", i);
        sent = ui_str(values, key);
        HTML(out, "<tr><th scope=\"row\"><label for=\"f-");
        html_attr(out, key);
        HTML(out, "\">");
        html_text(out, id);
        HTML(out, "</label><input type=\"hidden\" name=\"field_");
        html_attr(out, key + 5);
        HTML(out, "\" value=\"");
        html_attr(out, id);
        HTML(out, "\"></th><td><select id=\"f-");
        html_attr(out, key);
        HTML(out, "\" name=\"");
        html_attr(out, key);
        HTML(out, "\">");
        for (int t = 0; t < DSTYPE_COUNT; t++)
            option(out, dstype_name((enum dstype)t), NULL, sent ? sent : type);
        HTML(out, "</select></td></tr>\n");
    }
    HTML(out, "</tbody>\n</table>\n<p><button type=\"submit\">");
    TX(out, "Save the types and ingest again");
    HTML(out, "</button></p>\n</form>\n");
    ui_footer(out);
out:
    json_decref(params);
    json_decref(info);
    return ret;
}

json_t *ui_dictionary_fields(const json_t *form)
{
    json_t *fields = json_array();

    /* field_<n> names column n, type_<n> its type, n its place in datastore_info's
     * fields (the table's order, kept). */
    for (unsigned n = 0; n < UI_DICTIONARY_FIELDS_MAX; n++) {
        char fkey[32], tkey[32];
        const char *id, *type;

        xsnprintf(fkey, sizeof(fkey), "field_%u", n);
        xsnprintf(tkey, sizeof(tkey), "type_%u", n);
        id = ui_str(form, fkey);
        type = ui_str(form, tkey);
        if (id && type)
            json_array_append_new(fields, json_pack("{s:s, s:s}", "id", id, "type", type));
    }
    return fields;
}
