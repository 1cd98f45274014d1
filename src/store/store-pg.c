/*
 * store-pg.c - the PostgreSQL backend (issue 9): schema, migrations, connections,
 * transactions, and the queries on records (groups, datasets, users, tokens, members).
 * Search is in store-pg-search.c, the ledger in store-pg-ledger.c, the datastore's
 * tables in store-pg-datastore*.c; what they share is in store-pg-int.h. See
 * docs/internals/store.md, "The PostgreSQL store".
 *
 * The URL is a libpq connection URI (postgresql://user:password@host:port/db?…, or
 * postgresql:///db?host=/socket/dir), handed to libpq whole: the password may come from
 * it, from a service or password file, or from PGPASSWORD, as libpq decides. Nothing
 * here echoes the URL (it may hold a password); errors name the host, port and database.
 *
 * Connections: one per thread, opened on the thread's first call and closed by the
 * pthread key's destructor when the thread exits, or by store_free. Writes: a process
 * mutex (one writer per process, as SQLite's) and, inside the transaction, a
 * transaction-level advisory lock (PG_WRITE_LOCK) that serialises writers of every
 * process sharing the database, so that "largest ledger index + 1" and the version
 * counter stay atomic across servers; a writer waits at most 5 s for it
 * (lock_timeout, then -ERR_UNAVAILABLE). The thread holding the write transaction reads
 * through the same connection, so it sees its own changes.
 *
 * All values are bound ($n parameters); generated SQL only contains text from these
 * files. NEEDSWORK: statements are parsed on every call (no prepared statements yet).
 */
#include <libpq-fe.h>
#include <pthread.h>
#include <stdatomic.h>

#include "core/buf.h"
#include "core/log.h"
#include "core/parse.h"
#include "store/store-pg-int.h"
#include "core/util.h"

/* pg_advisory_xact_lock key of the write transaction: "kaifang" + 1. */
#define PG_WRITE_LOCK "7021788819189334017"
/* pg_try_advisory_lock key (session) of the ledger sequencer's election. */
#define PG_SEQUENCER_LOCK "7021788819189334018"
/* Idle connections kept for pg_conn_take. */
#define PG_POOL_MAX 8
/* How long a writer waits for another process's write transaction. */
#define PG_LOCK_TIMEOUT "5s"

/* ---- Schema ----------------------------------------------------------------------------
 * migrations[i] brings a database from schema version i to i + 1, in one transaction.
 * Append new steps; never edit a released one. The tables mirror the SQLite schema
 * (docs/internals/store.md); the full-text index is a tsvector column of datasets. */
static const char *const migrations[] = {
        /* 1: catalog, users, tokens, memberships, ledger, datastore statuses. */
        "CREATE TABLE meta (\n"
        "    key text PRIMARY KEY,\n"
        "    value bigint NOT NULL\n"
        ");\n"
        "INSERT INTO meta (key, value) VALUES ('version', 1);\n"
        "CREATE TABLE groups (\n"
        "    id text PRIMARY KEY,\n"
        "    name text NOT NULL,\n"
        "    is_organization boolean NOT NULL,\n"
        "    state text NOT NULL,\n"
        "    doc text NOT NULL,\n"
        "    UNIQUE (is_organization, name)\n"
        ");\n"
        "CREATE TABLE datasets (\n"
        "    rid bigserial PRIMARY KEY,\n"
        "    id text NOT NULL UNIQUE,\n"
        "    name text NOT NULL UNIQUE,\n"
        "    owner_org text,\n"
        "    state text NOT NULL,\n"
        "    private boolean NOT NULL,\n"
        "    title text NOT NULL,\n"
        "    metadata_created text NOT NULL,\n"
        "    metadata_modified text NOT NULL,\n"
        "    doc text NOT NULL,\n"
        "    fts tsvector NOT NULL,\n"
        "    fts_len integer NOT NULL\n"
        ");\n"
        "CREATE INDEX datasets_modified ON datasets (metadata_modified);\n"
        "CREATE INDEX datasets_created ON datasets (metadata_created);\n"
        "CREATE INDEX datasets_title ON datasets (title);\n"
        "CREATE INDEX datasets_owner_org ON datasets (owner_org, state, private);\n"
        "CREATE INDEX datasets_public_modified ON datasets (metadata_modified)\n"
        "    WHERE state = 'active' AND NOT private;\n"
        "CREATE INDEX datasets_public_name ON datasets (name)\n"
        "    WHERE state = 'active' AND NOT private;\n"
        "CREATE INDEX datasets_fts ON datasets USING gin (fts);\n"
        "CREATE TABLE dataset_facets (\n"
        "    dataset_rid bigint NOT NULL REFERENCES datasets (rid) ON DELETE CASCADE,\n"
        "    field text NOT NULL,\n"
        "    value text NOT NULL,\n"
        "    PRIMARY KEY (dataset_rid, field, value)\n"
        ");\n"
        "CREATE INDEX dataset_facets_value ON dataset_facets (field, value, dataset_rid);\n"
        "CREATE TABLE dataset_resources (\n"
        "    resource_id text PRIMARY KEY,\n"
        "    dataset_rid bigint NOT NULL REFERENCES datasets (rid) ON DELETE CASCADE\n"
        ");\n"
        "CREATE INDEX dataset_resources_dataset ON dataset_resources (dataset_rid);\n"
        "CREATE TABLE users (\n"
        "    id text PRIMARY KEY,\n"
        "    name text NOT NULL UNIQUE,\n"
        "    fullname text,\n"
        "    email text,\n"
        "    sysadmin boolean NOT NULL,\n"
        "    state text NOT NULL,\n"
        "    password_hash text,\n"
        "    created text\n"
        ");\n"
        "CREATE TABLE tokens (\n"
        "    id text PRIMARY KEY,\n"
        "    user_id text NOT NULL REFERENCES users (id) ON DELETE CASCADE,\n"
        "    hash text NOT NULL UNIQUE,\n"
        "    label text,\n"
        "    created text\n"
        ");\n"
        "CREATE INDEX tokens_user ON tokens (user_id);\n"
        "CREATE TABLE members (\n"
        "    group_id text NOT NULL REFERENCES groups (id) ON DELETE CASCADE,\n"
        "    user_id text NOT NULL REFERENCES users (id) ON DELETE CASCADE,\n"
        "    capacity text NOT NULL CHECK (capacity IN ('admin', 'editor', 'member')),\n"
        "    PRIMARY KEY (group_id, user_id)\n"
        ");\n"
        "CREATE INDEX members_user ON members (user_id);\n"
        "CREATE TABLE ledger_entries (\n"
        "    idx bigint PRIMARY KEY,\n"
        "    entry bytea NOT NULL,\n"
        "    leaf_hash bytea NOT NULL\n"
        ");\n"
        "CREATE INDEX ledger_entries_leaf ON ledger_entries (leaf_hash);\n"
        "CREATE TABLE ledger_tiles (\n"
        "    level integer NOT NULL,\n"
        "    idx bigint NOT NULL,\n"
        "    hashes bytea NOT NULL,\n"
        "    PRIMARY KEY (level, idx)\n"
        ");\n"
        "CREATE TABLE ledger_checkpoints (\n"
        "    size bigint PRIMARY KEY,\n"
        "    root bytea NOT NULL,\n"
        "    note text NOT NULL,\n"
        "    created text NOT NULL\n"
        ");\n"
        "CREATE TABLE datastore_status (\n"
        "    resource_id text PRIMARY KEY,\n"
        "    status text NOT NULL\n"
        ");\n",
        /* 2: datastore tables (store-pg-datastore.c): the schema holding one table per
         * resource and a view per table for datastore_search_sql, the tables' meta, and
         * the role datastore_search_sql runs as (cluster-wide, so made once). */
        "CREATE SCHEMA datastore;\n"
        "CREATE TABLE datastore_tables (\n"
        "    resource_id text PRIMARY KEY,\n"
        "    fields text NOT NULL,\n"
        "    primary_key text NOT NULL,\n"
        "    indexes text NOT NULL,\n"
        "    meta text NOT NULL,\n"
        "    fulltext boolean NOT NULL,\n"
        "    rows bigint NOT NULL,\n"
        "    generation bigint NOT NULL\n"
        ");\n"
        "DO $$ BEGIN\n"
        "    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '" PG_DS_READER "') THEN\n"
        "        CREATE ROLE " PG_DS_READER " NOLOGIN;\n"
        "    END IF;\n"
        "    IF NOT pg_has_role(current_user, '" PG_DS_READER "', 'MEMBER') THEN\n"
        "        GRANT " PG_DS_READER " TO current_user;\n"
        "    END IF;\n"
        "END $$;\n"
        "REVOKE ALL ON SCHEMA datastore FROM PUBLIC;\n"
        "GRANT USAGE ON SCHEMA datastore TO " PG_DS_READER ";\n",
        /* 3: roles and grants (SQLite's 5; store-pg-access.c, docs/internals/access.md),
         * web sessions (SQLite's 9), and the catalog counter of store_catalog_version()
         * (SQLite's 11). Text columns that lists sort by compare bytes (COLLATE "C"), as
         * SQLite's do, whatever the database's locale. */
        "CREATE TABLE roles (\n"
        "    user_id text NOT NULL REFERENCES users (id) ON DELETE CASCADE,\n"
        "    role text COLLATE \"C\" NOT NULL\n"
        "        CHECK (role IN ('approver', 'auditor', 'grantee')),\n"
        "    org_id text COLLATE \"C\" NOT NULL,\n"
        "    PRIMARY KEY (user_id, role, org_id)\n"
        ");\n"
        "CREATE TABLE grants (\n"
        "    id text COLLATE \"C\" PRIMARY KEY,\n"
        "    dataset_id text NOT NULL,\n"
        "    grantee_id text NOT NULL,\n"
        "    state text NOT NULL,\n"
        "    created text COLLATE \"C\" NOT NULL,\n"
        "    doc text NOT NULL\n"
        ");\n"
        "CREATE INDEX grants_dataset ON grants (dataset_id, created);\n"
        "CREATE INDEX grants_grantee ON grants (grantee_id, dataset_id);\n"
        "CREATE TABLE sessions (\n"
        "    id_hash text PRIMARY KEY,\n"
        "    user_id text NOT NULL REFERENCES users (id) ON DELETE CASCADE,\n"
        "    csrf text NOT NULL,\n"
        "    expires bigint NOT NULL\n"
        ");\n"
        "CREATE INDEX sessions_expires ON sessions (expires);\n"
        "CREATE INDEX sessions_user ON sessions (user_id);\n"
        "INSERT INTO meta (key, value) SELECT 'catalog', value FROM meta WHERE key = 'version'\n"
        "    ON CONFLICT (key) DO UPDATE SET value = excluded.value;\n",
        /* 4: view totals (SQLite's 10; store-pg-views.c), privacy reports (SQLite's 8;
         * store-pg-privacy.c) and derived texts (SQLite's 6: store_dataset.derived, the
         * data.json entry). A dataset's total and derived text go with it. */
        "CREATE TABLE dataset_views (\n"
        "    dataset_id text COLLATE \"C\" PRIMARY KEY\n"
        "        REFERENCES datasets (id) ON DELETE CASCADE,\n"
        "    views bigint NOT NULL\n"
        ");\n"
        "CREATE INDEX dataset_views_top ON dataset_views (views, dataset_id);\n"
        "CREATE TABLE privacy_reports (\n"
        "    resource_id text PRIMARY KEY,\n"
        "    report text NOT NULL\n"
        ");\n"
        "CREATE TABLE dataset_derived (\n"
        "    dataset_rid bigint PRIMARY KEY REFERENCES datasets (rid) ON DELETE CASCADE,\n"
        "    key bytea NOT NULL,\n"
        "    text bytea NOT NULL\n"
        ");\n",
        /* 5: fee schedules and charges (SQLite's 7; store-pg-audit.c,
         * docs/internals/audit.md, "Storage"), and the ledger entries the audit reads by
         * type in a partial index (SQLite's 12). kaifang_entry_type() reads an entry's
         * "type" without failing on bytes that are not JSON (NULL then); the audit's query
         * repeats the index's condition so that the planner uses it. */
        "CREATE TABLE fee_schedules (\n"
        "    id text PRIMARY KEY,\n"
        "    name text COLLATE \"C\" NOT NULL UNIQUE,\n"
        "    org_id text NOT NULL,\n"
        "    state text NOT NULL,\n"
        "    doc text NOT NULL\n"
        ");\n"
        "CREATE INDEX fee_schedules_org ON fee_schedules (org_id, state);\n"
        "CREATE TABLE charges (\n"
        "    rid bigserial PRIMARY KEY,\n"
        "    id text NOT NULL UNIQUE,\n"
        "    org_id text NOT NULL,\n"
        "    unit text NOT NULL,\n"
        "    system text NOT NULL,\n"
        "    payer text NOT NULL,\n"
        "    date text NOT NULL,\n"
        "    amount_fen bigint NOT NULL,\n"
        "    currency text NOT NULL,\n"
        "    schedule text,\n"
        "    source text NOT NULL,\n"
        "    grant_id text,\n"
        "    salt text NOT NULL,\n"
        "    created text NOT NULL,\n"
        "    ledger_idx bigint NOT NULL\n"
        ");\n"
        "CREATE INDEX charges_ledger ON charges (ledger_idx, rid);\n"
        "CREATE FUNCTION kaifang_entry_type(e bytea) RETURNS text\n"
        "    LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE AS $$\n"
        "BEGIN\n"
        "    RETURN pg_catalog.convert_from(e, 'UTF8')::pg_catalog.jsonb OPERATOR(pg_catalog.->>) 'type';\n"
        "EXCEPTION WHEN OTHERS THEN\n"
        "    RETURN NULL;\n"
        "END $$;\n"
        "CREATE INDEX ledger_entries_audit ON ledger_entries (idx) WHERE " PG_LEDGER_AUDIT_WHERE
        ";\n",
        /* 6: the charge_record entries, so that the audit finds those whose charge row is
         * gone without reading the whole ledger (SQLite's 13;
         * store_charge_entries_orphaned). */
        "CREATE INDEX ledger_entries_charges ON ledger_entries (idx) WHERE " PG_LEDGER_CHARGE_WHERE
        ";\n",
};

_Static_assert(ARRAY_SIZE(migrations) == PG_SCHEMA_VERSION,
               "one migration step per PostgreSQL schema version");

/* ---- Backend state ----------------------------------------------------------------------- */
struct pg_thread {
    struct pg *owner;
    PGconn *conn; /* NULL until the thread's first call */
    bool writing; /* holds write_lock and an open write transaction */
    bool leading; /* conn holds the sequencer's session lock */
    /* With a read replica: rconn, the thread's connection to it (NULL until its first
     * read there); primary pins the thread to conn (the sequencer's). */
    PGconn *rconn;
    bool primary;
    struct pg_thread *prev, *next;
};

struct pg {
    char *conninfo;
    char *read_conninfo; /* store_read_replica_set(); NULL: reads go to the primary */
    bool readonly;
    pthread_mutex_t write_lock;
    pthread_key_t key;
    pthread_mutex_t threads_lock;
    struct pg_thread *threads;
    atomic_uint_fast64_t failed_versions;
    /* Idle connections of pg_conn_take/pg_conn_give (datastore builds, cursors). */
    pthread_mutex_t pool_lock;
    PGconn *pool[PG_POOL_MAX];
    size_t npool;
};

/* ---- Parameters ------------------------------------------------------------------------ */
static int params_add(struct pg_params *p, char *val, int len, int fmt)
{
    if (p->n == p->alloc) {
        p->alloc = p->alloc ? 2 * p->alloc : 16;
        p->vals = xrealloc(p->vals, p->alloc * sizeof(*p->vals));
        p->lens = xrealloc(p->lens, p->alloc * sizeof(*p->lens));
        p->fmts = xrealloc(p->fmts, p->alloc * sizeof(*p->fmts));
    }
    p->vals[p->n] = val;
    p->lens[p->n] = len;
    p->fmts[p->n] = fmt;
    return (int)++p->n;
}

int pg_params_text(struct pg_params *p, const char *s)
{
    return params_add(p, s ? xstrdup(s) : NULL, 0, 0);
}

int pg_params_bytes(struct pg_params *p, const void *data, size_t len)
{
    char *copy = xmalloc(len ? len : 1);

    BUG_ON(len > INT32_MAX);
    if (len)
        memcpy(copy, data, len);
    return params_add(p, copy, (int)len, 1);
}

int pg_params_int(struct pg_params *p, int64_t v)
{
    return params_add(p, xstrfmt("%" PRId64, v), 0, 0);
}

void pg_params_release(struct pg_params *p)
{
    for (size_t i = 0; i < p->n; i++)
        free(p->vals[i]);
    free(p->vals);
    free(p->lens);
    free(p->fmts);
    memset(p, 0, sizeof(*p));
}

/* ---- Connections ----------------------------------------------------------------------- */
static const char *nonempty(const char *s, const char *dflt)
{
    return s && *s ? s : dflt;
}

/*
 * The error of a failed connection: where it went (host or socket directory, port,
 * database; never the password or the URL) and libpq's first line, which names the
 * cause ("Connection refused", "password authentication failed for user …").
 */
static int connect_error(PGconn *c, struct err *err)
{
    const char *msg = c ? PQerrorMessage(c) : "out of memory";
    size_t len = strcspn(msg, "\n");

    log_error("store: postgresql: connecting: %s", msg);
    return err_set(err, ERR_UNAVAILABLE, "store_url",
                   "cannot connect to the PostgreSQL server at host \"%s\" port %s "
                   "(database \"%s\"): %.*s",
                   c ? nonempty(PQhost(c), "(default)") : "?",
                   c ? nonempty(PQport(c), "(default)") : "?", c ? nonempty(PQdb(c), "?") : "?",
                   (int)len, msg);
}

/* Server notices (NOTICE, WARNING) go to the debug log, not to stderr. */
static void notice_log(void *arg, const char *msg)
{
    (void)arg;
    log_debug("store: postgresql: %s", msg);
}

static int conn_open_to(const char *conninfo, PGconn **out, struct err *err)
{
    PGconn *c = PQconnectdb(conninfo);
    PGresult *r = NULL;
    char *set = NULL;
    int rc = 0;

    *out = NULL;
    if (!c || PQstatus(c) != CONNECTION_OK) {
        rc = connect_error(c, err);
        goto out;
    }
    PQsetNoticeProcessor(c, notice_log, NULL);
    /* Text is UTF-8 whatever the server's locale; the application name tells the
     * servers sharing the database apart in pg_stat_activity (which one holds the
     * sequencer's lock: tests/e2e/test_store_pg_servers.py). */
    set = xstrfmt("SET client_encoding = 'UTF8'; SET application_name = 'kaifang[%ld]'",
                  (long)getpid());
    r = PQexec(c, set);
    if (PQresultStatus(r) != PGRES_COMMAND_OK) {
        log_error("store: postgresql: setting up a connection: %s", PQerrorMessage(c));
        rc = err_set(err, ERR_INTERNAL, NULL, "database failure while setting up a connection");
        goto out;
    }
    *out = c;
    c = NULL;
out:
    free(set);
    PQclear(r);
    PQfinish(c);
    return rc;
}

static int conn_open(struct pg *q, PGconn **out, struct err *err)
{
    return conn_open_to(q->conninfo, out, err);
}

static void thread_unlink(struct pg *q, struct pg_thread *t)
{
    if (t->prev)
        t->prev->next = t->next;
    else
        q->threads = t->next;
    if (t->next)
        t->next->prev = t->prev;
}

/* pthread key destructor: the thread is exiting. */
static void thread_exit(void *p)
{
    struct pg_thread *t = p;
    struct pg *q = t->owner;

    BUG_ON(t->writing); /* a thread exited inside a write transaction */
    pthread_mutex_lock(&q->threads_lock);
    thread_unlink(q, t);
    pthread_mutex_unlock(&q->threads_lock);
    PQfinish(t->conn);
    PQfinish(t->rconn);
    free(t);
}

static struct pg_thread *thread_get(struct pg *q)
{
    struct pg_thread *t = pthread_getspecific(q->key);

    if (t)
        return t;
    t = xcalloc(1, sizeof(*t));
    t->owner = q;
    pthread_mutex_lock(&q->threads_lock);
    t->next = q->threads;
    if (q->threads)
        q->threads->prev = t;
    q->threads = t;
    pthread_mutex_unlock(&q->threads_lock);
    if (pthread_setspecific(q->key, t))
        die("cannot set thread-specific data");
    return t;
}

/* The calling thread's connection, opened (or, after the server dropped it outside a
 * transaction, reopened) on demand. */
static int thread_conn(struct store *s, PGconn **c, struct err *err)
{
    struct pg *q = s->be;
    struct pg_thread *t = thread_get(q);
    int rc;

    /* Reads outside a write transaction go to the replica, when there is one. */
    if (q->read_conninfo && !t->writing && !t->primary) {
        if (t->rconn && PQstatus(t->rconn) == CONNECTION_BAD) {
            PQfinish(t->rconn);
            t->rconn = NULL;
        }
        if (!t->rconn) {
            rc = conn_open_to(q->read_conninfo, &t->rconn, err);
            if (rc)
                return rc;
        }
        *c = t->rconn;
        return 0;
    }

    if (t->conn && PQstatus(t->conn) == CONNECTION_BAD && !t->writing) {
        PQfinish(t->conn);
        t->conn = NULL;
        t->leading = false; /* the server released the session's locks */
    }
    if (!t->conn) {
        rc = conn_open(q, &t->conn, err);
        if (rc)
            return rc;
    }
    *c = t->conn;
    return 0;
}

bool pg_primary_pin(struct store *s, bool pin)
{
    struct pg_thread *t = thread_get(s->be);
    bool was = t->primary;

    t->primary = pin;
    return was;
}

bool pg_readonly(struct store *s)
{
    return ((struct pg *)s->be)->readonly;
}

bool pg_writing(struct store *s)
{
    struct pg_thread *t = pthread_getspecific(((struct pg *)s->be)->key);

    return t && t->writing;
}

PGconn *pg_writing_conn(struct store *s)
{
    struct pg_thread *t = pthread_getspecific(((struct pg *)s->be)->key);

    return t && t->writing ? t->conn : NULL;
}

void pg_assert_writing(struct store *s)
{
    BUG_ON(!pg_writing(s)); /* a store write outside store_begin/store_commit */
}

/* ---- Pooled connections -------------------------------------------------------------- */
int pg_conn_take(struct store *s, PGconn **out, struct err *err)
{
    struct pg *q = s->be;
    PGconn *c = NULL;

    *out = NULL;
    pthread_mutex_lock(&q->pool_lock);
    while (!c && q->npool) {
        c = q->pool[--q->npool];
        if (PQstatus(c) != CONNECTION_OK) {
            PQfinish(c);
            c = NULL;
        }
    }
    pthread_mutex_unlock(&q->pool_lock);
    if (c) {
        *out = c;
        return 0;
    }
    return conn_open(q, out, err);
}

void pg_conn_give(struct store *s, PGconn *c)
{
    struct pg *q = s->be;

    if (!c)
        return;
    if (PQstatus(c) == CONNECTION_OK && PQtransactionStatus(c) != PQTRANS_IDLE)
        PQclear(PQexec(c, "ROLLBACK"));
    if (PQstatus(c) == CONNECTION_OK && PQtransactionStatus(c) == PQTRANS_IDLE) {
        pthread_mutex_lock(&q->pool_lock);
        if (q->npool < PG_POOL_MAX) {
            q->pool[q->npool++] = c;
            c = NULL;
        }
        pthread_mutex_unlock(&q->pool_lock);
    }
    PQfinish(c);
}

/* ---- Running statements ---------------------------------------------------------------- */
static int result_error(PGconn *c, const PGresult *r, const char *what, struct err *err)
{
    const char *state = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;

    if (state && !strcmp(state, "23505"))
        return PG_UNIQUE;
    if (state && !strcmp(state, "23503"))
        return PG_FOREIGN;
    log_error("store: postgresql: %s: %s", what, r ? PQresultErrorMessage(r) : PQerrorMessage(c));
    /* 55P03 lock_not_available (lock_timeout), 57P01 admin_shutdown, class 08 connection. */
    if (PQstatus(c) == CONNECTION_BAD ||
        (state && (!strcmp(state, "55P03") || !strcmp(state, "57P01") || !strncmp(state, "08", 2))))
        return err_set(err, ERR_UNAVAILABLE, NULL, "database is unavailable while %s", what);
    return err_set(err, ERR_INTERNAL, NULL, "database failure while %s", what);
}

int pg_query(struct store *s, const char *sql, const struct pg_params *p, PGresult **res,
             const char *what, struct err *err)
{
    PGconn *c = NULL;
    int rc;

    if (res)
        *res = NULL;
    rc = thread_conn(s, &c, err);
    if (rc)
        return rc;
    return pg_exec(c, sql, p, res, what, err);
}

int pg_exec(PGconn *c, const char *sql, const struct pg_params *p, PGresult **res, const char *what,
            struct err *err)
{
    PGresult *r = NULL;
    ExecStatusType st;
    int rc;

    if (res)
        *res = NULL;
    BUG_ON(p && p->n > 65535);
    /* Without parameters, the simple protocol, which runs several statements (BEGIN; …). */
    if (!p)
        r = PQexec(c, sql);
    else
        r = PQexecParams(c, sql, (int)p->n, NULL, (const char *const *)p->vals, p->lens, p->fmts,
                         0);
    st = PQresultStatus(r);
    if (st == PGRES_TUPLES_OK || st == PGRES_COMMAND_OK) {
        if (res) {
            *res = r;
            r = NULL;
        }
        rc = 0;
    } else {
        rc = result_error(c, r, what, err);
    }
    PQclear(r);
    return rc;
}

int pg_run(struct store *s, const char *sql, const struct pg_params *p, PGresult **res,
           const char *what, struct err *err)
{
    int rc = pg_query(s, sql, p, res, what, err);

    if (rc > 0) {
        log_error("store: postgresql: %s: constraint violation", what);
        rc = err_set(err, ERR_INTERNAL, NULL, "database failure while %s", what);
    }
    return rc;
}

void pg_rollback_open(struct store *s)
{
    struct pg_thread *t = pthread_getspecific(((struct pg *)s->be)->key);

    if (t && t->conn && PQtransactionStatus(t->conn) != PQTRANS_IDLE)
        pg_exec(t->conn, "ROLLBACK", NULL, NULL, "rolling back", NULL);
    if (t && t->rconn && PQtransactionStatus(t->rconn) != PQTRANS_IDLE)
        pg_exec(t->rconn, "ROLLBACK", NULL, NULL, "rolling back", NULL);
}

int pg_read_begin(struct store *s, bool *began, struct err *err)
{
    int rc;

    *began = false;
    if (pg_writing(s))
        return 0;
    rc = pg_run(s, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", NULL, NULL, "starting a read",
                err);
    *began = !rc;
    return rc;
}

void pg_read_end(struct store *s, bool began)
{
    if (began)
        pg_run(s, "COMMIT", NULL, NULL, "ending a read", NULL);
}

/* ---- Values ---------------------------------------------------------------------------- */
json_t *pg_json_string(const PGresult *res, int r, int c)
{
    if (PQgetisnull(res, r, c))
        return json_null();
    return json_stringn(PQgetvalue(res, r, c), (size_t)PQgetlength(res, r, c));
}

static int hexval(int ch)
{
    if (ch >= '0' && ch <= '9')
        return ch - '0';
    if (ch >= 'a' && ch <= 'f')
        return ch - 'a' + 10;
    if (ch >= 'A' && ch <= 'F')
        return ch - 'A' + 10;
    return -1;
}

int pg_bytea_decode(const char *text, uint8_t *out, size_t size, size_t *len)
{
    size_t n = 0;

    if (text[0] != '\\' || text[1] != 'x')
        return -1;
    for (text += 2; text[0] && text[1]; text += 2) {
        int hi = hexval(text[0]), lo = hexval(text[1]);

        if (hi < 0 || lo < 0 || n == size)
            return -1;
        out[n++] = (uint8_t)(hi << 4 | lo);
    }
    if (*text)
        return -1;
    *len = n;
    return 0;
}

int64_t pg_int(const PGresult *res, int r, int c)
{
    int64_t v = 0;

    if (PQgetisnull(res, r, c) || parse_i64(PQgetvalue(res, r, c), INT64_MIN, INT64_MAX, &v))
        return 0;
    return v;
}

int pg_fetch_doc(PGresult *r, json_t **doc, const char *what, struct err *err)
{
    json_error_t jerr;

    if (PQntuples(r) == 0)
        return 1;
    *doc = json_loadb(PQgetvalue(r, 0, 0), (size_t)PQgetlength(r, 0, 0), JSON_ALLOW_NUL, &jerr);
    if (!*doc) {
        log_error("store: postgresql: a stored %s is not JSON: %s", what, jerr.text);
        return err_set(err, ERR_INTERNAL, NULL, "a stored %s is corrupt", what);
    }
    return 0;
}

int pg_fetch_list(PGresult *r, bool docs, json_t **list, const char *what, struct err *err)
{
    json_t *arr = json_array();
    json_error_t jerr;

    for (int i = 0; i < PQntuples(r); i++) {
        json_t *v = docs ? json_loadb(PQgetvalue(r, i, 0), (size_t)PQgetlength(r, i, 0),
                                      JSON_ALLOW_NUL, &jerr)
                         : pg_json_string(r, i, 0);

        if (!v) {
            json_decref(arr);
            return err_set(err, ERR_INTERNAL, NULL, "a stored %s is corrupt", what);
        }
        json_array_append_new(arr, v);
    }
    *list = arr;
    return 0;
}

static char *doc_text(const json_t *doc)
{
    return json_dumps(doc, JSON_COMPACT | JSON_ENCODE_ANY);
}

const char *pg_bool(bool b)
{
    return b ? "t" : "f";
}

/* LIMIT of a list: 0 (none) becomes NULL, which PostgreSQL reads as no limit. */
static void param_limit(struct pg_params *p, size_t limit)
{
    if (limit == 0 || limit > INT64_MAX)
        pg_params_text(p, NULL);
    else
        pg_params_int(p, (int64_t)limit);
}

static void param_offset(struct pg_params *p, size_t offset)
{
    pg_params_int(p, offset > INT64_MAX ? INT64_MAX : (int64_t)offset);
}

/* ---- Open, migrate, close -------------------------------------------------------------- */
static int schema_read(struct store *s, int *version, struct err *err)
{
    PGresult *r = NULL;
    int rc = pg_run(s, "SELECT version FROM schema_version", NULL, &r, "reading the schema version",
                    err);

    if (!rc && PQntuples(r) != 1)
        rc = err_set(err, ERR_INTERNAL, NULL, "database has no schema version");
    if (!rc)
        *version = (int)pg_int(r, 0, 0);
    PQclear(r);
    return rc;
}

/* Applies pending migrations, each step in its own transaction under the write lock
 * (another process may be migrating too). */
static int migrate(struct store *s, struct err *err)
{
    char *bump = NULL;
    int version = 0;
    int rc;

    rc = pg_run(s,
                "BEGIN; SELECT pg_advisory_xact_lock(" PG_WRITE_LOCK ");"
                " CREATE TABLE IF NOT EXISTS schema_version (version integer NOT NULL);"
                " INSERT INTO schema_version (version)"
                " SELECT 0 WHERE NOT EXISTS (SELECT 1 FROM schema_version); COMMIT",
                NULL, NULL, "creating the schema version table", err);
    if (rc)
        goto out;
    for (;;) {
        rc = pg_run(s, "BEGIN; SELECT pg_advisory_xact_lock(" PG_WRITE_LOCK ")", NULL, NULL,
                    "starting a migration", err);
        if (!rc)
            rc = schema_read(s, &version, err);
        if (rc)
            goto out;
        if (version > PG_SCHEMA_VERSION || version < 0) {
            rc = err_set(err, ERR_INTERNAL, NULL,
                         "database has PostgreSQL schema version %d; this kaifang supports up "
                         "to %d (upgrade kaifang)",
                         version, PG_SCHEMA_VERSION);
            goto out;
        }
        if (version == PG_SCHEMA_VERSION)
            break;
        free(bump);
        bump = xstrfmt("UPDATE schema_version SET version = %d", version + 1);
        rc = pg_run(s, migrations[version], NULL, NULL, "migrating the schema", err);
        if (!rc)
            rc = pg_run(s, bump, NULL, NULL, "migrating the schema", err);
        if (!rc)
            rc = pg_run(s, "COMMIT", NULL, NULL, "migrating the schema", err);
        if (rc)
            goto out;
        log_info("store: postgresql database migrated to schema version %d", version + 1);
    }
    rc = pg_run(s, "COMMIT", NULL, NULL, "ending the migration", err);
out:
    free(bump);
    pg_rollback_open(s);
    return rc;
}

static void pg_close(struct store *s)
{
    struct pg *q = s->be;
    struct pg_thread *t, *next;

    if (!q)
        return;
    for (t = q->threads; t; t = next) {
        next = t->next;
        PQfinish(t->conn);
        PQfinish(t->rconn);
        free(t);
    }
    for (size_t i = 0; i < q->npool; i++)
        PQfinish(q->pool[i]);
    pthread_mutex_destroy(&q->pool_lock);
    pthread_key_delete(q->key);
    pthread_mutex_destroy(&q->write_lock);
    pthread_mutex_destroy(&q->threads_lock);
    free(q->conninfo);
    free(q->read_conninfo);
    free(q);
    s->be = NULL;
}

static struct pg *pg_new(struct store *s, const char *conninfo)
{
    struct pg *q = xcalloc(1, sizeof(*q));

    q->conninfo = xstrdup(conninfo);
    pthread_mutex_init(&q->write_lock, NULL);
    pthread_mutex_init(&q->threads_lock, NULL);
    pthread_mutex_init(&q->pool_lock, NULL);
    if (pthread_key_create(&q->key, thread_exit))
        die("cannot create a thread-specific data key");
    s->be = q;
    return q;
}

/* Checks that libpq can read the URL before connecting, so that a malformed one is a
 * validation error, not "cannot connect". libpq's message never holds the password. */
static int conninfo_check(const char *conninfo, struct err *err)
{
    char *msg = NULL;
    PQconninfoOption *o = PQconninfoParse(conninfo, &msg);
    int rc = 0;

    if (!o)
        rc = err_set(err, ERR_VALIDATION, "store_url", "postgresql store url is malformed: %.*s",
                     msg ? (int)strcspn(msg, "\n") : 0, msg ? msg : "");
    PQconninfoFree(o);
    PQfreemem(msg);
    return rc;
}

static int pg_open(struct store *s, const char *conninfo, bool create, struct err *err)
{
    int rc;

    (void)create; /* the database itself is made by its administrator (createdb) */
    rc = conninfo_check(conninfo, err);
    if (rc)
        return rc;
    pg_new(s, conninfo);
    rc = migrate(s, err);
    if (rc)
        pg_close(s);
    return rc;
}

static int pg_open_readonly(struct store *s, const char *conninfo, size_t cache_kib,
                            struct err *err)
{
    int version = 0, rc;

    (void)cache_kib; /* the server's memory, not ours */
    rc = conninfo_check(conninfo, err);
    if (rc)
        return rc;
    ((struct pg *)pg_new(s, conninfo))->readonly = true;
    rc = schema_read(s, &version, err);
    if (!rc && version != PG_SCHEMA_VERSION)
        rc = err_set(err, ERR_VALIDATION, NULL,
                     "database is at PostgreSQL schema version %d, not %d: a read-only open "
                     "cannot migrate it (any writing command does)",
                     version, PG_SCHEMA_VERSION);
    if (rc)
        pg_close(s);
    return rc;
}

static int pg_schema_version(struct store *s, int *version, struct err *err)
{
    return schema_read(s, version, err);
}

/* ---- Transactions ---------------------------------------------------------------------- */
static int pg_begin(struct store *s, struct err *err)
{
    struct pg *q = s->be;
    struct pg_thread *t = thread_get(q);
    bool pinned;
    int rc;

    BUG_ON(t->writing); /* store_begin inside a transaction on the same thread */
    if (q->readonly)
        return err_set(err, ERR_INTERNAL, NULL, "the PostgreSQL store is open read-only");
    pthread_mutex_lock(&q->write_lock);
    /* On the primary: pinned while the transaction starts (thread_conn). */
    pinned = t->primary;
    t->primary = true;
    rc = pg_run(s,
                "BEGIN; SET LOCAL lock_timeout = '" PG_LOCK_TIMEOUT "';"
                " SELECT pg_advisory_xact_lock(" PG_WRITE_LOCK ")",
                NULL, NULL, "starting a transaction", err);
    t->primary = pinned;
    if (rc) {
        pg_rollback_open(s);
        pthread_mutex_unlock(&q->write_lock);
        return rc;
    }
    t->writing = true;
    return 0;
}

static void end_write(struct store *s, struct pg_thread *t)
{
    struct pg *q = s->be;

    pg_rollback_open(s);
    t->writing = false;
    pthread_mutex_unlock(&q->write_lock);
}

static int commit_bumping(struct store *s, const char *bump, struct err *err)
{
    struct pg *q = s->be;
    struct pg_thread *t = pthread_getspecific(q->key);
    int rc;

    BUG_ON(!t || !t->writing); /* store_commit without store_begin */
    /* The counters are rows, so that the writers of every server bump them. */
    rc = pg_run(s, bump, NULL, NULL, "committing", err);
    if (!rc)
        rc = pg_run(s, "COMMIT", NULL, NULL, "committing", err);
    end_write(s, t);
    return rc;
}

/* Every commit moves 'version'; all but ledger-only ones move 'catalog' too. */
static int pg_commit(struct store *s, struct err *err)
{
    return commit_bumping(
            s, "UPDATE meta SET value = value + 1 WHERE key IN ('version', 'catalog')", err);
}

/* A transaction that wrote ledger rows only: store_catalog_version() stays. */
static int pg_commit_ledger(struct store *s, struct err *err)
{
    return commit_bumping(s, "UPDATE meta SET value = value + 1 WHERE key = 'version'", err);
}

static void pg_rollback(struct store *s)
{
    struct pg *q = s->be;
    struct pg_thread *t = pthread_getspecific(q->key);

    if (t && t->writing)
        end_write(s, t);
}

/* A counter of meta: "version" or "catalog". */
static uint64_t version_of(struct store *s, const char *sql)
{
    struct pg *q = s->be;
    struct err err = ERR_INIT;
    PGresult *r = NULL;
    uint64_t v = 0;
    int rc;

    rc = pg_run(s, sql, NULL, &r, "reading the version", &err);
    if (!rc && PQntuples(r) == 1)
        v = (uint64_t)pg_int(r, 0, 0);
    else
        rc = -1;
    PQclear(r);
    /* On failure, a value never returned before, so that no cache trusts it. */
    if (rc)
        v = ((uint64_t)1 << 63) | (atomic_fetch_add(&q->failed_versions, 1) + 1);
    return v;
}

static uint64_t pg_version(struct store *s)
{
    return version_of(s, "SELECT value FROM meta WHERE key = 'version'");
}

static uint64_t pg_catalog_version(struct store *s)
{
    return version_of(s, "SELECT value FROM meta WHERE key = 'catalog'");
}

/* store_read_replica_set(): the replica is tried once, then every thread's reads go
 * there (thread_conn). */
static int pg_read_replica_set(struct store *s, const char *location, struct err *err)
{
    struct pg *q = s->be;
    PGconn *c = NULL;
    int rc;

    if (q->readonly)
        return err_set(err, ERR_VALIDATION, "read_store",
                       "a read replica is for a store open for writing");
    rc = conn_open_to(location, &c, err);
    PQfinish(c);
    if (rc)
        return rc;
    free(q->read_conninfo);
    q->read_conninfo = xstrdup(location);
    log_info("store: postgresql: reads go to a read replica");
    return 0;
}

/* The sequencer's election: the session lock, kept by this thread's connection. */
static int pg_sequencer_lead(struct store *s, bool *lead, struct err *err)
{
    struct pg_thread *t = thread_get(s->be);
    PGresult *r = NULL;
    int rc;

    if (t->leading && t->conn && PQstatus(t->conn) == CONNECTION_OK) {
        *lead = true;
        return 0;
    }
    /* The sequencer's thread reads and writes on the primary, where its lock is. */
    t->primary = true;
    rc = pg_run(s, "SELECT pg_try_advisory_lock(" PG_SEQUENCER_LOCK ")", NULL, &r,
                "electing the ledger sequencer", err);
    t->leading = !rc && !strcmp(PQgetvalue(r, 0, 0), "t");
    *lead = t->leading;
    PQclear(r);
    return rc;
}

/* ---- Groups ---------------------------------------------------------------------------- */
static int pg_group_put(struct store *s, const struct store_group *g, struct err *err)
{
    const char *kind = g->is_organization ? "organization" : "group";
    struct pg_params p = PG_PARAMS_INIT;
    PGresult *r = NULL;
    char *doc = NULL;
    int rc;

    pg_assert_writing(s);
    pg_params_text(&p, pg_bool(g->is_organization));
    pg_params_text(&p, g->name);
    pg_params_text(&p, g->id);
    rc = pg_run(s, "SELECT 1 FROM groups WHERE is_organization = $1 AND name = $2 AND id <> $3", &p,
                &r, "checking a group name", err);
    if (!rc && PQntuples(r) > 0)
        rc = err_set(err, ERR_CONFLICT, "name", "%s name \"%s\" is already in use", kind, g->name);
    if (rc)
        goto out;
    doc = doc_text(g->doc);
    if (!doc) {
        rc = err_set(err, ERR_INTERNAL, NULL, "%s \"%s\" cannot be serialised", kind, g->name);
        goto out;
    }
    pg_params_release(&p);
    pg_params_text(&p, g->id);
    pg_params_text(&p, g->name);
    pg_params_text(&p, pg_bool(g->is_organization));
    pg_params_text(&p, g->state);
    pg_params_text(&p, doc);
    rc = pg_run(s,
                "INSERT INTO groups (id, name, is_organization, state, doc)"
                " VALUES ($1, $2, $3, $4, $5) ON CONFLICT (id) DO UPDATE SET"
                " name = excluded.name, is_organization = excluded.is_organization,"
                " state = excluded.state, doc = excluded.doc",
                &p, NULL, "storing a group", err);
out:
    PQclear(r);
    pg_params_release(&p);
    free(doc);
    return rc;
}

static int pg_group_get(struct store *s, bool is_organization, const char *id_or_name, json_t **doc,
                        struct err *err)
{
    struct pg_params p = PG_PARAMS_INIT;
    PGresult *r = NULL;
    int rc;

    pg_params_text(&p, pg_bool(is_organization));
    pg_params_text(&p, id_or_name);
    rc = pg_run(s,
                "SELECT doc FROM groups WHERE is_organization = $1 AND (id = $2 OR name = $2)"
                " ORDER BY id = $2 DESC LIMIT 1",
                &p, &r, "looking up a group", err);
    if (!rc)
        rc = pg_fetch_doc(r, doc, "group", err);
    if (rc > 0)
        rc = err_set(err, ERR_NOT_FOUND, "id", "%s \"%s\" not found",
                     is_organization ? "organization" : "group", id_or_name);
    PQclear(r);
    pg_params_release(&p);
    return rc;
}

static int pg_group_list(struct store *s, bool is_organization, bool all_fields, size_t offset,
                         size_t limit, json_t **list, struct err *err)
{
    struct pg_params p = PG_PARAMS_INIT;
    PGresult *r = NULL;
    int rc;

    pg_params_text(&p, pg_bool(is_organization));
    param_limit(&p, limit);
    param_offset(&p, offset);
    rc = pg_run(s,
                all_fields ? "SELECT doc FROM groups WHERE is_organization = $1 AND"
                             " state = 'active' ORDER BY name LIMIT $2 OFFSET $3"
                           : "SELECT name FROM groups WHERE is_organization = $1 AND"
                             " state = 'active' ORDER BY name LIMIT $2 OFFSET $3",
                &p, &r, "listing groups", err);
    if (!rc)
        rc = pg_fetch_list(r, all_fields, list, "group", err);
    PQclear(r);
    pg_params_release(&p);
    return rc;
}

/* ---- Datasets -------------------------------------------------------------------------- */

/* Appends one lexeme of a tsvector literal: quoted, ' and \ doubled, with its position
 * and weight label. */
static void tsv_lexeme(struct buf *b, const char *tok, size_t len, unsigned pos, char weight)
{
    buf_addch(b, '\'');
    for (size_t i = 0; i < len; i++) {
        if (tok[i] == '\'' || tok[i] == '\\')
            buf_addch(b, tok[i]);
        buf_addch(b, tok[i]);
    }
    buf_addf(b, "':%u%c ", pos, weight);
}

/* Adds the space-separated tokens of one column from position *pos on; a gap of one
 * after them, so that a phrase never spans two columns. *ntokens counts them. */
static void tsv_column(struct buf *b, const char *text, char weight, unsigned *pos,
                       unsigned *ntokens)
{
    const char *p = text ? text : "";

    while (*p) {
        size_t len;

        p += strspn(p, " ");
        len = strcspn(p, " ");
        if (!len)
            break;
        /* A lexeme is at most 2 KiB in PostgreSQL; no catalog token comes near. */
        if (len < 2048)
            tsv_lexeme(b, p, len, *pos < 16383 ? *pos : 16383, weight);
        (*pos)++;
        (*ntokens)++;
        p += len;
    }
    (*pos)++;
}

/*
 * The tsvector literal of a dataset: the catalog's tokens (catalog_search_text(),
 * already case-folded, CJK as bigrams and single characters) taken as they are, with
 * no parser or dictionary in between: title weight A, tags B, text C. *ntokens: how
 * many tokens in all (the document length of BM25, store-pg-search.c). Free with free().
 */
static char *fts_vector(const struct store_dataset *d, unsigned *ntokens)
{
    struct buf b = BUF_INIT;
    unsigned pos = 1;

    *ntokens = 0;
    tsv_column(&b, d->fts_title, 'A', &pos, ntokens);
    tsv_column(&b, d->fts_tags, 'B', &pos, ntokens);
    tsv_column(&b, d->fts_text, 'C', &pos, ntokens);
    return buf_detach(&b, NULL);
}

static int check_resources(struct store *s, const struct store_dataset *d, struct err *err)
{
    struct pg_params p = PG_PARAMS_INIT;
    PGresult *r = NULL;
    size_t i;
    int rc = 0;

    for (i = 0; !rc && i < d->nresource_ids; i++) {
        pg_params_release(&p);
        pg_params_text(&p, d->resource_ids[i]);
        PQclear(r);
        r = NULL;
        rc = pg_run(s,
                    "SELECT d.id FROM dataset_resources r JOIN datasets d ON d.rid = r.dataset_rid"
                    " WHERE r.resource_id = $1",
                    &p, &r, "checking a resource id", err);
        if (!rc && PQntuples(r) > 0 && strcmp(PQgetvalue(r, 0, 0), d->id))
            rc = err_set(err, ERR_CONFLICT, "id", "resource id \"%s\" is already in use",
                         d->resource_ids[i]);
    }
    PQclear(r);
    pg_params_release(&p);
    return rc;
}

static int pg_dataset_put(struct store *s, const struct store_dataset *d, struct err *err)
{
    struct pg_params p = PG_PARAMS_INIT;
    PGresult *r = NULL;
    char *doc = NULL, *fts = NULL, *rid = NULL;
    unsigned ntokens = 0;
    size_t i;
    int rc;

    pg_assert_writing(s);
    pg_params_text(&p, d->name);
    pg_params_text(&p, d->id);
    rc = pg_run(s, "SELECT 1 FROM datasets WHERE name = $1 AND id <> $2", &p, &r,
                "checking a dataset name", err);
    if (!rc && PQntuples(r) > 0)
        rc = err_set(err, ERR_CONFLICT, "name", "dataset name \"%s\" is already in use", d->name);
    if (!rc)
        rc = check_resources(s, d, err);
    if (rc)
        goto out;
    doc = doc_text(d->doc);
    if (!doc) {
        rc = err_set(err, ERR_INTERNAL, NULL, "dataset \"%s\" cannot be serialised", d->name);
        goto out;
    }
    fts = fts_vector(d, &ntokens);
    pg_params_release(&p);
    pg_params_text(&p, d->id);
    pg_params_text(&p, d->name);
    pg_params_text(&p, d->owner_org);
    pg_params_text(&p, d->state);
    pg_params_text(&p, pg_bool(d->is_private));
    pg_params_text(&p, d->title ? d->title : "");
    pg_params_text(&p, d->metadata_created ? d->metadata_created : "");
    pg_params_text(&p, d->metadata_modified ? d->metadata_modified : "");
    pg_params_text(&p, doc);
    pg_params_text(&p, fts);
    pg_params_int(&p, ntokens);
    PQclear(r);
    r = NULL;
    rc = pg_run(s,
                "INSERT INTO datasets (id, name, owner_org, state, private, title,"
                " metadata_created, metadata_modified, doc, fts, fts_len)"
                " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10::tsvector, $11)"
                " ON CONFLICT (id) DO UPDATE SET name = excluded.name,"
                " owner_org = excluded.owner_org, state = excluded.state,"
                " private = excluded.private, title = excluded.title,"
                " metadata_created = excluded.metadata_created,"
                " metadata_modified = excluded.metadata_modified, doc = excluded.doc,"
                " fts = excluded.fts, fts_len = excluded.fts_len RETURNING rid",
                &p, &r, "storing a dataset", err);
    if (rc)
        goto out;
    rid = xstrdup(PQgetvalue(r, 0, 0));

    /* Index rows are replaced wholesale. */
    pg_params_release(&p);
    pg_params_text(&p, rid);
    rc = pg_run(s, "DELETE FROM dataset_facets WHERE dataset_rid = $1", &p, NULL,
                "storing dataset facets", err);
    if (!rc)
        rc = pg_run(s, "DELETE FROM dataset_resources WHERE dataset_rid = $1", &p, NULL,
                    "storing dataset resources", err);
    for (i = 0; !rc && i < d->nfacets; i++) {
        BUG_ON(!d->facets[i].field || !d->facets[i].value);
        pg_params_release(&p);
        pg_params_text(&p, rid);
        pg_params_text(&p, d->facets[i].field);
        pg_params_text(&p, d->facets[i].value);
        rc = pg_run(s,
                    "INSERT INTO dataset_facets (dataset_rid, field, value) VALUES ($1, $2, $3)"
                    " ON CONFLICT DO NOTHING",
                    &p, NULL, "storing dataset facets", err);
    }
    for (i = 0; !rc && i < d->nresource_ids; i++) {
        BUG_ON(!d->resource_ids[i]);
        pg_params_release(&p);
        pg_params_text(&p, d->resource_ids[i]);
        pg_params_text(&p, rid);
        rc = pg_run(s,
                    "INSERT INTO dataset_resources (resource_id, dataset_rid) VALUES ($1, $2)"
                    " ON CONFLICT DO NOTHING",
                    &p, NULL, "storing dataset resources", err);
    }
    /* The derived text goes with the document it was derived from, or goes. */
    if (!rc) {
        pg_params_release(&p);
        pg_params_text(&p, rid);
        if (d->derived) {
            BUG_ON(!d->derived_key);
            pg_params_bytes(&p, d->derived_key, STORE_DERIVED_KEY);
            pg_params_bytes(&p, d->derived_len ? d->derived : "", d->derived_len);
        }
        rc = pg_run(s,
                    d->derived ? "INSERT INTO dataset_derived (dataset_rid, key, text)"
                                 " VALUES ($1, $2, $3) ON CONFLICT (dataset_rid) DO UPDATE"
                                 " SET key = excluded.key, text = excluded.text"
                               : "DELETE FROM dataset_derived WHERE dataset_rid = $1",
                    &p, NULL, "storing a dataset's derived text", err);
    }
out:
    PQclear(r);
    pg_params_release(&p);
    free(rid);
    free(fts);
    free(doc);
    return rc;
}

static int pg_dataset_purge(struct store *s, const char *id, struct err *err)
{
    struct pg_params p = PG_PARAMS_INIT;
    PGresult *r = NULL;
    int rc;

    pg_assert_writing(s);
    pg_params_text(&p, id);
    rc = pg_run(s, "DELETE FROM datasets WHERE id = $1", &p, &r, "purging a dataset", err);
    if (!rc && !strcmp(PQcmdTuples(r), "0"))
        rc = err_set(err, ERR_NOT_FOUND, "id", "dataset \"%s\" not found", id);
    PQclear(r);
    pg_params_release(&p);
    return rc;
}

static int pg_dataset_derived_put(struct store *s, const char *id, const uint8_t *key,
                                  const void *text, size_t len, struct err *err)
{
    struct pg_params p = PG_PARAMS_INIT;
    int rc;

    pg_assert_writing(s);
    pg_params_text(&p, id);
    pg_params_bytes(&p, key, STORE_DERIVED_KEY);
    pg_params_bytes(&p, len ? text : "", len);
    /* A dataset that is gone is not an error: no row to insert. */
    rc = pg_run(s,
                "INSERT INTO dataset_derived (dataset_rid, key, text)"
                " SELECT rid, $2, $3 FROM datasets WHERE id = $1 ON CONFLICT (dataset_rid)"
                " DO UPDATE SET key = excluded.key, text = excluded.text",
                &p, NULL, "storing a dataset's derived text", err);
    pg_params_release(&p);
    return rc;
}

static int pg_dataset_get(struct store *s, const char *id_or_name, json_t **doc, struct err *err)
{
    struct pg_params p = PG_PARAMS_INIT;
    PGresult *r = NULL;
    int rc;

    pg_params_text(&p, id_or_name);
    rc = pg_run(s,
                "SELECT doc FROM datasets WHERE id = $1 OR name = $1 ORDER BY id = $1 DESC"
                " LIMIT 1",
                &p, &r, "looking up a dataset", err);
    if (!rc)
        rc = pg_fetch_doc(r, doc, "dataset", err);
    if (rc > 0)
        rc = err_set(err, ERR_NOT_FOUND, "id", "dataset \"%s\" not found", id_or_name);
    PQclear(r);
    pg_params_release(&p);
    return rc;
}

static int pg_resource_dataset(struct store *s, const char *resource_id, char *dataset_id,
                               size_t size, struct err *err)
{
    struct pg_params p = PG_PARAMS_INIT;
    PGresult *r = NULL;
    int rc;

    pg_params_text(&p, resource_id);
    rc = pg_run(s,
                "SELECT d.id FROM dataset_resources r JOIN datasets d ON d.rid = r.dataset_rid"
                " WHERE r.resource_id = $1",
                &p, &r, "looking up a resource", err);
    if (!rc && PQntuples(r) == 0)
        rc = err_set(err, ERR_NOT_FOUND, "id", "resource \"%s\" not found", resource_id);
    else if (!rc && (size_t)PQgetlength(r, 0, 0) >= size)
        rc = err_set(err, ERR_INTERNAL, NULL, "dataset id of resource \"%s\" is too long",
                     resource_id);
    else if (!rc)
        memcpy(dataset_id, PQgetvalue(r, 0, 0), (size_t)PQgetlength(r, 0, 0) + 1);
    PQclear(r);
    pg_params_release(&p);
    return rc;
}

static int pg_group_dataset_count(struct store *s, bool is_organization, const char *group_id,
                                  size_t *count, struct err *err)
{
    struct pg_params p = PG_PARAMS_INIT;
    PGresult *r = NULL;
    int rc;

    pg_params_text(&p, group_id);
    rc = pg_run(s,
                is_organization
                        ? "SELECT count(*) FROM datasets WHERE owner_org = $1"
                          " AND state = 'active' AND NOT private"
                        : "SELECT count(*) FROM dataset_facets f JOIN datasets d"
                          " ON d.rid = f.dataset_rid WHERE f.field = 'groups' AND f.value IN"
                          " (SELECT name FROM groups WHERE id = $1 AND NOT is_organization"
                          " UNION SELECT $1) AND d.state = 'active' AND NOT d.private",
                &p, &r, "counting datasets", err);
    if (!rc)
        *count = (size_t)pg_int(r, 0, 0);
    PQclear(r);
    pg_params_release(&p);
    return rc;
}

/* ---- Users, tokens, members ------------------------------------------------------------ */
json_t *pg_user_row(const PGresult *r, int i)
{
    return json_pack("{s:o, s:o, s:o, s:o, s:b, s:o, s:o}", "id", pg_json_string(r, i, 0), "name",
                     pg_json_string(r, i, 1), "fullname", pg_json_string(r, i, 2), "email",
                     pg_json_string(r, i, 3), "sysadmin", !strcmp(PQgetvalue(r, i, 4), "t"),
                     "state", pg_json_string(r, i, 5), "created", pg_json_string(r, i, 6));
}

static int pg_user_put(struct store *s, const struct store_user *u, struct err *err)
{
    struct pg_params p = PG_PARAMS_INIT;
    PGresult *r = NULL;
    int rc;

    pg_assert_writing(s);
    pg_params_text(&p, u->name);
    pg_params_text(&p, u->id);
    rc = pg_run(s, "SELECT 1 FROM users WHERE name = $1 AND id <> $2", &p, &r,
                "checking a user name", err);
    if (!rc && PQntuples(r) > 0)
        rc = err_set(err, ERR_CONFLICT, "name", "user name \"%s\" is already in use", u->name);
    if (rc)
        goto out;
    pg_params_release(&p);
    pg_params_text(&p, u->id);
    pg_params_text(&p, u->name);
    pg_params_text(&p, u->fullname);
    pg_params_text(&p, u->email);
    pg_params_text(&p, pg_bool(u->sysadmin));
    pg_params_text(&p, u->state);
    pg_params_text(&p, u->password_hash);
    pg_params_text(&p, u->created);
    rc = pg_run(s,
                "INSERT INTO users (id, name, fullname, email, sysadmin, state, password_hash,"
                " created) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"
                " ON CONFLICT (id) DO UPDATE SET name = excluded.name,"
                " fullname = excluded.fullname, email = excluded.email,"
                " sysadmin = excluded.sysadmin, state = excluded.state,"
                " password_hash = excluded.password_hash, created = excluded.created",
                &p, NULL, "storing a user", err);
out:
    PQclear(r);
    pg_params_release(&p);
    return rc;
}

static int pg_user_get(struct store *s, const char *id_or_name, json_t **user, struct err *err)
{
    struct pg_params p = PG_PARAMS_INIT;
    PGresult *r = NULL;
    int rc;

    pg_params_text(&p, id_or_name);
    rc = pg_run(s,
                "SELECT " PG_USER_COLUMNS " FROM users u WHERE u.id = $1 OR u.name = $1"
                " ORDER BY u.id = $1 DESC LIMIT 1",
                &p, &r, "looking up a user", err);
    if (!rc && PQntuples(r) == 0)
        rc = err_set(err, ERR_NOT_FOUND, "id", "user \"%s\" not found", id_or_name);
    else if (!rc)
        *user = pg_user_row(r, 0);
    PQclear(r);
    pg_params_release(&p);
    return rc;
}

static int pg_user_list(struct store *s, json_t **users, struct err *err)
{
    PGresult *r = NULL;
    int rc;

    rc = pg_run(s, "SELECT " PG_USER_COLUMNS " FROM users u ORDER BY u.name", NULL, &r,
                "listing users", err);
    if (!rc) {
        *users = json_array();
        for (int i = 0; i < PQntuples(r); i++)
            json_array_append_new(*users, pg_user_row(r, i));
    }
    PQclear(r);
    return rc;
}

static int pg_token_put(struct store *s, const char *token_id, const char *user_id,
                        const char *token_hash, const char *label, const char *created,
                        struct err *err)
{
    struct pg_params p = PG_PARAMS_INIT;
    int rc;

    pg_assert_writing(s);
    pg_params_text(&p, token_id);
    pg_params_text(&p, user_id);
    pg_params_text(&p, token_hash);
    pg_params_text(&p, label);
    pg_params_text(&p, created);
    /* A savepoint: a failed statement would otherwise abort the caller's transaction. */
    rc = pg_run(s, "SAVEPOINT token_put", NULL, NULL, "storing a token", err);
    if (!rc)
        rc = pg_query(s,
                      "INSERT INTO tokens (id, user_id, hash, label, created)"
                      " VALUES ($1, $2, $3, $4, $5)",
                      &p, NULL, "storing a token", err);
    if (rc > 0)
        pg_run(s, "ROLLBACK TO SAVEPOINT token_put", NULL, NULL, "storing a token", NULL);
    if (rc == PG_FOREIGN)
        rc = err_set(err, ERR_NOT_FOUND, "user_id", "user \"%s\" not found", user_id);
    else if (rc == PG_UNIQUE)
        rc = err_set(err, ERR_CONFLICT, "id", "token \"%s\" already exists", token_id);
    pg_params_release(&p);
    return rc;
}

static int pg_token_user(struct store *s, const char *token_hash, json_t **user, struct err *err)
{
    struct pg_params p = PG_PARAMS_INIT;
    PGresult *r = NULL;
    int rc;

    pg_params_text(&p, token_hash);
    rc = pg_run(s,
                "SELECT " PG_USER_COLUMNS " FROM tokens t JOIN users u ON u.id = t.user_id"
                " WHERE t.hash = $1 AND u.state = 'active'",
                &p, &r, "looking up a user", err);
    /* Never echo a token hash. */
    if (!rc && PQntuples(r) == 0)
        rc = err_set(err, ERR_NOT_FOUND, NULL, "token not found");
    else if (!rc)
        *user = pg_user_row(r, 0);
    PQclear(r);
    pg_params_release(&p);
    return rc;
}

static int pg_token_revoke(struct store *s, const char *token_id, struct err *err)
{
    struct pg_params p = PG_PARAMS_INIT;
    PGresult *r = NULL;
    int rc;

    pg_assert_writing(s);
    pg_params_text(&p, token_id);
    rc = pg_run(s, "DELETE FROM tokens WHERE id = $1", &p, &r, "revoking a token", err);
    if (!rc && !strcmp(PQcmdTuples(r), "0"))
        rc = err_set(err, ERR_NOT_FOUND, "id", "token \"%s\" not found", token_id);
    PQclear(r);
    pg_params_release(&p);
    return rc;
}

static int pg_member_set(struct store *s, const char *group_id, const char *user_id,
                         const char *capacity, struct err *err)
{
    struct pg_params p = PG_PARAMS_INIT;
    int rc;

    pg_assert_writing(s);
    if (capacity && !str_eq(capacity, "admin") && !str_eq(capacity, "editor") &&
        !str_eq(capacity, "member"))
        return err_set(err, ERR_VALIDATION, "capacity",
                       "capacity \"%s\" is not one of admin, editor, member", capacity);
    pg_params_text(&p, group_id);
    pg_params_text(&p, user_id);
    if (capacity)
        pg_params_text(&p, capacity);
    rc = pg_run(s, "SAVEPOINT member_set", NULL, NULL, "storing a membership", err);
    if (!rc)
        rc = pg_query(s,
                      capacity ? "INSERT INTO members (group_id, user_id, capacity)"
                                 " VALUES ($1, $2, $3) ON CONFLICT (group_id, user_id)"
                                 " DO UPDATE SET capacity = excluded.capacity"
                               : "DELETE FROM members WHERE group_id = $1 AND user_id = $2",
                      &p, NULL, "storing a membership", err);
    if (rc > 0)
        pg_run(s, "ROLLBACK TO SAVEPOINT member_set", NULL, NULL, "storing a membership", NULL);
    if (rc > 0)
        rc = err_set(err, ERR_NOT_FOUND, NULL, "group \"%s\" or user \"%s\" not found", group_id,
                     user_id);
    pg_params_release(&p);
    return rc;
}

static int pg_member_get(struct store *s, const char *group_id, const char *user_id, char *out,
                         size_t size, struct err *err)
{
    struct pg_params p = PG_PARAMS_INIT;
    PGresult *r = NULL;
    int rc;

    pg_params_text(&p, group_id);
    pg_params_text(&p, user_id);
    rc = pg_run(s, "SELECT capacity FROM members WHERE group_id = $1 AND user_id = $2", &p, &r,
                "looking up a membership", err);
    if (!rc && PQntuples(r) == 0)
        rc = err_set(err, ERR_NOT_FOUND, "user_id", "user \"%s\" is not a member of \"%s\"",
                     user_id, group_id);
    else if (!rc && (size_t)PQgetlength(r, 0, 0) >= size)
        rc = err_set(err, ERR_INTERNAL, NULL, "capacity does not fit");
    else if (!rc)
        memcpy(out, PQgetvalue(r, 0, 0), (size_t)PQgetlength(r, 0, 0) + 1);
    PQclear(r);
    pg_params_release(&p);
    return rc;
}

static int pg_member_orgs(struct store *s, const char *user_id, json_t **orgs, struct err *err)
{
    struct pg_params p = PG_PARAMS_INIT;
    PGresult *r = NULL;
    int rc;

    pg_params_text(&p, user_id);
    rc = pg_run(s,
                "SELECT m.group_id, m.capacity FROM members m JOIN groups g ON g.id = m.group_id"
                " WHERE m.user_id = $1 AND g.is_organization AND g.state = 'active'"
                " ORDER BY g.name",
                &p, &r, "listing memberships", err);
    if (!rc) {
        *orgs = json_array();
        for (int i = 0; i < PQntuples(r); i++)
            json_array_append_new(*orgs, json_pack("{s:o, s:o}", "id", pg_json_string(r, i, 0),
                                                   "capacity", pg_json_string(r, i, 1)));
    }
    PQclear(r);
    pg_params_release(&p);
    return rc;
}

const struct store_backend store_pg_backend = {
        .name = "postgresql",
        .open = pg_open,
        .close = pg_close,
        .schema_version = pg_schema_version,
        .begin = pg_begin,
        .commit = pg_commit,
        .rollback = pg_rollback,
        .commit_ledger = pg_commit_ledger,
        .version = pg_version,
        .catalog_version = pg_catalog_version,
        .group_put = pg_group_put,
        .group_get = pg_group_get,
        .group_list = pg_group_list,
        .dataset_put = pg_dataset_put,
        .dataset_purge = pg_dataset_purge,
        .dataset_derived_put = pg_dataset_derived_put,
        .dataset_get = pg_dataset_get,
        .resource_dataset = pg_resource_dataset,
        .dataset_names = pg_dataset_names,
        .dataset_search = pg_dataset_search,
        .tag_list = pg_tag_list,
        .group_dataset_count = pg_group_dataset_count,
        .user_put = pg_user_put,
        .user_get = pg_user_get,
        .user_list = pg_user_list,
        .token_put = pg_token_put,
        .token_user = pg_token_user,
        .token_revoke = pg_token_revoke,
        .member_set = pg_member_set,
        .member_get = pg_member_get,
        .member_orgs = pg_member_orgs,
        .ledger_stage = pg_ledger_stage,
        .ledger_count = pg_ledger_count,
        .ledger_leaves = pg_ledger_leaves,
        .ledger_entries = pg_ledger_entries,
        .ledger_find_leaf = pg_ledger_find_leaf,
        .ledger_tile_get = pg_ledger_tile_get,
        .ledger_tile_put = pg_ledger_tile_put,
        .ledger_checkpoint_put = pg_ledger_checkpoint_put,
        .ledger_checkpoint_get = pg_ledger_checkpoint_get,
        .open_readonly = pg_open_readonly,
        .ledger_checkpoints = pg_ledger_checkpoints,
        .sequencer_lead = pg_sequencer_lead,
        .read_replica_set = pg_read_replica_set,
        .role_set = pg_role_set,
        .roles_of = pg_roles_of,
        .role_list = pg_role_list,
        .grant_put = pg_grant_put,
        .grant_get = pg_grant_get,
        .grant_list = pg_grant_list,
        .user_password_get = pg_user_password_get,
        .user_password_set = pg_user_password_set,
        .session_put = pg_session_put,
        .session_get = pg_session_get,
        .session_delete = pg_session_delete,
        .token_list = pg_token_list,
        .user_state_set = pg_user_state_set,
        .views_add = pg_views_add,
        .views_top = pg_views_top,
        .ds = &pg_ds_backend,
        .audit = &pg_audit_backend,
};
