/*
 * catalog.c - the catalog's shared machinery: parameters as CKAN reads them, who may
 * read or edit a dataset (CKAN's auth functions package_show / package_update), writing
 * a package dict with its search rows, the ledger entries of write actions, and
 * status_show.
 */
#include <jansson.h>

#include "catalog/catalog-int.h"
#include "core/limits.h"
#include "core/parse.h"
#include "ledger/ledger.h"
#include "core/util.h"

#ifndef KAIFANG_VERSION
#define KAIFANG_VERSION "0.1.0"
#endif

void catalog_init(struct catalog *c, struct store *s, const char *files_dir, const char *site_url)
{
    size_t len;

    c->store = s;
    c->derive = NULL;
    c->files_dir = xstrdup(files_dir ? files_dir : "");
    c->site_url = xstrdup(site_url ? site_url : "");
    c->datastore = NULL;
    c->privacy_k = CATALOG_PRIVACY_K;
    c->privacy_scan = NULL;
    len = strlen(c->site_url);
    while (len && c->site_url[len - 1] == '/')
        c->site_url[--len] = '\0';
}

void catalog_release(struct catalog *c)
{
    if (!c)
        return;
    if (c->derive && c->derive->release)
        c->derive->release(c->derive);
    c->derive = NULL;
    free(c->files_dir);
    free(c->site_url);
    c->files_dir = NULL;
    c->site_url = NULL;
    c->store = NULL;
}

int param_str(json_t *params, const char *key, const char **out, struct err *err)
{
    json_t *v = json_object_get(params, key);

    *out = NULL;
    if (!v || json_is_null(v))
        return 0;
    if (!json_is_string(v))
        return err_set(err, ERR_VALIDATION, key, "\"%s\" must be a string", key);
    *out = json_string_value(v);
    return 0;
}

int param_int(json_t *params, const char *key, int64_t min, int64_t max, int64_t def, int64_t *out,
              struct err *err)
{
    json_t *v = json_object_get(params, key);
    const char *digits;
    int64_t n = 0;
    bool range;

    *out = def;
    if (!v || json_is_null(v))
        return 0;
    if (json_is_string(v) && !*json_string_value(v))
        return 0;
    if (json_is_integer(v)) {
        n = json_integer_value(v);
        range = n < min || n > max;
    } else if (!json_is_string(v)) {
        return err_set(err, ERR_VALIDATION, key, "\"%s\" must be an integer", key);
    } else if (parse_i64(json_string_value(v), min, max, &n)) {
        /* Digits that fail are out of range (past min/max, or past 64 bits:
         * "18446744073709551615"); anything else is not an integer. */
        digits = json_string_value(v) + (json_string_value(v)[0] == '-');
        if (!*digits || strspn(digits, "0123456789") != strlen(digits))
            return err_set(err, ERR_VALIDATION, key, "\"%s\" must be an integer", key);
        range = true;
    } else {
        range = false;
    }
    if (range)
        return err_set(err, ERR_VALIDATION, key,
                       "\"%s\" is out of range: it must be between %" PRId64 " and %" PRId64, key,
                       min, max);
    *out = n;
    return 0;
}

int param_bool(json_t *params, const char *key, bool def, bool *out, struct err *err)
{
    json_t *v = json_object_get(params, key);

    *out = def;
    if (!v || json_is_null(v))
        return 0;
    if (json_is_boolean(v)) {
        *out = json_is_true(v);
        return 0;
    }
    if (json_is_string(v) && !parse_bool(json_string_value(v), out))
        return 0;
    if (json_is_integer(v) && (json_integer_value(v) == 0 || json_integer_value(v) == 1)) {
        *out = json_integer_value(v) == 1;
        return 0;
    }
    *out = def;
    return err_set(err, ERR_VALIDATION, key, "\"%s\" must be a boolean", key);
}

int param_id(json_t *params, bool allow_name, const char **out, struct err *err)
{
    int ret;

    ret = param_str(params, "id", out, err);
    if (ret)
        return ret;
    if ((!*out || !**out) && allow_name) {
        ret = param_str(params, "name", out, err);
        if (ret)
            return ret;
    }
    if (!*out || !**out)
        return err_set(err, ERR_VALIDATION, "id", "Missing value");
    if (strlen(*out) > LIMIT_FIELD_MAX)
        return err_set(err, ERR_NOT_FOUND, "id", "not found");
    return 0;
}

/* ---- authorization ---- */

static const char *doc_str(json_t *doc, const char *key)
{
    return json_string_value(json_object_get(doc, key));
}

bool dataset_can_read(const struct actor *a, json_t *doc)
{
    const char *state = doc_str(doc, "state");
    const char *org = doc_str(doc, "owner_org");
    bool priv = json_is_true(json_object_get(doc, "private"));
    enum capacity cap = actor_capacity(a, org);

    if (a && a->authenticated && a->sysadmin)
        return true;
    if (str_eq(state, "active")) {
        if (!priv)
            return true;
        return cap >= CAPACITY_MEMBER;
    }
    /* Drafts: their creator and the organization's editors; deleted: editors only
     * (CKAN: reading a deleted dataset needs package_update rights). */
    if (str_eq(state, "draft")) {
        if (a && a->authenticated && str_eq(doc_str(doc, "creator_user_id"), a->id))
            return true;
    }
    return cap >= CAPACITY_EDITOR;
}

bool dataset_can_edit(const struct actor *a, json_t *doc)
{
    if (!a || !a->authenticated)
        return false;
    if (a->sysadmin)
        return true;
    return actor_capacity(a, doc_str(doc, "owner_org")) >= CAPACITY_EDITOR;
}

int dataset_load_readable(struct catalog *c, const struct actor *a, const char *id_or_name,
                          json_t **doc, struct err *err)
{
    json_t *d = NULL;
    int ret;

    *doc = NULL;
    ret = store_dataset_get(c->store, id_or_name, &d, NULL);
    if (ret == -ERR_NOT_FOUND || (!ret && !dataset_can_read(a, d))) {
        ret = err_set(err, ERR_NOT_FOUND, "id", "dataset \"%s\" not found", id_or_name);
        goto out;
    }
    if (ret) {
        ret = err_set(err, ERR_INTERNAL, NULL, "cannot read dataset \"%s\"", id_or_name);
        goto out;
    }
    *doc = d;
    d = NULL;
out:
    json_decref(d);
    return ret;
}

/* ---- writing a dataset ---- */

struct facet_list {
    struct store_facet *v;
    size_t nr, alloc;
};

static void facet_add(struct facet_list *f, const char *field, const char *value)
{
    if (!value || !*value)
        return;
    for (size_t i = 0; i < f->nr; i++)
        if (str_eq(f->v[i].field, field) && str_eq(f->v[i].value, value))
            return;
    ALLOC_GROW(f->v, f->nr + 1, f->alloc);
    f->v[f->nr].field = field;
    f->v[f->nr].value = value;
    f->nr++;
}

static void text_add(struct buf *b, const char *s)
{
    if (!s || !*s)
        return;
    catalog_search_text(s, b);
}

static void text_add_translated(struct buf *b, json_t *obj)
{
    const char *k;
    json_t *v;

    json_object_foreach (obj, k, v) {
        text_add(b, json_string_value(v));
    }
}

/* The derived text of a dataset (struct catalog_derive) into out: true when there is
 * one. Only public active datasets get one. */
static bool derived_text(struct catalog *c, json_t *doc, struct buf *out)
{
    struct catalog shown;
    json_t *copy;
    bool ok;

    if (!c->derive || json_is_true(json_object_get(doc, "private")) ||
        !str_eq(doc_str(doc, "state"), "active"))
        return false;
    copy = json_deep_copy(doc);
    if (!copy)
        return false;
    /* The dataset as package_show shows it, under the hook's site. */
    shown = *c;
    shown.site_url = (char *)c->derive->site;
    dataset_output(&shown, copy);
    ok = c->derive->derive(c->derive, copy, out) && !buf_failed(out);
    json_decref(copy);
    return ok;
}

/* A copy of obj holding only keys (those it has); anything but an object as it is. */
static json_t *object_keys(json_t *obj, const char *const *keys, size_t n)
{
    json_t *out, *v;

    if (!json_is_object(obj))
        return json_incref(obj);
    out = json_object();
    for (size_t i = 0; i < n; i++)
        if ((v = json_object_get(obj, keys[i])))
            json_object_set(out, keys[i], v);
    return out;
}

char *catalog_dataset_summary(const json_t *doc)
{
    static const char *const org_keys[] = {"name", "title"}, *const zh_keys[] = {"zh_CN", "zh"};
    json_t *sum = json_object(), *res = json_object_get(doc, "resources"), *v, *list;
    char *text;
    size_t i;

    if ((v = json_object_get(doc, "name")))
        json_object_set(sum, "name", v);
    if ((v = json_object_get(doc, "title")))
        json_object_set(sum, "title", v);
    if ((v = json_object_get(doc, "title_translated")))
        json_object_set_new(sum, "title_translated", object_keys(v, zh_keys, 2));
    if ((v = json_object_get(doc, "organization")))
        json_object_set_new(sum, "organization", object_keys(v, org_keys, 2));
    if (json_is_array(res)) {
        list = json_array();
        json_array_foreach (res, i, v) {
            json_t *f = json_object_get(v, "format");

            json_array_append_new(list, f ? json_pack("{s:O}", "format", f) : json_object());
        }
        json_object_set_new(sum, "resources", list);
    }
    text = json_dumps(sum, JSON_COMPACT);
    BUG_ON(!text);
    json_decref(sum);
    return text;
}

int dataset_write(struct catalog *c, json_t *doc, struct err *err)
{
    struct buf title = BUF_INIT, tags = BUF_INIT, text = BUF_INIT, derived = BUF_INIT;
    struct facet_list f = {0};
    const char **rids = NULL;
    size_t nrids = 0, i;
    json_t *v, *res = json_object_get(doc, "resources");
    struct store_dataset d = {0};
    bool priv = json_is_true(json_object_get(doc, "private"));
    char *summary = NULL;
    int ret;

    text_add(&title, doc_str(doc, "title"));
    text_add_translated(&title, json_object_get(doc, "title_translated"));
    json_array_foreach (json_object_get(doc, "tags"), i, v) {
        text_add(&tags, doc_str(v, "name"));
        facet_add(&f, "tags", doc_str(v, "name"));
    }
    text_add(&text, doc_str(doc, "name"));
    text_add(&text, doc_str(doc, "notes"));
    text_add_translated(&text, json_object_get(doc, "notes_translated"));
    text_add(&text, doc_str(doc, "author"));
    text_add(&text, doc_str(doc, "maintainer"));
    text_add(&text, doc_str(doc, "contact_name"));
    text_add(&text, doc_str(doc, "spatial"));
    text_add(&text, doc_str(json_object_get(doc, "organization"), "title"));
    json_array_foreach (json_object_get(doc, "extras"), i, v) {
        text_add(&text, doc_str(v, "value"));
    }
    json_array_foreach (json_object_get(doc, "groups"), i, v) {
        text_add(&text, doc_str(v, "title"));
        facet_add(&f, "groups", doc_str(v, "name"));
    }
    rids = xcalloc(json_array_size(res) + 1, sizeof(*rids));
    json_array_foreach (res, i, v) {
        text_add(&text, doc_str(v, "name"));
        text_add(&text, doc_str(v, "description"));
        facet_add(&f, "res_format", doc_str(v, "format"));
        rids[nrids++] = doc_str(v, "id");
    }
    facet_add(&f, "organization", doc_str(json_object_get(doc, "organization"), "name"));
    facet_add(&f, "license_id", doc_str(doc, "license_id"));
    facet_add(&f, "name", doc_str(doc, "name"));
    facet_add(&f, "id", doc_str(doc, "id"));
    facet_add(&f, "owner_org", doc_str(doc, "owner_org"));
    facet_add(&f, "access_level", doc_str(doc, "access_level"));
    facet_add(&f, "capacity", priv ? "private" : "public");
    /* Internal rows, not facets (see search_visibility() in search.c): state for
     * state:draft, draft_org to hide drafts from mere members, private_active to leave
     * private datasets out when drafts are asked for without include_private. */
    facet_add(&f, "state", doc_str(doc, "state"));
    if (str_eq(doc_str(doc, "state"), "draft"))
        facet_add(&f, "draft_org", doc_str(doc, "owner_org"));
    if (priv && str_eq(doc_str(doc, "state"), "active"))
        facet_add(&f, "private_active", "true");

    if (buf_failed(&title) || buf_failed(&tags) || buf_failed(&text)) {
        ret = err_set(err, ERR_TOO_LARGE, NULL, "dataset text too large to index");
        goto out;
    }
    d.id = doc_str(doc, "id");
    d.name = doc_str(doc, "name");
    d.owner_org = doc_str(doc, "owner_org");
    d.state = doc_str(doc, "state");
    d.is_private = priv;
    d.title = doc_str(doc, "title");
    d.metadata_modified = doc_str(doc, "metadata_modified");
    d.metadata_created = doc_str(doc, "metadata_created");
    d.doc = doc;
    d.fts_title = title.buf;
    d.fts_tags = tags.buf;
    d.fts_text = text.buf;
    d.facets = f.v;
    d.nfacets = f.nr;
    d.resource_ids = rids;
    d.nresource_ids = nrids;
    if (derived_text(c, doc, &derived)) {
        d.derived = derived.buf;
        d.derived_len = derived.len;
        d.derived_key = c->derive->key;
    }
    summary = catalog_dataset_summary(doc);
    d.summary = summary;
    ret = store_dataset_put(c->store, &d, err);
    if (ret == -ERR_CONFLICT && str_eq(err ? err->field : "name", "name")) {
        if (err)
            err_clear(err);
        ret = err_set(err, ERR_CONFLICT, "name", "That URL is already in use.");
    }
out:
    buf_release(&title);
    buf_release(&tags);
    buf_release(&text);
    buf_release(&derived);
    free(summary);
    free(f.v);
    free(rids);
    return ret;
}

int catalog_tx_begin(struct catalog *c, struct err *err)
{
    return store_begin(c->store, err);
}

int catalog_tx_end(struct catalog *c, int ret, struct err *err)
{
    if (!ret)
        ret = store_commit(c->store, err);
    if (ret)
        store_rollback(c->store);
    return ret;
}

/* ---- the ledger ---- */

int catalog_record(struct catalog *c, const struct actor *a, const char *type, const char *org,
                   json_t *objects, json_t *digest, struct err *err)
{
    struct err e = ERR_INIT;
    int ret;

    BUG_ON(!a || !a->authenticated || !a->name[0]);
    ret = ledger_record(c->store, type, a->name, org, objects, digest, NULL, &e);
    if (ret)
        ret = err_set(err, ERR_INTERNAL, NULL, "cannot record \"%s\" in the ledger: %s", type,
                      e.msg);
    json_decref(objects);
    return ret;
}

int dataset_record(struct catalog *c, const struct actor *a, const char *type, json_t *doc,
                   const char *resource_id, struct err *err)
{
    bool hidden =
            json_is_true(json_object_get(doc, "private")) || str_eq(doc_str(doc, "state"), "draft");
    json_t *objects = json_pack("{s:s?}", "dataset", doc_str(doc, "id"));

    BUG_ON(!objects || !doc_str(doc, "id"));
    /* The ledger is public, but a private or draft dataset is not: its entry carries
     * only the random id (and the organization, so that holdings kept from the public
     * still show), never its name. Once it is published, its update entry names it. */
    if (hidden)
        json_object_set_new(
                objects, "visibility",
                json_string(str_eq(doc_str(doc, "state"), "draft") ? "draft" : "private"));
    else
        json_object_set_new(objects, "name", json_string(doc_str(doc, "name")));
    if (resource_id)
        json_object_set_new(objects, "resource", json_string(resource_id));
    return catalog_record(c, a, type, doc_str(json_object_get(doc, "organization"), "name"),
                          objects, doc, err);
}

/* ---- status_show ---- */

int catalog_status_show(struct catalog *c, const struct actor *a, json_t *params, json_t **result,
                        struct err *err)
{
    (void)a;
    (void)params;
    (void)err;
    *result = json_pack("{s:s, s:s, s:s, s:s, s:[], s:s, s:s}", "site_title", "Kaifang", "site_url",
                        c->site_url, "site_description", "Open government data portal",
                        "ckan_version", "2.10.0", "extensions", "locale_default", "zh_CN",
                        "kaifang_version", KAIFANG_VERSION);
    return 0;
}
