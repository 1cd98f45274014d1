/*
 * store-sqlite-access.c - the SQLite backend's roles and grants (schema migration 5 in
 * store-sqlite.c; docs/internals/access.md). Contracts in store.h.
 */
#include <sqlite3.h>

#include "store/store-sqlite-int.h"
#include "core/util.h"

static const char *const access_sql[] = {
        [ST_ROLE_PUT] = "INSERT INTO roles (user_id, role, org_id) VALUES (?1, ?2, ?3)"
                        " ON CONFLICT DO NOTHING",
        [ST_ROLE_DELETE] = "DELETE FROM roles WHERE user_id = ?1 AND role = ?2 AND org_id = ?3",
        [ST_ROLES_OF] = "SELECT role, nullif(org_id, '') FROM roles WHERE user_id = ?1"
                        " ORDER BY role, org_id",
        [ST_ROLE_LIST] = "SELECT u.name, r.role, nullif(r.org_id, '') FROM roles r"
                         " JOIN users u ON u.id = r.user_id WHERE u.state = 'active'"
                         " ORDER BY u.name, r.role, r.org_id",
        [ST_GRANT_PUT] = "INSERT INTO grants (id, dataset_id, grantee_id, state, created, doc)"
                         " VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT (id) DO UPDATE SET"
                         " dataset_id = excluded.dataset_id, grantee_id = excluded.grantee_id,"
                         " state = excluded.state, doc = excluded.doc",
        [ST_GRANT_GET] = "SELECT doc FROM grants WHERE id = ?1",
        [ST_GRANT_LIST] = "SELECT doc FROM grants WHERE (?1 IS NULL OR dataset_id = ?1)"
                          " AND (?2 IS NULL OR grantee_id = ?2) ORDER BY created, id",
        [ST_PASSWORD_GET] = "SELECT " SQ_USER_COLUMNS ", u.password_hash FROM users u"
                            " WHERE u.name = ?1 AND u.state = 'active'",
        [ST_PASSWORD_SET] = "UPDATE users SET password_hash = ?2 WHERE id = ?1",
        [ST_SESSION_PUT] = "INSERT INTO sessions (id_hash, user_id, csrf, expires)"
                           " VALUES (?1, ?2, ?3, ?4)",
        [ST_SESSION_SWEEP] = "DELETE FROM sessions WHERE expires <= ?1",
        [ST_SESSION_GET] = "SELECT " SQ_USER_COLUMNS ", s.csrf FROM sessions s"
                           " JOIN users u ON u.id = s.user_id"
                           " WHERE s.id_hash = ?1 AND s.expires > ?2 AND u.state = 'active'",
        [ST_SESSION_DELETE] = "DELETE FROM sessions WHERE id_hash = ?1",
        [ST_SESSION_DELETE_USER] = "DELETE FROM sessions WHERE user_id = ?1",
        [ST_TOKEN_LIST] = "SELECT id, label, created FROM tokens WHERE user_id = ?1"
                          " ORDER BY created, id",
        [ST_USER_STATE_SET] = "UPDATE users SET state = ?2 WHERE id = ?1",
};

/* The cached statement id on c, prepared from access_sql[] on first use. */
static int access_stmt(struct conn *c, enum stmt_id id, sqlite3_stmt **st, struct err *err)
{
    int rc;

    BUG_ON(id < ST_ROLE_PUT || (size_t)id >= ARRAY_SIZE(access_sql) || !access_sql[id]);
    if (!c->st[id]) {
        rc = sqlite3_prepare_v3(c->db, access_sql[id], -1, SQLITE_PREPARE_PERSISTENT, &c->st[id],
                                NULL);
        if (rc != SQLITE_OK)
            return sq_db_error(c->db, rc, "preparing a roles or grants statement", err);
    }
    *st = c->st[id];
    return 0;
}

static int read_stmt(struct store *s, enum stmt_id id, struct conn **c, sqlite3_stmt **st,
                     struct err *err)
{
    int rc = sq_read_conn(s, c, err);

    return rc ? rc : access_stmt(*c, id, st, err);
}

/* Steps a bound write statement to its end; resets it. */
static int step_write(struct conn *c, sqlite3_stmt *st, const char *what, struct err *err)
{
    int rc = sqlite3_step(st);

    if (rc == SQLITE_DONE)
        rc = 0;
    else if (rc == SQLITE_CONSTRAINT_FOREIGNKEY)
        rc = err_set(err, ERR_NOT_FOUND, "user", "user not found");
    else
        rc = sq_db_error(c->db, rc, what, err);
    stmt_done(st);
    return rc;
}

int sq_role_set(struct store *s, const char *user_id, const char *role, const char *org_id, bool on,
                struct err *err)
{
    struct conn *c = sq_write_conn(s);
    sqlite3_stmt *st = NULL;
    int rc;

    rc = access_stmt(c, on ? ST_ROLE_PUT : ST_ROLE_DELETE, &st, err);
    if (rc)
        return rc;
    bind_text(st, 1, user_id);
    bind_text(st, 2, role);
    bind_text(st, 3, org_id);
    rc = step_write(c, st, "storing a role", err);
    if (!rc && !on && sqlite3_changes(c->db) == 0)
        rc = err_set(err, ERR_NOT_FOUND, "role", "the user has no role \"%s\" there", role);
    return rc;
}

static json_t *role_row(sqlite3_stmt *st)
{
    return json_pack("{s:o, s:o}", "role", sq_column_string(st, 0), "organization",
                     sq_column_string(st, 1));
}

static json_t *role_list_row(sqlite3_stmt *st)
{
    return json_pack("{s:o, s:o, s:o}", "user", sq_column_string(st, 0), "role",
                     sq_column_string(st, 1), "organization", sq_column_string(st, 2));
}

/* Collects every row of a bound statement through row(); resets it. */
static int rows(struct conn *c, sqlite3_stmt *st, json_t *(*row)(sqlite3_stmt *), json_t **out,
                const char *what, struct err *err)
{
    json_t *arr = json_array();
    int rc;

    while ((rc = sqlite3_step(st)) == SQLITE_ROW)
        json_array_append_new(arr, row(st));
    rc = rc == SQLITE_DONE ? 0 : sq_db_error(c->db, rc, what, err);
    stmt_done(st);
    if (rc)
        json_decref(arr);
    else
        *out = arr;
    return rc;
}

int sq_roles_of(struct store *s, const char *user_id, json_t **roles, struct err *err)
{
    sqlite3_stmt *st = NULL;
    struct conn *c = NULL;
    int rc = read_stmt(s, ST_ROLES_OF, &c, &st, err);

    if (rc)
        return rc;
    bind_text(st, 1, user_id);
    return rows(c, st, role_row, roles, "listing a user's roles", err);
}

int sq_role_list(struct store *s, json_t **roles, struct err *err)
{
    sqlite3_stmt *st = NULL;
    struct conn *c = NULL;
    int rc = read_stmt(s, ST_ROLE_LIST, &c, &st, err);

    if (rc)
        return rc;
    return rows(c, st, role_list_row, roles, "listing roles", err);
}

int sq_grant_put(struct store *s, const char *id, const char *dataset_id, const char *grantee_id,
                 const char *state, const char *created, const json_t *doc, struct err *err)
{
    struct conn *c = sq_write_conn(s);
    sqlite3_stmt *st = NULL;
    char *text = json_dumps(doc, JSON_COMPACT);
    int rc;

    BUG_ON(!text);
    rc = access_stmt(c, ST_GRANT_PUT, &st, err);
    if (rc)
        goto out;
    bind_text(st, 1, id);
    bind_text(st, 2, dataset_id);
    bind_text(st, 3, grantee_id);
    bind_text(st, 4, state);
    bind_text(st, 5, created);
    bind_text(st, 6, text);
    rc = step_write(c, st, "storing a grant", err);
out:
    free(text);
    return rc;
}

int sq_grant_get(struct store *s, const char *id, json_t **doc, struct err *err)
{
    sqlite3_stmt *st = NULL;
    struct conn *c = NULL;
    int rc = read_stmt(s, ST_GRANT_GET, &c, &st, err);

    if (rc)
        return rc;
    bind_text(st, 1, id);
    rc = sq_fetch_doc(c, st, doc, "grant", err);
    if (rc == 1)
        rc = err_set(err, ERR_NOT_FOUND, "id", "grant \"%s\" not found", id);
    return rc;
}

int sq_grant_list(struct store *s, const char *dataset_id, const char *grantee_id, json_t **docs,
                  struct err *err)
{
    sqlite3_stmt *st = NULL;
    struct conn *c = NULL;
    int rc = read_stmt(s, ST_GRANT_LIST, &c, &st, err);

    if (rc)
        return rc;
    bind_text(st, 1, dataset_id);
    bind_text(st, 2, grantee_id);
    return sq_fetch_list(c, st, true, docs, "grant", err);
}

/* ---- Passwords and web sessions (migration 9) ------------------------------------------ */

/* Steps a bound read of a user row followed by one more text column: *user and *extra
 * (malloc'ed, NULL for SQL NULL) from the first row; 1 when there is none. */
static int user_and_text(struct conn *c, sqlite3_stmt *st, json_t **user, char **extra,
                         const char *what, struct err *err)
{
    int rc = sqlite3_step(st);

    if (rc == SQLITE_ROW) {
        const unsigned char *t = sqlite3_column_text(st, 7);

        *user = sq_user_row(st);
        *extra = t ? xstrdup((const char *)t) : NULL;
        rc = 0;
    } else if (rc == SQLITE_DONE) {
        rc = 1;
    } else {
        rc = sq_db_error(c->db, rc, what, err);
    }
    stmt_done(st);
    return rc;
}

int sq_user_password_get(struct store *s, const char *name, json_t **user, char **hash,
                         struct err *err)
{
    sqlite3_stmt *st = NULL;
    struct conn *c = NULL;
    int rc = read_stmt(s, ST_PASSWORD_GET, &c, &st, err);

    if (rc)
        return rc;
    bind_text(st, 1, name);
    rc = user_and_text(c, st, user, hash, "looking up a password", err);
    if (rc > 0)
        rc = err_set(err, ERR_NOT_FOUND, "name", "user \"%s\" not found", name);
    return rc;
}

int sq_user_password_set(struct store *s, const char *user_id, const char *hash, struct err *err)
{
    struct conn *c = sq_write_conn(s);
    sqlite3_stmt *st = NULL;
    int rc = access_stmt(c, ST_PASSWORD_SET, &st, err);

    if (rc)
        return rc;
    bind_text(st, 1, user_id);
    bind_text(st, 2, hash);
    rc = step_write(c, st, "storing a password", err);
    if (!rc && sqlite3_changes(c->db) == 0)
        rc = err_set(err, ERR_NOT_FOUND, "user", "user \"%s\" not found", user_id);
    return rc;
}

int sq_session_put(struct store *s, const char *id_hash, const char *user_id, const char *csrf,
                   int64_t expires, int64_t now, struct err *err)
{
    struct conn *c = sq_write_conn(s);
    sqlite3_stmt *st = NULL;
    int rc = access_stmt(c, ST_SESSION_SWEEP, &st, err);

    if (rc)
        return rc;
    sqlite3_bind_int64(st, 1, now);
    rc = step_write(c, st, "removing ended sessions", err);
    if (!rc)
        rc = access_stmt(c, ST_SESSION_PUT, &st, err);
    if (rc)
        return rc;
    bind_text(st, 1, id_hash);
    bind_text(st, 2, user_id);
    bind_text(st, 3, csrf);
    sqlite3_bind_int64(st, 4, expires);
    return step_write(c, st, "storing a session", err);
}

int sq_session_get(struct store *s, const char *id_hash, int64_t now, json_t **user, char **csrf,
                   struct err *err)
{
    sqlite3_stmt *st = NULL;
    struct conn *c = NULL;
    int rc = read_stmt(s, ST_SESSION_GET, &c, &st, err);

    if (rc)
        return rc;
    bind_text(st, 1, id_hash);
    sqlite3_bind_int64(st, 2, now);
    rc = user_and_text(c, st, user, csrf, "looking up a session", err);
    if (rc > 0)
        rc = err_set(err, ERR_NOT_FOUND, NULL, "session not found or ended");
    return rc;
}

int sq_session_delete(struct store *s, const char *id_hash, const char *user_id, struct err *err)
{
    struct conn *c = sq_write_conn(s);
    sqlite3_stmt *st = NULL;
    int rc = access_stmt(c, id_hash ? ST_SESSION_DELETE : ST_SESSION_DELETE_USER, &st, err);

    if (rc)
        return rc;
    bind_text(st, 1, id_hash ? id_hash : user_id);
    return step_write(c, st, "removing a session", err);
}

/* ---- Account pages ------------------------------------------------------------------- */

static json_t *token_row(sqlite3_stmt *st)
{
    return json_pack("{s:o, s:o, s:o}", "id", sq_column_string(st, 0), "label",
                     sq_column_string(st, 1), "created", sq_column_string(st, 2));
}

int sq_token_list(struct store *s, const char *user_id, json_t **tokens, struct err *err)
{
    sqlite3_stmt *st = NULL;
    struct conn *c = NULL;
    int rc = read_stmt(s, ST_TOKEN_LIST, &c, &st, err);

    if (rc)
        return rc;
    bind_text(st, 1, user_id);
    return rows(c, st, token_row, tokens, "listing a user's tokens", err);
}

int sq_user_state_set(struct store *s, const char *user_id, const char *state, struct err *err)
{
    struct conn *c = sq_write_conn(s);
    sqlite3_stmt *st = NULL;
    int rc = access_stmt(c, ST_USER_STATE_SET, &st, err);

    if (rc)
        return rc;
    bind_text(st, 1, user_id);
    bind_text(st, 2, state);
    rc = step_write(c, st, "setting a user's state", err);
    if (!rc && sqlite3_changes(c->db) == 0)
        rc = err_set(err, ERR_NOT_FOUND, "user", "user \"%s\" not found", user_id);
    return rc;
}
