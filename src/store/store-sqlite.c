/*
 * store-sqlite.c - the SQLite backend (the default store): schema, migrations,
 * connections, and every query. See docs/internals/store.md.
 *
 * Connections: one writer connection, used only by the thread that holds write_lock
 * (from store_begin to commit/rollback, BEGIN IMMEDIATE so that other processes wait
 * at begin, not at commit); one reader connection per thread, opened on the thread's
 * first read and closed by the pthread key's destructor when the thread exits, or by
 * store_free. Reads on the thread holding the write transaction go through the writer,
 * so they see its uncommitted changes. Each connection caches its prepared statements:
 * the fixed ones by enum, the generated search statements in a small LRU keyed by SQL.
 *
 * All values are bound; generated SQL only ever contains text from this file.
 */
#include <sqlite3.h>
#include <stdatomic.h>

#include "core/buf.h"
#include "core/limits.h"
#include "core/log.h"
#include "store/store-int.h"
#include "core/util.h"

#define BUSY_TIMEOUT_MS 5000
#define DYN_STMTS       32

/* ---- Schema ----------------------------------------------------------------------------
 * migrations[i] brings a database from schema version i to i + 1, in one transaction.
 * Append new steps; never edit a released one. */
static const char *const migrations[] = {
        /* 1: catalog, users, tokens, memberships (issue 2). */
        "CREATE TABLE meta (\n"
        "    key TEXT PRIMARY KEY,\n"
        "    value INTEGER NOT NULL\n"
        ") WITHOUT ROWID;\n"
        "INSERT INTO meta (key, value) VALUES ('version', 1);\n"
        "CREATE TABLE groups (\n"
        "    id TEXT PRIMARY KEY,\n"
        "    name TEXT NOT NULL,\n"
        "    is_organization INTEGER NOT NULL,\n"
        "    state TEXT NOT NULL,\n"
        "    doc TEXT NOT NULL,\n"
        "    UNIQUE (is_organization, name)\n"
        ");\n"
        "CREATE TABLE datasets (\n"
        "    rid INTEGER PRIMARY KEY,\n"
        "    id TEXT NOT NULL UNIQUE,\n"
        "    name TEXT NOT NULL UNIQUE,\n"
        "    owner_org TEXT,\n"
        "    state TEXT NOT NULL,\n"
        "    private INTEGER NOT NULL,\n"
        "    title TEXT NOT NULL,\n"
        "    metadata_created TEXT NOT NULL,\n"
        "    metadata_modified TEXT NOT NULL,\n"
        "    doc TEXT NOT NULL\n"
        ");\n"
        "CREATE INDEX datasets_modified ON datasets (metadata_modified);\n"
        "CREATE INDEX datasets_created ON datasets (metadata_created);\n"
        "CREATE INDEX datasets_title ON datasets (title);\n"
        "CREATE INDEX datasets_owner_org ON datasets (owner_org, state, private);\n"
        /* What anonymous visitors see most: public active datasets, newest first. */
        "CREATE INDEX datasets_public_modified ON datasets (metadata_modified)\n"
        "    WHERE state = 'active' AND private = 0;\n"
        "CREATE INDEX datasets_public_name ON datasets (name)\n"
        "    WHERE state = 'active' AND private = 0;\n"
        "CREATE TABLE dataset_facets (\n"
        "    dataset_rid INTEGER NOT NULL REFERENCES datasets (rid) ON DELETE CASCADE,\n"
        "    field TEXT NOT NULL,\n"
        "    value TEXT NOT NULL,\n"
        "    PRIMARY KEY (dataset_rid, field, value)\n"
        ") WITHOUT ROWID;\n"
        "CREATE INDEX dataset_facets_value ON dataset_facets (field, value, dataset_rid);\n"
        "CREATE TABLE dataset_resources (\n"
        "    resource_id TEXT PRIMARY KEY,\n"
        "    dataset_rid INTEGER NOT NULL REFERENCES datasets (rid) ON DELETE CASCADE\n"
        ");\n"
        "CREATE INDEX dataset_resources_dataset ON dataset_resources (dataset_rid);\n"
        /* The catalog hands over space-separated tokens (ASCII words, CJK bigrams);
         * unicode61 keeps a run of letters of any script whole and splits at spaces. */
        "CREATE VIRTUAL TABLE dataset_fts USING fts5 (\n"
        "    title, tags, text, tokenize = 'unicode61 remove_diacritics 0'\n"
        ");\n"
        "CREATE TRIGGER datasets_fts_delete AFTER DELETE ON datasets BEGIN\n"
        "    DELETE FROM dataset_fts WHERE rowid = old.rid;\n"
        "END;\n"
        "CREATE TABLE users (\n"
        "    id TEXT PRIMARY KEY,\n"
        "    name TEXT NOT NULL UNIQUE,\n"
        "    fullname TEXT,\n"
        "    email TEXT,\n"
        "    sysadmin INTEGER NOT NULL,\n"
        "    state TEXT NOT NULL,\n"
        "    password_hash TEXT,\n"
        "    created TEXT\n"
        ");\n"
        "CREATE TABLE tokens (\n"
        "    id TEXT PRIMARY KEY,\n"
        "    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,\n"
        "    hash TEXT NOT NULL UNIQUE,\n"
        "    label TEXT,\n"
        "    created TEXT\n"
        ");\n"
        "CREATE INDEX tokens_user ON tokens (user_id);\n"
        "CREATE TABLE members (\n"
        "    group_id TEXT NOT NULL REFERENCES groups (id) ON DELETE CASCADE,\n"
        "    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,\n"
        "    capacity TEXT NOT NULL CHECK (capacity IN ('admin', 'editor', 'member')),\n"
        "    PRIMARY KEY (group_id, user_id)\n"
        ") WITHOUT ROWID;\n"
        "CREATE INDEX members_user ON members (user_id);\n",
};

_Static_assert(ARRAY_SIZE(migrations) == STORE_SCHEMA_VERSION,
               "one migration step per schema version");

/* ---- Fixed statements ------------------------------------------------------------------ */
enum stmt_id {
    ST_BEGIN_WRITE,
    ST_BEGIN_READ,
    ST_COMMIT,
    ST_ROLLBACK,
    ST_VERSION_GET,
    ST_VERSION_BUMP,
    ST_SCHEMA_GET,
    ST_GROUP_NAME_TAKEN,
    ST_GROUP_PUT,
    ST_GROUP_GET,
    ST_GROUP_NAMES,
    ST_GROUP_DOCS,
    ST_DATASET_NAME_TAKEN,
    ST_DATASET_PUT,
    ST_FACETS_DELETE,
    ST_FACET_INSERT,
    ST_FTS_DELETE,
    ST_FTS_INSERT,
    ST_RESOURCE_OWNER,
    ST_RESOURCES_DELETE,
    ST_RESOURCE_INSERT,
    ST_DATASET_PURGE,
    ST_DATASET_GET,
    ST_DOC_BY_RID,
    ST_TAG_LIST,
    ST_ORG_COUNT,
    ST_GROUP_COUNT,
    ST_USER_NAME_TAKEN,
    ST_USER_PUT,
    ST_USER_GET,
    ST_USER_LIST,
    ST_TOKEN_PUT,
    ST_TOKEN_USER,
    ST_TOKEN_REVOKE,
    ST_MEMBER_PUT,
    ST_MEMBER_DELETE,
    ST_MEMBER_GET,
    ST_MEMBER_ORGS,
    ST__COUNT
};

#define USER_COLUMNS "u.id, u.name, u.fullname, u.email, u.sysadmin, u.state, u.created"

static const char *const stmt_sql[ST__COUNT] = {
        [ST_BEGIN_WRITE] = "BEGIN IMMEDIATE",
        [ST_BEGIN_READ] = "BEGIN",
        [ST_COMMIT] = "COMMIT",
        [ST_ROLLBACK] = "ROLLBACK",
        [ST_VERSION_GET] = "SELECT value FROM meta WHERE key = 'version'",
        [ST_VERSION_BUMP] = "UPDATE meta SET value = value + 1 WHERE key = 'version'",
        [ST_SCHEMA_GET] = "SELECT version FROM schema_version",
        [ST_GROUP_NAME_TAKEN] =
                "SELECT 1 FROM groups WHERE is_organization = ?1 AND name = ?2 AND id <> ?3",
        [ST_GROUP_PUT] = "INSERT INTO groups (id, name, is_organization, state, doc)"
                         " VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT (id) DO UPDATE SET"
                         " name = excluded.name, is_organization = excluded.is_organization,"
                         " state = excluded.state, doc = excluded.doc",
        [ST_GROUP_GET] = "SELECT doc FROM groups WHERE is_organization = ?1"
                         " AND (id = ?2 OR name = ?2) ORDER BY id = ?2 DESC LIMIT 1",
        [ST_GROUP_NAMES] = "SELECT name FROM groups WHERE is_organization = ?1 AND state = 'active'"
                           " ORDER BY name LIMIT ?2 OFFSET ?3",
        [ST_GROUP_DOCS] = "SELECT doc FROM groups WHERE is_organization = ?1 AND state = 'active'"
                          " ORDER BY name LIMIT ?2 OFFSET ?3",
        [ST_DATASET_NAME_TAKEN] = "SELECT 1 FROM datasets WHERE name = ?1 AND id <> ?2",
        [ST_DATASET_PUT] =
                "INSERT INTO datasets (id, name, owner_org, state, private, title,"
                " metadata_created, metadata_modified, doc)"
                " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9) ON CONFLICT (id) DO UPDATE SET"
                " name = excluded.name, owner_org = excluded.owner_org, state = excluded.state,"
                " private = excluded.private, title = excluded.title,"
                " metadata_created = excluded.metadata_created,"
                " metadata_modified = excluded.metadata_modified, doc = excluded.doc"
                " RETURNING rid",
        [ST_FACETS_DELETE] = "DELETE FROM dataset_facets WHERE dataset_rid = ?1",
        [ST_FACET_INSERT] =
                "INSERT OR IGNORE INTO dataset_facets (dataset_rid, field, value) VALUES (?1, ?2, ?3)",
        [ST_FTS_DELETE] = "DELETE FROM dataset_fts WHERE rowid = ?1",
        [ST_FTS_INSERT] =
                "INSERT INTO dataset_fts (rowid, title, tags, text) VALUES (?1, ?2, ?3, ?4)",
        [ST_RESOURCE_OWNER] = "SELECT d.id, d.rid FROM dataset_resources r"
                              " JOIN datasets d ON d.rid = r.dataset_rid WHERE r.resource_id = ?1",
        [ST_RESOURCES_DELETE] = "DELETE FROM dataset_resources WHERE dataset_rid = ?1",
        [ST_RESOURCE_INSERT] =
                "INSERT OR IGNORE INTO dataset_resources (resource_id, dataset_rid) VALUES (?1, ?2)",
        [ST_DATASET_PURGE] = "DELETE FROM datasets WHERE id = ?1",
        [ST_DATASET_GET] =
                "SELECT doc FROM datasets WHERE id = ?1 OR name = ?1 ORDER BY id = ?1 DESC LIMIT 1",
        [ST_DOC_BY_RID] = "SELECT doc FROM datasets WHERE rid = ?1",
        [ST_TAG_LIST] = "SELECT DISTINCT f.value FROM dataset_facets f"
                        " JOIN datasets d ON d.rid = f.dataset_rid"
                        " WHERE f.field = 'tags' AND d.state = 'active' AND d.private = 0"
                        " AND (?1 IS NULL OR substr(f.value, 1, length(?1)) = ?1)"
                        " ORDER BY f.value",
        [ST_ORG_COUNT] = "SELECT count(*) FROM datasets"
                         " WHERE owner_org = ?1 AND state = 'active' AND private = 0",
        [ST_GROUP_COUNT] =
                "SELECT count(*) FROM dataset_facets f JOIN datasets d ON d.rid = f.dataset_rid"
                " WHERE f.field = 'groups' AND f.value IN"
                " (SELECT name FROM groups WHERE id = ?1 AND is_organization = 0 UNION SELECT ?1)"
                " AND d.state = 'active' AND d.private = 0",
        [ST_USER_NAME_TAKEN] = "SELECT 1 FROM users WHERE name = ?1 AND id <> ?2",
        [ST_USER_PUT] = "INSERT INTO users (id, name, fullname, email, sysadmin, state,"
                        " password_hash, created) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)"
                        " ON CONFLICT (id) DO UPDATE SET name = excluded.name,"
                        " fullname = excluded.fullname, email = excluded.email,"
                        " sysadmin = excluded.sysadmin, state = excluded.state,"
                        " password_hash = excluded.password_hash, created = excluded.created",
        [ST_USER_GET] = "SELECT " USER_COLUMNS " FROM users u WHERE u.id = ?1 OR u.name = ?1"
                        " ORDER BY u.id = ?1 DESC LIMIT 1",
        [ST_USER_LIST] = "SELECT " USER_COLUMNS " FROM users u ORDER BY u.name",
        [ST_TOKEN_PUT] = "INSERT INTO tokens (id, user_id, hash, label, created)"
                         " VALUES (?1, ?2, ?3, ?4, ?5)",
        [ST_TOKEN_USER] = "SELECT " USER_COLUMNS " FROM tokens t JOIN users u ON u.id = t.user_id"
                          " WHERE t.hash = ?1 AND u.state = 'active'",
        [ST_TOKEN_REVOKE] = "DELETE FROM tokens WHERE id = ?1",
        [ST_MEMBER_PUT] =
                "INSERT INTO members (group_id, user_id, capacity) VALUES (?1, ?2, ?3)"
                " ON CONFLICT (group_id, user_id) DO UPDATE SET capacity = excluded.capacity",
        [ST_MEMBER_DELETE] = "DELETE FROM members WHERE group_id = ?1 AND user_id = ?2",
        [ST_MEMBER_GET] = "SELECT capacity FROM members WHERE group_id = ?1 AND user_id = ?2",
        [ST_MEMBER_ORGS] = "SELECT m.group_id, m.capacity FROM members m"
                           " JOIN groups g ON g.id = m.group_id"
                           " WHERE m.user_id = ?1 AND g.is_organization = 1 AND g.state = 'active'"
                           " ORDER BY g.name",
};

/* ---- Connections ----------------------------------------------------------------------- */
struct dyn_stmt {
    char *sql;
    sqlite3_stmt *st;
    uint64_t used;
};

struct conn {
    sqlite3 *db;
    sqlite3_stmt *st[ST__COUNT];
    struct dyn_stmt dyn[DYN_STMTS];
    uint64_t tick;
};

struct sq;

/* A search's count and facets (not its page), keyed by the generated SQL and every bound
 * value, valid while the store version is the one it was computed at. */
#define SEARCH_CACHE 64
struct cached_search {
    char *key;
    uint64_t version;
    uint64_t used;
    size_t count;
    json_t *facets;
};

/* What one thread has in one store. */
struct thread_state {
    struct sq *owner;
    struct conn reader; /* db NULL until the thread's first read */
    bool writing;       /* this thread holds write_lock and an open transaction */
    struct thread_state *prev, *next;
};

struct sq {
    char *path;
    struct conn writer;
    pthread_mutex_t write_lock;
    pthread_key_t key;
    pthread_mutex_t threads_lock;
    struct thread_state *threads; /* every thread_state, for store_free */
    atomic_uint_fast64_t failed_versions;
    /* Counts and facets of recent searches, valid for one store version. */
    pthread_mutex_t cache_lock;
    struct cached_search cache[SEARCH_CACHE];
    uint64_t cache_tick;
};

static int db_error(sqlite3 *db, int rc, const char *what, struct err *err)
{
    log_error("store: sqlite: %s: %s (%d)", what, sqlite3_errmsg(db), rc);
    if ((rc & 0xff) == SQLITE_BUSY || (rc & 0xff) == SQLITE_LOCKED)
        return err_set(err, ERR_UNAVAILABLE, NULL, "database is busy while %s", what);
    return err_set(err, ERR_INTERNAL, NULL, "database failure while %s", what);
}

static void conn_close(struct conn *c)
{
    size_t i;

    if (!c->db)
        return;
    for (i = 0; i < ST__COUNT; i++)
        sqlite3_finalize(c->st[i]);
    for (i = 0; i < DYN_STMTS; i++) {
        sqlite3_finalize(c->dyn[i].st);
        free(c->dyn[i].sql);
    }
    if (sqlite3_close(c->db) != SQLITE_OK)
        log_error("store: sqlite: closing a connection: %s", sqlite3_errmsg(c->db));
    memset(c, 0, sizeof(*c));
}

static int conn_open(struct conn *c, const char *path, bool create, bool writer, struct err *err)
{
    int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX | (create ? SQLITE_OPEN_CREATE : 0);
    int rc;

    memset(c, 0, sizeof(*c));
    rc = sqlite3_open_v2(path, &c->db, flags, NULL);
    if (rc != SQLITE_OK) {
        log_error("store: sqlite: opening \"%s\": %s", path,
                  c->db ? sqlite3_errmsg(c->db) : sqlite3_errstr(rc));
        rc = err_set(err, ERR_INTERNAL, NULL, "cannot open database \"%s\"", path);
        goto out;
    }
    sqlite3_extended_result_codes(c->db, 1);
    sqlite3_busy_timeout(c->db, BUSY_TIMEOUT_MS);
    rc = sqlite3_exec(c->db,
                      writer ? "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL;"
                               " PRAGMA foreign_keys = ON;"
                             : "PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON;"
                               " PRAGMA query_only = ON;",
                      NULL, NULL, NULL);
    if (rc != SQLITE_OK) {
        log_error("store: sqlite: setting up \"%s\": %s", path, sqlite3_errmsg(c->db));
        if ((rc & 0xff) == SQLITE_NOTADB)
            rc = err_set(err, ERR_INTERNAL, NULL, "\"%s\" is not a database", path);
        else
            rc = db_error(c->db, rc, "opening the database", err);
        goto out;
    }
    rc = 0;
out:
    if (rc)
        conn_close(c);
    return rc;
}

/* The cached statement id on c, prepared on first use. */
static int stmt_get(struct conn *c, enum stmt_id id, sqlite3_stmt **st, struct err *err)
{
    int rc;

    if (!c->st[id]) {
        rc = sqlite3_prepare_v3(c->db, stmt_sql[id], -1, SQLITE_PREPARE_PERSISTENT, &c->st[id],
                                NULL);
        if (rc != SQLITE_OK)
            return db_error(c->db, rc, "preparing a statement", err);
    }
    *st = c->st[id];
    return 0;
}

/* A generated statement from c's small LRU cache, prepared when not there. */
static int stmt_dyn(struct conn *c, const char *sql, sqlite3_stmt **st, struct err *err)
{
    struct dyn_stmt *slot = &c->dyn[0];
    size_t i;
    int rc;

    c->tick++;
    for (i = 0; i < DYN_STMTS; i++) {
        if (c->dyn[i].sql && !strcmp(c->dyn[i].sql, sql)) {
            c->dyn[i].used = c->tick;
            *st = c->dyn[i].st;
            return 0;
        }
        if (c->dyn[i].used < slot->used)
            slot = &c->dyn[i];
    }
    sqlite3_finalize(slot->st);
    free(slot->sql);
    slot->st = NULL;
    slot->sql = NULL;
    slot->used = 0;
    rc = sqlite3_prepare_v3(c->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &slot->st, NULL);
    if (rc != SQLITE_OK)
        return db_error(c->db, rc, "preparing a search", err);
    slot->sql = xstrdup(sql);
    slot->used = c->tick;
    *st = slot->st;
    return 0;
}

/* Makes a statement ready for its next use and drops borrowed bindings. */
static void stmt_done(sqlite3_stmt *st)
{
    if (!st)
        return;
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
}

static void bind_text(sqlite3_stmt *st, int i, const char *s)
{
    if (s)
        sqlite3_bind_text(st, i, s, -1, SQLITE_STATIC);
    else
        sqlite3_bind_null(st, i);
}

/* Steps a statement that returns no row we need; resets it. */
static int exec_stmt(struct conn *c, sqlite3_stmt *st, const char *what, struct err *err)
{
    int rc = sqlite3_step(st);

    if (rc != SQLITE_DONE && rc != SQLITE_ROW)
        rc = db_error(c->db, rc, what, err);
    else
        rc = 0;
    stmt_done(st);
    return rc;
}

static int exec_fixed(struct conn *c, enum stmt_id id, const char *what, struct err *err)
{
    sqlite3_stmt *st = NULL;
    int rc = stmt_get(c, id, &st, err);

    return rc ? rc : exec_stmt(c, st, what, err);
}

/* ---- Threads --------------------------------------------------------------------------- */
static void thread_state_free(struct thread_state *t)
{
    conn_close(&t->reader);
    free(t);
}

static void thread_state_unlink(struct sq *q, struct thread_state *t)
{
    if (t->prev)
        t->prev->next = t->next;
    else
        q->threads = t->next;
    if (t->next)
        t->next->prev = t->prev;
}

/* pthread key destructor: the thread is exiting. */
static void thread_state_exit(void *p)
{
    struct thread_state *t = p;
    struct sq *q = t->owner;

    BUG_ON(t->writing); /* a thread exited inside a write transaction */
    pthread_mutex_lock(&q->threads_lock);
    thread_state_unlink(q, t);
    pthread_mutex_unlock(&q->threads_lock);
    thread_state_free(t);
}

static struct thread_state *thread_state_get(struct sq *q)
{
    struct thread_state *t = pthread_getspecific(q->key);

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

/* The connection this thread reads through. */
static int read_conn(struct store *s, struct conn **c, struct err *err)
{
    struct sq *q = s->be;
    struct thread_state *t = thread_state_get(q);
    int rc;

    if (t->writing) {
        *c = &q->writer;
        return 0;
    }
    if (!t->reader.db) {
        rc = conn_open(&t->reader, q->path, false, false, err);
        if (rc)
            return rc;
    }
    *c = &t->reader;
    return 0;
}

/* The writer connection; the calling thread must hold the write transaction. */
static struct conn *write_conn(struct store *s)
{
    struct sq *q = s->be;
    struct thread_state *t = pthread_getspecific(q->key);

    BUG_ON(!t || !t->writing); /* a store write outside store_begin/store_commit */
    return &q->writer;
}

/* A read snapshot for functions that run several statements (nothing to do on the
 * writer, which is inside its transaction already). */
static int read_begin(struct store *s, struct conn *c, struct err *err)
{
    return c == &((struct sq *)s->be)->writer
                   ? 0
                   : exec_fixed(c, ST_BEGIN_READ, "starting a read", err);
}

static void read_end(struct store *s, struct conn *c)
{
    if (c != &((struct sq *)s->be)->writer && !sqlite3_get_autocommit(c->db))
        exec_fixed(c, ST_COMMIT, "ending a read", NULL);
}

/* ---- Open, migrate, close -------------------------------------------------------------- */
static int schema_read(struct conn *c, int *version, struct err *err)
{
    sqlite3_stmt *st = NULL;
    int rc = stmt_get(c, ST_SCHEMA_GET, &st, err);

    if (rc)
        return rc;
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        *version = sqlite3_column_int(st, 0);
        rc = 0;
    } else if (rc == SQLITE_DONE) {
        rc = err_set(err, ERR_INTERNAL, NULL, "database has no schema version");
    } else {
        rc = db_error(c->db, rc, "reading the schema version", err);
    }
    stmt_done(st);
    return rc;
}

/* Applies pending migrations on the writer, each step in its own transaction. */
static int migrate(struct sq *q, struct err *err)
{
    struct conn *c = &q->writer;
    char *msg = NULL;
    char *bump = NULL;
    int version = 0;
    int rc;

    rc = sqlite3_exec(c->db,
                      "BEGIN IMMEDIATE;"
                      " CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL);"
                      " INSERT INTO schema_version (version)"
                      " SELECT 0 WHERE NOT EXISTS (SELECT 1 FROM schema_version);"
                      " COMMIT;",
                      NULL, NULL, NULL);
    if (rc != SQLITE_OK) {
        rc = db_error(c->db, rc, "creating the schema version table", err);
        goto out;
    }
    for (;;) {
        rc = exec_fixed(c, ST_BEGIN_WRITE, "starting a migration", err);
        if (rc)
            goto out;
        /* Read inside the transaction: another process may have migrated meanwhile. */
        rc = schema_read(c, &version, err);
        if (rc)
            goto out;
        if (version > STORE_SCHEMA_VERSION) {
            rc = err_set(err, ERR_INTERNAL, NULL,
                         "database \"%s\" has schema version %d, newer than this kaifang"
                         " supports (%d); upgrade kaifang",
                         q->path, version, STORE_SCHEMA_VERSION);
            goto out;
        }
        if (version < 0) {
            rc = err_set(err, ERR_INTERNAL, NULL, "database \"%s\" has a bad schema version %d",
                         q->path, version);
            goto out;
        }
        if (version == STORE_SCHEMA_VERSION)
            break;
        free(bump);
        bump = xstrfmt("UPDATE schema_version SET version = %d", version + 1);
        rc = sqlite3_exec(c->db, migrations[version], NULL, NULL, &msg);
        if (rc == SQLITE_OK)
            rc = sqlite3_exec(c->db, bump, NULL, NULL, &msg);
        if (rc == SQLITE_OK)
            rc = sqlite3_exec(c->db, "COMMIT", NULL, NULL, &msg);
        if (rc != SQLITE_OK) {
            log_error("store: sqlite: migration to schema version %d: %s", version + 1,
                      msg ? msg : sqlite3_errstr(rc));
            rc = err_set(err, ERR_INTERNAL, NULL,
                         "migrating database \"%s\" to schema version %d failed", q->path,
                         version + 1);
            goto out;
        }
        log_info("store: database \"%s\" migrated to schema version %d", q->path, version + 1);
    }
    rc = 0;
out:
    sqlite3_free(msg);
    free(bump);
    if (!sqlite3_get_autocommit(c->db))
        sqlite3_exec(c->db, "ROLLBACK", NULL, NULL, NULL);
    return rc;
}

static void sq_close(struct store *s)
{
    struct sq *q = s->be;
    struct thread_state *t, *next;

    if (!q)
        return;
    for (t = q->threads; t; t = next) {
        next = t->next;
        thread_state_free(t);
    }
    pthread_key_delete(q->key);
    conn_close(&q->writer);
    pthread_mutex_destroy(&q->write_lock);
    pthread_mutex_destroy(&q->threads_lock);
    for (size_t i = 0; i < SEARCH_CACHE; i++) {
        free(q->cache[i].key);
        json_decref(q->cache[i].facets);
    }
    pthread_mutex_destroy(&q->cache_lock);
    free(q->path);
    free(q);
    s->be = NULL;
}

static int sq_open(struct store *s, const char *path, bool create, struct err *err)
{
    struct sq *q = xcalloc(1, sizeof(*q));
    int rc;

    q->path = xstrdup(path);
    pthread_mutex_init(&q->write_lock, NULL);
    pthread_mutex_init(&q->threads_lock, NULL);
    pthread_mutex_init(&q->cache_lock, NULL);
    if (pthread_key_create(&q->key, thread_state_exit))
        die("cannot create a thread-specific data key");
    s->be = q;
    if (!create && access(path, F_OK)) {
        rc = err_set(err, ERR_NOT_FOUND, NULL, "database \"%s\" does not exist", path);
        goto out;
    }
    rc = conn_open(&q->writer, path, create, true, err);
    if (rc)
        goto out;
    rc = migrate(q, err);
out:
    if (rc)
        sq_close(s);
    return rc;
}

static int sq_schema_version(struct store *s, int *version, struct err *err)
{
    struct conn *c = NULL;
    int rc = read_conn(s, &c, err);

    return rc ? rc : schema_read(c, version, err);
}

/* ---- Transactions ---------------------------------------------------------------------- */
static int sq_begin(struct store *s, struct err *err)
{
    struct sq *q = s->be;
    struct thread_state *t = thread_state_get(q);
    int rc;

    BUG_ON(t->writing); /* store_begin inside a transaction on the same thread */
    pthread_mutex_lock(&q->write_lock);
    rc = exec_fixed(&q->writer, ST_BEGIN_WRITE, "starting a transaction", err);
    if (rc) {
        pthread_mutex_unlock(&q->write_lock);
        return rc;
    }
    t->writing = true;
    return 0;
}

static void end_write(struct sq *q, struct thread_state *t)
{
    if (!sqlite3_get_autocommit(q->writer.db))
        exec_fixed(&q->writer, ST_ROLLBACK, "rolling back", NULL);
    t->writing = false;
    pthread_mutex_unlock(&q->write_lock);
}

static int sq_commit(struct store *s, struct err *err)
{
    struct sq *q = s->be;
    struct thread_state *t = pthread_getspecific(q->key);
    int rc;

    BUG_ON(!t || !t->writing); /* store_commit without store_begin */
    /* The version counter is a row, so that writers in other processes bump it too. */
    rc = exec_fixed(&q->writer, ST_VERSION_BUMP, "committing", err);
    if (!rc)
        rc = exec_fixed(&q->writer, ST_COMMIT, "committing", err);
    end_write(q, t);
    return rc;
}

static void sq_rollback(struct store *s)
{
    struct sq *q = s->be;
    struct thread_state *t = pthread_getspecific(q->key);

    if (t && t->writing)
        end_write(q, t);
}

static int version_read(struct conn *c, uint64_t *v, struct err *err)
{
    sqlite3_stmt *st = NULL;
    int rc = stmt_get(c, ST_VERSION_GET, &st, err);

    if (rc)
        return rc;
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        *v = (uint64_t)sqlite3_column_int64(st, 0);
        rc = 0;
    } else {
        rc = db_error(c->db, rc, "reading the version", err);
    }
    stmt_done(st);
    return rc;
}

static uint64_t sq_version(struct store *s)
{
    struct sq *q = s->be;
    struct err err = ERR_INIT;
    struct conn *c = NULL;
    uint64_t v = 0;
    int rc;

    rc = read_conn(s, &c, &err);
    if (!rc)
        rc = version_read(c, &v, &err);
    /* On failure, a value never returned before, so that no cache trusts it. */
    if (rc)
        v = ((uint64_t)1 << 63) | (atomic_fetch_add(&q->failed_versions, 1) + 1);
    return v;
}

/* ---- Helpers for results --------------------------------------------------------------- */
static json_t *column_json(sqlite3_stmt *st, int col)
{
    const char *text = (const char *)sqlite3_column_text(st, col);
    json_error_t jerr;
    json_t *doc;

    if (!text)
        return NULL;
    doc = json_loadb(text, (size_t)sqlite3_column_bytes(st, col), JSON_ALLOW_NUL, &jerr);
    if (!doc)
        log_error("store: sqlite: a stored document is not JSON: %s", jerr.text);
    return doc;
}

static json_t *column_string(sqlite3_stmt *st, int col)
{
    const char *text = (const char *)sqlite3_column_text(st, col);

    return text ? json_stringn(text, (size_t)sqlite3_column_bytes(st, col)) : json_null();
}

static char *doc_text(const json_t *doc)
{
    return json_dumps(doc, JSON_COMPACT | JSON_ENCODE_ANY);
}

/* Steps a one-document lookup; -ERR_NOT_FOUND with the message given when no row. */
static int fetch_doc(struct conn *c, sqlite3_stmt *st, json_t **doc, const char *what,
                     struct err *err)
{
    int rc = sqlite3_step(st);

    if (rc == SQLITE_ROW) {
        *doc = column_json(st, 0);
        rc = *doc ? 0 : err_set(err, ERR_INTERNAL, NULL, "a stored %s is corrupt", what);
    } else if (rc == SQLITE_DONE) {
        rc = 1; /* caller reports not found */
    } else {
        rc = db_error(c->db, rc, what, err);
    }
    stmt_done(st);
    return rc;
}

/* Runs st (already bound) and collects column 0 of every row as docs or strings. */
static int fetch_list(struct conn *c, sqlite3_stmt *st, bool docs, json_t **list, const char *what,
                      struct err *err)
{
    json_t *arr = json_array();
    json_t *v;
    int rc;

    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        v = docs ? column_json(st, 0) : column_string(st, 0);
        if (!v) {
            rc = err_set(err, ERR_INTERNAL, NULL, "a stored %s is corrupt", what);
            goto out;
        }
        json_array_append_new(arr, v);
    }
    if (rc != SQLITE_DONE) {
        rc = db_error(c->db, rc, what, err);
        goto out;
    }
    rc = 0;
    *list = arr;
    arr = NULL;
out:
    stmt_done(st);
    json_decref(arr);
    return rc;
}

/* Is there a row? 1 yes, 0 no, or a negative error. */
static int exists(struct conn *c, sqlite3_stmt *st, const char *what, struct err *err)
{
    int rc = sqlite3_step(st);

    if (rc == SQLITE_ROW)
        rc = 1;
    else if (rc == SQLITE_DONE)
        rc = 0;
    else
        rc = db_error(c->db, rc, what, err);
    stmt_done(st);
    return rc;
}

static int64_t sql_limit(size_t limit)
{
    return limit == 0 || limit > INT64_MAX ? -1 : (int64_t)limit;
}

static int64_t sql_offset(size_t offset)
{
    return offset > INT64_MAX ? INT64_MAX : (int64_t)offset;
}

/* ---- Groups ---------------------------------------------------------------------------- */
static int sq_group_put(struct store *s, const struct store_group *g, struct err *err)
{
    struct conn *c = write_conn(s);
    const char *kind = g->is_organization ? "organization" : "group";
    sqlite3_stmt *st = NULL;
    char *doc = NULL;
    int rc;

    rc = stmt_get(c, ST_GROUP_NAME_TAKEN, &st, err);
    if (rc)
        goto out;
    sqlite3_bind_int(st, 1, g->is_organization);
    bind_text(st, 2, g->name);
    bind_text(st, 3, g->id);
    rc = exists(c, st, "checking a group name", err);
    if (rc > 0)
        rc = err_set(err, ERR_CONFLICT, "name", "%s name \"%s\" is already in use", kind, g->name);
    if (rc)
        goto out;
    doc = doc_text(g->doc);
    if (!doc) {
        rc = err_set(err, ERR_INTERNAL, NULL, "%s \"%s\" cannot be serialised", kind, g->name);
        goto out;
    }
    rc = stmt_get(c, ST_GROUP_PUT, &st, err);
    if (rc)
        goto out;
    bind_text(st, 1, g->id);
    bind_text(st, 2, g->name);
    sqlite3_bind_int(st, 3, g->is_organization);
    bind_text(st, 4, g->state);
    bind_text(st, 5, doc);
    rc = exec_stmt(c, st, "storing a group", err);
out:
    free(doc);
    return rc;
}

static int sq_group_get(struct store *s, bool is_organization, const char *id_or_name, json_t **doc,
                        struct err *err)
{
    sqlite3_stmt *st = NULL;
    struct conn *c = NULL;
    int rc;

    rc = read_conn(s, &c, err);
    if (!rc)
        rc = stmt_get(c, ST_GROUP_GET, &st, err);
    if (rc)
        return rc;
    sqlite3_bind_int(st, 1, is_organization);
    bind_text(st, 2, id_or_name);
    rc = fetch_doc(c, st, doc, "group", err);
    if (rc > 0)
        rc = err_set(err, ERR_NOT_FOUND, "id", "%s \"%s\" not found",
                     is_organization ? "organization" : "group", id_or_name);
    return rc;
}

static int sq_group_list(struct store *s, bool is_organization, bool all_fields, size_t offset,
                         size_t limit, json_t **list, struct err *err)
{
    sqlite3_stmt *st = NULL;
    struct conn *c = NULL;
    int rc;

    rc = read_conn(s, &c, err);
    if (!rc)
        rc = stmt_get(c, all_fields ? ST_GROUP_DOCS : ST_GROUP_NAMES, &st, err);
    if (rc)
        return rc;
    sqlite3_bind_int(st, 1, is_organization);
    sqlite3_bind_int64(st, 2, sql_limit(limit));
    sqlite3_bind_int64(st, 3, sql_offset(offset));
    return fetch_list(c, st, all_fields, list, "group", err);
}

/* ---- Datasets -------------------------------------------------------------------------- */

/* Checks that no other dataset holds one of d's resource ids. */
static int check_resources(struct conn *c, const struct store_dataset *d, struct err *err)
{
    sqlite3_stmt *st = NULL;
    size_t i;
    int rc;

    rc = stmt_get(c, ST_RESOURCE_OWNER, &st, err);
    for (i = 0; !rc && i < d->nresource_ids; i++) {
        bind_text(st, 1, d->resource_ids[i]);
        rc = sqlite3_step(st);
        if (rc == SQLITE_ROW) {
            const char *owner = (const char *)sqlite3_column_text(st, 0);

            rc = str_eq(owner, d->id)
                         ? 0
                         : err_set(err, ERR_CONFLICT, "id", "resource id \"%s\" is already in use",
                                   d->resource_ids[i]);
        } else if (rc == SQLITE_DONE) {
            rc = 0;
        } else {
            rc = db_error(c->db, rc, "checking a resource id", err);
        }
        stmt_done(st);
    }
    return rc;
}

static int sq_dataset_put(struct store *s, const struct store_dataset *d, struct err *err)
{
    struct conn *c = write_conn(s);
    sqlite3_stmt *st = NULL;
    sqlite3_int64 rid = 0;
    char *doc = NULL;
    size_t i;
    int rc;

    rc = stmt_get(c, ST_DATASET_NAME_TAKEN, &st, err);
    if (rc)
        goto out;
    bind_text(st, 1, d->name);
    bind_text(st, 2, d->id);
    rc = exists(c, st, "checking a dataset name", err);
    if (rc > 0)
        rc = err_set(err, ERR_CONFLICT, "name", "dataset name \"%s\" is already in use", d->name);
    if (rc)
        goto out;
    rc = check_resources(c, d, err);
    if (rc)
        goto out;
    doc = doc_text(d->doc);
    if (!doc) {
        rc = err_set(err, ERR_INTERNAL, NULL, "dataset \"%s\" cannot be serialised", d->name);
        goto out;
    }

    rc = stmt_get(c, ST_DATASET_PUT, &st, err);
    if (rc)
        goto out;
    bind_text(st, 1, d->id);
    bind_text(st, 2, d->name);
    bind_text(st, 3, d->owner_org);
    bind_text(st, 4, d->state);
    sqlite3_bind_int(st, 5, d->is_private);
    bind_text(st, 6, d->title ? d->title : "");
    bind_text(st, 7, d->metadata_created ? d->metadata_created : "");
    bind_text(st, 8, d->metadata_modified ? d->metadata_modified : "");
    bind_text(st, 9, doc);
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        rid = sqlite3_column_int64(st, 0);
        rc = 0;
    } else {
        rc = db_error(c->db, rc, "storing a dataset", err);
    }
    stmt_done(st);
    if (rc)
        goto out;

    /* Index rows are replaced wholesale. */
    rc = stmt_get(c, ST_FACETS_DELETE, &st, err);
    if (!rc) {
        sqlite3_bind_int64(st, 1, rid);
        rc = exec_stmt(c, st, "storing dataset facets", err);
    }
    if (!rc)
        rc = stmt_get(c, ST_FACET_INSERT, &st, err);
    for (i = 0; !rc && i < d->nfacets; i++) {
        BUG_ON(!d->facets[i].field || !d->facets[i].value);
        sqlite3_bind_int64(st, 1, rid);
        bind_text(st, 2, d->facets[i].field);
        bind_text(st, 3, d->facets[i].value);
        rc = exec_stmt(c, st, "storing dataset facets", err);
    }
    if (!rc)
        rc = stmt_get(c, ST_FTS_DELETE, &st, err);
    if (!rc) {
        sqlite3_bind_int64(st, 1, rid);
        rc = exec_stmt(c, st, "indexing a dataset", err);
    }
    if (!rc)
        rc = stmt_get(c, ST_FTS_INSERT, &st, err);
    if (!rc) {
        sqlite3_bind_int64(st, 1, rid);
        bind_text(st, 2, d->fts_title ? d->fts_title : "");
        bind_text(st, 3, d->fts_tags ? d->fts_tags : "");
        bind_text(st, 4, d->fts_text ? d->fts_text : "");
        rc = exec_stmt(c, st, "indexing a dataset", err);
    }
    if (!rc)
        rc = stmt_get(c, ST_RESOURCES_DELETE, &st, err);
    if (!rc) {
        sqlite3_bind_int64(st, 1, rid);
        rc = exec_stmt(c, st, "storing dataset resources", err);
    }
    if (!rc)
        rc = stmt_get(c, ST_RESOURCE_INSERT, &st, err);
    for (i = 0; !rc && i < d->nresource_ids; i++) {
        BUG_ON(!d->resource_ids[i]);
        bind_text(st, 1, d->resource_ids[i]);
        sqlite3_bind_int64(st, 2, rid);
        rc = exec_stmt(c, st, "storing dataset resources", err);
    }
out:
    free(doc);
    return rc;
}

static int sq_dataset_purge(struct store *s, const char *id, struct err *err)
{
    struct conn *c = write_conn(s);
    sqlite3_stmt *st = NULL;
    int rc;

    rc = stmt_get(c, ST_DATASET_PURGE, &st, err);
    if (rc)
        return rc;
    bind_text(st, 1, id);
    rc = exec_stmt(c, st, "purging a dataset", err);
    if (!rc && sqlite3_changes(c->db) == 0)
        rc = err_set(err, ERR_NOT_FOUND, "id", "dataset \"%s\" not found", id);
    return rc;
}

static int sq_dataset_get(struct store *s, const char *id_or_name, json_t **doc, struct err *err)
{
    sqlite3_stmt *st = NULL;
    struct conn *c = NULL;
    int rc;

    rc = read_conn(s, &c, err);
    if (!rc)
        rc = stmt_get(c, ST_DATASET_GET, &st, err);
    if (rc)
        return rc;
    bind_text(st, 1, id_or_name);
    rc = fetch_doc(c, st, doc, "dataset", err);
    if (rc > 0)
        rc = err_set(err, ERR_NOT_FOUND, "id", "dataset \"%s\" not found", id_or_name);
    return rc;
}

static int sq_resource_dataset(struct store *s, const char *resource_id, char *dataset_id,
                               size_t size, struct err *err)
{
    sqlite3_stmt *st = NULL;
    struct conn *c = NULL;
    const char *id;
    int rc;

    rc = read_conn(s, &c, err);
    if (!rc)
        rc = stmt_get(c, ST_RESOURCE_OWNER, &st, err);
    if (rc)
        return rc;
    bind_text(st, 1, resource_id);
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        id = (const char *)sqlite3_column_text(st, 0);
        if (id && strlen(id) < size) {
            memcpy(dataset_id, id, strlen(id) + 1);
            rc = 0;
        } else {
            rc = err_set(err, ERR_INTERNAL, NULL, "dataset id of resource \"%s\" is too long",
                         resource_id);
        }
    } else if (rc == SQLITE_DONE) {
        rc = err_set(err, ERR_NOT_FOUND, "id", "resource \"%s\" not found", resource_id);
    } else {
        rc = db_error(c->db, rc, "looking up a resource", err);
    }
    stmt_done(st);
    return rc;
}

/* ---- Generated statements (search, lists with visibility) ------------------------------ */
struct bind_value {
    bool is_int;
    const char *text; /* borrowed: must outlive the statement's use */
    int64_t i;
};

struct sql_gen {
    struct buf sql;
    struct bind_value *v;
    size_t nv, alloc;
};

static void gen_init(struct sql_gen *g)
{
    memset(g, 0, sizeof(*g));
    buf_init(&g->sql, 0);
}

static void gen_release(struct sql_gen *g)
{
    buf_release(&g->sql);
    free(g->v);
    memset(g, 0, sizeof(*g));
}

/* Appends "?" bound to text. */
static void gen_text(struct sql_gen *g, const char *text)
{
    ALLOC_GROW(g->v, g->nv + 1, g->alloc);
    g->v[g->nv++] = (struct bind_value){false, text, 0};
    buf_addch(&g->sql, '?');
}

static void gen_int(struct sql_gen *g, int64_t i)
{
    ALLOC_GROW(g->v, g->nv + 1, g->alloc);
    g->v[g->nv++] = (struct bind_value){true, NULL, i};
    buf_addch(&g->sql, '?');
}

static void gen_bind(const struct sql_gen *g, sqlite3_stmt *st)
{
    size_t i;

    for (i = 0; i < g->nv; i++) {
        if (g->v[i].is_int)
            sqlite3_bind_int64(st, (int)i + 1, g->v[i].i);
        else
            bind_text(st, (int)i + 1, g->v[i].text);
    }
}

static int gen_prepare(struct conn *c, struct sql_gen *g, sqlite3_stmt **st, struct err *err)
{
    int rc;

    if (buf_failed(&g->sql))
        return err_set(err, ERR_INTERNAL, NULL, "a generated query is too long");
    rc = stmt_dyn(c, g->sql.buf, st, err);
    if (!rc)
        gen_bind(g, *st);
    return rc;
}

/* A JSON array of strings, as text for json_each(); free() it. */
static char *json_strings(const char *const *v, size_t n)
{
    json_t *arr = json_array();
    char *text;
    size_t i;

    for (i = 0; i < n; i++)
        json_array_append_new(arr, json_string(v[i] ? v[i] : ""));
    text = json_dumps(arr, JSON_COMPACT);
    json_decref(arr);
    if (!text)
        die("out of memory encoding a JSON array");
    return text;
}

/*
 * Appends the visibility condition on d. The shape is chosen by the flags (not by the
 * values), so that the common anonymous case is the literal condition of the partial
 * indexes datasets_public_*. orgs: JSON array text of vis->org_ids.
 */
static void gen_visibility(struct sql_gen *g, const struct store_visibility *vis, const char *orgs)
{
    if (vis->all) {
        buf_addstr(&g->sql,
                   vis->include_drafts ? "d.state IN ('active', 'draft')" : "d.state = 'active'");
        return;
    }
    if (!vis->norg_ids) {
        buf_addstr(&g->sql, "d.state = 'active' AND d.private = 0");
        return;
    }
    buf_addstr(&g->sql, "((d.state = 'active' AND (d.private = 0 OR d.owner_org IN"
                        " (SELECT value FROM json_each(");
    gen_text(g, orgs);
    buf_addstr(&g->sql, "))))");
    if (vis->include_drafts) {
        buf_addstr(&g->sql,
                   " OR (d.state = 'draft' AND d.owner_org IN (SELECT value FROM json_each(");
        gen_text(g, orgs);
        buf_addstr(&g->sql, ")))");
    }
    buf_addch(&g->sql, ')');
}

static int sq_dataset_names(struct store *s, const struct store_visibility *vis, size_t offset,
                            size_t limit, json_t **names, struct err *err)
{
    char *orgs = json_strings(vis->org_ids, vis->norg_ids);
    sqlite3_stmt *st = NULL;
    struct conn *c = NULL;
    struct sql_gen g;
    int rc;

    gen_init(&g);
    buf_addstr(&g.sql, "SELECT d.name FROM datasets d WHERE ");
    gen_visibility(&g, vis, orgs);
    buf_addstr(&g.sql, " ORDER BY d.name LIMIT ");
    gen_int(&g, sql_limit(limit));
    buf_addstr(&g.sql, " OFFSET ");
    gen_int(&g, sql_offset(offset));
    rc = read_conn(s, &c, err);
    if (!rc)
        rc = gen_prepare(c, &g, &st, err);
    if (!rc)
        rc = fetch_list(c, st, false, names, "dataset name", err);
    gen_release(&g);
    free(orgs);
    return rc;
}

/*
 * The FTS5 query for the terms: each term a quoted FTS5 string (double quotes doubled),
 * separated by spaces, which FTS5 reads as AND. Nothing a user typed becomes syntax.
 */
static char *match_expr(const char *const *terms, size_t n)
{
    struct buf b = BUF_INIT;
    const char *p;
    size_t i;

    for (i = 0; i < n; i++) {
        if (i)
            buf_addch(&b, ' ');
        buf_addch(&b, '"');
        for (p = terms[i]; p && *p; p++) {
            if (*p == '"')
                buf_addch(&b, '"');
            buf_addch(&b, *p);
        }
        buf_addch(&b, '"');
    }
    return buf_detach(&b, NULL);
}

/*
 * FROM and WHERE of a search: the matching datasets as d. Positive filters are written
 * "d.rid IN (…)" so that SQLite drives the query from the (field, value) index, which
 * is best for counts and small sets; with by_order they are written "EXISTS (…)"
 * instead, so that SQLite walks the sort index and probes each row, which finds a page
 * of a large set after a few rows instead of sorting all of it.
 */
static void gen_search_from(struct sql_gen *g, const struct store_search *q, const char *match,
                            const char *orgs, bool by_order)
{
    size_t i;

    if (q->nterms) {
        /* CROSS JOIN keeps FTS5 the outer loop: without statistics SQLite would
         * otherwise scan datasets and run the MATCH once per row. */
        buf_addstr(&g->sql, " FROM dataset_fts CROSS JOIN datasets d ON d.rid = dataset_fts.rowid"
                            " WHERE dataset_fts MATCH ");
        gen_text(g, match);
        buf_addstr(&g->sql, " AND (");
    } else {
        buf_addstr(&g->sql, " FROM datasets d WHERE (");
    }
    gen_visibility(g, &q->vis, orgs);
    buf_addch(&g->sql, ')');
    for (i = 0; i < q->nfilters; i++) {
        if (q->negate && q->negate[i])
            buf_addstr(&g->sql, " AND NOT EXISTS (SELECT 1 FROM dataset_facets f"
                                " WHERE f.dataset_rid = d.rid AND f.field = ");
        else if (by_order)
            buf_addstr(&g->sql, " AND EXISTS (SELECT 1 FROM dataset_facets f"
                                " WHERE f.dataset_rid = d.rid AND f.field = ");
        else
            buf_addstr(&g->sql, " AND d.rid IN (SELECT f.dataset_rid FROM dataset_facets f"
                                " WHERE f.field = ");
        gen_text(g, q->filters[i].field);
        buf_addstr(&g->sql, " AND f.value = ");
        gen_text(g, q->filters[i].value);
        buf_addch(&g->sql, ')');
    }
}

static void gen_order(struct sql_gen *g, const struct store_search *q)
{
    const char *dir = q->descending ? "DESC" : "ASC";

    switch (q->sort) {
    case STORE_SORT_SCORE:
        /* bm25() is lower for better matches. */
        if (q->nterms)
            buf_addf(&g->sql, " ORDER BY bm25(dataset_fts, 10.0, 5.0, 1.0) %s,",
                     q->descending ? "ASC" : "DESC");
        else
            buf_addstr(&g->sql, " ORDER BY");
        buf_addstr(&g->sql, " d.metadata_modified DESC, d.rid DESC");
        break;
    case STORE_SORT_MODIFIED:
        buf_addf(&g->sql, " ORDER BY d.metadata_modified %s, d.rid %s", dir, dir);
        break;
    case STORE_SORT_CREATED:
        buf_addf(&g->sql, " ORDER BY d.metadata_created %s, d.rid %s", dir, dir);
        break;
    case STORE_SORT_NAME:
        buf_addf(&g->sql, " ORDER BY d.name %s", dir);
        break;
    case STORE_SORT_TITLE:
        buf_addf(&g->sql, " ORDER BY d.title %s, d.rid %s", dir, dir);
        break;
    }
}

static int search_count(struct conn *c, const struct store_search *q, const char *match,
                        const char *orgs, size_t *count, struct err *err)
{
    sqlite3_stmt *st = NULL;
    struct sql_gen g;
    int rc;

    gen_init(&g);
    buf_addstr(&g.sql, "SELECT count(*)");
    gen_search_from(&g, q, match, orgs, false);
    rc = gen_prepare(c, &g, &st, err);
    if (rc)
        goto out;
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        *count = (size_t)sqlite3_column_int64(st, 0);
        rc = 0;
    } else {
        rc = db_error(c->db, rc, "counting search results", err);
    }
    stmt_done(st);
out:
    gen_release(&g);
    return rc;
}

static int search_docs(struct conn *c, const struct store_search *q, const char *match,
                       const char *orgs, size_t count, json_t **docs, struct err *err)
{
    /* A page near the front of a large filtered set: walk the sort index (see
     * gen_search_from). Expected rows probed: (start + rows) * all / count. */
    bool by_order = !q->nterms && q->nfilters && q->sort != STORE_SORT_SCORE && count >= 1000 &&
                    q->start + q->rows <= count / 2;
    json_t *arr = json_array();
    sqlite3_int64 *rids = NULL;
    size_t n = 0, alloc = 0, i;
    sqlite3_stmt *st = NULL;
    struct sql_gen g;
    json_t *doc;
    int rc = 0;

    gen_init(&g);
    if (!q->rows)
        goto done;
    /* Sort and page the row ids only, then load the page's documents: the sorter then
     * carries integers, not whole documents. */
    buf_addstr(&g.sql, "SELECT d.rid");
    gen_search_from(&g, q, match, orgs, by_order);
    gen_order(&g, q);
    buf_addstr(&g.sql, " LIMIT ");
    gen_int(&g, sql_limit(q->rows));
    buf_addstr(&g.sql, " OFFSET ");
    gen_int(&g, sql_offset(q->start));
    rc = gen_prepare(c, &g, &st, err);
    if (rc)
        goto out;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        ALLOC_GROW(rids, n + 1, alloc);
        rids[n++] = sqlite3_column_int64(st, 0);
    }
    rc = rc == SQLITE_DONE ? 0 : db_error(c->db, rc, "searching datasets", err);
    stmt_done(st);
    if (!rc)
        rc = stmt_get(c, ST_DOC_BY_RID, &st, err);
    for (i = 0; !rc && i < n; i++) {
        sqlite3_bind_int64(st, 1, rids[i]);
        doc = NULL;
        rc = fetch_doc(c, st, &doc, "dataset", err);
        if (rc > 0)
            rc = err_set(err, ERR_INTERNAL, NULL, "a dataset vanished during a search");
        if (!rc)
            json_array_append_new(arr, doc);
    }
    if (rc)
        goto out;
done:
    *docs = arr;
    arr = NULL;
out:
    gen_release(&g);
    free(rids);
    json_decref(arr);
    return rc;
}

/* The cache key of a search's count and facets: the generated WHERE and its values,
 * the facet fields and the limit. free() it. */
static char *search_key(const struct store_search *q, const char *match, const char *orgs)
{
    struct buf key = BUF_INIT;
    struct sql_gen g;
    size_t i;

    gen_init(&g);
    gen_search_from(&g, q, match, orgs, false);
    /* Values are length-prefixed, so no value can pass for another or for SQL. */
    buf_add(&key, g.sql.buf, g.sql.len);
    buf_addch(&key, '\n');
    for (i = 0; i < g.nv; i++) {
        if (g.v[i].is_int)
            buf_addf(&key, "i%" PRId64 ";", g.v[i].i);
        else
            buf_addf(&key, "t%zu:%s", strlen(g.v[i].text ? g.v[i].text : ""),
                     g.v[i].text ? g.v[i].text : "");
    }
    buf_addf(&key, "|%zu|", q->facet_limit);
    for (i = 0; i < q->nfacet_fields; i++)
        buf_addf(&key, "%zu:%s", strlen(q->facet_fields[i]), q->facet_fields[i]);
    gen_release(&g);
    return buf_detach(&key, NULL);
}

static bool cache_get(struct sq *sq, const char *key, uint64_t version,
                      struct store_search_result *res)
{
    bool hit = false;
    size_t i;

    pthread_mutex_lock(&sq->cache_lock);
    for (i = 0; i < SEARCH_CACHE; i++) {
        struct cached_search *e = &sq->cache[i];

        if (e->key && e->version == version && !strcmp(e->key, key)) {
            e->used = ++sq->cache_tick;
            res->count = e->count;
            /* A copy: callers may change what they get. */
            res->facets = json_deep_copy(e->facets);
            hit = true;
            break;
        }
    }
    pthread_mutex_unlock(&sq->cache_lock);
    return hit;
}

static void cache_put(struct sq *sq, char *key, uint64_t version,
                      const struct store_search_result *res)
{
    struct cached_search *slot = &sq->cache[0];
    size_t i;

    pthread_mutex_lock(&sq->cache_lock);
    for (i = 0; i < SEARCH_CACHE; i++) {
        struct cached_search *e = &sq->cache[i];

        if (e->key && !strcmp(e->key, key)) {
            slot = e;
            break;
        }
        if (!e->key || e->version != version) {
            slot = e; /* empty or stale: take it */
            break;
        }
        if (e->used < slot->used)
            slot = e;
    }
    free(slot->key);
    json_decref(slot->facets);
    slot->key = key;
    slot->version = version;
    slot->count = res->count;
    slot->facets = json_deep_copy(res->facets);
    slot->used = ++sq->cache_tick;
    pthread_mutex_unlock(&sq->cache_lock);
}

static int search_facets(struct conn *c, const struct store_search *q, const char *match,
                         const char *orgs, json_t **facets, struct err *err)
{
    json_t *out = json_object();
    char *fields = NULL;
    sqlite3_stmt *st = NULL;
    struct sql_gen g;
    const char *field;
    json_t *arr;
    size_t i;
    int rc = 0;

    gen_init(&g);
    for (i = 0; i < q->nfacet_fields; i++)
        json_object_set_new(out, q->facet_fields[i], json_array());
    if (!q->nfacet_fields || !q->facet_limit)
        goto done;
    fields = json_strings(q->facet_fields, q->nfacet_fields);
    /* Count facet rows of the matching set, the top facet_limit values of each field. */
    buf_addstr(&g.sql, "WITH m(rid) AS MATERIALIZED (SELECT d.rid");
    gen_search_from(&g, q, match, orgs, false);
    buf_addstr(&g.sql, ") SELECT field, value, c FROM (SELECT f.field AS field, f.value AS value,"
                       " count(*) AS c, row_number() OVER (PARTITION BY f.field"
                       " ORDER BY count(*) DESC, f.value) AS n"
                       " FROM m JOIN dataset_facets f ON f.dataset_rid = m.rid"
                       " WHERE f.field IN (SELECT value FROM json_each(");
    gen_text(&g, fields);
    buf_addstr(&g.sql, ")) GROUP BY f.field, f.value) WHERE n <= ");
    gen_int(&g, sql_limit(q->facet_limit));
    buf_addstr(&g.sql, " ORDER BY field, c DESC, value");
    rc = gen_prepare(c, &g, &st, err);
    if (rc)
        goto out;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        field = (const char *)sqlite3_column_text(st, 0);
        arr = field ? json_object_get(out, field) : NULL;
        if (!arr)
            continue;
        json_array_append_new(arr, json_pack("[o, I]", column_string(st, 1),
                                             (json_int_t)sqlite3_column_int64(st, 2)));
    }
    if (rc != SQLITE_DONE) {
        rc = db_error(c->db, rc, "counting facets", err);
        stmt_done(st);
        goto out;
    }
    rc = 0;
    stmt_done(st);
done:
    *facets = out;
    out = NULL;
out:
    gen_release(&g);
    free(fields);
    json_decref(out);
    return rc;
}

static int sq_dataset_search(struct store *s, const struct store_search *q,
                             struct store_search_result *res, struct err *err)
{
    struct sq *sq = s->be;
    char *orgs = json_strings(q->vis.org_ids, q->vis.norg_ids);
    char *match = match_expr(q->terms, q->nterms);
    char *key = NULL;
    struct conn *c = NULL;
    bool reading = false, cacheable;
    uint64_t version = 0;
    int rc;

    rc = read_conn(s, &c, err);
    if (rc)
        goto out;
    /* One snapshot for the version, the count, the page and the facets. Inside a write
     * transaction the version does not describe what we see: no cache there. */
    cacheable = c != &sq->writer;
    rc = read_begin(s, c, err);
    if (rc)
        goto out;
    reading = true;
    if (cacheable) {
        rc = version_read(c, &version, err);
        if (rc)
            goto out;
        key = search_key(q, match, orgs);
        if (cache_get(sq, key, version, res)) {
            rc = search_docs(c, q, match, orgs, res->count, &res->docs, err);
            goto out;
        }
    }
    rc = search_count(c, q, match, orgs, &res->count, err);
    if (!rc)
        rc = search_docs(c, q, match, orgs, res->count, &res->docs, err);
    if (!rc)
        rc = search_facets(c, q, match, orgs, &res->facets, err);
    if (!rc && key) {
        cache_put(sq, key, version, res);
        key = NULL;
    }
out:
    if (reading)
        read_end(s, c);
    if (rc)
        store_search_result_release(res);
    free(key);
    free(orgs);
    free(match);
    return rc;
}

/* ---- Tags and counts ------------------------------------------------------------------- */
static int sq_tag_list(struct store *s, const char *prefix, json_t **tags, struct err *err)
{
    sqlite3_stmt *st = NULL;
    struct conn *c = NULL;
    int rc;

    rc = read_conn(s, &c, err);
    if (!rc)
        rc = stmt_get(c, ST_TAG_LIST, &st, err);
    if (rc)
        return rc;
    bind_text(st, 1, prefix && *prefix ? prefix : NULL);
    return fetch_list(c, st, false, tags, "tag", err);
}

static int sq_group_dataset_count(struct store *s, bool is_organization, const char *group_id,
                                  size_t *count, struct err *err)
{
    sqlite3_stmt *st = NULL;
    struct conn *c = NULL;
    int rc;

    rc = read_conn(s, &c, err);
    if (!rc)
        rc = stmt_get(c, is_organization ? ST_ORG_COUNT : ST_GROUP_COUNT, &st, err);
    if (rc)
        return rc;
    bind_text(st, 1, group_id);
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        *count = (size_t)sqlite3_column_int64(st, 0);
        rc = 0;
    } else {
        rc = db_error(c->db, rc, "counting datasets", err);
    }
    stmt_done(st);
    return rc;
}

/* ---- Users, tokens, members ------------------------------------------------------------ */
static json_t *user_row(sqlite3_stmt *st)
{
    return json_pack("{s:o, s:o, s:o, s:o, s:b, s:o, s:o}", "id", column_string(st, 0), "name",
                     column_string(st, 1), "fullname", column_string(st, 2), "email",
                     column_string(st, 3), "sysadmin", sqlite3_column_int(st, 4), "state",
                     column_string(st, 5), "created", column_string(st, 6));
}

static int sq_user_put(struct store *s, const struct store_user *u, struct err *err)
{
    struct conn *c = write_conn(s);
    sqlite3_stmt *st = NULL;
    int rc;

    rc = stmt_get(c, ST_USER_NAME_TAKEN, &st, err);
    if (rc)
        return rc;
    bind_text(st, 1, u->name);
    bind_text(st, 2, u->id);
    rc = exists(c, st, "checking a user name", err);
    if (rc > 0)
        rc = err_set(err, ERR_CONFLICT, "name", "user name \"%s\" is already in use", u->name);
    if (rc)
        return rc;
    rc = stmt_get(c, ST_USER_PUT, &st, err);
    if (rc)
        return rc;
    bind_text(st, 1, u->id);
    bind_text(st, 2, u->name);
    bind_text(st, 3, u->fullname);
    bind_text(st, 4, u->email);
    sqlite3_bind_int(st, 5, u->sysadmin);
    bind_text(st, 6, u->state);
    bind_text(st, 7, u->password_hash);
    bind_text(st, 8, u->created);
    return exec_stmt(c, st, "storing a user", err);
}

/* Runs a user query bound by the caller: *user from the first row, 1 when none. */
static int fetch_user(struct conn *c, sqlite3_stmt *st, json_t **user, struct err *err)
{
    int rc = sqlite3_step(st);

    if (rc == SQLITE_ROW) {
        *user = user_row(st);
        rc = 0;
    } else if (rc == SQLITE_DONE) {
        rc = 1;
    } else {
        rc = db_error(c->db, rc, "looking up a user", err);
    }
    stmt_done(st);
    return rc;
}

static int sq_user_get(struct store *s, const char *id_or_name, json_t **user, struct err *err)
{
    sqlite3_stmt *st = NULL;
    struct conn *c = NULL;
    int rc;

    rc = read_conn(s, &c, err);
    if (!rc)
        rc = stmt_get(c, ST_USER_GET, &st, err);
    if (rc)
        return rc;
    bind_text(st, 1, id_or_name);
    rc = fetch_user(c, st, user, err);
    if (rc > 0)
        rc = err_set(err, ERR_NOT_FOUND, "id", "user \"%s\" not found", id_or_name);
    return rc;
}

static int sq_user_list(struct store *s, json_t **users, struct err *err)
{
    json_t *arr = json_array();
    sqlite3_stmt *st = NULL;
    struct conn *c = NULL;
    int rc;

    rc = read_conn(s, &c, err);
    if (!rc)
        rc = stmt_get(c, ST_USER_LIST, &st, err);
    if (rc)
        goto out;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW)
        json_array_append_new(arr, user_row(st));
    rc = rc == SQLITE_DONE ? 0 : db_error(c->db, rc, "listing users", err);
    stmt_done(st);
    if (!rc) {
        *users = arr;
        arr = NULL;
    }
out:
    json_decref(arr);
    return rc;
}

static int sq_token_put(struct store *s, const char *token_id, const char *user_id,
                        const char *token_hash, const char *label, const char *created,
                        struct err *err)
{
    struct conn *c = write_conn(s);
    sqlite3_stmt *st = NULL;
    int rc;

    rc = stmt_get(c, ST_TOKEN_PUT, &st, err);
    if (rc)
        return rc;
    bind_text(st, 1, token_id);
    bind_text(st, 2, user_id);
    bind_text(st, 3, token_hash);
    bind_text(st, 4, label);
    bind_text(st, 5, created);
    rc = sqlite3_step(st);
    if (rc == SQLITE_DONE)
        rc = 0;
    else if (rc == SQLITE_CONSTRAINT_FOREIGNKEY)
        rc = err_set(err, ERR_NOT_FOUND, "user_id", "user \"%s\" not found", user_id);
    else if (rc == SQLITE_CONSTRAINT_PRIMARYKEY || rc == SQLITE_CONSTRAINT_UNIQUE)
        rc = err_set(err, ERR_CONFLICT, "id", "token \"%s\" already exists", token_id);
    else
        rc = db_error(c->db, rc, "storing a token", err);
    stmt_done(st);
    return rc;
}

static int sq_token_user(struct store *s, const char *token_hash, json_t **user, struct err *err)
{
    sqlite3_stmt *st = NULL;
    struct conn *c = NULL;
    int rc;

    rc = read_conn(s, &c, err);
    if (!rc)
        rc = stmt_get(c, ST_TOKEN_USER, &st, err);
    if (rc)
        return rc;
    bind_text(st, 1, token_hash);
    rc = fetch_user(c, st, user, err);
    /* Never echo a token hash. */
    if (rc > 0)
        rc = err_set(err, ERR_NOT_FOUND, NULL, "token not found");
    return rc;
}

static int sq_token_revoke(struct store *s, const char *token_id, struct err *err)
{
    struct conn *c = write_conn(s);
    sqlite3_stmt *st = NULL;
    int rc;

    rc = stmt_get(c, ST_TOKEN_REVOKE, &st, err);
    if (rc)
        return rc;
    bind_text(st, 1, token_id);
    rc = exec_stmt(c, st, "revoking a token", err);
    if (!rc && sqlite3_changes(c->db) == 0)
        rc = err_set(err, ERR_NOT_FOUND, "id", "token \"%s\" not found", token_id);
    return rc;
}

static int sq_member_set(struct store *s, const char *group_id, const char *user_id,
                         const char *capacity, struct err *err)
{
    struct conn *c = write_conn(s);
    sqlite3_stmt *st = NULL;
    int rc;

    if (capacity && !str_eq(capacity, "admin") && !str_eq(capacity, "editor") &&
        !str_eq(capacity, "member"))
        return err_set(err, ERR_VALIDATION, "capacity",
                       "capacity \"%s\" is not one of admin, editor, member", capacity);
    rc = stmt_get(c, capacity ? ST_MEMBER_PUT : ST_MEMBER_DELETE, &st, err);
    if (rc)
        return rc;
    bind_text(st, 1, group_id);
    bind_text(st, 2, user_id);
    if (capacity)
        bind_text(st, 3, capacity);
    rc = sqlite3_step(st);
    if (rc == SQLITE_DONE)
        rc = 0;
    else if (rc == SQLITE_CONSTRAINT_FOREIGNKEY)
        rc = err_set(err, ERR_NOT_FOUND, NULL, "group \"%s\" or user \"%s\" not found", group_id,
                     user_id);
    else
        rc = db_error(c->db, rc, "storing a membership", err);
    stmt_done(st);
    return rc;
}

static int sq_member_get(struct store *s, const char *group_id, const char *user_id, char *out,
                         size_t size, struct err *err)
{
    sqlite3_stmt *st = NULL;
    struct conn *c = NULL;
    const char *cap;
    int rc;

    rc = read_conn(s, &c, err);
    if (!rc)
        rc = stmt_get(c, ST_MEMBER_GET, &st, err);
    if (rc)
        return rc;
    bind_text(st, 1, group_id);
    bind_text(st, 2, user_id);
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        cap = (const char *)sqlite3_column_text(st, 0);
        if (cap && strlen(cap) < size) {
            memcpy(out, cap, strlen(cap) + 1);
            rc = 0;
        } else {
            rc = err_set(err, ERR_INTERNAL, NULL, "capacity does not fit");
        }
    } else if (rc == SQLITE_DONE) {
        rc = err_set(err, ERR_NOT_FOUND, "user_id", "user \"%s\" is not a member of \"%s\"",
                     user_id, group_id);
    } else {
        rc = db_error(c->db, rc, "looking up a membership", err);
    }
    stmt_done(st);
    return rc;
}

static int sq_member_orgs(struct store *s, const char *user_id, json_t **orgs, struct err *err)
{
    json_t *arr = json_array();
    sqlite3_stmt *st = NULL;
    struct conn *c = NULL;
    int rc;

    rc = read_conn(s, &c, err);
    if (!rc)
        rc = stmt_get(c, ST_MEMBER_ORGS, &st, err);
    if (rc)
        goto out;
    bind_text(st, 1, user_id);
    while ((rc = sqlite3_step(st)) == SQLITE_ROW)
        json_array_append_new(arr, json_pack("{s:o, s:o}", "id", column_string(st, 0), "capacity",
                                             column_string(st, 1)));
    rc = rc == SQLITE_DONE ? 0 : db_error(c->db, rc, "listing memberships", err);
    stmt_done(st);
    if (!rc) {
        *orgs = arr;
        arr = NULL;
    }
out:
    json_decref(arr);
    return rc;
}

const struct store_backend store_sqlite_backend = {
        .name = "sqlite",
        .open = sq_open,
        .close = sq_close,
        .schema_version = sq_schema_version,
        .begin = sq_begin,
        .commit = sq_commit,
        .rollback = sq_rollback,
        .version = sq_version,
        .group_put = sq_group_put,
        .group_get = sq_group_get,
        .group_list = sq_group_list,
        .dataset_put = sq_dataset_put,
        .dataset_purge = sq_dataset_purge,
        .dataset_get = sq_dataset_get,
        .resource_dataset = sq_resource_dataset,
        .dataset_names = sq_dataset_names,
        .dataset_search = sq_dataset_search,
        .tag_list = sq_tag_list,
        .group_dataset_count = sq_group_dataset_count,
        .user_put = sq_user_put,
        .user_get = sq_user_get,
        .user_list = sq_user_list,
        .token_put = sq_token_put,
        .token_user = sq_token_user,
        .token_revoke = sq_token_revoke,
        .member_set = sq_member_set,
        .member_get = sq_member_get,
        .member_orgs = sq_member_orgs,
};
