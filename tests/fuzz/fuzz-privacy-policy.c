/*
 * Fuzz harness for the de-identification policy parser (src/privacy/policy.c,
 * privacy_policy_parse()) and its application (privacy_policy_apply()) to a small fixed
 * table with a fixed key.
 *
 * Invariants, beyond "no crash":
 * - a rejected policy leaves *out NULL and sets err->field; the message starts with the
 *   field (the JSON path of the offending member) or names the policy ("p.json");
 * - an accepted policy applied either fails with a message or gives a report that is a
 *   JSON object whose "columns" has an "action" string per column of the table, and
 *   whose text never holds the key or the table's identifying values;
 * - with quasi-identifiers found, the smallest kept class is at least the policy's k
 *   (the report's "k").
 * Policies naming a path with '/' are not applied (a hierarchy file could be any file).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "privacy/policy.h"
#include "core/util.h"

#define FUZZ_MAX_INPUT (16u * 1024)

static const char table[] = "id,name,phone,age,income,city,dx\n"
                            "1,Wang Fang,13812345678,23,4321.5,440305,flu\n"
                            "2,Li Lei,13912345678,27,12000,440306,flu\n"
                            "3,Zhang Wei,13712345678,95,,440103,cold\n"
                            "4,Chen Jing,13612345678,8,880,440104,cold\n"
                            "5,Liu Yang,13512345678,41,51000,440305,flu\n";

static char in_path[64], out_path[80];

static void setup(void)
{
    char dir[] = "/tmp/kf-fuzz-policy-XXXXXX";
    if (in_path[0])
        return;
    if (!mkdtemp(dir))
        abort();
    snprintf(in_path, sizeof(in_path), "%s/in.csv", dir);
    snprintf(out_path, sizeof(out_path), "%s/out.csv", dir);
    FILE *f = fopen(in_path, "wb");
    if (!f || fwrite(table, 1, sizeof(table) - 1, f) != sizeof(table) - 1 || fclose(f))
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct privacy_policy *p = NULL;
    struct privacy_outcome res;
    struct privacy_key key;
    struct err err = ERR_INIT;

    if (size > FUZZ_MAX_INPUT)
        return 0;
    setup();
    if (privacy_policy_parse(&p, (const char *)data, size, "p.json", &err)) {
        if (p || !err.field[0])
            abort();
        if (strncmp(err.msg, err.field, strlen(err.field)) && !strstr(err.msg, "p.json"))
            abort();
        return 0;
    }
    if (!p || memchr(data, '/', size)) {
        privacy_policy_free(p);
        return 0;
    }
    memset(&key, 0, sizeof(key));
    memcpy(key.bytes, "fuzz-key-fuzz-key-fuzz-key-fuzz!", 32);
    key.len = 32;
    err_clear(&err);
    if (privacy_policy_apply(p, in_path, out_path, &key, &res, &err) == 0) {
        const json_t *cols = json_object_get(res.report, "columns");
        const char *k;
        json_t *v;
        if (!json_is_object(res.report) || json_object_size(cols) != 7)
            abort();
        json_object_foreach ((json_t *)cols, k, v)
            if (!json_is_string(json_object_get(v, "action")))
                abort();
        char *dump = json_dumps(res.report, 0);
        /* The policy's own text may hold the strings (a top value, a comment): the report
         * may echo what the policy says, never what only the table or the key holds. */
        if (!dump || (strstr(dump, "fuzz-key") && !memmem(data, size, "fuzz-key", 8)) ||
            (strstr(dump, "13812345678") && !memmem(data, size, "13812345678", 11)) ||
            (strstr(dump, "Wang Fang") && !memmem(data, size, "Wang Fang", 9)))
            abort();
        free(dump);
        if (res.found && json_object_size(json_object_get(res.report, "levels")) &&
            res.k_reached < (uint64_t)json_integer_value(json_object_get(res.report, "k")))
            abort();
        privacy_outcome_release(&res);
    } else if (!err.msg[0]) {
        abort();
    }
    privacy_policy_free(p);
    return 0;
}
