/*
 * resource-ledger.c - the ledger entries of the DataStore API's writes
 * (datastore_create, datastore_upsert, datastore_delete): a change of a resource's
 * datastore table, recorded in the catalog's transaction right after the table changed
 * (catalog_resource_record, catalog.h; docs/internals/ledger-entries.md).
 */
#include <jansson.h>

#include "catalog/catalog-int.h"
#include "core/limits.h"
#include "core/util.h"

int catalog_resource_record(struct catalog *c, const struct actor *a, const char *resource_id,
                            const char *type, json_t *digest, struct err *err)
{
    char did[UUID_STR_LEN];
    json_t *doc = NULL, *objects = NULL;
    const char *state;
    bool hidden;
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
    /* As every dataset entry: a private or draft dataset is named only by its random
     * id, so that the public ledger does not show what the public may not see. */
    state = json_string_value(json_object_get(doc, "state"));
    hidden = json_is_true(json_object_get(doc, "private")) || str_eq(state, "draft");
    objects = json_pack("{s:s?}", "dataset", json_string_value(json_object_get(doc, "id")));
    BUG_ON(!objects);
    if (hidden)
        json_object_set_new(objects, "visibility",
                            json_string(str_eq(state, "draft") ? "draft" : "private"));
    else
        json_object_set(objects, "name", json_object_get(doc, "name"));
    json_object_set_new(objects, "resource", json_string(resource_id));
    ret = catalog_record(
            c, a, type,
            json_string_value(json_object_get(json_object_get(doc, "organization"), "name")),
            objects, digest, err);
out:
    json_decref(doc);
    return ret;
}
