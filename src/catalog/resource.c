/*
 * resource.c - resource_show, resource_create, resource_update, resource_delete (CKAN
 * 2.10 docs, ckan.logic.action.{get,create,update,delete}.resource_*), uploads moved to
 * their content address (files/ab/cdef…, SHA-256) and taken back when the action fails,
 * upload urls (stored as the file name, shown under the serving site_url, as CKAN's
 * resource dictization does), and download resolution.
 */
#include <jansson.h>

#include "access/grant.h"
#include "crypto/filecrypt.h"
#include "crypto/secret.h"

#include "catalog/catalog-int.h"
#include "core/limits.h"
#include "core/log.h"
#include "core/timeutil.h"
#include "core/util.h"
#include "store/store-datastore.h"

/* ---- file names, types ---- */

static const struct {
    const char *ext, *format, *mimetype;
} file_types[] = {
        {"csv", "CSV", "text/csv"},
        {"tsv", "TSV", "text/tab-separated-values"},
        {"txt", "TXT", "text/plain"},
        {"json", "JSON", "application/json"},
        {"geojson", "GeoJSON", "application/geo+json"},
        {"jsonld", "JSON-LD", "application/ld+json"},
        {"xml", "XML", "application/xml"},
        {"rdf", "RDF", "application/rdf+xml"},
        {"ttl", "TTL", "text/turtle"},
        {"xls", "XLS", "application/vnd.ms-excel"},
        {"xlsx", "XLSX", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"},
        {"ods", "ODS", "application/vnd.oasis.opendocument.spreadsheet"},
        {"pdf", "PDF", "application/pdf"},
        {"zip", "ZIP", "application/zip"},
        {"gz", "GZ", "application/gzip"},
        {"html", "HTML", "text/html"},
        {"htm", "HTML", "text/html"},
        {"parquet", "PARQUET", "application/vnd.apache.parquet"},
        {"kml", "KML", "application/vnd.google-earth.kml+xml"},
        {"shp", "SHP", "application/octet-stream"},
        {"doc", "DOC", "application/msword"},
        {"docx", "DOCX", "application/vnd.openxmlformats-officedocument.wordprocessingml.document"},
        {"png", "PNG", "image/png"},
        {"jpg", "JPEG", "image/jpeg"},
        {"jpeg", "JPEG", "image/jpeg"},
};

static const char *file_ext(const char *name)
{
    const char *dot = strrchr(name, '.');

    return dot && dot[1] ? dot + 1 : "";
}

static int file_type(const char *name)
{
    const char *ext = file_ext(name);

    for (size_t i = 0; i < ARRAY_SIZE(file_types); i++)
        if (!strcasecmp(file_types[i].ext, ext))
            return (int)i;
    return -1;
}

/* The client's file name reduced to a safe last path segment: ASCII letters, digits,
 * '.', '-', '_' and valid non-ASCII UTF-8 letters; anything else becomes '_'. */
static void filename_sanitise(const char *in, struct buf *out)
{
    const char *base = in ? in : "";
    size_t len, i = 0, n;
    uint32_t cp;

    for (const char *p = base; *p; p++)
        if (*p == '/' || *p == '\\')
            base = p + 1;
    while (*base == '.' || *base == ' ')
        base++;
    len = strlen(base);
    while (i < len && out->len < 200) {
        n = utf8_decode(base + i, len - i, &cp);
        if (!n) {
            buf_addch(out, '_');
            i++;
            continue;
        }
        if ((cp < 0x80 && (is_word_cp(cp) || cp == '.' || cp == '-' || cp == '_')) ||
            (cp >= 0x80 && (is_word_cp(cp) || is_cjk(cp))))
            buf_add(out, base + i, n);
        else
            buf_addch(out, '_');
        i += n;
    }
    if (!out->len)
        buf_addstr(out, "file");
}

static void url_escape(const char *s, struct buf *out)
{
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
            *p == '.' || *p == '-' || *p == '_' || *p == '~')
            buf_addch(out, *p);
        else
            buf_addf(out, "%%%02X", *p);
    }
}

static int hexval(int ch)
{
    if (ch >= '0' && ch <= '9')
        return ch - '0';
    if (ch >= 'a' && ch <= 'f')
        return ch - 'a' + 10;
    if (ch >= 'A' && ch <= 'F')
        return ch - 'A' + 10;
    return -1;
}

static void url_unescape(const char *s, struct buf *out)
{
    for (const char *p = s; *p; p++) {
        if (*p == '%' && hexval(p[1]) >= 0 && hexval(p[2]) >= 0) {
            buf_addch(out, hexval(p[1]) * 16 + hexval(p[2]));
            p += 2;
        } else {
            buf_addch(out, *p);
        }
    }
}

static bool sha256_hex_ok(const char *s)
{
    if (!s || strlen(s) != 64)
        return false;
    for (const char *p = s; *p; p++)
        if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f')))
            return false;
    return true;
}

/* <files_dir>/ab/cdef… for a digest. Free the result. */
static char *content_path(struct catalog *c, const char *hex)
{
    return xstrfmt("%s/%.2s/%s", c->files_dir, hex, hex + 2);
}

/* What upload_store() created, so that an action that fails after the move can take
 * it back. Writers are serialised by the store's write transaction (upload_store() runs
 * inside it), so nothing else can have started using a file this action created. */
struct upload_undo {
    char *file; /* owned: the content file this action created, or NULL */
    char *dir;  /* owned: its directory when this action created that too, or NULL */
};

/* Removes what the action created (never a file that existed before it: another
 * resource may use that one). Call on failure only; free u with upload_undo_release(). */
static void upload_undo_run(struct upload_undo *u)
{
    if (u->file && unlink(u->file) && errno != ENOENT)
        log_warn("catalog: cannot remove unreferenced upload \"%s\": %s", u->file, strerror(errno));
    if (u->dir)
        rmdir(u->dir); /* fails (harmlessly) if anything else is there */
}

static void upload_undo_release(struct upload_undo *u)
{
    free(u->file);
    free(u->dir);
    u->file = u->dir = NULL;
}

/* Moves an upload to its content address; if the content is there already, drops the
 * temporary file. On return (success or not) tmp_path no longer exists; undo records
 * what this call created (nothing when the content was stored already). */
char *catalog_file_key_path(const struct catalog *c)
{
    const char *slash = strrchr(c->files_dir, '/');

    /* files_dir is <portal>/files */
    if (!slash)
        return xstrdup("restricted.key");
    return xstrfmt("%.*s/restricted.key", (int)(slash - c->files_dir), c->files_dir);
}

/* Encrypts the upload at tmp_path to dest + ".enc" (through a temporary name in the same
 * directory, renamed when whole). */
static int upload_encrypt(struct catalog *c, const char *tmp_path, const char *dest,
                          struct err *err)
{
    uint8_t key[FILECRYPT_KEY_LEN];
    char *key_path = catalog_file_key_path(c), *part = xstrfmt("%s.enc.part", dest);
    char *enc = xstrfmt("%s.enc", dest);
    int ret;

    ret = filecrypt_key_load(key_path, true, key, err);
    if (!ret)
        ret = filecrypt_encrypt_file(key, tmp_path, part, err);
    if (!ret && rename(part, enc)) {
        ret = err_set(err, ERR_INTERNAL, "upload", "cannot move encrypted upload to \"%s\": %s",
                      enc, strerror(errno));
        unlink(part);
    }
    secret_wipe(key, sizeof(key));
    free(key_path);
    free(part);
    free(enc);
    return ret;
}

/* Writes the plain content-addressed file path from path + ".enc" (through a temporary
 * name, renamed when whole, so that a concurrent reader never sees a part). 0 also when
 * there is no encrypted copy (the caller then reports the file missing). */
static int plain_restore(struct catalog *c, const char *path, const char *resource_id,
                         struct err *err)
{
    uint8_t key[FILECRYPT_KEY_LEN];
    char *enc = xstrfmt("%s.enc", path), *part = xstrfmt("%s.plain-XXXXXX", path);
    char *key_path = NULL;
    struct stat st;
    int fd, ret = 0;

    if (stat(enc, &st))
        goto out;
    fd = mkstemp(part);
    if (fd < 0) {
        ret = err_set(err, ERR_INTERNAL, NULL, "cannot restore the file of resource \"%s\": %s",
                      resource_id, strerror(errno));
        goto out;
    }
    close(fd);
    key_path = catalog_file_key_path(c);
    ret = filecrypt_key_load(key_path, false, key, err);
    if (!ret)
        ret = filecrypt_decrypt_file(key, enc, part, err);
    secret_wipe(key, sizeof(key));
    if (!ret && rename(part, path))
        ret = err_set(err, ERR_INTERNAL, NULL, "cannot restore the file of resource \"%s\": %s",
                      resource_id, strerror(errno));
    if (ret)
        unlink(part);
out:
    free(enc);
    free(part);
    free(key_path);
    return ret;
}

static int upload_store(struct catalog *c, const struct upload *up, bool encrypt,
                        struct upload_undo *undo, struct err *err)
{
    char *dir = NULL, *dest = NULL;
    struct stat st;
    int ret = 0;

    if (!sha256_hex_ok(up->sha256_hex)) {
        ret = err_set(err, ERR_INTERNAL, "upload", "upload digest is malformed");
        goto out;
    }
    dir = xstrfmt("%s/%.2s", c->files_dir, up->sha256_hex);
    dest = content_path(c, up->sha256_hex);
    if (!mkdir(dir, 0755)) {
        undo->dir = dir;
        dir = NULL;
    } else if (errno != EEXIST) {
        ret = err_set(err, ERR_INTERNAL, "upload", "cannot create directory \"%s\": %s", dir,
                      strerror(errno));
        goto out;
    }
    if (encrypt) {
        /* A restricted dataset's file is only ever stored encrypted (its plain copy may
         * exist already, uploaded to a public dataset: that one is public anyway). */
        char *enc = xstrfmt("%s.enc", dest);

        if (stat(enc, &st)) {
            ret = upload_encrypt(c, up->tmp_path, dest, err);
            if (!ret) {
                undo->file = enc;
                enc = NULL;
            }
        }
        free(enc);
        goto out;
    }
    if (!stat(dest, &st)) {
        /* Same content stored already (same digest): keep one copy. */
        goto out;
    }
    if (rename(up->tmp_path, dest)) {
        ret = err_set(err, ERR_INTERNAL, "upload", "cannot move upload to \"%s\": %s", dest,
                      strerror(errno));
        goto out;
    }
    undo->file = dest;
    dest = NULL;
out:
    unlink(up->tmp_path); /* ENOENT after a successful rename */
    free(dir);
    free(dest);
    return ret;
}

/* ---- upload urls ---- */

void upload_filename(const char *url, struct buf *out)
{
    const char *slash = url ? strrchr(url, '/') : NULL;

    url_unescape(slash ? slash + 1 : url ? url : "", out);
    if (!out->len)
        buf_addstr(out, "file");
}

char *upload_url(struct catalog *c, const char *dataset_id, json_t *res)
{
    struct buf name = BUF_INIT, url = BUF_INIT;
    const char *rid = json_string_value(json_object_get(res, "id"));

    upload_filename(json_string_value(json_object_get(res, "url")), &name);
    buf_addf(&url, "%s/dataset/%s/resource/%s/download/", c->site_url, dataset_id ? dataset_id : "",
             rid ? rid : "");
    url_escape(name.buf, &url);
    buf_release(&name);
    return buf_detach(&url, NULL);
}

bool upload_url_same(struct catalog *c, const char *dataset_id, json_t *old, const char *url)
{
    const char *stored = json_string_value(json_object_get(old, "url"));
    char *abs;
    bool same;

    if (!url || !stored || !str_eq(json_string_value(json_object_get(old, "url_type")), "upload"))
        return false;
    if (str_eq(url, stored))
        return true;
    abs = upload_url(c, dataset_id, old);
    same = str_eq(url, abs);
    free(abs);
    return same;
}

bool resource_is_datastore_only(const json_t *res)
{
    return str_eq(json_string_value(json_object_get(res, "url")), "") &&
           !str_eq(json_string_value(json_object_get(res, "url_type")), "upload") &&
           json_is_true(json_object_get(res, "datastore_active"));
}

char *datastore_dump_url(struct catalog *c, const json_t *res)
{
    const char *rid = json_string_value(json_object_get(res, "id"));

    return xstrfmt("%s/datastore/dump/%s", c->site_url, rid ? rid : "");
}

void resource_output(struct catalog *c, const char *dataset_id, json_t *res)
{
    char *url;

    if (resource_is_datastore_only(res)) {
        url = datastore_dump_url(c, res);
        json_object_set_new(res, "url", json_string(url));
        json_object_set_new(res, "url_type", json_string("datastore"));
        free(url);
        return;
    }
    if (!str_eq(json_string_value(json_object_get(res, "url_type")), "upload"))
        return;
    url = upload_url(c, dataset_id, res);
    json_object_set_new(res, "url", json_string(url));
    free(url);
}

void dataset_output(struct catalog *c, json_t *doc)
{
    const char *id = json_string_value(json_object_get(doc, "id"));
    json_t *r;
    size_t i;

    json_array_foreach (json_object_get(doc, "resources"), i, r) {
        resource_output(c, id, r);
    }
}

void datasets_output(struct catalog *c, json_t *docs)
{
    json_t *d;
    size_t i;

    json_array_foreach (docs, i, d) {
        dataset_output(c, d);
    }
}

int dataset_output_text(struct catalog *c, const char *text, size_t len, struct buf *out,
                        struct err *err)
{
    /* The compact dump of an upload resource holds these bytes: key, colon, and the
     * value's opening quote and first bytes (a value that only starts with "upload",
     * such as "upload\u0000x", which C's strcmp would take for "upload", matches too).
     * They cannot come from inside a string: there every double quote is escaped, and
     * here one stands between "url_type" and the colon. A dataset that has them for
     * another reason (an extra or a nested object with that key) only takes the slow
     * path, which is always right; one without them has no upload resource, and
     * dataset_output() would leave it as it is. */
    static const char upload[] = "\"url_type\":\"upload";
    /* A resource without a url may be a table only (resource_output()). */
    static const char no_url[] = "\"url\":\"\"";
    json_error_t jerr;
    json_t *doc = NULL;
    char *dumped = NULL;
    int ret = 0;

    if (!len) { /* a text the parsing path would refuse too; never spliced as nothing */
        ret = err_set(err, ERR_INTERNAL, NULL, "a stored dataset is corrupt");
        goto out;
    }
    if (!memmem(text, len, upload, sizeof(upload) - 1) &&
        !memmem(text, len, no_url, sizeof(no_url) - 1)) {
        buf_add(out, text, len);
        goto out;
    }
    doc = json_loadb(text, len, JSON_ALLOW_NUL, &jerr);
    if (!doc) {
        ret = err_set(err, ERR_INTERNAL, NULL, "a stored dataset is corrupt");
        goto out;
    }
    dataset_output(c, doc);
    dumped = json_dumps(doc, JSON_COMPACT);
    BUG_ON(!dumped);
    buf_addstr(out, dumped);
out:
    free(dumped);
    json_decref(doc);
    return ret;
}

/* Sets the upload fields of a resource dict (stored form); now (time_now_ckan()) is the
 * upload time, stored as last_modified as CKAN does when a file is uploaded. */
static void resource_set_upload(json_t *res, const struct upload *up, const char *now)
{
    struct buf name = BUF_INIT, hash = BUF_INIT;
    int t;
    const char *fmt = json_string_value(json_object_get(res, "format"));

    filename_sanitise(up->filename, &name);
    t = file_type(name.buf);
    /* Stored: the file name only, as CKAN stores it; resource_output() makes the
     * absolute url under the site_url of whoever serves it. */
    json_object_set_new(res, "url", json_string(name.buf));
    json_object_set_new(res, "url_type", json_string("upload"));
    json_object_set_new(res, "last_modified", json_string(now));
    json_object_set_new(res, "size", json_integer((json_int_t)up->size));
    buf_addf(&hash, "sha256:%s", up->sha256_hex);
    json_object_set_new(res, "hash", json_string(hash.buf));
    if (t >= 0)
        json_object_set_new(res, "mimetype", json_string(file_types[t].mimetype));
    else if (up->content_type && *up->content_type && strlen(up->content_type) < 200 &&
             !strpbrk(up->content_type, "\r\n"))
        json_object_set_new(res, "mimetype", json_string(up->content_type));
    else
        json_object_set_new(res, "mimetype", json_string("application/octet-stream"));
    /* An upload names its own format unless the client gave one. */
    if (!fmt || !*fmt || json_object_get(res, "format_guessed")) {
        const char *ext = file_ext(name.buf);
        struct buf f = BUF_INIT;

        if (t >= 0) {
            buf_addstr(&f, file_types[t].format);
        } else if (strlen(ext) <= 8) {
            for (const char *p = ext; *p; p++)
                buf_addch(&f, (*p >= 'a' && *p <= 'z') ? *p - 'a' + 'A' : *p);
        }
        json_object_set_new(res, "format", json_string(f.buf));
        buf_release(&f);
    }
    if (!json_string_length(json_object_get(res, "name")))
        json_object_set_new(res, "name", json_string(name.buf));
    buf_release(&name);
    buf_release(&hash);
}

/* ---- actions ---- */

/* Loads the dataset holding a resource for editing (in a transaction), and the index of
 * the resource in it. */
static int load_resource(struct catalog *c, const struct actor *a, const char *rid, bool edit,
                         json_t **doc, size_t *index, struct err *err)
{
    char did[UUID_STR_LEN];
    json_t *r;
    size_t i;
    int ret;

    *doc = NULL;
    if (strlen(rid) > LIMIT_FIELD_MAX)
        return err_set(err, ERR_NOT_FOUND, "id", "resource not found");
    ret = store_resource_dataset(c->store, rid, did, sizeof(did), NULL);
    if (ret == -ERR_NOT_FOUND)
        return err_set(err, ERR_NOT_FOUND, "id", "resource \"%s\" not found", rid);
    if (ret)
        return err_set(err, ERR_INTERNAL, NULL, "cannot look up resource \"%s\"", rid);
    ret = dataset_load_readable(c, a, did, doc, NULL);
    if (ret) {
        return err_set(err, ret == -ERR_NOT_FOUND ? ERR_NOT_FOUND : ERR_INTERNAL, "id",
                       "resource \"%s\" not found", rid);
    }
    json_array_foreach (json_object_get(*doc, "resources"), i, r) {
        if (str_eq(json_string_value(json_object_get(r, "id")), rid)) {
            *index = i;
            if (!edit || dataset_can_edit(a, *doc))
                return 0;
            ret = err_set(err, ERR_AUTH, NULL, "user \"%s\" may not edit resource \"%s\"",
                          a && a->authenticated ? a->name : "", rid);
            break;
        }
    }
    if (!ret)
        ret = err_set(err, ERR_NOT_FOUND, "id", "resource \"%s\" not found", rid);
    json_decref(*doc);
    *doc = NULL;
    return ret;
}

int catalog_resource_show(struct catalog *c, const struct actor *a, json_t *params, json_t **result,
                          struct err *err)
{
    json_t *doc = NULL;
    const char *rid;
    size_t i = 0;
    int ret;

    *result = NULL;
    ret = param_id(params, false, &rid, err);
    if (!ret)
        ret = load_resource(c, a, rid, false, &doc, &i, err);
    if (!ret) {
        *result = json_deep_copy(json_array_get(json_object_get(doc, "resources"), i));
        resource_output(c, json_string_value(json_object_get(doc, "id")), *result);
    }
    json_decref(doc);
    return ret;
}

/* The resource input without the keys that address it. */
static json_t *resource_input(json_t *params)
{
    json_t *in = json_deep_copy(params);

    json_object_del(in, "package_id");
    return in;
}

static void dataset_touch(json_t *doc)
{
    char now[TIME_ISO_MAX];

    time_now_ckan(now);
    json_object_set_new(doc, "metadata_modified", json_string(now));
    dataset_derive(doc);
}

int catalog_resource_create(struct catalog *c, const struct actor *a, json_t *params,
                            const struct upload *up, json_t **result, struct err *err)
{
    json_t *doc = NULL, *in = NULL, *res = NULL;
    struct upload_undo undo = {0};
    const char *pid;
    char now[TIME_ISO_MAX];
    bool began = false;
    int ret;

    *result = NULL;
    if (!a || !a->authenticated) {
        ret = err_set(err, ERR_AUTH, NULL, "anonymous users may not create resources");
        goto out;
    }
    if (!json_is_object(params)) {
        ret = err_set(err, ERR_BAD_REQUEST, NULL, "parameters must be a JSON object");
        goto out;
    }
    ret = param_str(params, "package_id", &pid, err);
    if (!ret && (!pid || !*pid))
        ret = err_set(err, ERR_VALIDATION, "package_id", "Missing value");
    if (ret)
        goto out;
    ret = catalog_tx_begin(c, err);
    if (ret)
        goto out;
    began = true;
    ret = dataset_load_readable(c, a, pid, &doc, err);
    if (ret)
        goto out;
    if (!dataset_can_edit(a, doc)) {
        ret = err_set(err, ERR_AUTH, NULL, "user \"%s\" may not edit dataset \"%s\"", a->name, pid);
        goto out;
    }
    if (json_array_size(json_object_get(doc, "resources")) >= LIMIT_RESOURCES_PER_DATASET) {
        ret = err_set(err, ERR_VALIDATION, "resources", "more than %u resources",
                      LIMIT_RESOURCES_PER_DATASET);
        goto out;
    }
    in = resource_input(params);
    if (!up && !json_is_string(json_object_get(in, "url")))
        json_object_set_new(in, "url", json_string(""));
    time_now_ckan(now);
    ret = resource_build(c, NULL, in, NULL, now, &res, err);
    if (ret)
        goto out;
    if (up) {
        if (!json_string_length(json_object_get(in, "format")))
            json_object_set_new(res, "format_guessed", json_true());
        resource_set_upload(res, up, now);
        json_object_del(res, "format_guessed");
        ret = upload_store(c, up, dataset_restricted(doc), &undo, err);
        up = NULL;
        if (ret)
            goto out;
    }
    json_array_append(json_object_get(doc, "resources"), res);
    dataset_touch(doc);
    ret = dataset_write(c, doc, err);
    if (ret)
        goto out;
    /* One entry, of the resource's type, though the dataset changed too: its digest is
     * the whole new dataset. */
    ret = dataset_record(c, a, "resource_create", doc,
                         json_string_value(json_object_get(res, "id")), err);
    if (ret)
        goto out;
    began = false;
    ret = catalog_tx_end(c, 0, err);
    if (ret)
        goto out;
    *result =
            json_deep_copy(json_array_get(json_object_get(doc, "resources"),
                                          json_array_size(json_object_get(doc, "resources")) - 1));
    resource_output(c, json_string_value(json_object_get(doc, "id")), *result);
out:
    if (began)
        catalog_tx_end(c, ret ? ret : -ERR_INTERNAL, NULL);
    if (up)
        unlink(up->tmp_path);
    if (ret)
        upload_undo_run(&undo);
    upload_undo_release(&undo);
    json_decref(doc);
    json_decref(in);
    json_decref(res);
    return ret;
}

int catalog_resource_update(struct catalog *c, const struct actor *a, json_t *params,
                            const struct upload *up, json_t **result, struct err *err)
{
    json_t *doc = NULL, *in = NULL, *res = NULL, *old;
    struct upload_undo undo = {0};
    const char *rid;
    char now[TIME_ISO_MAX];
    bool began = false;
    size_t i = 0;
    int ret;

    *result = NULL;
    if (!a || !a->authenticated) {
        ret = err_set(err, ERR_AUTH, NULL, "anonymous users may not edit resources");
        goto out;
    }
    ret = param_id(params, false, &rid, err);
    if (ret)
        goto out;
    ret = catalog_tx_begin(c, err);
    if (ret)
        goto out;
    began = true;
    ret = load_resource(c, a, rid, true, &doc, &i, err);
    if (ret)
        goto out;
    old = json_array_get(json_object_get(doc, "resources"), i);
    in = resource_input(params);
    /* A url left out keeps the current one (CKAN's form sends it back unchanged). */
    if (!json_object_get(in, "url") && !up)
        json_object_set(in, "url", json_object_get(old, "url"));
    time_now_ckan(now);
    ret = resource_build(c, json_string_value(json_object_get(doc, "id")), in, old, now, &res, err);
    if (ret)
        goto out;
    if (up) {
        if (!json_string_length(json_object_get(in, "format")))
            json_object_set_new(res, "format_guessed", json_true());
        resource_set_upload(res, up, now);
        json_object_del(res, "format_guessed");
        json_object_set_new(res, "metadata_modified", json_string(now));
        ret = upload_store(c, up, dataset_restricted(doc), &undo, err);
        up = NULL;
        if (ret)
            goto out;
    }
    json_array_set(json_object_get(doc, "resources"), i, res);
    dataset_touch(doc);
    ret = dataset_write(c, doc, err);
    if (ret)
        goto out;
    ret = dataset_record(c, a, "resource_update", doc, rid, err);
    if (ret)
        goto out;
    began = false;
    ret = catalog_tx_end(c, 0, err);
    if (ret)
        goto out;
    *result = json_deep_copy(json_array_get(json_object_get(doc, "resources"), i));
    resource_output(c, json_string_value(json_object_get(doc, "id")), *result);
out:
    if (began)
        catalog_tx_end(c, ret ? ret : -ERR_INTERNAL, NULL);
    if (up)
        unlink(up->tmp_path);
    if (ret)
        upload_undo_run(&undo);
    upload_undo_release(&undo);
    json_decref(doc);
    json_decref(in);
    json_decref(res);
    return ret;
}

int catalog_resource_delete(struct catalog *c, const struct actor *a, json_t *params,
                            json_t **result, struct err *err)
{
    json_t *doc = NULL;
    const char *rid;
    size_t i = 0;
    int ret;

    *result = NULL;
    if (!a || !a->authenticated)
        return err_set(err, ERR_AUTH, NULL, "anonymous users may not delete resources");
    ret = param_id(params, false, &rid, err);
    if (ret)
        return ret;
    ret = catalog_tx_begin(c, err);
    if (ret)
        return ret;
    ret = load_resource(c, a, rid, true, &doc, &i, err);
    if (!ret) {
        json_array_remove(json_object_get(doc, "resources"), i);
        dataset_touch(doc);
        ret = dataset_write(c, doc, err);
        if (!ret)
            ret = dataset_record(c, a, "resource_delete", doc, rid, err);
    }
    ret = catalog_tx_end(c, ret, err);
    if (!ret)
        *result = json_null(); /* CKAN's resource_delete returns None */
    json_decref(doc);
    return ret;
}

/* ---- downloads ---- */

int catalog_resource_file(struct catalog *c, const struct actor *a, const char *dataset,
                          const char *resource_id, struct resource_file *f, struct err *err)
{
    json_t *doc = NULL, *r, *res = NULL;
    const char *hash;
    struct buf name = BUF_INIT;
    struct stat st;
    size_t i;
    int ret;

    memset(f, 0, sizeof(*f));
    if (!dataset || !resource_id || strlen(dataset) > LIMIT_FIELD_MAX) {
        ret = err_set(err, ERR_NOT_FOUND, "id", "resource not found");
        goto out;
    }
    ret = dataset_load_readable(c, a, dataset, &doc, err);
    if (ret)
        goto out;
    json_array_foreach (json_object_get(doc, "resources"), i, r) {
        if (str_eq(json_string_value(json_object_get(r, "id")), resource_id))
            res = r;
    }
    hash = json_string_value(json_object_get(res, "hash"));
    if (hash && starts_with(hash, "sha256:"))
        hash += strlen("sha256:");
    if (!res || !str_eq(json_string_value(json_object_get(res, "url_type")), "upload") ||
        !sha256_hex_ok(hash)) {
        ret = err_set(err, ERR_NOT_FOUND, "id", "resource \"%s\" has no uploaded file",
                      resource_id);
        goto out;
    }
    ret = catalog_privacy_withheld(c, a, doc, resource_id, err);
    if (ret)
        goto out;
    f->path = content_path(c, hash);
    if (dataset_restricted(doc)) {
        /* Encrypted at rest (upload_store); a file uploaded before the dataset became
         * restricted is still the plain one. */
        char *enc = xstrfmt("%s.enc", f->path);

        if (!stat(enc, &st)) {
            free(f->path);
            f->path = enc;
            f->encrypted = true;
        } else {
            free(enc);
        }
    }
    if (!dataset_restricted(doc) && stat(f->path, &st)) {
        /* Uploaded while the dataset was restricted, which it is no more: its file is
         * public now, and its plain content-addressed copy is made once, from the one
         * encrypted at rest. */
        ret = plain_restore(c, f->path, resource_id, err);
        if (ret)
            goto out;
    }
    if (stat(f->path, &st)) {
        ret = err_set(err, ERR_NOT_FOUND, "id", "file of resource \"%s\" is missing", resource_id);
        goto out;
    }
    f->size = (uint64_t)st.st_size;
    f->restricted = dataset_restricted(doc);
    xsnprintf(f->sha256_hex, sizeof(f->sha256_hex), "%s", hash);
    f->mimetype = xstrdup(json_string_value(json_object_get(res, "mimetype"))
                                  ? json_string_value(json_object_get(res, "mimetype"))
                                  : "application/octet-stream");
    upload_filename(json_string_value(json_object_get(res, "url")), &name);
    f->filename = buf_detach(&name, NULL);
out:
    if (ret)
        resource_file_release(f);
    buf_release(&name);
    json_decref(doc);
    return ret;
}

int catalog_resource_file_plain(struct catalog *c, struct resource_file *f, struct err *err)
{
    uint8_t key[FILECRYPT_KEY_LEN];
    char *key_path = NULL, *tmp = NULL;
    int fd, ret;

    if (!f->encrypted || f->temporary)
        return 0;
    tmp = xstrfmt("%s/tmp/plain-XXXXXX", c->files_dir);
    fd = mkstemp(tmp);
    if (fd < 0) {
        ret = err_set(err, ERR_INTERNAL, NULL, "cannot create a temporary file in \"%s/tmp\": %s",
                      c->files_dir, strerror(errno));
        goto out;
    }
    close(fd);
    key_path = catalog_file_key_path(c);
    ret = filecrypt_key_load(key_path, false, key, err);
    if (!ret)
        ret = filecrypt_decrypt_file(key, f->path, tmp, err);
    secret_wipe(key, sizeof(key));
    if (ret) {
        unlink(tmp);
        goto out;
    }
    free(f->path);
    f->path = tmp;
    tmp = NULL;
    f->temporary = true;
out:
    free(tmp);
    free(key_path);
    return ret;
}

void resource_file_release(struct resource_file *f)
{
    if (!f)
        return;
    if (f->temporary && f->path)
        unlink(f->path);
    f->temporary = false;
    free(f->path);
    free(f->mimetype);
    free(f->filename);
    f->path = f->mimetype = f->filename = NULL;
}
