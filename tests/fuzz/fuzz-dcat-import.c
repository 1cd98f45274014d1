/*
 * Fuzz harness for `kaifang load`'s reading of metadata documents (src/dcat/import*.c):
 * the first byte picks the format (data.json, data package, Turtle, RDF/XML, JSON-LD),
 * the rest is the document.
 *
 * Invariants, beyond "no crash":
 * - format detection returns a known format for any bytes;
 * - a failure sets a message and leaves no dataset behind (a document with an error
 *   maps to nothing), and keeps what an earlier document appended;
 * - on success every dataset has a title, passes the checks the catalog applies
 *   (im_check, run again), every tag is one the catalog accepts, and its place names it;
 * - mapping the same document twice gives the same package parameters.
 */
#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "catalog/catalog-int.h"
#include "dcat/dcat-import.h"
#include "dcat/import-int.h"
#include "core/util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const enum dcat_import_format formats[] = {
            DCAT_IMPORT_DATAJSON, DCAT_IMPORT_DATAPACKAGE, DCAT_IMPORT_TURTLE,
            DCAT_IMPORT_RDFXML,   DCAT_IMPORT_JSONLD,
    };
    struct dcat_import im, again;
    struct err err = ERR_INIT, err2 = ERR_INIT;
    enum dcat_import_format f, detected;
    const char *doc;
    size_t len;
    int ret, ret2;

    if (size < 1 || size > 256 * 1024)
        return 0;
    f = formats[data[0] % ARRAY_SIZE(formats)];
    doc = (const char *)data + 1;
    len = size - 1;
    detected = dcat_import_detect(doc, len, NULL);
    BUG_ON((unsigned)detected > DCAT_IMPORT_DATAPACKAGE);
    BUG_ON(dcat_import_format_parse(dcat_import_format_name(f)) != f);

    dcat_import_init(&im);
    dcat_import_init(&again);
    /* One dataset already there: a failing document must keep it. */
    json_object_set_new(im_add(&im, "earlier")->package, "title", json_string("earlier"));
    ret = dcat_import_map(f, doc, len, "http://fuzz.example/doc", &im, &err);
    ret2 = dcat_import_map(f, doc, len, "http://fuzz.example/doc", &again, &err2);
    BUG_ON((ret == 0) != (ret2 == 0));
    if (ret) {
        BUG_ON(err.kind == ERR_NONE || !err.msg[0]);
        BUG_ON(im.n != 1 || again.n != 0);
        goto out;
    }
    BUG_ON(im.n != again.n + 1);
    for (size_t i = 1; i < im.n; i++) {
        const struct dcat_import_dataset *d = &im.d[i];
        struct err e = ERR_INIT;
        json_t *t;
        size_t k;

        BUG_ON(!json_is_string(json_object_get(d->package, "title")));
        BUG_ON(!d->place || !*d->place);
        BUG_ON(im_check(d, &e));
        json_array_foreach (json_object_get(d->package, "tags"), k, t)
            BUG_ON(tag_check(json_string_value(json_object_get(t, "name")), &e));
        BUG_ON(!json_equal(d->package, again.d[i - 1].package));
        /* The same identifier, or none in both (a DCAT-AP dataset need not have one). */
        BUG_ON(!d->identifier != !again.d[i - 1].identifier ||
               (d->identifier && strcmp(d->identifier, again.d[i - 1].identifier)));
    }
out:
    dcat_import_release(&im);
    dcat_import_release(&again);
    return 0;
}
