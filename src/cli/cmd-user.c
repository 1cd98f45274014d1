/*
 * cmd-user.c - `kaifang user add NAME …`, `kaifang user list`, `kaifang user password NAME`,
 * `kaifang user disable|enable NAME`.
 */
#include "cli/cli-int.h"
#include "core/util.h"

/* Reads a password from the first line of standard input (without its line end) into
 * buf (size ACCESS_PASSWORD_MAX + 2): a password is never an argument, which any user of
 * the machine could read in the process list. */
static int read_password(char *buf, size_t size, struct err *err)
{
    size_t len;

    if (!fgets(buf, (int)size, stdin))
        return err_set(err, ERR_VALIDATION, "password", "no password on standard input");
    len = strcspn(buf, "\r\n");
    if (len == size - 1 && buf[len] == '\0')
        return err_set(err, ERR_VALIDATION, "password", "password longer than %u bytes",
                       ACCESS_PASSWORD_MAX);
    buf[len] = '\0';
    return 0;
}

static int user_add(int argc, char **argv)
{
    static const struct cli_option opts[] = {
            {"portal", true},   {"sysadmin", false},       {"email", true},
            {"fullname", true}, {"password-stdin", false},
    };
    char password[ACCESS_PASSWORD_MAX + 2];
    bool with_password;
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
    with_password = cli_opt(opts, ARRAY_SIZE(opts), &args, "password-stdin") != NULL;
    if (with_password && read_password(password, sizeof(password), &err)) {
        ret = cli_fail("user add", &err);
        goto out;
    }
    if (access_user_add_pw_as(p.store, ACCESS_CLI_ACTOR, args.pos[0],
                              cli_opt(opts, ARRAY_SIZE(opts), &args, "email"),
                              cli_opt(opts, ARRAY_SIZE(opts), &args, "fullname"),
                              cli_opt(opts, ARRAY_SIZE(opts), &args, "sysadmin") != NULL,
                              with_password ? password : NULL, &user, &err)) {
        ret = cli_fail_about("user add", args.pos[0], &err);
        goto out;
    }
    cli_ledger_integrate(&p, "user add");
    printf("%s\t%s\n", json_string_value(json_object_get(user, "name")),
           json_string_value(json_object_get(user, "id")));
    ret = CLI_OK;
out:
    secret_wipe(password, sizeof(password));
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

/* `kaifang user password NAME [--remove]`: sets the password NAME signs in to the web
 * pages with, read from standard input, or removes it. */
static int user_password(int argc, char **argv)
{
    static const struct cli_option opts[] = {{"portal", true}, {"remove", false}};
    char password[ACCESS_PASSWORD_MAX + 2];
    struct actor a = ACTOR_ANONYMOUS;
    struct portal p = {0};
    struct err err = ERR_INIT;
    struct cli_args args;
    bool remove;
    int ret;

    password[0] = '\0';
    ret = cli_parse("user password", "user", opts, ARRAY_SIZE(opts), argc, argv, 1, 1, "NAME",
                    &args);
    if (ret)
        goto out;
    remove = cli_opt(opts, ARRAY_SIZE(opts), &args, "remove") != NULL;
    if (!remove && read_password(password, sizeof(password), &err)) {
        ret = cli_fail("user password", &err);
        goto out;
    }
    if (portal_open(&p, portal_dir_choose(args.value[0]), &err)) {
        ret = cli_fail("user password", &err);
        goto out;
    }
    /* The command line acts as its own sysadmin account (ACCESS_CLI_ACTOR). */
    a.authenticated = true;
    a.sysadmin = true;
    xsnprintf(a.name, sizeof(a.name), "%s", ACCESS_CLI_ACTOR);
    if (access_password_set_as(p.store, &a, args.pos[0], remove ? NULL : password, &err)) {
        ret = cli_fail_about("user password", args.pos[0], &err);
        goto out;
    }
    cli_ledger_integrate(&p, "user password");
    printf("%s\t%s\n", args.pos[0], remove ? "password removed" : "password set");
    ret = CLI_OK;
out:
    secret_wipe(password, sizeof(password));
    portal_close(&p);
    return ret;
}

/* `kaifang user disable|enable NAME`: a disabled user can no longer sign in or use its
 * API tokens, and its sessions end (access_user_state_set_as(); ledger user_state_set). */
static int user_state(int argc, char **argv, bool active)
{
    static const struct cli_option opts[] = {{"portal", true}};
    const char *cmd = active ? "user enable" : "user disable";
    struct actor a = ACTOR_ANONYMOUS;
    struct portal p = {0};
    struct err err = ERR_INIT;
    struct cli_args args;
    int ret;

    ret = cli_parse(cmd, "user", opts, ARRAY_SIZE(opts), argc, argv, 1, 1, "NAME", &args);
    if (ret)
        goto out;
    if (portal_open(&p, portal_dir_choose(args.value[0]), &err)) {
        ret = cli_fail(cmd, &err);
        goto out;
    }
    a.authenticated = true;
    a.sysadmin = true;
    xsnprintf(a.name, sizeof(a.name), "%s", ACCESS_CLI_ACTOR);
    if (access_user_state_set_as(p.store, &a, args.pos[0], active, &err)) {
        ret = cli_fail_about(cmd, args.pos[0], &err);
        goto out;
    }
    cli_ledger_integrate(&p, cmd);
    printf("%s\t%s\n", args.pos[0], active ? "enabled" : "disabled");
    ret = CLI_OK;
out:
    portal_close(&p);
    return ret;
}

int cmd_user(int argc, char **argv)
{
    if (argc < 2)
        return cli_usage("user", "user",
                         "missing sub-command: add, list, password, disable or enable");
    if (!strcmp(argv[1], "add"))
        return user_add(argc - 1, argv + 1);
    if (!strcmp(argv[1], "list"))
        return user_list(argc - 1, argv + 1);
    if (!strcmp(argv[1], "password"))
        return user_password(argc - 1, argv + 1);
    if (!strcmp(argv[1], "disable") || !strcmp(argv[1], "enable"))
        return user_state(argc - 1, argv + 1, !strcmp(argv[1], "enable"));
    return cli_usage("user", "user",
                     "unknown sub-command \"%s\" (expected add, list, password, disable or "
                     "enable)",
                     argv[1]);
}
