/*
 * schedule.c - fee schedules: created by an editor of an organization, approved by a
 * second person (audit_may_approve), published once approved. Each step is one store
 * transaction with its ledger entry (docs/internals/audit.md, "Ledger entries").
 */
#include <string.h>

#include "audit/audit-int.h"
#include "core/timeutil.h"
#include "core/util.h"
#include "crypto/secret.h"
#include "ledger/ledger.h"
#include "store/store-audit.h"

int audit_may_approve(const struct actor *a, const char *org_id, const char *creator,
                      struct err *err)
{
    /* The one approver check of issue 8 (access.h): the "approver" role of the
     * organization, or portal-wide, and never the creator. */
    return access_approver_check(a, org_id, creator, err);
}

int audit_org_lookup(struct store *s, const char *org, const char *field, json_t **doc,
                     struct err *err)
{
    int rc;

    *doc = NULL;
    if (!org || !*org)
        return err_set(err, ERR_VALIDATION, field, "Missing value");
    rc = store_group_get(s, true, org, doc, err);
    if (rc == -ERR_NOT_FOUND ||
        (!rc && !str_eq(json_string_value(json_object_get(*doc, "state")), "active"))) {
        json_decref(*doc);
        *doc = NULL;
        err_clear(err);
        return err_set(err, ERR_VALIDATION, field, "organization \"%s\" not found", org);
    }
    return rc;
}

int audit_record(struct store *s, const char *type, const char *actor, const char *org,
                 json_t *objects, json_t *digest, uint64_t *index, struct err *err)
{
    struct err e = ERR_INIT;
    int ret;

    BUG_ON(!actor || !*actor || !objects);
    ret = ledger_record(s, type, actor, org, objects, digest, index, &e);
    if (ret)
        ret = err_set(err, ERR_INTERNAL, NULL, "cannot record \"%s\" in the ledger: %s", type,
                      e.msg);
    json_decref(objects);
    json_decref(digest);
    return ret;
}

static bool name_ok(const char *n)
{
    size_t len = strlen(n);

    if (len < 2 || len > 100)
        return false;
    for (size_t i = 0; i < len; i++)
        if (!((n[i] >= 'a' && n[i] <= 'z') || (n[i] >= '0' && n[i] <= '9') || n[i] == '-' ||
              n[i] == '_'))
            return false;
    return true;
}

/* A required text parameter of at most max bytes. */
static int text_param(const json_t *params, const char *key, size_t max, const char **out,
                      struct err *err)
{
    json_t *v = json_object_get(params, key);

    *out = json_string_value(v);
    if (!v || json_is_null(v) || (*out && !**out))
        return err_set(err, ERR_VALIDATION, key, "Missing value");
    if (!*out)
        return err_set(err, ERR_VALIDATION, key, "must be a string");
    if (strlen(*out) > max)
        return err_set(err, ERR_VALIDATION, key, "longer than %zu bytes", max);
    for (const char *p = *out; *p; p++)
        if ((unsigned char)*p < 0x20 && *p != '\n')
            return err_set(err, ERR_VALIDATION, key, "holds a control character");
    return 0;
}

int audit_amount_param(const json_t *params, const char *key, int64_t *fen, struct err *err)
{
    json_t *v = json_object_get(params, key);
    const char *why = NULL, *s;
    char num[64];

    if (!v || json_is_null(v))
        return err_set(err, ERR_VALIDATION, key, "Missing value");
    if (json_is_integer(v)) {
        /* An integer is whole yuan; a JSON real is refused: its binary value is not the
         * decimal the sender wrote. */
        xsnprintf(num, sizeof(num), "%" JSON_INTEGER_FORMAT, json_integer_value(v));
        s = num;
    } else if (json_is_string(v)) {
        s = json_string_value(v);
    } else {
        return err_set(err, ERR_VALIDATION, key,
                       "must be a decimal string of yuan with at most two decimals (\"12.50\")");
    }
    if (audit_amount_parse(s, strlen(s), fen, &why))
        return err_set(err, ERR_VALIDATION, key, "\"%.40s\" %s", s, why);
    return 0;
}

int audit_date_param(const json_t *params, const char *key, const char **out, struct err *err)
{
    *out = json_string_value(json_object_get(params, key));
    if (!*out || !**out)
        return err_set(err, ERR_VALIDATION, key, "Missing value");
    if (!audit_date_valid(*out, strlen(*out)))
        return err_set(err, ERR_VALIDATION, key, "\"%.40s\" is not a date YYYY-MM-DD", *out);
    return 0;
}

/* The public form of a schedule doc: everything but nothing is secret in it; a copy. */
static json_t *schedule_output(const json_t *doc)
{
    return json_deep_copy(doc);
}

/* The digest input of a schedule: the doc without its ledger indexes (which the entry
 * cannot contain before it exists). */
static json_t *schedule_digest(const json_t *doc)
{
    json_t *d = json_deep_copy(doc);

    json_object_del(d, "ledger");
    return d;
}

int audit_schedule_create(struct store *s, const struct actor *a, const json_t *params,
                          json_t **out, struct err *err)
{
    const char *name, *org, *service, *unit, *basis, *start, *end, *org_id, *org_name;
    char id[UUID_STR_LEN], now[TIME_ISO_MAX], price[AUDIT_AMOUNT_STR_MAX];
    json_t *orgdoc = NULL, *doc = NULL, *existing = NULL;
    uint64_t idx = 0;
    int64_t fen = 0;
    bool began = false;
    int rc;

    if (out)
        *out = NULL;
    if (!a || !a->authenticated) {
        rc = err_set(err, ERR_AUTH, NULL, "creating a fee schedule needs a signed-in user");
        goto out;
    }
    if (!json_is_object(params)) {
        rc = err_set(err, ERR_BAD_REQUEST, NULL, "parameters must be an object");
        goto out;
    }
    /* Who may, first: the organization and the actor's capacity in it. */
    rc = text_param(params, "organization", 100, &org, err);
    if (!rc)
        rc = audit_org_lookup(s, org, "organization", &orgdoc, err);
    if (rc)
        goto out;
    org_id = json_string_value(json_object_get(orgdoc, "id"));
    org_name = json_string_value(json_object_get(orgdoc, "name"));
    if (actor_capacity(a, org_id) < CAPACITY_EDITOR) {
        rc = err_set(err, ERR_AUTH, NULL,
                     "user \"%s\" may not create fee schedules of organization \"%s\"", a->name,
                     org_name);
        goto out;
    }
    rc = text_param(params, "name", 100, &name, err);
    if (!rc && !name_ok(name))
        rc = err_set(err, ERR_VALIDATION, "name",
                     "Must be purely lowercase alphanumeric (ascii) characters and these "
                     "symbols: -_ (2 to 100 characters)");
    if (!rc)
        rc = text_param(params, "service", 1000, &service, err);
    if (!rc)
        rc = text_param(params, "unit", AUDIT_FIELD_MAX, &unit, err);
    if (!rc)
        rc = audit_amount_param(params, "price", &fen, err);
    if (!rc)
        rc = text_param(params, "legal_basis", 1000, &basis, err);
    if (!rc)
        rc = audit_date_param(params, "period_start", &start, err);
    if (!rc)
        rc = audit_date_param(params, "period_end", &end, err);
    if (!rc && strcmp(start, end) > 0)
        rc = err_set(err, ERR_VALIDATION, "period_end", "the period ends before it starts");
    if (rc)
        goto out;
    secret_uuid4(id);
    time_now_rfc3339(now);
    audit_amount_format(fen, price);
    doc = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:n, "
                    "s:n}",
                    "id", id, "name", name, "organization", org_name, "organization_id", org_id,
                    "service", service, "unit", unit, "price", price, "currency", AUDIT_CURRENCY,
                    "legal_basis", basis, "period_start", start, "period_end", end, "state",
                    "pending", "creator", a->name, "approver", "approved");
    if (!doc) {
        rc = err_set(err, ERR_VALIDATION, NULL, "parameters must be valid UTF-8");
        goto out;
    }
    json_object_set_new(doc, "created", json_string(now));
    rc = store_begin(s, err);
    if (rc)
        goto out;
    began = true;
    if (!store_fee_schedule_get(s, name, &existing, err)) {
        rc = err_set(err, ERR_CONFLICT, "name", "fee schedule name \"%s\" is already in use", name);
        goto out;
    }
    err_clear(err);
    rc = audit_record(s, "fee_schedule_create", a->name, org_name,
                      json_pack("{s:s, s:s, s:s, s:s, s:s, s:s}", "fee_schedule", id, "name", name,
                                "unit", unit, "price", price, "period_start", start, "period_end",
                                end),
                      schedule_digest(doc), &idx, err);
    if (rc)
        goto out;
    json_object_set_new(doc, "ledger",
                        json_pack("{s:I, s:n}", "create", (json_int_t)idx, "approve"));
    rc = store_fee_schedule_put(s, id, name, org_id, "pending", doc, err);
    if (!rc)
        rc = store_commit(s, err);
    if (rc)
        goto out;
    began = false;
    if (out)
        *out = schedule_output(doc);
out:
    if (began)
        store_rollback(s);
    json_decref(existing);
    json_decref(orgdoc);
    json_decref(doc);
    return rc;
}

int audit_schedule_approve(struct store *s, const struct actor *a, const char *id_or_name,
                           json_t **out, struct err *err)
{
    char now[TIME_ISO_MAX];
    json_t *doc = NULL;
    const char *id, *name, *org_id, *org_name;
    uint64_t idx = 0;
    bool began = false;
    int rc;

    if (out)
        *out = NULL;
    if (!a || !a->authenticated) {
        rc = err_set(err, ERR_AUTH, NULL, "approving a fee schedule needs a signed-in user");
        goto out;
    }
    if (!id_or_name || !*id_or_name) {
        rc = err_set(err, ERR_VALIDATION, "id", "Missing value");
        goto out;
    }
    rc = store_begin(s, err);
    if (rc)
        goto out;
    began = true;
    rc = store_fee_schedule_get(s, id_or_name, &doc, err);
    if (rc)
        goto out;
    id = json_string_value(json_object_get(doc, "id"));
    name = json_string_value(json_object_get(doc, "name"));
    org_id = json_string_value(json_object_get(doc, "organization_id"));
    org_name = json_string_value(json_object_get(doc, "organization"));
    if (!id || !name || !org_id || !org_name) {
        rc = err_set(err, ERR_INTERNAL, NULL, "a stored fee schedule is corrupt");
        goto out;
    }
    /* The approver check alone decides (as for grants): an approver of the organization
     * need not be a member of it, and a caller who may not approve is told so (403),
     * never that the schedule does not exist. */
    rc = audit_may_approve(a, org_id, json_string_value(json_object_get(doc, "creator")), err);
    if (rc)
        goto out;
    if (!str_eq(json_string_value(json_object_get(doc, "state")), "pending")) {
        rc = err_set(err, ERR_CONFLICT, "state", "fee schedule \"%s\" is already approved", name);
        goto out;
    }
    time_now_rfc3339(now);
    json_object_set_new(doc, "state", json_string("approved"));
    json_object_set_new(doc, "approver", json_string(a->name));
    json_object_set_new(doc, "approved", json_string(now));
    rc = audit_record(s, "fee_schedule_approve", a->name, org_name,
                      json_pack("{s:s, s:s}", "fee_schedule", id, "name", name),
                      schedule_digest(doc), &idx, err);
    if (rc)
        goto out;
    json_object_set_new(json_object_get(doc, "ledger"), "approve", json_integer((json_int_t)idx));
    rc = store_fee_schedule_put(s, id, name, org_id, "approved", doc, err);
    if (!rc)
        rc = store_commit(s, err);
    if (rc)
        goto out;
    began = false;
    if (out)
        *out = schedule_output(doc);
out:
    if (began)
        store_rollback(s);
    json_decref(doc);
    return rc;
}

/* Whether a may see a schedule in this state of this organization. */
static bool schedule_visible(const struct actor *a, const json_t *doc)
{
    const char *org = json_string_value(json_object_get(doc, "organization_id"));

    /* Approved ones are published; a pending one is seen by the organization's members
     * and by its approvers (who review it, member or not). */
    return str_eq(json_string_value(json_object_get(doc, "state")), "approved") ||
           actor_capacity(a, org) >= CAPACITY_MEMBER ||
           (a && a->authenticated && actor_has_role(a, ROLE_APPROVER, org));
}

int audit_schedule_show(struct store *s, const struct actor *a, const char *id_or_name,
                        json_t **out, struct err *err)
{
    json_t *doc = NULL;
    int rc;

    *out = NULL;
    if (!id_or_name || !*id_or_name)
        return err_set(err, ERR_VALIDATION, "id", "Missing value");
    rc = store_fee_schedule_get(s, id_or_name, &doc, err);
    if (rc)
        return rc;
    if (!schedule_visible(a, doc)) {
        json_decref(doc);
        return err_set(err, ERR_NOT_FOUND, "id", "fee schedule \"%s\" not found", id_or_name);
    }
    *out = schedule_output(doc);
    json_decref(doc);
    return 0;
}

int audit_schedule_list(struct store *s, const struct actor *a, const char *org, bool pending,
                        json_t **out, struct err *err)
{
    json_t *orgdoc = NULL, *all = NULL, *doc;
    const char *org_id = NULL;
    size_t i;
    int rc = 0;

    *out = NULL;
    if (org && *org) {
        rc = audit_org_lookup(s, org, "organization", &orgdoc, err);
        if (rc)
            goto out;
        org_id = json_string_value(json_object_get(orgdoc, "id"));
    }
    rc = store_fee_schedule_list(s, org_id, pending ? NULL : "approved", &all, err);
    if (rc)
        goto out;
    *out = json_array();
    json_array_foreach (all, i, doc)
        if (schedule_visible(a, doc))
            json_array_append_new(*out, schedule_output(doc));
out:
    json_decref(orgdoc);
    json_decref(all);
    return rc;
}
