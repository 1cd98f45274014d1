/*
 * ingest.c - a resource's file into its datastore table (datastore_ingest), the status
 * record of each ingest, re-typing (ds_retype), and ckanext-xloader's actions
 * (xloader_submit, xloader_status).
 *
 * An ingest: authorise (the actor must be able to change the resource), status
 * "running", type the file (ingest_table_open: both passes of src/ingest/), build the
 * new table aside (store_ds_build_*), then one catalog transaction: status "complete",
 * datastore_active true and the "datastore_ingest" ledger entry. Any failure aborts the
 * build, so the previous table keeps serving, and records the status "error" with the
 * message and the place (line, column). docs/internals/datastore.md, "Ingest and dumps".
 */
#include <fcntl.h>
#include <jansson.h>
#include <stdatomic.h>

#include "core/limits.h"
#include "core/log.h"
#include "core/parse.h"
#include "core/timeutil.h"
#include "crypto/digest.h"
#include "datastore/datastore-int.h"
#include "privacy/detect.h"
#include "store/store-datastore.h"
#include "core/util.h"

#define HASH_CHUNK (256u * 1024)

/* The largest skip_rows accepted (rows above a header; a sheet has at most 1,048,576). */
#define SKIP_ROWS_MAX 1048576

/* ---- What can be ingested --------------------------------------------------------- */

bool datastore_ingestible(const json_t *resource)
{
    const char *format = json_string_value(json_object_get(resource, "format"));
    const char *url = json_string_value(json_object_get(resource, "url"));
    enum ingest_format f;

    if (!str_eq(json_string_value(json_object_get(resource, "url_type")), "upload"))
        return false;
    if (format && *format)
        return ingest_format_parse(format, &f);
    /* No format: the file name's extension, but not ".txt", which names any text. */
    if (!url)
        return false;
    f = ingest_format_from_name(url);
    return f != INGEST_FORMAT_AUTO && !(f == INGEST_FORMAT_CSV && strlen(url) >= 4 &&
                                        !strcasecmp(url + strlen(url) - 4, ".txt"));
}

/* ---- Options ---------------------------------------------------------------------- */

static int opt_str(const json_t *opts, const char *key, const char **out, struct err *err)
{
    json_t *v = json_object_get(opts, key);

    *out = NULL;
    if (!v || json_is_null(v))
        return 0;
    if (!json_is_string(v))
        return err_set(err, ERR_VALIDATION, key, "\"%s\" must be a string", key);
    if (json_string_length(v) > 255)
        return err_set(err, ERR_VALIDATION, key, "\"%s\" is longer than 255 bytes", key);
    *out = json_string_value(v);
    if (!**out)
        *out = NULL;
    return 0;
}

int ds_options_parse(const json_t *opts, struct ingest_options *o, const json_t **fields,
                     struct err *err)
{
    struct ingest_options def = INGEST_OPTIONS_INIT;
    const char *s;
    json_t *v;
    int ret;

    *o = def;
    if (fields)
        *fields = NULL;
    if (!opts || json_is_null(opts))
        return 0;
    if (!json_is_object(opts))
        return err_set(err, ERR_VALIDATION, "options", "the ingest options must be an object");
    ret = opt_str(opts, "format", &s, err);
    if (ret)
        return ret;
    if (s && !ingest_format_parse(s, &o->format) && strcasecmp(s, "auto"))
        return err_set(err, ERR_VALIDATION, "format",
                       "format \"%s\" is not one Kaifang ingests (csv, tsv, json, ndjson, xlsx, "
                       "xls)",
                       s);
    ret = opt_str(opts, "encoding", &o->encoding, err);
    if (ret)
        return ret;
    if (o->encoding && !ingest_encoding_known(o->encoding))
        return err_set(err, ERR_VALIDATION, "encoding",
                       "unknown encoding \"%s\" (an iconv name, such as GB18030, BIG5, "
                       "WINDOWS-1252 or UTF-16)",
                       o->encoding);
    ret = opt_str(opts, "delimiter", &s, err);
    if (ret)
        return ret;
    if (s) {
        if (!strcasecmp(s, "tab") || !strcmp(s, "\\t"))
            o->delimiter = '\t';
        else if (strlen(s) == 1 && strchr(",;\t|", s[0]))
            o->delimiter = s[0];
        else
            return err_set(err, ERR_VALIDATION, "delimiter",
                           "delimiter \"%s\" is not one of \",\", \";\", \"|\" or \"tab\"", s);
    }
    ret = opt_str(opts, "sheet", &o->sheet, err);
    if (ret)
        return ret;
    v = json_object_get(opts, "skip_rows");
    if (v && !json_is_null(v)) {
        int64_t n;

        if (json_is_integer(v))
            n = json_integer_value(v);
        else if (!json_is_string(v) || parse_i64(json_string_value(v), -1, SKIP_ROWS_MAX, &n))
            return err_set(err, ERR_VALIDATION, "skip_rows",
                           "\"skip_rows\" must be an integer between -1 and %d", SKIP_ROWS_MAX);
        if (n < -1 || n > SKIP_ROWS_MAX)
            return err_set(err, ERR_VALIDATION, "skip_rows",
                           "\"skip_rows\" must be an integer between -1 and %d", SKIP_ROWS_MAX);
        o->skip_rows = (int)n;
    }
    v = json_object_get(opts, "lenient");
    if (v && !json_is_null(v)) {
        if (json_is_boolean(v))
            o->lenient = json_is_true(v);
        else if (!json_is_string(v) || parse_bool(json_string_value(v), &o->lenient))
            return err_set(err, ERR_VALIDATION, "lenient", "\"lenient\" must be a boolean");
    }
    ret = opt_str(opts, "records_path", &o->records_path, err);
    if (ret)
        return ret;
    v = json_object_get(opts, "fields");
    if (v && !json_is_null(v)) {
        if (!json_is_array(v))
            return err_set(err, ERR_VALIDATION, "fields",
                           "\"fields\" must be a list of {\"id\", \"type\"} objects");
        if (fields)
            *fields = v;
    }
    return 0;
}

/* The options of a request as the status record keeps them (what ds_options_parse
 * reads back). New reference. */
static json_t *options_json(const struct ingest_options *o, const json_t *fields)
{
    json_t *j = json_object();
    char d[2] = {o->delimiter, 0};

    if (o->format != INGEST_FORMAT_AUTO)
        json_object_set_new(j, "format", json_string(ingest_format_name(o->format)));
    if (o->encoding)
        json_object_set_new(j, "encoding", json_string(o->encoding));
    if (o->delimiter)
        json_object_set_new(j, "delimiter", json_string(o->delimiter == '\t' ? "tab" : d));
    if (o->sheet)
        json_object_set_new(j, "sheet", json_string(o->sheet));
    if (o->skip_rows != -1)
        json_object_set_new(j, "skip_rows", json_integer(o->skip_rows));
    if (o->lenient)
        json_object_set_new(j, "lenient", json_true());
    if (o->records_path)
        json_object_set_new(j, "records_path", json_string(o->records_path));
    if (fields)
        json_object_set_new(j, "fields", json_deep_copy(fields));
    return j;
}

/* ---- Status records --------------------------------------------------------------- */

/* Whether the resource shows a datastore table now (to keep datastore_active as it is
 * when only the status changes). */
static bool resource_active(struct catalog *c, const char *resource_id)
{
    char did[UUID_STR_LEN];
    json_t *doc = NULL, *r;
    bool active = false;
    size_t i;

    if (store_resource_dataset(c->store, resource_id, did, sizeof(did), NULL) ||
        store_dataset_get(c->store, did, &doc, NULL))
        return false;
    json_array_foreach (json_object_get(doc, "resources"), i, r) {
        if (str_eq(json_string_value(json_object_get(r, "id")), resource_id))
            active = json_is_true(json_object_get(r, "datastore_active"));
    }
    json_decref(doc);
    return active;
}

int ds_status_set(struct catalog *c, const struct actor *a, const char *resource_id, json_t *status,
                  struct err *err)
{
    int ret;

    ret = store_begin(c->store, err);
    if (ret)
        goto out;
    ret = store_ds_status_put(c->store, resource_id, status, err);
    if (!ret)
        ret = catalog_resource_datastore(c, a, resource_id, resource_active(c, resource_id),
                                         json_string_value(json_object_get(status, "status")), NULL,
                                         err);
    if (!ret)
        ret = store_commit(c->store, err);
    if (ret)
        store_rollback(c->store);
out:
    json_decref(status);
    return ret;
}

/*
 * Records how an ingest ended (status "complete" or "error", or "pending" when it was
 * abandoned; stolen) in one transaction, with the resource's datastore fields (active:
 * the table is there) and, for a complete one, the ledger entry (borrowed, may be NULL).
 * A request queued while the ingest ran (an upload of a newer file, xloader_submit with
 * other options) left the status "pending" with its own options: that record stays, for
 * the worker to run, with only this ingest's report put in it.
 */
static int status_settle(struct catalog *c, const struct actor *a, const char *resource_id,
                         json_t *status, bool active, json_t *entry, json_t *privacy,
                         struct err *err)
{
    json_t *cur = NULL;
    int ret;

    ret = store_begin(c->store, err);
    if (ret)
        goto out;
    if (!store_ds_status_get(c->store, resource_id, &cur, NULL) &&
        str_eq(json_string_value(json_object_get(cur, "status")), "pending")) {
        if (json_object_get(status, "report"))
            json_object_set(cur, "report", json_object_get(status, "report"));
        json_decref(status);
        status = cur;
        cur = NULL;
    }
    ret = store_ds_status_put(c->store, resource_id, status, err);
    if (!ret && privacy)
        ret = ds_privacy_store(c, resource_id, privacy, err);
    if (!ret)
        ret = catalog_resource_datastore(c, a, resource_id, active,
                                         json_string_value(json_object_get(status, "status")),
                                         entry, err);
    if (!ret)
        ret = store_commit(c->store, err);
    if (ret)
        store_rollback(c->store);
out:
    json_decref(cur);
    json_decref(status);
    return ret;
}

/* A status record after prev (may be NULL): its report kept. New reference. */
static json_t *status_make(const json_t *prev, const char *state, const char *user,
                           const json_t *options, const char *trigger)
{
    char now[TIME_ISO_MAX];
    const char *created = json_string_value(json_object_get(prev, "created"));
    const char *was = json_string_value(json_object_get(prev, "status"));
    json_t *s;

    /* created: when the job was asked for, kept while it is pending and running. */
    time_now_ckan(now);
    if (!created || (!str_eq(was, "pending") && !str_eq(was, "running")))
        created = now;
    s = json_pack("{s:s,s:s,s:O?,s:s,s:s,s:s,s:n}", "status", state, "user", user, "options",
                  (json_t *)options, "trigger", trigger, "created", created, "last_updated", now,
                  "error");
    BUG_ON(!s);
    if (json_object_get(prev, "report"))
        json_object_set(s, "report", json_object_get(prev, "report"));
    return s;
}

/* ---- Sources ---------------------------------------------------------------------- */

/* The SHA-256 of a file as lower-case hex. */
static int file_sha256(const char *path, char hex[SHA256_HEX_LEN], struct err *err)
{
    struct sha256_ctx ctx;
    uint8_t md[SHA256_LEN];
    char *buf = NULL;
    int fd, ret = 0;

    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return err_set(err, ERR_NOT_FOUND, "file", "cannot open \"%s\": %s", path, strerror(errno));
    buf = xmalloc(HASH_CHUNK);
    sha256_init(&ctx);
    for (;;) {
        ssize_t n = read(fd, buf, HASH_CHUNK);

        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            ret = err_set(err, ERR_INTERNAL, "file", "cannot read \"%s\": %s", path,
                          strerror(errno));
            sha256_release(&ctx);
            goto out;
        }
        if (!n)
            break;
        sha256_update(&ctx, buf, (size_t)n);
    }
    sha256_final(&ctx, md);
    hex_encode(md, SHA256_LEN, hex);
out:
    free(buf);
    close(fd);
    return ret;
}

static const char *base_name(const char *path)
{
    const char *slash = strrchr(path, '/');

    return slash ? slash + 1 : path;
}

/* ---- Fields: overrides and the data dictionary ------------------------------------ */

/*
 * Applies the request's fields ([{"id", "type"?, "info"?: {"label", "notes",
 * "privacy_class"}}]) to t and finfo ({id: {"label", "notes", "privacy_class"?}}). loose: ids that
 * are not columns of the file are skipped (types kept from an earlier ingest, applied to a new
 * file), else refused.
 */
static int fields_apply(struct ingest_table *t, const json_t *fields, bool loose, json_t *finfo,
                        struct err *err)
{
    const json_t *f;
    size_t i, k;
    int ret;

    json_array_foreach (fields, i, f) {
        const char *id = json_string_value(json_object_get(f, "id"));
        const char *type = json_string_value(json_object_get(f, "type"));
        json_t *info = json_object_get(f, "info"), *entry;
        enum dstype dt;

        if (!json_is_object(f) || !id)
            return err_set(err, ERR_VALIDATION, "fields",
                           "fields[%zu] must be an object with an \"id\"", i);
        for (k = 0; k < t->nfields; k++)
            if (!strcmp(t->fields[k].id, id))
                break;
        if (k == t->nfields) {
            if (loose)
                continue;
            return err_set(err, ERR_VALIDATION, "fields",
                           "field \"%s\" is not a column of the file", id);
        }
        if (json_object_get(f, "type") && !json_is_null(json_object_get(f, "type"))) {
            if (!type || !dstype_parse(type, &dt))
                return err_set(err, ERR_VALIDATION, "fields",
                               "field \"%s\": \"%s\" is not a type (text, int8, numeric, bool, "
                               "date, timestamp, json)",
                               id, type ? type : "?");
            ingest_table_set_type(t, k, dt);
        }
        if (json_is_object(info)) {
            entry = json_object_get(finfo, id);
            if (json_is_string(json_object_get(info, "label")))
                json_object_set(entry, "label", json_object_get(info, "label"));
            if (json_is_string(json_object_get(info, "notes")))
                json_object_set(entry, "notes", json_object_get(info, "notes"));
            ret = ds_privacy_class_check(id, json_object_get(info, "privacy_class"), err);
            if (ret)
                return ret;
            if (json_is_string(json_object_get(info, "privacy_class")))
                json_object_set(entry, "privacy_class", json_object_get(info, "privacy_class"));
        }
    }
    return 0;
}

/* The data dictionary to start from: each field's header text as its label, or the
 * label, notes and declared privacy class the previous table had for the same id (edited through
 * datastore_create), so that a new file keeps them. New reference. */
static json_t *fields_info_initial(struct catalog *c, const char *resource_id,
                                   const struct ingest_table *t)
{
    struct store_ds_info info = {0};
    json_t *finfo = json_object(), *old = NULL;

    if (!store_ds_info(c->store, resource_id, &info, NULL))
        old = json_object_get(info.meta, "fields_info");
    for (size_t i = 0; i < t->nfields; i++) {
        json_t *o = json_object_get(old, t->fields[i].id);
        json_t *label = json_object_get(o, "label"), *notes = json_object_get(o, "notes");
        json_t *pclass = json_object_get(o, "privacy_class");

        json_object_set_new(
                finfo, t->fields[i].id,
                json_pack("{s:s,s:s}", "label",
                          json_is_string(label) ? json_string_value(label) : t->fields[i].label,
                          "notes", json_is_string(notes) ? json_string_value(notes) : ""));
        /* A declared privacy class stays with its field id, as the label does. */
        if (json_is_string(pclass))
            json_object_set(json_object_get(finfo, t->fields[i].id), "privacy_class", pclass);
    }
    store_ds_info_release(&info);
    return finfo;
}

/* ---- The ingest ------------------------------------------------------------------- */

/* Seconds since start_us (time_mono_us), in whole microseconds: 15 significant digits
 * show the value exactly (xloader_status and `kaifang ingest --json` print it so). */
static double seconds_since(uint64_t start_us)
{
    return (double)(time_mono_us() - start_us) / 1e6;
}

static json_t *delimiter_json(const struct ingest_info *info)
{
    char d[2] = {info->delimiter, 0};

    if (info->format != INGEST_FORMAT_CSV && info->format != INGEST_FORMAT_TSV)
        return json_null();
    return json_string(d);
}

static bool is_sheet(enum ingest_format f)
{
    return f == INGEST_FORMAT_XLSX || f == INGEST_FORMAT_XLS;
}

struct run {
    struct catalog *c;
    const struct actor *a;
    const struct datastore_ingest_request *r;
    const char *trigger;
    json_t *prev;    /* the status record now ("running" once set), or NULL */
    json_t *options; /* what the status keeps */
};

/* Records a failed ingest: status "error" (or "pending" when it was abandoned), the
 * message and the place. */
static void run_failed(struct run *run, int ret, const struct err *why,
                       const struct ingest_pos *pos, bool cancelled)
{
    struct err err = ERR_INIT;
    json_t *s = status_make(run->prev, cancelled ? "pending" : "error", run->a->name, run->options,
                            run->trigger);

    (void)ret;
    if (!cancelled)
        json_object_set_new(s, "error",
                            json_pack("{s:s,s:I,s:I}", "message", why->msg[0] ? why->msg : "failed",
                                      "line", (json_int_t)pos->line, "column",
                                      (json_int_t)pos->column));
    if (status_settle(run->c, run->a, run->r->resource_id, s,
                      resource_active(run->c, run->r->resource_id), NULL, NULL, &err))
        log_error("datastore: cannot record the status of resource \"%s\": %s", run->r->resource_id,
                  err.msg);
}

int ds_ingest_run(struct catalog *c, const struct actor *a,
                  const struct datastore_ingest_request *r, const char *trigger, bool loose_fields,
                  const atomic_bool *cancel, json_t **report, struct err *err_out)
{
    struct err local = ERR_INIT, *err = err_out ? err_out : &local;
    struct run run = {c, a, r, trigger, NULL, NULL};
    struct resource_file file = {0};
    struct ingest_options o = r->opts;
    struct ingest_table *t = NULL;
    struct store_ds_build *b = NULL;
    struct store_ds_field *sf = NULL;
    struct store_ds_table_def def;
    struct ingest_pos pos = {0, 0};
    const struct ingest_info *info;
    json_t *res = NULL, *ds = NULL, *finfo = NULL, *fields = NULL, *meta = NULL, *rep = NULL;
    json_t *entry = NULL, *status = NULL, *privacy = NULL;
    struct detect_scan sc;
    const char **names = NULL;
    const char *path, *filename, *rformat;
    char sha[SHA256_HEX_LEN], fsha[SHA256_HEX_LEN], now[TIME_ISO_MAX];
    uint8_t md[SHA256_LEN];
    char *dumped = NULL;
    const struct dsvalue *values;
    uint64_t rows = 0, line = 0, t0 = time_mono_us(), t1 = 0, t2 = 0, t3 = 0;
    bool authorized = false, cancelled = false;
    double typing, loading;
    enum ingest_format guess;
    int ret;

    memset(&sc, 0, sizeof(sc));
    if (report)
        *report = NULL;
    if (!r->resource_id || !*r->resource_id) {
        ret = err_set(err, ERR_VALIDATION, "resource_id", "Missing value");
        goto out;
    }
    ret = catalog_resource_authorize(c, a, r->resource_id, true, &res, &ds, err);
    if (ret)
        goto out;
    /* A file given by path that cannot be read is the caller's mistake (a typo on the
     * command line), not the resource's: no status for it. */
    if (r->path) {
        ret = file_sha256(r->path, sha, err);
        if (ret)
            goto out;
    }
    authorized = true;
    if (store_ds_status_get(c->store, r->resource_id, &run.prev, NULL))
        run.prev = NULL;
    run.options = options_json(&r->opts, r->fields);
    status = status_make(run.prev, "running", a->name, run.options, trigger);
    json_decref(run.prev);
    run.prev = json_incref(status);
    ret = ds_status_set(c, a, r->resource_id, status, err);
    status = NULL;
    if (ret)
        goto out;

    /* The file: the one given, else the resource's upload. */
    if (r->path) {
        path = r->path;
        filename = r->filename ? r->filename : base_name(r->path);
    } else {
        ret = catalog_resource_file(c, a, json_string_value(json_object_get(ds, "id")),
                                    r->resource_id, &file, err);
        /* A restricted resource's file is encrypted at rest: read a decrypted copy,
         * removed with the file's release. */
        if (!ret)
            ret = catalog_resource_file_plain(c, &file, err);
        if (ret)
            goto out;
        path = file.path;
        filename = r->filename ? r->filename : file.filename;
        xsnprintf(sha, sizeof(sha), "%s", file.sha256_hex);
    }
    /* A file name that names no format (an upload called "data"): the resource's
     * format field does. */
    rformat = json_string_value(json_object_get(res, "format"));
    if (o.format == INGEST_FORMAT_AUTO && ingest_format_from_name(filename) == INGEST_FORMAT_AUTO &&
        rformat && ingest_format_parse(rformat, &guess))
        o.format = guess;

    /* Typing pass. */
    ret = ingest_table_open_pos(&t, path, filename, &o, &pos, err);
    if (ret)
        goto out;
    t1 = time_mono_us();
    finfo = fields_info_initial(c, r->resource_id, t);
    if (r->fields) {
        ret = fields_apply(t, r->fields, loose_fields, finfo, err);
        if (ret)
            goto out;
    }
    info = ingest_source_info(t->src);

    /* Load pass: the new table is built aside. */
    sf = xcalloc(t->nfields ? t->nfields : 1, sizeof(*sf));
    fields = json_array();
    for (size_t i = 0; i < t->nfields; i++) {
        sf[i].id = t->fields[i].id;
        sf[i].type = t->fields[i].type;
        json_array_append_new(fields, json_pack("{s:s,s:s}", "id", t->fields[i].id, "type",
                                                dstype_name(t->fields[i].type)));
    }
    memset(&def, 0, sizeof(def));
    def.fields = sf;
    def.nfields = t->nfields;
    def.fulltext = true;
    def.tokenize = catalog_search_text;
    /* The full-text index is made from the tokens of the load pass and is in the table
     * file when it is swapped in (docs/internals/datastore.md, "An ingest"). */
    ret = store_ds_build_begin(c->store, r->resource_id, &def, &b, err);
    if (ret)
        goto out;
    /* The privacy scan reads the rows as they are loaded (docs/internals/privacy-gate.md). */
    names = xcalloc(t->nfields ? t->nfields : 1, sizeof(*names));
    for (size_t i = 0; i < t->nfields; i++)
        names[i] = t->fields[i].id;
    detect_scan_init(&sc, names, t->nfields, detect_today());
    for (;;) {
        if (cancel && atomic_load_explicit(cancel, memory_order_relaxed)) {
            cancelled = true;
            ret = err_set(err, ERR_UNAVAILABLE, NULL,
                          "ingest of resource \"%s\" abandoned: the server is stopping",
                          r->resource_id);
            goto out;
        }
        ret = ingest_table_next(t, &values, &line, err);
        if (ret < 0) {
            ingest_table_pos(t, &pos);
            goto out;
        }
        if (!ret)
            break;
        detect_scan_row(&sc, values, t->nfields);
        ret = store_ds_build_row(b, values, err);
        if (ret) {
            pos.line = line;
            pos.column = 0;
            goto out;
        }
    }
    time_now_ckan(now);
    meta = json_pack("{s:{s:s,s:s,s:s,s:s?,s:b,s:o,s:o,s:i,s:I},s:O,s:O,s:s}", "source", "sha256",
                     sha, "filename", filename, "format", ingest_format_name(info->format),
                     "encoding", info->encoding[0] ? info->encoding : NULL, "encoding_detected",
                     info->encoding_detected, "delimiter", delimiter_json(info), "sheet",
                     is_sheet(info->format) ? json_string(info->sheet) : json_null(),
                     "skipped_rows", (int)t->skipped, "ragged_rows", (json_int_t)t->ragged,
                     "fields_info", finfo, "options", run.options, "ingested_at", now);
    BUG_ON(!meta);
    t2 = time_mono_us();
    ret = store_ds_build_commit(b, meta, &rows, err);
    b = NULL;
    if (ret)
        goto out;
    t3 = time_mono_us();
    detect_scan_finish(&sc);
    ret = ds_privacy_report(c, r->resource_id, &sc, sha, filename, a->name, finfo, &privacy, err);
    if (ret)
        goto out;
    if (r->transformations)
        json_object_set_new(privacy, "transformations", json_deep_copy(r->transformations));

    /* The report, the ledger entry, the privacy report and the status in one
     * transaction. */
    typing = (double)(t1 - t0) / 1e6;
    loading = (double)(t2 - t1) / 1e6;
    rep = json_pack("{s:s,s:I,s:O,s:s,s:s?,s:b,s:o,s:o,s:i,s:I,s:f,s:{s:f,s:f,s:f}}", "status",
                    "complete", "rows", (json_int_t)rows, "fields", fields, "format",
                    ingest_format_name(info->format), "encoding",
                    info->encoding[0] ? info->encoding : NULL, "encoding_detected",
                    info->encoding_detected, "delimiter", delimiter_json(info), "sheet",
                    is_sheet(info->format) ? json_string(info->sheet) : json_null(), "skipped_rows",
                    (int)t->skipped, "ragged_rows", (json_int_t)t->ragged, "seconds",
                    seconds_since(t0), "timings", "typing", typing, "loading", loading,
                    "fulltext_index", (double)(t3 - t2) / 1e6);
    BUG_ON(!rep);
    json_object_set_new(privacy, "personal_data", json_boolean(catalog_privacy_personal(ds, res)));
    /* What the scan found, for xloader_status and `kaifang ingest --json`
     * (datastore_privacy_report has the whole report). */
    json_object_set_new(rep, "privacy",
                        json_pack("{s:O,s:O,s:O,s:o}", "direct_identifiers",
                                  json_object_get(privacy, "direct_identifiers"),
                                  "quasi_identifiers",
                                  json_object_get(privacy, "quasi_identifiers"), "k",
                                  json_object_get(privacy, "k"), "gate",
                                  catalog_privacy_gate(privacy, c->privacy_k)));
    dumped = json_dumps(fields, JSON_COMPACT | JSON_SORT_KEYS);
    BUG_ON(!dumped);
    sha256(dumped, strlen(dumped), md);
    hex_encode(md, SHA256_LEN, fsha);
    entry = json_pack("{s:s,s:s,s:I,s:s}", "resource_id", r->resource_id, "source_sha256", sha,
                      "rows", (json_int_t)rows, "fields_sha256", fsha);
    status = status_make(run.prev, "complete", a->name, run.options, trigger);
    json_object_set(status, "report", rep);
    ret = status_settle(c, a, r->resource_id, status, true, entry, privacy, err);
    status = NULL;
    if (ret) {
        if (ret == -ERR_NOT_FOUND) {
            /* The resource was deleted while its file was read: its table goes too. */
            struct err e = ERR_INIT;

            store_ds_drop(c->store, r->resource_id, &e);
            authorized = false; /* no status for a resource that is gone */
        }
        goto out;
    }
    if (report) {
        *report = rep;
        rep = NULL;
    }
out:
    store_ds_build_abort(b);
    if (ret && authorized)
        run_failed(&run, ret, err, &pos, cancelled);
    if (ret && report) {
        json_decref(*report);
        *report = json_pack("{s:s,s:s,s:I,s:I}", "status", cancelled ? "pending" : "error",
                            "message", err->msg[0] ? err->msg : "failed", "line",
                            (json_int_t)pos.line, "column", (json_int_t)pos.column);
    }
    detect_scan_release(&sc);
    free(names);
    json_decref(privacy);
    free(dumped);
    free(sf);
    ingest_table_free(t);
    resource_file_release(&file);
    json_decref(res);
    json_decref(ds);
    json_decref(finfo);
    json_decref(fields);
    json_decref(meta);
    json_decref(rep);
    json_decref(entry);
    json_decref(status);
    json_decref(run.prev);
    json_decref(run.options);
    return ret;
}

int datastore_ingest(struct catalog *c, const struct actor *a,
                     const struct datastore_ingest_request *r, json_t **report, struct err *err)
{
    return ds_ingest_run(c, a, r, "cli", false, ds_cancel_flag(c), report, err);
}

/* ---- Re-typing -------------------------------------------------------------------- */

/* <files_dir>/ab/cdef… of a digest, as the catalog stores uploads. Free the result. */
static char *content_path(struct catalog *c, const char *hex)
{
    return xstrfmt("%s/%.2s/%s", c->files_dir, hex, hex + 2);
}

static bool hex64(const char *s)
{
    return s && strlen(s) == 64 && strspn(s, "0123456789abcdef") == 64;
}

int ds_retype(struct catalog *c, const struct actor *a, const char *resource_id,
              const json_t *fields, struct err *err)
{
    struct datastore_ingest_request req;
    struct store_ds_info info = {0};
    json_t *res = NULL, *status = NULL, *options = NULL;
    const char *hash, *src_sha = NULL, *src_name = NULL;
    char *path = NULL;
    struct stat st;
    bool upload, have_table;
    int ret;

    memset(&req, 0, sizeof(req));
    ret = catalog_resource_authorize(c, a, resource_id, true, &res, NULL, err);
    if (ret)
        goto out;
    if (!store_ds_status_get(c->store, resource_id, &status, NULL))
        options = json_deep_copy(json_object_get(status, "options"));
    ret = ds_options_parse(options, &req.opts, NULL, err);
    if (ret)
        goto out;
    have_table = !store_ds_info(c->store, resource_id, &info, NULL);
    if (have_table) {
        src_sha =
                json_string_value(json_object_get(json_object_get(info.meta, "source"), "sha256"));
        src_name = json_string_value(
                json_object_get(json_object_get(info.meta, "source"), "filename"));
    }
    hash = json_string_value(json_object_get(res, "hash"));
    if (hash && starts_with(hash, "sha256:"))
        hash += strlen("sha256:");
    upload = str_eq(json_string_value(json_object_get(res, "url_type")), "upload");
    /* The file last ingested: the upload when it still is that file (or when nothing
     * was ingested yet), else its content-addressed copy if the portal holds one. */
    if (upload && (!src_sha || str_eq(src_sha, hash))) {
        req.path = NULL;
    } else if (hex64(src_sha) && (path = content_path(c, src_sha)) && !stat(path, &st) &&
               S_ISREG(st.st_mode)) {
        req.path = path;
        req.filename = src_name;
    } else {
        ret = err_set(err, ERR_VALIDATION, "fields",
                      "resource \"%s\" has no source file in the portal to re-type: ingest a "
                      "file again with these types",
                      resource_id);
        goto out;
    }
    req.resource_id = resource_id;
    req.fields = fields;
    ret = ds_ingest_run(c, a, &req, "retype", false, ds_cancel_flag(c), NULL, err);
out:
    free(path);
    store_ds_info_release(&info);
    json_decref(res);
    json_decref(status);
    json_decref(options);
    return ret;
}

/* ---- ckanext-xloader's actions ---------------------------------------------------- */

/* xloader_submit's own parameters, and Kaifang's ingest options. */
static const char *const submit_keys[] = {
        "resource_id", "ignore_hash", "set_url_type", "encoding", "format", "delimiter",
        "sheet",       "skip_rows",   "records_path", "lenient",  "fields",
};

static const char *const submit_options[] = {
        "encoding",  "format",       "delimiter", "sheet",
        "skip_rows", "records_path", "lenient",   "fields",
};

/* Checks a "fields" option without the file: a list of objects with an id, a type
 * Kaifang knows and a known privacy class if one is declared (whether the ids are columns is known
 * when the file is read). */
static int fields_check(const json_t *fields, struct err *err)
{
    const json_t *f;
    size_t i;
    enum dstype t;

    if (json_array_size(fields) > LIMIT_DATASTORE_FIELDS)
        return err_set(err, ERR_VALIDATION, "fields", "more than %u fields",
                       LIMIT_DATASTORE_FIELDS);
    json_array_foreach (fields, i, f) {
        json_t *type = json_object_get(f, "type");

        if (!json_is_object(f) || !json_is_string(json_object_get(f, "id")))
            return err_set(err, ERR_VALIDATION, "fields",
                           "fields[%zu] must be an object with an \"id\"", i);
        if (type && !json_is_null(type) &&
            (!json_is_string(type) || !dstype_parse(json_string_value(type), &t)))
            return err_set(err, ERR_VALIDATION, "fields",
                           "field \"%s\": \"%s\" is not a type (text, int8, numeric, bool, date, "
                           "timestamp, json)",
                           json_string_value(json_object_get(f, "id")),
                           json_is_string(type) ? json_string_value(type) : "?");
        /* The declared privacy class is checked now too, not first by the ingest. */
        const json_t *info = json_object_get(f, "info");
        int ret = ds_privacy_class_check(json_string_value(json_object_get(f, "id")),
                                         json_object_get(info, "privacy_class"), err);
        if (ret)
            return ret;
    }
    return 0;
}

int datastore_xloader_submit(struct catalog *c, const struct actor *a, json_t *params,
                             json_t **result, struct err *err)
{
    struct datastore_ingest_request req;
    json_t *res = NULL, *options = NULL, *prev = NULL, *status = NULL, *v;
    const json_t *fields = NULL;
    const char *rid, *key;
    char now[TIME_ISO_MAX];
    int ret;

    *result = NULL;
    memset(&req, 0, sizeof(req));
    if (!a || !a->authenticated) {
        ret = err_set(err, ERR_AUTH, NULL, "anonymous users may not submit ingests");
        goto out;
    }
    json_object_foreach (params, key, v) {
        bool known = false;

        for (size_t i = 0; i < ARRAY_SIZE(submit_keys); i++)
            known = known || !strcmp(key, submit_keys[i]);
        if (!known) {
            ret = err_set(err, ERR_VALIDATION, key, "\"%s\" is not a parameter of xloader_submit",
                          key);
            goto out;
        }
    }
    rid = json_string_value(json_object_get(params, "resource_id"));
    if (!rid || !*rid) {
        ret = err_set(err, ERR_VALIDATION, "resource_id", "Missing value");
        goto out;
    }
    ret = catalog_resource_authorize(c, a, rid, true, &res, NULL, err);
    if (ret)
        goto out;
    if (!str_eq(json_string_value(json_object_get(res, "url_type")), "upload")) {
        ret = err_set(err, ERR_VALIDATION, "resource_id",
                      "resource \"%s\" has no uploaded file to ingest", rid);
        goto out;
    }
    options = json_object();
    for (size_t i = 0; i < ARRAY_SIZE(submit_options); i++) {
        v = json_object_get(params, submit_options[i]);
        if (v && !json_is_null(v))
            json_object_set(options, submit_options[i], v);
    }
    /* A sheet's 1-based index may come as a number; the reader takes decimal text. */
    v = json_object_get(options, "sheet");
    if (json_is_integer(v)) {
        if (json_integer_value(v) < 1 || json_integer_value(v) > LIMIT_INGEST_SHEETS) {
            ret = err_set(err, ERR_VALIDATION, "sheet", "\"sheet\" is out of range: 1 to %u",
                          LIMIT_INGEST_SHEETS);
            goto out;
        }
        json_object_set_new(options, "sheet",
                            json_sprintf("%" JSON_INTEGER_FORMAT, json_integer_value(v)));
    }
    /* From a form, fields come as JSON text. */
    v = json_object_get(options, "fields");
    if (json_is_string(v)) {
        json_t *parsed = json_loads(json_string_value(v), JSON_REJECT_DUPLICATES, NULL);

        if (!parsed) {
            ret = err_set(err, ERR_VALIDATION, "fields", "\"fields\" is not valid JSON");
            goto out;
        }
        json_object_set_new(options, "fields", parsed);
    }
    ret = ds_options_parse(options, &req.opts, &fields, err);
    if (!ret && fields)
        ret = fields_check(fields, err);
    if (ret)
        goto out;
    if (!ds_worker_running(c)) {
        /* No worker (the command line): ingest now. */
        req.resource_id = rid;
        req.fields = fields;
        ret = ds_ingest_run(c, a, &req, "submit", false, ds_cancel_flag(c), NULL, err);
        if (!ret)
            *result = json_true();
        goto out;
    }
    if (store_ds_status_get(c->store, rid, &prev, NULL))
        prev = NULL;
    time_now_ckan(now);
    status = json_pack("{s:s,s:s,s:O,s:s,s:s,s:s,s:n}", "status", "pending", "user", a->name,
                       "options", options, "trigger", "submit", "created", now, "last_updated", now,
                       "error");
    BUG_ON(!status);
    if (json_object_get(prev, "report"))
        json_object_set(status, "report", json_object_get(prev, "report"));
    ret = ds_status_set(c, a, rid, status, err);
    status = NULL;
    if (ret)
        goto out;
    ds_queue_push(c->datastore, rid, a->name);
    *result = json_true(); /* xloader_submit returns True */
out:
    json_decref(res);
    json_decref(options);
    json_decref(prev);
    json_decref(status);
    return ret;
}

int datastore_xloader_status(struct catalog *c, const struct actor *a, json_t *params,
                             json_t **result, struct err *err)
{
    json_t *status = NULL, *info;
    const char *rid;
    int ret;

    *result = NULL;
    rid = json_string_value(json_object_get(params, "resource_id"));
    if (!rid || !*rid) {
        ret = err_set(err, ERR_VALIDATION, "resource_id", "Missing value");
        goto out;
    }
    ret = catalog_resource_authorize(c, a, rid, false, NULL, NULL, err);
    if (ret)
        goto out;
    ret = store_ds_status_get(c->store, rid, &status, err);
    if (ret == -ERR_NOT_FOUND) {
        if (err)
            err_clear(err);
        /* xloader's answer for a resource it never saw. */
        *result = json_pack("{s:s}", "status", "unknown");
        ret = 0;
        goto out;
    }
    if (ret)
        goto out;
    info = json_pack("{s:O?,s:O?,s:O?,s:O?,s:O?,s:O?}", "status", json_object_get(status, "status"),
                     "created", json_object_get(status, "created"), "last_updated",
                     json_object_get(status, "last_updated"), "error",
                     json_object_get(status, "error"), "trigger",
                     json_object_get(status, "trigger"), "options",
                     json_object_get(status, "options"));
    BUG_ON(!info);
    *result = json_pack("{s:O?,s:O?,s:O?,s:o,s:O?}", "status", json_object_get(status, "status"),
                        "error", json_object_get(status, "error"), "last_updated",
                        json_object_get(status, "last_updated"), "task_info", info, "report",
                        json_object_get(status, "report"));
    BUG_ON(!*result);
out:
    json_decref(status);
    return ret;
}

bool datastore_table_current(struct catalog *c, const json_t *resource)
{
    const char *rid = json_string_value(json_object_get(resource, "id"));
    const char *hash = json_string_value(json_object_get(resource, "hash"));
    struct store_ds_info info = {0};
    json_t *status = NULL;
    bool current = false;

    if (!rid || !hash)
        return false;
    if (starts_with(hash, "sha256:"))
        hash += strlen("sha256:");
    if (store_ds_status_get(c->store, rid, &status, NULL))
        return false;
    if (str_eq(json_string_value(json_object_get(status, "status")), "complete") &&
        !store_ds_info(c->store, rid, &info, NULL))
        current = str_eq(
                json_string_value(json_object_get(json_object_get(info.meta, "source"), "sha256")),
                hash);
    store_ds_info_release(&info);
    json_decref(status);
    return current;
}
