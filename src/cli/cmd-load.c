/*
 * cmd-load.c - `kaifang load CATALOG_DIR`: one dataset per sub-folder.
 *
 * For each folder, in name order:
 *   1. read metadata.json (at most LIMIT_METADATA_FILE bytes) and map it (load-map.c);
 *   2. look the dataset up by name; for every data file, either confirm that the
 *      resource of the same name already holds it (same SHA-256: nothing is copied) or
 *      copy it to files/tmp/ while hashing it; any SHA-256 that differs from
 *      metadata.json fails the folder before anything is written;
 *   3. when the dataset exists and neither its mapped fields nor any file changed,
 *      nothing (it counts as unchanged and its metadata_modified stays); else
 *      create the organization if missing, then package_create (new name) or
 *      package_update (existing name: the shown dataset with the mapped fields laid
 *      over it, so what others added, such as groups, stays), then resource_create or
 *      resource_update with the upload for each new or changed file.
 *   4. ingest every ingestible upload of the dataset (CSV, TSV, JSON, XLSX, XLS) into its
 *      datastore table, now (datastore_ingest), unless its table already holds that
 *      file; a file that cannot be ingested is reported as a warning (the dataset and
 *      its file are loaded all the same, as CKAN keeps a resource whose xloader job
 *      failed) and counted in the summary.
 * Every step is a catalog action (one store transaction each) run as the CLI's
 * sysadmin actor. A failing folder is reported and the next one loaded; the command
 * exits 1 when any failed, and when no sub-folder holds a metadata.json at all.
 */
#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <jansson.h>

#include "catalog/catalog.h"
#include "cli/cli-int.h"
#include "dcat/dcat.h"
#include "cli/load-doc.h"
#include "cli/progress.h"
#include "core/buf.h"
#include "core/limits.h"
#include "core/timeutil.h"
#include "crypto/digest.h"
#include "datastore/datastore.h"
#include "core/util.h"

#define COPY_CHUNK           (256u * 1024)
#define STALE_STAGED_SECONDS 3600

struct load_ctx {
    struct portal *portal;
    struct catalog catalog;
    struct actor actor;
    struct progress progress;
    const char *dir;
    json_t *orgs_seen; /* slug → true once known to exist */
    size_t created, updated, unchanged, failed;
    size_t files_uploaded, files_unchanged;
    uint64_t bytes_uploaded;
    size_t tables_ingested, tables_unchanged, tables_failed;
    uint64_t rows_ingested;
};

/* One folder on its way in. */
struct folder {
    char *name;
    struct load_dataset ds;
    bool mapped;
    struct err err; /* set when reading or mapping failed */
    uint64_t bytes; /* sum of the data files' sizes, for the progress bar */
};

/* What step 2 decided for one file. */
struct pending {
    char *tmp_path;     /* a verified copy in files/tmp, or NULL when unchanged */
    const char *res_id; /* id of the same-named existing resource, or NULL */
    char sha256_hex[SHA256_HEX_LEN];
    uint64_t size;
};

static int cmp_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The sub-folders of dir, sorted; hidden ones skipped. */
static int list_folders(const char *dir, char ***names, size_t *n, struct err *err)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    size_t alloc = 0;
    int ret = 0;

    *names = NULL;
    *n = 0;
    if (!d) {
        ret = err_set(err, ERR_NOT_FOUND, NULL, "cannot open catalog directory \"%s\": %s", dir,
                      strerror(errno));
        goto out;
    }
    while ((e = readdir(d))) {
        struct stat st;

        if (e->d_name[0] == '.')
            continue;
        /* A symbolic link to a folder is listed so that it is reported (and refused)
         * rather than silently skipped or followed. */
        if (fstatat(dirfd(d), e->d_name, &st, 0) < 0 || !S_ISDIR(st.st_mode))
            continue;
        ALLOC_GROW(*names, *n + 1, alloc);
        (*names)[(*n)++] = xstrdup(e->d_name);
    }
    if (*n)
        qsort(*names, *n, sizeof(**names), cmp_names);
out:
    if (d)
        closedir(d);
    return ret;
}

/*
 * Opens a file of a catalog folder for reading: only a regular file, never through a
 * symbolic link (a data file linked to /etc/passwd, with its SHA-256 in metadata.json,
 * must not be published). O_NOFOLLOW refuses a link as the last component, O_NONBLOCK
 * keeps a FIFO from blocking the open, and fstat() on the descriptor checks what was
 * opened, so nothing can be swapped in between a check and the open. name: how
 * messages call the file; field: the err field. *fd: the descriptor on success, else
 * -1. -ERR_VALIDATION for a link or a non-regular file, -ERR_NOT_FOUND when it cannot
 * be opened.
 */
static int open_regular(const char *path, const char *name, const char *field, int *fd,
                        struct stat *st, struct err *err)
{
    int ret = 0;

    *fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
    if (*fd < 0 && errno == ELOOP)
        ret = err_set(err, ERR_VALIDATION, field, "\"%s\" is a symbolic link, not a regular file",
                      name);
    else if (*fd < 0 || fstat(*fd, st) < 0)
        ret = err_set(err, ERR_NOT_FOUND, field, "cannot open \"%s\": %s", name, strerror(errno));
    else if (!S_ISREG(st->st_mode))
        ret = err_set(err, ERR_VALIDATION, field, "\"%s\" is not a regular file", name);
    if (ret && *fd >= 0) {
        close(*fd);
        *fd = -1;
    }
    return ret;
}

static int read_metadata(const char *path, json_t **out, struct err *err)
{
    struct stat st;
    struct buf b = BUF_INIT;
    char chunk[8192];
    json_error_t jerr;
    int fd = -1, ret = 0;

    *out = NULL;
    buf_init(&b, LIMIT_METADATA_FILE);
    ret = open_regular(path, "metadata.json", "metadata.json", &fd, &st, err);
    if (ret)
        goto out;
    for (;;) {
        ssize_t n = read(fd, chunk, sizeof(chunk));

        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            ret = err_set(err, ERR_INTERNAL, "metadata.json", "cannot read \"metadata.json\": %s",
                          strerror(errno));
            goto out;
        }
        if (n == 0)
            break;
        buf_add(&b, chunk, (size_t)n);
        if (buf_failed(&b)) {
            ret = err_set(err, ERR_TOO_LARGE, "metadata.json",
                          "\"metadata.json\" is larger than %u bytes", LIMIT_METADATA_FILE);
            goto out;
        }
    }
    *out = json_loadb(b.buf, b.len, JSON_REJECT_DUPLICATES, &jerr);
    if (!*out)
        ret = err_set(err, ERR_VALIDATION, "metadata.json",
                      "invalid JSON in \"metadata.json\" at line %d: %s", jerr.line, jerr.text);
out:
    if (fd >= 0)
        close(fd);
    buf_release(&b);
    return ret;
}

/* Whether some listed sub-folder of dir holds a metadata.json (of any kind: a broken one
 * is reported by its folder). Without one, "loaded 0 of 0" would read as success for a
 * mistyped path or a dataset folder passed in place of its parent. */
static bool any_dataset_folder(const char *dir, char **names, size_t n)
{
    bool found = false;

    for (size_t i = 0; i < n && !found; i++) {
        char *path = xstrfmt("%s/%s/metadata.json", dir, names[i]);
        struct stat st;

        found = lstat(path, &st) == 0;
        free(path);
    }
    return found;
}

/* Sets err for a catalog directory without dataset folders; returns err. */
static struct err *no_datasets_error(const char *dir, struct err *err)
{
    char *path = xstrfmt("%s/metadata.json", dir);
    struct stat st;

    if (lstat(path, &st) == 0)
        err_set(err, ERR_VALIDATION, NULL,
                "no dataset folders found in \"%s\": it holds a metadata.json itself, so it is "
                "a dataset folder; pass its parent (the catalog directory) instead",
                dir);
    else
        err_set(err, ERR_VALIDATION, NULL,
                "no dataset folders found in \"%s\": no sub-folder holds a metadata.json", dir);
    free(path);
    return err;
}

/* Step 1 for one folder: read, map and size it. Errors stay in f->err. */
static void folder_prepare(struct load_ctx *ctx, struct folder *f)
{
    char *path = xstrfmt("%s/%s/metadata.json", ctx->dir, f->name), *folder = NULL;
    json_t *meta = NULL;
    struct stat st;

    /* list_folders() lists links to folders so that they are refused here, by name. */
    folder = xstrfmt("%s/%s", ctx->dir, f->name);
    if (lstat(folder, &st) == 0 && S_ISLNK(st.st_mode)) {
        err_set(&f->err, ERR_VALIDATION, NULL, "folder \"%s\" is a symbolic link, not a directory",
                f->name);
        goto out;
    }
    if (read_metadata(path, &meta, &f->err) || load_map(f->name, meta, &f->ds, &f->err))
        goto out;
    f->mapped = true;
    for (size_t i = 0; i < f->ds.nfiles; i++) {
        char *fp = xstrfmt("%s/%s/%s", ctx->dir, f->name, f->ds.files[i].file);
        struct stat fst;

        if (lstat(fp, &fst) == 0 && S_ISREG(fst.st_mode))
            f->bytes += (uint64_t)fst.st_size;
        free(fp);
    }
out:
    free(folder);
    json_decref(meta);
    free(path);
}

static const char *mimetype_for(const char *format)
{
    static const char *const types[][2] = {
            {"CSV", "text/csv"},
            {"TSV", "text/tab-separated-values"},
            {"JSON", "application/json"},
            {"XLS", "application/vnd.ms-excel"},
            {"XLSX", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"},
            {"GeoJSON", "application/geo+json"},
            {"XML", "application/xml"},
            {"TXT", "text/plain"},
            {"ZIP", "application/zip"},
            {"PDF", "application/pdf"},
    };

    for (size_t i = 0; i < ARRAY_SIZE(types); i++) {
        if (!strcmp(types[i][0], format))
            return types[i][1];
    }
    return NULL;
}

/*
 * Reads src, hashing it; with tmp_out, also copies it to a new file in files/tmp and
 * returns its path there (fsync'ed: the catalog links a resource to it). Checks the
 * result against the expected SHA-256. field names the file in messages.
 */
static int hash_file(struct load_ctx *ctx, const char *src, size_t index,
                     const struct load_file *lf, char **tmp_out, struct pending *pd,
                     struct err *err)
{
    char field[ERR_FIELD_MAX], sha_field[ERR_FIELD_MAX], bytes_field[ERR_FIELD_MAX];
    struct sha256_ctx sha;
    bool sha_open = false;
    uint8_t md[SHA256_LEN];
    char *buf = xmalloc(COPY_CHUNK);
    char *tmp = NULL;
    int in = -1, out = -1, ret = 0;
    struct stat st;

    xsnprintf(field, sizeof(field), "resources[%zu].file", index);
    xsnprintf(sha_field, sizeof(sha_field), "resources[%zu].sha256", index);
    xsnprintf(bytes_field, sizeof(bytes_field), "resources[%zu].bytes", index);
    ret = open_regular(src, lf->file, field, &in, &st, err);
    if (ret)
        goto out;
    if (lf->bytes && (uint64_t)st.st_size != lf->bytes) {
        ret = err_set(err, ERR_VALIDATION, bytes_field,
                      "size of \"%s\" differs from metadata.json: %" PRIu64
                      " bytes, expected %" PRIu64,
                      lf->file, (uint64_t)st.st_size, lf->bytes);
        goto out;
    }
    if (tmp_out) {
        tmp = xstrfmt("%s/tmp/load-XXXXXX", ctx->portal->files_dir);
        out = mkostemp(tmp, O_CLOEXEC);
        if (out < 0) {
            ret = err_set(err, ERR_INTERNAL, field, "cannot create a file in \"%s/tmp\": %s",
                          ctx->portal->files_dir, strerror(errno));
            free(tmp);
            tmp = NULL;
            goto out;
        }
        /* Held while the copy exists, so a server starting meanwhile leaves it alone
         * (its sweep of files/tmp removes only files nobody holds). */
        flock(out, LOCK_EX | LOCK_NB);
    }
    sha256_init(&sha);
    sha_open = true;
    pd->size = 0;
    for (;;) {
        ssize_t n = read(in, buf, COPY_CHUNK);

        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            ret = err_set(err, ERR_INTERNAL, field, "cannot read \"%s\": %s", lf->file,
                          strerror(errno));
            goto out;
        }
        if (n == 0)
            break;
        sha256_update(&sha, buf, (size_t)n);
        pd->size += (uint64_t)n;
        for (ssize_t off = 0; out >= 0 && off < n;) {
            ssize_t w = write(out, buf + off, (size_t)(n - off));

            if (w < 0 && errno == EINTR)
                continue;
            if (w < 0) {
                ret = err_set(err, ERR_INTERNAL, field, "cannot write \"%s\": %s", tmp,
                              strerror(errno));
                goto out;
            }
            off += w;
        }
        progress_bytes(&ctx->progress, (uint64_t)n);
    }
    sha256_final(&sha, md);
    sha_open = false;
    hex_encode(md, SHA256_LEN, pd->sha256_hex);
    if (strcmp(pd->sha256_hex, lf->sha256)) {
        ret = err_set(err, ERR_VALIDATION, sha_field,
                      "SHA-256 of \"%s\" differs from metadata.json: %s, expected %s", lf->file,
                      pd->sha256_hex, lf->sha256);
        goto out;
    }
    if (out >= 0 && (fsync(out) < 0 || close(out) < 0)) {
        out = -1;
        ret = err_set(err, ERR_INTERNAL, field, "cannot write \"%s\": %s", tmp, strerror(errno));
        goto out;
    }
    out = -1;
    if (tmp_out) {
        *tmp_out = tmp;
        tmp = NULL;
    }
out:
    if (sha_open)
        sha256_release(&sha);
    if (in >= 0)
        close(in);
    if (out >= 0)
        close(out);
    if (tmp) {
        unlink(tmp);
        free(tmp);
    }
    free(buf);
    return ret;
}

/* The resource of a dataset doc with this name, or NULL. */
static json_t *resource_named(json_t *doc, const char *name)
{
    json_t *list = json_object_get(doc, "resources"), *r;
    size_t i;

    json_array_foreach (list, i, r) {
        if (str_eq(json_string_value(json_object_get(r, "name")), name))
            return r;
    }
    return NULL;
}

/* Whether a resource's "hash" names this SHA-256 ("sha256:<hex>", or the bare hex). */
static bool same_hash(json_t *res, const char *hex)
{
    const char *h = json_string_value(json_object_get(res, "hash"));

    if (!h)
        return false;
    if (starts_with(h, "sha256:"))
        h += 7;
    return !strcmp(h, hex);
}

static int ensure_org(struct load_ctx *ctx, const struct load_dataset *ds, struct err *err)
{
    json_t *params = NULL, *result = NULL;
    struct err e = ERR_INIT;
    int ret = 0;

    if (!ds->org_name || json_object_get(ctx->orgs_seen, ds->org_name))
        goto out;
    params = json_pack("{s:s}", "id", ds->org_name);
    ret = catalog_organization_show(&ctx->catalog, &ctx->actor, params, &result, &e);
    if (ret == -ERR_NOT_FOUND) {
        json_decref(params);
        params = json_pack("{s:s,s:s}", "name", ds->org_name, "title", ds->org_title);
        ret = catalog_organization_create(&ctx->catalog, &ctx->actor, params, &result, err);
    } else if (ret) {
        err_set(err, e.kind, e.field, "%s", e.msg);
    }
    if (!ret)
        json_object_set_new(ctx->orgs_seen, ds->org_name, json_true());
out:
    json_decref(params);
    json_decref(result);
    return ret;
}

/* package_update parameters: the shown dataset with the mapped fields laid over it,
 * and the mapped name, description and format on resources matched by name. */
static json_t *update_params(json_t *existing, const struct load_dataset *ds)
{
    json_t *params = json_deep_copy(existing);

    json_object_update(params, ds->package);
    for (size_t i = 0; i < ds->nfiles; i++) {
        json_t *r = resource_named(params, ds->files[i].file);

        if (r)
            json_object_update(r, ds->files[i].resource);
    }
    return params;
}

/* Whether the tag names of a stored dataset are those of the mapped tag list. */
static bool same_tags(json_t *stored, json_t *mapped)
{
    json_t *t;
    size_t i;

    if (json_array_size(stored) != json_array_size(mapped))
        return false;
    json_array_foreach (mapped, i, t) {
        const char *name = json_string_value(json_object_get(t, "name"));
        json_t *u;
        size_t j;
        bool found = false;

        json_array_foreach (stored, j, u) {
            found = found || str_eq(json_string_value(json_object_get(u, "name")), name);
        }
        if (!found)
            return false;
    }
    return true;
}

/* Whether a stored extras list holds exactly the mapped {key, value} pairs (the catalog
 * stores them sorted by key). */
static bool same_extras(json_t *stored, json_t *mapped)
{
    json_t *e;
    size_t i;

    if (json_array_size(stored) != json_array_size(mapped))
        return false;
    json_array_foreach (mapped, i, e) {
        json_t *u;
        size_t j;
        bool found = false;

        json_array_foreach (stored, j, u) {
            found = found || json_equal(u, e);
        }
        if (!found)
            return false;
    }
    return true;
}

/*
 * Whether loading would change nothing: every field the mapping sets equals what
 * package_show gave (tags by name, extras as a set, owner_org by the organization's
 * name), and every file is already the same-named resource's content with the mapped
 * name, description and format. package_update would then only move
 * metadata_modified, so the folder is left alone.
 */
static bool dataset_unchanged(json_t *existing, const struct load_dataset *ds,
                              const struct pending *pd)
{
    const char *key;
    json_t *v;

    json_object_foreach (ds->package, key, v) {
        json_t *have = json_object_get(existing, key);

        if (str_eq(key, "tags")) {
            if (!same_tags(have, v))
                return false;
        } else if (str_eq(key, "extras")) {
            if (!same_extras(have, v))
                return false;
        } else if (str_eq(key, "owner_org")) {
            json_t *org = json_object_get(existing, "organization");

            if (!json_equal(have, v) && !json_equal(json_object_get(org, "name"), v))
                return false;
        } else if (!have || !json_equal(have, v)) {
            return false;
        }
    }
    for (size_t i = 0; i < ds->nfiles; i++) {
        json_t *res = resource_named(existing, ds->files[i].file);

        if (!res || pd[i].tmp_path)
            return false;
        json_object_foreach (ds->files[i].resource, key, v) {
            if (!json_equal(json_object_get(res, key), v))
                return false;
        }
    }
    return true;
}

static int load_folder(struct load_ctx *ctx, struct folder *f, struct err *err)
{
    const struct load_dataset *ds = &f->ds;
    struct pending *pd = xcalloc(ds->nfiles ? ds->nfiles : 1, sizeof(*pd));
    json_t *params = NULL, *existing = NULL, *doc = NULL, *result = NULL;
    struct err e = ERR_INIT;
    const char *dataset_id;
    bool created;
    int ret;

    /* 2. Look the dataset up; verify (and stage) every file before writing. */
    params = json_pack("{s:s}", "id", f->name);
    ret = catalog_package_show(&ctx->catalog, &ctx->actor, params, &existing, &e);
    json_decref(params);
    params = NULL;
    if (ret && ret != -ERR_NOT_FOUND) {
        ret = err_set(err, e.kind, e.field, "%s", e.msg);
        goto out;
    }
    ret = 0;
    for (size_t i = 0; i < ds->nfiles; i++) {
        const struct load_file *lf = &ds->files[i];
        json_t *res = existing ? resource_named(existing, lf->file) : NULL;
        char *src = xstrfmt("%s/%s/%s", ctx->dir, f->name, lf->file);
        bool unchanged = res && same_hash(res, lf->sha256);

        pd[i].res_id = res ? json_string_value(json_object_get(res, "id")) : NULL;
        ret = hash_file(ctx, src, i, lf, unchanged ? NULL : &pd[i].tmp_path, &pd[i], err);
        free(src);
        if (ret)
            goto out;
    }

    /* Nothing to write: metadata_modified stays where it is. */
    if (existing && dataset_unchanged(existing, ds, pd)) {
        ctx->unchanged++;
        ctx->files_unchanged += ds->nfiles;
        goto out;
    }

    /* 3. Write: organization, dataset, resources. */
    if ((ret = ensure_org(ctx, ds, err)))
        goto out;
    created = existing == NULL;
    if (created) {
        ret = catalog_package_create(&ctx->catalog, &ctx->actor, ds->package, &doc, err);
    } else {
        params = update_params(existing, ds);
        ret = catalog_package_update(&ctx->catalog, &ctx->actor, params, &doc, err);
    }
    if (ret)
        goto out;
    dataset_id = json_string_value(json_object_get(doc, "id"));
    for (size_t i = 0; i < ds->nfiles; i++) {
        const struct load_file *lf = &ds->files[i];
        const char *format = json_string_value(json_object_get(lf->resource, "format"));
        struct upload up;
        json_t *rp;

        if (!pd[i].tmp_path) {
            ctx->files_unchanged++;
            continue;
        }
        memset(&up, 0, sizeof(up));
        up.tmp_path = pd[i].tmp_path;
        up.filename = lf->file;
        up.content_type = mimetype_for(format ? format : "");
        up.size = pd[i].size;
        xsnprintf(up.sha256_hex, sizeof(up.sha256_hex), "%s", pd[i].sha256_hex);
        rp = json_deep_copy(lf->resource);
        if (pd[i].res_id) {
            json_object_set_new(rp, "id", json_string(pd[i].res_id));
            json_object_set_new(rp, "package_id", json_string(dataset_id));
            ret = catalog_resource_update(&ctx->catalog, &ctx->actor, rp, &up, &result, err);
        } else {
            json_object_set_new(rp, "package_id", json_string(dataset_id));
            ret = catalog_resource_create(&ctx->catalog, &ctx->actor, rp, &up, &result, err);
        }
        json_decref(rp);
        json_decref(result);
        result = NULL;
        if (ret)
            goto out;
        /* The catalog moved (or removed) the staged copy. */
        free(pd[i].tmp_path);
        pd[i].tmp_path = NULL;
        ctx->files_uploaded++;
        ctx->bytes_uploaded += up.size;
    }
    if (created)
        ctx->created++;
    else
        ctx->updated++;
out:
    for (size_t i = 0; i < ds->nfiles; i++) {
        if (pd[i].tmp_path)
            unlink(pd[i].tmp_path); /* ENOENT when the catalog already removed it */
        free(pd[i].tmp_path);
    }
    free(pd);
    json_decref(params);
    json_decref(existing);
    json_decref(doc);
    return ret;
}

/* Step 4: every ingestible upload of the dataset whose table does not hold its file yet
 * is ingested now. Failures are warnings (see the top of the file). */
static void ingest_folder(struct load_ctx *ctx, const struct folder *f)
{
    json_t *params = json_pack("{s:s}", "id", f->name), *doc = NULL, *r, *report = NULL;
    struct err err = ERR_INIT;
    size_t i;

    if (catalog_package_show(&ctx->catalog, &ctx->actor, params, &doc, &err))
        goto out;
    json_array_foreach (json_object_get(doc, "resources"), i, r) {
        struct datastore_ingest_request req = {0};
        struct ingest_options o = INGEST_OPTIONS_INIT;

        if (!datastore_ingestible(r))
            continue;
        if (datastore_table_current(&ctx->catalog, r)) {
            ctx->tables_unchanged++;
            continue;
        }
        req.resource_id = json_string_value(json_object_get(r, "id"));
        req.opts = o;
        err_clear(&err);
        if (datastore_ingest(&ctx->catalog, &ctx->actor, &req, &report, &err)) {
            progress_clear(&ctx->progress);
            fprintf(stderr, "kaifang load: \"%s\": warning: \"%s\" not ingested: %s\n", f->name,
                    json_string_value(json_object_get(r, "name")), err.msg);
            ctx->tables_failed++;
        } else {
            ctx->tables_ingested++;
            ctx->rows_ingested += (uint64_t)json_integer_value(json_object_get(report, "rows"));
        }
        json_decref(report);
        report = NULL;
    }
out:
    json_decref(params);
    json_decref(doc);
}

/* Removes copies staged by an earlier load that was interrupted (SIGINT, power loss)
 * before the catalog took them. Only old ones: another load may be running now, and a
 * staged copy lives for seconds. */
static void remove_stale_staged(const char *files_dir)
{
    char *tmp = xstrfmt("%s/tmp", files_dir);
    DIR *d = opendir(tmp);
    struct dirent *e;
    time_t now = time(NULL);

    while (d && (e = readdir(d))) {
        struct stat st;

        if (!starts_with(e->d_name, "load-"))
            continue;
        if (fstatat(dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(st.st_mode) &&
            now - st.st_mtime > STALE_STAGED_SECONDS)
            unlinkat(dirfd(d), e->d_name, 0);
    }
    if (d)
        closedir(d);
    free(tmp);
}

/* "kaifang load: "folder": <message>", naming the field when the message does not. */
static void report(struct load_ctx *ctx, const char *folder, const struct err *err)
{
    char quoted[ERR_FIELD_MAX + 2];

    progress_clear(&ctx->progress);
    xsnprintf(quoted, sizeof(quoted), "\"%s\"", err->field);
    if (err->field[0] && !strstr(err->msg, quoted))
        fprintf(stderr, "kaifang load: \"%s\": field \"%s\": %s\n", folder, err->field, err->msg);
    else
        fprintf(stderr, "kaifang load: \"%s\": %s\n", folder, err->msg[0] ? err->msg : "failed");
}

int cli_load_catalog(struct portal *p, const char *catalog_dir)
{
    struct load_ctx ctx;
    struct err err = ERR_INIT;
    struct datastore *ds = NULL;
    struct folder *folders = NULL;
    char **names = NULL;
    size_t n = 0;
    uint64_t total = 0, start = time_mono_us();
    int ret = CLI_OK;

    memset(&ctx, 0, sizeof(ctx));
    ctx.portal = p;
    ctx.dir = catalog_dir;
    ctx.orgs_seen = json_object();
    catalog_init(&ctx.catalog, p->store, p->files_dir, p->cfg.site_url);
    dcat_catalog_derive(&ctx.catalog, &p->cfg);
    ctx.catalog.privacy_k = p->cfg.privacy_k;
    ds = datastore_new(&ctx.catalog);
    if (cli_actor(p->store, &ctx.actor, &err) || list_folders(catalog_dir, &names, &n, &err)) {
        ret = cli_fail("load", &err);
        goto out;
    }
    if (!any_dataset_folder(catalog_dir, names, n)) {
        ret = cli_fail("load", no_datasets_error(catalog_dir, &err));
        goto out;
    }
    remove_stale_staged(p->files_dir);
    folders = xcalloc(n ? n : 1, sizeof(*folders));
    for (size_t i = 0; i < n; i++) {
        folders[i].name = names[i];
        folder_prepare(&ctx, &folders[i]);
        total += folders[i].bytes;
    }
    progress_start(&ctx.progress, "loading", "datasets", n, total);
    for (size_t i = 0; i < n; i++) {
        struct folder *f = &folders[i];

        if (f->mapped) {
            err_clear(&err);
            if (load_folder(&ctx, f, &err))
                f->err = err;
            else
                ingest_folder(&ctx, f);
        }
        if (f->err.kind != ERR_NONE) {
            report(&ctx, f->name, &f->err);
            ctx.failed++;
        }
        progress_items(&ctx.progress, i + 1);
    }
    progress_finish(&ctx.progress);
    printf("loaded %zu of %zu datasets from %s (%zu created, %zu updated, %zu unchanged); "
           "%zu files uploaded (%.1f MB), %zu files unchanged; %.1f s\n",
           ctx.created + ctx.updated + ctx.unchanged, n, catalog_dir, ctx.created, ctx.updated,
           ctx.unchanged, ctx.files_uploaded, (double)ctx.bytes_uploaded / (1024.0 * 1024.0),
           ctx.files_unchanged, (double)(time_mono_us() - start) / 1e6);
    printf("ingested %zu datastore tables (%" PRIu64 " rows), %zu unchanged, %zu failed\n",
           ctx.tables_ingested, ctx.rows_ingested, ctx.tables_unchanged, ctx.tables_failed);
    fflush(stdout);
    if (ctx.failed) {
        fprintf(stderr, "kaifang load: %zu of %zu datasets failed\n", ctx.failed, n);
        ret = CLI_ERROR;
    }
out:
    for (size_t i = 0; i < n; i++) {
        if (folders)
            load_dataset_release(&folders[i].ds);
        free(names[i]);
    }
    free(folders);
    free(names);
    json_decref(ctx.orgs_seen);
    datastore_free(ds);
    catalog_release(&ctx.catalog);
    actor_release(&ctx.actor);
    return ret;
}

int cmd_load(int argc, char **argv)
{
    static const struct cli_option opts[] = {
            {"portal", true}, {"format", true}, {"download", false}};
    struct portal p = {0};
    struct err err = ERR_INIT;
    struct cli_args args;
    struct stat st;
    bool dir;
    int ret;

    ret = cli_parse("load", "load", opts, ARRAY_SIZE(opts), argc, argv, 1, CLI_MAX_ARGS,
                    "CATALOG_DIR | FILE|URL...", &args);
    if (ret)
        goto out;
    /* A directory is a catalog of dataset folders; anything else a metadata document
     * (data.json, DCAT-AP, data package: load-doc.c). */
    dir = args.npos == 1 && stat(args.pos[0], &st) == 0 && S_ISDIR(st.st_mode);
    if (dir && (args.value[1] || args.value[2])) {
        ret = cli_usage("load", "load",
                        "--format and --download apply to documents, not to a catalog directory");
        goto out;
    }
    if (portal_open(&p, portal_dir_choose(args.value[0]), &err)) {
        ret = cli_fail("load", &err);
        goto out;
    }
    if (dir)
        ret = cli_load_catalog(&p, args.pos[0]);
    else
        ret = cli_load_documents(&p, args.pos, args.npos, args.value[1], args.value[2] != NULL);
    /* Also after a partial failure: the datasets that loaded have their entries. */
    cli_ledger_integrate(&p, "load");
out:
    portal_close(&p);
    return ret;
}
