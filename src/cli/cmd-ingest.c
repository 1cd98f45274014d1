/*
 * cmd-ingest.c - `kaifang ingest FILE --resource ID [options]`: reads a file into a
 * resource's datastore table now (datastore_ingest), as the CLI's sysadmin actor. The
 * file need not be the resource's upload: a publisher can load a corrected or converted
 * copy, or one too large to upload. Prints a summary line (or, with --json, the ingest
 * report) on stdout; a file that cannot be ingested exits 1 with the message, which
 * names the line and column.
 */
#include <jansson.h>

#include "catalog/catalog.h"
#include "cli/cli-int.h"
#include "dcat/dcat.h"
#include "core/limits.h"
#include "core/parse.h"
#include "datastore/datastore.h"
#include "core/util.h"

static const struct cli_option opts[] = {
        {"portal", true},    {"resource", true}, {"format", true},    {"encoding", true},
        {"delimiter", true}, {"sheet", true},    {"skip-rows", true}, {"lenient", false},
        {"fields", true},    {"json", false},
};

#define OPT(name) cli_opt(opts, ARRAY_SIZE(opts), &args, name)

/* Reads the --fields file: a JSON list [{"id", "type", "info"}] (or an object holding it
 * under "fields", as datastore_info and a data dictionary export write it). */
static int read_fields(const char *path, json_t **out, struct err *err)
{
    json_error_t jerr;
    json_t *doc;
    struct stat st;

    *out = NULL;
    if (stat(path, &st))
        return err_set(err, ERR_NOT_FOUND, "fields", "cannot read \"%s\": %s", path,
                       strerror(errno));
    if (!S_ISREG(st.st_mode))
        return err_set(err, ERR_VALIDATION, "fields", "\"%s\" is not a regular file", path);
    if ((uint64_t)st.st_size > LIMIT_METADATA_FILE)
        return err_set(err, ERR_TOO_LARGE, "fields", "\"%s\" is larger than %u bytes", path,
                       LIMIT_METADATA_FILE);
    doc = json_load_file(path, JSON_REJECT_DUPLICATES, &jerr);
    if (!doc)
        return err_set(err, ERR_VALIDATION, "fields", "invalid JSON in \"%s\" at line %d: %s", path,
                       jerr.line, jerr.text);
    if (json_is_object(doc) && json_is_array(json_object_get(doc, "fields"))) {
        *out = json_incref(json_object_get(doc, "fields"));
        json_decref(doc);
    } else if (json_is_array(doc)) {
        *out = doc;
    } else {
        json_decref(doc);
        return err_set(err, ERR_VALIDATION, "fields",
                       "\"%s\" must hold a list of {\"id\", \"type\"} objects", path);
    }
    return 0;
}

/* The reading options of the command line (cli_ingest_options). */
static int read_options(const struct cli_args *a, struct ingest_options *o)
{
    return cli_ingest_options("ingest", opts, ARRAY_SIZE(opts), a, o);
}

static void print_summary(const char *file, const char *rid, json_t *report)
{
    const char *delim = json_string_value(json_object_get(report, "delimiter"));
    const char *enc = json_string_value(json_object_get(report, "encoding"));
    const char *sheet = json_string_value(json_object_get(report, "sheet"));
    json_t *timings;

    printf("ingested %s into resource %s: %" JSON_INTEGER_FORMAT " rows, %zu fields (%s", file, rid,
           json_integer_value(json_object_get(report, "rows")),
           json_array_size(json_object_get(report, "fields")),
           json_string_value(json_object_get(report, "format")));
    if (enc)
        printf(", %s", enc);
    if (delim)
        printf(", delimiter %s", !strcmp(delim, "\t") ? "tab" : delim);
    if (sheet)
        printf(", sheet \"%s\"", sheet);
    if (json_integer_value(json_object_get(report, "skipped_rows")))
        printf(", %" JSON_INTEGER_FORMAT " rows skipped",
               json_integer_value(json_object_get(report, "skipped_rows")));
    if (json_integer_value(json_object_get(report, "ragged_rows")))
        printf(", %" JSON_INTEGER_FORMAT " ragged rows",
               json_integer_value(json_object_get(report, "ragged_rows")));
    timings = json_object_get(report, "timings");
    printf("); %.2f s (table served after %.2f s, then the full-text index %.2f s)\n",
           json_real_value(json_object_get(report, "seconds")),
           json_real_value(json_object_get(timings, "typing")) +
                   json_real_value(json_object_get(timings, "loading")),
           json_real_value(json_object_get(timings, "fulltext_index")));
}

/* A table the publish gate blocks is ingested all the same, but not published: says so
 * on stderr (docs/internals/privacy-gate.md, "The gate"). */
static void gate_warning(const json_t *report)
{
    const json_t *gate = json_object_get(json_object_get(report, "privacy"), "gate");

    if (!str_eq(json_string_value(json_object_get(gate, "status")), "blocked"))
        return;
    fprintf(stderr,
            "kaifang ingest: warning: the privacy gate blocks this table (%s): while its "
            "dataset is public the resource is withheld from the public, and a private dataset "
            "cannot be made public with it, until it is de-identified or an approver overrides "
            "the gate (datastore_privacy_override)\n",
            json_string_value(json_object_get(gate, "message"))
                    ? json_string_value(json_object_get(gate, "message"))
                    : "blocked");
}

int cmd_ingest(int argc, char **argv)
{
    struct datastore_ingest_request req;
    struct ingest_options o = INGEST_OPTIONS_INIT;
    struct portal p = {0};
    struct catalog c;
    struct datastore *ds = NULL;
    struct actor actor;
    struct err err = ERR_INIT;
    struct cli_args args;
    json_t *fields = NULL, *report = NULL;
    bool have_catalog = false, as_json;
    const char *rid, *fields_path;
    int ret;

    memset(&actor, 0, sizeof(actor));
    memset(&req, 0, sizeof(req));
    ret = cli_parse("ingest", "ingest", opts, ARRAY_SIZE(opts), argc, argv, 1, 1, "FILE", &args);
    if (ret)
        goto out;
    rid = OPT("resource");
    if (!rid || !*rid) {
        ret = cli_usage("ingest", "ingest", "missing option \"--resource ID\"");
        goto out;
    }
    ret = read_options(&args, &o);
    if (ret)
        goto out;
    as_json = OPT("json") != NULL;
    fields_path = OPT("fields");
    if (fields_path && read_fields(fields_path, &fields, &err)) {
        ret = cli_fail("ingest", &err);
        goto out;
    }
    if (portal_open(&p, portal_dir_choose(args.value[0]), &err) ||
        cli_actor(p.store, &actor, &err)) {
        ret = cli_fail("ingest", &err);
        goto out;
    }
    catalog_init(&c, p.store, p.files_dir, p.cfg.site_url);
    dcat_catalog_derive(&c, &p.cfg);
    c.privacy_k = p.cfg.privacy_k;
    have_catalog = true;
    ds = datastore_new(&c);
    req.resource_id = rid;
    req.path = args.pos[0];
    req.opts = o;
    req.fields = fields;
    ret = datastore_ingest(&c, &actor, &req, &report, &err);
    if (as_json && report) {
        /* The report's only reals are timings in whole microseconds: 15 digits show them
         * exactly (0.042263), where jansson's 17 show a double's noise. */
        char *s = json_dumps(report, JSON_INDENT(2) | JSON_SORT_KEYS | JSON_REAL_PRECISION(15));

        if (s)
            puts(s);
        free(s);
    }
    if (ret) {
        json_int_t line = json_integer_value(json_object_get(report, "line"));
        json_int_t col = json_integer_value(json_object_get(report, "column"));

        /* The place is in most messages already ("line 12: …"); add it when not. */
        if (line > 0 && !strstr(err.msg, "line ")) {
            if (col > 0)
                fprintf(stderr,
                        "kaifang ingest: %s (line %" JSON_INTEGER_FORMAT
                        ", column %" JSON_INTEGER_FORMAT ")\n",
                        err.msg, line, col);
            else
                fprintf(stderr, "kaifang ingest: %s (line %" JSON_INTEGER_FORMAT ")\n", err.msg,
                        line);
            ret = CLI_ERROR;
        } else {
            ret = cli_fail("ingest", &err);
        }
        goto out;
    }
    cli_ledger_integrate(&p, "ingest");
    if (!as_json)
        print_summary(args.pos[0], rid, report);
    gate_warning(report);
    ret = CLI_OK;
out:
    json_decref(fields);
    json_decref(report);
    datastore_free(ds);
    if (have_catalog)
        catalog_release(&c);
    actor_release(&actor);
    portal_close(&p);
    return ret;
}
