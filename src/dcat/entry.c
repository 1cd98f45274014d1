/*
 * entry.c - data.json entries that do not depend on the site URL, so that each can be
 * written once, with its dataset, and kept in the store (docs/internals/dcat.md, "Speed
 * and memory").
 *
 * An entry is the compact dump of dcat_datajson_dataset() for a package dict shown
 * under a stand-in site, "http://" + catalog_splice_token() (random, drawn once per
 * process, never written anywhere, so no stored text can hold it), with every
 * occurrence of that stand-in replaced by one byte, DCAT_ENTRY_SITE (0x01), which no
 * jansson dump holds (control characters in strings are escaped as \u00XX, and a
 * compact dump puts none between tokens). Writing data.json then replaces each of those
 * bytes with the site URL as the export writes it: dcat_url_encode(site_url), which is
 * printable ASCII without a double quote or backslash, so its JSON is itself.
 *
 * That gives the bytes the mapping gives with the real site because the site only ever
 * reaches an entry at the start of a URL followed by '/' ("<site>/dataset/<name>",
 * "<site>/dataset/<id>/resource/…", "<site>/datastore/dump/<id>") that goes through
 * dcat_url_encode() (byte by byte; a '%' is looked at with the two bytes after it, and
 * a '/' is no hex digit, so a site's own bytes are encoded the same alone or in front of
 * the path), and through one other test, dcat_url_ok(), which reads the scheme, the
 * first byte of the host, control bytes and the length: dcat_entry_site_ok() accepts
 * only sites that pass the same tests as the stand-in, no longer than DCAT_SITE_MAX, and
 * entries whose site-relative URLs would pass the length test under any such site.
 * Any other site writes data.json the old way (datajson.c).
 */
#include <jansson.h>
#include <pthread.h>

#include "core/limits.h"
#include "crypto/digest.h"
#include "dcat/dcat-int.h"
#include "core/util.h"

static pthread_once_t site_once = PTHREAD_ONCE_INIT;
static char site[64];

static void site_make(void)
{
    snprintf(site, sizeof(site), "http://%s", catalog_splice_token());
}

const char *dcat_entry_site(void)
{
    BUG_ON(pthread_once(&site_once, site_make));
    return site;
}

void dcat_entry_key(const struct dcat_options *o, uint8_t key[SHA256_LEN])
{
    const char *parts[] = {o->catalog_title, o->catalog_publisher,   o->contact_name,
                           o->contact_email, o->catalog_description, o->bureau_code,
                           o->program_code};
    char rev[32];
    struct sha256_ctx ctx;

    snprintf(rev, sizeof(rev), "%d", DCAT_ENTRY_REVISION);
    sha256_init(&ctx);
    sha256_update(&ctx, "dcat-datajson-entry", 20);
    sha256_update(&ctx, rev, strlen(rev) + 1);
    for (size_t i = 0; i < ARRAY_SIZE(parts); i++)
        sha256_update(&ctx, parts[i], strlen(parts[i]) + 1);
    sha256_final(&ctx, key);
}

bool dcat_entry_site_ok(const char *s)
{
    return s && strlen(s) <= DCAT_SITE_MAX && dcat_url_ok(s) && !strchr(s, DCAT_ENTRY_SITE);
}

/* Whether every URL of doc's resources that begins with the stand-in site would pass
 * dcat_url_ok()'s length test, as it does, under any site dcat_entry_site_ok() takes. */
static bool lengths_ok(json_t *doc, const char *stand_in)
{
    size_t n = strlen(stand_in), i;
    json_t *res;

    json_array_foreach (json_object_get(doc, "resources"), i, res) {
        const char *url = json_string_value(json_object_get(res, "url"));

        if (url && !strncmp(url, stand_in, n) &&
            strlen(url) - n + (n > DCAT_SITE_MAX ? n : DCAT_SITE_MAX) > LIMIT_URL_MAX)
            return false;
    }
    return true;
}

static int dump_to_buf(const char *data, size_t size, void *ctx)
{
    buf_add(ctx, data, size);
    return 0;
}

bool dcat_entry_make(const struct dcat_options *o, json_t *doc, struct buf *out)
{
    struct buf dump = BUF_INIT;
    size_t n = strlen(o->site_url), at = 0;
    json_t *d;
    bool ok;

    if (!lengths_ok(doc, o->site_url))
        return false;
    d = dcat_datajson_dataset(o, doc);
    ok = !json_dump_callback(d, dump_to_buf, &dump, JSON_COMPACT) && !buf_failed(&dump);
    json_decref(d);
    while (ok) {
        const char *p = memmem(dump.buf + at, dump.len - at, o->site_url, n);

        if (!p) {
            buf_add(out, dump.buf + at, dump.len - at);
            break;
        }
        buf_add(out, dump.buf + at, (size_t)(p - dump.buf) - at);
        buf_addch(out, DCAT_ENTRY_SITE);
        at = (size_t)(p - dump.buf) + n;
    }
    buf_release(&dump);
    return ok && !buf_failed(out);
}

void dcat_entry_splice(const char *entry, size_t len, const char *site_url, size_t site_len,
                       struct buf *out)
{
    const char *p = entry, *end = entry + len;

    while (p < end) {
        const char *q = memchr(p, DCAT_ENTRY_SITE, (size_t)(end - p));

        if (!q) {
            buf_add(out, p, (size_t)(end - p));
            return;
        }
        buf_add(out, p, (size_t)(q - p));
        buf_add(out, site_url, site_len);
        p = q + 1;
    }
}

/* ---- the catalog's hook ------------------------------------------------------------------ */

struct hook {
    struct catalog_derive base; /* first: the catalog holds &base */
    struct dcat_options o;      /* site_url: the stand-in */
    char *strings[7];
};

static bool hook_derive(const struct catalog_derive *d, json_t *doc, struct buf *out)
{
    const struct hook *h = (const struct hook *)d;

    return dcat_entry_make(&h->o, doc, out);
}

static void hook_release(struct catalog_derive *d)
{
    struct hook *h = (struct hook *)d;

    for (size_t i = 0; i < ARRAY_SIZE(h->strings); i++)
        free(h->strings[i]);
    free(h);
}

void dcat_catalog_derive(struct catalog *c, const struct config *cfg)
{
    struct hook *h = xcalloc(1, sizeof(*h));
    struct dcat_options o;
    const char **fields[] = {&h->o.catalog_title,     &h->o.catalog_description,
                             &h->o.catalog_publisher, &h->o.contact_name,
                             &h->o.contact_email,     &h->o.bureau_code,
                             &h->o.program_code};

    dcat_options_init(&o, cfg, dcat_entry_site());
    h->o = o;
    /* The configuration's strings are copied: the hook lives as long as the catalog. */
    for (size_t i = 0; i < ARRAY_SIZE(fields); i++) {
        h->strings[i] = xstrdup(*fields[i]);
        *fields[i] = h->strings[i];
    }
    dcat_entry_key(&h->o, h->base.key);
    h->base.site = h->o.site_url;
    h->base.derive = hook_derive;
    h->base.release = hook_release;
    if (c->derive && c->derive->release)
        c->derive->release(c->derive);
    c->derive = &h->base;
}
