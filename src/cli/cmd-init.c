/*
 * cmd-init.c - `kaifang init [--portal DIR]`: the portal directory, its database and its
 * ledger key pair.
 */
#include "cli/cli-int.h"
#include "ledger/ledger.h"
#include "core/util.h"

int cmd_init(int argc, char **argv)
{
    static const struct cli_option opts[] = {{"portal", true}};
    struct portal p = {0};
    struct err err = ERR_INIT;
    struct cli_args args;
    const struct ledger_key *key;
    bool existed = false, key_created = false;
    int ret;

    ret = cli_parse("init", "init", opts, ARRAY_SIZE(opts), argc, argv, 0, 0, "", &args);
    if (ret)
        goto out;
    if (portal_create(&p, portal_dir_choose(cli_opt(opts, ARRAY_SIZE(opts), &args, "portal")),
                      &existed, &err)) {
        ret = cli_fail("init", &err);
        goto out;
    }
    /* The key pair signs every checkpoint: an existing one is kept, or monitors that
     * pinned its verifier key would see a different log. */
    if (portal_ledger_key_ensure(&p, &key_created, &err) || portal_ledger_key(&p, &key, &err)) {
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
    portal_close(&p);
    return ret;
}
