/*
 * import.c - data.json (DCAT-US 1.1) and Frictionless Data Packages read back into
 * package_create parameters: the inverse of datajson.c and datapackage.c, field by
 * field as docs/internals/dcat.md ("Import") lists. DCAT-AP is import-rdf.c.
 */
#include <stdarg.h>
#include <jansson.h>

#include "access/access.h"
#include "catalog/catalog-int.h"
#include "catalog/catalog.h"
#include "core/buf.h"
#include "core/limits.h"
#include "dcat/dcat-int.h"
#include "dcat/import-int.h"
#include "core/util.h"

/* ---- formats ------------------------------------------------------------------------ */

static const char *const format_names[] = {
        [DCAT_IMPORT_UNKNOWN] = "unknown",    [DCAT_IMPORT_DATAJSON] = "datajson",
        [DCAT_IMPORT_TURTLE] = "dcat-ttl",    [DCAT_IMPORT_RDFXML] = "dcat-rdf",
        [DCAT_IMPORT_JSONLD] = "dcat-jsonld", [DCAT_IMPORT_DATAPACKAGE] = "datapackage",
};

enum dcat_import_format dcat_import_format_parse(const char *name)
{
    for (size_t i = 1; name && i < ARRAY_SIZE(format_names); i++) {
        if (!strcmp(name, format_names[i]))
            return (enum dcat_import_format)i;
    }
    return DCAT_IMPORT_UNKNOWN;
}

const char *dcat_import_format_name(enum dcat_import_format f)
{
    return (unsigned)f < ARRAY_SIZE(format_names) ? format_names[f] : "unknown";
}

static bool ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);

    return n >= m && !strcasecmp(s + n - m, suffix);
}

/* The first top-level key of a JSON object text that is one of keys, as its index; -1
 * when none is found in the first 64 KiB. Only a cheap look: the document is parsed
 * properly afterwards. */
static int json_has_key(const char *p, const char *end, const char *key)
{
    size_t n = strlen(key);

    if (end - p > 65536)
        end = p + 65536;
    for (; p + n + 2 <= end; p++) {
        if (*p == '"' && !memcmp(p + 1, key, n) && p[n + 1] == '"')
            return 1;
    }
    return 0;
}

enum dcat_import_format dcat_import_detect(const char *data, size_t len, const char *name)
{
    const char *p = data, *end = data + len;
    enum dcat_import_format hint = DCAT_IMPORT_UNKNOWN;

    if (name) {
        char path[1024];
        size_t n = strcspn(name, "?#");

        xsnprintf(path, sizeof(path), "%.*s", (int)(n < sizeof(path) ? n : sizeof(path) - 1), name);
        if (ends_with(path, ".ttl"))
            hint = DCAT_IMPORT_TURTLE;
        else if (ends_with(path, ".rdf") || ends_with(path, ".xml"))
            hint = DCAT_IMPORT_RDFXML;
        else if (ends_with(path, ".jsonld"))
            hint = DCAT_IMPORT_JSONLD;
        else if (ends_with(path, "datapackage.json"))
            hint = DCAT_IMPORT_DATAPACKAGE;
        else if (ends_with(path, "data.json"))
            hint = DCAT_IMPORT_DATAJSON;
    }
    if (len >= 3 && !memcmp(p, "\xef\xbb\xbf", 3))
        p += 3;
    while (p < end && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r'))
        p++;
    if (p == end)
        return hint;
    if (*p == '[')
        return hint == DCAT_IMPORT_JSONLD ? hint : DCAT_IMPORT_DATAJSON;
    if (*p == '{') {
        if (json_has_key(p, end, "@graph") ||
            (json_has_key(p, end, "@context") && !json_has_key(p, end, "dataset")))
            return DCAT_IMPORT_JSONLD;
        if (json_has_key(p, end, "dataset"))
            return DCAT_IMPORT_DATAJSON;
        if (json_has_key(p, end, "resources"))
            return DCAT_IMPORT_DATAPACKAGE;
        return hint == DCAT_IMPORT_DATAPACKAGE || hint == DCAT_IMPORT_DATAJSON
                       ? hint
                       : DCAT_IMPORT_UNKNOWN;
    }
    if (*p == '<') {
        /* "<?xml" or "<rdf:RDF" is XML; "<http://…> <…>" a Turtle triple. */
        if (p + 1 < end &&
            (p[1] == '?' || p[1] == '!' || (p[1] >= 'a' && p[1] <= 'z') ||
             (p[1] >= 'A' && p[1] <= 'Z')) &&
            !(end - p > 8 && (!memcmp(p, "<http:", 6) || !memcmp(p, "<https:", 7))))
            return DCAT_IMPORT_RDFXML;
        return DCAT_IMPORT_TURTLE;
    }
    if (*p == '@' || *p == '_' || *p == '#' || (end - p > 6 && !strncasecmp(p, "PREFIX", 6)) ||
        (end - p > 4 && !strncasecmp(p, "BASE", 4)))
        return DCAT_IMPORT_TURTLE;
    return hint;
}

/* ---- the dataset list ------------------------------------------------------------------ */

void dcat_import_init(struct dcat_import *im)
{
    memset(im, 0, sizeof(*im));
}

static void dataset_release(struct dcat_import_dataset *d)
{
    json_decref(d->package);
    free(d->identifier);
    free(d->name);
    free(d->publisher);
    free(d->place);
    memset(d, 0, sizeof(*d));
}

void im_truncate(struct dcat_import *im, size_t n)
{
    while (im->n > n)
        dataset_release(&im->d[--im->n]);
}

void dcat_import_release(struct dcat_import *im)
{
    im_truncate(im, 0);
    free(im->d);
    free(im->next_page);
    memset(im, 0, sizeof(*im));
}

struct dcat_import_dataset *im_add(struct dcat_import *im, const char *place)
{
    struct dcat_import_dataset *d;

    ALLOC_GROW(im->d, im->n + 1, im->alloc);
    d = &im->d[im->n++];
    memset(d, 0, sizeof(*d));
    d->package = json_object();
    d->place = xstrdup(place);
    return d;
}

int im_fail(struct err *err, const struct dcat_import_dataset *d, const char *field,
            const char *fmt, ...)
{
    char msg[ERR_MSG_MAX];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (!d)
        return err_set(err, ERR_VALIDATION, field, "%s", msg);
    if (d->identifier)
        return err_set(err, ERR_VALIDATION, field, "%s (%s, identifier \"%.200s\")", msg, d->place,
                       d->identifier);
    return err_set(err, ERR_VALIDATION, field, "%s (%s)", msg, d->place);
}

/* ---- building package parameters ------------------------------------------------------ */

void im_extra(json_t *pkg, const char *key, const char *value)
{
    json_t *extras = json_object_get(pkg, "extras");

    if (!value || !*value)
        return;
    if (!extras) {
        extras = json_array();
        json_object_set_new(pkg, "extras", extras);
    }
    json_array_append_new(extras, json_pack("{s:s,s:s}", "key", key, "value", value));
}

void im_tag(json_t *pkg, const char *tag)
{
    json_t *tags = json_object_get(pkg, "tags"), *t;
    struct err e = ERR_INIT;
    size_t i;

    if (!tag || tag_check(tag, &e))
        return;
    if (!tags) {
        tags = json_array();
        json_object_set_new(pkg, "tags", tags);
    }
    json_array_foreach (tags, i, t) {
        if (str_eq(json_string_value(json_object_get(t, "name")), tag))
            return;
    }
    if (json_array_size(tags) < LIMIT_TAGS_PER_DATASET)
        json_array_append_new(tags, json_pack("{s:s}", "name", tag));
}

/* A URL without its scheme and trailing '/', for comparing licence URLs. */
static size_t url_core(const char *u, const char **start)
{
    size_t n;

    if (!strncasecmp(u, "https://", 8))
        u += 8;
    else if (!strncasecmp(u, "http://", 7))
        u += 7;
    n = strlen(u);
    while (n && u[n - 1] == '/')
        n--;
    *start = u;
    return n;
}

void im_license(json_t *pkg, const char *url)
{
    json_t *list = catalog_licenses(), *l;
    const char *a, *b;
    size_t na, nb, i;

    if (!url || !*url)
        return;
    na = url_core(url, &a);
    json_array_foreach (list, i, l) {
        const char *lu = json_string_value(json_object_get(l, "url"));

        if (!lu || !*lu)
            continue;
        nb = url_core(lu, &b);
        if (na == nb && !memcmp(a, b, na)) {
            json_object_set(pkg, "license_id", json_object_get(l, "id"));
            return;
        }
    }
    json_object_set_new(pkg, "license_id", json_string("notspecified"));
    im_extra(pkg, "source_license_url", url);
}

char *im_format(const char *s)
{
    const struct dcat_file_format *ff = dcat_file_format(s);

    return xstrdup(ff ? ff->name : s);
}

/* A string member: NULL when absent or null; an error naming field otherwise. */
static int get_str(const struct dcat_import_dataset *d, const json_t *obj, const char *key,
                   const char *field, const char **out, struct err *err)
{
    json_t *v = json_object_get(obj, key);

    *out = NULL;
    if (!v || json_is_null(v))
        return 0;
    if (!json_is_string(v))
        return im_fail(err, d, field, "not a string: \"%s\"", field);
    if (json_string_length(v) != strlen(json_string_value(v)))
        return im_fail(err, d, field, "NUL character in \"%s\"", field);
    *out = json_string_length(v) ? json_string_value(v) : NULL;
    return 0;
}

/* A list of strings (a single string counts as a list of one): a new array. */
static int get_list(const struct dcat_import_dataset *d, const json_t *obj, const char *key,
                    const char *field, json_t **out, struct err *err)
{
    json_t *v = json_object_get(obj, key), *x;
    size_t i;

    *out = json_array();
    if (!v || json_is_null(v))
        return 0;
    if (json_is_string(v)) {
        json_array_append(*out, v);
        return 0;
    }
    if (!json_is_array(v))
        return im_fail(err, d, field, "not a list of strings: \"%s\"", field);
    json_array_foreach (v, i, x) {
        if (!json_is_string(x))
            return im_fail(err, d, field, "not a list of strings: \"%s\"", field);
        json_array_append(*out, x);
    }
    return 0;
}

static void set_str(json_t *obj, const char *key, const char *s)
{
    if (s && *s)
        json_object_set_new(obj, key, json_string(s));
}

/* Whether a string is a well-formed URL a resource or dataset may keep. */
static bool url_ok(const char *s)
{
    return dcat_url_ok(s);
}

int im_check(const struct dcat_import_dataset *d, struct err *err)
{
    json_t *pkg = d->package, *v, *r;
    const char *s;
    struct err e = ERR_INIT;
    char tag[64], field[ERR_FIELD_MAX];
    size_t i;

    s = dcat_str(pkg, "title");
    if (!s)
        return im_fail(err, d, "title", "missing title");
    if (strlen(s) > LIMIT_TITLE_MAX)
        return im_fail(err, d, "title", "title longer than %u bytes", LIMIT_TITLE_MAX);
    if ((s = dcat_str(pkg, "notes")) && strlen(s) > LIMIT_TEXT_MAX)
        return im_fail(err, d, "description", "description longer than %u bytes", LIMIT_TEXT_MAX);
    if ((s = dcat_str(pkg, "contact_email")) && access_email_check("contact_email", s, &e))
        return im_fail(err, d, "contactPoint.hasEmail", "invalid e-mail address \"%.200s\"", s);
    if ((s = dcat_str(pkg, "temporal"))) {
        char a[64], b[64];

        if (!dcat_temporal_split(s, a, b, sizeof(a)))
            return im_fail(err, d, "temporal", "invalid ISO 8601 interval \"%.200s\"", s);
    }
    if ((s = dcat_str(pkg, "frequency")) && !dcat_frequency_ok(s))
        return im_fail(err, d, "accrualPeriodicity", "invalid frequency \"%.200s\"", s);
    json_array_foreach (json_object_get(pkg, "language"), i, v) {
        dcat_language_tag(json_string_value(v), tag, sizeof(tag));
        if (!tag[0])
            return im_fail(err, d, "language", "invalid language tag \"%.100s\"",
                           json_string_value(v));
    }
    if ((s = dcat_str(pkg, "url")) && !url_ok(s))
        return im_fail(err, d, "landingPage", "invalid URL \"%.200s\"", s);
    json_array_foreach (json_object_get(pkg, "extras"), i, v) {
        s = dcat_str(v, "value");
        if (s && strlen(s) > LIMIT_TEXT_MAX)
            return im_fail(err, d, dcat_str(v, "key"), "value longer than %u bytes",
                           LIMIT_TEXT_MAX);
    }
    if (json_array_size(json_object_get(pkg, "extras")) > LIMIT_EXTRAS_PER_DATASET)
        return im_fail(err, d, "extras", "more than %u extras", LIMIT_EXTRAS_PER_DATASET);
    if (json_array_size(json_object_get(pkg, "resources")) > LIMIT_RESOURCES_PER_DATASET)
        return im_fail(err, d, "distribution", "more than %u distributions",
                       LIMIT_RESOURCES_PER_DATASET);
    json_array_foreach (json_object_get(pkg, "resources"), i, r) {
        const char *key;

        xsnprintf(field, sizeof(field), "distribution[%zu].url", i);
        if ((s = dcat_str(r, "url")) && !url_ok(s))
            return im_fail(err, d, field, "invalid URL \"%.200s\"", s);
        json_object_foreach (r, key, v) {
            size_t max = str_eq(key, "description") || str_eq(key, "schema") ? LIMIT_TEXT_MAX
                                                                             : LIMIT_FIELD_MAX;

            xsnprintf(field, sizeof(field), "distribution[%zu].%s", i, key);
            if (json_is_string(v) && json_string_length(v) > max)
                return im_fail(err, d, field, "value longer than %zu bytes", max);
        }
    }
    return 0;
}

/* ---- data.json ------------------------------------------------------------------------- */

/* One distribution → one resource (a link). */
static int datajson_distribution(struct dcat_import_dataset *d, json_t *dist, size_t di, size_t i,
                                 json_t *resources, struct err *err)
{
    char field[ERR_FIELD_MAX];
    const char *download, *access, *media, *format, *title, *desc;
    json_t *r = NULL;
    char *f = NULL;
    int ret;

#define FIELD(name)                                                                                \
    (xsnprintf(field, sizeof(field), "dataset[%zu].distribution[%zu]%s", di, i, name), field)
    if (!json_is_object(dist))
        return im_fail(err, d, FIELD(""), "not an object: \"%s\"", field);
    if ((ret = get_str(d, dist, "downloadURL", FIELD(".downloadURL"), &download, err)))
        return ret;
    if (download && !url_ok(download))
        return im_fail(err, d, field, "invalid URL in \"%s\": \"%.200s\"", field, download);
    if ((ret = get_str(d, dist, "accessURL", FIELD(".accessURL"), &access, err)))
        return ret;
    if (access && !url_ok(access))
        return im_fail(err, d, field, "invalid URL in \"%s\": \"%.200s\"", field, access);
    if ((ret = get_str(d, dist, "mediaType", FIELD(".mediaType"), &media, err)))
        return ret;
    if (media && !dcat_media_type_ok(media))
        return im_fail(err, d, field, "invalid media type in \"%s\": \"%.100s\"", field, media);
    if ((ret = get_str(d, dist, "format", FIELD(".format"), &format, err)) ||
        (ret = get_str(d, dist, "title", FIELD(".title"), &title, err)) ||
        (ret = get_str(d, dist, "description", FIELD(".description"), &desc, err)))
        return ret;
#undef FIELD
    r = json_object();
    set_str(r, "url", download ? download : access);
    /* Both given and different: the page is kept beside the file. */
    if (download && access && strcmp(download, access))
        set_str(r, "access_url", access);
    set_str(r, "name", title);
    set_str(r, "description", desc);
    if (format) {
        f = im_format(format);
        set_str(r, "format", f);
    }
    set_str(r, "mimetype", media);
    json_array_append_new(resources, r);
    free(f);
    return 0;
}

/* Appends a list member to the extras as a JSON array (as the exports read them). */
static void extra_list(json_t *pkg, const char *key, json_t *list)
{
    char *text;

    if (!json_array_size(list))
        return;
    text = json_dumps(list, JSON_COMPACT | JSON_ENSURE_ASCII);
    im_extra(pkg, key, text);
    free(text);
}

static int datajson_dataset(struct dcat_import *im, json_t *ds, size_t di, struct err *err)
{
    struct dcat_import_dataset *d;
    char place[64], field[ERR_FIELD_MAX];
    const char *title, *desc, *s, *id;
    json_t *pkg, *list = NULL, *v, *resources = NULL;
    size_t i;
    int ret = 0;

    xsnprintf(place, sizeof(place), "dataset[%zu]", di);
    d = im_add(im, place);
    pkg = d->package;
#define FIELD(name) (xsnprintf(field, sizeof(field), "dataset[%zu].%s", di, name), field)
    if (!json_is_object(ds)) {
        ret = im_fail(err, NULL, place, "not an object: \"%s\"", place);
        goto out;
    }
    if ((ret = get_str(d, ds, "identifier", FIELD("identifier"), &id, err)))
        goto out;
    if (id)
        d->identifier = xstrdup(id);
    if ((ret = get_str(d, ds, "title", FIELD("title"), &title, err)))
        goto out;
    if (!title) {
        ret = im_fail(err, d, field, "missing field \"%s\"", field);
        goto out;
    }
    if (!id) {
        ret = im_fail(err, d, FIELD("identifier"), "missing field \"%s\"", field);
        goto out;
    }
    json_object_set_new(pkg, "title", json_string(title));
    if ((ret = get_str(d, ds, "description", FIELD("description"), &desc, err)))
        goto out;
    /* The export writes the title for a dataset without a description. */
    if (desc && strcmp(desc, title))
        json_object_set_new(pkg, "notes", json_string(desc));

    if ((ret = get_list(d, ds, "keyword", FIELD("keyword"), &list, err)))
        goto out;
    /* [title] is what the export writes for a dataset without tags. */
    if (!(json_array_size(list) == 1 && str_eq(json_string_value(json_array_get(list, 0)), title)))
        json_array_foreach (list, i, v)
            im_tag(pkg, json_string_value(v));
    json_decref(list);
    list = NULL;

    if ((ret = get_str(d, ds, "modified", FIELD("modified"), &s, err)))
        goto out;
    im_extra(pkg, "modified", s);
    if ((ret = get_str(d, ds, "issued", FIELD("issued"), &s, err)))
        goto out;
    im_extra(pkg, "issued", s);
    im_extra(pkg, "identifier", id);

    v = json_object_get(ds, "publisher");
    if (v && !json_is_null(v)) {
        if (!json_is_object(v)) {
            ret = im_fail(err, d, FIELD("publisher"), "not an object: \"%s\"", field);
            goto out;
        }
        if ((ret = get_str(d, v, "name", FIELD("publisher.name"), &s, err)))
            goto out;
        if (s)
            d->publisher = xstrdup(s);
    }
    v = json_object_get(ds, "contactPoint");
    if (v && !json_is_null(v)) {
        if (!json_is_object(v)) {
            ret = im_fail(err, d, FIELD("contactPoint"), "not an object: \"%s\"", field);
            goto out;
        }
        const char *fn, *email;

        if ((ret = get_str(d, v, "fn", FIELD("contactPoint.fn"), &fn, err)))
            goto out;
        if ((ret = get_str(d, v, "hasEmail", FIELD("contactPoint.hasEmail"), &email, err)))
            goto out;
        if (email && starts_with(email, "mailto:"))
            email += 7;
        /* The publisher's name without an address is what the export writes for a
         * dataset that names no contact: not a contact of its own. */
        if (email || !str_eq(fn, d->publisher))
            set_str(pkg, "contact_name", fn);
        set_str(pkg, "contact_email", email);
    }

    if ((ret = get_str(d, ds, "accessLevel", FIELD("accessLevel"), &s, err)))
        goto out;
    if (s && strcmp(s, "public") && strcmp(s, "restricted public") && strcmp(s, "non-public")) {
        ret = im_fail(err, d, field,
                      "\"%s\" must be \"public\", \"restricted public\" or \"non-public\", "
                      "not \"%.100s\"",
                      field, s);
        goto out;
    }
    if (s)
        json_object_set_new(pkg, "access_level", json_string(s));
    /* Data that is not published here stays out of the public catalog. */
    if (s && strcmp(s, "public"))
        json_object_set_new(pkg, "private", json_true());

    static const char *const codes[][2] = {{"bureauCode", "bureau_code"},
                                           {"programCode", "program_code"},
                                           {"references", "references"},
                                           {"theme", "theme"}};
    for (i = 0; i < ARRAY_SIZE(codes); i++) {
        if ((ret = get_list(d, ds, codes[i][0], FIELD(codes[i][0]), &list, err)))
            goto out;
        extra_list(pkg, codes[i][1], list);
        json_decref(list);
        list = NULL;
    }

    if ((ret = get_str(d, ds, "license", FIELD("license"), &s, err)))
        goto out;
    if (s && !url_ok(s)) {
        ret = im_fail(err, d, field, "invalid URL in \"%s\": \"%.200s\"", field, s);
        goto out;
    }
    im_license(pkg, s);

    static const char *const texts[][2] = {
            {"rights", "rights"},
            {"conformsTo", "conforms_to"},
            {"describedBy", "described_by"},
            {"describedByType", "described_by_type"},
            {"isPartOf", "is_part_of"},
            {"primaryITInvestmentUII", "primary_it_investment_uii"},
            {"systemOfRecords", "system_of_records"},
    };
    for (i = 0; i < ARRAY_SIZE(texts); i++) {
        if ((ret = get_str(d, ds, texts[i][0], FIELD(texts[i][0]), &s, err)))
            goto out;
        im_extra(pkg, texts[i][1], s);
    }
    v = json_object_get(ds, "dataQuality");
    if (json_is_boolean(v))
        im_extra(pkg, "data_quality", json_is_true(v) ? "true" : "false");
    else if (v && !json_is_null(v)) {
        ret = im_fail(err, d, FIELD("dataQuality"), "not a boolean: \"%s\"", field);
        goto out;
    }

    if ((ret = get_str(d, ds, "spatial", FIELD("spatial"), &s, err)))
        goto out;
    set_str(pkg, "spatial", s);
    if ((ret = get_str(d, ds, "temporal", FIELD("temporal"), &s, err)))
        goto out;
    set_str(pkg, "temporal", s);
    if ((ret = get_str(d, ds, "accrualPeriodicity", FIELD("accrualPeriodicity"), &s, err)))
        goto out;
    set_str(pkg, "frequency", s);
    if ((ret = get_list(d, ds, "language", FIELD("language"), &list, err)))
        goto out;
    if (json_array_size(list))
        json_object_set(pkg, "language", list);
    json_decref(list);
    list = NULL;
    if ((ret = get_str(d, ds, "landingPage", FIELD("landingPage"), &s, err)))
        goto out;
    if (s && !url_ok(s)) {
        ret = im_fail(err, d, field, "invalid URL in \"%s\": \"%.200s\"", field, s);
        goto out;
    }
    set_str(pkg, "url", s);

    v = json_object_get(ds, "distribution");
    resources = json_array();
    if (v && !json_is_null(v) && !json_is_array(v)) {
        ret = im_fail(err, d, FIELD("distribution"), "not a list: \"%s\"", field);
        goto out;
    }
    if (json_array_size(v) > LIMIT_RESOURCES_PER_DATASET) {
        ret = im_fail(err, d, FIELD("distribution"), "more than %u distributions in \"%s\"",
                      LIMIT_RESOURCES_PER_DATASET, field);
        goto out;
    }
    {
        json_t *dist;

        json_array_foreach (v, i, dist) {
            if ((ret = datajson_distribution(d, dist, di, i, resources, err)))
                goto out;
        }
    }
    json_object_set(pkg, "resources", resources);
#undef FIELD
    ret = im_check(d, err);
out:
    json_decref(list);
    json_decref(resources);
    return ret;
}

static int map_datajson(const char *data, size_t len, struct dcat_import *im, struct err *err)
{
    json_error_t jerr;
    json_t *doc = json_loadb(data, len, JSON_REJECT_DUPLICATES, &jerr), *list, *ds;
    size_t i;
    int ret = 0;

    if (!doc) {
        ret = err_set(err, ERR_VALIDATION, NULL, "invalid JSON at line %d, column %d: %s",
                      jerr.line, jerr.column, jerr.text);
        goto out;
    }
    list = json_is_array(doc) ? doc : json_object_get(doc, "dataset");
    if (!json_is_array(list)) {
        ret = err_set(err, ERR_VALIDATION, "dataset",
                      "data.json holds no \"dataset\" list (a DCAT-US catalog is an object "
                      "with \"dataset\": [...])");
        goto out;
    }
    json_array_foreach (list, i, ds) {
        if ((ret = datajson_dataset(im, ds, i, err)))
            goto out;
    }
out:
    json_decref(doc);
    return ret;
}

/* ---- Frictionless Data Package -------------------------------------------------------- */

static bool ckan_name_ok(const char *s)
{
    struct err e = ERR_INIT;

    return s && !name_check("name", s, &e);
}

static int datapackage_resource(struct dcat_import_dataset *d, json_t *res, size_t i,
                                json_t *resources, json_t *schemas, struct err *err)
{
    char field[ERR_FIELD_MAX];
    const char *path, *name, *title, *desc, *format, *media, *hash;
    json_t *r, *v;
    char *f;
    int ret;

#define FIELD(n) (xsnprintf(field, sizeof(field), "resources[%zu]%s", i, n), field)
    if (!json_is_object(res))
        return im_fail(err, d, FIELD(""), "not an object: \"%s\"", field);
    v = json_object_get(res, "path");
    /* A path may be a list of chunks (one file in parts): a resource holds one URL. */
    if (json_is_array(v))
        return im_fail(err, d, FIELD(".path"),
                       "a resource in parts (\"%s\" is a list) cannot be loaded", field);
    if ((ret = get_str(d, res, "path", FIELD(".path"), &path, err)))
        return ret;
    if (!path && json_object_get(res, "data"))
        return im_fail(err, d, FIELD(".data"),
                       "inline data (\"%s\") cannot be loaded: a resource needs a path", field);
    if (!path || !url_ok(path))
        return im_fail(err, d, FIELD(".path"), "\"%s\" is not an http(s) URL: \"%.200s\"", field,
                       path ? path : "");
    if ((ret = get_str(d, res, "name", FIELD(".name"), &name, err)) ||
        (ret = get_str(d, res, "title", FIELD(".title"), &title, err)) ||
        (ret = get_str(d, res, "description", FIELD(".description"), &desc, err)) ||
        (ret = get_str(d, res, "format", FIELD(".format"), &format, err)) ||
        (ret = get_str(d, res, "mediatype", FIELD(".mediatype"), &media, err)) ||
        (ret = get_str(d, res, "hash", FIELD(".hash"), &hash, err)))
        return ret;
    r = json_pack("{s:s}", "url", path);
    set_str(r, "name", title ? title : name);
    set_str(r, "description", desc);
    if (format) {
        f = im_format(format);
        set_str(r, "format", f);
        free(f);
    }
    if (media && dcat_media_type_ok(media))
        set_str(r, "mimetype", media);
    v = json_object_get(res, "bytes");
    if (json_is_integer(v) && json_integer_value(v) >= 0)
        json_object_set(r, "size", v);
    if (hash && starts_with(hash, "sha256:"))
        set_str(r, "hash", hash);
    v = json_object_get(res, "schema");
    if (json_is_object(v)) {
        json_object_set(schemas, path, v);
    } else if (v && !json_is_null(v)) {
        json_decref(r);
        return im_fail(err, d, FIELD(".schema"),
                       "\"%s\" is not an object (a schema by URL is not fetched)", field);
    }
#undef FIELD
    json_array_append_new(resources, r);
    return 0;
}

static int map_datapackage(const char *data, size_t len, struct dcat_import *im, struct err *err)
{
    json_error_t jerr;
    json_t *doc = json_loadb(data, len, JSON_REJECT_DUPLICATES, &jerr), *v, *x, *list = NULL;
    json_t *resources = json_array(), *schemas = json_object();
    struct dcat_import_dataset *d = NULL;
    const char *name, *id, *title, *desc, *s;
    size_t i;
    int ret = 0;

    if (!doc) {
        ret = err_set(err, ERR_VALIDATION, NULL, "invalid JSON at line %d, column %d: %s",
                      jerr.line, jerr.column, jerr.text);
        goto out;
    }
    if (!json_is_object(doc)) {
        ret = err_set(err, ERR_VALIDATION, NULL, "a data package is a JSON object");
        goto out;
    }
    d = im_add(im, "the data package");
    if ((ret = get_str(d, doc, "name", "name", &name, err)) ||
        (ret = get_str(d, doc, "id", "id", &id, err)) ||
        (ret = get_str(d, doc, "title", "title", &title, err)) ||
        (ret = get_str(d, doc, "description", "description", &desc, err)))
        goto out;
    if (id || name)
        d->identifier = xstrdup(id ? id : name);
    /* Kept, so that loading the package again updates the same dataset. */
    im_extra(d->package, "identifier", d->identifier);
    if (ckan_name_ok(name))
        d->name = xstrdup(name);
    if (!title && !name) {
        ret = im_fail(err, d, "title", "missing field \"title\" (and no \"name\")");
        goto out;
    }
    json_object_set_new(d->package, "title", json_string(title ? title : name));
    if (desc && (!title || strcmp(desc, title)))
        json_object_set_new(d->package, "notes", json_string(desc));
    if ((ret = get_str(d, doc, "version", "version", &s, err)))
        goto out;
    set_str(d->package, "version", s);
    if ((ret = get_str(d, doc, "created", "created", &s, err)))
        goto out;
    im_extra(d->package, "issued", s);
    if ((ret = get_list(d, doc, "keywords", "keywords", &list, err)))
        goto out;
    json_array_foreach (list, i, v)
        im_tag(d->package, json_string_value(v));

    v = json_object_get(doc, "licenses");
    if (v && !json_is_array(v)) {
        ret = im_fail(err, d, "licenses", "not a list: \"licenses\"");
        goto out;
    }
    x = json_array_get(v, 0);
    if (x) {
        const char *lname = dcat_str(x, "name"), *lpath = dcat_str(x, "path");
        json_t *l;
        bool known = false;

        const char *table_url = NULL;

        json_array_foreach (catalog_licenses(), i, l) {
            if (lname && str_eq(dcat_str(l, "id"), lname)) {
                known = true;
                table_url = dcat_str(l, "url");
            }
        }
        if (known) {
            json_object_set_new(d->package, "license_id", json_string(lname));
            /* A licence the list knows without a URL, with the source's own URL. */
            if (url_ok(lpath) && !str_eq(table_url, lpath))
                im_extra(d->package, "source_license_url", lpath);
        } else if (url_ok(lpath)) {
            im_license(d->package, lpath);
        }
    }
    json_array_foreach (json_object_get(doc, "contributors"), i, x) {
        json_t *roles = json_object_get(x, "roles"), *r;
        size_t j;
        bool publisher = str_eq(dcat_str(x, "role"), "publisher");

        json_array_foreach (roles, j, r)
            publisher = publisher || str_eq(json_string_value(r), "publisher");
        if (publisher && dcat_str(x, "title") && !d->publisher)
            d->publisher = xstrdup(dcat_str(x, "title"));
    }
    x = json_array_get(json_object_get(doc, "sources"), 0);
    if ((s = dcat_str(x, "path")) && url_ok(s))
        set_str(d->package, "url", s);

    v = json_object_get(doc, "resources");
    if (!json_is_array(v) || !json_array_size(v)) {
        ret = im_fail(err, d, "resources", "missing or empty list \"resources\"");
        goto out;
    }
    if (json_array_size(v) > LIMIT_RESOURCES_PER_DATASET) {
        ret = im_fail(err, d, "resources", "more than %u resources", LIMIT_RESOURCES_PER_DATASET);
        goto out;
    }
    json_array_foreach (v, i, x) {
        if ((ret = datapackage_resource(d, x, i, resources, schemas, err)))
            goto out;
    }
    json_object_set(d->package, "resources", resources);
    /* The Table Schemas, by resource URL, in one extra: a resource's own fields hold at
     * most LIMIT_FIELD_MAX bytes, too few for a schema. One that does not fit in the
     * extra's LIMIT_TEXT_MAX is left out (the ingest then infers the types). */
    if (json_object_size(schemas)) {
        char *text = json_dumps(schemas, JSON_COMPACT | JSON_SORT_KEYS);

        while (text && strlen(text) > LIMIT_TEXT_MAX && json_object_size(schemas)) {
            void *it = json_object_iter(schemas);

            json_object_del(schemas, json_object_iter_key(it));
            free(text);
            text = json_dumps(schemas, JSON_COMPACT | JSON_SORT_KEYS);
        }
        if (json_object_size(schemas))
            im_extra(d->package, DCAT_IMPORT_SCHEMAS_EXTRA, text);
        free(text);
    }
    ret = im_check(d, err);
out:
    json_decref(list);
    json_decref(resources);
    json_decref(schemas);
    json_decref(doc);
    return ret;
}

/* ---- entry points ------------------------------------------------------------------------ */

int dcat_import_map(enum dcat_import_format f, const char *data, size_t len, const char *base,
                    struct dcat_import *im, struct err *err)
{
    size_t before = im->n;
    int ret;

    switch (f) {
    case DCAT_IMPORT_DATAJSON:
        ret = map_datajson(data, len, im, err);
        break;
    case DCAT_IMPORT_DATAPACKAGE:
        ret = map_datapackage(data, len, im, err);
        break;
    case DCAT_IMPORT_TURTLE:
    case DCAT_IMPORT_RDFXML:
    case DCAT_IMPORT_JSONLD:
        ret = im_map_rdf(f, data, len, base ? base : "file:document", im, err);
        break;
    default:
        ret = err_set(err, ERR_VALIDATION, "format", "unknown document format");
        break;
    }
    if (ret)
        im_truncate(im, before);
    return ret;
}

json_t *dcat_import_schema_fields(const json_t *schema)
{
    static const char *const types[][2] = {
            {"string", "text"},  {"integer", "int8"}, {"number", "numeric"},
            {"boolean", "bool"}, {"date", "date"},    {"datetime", "timestamp"},
            {"year", "int8"},
    };
    json_t *fields = json_object_get(schema, "fields"), *f, *out = NULL;
    size_t i;

    if (!json_is_array(fields) || !json_array_size(fields))
        goto out;
    out = json_array();
    json_array_foreach (fields, i, f) {
        const char *name = dcat_str(f, "name"), *type = dcat_str(f, "type"), *t = "text";
        json_t *info = json_object();

        if (!name) {
            json_decref(info);
            json_decref(out);
            out = NULL;
            goto out;
        }
        for (size_t k = 0; type && k < ARRAY_SIZE(types); k++) {
            if (!strcmp(type, types[k][0]))
                t = types[k][1];
        }
        set_str(info, "label", dcat_str(f, "title"));
        set_str(info, "notes", dcat_str(f, "description"));
        json_array_append_new(out, json_pack("{s:s,s:s,s:o}", "id", name, "type", t, "info", info));
    }
out:
    return out;
}
