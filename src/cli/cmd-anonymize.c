/*
 * cmd-anonymize.c - `kaifang anonymize FILE --qi COLUMN=HIERARCHY … --k K -o OUT.csv`:
 * the globally optimal full-domain generalisation of a table's quasi-identifiers under
 * k-anonymity (and l-diversity, t-closeness) with a record-suppression limit, as ARX
 * finds it (privacy/anon.h, docs/internals/privacy-anonymization.md). Writes the
 * generalised table (suppressed records keep their place with "*" in every
 * quasi-identifier, as ARX writes them) and prints a report: the level chosen per
 * quasi-identifier, suppressed records, classes, the metric's value, risk and utility
 * before and after; with --json the report as JSON. Exits 1 when the table or a
 * hierarchy cannot be read, or when no generalisation satisfies the models.
 */
#include <jansson.h>
#include <math.h>

#include "cli/cli-int.h"
#include "core/parse.h"
#include "privacy/anon.h"
#include "core/util.h"

#define MAX_QI 64

struct anonymize_opts {
    const char *file, *output, *sensitive, *sensitive_h;
    const char *qi_col[MAX_QI], *qi_spec[MAX_QI];
    size_t nqi;
    struct anon_config c;
    double threshold;
    bool json;
};

static int parse_double(const char *opt, const char *s, double lo, double hi, double *out)
{
    char *end;
    double v = strtod(s, &end);

    if (!*s || *end || !(v >= lo && v <= hi))
        return cli_usage("anonymize", "anonymize",
                         "option \"--%s\": \"%s\" is not a number from %g to %g", opt, s, lo, hi);
    *out = v;
    return 0;
}

/* Parses the command line (--qi repeats, so not through cli_parse()). */
static int parse_args(int argc, char **argv, struct anonymize_opts *o)
{
    bool have_l = false, have_t = false;
    const char *ldiv = NULL;
    double l = 0, t = 0;

    memset(o, 0, sizeof(*o));
    o->c.k = 2;
    o->c.metric = ANON_METRIC_LOSS;
    o->threshold = 0.2;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *val = NULL, *eq;
        char name[32];
        size_t nlen;
        if (a[0] != '-' || !a[1]) {
            if (o->file)
                return cli_usage("anonymize", "anonymize", "one FILE only (also \"%s\")", a);
            o->file = a;
            continue;
        }
        if (!strcmp(a, "--json")) {
            o->json = true;
            continue;
        }
        if (!strcmp(a, "-o")) {
            a = "--output";
        }
        if (!starts_with(a, "--"))
            return cli_usage("anonymize", "anonymize", "unknown option \"%s\"", a);
        eq = strchr(a, '=');
        nlen = eq ? (size_t)(eq - a - 2) : strlen(a) - 2;
        if (nlen >= sizeof(name))
            return cli_usage("anonymize", "anonymize", "unknown option \"%s\"", a);
        memcpy(name, a + 2, nlen);
        name[nlen] = '\0';
        if (eq)
            val = eq + 1;
        else if (i + 1 < argc)
            val = argv[++i];
        else
            return cli_usage("anonymize", "anonymize", "option \"--%s\" needs a value", name);
        if (!strcmp(name, "qi")) {
            const char *sep = strchr(val, '=');
            if (!sep || sep == val || !sep[1])
                return cli_usage("anonymize", "anonymize",
                                 "option \"--qi\": \"%s\" is not COLUMN=HIERARCHY", val);
            if (o->nqi == MAX_QI)
                return cli_usage("anonymize", "anonymize", "at most %d quasi-identifiers", MAX_QI);
            o->qi_col[o->nqi] = xstrndup(val, (size_t)(sep - val));
            o->qi_spec[o->nqi++] = sep + 1;
        } else if (!strcmp(name, "k")) {
            uint64_t k;
            if (parse_u64(val, UINT32_MAX, &k) || !k)
                return cli_usage("anonymize", "anonymize",
                                 "option \"--k\": \"%s\" is not a positive integer", val);
            o->c.k = (uint32_t)k;
        } else if (!strcmp(name, "l")) {
            if (parse_double("l", val, 1, 1e9, &l))
                return CLI_USAGE;
            have_l = true;
        } else if (!strcmp(name, "ldiv")) {
            ldiv = val;
        } else if (!strcmp(name, "t")) {
            if (parse_double("t", val, 0, 1, &t))
                return CLI_USAGE;
            have_t = true;
        } else if (!strcmp(name, "suppression")) {
            if (parse_double("suppression", val, 0, 1, &o->c.suppression))
                return CLI_USAGE;
        } else if (!strcmp(name, "risk-threshold")) {
            if (parse_double("risk-threshold", val, 0, 1, &o->threshold))
                return CLI_USAGE;
        } else if (!strcmp(name, "metric")) {
            if (!anon_metric_parse(val, &o->c.metric))
                return cli_usage("anonymize", "anonymize",
                                 "option \"--metric\": \"%s\" is not loss, entropy, "
                                 "discernibility or aecs",
                                 val);
        } else if (!strcmp(name, "sensitive")) {
            o->sensitive = val;
        } else if (!strcmp(name, "sensitive-hierarchy")) {
            o->sensitive_h = val;
        } else if (!strcmp(name, "output")) {
            o->output = val;
        } else {
            return cli_usage("anonymize", "anonymize", "unknown option \"--%s\"", name);
        }
    }
    if (!o->file)
        return cli_usage("anonymize", "anonymize", "FILE is missing");
    if (!o->nqi)
        return cli_usage("anonymize", "anonymize", "at least one --qi COLUMN=HIERARCHY is needed");
    if (have_l) {
        o->c.l = l;
        if (!ldiv || !strcmp(ldiv, "distinct"))
            o->c.ldiv = ANON_LDIV_DISTINCT;
        else if (!strcmp(ldiv, "entropy"))
            o->c.ldiv = ANON_LDIV_ENTROPY;
        else
            return cli_usage("anonymize", "anonymize",
                             "option \"--ldiv\": \"%s\" is not distinct or entropy", ldiv);
    }
    if (have_t) {
        o->c.t = t;
        o->c.tclose = o->sensitive_h ? ANON_TCLOSE_HIERARCHICAL : ANON_TCLOSE_EQUAL;
    }
    if ((have_l || have_t) && !o->sensitive)
        return cli_usage("anonymize", "anonymize", "--l and --t need --sensitive COLUMN");
    return 0;
}

static double now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static json_t *risk_json(const struct anon_risk *r)
{
    return json_pack("{s:f, s:f, s:f, s:f, s:f, s:f, s:I}", "prosecutor_highest", r->highest,
                     "prosecutor_average", r->average, "journalist_highest", r->highest, "marketer",
                     r->average, "records_at_risk", r->at_risk, "sample_uniques", r->uniques,
                     "classes", (json_int_t)r->classes);
}

static json_t *utility_json(const struct anon_scores *s)
{
    return json_pack("{s:f, s:f, s:f, s:f}", "loss", s->loss, "entropy", s->entropy,
                     "discernibility", s->discernibility, "aecs", s->aecs);
}

int cmd_anonymize(int argc, char **argv)
{
    struct anonymize_opts o;
    struct anon_hierarchy *h[MAX_QI] = {NULL}, *sh = NULL;
    struct anon_qi qi[MAX_QI];
    struct anon_data *d = NULL;
    struct anon_result r = {0};
    struct anon_scores before;
    struct anon_risk risk_before, risk_after;
    struct err err = ERR_INIT;
    unsigned zero[MAX_QI] = {0};
    double t0, load_s;
    int ret;

    ret = parse_args(argc, argv, &o);
    if (ret)
        goto out;
    t0 = now_seconds();
    for (size_t j = 0; j < o.nqi; j++) {
        struct stat st;
        if (stat(o.qi_spec[j], &st) == 0 || !anon_hierarchy_is_builtin(o.qi_spec[j])) {
            if (anon_hierarchy_load(&h[j], o.qi_spec[j], &err)) {
                ret = cli_fail("anonymize", &err);
                goto out;
            }
        } else {
            char **vals = NULL;
            size_t n = 0;
            int x = anon_column_values(o.file, o.qi_col[j], "qi", &vals, &n, &err);
            if (!x)
                x = anon_hierarchy_builtin(&h[j], o.qi_spec[j], (const char *const *)vals, n, &err);
            for (size_t i = 0; i < n; i++)
                free(vals[i]);
            free(vals);
            if (x) {
                ret = cli_fail("anonymize", &err);
                goto out;
            }
        }
        qi[j].column = o.qi_col[j];
        qi[j].hierarchy = h[j];
    }
    if (o.sensitive_h && anon_hierarchy_load(&sh, o.sensitive_h, &err)) {
        ret = cli_fail("anonymize", &err);
        goto out;
    }
    if (anon_data_load(&d, o.file, qi, o.nqi, o.sensitive, sh, &err)) {
        ret = cli_fail("anonymize", &err);
        goto out;
    }
    load_s = now_seconds() - t0;
    if (anon_search(d, &o.c, &r, &err)) {
        ret = cli_fail("anonymize", &err);
        goto out;
    }
    if (!r.found) {
        fprintf(stderr, "kaifang anonymize: no generalisation of the quasi-identifiers satisfies "
                        "the privacy models within the suppression limit\n");
        ret = CLI_ERROR;
        goto out;
    }
    /* before: the original table, nothing suppressed */
    struct anon_config plain = {1, ANON_LDIV_NONE, 0, ANON_TCLOSE_NONE, 0, 0, o.c.metric};
    if (anon_evaluate(d, &plain, zero, &before, &err) ||
        anon_risk(d, &plain, zero, o.threshold, &risk_before, &err) ||
        anon_risk(d, &o.c, r.levels, o.threshold, &risk_after, &err) ||
        (o.output && anon_data_write(d, &o.c, r.levels, o.output, &err))) {
        ret = cli_fail("anonymize", &err);
        goto out;
    }
    uint64_t N = anon_data_records(d);
    if (o.json) {
        json_t *levels = json_object(), *heights = json_object();
        for (size_t j = 0; j < o.nqi; j++) {
            json_object_set_new(levels, anon_data_qi_name(d, j), json_integer(r.levels[j]));
            json_object_set_new(heights, anon_data_qi_name(d, j),
                                json_integer((json_int_t)anon_data_height(d, j)));
        }
        json_t *rep = json_pack(
                "{s:o, s:o, s:I, s:I, s:I, s:I, s:s, s:f, s:I, s:f, s:f, s:I, s:I, s:I, s:s*, "
                "s:s, s:{s:o, s:o}, s:{s:o, s:o}, s:f}",
                "levels", levels, "heights", heights, "records", (json_int_t)N, "suppressed",
                (json_int_t)r.scores.suppressed, "suppression_limit",
                (json_int_t)floor(o.c.suppression * (double)N + 1e-9), "classes",
                (json_int_t)r.scores.classes, "metric", anon_metric_name(o.c.metric), "score",
                r.score, "k", (json_int_t)o.c.k, "search_seconds", r.seconds, "load_seconds",
                load_s, "nodes", (json_int_t)r.nodes, "checked", (json_int_t)r.checked, "min_class",
                (json_int_t)r.scores.min_class, "output", o.output, "suppressed_records_as", "*",
                "risk", "before", risk_json(&risk_before), "after", risk_json(&risk_after),
                "utility", "before", utility_json(&before), "after", utility_json(&r.scores),
                "risk_threshold", o.threshold);
        char *s = rep ? json_dumps(rep, JSON_INDENT(2) | JSON_REAL_PRECISION(15)) : NULL;
        if (!s) {
            json_decref(rep);
            fprintf(stderr, "kaifang anonymize: cannot build the JSON report\n");
            ret = CLI_ERROR;
            goto out;
        }
        puts(s);
        free(s);
        json_decref(rep);
    } else {
        printf("%s: %" PRIu64 " records, %zu quasi-identifiers, k = %u, suppression limit %g%%\n",
               o.file, N, o.nqi, o.c.k, o.c.suppression * 100);
        printf("levels:");
        for (size_t j = 0; j < o.nqi; j++)
            printf(" %s=%u/%zu", anon_data_qi_name(d, j), r.levels[j], anon_data_height(d, j) - 1);
        printf("\nsuppressed: %" PRIu64 " records (%.2f%%)\n", r.scores.suppressed,
               N ? 100.0 * (double)r.scores.suppressed / (double)N : 0.0);
        printf("classes: %" PRIu64 " (smallest %" PRIu64 ")\n", r.scores.classes,
               r.scores.min_class);
        printf("metric: %s = %.10g\n", anon_metric_name(o.c.metric), r.score);
        printf("search: %.3f ms, %" PRIu64 " of %" PRIu64 " nodes checked; loading %.3f s\n",
               r.seconds * 1000, r.checked, r.nodes, load_s);
        printf("%-28s %14s %14s\n", "", "before", "after");
        printf("%-28s %14.6g %14.6g\n", "prosecutor risk, highest", risk_before.highest,
               risk_after.highest);
        printf("%-28s %14.6g %14.6g\n", "prosecutor risk, average", risk_before.average,
               risk_after.average);
        printf("%-28s %14.6g %14.6g\n", "marketer risk", risk_before.average, risk_after.average);
        printf("records at risk (> %-6g)    %14.6g %14.6g\n", o.threshold, risk_before.at_risk,
               risk_after.at_risk);
        printf("%-28s %14.6g %14.6g\n", "sample uniques", risk_before.uniques, risk_after.uniques);
        printf("%-28s %14.6g %14.6g\n", "loss", before.loss, r.scores.loss);
        printf("%-28s %14.6g %14.6g\n", "non-uniform entropy", before.entropy, r.scores.entropy);
        printf("%-28s %14.6g %14.6g\n", "discernibility", before.discernibility,
               r.scores.discernibility);
        printf("%-28s %14.6g %14.6g\n", "average class size", before.aecs, r.scores.aecs);
        if (o.output)
            printf("wrote %s (suppressed records have \"*\" in every quasi-identifier)\n",
                   o.output);
    }
    ret = CLI_OK;
out:
    anon_result_release(&r);
    anon_data_free(d);
    for (size_t j = 0; j < o.nqi; j++) {
        anon_hierarchy_free(h[j]);
        free((char *)o.qi_col[j]);
    }
    anon_hierarchy_free(sh);
    return ret;
}
