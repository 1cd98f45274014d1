/*
 * cmd-role.c - `kaifang role add USER ROLE [--org ORG]`, `kaifang role remove USER ROLE
 * [--org ORG]`, `kaifang role list`: the approver, auditor and grantee roles
 * (access_role_set_as(); docs/internals/access.md). The command line acts as its
 * sysadmin user.
 */
#include "cli/cli-int.h"
#include "core/util.h"

static const struct cli_option opts[] = {{"portal", true}, {"org", true}};

static int role_set(int argc, char **argv, bool on)
{
    const char *cmd = on ? "role add" : "role remove";
    struct portal p = {0};
    struct actor a = ACTOR_ANONYMOUS;
    struct err err = ERR_INIT;
    struct cli_args args;
    int ret;

    ret = cli_parse(cmd, "role", opts, ARRAY_SIZE(opts), argc, argv, 2, 2,
                    "USER approver|auditor|grantee", &args);
    if (ret)
        goto out;
    if (!role_valid(args.pos[1])) {
        ret = cli_usage(cmd, "role", "unknown role \"%s\" (expected approver, auditor or grantee)",
                        args.pos[1]);
        goto out;
    }
    if (portal_open(&p, portal_dir_choose(args.value[0]), &err) || cli_actor(p.store, &a, &err) ||
        access_role_set_as(p.store, &a, args.pos[0], args.pos[1], args.value[1], on, &err)) {
        ret = cli_fail_about(cmd, args.pos[0], &err);
        goto out;
    }
    cli_ledger_integrate(&p, cmd);
    ret = CLI_OK;
out:
    actor_release(&a);
    portal_close(&p);
    return ret;
}

static int role_list(int argc, char **argv)
{
    struct portal p = {0};
    struct err err = ERR_INIT;
    struct cli_args args;
    json_t *roles = NULL, *r, *g;
    size_t i;
    int ret;

    ret = cli_parse("role list", "role", opts, 1, argc, argv, 0, 0, "", &args);
    if (ret)
        goto out;
    if (portal_open(&p, portal_dir_choose(args.value[0]), &err) ||
        store_role_list(p.store, &roles, &err)) {
        ret = cli_fail("role list", &err);
        goto out;
    }
    printf("user\trole\torganization\n");
    json_array_foreach (roles, i, r) {
        const char *org = json_string_value(json_object_get(r, "organization"));
        const char *name = "";

        g = NULL;
        /* By name, as the other commands take it; the id when it has gone. */
        if (org && !store_group_get(p.store, true, org, &g, NULL))
            name = json_string_value(json_object_get(g, "name"));
        printf("%s\t%s\t%s\n", json_string_value(json_object_get(r, "user")),
               json_string_value(json_object_get(r, "role")), org ? (name ? name : org) : "");
        json_decref(g);
    }
    ret = CLI_OK;
out:
    json_decref(roles);
    portal_close(&p);
    return ret;
}

int cmd_role(int argc, char **argv)
{
    if (argc < 2)
        return cli_usage("role", "role", "missing sub-command: add, remove or list");
    if (!strcmp(argv[1], "add"))
        return role_set(argc - 1, argv + 1, true);
    if (!strcmp(argv[1], "remove"))
        return role_set(argc - 1, argv + 1, false);
    if (!strcmp(argv[1], "list"))
        return role_list(argc - 1, argv + 1);
    return cli_usage("role", "role", "unknown sub-command \"%s\" (expected add, remove or list)",
                     argv[1]);
}
