/*
 * ui.h - the HTML pages (one file per page, as cgit's ui-*.c), with CKAN's URLs: the
 * home page, dataset search, a dataset, a resource's preview and chart, organizations,
 * groups, licences, the API page and the ledger (docs/internals/web.md).
 *
 * Each page function appends a whole UTF-8 HTML document to out and returns 0, or a
 * negative enum err_kind with err set (-ERR_NOT_FOUND for a dataset the actor may not
 * see) in which case out holds nothing useful and the caller renders ui_error_page().
 * Everything that came from the catalog is escaped at the sink (web/html.h).
 * Thread-safe.
 */
#ifndef KAIFANG_WEB_UI_H
#define KAIFANG_WEB_UI_H

#include "access/access.h"
#include "catalog/catalog.h"
#include "core/buf.h"
#include "core/err.h"

/* "/": a search box, counts, the newest datasets, the organizations and the groups
 * (themes). */
int ui_home(struct catalog *c, const struct actor *a, struct buf *out, struct err *err);

/* Results per page of the search page, and the highest page number read from a URL
 * (UI_SEARCH_ROWS * UI_SEARCH_PAGE_MAX stays within package_search's start limit). */
#define UI_SEARCH_ROWS     20u
#define UI_SEARCH_PAGE_MAX 50000u

/* The facets of the search page, in the order shown: package_search's facet fields. */
#define UI_SEARCH_FACETS 5

/* Values read per facet field from one URL. */
#define UI_SEARCH_FACET_VALUES_MAX 8

/* The query of the search page, each member NULL when absent. */
struct ui_search_query {
    const char *q;    /* package_search's q */
    const char *page; /* a number ≥ 1 (anything else: page 1; past the last: the last) */
    const char *sort; /* one of the sort keys of the page ("score desc", "title_string
                         asc", "metadata_modified desc", "metadata_created desc");
                         anything else: relevance */
    /* selected facet values, by field: organization, tags, res_format, license_id,
     * groups (each an exact value; several per field are ANDed, as CKAN's fq) */
    const char *const *facets[UI_SEARCH_FACETS];
    size_t nfacets[UI_SEARCH_FACETS];
};

/* The facet fields of struct ui_search_query, index by index. */
extern const char *const ui_search_facet_fields[UI_SEARCH_FACETS];

/* "/dataset?q=…&organization=…&tags=…&sort=…&page=N": package_search results,
 * UI_SEARCH_ROWS per page, with the facets (value and count, selected ones removable),
 * a sort menu and "Page N of M" links. Every link keeps the whole state in the URL.
 * A query package_search refuses (ERR_SEARCH) is shown on the page with no results,
 * not as an error page. */
int ui_dataset_search_page(struct catalog *c, const struct actor *a,
                           const struct ui_search_query *sq, struct buf *out, struct err *err);

/* "/dataset/<id or name>": title (Chinese where the dataset has one and the page is
 * Chinese), notes (Markdown, safe mode), publisher, licence, access level, dates,
 * coverage, tags, resources with format, size and download and preview links, the data
 * dictionary of each datastore table, API snippets with the real ids, and links to the
 * dataset's metadata documents. The page is a list of sections (ui-dataset.c,
 * dataset_sections[]): a new section is one function added there. */
int ui_dataset(struct catalog *c, const struct actor *a, const char *id, struct buf *out,
               struct err *err);

/* "/dataset/<id>/resource/<rid>": the resource, and when it has a datastore table a
 * preview of it: UI_PREVIEW_ROWS rows per page (offset, sort by a column either way, a
 * filter of one column equal to a value, or full-text q), all through links and a
 * form, and a chart (a line chart for a date/number pair, a bar chart for
 * text/number) drawn by /static/chart.js with Vega-Lite from the same table through
 * datastore_search, whose columns the user can change. Each param may be NULL. */
#define UI_PREVIEW_ROWS 25u
struct ui_preview_query {
    const char *offset;
    const char *sort;   /* a column id, optionally followed by " desc" */
    const char *column; /* filter: column id */
    const char *value;  /* filter: its exact value */
    const char *q;      /* full-text query */
    const char *x, *y;  /* the chart's columns (NULL: the first suitable pair) */
};
int ui_resource(struct catalog *c, const struct actor *a, const char *dataset, const char *rid,
                const struct ui_preview_query *pq, struct buf *out, struct err *err);

/* "/organization": every organization with its dataset count. "/organization/<name>":
 * one organization, its description and its datasets (the search page's list). */
int ui_organization_list(struct catalog *c, const struct actor *a, struct buf *out,
                         struct err *err);
int ui_organization(struct catalog *c, const struct actor *a, const char *id, struct buf *out,
                    struct err *err);

/* "/group": every group (theme). "/group/<name>": one group and its datasets. */
int ui_group_list(struct catalog *c, const struct actor *a, struct buf *out, struct err *err);
int ui_group(struct catalog *c, const struct actor *a, const char *id, struct buf *out,
             struct err *err);

/* "/licenses": every licence the catalog knows (license_list) with its link and the
 * number of datasets under it. */
int ui_licenses(struct catalog *c, const struct actor *a, struct buf *out, struct err *err);

/* "/api": what the API offers and how to call it, with this portal's site URL. */
void ui_api_page(struct catalog *c, struct buf *out);

/* A file under /static/: its Content-Type and bytes (owned by the module, valid for the
 * process). */
struct ui_asset {
    const char *ctype;
    const char *body;
    size_t len;
};

/* Finds /static/<name>: kaifang.css and chart.js (linked in), vega.min.js,
 * vega-lite.min.js, vega-embed.min.js and vega-interpreter.js (read once from the npm
 * packages' directory: KAIFANG_VENDOR_DIR, else the source tree's node_modules).
 * Returns 0, or -1 for an unknown name or a vendor file that cannot be read. Thread-safe. */
int ui_static_find(const char *name, struct ui_asset *out);

struct ledger_key;

/* The query of the ledger page, each member NULL when absent. */
struct ui_ledger_query {
    const char *before; /* show entries with a lower index (default: the newest) */
    const char *type;   /* only entries of this type ("dataset_create") */
    const char *org;    /* only entries of this organization (its name) */
};

/* Entries per ledger page, and how many entries a filtered page looks at at most. */
#define UI_LEDGER_ROWS 50u
#define UI_LEDGER_SCAN 4096u

/* "/ledger": the latest signed checkpoint (origin, size, root hash, the note itself,
 * verified with key before it is shown; key NULL: shown unverified), the verifier key,
 * and the entries of the log newest first, UI_LEDGER_ROWS per page, each with its
 * index, time, type, actor, organization, objects (a dataset links to its page) and a
 * link to its inclusion proof. Filters by type and organization (exact match) look at
 * up to UI_LEDGER_SCAN entries per page. -ERR_INTERNAL when the store fails or the
 * checkpoint does not verify. */
int ui_ledger(struct catalog *c, const struct ledger_key *key, const struct ui_ledger_query *q,
              struct buf *out, struct err *err);

/* "/audit": the audit report (audit_report(), src/audit/) of c's store: per kind of
 * finding, per organization and per unit and system, the charges, their total and links
 * to their ledger entries and inclusion proofs; the checkpoint the proofs refer to. */
int ui_audit(struct catalog *c, struct buf *out, struct err *err);

/* The HTML document of a report made by audit_report() (also `kaifang audit --format
 * html`). report borrowed. */
void ui_audit_render(const json_t *report, struct buf *out);

/* ---- Signing in and out (ui-user.c) ------------------------------------------------ */

enum ui_login_error {
    UI_LOGIN_OK = 0,      /* the empty form */
    UI_LOGIN_WRONG,       /* "wrong user name or password" (never which) */
    UI_LOGIN_THROTTLED,   /* too many failures: retry_seconds to wait */
    UI_LOGIN_UNAVAILABLE, /* the store keeps no sessions */
};

/* "/user/login": the form (user name, password, the hidden CSRF token of the request,
 * next: where to go after signing in, may be NULL), with name filled in again and the
 * error above it when error is not UI_LOGIN_OK. */
void ui_login_page(const char *name, const char *next, enum ui_login_error error,
                   unsigned long retry_seconds, struct buf *out);

/* "/user/login" for a caller already signed in: who they are and a log-out button. */
void ui_signed_in_page(const char *user, struct buf *out);

/* The 403 page of a POST whose CSRF token is missing or wrong (login: the sign-in form's
 * pre-session token). */
void ui_csrf_refused_page(bool login, struct buf *out);

/* ---- The publisher pages (ui-publish.c; signed in) ----------------------------------- */

/*
 * "/dataset/new" (d NULL) and "/dataset/edit/<name>" (d the dataset as package_show gives
 * it): title, URL name, Chinese title, description and its Chinese, organization (those a
 * may publish for: editor, admin; a sysadmin all), licence, tags, access level, private,
 * temporal and spatial coverage, frequency, source. values: the submitted form when it
 * comes back with error (an action's error: its message next to the field it names and
 * in a summary), else NULL. Returns 0 or a negative error kind (organizations or
 * licences could not be read).
 */
int ui_dataset_form(struct catalog *c, const struct actor *a, const json_t *d, const json_t *values,
                    const struct err *error, struct buf *out, struct err *err);

/* The parameters of package_create (d NULL) or package_patch (d the dataset: its id, and
 * its other languages of title_translated/notes_translated kept) from the form's fields
 * (borrowed). Only the form's own fields are taken (never csrf_token). New reference. */
json_t *ui_dataset_form_params(const json_t *form, const json_t *d);

/* "/dataset/<name>/resource/new": a multipart form (file, name, description) that works
 * without JavaScript; /static/publish.js sends it with XMLHttpRequest instead and shows
 * the upload's progress, then follows the answer to the ingest status page. */
int ui_resource_form(const json_t *d, const json_t *values, const struct err *error,
                     struct buf *out);

/* "/dataset/<name>/resource/<id>/ingest": the state of the resource's ingest
 * (xloader_status: status, time, rows, the error with its line and column), which
 * /static/publish.js refreshes until it is complete or failed. d, r: the dataset and the
 * resource dict (borrowed; the caller checked that a may see them). */
int ui_ingest_page(struct catalog *c, const struct actor *a, const json_t *d, const json_t *r,
                   struct buf *out);

/* The most columns the data dictionary form lists. */
#define UI_DICTIONARY_FIELDS_MAX 1000u

/* "/dataset/<name>/resource/<id>/dictionary": the table's columns (datastore_info) each
 * with a select of the datastore types; sending it re-types them (datastore_create with
 * the new types: the file is ingested again). values/error as ui_dataset_form. */
int ui_dictionary_form(struct catalog *c, const struct actor *a, const json_t *d, const json_t *r,
                       const json_t *values, const struct err *error, struct buf *out,
                       struct err *err);

/* datastore_create's "fields" ([{"id", "type"}], in the table's order) from the
 * dictionary form (borrowed). New reference. */
json_t *ui_dictionary_fields(const json_t *form);

/* ---- The account pages (ui-account.c; src/http/account.c) --------------------------- */

/* What an account page shows besides its data. Every member may be NULL. */
struct ui_account_form {
    const char *notice;      /* a "done" key from the URL ("user-created" …): its sentence */
    const json_t *values;    /* the submitted form (borrowed), when it comes back with error */
    const struct err *error; /* the error of the form op names, shown above that form */
    const char *op;          /* the form ("password", "token_create", "member_set" …) */
    const char *new_token;   /* my account: an API token just created, shown this once */
};

/* "/user/account" for the signed-in actor a: links to what a manages (users for a
 * sysadmin, members of the organizations a is admin of, grant requests of those a
 * approves for), the change-password form (current, new, new again) and a's API tokens
 * (label, created, id; a revoke button each) with the form making one. Reads a's tokens
 * (access_token_list_as()); returns 0 or its negative error kind. */
int ui_account_page(struct catalog *c, const struct actor *a, const struct ui_account_form *f,
                    struct buf *out, struct err *err);

/* The page after a's own password changed: signed out everywhere, a link to sign in. */
void ui_password_changed_page(struct buf *out);

/* "/user" for a sysadmin: the form creating a user (name, full name, e-mail, password,
 * sysadmin) and every user with its state, a set-password form and a disable or enable
 * button (none for a themselves). -ERR_AUTH for anyone else. */
int ui_users_page(struct catalog *c, const struct actor *a, const struct ui_account_form *f,
                  struct buf *out, struct err *err);

/* "/organization/members/<name>" for an admin of org (organization_show's dict,
 * borrowed): its members with their capacity (change, remove), the form adding one, the
 * approver and auditor roles held in it or portal-wide (those of the organization with a
 * remove button) and the form giving one. */
int ui_members_page(struct catalog *c, const struct actor *a, const json_t *org,
                    const struct ui_account_form *f, struct buf *out, struct err *err);

/* "/organization/grants/<name>" for an approver of org: every grant of org still
 * "requested" (grant_list as a sees it) with its facts and, unless a requested it or is
 * its grantee (the two-person rule: no button then, a sentence saying why), a form with
 * a note and approve / refuse buttons. */
int ui_grants_page(struct catalog *c, const struct actor *a, const json_t *org,
                   const struct ui_account_form *f, struct buf *out, struct err *err);

/* On a resource page, for an approver of the dataset's organization (dataset: its
 * package dict, resource: the resource dict; borrowed) when the resource's privacy report
 * is blocked: the gate's reasons and a form (a justification) posting to
 * "/dataset/<name>/resource/<id>/override" (datastore_privacy_override); for the table's
 * publisher the reasons and a sentence instead (the two-person rule). Nothing otherwise. */
void ui_privacy_override_form(struct catalog *c, const struct actor *a, const json_t *dataset,
                              const json_t *resource, struct buf *out);

/* The 403 sentences of the account pages (translated). */
enum ui_account_refusal {
    UI_REFUSE_USERS,   /* not a sysadmin */
    UI_REFUSE_MEMBERS, /* not an admin of the organization */
    UI_REFUSE_GRANTS,  /* not an approver of the organization */
};
const char *ui_account_refusal(enum ui_account_refusal what);

/* A small error page: status line as the title, message as text. */
void ui_error_page(unsigned status, const char *message, struct buf *out);

/* The privacy report of each scanned resource of a package dict (as package_show gives
 * it), appended to a dataset page: verdict, k, quasi- and direct identifiers,
 * transformations, override, per-column classes and detectors; never a value
 * (ui-privacy.c). Resources without a report are skipped. */
void ui_privacy_report(struct catalog *c, const struct actor *a, const json_t *dataset,
                       struct buf *out);

/* The privacy report of one resource (a resource dict), for its page: as
 * ui_privacy_report() shows each; nothing when it was never scanned. */
void ui_privacy_resource(struct catalog *c, const struct actor *a, const json_t *resource,
                         struct buf *out);

#endif
