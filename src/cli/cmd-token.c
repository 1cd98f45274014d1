/*
 * cmd-token.c - `kaifang token create NAME [--label L]`, `kaifang token revoke ID`.
 */
#include "cli/cli-int.h"
#include "crypto/secret.h"
#include "core/util.h"

static int token_create(int argc, char **argv)
{
    static const struct cli_option opts[] = {{"portal", true}, {"label", true}};
    struct portal p = {0};
    struct err err = ERR_INIT;
    struct cli_args args;
    char token[TOKEN_STR_MAX], id[UUID_STR_LEN];
    int ret;

    ret = cli_parse("token create", "token", opts, ARRAY_SIZE(opts), argc, argv, 1, 1, "NAME",
                    &args);
    if (ret)
        goto out;
    if (portal_open(&p, portal_dir_choose(args.value[0]), &err)) {
        ret = cli_fail("token create", &err);
        goto out;
    }
    if (access_token_create(p.store, args.pos[0], cli_opt(opts, ARRAY_SIZE(opts), &args, "label"),
                            token, id, &err)) {
        ret = cli_fail_about("token create", args.pos[0], &err);
        goto out;
    }
    cli_ledger_integrate(&p, "token create");
    /* The token alone on stdout, so that TOKEN=$(kaifang token create bob) works. */
    printf("%s\n", token);
    fflush(stdout);
    fprintf(stderr, "kaifang: token id %s (for kaifang token revoke)\n", id);
    secret_wipe(token, sizeof(token));
    ret = CLI_OK;
out:
    portal_close(&p);
    return ret;
}

static int token_revoke(int argc, char **argv)
{
    static const struct cli_option opts[] = {{"portal", true}};
    struct portal p = {0};
    struct err err = ERR_INIT;
    struct cli_args args;
    int ret;

    ret = cli_parse("token revoke", "token", opts, ARRAY_SIZE(opts), argc, argv, 1, 1, "TOKEN_ID",
                    &args);
    if (ret)
        goto out;
    if (portal_open(&p, portal_dir_choose(args.value[0]), &err) ||
        access_token_revoke(p.store, args.pos[0], &err)) {
        ret = cli_fail("token revoke", &err);
        goto out;
    }
    cli_ledger_integrate(&p, "token revoke");
    ret = CLI_OK;
out:
    portal_close(&p);
    return ret;
}

int cmd_token(int argc, char **argv)
{
    if (argc < 2)
        return cli_usage("token", "token", "missing sub-command: create or revoke");
    if (!strcmp(argv[1], "create"))
        return token_create(argc - 1, argv + 1);
    if (!strcmp(argv[1], "revoke"))
        return token_revoke(argc - 1, argv + 1);
    return cli_usage("token", "token", "unknown sub-command \"%s\" (expected create or revoke)",
                     argv[1]);
}
