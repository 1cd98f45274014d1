/*
 * resource-datastore.c - what the datastore module asks of the catalog (catalog.h):
 * who may read or change a resource (catalog_resource_authorize, as resource_show and
 * resource_update decide), and the datastore fields of a resource (CKAN's
 * "datastore_active", Kaifang's "datastore_status") with the ledger entry of an ingest
 * ("datastore_ingest", docs/internals/ledger-entries.md), written inside the datastore
 * module's own transaction (catalog_resource_datastore).
 */
#include <jansson.h>

#include "catalog/catalog-int.h"
#include "core/limits.h"
#include "core/util.h"

/* The ledger entry of an ingest: objects name the dataset as dataset_record() does (only
 * its random id for a private or draft dataset, never its name), and the resource; the
 * digest is of the entry itself (the source file's SHA-256, the row count, the SHA-256
 * of the fields), so that anyone holding the file can check what was published. */
static int ingest_record(struct catalog *c, const struct actor *a, json_t *doc,
                         const char *resource_id, json_t *entry, struct err *err)
{
    const char *state = json_string_value(json_object_get(doc, "state"));
    bool hidden = json_is_true(json_object_get(doc, "private")) || str_eq(state, "draft");
    json_t *objects = json_pack("{s:s?}", "dataset", json_string_value(json_object_get(doc, "id")));

    BUG_ON(!objects);
    if (hidden)
        json_object_set_new(objects, "visibility",
                            json_string(str_eq(state, "draft") ? "draft" : "private"));
    else
        json_object_set(objects, "name", json_object_get(doc, "name"));
    json_object_set_new(objects, "resource", json_string(resource_id));
    return catalog_record(
            c, a, "datastore_ingest",
            json_string_value(json_object_get(json_object_get(doc, "organization"), "name")),
            objects, entry, err);
}

int catalog_resource_datastore(struct catalog *c, const struct actor *a, const char *resource_id,
                               bool active, const char *status, json_t *entry, struct err *err)
{
    char did[UUID_STR_LEN];
    json_t *doc = NULL, *r, *res = NULL;
    size_t i;
    bool changed;
    int ret;

    if (!resource_id || strlen(resource_id) > LIMIT_FIELD_MAX) {
        ret = err_set(err, ERR_NOT_FOUND, "resource_id", "resource not found");
        goto out;
    }
    ret = store_resource_dataset(c->store, resource_id, did, sizeof(did), NULL);
    if (!ret)
        ret = store_dataset_get(c->store, did, &doc, NULL);
    if (ret == -ERR_NOT_FOUND) {
        ret = err_set(err, ERR_NOT_FOUND, "resource_id", "resource \"%s\" not found", resource_id);
        goto out;
    }
    if (ret) {
        ret = err_set(err, ERR_INTERNAL, NULL, "cannot read the dataset of resource \"%s\"",
                      resource_id);
        goto out;
    }
    json_array_foreach (json_object_get(doc, "resources"), i, r) {
        if (str_eq(json_string_value(json_object_get(r, "id")), resource_id))
            res = r;
    }
    if (!res) {
        ret = err_set(err, ERR_NOT_FOUND, "resource_id", "resource \"%s\" not found", resource_id);
        goto out;
    }
    changed = json_is_true(json_object_get(res, "datastore_active")) != active ||
              !json_is_boolean(json_object_get(res, "datastore_active")) ||
              !str_eq(json_string_value(json_object_get(res, "datastore_status")), status) ||
              (!status && json_object_get(res, "datastore_status"));
    if (changed) {
        json_object_set_new(res, "datastore_active", json_boolean(active));
        if (status)
            json_object_set_new(res, "datastore_status", json_string(status));
        else
            json_object_del(res, "datastore_status");
        /* Not dataset_touch(): the metadata did not change, the data did, and
         * metadata_modified is what harvesters compare. */
        ret = dataset_write(c, doc, err);
        if (ret)
            goto out;
    }
    if (entry)
        ret = ingest_record(c, a, doc, resource_id, entry, err);
out:
    json_decref(doc);
    return ret;
}

int catalog_resource_readable(struct catalog *c, const struct actor *a, const char *resource_id,
                              json_t **dataset, struct err *err)
{
    char did[UUID_STR_LEN];
    json_t *doc = NULL, *r;
    bool found = false;
    size_t i;
    int ret;

    *dataset = NULL;
    if (!resource_id || !*resource_id || strlen(resource_id) > LIMIT_FIELD_MAX)
        return err_set(err, ERR_NOT_FOUND, "resource_id", "resource not found");
    ret = store_resource_dataset(c->store, resource_id, did, sizeof(did), NULL);
    if (ret && ret != -ERR_NOT_FOUND)
        return err_set(err, ERR_INTERNAL, NULL, "cannot look up resource \"%s\"", resource_id);
    if (!ret)
        ret = dataset_load_readable(c, a, did, &doc, NULL);
    if (ret == -ERR_INTERNAL)
        return err_set(err, ERR_INTERNAL, NULL, "cannot read the dataset of resource \"%s\"",
                       resource_id);
    json_array_foreach (json_object_get(doc, "resources"), i, r)
        found |= str_eq(json_string_value(json_object_get(r, "id")), resource_id);
    if (ret || !found) {
        json_decref(doc);
        return err_set(err, ERR_NOT_FOUND, "resource_id", "resource \"%s\" not found", resource_id);
    }
    /* the publish gate's hold (docs/internals/privacy-gate.md) */
    ret = catalog_privacy_withheld(c, a, doc, resource_id, err);
    if (ret) {
        json_decref(doc);
        return ret;
    }
    *dataset = doc;
    return 0;
}

int catalog_resource_authorize(struct catalog *c, const struct actor *a, const char *resource_id,
                               bool write, json_t **resource, json_t **dataset, struct err *err)
{
    char did[UUID_STR_LEN];
    json_t *doc = NULL, *r, *res = NULL;
    const char *dataset_id;
    size_t i;
    int ret;

    if (resource)
        *resource = NULL;
    if (dataset)
        *dataset = NULL;
    if (!resource_id || !*resource_id || strlen(resource_id) > LIMIT_FIELD_MAX) {
        ret = err_set(err, ERR_NOT_FOUND, "resource_id", "resource not found");
        goto out;
    }
    ret = store_resource_dataset(c->store, resource_id, did, sizeof(did), NULL);
    if (ret && ret != -ERR_NOT_FOUND) {
        ret = err_set(err, ERR_INTERNAL, NULL, "cannot look up resource \"%s\"", resource_id);
        goto out;
    }
    /* Absent and invisible read the same, so that a private dataset does not leak. */
    if (!ret)
        ret = dataset_load_readable(c, a, did, &doc, NULL);
    if (!ret) {
        json_array_foreach (json_object_get(doc, "resources"), i, r) {
            if (str_eq(json_string_value(json_object_get(r, "id")), resource_id))
                res = r;
        }
    }
    if (ret == -ERR_INTERNAL) {
        ret = err_set(err, ERR_INTERNAL, NULL, "cannot read the dataset of resource \"%s\"",
                      resource_id);
        goto out;
    }
    if (ret || !res) {
        ret = err_set(err, ERR_NOT_FOUND, "resource_id", "resource \"%s\" not found", resource_id);
        goto out;
    }
    if (!write) {
        ret = catalog_privacy_withheld(c, a, doc, resource_id, err);
        if (ret)
            goto out;
    }
    if (write && !dataset_can_edit(a, doc)) {
        if (!a || !a->authenticated)
            ret = err_set(err, ERR_AUTH, NULL, "anonymous users may not change resource \"%s\"",
                          resource_id);
        else
            ret = err_set(err, ERR_AUTH, NULL, "user \"%s\" may not change resource \"%s\"",
                          a->name, resource_id);
        goto out;
    }
    dataset_id = json_string_value(json_object_get(doc, "id"));
    if (resource) {
        *resource = json_deep_copy(res);
        resource_output(c, dataset_id, *resource);
    }
    if (dataset) {
        dataset_output(c, doc);
        *dataset = json_incref(doc);
    }
out:
    json_decref(doc);
    return ret;
}
