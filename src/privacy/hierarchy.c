/*
 * hierarchy.c - generalisation hierarchies: ARX's hierarchy CSV files and the built-in
 * hierarchies (dates, number intervals, GB/T 2260 region codes, masking), and the string
 * dictionary the engine shares (anon-int.h).
 */
#include <ctype.h>
#include <math.h>

#include "core/buf.h"
#include "core/parse.h"
#include "privacy/anon-int.h"
#include "privacy/anon.h"
#include "core/util.h"

/* ---- The dictionary ------------------------------------------------------------------- */

uint64_t anon_hash_bytes(const void *p, size_t len)
{
    /* FNV-1a, 64 bits, with a final mix so that the low bits index well. */
    const unsigned char *s = p;
    uint64_t h = 0xcbf29ce484222325ull;

    for (size_t i = 0; i < len; i++) {
        h ^= s[i];
        h *= 0x100000001b3ull;
    }
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdull;
    h ^= h >> 33;
    return h;
}

void anon_dict_init(struct anon_dict *d)
{
    memset(d, 0, sizeof(*d));
}

void anon_dict_release(struct anon_dict *d)
{
    for (size_t i = 0; i < d->n; i++)
        free(d->keys[i]);
    free(d->keys);
    free(d->lens);
    free(d->hashes);
    free(d->slots);
    anon_dict_init(d);
}

static void dict_rehash(struct anon_dict *d, size_t cap)
{
    free(d->slots);
    d->slots = xcalloc(cap, sizeof(*d->slots));
    d->cap = cap;
    for (size_t i = 0; i < d->n; i++) {
        size_t s = d->hashes[i] & (cap - 1);
        while (d->slots[s])
            s = (s + 1) & (cap - 1);
        d->slots[s] = (uint32_t)i + 1;
    }
}

int64_t anon_dict_find(const struct anon_dict *d, const char *s, size_t len)
{
    uint64_t h = anon_hash_bytes(s, len);

    if (!d->cap)
        return -1;
    for (size_t i = h & (d->cap - 1);; i = (i + 1) & (d->cap - 1)) {
        uint32_t id = d->slots[i];
        if (!id)
            return -1;
        id--;
        if (d->hashes[id] == h && d->lens[id] == len && !memcmp(d->keys[id], s, len))
            return id;
    }
}

uint32_t anon_dict_intern(struct anon_dict *d, const char *s, size_t len, bool *added)
{
    uint64_t h = anon_hash_bytes(s, len);
    size_t i;

    if (added)
        *added = false;
    if (2 * (d->n + 1) > d->cap)
        dict_rehash(d, d->cap ? 2 * d->cap : 64);
    for (i = h & (d->cap - 1); d->slots[i]; i = (i + 1) & (d->cap - 1)) {
        uint32_t id = d->slots[i] - 1;
        if (d->hashes[id] == h && d->lens[id] == len && !memcmp(d->keys[id], s, len))
            return id;
    }
    if (d->n == d->alloc) {
        d->alloc = d->alloc ? 2 * d->alloc : 64;
        d->keys = xrealloc(d->keys, d->alloc * sizeof(*d->keys));
        d->lens = xrealloc(d->lens, d->alloc * sizeof(*d->lens));
        d->hashes = xrealloc(d->hashes, d->alloc * sizeof(*d->hashes));
    }
    d->keys[d->n] = xstrndup(s, len);
    d->lens[d->n] = len;
    d->hashes[d->n] = h;
    d->slots[i] = (uint32_t)d->n + 1;
    if (added)
        *added = true;
    return (uint32_t)d->n++;
}

/* ---- Hierarchies ---------------------------------------------------------------------- */

void anon_hierarchy_free(struct anon_hierarchy *h)
{
    if (!h)
        return;
    for (size_t i = 0; i < h->nrows * h->height; i++)
        free(h->cells[i]);
    free(h->cells);
    free(h->name);
    free(h);
}

/*
 * Checks what ARX checks of a hierarchy: level 0 values distinct, each level a function
 * of the one below. lines[r] is row r's line in the source (NULL: rows are numbered).
 */
static int hierarchy_validate(const struct anon_hierarchy *h, const uint64_t *lines,
                              struct err *err)
{
    struct anon_dict d;
    uint32_t *next = NULL;
    size_t *first = NULL;
    int ret = 0;

    anon_dict_init(&d);
    first = xmalloc((h->nrows + 1) * sizeof(*first));
    for (size_t r = 0; r < h->nrows; r++) {
        const char *v = h->cells[r * h->height];
        bool added;
        uint32_t id = anon_dict_intern(&d, v, strlen(v), &added);
        if (!added) {
            ret = err_set(err, ERR_VALIDATION, "hierarchy",
                          "hierarchy \"%s\", line %" PRIu64
                          ": value \"%s\" is listed twice (first on line %" PRIu64 ")",
                          h->name, lines ? lines[r] : r + 1, v,
                          lines ? lines[first[id]] : first[id] + 1);
            goto out;
        }
        first[id] = r;
    }
    for (size_t l = 0; l + 1 < h->height; l++) {
        anon_dict_release(&d);
        free(next);
        next = NULL;
        size_t alloc = 0;
        for (size_t r = 0; r < h->nrows; r++) {
            const char *v = h->cells[r * h->height + l];
            const char *w = h->cells[r * h->height + l + 1];
            bool added;
            uint32_t id = anon_dict_intern(&d, v, strlen(v), &added);
            if (added) {
                ALLOC_GROW(next, d.n, alloc);
                next[id] = (uint32_t)r;
                first[id] = r;
                continue;
            }
            const char *prev = h->cells[next[id] * h->height + l + 1];
            if (strcmp(prev, w)) {
                ret = err_set(err, ERR_VALIDATION, "hierarchy",
                              "hierarchy \"%s\", line %" PRIu64
                              ": \"%s\" at level %zu can either be generalised to \"%s\" (line "
                              "%" PRIu64 ") or to \"%s\" at level %zu",
                              h->name, lines ? lines[r] : r + 1, v, l, prev,
                              lines ? lines[first[id]] : first[id] + 1, w, l + 1);
                goto out;
            }
        }
    }
out:
    anon_dict_release(&d);
    free(next);
    free(first);
    return ret;
}

int anon_hierarchy_parse(struct anon_hierarchy **out, const char *data, size_t len,
                         const char *name, struct err *err)
{
    struct anon_hierarchy *h = xcalloc(1, sizeof(*h));
    char **row = NULL;
    size_t nrow = 0, arow = 0, acells = 0;
    uint64_t *lines = NULL;
    size_t alines = 0;
    struct buf field = BUF_INIT;
    uint64_t line = 1;
    size_t i = 0;
    int ret = 0;

    *out = NULL;
    h->name = xstrdup(name ? name : "hierarchy");
    if (len > ANON_MAX_HIER_SRC) {
        ret = err_set(err, ERR_TOO_LARGE, "hierarchy", "hierarchy \"%s\" is larger than %u bytes",
                      h->name, ANON_MAX_HIER_SRC);
        goto out;
    }
    while (i < len) {
        uint64_t row_line = line;
        bool blank = true;

        /* one record: fields up to an unquoted end of line */
        nrow = 0;
        for (;;) {
            bool quoted = false;
            buf_reset(&field);
            if (i < len && data[i] == '"') {
                quoted = true;
                blank = false;
                i++;
                for (;;) {
                    if (i >= len) {
                        ret = err_set(err, ERR_VALIDATION, "hierarchy",
                                      "hierarchy \"%s\", line %" PRIu64
                                      ": a quoted value is not closed",
                                      h->name, row_line);
                        goto out;
                    }
                    if (data[i] == '"') {
                        if (i + 1 < len && data[i + 1] == '"') {
                            buf_addch(&field, '"');
                            i += 2;
                            continue;
                        }
                        i++;
                        break;
                    }
                    if (data[i] == '\n')
                        line++;
                    buf_addch(&field, data[i++]);
                }
            }
            while (i < len && data[i] != ';' && data[i] != '\n' && data[i] != '\r') {
                if (quoted) {
                    ret = err_set(err, ERR_VALIDATION, "hierarchy",
                                  "hierarchy \"%s\", line %" PRIu64 ": text after a quoted value",
                                  h->name, line);
                    goto out;
                }
                if (data[i] == '\0') {
                    ret = err_set(err, ERR_VALIDATION, "hierarchy",
                                  "hierarchy \"%s\", line %" PRIu64 ": a NUL byte", h->name, line);
                    goto out;
                }
                blank = false;
                buf_addch(&field, data[i++]);
            }
            if (buf_failed(&field)) {
                ret = err_set(err, ERR_TOO_LARGE, "hierarchy",
                              "hierarchy \"%s\", line %" PRIu64 ": a value is too long", h->name,
                              line);
                goto out;
            }
            ALLOC_GROW(row, nrow + 1, arow);
            row[nrow++] = buf_detach(&field, NULL);
            if (nrow > ANON_MAX_LEVELS) {
                ret = err_set(err, ERR_VALIDATION, "hierarchy",
                              "hierarchy \"%s\", line %" PRIu64 ": more than %u levels", h->name,
                              row_line, ANON_MAX_LEVELS);
                goto out;
            }
            if (i < len && data[i] == ';') {
                blank = false;
                i++;
                continue;
            }
            /* end of line or of data */
            if (i < len && data[i] == '\r')
                i++;
            if (i < len && data[i] == '\n')
                i++;
            line++;
            break;
        }
        if (blank) {
            for (size_t j = 0; j < nrow; j++)
                free(row[j]);
            nrow = 0;
            continue;
        }
        if (!h->height) {
            h->height = nrow;
        } else if (nrow != h->height) {
            ret = err_set(err, ERR_VALIDATION, "hierarchy",
                          "hierarchy \"%s\", line %" PRIu64
                          ": %zu values, the first row has %zu (every row needs one value per "
                          "level)",
                          h->name, row_line, nrow, h->height);
            goto out;
        }
        if (h->nrows >= ANON_MAX_ROWS) {
            ret = err_set(err, ERR_VALIDATION, "hierarchy",
                          "hierarchy \"%s\" has more than %u rows", h->name, ANON_MAX_ROWS);
            goto out;
        }
        ALLOC_GROW(h->cells, (h->nrows + 1) * h->height, acells);
        memcpy(h->cells + h->nrows * h->height, row, nrow * sizeof(*row));
        nrow = 0;
        ALLOC_GROW(lines, h->nrows + 1, alines);
        lines[h->nrows++] = row_line;
    }
    if (!h->nrows) {
        ret = err_set(err, ERR_VALIDATION, "hierarchy", "hierarchy \"%s\" is empty", h->name);
        goto out;
    }
    ret = hierarchy_validate(h, lines, err);
    if (ret)
        goto out;
    *out = h;
    h = NULL;
out:
    for (size_t j = 0; j < nrow; j++)
        free(row[j]);
    free(row);
    free(lines);
    buf_release(&field);
    anon_hierarchy_free(h);
    return ret;
}

int anon_hierarchy_load(struct anon_hierarchy **out, const char *path, struct err *err)
{
    FILE *f = NULL;
    struct buf b = BUF_INIT;
    char chunk[65536];
    size_t n;
    int ret = 0;

    *out = NULL;
    buf_init(&b, ANON_MAX_HIER_SRC + 1);
    f = fopen(path, "rb");
    if (!f) {
        ret = err_set(err, ERR_VALIDATION, "hierarchy", "cannot read hierarchy \"%s\": %s", path,
                      strerror(errno));
        goto out;
    }
    while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
        buf_add(&b, chunk, n);
    if (ferror(f)) {
        ret = err_set(err, ERR_VALIDATION, "hierarchy", "cannot read hierarchy \"%s\": %s", path,
                      strerror(errno));
        goto out;
    }
    if (buf_failed(&b)) {
        ret = err_set(err, ERR_TOO_LARGE, "hierarchy", "hierarchy \"%s\" is larger than %u bytes",
                      path, ANON_MAX_HIER_SRC);
        goto out;
    }
    ret = anon_hierarchy_parse(out, b.buf, b.len, path, err);
out:
    if (f)
        fclose(f);
    buf_release(&b);
    return ret;
}

/* ---- Built-in hierarchies ------------------------------------------------------------- */

static const char *const builtin_words[] = {"date", "interval", "region", "mask", "postal"};

bool anon_hierarchy_is_builtin(const char *spec)
{
    size_t w = strcspn(spec, ":");

    for (size_t i = 0; i < ARRAY_SIZE(builtin_words); i++)
        if (strlen(builtin_words[i]) == w && !strncmp(spec, builtin_words[i], w))
            return true;
    return false;
}

static bool is_digits(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (s[i] < '0' || s[i] > '9')
            return false;
    return true;
}

/* YYYY-MM-DD, a real calendar date. */
static bool parse_date(const char *s, int *y, int *m, int *d)
{
    static const int mdays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};

    if (strlen(s) != 10 || s[4] != '-' || s[7] != '-' || !is_digits(s, 4) || !is_digits(s + 5, 2) ||
        !is_digits(s + 8, 2))
        return false;
    *y = (s[0] - '0') * 1000 + (s[1] - '0') * 100 + (s[2] - '0') * 10 + (s[3] - '0');
    *m = (s[5] - '0') * 10 + (s[6] - '0');
    *d = (s[8] - '0') * 10 + (s[9] - '0');
    if (*y < 1 || *m < 1 || *m > 12 || *d < 1)
        return false;
    int leap = (*y % 4 == 0 && *y % 100 != 0) || *y % 400 == 0;
    return *d <= mdays[*m - 1] + (*m == 2 ? leap : 0);
}

/* The number of code points of a UTF-8 string, and the byte offset of code point i. */
static size_t utf8_len(const char *s)
{
    size_t n = 0;
    for (; *s; s++)
        if (((unsigned char)*s & 0xc0) != 0x80)
            n++;
    return n;
}

static size_t utf8_offset(const char *s, size_t cp)
{
    size_t i = 0, n = 0;
    for (; s[i]; i++) {
        if (((unsigned char)s[i] & 0xc0) != 0x80) {
            if (n == cp)
                return i;
            n++;
        }
    }
    return i;
}

/* Formats a number for an interval bound without a trailing ".0". */
static void add_number(struct buf *b, double x)
{
    if (x == floor(x) && fabs(x) < 1e15)
        buf_addf(b, "%.0f", x);
    else
        buf_addf(b, "%.15g", x);
}

int anon_hierarchy_builtin(struct anon_hierarchy **out, const char *spec, const char *const *values,
                           size_t n, struct err *err)
{
    struct anon_hierarchy *h = xcalloc(1, sizeof(*h));
    uint64_t widths[ANON_MAX_LEVELS];
    size_t nwidths = 0, maxlen = 0;
    bool integers = true;
    struct buf b = BUF_INIT;
    int kind, ret = 0;

    *out = NULL;
    h->name = xstrdup(spec);
    if (!strcmp(spec, "date")) {
        kind = 0;
        h->height = 6;
    } else if (starts_with(spec, "interval:")) {
        const char *p = spec + strlen("interval:");
        kind = 1;
        while (*p) {
            size_t w = strcspn(p, ",");
            char num[32];
            if (w == 0 || w >= sizeof(num) || nwidths + 2 >= ANON_MAX_LEVELS)
                goto bad_spec;
            memcpy(num, p, w);
            num[w] = '\0';
            if (parse_u64(num, UINT32_MAX, &widths[nwidths]) || !widths[nwidths] ||
                (nwidths && widths[nwidths] % widths[nwidths - 1]))
                goto bad_spec;
            nwidths++;
            p += w;
            if (*p == ',' && *++p == '\0')
                goto bad_spec;
        }
        if (!nwidths)
            goto bad_spec;
        h->height = nwidths + 2;
    } else if (!strcmp(spec, "region")) {
        kind = 2;
        h->height = 4;
    } else if (!strcmp(spec, "mask") || !strcmp(spec, "postal")) {
        kind = 3;
        for (size_t i = 0; i < n; i++) {
            size_t l = utf8_len(values[i]);
            if (l > maxlen)
                maxlen = l;
        }
        if (maxlen + 2 > ANON_MAX_LEVELS) {
            ret = err_set(err, ERR_VALIDATION, "hierarchy",
                          "hierarchy \"%s\": values longer than %u characters cannot be masked "
                          "one character per level",
                          spec, ANON_MAX_LEVELS - 2);
            goto out;
        }
        h->height = maxlen + 2;
    } else {
        goto bad_spec;
    }
    if (n > ANON_MAX_ROWS) {
        ret = err_set(err, ERR_VALIDATION, "hierarchy", "hierarchy \"%s\" has more than %u rows",
                      spec, ANON_MAX_ROWS);
        goto out;
    }
    if (kind == 1) {
        for (size_t i = 0; i < n; i++) {
            char *end;
            double x = strtod(values[i], &end);
            if (!values[i][0] || *end || !isfinite(x) || isspace((unsigned char)values[i][0])) {
                ret = err_set(err, ERR_VALIDATION, "hierarchy",
                              "value \"%s\" is not a number (hierarchy \"%s\")", values[i], spec);
                goto out;
            }
            if (x != floor(x))
                integers = false;
        }
    }
    h->cells = xcalloc(n * h->height, sizeof(*h->cells));
    h->nrows = n;
    for (size_t r = 0; r < n; r++) {
        const char *v = values[r];
        char **row = h->cells + r * h->height;
        row[0] = xstrdup(v);
        row[h->height - 1] = xstrdup("*");
        if (kind == 0) {
            int y, m, d;
            if (!parse_date(v, &y, &m, &d)) {
                ret = err_set(err, ERR_VALIDATION, "hierarchy",
                              "value \"%s\" is not a date YYYY-MM-DD (hierarchy \"date\")", v);
                goto out;
            }
            row[1] = xstrfmt("%04d-%02d", y, m);
            row[2] = xstrfmt("%04d-Q%d", y, (m - 1) / 3 + 1);
            row[3] = xstrfmt("%04d", y);
            row[4] = xstrfmt("%04ds", y / 10 * 10);
        } else if (kind == 1) {
            double x = strtod(v, NULL);
            for (size_t l = 0; l < nwidths; l++) {
                double w = (double)widths[l], lo = floor(x / w) * w;
                buf_reset(&b);
                if (integers) {
                    add_number(&b, lo);
                    buf_addch(&b, '-');
                    add_number(&b, lo + w - 1);
                } else {
                    buf_addch(&b, '[');
                    add_number(&b, lo);
                    buf_addch(&b, ',');
                    add_number(&b, lo + w);
                    buf_addch(&b, ')');
                }
                row[l + 1] = xstrdup(b.buf);
            }
        } else if (kind == 2) {
            if (strlen(v) != 6 || !is_digits(v, 6)) {
                ret = err_set(err, ERR_VALIDATION, "hierarchy",
                              "value \"%s\" is not a six-digit region code (hierarchy "
                              "\"region\")",
                              v);
                goto out;
            }
            row[1] = xstrfmt("%.4s00", v);
            row[2] = xstrfmt("%.2s0000", v);
        } else {
            size_t len = utf8_len(v);
            for (size_t l = 1; l + 1 < h->height; l++) {
                size_t keep = l >= len ? 0 : len - l, off = utf8_offset(v, keep);
                buf_reset(&b);
                buf_add(&b, v, off);
                for (size_t c = keep; c < len; c++)
                    buf_addch(&b, '*');
                row[l] = xstrdup(b.buf);
            }
        }
    }
    ret = hierarchy_validate(h, NULL, err);
    if (ret)
        goto out;
    *out = h;
    h = NULL;
    goto out;
bad_spec:
    ret = err_set(err, ERR_VALIDATION, "hierarchy",
                  "hierarchy \"%s\" is not a file or a built-in: date, interval:W1,W2,… "
                  "(positive integers, each a multiple of the one before), region, mask or postal",
                  spec);
out:
    buf_release(&b);
    anon_hierarchy_free(h);
    return ret;
}
