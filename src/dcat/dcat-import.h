/*
 * dcat-import.h - the metadata standards the exports write (dcat.h), read back: a
 * DCAT-US 1.1 data.json, a DCAT-AP document (Turtle, RDF/XML or JSON-LD, parsed by
 * raptor2) or a Frictionless Data Package, mapped to CKAN package_create parameters
 * (the inverse of the export mapping; docs/internals/dcat.md, "Import").
 *
 * Pure: nothing here reads the catalog or the network. `kaifang load FILE|URL`
 * (src/cli/cmd-load.c) matches the datasets to the catalog by identifier, names new
 * ones, creates their organizations and writes them.
 *
 * Errors: every failure is -ERR_VALIDATION (or -ERR_TOO_LARGE) with a message that
 * names the place: the dataset ("dataset[3] (identifier \"x\")") and the field
 * ("dataset[3].distribution[0].downloadURL"), or, for a document that does not parse,
 * the line and column its parser reports. A document with any error maps to nothing.
 *
 * Thread-safety: the functions share no state.
 */
#ifndef KAIFANG_DCAT_DCAT_IMPORT_H
#define KAIFANG_DCAT_DCAT_IMPORT_H

#include <jansson.h>
#include <stddef.h>

#include "core/err.h"

enum dcat_import_format {
    DCAT_IMPORT_UNKNOWN = 0,
    DCAT_IMPORT_DATAJSON,    /* DCAT-US 1.1 catalog object, or a bare array of datasets */
    DCAT_IMPORT_TURTLE,      /* DCAT-AP as Turtle */
    DCAT_IMPORT_RDFXML,      /* DCAT-AP as RDF/XML */
    DCAT_IMPORT_JSONLD,      /* DCAT-AP as JSON-LD (read through raptor2's JSON-LD-less
                                parsers: see dcat_import_map) */
    DCAT_IMPORT_DATAPACKAGE, /* Frictionless Data Package */
};

/* The format named by `--format` ("datajson", "dcat-ttl", "dcat-rdf", "dcat-jsonld",
 * "datapackage"); DCAT_IMPORT_UNKNOWN for anything else. */
enum dcat_import_format dcat_import_format_parse(const char *name);

/* The `--format` name of a format ("datajson" …), "unknown" for DCAT_IMPORT_UNKNOWN. */
const char *dcat_import_format_name(enum dcat_import_format f);

/*
 * The format of a document from its first bytes (after a UTF-8 BOM and white space):
 * a JSON object with "@context" or "@graph" is JSON-LD, one with "resources" (and no
 * "dataset") a data package, one with "dataset" or a JSON array data.json; '<' is
 * RDF/XML; '@prefix', 'PREFIX', '<' followed by an IRI and the like Turtle. name (may
 * be NULL: a file name or URL path) breaks ties by its extension (.ttl, .rdf, .xml,
 * .jsonld, datapackage.json). DCAT_IMPORT_UNKNOWN when nothing fits.
 */
enum dcat_import_format dcat_import_detect(const char *data, size_t len, const char *name);

/* One dataset read from a document. */
struct dcat_import_dataset {
    json_t *package;  /* package_create parameters without "name" and "owner_org": title,
                         notes, tags, extras, url, license_id, access_level, private,
                         contact_*, temporal, spatial, frequency, language, version and
                         "resources" (links: name, url, format, mimetype, description,
                         size, hash); a data package's Table Schemas in the extra
                         DCAT_IMPORT_SCHEMAS_EXTRA. Owned. */
    char *identifier; /* the source's identifier (data.json identifier, dct:identifier,
                         the data package's id or name); NULL when it has none */
    char *name;       /* the source's own dataset name when it is a valid CKAN name (a
                         data package's "name"), else NULL */
    char *publisher;  /* the publisher's name (→ an organization), NULL when none */
    char *place;      /* how messages name it: "dataset[3]" or "dataset <iri>" */
};

/* What a document held. */
struct dcat_import {
    struct dcat_import_dataset *d;
    size_t n, alloc;
    char *next_page; /* a DCAT-AP page's hydra:nextPage, else NULL */
};

void dcat_import_init(struct dcat_import *im);
void dcat_import_release(struct dcat_import *im);

/*
 * Maps the document data[0..len) in format f (not UNKNOWN) and appends its datasets to
 * *im (so that the pages of a paged catalog accumulate). base: the document's URL or
 * file name, the base IRI for relative IRIs in RDF ("file:" + name for files). For a
 * DCAT-AP document, im->next_page is replaced by the page's hydra:nextPage (a string
 * literal or IRI), or NULL on the last page. On error *im keeps what earlier calls
 * appended and nothing of this document; err names the place (see the top).
 * JSON-LD is read by turning its flat @graph (the form the exports write: node objects
 * with "@id", "@type" and properties holding {"@id"} or {"@value", "@language" |
 * "@type"}, compact IRIs through the inline @context) into triples; a document that
 * needs JSON-LD's remote contexts or expansion rules beyond that is refused.
 */
int dcat_import_map(enum dcat_import_format f, const char *data, size_t len, const char *base,
                    struct dcat_import *im, struct err *err);

/* The dataset extra that keeps a data package's Table Schemas: a JSON object text
 * {resource URL: schema}. (A resource's own fields hold at most LIMIT_FIELD_MAX bytes.) */
#define DCAT_IMPORT_SCHEMAS_EXTRA "table_schemas"

/*
 * The DataStore field types and data dictionary of a Frictionless Table Schema (an
 * object, as DCAT_IMPORT_SCHEMAS_EXTRA holds them): [{"id", "type", "info": {"label",
 * "notes"}}] for struct datastore_ingest_request.fields; Frictionless types map to
 * the DataStore's (string → text, integer → int8, number → numeric, boolean → bool,
 * date → date, datetime → timestamp, others → text). NULL when the text is not a schema
 * with a "fields" list of named fields. New reference.
 */
json_t *dcat_import_schema_fields(const json_t *schema);

#endif
