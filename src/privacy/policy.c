/*
 * policy.c - de-identification policies (policy.h): the JSON policy parser (untrusted
 * input: every error names the member), the per-column transformations (suppression,
 * masking, keyed pseudonymisation, top/bottom coding, rounding) and their application
 * with the optimal generalisation of the quasi-identifiers (anon.h).
 */
#include <ctype.h>
#include <fcntl.h>
#include <math.h>
#include <sodium.h>
#include <stdarg.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/buf.h"
#include "core/util.h"
#include "crypto/secret.h"
#include "privacy/anon-int.h"
#include "privacy/anon.h"
#include "privacy/detect.h"
#include "privacy/policy.h"

#define PATH_MAX_LEN 64 /* "columns[1023].pseudonymize.prefix" and the like */

enum round_mode { ROUND_NEAREST = 0, ROUND_DOWN, ROUND_UP };

struct pcol {
    char *name;
    char path[32]; /* "columns[i]" */
    enum privacy_action action;
    bool has_top, has_bottom, has_round;
    double top, bottom, round_to;
    char *top_value, *bottom_value; /* NULL: the bound itself */
    enum round_mode round_mode;
    unsigned keep_first, keep_last;
    char *mask_char;
    char *prefix;
    unsigned hexlen;
    char *hierarchy; /* a built-in spec or a file path (generalize; sensitive: a file) */
    bool sensitive;
    bool from_flag; /* hierarchy from --qi/--sensitive-hierarchy: relative to the cwd */
};

struct privacy_policy {
    char *name;
    char *base_dir; /* the policy file's directory, for relative hierarchy paths; NULL */
    struct anon_config c;
    double risk_threshold;
    enum privacy_action unlisted;
    struct pcol *cols;
    size_t ncols;
};

/* out = a "." b (or b when a is empty), truncated to PATH_MAX_LEN - 1 bytes. */
static void join(char out[PATH_MAX_LEN], const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b), o = 0;

    if (la > PATH_MAX_LEN - 2)
        la = PATH_MAX_LEN - 2;
    memcpy(out, a, la);
    o = la;
    if (la)
        out[o++] = '.';
    if (lb > PATH_MAX_LEN - 1 - o)
        lb = PATH_MAX_LEN - 1 - o;
    memcpy(out + o, b, lb);
    out[o + lb] = '\0';
}

static const char *const action_names[] = {"keep", "suppress", "mask", "pseudonymize",
                                           "generalize"};

__attribute__((format(printf, 3, 4))) static int bad(struct err *err, const char *path,
                                                     const char *fmt, ...)
{
    char msg[ERR_MSG_MAX];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    return err_set(err, ERR_VALIDATION, path, "%s: %s", path, msg);
}

static void pcol_release(struct pcol *c)
{
    free(c->name);
    free(c->top_value);
    free(c->bottom_value);
    free(c->mask_char);
    free(c->prefix);
    free(c->hierarchy);
}

void privacy_policy_free(struct privacy_policy *p)
{
    if (!p)
        return;
    for (size_t i = 0; i < p->ncols; i++)
        pcol_release(&p->cols[i]);
    free(p->cols);
    free(p->name);
    free(p->base_dir);
    free(p);
}

/* ---- Parsing ------------------------------------------------------------------------------ */

/* A JSON string without NUL bytes, 1 to max bytes. */
static int get_string(const json_t *v, const char *path, size_t max, char **out, struct err *err)
{
    if (!json_is_string(v))
        return bad(err, path, "must be a string");
    size_t n = json_string_length(v);
    if (n == 0 || n > max || strlen(json_string_value(v)) != n)
        return bad(err, path, "must be a string of 1 to %zu bytes without NUL", max);
    *out = xstrdup(json_string_value(v));
    return 0;
}

static int get_uint(const json_t *v, const char *path, json_int_t lo, json_int_t hi, unsigned *out,
                    struct err *err)
{
    bool integer = json_is_integer(v);

    if (lo == 0 && (!integer || json_integer_value(v) < 0))
        return bad(err, path, "must be a non-negative integer");
    if (!integer || json_integer_value(v) < lo || json_integer_value(v) > hi)
        return bad(err, path, "must be an integer from %lld to %lld", (long long)lo, (long long)hi);
    *out = (unsigned)json_integer_value(v);
    return 0;
}

static int get_number(const json_t *v, const char *path, double lo, double hi, double *out,
                      struct err *err)
{
    if (!json_is_number(v) || !(json_number_value(v) >= lo && json_number_value(v) <= hi))
        return bad(err, path, "must be a number from %g to %g", lo, hi);
    *out = json_number_value(v);
    return 0;
}

/* Rejects members of obj not in allowed[]. */
static int check_members(const json_t *obj, const char *path, const char *const *allowed, size_t n,
                         struct err *err)
{
    const char *key;
    json_t *v;

    json_object_foreach ((json_t *)obj, key, v) {
        bool ok = false;
        for (size_t i = 0; i < n; i++)
            ok = ok || !strcmp(key, allowed[i]);
        if (!ok) {
            struct buf b = BUF_INIT;
            for (size_t i = 0; i < n; i++)
                buf_addf(&b, "%s%s", i ? ", " : "", allowed[i]);
            char sub[PATH_MAX_LEN];
            /* A member named "" is named so: an empty path would name nothing. */
            join(sub, path, *key ? key : "\"\"");
            int r = bad(err, sub, "unknown member (%s has %s)", *path ? path : "a policy",
                        b.buf ? b.buf : "");
            buf_release(&b);
            return r;
        }
    }
    return 0;
}

/* A single UTF-8 code point that is not a control character, a quote or a comma. */
static bool one_char(const char *s)
{
    size_t n = strlen(s);
    unsigned char c = (unsigned char)s[0];
    size_t want = c < 0x80 ? 1 : c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : 2;

    if (n != want || c < 0x20 || c == 0x7f || c == '"' || c == ',')
        return false;
    return true;
}

/* hierarchy: "date", "interval:5,10", "region", "mask", "postal" or a file path; or
 * {"builtin": "interval", "widths": [5, 10]} / {"builtin": "date"} / {"file": "age.csv"}. */
static int parse_hierarchy(const json_t *v, const char *path, char **out, struct err *err)
{
    char sub[PATH_MAX_LEN];

    if (json_is_string(v))
        return get_string(v, path, 4096, out, err);
    if (!json_is_object(v))
        return bad(err, path,
                   "must be a string (a built-in or an ARX hierarchy CSV file) or "
                   "an object with \"builtin\" or \"file\"");
    static const char *const allowed[] = {"builtin", "widths", "file"};
    if (check_members(v, path, allowed, ARRAY_SIZE(allowed), err))
        return -ERR_VALIDATION;
    const json_t *b = json_object_get(v, "builtin"), *f = json_object_get(v, "file"),
                 *w = json_object_get(v, "widths");
    if (!!b == !!f)
        return bad(err, path, "needs exactly one of \"builtin\" and \"file\"");
    if (f) {
        join(sub, path, "file");
        if (w) {
            join(sub, path, "widths");
            return bad(err, sub, "only with \"builtin\": \"interval\"");
        }
        return get_string(f, sub, 4096, out, err);
    }
    join(sub, path, "builtin");
    const char *s = json_string_value(b);
    if (!s || !anon_hierarchy_is_builtin(s) || strchr(s, ':'))
        return bad(err, sub,
                   "must be one of \"date\", \"interval\", \"region\", \"mask\", "
                   "\"postal\"");
    if (!strcmp(s, "interval")) {
        join(sub, path, "widths");
        if (!json_is_array(w) || !json_array_size(w) || json_array_size(w) > ANON_MAX_LEVELS - 2)
            return bad(err, sub, "must be an array of 1 to %u positive integers",
                       ANON_MAX_LEVELS - 2);
        struct buf spec = BUF_INIT;
        json_int_t prev = 0;
        buf_addstr(&spec, "interval:");
        for (size_t i = 0; i < json_array_size(w); i++) {
            const json_t *x = json_array_get(w, i);
            char el[PATH_MAX_LEN], idx[32];
            snprintf(idx, sizeof(idx), "widths[%zu]", i);
            join(el, path, idx);
            if (!json_is_integer(x) || json_integer_value(x) < 1 ||
                json_integer_value(x) > UINT32_MAX) {
                buf_release(&spec);
                return bad(err, el, "must be a positive integer");
            }
            if (prev && json_integer_value(x) % prev) {
                buf_release(&spec);
                return bad(err, el, "must be a multiple of the width before it (%lld)",
                           (long long)prev);
            }
            prev = json_integer_value(x);
            buf_addf(&spec, "%s%lld", i ? "," : "", (long long)prev);
        }
        *out = buf_detach(&spec, NULL);
        return 0;
    }
    if (w) {
        join(sub, path, "widths");
        return bad(err, sub, "only with \"builtin\": \"interval\"");
    }
    *out = xstrdup(s);
    return 0;
}

static int parse_column(struct pcol *c, const json_t *v, size_t i, struct err *err)
{
    static const char *const allowed[] = {
            "name",      "action",       "mask",  "pseudonymize", "hierarchy", "top",    "bottom",
            "top_value", "bottom_value", "round", "round_mode",   "sensitive", "comment"};
    char sub[PATH_MAX_LEN];
    const json_t *x;

    snprintf(c->path, sizeof(c->path), "columns[%zu]", i);
    c->hexlen = 16;
    if (!json_is_object(v))
        return bad(err, c->path, "must be an object with \"name\" and \"action\"");
    if (check_members(v, c->path, allowed, ARRAY_SIZE(allowed), err))
        return -ERR_VALIDATION;
    join(sub, c->path, "name");
    if (!(x = json_object_get(v, "name")))
        return bad(err, sub, "is missing");
    if (get_string(x, sub, 1024, &c->name, err))
        return -ERR_VALIDATION;
    if ((x = json_object_get(v, "comment")) && !json_is_string(x)) {
        join(sub, c->path, "comment");
        return bad(err, sub, "must be a string");
    }
    if ((x = json_object_get(v, "sensitive")) && !json_is_boolean(x)) {
        join(sub, c->path, "sensitive");
        return bad(err, sub, "must be true or false");
    }
    c->sensitive = json_is_true(x);
    c->action = PRIVACY_KEEP;
    if (json_object_get(v, "hierarchy") && !c->sensitive)
        c->action = PRIVACY_GENERALIZE;
    if ((x = json_object_get(v, "action"))) {
        const char *s = json_string_value(x);
        size_t a = ARRAY_SIZE(action_names);
        for (size_t k = 0; s && k < ARRAY_SIZE(action_names); k++)
            if (!strcmp(s, action_names[k]))
                a = k;
        join(sub, c->path, "action");
        if (a == ARRAY_SIZE(action_names))
            return bad(err, sub,
                       "must be one of \"keep\", \"suppress\", \"mask\", "
                       "\"pseudonymize\", \"generalize\"");
        c->action = (enum privacy_action)a;
    }
    if (c->sensitive && c->action != PRIVACY_KEEP) {
        join(sub, c->path, "sensitive");
        return bad(err, sub, "a sensitive column is kept (its action must be \"keep\")");
    }
    /* mask */
    x = json_object_get(v, "mask");
    join(sub, c->path, "mask");
    if (x && c->action != PRIVACY_MASK)
        return bad(err, sub, "only with the action \"mask\"");
    if (c->action == PRIVACY_MASK) {
        static const char *const mallowed[] = {"keep_first", "keep_last", "char"};
        const json_t *y;
        if (x && !json_is_object(x))
            return bad(err, sub, "must be an object (keep_first, keep_last, char)");
        if (x && check_members(x, sub, mallowed, ARRAY_SIZE(mallowed), err))
            return -ERR_VALIDATION;
        char sub2[PATH_MAX_LEN];
        join(sub2, sub, "keep_first");
        if (x && (y = json_object_get(x, "keep_first")) &&
            get_uint(y, sub2, 0, 1 << 20, &c->keep_first, err))
            return -ERR_VALIDATION;
        join(sub2, sub, "keep_last");
        if (x && (y = json_object_get(x, "keep_last")) &&
            get_uint(y, sub2, 0, 1 << 20, &c->keep_last, err))
            return -ERR_VALIDATION;
        join(sub2, sub, "char");
        if (x && (y = json_object_get(x, "char"))) {
            if (get_string(y, sub2, 4, &c->mask_char, err))
                return -ERR_VALIDATION;
            if (!one_char(c->mask_char))
                return bad(err, sub2,
                           "must be one character (not a control character, '\"' or "
                           "',')");
        } else {
            c->mask_char = xstrdup("*");
        }
    }
    /* pseudonymize */
    x = json_object_get(v, "pseudonymize");
    join(sub, c->path, "pseudonymize");
    if (x && c->action != PRIVACY_PSEUDONYMIZE)
        return bad(err, sub, "only with the action \"pseudonymize\"");
    if (x) {
        static const char *const pallowed[] = {"prefix", "length"};
        const json_t *y;
        char sub2[PATH_MAX_LEN];
        if (!json_is_object(x))
            return bad(err, sub, "must be an object (prefix, length)");
        if (check_members(x, sub, pallowed, ARRAY_SIZE(pallowed), err))
            return -ERR_VALIDATION;
        join(sub2, sub, "length");
        if ((y = json_object_get(x, "length")) && get_uint(y, sub2, 8, 64, &c->hexlen, err))
            return -ERR_VALIDATION;
        join(sub2, sub, "prefix");
        if ((y = json_object_get(x, "prefix"))) {
            if (get_string(y, sub2, 32, &c->prefix, err))
                return -ERR_VALIDATION;
            for (const char *p = c->prefix; *p; p++)
                if ((unsigned char)*p < 0x20 || *p == 0x7f || *p == '"' || *p == ',')
                    return bad(err, sub2, "must not hold a control character, '\"' or ','");
        }
    }
    /* hierarchy */
    x = json_object_get(v, "hierarchy");
    join(sub, c->path, "hierarchy");
    if (x && c->action != PRIVACY_GENERALIZE && !c->sensitive)
        return bad(err, sub, "only with the action \"generalize\" or a sensitive column");
    if (c->action == PRIVACY_GENERALIZE && !x)
        return bad(err, sub, "is missing (the action \"generalize\" needs a hierarchy)");
    if (x && parse_hierarchy(x, sub, &c->hierarchy, err))
        return -ERR_VALIDATION;
    if (c->sensitive && c->hierarchy && anon_hierarchy_is_builtin(c->hierarchy))
        return bad(err, sub,
                   "a sensitive column's hierarchy (for hierarchical t-closeness) is an "
                   "ARX hierarchy CSV file");
    /* top/bottom coding and rounding */
    bool numeric = c->action == PRIVACY_KEEP || c->action == PRIVACY_GENERALIZE;
    static const char *const nums[] = {"top", "bottom", "round"};
    for (size_t k = 0; k < ARRAY_SIZE(nums); k++) {
        x = json_object_get(v, nums[k]);
        if (!x)
            continue;
        join(sub, c->path, nums[k]);
        if (!numeric)
            return bad(err, sub, "only with the actions \"keep\" and \"generalize\"");
        double d = 0;
        if (get_number(x, sub, k == 2 ? 1e-12 : -1e15, 1e15, &d, err))
            return -ERR_VALIDATION;
        if (k == 0) {
            c->has_top = true;
            c->top = d;
        } else if (k == 1) {
            c->has_bottom = true;
            c->bottom = d;
        } else {
            c->has_round = true;
            c->round_to = d;
        }
    }
    if (c->has_top && c->has_bottom && c->bottom > c->top) {
        join(sub, c->path, "bottom");
        return bad(err, sub, "must not exceed \"top\" (%g)", c->top);
    }
    static const char *const vals[] = {"top_value", "bottom_value"};
    for (size_t k = 0; k < 2; k++) {
        x = json_object_get(v, vals[k]);
        if (!x)
            continue;
        join(sub, c->path, vals[k]);
        if (!(k == 0 ? c->has_top : c->has_bottom))
            return bad(err, sub, "only with \"%s\"", k == 0 ? "top" : "bottom");
        if (get_string(x, sub, 64, k == 0 ? &c->top_value : &c->bottom_value, err))
            return -ERR_VALIDATION;
    }
    if ((x = json_object_get(v, "round_mode"))) {
        const char *s = json_string_value(x);
        join(sub, c->path, "round_mode");
        if (!c->has_round)
            return bad(err, sub, "only with \"round\"");
        if (s && !strcmp(s, "nearest"))
            c->round_mode = ROUND_NEAREST;
        else if (s && !strcmp(s, "down"))
            c->round_mode = ROUND_DOWN;
        else if (s && !strcmp(s, "up"))
            c->round_mode = ROUND_UP;
        else
            return bad(err, sub, "must be \"nearest\", \"down\" or \"up\"");
    }
    return 0;
}

int privacy_policy_parse(struct privacy_policy **out, const char *json, size_t len,
                         const char *name, struct err *err)
{
    static const char *const allowed[] = {"k",           "l",          "ldiv",           "t",
                                          "suppression", "metric",     "risk_threshold", "unlisted",
                                          "columns",     "description"};
    struct privacy_policy *p = NULL;
    json_error_t je;
    json_t *root = NULL, *x;
    int ret = 0;

    *out = NULL;
    if (!name)
        name = "policy";
    if (len > PRIVACY_POLICY_MAX_SRC)
        return err_set(err, ERR_TOO_LARGE, "policy", "policy \"%s\" is larger than %u bytes", name,
                       PRIVACY_POLICY_MAX_SRC);
    root = json_loadb(json, len, JSON_REJECT_DUPLICATES, &je);
    if (!root)
        return err_set(err, ERR_VALIDATION, "policy", "policy \"%s\", line %d, column %d: %s", name,
                       je.line, je.column, je.text);
    p = xcalloc(1, sizeof(*p));
    p->name = xstrdup(name);
    p->c.k = 2;
    p->c.metric = ANON_METRIC_LOSS;
    p->risk_threshold = 0.2;
    p->unlisted = PRIVACY_KEEP;
    if (!json_is_object(root)) {
        ret = err_set(err, ERR_VALIDATION, "policy",
                      "policy \"%s\": must be a JSON object with \"columns\"", name);
        goto out;
    }
    if (check_members(root, "", allowed, ARRAY_SIZE(allowed), err)) {
        ret = -ERR_VALIDATION;
        goto out;
    }
    if ((x = json_object_get(root, "description")) && !json_is_string(x)) {
        ret = bad(err, "description", "must be a string");
        goto out;
    }
    if ((x = json_object_get(root, "k"))) {
        if (!json_is_integer(x) || json_integer_value(x) < 1 ||
            json_integer_value(x) > UINT32_MAX) {
            ret = bad(err, "k", "must be a positive integer");
            goto out;
        }
        p->c.k = (uint32_t)json_integer_value(x);
    }
    if ((x = json_object_get(root, "suppression")) &&
        (ret = get_number(x, "suppression", 0, 1, &p->c.suppression, err)))
        goto out;
    if ((x = json_object_get(root, "risk_threshold")) &&
        (ret = get_number(x, "risk_threshold", 0, 1, &p->risk_threshold, err)))
        goto out;
    if ((x = json_object_get(root, "metric"))) {
        enum anon_metric m;
        if (!json_is_string(x) || !anon_metric_parse(json_string_value(x), &m)) {
            ret = bad(err, "metric",
                      "must be \"loss\", \"entropy\", \"discernibility\" or \"aecs\"");
            goto out;
        }
        p->c.metric = m;
    }
    if ((x = json_object_get(root, "l"))) {
        if ((ret = get_number(x, "l", 1, 1e9, &p->c.l, err)))
            goto out;
        p->c.ldiv = ANON_LDIV_DISTINCT;
    }
    if ((x = json_object_get(root, "ldiv"))) {
        const char *s = json_string_value(x);
        if (!json_object_get(root, "l")) {
            ret = bad(err, "ldiv", "only with \"l\"");
            goto out;
        }
        if (s && !strcmp(s, "distinct"))
            p->c.ldiv = ANON_LDIV_DISTINCT;
        else if (s && !strcmp(s, "entropy"))
            p->c.ldiv = ANON_LDIV_ENTROPY;
        else {
            ret = bad(err, "ldiv", "must be \"distinct\" or \"entropy\"");
            goto out;
        }
    }
    if (p->c.ldiv == ANON_LDIV_DISTINCT && p->c.l != floor(p->c.l)) {
        ret = bad(err, "l", "must be an integer for distinct l-diversity");
        goto out;
    }
    if ((x = json_object_get(root, "t"))) {
        if ((ret = get_number(x, "t", 0, 1, &p->c.t, err)))
            goto out;
        p->c.tclose = ANON_TCLOSE_EQUAL;
    }
    if ((x = json_object_get(root, "unlisted"))) {
        const char *s = json_string_value(x);
        if (s && !strcmp(s, "keep"))
            p->unlisted = PRIVACY_KEEP;
        else if (s && !strcmp(s, "suppress"))
            p->unlisted = PRIVACY_SUPPRESS;
        else {
            ret = bad(err, "unlisted", "must be \"keep\" or \"suppress\"");
            goto out;
        }
    }
    x = json_object_get(root, "columns");
    if (x && !json_is_array(x)) {
        ret = bad(err, "columns", "must be an array of column objects");
        goto out;
    }
    if (x && json_array_size(x) > PRIVACY_POLICY_MAX_COLUMNS) {
        ret = bad(err, "columns", "must have at most %u entries", PRIVACY_POLICY_MAX_COLUMNS);
        goto out;
    }
    if (x) {
        p->cols = xcalloc(json_array_size(x) + 1, sizeof(*p->cols));
        for (size_t i = 0; i < json_array_size(x); i++) {
            struct pcol *c = &p->cols[p->ncols++];
            if ((ret = parse_column(c, json_array_get(x, i), i, err)))
                goto out;
            for (size_t j = 0; j < i; j++)
                if (!strcmp(p->cols[j].name, c->name)) {
                    char sub[PATH_MAX_LEN];
                    join(sub, c->path, "name");
                    ret = bad(err, sub, "column \"%s\" is listed twice (also %s)", c->name,
                              p->cols[j].path);
                    goto out;
                }
        }
    }
    size_t nsens = 0, ngen = 0;
    for (size_t i = 0; i < p->ncols; i++) {
        nsens += p->cols[i].sensitive;
        ngen += p->cols[i].action == PRIVACY_GENERALIZE;
        if (p->cols[i].sensitive && nsens > 1) {
            char sub[PATH_MAX_LEN];
            join(sub, p->cols[i].path, "sensitive");
            ret = bad(err, sub, "only one column may be sensitive");
            goto out;
        }
    }
    if (ngen > 64) {
        ret = bad(err, "columns", "at most 64 columns may be generalised");
        goto out;
    }
    *out = p;
    p = NULL;
out:
    json_decref(root);
    privacy_policy_free(p);
    return ret;
}

int privacy_policy_load(struct privacy_policy **out, const char *path, struct err *err)
{
    FILE *f;
    struct buf b = BUF_INIT;
    char chunk[65536];
    size_t n;
    int ret;

    *out = NULL;
    buf_init(&b, PRIVACY_POLICY_MAX_SRC + 1);
    f = fopen(path, "rb");
    if (!f)
        return err_set(err, ERR_VALIDATION, "policy", "cannot read policy \"%s\": %s", path,
                       strerror(errno));
    while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
        buf_add(&b, chunk, n);
    if (ferror(f)) {
        ret = err_set(err, ERR_VALIDATION, "policy", "cannot read policy \"%s\": %s", path,
                      strerror(errno));
    } else if (buf_failed(&b)) {
        ret = err_set(err, ERR_TOO_LARGE, "policy", "policy \"%s\" is larger than %u bytes", path,
                      PRIVACY_POLICY_MAX_SRC);
    } else {
        ret = privacy_policy_parse(out, b.buf ? b.buf : "", b.len, path, err);
        if (!ret) {
            const char *slash = strrchr(path, '/');
            (*out)->base_dir = slash ? xstrndup(path, (size_t)(slash - path + 1)) : NULL;
        }
    }
    fclose(f);
    buf_release(&b);
    return ret;
}

/* ---- Overrides ---------------------------------------------------------------------------- */

void privacy_overrides_init(struct privacy_overrides *o)
{
    memset(o, 0, sizeof(*o));
    o->t = -1;
    o->suppression = -1;
    o->metric = -1;
    o->risk_threshold = -1;
}

static struct pcol *find_pcol(struct privacy_policy *p, const char *name)
{
    for (size_t i = 0; i < p->ncols; i++)
        if (!strcmp(p->cols[i].name, name))
            return &p->cols[i];
    return NULL;
}

static struct pcol *add_pcol(struct privacy_policy *p, const char *name)
{
    p->cols = xrealloc(p->cols, (p->ncols + 1) * sizeof(*p->cols));
    struct pcol *c = &p->cols[p->ncols];
    memset(c, 0, sizeof(*c));
    snprintf(c->path, sizeof(c->path), "columns[%zu]", p->ncols);
    c->name = xstrdup(name);
    c->hexlen = 16;
    p->ncols++;
    return c;
}

int privacy_policy_override(struct privacy_policy *p, const struct privacy_overrides *o,
                            struct err *err)
{
    if (o->k)
        p->c.k = o->k;
    if (o->ldiv != ANON_LDIV_NONE) {
        p->c.ldiv = o->ldiv;
        p->c.l = o->l;
    }
    if (o->t >= 0) {
        p->c.t = o->t;
        p->c.tclose = ANON_TCLOSE_EQUAL;
    }
    if (o->suppression >= 0)
        p->c.suppression = o->suppression;
    if (o->metric >= 0)
        p->c.metric = (enum anon_metric)o->metric;
    if (o->risk_threshold >= 0)
        p->risk_threshold = o->risk_threshold;
    for (size_t i = 0; i < o->nqi; i++) {
        struct pcol *c = find_pcol(p, o->qi_col[i]);
        if (!c)
            c = add_pcol(p, o->qi_col[i]);
        if (c->sensitive)
            return err_set(err, ERR_VALIDATION, "qi",
                           "column \"%s\" is the policy's sensitive column, not a "
                           "quasi-identifier",
                           c->name);
        if (c->action == PRIVACY_MASK || c->action == PRIVACY_PSEUDONYMIZE ||
            c->action == PRIVACY_SUPPRESS) {
            free(c->mask_char);
            free(c->prefix);
            c->mask_char = c->prefix = NULL;
        }
        c->action = PRIVACY_GENERALIZE;
        free(c->hierarchy);
        c->hierarchy = xstrdup(o->qi_spec[i]);
        c->from_flag = true;
    }
    if (o->sensitive) {
        for (size_t i = 0; i < p->ncols; i++)
            if (p->cols[i].sensitive && strcmp(p->cols[i].name, o->sensitive)) {
                p->cols[i].sensitive = false;
                free(p->cols[i].hierarchy);
                p->cols[i].hierarchy = NULL;
            }
        struct pcol *c = find_pcol(p, o->sensitive);
        if (!c)
            c = add_pcol(p, o->sensitive);
        if (c->action != PRIVACY_KEEP)
            return err_set(err, ERR_VALIDATION, "sensitive",
                           "column \"%s\" is %s by the policy; a sensitive column is kept", c->name,
                           c->action == PRIVACY_GENERALIZE ? "generalised" : "transformed");
        c->sensitive = true;
        if (o->sensitive_h) {
            free(c->hierarchy);
            c->hierarchy = xstrdup(o->sensitive_h);
            c->from_flag = true;
        }
    }
    size_t ngen = 0;
    for (size_t i = 0; i < p->ncols; i++)
        ngen += p->cols[i].action == PRIVACY_GENERALIZE;
    if (ngen > 64)
        return err_set(err, ERR_VALIDATION, "qi", "at most 64 columns may be generalised");
    return 0;
}

bool privacy_policy_needs_key(const struct privacy_policy *p)
{
    for (size_t i = 0; i < p->ncols; i++)
        if (p->cols[i].action == PRIVACY_PSEUDONYMIZE)
            return true;
    return false;
}

/* ---- Keys, pseudonyms, masks -------------------------------------------------------------- */

int privacy_key_load(struct privacy_key *k, const char *path, struct err *err)
{
    struct stat st;
    ssize_t n;
    size_t len = 0;
    int fd;

    memset(k, 0, sizeof(*k));
    fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0)
        return err_set(err, ERR_VALIDATION, "key_file", "cannot read key file \"%s\": %s", path,
                       strerror(errno));
    if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return err_set(err, ERR_VALIDATION, "key_file", "key file \"%s\" is not a regular file",
                       path);
    }
    if (st.st_mode & 077) {
        close(fd);
        return err_set(err, ERR_VALIDATION, "key_file",
                       "key file \"%s\" may be read or written by others (mode %04o); chmod 600 "
                       "it",
                       path, (unsigned)(st.st_mode & 07777));
    }
    while (len < sizeof(k->bytes) && (n = read(fd, k->bytes + len, sizeof(k->bytes) - len)) != 0) {
        if (n < 0) {
            if (errno == EINTR)
                continue;
            close(fd);
            privacy_key_wipe(k);
            return err_set(err, ERR_VALIDATION, "key_file", "cannot read key file \"%s\": %s", path,
                           strerror(errno));
        }
        len += (size_t)n;
    }
    char extra;
    bool more = len == sizeof(k->bytes) && read(fd, &extra, 1) == 1;
    close(fd);
    if (len < PRIVACY_KEY_MIN || more) {
        privacy_key_wipe(k);
        return err_set(err, ERR_VALIDATION, "key_file",
                       "key file \"%s\" must hold %u to %u bytes (%s)", path, PRIVACY_KEY_MIN,
                       PRIVACY_KEY_MAX, more ? "it holds more" : "it holds fewer");
    }
    k->len = len;
    return 0;
}

int privacy_key_create(const char *path, bool *created, struct err *err)
{
    unsigned char key[PRIVACY_KEY_BYTES];
    int fd;

    if (created)
        *created = false;
    fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0) {
        if (errno == EEXIST)
            return 0;
        return err_set(err, ERR_INTERNAL, "key_file", "cannot create key file \"%s\": %s", path,
                       strerror(errno));
    }
    secret_init();
    secret_random(key, sizeof(key));
    bool ok = write(fd, key, sizeof(key)) == (ssize_t)sizeof(key) && fsync(fd) == 0;
    secret_wipe(key, sizeof(key));
    if (close(fd) < 0)
        ok = false;
    if (!ok) {
        unlink(path);
        return err_set(err, ERR_INTERNAL, "key_file", "cannot write key file \"%s\": %s", path,
                       strerror(errno));
    }
    if (created)
        *created = true;
    return 0;
}

char *privacy_key_portal_path(const char *portal_dir)
{
    return xstrfmt("%s/privacy.key", portal_dir);
}

void privacy_key_wipe(struct privacy_key *k)
{
    sodium_memzero(k, sizeof(*k));
}

void privacy_pseudonym(const struct privacy_key *key, const char *value, size_t len,
                       const char *prefix, unsigned hexlen, char *out)
{
    static const char hex[] = "0123456789abcdef";
    unsigned char mac[crypto_auth_hmacsha256_BYTES];
    crypto_auth_hmacsha256_state st;
    size_t o = 0;

    if (hexlen > 64)
        hexlen = 64;
    crypto_auth_hmacsha256_init(&st, key->bytes, key->len);
    crypto_auth_hmacsha256_update(&st, (const unsigned char *)value, len);
    crypto_auth_hmacsha256_final(&st, mac);
    sodium_memzero(&st, sizeof(st));
    if (prefix)
        for (; prefix[o]; o++)
            out[o] = prefix[o];
    for (unsigned i = 0; i < hexlen; i++)
        out[o++] = hex[(mac[i / 2] >> (i % 2 ? 0 : 4)) & 0xf];
    out[o] = '\0';
}

char *privacy_mask(const char *value, unsigned keep_first, unsigned keep_last,
                   const char *mask_char)
{
    struct buf b = BUF_INIT;
    size_t n = 0, i = 0, cp = 0;

    for (const char *s = value; *s; s++)
        if (((unsigned char)*s & 0xc0) != 0x80)
            n++;
    if ((size_t)keep_first + keep_last >= n)
        keep_first = keep_last = 0;
    buf_addstr(&b, "");
    while (value[i]) {
        size_t start = i++;
        while (value[i] && ((unsigned char)value[i] & 0xc0) == 0x80)
            i++;
        if (cp < keep_first || cp >= n - keep_last)
            buf_add(&b, value + start, i - start);
        else
            buf_addstr(&b, mask_char);
        cp++;
    }
    return buf_detach(&b, NULL);
}

/* ---- Application -------------------------------------------------------------------------- */

static double now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* A whole-string finite number (no spaces). */
static bool parse_num(const char *s, double *out)
{
    char *end;

    if (!*s || isspace((unsigned char)*s))
        return false;
    errno = 0;
    *out = strtod(s, &end);
    return !*end && isfinite(*out);
}

static char *format_num(double x)
{
    if (x == 0)
        x = 0; /* no "-0" */
    if (x == floor(x) && fabs(x) < 1e15)
        return xstrfmt("%.0f", x);
    return xstrfmt("%.15g", x);
}

/* A hierarchy path from the policy file is relative to the policy's directory. */
static char *hier_path(const struct privacy_policy *p, const struct pcol *c)
{
    if (c->from_flag || !p->base_dir || c->hierarchy[0] == '/')
        return xstrdup(c->hierarchy);
    return xstrfmt("%s%s", p->base_dir, c->hierarchy);
}

/* Applies top/bottom coding, rounding and the column's action to every cell of column col. */
static int transform_column(const struct pcol *c, struct anon_table *t, size_t col,
                            const struct privacy_key *key, uint64_t *top_coded,
                            uint64_t *bottom_coded, struct err *err)
{
    char *top_f = c->has_top ? (c->top_value ? xstrdup(c->top_value) : format_num(c->top)) : NULL;
    char *bot_f = c->has_bottom
                          ? (c->bottom_value ? xstrdup(c->bottom_value) : format_num(c->bottom))
                          : NULL;
    char *top_s = top_f ? anon_arena_strndup(&t->arena, top_f, strlen(top_f)) : NULL;
    char *bot_s = bot_f ? anon_arena_strndup(&t->arena, bot_f, strlen(bot_f)) : NULL;
    size_t plen = c->prefix ? strlen(c->prefix) : 0;
    char *pseudo = xmalloc(plen + 65 + 1);
    int ret = 0;

    for (uint64_t r = 0; r < t->nrecords; r++) {
        char **cell = &t->cells[r * t->nfields + col];
        if (!**cell)
            continue; /* an empty (NULL) cell stays empty */
        if (c->has_top || c->has_bottom || c->has_round) {
            double x;
            if (!parse_num(*cell, &x)) {
                ret = err_set(err, ERR_VALIDATION, c->path,
                              "column \"%s\", line %" PRIu64 ": \"%.64s\" is not a number (%s.%s)",
                              c->name, t->lines ? t->lines[r] : r + 2, *cell, c->path,
                              c->has_top      ? "top"
                              : c->has_bottom ? "bottom"
                                              : "round");
                goto out;
            }
            if (c->has_top && x > c->top) {
                *cell = top_s;
                (*top_coded)++;
                continue;
            }
            if (c->has_bottom && x < c->bottom) {
                *cell = bot_s;
                (*bottom_coded)++;
                continue;
            }
            if (c->has_round) {
                double q = x / c->round_to;
                q = c->round_mode == ROUND_DOWN ? floor(q)
                    : c->round_mode == ROUND_UP ? ceil(q)
                                                : round(q);
                char *f = format_num(q * c->round_to);
                *cell = anon_arena_strndup(&t->arena, f, strlen(f));
                free(f);
            }
        }
        if (c->action == PRIVACY_MASK) {
            char *m = privacy_mask(*cell, c->keep_first, c->keep_last, c->mask_char);
            *cell = anon_arena_strndup(&t->arena, m, strlen(m));
            free(m);
        } else if (c->action == PRIVACY_PSEUDONYMIZE) {
            privacy_pseudonym(key, *cell, strlen(*cell), c->prefix, c->hexlen, pseudo);
            *cell = anon_arena_strndup(&t->arena, pseudo, strlen(pseudo));
        }
    }
out:
    free(top_f);
    free(bot_f);
    free(pseudo);
    return ret;
}

/* Drops the columns flagged in drop[] from t. */
static void drop_columns(struct anon_table *t, const bool *drop)
{
    size_t nf = 0;

    for (size_t i = 0; i < t->nfields; i++)
        nf += !drop[i];
    for (uint64_t r = 0; r < t->nrecords; r++) {
        char **src = t->cells + r * t->nfields;
        char **dst = t->cells + r * nf;
        size_t o = 0;
        for (size_t i = 0; i < t->nfields; i++) {
            if (!drop[i])
                dst[o++] = src[i]; /* dst ≤ src, moving forward: no overlap hazard */
        }
    }
    size_t o = 0;
    for (size_t i = 0; i < t->nfields; i++) {
        if (drop[i]) {
            free(t->field_ids[i]);
            free(t->labels[i]);
        } else {
            t->field_ids[o] = t->field_ids[i];
            t->labels[o++] = t->labels[i];
        }
    }
    t->nfields = nf;
}

/* Writes a table with no generalised column as CSV (as anon_data_write()). */
static int write_table(const struct anon_table *t, const char *path, struct err *err)
{
    struct buf b = BUF_INIT;
    FILE *f = fopen(path, "wb");
    int ret = 0;

    if (!f)
        return err_set(err, ERR_INTERNAL, "output", "cannot write \"%s\": %s", path,
                       strerror(errno));
    for (size_t i = 0; i < t->nfields; i++) {
        if (i)
            buf_addch(&b, ',');
        anon_csv_field(&b, t->field_ids[i]);
    }
    buf_addstr(&b, "\r\n");
    for (uint64_t r = 0; r <= t->nrecords; r++) {
        if (r < t->nrecords) {
            for (size_t i = 0; i < t->nfields; i++) {
                if (i)
                    buf_addch(&b, ',');
                anon_csv_field(&b, t->cells[r * t->nfields + i]);
            }
            buf_addstr(&b, "\r\n");
        }
        if (b.len > (1u << 20) || r == t->nrecords) {
            if (b.len && fwrite(b.buf, 1, b.len, f) != b.len) {
                ret = err_set(err, ERR_INTERNAL, "output", "cannot write \"%s\": %s", path,
                              strerror(errno));
                break;
            }
            buf_reset(&b);
        }
    }
    if (fclose(f) && !ret)
        ret = err_set(err, ERR_INTERNAL, "output", "cannot write \"%s\": %s", path,
                      strerror(errno));
    buf_release(&b);
    return ret;
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

/* The direct identifier an unlisted column kept in clear holds, for the report's
 * warning: "resident ID numbers" (GB 11643-1999), "mobile numbers", "bank card numbers"
 * (Luhn) or "e-mail addresses" when at least half of its non-empty values validate as
 * one of them; NULL otherwise. Static strings. */
static const char *kept_identifier(const struct anon_table *t, size_t col)
{
    static const char *const names[] = {"resident ID numbers", "mobile numbers",
                                        "bank card numbers", "e-mail addresses"};
    uint64_t hits[4] = {0}, filled = 0;
    uint32_t today = detect_today();

    for (uint64_t r = 0; r < t->nrecords; r++) {
        const char *v = t->cells[r * t->nfields + col];
        size_t n = v ? strlen(v) : 0;
        if (!n)
            continue;
        filled++;
        hits[0] += detect_cn_resident_id(v, n, today);
        hits[1] += detect_cn_mobile(v, n);
        hits[2] += detect_bank_card(v, n);
        hits[3] += detect_email(v, n);
    }
    for (size_t d = 0; d < 4; d++)
        if (filled && hits[d] * 2 >= filled)
            return names[d];
    return NULL;
}

/* What the report says of one policy column (never a key or a raw value). */
static json_t *column_json(const struct pcol *c, uint64_t top_coded, uint64_t bottom_coded)
{
    json_t *o = json_object();

    json_object_set_new(o, "action", json_string(action_names[c->action]));
    if (c->action == PRIVACY_MASK) {
        json_object_set_new(o, "keep_first", json_integer(c->keep_first));
        json_object_set_new(o, "keep_last", json_integer(c->keep_last));
        json_object_set_new(o, "char", json_string(c->mask_char));
    } else if (c->action == PRIVACY_PSEUDONYMIZE) {
        json_object_set_new(o, "algorithm", json_string("HMAC-SHA-256"));
        json_object_set_new(o, "length", json_integer(c->hexlen));
        if (c->prefix)
            json_object_set_new(o, "prefix", json_string(c->prefix));
    }
    if (c->hierarchy)
        json_object_set_new(o, "hierarchy", json_string(c->hierarchy));
    if (c->sensitive)
        json_object_set_new(o, "sensitive", json_true());
    if (c->has_top) {
        json_object_set_new(o, "top", json_real(c->top));
        json_object_set_new(o, "top_coded", json_integer((json_int_t)top_coded));
    }
    if (c->has_bottom) {
        json_object_set_new(o, "bottom", json_real(c->bottom));
        json_object_set_new(o, "bottom_coded", json_integer((json_int_t)bottom_coded));
    }
    if (c->has_round) {
        json_object_set_new(o, "round", json_real(c->round_to));
        json_object_set_new(o, "round_mode",
                            json_string(c->round_mode == ROUND_DOWN ? "down"
                                        : c->round_mode == ROUND_UP ? "up"
                                                                    : "nearest"));
    }
    return o;
}

void privacy_outcome_release(struct privacy_outcome *o)
{
    json_decref(o->report);
    memset(o, 0, sizeof(*o));
}

int privacy_policy_apply(const struct privacy_policy *p, const char *input, const char *output,
                         const struct privacy_key *key, struct privacy_outcome *out,
                         struct err *err)
{
    struct anon_table t = {0};
    struct anon_hierarchy *h[64] = {NULL}, *sh = NULL;
    struct anon_qi qi[64];
    const struct pcol *gen[64];
    struct anon_data *d = NULL;
    struct anon_result r = {0};
    int64_t *col = NULL;
    bool *drop = NULL;
    size_t ngen = 0;
    const struct pcol *sens = NULL;
    json_t *report = json_object(), *columns = json_object(), *warnings = json_array();
    double t0 = now_seconds(), load_s;
    int ret;

    memset(out, 0, sizeof(*out));
    json_object_set_new(report, "columns", columns);
    json_object_set_new(report, "warnings", warnings);
    if (privacy_policy_needs_key(p) && (!key || key->len < PRIVACY_KEY_MIN)) {
        ret = err_set(err, ERR_VALIDATION, "key_file",
                      "the policy pseudonymises a column and needs a key");
        goto out;
    }
    ret = anon_table_read(&t, input, err);
    if (ret)
        goto out;
    /* the policy's columns in the table */
    col = xcalloc(p->ncols + 1, sizeof(*col));
    const struct pcol **of = xcalloc(t.nfields + 1, sizeof(*of));
    for (size_t i = 0; i < p->ncols; i++) {
        const struct pcol *c = &p->cols[i];
        col[i] = anon_table_column(&t, c->name);
        if (col[i] < 0) {
            ret = c->from_flag ? err_set(err, ERR_VALIDATION, c->sensitive ? "sensitive" : "qi",
                                         "column \"%s\" not found", c->name)
                               : bad(err, c->path, "column \"%s\" not found (name)", c->name);
            free(of);
            goto out;
        }
        if (of[col[i]]) {
            ret = bad(err, c->path, "column \"%s\" is the same column as %s (\"%s\")", c->name,
                      of[col[i]]->path, of[col[i]]->name);
            free(of);
            goto out;
        }
        of[col[i]] = c;
    }
    /* transformations, in table order for the report */
    drop = xcalloc(t.nfields + 1, sizeof(*drop));
    for (size_t i = 0; i < t.nfields; i++) {
        const struct pcol *c = of[i];
        uint64_t topc = 0, botc = 0;
        if (!c) {
            json_t *cj =
                    json_pack("{s:s, s:b}", "action", action_names[p->unlisted], "unlisted", 1);
            const char *found;
            drop[i] = p->unlisted == PRIVACY_SUPPRESS;
            if (!drop[i] && (found = kept_identifier(&t, i))) {
                char *msg = xstrfmt("column \"%s\" is kept in clear but holds %s: "
                                    "suppress, mask or pseudonymise it in the policy",
                                    t.labels[i], found);
                json_object_set_new(cj, "warning", json_string(msg));
                json_array_append_new(warnings, json_string(msg));
                free(msg);
            }
            json_object_set_new(columns, t.field_ids[i], cj);
            continue;
        }
        if (c->action == PRIVACY_SUPPRESS) {
            drop[i] = true;
        } else if ((ret = transform_column(c, &t, i, key, &topc, &botc, err))) {
            free(of);
            goto out;
        }
        json_object_set_new(columns, t.field_ids[i], column_json(c, topc, botc));
    }
    free(of);
    drop_columns(&t, drop);
    /* the quasi-identifiers and their hierarchies */
    for (size_t i = 0; i < p->ncols; i++) {
        const struct pcol *c = &p->cols[i];
        if (c->sensitive)
            sens = c;
        if (c->action != PRIVACY_GENERALIZE)
            continue;
        char *path = hier_path(p, c);
        struct stat st;
        if (stat(path, &st) == 0 || !anon_hierarchy_is_builtin(c->hierarchy)) {
            ret = anon_hierarchy_load(&h[ngen], path, err);
        } else {
            int64_t k = anon_table_column(&t, c->name);
            struct anon_dict vals;
            anon_dict_init(&vals);
            for (uint64_t rr = 0; rr < t.nrecords; rr++) {
                const char *v = t.cells[rr * t.nfields + (size_t)k];
                anon_dict_intern(&vals, v, strlen(v), NULL);
            }
            ret = anon_hierarchy_builtin(&h[ngen], c->hierarchy, (const char *const *)vals.keys,
                                         vals.n, err);
            anon_dict_release(&vals);
        }
        free(path);
        if (ret)
            goto out;
        qi[ngen].column = c->name;
        qi[ngen].hierarchy = h[ngen];
        gen[ngen++] = c;
    }
    if (sens && sens->hierarchy) {
        char *path = hier_path(p, sens);
        ret = anon_hierarchy_load(&sh, path, err);
        free(path);
        if (ret)
            goto out;
    }
    struct anon_config cfg = p->c;
    if (sh && cfg.tclose == ANON_TCLOSE_EQUAL)
        cfg.tclose = ANON_TCLOSE_HIERARCHICAL;
    if ((cfg.ldiv != ANON_LDIV_NONE || cfg.tclose != ANON_TCLOSE_NONE) && !sens) {
        ret = err_set(err, ERR_VALIDATION, cfg.ldiv != ANON_LDIV_NONE ? "l" : "t",
                      "l-diversity and t-closeness need a sensitive column (\"sensitive\": true)");
        goto out;
    }
    out->records = t.nrecords;
    json_object_set_new(report, "records", json_integer((json_int_t)t.nrecords));
    if (!ngen) {
        if (output && (ret = write_table(&t, output, err)))
            goto out;
        out->found = true;
        json_object_set_new(report, "levels", json_object());
        json_object_set_new(report, "output", output ? json_string(output) : json_null());
        goto done;
    }
    ret = anon_data_from_table(&d, &t, qi, ngen, sens ? sens->name : NULL, sh, err);
    if (ret)
        goto out;
    load_s = now_seconds() - t0;
    if ((ret = anon_search(d, &cfg, &r, err)))
        goto out;
    uint64_t N = anon_data_records(d);
    json_object_set_new(report, "k", json_integer(cfg.k));
    json_object_set_new(report, "metric", json_string(anon_metric_name(cfg.metric)));
    json_object_set_new(report, "suppression_limit",
                        json_integer((json_int_t)floor(cfg.suppression * (double)N + 1e-9)));
    json_object_set_new(report, "search_seconds", json_real(r.seconds));
    json_object_set_new(report, "search_cpu_seconds", json_real(r.cpu_seconds));
    json_object_set_new(report, "load_seconds", json_real(load_s));
    json_object_set_new(report, "nodes", json_integer((json_int_t)r.nodes));
    json_object_set_new(report, "checked", json_integer((json_int_t)r.checked));
    json_object_set_new(report, "stopped", json_integer((json_int_t)r.stopped));
    json_object_set_new(report, "pruned", json_integer((json_int_t)r.pruned));
    json_object_set_new(report, "found", json_boolean(r.found));
    if (!r.found) {
        out->found = false;
        goto done;
    }
    struct anon_config plain = {1, ANON_LDIV_NONE, 0, ANON_TCLOSE_NONE, 0, 0, cfg.metric};
    struct anon_scores before;
    struct anon_risk risk_before, risk_after;
    unsigned zero[64] = {0};
    if ((ret = anon_evaluate(d, &plain, zero, &before, err)) ||
        (ret = anon_risk(d, &plain, zero, p->risk_threshold, &risk_before, err)) ||
        (ret = anon_risk(d, &cfg, r.levels, p->risk_threshold, &risk_after, err)) ||
        (output && (ret = anon_data_write(d, &cfg, r.levels, output, err))))
        goto out;
    json_t *levels = json_object(), *heights = json_object();
    for (size_t j = 0; j < ngen; j++) {
        const char *name = anon_data_qi_name(d, j);
        json_object_set_new(levels, name, json_integer(r.levels[j]));
        json_object_set_new(heights, name, json_integer((json_int_t)anon_data_height(d, j)));
        json_t *cj = json_object_get(columns, name);
        if (cj) {
            json_object_set_new(cj, "level", json_integer(r.levels[j]));
            json_object_set_new(cj, "height", json_integer((json_int_t)anon_data_height(d, j)));
        }
    }
    (void)gen;
    json_object_set_new(report, "levels", levels);
    json_object_set_new(report, "heights", heights);
    json_object_set_new(report, "suppressed", json_integer((json_int_t)r.scores.suppressed));
    json_object_set_new(report, "classes", json_integer((json_int_t)r.scores.classes));
    json_object_set_new(report, "min_class", json_integer((json_int_t)r.scores.min_class));
    json_object_set_new(report, "score", json_real(r.score));
    json_object_set_new(report, "output", output ? json_string(output) : json_null());
    json_object_set_new(report, "suppressed_records_as", json_string("*"));
    json_object_set_new(report, "risk",
                        json_pack("{s:o, s:o}", "before", risk_json(&risk_before), "after",
                                  risk_json(&risk_after)));
    json_object_set_new(report, "utility",
                        json_pack("{s:o, s:o}", "before", utility_json(&before), "after",
                                  utility_json(&r.scores)));
    json_object_set_new(report, "risk_threshold", json_real(p->risk_threshold));
    out->found = true;
    out->suppressed = r.scores.suppressed;
    out->classes = r.scores.classes;
    out->k_reached = r.scores.min_class;
done:
    out->report = report;
    report = NULL;
    ret = 0;
out:
    json_decref(report);
    anon_result_release(&r);
    anon_data_free(d);
    anon_table_release(&t);
    for (size_t j = 0; j < ngen; j++)
        anon_hierarchy_free(h[j]);
    anon_hierarchy_free(sh);
    free(col);
    free(drop);
    return ret;
}
