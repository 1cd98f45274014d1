/*
 * validate.c - dataset and resource input → the package_show dict, with CKAN 2.10's
 * default package schema rules (ckan/logic/schema.py default_create_package_schema,
 * ckan/logic/validators.py name_validator, tag_length_validator, tag_name_validator,
 * email_validator) plus the DCAT-US fields Kaifang publishes at the top level, as
 * ckanext-scheming and ckanext-fluent do.
 */
#include <jansson.h>

#include "catalog/catalog-int.h"
#include "core/limits.h"
#include "core/parse.h"
#include "core/timeutil.h"
#include "core/util.h"

/* ---- names, tags (e-mail addresses: access_email_check(), shared with users) ---- */

int name_check(const char *field, const char *name, struct err *err)
{
    size_t len = strlen(name);

    if (!len)
        return err_set(err, ERR_VALIDATION, field, "Missing value");
    if (len < LIMIT_NAME_MIN)
        return err_set(err, ERR_VALIDATION, field, "Must be at least %u characters long",
                       LIMIT_NAME_MIN);
    if (len > LIMIT_NAME_MAX)
        return err_set(err, ERR_VALIDATION, field, "Name must be a maximum of %u characters long",
                       LIMIT_NAME_MAX);
    for (const char *p = name; *p; p++) {
        if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '-' || *p == '_'))
            return err_set(err, ERR_VALIDATION, field,
                           "Must be purely lowercase alphanumeric (ascii) characters and these "
                           "symbols: -_");
    }
    if (str_eq(name, "new") || str_eq(name, "edit") || str_eq(name, "search"))
        return err_set(err, ERR_VALIDATION, field, "That name cannot be used");
    return 0;
}

int tag_check(const char *tag, struct err *err)
{
    size_t len = strlen(tag), i = 0, n, chars = 0;
    uint32_t cp;

    while (i < len) {
        n = utf8_decode(tag + i, len - i, &cp);
        if (!n ||
            !(is_word_cp(cp) || is_cjk(cp) || cp == ' ' || cp == '-' || cp == '_' || cp == '.'))
            return err_set(err, ERR_VALIDATION, "tags",
                           "Tag \"%s\" must be alphanumeric characters or symbols: -_.", tag);
        i += n;
        chars++;
    }
    if (chars < LIMIT_TAG_MIN)
        return err_set(err, ERR_VALIDATION, "tags", "Tag \"%s\" length is less than minimum %u",
                       tag, LIMIT_TAG_MIN);
    if (chars > LIMIT_TAG_MAX)
        return err_set(err, ERR_VALIDATION, "tags", "Tag \"%.40s…\" length is more than maximum %u",
                       tag, LIMIT_TAG_MAX);
    return 0;
}

void tag_id(const char *name, char out[UUID_STR_LEN])
{
    uint8_t h[SHA256_LEN];
    char hex[SHA256_HEX_LEN];
    struct buf b = BUF_INIT;

    buf_addf(&b, "kaifang-tag:%s", name);
    sha256(b.buf, b.len, h);
    buf_release(&b);
    h[6] = (uint8_t)((h[6] & 0x0f) | 0x50); /* name-based, RFC 9562 version 5 layout */
    h[8] = (uint8_t)((h[8] & 0x3f) | 0x80);
    hex_encode(h, 16, hex);
    xsnprintf(out, UUID_STR_LEN, "%.8s-%.4s-%.4s-%.4s-%.12s", hex, hex + 8, hex + 12, hex + 16,
              hex + 20);
}

/* ---- generic fields ---- */

/* A string member of a dict, or "" when absent or not a string. */
static const char *dstr(json_t *d, const char *key)
{
    const char *s = json_string_value(json_object_get(d, key));

    return s ? s : "";
}

/* A text field: string or null (or absent), at most max bytes. *out: new reference, the
 * string or def (a string, or NULL for JSON null). */
static int text_field(json_t *in, const char *key, size_t max, const char *def, json_t **out,
                      struct err *err)
{
    json_t *v = json_object_get(in, key);

    *out = NULL;
    if (!v || json_is_null(v)) {
        *out = def ? json_string(def) : json_null();
        return 0;
    }
    if (!json_is_string(v))
        return err_set(err, ERR_VALIDATION, key, "\"%s\" must be a string", key);
    if (json_string_length(v) > max)
        return err_set(err, ERR_VALIDATION, key, "\"%s\" longer than %zu bytes", key, max);
    if (!json_string_value(v)[0] && !def) {
        *out = json_string("");
        return 0;
    }
    *out = json_incref(v);
    return 0;
}

static bool lang_tag_ok(const char *s)
{
    size_t seg = 0, i;

    if (!*s || strlen(s) > 35)
        return false;
    for (i = 0; s[i]; i++) {
        char ch = s[i];

        if (ch == '-' || ch == '_') {
            if (!seg)
                return false;
            seg = 0;
            continue;
        }
        if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9')))
            return false;
        if (++seg > 8)
            return false;
    }
    return seg > 0 && (s[0] < '0' || s[0] > '9');
}

/* {"en": "...", "zh_CN": "..."} as ckanext-fluent stores translated text. */
static int translated_field(json_t *in, const char *key, size_t max, json_t **out, struct err *err)
{
    json_t *v = json_object_get(in, key), *t;
    const char *lang;

    *out = NULL;
    if (!v || json_is_null(v)) {
        *out = json_object();
        return 0;
    }
    if (!json_is_object(v))
        return err_set(err, ERR_VALIDATION, key, "\"%s\" must be an object of language: text", key);
    json_object_foreach (v, lang, t) {
        if (!lang_tag_ok(lang))
            return err_set(err, ERR_VALIDATION, key, "invalid language tag \"%s\" in \"%s\"", lang,
                           key);
        if (!json_is_string(t))
            return err_set(err, ERR_VALIDATION, key, "\"%s\" values must be strings", key);
        if (json_string_length(t) > max)
            return err_set(err, ERR_VALIDATION, key, "\"%s\" longer than %zu bytes", key, max);
    }
    if (json_object_size(v) > 32)
        return err_set(err, ERR_VALIDATION, key, "too many languages in \"%s\"", key);
    *out = json_deep_copy(v);
    return 0;
}

/* ---- DCAT-US fields ---- */

static bool iso_part_ok(const char *s, size_t len)
{
    /* A date/time or a duration: begins with a digit or 'P', then digits, letters and
     * the separators ISO 8601 uses. */
    if (!len || !((s[0] >= '0' && s[0] <= '9') || s[0] == 'P'))
        return false;
    for (size_t i = 0; i < len; i++) {
        char ch = s[i];

        if (!((ch >= '0' && ch <= '9') || (ch >= 'A' && ch <= 'Z') || ch == '-' || ch == ':' ||
              ch == '.' || ch == '+' || ch == ','))
            return false;
    }
    return true;
}

static int temporal_check(const char *s, struct err *err)
{
    const char *slash = strchr(s, '/');

    if (!*s)
        return 0;
    if (!slash || strchr(slash + 1, '/') || !iso_part_ok(s, (size_t)(slash - s)) ||
        !iso_part_ok(slash + 1, strlen(slash + 1)))
        return err_set(err, ERR_VALIDATION, "temporal",
                       "\"temporal\" must be an ISO 8601 interval such as "
                       "\"2010-01-01/2012-12-31\", not \"%s\"",
                       s);
    return 0;
}

static int frequency_check(const char *s, struct err *err)
{
    bool digit = false;

    if (!*s || str_eq(s, "irregular"))
        return 0;
    if (!starts_with(s, "R/P"))
        goto bad;
    for (const char *p = s + 3; *p; p++) {
        if (*p >= '0' && *p <= '9')
            digit = true;
        else if (!strchr(".YMWDTHS", *p))
            goto bad;
    }
    if (digit)
        return 0;
bad:
    return err_set(err, ERR_VALIDATION, "frequency",
                   "\"frequency\" must be an ISO 8601 repeating duration such as \"R/P1Y\", or "
                   "\"irregular\", not \"%s\"",
                   s);
}

/* ---- resources ---- */

static const char *const resource_text_fields[] = {
        "name", "description",   "format",        "mimetype",  "mimetype_inner",
        "hash", "resource_type", "last_modified", "cache_url", "cache_last_updated",
};
/* Fields resource_show outputs that input may carry back and we ignore. */
static const char *const resource_ignored[] = {
        "id",       "package_id",        "position",         "state",
        "created",  "metadata_modified", "datastore_active", "tracking_summary",
        "url_type", "datastore_status",
};

static bool in_list(const char *const *list, size_t n, const char *s)
{
    for (size_t i = 0; i < n; i++)
        if (str_eq(list[i], s))
            return true;
    return false;
}

/* The format guessed from the last extension of a URL path, upper case ("CSV"). */
static void format_from_url(const char *url, struct buf *out)
{
    const char *end = url + strcspn(url, "?#"), *slash, *dot;

    slash = url;
    for (const char *p = url; p < end; p++)
        if (*p == '/')
            slash = p + 1;
    dot = NULL;
    for (const char *p = slash; p < end; p++)
        if (*p == '.')
            dot = p + 1;
    if (!dot || end - dot < 1 || end - dot > 8)
        return;
    for (const char *p = dot; p < end; p++) {
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9')))
            return;
    }
    for (const char *p = dot; p < end; p++)
        buf_addch(out, (*p >= 'a' && *p <= 'z') ? *p - 'a' + 'A' : *p);
}

/*
 * 0 when a resource url may be stored: empty, relative (no scheme), or http, https or
 * ftp; else -ERR_VALIDATION naming "url". CKAN's forms and most clients render the url
 * as a link, so javascript:, data:, vbscript: and file: urls would run script or read
 * local files in the reader's browser. The scheme is found as a browser finds it (WHATWG
 * URL: leading C0 controls and spaces stripped, tab and newline removed anywhere, scheme
 * matched case-insensitively), so "  JavaScript:" and "java\tscript:" are refused too.
 */
static int url_scheme_check(const char *url, struct err *err)
{
    static const char *const allowed[] = {"http", "https", "ftp"};
    char scheme[16];
    size_t n = 0;
    const char *p = url;

    while (*p && (unsigned char)*p <= 0x20)
        p++;
    for (; *p; p++) {
        char ch = *p;

        if (ch == '\t' || ch == '\n' || ch == '\r')
            continue;
        if (ch == ':')
            break;
        /* RFC 3986 §3.1: ALPHA *( ALPHA / DIGIT / "+" / "-" / "." ); anything else
         * before a colon means there is no scheme (a relative url such as "a/b:c"). */
        if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
              (n > 0 && ((ch >= '0' && ch <= '9') || ch == '+' || ch == '-' || ch == '.'))))
            return 0;
        if (n + 1 < sizeof(scheme))
            scheme[n] = (ch >= 'A' && ch <= 'Z') ? (char)(ch - 'A' + 'a') : ch;
        n++;
    }
    if (!*p || n == 0)
        return 0;
    if (n < sizeof(scheme)) {
        scheme[n] = '\0';
        for (size_t i = 0; i < ARRAY_SIZE(allowed); i++)
            if (str_eq(scheme, allowed[i]))
                return 0;
    }
    return err_set(err, ERR_VALIDATION, "url",
                   "\"url\" has a scheme that is not allowed: only http, https and ftp urls, "
                   "or relative ones");
}

int resource_build(struct catalog *c, const char *dataset_id, json_t *in, json_t *old,
                   const char *now, json_t **res, struct err *err)
{
    json_t *r = json_object(), *v, *tmp = NULL;
    const char *key, *url = NULL;
    char id[UUID_STR_LEN];
    bool keep_upload = false;
    size_t nextra = 0;
    int64_t size;
    int ret = 0;

    *res = NULL;
    if (!json_is_object(in)) {
        ret = err_set(err, ERR_VALIDATION, "resources", "each resource must be an object");
        goto out;
    }
    ret = param_str(in, "url", &url, err);
    if (ret)
        goto out;
    if (url && strlen(url) > LIMIT_URL_MAX) {
        ret = err_set(err, ERR_VALIDATION, "url", "resource url longer than %u bytes",
                      LIMIT_URL_MAX);
        goto out;
    }
    if (old && str_eq(json_string_value(json_object_get(old, "url_type")), "upload") &&
        (!url || upload_url_same(c, dataset_id, old, url)))
        keep_upload = true;
    /* A table-only resource sent back as package_show gave it (its dump's url, or none)
     * stays a table only. */
    if (old && resource_is_datastore_only(old) && url) {
        char *dump = datastore_dump_url(c, old);

        if (str_eq(url, dump))
            url = "";
        free(dump);
    }
    if (url && !keep_upload && (ret = url_scheme_check(url, err)))
        goto out;
    if (old) {
        json_object_set(r, "id", json_object_get(old, "id"));
    } else {
        secret_uuid4(id);
        json_object_set_new(r, "id", json_string(id));
    }
    json_object_set_new(r, "url", json_string(url ? url : ""));
    json_object_set_new(r, "url_type", json_string(""));
    for (size_t i = 0; i < ARRAY_SIZE(resource_text_fields); i++) {
        size_t max =
                str_eq(resource_text_fields[i], "description") ? LIMIT_TEXT_MAX : LIMIT_FIELD_MAX;
        const char *def = NULL;

        if (str_eq(resource_text_fields[i], "description") ||
            str_eq(resource_text_fields[i], "format") || str_eq(resource_text_fields[i], "hash"))
            def = "";
        ret = text_field(in, resource_text_fields[i], max, def, &tmp, err);
        if (ret)
            goto out;
        json_object_set_new(r, resource_text_fields[i], tmp);
        tmp = NULL;
    }
    ret = param_int(in, "size", 0, INT64_MAX, -1, &size, err);
    if (ret)
        goto out;
    json_object_set_new(r, "size", size < 0 ? json_null() : json_integer(size));
    json_object_foreach (in, key, v) {
        if (str_eq(key, "url") || str_eq(key, "size") ||
            in_list(resource_text_fields, ARRAY_SIZE(resource_text_fields), key) ||
            in_list(resource_ignored, ARRAY_SIZE(resource_ignored), key))
            continue;
        /* Other keys are resource extras, as CKAN keeps them. */
        if (json_is_object(v) || json_is_array(v)) {
            ret = err_set(err, ERR_VALIDATION, "resources",
                          "resource field \"%s\" must be a string, number or boolean", key);
            goto out;
        }
        if (strlen(key) > 100 || ++nextra > LIMIT_EXTRAS_PER_DATASET) {
            ret = err_set(err, ERR_VALIDATION, "resources",
                          "too many or too long resource "
                          "fields");
            goto out;
        }
        if (json_is_string(v) && json_string_length(v) > LIMIT_FIELD_MAX) {
            ret = err_set(err, ERR_VALIDATION, "resources",
                          "resource field \"%s\" longer than %u bytes", key, LIMIT_FIELD_MAX);
            goto out;
        }
        json_object_set(r, key, v);
    }
    if (keep_upload) {
        static const char *const kept[] = {"url_type", "size", "hash", "mimetype"};
        struct buf name = BUF_INIT;

        for (size_t i = 0; i < ARRAY_SIZE(kept); i++)
            json_object_set(r, kept[i], json_object_get(old, kept[i]));
        /* The file's upload time stays unless the client sets it: an update of the
         * description did not change the file. */
        if (!json_object_get(in, "last_modified") && json_object_get(old, "last_modified"))
            json_object_set(r, "last_modified", json_object_get(old, "last_modified"));
        /* The stored form: the file name (an old portal's absolute url becomes it). */
        upload_filename(json_string_value(json_object_get(old, "url")), &name);
        json_object_set_new(r, "url", json_string(name.buf));
        buf_release(&name);
    }
    if (!json_string_length(json_object_get(r, "format"))) {
        struct buf f = BUF_INIT;

        format_from_url(json_string_value(json_object_get(r, "url")), &f);
        json_object_set_new(r, "format", json_string(f.buf));
        buf_release(&f);
    }
    json_object_set_new(r, "state", json_string("active"));
    json_object_set(r, "datastore_active",
                    old && json_is_boolean(json_object_get(old, "datastore_active"))
                            ? json_object_get(old, "datastore_active")
                            : json_false());
    /* Set by the datastore's ingest (catalog_resource_datastore), never by input. */
    if (old && json_is_string(json_object_get(old, "datastore_status")))
        json_object_set(r, "datastore_status", json_object_get(old, "datastore_status"));
    json_object_set_new(r, "created",
                        json_string(old && json_is_string(json_object_get(old, "created"))
                                            ? json_string_value(json_object_get(old, "created"))
                                            : now));
    /* metadata_modified moves only when something changed. */
    json_object_set_new(r, "metadata_modified", json_string(now));
    if (old) {
        json_t *a = json_deep_copy(r), *b = json_deep_copy(old);
        static const char *const skip[] = {"metadata_modified", "position", "package_id"};

        for (size_t i = 0; i < ARRAY_SIZE(skip); i++) {
            json_object_del(a, skip[i]);
            json_object_del(b, skip[i]);
        }
        /* Rewriting an old absolute upload url as its file name is no change. */
        if (keep_upload)
            json_object_set(b, "url", json_object_get(a, "url"));
        if (json_equal(a, b) && json_is_string(json_object_get(old, "metadata_modified")))
            json_object_set(r, "metadata_modified", json_object_get(old, "metadata_modified"));
        json_decref(a);
        json_decref(b);
    }
    *res = r;
    r = NULL;
out:
    json_decref(tmp);
    json_decref(r);
    return ret;
}

void dataset_derive(json_t *doc)
{
    json_t *res = json_object_get(doc, "resources"), *r;
    size_t i;

    json_array_foreach (res, i, r) {
        json_object_set_new(r, "position", json_integer((json_int_t)i));
        json_object_set(r, "package_id", json_object_get(doc, "id"));
    }
    json_object_set_new(doc, "num_resources", json_integer((json_int_t)json_array_size(res)));
    json_object_set_new(doc, "num_tags",
                        json_integer((json_int_t)json_array_size(json_object_get(doc, "tags"))));
}

/* ---- datasets ---- */

/* Input fields of a dataset, and the package_show output fields that input may carry
 * back (ignored: the catalog computes them). */
static const char *const dataset_fields[] = {
        "name",
        "title",
        "notes",
        "owner_org",
        "private",
        "state",
        "author",
        "author_email",
        "maintainer",
        "maintainer_email",
        "license_id",
        "url",
        "version",
        "tags",
        "tag_string",
        "groups",
        "extras",
        "resources",
        "type",
        "access_level",
        "contact_name",
        "contact_email",
        "temporal",
        "spatial",
        "frequency",
        "language",
        "title_translated",
        "notes_translated",
};
static const char *const dataset_ignored[] = {
        "id",
        "metadata_created",
        "metadata_modified",
        "creator_user_id",
        "num_resources",
        "num_tags",
        "organization",
        "isopen",
        "license_title",
        "license_url",
        "relationships_as_object",
        "relationships_as_subject",
        "revision_id",
        "tracking_summary",
};

static int tag_cmp(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static int tag_add(json_t *names, const char *name, struct err *err)
{
    size_t i;
    json_t *v;
    int ret = tag_check(name, err);

    if (ret)
        return ret;
    json_array_foreach (names, i, v) {
        if (str_eq(json_string_value(v), name))
            return 0;
    }
    if (json_array_size(names) >= LIMIT_TAGS_PER_DATASET)
        return err_set(err, ERR_VALIDATION, "tags", "more than %u tags", LIMIT_TAGS_PER_DATASET);
    json_array_append_new(names, json_string(name));
    return 0;
}

static int tags_build(json_t *in, json_t **out, struct err *err)
{
    json_t *tags = json_object_get(in, "tags"), *ts = json_object_get(in, "tag_string");
    json_t *names = json_array(), *t, *list = NULL;
    const char **sorted = NULL;
    size_t i;
    int ret = 0;

    *out = NULL;
    if (tags && !json_is_null(tags)) {
        if (!json_is_array(tags)) {
            ret = err_set(err, ERR_VALIDATION, "tags", "\"tags\" must be a list of {\"name\"}");
            goto out;
        }
        json_array_foreach (tags, i, t) {
            const char *n = json_string_value(json_object_get(t, "name"));

            if (!json_is_object(t) || !n) {
                ret = err_set(err, ERR_VALIDATION, "tags", "\"tags\" must be a list of {\"name\"}");
                goto out;
            }
            ret = tag_add(names, n, err);
            if (ret)
                goto out;
        }
    }
    if (ts && !json_is_null(ts)) {
        char *copy, *save = NULL, *part;

        if (!json_is_string(ts)) {
            ret = err_set(err, ERR_VALIDATION, "tag_string", "\"tag_string\" must be a string");
            goto out;
        }
        if (json_string_length(ts) > LIMIT_TEXT_MAX) {
            ret = err_set(err, ERR_VALIDATION, "tag_string", "\"tag_string\" too long");
            goto out;
        }
        copy = xstrdup(json_string_value(ts));
        for (part = strtok_r(copy, ",", &save); part && !ret; part = strtok_r(NULL, ",", &save)) {
            size_t len;

            while (*part == ' ')
                part++;
            len = strlen(part);
            while (len && part[len - 1] == ' ')
                part[--len] = '\0';
            if (len)
                ret = tag_add(names, part, err);
        }
        free(copy);
        if (ret)
            goto out;
    }
    sorted = xcalloc(json_array_size(names) + 1, sizeof(*sorted));
    json_array_foreach (names, i, t) {
        sorted[i] = json_string_value(t);
    }
    qsort(sorted, json_array_size(names), sizeof(*sorted), tag_cmp);
    list = json_array();
    for (i = 0; i < json_array_size(names); i++) {
        char id[UUID_STR_LEN];

        tag_id(sorted[i], id);
        json_array_append_new(list, json_pack("{s:s, s:s, s:s, s:s, s:n}", "display_name",
                                              sorted[i], "id", id, "name", sorted[i], "state",
                                              "active", "vocabulary_id"));
    }
    *out = list;
    list = NULL;
out:
    free(sorted);
    json_decref(list);
    json_decref(names);
    return ret;
}

static int extra_cmp(const void *a, const void *b)
{
    json_t *const *x = a, *const *y = b;

    return strcmp(json_string_value(json_object_get(*x, "key")),
                  json_string_value(json_object_get(*y, "key")));
}

static int extras_build(json_t *in, json_t **out, struct err *err)
{
    json_t *extras = json_object_get(in, "extras"), *e, **items = NULL, *list = NULL;
    size_t i, n = 0;
    int ret = 0;

    *out = NULL;
    if (!extras || json_is_null(extras)) {
        *out = json_array();
        return 0;
    }
    if (!json_is_array(extras)) {
        ret = err_set(err, ERR_VALIDATION, "extras",
                      "\"extras\" must be a list of {\"key\", \"value\"}");
        goto out;
    }
    if (json_array_size(extras) > LIMIT_EXTRAS_PER_DATASET) {
        ret = err_set(err, ERR_VALIDATION, "extras", "more than %u extras",
                      LIMIT_EXTRAS_PER_DATASET);
        goto out;
    }
    items = xcalloc(json_array_size(extras) + 1, sizeof(*items));
    json_array_foreach (extras, i, e) {
        json_t *k = json_object_get(e, "key"), *v = json_object_get(e, "value");
        const char *ek;
        json_t *ev;

        if (!json_is_object(e) || !json_is_string(k) || !json_string_length(k)) {
            ret = err_set(err, ERR_VALIDATION, "extras",
                          "\"extras\" must be a list of {\"key\", \"value\"}");
            goto out;
        }
        json_object_foreach (e, ek, ev) {
            if (!str_eq(ek, "key") && !str_eq(ek, "value") && !str_eq(ek, "state") &&
                !str_eq(ek, "deleted")) {
                ret = err_set(err, ERR_VALIDATION, "extras", "unknown field \"%s\" in an extra",
                              ek);
                goto out;
            }
        }
        if (v && !json_is_null(v) && !json_is_string(v)) {
            ret = err_set(err, ERR_VALIDATION, "extras", "extra \"%s\": value must be a string",
                          json_string_value(k));
            goto out;
        }
        if (json_string_length(k) > LIMIT_FIELD_MAX || json_string_length(v) > LIMIT_TEXT_MAX) {
            ret = err_set(err, ERR_VALIDATION, "extras", "extra \"%.40s\" too long",
                          json_string_value(k));
            goto out;
        }
        if (in_list(dataset_fields, ARRAY_SIZE(dataset_fields), json_string_value(k)) ||
            in_list(dataset_ignored, ARRAY_SIZE(dataset_ignored), json_string_value(k))) {
            ret = err_set(err, ERR_VALIDATION, "extras",
                          "There is a schema field with the same name: \"%s\"",
                          json_string_value(k));
            goto out;
        }
        for (size_t j = 0; j < n; j++) {
            if (str_eq(json_string_value(json_object_get(items[j], "key")), json_string_value(k))) {
                ret = err_set(err, ERR_VALIDATION, "extras", "duplicate extra key \"%s\"",
                              json_string_value(k));
                goto out;
            }
        }
        items[n++] = json_pack("{s:O, s:s}", "key", k, "value",
                               json_is_string(v) ? json_string_value(v) : "");
    }
    qsort(items, n, sizeof(*items), extra_cmp);
    list = json_array();
    for (i = 0; i < n; i++) {
        json_array_append_new(list, items[i]);
        items[i] = NULL;
    }
    *out = list;
    list = NULL;
out:
    for (i = 0; items && i < n; i++)
        json_decref(items[i]);
    free(items);
    json_decref(list);
    return ret;
}

static int groups_build(struct catalog *c, json_t *in, json_t **out, struct err *err)
{
    json_t *groups = json_object_get(in, "groups"), *g, *list = json_array(), *doc = NULL;
    size_t i, j;
    int ret = 0;

    *out = NULL;
    if (groups && !json_is_null(groups) && !json_is_array(groups)) {
        ret = err_set(err, ERR_VALIDATION, "groups", "\"groups\" must be a list of {\"name\"}");
        goto out;
    }
    json_array_foreach (groups, i, g) {
        const char *ref = json_string_value(json_object_get(g, "id"));
        json_t *have;
        bool dup = false;

        if (!ref || !*ref)
            ref = json_string_value(json_object_get(g, "name"));
        if (!json_is_object(g) || !ref || !*ref) {
            ret = err_set(err, ERR_VALIDATION, "groups",
                          "\"groups\" must be a list of {\"name\"} or {\"id\"}");
            goto out;
        }
        if (strlen(ref) > LIMIT_FIELD_MAX || store_group_get(c->store, false, ref, &doc, NULL) ||
            !str_eq(json_string_value(json_object_get(doc, "state")), "active")) {
            ret = err_set(err, ERR_VALIDATION, "groups", "Group \"%.100s\" does not exist", ref);
            goto out;
        }
        json_array_foreach (list, j, have) {
            if (str_eq(json_string_value(json_object_get(have, "id")),
                       json_string_value(json_object_get(doc, "id"))))
                dup = true;
        }
        if (!dup)
            json_array_append_new(
                    list, json_pack("{s:O, s:O, s:O, s:O, s:O, s:O}", "description",
                                    json_object_get(doc, "description"), "display_name",
                                    json_object_get(doc, "title"), "id", json_object_get(doc, "id"),
                                    "image_display_url", json_object_get(doc, "image_url"), "name",
                                    json_object_get(doc, "name"), "title",
                                    json_object_get(doc, "title")));
        json_decref(doc);
        doc = NULL;
    }
    *out = list;
    list = NULL;
out:
    json_decref(doc);
    json_decref(list);
    return ret;
}

static int language_build(json_t *in, json_t **out, struct err *err)
{
    json_t *v = json_object_get(in, "language"), *l;
    size_t i;

    *out = NULL;
    if (!v || json_is_null(v)) {
        *out = json_array();
        return 0;
    }
    if (!json_is_array(v) || json_array_size(v) > 32)
        return err_set(err, ERR_VALIDATION, "language",
                       "\"language\" must be a list of language tags");
    json_array_foreach (v, i, l) {
        if (!json_is_string(l) || !lang_tag_ok(json_string_value(l)))
            return err_set(err, ERR_VALIDATION, "language",
                           "invalid language tag in "
                           "\"language\"");
    }
    *out = json_deep_copy(v);
    return 0;
}

static int resources_build(struct catalog *c, json_t *in, json_t *old, const char *now,
                           json_t **out, struct err *err)
{
    json_t *res = json_object_get(in, "resources"), *r, *list = json_array(), *built = NULL;
    json_t *oldres = json_object_get(old, "resources");
    size_t i, j;
    int ret = 0;

    *out = NULL;
    if (res && !json_is_null(res) && !json_is_array(res)) {
        ret = err_set(err, ERR_VALIDATION, "resources", "\"resources\" must be a list");
        goto out;
    }
    if (json_array_size(res) > LIMIT_RESOURCES_PER_DATASET) {
        ret = err_set(err, ERR_VALIDATION, "resources", "more than %u resources",
                      LIMIT_RESOURCES_PER_DATASET);
        goto out;
    }
    json_array_foreach (res, i, r) {
        const char *rid = json_string_value(json_object_get(r, "id"));
        json_t *o = NULL, *cand;

        /* A resource keeps its id only when it belongs to this dataset already. */
        json_array_foreach (oldres, j, cand) {
            if (rid && str_eq(json_string_value(json_object_get(cand, "id")), rid))
                o = cand;
        }
        for (size_t k = 0; o && k < json_array_size(list); k++)
            if (str_eq(json_string_value(json_object_get(json_array_get(list, k), "id")), rid))
                o = NULL; /* the same id twice: the second is new */
        ret = resource_build(c, json_string_value(json_object_get(old, "id")), r, o, now, &built,
                             err);
        if (ret) {
            /* Resource errors concern the resources field as a whole (CKAN lists them
             * per resource under "resources"). */
            if (err && strcmp(err->field, "resources"))
                xsnprintf(err->field, sizeof(err->field), "resources");
            goto out;
        }
        json_array_append_new(list, built);
        built = NULL;
    }
    *out = list;
    list = NULL;
out:
    json_decref(list);
    return ret;
}

static json_t *org_summary(json_t *org)
{
    static const char *const keys[] = {"id",
                                       "name",
                                       "title",
                                       "type",
                                       "description",
                                       "image_url",
                                       "created",
                                       "is_organization",
                                       "approval_status",
                                       "state"};
    json_t *o = json_object();

    for (size_t i = 0; i < ARRAY_SIZE(keys); i++) {
        json_t *v = json_object_get(org, keys[i]);

        json_object_set(o, keys[i], v ? v : json_null());
    }
    return o;
}

int dataset_build(struct catalog *c, const struct actor *a, json_t *in, json_t *old, json_t **doc,
                  struct err *err)
{
    static const struct {
        const char *key;
        size_t max;
        const char *def;
    } texts[] = {
            {"notes", LIMIT_TEXT_MAX, NULL},
            {"author", LIMIT_FIELD_MAX, NULL},
            {"author_email", LIMIT_FIELD_MAX, NULL},
            {"maintainer", LIMIT_FIELD_MAX, NULL},
            {"maintainer_email", LIMIT_FIELD_MAX, NULL},
            {"url", LIMIT_URL_MAX, NULL},
            {"version", 100, NULL},
            {"contact_name", LIMIT_FIELD_MAX, NULL},
            {"contact_email", LIMIT_FIELD_MAX, NULL},
            {"temporal", LIMIT_FIELD_MAX, NULL},
            {"spatial", LIMIT_TEXT_MAX, NULL},
            {"frequency", LIMIT_FIELD_MAX, NULL},
    };
    json_t *d = json_object(), *v = NULL, *org = NULL, *license;
    const char *key, *name, *title, *s, *owner = NULL, *state, *lic;
    char now[TIME_ISO_MAX], id[UUID_STR_LEN];
    bool priv;
    int ret = 0;

    *doc = NULL;
    time_now_ckan(now);
    if (!json_is_object(in)) {
        ret = err_set(err, ERR_BAD_REQUEST, NULL, "dataset must be a JSON object");
        goto out;
    }
    json_object_foreach (in, key, v) {
        if (!in_list(dataset_fields, ARRAY_SIZE(dataset_fields), key) &&
            !in_list(dataset_ignored, ARRAY_SIZE(dataset_ignored), key)) {
            ret = err_set(err, ERR_VALIDATION, key, "unknown field \"%.100s\"", key);
            goto out;
        }
    }
    v = NULL;

    /* name, title */
    ret = param_str(in, "name", &name, err);
    if (ret)
        goto out;
    if (!name) {
        ret = err_set(err, ERR_VALIDATION, "name", "Missing value");
        goto out;
    }
    ret = name_check("name", name, err);
    if (ret)
        goto out;
    ret = param_str(in, "title", &title, err);
    if (ret)
        goto out;
    if (title && strlen(title) > LIMIT_TITLE_MAX) {
        ret = err_set(err, ERR_VALIDATION, "title", "\"title\" longer than %u bytes",
                      LIMIT_TITLE_MAX);
        goto out;
    }
    if (old) {
        json_object_set(d, "id", json_object_get(old, "id"));
    } else {
        secret_uuid4(id);
        json_object_set_new(d, "id", json_string(id));
    }
    json_object_set_new(d, "name", json_string(name));
    json_object_set_new(d, "title", json_string(title && *title ? title : name));

    /* type */
    ret = param_str(in, "type", &s, err);
    if (ret)
        goto out;
    if (s && *s && !str_eq(s, "dataset")) {
        ret = err_set(err, ERR_VALIDATION, "type", "unknown dataset type \"%.100s\"", s);
        goto out;
    }
    json_object_set_new(d, "type", json_string("dataset"));

    /* plain text fields */
    for (size_t i = 0; i < ARRAY_SIZE(texts); i++) {
        ret = text_field(in, texts[i].key, texts[i].max, texts[i].def, &v, err);
        if (ret)
            goto out;
        json_object_set_new(d, texts[i].key, v);
        v = NULL;
    }
    if (!ret)
        ret = access_email_check("author_email", dstr(d, "author_email"), err);
    if (!ret)
        ret = access_email_check("maintainer_email", dstr(d, "maintainer_email"), err);
    if (!ret)
        ret = access_email_check("contact_email", dstr(d, "contact_email"), err);
    if (!ret)
        ret = temporal_check(dstr(d, "temporal"), err);
    if (!ret)
        ret = frequency_check(dstr(d, "frequency"), err);
    if (ret)
        goto out;

    /* access_level (DCAT-US accessLevel) */
    ret = param_str(in, "access_level", &s, err);
    if (ret)
        goto out;
    if (s && *s && !str_eq(s, "public") && !str_eq(s, "restricted public") &&
        !str_eq(s, "non-public")) {
        ret = err_set(err, ERR_VALIDATION, "access_level",
                      "\"access_level\" must be \"public\", \"restricted public\" or "
                      "\"non-public\", not \"%.100s\"",
                      s);
        goto out;
    }
    json_object_set_new(d, "access_level", json_string(s && *s ? s : "public"));

    /* language, translations */
    ret = language_build(in, &v, err);
    if (ret)
        goto out;
    json_object_set_new(d, "language", v);
    ret = translated_field(in, "title_translated", LIMIT_TITLE_MAX, &v, err);
    if (ret)
        goto out;
    json_object_set_new(d, "title_translated", v);
    ret = translated_field(in, "notes_translated", LIMIT_TEXT_MAX, &v, err);
    if (ret)
        goto out;
    json_object_set_new(d, "notes_translated", v);
    v = NULL;

    /* licence */
    ret = param_str(in, "license_id", &lic, err);
    if (ret)
        goto out;
    license = lic && *lic ? license_find(lic) : NULL;
    if (lic && *lic && !license) {
        ret = err_set(err, ERR_VALIDATION, "license_id",
                      "license \"%.100s\" is not in the licence list", lic);
        goto out;
    }
    json_object_set_new(d, "license_id", lic && *lic ? json_string(lic) : json_null());
    if (license) {
        json_object_set(d, "license_title", json_object_get(license, "title"));
        if (json_string_length(json_object_get(license, "url")))
            json_object_set(d, "license_url", json_object_get(license, "url"));
        json_object_set(d, "isopen", json_object_get(license, "is_okd_compliant"));
    } else {
        json_object_set_new(d, "license_title", json_null());
        json_object_set_new(d, "isopen", json_false());
    }

    /* state, private */
    ret = param_str(in, "state", &state, err);
    if (ret)
        goto out;
    if (state && *state && !str_eq(state, "active") && !str_eq(state, "draft")) {
        ret = err_set(err, ERR_VALIDATION, "state",
                      "\"state\" must be \"active\" or \"draft\", not \"%.100s\"", state);
        goto out;
    }
    if (!state || !*state) {
        const char *os = old ? json_string_value(json_object_get(old, "state")) : NULL;

        state = os && !str_eq(os, "deleted") ? os : "active";
    }
    json_object_set_new(d, "state", json_string(state));
    ret = param_bool(in, "private", false, &priv, err);
    if (ret)
        goto out;
    json_object_set_new(d, "private", json_boolean(priv));

    /* owner_org: the organization, and the actor's right to publish in it */
    ret = param_str(in, "owner_org", &owner, err);
    if (ret)
        goto out;
    if (owner && *owner) {
        if (strlen(owner) > LIMIT_FIELD_MAX || store_group_get(c->store, true, owner, &org, NULL) ||
            !str_eq(json_string_value(json_object_get(org, "state")), "active")) {
            ret = err_set(err, ERR_VALIDATION, "owner_org", "Organization does not exist");
            goto out;
        }
        owner = json_string_value(json_object_get(org, "id"));
        if (actor_capacity(a, owner) < CAPACITY_EDITOR) {
            ret = err_set(err, ERR_AUTH, "owner_org",
                          "user \"%s\" may not add datasets to organization \"%s\"",
                          a && a->authenticated ? a->name : "", owner);
            goto out;
        }
        json_object_set_new(d, "owner_org", json_string(owner));
        json_object_set_new(d, "organization", org_summary(org));
    } else {
        if (!a || !a->sysadmin) {
            ret = err_set(err, ERR_VALIDATION, "owner_org", "An organization must be provided");
            goto out;
        }
        if (priv) {
            ret = err_set(err, ERR_VALIDATION, "private",
                          "a private dataset must belong to an organization");
            goto out;
        }
        json_object_set_new(d, "owner_org", json_null());
        json_object_set_new(d, "organization", json_null());
    }

    /* tags, groups, extras, resources */
    ret = tags_build(in, &v, err);
    if (ret)
        goto out;
    json_object_set_new(d, "tags", v);
    ret = groups_build(c, in, &v, err);
    if (ret)
        goto out;
    json_object_set_new(d, "groups", v);
    ret = extras_build(in, &v, err);
    if (ret)
        goto out;
    json_object_set_new(d, "extras", v);
    ret = resources_build(c, in, old, now, &v, err);
    if (ret)
        goto out;
    json_object_set_new(d, "resources", v);
    v = NULL;

    /* computed fields */
    json_object_set_new(d, "relationships_as_object", json_array());
    json_object_set_new(d, "relationships_as_subject", json_array());
    if (old) {
        json_object_set(d, "metadata_created", json_object_get(old, "metadata_created"));
        json_object_set(d, "creator_user_id", json_object_get(old, "creator_user_id"));
    } else {
        json_object_set_new(d, "metadata_created", json_string(now));
        json_object_set_new(d, "creator_user_id",
                            a && a->authenticated ? json_string(a->id) : json_null());
    }
    json_object_set_new(d, "metadata_modified", json_string(now));
    dataset_derive(d);
    *doc = d;
    d = NULL;
out:
    json_decref(org);
    json_decref(d);
    return ret;
}
