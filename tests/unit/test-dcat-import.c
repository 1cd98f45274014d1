/*
 * test-dcat-import.c - reading the metadata standards back (src/dcat/import*.c, the
 * mapping of `kaifang load FILE|URL`): data.json with every DCAT-US field, a bare array,
 * data packages with Table Schemas, DCAT-AP in Turtle, RDF/XML and JSON-LD, format
 * detection, and bad documents refused with the place named (dataset, field; line and
 * column for Turtle) and nothing kept of them.
 */
#include <jansson.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "dcat/dcat-import.h"
#include "core/util.h"

static const char *extra(const json_t *pkg, const char *key)
{
    json_t *e;
    size_t i;

    json_array_foreach (json_object_get(pkg, "extras"), i, e) {
        if (str_eq(json_string_value(json_object_get(e, "key")), key))
            return json_string_value(json_object_get(e, "value"));
    }
    return NULL;
}

static const char *str(const json_t *obj, const char *key)
{
    return json_string_value(json_object_get(obj, key));
}

static int map(enum dcat_import_format f, const char *doc, struct dcat_import *im, struct err *err)
{
    return dcat_import_map(f, doc, strlen(doc), "http://src.example/doc", im, err);
}

static void test_datajson_full(void **state)
{
    const char *doc =
            "{\"dataset\": [{\"title\": \"T\", \"description\": \"D\", \"keyword\": [\"a b\", "
            "\"人口\", \"bad,tag\"], \"modified\": \"2024-01-01\", \"issued\": \"2020\", "
            "\"publisher\": {\"name\": \"Pub\"}, \"contactPoint\": {\"fn\": \"C\", \"hasEmail\": "
            "\"mailto:c@example.org\"}, \"identifier\": \"id-1\", \"accessLevel\": \"non-public\", "
            "\"bureauCode\": [\"015:11\"], \"programCode\": [\"015:001\"], \"license\": "
            "\"https://creativecommons.org/licenses/by/4.0/\", \"rights\": \"r\", \"spatial\": "
            "\"s\", \"temporal\": \"2010/2012\", \"accrualPeriodicity\": \"R/P1Y\", "
            "\"dataQuality\": false, \"language\": [\"en\"], \"landingPage\": "
            "\"https://e.example/\", \"theme\": [\"t\"], \"distribution\": [{\"downloadURL\": "
            "\"https://e.example/a.csv\", \"accessURL\": \"https://e.example/page\", "
            "\"mediaType\": \"text/csv\", \"format\": \"csv\", \"title\": \"A\", \"description\": "
            "\"rows\"}]}]}";
    struct dcat_import im;
    struct err err = ERR_INIT;
    json_t *pkg, *r;

    (void)state;
    dcat_import_init(&im);
    assert_int_equal(map(DCAT_IMPORT_DATAJSON, doc, &im, &err), 0);
    assert_int_equal(im.n, 1);
    pkg = im.d[0].package;
    assert_string_equal(im.d[0].identifier, "id-1");
    assert_string_equal(im.d[0].publisher, "Pub");
    assert_null(im.d[0].name);
    assert_string_equal(str(pkg, "title"), "T");
    assert_string_equal(str(pkg, "notes"), "D");
    /* A keyword the catalog would refuse is dropped. */
    assert_int_equal(json_array_size(json_object_get(pkg, "tags")), 2);
    assert_string_equal(extra(pkg, "modified"), "2024-01-01");
    assert_string_equal(extra(pkg, "issued"), "2020");
    assert_string_equal(extra(pkg, "identifier"), "id-1");
    assert_string_equal(extra(pkg, "bureau_code"), "[\"015:11\"]");
    assert_string_equal(extra(pkg, "program_code"), "[\"015:001\"]");
    assert_string_equal(extra(pkg, "theme"), "[\"t\"]");
    assert_string_equal(extra(pkg, "rights"), "r");
    assert_string_equal(extra(pkg, "data_quality"), "false");
    assert_string_equal(str(pkg, "contact_name"), "C");
    assert_string_equal(str(pkg, "contact_email"), "c@example.org");
    assert_string_equal(str(pkg, "access_level"), "non-public");
    assert_true(json_is_true(json_object_get(pkg, "private")));
    assert_string_equal(str(pkg, "license_id"), "CC-BY-4.0");
    assert_string_equal(str(pkg, "temporal"), "2010/2012");
    assert_string_equal(str(pkg, "frequency"), "R/P1Y");
    assert_string_equal(str(pkg, "url"), "https://e.example/");
    r = json_array_get(json_object_get(pkg, "resources"), 0);
    assert_string_equal(str(r, "url"), "https://e.example/a.csv");
    assert_string_equal(str(r, "access_url"), "https://e.example/page");
    assert_string_equal(str(r, "format"), "CSV");
    assert_string_equal(str(r, "mimetype"), "text/csv");
    assert_string_equal(str(r, "name"), "A");
    assert_string_equal(str(r, "description"), "rows");
    dcat_import_release(&im);
}

static void test_datajson_defaults_dropped(void **state)
{
    /* What the export writes for a dataset that says nothing: the title as description
     * and keyword, the publisher as contact, an unknown licence URL. */
    const char *doc = "[{\"title\": \"Same\", \"description\": \"Same\", \"keyword\": [\"Same\"], "
                      "\"identifier\": \"x\", \"publisher\": {\"name\": \"P\"}, \"contactPoint\": "
                      "{\"fn\": \"P\"}, \"license\": \"https://licence.example/mine\"}]";
    struct dcat_import im;
    struct err err = ERR_INIT;
    json_t *pkg;

    (void)state;
    dcat_import_init(&im);
    assert_int_equal(map(DCAT_IMPORT_DATAJSON, doc, &im, &err), 0);
    pkg = im.d[0].package;
    assert_null(json_object_get(pkg, "notes"));
    assert_null(json_object_get(pkg, "tags"));
    assert_null(json_object_get(pkg, "contact_name"));
    assert_string_equal(str(pkg, "license_id"), "notspecified");
    assert_string_equal(extra(pkg, "source_license_url"), "https://licence.example/mine");
    dcat_import_release(&im);
}

static void test_datajson_errors(void **state)
{
    static const struct {
        const char *doc, *field, *msg;
    } cases[] = {
            {"{\"dataset\": [{\"title\": \"a\", \"identifier\": \"1\"}, {\"identifier\": \"2\"}]}",
             "dataset[1].title",
             "missing field \"dataset[1].title\" (dataset[1], identifier \"2\")"},
            {"[{\"title\": \"a\"}]", "dataset[0].identifier",
             "missing field \"dataset[0].identifier\" (dataset[0])"},
            {"[{\"title\": 3, \"identifier\": \"i\"}]", "dataset[0].title",
             "not a string: \"dataset[0].title\" (dataset[0], identifier \"i\")"},
            {"[{\"title\": \"a\", \"identifier\": \"i\", \"accessLevel\": \"secret\"}]",
             "dataset[0].accessLevel", "must be \"public\""},
            {"[{\"title\": \"a\", \"identifier\": \"i\", \"distribution\": [{}, {\"downloadURL\": "
             "\"file:///etc/passwd\"}]}]",
             "dataset[0].distribution[1].downloadURL", "invalid URL in"},
            {"[{\"title\": \"a\", \"identifier\": \"i\", \"contactPoint\": {\"hasEmail\": "
             "\"mailto:nobody\"}}]",
             "contactPoint.hasEmail", "invalid e-mail address \"nobody\""},
            {"[{\"title\": \"a\", \"identifier\": \"i\", \"temporal\": \"soon\"}]", "temporal",
             "invalid ISO 8601 interval \"soon\""},
            {"{\"dataset\": {}}", "dataset", "holds no \"dataset\" list"},
            {"{\"dataset\": [\n{\"title\": }]}", "", "invalid JSON at line 2"},
            {"[7]", "dataset[0]", "not an object: \"dataset[0]\""},
    };

    (void)state;
    for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
        struct dcat_import im;
        struct err err = ERR_INIT;

        dcat_import_init(&im);
        assert_int_equal(map(DCAT_IMPORT_DATAJSON, cases[i].doc, &im, &err), -ERR_VALIDATION);
        assert_string_equal(err.field, cases[i].field);
        if (!strstr(err.msg, cases[i].msg))
            fail_msg("case %zu: \"%s\" lacks \"%s\"", i, err.msg, cases[i].msg);
        /* Nothing of a bad document is kept. */
        assert_int_equal(im.n, 0);
        dcat_import_release(&im);
    }
}

static void test_failed_document_keeps_earlier(void **state)
{
    struct dcat_import im;
    struct err err = ERR_INIT;

    (void)state;
    dcat_import_init(&im);
    assert_int_equal(
            map(DCAT_IMPORT_DATAJSON, "[{\"title\": \"a\", \"identifier\": \"1\"}]", &im, &err), 0);
    assert_int_equal(map(DCAT_IMPORT_DATAJSON,
                         "[{\"title\": \"b\", \"identifier\": \"2\"}, {\"title\": 1}]", &im, &err),
                     -ERR_VALIDATION);
    assert_int_equal(im.n, 1);
    assert_string_equal(im.d[0].identifier, "1");
    dcat_import_release(&im);
}

static void test_datapackage(void **state)
{
    const char *doc =
            "{\"name\": \"my-package\", \"id\": \"https://e.example/dataset/1\", \"title\": \"P\", "
            "\"description\": \"d\", \"version\": \"1.0\", \"keywords\": [\"k1\"], \"licenses\": "
            "[{\"name\": \"other-pd\", \"path\": \"https://www.usa.gov/government-works\"}], "
            "\"contributors\": [{\"title\": \"Pub\", \"roles\": [\"publisher\"]}], \"sources\": "
            "[{\"path\": \"https://src.example/\"}], \"resources\": [{\"name\": \"r\", \"title\": "
            "\"R.csv\", \"path\": \"https://e.example/r.csv\", \"format\": \"csv\", "
            "\"mediatype\": \"text/csv\", \"bytes\": 10, \"schema\": {\"fields\": [{\"name\": "
            "\"a\", \"type\": \"integer\", \"title\": \"A\"}, {\"name\": \"b\", \"type\": "
            "\"datetime\", \"description\": \"when\"}]}}]}";
    struct dcat_import im;
    struct err err = ERR_INIT;
    json_t *pkg, *r, *schemas, *fields;

    (void)state;
    dcat_import_init(&im);
    assert_int_equal(map(DCAT_IMPORT_DATAPACKAGE, doc, &im, &err), 0);
    assert_int_equal(im.n, 1);
    pkg = im.d[0].package;
    assert_string_equal(im.d[0].name, "my-package");
    assert_string_equal(im.d[0].identifier, "https://e.example/dataset/1");
    assert_string_equal(im.d[0].publisher, "Pub");
    assert_string_equal(str(pkg, "license_id"), "other-pd");
    assert_string_equal(extra(pkg, "source_license_url"), "https://www.usa.gov/government-works");
    assert_string_equal(str(pkg, "url"), "https://src.example/");
    assert_string_equal(str(pkg, "version"), "1.0");
    r = json_array_get(json_object_get(pkg, "resources"), 0);
    assert_string_equal(str(r, "name"), "R.csv");
    assert_string_equal(str(r, "format"), "CSV");
    assert_int_equal(json_integer_value(json_object_get(r, "size")), 10);
    schemas = json_loads(extra(pkg, DCAT_IMPORT_SCHEMAS_EXTRA), 0, NULL);
    fields = dcat_import_schema_fields(json_object_get(schemas, "https://e.example/r.csv"));
    assert_int_equal(json_array_size(fields), 2);
    assert_string_equal(str(json_array_get(fields, 0), "id"), "a");
    assert_string_equal(str(json_array_get(fields, 0), "type"), "int8");
    assert_string_equal(str(json_object_get(json_array_get(fields, 0), "info"), "label"), "A");
    assert_string_equal(str(json_array_get(fields, 1), "type"), "timestamp");
    assert_string_equal(str(json_object_get(json_array_get(fields, 1), "info"), "notes"), "when");
    json_decref(fields);
    json_decref(schemas);
    dcat_import_release(&im);

    dcat_import_init(&im);
    assert_int_equal(map(DCAT_IMPORT_DATAPACKAGE,
                         "{\"name\": \"x\", \"resources\": [{\"name\": \"r\", \"data\": [[1]]}]}",
                         &im, &err),
                     -ERR_VALIDATION);
    assert_string_equal(err.field, "resources[0].data");
    assert_int_equal(im.n, 0);
    dcat_import_release(&im);
}

static const char *const turtle =
        "@prefix dcat: <http://www.w3.org/ns/dcat#> .\n"
        "@prefix dct: <http://purl.org/dc/terms/> .\n"
        "@prefix foaf: <http://xmlns.com/foaf/0.1/> .\n"
        "@prefix vcard: <http://www.w3.org/2006/vcard/ns#> .\n"
        "@prefix skos: <http://www.w3.org/2004/02/skos/core#> .\n"
        "@prefix hydra: <http://www.w3.org/ns/hydra/core#> .\n"
        "<http://e.example/dataset/1> a dcat:Dataset ; dct:title \"T\" , \"T zh\"@zh-CN ;\n"
        "  dct:identifier \"id-1\" ; dcat:keyword \"k1\" ; dct:modified \"2021-02-03\" ;\n"
        "  dct:publisher [ a foaf:Agent ; foaf:name \"P\" ] ;\n"
        "  dcat:contactPoint [ a vcard:Kind , vcard:Organization ; vcard:fn \"P\" ] ;\n"
        "  dct:license [ a dct:LicenseDocument ; dct:identifier \"other-pd\" ] ;\n"
        "  dct:accessRights "
        "<http://publications.europa.eu/resource/authority/access-right/RESTRICTED> ;\n"
        "  dct:temporal [ dcat:startDate \"2010\" ; dcat:endDate \"2012\" ] ;\n"
        "  dct:spatial [ skos:prefLabel \"Here\" ] ;\n"
        "  dct:accrualPeriodicity "
        "<http://publications.europa.eu/resource/authority/frequency/QUARTERLY> ;\n"
        "  dct:language <http://publications.europa.eu/resource/authority/language/ZHO> ;\n"
        "  dcat:distribution <http://e.example/dataset/1/resource/2> .\n"
        "<http://e.example/dataset/1/resource/2> a dcat:Distribution ; dct:title \"R\" ;\n"
        "  dcat:accessURL <http://e.example/r.csv> ; dcat:downloadURL <http://e.example/r.csv> ;\n"
        "  dcat:mediaType <https://www.iana.org/assignments/media-types/text/csv> ;\n"
        "  dct:format <http://publications.europa.eu/resource/authority/file-type/RDF_XML> ;\n"
        "  dcat:byteSize \"10\" .\n"
        "<http://e.example/catalog.ttl?page=1> hydra:nextPage "
        "\"http://e.example/catalog.ttl?page=2\" .\n";

static void check_turtle_dataset(const struct dcat_import *im)
{
    json_t *pkg = im->d[0].package, *r;

    assert_int_equal(im->n, 1);
    assert_string_equal(im->d[0].identifier, "id-1");
    assert_string_equal(im->d[0].publisher, "P");
    assert_string_equal(str(pkg, "title"), "T");
    assert_string_equal(str(json_object_get(pkg, "title_translated"), "zh_CN"), "T zh");
    assert_string_equal(extra(pkg, "modified"), "2021-02-03");
    /* The publisher standing in as an organization contact is no contact of its own. */
    assert_null(json_object_get(pkg, "contact_name"));
    assert_string_equal(str(pkg, "license_id"), "other-pd");
    assert_string_equal(str(pkg, "access_level"), "restricted public");
    assert_true(json_is_true(json_object_get(pkg, "private")));
    assert_string_equal(str(pkg, "temporal"), "2010/2012");
    assert_string_equal(str(pkg, "spatial"), "Here");
    assert_string_equal(str(pkg, "frequency"), "R/P3M");
    assert_string_equal(json_string_value(json_array_get(json_object_get(pkg, "language"), 0)),
                        "zh");
    r = json_array_get(json_object_get(pkg, "resources"), 0);
    assert_string_equal(str(r, "url"), "http://e.example/r.csv");
    assert_string_equal(str(r, "mimetype"), "text/csv");
    assert_string_equal(str(r, "format"), "RDF");
    assert_int_equal(json_integer_value(json_object_get(r, "size")), 10);
}

static void test_turtle(void **state)
{
    struct dcat_import im;
    struct err err = ERR_INIT;

    (void)state;
    dcat_import_init(&im);
    assert_int_equal(map(DCAT_IMPORT_TURTLE, turtle, &im, &err), 0);
    check_turtle_dataset(&im);
    assert_string_equal(im.next_page, "http://e.example/catalog.ttl?page=2");
    dcat_import_release(&im);

    dcat_import_init(&im);
    assert_int_equal(map(DCAT_IMPORT_TURTLE,
                         "@prefix dct: <http://purl.org/dc/terms/> .\n\n<http://x/> dct:title "
                         "\"open .\n",
                         &im, &err),
                     -ERR_VALIDATION);
    assert_non_null(strstr(err.msg, "invalid RDF at line 3"));
    dcat_import_release(&im);
}

static void test_jsonld_and_rdfxml(void **state)
{
    const char *jsonld =
            "{\"@context\": {\"dcat\": \"http://www.w3.org/ns/dcat#\", \"dct\": "
            "\"http://purl.org/dc/terms/\"}, \"@graph\": [{\"@id\": \"http://e.example/d\", "
            "\"@type\": [\"dcat:Dataset\"], \"dct:title\": [{\"@value\": \"T\"}], "
            "\"dct:identifier\": [{\"@value\": \"i\"}], \"dcat:distribution\": [{\"@id\": "
            "\"_:b0\"}]}, {\"@id\": \"_:b0\", \"@type\": [\"dcat:Distribution\"], "
            "\"dcat:accessURL\": [{\"@id\": \"http://e.example/x\"}]}]}";
    const char *rdfxml =
            "<?xml version=\"1.0\"?>\n<rdf:RDF "
            "xmlns:rdf=\"http://www.w3.org/1999/02/22-rdf-syntax-ns#\" "
            "xmlns:dcat=\"http://www.w3.org/ns/dcat#\" xmlns:dct=\"http://purl.org/dc/terms/\">"
            "<dcat:Dataset rdf:about=\"http://e.example/d\"><dct:title>T</dct:title>"
            "<dct:identifier>i</dct:identifier><dcat:distribution><dcat:Distribution>"
            "<dcat:accessURL rdf:resource=\"http://e.example/x\"/></dcat:Distribution>"
            "</dcat:distribution></dcat:Dataset></rdf:RDF>\n";
    struct dcat_import a, b;
    struct err err = ERR_INIT;

    (void)state;
    dcat_import_init(&a);
    dcat_import_init(&b);
    assert_int_equal(map(DCAT_IMPORT_JSONLD, jsonld, &a, &err), 0);
    assert_int_equal(map(DCAT_IMPORT_RDFXML, rdfxml, &b, &err), 0);
    assert_int_equal(a.n, 1);
    assert_int_equal(b.n, 1);
    assert_true(json_equal(a.d[0].package, b.d[0].package));
    assert_string_equal(str(json_array_get(json_object_get(a.d[0].package, "resources"), 0), "url"),
                        "http://e.example/x");
    dcat_import_release(&a);
    dcat_import_release(&b);

    dcat_import_init(&a);
    assert_int_equal(
            map(DCAT_IMPORT_JSONLD, "{\"@context\": \"https://x/ctx\", \"@graph\": []}", &a, &err),
            -ERR_VALIDATION);
    assert_string_equal(err.field, "@context");
    dcat_import_release(&a);
}

static void test_detect(void **state)
{
    (void)state;
    assert_int_equal(dcat_import_detect("{\"@context\": 1, \"dataset\": []}", 31, NULL),
                     DCAT_IMPORT_DATAJSON);
    assert_int_equal(dcat_import_detect("  [ {} ]", 8, NULL), DCAT_IMPORT_DATAJSON);
    assert_int_equal(dcat_import_detect("{\"name\": \"x\", \"resources\": []}", 31, NULL),
                     DCAT_IMPORT_DATAPACKAGE);
    assert_int_equal(dcat_import_detect("{\"@context\": {}, \"@graph\": []}", 30, NULL),
                     DCAT_IMPORT_JSONLD);
    assert_int_equal(dcat_import_detect("\xef\xbb\xbf@prefix x: <y> .", 20, NULL),
                     DCAT_IMPORT_TURTLE);
    assert_int_equal(dcat_import_detect("<http://x/> <http://y/> \"z\" .", 29, NULL),
                     DCAT_IMPORT_TURTLE);
    assert_int_equal(dcat_import_detect("<?xml version=\"1.0\"?><rdf:RDF/>", 31, NULL),
                     DCAT_IMPORT_RDFXML);
    assert_int_equal(dcat_import_detect("", 0, "/x/catalog.ttl?page=2"), DCAT_IMPORT_TURTLE);
    assert_int_equal(dcat_import_detect("hello", 5, NULL), DCAT_IMPORT_UNKNOWN);
    assert_int_equal(dcat_import_format_parse("dcat-jsonld"), DCAT_IMPORT_JSONLD);
    assert_int_equal(dcat_import_format_parse("turtle"), DCAT_IMPORT_UNKNOWN);
    assert_string_equal(dcat_import_format_name(DCAT_IMPORT_DATAPACKAGE), "datapackage");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_datajson_full),
            cmocka_unit_test(test_datajson_defaults_dropped),
            cmocka_unit_test(test_datajson_errors),
            cmocka_unit_test(test_failed_document_keeps_earlier),
            cmocka_unit_test(test_datapackage),
            cmocka_unit_test(test_turtle),
            cmocka_unit_test(test_jsonld_and_rdfxml),
            cmocka_unit_test(test_detect),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
