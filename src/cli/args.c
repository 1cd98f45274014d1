/*
 * args.c - the option parser and the messages every command shares (cli-int.h).
 * Apart from cli.c so that the unit tests link it without the commands.
 */
#include "cli/cli-int.h"
#include "core/util.h"

int cli_usage(const char *cmd, const char *help_name, const char *fmt, ...)
{
    va_list ap;

    fprintf(stderr, "kaifang %s: ", cmd);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\nRun \"kaifang help %s\" for usage.\n", help_name);
    return CLI_USAGE;
}

int cli_fail(const char *cmd, const struct err *err)
{
    fprintf(stderr, "kaifang %s: %s\n", cmd, err->msg[0] ? err->msg : "failed");
    return CLI_ERROR;
}

int cli_fail_about(const char *cmd, const char *name, const struct err *err)
{
    char quoted[256];

    xsnprintf(quoted, sizeof(quoted), "\"%.200s\"", name);
    if (strstr(err->msg, quoted))
        return cli_fail(cmd, err);
    fprintf(stderr, "kaifang %s: %s: %s\n", cmd, quoted, err->msg[0] ? err->msg : "failed");
    return CLI_ERROR;
}

static const struct cli_option *find_option(const struct cli_option *opts, size_t nopts,
                                            const char *name, size_t len, size_t *index)
{
    for (size_t i = 0; i < nopts; i++) {
        if (strlen(opts[i].name) == len && !strncmp(opts[i].name, name, len)) {
            *index = i;
            return &opts[i];
        }
    }
    return NULL;
}

/*
 * An empty --portal, or an empty $KAIFANG_PORTAL when --portal is not given, would
 * silently fall back to ./kaifang-portal (or become the current directory): a usage
 * error instead, naming the option. The variable counts only for commands whose
 * --portal defaults to it (all but demo, whose default is ./kaifang-demo).
 */
static int portal_option_check(const char *cmd, const char *help_name,
                               const struct cli_option *opts, size_t nopts,
                               const struct cli_args *args)
{
    const char *env = getenv("KAIFANG_PORTAL");
    size_t idx;

    if (!find_option(opts, nopts, "portal", strlen("portal"), &idx))
        return 0;
    if (args->value[idx] && !*args->value[idx])
        return cli_usage(cmd, help_name, "option \"--portal\" needs a directory, not \"\"");
    if (!args->value[idx] && env && !*env && strcmp(help_name, "demo"))
        return cli_usage(cmd, help_name,
                         "KAIFANG_PORTAL is set but empty: set it to the portal directory, "
                         "unset it, or give \"--portal DIR\"");
    return 0;
}

int cli_parse(const char *cmd, const char *help_name, const struct cli_option *opts, size_t nopts,
              int argc, char **argv, size_t min_pos, size_t max_pos, const char *pos_names,
              struct cli_args *out)
{
    bool only_pos = false;
    int ret = 0;

    BUG_ON(nopts > CLI_MAX_OPTIONS || max_pos > CLI_MAX_ARGS);
    memset(out, 0, sizeof(*out));
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        const struct cli_option *o;
        const char *eq;
        size_t idx;

        if (!only_pos && !strcmp(arg, "--")) {
            only_pos = true;
            continue;
        }
        if (only_pos || arg[0] != '-' || arg[1] == '\0') {
            if (out->npos >= max_pos) {
                ret = cli_usage(cmd, help_name, "unexpected argument \"%s\"", arg);
                goto out;
            }
            out->pos[out->npos++] = arg;
            continue;
        }
        if (arg[1] != '-') {
            ret = cli_usage(cmd, help_name, "unknown option \"%s\"", arg);
            goto out;
        }
        eq = strchr(arg + 2, '=');
        o = find_option(opts, nopts, arg + 2, eq ? (size_t)(eq - arg - 2) : strlen(arg + 2), &idx);
        if (!o) {
            ret = cli_usage(cmd, help_name, "unknown option \"%.*s\"",
                            eq ? (int)(eq - arg) : (int)strlen(arg), arg);
            goto out;
        }
        if (!o->takes_value) {
            if (eq) {
                ret = cli_usage(cmd, help_name, "option \"--%s\" takes no value", o->name);
                goto out;
            }
            out->value[idx] = "1";
        } else if (eq) {
            out->value[idx] = eq + 1;
        } else if (i + 1 < argc) {
            out->value[idx] = argv[++i];
        } else {
            ret = cli_usage(cmd, help_name, "option \"--%s\" needs a value", o->name);
            goto out;
        }
    }
    if (out->npos < min_pos) {
        ret = cli_usage(cmd, help_name, "missing argument %s", pos_names);
        goto out;
    }
    ret = portal_option_check(cmd, help_name, opts, nopts, out);
out:
    return ret;
}

const char *cli_opt(const struct cli_option *opts, size_t nopts, const struct cli_args *args,
                    const char *name)
{
    size_t idx;

    BUG_ON(!find_option(opts, nopts, name, strlen(name), &idx));
    return args->value[idx];
}
