/*
 * import-rdf.c - DCAT-AP documents read back: Turtle and RDF/XML parsed by raptor2 (no
 * network, no files), JSON-LD in the flat form the exports write turned into triples
 * here; then every dcat:Dataset walked into package_create parameters, the inverse of
 * graph.c (docs/internals/dcat.md, "Import").
 */
#include <raptor2.h>
#include <jansson.h>

#include "core/buf.h"
#include "core/limits.h"
#include "dcat/dcat-int.h"
#include "dcat/import-int.h"
#include "core/util.h"

#define NS_EU_ACCESS "http://publications.europa.eu/resource/authority/access-right/"
#define NS_EU_FREQ   "http://publications.europa.eu/resource/authority/frequency/"
#define NS_EU_LANG   "http://publications.europa.eu/resource/authority/language/"
#define NS_IANA      "https://www.iana.org/assignments/media-types/"

/* The most triples a document may hold (a catalog page of 1,000 datasets with many
 * distributions stays far below). */
#define RDF_TRIPLES_MAX 2000000u

enum node_kind { NODE_IRI, NODE_BLANK, NODE_LITERAL };

struct triple {
    char *s; /* IRI, or "_:" and the blank node's label */
    char *p;
    char *o;
    enum node_kind okind;
    char *lang;     /* literal's language tag or NULL */
    char *datatype; /* literal's datatype IRI or NULL */
};

struct graph {
    struct triple *t;
    size_t n, alloc;
    bool too_many;
    struct err *err; /* the first parse error, set by the log handler */
    bool failed;
};

static void graph_add(struct graph *g, const char *s, const char *p, const char *o,
                      enum node_kind k, const char *lang, const char *dt)
{
    struct triple *t;

    if (g->n >= RDF_TRIPLES_MAX) {
        g->too_many = true;
        return;
    }
    ALLOC_GROW(g->t, g->n + 1, g->alloc);
    t = &g->t[g->n++];
    t->s = xstrdup(s);
    t->p = xstrdup(p);
    t->o = xstrdup(o);
    t->okind = k;
    t->lang = lang && *lang ? xstrdup(lang) : NULL;
    t->datatype = dt ? xstrdup(dt) : NULL;
}

static void graph_release(struct graph *g)
{
    for (size_t i = 0; i < g->n; i++) {
        free(g->t[i].s);
        free(g->t[i].p);
        free(g->t[i].o);
        free(g->t[i].lang);
        free(g->t[i].datatype);
    }
    free(g->t);
    memset(g, 0, sizeof(*g));
}

static int triple_cmp(const void *a, const void *b)
{
    const struct triple *x = a, *y = b;
    int c = strcmp(x->s, y->s);

    return c ? c : strcmp(x->p, y->p);
}

/* The index of the first triple of subject s in the sorted g (g->n when none). */
static size_t range_start(const struct graph *g, const char *s)
{
    size_t lo = 0, hi = g->n;

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;

        if (strcmp(g->t[mid].s, s) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* The index past the last triple of subject s, from its first. */
static size_t range_end(const struct graph *g, size_t i, const char *s)
{
    while (i < g->n && !strcmp(g->t[i].s, s))
        i++;
    return i;
}

/* Every triple (subj, pred, var) of the sorted g. */
#define FOREACH_VALUE(g, subj, pred, var)                                                          \
    for (size_t var##_i = range_start(g, subj), var##_end = range_end(g, var##_i, subj);           \
         var##_i < var##_end; var##_i++)                                                           \
        for (const struct triple *var = &(g)->t[var##_i]; var; var = NULL)                         \
            if (!strcmp(var->p, pred))

/* The first object of (s, p) of kind k (any when k < 0), untagged literals first. */
static const struct triple *value(const struct graph *g, const char *s, const char *p, int k)
{
    const struct triple *found = NULL;

    FOREACH_VALUE(g, s, p, t)
    {
        if (k >= 0 && (int)t->okind != k)
            continue;
        if (!t->lang)
            return t;
        if (!found)
            found = t;
    }
    return found;
}

static const char *literal(const struct graph *g, const char *s, const char *p)
{
    const struct triple *t = value(g, s, p, NODE_LITERAL);

    return t && !t->lang ? t->o : NULL;
}

static const char *node(const struct graph *g, const char *s, const char *p)
{
    const struct triple *t = value(g, s, p, -1);

    return t && t->okind != NODE_LITERAL ? t->o : NULL;
}

static bool has_type(const struct graph *g, const char *s, const char *class_iri)
{
    FOREACH_VALUE(g, s, NS_RDF "type", t)
    {
        if (!strcmp(t->o, class_iri))
            return true;
    }
    return false;
}

/* ---- parsing with raptor2 ---------------------------------------------------------- */

static char *term_text(raptor_term *t, enum node_kind *k)
{
    switch (t->type) {
    case RAPTOR_TERM_TYPE_URI:
        *k = NODE_IRI;
        return xstrdup((const char *)raptor_uri_as_string(t->value.uri));
    case RAPTOR_TERM_TYPE_BLANK:
        *k = NODE_BLANK;
        return xstrfmt("_:%s", (const char *)t->value.blank.string);
    case RAPTOR_TERM_TYPE_LITERAL:
        *k = NODE_LITERAL;
        return xstrdup((const char *)t->value.literal.string);
    default:
        *k = NODE_LITERAL;
        return xstrdup("");
    }
}

static void on_statement(void *data, raptor_statement *st)
{
    struct graph *g = data;
    enum node_kind sk, pk, ok;
    char *s = term_text(st->subject, &sk), *p = term_text(st->predicate, &pk);
    char *o = term_text(st->object, &ok);
    const char *lang = NULL, *dt = NULL;

    if (ok == NODE_LITERAL) {
        lang = (const char *)st->object->value.literal.language;
        if (st->object->value.literal.datatype)
            dt = (const char *)raptor_uri_as_string(st->object->value.literal.datatype);
    }
    graph_add(g, s, p, o, ok, lang, dt);
    free(s);
    free(p);
    free(o);
}

static void on_log(void *data, raptor_log_message *m)
{
    struct graph *g = data;

    if (m->level < RAPTOR_LOG_LEVEL_ERROR || g->failed)
        return;
    g->failed = true;
    if (m->locator && m->locator->line >= 0)
        err_set(g->err, ERR_VALIDATION, NULL, "invalid RDF at line %d, column %d: %s",
                m->locator->line, m->locator->column, m->text ? m->text : "parse error");
    else
        err_set(g->err, ERR_VALIDATION, NULL, "invalid RDF: %s", m->text ? m->text : "parse error");
}

static int parse_raptor(const char *syntax, const char *data, size_t len, const char *base,
                        struct graph *g, struct err *err)
{
    raptor_world *w = raptor_new_world();
    raptor_parser *p = NULL;
    raptor_uri *uri = NULL;
    int ret = 0;

    if (!w || raptor_world_open(w)) {
        ret = err_set(err, ERR_INTERNAL, NULL, "cannot start the RDF parser");
        goto out;
    }
    g->err = err;
    raptor_world_set_log_handler(w, g, on_log);
    p = raptor_new_parser(w, syntax);
    uri = raptor_new_uri(w, (const unsigned char *)base);
    if (!p || !uri) {
        ret = err_set(err, ERR_VALIDATION, NULL, "invalid base IRI \"%.200s\"", base);
        goto out;
    }
    /* Untrusted input: no entity or document is fetched from the network or disk. */
    raptor_parser_set_option(p, RAPTOR_OPTION_NO_NET, NULL, 1);
    raptor_parser_set_option(p, RAPTOR_OPTION_NO_FILE, NULL, 1);
    raptor_parser_set_option(p, RAPTOR_OPTION_LOAD_EXTERNAL_ENTITIES, NULL, 0);
    raptor_parser_set_statement_handler(p, g, on_statement);
    if (raptor_parser_parse_start(p, uri) ||
        raptor_parser_parse_chunk(p, (const unsigned char *)data, len, 1) || g->failed) {
        if (!g->failed)
            err_set(err, ERR_VALIDATION, NULL, "invalid RDF");
        ret = -ERR_VALIDATION;
    }
out:
    if (uri)
        raptor_free_uri(uri);
    if (p)
        raptor_free_parser(p);
    if (w)
        raptor_free_world(w);
    return ret;
}

/* ---- JSON-LD (the flat form of serialize.c) ------------------------------------------ */

/* A compact IRI or term expanded through the context's prefixes. Free the result. */
static char *expand(const json_t *ctx, const char *s)
{
    const char *colon = strchr(s, ':');
    json_t *ns;

    if (colon && !starts_with(colon, "://") && s[0] != '_') {
        char prefix[64];

        if ((size_t)(colon - s) < sizeof(prefix)) {
            xsnprintf(prefix, sizeof(prefix), "%.*s", (int)(colon - s), s);
            ns = json_object_get(ctx, prefix);
            if (json_is_string(ns))
                return xstrfmt("%s%s", json_string_value(ns), colon + 1);
        }
    }
    return xstrdup(s);
}

static int parse_jsonld(const char *data, size_t len, struct graph *g, struct err *err)
{
    json_error_t jerr;
    json_t *doc = json_loadb(data, len, JSON_REJECT_DUPLICATES, &jerr), *ctx, *graph, *n;
    size_t i;
    int ret = 0;

    if (!doc) {
        ret = err_set(err, ERR_VALIDATION, NULL, "invalid JSON at line %d, column %d: %s",
                      jerr.line, jerr.column, jerr.text);
        goto out;
    }
    ctx = json_object_get(doc, "@context");
    graph = json_is_array(doc) ? doc : json_object_get(doc, "@graph");
    if (ctx && !json_is_object(ctx)) {
        ret = err_set(err, ERR_VALIDATION, "@context",
                      "only an inline \"@context\" object of prefixes can be read (a remote "
                      "context is not fetched)");
        goto out;
    }
    if (!json_is_array(graph)) {
        if (!json_is_object(doc) || !json_object_get(doc, "@id")) {
            ret = err_set(err, ERR_VALIDATION, "@graph", "JSON-LD without a \"@graph\" list");
            goto out;
        }
        graph = NULL;
    }
    for (i = 0; graph ? i < json_array_size(graph) : i < 1; i++) {
        const char *key;
        json_t *v;
        char *s;
        char field[ERR_FIELD_MAX];

        n = graph ? json_array_get(graph, i) : doc;
        xsnprintf(field, sizeof(field), "@graph[%zu]", i);
        if (!json_is_object(n) || !json_is_string(json_object_get(n, "@id"))) {
            ret = err_set(err, ERR_VALIDATION, field, "a node of \"%s\" has no \"@id\"", field);
            goto out;
        }
        s = expand(ctx, json_string_value(json_object_get(n, "@id")));
        json_object_foreach (n, key, v) {
            json_t *list = json_is_array(v) ? json_incref(v) : json_pack("[O]", v), *x;
            char *p;
            size_t j;

            if (!strcmp(key, "@id") || !strcmp(key, "@context"))
                goto next;
            p = !strcmp(key, "@type") ? xstrdup(NS_RDF "type") : expand(ctx, key);
            json_array_foreach (list, j, x) {
                const char *id = json_string_value(json_object_get(x, "@id"));
                json_t *val = json_object_get(x, "@value");

                if (!strcmp(key, "@type") && json_is_string(x)) {
                    char *o = expand(ctx, json_string_value(x));

                    graph_add(g, s, p, o, NODE_IRI, NULL, NULL);
                    free(o);
                } else if (id) {
                    char *o = expand(ctx, id);

                    graph_add(g, s, p, o, starts_with(id, "_:") ? NODE_BLANK : NODE_IRI, NULL,
                              NULL);
                    free(o);
                } else if (json_is_string(val) || json_is_number(val) || json_is_boolean(val)) {
                    const char *type = json_string_value(json_object_get(x, "@type"));
                    char *dt = type ? expand(ctx, type) : NULL, *text;

                    text = json_is_string(val) ? xstrdup(json_string_value(val))
                                               : json_dumps(val, JSON_ENCODE_ANY);
                    graph_add(g, s, p, text, NODE_LITERAL,
                              json_string_value(json_object_get(x, "@language")), dt);
                    free(text);
                    free(dt);
                } else if (json_is_string(x)) {
                    graph_add(g, s, p, json_string_value(x), NODE_LITERAL, NULL, NULL);
                } else {
                    free(p);
                    free(s);
                    json_decref(list);
                    ret = err_set(err, ERR_VALIDATION, field,
                                  "a value of \"%.40s\" in \"%s\" is neither {\"@id\"} nor "
                                  "{\"@value\"}",
                                  key, field);
                    goto out;
                }
            }
            free(p);
next:
            json_decref(list);
        }
        free(s);
    }
out:
    json_decref(doc);
    return ret;
}

/* ---- the walk ------------------------------------------------------------------------- */

static const char *after(const char *iri, const char *ns)
{
    return iri && starts_with(iri, ns) ? iri + strlen(ns) : NULL;
}

/* A language tag as CKAN's locale keys write it ("zh-CN" → "zh_CN"). */
static char *locale_key(const char *lang)
{
    char *k = xstrdup(lang);

    for (char *p = k; *p; p++)
        if (*p == '-')
            *p = '_';
    return k;
}

/* Language-tagged literals of (s, p) into an object {locale: text}, or NULL. */
static json_t *translations(const struct graph *g, const char *s, const char *p)
{
    json_t *out = NULL;

    FOREACH_VALUE(g, s, p, t)
    {
        char *k;

        if (t->okind != NODE_LITERAL || !t->lang)
            continue;
        if (!out)
            out = json_object();
        k = locale_key(t->lang);
        json_object_set_new(out, k, json_string(t->o));
        free(k);
    }
    return out;
}

static const char *frequency_back(const char *eu)
{
    static const char *const dcat_us[] = {
            "irregular", "R/PT1S",  "R/PT1H",   "R/P1D", "R/P3.5D", "R/P0.33W", "R/P1W",
            "R/P2W",     "R/P0.5M", "R/P0.33M", "R/P1M", "R/P2M",   "R/P3M",    "R/P4M",
            "R/P6M",     "R/P1Y",   "R/P2Y",    "R/P3Y", "R/P4Y",   "R/P5Y",    "R/P10Y",
    };

    for (size_t i = 0; eu && i < ARRAY_SIZE(dcat_us); i++) {
        if (str_eq(dcat_frequency_eu(dcat_us[i]), eu))
            return dcat_us[i];
    }
    return NULL;
}

/* The ISO 639-1 code of an EU language authority code ("ENG" → "en"), into out[3]. */
static bool language_back(const char *eu, char out[3])
{
    for (char a = 'a'; eu && a <= 'z'; a++) {
        for (char b = 'a'; b <= 'z'; b++) {
            out[0] = a;
            out[1] = b;
            out[2] = '\0';
            if (str_eq(dcat_language_eu(out), eu))
                return true;
        }
    }
    return false;
}

/* A resource's format from dct:format: the EU file-type term or a label. */
static char *format_back(const struct graph *g, const char *f)
{
    static const char *const renamed[][2] = {
            {"RDF_XML", "RDF"}, {"RDF_TURTLE", "TTL"}, {"JSON_LD", "JSON-LD"}};
    const char *code = strrchr(f, '/');

    if (f[0] == '_' && f[1] == ':') {
        const char *label = literal(g, f, NS_RDFS "label");

        return label ? xstrdup(label) : NULL;
    }
    if (!code || !code[1])
        return NULL;
    code++;
    for (size_t i = 0; i < ARRAY_SIZE(renamed); i++) {
        if (!strcmp(code, renamed[i][0]))
            return xstrdup(renamed[i][1]);
    }
    return im_format(code);
}

static void distribution_back(const struct graph *g, const char *dist, json_t *resources)
{
    json_t *r = json_object();
    const char *s, *download = node(g, dist, NS_DCAT "downloadURL");
    const char *access = node(g, dist, NS_DCAT "accessURL");
    const char *sum;
    char *f;

    if (download || access)
        json_object_set_new(r, "url", json_string(download ? download : access));
    if (download && access && strcmp(download, access))
        json_object_set_new(r, "access_url", json_string(access));
    if ((s = literal(g, dist, NS_DCT "title")))
        json_object_set_new(r, "name", json_string(s));
    if ((s = literal(g, dist, NS_DCT "description")))
        json_object_set_new(r, "description", json_string(s));
    if ((s = after(node(g, dist, NS_DCAT "mediaType"), NS_IANA)) && dcat_media_type_ok(s))
        json_object_set_new(r, "mimetype", json_string(s));
    if ((s = node(g, dist, NS_DCT "format")) && (f = format_back(g, s))) {
        json_object_set_new(r, "format", json_string(f));
        free(f);
    }
    if ((s = literal(g, dist, NS_DCAT "byteSize"))) {
        char *end;
        unsigned long long n = strtoull(s, &end, 10);

        if (*s >= '0' && *s <= '9' && !*end && n <= INT64_MAX)
            json_object_set_new(r, "size", json_integer((json_int_t)n));
    }
    if ((s = literal(g, dist, NS_DCT "modified")) && dcat_date_kind(s) != DCAT_DATE_NONE)
        json_object_set_new(r, "last_modified", json_string(s));
    if ((sum = node(g, dist, NS_SPDX "checksum")) &&
        str_eq(node(g, sum, NS_SPDX "algorithm"), NS_SPDX "checksumAlgorithm_sha256") &&
        (s = literal(g, sum, NS_SPDX "checksumValue")) && strlen(s) == 64 &&
        strspn(s, "0123456789abcdef") == 64)
        json_object_set_new(r, "hash", json_sprintf("sha256:%s", s));
    json_array_append_new(resources, r);
}

static int dataset_back(const struct graph *g, const char *ds, struct dcat_import *im,
                        struct err *err)
{
    struct dcat_import_dataset *d;
    char *place = xstrfmt("dataset <%.200s>", ds);
    json_t *pkg, *v, *resources = json_array(), *refs = json_array();
    const char *s, *n, *title;
    int ret = 0;

    d = im_add(im, place);
    free(place);
    pkg = d->package;
    if ((s = literal(g, ds, NS_DCT "identifier"))) {
        d->identifier = xstrdup(s);
        im_extra(pkg, "identifier", s);
    }
    title = literal(g, ds, NS_DCT "title");
    if (!title) {
        ret = im_fail(err, d, "dct:title", "missing dct:title without a language tag");
        goto out;
    }
    json_object_set_new(pkg, "title", json_string(title));
    if ((v = translations(g, ds, NS_DCT "title")))
        json_object_set_new(pkg, "title_translated", v);
    if ((s = literal(g, ds, NS_DCT "description")) && strcmp(s, title))
        json_object_set_new(pkg, "notes", json_string(s));
    if ((v = translations(g, ds, NS_DCT "description")))
        json_object_set_new(pkg, "notes_translated", v);
    FOREACH_VALUE(g, ds, NS_DCAT "keyword", t)
    {
        if (t->okind == NODE_LITERAL)
            im_tag(pkg, t->o);
    }
    im_extra(pkg, "issued", literal(g, ds, NS_DCT "issued"));
    im_extra(pkg, "modified", literal(g, ds, NS_DCT "modified"));
    if ((s = literal(g, ds, NS_DCAT "version")))
        json_object_set_new(pkg, "version", json_string(s));
    if ((s = node(g, ds, NS_DCAT "landingPage")))
        json_object_set_new(pkg, "url", json_string(s));
    if ((n = node(g, ds, NS_DCT "publisher")) && (s = literal(g, n, NS_FOAF "name")))
        d->publisher = xstrdup(s);
    if ((n = node(g, ds, NS_DCAT "contactPoint"))) {
        const char *fn = literal(g, n, NS_VCARD "fn");
        const char *email = after(node(g, n, NS_VCARD "hasEmail"), "mailto:");

        /* The publisher as an organization without an address is the export's stand-in
         * for a dataset that names no contact. */
        if (email || (fn && !(str_eq(fn, d->publisher) && has_type(g, n, NS_VCARD "Organization"))))
            json_object_set_new(pkg, "contact_name", json_string(fn ? fn : ""));
        if (email)
            json_object_set_new(pkg, "contact_email", json_string(email));
        if (!fn)
            json_object_del(pkg, "contact_name");
    }
    if ((n = node(g, ds, NS_DCT "license"))) {
        if (n[0] == '_' && n[1] == ':') {
            if ((s = literal(g, n, NS_DCT "identifier")))
                json_object_set_new(pkg, "license_id", json_string(s));
        } else {
            im_license(pkg, n);
        }
    }
    if ((s = after(node(g, ds, NS_DCT "accessRights"), NS_EU_ACCESS))) {
        const char *level = !strcmp(s, "RESTRICTED")   ? "restricted public"
                            : !strcmp(s, "NON_PUBLIC") ? "non-public"
                                                       : "public";

        json_object_set_new(pkg, "access_level", json_string(level));
        if (strcmp(level, "public"))
            json_object_set_new(pkg, "private", json_true());
    }
    if ((n = node(g, ds, NS_DCT "rights")))
        im_extra(pkg, "rights", literal(g, n, NS_RDFS "label"));
    if ((n = node(g, ds, NS_DCT "temporal"))) {
        const char *a = literal(g, n, NS_DCAT "startDate"), *b = literal(g, n, NS_DCAT "endDate");

        if (a && b) {
            char *t = xstrfmt("%s/%s", a, b);

            json_object_set_new(pkg, "temporal", json_string(t));
            free(t);
        }
    }
    if ((n = node(g, ds, NS_DCT "spatial")) && (s = literal(g, n, NS_SKOS "prefLabel")))
        json_object_set_new(pkg, "spatial", json_string(s));
    if ((n = node(g, ds, NS_DCT "accrualPeriodicity"))) {
        s = n[0] == '_' ? literal(g, n, NS_RDFS "label") : frequency_back(after(n, NS_EU_FREQ));
        if (s)
            json_object_set_new(pkg, "frequency", json_string(s));
    }
    v = json_array();
    FOREACH_VALUE(g, ds, NS_DCT "language", t)
    {
        char code[3];

        if (language_back(after(t->o, NS_EU_LANG), code))
            json_array_append_new(v, json_string(code));
    }
    if (json_array_size(v))
        json_object_set(pkg, "language", v);
    json_decref(v);
    v = json_array();
    FOREACH_VALUE(g, ds, NS_DCAT "theme", t)
    {
        const char *label = literal(g, t->o, NS_SKOS "prefLabel");

        json_array_append_new(v, json_string(label ? label : t->o));
    }
    if (json_array_size(v)) {
        char *text = json_dumps(v, JSON_COMPACT);

        im_extra(pkg, "theme", text);
        free(text);
    }
    json_decref(v);
    im_extra(pkg, "conforms_to", node(g, ds, NS_DCT "conformsTo"));
    FOREACH_VALUE(g, ds, NS_FOAF "page", t)
    {
        json_array_append_new(refs, json_string(t->o));
    }
    if (json_array_size(refs)) {
        char *text = json_dumps(refs, JSON_COMPACT);

        im_extra(pkg, "references", text);
        free(text);
    }
    FOREACH_VALUE(g, ds, NS_DCAT "distribution", t)
    {
        if (json_array_size(resources) >= LIMIT_RESOURCES_PER_DATASET) {
            ret = im_fail(err, d, "dcat:distribution", "more than %u distributions",
                          LIMIT_RESOURCES_PER_DATASET);
            goto out;
        }
        distribution_back(g, t->o, resources);
    }
    json_object_set(pkg, "resources", resources);
    ret = im_check(d, err);
out:
    json_decref(resources);
    json_decref(refs);
    return ret;
}

int im_map_rdf(enum dcat_import_format f, const char *data, size_t len, const char *base,
               struct dcat_import *im, struct err *err)
{
    struct graph g;
    const char *last = NULL;
    int ret;

    memset(&g, 0, sizeof(g));
    free(im->next_page);
    im->next_page = NULL;
    if (f == DCAT_IMPORT_JSONLD)
        ret = parse_jsonld(data, len, &g, err);
    else
        ret = parse_raptor(f == DCAT_IMPORT_TURTLE ? "turtle" : "rdfxml", data, len, base, &g, err);
    if (ret)
        goto out;
    if (g.too_many) {
        ret = err_set(err, ERR_TOO_LARGE, NULL, "more than %u triples", RDF_TRIPLES_MAX);
        goto out;
    }
    if (g.n) /* an empty graph has no array: qsort() must not see NULL */
        qsort(g.t, g.n, sizeof(*g.t), triple_cmp);
    /* Datasets in the order of their IRIs (the graph has no order of its own). */
    for (size_t i = 0; i < g.n; i++) {
        const struct triple *t = &g.t[i];

        if (!strcmp(t->p, NS_RDF "type") && !strcmp(t->o, NS_DCAT "Dataset") &&
            !str_eq(last, t->s)) {
            last = t->s;
            if ((ret = dataset_back(&g, t->s, im, err)))
                goto out;
        }
        if (!strcmp(t->p, NS_HYDRA "nextPage") && !im->next_page)
            im->next_page = xstrdup(t->o);
    }
out:
    graph_release(&g);
    return ret;
}
