/*
 * dcat.h - the public catalog in the metadata standards that harvesters read:
 *
 *   DCAT-US 1.1   data.json of the whole catalog (Project Open Data Metadata Schema
 *                 v1.1, https://project-open-data.cio.gov/v1.1/schema), as data.gov
 *                 harvests every agency's /data.json;
 *   DCAT-AP 3.0.1 the catalog a page at a time and single datasets as Turtle, RDF/XML
 *                 (serialised by raptor2) and JSON-LD (a flat @graph written here from
 *                 the same triples), valid against the DCAT-AP 3.0.1 SHACL shapes
 *                 (SEMICeu, releases/3.0.1/html/shacl/shapes.ttl and range.ttl); pages
 *                 described as a hydra:PagedCollection, as ckanext-dcat pages;
 *   Frictionless  a Data Package (datapackage.org, profile 2.0, also valid against 1.0)
 *                 of one dataset, with a Table Schema for every resource that has a
 *                 datastore table.
 *
 * The mapping from CKAN package dicts to each standard (which field, extra or default
 * gives which property, and what is left out) is docs/internals/dcat.md; the import of
 * the same formats inverts it.
 *
 * Visibility: every document is read through the catalog as the anonymous actor,
 * whoever asks: private and draft datasets never appear, and a dataset the public may
 * not see is "not found". Datasets whose access_level is "restricted public" or
 * "non-public" appear with that level and without any download URL (DCAT-US 1.1,
 * accessLevel): their distributions point at the dataset's page instead.
 *
 * Errors as in catalog.h: -ERR_NOT_FOUND (404) for a dataset or page that does not
 * exist for the public, -ERR_INTERNAL for a store failure.
 *
 * Thread-safety: every function may be called from any thread at once; a struct
 * dcat_stream belongs to one thread at a time.
 */
#ifndef KAIFANG_DCAT_DCAT_H
#define KAIFANG_DCAT_DCAT_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "catalog/catalog.h"
#include "core/buf.h"
#include "core/config.h"
#include "core/err.h"

/* Datasets per page of the RDF catalog when the configuration says nothing
 * (ckanext-dcat's default), and the most a page may hold (package_search's rows). */
#define DCAT_PAGE_SIZE_DEFAULT 100u
#define DCAT_PAGE_SIZE_MAX     1000u

/* Datasets fetched per catalog search while data.json is written. */
#define DCAT_DATAJSON_BATCH 1000u

/* The most the process keeps of data.json entries already written (compressed bytes),
 * so that the next data.json reuses those of unchanged datasets (src/dcat/cache.c):
 * about 350 bytes a dataset, so that a 100,000-dataset catalog fits. */
#define DCAT_CACHE_BYTES (40u << 20)

/*
 * What the exports say about the catalog itself, and the defaults of datasets that say
 * nothing. Every string is borrowed, UTF-8, never NULL ("" when not set); the portal
 * configuration's keys of the same names (README.md, "Configuration").
 */
struct dcat_options {
    const char *site_url;            /* "http://127.0.0.1:8080", no trailing slash */
    const char *catalog_title;       /* dct:title of the catalog; never "" */
    const char *catalog_description; /* "": "Open data published on <site_url>." */
    const char *catalog_publisher;   /* "": catalog_title */
    const char *contact_name;        /* "": the publisher's name */
    const char *contact_email;       /* "": none (DCAT-US then lacks hasEmail) */
    const char *bureau_code;         /* "015:11,015:12" or "" */
    const char *program_code;        /* "015:001" or "" */
    unsigned page_size;              /* 1 … DCAT_PAGE_SIZE_MAX */
};

/* Fills o from the portal configuration and the serving catalog's site_url (both
 * borrowed: they must outlive o). */
void dcat_options_init(struct dcat_options *o, const struct config *cfg, const char *site_url);

/* ---- DCAT-US 1.1: data.json -------------------------------------------------------- */

/*
 * The DCAT-US dataset object of one package dict (package_show's shape, upload urls
 * absolute): {"@type": "dcat:Dataset", "title", "description", "keyword", "modified",
 * "publisher", "contactPoint", "identifier", "accessLevel", … "distribution"}, keys in
 * the order of the POD schema's field table. New reference. Pure: reads nothing else.
 */
json_t *dcat_datajson_dataset(const struct dcat_options *o, json_t *pkg);

/*
 * Makes every public dataset c writes keep its data.json entry in the store, in the same
 * transaction (struct catalog_derive; the entry does not depend on the site URL, see
 * src/dcat/entry.c), with the options of cfg (copied). Every command that writes
 * datasets calls it after catalog_init(); a dataset written without it has no entry, and
 * data.json derives one and stores it back. Replaces any hook c had.
 */
void dcat_catalog_derive(struct catalog *c, const struct config *cfg);

/* data.json while it is written: the catalog object, then its datasets a batch of
 * DCAT_DATAJSON_BATCH at a time, so memory does not grow with the catalog. */
struct dcat_stream;

/*
 * Opens data.json of the whole public catalog (o is copied, its strings are borrowed
 * until dcat_stream_free()): {"@context", "@id", "@type":
 * "dcat:Catalog", "conformsTo", "describedBy", "dataset": [...]}, datasets in name order.
 * The first batch is read here, so a failing store is an error of this call (and a 500)
 * rather than a cut-short body. Free with dcat_stream_free().
 * NEEDSWORK: datasets are read in pages of the catalog search (start, rows): a dataset
 * created, renamed or deleted while the document is written may be missed or appear
 * twice; the search's start limit (LIMIT_SEARCH_START_MAX) bounds the catalog at about
 * a million datasets.
 */
int dcat_datajson_open(struct catalog *c, const struct dcat_options *o, struct dcat_stream **out,
                       struct err *err);

/* Up to size bytes of the document into buf: the count, 0 at the end, -1 when the
 * store failed on a later batch (logged; the document is then incomplete). */
long dcat_stream_read(struct dcat_stream *s, char *buf, size_t size);

/* The number of datasets the document holds (known once it is opened). */
size_t dcat_stream_count(const struct dcat_stream *s);

void dcat_stream_free(struct dcat_stream *s);

/* ---- DCAT-AP 3.0.1: Turtle, RDF/XML, JSON-LD ---------------------------------------- */

enum dcat_format {
    DCAT_TURTLE, /* text/turtle (raptor2 "turtle") */
    DCAT_RDFXML, /* application/rdf+xml (raptor2 "rdfxml-abbrev") */
    DCAT_JSONLD, /* application/ld+json (flat @graph, compact IRIs, inline @context) */
};

/* The format of a file extension without the dot ("ttl", "rdf", "jsonld"); -1 for
 * anything else. */
int dcat_format_from_extension(const char *ext, enum dcat_format *f);

/* "ttl", "rdf", "jsonld". */
const char *dcat_format_extension(enum dcat_format f);

/* The Content-Type of a format, with its charset ("text/turtle; charset=utf-8"). */
const char *dcat_format_content_type(enum dcat_format f);

/*
 * HTTP content negotiation for /dataset/<name> (RFC 9110 §12.5.1): reads an Accept
 * header value (NULL: none) and returns 1 with *f set when an RDF format is preferred,
 * else 0 (the HTML page). An RDF format counts only when named (text/turtle,
 * application/x-turtle, application/rdf+xml, application/ld+json or
 * application/json+ld, not through a wildcard); it is preferred when its q-value is
 * above zero and above that of the page (text/html, application/xhtml+xml, text/STAR
 * or STAR/STAR, STAR being the asterisk). Ties go to the page, so that browsers keep
 * getting HTML; among RDF formats of equal weight the first listed wins. Parameters
 * other than q are ignored; a malformed q makes its range count for nothing. Pure.
 */
int dcat_format_negotiate(const char *accept, enum dcat_format *f);

/*
 * Page `page` (1-based) of the public catalog as a DCAT-AP document: the dcat:Catalog
 * (title, description, publisher, homepage) with o->page_size datasets in name order,
 * each with its distributions, and the page's hydra:PagedCollection (totalItems,
 * itemsPerPage, firstPage, lastPage, and nextPage/previousPage where they exist, page
 * URLs as literals like ckanext-dcat's) whose URLs are <site>/catalog.<ext>?page=N.
 * Appended to out. -ERR_NOT_FOUND for a page past the last (page 1 always exists).
 */
int dcat_catalog_page(struct catalog *c, const struct dcat_options *o, enum dcat_format f,
                      uint64_t page, struct buf *out, struct err *err);

/* One dataset (by id or name) as a DCAT-AP document: the dcat:Dataset with its
 * distributions, publisher, contact point, licence, … Appended to out.
 * -ERR_NOT_FOUND when the public may not see the dataset. */
int dcat_dataset_rdf(struct catalog *c, const struct dcat_options *o, enum dcat_format f,
                     const char *id_or_name, struct buf *out, struct err *err);

/* ---- Frictionless Data Package ------------------------------------------------------ */

/*
 * The Data Package of one dataset (by id or name): {"$schema" (profile 2.0), "name",
 * "id", "title", "description", "homepage", "version"?, "created", "keywords",
 * "licenses", "contributors", "sources"?, "resources": [{"name", "title", "path" (the
 * download URL), "format", "mediatype", "bytes", "hash", "description", "encoding"?,
 * "type": "table" and "profile": "tabular-data-resource" and "schema" (the datastore
 * table's Table Schema, datastore_table_schema()) for resources with a table}]}.
 * *out: new reference. -ERR_NOT_FOUND when the public may not see the dataset, when its
 * access level is not "public" (its data is not published) or when it has no resource
 * with a usable URL (a package needs one).
 */
int dcat_datapackage(struct catalog *c, const struct dcat_options *o, const char *id_or_name,
                     json_t **out, struct err *err);

#endif
