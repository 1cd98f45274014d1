/*
 * portal.c - the portal directory: kaifang.conf, kaifang.db, files/ and files/tmp/.
 */
#include "catalog/catalog.h"
#include "cli/cli-int.h"
#include "ledger/ledger.h"
#include "core/util.h"

#define DEFAULT_PORTAL "kaifang-portal"
#define CLI_USER       "kaifang-cli"

const char *portal_dir_choose(const char *flag)
{
    const char *env = getenv("KAIFANG_PORTAL");

    if (flag && *flag)
        return flag;
    if (env && *env)
        return env;
    return DEFAULT_PORTAL;
}

/* mkdir -p for an absolute path; existing directories are fine. */
static int make_dirs(const char *path, struct err *err)
{
    char *p = xstrdup(path);
    struct stat st;
    int ret = 0;

    for (char *s = p + 1;; s++) {
        char c = *s;

        if (c != '/' && c != '\0')
            continue;
        *s = '\0';
        if (mkdir(p, 0755) < 0 && errno != EEXIST) {
            ret = err_set(err, ERR_INTERNAL, NULL, "cannot create directory \"%s\": %s", p,
                          strerror(errno));
            goto out;
        }
        *s = c;
        if (c == '\0')
            break;
    }
    if (stat(path, &st) < 0 || !S_ISDIR(st.st_mode))
        ret = err_set(err, ERR_INTERNAL, NULL, "\"%s\" exists and is not a directory", path);
out:
    free(p);
    return ret;
}

/* The database file of a "sqlite:PATH" store URL, NULL for other engines. */
static const char *sqlite_path(const char *url)
{
    return starts_with(url, "sqlite:") ? url + 7 : NULL;
}

/* The read journal of a SQLite store: the database's path + "-reads" (ledger.h,
 * ledger_journal_open; docs/internals/ledger.md). None for other stores. */
static int open_journal(struct portal *p, const char *db, struct err *err)
{
    char *path;
    int ret;

    if (!db)
        return 0;
    path = xstrfmt("%s-reads", db);
    ret = ledger_journal_open(p->store, path, err);
    free(path);
    return ret;
}

static bool file_exists(const char *path)
{
    struct stat st;

    return stat(path, &st) == 0;
}

/* Sets c's store URL to a copy of url. */
static void replace_store_url(struct config *c, const char *url)
{
    free(c->store_url);
    c->store_url = xstrdup(url);
}

int portal_open(struct portal *p, const char *dir, struct err *err)
{
    const char *db;
    char *tmp = NULL;
    struct stat st;
    int ret;

    memset(p, 0, sizeof(*p));
    config_defaults(&p->cfg, dir);
    p->files_dir = xstrfmt("%s/files", p->cfg.portal_dir);
    if (stat(p->cfg.portal_dir, &st) < 0 || !S_ISDIR(st.st_mode)) {
        ret = err_set(err, ERR_NOT_FOUND, "portal",
                      "no portal at \"%s\": run \"kaifang init --portal %s\" first",
                      p->cfg.portal_dir, p->cfg.portal_dir);
        goto out;
    }
    if ((ret = config_load(&p->cfg, err)))
        goto out;
    db = sqlite_path(p->cfg.store_url);
    if (db && !file_exists(db)) {
        ret = err_set(err, ERR_NOT_FOUND, "portal",
                      "no portal at \"%s\" (\"%s\" is missing): run \"kaifang init --portal %s\" "
                      "first",
                      p->cfg.portal_dir, db, p->cfg.portal_dir);
        goto out;
    }
    /* A portal made by an older version may lack files/tmp: uploads need it. */
    tmp = xstrfmt("%s/tmp", p->files_dir);
    if ((ret = make_dirs(tmp, err)))
        goto out;
    ret = store_open(&p->store, p->cfg.store_url, false, err);
    if (!ret)
        ret = open_journal(p, db, err);
out:
    free(tmp);
    return ret;
}

int portal_create(struct portal *p, const char *dir, const char *store_url, bool *existed,
                  struct err *err)
{
    struct config want = {0};
    const char *db;
    char *tmp = NULL, *conf = NULL;
    bool had_conf;
    int ret;

    memset(p, 0, sizeof(*p));
    *existed = false;
    config_defaults(&p->cfg, dir);
    p->files_dir = xstrfmt("%s/files", p->cfg.portal_dir);
    tmp = xstrfmt("%s/tmp", p->files_dir);
    conf = xstrfmt("%s/kaifang.conf", p->cfg.portal_dir);
    had_conf = file_exists(conf);
    /* The store URL as kaifang.conf would hold it (a relative sqlite: path made the
     * portal's), checked like the file's. */
    config_defaults(&want, dir);
    if (store_url && (ret = config_set(&want, "store_url", store_url, err)))
        goto out;
    if ((ret = make_dirs(p->cfg.portal_dir, err)) || (ret = make_dirs(tmp, err)))
        goto out;
    if (!had_conf && store_url)
        replace_store_url(&p->cfg, want.store_url);
    if ((ret = config_write_default(&p->cfg, err)) || (ret = config_load(&p->cfg, err)))
        goto out;
    /* An existing portal keeps its store: --store may only repeat it (never echoed: a
     * PostgreSQL URL may hold a password). */
    if (had_conf && store_url && strcmp(want.store_url, p->cfg.store_url)) {
        ret = err_set(err, ERR_VALIDATION, "store",
                      "the portal in \"%s\" already uses another store (store_url in "
                      "kaifang.conf); --store cannot change it",
                      p->cfg.portal_dir);
        goto out;
    }
    db = sqlite_path(p->cfg.store_url);
    *existed = db ? file_exists(db) : had_conf;
    ret = store_open(&p->store, p->cfg.store_url, true, err);
    if (!ret)
        ret = open_journal(p, db, err);
out:
    config_release(&want);
    free(conf);
    free(tmp);
    return ret;
}

void portal_close(struct portal *p)
{
    if (p->store)
        ledger_journal_close(p->store);
    ledger_key_free(p->ledger_key);
    store_free(p->store);
    config_release(&p->cfg);
    free(p->files_dir);
    memset(p, 0, sizeof(*p));
}

int cli_actor(struct store *s, struct actor *a, struct err *err)
{
    struct err e = ERR_INIT;
    int ret;

    memset(a, 0, sizeof(*a));
    /* Like CKAN's site user: a real sysadmin account, so that what the catalog records
     * about the actor (creator_user_id, the creator's admin membership of a new
     * organization) refers to a user that exists. */
    ret = access_user_add(s, CLI_USER, NULL, "Kaifang command line", true, NULL, &e);
    if (ret && ret != -ERR_CONFLICT) {
        ret = err_set(err, e.kind, e.field, "%s", e.msg);
        goto out;
    }
    ret = access_actor_from_user(s, CLI_USER, a, err);
    if (ret)
        goto out;
    if (!a->sysadmin) {
        ret = err_set(err, ERR_AUTH, NULL,
                      "user \"%s\" exists but is not a sysadmin: the command line acts as it",
                      CLI_USER);
        goto out;
    }
out:
    return ret;
}

char *portal_ledger_key_path(const struct portal *p)
{
    return xstrfmt("%s/ledger.key", p->cfg.portal_dir);
}

char *portal_ledger_origin(const char *site_url)
{
    const char *rest = site_url;
    size_t len;

    if (starts_with(rest, "https://"))
        rest += 8;
    else if (starts_with(rest, "http://"))
        rest += 7;
    /* config_set() already dropped a trailing '/'; be safe with hand-made values. */
    len = strlen(rest);
    while (len && rest[len - 1] == '/')
        len--;
    return xstrfmt("%.*s/ledger", (int)len, rest);
}

int portal_ledger_key_ensure(struct portal *p, bool *created, struct err *err)
{
    const struct ledger_key *k;
    char *path = portal_ledger_key_path(p);
    char *origin = NULL;
    int ret;

    *created = false;
    if (!file_exists(path)) {
        origin = portal_ledger_origin(p->cfg.site_url);
        if ((ret = ledger_key_create(path, origin, err)))
            goto out;
        *created = true;
    }
    ret = portal_ledger_key(p, &k, err);
out:
    free(origin);
    free(path);
    return ret;
}

int portal_ledger_key(struct portal *p, const struct ledger_key **out, struct err *err)
{
    char *path = NULL;
    int ret = 0;

    if (p->ledger_key)
        goto out;
    path = portal_ledger_key_path(p);
    if (!file_exists(path)) {
        ret = err_set(err, ERR_NOT_FOUND, NULL,
                      "the portal has no ledger key (\"%s\"): run \"kaifang init --portal %s\"",
                      path, p->cfg.portal_dir);
        goto out;
    }
    ret = ledger_key_load(path, &p->ledger_key, err);
out:
    *out = p->ledger_key;
    free(path);
    return ret;
}

int cli_ledger_integrate(struct portal *p, const char *cmd)
{
    const struct ledger_key *k;
    struct err err = ERR_INIT;
    int ret;

    ret = portal_ledger_key(p, &k, &err);
    if (!ret)
        ret = ledger_integrate(p->store, k, NULL, &err);
    if (ret)
        fprintf(stderr,
                "kaifang %s: warning: ledger not integrated: %s (the change is recorded; the "
                "server or the next command integrates it)\n",
                cmd, err.msg[0] ? err.msg : "failed");
    return ret;
}
