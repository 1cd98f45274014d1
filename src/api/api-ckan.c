/*
 * api-ckan.c - the CKAN Action API v3: the action table and the envelope.
 *
 * Shapes follow CKAN 2.10 (ckan/views/api.py): the "help" URL names help_show with the
 * action; errors carry "__type" and either field-keyed lists of messages (validation)
 * or a "message"; a write action called by GET is refused with 400, as CKAN refuses
 * side-effect actions without POST.
 */
#include <jansson.h>

#include "api/api-access.h"
#include "api/api.h"
#include "audit/audit-actions.h"
#include "core/log.h"
#include "datastore/datastore.h"
#include "core/util.h"

static int help_show(struct catalog *c, const struct actor *a, json_t *params, json_t **result,
                     struct err *err);

#define GET_READ (API_GET | API_CACHEABLE)

/* The table: the single place that says which actions exist, which may be called by
 * GET, and which write. Keep it in CKAN's order of the API guide. */
static const struct api_action actions[] = {
        {"package_list", catalog_package_list, GET_READ,
         "Return a list of the names of the site's datasets (packages).\n\n"
         ":param limit: if given, the list of datasets will be broken into pages of at most "
         "``limit`` datasets per page (optional)\n:param offset: when ``limit`` is given, the "
         "offset to start returning packages from (optional)\n\n:rtype: list of strings"},
        {"package_show", catalog_package_show, GET_READ,
         "Return the metadata of a dataset (package) and its resources.\n\n"
         ":param id: the id or name of the dataset\n\n:rtype: dictionary"},
        {"package_search", catalog_package_search, GET_READ,
         "Searches for packages satisfying a given search criteria.\n\n"
         ":param q: the solr-like query (optional, default: '*:*')\n:param fq: filter query "
         "(optional)\n:param rows: maximum number of matching rows (datasets) to return "
         "(optional, default: 10, upper limit: 1000)\n:param start: the offset in the complete "
         "result (optional)\n:param sort: sorting of the search results, e.g. "
         "'metadata_modified desc' (optional)\n:param facet.field: the fields to facet upon "
         "(optional)\n:param facet.limit: values per facet (optional, default: 50)\n"
         ":param facet.mincount: the least count of a listed facet value (optional, default: "
         "1)\n\n:returns: a dictionary with count, results, facets and search_facets"},
        {"package_create", catalog_package_create, API_WRITES,
         "Create a new dataset (package).\n\n:param name: the name of the new dataset, "
         "2 to 100 characters of lowercase alphanumeric and - _\n:param title, notes, "
         "owner_org, license_id, tags, extras, resources, private (optional)\n\n"
         ":returns: the newly created dataset"},
        {"package_update", catalog_package_update, API_WRITES,
         "Update a dataset (package): every field not given is reset.\n\n:param id: the id or "
         "name of the dataset to update\n\n:returns: the updated dataset"},
        {"package_patch", catalog_package_patch, API_WRITES,
         "Patch a dataset (package): only the fields given change.\n\n:param id: the id or "
         "name of the dataset to patch\n\n:returns: the patched dataset"},
        {"package_delete", catalog_package_delete, API_WRITES,
         "Delete a dataset (package): its state becomes 'deleted'.\n\n:param id: the id or "
         "name of the dataset to delete"},
        {"resource_create", NULL, API_WRITES | API_UPLOAD,
         "Append a new resource to a dataset.\n\n:param package_id: id of the dataset\n"
         ":param url: url of the resource (optional when uploading)\n:param upload: the file, "
         "as a multipart/form-data part (optional)\n:param name, description, format "
         "(optional)\n\n:returns: the newly created resource"},
        {"resource_show", catalog_resource_show, GET_READ,
         "Return the metadata of a resource.\n\n:param id: the id of the resource"},
        {"resource_update", NULL, API_WRITES | API_UPLOAD,
         "Update a resource.\n\n:param id: the id of the resource to update\n:param upload: "
         "a new file, as a multipart/form-data part (optional)\n\n:returns: the updated "
         "resource"},
        {"resource_delete", catalog_resource_delete, API_WRITES,
         "Delete a resource from a dataset.\n\n:param id: the id of the resource"},
        {"organization_list", catalog_organization_list, GET_READ,
         "Return a list of the names of the site's organizations.\n\n:param all_fields: "
         "return dictionaries instead of names (optional, default: False)\n:param limit, "
         "offset (optional)"},
        {"organization_show", catalog_organization_show, GET_READ,
         "Return the details of an organization.\n\n:param id: the id or name of the "
         "organization\n:param include_datasets: include a truncated list of the datasets "
         "(optional)"},
        {"organization_create", catalog_organization_create, API_WRITES,
         "Create a new organization (sysadmins only).\n\n:param name: the name of the "
         "organization\n:param title, description, image_url (optional)"},
        {"group_list", catalog_group_list, GET_READ,
         "Return a list of the names of the site's groups.\n\n:param all_fields (optional)"},
        {"group_show", catalog_group_show, GET_READ,
         "Return the details of a group.\n\n:param id: the id or name of the group"},
        {"group_create", catalog_group_create, API_WRITES,
         "Create a new group (sysadmins only).\n\n:param name: the name of the group\n"
         ":param title, description, image_url (optional)"},
        {"tag_list", catalog_tag_list, GET_READ,
         "Return a list of the site's tags.\n\n:param query: a tag name prefix (optional)"},
        {"license_list", catalog_license_list, GET_READ,
         "Return the list of licenses available for datasets on the site."},
        {"status_show", catalog_status_show, GET_READ,
         "Return a dictionary with information about the site's configuration."},
        {"help_show", help_show, GET_READ,
         "Return the help string for a particular API action.\n\n:param name: action "
         "function name (e.g. `package_create`)\n\n:rtype: string"},
        /* Accounts, members and roles (api-access.c; docs/internals/access.md). */
        {"user_create", api_user_create, API_WRITES,
         "Create a new user (sysadmins only).\n\n:param name: the user name, 2 to 100 "
         "characters of lowercase alphanumeric and - _\n:param email, fullname (optional)\n"
         ":param sysadmin: true for a sysadmin (optional, default: false)\n\n:returns: the "
         "new user (id, name, sysadmin, state, created)"},
        {"api_token_create", api_token_create, API_WRITES,
         "Create an API token for a user (sysadmins for anyone, users for themselves).\n\n"
         ":param user: name or id of the user\n:param name: a label for the token "
         "(optional)\n\n:returns: {\"token\", \"id\"}; the token cannot be shown again"},
        {"organization_member_create", api_organization_member_create, API_WRITES,
         "Make a user a member of an organization, or change their role (sysadmins and the "
         "organization's admins).\n\n:param id: the id or name of the organization\n"
         ":param username: name or id of the user\n:param role: admin, editor or member"},
        {"organization_member_delete", api_organization_member_delete, API_WRITES,
         "Remove a user from an organization (sysadmins and the organization's admins).\n\n"
         ":param id: the id or name of the organization\n:param username: name or id of "
         "the user"},
        {"user_role_create", api_user_role_create, API_WRITES,
         "Give a user a role: approver (of an organization), auditor (of an organization or "
         "the portal) or grantee (an outside operator; portal-wide). Sysadmins any; an "
         "organization's admins approver and auditor there, to others than themselves.\n\n"
         ":param user: name or id of the user\n:param role: approver, auditor or grantee\n"
         ":param organization: id or name (optional: portal-wide)"},
        {"user_role_delete", api_user_role_delete, API_WRITES,
         "Take a role away from a user (as user_role_create).\n\n:param user, role, "
         "organization: as given to user_role_create"},
        {"user_role_list", api_user_role_list, GET_READ,
         "Return every role of every active user: [{\"user\", \"role\", "
         "\"organization\": id or null}]."},
        /* Grants on restricted datasets (src/access/grant.h). */
        {"grant_request", api_grant_request, API_WRITES,
         "Request a grant to read a restricted dataset (editors and admins of its "
         "organization).\n\n:param dataset: id or name of a \"restricted public\" or "
         "\"non-public\" dataset\n:param grantee: the user name of a grantee account\n"
         ":param purpose, legal_basis: text\n:param columns: the columns it may read\n"
         ":param filters: the rows it may read, as datastore_search's filters (optional: "
         "all)\n:param valid_from, valid_until: days, YYYY-MM-DD, both included\n:param "
         "fee_schedule: the fee schedule that applies (optional)\n\n:returns: the grant"},
        {"grant_approve", api_grant_approve, API_WRITES,
         "Approve a requested grant (an approver of the dataset's organization who is "
         "neither its requester nor its grantee).\n\n:param id: the grant\n:param note: "
         "(optional)\n\n:returns: the grant"},
        {"grant_refuse", api_grant_refuse, API_WRITES,
         "Refuse a requested grant (as grant_approve).\n\n:param id: the grant\n:param "
         "note: the reason (optional)\n\n:returns: the grant"},
        {"grant_revoke", api_grant_revoke, API_WRITES,
         "End an approved grant now (an approver or admin of its organization).\n\n:param "
         "id: the grant\n:param note: (optional)\n\n:returns: the grant"},
        {"grant_show", api_grant_show, GET_READ,
         "Return a grant (public where its dataset is).\n\n:param id: the grant"},
        {"grant_list", api_grant_list, GET_READ,
         "Return the grants, oldest first.\n\n:param dataset: id or name (optional)\n"
         ":param grantee: user name (optional)"},
        /* The DataStore API (ckanext-datastore). Reads by GET, not cached: a table lives
         * in its own file, whose changes do not move the catalog's store_version. */
        {"datastore_create", datastore_create, API_WRITES,
         "Adds a new table to the DataStore, or fields, records, a primary key, indexes or "
         "data dictionary entries to an existing one.\n\n:param resource_id: resource id that "
         "the data is going to be stored against\n:param resource: resource dictionary passed "
         "to resource_create, instead of resource_id (optional)\n:param force: set to True to "
         "edit a read-only resource (one whose table comes from its file) (optional, "
         "default: False)\n:param fields: fields/columns and their extra metadata, "
         "[{\"id\", \"type\", \"info\": {\"label\", \"notes\", \"privacy_class\"}}]; "
         "privacy_class (direct_identifier, quasi_identifier, sensitive, other) is what the "
         "publish gate takes the column for (optional)\n:param "
         "records: the data, eg: [{\"dob\": \"2005\", \"some_stuff\": [\"a\", \"b\"]}] "
         "(optional)\n:param primary_key: fields that represent a unique key (optional)\n"
         ":param indexes: indexes on table (optional)\n:param include_records: return the "
         "records (optional, default: False)\n\n:returns: the newly created data object"},
        {"datastore_upsert", datastore_upsert, API_WRITES,
         "Updates or inserts into a table in the DataStore.\n\n:param resource_id: resource "
         "id that the data is going to be stored under\n:param records: the data, eg: "
         "[{\"dob\": \"2005\"}]\n:param method: upsert, insert or update (optional, "
         "default: upsert)\n:param force: set to True to edit a read-only resource "
         "(optional, default: False)\n\n:returns: the modified data object"},
        {"datastore_delete", datastore_delete, API_WRITES,
         "Deletes a table or a set of records from the DataStore.\n\n:param resource_id: "
         "resource id that the data will be deleted from\n:param filters: filters to apply "
         "before deleting (eg {\"name\": \"fred\"}); if missing delete the whole table "
         "(optional)\n:param force: set to True to edit a read-only resource (optional, "
         "default: False)\n\n:returns: original filters sent"},
        {"datastore_info", datastore_info, API_GET,
         "Returns information about the data imported, such as column names and types.\n\n"
         ":param id: id of the resource we want info about (or resource_id)\n\n:returns: "
         "meta (count, …) and fields (id, type, info, schema)"},
        {"datastore_search", datastore_search, API_GET | API_EXPENSIVE,
         "Search a DataStore resource.\n\n:param resource_id: id of the resource to be "
         "searched against\n:param filters: matching conditions to select, e.g {\"key1\": "
         "\"a\", \"key2\": \"b\"} (optional)\n:param q: full text query, a string or "
         "{\"field\": \"text\"} (optional)\n:param plain: treat as plain text query (optional, "
         "default: true)\n:param language: language of the full text query (optional)\n"
         ":param limit: maximum number of rows to return (optional, default: 100, upper limit: "
         "32000)\n:param offset: offset this number of rows (optional)\n:param fields: fields "
         "to return (optional, default: all fields in original order)\n:param sort: comma "
         "separated field names with ordering, e.g.: \"fieldname1, fieldname2 desc\" "
         "(optional)\n:param distinct: return only distinct rows (optional, default: false)\n"
         ":param include_total: True to return total matching record count (optional, "
         "default: true)\n:param records_format: objects, lists, csv or tsv (optional, "
         "default: objects)\n\n:returns: fields, records, total, limit, _links …"},
        {"datastore_search_sql", datastore_search_sql, API_GET | API_EXPENSIVE,
         "Execute SQL queries on the DataStore.\n\n:param sql: a single SQL select statement; "
         "tables are resource ids in double quotes\n\n:returns: fields, records and "
         "records_truncated when the rows were capped at 32000"},
        /* ckanext-xloader's actions. xloader_submit only queues (POST): the ledger entry
         * (datastore_ingest) is written when the ingest completes. */
        {"xloader_submit", datastore_xloader_submit, 0,
         "Submit a resource's uploaded file to be loaded into the DataStore (queued; its "
         "progress in xloader_status).\n\n:param resource_id: the id of the resource\n"
         ":param encoding, format, delimiter, sheet, skip_rows, lenient: how to read the "
         "file (optional, default: detected)\n:param fields: types to use instead of the "
         "inferred, [{\"id\", \"type\", \"info\"}] (optional)\n\n:returns: true"},
        {"xloader_status", datastore_xloader_status, API_GET,
         "Return the status of the DataStore load of a resource.\n\n:param resource_id: "
         "the id of the resource\n\n:returns: status, error, last_updated, task_info and "
         "the ingest report"},
        /* Fees and the audit (audit/actions.c; docs/internals/audit.md). */
        {"fee_schedule_create", audit_action_fee_schedule_create, API_WRITES,
         "Create a fee schedule, pending until a second person approves it.\n\n:param name: "
         "the schedule's name\n:param organization: id or name\n:param service, unit, "
         "legal_basis: text\n:param price: yuan as a decimal string, at most two decimals\n"
         ":param period_start, period_end: YYYY-MM-DD\n\n:returns: the fee schedule"},
        {"fee_schedule_approve", audit_action_fee_schedule_approve, API_WRITES,
         "Approve a pending fee schedule (an approver of its organization who did not "
         "create it).\n\n:param id: id or name of the schedule\n\n:returns: the fee schedule"},
        {"fee_schedule_show", audit_action_fee_schedule_show, GET_READ,
         "Return a fee schedule.\n\n:param id: id or name of the schedule"},
        {"fee_schedule_list", audit_action_fee_schedule_list, GET_READ,
         "Return the published (approved) fee schedules.\n\n:param organization: id or "
         "name (optional)\n:param include_pending: also the pending ones you may see "
         "(optional, default: False)"},
        {"charge_record", audit_action_charge_record, API_WRITES,
         "Record a charge under an approved fee schedule.\n\n:param organization, unit, "
         "system, payer, date, amount, schedule\n:param currency: CNY (optional)\n:param "
         "grant: the grant charged for (optional)\n\n:returns: id and ledger_index"},
        {"audit_report", audit_action_audit_report, GET_READ | API_LEDGER_VIEW,
         "Return the audit of fees: charges with no approved schedule, outside a schedule's "
         "period or above its price, per organization and unit/system, with their ledger "
         "entries.\n\n:param proofs: embed inclusion proofs (optional, default: False)"},
        /* The privacy engine's publish gate (issue 5; docs/internals/privacy-gate.md). The
         * report changes with each ingest, a table of its own: not cached. */
        {"datastore_privacy_report", catalog_privacy_report_show, API_GET,
         "Return the privacy report of a resource's table: each column's class (direct "
         "identifier, quasi-identifier, sensitive, other), the detectors that fired and the "
         "share of values (masked examples only for those who may edit the dataset, never a "
         "raw value), the quasi-identifiers and the k they reach, what was transformed, an "
         "override if one was given, and the publish gate's verdict. Each column shows what "
         "was detected and what the data dictionary declares (privacy_class); "
         "personal_data says whether the resource or dataset is declared to hold records "
         "of people.\n\n:param "
         "resource_id: the id of the resource\n\n:returns: the report, with \"gate\": "
         "{status passed|blocked|overridden, k_required, reasons, message, lowered}"},
        {"datastore_privacy_override", catalog_privacy_override, API_WRITES,
         "Override the publish gate for a resource's scanned table (an approver of the "
         "dataset's organization, never the user who published the table). Recorded in the ledger as privacy_override. A resource withheld by the gate (a table ingested into a public dataset, or one of a private dataset being made public) is published by it.\n\n:param resource_id: the "
         "id of the resource\n:param justification: why the table may be published as it "
         "is (required, shown in the report)\n\n:returns: the report with its override"},
};

const struct api_action *api_ckan_action(const char *name)
{
    size_t i;

    if (!name)
        return NULL;
    for (i = 0; i < ARRAY_SIZE(actions); i++)
        if (!strcmp(actions[i].name, name))
            return &actions[i];
    return NULL;
}

bool api_ckan_expensive(const char *name, json_t *params)
{
    const struct api_action *act = api_ckan_action(name);
    json_t *q;

    if (!act || !(act->flags & API_EXPENSIVE))
        return false;
    if (act->fn != datastore_search)
        return true;
    /* Filters, sort and paging run on indexes or a bounded scan; a full-text q ranks
     * every match. q is a string or an object of field → text (CKAN). */
    q = json_object_get(params, "q");
    return (json_is_string(q) && json_string_length(q)) ||
           (json_is_object(q) && json_object_size(q));
}

json_t *api_ckan_action_names(void)
{
    json_t *names = json_array();
    size_t i;

    for (i = 0; i < ARRAY_SIZE(actions); i++)
        json_array_append_new(names, json_string(actions[i].name));
    return names;
}

static int help_show(struct catalog *c, const struct actor *a, json_t *params, json_t **result,
                     struct err *err)
{
    const struct api_action *act;
    const char *name = json_string_value(json_object_get(params, "name"));

    (void)c;
    (void)a;
    if (!name)
        return err_set(err, ERR_VALIDATION, "name", "Missing value");
    act = api_ckan_action(name);
    if (!act)
        return err_set(err, ERR_NOT_FOUND, NULL, "Action function not found");
    *result = json_string(act->doc);
    return 0;
}

static json_t *help_url(const char *site_url, const char *name)
{
    char *s;
    json_t *v;

    /* Action names in URLs are whatever the client sent; a name that is not a plain
     * identifier is left out rather than echoed into a URL. */
    if (name && name[0] && strspn(name, "abcdefghijklmnopqrstuvwxyz0123456789_") == strlen(name))
        s = xstrfmt("%s/api/3/action/help_show?name=%s", site_url, name);
    else
        s = xstrfmt("%s/api/3/action/help_show", site_url);
    v = json_string(s);
    free(s);
    return v;
}

json_t *api_ckan_success(const char *site_url, const char *name, json_t *result)
{
    json_t *doc = json_object();

    json_object_set_new(doc, "help", help_url(site_url, name));
    json_object_set_new(doc, "success", json_true());
    json_object_set_new(doc, "result", result ? result : json_null());
    return doc;
}

/* A JSON string of s even when s is not UTF-8: messages echo client input (an action
 * name percent-decoded from the URL), and json_string() refuses invalid UTF-8, which
 * would leave the error without its message. Bytes that do not form UTF-8 become '?'. */
static json_t *string_lossy(const char *s)
{
    json_t *v = json_string(s);
    char *copy;
    size_t i, n;

    if (v)
        return v;
    copy = xstrdup(s);
    n = strlen(copy);
    for (i = 0; i < n;) {
        unsigned char c = (unsigned char)copy[i];
        size_t len = c < 0x80                 ? 1
                     : c >= 0xc2 && c <= 0xdf ? 2
                     : c >= 0xe0 && c <= 0xef ? 3
                     : c >= 0xf0 && c <= 0xf4 ? 4
                                              : 0;
        json_t *one = len && i + len <= n ? json_stringn(copy + i, len) : NULL;

        if (!one) {
            copy[i++] = '?';
            continue;
        }
        json_decref(one);
        i += len;
    }
    v = json_string(copy);
    free(copy);
    return v ? v : json_string("?");
}

json_t *api_ckan_error(const char *site_url, const char *name, const struct err *err)
{
    json_t *doc = json_object(), *e = json_object();
    enum err_kind kind = err->kind == ERR_NONE ? ERR_INTERNAL : err->kind;
    const char *msg = err->msg[0] ? err->msg : err_kind_type(kind);

    char *named = NULL;

    json_object_set_new(e, "__type", json_string(err_kind_type(kind)));
    if ((kind == ERR_VALIDATION || kind == ERR_CONFLICT) && err->field[0] &&
        strcmp(err->field, "__type") && strcmp(err->field, "message")) {
        json_t *list = json_array();
        json_array_append_new(list, string_lossy(msg));
        json_object_set_new(e, err->field, list);
        /* CKAN keeps the bare message per field ({"payer": ["Missing value"]}); the
         * top-level message names the field when the text does not ("payer: Missing
         * value"), so that a client showing only the message says what is wrong. */
        if (!strstr(msg, err->field))
            msg = named = xstrfmt("%s: %s", err->field, msg);
    }
    json_object_set_new(e, "message", string_lossy(msg));
    free(named);
    json_object_set_new(doc, "help", help_url(site_url, name));
    json_object_set_new(doc, "success", json_false());
    json_object_set_new(doc, "error", e);
    return doc;
}

/* True when params carries an "upload" parameter with content: neither null nor "". */
static bool upload_field_given(json_t *params)
{
    json_t *v = json_object_get(params, "upload");

    return v && !json_is_null(v) && !(json_is_string(v) && !json_string_length(v));
}

/* The ids of the resources of a package dict, as a JSON object id → true. */
static json_t *resource_ids(json_t *doc)
{
    json_t *ids = json_object(), *r;
    size_t i;

    json_array_foreach (json_object_get(doc, "resources"), i, r) {
        const char *id = json_string_value(json_object_get(r, "id"));

        if (id)
            json_object_set_new(ids, id, json_true());
    }
    return ids;
}

/* The datastore's part of a catalog write that succeeded (CKAN's datastore and xloader
 * plugins hook the same actions): an ingestible upload is queued for the ingest
 * worker; a deleted resource loses its table. Failures are logged: the catalog change
 * is committed and stands. before: the resources of the dataset before a
 * package_update/patch (which drops the resources it does not list), else NULL. */
static void datastore_hooks(struct catalog *c, const struct actor *a, const char *action,
                            json_t *params, const struct upload *up, json_t *result, json_t *before)
{
    struct err err = ERR_INIT;
    const char *rid = NULL, *id;
    json_t *after = NULL, *v;

    if (up && (!strcmp(action, "resource_create") || !strcmp(action, "resource_update"))) {
        rid = json_string_value(json_object_get(result, "id"));
        if (rid && c->datastore && datastore_ingestible(result)) {
            if (datastore_ingest_enqueue(c->datastore, a, rid, &err))
                log_error("api: cannot queue the ingest of resource \"%s\": %s", rid, err.msg);
            else /* the answer shows the state the ingest is in now, as resource_show will */
                json_object_set_new(result, "datastore_status", json_string("pending"));
        }
    } else if (!strcmp(action, "resource_delete")) {
        rid = json_string_value(json_object_get(params, "id"));
        if (rid && datastore_resource_deleted(c, rid, &err))
            log_error("api: cannot remove the datastore table of resource \"%s\": %s", rid,
                      err.msg);
    } else if (before) {
        after = resource_ids(result);
        json_object_foreach (before, id, v) {
            err_clear(&err);
            if (!json_object_get(after, id) && datastore_resource_deleted(c, id, &err))
                log_error("api: cannot remove the datastore table of resource \"%s\": %s", id,
                          err.msg);
        }
    }
    json_decref(after);
}

/* api_ckan_call; with text (not NULL), package_search's page comes as text in it
 * (catalog_package_search_text), to be spliced in by api_ckan_call_text. */
/* What the 409 of an upload the publish gate refused carries besides its message (error
 * is the CKAN error object): the gate's verdict on the file (reasons and columns), and
 * the ways on. Nothing of the upload was stored. */
static void refused_error(struct catalog *c, json_t *error, const json_t *report)
{
    json_object_set_new(error, "privacy_gate", catalog_privacy_gate(report, c->privacy_k));
    if (json_string_value(json_object_get(report, "unscanned"))) {
        /* A file the gate could not read: a format problem first, not a privacy one. */
        json_object_set_new(
                error, "next_steps",
                json_pack("[s,s]", "fix the file where the error says and upload it again",
                          "or upload it to a private dataset of the organization: there its "
                          "ingest reports the error, xloader_submit with \"lenient\": true "
                          "reads a ragged table, and the dataset can be made public once the "
                          "table's report passes"));
        return;
    }
    json_object_set_new(
            error, "next_steps",
            json_pack("[s,s]",
                      "de-identify the file by a policy (kaifang anonymize --policy P.json, "
                      "docs/internals/privacy-anonymization.md) and upload the result",
                      "or, to publish it as it is on the record: upload it to a private "
                      "dataset of the organization, where an approver other than you may "
                      "override the gate (datastore_privacy_override with a justification, "
                      "recorded in the ledger) before the dataset is made public"));
}

static void call(struct catalog *c, const struct actor *a, const char *name, bool is_post,
                 json_t *params, const struct upload *up, struct buf *text, json_t **doc,
                 unsigned *status, enum err_kind *kind)
{
    struct err err = ERR_INIT;
    const struct api_action *act = api_ckan_action(name);
    json_t *result = NULL, *before = NULL, *refused = NULL;
    int ret;

    if (!act) {
        ret = err_set(&err, ERR_BAD_REQUEST, NULL, "Bad request - Action name not known: %s",
                      name ? name : "");
        goto out;
    }
    if (!is_post && !(act->flags & API_GET)) {
        ret = err_set(&err, ERR_BAD_REQUEST, NULL,
                      "Bad request - JSON Error: Invalid request. Please use POST method for "
                      "your request");
        goto out;
    }
    if (up && !(act->flags & API_UPLOAD)) {
        ret = err_set(&err, ERR_BAD_REQUEST, NULL,
                      "Bad request - action \"%s\" does not accept a file upload", act->name);
        goto out;
    }
    if (!json_is_object(params)) {
        ret = err_set(&err, ERR_BAD_REQUEST, NULL,
                      "Bad request data: Request data JSON decoded to a non-object but it "
                      "needs to be a dictionary.");
        goto out;
    }
    /* "upload" that is not a file part (curl -F 'upload=<f.csv' sends the content as a
     * plain field; a JSON body can name it too): CKAN then ignores it and takes url. With
     * no url the resource would end up with an empty url and the content dropped. */
    if ((act->flags & API_UPLOAD) && !up && upload_field_given(params) &&
        !json_string_length(json_object_get(params, "url"))) {
        ret = err_set(&err, ERR_VALIDATION, "upload",
                      "\"upload\" must be a file part (multipart/form-data with a filename, "
                      "as curl -F 'upload=@file' sends), or give a \"url\"");
        goto out;
    }
    if (act->fn == catalog_package_update || act->fn == catalog_package_patch) {
        /* Which resources the update drops (their tables go with them). */
        json_t *shown = NULL;
        struct err ignored = ERR_INIT;

        if (!catalog_package_show(c, a, params, &shown, &ignored))
            before = resource_ids(shown);
        json_decref(shown);
    }
    /* The publish gate on a file uploaded into a public dataset: scanned before it is
     * stored; when it would publish identifiers (or cannot be read), the answer is 409
     * with the reasons and the ways on, and nothing is stored (privacy-gate.md, "A
     * refused upload"). */
    if (up && (!strcmp(act->name, "resource_create") || !strcmp(act->name, "resource_update"))) {
        ret = datastore_privacy_precheck(c, a, act->name, params, up, &refused, &err);
        if (ret)
            goto out;
    }
    if (!strcmp(act->name, "resource_create"))
        ret = catalog_resource_create(c, a, params, up, &result, &err);
    else if (!strcmp(act->name, "resource_update"))
        ret = catalog_resource_update(c, a, params, up, &result, &err);
    else if (text && act->fn == catalog_package_search)
        ret = catalog_package_search_text(c, a, params, &result, text, &err);
    else if (text && act->fn == datastore_search)
        ret = datastore_search_text(c, a, params, &result, text, &err);
    else if (text && act->fn == datastore_search_sql)
        ret = datastore_search_sql_text(c, a, params, &result, text, &err);
    else
        ret = act->fn(c, a, params, &result, &err);
    if (ret < 0 && err.kind == ERR_NONE)
        err_set(&err,
                -ret > ERR_NONE && -ret <= ERR_UNAVAILABLE ? (enum err_kind) - ret : ERR_INTERNAL,
                NULL, "action \"%s\" failed", act->name);
    if (!ret)
        datastore_hooks(c, a, act->name, params, up, result, before);
out:
    json_decref(before);
    if (ret < 0) {
        *doc = api_ckan_error(c->site_url, name, &err);
        if (refused)
            refused_error(c, json_object_get(*doc, "error"), refused);
        /* A write through the datastore API that the publish gate refused: its result is
         * the rest of the error (resource_id, privacy_gate, next_steps). */
        if (json_is_object(result) && str_eq(err.field, "privacy") &&
            (act->fn == datastore_create || act->fn == datastore_upsert))
            json_object_update(json_object_get(*doc, "error"), result);
        json_decref(result);
        *status = err_kind_status(err.kind);
        if (kind)
            *kind = err.kind;
    } else {
        *doc = api_ckan_success(c->site_url, name, result);
        *status = 200;
        if (kind)
            *kind = ERR_NONE;
    }
    json_decref(refused);
}

int api_ckan_call(struct catalog *c, const struct actor *a, const char *name, bool is_post,
                  json_t *params, const struct upload *up, json_t **doc, unsigned *status,
                  enum err_kind *kind)
{
    call(c, a, name, is_post, params, up, NULL, doc, status, kind);
    return 0;
}

/*
 * Replaces the one occurrence of the placeholder's JSON encoding in dumped (len bytes)
 * by text; false, and nothing changed, unless there is exactly one. Every string in
 * dumped is between unescaped double quotes with none inside (jansson escapes them), so
 * "TOKEN" can only be the whole encoding of a string equal to TOKEN: the placeholder, or
 * a value or key that a client would have had to guess 128 random bits to write; and
 * that is ruled out too by requiring one occurrence only.
 */
static bool splice(char **dumped, size_t *len, const struct buf *text)
{
    const char *token = catalog_splice_token();
    size_t tlen = strlen(token);
    char *quoted = xstrfmt("\"%s\"", token);
    char *at = memmem(*dumped, *len, quoted, tlen + 2), *after;
    struct buf out = BUF_INIT;
    bool done = false;

    if (!at)
        goto out;
    after = at + tlen + 2;
    if (memmem(after, *len - (size_t)(after - *dumped), quoted, tlen + 2))
        goto out;
    buf_grow(&out, *len + text->len);
    buf_add(&out, *dumped, (size_t)(at - *dumped));
    buf_add(&out, text->buf, text->len);
    buf_add(&out, after, *len - (size_t)(after - *dumped));
    if (buf_failed(&out))
        goto out;
    free(*dumped);
    *dumped = buf_detach(&out, len);
    done = true;
out:
    buf_release(&out);
    free(quoted);
    return done;
}

int api_ckan_call_text(struct catalog *c, const struct actor *a, const char *name, bool is_post,
                       json_t *params, const struct upload *up, char **body, size_t *len,
                       unsigned *status, enum err_kind *kind)
{
    struct buf text = BUF_INIT;
    json_t *doc = NULL;

    call(c, a, name, is_post, params, up, &text, &doc, status, kind);
    /* xloader_status's only reals are the report's timings, in whole microseconds: 15
     * digits show them exactly (0.042263), where jansson's 17 show a double's noise. */
    *body = json_dumps(
            doc, JSON_COMPACT | (!strcmp(name, "xloader_status") ? JSON_REAL_PRECISION(15) : 0));
    BUG_ON(!*body);
    *len = strlen(*body);
    json_decref(doc);
    if (*status == 200 && text.len && !splice(body, len, &text)) {
        /* Not reached unless a value equals the placeholder (see splice): answer as
         * without text rather than guess which occurrence is ours. */
        log_error("api: package_search: the results placeholder is not unique; parsing");
        free(*body);
        call(c, a, name, is_post, params, up, NULL, &doc, status, kind);
        *body = json_dumps(doc, JSON_COMPACT);
        BUG_ON(!*body);
        *len = strlen(*body);
        json_decref(doc);
    }
    buf_release(&text);
    return 0;
}
