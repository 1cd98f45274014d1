/*
 * cmd-grant.c - `kaifang grant request|approve|refuse|revoke|list|show`: grants on
 * restricted datasets from the command line, through the functions the Action API's
 * grant_* actions call (src/access/grant.c), so the checks and errors are the API's:
 * who may request, the two-person rule for approvals, one store transaction and one
 * ledger entry per change (docs/internals/access.md, "Grants"). The command acts as the
 * CLI's sysadmin user, or with --as as a named user (an approver must be a person other
 * than the requester).
 */
#include "access/grant.h"
#include "cli/cli-int.h"
#include "core/util.h"

static const struct cli_option opts[] = {
        {"portal", true},      {"as", true},           {"grantee", true}, {"purpose", true},
        {"legal-basis", true}, {"columns", true},      {"filters", true}, {"valid-from", true},
        {"valid-until", true}, {"fee-schedule", true}, {"note", true},    {"dataset", true},
};

/* Options that become request parameters: option name, parameter name. */
static const char *const request_keys[][2] = {
        {"grantee", "grantee"},         {"purpose", "purpose"},
        {"legal-basis", "legal_basis"}, {"columns", "columns"},
        {"filters", "filters"},         {"valid-from", "valid_from"},
        {"valid-until", "valid_until"}, {"fee-schedule", "fee_schedule"},
};

static void print_json(const json_t *v)
{
    char *s = json_dumps(v, JSON_INDENT(2) | JSON_SORT_KEYS);

    if (s)
        printf("%s\n", s);
    free(s);
}

/* Sets params[key] to the option's value when given. -1 when it is not UTF-8. */
static int put_opt(json_t *params, const struct cli_args *args, const char *opt, const char *key)
{
    const char *v = cli_opt(opts, ARRAY_SIZE(opts), args, opt);

    return v ? json_object_set_new(params, key, json_string(v)) : 0;
}

int cmd_grant(int argc, char **argv)
{
    const char *sub = argc > 1 ? argv[1] : NULL, *as;
    struct portal p = {0};
    struct err err = ERR_INIT;
    struct cli_args args;
    struct actor actor;
    json_t *params = NULL, *result = NULL;
    bool list, writes;
    char cmd[64];
    int ret;

    memset(&actor, 0, sizeof(actor));
    if (!sub)
        return cli_usage("grant", "grant",
                         "missing sub-command: request, approve, refuse, revoke, list or show");
    if (!str_eq(sub, "request") && !str_eq(sub, "approve") && !str_eq(sub, "refuse") &&
        !str_eq(sub, "revoke") && !str_eq(sub, "list") && !str_eq(sub, "show"))
        return cli_usage("grant", "grant",
                         "unknown sub-command \"%s\" (expected request, approve, refuse, "
                         "revoke, list or show)",
                         sub);
    xsnprintf(cmd, sizeof(cmd), "grant %s", sub);
    list = str_eq(sub, "list");
    writes = !list && !str_eq(sub, "show");
    ret = cli_parse(cmd, "grant", opts, ARRAY_SIZE(opts), argc - 1, argv + 1, list ? 0 : 1,
                    list ? 0 : 1, str_eq(sub, "request") ? "DATASET" : "GRANT_ID", &args);
    if (ret)
        goto out;
    params = json_object();
    if (str_eq(sub, "request")) {
        ret = json_object_set_new(params, "dataset", json_string(args.pos[0]));
        for (size_t i = 0; i < ARRAY_SIZE(request_keys) && !ret; i++)
            ret = put_opt(params, &args, request_keys[i][0], request_keys[i][1]);
    } else if (list) {
        ret = put_opt(params, &args, "dataset", "dataset");
        if (!ret)
            ret = put_opt(params, &args, "grantee", "grantee");
    } else {
        ret = json_object_set_new(params, "id", json_string(args.pos[0]));
        if (!ret)
            ret = put_opt(params, &args, "note", "note");
    }
    if (ret) {
        err_set(&err, ERR_VALIDATION, NULL, "arguments must be valid UTF-8");
        ret = cli_fail(cmd, &err);
        goto out;
    }
    as = cli_opt(opts, ARRAY_SIZE(opts), &args, "as");
    if (portal_open(&p, portal_dir_choose(args.value[0]), &err) ||
        (as ? access_actor_from_user(p.store, as, &actor, &err)
            : cli_actor(p.store, &actor, &err))) {
        ret = cli_fail(cmd, &err);
        goto out;
    }
    if (str_eq(sub, "request"))
        ret = grant_request_as(p.store, &actor, params, &result, &err);
    else if (str_eq(sub, "approve") || str_eq(sub, "refuse"))
        ret = grant_decide_as(p.store, &actor, params, str_eq(sub, "approve"), &result, &err);
    else if (str_eq(sub, "revoke"))
        ret = grant_revoke_as(p.store, &actor, params, &result, &err);
    else if (list)
        ret = grant_list(p.store, &actor, params, &result, &err);
    else
        ret = grant_show(p.store, &actor, params, &result, &err);
    if (ret) {
        /* As the API's error: the field when one is named. */
        ret = err.field[0] && err.kind == ERR_VALIDATION
                      ? (fprintf(stderr, "kaifang %s: %s: %s\n", cmd, err.field, err.msg),
                         CLI_ERROR)
                      : cli_fail(cmd, &err);
        goto out;
    }
    if (writes)
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
