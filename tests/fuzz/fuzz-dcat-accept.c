/*
 * Fuzz harness for the Accept header negotiation of /dataset/<name> (src/dcat/rdf.c,
 * dcat_format_negotiate), which any client sends, and for api_dcat_dataset_wanted()'s
 * reading of the path segment.
 *
 * Input: the header value (up to the first NUL; the bytes after it are the path
 * segment).
 *
 * Invariants checked, beyond "no crash":
 * - the answer is 0 or 1, the same twice, and on 1 the format is one of the three;
 * - an RDF format is chosen only when the header names one of its media types;
 * - the page wins whenever text/html comes last with q=1: appending ",text/html" never
 *   yields RDF;
 * - a segment ending in ".ttl", ".rdf" or ".jsonld" asks for that format whatever the
 *   header says, and the name before it is the rest of the segment.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "api/api.h"
#include "dcat/dcat.h"
#include "core/util.h"

static bool names_rdf(const char *s)
{
    static const char *const types[] = {"text/turtle", "application/x-turtle",
                                        "application/rdf+xml", "application/ld+json",
                                        "application/json+ld"};

    for (size_t i = 0; i < ARRAY_SIZE(types); i++)
        if (strcasestr(s, types[i]))
            return true;
    return false;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *accept = xstrndup((const char *)data, size), *with_html, *segment;
    size_t alen = strlen(accept), name_len;
    enum dcat_format f = DCAT_TURTLE, g = DCAT_TURTLE;
    int r1, r2, format;

    r1 = dcat_format_negotiate(accept, &f);
    r2 = dcat_format_negotiate(accept, &g);
    BUG_ON(r1 != 0 && r1 != 1);
    BUG_ON(r1 != r2 || (r1 && f != g));
    BUG_ON(r1 && (f < DCAT_TURTLE || f > DCAT_JSONLD));
    BUG_ON(r1 && !names_rdf(accept));

    with_html = xstrfmt("%s,text/html", accept);
    BUG_ON(dcat_format_negotiate(with_html, &f) != 0);
    free(with_html);

    /* The rest of the input, after the NUL, as a path segment. */
    segment = alen < size ? xstrndup((const char *)data + alen + 1, size - alen - 1) : xstrdup("");
    if (api_dcat_dataset_wanted(segment, accept, &name_len, &format)) {
        const char *dot = strrchr(segment, '.');
        enum dcat_format ext;

        BUG_ON(format < DCAT_TURTLE || format > DCAT_JSONLD);
        BUG_ON(name_len > strlen(segment));
        if (name_len < strlen(segment)) {
            BUG_ON(!dot || dot != segment + name_len);
            BUG_ON(dcat_format_from_extension(dot + 1, &ext) || (int)ext != format);
        } else {
            BUG_ON(!r1);
        }
    } else if (segment[0]) {
        const char *dot = strrchr(segment, '.');
        enum dcat_format ext;

        BUG_ON(dot && dot > segment && !dcat_format_from_extension(dot + 1, &ext));
        BUG_ON(r1);
    }
    free(segment);
    free(accept);
    return 0;
}
