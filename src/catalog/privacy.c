/*
 * privacy.c - the publish gate (issue 5 §4; docs/internals/privacy-gate.md): the verdict
 * on a resource's privacy report, the check when a dataset becomes public, the hold on a
 * blocked resource of a public dataset, the report as the API shows it, and an
 * approver's override with its ledger entry.
 *
 * The report itself is made by the datastore's ingest (src/datastore/privacy.c), which
 * scans each table it builds; the catalog reads it through the store.
 */
#include <jansson.h>
#include <strings.h>

#include "catalog/catalog-int.h"
#include "core/limits.h"
#include "core/timeutil.h"
#include "access/grant.h"
#include "core/util.h"
#include "store/store-datastore.h"

#define JUSTIFICATION_MAX 4000

static bool blank(const char *s)
{
    for (; *s; s++)
        if (!strchr(" \t\r\n", *s))
            return false;
    return true;
}

static void names_quoted(struct buf *b, const json_t *names)
{
    const json_t *v;
    size_t i;

    json_array_foreach (names, i, v)
        buf_addf(b, "%s\"%s\"", i ? ", " : "", json_string_value(v) ? json_string_value(v) : "");
}

/* A declaration's value: true, or a string "true"/"yes" (any case; extras are strings). */
static bool declared_true(const json_t *v)
{
    const char *s = json_string_value(v);

    return json_is_true(v) || (s && (!strcasecmp(s, "true") || !strcasecmp(s, "yes")));
}

bool catalog_privacy_personal(const json_t *doc, const json_t *resource)
{
    const json_t *e;
    size_t i;

    if (declared_true(json_object_get(resource, "personal_data")))
        return true;
    json_array_foreach (json_object_get(doc, "extras"), i, e)
        if (str_eq(json_string_value(json_object_get(e, "key")), "personal_data") &&
            declared_true(json_object_get(e, "value")))
            return true;
    return false;
}

/* How much the gate guards a class named cls: detect_class_rank() (privacy/detect.h)
 * restated, as the catalog reads reports as JSON and does not link the detectors. */
static unsigned class_rank(const char *cls)
{
    if (str_eq(cls, "direct_identifier"))
        return 3;
    if (str_eq(cls, "quasi_identifier"))
        return 2;
    if (str_eq(cls, "sensitive"))
        return 1;
    return 0;
}

static bool in_names(const json_t *names, const char *name)
{
    const json_t *v;
    size_t i;

    json_array_foreach (names, i, v)
        if (str_eq(json_string_value(v), name))
            return true;
    return false;
}

json_t *catalog_privacy_gate(const json_t *report, unsigned k)
{
    json_t *out =
            json_pack("{s:s,s:I,s:[]}", "status", "passed", "k_required", (json_int_t)k, "reasons");
    json_t *reasons = json_object_get(out, "reasons"), *direct = json_array(), *col;
    json_t *lowered = json_array();
    const json_t *qis = json_object_get(report, "quasi_identifiers");
    const json_t *kv = json_object_get(report, "k");
    const json_t *ov = json_object_get(report, "override");
    struct buf msg = BUF_INIT;
    bool people = json_is_true(json_object_get(report, "personal_data")), evident = false;
    bool k_blocks;
    size_t i;

    BUG_ON(!out);
    /* What says that the rows are records of people, not of places, species or
     * accounts: the publisher's declaration ("personal_data", or a column declared an
     * identifier, a quasi-identifier or sensitive), an identifier found in the values
     * (not only in a column's name), a quasi-identifier found in the values (dates of
     * birth, postal codes), or a sensitive attribute. */
    json_array_foreach (json_object_get(report, "columns"), i, col) {
        const char *cls = json_string_value(json_object_get(col, "class"));
        const char *decl = json_string_value(json_object_get(col, "declared"));
        bool by_name = str_eq(json_string_value(json_object_get(col, "reason")), "name");

        if (str_eq(cls, "sensitive") || class_rank(decl) > 0 ||
            (!by_name && (str_eq(cls, "direct_identifier") || str_eq(cls, "quasi_identifier"))))
            people = true;
        if (str_eq(cls, "direct_identifier") && (!by_name || str_eq(decl, "direct_identifier")))
            evident = true;
    }
    /* A direct identifier blocks when its values show it, or the publisher declared it;
     * one known only by its column's name ("name", "address": nothing to validate) when
     * the table is about people, or has quasi-identifiers: a "name" column of countries
     * or species does not block. */
    json_array_foreach (json_object_get(report, "columns"), i, col) {
        const char *cls = json_string_value(json_object_get(col, "class"));
        const char *decl = json_string_value(json_object_get(col, "declared"));
        bool by_name = str_eq(json_string_value(json_object_get(col, "reason")), "name");

        if (str_eq(cls, "direct_identifier") &&
            (!by_name || str_eq(decl, "direct_identifier") || people || json_array_size(qis)))
            json_array_append(direct, json_object_get(col, "name"));
    }
    /* k is judged for records of people (people above, or a direct identifier); the
     * quasi-identifiers of a table of aggregates (age and sex of a life table) are
     * reported with their k but do not block. */
    people = people || evident || json_array_size(direct);
    json_object_set_new(out, "k_enforced", json_boolean(people && json_array_size(qis)));
    if (json_array_size(direct)) {
        json_array_append_new(
                reasons, json_pack("{s:s,s:O}", "reason", "direct_identifier", "columns", direct));
        buf_addf(&msg, "direct identifier%s left in clear in column%s ",
                 json_array_size(direct) > 1 ? "s" : "", json_array_size(direct) > 1 ? "s" : "");
        names_quoted(&msg, direct);
    }
    /* k is null or absent when there is no quasi-identifier or no row */
    k_blocks = people && json_array_size(qis) && json_is_integer(kv) &&
               json_integer_value(kv) < (json_int_t)k;
    if (k_blocks) {
        json_array_append_new(reasons, json_pack("{s:s,s:O,s:O}", "reason", "k_anonymity", "k", kv,
                                                 "columns", qis));
        buf_addf(&msg, "%squasi-identifier%s ", msg.len ? "; " : "",
                 json_array_size(qis) > 1 ? "s" : "");
        names_quoted(&msg, qis);
        buf_addf(&msg, " reach k = %" JSON_INTEGER_FORMAT ", below the portal's k = %u",
                 json_integer_value(kv), k);
    }
    /* A column the publisher declared lower than the detectors found, among those that
     * block: the declaration is not applied without an approver's override. */
    json_array_foreach (json_object_get(report, "columns"), i, col) {
        const char *name = json_string_value(json_object_get(col, "name"));
        const char *decl = json_string_value(json_object_get(col, "declared"));
        const char *cls = json_string_value(json_object_get(col, "class"));

        if (decl && class_rank(decl) < class_rank(cls) &&
            (in_names(direct, name) || (k_blocks && in_names(qis, name))))
            json_array_append_new(lowered, json_pack("{s:s?,s:s,s:s?}", "column", name, "declared",
                                                     decl, "detected", cls));
    }
    /* A file that could not be read has no columns to judge: nothing says it is free of
     * identifiers, so it is withheld like a blocked one (privacy-gate.md). */
    if (json_string_value(json_object_get(report, "unscanned"))) {
        json_array_append_new(reasons,
                              json_pack("{s:s,s:s}", "reason", "unscanned", "error",
                                        json_string_value(json_object_get(report, "unscanned"))));
        buf_addf(&msg,
                 "%sthe file could not be scanned (%s): fix it and upload it again (in a "
                 "private dataset, xloader_submit with lenient reads a ragged table)",
                 msg.len ? "; " : "", json_string_value(json_object_get(report, "unscanned")));
    }
    if (json_array_size(lowered)) {
        json_object_set(out, "lowered", lowered);
        buf_addf(&msg, "; declared below what was found in it: ");
        json_array_foreach (lowered, i, col)
            buf_addf(&msg, "%s\"%s\" (declared %s, found %s)", i ? ", " : "",
                     json_string_value(json_object_get(col, "column")),
                     json_string_value(json_object_get(col, "declared")),
                     json_string_value(json_object_get(col, "detected")));
        buf_addf(&msg, ", which takes an approver's override");
    }
    if (json_array_size(reasons)) {
        const char *sha = json_string_value(json_object_get(report, "source_sha256"));

        json_object_set_new(out, "message", json_string(msg.buf));
        if (json_is_object(ov) && sha &&
            str_eq(json_string_value(json_object_get(ov, "source_sha256")), sha))
            json_object_set_new(out, "status", json_string("overridden"));
        else
            json_object_set_new(out, "status", json_string("blocked"));
    }
    json_decref(direct);
    json_decref(lowered);
    buf_release(&msg);
    return out;
}

/* The resource rid of the package dict doc, or NULL. Borrowed. */
static json_t *resource_of(json_t *doc, const char *rid)
{
    json_t *r;
    size_t i;

    json_array_foreach (json_object_get(doc, "resources"), i, r)
        if (str_eq(json_string_value(json_object_get(r, "id")), rid))
            return r;
    return NULL;
}

/* The verdict on report, the resource rid of doc's, with what the publisher declared of
 * the dataset and resource put into the report ("personal_data"). */
static json_t *gate_of(struct catalog *c, json_t *doc, const char *rid, json_t *report)
{
    json_object_set_new(report, "personal_data",
                        json_boolean(catalog_privacy_personal(doc, resource_of(doc, rid))));
    return catalog_privacy_gate(report, c->privacy_k);
}

bool catalog_privacy_blocked(const json_t *verdict)
{
    return str_eq(json_string_value(json_object_get(verdict, "status")), "blocked");
}

bool catalog_data_public(const json_t *doc)
{
    return !json_is_true(json_object_get(doc, "private")) &&
           str_eq(json_string_value(json_object_get(doc, "state")), "active") &&
           !dataset_restricted(doc);
}

/* Whether the dataset is not visible to everyone (for the ledger entry's objects). */
static bool doc_hidden(json_t *doc)
{
    return json_is_true(json_object_get(doc, "private")) ||
           !str_eq(json_string_value(json_object_get(doc, "state")), "active");
}

/* Whether report (may be NULL) is the report of the file resource r holds now: an uploaded
 * file's report names the file's SHA-256; the report of an older file never stands for
 * a new one. True for a resource without an uploaded file. */
static bool report_current(const json_t *r, const json_t *report)
{
    const char *hash = json_string_value(json_object_get(r, "hash"));
    const char *sha = json_string_value(json_object_get(report, "source_sha256"));

    if (!str_eq(json_string_value(json_object_get(r, "url_type")), "upload") || !hash)
        return true;
    if (starts_with(hash, "sha256:"))
        hash += strlen("sha256:");
    return report && sha && str_eq(sha, hash);
}

int catalog_privacy_publish_check(struct catalog *c, json_t *doc, struct err *err)
{
    struct buf msg = BUF_INIT;
    json_t *r, *report = NULL, *verdict = NULL;
    size_t i;
    int ret = 0;

    json_array_foreach (json_object_get(doc, "resources"), i, r) {
        const char *rid = json_string_value(json_object_get(r, "id"));
        const char *ds = json_string_value(json_object_get(r, "datastore_status"));
        const char *hash = json_string_value(json_object_get(r, "hash"));
        const char *sha;

        if (!rid)
            continue;
        report = NULL;
        ret = store_privacy_report_get(c->store, rid, &report, NULL);
        if (ret && ret != -ERR_NOT_FOUND) {
            ret = err_set(err, ERR_INTERNAL, NULL,
                          "cannot read the privacy report of resource \"%s\"", rid);
            goto out;
        }
        ret = 0;
        if (hash && starts_with(hash, "sha256:"))
            hash += strlen("sha256:");
        sha = json_string_value(json_object_get(report, "source_sha256"));
        /* A file without a report of its own (still waiting for its ingest, or whose
         * ingest failed; the report of the file it replaced does not count): it is
         * scanned now, and one that cannot be read is refused (privacy-gate.md). */
        if (hash && !(sha && str_eq(sha, hash)) &&
            (!report || str_eq(ds, "pending") || str_eq(ds, "running") || str_eq(ds, "error"))) {
            json_decref(report);
            report = NULL;
            if (c->privacy_scan)
                c->privacy_scan(c, r, &report);
            else if (ds)
                buf_addf(&msg, "%sresource \"%s\": its file is not scanned yet (the ingest is %s)",
                         msg.len ? "; " : "", rid, ds);
        }
        if (report) {
            verdict = gate_of(c, doc, rid, report);
            if (catalog_privacy_blocked(verdict))
                buf_addf(&msg, "%sresource \"%s\": %s", msg.len ? "; " : "", rid,
                         json_string_value(json_object_get(verdict, "message")));
            json_decref(verdict);
            verdict = NULL;
        }
        json_decref(report);
        report = NULL;
    }
    if (msg.len)
        ret = err_set(err, ERR_VALIDATION, "privacy",
                      "the dataset cannot be made public: %s (de-identify the file, or have an "
                      "approver override the gate with datastore_privacy_override)",
                      msg.buf);
out:
    json_decref(report);
    buf_release(&msg);
    return ret;
}

int catalog_privacy_withheld(struct catalog *c, const struct actor *a, json_t *doc,
                             const char *resource_id, struct err *err)
{
    json_t *report = NULL, *verdict = NULL, *res;
    const char *ds;
    int ret = 0;

    if (!catalog_data_public(doc) || dataset_can_edit(a, doc))
        return 0;
    if (store_privacy_report_get(c->store, resource_id, &report, NULL))
        report = NULL;
    res = resource_of(doc, resource_id);
    ds = json_string_value(json_object_get(res, "datastore_status"));
    if (!report && !report_current(res, report) && str_eq(ds, "error") &&
        store_privacy_reports_kept(c->store)) {
        /* No report at all, and the file's ingest failed: it is not known to be free of
         * identifiers. (An unreadable upload into a public dataset has a report saying
         * so, datastore_privacy_precheck; a file still waiting for its ingest was scanned
         * when it was uploaded; a report of another file ingested into the resource,
         * `kaifang ingest FILE --resource`, is the table's and judged below.) A store
         * that kept no reports would never have one: there the upload
         * check refuses an unreadable file into a public dataset with nothing written,
         * so a later failed ingest (a re-typing, another encoding) is of a file that
         * passed it. */
        return err_set(err, ERR_AUTH, NULL,
                       "resource \"%s\" is withheld by the privacy gate: its file could not be "
                       "ingested, so it was never scanned for identifiers",
                       resource_id);
    }
    if (!report)
        return 0; /* never scanned (a link, a file that is not a table) */
    verdict = gate_of(c, doc, resource_id, report);
    if (catalog_privacy_blocked(verdict))
        ret = err_set(err, ERR_AUTH, NULL,
                      "resource \"%s\" is withheld by the privacy gate until it is de-identified "
                      "or an approver overrides the gate: %s",
                      resource_id, json_string_value(json_object_get(verdict, "message")));
    json_decref(report);
    json_decref(verdict);
    return ret;
}

/* Loads the dataset of a resource the actor may read, and the resource's report. */
static int load(struct catalog *c, const struct actor *a, json_t *params, const char **rid,
                json_t **doc, json_t **report, struct err *err)
{
    char did[UUID_STR_LEN];
    bool found = false;
    json_t *r;
    size_t i;
    int ret;

    *doc = *report = NULL;
    *rid = json_string_value(json_object_get(params, "resource_id"));
    if (!*rid)
        *rid = json_string_value(json_object_get(params, "id"));
    if (!*rid || !**rid)
        return err_set(err, ERR_VALIDATION, "resource_id", "Missing value");
    if (strlen(*rid) > LIMIT_FIELD_MAX ||
        store_resource_dataset(c->store, *rid, did, sizeof(did), NULL) ||
        dataset_load_readable(c, a, did, doc, NULL))
        return err_set(err, ERR_NOT_FOUND, "resource_id", "resource \"%s\" not found", *rid);
    json_array_foreach (json_object_get(*doc, "resources"), i, r)
        found = found || str_eq(json_string_value(json_object_get(r, "id")), *rid);
    if (!found)
        return err_set(err, ERR_NOT_FOUND, "resource_id", "resource \"%s\" not found", *rid);
    ret = store_privacy_report_get(c->store, *rid, report, NULL);
    if (ret && ret != -ERR_NOT_FOUND)
        return err_set(err, ERR_INTERNAL, NULL, "cannot read the privacy report of resource \"%s\"",
                       *rid);
    if (!report_current(resource_of(*doc, *rid), *report) && c->privacy_scan &&
        (!*report ||
         str_eq(json_string_value(json_object_get(resource_of(*doc, *rid), "datastore_status")),
                "error"))) {
        /* The stored report is of an older file, or the file's ingest failed before its
         * report: the file is scanned now (a report saying it cannot be read, if so). */
        json_decref(*report);
        *report = NULL;
        c->privacy_scan(c, resource_of(*doc, *rid), report);
        if (*report)
            json_object_set_new(*report, "resource_id", json_string(*rid));
    }
    ret = *report ? 0 : -ERR_NOT_FOUND;
    if (ret == -ERR_NOT_FOUND)
        return err_set(err, ERR_NOT_FOUND, "resource_id",
                       "resource \"%s\" has no privacy report (its file was never scanned: a "
                       "link, a file that is not a table, or an ingest not finished)",
                       *rid);
    if (ret)
        return err_set(err, ERR_INTERNAL, NULL, "cannot read the privacy report of resource \"%s\"",
                       *rid);
    return 0;
}

/* The report as shown to a: the verdict added, masked examples only for editors. */
static json_t *view(struct catalog *c, const struct actor *a, json_t *doc, const char *rid,
                    const json_t *report)
{
    json_t *out = json_deep_copy(report), *col, *verdict = gate_of(c, doc, rid, out);
    size_t i;

    if (!dataset_can_edit(a, doc)) {
        json_array_foreach (json_object_get(out, "columns"), i, col)
            json_object_del(col, "examples");
    }
    json_object_set_new(out, "gate", verdict);
    return out;
}

int catalog_privacy_report_show(struct catalog *c, const struct actor *a, json_t *params,
                                json_t **result, struct err *err)
{
    json_t *doc = NULL, *report = NULL;
    const char *rid;
    int ret;

    *result = NULL;
    ret = load(c, a, params, &rid, &doc, &report, err);
    if (!ret)
        *result = view(c, a, doc, rid, report);
    json_decref(doc);
    json_decref(report);
    return ret;
}

int catalog_privacy_report_of(struct catalog *c, const struct actor *a, const json_t *dataset,
                              const char *resource_id, json_t **result)
{
    json_t *report = NULL;
    const json_t *r;
    bool found = false;
    size_t i;

    *result = NULL;
    if (!resource_id)
        return -ERR_NOT_FOUND;
    json_array_foreach (json_object_get(dataset, "resources"), i, r)
        found = found || str_eq(json_string_value(json_object_get(r, "id")), resource_id);
    if (!found || store_privacy_report_get(c->store, resource_id, &report, NULL))
        return -ERR_NOT_FOUND;
    *result = view(c, a, (json_t *)dataset, resource_id, report);
    json_decref(report);
    return 0;
}

int catalog_privacy_override(struct catalog *c, const struct actor *a, json_t *params,
                             json_t **result, struct err *err)
{
    json_t *doc = NULL, *report = NULL, *verdict = NULL, *objects = NULL, *digest = NULL;
    const char *rid, *just, *org, *state;
    char now[TIME_ISO_MAX];
    bool hidden;
    int ret;

    *result = NULL;
    if (!a || !a->authenticated)
        return err_set(err, ERR_AUTH, NULL, "anonymous users may not override the privacy gate");
    just = json_string_value(json_object_get(params, "justification"));
    ret = catalog_tx_begin(c, err);
    if (ret)
        return ret;
    ret = load(c, a, params, &rid, &doc, &report, err);
    if (ret)
        goto out;
    org = json_string_value(json_object_get(doc, "owner_org"));
    /* An approver of the organization (issue 8's role), and the two-person rule: whoever
     * published the table asks; someone else approves. */
    ret = access_approver_check(a, org, json_string_value(json_object_get(report, "publisher")),
                                err);
    if (ret)
        goto out;
    if (!just || blank(just)) {
        ret = err_set(err, ERR_VALIDATION, "justification",
                      "a written justification is required to override the privacy gate");
        goto out;
    }
    if (strlen(just) > JUSTIFICATION_MAX) {
        ret = err_set(err, ERR_VALIDATION, "justification",
                      "the justification is longer than %u bytes", JUSTIFICATION_MAX);
        goto out;
    }
    verdict = gate_of(c, doc, rid, report);
    if (!catalog_privacy_blocked(verdict)) {
        ret = err_set(err, ERR_VALIDATION, "resource_id",
                      "resource \"%s\" is not blocked by the privacy gate (%s): nothing to "
                      "override",
                      rid, json_string_value(json_object_get(verdict, "status")));
        goto out;
    }
    time_now_ckan(now);
    json_object_set_new(report, "override",
                        json_pack("{s:s,s:s,s:s,s:O?,s:O,s:O}", "user", a->name, "justification",
                                  just, "at", now, "source_sha256",
                                  json_object_get(report, "source_sha256"), "reasons",
                                  json_object_get(verdict, "reasons"), "k_required",
                                  json_object_get(verdict, "k_required")));
    ret = store_privacy_report_put(c->store, rid, report, err);
    if (ret)
        goto out;
    state = json_string_value(json_object_get(doc, "state"));
    hidden = doc_hidden(doc);
    objects = json_pack("{s:s?,s:s}", "dataset", json_string_value(json_object_get(doc, "id")),
                        "resource", rid);
    BUG_ON(!objects);
    if (hidden)
        json_object_set_new(objects, "visibility",
                            json_string(str_eq(state, "draft") ? "draft" : "private"));
    else
        json_object_set(objects, "name", json_object_get(doc, "name"));
    digest = json_pack("{s:s,s:O?,s:s,s:O,s:O}", "resource_id", rid, "source_sha256",
                       json_object_get(report, "source_sha256"), "justification", just, "reasons",
                       json_object_get(verdict, "reasons"), "k_required",
                       json_object_get(verdict, "k_required"));
    BUG_ON(!digest);
    ret = catalog_record(
            c, a, "privacy_override",
            json_string_value(json_object_get(json_object_get(doc, "organization"), "name")),
            objects, digest, err);
    objects = NULL;
out:
    ret = catalog_tx_end(c, ret, err);
    if (!ret)
        *result = view(c, a, doc, rid, report);
    json_decref(doc);
    json_decref(report);
    json_decref(verdict);
    json_decref(objects);
    json_decref(digest);
    return ret;
}
