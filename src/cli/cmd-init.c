/*
 * cmd-init.c - `kaifang init [--portal DIR]`.
 */
#include "cli/cli-int.h"
#include "core/util.h"

int cmd_init(int argc, char **argv)
{
    static const struct cli_option opts[] = {{"portal", true}};
    struct portal p = {0};
    struct err err = ERR_INIT;
    struct cli_args args;
    bool existed = false;
    int ret;

    ret = cli_parse("init", "init", opts, ARRAY_SIZE(opts), argc, argv, 0, 0, "", &args);
    if (ret)
        goto out;
    if (portal_create(&p, portal_dir_choose(cli_opt(opts, ARRAY_SIZE(opts), &args, "portal")),
                      &existed, &err)) {
        ret = cli_fail("init", &err);
        goto out;
    }
    printf("%s portal in %s\n", existed ? "Reinitialized existing" : "Initialized empty",
           p.cfg.portal_dir);
    ret = CLI_OK;
out:
    portal_close(&p);
    return ret;
}
