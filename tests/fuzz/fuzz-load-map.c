/*
 * Fuzz harness for `kaifang load`'s metadata.json mapping (a publisher's file): any JSON
 * text is parsed and mapped to CKAN package_create parameters.
 *
 * Invariants, beyond "no crash":
 * - a failure names the field it concerns and leaves nothing to free but the release;
 * - on success the dataset name is the folder name, every tag follows CKAN's rules,
 *   every file name is a plain name (no '/', not "." or ".."), every sha256 is 64
 *   lower-case hex digits, and the organization slug is a valid CKAN name;
 * - the organization slug and title are deterministic for the same publisher text.
 */
#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli-int.h"
#include "core/limits.h"
#include "core/util.h"

static bool valid_name(const char *s)
{
    size_t n = strlen(s);

    if (n < LIMIT_NAME_MIN || n > LIMIT_NAME_MAX)
        return false;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '-' || *s == '_'))
            return false;
    return true;
}

static bool hex64(const char *s)
{
    if (strlen(s) != 64)
        return false;
    for (; *s; s++)
        if (!((*s >= '0' && *s <= '9') || (*s >= 'a' && *s <= 'f')))
            return false;
    return true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct load_dataset d = {0};
    struct err err = ERR_INIT;
    json_t *meta, *tags, *tag, *publisher;
    size_t i;

    if (size > 256 * 1024)
        return 0;
    meta = json_loadb((const char *)data, size, 0, NULL);
    if (!meta)
        return 0;
    if (load_map("fuzz-dataset", meta, &d, &err)) {
        BUG_ON(err.kind == ERR_NONE || !err.msg[0]);
        goto out;
    }
    BUG_ON(!str_eq(json_string_value(json_object_get(d.package, "name")), "fuzz-dataset"));
    tags = json_object_get(d.package, "tags");
    json_array_foreach (tags, i, tag)
        BUG_ON(!load_tag_valid(json_string_value(json_object_get(tag, "name"))));
    for (i = 0; i < d.nfiles; i++) {
        BUG_ON(!d.files[i].file || !*d.files[i].file || strchr(d.files[i].file, '/'));
        BUG_ON(str_eq(d.files[i].file, ".") || str_eq(d.files[i].file, ".."));
        BUG_ON(!hex64(d.files[i].sha256));
    }
    if (d.org_name)
        BUG_ON(!valid_name(d.org_name));
    publisher = json_object_get(meta, "publisher");
    if (json_is_string(publisher)) {
        char a[LIMIT_NAME_MAX + 1], b[LIMIT_NAME_MAX + 1];
        char *t1 = load_org_title(json_string_value(publisher));
        char *t2 = load_org_title(json_string_value(publisher));

        load_org_slug(json_string_value(publisher), a, sizeof(a));
        load_org_slug(json_string_value(publisher), b, sizeof(b));
        BUG_ON(strcmp(a, b) || strcmp(t1, t2));
        BUG_ON(!valid_name(a));
        free(t1);
        free(t2);
    }
out:
    load_dataset_release(&d);
    json_decref(meta);
    return 0;
}
