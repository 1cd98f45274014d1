/*
 * store-sqlite.c - the SQLite backend (the default store): schema, migrations,
 * connections, transactions, and the queries on records (groups, datasets, users,
 * tokens, members). The search machinery is in store-sqlite-search.c; what the two
 * share is in store-sqlite-int.h. See docs/internals/store.md.
 *
 * Connections: one writer connection, used only by the thread that holds write_lock
 * (from store_begin to commit/rollback, BEGIN IMMEDIATE so that other processes wait
 * at begin, not at commit); one reader connection per thread, opened on the thread's
 * first read and closed by the pthread key's destructor when the thread exits, or by
 * store_free. Reads on the thread holding the write transaction go through the writer,
 * so they see its uncommitted changes. Each connection caches its prepared statements:
 * the fixed ones by enum, the generated search statements in a small LRU keyed by SQL.
 *
 * All values are bound; generated SQL only ever contains text from the backend's files.
 */
#include <sqlite3.h>
#include <stdatomic.h>

#include "core/buf.h"
#include "core/limits.h"
#include "core/log.h"
#include "store/store-sqlite-datastore-int.h"
#include "store/store-sqlite-int.h"
#include "core/util.h"

#define BUSY_TIMEOUT_MS 5000

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
        /* 2: what a full-text search reads of each match (visibility, the tie-break of
         * the score sort) in a narrow covering index, instead of a row holding the whole
         * document (docs/internals/store.md, "Search SQL"). */
        "CREATE INDEX datasets_brief ON datasets\n"
        "    (rid, state, private, owner_org, metadata_modified);\n",
        /* 3: the public ledger (issue 6; docs/internals/ledger.md, "Storage"). Entries
         * from staging on; tlog-tiles hash tiles of every level, each row the hashes the
         * tile holds so far (a partial tile grows in place); signed checkpoints, one per
         * integrated batch. The integrated size is the latest checkpoint's. */
        "CREATE TABLE ledger_entries (\n"
        "    idx INTEGER PRIMARY KEY,\n"
        "    entry BLOB NOT NULL,\n"
        "    leaf_hash BLOB NOT NULL\n"
        ");\n"
        "CREATE INDEX ledger_entries_leaf ON ledger_entries (leaf_hash);\n"
        "CREATE TABLE ledger_tiles (\n"
        "    level INTEGER NOT NULL,\n"
        "    idx INTEGER NOT NULL,\n"
        "    hashes BLOB NOT NULL,\n"
        "    PRIMARY KEY (level, idx)\n"
        ") WITHOUT ROWID;\n"
        "CREATE TABLE ledger_checkpoints (\n"
        "    size INTEGER PRIMARY KEY,\n"
        "    root BLOB NOT NULL,\n"
        "    note TEXT NOT NULL,\n"
        "    created TEXT NOT NULL\n"
        ");\n",
        /* 4: the datastore's ingest status of each resource (store_ds_status_put; the
         * tables themselves are files of their own: docs/internals/datastore.md,
         * "Storage"). */
        "CREATE TABLE datastore_status (\n"
        "    resource_id TEXT PRIMARY KEY,\n"
        "    status TEXT NOT NULL\n"
        ") WITHOUT ROWID;\n",
        /* 5: roles beside the organization capacities, and grants on restricted datasets
         * (issue 8; docs/internals/access.md). A portal-wide role has org_id ''. A
         * grant's whole record is its doc; the columns are what lookups need. */
        "CREATE TABLE roles (\n"
        "    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,\n"
        "    role TEXT NOT NULL CHECK (role IN ('approver', 'auditor', 'grantee')),\n"
        "    org_id TEXT NOT NULL,\n"
        "    PRIMARY KEY (user_id, role, org_id)\n"
        ") WITHOUT ROWID;\n"
        "CREATE TABLE grants (\n"
        "    id TEXT PRIMARY KEY,\n"
        "    dataset_id TEXT NOT NULL,\n"
        "    grantee_id TEXT NOT NULL,\n"
        "    state TEXT NOT NULL,\n"
        "    created TEXT NOT NULL,\n"
        "    doc TEXT NOT NULL\n"
        ");\n"
        "CREATE INDEX grants_dataset ON grants (dataset_id, created);\n"
        "CREATE INDEX grants_grantee ON grants (grantee_id, dataset_id);\n",
        /* 6: a text derived from each dataset by a module above the store, kept with it
         * (store_dataset.derived: the data.json entry, docs/internals/dcat.md, "Speed
         * and memory"), valid for readers naming the same key. Existing datasets start
         * without one; readers derive what is missing and store it back. */
        "CREATE TABLE dataset_derived (\n"
        "    dataset_rid INTEGER PRIMARY KEY REFERENCES datasets (rid) ON DELETE CASCADE,\n"
        "    key BLOB NOT NULL,\n"
        "    text BLOB NOT NULL\n"
        ");\n",
        /* 7: fee schedules and charges (issue 8; docs/internals/audit.md, "Storage").
         * Amounts are integers of fen; each charge names its ledger entry. */
        "CREATE TABLE fee_schedules (\n"
        "    id TEXT PRIMARY KEY,\n"
        "    name TEXT NOT NULL UNIQUE,\n"
        "    org_id TEXT NOT NULL,\n"
        "    state TEXT NOT NULL,\n"
        "    doc TEXT NOT NULL\n"
        ");\n"
        "CREATE INDEX fee_schedules_org ON fee_schedules (org_id, state);\n"
        "CREATE TABLE charges (\n"
        "    rid INTEGER PRIMARY KEY,\n"
        "    id TEXT NOT NULL UNIQUE,\n"
        "    org_id TEXT NOT NULL,\n"
        "    unit TEXT NOT NULL,\n"
        "    system TEXT NOT NULL,\n"
        "    payer TEXT NOT NULL,\n"
        "    date TEXT NOT NULL,\n"
        "    amount_fen INTEGER NOT NULL,\n"
        "    currency TEXT NOT NULL,\n"
        "    schedule TEXT,\n"
        "    source TEXT NOT NULL,\n"
        "    grant_id TEXT,\n"
        "    salt TEXT NOT NULL,\n"
        "    created TEXT NOT NULL,\n"
        "    ledger_idx INTEGER NOT NULL\n"
        ");\n"
        "CREATE INDEX charges_ledger ON charges (ledger_idx);\n",
        /* 8: the privacy report of each resource's last scanned table, with an override
         * when one was given (store_privacy_report_put; issue 5, the publish gate:
         * docs/internals/privacy-gate.md). */
        "CREATE TABLE privacy_reports (\n"
        "    resource_id TEXT PRIMARY KEY,\n"
        "    report TEXT NOT NULL\n"
        ") WITHOUT ROWID;\n",
        /* 9: web sessions (src/access/session.c; docs/internals/access.md, "Web
         * sessions"): the hash of the cookie's id, never the id; the CSRF token the
         * session's forms carry; the end in Unix seconds. */
        "CREATE TABLE sessions (\n"
        "    id_hash TEXT PRIMARY KEY,\n"
        "    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,\n"
        "    csrf TEXT NOT NULL,\n"
        "    expires INTEGER NOT NULL\n"
        ") WITHOUT ROWID;\n"
        "CREATE INDEX sessions_expires ON sessions (expires);\n",
        /* 10: each public dataset's total of page and package_show views, summed from
         * every server's counts (store_dataset_views_add; issue 4, the home page's
         * most-viewed datasets: docs/internals/web.md, "Views"). */
        "CREATE TABLE dataset_views (\n"
        "    dataset_id TEXT PRIMARY KEY,\n"
        "    views INTEGER NOT NULL\n"
        ") WITHOUT ROWID;\n"
        "CREATE INDEX dataset_views_top ON dataset_views (views, dataset_id);\n"
        "CREATE TRIGGER datasets_views_delete AFTER DELETE ON datasets BEGIN\n"
        "    DELETE FROM dataset_views WHERE dataset_id = old.id;\n"
        "END;\n",
        /* 11: store_catalog_version(), the counter that commits of ledger rows alone (a
         * restricted read's entry, an integration) leave unchanged, from the version. */
        "INSERT OR REPLACE INTO meta (key, value) SELECT 'catalog', value FROM meta"
        " WHERE key = 'version';\n",
        /* 12: the ledger entries the audit reads by type (grants, restricted reads and
         * refusals, privacy overrides, resource and dataset updates), indexed so that the
         * audit does not read the whole ledger (docs/internals/audit.md, "Storage"). */
        "CREATE INDEX ledger_entries_audit ON ledger_entries (idx) WHERE " SQ_LEDGER_AUDIT_WHERE
        ";\n",
        /* 13: the charge_record entries, so that the audit finds those whose charge row is
         * gone without reading the whole ledger (store_charge_entries_orphaned). */
        "CREATE INDEX ledger_entries_charges ON ledger_entries (idx) WHERE " SQ_LEDGER_CHARGE_WHERE
        ";\n",
        /* 14: each dataset's search summary (store_dataset.summary; issue 4, a results
         * page reads ~20 small rows instead of ~20 whole documents: docs/internals/web.md,
         * "Fresh renders"), in a table of its own so that its rows stay small. Existing
         * datasets get theirs here, made from the stored document by SQLite's JSON
         * functions with the keys catalog_dataset_summary() keeps (a key the document
         * lacks is null here, absent there: the pages read both alike). "->" keeps a
         * string's escapes as they are (SQLite 3.38). */
        "CREATE TABLE dataset_summaries (\n"
        "    dataset_rid INTEGER PRIMARY KEY REFERENCES datasets (rid) ON DELETE CASCADE,\n"
        "    summary TEXT NOT NULL\n"
        ");\n"
        "INSERT INTO dataset_summaries (dataset_rid, summary) SELECT rid, json_object("
        "'name', doc -> '$.name', 'title', doc -> '$.title',"
        " 'title_translated', CASE WHEN json_type(doc, '$.title_translated') = 'object'"
        " THEN json_object('zh_CN', doc -> '$.title_translated.zh_CN',"
        " 'zh', doc -> '$.title_translated.zh') ELSE doc -> '$.title_translated' END,"
        " 'organization', CASE WHEN json_type(doc, '$.organization') = 'object'"
        " THEN json_object('name', doc -> '$.organization.name',"
        " 'title', doc -> '$.organization.title') ELSE doc -> '$.organization' END,"
        " 'resources', json((SELECT json_group_array(CASE WHEN r.type = 'object'"
        " THEN json_object('format', r.value -> '$.format') ELSE json_object() END)"
        " FROM json_each(doc, '$.resources') r"
        " WHERE json_type(doc, '$.resources') = 'array'))) FROM datasets;\n",
};

_Static_assert(ARRAY_SIZE(migrations) == STORE_SCHEMA_VERSION,
               "one migration step per schema version");

/* ---- Fixed statements ------------------------------------------------------------------ */
#define USER_COLUMNS "u.id, u.name, u.fullname, u.email, u.sysadmin, u.state, u.created"

static const char *const stmt_sql[ST__COUNT] = {
        [ST_BEGIN_WRITE] = "BEGIN IMMEDIATE",
        [ST_BEGIN_READ] = "BEGIN",
        [ST_COMMIT] = "COMMIT",
        [ST_ROLLBACK] = "ROLLBACK",
        [ST_VERSION_GET] = "SELECT value FROM meta WHERE key = 'version'",
        /* Every commit moves 'version'; all but ledger-only ones move 'catalog' too. */
        [ST_VERSION_BUMP] = "UPDATE meta SET value = value + 1 WHERE key IN ('version', 'catalog')",
        [ST_CATALOG_VERSION_GET] = "SELECT value FROM meta WHERE key = 'catalog'",
        [ST_VERSION_BUMP_LEDGER] = "UPDATE meta SET value = value + 1 WHERE key = 'version'",
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
        /* A derived text by itself: its rows are small, so a page of entries is read
         * without touching the datasets' rows (~2 KiB each). */
        [ST_DERIVED_BY_RID] =
                "SELECT text FROM dataset_derived WHERE dataset_rid = ?1 AND key = ?2",
        [ST_DERIVED_PUT] = "INSERT OR REPLACE INTO dataset_derived (dataset_rid, key, text)"
                           " VALUES (?1, ?2, ?3)",
        [ST_DERIVED_DELETE] = "DELETE FROM dataset_derived WHERE dataset_rid = ?1",
        [ST_PRIVACY_GET] = "SELECT report FROM privacy_reports WHERE resource_id = ?1",
        [ST_DS_STATUS_GET] = "SELECT status FROM datastore_status WHERE resource_id = ?1",
        [ST_SUMMARY_BY_RID] = "SELECT summary FROM dataset_summaries WHERE dataset_rid = ?1",
        [ST_SUMMARY_PUT] = "INSERT OR REPLACE INTO dataset_summaries (dataset_rid, summary)"
                           " VALUES (?1, ?2)",
        [ST_SUMMARY_DELETE] = "DELETE FROM dataset_summaries WHERE dataset_rid = ?1",
        [ST_DERIVED_PUT_BY_ID] = "INSERT OR REPLACE INTO dataset_derived (dataset_rid, key, text)"
                                 " SELECT rid, ?2, ?3 FROM datasets WHERE id = ?1",
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
/* What one thread has in one store. */
struct thread_state {
    struct sq *owner;
    struct conn reader; /* db NULL until the thread's first read */
    bool writing;       /* this thread holds write_lock and an open transaction */
    struct thread_state *prev, *next;
};

int sq_db_error(sqlite3 *db, int rc, const char *what, struct err *err)
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

/* Opens c on path: the writer, a reader, or (q->readonly) a read-only reader. */
static int conn_open(struct conn *c, const struct sq *q, const char *path, bool create, bool writer,
                     struct err *err)
{
    int flags = (q->readonly ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE) | SQLITE_OPEN_NOMUTEX |
                (create ? SQLITE_OPEN_CREATE : 0);
    char *setup = NULL;
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
    /* A read-only store bounds its memory: a page cache of cache_kib and no map (a map
     * counts every page read in the process's RSS). */
    if (q->readonly)
        setup = xstrfmt("PRAGMA query_only = ON; PRAGMA mmap_size = 0; PRAGMA cache_size = -%zu;",
                        q->cache_kib);
    rc = sqlite3_exec(c->db,
                      setup    ? setup
                      : writer ? "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL;"
                                 " PRAGMA foreign_keys = ON;"
                               /* Readers do not map the file: a map counts every page
                                * a search touches in the server's RSS (1.2 GB on the
                                * 100,000-dataset bench, against a 100 MB budget), and
                                * it did not measurably speed up package_show. */
                               : "PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON;"
                                 " PRAGMA query_only = ON; PRAGMA mmap_size = 0;",
                      NULL, NULL, NULL);
    if (rc != SQLITE_OK) {
        log_error("store: sqlite: setting up \"%s\": %s", path, sqlite3_errmsg(c->db));
        if ((rc & 0xff) == SQLITE_NOTADB)
            rc = err_set(err, ERR_INTERNAL, NULL, "\"%s\" is not a database", path);
        else
            rc = sq_db_error(c->db, rc, "opening the database", err);
        goto out;
    }
    rc = 0;
out:
    free(setup);
    if (rc)
        conn_close(c);
    return rc;
}

/* The cached statement id on c, prepared on first use. */
int sq_stmt_get(struct conn *c, enum stmt_id id, sqlite3_stmt **st, struct err *err)
{
    int rc;

    if (!c->st[id]) {
        rc = sqlite3_prepare_v3(c->db, stmt_sql[id], -1, SQLITE_PREPARE_PERSISTENT, &c->st[id],
                                NULL);
        if (rc != SQLITE_OK)
            return sq_db_error(c->db, rc, "preparing a statement", err);
    }
    *st = c->st[id];
    return 0;
}

/* Steps a statement that returns no row we need; resets it. */
static int exec_stmt(struct conn *c, sqlite3_stmt *st, const char *what, struct err *err)
{
    int rc = sqlite3_step(st);

    if (rc != SQLITE_DONE && rc != SQLITE_ROW)
        rc = sq_db_error(c->db, rc, what, err);
    else
        rc = 0;
    stmt_done(st);
    return rc;
}

static int exec_fixed(struct conn *c, enum stmt_id id, const char *what, struct err *err)
{
    sqlite3_stmt *st = NULL;
    int rc = sq_stmt_get(c, id, &st, err);

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
int sq_read_conn(struct store *s, struct conn **c, struct err *err)
{
    struct sq *q = s->be;
    struct thread_state *t = thread_state_get(q);
    int rc;

    if (t->writing) {
        *c = &q->writer;
        return 0;
    }
    if (!t->reader.db) {
        rc = conn_open(&t->reader, q, q->path, false, false, err);
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

struct conn *sq_write_conn(struct store *s)
{
    return write_conn(s);
}

/* A read snapshot for functions that run several statements (nothing to do on the
 * writer, which is inside its transaction already). */
int sq_read_begin(struct store *s, struct conn *c, struct err *err)
{
    return c == &((struct sq *)s->be)->writer
                   ? 0
                   : exec_fixed(c, ST_BEGIN_READ, "starting a read", err);
}

void sq_read_end(struct store *s, struct conn *c)
{
    if (c != &((struct sq *)s->be)->writer && !sqlite3_get_autocommit(c->db))
        exec_fixed(c, ST_COMMIT, "ending a read", NULL);
}

/* ---- Open, migrate, close -------------------------------------------------------------- */
static int schema_read(struct conn *c, int *version, struct err *err)
{
    sqlite3_stmt *st = NULL;
    int rc = sq_stmt_get(c, ST_SCHEMA_GET, &st, err);

    if (rc)
        return rc;
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        *version = sqlite3_column_int(st, 0);
        rc = 0;
    } else if (rc == SQLITE_DONE) {
        rc = err_set(err, ERR_INTERNAL, NULL, "database has no schema version");
    } else {
        rc = sq_db_error(c->db, rc, "reading the schema version", err);
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
        rc = sq_db_error(c->db, rc, "creating the schema version table", err);
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
        free(q->cache[i].rids);
        json_decref(q->cache[i].facets);
    }
    for (size_t i = 0; i < SEARCH_RANKED; i++) {
        free(q->ranked[i].key);
        free(q->ranked[i].rids);
    }
    pthread_mutex_destroy(&q->cache_lock);
    free(q->path);
    free(q);
    s->be = NULL;
}

static struct sq *sq_new(struct store *s, const char *path)
{
    struct sq *q = xcalloc(1, sizeof(*q));

    q->path = xstrdup(path);
    pthread_mutex_init(&q->write_lock, NULL);
    pthread_mutex_init(&q->threads_lock, NULL);
    pthread_mutex_init(&q->cache_lock, NULL);
    if (pthread_key_create(&q->key, thread_state_exit))
        die("cannot create a thread-specific data key");
    s->be = q;
    return q;
}

/* store_open_readonly(): no writer, no migration; the schema must be the current one. */
static int sq_open_readonly(struct store *s, const char *path, size_t cache_kib, struct err *err)
{
    struct sq *q = sq_new(s, path);
    struct conn *c = NULL;
    int version = 0, rc;

    q->readonly = true;
    q->cache_kib = cache_kib;
    if (access(path, F_OK)) {
        rc = err_set(err, ERR_NOT_FOUND, NULL, "database \"%s\" does not exist", path);
        goto out;
    }
    rc = sq_read_conn(s, &c, err);
    if (!rc)
        rc = schema_read(c, &version, err);
    if (!rc && version != STORE_SCHEMA_VERSION)
        rc = err_set(err, ERR_VALIDATION, NULL,
                     "database \"%s\" is at schema version %d, not %d: a read-only open "
                     "cannot migrate it (any writing command does)",
                     path, version, STORE_SCHEMA_VERSION);
out:
    if (rc)
        sq_close(s);
    return rc;
}

static int sq_open(struct store *s, const char *path, bool create, struct err *err)
{
    struct sq *q = sq_new(s, path);
    int rc;

    if (!create && access(path, F_OK)) {
        rc = err_set(err, ERR_NOT_FOUND, NULL, "database \"%s\" does not exist", path);
        goto out;
    }
    rc = conn_open(&q->writer, q, path, create, true, err);
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
    int rc = sq_read_conn(s, &c, err);

    return rc ? rc : schema_read(c, version, err);
}

/* ---- Transactions ---------------------------------------------------------------------- */
static int sq_begin(struct store *s, struct err *err)
{
    struct sq *q = s->be;
    struct thread_state *t = thread_state_get(q);
    int rc;

    BUG_ON(t->writing); /* store_begin inside a transaction on the same thread */
    if (q->readonly)
        return err_set(err, ERR_INTERNAL, NULL, "database \"%s\" is open read-only", q->path);
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

static int commit_bumping(struct store *s, enum stmt_id bump, struct err *err)
{
    struct sq *q = s->be;
    struct thread_state *t = pthread_getspecific(q->key);
    int rc;

    BUG_ON(!t || !t->writing); /* store_commit without store_begin */
    /* The version counters are rows, so that writers in other processes bump them too. */
    rc = exec_fixed(&q->writer, bump, "committing", err);
    if (!rc)
        rc = exec_fixed(&q->writer, ST_COMMIT, "committing", err);
    end_write(q, t);
    return rc;
}

static int sq_commit(struct store *s, struct err *err)
{
    return commit_bumping(s, ST_VERSION_BUMP, err);
}

/* A transaction that wrote ledger rows only: store_catalog_version() stays. */
static int sq_commit_ledger(struct store *s, struct err *err)
{
    return commit_bumping(s, ST_VERSION_BUMP_LEDGER, err);
}

static void sq_rollback(struct store *s)
{
    struct sq *q = s->be;
    struct thread_state *t = pthread_getspecific(q->key);

    if (t && t->writing)
        end_write(q, t);
}

int sq_version_read(struct conn *c, uint64_t *v, struct err *err)
{
    sqlite3_stmt *st = NULL;
    int64_t n = 0;
    int rc = sq_stmt_get(c, ST_VERSION_GET, &st, err);

    if (!rc)
        rc = sq_fetch_int64(c, st, &n, "reading the version", err);
    if (!rc)
        *v = (uint64_t)n;
    return rc;
}

int sq_catalog_version_read(struct conn *c, uint64_t *v, struct err *err)
{
    sqlite3_stmt *st = NULL;
    int64_t n = 0;
    int rc = sq_stmt_get(c, ST_CATALOG_VERSION_GET, &st, err);

    if (!rc)
        rc = sq_fetch_int64(c, st, &n, "reading the catalog version", err);
    if (!rc)
        *v = (uint64_t)n;
    return rc;
}

static uint64_t version_of(struct store *s, bool catalog)
{
    struct sq *q = s->be;
    struct err err = ERR_INIT;
    struct conn *c = NULL;
    uint64_t v = 0;
    int rc;

    rc = sq_read_conn(s, &c, &err);
    if (!rc)
        rc = catalog ? sq_catalog_version_read(c, &v, &err) : sq_version_read(c, &v, &err);
    /* On failure, a value never returned before, so that no cache trusts it. */
    if (rc)
        v = ((uint64_t)1 << 63) | (atomic_fetch_add(&q->failed_versions, 1) + 1);
    return v;
}

static uint64_t sq_version(struct store *s)
{
    return version_of(s, false);
}

static uint64_t sq_catalog_version(struct store *s)
{
    return version_of(s, true);
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

json_t *sq_column_string(sqlite3_stmt *st, int col)
{
    const char *text = (const char *)sqlite3_column_text(st, col);

    return text ? json_stringn(text, (size_t)sqlite3_column_bytes(st, col)) : json_null();
}

static char *doc_text(const json_t *doc)
{
    return json_dumps(doc, JSON_COMPACT | JSON_ENCODE_ANY);
}

/* Steps a one-document lookup; 1 when no row (the caller reports what is missing). */
int sq_fetch_doc(struct conn *c, sqlite3_stmt *st, json_t **doc, const char *what, struct err *err)
{
    int rc = sqlite3_step(st);

    if (rc == SQLITE_ROW) {
        *doc = column_json(st, 0);
        rc = *doc ? 0 : err_set(err, ERR_INTERNAL, NULL, "a stored %s is corrupt", what);
    } else if (rc == SQLITE_DONE) {
        rc = 1; /* caller reports not found */
    } else {
        rc = sq_db_error(c->db, rc, what, err);
    }
    stmt_done(st);
    return rc;
}

int sq_fetch_int64(struct conn *c, sqlite3_stmt *st, int64_t *v, const char *what, struct err *err)
{
    int rc = sqlite3_step(st);

    if (rc == SQLITE_ROW) {
        *v = sqlite3_column_int64(st, 0);
        rc = 0;
    } else {
        rc = sq_db_error(c->db, rc, what, err);
    }
    stmt_done(st);
    return rc;
}

/*
 * Steps a lookup of one text column (st already bound) and copies the first row's text,
 * with its NUL, into out (size bytes); resets st. Returns 0, 1 when there is no row, 2
 * when the text is NULL or does not fit (out unchanged), or a negative error from
 * sq_db_error(what). The caller words the not-found and too-long errors.
 */
static int fetch_text(struct conn *c, sqlite3_stmt *st, char *out, size_t size, const char *what,
                      struct err *err)
{
    int rc = sqlite3_step(st);
    const char *text;

    if (rc == SQLITE_ROW) {
        text = (const char *)sqlite3_column_text(st, 0);
        if (text && strlen(text) < size) {
            memcpy(out, text, strlen(text) + 1);
            rc = 0;
        } else {
            rc = 2;
        }
    } else if (rc == SQLITE_DONE) {
        rc = 1;
    } else {
        rc = sq_db_error(c->db, rc, what, err);
    }
    stmt_done(st);
    return rc;
}

/* Steps st (already bound) to the end and collects row(st) of every row into *list, a new
 * JSON array; resets st. */
static int fetch_rows(struct conn *c, sqlite3_stmt *st, json_t *(*row)(sqlite3_stmt *st),
                      json_t **list, const char *what, struct err *err)
{
    json_t *arr = json_array();
    int rc;

    while ((rc = sqlite3_step(st)) == SQLITE_ROW)
        json_array_append_new(arr, row(st));
    rc = rc == SQLITE_DONE ? 0 : sq_db_error(c->db, rc, what, err);
    stmt_done(st);
    if (!rc) {
        *list = arr;
        arr = NULL;
    }
    json_decref(arr);
    return rc;
}

/* Runs st (already bound) and collects column 0 of every row as docs or strings. */
int sq_fetch_list(struct conn *c, sqlite3_stmt *st, bool docs, json_t **list, const char *what,
                  struct err *err)
{
    json_t *arr = json_array();
    json_t *v;
    int rc;

    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        v = docs ? column_json(st, 0) : sq_column_string(st, 0);
        if (!v) {
            rc = err_set(err, ERR_INTERNAL, NULL, "a stored %s is corrupt", what);
            goto out;
        }
        json_array_append_new(arr, v);
    }
    if (rc != SQLITE_DONE) {
        rc = sq_db_error(c->db, rc, what, err);
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
        rc = sq_db_error(c->db, rc, what, err);
    stmt_done(st);
    return rc;
}

/* ---- Groups ---------------------------------------------------------------------------- */
static int sq_group_put(struct store *s, const struct store_group *g, struct err *err)
{
    struct conn *c = write_conn(s);
    const char *kind = g->is_organization ? "organization" : "group";
    sqlite3_stmt *st = NULL;
    char *doc = NULL;
    int rc;

    rc = sq_stmt_get(c, ST_GROUP_NAME_TAKEN, &st, err);
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
    rc = sq_stmt_get(c, ST_GROUP_PUT, &st, err);
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

    rc = sq_read_conn(s, &c, err);
    if (!rc)
        rc = sq_stmt_get(c, ST_GROUP_GET, &st, err);
    if (rc)
        return rc;
    sqlite3_bind_int(st, 1, is_organization);
    bind_text(st, 2, id_or_name);
    rc = sq_fetch_doc(c, st, doc, "group", err);
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

    rc = sq_read_conn(s, &c, err);
    if (!rc)
        rc = sq_stmt_get(c, all_fields ? ST_GROUP_DOCS : ST_GROUP_NAMES, &st, err);
    if (rc)
        return rc;
    sqlite3_bind_int(st, 1, is_organization);
    sqlite3_bind_int64(st, 2, sql_limit(limit));
    sqlite3_bind_int64(st, 3, sql_offset(offset));
    return sq_fetch_list(c, st, all_fields, list, "group", err);
}

/* ---- Datasets -------------------------------------------------------------------------- */

/* Checks that no other dataset holds one of d's resource ids. */
static int check_resources(struct conn *c, const struct store_dataset *d, struct err *err)
{
    sqlite3_stmt *st = NULL;
    size_t i;
    int rc;

    rc = sq_stmt_get(c, ST_RESOURCE_OWNER, &st, err);
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
            rc = sq_db_error(c->db, rc, "checking a resource id", err);
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

    rc = sq_stmt_get(c, ST_DATASET_NAME_TAKEN, &st, err);
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

    rc = sq_stmt_get(c, ST_DATASET_PUT, &st, err);
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
        rc = sq_db_error(c->db, rc, "storing a dataset", err);
    }
    stmt_done(st);
    if (rc)
        goto out;

    /* Index rows are replaced wholesale. */
    rc = sq_stmt_get(c, ST_FACETS_DELETE, &st, err);
    if (!rc) {
        sqlite3_bind_int64(st, 1, rid);
        rc = exec_stmt(c, st, "storing dataset facets", err);
    }
    if (!rc)
        rc = sq_stmt_get(c, ST_FACET_INSERT, &st, err);
    for (i = 0; !rc && i < d->nfacets; i++) {
        BUG_ON(!d->facets[i].field || !d->facets[i].value);
        sqlite3_bind_int64(st, 1, rid);
        bind_text(st, 2, d->facets[i].field);
        bind_text(st, 3, d->facets[i].value);
        rc = exec_stmt(c, st, "storing dataset facets", err);
    }
    if (!rc)
        rc = sq_stmt_get(c, ST_FTS_DELETE, &st, err);
    if (!rc) {
        sqlite3_bind_int64(st, 1, rid);
        rc = exec_stmt(c, st, "indexing a dataset", err);
    }
    if (!rc)
        rc = sq_stmt_get(c, ST_FTS_INSERT, &st, err);
    if (!rc) {
        sqlite3_bind_int64(st, 1, rid);
        bind_text(st, 2, d->fts_title ? d->fts_title : "");
        bind_text(st, 3, d->fts_tags ? d->fts_tags : "");
        bind_text(st, 4, d->fts_text ? d->fts_text : "");
        rc = exec_stmt(c, st, "indexing a dataset", err);
    }
    if (!rc)
        rc = sq_stmt_get(c, ST_RESOURCES_DELETE, &st, err);
    if (!rc) {
        sqlite3_bind_int64(st, 1, rid);
        rc = exec_stmt(c, st, "storing dataset resources", err);
    }
    if (!rc)
        rc = sq_stmt_get(c, ST_RESOURCE_INSERT, &st, err);
    for (i = 0; !rc && i < d->nresource_ids; i++) {
        BUG_ON(!d->resource_ids[i]);
        bind_text(st, 1, d->resource_ids[i]);
        sqlite3_bind_int64(st, 2, rid);
        rc = exec_stmt(c, st, "storing dataset resources", err);
    }
    /* The derived text goes with the document it was derived from, or goes. */
    if (!rc)
        rc = sq_stmt_get(c, d->derived ? ST_DERIVED_PUT : ST_DERIVED_DELETE, &st, err);
    if (!rc) {
        sqlite3_bind_int64(st, 1, rid);
        if (d->derived) {
            BUG_ON(!d->derived_key);
            sqlite3_bind_blob(st, 2, d->derived_key, STORE_DERIVED_KEY, SQLITE_STATIC);
            sqlite3_bind_blob64(st, 3, d->derived_len ? d->derived : "", d->derived_len,
                                SQLITE_STATIC);
        }
        rc = exec_stmt(c, st, "storing a dataset's derived text", err);
    }
    /* So does the search summary. */
    if (!rc)
        rc = sq_stmt_get(c, d->summary ? ST_SUMMARY_PUT : ST_SUMMARY_DELETE, &st, err);
    if (!rc) {
        sqlite3_bind_int64(st, 1, rid);
        if (d->summary)
            bind_text(st, 2, d->summary);
        rc = exec_stmt(c, st, "storing a dataset's search summary", err);
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

    rc = sq_stmt_get(c, ST_DATASET_PURGE, &st, err);
    if (rc)
        return rc;
    bind_text(st, 1, id);
    rc = exec_stmt(c, st, "purging a dataset", err);
    if (!rc && sqlite3_changes(c->db) == 0)
        rc = err_set(err, ERR_NOT_FOUND, "id", "dataset \"%s\" not found", id);
    return rc;
}

static int sq_dataset_derived_put(struct store *s, const char *id, const uint8_t *key,
                                  const void *text, size_t len, struct err *err)
{
    struct conn *c = write_conn(s);
    sqlite3_stmt *st = NULL;
    int rc = sq_stmt_get(c, ST_DERIVED_PUT_BY_ID, &st, err);

    if (rc)
        return rc;
    bind_text(st, 1, id);
    sqlite3_bind_blob(st, 2, key, STORE_DERIVED_KEY, SQLITE_STATIC);
    sqlite3_bind_blob64(st, 3, len ? text : "", len, SQLITE_STATIC);
    return exec_stmt(c, st, "storing a dataset's derived text", err);
}

static int sq_dataset_get(struct store *s, const char *id_or_name, json_t **doc, struct err *err)
{
    sqlite3_stmt *st = NULL;
    struct conn *c = NULL;
    int rc;

    rc = sq_read_conn(s, &c, err);
    if (!rc)
        rc = sq_stmt_get(c, ST_DATASET_GET, &st, err);
    if (rc)
        return rc;
    bind_text(st, 1, id_or_name);
    rc = sq_fetch_doc(c, st, doc, "dataset", err);
    if (rc > 0)
        rc = err_set(err, ERR_NOT_FOUND, "id", "dataset \"%s\" not found", id_or_name);
    return rc;
}

static int sq_resource_dataset(struct store *s, const char *resource_id, char *dataset_id,
                               size_t size, struct err *err)
{
    sqlite3_stmt *st = NULL;
    struct conn *c = NULL;
    int rc;

    rc = sq_read_conn(s, &c, err);
    if (!rc)
        rc = sq_stmt_get(c, ST_RESOURCE_OWNER, &st, err);
    if (rc)
        return rc;
    bind_text(st, 1, resource_id);
    rc = fetch_text(c, st, dataset_id, size, "looking up a resource", err);
    if (rc == 1)
        rc = err_set(err, ERR_NOT_FOUND, "id", "resource \"%s\" not found", resource_id);
    else if (rc == 2)
        rc = err_set(err, ERR_INTERNAL, NULL, "dataset id of resource \"%s\" is too long",
                     resource_id);
    return rc;
}

/* ---- Counts ---------------------------------------------------------------------------- */
static int sq_group_dataset_count(struct store *s, bool is_organization, const char *group_id,
                                  size_t *count, struct err *err)
{
    sqlite3_stmt *st = NULL;
    struct conn *c = NULL;
    int64_t n = 0;
    int rc;

    rc = sq_read_conn(s, &c, err);
    if (!rc)
        rc = sq_stmt_get(c, is_organization ? ST_ORG_COUNT : ST_GROUP_COUNT, &st, err);
    if (rc)
        return rc;
    bind_text(st, 1, group_id);
    rc = sq_fetch_int64(c, st, &n, "counting datasets", err);
    if (!rc)
        *count = (size_t)n;
    return rc;
}

/* ---- Users, tokens, members ------------------------------------------------------------ */
json_t *sq_user_row(sqlite3_stmt *st)
{
    return json_pack("{s:o, s:o, s:o, s:o, s:b, s:o, s:o}", "id", sq_column_string(st, 0), "name",
                     sq_column_string(st, 1), "fullname", sq_column_string(st, 2), "email",
                     sq_column_string(st, 3), "sysadmin", sqlite3_column_int(st, 4), "state",
                     sq_column_string(st, 5), "created", sq_column_string(st, 6));
}

static int sq_user_put(struct store *s, const struct store_user *u, struct err *err)
{
    struct conn *c = write_conn(s);
    sqlite3_stmt *st = NULL;
    int rc;

    rc = sq_stmt_get(c, ST_USER_NAME_TAKEN, &st, err);
    if (rc)
        return rc;
    bind_text(st, 1, u->name);
    bind_text(st, 2, u->id);
    rc = exists(c, st, "checking a user name", err);
    if (rc > 0)
        rc = err_set(err, ERR_CONFLICT, "name", "user name \"%s\" is already in use", u->name);
    if (rc)
        return rc;
    rc = sq_stmt_get(c, ST_USER_PUT, &st, err);
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
        *user = sq_user_row(st);
        rc = 0;
    } else if (rc == SQLITE_DONE) {
        rc = 1;
    } else {
        rc = sq_db_error(c->db, rc, "looking up a user", err);
    }
    stmt_done(st);
    return rc;
}

static int sq_user_get(struct store *s, const char *id_or_name, json_t **user, struct err *err)
{
    sqlite3_stmt *st = NULL;
    struct conn *c = NULL;
    int rc;

    rc = sq_read_conn(s, &c, err);
    if (!rc)
        rc = sq_stmt_get(c, ST_USER_GET, &st, err);
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
    sqlite3_stmt *st = NULL;
    struct conn *c = NULL;
    int rc;

    rc = sq_read_conn(s, &c, err);
    if (!rc)
        rc = sq_stmt_get(c, ST_USER_LIST, &st, err);
    if (rc)
        return rc;
    return fetch_rows(c, st, sq_user_row, users, "listing users", err);
}

static int sq_token_put(struct store *s, const char *token_id, const char *user_id,
                        const char *token_hash, const char *label, const char *created,
                        struct err *err)
{
    struct conn *c = write_conn(s);
    sqlite3_stmt *st = NULL;
    int rc;

    rc = sq_stmt_get(c, ST_TOKEN_PUT, &st, err);
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
        rc = sq_db_error(c->db, rc, "storing a token", err);
    stmt_done(st);
    return rc;
}

static int sq_token_user(struct store *s, const char *token_hash, json_t **user, struct err *err)
{
    sqlite3_stmt *st = NULL;
    struct conn *c = NULL;
    int rc;

    rc = sq_read_conn(s, &c, err);
    if (!rc)
        rc = sq_stmt_get(c, ST_TOKEN_USER, &st, err);
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

    rc = sq_stmt_get(c, ST_TOKEN_REVOKE, &st, err);
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
    rc = sq_stmt_get(c, capacity ? ST_MEMBER_PUT : ST_MEMBER_DELETE, &st, err);
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
        rc = sq_db_error(c->db, rc, "storing a membership", err);
    stmt_done(st);
    return rc;
}

static int sq_member_get(struct store *s, const char *group_id, const char *user_id, char *out,
                         size_t size, struct err *err)
{
    sqlite3_stmt *st = NULL;
    struct conn *c = NULL;
    int rc;

    rc = sq_read_conn(s, &c, err);
    if (!rc)
        rc = sq_stmt_get(c, ST_MEMBER_GET, &st, err);
    if (rc)
        return rc;
    bind_text(st, 1, group_id);
    bind_text(st, 2, user_id);
    rc = fetch_text(c, st, out, size, "looking up a membership", err);
    if (rc == 1)
        rc = err_set(err, ERR_NOT_FOUND, "user_id", "user \"%s\" is not a member of \"%s\"",
                     user_id, group_id);
    else if (rc == 2)
        rc = err_set(err, ERR_INTERNAL, NULL, "capacity does not fit");
    return rc;
}

static json_t *member_org_row(sqlite3_stmt *st)
{
    return json_pack("{s:o, s:o}", "id", sq_column_string(st, 0), "capacity",
                     sq_column_string(st, 1));
}

static int sq_member_orgs(struct store *s, const char *user_id, json_t **orgs, struct err *err)
{
    sqlite3_stmt *st = NULL;
    struct conn *c = NULL;
    int rc;

    rc = sq_read_conn(s, &c, err);
    if (!rc)
        rc = sq_stmt_get(c, ST_MEMBER_ORGS, &st, err);
    if (rc)
        return rc;
    bind_text(st, 1, user_id);
    return fetch_rows(c, st, member_org_row, orgs, "listing memberships", err);
}

const struct store_backend store_sqlite_backend = {
        .name = "sqlite",
        .open = sq_open,
        .close = sq_close,
        .schema_version = sq_schema_version,
        .begin = sq_begin,
        .commit = sq_commit,
        .rollback = sq_rollback,
        .commit_ledger = sq_commit_ledger,
        .version = sq_version,
        .catalog_version = sq_catalog_version,
        .group_put = sq_group_put,
        .group_get = sq_group_get,
        .group_list = sq_group_list,
        .dataset_put = sq_dataset_put,
        .dataset_derived_put = sq_dataset_derived_put,
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
        .ledger_stage = sq_ledger_stage,
        .ledger_count = sq_ledger_count,
        .ledger_leaves = sq_ledger_leaves,
        .ledger_entries = sq_ledger_entries,
        .ledger_find_leaf = sq_ledger_find_leaf,
        .ledger_tile_get = sq_ledger_tile_get,
        .ledger_tile_put = sq_ledger_tile_put,
        .ledger_checkpoint_put = sq_ledger_checkpoint_put,
        .ledger_checkpoint_get = sq_ledger_checkpoint_get,
        .ledger_journal_get = sq_ledger_journal_get,
        .ledger_journal_put = sq_ledger_journal_put,
        .open_readonly = sq_open_readonly,
        .ledger_checkpoints = sq_ledger_checkpoints,
        .role_set = sq_role_set,
        .roles_of = sq_roles_of,
        .role_list = sq_role_list,
        .grant_put = sq_grant_put,
        .grant_get = sq_grant_get,
        .grant_list = sq_grant_list,
        .user_password_get = sq_user_password_get,
        .user_password_set = sq_user_password_set,
        .session_put = sq_session_put,
        .session_get = sq_session_get,
        .session_delete = sq_session_delete,
        .token_list = sq_token_list,
        .user_state_set = sq_user_state_set,
        .views_add = sq_views_add,
        .views_top = sq_views_top,
        .ds = &sq_ds_backend,
        .audit = &sq_audit_backend,
};
