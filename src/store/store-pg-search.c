/*
 * store-pg-search.c - the PostgreSQL backend's generated SQL: store_dataset_search()
 * (count, page, facets), store_dataset_names(), store_tag_list().
 *
 * Full text: datasets.fts is a tsvector written from the catalog's own tokens (store-pg.c,
 * fts_vector: title weight A, tags B, text C), and each text term becomes a tsquery
 * literal built here from the same tokens: 'a' & 'b', or 'a' <-> 'b' for a phrase, with
 * :A/:B/:C for a column. No PostgreSQL parser or dictionary touches either side, so a
 * token matches exactly when it matches in SQLite's FTS5 (one- and two-character Chinese
 * queries included: the catalog makes the bigrams and single characters). Ranking is
 * ts_rank with weights 1.0 / 0.5 / 0.1 (title, tags, text: SQLite's bm25 weights 10, 5, 1
 * scaled), over the clauses made only of positive text terms; ties and other sorts as
 * SQLite's. The two rankings are different functions, so equal order is only expected
 * where the scores separate the matches clearly (docs/internals/store.md).
 *
 * All values are bound ($n); the generated text only holds text from this file.
 */
#include "core/buf.h"
#include "store/store-pg-int.h"
#include "core/util.h"

/* A statement being generated: its text and its parameters. */
struct gen {
    struct buf sql;
    struct pg_params p;
};

static void gen_init(struct gen *g)
{
    buf_init(&g->sql, 0);
    memset(&g->p, 0, sizeof(g->p));
}

static void gen_release(struct gen *g)
{
    buf_release(&g->sql);
    pg_params_release(&g->p);
}

static void gen_text(struct gen *g, const char *s)
{
    buf_addf(&g->sql, "$%d", pg_params_text(&g->p, s));
}

/* The organization ids of vis as a PostgreSQL array literal {"a","b"}. */
static char *array_literal(const char *const *v, size_t n)
{
    struct buf b = BUF_INIT;

    buf_addch(&b, '{');
    for (size_t i = 0; i < n; i++) {
        if (i)
            buf_addch(&b, ',');
        buf_addch(&b, '"');
        for (const char *s = v[i]; *s; s++) {
            if (*s == '"' || *s == '\\')
                buf_addch(&b, '\\');
            buf_addch(&b, *s);
        }
        buf_addch(&b, '"');
    }
    buf_addch(&b, '}');
    return buf_detach(&b, NULL);
}

/* The visibility condition on d, as store-sqlite-search.c's gen_visibility. */
static void gen_visibility(struct gen *g, const struct store_visibility *vis)
{
    char *orgs;

    if (vis->all) {
        buf_addstr(&g->sql,
                   vis->include_drafts ? "d.state IN ('active', 'draft')" : "d.state = 'active'");
        return;
    }
    if (!vis->norg_ids) {
        buf_addstr(&g->sql, "d.state = 'active' AND NOT d.private");
        return;
    }
    orgs = array_literal(vis->org_ids, vis->norg_ids);
    buf_addstr(&g->sql, "((d.state = 'active' AND (NOT d.private OR d.owner_org = ANY(");
    gen_text(g, orgs);
    buf_addstr(&g->sql, "::text[])))");
    if (vis->include_drafts) {
        buf_addstr(&g->sql, " OR (d.state = 'draft' AND d.owner_org = ANY(");
        gen_text(g, orgs);
        buf_addstr(&g->sql, "::text[]))");
    }
    buf_addch(&g->sql, ')');
    free(orgs);
}

int pg_dataset_names(struct store *s, const struct store_visibility *vis, size_t offset,
                     size_t limit, json_t **names, struct err *err)
{
    PGresult *r = NULL;
    struct gen g;
    int rc;

    gen_init(&g);
    buf_addstr(&g.sql, "SELECT d.name FROM datasets d WHERE ");
    gen_visibility(&g, vis);
    buf_addstr(&g.sql, " ORDER BY d.name");
    if (limit && limit <= INT64_MAX)
        buf_addf(&g.sql, " LIMIT $%d", pg_params_int(&g.p, (int64_t)limit));
    buf_addf(&g.sql, " OFFSET $%d",
             pg_params_int(&g.p, offset > INT64_MAX ? INT64_MAX : (int64_t)offset));
    rc = pg_run(s, g.sql.buf, &g.p, &r, "listing datasets", err);
    if (!rc) {
        *names = json_array();
        for (int i = 0; i < PQntuples(r); i++)
            json_array_append_new(*names, pg_json_string(r, i, 0));
    }
    PQclear(r);
    gen_release(&g);
    return rc;
}

/* ---- tsquery literals ------------------------------------------------------------------ */
static char column_weight(enum store_column c)
{
    switch (c) {
    case STORE_COLUMN_TITLE:
        return 'A';
    case STORE_COLUMN_TAGS:
        return 'B';
    case STORE_COLUMN_TEXT:
        return 'C';
    case STORE_COLUMN_ANY:
        break;
    }
    return 0;
}

/* Appends the tsquery of a text term with at least one token: each token a quoted
 * lexeme (' and \ doubled), so nothing the user typed becomes tsquery syntax. */
static void tsq_term(struct buf *b, const struct store_term *t)
{
    char w = column_weight(t->column);

    buf_addch(b, '(');
    for (size_t i = 0; i < t->ntokens; i++) {
        if (i)
            buf_addstr(b, t->phrase ? " <-> " : " & ");
        buf_addch(b, '\'');
        for (const char *p = t->tokens[i]; *p; p++) {
            if (*p == '\'' || *p == '\\')
                buf_addch(b, *p);
            buf_addch(b, *p);
        }
        buf_addch(b, '\'');
        if (w)
            buf_addf(b, ":%c", w);
    }
    buf_addch(b, ')');
}

static bool clause_is_rank(const struct store_clause *c)
{
    for (size_t i = 0; i < c->nterms; i++)
        if (c->terms[i].is_filter || c->terms[i].negate)
            return false;
    return c->nterms > 0;
}

/* The tsquery ranking the matches: the clauses made only of positive text terms, ANDed,
 * each an OR of its terms (terms without tokens left out). NULL when there is none. */
static char *rank_query(const struct store_search *q)
{
    struct buf b = BUF_INIT;
    size_t i, j, nclauses = 0;

    for (i = 0; i < q->nclauses; i++) {
        const struct store_clause *c = &q->clauses[i];
        size_t nterms = 0;

        if (!clause_is_rank(c))
            continue;
        for (j = 0; j < c->nterms; j++) {
            if (!c->terms[j].ntokens)
                continue;
            buf_addstr(&b, nterms ? " | " : nclauses ? " & (" : "(");
            tsq_term(&b, &c->terms[j]);
            nterms++;
        }
        if (nterms) {
            buf_addch(&b, ')');
            nclauses++;
        }
    }
    if (!nclauses) {
        buf_release(&b);
        return NULL;
    }
    return buf_detach(&b, NULL);
}

/* ---- The search ------------------------------------------------------------------------ */
static void gen_term(struct gen *g, const struct store_term *t)
{
    struct buf b = BUF_INIT;

    if (t->negate)
        buf_addstr(&g->sql, "NOT ");
    if (t->is_filter) {
        buf_addstr(&g->sql, "EXISTS (SELECT 1 FROM dataset_facets f WHERE f.dataset_rid = d.rid"
                            " AND f.field = ");
        gen_text(g, t->filter.field);
        buf_addstr(&g->sql, " AND f.value = ");
        gen_text(g, t->filter.value);
        buf_addch(&g->sql, ')');
        return;
    }
    if (!t->ntokens) {
        buf_addstr(&g->sql, "false");
        return;
    }
    tsq_term(&b, t);
    buf_addstr(&g->sql, "(d.fts @@ ");
    gen_text(g, b.buf);
    buf_addstr(&g->sql, "::tsquery)");
    buf_release(&b);
}

/* FROM and WHERE: the matching datasets as d. */
static void gen_from(struct gen *g, const struct store_search *q)
{
    buf_addstr(&g->sql, " FROM datasets d WHERE (");
    gen_visibility(g, &q->vis);
    buf_addch(&g->sql, ')');
    for (size_t i = 0; i < q->nclauses; i++) {
        const struct store_clause *c = &q->clauses[i];

        if (!c->nterms) {
            buf_addstr(&g->sql, " AND false");
            continue;
        }
        buf_addstr(&g->sql, " AND (");
        for (size_t j = 0; j < c->nterms; j++) {
            if (j)
                buf_addstr(&g->sql, " OR ");
            gen_term(g, &c->terms[j]);
        }
        buf_addch(&g->sql, ')');
    }
}

static void gen_order(struct gen *g, const struct store_search *q, const char *rank)
{
    const char *dir = q->descending ? "DESC" : "ASC";

    switch (q->sort) {
    case STORE_SORT_SCORE:
        buf_addstr(&g->sql, " ORDER BY");
        if (rank) {
            /* ts_rank is higher for better matches (bm25 lower). Weights {D, C, B, A}. */
            buf_addstr(&g->sql, " ts_rank('{0.1, 0.1, 0.5, 1.0}', d.fts, ");
            gen_text(g, rank);
            buf_addf(&g->sql, "::tsquery) %s,", q->descending ? "DESC" : "ASC");
        }
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

static int search_count(struct store *s, const struct store_search *q, size_t *count,
                        struct err *err)
{
    PGresult *r = NULL;
    struct gen g;
    int rc;

    gen_init(&g);
    buf_addstr(&g.sql, "SELECT count(*)");
    gen_from(&g, q);
    rc = pg_run(s, g.sql.buf, &g.p, &r, "searching datasets", err);
    if (!rc)
        *count = (size_t)pg_int(r, 0, 0);
    PQclear(r);
    gen_release(&g);
    return rc;
}

static int search_page(struct store *s, const struct store_search *q, json_t **docs,
                       struct err *err)
{
    char *rank = q->sort == STORE_SORT_SCORE ? rank_query(q) : NULL;
    json_error_t jerr;
    PGresult *r = NULL;
    struct gen g;
    int rc;

    gen_init(&g);
    buf_addstr(&g.sql, "SELECT d.doc");
    gen_from(&g, q);
    gen_order(&g, q, rank);
    buf_addf(&g.sql, " LIMIT $%d", pg_params_int(&g.p, (int64_t)q->rows));
    buf_addf(&g.sql, " OFFSET $%d",
             pg_params_int(&g.p, q->start > INT64_MAX ? INT64_MAX : (int64_t)q->start));
    rc = pg_run(s, g.sql.buf, &g.p, &r, "searching datasets", err);
    if (rc)
        goto out;
    *docs = json_array();
    for (int i = 0; i < PQntuples(r); i++) {
        const char *text = PQgetvalue(r, i, 0);
        size_t len = (size_t)PQgetlength(r, i, 0);
        /* raw_docs: the stored text as it is (store.h). */
        json_t *v = q->raw_docs ? json_stringn_nocheck(text, len) : json_loadb(text, len, 0, &jerr);

        if (!v) {
            rc = err_set(err, ERR_INTERNAL, NULL, "a stored dataset is corrupt");
            goto out;
        }
        json_array_append_new(*docs, v);
    }
out:
    PQclear(r);
    gen_release(&g);
    free(rank);
    return rc;
}

static int search_facets(struct store *s, const struct store_search *q, json_t **facets,
                         struct err *err)
{
    json_t *out = json_object();
    PGresult *r = NULL;
    struct gen g;
    size_t i;
    int rc = 0;

    gen_init(&g);
    for (i = 0; i < q->nfacet_fields; i++)
        json_object_set_new(out, q->facet_fields[i], json_array());
    if (!q->nfacet_fields || !q->facet_limit)
        goto done;
    /* The top facet_limit values of each field over the matching set, as SQLite's. */
    buf_addstr(&g.sql, "WITH m AS MATERIALIZED (SELECT d.rid");
    gen_from(&g, q);
    buf_addstr(&g.sql, ") SELECT field, value, c FROM (SELECT f.field AS field, f.value AS value,"
                       " count(*) AS c, row_number() OVER (PARTITION BY f.field"
                       " ORDER BY count(*) DESC, f.value) AS n"
                       " FROM m JOIN dataset_facets f ON f.dataset_rid = m.rid"
                       " WHERE f.field IN (");
    for (i = 0; i < q->nfacet_fields; i++) {
        if (i)
            buf_addstr(&g.sql, ", ");
        gen_text(&g, q->facet_fields[i]);
    }
    buf_addstr(&g.sql, ") GROUP BY f.field, f.value) t WHERE n <= ");
    buf_addf(&g.sql, "$%d",
             pg_params_int(&g.p, q->facet_limit > INT64_MAX ? INT64_MAX : (int64_t)q->facet_limit));
    buf_addstr(&g.sql, " ORDER BY field, c DESC, value");
    rc = pg_run(s, g.sql.buf, &g.p, &r, "counting facets", err);
    if (rc)
        goto out;
    for (int k = 0; k < PQntuples(r); k++) {
        json_t *arr = json_object_get(out, PQgetvalue(r, k, 0));

        if (arr)
            json_array_append_new(
                    arr, json_pack("[o, I]", pg_json_string(r, k, 1), (json_int_t)pg_int(r, k, 2)));
    }
done:
    *facets = out;
    out = NULL;
out:
    PQclear(r);
    gen_release(&g);
    json_decref(out);
    return rc;
}

/*
 * The search: count, page and facets in one read snapshot. NEEDSWORK: no cache of
 * ranked lists yet (SQLite's "Ranked lists and the cache"): every page ranks all
 * matches again.
 */
int pg_dataset_search(struct store *s, const struct store_search *q,
                      struct store_search_result *res, struct err *err)
{
    bool began = false;
    int rc;

    rc = pg_read_begin(s, &began, err);
    if (!rc)
        rc = search_count(s, q, &res->count, err);
    if (!rc && q->rows)
        rc = search_page(s, q, &res->docs, err);
    else if (!rc)
        res->docs = json_array();
    if (!rc)
        rc = search_facets(s, q, &res->facets, err);
    pg_read_end(s, began);
    if (rc)
        store_search_result_release(res);
    return rc;
}

int pg_tag_list(struct store *s, const char *prefix, json_t **tags, struct err *err)
{
    struct pg_params p = PG_PARAMS_INIT;
    PGresult *r = NULL;
    int rc;

    pg_params_text(&p, prefix);
    rc = pg_run(s,
                "SELECT DISTINCT f.value FROM dataset_facets f JOIN datasets d"
                " ON d.rid = f.dataset_rid WHERE f.field = 'tags' AND d.state = 'active'"
                " AND NOT d.private AND ($1::text IS NULL OR"
                " substr(f.value, 1, length($1::text)) = $1::text) ORDER BY f.value",
                &p, &r, "listing tags", err);
    if (!rc) {
        *tags = json_array();
        for (int i = 0; i < PQntuples(r); i++)
            json_array_append_new(*tags, pg_json_string(r, i, 0));
    }
    PQclear(r);
    pg_params_release(&p);
    return rc;
}
