/*
 * store-pg-access.c - the PostgreSQL backend's roles, grants, passwords and web sessions
 * (migration 3 in store-pg.c; docs/internals/access.md). Contracts in store.h; each
 * function answers as its SQLite twin in store-sqlite-access.c does: the same errors,
 * the same fields, the same order (text columns that lists sort by are COLLATE "C", so
 * they compare bytes as SQLite does).
 *
 * A statement that may break a constraint (a role or session naming a user that does
 * not exist) runs inside a savepoint: in PostgreSQL a failed statement aborts the whole
 * transaction, where SQLite only fails the statement, and the caller may go on (and
 * roll back by itself) after the error.
 */
#include "store/store-pg-int.h"
#include "core/util.h"

/*
 * Runs a write statement inside savepoint name: 0, or PG_UNIQUE / PG_FOREIGN after
 * rolling back to the savepoint (the caller's transaction goes on), or a negative error.
 * *res as pg_query's.
 */
static int write_guarded(struct store *s, const char *name, const char *sql,
                         const struct pg_params *p, PGresult **res, const char *what,
                         struct err *err)
{
    char *set = xstrfmt("SAVEPOINT %s", name), *undo = NULL;
    int rc;

    pg_assert_writing(s);
    rc = pg_run(s, set, NULL, NULL, what, err);
    if (!rc)
        rc = pg_query(s, sql, p, res, what, err);
    if (rc > 0) {
        undo = xstrfmt("ROLLBACK TO SAVEPOINT %s", name);
        if (pg_run(s, undo, NULL, NULL, what, err))
            rc = -ERR_INTERNAL;
    }
    free(undo);
    free(set);
    return rc;
}

/* Did the statement of r change no row? */
static bool no_change(const PGresult *r)
{
    return !strcmp(PQcmdTuples((PGresult *)r), "0");
}

/* ---- Roles ------------------------------------------------------------------------------ */
int pg_role_set(struct store *s, const char *user_id, const char *role, const char *org_id, bool on,
                struct err *err)
{
    struct pg_params p = PG_PARAMS_INIT;
    PGresult *r = NULL;
    int rc;

    pg_params_text(&p, user_id);
    pg_params_text(&p, role);
    pg_params_text(&p, org_id);
    rc = write_guarded(s, "role_set",
                       on ? "INSERT INTO roles (user_id, role, org_id) VALUES ($1, $2, $3)"
                            " ON CONFLICT DO NOTHING"
                          : "DELETE FROM roles WHERE user_id = $1 AND role = $2 AND org_id = $3",
                       &p, &r, "storing a role", err);
    if (rc == PG_FOREIGN)
        rc = err_set(err, ERR_NOT_FOUND, "user", "user not found");
    else if (rc > 0)
        rc = err_set(err, ERR_INTERNAL, NULL, "database failure while storing a role");
    else if (!rc && !on && no_change(r))
        rc = err_set(err, ERR_NOT_FOUND, "role", "the user has no role \"%s\" there", role);
    PQclear(r);
    pg_params_release(&p);
    return rc;
}

/* Every row of r as an object of the named columns (strings or null), in order. */
static json_t *rows_json(const PGresult *r, const char *const *names, int n)
{
    json_t *arr = json_array();

    for (int i = 0; i < PQntuples(r); i++) {
        json_t *o = json_object();

        for (int c = 0; c < n; c++)
            json_object_set_new(o, names[c], pg_json_string(r, i, c));
        json_array_append_new(arr, o);
    }
    return arr;
}

int pg_roles_of(struct store *s, const char *user_id, json_t **roles, struct err *err)
{
    static const char *const names[] = {"role", "organization"};
    struct pg_params p = PG_PARAMS_INIT;
    PGresult *r = NULL;
    int rc;

    pg_params_text(&p, user_id);
    rc = pg_run(s,
                "SELECT role, nullif(org_id, '') FROM roles WHERE user_id = $1"
                " ORDER BY role, org_id",
                &p, &r, "listing a user's roles", err);
    if (!rc)
        *roles = rows_json(r, names, 2);
    PQclear(r);
    pg_params_release(&p);
    return rc;
}

int pg_role_list(struct store *s, json_t **roles, struct err *err)
{
    static const char *const names[] = {"user", "role", "organization"};
    PGresult *r = NULL;
    int rc;

    rc = pg_run(s,
                "SELECT u.name, r.role, nullif(r.org_id, '') FROM roles r"
                " JOIN users u ON u.id = r.user_id WHERE u.state = 'active'"
                " ORDER BY u.name COLLATE \"C\", r.role, r.org_id",
                NULL, &r, "listing roles", err);
    if (!rc)
        *roles = rows_json(r, names, 3);
    PQclear(r);
    return rc;
}

/* ---- Grants ----------------------------------------------------------------------------- */
int pg_grant_put(struct store *s, const char *id, const char *dataset_id, const char *grantee_id,
                 const char *state, const char *created, const json_t *doc, struct err *err)
{
    struct pg_params p = PG_PARAMS_INIT;
    char *text = json_dumps(doc, JSON_COMPACT);
    int rc;

    BUG_ON(!text);
    pg_assert_writing(s);
    pg_params_text(&p, id);
    pg_params_text(&p, dataset_id);
    pg_params_text(&p, grantee_id);
    pg_params_text(&p, state);
    pg_params_text(&p, created);
    pg_params_text(&p, text);
    rc = pg_run(s,
                "INSERT INTO grants (id, dataset_id, grantee_id, state, created, doc)"
                " VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (id) DO UPDATE SET"
                " dataset_id = excluded.dataset_id, grantee_id = excluded.grantee_id,"
                " state = excluded.state, doc = excluded.doc",
                &p, NULL, "storing a grant", err);
    pg_params_release(&p);
    free(text);
    return rc;
}

int pg_grant_get(struct store *s, const char *id, json_t **doc, struct err *err)
{
    struct pg_params p = PG_PARAMS_INIT;
    PGresult *r = NULL;
    int rc;

    pg_params_text(&p, id);
    rc = pg_run(s, "SELECT doc FROM grants WHERE id = $1", &p, &r, "looking up a grant", err);
    if (!rc)
        rc = pg_fetch_doc(r, doc, "grant", err);
    if (rc > 0)
        rc = err_set(err, ERR_NOT_FOUND, "id", "grant \"%s\" not found", id);
    PQclear(r);
    pg_params_release(&p);
    return rc;
}

int pg_grant_list(struct store *s, const char *dataset_id, const char *grantee_id, json_t **docs,
                  struct err *err)
{
    struct pg_params p = PG_PARAMS_INIT;
    PGresult *r = NULL;
    int rc;

    pg_params_text(&p, dataset_id);
    pg_params_text(&p, grantee_id);
    rc = pg_run(s,
                "SELECT doc FROM grants WHERE ($1::text IS NULL OR dataset_id = $1)"
                " AND ($2::text IS NULL OR grantee_id = $2) ORDER BY created, id",
                &p, &r, "listing grants", err);
    if (!rc)
        rc = pg_fetch_list(r, true, docs, "grant", err);
    PQclear(r);
    pg_params_release(&p);
    return rc;
}

/* ---- Passwords and web sessions ---------------------------------------------------------- */

/* Row 0 of r, a user row followed by one more text column: *user and *extra (malloc'ed,
 * NULL for SQL NULL); 1 when there is no row. */
static int user_and_text(const PGresult *r, json_t **user, char **extra)
{
    if (PQntuples(r) == 0)
        return 1;
    *user = pg_user_row(r, 0);
    *extra = PQgetisnull(r, 0, 7) ? NULL : xstrdup(PQgetvalue(r, 0, 7));
    return 0;
}

int pg_user_password_get(struct store *s, const char *name, json_t **user, char **hash,
                         struct err *err)
{
    struct pg_params p = PG_PARAMS_INIT;
    PGresult *r = NULL;
    int rc;

    pg_params_text(&p, name);
    rc = pg_run(s,
                "SELECT " PG_USER_COLUMNS ", u.password_hash FROM users u"
                " WHERE u.name = $1 AND u.state = 'active'",
                &p, &r, "looking up a password", err);
    if (!rc)
        rc = user_and_text(r, user, hash);
    if (rc > 0)
        rc = err_set(err, ERR_NOT_FOUND, "name", "user \"%s\" not found", name);
    PQclear(r);
    pg_params_release(&p);
    return rc;
}

int pg_user_password_set(struct store *s, const char *user_id, const char *hash, struct err *err)
{
    struct pg_params p = PG_PARAMS_INIT;
    PGresult *r = NULL;
    int rc;

    pg_assert_writing(s);
    pg_params_text(&p, user_id);
    pg_params_text(&p, hash);
    rc = pg_run(s, "UPDATE users SET password_hash = $2 WHERE id = $1", &p, &r,
                "storing a password", err);
    if (!rc && no_change(r))
        rc = err_set(err, ERR_NOT_FOUND, "user", "user \"%s\" not found", user_id);
    PQclear(r);
    pg_params_release(&p);
    return rc;
}

int pg_session_put(struct store *s, const char *id_hash, const char *user_id, const char *csrf,
                   int64_t expires, int64_t now, struct err *err)
{
    struct pg_params p = PG_PARAMS_INIT;
    int rc;

    pg_assert_writing(s);
    pg_params_int(&p, now);
    rc = pg_run(s, "DELETE FROM sessions WHERE expires <= $1", &p, NULL, "removing ended sessions",
                err);
    pg_params_release(&p);
    if (rc)
        return rc;
    pg_params_text(&p, id_hash);
    pg_params_text(&p, user_id);
    pg_params_text(&p, csrf);
    pg_params_int(&p, expires);
    rc = write_guarded(s, "session_put",
                       "INSERT INTO sessions (id_hash, user_id, csrf, expires)"
                       " VALUES ($1, $2, $3, $4)",
                       &p, NULL, "storing a session", err);
    if (rc == PG_FOREIGN)
        rc = err_set(err, ERR_NOT_FOUND, "user", "user not found");
    else if (rc > 0)
        rc = err_set(err, ERR_INTERNAL, NULL, "database failure while storing a session");
    pg_params_release(&p);
    return rc;
}

int pg_session_get(struct store *s, const char *id_hash, int64_t now, json_t **user, char **csrf,
                   struct err *err)
{
    struct pg_params p = PG_PARAMS_INIT;
    PGresult *r = NULL;
    int rc;

    pg_params_text(&p, id_hash);
    pg_params_int(&p, now);
    rc = pg_run(s,
                "SELECT " PG_USER_COLUMNS ", s.csrf FROM sessions s"
                " JOIN users u ON u.id = s.user_id"
                " WHERE s.id_hash = $1 AND s.expires > $2 AND u.state = 'active'",
                &p, &r, "looking up a session", err);
    if (!rc)
        rc = user_and_text(r, user, csrf);
    /* Never echo the hash. */
    if (rc > 0)
        rc = err_set(err, ERR_NOT_FOUND, NULL, "session not found or ended");
    PQclear(r);
    pg_params_release(&p);
    return rc;
}

int pg_session_delete(struct store *s, const char *id_hash, const char *user_id, struct err *err)
{
    struct pg_params p = PG_PARAMS_INIT;
    int rc;

    pg_assert_writing(s);
    pg_params_text(&p, id_hash ? id_hash : user_id);
    rc = pg_run(s,
                id_hash ? "DELETE FROM sessions WHERE id_hash = $1"
                        : "DELETE FROM sessions WHERE user_id = $1",
                &p, NULL, "removing a session", err);
    pg_params_release(&p);
    return rc;
}

int pg_token_list(struct store *s, const char *user_id, json_t **tokens, struct err *err)
{
    struct pg_params p = PG_PARAMS_INIT;
    PGresult *r = NULL;
    int rc;

    *tokens = NULL;
    pg_params_text(&p, user_id);
    rc = pg_run(s,
                "SELECT id, label, created FROM tokens WHERE user_id = $1"
                " ORDER BY created COLLATE \"C\", id COLLATE \"C\"",
                &p, &r, "listing a user's tokens", err);
    if (!rc) {
        *tokens = json_array();
        for (int i = 0; i < PQntuples(r); i++)
            json_array_append_new(*tokens,
                                  json_pack("{s:o, s:o, s:o}", "id", pg_json_string(r, i, 0),
                                            "label", pg_json_string(r, i, 1), "created",
                                            pg_json_string(r, i, 2)));
    }
    PQclear(r);
    pg_params_release(&p);
    return rc;
}

int pg_user_state_set(struct store *s, const char *user_id, const char *state, struct err *err)
{
    struct pg_params p = PG_PARAMS_INIT;
    PGresult *r = NULL;
    int rc;

    pg_assert_writing(s);
    pg_params_text(&p, user_id);
    pg_params_text(&p, state);
    rc = pg_run(s, "UPDATE users SET state = $2 WHERE id = $1", &p, &r, "setting a user's state",
                err);
    if (!rc && !strcmp(PQcmdTuples(r), "0"))
        rc = err_set(err, ERR_NOT_FOUND, "user", "user \"%s\" not found", user_id);
    PQclear(r);
    pg_params_release(&p);
    return rc;
}
