/*
 * serialize.c - a graph as Turtle or RDF/XML through raptor2 (the module's one user of
 * libraptor2), and as JSON-LD written here with jansson: raptor2 has no JSON-LD
 * serializer (its "json" is RDF/JSON), so the same triples become a flat "@graph" of
 * node objects, one per subject in the order subjects first appear, with an inline
 * "@context" of the prefixes (JSON-LD 1.1, §4.9 "Named graphs" and §4.1.5 "Compact
 * IRIs"; no remote context, so a reader needs no network).
 */
#include <jansson.h>
#include <raptor2.h>

#include "core/log.h"
#include "dcat/dcat-int.h"
#include "core/util.h"

/* ---- raptor2 ----------------------------------------------------------------------- */

struct raptor_out {
    struct buf *out;
    unsigned errors;
};

static int out_write_byte(void *ctx, const int byte)
{
    struct raptor_out *ro = ctx;

    buf_addch(ro->out, byte);
    return buf_failed(ro->out) ? 1 : 0;
}

static int out_write_bytes(void *ctx, const void *ptr, size_t size, size_t nmemb)
{
    struct raptor_out *ro = ctx;

    buf_add(ro->out, ptr, size * nmemb);
    return buf_failed(ro->out) ? 1 : 0;
}

static void log_handler(void *ctx, raptor_log_message *message)
{
    struct raptor_out *ro = ctx;

    if (message->level >= RAPTOR_LOG_LEVEL_ERROR)
        ro->errors++;
    log_debug("dcat: raptor2: %s", message->text ? message->text : "(no text)");
}

static raptor_term *raptor_term_of(raptor_world *w, const struct dcat_term *t)
{
    raptor_uri *dt;
    raptor_term *r;

    switch (t->kind) {
    case DCAT_IRI:
        return raptor_new_term_from_uri_string(w, (const unsigned char *)t->value);
    case DCAT_BLANK:
        return raptor_new_term_from_blank(w, (const unsigned char *)t->value);
    case DCAT_LITERAL:
        break;
    }
    dt = t->datatype ? raptor_new_uri(w, (const unsigned char *)t->datatype) : NULL;
    /* Copies the text, the datatype and the language (raptor_term.c). */
    r = raptor_new_term_from_counted_literal(w, (const unsigned char *)t->value, strlen(t->value),
                                             dt, (const unsigned char *)t->lang,
                                             t->lang ? (unsigned char)strlen(t->lang) : 0);
    if (dt)
        raptor_free_uri(dt);
    return r;
}

static int raptor_write(const struct dcat_graph *g, const char *syntax, struct buf *out,
                        struct err *err)
{
    static const raptor_iostream_handler handler = {
            .version = 2,
            .write_byte = out_write_byte,
            .write_bytes = out_write_bytes,
    };
    struct raptor_out ro = {out, 0};
    raptor_world *w = raptor_new_world();
    raptor_iostream *io = NULL;
    raptor_serializer *ser = NULL;
    size_t start = out->len;
    int ret = 0;

    if (!w || raptor_world_open(w)) {
        ret = err_set(err, ERR_INTERNAL, NULL, "cannot start raptor2");
        goto out;
    }
    raptor_world_set_log_handler(w, &ro, log_handler);
    io = raptor_new_iostream_from_handler(w, &ro, &handler);
    ser = raptor_new_serializer(w, syntax);
    if (!io || !ser) {
        ret = err_set(err, ERR_INTERNAL, NULL, "cannot start the raptor2 \"%s\" serializer",
                      syntax);
        goto out;
    }
    for (const struct dcat_prefix *p = dcat_prefixes; p->prefix; p++) {
        raptor_uri *ns = raptor_new_uri(w, (const unsigned char *)p->ns);

        raptor_serializer_set_namespace(ser, ns, (const unsigned char *)p->prefix);
        raptor_free_uri(ns);
    }
    if (raptor_serializer_start_to_iostream(ser, NULL, io)) {
        ret = err_set(err, ERR_INTERNAL, NULL, "cannot start writing \"%s\"", syntax);
        goto out;
    }
    for (size_t i = 0; i < g->n; i++) {
        const struct dcat_triple *t = &g->t[i];
        raptor_statement *st = raptor_new_statement_from_nodes(
                w, raptor_term_of(w, &t->s),
                raptor_new_term_from_uri_string(w, (const unsigned char *)t->p),
                raptor_term_of(w, &t->o), NULL);

        if (!st || raptor_serializer_serialize_statement(ser, st)) {
            if (st)
                raptor_free_statement(st);
            ret = err_set(err, ERR_INTERNAL, NULL, "cannot write a statement as \"%s\"", syntax);
            goto out;
        }
        raptor_free_statement(st);
    }
    if (raptor_serializer_serialize_end(ser) || ro.errors) {
        ret = err_set(err, ERR_INTERNAL, NULL, "cannot write the document as \"%s\"", syntax);
        goto out;
    }
    if (buf_failed(out))
        ret = err_set(err, ERR_TOO_LARGE, NULL, "the document is too large");
out:
    if (ser)
        raptor_free_serializer(ser);
    if (io)
        raptor_free_iostream(io);
    if (w)
        raptor_free_world(w);
    if (ret && !buf_failed(out))
        buf_setlen(out, start);
    return ret;
}

/* ---- JSON-LD ------------------------------------------------------------------------ */

/* "prefix:local" for an IRI under a declared namespace whose rest is a plain name, else
 * the IRI itself. New string. */
static json_t *compact_iri(const char *iri)
{
    for (const struct dcat_prefix *p = dcat_prefixes; p->prefix; p++) {
        size_t n = strlen(p->ns);
        const char *local = iri + n;

        if (strncmp(iri, p->ns, n) || !*local)
            continue;
        if (strspn(local, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-") !=
            strlen(local))
            break;
        return json_sprintf("%s:%s", p->prefix, local);
    }
    return json_string(iri);
}

static json_t *node_ref(const struct dcat_term *t)
{
    if (t->kind == DCAT_BLANK)
        return json_sprintf("_:%s", t->value);
    return json_string(t->value);
}

static json_t *object_value(const struct dcat_term *t)
{
    json_t *v;

    if (t->kind != DCAT_LITERAL)
        return json_pack("{s:o}", "@id", node_ref(t));
    v = json_pack("{s:s}", "@value", t->value);
    if (t->lang)
        json_object_set_new(v, "@language", json_string(t->lang));
    else if (t->datatype)
        json_object_set_new(v, "@type", compact_iri(t->datatype));
    return v;
}

static int jsonld_write(const struct dcat_graph *g, struct buf *out, struct err *err)
{
    json_t *context = json_object(), *graph = json_array(), *nodes = json_object(), *doc;
    struct buf key = BUF_INIT;
    char *text;

    for (const struct dcat_prefix *p = dcat_prefixes; p->prefix; p++)
        json_object_set_new(context, p->prefix, json_string(p->ns));
    for (size_t i = 0; i < g->n; i++) {
        const struct dcat_triple *t = &g->t[i];
        json_t *node, *prop;
        const char *name;
        json_t *pname;

        buf_reset(&key);
        buf_addch(&key, t->s.kind == DCAT_BLANK ? '_' : '<');
        buf_addstr(&key, t->s.value);
        node = json_object_get(nodes, key.buf);
        if (!node) {
            node = json_pack("{s:o}", "@id", node_ref(&t->s));
            json_array_append_new(graph, node);
            json_object_set(nodes, key.buf, node);
        }
        if (!strcmp(t->p, NS_RDF "type") && t->o.kind == DCAT_IRI) {
            name = "@type";
            pname = NULL;
        } else {
            pname = compact_iri(t->p);
            name = json_string_value(pname);
        }
        prop = json_object_get(node, name);
        if (!prop) {
            prop = json_array();
            json_object_set_new(node, name, prop);
        }
        json_array_append_new(prop, !pname ? compact_iri(t->o.value) : object_value(&t->o));
        json_decref(pname);
    }
    doc = json_pack("{s:o,s:o}", "@context", context, "@graph", graph);
    json_decref(nodes);
    buf_release(&key);
    text = json_dumps(doc, JSON_INDENT(1));
    json_decref(doc);
    BUG_ON(!text);
    buf_addstr(out, text);
    buf_addch(out, '\n');
    free(text);
    if (buf_failed(out))
        return err_set(err, ERR_TOO_LARGE, NULL, "the document is too large");
    return 0;
}

int dcat_graph_write(const struct dcat_graph *g, enum dcat_format f, struct buf *out,
                     struct err *err)
{
    switch (f) {
    case DCAT_TURTLE:
        return raptor_write(g, "turtle", out, err);
    case DCAT_RDFXML:
        return raptor_write(g, "rdfxml-abbrev", out, err);
    case DCAT_JSONLD:
        return jsonld_write(g, out, err);
    }
    return err_set(err, ERR_INTERNAL, NULL, "unknown format");
}
