/*
 * cmd-member.c - `kaifang member add ORG USER CAPACITY`, `kaifang member remove ORG USER`.
 */
#include "cli/cli-int.h"
#include "core/util.h"

static const struct cli_option opts[] = {{"portal", true}};

static int member_add(int argc, char **argv)
{
    struct portal p = {0};
    struct err err = ERR_INIT;
    struct cli_args args;
    int ret;

    ret = cli_parse("member add", "member", opts, ARRAY_SIZE(opts), argc, argv, 3, 3,
                    "ORG USER admin|editor|member", &args);
    if (ret)
        goto out;
    if (capacity_parse(args.pos[2]) < 0) {
        ret = cli_usage("member add", "member",
                        "unknown capacity \"%s\" (expected admin, editor or member)", args.pos[2]);
        goto out;
    }
    if (portal_open(&p, portal_dir_choose(args.value[0]), &err) ||
        access_member_set(p.store, args.pos[0], args.pos[1], args.pos[2], &err)) {
        ret = cli_fail("member add", &err);
        goto out;
    }
    cli_ledger_integrate(&p, "member add");
    ret = CLI_OK;
out:
    portal_close(&p);
    return ret;
}

static int member_remove(int argc, char **argv)
{
    struct portal p = {0};
    struct err err = ERR_INIT;
    struct cli_args args;
    int ret;

    ret = cli_parse("member remove", "member", opts, ARRAY_SIZE(opts), argc, argv, 2, 2, "ORG USER",
                    &args);
    if (ret)
        goto out;
    if (portal_open(&p, portal_dir_choose(args.value[0]), &err) ||
        access_member_set(p.store, args.pos[0], args.pos[1], NULL, &err)) {
        ret = cli_fail("member remove", &err);
        goto out;
    }
    cli_ledger_integrate(&p, "member remove");
    ret = CLI_OK;
out:
    portal_close(&p);
    return ret;
}

int cmd_member(int argc, char **argv)
{
    if (argc < 2)
        return cli_usage("member", "member", "missing sub-command: add or remove");
    if (!strcmp(argv[1], "add"))
        return member_add(argc - 1, argv + 1);
    if (!strcmp(argv[1], "remove"))
        return member_remove(argc - 1, argv + 1);
    return cli_usage("member", "member", "unknown sub-command \"%s\" (expected add or remove)",
                     argv[1]);
}
