/*
 * import-rdf.c - DCAT-AP documents read back (placeholder until the RDF walk lands).
 */
#include <jansson.h>

#include "dcat/import-int.h"
#include "core/util.h"

int im_map_rdf(enum dcat_import_format f, const char *data, size_t len, const char *base,
               struct dcat_import *im, struct err *err)
{
    (void)f;
    (void)data;
    (void)len;
    (void)base;
    (void)im;
    return err_set(err, ERR_VALIDATION, "format", "DCAT-AP documents cannot be loaded yet");
}
