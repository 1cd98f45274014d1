/*
 * rdf.c - the DCAT-AP documents: a page of the catalog (dcat:Catalog with its datasets
 * and a hydra:PagedCollection, as ckanext-dcat's /catalog.ttl?page=N), one dataset, the
 * formats they come in and the negotiation of /dataset/<name> by Accept.
 */
#include <jansson.h>

#include "core/limits.h"
#include "dcat/dcat-int.h"
#include "core/util.h"

static const struct {
    const char *ext, *content_type;
} formats[] = {
        [DCAT_TURTLE] = {"ttl", "text/turtle; charset=utf-8"},
        [DCAT_RDFXML] = {"rdf", "application/rdf+xml; charset=utf-8"},
        [DCAT_JSONLD] = {"jsonld", "application/ld+json; charset=utf-8"},
};

int dcat_format_from_extension(const char *ext, enum dcat_format *f)
{
    for (size_t i = 0; ext && i < ARRAY_SIZE(formats); i++) {
        if (!strcmp(ext, formats[i].ext)) {
            *f = (enum dcat_format)i;
            return 0;
        }
    }
    return -1;
}

const char *dcat_format_extension(enum dcat_format f)
{
    return formats[f].ext;
}

const char *dcat_format_content_type(enum dcat_format f)
{
    return formats[f].content_type;
}

/* ---- Accept ----------------------------------------------------------------------------- */

/* A q-value (RFC 9110 §12.4.2: "0" or "1" with up to three decimals) in thousandths;
 * -1 when malformed. */
static int qvalue(const char *s, size_t len)
{
    int q = 0, scale = 100;

    if (!len || (s[0] != '0' && s[0] != '1'))
        return -1;
    q = (s[0] - '0') * 1000;
    if (len == 1)
        return q;
    if (s[1] != '.' || len > 5)
        return -1;
    for (size_t i = 2; i < len; i++, scale /= 10) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        q += (s[i] - '0') * scale;
    }
    return q > 1000 ? -1 : q;
}

static bool token_eq(const char *s, size_t len, const char *lit)
{
    return strlen(lit) == len && !strncasecmp(s, lit, len);
}

int dcat_format_negotiate(const char *accept, enum dcat_format *f)
{
    static const struct {
        const char *type;
        enum dcat_format f;
    } rdf[] = {
            {"text/turtle", DCAT_TURTLE},         {"application/x-turtle", DCAT_TURTLE},
            {"application/rdf+xml", DCAT_RDFXML}, {"application/ld+json", DCAT_JSONLD},
            {"application/json+ld", DCAT_JSONLD},
    };
    int html_q = 0, best_q = 0;
    enum dcat_format best = DCAT_TURTLE;
    const char *p = accept;

    if (!accept)
        return 0;
    while (*p) {
        const char *range = p, *end = p + strcspn(p, ","), *semi;
        size_t len;
        int q = 1000;

        while (range < end && (*range == ' ' || *range == '\t'))
            range++;
        semi = memchr(range, ';', (size_t)(end - range));
        len = (size_t)((semi ? semi : end) - range);
        while (len && (range[len - 1] == ' ' || range[len - 1] == '\t'))
            len--;
        /* Parameters: only q matters. */
        for (const char *a = semi; a && a < end;) {
            const char *next = memchr(a + 1, ';', (size_t)(end - a - 1)), *v;
            const char *stop = next ? next : end;

            a++;
            while (a < stop && (*a == ' ' || *a == '\t'))
                a++;
            if (stop - a >= 2 && (a[0] == 'q' || a[0] == 'Q') && a[1] == '=') {
                size_t vlen;

                v = a + 2;
                vlen = (size_t)(stop - v);
                while (vlen && (v[vlen - 1] == ' ' || v[vlen - 1] == '\t'))
                    vlen--;
                q = qvalue(v, vlen);
                if (q < 0)
                    q = 0; /* a malformed weight: the range counts for nothing */
            }
            a = next;
        }
        /* The page: text/html and XHTML, and the wildcards that cover them. */
        if (token_eq(range, len, "text/html") || token_eq(range, len, "application/xhtml+xml") ||
            token_eq(range, len, "text/*") || token_eq(range, len, "*/*")) {
            if (q > html_q)
                html_q = q;
        }
        /* RDF only when named: a wildcard keeps the page. */
        for (size_t i = 0; i < ARRAY_SIZE(rdf); i++) {
            if (token_eq(range, len, rdf[i].type) && q > best_q) {
                best_q = q;
                best = rdf[i].f;
            }
        }
        p = *end ? end + 1 : end;
    }
    if (best_q > 0 && best_q > html_q) {
        *f = best;
        return 1;
    }
    return 0;
}

/* ---- documents ---------------------------------------------------------------------------- */

static void add_int(struct dcat_graph *g, const struct dcat_term *s, const char *p, uint64_t n)
{
    char text[24];

    xsnprintf(text, sizeof(text), "%" PRIu64, n);
    dcat_add(g, s, p, dcat_literal(text, NS_XSD "integer", NULL));
}

static void add_page_url(const struct dcat_options *o, enum dcat_format f, struct dcat_graph *g,
                         const struct dcat_term *s, const char *p, uint64_t page)
{
    char *url = xstrfmt("%s/catalog.%s?page=%" PRIu64, o->site_url, formats[f].ext, page);

    /* Literals, as ckanext-dcat writes them (and its harvester reads them). */
    dcat_add(g, s, p, dcat_literal(url, NULL, NULL));
    free(url);
}

int dcat_catalog_page(struct catalog *c, const struct dcat_options *o, enum dcat_format f,
                      uint64_t page, struct buf *out, struct err *err)
{
    struct dcat_graph g;
    struct dcat_term cat, t;
    json_t *results = NULL, *pkg;
    uint64_t size = o->page_size ? o->page_size : DCAT_PAGE_SIZE_DEFAULT, last, start;
    size_t count = 0, i;
    char *s, *description_free;
    int ret;

    dcat_graph_init(&g);
    if (page < 1 || page > (uint64_t)LIMIT_SEARCH_START_MAX / size + 1) {
        ret = err_set(err, ERR_NOT_FOUND, "page", "page %" PRIu64 " of the catalog does not exist",
                      page);
        goto out;
    }
    start = (page - 1) * size;
    ret = dcat_search(c, (size_t)start, (size_t)size, &results, &count, err);
    if (ret)
        goto out;
    last = count ? (count + size - 1) / size : 1;
    if (page > last) {
        ret = err_set(err, ERR_NOT_FOUND, "page",
                      "page %" PRIu64 " of the catalog does not exist: it has %" PRIu64 " page%s",
                      page, last, last == 1 ? "" : "s");
        goto out;
    }

    s = xstrfmt("%s/", o->site_url);
    cat = dcat_iri(s);
    dcat_add_type(&g, &cat, NS_DCAT "Catalog");
    dcat_add(&g, &cat, NS_DCT "title", dcat_literal(o->catalog_title, NULL, NULL));
    dcat_add(&g, &cat, NS_DCT "description",
             dcat_literal(dcat_catalog_description(o, &description_free), NULL, NULL));
    free(description_free);
    t = dcat_blank(&g);
    dcat_add(&g, &cat, NS_DCT "publisher", dcat_term_copy(&t));
    dcat_add_type(&g, &t, NS_FOAF "Agent");
    dcat_add(&g, &t, NS_FOAF "name", dcat_literal(dcat_catalog_publisher(o), NULL, NULL));
    dcat_term_release(&t);
    t = dcat_iri(s);
    dcat_add(&g, &cat, NS_FOAF "homepage", dcat_term_copy(&t));
    dcat_add_type(&g, &t, NS_FOAF "Document");
    dcat_term_release(&t);
    free(s);
    json_array_foreach (results, i, pkg) {
        struct dcat_term ds;

        dcat_dataset_graph(o, pkg, &g, &ds);
        dcat_add(&g, &cat, NS_DCAT "dataset", ds);
    }
    dcat_term_release(&cat);

    s = xstrfmt("%s/catalog.%s?page=%" PRIu64, o->site_url, formats[f].ext, page);
    t = dcat_iri(s);
    free(s);
    dcat_add_type(&g, &t, NS_HYDRA "PagedCollection");
    add_int(&g, &t, NS_HYDRA "totalItems", count);
    add_int(&g, &t, NS_HYDRA "itemsPerPage", size);
    add_page_url(o, f, &g, &t, NS_HYDRA "firstPage", 1);
    add_page_url(o, f, &g, &t, NS_HYDRA "lastPage", last);
    if (page < last)
        add_page_url(o, f, &g, &t, NS_HYDRA "nextPage", page + 1);
    if (page > 1)
        add_page_url(o, f, &g, &t, NS_HYDRA "previousPage", page - 1);
    dcat_term_release(&t);

    ret = dcat_graph_write(&g, f, out, err);
out:
    json_decref(results);
    dcat_graph_release(&g);
    return ret;
}

int dcat_dataset_rdf(struct catalog *c, const struct dcat_options *o, enum dcat_format f,
                     const char *id_or_name, struct buf *out, struct err *err)
{
    struct dcat_graph g;
    json_t *pkg = NULL;
    int ret;

    dcat_graph_init(&g);
    ret = dcat_show(c, id_or_name, &pkg, err);
    if (ret)
        goto out;
    dcat_dataset_graph(o, pkg, &g, NULL);
    ret = dcat_graph_write(&g, f, out, err);
out:
    json_decref(pkg);
    dcat_graph_release(&g);
    return ret;
}
