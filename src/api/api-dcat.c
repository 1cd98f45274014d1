/*
 * api-dcat.c - the metadata exports as HTTP-facing documents: request parameters and
 * paths in, a body and its Content-Type out (api.h, "The metadata exports"). The
 * documents themselves are src/dcat/; this file reads the request's side of them: the
 * page number, the extension or Accept header that picks a format, and the options from
 * the portal configuration.
 */
#include <jansson.h>

#include "api/api.h"
#include "core/parse.h"
#include "crypto/digest.h"
#include "dcat/dcat.h"
#include "store/store.h"
#include "core/util.h"

#define JSON_TYPE "application/json; charset=utf-8"

/* The highest page number a URL may name; larger ones are "not found" anyway. */
#define PAGE_MAX 100000000u

static int finish(struct buf *b, char **body, size_t *len, struct err *err)
{
    if (buf_failed(b)) {
        buf_release(b);
        return err_set(err, ERR_TOO_LARGE, NULL, "the document is too large");
    }
    *body = buf_detach(b, len);
    return 0;
}

int api_dcat_catalog(struct catalog *c, const struct config *cfg, const char *ext,
                     const json_t *params, char **body, size_t *len, const char **ctype,
                     struct err *err)
{
    struct dcat_options o;
    struct buf b = BUF_INIT;
    enum dcat_format f;
    const char *page_s = json_string_value(json_object_get(params, "page"));
    uint64_t page = 1;
    int ret;

    *body = NULL;
    *len = 0;
    if (dcat_format_from_extension(ext, &f))
        return err_set(err, ERR_NOT_FOUND, NULL, "no catalog in the format \"%s\"", ext);
    if (json_object_get(params, "page") &&
        (!page_s || parse_u64(page_s, PAGE_MAX, &page) || page < 1))
        return err_set(err, ERR_BAD_REQUEST, "page",
                       "invalid \"page\": it must be a whole number from 1 to %u", PAGE_MAX);
    dcat_options_init(&o, cfg, c->site_url);
    *ctype = dcat_format_content_type(f);
    ret = dcat_catalog_page(c, &o, f, page, &b, err);
    if (ret) {
        buf_release(&b);
        return ret;
    }
    return finish(&b, body, len, err);
}

bool api_dcat_dataset_wanted(const char *segment, const char *accept, size_t *name_len, int *format)
{
    const char *dot = strrchr(segment, '.');
    enum dcat_format f;

    if (dot && dot > segment && !dcat_format_from_extension(dot + 1, &f)) {
        *name_len = (size_t)(dot - segment);
        *format = (int)f;
        return true;
    }
    if (dcat_format_negotiate(accept, &f) == 1) {
        *name_len = strlen(segment);
        *format = (int)f;
        return true;
    }
    return false;
}

int api_dcat_dataset(struct catalog *c, const struct config *cfg, const char *id, int format,
                     char **body, size_t *len, const char **ctype, struct err *err)
{
    struct dcat_options o;
    struct buf b = BUF_INIT;
    int ret;

    *body = NULL;
    *len = 0;
    if (format < DCAT_TURTLE || format > DCAT_JSONLD)
        return err_set(err, ERR_NOT_FOUND, NULL, "unknown format");
    dcat_options_init(&o, cfg, c->site_url);
    *ctype = dcat_format_content_type((enum dcat_format)format);
    ret = dcat_dataset_rdf(c, &o, (enum dcat_format)format, id, &b, err);
    if (ret) {
        buf_release(&b);
        return ret;
    }
    return finish(&b, body, len, err);
}

int api_dcat_datapackage(struct catalog *c, const struct config *cfg, const char *id, char **body,
                         size_t *len, const char **ctype, struct err *err)
{
    struct dcat_options o;
    json_t *dp = NULL;
    int ret;

    *body = NULL;
    *len = 0;
    dcat_options_init(&o, cfg, c->site_url);
    ret = dcat_datapackage(c, &o, id, &dp, err);
    if (ret)
        return ret;
    *body = json_dumps(dp, JSON_INDENT(2));
    json_decref(dp);
    BUG_ON(!*body);
    *len = strlen(*body);
    *ctype = JSON_TYPE;
    return 0;
}

int api_dcat_datajson_open(struct catalog *c, const struct config *cfg, struct dcat_stream **out,
                           const char **ctype, struct err *err)
{
    struct dcat_options o;

    dcat_options_init(&o, cfg, c->site_url);
    *ctype = JSON_TYPE;
    return dcat_datajson_open(c, &o, out, err);
}

void api_dcat_datajson_digest(struct catalog *c, const struct config *cfg, char hex[65])
{
    struct dcat_options o;
    struct sha256_ctx ctx;
    uint8_t md[SHA256_LEN];
    uint64_t version = store_catalog_version(c->store);

    dcat_options_init(&o, cfg, c->site_url);
    {
        const char *parts[] = {"data.json",           o.site_url,     o.catalog_title,
                               o.catalog_publisher,   o.contact_name, o.contact_email,
                               o.catalog_description, o.bureau_code,  o.program_code};

        sha256_init(&ctx);
        sha256_update(&ctx, &version, sizeof(version));
        /* Each part with its NUL, so that no two lists of parts hash alike. */
        for (size_t i = 0; i < ARRAY_SIZE(parts); i++)
            sha256_update(&ctx, parts[i], strlen(parts[i]) + 1);
    }
    sha256_final(&ctx, md);
    hex_encode(md, SHA256_LEN, hex);
}
