/*
 * Unit tests for the anonymisation engine (src/privacy/anon.h): ARX hierarchy CSV files
 * and their errors, the built-in hierarchies, the optimal search on ARX's adult data
 * against the optima ARX 3.9.2 reports, every node of the 8-QI lattice against the
 * brute-force oracle, the risk of the original adult table, and l-diversity and
 * t-closeness on a small table computed by hand, and the search on 10,000 synthetic people
 * with 8 quasi-identifiers against a brute force over every node. Data:
 * tests/data/privacy/arx (README).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <math.h>

#include "privacy/anon.h"
#include "privacy/synth.h"
#include "unit-util.h"
#include "core/util.h"

static char tmpdir[64];

static int group_setup(void **state)
{
    (void)state;
    return unit_tmpdir(tmpdir, sizeof(tmpdir), "anon");
}

static int group_teardown(void **state)
{
    (void)state;
    unit_remove_tree(tmpdir);
    return 0;
}

static char *data_path(const char *name)
{
    const char *root = getenv("KAIFANG_TEST_DATA");
    assert_non_null(root);
    return xstrfmt("%s/privacy/arx/%s", root, name);
}

static char *write_tmp(const char *name, const char *text)
{
    char *path = xstrfmt("%s/%s", tmpdir, name);
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(text, 1, strlen(text), f), strlen(text));
    assert_int_equal(fclose(f), 0);
    return path;
}

/* The message of parsing text as a hierarchy named name (which must fail). */
static char parse_msg[ERR_MSG_MAX];
static const char *parse_error(const char *text)
{
    struct anon_hierarchy *h = NULL;
    struct err err = ERR_INIT;
    int ret = anon_hierarchy_parse(&h, text, strlen(text), "h.csv", &err);
    assert_true(ret < 0);
    assert_null(h);
    memcpy(parse_msg, err.msg, sizeof(parse_msg));
    return parse_msg;
}

/* ---- Hierarchy files ---------------------------------------------------------------- */

static void test_hierarchy_parse(void **state)
{
    struct anon_hierarchy *h = NULL;
    struct err err = ERR_INIT;
    const char *text = "a;x;*\r\n\"b;1\";x;*\r\n\r\n\"c\"\"q\";\"y\";*";

    (void)state;
    assert_int_equal(anon_hierarchy_parse(&h, text, strlen(text), "h.csv", &err), 0);
    assert_int_equal(h->height, 3);
    assert_int_equal(h->nrows, 3);
    assert_string_equal(h->cells[0], "a");
    assert_string_equal(h->cells[3], "b;1");
    assert_string_equal(h->cells[4], "x");
    assert_string_equal(h->cells[6], "c\"q");
    assert_string_equal(h->cells[7], "y");
    assert_string_equal(h->cells[8], "*");
    anon_hierarchy_free(h);

    /* ARX's own file: 100 ages, 5 levels, with its quirk: 40 is in 35-39 */
    char *p = data_path("adult_hierarchy_age.csv");
    assert_int_equal(anon_hierarchy_load(&h, p, &err), 0);
    assert_int_equal(h->height, 5);
    assert_int_equal(h->nrows, 100);
    assert_string_equal(h->cells[39 * 5 + 0], "40");
    assert_string_equal(h->cells[39 * 5 + 1], "35-39");
    assert_string_equal(h->cells[40 * 5 + 1], "40-44");
    assert_string_equal(h->cells[39 * 5 + 4], "*");
    anon_hierarchy_free(h);
    free(p);
}

static void test_hierarchy_errors(void **state)
{
    (void)state;
    assert_string_equal(parse_error(""), "hierarchy \"h.csv\" is empty");
    assert_string_equal(parse_error("\n\r\n"), "hierarchy \"h.csv\" is empty");
    assert_string_equal(parse_error("a;x;*\nb;x;*\nc;*\n"),
                        "hierarchy \"h.csv\", line 3: 2 values, the first row has 3 (every row "
                        "needs one value per level)");
    assert_string_equal(parse_error("a;x;*\nb;y;*\na;x;*\n"),
                        "hierarchy \"h.csv\", line 3: value \"a\" is listed twice (first on "
                        "line 1)");
    assert_string_equal(parse_error("a;x;*\nb;x;*\nc;y;*\nd;y;+\n"),
                        "hierarchy \"h.csv\", line 4: \"y\" at level 1 can either be generalised "
                        "to \"*\" (line 3) or to \"+\" at level 2");
    assert_string_equal(parse_error("a;x\n\"b;y\n"),
                        "hierarchy \"h.csv\", line 2: a quoted value is not closed");
    assert_string_equal(parse_error("a;\"x\"z\n"),
                        "hierarchy \"h.csv\", line 1: text after a quoted value");

    /* a missing value, found when the table is read: value, column, line, file */
    struct anon_hierarchy *h = NULL;
    struct anon_data *d = NULL;
    struct err err = ERR_INIT;
    char *csv = write_tmp("t.csv", "city,n\nAlpha,1\nBeta,2\nGamma,3\n");
    const char *ht = "Alpha;*\nBeta;*\n";
    assert_int_equal(anon_hierarchy_parse(&h, ht, strlen(ht), "city.csv", &err), 0);
    struct anon_qi qi = {"city", h};
    assert_int_equal(anon_data_load(&d, csv, &qi, 1, NULL, NULL, &err), -ERR_VALIDATION);
    assert_null(d);
    assert_string_equal(err.msg, "value \"Gamma\" of column \"city\" (line 4) is not in hierarchy "
                                 "\"city.csv\"");
    err_clear(&err);
    qi.column = "town";
    assert_int_equal(anon_data_load(&d, csv, &qi, 1, NULL, NULL, &err), -ERR_VALIDATION);
    assert_string_equal(err.msg, "column \"town\" not found");
    anon_hierarchy_free(h);
    free(csv);

    err_clear(&err);
    char *missing = xstrfmt("%s/none.csv", tmpdir);
    assert_int_equal(anon_hierarchy_load(&h, missing, &err), -ERR_VALIDATION);
    assert_non_null(strstr(err.msg, "none.csv"));
    free(missing);
}

static void test_hierarchy_builtin(void **state)
{
    struct anon_hierarchy *h = NULL;
    struct err err = ERR_INIT;
    (void)state;

    const char *dates[] = {"2019-02-28", "2020-11-03"};
    assert_int_equal(anon_hierarchy_builtin(&h, "date", dates, 2, &err), 0);
    assert_int_equal(h->height, 6);
    const char *want_d[] = {"2020-11-03", "2020-11", "2020-Q4", "2020", "2020s", "*"};
    for (size_t l = 0; l < 6; l++)
        assert_string_equal(h->cells[6 + l], want_d[l]);
    anon_hierarchy_free(h);

    const char *ages[] = {"17", "23", "40"};
    assert_int_equal(anon_hierarchy_builtin(&h, "interval:5,10,20", ages, 3, &err), 0);
    assert_int_equal(h->height, 5);
    const char *want_a[] = {"23", "20-24", "20-29", "20-39", "*"};
    for (size_t l = 0; l < 5; l++)
        assert_string_equal(h->cells[5 + l], want_a[l]);
    anon_hierarchy_free(h);

    const char *reals[] = {"2.5", "-0.5"};
    assert_int_equal(anon_hierarchy_builtin(&h, "interval:2", reals, 2, &err), 0);
    assert_string_equal(h->cells[1], "[2,4)");
    assert_string_equal(h->cells[4], "[-2,0)");
    anon_hierarchy_free(h);

    const char *codes[] = {"110105", "440305"};
    assert_int_equal(anon_hierarchy_builtin(&h, "region", codes, 2, &err), 0);
    const char *want_r[] = {"440305", "440300", "440000", "*"};
    for (size_t l = 0; l < 4; l++)
        assert_string_equal(h->cells[4 + l], want_r[l]);
    anon_hierarchy_free(h);

    const char *names[] = {"北京市", "ab"};
    assert_int_equal(anon_hierarchy_builtin(&h, "mask", names, 2, &err), 0);
    assert_int_equal(h->height, 5);
    const char *want_m[] = {"北京市", "北京*", "北**", "***", "*"};
    const char *want_m2[] = {"ab", "a*", "**", "**", "*"};
    for (size_t l = 0; l < 5; l++) {
        assert_string_equal(h->cells[l], want_m[l]);
        assert_string_equal(h->cells[5 + l], want_m2[l]);
    }
    anon_hierarchy_free(h);

    const char *bad_date[] = {"2019-02-29"};
    assert_int_equal(anon_hierarchy_builtin(&h, "date", bad_date, 1, &err), -ERR_VALIDATION);
    assert_string_equal(err.msg, "value \"2019-02-29\" is not a date YYYY-MM-DD (hierarchy "
                                 "\"date\")");
    err_clear(&err);
    assert_int_equal(anon_hierarchy_builtin(&h, "interval:5,7", ages, 3, &err), -ERR_VALIDATION);
    err_clear(&err);
    const char *bad_code[] = {"11010"};
    assert_int_equal(anon_hierarchy_builtin(&h, "region", bad_code, 1, &err), -ERR_VALIDATION);
    assert_true(anon_hierarchy_is_builtin("interval:5"));
    assert_false(anon_hierarchy_is_builtin("ages.csv"));
}

/* ---- Adult --------------------------------------------------------------------------- */

/* The benchmark's eight quasi-identifiers in the order privacy.md lists levels. */
static const char *const adult_qi[] = {
        "age",          "education", "marital-status", "native-country", "race",
        "salary-class", "sex",       "workclass"};
#define ADULT_QI 8

static struct anon_hierarchy *adult_h[ADULT_QI];
static struct anon_data *adult;

static struct anon_data *adult_load(void)
{
    struct anon_qi qi[ADULT_QI];
    struct err err = ERR_INIT;

    if (adult)
        return adult;
    for (size_t j = 0; j < ADULT_QI; j++) {
        char *name = xstrfmt("adult_hierarchy_%s.csv", adult_qi[j]);
        char *p = data_path(name);
        assert_int_equal(anon_hierarchy_load(&adult_h[j], p, &err), 0);
        qi[j].column = adult_qi[j];
        qi[j].hierarchy = adult_h[j];
        free(name);
        free(p);
    }
    char *p = data_path("adult.csv");
    int ret = anon_data_load(&adult, p, qi, ADULT_QI, NULL, NULL, &err);
    if (ret)
        fail_msg("%s", err.msg);
    free(p);
    assert_int_equal(anon_data_records(adult), 30162);
    return adult;
}

static int adult_teardown(void **state)
{
    (void)state;
    anon_data_free(adult);
    adult = NULL;
    for (size_t j = 0; j < ADULT_QI; j++) {
        anon_hierarchy_free(adult_h[j]);
        adult_h[j] = NULL;
    }
    return 0;
}

/*
 * The optima ARX 3.9.2 reports on adult with the eight benchmark quasi-identifiers
 * (/work/shared/notes/privacy.md §1.2, "ARX built and run here: real timings and
 * optima", each confirmed there by a brute force over the 4,320-node lattice). Levels in
 * the order of adult_qi. For Loss, k = 10, 0% two nodes tie (privacy.md "† Tie"): the
 * alternative is given.
 */
static const struct {
    enum anon_metric metric;
    unsigned k;
    double supp;
    unsigned levels[ADULT_QI];
    uint64_t suppressed, classes;
    double loss, entropy, dm;
} optima[] = {
        {ANON_METRIC_LOSS,
         2,
         0,
         {4, 3, 1, 2, 1, 0, 0, 0},
         0,
         52,
         0.4792850490,
         331410.0801,
         113240304},
        {ANON_METRIC_LOSS,
         5,
         0,
         {4, 3, 2, 2, 1, 0, 0, 0},
         0,
         26,
         0.5422108254,
         361477.3024,
         180946394},
        {ANON_METRIC_LOSS,
         10,
         0,
         {4, 3, 1, 2, 1, 0, 0, 2},
         0,
         8,
         0.6131717847,
         373981.9495,
         194239512},
        {ANON_METRIC_LOSS,
         2,
         0.04,
         {3, 2, 0, 1, 0, 0, 0, 0},
         887,
         1021,
         0.1225919656,
         205980.5860,
         40506173},
        {ANON_METRIC_LOSS,
         5,
         0.04,
         {3, 1, 1, 1, 0, 0, 0, 1},
         1178,
         370,
         0.1957817901,
         238006.9518,
         53291920},
        {ANON_METRIC_LOSS,
         10,
         0.04,
         {4, 2, 1, 1, 0, 0, 0, 0},
         1163,
         168,
         0.2547285772,
         277400.5037,
         75341713},
        {ANON_METRIC_ENTROPY,
         2,
         0,
         {4, 0, 1, 2, 1, 1, 0, 2},
         0,
         64,
         0.6131717847,
         310529.6514,
         56017560},
        {ANON_METRIC_ENTROPY,
         5,
         0,
         {1, 3, 1, 2, 1, 1, 1, 2},
         0,
         30,
         0.7679078352,
         324620.5270,
         55170356},
        {ANON_METRIC_ENTROPY,
         10,
         0,
         {1, 3, 1, 2, 1, 1, 1, 2},
         0,
         30,
         0.7679078352,
         324620.5270,
         55170356},
        {ANON_METRIC_ENTROPY,
         2,
         0.04,
         {0, 0, 1, 2, 1, 0, 0, 2},
         1155,
         2443,
         0.3848615105,
         130804.5332,
         36057395},
        {ANON_METRIC_ENTROPY,
         5,
         0.04,
         {0, 2, 1, 2, 1, 0, 0, 2},
         889,
         647,
         0.4306622932,
         180132.4085,
         29523987},
        {ANON_METRIC_ENTROPY,
         10,
         0.04,
         {0, 2, 1, 2, 1, 1, 0, 2},
         1032,
         371,
         0.5574184669,
         204924.5477,
         34851678},
        {ANON_METRIC_DISCERNIBILITY,
         2,
         0,
         {1, 2, 2, 2, 1, 1, 1, 2},
         0,
         44,
         0.7574573318,
         321727.4236,
         49216658},
        {ANON_METRIC_DISCERNIBILITY,
         5,
         0,
         {1, 3, 1, 2, 1, 1, 1, 2},
         0,
         30,
         0.7679078352,
         324620.5270,
         55170356},
        {ANON_METRIC_DISCERNIBILITY,
         10,
         0,
         {1, 3, 1, 2, 1, 1, 1, 2},
         0,
         30,
         0.7679078352,
         324620.5270,
         55170356},
        {ANON_METRIC_DISCERNIBILITY,
         2,
         0.04,
         {0, 1, 1, 2, 1, 1, 1, 2},
         45,
         571,
         0.6492608466,
         203735.4229,
         5643993},
        {ANON_METRIC_DISCERNIBILITY,
         5,
         0.04,
         {0, 3, 2, 2, 1, 0, 0, 2},
         60,
         230,
         0.5433605567,
         234166.7105,
         9268952},
        {ANON_METRIC_DISCERNIBILITY,
         10,
         0.04,
         {0, 3, 2, 2, 1, 1, 0, 2},
         67,
         125,
         0.6827260112,
         258498.2448,
         13357407},
};

/* The other optimum of Loss, k = 10, 0% (optima[2]), 20 classes. */
static const unsigned loss10_tie[ADULT_QI] = {4, 3, 1, 2, 0, 1, 0, 2};

static bool same_levels(const unsigned *a, const unsigned *b)
{
    return !memcmp(a, b, ADULT_QI * sizeof(unsigned));
}

static void test_adult_optima(void **state)
{
    struct anon_data *d = adult_load();
    struct err err = ERR_INIT;
    (void)state;

    for (size_t i = 0; i < ARRAY_SIZE(optima); i++) {
        struct anon_config c = {optima[i].k,    ANON_LDIV_NONE,  0, ANON_TCLOSE_NONE, 0,
                                optima[i].supp, optima[i].metric};
        struct anon_result r;
        assert_int_equal(anon_search(d, &c, &r, &err), 0);
        assert_true(r.found);
        if (!same_levels(r.levels, optima[i].levels) &&
            !(i == 2 && same_levels(r.levels, loss10_tie)))
            fail_msg("optimum %zu (%s k=%u supp=%g): levels %u,%u,%u,%u,%u,%u,%u,%u", i,
                     anon_metric_name(c.metric), c.k, c.suppression, r.levels[0], r.levels[1],
                     r.levels[2], r.levels[3], r.levels[4], r.levels[5], r.levels[6], r.levels[7]);
        assert_int_equal(r.scores.suppressed, optima[i].suppressed);
        if (same_levels(r.levels, optima[i].levels))
            assert_int_equal(r.scores.classes, optima[i].classes);
        assert_true(fabs(r.scores.loss - optima[i].loss) < 1e-9);
        assert_true(fabs(r.scores.entropy - optima[i].entropy) < 1e-4);
        assert_true(fabs(r.scores.discernibility - optima[i].dm) < 0.5);
        assert_true(r.scores.feasible);
        assert_true(r.checked > 0 && r.checked < r.nodes);
        assert_int_equal(r.nodes, 4320);
        anon_result_release(&r);
    }
}

/* Every node of the lattice for k = 2, 5, 10 against the brute force of
 * tests/data/privacy/arx/oracle/adult_qi8_lattice_metrics.csv. */
static void test_adult_oracle(void **state)
{
    struct anon_data *d = adult_load();
    struct err err = ERR_INIT;
    char *p = data_path("oracle/adult_qi8_lattice_metrics.csv");
    FILE *f = fopen(p, "r");
    char line[512];
    size_t rows = 0;
    unsigned anon0[11] = {0}, feas4[11] = {0};
    (void)state;

    assert_non_null(f);
    assert_non_null(fgets(line, sizeof(line), f));
    assert_true(starts_with(line, "age;education;marital-status;native-country;race;salary-"
                                  "class;sex;workclass;k;"));
    while (fgets(line, sizeof(line), f)) {
        double v[16];
        size_t n = 0;
        char *s = line, *end;
        for (; n < 16; n++) {
            v[n] = strtod(s, &end);
            assert_true(end != s);
            s = end;
            if (*s == ';')
                s++;
        }
        unsigned lev[ADULT_QI];
        for (size_t j = 0; j < ADULT_QI; j++)
            lev[j] = (unsigned)v[j];
        struct anon_config c0 = {(uint32_t)v[8],  ANON_LDIV_NONE, 0, ANON_TCLOSE_NONE, 0, 0,
                                 ANON_METRIC_LOSS};
        struct anon_config c4 = c0;
        c4.suppression = 0.04;
        struct anon_scores s0, s4;
        assert_int_equal(anon_evaluate(d, &c0, lev, &s0, &err), 0);
        assert_int_equal(anon_evaluate(d, &c4, lev, &s4, &err), 0);
        if (s0.suppressed != (uint64_t)v[9] || s0.classes != (uint64_t)v[10] ||
            s0.discernibility != v[11] || fabs(s0.loss - v[12]) > 1e-9 ||
            fabs(s0.entropy - v[13]) > 1e-4 || s0.feasible != (v[14] == 1) ||
            s4.feasible != (v[15] == 1))
            fail_msg("oracle row %zu differs: %s", rows + 2, line);
        anon0[c0.k] += s0.feasible;
        feas4[c0.k] += s4.feasible;
        rows++;
    }
    fclose(f);
    free(p);
    assert_int_equal(rows, 3 * 4320);
    /* privacy.md §1.2 "Lattice-wide counts" */
    assert_int_equal(anon0[2], 94);
    assert_int_equal(anon0[5], 60);
    assert_int_equal(anon0[10], 45);
    assert_int_equal(feas4[2], 3424);
    assert_int_equal(feas4[5], 2277);
    assert_int_equal(feas4[10], 1629);
}

/* The risk of the original table: privacy.md §1.3, "Input adult, before anonymization"
 * (ARX's risk estimator, 8 QIs): 12,458 classes, 8,841 sample uniques, average
 * prosecutor risk 0.413036, records at risk (t = 0.2) 0.509018. */
static void test_adult_risk(void **state)
{
    struct anon_data *d = adult_load();
    struct err err = ERR_INIT;
    struct anon_config c = {1, ANON_LDIV_NONE, 0, ANON_TCLOSE_NONE, 0, 0, ANON_METRIC_LOSS};
    unsigned zero[ADULT_QI] = {0};
    struct anon_risk r;
    (void)state;

    assert_int_equal(anon_risk(d, &c, zero, 0.2, &r, &err), 0);
    assert_int_equal(r.classes, 12458);
    assert_true(fabs(r.uniques - 8841.0 / 30162) < 1e-12);
    assert_true(fabs(r.average - 0.413036) < 5e-7);
    assert_true(fabs(r.at_risk - 0.509018) < 5e-7);
    assert_true(fabs(r.highest - 1.0) < 1e-12);

    /* at the k = 5, 4% Loss optimum: the smallest kept class is 5, suppressed records
     * (1,178 of them) are one class */
    unsigned lev[ADULT_QI] = {3, 1, 1, 1, 0, 0, 0, 1};
    c.k = 5;
    c.suppression = 0.04;
    assert_int_equal(anon_risk(d, &c, lev, 0.2, &r, &err), 0);
    assert_int_equal(r.classes, 371);
    assert_true(fabs(r.highest - 0.2) < 1e-12);
    assert_true(r.uniques == 0 && r.at_risk == 0);
}

/* ---- l-diversity and t-closeness by hand --------------------------------------------- */

/*
 * Eight records, QIs zip (masked from the right) and age (intervals of 10, 20),
 * sensitive disease (table: flu 4, cancer 3, hiv 1; q = .5, .375, .125). At zip level 1
 * and age level 1 there are two classes:
 *   130*, 20-29: flu flu cancer flu     (.75, .25, 0)   distinct 2, e^H = 1.7548
 *   140*, 30-39: cancer hiv flu cancer  (.25, .5, .25)  distinct 3, e^H = 2.8284
 * Equal distance: ½(.25 + .125 + .125) = 0.25 for both. Hierarchical distance with
 * flu, hiv → infectious → *, cancer → chronic → * (H = 2): the first class has extras
 * flu +.25, hiv −.125, cancer −.125: infectious costs ½·min(.25, .125) = .0625 and
 * passes +.125 up, chronic passes −.125, the root costs 1·min(.125, .125) = .125: 0.1875;
 * the second class mirrors it: 0.1875.
 */
static void test_ldiv_tclose(void **state)
{
    const char *table = "zip,age,disease\n1301,21,flu\n1302,23,flu\n1303,25,cancer\n"
                        "1304,28,flu\n1401,31,cancer\n1402,33,hiv\n1403,35,flu\n1404,38,cancer\n";
    const char *zips[] = {"1301", "1302", "1303", "1304", "1401", "1402", "1403", "1404"};
    const char *ages[] = {"21", "23", "25", "28", "31", "33", "35", "38"};
    const char *dh = "flu;infectious;*\nhiv;infectious;*\ncancer;chronic;*\n";
    struct anon_hierarchy *hz = NULL, *ha = NULL, *hd = NULL;
    struct anon_data *d = NULL;
    struct err err = ERR_INIT;
    struct anon_scores s;
    unsigned lev[2] = {1, 1};
    (void)state;

    char *csv = write_tmp("small.csv", table);
    assert_int_equal(anon_hierarchy_builtin(&hz, "mask", zips, 8, &err), 0);
    assert_int_equal(anon_hierarchy_builtin(&ha, "interval:10,20", ages, 8, &err), 0);
    assert_int_equal(anon_hierarchy_parse(&hd, dh, strlen(dh), "disease.csv", &err), 0);
    struct anon_qi qi[2] = {{"zip", hz}, {"age", ha}};
    assert_int_equal(anon_data_load(&d, csv, qi, 2, "disease", hd, &err), 0);

    struct anon_config c = {2, ANON_LDIV_DISTINCT, 2, ANON_TCLOSE_NONE, 0, 0, ANON_METRIC_LOSS};
    assert_int_equal(anon_evaluate(d, &c, lev, &s, &err), 0);
    assert_int_equal(s.suppressed, 0);
    assert_int_equal(s.classes, 2);
    c.l = 3;
    assert_int_equal(anon_evaluate(d, &c, lev, &s, &err), 0);
    assert_int_equal(s.suppressed, 4);
    assert_int_equal(s.classes, 1);
    assert_false(s.feasible);
    c.suppression = 0.5;
    assert_int_equal(anon_evaluate(d, &c, lev, &s, &err), 0);
    assert_true(s.feasible);

    c = (struct anon_config){2, ANON_LDIV_ENTROPY, 1.75, ANON_TCLOSE_NONE, 0, 0, ANON_METRIC_LOSS};
    assert_int_equal(anon_evaluate(d, &c, lev, &s, &err), 0);
    assert_int_equal(s.suppressed, 0);
    c.l = 1.76;
    assert_int_equal(anon_evaluate(d, &c, lev, &s, &err), 0);
    assert_int_equal(s.suppressed, 4);
    c.l = 2.82;
    assert_int_equal(anon_evaluate(d, &c, lev, &s, &err), 0);
    assert_int_equal(s.suppressed, 4);
    c.l = 2.83;
    assert_int_equal(anon_evaluate(d, &c, lev, &s, &err), 0);
    assert_int_equal(s.suppressed, 8);

    c = (struct anon_config){1, ANON_LDIV_NONE, 0, ANON_TCLOSE_EQUAL, 0.25, 0, ANON_METRIC_LOSS};
    assert_int_equal(anon_evaluate(d, &c, lev, &s, &err), 0);
    assert_int_equal(s.suppressed, 0);
    c.t = 0.249;
    assert_int_equal(anon_evaluate(d, &c, lev, &s, &err), 0);
    assert_int_equal(s.suppressed, 8);
    c.tclose = ANON_TCLOSE_HIERARCHICAL;
    assert_int_equal(anon_evaluate(d, &c, lev, &s, &err), 0);
    assert_int_equal(s.suppressed, 0);
    c.t = 0.1875;
    assert_int_equal(anon_evaluate(d, &c, lev, &s, &err), 0);
    assert_int_equal(s.suppressed, 0);
    c.t = 0.187;
    assert_int_equal(anon_evaluate(d, &c, lev, &s, &err), 0);
    assert_int_equal(s.suppressed, 8);

    /* The search agrees with a brute force over the 6 × 4 lattice for each model. */
    const struct anon_config cs[] = {
            {2, ANON_LDIV_DISTINCT, 3, ANON_TCLOSE_NONE, 0, 0, ANON_METRIC_LOSS},
            {2, ANON_LDIV_DISTINCT, 3, ANON_TCLOSE_NONE, 0, 0.5, ANON_METRIC_DISCERNIBILITY},
            {2, ANON_LDIV_ENTROPY, 2, ANON_TCLOSE_NONE, 0, 0.25, ANON_METRIC_ENTROPY},
            {1, ANON_LDIV_NONE, 0, ANON_TCLOSE_EQUAL, 0.25, 0, ANON_METRIC_AECS},
            {2, ANON_LDIV_NONE, 0, ANON_TCLOSE_HIERARCHICAL, 0.2, 0.5, ANON_METRIC_LOSS},
    };
    for (size_t i = 0; i < ARRAY_SIZE(cs); i++) {
        struct anon_result r;
        double best = INFINITY;
        assert_int_equal(anon_search(d, &cs[i], &r, &err), 0);
        for (unsigned a = 0; a < 6; a++)
            for (unsigned b = 0; b < 4; b++) {
                unsigned lv[2] = {a, b};
                double v;
                assert_int_equal(anon_evaluate(d, &cs[i], lv, &s, &err), 0);
                if (!s.feasible)
                    continue;
                v = cs[i].metric == ANON_METRIC_LOSS      ? s.loss
                    : cs[i].metric == ANON_METRIC_ENTROPY ? s.entropy
                    : cs[i].metric == ANON_METRIC_AECS    ? s.aecs
                                                          : s.discernibility;
                if (v < best)
                    best = v;
            }
        assert_true(r.found);
        assert_true(fabs(r.score - best) < 1e-12);
        anon_result_release(&r);
    }

    /* no sensitive column: l-diversity is refused */
    struct anon_data *d2 = NULL;
    assert_int_equal(anon_data_load(&d2, csv, qi, 2, NULL, NULL, &err), 0);
    struct anon_result r;
    c = (struct anon_config){2, ANON_LDIV_DISTINCT, 2, ANON_TCLOSE_NONE, 0, 0, ANON_METRIC_LOSS};
    assert_int_equal(anon_search(d2, &c, &r, &err), -ERR_VALIDATION);
    anon_data_free(d2);

    /* the output: suppressed records are '*' in every quasi-identifier */
    c = (struct anon_config){2, ANON_LDIV_DISTINCT, 3, ANON_TCLOSE_NONE, 0, 0.5, ANON_METRIC_LOSS};
    char *outp = xstrfmt("%s/out.csv", tmpdir);
    assert_int_equal(anon_data_write(d, &c, lev, outp, &err), 0);
    FILE *f = fopen(outp, "rb");
    char buf[512];
    size_t n = fread(buf, 1, sizeof(buf) - 1, f);
    buf[n] = '\0';
    fclose(f);
    assert_string_equal(buf, "zip,age,disease\r\n*,*,flu\r\n*,*,flu\r\n*,*,cancer\r\n*,*,flu\r\n"
                             "140*,30-39,cancer\r\n140*,30-39,hiv\r\n140*,30-39,flu\r\n"
                             "140*,30-39,cancer\r\n");
    free(outp);

    anon_data_free(d);
    anon_hierarchy_free(hz);
    anon_hierarchy_free(ha);
    anon_hierarchy_free(hd);
    free(csv);
}

/* ---- The optimised search against a brute force on synthetic people ----------------- */

#define SYN_ROWS 10000
#define SYN_QI   8

/* Appends "a;b;c\n" rows to a hierarchy text: one per distinct value, its levels. */
static void hier_row(char **text, size_t *len, FILE **f, const char *row)
{
    if (!*f) {
        *f = open_memstream(text, len);
        assert_non_null(*f);
    }
    fputs(row, *f);
}

/*
 * 10,000 synthetic people (synth.h, seed 7) reduced to 8 quasi-identifiers as
 * bench/privacy.sh does (sex, ethnicity, birth year, age, occupation, income, region,
 * diagnosis code), with hierarchies small enough for a brute force over every node
 * (2·3·3·3·2·3·4·3 = 3,888 nodes): for Loss with k = 2, 5, 10 at 0% and 4% suppression,
 * and non-uniform entropy at 4%, the search must return what evaluating every node gives:
 * the lowest score, ties to the first node in the search's order of ties (level sum,
 * then number), and that node's suppressed records.
 */
static void test_synthetic_bruteforce(void **state)
{
    static const char *const cols[SYN_QI] = {"sex",        "ethnicity", "birth_year", "age",
                                             "occupation", "income",    "region",     "dx"};
    static const char *const builtin[SYN_QI] = {
            NULL, NULL, "interval:10", "interval:5", NULL, "interval:20000", "region", NULL};
    char *path = xstrfmt("%s/synth-8qi.csv", tmpdir);
    FILE *f = fopen(path, "wb");
    struct synth g;
    struct err err = ERR_INIT;
    char *htext[SYN_QI] = {0};
    size_t hlen[SYN_QI] = {0};
    FILE *hf[SYN_QI] = {0};
    struct anon_hierarchy *h[SYN_QI] = {0};
    struct anon_qi qi[SYN_QI];
    char *seen[SYN_QI][256];
    size_t nseen[SYN_QI] = {0};
    (void)state;

    /* the string QIs' hierarchies are written as their values are first seen */
    assert_non_null(f);
    fputs("sex,ethnicity,birth_year,age,occupation,income,region,dx\n", f);
    synth_init(&g, 7);
    for (size_t r = 0; r < SYN_ROWS; r++) {
        struct synth_person p;
        char region[7], dx[16], row[256];
        synth_person_next(&g, &p);
        int year = (int)strtol(p.birth_date, NULL, 10);
        memcpy(region, p.id_number, 6);
        region[6] = 0;
        size_t dl = strcspn(p.diagnosis, " ");
        snprintf(dx, sizeof(dx), "%.*s", (int)dl, p.diagnosis);
        fprintf(f, "%s,%s,%d,%d,%s,%u,%s,%s\n", p.gender, p.ethnicity, year, 2026 - year,
                p.occupation, p.income, region, dx);
        const char *val[SYN_QI] = {p.gender, p.ethnicity, NULL, NULL, p.occupation, NULL, NULL, dx};
        for (size_t j = 0; j < SYN_QI; j++) {
            bool dup = false;
            if (!val[j])
                continue;
            for (size_t i = 0; i < nseen[j] && !dup; i++)
                dup = !strcmp(seen[j][i], val[j]);
            if (dup)
                continue;
            assert_true(nseen[j] < ARRAY_SIZE(seen[j]));
            seen[j][nseen[j]++] = xstrdup(val[j]);
            if (j == 1)
                snprintf(row, sizeof(row), "%s;%s;*\n", val[j],
                         strcmp(val[j], "汉族") ? "少数民族" : "汉族");
            else if (j == 7)
                snprintf(row, sizeof(row), "%s;%.1s;*\n", val[j], val[j]);
            else
                snprintf(row, sizeof(row), "%s;*\n", val[j]);
            hier_row(&htext[j], &hlen[j], &hf[j], row);
        }
    }
    assert_int_equal(fclose(f), 0);
    for (size_t j = 0; j < SYN_QI; j++) {
        if (builtin[j]) {
            char **vals = NULL;
            size_t n = 0;
            assert_int_equal(anon_column_values(path, cols[j], NULL, &vals, &n, &err), 0);
            assert_int_equal(
                    anon_hierarchy_builtin(&h[j], builtin[j], (const char *const *)vals, n, &err),
                    0);
            for (size_t i = 0; i < n; i++)
                free(vals[i]);
            free(vals);
        } else {
            assert_int_equal(fclose(hf[j]), 0);
            if (anon_hierarchy_parse(&h[j], htext[j], hlen[j], cols[j], &err))
                fail_msg("%s", err.msg);
            free(htext[j]);
        }
        qi[j].column = cols[j];
        qi[j].hierarchy = h[j];
    }
    struct anon_data *d = NULL;
    if (anon_data_load(&d, path, qi, SYN_QI, NULL, NULL, &err))
        fail_msg("%s", err.msg);
    assert_int_equal(anon_data_records(d), SYN_ROWS);

    static const struct {
        uint32_t k;
        double supp;
        enum anon_metric metric;
    } cfgs[] = {
            {2, 0, ANON_METRIC_LOSS},       {5, 0, ANON_METRIC_LOSS},
            {10, 0, ANON_METRIC_LOSS},      {2, 0.04, ANON_METRIC_LOSS},
            {5, 0.04, ANON_METRIC_LOSS},    {10, 0.04, ANON_METRIC_LOSS},
            {5, 0.04, ANON_METRIC_ENTROPY},
    };
    size_t height[SYN_QI], nnodes = 1;
    for (size_t j = 0; j < SYN_QI; j++) {
        height[j] = anon_data_height(d, j);
        nnodes *= height[j];
    }
    assert_int_equal(nnodes, 3888);
    /* the brute force: every node under every configuration (node by node, so each
     * node's classes are grouped once and scored seven times) */
    struct {
        struct anon_scores s;
        double v;
        unsigned lev[SYN_QI], sum;
        bool found;
        size_t feasible;
    } bf[ARRAY_SIZE(cfgs)];
    memset(bf, 0, sizeof(bf));
    for (size_t node = 0; node < nnodes; node++) {
        unsigned lev[SYN_QI], sum = 0;
        size_t x = node;
        for (size_t j = 0; j < SYN_QI; j++) {
            lev[j] = (unsigned)(x % height[j]);
            x /= height[j];
            sum += lev[j];
        }
        for (size_t i = 0; i < ARRAY_SIZE(cfgs); i++) {
            struct anon_config c = {cfgs[i].k,    ANON_LDIV_NONE, 0, ANON_TCLOSE_NONE, 0,
                                    cfgs[i].supp, cfgs[i].metric};
            struct anon_scores s;
            assert_int_equal(anon_evaluate(d, &c, lev, &s, &err), 0);
            if (!s.feasible)
                continue;
            bf[i].feasible++;
            double v = c.metric == ANON_METRIC_LOSS ? s.loss : s.entropy;
            double tol = 1e-12 * fmax(1, fabs(bf[i].v));
            /* nodes come by number: a tie goes to the lower level sum */
            if (!bf[i].found || v < bf[i].v - tol || (v <= bf[i].v + tol && sum < bf[i].sum)) {
                bf[i].found = true;
                bf[i].v = v;
                bf[i].s = s;
                bf[i].sum = sum;
                memcpy(bf[i].lev, lev, sizeof(lev));
            }
        }
    }
    uint64_t suppressing = 0, stopped = 0, pruned = 0;
    for (size_t i = 0; i < ARRAY_SIZE(cfgs); i++) {
        struct anon_config c = {cfgs[i].k,    ANON_LDIV_NONE, 0, ANON_TCLOSE_NONE, 0,
                                cfgs[i].supp, cfgs[i].metric};
        const unsigned *blev = bf[i].lev;
        struct anon_result r;
        assert_true(bf[i].found);
        assert_true(bf[i].feasible < nnodes);
        assert_int_equal(anon_search(d, &c, &r, &err), 0);
        assert_true(r.found);
        if (!same_levels(r.levels, blev) || r.scores.suppressed != bf[i].s.suppressed ||
            fabs(r.score - bf[i].v) > 1e-9 * fmax(1, bf[i].v))
            fail_msg("config %zu (%s k=%u supp=%g): search %u,%u,%u,%u,%u,%u,%u,%u "
                     "suppressed %llu score %.12g; brute force %u,%u,%u,%u,%u,%u,%u,%u "
                     "suppressed %llu score %.12g",
                     i, anon_metric_name(c.metric), c.k, c.suppression, r.levels[0], r.levels[1],
                     r.levels[2], r.levels[3], r.levels[4], r.levels[5], r.levels[6], r.levels[7],
                     (unsigned long long)r.scores.suppressed, r.score, blev[0], blev[1], blev[2],
                     blev[3], blev[4], blev[5], blev[6], blev[7],
                     (unsigned long long)bf[i].s.suppressed, bf[i].v);
        suppressing += r.scores.suppressed > 0;
        stopped += r.stopped;
        pruned += r.pruned;
        assert_true(r.checked < nnodes);
        assert_true(r.stopped <= r.checked);
        anon_result_release(&r);
    }
    /* the suppression limit matters: optima at 4% suppress records */
    assert_true(suppressing > 0);
    /* and the checks that end a grouping early (too many classes to be anonymous) ran */
    assert_true(stopped > 0);
    /* and so did the bound raised by the records suppressed above a node */
    assert_true(pruned > 0);
    anon_data_free(d);
    for (size_t j = 0; j < SYN_QI; j++) {
        anon_hierarchy_free(h[j]);
        for (size_t i = 0; i < nseen[j]; i++)
            free(seen[j][i]);
    }
    free(path);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_hierarchy_parse),
            cmocka_unit_test(test_hierarchy_errors),
            cmocka_unit_test(test_hierarchy_builtin),
            cmocka_unit_test(test_adult_optima),
            cmocka_unit_test(test_adult_oracle),
            cmocka_unit_test(test_adult_risk),
            cmocka_unit_test_teardown(test_ldiv_tclose, adult_teardown),
            cmocka_unit_test(test_synthetic_bruteforce),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
