/*
 * cli-int.h - what the sub-command files (cmd-<name>.c) share: option parsing, the
 * portal directory, the CLI's actor, and the metadata.json mapping used by `load`.
 */
#ifndef KAIFANG_CLI_CLI_INT_H
#define KAIFANG_CLI_CLI_INT_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "access/access.h"
#include "core/config.h"
#include "core/err.h"
#include "store/store.h"

/* Exit statuses of every command. */
enum cli_status {
    CLI_OK = 0,
    CLI_ERROR = 1, /* the command ran and failed: message on stderr */
    CLI_USAGE = 2, /* unknown command or flag, missing or extra argument */
};

/* ---- Option parsing ------------------------------------------------------------------ */

#define CLI_MAX_OPTIONS 16
#define CLI_MAX_ARGS    8

/* One "--name" option of a command. A flag (takes_value false) reads as "1" when set. */
struct cli_option {
    const char *name; /* without the dashes: "portal" */
    bool takes_value;
};

struct cli_args {
    const char *value[CLI_MAX_OPTIONS]; /* by index in the option table; NULL when absent */
    const char *pos[CLI_MAX_ARGS];      /* positional arguments in order */
    size_t npos;
};

/*
 * Parses argv (argv[0] is the command's own name, skipped) against opts (nopts entries,
 * at most CLI_MAX_OPTIONS): "--name value", "--name=value", flags, and positionals in
 * any order; "--" ends the options. Expects between min_pos and max_pos positionals;
 * pos_names names them for the message ("CATALOG_DIR"). On a usage error prints
 * "kaifang CMD: <problem>" and a pointer to `kaifang help CMD` on stderr and returns
 * CLI_USAGE; else 0. cmd is the full command name for messages ("user add").
 * The strings in *out point into argv.
 */
int cli_parse(const char *cmd, const char *help_name, const struct cli_option *opts, size_t nopts,
              int argc, char **argv, size_t min_pos, size_t max_pos, const char *pos_names,
              struct cli_args *out);

/* The value of option name ("1" for a set flag), NULL when absent. name must be in
 * opts (BUG_ON otherwise). */
const char *cli_opt(const struct cli_option *opts, size_t nopts, const struct cli_args *args,
                    const char *name);

/* Prints "kaifang CMD: <message>" on stderr and returns CLI_ERROR. */
int cli_fail(const char *cmd, const struct err *err);

/* As cli_fail(), naming what the command was about ("kaifang user add: "bob": That
 * login name is not available.") unless the message already quotes it. */
int cli_fail_about(const char *cmd, const char *name, const struct err *err);

/* Prints a usage problem ("kaifang CMD: <problem>" and where to read help) and returns
 * CLI_USAGE. help_name is the command whose help to point at ("user"). */
__attribute__((format(printf, 3, 4))) int cli_usage(const char *cmd, const char *help_name,
                                                    const char *fmt, ...);

/* ---- The portal directory ------------------------------------------------------------ */

struct ledger_key;

/* An opened portal: its configuration and its store. */
struct portal {
    struct config cfg;
    struct store *store;
    char *files_dir;               /* <portal>/files */
    struct ledger_key *ledger_key; /* loaded by portal_ledger_key(), NULL before */
};

/* The portal directory to use: flag if given, else $KAIFANG_PORTAL, else
 * "./kaifang-portal". Borrowed. */
const char *portal_dir_choose(const char *flag);

/*
 * Opens an existing portal: reads kaifang.conf over the defaults and opens the store
 * without creating it. A missing portal is an error telling to run `kaifang init`.
 * Release with portal_close() (also after a failure).
 */
int portal_open(struct portal *p, const char *dir, struct err *err);

/*
 * Creates a portal, or migrates an existing one without losing anything: makes the
 * directory, files/ and files/tmp/, writes a default kaifang.conf if there is none and
 * opens the store with create = true (which applies migrations). store_url (NULL: the
 * default, sqlite:<portal>/kaifang.db) is "sqlite:PATH" or a postgresql:// URI: a new
 * portal records it in kaifang.conf; an existing one must already use it
 * (-ERR_VALIDATION otherwise). A PostgreSQL database must exist (createdb); an
 * unreachable server is -ERR_UNAVAILABLE naming host and port. *existed tells whether
 * the store was already there (kaifang.db, or for PostgreSQL kaifang.conf). Release
 * with portal_close().
 */
int portal_create(struct portal *p, const char *dir, const char *store_url, bool *existed,
                  struct err *err);

/* Frees what portal_open/portal_create set up (safe on a zeroed or failed portal). */
void portal_close(struct portal *p);

/* ---- The portal's ledger (portal.c) ----------------------------------------------------- */

/* The ledger key file of a portal: "<portal>/ledger.key". Free the result. */
char *portal_ledger_key_path(const struct portal *p);

/*
 * The ledger origin for a site URL: the URL without its scheme (host, port and any
 * path) followed by "/ledger", as C2SP tlog-checkpoint recommends naming a log after
 * its URL prefix: "http://127.0.0.1:8080" -> "127.0.0.1:8080/ledger". Free the result.
 */
char *portal_ledger_origin(const char *site_url);

/*
 * Creates the portal's ledger key pair (ledger_key_create) unless the key file exists;
 * an existing key is kept. *created tells which. Then loads it into p->ledger_key.
 */
int portal_ledger_key_ensure(struct portal *p, bool *created, struct err *err);

/* Loads <portal>/ledger.key into p->ledger_key once (later calls reuse it) and stores a
 * borrowed pointer in *out. -ERR_NOT_FOUND telling to run `kaifang init` when missing. */
int portal_ledger_key(struct portal *p, const struct ledger_key **out, struct err *err);

/*
 * Runs the ledger sequencer once (ledger_integrate) before a writing command exits, so
 * that its entries are in the tree without a running server. A failure is reported on
 * stderr as a warning naming cmd and is not fatal: the change and its staged entry are
 * committed, and the next command or the server integrates them. Returns 0 or the
 * negative error.
 */
int cli_ledger_integrate(struct portal *p, const char *cmd);

/*
 * The actor of CLI commands that act on the catalog: the sysadmin user "kaifang-cli",
 * created in the store on first use (as CKAN's site user). Release with
 * actor_release() (also after a failure). -ERR_AUTH when a user of that name exists
 * and is not a sysadmin.
 */
int cli_actor(struct store *s, struct actor *a, struct err *err);

/* ---- Commands (one file each) ---------------------------------------------------------
 * Each takes the arguments after "kaifang" (argv[0] is the command name) and returns an
 * enum cli_status. */
int cmd_init(int argc, char **argv);
int cmd_serve(int argc, char **argv);
int cmd_load(int argc, char **argv);
int cmd_demo(int argc, char **argv);
int cmd_user(int argc, char **argv);
int cmd_token(int argc, char **argv);
int cmd_member(int argc, char **argv);
int cmd_role(int argc, char **argv);
int cmd_grant(int argc, char **argv);
int cmd_routes(int argc, char **argv);
int cmd_organization(int argc, char **argv);
int cmd_ledger(int argc, char **argv);
int cmd_ingest(int argc, char **argv);
int cmd_scan(int argc, char **argv);
int cmd_synth(int argc, char **argv);
int cmd_anonymize(int argc, char **argv);
int cmd_audit(int argc, char **argv);
int cmd_migrate(int argc, char **argv);

/*
 * Loads the fees of the demo (cmd-audit.c) into an opened portal, once: the
 * organizations demo-transport and demo-standards, the users demo-clerk and
 * demo-approver (approver of demo-standards), the fee schedule demo-copy-fee created by
 * the one and approved by the other, and the charges of examples/audit/charges.csv
 * (beside examples_dir, the catalog directory). Integrates nothing (the server does).
 * A failure is reported on stderr and returned; the demo serves anyway.
 */
int cli_audit_demo(struct portal *p, const char *examples_dir);

/*
 * Serves an opened portal until SIGINT/SIGTERM (shared by `serve` and `demo`): sets up
 * the catalog over p->store with files_dir and site_url from p->cfg, runs server_run()
 * and prints "kaifang: serving http://HOST:PORT/" on stderr once listening.
 */
int cli_serve_portal(struct portal *p, struct err *err);

/*
 * Loads every dataset folder of catalog_dir into an opened portal (shared by `load`
 * and `demo`). Reports each failing folder on stderr as it goes; returns CLI_OK, or
 * CLI_ERROR when any folder failed or the directory cannot be read.
 */
int cli_load_catalog(struct portal *p, const char *catalog_dir);

/* `kaifang demo`'s "hospital discharges" dataset (demo-discharges.c): synthetic people
 * de-identified to k >= 5, uploaded, ingested (scanned) and published through the gate,
 * once (a portal that has it keeps it). Errors: any step's, with nothing published. */
int cli_demo_discharges(struct portal *p, struct err *err);

/* ---- metadata.json → CKAN dataset (load-map.c) ---------------------------------------- */

/* One data file of a dataset folder, as metadata.json lists it. */
struct load_file {
    char *file;       /* plain file name inside the folder */
    char *sha256;     /* 64 lower-case hex digits */
    uint64_t bytes;   /* from "bytes", 0 when absent */
    json_t *resource; /* resource_create params without package_id: name, description,
                         format; owned */
};

/* A dataset folder mapped to CKAN (see docs/internals/cli.md for every field). */
struct load_dataset {
    json_t *package; /* package_create params (name, title, notes, owner_org, …); owned */
    char *org_name;  /* organization slug (a publisher is required) */
    char *org_title;
    struct load_file *files;
    size_t nfiles;
};

/*
 * Maps a parsed metadata.json of the folder named folder to *out. Fails with
 * -ERR_VALIDATION naming the field ("title", "resources[2].sha256") when a required
 * field is missing or has the wrong shape, or when a file name is not a plain name
 * inside the folder. Release *out with load_dataset_release() (also after a failure).
 */
int load_map(const char *folder, const json_t *meta, struct load_dataset *out, struct err *err);
void load_dataset_release(struct load_dataset *d);

/*
 * The organization slug for a publisher text: the words outside parentheses, ASCII
 * letters and digits lower-cased, '.' and '\'' dropped, every other run of characters
 * one '-', at most LIMIT_NAME_MAX characters (cut at a '-'). When nothing ASCII is
 * left (a publisher written only in Chinese), "org-" and the first 12 hex digits of
 * the SHA-256 of the text. Deterministic. out: LIMIT_NAME_MAX + 1 bytes.
 */
void load_org_slug(const char *publisher, char *out, size_t size);

/* The organization title for a publisher text: parenthesised asides in plain ASCII
 * (programme names, notes) are dropped, others (translations such as "(国家统计局)")
 * kept. Free the result. */
char *load_org_title(const char *publisher);

/* The Open Definition / CKAN licence id for a licence text (NULL or "" → "notspecified").
 * Static string. */
const char *load_license_id(const char *text);

/* Whether a tag follows CKAN's rules: 2..100 characters, each a letter or digit (any
 * script), space, '-', '_' or '.'; valid UTF-8. */
bool load_tag_valid(const char *tag);

/* The DCAT "temporal" interval for a publisher's coverage text: "2011/2013 (ACS 3-year
 * estimates)" → "2011/2013", "2009" → "2009/2009", "2023-06-30" → "2023-06-30/2023-06-30";
 * NULL when the text holds no ISO 8601 date or interval. Free the result. */
char *load_temporal(const char *text);

/* The CKAN format for a file name from its extension ("CSV", "TSV", "JSON", "XLS",
 * "XLSX", …; the upper-cased extension otherwise, "" without one). Free the result. */
char *load_format(const char *filename);

struct ingest_options;

/* The reading options of cmd's command line ("ingest", "scan"; opts must hold format,
 * encoding, delimiter, sheet, skip-rows and the flag lenient) into o, as `kaifang ingest`
 * documents them. Usage problems return CLI_USAGE (printed); else 0. */
int cli_ingest_options(const char *cmd, const struct cli_option *opts, size_t nopts,
                       const struct cli_args *args, struct ingest_options *o);

#endif
