/*
 * import-int.h - what import.c (data.json, data packages) and import-rdf.c (DCAT-AP)
 * share: building one imported dataset's package_create parameters.
 */
#ifndef KAIFANG_DCAT_IMPORT_INT_H
#define KAIFANG_DCAT_IMPORT_INT_H

#include <jansson.h>
#include <stdbool.h>

#include "core/err.h"
#include "dcat/dcat-import.h"

/* A new, zeroed dataset at the end of im with package {} and the given place. */
struct dcat_import_dataset *im_add(struct dcat_import *im, const char *place);

/* Drops the datasets of im from index n on (a document that failed half way). */
void im_truncate(struct dcat_import *im, size_t n);

/* Appends {"key", "value"} to pkg's extras (value NULL or "": nothing). */
void im_extra(json_t *pkg, const char *key, const char *value);

/* Appends a tag to pkg's tags when the catalog would accept it (tag_check) and it is
 * not there yet; others are dropped (a publisher's keyword is not worth refusing a
 * dataset for, as `kaifang load` of folders does). */
void im_tag(json_t *pkg, const char *tag);

/* Sets pkg's license_id from a licence URL: the licence of the catalog's list with that
 * url (http and https, a trailing '/' alike), else "notspecified" and the extra
 * "source_license_url" (which the exports read back; "license_url" is a field of the
 * package dict, which the catalog sets from the licence). */
void im_license(json_t *pkg, const char *url);

/* The CKAN format name for a format text ("csv" → "CSV", "geojson" → "GeoJSON");
 * unknown ones as given. Free the result. */
char *im_format(const char *s);

/*
 * Sets err (-ERR_VALIDATION) naming the place: "<problem> in \"<field>\" (<place>,
 * identifier \"<id>\")". d may be NULL (the document itself). Returns the negative
 * error.
 */
__attribute__((format(printf, 4, 5))) int im_fail(struct err *err,
                                                  const struct dcat_import_dataset *d,
                                                  const char *field, const char *fmt, ...);

/* Checks the fields the catalog validates on package_create, so that a bad value fails
 * the document before anything is written: title length, access_level, contact_email,
 * temporal, frequency, language tags, url lengths and schemes of every resource. */
int im_check(const struct dcat_import_dataset *d, struct err *err);

/* DCAT-AP (import-rdf.c). */
int im_map_rdf(enum dcat_import_format f, const char *data, size_t len, const char *base,
               struct dcat_import *im, struct err *err);

#endif
