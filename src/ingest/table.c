/*
 * table.c - a source read as a typed table (ingest.h, "Tables"; docs/internals/ingest.md,
 * "Types"): title rows skipped, the header normalised, a first pass over every row that
 * checks widths and infers types, and a second pass that yields typed values.
 *
 * Nothing here holds more than one row: the first pass keeps a struct ingest_infer per
 * field, the second a value and INGEST_SCRATCH bytes per field. The source is rewound
 * between the passes (and once more while looking for title rows).
 */
#include <assert.h>

#include "core/limits.h"
#include "ingest/ingest.h"
#include "core/util.h"

struct table {
    struct ingest_table t;      /* first: a struct ingest_table * is a struct table * */
    struct ingest_infer *infer; /* per field, from the first pass */
    struct dsvalue *values;     /* the row ingest_table_next yields */
    char *scratch;              /* INGEST_SCRATCH bytes per field */
    uint64_t yielded;           /* data rows yielded since the first data row */
    struct ingest_pos pos;      /* where the last error was found */
};

static struct table *table_of(struct ingest_table *t)
{
    return (struct table *)t;
}

static const struct ingest_cell empty_cell = {INGEST_CELL_EMPTY, "", 0};

static size_t nonempty_cells(const struct ingest_row *row)
{
    size_t k = 0;

    for (size_t i = 0; i < row->n; i++)
        k += row->cells[i].len != 0;
    return k;
}

/* The next row of the source; on an error its place is kept in tb->pos. */
static int next_row(struct table *tb, struct ingest_row *row, struct err *err)
{
    int rc = ingest_source_next(tb->t.src, row, err);

    if (rc < 0)
        ingest_source_pos(tb->t.src, &tb->pos);
    return rc;
}

static int no_rows(struct table *tb, struct err *err)
{
    const struct ingest_info *info = ingest_source_info(tb->t.src);

    if (info->sheet[0])
        return err_set(err, ERR_VALIDATION, "sheet", "sheet \"%s\" is empty", info->sheet);
    return err_set(err, ERR_VALIDATION, "file", "file is empty");
}

/*
 * How many leading rows are plainly a title (skip_rows -1). Row i is a title when a
 * non-blank row j follows it within the first LIMIT_INGEST_TITLE_ROWS + 2 rows and,
 * with a and b their non-empty cells: a = 0 (a blank row), or a = 1 and b >= 2 (one cell
 * of text above a table: a one-column file keeps its header), or 2a < b (far fewer cells
 * than the rows under it). Titles are counted from the top, at most
 * LIMIT_INGEST_TITLE_ROWS; the first row that is not a title is the header.
 */
static int count_title_rows(struct table *tb, unsigned *skip, struct err *err)
{
    size_t counts[LIMIT_INGEST_TITLE_ROWS + 2];
    size_t m = 0, k = 0;
    struct ingest_row row;
    int rc;

    while (m < ARRAY_SIZE(counts)) {
        rc = next_row(tb, &row, err);
        if (rc < 0)
            return rc;
        if (!rc)
            break;
        counts[m++] = nonempty_cells(&row);
    }
    while (k < LIMIT_INGEST_TITLE_ROWS && k < m) {
        size_t j = k + 1, a = counts[k], b;

        while (j < m && !counts[j])
            j++;
        if (j == m)
            break;
        b = counts[j];
        if (!(a == 0 || (a == 1 && b >= 2) || 2 * a < b))
            break;
        k++;
    }
    *skip = (unsigned)k;
    return 0;
}

/* Reads n rows and drops them. *got: how many there were (fewer at the end). */
static int drop_rows(struct table *tb, uint64_t n, uint64_t *got, struct err *err)
{
    struct ingest_row row;
    int rc;

    for (*got = 0; *got < n; (*got)++) {
        rc = next_row(tb, &row, err);
        if (rc <= 0)
            return rc;
    }
    return 0;
}

static int set_header(struct table *tb, const struct ingest_row *row, struct err *err)
{
    struct ingest_table *t = &tb->t;
    char **labels = NULL, **ids = NULL;
    size_t n = row->n;

    if (!n)
        return err_set(err, ERR_VALIDATION, "file", "line %" PRIu64 ": the header row is empty",
                       row->line);
    if (n > LIMIT_DATASTORE_FIELDS) {
        tb->pos.line = row->line;
        tb->pos.column = LIMIT_DATASTORE_FIELDS + 1;
        return err_set(err, ERR_TOO_LARGE, "file",
                       "line %" PRIu64 ": the header has %zu fields, more than %u", row->line, n,
                       LIMIT_DATASTORE_FIELDS);
    }
    labels = xcalloc(n, sizeof(*labels));
    ids = xcalloc(n, sizeof(*ids));
    for (size_t i = 0; i < n; i++)
        labels[i] = xstrndup(row->cells[i].s, row->cells[i].len);
    ingest_header_ids((const char *const *)labels, n, ids);
    t->fields = xcalloc(n, sizeof(*t->fields));
    t->nfields = n;
    for (size_t i = 0; i < n; i++) {
        t->fields[i].id = ids[i];
        t->fields[i].label = labels[i];
        t->fields[i].type = DSTYPE_TEXT;
    }
    t->header_line = row->line;
    tb->infer = xcalloc(n, sizeof(*tb->infer));
    tb->values = xcalloc(n, sizeof(*tb->values));
    tb->scratch = xmalloc(n * INGEST_SCRATCH);
    for (size_t i = 0; i < n; i++)
        ingest_infer_init(&tb->infer[i]);
    free(labels);
    free(ids);
    return 0;
}

static bool row_blank(const struct ingest_row *row)
{
    for (size_t i = 0; i < row->n; i++)
        if (row->cells[i].len)
            return false;
    return true;
}

static void update_nonnull(struct table *tb, size_t i)
{
    const struct ingest_infer *inf = &tb->infer[i];
    struct ingest_field *f = &tb->t.fields[i];

    /* Text keeps the tokens ("NA" is Namibia) and only "" is NULL. */
    f->nonnull = f->type == DSTYPE_TEXT ? inf->values + inf->missing - inf->empty : inf->values;
}

/* The first pass: widths, types, the row count. Blank rows wait in `blank` until a row
 * with a value follows them: then they are rows of NULLs; at the end they are dropped. */
static int first_pass(struct table *tb, bool lenient, struct err *err)
{
    struct ingest_table *t = &tb->t;
    uint64_t blank = 0;
    struct ingest_row row;
    int rc;

    for (;;) {
        size_t n;

        rc = next_row(tb, &row, err);
        if (rc <= 0)
            break;
        if (row_blank(&row)) {
            blank++;
            continue;
        }
        if (row.n != t->nfields) {
            if (!lenient) {
                tb->pos.line = row.line;
                tb->pos.column = (row.n < t->nfields ? row.n : t->nfields) + 1;
                return err_set(err, ERR_VALIDATION, "file",
                               "line %" PRIu64 ": %zu field%s, the header has %zu", row.line, row.n,
                               row.n == 1 ? "" : "s", t->nfields);
            }
            if (!t->ragged++)
                t->first_ragged_line = row.line;
        }
        t->rows += blank + 1;
        blank = 0;
        n = row.n < t->nfields ? row.n : t->nfields;
        for (size_t i = 0; i < n; i++)
            ingest_infer_cell(&tb->infer[i], &row.cells[i]);
    }
    if (rc < 0)
        return rc;
    for (size_t i = 0; i < t->nfields; i++) {
        t->fields[i].type = ingest_infer_type_field(&tb->infer[i], t->fields[i].id);
        update_nonnull(tb, i);
    }
    return 0;
}

/* Positions the source at the first data row. */
static int seek_data(struct table *tb, struct err *err)
{
    uint64_t got;
    int rc;

    tb->yielded = 0;
    rc = ingest_source_rewind(tb->t.src, err);
    if (rc) {
        ingest_source_pos(tb->t.src, &tb->pos);
        return rc;
    }
    rc = drop_rows(tb, (uint64_t)tb->t.skipped + 1, &got, err);
    if (!rc && got != (uint64_t)tb->t.skipped + 1)
        rc = err_set(err, ERR_INTERNAL, "file", "the file changed while it was read");
    return rc;
}

int ingest_table_open_pos(struct ingest_table **out, const char *path, const char *filename,
                          const struct ingest_options *o, struct ingest_pos *pos, struct err *err)
{
    static const struct ingest_options defaults = INGEST_OPTIONS_INIT;
    struct table *tb = xcalloc(1, sizeof(*tb));
    struct ingest_row row;
    unsigned skip = 0;
    uint64_t got;
    int rc;

    *out = NULL;
    if (!o)
        o = &defaults;
    rc = ingest_source_open(&tb->t.src, path, filename, o, err);
    if (rc)
        goto out; /* no source is left to say where: the message does */
    if (o->skip_rows >= 0) {
        skip = (unsigned)o->skip_rows;
    } else {
        rc = count_title_rows(tb, &skip, err);
        if (!rc)
            rc = ingest_source_rewind(tb->t.src, err);
        if (rc)
            goto out;
    }
    rc = drop_rows(tb, skip, &got, err);
    if (rc)
        goto out;
    rc = got == skip ? next_row(tb, &row, err) : 0;
    if (rc < 0)
        goto out;
    if (!rc) {
        if (!skip || !got)
            rc = no_rows(tb, err);
        else
            rc = err_set(err, ERR_VALIDATION, "skip_rows",
                         "no header row: skip_rows is %u and the file has %" PRIu64 " row%s", skip,
                         got, got == 1 ? "" : "s");
        goto out;
    }
    tb->t.skipped = skip;
    rc = set_header(tb, &row, err);
    if (!rc)
        rc = first_pass(tb, o->lenient, err);
    if (!rc)
        rc = seek_data(tb, err);
out:
    if (pos)
        *pos = tb->pos;
    if (rc) {
        ingest_table_free(&tb->t);
        return rc;
    }
    *out = &tb->t;
    return 0;
}

int ingest_table_open(struct ingest_table **out, const char *path, const char *filename,
                      const struct ingest_options *o, struct err *err)
{
    return ingest_table_open_pos(out, path, filename, o, NULL, err);
}

void ingest_table_set_type(struct ingest_table *t, size_t i, enum dstype type)
{
    assert(i < t->nfields && (unsigned)type < DSTYPE_COUNT);
    if (i >= t->nfields || (unsigned)type >= DSTYPE_COUNT)
        return;
    t->fields[i].type = type;
    update_nonnull(table_of(t), i);
}

/* The error of a value that does not fit its field: convert again, now for the message. */
static int value_error(struct table *tb, size_t i, const struct ingest_cell *cell, uint64_t line,
                       struct err *err)
{
    const struct ingest_field *f = &tb->t.fields[i];
    struct err e = ERR_INIT;
    struct dsvalue v;
    int rc;

    rc = ingest_value_convert(f->type, cell, &v, tb->scratch + i * INGEST_SCRATCH, &e);
    BUG_ON(!rc);
    tb->pos.line = line;
    tb->pos.column = i + 1;
    return err_set(err, e.kind, f->id, "line %" PRIu64 ", column %zu (\"%s\"): %s", line, i + 1,
                   f->id, e.msg);
}

int ingest_table_next(struct ingest_table *t, const struct dsvalue **values, uint64_t *line,
                      struct err *err)
{
    struct table *tb = table_of(t);
    struct ingest_row row;
    int rc;

    if (tb->yielded >= t->rows)
        return 0;
    rc = next_row(tb, &row, err);
    if (rc < 0)
        return rc;
    if (!rc)
        return err_set(err, ERR_INTERNAL, "file",
                       "the file changed while it was read: it ended after %" PRIu64 " of %" PRIu64
                       " rows",
                       tb->yielded, t->rows);
    for (size_t i = 0; i < t->nfields; i++) {
        const struct ingest_cell *cell = i < row.n ? &row.cells[i] : &empty_cell;

        if (ingest_value_convert(t->fields[i].type, cell, &tb->values[i],
                                 tb->scratch + i * INGEST_SCRATCH, NULL))
            return value_error(tb, i, cell, row.line, err);
    }
    tb->yielded++;
    *values = tb->values;
    if (line)
        *line = row.line;
    return 1;
}

int ingest_table_rewind(struct ingest_table *t, struct err *err)
{
    return seek_data(table_of(t), err);
}

void ingest_table_pos(const struct ingest_table *t, struct ingest_pos *pos)
{
    *pos = ((const struct table *)t)->pos;
}

void ingest_table_free(struct ingest_table *t)
{
    struct table *tb = table_of(t);

    if (!t)
        return;
    ingest_source_free(t->src);
    for (size_t i = 0; i < t->nfields; i++) {
        free(t->fields[i].id);
        free(t->fields[i].label);
    }
    free(t->fields);
    free(tb->infer);
    free(tb->values);
    free(tb->scratch);
    free(tb);
}
