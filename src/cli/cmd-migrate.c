/*
 * cmd-migrate.c - `kaifang migrate [--portal DIR] --to postgresql://…`: moves a portal's
 * store from SQLite to PostgreSQL (issue 9; docs/deploy.md, "Moving a portal from SQLite
 * to PostgreSQL"). Every record goes over in one transaction of the target
 * (store_migrate(), store/store-migrate.h); then kaifang.conf's store_url names the new
 * store. The read journal is drained and the ledger integrated first. Files stay where they are
 * (the portal's file store); kaifang.db is left as it was, the copy moved from.
 */
#include <stdio.h>

#include "catalog/catalog.h"
#include "cli/cli-int.h"
#include "core/util.h"
#include "store/store-migrate.h"

int cmd_migrate(int argc, char **argv)
{
    static const struct cli_option opts[] = {{"portal", true}, {"to", true}};
    struct portal p = {0};
    struct config want = {0};
    struct store *dst = NULL;
    struct store_migrate_counts n;
    struct err err = ERR_INIT;
    struct cli_args args;
    const char *to;
    int ret;

    ret = cli_parse("migrate", "migrate", opts, ARRAY_SIZE(opts), argc, argv, 0, 0, "", &args);
    if (ret)
        goto out;
    to = cli_opt(opts, ARRAY_SIZE(opts), &args, "to");
    if (!to) {
        ret = cli_usage("migrate", "migrate", "option \"--to\" is required (postgresql://…)");
        goto out;
    }
    if (portal_open(&p, portal_dir_choose(cli_opt(opts, ARRAY_SIZE(opts), &args, "portal")),
                    &err)) {
        ret = cli_fail("migrate", &err);
        goto out;
    }
    /* The URL as kaifang.conf would hold it, checked as the file's would be (never echoed:
     * it may hold a password). */
    config_defaults(&want, p.cfg.portal_dir);
    if (config_set(&want, "store_url", to, &err)) {
        ret = cli_fail("migrate", &err);
        goto out;
    }
    if (!starts_with(want.store_url, "postgresql://") &&
        !starts_with(want.store_url, "postgres://")) {
        err_set(&err, ERR_VALIDATION, "to", "--to needs a postgresql:// URL");
        ret = cli_fail("migrate", &err);
        goto out;
    }
    /* Restricted reads' entries may still sit in the read journal (kaifang.db-reads):
     * stage them and integrate everything, so that every entry moves and the latest
     * checkpoint covers them all. */
    if (cli_ledger_integrate(&p, "migrate")) {
        fprintf(stderr, "kaifang migrate: nothing was moved\n");
        ret = CLI_ERROR;
        goto out;
    }
    if (store_open(&dst, want.store_url, true, &err) ||
        store_migrate(p.store, dst, catalog_search_text, &n, &err)) {
        ret = cli_fail("migrate", &err);
        goto out;
    }
    if (config_file_set(p.cfg.portal_dir, "store_url", want.store_url, &err)) {
        fprintf(stderr,
                "kaifang migrate: the records are in the new store, but kaifang.conf could not "
                "be changed: set store_url there yourself\n");
        ret = cli_fail("migrate", &err);
        goto out;
    }
    printf("migrated to postgresql: %" PRIu64 " organizations and groups, %" PRIu64
           " users, %" PRIu64 " API tokens, %" PRIu64 " memberships, %" PRIu64 " roles, %" PRIu64
           " grants, %" PRIu64 " web sessions, %" PRIu64 " datasets (%" PRIu64
           " resources), %" PRIu64 " ledger entries, %" PRIu64 " ledger tiles, %" PRIu64
           " checkpoints, %" PRIu64 " datastore tables (%" PRIu64 " rows), %" PRIu64
           " datastore statuses\n",
           n.groups, n.users, n.tokens, n.members, n.roles, n.grants, n.sessions, n.datasets,
           n.resources, n.ledger_entries, n.ledger_tiles, n.ledger_checkpoints, n.ds_tables,
           n.ds_rows, n.ds_statuses);
    printf("kaifang.conf now uses the postgresql store; %s was left as it was\n",
           p.cfg.store_url + (starts_with(p.cfg.store_url, "sqlite:") ? 7 : 0));
    ret = CLI_OK;
out:
    store_free(dst);
    config_release(&want);
    portal_close(&p);
    return ret;
}
