/*
 * cmd-audit.c - `kaifang audit`: the audit report of a portal (JSON, CSV or HTML), the
 * import of a charges file, and fee schedules (create, approve, list, show), through
 * src/audit/ as the CLI's sysadmin actor or, with --as, as a named user (the two-person
 * rule is about people: the approver must not be the creator).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "access/grant.h"
#include "api/api.h"
#include "audit/audit.h"
#include "catalog/catalog.h"
#include "cli/cli-int.h"
#include "core/limits.h"
#include "core/util.h"
#include "datastore/datastore.h"
#include "store/store-audit.h"
#include "web/ui.h"

/* The actor: the named user (--as) or the CLI's own sysadmin. */
static int actor_get(struct portal *p, const char *as, struct actor *a, struct err *err)
{
    if (as)
        return access_actor_from_user(p->store, as, a, err);
    return cli_actor(p->store, a, err);
}

static void print_json(const json_t *v)
{
    char *s = json_dumps(v, JSON_INDENT(2) | JSON_SORT_KEYS);

    if (s)
        printf("%s\n", s);
    free(s);
}

/* Reads a whole file of at most LIMIT_AUDIT_CHARGES_BYTES into *data (free it). */
static int read_all(const char *path, char **data, size_t *len, struct err *err)
{
    FILE *f = fopen(path, "rb");
    struct buf b = BUF_INIT;
    char chunk[65536];
    size_t n;
    int rc = 0;

    *data = NULL;
    *len = 0;
    if (!f)
        return err_set(err, ERR_NOT_FOUND, "file", "cannot open \"%s\": %s", path, strerror(errno));
    while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0) {
        if (b.len + n > LIMIT_AUDIT_CHARGES_BYTES) {
            rc = err_set(err, ERR_TOO_LARGE, "file", "\"%s\" is larger than %llu bytes", path,
                         (unsigned long long)LIMIT_AUDIT_CHARGES_BYTES);
            break;
        }
        buf_add(&b, chunk, n);
    }
    if (!rc && ferror(f))
        rc = err_set(err, ERR_INTERNAL, "file", "cannot read \"%s\"", path);
    fclose(f);
    if (rc)
        buf_release(&b);
    else
        *data = buf_detach(&b, len);
    return rc;
}

static int audit_run(int argc, char **argv)
{
    static const struct cli_option opts[] = {
            {"portal", true},
            {"format", true},
            {"proofs", false},
            {"output", true},
    };
    struct portal p = {0};
    struct err err = ERR_INIT;
    struct cli_args args;
    struct audit_options o = {0};
    struct buf out = BUF_INIT;
    json_t *report = NULL;
    const char *format, *output;
    char *text = NULL;
    FILE *f = stdout;
    char *av[32];
    int ret, i;

    /* "-o FILE" is "--output FILE" */
    for (i = 0; i < argc && i < (int)ARRAY_SIZE(av); i++)
        av[i] = !strcmp(argv[i], "-o") ? (char *)"--output" : argv[i];
    ret = cli_parse("audit", "audit", opts, ARRAY_SIZE(opts), i, av, 0, 0, "", &args);
    if (ret)
        goto out;
    format = cli_opt(opts, ARRAY_SIZE(opts), &args, "format");
    output = cli_opt(opts, ARRAY_SIZE(opts), &args, "output");
    if (!format)
        format = "json";
    if (!str_eq(format, "json") && !str_eq(format, "csv") && !str_eq(format, "html")) {
        ret = cli_usage("audit", "audit", "option \"--format\": \"%s\" is not json, csv or html",
                        format);
        goto out;
    }
    o.proofs = cli_opt(opts, ARRAY_SIZE(opts), &args, "proofs") != NULL;
    o.site_url = NULL;
    if (portal_open(&p, portal_dir_choose(args.value[0]), &err)) {
        ret = cli_fail("audit", &err);
        goto out;
    }
    /* Sign what is staged first, so that every entry the report names has a proof. */
    cli_ledger_integrate(&p, "audit");
    if (audit_report(p.store, &o, &report, &err)) {
        ret = cli_fail("audit", &err);
        goto out;
    }
    if (str_eq(format, "json")) {
        text = json_dumps(report, JSON_INDENT(2) | JSON_SORT_KEYS);
        buf_addstr(&out, text ? text : "");
        buf_addch(&out, '\n');
    } else if (str_eq(format, "csv")) {
        audit_report_csv(report, &out);
    } else {
        ui_audit_render(report, &out);
    }
    if (output && !(f = fopen(output, "wb"))) {
        err_set(&err, ERR_INTERNAL, "output", "cannot write \"%s\": %s", output, strerror(errno));
        f = stdout;
        ret = cli_fail("audit", &err);
        goto out;
    }
    if (fwrite(out.buf, 1, out.len, f) != out.len || fflush(f)) {
        err_set(&err, ERR_INTERNAL, "output", "cannot write the report");
        ret = cli_fail("audit", &err);
        goto out;
    }
    ret = CLI_OK;
out:
    if (f != stdout)
        fclose(f);
    free(text);
    buf_release(&out);
    json_decref(report);
    portal_close(&p);
    return ret;
}

static int import_charges(int argc, char **argv)
{
    static const struct cli_option opts[] = {
            {"portal", true},
    };
    struct portal p = {0};
    struct err err = ERR_INIT;
    struct cli_args args;
    struct actor actor;
    char *data = NULL;
    size_t len = 0;
    uint64_t count = 0;
    int ret;

    memset(&actor, 0, sizeof(actor));
    ret = cli_parse("audit import-charges", "audit", opts, ARRAY_SIZE(opts), argc, argv, 1, 1,
                    "FILE.csv", &args);
    if (ret)
        goto out;
    if (read_all(args.pos[0], &data, &len, &err) ||
        portal_open(&p, portal_dir_choose(args.value[0]), &err) ||
        cli_actor(p.store, &actor, &err)) {
        ret = cli_fail("audit import-charges", &err);
        goto out;
    }
    if (audit_charges_import(p.store, &actor, data, len, &count, &err)) {
        fprintf(stderr, "kaifang audit import-charges: %s: %s (nothing was imported)\n",
                args.pos[0], err.msg);
        ret = CLI_ERROR;
        goto out;
    }
    cli_ledger_integrate(&p, "audit import-charges");
    printf("%llu charges imported\n", (unsigned long long)count);
    ret = CLI_OK;
out:
    free(data);
    actor_release(&actor);
    portal_close(&p);
    return ret;
}

static int schedule_cmd(int argc, char **argv)
{
    static const struct cli_option opts[] = {
            {"portal", true},      {"as", true},           {"organization", true},
            {"service", true},     {"unit", true},         {"price", true},
            {"legal-basis", true}, {"period-start", true}, {"period-end", true},
            {"pending", false},
    };
    static const char *const keys[][2] = {
            {"organization", "organization"},
            {"service", "service"},
            {"unit", "unit"},
            {"price", "price"},
            {"legal-basis", "legal_basis"},
            {"period-start", "period_start"},
            {"period-end", "period_end"},
    };
    const char *sub = argc > 1 ? argv[1] : NULL, *as;
    struct portal p = {0};
    struct err err = ERR_INIT;
    struct cli_args args;
    struct actor actor;
    json_t *params = NULL, *result = NULL;
    bool list;
    char cmd[64];
    int ret;

    memset(&actor, 0, sizeof(actor));
    if (!sub)
        return cli_usage("audit schedule", "audit",
                         "missing sub-command: create, approve, list or show");
    if (!str_eq(sub, "create") && !str_eq(sub, "approve") && !str_eq(sub, "list") &&
        !str_eq(sub, "show"))
        return cli_usage("audit schedule", "audit",
                         "unknown sub-command \"%s\" (expected create, approve, list or show)",
                         sub);
    xsnprintf(cmd, sizeof(cmd), "audit schedule %s", sub);
    list = str_eq(sub, "list");
    ret = cli_parse(cmd, "audit", opts, ARRAY_SIZE(opts), argc - 1, argv + 1, list ? 0 : 1,
                    list ? 0 : 1, "NAME", &args);
    if (ret)
        goto out;
    as = cli_opt(opts, ARRAY_SIZE(opts), &args, "as");
    if (portal_open(&p, portal_dir_choose(args.value[0]), &err) ||
        actor_get(&p, as, &actor, &err)) {
        ret = cli_fail(cmd, &err);
        goto out;
    }
    if (str_eq(sub, "create")) {
        params = json_object();
        if (json_object_set_new(params, "name", json_string(args.pos[0]))) {
            err_set(&err, ERR_VALIDATION, NULL, "arguments must be valid UTF-8");
            ret = cli_fail(cmd, &err);
            goto out;
        }
        for (size_t i = 0; i < ARRAY_SIZE(keys); i++) {
            const char *v = cli_opt(opts, ARRAY_SIZE(opts), &args, keys[i][0]);

            if (v && json_object_set_new(params, keys[i][1], json_string(v))) {
                err_set(&err, ERR_VALIDATION, NULL, "arguments must be valid UTF-8");
                ret = cli_fail(cmd, &err);
                goto out;
            }
        }
        ret = audit_schedule_create(p.store, &actor, params, &result, &err);
    } else if (str_eq(sub, "approve")) {
        ret = audit_schedule_approve(p.store, &actor, args.pos[0], &result, &err);
    } else if (list) {
        ret = audit_schedule_list(
                p.store, &actor, cli_opt(opts, ARRAY_SIZE(opts), &args, "organization"),
                cli_opt(opts, ARRAY_SIZE(opts), &args, "pending") != NULL, &result, &err);
    } else {
        ret = audit_schedule_show(p.store, &actor, args.pos[0], &result, &err);
    }
    if (ret) {
        ret = err.field[0] && !str_eq(err.field, "file") && err.kind == ERR_VALIDATION
                      ? (fprintf(stderr, "kaifang %s: %s: %s\n", cmd, err.field, err.msg),
                         CLI_ERROR)
                      : cli_fail(cmd, &err);
        goto out;
    }
    if (!list && !str_eq(sub, "show"))
        cli_ledger_integrate(&p, cmd);
    print_json(result);
    ret = CLI_OK;
out:
    json_decref(params);
    json_decref(result);
    actor_release(&actor);
    portal_close(&p);
    return ret;
}

int cmd_audit(int argc, char **argv)
{
    if (argc >= 2 && str_eq(argv[1], "import-charges"))
        return import_charges(argc - 1, argv + 1);
    if (argc >= 2 && str_eq(argv[1], "schedule"))
        return schedule_cmd(argc - 1, argv + 1);
    if (argc >= 2 && argv[1][0] != '-')
        return cli_usage("audit", "audit",
                         "unknown sub-command \"%s\" (expected import-charges or schedule)",
                         argv[1]);
    return audit_run(argc, argv);
}

/* ---- The demo's fees (kaifang demo) -------------------------------------------------- */

#define DEMO_SCHEDULE "demo-copy-fee"

static int demo_org(struct catalog *c, struct actor *a, const char *name, const char *title,
                    struct err *err)
{
    json_t *params = json_pack("{s:s, s:s}", "name", name, "title", title), *res = NULL;
    json_t *doc = NULL;
    int rc;

    if (!store_group_get(c->store, true, name, &doc, err)) {
        json_decref(doc);
        json_decref(params);
        return 0;
    }
    err_clear(err);
    rc = catalog_organization_create(c, a, params, &res, err);
    json_decref(params);
    json_decref(res);
    return rc;
}

static int demo_user(struct store *s, const char *name, struct err *err)
{
    json_t *u = NULL;

    if (!store_user_get(s, name, &u, err)) {
        json_decref(u);
        return 0;
    }
    err_clear(err);
    return access_user_add(s, name, NULL, NULL, false, NULL, err);
}

/* The demo's restricted table: a register of who asked the standards institute for
 * copies (made-up businesses and people), restricted; a grant on three of its columns. */
#define DEMO_RESTRICTED "demo-standards-copy-requests"

static const struct {
    const char *date, *requester, *district;
    int pages;
} demo_register[] = {
        {"2024-03-04", "某某建材有限公司 (made up)", "东城区", 12},
        {"2024-03-11", "张某某 (made up)", "西城区", 3},
        {"2024-04-02", "某某检测技术服务中心 (made up)", "东城区", 40},
        {"2024-05-20", "李某 (made up)", "朝阳区", 7},
        {"2024-06-15", "某某电器股份有限公司 (made up)", "朝阳区", 25},
        {"2024-07-01", "王某某 (made up)", "西城区", 2},
};

/* Runs a CKAN action as a: 0 and *result (new reference, may be NULL), or the error of
 * the envelope. */
static int demo_call(struct catalog *c, const struct actor *a, const char *action, json_t *params,
                     json_t **result, struct err *err)
{
    json_t *doc = NULL, *e;
    unsigned status = 0;
    enum err_kind kind = ERR_NONE;
    int rc = 0;

    if (result)
        *result = NULL;
    api_ckan_call(c, a, action, true, params, NULL, &doc, &status, &kind);
    if (status != 200) {
        e = json_object_get(doc, "error");
        rc = err_set(err, kind != ERR_NONE ? kind : ERR_INTERNAL, NULL, "%s: %s (%u)", action,
                     json_string_value(json_object_get(e, "message"))
                             ? json_string_value(json_object_get(e, "message"))
                             : "failed",
                     status);
    } else if (result) {
        *result = json_incref(json_object_get(doc, "result"));
    }
    json_decref(doc);
    json_decref(params);
    return rc;
}

/*
 * The demo's grant (issue 8): a restricted dataset of demo-standards with a table,
 * a grantee account demo-researcher, a grant requested by demo-clerk and approved by
 * demo-approver (the two-person rule), one read under it and one request outside it
 * (refused): a grant on the dataset page, and on /audit a read outside any grant to
 * follow to its ledger entry. Once per portal (the dataset marks it done).
 */
static int demo_grant(struct portal *p, struct catalog *c, struct actor *cli, struct err *err)
{
    struct actor clerk, approver, researcher;
    json_t *doc = NULL, *records = json_array(), *res = NULL, *g = NULL;
    char today[11], until[11];
    const char *rid;
    int rc;

    memset(&clerk, 0, sizeof(clerk));
    memset(&approver, 0, sizeof(approver));
    memset(&researcher, 0, sizeof(researcher));
    if (!store_dataset_get(p->store, DEMO_RESTRICTED, &doc, err)) {
        json_decref(doc);
        json_decref(records);
        return 0;
    }
    err_clear(err);
    for (size_t i = 0; i < ARRAY_SIZE(demo_register); i++)
        json_array_append_new(
                records, json_pack("{s:s, s:s, s:s, s:i}", "date", demo_register[i].date,
                                   "requester", demo_register[i].requester, "district",
                                   demo_register[i].district, "pages", demo_register[i].pages));
    grant_today(today);
    xsnprintf(until, sizeof(until), "%04ld-12-31", strtol(today, NULL, 10) + 1);
    rc = demo_user(p->store, "demo-researcher", err);
    if (!rc)
        rc = access_role_set_as(p->store, cli, "demo-researcher", ROLE_GRANTEE, NULL, true, err);
    if (!rc)
        rc = access_actor_from_user(p->store, "demo-clerk", &clerk, err);
    if (!rc)
        rc = access_actor_from_user(p->store, "demo-approver", &approver, err);
    if (!rc)
        rc = access_actor_from_user(p->store, "demo-researcher", &researcher, err);
    if (!rc)
        rc = demo_call(c, &clerk, "package_create",
                       json_pack("{s:s, s:s, s:s, s:s, s:s}", "name", DEMO_RESTRICTED, "title",
                                 "Register of requests for copies (restricted, demo)", "notes",
                                 "Who asked the institute for copies of standard texts: names "
                                 "of people and businesses (all made up), so the register is "
                                 "restricted; its data is read only under a grant.",
                                 "owner_org", "demo-standards", "access_level",
                                 "restricted public"),
                       NULL, err);
    if (!rc)
        rc = demo_call(c, &clerk, "datastore_create",
                       json_pack("{s:{s:s, s:s}, s:[{s:s, s:s}, {s:s, s:s}, {s:s, s:s}, {s:s, "
                                 "s:s}], s:o}",
                                 "resource", "package_id", DEMO_RESTRICTED, "name", "copy requests",
                                 "fields", "id", "date", "type", "date", "id", "requester", "type",
                                 "text", "id", "district", "type", "text", "id", "pages", "type",
                                 "int", "records", json_incref(records)),
                       &res, err);
    if (rc)
        goto out;
    rid = json_string_value(json_object_get(res, "resource_id"));
    rc = demo_call(c, &clerk, "grant_request",
                   json_pack("{s:s, s:s, s:s, s:s, s:[s, s, s], s:s, s:s}", "dataset",
                             DEMO_RESTRICTED, "grantee", "demo-researcher", "purpose",
                             "count requests per district and month (demo)", "legal_basis",
                             "a made-up data-sharing rule of the demo", "columns", "date",
                             "district", "pages", "valid_from", today, "valid_until", until),
                   &g, err);
    if (!rc)
        rc = demo_call(c, &approver, "grant_approve",
                       json_pack("{s:O, s:s}", "id", json_object_get(g, "id"), "note",
                                 "statistics only, no names"),
                       NULL, err);
    /* A read under the grant, and one outside it (the requester column is not granted:
     * refused, and recorded as a refusal). */
    if (!rc)
        rc = demo_call(c, &researcher, "datastore_search",
                       json_pack("{s:s, s:s}", "resource_id", rid, "fields", "district,pages"),
                       NULL, err);
    if (!rc) {
        struct err refused = ERR_INIT;

        if (demo_call(c, &researcher, "datastore_search",
                      json_pack("{s:s, s:s}", "resource_id", rid, "fields", "requester"), NULL,
                      &refused) != -ERR_AUTH)
            rc = err_set(err, ERR_INTERNAL, NULL,
                         "a read outside the demo's grant was not refused: %s", refused.msg);
    }
    if (!rc)
        fprintf(stderr,
                "kaifang demo: grant %s on %s for demo-researcher, one read under it and "
                "one refused (see /audit)\n",
                json_string_value(json_object_get(g, "id")), DEMO_RESTRICTED);
out:
    json_decref(records);
    json_decref(res);
    json_decref(g);
    actor_release(&clerk);
    actor_release(&approver);
    actor_release(&researcher);
    return rc;
}

int cli_audit_demo(struct portal *p, const char *examples_dir)
{
    struct actor cli, clerk, approver;
    struct catalog c;
    struct datastore *ds = NULL;
    struct err err = ERR_INIT;
    json_t *doc = NULL, *params = NULL;
    char *dir = xstrdup(examples_dir), *file = NULL, *data = NULL;
    size_t len = 0;
    uint64_t count = 0;
    int rc;

    memset(&cli, 0, sizeof(cli));
    memset(&clerk, 0, sizeof(clerk));
    memset(&approver, 0, sizeof(approver));
    catalog_init(&c, p->store, p->files_dir, p->cfg.site_url);
    /* Once per portal: the schedule's presence says the fees are loaded. */
    if (!store_fee_schedule_get(p->store, DEMO_SCHEDULE, &doc, &err)) {
        rc = 0;
        goto grant;
    }
    err_clear(&err);
    /* examples/catalog → examples/audit/charges.csv */
    while (strlen(dir) > 1 && dir[strlen(dir) - 1] == '/')
        dir[strlen(dir) - 1] = '\0';
    if (strrchr(dir, '/'))
        *strrchr(dir, '/') = '\0';
    else
        xsnprintf(dir, strlen(dir) + 1, ".");
    file = xstrfmt("%s/audit/charges.csv", dir);
    rc = read_all(file, &data, &len, &err);
    if (!rc)
        rc = cli_actor(p->store, &cli, &err);
    if (!rc)
        rc = demo_org(&c, &cli, "demo-transport", "某市交通运输局 City Transport Bureau (demo)",
                      &err);
    if (!rc)
        rc = demo_org(&c, &cli, "demo-standards",
                      "某市标准化研究院 City Standards Institute (demo)", &err);
    if (!rc)
        rc = demo_user(p->store, "demo-clerk", &err);
    if (!rc)
        rc = demo_user(p->store, "demo-approver", &err);
    if (!rc)
        rc = access_member_set(p->store, "demo-standards", "demo-clerk", "editor", &err);
    if (!rc)
        rc = access_member_set(p->store, "demo-standards", "demo-approver", "admin", &err);
    if (!rc)
        rc = access_role_set_as(p->store, &cli, "demo-approver", ROLE_APPROVER, "demo-standards",
                                true, &err);
    if (!rc)
        rc = access_actor_from_user(p->store, "demo-clerk", &clerk, &err);
    if (!rc)
        rc = access_actor_from_user(p->store, "demo-approver", &approver, &err);
    if (rc)
        goto out;
    params = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "name", DEMO_SCHEDULE,
                       "organization", "demo-standards", "service",
                       "copies of standard texts (demo)", "unit", "one request", "price", "50.00",
                       "legal_basis", "a made-up price regulation of the demo", "period_start",
                       "2023-01-01", "period_end", "2025-12-31");
    rc = audit_schedule_create(p->store, &clerk, params, NULL, &err);
    if (!rc)
        rc = audit_schedule_approve(p->store, &approver, DEMO_SCHEDULE, NULL, &err);
    if (!rc)
        rc = audit_charges_import(p->store, &cli, data, len, &count, &err);
    if (!rc)
        fprintf(stderr, "kaifang demo: fees loaded: schedule %s, %llu charges (see /audit)\n",
                DEMO_SCHEDULE, (unsigned long long)count);
    if (rc) {
        fprintf(stderr, "kaifang demo: the fees of the demo were not loaded: %s\n", err.msg);
        goto out;
    }
grant:
    /* The restricted table needs the datastore's actions in this process. */
    ds = datastore_new(&c);
    if (!cli.authenticated)
        rc = cli_actor(p->store, &cli, &err);
    if (!rc)
        rc = demo_grant(p, &c, &cli, &err);
    if (rc)
        fprintf(stderr, "kaifang demo: the grant of the demo was not made: %s\n", err.msg);
out:
    json_decref(doc);
    json_decref(params);
    free(dir);
    free(file);
    free(data);
    actor_release(&cli);
    actor_release(&clerk);
    actor_release(&approver);
    datastore_free(ds);
    catalog_release(&c);
    return rc;
}
