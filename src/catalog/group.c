/*
 * group.c - organizations and groups (CKAN 2.10 docs: organization_create,
 * organization_show, organization_list, group_create, group_show, group_list) and
 * tag_list. In CKAN both are "groups"; is_organization tells them apart.
 */
#include <jansson.h>

#include "catalog/catalog-int.h"
#include "core/limits.h"
#include "core/timeutil.h"
#include "core/util.h"

/* CKAN's defaults for ckan.group_and_organization_list_max and
 * ckan.group_and_organization_list_all_fields_max. */
#define GROUP_LIST_MAX            1000
#define GROUP_LIST_ALL_FIELDS_MAX 25

static const char *const group_fields[] = {"name", "title", "description", "image_url", "extras"};
static const char *const group_ignored[] = {
        "id",    "created",       "type",         "is_organization",   "approval_status",
        "state", "package_count", "display_name", "image_display_url", "num_followers",
        "users", "groups",        "tags",         "packages",
};

static bool in_list(const char *const *list, size_t n, const char *s)
{
    for (size_t i = 0; i < n; i++)
        if (str_eq(list[i], s))
            return true;
    return false;
}

static int group_create(struct catalog *c, const struct actor *a, json_t *params, bool is_org,
                        json_t **result, struct err *err)
{
    const char *kind = is_org ? "organization" : "group";
    const char *key, *name, *title, *desc, *image;
    json_t *v, *doc = NULL, *other = NULL, *extras;
    char id[UUID_STR_LEN], now[TIME_ISO_MAX];
    struct store_group g = {0};
    int ret;

    *result = NULL;
    if (!a || !a->authenticated || !a->sysadmin)
        return err_set(err, ERR_AUTH, NULL, "only sysadmins may create %s %s", is_org ? "an" : "a",
                       kind);
    if (!json_is_object(params))
        return err_set(err, ERR_BAD_REQUEST, NULL, "parameters must be a JSON object");
    json_object_foreach (params, key, v) {
        if (!in_list(group_fields, ARRAY_SIZE(group_fields), key) &&
            !in_list(group_ignored, ARRAY_SIZE(group_ignored), key))
            return err_set(err, ERR_VALIDATION, key, "unknown field \"%.100s\"", key);
    }
    ret = param_str(params, "name", &name, err);
    if (!ret && !name)
        ret = err_set(err, ERR_VALIDATION, "name", "Missing value");
    if (!ret)
        ret = name_check("name", name, err);
    if (!ret)
        ret = param_str(params, "title", &title, err);
    if (!ret)
        ret = param_str(params, "description", &desc, err);
    if (!ret)
        ret = param_str(params, "image_url", &image, err);
    if (ret)
        return ret;
    if (title && strlen(title) > LIMIT_TITLE_MAX)
        return err_set(err, ERR_VALIDATION, "title", "\"title\" longer than %u bytes",
                       LIMIT_TITLE_MAX);
    if (desc && strlen(desc) > LIMIT_TEXT_MAX)
        return err_set(err, ERR_VALIDATION, "description", "\"description\" longer than %u bytes",
                       LIMIT_TEXT_MAX);
    if (image && strlen(image) > LIMIT_URL_MAX)
        return err_set(err, ERR_VALIDATION, "image_url", "\"image_url\" longer than %u bytes",
                       LIMIT_URL_MAX);
    extras = json_object_get(params, "extras");
    if (extras && !json_is_null(extras) &&
        (!json_is_array(extras) || json_array_size(extras) > LIMIT_EXTRAS_PER_DATASET))
        return err_set(err, ERR_VALIDATION, "extras",
                       "\"extras\" must be a list of {\"key\", \"value\"}");

    secret_uuid4(id);
    time_now_ckan(now);
    doc = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:b, s:s, s:s, s:s, s:[], s:[], "
                    "s:[], s:i}",
                    "id", id, "name", name, "title", title ? title : "", "display_name",
                    title && *title ? title : name, "description", desc ? desc : "", "image_url",
                    image ? image : "", "image_display_url", image ? image : "", "created", now,
                    "is_organization", is_org, "approval_status", "approved", "state", "active",
                    "type", kind, "groups", "tags", "users", "num_followers", 0);
    json_object_set_new(doc, "extras",
                        extras && json_is_array(extras) ? json_deep_copy(extras) : json_array());
    ret = catalog_tx_begin(c, err);
    if (ret)
        goto out;
    /* CKAN keeps groups and organizations in one table: a name is taken for both. The
     * lookup also matches ids, and a name equal to another's id is refused too:
     * lookups try the id first, so that name could never be reached. */
    for (int k = 0; k < 2 && !ret; k++) {
        if (!store_group_get(c->store, k ? !is_org : is_org, name, &other, NULL))
            ret = err_set(err, ERR_CONFLICT, "name", "Group name already exists in database");
        json_decref(other);
        other = NULL;
    }
    if (ret)
        goto end;
    g.id = id;
    g.name = name;
    g.is_organization = is_org;
    g.state = "active";
    g.doc = doc;
    ret = store_group_put(c->store, &g, err);
    if (ret == -ERR_CONFLICT) {
        if (err)
            err_clear(err);
        ret = err_set(err, ERR_CONFLICT, "name", "Group name already exists in database");
    }
    /* CKAN makes the creator an admin of what they create. The entry of the creation
     * covers that membership (its actor is the new admin): one action, one entry. */
    if (!ret)
        ret = store_member_set(c->store, id, a->id, "admin", err);
    if (!ret)
        ret = catalog_record(
                c, a, is_org ? "organization_create" : "group_create", is_org ? name : NULL,
                json_pack("{s:s, s:s}", is_org ? "organization" : "group", id, "name", name), doc,
                err);
end:
    ret = catalog_tx_end(c, ret, err);
    if (!ret) {
        json_object_set_new(doc, "package_count", json_integer(0));
        *result = doc;
        doc = NULL;
    }
out:
    json_decref(doc);
    json_decref(other);
    return ret;
}

int catalog_organization_create(struct catalog *c, const struct actor *a, json_t *params,
                                json_t **result, struct err *err)
{
    return group_create(c, a, params, true, result, err);
}

int catalog_group_create(struct catalog *c, const struct actor *a, json_t *params, json_t **result,
                         struct err *err)
{
    return group_create(c, a, params, false, result, err);
}

/* Datasets of a group or organization visible to the actor: count, and up to rows
 * dicts. */
static int group_datasets(struct catalog *c, const struct actor *a, json_t *g, bool is_org,
                          size_t rows, size_t *count, json_t **docs, struct err *err)
{
    struct store_search s = {0};
    struct store_search_result r = {0};
    struct store_term t = {.is_filter = true};
    struct store_clause cl = {&t, 1};
    const char *gid = json_string_value(json_object_get(g, "id"));
    const char *ids[1] = {gid};
    int ret;

    t.filter.field = is_org ? "owner_org" : "groups";
    t.filter.value = is_org ? gid : json_string_value(json_object_get(g, "name"));
    s.clauses = &cl;
    s.nclauses = 1;
    s.sort = STORE_SORT_NAME;
    s.rows = rows;
    /* Members see their organization's private datasets (CKAN's organization_show). */
    if (a && a->authenticated && a->sysadmin) {
        s.vis.all = true;
    } else if (is_org && actor_capacity(a, gid) >= CAPACITY_MEMBER) {
        s.vis.org_ids = ids;
        s.vis.norg_ids = 1;
    }
    ret = store_dataset_search(c->store, &s, &r, err);
    if (!ret) {
        *count = r.count;
        if (docs) {
            datasets_output(c, r.docs);
            *docs = r.docs ? json_incref(r.docs) : json_array();
        }
    }
    store_search_result_release(&r);
    return ret;
}

static int group_show(struct catalog *c, const struct actor *a, json_t *params, bool is_org,
                      json_t **result, struct err *err)
{
    const char *id;
    json_t *g = NULL, *docs = NULL;
    bool include;
    size_t count = 0;
    int ret;

    *result = NULL;
    ret = param_id(params, false, &id, err);
    if (!ret)
        ret = param_bool(params, "include_datasets", false, &include, err);
    if (ret)
        goto out;
    ret = store_group_get(c->store, is_org, id, &g, NULL);
    if (ret == -ERR_NOT_FOUND ||
        (!ret && !str_eq(json_string_value(json_object_get(g, "state")), "active") &&
         !(a && a->sysadmin))) {
        ret = err_set(err, ERR_NOT_FOUND, "id", "%s \"%s\" not found",
                      is_org ? "organization" : "group", id);
        goto out;
    }
    if (ret) {
        ret = err_set(err, ERR_INTERNAL, NULL, "cannot read %s \"%s\"",
                      is_org ? "organization" : "group", id);
        goto out;
    }
    ret = group_datasets(c, a, g, is_org, include ? LIMIT_SEARCH_ROWS_MAX : 0, &count,
                         include ? &docs : NULL, err);
    if (ret)
        goto out;
    json_object_set_new(g, "package_count", json_integer((json_int_t)count));
    if (include)
        json_object_set(g, "packages", docs);
    *result = g;
    g = NULL;
out:
    json_decref(g);
    json_decref(docs);
    return ret;
}

int catalog_organization_show(struct catalog *c, const struct actor *a, json_t *params,
                              json_t **result, struct err *err)
{
    return group_show(c, a, params, true, result, err);
}

int catalog_group_show(struct catalog *c, const struct actor *a, json_t *params, json_t **result,
                       struct err *err)
{
    return group_show(c, a, params, false, result, err);
}

enum group_sort { SORT_NAME, SORT_TITLE, SORT_COUNT };
struct group_sort_key {
    enum group_sort by;
    bool desc;
};
static _Thread_local struct group_sort_key group_sort_key;

static const char *group_title(json_t *g)
{
    const char *t = json_string_value(json_object_get(g, "title"));

    return t && *t ? t : json_string_value(json_object_get(g, "name"));
}

static int group_cmp(const void *x, const void *y)
{
    json_t *a = *(json_t *const *)x, *b = *(json_t *const *)y;
    int r = 0;

    switch (group_sort_key.by) {
    case SORT_COUNT: {
        json_int_t ca = json_integer_value(json_object_get(a, "package_count"));
        json_int_t cb = json_integer_value(json_object_get(b, "package_count"));

        r = ca < cb ? -1 : ca > cb;
        break;
    }
    case SORT_TITLE:
        r = strcasecmp(group_title(a), group_title(b));
        break;
    case SORT_NAME:
        break;
    }
    if (!r)
        r = strcmp(json_string_value(json_object_get(a, "name")),
                   json_string_value(json_object_get(b, "name")));
    return group_sort_key.desc ? -r : r;
}

static bool icontains(const char *hay, const char *needle)
{
    size_t n = strlen(needle);

    for (; hay && *hay; hay++)
        if (!strncasecmp(hay, needle, n))
            return true;
    return !n;
}

static int group_list(struct catalog *c, const struct actor *a, json_t *params, bool is_org,
                      json_t **result, struct err *err)
{
    const char *sort, *q;
    json_t *all = NULL, *g, *out = NULL;
    json_t **items = NULL;
    bool all_fields;
    int64_t limit, offset, max;
    size_t i, n = 0;
    char field[32] = "", dir[8] = "";
    int ret;

    (void)a;
    *result = NULL;
    ret = param_bool(params, "all_fields", false, &all_fields, err);
    if (!ret)
        ret = param_str(params, "sort", &sort, err);
    if (!ret)
        ret = param_str(params, "q", &q, err);
    if (ret)
        goto out;
    max = all_fields ? GROUP_LIST_ALL_FIELDS_MAX : GROUP_LIST_MAX;
    ret = param_int(params, "limit", 0, LIMIT_LIST_MAX, max, &limit, err);
    if (!ret)
        ret = param_int(params, "offset", 0, INT64_MAX, 0, &offset, err);
    if (ret)
        goto out;
    if (limit > max)
        limit = max;
    group_sort_key.by = SORT_NAME;
    group_sort_key.desc = false;
    if (sort && *sort) {
        const char *sp = strchr(sort, ' ');
        size_t flen = sp ? (size_t)(sp - sort) : strlen(sort);

        if (flen < sizeof(field))
            xsnprintf(field, sizeof(field), "%.*s", (int)flen, sort);
        if (sp && strlen(sp + 1) < sizeof(dir))
            xsnprintf(dir, sizeof(dir), "%s", sp + 1);
        if (str_eq(field, "name"))
            group_sort_key.by = SORT_NAME;
        else if (str_eq(field, "title"))
            group_sort_key.by = SORT_TITLE;
        else if (str_eq(field, "package_count"))
            group_sort_key.by = SORT_COUNT;
        else {
            ret = err_set(err, ERR_VALIDATION, "sort", "Cannot sort by field \"%.40s\"", sort);
            goto out;
        }
        if (!*dir || !strcasecmp(dir, "asc"))
            group_sort_key.desc = false;
        else if (!strcasecmp(dir, "desc"))
            group_sort_key.desc = true;
        else {
            ret = err_set(err, ERR_VALIDATION, "sort", "Cannot sort by \"%.40s\"", sort);
            goto out;
        }
    }
    ret = store_group_list(c->store, is_org, true, 0, 0, &all, err);
    if (ret)
        goto out;
    items = xcalloc(json_array_size(all) + 1, sizeof(*items));
    json_array_foreach (all, i, g) {
        size_t count = 0;

        if (q && *q && !icontains(json_string_value(json_object_get(g, "name")), q) &&
            !icontains(json_string_value(json_object_get(g, "title")), q))
            continue;
        ret = store_group_dataset_count(c->store, is_org,
                                        json_string_value(json_object_get(g, "id")), &count, err);
        if (ret)
            goto out;
        json_object_set_new(g, "package_count", json_integer((json_int_t)count));
        items[n++] = g;
    }
    qsort(items, n, sizeof(*items), group_cmp);
    out = json_array();
    for (i = (size_t)offset; i < n && i < (size_t)offset + (size_t)limit; i++) {
        if (all_fields)
            json_array_append(out, items[i]);
        else
            json_array_append(out, json_object_get(items[i], "name"));
    }
    *result = out;
    out = NULL;
out:
    free(items);
    json_decref(all);
    json_decref(out);
    return ret;
}

int catalog_organization_list(struct catalog *c, const struct actor *a, json_t *params,
                              json_t **result, struct err *err)
{
    return group_list(c, a, params, true, result, err);
}

int catalog_group_list(struct catalog *c, const struct actor *a, json_t *params, json_t **result,
                       struct err *err)
{
    return group_list(c, a, params, false, result, err);
}

int catalog_tag_list(struct catalog *c, const struct actor *a, json_t *params, json_t **result,
                     struct err *err)
{
    const char *query;
    json_t *tags = NULL, *t;
    bool all_fields;
    size_t i;
    int ret;

    (void)a;
    *result = NULL;
    ret = param_str(params, "query", &query, err);
    if (!ret)
        ret = param_bool(params, "all_fields", false, &all_fields, err);
    if (!ret && query && strlen(query) > LIMIT_TAG_MAX)
        ret = err_set(err, ERR_VALIDATION, "query", "\"query\" longer than %u bytes",
                      LIMIT_TAG_MAX);
    if (!ret)
        ret = store_tag_list(c->store, query && *query ? query : NULL, &tags, err);
    if (ret)
        goto out;
    if (all_fields) {
        json_t *list = json_array();

        json_array_foreach (tags, i, t) {
            char id[UUID_STR_LEN];

            tag_id(json_string_value(t), id);
            json_array_append_new(list, json_pack("{s:O, s:s, s:O, s:n}", "display_name", t, "id",
                                                  id, "name", t, "vocabulary_id"));
        }
        *result = list;
    } else {
        *result = tags;
        tags = NULL;
    }
out:
    json_decref(tags);
    return ret;
}
