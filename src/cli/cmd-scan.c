/*
 * cmd-scan.c - `kaifang scan FILE|RESOURCE_ID [options]` (or `--resource ID`): finds
 * personal data in a table (privacy/detect.h) and prints the report: per column its
 * class, the detectors that fired with their counts, the share of values and masked
 * examples; with --json the JSON report. Reads files as `kaifang ingest` does (same
 * options). Exits 0 when the scan ran, whatever it found; 1 when the file cannot be
 * read, naming the place.
 */
#include <jansson.h>

#include "catalog/catalog.h"
#include "cli/cli-int.h"
#include "dcat/dcat.h"
#include "core/buf.h"
#include "core/parse.h"
#include "ingest/ingest.h"
#include "privacy/detect.h"
#include "privacy/kclass.h"
#include "core/util.h"

static const struct cli_option opts[] = {
        {"portal", true},    {"resource", true}, {"format", true},    {"encoding", true},
        {"delimiter", true}, {"sheet", true},    {"skip-rows", true}, {"lenient", false},
        {"json", false},     {"k", true},
};

#define OPT(name) cli_opt(opts, ARRAY_SIZE(opts), &args, name)

/* The reading options of the command line (cli_ingest_options). */
static int read_options(const struct cli_args *a, struct ingest_options *o)
{
    return cli_ingest_options("scan", opts, ARRAY_SIZE(opts), a, o);
}

/* Prints a reading error with its place (unless the message names it already). */
static int fail_at(const char *what, const struct ingest_pos *pos, const struct err *err)
{
    if (pos->line && !strstr(err->msg, "line ")) {
        if (pos->column)
            fprintf(stderr, "kaifang scan: %s: %s (line %" PRIu64 ", column %" PRIu64 ")\n", what,
                    err->msg, pos->line, pos->column);
        else
            fprintf(stderr, "kaifang scan: %s: %s (line %" PRIu64 ")\n", what, err->msg, pos->line);
    } else {
        fprintf(stderr, "kaifang scan: %s: %s\n", what, err->msg);
    }
    return CLI_ERROR;
}

/* The stored file of resource rid in the portal: its path and name in *f. */
static int resource_path(const char *portal_dir, const char *rid, struct resource_file *f,
                         struct err *err)
{
    struct portal p = {0};
    struct catalog c;
    struct actor actor;
    json_t *resource = NULL, *dataset = NULL;
    bool have_catalog = false;
    int ret;

    memset(&actor, 0, sizeof(actor));
    ret = portal_open(&p, portal_dir, err);
    if (ret)
        goto out;
    ret = cli_actor(p.store, &actor, err);
    if (ret)
        goto out;
    catalog_init(&c, p.store, p.files_dir, p.cfg.site_url);
    dcat_catalog_derive(&c, &p.cfg);
    c.privacy_k = p.cfg.privacy_k;
    have_catalog = true;
    ret = catalog_resource_authorize(&c, &actor, rid, false, &resource, &dataset, err);
    if (ret)
        goto out;
    ret = catalog_resource_file(&c, &actor, json_string_value(json_object_get(dataset, "name")),
                                rid, f, err);
    /* A restricted resource's file is encrypted at rest: scan a decrypted copy. */
    if (!ret)
        ret = catalog_resource_file_plain(&c, f, err);
    if (ret == -ERR_NOT_FOUND)
        ret = err_set(err, ERR_NOT_FOUND, "resource",
                      "resource \"%s\" has no stored file (a link is not scanned)", rid);
out:
    json_decref(resource);
    json_decref(dataset);
    if (have_catalog)
        catalog_release(&c);
    actor_release(&actor);
    portal_close(&p);
    return ret;
}

/* Counts the equivalence classes of the columns the scan classed as quasi-identifiers
 * (a second pass over t) and adds to report what the portal's privacy report says of
 * them: "quasi_identifiers", "k" (null without any), "classes", "rows_below_k": {"k",
 * "rows"} (docs/internals/privacy-gate.md). */
static int count_k(struct ingest_table *t, const struct detect_scan *sc, unsigned k_required,
                   json_t *report, struct err *err)
{
    json_t *qis = json_array();
    size_t *idx = xcalloc(sc->ncolumns ? sc->ncolumns : 1, sizeof(*idx)), nq = 0;
    struct dsvalue *row = NULL;
    const struct dsvalue *values;
    struct kclass *kc = NULL;
    int ret = 0;

    for (size_t i = 0; i < sc->ncolumns; i++)
        if (sc->columns[i].cls == DETECT_CLASS_QUASI) {
            idx[nq++] = i;
            json_array_append_new(qis, json_string(sc->columns[i].name));
        }
    json_object_set_new(report, "quasi_identifiers", qis);
    if (nq && sc->rows) {
        int r = ingest_table_rewind(t, err);

        kc = kclass_new(nq);
        row = xcalloc(nq, sizeof(*row));
        while (!r && (r = ingest_table_next(t, &values, NULL, err)) > 0) {
            for (size_t j = 0; j < nq; j++)
                row[j] = values[idx[j]];
            kclass_add(kc, row);
            r = 0;
        }
        ret = r < 0 ? r : 0;
    }
    if (!ret && kc && kclass_rows(kc)) {
        json_object_set_new(report, "k", json_integer((json_int_t)kclass_min(kc)));
        json_object_set_new(report, "classes", json_integer((json_int_t)kclass_classes(kc)));
        json_object_set_new(report, "rows_below_k",
                            json_pack("{s:I,s:I}", "k", (json_int_t)k_required, "rows",
                                      (json_int_t)kclass_rows_below(kc, k_required)));
    } else {
        json_object_set_new(report, "k", json_null());
    }
    kclass_free(kc);
    free(row);
    free(idx);
    return ret;
}

/* The k to hold tables to: --k, else the portal's privacy_k when there is a portal,
 * else 5 (kaifang.conf's default). CLI_USAGE when --k is not 1 … 1000. */
static int k_required(const struct cli_args *a, unsigned *k)
{
    struct cli_args args = *a;
    const char *given = OPT("k");
    struct portal p = {0};
    struct err ignored = ERR_INIT;
    uint64_t n;

    *k = 5;
    if (given) {
        if (parse_u64(given, 1000, &n) || n < 1)
            return cli_usage("scan", "scan",
                             "option \"--k\": \"%s\" is not an integer from 1 to 1000", given);
        *k = (unsigned)n;
        return 0;
    }
    if (!portal_open(&p, portal_dir_choose(OPT("portal")), &ignored))
        *k = p.cfg.privacy_k;
    portal_close(&p);
    return 0;
}

int cmd_scan(int argc, char **argv)
{
    struct ingest_options o = INGEST_OPTIONS_INIT;
    struct ingest_table *t = NULL;
    struct ingest_pos pos = {0, 0};
    struct resource_file rf;
    struct detect_scan sc;
    struct err err = ERR_INIT;
    struct buf text = BUF_INIT;
    struct cli_args args;
    const char *path, *filename, *rid;
    json_t *report = NULL;
    unsigned k = 5;
    int ret;

    memset(&rf, 0, sizeof(rf));
    memset(&sc, 0, sizeof(sc));
    ret = cli_parse("scan", "scan", opts, ARRAY_SIZE(opts), argc, argv, 0, 1, "FILE", &args);
    if (ret)
        goto out;
    rid = OPT("resource");
    /* `kaifang scan RESOURCE_ID`: an argument that names no file but a resource of the
     * portal (a UUID). */
    if (!rid && args.npos == 1 && access(args.pos[0], F_OK) && strlen(args.pos[0]) == 36 &&
        strspn(args.pos[0], "0123456789abcdef-") == 36) {
        rid = args.pos[0];
        args.npos = 0;
    }
    if (!rid == !args.npos) {
        ret = cli_usage("scan", "scan", "give either FILE or \"--resource ID\"");
        goto out;
    }
    ret = read_options(&args, &o);
    if (!ret)
        ret = k_required(&args, &k);
    if (ret)
        goto out;
    if (rid) {
        if (resource_path(portal_dir_choose(OPT("portal")), rid, &rf, &err)) {
            ret = cli_fail("scan", &err);
            goto out;
        }
        path = rf.path;
        filename = rf.filename;
    } else {
        path = args.pos[0];
        filename = args.pos[0];
    }
    if (ingest_table_open_pos(&t, path, filename, &o, &pos, &err)) {
        ret = fail_at(filename, &pos, &err);
        goto out;
    }
    if (detect_scan_table(t, &sc, &err)) {
        ingest_table_pos(t, &pos);
        ret = fail_at(filename, &pos, &err);
        goto out;
    }
    report = detect_scan_json(&sc);
    if (count_k(t, &sc, k, report, &err)) {
        ingest_table_pos(t, &pos);
        ret = fail_at(filename, &pos, &err);
        goto out;
    }
    if (OPT("json")) {
        char *s = json_dumps(report, JSON_INDENT(2) | JSON_REAL_PRECISION(10));

        if (s)
            puts(s);
        free(s);
    } else {
        const json_t *kv = json_object_get(report, "k");
        size_t i;
        json_t *q;

        detect_scan_text(&sc, &text);
        fputs(text.buf, stdout);
        if (!json_is_integer(kv)) {
            printf("k: no quasi-identifier found\n");
        } else {
            printf("k = %" JSON_INTEGER_FORMAT " over the quasi-identifiers ",
                   json_integer_value(kv));
            json_array_foreach (json_object_get(report, "quasi_identifiers"), i, q)
                printf("%s%s", i ? ", " : "", json_string_value(q));
            printf(": %" JSON_INTEGER_FORMAT " equivalence classes; %" JSON_INTEGER_FORMAT
                   " rows in classes smaller than k = %u%s\n",
                   json_integer_value(json_object_get(report, "classes")),
                   json_integer_value(
                           json_object_get(json_object_get(report, "rows_below_k"), "rows")),
                   k, json_integer_value(kv) >= (json_int_t)k ? "" : " (below the required k)");
        }
    }
    ret = CLI_OK;
out:
    json_decref(report);
    buf_release(&text);
    detect_scan_release(&sc);
    ingest_table_free(t);
    resource_file_release(&rf);
    return ret;
}
