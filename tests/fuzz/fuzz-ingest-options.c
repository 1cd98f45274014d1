/*
 * Fuzz harness for the ingest options of xloader_submit and of the status records the
 * worker reads back (ds_options_parse in src/datastore/ingest.c): any JSON text from a
 * client.
 *
 * Invariants, beyond "no crash":
 * - a failure is a validation error naming the option it concerns;
 * - on success every option is within its domain: a format Kaifang reads, a delimiter
 *   of , ; | or tab (or 0: sniff), skip_rows from -1 on, strings borrowed from the input
 *   and of at most 255 bytes, fields absent or a JSON array;
 * - the same input parses to the same options twice.
 */
#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "datastore/datastore-int.h"
#include "core/util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_str(const char *s)
{
    BUG_ON(s && (!*s || strlen(s) > 255));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct ingest_options o, again;
    const json_t *fields = NULL, *fields2 = NULL;
    struct err err = ERR_INIT;
    json_t *opts;
    int ret;

    if (size > 64 * 1024)
        return 0;
    opts = json_loadb((const char *)data, size, JSON_DECODE_ANY, NULL);
    if (!opts)
        return 0;
    ret = ds_options_parse(opts, &o, &fields, &err);
    if (ret) {
        BUG_ON(ret != -ERR_VALIDATION || err.kind != ERR_VALIDATION || !err.field[0] ||
               !err.msg[0]);
        goto out;
    }
    BUG_ON(o.format < INGEST_FORMAT_AUTO || o.format > INGEST_FORMAT_XLS);
    BUG_ON(o.delimiter && !strchr(",;|\t", o.delimiter));
    BUG_ON(o.skip_rows < -1);
    check_str(o.encoding);
    check_str(o.sheet);
    check_str(o.records_path);
    BUG_ON(fields && !json_is_array(fields));
    BUG_ON(ds_options_parse(opts, &again, &fields2, &err) != 0);
    BUG_ON(again.format != o.format || again.delimiter != o.delimiter ||
           again.skip_rows != o.skip_rows || again.lenient != o.lenient ||
           again.encoding != o.encoding || again.sheet != o.sheet || fields2 != fields);
out:
    json_decref(opts);
    return 0;
}
