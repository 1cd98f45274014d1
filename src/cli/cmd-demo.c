/*
 * cmd-demo.c - `kaifang demo`: a ready-to-browse portal in one command. Creates the
 * demo portal unless it exists, loads the bundled example catalog (loading again only
 * updates what changed) and serves it through the same code path as `kaifang serve`.
 */
#include "cli/cli-int.h"
#include "core/util.h"

#ifndef KAIFANG_EXAMPLES_DIR
#define KAIFANG_EXAMPLES_DIR "examples/catalog"
#endif

#define DEMO_PORTAL "kaifang-demo"

int cmd_demo(int argc, char **argv)
{
    static const struct cli_option opts[] = {
            {"portal", true},
            {"listen", true},
            {"examples", true},
    };
    const char *portal, *listen, *examples;
    struct portal p = {0};
    struct err err = ERR_INIT;
    struct cli_args args;
    struct stat st;
    bool existed, key_created = false;
    int ret;

    ret = cli_parse("demo", "demo", opts, ARRAY_SIZE(opts), argc, argv, 0, 0, "", &args);
    if (ret)
        goto out;
    portal = cli_opt(opts, ARRAY_SIZE(opts), &args, "portal");
    listen = cli_opt(opts, ARRAY_SIZE(opts), &args, "listen");
    examples = cli_opt(opts, ARRAY_SIZE(opts), &args, "examples");
    if (!examples)
        examples = KAIFANG_EXAMPLES_DIR;
    if (listen) {
        /* Refuse a bad address before spending time on the load. */
        struct config scratch;

        config_defaults(&scratch, "/");
        ret = config_set(&scratch, "listen", listen, &err);
        config_release(&scratch);
        if (ret) {
            ret = cli_usage("demo", "demo", "option \"--listen\": %s", err.msg);
            goto out;
        }
    }
    if (stat(examples, &st) < 0 || !S_ISDIR(st.st_mode)) {
        err_set(&err, ERR_NOT_FOUND, "examples",
                "example catalog \"%s\" not found: give its path with --examples DIR", examples);
        ret = cli_fail("demo", &err);
        goto out;
    }
    if (portal_create(&p, portal ? portal : DEMO_PORTAL, NULL, &existed, &err)) {
        ret = cli_fail("demo", &err);
        goto out;
    }
    /* A demo portal is made here rather than by `kaifang init`: make its ledger key too
     * (an existing one is kept), before the load records entries. */
    if (portal_ledger_key_ensure(&p, &key_created, &err)) {
        ret = cli_fail("demo", &err);
        goto out;
    }
    fprintf(stderr, "kaifang: %s demo portal %s, loading %s\n", existed ? "using" : "created",
            p.cfg.portal_dir, examples);
    /* Download links are built from the serving site_url when shown, so loading with
     * the portal's own configuration is right whatever --listen says. */
    if (cli_load_catalog(&p, examples) != CLI_OK) {
        /* Serve what loaded: a demo with one broken folder is still worth browsing. */
        fprintf(stderr, "kaifang demo: some datasets failed to load (see above)\n");
    }
    /* The fees of issue 8's case, small: findings on /audit to follow to the ledger. */
    cli_audit_demo(&p, examples);
    /* A table of (synthetic) people, published through the privacy pipeline, so that a
     * visitor sees a real privacy report (docs/internals/privacy-gate.md). */
    if (cli_demo_discharges(&p, &err)) {
        fprintf(stderr, "kaifang demo: the hospital discharges dataset was not published: %s\n",
                err.msg);
        err_clear(&err);
    }
    if (listen && config_set(&p.cfg, "listen", listen, &err)) {
        ret = cli_usage("demo", "demo", "option \"--listen\": %s", err.msg);
        goto out;
    }
    if (cli_serve_portal(&p, &err)) {
        ret = cli_fail("demo", &err);
        goto out;
    }
    ret = CLI_OK;
out:
    portal_close(&p);
    return ret;
}
