/*
 * store-sqlite-datastore-ftx.c - the full-text index of a datastore table file (ftx.h's
 * inverted index) in SQLite: built from the table's rows, looked up by key, and offered to
 * the searches' SQL as the table-valued function ftx_ids(match). docs/internals/datastore.md,
 * "Full text".
 *
 * In the table file:
 *   ftx(h INTEGER PRIMARY KEY, entries BLOB)   the keys of hash h (ftx_key_hash) with
 *                                              their postings (ftx.h's entries)
 *   meta ftx_rows, ftx_tokens, ftx_ncols, ftx_max_id, ftx_format   the index's struct
 *                                              ftx_stats (no ftx_format: format 1)
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "core/util.h"
#include "store/ftx.h"
#include "store/store-sqlite-datastore-int.h"

/* ---- Building ----------------------------------------------------------------------------- */
struct emitter {
    sqlite3 *db;
    sqlite3_stmt *ins;
    uint64_t h;
    bool have;
    uint8_t *row;
    size_t len, cap;
};

static int emitter_flush(struct emitter *e, struct err *err)
{
    int rc;

    if (!e->have)
        return 0;
    sqlite3_bind_int64(e->ins, 1, (int64_t)e->h);
    sqlite3_bind_blob(e->ins, 2, e->row, (int)e->len, SQLITE_STATIC);
    rc = sqlite3_step(e->ins);
    sqlite3_reset(e->ins);
    e->have = false;
    e->len = 0;
    return rc == SQLITE_DONE ? 0 : sqds_db_error(e->db, rc, "writing the full-text index", err);
}

static int emit(void *ctx, const uint8_t *key, size_t klen, const uint8_t *post, size_t plen,
                struct err *err)
{
    struct emitter *e = ctx;
    uint64_t h = ftx_key_hash(key, klen);
    size_t n = ftx_entry_size(klen, plen);
    int rc;

    if (e->have && h != e->h) {
        rc = emitter_flush(e, err);
        if (rc)
            return rc;
    }
    if ((uint64_t)e->len + n > SQDS_MAX_VALUE)
        return err_set(err, ERR_INTERNAL, "", "the full-text index of a token is too large");
    if (e->len + n > e->cap) {
        e->cap = e->len + n > 2 * e->cap ? e->len + n : 2 * e->cap;
        e->row = xrealloc(e->row, e->cap);
    }
    e->len += ftx_entry_put(e->row + e->len, key, klen, post, plen);
    e->h = h;
    e->have = true;
    return 0;
}

static int ftx_table_create(sqlite3 *db, struct err *err)
{
    return sqds_exec(db,
                     "CREATE TABLE IF NOT EXISTS ftx(h INTEGER PRIMARY KEY, entries BLOB);"
                     " DELETE FROM ftx",
                     "creating the full-text index", err);
}

int sqds_ftx_write(sqlite3 *db, const char *hex, struct ftx_build *fb, struct err *err)
{
    struct emitter e = {.db = db};
    struct ftx_stats st = {0};
    size_t runs = ftx_build_runs(fb);
    /* The rows go in in rowid order: a small page cache does (the build's 16 MiB would
     * add to the merge's memory at the ingest's peak). */
    int rc = sqds_exec(db, "PRAGMA cache_size = -2048", "writing the full-text index", err);

    if (!rc)
        rc = ftx_table_create(db, err);
    if (rc)
        return rc;
    if (sqlite3_prepare_v2(db, "INSERT INTO ftx(h, entries) VALUES (?, ?)", -1, &e.ins, NULL)) {
        rc = sqds_db_error(db, sqlite3_errcode(db), "preparing the full-text index", err);
        goto out;
    }
    rc = ftx_build_finish(fb, emit, &e, &st, err);
    if (!rc)
        rc = emitter_flush(&e, err);
    if (!rc)
        rc = sqds_meta_set(db, "ftx_rows", NULL, (int64_t)st.rows, err);
    if (!rc)
        rc = sqds_meta_set(db, "ftx_tokens", NULL, (int64_t)st.tokens, err);
    if (!rc)
        rc = sqds_meta_set(db, "ftx_ncols", NULL, (int64_t)st.ncols, err);
    if (!rc)
        rc = sqds_meta_set(db, "ftx_max_id", NULL, st.max_id, err);
    if (!rc)
        rc = sqds_meta_set(db, "ftx_format", NULL, (int64_t)st.format, err);
    if (!rc)
        log_info("store: datastore: full-text index of t_%s: %" PRIu64 " rows, %" PRIu64
                 " tokens, %zu runs on disk",
                 hex, st.rows, st.tokens, runs + (runs > 0));
out:
    sqlite3_finalize(e.ins);
    free(e.row);
    return rc;
}

int sqds_ftx_build(sqlite3 *db, const char *hex, const struct sqds_field *fields, size_t nfields,
                   store_tokenize_fn tokenize, const atomic_bool *cancel, struct err *err)
{
    struct buf sel = BUF_INIT, toks = BUF_INIT;
    struct ftx_build *b = NULL;
    sqlite3_stmt *rd = NULL;
    size_t *cols = xcalloc(nfields ? nfields : 1, sizeof(*cols)), n = 0;
    char *dir = NULL;
    unsigned rows = 0;
    int rc;

    for (size_t i = 0; i < nfields; i++)
        if (fields[i].type == DSTYPE_TEXT)
            cols[n++] = i;
    if (!n) {
        rc = ftx_table_create(db, err);
        goto out;
    }
    {
        /* Runs go beside the table file (not /tmp, which may be memory). */
        const char *file = sqlite3_db_filename(db, "main");
        const char *slash = file ? strrchr(file, '/') : NULL;

        if (slash)
            dir = xstrndup(file, (size_t)(slash - file));
    }
    b = ftx_build_new((uint32_t)n, dir, SQDS_FTX_BUDGET);
    buf_addstr(&sel, "SELECT _id");
    for (size_t k = 0; k < n; k++)
        buf_addf(&sel, ", c_%zu", cols[k] + 1);
    buf_addf(&sel, " FROM t_%s ORDER BY _id", hex);
    if (sqlite3_prepare_v2(db, sel.buf, -1, &rd, NULL)) {
        rc = sqds_db_error(db, sqlite3_errcode(db), "preparing the full-text index", err);
        goto out;
    }
    while ((rc = sqlite3_step(rd)) == SQLITE_ROW) {
        if (!(rows++ & 4095) && cancel && atomic_load_explicit(cancel, memory_order_relaxed)) {
            rc = err_set(err, ERR_UNAVAILABLE, NULL,
                         "building the full-text index abandoned: the server is stopping");
            goto out;
        }
        rc = ftx_build_row(b, sqlite3_column_int64(rd, 0), err);
        if (rc)
            goto out;
        for (size_t k = 0; k < n; k++) {
            const char *text = (const char *)sqlite3_column_text(rd, (int)k + 1);

            if (!text)
                continue;
            buf_reset(&toks);
            tokenize(text, &toks);
            ftx_build_add(b, (uint32_t)cols[k] + 1, toks.buf, toks.len);
        }
    }
    if (rc != SQLITE_DONE) {
        rc = sqds_db_error(db, rc, "reading rows for the full-text index", err);
        goto out;
    }
    sqlite3_finalize(rd);
    rd = NULL;
    rc = sqds_ftx_write(db, hex, b, err);
out:
    sqlite3_finalize(rd);
    ftx_build_free(b);
    free(dir);
    free(cols);
    buf_release(&sel);
    buf_release(&toks);
    return rc;
}

int sqds_ftx_edit_write(sqlite3 *db, const struct ftx_stats *stats, struct ftx_edit *edit,
                        struct err *err)
{
    sqlite3_stmt *get = NULL, *put = NULL, *del = NULL;
    struct ftx_stats st = *stats;
    const uint64_t *hs;
    uint8_t *old = NULL;
    size_t nh;
    int rc = 0;

    ftx_edit_stats(edit, &st);
    hs = ftx_edit_hashes(edit, &nh);
    if (sqlite3_prepare_v2(db, "SELECT entries FROM ftx WHERE h = ?", -1, &get, NULL) ||
        sqlite3_prepare_v2(db, "INSERT OR REPLACE INTO ftx(h, entries) VALUES (?, ?)", -1, &put,
                           NULL) ||
        sqlite3_prepare_v2(db, "DELETE FROM ftx WHERE h = ?", -1, &del, NULL)) {
        rc = sqds_db_error(db, sqlite3_errcode(db), "preparing the full-text index", err);
        goto out;
    }
    for (size_t i = 0; i < nh && !rc; i++) {
        const uint8_t *blob;
        size_t len = 0, outlen;
        int step;

        sqlite3_bind_int64(get, 1, (int64_t)hs[i]);
        step = sqlite3_step(get);
        free(old);
        old = NULL;
        if (step == SQLITE_ROW) {
            len = (size_t)sqlite3_column_bytes(get, 0);
            old = xmalloc(len ? len : 1);
            if (len)
                memcpy(old, sqlite3_column_blob(get, 0), len);
        } else if (step != SQLITE_DONE) {
            rc = sqds_db_error(db, step, "reading the full-text index", err);
        }
        sqlite3_reset(get);
        if (rc)
            break;
        rc = ftx_edit_apply(edit, hs[i], step == SQLITE_ROW ? old : NULL, len, st.max_id, &blob,
                            &outlen, err);
        if (rc)
            break;
        if (outlen) {
            sqlite3_bind_int64(put, 1, (int64_t)hs[i]);
            sqlite3_bind_blob(put, 2, blob, (int)outlen, SQLITE_STATIC);
            step = sqlite3_step(put);
            sqlite3_reset(put);
        } else {
            sqlite3_bind_int64(del, 1, (int64_t)hs[i]);
            step = sqlite3_step(del);
            sqlite3_reset(del);
        }
        if (step != SQLITE_DONE)
            rc = sqds_db_error(db, step, "writing the full-text index", err);
    }
    if (!rc)
        rc = sqds_meta_set(db, "ftx_rows", NULL, (int64_t)st.rows, err);
    if (!rc)
        rc = sqds_meta_set(db, "ftx_tokens", NULL, (int64_t)st.tokens, err);
    if (!rc)
        rc = sqds_meta_set(db, "ftx_max_id", NULL, st.max_id, err);
out:
    sqlite3_finalize(get);
    sqlite3_finalize(put);
    sqlite3_finalize(del);
    free(old);
    return rc;
}

/* ---- Queries ------------------------------------------------------------------------------- */
struct lookup {
    sqlite3 *db;
    uint32_t format; /* the index's (ftx.h): which hash its keys are stored under */
    sqlite3_stmt *st;
    uint8_t **rows; /* copies of the blobs read, alive until the match is made */
    size_t nrows;
};

/* A varint (ftx.c's: LEB128) of at most 10 bytes at p (n bytes): its length, 0 when cut
 * short or too long. */
static size_t varint_at(const uint8_t *p, size_t n, uint64_t *v)
{
    uint64_t x = 0;

    for (size_t i = 0; i < n && i < 10; i++) {
        x |= (uint64_t)(p[i] & 0x7f) << (7 * i);
        if (!(p[i] & 0x80)) {
            *v = x;
            return i + 1;
        }
    }
    return 0;
}

static int damaged_entries(struct err *err)
{
    return err_set(err, ERR_INTERNAL, "q", "the full-text index is damaged (entry)");
}

/* The keys of one hash are read through an incremental blob handle, entry by entry, and only
 * the postings of the key asked for are copied: every key of a token shares a row (format 2),
 * and a common token's row holds a bitmap for each of its fields beside FTX_COL_ANY's. */
static int lookup(void *ctx, const uint8_t *key, size_t klen, const uint8_t **post, size_t *plen,
                  struct err *err)
{
    struct lookup *l = ctx;
    int64_t h = (int64_t)(l->format >= 2 ? ftx_key_hash(key, klen) : ftx_key_hash_v1(key, klen));
    sqlite3_blob *b = NULL;
    uint8_t head[16], *kbuf = NULL, *copy = NULL;
    size_t off = 0, size;
    int rc;

    sqlite3_bind_int64(l->st, 1, h);
    rc = sqlite3_step(l->st);
    sqlite3_reset(l->st);
    if (rc == SQLITE_DONE)
        return 0;
    if (rc != SQLITE_ROW)
        return sqds_db_error(l->db, rc, "reading the full-text index", err);
    rc = sqlite3_blob_open(l->db, "main", "ftx", "entries", h, 0, &b);
    if (rc != SQLITE_OK) {
        rc = sqds_db_error(l->db, rc, "reading the full-text index", err);
        goto out;
    }
    size = (size_t)sqlite3_blob_bytes(b);
    kbuf = xmalloc(klen ? klen : 1);
    while (off < size) {
        size_t n = size - off < sizeof(head) ? size - off : sizeof(head), k;
        uint64_t kl, pl;

        if (sqlite3_blob_read(b, head, (int)n, (int)off) != SQLITE_OK) {
            rc = sqds_db_error(l->db, SQLITE_IOERR, "reading the full-text index", err);
            goto out;
        }
        k = varint_at(head, n, &kl);
        if (!k || kl > size - off - k) {
            rc = damaged_entries(err);
            goto out;
        }
        off += k;
        if (kl == klen && klen && sqlite3_blob_read(b, kbuf, (int)klen, (int)off) != SQLITE_OK) {
            rc = sqds_db_error(l->db, SQLITE_IOERR, "reading the full-text index", err);
            goto out;
        }
        bool match = kl == klen && !memcmp(kbuf, key, klen);

        off += (size_t)kl;
        n = size - off < sizeof(head) ? size - off : sizeof(head);
        if (!n || sqlite3_blob_read(b, head, (int)n, (int)off) != SQLITE_OK ||
            !(k = varint_at(head, n, &pl)) || pl > size - off - k) {
            rc = damaged_entries(err);
            goto out;
        }
        off += k;
        if (match) {
            copy = xmalloc(pl ? (size_t)pl : 1);
            if (pl && sqlite3_blob_read(b, copy, (int)pl, (int)off) != SQLITE_OK) {
                free(copy);
                rc = sqds_db_error(l->db, SQLITE_IOERR, "reading the full-text index", err);
                goto out;
            }
            l->rows = xrealloc(l->rows, (l->nrows + 1) * sizeof(*l->rows));
            l->rows[l->nrows++] = copy;
            *post = copy;
            *plen = (size_t)pl;
            rc = 1;
            goto out;
        }
        off += (size_t)pl;
    }
    rc = 0;
out:
    sqlite3_blob_close(b);
    free(kbuf);
    return rc;
}

int sqds_ftx_match(sqlite3 *db, const struct sqds_table *t, const struct store_ds_text *text,
                   size_t ntext, bool ranked, size_t keep, struct ftx_match **out, struct err *err)
{
    struct ftx_term *terms = NULL;
    struct lookup l = {.db = db, .format = t->ftx.format};
    size_t nterms = 0, alloc = 0;
    int rc = 0;

    *out = NULL;
    for (size_t i = 0; i < ntext; i++) {
        ssize_t f = -1;

        if (text[i].field) {
            f = sqds_field_find(t, text[i].field);
            if (f < 0) {
                rc = err_set(err, ERR_VALIDATION, "q", "field \"%s\" is not in the table",
                             text[i].field);
                goto out;
            }
            if (t->fields[f].type != DSTYPE_TEXT) {
                rc = err_set(err, ERR_VALIDATION, "q", "field \"%s\" is not a text field",
                             text[i].field);
                goto out;
            }
        }
        for (size_t j = 0; j < text[i].ntokens; j++) {
            const char *p = text[i].tokens[j];

            while (p && *p) {
                size_t len;

                while (*p == ' ')
                    p++;
                len = strcspn(p, " ");
                if (!len)
                    break;
                ALLOC_GROW(terms, nterms + 1, alloc);
                terms[nterms].col = f < 0 ? FTX_COL_ANY : (uint32_t)f + 1;
                terms[nterms].token = p;
                terms[nterms].len = len;
                nterms++;
                p += len;
            }
        }
    }
    if (!nterms)
        goto out;
    if (sqlite3_prepare_v2(db, "SELECT length(entries) FROM ftx WHERE h = ?", -1, &l.st, NULL)) {
        rc = sqds_db_error(db, sqlite3_errcode(db), "reading the full-text index", err);
        goto out;
    }
    rc = ftx_match_new(&t->ftx, terms, nterms, ranked, keep, lookup, &l, out, err);
    if (rc == -ERR_INTERNAL)
        log_error("store: datastore: table of \"%s\": %s", t->id, err->msg);
out:
    sqlite3_finalize(l.st);
    for (size_t i = 0; i < l.nrows; i++)
        free(l.rows[i]);
    free(l.rows);
    free(terms);
    return rc;
}

/* ---- ftx_ids(match): the rows of a match to SQL ---------------------------------------------
 * An eponymous table-valued function (https://sqlite.org/vtab.html §2.1.2) with the row id of
 * each matching row as its rowid and its FTS5 rank as column "rank"; the match comes as a
 * pointer bound by the store (sqlite3_bind_pointer, type SQDS_FTX_POINTER), so SQL text alone
 * can never make one. Rows come in rowid order; a rowid = ? constraint looks one up. */
struct vcur {
    sqlite3_vtab_cursor base;
    const struct ftx_match *m;
    int64_t id;
    bool one;
};

static int v_connect(sqlite3 *db, void *aux, int argc, const char *const *argv, sqlite3_vtab **out,
                     char **errmsg)
{
    int rc = sqlite3_declare_vtab(db, "CREATE TABLE x(rank REAL, match HIDDEN)");

    (void)aux;
    (void)argc;
    (void)argv;
    (void)errmsg;
    if (rc != SQLITE_OK)
        return rc;
    *out = sqlite3_malloc(sizeof(**out));
    if (!*out)
        return SQLITE_NOMEM;
    memset(*out, 0, sizeof(**out));
    return SQLITE_OK;
}

static int v_disconnect(sqlite3_vtab *vt)
{
    sqlite3_free(vt);
    return SQLITE_OK;
}

static int v_best_index(sqlite3_vtab *vt, sqlite3_index_info *ii)
{
    int match = -1, row = -1;

    (void)vt;
    for (int i = 0; i < ii->nConstraint; i++) {
        const struct sqlite3_index_constraint *c = &ii->aConstraint[i];

        if (c->op != SQLITE_INDEX_CONSTRAINT_EQ)
            continue;
        if (c->iColumn == 1) {
            if (!c->usable)
                return SQLITE_CONSTRAINT;
            match = i;
        } else if (c->iColumn == -1 && c->usable) {
            row = i;
        }
    }
    if (match < 0)
        return SQLITE_CONSTRAINT;
    ii->aConstraintUsage[match].argvIndex = 1;
    ii->aConstraintUsage[match].omit = 1;
    if (row >= 0) {
        ii->aConstraintUsage[row].argvIndex = 2;
        ii->aConstraintUsage[row].omit = 1;
        ii->idxNum = 1;
        ii->estimatedCost = 1.0;
        ii->estimatedRows = 1;
        ii->idxFlags = SQLITE_INDEX_SCAN_UNIQUE;
    } else {
        ii->estimatedCost = 1e6;
        ii->estimatedRows = 1000000;
    }
    if (ii->nOrderBy == 1 && ii->aOrderBy[0].iColumn == -1 && !ii->aOrderBy[0].desc)
        ii->orderByConsumed = 1;
    return SQLITE_OK;
}

static int v_open(sqlite3_vtab *vt, sqlite3_vtab_cursor **out)
{
    struct vcur *c = sqlite3_malloc(sizeof(*c));

    (void)vt;
    if (!c)
        return SQLITE_NOMEM;
    memset(c, 0, sizeof(*c));
    c->id = -1;
    *out = &c->base;
    return SQLITE_OK;
}

static int v_close(sqlite3_vtab_cursor *cur)
{
    sqlite3_free(cur);
    return SQLITE_OK;
}

static int v_filter(sqlite3_vtab_cursor *cur, int idx, const char *idxstr, int argc,
                    sqlite3_value **argv)
{
    struct vcur *c = (struct vcur *)cur;
    double rank;

    (void)idxstr;
    c->m = argc > 0 ? sqlite3_value_pointer(argv[0], SQDS_FTX_POINTER) : NULL;
    c->id = -1;
    c->one = idx == 1;
    if (!c->m)
        return SQLITE_OK;
    if (c->one) {
        int64_t id;

        if (argc < 2 || sqlite3_value_numeric_type(argv[1]) != SQLITE_INTEGER)
            return SQLITE_OK;
        id = sqlite3_value_int64(argv[1]);
        if (ftx_match_rank(c->m, id, &rank))
            c->id = id;
        return SQLITE_OK;
    }
    c->id = ftx_match_next(c->m, -1);
    return SQLITE_OK;
}

static int v_next(sqlite3_vtab_cursor *cur)
{
    struct vcur *c = (struct vcur *)cur;

    c->id = c->one ? -1 : ftx_match_next(c->m, c->id);
    return SQLITE_OK;
}

static int v_eof(sqlite3_vtab_cursor *cur)
{
    return ((struct vcur *)cur)->id < 0;
}

static int v_column(sqlite3_vtab_cursor *cur, sqlite3_context *ctx, int i)
{
    struct vcur *c = (struct vcur *)cur;
    double rank = 0.0;

    if (i == 0 && ftx_match_rank(c->m, c->id, &rank))
        sqlite3_result_double(ctx, rank);
    else
        sqlite3_result_null(ctx);
    return SQLITE_OK;
}

static int v_rowid(sqlite3_vtab_cursor *cur, sqlite_int64 *rowid)
{
    *rowid = ((struct vcur *)cur)->id;
    return SQLITE_OK;
}

int sqds_ftx_register(sqlite3 *db, struct err *err)
{
    static const sqlite3_module module = {
            .iVersion = 0,
            .xCreate = NULL, /* eponymous only */
            .xConnect = v_connect,
            .xBestIndex = v_best_index,
            .xDisconnect = v_disconnect,
            .xDestroy = v_disconnect,
            .xOpen = v_open,
            .xClose = v_close,
            .xFilter = v_filter,
            .xNext = v_next,
            .xEof = v_eof,
            .xColumn = v_column,
            .xRowid = v_rowid,
    };
    int rc = sqlite3_create_module_v2(db, "ftx_ids", &module, NULL, NULL);

    return rc == SQLITE_OK ? 0 : sqds_db_error(db, rc, "setting up full-text search", err);
}
