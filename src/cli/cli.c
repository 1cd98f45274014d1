/*
 * cli.c - `kaifang COMMAND …`: dispatch, help and the option parser the commands share.
 *
 * Exit statuses: 0 ok, 1 the command failed (message on stderr), 2 usage (unknown
 * command or flag, missing or extra argument; the message says which).
 */
#include "cli/cli.h"
#include "cli/cli-int.h"
#include "core/log.h"
#include "crypto/secret.h"
#include "core/util.h"

#ifndef KAIFANG_VERSION
#define KAIFANG_VERSION "0.1.0"
#endif

#define PORTAL_HELP                                                                                \
    "  --portal DIR        the portal directory (default: $KAIFANG_PORTAL, else\n"                 \
    "                      ./kaifang-portal)\n"

struct command {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *summary;
    const char *help; /* synopsis, description and options */
};

static const struct command commands[] = {
        {"init", cmd_init, "create a portal directory (or migrate an existing one)",
         "usage: kaifang init [--portal DIR] [--origin NAME] [--store URL]\n"
         "\n"
         "Creates the portal directory with kaifang.conf, kaifang.db (SQLite), files/ and\n"
         "files/tmp/. On an existing portal it applies pending database migrations and\n"
         "keeps everything else.\n"
         "\n"
         "  --store URL    the database: sqlite:PATH (default sqlite:kaifang.db, relative\n"
         "                 to the portal) or postgresql://USER@HOST:PORT/DB (libpq; an\n"
         "                 existing database; the password from the URL, ~/.pgpass, a\n"
         "                 service file or PGPASSWORD). Recorded in kaifang.conf.\n"
         "  --origin NAME  the public ledger's origin, the name every checkpoint is signed\n"
         "                 with: the log's URL without its scheme, no spaces or '+'\n"
         "                 (e.g. data.example.gov/ledger; default: site_url's host and\n"
         "                 path + /ledger, 127.0.0.1:8080/ledger). Set it for a real\n"
         "                 deployment: it is fixed once the key exists.\n"
         "\n" PORTAL_HELP},
        {"serve", cmd_serve, "serve the portal over HTTP",
         "usage: kaifang serve [--portal DIR] [--listen ADDR:PORT] [--site-url URL]\n"
         "                     [--threads N] [--max-body BYTES] [--max-upload BYTES]\n"
         "                     [--max-header BYTES] [--max-connections N]\n"
         "                     [--idle-timeout SECONDS] [--access-log PATH|-]\n"
         "                     [--read-store postgresql://…]\n"
         "\n"
         "Serves the web pages and the CKAN Action API (/api/3/action/...) until\n"
         "interrupted (SIGINT or SIGTERM). Once listening, prints one line on stderr:\n"
         "  kaifang: serving http://HOST:PORT/\n"
         "Flags override kaifang.conf (see README.md, \"Configuration\").\n"
         "\n" PORTAL_HELP
         "  --listen ADDR:PORT  address to listen on (default 127.0.0.1:8080; port 0\n"
         "                      picks a free port)\n"
         "  --site-url URL      public base URL for links (default http://ADDR:PORT)\n"
         "  --threads N         worker threads (default: online CPUs, at least 2)\n"
         "  --max-body BYTES    largest JSON request body (default 1M)\n"
         "  --max-upload BYTES  largest file upload (default 1G)\n"
         "  --max-header BYTES  largest request line and headers (default 16k)\n"
         "  --max-connections N simultaneous connections (default 512)\n"
         "  --idle-timeout S    seconds before an idle connection is closed (default 30)\n"
         "  --access-log PATH   JSON-lines access log: a file, - for stdout (default),\n"
         "                      \"\" for none\n"
         "  --read-store URL    a read replica (hot standby) of the PostgreSQL store:\n"
         "                      catalog reads go there, writes to the primary\n"
         "\n"
         "The log level comes from KAIFANG_LOG=debug|info|warn|error (default info).\n"},
        {"load", cmd_load, "load a catalog directory, data.json, DCAT-AP or data package",
         "usage: kaifang load CATALOG_DIR [--portal DIR]\n"
         "\n"
         "Each sub-folder of CATALOG_DIR is one dataset: a metadata.json and the data\n"
         "files it lists under \"resources\". The folder name becomes the dataset name,\n"
         "the publisher its organization (created when missing). Each file's SHA-256 is\n"
         "checked against metadata.json. Loading again updates datasets in place and\n"
         "skips files that have not changed. Every failing folder is reported; the exit\n"
         "status is 1 if any failed.\n"
         "\n"
         "usage: kaifang load FILE|URL... [--format F] [--download] [--portal DIR]\n"
         "\n"
         "Loads metadata documents: a DCAT-US data.json, a DCAT-AP catalog or dataset\n"
         "(Turtle, RDF/XML, JSON-LD; from a URL its next pages too) or a Frictionless\n"
         "datapackage.json. The format is read from the content; --format datajson,\n"
         "dcat-ttl, dcat-rdf, dcat-jsonld or datapackage says it. Datasets are matched by\n"
         "identifier, so loading again updates them. Distributions become links;\n"
         "--download fetches them as uploads and ingests them into the datastore. A bad\n"
         "document loads nothing.\n"
         "\n" PORTAL_HELP},
        {"ingest", cmd_ingest, "read a data file into a resource's datastore table",
         "usage: kaifang ingest FILE --resource ID [--format F] [--encoding E]\n"
         "                      [--delimiter C] [--sheet S] [--skip-rows N] [--lenient]\n"
         "                      [--fields FILE.json] [--json] [--portal DIR]\n"
         "\n"
         "Reads FILE (CSV, TSV, JSON, NDJSON, XLSX or XLS) into the datastore table of\n"
         "resource ID now: every column typed over all rows, the table replaced at once\n"
         "(readers see the old table or the new, never a part), the resource's\n"
         "datastore_active set, and a datastore_ingest entry recorded in the ledger. The\n"
         "server ingests uploads by itself; this is for a file given by hand. Prints one\n"
         "summary line, or with --json the ingest report. A file that cannot be read\n"
         "exits 1 with the problem and its line and column; the previous table stays.\n"
         "\n"
         "  --resource ID     the resource whose table to fill (required)\n"
         "  --format F        csv, tsv, json, ndjson, xlsx or xls (default: from the\n"
         "                    file name, else from the content)\n"
         "  --encoding E      the text encoding (GB18030, windows-1252, …; default:\n"
         "                    detected)\n"
         "  --delimiter C     , ; | or tab (default: sniffed)\n"
         "  --sheet S         a workbook's sheet, by name or 1-based number (default: the\n"
         "                    first with a value)\n"
         "  --skip-rows N     rows above the header to skip (default: title rows are\n"
         "                    found; 0: none)\n"
         "  --lenient         pad or cut rows with too few or too many fields, instead of\n"
         "                    failing\n"
         "  --fields FILE     types and labels to use: [{\"id\", \"type\", \"info\":\n"
         "                    {\"label\", \"notes\"}}] (types: text, int8, numeric, bool,\n"
         "                    date, timestamp, json)\n"
         "  --json            print the ingest report as JSON\n"
         "\n" PORTAL_HELP},
        {"scan", cmd_scan, "find personal data in a table and classify its columns",
         "usage: kaifang scan FILE [--json] [--k K] [--format F] [--encoding E] [--delimiter C]\n"
         "                    [--sheet S] [--skip-rows N] [--lenient]\n"
         "       kaifang scan --resource ID [--json] [options] [--portal DIR]\n"
         "\n"
         "Reads a table (CSV, TSV, JSON, NDJSON, XLSX or XLS; a resource's stored file with\n"
         "--resource) and checks every value with validators (resident ID numbers with\n"
         "region, date and check character, mobile and fixed-line numbers, bank cards\n"
         "(Luhn), credit codes, passports, e-mail, IP addresses, SSNs, plates, dates of\n"
         "birth, postal codes), also inside free text. Each column is classed as\n"
         "direct_identifier, quasi_identifier, sensitive or other from the share of\n"
         "values that validate and from its name (docs/internals/privacy-detection.md).\n"
         "Then counts the equivalence classes of the quasi-identifiers found: the k the\n"
         "table reaches, and the rows in classes smaller than the k required. Prints a\n"
         "table, or with --json {\"rows\", \"columns\": [{\"name\", \"class\", \"share\",\n"
         "\"detectors\", \"examples\"}], \"quasi_identifiers\", \"k\", \"classes\",\n"
         "\"rows_below_k\": {\"k\", \"rows\"}}. Examples are masked; no raw value is\n"
         "printed. Exits 0 when the scan ran, whatever it found.\n"
         "\n"
         "  --resource ID     scan the stored file of this resource of the portal\n"
         "  --json            print the report as JSON\n"
         "  --k K             the k required (1 to 1000; default the portal's privacy_k,\n"
         "                    or 5 without a portal)\n"
         "  --format, --encoding, --delimiter, --sheet, --skip-rows, --lenient\n"
         "                    read the file as `kaifang ingest` does\n"
         "\n" PORTAL_HELP},
        {"synth", cmd_synth, "write a table of synthetic people (CSV)",
         "usage: kaifang synth people [--rows N] [--seed S] [-o FILE]\n"
         "\n"
         "Writes fake citizen records as CSV (header 序号,姓名,性别,民族,出生日期,身份证号,\n"
         "手机号码,职业,诊断,年收入,备注): common names, resident ID numbers with valid\n"
         "check characters from real GB/T 2260 counties matching the birth date and gender,\n"
         "mobile numbers, ethnicity, occupation, an ICD-10 diagnosis, income and remarks\n"
         "that sometimes hold a phone number. The same seed gives the same table. No real\n"
         "person's data.\n"
         "\n"
         "  --rows N          records to write (default 1000)\n"
         "  --seed S          the generator's seed (default 1)\n"
         "  -o, --output FILE write to FILE instead of stdout\n"},
        {"anonymize", cmd_anonymize, "de-identify a table: a policy and k-anonymity",
         "usage: kaifang anonymize FILE [--policy P.json] [--qi COLUMN=HIERARCHY …] [--k K]\n"
         "                    [--l L [--ldiv distinct|entropy]] [--t T [--sensitive-hierarchy H]]\n"
         "                    [--sensitive COLUMN] [--suppression S] [--metric M]\n"
         "                    [--risk-threshold R] [--key-file F] [--portal DIR]\n"
         "                    [-o OUT.csv] [--json]\n"
         "\n"
         "Applies the policy's per-column transformations (suppress, mask, keyed\n"
         "pseudonymisation, top/bottom coding, rounding) and finds the globally optimal\n"
         "full-domain generalisation of the quasi-identifiers (one hierarchy level each)\n"
         "that makes the table k-anonymous (and l-diverse, t-close) with at most the share\n"
         "S of records suppressed, minimising the metric, as ARX does\n"
         "(docs/internals/privacy-anonymization.md has the policy format). A flag wins over\n"
         "the policy. Writes the table as CSV (suppressed records keep their place with\n"
         "\"*\" in every quasi-identifier) and prints what was done per column, the levels,\n"
         "suppressed records, classes, the score, risk and utility before and after.\n"
         "\n"
         "  --policy P.json   the policy file (JSON, one entry per column)\n"
         "  --qi COLUMN=H     a quasi-identifier and its hierarchy: an ARX hierarchy CSV\n"
         "                    file, or date, interval:W1,W2,…, region, mask, postal\n"
         "  --k K             k-anonymity (default 2)\n"
         "  --l L             l-diversity of --sensitive (distinct unless --ldiv entropy)\n"
         "  --t T             t-closeness of --sensitive (equal distance; hierarchical\n"
         "                    with --sensitive-hierarchy H)\n"
         "  --suppression S   share of records that may be suppressed (default 0)\n"
         "  --metric M        loss (default), entropy, discernibility or aecs\n"
         "  --risk-threshold R  records at risk: those whose risk 1/|class| exceeds R\n"
         "                    (default 0.2)\n"
         "  --key-file F      the pseudonymisation key (default: the portal's privacy.key,\n"
         "                    made by kaifang init)\n"
         "  --portal DIR      the portal whose key to use\n"
         "  -o, --output OUT  write the result to OUT\n"
         "  --json            print the report as JSON\n"},
        {"demo", cmd_demo, "create, load and serve a demo portal",
         "usage: kaifang demo [--portal DIR] [--listen ADDR:PORT] [--examples DIR]\n"
         "\n"
         "Creates ./kaifang-demo unless it exists, loads the bundled example catalog\n"
         "(real public datasets) and, once, the fees of examples/audit (two organizations,\n"
         "an approved fee schedule, imported charges: findings on /audit), and serves it,\n"
         "printing the URL.\n"
         "\n"
         "  --portal DIR        the demo portal directory (default ./kaifang-demo)\n"
         "  --listen ADDR:PORT  address to listen on (default 127.0.0.1:8080)\n"
         "  --examples DIR      the catalog to load (default: examples/catalog of the\n"
         "                      source tree this binary was built from)\n"},
        {"user", cmd_user, "add, list, disable and enable users, set their passwords",
         "usage: kaifang user add NAME [--sysadmin] [--email E] [--fullname F]\n"
         "                        [--password-stdin] [--portal DIR]\n"
         "       kaifang user list [--portal DIR]\n"
         "       kaifang user password NAME [--remove] [--portal DIR]\n"
         "       kaifang user disable|enable NAME [--portal DIR]\n"
         "\n"
         "User names follow CKAN's rules: 2 to 100 of a-z, 0-9, '-' and '_'. A sysadmin\n"
         "may do anything; other users get rights through organization membership\n"
         "(kaifang member add).\n"
         "\n"
         "A password (8 to 1024 bytes) lets the user sign in to the web pages\n"
         "(/user/login); it is read from the first line of standard input, never from\n"
         "the command line, and stored only as its argon2id hash. --remove takes it away\n"
         "(and ends the user's web sessions).\n"
         "\n"
         "disable stops a user from signing in and from using its API tokens, and ends\n"
         "its sessions (its memberships, roles and tokens stay); enable undoes it. Both\n"
         "are ledger entries (user_state_set). A sysadmin does the same on /user.\n"
         "\n" PORTAL_HELP},
        {"token", cmd_token, "create and revoke API tokens",
         "usage: kaifang token create NAME [--label L] [--portal DIR]\n"
         "       kaifang token revoke TOKEN_ID [--portal DIR]\n"
         "\n"
         "create prints the new API token alone on one line of stdout (and its id on\n"
         "stderr). Only a hash is stored: the token cannot be shown again. Send it as\n"
         "the Authorization header: \"Authorization: <token>\".\n"
         "\n" PORTAL_HELP},
        {"member", cmd_member, "manage organization members",
         "usage: kaifang member add ORG USER admin|editor|member [--portal DIR]\n"
         "       kaifang member remove ORG USER [--portal DIR]\n"
         "\n"
         "Capacities follow CKAN: an admin manages members and datasets, an editor\n"
         "creates and edits datasets, a member reads the organization's private ones.\n"
         "\n" PORTAL_HELP},
        {"role", cmd_role, "give and take the approver, auditor and grantee roles",
         "usage: kaifang role add USER approver|auditor|grantee [--org ORG] [--portal DIR]\n"
         "       kaifang role remove USER approver|auditor|grantee [--org ORG] [--portal DIR]\n"
         "       kaifang role list [--portal DIR]\n"
         "\n"
         "An approver (of one organization, --org) approves or refuses the requests of\n"
         "others: grants on restricted datasets, privacy overrides; never their own. An\n"
         "auditor (of an organization, or portal-wide without --org) reads what the audit\n"
         "needs. A grantee (portal-wide) is an outside operator's account, the only kind\n"
         "of account a grant may name. Each change is a \"role_set\" ledger entry.\n"
         "\n" PORTAL_HELP},
        {"grant", cmd_grant, "request, approve, refuse, revoke and list grants",
         "usage: kaifang grant request DATASET --grantee USER --purpose P --legal-basis B\n"
         "                     --columns C1,C2 [--filters JSON] --valid-from YYYY-MM-DD\n"
         "                     --valid-until YYYY-MM-DD [--fee-schedule ID] [--as USER]\n"
         "       kaifang grant approve|refuse|revoke GRANT_ID [--note N] [--as USER]\n"
         "       kaifang grant list [--dataset D] [--grantee USER] [--as USER]\n"
         "       kaifang grant show GRANT_ID [--as USER]\n"
         "\n"
         "A grant lets one grantee (an account with the grantee role) read a restricted\n"
         "dataset through datastore_search, within its columns, rows (--filters, as\n"
         "datastore_search's filters) and period (UTC days, both included). The checks\n"
         "are the API's (grant_request, grant_approve …): an editor or admin of the\n"
         "dataset's organization requests; an approver of it who is neither the requester\n"
         "nor the grantee approves or refuses (two-person rule); an approver or admin\n"
         "revokes. Each change is one transaction with its ledger entry. The command acts\n"
         "as the CLI's sysadmin user, or as USER with --as; it prints the grant as JSON.\n"
         "\n" PORTAL_HELP},
        {"routes", cmd_routes, "list every URL pattern and API action the server answers",
         "usage: kaifang routes\n"
         "\n"
         "Prints {\"routes\": [{\"methods\", \"pattern\"}…], \"actions\": [names]} as JSON:\n"
         "the server's route table and the CKAN action table, the single places that say\n"
         "what it answers (tests/e2e/test_authz_matrix.py holds a row for each).\n"},
        {"migrate", cmd_migrate, "move the portal's store from SQLite to PostgreSQL",
         "usage: kaifang migrate [--portal DIR] --to postgresql://USER@HOST:PORT/DB\n"
         "\n"
         "Copies every record of the portal's SQLite store into a new, empty PostgreSQL\n"
         "database in one transaction: organizations, groups, users (with their password\n"
         "hashes), API tokens, memberships, roles, grants, web sessions, datasets and\n"
         "resources, the ledger (entries,\n"
         "tiles and signed checkpoints: it verifies with the same checkpoints), datastore\n"
         "tables and ingest statuses. Then kaifang.conf's store_url names the new store\n"
         "(the file becomes readable by its owner only); kaifang.db is left as it was and\n"
         "files/ is shared as before. Stop the servers first. A database that is not empty\n"
         "is refused, and so is a portal holding what the PostgreSQL store does not keep\n"
         "yet (the message names it); nothing is written then.\n"
         "\n"
         "  --to URL  the PostgreSQL database (libpq URI; made with createdb; the password\n"
         "            from the URL, ~/.pgpass, a service file or PGPASSWORD)\n"
         "\n" PORTAL_HELP},
        {"ledger", cmd_ledger, "show the ledger key, integrate and verify the public ledger",
         "usage: kaifang ledger key [--portal DIR]\n"
         "       kaifang ledger integrate [--portal DIR]\n"
         "       kaifang ledger verify URL|PORTAL_DIR [--key VKEY] [--state FILE]\n"
         "                                 [--gzip yes|no|auto]\n"
         "\n"
         "key prints the ledger's verifier key (C2SP signed-note, name+id+key) alone on\n"
         "stdout: publish it, and give it to monitors with --key.\n"
         "\n"
         "integrate runs the sequencer once: staged entries join the tree and a new\n"
         "checkpoint is signed (the server does this every 100 ms, and every command that\n"
         "writes does it before it exits).\n"
         "\n"
         "verify is a monitor. From a URL (the portal's site, e.g. http://127.0.0.1:8080)\n"
         "it fetches /ledger/checkpoint, checks its signature, fetches every tile and\n"
         "entry bundle, recomputes every leaf hash and the root from the entries, and\n"
         "checks the tree against the checkpoint it saw last (the server's consistency\n"
         "proof, and the recomputed root of that size). From a PORTAL_DIR it reads the\n"
         "store instead. Every fork, rewrite, reordering or missing entry is reported on\n"
         "stderr with its index; when all is well the checkpoint is saved in the state\n"
         "file and one line goes to stdout. Exit status: 0 good, 1 bad or unreachable,\n"
         "2 usage; run it from cron.\n"
         "\n"
         "  --portal DIR   the portal (key, integrate; default: $KAIFANG_PORTAL, else\n"
         "                 ./kaifang-portal)\n"
         "  --key VKEY     the verifier key to trust (default: the one in the state file;\n"
         "                 on first use the key the server publishes at /api/ledger/key,\n"
         "                 or the portal's key file, with a warning)\n"
         "  --state FILE   the last checkpoint seen (default ~/.kaifang/ledger-<key\n"
         "                 hash>.state for a URL, one per verifier key, PORTAL_DIR.ledger-\n"
         "                 state beside a portal)\n"
         "  --gzip WHEN    ask for gzip entry bundles: yes, no, or auto (default: not on\n"
         "                 a loopback host, where it only costs CPU)\n"},
        {"audit", cmd_audit, "fee schedules, charges and the audit of fees",
         "usage: kaifang audit [--format json|csv|html] [--proofs] [-o FILE] [--portal DIR]\n"
         "       kaifang audit import-charges FILE.csv [--portal DIR]\n"
         "       kaifang audit schedule create NAME --organization ORG --service S --unit U\n"
         "                      --price YUAN --legal-basis B --period-start YYYY-MM-DD\n"
         "                      --period-end YYYY-MM-DD [--as USER] [--portal DIR]\n"
         "       kaifang audit schedule approve NAME [--as USER] [--portal DIR]\n"
         "       kaifang audit schedule list [--organization ORG] [--pending] [--portal DIR]\n"
         "       kaifang audit schedule show NAME [--portal DIR]\n"
         "\n"
         "The audit reconciles the portal's fee schedules and charges with the public\n"
         "ledger and lists, per organization and per unit and system, charges with no\n"
         "approved schedule (and their total), charges outside a schedule's period or above\n"
         "its price, and every disagreement between the store and the ledger; each finding\n"
         "names its ledger entries (--proofs embeds their inclusion proofs). Exit 0 when\n"
         "the audit ran, whatever it found.\n"
         "\n"
         "import-charges reads a unit's billing export, header exactly\n"
         "organization,unit,system,payer,date,amount,currency,schedule (amount in yuan with\n"
         "at most two decimals, currency CNY, schedule empty when none): all rows or none;\n"
         "a bad row is named by line and column.\n"
         "\n"
         "A fee schedule is pending until an approver of its organization (kaifang role\n"
         "add USER approver --org ORG) who did not create it approves it (two-person\n"
         "rule); --as USER acts as that user.\n"
         "\n" PORTAL_HELP},
        {"organization", cmd_organization, "add an organization",
         "usage: kaifang organization add NAME [--title T] [--description D] [--portal DIR]\n"
         "\n"
         "NAME follows CKAN's rules: 2 to 100 of a-z, 0-9, '-' and '_'.\n"
         "\n" PORTAL_HELP},
};

static const struct command *find_command(const char *name)
{
    for (size_t i = 0; i < ARRAY_SIZE(commands); i++) {
        if (!strcmp(commands[i].name, name))
            return &commands[i];
    }
    return NULL;
}

static void print_usage(FILE *out)
{
    fputs("usage: kaifang COMMAND [ARGS] [--portal DIR]\n"
          "\n"
          "Kaifang publishes government datasets through the CKAN Action API v3.\n"
          "\n"
          "Commands:\n",
          out);
    for (size_t i = 0; i < ARRAY_SIZE(commands); i++)
        fprintf(out, "  %-14s %s\n", commands[i].name, commands[i].summary);
    fputs("  help COMMAND   show a command's options\n"
          "\n"
          "Every command that works on a portal takes --portal DIR (default:\n"
          "$KAIFANG_PORTAL, else ./kaifang-portal). Exit status: 0 ok, 1 error, 2 usage.\n",
          out);
}

static bool is_help_flag(const char *s)
{
    return !strcmp(s, "--help") || !strcmp(s, "-h");
}

static int print_help(const char *name)
{
    const struct command *c = find_command(name);

    if (!c) {
        fprintf(stderr, "kaifang help: unknown command \"%s\"\n", name);
        print_usage(stderr);
        return CLI_USAGE;
    }
    fputs(c->help, stdout);
    return CLI_OK;
}

int cli_main(int argc, char **argv)
{
    const struct command *c;
    int ret;

    log_init_from_env();
    if (argc < 2) {
        print_usage(stderr);
        ret = CLI_USAGE;
        goto out;
    }
    if (is_help_flag(argv[1])) {
        print_usage(stdout);
        ret = CLI_OK;
        goto out;
    }
    if (!strcmp(argv[1], "--version")) {
        printf("kaifang %s\n", KAIFANG_VERSION);
        ret = CLI_OK;
        goto out;
    }
    if (!strcmp(argv[1], "help")) {
        if (argc == 2) {
            print_usage(stdout);
            ret = CLI_OK;
        } else if (argc == 3) {
            ret = print_help(argv[2]);
        } else {
            ret = cli_usage("help", "help", "unexpected argument \"%s\"", argv[3]);
        }
        goto out;
    }
    c = find_command(argv[1]);
    if (!c) {
        fprintf(stderr, "kaifang: unknown command \"%s\"\n\n", argv[1]);
        print_usage(stderr);
        ret = CLI_USAGE;
        goto out;
    }
    for (int i = 2; i < argc; i++) {
        if (!strcmp(argv[i], "--"))
            break;
        if (is_help_flag(argv[i])) {
            ret = print_help(c->name);
            goto out;
        }
    }
    secret_init();
    ret = c->run(argc - 1, argv + 1);
out:
    fflush(stdout);
    return ret;
}
