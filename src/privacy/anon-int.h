/*
 * anon-int.h - what the files of the anonymisation engine share (hierarchy.c,
 * anon-data.c, lattice.c, models.c): a string dictionary and the encoded table.
 */
#ifndef KAIFANG_PRIVACY_ANON_INT_H
#define KAIFANG_PRIVACY_ANON_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "privacy/anon.h"

/* A dictionary of strings (owned copies) to dense ids 0, 1, … in insertion order. */
struct anon_dict {
    uint32_t *slots; /* id + 1, 0 empty; cap a power of two */
    size_t cap;
    char **keys; /* by id, NUL-terminated */
    size_t *lens;
    uint64_t *hashes;
    size_t n, alloc;
};

void anon_dict_init(struct anon_dict *d);
void anon_dict_release(struct anon_dict *d);
/* The id of s (len bytes), added when new (*added true then; added may be NULL). */
uint32_t anon_dict_intern(struct anon_dict *d, const char *s, size_t len, bool *added);
/* The id of s, or -1. */
int64_t anon_dict_find(const struct anon_dict *d, const char *s, size_t len);

uint64_t anon_hash_bytes(const void *p, size_t len);

/* One quasi-identifier, encoded. Data value ids are 0..nvalues-1 (first-seen order);
 * level l maps them through map[l][id] to ids of the level's values gvalues[l] (ids of
 * the hierarchy's values at that level, over all its rows), whose share of the
 * hierarchy's rows is share[l][gid] (ARX's Loss domain). */
struct anon_attr {
    char *name;
    size_t column; /* index among the table's fields */
    size_t height;
    uint32_t nvalues;
    uint32_t **map;         /* height arrays of nvalues */
    struct anon_dict *gval; /* height dictionaries of the level's values */
    double **share;         /* height arrays of gval[l].n */
    uint64_t *count;        /* nvalues: records holding each value (a_v) */
    double *entropy;        /* height: −Σ_v a_v log2(a_v / b_{g(v)}) at each level */
    double *gen_loss;       /* height: Σ_v a_v share(g(v)), T_j without suppression */
    uint32_t bits;          /* bits of the largest generalised id over the levels */
    uint32_t rows;          /* R_j: the hierarchy's rows */
};

/* Strings that live as long as a table: carved from 1 MiB chunks, never freed one by one
 * (a cell costs its bytes and a NUL, not a heap block each). */
struct anon_arena {
    char **chunks;
    size_t n, alloc;
    size_t used, cap; /* of the last chunk */
};

/* A copy of s (len bytes, NUL added) in the arena. */
char *anon_arena_strndup(struct anon_arena *a, const char *s, size_t len);
void anon_arena_release(struct anon_arena *a);

struct anon_data {
    uint64_t nrecords;
    size_t nfields;
    char **field_ids;
    char **cells; /* nrecords × nfields, strings in arena */
    struct anon_arena arena;
    size_t nqi;
    struct anon_attr *attr;
    /* tuples: distinct (QI values, sensitive value) with their record counts */
    size_t ntuples;
    uint32_t *tval;   /* ntuples × nqi data value ids */
    uint32_t *tsens;  /* ntuples sensitive ids (NULL without a sensitive column) */
    uint64_t *tcount; /* ntuples */
    uint32_t *rtuple; /* nrecords: each record's tuple */
    /* the sensitive column */
    bool has_sensitive;
    size_t sens_column;
    uint32_t nsens;
    uint64_t *sens_count;                /* nsens: over all records */
    const struct anon_hierarchy *sens_h; /* may be NULL */
    uint32_t *sens_row;                  /* nsens: the value's row in sens_h */
    /* search state (lattice.c) */
    struct anon_lattice *lat;
};

/* A table read whole, every cell as text (a NULL cell ""): nrecords × nfields cells,
 * row-major, each owned; lines[r] is record r's line in the source (ingest's count). */
struct anon_table {
    size_t nfields;
    char **field_ids;
    char **labels; /* header texts */
    uint64_t nrecords;
    char **cells; /* strings in arena */
    uint64_t *lines;
    struct anon_arena arena;
};

/* Reads the table at path through src/ingest (every field as text). Ingest's errors. */
int anon_table_read(struct anon_table *out, const char *path, struct err *err);
void anon_table_release(struct anon_table *t);
/* The index of a column named by field id, else by header text; -1. */
int64_t anon_table_column(const struct anon_table *t, const char *name);

/* anon_data_load() of a table already read: t's cells move into the data (t is released,
 * also on failure). */
int anon_data_from_table(struct anon_data **out, struct anon_table *t, const struct anon_qi *qi,
                         size_t nqi, const char *sensitive,
                         const struct anon_hierarchy *sensitive_h, struct err *err);

struct buf;
/* Appends a CSV field (RFC 4180: quoted when it holds ',', '"', CR or LF). */
void anon_csv_field(struct buf *b, const char *s);

struct anon_lattice;
void anon_lattice_free(struct anon_lattice *l);

/* Whether each tuple's class fails the models at levels (*out: d->ntuples flags, owned
 * by the caller, free()). */
int anon_tuples_suppressed(struct anon_data *d, const struct anon_config *c, const unsigned *levels,
                           bool **out, struct err *err);

#endif
