/*
 * privacy.c - the scan on every ingest and the upload check of the publish gate (issue 5
 * §1 and §4; docs/internals/privacy-gate.md).
 *
 * Every table the datastore builds from a resource's file is scanned as its rows are
 * loaded (privacy/detect.h); once it is stored, the quasi-identifiers the scan found are
 * read back from the table and their equivalence classes counted (privacy/kclass.h),
 * which gives the k the table reaches as it is. The report goes to the store in the
 * transaction that marks the ingest complete. The catalog judges it (catalog.h,
 * catalog_privacy_gate()).
 */
#include <jansson.h>

#include "core/timeutil.h"
#include "core/util.h"
#include "datastore/datastore-int.h"
#include "privacy/detect.h"
#include "privacy/kclass.h"
#include "store/store-datastore.h"

/* The report around a finished scan and the classes (kc NULL: no quasi-identifier). */
static json_t *report_make(const char *resource_id, const struct detect_scan *sc,
                           const struct kclass *kc, unsigned k_portal, const char *source_sha256,
                           const char *filename, const char *publisher)
{
    json_t *scan = detect_scan_json(sc), *rep, *direct = json_array(), *quasi = json_array(),
           *sens = json_array();
    char now[TIME_ISO_MAX];

    for (size_t i = 0; i < sc->ncolumns; i++) {
        json_t *name = json_string(sc->columns[i].name);

        if (sc->columns[i].cls == DETECT_CLASS_DIRECT)
            json_array_append(direct, name);
        else if (sc->columns[i].cls == DETECT_CLASS_QUASI)
            json_array_append(quasi, name);
        else if (sc->columns[i].cls == DETECT_CLASS_SENSITIVE)
            json_array_append(sens, name);
        json_decref(name);
    }
    time_now_ckan(now);
    rep = json_pack("{s:s,s:s?,s:s?,s:s?,s:s,s:I,s:O,s:o,s:o,s:o}", "resource_id", resource_id,
                    "source_sha256", source_sha256, "filename", filename, "publisher", publisher,
                    "scanned_at", now, "rows", (json_int_t)sc->rows, "columns",
                    json_object_get(scan, "columns"), "direct_identifiers", direct,
                    "quasi_identifiers", quasi, "sensitive", sens);
    BUG_ON(!rep);
    if (kc && kclass_rows(kc)) {
        json_object_set_new(rep, "k", json_integer((json_int_t)kclass_min(kc)));
        json_object_set_new(rep, "classes", json_integer((json_int_t)kclass_classes(kc)));
        json_object_set_new(rep, "rows_below_k",
                            json_pack("{s:I,s:I}", "k", (json_int_t)k_portal, "rows",
                                      (json_int_t)kclass_rows_below(kc, k_portal)));
    } else {
        json_object_set_new(rep, "k", json_null());
    }
    json_decref(scan);
    return rep;
}

/* The quasi-identifier columns of a finished scan: their indexes, and how many. */
static size_t qi_columns(const struct detect_scan *sc, size_t *idx)
{
    size_t n = 0;

    for (size_t i = 0; i < sc->ncolumns; i++)
        if (sc->columns[i].cls == DETECT_CLASS_QUASI)
            idx[n++] = i;
    return n;
}

int ds_privacy_report(struct catalog *c, const char *resource_id, const struct detect_scan *sc,
                      const char *source_sha256, const char *filename, const char *publisher,
                      json_t **out, struct err *err)
{
    size_t *idx = xcalloc(sc->ncolumns ? sc->ncolumns : 1, sizeof(*idx)), nq;
    const char **fields = NULL;
    struct store_ds_cursor *cur = NULL;
    struct store_ds_query q;
    struct kclass *kc = NULL;
    const struct dsvalue *values;
    int ret = 0;

    *out = NULL;
    nq = qi_columns(sc, idx);
    if (nq && sc->rows) {
        fields = xcalloc(nq, sizeof(*fields));
        for (size_t j = 0; j < nq; j++)
            fields[j] = sc->columns[idx[j]].name;
        memset(&q, 0, sizeof(q));
        q.resource_id = resource_id;
        q.fields = fields;
        q.nfields = nq;
        ret = store_ds_search(c->store, &q, &cur, NULL, err);
        if (ret)
            goto out;
        kc = kclass_new(nq);
        while ((ret = store_ds_cursor_next(cur, &values, err)) > 0)
            kclass_add(kc, values);
        if (ret < 0)
            goto out;
        ret = 0;
    }
    *out = report_make(resource_id, sc, kc, c->privacy_k, source_sha256, filename, publisher);
out:
    store_ds_cursor_free(cur);
    kclass_free(kc);
    free(fields);
    free(idx);
    return ret;
}

int ds_privacy_store(struct catalog *c, const char *resource_id, json_t *report, struct err *err)
{
    json_t *old = NULL, *ov;

    /* What was said of the same file (re-typing, an ingest again) stays. */
    if (!store_privacy_report_get(c->store, resource_id, &old, NULL) &&
        str_eq(json_string_value(json_object_get(old, "source_sha256")),
               json_string_value(json_object_get(report, "source_sha256")))) {
        ov = json_object_get(old, "override");
        if (json_is_object(ov) &&
            str_eq(json_string_value(json_object_get(ov, "source_sha256")),
                   json_string_value(json_object_get(report, "source_sha256"))))
            json_object_set(report, "override", ov);
        if (json_object_get(old, "transformations") && !json_object_get(report, "transformations"))
            json_object_set(report, "transformations", json_object_get(old, "transformations"));
    }
    json_decref(old);
    return store_privacy_report_put(c->store, resource_id, report, err);
}

/* ---- The check of an upload into a public dataset ---------------------------------- */

/* Scans the file at path as a table (named filename for its format) and counts the
 * classes of the quasi-identifiers found: *report as report_make() makes it, or NULL when
 * the file cannot be read as a table (the ingest reports that). */
static void scan_file(struct catalog *c, const char *path, const char *filename,
                      const char *sha256_hex, const char *publisher, json_t **report)
{
    struct ingest_options o = INGEST_OPTIONS_INIT;
    struct ingest_table *t = NULL;
    struct detect_scan sc;
    struct kclass *kc = NULL;
    struct err ignored = ERR_INIT;
    const struct dsvalue *values;
    size_t *idx = NULL, nq;
    struct dsvalue *row = NULL;

    *report = NULL;
    memset(&sc, 0, sizeof(sc));
    if (ingest_table_open(&t, path, filename, &o, &ignored))
        goto out;
    if (detect_scan_table(t, &sc, &ignored))
        goto out;
    idx = xcalloc(sc.ncolumns ? sc.ncolumns : 1, sizeof(*idx));
    nq = qi_columns(&sc, idx);
    if (nq && sc.rows) {
        if (ingest_table_rewind(t, &ignored))
            goto out;
        kc = kclass_new(nq);
        row = xcalloc(nq, sizeof(*row));
        while (ingest_table_next(t, &values, NULL, &ignored) > 0) {
            for (size_t j = 0; j < nq; j++)
                row[j] = values[idx[j]];
            kclass_add(kc, row);
        }
    }
    *report = report_make("", &sc, kc, c->privacy_k, sha256_hex, filename, publisher);
out:
    detect_scan_release(&sc);
    ingest_table_free(t);
    kclass_free(kc);
    free(idx);
    free(row);
}

int datastore_privacy_precheck(struct catalog *c, const struct actor *a, const char *action,
                               json_t *params, const struct upload *up, struct err *err)
{
    json_t *doc = NULL, *pseudo = NULL, *report = NULL, *verdict = NULL;
    const char *did = NULL, *rid;
    char didbuf[UUID_STR_LEN];
    int ret = 0;

    if (!up || !a || !a->authenticated)
        return 0;
    if (!strcmp(action, "resource_create")) {
        did = json_string_value(json_object_get(params, "package_id"));
    } else if (!strcmp(action, "resource_update")) {
        rid = json_string_value(json_object_get(params, "id"));
        if (rid && strlen(rid) < 256 &&
            !store_resource_dataset(c->store, rid, didbuf, sizeof(didbuf), NULL))
            did = didbuf;
    }
    /* Whatever is wrong with the request itself is the catalog's to say. */
    if (!did || strlen(did) > 256 || store_dataset_get(c->store, did, &doc, NULL))
        goto out;
    if (!catalog_data_public(doc))
        goto out;
    /* Only for those who may add the file: anyone else gets the catalog's 403 without
     * making the server read their upload. */
    if (!a->sysadmin &&
        actor_capacity(a, json_string_value(json_object_get(doc, "owner_org"))) < CAPACITY_EDITOR)
        goto out;
    pseudo = json_pack("{s:s,s:s?,s:s?}", "url_type", "upload", "format",
                       json_string_value(json_object_get(params, "format")), "url", up->filename);
    if (!datastore_ingestible(pseudo))
        goto out;
    scan_file(c, up->tmp_path, up->filename, up->sha256_hex, a->name, &report);
    if (!report)
        goto out;
    verdict = catalog_privacy_gate(report, c->privacy_k);
    if (catalog_privacy_blocked(verdict))
        ret = err_set(err, ERR_VALIDATION, "privacy",
                      "the file \"%s\" cannot be published in public dataset \"%s\": %s "
                      "(de-identify it first, or upload it to a private dataset, where an "
                      "approver may override the gate)",
                      up->filename ? up->filename : "",
                      json_string_value(json_object_get(doc, "name")),
                      json_string_value(json_object_get(verdict, "message")));
out:
    json_decref(doc);
    json_decref(pseudo);
    json_decref(report);
    json_decref(verdict);
    return ret;
}

int ds_privacy_scan_resource(struct catalog *c, const json_t *resource, json_t **report)
{
    const char *hash = json_string_value(json_object_get(resource, "hash"));
    char *path;

    *report = NULL;
    if (hash && starts_with(hash, "sha256:"))
        hash += strlen("sha256:");
    if (!datastore_ingestible(resource) || !hash || strlen(hash) != 64 ||
        strspn(hash, "0123456789abcdef") != 64)
        return 0;
    path = xstrfmt("%s/%.2s/%s", c->files_dir, hash, hash + 2);
    /* the publisher of a file not ingested yet is unknown: no one is exempt from it */
    scan_file(c, path, json_string_value(json_object_get(resource, "url")), hash, NULL, report);
    free(path);
    return 0;
}
