/*
 * load-map.c - maps a catalog folder's metadata.json to CKAN Action API parameters.
 *
 * Kept apart from cmd-load.c (which does the I/O and calls the catalog) so that the
 * mapping is a pure function the unit tests can run without a store. The fields and
 * the choices made for each are listed in docs/internals/cli.md.
 */
#include <jansson.h>

#include "cli/cli-int.h"
#include "core/buf.h"
#include "core/limits.h"
#include "crypto/digest.h"
#include "core/util.h"

/* ---- Small helpers ----------------------------------------------------------------- */

/* Decodes one UTF-8 code point at s; returns its length, or 0 on an invalid sequence
 * (overlong forms, surrogates and values past U+10FFFF are invalid). */
static size_t utf8_decode(const unsigned char *s, uint32_t *cp)
{
    uint32_t c;
    size_t n;

    if (s[0] < 0x80) {
        *cp = s[0];
        return 1;
    }
    if (s[0] >= 0xc2 && s[0] <= 0xdf) {
        n = 2;
        c = s[0] & 0x1f;
    } else if (s[0] >= 0xe0 && s[0] <= 0xef) {
        n = 3;
        c = s[0] & 0x0f;
    } else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
        n = 4;
        c = s[0] & 0x07;
    } else {
        return 0;
    }
    for (size_t i = 1; i < n; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return 0;
        c = (c << 6) | (s[i] & 0x3f);
    }
    if ((n == 3 && c < 0x800) || (n == 4 && (c < 0x10000 || c > 0x10ffff)) ||
        (c >= 0xd800 && c <= 0xdfff))
        return 0;
    *cp = c;
    return n;
}

/* Whether a non-ASCII code point counts as a letter or digit for CKAN's tag rule (a
 * Python \w under re.UNICODE). Without a Unicode database at hand, this excludes the
 * blocks of punctuation, symbols, controls, private use and emoji, and accepts the
 * rest, which are letters, marks and digits of the world's scripts. */
static bool nonascii_word_char(uint32_t c)
{
    static const uint32_t excluded[][2] = {
            {0x0080, 0x00bf},    /* C1 controls, Latin-1 punctuation and symbols, NBSP */
            {0x00d7, 0x00d7},    /* × */
            {0x00f7, 0x00f7},    /* ÷ */
            {0x2000, 0x2bff},    /* general punctuation … miscellaneous symbols and arrows */
            {0x2e00, 0x2e7f},    /* supplemental punctuation */
            {0x3000, 0x3004},    /* ideographic space, 、 。 〃 〄 */
            {0x3008, 0x3020},    /* CJK brackets and marks */
            {0x3030, 0x3030},    /* 〰 */
            {0xd800, 0xf8ff},    /* surrogates, private use */
            {0xfe10, 0xfe1f},    /* vertical forms */
            {0xfe30, 0xfe6f},    /* CJK compatibility forms, small form variants */
            {0xff00, 0xff0f},    /* fullwidth ！＂＃… ／ */
            {0xff1a, 0xff20},    /* fullwidth ：；＜＝＞？＠ */
            {0xff3b, 0xff40},    /* fullwidth ［＼］＾＿｀ */
            {0xff5b, 0xff65},    /* fullwidth ｛｜｝～ and halfwidth CJK punctuation */
            {0xfff0, 0xffff},    /* specials */
            {0x1f000, 0x1faff},  /* emoji, playing cards, symbols */
            {0xe0000, 0x10ffff}, /* tags, private use planes */
    };

    for (size_t i = 0; i < ARRAY_SIZE(excluded); i++) {
        if (c >= excluded[i][0] && c <= excluded[i][1])
            return false;
    }
    return true;
}

bool load_tag_valid(const char *tag)
{
    const unsigned char *s = (const unsigned char *)tag;
    size_t chars = 0;

    while (*s) {
        uint32_t c;
        size_t n = utf8_decode(s, &c);

        if (!n)
            return false;
        if (c < 0x80) {
            if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  c == ' ' || c == '-' || c == '_' || c == '.'))
                return false;
        } else if (!nonascii_word_char(c)) {
            return false;
        }
        s += n;
        chars++;
        if (chars > LIMIT_TAG_MAX)
            return false;
    }
    return chars >= LIMIT_TAG_MIN;
}

static bool is_ascii_alnum(int c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

/* Appends the slug form of s[0..len) to out (which may already hold a slug). */
static void slug_add(struct buf *out, const char *s, size_t len)
{
    bool dash = out->len > 0;

    for (size_t i = 0; i < len; i++) {
        int c = (unsigned char)s[i];

        if (c == '.' || c == '\'')
            continue;
        if (is_ascii_alnum(c)) {
            if (dash && out->len)
                buf_addch(out, '-');
            dash = false;
            buf_addch(out, c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
        } else {
            dash = true;
        }
    }
}

void load_org_slug(const char *publisher, char *out, size_t size)
{
    struct buf outside = BUF_INIT, inside = BUF_INIT;
    struct buf *slug;
    int depth = 0;
    size_t start = 0, len;

    BUG_ON(size < LIMIT_NAME_MAX + 1);
    /* Split the text into what is outside parentheses (the name) and inside (asides). */
    for (size_t i = 0;; i++) {
        char c = publisher[i];

        if (c == '(' || c == ')' || c == '\0') {
            slug_add(depth > 0 ? &inside : &outside, publisher + start, i - start);
            if (c == '\0')
                break;
            if (c == '(')
                depth++;
            else if (depth > 0)
                depth--;
            start = i + 1;
        }
    }
    slug = outside.len >= LIMIT_NAME_MIN ? &outside : &inside;
    if (slug->len < LIMIT_NAME_MIN) {
        uint8_t md[SHA256_LEN];
        char hex[2 * SHA256_LEN + 1];

        sha256(publisher, strlen(publisher), md);
        hex_encode(md, SHA256_LEN, hex);
        xsnprintf(out, size, "org-%.12s", hex);
        goto out;
    }
    len = slug->len;
    if (len > LIMIT_NAME_MAX) {
        /* Cut at the last word boundary that fits, so no word is left half. */
        len = LIMIT_NAME_MAX;
        while (len > LIMIT_NAME_MIN && slug->buf[len] != '-')
            len--;
        if (slug->buf[len] != '-')
            len = LIMIT_NAME_MAX;
        while (len > 0 && slug->buf[len - 1] == '-')
            len--;
    }
    xsnprintf(out, size, "%.*s", (int)len, slug->buf);
out:
    buf_release(&outside);
    buf_release(&inside);
}

static bool all_ascii(const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        if ((unsigned char)s[i] >= 0x80)
            return false;
    }
    return true;
}

char *load_org_title(const char *publisher)
{
    struct buf b = BUF_INIT;
    const char *p = publisher;

    while (*p) {
        const char *open = strchr(p, '(');
        const char *close = open ? strchr(open, ')') : NULL;

        if (!open || !close) {
            buf_addstr(&b, p);
            break;
        }
        buf_add(&b, p, (size_t)(open - p));
        if (!all_ascii(open, (size_t)(close - open)))
            buf_add(&b, open, (size_t)(close + 1 - open));
        p = close + 1;
    }
    /* Tidy the spaces the removed asides leave: "Agency (x); y" → "Agency; y". */
    {
        struct buf t = BUF_INIT;

        for (size_t i = 0; i < b.len; i++) {
            char c = b.buf[i];

            if (c == ' ' && (t.len == 0 || t.buf[t.len - 1] == ' '))
                continue;
            if ((c == ';' || c == ',') && t.len && t.buf[t.len - 1] == ' ')
                buf_setlen(&t, t.len - 1);
            buf_addch(&t, c);
        }
        while (t.len && t.buf[t.len - 1] == ' ')
            buf_setlen(&t, t.len - 1);
        buf_release(&b);
        b = t;
    }
    if (!b.len)
        buf_addstr(&b, publisher);
    return buf_detach(&b, NULL);
}

const char *load_license_id(const char *text)
{
    /* Order matters: a text that names a licence wins over one that says "public
     * domain" in passing; "not stated" wins over anything it then mentions. */
    static const struct {
        const char *needle;
        const char *id;
    } rules[] = {
            {"not stated", "notspecified"},
            {"no explicit", "notspecified"},
            {"CC BY-SA 4.0", "CC-BY-SA-4.0"},
            {"CC BY 4.0", "CC-BY-4.0"},
            {"Creative Commons Attribution 4.0", "CC-BY-4.0"},
            {"CC0", "CC0-1.0"},
            {"ODbL", "ODbL-1.0"},
            {"LGPL", "other-open"},
            {"GPL", "other-open"},
            {"public domain", "other-pd"},
            {"Government Work", "other-pd"},
    };

    if (!text || !*text)
        return "notspecified";
    for (size_t i = 0; i < ARRAY_SIZE(rules); i++) {
        if (strcasestr(text, rules[i].needle))
            return rules[i].id;
    }
    return "notspecified";
}

char *load_format(const char *filename)
{
    static const char *const known[][2] = {
            {"csv", "CSV"},   {"tsv", "TSV"},         {"json", "JSON"}, {"xls", "XLS"},
            {"xlsx", "XLSX"}, {"geojson", "GeoJSON"}, {"xml", "XML"},   {"txt", "TXT"},
            {"zip", "ZIP"},   {"pdf", "PDF"},         {"ods", "ODS"},   {"parquet", "Parquet"},
    };
    const char *dot = strrchr(filename, '.');
    struct buf b = BUF_INIT;

    if (!dot || dot == filename || !dot[1] || strlen(dot + 1) > 10)
        goto out;
    for (size_t i = 0; i < ARRAY_SIZE(known); i++) {
        if (!strcasecmp(dot + 1, known[i][0])) {
            buf_addstr(&b, known[i][1]);
            goto out;
        }
    }
    for (const char *p = dot + 1; *p; p++) {
        if (!is_ascii_alnum((unsigned char)*p)) {
            buf_reset(&b);
            goto out;
        }
        buf_addch(&b, *p >= 'a' && *p <= 'z' ? *p - 'a' + 'A' : *p);
    }
out:
    return buf_detach(&b, NULL);
}

char *load_temporal(const char *text)
{
    struct buf b = BUF_INIT;
    const char *end = strchr(text, '(');
    size_t len = end ? (size_t)(end - text) : strlen(text);
    char *slash;
    bool ok;

    while (len && (text[len - 1] == ' ' || text[len - 1] == '\t'))
        len--;
    while (len && (*text == ' ' || *text == '\t')) {
        text++;
        len--;
    }
    buf_add(&b, text, len);
    slash = strchr(b.buf, '/');
    /* One date or year means the interval from it to itself. */
    if (!slash && b.len)
        buf_addf(&b, "/%.*s", (int)len, text);
    ok = b.len > 2 && b.buf[0] >= '0' && b.buf[0] <= '9';
    for (size_t i = 0; ok && i < b.len; i++) {
        char c = b.buf[i];

        ok = (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || strchr("-:.+,/", c);
    }
    slash = strchr(b.buf, '/');
    if (!ok || !slash || strchr(slash + 1, '/') || !(slash[1] >= '0' && slash[1] <= '9')) {
        buf_release(&b);
        return NULL;
    }
    return buf_detach(&b, NULL);
}

/* ---- The mapping --------------------------------------------------------------------- */

/* A string member, NULL when absent, null or empty. -ERR_VALIDATION when present with
 * another type. */
static int get_str(const json_t *obj, const char *key, const char *field, const char **out,
                   struct err *err)
{
    json_t *v = json_object_get(obj, key);

    *out = NULL;
    if (!v || json_is_null(v))
        return 0;
    if (!json_is_string(v))
        return err_set(err, ERR_VALIDATION, field, "field \"%s\" is not a string", field);
    if (json_string_length(v) > 0)
        *out = json_string_value(v);
    return 0;
}

static void add_extra(json_t *extras, const char *key, const char *value)
{
    if (value)
        json_array_append_new(extras, json_pack("{s:s,s:s}", "key", key, "value", value));
}

static int add_tags(json_t *tags, json_t *seen, const json_t *meta, const char *key,
                    struct err *err)
{
    json_t *list = json_object_get(meta, key), *v;
    size_t i;
    int ret = 0;

    if (!list || json_is_null(list))
        goto out;
    if (!json_is_array(list)) {
        ret = err_set(err, ERR_VALIDATION, key, "field \"%s\" is not a list", key);
        goto out;
    }
    json_array_foreach (list, i, v) {
        const char *t = json_string_value(v);

        /* Tags CKAN would refuse are dropped, not fatal: the keywords are a
         * publisher's wording, and one odd keyword should not keep a dataset out. */
        if (!t || !load_tag_valid(t) || json_object_get(seen, t))
            continue;
        if (json_array_size(tags) >= LIMIT_TAGS_PER_DATASET)
            break;
        json_object_set_new(seen, t, json_true());
        json_array_append_new(tags, json_pack("{s:s}", "name", t));
    }
out:
    return ret;
}

static bool is_sha256_hex(const char *s)
{
    size_t i;

    for (i = 0; s[i]; i++) {
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
            return false;
    }
    return i == 64;
}

/* A file name that stays inside the folder: no '/', not "." or "..", no control chars. */
static bool plain_file_name(const char *s)
{
    if (!*s || !strcmp(s, ".") || !strcmp(s, "..") || strlen(s) > 255)
        return false;
    for (const char *p = s; *p; p++) {
        if (*p == '/' || *p == '\\' || (unsigned char)*p < 0x20)
            return false;
    }
    return true;
}

static int map_files(const json_t *meta, struct load_dataset *out, struct err *err)
{
    json_t *list = json_object_get(meta, "resources"), *r;
    char field[ERR_FIELD_MAX];
    size_t i;
    int ret = 0;

    if (!list || json_is_null(list))
        goto out;
    if (!json_is_array(list)) {
        ret = err_set(err, ERR_VALIDATION, "resources", "field \"resources\" is not a list");
        goto out;
    }
    if (json_array_size(list) > LIMIT_RESOURCES_PER_DATASET) {
        ret = err_set(err, ERR_VALIDATION, "resources",
                      "too many resources in \"resources\": %zu (at most %u)",
                      json_array_size(list), LIMIT_RESOURCES_PER_DATASET);
        goto out;
    }
    out->files = xcalloc(json_array_size(list), sizeof(*out->files));
    json_array_foreach (list, i, r) {
        struct load_file *f = &out->files[out->nfiles];
        const char *file, *sha, *level, *level_zh;
        json_t *bytes;
        struct buf desc = BUF_INIT;
        char *format;

        xsnprintf(field, sizeof(field), "resources[%zu]", i);
        if (!json_is_object(r)) {
            ret = err_set(err, ERR_VALIDATION, field, "field \"%s\" is not an object", field);
            goto out;
        }
        xsnprintf(field, sizeof(field), "resources[%zu].file", i);
        if ((ret = get_str(r, "file", field, &file, err)))
            goto out;
        if (!file) {
            ret = err_set(err, ERR_VALIDATION, field, "missing field \"%s\"", field);
            goto out;
        }
        if (!plain_file_name(file)) {
            ret = err_set(err, ERR_VALIDATION, field,
                          "field \"%s\" is not a plain file name inside the folder: \"%.200s\"",
                          field, file);
            goto out;
        }
        xsnprintf(field, sizeof(field), "resources[%zu].sha256", i);
        if ((ret = get_str(r, "sha256", field, &sha, err)))
            goto out;
        if (!sha || !is_sha256_hex(sha)) {
            ret = err_set(err, ERR_VALIDATION, field,
                          "field \"%s\" must hold 64 lower-case hex digits", field);
            goto out;
        }
        xsnprintf(field, sizeof(field), "resources[%zu].bytes", i);
        bytes = json_object_get(r, "bytes");
        if (bytes && !(json_is_integer(bytes) && json_integer_value(bytes) >= 0)) {
            ret = err_set(err, ERR_VALIDATION, field, "field \"%s\" is not a non-negative integer",
                          field);
            goto out;
        }
        xsnprintf(field, sizeof(field), "resources[%zu].level", i);
        if ((ret = get_str(r, "level", field, &level, err)))
            goto out;
        xsnprintf(field, sizeof(field), "resources[%zu].level_zh", i);
        if ((ret = get_str(r, "level_zh", field, &level_zh, err)))
            goto out;

        f->file = xstrdup(file);
        f->sha256 = xstrdup(sha);
        f->bytes = bytes ? (uint64_t)json_integer_value(bytes) : 0;
        out->nfiles++;

        if (level)
            buf_addstr(&desc, level);
        if (level && level_zh)
            buf_addstr(&desc, "\n\n");
        if (level_zh)
            buf_addstr(&desc, level_zh);
        format = load_format(file);
        f->resource =
                json_pack("{s:s,s:s,s:s}", "name", file, "description", desc.buf, "format", format);
        free(format);
        buf_release(&desc);
    }
out:
    return ret;
}

int load_map(const char *folder, const json_t *meta, struct load_dataset *out, struct err *err)
{
    const char *title, *title_zh, *description, *description_zh, *notes, *publisher;
    const char *license, *license_url, *original_url, *s;
    char slug[LIMIT_NAME_MAX + 1];
    json_t *pkg = NULL, *tags = NULL, *seen = NULL, *extras = NULL;
    struct buf text = BUF_INIT;
    int ret = 0;

    memset(out, 0, sizeof(*out));
    if (!json_is_object(meta)) {
        ret = err_set(err, ERR_VALIDATION, NULL, "metadata.json is not a JSON object");
        goto out;
    }
    if ((ret = get_str(meta, "title", "title", &title, err)) ||
        (ret = get_str(meta, "title_zh", "title_zh", &title_zh, err)) ||
        (ret = get_str(meta, "description", "description", &description, err)) ||
        (ret = get_str(meta, "description_zh", "description_zh", &description_zh, err)) ||
        (ret = get_str(meta, "notes", "notes", &notes, err)) ||
        (ret = get_str(meta, "publisher", "publisher", &publisher, err)) ||
        (ret = get_str(meta, "license", "license", &license, err)) ||
        (ret = get_str(meta, "license_url", "license_url", &license_url, err)) ||
        (ret = get_str(meta, "original_url", "original_url", &original_url, err)))
        goto out;
    if (!title) {
        ret = err_set(err, ERR_VALIDATION, "title", "missing field \"title\"");
        goto out;
    }

    pkg = json_pack("{s:s,s:s}", "name", folder, "title", title);
    if (!pkg) {
        ret = err_set(err, ERR_VALIDATION, "name", "folder name is not valid UTF-8");
        goto out;
    }
    if (description)
        buf_addstr(&text, description);
    if (description && notes)
        buf_addstr(&text, "\n\n");
    if (notes)
        buf_addstr(&text, notes);
    if (text.len)
        json_object_set_new(pkg, "notes", json_string(text.buf));
    if (title_zh)
        json_object_set_new(pkg, "title_translated",
                            json_pack("{s:s,s:s}", "en", title, "zh_CN", title_zh));
    if (description_zh)
        json_object_set_new(
                pkg, "notes_translated",
                json_pack("{s:s,s:s}", "en", text.len ? text.buf : "", "zh_CN", description_zh));
    /* The language of the dataset itself: a translated title alone does not make a
     * dataset Chinese, a Chinese description (written for it) does. */
    json_object_set_new(pkg, "language",
                        description_zh ? json_pack("[s,s]", "zh_CN", "en")
                                       : json_pack("[s]", "en"));

    tags = json_array();
    seen = json_object();
    if ((ret = add_tags(tags, seen, meta, "keywords", err)) ||
        (ret = add_tags(tags, seen, meta, "keywords_zh", err)))
        goto out;
    json_object_set(pkg, "tags", tags);

    json_object_set_new(pkg, "license_id", json_string(load_license_id(license)));
    if (original_url)
        json_object_set_new(pkg, "url", json_string(original_url));

    extras = json_array();
    add_extra(extras, "publisher", publisher);
    add_extra(extras, "source_license", license);
    add_extra(extras, "source_license_url", license_url);
    add_extra(extras, "original_url", original_url);
    if ((ret = get_str(meta, "source_package", "source_package", &s, err)))
        goto out;
    add_extra(extras, "source_package", s);
    if ((ret = get_str(meta, "source_path", "source_path", &s, err)))
        goto out;
    add_extra(extras, "source_path", s);
    if ((ret = get_str(meta, "spatial", "spatial", &s, err)))
        goto out;
    if (s)
        json_object_set_new(pkg, "spatial", json_string(s));
    if ((ret = get_str(meta, "temporal", "temporal", &s, err)))
        goto out;
    if (s) {
        char *interval = load_temporal(s);

        if (interval)
            json_object_set_new(pkg, "temporal", json_string(interval));
        /* Keep the publisher's wording when the interval had to drop some of it. */
        if (!interval || strcmp(interval, s))
            add_extra(extras, "source_temporal", s);
        free(interval);
    }
    json_object_set(pkg, "extras", extras);

    if ((ret = map_files(meta, out, err)))
        goto out;
    /* The organization is the dataset's owner: without one the dataset would be public
     * and unowned, which the API refuses to anyone but a sysadmin (CKAN's owner_org
     * rule), so a load must not make one either. Checked after the structural errors
     * above so that those are reported first. */
    if (!publisher) {
        ret = err_set(err, ERR_VALIDATION, "publisher", "missing or empty field \"publisher\"");
        goto out;
    }
    load_org_slug(publisher, slug, sizeof(slug));
    out->org_name = xstrdup(slug);
    out->org_title = load_org_title(publisher);
    json_object_set_new(pkg, "owner_org", json_string(slug));
out:
    if (!ret) {
        out->package = pkg;
        pkg = NULL;
    }
    json_decref(pkg);
    json_decref(tags);
    json_decref(seen);
    json_decref(extras);
    buf_release(&text);
    return ret;
}

void load_dataset_release(struct load_dataset *d)
{
    json_decref(d->package);
    free(d->org_name);
    free(d->org_title);
    for (size_t i = 0; i < d->nfiles; i++) {
        free(d->files[i].file);
        free(d->files[i].sha256);
        json_decref(d->files[i].resource);
    }
    free(d->files);
    memset(d, 0, sizeof(*d));
}
