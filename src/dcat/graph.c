/*
 * graph.c - DCAT-AP 3.0.1 as triples: a package dict becomes a dcat:Dataset with its
 * distributions, publisher (foaf:Agent), contact point (vcard:Kind), licence, access
 * rights, temporal and spatial coverage, themes, languages and frequency. Every node
 * states its class, because the SHACL range constraints (range.ttl) only see types
 * stated in the data. The mapping is docs/internals/dcat.md, "DCAT-AP".
 */
#include <jansson.h>

#include "core/timeutil.h"
#include "dcat/dcat-int.h"
#include "core/util.h"

void dcat_graph_init(struct dcat_graph *g)
{
    memset(g, 0, sizeof(*g));
}

void dcat_term_release(struct dcat_term *t)
{
    free(t->value);
    free(t->lang);
    memset(t, 0, sizeof(*t));
}

void dcat_graph_release(struct dcat_graph *g)
{
    for (size_t i = 0; i < g->n; i++) {
        dcat_term_release(&g->t[i].s);
        dcat_term_release(&g->t[i].o);
    }
    free(g->t);
    memset(g, 0, sizeof(*g));
}

struct dcat_term dcat_iri(const char *iri)
{
    return (struct dcat_term){DCAT_IRI, xstrdup(iri), NULL, NULL};
}

struct dcat_term dcat_blank(struct dcat_graph *g)
{
    return (struct dcat_term){DCAT_BLANK, xstrfmt("b%u", g->blanks++), NULL, NULL};
}

/*
 * Literal text as every serialisation can carry it: control characters other than tab,
 * line feed and carriage return (which XML 1.0 cannot hold at all) become U+FFFD, as do
 * U+FFFE and U+FFFF. The text is valid UTF-8 (it came from jansson).
 */
static char *clean_text(const char *s)
{
    struct buf b = BUF_INIT;

    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if ((*p < 0x20 && *p != '\t' && *p != '\n' && *p != '\r') || *p == 0x7f) {
            buf_addstr(&b, "\xef\xbf\xbd");
        } else if (p[0] == 0xef && p[1] == 0xbf && (p[2] == 0xbe || p[2] == 0xbf)) {
            buf_addstr(&b, "\xef\xbf\xbd");
            p += 2;
        } else if (p[0] == 0xc2 && p[1] >= 0x80 && p[1] <= 0x9f) {
            /* C1 controls: XML 1.0 allows them but discourages; RDF/XML readers choke. */
            buf_addstr(&b, "\xef\xbf\xbd");
            p++;
        } else {
            buf_addch(&b, *p);
        }
    }
    return buf_detach(&b, NULL);
}

struct dcat_term dcat_literal(const char *text, const char *datatype, const char *lang)
{
    return (struct dcat_term){DCAT_LITERAL, clean_text(text), datatype,
                              lang && *lang ? xstrdup(lang) : NULL};
}

struct dcat_term dcat_term_copy(const struct dcat_term *t)
{
    return (struct dcat_term){t->kind, xstrdup(t->value), t->datatype,
                              t->lang ? xstrdup(t->lang) : NULL};
}

void dcat_add(struct dcat_graph *g, const struct dcat_term *s, const char *p, struct dcat_term o)
{
    ALLOC_GROW(g->t, g->n + 1, g->alloc);
    g->t[g->n].s = dcat_term_copy(s);
    g->t[g->n].p = p;
    g->t[g->n].o = o;
    g->n++;
}

void dcat_add_type(struct dcat_graph *g, const struct dcat_term *s, const char *class_iri)
{
    dcat_add(g, s, NS_RDF "type", dcat_iri(class_iri));
}

/* (s, p, <url>) with the URL encoded as an IRI. */
static void add_url(struct dcat_graph *g, const struct dcat_term *s, const char *p, const char *url)
{
    char *u = dcat_url_encode(url);

    dcat_add(g, s, p, dcat_iri(u));
    free(u);
}

/* (s, p, <iri>) and (<iri>, rdf:type, class). */
static void add_typed_iri(struct dcat_graph *g, const struct dcat_term *s, const char *p,
                          const char *iri, const char *class_iri)
{
    struct dcat_term t = dcat_iri(iri);

    dcat_add(g, s, p, dcat_term_copy(&t));
    dcat_add_type(g, &t, class_iri);
    dcat_term_release(&t);
}

/* A date literal typed by its kind; nothing when s is not a date. */
static void add_date(struct dcat_graph *g, const struct dcat_term *s, const char *p, const char *d)
{
    enum dcat_date kind = dcat_date_kind(d);

    if (kind != DCAT_DATE_NONE)
        dcat_add(g, s, p, dcat_literal(d, dcat_date_datatype(kind), NULL));
}

/* The text of a field and its translations ({"en": …, "zh_CN": …}): the text plain,
 * each translation that differs from it tagged with its language. */
static void add_translated(struct dcat_graph *g, const struct dcat_term *s, const char *p,
                           const char *text, const json_t *translations)
{
    const char *lang;
    json_t *v;
    char tag[64];

    dcat_add(g, s, p, dcat_literal(text, NULL, NULL));
    json_object_foreach ((json_t *)translations, lang, v) {
        const char *t = json_string_value(v);

        dcat_language_tag(lang, tag, sizeof(tag));
        if (t && *t && tag[0] && strcmp(t, text))
            dcat_add(g, s, p, dcat_literal(t, NULL, tag));
    }
}

static void add_license(struct dcat_graph *g, const struct dcat_term *s, const json_t *pkg)
{
    char *url = dcat_license_url(pkg);
    const char *id = dcat_str(pkg, "license_id"), *title = dcat_str(pkg, "license_title");

    if (url) {
        char *u = dcat_url_encode(url);

        add_typed_iri(g, s, NS_DCT "license", u, NS_DCT "LicenseDocument");
        free(u);
    } else if (id && strcmp(id, "notspecified")) {
        /* A licence without a document (other-pd, other-open …): named by its id. */
        struct dcat_term b = dcat_blank(g);

        dcat_add(g, s, NS_DCT "license", dcat_term_copy(&b));
        dcat_add_type(g, &b, NS_DCT "LicenseDocument");
        dcat_add(g, &b, NS_DCT "identifier", dcat_literal(id, NULL, NULL));
        if (title)
            dcat_add(g, &b, NS_RDFS "label", dcat_literal(title, NULL, NULL));
        dcat_term_release(&b);
    }
    free(url);
}

static void add_distribution(const struct dcat_options *o, json_t *pkg, json_t *res,
                             const char *page, struct dcat_graph *g, const struct dcat_term *ds)
{
    const char *rid = dcat_str(res, "id"), *download, *access, *s, *hash;
    const struct dcat_file_format *ff;
    char media[128], date[TIME_ISO_MAX];
    const char *mt = dcat_resource_media_type(res, media, sizeof(media));
    struct dcat_term d;
    json_t *size;
    char *iri;

    if (!rid)
        return;
    if (dcat_is_public(pkg)) {
        iri = xstrfmt("%s/dataset/%s/resource/%s", o->site_url, dcat_str(pkg, "id"), rid);
        d = dcat_iri(iri);
        free(iri);
    } else {
        /* The resource's IRI would hold its id, and with it the download route of a file
         * that is not published: a blank node says what there is without it. */
        d = dcat_blank(g);
    }
    dcat_add(g, ds, NS_DCAT "distribution", dcat_term_copy(&d));
    dcat_add_type(g, &d, NS_DCAT "Distribution");
    if ((s = dcat_str(res, "name")))
        dcat_add(g, &d, NS_DCT "title", dcat_literal(s, NULL, NULL));
    if ((s = dcat_str(res, "description")))
        dcat_add(g, &d, NS_DCT "description", dcat_literal(s, NULL, NULL));
    dcat_resource_urls(pkg, res, mt, page, &download, &access);
    add_url(g, &d, NS_DCAT "accessURL", access);
    if (download)
        add_url(g, &d, NS_DCAT "downloadURL", download);
    if (mt) {
        iri = xstrfmt(IANA_MEDIA "%s", mt);
        add_typed_iri(g, &d, NS_DCAT "mediaType", iri, NS_DCT "MediaType");
        free(iri);
    }
    s = dcat_str(res, "format");
    ff = dcat_file_format(s);
    if (ff && ff->eu) {
        iri = xstrfmt(EU_FILE "%s", ff->eu);
        add_typed_iri(g, &d, NS_DCT "format", iri, NS_DCT "MediaTypeOrExtent");
        free(iri);
    } else if (s) {
        struct dcat_term b = dcat_blank(g);

        dcat_add(g, &d, NS_DCT "format", dcat_term_copy(&b));
        dcat_add_type(g, &b, NS_DCT "MediaTypeOrExtent");
        dcat_add(g, &b, NS_RDFS "label", dcat_literal(s, NULL, NULL));
        dcat_term_release(&b);
    }
    size = json_object_get(res, "size");
    if (json_is_integer(size) && json_integer_value(size) >= 0) {
        char n[24];

        xsnprintf(n, sizeof(n), "%" JSON_INTEGER_FORMAT, json_integer_value(size));
        dcat_add(g, &d, NS_DCAT "byteSize", dcat_literal(n, NS_XSD "nonNegativeInteger", NULL));
    }
    hash = dcat_str(res, "hash");
    if (hash && starts_with(hash, "sha256:") && strlen(hash) == 7 + 64 &&
        strspn(hash + 7, "0123456789abcdef") == 64) {
        struct dcat_term b = dcat_blank(g);

        dcat_add(g, &d, NS_SPDX "checksum", dcat_term_copy(&b));
        dcat_add_type(g, &b, NS_SPDX "Checksum");
        dcat_add(g, &b, NS_SPDX "algorithm", dcat_iri(NS_SPDX "checksumAlgorithm_sha256"));
        dcat_add(g, &b, NS_SPDX "checksumValue", dcat_literal(hash + 7, NS_XSD "hexBinary", NULL));
        dcat_term_release(&b);
    }
    add_license(g, &d, pkg);
    dcat_timestamp(dcat_str(res, "created"), date, sizeof(date));
    add_date(g, &d, NS_DCT "issued", date);
    s = dcat_str(res, "last_modified");
    dcat_timestamp(s ? s : dcat_str(res, "metadata_modified"), date, sizeof(date));
    add_date(g, &d, NS_DCT "modified", date);
    dcat_term_release(&d);
}

static const char *access_right(const char *level)
{
    if (!strcmp(level, "restricted public"))
        return EU_ACCESS "RESTRICTED";
    if (!strcmp(level, "non-public"))
        return EU_ACCESS "NON_PUBLIC";
    return EU_ACCESS "PUBLIC";
}

void dcat_dataset_graph(const struct dcat_options *o, json_t *pkg, struct dcat_graph *g,
                        struct dcat_term *subject)
{
    const char *title = dcat_str(pkg, "title"), *s, *level = dcat_access_level(pkg);
    json_t *org = json_object_get(pkg, "organization"), *v, *list;
    struct dcat_term ds, t;
    struct dcat_contact ct;
    struct buf page = BUF_INIT;
    char date[TIME_ISO_MAX], start[TIME_ISO_MAX], end[TIME_ISO_MAX], tag[64];
    char *iri;
    size_t i;

    if (!title)
        title = dcat_str(pkg, "name");
    dcat_dataset_page(o, pkg, &page);
    iri = xstrfmt("%s/dataset/%s", o->site_url, dcat_str(pkg, "id"));
    ds = dcat_iri(iri);
    free(iri);
    dcat_add_type(g, &ds, NS_DCAT "Dataset");
    add_translated(g, &ds, NS_DCT "title", title ? title : "",
                   json_object_get(pkg, "title_translated"));
    add_translated(g, &ds, NS_DCT "description", dcat_description(pkg),
                   json_object_get(pkg, "notes_translated"));
    json_array_foreach (json_object_get(pkg, "tags"), i, v) {
        if ((s = dcat_str(v, "name")))
            dcat_add(g, &ds, NS_DCAT "keyword", dcat_literal(s, NULL, NULL));
    }
    s = dcat_extra(pkg, "identifier");
    dcat_add(g, &ds, NS_DCT "identifier", dcat_literal(s ? s : dcat_str(pkg, "id"), NULL, NULL));
    dcat_dataset_issued(pkg, date, sizeof(date));
    add_date(g, &ds, NS_DCT "issued", date);
    dcat_dataset_modified(pkg, date, sizeof(date));
    add_date(g, &ds, NS_DCT "modified", date);
    if ((s = dcat_str(pkg, "version")))
        dcat_add(g, &ds, NS_DCAT "version", dcat_literal(s, NULL, NULL));

    s = dcat_str(pkg, "url");
    iri = dcat_url_encode(dcat_url_ok(s) ? s : page.buf);
    add_typed_iri(g, &ds, NS_DCAT "landingPage", iri, NS_FOAF "Document");
    free(iri);

    /* The publisher: the organization (a stable IRI from its id), else a blank agent. */
    if (dcat_str(org, "id")) {
        iri = xstrfmt("%s/organization/%s", o->site_url, dcat_str(org, "id"));
        t = dcat_iri(iri);
        free(iri);
    } else {
        t = dcat_blank(g);
    }
    dcat_add(g, &ds, NS_DCT "publisher", dcat_term_copy(&t));
    dcat_add_type(g, &t, NS_FOAF "Agent");
    dcat_add(g, &t, NS_FOAF "name", dcat_literal(dcat_publisher_name(o, pkg), NULL, NULL));
    dcat_term_release(&t);

    dcat_contact(o, pkg, &ct);
    t = dcat_blank(g);
    dcat_add(g, &ds, NS_DCAT "contactPoint", dcat_term_copy(&t));
    dcat_add_type(g, &t, NS_VCARD "Kind");
    dcat_add_type(g, &t, ct.individual ? NS_VCARD "Individual" : NS_VCARD "Organization");
    dcat_add(g, &t, NS_VCARD "fn", dcat_literal(ct.name, NULL, NULL));
    if (ct.email) {
        iri = xstrfmt("mailto:%s", ct.email);
        dcat_add(g, &t, NS_VCARD "hasEmail", dcat_iri(iri));
        free(iri);
    }
    dcat_term_release(&t);

    add_license(g, &ds, pkg);
    add_typed_iri(g, &ds, NS_DCT "accessRights", access_right(level), NS_DCT "RightsStatement");
    s = dcat_extra(pkg, "rights");
    if (s) {
        t = dcat_blank(g);
        dcat_add(g, &ds, NS_DCT "rights", dcat_term_copy(&t));
        dcat_add_type(g, &t, NS_DCT "RightsStatement");
        dcat_add(g, &t, NS_RDFS "label", dcat_literal(s, NULL, NULL));
        dcat_term_release(&t);
    }

    s = dcat_str(pkg, "temporal");
    if (s && dcat_temporal_split(s, start, end, sizeof(start))) {
        /* A side given as a duration has no date to state. */
        t = dcat_blank(g);
        dcat_add(g, &ds, NS_DCT "temporal", dcat_term_copy(&t));
        dcat_add_type(g, &t, NS_DCT "PeriodOfTime");
        add_date(g, &t, NS_DCAT "startDate", start);
        add_date(g, &t, NS_DCAT "endDate", end);
        dcat_term_release(&t);
    }
    if ((s = dcat_str(pkg, "spatial"))) {
        t = dcat_blank(g);
        dcat_add(g, &ds, NS_DCT "spatial", dcat_term_copy(&t));
        dcat_add_type(g, &t, NS_DCT "Location");
        dcat_add(g, &t, NS_SKOS "prefLabel", dcat_literal(s, NULL, NULL));
        dcat_term_release(&t);
    }
    s = dcat_str(pkg, "frequency");
    if (dcat_frequency_ok(s)) {
        const char *eu = dcat_frequency_eu(s);

        if (eu) {
            iri = xstrfmt(EU_FREQ "%s", eu);
            add_typed_iri(g, &ds, NS_DCT "accrualPeriodicity", iri, NS_DCT "Frequency");
            free(iri);
        } else {
            t = dcat_blank(g);
            dcat_add(g, &ds, NS_DCT "accrualPeriodicity", dcat_term_copy(&t));
            dcat_add_type(g, &t, NS_DCT "Frequency");
            dcat_add(g, &t, NS_RDFS "label", dcat_literal(s, NULL, NULL));
            dcat_term_release(&t);
        }
    }
    json_array_foreach (json_object_get(pkg, "language"), i, v) {
        const char *eu;

        dcat_language_tag(json_string_value(v), tag, sizeof(tag));
        eu = tag[0] ? dcat_language_eu(tag) : NULL;
        if (eu) {
            iri = xstrfmt(EU_LANG "%s", eu);
            add_typed_iri(g, &ds, NS_DCT "language", iri, NS_DCT "LinguisticSystem");
            free(iri);
        }
    }
    json_array_foreach (json_object_get(pkg, "groups"), i, v) {
        const char *name = dcat_str(v, "name"), *gt = dcat_str(v, "title");

        if (!name)
            continue;
        iri = xstrfmt("%s/group/%s", o->site_url, name);
        add_typed_iri(g, &ds, NS_DCAT "theme", iri, NS_SKOS "Concept");
        t = dcat_iri(iri);
        dcat_add(g, &t, NS_SKOS "prefLabel", dcat_literal(gt ? gt : name, NULL, NULL));
        dcat_term_release(&t);
        free(iri);
    }
    s = dcat_extra(pkg, "conforms_to");
    if (dcat_url_ok(s)) {
        iri = dcat_url_encode(s);
        add_typed_iri(g, &ds, NS_DCT "conformsTo", iri, NS_DCT "Standard");
        free(iri);
    }
    list = dcat_extra_list(pkg, "references");
    json_array_foreach (list, i, v) {
        if (!dcat_url_ok(json_string_value(v)))
            continue;
        iri = dcat_url_encode(json_string_value(v));
        add_typed_iri(g, &ds, NS_FOAF "page", iri, NS_FOAF "Document");
        free(iri);
    }
    json_decref(list);

    json_array_foreach (json_object_get(pkg, "resources"), i, v)
        add_distribution(o, pkg, v, page.buf, g, &ds);

    if (subject)
        *subject = ds;
    else
        dcat_term_release(&ds);
    buf_release(&page);
}
