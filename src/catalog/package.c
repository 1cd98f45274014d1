/*
 * package.c - package_list, package_show, package_create, package_update, package_patch
 * and package_delete (CKAN 2.10 docs, ckan.logic.action.{get,create,update,patch,delete}).
 */
#include <jansson.h>

#include "catalog/catalog-int.h"
#include "core/limits.h"
#include "core/timeutil.h"
#include "core/util.h"

int catalog_package_list(struct catalog *c, const struct actor *a, json_t *params, json_t **result,
                         struct err *err)
{
    struct store_visibility vis = {0};
    int64_t limit, offset;
    int ret;

    (void)a; /* CKAN's package_list lists public active datasets whoever asks */
    *result = NULL;
    ret = param_int(params, "limit", 0, LIMIT_LIST_MAX, 0, &limit, err);
    if (!ret)
        ret = param_int(params, "offset", 0, INT64_MAX, 0, &offset, err);
    if (!ret)
        ret = store_dataset_names(c->store, &vis, (size_t)offset, (size_t)limit, result, err);
    return ret;
}

int catalog_package_show(struct catalog *c, const struct actor *a, json_t *params, json_t **result,
                         struct err *err)
{
    const char *id;
    int ret;

    *result = NULL;
    ret = param_id(params, true, &id, err);
    if (!ret)
        ret = dataset_load_readable(c, a, id, result, err);
    if (!ret)
        dataset_output(c, *result);
    return ret;
}

/*
 * -ERR_CONFLICT when another dataset (any state) already has the name, or has it as its
 * id: lookups try the id first, so a dataset named after another's id could never be
 * reached by its name. own_id: the dataset being updated (NULL on create); own_name:
 * its current name, which it may keep even if it collides with an id (a dataset
 * written before this check).
 */
static int name_free(struct catalog *c, const char *name, const char *own_id, const char *own_name,
                     struct err *err)
{
    json_t *other = NULL;
    int ret;

    if (!name || strlen(name) > LIMIT_NAME_MAX)
        return 0; /* validation reports it */
    ret = store_dataset_get(c->store, name, &other, NULL);
    if (ret == -ERR_NOT_FOUND)
        return 0;
    if (ret)
        return err_set(err, ERR_INTERNAL, NULL, "cannot look up dataset \"%s\"", name);
    if (str_eq(json_string_value(json_object_get(other, "id")), own_id) ||
        (!str_eq(json_string_value(json_object_get(other, "name")), name) &&
         str_eq(name, own_name)))
        ret = 0; /* it is this dataset, or its unchanged name */
    else
        ret = err_set(err, ERR_CONFLICT, "name", "That URL is already in use.");
    json_decref(other);
    return ret;
}

/* A fresh id must not be another dataset's name either (astronomically unlikely for a
 * random UUID, but a name may have been chosen to look like one). */
static int id_free(struct catalog *c, const char *id, struct err *err)
{
    json_t *other = NULL;
    int ret = store_dataset_get(c->store, id, &other, NULL);

    json_decref(other);
    if (ret == -ERR_NOT_FOUND)
        return 0;
    if (ret)
        return err_set(err, ERR_INTERNAL, NULL, "cannot look up dataset \"%s\"", id);
    return err_set(err, ERR_CONFLICT, "id", "Dataset id already exists");
}

int catalog_package_create(struct catalog *c, const struct actor *a, json_t *params,
                           json_t **result, struct err *err)
{
    json_t *doc = NULL;
    int ret;

    *result = NULL;
    if (!a || !a->authenticated)
        return err_set(err, ERR_AUTH, NULL, "anonymous users may not create datasets");
    if (!json_is_object(params))
        return err_set(err, ERR_BAD_REQUEST, NULL, "parameters must be a JSON object");
    ret = catalog_tx_begin(c, err);
    if (ret)
        return ret;
    ret = name_free(c, json_string_value(json_object_get(params, "name")), NULL, NULL, err);
    if (!ret)
        ret = dataset_build(c, a, params, NULL, &doc, err);
    if (!ret)
        ret = id_free(c, json_string_value(json_object_get(doc, "id")), err);
    if (!ret)
        ret = dataset_write(c, doc, err);
    if (!ret)
        ret = dataset_record(c, a, "dataset_create", doc, NULL, err);
    ret = catalog_tx_end(c, ret, err);
    if (!ret) {
        dataset_output(c, doc);
        *result = doc;
        doc = NULL;
    }
    json_decref(doc);
    return ret;
}

/* Loads the dataset an update names, inside the transaction: -ERR_NOT_FOUND when the
 * actor may not see it, -ERR_AUTH when they see it but may not edit it. */
static int load_for_edit(struct catalog *c, const struct actor *a, json_t *params, json_t **old,
                         struct err *err)
{
    const char *id;
    int ret;

    *old = NULL;
    if (!json_is_object(params))
        return err_set(err, ERR_BAD_REQUEST, NULL, "parameters must be a JSON object");
    ret = param_id(params, true, &id, err);
    if (ret)
        return ret;
    ret = dataset_load_readable(c, a, id, old, err);
    if (ret)
        return ret;
    if (!dataset_can_edit(a, *old)) {
        json_decref(*old);
        *old = NULL;
        return err_set(err, ERR_AUTH, NULL, "user \"%s\" may not edit dataset \"%s\"",
                       a && a->authenticated ? a->name : "", id);
    }
    return 0;
}

static int package_replace(struct catalog *c, const struct actor *a, json_t *params, bool patch,
                           json_t **result, struct err *err)
{
    json_t *old = NULL, *doc = NULL, *in = NULL;
    const char *key;
    json_t *v;
    int ret;

    /* Anonymous callers get 403 before any lookup: the same answer whether the dataset
     * exists or not, so nothing leaks (CKAN checks a write's auth first too). */
    *result = NULL;
    if (!a || !a->authenticated)
        return err_set(err, ERR_AUTH, NULL, "anonymous users may not edit datasets");
    ret = catalog_tx_begin(c, err);
    if (ret)
        return ret;
    ret = load_for_edit(c, a, params, &old, err);
    if (ret)
        goto out;
    if (patch) {
        /* package_patch: the current dict with the given top-level keys replaced. */
        in = json_deep_copy(old);
        json_object_foreach (params, key, v) {
            if (!str_eq(key, "id"))
                json_object_set(in, key, v);
        }
        if (str_eq(json_string_value(json_object_get(in, "state")), "deleted") &&
            !json_object_get(params, "state"))
            json_object_del(in, "state");
    } else {
        in = json_incref(params);
    }
    ret = name_free(c, json_string_value(json_object_get(in, "name")),
                    json_string_value(json_object_get(old, "id")),
                    json_string_value(json_object_get(old, "name")), err);
    if (!ret)
        ret = dataset_build(c, a, in, old, &doc, err);
    if (!ret && str_eq(json_string_value(json_object_get(old, "state")), "deleted") &&
        !json_object_get(params, "state"))
        json_object_set_new(doc, "state", json_string("deleted"));
    /* The publish gate: a dataset whose data becomes public (from private, draft,
     * deleted or restricted) with a resource whose table fails it is refused, and nothing
     * changes. */
    if (!ret && !catalog_data_public(old) && catalog_data_public(doc))
        ret = catalog_privacy_publish_check(c, doc, err);
    if (!ret)
        ret = dataset_write(c, doc, err);
    /* package_update and package_patch are one kind of change: the new dict. */
    if (!ret)
        ret = dataset_record(c, a, "dataset_update", doc, NULL, err);
out:
    ret = catalog_tx_end(c, ret, err);
    if (!ret) {
        dataset_output(c, doc);
        *result = doc;
        doc = NULL;
    }
    json_decref(old);
    json_decref(in);
    json_decref(doc);
    return ret;
}

int catalog_package_update(struct catalog *c, const struct actor *a, json_t *params,
                           json_t **result, struct err *err)
{
    return package_replace(c, a, params, false, result, err);
}

int catalog_package_patch(struct catalog *c, const struct actor *a, json_t *params, json_t **result,
                          struct err *err)
{
    return package_replace(c, a, params, true, result, err);
}

int catalog_package_delete(struct catalog *c, const struct actor *a, json_t *params,
                           json_t **result, struct err *err)
{
    json_t *old = NULL;
    char now[TIME_ISO_MAX];
    int ret;

    *result = NULL;
    if (!a || !a->authenticated)
        return err_set(err, ERR_AUTH, NULL, "anonymous users may not delete datasets");
    ret = catalog_tx_begin(c, err);
    if (ret)
        return ret;
    ret = load_for_edit(c, a, params, &old, err);
    /* Deleting a deleted dataset succeeds, as in CKAN, and changes nothing: no new
     * metadata_modified, no second dataset_delete entry in the ledger. */
    if (!ret && !str_eq(json_string_value(json_object_get(old, "state")), "deleted")) {
        time_now_ckan(now);
        json_object_set_new(old, "state", json_string("deleted"));
        json_object_set_new(old, "metadata_modified", json_string(now));
        ret = dataset_write(c, old, err);
        if (!ret)
            ret = dataset_record(c, a, "dataset_delete", old, NULL, err);
    }
    ret = catalog_tx_end(c, ret, err);
    if (!ret)
        *result = json_null(); /* CKAN's package_delete returns None */
    json_decref(old);
    return ret;
}
