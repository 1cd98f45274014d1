/*
 * Fuzz harness for the CKAN action layer: the input is "<action>\n<JSON params>", run as
 * a sysadmin (so every write path is reachable) against a real SQLite store in a
 * temporary portal made once per process.
 *
 * Invariants checked, beyond "no crash":
 * - the answer is a CKAN envelope: "success" true with a "result", or false with an
 *   "error" holding "__type"; the HTTP status agrees with success;
 * - input never causes a 500: a failure is one of the client-error kinds;
 * - a package_create that succeeds is readable by package_show under the same name.
 */
#include <ftw.h>
#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "api/api.h"
#include "catalog/catalog.h"
#include "store/store.h"
#include "core/util.h"

static struct store *store;
static struct catalog catalog;
static char portal_dir[64];

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static void fuzz_teardown(void)
{
    catalog_release(&catalog);
    store_free(store);
    nftw(portal_dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static void fuzz_setup(void)
{
    char tmpl[] = "/tmp/kaifang-fuzz-api-XXXXXX";
    struct err err = ERR_INIT;
    char *dir, *url, *files, *tmp;

    dir = mkdtemp(tmpl);
    BUG_ON(!dir);
    url = xstrfmt("sqlite:%s/kaifang.db", dir);
    files = xstrfmt("%s/files", dir);
    tmp = xstrfmt("%s/files/tmp", dir);
    BUG_ON(mkdir(files, 0700) || mkdir(tmp, 0700));
    secret_init();
    if (store_open(&store, url, true, &err))
        die("fuzz: cannot open store: %s", err.msg);
    catalog_init(&catalog, store, files, "http://127.0.0.1:1");
    xsnprintf(portal_dir, sizeof(portal_dir), "%s", dir);
    atexit(fuzz_teardown);
    free(url);
    free(files);
    free(tmp);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct actor admin = {.authenticated = true, .sysadmin = true, .id = "", .name = "fuzz"};
    const uint8_t *nl;
    char *action = NULL;
    json_t *params = NULL, *doc = NULL, *success, *show_doc = NULL;
    unsigned status = 0;
    enum err_kind kind = ERR_NONE;

    if (!store)
        fuzz_setup();
    if (size > 64 * 1024)
        return 0;
    nl = memchr(data, '\n', size);
    if (!nl)
        return 0;
    action = xstrndup((const char *)data, (size_t)(nl - data));
    params = json_loadb((const char *)nl + 1, size - (size_t)(nl - data) - 1, 0, NULL);
    if (!params || !json_is_object(params))
        goto out;
    api_ckan_call(&catalog, &admin, action, true, params, NULL, &doc, &status, &kind);
    BUG_ON(!doc || !json_is_object(doc));
    success = json_object_get(doc, "success");
    BUG_ON(!json_is_boolean(success));
    if (json_is_true(success)) {
        BUG_ON(status != 200 || kind != ERR_NONE);
        BUG_ON(!json_object_get(doc, "result"));
    } else {
        json_t *error = json_object_get(doc, "error");

        BUG_ON(!json_is_object(error) || !json_is_string(json_object_get(error, "__type")));
        BUG_ON(status < 400 || status >= 500); /* input never makes the server fail */
        BUG_ON(kind == ERR_NONE || kind == ERR_INTERNAL);
    }
    if (json_is_true(success) && str_eq(action, "package_create")) {
        json_t *result = json_object_get(doc, "result");
        json_t *q = json_pack("{s:O}", "id", json_object_get(result, "name"));

        api_ckan_call(&catalog, &admin, "package_show", false, q, NULL, &show_doc, &status, &kind);
        BUG_ON(status != 200);
        BUG_ON(!json_equal(json_object_get(json_object_get(show_doc, "result"), "id"),
                           json_object_get(result, "id")));
        json_decref(q);
    }
out:
    json_decref(show_doc);
    json_decref(doc);
    json_decref(params);
    free(action);
    return 0;
}
