/*
 * store-sqlite-datastore.c - the SQLite backend's datastore tables (store-datastore.h):
 * the table files and their meta, the writers' lock, the readers, store_ds_search and its
 * cursor, and the ingest status kept in the catalog database. Builds are in
 * store-sqlite-datastore-build.c, the writes in place (upsert, delete, indexes, meta,
 * drop) in store-sqlite-datastore-write.c, datastore_search_sql in
 * store-sqlite-datastore-sql.c. docs/internals/datastore.md, "Storage".
 *
 * Each resource's table is a file of its own, <dir>/<id>.db beside the catalog database's
 * directory (<dir> = <that directory>/datastore), in rollback-journal mode: a build
 * replaces the file by rename(), which a WAL file beside it would outlive (a new
 * connection would read the old file's WAL into the new file), while a rollback journal
 * exists only during a write, under the writer lock. Readers take SQLite's shared lock
 * for a snapshot; a write in place waits for the readers of its table at commit (busy
 * timeout SQDS_BUSY_MS).
 *
 * Writers: one at a time per table, across threads and processes, by flock() on
 * <dir>/<id>.lock (sqds_lock). Readers: a small cache of connections per thread, keyed
 * by resource id and the file's inode, so that a swapped-in file is opened anew; a
 * cursor takes its connection out of the cache until it is freed.
 *
 * All values are bound; the SQL holds only generated names (t_<hex>, c_<n>, i_<n>).
 */
#include <dirent.h>
#include <fcntl.h>
#include <math.h>
#include <sqlite3.h>
#include <sys/file.h>

#include "core/buf.h"
#include "core/limits.h"
#include "core/log.h"
#include "core/parse.h"
#include "store/store-sqlite-datastore-int.h"
#include "store/store-sqlite-int.h"
#include "core/util.h"

/* Connections a thread keeps open, and prepared searches per connection. */
#define READERS        8
#define READER_STMTS   8
#define TOKENIZER_NAME "kaifang_space"

/* ---- Helpers ---------------------------------------------------------------------------- */
static bool is_hex(char c)
{
    return (c >= '0' && c <= '9') || ((c | 32) >= 'a' && (c | 32) <= 'f');
}

bool sqds_id_parse(const char *id, char out[SQDS_ID_SIZE], char hex[SQDS_HEX_SIZE])
{
    size_t i, h = 0;

    if (!id || strlen(id) != 36)
        return false;
    for (i = 0; i < 36; i++) {
        if (i == 8 || i == 13 || i == 18 || i == 23) {
            if (id[i] != '-')
                return false;
        } else if (!is_hex(id[i])) {
            return false;
        }
    }
    for (i = 0; i < 36; i++) {
        char c = id[i] >= 'A' && id[i] <= 'F' ? (char)(id[i] | 32) : id[i];

        if (out)
            out[i] = c;
        if (hex && c != '-')
            hex[h++] = c;
    }
    if (out)
        out[36] = 0;
    if (hex)
        hex[32] = 0;
    return true;
}

char *sqds_path(const struct sqds *q, const char *id, const char *suffix)
{
    return xstrfmt("%s/%s%s", q->dir, id, suffix);
}

int sqds_db_error(sqlite3 *db, int rc, const char *what, struct err *err)
{
    log_error("store: datastore: %s: %s (%d)", what, db ? sqlite3_errmsg(db) : sqlite3_errstr(rc),
              rc);
    if ((rc & 0xff) == SQLITE_BUSY || (rc & 0xff) == SQLITE_LOCKED)
        return err_set(err, ERR_UNAVAILABLE, NULL, "datastore table is busy while %s", what);
    if ((rc & 0xff) == SQLITE_FULL)
        return err_set(err, ERR_INTERNAL, NULL, "disk full while %s", what);
    return err_set(err, ERR_INTERNAL, NULL, "database failure while %s", what);
}

int sqds_exec(sqlite3 *db, const char *sql, const char *what, struct err *err)
{
    int rc = sqlite3_exec(db, sql, NULL, NULL, NULL);

    return rc == SQLITE_OK ? 0 : sqds_db_error(db, rc, what, err);
}

const char *sqds_decltype(enum dstype type)
{
    switch (type) {
    case DSTYPE_INT8:
        return "INTEGER";
    case DSTYPE_NUMERIC:
        return ""; /* no affinity: "315.70" stays "315.70" */
    default:
        return "TEXT";
    }
}

void sqds_value_text(const struct dsvalue *v, struct buf *out)
{
    if (v->kind == DSVALUE_INT)
        buf_addf(out, "%" PRId64, v->i);
    else if (v->kind == DSVALUE_TEXT && v->len)
        buf_add(out, v->s, v->len);
}

int sqds_meta_set(sqlite3 *db, const char *key, const char *text, int64_t num, struct err *err)
{
    sqlite3_stmt *st = NULL;
    int rc;

    rc = sqlite3_prepare_v2(db, "INSERT OR REPLACE INTO meta(key, value) VALUES (?1, ?2)", -1, &st,
                            NULL);
    if (rc == SQLITE_OK) {
        sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
        if (text)
            sqlite3_bind_text(st, 2, text, -1, SQLITE_STATIC);
        else
            sqlite3_bind_int64(st, 2, num);
        rc = sqlite3_step(st);
    }
    rc = rc == SQLITE_DONE ? 0 : sqds_db_error(db, rc, "writing table meta", err);
    sqlite3_finalize(st);
    return rc;
}

/* ---- The whitespace tokenizer (FTS5's fts5_tokenizer, https://sqlite.org/fts5.html §7) -- */
static char tokenizer_instance;

static int space_create(void *ctx, const char **argv, int argc, Fts5Tokenizer **out)
{
    (void)ctx;
    (void)argv;
    (void)argc;
    *out = (Fts5Tokenizer *)&tokenizer_instance;
    return SQLITE_OK;
}

static void space_delete(Fts5Tokenizer *t)
{
    (void)t;
}

static int space_tokenize(Fts5Tokenizer *t, void *ctx, int flags, const char *text, int len,
                          int (*token)(void *ctx, int flags, const char *tok, int n, int start,
                                       int end))
{
    int i = 0, start, rc;

    (void)t;
    (void)flags;
    while (i < len) {
        while (i < len && text[i] == ' ')
            i++;
        start = i;
        while (i < len && text[i] != ' ')
            i++;
        if (i > start) {
            rc = token(ctx, 0, text + start, i - start, start, i);
            if (rc != SQLITE_OK)
                return rc;
        }
    }
    return SQLITE_OK;
}

int sqds_tokenizer_register(sqlite3 *db, struct err *err)
{
    static fts5_tokenizer tok = {space_create, space_delete, space_tokenize};
    sqlite3_stmt *st = NULL;
    fts5_api *api = NULL;
    int rc;

    rc = sqlite3_prepare_v2(db, "SELECT fts5(?1)", -1, &st, NULL);
    if (rc == SQLITE_OK) {
        sqlite3_bind_pointer(st, 1, (void *)&api, "fts5_api_ptr", NULL);
        rc = sqlite3_step(st);
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_ROW || !api)
        return sqds_db_error(db, rc, "setting up full-text search", err);
    rc = api->xCreateTokenizer(api, TOKENIZER_NAME, NULL, &tok, NULL);
    return rc == SQLITE_OK ? 0 : sqds_db_error(db, rc, "setting up full-text search", err);
}

int sqds_open_rw(const char *path, bool create, sqlite3 **db, struct err *err)
{
    int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX | (create ? SQLITE_OPEN_CREATE : 0);
    int rc;

    *db = NULL;
    rc = sqlite3_open_v2(path, db, flags, NULL);
    if (rc != SQLITE_OK) {
        log_error("store: datastore: opening \"%s\": %s", path,
                  *db ? sqlite3_errmsg(*db) : sqlite3_errstr(rc));
        sqlite3_close(*db);
        *db = NULL;
        return err_set(err, ERR_INTERNAL, NULL, "cannot open a datastore table file");
    }
    sqlite3_extended_result_codes(*db, 1);
    sqlite3_busy_timeout(*db, SQDS_BUSY_MS);
    rc = sqds_exec(*db, "PRAGMA mmap_size = 0; PRAGMA cache_size = -8192", "opening a table", err);
    if (!rc)
        rc = sqds_tokenizer_register(*db, err);
    if (rc) {
        sqlite3_close(*db);
        *db = NULL;
    }
    return rc;
}

/* ---- Table meta ------------------------------------------------------------------------- */
void sqds_table_release(struct sqds_table *t)
{
    for (size_t i = 0; i < t->nfields; i++)
        free(t->fields[i].id);
    free(t->fields);
    free(t->pk);
    json_decref(t->indexes);
    memset(t, 0, sizeof(*t));
}

ssize_t sqds_field_find(const struct sqds_table *t, const char *id)
{
    for (size_t i = 0; id && i < t->nfields; i++)
        if (!strcmp(t->fields[i].id, id))
            return (ssize_t)i;
    return -1;
}

static json_t *meta_json(sqlite3_stmt *st)
{
    const char *text = (const char *)sqlite3_column_text(st, 1);

    return text ? json_loads(text, JSON_DECODE_ANY, NULL) : NULL;
}

int sqds_table_load(sqlite3 *db, const char *schema, const char *id, struct sqds_table *t,
                    struct err *err)
{
    sqlite3_stmt *st = NULL;
    json_t *fields = NULL, *pk = NULL, *v;
    int64_t format = 0;
    char sql[64];
    size_t i;
    int rc;

    sqds_table_release(t);
    sqds_id_parse(id, t->id, t->hex);
    xsnprintf(sql, sizeof(sql), "SELECT key, value FROM %s%smeta", schema ? schema : "",
              schema ? "." : "");
    rc = sqlite3_prepare_v2(db, sql, -1, &st, NULL);
    while (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        const char *key = (const char *)sqlite3_column_text(st, 0);
        int64_t n = sqlite3_column_int64(st, 1);

        rc = SQLITE_OK;
        if (str_eq(key, "format"))
            format = n;
        else if (str_eq(key, "fields") && !fields)
            fields = meta_json(st);
        else if (str_eq(key, "primary_key") && !pk)
            pk = meta_json(st);
        else if (str_eq(key, "indexes") && !t->indexes)
            t->indexes = meta_json(st);
        else if (str_eq(key, "fulltext"))
            t->fulltext = n != 0;
        else if (str_eq(key, "rows"))
            t->rows = (uint64_t)n;
        else if (str_eq(key, "generation"))
            t->generation = (uint64_t)n;
        else if (str_eq(key, "next_id"))
            t->next_id = n;
        else if (str_eq(key, "ftx_rows"))
            t->ftx.rows = (uint64_t)n;
        else if (str_eq(key, "ftx_tokens"))
            t->ftx.tokens = (uint64_t)n;
        else if (str_eq(key, "ftx_ncols"))
            t->ftx.ncols = (uint32_t)n;
        else if (str_eq(key, "ftx_max_id"))
            t->ftx.max_id = n;
        else if (str_eq(key, "ftx_format"))
            t->ftx.format = (uint32_t)n;
    }
    if (rc != SQLITE_DONE) {
        rc = sqds_db_error(db, rc, "reading table meta", err);
        goto out;
    }
    rc = 0;
    if (format != SQDS_FORMAT || !json_is_array(fields) || !json_is_array(pk) ||
        !json_is_array(t->indexes)) {
        log_error("store: datastore: table of \"%s\" has bad meta (format %" PRId64 ")", id,
                  format);
        rc = err_set(err, ERR_INTERNAL, NULL, "datastore table of \"%s\" is corrupt", id);
        goto out;
    }
    t->fields = xcalloc(json_array_size(fields) + 1, sizeof(*t->fields));
    json_array_foreach (fields, i, v) {
        const char *fid = json_string_value(json_object_get(v, "id"));
        enum dstype type;

        if (!fid || !dstype_parse(json_string_value(json_object_get(v, "type")), &type)) {
            rc = err_set(err, ERR_INTERNAL, NULL, "datastore table of \"%s\" is corrupt", id);
            goto out;
        }
        t->fields[i].id = xstrdup(fid);
        t->fields[i].type = type;
        t->nfields = i + 1;
        if (type == DSTYPE_TEXT)
            t->has_fts = t->fulltext;
    }
    /* A table committed with fulltext_later has no index until it is built; one built
     * before ftx existed has FTS5's fts. */
    if (t->has_fts) {
        char sch[192];

        sqlite3_finalize(st);
        xsnprintf(sch, sizeof(sch),
                  "SELECT name = 'ftx' FROM %s%ssqlite_schema WHERE name IN ('fts', 'ftx')"
                  " ORDER BY name = 'ftx' DESC",
                  schema ? schema : "", schema ? "." : "");
        rc = sqlite3_prepare_v2(db, sch, -1, &st, NULL);
        if (rc == SQLITE_OK)
            rc = sqlite3_step(st);
        if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
            rc = sqds_db_error(db, rc, "reading table meta", err);
            goto out;
        }
        t->fts_pending = rc == SQLITE_DONE;
        t->has_fts = rc == SQLITE_ROW;
        t->has_ftx = rc == SQLITE_ROW && sqlite3_column_int(st, 0);
        rc = 0;
    }
    t->pk = xcalloc(json_array_size(pk) + 1, sizeof(*t->pk));
    json_array_foreach (pk, i, v) {
        ssize_t f = sqds_field_find(t, json_string_value(v));

        if (f < 0) {
            rc = err_set(err, ERR_INTERNAL, NULL, "datastore table of \"%s\" is corrupt", id);
            goto out;
        }
        t->pk[i] = (size_t)f;
        t->npk = i + 1;
    }
out:
    sqlite3_finalize(st);
    json_decref(fields);
    json_decref(pk);
    return rc;
}

/* ---- The writers' lock ------------------------------------------------------------------ */
int sqds_lock(const struct sqds *q, const char *id, int *fd, struct err *err)
{
    char *path = sqds_path(q, id, ".lock");
    struct stat a, b;
    int rc = 0;

    *fd = -1;
    if (mkdir(q->dir, 0700) && errno != EEXIST) {
        log_error("store: datastore: creating \"%s\": %s", q->dir, strerror(errno));
        rc = err_set(err, ERR_INTERNAL, NULL, "cannot create the datastore directory");
        goto out;
    }
    for (;;) {
        *fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
        if (*fd < 0) {
            log_error("store: datastore: opening \"%s\": %s", path, strerror(errno));
            rc = err_set(err, ERR_INTERNAL, NULL, "cannot lock a datastore table");
            goto out;
        }
        while (flock(*fd, LOCK_EX) && errno == EINTR)
            ;
        /* A drop unlinks the lock file while holding it: a lock on an unlinked file
         * locks nothing, so check that the path still names the file locked. */
        if (!fstat(*fd, &a) && !stat(path, &b) && a.st_dev == b.st_dev && a.st_ino == b.st_ino)
            break;
        close(*fd);
        *fd = -1;
    }
out:
    free(path);
    return rc;
}

void sqds_unlock(int fd)
{
    if (fd >= 0)
        close(fd); /* releases the flock */
}

int sqds_fsync_path(const char *path, const char *what, struct err *err)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC), rc = 0;

    if (fd < 0 || fsync(fd)) {
        log_error("store: datastore: syncing \"%s\": %s", path, strerror(errno));
        rc = err_set(err, ERR_INTERNAL, NULL, "cannot sync %s", what);
    }
    if (fd >= 0)
        close(fd);
    return rc;
}

/* ---- Readers ----------------------------------------------------------------------------- */
struct cached_stmt {
    char *sql;
    sqlite3_stmt *st;
    uint64_t used;
};

/* A connection to one table file, with what it knows of the table. */
struct reader {
    char id[SQDS_ID_SIZE];
    dev_t dev;
    ino_t ino;
    sqlite3 *db;
    sqlite3_stmt *gen; /* SELECT generation */
    struct sqds_table t;
    bool loaded;
    struct cached_stmt stmts[READER_STMTS];
    uint64_t tick;
    uint64_t used;
};

struct sqds_thread {
    struct sqds *owner;
    struct reader *cache[READERS];
    uint64_t tick;
    uint64_t swaps; /* sqds.swaps when the cache was last checked */
    struct sqds_thread *prev, *next;
};

static void reader_close(struct reader *r)
{
    if (!r)
        return;
    for (size_t i = 0; i < READER_STMTS; i++) {
        sqlite3_finalize(r->stmts[i].st);
        free(r->stmts[i].sql);
    }
    sqlite3_finalize(r->gen);
    sqds_table_release(&r->t);
    if (r->db && sqlite3_close(r->db) != SQLITE_OK)
        log_error("store: datastore: closing a reader: %s", sqlite3_errmsg(r->db));
    free(r);
}

static void thread_free(struct sqds_thread *t)
{
    for (size_t i = 0; i < READERS; i++)
        reader_close(t->cache[i]);
    free(t);
}

static void thread_unlink(struct sqds *q, struct sqds_thread *t)
{
    if (t->prev)
        t->prev->next = t->next;
    else
        q->threads = t->next;
    if (t->next)
        t->next->prev = t->prev;
}

static void thread_exit(void *p)
{
    struct sqds_thread *t = p;
    struct sqds *q = t->owner;

    pthread_mutex_lock(&q->threads_lock);
    thread_unlink(q, t);
    pthread_mutex_unlock(&q->threads_lock);
    thread_free(t);
}

static struct sqds_thread *thread_get(struct sqds *q)
{
    struct sqds_thread *t = pthread_getspecific(q->key);

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

static int reader_open(struct sqds *q, const char *id, const char *path, const struct stat *sb,
                       struct reader **out, struct err *err)
{
    struct reader *r = xcalloc(1, sizeof(*r));
    /* Read-write (but query_only) unless the store is read-only: a reader rolls back a
     * hot journal left by a crashed writer, which a read-only connection cannot. */
    int flags = (q->readonly ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE) | SQLITE_OPEN_NOMUTEX;
    char setup[160];
    int rc;

    memcpy(r->id, id, SQDS_ID_SIZE);
    r->dev = sb->st_dev;
    r->ino = sb->st_ino;
    rc = sqlite3_open_v2(path, &r->db, flags, NULL);
    if (rc != SQLITE_OK) {
        log_error("store: datastore: opening \"%s\": %s", path,
                  r->db ? sqlite3_errmsg(r->db) : sqlite3_errstr(rc));
        rc = err_set(err, ERR_INTERNAL, NULL, "cannot open the datastore table of \"%s\"", id);
        goto out;
    }
    sqlite3_extended_result_codes(r->db, 1);
    sqlite3_busy_timeout(r->db, SQDS_BUSY_MS);
    xsnprintf(setup, sizeof(setup),
              "PRAGMA query_only = ON; PRAGMA mmap_size = 0; PRAGMA cache_size = -%d",
              SQDS_READER_CACHE_KIB);
    rc = sqds_exec(r->db, setup, "opening a datastore table", err);
    if (!rc)
        rc = sqds_tokenizer_register(r->db, err);
    if (!rc)
        rc = sqds_ftx_register(r->db, err);
out:
    if (rc) {
        reader_close(r);
        r = NULL;
    }
    *out = r;
    return rc;
}

/* Closes the thread's connections to files that were swapped out or dropped since the
 * last check. */
static void cache_check(struct sqds *q, struct sqds_thread *t)
{
    uint64_t swaps = atomic_load(&q->swaps);

    if (swaps == t->swaps)
        return;
    t->swaps = swaps;
    for (size_t i = 0; i < READERS; i++) {
        struct reader *r = t->cache[i];
        char *path;
        struct stat sb;

        if (!r)
            continue;
        path = sqds_path(q, r->id, ".db");
        if (stat(path, &sb) || sb.st_dev != r->dev || sb.st_ino != r->ino) {
            reader_close(r);
            t->cache[i] = NULL;
        }
        free(path);
    }
}

/*
 * A reader of the table of id (valid UUID, lower case), taken out of the calling thread's
 * cache or opened: the caller owns it until reader_put(). -ERR_NOT_FOUND when the
 * resource has no table.
 */
static int reader_get(struct store *s, const char *id, struct reader **out, struct err *err)
{
    struct sqds *q = s->ds;
    struct sqds_thread *t = thread_get(q);
    char *path = sqds_path(q, id, ".db");
    struct stat sb;
    int rc = 0;

    *out = NULL;
    cache_check(q, t);
    if (stat(path, &sb)) {
        rc = errno == ENOENT || errno == ENOTDIR
                     ? err_set(err, ERR_NOT_FOUND, "resource_id", SQDS_NOT_FOUND, id)
                     : err_set(err, ERR_INTERNAL, NULL,
                               "cannot read the datastore table of "
                               "\"%s\"",
                               id);
        goto out;
    }
    for (size_t i = 0; i < READERS; i++) {
        struct reader *r = t->cache[i];

        if (!r || strcmp(r->id, id))
            continue;
        t->cache[i] = NULL;
        if (r->dev == sb.st_dev && r->ino == sb.st_ino) {
            *out = r;
            goto out;
        }
        reader_close(r); /* the file was replaced */
    }
    rc = reader_open(q, id, path, &sb, out, err);
out:
    free(path);
    return rc;
}

/* Gives a reader back to the calling thread's cache (closing the least used one when it
 * is full). */
static void reader_put(struct store *s, struct reader *r)
{
    struct sqds_thread *t;
    size_t i, slot = 0;

    if (!r)
        return;
    t = thread_get(s->ds);
    r->used = ++t->tick;
    for (i = 0; i < READERS; i++) {
        if (!t->cache[i]) {
            slot = i;
            break;
        }
        if (t->cache[i]->used < t->cache[slot]->used)
            slot = i;
    }
    reader_close(t->cache[slot]);
    t->cache[slot] = r;
}

/* Starts a read snapshot on r and brings its table meta up to date. */
static int reader_begin(struct reader *r, struct err *err)
{
    int rc = sqds_exec(r->db, "BEGIN", "reading a datastore table", err);
    uint64_t gen = 0;

    if (rc)
        return rc;
    if (!r->gen) {
        rc = sqlite3_prepare_v3(r->db, "SELECT value FROM meta WHERE key = 'generation'", -1,
                                SQLITE_PREPARE_PERSISTENT, &r->gen, NULL);
        if (rc != SQLITE_OK)
            return sqds_db_error(r->db, rc, "reading a datastore table", err);
    }
    rc = sqlite3_step(r->gen);
    if (rc == SQLITE_ROW)
        gen = (uint64_t)sqlite3_column_int64(r->gen, 0);
    sqlite3_reset(r->gen);
    if (rc != SQLITE_ROW)
        return sqds_db_error(r->db, rc, "reading a datastore table", err);
    if (r->loaded && r->t.generation == gen)
        return 0;
    r->loaded = false;
    rc = sqds_table_load(r->db, NULL, r->id, &r->t, err);
    r->loaded = !rc;
    return rc;
}

static void reader_end(struct reader *r)
{
    if (r && !sqlite3_get_autocommit(r->db))
        sqlite3_exec(r->db, "COMMIT", NULL, NULL, NULL);
}

/* A generated statement from r's small cache, prepared when not there. */
static int reader_stmt(struct reader *r, const char *sql, sqlite3_stmt **st, struct err *err)
{
    struct cached_stmt *slot = &r->stmts[0];
    int rc;

    r->tick++;
    for (size_t i = 0; i < READER_STMTS; i++) {
        if (r->stmts[i].sql && !strcmp(r->stmts[i].sql, sql)) {
            r->stmts[i].used = r->tick;
            *st = r->stmts[i].st;
            return 0;
        }
        if (r->stmts[i].used < slot->used)
            slot = &r->stmts[i];
    }
    sqlite3_finalize(slot->st);
    free(slot->sql);
    memset(slot, 0, sizeof(*slot));
    rc = sqlite3_prepare_v3(r->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &slot->st, NULL);
    if (rc != SQLITE_OK)
        return sqds_db_error(r->db, rc, "preparing a datastore search", err);
    slot->sql = xstrdup(sql);
    slot->used = r->tick;
    *st = slot->st;
    return 0;
}

/* ---- Values -------------------------------------------------------------------------- */

/* Whether s (len bytes) is a decimal number: [+-] digits [. digits] | . digits, then an
 * optional exponent. What CAST(… AS REAL) reads in full. */
static bool numeric_text_valid(const char *s, size_t len)
{
    size_t i = 0, digits = 0;

    if (i < len && (s[i] == '-' || s[i] == '+'))
        i++;
    while (i < len && s[i] >= '0' && s[i] <= '9')
        i++, digits++;
    if (i < len && s[i] == '.') {
        i++;
        while (i < len && s[i] >= '0' && s[i] <= '9')
            i++, digits++;
    }
    if (!digits)
        return false;
    if (i < len && (s[i] == 'e' || s[i] == 'E')) {
        i++;
        if (i < len && (s[i] == '-' || s[i] == '+'))
            i++;
        if (i >= len || s[i] < '0' || s[i] > '9')
            return false;
        while (i < len && s[i] >= '0' && s[i] <= '9')
            i++;
    }
    return i == len;
}

/*
 * Converts v for a column of type type: int8 columns take INT, or TEXT holding an integer;
 * numeric TEXT must be a decimal number; other types take TEXT, and INT as its decimal
 * text. Errors: -ERR_VALIDATION in field place, naming field.
 */
int sqds_value_convert(enum dstype type, const struct dsvalue *v, const char *field,
                       const char *place, struct sqds_bindv *out, struct err *err)
{
    char tmp[24];

    memset(out, 0, sizeof(*out));
    if (v->kind == DSVALUE_NULL)
        return 0;
    if (type == DSTYPE_INT8) {
        out->kind = SQDS_B_INT;
        if (v->kind == DSVALUE_INT) {
            out->i = v->i;
            return 0;
        }
        if (v->len && v->len < sizeof(tmp)) {
            memcpy(tmp, v->s, v->len);
            tmp[v->len] = 0;
            if (!parse_i64(tmp, INT64_MIN, INT64_MAX, &out->i))
                return 0;
        }
        return err_set(err, ERR_VALIDATION, place, "value \"%.*s\" of field \"%s\" is not an int8",
                       (int)(v->len > 40 ? 40 : v->len), v->s ? v->s : "", field);
    }
    out->kind = SQDS_B_TEXT;
    if (v->kind == DSVALUE_INT) {
        xsnprintf(out->num, sizeof(out->num), "%" PRId64, v->i);
        out->s = out->num;
        out->len = strlen(out->num);
        return 0;
    }
    out->s = v->len ? v->s : "";
    out->len = v->len;
    if (type == DSTYPE_NUMERIC && !numeric_text_valid(out->s, out->len))
        return err_set(err, ERR_VALIDATION, place, "value \"%.*s\" of field \"%s\" is not a number",
                       (int)(out->len > 40 ? 40 : out->len), out->s, field);
    if (out->len > SQDS_MAX_VALUE)
        return err_set(err, ERR_TOO_LARGE, place, "a value of field \"%s\" is too long", field);
    return 0;
}

/* Binds b, copied: a cursor's statement outlives the query values it was given. */
void sqds_bindv_bind(sqlite3_stmt *st, int i, const struct sqds_bindv *b)
{
    switch (b->kind) {
    case SQDS_B_INT:
        sqlite3_bind_int64(st, i, b->i);
        break;
    case SQDS_B_TEXT:
        sqlite3_bind_text(st, i, b->s, (int)b->len, SQLITE_TRANSIENT);
        break;
    case SQDS_B_FTX:
        sqlite3_bind_pointer(st, i, (void *)b->ftx, SQDS_FTX_POINTER, NULL);
        break;
    default:
        sqlite3_bind_null(st, i);
        break;
    }
}

/* The value of column i of st's row into v (text borrowed from st until its next step;
 * tmp holds the text of a REAL, which our tables do not store but SQL may compute). */
static void column_value(sqlite3_stmt *st, int i, struct dsvalue *v, char tmp[32])
{
    memset(v, 0, sizeof(*v));
    switch (sqlite3_column_type(st, i)) {
    case SQLITE_INTEGER:
        v->kind = DSVALUE_INT;
        v->i = sqlite3_column_int64(st, i);
        break;
    case SQLITE_FLOAT: {
        double d = sqlite3_column_double(st, i);

        v->kind = DSVALUE_TEXT;
        xsnprintf(tmp, 32, "%.17g", d);
        v->s = tmp;
        v->len = strlen(tmp);
        break;
    }
    case SQLITE_NULL:
        break;
    default:
        v->kind = DSVALUE_TEXT;
        v->s = (const char *)sqlite3_column_text(st, i);
        v->len = (size_t)sqlite3_column_bytes(st, i);
        if (!v->s)
            v->s = "";
        break;
    }
}

/* ---- Generated SQL ---------------------------------------------------------------------- */
void sqds_gen_init(struct sqds_gen *g)
{
    memset(g, 0, sizeof(*g));
    buf_init(&g->sql, 0);
}

void sqds_gen_release(struct sqds_gen *g)
{
    buf_release(&g->sql);
    free(g->v);
    memset(g, 0, sizeof(*g));
}

struct sqds_bindv *sqds_gen_param(struct sqds_gen *g)
{
    ALLOC_GROW(g->v, g->nv + 1, g->alloc);
    buf_addch(&g->sql, '?');
    return &g->v[g->nv++];
}

void sqds_gen_bind(const struct sqds_gen *g, sqlite3_stmt *st)
{
    for (size_t i = 0; i < g->nv; i++)
        sqds_bindv_bind(st, (int)i + 1, &g->v[i]);
}

/* The column expression of field f (-1: _id) in comparisons and sorts: numeric by value. */
static void gen_column(struct sqds_gen *g, const struct sqds_table *t, ssize_t f, bool by_value)
{
    if (f < 0)
        buf_addstr(&g->sql, "t._id");
    else if (by_value && t->fields[f].type == DSTYPE_NUMERIC)
        buf_addf(&g->sql, "CAST(t.c_%zd AS REAL)", f + 1);
    else
        buf_addf(&g->sql, "t.c_%zd", f + 1);
}

/* A field name of a query: a field id or "_id" (-1). */
static int query_field(const struct sqds_table *t, const char *name, bool allow_id,
                       const char *place, ssize_t *f, struct err *err)
{
    if (allow_id && str_eq(name, "_id")) {
        *f = -1;
        return 0;
    }
    *f = sqds_field_find(t, name);
    if (*f < 0)
        return err_set(err, ERR_VALIDATION, place, "field \"%s\" is not in the table",
                       name ? name : "");
    return 0;
}

/* " AND (filter) …" for each filter; values converted and added as parameters. */
int sqds_gen_filters(struct sqds_gen *g, const struct sqds_table *t,
                     const struct store_ds_filter *fl, size_t n, const char *place, struct err *err)
{
    ssize_t f;
    int rc;

    for (size_t i = 0; i < n; i++) {
        enum dstype type;

        rc = query_field(t, fl[i].field, true, place, &f, err);
        if (rc)
            return rc;
        if (fl[i].nvalues > LIMIT_DATASTORE_FILTER_VALUES)
            return err_set(err, ERR_VALIDATION, place,
                           "too many values for field \"%s\" (at most %u)", fl[i].field,
                           LIMIT_DATASTORE_FILTER_VALUES);
        type = f < 0 ? DSTYPE_INT8 : t->fields[f].type;
        buf_addstr(&g->sql, " AND ");
        gen_column(g, t, f, true);
        buf_addstr(&g->sql, " IN (");
        for (size_t j = 0; j < fl[i].nvalues; j++) {
            struct sqds_bindv *b;

            buf_addstr(&g->sql, j ? ", " : "");
            if (type == DSTYPE_NUMERIC)
                buf_addstr(&g->sql, "CAST(");
            b = sqds_gen_param(g);
            rc = sqds_value_convert(type, &fl[i].values[j], fl[i].field, place, b, err);
            if (rc)
                return rc;
            if (type == DSTYPE_NUMERIC)
                buf_addstr(&g->sql, " AS REAL)");
        }
        buf_addch(&g->sql, ')');
    }
    return 0;
}

/* Appends an FTS5 string for token (double quotes, inner ones doubled): the user's text
 * never becomes FTS5 syntax. */
static void fts_string(struct buf *out, const char *tok, size_t len)
{
    buf_addch(out, '"');
    for (size_t i = 0; i < len; i++) {
        if (tok[i] == '"')
            buf_addch(out, '"');
        buf_addch(out, tok[i]);
    }
    buf_addch(out, '"');
}

/*
 * The FTS5 query of the text conditions into out (empty when they hold no token): each
 * condition "c_<n> : ( "a" AND "b" )" or "( "a" AND "b" )", AND'ed. Tokens with spaces
 * count as several (the index's tokenizer splits at spaces).
 */
static int gen_match(const struct sqds_table *t, const struct store_ds_text *text, size_t n,
                     struct buf *out, struct err *err)
{
    size_t nout = 0;

    for (size_t i = 0; i < n; i++) {
        size_t ntok = 0;
        ssize_t f = -1;

        if (text[i].field) {
            f = sqds_field_find(t, text[i].field);
            if (f < 0)
                return err_set(err, ERR_VALIDATION, "q", "field \"%s\" is not in the table",
                               text[i].field);
            if (t->fields[f].type != DSTYPE_TEXT)
                return err_set(err, ERR_VALIDATION, "q", "field \"%s\" is not a text field",
                               text[i].field);
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
                if (!ntok++) {
                    buf_addstr(out, nout++ ? " AND " : "");
                    if (f >= 0)
                        buf_addf(out, "c_%zd : ", f + 1);
                    buf_addch(out, '(');
                } else {
                    buf_addstr(out, " AND ");
                }
                fts_string(out, p, len);
                p += len;
            }
        }
        if (ntok)
            buf_addch(out, ')');
    }
    return 0;
}

/* The largest page (offset + limit) a ranked full-text search keeps only its best rows
 * for; deeper pages (and dumps, without a limit) keep every scored row. */
#define FTX_KEEP_MAX 100000u

/* ---- store_ds_search -------------------------------------------------------------------- */
struct store_ds_cursor {
    struct store_ds_cursor_head head;
    struct store *s;
    struct reader *r;
    sqlite3_stmt *st; /* in r's cache */
    size_t ncols;
    const char **names;
    enum dstype *types;
    struct dsvalue *vals;
    char (*tmp)[32];
    struct buf match; /* the FTS5 query */
    bool done;
    /* Tables with ftx: the match; by_ids: the rows of a ranked page are read one by one
     * by _id (st: SELECT … WHERE t._id = ?), ids taken from ftx in chunks. */
    struct ftx_match *ftx;
    bool by_ids;
    int64_t ids[256];
    size_t nids, pos;
    uint64_t next_off, left;
};

static size_t search_ncolumns(const struct store_ds_cursor *c)
{
    return c->ncols;
}

static const char *search_column(const struct store_ds_cursor *c, size_t i)
{
    return i < c->ncols ? c->names[i] : NULL;
}

static enum dstype search_type(const struct store_ds_cursor *c, size_t i)
{
    return i < c->ncols ? c->types[i] : DSTYPE_TEXT;
}

static int search_next(struct store_ds_cursor *c, const struct dsvalue **values, struct err *err)
{
    int rc;

    *values = NULL;
    if (c->done)
        return 0;
    if (c->by_ids) {
        for (;;) {
            if (c->pos == c->nids) {
                size_t n = c->left < ARRAY_SIZE(c->ids) ? (size_t)c->left : ARRAY_SIZE(c->ids);

                c->nids = n ? ftx_match_page(c->ftx, c->next_off, n, c->ids, NULL) : 0;
                c->pos = 0;
                c->next_off += c->nids;
                c->left -= c->nids;
                if (!c->nids) {
                    c->done = true;
                    return 0;
                }
            }
            sqlite3_reset(c->st);
            sqlite3_bind_int64(c->st, 1, c->ids[c->pos++]);
            rc = sqlite3_step(c->st);
            if (rc != SQLITE_DONE) /* DONE: a row the index has and the table not */
                break;
        }
    } else {
        rc = sqlite3_step(c->st);
    }
    if (rc == SQLITE_DONE) {
        c->done = true;
        return 0;
    }
    if (rc != SQLITE_ROW) {
        c->done = true;
        return sqds_db_error(c->r->db, rc, "reading datastore rows", err);
    }
    for (size_t i = 0; i < c->ncols; i++)
        column_value(c->st, (int)i, &c->vals[i], c->tmp[i]);
    *values = c->vals;
    return 1;
}

static bool search_truncated(const struct store_ds_cursor *c)
{
    (void)c;
    return false;
}

static void search_free(struct store_ds_cursor *c)
{
    if (c->st) {
        sqlite3_reset(c->st);
        sqlite3_clear_bindings(c->st);
    }
    if (c->r) {
        reader_end(c->r);
        reader_put(c->s, c->r);
    }
    free(c->names);
    free(c->types);
    free(c->vals);
    free(c->tmp);
    buf_release(&c->match);
    ftx_match_free(c->ftx);
    free(c);
}

static const struct store_ds_cursor_ops search_ops = {
        .ncolumns = search_ncolumns,
        .column = search_column,
        .type = search_type,
        .next = search_next,
        .truncated = search_truncated,
        .free = search_free,
};

/* The columns of a search: q->fields, or _id then every field. */
static int search_columns(struct store_ds_cursor *c, const struct sqds_table *t,
                          const struct store_ds_query *q, ssize_t **cols, struct err *err)
{
    size_t n = q->nfields ? q->nfields : t->nfields + 1;
    int rc;

    if (n > LIMIT_DATASTORE_FIELDS + 1)
        return err_set(err, ERR_VALIDATION, "fields", "too many fields (at most %u)",
                       LIMIT_DATASTORE_FIELDS);
    *cols = xcalloc(n, sizeof(**cols));
    c->names = xcalloc(n, sizeof(*c->names));
    c->types = xcalloc(n, sizeof(*c->types));
    c->vals = xcalloc(n, sizeof(*c->vals));
    c->tmp = xcalloc(n, sizeof(*c->tmp));
    for (size_t i = 0; i < n; i++) {
        if (q->nfields) {
            rc = query_field(t, q->fields[i], true, "fields", &(*cols)[i], err);
            if (rc)
                return rc;
        } else {
            (*cols)[i] = (ssize_t)i - 1;
        }
        c->names[i] = (*cols)[i] < 0 ? "_id" : t->fields[(*cols)[i]].id;
        c->types[i] = (*cols)[i] < 0 ? DSTYPE_INT8 : t->fields[(*cols)[i]].type;
        c->ncols = i + 1;
    }
    return 0;
}

/*
 * The FROM and WHERE of a search into g (after "SELECT …"): the table, joined with the
 * full-text index when match is not empty, and the filters.
 */
static int gen_from_where(struct sqds_gen *g, const struct sqds_table *t, const struct buf *match,
                          const struct ftx_match *ftx, bool nothing, const struct store_ds_query *q,
                          struct err *err)
{
    struct sqds_bindv *b;

    if (nothing) {
        buf_addf(&g->sql, " FROM t_%s AS t WHERE 0", t->hex);
    } else if (ftx) {
        /* The alias keeps the names of FTS5's: fts.rowid, fts.rank. */
        buf_addstr(&g->sql, " FROM ftx_ids(");
        b = sqds_gen_param(g);
        b->kind = SQDS_B_FTX;
        b->ftx = ftx;
        buf_addf(&g->sql, ") AS fts JOIN t_%s AS t ON t._id = fts.rowid WHERE 1", t->hex);
    } else if (match->len) {
        buf_addf(&g->sql, " FROM fts JOIN t_%s AS t ON t._id = fts.rowid WHERE fts MATCH ", t->hex);
        b = sqds_gen_param(g);
        b->kind = SQDS_B_TEXT;
        b->s = match->buf;
        b->len = match->len;
    } else {
        buf_addf(&g->sql, " FROM t_%s AS t WHERE 1", t->hex);
    }
    return sqds_gen_filters(g, t, q->filters, q->nfilters, "filters", err);
}

/* Counts the rows a search matches, whatever offset and limit: SELECT count(*) … */
static int search_total(struct reader *r, const struct sqds_table *t, const struct buf *match,
                        const struct ftx_match *ftx, bool nothing, const struct store_ds_query *q,
                        const ssize_t *cols, size_t ncols, uint64_t *total, struct err *err)
{
    sqlite3_stmt *st = NULL;
    struct sqds_gen g;
    int rc = 0;

    if (!match->len && !q->nfilters && !q->distinct) {
        *total = t->rows;
        return 0;
    }
    if (ftx && !q->nfilters && !q->distinct) {
        *total = ftx_match_count(ftx);
        return 0;
    }
    sqds_gen_init(&g);
    if (match->len && !ftx && !nothing && !q->nfilters && !q->distinct) {
        /* The index alone: no row of the table is read. */
        buf_addstr(&g.sql, "SELECT count(*) FROM fts WHERE fts MATCH ");
        sqds_gen_param(&g)->kind = SQDS_B_TEXT;
        g.v[0].s = match->buf;
        g.v[0].len = match->len;
        goto run;
    }
    if (q->distinct) {
        buf_addstr(&g.sql, "SELECT count(*) FROM (SELECT DISTINCT ");
        for (size_t i = 0; i < ncols; i++) {
            buf_addstr(&g.sql, i ? ", " : "");
            gen_column(&g, t, cols[i], false);
        }
    } else {
        buf_addstr(&g.sql, "SELECT count(*)");
    }
    rc = gen_from_where(&g, t, match, ftx, nothing, q, err);
    if (!rc && q->distinct)
        buf_addch(&g.sql, ')');
run:
    if (!rc)
        rc = reader_stmt(r, g.sql.buf, &st, err);
    if (!rc) {
        sqds_gen_bind(&g, st);
        rc = sqlite3_step(st);
        if (rc == SQLITE_ROW) {
            *total = (uint64_t)sqlite3_column_int64(st, 0);
            rc = 0;
        } else {
            rc = sqds_db_error(r->db, rc, "counting datastore rows", err);
        }
        sqlite3_reset(st);
        sqlite3_clear_bindings(st);
    }
    sqds_gen_release(&g);
    return rc;
}

/* The limit and offset of q as parameters: " LIMIT ? OFFSET ?". */
static void gen_limit(struct sqds_gen *g, const struct store_ds_query *q)
{
    buf_addstr(&g->sql, " LIMIT ");
    sqds_gen_param(g)->kind = SQDS_B_INT;
    g->v[g->nv - 1].i = q->limit && q->limit <= INT64_MAX ? (int64_t)q->limit : -1;
    buf_addstr(&g->sql, " OFFSET ");
    sqds_gen_param(g)->kind = SQDS_B_INT;
    g->v[g->nv - 1].i = q->offset <= INT64_MAX ? (int64_t)q->offset : INT64_MAX;
}

/*
 * The rest of a full-text search with no filter and no sort: the page of matches by rank
 * from the index alone, then only its rows from the table. Joining first would read
 * every match's row (2.9 million of 10 million for a common word) to keep ten.
 */
static int gen_ranked_page(struct sqds_gen *g, const struct sqds_table *t, const struct buf *match,
                           const struct store_ds_query *q)
{
    struct sqds_bindv *b;

    buf_addstr(&g->sql, " FROM (SELECT rowid AS r, rank AS k FROM fts WHERE fts MATCH ");
    b = sqds_gen_param(g);
    b->kind = SQDS_B_TEXT;
    b->s = match->buf;
    b->len = match->len;
    buf_addstr(&g->sql, " ORDER BY rank, rowid");
    gen_limit(g, q);
    buf_addf(&g->sql, ") AS m JOIN t_%s AS t ON t._id = m.r ORDER BY m.k, m.r", t->hex);
    return 0;
}

static int sq_ds_search(struct store *s, const struct store_ds_query *q,
                        struct store_ds_cursor **out, uint64_t *total, struct err *err)
{
    struct store_ds_cursor *c = xcalloc(1, sizeof(*c));
    char id[SQDS_ID_SIZE];
    ssize_t *cols = NULL, f;
    struct sqds_table *t;
    bool by_id = false, nothing;
    struct sqds_gen g;
    int rc;

    sqds_gen_init(&g);
    c->head.ops = &search_ops;
    c->s = s;
    buf_init(&c->match, 0);
    if (!sqds_id_parse(q->resource_id, id, NULL)) {
        rc = err_set(err, ERR_NOT_FOUND, "resource_id", SQDS_NOT_FOUND, q->resource_id);
        goto out;
    }
    rc = reader_get(s, id, &c->r, err);
    if (!rc)
        rc = reader_begin(c->r, err);
    if (rc)
        goto out;
    t = &c->r->t;
    rc = search_columns(c, t, q, &cols, err);
    if (!rc && q->ntext && !t->fulltext)
        rc = err_set(err, ERR_VALIDATION, "q", "resource \"%s\" has no full-text index", id);
    if (!rc)
        rc = gen_match(t, q->text, q->ntext, &c->match, err);
    if (rc)
        goto out;
    /* The table is served while its full-text index is built after an ingest. */
    if (c->match.len && t->fts_pending) {
        rc = err_set(err, ERR_UNAVAILABLE, "q",
                     "the full-text index of resource \"%s\" is being built: q works when it "
                     "is ready (filters, sort and datastore_search_sql work now)",
                     id);
        goto out;
    }
    /* A full-text search of a table without text fields matches nothing. */
    nothing = c->match.len && !t->has_fts;
    if (c->match.len && t->has_ftx) {
        bool page = !q->nfilters && !q->nsort && !q->distinct;
        /* The rank orders only a search without a sort (and not a distinct one); a ranked
         * page from the index alone needs only its best offset + limit scored rows. */
        size_t keep = page && q->limit && q->offset <= FTX_KEEP_MAX &&
                                      q->limit <= FTX_KEEP_MAX - q->offset
                              ? (size_t)(q->offset + q->limit)
                              : 0;

        rc = sqds_ftx_match(c->r->db, t, q->text, q->ntext, !q->nsort && !q->distinct, keep,
                            &c->ftx, err);
        if (rc)
            goto out;
    }
    if (c->ftx && !q->nfilters && !q->nsort && !q->distinct) {
        /* The ranked page from the index alone, then its rows by _id. */
        uint64_t count = ftx_match_count(c->ftx);

        c->by_ids = true;
        c->next_off = q->offset;
        c->left = q->offset >= count ? 0 : count - q->offset;
        if (q->limit && q->limit < c->left)
            c->left = q->limit;
        buf_addstr(&g.sql, "SELECT ");
        for (size_t i = 0; i < c->ncols; i++) {
            buf_addstr(&g.sql, i ? ", " : "");
            gen_column(&g, t, cols[i], false);
        }
        buf_addf(&g.sql, " FROM t_%s AS t WHERE t._id = ?", t->hex);
        if (q->total && total)
            *total = count;
        rc = reader_stmt(c->r, g.sql.buf, &c->st, err);
        goto out;
    }

    buf_addstr(&g.sql, q->distinct ? "SELECT DISTINCT " : "SELECT ");
    for (size_t i = 0; i < c->ncols; i++) {
        buf_addstr(&g.sql, i ? ", " : "");
        gen_column(&g, t, cols[i], false);
    }
    if (c->match.len && !nothing && !q->nfilters && !q->nsort && !q->distinct) {
        rc = gen_ranked_page(&g, t, &c->match, q);
        goto prepared;
    }
    rc = gen_from_where(&g, t, &c->match, c->ftx, nothing, q, err);
    if (rc)
        goto out;
    buf_addstr(&g.sql, " ORDER BY ");
    for (size_t i = 0; i < q->nsort; i++) {
        rc = query_field(t, q->sort[i].field, true, "sort", &f, err);
        if (rc)
            goto out;
        by_id |= f < 0;
        /* With a full-text match, _id is the fts rowid: FTS5 yields its matches in that
         * order, so a page by _id is read without sorting every match. */
        if (f < 0 && c->match.len && !nothing) {
            /* (_id is never NULL: no NULLS clause, which would hide the order from FTS5.) */
            buf_addstr(&g.sql, q->sort[i].descending ? "fts.rowid DESC, " : "fts.rowid, ");
            continue;
        }
        gen_column(&g, t, f, true);
        /* PostgreSQL's order, as CKAN's: NULLs after the values ascending, first
         * descending. */
        buf_addstr(&g.sql, q->sort[i].descending ? " DESC NULLS FIRST, " : " ASC NULLS LAST, ");
    }
    if (!q->nsort && q->distinct) {
        for (size_t i = 0; i < c->ncols; i++)
            buf_addf(&g.sql, "%zu, ", i + 1);
    } else if (!q->nsort && c->match.len && !nothing) {
        buf_addstr(&g.sql, "fts.rank, ");
    }
    /* Ties in _id order, so that pages of one search never overlap (not with DISTINCT,
     * whose rows have no single _id). */
    if (q->distinct || by_id)
        buf_setlen(&g.sql, g.sql.len - 2);
    else
        buf_addstr(&g.sql, "t._id");
    gen_limit(&g, q);
prepared:
    if (q->total && total) {
        if (nothing)
            *total = 0;
        else
            rc = search_total(c->r, t, &c->match, c->ftx, nothing, q, cols, c->ncols, total, err);
        if (rc)
            goto out;
    }
    rc = reader_stmt(c->r, g.sql.buf, &c->st, err);
    if (!rc)
        sqds_gen_bind(&g, c->st);
out:
    free(cols);
    sqds_gen_release(&g);
    if (rc) {
        search_free(c);
        c = NULL;
    }
    *out = c;
    return rc;
}

/* ---- store_ds_info, store_ds_list -------------------------------------------------------- */
static int sq_ds_info(struct store *s, const char *resource_id, struct store_ds_info *info,
                      struct err *err)
{
    struct reader *r = NULL;
    sqlite3_stmt *st = NULL;
    char id[SQDS_ID_SIZE];
    int rc;

    if (!sqds_id_parse(resource_id, id, NULL))
        return err_set(err, ERR_NOT_FOUND, "resource_id", SQDS_NOT_FOUND, resource_id);
    rc = reader_get(s, id, &r, err);
    if (!rc)
        rc = reader_begin(r, err);
    if (rc)
        goto out;
    info->fields = json_array();
    for (size_t i = 0; i < r->t.nfields; i++)
        json_array_append_new(info->fields, json_pack("{s:s, s:s}", "id", r->t.fields[i].id, "type",
                                                      dstype_name(r->t.fields[i].type)));
    info->fulltext_pending = r->t.fts_pending;
    info->fulltext = r->t.fulltext;
    info->primary_key = json_array();
    for (size_t i = 0; i < r->t.npk; i++)
        json_array_append_new(info->primary_key, json_string(r->t.fields[r->t.pk[i]].id));
    info->indexes = json_deep_copy(r->t.indexes);
    info->rows = r->t.rows;
    info->generation = r->t.generation;
    /* From the reader's statement cache: the dataset page's data dictionary asks for
     * it on every render (preparing it was ~5 % of a fresh page, BENCHMARKS.md). */
    rc = reader_stmt(r, "SELECT key, value FROM meta WHERE key = 'meta'", &st, err);
    if (rc)
        goto out;
    if ((rc = sqlite3_step(st)) == SQLITE_ROW)
        info->meta = meta_json(st);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        rc = sqds_db_error(r->db, rc, "reading table meta", err);
    else
        rc = 0;
    sqlite3_reset(st);
    if (!info->meta)
        info->meta = json_object();
out:
    reader_end(r);
    reader_put(s, r);
    if (rc)
        store_ds_info_release(info);
    return rc;
}

static int id_cmp(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static int sq_ds_list(struct store *s, json_t **ids, struct err *err)
{
    struct sqds *q = s->ds;
    DIR *d = opendir(q->dir);
    char **names = NULL;
    size_t n = 0, alloc = 0;
    struct dirent *e;

    (void)err;
    *ids = json_array();
    if (!d)
        return 0;
    while ((e = readdir(d))) {
        size_t len = strlen(e->d_name);
        char id[SQDS_ID_SIZE];

        if (len != 39 || strcmp(e->d_name + 36, ".db"))
            continue;
        memcpy(id, e->d_name, 36);
        id[36] = 0;
        if (!sqds_id_parse(id, NULL, NULL))
            continue;
        ALLOC_GROW(names, n + 1, alloc);
        names[n++] = xstrdup(id);
    }
    closedir(d);
    if (n)
        qsort(names, n, sizeof(*names), id_cmp);
    for (size_t i = 0; i < n; i++) {
        json_array_append_new(*ids, json_string(names[i]));
        free(names[i]);
    }
    free(names);
    return 0;
}

/* ---- Documents kept per resource (the catalog database) ------------------------------
 * The ingest status and the privacy report: one JSON text per resource id in a table of
 * its own. upsert_sql binds ?1 resource id, ?2 text; delete_sql and select_sql bind ?1.
 * doc NULL deletes. what names the document in errors ("datastore status"). */
static int resource_doc_put(struct store *s, const char *upsert_sql, const char *delete_sql,
                            const char *what, const char *resource_id, const json_t *doc,
                            struct err *err)
{
    struct conn *c = sq_write_conn(s);
    sqlite3_stmt *st = NULL;
    char *text = NULL, context[64];
    int rc;

    if (doc) {
        text = json_dumps(doc, JSON_COMPACT | JSON_ENCODE_ANY);
        if (!text)
            return err_set(err, ERR_INTERNAL, NULL, "%s cannot be serialised", what);
    }
    rc = sqlite3_prepare_v2(c->db, doc ? upsert_sql : delete_sql, -1, &st, NULL);
    if (rc == SQLITE_OK) {
        sqlite3_bind_text(st, 1, resource_id, -1, SQLITE_STATIC);
        if (text)
            sqlite3_bind_text(st, 2, text, -1, SQLITE_STATIC);
        rc = sqlite3_step(st);
    }
    snprintf(context, sizeof(context), "storing a %s", what);
    rc = rc == SQLITE_DONE ? 0 : sq_db_error(c->db, rc, context, err);
    sqlite3_finalize(st);
    free(text);
    return rc;
}

static int resource_doc_get(struct store *s, enum stmt_id id, const char *what,
                            const char *resource_id, json_t **doc, struct err *err)
{
    sqlite3_stmt *st = NULL;
    struct conn *c = NULL;
    int rc = sq_read_conn(s, &c, err);

    /* A cached statement: the dataset page reads each resource's privacy report, and
     * preparing the SELECT each time was ~2 % of a fresh page (BENCHMARKS.md, issue 4). */
    if (!rc)
        rc = sq_stmt_get(c, id, &st, err);
    if (rc)
        return rc;
    sqlite3_bind_text(st, 1, resource_id, -1, SQLITE_STATIC);
    rc = sq_fetch_doc(c, st, doc, what, err);
    if (rc > 0)
        rc = err_set(err, ERR_NOT_FOUND, "resource_id", "resource \"%s\" has no %s", resource_id,
                     what);
    return rc;
}

static int sq_ds_status_put(struct store *s, const char *resource_id, const json_t *status,
                            struct err *err)
{
    return resource_doc_put(
            s, "INSERT OR REPLACE INTO datastore_status (resource_id, status) VALUES (?1, ?2)",
            "DELETE FROM datastore_status WHERE resource_id = ?1", "datastore status", resource_id,
            status, err);
}

static int sq_ds_status_get(struct store *s, const char *resource_id, json_t **status,
                            struct err *err)
{
    return resource_doc_get(s, ST_DS_STATUS_GET, "datastore status", resource_id, status, err);
}

static int sq_privacy_put(struct store *s, const char *resource_id, const json_t *report,
                          struct err *err)
{
    return resource_doc_put(
            s, "INSERT OR REPLACE INTO privacy_reports (resource_id, report) VALUES (?1, ?2)",
            "DELETE FROM privacy_reports WHERE resource_id = ?1", "privacy report", resource_id,
            report, err);
}

static int sq_privacy_get(struct store *s, const char *resource_id, json_t **report,
                          struct err *err)
{
    return resource_doc_get(s, ST_PRIVACY_GET, "privacy report", resource_id, report, err);
}

static int sq_ds_status_list(struct store *s, json_t **statuses, struct err *err)
{
    sqlite3_stmt *st = NULL;
    struct conn *c = NULL;
    int rc = sq_read_conn(s, &c, err);

    if (rc)
        return rc;
    *statuses = json_object();
    rc = sqlite3_prepare_v2(c->db, "SELECT resource_id, status FROM datastore_status", -1, &st,
                            NULL);
    while (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        const char *id = (const char *)sqlite3_column_text(st, 0);
        json_t *doc = meta_json(st);

        rc = SQLITE_OK;
        if (!id || !doc) {
            json_decref(doc);
            rc = err_set(err, ERR_INTERNAL, NULL, "a stored datastore status is corrupt");
            break;
        }
        json_object_set_new(*statuses, id, doc);
    }
    if (rc == SQLITE_DONE)
        rc = 0;
    else if (rc > 0)
        rc = sq_db_error(c->db, rc, "listing datastore statuses", err);
    sqlite3_finalize(st);
    if (rc) {
        json_decref(*statuses);
        *statuses = NULL;
    }
    return rc;
}

/* ---- Open and close --------------------------------------------------------------------- */
static int sq_ds_open(struct store *s, struct err *err)
{
    struct sq *sq = s->be;
    struct sqds *q = xcalloc(1, sizeof(*q));
    const char *slash = strrchr(sq->path, '/');

    (void)err;
    /* "/x.db" gives "/datastore", "x.db" "datastore". */
    if (slash)
        q->dir = xstrfmt("%.*s/datastore", (int)(slash - sq->path), sq->path);
    else
        q->dir = xstrdup("datastore");
    q->readonly = sq->readonly;
    pthread_mutex_init(&q->threads_lock, NULL);
    if (pthread_key_create(&q->key, thread_exit))
        die("cannot create a thread-specific data key");
    s->ds = q;
    if (!q->readonly)
        sqds_build_sweep(q);
    return 0;
}

static void sq_ds_close(struct store *s)
{
    struct sqds *q = s->ds;
    struct sqds_thread *t, *next;

    if (!q)
        return;
    for (t = q->threads; t; t = next) {
        next = t->next;
        thread_free(t);
    }
    pthread_key_delete(q->key);
    pthread_mutex_destroy(&q->threads_lock);
    free(q->dir);
    free(q);
    s->ds = NULL;
}

const struct store_ds_backend sq_ds_backend = {
        .open = sq_ds_open,
        .close = sq_ds_close,
        .build_begin = sqds_build_begin,
        .build_row = sqds_build_row,
        .build_commit = sqds_build_commit,
        .fulltext_build = sqds_fulltext_build,
        .build_abort = sqds_build_abort,
        .info = sq_ds_info,
        .meta_put = sqds_meta_put,
        .index_create = sqds_index_create,
        .drop = sqds_drop,
        .list = sq_ds_list,
        .upsert = sqds_upsert,
        .delete = sqds_delete,
        .search = sq_ds_search,
        .sql = sqds_sql,
        .status_put = sq_ds_status_put,
        .status_get = sq_ds_status_get,
        .status_list = sq_ds_status_list,
        .privacy_put = sq_privacy_put,
        .privacy_get = sq_privacy_get,
};
