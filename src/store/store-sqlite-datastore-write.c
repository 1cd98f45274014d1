/*
 * store-sqlite-datastore-write.c - the writes in place of the SQLite datastore tables
 * (store_ds_upsert, store_ds_delete, store_ds_index_create, store_ds_meta_put,
 * store_ds_drop): each one transaction in the table's file, under the table's writer
 * lock, bumping its generation. docs/internals/datastore.md, "Storage".
 *
 * A table built with fulltext keeps its index in step, with the tokenizer of
 * store_ds_set_tokenizer(): a changed or deleted record's tokens are taken from its stored
 * text before the change and an added or changed record's after it; the ftx index then
 * changes the postings of those tokens only (sqds_ftx_edit_write), and an older table's
 * FTS5 index gets its row removed and added again (a contentless FTS5 table needs the old
 * tokens too).
 */
#include <sqlite3.h>

#include "core/buf.h"
#include "core/limits.h"
#include "core/log.h"
#include "store/store-sqlite-datastore-int.h"
#include "core/util.h"

/* ---- Writes in place ------------------------------------------------------------------ */
struct writer {
    int lock;
    sqlite3 *db;
    struct sqds_table t;
};

/* Opens the table of resource_id for a write: the writer lock, a connection in an
 * immediate transaction, the table meta. -ERR_NOT_FOUND when there is no table. */
static int writer_open(struct store *s, const char *resource_id, struct writer *w, struct err *err)
{
    struct sqds *q = s->ds;
    char id[SQDS_ID_SIZE];
    char *path = NULL;
    int rc;

    memset(w, 0, sizeof(*w));
    w->lock = -1;
    if (!sqds_id_parse(resource_id, id, NULL))
        return err_set(err, ERR_NOT_FOUND, "resource_id", SQDS_NOT_FOUND, resource_id);
    if (q->readonly)
        return err_set(err, ERR_INTERNAL, NULL, "the store is open read-only");
    path = sqds_path(q, id, ".db");
    if (access(path, F_OK)) {
        rc = err_set(err, ERR_NOT_FOUND, "resource_id", SQDS_NOT_FOUND, id);
        goto out;
    }
    rc = sqds_lock(q, id, &w->lock, err);
    if (rc)
        goto out;
    /* The table may have been dropped while we waited. */
    if (access(path, F_OK)) {
        rc = err_set(err, ERR_NOT_FOUND, "resource_id", SQDS_NOT_FOUND, id);
        goto out;
    }
    rc = sqds_open_rw(path, false, &w->db, err);
    if (!rc)
        rc = sqds_exec(w->db, "BEGIN IMMEDIATE", "starting a datastore write", err);
    if (!rc)
        rc = sqds_table_load(w->db, NULL, id, &w->t, err);
out:
    free(path);
    return rc;
}

/* Ends a write: commits (bumping the generation) when rc is 0, else rolls back; closes. */
static int writer_close(struct writer *w, int rc, struct err *err)
{
    if (!rc && w->db)
        rc = sqds_meta_set(w->db, "generation", NULL, (int64_t)w->t.generation + 1, err);
    if (!rc && w->db)
        rc = sqds_exec(w->db, "COMMIT", "committing a datastore write", err);
    if (w->db && !sqlite3_get_autocommit(w->db))
        sqlite3_exec(w->db, "ROLLBACK", NULL, NULL, NULL);
    if (w->db)
        sqlite3_close(w->db);
    sqds_unlock(w->lock);
    sqds_table_release(&w->t);
    memset(w, 0, sizeof(*w));
    w->lock = -1;
    return rc;
}

static int writer_prepare(struct writer *w, const char *sql, sqlite3_stmt **st, struct err *err)
{
    int rc = sqlite3_prepare_v2(w->db, sql, -1, st, NULL);

    return rc == SQLITE_OK ? 0 : sqds_db_error(w->db, rc, "preparing a datastore write", err);
}

static int step_done(sqlite3 *db, sqlite3_stmt *st, const char *what, struct err *err)
{
    int rc = sqlite3_step(st);

    sqlite3_reset(st);
    return rc == SQLITE_DONE || rc == SQLITE_ROW ? 0 : sqds_db_error(db, rc, what, err);
}

int sqds_meta_put(struct store *s, const char *resource_id, const json_t *meta, struct err *err)
{
    struct writer w;
    char *text = meta ? json_dumps(meta, JSON_COMPACT | JSON_ENCODE_ANY) : xstrdup("{}");
    int rc = writer_open(s, resource_id, &w, err);

    if (!rc && !text)
        rc = err_set(err, ERR_INTERNAL, NULL, "table meta cannot be serialised");
    if (!rc)
        rc = sqds_meta_set(w.db, "meta", text, 0, err);
    rc = writer_close(&w, rc, err);
    free(text);
    return rc;
}

int sqds_index_create(struct store *s, const char *resource_id, const char *const *fields,
                      size_t nfields, struct err *err)
{
    struct buf sql = BUF_INIT;
    json_t *list = json_array(), *v;
    char *text = NULL;
    struct writer w;
    size_t i;
    int rc = writer_open(s, resource_id, &w, err);

    if (rc)
        goto out;
    if (!nfields || nfields > LIMIT_DATASTORE_FIELDS) {
        rc = err_set(err, ERR_VALIDATION, "indexes", "an index names no field");
        goto out;
    }
    buf_addf(&sql, "CREATE INDEX i_%zu ON t_%s(", json_array_size(w.t.indexes) + 1, w.t.hex);
    for (i = 0; i < nfields; i++) {
        ssize_t f = sqds_field_find(&w.t, fields[i]);

        if (f < 0) {
            rc = err_set(err, ERR_VALIDATION, "indexes", "field \"%s\" is not in the table",
                         fields[i] ? fields[i] : "");
            goto out;
        }
        json_array_append_new(list, json_string(fields[i]));
        buf_addstr(&sql, i ? ", " : "");
        if (w.t.fields[f].type == DSTYPE_NUMERIC)
            buf_addf(&sql, "CAST(c_%zd AS REAL)", f + 1);
        else
            buf_addf(&sql, "c_%zd", f + 1);
    }
    buf_addch(&sql, ')');
    /* The same list again, or the primary key's: nothing to do. */
    json_array_foreach (w.t.indexes, i, v) {
        if (json_equal(v, list))
            goto out;
    }
    if (w.t.npk == nfields) {
        for (i = 0; i < nfields && !strcmp(w.t.fields[w.t.pk[i]].id, fields[i]); i++)
            ;
        if (i == nfields)
            goto out;
    }
    json_array_append(w.t.indexes, list);
    text = json_dumps(w.t.indexes, JSON_COMPACT);
    rc = sqds_exec(w.db, sql.buf, "creating an index", err);
    if (!rc)
        rc = sqds_meta_set(w.db, "indexes", text, 0, err);
out:
    rc = writer_close(&w, rc, err);
    json_decref(list);
    free(text);
    buf_release(&sql);
    return rc;
}

int sqds_drop(struct store *s, const char *resource_id, struct err *err)
{
    struct sqds *q = s->ds;
    char id[SQDS_ID_SIZE];
    char *path = NULL, *journal = NULL, *lockpath = NULL;
    int lock = -1, rc;

    if (!sqds_id_parse(resource_id, id, NULL))
        return err_set(err, ERR_NOT_FOUND, "resource_id", SQDS_NOT_FOUND, resource_id);
    if (q->readonly)
        return err_set(err, ERR_INTERNAL, NULL, "the store is open read-only");
    path = sqds_path(q, id, ".db");
    journal = sqds_path(q, id, ".db-journal");
    lockpath = sqds_path(q, id, ".lock");
    if (access(path, F_OK)) {
        rc = err_set(err, ERR_NOT_FOUND, "resource_id", SQDS_NOT_FOUND, id);
        goto out;
    }
    rc = sqds_lock(q, id, &lock, err);
    if (rc)
        goto out;
    if (unlink(path)) {
        rc = errno == ENOENT ? err_set(err, ERR_NOT_FOUND, "resource_id", SQDS_NOT_FOUND, id)
                             : err_set(err, ERR_INTERNAL, NULL, "cannot remove a table file");
        goto out;
    }
    unlink(journal);
    atomic_fetch_add(&q->swaps, 1);
    /* Unlinked while held: sqds_lock checks that the file it locked is still there. */
    unlink(lockpath);
    rc = sqds_fsync_path(q->dir, "the datastore directory", err);
out:
    sqds_unlock(lock);
    free(path);
    free(journal);
    free(lockpath);
    return rc;
}

/* ---- Full-text rows of changed records ------------------------------------------------ */
struct fts_writer {
    bool on;  /* each changed record's text is read (FTS5's rows, or the ftx edit) */
    bool ftx; /* the table's index is ftx: changed once the rows changed (ftx_after) */
    store_tokenize_fn tokenize;
    sqlite3_stmt *get; /* SELECT the text fields WHERE _id = ? */
    sqlite3_stmt *del; /* INSERT INTO fts(fts, rowid, …) VALUES ('delete', ?, …) */
    sqlite3_stmt *ins; /* INSERT INTO fts(rowid, …) VALUES (?, …) */
    size_t ncols;
    size_t *cols; /* the text fields' numbers (1-based) */
    struct buf *toks;
    /* ftx: the changed rows' tokens, before and after (NULL: the index is built again from
     * every row, for a format 1 index or a change past SQDS_FTX_BUDGET) */
    struct ftx_edit *edit;
};

static int fts_writer_init(struct store *s, struct writer *w, struct fts_writer *fw,
                           struct err *err)
{
    struct buf get = BUF_INIT, del = BUF_INIT, ins = BUF_INIT, list = BUF_INIT;
    int rc = 0;

    memset(fw, 0, sizeof(*fw));
    if (!w->t.has_fts)
        return 0;
    fw->tokenize = atomic_load(&s->ds_tokenize);
    if (!fw->tokenize)
        return err_set(err, ERR_INTERNAL, NULL,
                       "changing the rows of a table with a full-text index needs the "
                       "tokenizer (store_ds_set_tokenizer)");
    fw->ftx = w->t.has_ftx;
    if (fw->ftx && w->t.ftx.format < 2)
        return 0; /* built again as format 2 */
    fw->on = true;
    fw->cols = xcalloc(w->t.nfields + 1, sizeof(*fw->cols));
    for (size_t i = 0; i < w->t.nfields; i++) {
        if (w->t.fields[i].type != DSTYPE_TEXT)
            continue;
        buf_addf(&list, "%sc_%zu", fw->ncols ? ", " : "", i + 1);
        fw->cols[fw->ncols++] = i + 1;
    }
    fw->toks = xcalloc(fw->ncols, sizeof(*fw->toks));
    for (size_t i = 0; i < fw->ncols; i++)
        buf_init(&fw->toks[i], 0);
    buf_addf(&get, "SELECT %s FROM t_%s WHERE _id = ?", list.buf, w->t.hex);
    rc = writer_prepare(w, get.buf, &fw->get, err);
    if (fw->ftx) {
        fw->edit = ftx_edit_new(w->t.ftx.ncols);
        goto out;
    }
    buf_addf(&del, "INSERT INTO fts(fts, rowid, %s) VALUES ('delete', ?", list.buf);
    buf_addf(&ins, "INSERT INTO fts(rowid, %s) VALUES (?", list.buf);
    for (size_t i = 0; i < fw->ncols; i++) {
        buf_addstr(&del, ", ?");
        buf_addstr(&ins, ", ?");
    }
    buf_addch(&del, ')');
    buf_addch(&ins, ')');
    if (!rc)
        rc = writer_prepare(w, del.buf, &fw->del, err);
    if (!rc)
        rc = writer_prepare(w, ins.buf, &fw->ins, err);
out:
    buf_release(&get);
    buf_release(&del);
    buf_release(&ins);
    buf_release(&list);
    return rc;
}

static void fts_writer_release(struct fts_writer *fw)
{
    sqlite3_finalize(fw->get);
    sqlite3_finalize(fw->del);
    sqlite3_finalize(fw->ins);
    for (size_t i = 0; fw->toks && i < fw->ncols; i++)
        buf_release(&fw->toks[i]);
    free(fw->toks);
    free(fw->cols);
    ftx_edit_free(fw->edit);
    memset(fw, 0, sizeof(*fw));
}

/* Removes (del) or adds the full-text row of record id, from its text fields as stored:
 * FTS5's row, or the record's tokens told to the ftx edit. */
static int fts_row(struct writer *w, struct fts_writer *fw, int64_t id, bool del, struct err *err)
{
    sqlite3_stmt *st = del ? fw->del : fw->ins;
    int rc;

    if (!fw->on || (fw->ftx && !fw->edit))
        return 0;
    sqlite3_bind_int64(fw->get, 1, id);
    rc = sqlite3_step(fw->get);
    if (rc != SQLITE_ROW) {
        sqlite3_reset(fw->get);
        return sqds_db_error(w->db, rc, "reading a record's text", err);
    }
    if (fw->ftx)
        ftx_edit_row(fw->edit, id, del);
    else
        sqlite3_bind_int64(st, 1, id);
    for (size_t i = 0; i < fw->ncols; i++) {
        const char *text = (const char *)sqlite3_column_text(fw->get, (int)i);

        buf_reset(&fw->toks[i]);
        if (text)
            fw->tokenize(text, &fw->toks[i]);
        if (fw->ftx)
            ftx_edit_tokens(fw->edit, id, (uint32_t)fw->cols[i], fw->toks[i].buf, fw->toks[i].len,
                            del);
        else
            sqlite3_bind_text(st, (int)i + 2, fw->toks[i].buf, (int)fw->toks[i].len, SQLITE_STATIC);
    }
    rc = fw->ftx ? 0 : step_done(w->db, st, "updating the full-text index", err);
    sqlite3_reset(fw->get);
    /* A change this large costs about what the index costs: it is built again instead. */
    if (fw->edit && ftx_edit_memory(fw->edit) > SQDS_FTX_BUDGET) {
        ftx_edit_free(fw->edit);
        fw->edit = NULL;
    }
    return rc;
}

/*
 * After the rows of an ftx table changed, in the same transaction: the postings of the
 * changed rows' tokens are changed (sqds_ftx_edit_write), so a write costs what it changes.
 * The whole index is built again from every row instead for a format 1 index, a change past
 * SQDS_FTX_BUDGET (a delete of most of a large table), or an index found not to hold the
 * old tokens of a changed row (damaged: logged).
 */
static int ftx_after(struct writer *w, const struct fts_writer *fw, struct err *err)
{
    int rc;

    if (!fw->ftx)
        return 0;
    if (fw->edit) {
        rc = sqds_ftx_edit_write(w->db, &w->t.ftx, fw->edit, err);
        if (rc != -ERR_INTERNAL)
            return rc;
        log_error("store: datastore: table of \"%s\": %s; building the full-text index again",
                  w->t.id, err->msg);
        err_clear(err);
    }
    return sqds_ftx_build(w->db, w->t.hex, w->t.fields, w->t.nfields, fw->tokenize, NULL, err);
}

/* ---- store_ds_upsert -------------------------------------------------------------------- */

/* Text of a record's primary key for messages: "a, b". */
static void key_text(const struct writer *w, const size_t *map, size_t nfields,
                     const struct dsvalue *row, struct buf *out)
{
    for (size_t k = 0; k < w->t.npk; k++) {
        for (size_t j = 0; j < nfields; j++) {
            if (map[j] != w->t.pk[k])
                continue;
            buf_addstr(out, k ? ", " : "");
            sqds_value_text(&row[j], out);
        }
    }
}

static void pk_names(const struct writer *w, struct buf *out)
{
    for (size_t k = 0; k < w->t.npk; k++) {
        buf_addstr(out, k ? ", " : "");
        buf_addstr(out, w->t.fields[w->t.pk[k]].id);
    }
}

int sqds_upsert(struct store *s, const char *resource_id, enum store_ds_method method,
                const char *const *fields, size_t nfields, const struct dsvalue *values,
                size_t nrows, uint64_t *count, struct err *err)
{
    struct buf find = BUF_INIT, ins = BUF_INIT, upd = BUF_INIT, msg = BUF_INIT, names = BUF_INIT;
    sqlite3_stmt *st_find = NULL, *st_ins = NULL, *st_upd = NULL;
    struct fts_writer fw = {0};
    struct sqds_bindv *bv = NULL;
    size_t *map = NULL, *pkpos = NULL, i, j, k, nset = 0;
    struct writer w;
    int rc;

    rc = writer_open(s, resource_id, &w, err);
    if (rc)
        goto out;
    if (nrows > LIMIT_DATASTORE_RECORDS) {
        rc = err_set(err, ERR_VALIDATION, "records", "too many records (at most %u)",
                     LIMIT_DATASTORE_RECORDS);
        goto out;
    }
    if (method != STORE_DS_INSERT && !w.t.npk) {
        rc = err_set(err, ERR_VALIDATION, "method",
                     "the table has no primary key: records can only be inserted");
        goto out;
    }
    map = xcalloc(nfields + 1, sizeof(*map));
    bv = xcalloc(nfields + 1, sizeof(*bv));
    pkpos = xcalloc(w.t.npk + 1, sizeof(*pkpos));
    for (j = 0; j < nfields; j++) {
        ssize_t f = sqds_field_find(&w.t, fields[j]);

        if (f < 0) {
            rc = err_set(err, ERR_VALIDATION, "records", "field \"%s\" is not in the table",
                         fields[j] ? fields[j] : "");
            goto out;
        }
        for (k = 0; k < j; k++)
            if (map[k] == (size_t)f) {
                rc = err_set(err, ERR_VALIDATION, "records", "field \"%s\" is given twice",
                             fields[j]);
                goto out;
            }
        map[j] = (size_t)f;
    }
    for (k = 0; k < w.t.npk; k++) {
        for (j = 0; j < nfields && map[j] != w.t.pk[k]; j++)
            ;
        if (j == nfields && method != STORE_DS_INSERT) {
            rc = err_set(err, ERR_VALIDATION, "records",
                         "records need the primary key field \"%s\"", w.t.fields[w.t.pk[k]].id);
            goto out;
        }
        pkpos[k] = j; /* nfields: not given (an insert: NULL, refused per row) */
    }

    /* The statements: find by key, insert the named fields, update the named non-key
     * fields. Numeric keys compare by value, as the primary key's index holds them. */
    buf_addf(&find, "SELECT _id FROM t_%s WHERE 1", w.t.hex);
    for (k = 0; k < w.t.npk; k++) {
        if (w.t.fields[w.t.pk[k]].type == DSTYPE_NUMERIC)
            buf_addf(&find, " AND CAST(c_%zu AS REAL) = CAST(?%zu AS REAL)", w.t.pk[k] + 1, k + 1);
        else
            buf_addf(&find, " AND c_%zu = ?%zu", w.t.pk[k] + 1, k + 1);
    }
    buf_addf(&ins, "INSERT INTO t_%s(_id", w.t.hex);
    buf_addf(&upd, "UPDATE t_%s SET ", w.t.hex);
    for (j = 0; j < nfields; j++) {
        buf_addf(&ins, ", c_%zu", map[j] + 1);
        for (k = 0; k < w.t.npk && w.t.pk[k] != map[j]; k++)
            ;
        if (k == w.t.npk)
            buf_addf(&upd, "%sc_%zu = ?%zu", nset++ ? ", " : "", map[j] + 1, j + 2);
    }
    buf_addstr(&ins, ") VALUES (?1");
    for (j = 0; j < nfields; j++)
        buf_addf(&ins, ", ?%zu", j + 2);
    buf_addch(&ins, ')');
    buf_addstr(&upd, " WHERE _id = ?1");
    if (w.t.npk)
        rc = writer_prepare(&w, find.buf, &st_find, err);
    if (!rc)
        rc = writer_prepare(&w, ins.buf, &st_ins, err);
    if (!rc && nset)
        rc = writer_prepare(&w, upd.buf, &st_upd, err);
    if (!rc)
        rc = fts_writer_init(s, &w, &fw, err);
    if (rc)
        goto out;
    pk_names(&w, &names);

    for (i = 0; i < nrows; i++) {
        const struct dsvalue *row = values + i * nfields;
        int64_t id = 0;
        bool exists = false;

        for (j = 0; j < nfields; j++) {
            rc = sqds_value_convert(w.t.fields[map[j]].type, &row[j], fields[j], "records", &bv[j],
                                    err);
            if (rc)
                goto out;
        }
        for (k = 0; k < w.t.npk; k++) {
            if (pkpos[k] == nfields || bv[pkpos[k]].kind == SQDS_B_NULL) {
                rc = err_set(err, ERR_VALIDATION, "records",
                             "record %zu has no value for primary key field \"%s\"", i + 1,
                             w.t.fields[w.t.pk[k]].id);
                goto out;
            }
            sqds_bindv_bind(st_find, (int)k + 1, &bv[pkpos[k]]);
        }
        if (w.t.npk) {
            rc = sqlite3_step(st_find);
            if (rc == SQLITE_ROW) {
                exists = true;
                id = sqlite3_column_int64(st_find, 0);
                rc = 0;
            } else {
                rc = rc == SQLITE_DONE ? 0 : sqds_db_error(w.db, rc, "finding a record", err);
            }
            sqlite3_reset(st_find);
            if (rc)
                goto out;
        }
        buf_reset(&msg);
        if (exists && method == STORE_DS_INSERT) {
            key_text(&w, map, nfields, row, &msg);
            rc = err_set(err, ERR_CONFLICT, "records",
                         "duplicate value \"%s\" of primary key \"%s\" (record %zu)", msg.buf,
                         names.buf, i + 1);
            goto out;
        }
        if (!exists && method == STORE_DS_UPDATE) {
            key_text(&w, map, nfields, row, &msg);
            rc = err_set(err, ERR_NOT_FOUND, "records",
                         "no record has primary key \"%s\" = \"%s\" (record %zu)", names.buf,
                         msg.buf, i + 1);
            goto out;
        }
        if (exists) {
            if (!st_upd)
                continue;
            rc = fts_row(&w, &fw, id, true, err);
            if (rc)
                goto out;
            sqlite3_bind_int64(st_upd, 1, id);
            for (j = 0; j < nfields; j++)
                sqds_bindv_bind(st_upd, (int)j + 2, &bv[j]);
            rc = step_done(w.db, st_upd, "updating a record", err);
        } else {
            id = w.t.next_id++;
            sqlite3_bind_int64(st_ins, 1, id);
            for (j = 0; j < nfields; j++)
                sqds_bindv_bind(st_ins, (int)j + 2, &bv[j]);
            rc = step_done(w.db, st_ins, "inserting a record", err);
            w.t.rows++;
        }
        if (!rc)
            rc = fts_row(&w, &fw, id, false, err);
        if (rc)
            goto out;
        if (count)
            (*count)++;
    }
    rc = sqds_meta_set(w.db, "rows", NULL, (int64_t)w.t.rows, err);
    if (!rc)
        rc = sqds_meta_set(w.db, "next_id", NULL, w.t.next_id, err);
    if (!rc)
        rc = ftx_after(&w, &fw, err);
out:
    sqlite3_finalize(st_find);
    sqlite3_finalize(st_ins);
    sqlite3_finalize(st_upd);
    fts_writer_release(&fw);
    rc = writer_close(&w, rc, err);
    if (rc && count)
        *count = 0;
    free(map);
    free(bv);
    free(pkpos);
    buf_release(&find);
    buf_release(&ins);
    buf_release(&upd);
    buf_release(&msg);
    buf_release(&names);
    return rc;
}

/* ---- store_ds_delete ---------------------------------------------------------------------- */
int sqds_delete(struct store *s, const char *resource_id, const struct store_ds_filter *filters,
                size_t nfilters, uint64_t *count, struct err *err)
{
    sqlite3_stmt *sel = NULL, *del = NULL;
    struct fts_writer fw = {0};
    struct sqds_gen g;
    struct writer w;
    size_t where;
    int rc;

    sqds_gen_init(&g);
    rc = writer_open(s, resource_id, &w, err);
    if (rc)
        goto out;
    buf_addf(&g.sql, "SELECT t._id FROM t_%s AS t WHERE 1", w.t.hex);
    where = g.sql.len;
    rc = sqds_gen_filters(&g, &w.t, filters, nfilters, "filters", err);
    if (!rc)
        rc = fts_writer_init(s, &w, &fw, err);
    if (!rc && fw.on)
        rc = writer_prepare(&w, g.sql.buf, &sel, err);
    if (rc)
        goto out;
    /* The full-text rows go first, while the records they were made of are there. */
    if (sel) {
        sqds_gen_bind(&g, sel);
        while ((rc = sqlite3_step(sel)) == SQLITE_ROW) {
            rc = fts_row(&w, &fw, sqlite3_column_int64(sel, 0), true, err);
            if (rc)
                goto out;
        }
        if (rc != SQLITE_DONE) {
            rc = sqds_db_error(w.db, rc, "deleting records", err);
            goto out;
        }
    }
    {
        char *sql = xstrfmt("DELETE FROM t_%s AS t WHERE 1%s", w.t.hex, g.sql.buf + where);

        rc = writer_prepare(&w, sql, &del, err);
        free(sql);
    }
    if (rc)
        goto out;
    sqds_gen_bind(&g, del);
    rc = step_done(w.db, del, "deleting records", err);
    if (rc)
        goto out;
    if (count)
        *count = (uint64_t)sqlite3_changes64(w.db);
    w.t.rows -= (uint64_t)sqlite3_changes64(w.db);
    rc = sqds_meta_set(w.db, "rows", NULL, (int64_t)w.t.rows, err);
    if (!rc)
        rc = ftx_after(&w, &fw, err);
out:
    sqlite3_finalize(sel);
    sqlite3_finalize(del);
    fts_writer_release(&fw);
    rc = writer_close(&w, rc, err);
    if (rc && count)
        *count = 0;
    sqds_gen_release(&g);
    return rc;
}
