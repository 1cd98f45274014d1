/*
 * cmd-anonymize.c - `kaifang anonymize FILE [--policy P.json] [--qi COLUMN=HIERARCHY …]
 * [--k K …] -o OUT.csv [--json]`: de-identifies a table by a policy (privacy/policy.h:
 * per-column suppression, masking, keyed pseudonymisation, top/bottom coding, rounding)
 * and the globally optimal full-domain generalisation of its quasi-identifiers under
 * k-anonymity (and l-diversity, t-closeness) with a record-suppression limit, as ARX
 * finds it (privacy/anon.h, docs/internals/privacy-anonymization.md). The flags say what
 * ARX users say; a policy file says the same and more; a flag given beside a policy wins
 * over the policy's setting (--qi replaces the column's entry). Writes the result
 * (suppressed records keep their place with "*" in every quasi-identifier, as ARX writes
 * them) and prints a report: what was done per column, the level chosen per
 * quasi-identifier, suppressed records, classes, the metric's value, risk and utility
 * before and after; with --json the report as JSON. The pseudonymisation key is
 * --key-file, else the portal's privacy.key (made by `kaifang init`). Exits 1 when the
 * table, the policy, the key or a hierarchy cannot be read, or when no generalisation
 * satisfies the models.
 */
#include <jansson.h>
#include <math.h>

#include "cli/cli-int.h"
#include "core/parse.h"
#include "privacy/anon.h"
#include "privacy/policy.h"
#include "core/util.h"

#define MAX_QI 64

struct anonymize_opts {
    const char *file, *output, *policy, *key_file, *portal;
    const char *qi_col[MAX_QI], *qi_spec[MAX_QI];
    struct privacy_overrides ov;
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
    bool have_l = false;
    const char *ldiv = NULL;
    double l = 0;

    memset(o, 0, sizeof(*o));
    privacy_overrides_init(&o->ov);
    o->ov.qi_col = o->qi_col;
    o->ov.qi_spec = o->qi_spec;
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
            if (o->ov.nqi == MAX_QI)
                return cli_usage("anonymize", "anonymize", "at most %d quasi-identifiers", MAX_QI);
            o->qi_col[o->ov.nqi] = xstrndup(val, (size_t)(sep - val));
            o->qi_spec[o->ov.nqi++] = sep + 1;
        } else if (!strcmp(name, "k")) {
            uint64_t k;
            if (parse_u64(val, UINT32_MAX, &k) || !k)
                return cli_usage("anonymize", "anonymize",
                                 "option \"--k\": \"%s\" is not a positive integer", val);
            o->ov.k = (uint32_t)k;
        } else if (!strcmp(name, "l")) {
            if (parse_double("l", val, 1, 1e9, &l))
                return CLI_USAGE;
            have_l = true;
        } else if (!strcmp(name, "ldiv")) {
            ldiv = val;
        } else if (!strcmp(name, "t")) {
            if (parse_double("t", val, 0, 1, &o->ov.t))
                return CLI_USAGE;
        } else if (!strcmp(name, "suppression")) {
            if (parse_double("suppression", val, 0, 1, &o->ov.suppression))
                return CLI_USAGE;
        } else if (!strcmp(name, "risk-threshold")) {
            if (parse_double("risk-threshold", val, 0, 1, &o->ov.risk_threshold))
                return CLI_USAGE;
        } else if (!strcmp(name, "metric")) {
            enum anon_metric m;
            if (!anon_metric_parse(val, &m))
                return cli_usage("anonymize", "anonymize",
                                 "option \"--metric\": \"%s\" is not loss, entropy, "
                                 "discernibility or aecs",
                                 val);
            o->ov.metric = (int)m;
        } else if (!strcmp(name, "sensitive")) {
            o->ov.sensitive = val;
        } else if (!strcmp(name, "sensitive-hierarchy")) {
            o->ov.sensitive_h = val;
        } else if (!strcmp(name, "output")) {
            o->output = val;
        } else if (!strcmp(name, "policy")) {
            o->policy = val;
        } else if (!strcmp(name, "key-file")) {
            o->key_file = val;
        } else if (!strcmp(name, "portal")) {
            o->portal = val;
        } else {
            return cli_usage("anonymize", "anonymize", "unknown option \"--%s\"", name);
        }
    }
    if (!o->file)
        return cli_usage("anonymize", "anonymize", "FILE is missing");
    if (!o->ov.nqi && !o->policy)
        return cli_usage("anonymize", "anonymize",
                         "at least one --qi COLUMN=HIERARCHY (or --policy P.json) is needed");
    if (have_l) {
        o->ov.l = l;
        if (!ldiv || !strcmp(ldiv, "distinct"))
            o->ov.ldiv = ANON_LDIV_DISTINCT;
        else if (!strcmp(ldiv, "entropy"))
            o->ov.ldiv = ANON_LDIV_ENTROPY;
        else
            return cli_usage("anonymize", "anonymize",
                             "option \"--ldiv\": \"%s\" is not distinct or entropy", ldiv);
        if (o->ov.ldiv == ANON_LDIV_DISTINCT && l != floor(l))
            return cli_usage("anonymize", "anonymize",
                             "option \"--l\": \"%g\" is not an integer (distinct l-diversity)", l);
    }
    if ((have_l || o->ov.t >= 0) && !o->ov.sensitive && !o->policy)
        return cli_usage("anonymize", "anonymize", "--l and --t need --sensitive COLUMN");
    return 0;
}

static double num(const json_t *o, const char *a, const char *b)
{
    const json_t *x = json_object_get(o, a);
    if (b)
        x = json_object_get(x, b);
    return json_number_value(x);
}

static json_int_t integer(const json_t *o, const char *k)
{
    return json_integer_value(json_object_get(o, k));
}

/* The report as text, from its JSON. */
static void print_report(const struct anonymize_opts *o, const json_t *rep)
{
    const json_t *cols = json_object_get(rep, "columns"), *levels = json_object_get(rep, "levels"),
                 *heights = json_object_get(rep, "heights"), *rb, *ra, *ub, *ua, *v;
    const char *key;
    json_int_t N = integer(rep, "records");

    printf("%s: %" JSON_INTEGER_FORMAT " records", o->file, N);
    if (json_object_size(levels))
        printf(", %zu quasi-identifiers, k = %" JSON_INTEGER_FORMAT
               ", suppression limit %" JSON_INTEGER_FORMAT " records",
               json_object_size(levels), integer(rep, "k"), integer(rep, "suppression_limit"));
    printf("\ncolumns:\n");
    json_object_foreach ((json_t *)cols, key, v) {
        const char *action = json_string_value(json_object_get(v, "action"));
        /* Column names are Chinese as often as not: padded by display width. */
        fputs("  ", stdout);
        fput_padded(key, 24, stdout);
        printf(" %s", action);
        if (json_object_get(v, "hierarchy"))
            printf(" (%s)", json_string_value(json_object_get(v, "hierarchy")));
        if (json_object_get(v, "keep_first"))
            printf(" (first %" JSON_INTEGER_FORMAT ", last %" JSON_INTEGER_FORMAT " kept)",
                   integer(v, "keep_first"), integer(v, "keep_last"));
        if (json_object_get(v, "algorithm"))
            printf(" (%s, %" JSON_INTEGER_FORMAT " hex digits)",
                   json_string_value(json_object_get(v, "algorithm")), integer(v, "length"));
        if (json_object_get(v, "top_coded"))
            printf(", %" JSON_INTEGER_FORMAT " top-coded", integer(v, "top_coded"));
        if (json_object_get(v, "bottom_coded"))
            printf(", %" JSON_INTEGER_FORMAT " bottom-coded", integer(v, "bottom_coded"));
        if (json_object_get(v, "round"))
            printf(", rounded to %g", num(v, "round", NULL));
        if (json_is_true(json_object_get(v, "sensitive")))
            printf(", sensitive");
        printf("\n");
    }
    if (!json_object_size(levels)) {
        if (o->output)
            printf("wrote %s\n", o->output);
        return;
    }
    json_int_t S = integer(rep, "suppressed");
    printf("levels:");
    json_object_foreach ((json_t *)levels, key, v)
        printf(" %s=%" JSON_INTEGER_FORMAT "/%" JSON_INTEGER_FORMAT, key, json_integer_value(v),
               integer(heights, key) - 1);
    printf("\nsuppressed: %" JSON_INTEGER_FORMAT " records (%.2f%%)\n", S,
           N ? 100.0 * (double)S / (double)N : 0.0);
    printf("classes: %" JSON_INTEGER_FORMAT " (smallest %" JSON_INTEGER_FORMAT ")\n",
           integer(rep, "classes"), integer(rep, "min_class"));
    printf("metric: %s = %.10g\n", json_string_value(json_object_get(rep, "metric")),
           num(rep, "score", NULL));
    printf("search: %.3f ms, %" JSON_INTEGER_FORMAT " of %" JSON_INTEGER_FORMAT
           " nodes checked; loading %.3f s\n",
           num(rep, "search_seconds", NULL) * 1000, integer(rep, "checked"), integer(rep, "nodes"),
           num(rep, "load_seconds", NULL));
    rb = json_object_get(json_object_get(rep, "risk"), "before");
    ra = json_object_get(json_object_get(rep, "risk"), "after");
    ub = json_object_get(json_object_get(rep, "utility"), "before");
    ua = json_object_get(json_object_get(rep, "utility"), "after");
    printf("%-28s %14s %14s\n", "", "before", "after");
    printf("%-28s %14.6g %14.6g\n", "prosecutor risk, highest", num(rb, "prosecutor_highest", NULL),
           num(ra, "prosecutor_highest", NULL));
    printf("%-28s %14.6g %14.6g\n", "prosecutor risk, average", num(rb, "prosecutor_average", NULL),
           num(ra, "prosecutor_average", NULL));
    printf("%-28s %14.6g %14.6g\n", "marketer risk", num(rb, "marketer", NULL),
           num(ra, "marketer", NULL));
    printf("records at risk (> %-6g)    %14.6g %14.6g\n", num(rep, "risk_threshold", NULL),
           num(rb, "records_at_risk", NULL), num(ra, "records_at_risk", NULL));
    printf("%-28s %14.6g %14.6g\n", "sample uniques", num(rb, "sample_uniques", NULL),
           num(ra, "sample_uniques", NULL));
    printf("%-28s %14.6g %14.6g\n", "loss", num(ub, "loss", NULL), num(ua, "loss", NULL));
    printf("%-28s %14.6g %14.6g\n", "non-uniform entropy", num(ub, "entropy", NULL),
           num(ua, "entropy", NULL));
    printf("%-28s %14.6g %14.6g\n", "discernibility", num(ub, "discernibility", NULL),
           num(ua, "discernibility", NULL));
    printf("%-28s %14.6g %14.6g\n", "average class size", num(ub, "aecs", NULL),
           num(ua, "aecs", NULL));
    if (o->output)
        printf("wrote %s (suppressed records have \"*\" in every quasi-identifier)\n", o->output);
}

/* cli_fail() with the file the error is in named first ("policy \"p.json\": columns[1]…",
 * "table \"people.csv\": column …"), unless the message names it already. */
static int fail_in(const char *what, const char *path, struct err *err)
{
    char *quoted = xstrfmt("\"%s\"", path ? path : "");

    if (path && !strstr(err->msg, quoted)) {
        char *msg = xstrfmt("%s %s: %s", what, quoted, err->msg);

        snprintf(err->msg, sizeof(err->msg), "%s", msg); /* cut at ERR_MSG_MAX */
        free(msg);
    }
    free(quoted);
    return cli_fail("anonymize", err);
}

int cmd_anonymize(int argc, char **argv)
{
    struct anonymize_opts o;
    struct privacy_policy *pol = NULL;
    struct privacy_key *key = NULL;
    struct privacy_outcome res = {0};
    struct err err = ERR_INIT;
    char *key_path = NULL;
    int ret;

    ret = parse_args(argc, argv, &o);
    if (ret)
        goto out;
    if (o.policy ? privacy_policy_load(&pol, o.policy, &err)
                 : privacy_policy_parse(&pol, "{}", 2, "flags", &err)) {
        ret = fail_in("policy", o.policy, &err);
        goto out;
    }
    if (privacy_policy_override(pol, &o.ov, &err)) {
        ret = cli_fail("anonymize", &err);
        goto out;
    }
    if (privacy_policy_needs_key(pol)) {
        /* --key-file, else the portal's secret, made 0600 by `kaifang init` */
        key = xmalloc(sizeof(*key));
        key_path = o.key_file ? xstrdup(o.key_file)
                              : privacy_key_portal_path(portal_dir_choose(o.portal));
        if (privacy_key_load(key, key_path, &err)) {
            if (!o.key_file && access(key_path, F_OK) < 0)
                fprintf(stderr,
                        "kaifang anonymize: the policy pseudonymises a column and needs a key: "
                        "give --key-file FILE, or run `kaifang init` to create %s\n",
                        key_path);
            else
                cli_fail("anonymize", &err);
            ret = CLI_ERROR;
            goto out;
        }
    }
    if (privacy_policy_apply(pol, o.file, o.output, key, &res, &err)) {
        ret = fail_in("table", o.file, &err);
        goto out;
    }
    if (!res.found) {
        fprintf(stderr, "kaifang anonymize: no generalisation of the quasi-identifiers satisfies "
                        "the privacy models within the suppression limit\n");
        ret = CLI_ERROR;
        goto out;
    }
    {
        const json_t *w;
        size_t i;
        json_array_foreach (json_object_get(res.report, "warnings"), i, w)
            fprintf(stderr, "kaifang anonymize: warning: %s\n", json_string_value(w));
    }
    if (o.json) {
        char *s = json_dumps(res.report, JSON_INDENT(2) | JSON_REAL_PRECISION(15));
        if (!s) {
            fprintf(stderr, "kaifang anonymize: cannot build the JSON report\n");
            ret = CLI_ERROR;
            goto out;
        }
        puts(s);
        free(s);
    } else {
        print_report(&o, res.report);
    }
    ret = CLI_OK;
out:
    privacy_outcome_release(&res);
    privacy_policy_free(pol);
    if (key) {
        privacy_key_wipe(key);
        free(key);
    }
    free(key_path);
    for (size_t j = 0; j < o.ov.nqi; j++)
        free((char *)o.qi_col[j]);
    return ret;
}
