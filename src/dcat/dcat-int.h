/*
 * dcat-int.h - internals shared by the files of src/dcat/ (not for other modules):
 * reading package dicts the way every export reads them (map.c), the catalog search the
 * exports walk (map.c), the triples of DCAT-AP (graph.c, rdf.c) and their serialisers
 * (serialize.c).
 */
#ifndef KAIFANG_DCAT_DCAT_INT_H
#define KAIFANG_DCAT_DCAT_INT_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <zlib.h>

#include "dcat/dcat.h"

/* ---- map.c: reading package dicts -------------------------------------------------- */

/* A string member that is present and not empty, else NULL (borrowed). */
const char *dcat_str(const json_t *obj, const char *key);

/* The value of the dataset extra named key when present and not empty, else NULL
 * (borrowed). CKAN extras: [{"key", "value"}]. */
const char *dcat_extra(const json_t *pkg, const char *key);

/*
 * A list-valued extra: a JSON array of strings ('["a","b"]') or comma-separated text
 * ("a, b"); entries trimmed, empty ones and duplicates dropped. New JSON array (empty
 * when the extra is absent).
 */
json_t *dcat_extra_list(const json_t *pkg, const char *key);

/* Whether the dataset's access_level is "public" (absent or empty counts as public, the
 * catalog's default). */
bool dcat_is_public(const json_t *pkg);
/* "public", "restricted public" or "non-public". */
const char *dcat_access_level(const json_t *pkg);

/* An absolute http, https or ftp URL without white space, controls or quotes: what may
 * become a link (downloadURL, a Turtle IRI). */
bool dcat_url_ok(const char *url);

/* A URL as the exports write it (new string to free()): bytes outside printable ASCII,
 * white space and "<>\\^`{|} percent-encoded, and a '%' that starts no escape as "%25", so
 * that it is a URI (RFC 3986; JSON Schema "format": "uri") and a Turtle IRI. */
char *dcat_url_encode(const char *url);

/* Whether DCAT-US's contactPoint.hasEmail pattern accepts "mailto:" + s. */
bool dcat_email_ok(const char *s);

/* Whether a text is a DCAT-US media type (distribution.json's pattern
 * ^[-\w]+/[-\w]+(\.[-\w]+)*([+][-\w]+)?$). */
bool dcat_media_type_ok(const char *s);

/* The kind of an ISO 8601 date as DCAT-US and XML Schema take it. */
enum dcat_date {
    DCAT_DATE_NONE = 0,   /* not a date this code accepts */
    DCAT_DATE_YEAR,       /* "2010" (xsd:gYear) */
    DCAT_DATE_YEAR_MONTH, /* "2010-06" (xsd:gYearMonth) */
    DCAT_DATE_DAY,        /* "2010-06-30" (xsd:date) */
    DCAT_DATE_TIME,       /* "2010-06-30T12:00:00[.frac][Z|±hh:mm]" (xsd:dateTime) */
};
/* Classifies s: calendar dates with valid months and days (leap years counted), times
 * with hours 00-23, minutes and seconds 00-59, an optional fraction and zone. */
enum dcat_date dcat_date_kind(const char *s);
/* The XML Schema datatype IRI of a kind (NULL for DCAT_DATE_NONE). */
const char *dcat_date_datatype(enum dcat_date kind);

/* Whether s is an ISO 8601 duration as DCAT-US's patterns take it: "P" then numbers
 * with Y, M, W, D in that order, optionally "T" and H, M, S; at least one number. */
bool dcat_duration_ok(const char *s);

/*
 * Splits a temporal coverage "start/end" where each side is a date (dcat_date_kind) or
 * one side a duration, as DCAT-US's temporal patterns allow. Returns false when s is
 * not such an interval (the export then leaves temporal out). start and end are
 * written NUL-terminated (size bytes each; TIME_ISO_MAX-sized buffers do for any valid
 * side; longer sides are refused).
 */
bool dcat_temporal_split(const char *s, char *start, char *end, size_t size);

/* Whether s is an accrualPeriodicity DCAT-US accepts: "irregular" or "R/" + duration. */
bool dcat_frequency_ok(const char *s);

/* The EU frequency authority code (publications.europa.eu/resource/authority/frequency)
 * of a DCAT-US accrualPeriodicity ("R/P1Y" → "ANNUAL"), NULL when it has none. */
const char *dcat_frequency_eu(const char *s);

/* A CKAN timestamp ("2026-11-29T10:00:00.123456", UTC without a zone) as an ISO 8601
 * date-time with "Z" into out (TIME_ISO_MAX bytes); a value that already has a zone or
 * is not a date-time is copied as it is. */
void dcat_timestamp(const char *ckan, char *out, size_t size);

/* The ISO dates of a dataset as the exports give them (TIME_ISO_MAX buffers): modified
 * is the extra "modified" when it is a date (a harvested source's own), else
 * metadata_modified; issued is the extra "issued" when a date, else metadata_created. */
void dcat_dataset_modified(const json_t *pkg, char *out, size_t size);
void dcat_dataset_issued(const json_t *pkg, char *out, size_t size);

/* A known file format: the CKAN format name (upper case), its IANA media type, its EU
 * file-type code and the extension Frictionless writes. */
struct dcat_file_format {
    const char *name;       /* "CSV" */
    const char *media_type; /* "text/csv" */
    const char *eu;         /* "CSV" (publications.europa.eu/resource/authority/file-type) */
    const char *ext;        /* "csv" */
};
/* The entry for a CKAN format name (case-insensitive), or NULL. */
const struct dcat_file_format *dcat_file_format(const char *name);

/* A resource's media type: its mimetype without parameters when dcat_media_type_ok(),
 * else the one of its format; NULL when neither gives one. Written into out. */
const char *dcat_resource_media_type(const json_t *res, char *out, size_t size);

/* The licence of a dataset as a URL (new string to free(), or NULL): the licence list's
 * url for its license_id, else the extra "license_url", else the extra
 * "source_license_url" (what `kaifang load` of examples/catalog records), each only when
 * dcat_url_ok(). */
char *dcat_license_url(const json_t *pkg);

/* A language tag with '_' turned into '-' ("zh_CN" → "zh-CN"), when it is a plausible
 * BCP 47 tag (letters, digits, 1-8 per subtag, a first subtag of 2-3 letters);
 * else "". out: at least 36 bytes. */
void dcat_language_tag(const char *tag, char *out, size_t size);
/* The EU language authority code of a tag's primary subtag ("zh-CN" → "ZHO"), or NULL. */
const char *dcat_language_eu(const char *tag);

/* Who to contact about a dataset: the first of contact_name/contact_email,
 * maintainer/maintainer_email, author/author_email that has an e-mail address DCAT-US
 * accepts, else the configured contact; the name falls back to the dataset's
 * publisher. Strings borrowed from pkg or o. */
struct dcat_contact {
    const char *name;
    const char *email; /* NULL when none is known */
    bool individual;   /* the name is a person's (vcard:Individual), not an organisation's */
};
void dcat_contact(const struct dcat_options *o, const json_t *pkg, struct dcat_contact *ct);

/* The name of a dataset's publisher: its organization's title, else the extra
 * "publisher", else the catalog's publisher. Borrowed. */
const char *dcat_publisher_name(const struct dcat_options *o, const json_t *pkg);

/* The catalog's publisher and description with their defaults applied. *description
 * may be a new string: free *to_free (NULL when nothing was allocated). */
const char *dcat_catalog_publisher(const struct dcat_options *o);
const char *dcat_catalog_description(const struct dcat_options *o, char **to_free);

/* A dataset's description: notes, else its title (DCAT-US and DCAT-AP require one). */
const char *dcat_description(const json_t *pkg);

/* Appends <site>/dataset/<name> (the dataset's page, its landing page here). */
void dcat_dataset_page(const struct dcat_options *o, const json_t *pkg, struct buf *out);

/*
 * A resource's links for a dataset: *download the file (uploads, and links that name a
 * media type) or NULL; *access the URL to reach it: the download URL, a link's url, or
 * the dataset's page for datasets that are not public (their files are not listed);
 * both borrowed from res or page.
 */
void dcat_resource_urls(const json_t *pkg, const json_t *res, const char *media_type,
                        const char *page, const char **download, const char **access);

/* OMB codes of a dataset: the extra (key "bureau_code" / "program_code") when it holds
 * valid ones, else the configured list; entries must match ^\d{3}:\d{2}$ (digits2 2) or
 * ^\d{3}:\d{3}$ (digits2 3). New JSON array, maybe empty. */
json_t *dcat_codes(const json_t *pkg, const char *key, const char *configured, unsigned digits2);

/*
 * One page of the public catalog, in name order, as package dicts (output form):
 * package_search as the anonymous actor with start and rows (≤ 1000). *results: new
 * reference to the array; *count: every public dataset.
 */
int dcat_search(struct catalog *c, size_t start, size_t rows, json_t **results, size_t *count,
                struct err *err);

/* package_show of id_or_name as the anonymous actor (404 for what the public may not
 * see). *pkg: new reference. */
int dcat_show(struct catalog *c, const char *id_or_name, json_t **pkg, struct err *err);

/* ---- cache.c: data.json entries already written ------------------------------------ */

/* The compressor and decompressor of one caller (a data.json being written), kept from
 * one entry to the next. dcat_codec_init(), then dcat_codec_release(). */
struct dcat_codec {
    z_stream deflate, inflate;
    bool deflate_open, inflate_open;
    struct buf scratch;
};
void dcat_codec_init(struct dcat_codec *z);
void dcat_codec_release(struct dcat_codec *z);

/* Appends the cached text of key to out and returns true; false when it is not cached
 * (out unchanged). Thread-safe (z is the caller's own). */
bool dcat_cache_get(struct dcat_codec *z, const uint8_t key[32], struct buf *out);
/* Caches len bytes of text under key (compressed), evicting the oldest entries past
 * DCAT_CACHE_BYTES. Thread-safe. */
void dcat_cache_put(struct dcat_codec *z, const uint8_t key[32], const char *text, size_t len);
/* Entries and compressed bytes held (tests, benchmarks). */
void dcat_cache_stats(size_t *entries, size_t *bytes);
/* Empties the cache (tests). */
void dcat_cache_clear(void);
/* Writes the cache to <dir>/entries (a temporary file renamed), or reads it back into
 * the cache, once per process (again after dcat_cache_clear()): a file that is missing,
 * short, or whose checksum fails is ignored. dir NULL: nothing. Failures cost only
 * speed (logged at debug level). Thread-safe. */
void dcat_cache_save(const char *dir);
void dcat_cache_load(const char *dir);

/* ---- entry.c: data.json entries without the site URL ------------------------------------ */

/* The byte that stands for the site URL in an entry (never in a jansson dump). */
#define DCAT_ENTRY_SITE '\x01'
/* The longest site URL whose data.json is written from entries. */
#define DCAT_SITE_MAX 512u
/* The revision of the data.json mapping (datajson.c, map.c and what they read): part of
 * every entry's key (dcat_entry_key()), so entries kept in the store by an older
 * mapping are derived again. Bump it with every change of what data.json says for a
 * given dataset and options: nothing else notices that stored entries are stale. */
#define DCAT_ENTRY_REVISION 1

/* The stand-in site URL entries are made under: "http://" + catalog_splice_token(). */
const char *dcat_entry_site(void);

/* The key of entries made with o (its site_url aside) by this revision of the mapping:
 * the SHA-256 of the options and DCAT_ENTRY_REVISION (STORE_DERIVED_KEY bytes). */
void dcat_entry_key(const struct dcat_options *o, uint8_t key[32]);

/* Whether data.json under site may be written from entries (see entry.c): it passes
 * dcat_url_ok() and is at most DCAT_SITE_MAX bytes. */
bool dcat_entry_site_ok(const char *site);

/* The entry of doc (a package dict in output form under o->site_url, the stand-in)
 * appended to out: the data.json dataset with each occurrence of o->site_url replaced by
 * DCAT_ENTRY_SITE. false (out may hold a part) when the dataset can have no entry (a URL
 * so long that dcat_url_ok() might judge it differently under another site). */
bool dcat_entry_make(const struct dcat_options *o, json_t *doc, struct buf *out);

/* Appends entry[0..len) with every DCAT_ENTRY_SITE replaced by site_url[0..site_len)
 * (dcat_url_encode() of the site URL). */
void dcat_entry_splice(const char *entry, size_t len, const char *site_url, size_t site_len,
                       struct buf *out);

/* ---- persist.c: data.json between runs ------------------------------------------------ */

/* <files_dir>/dcat, created when missing (new string), or NULL when the catalog has no
 * files directory or it cannot be created. */
char *dcat_persist_dir(const struct catalog *c);

/* write(2) of all n bytes, retried on EINTR; 0, or -1 with errno set. */
int dcat_write_all(int fd, const void *p, size_t n);

/* Opens the data.json snapshot of key in dir (SHA-256 of the options digest and the
 * store version): a file descriptor positioned at the body, *count its datasets, *len
 * its body's bytes; -1 when there is none or it is not whole. */
int dcat_snapshot_open(const char *dir, const uint8_t key[32], size_t *count, uint64_t *len);

/* A snapshot being written: begin (dir NULL: a writer that writes nothing), add the
 * document's bytes in order, then commit (renamed into place, older snapshots of dir
 * removed) or abandon (the temporary file removed). A failed write abandons quietly. */
struct dcat_snapshot_writer {
    int fd; /* -1: nothing being written */
    char *tmp, *dir;
    uint8_t key[32];
    uint64_t len;
};
void dcat_snapshot_begin(struct dcat_snapshot_writer *w, const char *dir, const uint8_t key[32]);
void dcat_snapshot_add(struct dcat_snapshot_writer *w, const void *p, size_t n);
void dcat_snapshot_commit(struct dcat_snapshot_writer *w, size_t count);
void dcat_snapshot_abandon(struct dcat_snapshot_writer *w);

/*
 * Splits text[0..len), JSON objects joined by ',' (catalog_package_search_text's
 * results), into the objects: their offsets and lengths into starts and lens (room for
 * max each); *n gets the count. Strings are skipped with their escapes, so braces and
 * commas inside them do not count. Returns 0, or -1 when the text is not such a list
 * (an unbalanced brace or bracket, an unterminated string, something between the
 * objects other than one ',', more than max objects).
 */
int dcat_split_objects(const char *text, size_t len, size_t *starts, size_t *lens, size_t max,
                       size_t *n);

/* ---- graph.c: triples -------------------------------------------------------------- */

enum dcat_term_kind {
    DCAT_IRI,
    DCAT_BLANK,
    DCAT_LITERAL,
};

struct dcat_term {
    enum dcat_term_kind kind;
    char *value;          /* owned: the IRI, the blank node's label ("b3"), the text */
    const char *datatype; /* literal datatype IRI (static) or NULL */
    char *lang;           /* owned BCP 47 tag of a literal, or NULL */
};

struct dcat_triple {
    struct dcat_term s;
    const char *p; /* static predicate IRI */
    struct dcat_term o;
};

/* A graph: triples in the order they were added (the serialisers keep the order of
 * subjects as first seen). */
struct dcat_graph {
    struct dcat_triple *t;
    size_t n, alloc;
    unsigned blanks; /* blank nodes made so far */
};

void dcat_graph_init(struct dcat_graph *g);
void dcat_graph_release(struct dcat_graph *g);

/* Terms, owned by the caller until added (dcat_add* take them). */
struct dcat_term dcat_iri(const char *iri);
struct dcat_term dcat_blank(struct dcat_graph *g);
struct dcat_term dcat_literal(const char *text, const char *datatype, const char *lang);
struct dcat_term dcat_term_copy(const struct dcat_term *t);
void dcat_term_release(struct dcat_term *t);

/* Adds (s, p, o): s is copied, o is taken. */
void dcat_add(struct dcat_graph *g, const struct dcat_term *s, const char *p, struct dcat_term o);
/* (s, rdf:type, class) */
void dcat_add_type(struct dcat_graph *g, const struct dcat_term *s, const char *class_iri);

/* The DCAT-AP triples of one package dict (output form): the dataset
 * <site>/dataset/<id> and everything it points at. *subject (may be NULL) gets the
 * dataset's term (to release). */
void dcat_dataset_graph(const struct dcat_options *o, json_t *pkg, struct dcat_graph *g,
                        struct dcat_term *subject);

/* ---- serialize.c ------------------------------------------------------------------- */

/* Writes g in format f into out. -ERR_INTERNAL when raptor2 fails. */
int dcat_graph_write(const struct dcat_graph *g, enum dcat_format f, struct buf *out,
                     struct err *err);

/* Vocabularies. */
#define NS_RDF     "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
#define NS_RDFS    "http://www.w3.org/2000/01/rdf-schema#"
#define NS_XSD     "http://www.w3.org/2001/XMLSchema#"
#define NS_DCAT    "http://www.w3.org/ns/dcat#"
#define NS_DCT     "http://purl.org/dc/terms/"
#define NS_FOAF    "http://xmlns.com/foaf/0.1/"
#define NS_VCARD   "http://www.w3.org/2006/vcard/ns#"
#define NS_SKOS    "http://www.w3.org/2004/02/skos/core#"
#define NS_SPDX    "http://spdx.org/rdf/terms#"
#define NS_HYDRA   "http://www.w3.org/ns/hydra/core#"
#define NS_ADMS    "http://www.w3.org/ns/adms#"
#define NS_LOCN    "http://www.w3.org/ns/locn#"
#define EU_FREQ    "http://publications.europa.eu/resource/authority/frequency/"
#define EU_FILE    "http://publications.europa.eu/resource/authority/file-type/"
#define EU_LANG    "http://publications.europa.eu/resource/authority/language/"
#define EU_ACCESS  "http://publications.europa.eu/resource/authority/access-right/"
#define IANA_MEDIA "https://www.iana.org/assignments/media-types/"

/* Prefix and namespace of every vocabulary the exports use, in the order the documents
 * declare them; terminated by {NULL, NULL}. */
struct dcat_prefix {
    const char *prefix, *ns;
};
extern const struct dcat_prefix dcat_prefixes[];

#endif
