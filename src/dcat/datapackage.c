/*
 * datapackage.c - a dataset as a Frictionless Data Package (datapackage.org, Data
 * Package 2.0, written so that the 1.0 profiles accept it too), with the Table Schema of
 * every resource that has a datastore table. The mapping is docs/internals/dcat.md,
 * "Frictionless".
 */
#include <jansson.h>

#include "core/timeutil.h"
#include "datastore/datastore.h"
#include "dcat/dcat-int.h"
#include "store/store-datastore.h"
#include "core/util.h"

#define DP_PROFILE "https://datapackage.org/profiles/2.0/datapackage.json"

/*
 * A resource name as the 1.0 profile wants it, ^[-a-z0-9._/]+$: letters lower-cased,
 * any other byte '-' (runs of them one), no '-' at either end. "" when nothing is left.
 */
static void resource_name(const char *name, struct buf *out)
{
    bool dash = false;

    for (const unsigned char *p = (const unsigned char *)(name ? name : ""); *p; p++) {
        int c = *p >= 'A' && *p <= 'Z' ? *p - 'A' + 'a' : *p;

        if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_') {
            if (dash && out->len)
                buf_addch(out, '-');
            dash = false;
            buf_addch(out, c);
        } else {
            dash = true;
        }
    }
}

/* The path of a resource: its URL encoded as a URI, with the second dot of every ".."
 * escaped: the 1.0 profile refuses ".." anywhere in a path (a guard against relative
 * paths that it applies to URLs too). New string. */
static char *resource_path(const char *url)
{
    char *u = dcat_url_encode(url);
    struct buf b = BUF_INIT;

    for (const char *p = u; *p; p++) {
        if (*p == '.' && p > u && p[-1] == '.')
            buf_addstr(&b, "%2E");
        else
            buf_addch(&b, *p);
    }
    free(u);
    return buf_detach(&b, NULL);
}

/*
 * The character encoding of a resource's file, as the datastore's ingest read it (the
 * table's meta: "source": {"sha256", "encoding"}): only while the table comes from the
 * resource's current file, and only for text formats (a workbook has none). Lower-cased
 * into out; "" when unknown. A store failure is an error.
 */
static int resource_encoding(struct catalog *c, const char *rid, const char *hash, char *out,
                             size_t size, struct err *err)
{
    struct store_ds_info info = {0};
    struct err e = ERR_INIT;
    json_t *source;
    const char *sha, *enc;
    int ret;

    out[0] = '\0';
    ret = store_ds_info(c->store, rid, &info, &e);
    if (ret == -ERR_NOT_FOUND) {
        ret = 0;
        goto out;
    }
    if (ret) {
        ret = err_set(err, e.kind, NULL, "%s", e.msg);
        goto out;
    }
    source = json_object_get(info.meta, "source");
    sha = json_string_value(json_object_get(source, "sha256"));
    enc = json_string_value(json_object_get(source, "encoding"));
    if (sha && enc && *enc && hash && !strcmp(hash + 7, sha) && strlen(enc) < size) {
        for (size_t i = 0; enc[i]; i++)
            out[i] = (char)(enc[i] >= 'A' && enc[i] <= 'Z' ? enc[i] - 'A' + 'a' : enc[i]);
        out[strlen(enc)] = '\0';
    }
out:
    store_ds_info_release(&info);
    return ret;
}

static bool license_name_ok(const char *s)
{
    return s && *s &&
           strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._") ==
                   strlen(s);
}

static int resource(struct catalog *c, json_t *res, json_t *names, size_t position, json_t **out,
                    struct err *err)
{
    const char *url = dcat_str(res, "url"), *s, *rid = dcat_str(res, "id");
    const struct dcat_file_format *ff = dcat_file_format(dcat_str(res, "format"));
    char media[128], *path;
    const char *mt = dcat_resource_media_type(res, media, sizeof(media));
    struct buf name = BUF_INIT;
    json_t *r, *size, *schema = NULL;
    struct err e = ERR_INIT;
    int ret = 0;

    *out = NULL;
    if (!dcat_url_ok(url))
        goto out;
    resource_name(dcat_str(res, "name"), &name);
    if (!name.len)
        buf_addf(&name, "resource-%zu", position + 1);
    /* Names are unique within a package: a repeated one gets "-2", "-3" … */
    if (json_object_get(names, name.buf)) {
        size_t base = name.len;

        for (unsigned k = 2;; k++) {
            buf_setlen(&name, base);
            buf_addf(&name, "-%u", k);
            if (!json_object_get(names, name.buf))
                break;
        }
    }
    json_object_set_new(names, name.buf, json_true());
    path = resource_path(url);
    r = json_pack("{s:s,s:s}", "name", name.buf, "path", path);
    free(path);
    if ((s = dcat_str(res, "name")))
        json_object_set_new(r, "title", json_string(s));
    if ((s = dcat_str(res, "description")))
        json_object_set_new(r, "description", json_string(s));
    if (ff) {
        json_object_set_new(r, "format", json_string(ff->ext));
    } else if ((s = dcat_str(res, "format"))) {
        struct buf lower = BUF_INIT;

        for (const char *p = s; *p; p++)
            buf_addch(&lower, *p >= 'A' && *p <= 'Z' ? *p - 'A' + 'a' : *p);
        json_object_set_new(r, "format", json_string(lower.buf));
        buf_release(&lower);
    }
    if (mt)
        json_object_set_new(r, "mediatype", json_string(mt));
    size = json_object_get(res, "size");
    if (json_is_integer(size) && json_integer_value(size) >= 0)
        json_object_set(r, "bytes", size);
    s = dcat_str(res, "hash");
    if (s && starts_with(s, "sha256:") && strlen(s) == 7 + 64 &&
        strspn(s + 7, "0123456789abcdef") == 64)
        json_object_set_new(r, "hash", json_string(s));
    else
        s = NULL;
    if (rid && s && json_is_true(json_object_get(res, "datastore_active"))) {
        char enc[32];

        ret = resource_encoding(c, rid, s, enc, sizeof(enc), err);
        if (ret) {
            json_decref(r);
            goto out;
        }
        if (enc[0])
            json_object_set_new(r, "encoding", json_string(enc));
    }
    if (rid && json_is_true(json_object_get(res, "datastore_active"))) {
        ret = datastore_table_schema(c, rid, &schema, &e);
        if (ret == -ERR_NOT_FOUND) {
            ret = 0;
        } else if (ret) {
            ret = err_set(err, e.kind, NULL, "%s", e.msg);
            json_decref(r);
            goto out;
        } else if (json_array_size(json_object_get(schema, "fields"))) {
            json_object_set_new(r, "type", json_string("table"));
            json_object_set_new(r, "profile", json_string("tabular-data-resource"));
            json_object_set(r, "schema", schema);
        }
    }
    *out = r;
out:
    json_decref(schema);
    buf_release(&name);
    return ret;
}

int dcat_datapackage(struct catalog *c, const struct dcat_options *o, const char *id_or_name,
                     json_t **out, struct err *err)
{
    json_t *pkg = NULL, *dp = NULL, *resources = json_array(), *names = json_object(), *v, *list;
    const char *s, *name;
    char date[TIME_ISO_MAX], *url;
    struct buf page = BUF_INIT;
    size_t i;
    int ret;

    *out = NULL;
    ret = dcat_show(c, id_or_name, &pkg, err);
    if (ret)
        goto out;
    name = dcat_str(pkg, "name");
    if (!dcat_is_public(pkg)) {
        ret = err_set(err, ERR_NOT_FOUND, NULL,
                      "dataset \"%s\" has no data package: its access level is \"%s\"", name,
                      dcat_access_level(pkg));
        goto out;
    }
    json_array_foreach (json_object_get(pkg, "resources"), i, v) {
        json_t *r;

        ret = resource(c, v, names, i, &r, err);
        if (ret)
            goto out;
        if (r)
            json_array_append_new(resources, r);
    }
    if (!json_array_size(resources)) {
        ret = err_set(err, ERR_NOT_FOUND, NULL,
                      "dataset \"%s\" has no data package: none of its resources has a URL", name);
        goto out;
    }

    dcat_dataset_page(o, pkg, &page);
    url = dcat_url_encode(page.buf);
    dp = json_pack("{s:s,s:s,s:s++,s:s,s:s}", "$schema", DP_PROFILE, "name", name, "id",
                   o->site_url, "/dataset/", dcat_str(pkg, "id"), "title",
                   dcat_str(pkg, "title") ? dcat_str(pkg, "title") : name, "homepage", url);
    free(url);
    BUG_ON(!dp);
    if ((s = dcat_str(pkg, "notes")))
        json_object_set_new(dp, "description", json_string(s));
    if ((s = dcat_str(pkg, "version")))
        json_object_set_new(dp, "version", json_string(s));
    dcat_timestamp(dcat_str(pkg, "metadata_created"), date, sizeof(date));
    if (dcat_date_kind(date) == DCAT_DATE_TIME)
        json_object_set_new(dp, "created", json_string(date));
    list = json_array();
    json_array_foreach (json_object_get(pkg, "tags"), i, v) {
        if ((s = dcat_str(v, "name")))
            json_array_append_new(list, json_string(s));
    }
    if (json_array_size(list))
        json_object_set(dp, "keywords", list);
    json_decref(list);

    url = dcat_license_url(pkg);
    s = dcat_str(pkg, "license_id");
    if (url || (license_name_ok(s) && strcmp(s, "notspecified"))) {
        json_t *l = json_object();

        if (license_name_ok(s) && strcmp(s, "notspecified"))
            json_object_set_new(l, "name", json_string(s));
        if (url) {
            char *u = dcat_url_encode(url);

            json_object_set_new(l, "path", json_string(u));
            free(u);
        }
        if ((s = dcat_str(pkg, "license_title")))
            json_object_set_new(l, "title", json_string(s));
        json_object_set_new(dp, "licenses", json_pack("[o]", l));
    }
    free(url);
    /* "role" is 1.0's, "roles" 2.0's. */
    json_object_set_new(dp, "contributors",
                        json_pack("[{s:s,s:s,s:[s]}]", "title", dcat_publisher_name(o, pkg), "role",
                                  "publisher", "roles", "publisher"));
    s = dcat_str(pkg, "url");
    if (dcat_url_ok(s)) {
        url = dcat_url_encode(s);
        json_object_set_new(dp, "sources",
                            json_pack("[{s:s,s:s}]", "title", "Source", "path", url));
        free(url);
    }
    json_object_set(dp, "resources", resources);
    *out = dp;
    dp = NULL;
out:
    json_decref(pkg);
    json_decref(dp);
    json_decref(resources);
    json_decref(names);
    buf_release(&page);
    return ret;
}
