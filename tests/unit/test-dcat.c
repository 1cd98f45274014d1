/*
 * test-dcat.c - the metadata exports (src/dcat/): the value checks every export relies
 * on (dates, durations, intervals, frequencies, e-mail addresses, media types, URLs,
 * language tags), Accept negotiation, the DCAT-US mapping of package dicts, data.json
 * read through its stream a few bytes at a time and across batches, the DCAT-AP
 * documents parsed back with raptor2 (Turtle, RDF/XML) and jansson (JSON-LD) with the
 * same triples in each, catalog pages and their hydra links, data packages with the
 * Table Schema of an ingested table, and what the public may not see (private and
 * draft datasets, the files of restricted ones) kept out of every document. Against a
 * real store in a temporary portal.
 */
#include <dirent.h>
#include <jansson.h>
#include <raptor2.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <unistd.h>

#include "catalog/catalog.h"
#include "core/limits.h"
#include "core/timeutil.h"
#include "crypto/digest.h"
#include "crypto/secret.h"
#include "datastore/datastore.h"
#include "dcat/dcat-int.h"
#include "dcat/dcat.h"
#include "unit-util.h"
#include "core/util.h"

#define SITE "http://portal.test"

struct fixture {
    char dir[64];
    char files[128];
    struct store *s;
    struct catalog c;
    struct actor root;
    struct dcat_options o;
    char upload_rid[UUID_STR_LEN];
};

static json_t *parse(const char *text)
{
    json_error_t e;
    json_t *v = json_loads(text, JSON_DECODE_ANY, &e);

    if (!v)
        fail_msg("bad JSON: %s: %.300s", e.text, text);
    return v;
}

static const char *sget(const json_t *o, const char *key)
{
    return json_string_value(json_object_get(o, key));
}

static json_t *act(struct fixture *f, catalog_action_fn fn, const char *params)
{
    struct err err = ERR_INIT;
    json_t *p = parse(params), *result = NULL;

    if (fn(&f->c, &f->root, p, &result, &err))
        fail_msg("action failed: %s (%s)", err.msg, params);
    json_decref(p);
    return result;
}

static void write_file(const char *path, const char *text)
{
    FILE *fp = fopen(path, "wb");

    assert_non_null(fp);
    assert_int_equal(fwrite(text, 1, strlen(text), fp), strlen(text));
    assert_int_equal(fclose(fp), 0);
}

/* Uploads text as a resource of dataset; its id into rid. */
static void upload(struct fixture *f, const char *dataset, const char *filename, const char *text,
                   char *rid)
{
    char path[256];
    uint8_t h[SHA256_LEN];
    struct upload up;
    struct err err = ERR_INIT;
    json_t *params = json_pack("{s:s,s:s}", "package_id", dataset, "description", "the table"),
           *res = NULL;

    xsnprintf(path, sizeof(path), "%s/tmp/up-%s", f->files, filename);
    write_file(path, text);
    sha256(text, strlen(text), h);
    memset(&up, 0, sizeof(up));
    up.tmp_path = path;
    up.filename = filename;
    up.size = strlen(text);
    hex_encode(h, SHA256_LEN, up.sha256_hex);
    if (catalog_resource_create(&f->c, &f->root, params, &up, &res, &err))
        fail_msg("resource_create: %s", err.msg);
    xsnprintf(rid, UUID_STR_LEN, "%s", sget(res, "id"));
    json_decref(params);
    json_decref(res);
}

static const char alpha[] =
        "{\"name\": \"alpha\", \"title\": \"Alpha statistics\", \"owner_org\": \"stats\","
        " \"notes\": \"Yearly figures.\", \"tags\": [{\"name\": \"economy\"}, {\"name\": \"统计\"}],"
        " \"contact_name\": \"Ada Li\", \"contact_email\": \"ada@stats.example.gov\","
        " \"temporal\": \"2010-01-01/2012-12-31\", \"spatial\": \"Beijing\","
        " \"frequency\": \"R/P1Y\", \"language\": [\"en\", \"zh_CN\"],"
        " \"title_translated\": {\"en\": \"Alpha statistics\", \"zh_CN\": \"甲统计\"},"
        " \"license_id\": \"CC-BY-4.0\", \"url\": \"https://stats.example.gov/alpha\","
        " \"version\": \"2.1\", \"groups\": [{\"name\": \"economy-theme\"}],"
        " \"extras\": ["
        "  {\"key\": \"bureau_code\", \"value\": \"015:11, x015:12, 015:1\"},"
        "  {\"key\": \"program_code\", \"value\": \"[\\\"015:001\\\", \\\"15:001\\\"]\"},"
        "  {\"key\": \"issued\", \"value\": \"2009-05-01\"},"
        "  {\"key\": \"modified\", \"value\": \"2013-02-29\"},"
        "  {\"key\": \"references\", \"value\": \"https://a.example/doc, https://b.example/x y\"},"
        "  {\"key\": \"conforms_to\", \"value\": \"https://standards.example/s1\"},"
        "  {\"key\": \"data_quality\", \"value\": \"true\"},"
        "  {\"key\": \"described_by\", \"value\": \"https://stats.example.gov/dict\"},"
        "  {\"key\": \"described_by_type\", \"value\": \"text/csv\"},"
        "  {\"key\": \"is_part_of\", \"value\": \"https://stats.example.gov/collection\"},"
        "  {\"key\": \"primary_it_investment_uii\", \"value\": \"023-000000001\"},"
        "  {\"key\": \"system_of_records\", \"value\": \"https://sorn.example/1\"},"
        "  {\"key\": \"theme\", \"value\": \"Economy, Statistics\"}],"
        " \"resources\": ["
        "  {\"name\": \"Data (CSV)\", \"url\": \"https://stats.example.gov/alpha.csv\","
        "   \"format\": \"CSV\"},"
        "  {\"name\": \"Data (CSV)\", \"url\": \"https://stats.example.gov/api\","
        "   \"format\": \"API\", \"resource_type\": \"api\"},"
        "  {\"name\": \"relative\", \"url\": \"alpha.csv\", \"format\": \"CSV\"}]}";

static int setup(void **state)
{
    struct fixture *f = xcalloc(1, sizeof(*f));
    struct err err = ERR_INIT;
    char db[128], *tmp;

    secret_init();
    if (unit_tmpdir(f->dir, sizeof(f->dir), "dcat"))
        return -1;
    xsnprintf(db, sizeof(db), "%s/kaifang.db", f->dir);
    xsnprintf(f->files, sizeof(f->files), "%s/files", f->dir);
    mkdir(f->files, 0755);
    tmp = xstrfmt("%s/tmp", f->files);
    mkdir(tmp, 0755);
    free(tmp);
    if (store_open(&f->s, db, true, &err)) {
        fprintf(stderr, "store_open: %s\n", err.msg);
        return -1;
    }
    catalog_init(&f->c, f->s, f->files, SITE);
    if (access_user_add(f->s, "root", NULL, NULL, true, NULL, &err) ||
        access_actor_from_user(f->s, "root", &f->root, &err)) {
        fprintf(stderr, "user: %s\n", err.msg);
        return -1;
    }
    json_decref(act(f, catalog_organization_create,
                    "{\"name\": \"stats\", \"title\": \"Statistics Office\"}"));
    json_decref(
            act(f, catalog_group_create, "{\"name\": \"economy-theme\", \"title\": \"Economy\"}"));
    json_decref(act(f, catalog_package_create, alpha));
    json_decref(
            act(f, catalog_package_create,
                "{\"name\": \"restricted\", \"owner_org\": \"stats\", \"title\": \"Restricted\","
                " \"access_level\": \"restricted public\", \"tags\": [{\"name\": \"health\"}],"
                " \"resources\": [{\"name\": \"r\", \"url\": \"https://stats.example.gov/r.csv\","
                " \"format\": \"CSV\"}]}"));
    json_decref(
            act(f, catalog_package_create,
                "{\"name\": \"closed\", \"owner_org\": \"stats\", \"title\": \"Closed\","
                " \"access_level\": \"non-public\", \"extras\": [{\"key\": \"rights\","
                " \"value\": \"Personal data: ask the office.\"}],"
                " \"resources\": [{\"name\": \"c\", \"url\": \"https://stats.example.gov/c.csv\","
                " \"format\": \"CSV\"}]}"));
    json_decref(act(f, catalog_package_create,
                    "{\"name\": \"hidden\", \"owner_org\": \"stats\", \"private\": true,"
                    " \"title\": \"Hidden title\"}"));
    json_decref(act(f, catalog_package_create,
                    "{\"name\": \"drafted\", \"owner_org\": \"stats\", \"state\": \"draft\","
                    " \"title\": \"Draft title\"}"));
    json_decref(act(f, catalog_package_create, "{\"name\": \"bare\", \"owner_org\": \"stats\"}"));
    json_decref(
            act(f, catalog_package_create,
                "{\"name\": \"hostile\", \"owner_org\": \"stats\","
                " \"title\": \"<b>\\\"\\\"\\\" end\\u0001 \\u0085 \\\\ '\\n>\","
                " \"notes\": \"]]> </rdf:RDF> @prefix x: <y> .\","
                " \"spatial\": \"\\u4e2d\\u56fd \\ud83d\\ude00\","
                " \"resources\": [{\"name\": \"h\", \"url\": \"https://h.example/a b>c\\\"d{}%zz\","
                " \"format\": \"weird format\", \"mimetype\": \"text/csv; charset=utf-8\"}]}"));
    upload(f, "bare", "table.csv", "year,value,code\n2010,1.5,007\n2011,2.25,110\n", f->upload_rid);
    f->o = (struct dcat_options){SITE, "Test catalog",        "", "", "", "help@portal.test", "",
                                 "",   DCAT_PAGE_SIZE_DEFAULT};
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;

    datastore_free(f->c.datastore);
    actor_release(&f->root);
    catalog_release(&f->c);
    store_free(f->s);
    unit_remove_tree(f->dir);
    free(f);
    return 0;
}

static json_t *show(struct fixture *f, const char *name)
{
    struct err err = ERR_INIT;
    json_t *pkg = NULL;

    if (dcat_show(&f->c, name, &pkg, &err))
        fail_msg("show %s: %s", name, err.msg);
    return pkg;
}

/* ---- values ------------------------------------------------------------------------------ */

static void test_dates(void **state)
{
    (void)state;
    assert_int_equal(dcat_date_kind("2010"), DCAT_DATE_YEAR);
    assert_int_equal(dcat_date_kind("2010-06"), DCAT_DATE_YEAR_MONTH);
    assert_int_equal(dcat_date_kind("2012-02-29"), DCAT_DATE_DAY);
    assert_int_equal(dcat_date_kind("2000-02-29"), DCAT_DATE_DAY);
    assert_int_equal(dcat_date_kind("1900-02-29"), DCAT_DATE_NONE);
    assert_int_equal(dcat_date_kind("2013-02-29"), DCAT_DATE_NONE);
    assert_int_equal(dcat_date_kind("2010-13"), DCAT_DATE_NONE);
    assert_int_equal(dcat_date_kind("2010-04-31"), DCAT_DATE_NONE);
    assert_int_equal(dcat_date_kind("2026-11-29T10:00:00.123456"), DCAT_DATE_TIME);
    assert_int_equal(dcat_date_kind("2026-11-29T23:59:59Z"), DCAT_DATE_TIME);
    assert_int_equal(dcat_date_kind("2026-11-29T10:00:00+08:00"), DCAT_DATE_TIME);
    /* xsd:dateTime needs the seconds. */
    assert_int_equal(dcat_date_kind("2026-11-29T10:00"), DCAT_DATE_NONE);
    assert_int_equal(dcat_date_kind("2026-11-29T24:00:00"), DCAT_DATE_NONE);
    assert_int_equal(dcat_date_kind("2026-11-29T10:00:00."), DCAT_DATE_NONE);
    assert_int_equal(dcat_date_kind("2026-11-29 10:00:00"), DCAT_DATE_NONE);
    assert_int_equal(dcat_date_kind("201"), DCAT_DATE_NONE);
    assert_int_equal(dcat_date_kind("20100"), DCAT_DATE_NONE);
    assert_int_equal(dcat_date_kind(""), DCAT_DATE_NONE);
    assert_int_equal(dcat_date_kind(NULL), DCAT_DATE_NONE);
    assert_string_equal(dcat_date_datatype(DCAT_DATE_YEAR), NS_XSD "gYear");
    assert_null(dcat_date_datatype(DCAT_DATE_NONE));
}

static void test_durations_and_intervals(void **state)
{
    char a[TIME_ISO_MAX], b[TIME_ISO_MAX];

    (void)state;
    assert_true(dcat_duration_ok("P1Y"));
    assert_true(dcat_duration_ok("P1Y2M3W4D"));
    assert_true(dcat_duration_ok("PT1H30M"));
    assert_true(dcat_duration_ok("P0.5M"));
    assert_false(dcat_duration_ok("P"));
    assert_false(dcat_duration_ok("PT"));
    assert_false(dcat_duration_ok("P1M1Y"));
    assert_false(dcat_duration_ok("P1.Y"));
    assert_false(dcat_duration_ok("P1YT"));
    assert_false(dcat_duration_ok("1Y"));

    assert_true(dcat_temporal_split("2010-01-01/2012-12-31", a, b, sizeof(a)));
    assert_string_equal(a, "2010-01-01");
    assert_string_equal(b, "2012-12-31");
    assert_true(dcat_temporal_split("2010/P2Y", a, b, sizeof(a)));
    assert_true(dcat_temporal_split("P2Y/2012", a, b, sizeof(a)));
    assert_false(dcat_temporal_split("P1Y/P2Y", a, b, sizeof(a)));
    assert_false(dcat_temporal_split("2010", a, b, sizeof(a)));
    assert_false(dcat_temporal_split("2010/2011/2012", a, b, sizeof(a)));
    assert_false(dcat_temporal_split("2010-13/2012", a, b, sizeof(a)));
    assert_false(dcat_temporal_split("2010/", a, b, sizeof(a)));

    assert_true(dcat_frequency_ok("R/P1Y"));
    assert_true(dcat_frequency_ok("irregular"));
    assert_true(dcat_frequency_ok("R/PT1H"));
    assert_false(dcat_frequency_ok("R/P1T"));
    assert_false(dcat_frequency_ok("P1Y"));
    assert_false(dcat_frequency_ok(NULL));
    assert_string_equal(dcat_frequency_eu("R/P1Y"), "ANNUAL");
    assert_string_equal(dcat_frequency_eu("R/P3M"), "QUARTERLY");
    assert_string_equal(dcat_frequency_eu("irregular"), "IRREG");
    assert_null(dcat_frequency_eu("R/P7Y"));

    dcat_timestamp("2026-11-29T10:00:00.123456", a, sizeof(a));
    assert_string_equal(a, "2026-11-29T10:00:00.123456Z");
    dcat_timestamp("2026-11-29T10:00:00+08:00", a, sizeof(a));
    assert_string_equal(a, "2026-11-29T10:00:00+08:00");
    dcat_timestamp("2026-11-29", a, sizeof(a));
    assert_string_equal(a, "2026-11-29");
    dcat_timestamp(NULL, a, sizeof(a));
    assert_string_equal(a, "");
}

static void test_addresses_and_types(void **state)
{
    char *u, tag[64];

    (void)state;
    assert_true(dcat_email_ok("ada@stats.example.gov"));
    assert_true(dcat_email_ok("a.b+c@x-y.org"));
    assert_false(dcat_email_ok("ada@localhost"));
    assert_false(dcat_email_ok("ada@.org"));
    assert_false(dcat_email_ok("ada@org."));
    assert_false(dcat_email_ok("@x.org"));
    assert_false(dcat_email_ok("ädä@x.org"));
    assert_false(dcat_email_ok("a da@x.org"));
    assert_false(dcat_email_ok(NULL));

    assert_true(dcat_media_type_ok("text/csv"));
    assert_true(dcat_media_type_ok(
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"));
    assert_true(dcat_media_type_ok("application/ld+json"));
    assert_false(dcat_media_type_ok("text/csv; charset=utf-8"));
    assert_false(dcat_media_type_ok("text"));
    assert_false(dcat_media_type_ok("text/"));
    assert_false(dcat_media_type_ok("a/b+"));

    assert_true(dcat_url_ok("https://example.gov/x"));
    assert_true(dcat_url_ok("FTP://example.gov/x"));
    assert_false(dcat_url_ok("https:///x"));
    assert_false(dcat_url_ok("javascript:alert(1)"));
    assert_false(dcat_url_ok("x.csv"));
    assert_false(dcat_url_ok("https://e.gov/a\nb"));
    u = dcat_url_encode("https://e.gov/a b>\"c{}|%zz%41é");
    assert_string_equal(u, "https://e.gov/a%20b%3E%22c%7B%7D%7C%25zz%41%C3%A9");
    free(u);

    dcat_language_tag("zh_CN", tag, sizeof(tag));
    assert_string_equal(tag, "zh-CN");
    dcat_language_tag("en", tag, sizeof(tag));
    assert_string_equal(tag, "en");
    dcat_language_tag("english", tag, sizeof(tag));
    assert_string_equal(tag, "");
    dcat_language_tag("en--GB", tag, sizeof(tag));
    assert_string_equal(tag, "");
    dcat_language_tag("1x", tag, sizeof(tag));
    assert_string_equal(tag, "");
    assert_string_equal(dcat_language_eu("zh-CN"), "ZHO");
    assert_string_equal(dcat_language_eu("EN"), "ENG");
    assert_null(dcat_language_eu("tlh"));
}

/* The configuration keys of the exports (core/config.c): checked, normalised, and read
 * into the options with their defaults. */
static void test_config(void **state)
{
    static const struct {
        const char *key, *value;
    } bad[] = {
            {"catalog_title", ""},
            {"catalog_title", "a\x01b"},
            {"catalog_title", "\xc3("},
            {"catalog_publisher", "tab\there"},
            {"catalog_contact_email", "nobody"},
            {"catalog_contact_email", "a@localhost"},
            {"catalog_contact_email", "a b@x.org"},
            {"bureau_code", "015:1"},
            {"bureau_code", "015:111"},
            {"bureau_code", "x015:11"},
            {"bureau_code", "015:11,"},
            {"bureau_code", "015:11, 015:11"},
            {"bureau_code", "015:11;015:12"},
            {"program_code", "015:01"},
            {"catalog_page_size", "0"},
            {"catalog_page_size", "1001"},
            {"catalog_page_size", "ten"},
    };
    struct config cfg;
    struct dcat_options o;
    struct err err = ERR_INIT;
    char *big;

    (void)state;
    config_defaults(&cfg, "/tmp/kf-dcat-config");
    dcat_options_init(&o, &cfg, SITE);
    assert_string_equal(o.catalog_title, "Kaifang");
    assert_string_equal(o.catalog_publisher, "");
    assert_string_equal(dcat_catalog_publisher(&o), "Kaifang");
    assert_string_equal(o.bureau_code, "");
    assert_int_equal(o.page_size, DCAT_PAGE_SIZE_DEFAULT);
    for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
        err_clear(&err);
        if (config_set(&cfg, bad[i].key, bad[i].value, &err) != -ERR_VALIDATION)
            fail_msg("%s = %s was accepted", bad[i].key, bad[i].value);
        assert_string_equal(err.field, bad[i].key);
    }
    /* Too long for a title. */
    big = xcalloc(1, LIMIT_TITLE_MAX + 2);
    memset(big, 'a', LIMIT_TITLE_MAX + 1);
    assert_int_equal(config_set(&cfg, "catalog_title", big, &err), -ERR_VALIDATION);
    free(big);
    err_clear(&err);
    assert_int_equal(config_set(&cfg, "catalog-title", "统计 Catalog", &err), 0);
    assert_int_equal(config_set(&cfg, "catalog_publisher", "Statistics Office", &err), 0);
    assert_int_equal(config_set(&cfg, "catalog_contact_email", "help@stats.example.gov", &err), 0);
    assert_int_equal(config_set(&cfg, "catalog_contact_email", "", &err), 0);
    assert_int_equal(config_set(&cfg, "catalog_contact_email", "help@stats.example.gov", &err), 0);
    assert_int_equal(config_set(&cfg, "bureau_code", " 015:11 ,015:12 ", &err), 0);
    assert_int_equal(config_set(&cfg, "program_code", "015:001", &err), 0);
    assert_int_equal(config_set(&cfg, "catalog_page_size", "1000", &err), 0);
    dcat_options_init(&o, &cfg, SITE);
    assert_string_equal(o.catalog_title, "统计 Catalog");
    assert_string_equal(dcat_catalog_publisher(&o), "Statistics Office");
    assert_string_equal(o.contact_email, "help@stats.example.gov");
    assert_string_equal(o.bureau_code, "015:11,015:12");
    assert_string_equal(o.program_code, "015:001");
    assert_int_equal(o.page_size, 1000);
    config_release(&cfg);
}

static void test_negotiate(void **state)
{
    static const struct {
        const char *accept;
        int rdf;
        enum dcat_format f;
    } cases[] = {
            {NULL, 0, DCAT_TURTLE},
            {"", 0, DCAT_TURTLE},
            {"*/*", 0, DCAT_TURTLE},
            {"text/turtle", 1, DCAT_TURTLE},
            {"application/ld+json", 1, DCAT_JSONLD},
            {"application/rdf+xml", 1, DCAT_RDFXML},
            {"text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8", 0, DCAT_TURTLE},
            {"text/turtle, */*;q=0.1", 1, DCAT_TURTLE},
            {"text/html, text/turtle", 0, DCAT_TURTLE},
            {"text/html;q=0.5, application/ld+json", 1, DCAT_JSONLD},
            {"text/turtle;q=0.4, application/rdf+xml;q=0.6, text/html;q=0.5", 1, DCAT_RDFXML},
            {"text/turtle;q=0", 0, DCAT_TURTLE},
            {"text/turtle;q=abc", 0, DCAT_TURTLE},
            {"text/turtle;q=1.5", 0, DCAT_TURTLE},
            {"TEXT/Turtle ; charset=utf-8 ; q=0.9", 1, DCAT_TURTLE},
            {"text/*", 0, DCAT_TURTLE},
            {"application/*", 0, DCAT_TURTLE},
            {"application/json", 0, DCAT_TURTLE},
            {",,;;q=,text/turtle;;", 1, DCAT_TURTLE},
    };

    (void)state;
    for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
        enum dcat_format f = DCAT_TURTLE;
        int got = dcat_format_negotiate(cases[i].accept, &f);

        if (got != cases[i].rdf || (got && f != cases[i].f))
            fail_msg("Accept %s: got %d/%d, wanted %d/%d",
                     cases[i].accept ? cases[i].accept : "NULL", got, f, cases[i].rdf, cases[i].f);
    }
}

/* ---- DCAT-US ---------------------------------------------------------------------------- */

static json_t *distribution_named(json_t *d, const char *title, size_t nth)
{
    json_t *x;
    size_t i;

    json_array_foreach (json_object_get(d, "distribution"), i, x) {
        if (str_eq(sget(x, "title"), title) && !nth--)
            return x;
    }
    return NULL;
}

static void test_datajson_fields(void **state)
{
    struct fixture *f = *state;
    json_t *pkg = show(f, "alpha"), *d = dcat_datajson_dataset(&f->o, pkg), *x;
    char want[64], *text;

    /* modified: the extra is not a date (2013 has no 29 February): metadata_modified + Z. */
    xsnprintf(want, sizeof(want), "%sZ", sget(pkg, "metadata_modified"));
    assert_string_equal(sget(d, "modified"), want);
    assert_string_equal(sget(d, "issued"), "2009-05-01");
    x = json_object_get(d, "publisher");
    assert_string_equal(sget(x, "@type"), "org:Organization");
    assert_string_equal(sget(x, "name"), "Statistics Office");
    x = json_object_get(d, "contactPoint");
    assert_string_equal(sget(x, "fn"), "Ada Li");
    assert_string_equal(sget(x, "hasEmail"), "mailto:ada@stats.example.gov");
    assert_string_equal(sget(d, "identifier"), sget(pkg, "id"));
    assert_string_equal(sget(d, "accessLevel"), "public");
    /* Only the valid codes of the extras; the configuration is not used when they give any. */
    text = json_dumps(json_object_get(d, "bureauCode"), JSON_COMPACT);
    assert_string_equal(text, "[\"015:11\"]");
    free(text);
    text = json_dumps(json_object_get(d, "programCode"), JSON_COMPACT);
    assert_string_equal(text, "[\"015:001\"]");
    free(text);
    assert_string_equal(sget(d, "license"), "https://creativecommons.org/licenses/by/4.0/");
    assert_null(json_object_get(d, "rights"));
    assert_string_equal(sget(d, "spatial"), "Beijing");
    assert_string_equal(sget(d, "temporal"), "2010-01-01/2012-12-31");
    assert_string_equal(sget(d, "accrualPeriodicity"), "R/P1Y");
    assert_string_equal(sget(d, "conformsTo"), "https://standards.example/s1");
    assert_true(json_is_true(json_object_get(d, "dataQuality")));
    assert_string_equal(sget(d, "describedBy"), "https://stats.example.gov/dict");
    assert_string_equal(sget(d, "describedByType"), "text/csv");
    assert_string_equal(sget(d, "isPartOf"), "https://stats.example.gov/collection");
    text = json_dumps(json_object_get(d, "language"), JSON_COMPACT);
    assert_string_equal(text, "[\"en\",\"zh-CN\"]");
    free(text);
    assert_string_equal(sget(d, "landingPage"), "https://stats.example.gov/alpha");
    assert_string_equal(sget(d, "primaryITInvestmentUII"), "023-000000001");
    text = json_dumps(json_object_get(d, "references"), JSON_COMPACT);
    assert_string_equal(text, "[\"https://a.example/doc\",\"https://b.example/x%20y\"]");
    free(text);
    assert_string_equal(sget(d, "systemOfRecords"), "https://sorn.example/1");
    /* Themes: the group's title, then the extra's, without repeats. */
    text = json_dumps(json_object_get(d, "theme"), JSON_COMPACT);
    assert_string_equal(text, "[\"Economy\",\"Statistics\"]");
    free(text);

    /* A file link: downloadURL with the format's media type; an API: accessURL only;
     * a relative url: the dataset's page. */
    assert_int_equal(json_array_size(json_object_get(d, "distribution")), 3);
    x = distribution_named(d, "Data (CSV)", 0);
    assert_string_equal(sget(x, "@type"), "dcat:Distribution");
    assert_string_equal(sget(x, "downloadURL"), "https://stats.example.gov/alpha.csv");
    assert_string_equal(sget(x, "mediaType"), "text/csv");
    assert_string_equal(sget(x, "format"), "CSV");
    assert_null(json_object_get(x, "accessURL"));
    x = distribution_named(d, "Data (CSV)", 1);
    assert_string_equal(sget(x, "accessURL"), "https://stats.example.gov/api");
    assert_null(json_object_get(x, "downloadURL"));
    x = distribution_named(d, "relative", 0);
    assert_string_equal(sget(x, "accessURL"), SITE "/dataset/alpha");
    assert_null(json_object_get(x, "downloadURL"));
    json_decref(d);
    json_decref(pkg);
}

static void test_datajson_defaults(void **state)
{
    struct fixture *f = *state;
    json_t *pkg, *d, *x;
    struct dcat_options o = f->o;
    char *text;

    /* Nothing set: the title stands in for the description and the keywords, the
     * publisher for the contact's name, the configured address and codes are used. */
    o.bureau_code = "015:11,015:12";
    o.program_code = "015:001";
    pkg = show(f, "bare");
    d = dcat_datajson_dataset(&o, pkg);
    assert_string_equal(sget(d, "title"), "bare");
    assert_string_equal(sget(d, "description"), "bare");
    text = json_dumps(json_object_get(d, "keyword"), JSON_COMPACT);
    assert_string_equal(text, "[\"bare\"]");
    free(text);
    x = json_object_get(d, "contactPoint");
    assert_string_equal(sget(x, "fn"), "Statistics Office");
    assert_string_equal(sget(x, "hasEmail"), "mailto:help@portal.test");
    text = json_dumps(json_object_get(d, "bureauCode"), JSON_COMPACT);
    assert_string_equal(text, "[\"015:11\",\"015:12\"]");
    free(text);
    assert_null(json_object_get(d, "license"));
    assert_null(json_object_get(d, "temporal"));
    assert_string_equal(sget(d, "landingPage"), SITE "/dataset/bare");
    json_decref(d);

    /* No address anywhere: no hasEmail (the document is then not valid DCAT-US). */
    o.contact_email = "";
    d = dcat_datajson_dataset(&o, pkg);
    assert_null(json_object_get(json_object_get(d, "contactPoint"), "hasEmail"));
    json_decref(d);
    json_decref(pkg);

    /* Restricted and non-public: rights (given or explained), and no download URL. */
    pkg = show(f, "restricted");
    d = dcat_datajson_dataset(&f->o, pkg);
    assert_string_equal(sget(d, "accessLevel"), "restricted public");
    assert_non_null(strstr(sget(d, "rights"), "use restrictions"));
    x = json_array_get(json_object_get(d, "distribution"), 0);
    assert_null(json_object_get(x, "downloadURL"));
    assert_string_equal(sget(x, "accessURL"), SITE "/dataset/restricted");
    text = json_dumps(d, JSON_COMPACT);
    assert_null(strstr(text, "r.csv"));
    free(text);
    json_decref(d);
    json_decref(pkg);
    pkg = show(f, "closed");
    d = dcat_datajson_dataset(&f->o, pkg);
    assert_string_equal(sget(d, "accessLevel"), "non-public");
    assert_string_equal(sget(d, "rights"), "Personal data: ask the office.");
    text = json_dumps(d, JSON_COMPACT);
    assert_null(strstr(text, "c.csv"));
    free(text);
    json_decref(d);
    json_decref(pkg);
}

/* Reads a whole stream step bytes at a time. */
static char *read_stream(struct dcat_stream *s, size_t step, size_t *len)
{
    struct buf b = BUF_INIT;
    char chunk[4096];
    long n;

    assert_true(step <= sizeof(chunk));
    while ((n = dcat_stream_read(s, chunk, step)) > 0) {
        assert_true((size_t)n <= step);
        buf_add(&b, chunk, (size_t)n);
    }
    assert_int_equal(n, 0);
    assert_int_equal(dcat_stream_read(s, chunk, step), 0);
    return buf_detach(&b, len);
}

static void test_datajson_stream(void **state)
{
    struct fixture *f = *state;
    struct dcat_stream *s = NULL;
    struct err err = ERR_INIT;
    static const char *const pages[] = {"https://stats.example.gov/alpha", SITE "/dataset/bare",
                                        SITE "/dataset/closed", SITE "/dataset/hostile",
                                        SITE "/dataset/restricted"};
    json_t *doc, *ds, *x;
    char *text, *whole;
    size_t len, wlen, i;

    assert_int_equal(dcat_datajson_open(&f->c, &f->o, &s, &err), 0);
    assert_int_equal(dcat_stream_count(s), 5); /* alpha bare closed hostile restricted */
    text = read_stream(s, 7, &len);
    dcat_stream_free(s);
    assert_int_equal(dcat_datajson_open(&f->c, &f->o, &s, &err), 0);
    whole = read_stream(s, 4096, &wlen);
    dcat_stream_free(s);
    /* The same bytes whatever the reads. */
    assert_int_equal(len, wlen);
    assert_memory_equal(text, whole, len);
    free(whole);
    doc = parse(text);
    assert_string_equal(sget(doc, "@type"), "dcat:Catalog");
    assert_string_equal(sget(doc, "@id"), SITE "/data.json");
    assert_string_equal(sget(doc, "conformsTo"), "https://project-open-data.cio.gov/v1.1/schema");
    ds = json_object_get(doc, "dataset");
    assert_int_equal(json_array_size(ds), 5);
    /* Name order; never the private or the draft dataset. */
    json_array_foreach (ds, i, x)
        assert_string_equal(sget(x, "landingPage"), pages[i]);
    assert_null(strstr(text, "hidden"));
    assert_null(strstr(text, "Hidden title"));
    assert_null(strstr(text, "drafted"));
    assert_null(strstr(text, "Draft title"));
    /* The hostile title is carried as data (jansson escapes it). */
    assert_non_null(strstr(text, "\\\"\\\"\\\" end\\u0001"));
    json_decref(doc);
    free(text);
}

static void test_datajson_batches(void **state)
{
    struct fixture *f = *state;
    struct dcat_stream *s = NULL;
    struct err err = ERR_INIT;
    size_t n = DCAT_DATAJSON_BATCH + 3, len, i;
    json_t *doc, *names = json_object(), *x;
    char *text;

    for (i = 0; i < n; i++) {
        char *p = xstrfmt("{\"name\": \"batch-%04zu\", \"owner_org\": \"stats\"}", i);

        json_decref(act(f, catalog_package_create, p));
        free(p);
    }
    assert_int_equal(dcat_datajson_open(&f->c, &f->o, &s, &err), 0);
    assert_int_equal(dcat_stream_count(s), n + 5);
    text = read_stream(s, 1000, &len);
    dcat_stream_free(s);
    doc = parse(text);
    assert_int_equal(json_array_size(json_object_get(doc, "dataset")), n + 5);
    /* Each dataset once across the batches. */
    json_array_foreach (json_object_get(doc, "dataset"), i, x) {
        assert_null(json_object_get(names, sget(x, "identifier")));
        json_object_set_new(names, sget(x, "identifier"), json_true());
    }
    json_decref(names);
    json_decref(doc);
    free(text);
}

static size_t entries_stored(struct fixture *f, const struct dcat_options *o);

static void test_datajson_sees_changes(void **state)
{
    struct fixture *f = *state;
    struct dcat_stream *s = NULL;
    struct err err = ERR_INIT;
    size_t len;
    char *text;

    /* Written once (and the entries stored back), changed, written again: the change
     * shows, the rest comes from the store. */
    assert_int_equal(dcat_datajson_open(&f->c, &f->o, &s, &err), 0);
    free(read_stream(s, 4096, &len));
    dcat_stream_free(s);
    assert_int_equal(entries_stored(f, &f->o), 5);
    json_decref(act(f, catalog_package_patch, "{\"id\": \"bare\", \"notes\": \"Now described.\"}"));
    assert_int_equal(dcat_datajson_open(&f->c, &f->o, &s, &err), 0);
    text = read_stream(s, 4096, &len);
    dcat_stream_free(s);
    assert_non_null(strstr(text, "\"description\":\"Now described.\""));
    free(text);
    /* Other options: other entries. */
    f->o.catalog_publisher = "Another publisher";
    f->o.contact_email = "other@portal.test";
    assert_int_equal(dcat_datajson_open(&f->c, &f->o, &s, &err), 0);
    text = read_stream(s, 4096, &len);
    dcat_stream_free(s);
    assert_non_null(strstr(text, "mailto:other@portal.test"));
    assert_null(strstr(text, "mailto:help@portal.test"));
    free(text);
}

/* The names of the data.json snapshots in the portal's files/dcat. */
static size_t snapshots(struct fixture *f, char *name, size_t size)
{
    char *dir = xstrfmt("%s/dcat", f->files);
    DIR *d = opendir(dir);
    struct dirent *e;
    size_t n = 0;

    assert_non_null(d);
    while ((e = readdir(d))) {
        if (strncmp(e->d_name, "data.json-", 10))
            continue;
        xsnprintf(name, size, "%s/%s", dir, e->d_name);
        n++;
    }
    closedir(d);
    free(dir);
    return n;
}

static void test_datajson_kept(void **state)
{
    struct fixture *f = *state;
    struct dcat_stream *s = NULL;
    struct err err = ERR_INIT;
    char path[512], first[512], *text, *again;
    size_t len, alen;
    FILE *fp;

    /* The first document stores its entries back, a write: it is not kept. */
    assert_int_equal(dcat_datajson_open(&f->c, &f->o, &s, &err), 0);
    free(read_stream(s, 4096, &len));
    dcat_stream_free(s);
    assert_int_equal(snapshots(f, first, sizeof(first)), 0);
    /* Written from the entries: kept on disk, and the next document is the same bytes. */
    assert_int_equal(dcat_datajson_open(&f->c, &f->o, &s, &err), 0);
    text = read_stream(s, 4096, &len);
    dcat_stream_free(s);
    assert_int_equal(snapshots(f, first, sizeof(first)), 1);
    assert_int_equal(dcat_datajson_open(&f->c, &f->o, &s, &err), 0);
    assert_int_equal(dcat_stream_count(s), 5);
    again = read_stream(s, 13, &alen);
    dcat_stream_free(s);
    assert_int_equal(alen, len);
    assert_memory_equal(again, text, len);
    free(again);
    /* The snapshot is what was read: a copy whose body was altered in place is served
     * as it is (what shows that the second document came from the file)... */
    fp = fopen(first, "r+");
    assert_non_null(fp);
    assert_int_equal(fseek(fp, 24 + 2, SEEK_SET), 0);
    assert_int_equal(fputc('X', fp), 'X');
    assert_int_equal(fclose(fp), 0);
    assert_int_equal(dcat_datajson_open(&f->c, &f->o, &s, &err), 0);
    again = read_stream(s, 4096, &alen);
    dcat_stream_free(s);
    assert_int_equal(alen, len);
    assert_int_equal(again[2], 'X');
    free(again);
    /* ...and one cut short is not: the document is written again, and kept again. */
    assert_int_equal(truncate(first, 100), 0);
    assert_int_equal(dcat_datajson_open(&f->c, &f->o, &s, &err), 0);
    again = read_stream(s, 4096, &alen);
    dcat_stream_free(s);
    assert_int_equal(alen, len);
    assert_memory_equal(again, text, len);
    free(again);
    assert_int_equal(snapshots(f, path, sizeof(path)), 1);
    assert_string_equal(path, first);

    /* A write: another version, another document; the old snapshot goes. */
    json_decref(act(f, catalog_package_patch, "{\"id\": \"bare\", \"notes\": \"Kept apart.\"}"));
    assert_int_equal(dcat_datajson_open(&f->c, &f->o, &s, &err), 0);
    again = read_stream(s, 4096, &alen);
    dcat_stream_free(s);
    assert_non_null(strstr(again, "\"description\":\"Kept apart.\""));
    free(again);
    /* (This catalog has no hook: the changed dataset's entry was stored back, a write;
     * the next document is kept.) */
    assert_int_equal(dcat_datajson_open(&f->c, &f->o, &s, &err), 0);
    free(read_stream(s, 4096, &alen));
    dcat_stream_free(s);
    assert_int_equal(snapshots(f, path, sizeof(path)), 1);
    assert_string_not_equal(path, first);
    /* Other options: another snapshot. */
    f->o.contact_email = "other@portal.test";
    assert_int_equal(dcat_datajson_open(&f->c, &f->o, &s, &err), 0);
    again = read_stream(s, 4096, &alen);
    dcat_stream_free(s);
    assert_non_null(strstr(again, "mailto:other@portal.test"));
    assert_null(strstr(again, "mailto:help@portal.test"));
    free(again);
    free(text);
}

/* ---- entries kept in the store (entry.c) ------------------------------------------------- */

/* data.json as the mapping writes it, dataset by dataset, without entries or caches:
 * the header of doc (what precedes its datasets), then every public dataset's
 * dcat_datajson_dataset() under o, then "]}". */
static char *reference(struct fixture *f, const struct dcat_options *o, const char *doc)
{
    struct buf b = BUF_INIT;
    struct err err = ERR_INIT;
    const char *open = strstr(doc, "\"dataset\":[");
    json_t *results = NULL, *pkg;
    size_t count = 0, i;

    assert_non_null(open);
    buf_add(&b, doc, (size_t)(open - doc) + 11);
    assert_int_equal(dcat_search(&f->c, 0, 1000, &results, &count, &err), 0);
    json_array_foreach (results, i, pkg) {
        json_t *d = dcat_datajson_dataset(o, pkg);
        char *text = json_dumps(d, JSON_COMPACT);

        if (i)
            buf_addch(&b, ',');
        buf_addstr(&b, text);
        free(text);
        json_decref(d);
    }
    buf_addstr(&b, "]}");
    json_decref(results);
    return buf_detach(&b, NULL);
}

/* data.json of f under o, checked against reference(). */
static void assert_datajson_reference(struct fixture *f, const struct dcat_options *o)
{
    struct dcat_stream *s = NULL;
    struct err err = ERR_INIT;
    char *text, *want;
    size_t len;

    assert_int_equal(dcat_datajson_open(&f->c, o, &s, &err), 0);
    text = read_stream(s, 4096, &len);
    dcat_stream_free(s);
    want = reference(f, o, text);
    assert_string_equal(text, want);
    assert_int_equal(strlen(text), len);
    free(want);
    free(text);
}

/* Public datasets with an entry of o's key in the store. */
static size_t entries_stored(struct fixture *f, const struct dcat_options *o)
{
    uint8_t key[SHA256_LEN];
    struct store_search q = {.rows = 1000, .sort = STORE_SORT_NAME, .raw_docs = true};
    struct store_search_result r = {0};
    struct err err = ERR_INIT;
    json_t *x;
    size_t n = 0, i;

    dcat_entry_key(o, key);
    q.derived_key = key;
    assert_int_equal(store_dataset_search(f->s, &q, &r, &err), 0);
    json_array_foreach (r.derived, i, x)
        n += json_is_string(x);
    store_search_result_release(&r);
    return n;
}

/* resource_create / resource_update with a link (no upload). */
static json_t *act_res(struct fixture *f, bool update, const char *params)
{
    struct err err = ERR_INIT;
    json_t *p = parse(params), *result = NULL;
    int ret = update ? catalog_resource_update(&f->c, &f->root, p, NULL, &result, &err)
                     : catalog_resource_create(&f->c, &f->root, p, NULL, &result, &err);

    if (ret)
        fail_msg("action failed: %s (%s)", err.msg, params);
    json_decref(p);
    return result;
}

/* The configuration whose options are f->o, and the catalog's hook made from it. */
static void derive_hook(struct fixture *f, struct config *cfg)
{
    memset(cfg, 0, sizeof(*cfg));
    cfg->catalog_title = (char *)f->o.catalog_title;
    cfg->catalog_contact_email = (char *)f->o.contact_email;
    dcat_options_init(&f->o, cfg, SITE);
    dcat_catalog_derive(&f->c, cfg);
}

static void set_site(struct fixture *f, const char *site)
{
    free(f->c.site_url);
    f->c.site_url = xstrdup(site);
    f->o.site_url = f->c.site_url;
}

static void test_entries_same_bytes(void **state)
{
    static const char *const sites[] = {
            "http://127.0.0.1:8080", "https://data.example.gov/open%41data",
            "https://x.example/a%4", "HTTPS://UPPER.example",
            "ftp://files.example/%", "http://h.example/ü space",
            "portal.test", /* not a URL: no entries */
    };
    struct fixture *f = *state;
    struct config cfg;
    size_t i;

    dcat_cache_clear();
    derive_hook(f, &cfg);
    /* Every public dataset written again: each gets its entry with the write. */
    assert_int_equal(entries_stored(f, &f->o), 0);
    for (i = 0; i < 5; i++) {
        static const char *const names[] = {"alpha", "bare", "closed", "hostile", "restricted"};
        char *p = xstrfmt("{\"id\": \"%s\", \"version\": \"3\"}", names[i]);

        json_decref(act(f, catalog_package_patch, p));
        free(p);
    }
    assert_int_equal(entries_stored(f, &f->o), 5);
    /* The same bytes as the mapping gives, under any site (spliced in). */
    assert_datajson_reference(f, &f->o);
    for (i = 0; i < ARRAY_SIZE(sites); i++) {
        set_site(f, sites[i]);
        assert_datajson_reference(f, &f->o);
    }
    /* A site too long for entries is written the old way. */
    {
        char *longer = xstrfmt("https://%0*d.example", (int)DCAT_SITE_MAX, 7);

        assert_false(dcat_entry_site_ok(longer));
        set_site(f, longer);
        assert_datajson_reference(f, &f->o);
        free(longer);
    }
    assert_int_equal(entries_stored(f, &f->o), 5);
}

static void test_entries_follow_writes(void **state)
{
    struct fixture *f = *state;
    struct config cfg;
    struct err err = ERR_INIT;
    char rid[UUID_STR_LEN];
    json_t *res;

    dcat_cache_clear();
    derive_hook(f, &cfg);
    /* Created, with an upload and a link. */
    json_decref(act(f, catalog_package_create,
                    "{\"name\": \"fresh\", \"owner_org\": \"stats\", \"title\": \"Fresh\"}"));
    upload(f, "fresh", "fresh.csv", "a,b\n1,2\n", rid);
    assert_datajson_reference(f, &f->o);
    /* Its entry came with the writes; the others' were stored back by that data.json. */
    assert_int_equal(entries_stored(f, &f->o), 6);
    /* Updated and patched. */
    json_decref(act(f, catalog_package_patch, "{\"id\": \"fresh\", \"title\": \"Renamed\"}"));
    assert_datajson_reference(f, &f->o);
    res = act_res(
            f, false,
            "{\"package_id\": \"fresh\", \"name\": \"link\", \"url\": \"https://l.example/x.json\","
            " \"format\": \"JSON\"}");
    assert_datajson_reference(f, &f->o);
    {
        char *p = xstrfmt("{\"id\": \"%s\", \"url\": \"https://l.example/y.csv\","
                          " \"format\": \"CSV\", \"name\": \"link\"}",
                          sget(res, "id"));

        json_decref(act_res(f, true, p));
        free(p);
        assert_datajson_reference(f, &f->o);
        p = xstrfmt("{\"id\": \"%s\"}", sget(res, "id"));
        json_decref(act(f, catalog_resource_delete, p));
        free(p);
        assert_datajson_reference(f, &f->o);
    }
    json_decref(res);
    /* A table in the datastore (describedBy), written without a bump of the dates. */
    assert_int_equal(store_begin(f->s, &err), 0);
    assert_int_equal(catalog_resource_datastore(&f->c, &f->root, rid, true, "complete", NULL, &err),
                     0);
    assert_int_equal(store_commit(f->s, &err), 0);
    assert_datajson_reference(f, &f->o);
    {
        struct dcat_stream *s = NULL;
        size_t len;
        char *text;

        assert_int_equal(dcat_datajson_open(&f->c, &f->o, &s, &err), 0);
        text = read_stream(s, 4096, &len);
        dcat_stream_free(s);
        assert_non_null(strstr(text, SITE "/dataset/fresh/datapackage.json"));
        free(text);
    }
    /* Restricted, then private (out of data.json, and its entry gone), then public and
     * deleted. */
    json_decref(act(f, catalog_package_patch,
                    "{\"id\": \"fresh\", \"access_level\": \"restricted public\"}"));
    assert_datajson_reference(f, &f->o);
    json_decref(act(f, catalog_package_patch, "{\"id\": \"fresh\", \"private\": true}"));
    assert_datajson_reference(f, &f->o);
    assert_int_equal(entries_stored(f, &f->o), 5);
    json_decref(act(f, catalog_package_patch, "{\"id\": \"fresh\", \"private\": false}"));
    assert_int_equal(entries_stored(f, &f->o), 6);
    json_decref(act(f, catalog_package_delete, "{\"id\": \"fresh\"}"));
    assert_datajson_reference(f, &f->o);
}

static void test_entries_written_back(void **state)
{
    struct fixture *f = *state;
    struct dcat_options o2;
    struct dcat_stream *s = NULL;
    struct err err = ERR_INIT;
    char *first, *again;
    size_t len, alen;

    /* Datasets written without the hook (an older portal): the first data.json derives
     * their entries and stores them back; the next one reads them. */
    dcat_cache_clear();
    assert_int_equal(entries_stored(f, &f->o), 0);
    assert_int_equal(dcat_datajson_open(&f->c, &f->o, &s, &err), 0);
    first = read_stream(s, 4096, &len);
    dcat_stream_free(s);
    assert_int_equal(entries_stored(f, &f->o), 5);
    dcat_cache_clear();
    assert_int_equal(dcat_datajson_open(&f->c, &f->o, &s, &err), 0);
    again = read_stream(s, 4096, &alen);
    dcat_stream_free(s);
    assert_int_equal(alen, len);
    assert_memory_equal(again, first, len);
    free(again);
    free(first);
    assert_datajson_reference(f, &f->o);
    /* Other options (a configuration change): other entries, stored back in turn; the
     * site URL alone is no change. */
    o2 = f->o;
    o2.catalog_publisher = "Another publisher";
    assert_int_equal(entries_stored(f, &o2), 0);
    assert_datajson_reference(f, &o2);
    assert_int_equal(entries_stored(f, &o2), 5);
    o2.site_url = "https://elsewhere.example";
    assert_int_equal(entries_stored(f, &o2), 5);
}

static void test_entry_parts(void **state)
{
    struct fixture *f = *state;
    struct dcat_options o = f->o, to = f->o;
    uint8_t a[SHA256_LEN], b[SHA256_LEN];
    struct buf out = BUF_INIT;
    json_t *doc;
    char *url;

    (void)state;
    /* The key: the options and the revision, never the site. */
    dcat_entry_key(&o, a);
    o.site_url = "https://other.example";
    dcat_entry_key(&o, b);
    assert_memory_equal(a, b, SHA256_LEN);
    o.bureau_code = "015:11";
    dcat_entry_key(&o, b);
    assert_memory_not_equal(a, b, SHA256_LEN);
    /* Sites entries may be spliced under. */
    assert_true(dcat_entry_site_ok("http://127.0.0.1:8080"));
    assert_true(dcat_entry_site_ok("https://data.example.gov/sub"));
    assert_false(dcat_entry_site_ok(""));
    assert_false(dcat_entry_site_ok("http://"));
    assert_false(dcat_entry_site_ok("http:///x"));
    assert_false(dcat_entry_site_ok("mailto:x@y"));
    assert_false(dcat_entry_site_ok("http://a\tb"));
    /* The site only as the marker byte; spliced back. */
    to.site_url = dcat_entry_site();
    url = xstrfmt("%s/dataset/x/resource/r/download/a.csv", to.site_url);
    doc = json_pack("{s:s,s:s,s:[{s:s,s:s,s:s}]}", "id", "x", "name", "x", "resources", "url", url,
                    "format", "CSV", "url_type", "upload");
    free(url);
    assert_true(dcat_entry_make(&to, doc, &out));
    assert_null(strstr(out.buf, to.site_url));
    assert_non_null(
            strstr(out.buf, "\"downloadURL\":\"\x01/dataset/x/resource/r/download/a.csv\""));
    {
        struct buf spliced = BUF_INIT;

        dcat_entry_splice(out.buf, out.len, "https://s.example", 17, &spliced);
        assert_non_null(strstr(spliced.buf, "\"landingPage\":\"https://s.example/dataset/x\""));
        assert_null(strchr(spliced.buf, '\x01'));
        buf_release(&spliced);
    }
    json_decref(doc);
    /* A URL so long that another site could push it past LIMIT_URL_MAX: no entry. */
    buf_reset(&out);
    url = xstrfmt("%s/dataset/x/resource/r/download/%0*d.csv", to.site_url,
                  (int)(LIMIT_URL_MAX - DCAT_SITE_MAX - 30), 1);
    doc = json_pack("{s:s,s:s,s:[{s:s,s:s}]}", "id", "x", "name", "x", "resources", "url", url,
                    "format", "CSV");
    free(url);
    assert_false(dcat_entry_make(&to, doc, &out));
    json_decref(doc);
    buf_release(&out);
}

static void test_split(void **state)
{
    static const struct {
        const char *text;
        int ret;
        size_t n;
    } cases[] = {
            {"", 0, 0},
            {"{}", 0, 1},
            {"{\"a\":1},{\"b\":[1,{\"c\":2}]}", 0, 2},
            {"{\"a\":\"},{\\\"\\\\\"},{\"b\":\"]\"}", 0, 2},
            {"{\"a\":\"x\\\\\"}", 0, 1},
            {"{},", -1, 0},
            {",{}", -1, 0},
            {"{}{}", -1, 0},
            {"{}, {}", -1, 0},
            {"{\"a\":\"}", -1, 0},
            {"{\"a\":1", -1, 0},
            {"{]}", -1, 0},
            {"[1]", -1, 0},
            {"{\"a\":\"\\\"}", -1, 0},
    };
    size_t starts[4], lens[4], n;

    (void)state;
    for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
        const char *t = cases[i].text;
        int ret = dcat_split_objects(t, strlen(t), starts, lens, ARRAY_SIZE(starts), &n);

        if (ret != cases[i].ret || (!ret && n != cases[i].n))
            fail_msg("split %s: %d, %zu", t, ret, n);
        /* The pieces and their commas are the text again. */
        if (!ret) {
            struct buf b = BUF_INIT;

            for (size_t k = 0; k < n; k++) {
                if (k)
                    buf_addch(&b, ',');
                buf_add(&b, t + starts[k], lens[k]);
            }
            assert_string_equal(b.buf, t);
            buf_release(&b);
        }
    }
    /* More objects than room. */
    assert_int_equal(dcat_split_objects("{},{}", 5, starts, lens, 1, &n), -1);
}

/* A xorshift generator: incompressible bytes for the cache's size limit. */
static uint64_t next_random(uint64_t *x)
{
    *x ^= *x << 13;
    *x ^= *x >> 7;
    *x ^= *x << 17;
    return *x;
}

static void test_cache(void **state)
{
    struct dcat_codec z;
    struct buf out = BUF_INIT;
    uint8_t key[32], other[32];
    size_t entries, bytes, big = DCAT_CACHE_BYTES / 64, n = 0;
    uint64_t x = 88172645463325252ull;
    char *text;

    (void)state;
    dcat_cache_clear();
    dcat_codec_init(&z);
    sha256("a", 1, key);
    sha256("b", 1, other);
    assert_false(dcat_cache_get(&z, key, &out));
    dcat_cache_put(&z, key, "{\"@type\":\"dcat:Dataset\",\"title\":\"x\"}", 37);
    buf_addstr(&out, "[");
    assert_true(dcat_cache_get(&z, key, &out));
    assert_string_equal(out.buf, "[{\"@type\":\"dcat:Dataset\",\"title\":\"x\"}");
    assert_false(dcat_cache_get(&z, other, &out));
    assert_string_equal(out.buf, "[{\"@type\":\"dcat:Dataset\",\"title\":\"x\"}");
    /* A second put of the same key keeps the first. */
    dcat_cache_put(&z, key, "{}", 2);
    buf_reset(&out);
    assert_true(dcat_cache_get(&z, key, &out));
    assert_int_equal(out.len, 37);

    /* Past DCAT_CACHE_BYTES the oldest go: fill with incompressible entries. */
    text = xmalloc(big);
    while (n * big < DCAT_CACHE_BYTES + 4 * big) {
        uint8_t k[32];

        for (size_t i = 0; i < big; i++)
            text[i] = (char)next_random(&x);
        sha256(&n, sizeof(n), k);
        dcat_cache_put(&z, k, text, big);
        n++;
    }
    dcat_cache_stats(&entries, &bytes);
    assert_true(bytes <= DCAT_CACHE_BYTES);
    assert_true(entries < n + 1);
    buf_reset(&out);
    assert_false(dcat_cache_get(&z, key, &out)); /* the oldest went first */
    {
        uint8_t k[32];
        size_t last = n - 1;

        sha256(&last, sizeof(last), k);
        assert_true(dcat_cache_get(&z, k, &out)); /* the newest stayed */
        assert_int_equal(out.len, big);
        assert_memory_equal(out.buf, text, big);
    }
    /* Too large to cache at all. */
    dcat_cache_put(&z, other, text, big + 1);
    buf_reset(&out);
    assert_false(dcat_cache_get(&z, other, &out));
    free(text);
    buf_release(&out);
    dcat_codec_release(&z);
    dcat_cache_clear();
}

static void test_cache_on_disk(void **state)
{
    struct dcat_codec z;
    struct buf out = BUF_INIT;
    char dir[64], *path;
    uint8_t k1[32], k2[32];
    size_t entries, bytes;
    FILE *fp;

    (void)state;
    assert_int_equal(unit_tmpdir(dir, sizeof(dir), "dcatcache"), 0);
    dcat_cache_clear();
    dcat_codec_init(&z);
    sha256("1", 1, k1);
    sha256("2", 1, k2);
    dcat_cache_put(&z, k1, "{\"title\":\"one\"}", 15);
    dcat_cache_put(&z, k2, "{\"title\":\"two\"}", 15);
    dcat_cache_save(dir);
    dcat_cache_clear();
    dcat_cache_load(dir);
    dcat_cache_stats(&entries, &bytes);
    assert_int_equal(entries, 2);
    assert_true(dcat_cache_get(&z, k2, &out));
    assert_true(dcat_cache_get(&z, k1, &out));
    assert_string_equal(out.buf, "{\"title\":\"two\"}{\"title\":\"one\"}");
    /* Once per process: a second load adds nothing. */
    dcat_cache_clear();
    dcat_cache_load(dir);
    dcat_cache_load(dir);
    dcat_cache_stats(&entries, &bytes);
    assert_int_equal(entries, 2);
    /* A file whose bytes changed is not read at all. */
    path = xstrfmt("%s/entries", dir);
    fp = fopen(path, "r+");
    assert_non_null(fp);
    assert_int_equal(fseek(fp, 16 + 32 + 8 + 1, SEEK_SET), 0);
    assert_int_equal(fputc(0x5a, fp), 0x5a);
    assert_int_equal(fclose(fp), 0);
    dcat_cache_clear();
    dcat_cache_load(dir);
    dcat_cache_stats(&entries, &bytes);
    assert_int_equal(entries, 0);
    /* Nor one cut short. */
    dcat_cache_put(&z, k1, "{\"title\":\"one\"}", 15);
    dcat_cache_save(dir);
    assert_int_equal(truncate(path, 40), 0);
    dcat_cache_clear();
    dcat_cache_load(dir);
    dcat_cache_stats(&entries, &bytes);
    assert_int_equal(entries, 0);
    free(path);
    buf_release(&out);
    dcat_codec_release(&z);
    dcat_cache_clear();
    unit_remove_tree(dir);
}

/* ---- DCAT-AP ----------------------------------------------------------------------------- */

struct parsed {
    raptor_world *w;
    json_t *triples; /* canonical N-Triples-like strings → true */
    bool error;
};

static void parsed_statement(void *ctx, raptor_statement *st)
{
    struct parsed *p = ctx;
    unsigned char *s = raptor_term_to_string(st->subject);
    unsigned char *pr = raptor_term_to_string(st->predicate);
    unsigned char *o = raptor_term_to_string(st->object);
    char *key, *at;

    /* Language tags are case-insensitive (raptor's RDF/XML reader lower-cases them). */
    if (st->object->type == RAPTOR_TERM_TYPE_LITERAL && st->object->value.literal.language &&
        (at = strrchr((char *)o, '@')))
        for (char *c = at; *c; c++)
            *c = (char)(*c >= 'A' && *c <= 'Z' ? *c - 'A' + 'a' : *c);
    /* Blank node labels are the parser's own: count them as one kind. */
    key = xstrfmt("%s %s %s", st->subject->type == RAPTOR_TERM_TYPE_BLANK ? "_" : (char *)s,
                  (char *)pr, st->object->type == RAPTOR_TERM_TYPE_BLANK ? "_" : (char *)o);
    json_object_set_new(p->triples, key,
                        json_integer(json_integer_value(json_object_get(p->triples, key)) + 1));
    free(key);
    raptor_free_memory(s);
    raptor_free_memory(pr);
    raptor_free_memory(o);
}

static void parsed_log(void *ctx, raptor_log_message *m)
{
    struct parsed *p = ctx;

    if (m->level >= RAPTOR_LOG_LEVEL_ERROR) {
        p->error = true;
        fprintf(stderr, "raptor: %s\n", m->text);
    }
}

/* The statements of a Turtle or RDF/XML document, counted by their text (blank nodes as
 * "_"), parsed by raptor2. */
static json_t *raptor_parse(const char *syntax, const char *text, size_t len)
{
    struct parsed p = {raptor_new_world(), json_object(), false};
    raptor_parser *rp;
    raptor_uri *base;

    assert_int_equal(raptor_world_open(p.w), 0);
    raptor_world_set_log_handler(p.w, &p, parsed_log);
    rp = raptor_new_parser(p.w, syntax);
    assert_non_null(rp);
    raptor_parser_set_statement_handler(rp, &p, parsed_statement);
    base = raptor_new_uri(p.w, (const unsigned char *)"http://base.invalid/");
    assert_int_equal(raptor_parser_parse_start(rp, base), 0);
    assert_int_equal(raptor_parser_parse_chunk(rp, (const unsigned char *)text, len, 1), 0);
    assert_false(p.error);
    raptor_free_uri(base);
    raptor_free_parser(rp);
    raptor_free_world(p.w);
    return p.triples;
}

/* The same count from a JSON-LD document of this module's shape (flat @graph, compact
 * IRIs with the context's prefixes). */
static char *expand(json_t *context, const char *v)
{
    const char *colon = strchr(v, ':');

    if (colon && strncmp(v, "http", 4) && strncmp(v, "mailto", 6) && strncmp(v, "_:", 2)) {
        char *prefix = xstrndup(v, (size_t)(colon - v));
        const char *ns = sget(context, prefix);

        free(prefix);
        if (ns)
            return xstrfmt("%s%s", ns, colon + 1);
    }
    return xstrdup(v);
}

static char *jsonld_term(json_t *context, json_t *v)
{
    const char *id = sget(v, "@id"), *value = sget(v, "@value");

    if (id)
        return !strncmp(id, "_:", 2) ? xstrdup("_") : xstrfmt("<%s>", id);
    assert_non_null(value);
    if (sget(v, "@language"))
        return xstrfmt("\"%s\"@%s", value, sget(v, "@language"));
    if (sget(v, "@type")) {
        char *t = expand(context, sget(v, "@type")), *r = xstrfmt("\"%s\"^^<%s>", value, t);

        free(t);
        return r;
    }
    return xstrfmt("\"%s\"", value);
}

static json_t *jsonld_parse(const char *text)
{
    json_t *doc = parse(text), *context = json_object_get(doc, "@context"), *node,
           *out = json_object();
    size_t i;

    json_array_foreach (json_object_get(doc, "@graph"), i, node) {
        const char *id = sget(node, "@id"), *key;
        char *s = !strncmp(id, "_:", 2) ? xstrdup("_") : xstrfmt("<%s>", id);
        json_t *values;

        json_object_foreach (node, key, values) {
            char *p;
            size_t j;
            json_t *v;

            if (!strcmp(key, "@id"))
                continue;
            p = !strcmp(key, "@type") ? xstrdup(NS_RDF "type") : expand(context, key);
            json_array_foreach (values, j, v) {
                char *o, *k;

                if (json_is_string(v)) {
                    char *t = expand(context, json_string_value(v));

                    o = xstrfmt("<%s>", t);
                    free(t);
                } else {
                    o = jsonld_term(context, v);
                }
                k = xstrfmt("%s <%s> %s", s, p, o);
                json_object_set_new(out, k,
                                    json_integer(json_integer_value(json_object_get(out, k)) + 1));
                free(k);
                free(o);
            }
            free(p);
        }
        free(s);
    }
    json_decref(doc);
    return out;
}

/* Same keys in both (counts aside: a repeated triple is one triple). */
static void assert_same_triples(json_t *a, json_t *b)
{
    const char *k;
    json_t *v;

    json_object_foreach (a, k, v) {
        if (!json_object_get(b, k)) {
            const char *k2;

            json_object_foreach (b, k2, v)
                fprintf(stderr, "other: %s\n", k2);
            fail_msg("only in one document: %s", k);
        }
    }
    json_object_foreach (b, k, v) {
        if (!json_object_get(a, k))
            fail_msg("only in the other document: %s", k);
    }
}

static char *document(struct fixture *f, enum dcat_format fmt, const char *name, size_t *len)
{
    struct buf b = BUF_INIT;
    struct err err = ERR_INIT;

    if (dcat_dataset_rdf(&f->c, &f->o, fmt, name, &b, &err))
        fail_msg("dataset %s: %s", name, err.msg);
    return buf_detach(&b, len);
}

static void test_rdf_round_trip(void **state)
{
    struct fixture *f = *state;
    static const char *const names[] = {"alpha", "restricted", "closed", "bare", "hostile"};

    for (size_t i = 0; i < ARRAY_SIZE(names); i++) {
        size_t tl, xl, jl;
        char *ttl = document(f, DCAT_TURTLE, names[i], &tl);
        char *xml = document(f, DCAT_RDFXML, names[i], &xl);
        char *jld = document(f, DCAT_JSONLD, names[i], &jl);
        json_t *a = raptor_parse("turtle", ttl, tl), *b = raptor_parse("rdfxml", xml, xl);
        json_t *c = jsonld_parse(jld);

        /* Blank nodes make raptor's text and ours differ only in labels, which all three
         * count as "_"; literals are compared by raptor's text form, so JSON-LD's are
         * checked by count. */
        assert_same_triples(a, b);
        assert_int_equal(json_object_size(a), json_object_size(b));
        if (!strcmp(names[i], "alpha"))
            assert_true(json_object_size(a) > 60);
        assert_true(json_object_size(c) > 0);
        json_decref(a);
        json_decref(b);
        json_decref(c);
        free(ttl);
        free(xml);
        free(jld);
    }
}

static void test_rdf_content(void **state)
{
    struct fixture *f = *state;
    size_t len;
    char *ttl = document(f, DCAT_TURTLE, "alpha", &len), *jld;
    json_t *t = raptor_parse("turtle", ttl, len), *doc;
    json_t *pkg = show(f, "alpha");
    char *ds = xstrfmt("<" SITE "/dataset/%s>", sget(pkg, "id")), *k;
    static const char *const wanted[] = {
            " <" NS_RDF "type> <" NS_DCAT "Dataset>",
            " <" NS_DCT "title> \"Alpha statistics\"",
            /* raptor writes non-ASCII as \\u escapes */
            " <" NS_DCT "title> \"\\u7532\\u7EDF\\u8BA1\"@zh-cn",
            " <" NS_DCAT "keyword> \"\\u7EDF\\u8BA1\"",
            " <" NS_DCT "issued> \"2009-05-01\"^^<" NS_XSD "date>",
            " <" NS_DCT "accrualPeriodicity> <" EU_FREQ "ANNUAL>",
            " <" NS_DCT "language> <" EU_LANG "ZHO>",
            " <" NS_DCT "license> <https://creativecommons.org/licenses/by/4.0/>",
            " <" NS_DCT "accessRights> <" EU_ACCESS "PUBLIC>",
            " <" NS_DCAT "theme> <" SITE "/group/economy-theme>",
            " <" NS_DCAT "landingPage> <https://stats.example.gov/alpha>",
            " <" NS_DCT "conformsTo> <https://standards.example/s1>",
            " <" NS_FOAF "page> <https://b.example/x%20y>",
            " <" NS_DCAT "version> \"2.1\"",
    };
    static const char *const typed[] = {
            "_ <" NS_RDF "type> <" NS_DCT "PeriodOfTime>",
            "_ <" NS_DCAT "startDate> \"2010-01-01\"^^<" NS_XSD "date>",
            "_ <" NS_DCAT "endDate> \"2012-12-31\"^^<" NS_XSD "date>",
            "_ <" NS_RDF "type> <" NS_VCARD "Kind>",
            "_ <" NS_RDF "type> <" NS_VCARD "Individual>",
            "_ <" NS_VCARD "hasEmail> <mailto:ada@stats.example.gov>",
            "_ <" NS_RDF "type> <" NS_DCT "Location>",
            "_ <" NS_SKOS "prefLabel> \"Beijing\"",
            "<https://creativecommons.org/licenses/by/4.0/> <" NS_RDF "type> <" NS_DCT
            "LicenseDocument>",
            "<" EU_FREQ "ANNUAL> <" NS_RDF "type> <" NS_DCT "Frequency>",
            "<" SITE "/group/economy-theme> <" NS_SKOS "prefLabel> \"Economy\"",
            "<" SITE "/group/economy-theme> <" NS_RDF "type> <" NS_SKOS "Concept>",
            "<" IANA_MEDIA "text/csv> <" NS_RDF "type> <" NS_DCT "MediaType>",
            "<" EU_FILE "CSV> <" NS_RDF "type> <" NS_DCT "MediaTypeOrExtent>",
    };

    for (size_t i = 0; i < ARRAY_SIZE(wanted); i++) {
        k = xstrfmt("%s%s", ds, wanted[i]);
        if (!json_object_get(t, k))
            fail_msg("missing: %s\nin:\n%s", k, ttl);
        free(k);
    }
    for (size_t i = 0; i < ARRAY_SIZE(typed); i++) {
        if (!json_object_get(t, typed[i]))
            fail_msg("missing: %s\nin:\n%s", typed[i], ttl);
    }
    /* The English translation equal to the title is not repeated. */
    k = xstrfmt("%s <" NS_DCT "title> \"Alpha statistics\"@en", ds);
    assert_null(json_object_get(t, k));
    free(k);
    json_decref(t);
    free(ttl);

    /* JSON-LD: one node per subject, typed, with the context's prefixes. */
    jld = document(f, DCAT_JSONLD, "alpha", &len);
    doc = parse(jld);
    assert_string_equal(sget(json_object_get(doc, "@context"), "dcat"), NS_DCAT);
    assert_string_equal(
            json_string_value(json_array_get(
                    json_object_get(json_array_get(json_object_get(doc, "@graph"), 0), "@type"),
                    0)),
            "dcat:Dataset");
    json_decref(doc);
    free(jld);
    free(ds);
    json_decref(pkg);
}

static void test_rdf_hostile(void **state)
{
    struct fixture *f = *state;
    size_t len;
    char *ttl = document(f, DCAT_TURTLE, "hostile", &len);
    char *xml, *k;
    json_t *t = raptor_parse("turtle", ttl, len), *pkg = show(f, "hostile");
    char *ds = xstrfmt("<" SITE "/dataset/%s>", sget(pkg, "id"));

    /* The control character became U+FFFD (XML 1.0 cannot carry it); the rest is data. */
    k = xstrfmt("%s <" NS_DCT "title> \"<b>\\\"\\\"\\\" end\\uFFFD \\uFFFD \\\\ '\n>\"", ds);
    if (!json_object_get(t, k))
        fail_msg("missing: %s\nin:\n%s", k, ttl);
    free(k);
    /* The link's IRI is encoded: no '>' or space can end it early. */
    k = xstrfmt("%s <" NS_DCAT "landingPage> <" SITE "/dataset/hostile>", ds);
    assert_non_null(json_object_get(t, k));
    free(k);
    assert_non_null(strstr(ttl, "<https://h.example/a%20b%3Ec%22d%7B%7D%25zz>"));
    /* An unknown format is a labelled node; a media type with parameters loses them. */
    assert_non_null(json_object_get(t, "_ <" NS_RDFS "label> \"weird format\""));
    assert_non_null(
            json_object_get(t, "<" IANA_MEDIA "text/csv> <" NS_RDF "type> <" NS_DCT "MediaType>"));
    json_decref(t);
    free(ttl);
    xml = document(f, DCAT_RDFXML, "hostile", &len);
    t = raptor_parse("rdfxml", xml, len);
    assert_true(json_object_size(t) > 10);
    json_decref(t);
    free(xml);
    free(ds);
    json_decref(pkg);
}

static void test_catalog_pages(void **state)
{
    struct fixture *f = *state;
    struct dcat_options o = f->o;
    struct err err = ERR_INIT;
    struct buf b = BUF_INIT;
    json_t *t;
    const char *page = "<" SITE "/catalog.ttl?page=2>";
    char *k;

    o.page_size = 2;
    assert_int_equal(dcat_catalog_page(&f->c, &o, DCAT_TURTLE, 2, &b, &err), 0);
    t = raptor_parse("turtle", b.buf, b.len);
    k = xstrfmt("%s <" NS_HYDRA "totalItems> \"5\"^^<" NS_XSD "integer>", page);
    assert_non_null(json_object_get(t, k));
    free(k);
    k = xstrfmt("%s <" NS_HYDRA "itemsPerPage> \"2\"^^<" NS_XSD "integer>", page);
    assert_non_null(json_object_get(t, k));
    free(k);
    k = xstrfmt("%s <" NS_HYDRA "nextPage> \"" SITE "/catalog.ttl?page=3\"", page);
    assert_non_null(json_object_get(t, k));
    free(k);
    k = xstrfmt("%s <" NS_HYDRA "previousPage> \"" SITE "/catalog.ttl?page=1\"", page);
    assert_non_null(json_object_get(t, k));
    free(k);
    k = xstrfmt("%s <" NS_HYDRA "lastPage> \"" SITE "/catalog.ttl?page=3\"", page);
    assert_non_null(json_object_get(t, k));
    free(k);
    assert_non_null(json_object_get(t, "<" SITE "/> <" NS_RDF "type> <" NS_DCAT "Catalog>"));
    assert_non_null(json_object_get(t, "<" SITE "/> <" NS_DCT "title> \"Test catalog\""));
    /* Two datasets on the page: the third and fourth by name. */
    {
        const char *key;
        json_t *v;
        int n = 0;

        json_object_foreach (t, key, v) {
            if (strstr(key, "<" NS_RDF "type> <" NS_DCAT "Dataset>"))
                n++;
        }
        assert_int_equal(n, 2);
    }
    assert_non_null(strstr(b.buf, SITE "/dataset/closed"));
    assert_non_null(strstr(b.buf, SITE "/dataset/hostile"));
    assert_null(strstr(b.buf, SITE "/dataset/bare>"));
    json_decref(t);
    buf_release(&b);

    /* The last page has no next page; past it there is nothing. */
    assert_int_equal(dcat_catalog_page(&f->c, &o, DCAT_JSONLD, 3, &b, &err), 0);
    assert_null(strstr(b.buf, "hydra:nextPage"));
    assert_non_null(strstr(b.buf, "hydra:previousPage"));
    assert_non_null(strstr(b.buf, SITE "/catalog.jsonld?page=2"));
    buf_release(&b);
    assert_int_equal(dcat_catalog_page(&f->c, &o, DCAT_TURTLE, 4, &b, &err), -ERR_NOT_FOUND);
    assert_int_equal(b.len, 0);
    err_clear(&err);
    assert_int_equal(dcat_catalog_page(&f->c, &o, DCAT_TURTLE, 0, &b, &err), -ERR_NOT_FOUND);
    err_clear(&err);
    assert_int_equal(dcat_catalog_page(&f->c, &o, DCAT_RDFXML, UINT64_MAX, &b, &err),
                     -ERR_NOT_FOUND);
    buf_release(&b);
}

/* ---- Frictionless ------------------------------------------------------------------------ */

static void test_datapackage(void **state)
{
    struct fixture *f = *state;
    struct err err = ERR_INIT;
    struct datastore_ingest_request r;
    struct ingest_options io = INGEST_OPTIONS_INIT;
    json_t *dp = NULL, *res, *report = NULL;
    char *text;

    /* Links: names made valid and unique; a relative url has no path and is left out. */
    assert_int_equal(dcat_datapackage(&f->c, &f->o, "alpha", &dp, &err), 0);
    assert_string_equal(sget(dp, "name"), "alpha");
    assert_string_equal(sget(dp, "$schema"),
                        "https://datapackage.org/profiles/2.0/datapackage.json");
    res = json_object_get(dp, "resources");
    assert_int_equal(json_array_size(res), 2);
    assert_string_equal(sget(json_array_get(res, 0), "name"), "data-csv");
    assert_string_equal(sget(json_array_get(res, 1), "name"), "data-csv-2");
    assert_string_equal(sget(json_array_get(res, 0), "path"),
                        "https://stats.example.gov/alpha.csv");
    assert_string_equal(sget(json_array_get(res, 0), "format"), "csv");
    assert_string_equal(sget(json_array_get(json_object_get(dp, "licenses"), 0), "name"),
                        "CC-BY-4.0");
    json_decref(dp);
    dp = NULL;

    /* Not published: restricted, non-public, private, draft; nothing to point at. */
    assert_int_equal(dcat_datapackage(&f->c, &f->o, "restricted", &dp, &err), -ERR_NOT_FOUND);
    assert_non_null(strstr(err.msg, "restricted public"));
    err_clear(&err);
    assert_int_equal(dcat_datapackage(&f->c, &f->o, "closed", &dp, &err), -ERR_NOT_FOUND);
    err_clear(&err);
    assert_int_equal(dcat_datapackage(&f->c, &f->o, "hidden", &dp, &err), -ERR_NOT_FOUND);
    err_clear(&err);
    assert_int_equal(dcat_datapackage(&f->c, &f->o, "drafted", &dp, &err), -ERR_NOT_FOUND);
    err_clear(&err);
    assert_int_equal(dcat_datapackage(&f->c, &f->o, "no-such", &dp, &err), -ERR_NOT_FOUND);
    err_clear(&err);
    assert_null(dp);

    /* The upload before its ingest: a file without a schema. */
    assert_int_equal(dcat_datapackage(&f->c, &f->o, "bare", &dp, &err), 0);
    res = json_array_get(json_object_get(dp, "resources"), 0);
    assert_string_equal(sget(res, "name"), "table.csv");
    assert_string_equal(sget(res, "mediatype"), "text/csv");
    assert_int_equal(json_integer_value(json_object_get(res, "bytes")), 43);
    assert_true(starts_with(sget(res, "hash"), "sha256:"));
    assert_null(json_object_get(res, "schema"));
    json_decref(dp);
    dp = NULL;

    /* After the ingest: the table's Table Schema, and the file's encoding. */
    memset(&r, 0, sizeof(r));
    r.resource_id = f->upload_rid;
    r.opts = io;
    if (datastore_ingest(&f->c, &f->root, &r, &report, &err))
        fail_msg("ingest: %s", err.msg);
    json_decref(report);
    assert_int_equal(dcat_datapackage(&f->c, &f->o, "bare", &dp, &err), 0);
    res = json_array_get(json_object_get(dp, "resources"), 0);
    assert_string_equal(sget(res, "type"), "table");
    text = json_dumps(json_object_get(json_object_get(res, "schema"), "fields"),
                      JSON_COMPACT | JSON_SORT_KEYS);
    assert_string_equal(text, "[{\"name\":\"year\",\"title\":\"year\",\"type\":\"integer\"},"
                              "{\"name\":\"value\",\"title\":\"value\",\"type\":\"number\"},"
                              "{\"name\":\"code\",\"title\":\"code\",\"type\":\"string\"}]");
    free(text);
    assert_string_equal(sget(res, "encoding"), "utf-8");
    json_decref(dp);
}

static void test_private_never(void **state)
{
    struct fixture *f = *state;
    struct err err = ERR_INIT;
    struct buf b = BUF_INIT;
    json_t *pkg = show(f, "restricted");
    char rid[UUID_STR_LEN];

    xsnprintf(rid, sizeof(rid), "%s",
              sget(json_array_get(json_object_get(pkg, "resources"), 0), "id"));
    json_decref(pkg);

    for (int fmt = DCAT_TURTLE; fmt <= DCAT_JSONLD; fmt++) {
        assert_int_equal(dcat_dataset_rdf(&f->c, &f->o, fmt, "hidden", &b, &err), -ERR_NOT_FOUND);
        err_clear(&err);
        assert_int_equal(dcat_dataset_rdf(&f->c, &f->o, fmt, "drafted", &b, &err), -ERR_NOT_FOUND);
        err_clear(&err);
        assert_int_equal(b.len, 0);
        assert_int_equal(dcat_catalog_page(&f->c, &f->o, fmt, 1, &b, &err), 0);
        assert_null(strstr(b.buf, "Hidden title"));
        assert_null(strstr(b.buf, "Draft title"));
        assert_null(strstr(b.buf, "/dataset/hidden"));
        /* The restricted dataset's file link appears nowhere, nor its resource's id
         * (the download route takes it). */
        assert_null(strstr(b.buf, "r.csv"));
        assert_null(strstr(b.buf, rid));
        assert_null(strstr(b.buf, "c.csv"));
        assert_non_null(strstr(b.buf, "Restricted"));
        buf_reset(&b);
    }
    buf_release(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_dates),
            cmocka_unit_test(test_durations_and_intervals),
            cmocka_unit_test(test_addresses_and_types),
            cmocka_unit_test(test_config),
            cmocka_unit_test(test_negotiate),
            cmocka_unit_test_setup_teardown(test_datajson_fields, setup, teardown),
            cmocka_unit_test_setup_teardown(test_datajson_defaults, setup, teardown),
            cmocka_unit_test_setup_teardown(test_datajson_stream, setup, teardown),
            cmocka_unit_test_setup_teardown(test_datajson_batches, setup, teardown),
            cmocka_unit_test_setup_teardown(test_datajson_sees_changes, setup, teardown),
            cmocka_unit_test_setup_teardown(test_datajson_kept, setup, teardown),
            cmocka_unit_test_setup_teardown(test_entries_same_bytes, setup, teardown),
            cmocka_unit_test_setup_teardown(test_entries_follow_writes, setup, teardown),
            cmocka_unit_test_setup_teardown(test_entries_written_back, setup, teardown),
            cmocka_unit_test_setup_teardown(test_entry_parts, setup, teardown),
            cmocka_unit_test(test_split),
            cmocka_unit_test(test_cache),
            cmocka_unit_test(test_cache_on_disk),
            cmocka_unit_test_setup_teardown(test_rdf_round_trip, setup, teardown),
            cmocka_unit_test_setup_teardown(test_rdf_content, setup, teardown),
            cmocka_unit_test_setup_teardown(test_rdf_hostile, setup, teardown),
            cmocka_unit_test_setup_teardown(test_catalog_pages, setup, teardown),
            cmocka_unit_test_setup_teardown(test_datapackage, setup, teardown),
            cmocka_unit_test_setup_teardown(test_private_never, setup, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
