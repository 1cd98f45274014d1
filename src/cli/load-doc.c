/*
 * load-doc.c - `kaifang load FILE|URL …`: metadata documents (data.json, DCAT-AP,
 * data packages) into the catalog. The mapping is src/dcat/import*.c; this file reads
 * the documents, matches the datasets to the catalog, names new ones, and writes.
 *
 * Steps:
 *   1. read every document (a file, or a URL; a DCAT-AP page from a URL brings its
 *      hydra:nextPage pages) and map it; any error stops here, before any write;
 *   2. plan: each dataset is matched to a dataset of the catalog whose extra
 *      "identifier" (else its id: what the exports write as identifier) is the
 *      source's identifier, then keeps its name; a new one gets a name from the source
 *      (a data package's name), its title or its identifier, unique in the catalog and
 *      the document; its publisher is the organization of that title (matched by
 *      title, else created with a slug of it);
 *   3. write: organization, then package_create or package_update (the stored dataset
 *      with the mapped fields laid over it, resources matched by url then name keeping
 *      their ids) — nothing when the mapped fields equal the stored ones;
 *   4. with --download, fetch each resource's URL, store it as an upload
 *      (resource_update) and ingest it into the datastore (Table Schema types when the
 *      resource carries one).
 * NEEDSWORK: each write of step 3 is its own store transaction (the store has no
 * nested transactions, and the catalog actions open their own): the document is
 * checked whole in steps 1–2 against the rules the catalog applies, so a refusal in
 * step 3 means a store failure or a rule the mapping does not know; the datasets
 * written before it stay, and loading the document again finishes the job (they are
 * matched by identifier).
 */
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <jansson.h>

#include "catalog/catalog.h"
#include "cli/cli-int.h"
#include "dcat/dcat.h"
#include "cli/fetch.h"
#include "cli/load-doc.h"
#include "core/buf.h"
#include "core/limits.h"
#include "crypto/digest.h"
#include "datastore/datastore.h"
#include "dcat/dcat-import.h"
#include "core/util.h"

struct doc_ctx {
    struct portal *portal;
    struct catalog catalog;
    struct actor actor;
    struct dcat_import im;
    json_t *by_identifier; /* identifier → stored dataset name */
    json_t *org_by_title;  /* organization title → name */
    json_t *org_ready;     /* organizations this load found or made → true */
    json_t *names;         /* names given in this load → true */
    char **target;         /* per dataset: the name it is written under */
    bool *existing;        /* per dataset: matched a stored dataset */
    char **org;            /* per dataset: organization name, or NULL */
    size_t created, updated, unchanged, downloaded, ingested, ingest_failed;
};

static bool is_url(const char *s)
{
    return starts_with(s, "http://") || starts_with(s, "https://");
}

/* Splits an http(s) URL into fetch_init()'s base and fetch_get()'s path. */
static void url_split(const char *url, char **base, char **path)
{
    const char *host = strstr(url, "://") + 3;
    size_t n = strcspn(host, "/?#");

    *base = xstrfmt("%.*s", (int)(host - url + n), url);
    *path = host[n] == '/' ? xstrdup(host + n) : xstrfmt("/%s", host + n);
}

static int fetch_url(const char *url, struct buf *out, struct err *err)
{
    struct fetch f;
    char *base, *path;
    int ret;

    url_split(url, &base, &path);
    memset(&f, 0, sizeof(f));
    ret = fetch_init(&f, base, err);
    if (!ret)
        ret = fetch_get(&f, path, out, err);
    if (!ret && buf_failed(out))
        ret = err_set(err, ERR_TOO_LARGE, NULL, "\"%s\" is larger than %zu bytes", url,
                      (size_t)FETCH_BODY_MAX);
    fetch_release(&f);
    free(base);
    free(path);
    return ret;
}

static int read_file(const char *path, struct buf *out, struct err *err)
{
    char chunk[65536];
    struct stat st;
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK), ret = 0;

    if (fd < 0 || fstat(fd, &st) < 0) {
        ret = err_set(err, ERR_NOT_FOUND, NULL, "cannot open \"%s\": %s", path, strerror(errno));
        goto out;
    }
    if (!S_ISREG(st.st_mode)) {
        ret = err_set(err, ERR_VALIDATION, NULL, "\"%s\" is not a regular file or a directory",
                      path);
        goto out;
    }
    for (;;) {
        ssize_t n = read(fd, chunk, sizeof(chunk));

        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            ret = err_set(err, ERR_INTERNAL, NULL, "cannot read \"%s\": %s", path, strerror(errno));
            goto out;
        }
        if (n == 0)
            break;
        buf_add(out, chunk, (size_t)n);
        if (buf_failed(out)) {
            ret = err_set(err, ERR_TOO_LARGE, NULL, "\"%s\" is larger than %zu bytes", path,
                          LOAD_DOC_MAX);
            goto out;
        }
    }
out:
    if (fd >= 0)
        close(fd);
    return ret;
}

/* The length of a URL's origin: scheme, "://", host and port ("http://h:1" of
 * "http://h:1/a?b"). */
static size_t origin_len(const char *url)
{
    const char *p = strstr(url, "://");

    return p ? (size_t)(p + 3 - url) + strcspn(p + 3, "/?#") : strlen(url);
}

/* Whether a next page may be followed from src: a page of the same origin (a catalog's
 * pages are its server's; another host, or a local service, is not fetched on a
 * document's word). */
static bool same_origin(const char *src, const char *next)
{
    size_t n = origin_len(src);

    return n == origin_len(next) && !strncasecmp(src, next, n);
}

/* Step 1 for one source: reads it (and, from a URL, the pages after it) and maps it. */
static int read_source(struct doc_ctx *ctx, const char *src, enum dcat_import_format forced,
                       struct err *err)
{
    struct buf b = BUF_INIT;
    char *url = NULL;
    unsigned pages = 0;
    json_t *seen = json_object(); /* the pages read, to stop at a loop */
    int ret = 0;

    json_object_set_new(seen, src, json_true());
    for (const char *at = src; at; at = url) {
        enum dcat_import_format f;
        struct err e = ERR_INIT;

        buf_init(&b, is_url(at) ? FETCH_BODY_MAX : LOAD_DOC_MAX);
        ret = is_url(at) ? fetch_url(at, &b, &e) : read_file(at, &b, &e);
        if (ret) {
            ret = err_set(err, e.kind, e.field, "%s", e.msg);
            goto out;
        }
        f = forced ? forced : dcat_import_detect(b.buf, b.len, at);
        if (!f) {
            ret = err_set(err, ERR_VALIDATION, "format",
                          "cannot tell the format of \"%s\": pass --format datajson, "
                          "dcat-ttl, dcat-rdf, dcat-jsonld or datapackage",
                          at);
            goto out;
        }
        if (is_url(at) || f == DCAT_IMPORT_DATAJSON || f == DCAT_IMPORT_DATAPACKAGE)
            ret = dcat_import_map(f, b.buf, b.len, at, &ctx->im, &e);
        else {
            /* A file's base IRI: its name, so relative IRIs stay recognisable. */
            char *base = xstrfmt("file:%s", at);

            ret = dcat_import_map(f, b.buf, b.len, base, &ctx->im, &e);
            free(base);
        }
        if (ret) {
            ret = err_set(err, e.kind, e.field, "\"%s\": %s", at, e.msg);
            goto out;
        }
        buf_release(&b);
        free(url);
        url = NULL;
        /* Pages of a paged catalog are followed from URLs only: a file's next page is
         * named by its server's URL, which a file on disk cannot vouch for. */
        if (ctx->im.next_page && is_url(src) && is_url(ctx->im.next_page)) {
            const char *next = ctx->im.next_page;

            if (!same_origin(src, next)) {
                ret = err_set(err, ERR_VALIDATION, NULL,
                              "\"%s\": its next page \"%s\" is on another server: not followed",
                              src, next);
                goto out;
            }
            if (json_object_get(seen, next)) {
                ret = err_set(err, ERR_VALIDATION, NULL,
                              "\"%s\": the pages loop (\"%s\" comes again as a next page)", src,
                              next);
                goto out;
            }
            if (++pages >= 100000) {
                ret = err_set(err, ERR_TOO_LARGE, NULL, "\"%s\": more than %u pages", src, pages);
                goto out;
            }
            url = xstrdup(next);
            json_object_set_new(seen, url, json_true());
        }
    }
out:
    free(url);
    buf_release(&b);
    json_decref(seen);
    return ret;
}

/* ---- step 2: the plan -------------------------------------------------------------- */

/* The identifier the exports write for a stored dataset: its extra, else its id. */
static const char *stored_identifier(const json_t *pkg)
{
    json_t *e;
    size_t i;

    json_array_foreach (json_object_get(pkg, "extras"), i, e) {
        if (str_eq(json_string_value(json_object_get(e, "key")), "identifier"))
            return json_string_value(json_object_get(e, "value"));
    }
    return json_string_value(json_object_get(pkg, "id"));
}

static int index_catalog(struct doc_ctx *ctx, struct err *err)
{
    size_t start = 0;
    int ret = 0;

    for (;;) {
        json_t *params = json_pack("{s:s,s:s,s:b,s:b,s:I,s:I}", "q", "", "sort", "name asc",
                                   "include_private", 1, "include_drafts", 1, "rows",
                                   (json_int_t)LIMIT_SEARCH_ROWS_MAX, "start", (json_int_t)start);
        json_t *res = NULL, *list, *pkg;
        size_t i;

        ret = catalog_package_search(&ctx->catalog, &ctx->actor, params, &res, err);
        json_decref(params);
        if (ret)
            return ret;
        list = json_object_get(res, "results");
        json_array_foreach (list, i, pkg) {
            const char *id = stored_identifier(pkg), *name;

            name = json_string_value(json_object_get(pkg, "name"));
            if (id && name && !json_object_get(ctx->by_identifier, id))
                json_object_set_new(ctx->by_identifier, id, json_string(name));
        }
        start += json_array_size(list);
        i = json_array_size(list);
        json_decref(res);
        if (i < LIMIT_SEARCH_ROWS_MAX || start > LIMIT_SEARCH_START_MAX)
            break;
    }
    for (size_t offset = 0;;) {
        json_t *params = json_pack("{s:b,s:I,s:I}", "all_fields", 1, "limit", (json_int_t)25,
                                   "offset", (json_int_t)offset);
        json_t *res = NULL, *o;
        size_t i;

        ret = catalog_organization_list(&ctx->catalog, &ctx->actor, params, &res, err);
        json_decref(params);
        if (ret)
            return ret;
        json_array_foreach (res, i, o) {
            const char *title = json_string_value(json_object_get(o, "title"));

            if (title && !json_object_get(ctx->org_by_title, title))
                json_object_set(ctx->org_by_title, title, json_object_get(o, "name"));
        }
        offset += json_array_size(res);
        i = json_array_size(res);
        json_decref(res);
        if (!i)
            break;
    }
    return 0;
}

/* Appends the CKAN-name form of s: lower-case ASCII letters and digits, every other
 * run one '-'. */
static void name_add(struct buf *b, const char *s)
{
    bool dash = false;

    for (; *s && b->len < 90; s++) {
        char c = *s;

        if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' ||
            (c >= 'A' && c <= 'Z')) {
            if (dash && b->len)
                buf_addch(b, '-');
            dash = false;
            buf_addch(b, c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
        } else {
            dash = true;
        }
    }
}

/* Whether a name is taken: in the catalog (as a name or an id) or in this load. */
static bool name_taken(struct doc_ctx *ctx, const char *name)
{
    json_t *params, *res = NULL;
    struct err e = ERR_INIT;
    int ret;

    if (json_object_get(ctx->names, name) || str_eq(name, "new") || str_eq(name, "edit") ||
        str_eq(name, "search"))
        return true;
    params = json_pack("{s:s,s:b}", "id", name, "include_drafts", 1);
    ret = catalog_package_show(&ctx->catalog, &ctx->actor, params, &res, &e);
    json_decref(params);
    json_decref(res);
    return ret != -ERR_NOT_FOUND;
}

/* A new dataset's name: the source's, else from its title, else its identifier, else
 * "dataset-" and hex of the identifier's SHA-256; "-2", "-3" … until free. */
static char *new_name(struct doc_ctx *ctx, const struct dcat_import_dataset *d)
{
    struct buf b = BUF_INIT;
    size_t base;

    if (d->name)
        buf_addstr(&b, d->name);
    if (b.len < LIMIT_NAME_MIN) {
        buf_reset(&b);
        name_add(&b, json_string_value(json_object_get(d->package, "title")));
    }
    if (b.len < LIMIT_NAME_MIN && d->identifier) {
        buf_reset(&b);
        name_add(&b, d->identifier);
    }
    if (b.len < LIMIT_NAME_MIN) {
        uint8_t md[SHA256_LEN];
        char hex[SHA256_HEX_LEN];
        const char *s = d->identifier ? d->identifier : d->place;

        sha256(s, strlen(s), md);
        hex_encode(md, SHA256_LEN, hex);
        buf_reset(&b);
        buf_addf(&b, "dataset-%.12s", hex);
    }
    base = b.len;
    for (unsigned k = 2; name_taken(ctx, b.buf); k++) {
        buf_setlen(&b, base);
        buf_addf(&b, "-%u", k);
    }
    return buf_detach(&b, NULL);
}

static char *org_for(struct doc_ctx *ctx, const char *publisher)
{
    json_t *known = json_object_get(ctx->org_by_title, publisher);
    char slug[LIMIT_NAME_MAX + 1];
    struct buf b = BUF_INIT;
    size_t base;
    json_t *params, *res = NULL;
    struct err e = ERR_INIT;

    if (known)
        return xstrdup(json_string_value(known));
    load_org_slug(publisher, slug, sizeof(slug));
    buf_addstr(&b, slug);
    base = b.len;
    /* A slug that another organization (of another title) holds: "-2", "-3" … */
    for (unsigned k = 2;; k++) {
        params = json_pack("{s:s}", "id", b.buf);
        if (catalog_organization_show(&ctx->catalog, &ctx->actor, params, &res, &e) ==
            -ERR_NOT_FOUND) {
            json_decref(params);
            break;
        }
        json_decref(params);
        json_decref(res);
        res = NULL;
        buf_setlen(&b, base > LIMIT_NAME_MAX - 8 ? LIMIT_NAME_MAX - 8 : base);
        buf_addf(&b, "-%u", k);
    }
    json_object_set_new(ctx->org_by_title, publisher, json_string(b.buf));
    return buf_detach(&b, NULL);
}

static int plan(struct doc_ctx *ctx, struct err *err)
{
    json_t *seen = json_object();
    int ret = 0;

    ctx->target = xcalloc(ctx->im.n + 1, sizeof(*ctx->target));
    ctx->existing = xcalloc(ctx->im.n + 1, sizeof(*ctx->existing));
    ctx->org = xcalloc(ctx->im.n + 1, sizeof(*ctx->org));
    for (size_t i = 0; i < ctx->im.n; i++) {
        const struct dcat_import_dataset *d = &ctx->im.d[i];
        json_t *match = d->identifier ? json_object_get(ctx->by_identifier, d->identifier) : NULL;

        if (d->identifier && json_object_get(seen, d->identifier)) {
            ret = err_set(err, ERR_VALIDATION, "identifier",
                          "identifier \"%.200s\" appears twice (%s and %s)", d->identifier,
                          json_string_value(json_object_get(seen, d->identifier)), d->place);
            goto out;
        }
        if (d->identifier)
            json_object_set_new(seen, d->identifier, json_string(d->place));
        if (match) {
            ctx->target[i] = xstrdup(json_string_value(match));
            ctx->existing[i] = true;
        } else {
            ctx->target[i] = new_name(ctx, d);
        }
        json_object_set_new(ctx->names, ctx->target[i], json_true());
        if (d->publisher)
            ctx->org[i] = org_for(ctx, d->publisher);
    }
out:
    json_decref(seen);
    return ret;
}

/* ---- step 3: writes ------------------------------------------------------------------- */

static int ensure_org(struct doc_ctx *ctx, const char *name, const char *title, struct err *err)
{
    json_t *params, *res = NULL;
    struct err e = ERR_INIT;
    int ret;

    /* Once per organization: organization_show counts its datasets, a cost that grows
     * with each one written (quadratic over a document of one publisher). */
    if (json_object_get(ctx->org_ready, name))
        return 0;
    params = json_pack("{s:s}", "id", name);
    ret = catalog_organization_show(&ctx->catalog, &ctx->actor, params, &res, &e);

    json_decref(params);
    json_decref(res);
    res = NULL;
    if (ret == -ERR_NOT_FOUND) {
        params = json_pack("{s:s,s:s}", "name", name, "title", title);
        ret = catalog_organization_create(&ctx->catalog, &ctx->actor, params, &res, err);
        json_decref(params);
        json_decref(res);
    } else if (ret) {
        ret = err_set(err, e.kind, e.field, "%s", e.msg);
    }
    if (!ret)
        json_object_set_new(ctx->org_ready, name, json_true());
    return ret;
}

/* The stored resource a mapped one updates: same url, else same name, not taken yet. */
static json_t *resource_match(json_t *stored, json_t *r, json_t *used)
{
    const char *keys[] = {"url", "name"};
    json_t *s;
    size_t i;

    for (size_t k = 0; k < ARRAY_SIZE(keys); k++) {
        const char *v = json_string_value(json_object_get(r, keys[k]));

        json_array_foreach (stored, i, s) {
            const char *id = json_string_value(json_object_get(s, "id"));

            if (v && id && !json_object_get(used, id) &&
                str_eq(json_string_value(json_object_get(s, keys[k])), v)) {
                json_object_set_new(used, id, json_true());
                return s;
            }
        }
    }
    return NULL;
}

/* Whether every mapped field already has its value (tags and extras as sets). */
static bool same_fields(json_t *have, json_t *want)
{
    const char *key;
    json_t *v;

    json_object_foreach (want, key, v) {
        json_t *h = json_object_get(have, key), *x, *y;
        size_t i, j;

        if (str_eq(key, "tags") || str_eq(key, "extras")) {
            if (json_array_size(h) < json_array_size(v))
                return false;
            json_array_foreach (v, i, x) {
                bool found = false;

                json_array_foreach (h, j, y) {
                    found = found || (str_eq(key, "tags") ? json_equal(json_object_get(x, "name"),
                                                                       json_object_get(y, "name"))
                                                          : json_equal(x, y));
                }
                if (!found)
                    return false;
            }
        } else if (!str_eq(key, "resources") && !json_equal(h, v)) {
            return false;
        }
    }
    return true;
}

static int write_dataset(struct doc_ctx *ctx, size_t i, json_t **doc, struct err *err)
{
    const struct dcat_import_dataset *d = &ctx->im.d[i];
    json_t *params = NULL, *stored = NULL, *resources, *used = json_object(), *r;
    struct err e = ERR_INIT;
    bool changed = !ctx->existing[i];
    size_t k;
    int ret = 0;

    *doc = NULL;
    if (ctx->org[i] && (ret = ensure_org(ctx, ctx->org[i], d->publisher, err)))
        goto out;
    if (!ctx->existing[i]) {
        params = json_deep_copy(d->package);
        json_object_set_new(params, "name", json_string(ctx->target[i]));
        if (ctx->org[i])
            json_object_set_new(params, "owner_org", json_string(ctx->org[i]));
        ret = catalog_package_create(&ctx->catalog, &ctx->actor, params, doc, err);
        if (!ret)
            ctx->created++;
        goto out;
    }
    params = json_pack("{s:s,s:b}", "id", ctx->target[i], "include_drafts", 1);
    ret = catalog_package_show(&ctx->catalog, &ctx->actor, params, &stored, &e);
    json_decref(params);
    params = NULL;
    if (ret) {
        ret = err_set(err, e.kind, e.field, "%s", e.msg);
        goto out;
    }
    /* The stored dataset with the mapped fields over it; extras merged by key. */
    params = json_deep_copy(stored);
    json_object_del(params, "organization");
    {
        json_t *want = json_object_get(d->package, "extras"), *have, *x, *y;
        json_t *merged;

        have = json_object_get(stored, "extras");
        merged = json_deep_copy(have ? have : json_array());
        json_array_foreach (want, k, x) {
            size_t j;
            bool set = false;

            json_array_foreach (merged, j, y) {
                if (json_equal(json_object_get(x, "key"), json_object_get(y, "key"))) {
                    json_array_set(merged, j, x);
                    set = true;
                }
            }
            if (!set)
                json_array_append(merged, x);
        }
        changed = changed || !same_fields(stored, d->package) ||
                  (ctx->org[i] && !str_eq(json_string_value(json_object_get(
                                                  json_object_get(stored, "organization"), "name")),
                                          ctx->org[i]));
        json_object_update(params, d->package);
        json_object_set_new(params, "extras", merged);
    }
    if (ctx->org[i])
        json_object_set_new(params, "owner_org", json_string(ctx->org[i]));
    resources = json_array();
    json_array_foreach (json_object_get(d->package, "resources"), k, r) {
        json_t *s = resource_match(json_object_get(stored, "resources"), r, used);
        json_t *nr = s ? json_deep_copy(s) : json_object();
        const char *key;
        json_t *v;

        if (!s)
            changed = true;
        json_object_foreach (r, key, v) {
            if (s && !json_equal(json_object_get(s, key), v))
                changed = true;
        }
        json_object_update(nr, r);
        json_array_append_new(resources, nr);
    }
    if (json_array_size(resources) != json_array_size(json_object_get(stored, "resources")))
        changed = true;
    json_object_set_new(params, "resources", resources);
    if (!changed) {
        ctx->unchanged++;
        *doc = json_incref(stored);
        goto out;
    }
    ret = catalog_package_update(&ctx->catalog, &ctx->actor, params, doc, err);
    if (!ret)
        ctx->updated++;
out:
    json_decref(params);
    json_decref(stored);
    json_decref(used);
    return ret;
}

/* ---- step 4: downloads ----------------------------------------------------------------- */

/* Fetches url into a new file in files/tmp; *tmp its path. */
static int download(struct doc_ctx *ctx, const char *url, char **tmp, struct upload *up,
                    struct err *err)
{
    struct buf b = BUF_INIT;
    uint8_t md[SHA256_LEN];
    int fd = -1, ret;

    *tmp = NULL;
    buf_init(&b, FETCH_BODY_MAX);
    ret = fetch_url(url, &b, err);
    if (ret)
        goto out;
    *tmp = xstrfmt("%s/tmp/load-XXXXXX", ctx->portal->files_dir);
    fd = mkostemp(*tmp, O_CLOEXEC);
    if (fd < 0) {
        ret = err_set(err, ERR_INTERNAL, NULL, "cannot create a file in \"%s/tmp\": %s",
                      ctx->portal->files_dir, strerror(errno));
        free(*tmp);
        *tmp = NULL;
        goto out;
    }
    flock(fd, LOCK_EX | LOCK_NB);
    for (size_t off = 0; off < b.len;) {
        ssize_t w = write(fd, b.buf + off, b.len - off);

        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0) {
            ret = err_set(err, ERR_INTERNAL, NULL, "cannot write \"%s\": %s", *tmp,
                          strerror(errno));
            goto out;
        }
        off += (size_t)w;
    }
    if (fsync(fd) < 0) {
        ret = err_set(err, ERR_INTERNAL, NULL, "cannot write \"%s\": %s", *tmp, strerror(errno));
        goto out;
    }
    sha256(b.buf, b.len, md);
    hex_encode(md, SHA256_LEN, up->sha256_hex);
    up->size = b.len;
out:
    if (fd >= 0)
        close(fd);
    if (ret && *tmp) {
        unlink(*tmp);
        free(*tmp);
        *tmp = NULL;
    }
    buf_release(&b);
    return ret;
}

/* The file name of a URL's path (its last segment), or "download". */
static char *url_filename(const char *url)
{
    const char *host = strstr(url, "://"), *end, *slash;

    host = host ? host + 3 : url;
    end = host + strcspn(host, "?#");
    slash = end;
    while (slash > host && slash[-1] != '/')
        slash--;
    if (slash == host || slash == end)
        return xstrdup("download");
    return xstrfmt("%.*s", (int)(end - slash), slash);
}

/* The Table Schema a data package gave the resource at url, or NULL. */
static json_t *schema_for(json_t *doc, const char *url)
{
    json_t *e, *all, *schema = NULL;
    size_t i;

    json_array_foreach (json_object_get(doc, "extras"), i, e) {
        if (str_eq(json_string_value(json_object_get(e, "key")), DCAT_IMPORT_SCHEMAS_EXTRA)) {
            all = json_loads(json_string_value(json_object_get(e, "value")), 0, NULL);
            schema = json_incref(json_object_get(all, url));
            json_decref(all);
        }
    }
    return schema;
}

static void download_dataset(struct doc_ctx *ctx, size_t i, json_t *doc)
{
    json_t *r, *res = NULL;
    struct err err = ERR_INIT;
    size_t k;

    json_array_foreach (json_object_get(doc, "resources"), k, r) {
        const char *url = json_string_value(json_object_get(r, "url"));
        json_t *schema = url ? schema_for(doc, url) : NULL;
        struct upload up;
        char *tmp = NULL, *name;
        json_t *rp, *fields = NULL, *report = NULL;

        if (!url || !is_url(url) ||
            str_eq(json_string_value(json_object_get(r, "url_type")), "upload"))
            continue;
        memset(&up, 0, sizeof(up));
        err_clear(&err);
        if (download(ctx, url, &tmp, &up, &err)) {
            fprintf(stderr, "kaifang load: \"%s\": warning: \"%s\" not downloaded: %s\n",
                    ctx->target[i], url, err.msg);
            json_decref(schema);
            continue;
        }
        name = url_filename(url);
        up.tmp_path = tmp;
        up.filename = name;
        up.content_type = json_string_value(json_object_get(r, "mimetype"));
        rp = json_deep_copy(r);
        json_object_del(rp, "url");
        if (catalog_resource_update(&ctx->catalog, &ctx->actor, rp, &up, &res, &err)) {
            fprintf(stderr, "kaifang load: \"%s\": warning: \"%s\" not stored: %s\n",
                    ctx->target[i], url, err.msg);
        } else {
            struct datastore_ingest_request req = {0};
            struct ingest_options o = INGEST_OPTIONS_INIT;

            ctx->downloaded++;
            if (datastore_ingestible(res)) {
                fields = dcat_import_schema_fields(schema);
                req.resource_id = json_string_value(json_object_get(res, "id"));
                req.opts = o;
                req.fields = fields;
                err_clear(&err);
                if (datastore_ingest(&ctx->catalog, &ctx->actor, &req, &report, &err)) {
                    fprintf(stderr, "kaifang load: \"%s\": warning: \"%s\" not ingested: %s\n",
                            ctx->target[i], url, err.msg);
                    ctx->ingest_failed++;
                } else {
                    ctx->ingested++;
                }
            }
        }
        if (tmp)
            unlink(tmp); /* ENOENT once the catalog moved it */
        free(tmp);
        free(name);
        json_decref(rp);
        json_decref(res);
        json_decref(report);
        json_decref(fields);
        json_decref(schema);
        res = NULL;
    }
}

/* ---- the command ------------------------------------------------------------------------ */

int cli_load_documents(struct portal *p, const char *const *srcs, size_t n, const char *format,
                       bool download_files)
{
    struct doc_ctx ctx;
    struct err err = ERR_INIT;
    struct datastore *ds = NULL;
    enum dcat_import_format forced = DCAT_IMPORT_UNKNOWN;
    size_t written = 0;
    int ret = CLI_OK;

    memset(&ctx, 0, sizeof(ctx));
    ctx.portal = p;
    dcat_import_init(&ctx.im);
    ctx.by_identifier = json_object();
    ctx.org_by_title = json_object();
    ctx.org_ready = json_object();
    ctx.names = json_object();
    catalog_init(&ctx.catalog, p->store, p->files_dir, p->cfg.site_url);
    dcat_catalog_derive(&ctx.catalog, &p->cfg);
    ctx.catalog.privacy_k = p->cfg.privacy_k;
    ds = datastore_new(&ctx.catalog);
    if (format && !(forced = dcat_import_format_parse(format))) {
        ret = cli_usage("load", "load",
                        "unknown --format \"%s\" (datajson, dcat-ttl, dcat-rdf, dcat-jsonld or "
                        "datapackage)",
                        format);
        goto out;
    }
    if (cli_actor(p->store, &ctx.actor, &err)) {
        ret = cli_fail("load", &err);
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        if (read_source(&ctx, srcs[i], forced, &err)) {
            fprintf(stderr, "kaifang load: nothing loaded: %s\n", err.msg);
            ret = CLI_ERROR;
            goto out;
        }
    }
    if (!ctx.im.n) {
        fprintf(stderr, "kaifang load: nothing loaded: the documents hold no dataset\n");
        ret = CLI_ERROR;
        goto out;
    }
    if (index_catalog(&ctx, &err) || plan(&ctx, &err)) {
        fprintf(stderr, "kaifang load: nothing loaded: %s\n", err.msg);
        ret = CLI_ERROR;
        goto out;
    }
    for (size_t i = 0; i < ctx.im.n; i++) {
        const struct dcat_import_dataset *d = &ctx.im.d[i];
        json_t *doc = NULL;

        err_clear(&err);
        if (write_dataset(&ctx, i, &doc, &err)) {
            fprintf(stderr,
                    "kaifang load: %s%s%s%s: field \"%s\": %s (%zu datasets before it were "
                    "written; load the document again to finish)\n",
                    d->place, d->identifier ? " (identifier \"" : "",
                    d->identifier ? d->identifier : "", d->identifier ? "\")" : "", err.field,
                    err.msg, written);
            ret = CLI_ERROR;
            goto out;
        }
        written++;
        if (download_files)
            download_dataset(&ctx, i, doc);
        json_decref(doc);
    }
    printf("loaded %zu datasets (%zu created, %zu updated, %zu unchanged)", ctx.im.n, ctx.created,
           ctx.updated, ctx.unchanged);
    if (download_files)
        printf("; %zu files downloaded, %zu datastore tables ingested, %zu failed", ctx.downloaded,
               ctx.ingested, ctx.ingest_failed);
    printf("\n");
    fflush(stdout);
out:
    for (size_t i = 0; i < ctx.im.n; i++) {
        if (ctx.target)
            free(ctx.target[i]);
        if (ctx.org)
            free(ctx.org[i]);
    }
    free(ctx.target);
    free(ctx.existing);
    free(ctx.org);
    dcat_import_release(&ctx.im);
    json_decref(ctx.by_identifier);
    json_decref(ctx.org_by_title);
    json_decref(ctx.org_ready);
    json_decref(ctx.names);
    datastore_free(ds);
    catalog_release(&ctx.catalog);
    actor_release(&ctx.actor);
    return ret;
}
