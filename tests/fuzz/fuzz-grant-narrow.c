/*
 * Fuzz harness for the narrowing of a grantee's datastore_search parameters to a grant
 * (src/datastore/restricted.c, ds_restricted_narrow), which reads the parameters any
 * grantee sends.
 *
 * Input: a JSON document, the parameters (anything but an object is wrapped as
 * {"fields": <it>}, so that strings and lists reach the list syntax too). The grant is
 * fixed: columns a, "b c" and 区, rows where a is "1" or 2.
 *
 * Invariants checked, beyond "no crash":
 * - a refusal is -ERR_AUTH with a reason or -ERR_VALIDATION, and no parameters;
 * - accepted parameters name only granted columns: "fields" a list of them, "sort" a
 *   list of "<column> asc|desc", "q" absent, or an object keyed by them, "filters" an
 *   object keyed by them holding the grant's filter on a with only values the grant
 *   allows (as text);
 * - the same input gives the same answer twice.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "datastore/datastore-int.h"
#include "core/util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static bool granted(const char *s)
{
    return s && (!strcmp(s, "a") || !strcmp(s, "b c") || !strcmp(s, "区"));
}

static bool allowed_a(const json_t *v)
{
    if (json_is_integer(v))
        return json_integer_value(v) == 2 || json_integer_value(v) == 1;
    if (json_is_string(v))
        return !strcmp(json_string_value(v), "1") || !strcmp(json_string_value(v), "2");
    return false;
}

static void check(const json_t *eff)
{
    const json_t *v, *x, *f;
    const char *key;
    size_t i;

    v = json_object_get(eff, "fields");
    BUG_ON(!json_is_array(v));
    json_array_foreach (v, i, x)
        BUG_ON(!granted(json_string_value(x)));
    v = json_object_get(eff, "sort");
    if (v) {
        BUG_ON(!json_is_array(v));
        json_array_foreach (v, i, x) {
            const char *s = json_string_value(x);
            size_t n = s ? strlen(s) : 0;
            char *name;

            BUG_ON(!s);
            if (n > 4 && !strcmp(s + n - 4, " asc"))
                n -= 4;
            else if (n > 5 && !strcmp(s + n - 5, " desc"))
                n -= 5;
            else
                BUG_ON(1);
            name = xstrndup(s, n);
            BUG_ON(!granted(name));
            free(name);
        }
    }
    v = json_object_get(eff, "q");
    if (v && json_is_object(v)) {
        json_object_foreach ((json_t *)v, key, x)
            BUG_ON(!granted(key));
    } else if (v && json_is_string(v) && json_string_length(v)) {
        json_t *o = json_loads(json_string_value(v), 0, NULL);

        BUG_ON(!json_is_object(o));
        json_object_foreach (o, key, x)
            BUG_ON(!granted(key));
        json_decref(o);
    }
    f = json_object_get(eff, "filters");
    BUG_ON(!json_is_object(f));
    json_object_foreach ((json_t *)f, key, v)
        BUG_ON(!granted(key));
    v = json_object_get(f, "a");
    BUG_ON(!v);
    if (json_is_array(v)) {
        json_array_foreach (v, i, x)
            BUG_ON(!allowed_a(x));
    } else {
        BUG_ON(!allowed_a(v));
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    json_t *grant = json_pack("{s:[s,s,s], s:{s:[s,i]}}", "columns", "a", "b c", "区", "filters",
                              "a", "1", 2);
    json_t *params = json_loadb((const char *)data, size, JSON_DECODE_ANY, NULL), *eff = NULL,
           *eff2 = NULL;
    /* The table read holds every granted column and one more (judged per table). */
    json_t *tf = json_pack("[s,s,s,s]", "区", "a", "other", "b c");
    const char *reason = NULL, *reason2 = NULL;
    struct err err = ERR_INIT, err2 = ERR_INIT;
    int ret, ret2;

    if (!params)
        params = json_stringn_nocheck((const char *)data, size);
    if (!json_is_object(params)) {
        json_t *o = json_object();

        json_object_set_new(o, "fields", params);
        params = o;
    }
    ret = ds_restricted_narrow(grant, tf, params, &eff, &reason, &err);
    ret2 = ds_restricted_narrow(grant, tf, params, &eff2, &reason2, &err2);
    BUG_ON(ret != ret2);
    if (ret) {
        BUG_ON(ret != -ERR_AUTH && ret != -ERR_VALIDATION);
        BUG_ON(ret == -ERR_AUTH && !reason);
        BUG_ON(eff || eff2);
    } else {
        BUG_ON(!json_equal(eff, eff2));
        check(eff);
    }
    json_decref(eff);
    json_decref(eff2);
    json_decref(params);
    json_decref(grant);
    json_decref(tf);
    return 0;
}
