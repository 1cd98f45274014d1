/*
 * cmd-init.c - `kaifang init [--portal DIR] [--origin NAME] [--store URL]`: the portal
 * directory, its database and its ledger key pair. --store: sqlite:PATH (the default,
 * sqlite:kaifang.db in the portal) or a PostgreSQL connection URI (postgresql://…, an
 * existing database), recorded in kaifang.conf.
 */
#include "cli/cli-int.h"
#include "ledger/ledger.h"
#include "privacy/policy.h"
#include "core/util.h"

/*
 * A ledger origin as C2SP tlog-checkpoint recommends: a schema-less URL naming the log
 * ("data.example.gov/ledger"), without spaces or '+' (the signed-note key name rules;
 * ledger_key_create() checks those again, with Unicode spaces). 0, or CLI_USAGE with a
 * message naming --origin.
 */
static int origin_check(const char *origin)
{
    const unsigned char *p;

    if (!*origin || strlen(origin) > 255)
        return cli_usage("init", "init", "option \"--origin\" needs 1 to 255 bytes, got %zu",
                         strlen(origin));
    if (strstr(origin, "://"))
        return cli_usage("init", "init",
                         "option \"--origin\": \"%s\" has a scheme; give the URL without it "
                         "(\"data.example.gov/ledger\")",
                         origin);
    if (origin[0] == '/' || origin[0] == '.')
        return cli_usage("init", "init",
                         "option \"--origin\": \"%s\" does not start with a host name", origin);
    for (p = (const unsigned char *)origin; *p; p++) {
        if (*p <= ' ' || *p == 0x7f || *p == '+')
            return cli_usage("init", "init",
                             "option \"--origin\": \"%s\" holds a space, a control character "
                             "or '+'",
                             origin);
    }
    return 0;
}

int cmd_init(int argc, char **argv)
{
    static const struct cli_option opts[] = {{"portal", true}, {"origin", true}, {"store", true}};
    const char *origin;
    char *path = NULL;
    struct portal p = {0};
    struct err err = ERR_INIT;
    struct cli_args args;
    const struct ledger_key *key;
    bool existed = false, key_created = false;
    int ret;

    ret = cli_parse("init", "init", opts, ARRAY_SIZE(opts), argc, argv, 0, 0, "", &args);
    if (ret)
        goto out;
    origin = cli_opt(opts, ARRAY_SIZE(opts), &args, "origin");
    if (origin && (ret = origin_check(origin)))
        goto out;
    if (portal_create(&p, portal_dir_choose(cli_opt(opts, ARRAY_SIZE(opts), &args, "portal")),
                      cli_opt(opts, ARRAY_SIZE(opts), &args, "store"), &existed, &err)) {
        ret = cli_fail("init", &err);
        goto out;
    }
    /* The key pair signs every checkpoint: an existing one is kept, or monitors that
     * pinned its verifier key would see a different log. A new one is named after
     * --origin when given, else after site_url (portal_ledger_key_ensure). */
    path = portal_ledger_key_path(&p);
    if (origin && access(path, F_OK) < 0 && ledger_key_create(path, origin, &err)) {
        ret = cli_fail("init", &err);
        goto out;
    }
    if (portal_ledger_key_ensure(&p, &key_created, &err) || portal_ledger_key(&p, &key, &err)) {
        ret = cli_fail("init", &err);
        goto out;
    }
    if (origin && strcmp(ledger_key_origin(key), origin)) {
        err_set(&err, ERR_VALIDATION, "origin",
                "the portal's ledger key exists with origin \"%s\" and is kept (monitors "
                "pinned it); \"--origin %s\" would be a new log",
                ledger_key_origin(key), origin);
        ret = cli_fail("init", &err);
        goto out;
    }
    /* The key of keyed pseudonymisation (`kaifang anonymize`, privacy/policy.h): made once,
     * 0600, and kept, so that the same value keeps its pseudonym across releases. */
    free(path);
    path = privacy_key_portal_path(p.cfg.portal_dir);
    if (privacy_key_create(path, NULL, &err)) {
        ret = cli_fail("init", &err);
        goto out;
    }
    /* Sign the first checkpoint (size 0) so that /ledger/checkpoint exists at once. */
    cli_ledger_integrate(&p, "init");
    printf("%s portal in %s\n", existed ? "Reinitialized existing" : "Initialized empty",
           p.cfg.portal_dir);
    printf("ledger verifier key%s: %s\n", key_created ? "" : " (kept)", ledger_key_vkey(key));
    ret = CLI_OK;
out:
    free(path);
    portal_close(&p);
    return ret;
}
