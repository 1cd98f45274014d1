/*
 * grant.c - grants on restricted datasets: request, approve or refuse, revoke, show,
 * the check a restricted read makes, and the ledger entries of reads (grant.h;
 * docs/internals/access.md, "Grants").
 */
#include <jansson.h>
#include <pthread.h>
#include <time.h>

#include "access/grant.h"
#include "core/limits.h"
#include "core/timeutil.h"
#include "core/util.h"
#include "crypto/secret.h"
#include "ledger/ledger.h"
#include "store/store-datastore.h"

bool dataset_restricted(const json_t *dataset)
{
    const char *level = json_string_value(json_object_get(dataset, "access_level"));

    return str_eq(level, "restricted public") || str_eq(level, "non-public");
}

void grant_today(char *out)
{
    char now[TIME_ISO_MAX];

    time_now_rfc3339(now);
    xsnprintf(out, 11, "%.10s", now);
}

static const char *sget(const json_t *o, const char *key)
{
    return json_string_value(json_object_get(o, key));
}

/* ---- parameters ---- */

static int text_param(json_t *params, const char *key, bool required, size_t max, const char **out,
                      struct err *err)
{
    json_t *v = json_object_get(params, key);

    *out = NULL;
    if (!v || json_is_null(v) || (json_is_string(v) && !json_string_length(v))) {
        if (required)
            return err_set(err, ERR_VALIDATION, key, "Missing value");
        return 0;
    }
    if (!json_is_string(v))
        return err_set(err, ERR_VALIDATION, key, "\"%s\" must be a string", key);
    if (json_string_length(v) > max)
        return err_set(err, ERR_VALIDATION, key, "\"%s\" is longer than %zu bytes", key, max);
    *out = json_string_value(v);
    return 0;
}

/* A day "YYYY-MM-DD" of the proleptic Gregorian calendar (ISO 8601 calendar date). */
static bool day_valid(const char *s)
{
    static const int mdays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int y, m, d;

    if (!s || strlen(s) != 10 || s[4] != '-' || s[7] != '-')
        return false;
    for (int i = 0; i < 10; i++)
        if (i != 4 && i != 7 && (s[i] < '0' || s[i] > '9'))
            return false;
    y = (s[0] - '0') * 1000 + (s[1] - '0') * 100 + (s[2] - '0') * 10 + (s[3] - '0');
    m = (s[5] - '0') * 10 + (s[6] - '0');
    d = (s[8] - '0') * 10 + (s[9] - '0');
    if (m < 1 || m > 12 || d < 1 || d > mdays[m - 1])
        return false;
    if (m == 2 && d == 29 && !((y % 4 == 0 && y % 100 != 0) || y % 400 == 0))
        return false;
    return y >= 1;
}

/* A datastore column name as the grant keeps it: a non-empty string of at most
 * LIMIT_NAME_MAX bytes. */
static bool column_name_ok(const json_t *v)
{
    const char *s = json_string_value(v);
    size_t n = json_string_length(v);

    /* No quote or comma (datastore_search's lists split and unquote at them), no white
     * space at either end (they are trimmed): the name is read back as it was checked. */
    return s && n && n <= LIMIT_NAME_MAX && !strpbrk(s, "\",") && s[0] != ' ' && s[n - 1] != ' ' &&
           s[0] != '\t' && s[n - 1] != '\t';
}

/* columns: a non-empty array of distinct column names. A new array. */
static int columns_param(json_t *params, json_t **out, struct err *err)
{
    json_t *v = json_object_get(params, "columns"), *c;
    size_t i, j;

    *out = NULL;
    if (json_is_string(v)) {
        /* "a,b" as a query string sends it */
        json_t *arr = json_array();
        const char *p = json_string_value(v);

        while (*p) {
            size_t n = strcspn(p, ",");
            json_array_append_new(arr, json_stringn(p, n));
            p += n;
            if (*p)
                p++;
        }
        v = arr;
    } else {
        json_incref(v);
    }
    if (!json_is_array(v) || !json_array_size(v)) {
        json_decref(v);
        return err_set(err, ERR_VALIDATION, "columns",
                       "\"columns\" must be a non-empty list of column names");
    }
    if (json_array_size(v) > LIMIT_DATASTORE_FIELDS) {
        json_decref(v);
        return err_set(err, ERR_VALIDATION, "columns", "more than %u columns",
                       LIMIT_DATASTORE_FIELDS);
    }
    json_array_foreach (v, i, c) {
        if (!column_name_ok(c)) {
            json_decref(v);
            return err_set(err, ERR_VALIDATION, "columns",
                           "column %zu must be a name of 1 to %u bytes, without quotes, "
                           "commas or white space at its ends",
                           i + 1, LIMIT_NAME_MAX);
        }
        for (j = 0; j < i; j++)
            if (json_equal(json_array_get(v, j), c)) {
                json_decref(v);
                return err_set(err, ERR_VALIDATION, "columns", "column \"%s\" is listed twice",
                               json_string_value(c));
            }
    }
    *out = v;
    return 0;
}

/* filters: datastore_search's shape, {column: value | [values]}, values strings, numbers
 * or booleans. Normalised into {column: [values]} (a new object); each column must be
 * among columns (a row filter on a column the grantee may not read is still a read of
 * it). Absent: {} (every row). */
static int filters_param(json_t *params, const json_t *columns, json_t **out, struct err *err)
{
    json_t *v = json_object_get(params, "filters"), *f = NULL, *val, *x, *norm;
    const char *key;
    size_t i;
    bool listed;

    *out = NULL;
    if (json_is_string(v)) {
        f = json_loads(json_string_value(v), JSON_REJECT_DUPLICATES, NULL);
        if (!f)
            return err_set(err, ERR_VALIDATION, "filters", "\"filters\" is not valid JSON");
        v = f;
    }
    if (v && !json_is_null(v) && !json_is_object(v)) {
        json_decref(f);
        return err_set(err, ERR_VALIDATION, "filters",
                       "\"filters\" must be an object of column: value or [values]");
    }
    norm = json_object();
    json_object_foreach (v, key, val) {
        listed = false;
        json_array_foreach (columns, i, x)
            listed |= str_eq(json_string_value(x), key);
        if (!listed) {
            /* key is f's when filters came as text: the error first, then the frees. */
            int ret = err_set(err, ERR_VALIDATION, "filters",
                              "filter column \"%.100s\" is not among the grant's columns", key);

            json_decref(norm);
            json_decref(f);
            return ret;
        }
        if (!json_is_array(val)) {
            json_t *one = json_array();

            json_array_append(one, val);
            val = one;
        } else {
            json_incref(val);
        }
        if (!json_array_size(val) || json_array_size(val) > LIMIT_DATASTORE_FILTER_VALUES) {
            int ret = err_set(err, ERR_VALIDATION, "filters",
                              "filter \"%.100s\" needs 1 to %u values", key,
                              LIMIT_DATASTORE_FILTER_VALUES);

            json_decref(val);
            json_decref(norm);
            json_decref(f);
            return ret;
        }
        json_array_foreach (val, i, x) {
            if (!json_is_string(x) && !json_is_number(x) && !json_is_boolean(x)) {
                int ret = err_set(err, ERR_VALIDATION, "filters",
                                  "filter \"%.100s\": values must be strings, numbers or "
                                  "booleans",
                                  key);

                json_decref(val);
                json_decref(norm);
                json_decref(f);
                return ret;
            }
        }
        json_object_set_new(norm, key, val);
    }
    json_decref(f);
    *out = norm;
    return 0;
}

/* ---- records ---- */

/* The public shape: the stored record without the ids of people and organizations
 * (the names stand for them). New reference. */
static json_t *grant_public(const json_t *rec)
{
    json_t *out = json_deep_copy(rec);

    json_object_del(out, "organization_id");
    json_object_del(out, "grantee_id");
    return out;
}

/* Stages the ledger entry of a grant step inside the open transaction. */
static int grant_entry(struct store *s, const char *type, const char *actor, const json_t *rec,
                       struct err *err)
{
    struct err e = ERR_INIT;
    json_t *objects = json_pack("{s:s?, s:s?, s:s?}", "grant", sget(rec, "id"), "dataset",
                                sget(rec, "dataset"), "grantee", sget(rec, "grantee"));
    json_t *digest = grant_public(rec);
    int ret = ledger_record(s, type, actor, sget(rec, "organization"), objects, digest, NULL, &e);

    if (ret)
        ret = err_set(err, ERR_INTERNAL, NULL, "cannot record \"%s\" in the ledger: %s", type,
                      e.msg);
    json_decref(objects);
    json_decref(digest);
    return ret;
}

static int grant_store(struct store *s, const json_t *rec, struct err *err)
{
    return store_grant_put(s, sget(rec, "id"), sget(rec, "dataset"), sget(rec, "grantee_id"),
                           sget(rec, "state"), sget(rec, "requested_at"), rec, err);
}

/* The organization (id) of a dataset as its package dict names it. */
static const char *dataset_org(const json_t *d)
{
    return sget(d, "owner_org");
}

/* Each of columns (so each row-filter column, which must be among them) must be a field
 * of one of the datastore tables of d's resources, when d has any: -ERR_VALIDATION
 * naming the first that is not. A dataset without a table yet is not judged (its
 * columns are not known); a read then takes only the granted columns its table has. */
static int columns_in_tables(struct store *s, const json_t *d, const json_t *columns,
                             struct err *err)
{
    json_t *known = json_object(), *res, *f, *c;
    size_t i, j;
    bool tables = false;
    int ret = 0;

    json_array_foreach (json_object_get(d, "resources"), i, res) {
        struct store_ds_info info = {0};

        if (!sget(res, "id") || store_ds_info(s, sget(res, "id"), &info, NULL)) {
            store_ds_info_release(&info);
            continue;
        }
        tables = true;
        json_array_foreach (info.fields, j, f)
            if (sget(f, "id"))
                json_object_set_new(known, sget(f, "id"), json_true());
        store_ds_info_release(&info);
    }
    json_array_foreach (columns, i, c) {
        if (tables && !json_object_get(known, json_string_value(c))) {
            ret = err_set(err, ERR_VALIDATION, "columns",
                          "column \"%s\" is not a field of any datastore table of the dataset",
                          json_string_value(c));
            break;
        }
    }
    json_decref(known);
    return ret;
}

int grant_request_as(struct store *s, const struct actor *a, json_t *params, json_t **grant,
                     struct err *err)
{
    const char *dataset, *grantee, *purpose, *basis, *from, *until, *fee;
    json_t *d = NULL, *g = NULL, *user = NULL, *roles = NULL, *columns = NULL, *filters = NULL;
    json_t *rec = NULL, *r;
    char id[UUID_STR_LEN], now[TIME_ISO_MAX], today[11];
    bool began = false, is_grantee = false;
    size_t i;
    int ret;

    *grant = NULL;
    if (!a || !a->authenticated) {
        ret = err_set(err, ERR_AUTH, NULL, "anonymous users may not request grants");
        goto out;
    }
    if ((ret = text_param(params, "dataset", true, LIMIT_FIELD_MAX, &dataset, err)) ||
        (ret = text_param(params, "grantee", true, LIMIT_NAME_MAX, &grantee, err)) ||
        (ret = text_param(params, "purpose", true, LIMIT_TEXT_MAX, &purpose, err)) ||
        (ret = text_param(params, "legal_basis", true, LIMIT_TEXT_MAX, &basis, err)) ||
        (ret = columns_param(params, &columns, err)) ||
        (ret = filters_param(params, columns, &filters, err)) ||
        (ret = text_param(params, "valid_from", true, 10, &from, err)) ||
        (ret = text_param(params, "valid_until", true, 10, &until, err)) ||
        (ret = text_param(params, "fee_schedule", false, LIMIT_FIELD_MAX, &fee, err)))
        goto out;
    if (!day_valid(from)) {
        ret = err_set(err, ERR_VALIDATION, "valid_from", "\"%s\" is not a day (YYYY-MM-DD)", from);
        goto out;
    }
    if (!day_valid(until)) {
        ret = err_set(err, ERR_VALIDATION, "valid_until", "\"%s\" is not a day (YYYY-MM-DD)",
                      until);
        goto out;
    }
    if (strcmp(from, until) > 0) {
        ret = err_set(err, ERR_VALIDATION, "valid_until",
                      "the period ends (%s) before it starts (%s)", until, from);
        goto out;
    }
    grant_today(today);
    if (strcmp(until, today) < 0) {
        ret = err_set(err, ERR_VALIDATION, "valid_until",
                      "the period %s to %s is over (today is %s, UTC)", from, until, today);
        goto out;
    }
    ret = store_begin(s, err);
    if (ret)
        goto out;
    began = true;
    ret = store_dataset_get(s, dataset, &d, NULL);
    /* Drafts and deleted datasets take no grants; a private one is as absent to those
     * who may not see it. */
    if (ret == -ERR_NOT_FOUND ||
        (!ret && (!str_eq(sget(d, "state"), "active") ||
                  (json_is_true(json_object_get(d, "private")) &&
                   actor_capacity(a, dataset_org(d)) < CAPACITY_MEMBER)))) {
        /* As package_show: a dataset the caller may not see does not exist for them. */
        ret = err_set(err, ERR_NOT_FOUND, "dataset", "dataset \"%s\" not found", dataset);
        goto out;
    }
    if (ret) {
        ret = err_set(err, ERR_INTERNAL, NULL, "cannot read dataset \"%s\"", dataset);
        goto out;
    }
    if (actor_capacity(a, dataset_org(d)) < CAPACITY_EDITOR) {
        ret = err_set(err, ERR_AUTH, NULL,
                      "user \"%s\" may not request grants on dataset \"%s\": only editors and "
                      "admins of its organization",
                      a->name, dataset);
        goto out;
    }
    if (!dataset_restricted(d)) {
        ret = err_set(err, ERR_VALIDATION, "dataset",
                      "dataset \"%s\" is public: grants are for \"restricted public\" and "
                      "\"non-public\" datasets",
                      dataset);
        goto out;
    }
    ret = columns_in_tables(s, d, columns, err);
    if (ret)
        goto out;
    ret = store_group_get(s, true, dataset_org(d), &g, NULL);
    if (ret) {
        ret = err_set(err, ERR_INTERNAL, NULL, "cannot read the organization of \"%s\"", dataset);
        goto out;
    }
    ret = store_user_get(s, grantee, &user, NULL);
    if (ret == -ERR_NOT_FOUND || (!ret && !str_eq(sget(user, "state"), "active"))) {
        ret = err_set(err, ERR_NOT_FOUND, "grantee", "user \"%s\" not found", grantee);
        goto out;
    }
    if (!ret)
        ret = store_roles_of(s, sget(user, "id"), &roles, err);
    if (ret)
        goto out;
    json_array_foreach (roles, i, r)
        is_grantee |= str_eq(sget(r, "role"), ROLE_GRANTEE);
    if (!is_grantee) {
        ret = err_set(err, ERR_VALIDATION, "grantee",
                      "user \"%s\" is not a grantee account (kaifang role add %s grantee)", grantee,
                      sget(user, "name"));
        goto out;
    }
    secret_uuid4(id);
    time_now_rfc3339(now);
    rec = json_pack("{s:s, s:s?, s:s?, s:s?, s:s?, s:s?, s:s?, s:s, s:s, s:O, s:O, s:s, s:s, s:s?, "
                    "s:s, s:s, s:s, s:n, s:n, s:n}",
                    "id", id, "dataset", sget(d, "id"), "dataset_name", sget(d, "name"),
                    "organization", sget(g, "name"), "organization_id", sget(g, "id"), "grantee",
                    sget(user, "name"), "grantee_id", sget(user, "id"), "purpose", purpose,
                    "legal_basis", basis, "columns", columns, "filters", filters, "valid_from",
                    from, "valid_until", until, "fee_schedule", fee, "state", "requested",
                    "requested_by", a->name, "requested_at", now, "decided_by", "decided_at",
                    "note");
    BUG_ON(!rec);
    ret = grant_store(s, rec, err);
    if (!ret)
        ret = grant_entry(s, "grant_request", a->name, rec, err);
    if (!ret)
        ret = store_commit(s, err);
    if (ret)
        goto out;
    began = false;
    *grant = grant_public(rec);
out:
    if (began)
        store_rollback(s);
    json_decref(d);
    json_decref(g);
    json_decref(user);
    json_decref(roles);
    json_decref(columns);
    json_decref(filters);
    json_decref(rec);
    return ret;
}

/* Loads a grant by the "id" parameter inside the open transaction. */
static int load_grant(struct store *s, json_t *params, json_t **rec, const char **note,
                      struct err *err)
{
    const char *id;
    int ret;

    *rec = NULL;
    if ((ret = text_param(params, "id", true, LIMIT_FIELD_MAX, &id, err)) ||
        (ret = text_param(params, "note", false, LIMIT_TEXT_MAX, note, err)))
        return ret;
    ret = store_grant_get(s, id, rec, NULL);
    if (ret == -ERR_NOT_FOUND)
        return err_set(err, ERR_NOT_FOUND, "id", "grant \"%s\" not found", id);
    if (ret)
        return err_set(err, ERR_INTERNAL, NULL, "cannot read grant \"%s\"", id);
    return 0;
}

/* Sets the decision fields, stores the record and stages its entry. */
static int grant_decided(struct store *s, const struct actor *a, json_t *rec, const char *state,
                         const char *note, const char *type, struct err *err)
{
    char now[TIME_ISO_MAX];
    int ret;

    time_now_rfc3339(now);
    json_object_set_new(rec, "state", json_string(state));
    json_object_set_new(rec, "decided_by", json_string(a->name));
    json_object_set_new(rec, "decided_at", json_string(now));
    json_object_set_new(rec, "note", note ? json_string(note) : json_null());
    ret = grant_store(s, rec, err);
    if (!ret)
        ret = grant_entry(s, type, a->name, rec, err);
    return ret;
}

int grant_decide_as(struct store *s, const struct actor *a, json_t *params, bool approve,
                    json_t **grant, struct err *err)
{
    json_t *rec = NULL;
    const char *note = NULL;
    char today[11];
    bool began = false;
    int ret;

    *grant = NULL;
    if (!a || !a->authenticated) {
        ret = err_set(err, ERR_AUTH, NULL, "anonymous users may not decide grants");
        goto out;
    }
    ret = store_begin(s, err);
    if (ret)
        goto out;
    began = true;
    ret = load_grant(s, params, &rec, &note, err);
    if (ret)
        goto out;
    ret = access_approver_check(a, sget(rec, "organization_id"), sget(rec, "requested_by"), err);
    if (ret)
        goto out;
    if (str_eq(sget(rec, "grantee"), a->name)) {
        ret = err_set(err, ERR_AUTH, NULL, "user \"%s\" may not approve a grant to themselves",
                      a->name);
        goto out;
    }
    if (!str_eq(sget(rec, "state"), "requested")) {
        ret = err_set(err, ERR_CONFLICT, "id", "grant \"%s\" is %s already, not requested",
                      sget(rec, "id"), sget(rec, "state"));
        goto out;
    }
    grant_today(today);
    if (approve && strcmp(sget(rec, "valid_until"), today) < 0) {
        ret = err_set(err, ERR_CONFLICT, "valid_until",
                      "grant \"%s\": its period %s to %s is over (today is %s, UTC)",
                      sget(rec, "id"), sget(rec, "valid_from"), sget(rec, "valid_until"), today);
        goto out;
    }
    ret = grant_decided(s, a, rec, approve ? "approved" : "refused", note,
                        approve ? "grant_approve" : "grant_refuse", err);
    if (!ret)
        ret = store_commit(s, err);
    if (ret)
        goto out;
    began = false;
    *grant = grant_public(rec);
out:
    if (began)
        store_rollback(s);
    json_decref(rec);
    return ret;
}

int grant_revoke_as(struct store *s, const struct actor *a, json_t *params, json_t **grant,
                    struct err *err)
{
    json_t *rec = NULL;
    const char *note = NULL, *org;
    char now[TIME_ISO_MAX];
    bool began = false;
    int ret;

    *grant = NULL;
    if (!a || !a->authenticated) {
        ret = err_set(err, ERR_AUTH, NULL, "anonymous users may not revoke grants");
        goto out;
    }
    /* The reads made under the grant so far precede its revocation in the ledger (the
     * audit judges reads by index order): the read journal's records are staged first. */
    ret = ledger_journal_drain(s, NULL, err);
    if (ret)
        goto out;
    ret = store_begin(s, err);
    if (ret)
        goto out;
    began = true;
    ret = load_grant(s, params, &rec, &note, err);
    if (ret)
        goto out;
    org = sget(rec, "organization_id");
    if (!actor_has_role(a, ROLE_APPROVER, org) && actor_capacity(a, org) < CAPACITY_ADMIN) {
        ret = err_set(err, ERR_AUTH, NULL, "user \"%s\" may not revoke grants of \"%s\"", a->name,
                      sget(rec, "organization"));
        goto out;
    }
    if (!str_eq(sget(rec, "state"), "approved")) {
        ret = err_set(err, ERR_CONFLICT, "id", "grant \"%s\" is %s, not approved", sget(rec, "id"),
                      sget(rec, "state"));
        goto out;
    }
    /* The decision (decided_by, decided_at, note) stays who approved it; the revocation
     * is recorded beside it. */
    time_now_rfc3339(now);
    json_object_set_new(rec, "state", json_string("revoked"));
    json_object_set_new(rec, "revoked_by", json_string(a->name));
    json_object_set_new(rec, "revoked_at", json_string(now));
    json_object_set_new(rec, "revoke_note", note ? json_string(note) : json_null());
    ret = grant_store(s, rec, err);
    if (!ret)
        ret = grant_entry(s, "grant_revoke", a->name, rec, err);
    if (!ret)
        ret = store_commit(s, err);
    if (ret)
        goto out;
    began = false;
    *grant = grant_public(rec);
out:
    if (began)
        store_rollback(s);
    json_decref(rec);
    return ret;
}

/* Whether a may see the grant rec: its dataset public and active, or a a member of the
 * organization, the grantee, or a sysadmin. */
static bool grant_visible(struct store *s, const struct actor *a, const json_t *rec)
{
    json_t *d = NULL;
    bool ok;

    if (a && a->authenticated &&
        (a->sysadmin || str_eq(a->id, sget(rec, "grantee_id")) ||
         actor_capacity(a, sget(rec, "organization_id")) >= CAPACITY_MEMBER))
        return true;
    if (store_dataset_get(s, sget(rec, "dataset"), &d, NULL))
        return false;
    ok = str_eq(sget(d, "state"), "active") && !json_is_true(json_object_get(d, "private"));
    json_decref(d);
    return ok;
}

int grant_show(struct store *s, const struct actor *a, json_t *params, json_t **grant,
               struct err *err)
{
    json_t *rec = NULL;
    const char *note;
    int ret;

    *grant = NULL;
    ret = load_grant(s, params, &rec, &note, err);
    if (!ret && !grant_visible(s, a, rec))
        ret = err_set(err, ERR_NOT_FOUND, "id", "grant \"%s\" not found", sget(rec, "id"));
    if (!ret)
        *grant = grant_public(rec);
    json_decref(rec);
    return ret;
}

int grant_list(struct store *s, const struct actor *a, json_t *params, json_t **grants,
               struct err *err)
{
    const char *dataset, *grantee;
    const char *did = NULL, *gid = NULL;
    json_t *d = NULL, *user = NULL, *all = NULL, *rec, *out = NULL;
    size_t i;
    int ret;

    *grants = NULL;
    if ((ret = text_param(params, "dataset", false, LIMIT_FIELD_MAX, &dataset, err)) ||
        (ret = text_param(params, "grantee", false, LIMIT_NAME_MAX, &grantee, err)))
        goto out;
    out = json_array();
    if (dataset) {
        ret = store_dataset_get(s, dataset, &d, NULL);
        if (ret == -ERR_NOT_FOUND) {
            ret = 0; /* no such dataset: no grants (its existence does not leak) */
            goto done;
        }
        if (ret) {
            ret = err_set(err, ERR_INTERNAL, NULL, "cannot read dataset \"%s\"", dataset);
            goto out;
        }
        did = sget(d, "id");
    }
    if (grantee) {
        ret = store_user_get(s, grantee, &user, NULL);
        if (ret == -ERR_NOT_FOUND) {
            ret = 0;
            goto done;
        }
        if (ret) {
            ret = err_set(err, ERR_INTERNAL, NULL, "cannot read user \"%s\"", grantee);
            goto out;
        }
        gid = sget(user, "id");
    }
    ret = store_grant_list(s, did, gid, &all, err);
    if (ret)
        goto out;
    json_array_foreach (all, i, rec) {
        if (grant_visible(s, a, rec))
            json_array_append_new(out, grant_public(rec));
    }
done:
    *grants = out;
    out = NULL;
out:
    json_decref(d);
    json_decref(user);
    json_decref(all);
    json_decref(out);
    return ret;
}

/*
 * The grants of one (dataset, grantee), as store_grant_list() gives them, kept per thread
 * for the store_catalog_version() they were read at: every grant change (request,
 * decision, revocation) is a catalog write and moves that version, and a restricted
 * read's entry does not, so a grantee's reads parse the grants' JSON once, not per read.
 * The version is read before the list, so a change committed in between makes the slot
 * stale, never a stale slot current. Per thread: no lock; a few small slots.
 */
#define GRANT_CACHE_SLOTS 8

struct grant_cache_slot {
    uint64_t store, version; /* store_id(), store_catalog_version(); store 0: empty */
    char *dataset, *grantee; /* ids */
    json_t *grants;
};

struct grant_cache {
    struct grant_cache_slot slot[GRANT_CACHE_SLOTS];
    unsigned next; /* the slot a miss replaces (round robin) */
};

static pthread_key_t grant_cache_key;
static pthread_once_t grant_cache_once = PTHREAD_ONCE_INIT;

static void grant_cache_slot_clear(struct grant_cache_slot *e)
{
    free(e->dataset);
    free(e->grantee);
    json_decref(e->grants);
    memset(e, 0, sizeof(*e));
}

static void grant_cache_free(void *p)
{
    struct grant_cache *gc = p;

    for (size_t i = 0; gc && i < GRANT_CACHE_SLOTS; i++)
        grant_cache_slot_clear(&gc->slot[i]);
    free(gc);
}

static void grant_cache_key_make(void)
{
    BUG_ON(pthread_key_create(&grant_cache_key, grant_cache_free));
}

/* The grants of (dataset_id, grantee_id) in s: a new reference to an array that the
 * caller must not change (shared with the cache). */
static int grants_of(struct store *s, const char *dataset_id, const char *grantee_id, json_t **all,
                     struct err *err)
{
    struct grant_cache *gc;
    struct grant_cache_slot *e;
    uint64_t id = store_id(s), version;
    size_t i;
    int ret;

    /* Inside a write transaction the version does not describe what is read. */
    if (store_in_transaction(s))
        return store_grant_list(s, dataset_id, grantee_id, all, err);
    pthread_once(&grant_cache_once, grant_cache_key_make);
    gc = pthread_getspecific(grant_cache_key);
    if (!gc) {
        gc = xcalloc(1, sizeof(*gc));
        BUG_ON(pthread_setspecific(grant_cache_key, gc));
    }
    version = store_catalog_version(s);
    for (i = 0; i < GRANT_CACHE_SLOTS; i++) {
        e = &gc->slot[i];
        if (e->store == id && e->version == version && str_eq(e->dataset, dataset_id) &&
            str_eq(e->grantee, grantee_id)) {
            *all = json_incref(e->grants);
            return 0;
        }
    }
    ret = store_grant_list(s, dataset_id, grantee_id, all, err);
    if (ret)
        return ret;
    e = &gc->slot[gc->next++ % GRANT_CACHE_SLOTS];
    grant_cache_slot_clear(e);
    e->store = id;
    e->version = version;
    e->dataset = xstrdup(dataset_id);
    e->grantee = xstrdup(grantee_id);
    e->grants = json_incref(*all);
    return 0;
}

int grant_find_valid(struct store *s, const struct actor *a, const char *dataset_id,
                     const char *day, json_t **valid, json_t **nearest, struct err *err)
{
    json_t *all = NULL, *rec, *best = NULL;
    size_t i;
    int ret = 0;

    *valid = NULL;
    *nearest = NULL;
    if (!a || !a->authenticated) {
        ret = err_set(err, ERR_AUTH, NULL, "restricted data is read only under a grant");
        goto out;
    }
    ret = grants_of(s, dataset_id, a->id, &all, err);
    if (ret)
        goto out;
    /* The caller gets its own copies: the list is shared with the cache. */
    json_array_foreach (all, i, rec) {
        if (!str_eq(sget(rec, "state"), "approved"))
            continue;
        if (strcmp(sget(rec, "valid_from"), day) <= 0 &&
            strcmp(day, sget(rec, "valid_until")) <= 0) {
            if (!*valid)
                *valid = json_array();
            json_array_append_new(*valid, json_deep_copy(rec));
        } else {
            best = rec;
        }
    }
    if (*valid)
        goto out;
    if (best) {
        *nearest = json_deep_copy(best);
        if (strcmp(day, sget(best, "valid_from")) < 0)
            ret = err_set(err, ERR_AUTH, NULL, "grant \"%s\" is valid from %s", sget(best, "id"),
                          sget(best, "valid_from"));
        else
            ret = err_set(err, ERR_AUTH, NULL, "grant \"%s\" expired on %s", sget(best, "id"),
                          sget(best, "valid_until"));
        goto out;
    }
    ret = err_set(err, ERR_AUTH, NULL,
                  "user \"%s\" has no approved grant on this dataset: restricted data is read "
                  "only under a grant",
                  a->name);
out:
    json_decref(all);
    return ret;
}

int grant_read_record(struct store *s, const char *actor, const char *org, const char *grant_id,
                      const char *dataset_id, const char *resource_id, json_t *query,
                      long long rows, const char *refusal, struct err *err)
{
    struct err e = ERR_INIT;
    json_t *objects;
    const char *type = refusal ? "restricted_read_refused" : "restricted_read";
    int ret;

    if (refusal)
        objects = json_pack("{s:s?, s:s?, s:s*, s:s}", "dataset", dataset_id, "resource",
                            resource_id, "grant", grant_id, "reason", refusal);
    else
        objects = json_pack("{s:s?, s:s?, s:s?, s:I}", "grant", grant_id, "dataset", dataset_id,
                            "resource", resource_id, "rows", (json_int_t)rows);
    BUG_ON(!objects);
    /* A transaction of its own, shared with the entries of concurrent reads (group
     * commit); it returns once the entry is committed, so the caller sends no row before. */
    ret = ledger_append(s, type, actor, org, objects, query, NULL, &e);
    if (ret)
        ret = err_set(err, ERR_INTERNAL, NULL, "cannot record \"%s\" in the ledger: %s", type,
                      e.msg);
    json_decref(objects);
    return ret;
}
