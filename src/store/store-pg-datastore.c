/*
 * store-pg-datastore.c - the datastore tables of the PostgreSQL backend (issue 9):
 * store-datastore.h's contracts, with the SQLite backend's values and errors.
 * docs/internals/store.md, "The PostgreSQL store", "Datastore tables".
 *
 * Each resource's rows are the table datastore.t_<hex> (<hex>: the resource id without
 * dashes): _id bigint (primary key), then c_1 … c_n, one per field in order, bigint for
 * int8 and text for every other type, holding the canonical text of core/dstype.h as it
 * came (numeric ".097" stays ".097", "007" stays "007"); and, for tables built with
 * fulltext that have text fields, fts tsvector (GIN index) of the build's tokens: each
 * token prefixed with its field's number and \x1f (a query in any field ORs the text
 * fields' prefixes), quoted, so that no PostgreSQL parser or dictionary touches it (the
 * catalog's way: one- and two-character Chinese queries behave as on SQLite). The meta
 * (fields, primary key, indexes, the module's meta, rows, generation) is a row of
 * datastore_tables. The view datastore."<resource id>" shows the table with the field
 * ids as column names and typed values for datastore_search_sql
 * (store-pg-datastore-sql.c).
 *
 * Every change runs on a connection of its own (pg_conn_take) in one transaction, under
 * a transaction-level advisory lock per resource (writers of one table take turns,
 * across processes): a build creates b_<hex>_<n> and fills it through COPY FROM STDIN
 * (PQputCopyData in 256 KiB batches), and its commit adds the keys and indexes, drops
 * the old table and renames the new one in the same transaction, so a failed build
 * leaves nothing and the old table serves until the commit. Reads run in a REPEATABLE
 * READ snapshot on a pooled connection; a cursor keeps it until freed and reads its rows
 * in batches (FETCH) when there may be many.
 */
#include <ctype.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <time.h>

#include "core/buf.h"
#include "core/limits.h"
#include "core/log.h"
#include "core/parse.h"
#include "core/timeutil.h"
#include "store/store-pg-ds-int.h"
#include "core/util.h"

/* First key of the per-resource advisory locks (the second is hashtext(resource id)). */
#define PGDS_LOCK_CLASS "70217888"
/* Bytes of COPY data sent at once. */
#define PGDS_COPY_BATCH (256u * 1024)
/* maintenance_work_mem of a build's full-text (GIN) index. */
#define PGDS_GIN_MEMORY "256MB"

static atomic_uint_fast64_t build_serial;

/* ---- Helpers ------------------------------------------------------------------------- */
int pgds_not_found(const char *resource_id, struct err *err)
{
    return err_set(err, ERR_NOT_FOUND, "resource_id", SQDS_NOT_FOUND, resource_id);
}

int pgds_lock(PGconn *c, const char *id, struct err *err)
{
    struct pg_params p = PG_PARAMS_INIT;
    int rc;

    pg_params_text(&p, id);
    rc = pg_exec(c, "SELECT pg_advisory_xact_lock(" PGDS_LOCK_CLASS ", hashtext($1))", &p, NULL,
                 "locking a datastore table", err);
    pg_params_release(&p);
    return rc;
}

void pgds_table_release(struct pgds_table *t)
{
    for (size_t i = 0; i < t->nfields; i++)
        free(t->fields[i].id);
    free(t->fields);
    free(t->pk);
    json_decref(t->indexes);
    json_decref(t->meta);
    memset(t, 0, sizeof(*t));
}

ssize_t pgds_field_find(const struct pgds_table *t, const char *id)
{
    for (size_t i = 0; id && i < t->nfields; i++)
        if (str_eq(t->fields[i].id, id))
            return (ssize_t)i;
    return -1;
}

int pgds_table_load(PGconn *c, const char *id, bool for_update, struct pgds_table *t,
                    struct err *err)
{
    struct pg_params p = PG_PARAMS_INIT;
    PGresult *r = NULL;
    json_t *fields = NULL, *pk = NULL;
    int rc;

    pgds_table_release(t);
    pg_params_text(&p, id);
    rc = pg_exec(c,
                 for_update
                         ? "SELECT fields, primary_key, indexes, meta, fulltext, rows, generation"
                           " FROM datastore_tables WHERE resource_id = $1 FOR UPDATE"
                         : "SELECT fields, primary_key, indexes, meta, fulltext, rows, generation"
                           " FROM datastore_tables WHERE resource_id = $1",
                 &p, &r, "reading a datastore table's meta", err);
    if (rc)
        goto out;
    if (PQntuples(r) == 0) {
        rc = pgds_not_found(id, err);
        goto out;
    }
    xsnprintf(t->id, sizeof(t->id), "%s", id);
    sqds_id_parse(id, t->id, t->hex);
    fields = json_loads(PQgetvalue(r, 0, 0), 0, NULL);
    pk = json_loads(PQgetvalue(r, 0, 1), 0, NULL);
    t->indexes = json_loads(PQgetvalue(r, 0, 2), 0, NULL);
    t->meta = json_loads(PQgetvalue(r, 0, 3), 0, NULL);
    t->fulltext = !strcmp(PQgetvalue(r, 0, 4), "t");
    t->rows = (uint64_t)pg_int(r, 0, 5);
    t->generation = (uint64_t)pg_int(r, 0, 6);
    if (!json_is_array(fields) || !json_is_array(pk) || !json_is_array(t->indexes) ||
        !json_is_object(t->meta)) {
        rc = err_set(err, ERR_INTERNAL, NULL, "the meta of datastore table \"%s\" is corrupt", id);
        goto out;
    }
    t->fields = xcalloc(json_array_size(fields) + 1, sizeof(*t->fields));
    for (size_t i = 0; i < json_array_size(fields); i++) {
        json_t *f = json_array_get(fields, i);
        const char *fid = json_string_value(json_object_get(f, "id"));
        const char *ty = json_string_value(json_object_get(f, "type"));

        if (!fid || !ty || !dstype_parse(ty, &t->fields[i].type)) {
            rc = err_set(err, ERR_INTERNAL, NULL, "the meta of datastore table \"%s\" is corrupt",
                         id);
            goto out;
        }
        t->fields[i].id = xstrdup(fid);
        t->nfields = i + 1;
        if (t->fields[i].type == DSTYPE_TEXT)
            t->has_fts = t->fulltext;
    }
    t->pk = xcalloc(json_array_size(pk) + 1, sizeof(*t->pk));
    for (size_t i = 0; i < json_array_size(pk); i++) {
        ssize_t f = pgds_field_find(t, json_string_value(json_array_get(pk, i)));

        if (f < 0) {
            rc = err_set(err, ERR_INTERNAL, NULL, "the meta of datastore table \"%s\" is corrupt",
                         id);
            goto out;
        }
        t->pk[t->npk++] = (size_t)f;
    }
out:
    json_decref(fields);
    json_decref(pk);
    PQclear(r);
    pg_params_release(&p);
    return rc;
}

/* The fields of a table as stored in datastore_tables.fields. */
static char *fields_text(const struct pgds_field *fields, size_t n)
{
    json_t *a = json_array();
    char *text;

    for (size_t i = 0; i < n; i++)
        json_array_append_new(a, json_pack("{s:s, s:s}", "id", fields[i].id, "type",
                                           dstype_name(fields[i].type)));
    text = json_dumps(a, JSON_COMPACT);
    json_decref(a);
    return text;
}

/* The column type of a field. */
static const char *column_type(enum dstype type)
{
    return type == DSTYPE_INT8 ? "bigint" : "text";
}

/* The view column of a field: typed as datastore_search_sql shows it (timestamps stay
 * text: PostgreSQL's timestamp output is not the canonical ISO 8601 text). */
static const char *view_cast(enum dstype type)
{
    switch (type) {
    case DSTYPE_NUMERIC:
        return "::numeric";
    case DSTYPE_BOOL:
        return "::boolean";
    case DSTYPE_DATE:
        return "::date";
    case DSTYPE_JSON:
        return "::json";
    default:
        return "";
    }
}

/* Appends a quoted identifier (double quotes doubled). */
static void add_ident(struct buf *b, const char *id)
{
    buf_addch(b, '"');
    for (; *id; id++) {
        if (*id == '"')
            buf_addch(b, '"');
        buf_addch(b, *id);
    }
    buf_addch(b, '"');
}

/* (Re)creates the view of table t_<hex> for datastore_search_sql, in c's transaction. */
static int view_create(PGconn *c, const char *id, const char *hex, const struct pgds_field *fields,
                       size_t n, struct err *err)
{
    struct buf sql;
    int rc;

    buf_init(&sql, 0);
    buf_addstr(&sql, "DROP VIEW IF EXISTS datastore.");
    add_ident(&sql, id);
    buf_addstr(&sql, "; CREATE VIEW datastore.");
    add_ident(&sql, id);
    buf_addstr(&sql, " AS SELECT _id");
    for (size_t i = 0; i < n; i++) {
        buf_addf(&sql, ", c_%zu%s AS ", i + 1, view_cast(fields[i].type));
        add_ident(&sql, fields[i].id);
    }
    buf_addf(&sql, " FROM datastore.t_%s; GRANT SELECT ON datastore.", hex);
    add_ident(&sql, id);
    buf_addstr(&sql, " TO " PG_DS_READER);
    rc = pg_exec(c, sql.buf, NULL, NULL, "creating a datastore view", err);
    buf_release(&sql);
    return rc;
}

/*
 * Runs sql (DDL that drops or replaces a table readers may hold: DROP VIEW, DROP TABLE)
 * in c's transaction, waiting for the readers without making new ones wait long: each try
 * waits at most PGDS_SWAP_WAIT for the lock (new readers queue behind a waiting
 * ACCESS EXCLUSIVE request, and a reader streaming a dump may need a server thread they
 * hold), then backs off and tries again, for up to PGDS_SWAP_TRIES tries.
 */
static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};

    nanosleep(&ts, NULL);
}

#define PGDS_SWAP_WAIT  "100ms"
#define PGDS_SWAP_TRIES 600
static int swap_ddl(PGconn *c, const char *sql, const char *what, struct err *err)
{
    /* Set before the savepoint: a rollback to it would undo a SET LOCAL made inside. */
    int rc = pg_exec(c, "SET LOCAL lock_timeout = '" PGDS_SWAP_WAIT "'", NULL, NULL, what, err);

    for (int i = 0; !rc; i++) {
        PGresult *r;

        rc = pg_exec(c, "SAVEPOINT swap", NULL, NULL, what, err);
        if (rc)
            break;
        r = PQexec(c, sql);
        const char *state = PQresultErrorField(r, PG_DIAG_SQLSTATE);
        bool busy = state && !strcmp(state, "55P03") && i < PGDS_SWAP_TRIES;

        if (PQresultStatus(r) == PGRES_COMMAND_OK) {
            PQclear(r);
            return pg_exec(c, "RELEASE SAVEPOINT swap; SET LOCAL lock_timeout = 0", NULL, NULL,
                           what, err);
        }
        if (!busy) {
            log_error("store: postgresql: %s: %s", what, PQresultErrorMessage(r));
            rc = err_set(err, state && !strcmp(state, "55P03") ? ERR_UNAVAILABLE : ERR_INTERNAL,
                         NULL, "database failure while %s", what);
        }
        PQclear(r);
        if (!rc) {
            rc = pg_exec(c, "ROLLBACK TO SAVEPOINT swap", NULL, NULL, what, err);
            sleep_ms(20);
        }
    }
    return rc;
}

/* ---- Values ------------------------------------------------------------------------------ */

/* Appends v's text (an int8's decimal digits) to out. */
static void value_text(const struct sqds_bindv *v, struct buf *out)
{
    if (v->kind == SQDS_B_INT)
        buf_addf(out, "%" PRId64, v->i);
    else
        buf_add(out, v->s, v->len);
}

/* Adds v as a text parameter (NULL: SQL NULL). */
static void param_value(struct pg_params *p, const struct sqds_bindv *v, struct buf *tmp)
{
    if (v->kind == SQDS_B_NULL) {
        pg_params_text(p, NULL);
        return;
    }
    buf_reset(tmp);
    value_text(v, tmp);
    pg_params_text(p, tmp->buf);
}

/* A value PostgreSQL text cannot hold: a NUL byte. */
static int nul_check(const struct sqds_bindv *v, const char *field, const char *place,
                     struct err *err)
{
    if (v->kind == SQDS_B_TEXT && memchr(v->s, 0, v->len))
        return err_set(err, ERR_VALIDATION, place, "a value of field \"%s\" holds a NUL byte",
                       field);
    return 0;
}

/* Appends one lexeme of a tsvector or tsquery literal: quoted, quotes and backslashes
 * doubled. */
static void add_lexeme(struct buf *out, const char *prefix, const char *tok, size_t len)
{
    buf_addch(out, '\'');
    buf_addstr(out, prefix);
    for (size_t i = 0; i < len; i++) {
        if (tok[i] == '\'' || tok[i] == '\\')
            buf_addch(out, tok[i]);
        buf_addch(out, tok[i]);
    }
    buf_addch(out, '\'');
}

/* The bytes of a row's tsvector literal: under PostgreSQL's 1 MiB of lexemes per tsvector. */
#define PGDS_TSVECTOR_MAX 1000000
/* The longest lexeme PostgreSQL keeps (2 KiB less one); longer tokens are not indexed. */
#define PGDS_LEXEME_MAX 2046

/*
 * The tsvector literal of a row's text fields into out: each token of tokenize(value)
 * as itself and as "<field number>\x1f<token>". vals[i] is field i's value.
 */
static void fts_literal(const struct pgds_field *fields, size_t n, const struct sqds_bindv *vals,
                        store_tokenize_fn tokenize, struct buf *tmp, struct buf *toks,
                        struct buf *out)
{
    buf_reset(out);
    for (size_t i = 0; i < n; i++) {
        char prefix[24];
        const char *p;

        if (fields[i].type != DSTYPE_TEXT || vals[i].kind != SQDS_B_TEXT)
            continue;
        buf_reset(tmp);
        buf_add(tmp, vals[i].s, vals[i].len);
        buf_reset(toks);
        tokenize(tmp->buf, toks);
        xsnprintf(prefix, sizeof(prefix), "%zu\x1f", i + 1);
        for (p = toks->buf; *p;) {
            size_t len;

            while (*p == ' ')
                p++;
            len = strcspn(p, " ");
            if (!len)
                break;
            /* A tsvector holds at most 1 MiB of lexemes: a row's tokens past that are not
             * indexed (the literal is never smaller than what it stores). */
            if (out->len + 2 * len + strlen(prefix) + 4 > PGDS_TSVECTOR_MAX)
                return;
            if (len <= PGDS_LEXEME_MAX - strlen(prefix)) {
                add_lexeme(out, prefix, p, len);
                buf_addch(out, ' ');
            }
            p += len;
        }
    }
}

/* ---- Build ----------------------------------------------------------------------------- */
struct store_ds_build {
    struct store_ds_build_head head;
    struct store *s;
    PGconn *c;
    char id[SQDS_ID_SIZE];
    char hex[SQDS_HEX_SIZE];
    char name[80]; /* b_<hex>_<pid>_<n> */
    struct pgds_field *fields;
    size_t nfields;
    size_t *pk;
    size_t npk;
    json_t *indexes; /* [[field id, …], …] */
    size_t **index_cols;
    size_t *index_sizes;
    size_t nindexes;
    bool fulltext, has_fts;
    store_tokenize_fn tokenize;
    uint64_t rows;
    bool copying;
    /* Begun inside the calling thread's write transaction (store_begin): the build runs on
     * that connection and its commit leaves the COMMIT to store_commit. */
    bool joined;
    struct buf data; /* COPY text not sent yet */
    struct buf tmp, toks, fts;
    struct sqds_bindv *vals;
    uint64_t t0; /* time_mono_us() at begin, for the log */
};

static void build_free(struct store_ds_build *b)
{
    if (!b)
        return;
    if (b->c && b->copying)
        PQputCopyEnd(b->c, "abandoned");
    if (b->c) {
        PGresult *r;

        while ((r = PQgetResult(b->c)))
            PQclear(r);
    }
    if (!b->joined)
        pg_conn_give(b->s, b->c);
    for (size_t i = 0; i < b->nfields; i++)
        free(b->fields[i].id);
    free(b->fields);
    free(b->pk);
    for (size_t i = 0; i < b->nindexes; i++)
        free(b->index_cols[i]);
    free(b->index_cols);
    free(b->index_sizes);
    json_decref(b->indexes);
    buf_release(&b->data);
    buf_release(&b->tmp);
    buf_release(&b->toks);
    buf_release(&b->fts);
    free(b->vals);
    free(b);
}

static int field_index(const struct store_ds_build *b, const char *id, const char *place,
                       size_t *out, struct err *err)
{
    for (size_t i = 0; id && i < b->nfields; i++) {
        if (!strcmp(b->fields[i].id, id)) {
            *out = i;
            return 0;
        }
    }
    return err_set(err, ERR_VALIDATION, place, "\"%s\" is not a field of the table", id ? id : "");
}

/* Copies and checks def, with the SQLite backend's messages. */
static int def_copy(struct store_ds_build *b, const struct store_ds_table_def *def, struct err *err)
{
    size_t i, j;

    if (def->nfields > LIMIT_DATASTORE_FIELDS)
        return err_set(err, ERR_VALIDATION, "fields", "too many fields (at most %u)",
                       LIMIT_DATASTORE_FIELDS);
    b->fields = xcalloc(def->nfields + 1, sizeof(*b->fields));
    b->vals = xcalloc(def->nfields + 1, sizeof(*b->vals));
    for (i = 0; i < def->nfields; i++) {
        const char *id = def->fields[i].id;
        size_t len = id ? strlen(id) : 0;

        if (!len)
            return err_set(err, ERR_VALIDATION, "fields", "a field has an empty id");
        if (len > LIMIT_INGEST_FIELD_ID)
            return err_set(err, ERR_VALIDATION, "fields",
                           "field id \"%.*s…\" is longer than %u bytes", 20, id,
                           LIMIT_INGEST_FIELD_ID);
        if (id[0] == '_')
            return err_set(err, ERR_VALIDATION, "fields", "field id \"%s\" starts with \"_\"", id);
        if ((unsigned)def->fields[i].type >= DSTYPE_COUNT)
            return err_set(err, ERR_VALIDATION, "fields", "field \"%s\" has an unknown type", id);
        for (j = 0; j < i; j++)
            if (!strcasecmp(b->fields[j].id, id))
                return err_set(err, ERR_VALIDATION, "fields",
                               "field ids \"%s\" and \"%s\" differ only in case: SQL would "
                               "take them for one",
                               b->fields[j].id, id);
        b->fields[i].id = xstrdup(id);
        b->fields[i].type = def->fields[i].type;
        b->nfields = i + 1;
        if (def->fields[i].type == DSTYPE_TEXT)
            b->has_fts = def->fulltext;
    }
    b->pk = xcalloc(def->nprimary_key + 1, sizeof(*b->pk));
    for (i = 0; i < def->nprimary_key; i++) {
        int rc = field_index(b, def->primary_key[i], "primary_key", &b->pk[i], err);

        if (rc)
            return rc;
        for (j = 0; j < i; j++)
            if (b->pk[j] == b->pk[i])
                return err_set(err, ERR_VALIDATION, "primary_key",
                               "field \"%s\" is named twice in the primary key",
                               def->primary_key[i]);
        b->npk = i + 1;
    }
    b->indexes = json_array();
    b->index_cols = xcalloc(def->nindexes + 1, sizeof(*b->index_cols));
    b->index_sizes = xcalloc(def->nindexes + 1, sizeof(*b->index_sizes));
    for (i = 0; i < def->nindexes; i++) {
        json_t *names = json_array();

        json_array_append_new(b->indexes, names);
        if (!def->index_sizes[i] || def->index_sizes[i] > LIMIT_DATASTORE_FIELDS)
            return err_set(err, ERR_VALIDATION, "indexes", "an index names no field");
        b->index_cols[i] = xcalloc(def->index_sizes[i], sizeof(**b->index_cols));
        b->nindexes = i + 1;
        for (j = 0; j < def->index_sizes[i]; j++) {
            const char *fid = def->indexes[i] ? def->indexes[i][j] : NULL;
            int rc = field_index(b, fid, "indexes", &b->index_cols[i][j], err);

            if (rc)
                return rc;
            b->index_sizes[i] = j + 1;
            json_array_append_new(names, json_string(fid));
        }
    }
    b->fulltext = def->fulltext;
    b->tokenize = def->tokenize;
    if (b->fulltext && !b->tokenize)
        return err_set(err, ERR_INTERNAL, NULL, "a full-text index needs a tokenizer");
    return 0;
}

/* Sends what the build has buffered to the server (COPY data). */
static int copy_flush(struct store_ds_build *b, struct err *err)
{
    if (!b->data.len)
        return 0;
    if (PQputCopyData(b->c, b->data.buf, (int)b->data.len) != 1) {
        log_error("store: postgresql: sending rows: %s", PQerrorMessage(b->c));
        return err_set(err, ERR_INTERNAL, NULL, "database failure while sending datastore rows");
    }
    buf_reset(&b->data);
    return 0;
}

static int pgds_build_begin(struct store *s, const char *resource_id,
                            const struct store_ds_table_def *def, struct store_ds_build **out,
                            struct err *err)
{
    struct store_ds_build *b = xcalloc(1, sizeof(*b));
    struct buf sql;
    PGresult *r = NULL;
    int rc;

    *out = NULL;
    buf_init(&sql, 0);
    b->head.s = s;
    b->s = s;
    buf_init(&b->data, 0);
    buf_init(&b->tmp, 0);
    buf_init(&b->toks, 0);
    buf_init(&b->fts, 0);
    if (!sqds_id_parse(resource_id, b->id, b->hex)) {
        rc = err_set(err, ERR_VALIDATION, "resource_id", "resource id \"%s\" is not a UUID",
                     resource_id);
        goto out;
    }
    rc = def_copy(b, def, err);
    b->c = pg_writing_conn(s);
    b->joined = b->c != NULL;
    if (!rc && !b->joined)
        rc = pg_conn_take(s, &b->c, err);
    if (rc)
        goto out;
    xsnprintf(b->name, sizeof(b->name), "b_%s_%ld_%" PRIuFAST64, b->hex, (long)getpid(),
              atomic_fetch_add(&build_serial, 1));
    buf_addf(&sql, "%sCREATE TABLE datastore.%s (_id bigint NOT NULL", b->joined ? "" : "BEGIN; ",
             b->name);
    for (size_t i = 0; i < b->nfields; i++)
        buf_addf(&sql, ", c_%zu %s", i + 1, column_type(b->fields[i].type));
    if (b->has_fts)
        buf_addstr(&sql, ", fts tsvector");
    buf_addstr(&sql, ")");
    rc = pg_exec(b->c, sql.buf, NULL, NULL, "creating a datastore table", err);
    if (rc)
        goto out;
    buf_reset(&sql);
    buf_addf(&sql, "COPY datastore.%s FROM STDIN", b->name);
    r = PQexec(b->c, sql.buf);
    if (PQresultStatus(r) != PGRES_COPY_IN) {
        log_error("store: postgresql: starting COPY: %s", PQerrorMessage(b->c));
        rc = err_set(err, ERR_INTERNAL, NULL, "database failure while creating a datastore table");
        goto out;
    }
    b->copying = true;
    b->t0 = time_mono_us();
    *out = b;
    b = NULL;
out:
    PQclear(r);
    buf_release(&sql);
    build_free(b);
    return rc;
}

/* Appends text in COPY's text format: backslash, tab, newline and CR escaped. */
static void copy_text(struct buf *out, const char *s, size_t len)
{
    size_t start = 0;

    for (size_t i = 0; i < len; i++) {
        const char *esc = NULL;

        switch (s[i]) {
        case '\\':
            esc = "\\\\";
            break;
        case '\t':
            esc = "\\t";
            break;
        case '\n':
            esc = "\\n";
            break;
        case '\r':
            esc = "\\r";
            break;
        default:
            continue;
        }
        buf_add(out, s + start, i - start);
        buf_addstr(out, esc);
        start = i + 1;
    }
    buf_add(out, s + start, len - start);
}

int pgds_build_row_id(struct store_ds_build *b, int64_t id, const struct dsvalue *values,
                      struct err *err)
{
    size_t mark = b->data.len;
    int rc;

    if (b->rows == INT64_MAX)
        return err_set(err, ERR_TOO_LARGE, NULL, "too many rows");
    if (id < 1)
        return err_set(err, ERR_VALIDATION, "_id", "row id %" PRId64 " is not positive", id);
    for (size_t i = 0; i < b->npk; i++)
        if (values[b->pk[i]].kind == DSVALUE_NULL)
            return err_set(err, ERR_VALIDATION, "primary_key",
                           "primary key field \"%s\" is empty (row %" PRIu64 ")",
                           b->fields[b->pk[i]].id, b->rows + 1);
    buf_addf(&b->data, "%" PRId64, id);
    for (size_t i = 0; i < b->nfields; i++) {
        struct sqds_bindv *v = &b->vals[i];

        rc = sqds_value_convert(b->fields[i].type, &values[i], b->fields[i].id, b->fields[i].id, v,
                                err);
        if (!rc)
            rc = nul_check(v, b->fields[i].id, b->fields[i].id, err);
        if (rc) {
            buf_setlen(&b->data, mark);
            return rc;
        }
        buf_addch(&b->data, '\t');
        if (v->kind == SQDS_B_NULL)
            buf_addstr(&b->data, "\\N");
        else if (v->kind == SQDS_B_INT)
            buf_addf(&b->data, "%" PRId64, v->i);
        else
            copy_text(&b->data, v->s, v->len);
    }
    if (b->has_fts) {
        fts_literal(b->fields, b->nfields, b->vals, b->tokenize, &b->tmp, &b->toks, &b->fts);
        buf_addch(&b->data, '\t');
        copy_text(&b->data, b->fts.buf, b->fts.len);
    }
    buf_addch(&b->data, '\n');
    b->rows++;
    if (b->data.len >= PGDS_COPY_BATCH)
        return copy_flush(b, err);
    return 0;
}

static int pgds_build_row(struct store_ds_build *b, const struct dsvalue *values, struct err *err)
{
    return pgds_build_row_id(b, (int64_t)b->rows + 1, values, err);
}

/* The message of a failed COPY: values PostgreSQL refused (invalid UTF-8 …) are the
 * input's fault, the rest the store's. */
static int copy_error(PGconn *c, const PGresult *r, struct err *err)
{
    const char *state = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;
    const char *msg = r ? PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY) : NULL;

    log_error("store: postgresql: loading rows: %s",
              r ? PQresultErrorMessage(r) : PQerrorMessage(c));
    if (state && (!strncmp(state, "22", 2)))
        return err_set(err, ERR_VALIDATION, NULL, "a value cannot be stored: %s",
                       msg ? msg : "invalid value");
    if (state && !strcmp(state, "54000"))
        return err_set(err, ERR_TOO_LARGE, NULL, "a row cannot be stored: %s",
                       msg ? msg : "too large");
    return err_set(err, ERR_INTERNAL, NULL, "database failure while loading datastore rows");
}

/* The duplicate key of a failed unique index of build b (-ERR_CONFLICT naming it). */
static int duplicate_key(struct store_ds_build *b, struct err *err)
{
    struct buf sql, names, key;
    PGresult *r = NULL;
    int rc;

    buf_init(&sql, 0);
    buf_init(&names, 0);
    buf_init(&key, 0);
    for (size_t i = 0; i < b->npk; i++) {
        buf_addstr(&names, i ? ", " : "");
        buf_addstr(&names, b->fields[b->pk[i]].id);
    }
    buf_addstr(&sql, "SELECT ");
    for (size_t i = 0; i < b->npk; i++)
        buf_addf(&sql, "min(c_%zu::text), ", b->pk[i] + 1);
    buf_addf(&sql, "min(_id) FROM datastore.%s GROUP BY ", b->name);
    for (size_t i = 0; i < b->npk; i++)
        buf_addf(&sql, "%sc_%zu%s", i ? ", " : "", b->pk[i] + 1,
                 b->fields[b->pk[i]].type == DSTYPE_NUMERIC ? "::numeric" : "");
    buf_addstr(&sql, " HAVING count(*) > 1 ORDER BY min(_id) LIMIT 1");
    rc = pg_exec(b->c, "ROLLBACK TO SAVEPOINT pk", NULL, NULL, "finding a duplicate key", err);
    if (!rc)
        rc = pg_exec(b->c, sql.buf, NULL, &r, "finding a duplicate primary key", err);
    if (!rc && PQntuples(r) == 1) {
        for (size_t i = 0; i < b->npk; i++) {
            buf_addstr(&key, i ? ", " : "");
            buf_addstr(&key, PQgetvalue(r, 0, (int)i));
        }
        rc = err_set(err, ERR_CONFLICT, "primary_key",
                     "duplicate value \"%s\" of primary key \"%s\" (rows from %s)", key.buf,
                     names.buf, PQgetvalue(r, 0, (int)b->npk));
    } else if (!rc) {
        rc = err_set(err, ERR_CONFLICT, "primary_key", "duplicate value of primary key \"%s\"",
                     names.buf);
    }
    PQclear(r);
    buf_release(&sql);
    buf_release(&names);
    buf_release(&key);
    return rc < 0 ? rc : -ERR_CONFLICT;
}

/* Appends the column list of an index over cols (numeric by value). */
static void index_columns(struct buf *sql, const struct pgds_field *fields, const size_t *cols,
                          size_t n)
{
    buf_addch(sql, '(');
    for (size_t i = 0; i < n; i++)
        buf_addf(sql, "%s(c_%zu%s)", i ? ", " : "", cols[i] + 1,
                 fields[cols[i]].type == DSTYPE_NUMERIC ? "::numeric" : "");
    buf_addch(sql, ')');
}

static char *json_text(const json_t *j)
{
    char *t = json_dumps(j, JSON_COMPACT | JSON_ENCODE_ANY);

    BUG_ON(!t);
    return t;
}

static int pgds_build_commit(struct store_ds_build *b, const json_t *meta, uint64_t *rows,
                             struct err *err)
{
    struct pg_params p = PG_PARAMS_INIT;
    struct buf sql;
    PGresult *r = NULL;
    char *ftext = NULL, *pktext = NULL, *itext = NULL, *mtext = NULL;
    json_t *pk = json_array();
    uint64_t t_copied = 0;
    int rc;

    buf_init(&sql, 0);
    rc = copy_flush(b, err);
    if (rc)
        goto out;
    b->copying = false;
    if (PQputCopyEnd(b->c, NULL) != 1) {
        rc = copy_error(b->c, NULL, err);
        goto out;
    }
    r = PQgetResult(b->c);
    if (PQresultStatus(r) != PGRES_COMMAND_OK) {
        rc = copy_error(b->c, r, err);
        goto out;
    }
    PQclear(r);
    r = NULL;
    while ((r = PQgetResult(b->c)))
        PQclear(r);
    t_copied = time_mono_us();

    buf_addf(&sql, "ALTER TABLE datastore.%s ADD CONSTRAINT %s_id PRIMARY KEY (_id)", b->name,
             b->name);
    rc = pg_exec(b->c, sql.buf, NULL, NULL, "indexing a datastore table", err);
    if (!rc && b->npk) {
        buf_reset(&sql);
        buf_addf(&sql, "CREATE UNIQUE INDEX %s_pk ON datastore.%s ", b->name, b->name);
        index_columns(&sql, b->fields, b->pk, b->npk);
        rc = pg_exec(b->c, "SAVEPOINT pk", NULL, NULL, "indexing a datastore table", err);
        if (!rc)
            rc = pg_exec(b->c, sql.buf, NULL, NULL, "indexing a datastore table", err);
        if (rc == PG_UNIQUE)
            rc = duplicate_key(b, err);
    }
    for (size_t i = 0; !rc && i < b->nindexes; i++) {
        buf_reset(&sql);
        buf_addf(&sql, "CREATE INDEX %s_i%zu ON datastore.%s ", b->name, i + 1, b->name);
        index_columns(&sql, b->fields, b->index_cols[i], b->index_sizes[i]);
        rc = pg_exec(b->c, sql.buf, NULL, NULL, "indexing a datastore table", err);
    }
    if (!rc && b->has_fts) {
        /* GIN builds in memory and flushes when this is full: more is much faster. */
        rc = pg_exec(b->c, "SET LOCAL maintenance_work_mem = '" PGDS_GIN_MEMORY "'", NULL, NULL,
                     "indexing a datastore table", err);
        buf_reset(&sql);
        buf_addf(&sql, "CREATE INDEX %s_fts ON datastore.%s USING gin (fts)", b->name, b->name);
        if (!rc)
            rc = pg_exec(b->c, sql.buf, NULL, NULL, "indexing a datastore table", err);
    }
    /* The swap, under the table's lock. */
    if (!rc)
        rc = pgds_lock(b->c, b->id, err);
    if (rc)
        goto out;
    buf_reset(&sql);
    buf_addstr(&sql, "DROP VIEW IF EXISTS datastore.");
    add_ident(&sql, b->id);
    buf_addf(&sql, "; DROP TABLE IF EXISTS datastore.t_%s; ALTER TABLE datastore.%s RENAME TO t_%s",
             b->hex, b->name, b->hex);
    rc = swap_ddl(b->c, sql.buf, "swapping in a datastore table", err);
    if (!rc)
        rc = view_create(b->c, b->id, b->hex, b->fields, b->nfields, err);
    if (rc)
        goto out;
    for (size_t i = 0; i < b->npk; i++)
        json_array_append_new(pk, json_string(b->fields[b->pk[i]].id));
    ftext = fields_text(b->fields, b->nfields);
    pktext = json_text(pk);
    itext = json_text(b->indexes);
    mtext = json_text(meta ? meta : json_object());
    pg_params_text(&p, b->id);
    pg_params_text(&p, ftext);
    pg_params_text(&p, pktext);
    pg_params_text(&p, itext);
    pg_params_text(&p, mtext);
    pg_params_text(&p, b->fulltext ? "t" : "f");
    pg_params_int(&p, (int64_t)b->rows);
    rc = pg_exec(b->c,
                 "INSERT INTO datastore_tables (resource_id, fields, primary_key, indexes, meta,"
                 " fulltext, rows, generation) VALUES ($1, $2, $3, $4, $5, $6, $7, 1)"
                 " ON CONFLICT (resource_id) DO UPDATE SET fields = excluded.fields,"
                 " primary_key = excluded.primary_key, indexes = excluded.indexes,"
                 " meta = excluded.meta, fulltext = excluded.fulltext, rows = excluded.rows,"
                 " generation = datastore_tables.generation + 1",
                 &p, NULL, "storing a datastore table's meta", err);
    if (!rc && !b->joined)
        rc = pg_exec(b->c, "COMMIT", NULL, NULL, "committing a datastore table", err);
    if (!rc && rows)
        *rows = b->rows;
    if (!rc)
        log_info("store: datastore table of resource \"%s\": %" PRIu64 " rows sent in %.2f s"
                 " (COPY), keys and indexes%s and swap %.2f s",
                 b->id, b->rows, (double)(t_copied - b->t0) / 1e6,
                 b->has_fts ? ", full text included," : "",
                 (double)(time_mono_us() - t_copied) / 1e6);
out:
    if (rc > 0) /* a constraint PostgreSQL names itself */
        rc = err_set(err, ERR_INTERNAL, NULL, "database failure while building a datastore table");
    PQclear(r);
    pg_params_release(&p);
    buf_release(&sql);
    json_decref(pk);
    free(ftext);
    free(pktext);
    free(itext);
    free(mtext);
    build_free(b);
    return rc;
}

static void pgds_build_abort(struct store_ds_build *b)
{
    build_free(b);
}

/* The full-text index is built with the rows (COPY writes each row's tsvector): nothing
 * is ever pending. */
static int pgds_fulltext_build(struct store *s, const char *resource_id, store_tokenize_fn tokenize,
                               const atomic_bool *cancel, struct err *err)
{
    struct store_ds_info info = {0};
    int rc;

    (void)tokenize;
    (void)cancel;
    rc = store_ds_info(s, resource_id, &info, err);
    store_ds_info_release(&info);
    return rc;
}

/* ---- Info, meta, indexes, drop, list --------------------------------------------------------- */
static int pgds_info(struct store *s, const char *resource_id, struct store_ds_info *info,
                     struct err *err)
{
    struct pgds_table t = {0};
    char id[SQDS_ID_SIZE];
    PGconn *c = NULL;
    int rc;

    memset(info, 0, sizeof(*info));
    if (!sqds_id_parse(resource_id, id, NULL))
        return pgds_not_found(resource_id, err);
    rc = pg_conn_take(s, &c, err);
    if (!rc)
        rc = pgds_table_load(c, id, false, &t, err);
    if (!rc) {
        info->fields = json_array();
        for (size_t i = 0; i < t.nfields; i++)
            json_array_append_new(info->fields, json_pack("{s:s, s:s}", "id", t.fields[i].id,
                                                          "type", dstype_name(t.fields[i].type)));
        info->primary_key = json_array();
        for (size_t i = 0; i < t.npk; i++)
            json_array_append_new(info->primary_key, json_string(t.fields[t.pk[i]].id));
        info->indexes = json_incref(t.indexes);
        info->meta = json_incref(t.meta);
        info->rows = t.rows;
        info->generation = t.generation;
        info->fulltext = t.fulltext;
    }
    pgds_table_release(&t);
    pg_conn_give(s, c);
    return rc;
}

/* Starts a change of resource_id's table on a connection of its own: BEGIN, the table's
 * lock, its meta (locked). */
static int change_begin(struct store *s, const char *resource_id, PGconn **c, struct pgds_table *t,
                        struct err *err)
{
    char id[SQDS_ID_SIZE];
    int rc;

    *c = NULL;
    if (!sqds_id_parse(resource_id, id, NULL))
        return pgds_not_found(resource_id, err);
    rc = pg_conn_take(s, c, err);
    if (!rc)
        rc = pg_exec(*c, "BEGIN", NULL, NULL, "starting a datastore change", err);
    if (!rc)
        rc = pgds_lock(*c, id, err);
    if (!rc)
        rc = pgds_table_load(*c, id, true, t, err);
    return rc;
}

/* Ends a change: commit when rc is 0 (else roll back), give the connection back. */
static int change_end(struct store *s, PGconn *c, int rc, struct err *err)
{
    if (!rc && c)
        rc = pg_exec(c, "COMMIT", NULL, NULL, "committing a datastore change", err);
    pg_conn_give(s, c);
    if (rc > 0)
        rc = err_set(err, ERR_INTERNAL, NULL, "database failure while changing a datastore table");
    return rc;
}

static int pgds_meta_put(struct store *s, const char *resource_id, const json_t *meta,
                         struct err *err)
{
    struct pg_params p = PG_PARAMS_INIT;
    struct pgds_table t = {0};
    PGconn *c = NULL;
    char *text = NULL;
    int rc;

    rc = change_begin(s, resource_id, &c, &t, err);
    if (!rc) {
        text = json_text(meta ? meta : json_object());
        pg_params_text(&p, t.id);
        pg_params_text(&p, text);
        rc = pg_exec(c,
                     "UPDATE datastore_tables SET meta = $2, generation = generation + 1"
                     " WHERE resource_id = $1",
                     &p, NULL, "storing a datastore table's meta", err);
    }
    rc = change_end(s, c, rc, err);
    free(text);
    pg_params_release(&p);
    pgds_table_release(&t);
    return rc;
}

static int pgds_index_create(struct store *s, const char *resource_id, const char *const *fields,
                             size_t nfields, struct err *err)
{
    struct pg_params p = PG_PARAMS_INIT;
    struct pgds_table t = {0};
    json_t *names = json_array();
    size_t *cols = xcalloc(nfields + 1, sizeof(*cols));
    struct buf sql;
    PGconn *c = NULL;
    char *text = NULL;
    size_t k;
    int rc;

    buf_init(&sql, 0);
    rc = change_begin(s, resource_id, &c, &t, err);
    if (rc)
        goto out;
    if (!nfields || nfields > LIMIT_DATASTORE_FIELDS) {
        rc = err_set(err, ERR_VALIDATION, "indexes", "an index names no field");
        goto out;
    }
    for (size_t i = 0; i < nfields; i++) {
        ssize_t f = pgds_field_find(&t, fields[i]);

        if (f < 0) {
            rc = err_set(err, ERR_VALIDATION, "indexes", "field \"%s\" is not in the table",
                         fields[i] ? fields[i] : "");
            goto out;
        }
        cols[i] = (size_t)f;
        json_array_append_new(names, json_string(fields[i]));
    }
    for (k = 0; k < json_array_size(t.indexes); k++)
        if (json_equal(json_array_get(t.indexes, k), names))
            goto out; /* one exists */
    buf_addf(&sql, "CREATE INDEX ON datastore.t_%s ", t.hex);
    index_columns(&sql, t.fields, cols, nfields);
    rc = pg_exec(c, sql.buf, NULL, NULL, "creating a datastore index", err);
    if (rc)
        goto out;
    json_array_append(t.indexes, names);
    text = json_text(t.indexes);
    pg_params_text(&p, t.id);
    pg_params_text(&p, text);
    rc = pg_exec(c,
                 "UPDATE datastore_tables SET indexes = $2, generation = generation + 1"
                 " WHERE resource_id = $1",
                 &p, NULL, "storing a datastore table's meta", err);
out:
    rc = change_end(s, c, rc, err);
    buf_release(&sql);
    free(text);
    free(cols);
    json_decref(names);
    pg_params_release(&p);
    pgds_table_release(&t);
    return rc;
}

static int pgds_drop(struct store *s, const char *resource_id, struct err *err)
{
    struct pg_params p = PG_PARAMS_INIT;
    struct pgds_table t = {0};
    struct buf sql;
    PGconn *c = NULL;
    int rc;

    buf_init(&sql, 0);
    rc = change_begin(s, resource_id, &c, &t, err);
    if (!rc) {
        buf_addstr(&sql, "DROP VIEW IF EXISTS datastore.");
        add_ident(&sql, t.id);
        buf_addf(&sql, "; DROP TABLE IF EXISTS datastore.t_%s", t.hex);
        rc = swap_ddl(c, sql.buf, "dropping a datastore table", err);
    }
    if (!rc) {
        pg_params_text(&p, t.id);
        rc = pg_exec(c, "DELETE FROM datastore_tables WHERE resource_id = $1", &p, NULL,
                     "dropping a datastore table", err);
    }
    rc = change_end(s, c, rc, err);
    buf_release(&sql);
    pg_params_release(&p);
    pgds_table_release(&t);
    return rc;
}

static int pgds_list(struct store *s, json_t **ids, struct err *err)
{
    PGresult *r = NULL;
    int rc;

    *ids = NULL;
    rc = pg_run(s, "SELECT resource_id FROM datastore_tables ORDER BY resource_id", NULL, &r,
                "listing datastore tables", err);
    if (!rc) {
        *ids = json_array();
        for (int i = 0; i < PQntuples(r); i++)
            json_array_append_new(*ids, pg_json_string(r, i, 0));
    }
    PQclear(r);
    return rc;
}

/* ---- Writes in place ------------------------------------------------------------------- */

/* Rewrites the tsvector of row _id from its text fields (read back from the table). */
static int fts_refresh(struct store *s, PGconn *c, const struct pgds_table *t, int64_t id,
                       struct sqds_bindv *vals, struct buf *bufs, struct err *err)
{
    struct pg_params p = PG_PARAMS_INIT;
    store_tokenize_fn tokenize = atomic_load(&s->ds_tokenize);
    PGresult *r = NULL;
    int rc;

    if (!t->has_fts)
        return 0;
    if (!tokenize)
        return err_set(err, ERR_INTERNAL, NULL,
                       "changing the rows of a table with a full-text index needs a tokenizer");
    buf_reset(&bufs[0]);
    buf_addstr(&bufs[0], "SELECT _id");
    for (size_t i = 0; i < t->nfields; i++)
        buf_addf(&bufs[0], ", c_%zu", i + 1);
    buf_addf(&bufs[0], " FROM datastore.t_%s WHERE _id = $1", t->hex);
    pg_params_int(&p, id);
    rc = pg_exec(c, bufs[0].buf, &p, &r, "reading a datastore row", err);
    if (rc || PQntuples(r) != 1)
        goto out;
    for (size_t i = 0; i < t->nfields; i++) {
        vals[i].kind = PQgetisnull(r, 0, (int)i + 1) ? SQDS_B_NULL : SQDS_B_TEXT;
        vals[i].s = PQgetvalue(r, 0, (int)i + 1);
        vals[i].len = (size_t)PQgetlength(r, 0, (int)i + 1);
    }
    fts_literal(t->fields, t->nfields, vals, tokenize, &bufs[1], &bufs[2], &bufs[3]);
    pg_params_release(&p);
    pg_params_text(&p, bufs[3].buf);
    pg_params_int(&p, id);
    buf_reset(&bufs[0]);
    buf_addf(&bufs[0], "UPDATE datastore.t_%s SET fts = $1::tsvector WHERE _id = $2", t->hex);
    rc = pg_exec(c, bufs[0].buf, &p, NULL, "indexing a datastore row", err);
out:
    PQclear(r);
    pg_params_release(&p);
    return rc;
}

/* The key of record row (its primary key fields' values) as text, for messages. */
static void key_text(const struct pgds_table *t, const size_t *pkpos, const struct sqds_bindv *bv,
                     struct buf *out)
{
    for (size_t k = 0; k < t->npk; k++) {
        buf_addstr(out, k ? ", " : "");
        value_text(&bv[pkpos[k]], out);
    }
}

static int pgds_upsert(struct store *s, const char *resource_id, enum store_ds_method method,
                       const char *const *fields, size_t nfields, const struct dsvalue *values,
                       size_t nrows, uint64_t *count, struct err *err)
{
    struct pg_params p = PG_PARAMS_INIT;
    struct pgds_table t = {0};
    struct buf find, ins, upd, names, msg, tmp, bufs[4];
    struct sqds_bindv *bv = NULL, *fv = NULL;
    size_t *map = NULL, *pkpos = NULL, j, k, nset = 0;
    uint64_t written = 0, inserted = 0;
    PGresult *r = NULL;
    PGconn *c = NULL;
    int64_t next_id = 1;
    int rc;

    buf_init(&find, 0);
    buf_init(&ins, 0);
    buf_init(&upd, 0);
    buf_init(&names, 0);
    buf_init(&msg, 0);
    buf_init(&tmp, 0);
    for (k = 0; k < ARRAY_SIZE(bufs); k++)
        buf_init(&bufs[k], 0);
    if (count)
        *count = 0;
    rc = change_begin(s, resource_id, &c, &t, err);
    if (rc)
        goto out;
    if (nrows > LIMIT_DATASTORE_RECORDS) {
        rc = err_set(err, ERR_VALIDATION, "records", "too many records (at most %u)",
                     LIMIT_DATASTORE_RECORDS);
        goto out;
    }
    if (method != STORE_DS_INSERT && !t.npk) {
        rc = err_set(err, ERR_VALIDATION, "method",
                     "the table has no primary key: records can only be inserted");
        goto out;
    }
    map = xcalloc(nfields + 1, sizeof(*map));
    bv = xcalloc(nfields + 1, sizeof(*bv));
    fv = xcalloc(t.nfields + 1, sizeof(*fv));
    pkpos = xcalloc(t.npk + 1, sizeof(*pkpos));
    for (j = 0; j < nfields; j++) {
        ssize_t f = pgds_field_find(&t, fields[j]);

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
    for (k = 0; k < t.npk; k++) {
        for (j = 0; j < nfields && map[j] != t.pk[k]; j++)
            ;
        if (j == nfields && method != STORE_DS_INSERT) {
            rc = err_set(err, ERR_VALIDATION, "records",
                         "records need the primary key field \"%s\"", t.fields[t.pk[k]].id);
            goto out;
        }
        pkpos[k] = j;
    }
    for (k = 0; k < t.npk; k++) {
        buf_addstr(&names, k ? ", " : "");
        buf_addstr(&names, t.fields[t.pk[k]].id);
    }
    /* Statements: find by key (numeric by value), insert the named fields, update the
     * named non-key fields. */
    buf_addf(&find, "SELECT _id FROM datastore.t_%s WHERE true", t.hex);
    for (k = 0; k < t.npk; k++) {
        if (t.fields[t.pk[k]].type == DSTYPE_NUMERIC)
            buf_addf(&find, " AND c_%zu::numeric = $%zu::numeric", t.pk[k] + 1, k + 1);
        else
            buf_addf(&find, " AND c_%zu = $%zu", t.pk[k] + 1, k + 1);
    }
    buf_addf(&ins, "INSERT INTO datastore.t_%s (_id", t.hex);
    buf_addf(&upd, "UPDATE datastore.t_%s SET ", t.hex);
    for (j = 0; j < nfields; j++) {
        buf_addf(&ins, ", c_%zu", map[j] + 1);
        for (k = 0; k < t.npk && t.pk[k] != map[j]; k++)
            ;
        if (k == t.npk) {
            buf_addf(&upd, "%sc_%zu = $%zu", nset ? ", " : "", map[j] + 1, nset + 2);
            nset++;
        }
    }
    buf_addstr(&ins, ") VALUES ($1");
    for (j = 0; j < nfields; j++)
        buf_addf(&ins, ", $%zu", j + 2);
    buf_addch(&ins, ')');
    buf_addstr(&upd, " WHERE _id = $1");
    buf_reset(&tmp);
    buf_addf(&tmp, "SELECT coalesce(max(_id), 0) + 1 FROM datastore.t_%s", t.hex);
    rc = pg_exec(c, tmp.buf, NULL, &r, "writing datastore records", err);
    if (rc)
        goto out;
    next_id = pg_int(r, 0, 0);
    PQclear(r);
    r = NULL;

    for (size_t i = 0; i < nrows; i++) {
        const struct dsvalue *row = values + i * nfields;
        int64_t id = 0;
        bool exists = false;

        for (j = 0; j < nfields; j++) {
            rc = sqds_value_convert(t.fields[map[j]].type, &row[j], fields[j], "records", &bv[j],
                                    err);
            if (!rc)
                rc = nul_check(&bv[j], fields[j], "records", err);
            if (rc)
                goto out;
        }
        for (k = 0; k < t.npk; k++) {
            if (pkpos[k] == nfields || bv[pkpos[k]].kind == SQDS_B_NULL) {
                rc = err_set(err, ERR_VALIDATION, "records",
                             "record %zu has no value for primary key field \"%s\"", i + 1,
                             t.fields[t.pk[k]].id);
                goto out;
            }
        }
        if (t.npk) {
            pg_params_release(&p);
            for (k = 0; k < t.npk; k++)
                param_value(&p, &bv[pkpos[k]], &tmp);
            rc = pg_exec(c, find.buf, &p, &r, "finding a record", err);
            if (rc)
                goto out;
            if (PQntuples(r) > 0) {
                exists = true;
                id = pg_int(r, 0, 0);
            }
            PQclear(r);
            r = NULL;
        }
        buf_reset(&msg);
        if (exists && method == STORE_DS_INSERT) {
            key_text(&t, pkpos, bv, &msg);
            rc = err_set(err, ERR_CONFLICT, "records",
                         "duplicate value \"%s\" of primary key \"%s\" (record %zu)", msg.buf,
                         names.buf, i + 1);
            goto out;
        }
        if (!exists && method == STORE_DS_UPDATE) {
            key_text(&t, pkpos, bv, &msg);
            rc = err_set(err, ERR_NOT_FOUND, "records",
                         "no record has primary key \"%s\" = \"%s\" (record %zu)", names.buf,
                         msg.buf, i + 1);
            goto out;
        }
        pg_params_release(&p);
        if (exists) {
            written++;
            if (!nset)
                continue;
            pg_params_int(&p, id);
            for (j = 0; j < nfields; j++) {
                for (k = 0; k < t.npk && t.pk[k] != map[j]; k++)
                    ;
                if (k == t.npk)
                    param_value(&p, &bv[j], &tmp);
            }
            rc = pg_exec(c, upd.buf, &p, NULL, "updating a record", err);
        } else {
            id = next_id++;
            pg_params_int(&p, id);
            for (j = 0; j < nfields; j++)
                param_value(&p, &bv[j], &tmp);
            rc = pg_exec(c, ins.buf, &p, NULL, "inserting a record", err);
            written++;
            inserted++;
        }
        if (rc == PG_UNIQUE) { /* a key given twice in the records */
            key_text(&t, pkpos, bv, &msg);
            rc = err_set(err, ERR_CONFLICT, "records",
                         "duplicate value \"%s\" of primary key \"%s\" (record %zu)", msg.buf,
                         names.buf, i + 1);
        }
        if (!rc)
            rc = fts_refresh(s, c, &t, id, fv, bufs, err);
        if (rc)
            goto out;
    }
    pg_params_release(&p);
    pg_params_text(&p, t.id);
    pg_params_int(&p, (int64_t)inserted);
    rc = pg_exec(c,
                 "UPDATE datastore_tables SET rows = rows + $2, generation = generation + 1"
                 " WHERE resource_id = $1",
                 &p, NULL, "writing datastore records", err);
    if (!rc && count)
        *count = written;
out:
    rc = change_end(s, c, rc, err);
    if (rc && count)
        *count = 0;
    PQclear(r);
    pg_params_release(&p);
    pgds_table_release(&t);
    free(map);
    free(bv);
    free(fv);
    free(pkpos);
    buf_release(&find);
    buf_release(&ins);
    buf_release(&upd);
    buf_release(&names);
    buf_release(&msg);
    buf_release(&tmp);
    for (k = 0; k < ARRAY_SIZE(bufs); k++)
        buf_release(&bufs[k]);
    return rc;
}

/* ---- Generated SQL ------------------------------------------------------------------------ */
void pgds_gen_init(struct pgds_gen *g)
{
    memset(g, 0, sizeof(*g));
    buf_init(&g->sql, 0);
    buf_init(&g->tmp, 0);
}

void pgds_gen_release(struct pgds_gen *g)
{
    buf_release(&g->sql);
    buf_release(&g->tmp);
    pg_params_release(&g->p);
}

/* The column expression of field f (-1: _id) in comparisons and sorts: numeric by value. */
static void gen_column(struct pgds_gen *g, ssize_t f, const struct pgds_table *t, bool by_value)
{
    if (f < 0)
        buf_addstr(&g->sql, "t._id");
    else if (by_value && t->fields[f].type == DSTYPE_NUMERIC)
        buf_addf(&g->sql, "t.c_%zd::numeric", f + 1);
    else
        buf_addf(&g->sql, "t.c_%zd", f + 1);
}

static int query_field(const struct pgds_table *t, const char *name, bool allow_id,
                       const char *place, ssize_t *f, struct err *err)
{
    if (allow_id && str_eq(name, "_id")) {
        *f = -1;
        return 0;
    }
    *f = pgds_field_find(t, name);
    if (*f < 0)
        return err_set(err, ERR_VALIDATION, place, "field \"%s\" is not in the table",
                       name ? name : "");
    return 0;
}

int pgds_gen_filters(struct pgds_gen *g, const struct pgds_table *t,
                     const struct store_ds_filter *fl, size_t n, const char *place, struct err *err)
{
    struct sqds_bindv v;
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
        gen_column(g, f, t, true);
        buf_addstr(&g->sql, " IN (");
        for (size_t j = 0; j < fl[i].nvalues; j++) {
            rc = sqds_value_convert(type, &fl[i].values[j], fl[i].field, place, &v, err);
            if (!rc)
                rc = nul_check(&v, fl[i].field, place, err);
            if (rc)
                return rc;
            param_value(&g->p, &v, &g->tmp);
            buf_addf(&g->sql, "%s$%zu%s", j ? ", " : "", g->p.n,
                     type == DSTYPE_NUMERIC ? "::numeric"
                     : type == DSTYPE_INT8  ? "::bigint"
                                            : "::text");
        }
        if (!fl[i].nvalues)
            buf_addstr(&g->sql, "NULL");
        buf_addch(&g->sql, ')');
    }
    return 0;
}

static int pgds_delete(struct store *s, const char *resource_id,
                       const struct store_ds_filter *filters, size_t nfilters, uint64_t *count,
                       struct err *err)
{
    struct pgds_table t = {0};
    struct pgds_gen g;
    PGresult *r = NULL;
    PGconn *c = NULL;
    uint64_t n = 0;
    int rc;

    pgds_gen_init(&g);
    if (count)
        *count = 0;
    rc = change_begin(s, resource_id, &c, &t, err);
    if (rc)
        goto out;
    buf_addf(&g.sql, "DELETE FROM datastore.t_%s AS t WHERE true", t.hex);
    rc = pgds_gen_filters(&g, &t, filters, nfilters, "filters", err);
    if (!rc)
        rc = pg_exec(c, g.sql.buf, &g.p, &r, "deleting datastore records", err);
    if (rc)
        goto out;
    n = (uint64_t)strtoull(PQcmdTuples(r), NULL, 10);
    PQclear(r);
    r = NULL;
    pg_params_release(&g.p);
    pg_params_text(&g.p, t.id);
    pg_params_int(&g.p, (int64_t)n);
    rc = pg_exec(c,
                 "UPDATE datastore_tables SET rows = rows - $2, generation = generation + 1"
                 " WHERE resource_id = $1",
                 &g.p, NULL, "deleting datastore records", err);
out:
    rc = change_end(s, c, rc, err);
    if (!rc && count)
        *count = n;
    PQclear(r);
    pgds_gen_release(&g);
    pgds_table_release(&t);
    return rc;
}

/* ---- Cursors (store_ds_search and store_ds_sql) ------------------------------------------- */
static size_t cur_ncolumns(const struct store_ds_cursor *c)
{
    return c->ncols;
}

static const char *cur_column(const struct store_ds_cursor *c, size_t i)
{
    return i < c->ncols ? c->names[i] : NULL;
}

static enum dstype cur_type(const struct store_ds_cursor *c, size_t i)
{
    return i < c->ncols ? c->types[i] : DSTYPE_TEXT;
}

static bool cur_truncated(const struct store_ds_cursor *c)
{
    return c->truncated;
}

void pgds_cursor_free(struct store_ds_cursor *c)
{
    if (!c)
        return;
    PQclear(c->res);
    pg_conn_give(c->s, c->conn);
    for (size_t i = 0; i < c->ncols; i++)
        free(c->names[i]);
    free(c->names);
    free(c->types);
    free(c->vals);
    free(c);
}

/* Sets the cursor's columns from a result's (names and types) when it has none yet. */
void pgds_cursor_columns(struct store_ds_cursor *c, const PGresult *r)
{
    if (c->names)
        return;
    c->ncols = (size_t)PQnfields(r);
    c->names = xcalloc(c->ncols + 1, sizeof(*c->names));
    c->types = xcalloc(c->ncols + 1, sizeof(*c->types));
    c->vals = xcalloc(c->ncols + 1, sizeof(*c->vals));
    for (size_t i = 0; i < c->ncols; i++) {
        c->names[i] = xstrdup(PQfname(r, (int)i));
        c->types[i] = pgds_oid_type(PQftype(r, (int)i));
    }
}

enum dstype pgds_oid_type(unsigned oid)
{
    switch (oid) {
    case 20: /* int8 */
    case 21: /* int2 */
    case 23: /* int4 */
        return DSTYPE_INT8;
    case 700:  /* float4 */
    case 701:  /* float8 */
    case 1700: /* numeric */
        return DSTYPE_NUMERIC;
    case 16:
        return DSTYPE_BOOL;
    case 1082:
        return DSTYPE_DATE;
    case 1114: /* timestamp */
    case 1184: /* timestamptz */
        return DSTYPE_TIMESTAMP;
    case 114:  /* json */
    case 3802: /* jsonb */
        return DSTYPE_JSON;
    default:
        return DSTYPE_TEXT;
    }
}

static int cur_next(struct store_ds_cursor *c, const struct dsvalue **values, struct err *err)
{
    int rc;

    *values = NULL;
    for (;;) {
        if (c->cap && c->seen >= c->cap) {
            /* At the cap: one row more tells whether the statement had more. */
            if (c->res && c->row < PQntuples(c->res)) {
                c->truncated = true;
            } else if (!c->done && c->fetch) {
                PQclear(c->res);
                c->res = NULL;
                rc = c->fetch_error(c, "FETCH 1 FROM kaifang_cursor", err);
                if (rc)
                    return rc;
                c->truncated = PQntuples(c->res) > 0;
            }
            c->done = true;
            PQclear(c->res);
            c->res = NULL;
            return 0;
        }
        if (c->res && c->row < PQntuples(c->res))
            break;
        if (c->done || !c->fetch)
            return 0;
        PQclear(c->res);
        c->res = NULL;
        c->row = 0;
        rc = c->fetch_error(c, c->fetch, err);
        if (rc)
            return rc;
        if (PQntuples(c->res) < PGDS_FETCH)
            c->done = true;
        if (PQntuples(c->res) == 0)
            return 0;
    }
    for (size_t i = 0; i < c->ncols; i++) {
        struct dsvalue *v = &c->vals[i];
        int col = (int)i;

        memset(v, 0, sizeof(*v));
        if (PQgetisnull(c->res, c->row, col))
            continue;
        v->s = PQgetvalue(c->res, c->row, col);
        v->len = (size_t)PQgetlength(c->res, c->row, col);
        v->kind = DSVALUE_TEXT;
        if (c->types[i] == DSTYPE_INT8 && !parse_i64(v->s, INT64_MIN, INT64_MAX, &v->i)) {
            v->kind = DSVALUE_INT;
        } else if (c->types[i] == DSTYPE_BOOL && v->len == 1) {
            /* boolean's output (datastore_search_sql): t/f, the canonical true/false */
            v->s = *v->s == 't' ? "true" : "false";
            v->len = strlen(v->s);
        }
    }
    c->row++;
    c->seen++;
    *values = c->vals;
    return 1;
}

static const struct store_ds_cursor_ops cursor_ops = {
        .ncolumns = cur_ncolumns,
        .column = cur_column,
        .type = cur_type,
        .next = cur_next,
        .truncated = cur_truncated,
        .free = pgds_cursor_free,
};

struct store_ds_cursor *pgds_cursor_new(struct store *s)
{
    struct store_ds_cursor *c = xcalloc(1, sizeof(*c));

    c->head.ops = &cursor_ops;
    c->s = s;
    return c;
}

/* Runs a FETCH of a search cursor into c->res. */
static int search_fetch(struct store_ds_cursor *c, const char *sql, struct err *err)
{
    return pg_exec(c->conn, sql, NULL, &c->res, "reading datastore rows", err);
}

int pgds_read_begin(PGconn *c, const char *id, struct err *err)
{
    char hex[SQDS_HEX_SIZE];
    char *sql = NULL;
    PGresult *r = NULL;
    const char *state;
    int rc;

    if (!sqds_id_parse(id, NULL, hex))
        return pgds_not_found(id, err);
    rc = pg_exec(c, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", NULL, NULL,
                 "starting a datastore read", err);
    if (rc)
        return rc;
    /* Before the snapshot (the first query takes it): a swap waited for is then seen
     * whole, the new table and its meta, never the new table as of the old snapshot
     * (empty). */
    sql = xstrfmt("LOCK TABLE datastore.t_%s IN ACCESS SHARE MODE", hex);
    r = PQexec(c, sql);
    state = PQresultErrorField(r, PG_DIAG_SQLSTATE);
    if (PQresultStatus(r) == PGRES_COMMAND_OK)
        rc = 0;
    else if (state && !strcmp(state, "42P01"))
        rc = pgds_not_found(id, err);
    else
        rc = pg_exec(c, sql, NULL, NULL, "starting a datastore read", err); /* its error */
    PQclear(r);
    free(sql);
    return rc;
}

/* ---- store_ds_search ----------------------------------------------------------------------- */

/* The tsquery literal of the text conditions into out (empty when they hold no token). */
static int gen_tsquery(const struct pgds_table *t, const struct store_ds_text *text, size_t n,
                       struct buf *out, struct err *err)
{
    for (size_t i = 0; i < n; i++) {
        char prefix[24] = "";

        if (text[i].field) {
            ssize_t f = pgds_field_find(t, text[i].field);

            if (f < 0)
                return err_set(err, ERR_VALIDATION, "q", "field \"%s\" is not in the table",
                               text[i].field);
            if (t->fields[f].type != DSTYPE_TEXT)
                return err_set(err, ERR_VALIDATION, "q", "field \"%s\" is not a text field",
                               text[i].field);
            xsnprintf(prefix, sizeof(prefix), "%zd\x1f", f + 1);
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
                buf_addstr(out, out->len ? " & " : "");
                if (*prefix) {
                    add_lexeme(out, prefix, p, len);
                } else {
                    /* Any text field: the token under each field's prefix. */
                    size_t nor = 0;

                    buf_addch(out, '(');
                    for (size_t k = 0; k < t->nfields; k++) {
                        char kp[24];

                        if (t->fields[k].type != DSTYPE_TEXT)
                            continue;
                        xsnprintf(kp, sizeof(kp), "%zu\x1f", k + 1);
                        buf_addstr(out, nor++ ? " | " : "");
                        add_lexeme(out, kp, p, len);
                    }
                    buf_addch(out, ')');
                }
                p += len;
            }
        }
    }
    return 0;
}

static int pgds_search(struct store *s, const struct store_ds_query *q,
                       struct store_ds_cursor **out, uint64_t *total, struct err *err)
{
    struct store_ds_cursor *c = pgds_cursor_new(s);
    struct pgds_table t = {0};
    struct buf tsq;
    struct pgds_gen g, w;
    char id[SQDS_ID_SIZE];
    ssize_t *cols = NULL, f;
    size_t n, tsq_param = 0;
    bool by_id = false, nothing = false;
    PGresult *r = NULL;
    int rc;

    *out = NULL;
    pgds_gen_init(&g);
    pgds_gen_init(&w);
    buf_init(&tsq, 0);
    if (!sqds_id_parse(q->resource_id, id, NULL)) {
        rc = pgds_not_found(q->resource_id, err);
        goto out;
    }
    rc = pg_conn_take(s, &c->conn, err);
    if (!rc)
        rc = pgds_read_begin(c->conn, id, err);
    if (!rc)
        rc = pgds_table_load(c->conn, id, false, &t, err);
    if (rc)
        goto out;
    n = q->nfields ? q->nfields : t.nfields + 1;
    if (n > LIMIT_DATASTORE_FIELDS + 1) {
        rc = err_set(err, ERR_VALIDATION, "fields", "too many fields (at most %u)",
                     LIMIT_DATASTORE_FIELDS);
        goto out;
    }
    cols = xcalloc(n, sizeof(*cols));
    c->names = xcalloc(n, sizeof(*c->names));
    c->types = xcalloc(n, sizeof(*c->types));
    c->vals = xcalloc(n, sizeof(*c->vals));
    for (size_t i = 0; i < n; i++) {
        if (q->nfields) {
            rc = query_field(&t, q->fields[i], true, "fields", &cols[i], err);
            if (rc)
                goto out;
        } else {
            cols[i] = (ssize_t)i - 1;
        }
        c->names[i] = xstrdup(cols[i] < 0 ? "_id" : t.fields[cols[i]].id);
        c->types[i] = cols[i] < 0 ? DSTYPE_INT8 : t.fields[cols[i]].type;
        c->ncols = i + 1;
    }
    if (q->ntext && !t.fulltext) {
        rc = err_set(err, ERR_VALIDATION, "q", "resource \"%s\" has no full-text index", id);
        goto out;
    }
    rc = gen_tsquery(&t, q->text, q->ntext, &tsq, err);
    if (rc)
        goto out;
    nothing = tsq.len && !t.has_fts;

    /* FROM and WHERE, shared by the count and the page. */
    buf_addf(&w.sql, " FROM datastore.t_%s AS t WHERE %s", t.hex, nothing ? "false" : "true");
    if (tsq.len && !nothing) {
        tsq_param = (size_t)pg_params_text(&w.p, tsq.buf);
        buf_addf(&w.sql, " AND t.fts @@ $%zu::tsquery", tsq_param);
    }
    rc = pgds_gen_filters(&w, &t, q->filters, q->nfilters, "filters", err);
    if (rc)
        goto out;

    if (q->total && total) {
        if (nothing) {
            *total = 0;
        } else if (!tsq.len && !q->nfilters && !q->distinct) {
            *total = t.rows;
        } else {
            buf_addstr(&g.sql, "SELECT count(*) FROM (SELECT ");
            if (q->distinct) {
                buf_addstr(&g.sql, "DISTINCT ");
                for (size_t i = 0; i < c->ncols; i++) {
                    buf_addstr(&g.sql, i ? ", " : "");
                    gen_column(&g, cols[i], &t, false);
                }
            } else {
                buf_addstr(&g.sql, "1");
            }
            buf_addstr(&g.sql, w.sql.buf);
            buf_addstr(&g.sql, ") AS x");
            rc = pg_exec(c->conn, g.sql.buf, &w.p, &r, "counting datastore rows", err);
            if (rc)
                goto out;
            *total = (uint64_t)pg_int(r, 0, 0);
            PQclear(r);
            r = NULL;
        }
    }

    /* The page. DISTINCT is a GROUP BY of the returned columns, so that a sort may name
     * any field (PostgreSQL's SELECT DISTINCT sorts only by what it returns): a field not
     * returned sorts by its least (ascending) or greatest value in the group. */
    buf_reset(&g.sql);
    buf_addstr(&g.sql, "SELECT ");
    for (size_t i = 0; i < c->ncols; i++) {
        buf_addstr(&g.sql, i ? ", " : "");
        gen_column(&g, cols[i], &t, false);
    }
    buf_addstr(&g.sql, w.sql.buf);
    if (q->distinct) {
        buf_addstr(&g.sql, " GROUP BY ");
        for (size_t i = 0; i < c->ncols; i++)
            buf_addf(&g.sql, "%s%zu", i ? ", " : "", i + 1);
    }
    buf_addstr(&g.sql, " ORDER BY ");
    for (size_t i = 0; i < q->nsort; i++) {
        bool returned = false;

        rc = query_field(&t, q->sort[i].field, true, "sort", &f, err);
        if (rc)
            goto out;
        by_id |= f < 0;
        for (size_t k = 0; k < c->ncols; k++)
            returned |= cols[k] == f;
        if (q->distinct && !returned)
            buf_addstr(&g.sql, q->sort[i].descending ? "max(" : "min(");
        gen_column(&g, f, &t, true);
        if (q->distinct && !returned)
            buf_addch(&g.sql, ')');
        /* NULLs after the values ascending, first descending (PostgreSQL's, CKAN's). */
        buf_addstr(&g.sql, q->sort[i].descending ? " DESC NULLS FIRST, " : " ASC NULLS LAST, ");
    }
    if (!q->nsort && q->distinct) {
        for (size_t i = 0; i < c->ncols; i++)
            buf_addf(&g.sql, "%zu, ", i + 1);
    } else if (!q->nsort && tsq_param) {
        buf_addf(&g.sql, "ts_rank(t.fts, $%zu::tsquery) DESC, ", tsq_param);
    }
    if (q->distinct || by_id)
        buf_setlen(&g.sql, g.sql.len - 2);
    else
        buf_addstr(&g.sql, "t._id");
    if (q->limit && q->limit <= INT64_MAX)
        buf_addf(&g.sql, " LIMIT %" PRIu64, q->limit);
    if (q->offset)
        buf_addf(&g.sql, " OFFSET %" PRIu64, q->offset <= INT64_MAX ? q->offset : INT64_MAX);
    if (q->limit && q->limit <= PGDS_FETCH) {
        /* A page: one result. */
        rc = pg_exec(c->conn, g.sql.buf, &w.p, &c->res, "searching a datastore table", err);
        goto out;
    }
    /* Many rows (a dump): a cursor, read in batches. */
    buf_reset(&w.tmp);
    buf_addstr(&w.tmp, "DECLARE kaifang_cursor NO SCROLL CURSOR FOR ");
    buf_addstr(&w.tmp, g.sql.buf);
    rc = pg_exec(c->conn, w.tmp.buf, &w.p, NULL, "searching a datastore table", err);
    c->fetch = "FETCH " PGDS_FETCH_TEXT " FROM kaifang_cursor";
    c->fetch_error = search_fetch;
out:
    if (rc > 0)
        rc = err_set(err, ERR_INTERNAL, NULL, "database failure while searching a datastore table");
    PQclear(r);
    free(cols);
    buf_release(&tsq);
    pgds_gen_release(&g);
    pgds_gen_release(&w);
    pgds_table_release(&t);
    if (rc) {
        pgds_cursor_free(c);
        c = NULL;
    }
    *out = c;
    return rc;
}

/* ---- Ingest statuses and privacy reports ---------------------------------------------------- */
static int pgds_status_put(struct store *s, const char *resource_id, const json_t *status,
                           struct err *err)
{
    struct pg_params p = PG_PARAMS_INIT;
    char *text = NULL;
    int rc;

    pg_assert_writing(s);
    if (status) {
        text = json_dumps(status, JSON_COMPACT | JSON_ENCODE_ANY);
        if (!text)
            return err_set(err, ERR_INTERNAL, NULL, "datastore status cannot be serialised");
    }
    pg_params_text(&p, resource_id);
    if (text)
        pg_params_text(&p, text);
    rc = pg_run(s,
                status ? "INSERT INTO datastore_status (resource_id, status) VALUES ($1, $2)"
                         " ON CONFLICT (resource_id) DO UPDATE SET status = excluded.status"
                       : "DELETE FROM datastore_status WHERE resource_id = $1",
                &p, NULL, "storing a datastore status", err);
    pg_params_release(&p);
    free(text);
    return rc;
}

static int pgds_status_get(struct store *s, const char *resource_id, json_t **status,
                           struct err *err)
{
    struct pg_params p = PG_PARAMS_INIT;
    PGresult *r = NULL;
    int rc;

    pg_params_text(&p, resource_id);
    rc = pg_run(s, "SELECT status FROM datastore_status WHERE resource_id = $1", &p, &r,
                "reading a datastore status", err);
    if (!rc && PQntuples(r) == 0)
        rc = err_set(err, ERR_NOT_FOUND, "resource_id", "resource \"%s\" has no datastore status",
                     resource_id);
    else if (!rc && !(*status = json_loads(PQgetvalue(r, 0, 0), 0, NULL)))
        rc = err_set(err, ERR_INTERNAL, NULL, "a stored datastore status is corrupt");
    PQclear(r);
    pg_params_release(&p);
    return rc;
}

static int pgds_status_list(struct store *s, json_t **statuses, struct err *err)
{
    PGresult *r = NULL;
    int rc;

    rc = pg_run(s, "SELECT resource_id, status FROM datastore_status", NULL, &r,
                "listing datastore statuses", err);
    if (rc)
        return rc;
    *statuses = json_object();
    for (int i = 0; i < PQntuples(r); i++) {
        json_t *doc = json_loads(PQgetvalue(r, i, 1), 0, NULL);

        if (!doc) {
            rc = err_set(err, ERR_INTERNAL, NULL, "a stored datastore status is corrupt");
            json_decref(*statuses);
            *statuses = NULL;
            break;
        }
        json_object_set_new(*statuses, PQgetvalue(r, i, 0), doc);
    }
    PQclear(r);
    return rc;
}

static int pgds_open(struct store *s, struct err *err)
{
    (void)s;
    (void)err;
    return 0;
}

static void pgds_close(struct store *s)
{
    (void)s;
}

const struct store_ds_backend pg_ds_backend = {
        .open = pgds_open,
        .close = pgds_close,
        .build_begin = pgds_build_begin,
        .build_row = pgds_build_row,
        .build_commit = pgds_build_commit,
        .build_abort = pgds_build_abort,
        .fulltext_build = pgds_fulltext_build,
        .info = pgds_info,
        .meta_put = pgds_meta_put,
        .index_create = pgds_index_create,
        .drop = pgds_drop,
        .list = pgds_list,
        .upsert = pgds_upsert,
        .delete = pgds_delete,
        .search = pgds_search,
        .sql = pgds_sql,
        .status_put = pgds_status_put,
        .status_get = pgds_status_get,
        .status_list = pgds_status_list,
        .privacy_put = pgds_privacy_put,
        .privacy_get = pgds_privacy_get,
};
