/*
 * anon-data.c - reading a table for anonymisation and encoding its quasi-identifiers:
 * dictionaries of values, the maps of each hierarchy level, the weighted tuples the
 * search groups, and writing the generalised table back as CSV.
 */
#include <math.h>

#include "core/buf.h"
#include "ingest/ingest.h"
#include "privacy/anon-int.h"
#include "privacy/anon.h"
#include "core/util.h"

uint64_t anon_data_records(const struct anon_data *d)
{
    return d->nrecords;
}

size_t anon_data_nqi(const struct anon_data *d)
{
    return d->nqi;
}

size_t anon_data_height(const struct anon_data *d, size_t j)
{
    return j < d->nqi ? d->attr[j].height : 0;
}

const char *anon_data_qi_name(const struct anon_data *d, size_t j)
{
    return j < d->nqi ? d->attr[j].name : NULL;
}

static void attr_release(struct anon_attr *a)
{
    free(a->name);
    for (size_t l = 0; l < a->height; l++) {
        if (a->map)
            free(a->map[l]);
        if (a->gval)
            anon_dict_release(&a->gval[l]);
        if (a->share)
            free(a->share[l]);
    }
    free(a->map);
    free(a->gval);
    free(a->share);
    free(a->count);
    free(a->entropy);
    free(a->gen_loss);
}

void anon_data_free(struct anon_data *d)
{
    if (!d)
        return;
    anon_lattice_free(d->lat);
    for (size_t i = 0; i < d->nfields; i++)
        free(d->field_ids[i]);
    free(d->field_ids);
    free(d->cells);
    anon_arena_release(&d->arena);
    for (size_t j = 0; j < d->nqi; j++)
        attr_release(&d->attr[j]);
    free(d->attr);
    free(d->tval);
    free(d->tsens);
    free(d->tcount);
    free(d->rtuple);
    free(d->sens_count);
    free(d->sens_row);
    free(d);
}

/* The field index of a column named by its id, else by its header text; -1. */
static int64_t find_column(const struct ingest_table *t, const char *name)
{
    for (size_t i = 0; i < t->nfields; i++)
        if (!strcmp(t->fields[i].id, name))
            return (int64_t)i;
    for (size_t i = 0; i < t->nfields; i++)
        if (!strcmp(t->fields[i].label, name))
            return (int64_t)i;
    return -1;
}

static uint32_t bits_for(size_t n)
{
    uint32_t b = 1;
    while (b < 32 && ((size_t)1 << b) < n)
        b++;
    return b;
}

/* Encodes QI j's hierarchy levels over the column's distinct values (ids in vals). */
static int attr_encode(struct anon_attr *a, const struct anon_hierarchy *h,
                       const struct anon_dict *vals, const uint64_t *first_line, struct err *err)
{
    struct anon_dict leaf;
    uint32_t *row = NULL;
    uint64_t *b = NULL;
    int ret = 0;

    anon_dict_init(&leaf);
    a->height = h->height;
    a->rows = (uint32_t)h->nrows;
    a->nvalues = (uint32_t)vals->n;
    for (size_t r = 0; r < h->nrows; r++) {
        const char *v = h->cells[r * h->height];
        anon_dict_intern(&leaf, v, strlen(v), NULL);
    }
    row = xmalloc((vals->n + 1) * sizeof(*row));
    for (size_t i = 0; i < vals->n; i++) {
        int64_t r = anon_dict_find(&leaf, vals->keys[i], vals->lens[i]);
        if (r < 0) {
            ret = err_set(err, ERR_VALIDATION, "qi",
                          "value \"%s\" of column \"%s\" (line %" PRIu64
                          ") is not in hierarchy \"%s\"",
                          vals->keys[i], a->name, first_line[i], h->name);
            goto out;
        }
        row[i] = (uint32_t)r;
    }
    a->map = xcalloc(a->height, sizeof(*a->map));
    a->gval = xcalloc(a->height, sizeof(*a->gval));
    a->share = xcalloc(a->height, sizeof(*a->share));
    a->entropy = xcalloc(a->height, sizeof(*a->entropy));
    a->gen_loss = xcalloc(a->height, sizeof(*a->gen_loss));
    a->bits = 1;
    for (size_t l = 0; l < a->height; l++) {
        uint32_t *rowg = xmalloc((h->nrows + 1) * sizeof(*rowg));
        uint64_t *rowsper;
        anon_dict_init(&a->gval[l]);
        for (size_t r = 0; r < h->nrows; r++) {
            const char *v = h->cells[r * h->height + l];
            rowg[r] = anon_dict_intern(&a->gval[l], v, strlen(v), NULL);
        }
        size_t ng = a->gval[l].n;
        rowsper = xcalloc(ng, sizeof(*rowsper));
        for (size_t r = 0; r < h->nrows; r++)
            rowsper[rowg[r]]++;
        a->share[l] = xmalloc(ng * sizeof(double));
        for (size_t g = 0; g < ng; g++)
            a->share[l][g] = (double)rowsper[g] / (double)h->nrows;
        a->map[l] = xmalloc((a->nvalues + 1) * sizeof(uint32_t));
        for (uint32_t i = 0; i < a->nvalues; i++)
            a->map[l][i] = rowg[row[i]];
        if (bits_for(ng) > a->bits)
            a->bits = bits_for(ng);
        free(rowsper);
        free(rowg);
    }
    /* Level-wise constants: a_v, b_w, the entropy and Loss without suppression. */
    b = xcalloc(h->nrows + 1, sizeof(*b));
    for (size_t l = 0; l < a->height; l++) {
        size_t ng = a->gval[l].n;
        double e = 0, t = 0;
        memset(b, 0, ng * sizeof(*b));
        for (uint32_t i = 0; i < a->nvalues; i++)
            b[a->map[l][i]] += a->count[i];
        for (uint32_t i = 0; i < a->nvalues; i++) {
            double av = (double)a->count[i];
            uint32_t g = a->map[l][i];
            if (av > 0)
                e -= av * log2(av / (double)b[g]);
            t += av * a->share[l][g];
        }
        a->entropy[l] = e;
        a->gen_loss[l] = t;
    }
out:
    anon_dict_release(&leaf);
    free(row);
    free(b);
    return ret;
}

int anon_column_values(const char *path, const char *column, const char *field, char ***values,
                       size_t *n, struct err *err)
{
    struct ingest_options o = INGEST_OPTIONS_INIT;
    struct ingest_table *t = NULL;
    struct anon_dict dict;
    const struct dsvalue *v;
    int64_t c;
    int ret;

    *values = NULL;
    *n = 0;
    anon_dict_init(&dict);
    ret = ingest_table_open(&t, path, NULL, &o, err);
    if (ret)
        goto out;
    c = find_column(t, column);
    if (c < 0) {
        ret = err_set(err, ERR_VALIDATION, field, "column \"%s\" not found", column);
        goto out;
    }
    ingest_table_set_type(t, (size_t)c, DSTYPE_TEXT);
    while ((ret = ingest_table_next(t, &v, NULL, err)) == 1) {
        if (v[c].kind == DSVALUE_TEXT)
            anon_dict_intern(&dict, v[c].s, v[c].len, NULL);
        else
            anon_dict_intern(&dict, "", 0, NULL);
    }
    if (ret < 0)
        goto out;
    ret = 0;
    *values = dict.keys;
    *n = dict.n;
    dict.keys = NULL;
    dict.n = 0;
out:
    anon_dict_release(&dict);
    ingest_table_free(t);
    return ret;
}

/* Open addressing over the tuples (nqi + 1 ids each) while they are collected. */
struct tuple_table {
    uint32_t *slots;
    size_t cap;
};

static void tuple_rehash(struct tuple_table *tt, const struct anon_data *d, size_t w,
                         const uint32_t *keys, size_t cap)
{
    free(tt->slots);
    tt->slots = xcalloc(cap, sizeof(*tt->slots));
    tt->cap = cap;
    for (size_t i = 0; i < d->ntuples; i++) {
        size_t s = anon_hash_bytes(keys + i * w, w * sizeof(uint32_t)) & (cap - 1);
        while (tt->slots[s])
            s = (s + 1) & (cap - 1);
        tt->slots[s] = (uint32_t)i + 1;
    }
}

#define ARENA_CHUNK (1u << 20)

char *anon_arena_strndup(struct anon_arena *a, const char *s, size_t len)
{
    char *p;

    if (len + 1 > a->cap - a->used) {
        size_t cap = len + 1 > ARENA_CHUNK ? len + 1 : ARENA_CHUNK;
        ALLOC_GROW(a->chunks, a->n + 1, a->alloc);
        a->chunks[a->n++] = xmalloc(cap);
        a->used = 0;
        a->cap = cap;
    }
    p = a->chunks[a->n - 1] + a->used;
    memcpy(p, s, len);
    p[len] = '\0';
    a->used += len + 1;
    return p;
}

void anon_arena_release(struct anon_arena *a)
{
    for (size_t i = 0; i < a->n; i++)
        free(a->chunks[i]);
    free(a->chunks);
    memset(a, 0, sizeof(*a));
}

void anon_table_release(struct anon_table *t)
{
    for (size_t i = 0; i < t->nfields; i++) {
        free(t->field_ids[i]);
        free(t->labels[i]);
    }
    free(t->field_ids);
    free(t->labels);
    free(t->cells);
    anon_arena_release(&t->arena);
    free(t->lines);
    memset(t, 0, sizeof(*t));
}

int anon_table_read(struct anon_table *out, const char *path, struct err *err)
{
    struct ingest_options o = INGEST_OPTIONS_INIT;
    struct ingest_table *t = NULL;
    struct anon_table tb = {0};
    size_t cells_alloc = 0, lines_alloc = 0;
    const struct dsvalue *v;
    uint64_t line;
    int ret;

    memset(out, 0, sizeof(*out));
    ret = ingest_table_open(&t, path, NULL, &o, err);
    if (ret)
        goto out;
    tb.nfields = t->nfields;
    tb.field_ids = xcalloc(t->nfields + 1, sizeof(*tb.field_ids));
    tb.labels = xcalloc(t->nfields + 1, sizeof(*tb.labels));
    for (size_t i = 0; i < t->nfields; i++) {
        tb.field_ids[i] = xstrdup(t->fields[i].id);
        tb.labels[i] = xstrdup(t->fields[i].label ? t->fields[i].label : t->fields[i].id);
        ingest_table_set_type(t, i, DSTYPE_TEXT);
    }
    while ((ret = ingest_table_next(t, &v, &line, err)) == 1) {
        uint64_t r = tb.nrecords;
        ALLOC_GROW(tb.cells, (r + 1) * tb.nfields, cells_alloc);
        for (size_t i = 0; i < tb.nfields; i++)
            tb.cells[r * tb.nfields + i] = v[i].kind == DSVALUE_TEXT
                                                   ? anon_arena_strndup(&tb.arena, v[i].s, v[i].len)
                                                   : anon_arena_strndup(&tb.arena, "", 0);
        ALLOC_GROW(tb.lines, r + 1, lines_alloc);
        tb.lines[r] = line;
        tb.nrecords++;
    }
    if (ret < 0)
        goto out;
    ret = 0;
    *out = tb;
    memset(&tb, 0, sizeof(tb));
out:
    anon_table_release(&tb);
    ingest_table_free(t);
    return ret;
}

int64_t anon_table_column(const struct anon_table *t, const char *name)
{
    for (size_t i = 0; i < t->nfields; i++)
        if (!strcmp(t->field_ids[i], name))
            return (int64_t)i;
    for (size_t i = 0; i < t->nfields; i++)
        if (!strcmp(t->labels[i], name))
            return (int64_t)i;
    return -1;
}

int anon_data_load(struct anon_data **out, const char *path, const struct anon_qi *qi, size_t nqi,
                   const char *sensitive, const struct anon_hierarchy *sensitive_h, struct err *err)
{
    struct anon_table t;
    int ret;

    *out = NULL;
    if (nqi < 1 || nqi > 64)
        return err_set(err, ERR_VALIDATION, "qi", "between 1 and 64 quasi-identifiers are needed");
    ret = anon_table_read(&t, path, err);
    if (ret)
        return ret;
    return anon_data_from_table(out, &t, qi, nqi, sensitive, sensitive_h, err);
}

int anon_data_from_table(struct anon_data **out, struct anon_table *t, const struct anon_qi *qi,
                         size_t nqi, const char *sensitive,
                         const struct anon_hierarchy *sensitive_h, struct err *err)
{
    struct anon_data *d = xcalloc(1, sizeof(*d));
    struct anon_dict *vals = NULL, sens;
    uint64_t **first_line = NULL;
    size_t *first_alloc = NULL;
    uint32_t *rec = NULL, *keys = NULL;
    size_t keys_alloc = 0;
    struct tuple_table tt = {NULL, 0};
    uint64_t *lines = t->lines;
    int ret = 0;

    *out = NULL;
    t->lines = NULL;
    anon_dict_init(&sens);
    if (nqi < 1 || nqi > 64) {
        ret = err_set(err, ERR_VALIDATION, "qi", "between 1 and 64 quasi-identifiers are needed");
        goto out;
    }
    d->nqi = nqi;
    d->attr = xcalloc(nqi, sizeof(*d->attr));
    for (size_t j = 0; j < nqi; j++) {
        int64_t c = anon_table_column(t, qi[j].column);
        if (c < 0) {
            ret = err_set(err, ERR_VALIDATION, "qi", "column \"%s\" not found", qi[j].column);
            goto out;
        }
        for (size_t i = 0; i < j; i++)
            if (d->attr[i].column == (size_t)c) {
                ret = err_set(err, ERR_VALIDATION, "qi",
                              "column \"%s\" is named twice as a quasi-identifier", qi[j].column);
                goto out;
            }
        d->attr[j].column = (size_t)c;
        d->attr[j].name = xstrdup(t->field_ids[c]);
    }
    if (sensitive) {
        int64_t c = anon_table_column(t, sensitive);
        if (c < 0) {
            ret = err_set(err, ERR_VALIDATION, "sensitive", "column \"%s\" not found", sensitive);
            goto out;
        }
        for (size_t j = 0; j < nqi; j++)
            if (d->attr[j].column == (size_t)c) {
                ret = err_set(err, ERR_VALIDATION, "sensitive",
                              "column \"%s\" cannot be both sensitive and a quasi-identifier",
                              sensitive);
                goto out;
            }
        d->has_sensitive = true;
        d->sens_column = (size_t)c;
        d->sens_h = sensitive_h;
    }
    /* the cells move into d; the rest of t is released */
    d->nfields = t->nfields;
    d->field_ids = t->field_ids;
    d->cells = t->cells;
    d->arena = t->arena;
    d->nrecords = t->nrecords;
    for (size_t i = 0; i < t->nfields; i++)
        free(t->labels[i]);
    free(t->labels);
    memset(t, 0, sizeof(*t));
    vals = xcalloc(nqi, sizeof(*vals));
    first_line = xcalloc(nqi, sizeof(*first_line));
    first_alloc = xcalloc(nqi, sizeof(*first_alloc));
    for (size_t j = 0; j < nqi; j++)
        anon_dict_init(&vals[j]);
    size_t w = nqi + 1;
    rec = xmalloc((d->nrecords * w + 1) * sizeof(*rec));
    for (uint64_t r = 0; r < d->nrecords; r++) {
        for (size_t j = 0; j < nqi; j++) {
            const char *s = d->cells[r * d->nfields + d->attr[j].column];
            bool added;
            uint32_t id = anon_dict_intern(&vals[j], s, strlen(s), &added);
            if (added) {
                ALLOC_GROW(first_line[j], vals[j].n, first_alloc[j]);
                first_line[j][id] = lines ? lines[r] : r + 2;
            }
            rec[r * w + j] = id;
        }
        rec[r * w + nqi] = 0;
        if (sensitive) {
            const char *s = d->cells[r * d->nfields + d->sens_column];
            rec[r * w + nqi] = anon_dict_intern(&sens, s, strlen(s), NULL);
        }
    }
    ret = 0;
    /* counts a_v, then each QI's levels */
    for (size_t j = 0; j < nqi; j++) {
        d->attr[j].count = xcalloc(vals[j].n + 1, sizeof(uint64_t));
        for (uint64_t r = 0; r < d->nrecords; r++)
            d->attr[j].count[rec[r * w + j]]++;
        ret = attr_encode(&d->attr[j], qi[j].hierarchy, &vals[j], first_line[j], err);
        if (ret)
            goto out;
    }
    if (sensitive) {
        d->nsens = (uint32_t)sens.n;
        d->sens_count = xcalloc(sens.n + 1, sizeof(uint64_t));
        for (uint64_t r = 0; r < d->nrecords; r++)
            d->sens_count[rec[r * w + nqi]]++;
        if (sensitive_h) {
            struct anon_dict leaf;
            anon_dict_init(&leaf);
            for (size_t r = 0; r < sensitive_h->nrows; r++) {
                const char *s = sensitive_h->cells[r * sensitive_h->height];
                anon_dict_intern(&leaf, s, strlen(s), NULL);
            }
            d->sens_row = xmalloc((sens.n + 1) * sizeof(uint32_t));
            for (size_t i = 0; i < sens.n; i++) {
                int64_t r = anon_dict_find(&leaf, sens.keys[i], sens.lens[i]);
                if (r < 0) {
                    ret = err_set(err, ERR_VALIDATION, "sensitive",
                                  "value \"%s\" of column \"%s\" is not in hierarchy \"%s\"",
                                  sens.keys[i], sensitive, sensitive_h->name);
                    anon_dict_release(&leaf);
                    goto out;
                }
                d->sens_row[i] = (uint32_t)r;
            }
            anon_dict_release(&leaf);
        }
    }
    /* the distinct tuples with their counts */
    d->rtuple = xmalloc((d->nrecords + 1) * sizeof(uint32_t));
    for (uint64_t r = 0; r < d->nrecords; r++) {
        const uint32_t *key = rec + r * w;
        if (2 * (d->ntuples + 1) > tt.cap)
            tuple_rehash(&tt, d, w, keys, tt.cap ? 2 * tt.cap : 1024);
        size_t s = anon_hash_bytes(key, w * sizeof(uint32_t)) & (tt.cap - 1);
        for (; tt.slots[s]; s = (s + 1) & (tt.cap - 1))
            if (!memcmp(keys + (tt.slots[s] - 1) * w, key, w * sizeof(uint32_t)))
                break;
        if (!tt.slots[s]) {
            ALLOC_GROW(keys, (d->ntuples + 1) * w, keys_alloc);
            memcpy(keys + d->ntuples * w, key, w * sizeof(uint32_t));
            tt.slots[s] = (uint32_t)++d->ntuples;
        }
        d->rtuple[r] = tt.slots[s] - 1;
    }
    d->tval = xmalloc((d->ntuples * nqi + 1) * sizeof(uint32_t));
    d->tcount = xcalloc(d->ntuples + 1, sizeof(uint64_t));
    if (sensitive)
        d->tsens = xmalloc((d->ntuples + 1) * sizeof(uint32_t));
    for (size_t i = 0; i < d->ntuples; i++) {
        memcpy(d->tval + i * nqi, keys + i * w, nqi * sizeof(uint32_t));
        if (sensitive)
            d->tsens[i] = keys[i * w + nqi];
    }
    for (uint64_t r = 0; r < d->nrecords; r++)
        d->tcount[d->rtuple[r]]++;
    *out = d;
    d = NULL;
out:
    if (vals)
        for (size_t j = 0; j < nqi; j++) {
            anon_dict_release(&vals[j]);
            free(first_line[j]);
        }
    free(vals);
    free(first_line);
    free(first_alloc);
    anon_dict_release(&sens);
    free(rec);
    free(keys);
    free(tt.slots);
    free(lines);
    anon_table_release(t);
    anon_data_free(d);
    return ret;
}

void anon_csv_field(struct buf *b, const char *s)
{
    if (!strpbrk(s, ",\"\r\n")) {
        buf_addstr(b, s);
        return;
    }
    buf_addch(b, '"');
    for (; *s; s++) {
        if (*s == '"')
            buf_addch(b, '"');
        buf_addch(b, *s);
    }
    buf_addch(b, '"');
}

int anon_data_write(struct anon_data *d, const struct anon_config *c, const unsigned *levels,
                    const char *path, struct err *err)
{
    bool *suppressed = NULL;
    size_t *qi_of = NULL;
    struct buf b = BUF_INIT;
    FILE *f = NULL;
    int ret;

    ret = anon_tuples_suppressed(d, c, levels, &suppressed, err);
    if (ret)
        goto out;
    qi_of = xmalloc((d->nfields + 1) * sizeof(*qi_of));
    for (size_t i = 0; i < d->nfields; i++)
        qi_of[i] = SIZE_MAX;
    for (size_t j = 0; j < d->nqi; j++)
        qi_of[d->attr[j].column] = j;
    f = fopen(path, "wb");
    if (!f) {
        ret = err_set(err, ERR_INTERNAL, "output", "cannot write \"%s\": %s", path,
                      strerror(errno));
        goto out;
    }
    for (size_t i = 0; i < d->nfields; i++) {
        if (i)
            buf_addch(&b, ',');
        anon_csv_field(&b, d->field_ids[i]);
    }
    buf_addstr(&b, "\r\n");
    for (uint64_t r = 0; r < d->nrecords; r++) {
        uint32_t tu = d->rtuple[r];
        for (size_t i = 0; i < d->nfields; i++) {
            size_t j = qi_of[i];
            if (i)
                buf_addch(&b, ',');
            if (j == SIZE_MAX) {
                anon_csv_field(&b, d->cells[r * d->nfields + i]);
            } else if (suppressed[tu]) {
                buf_addch(&b, '*');
            } else {
                const struct anon_attr *a = &d->attr[j];
                uint32_t g = a->map[levels[j]][d->tval[(size_t)tu * d->nqi + j]];
                anon_csv_field(&b, a->gval[levels[j]].keys[g]);
            }
        }
        buf_addstr(&b, "\r\n");
        if (b.len > (1u << 20) || r + 1 == d->nrecords) {
            if (fwrite(b.buf, 1, b.len, f) != b.len) {
                ret = err_set(err, ERR_INTERNAL, "output", "cannot write \"%s\": %s", path,
                              strerror(errno));
                goto out;
            }
            buf_reset(&b);
        }
    }
    if (d->nrecords == 0 && fwrite(b.buf, 1, b.len, f) != b.len) {
        ret = err_set(err, ERR_INTERNAL, "output", "cannot write \"%s\": %s", path,
                      strerror(errno));
        goto out;
    }
    if (fclose(f)) {
        f = NULL;
        ret = err_set(err, ERR_INTERNAL, "output", "cannot write \"%s\": %s", path,
                      strerror(errno));
        goto out;
    }
    f = NULL;
out:
    if (f)
        fclose(f);
    free(suppressed);
    free(qi_of);
    buf_release(&b);
    return ret;
}
