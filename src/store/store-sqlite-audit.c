/*
 * store-sqlite-audit.c - the SQLite backend's fee schedules and charges (schema migration
 * 7 in store-sqlite.c; store-audit.h; docs/internals/audit.md).
 *
 * These statements run rarely (a schedule is created or approved by hand) or in bulk
 * (an import inserts all its charges through one statement; the audit walks them all
 * with one), so each call prepares what it runs instead of holding a slot of the
 * connection's fixed statement table.
 */
#include <sqlite3.h>
#include <string.h>

#include "core/log.h"
#include "store/store-sqlite-int.h"
#include "core/util.h"

static int prepare(struct conn *c, const char *sql, sqlite3_stmt **st, struct err *err)
{
    int rc = sqlite3_prepare_v2(c->db, sql, -1, st, NULL);

    if (rc != SQLITE_OK)
        return sq_db_error(c->db, rc, "preparing a fee schedule or charge statement", err);
    return 0;
}

static int aq_schedule_put(struct store *s, const char *id, const char *name, const char *org_id,
                           const char *state, const json_t *doc, struct err *err)
{
    struct conn *c = sq_write_conn(s);
    sqlite3_stmt *st = NULL;
    char *text = NULL;
    int64_t other = 0;
    int rc;

    rc = prepare(c, "SELECT count(*) FROM fee_schedules WHERE name = ?1 AND id <> ?2", &st, err);
    if (rc)
        goto out;
    bind_text(st, 1, name);
    bind_text(st, 2, id);
    rc = sq_fetch_int64(c, st, &other, "checking a fee schedule name", err);
    sqlite3_finalize(st);
    st = NULL;
    if (rc)
        goto out;
    if (other) {
        rc = err_set(err, ERR_CONFLICT, "name", "fee schedule name \"%s\" is already in use", name);
        goto out;
    }
    rc = prepare(c,
                 "INSERT INTO fee_schedules (id, name, org_id, state, doc) VALUES (?1, ?2, ?3, ?4,"
                 " ?5) ON CONFLICT (id) DO UPDATE SET name = excluded.name, org_id ="
                 " excluded.org_id, state = excluded.state, doc = excluded.doc",
                 &st, err);
    if (rc)
        goto out;
    text = json_dumps(doc, JSON_COMPACT);
    if (!text) {
        rc = err_set(err, ERR_INTERNAL, NULL, "cannot serialise a fee schedule");
        goto out;
    }
    bind_text(st, 1, id);
    bind_text(st, 2, name);
    bind_text(st, 3, org_id);
    bind_text(st, 4, state);
    bind_text(st, 5, text);
    rc = sqlite3_step(st);
    rc = rc == SQLITE_DONE ? 0 : sq_db_error(c->db, rc, "storing a fee schedule", err);
out:
    sqlite3_finalize(st);
    free(text);
    return rc;
}

static int aq_schedule_get(struct store *s, const char *id_or_name, json_t **doc, struct err *err)
{
    sqlite3_stmt *st = NULL;
    struct conn *c = NULL;
    int rc = sq_read_conn(s, &c, err);

    if (!rc)
        rc = prepare(c, "SELECT doc FROM fee_schedules WHERE id = ?1 OR name = ?1", &st, err);
    if (rc)
        return rc;
    bind_text(st, 1, id_or_name);
    rc = sq_fetch_doc(c, st, doc, "fee schedule", err);
    sqlite3_finalize(st);
    if (rc == 1)
        rc = err_set(err, ERR_NOT_FOUND, "id", "fee schedule \"%s\" not found", id_or_name);
    return rc;
}

static int aq_schedule_list(struct store *s, const char *org_id, const char *state, json_t **docs,
                            struct err *err)
{
    sqlite3_stmt *st = NULL;
    struct conn *c = NULL;
    int rc = sq_read_conn(s, &c, err);

    if (!rc)
        rc = prepare(c,
                     "SELECT doc FROM fee_schedules WHERE (?1 IS NULL OR org_id = ?1) AND"
                     " (?2 IS NULL OR state = ?2) ORDER BY name",
                     &st, err);
    if (rc)
        return rc;
    bind_text(st, 1, org_id);
    bind_text(st, 2, state);
    rc = sq_fetch_list(c, st, true, docs, "listing fee schedules", err);
    sqlite3_finalize(st);
    return rc;
}

static int aq_charges_put(struct store *s, const struct store_charge *ch, size_t n, struct err *err)
{
    struct conn *c = sq_write_conn(s);
    sqlite3_stmt *st = NULL;
    size_t i;
    int rc;

    rc = prepare(c,
                 "INSERT INTO charges (id, org_id, unit, system, payer, date, amount_fen,"
                 " currency, schedule, source, grant_id, salt, created, ledger_idx) VALUES (?1,"
                 " ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)",
                 &st, err);
    for (i = 0; !rc && i < n; i++) {
        const struct store_charge *x = &ch[i];

        bind_text(st, 1, x->id);
        bind_text(st, 2, x->org_id);
        bind_text(st, 3, x->unit);
        bind_text(st, 4, x->system);
        bind_text(st, 5, x->payer);
        bind_text(st, 6, x->date);
        sqlite3_bind_int64(st, 7, x->amount_fen);
        bind_text(st, 8, x->currency);
        bind_text(st, 9, x->schedule);
        bind_text(st, 10, x->source);
        bind_text(st, 11, x->grant_id);
        bind_text(st, 12, x->salt);
        bind_text(st, 13, x->created);
        sqlite3_bind_int64(st, 14, x->ledger_idx);
        rc = sqlite3_step(st);
        if (rc == SQLITE_DONE)
            rc = 0;
        else if ((rc & 0xff) == SQLITE_CONSTRAINT)
            rc = err_set(err, ERR_CONFLICT, "id", "charge id \"%s\" is already in use", x->id);
        else
            rc = sq_db_error(c->db, rc, "storing a charge", err);
        sqlite3_reset(st);
    }
    sqlite3_finalize(st);
    return rc;
}

#define CHARGE_COLUMNS                                                                             \
    "c.id, c.org_id, c.unit, c.system, c.date, c.amount_fen, c.currency, c.schedule, c.source,"    \
    " c.grant_id, c.created, c.ledger_idx"

static const char *col_text(sqlite3_stmt *st, int i)
{
    return (const char *)sqlite3_column_text(st, i);
}

/* The columns of CHARGE_COLUMNS into x (borrowed from st until its next step). */
static void charge_row(sqlite3_stmt *st, struct store_charge *x)
{
    memset(x, 0, sizeof(*x));
    x->id = col_text(st, 0);
    x->org_id = col_text(st, 1);
    x->unit = col_text(st, 2);
    x->system = col_text(st, 3);
    x->date = col_text(st, 4);
    x->amount_fen = sqlite3_column_int64(st, 5);
    x->currency = col_text(st, 6);
    x->schedule = col_text(st, 7);
    x->source = col_text(st, 8);
    x->grant_id = col_text(st, 9);
    x->created = col_text(st, 10);
    x->ledger_idx = sqlite3_column_int64(st, 11);
}

static int aq_charge_get(struct store *s, const char *id, json_t **charge, struct err *err)
{
    sqlite3_stmt *st = NULL;
    struct conn *c = NULL;
    struct store_charge x;
    int rc = sq_read_conn(s, &c, err);

    if (!rc)
        rc = prepare(c, "SELECT " CHARGE_COLUMNS ", c.payer FROM charges c WHERE c.id = ?1", &st,
                     err);
    if (rc)
        return rc;
    bind_text(st, 1, id);
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        charge_row(st, &x);
        *charge = json_pack("{s:s?, s:s?, s:s?, s:s?, s:s?, s:s?, s:I, s:s?, s:s?, s:s?, s:s?, "
                            "s:s?, s:I}",
                            "id", x.id, "organization_id", x.org_id, "unit", x.unit, "system",
                            x.system, "payer", col_text(st, 12), "date", x.date, "amount_fen",
                            (json_int_t)x.amount_fen, "currency", x.currency, "schedule",
                            x.schedule, "source", x.source, "grant_id", x.grant_id, "created",
                            x.created, "ledger_index", (json_int_t)x.ledger_idx);
        rc = *charge ? 0 : err_set(err, ERR_INTERNAL, NULL, "a stored charge is corrupt");
    } else if (rc == SQLITE_DONE) {
        rc = err_set(err, ERR_NOT_FOUND, "id", "charge \"%s\" not found", id);
    } else {
        rc = sq_db_error(c->db, rc, "reading a charge", err);
    }
    sqlite3_finalize(st);
    return rc;
}

static int aq_charge_count(struct store *s, uint64_t *count, struct err *err)
{
    sqlite3_stmt *st = NULL;
    struct conn *c = NULL;
    int64_t v = 0;
    int rc = sq_read_conn(s, &c, err);

    if (!rc)
        rc = prepare(c, "SELECT count(*) FROM charges", &st, err);
    if (rc)
        return rc;
    rc = sq_fetch_int64(c, st, &v, "counting charges", err);
    sqlite3_finalize(st);
    *count = v < 0 ? 0 : (uint64_t)v;
    return rc;
}

static int aq_charges_walk(struct store *s,
                           int (*fn)(void *ctx, const struct store_charge *c, const char *entry,
                                     size_t len, struct err *err),
                           void *ctx, struct err *err)
{
    sqlite3_stmt *st = NULL;
    struct conn *c = NULL;
    struct store_charge x;
    bool began = false;
    int rc = sq_read_conn(s, &c, err);

    if (!rc)
        rc = sq_read_begin(s, c, err);
    if (rc)
        goto out;
    began = true;
    rc = prepare(c,
                 "SELECT " CHARGE_COLUMNS ", l.entry FROM charges c LEFT JOIN ledger_entries l"
                 " ON l.idx = c.ledger_idx ORDER BY c.ledger_idx, c.rid",
                 &st, err);
    while (!rc) {
        rc = sqlite3_step(st);
        if (rc == SQLITE_DONE) {
            rc = 0;
            break;
        }
        if (rc != SQLITE_ROW) {
            rc = sq_db_error(c->db, rc, "reading charges", err);
            break;
        }
        charge_row(st, &x);
        rc = fn(ctx, &x, sqlite3_column_blob(st, 12), (size_t)sqlite3_column_bytes(st, 12), err);
    }
out:
    sqlite3_finalize(st);
    if (began)
        sq_read_end(s, c);
    return rc;
}

static int aq_ledger_audit_walk(struct store *s,
                                int (*fn)(void *ctx, uint64_t index, const char *entry, size_t len,
                                          struct err *err),
                                void *ctx, struct err *err)
{
    sqlite3_stmt *st = NULL;
    struct conn *c = NULL;
    bool began = false;
    int rc = sq_read_conn(s, &c, err);

    if (!rc)
        rc = sq_read_begin(s, c, err);
    if (rc)
        goto out;
    began = true;
    rc = prepare(
            c, "SELECT idx, entry FROM ledger_entries WHERE " SQ_LEDGER_AUDIT_WHERE " ORDER BY idx",
            &st, err);
    while (!rc) {
        rc = sqlite3_step(st);
        if (rc == SQLITE_DONE) {
            rc = 0;
            break;
        }
        if (rc != SQLITE_ROW) {
            rc = sq_db_error(c->db, rc, "reading ledger entries for the audit", err);
            break;
        }
        rc = fn(ctx, (uint64_t)sqlite3_column_int64(st, 0),
                (const char *)sqlite3_column_blob(st, 1), (size_t)sqlite3_column_bytes(st, 1), err);
    }
out:
    sqlite3_finalize(st);
    if (began)
        sq_read_end(s, c);
    return rc;
}

static int aq_charge_entries_orphaned(struct store *s,
                                      int (*fn)(void *ctx, uint64_t index, const char *entry,
                                                size_t len, struct err *err),
                                      void *ctx, struct err *err)
{
    sqlite3_stmt *st = NULL;
    struct conn *c = NULL;
    bool began = false;
    int rc = sq_read_conn(s, &c, err);

    if (!rc)
        rc = sq_read_begin(s, c, err);
    if (rc)
        goto out;
    began = true;
    rc = prepare(c,
                 "SELECT idx, entry FROM ledger_entries WHERE " SQ_LEDGER_CHARGE_WHERE
                 " AND idx NOT IN (SELECT ledger_idx FROM charges WHERE ledger_idx IS NOT NULL)"
                 " ORDER BY idx",
                 &st, err);
    while (!rc) {
        rc = sqlite3_step(st);
        if (rc == SQLITE_DONE) {
            rc = 0;
            break;
        }
        if (rc != SQLITE_ROW) {
            rc = sq_db_error(c->db, rc, "reading charge_record entries for the audit", err);
            break;
        }
        rc = fn(ctx, (uint64_t)sqlite3_column_int64(st, 0),
                (const char *)sqlite3_column_blob(st, 1), (size_t)sqlite3_column_bytes(st, 1), err);
    }
out:
    sqlite3_finalize(st);
    if (began)
        sq_read_end(s, c);
    return rc;
}

const struct store_audit_backend sq_audit_backend = {
        .schedule_put = aq_schedule_put,
        .schedule_get = aq_schedule_get,
        .schedule_list = aq_schedule_list,
        .charges_put = aq_charges_put,
        .charge_get = aq_charge_get,
        .charge_count = aq_charge_count,
        .charges_walk = aq_charges_walk,
        .ledger_audit_walk = aq_ledger_audit_walk,
        .charge_entries_orphaned = aq_charge_entries_orphaned,
};
