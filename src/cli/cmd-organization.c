/*
 * cmd-organization.c - `kaifang organization add NAME [--title T] [--description D]`,
 * through the catalog's organization_create action as the CLI's sysadmin actor.
 */
#include "catalog/catalog.h"
#include "cli/cli-int.h"
#include "core/util.h"

static int organization_add(int argc, char **argv)
{
    static const struct cli_option opts[] = {
            {"portal", true},
            {"title", true},
            {"description", true},
    };
    struct portal p = {0};
    struct catalog c;
    bool have_catalog = false;
    struct actor actor;
    struct err err = ERR_INIT;
    struct cli_args args;
    json_t *params = NULL, *result = NULL;
    const char *title, *description;
    int ret;

    memset(&actor, 0, sizeof(actor));
    ret = cli_parse("organization add", "organization", opts, ARRAY_SIZE(opts), argc, argv, 1, 1,
                    "NAME", &args);
    if (ret)
        goto out;
    if (portal_open(&p, portal_dir_choose(args.value[0]), &err) ||
        cli_actor(p.store, &actor, &err)) {
        ret = cli_fail("organization add", &err);
        goto out;
    }
    catalog_init(&c, p.store, p.files_dir, p.cfg.site_url);
    have_catalog = true;
    title = cli_opt(opts, ARRAY_SIZE(opts), &args, "title");
    description = cli_opt(opts, ARRAY_SIZE(opts), &args, "description");
    params = json_object();
    /* Arguments are bytes from the shell; jansson refuses invalid UTF-8 (NULL). */
    if (json_object_set_new(params, "name", json_string(args.pos[0])) ||
        (title && json_object_set_new(params, "title", json_string(title))) ||
        (description && json_object_set_new(params, "description", json_string(description)))) {
        err_set(&err, ERR_VALIDATION, NULL, "arguments must be valid UTF-8");
        ret = cli_fail("organization add", &err);
        goto out;
    }
    if (catalog_organization_create(&c, &actor, params, &result, &err)) {
        ret = cli_fail_about("organization add", args.pos[0], &err);
        goto out;
    }
    cli_ledger_integrate(&p, "organization add");
    printf("%s\t%s\n", json_string_value(json_object_get(result, "name")),
           json_string_value(json_object_get(result, "id")));
    ret = CLI_OK;
out:
    json_decref(params);
    json_decref(result);
    if (have_catalog)
        catalog_release(&c);
    actor_release(&actor);
    portal_close(&p);
    return ret;
}

int cmd_organization(int argc, char **argv)
{
    if (argc < 2)
        return cli_usage("organization", "organization", "missing sub-command: add");
    if (!strcmp(argv[1], "add"))
        return organization_add(argc - 1, argv + 1);
    return cli_usage("organization", "organization", "unknown sub-command \"%s\" (expected add)",
                     argv[1]);
}
