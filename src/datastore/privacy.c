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
#include <strings.h>
#include <sys/stat.h>

#include "core/timeutil.h"
#include "core/util.h"
#include "datastore/datastore-int.h"
#include "privacy/detect.h"
#include "privacy/kclass.h"
#include "store/store-datastore.h"

/* The report around a finished scan, without k (report_set_k()). */
static json_t *report_make(const char *resource_id, const struct detect_scan *sc,
                           const char *source_sha256, const char *filename, const char *publisher)
{
    json_t *scan = detect_scan_json(sc), *rep;
    char now[TIME_ISO_MAX];

    time_now_ckan(now);
    rep = json_pack("{s:s,s:s?,s:s?,s:s?,s:s,s:I,s:O}", "resource_id", resource_id, "source_sha256",
                    source_sha256, "filename", filename, "publisher", publisher, "scanned_at", now,
                    "rows", (json_int_t)sc->rows, "columns", json_object_get(scan, "columns"));
    BUG_ON(!rep);
    json_decref(scan);
    return rep;
}

/* The class a data dictionary entry declares (its "privacy_class"), or NULL. */
static const char *declared_class(const json_t *finfo, const char *field)
{
    const char *d = json_string_value(
            json_object_get(json_object_get(finfo, field ? field : ""), "privacy_class"));
    enum detect_class ignored;

    return d && detect_class_parse(d, &ignored) ? d : NULL;
}

int ds_privacy_class_check(const char *id, const json_t *v, struct err *err)
{
    enum detect_class ignored;

    if (!v || json_is_null(v) || detect_class_parse(json_string_value(v), &ignored))
        return 0;
    return err_set(err, ERR_VALIDATION, "fields",
                   "field \"%s\": \"privacy_class\" must be one of \"direct_identifier\", "
                   "\"quasi_identifier\", \"sensitive\", \"other\"",
                   id ? id : "");
}

bool ds_privacy_declare(json_t *report, const json_t *finfo)
{
    json_t *direct = json_array(), *quasi = json_array(), *sens = json_array(), *col;
    json_t *before = json_incref(json_object_get(report, "quasi_identifiers"));
    bool changed;
    size_t i;

    json_array_foreach (json_object_get(report, "columns"), i, col) {
        const char *name = json_string_value(json_object_get(col, "name"));
        const char *decl = declared_class(finfo, name);
        enum detect_class det = DETECT_CLASS_OTHER, dc = DETECT_CLASS_OTHER, eff;
        json_t *reason;

        /* What the detectors said is kept apart once, so that a declaration can be
         * changed or withdrawn later without scanning again. */
        if (!json_object_get(col, "detected")) {
            json_object_set(col, "detected", json_object_get(col, "class"));
            if (json_object_get(col, "reason"))
                json_object_set(col, "detected_reason", json_object_get(col, "reason"));
        }
        detect_class_parse(json_string_value(json_object_get(col, "detected")), &det);
        eff = det;
        reason = json_object_get(col, "detected_reason");
        json_object_del(col, "declared");
        if (decl) {
            detect_class_parse(decl, &dc);
            json_object_set_new(col, "declared", json_string(decl));
            /* Declared wins when it guards more; a lower one is shown, and the gate keeps
             * the detected class until an approver overrides it. */
            if (detect_class_rank(dc) > detect_class_rank(det)) {
                eff = dc;
                reason = NULL;
            }
        }
        json_object_set_new(col, "class", json_string(detect_class_name(eff)));
        if (eff != det)
            json_object_set_new(col, "reason", json_string("declared"));
        else if (reason)
            json_object_set(col, "reason", reason);
        else
            json_object_del(col, "reason");
        if (eff == DETECT_CLASS_DIRECT)
            json_array_append(direct, json_object_get(col, "name"));
        else if (eff == DETECT_CLASS_QUASI)
            json_array_append(quasi, json_object_get(col, "name"));
        else if (eff == DETECT_CLASS_SENSITIVE)
            json_array_append(sens, json_object_get(col, "name"));
    }
    changed = !before || !json_equal(before, quasi);
    json_object_set_new(report, "direct_identifiers", direct);
    json_object_set_new(report, "quasi_identifiers", quasi);
    json_object_set_new(report, "sensitive", sens);
    json_decref(before);
    return changed;
}

/* Sets the report's k, classes and rows_below_k from the classes counted (kc NULL or
 * empty: k null). */
static void report_set_k(json_t *rep, const struct kclass *kc, unsigned k_portal)
{
    json_object_del(rep, "classes");
    json_object_del(rep, "rows_below_k");
    if (kc && kclass_rows(kc)) {
        json_object_set_new(rep, "k", json_integer((json_int_t)kclass_min(kc)));
        json_object_set_new(rep, "classes", json_integer((json_int_t)kclass_classes(kc)));
        json_object_set_new(rep, "rows_below_k",
                            json_pack("{s:I,s:I}", "k", (json_int_t)k_portal, "rows",
                                      (json_int_t)kclass_rows_below(kc, k_portal)));
    } else {
        json_object_set_new(rep, "k", json_null());
    }
}

/* Counts the classes of the report's quasi-identifiers from the stored table of
 * resource_id and sets k. */
static int report_k_stored(struct catalog *c, const char *resource_id, json_t *rep, struct err *err)
{
    const json_t *qis = json_object_get(rep, "quasi_identifiers");
    size_t nq = json_array_size(qis);
    const char **fields = NULL;
    struct store_ds_cursor *cur = NULL;
    struct store_ds_query q;
    struct kclass *kc = NULL;
    const struct dsvalue *values;
    int ret = 0;

    if (nq && json_integer_value(json_object_get(rep, "rows")) > 0) {
        fields = xcalloc(nq, sizeof(*fields));
        for (size_t j = 0; j < nq; j++)
            fields[j] = json_string_value(json_array_get(qis, j));
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
    report_set_k(rep, kc, c->privacy_k);
out:
    store_ds_cursor_free(cur);
    kclass_free(kc);
    free(fields);
    return ret;
}

int ds_privacy_report(struct catalog *c, const char *resource_id, const struct detect_scan *sc,
                      const char *source_sha256, const char *filename, const char *publisher,
                      const json_t *finfo, json_t **out, struct err *err)
{
    json_t *rep = report_make(resource_id, sc, source_sha256, filename, publisher);
    int ret;

    *out = NULL;
    ds_privacy_declare(rep, finfo);
    ret = report_k_stored(c, resource_id, rep, err);
    if (ret)
        json_decref(rep);
    else
        *out = rep;
    return ret;
}

int ds_privacy_redeclare(struct catalog *c, const char *resource_id, const json_t *meta,
                         json_t **out, struct err *err)
{
    json_t *rep = NULL;
    int ret;

    *out = NULL;
    ret = store_privacy_report_get(c->store, resource_id, &rep, NULL);
    if (ret)
        return 0; /* never scanned: nothing to declare against */
    ret = 0;
    if (ds_privacy_declare(rep, json_object_get(meta, "fields_info")))
        ret = report_k_stored(c, resource_id, rep, err);
    if (ret)
        json_decref(rep);
    else
        *out = rep;
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

void ds_privacy_scan_table(struct catalog *c, const char *path, const char *filename,
                           const char *sha256_hex, const char *publisher, const json_t *finfo,
                           json_t **report)
{
    struct ingest_options o = INGEST_OPTIONS_INIT;
    struct ingest_table *t = NULL;
    struct detect_scan sc;
    struct kclass *kc = NULL;
    struct err ignored = ERR_INIT;
    const struct dsvalue *values;
    const json_t *qis;
    size_t *idx = NULL, nq;
    struct dsvalue *row = NULL;
    json_t *rep = NULL;

    *report = NULL;
    memset(&sc, 0, sizeof(sc));
    if (ingest_table_open(&t, path, filename, &o, &ignored) ||
        detect_scan_table(t, &sc, &ignored)) {
        /* A table that cannot be read is not known to be free of identifiers: its report
         * says so ("unscanned"), and the gate withholds it (privacy-gate.md, "A file
         * that cannot be scanned"). */
        *report = ds_privacy_unscanned(filename, sha256_hex, publisher, ignored.msg);
        goto out;
    }
    rep = report_make("", &sc, sha256_hex, filename, publisher);
    ds_privacy_declare(rep, finfo);
    qis = json_object_get(rep, "quasi_identifiers");
    nq = json_array_size(qis);
    idx = xcalloc(nq ? nq : 1, sizeof(*idx));
    for (size_t j = 0; j < nq; j++)
        for (size_t i = 0; i < sc.ncolumns; i++)
            if (str_eq(sc.columns[i].name, json_string_value(json_array_get(qis, j))))
                idx[j] = i;
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
    report_set_k(rep, kc, c->privacy_k);
    *report = rep;
    rep = NULL;
out:
    json_decref(rep);
    detect_scan_release(&sc);
    ingest_table_free(t);
    kclass_free(kc);
    free(idx);
    free(row);
}

/* The data dictionary of resource_id's current table ({} when it has none). New
 * reference. */
static json_t *current_fields_info(struct catalog *c, const char *resource_id)
{
    struct store_ds_info info = {0};
    json_t *finfo = NULL;

    if (resource_id && !store_ds_info(c->store, resource_id, &info, NULL))
        finfo = json_incref(json_object_get(info.meta, "fields_info"));
    store_ds_info_release(&info);
    return finfo ? finfo : json_object();
}

int datastore_privacy_precheck(struct catalog *c, const struct actor *a, const char *action,
                               json_t *params, const struct upload *up, json_t **held,
                               struct err *err)
{
    json_t *doc = NULL, *pseudo = NULL, *report = NULL, *verdict = NULL, *finfo = NULL, *r;
    const char *did = NULL, *rid = NULL;
    char didbuf[UUID_STR_LEN], *member = NULL;
    bool personal;
    size_t i;
    int ret = 0;

    *held = NULL;
    if (!up || !a || !a->authenticated)
        return 0;
    if (!strcmp(action, "resource_create")) {
        did = json_string_value(json_object_get(params, "package_id"));
    } else if (!strcmp(action, "resource_update")) {
        rid = json_string_value(json_object_get(params, "id"));
        if (rid && strlen(rid) < 256 &&
            !store_resource_dataset(c->store, rid, didbuf, sizeof(didbuf), NULL))
            did = didbuf;
        else
            rid = NULL;
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
    personal = catalog_privacy_personal(doc, params);
    json_array_foreach (json_object_get(doc, "resources"), i, r)
        if (rid && str_eq(json_string_value(json_object_get(r, "id")), rid))
            personal = personal || catalog_privacy_personal(doc, r);
    if (!datastore_ingestible(pseudo)) {
        /* Not a table format: text that may be a table or prose (people.txt, people.dat,
         * no extension), an archive or a compressed file (people.zip, people.csv.gz):
         * privacy-files.c. A file the gate does not read (a PDF, an image) goes in. */
        report = ds_privacy_scan_other(c, up->tmp_path, up->filename, up->sha256_hex, a->name,
                                       personal);
        if (!report)
            goto out;
        goto judge;
    }
    /* What the publisher declared: the data dictionary of the table the file replaces,
     * and "records of people" on the request, the resource or the dataset. */
    finfo = current_fields_info(c, rid);
    ds_privacy_scan_table(c, up->tmp_path, up->filename, up->sha256_hex, a->name, finfo, &report);
    if (!report)
        goto out;
judge:
    json_object_set_new(report, "personal_data", json_boolean(personal));
    verdict = catalog_privacy_gate(report, c->privacy_k);
    if (json_string_value(json_object_get(report, "archive_member")))
        member = xstrfmt(" (its member \"%s\")",
                         json_string_value(json_object_get(report, "archive_member")));
    if (catalog_privacy_blocked(verdict)) {
        /* Refused with nothing stored (privacy-gate.md, "A refused upload"): a public
         * dataset never holds a file the gate blocks, served or not. */
        ret = err_set(err, ERR_VALIDATION, "privacy",
                      "the file \"%s\"%s cannot be published in public dataset \"%s\": %s; "
                      "nothing was stored",
                      up->filename ? up->filename : "", member ? member : "",
                      json_string_value(json_object_get(doc, "name")),
                      json_string_value(json_object_get(verdict, "message")));
        *held = report;
        report = NULL;
    }
out:
    json_decref(doc);
    json_decref(pseudo);
    json_decref(report);
    json_decref(verdict);
    json_decref(finfo);
    free(member);
    return ret;
}

int ds_privacy_scan_resource(struct catalog *c, const json_t *resource, json_t **report)
{
    const char *hash = json_string_value(json_object_get(resource, "hash"));
    struct resource_file f;
    struct err ignored = ERR_INIT;
    struct stat st;
    json_t *finfo;

    *report = NULL;
    if (hash && starts_with(hash, "sha256:"))
        hash += strlen("sha256:");
    if (!str_eq(json_string_value(json_object_get(resource, "url_type")), "upload") || !hash ||
        strlen(hash) != 64 || strspn(hash, "0123456789abcdef") != 64)
        return 0;
    memset(&f, 0, sizeof(f));
    f.path = xstrfmt("%s/%.2s/%s", c->files_dir, hash, hash + 2);
    if (stat(f.path, &st)) {
        /* Stored encrypted only (uploaded while the dataset was restricted): a decrypted
         * copy is scanned, and removed after. */
        char *enc = xstrfmt("%s.enc", f.path);

        if (!stat(enc, &st)) {
            free(f.path);
            f.path = enc;
            f.encrypted = true;
            catalog_resource_file_plain(c, &f, &ignored);
        } else {
            free(enc);
        }
    }
    if (!datastore_ingestible(resource)) {
        /* Text, archives (privacy-files.c); the publisher of a file not ingested yet is
         * unknown: no one is exempt from it. */
        *report = ds_privacy_scan_other(
                c, f.path, json_string_value(json_object_get(resource, "url")), hash, NULL, false);
    } else {
        finfo = current_fields_info(c, json_string_value(json_object_get(resource, "id")));
        ds_privacy_scan_table(c, f.path, json_string_value(json_object_get(resource, "url")), hash,
                              NULL, finfo, report);
        json_decref(finfo);
    }
    resource_file_release(&f);
    return 0;
}

/* ---- Writes through the API (datastore_create with records, datastore_upsert) -------- */

/* The rows of a write scan: the stored table's (when it has one) followed by nrows new
 * ones. One pass of the stored table per call. */
struct write_rows {
    struct catalog *c;
    const char *resource_id;
    bool stored;                  /* the table exists */
    const char **names;           /* the columns scanned: the table's, then new ones */
    size_t nnames, nstored;       /* nstored: how many of names the table has */
    const struct dsvalue *values; /* nrows × ncols, columns cols */
    size_t nrows, ncols;
    size_t *map; /* names[j] is cols[map[j]], or SIZE_MAX */
};

/* Calls fn(arg, row) for every row (of wr->nnames values), stored rows first. */
static int write_rows_each(struct write_rows *wr, void (*fn)(void *, const struct dsvalue *),
                           void *arg, struct err *err)
{
    struct dsvalue *row = xcalloc(wr->nnames + 1, sizeof(*row));
    struct store_ds_cursor *cur = NULL;
    const struct dsvalue *values;
    struct store_ds_query q;
    int ret = 0;

    if (wr->stored && wr->nstored) {
        memset(&q, 0, sizeof(q));
        q.resource_id = wr->resource_id;
        q.fields = wr->names;
        q.nfields = wr->nstored;
        ret = store_ds_search(wr->c->store, &q, &cur, NULL, err);
        while (!ret && (ret = store_ds_cursor_next(cur, &values, err)) > 0) {
            ret = 0;
            memcpy(row, values, wr->nstored * sizeof(*row));
            /* the columns the table does not have yet are NULL in its rows */
            fn(arg, row);
        }
        if (ret > 0)
            ret = 0;
    }
    for (size_t i = 0; !ret && i < wr->nrows; i++) {
        for (size_t j = 0; j < wr->nnames; j++)
            row[j] = wr->map[j] == SIZE_MAX ? (struct dsvalue){0}
                                            : wr->values[i * wr->ncols + wr->map[j]];
        fn(arg, row);
    }
    store_ds_cursor_free(cur);
    free(row);
    return ret;
}

struct write_scan_arg {
    struct detect_scan *sc;
    size_t n;
};

static void write_scan_row(void *arg, const struct dsvalue *row)
{
    struct write_scan_arg *w = arg;

    detect_scan_row(w->sc, row, w->n);
}

struct write_k_arg {
    struct kclass *kc;
    const size_t *idx;
    struct dsvalue *row;
    size_t nq;
};

static void write_k_row(void *arg, const struct dsvalue *row)
{
    struct write_k_arg *w = arg;

    for (size_t j = 0; j < w->nq; j++)
        w->row[j] = row[w->idx[j]];
    kclass_add(w->kc, w->row);
}

int ds_privacy_write_report(struct catalog *c, const char *resource_id, const char *const *cols,
                            size_t ncols, const struct dsvalue *values, size_t nrows,
                            const json_t *finfo, const char *publisher, const char *source_sha256,
                            json_t **out, struct err *err)
{
    struct store_ds_info info = {0};
    struct write_rows wr;
    struct detect_scan sc;
    struct write_scan_arg sa;
    struct write_k_arg ka;
    struct kclass *kc = NULL;
    json_t *rep = NULL, *old = NULL, *f;
    const json_t *qis;
    size_t i, nq, *idx = NULL;
    int ret;

    *out = NULL;
    memset(&wr, 0, sizeof(wr));
    memset(&sc, 0, sizeof(sc));
    wr.c = c;
    wr.resource_id = resource_id;
    ret = store_ds_info(c->store, resource_id, &info, err);
    wr.stored = !ret;
    if (ret == -ERR_NOT_FOUND) {
        err_clear(err);
        ret = 0;
    }
    if (ret)
        goto out;
    wr.names = xcalloc(json_array_size(info.fields) + ncols + 1, sizeof(*wr.names));
    json_array_foreach (info.fields, i, f)
        wr.names[wr.nnames++] = json_string_value(json_object_get(f, "id"));
    wr.nstored = wr.nnames;
    for (size_t j = 0; j < ncols; j++) {
        bool have = false;

        for (size_t k = 0; k < wr.nnames && !have; k++)
            have = str_eq(wr.names[k], cols[j]);
        if (!have)
            wr.names[wr.nnames++] = cols[j];
    }
    wr.map = xcalloc(wr.nnames + 1, sizeof(*wr.map));
    for (size_t k = 0; k < wr.nnames; k++) {
        wr.map[k] = SIZE_MAX;
        for (size_t j = 0; j < ncols; j++)
            if (str_eq(wr.names[k], cols[j]))
                wr.map[k] = j;
    }
    wr.values = values;
    wr.nrows = nrows;
    wr.ncols = ncols;

    detect_scan_init(&sc, wr.names, wr.nnames, detect_today());
    sa.sc = &sc;
    sa.n = wr.nnames;
    ret = write_rows_each(&wr, write_scan_row, &sa, err);
    if (ret)
        goto out;
    detect_scan_finish(&sc);
    /* The table's "file" is the one it was ingested from, or the first write that made
     * it: an override stays bound to it across later writes (ds_privacy_store). */
    if (!store_privacy_report_get(c->store, resource_id, &old, NULL) &&
        json_string_value(json_object_get(old, "source_sha256")))
        source_sha256 = json_string_value(json_object_get(old, "source_sha256"));
    rep = report_make(resource_id, &sc, source_sha256,
                      json_string_value(json_object_get(old, "filename")), publisher);
    ds_privacy_declare(rep, finfo);
    qis = json_object_get(rep, "quasi_identifiers");
    nq = json_array_size(qis);
    if (nq && sc.rows) {
        idx = xcalloc(nq, sizeof(*idx));
        for (size_t j = 0; j < nq; j++)
            for (size_t k = 0; k < wr.nnames; k++)
                if (str_eq(wr.names[k], json_string_value(json_array_get(qis, j))))
                    idx[j] = k;
        kc = kclass_new(nq);
        ka.kc = kc;
        ka.idx = idx;
        ka.nq = nq;
        ka.row = xcalloc(nq, sizeof(*ka.row));
        ret = write_rows_each(&wr, write_k_row, &ka, err);
        free(ka.row);
        if (ret)
            goto out;
    }
    report_set_k(rep, kc, c->privacy_k);
    *out = rep;
    rep = NULL;
out:
    json_decref(rep);
    json_decref(old);
    detect_scan_release(&sc);
    kclass_free(kc);
    store_ds_info_release(&info);
    free(idx);
    free(wr.names);
    free(wr.map);
    return ret;
}

int ds_privacy_write_check(struct catalog *c, const char *resource_id, const json_t *report,
                           json_t **refused, struct err *err)
{
    char did[UUID_STR_LEN];
    json_t *doc = NULL, *verdict = NULL, *rep = NULL, *r;
    bool personal;
    size_t i;
    int ret = 0;

    *refused = NULL;
    if (store_resource_dataset(c->store, resource_id, did, sizeof(did), NULL) ||
        store_dataset_get(c->store, did, &doc, NULL) || !catalog_data_public(doc))
        goto out;
    rep = json_deep_copy(report);
    personal = catalog_privacy_personal(doc, NULL);
    json_array_foreach (json_object_get(doc, "resources"), i, r)
        if (str_eq(json_string_value(json_object_get(r, "id")), resource_id))
            personal = personal || catalog_privacy_personal(doc, r);
    json_object_set_new(rep, "personal_data", json_boolean(personal));
    /* The override of the table's file, if an approver gave one, stays with it. */
    {
        json_t *old = NULL, *ov;

        if (!store_privacy_report_get(c->store, resource_id, &old, NULL)) {
            ov = json_object_get(old, "override");
            if (json_is_object(ov) &&
                str_eq(json_string_value(json_object_get(ov, "source_sha256")),
                       json_string_value(json_object_get(rep, "source_sha256"))))
                json_object_set(rep, "override", ov);
        }
        json_decref(old);
    }
    verdict = catalog_privacy_gate(rep, c->privacy_k);
    if (catalog_privacy_blocked(verdict)) {
        ret = err_set(err, ERR_VALIDATION, "privacy",
                      "not written: with these records the table would be published in "
                      "public dataset \"%s\" with %s. De-identify the records first, or "
                      "write them into a private dataset, where an approver other than you "
                      "may override the gate (datastore_privacy_override) before it is "
                      "made public",
                      json_string_value(json_object_get(doc, "name")),
                      json_string_value(json_object_get(verdict, "message")));
        *refused = json_pack("{s:s,s:O,s:[s,s]}", "resource_id", resource_id, "privacy_gate",
                             verdict, "next_steps",
                             "de-identify the records by a policy (kaifang anonymize --policy "
                             "P.json, docs/internals/privacy-anonymization.md) and write the "
                             "result",
                             "or write them into a private dataset and ask an approver other "
                             "than you to override the gate (datastore_privacy_override) "
                             "before the dataset is made public");
        BUG_ON(!*refused);
    }
out:
    json_decref(doc);
    json_decref(verdict);
    json_decref(rep);
    return ret;
}
