/*
 * datajson.c - DCAT-US 1.1 (Project Open Data Metadata Schema v1.1): a package dict as a
 * data.json dataset, and data.json of the whole public catalog written a batch at a
 * time. The field-by-field mapping is docs/internals/dcat.md, "DCAT-US".
 *
 * Every byte comes from jansson: the catalog object is dumped once with an empty
 * "dataset" array, which is cut before its "]}" (jansson keeps insertion order, and
 * "dataset" is the last key), and each dataset is a dump of its own object.
 */
#include <errno.h>
#include <jansson.h>
#include <unistd.h>

#include "core/limits.h"
#include "core/log.h"
#include "core/parse.h"
#include "core/timeutil.h"
#include "crypto/digest.h"
#include "dcat/dcat-int.h"
#include "store/store.h"
#include "core/util.h"

#define POD_SCHEMA  "https://project-open-data.cio.gov/v1.1/schema"
#define POD_CONTEXT "https://project-open-data.cio.gov/v1.1/schema/catalog.jsonld"
#define POD_CATALOG "https://project-open-data.cio.gov/v1.1/schema/catalog.json"

/* rights: "Text, 255 characters" (the schema's maxLength counts UTF-16 code units). */
#define RIGHTS_MAX 255u

static void set_str(json_t *obj, const char *key, const char *s)
{
    json_t *v = s ? json_string(s) : NULL;

    if (v)
        json_object_set_new(obj, key, v);
}

static void set_url(json_t *obj, const char *key, const char *url)
{
    char *u = dcat_url_encode(url);

    json_object_set_new(obj, key, json_string(u));
    free(u);
}

/* s cut to at most max UTF-16 code units at a character boundary (JavaScript's length,
 * which the schema's maxLength counts). New string. */
static json_t *utf16_cut(const char *s, size_t max)
{
    size_t units = 0, i = 0;

    while (s[i]) {
        unsigned char c = (unsigned char)s[i];
        size_t n = c < 0x80 ? 1 : c < 0xe0 ? 2 : c < 0xf0 ? 3 : 4;
        size_t u = n == 4 ? 2 : 1;

        if (units + u > max)
            break;
        units += u;
        i += n;
    }
    return json_stringn(s, i);
}

static json_t *distribution(const struct dcat_options *o, json_t *pkg, json_t *res,
                            const char *page)
{
    json_t *d = json_pack("{s:s}", "@type", "dcat:Distribution");
    const char *download, *access, *name = dcat_str(res, "name"), *format = dcat_str(res, "format");
    char media[128];
    const char *mt = dcat_resource_media_type(res, media, sizeof(media));

    dcat_resource_urls(pkg, res, mt, page, &download, &access);
    if (download) {
        set_url(d, "downloadURL", download);
        /* Required with downloadURL (distribution.json's dependencies). */
        json_object_set_new(d, "mediaType", json_string(mt));
    } else {
        set_url(d, "accessURL", access);
        if (mt)
            json_object_set_new(d, "mediaType", json_string(mt));
    }
    set_str(d, "format", format);
    set_str(d, "title", name);
    set_str(d, "description", dcat_str(res, "description"));
    /* A table in the datastore: its data dictionary is the dataset's data package. */
    if (download && json_is_true(json_object_get(res, "datastore_active"))) {
        char *dp = xstrfmt("%s/dataset/%s/datapackage.json", o->site_url, dcat_str(pkg, "name"));

        set_url(d, "describedBy", dp);
        json_object_set_new(d, "describedByType", json_string("application/json"));
        free(dp);
    }
    return d;
}

/* Text for the rights of a dataset that is not public and says nothing itself: DCAT-US
 * requires an explanation of the access level. */
static const char *default_rights(const char *level)
{
    if (!strcmp(level, "restricted public"))
        return "This dataset is available under use restrictions: ask the publisher through "
               "the contact point for access.";
    return "This dataset is not available to the public: ask the publisher through the "
           "contact point about access.";
}

/* The UII "[0-9]{3}-[0-9]{9}" anchored (the schema's pattern is not). */
static bool uii_ok(const char *s)
{
    if (!s || strlen(s) != 13 || s[3] != '-')
        return false;
    for (size_t i = 0; i < 13; i++) {
        if (i != 3 && !(s[i] >= '0' && s[i] <= '9'))
            return false;
    }
    return true;
}

json_t *dcat_datajson_dataset(const struct dcat_options *o, json_t *pkg)
{
    json_t *d = json_object(), *list, *v, *res, *extra;
    const char *title = dcat_str(pkg, "title"), *s, *level = dcat_access_level(pkg);
    struct dcat_contact ct;
    struct buf page = BUF_INIT;
    char date[TIME_ISO_MAX], start[TIME_ISO_MAX], end[TIME_ISO_MAX], tag[64];
    char *license;
    size_t i;
    bool quality;

    if (!title)
        title = dcat_str(pkg, "name");
    dcat_dataset_page(o, pkg, &page);

    json_object_set_new(d, "@type", json_string("dcat:Dataset"));
    set_str(d, "title", title ? title : "");
    set_str(d, "description", dcat_description(pkg));

    list = json_array();
    json_array_foreach (json_object_get(pkg, "tags"), i, v) {
        s = dcat_str(v, "name");
        if (s)
            json_array_append_new(list, json_string(s));
    }
    /* keyword needs an entry: the title stands in for a dataset without tags. */
    if (!json_array_size(list))
        json_array_append_new(list, json_string(title ? title : ""));
    json_object_set_new(d, "keyword", list);

    dcat_dataset_modified(pkg, date, sizeof(date));
    set_str(d, "modified", date);
    json_object_set_new(d, "publisher",
                        json_pack("{s:s,s:s}", "@type", "org:Organization", "name",
                                  dcat_publisher_name(o, pkg)));
    dcat_contact(o, pkg, &ct);
    v = json_pack("{s:s,s:s}", "@type", "vcard:Contact", "fn", ct.name);
    if (ct.email)
        json_object_set_new(v, "hasEmail", json_sprintf("mailto:%s", ct.email));
    json_object_set_new(d, "contactPoint", v);
    s = dcat_extra(pkg, "identifier");
    set_str(d, "identifier", s ? s : dcat_str(pkg, "id"));
    set_str(d, "accessLevel", level);

    list = dcat_codes(pkg, "bureau_code", o->bureau_code, 2);
    if (json_array_size(list))
        json_object_set(d, "bureauCode", list);
    json_decref(list);
    list = dcat_codes(pkg, "program_code", o->program_code, 3);
    if (json_array_size(list))
        json_object_set(d, "programCode", list);
    json_decref(list);

    license = dcat_license_url(pkg);
    if (license)
        set_url(d, "license", license);
    free(license);
    s = dcat_extra(pkg, "rights");
    if (!s && strcmp(level, "public"))
        s = default_rights(level);
    if (s)
        json_object_set_new(d, "rights", utf16_cut(s, RIGHTS_MAX));
    set_str(d, "spatial", dcat_str(pkg, "spatial"));
    s = dcat_str(pkg, "temporal");
    if (s && dcat_temporal_split(s, start, end, sizeof(start)))
        set_str(d, "temporal", s);

    list = json_array();
    json_array_foreach (json_object_get(pkg, "resources"), i, res)
        json_array_append_new(list, distribution(o, pkg, res, page.buf));
    if (json_array_size(list))
        json_object_set(d, "distribution", list);
    json_decref(list);

    s = dcat_str(pkg, "frequency");
    if (dcat_frequency_ok(s))
        set_str(d, "accrualPeriodicity", s);
    s = dcat_extra(pkg, "conforms_to");
    if (dcat_url_ok(s))
        set_url(d, "conformsTo", s);
    s = dcat_extra(pkg, "data_quality");
    if (s && !parse_bool(s, &quality))
        json_object_set_new(d, "dataQuality", json_boolean(quality));
    s = dcat_extra(pkg, "described_by");
    if (dcat_url_ok(s))
        set_url(d, "describedBy", s);
    s = dcat_extra(pkg, "described_by_type");
    if (s && dcat_media_type_ok(s))
        set_str(d, "describedByType", s);
    set_str(d, "isPartOf", dcat_extra(pkg, "is_part_of"));
    dcat_dataset_issued(pkg, date, sizeof(date));
    if (dcat_date_kind(date) != DCAT_DATE_NONE)
        set_str(d, "issued", date);

    list = json_array();
    json_array_foreach (json_object_get(pkg, "language"), i, v) {
        dcat_language_tag(json_string_value(v), tag, sizeof(tag));
        if (tag[0])
            json_array_append_new(list, json_string(tag));
    }
    if (json_array_size(list))
        json_object_set(d, "language", list);
    json_decref(list);

    s = dcat_str(pkg, "url");
    if (dcat_url_ok(s))
        set_url(d, "landingPage", s);
    else
        set_url(d, "landingPage", page.buf);
    s = dcat_extra(pkg, "primary_it_investment_uii");
    if (uii_ok(s))
        set_str(d, "primaryITInvestmentUII", s);

    extra = dcat_extra_list(pkg, "references");
    list = json_array();
    json_array_foreach (extra, i, v) {
        if (dcat_url_ok(json_string_value(v))) {
            char *u = dcat_url_encode(json_string_value(v));

            json_array_append_new(list, json_string(u));
            free(u);
        }
    }
    if (json_array_size(list))
        json_object_set(d, "references", list);
    json_decref(list);
    json_decref(extra);
    set_str(d, "systemOfRecords", dcat_extra(pkg, "system_of_records"));

    /* Themes: the dataset's groups (CKAN's topics), then the extra "theme". */
    list = json_array();
    json_array_foreach (json_object_get(pkg, "groups"), i, v) {
        s = dcat_str(v, "title");
        if (!s)
            s = dcat_str(v, "name");
        if (s)
            json_array_append_new(list, json_string(s));
    }
    extra = dcat_extra_list(pkg, "theme");
    json_array_extend(list, extra);
    json_decref(extra);
    /* uniqueItems */
    for (i = 0; i < json_array_size(list); i++) {
        for (size_t j = 0; j < i; j++) {
            if (json_equal(json_array_get(list, i), json_array_get(list, j))) {
                json_array_remove(list, i--);
                break;
            }
        }
    }
    if (json_array_size(list))
        json_object_set(d, "theme", list);
    json_decref(list);
    buf_release(&page);
    return d;
}

/* ---- the stream ------------------------------------------------------------------------- */

struct dcat_stream {
    struct catalog *c;
    struct dcat_options o; /* a copy; its strings are the caller's */
    uint8_t options_digest[SHA256_LEN];
    struct buf out; /* bytes not yet read start at pos */
    size_t pos;
    struct buf texts; /* the batch's stored datasets as text */
    struct dcat_codec codec;
    size_t next;    /* start of the next batch in the catalog search */
    size_t count;   /* public datasets when the document was opened */
    size_t written; /* datasets written */
    size_t cached;  /* of which from the process cache */
    size_t stored;  /* of which from the entries kept in the store */
    char *tail;     /* what closes the document: "]}" */
    bool done;      /* the tail is in out */
    bool failed;
    /* entry.c: with splice, datasets are read under the stand-in site (to: the options
     * with it), their entries kept in the store under entry_key are used, and the site
     * URL (site, site_len: dcat_url_encode()d) spliced in. Without it (a site that
     * entries cannot serve) every entry is mapped with o. */
    bool splice;
    struct dcat_options to;
    uint8_t entry_key[SHA256_LEN];
    char *site;
    size_t site_len;
    struct buf entry; /* one entry being made */
    /* Entries made in this batch, to store back (store_dataset_derived_put()): ids and
     * the entries one after the other in wb_entries, wb_len[i] bytes each. */
    char **wb_ids;
    size_t *wb_len, nwb, wb_alloc, wb_alloc2;
    struct buf wb_entries;
    bool loaded; /* the process cache was read from disk (dcat_cache_load()) */
    /* persist.c: the store version the document reflects, the directory of what is
     * kept on disk (NULL: nothing), the snapshot being written, or the one being read
     * (snap_fd >= 0, snap_left bytes of its body still to read). */
    uint64_t version;
    char *dir;
    struct dcat_snapshot_writer snap;
    int snap_fd;
    uint64_t snap_left;
};

static int dump_to_buf(const char *data, size_t size, void *ctx)
{
    buf_add(ctx, data, size);
    return 0;
}

/* The options a data.json document depends on, hashed once per document: the
 * snapshot's name, and part of every process-cache key when entries are not spliced. */
static void options_digest(const struct dcat_options *o, uint8_t out[SHA256_LEN])
{
    const char *parts[] = {o->site_url,     o->catalog_title, o->catalog_publisher,
                           o->contact_name, o->contact_email, o->catalog_description,
                           o->bureau_code,  o->program_code};
    struct sha256_ctx ctx;

    sha256_init(&ctx);
    sha256_update(&ctx, "dcat-datajson-1", 16);
    for (size_t i = 0; i < ARRAY_SIZE(parts); i++)
        sha256_update(&ctx, parts[i], strlen(parts[i]) + 1);
    sha256_final(&ctx, out);
}

/* The process-cache key of a dataset text: the SHA-256 of the prefix digest and the
 * text, each occurrence of the stand-in site (s->to.site_url when splicing) hashed as
 * DCAT_ENTRY_SITE, so that the key does not depend on the process's stand-in. */
static void text_key(const struct dcat_stream *s, const char *text, size_t len,
                     uint8_t key[SHA256_LEN])
{
    const char *stand_in = s->to.site_url, *p = text, *end = text + len, *q;
    size_t n = strlen(stand_in);
    struct sha256_ctx ctx;
    uint8_t prefix = 0x02;
    char mark = DCAT_ENTRY_SITE;

    sha256_init(&ctx);
    sha256_update(&ctx, &prefix, 1);
    sha256_update(&ctx, s->splice ? s->entry_key : s->options_digest, SHA256_LEN);
    while (s->splice && (q = memmem(p, (size_t)(end - p), stand_in, n))) {
        sha256_update(&ctx, p, (size_t)(q - p));
        sha256_update(&ctx, &mark, 1);
        p = q + n;
    }
    sha256_update(&ctx, p, (size_t)(end - p));
    sha256_final(&ctx, key);
}

/* The resource URLs of pkg that begin with the stand-in site begin with the site URL
 * instead: what the catalog shows under it (upload and datastore dump URLs). */
static void resources_to_site(const struct dcat_stream *s, json_t *pkg)
{
    size_t n = strlen(s->to.site_url), i;
    json_t *res;

    json_array_foreach (json_object_get(pkg, "resources"), i, res) {
        const char *url = json_string_value(json_object_get(res, "url"));

        if (url && !strncmp(url, s->to.site_url, n)) {
            char *moved = xstrfmt("%s%s", s->c->site_url, url + n);

            json_object_set_new(res, "url", json_string(moved));
            free(moved);
        }
    }
}

/* Appends an entry to the document: spliced, or as it is. */
static void emit(struct dcat_stream *s, const char *entry, size_t len)
{
    if (s->splice)
        dcat_entry_splice(entry, len, s->site, s->site_len, &s->out);
    else
        buf_add(&s->out, entry, len);
}

/* Appends the data.json entry of one stored dataset text that has no entry in the
 * store: from the process cache when this text was written with these options before
 * (unless it is to be stored back: then it is parsed for its id), else parsed, mapped
 * and cached; with writeback, the entry is kept to be stored back. */
static int write_dataset(struct dcat_stream *s, const char *text, size_t len, bool writeback,
                         struct err *err)
{
    uint8_t key[SHA256_LEN];
    json_error_t jerr;
    json_t *pkg, *d;
    const char *id;
    bool made;

    text_key(s, text, len, key);
    buf_reset(&s->entry);
    if (!writeback) {
        if (!s->loaded) {
            /* Read once, by the first document of the process that needs it. */
            dcat_cache_load(s->dir);
            s->loaded = true;
        }
        if (dcat_cache_get(&s->codec, key, &s->entry)) {
            emit(s, s->entry.buf, s->entry.len);
            s->cached++;
            return 0;
        }
    }
    pkg = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!json_is_object(pkg)) {
        json_decref(pkg);
        return err_set(err, ERR_INTERNAL, NULL, "a stored dataset is corrupt: %s", jerr.text);
    }
    made = s->splice && dcat_entry_make(&s->to, pkg, &s->entry);
    if (!made) {
        /* Not spliced, or a dataset that can have no entry: mapped under the real site
         * (its URLs under the stand-in moved back to it first). */
        buf_reset(&s->entry);
        if (s->splice)
            resources_to_site(s, pkg);
        d = dcat_datajson_dataset(&s->o, pkg);
        json_dump_callback(d, dump_to_buf, &s->out, JSON_COMPACT);
        json_decref(d);
        json_decref(pkg);
        return 0;
    }
    id = dcat_str(pkg, "id");
    if (writeback && id && !buf_failed(&s->entry)) {
        ALLOC_GROW(s->wb_ids, s->nwb + 1, s->wb_alloc);
        ALLOC_GROW(s->wb_len, s->nwb + 1, s->wb_alloc2);
        s->wb_ids[s->nwb] = xstrdup(id);
        s->wb_len[s->nwb] = s->entry.len;
        s->nwb++;
        buf_add(&s->wb_entries, s->entry.buf, s->entry.len);
    } else if (!buf_failed(&s->entry)) {
        dcat_cache_put(&s->codec, key, s->entry.buf, s->entry.len);
    }
    json_decref(pkg);
    emit(s, s->entry.buf, s->entry.len);
    return 0;
}

/* Stores the entries made in this batch (one transaction), when no write was committed
 * since the batch was read at version (so each is its dataset's as it is now). Failures
 * only cost speed (logged at debug level). */
static void write_back(struct dcat_stream *s, uint64_t version)
{
    struct store *st = s->c->store;
    struct err err = ERR_INIT;
    size_t at = 0, i;
    int ret = 0;

    if (!s->nwb || buf_failed(&s->wb_entries))
        goto out;
    if (store_begin(st, &err)) {
        log_debug("dcat: data.json entries not stored: %s", err.msg);
        goto out;
    }
    if (store_catalog_version(st) != version) {
        store_rollback(st);
        goto out;
    }
    for (i = 0; !ret && i < s->nwb; i++) {
        ret = store_dataset_derived_put(st, s->wb_ids[i], s->entry_key, s->wb_entries.buf + at,
                                        s->wb_len[i], &err);
        at += s->wb_len[i];
    }
    if (!ret)
        ret = store_commit(st, &err);
    if (ret) {
        store_rollback(st);
        log_debug("dcat: data.json entries not stored: %s", err.msg);
    } else {
        log_debug("dcat: %zu data.json entries stored", s->nwb);
    }
out:
    for (i = 0; i < s->nwb; i++)
        free(s->wb_ids[i]);
    s->nwb = 0;
    buf_reset(&s->wb_entries);
}

/* Renders the next batch into s->out. */
static int stream_fill(struct dcat_stream *s, struct err *err)
{
    struct actor anon = ACTOR_ANONYMOUS;
    size_t starts[DCAT_DATAJSON_BATCH], lens[DCAT_DATAJSON_BATCH], i, k = 0, n, page;
    json_t *params, *result = NULL, *derived = NULL;
    uint64_t version = store_catalog_version(s->c->store);
    int ret;

    if (s->next > LIMIT_SEARCH_START_MAX) {
        log_warn("dcat: data.json stops after %zu datasets (the catalog search's start limit)",
                 s->written);
        goto end;
    }
    /* Name order, as the public sees the catalog; the page as the entries kept in the
     * store, and the stored texts of datasets without one, so that a dataset already
     * written costs no parse (cache.c). */
    params = json_pack("{s:s,s:s,s:I,s:I}", "q", "", "sort", "name asc", "rows",
                       (json_int_t)DCAT_DATAJSON_BATCH, "start", (json_int_t)s->next);
    buf_reset(&s->texts);
    if (s->splice)
        ret = catalog_package_search_derived(s->c, &anon, params, s->to.site_url, s->entry_key,
                                             &result, &s->texts, &derived, err);
    else
        ret = catalog_package_search_text(s->c, &anon, params, &result, &s->texts, err);
    json_decref(params);
    if (ret)
        goto out;
    if (!s->next)
        s->count = (size_t)json_integer_value(json_object_get(result, "count"));
    if (dcat_split_objects(s->texts.buf, s->texts.len, starts, lens, ARRAY_SIZE(starts), &n)) {
        ret = err_set(err, ERR_INTERNAL, NULL, "the catalog search returned unreadable datasets");
        goto out;
    }
    page = derived ? json_array_size(derived) : n;
    for (i = 0; i < page; i++) {
        json_t *x = derived ? json_array_get(derived, i) : NULL;

        if (s->written++)
            buf_addch(&s->out, ',');
        if (json_is_string(x)) {
            emit(s, json_string_value(x), json_string_length(x));
            s->stored++;
            continue;
        }
        if (k == n) {
            ret = err_set(err, ERR_INTERNAL, NULL, "the catalog search lost a dataset");
            goto out;
        }
        /* Stored back only where the store keeps entries. */
        ret = write_dataset(s, s->texts.buf + starts[k], lens[k], derived != NULL, err);
        k++;
        if (ret)
            goto out;
    }
    write_back(s, version);
    s->next += page;
    if (page == DCAT_DATAJSON_BATCH)
        goto out;
end:
    buf_addstr(&s->out, s->tail);
    s->done = true;
    log_debug("dcat: data.json: %zu datasets, %zu of them from the store, %zu from the cache",
              s->written, s->stored, s->cached);
    ret = 0;
out:
    json_decref(derived);
    json_decref(result);
    return ret;
}

/* stream_fill(), and what it added copied to the snapshot being written; the snapshot
 * is committed with the last batch when no write was committed meanwhile (the store
 * version is the one the document was started at, so every batch read that state),
 * and the process cache saved when this document added entries to it. */
static int fill(struct dcat_stream *s, size_t from, struct err *err)
{
    int ret = stream_fill(s, err);

    if (ret) {
        dcat_snapshot_abandon(&s->snap);
        return ret;
    }
    dcat_snapshot_add(&s->snap, s->out.buf + from, s->out.len - from);
    if (s->done) {
        if (store_catalog_version(s->c->store) == s->version)
            dcat_snapshot_commit(&s->snap, s->written);
        else
            dcat_snapshot_abandon(&s->snap);
        /* The process cache, when this document added to it (entries not stored). */
        if (s->loaded && s->cached + s->stored < s->written)
            dcat_cache_save(s->dir);
    }
    return 0;
}

int dcat_datajson_open(struct catalog *c, const struct dcat_options *o, struct dcat_stream **out,
                       struct err *err)
{
    struct dcat_stream *s = xcalloc(1, sizeof(*s));
    json_t *head;
    char *text, *cut, *id;
    int ret;

    *out = NULL;
    s->c = c;
    s->o = *o;
    s->snap_fd = -1;
    s->snap.fd = -1;
    options_digest(o, s->options_digest);
    s->to = *o;
    /* Entries are spliced under the site the catalog shows its URLs under. */
    s->splice = dcat_entry_site_ok(o->site_url) && str_eq(o->site_url, c->site_url);
    if (s->splice) {
        s->to.site_url = dcat_entry_site();
        dcat_entry_key(o, s->entry_key);
        s->site = dcat_url_encode(o->site_url);
        s->site_len = strlen(s->site);
    }
    buf_init(&s->out, 0);
    buf_init(&s->texts, 0);
    buf_init(&s->entry, 0);
    buf_init(&s->wb_entries, 0);
    dcat_codec_init(&s->codec);
    /* The version first: a write committed after this is seen by the end's check. */
    s->version = store_catalog_version(c->store);
    s->dir = dcat_persist_dir(c);
    if (s->dir) {
        uint8_t key[SHA256_LEN], v[8];
        uint64_t len;

        for (size_t i = 0; i < sizeof(v); i++)
            v[i] = (uint8_t)(s->version >> (8 * i));
        sha256_prefixed(0x03, s->options_digest, SHA256_LEN, v, sizeof(v), key);
        s->snap_fd = dcat_snapshot_open(s->dir, key, &s->count, &len);
        if (s->snap_fd >= 0) {
            s->snap_left = len;
            s->written = s->count;
            *out = s;
            return 0;
        }
        dcat_snapshot_begin(&s->snap, s->dir, key);
    }
    id = xstrfmt("%s/data.json", o->site_url);
    head = json_pack("{s:s,s:s,s:s,s:s,s:s,s:[]}", "@context", POD_CONTEXT, "@id", id, "@type",
                     "dcat:Catalog", "conformsTo", POD_SCHEMA, "describedBy", POD_CATALOG,
                     "dataset");
    free(id);
    BUG_ON(!head);
    text = json_dumps(head, JSON_COMPACT);
    json_decref(head);
    BUG_ON(!text);
    /* "…,"dataset":[]}": keep up to the '[' and close with "]}" at the end. */
    cut = strstr(text, "\"dataset\":[]}");
    BUG_ON(!cut || cut[13]);
    s->tail = xstrdup("]}");
    buf_add(&s->out, text, (size_t)(cut + 11 - text));
    free(text);
    ret = fill(s, 0, err);
    if (ret) {
        dcat_stream_free(s);
        return ret;
    }
    *out = s;
    return 0;
}

long dcat_stream_read(struct dcat_stream *s, char *buf, size_t size)
{
    struct err err = ERR_INIT;
    size_t n;

    if (s->failed)
        return -1;
    if (s->snap_fd >= 0) {
        ssize_t r;

        if (!s->snap_left)
            return 0;
        if (size > s->snap_left)
            size = (size_t)s->snap_left;
        if (size > LONG_MAX)
            size = LONG_MAX;
        do
            r = read(s->snap_fd, buf, size);
        while (r < 0 && errno == EINTR);
        if (r <= 0) {
            log_error("dcat: data.json cut short: its snapshot cannot be read: %s",
                      r ? strerror(errno) : "it is shorter than it says");
            s->failed = true;
            return -1;
        }
        s->snap_left -= (uint64_t)r;
        return (long)r;
    }
    while (s->pos == s->out.len) {
        if (s->done)
            return 0;
        buf_reset(&s->out);
        s->pos = 0;
        if (fill(s, 0, &err)) {
            log_error("dcat: data.json cut short after %zu datasets: %s", s->written, err.msg);
            s->failed = true;
            return -1;
        }
    }
    n = s->out.len - s->pos;
    if (n > size)
        n = size;
    if (n > LONG_MAX)
        n = LONG_MAX;
    memcpy(buf, s->out.buf + s->pos, n);
    s->pos += n;
    return (long)n;
}

size_t dcat_stream_count(const struct dcat_stream *s)
{
    return s->count;
}

void dcat_stream_free(struct dcat_stream *s)
{
    if (!s)
        return;
    buf_release(&s->out);
    buf_release(&s->texts);
    buf_release(&s->entry);
    for (size_t i = 0; i < s->nwb; i++)
        free(s->wb_ids[i]);
    free(s->wb_ids);
    free(s->wb_len);
    buf_release(&s->wb_entries);
    free(s->site);
    dcat_codec_release(&s->codec);
    dcat_snapshot_abandon(&s->snap);
    if (s->snap_fd >= 0)
        close(s->snap_fd);
    free(s->dir);
    free(s->tail);
    free(s);
}
