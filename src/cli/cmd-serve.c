/*
 * cmd-serve.c - `kaifang serve`: the HTTP server over an existing portal.
 */
#include "catalog/catalog.h"
#include "cli/cli-int.h"
#include "dcat/dcat.h"
#include "core/log.h"
#include "datastore/datastore.h"
#include "http/server.h"
#include "ledger/ledger.h"
#include "core/util.h"

struct ready_ctx {
    const struct config *cfg;
    struct catalog *catalog;
    bool site_url_derived; /* site_url was left at http://<listen> */
};

/* The host part of "HOST:PORT" / "[V6]:PORT", as written. */
static void listen_host(const char *listen, char *out, size_t size)
{
    const char *colon = strrchr(listen, ':');
    size_t len = colon ? (size_t)(colon - listen) : strlen(listen);

    xsnprintf(out, size, "%.*s", (int)(len < size ? len : size - 1), listen);
}

static void on_ready(void *arg, unsigned port)
{
    struct ready_ctx *r = arg;
    char host[320];

    listen_host(r->cfg->listen, host, sizeof(host));
    /* With port 0 the real port is known only now. Clients learn it from the line
     * printed below, so no request has been served with the old site_url yet. */
    if (r->site_url_derived) {
        free(r->catalog->site_url);
        r->catalog->site_url = xstrfmt("http://%s:%u", host, port);
    }
    fprintf(stderr, "kaifang: serving http://%s:%u/\n", host, port);
    fflush(stderr);
}

int cli_serve_portal(struct portal *p, struct err *err)
{
    struct catalog catalog;
    struct ready_ctx ready;
    struct ledger_sequencer *seq = NULL;
    struct datastore *ds = NULL;
    const struct ledger_key *key = NULL;
    char *derived = xstrfmt("http://%s", p->cfg.listen);
    int ret;

    catalog_init(&catalog, p->store, p->files_dir, p->cfg.site_url);
    dcat_catalog_derive(&catalog, &p->cfg);
    catalog.privacy_k = p->cfg.privacy_k;
    /* The key must already be there (`kaifang init` makes it, `demo` ensures it):
     * making a new one here, beside a log signed with a lost key, would silently give
     * the log a second identity that no monitor trusts. */
    ret = portal_ledger_key(p, &key, err);
    if (ret)
        goto out;
    /* The sequencer integrates staged entries from now on, including any left staged
     * by a command that could not integrate them. */
    ret = ledger_sequencer_start(&seq, p->store, key, err);
    if (ret)
        goto out;
    /* The ingest worker: uploads become datastore tables in the background, and what a
     * stopped server left pending is queued again. */
    ds = datastore_new(&catalog);
    ret = datastore_start_worker(ds, err);
    if (ret)
        goto out;
    ready.cfg = &p->cfg;
    ready.catalog = &catalog;
    ready.site_url_derived = !strcmp(p->cfg.site_url, derived);
    ret = server_run(&p->cfg, &catalog, key, on_ready, &ready, err);
out:
    /* After the last request: an ingest still running is abandoned between two rows
     * (its status stays "pending" for the next start). */
    datastore_free(ds);
    /* The stop integrates what is still staged (logging a failure), so a graceful
     * shutdown leaves every entry in a signed checkpoint. */
    ledger_sequencer_stop(seq);
    catalog_release(&catalog);
    free(derived);
    return ret;
}

/* Flags that map one to one onto kaifang.conf keys (config_set accepts the '-' form). */
static const struct cli_option opts[] = {
        {"portal", true},     {"listen", true},          {"site-url", true},
        {"threads", true},    {"max-body", true},        {"max-upload", true},
        {"max-header", true}, {"max-connections", true}, {"idle-timeout", true},
        {"access-log", true}, {"read-store", true},
};

int cmd_serve(int argc, char **argv)
{
    struct portal p = {0};
    struct err err = ERR_INIT;
    struct cli_args args;
    int ret;

    ret = cli_parse("serve", "serve", opts, ARRAY_SIZE(opts), argc, argv, 0, 0, "", &args);
    if (ret)
        goto out;
    log_init_from_env();
    if (portal_open(&p, portal_dir_choose(args.value[0]), &err)) {
        ret = cli_fail("serve", &err);
        goto out;
    }
    /* listen first, so that a site_url still derived from it follows the flag, and an
     * explicit --site-url (applied after) wins. */
    for (size_t i = 1; i < ARRAY_SIZE(opts); i++) {
        if (!args.value[i])
            continue;
        if (config_set(&p.cfg, opts[i].name, args.value[i], &err)) {
            ret = cli_usage("serve", "serve", "option \"--%s\": %s", opts[i].name, err.msg);
            goto out;
        }
    }
    if (p.cfg.read_store && p.cfg.read_store[0] &&
        store_read_replica_set(p.store, p.cfg.read_store, &err)) {
        ret = cli_fail("serve", &err);
        goto out;
    }
    if (cli_serve_portal(&p, &err)) {
        ret = cli_fail("serve", &err);
        goto out;
    }
    ret = CLI_OK;
out:
    portal_close(&p);
    return ret;
}
