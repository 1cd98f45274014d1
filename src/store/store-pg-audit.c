/*
 * store-pg-audit.c - the PostgreSQL backend's fee schedules, charges and the audit's
 * walks (migration 5 in store-pg.c; store-audit.h; docs/internals/audit.md), answering
 * as store-sqlite-audit.c does: the same errors, fields and order.
 *
 * Charges go in by multi-row INSERTs of up to CHARGE_BATCH rows (one round trip each,
 * not one per charge); a duplicate id is found with ON CONFLICT DO NOTHING RETURNING id,
 * so that it is named as SQLite names it without aborting the caller's transaction.
 * The walks read pages of WALK_PAGE rows by key inside one read snapshot (REPEATABLE
 * READ, or the caller's write transaction), so memory stays one page whatever the size.
 * The audit's ledger entries are picked by the type their JSON names, through
 * kaifang_entry_type() and a partial index over the same condition (migration 5), as
 * SQLite's schema 12 does.
 */
#include "store/store-pg-int.h"
#include "core/util.h"

/* Rows of one INSERT of charges (14 parameters each, PostgreSQL allows 65,535). */
#define CHARGE_BATCH 1000
/* Rows a walk reads at once. */
#define WALK_PAGE 1000

/* The audit's ledger entries (store_ledger_audit_walk); repeated as it is in the
 * partial index of migration 5, so that the planner uses that index. */
#define PG_LEDGER_AUDIT_WHERE                                                                      \
    "kaifang_entry_type(entry) IN ('grant_request', 'grant_approve', 'grant_refuse',"              \
    " 'grant_revoke', 'restricted_read', 'restricted_read_refused', 'privacy_override',"           \
    " 'resource_create', 'resource_update', 'dataset_update')"

/* ---- Fee schedules ------------------------------------------------------------------- */
static int pa_schedule_put(struct store *s, const char *id, const char *name, const char *org_id,
                           const char *state, const json_t *doc, struct err *err)
{
    struct pg_params p = PG_PARAMS_INIT;
    PGresult *r = NULL;
    char *text = NULL;
    int rc;

    pg_assert_writing(s);
    pg_params_text(&p, name);
    pg_params_text(&p, id);
    rc = pg_run(s, "SELECT 1 FROM fee_schedules WHERE name = $1 AND id <> $2", &p, &r,
                "checking a fee schedule name", err);
    if (!rc && PQntuples(r) > 0)
        rc = err_set(err, ERR_CONFLICT, "name", "fee schedule name \"%s\" is already in use", name);
    if (rc)
        goto out;
    text = json_dumps(doc, JSON_COMPACT);
    if (!text) {
        rc = err_set(err, ERR_INTERNAL, NULL, "cannot serialise a fee schedule");
        goto out;
    }
    pg_params_release(&p);
    pg_params_text(&p, id);
    pg_params_text(&p, name);
    pg_params_text(&p, org_id);
    pg_params_text(&p, state);
    pg_params_text(&p, text);
    rc = pg_run(s,
                "INSERT INTO fee_schedules (id, name, org_id, state, doc) VALUES ($1, $2, $3, $4,"
                " $5) ON CONFLICT (id) DO UPDATE SET name = excluded.name, org_id ="
                " excluded.org_id, state = excluded.state, doc = excluded.doc",
                &p, NULL, "storing a fee schedule", err);
out:
    PQclear(r);
    pg_params_release(&p);
    free(text);
    return rc;
}

static int pa_schedule_get(struct store *s, const char *id_or_name, json_t **doc, struct err *err)
{
    struct pg_params p = PG_PARAMS_INIT;
    PGresult *r = NULL;
    int rc;

    pg_params_text(&p, id_or_name);
    rc = pg_run(s,
                "SELECT doc FROM fee_schedules WHERE id = $1 OR name = $1"
                " ORDER BY id = $1 DESC LIMIT 1",
                &p, &r, "looking up a fee schedule", err);
    if (!rc)
        rc = pg_fetch_doc(r, doc, "fee schedule", err);
    if (rc > 0)
        rc = err_set(err, ERR_NOT_FOUND, "id", "fee schedule \"%s\" not found", id_or_name);
    PQclear(r);
    pg_params_release(&p);
    return rc;
}

static int pa_schedule_list(struct store *s, const char *org_id, const char *state, json_t **docs,
                            struct err *err)
{
    struct pg_params p = PG_PARAMS_INIT;
    PGresult *r = NULL;
    int rc;

    pg_params_text(&p, org_id);
    pg_params_text(&p, state);
    rc = pg_run(s,
                "SELECT doc FROM fee_schedules WHERE ($1::text IS NULL OR org_id = $1) AND"
                " ($2::text IS NULL OR state = $2) ORDER BY name",
                &p, &r, "listing fee schedules", err);
    if (!rc)
        rc = pg_fetch_list(r, true, docs, "listing fee schedules", err);
    PQclear(r);
    pg_params_release(&p);
    return rc;
}

/* ---- Charges --------------------------------------------------------------------------- */

/* The first id of ch[0..n) that the INSERT of r did not return (a duplicate of a stored
 * charge or of one before it in the batch). */
static const char *charge_refused(const struct store_charge *ch, size_t n, const PGresult *r)
{
    int nr = PQntuples(r);

    for (size_t i = 0; i < n; i++) {
        int hits = 0;

        for (size_t j = 0; j < i; j++)
            hits -= str_eq(ch[j].id, ch[i].id);
        for (int k = 0; k < nr; k++)
            hits += str_eq(PQgetvalue(r, k, 0), ch[i].id);
        if (hits <= 0)
            return ch[i].id;
    }
    return ch[0].id;
}

static int charges_batch(struct store *s, const struct store_charge *ch, size_t n, struct err *err)
{
    struct pg_params p = PG_PARAMS_INIT;
    struct buf sql = BUF_INIT;
    PGresult *r = NULL;
    int rc;

    buf_addstr(&sql, "INSERT INTO charges (id, org_id, unit, system, payer, date, amount_fen,"
                     " currency, schedule, source, grant_id, salt, created, ledger_idx) VALUES ");
    for (size_t i = 0; i < n; i++) {
        const struct store_charge *x = &ch[i];

        buf_addf(&sql, "%s($%d, ", i ? ", " : "", pg_params_text(&p, x->id));
        buf_addf(&sql, "$%d, ", pg_params_text(&p, x->org_id));
        buf_addf(&sql, "$%d, ", pg_params_text(&p, x->unit));
        buf_addf(&sql, "$%d, ", pg_params_text(&p, x->system));
        buf_addf(&sql, "$%d, ", pg_params_text(&p, x->payer));
        buf_addf(&sql, "$%d, ", pg_params_text(&p, x->date));
        buf_addf(&sql, "$%d::bigint, ", pg_params_int(&p, x->amount_fen));
        buf_addf(&sql, "$%d, ", pg_params_text(&p, x->currency));
        buf_addf(&sql, "$%d, ", pg_params_text(&p, x->schedule));
        buf_addf(&sql, "$%d, ", pg_params_text(&p, x->source));
        buf_addf(&sql, "$%d, ", pg_params_text(&p, x->grant_id));
        buf_addf(&sql, "$%d, ", pg_params_text(&p, x->salt));
        buf_addf(&sql, "$%d, ", pg_params_text(&p, x->created));
        buf_addf(&sql, "$%d::bigint)", pg_params_int(&p, x->ledger_idx));
    }
    buf_addstr(&sql, " ON CONFLICT (id) DO NOTHING RETURNING id");
    rc = pg_run(s, sql.buf, &p, &r, "storing a charge", err);
    if (!rc && (size_t)PQntuples(r) != n)
        rc = err_set(err, ERR_CONFLICT, "id", "charge id \"%s\" is already in use",
                     charge_refused(ch, n, r));
    PQclear(r);
    pg_params_release(&p);
    buf_release(&sql);
    return rc;
}

static int pa_charges_put(struct store *s, const struct store_charge *ch, size_t n, struct err *err)
{
    int rc = 0;

    pg_assert_writing(s);
    for (size_t i = 0; !rc && i < n; i += CHARGE_BATCH)
        rc = charges_batch(s, ch + i, n - i < CHARGE_BATCH ? n - i : CHARGE_BATCH, err);
    return rc;
}

#define CHARGE_COLUMNS                                                                             \
    "c.id, c.org_id, c.unit, c.system, c.date, c.amount_fen, c.currency, c.schedule, c.source,"    \
    " c.grant_id, c.created, c.ledger_idx"

static const char *col_text(const PGresult *r, int i, int c)
{
    return PQgetisnull(r, i, c) ? NULL : PQgetvalue(r, i, c);
}

/* The columns of CHARGE_COLUMNS of row i into x (borrowed from r). */
static void charge_row(const PGresult *r, int i, struct store_charge *x)
{
    memset(x, 0, sizeof(*x));
    x->id = col_text(r, i, 0);
    x->org_id = col_text(r, i, 1);
    x->unit = col_text(r, i, 2);
    x->system = col_text(r, i, 3);
    x->date = col_text(r, i, 4);
    x->amount_fen = pg_int(r, i, 5);
    x->currency = col_text(r, i, 6);
    x->schedule = col_text(r, i, 7);
    x->source = col_text(r, i, 8);
    x->grant_id = col_text(r, i, 9);
    x->created = col_text(r, i, 10);
    x->ledger_idx = pg_int(r, i, 11);
}

static int pa_charge_get(struct store *s, const char *id, json_t **charge, struct err *err)
{
    struct pg_params p = PG_PARAMS_INIT;
    PGresult *r = NULL;
    struct store_charge x;
    int rc;

    pg_params_text(&p, id);
    rc = pg_run(s, "SELECT " CHARGE_COLUMNS ", c.payer FROM charges c WHERE c.id = $1", &p, &r,
                "reading a charge", err);
    if (!rc && PQntuples(r) == 0) {
        rc = err_set(err, ERR_NOT_FOUND, "id", "charge \"%s\" not found", id);
    } else if (!rc) {
        charge_row(r, 0, &x);
        *charge = json_pack("{s:s?, s:s?, s:s?, s:s?, s:s?, s:s?, s:I, s:s?, s:s?, s:s?, s:s?, "
                            "s:s?, s:I}",
                            "id", x.id, "organization_id", x.org_id, "unit", x.unit, "system",
                            x.system, "payer", col_text(r, 0, 12), "date", x.date, "amount_fen",
                            (json_int_t)x.amount_fen, "currency", x.currency, "schedule",
                            x.schedule, "source", x.source, "grant_id", x.grant_id, "created",
                            x.created, "ledger_index", (json_int_t)x.ledger_idx);
        rc = *charge ? 0 : err_set(err, ERR_INTERNAL, NULL, "a stored charge is corrupt");
    }
    PQclear(r);
    pg_params_release(&p);
    return rc;
}

static int pa_charge_count(struct store *s, uint64_t *count, struct err *err)
{
    PGresult *r = NULL;
    int rc = pg_run(s, "SELECT count(*) FROM charges", NULL, &r, "counting charges", err);

    if (!rc) {
        int64_t v = pg_int(r, 0, 0);

        *count = v < 0 ? 0 : (uint64_t)v;
    }
    PQclear(r);
    return rc;
}

/* Column c of row i, a bytea, decoded into *out (PQfreemem it); NULL and 0 for SQL NULL. */
static int bytea_column(const PGresult *r, int i, int c, unsigned char **out, size_t *len,
                        struct err *err)
{
    *out = NULL;
    *len = 0;
    if (PQgetisnull(r, i, c))
        return 0;
    *out = PQunescapeBytea((const unsigned char *)PQgetvalue(r, i, c), len);
    return *out ? 0 : err_set(err, ERR_INTERNAL, NULL, "a stored ledger entry is corrupt");
}

static int pa_charges_walk(struct store *s,
                           int (*fn)(void *ctx, const struct store_charge *c, const char *entry,
                                     size_t len, struct err *err),
                           void *ctx, struct err *err)
{
    struct pg_params p = PG_PARAMS_INIT;
    PGresult *r = NULL;
    int64_t after_idx = INT64_MIN, after_rid = INT64_MIN;
    bool began = false;
    int rc;

    rc = pg_read_begin(s, &began, err);
    while (!rc) {
        pg_params_release(&p);
        pg_params_int(&p, after_idx);
        pg_params_int(&p, after_rid);
        pg_params_int(&p, WALK_PAGE);
        PQclear(r);
        r = NULL;
        rc = pg_run(s,
                    "SELECT " CHARGE_COLUMNS ", l.entry, c.rid FROM charges c"
                    " LEFT JOIN ledger_entries l ON l.idx = c.ledger_idx"
                    " WHERE (c.ledger_idx, c.rid) > ($1::bigint, $2::bigint)"
                    " ORDER BY c.ledger_idx, c.rid LIMIT $3",
                    &p, &r, "reading charges", err);
        if (rc || PQntuples(r) == 0)
            break;
        for (int i = 0; !rc && i < PQntuples(r); i++) {
            struct store_charge x;
            unsigned char *entry = NULL;
            size_t len = 0;

            charge_row(r, i, &x);
            after_idx = x.ledger_idx;
            after_rid = pg_int(r, i, 13);
            rc = bytea_column(r, i, 12, &entry, &len, err);
            if (!rc)
                rc = fn(ctx, &x, (const char *)entry, len, err);
            PQfreemem(entry);
        }
    }
    PQclear(r);
    pg_params_release(&p);
    pg_read_end(s, began);
    return rc;
}

static int pa_ledger_audit_walk(struct store *s,
                                int (*fn)(void *ctx, uint64_t index, const char *entry, size_t len,
                                          struct err *err),
                                void *ctx, struct err *err)
{
    struct pg_params p = PG_PARAMS_INIT;
    PGresult *r = NULL;
    int64_t after = -1;
    bool began = false;
    int rc;

    rc = pg_read_begin(s, &began, err);
    while (!rc) {
        pg_params_release(&p);
        pg_params_int(&p, after);
        pg_params_int(&p, WALK_PAGE);
        PQclear(r);
        r = NULL;
        rc = pg_run(s,
                    "SELECT idx, entry FROM ledger_entries WHERE idx > $1::bigint AND "
                    "" PG_LEDGER_AUDIT_WHERE " ORDER BY idx LIMIT $2",
                    &p, &r, "reading ledger entries for the audit", err);
        if (rc || PQntuples(r) == 0)
            break;
        for (int i = 0; !rc && i < PQntuples(r); i++) {
            unsigned char *entry = NULL;
            size_t len = 0;

            after = pg_int(r, i, 0);
            rc = bytea_column(r, i, 1, &entry, &len, err);
            if (!rc)
                rc = fn(ctx, (uint64_t)after, entry ? (const char *)entry : "", len, err);
            PQfreemem(entry);
        }
    }
    PQclear(r);
    pg_params_release(&p);
    pg_read_end(s, began);
    return rc;
}

static int pa_charge_entries_orphaned(struct store *s,
                                      int (*fn)(void *ctx, uint64_t index, const char *entry,
                                                size_t len, struct err *err),
                                      void *ctx, struct err *err)
{
    struct pg_params p = PG_PARAMS_INIT;
    PGresult *r = NULL;
    int64_t after = -1;
    bool began = false;
    int rc;

    rc = pg_read_begin(s, &began, err);
    while (!rc) {
        pg_params_release(&p);
        pg_params_int(&p, after);
        pg_params_int(&p, WALK_PAGE);
        PQclear(r);
        r = NULL;
        rc = pg_run(s,
                    "SELECT l.idx, l.entry FROM ledger_entries l WHERE l.idx > $1::bigint AND "
                    "" PG_LEDGER_CHARGE_WHERE " AND NOT EXISTS (SELECT 1 FROM charges c"
                    " WHERE c.ledger_idx = l.idx) ORDER BY l.idx LIMIT $2",
                    &p, &r, "reading charge_record entries for the audit", err);
        if (rc || PQntuples(r) == 0)
            break;
        for (int i = 0; !rc && i < PQntuples(r); i++) {
            unsigned char *entry = NULL;
            size_t len = 0;

            after = pg_int(r, i, 0);
            rc = bytea_column(r, i, 1, &entry, &len, err);
            if (!rc)
                rc = fn(ctx, (uint64_t)after, entry ? (const char *)entry : "", len, err);
            PQfreemem(entry);
        }
    }
    PQclear(r);
    pg_params_release(&p);
    pg_read_end(s, began);
    return rc;
}

const struct store_audit_backend pg_audit_backend = {
        .schedule_put = pa_schedule_put,
        .schedule_get = pa_schedule_get,
        .schedule_list = pa_schedule_list,
        .charges_put = pa_charges_put,
        .charge_get = pa_charge_get,
        .charge_count = pa_charge_count,
        .charges_walk = pa_charges_walk,
        .ledger_audit_walk = pa_ledger_audit_walk,
        .charge_entries_orphaned = pa_charge_entries_orphaned,
};
