/*
 * test-datastore-ingest.c - the datastore's ingest, worker and dumps (src/datastore/
 * datastore.c, ingest.c, dump.c) and the catalog functions they use
 * (catalog_resource_authorize, catalog_resource_datastore), against a real store in a
 * temporary portal: reports, types and rows of ingested uploads, status records and
 * their errors with line and column, the previous table serving after a failure, field
 * overrides and re-typing, the ledger entry (ids only for private datasets), the worker
 * (queue, abandoning an ingest between rows, re-queueing at start), deleted resources,
 * and the bytes of every dump format.
 */
#include <dirent.h>
#include <fcntl.h>
#include <jansson.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "catalog/catalog.h"
#include "core/limits.h"
#include "crypto/digest.h"
#include "crypto/secret.h"
#include "datastore/datastore-int.h"
#include "datastore/datastore.h"
#include "ledger/ledger.h"
#include "privacy/synth.h"
#include "store/store-datastore.h"
#include "store/store-int.h" /* store_fail_count_reset() for failure injection */
#include "unit-util.h"
#include "core/util.h"

struct fixture {
    char dir[64];
    char files[128];
    struct store *s;
    struct catalog c;
    struct actor root, editor, outsider, anon;
    struct ledger_key *key;
    uint64_t lsize;
    char dataset_id[UUID_STR_LEN];
    char private_id[UUID_STR_LEN];
};

static json_t *parse(const char *text)
{
    json_error_t e;
    json_t *v = json_loads(text, JSON_DECODE_ANY, &e);

    if (!v)
        fail_msg("bad JSON in test: %s: %s", e.text, text);
    return v;
}

static const char *sget(json_t *o, const char *key)
{
    return json_string_value(json_object_get(o, key));
}

static void load_actor(struct fixture *f, const char *name, struct actor *a)
{
    struct err err = ERR_INIT;

    if (access_actor_from_user(f->s, name, a, &err))
        fail_msg("actor %s: %s", name, err.msg);
}

static json_t *act(struct fixture *f, catalog_action_fn fn, const struct actor *a,
                   const char *params)
{
    struct err err = ERR_INIT;
    json_t *p = parse(params), *result = NULL;

    if (fn(&f->c, a, p, &result, &err))
        fail_msg("action failed: %s (%s)", err.msg, params);
    json_decref(p);
    return result;
}

static int setup(void **state)
{
    struct fixture *f = xcalloc(1, sizeof(*f));
    struct err err = ERR_INIT;
    char db[128], *tmp;
    json_t *o;

    secret_init();
    if (unit_tmpdir(f->dir, sizeof(f->dir), "dsingest"))
        return -1;
    xsnprintf(db, sizeof(db), "%s/kaifang.db", f->dir);
    xsnprintf(f->files, sizeof(f->files), "%s/files", f->dir);
    mkdir(f->files, 0755);
    tmp = xstrfmt("%s/tmp", f->files);
    mkdir(tmp, 0755);
    free(tmp);
    if (store_open(&f->s, db, true, &err)) {
        fprintf(stderr, "store_open: %s\n", err.msg);
        return -1;
    }
    catalog_init(&f->c, f->s, f->files, "http://portal.test");
    f->anon = (struct actor)ACTOR_ANONYMOUS;
    if (access_user_add(f->s, "root", NULL, NULL, true, NULL, &err) ||
        access_user_add(f->s, "ed", NULL, NULL, false, NULL, &err) ||
        access_user_add(f->s, "out", NULL, NULL, false, NULL, &err))
        return -1;
    load_actor(f, "root", &f->root);
    o = act(f, catalog_organization_create, &f->root, "{\"name\": \"stats\"}");
    json_decref(o);
    o = act(f, catalog_organization_create, &f->root, "{\"name\": \"other\"}");
    json_decref(o);
    if (access_member_set(f->s, "stats", "ed", "editor", &err) ||
        access_member_set(f->s, "other", "out", "editor", &err))
        return -1;
    load_actor(f, "ed", &f->editor);
    load_actor(f, "out", &f->outsider);
    o = act(f, catalog_package_create, &f->root,
            "{\"name\": \"tables\", \"owner_org\": \"stats\"}");
    xsnprintf(f->dataset_id, sizeof(f->dataset_id), "%s", sget(o, "id"));
    json_decref(o);
    o = act(f, catalog_package_create, &f->root,
            "{\"name\": \"secret-tables\", \"owner_org\": \"stats\", \"private\": true}");
    xsnprintf(f->private_id, sizeof(f->private_id), "%s", sget(o, "id"));
    json_decref(o);
    tmp = xstrfmt("%s/ledger.key", f->dir);
    if (ledger_key_create(tmp, "portal.test/ledger", &err) || ledger_key_load(tmp, &f->key, &err) ||
        ledger_integrate(f->s, f->key, &f->lsize, &err)) {
        fprintf(stderr, "ledger: %s\n", err.msg);
        free(tmp);
        return -1;
    }
    free(tmp);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;

    datastore_free(f->c.datastore);
    actor_release(&f->root);
    actor_release(&f->editor);
    actor_release(&f->outsider);
    ledger_key_free(f->key);
    catalog_release(&f->c);
    store_free(f->s);
    unit_remove_tree(f->dir);
    free(f);
    return 0;
}

/* The ledger entries appended since the last call. */
static json_t *ledger_new(struct fixture *f)
{
    struct err err = ERR_INIT;
    uint64_t size = 0;
    json_t *list = NULL, *out = json_array(), *e;
    size_t i;

    if (ledger_integrate(f->s, f->key, &size, &err))
        fail_msg("ledger_integrate: %s", err.msg);
    while (f->lsize < size) {
        if (ledger_entries(f->s, f->lsize, size, &list, &err))
            fail_msg("ledger_entries: %s", err.msg);
        json_array_foreach (list, i, e) {
            json_array_append_new(out, parse(sget(e, "entry")));
            f->lsize++;
        }
        json_decref(list);
    }
    return out;
}

/* Writes content (len bytes) to a file of the portal's files/tmp, or any path. */
static void write_file(const char *path, const char *content, size_t len)
{
    FILE *fp = fopen(path, "wb");

    assert_non_null(fp);
    assert_int_equal(fwrite(content, 1, len, fp), len);
    fclose(fp);
}

/* Uploads content as a new resource of dataset (id) named filename; returns its id in
 * rid (UUID_STR_LEN). */
static void upload(struct fixture *f, const char *dataset, const char *filename,
                   const char *content, size_t len, char *rid)
{
    static int n;
    char path[256];
    uint8_t h[SHA256_LEN];
    struct upload up;
    struct err err = ERR_INIT;
    json_t *params = json_pack("{s:s}", "package_id", dataset), *res = NULL;

    xsnprintf(path, sizeof(path), "%s/tmp/up-%d", f->files, n++);
    write_file(path, content, len);
    sha256(content, len, h);
    memset(&up, 0, sizeof(up));
    up.tmp_path = path;
    up.filename = filename;
    up.size = len;
    hex_encode(h, SHA256_LEN, up.sha256_hex);
    if (catalog_resource_create(&f->c, &f->root, params, &up, &res, &err))
        fail_msg("resource_create: %s", err.msg);
    xsnprintf(rid, UUID_STR_LEN, "%s", sget(res, "id"));
    json_decref(params);
    json_decref(res);
}

/* Replaces the upload of resource rid. */
static void reupload(struct fixture *f, const char *rid, const char *filename, const char *content)
{
    static int n;
    char path[256];
    uint8_t h[SHA256_LEN];
    struct upload up;
    struct err err = ERR_INIT;
    json_t *params = json_pack("{s:s}", "id", rid), *res = NULL;

    xsnprintf(path, sizeof(path), "%s/tmp/re-%d", f->files, n++);
    write_file(path, content, strlen(content));
    sha256(content, strlen(content), h);
    memset(&up, 0, sizeof(up));
    up.tmp_path = path;
    up.filename = filename;
    up.size = strlen(content);
    hex_encode(h, SHA256_LEN, up.sha256_hex);
    if (catalog_resource_update(&f->c, &f->root, params, &up, &res, &err))
        fail_msg("resource_update: %s", err.msg);
    json_decref(params);
    json_decref(res);
}

static json_t *resource(struct fixture *f, const char *rid)
{
    char params[128];

    xsnprintf(params, sizeof(params), "{\"id\": \"%s\"}", rid);
    return act(f, catalog_resource_show, &f->root, params);
}

static json_t *status_of(struct fixture *f, const char *rid)
{
    json_t *st = NULL;
    struct err err = ERR_INIT;

    if (store_ds_status_get(f->s, rid, &st, &err))
        fail_msg("no status for %s: %s", rid, err.msg);
    return st;
}

static int ingest(struct fixture *f, const struct actor *a, const char *rid, const json_t *fields,
                  json_t **report, struct err *err)
{
    struct datastore_ingest_request r;
    struct ingest_options o = INGEST_OPTIONS_INIT;

    memset(&r, 0, sizeof(r));
    r.resource_id = rid;
    r.opts = o;
    r.fields = fields;
    return datastore_ingest(&f->c, a, &r, report, err);
}

static uint64_t table_rows(struct fixture *f, const char *rid)
{
    struct store_ds_info info = {0};
    struct err err = ERR_INIT;
    uint64_t rows;

    if (store_ds_info(f->s, rid, &info, &err))
        fail_msg("no table for %s: %s", rid, err.msg);
    rows = info.rows;
    store_ds_info_release(&info);
    return rows;
}

/* The type of field id in the report's or info's "fields". */
static const char *field_type(json_t *fields, const char *id)
{
    json_t *f;
    size_t i;

    json_array_foreach (fields, i, f) {
        if (!strcmp(sget(f, "id"), id))
            return sget(f, "type");
    }
    fail_msg("no field \"%s\"", id);
    return NULL;
}

/* The whole dump of rid as text. */
static char *dump_all(struct fixture *f, const struct actor *a, const char *rid, const char *params,
                      size_t *len)
{
    struct datastore_dump *d = NULL;
    struct err err = ERR_INIT;
    struct buf b = BUF_INIT;
    json_t *p = parse(params);
    char chunk[7]; /* small: rows cross the reads */
    long n;

    if (datastore_dump_open(&f->c, a, rid, p, &d, &err))
        fail_msg("dump_open: %s", err.msg);
    while ((n = datastore_dump_read(d, chunk, sizeof(chunk))) > 0)
        buf_add(&b, chunk, (size_t)n);
    assert_int_equal(n, 0);
    datastore_dump_free(d);
    json_decref(p);
    return buf_detach(&b, len);
}

/* ---- Tests ------------------------------------------------------------------------- */

static void test_ingestible(void **state)
{
    static const struct {
        const char *dict;
        bool yes;
    } cases[] = {
            {"{\"url_type\": \"upload\", \"format\": \"CSV\", \"url\": \"a.csv\"}", true},
            {"{\"url_type\": \"upload\", \"format\": \"XLSX\", \"url\": \"x\"}", true},
            {"{\"url_type\": \"upload\", \"format\": \"\", \"url\": \"data.tsv\"}", true},
            {"{\"url_type\": \"upload\", \"url\": \"data.jsonl\"}", true},
            {"{\"url_type\": \"upload\", \"format\": \"PDF\", \"url\": \"a.pdf\"}", false},
            {"{\"url_type\": \"upload\", \"format\": \"\", \"url\": \"notes.txt\"}", false},
            {"{\"url_type\": \"upload\", \"format\": \"GeoJSON\", \"url\": \"a.geojson\"}", false},
            {"{\"url_type\": \"\", \"format\": \"CSV\", \"url\": \"http://x/a.csv\"}", false},
            {"{\"format\": \"CSV\"}", false},
    };

    (void)state;
    for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
        json_t *r = parse(cases[i].dict);

        if (datastore_ingestible(r) != cases[i].yes)
            fail_msg("datastore_ingestible(%s) should be %d", cases[i].dict, cases[i].yes);
        json_decref(r);
    }
}

static void test_options_parse(void **state)
{
    struct ingest_options o;
    const json_t *fields;
    struct err err = ERR_INIT;
    json_t *opts;

    (void)state;
    assert_int_equal(ds_options_parse(NULL, &o, &fields, &err), 0);
    assert_int_equal(o.skip_rows, -1);
    assert_int_equal(o.format, INGEST_FORMAT_AUTO);
    assert_null(fields);

    opts = parse("{\"format\": \"TSV\", \"encoding\": \"GB18030\", \"delimiter\": \"tab\", "
                 "\"sheet\": \"2\", \"skip_rows\": \"3\", \"lenient\": \"true\", "
                 "\"fields\": [{\"id\": \"a\", \"type\": \"text\"}]}");
    assert_int_equal(ds_options_parse(opts, &o, &fields, &err), 0);
    assert_int_equal(o.format, INGEST_FORMAT_TSV);
    assert_string_equal(o.encoding, "GB18030");
    assert_int_equal(o.delimiter, '\t');
    assert_string_equal(o.sheet, "2");
    assert_int_equal(o.skip_rows, 3);
    assert_true(o.lenient);
    assert_int_equal(json_array_size(fields), 1);
    json_decref(opts);

    static const struct {
        const char *opts, *field;
    } bad[] = {
            {"{\"format\": \"pdf\"}", "format"},     {"{\"delimiter\": \"::\"}", "delimiter"},
            {"{\"skip_rows\": -2}", "skip_rows"},    {"{\"skip_rows\": \"x\"}", "skip_rows"},
            {"{\"lenient\": \"maybe\"}", "lenient"}, {"{\"encoding\": 5}", "encoding"},
            {"{\"fields\": {\"a\": 1}}", "fields"},
    };
    for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
        err_clear(&err);
        opts = parse(bad[i].opts);
        assert_int_equal(ds_options_parse(opts, &o, &fields, &err), -ERR_VALIDATION);
        assert_string_equal(err.field, bad[i].field);
        json_decref(opts);
    }
}

static const char sample_csv[] = "code,name,amount,day\n"
                                 "007,\"Smith, J.\",315.70,2024-01-31\n"
                                 "010,\"say \"\"hi\"\"\",.097,2024-02-29\n"
                                 "123,plain,-1e-3,\n";

static void test_ingest_upload(void **state)
{
    struct fixture *f = *state;
    struct err err = ERR_INIT;
    char rid[UUID_STR_LEN], digest_hex[SHA256_HEX_LEN];
    json_t *report = NULL, *res, *entries, *e, *st, *before;
    uint8_t h[SHA256_LEN];
    const char *modified;

    upload(f, "tables", "sample.csv", sample_csv, strlen(sample_csv), rid);
    json_decref(ledger_new(f));
    before = resource(f, rid);
    assert_int_equal(ingest(f, &f->editor, rid, NULL, &report, &err), 0);
    assert_string_equal(sget(report, "status"), "complete");
    assert_int_equal(json_integer_value(json_object_get(report, "rows")), 3);
    assert_string_equal(sget(report, "format"), "csv");
    assert_string_equal(sget(report, "encoding"), "UTF-8");
    assert_string_equal(sget(report, "delimiter"), ",");
    assert_true(json_is_null(json_object_get(report, "sheet")));
    assert_string_equal(field_type(json_object_get(report, "fields"), "code"), "text");
    assert_string_equal(field_type(json_object_get(report, "fields"), "amount"), "numeric");
    assert_string_equal(field_type(json_object_get(report, "fields"), "day"), "date");
    assert_true(json_is_object(json_object_get(report, "timings")));
    assert_int_equal(table_rows(f, rid), 3);

    /* The resource shows it; its metadata_modified does not move. */
    res = resource(f, rid);
    assert_true(json_is_true(json_object_get(res, "datastore_active")));
    assert_string_equal(sget(res, "datastore_status"), "complete");
    modified = sget(before, "metadata_modified");
    assert_string_equal(sget(res, "metadata_modified"), modified);
    json_decref(res);
    json_decref(before);

    st = status_of(f, rid);
    assert_string_equal(sget(st, "status"), "complete");
    assert_string_equal(sget(st, "user"), "ed");
    assert_true(json_is_null(json_object_get(st, "error")));
    assert_int_equal(json_integer_value(json_object_get(json_object_get(st, "report"), "rows")), 3);
    json_decref(st);

    /* One ledger entry, by the actor, naming the dataset and resource; its digest is of
     * {resource_id, source_sha256, rows, fields_sha256}. */
    entries = ledger_new(f);
    assert_int_equal(json_array_size(entries), 1);
    e = json_array_get(entries, 0);
    assert_string_equal(sget(e, "type"), "datastore_ingest");
    assert_string_equal(sget(e, "actor"), "ed");
    assert_string_equal(sget(e, "org"), "stats");
    assert_string_equal(sget(json_object_get(e, "objects"), "name"), "tables");
    assert_string_equal(sget(json_object_get(e, "objects"), "resource"), rid);
    assert_string_equal(sget(json_object_get(e, "objects"), "dataset"), f->dataset_id);
    {
        char *fields = json_dumps(json_object_get(report, "fields"), JSON_COMPACT | JSON_SORT_KEYS);
        char src[SHA256_HEX_LEN], fsha[SHA256_HEX_LEN];
        json_t *entry;
        char *canon;
        char want[80];

        sha256(sample_csv, strlen(sample_csv), h);
        hex_encode(h, SHA256_LEN, src);
        sha256(fields, strlen(fields), h);
        hex_encode(h, SHA256_LEN, fsha);
        entry = json_pack("{s:s,s:s,s:i,s:s}", "resource_id", rid, "source_sha256", src, "rows", 3,
                          "fields_sha256", fsha);
        canon = json_dumps(entry, JSON_SORT_KEYS | JSON_COMPACT);
        sha256(canon, strlen(canon), h);
        hex_encode(h, SHA256_LEN, digest_hex);
        xsnprintf(want, sizeof(want), "sha256:%s", digest_hex);
        assert_string_equal(sget(e, "digest"), want);
        free(canon);
        free(fields);
        json_decref(entry);
    }
    json_decref(entries);
    json_decref(report);

    /* The table meta: source and data dictionary. */
    {
        struct store_ds_info info = {0};
        json_t *src;

        assert_int_equal(store_ds_info(f->s, rid, &info, &err), 0);
        src = json_object_get(info.meta, "source");
        assert_string_equal(sget(src, "filename"), "sample.csv");
        assert_string_equal(sget(src, "format"), "csv");
        assert_int_equal(json_integer_value(json_object_get(src, "skipped_rows")), 0);
        assert_string_equal(
                sget(json_object_get(json_object_get(info.meta, "fields_info"), "code"), "label"),
                "code");
        assert_non_null(sget(info.meta, "ingested_at"));
        store_ds_info_release(&info);
    }
    assert_true(datastore_table_current(&f->c, res = resource(f, rid)));
    json_decref(res);
}

static void test_ingest_private_ledger(void **state)
{
    struct fixture *f = *state;
    struct err err = ERR_INIT;
    char rid[UUID_STR_LEN];
    json_t *entries, *objects;

    upload(f, "secret-tables", "s.csv", "a,b\n1,2\n", 8, rid);
    json_decref(ledger_new(f));
    assert_int_equal(ingest(f, &f->root, rid, NULL, NULL, &err), 0);
    entries = ledger_new(f);
    assert_int_equal(json_array_size(entries), 1);
    objects = json_object_get(json_array_get(entries, 0), "objects");
    assert_null(json_object_get(objects, "name"));
    assert_string_equal(sget(objects, "visibility"), "private");
    assert_string_equal(sget(objects, "dataset"), f->private_id);
    json_decref(entries);

    /* Not readable to an outsider: as if absent, and nothing is written. */
    err_clear(&err);
    assert_int_equal(ingest(f, &f->outsider, rid, NULL, NULL, &err), -ERR_NOT_FOUND);
    err_clear(&err);
    assert_int_equal(catalog_resource_authorize(&f->c, &f->anon, rid, false, NULL, NULL, &err),
                     -ERR_NOT_FOUND);
    entries = ledger_new(f);
    assert_int_equal(json_array_size(entries), 0);
    json_decref(entries);
}

static void test_ingest_auth(void **state)
{
    struct fixture *f = *state;
    struct err err = ERR_INIT;
    char rid[UUID_STR_LEN];
    json_t *st = NULL, *res = NULL, *ds = NULL;

    upload(f, "tables", "a.csv", "a\n1\n", 4, rid);
    /* Visible but not editable: 403, and no status appears. */
    assert_int_equal(ingest(f, &f->outsider, rid, NULL, NULL, &err), -ERR_AUTH);
    err_clear(&err);
    assert_int_equal(ingest(f, &f->anon, rid, NULL, NULL, &err), -ERR_AUTH);
    assert_int_equal(store_ds_status_get(f->s, rid, &st, NULL), -ERR_NOT_FOUND);
    err_clear(&err);
    assert_int_equal(ingest(f, &f->root, "no-such-resource", NULL, NULL, &err), -ERR_NOT_FOUND);
    assert_string_equal(err.field, "resource_id");
    /* Read access gives the resource (output form) and the dataset. */
    assert_int_equal(catalog_resource_authorize(&f->c, &f->anon, rid, false, &res, &ds, &err), 0);
    assert_string_equal(sget(ds, "name"), "tables");
    assert_true(starts_with(sget(res, "url"), "http://portal.test/dataset/"));
    json_decref(res);
    json_decref(ds);
}

static void test_ingest_failure_keeps_table(void **state)
{
    struct fixture *f = *state;
    struct err err = ERR_INIT;
    char rid[UUID_STR_LEN];
    json_t *report = NULL, *st, *res, *e;
    size_t n;

    upload(f, "tables", "r.csv", "a,b\n1,2\n3,4\n", 12, rid);
    assert_int_equal(ingest(f, &f->root, rid, NULL, NULL, &err), 0);
    assert_int_equal(table_rows(f, rid), 2);

    /* A ragged row on line 4: the error names it, the old table serves. */
    reupload(f, rid, "r.csv", "a,b\n5,6\n7,8\n9\n10,11\n");
    json_decref(ledger_new(f));
    err_clear(&err);
    assert_int_equal(ingest(f, &f->root, rid, NULL, &report, &err), -ERR_VALIDATION);
    assert_non_null(strstr(err.msg, "line 4"));
    assert_string_equal(sget(report, "status"), "error");
    assert_int_equal(json_integer_value(json_object_get(report, "line")), 4);
    json_decref(report);
    assert_int_equal(table_rows(f, rid), 2);
    st = status_of(f, rid);
    assert_string_equal(sget(st, "status"), "error");
    e = json_object_get(st, "error");
    assert_int_equal(json_integer_value(json_object_get(e, "line")), 4);
    assert_non_null(strstr(sget(e, "message"), "line 4"));
    json_decref(st);
    res = resource(f, rid);
    assert_true(json_is_true(json_object_get(res, "datastore_active")));
    assert_string_equal(sget(res, "datastore_status"), "error");
    assert_false(datastore_table_current(&f->c, res));
    json_decref(res);
    /* No ledger entry for a failed ingest. */
    e = ledger_new(f);
    n = json_array_size(e);
    json_decref(e);
    assert_int_equal(n, 0);

    /* Lenient: the ragged row is padded and counted. */
    {
        struct datastore_ingest_request r;
        struct ingest_options o = INGEST_OPTIONS_INIT;

        memset(&r, 0, sizeof(r));
        o.lenient = true;
        r.resource_id = rid;
        r.opts = o;
        err_clear(&err);
        assert_int_equal(datastore_ingest(&f->c, &f->root, &r, &report, &err), 0);
        assert_int_equal(json_integer_value(json_object_get(report, "ragged_rows")), 1);
        assert_int_equal(json_integer_value(json_object_get(report, "rows")), 4);
        json_decref(report);
        st = status_of(f, rid);
        assert_true(json_is_true(json_object_get(json_object_get(st, "options"), "lenient")));
        json_decref(st);
    }
}

/* A CSV of rows synthetic people (privacy/synth.h) after a first line: id numbers,
 * phones, sex, birth date, diagnosis. Free the result. */
static char *people(unsigned rows, uint64_t seed)
{
    struct synth g;
    struct synth_person p;
    struct buf b = BUF_INIT;

    buf_addstr(&b, "身份证号,手机号码,性别,出生日期,诊断\n");
    synth_init(&g, seed);
    for (unsigned i = 0; i < rows; i++) {
        synth_person_next(&g, &p);
        buf_addf(&b, "%s,%s,%s,%s,%s\n", p.id_number, p.phone, p.gender, p.birth_date, p.diagnosis);
    }
    return buf_detach(&b, NULL);
}

static json_t *privacy_report(struct fixture *f, const char *rid)
{
    json_t *rep = NULL;

    if (store_privacy_report_get(f->s, rid, &rep, NULL))
        return NULL;
    return rep;
}

/* The report is written with the ingest's completion, in its transaction: an ingest
 * failed at any store write leaves the previous report (and no ledger entry); an
 * override's report and ledger entry go together too. */
static void test_privacy_report_atomic(void **state)
{
    struct fixture *f = *state;
    struct err err = ERR_INIT;
    char rid[UUID_STR_LEN], path[256], num[16], db[128];
    char *csv = people(40, 1), *next;
    uint64_t prev_rows = 40;
    json_t *rep, *report = NULL, *v, *entries, *p;
    struct actor appr;
    struct store *s2 = NULL;
    struct catalog c2;
    uint64_t rows;
    int ret = -1, n;

    xsnprintf(db, sizeof(db), "%s/kaifang.db", f->dir);
    upload(f, f->private_id, "people.csv", csv, strlen(csv), rid);
    assert_int_equal(ingest(f, &f->editor, rid, NULL, &report, &err), 0);
    json_decref(report);
    rep = privacy_report(f, rid);
    assert_non_null(rep);
    assert_string_equal(sget(rep, "publisher"), "ed");
    assert_int_equal(json_integer_value(json_object_get(rep, "rows")), 40);
    assert_string_equal(
            json_string_value(json_array_get(json_object_get(rep, "direct_identifiers"), 0)),
            "身份证号");
    assert_true(json_is_integer(json_object_get(rep, "k")));
    v = catalog_privacy_gate(rep, 5);
    assert_true(catalog_privacy_blocked(v));
    json_decref(v);
    /* never a raw value: the first ID number and phone of the file are not in it */
    {
        char *dumped = json_dumps(rep, 0), first[64];

        xsnprintf(first, sizeof(first), "%.18s", strchr(csv, '\n') + 1);
        assert_null(strstr(dumped, first));
        xsnprintf(first, sizeof(first), "%.11s", strchr(csv, '\n') + 20);
        assert_null(strstr(dumped, first));
        free(dumped);
    }
    json_decref(rep);
    json_decref(ledger_new(f));

    for (n = 1; n < 40 && ret; n++) {
        json_t *now;

        next = people(40 + (unsigned)n, (uint64_t)n + 100);
        xsnprintf(path, sizeof(path), "%s/people-%d.csv", f->dir, n);
        write_file(path, next, strlen(next));
        free(next);
        xsnprintf(num, sizeof(num), "%d", n);
        setenv("KAIFANG_FAIL_STORE_AT", num, 1);
        assert_int_equal(store_open(&s2, db, false, &err), 0);
        unsetenv("KAIFANG_FAIL_STORE_AT");
        store_fail_count_reset();
        catalog_init(&c2, s2, f->files, "http://portal.test");
        {
            struct datastore_ingest_request r;

            memset(&r, 0, sizeof(r));
            r.resource_id = rid;
            r.path = path;
            r.opts = (struct ingest_options)INGEST_OPTIONS_INIT;
            err_clear(&err);
            ret = datastore_ingest(&c2, &f->editor, &r, NULL, &err);
        }
        catalog_release(&c2);
        store_free(s2);
        s2 = NULL;
        rep = privacy_report(f, rid);
        now = status_of(f, rid);
        entries = ledger_new(f);
        rows = (uint64_t)json_integer_value(json_object_get(rep, "rows"));
        if (ret) {
            /* the previous file's report stays, and no entry was written */
            assert_int_equal(rows, prev_rows);
            assert_int_equal(json_array_size(entries), 0);
        } else {
            assert_int_equal(rows, 40 + (uint64_t)n);
            assert_int_equal(json_array_size(entries), 1);
            assert_string_equal(sget(json_array_get(entries, 0), "type"), "datastore_ingest");
            assert_string_equal(sget(now, "status"), "complete");
        }
        json_decref(entries);
        json_decref(now);
        json_decref(rep);
    }
    assert_int_equal(ret, 0);

    /* An override: an approver of the organization, not the publisher ("ed"). */
    assert_int_equal(access_user_add(f->s, "appr", NULL, NULL, false, NULL, &err), 0);
    assert_int_equal(access_member_set(f->s, "stats", "appr", "admin", &err), 0);
    assert_int_equal(access_role_set_as(f->s, &f->root, "appr", "approver", "stats", true, &err),
                     0);
    load_actor(f, "appr", &appr);
    json_decref(ledger_new(f));
    p = json_pack("{s:s,s:s}", "resource_id", rid, "justification", "test records");
    ret = -1;
    for (n = 1; n < 20 && ret; n++) {
        json_t *res = NULL;

        xsnprintf(num, sizeof(num), "%d", n);
        setenv("KAIFANG_FAIL_STORE_AT", num, 1);
        assert_int_equal(store_open(&s2, db, false, &err), 0);
        unsetenv("KAIFANG_FAIL_STORE_AT");
        store_fail_count_reset();
        catalog_init(&c2, s2, f->files, "http://portal.test");
        err_clear(&err);
        ret = catalog_privacy_override(&c2, &appr, p, &res, &err);
        catalog_release(&c2);
        store_free(s2);
        s2 = NULL;
        rep = privacy_report(f, rid);
        entries = ledger_new(f);
        if (ret) {
            assert_int_equal(ret, -ERR_INTERNAL);
            assert_null(json_object_get(rep, "override"));
            assert_int_equal(json_array_size(entries), 0);
        } else {
            assert_string_equal(sget(json_object_get(rep, "override"), "user"), "appr");
            assert_int_equal(json_array_size(entries), 1);
            assert_string_equal(sget(json_array_get(entries, 0), "type"), "privacy_override");
            assert_string_equal(sget(json_object_get(res, "gate"), "status"), "overridden");
        }
        json_decref(res);
        json_decref(rep);
        json_decref(entries);
    }
    assert_int_equal(ret, 0);
    /* The publisher may not override their own table, whatever their role. */
    assert_int_equal(access_role_set_as(f->s, &f->root, "ed", "approver", "stats", true, &err), 0);
    actor_release(&appr);
    load_actor(f, "ed", &appr);
    err_clear(&err);
    assert_int_equal(catalog_privacy_override(&f->c, &appr, p, &v, &err), -ERR_AUTH);
    assert_non_null(strstr(err.msg, "own request"));
    actor_release(&appr);
    json_decref(p);
    free(csv);
}

static void test_fields_override(void **state)
{
    struct fixture *f = *state;
    struct err err = ERR_INIT;
    char rid[UUID_STR_LEN];
    json_t *report = NULL, *fields, *st;
    struct store_ds_info info = {0};

    upload(f, "tables", "o.csv", sample_csv, strlen(sample_csv), rid);
    fields =
            parse("[{\"id\": \"amount\", \"type\": \"text\", \"info\": {\"label\": \"Amount "
                  "(USD)\", \"notes\": \"as published\"}}, {\"id\": \"day\", \"type\": \"text\"}]");
    assert_int_equal(ingest(f, &f->root, rid, fields, &report, &err), 0);
    assert_string_equal(field_type(json_object_get(report, "fields"), "amount"), "text");
    assert_string_equal(field_type(json_object_get(report, "fields"), "day"), "text");
    assert_string_equal(field_type(json_object_get(report, "fields"), "code"), "text");
    json_decref(report);
    json_decref(fields);
    assert_int_equal(store_ds_info(f->s, rid, &info, &err), 0);
    assert_string_equal(
            sget(json_object_get(json_object_get(info.meta, "fields_info"), "amount"), "notes"),
            "as published");
    assert_string_equal(
            sget(json_object_get(json_object_get(info.meta, "fields_info"), "amount"), "label"),
            "Amount (USD)");
    store_ds_info_release(&info);

    /* An id that is not a column, a type that is not one. */
    fields = parse("[{\"id\": \"nope\", \"type\": \"text\"}]");
    err_clear(&err);
    assert_int_equal(ingest(f, &f->root, rid, fields, NULL, &err), -ERR_VALIDATION);
    assert_string_equal(err.field, "fields");
    assert_non_null(strstr(err.msg, "\"nope\""));
    json_decref(fields);
    fields = parse("[{\"id\": \"amount\", \"type\": \"money\"}]");
    err_clear(&err);
    assert_int_equal(ingest(f, &f->root, rid, fields, NULL, &err), -ERR_VALIDATION);
    json_decref(fields);

    /* A type the values do not fit: the line and column of the first that does not. */
    fields = parse("[{\"id\": \"name\", \"type\": \"int8\"}]");
    err_clear(&err);
    assert_int_equal(ingest(f, &f->root, rid, fields, &report, &err), -ERR_VALIDATION);
    assert_int_equal(json_integer_value(json_object_get(report, "line")), 2);
    assert_int_equal(json_integer_value(json_object_get(report, "column")), 2);
    json_decref(report);
    json_decref(fields);
    st = status_of(f, rid);
    assert_int_equal(json_integer_value(json_object_get(json_object_get(st, "error"), "column")),
                     2);
    json_decref(st);
    /* The table of the last good ingest still serves. */
    assert_int_equal(table_rows(f, rid), 3);
}

static void test_retype(void **state)
{
    struct fixture *f = *state;
    struct err err = ERR_INIT;
    char rid[UUID_STR_LEN];
    struct store_ds_info info = {0};
    json_t *fields, *st;

    upload(f, "tables", "t.csv", "n,when\n1,2024-01-01\n2,2024-01-02\n", 33, rid);
    assert_int_equal(ingest(f, &f->root, rid, NULL, NULL, &err), 0);
    assert_int_equal(store_ds_info(f->s, rid, &info, &err), 0);
    assert_string_equal(field_type(info.fields, "n"), "int8");
    store_ds_info_release(&info);

    fields = parse("[{\"id\": \"n\", \"type\": \"numeric\"}, {\"id\": \"when\", \"type\": "
                   "\"text\"}]");
    assert_int_equal(ds_retype(&f->c, &f->editor, rid, fields, &err), 0);
    json_decref(fields);
    assert_int_equal(store_ds_info(f->s, rid, &info, &err), 0);
    assert_string_equal(field_type(info.fields, "n"), "numeric");
    assert_string_equal(field_type(info.fields, "when"), "text");
    assert_int_equal(info.rows, 2);
    store_ds_info_release(&info);
    st = status_of(f, rid);
    assert_string_equal(sget(st, "trigger"), "retype");
    assert_int_equal(json_array_size(json_object_get(json_object_get(st, "options"), "fields")), 2);
    json_decref(st);

    /* Not the outsider's to change. */
    fields = parse("[{\"id\": \"n\", \"type\": \"text\"}]");
    err_clear(&err);
    assert_int_equal(ds_retype(&f->c, &f->outsider, rid, fields, &err), -ERR_AUTH);
    json_decref(fields);
}

static void test_resource_deleted(void **state)
{
    struct fixture *f = *state;
    struct err err = ERR_INIT;
    char rid[UUID_STR_LEN];
    json_t *st = NULL, *result = NULL, *params;
    struct store_ds_info info = {0};

    upload(f, "tables", "d.csv", "a\n1\n", 4, rid);
    assert_int_equal(ingest(f, &f->root, rid, NULL, NULL, &err), 0);
    params = json_pack("{s:s}", "id", rid);
    assert_int_equal(catalog_resource_delete(&f->c, &f->root, params, &result, &err), 0);
    json_decref(params);
    json_decref(result);
    assert_int_equal(datastore_resource_deleted(&f->c, rid, &err), 0);
    assert_int_equal(store_ds_info(f->s, rid, &info, NULL), -ERR_NOT_FOUND);
    assert_int_equal(store_ds_status_get(f->s, rid, &st, NULL), -ERR_NOT_FOUND);
    /* Again, and for a resource that never had a table: nothing to do. */
    assert_int_equal(datastore_resource_deleted(&f->c, rid, &err), 0);
    /* catalog_resource_datastore on a resource that is gone. */
    err_clear(&err);
    assert_int_equal(catalog_resource_datastore(&f->c, &f->root, rid, true, "complete", NULL, &err),
                     -ERR_NOT_FOUND);
}

/* Polls the status of rid until it is want (the worker runs in its own thread). */
static bool wait_status(struct fixture *f, const char *rid, const char *want)
{
    for (int i = 0; i < 6000; i++) {
        json_t *st = NULL;
        bool yes = !store_ds_status_get(f->s, rid, &st, NULL) && str_eq(sget(st, "status"), want);

        json_decref(st);
        if (yes)
            return true;
        usleep(10000);
    }
    return false;
}

/* A CSV of n rows: id,code,amount. */
static char *big_csv(size_t n, size_t *len)
{
    struct buf b = BUF_INIT;

    buf_addstr(&b, "id,code,amount\n");
    for (size_t i = 0; i < n; i++)
        buf_addf(&b, "%zu,%05zu,%zu.%02zu\n", i, i % 100000, i, i % 100);
    return buf_detach(&b, len);
}

/* Whether dir holds a file whose name contains part. */
static bool dir_has(const char *dir, const char *part)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    bool found = false;

    while (d && (e = readdir(d)))
        found = found || strstr(e->d_name, part);
    if (d)
        closedir(d);
    return found;
}

static void test_worker(void **state)
{
    struct fixture *f = *state;
    struct err err = ERR_INIT;
    char rid[UUID_STR_LEN], big[UUID_STR_LEN], *ddir;
    struct datastore *d;
    size_t len;
    char *csv = big_csv(200000, &len);
    json_t *st, *res;

    upload(f, "tables", "w.csv", "a,b\n1,x\n2,y\n", 12, rid);
    upload(f, "tables", "big.csv", csv, len, big);
    free(csv);
    d = datastore_new(&f->c);
    assert_ptr_equal(f->c.datastore, d);
    assert_int_equal(datastore_start_worker(d, &err), 0);

    /* Queued: pending at once, complete once the worker is done. */
    assert_int_equal(datastore_ingest_enqueue(d, &f->editor, rid, &err), 0);
    datastore_ingest_wait(d);
    st = status_of(f, rid);
    assert_string_equal(sget(st, "status"), "complete");
    assert_string_equal(sget(st, "user"), "ed");
    assert_string_equal(sget(st, "trigger"), "upload");
    json_decref(st);
    assert_int_equal(table_rows(f, rid), 2);
    res = resource(f, rid);
    assert_true(json_is_true(json_object_get(res, "datastore_active")));
    json_decref(res);
    err_clear(&err);
    assert_int_equal(datastore_ingest_enqueue(d, &f->anon, rid, &err), -ERR_AUTH);

    /* Stopping mid-ingest: abandoned between rows, left pending, nothing built left. */
    assert_int_equal(datastore_ingest_enqueue(d, &f->root, big, &err), 0);
    assert_true(wait_status(f, big, "running"));
    datastore_free(d);
    assert_null(f->c.datastore);
    st = status_of(f, big);
    if (!str_eq(sget(st, "status"), "pending") && !str_eq(sget(st, "status"), "complete"))
        fail_msg("status after the stop: %s", sget(st, "status"));
    json_decref(st);
    ddir = xstrfmt("%s/datastore", f->dir);
    assert_false(dir_has(ddir, ".build-"));

    /* A new worker queues it again and finishes it. */
    d = datastore_new(&f->c);
    assert_int_equal(datastore_start_worker(d, &err), 0);
    assert_true(wait_status(f, big, "complete"));
    datastore_ingest_wait(d);
    assert_int_equal(table_rows(f, big), 200000);
    assert_false(dir_has(ddir, ".build-"));
    free(ddir);

    /* A request queued while an ingest of the same resource runs is not lost when that
     * ingest ends: it runs next, with its own options. */
    assert_int_equal(datastore_ingest_enqueue(d, &f->root, big, &err), 0);
    assert_true(wait_status(f, big, "running"));
    {
        char params[160];
        json_t *p, *result = NULL;

        xsnprintf(params, sizeof(params),
                  "{\"resource_id\": \"%s\", \"fields\": [{\"id\": \"amount\", \"type\": "
                  "\"text\"}]}",
                  big);
        p = parse(params);
        assert_int_equal(datastore_xloader_submit(&f->c, &f->editor, p, &result, &err), 0);
        json_decref(result);
        json_decref(p);
    }
    datastore_ingest_wait(d);
    st = status_of(f, big);
    assert_string_equal(sget(st, "status"), "complete");
    assert_string_equal(sget(st, "trigger"), "submit");
    assert_string_equal(
            field_type(json_object_get(json_object_get(st, "report"), "fields"), "amount"), "text");
    json_decref(st);

    /* xloader_submit queues with options; xloader_status shows them and the report. */
    {
        char params[256];
        json_t *p, *result = NULL;

        xsnprintf(params, sizeof(params),
                  "{\"resource_id\": \"%s\", \"delimiter\": \",\", \"skip_rows\": 0, "
                  "\"fields\": [{\"id\": \"a\", \"type\": \"text\"}]}",
                  rid);
        p = parse(params);
        assert_int_equal(datastore_xloader_submit(&f->c, &f->editor, p, &result, &err), 0);
        assert_true(json_is_true(result));
        json_decref(result);
        datastore_ingest_wait(d);
        assert_int_equal(datastore_xloader_status(&f->c, &f->anon, p, &result, &err), 0);
        assert_string_equal(sget(result, "status"), "complete");
        assert_true(json_is_null(json_object_get(result, "error")));
        assert_string_equal(sget(json_object_get(result, "task_info"), "trigger"), "submit");
        assert_string_equal(
                field_type(json_object_get(json_object_get(result, "report"), "fields"), "a"),
                "text");
        json_decref(result);
        json_decref(p);
        /* Refused: a type that is not one, an unknown parameter, an outsider. */
        p = parse("{\"resource_id\": \"x\", \"colour\": \"red\"}");
        err_clear(&err);
        assert_int_equal(datastore_xloader_submit(&f->c, &f->editor, p, &result, &err),
                         -ERR_VALIDATION);
        assert_string_equal(err.field, "colour");
        json_decref(p);
        xsnprintf(params, sizeof(params),
                  "{\"resource_id\": \"%s\", \"fields\": [{\"id\": \"a\", \"type\": \"x\"}]}", rid);
        p = parse(params);
        err_clear(&err);
        assert_int_equal(datastore_xloader_submit(&f->c, &f->editor, p, &result, &err),
                         -ERR_VALIDATION);
        err_clear(&err);
        assert_int_equal(datastore_xloader_submit(&f->c, &f->outsider, p, &result, &err),
                         -ERR_AUTH);
        json_decref(p);
    }
}

static void test_xloader_sync_and_unknown(void **state)
{
    struct fixture *f = *state;
    struct err err = ERR_INIT;
    char rid[UUID_STR_LEN], params[160];
    json_t *p, *result = NULL;

    upload(f, "tables", "x.csv", "a;b\n1;2\n", 8, rid);
    xsnprintf(params, sizeof(params), "{\"resource_id\": \"%s\"}", rid);
    p = parse(params);
    assert_int_equal(datastore_xloader_status(&f->c, &f->anon, p, &result, &err), 0);
    assert_string_equal(sget(result, "status"), "unknown");
    json_decref(result);
    /* Without a worker (the command line) it ingests at once. */
    assert_int_equal(datastore_xloader_submit(&f->c, &f->root, p, &result, &err), 0);
    json_decref(result);
    assert_int_equal(table_rows(f, rid), 1);
    assert_int_equal(datastore_xloader_status(&f->c, &f->anon, p, &result, &err), 0);
    assert_string_equal(sget(result, "status"), "complete");
    assert_string_equal(sget(json_object_get(result, "report"), "delimiter"), ";");
    json_decref(result);
    json_decref(p);
}

/* A status left "running" by a killed server is queued again at start. */
static void test_requeue(void **state)
{
    struct fixture *f = *state;
    struct err err = ERR_INIT;
    char rid[UUID_STR_LEN];
    struct datastore *d;
    json_t *st;

    upload(f, "tables", "q.csv", "a\n1\n2\n3\n", 8, rid);
    st = json_pack("{s:s,s:s,s:s,s:{}}", "status", "running", "user", "ed", "trigger", "upload",
                   "options");
    assert_int_equal(ds_status_set(&f->c, &f->root, rid, st, &err), 0);
    d = datastore_new(&f->c);
    assert_int_equal(datastore_start_worker(d, &err), 0);
    assert_true(wait_status(f, rid, "complete"));
    datastore_ingest_wait(d);
    assert_int_equal(table_rows(f, rid), 3);
    st = status_of(f, rid);
    assert_string_equal(sget(st, "user"), "ed");
    json_decref(st);
}

static void test_dump_text(void **state)
{
    struct fixture *f = *state;
    struct err err = ERR_INIT;
    char rid[UUID_STR_LEN];
    char *out;
    size_t len;

    upload(f, "tables", "dump.csv", sample_csv, strlen(sample_csv), rid);
    assert_int_equal(ingest(f, &f->root, rid, NULL, NULL, &err), 0);

    out = dump_all(f, &f->anon, rid, "{}", &len);
    assert_string_equal(out, "_id,code,name,amount,day\r\n"
                             "1,007,\"Smith, J.\",315.70,2024-01-31\r\n"
                             "2,010,\"say \"\"hi\"\"\",.097,2024-02-29\r\n"
                             "3,123,plain,-1e-3,\r\n");
    free(out);
    out = dump_all(f, &f->anon, rid, "{\"format\": \"tsv\", \"bom\": \"true\"}", &len);
    assert_string_equal(out, "\xef\xbb\xbf_id\tcode\tname\tamount\tday\r\n"
                             "1\t007\tSmith, J.\t315.70\t2024-01-31\r\n"
                             "2\t010\t\"say \"\"hi\"\"\"\t.097\t2024-02-29\r\n"
                             "3\t123\tplain\t-1e-3\t\r\n");
    free(out);
    out = dump_all(f, &f->anon, rid, "{\"format\": \"json\"}", &len);
    {
        json_error_t je;
        json_t *doc = json_loads(out, 0, &je), *rec;

        if (!doc)
            fail_msg("dump is not JSON: %s: %s", je.text, out);
        assert_string_equal(sget(json_array_get(json_object_get(doc, "fields"), 3), "type"),
                            "numeric");
        rec = json_object_get(doc, "records");
        assert_int_equal(json_array_size(rec), 3);
        assert_int_equal(json_integer_value(json_array_get(json_array_get(rec, 0), 0)), 1);
        assert_string_equal(json_string_value(json_array_get(json_array_get(rec, 0), 1)), "007");
        assert_true(json_is_null(json_array_get(json_array_get(rec, 2), 4)));
        json_decref(doc);
        /* Numbers as their stored text, in JSON's spelling. */
        assert_non_null(strstr(out, ", 315.70, "));
        assert_non_null(strstr(out, ", 0.097, "));
        assert_non_null(strstr(out, ", -1e-3, "));
    }
    free(out);
}

static void test_dump_xlsx_and_errors(void **state)
{
    struct fixture *f = *state;
    struct err err = ERR_INIT;
    char rid[UUID_STR_LEN], priv[UUID_STR_LEN];
    struct datastore_dump *d = NULL;
    json_t *p;
    char *out;
    size_t len;

    upload(f, "tables", "x.csv", sample_csv, strlen(sample_csv), rid);
    assert_int_equal(ingest(f, &f->root, rid, NULL, NULL, &err), 0);
    out = dump_all(f, &f->anon, rid, "{\"format\": \"xlsx\"}", &len);
    assert_true(len > 1000);
    assert_memory_equal(out, "PK\x03\x04", 4);
    free(out);
    assert_false(dir_has(f->files, "dump-")); /* the temporary workbook is gone */
    {
        char tmp[160];

        xsnprintf(tmp, sizeof(tmp), "%s/tmp", f->files);
        assert_false(dir_has(tmp, "dump-"));
    }

    p = parse("{\"format\": \"xlsx\"}");
    assert_int_equal(datastore_dump_open(&f->c, &f->anon, rid, p, &d, &err), 0);
    assert_string_equal(datastore_dump_content_type(d),
                        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet");
    {
        char *want = xstrfmt("%s.xlsx", rid);

        assert_string_equal(datastore_dump_filename(d), want);
        free(want);
    }
    datastore_dump_free(d); /* never read: no workbook written */
    json_decref(p);

    p = parse("{\"format\": \"pdf\"}");
    assert_int_equal(datastore_dump_open(&f->c, &f->anon, rid, p, &d, &err), -ERR_VALIDATION);
    assert_string_equal(err.field, "format");
    json_decref(p);

    upload(f, "secret-tables", "p.csv", "a\n1\n", 4, priv);
    err_clear(&err);
    assert_int_equal(ingest(f, &f->root, priv, NULL, NULL, &err), 0);
    p = parse("{}");
    assert_int_equal(datastore_dump_open(&f->c, &f->anon, priv, p, &d, &err), -ERR_NOT_FOUND);
    err_clear(&err);
    assert_int_equal(datastore_dump_open(&f->c, &f->outsider, priv, p, &d, &err), -ERR_NOT_FOUND);
    err_clear(&err);
    assert_int_equal(datastore_dump_open(&f->c, &f->editor, priv, p, &d, &err), 0);
    datastore_dump_free(d);
    json_decref(p);
}

static void test_table_schema(void **state)
{
    struct fixture *f = *state;
    struct err err = ERR_INIT;
    char rid[UUID_STR_LEN];
    json_t *schema = NULL, *fields, *fo;

    upload(f, "tables", "s.csv", sample_csv, strlen(sample_csv), rid);
    fo = parse("[{\"id\": \"amount\", \"info\": {\"label\": \"Amount\", \"notes\": \"USD\"}}]");
    assert_int_equal(ingest(f, &f->root, rid, fo, NULL, &err), 0);
    json_decref(fo);
    assert_int_equal(datastore_table_schema(&f->c, rid, &schema, &err), 0);
    fields = json_object_get(schema, "fields");
    assert_int_equal(json_array_size(fields), 4);
    assert_string_equal(sget(json_array_get(fields, 0), "name"), "code");
    assert_string_equal(sget(json_array_get(fields, 0), "type"), "string");
    assert_string_equal(sget(json_array_get(fields, 2), "type"), "number");
    assert_string_equal(sget(json_array_get(fields, 2), "title"), "Amount");
    assert_string_equal(sget(json_array_get(fields, 2), "description"), "USD");
    assert_string_equal(sget(json_array_get(fields, 3), "type"), "date");
    assert_string_equal(
            json_string_value(json_array_get(json_object_get(schema, "missingValues"), 0)), "");
    json_decref(schema);
    err_clear(&err);
    assert_int_equal(datastore_table_schema(&f->c, "none", &schema, &err), -ERR_NOT_FOUND);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_ingestible),
            cmocka_unit_test(test_options_parse),
            cmocka_unit_test_setup_teardown(test_ingest_upload, setup, teardown),
            cmocka_unit_test_setup_teardown(test_ingest_private_ledger, setup, teardown),
            cmocka_unit_test_setup_teardown(test_ingest_auth, setup, teardown),
            cmocka_unit_test_setup_teardown(test_ingest_failure_keeps_table, setup, teardown),
            cmocka_unit_test_setup_teardown(test_privacy_report_atomic, setup, teardown),
            cmocka_unit_test_setup_teardown(test_fields_override, setup, teardown),
            cmocka_unit_test_setup_teardown(test_retype, setup, teardown),
            cmocka_unit_test_setup_teardown(test_resource_deleted, setup, teardown),
            cmocka_unit_test_setup_teardown(test_worker, setup, teardown),
            cmocka_unit_test_setup_teardown(test_xloader_sync_and_unknown, setup, teardown),
            cmocka_unit_test_setup_teardown(test_requeue, setup, teardown),
            cmocka_unit_test_setup_teardown(test_dump_text, setup, teardown),
            cmocka_unit_test_setup_teardown(test_dump_xlsx_and_errors, setup, teardown),
            cmocka_unit_test_setup_teardown(test_table_schema, setup, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
