/*
 * cmd-user.c - `kaifang user add NAME …`, `kaifang user list`.
 */
#include "cli/cli-int.h"
#include "core/util.h"

static int user_add(int argc, char **argv)
{
    static const struct cli_option opts[] = {
            {"portal", true},
            {"sysadmin", false},
            {"email", true},
            {"fullname", true},
    };
    struct portal p = {0};
    struct err err = ERR_INIT;
    struct cli_args args;
    json_t *user = NULL;
    int ret;

    ret = cli_parse("user add", "user", opts, ARRAY_SIZE(opts), argc, argv, 1, 1, "NAME", &args);
    if (ret)
        goto out;
    if (portal_open(&p, portal_dir_choose(args.value[0]), &err)) {
        ret = cli_fail("user add", &err);
        goto out;
    }
    if (access_user_add(p.store, args.pos[0], cli_opt(opts, ARRAY_SIZE(opts), &args, "email"),
                        cli_opt(opts, ARRAY_SIZE(opts), &args, "fullname"),
                        cli_opt(opts, ARRAY_SIZE(opts), &args, "sysadmin") != NULL, &user, &err)) {
        ret = cli_fail_about("user add", args.pos[0], &err);
        goto out;
    }
    cli_ledger_integrate(&p, "user add");
    printf("%s\t%s\n", json_string_value(json_object_get(user, "name")),
           json_string_value(json_object_get(user, "id")));
    ret = CLI_OK;
out:
    json_decref(user);
    portal_close(&p);
    return ret;
}

static const char *str_or_empty(json_t *obj, const char *key)
{
    const char *s = json_string_value(json_object_get(obj, key));

    return s ? s : "";
}

static int user_list(int argc, char **argv)
{
    static const struct cli_option opts[] = {{"portal", true}};
    struct portal p = {0};
    struct err err = ERR_INIT;
    struct cli_args args;
    json_t *users = NULL, *u;
    size_t i;
    int ret;

    ret = cli_parse("user list", "user", opts, ARRAY_SIZE(opts), argc, argv, 0, 0, "", &args);
    if (ret)
        goto out;
    if (portal_open(&p, portal_dir_choose(args.value[0]), &err) ||
        store_user_list(p.store, &users, &err)) {
        ret = cli_fail("user list", &err);
        goto out;
    }
    /* Tab-separated with a header: readable, and `cut -f` works. */
    printf("name\tsysadmin\tstate\temail\tfullname\n");
    json_array_foreach (users, i, u) {
        printf("%s\t%s\t%s\t%s\t%s\n", str_or_empty(u, "name"),
               json_is_true(json_object_get(u, "sysadmin")) ? "yes" : "no",
               str_or_empty(u, "state"), str_or_empty(u, "email"), str_or_empty(u, "fullname"));
    }
    ret = CLI_OK;
out:
    json_decref(users);
    portal_close(&p);
    return ret;
}

int cmd_user(int argc, char **argv)
{
    if (argc < 2)
        return cli_usage("user", "user", "missing sub-command: add or list");
    if (!strcmp(argv[1], "add"))
        return user_add(argc - 1, argv + 1);
    if (!strcmp(argv[1], "list"))
        return user_list(argc - 1, argv + 1);
    return cli_usage("user", "user", "unknown sub-command \"%s\" (expected add or list)", argv[1]);
}
