/*
 * store-pg-search.c - the PostgreSQL backend's generated SQL: store_dataset_search()
 * (count, page, facets), store_dataset_names(), store_tag_list().
 *
 * Full text: datasets.fts is a tsvector written from the catalog's own tokens (store-pg.c,
 * fts_vector: title weight A, tags B, text C), and each text term becomes a tsquery
 * literal built here from the same tokens: 'a' & 'b', or 'a' <-> 'b' for a phrase, with
 * :A/:B/:C for a column. No PostgreSQL parser or dictionary touches either side, so a
 * token matches exactly when it matches in SQLite's FTS5 (one- and two-character Chinese
 * queries included: the catalog makes the bigrams and single characters). Relevance is
 * FTS5's bm25, computed here from the same counts (search_ranked), so the order is
 * SQLite's; ties and the other sorts as SQLite's.
 *
 * All values are bound ($n); the generated text only holds text from this file.
 */
#include <math.h>
#include <stdlib.h>

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

/* FROM and WHERE: the matching datasets as d (join: more FROM items after d, or ""). */
static void gen_from_join(struct gen *g, const struct store_search *q, const char *join)
{
    buf_addstr(&g->sql, " FROM datasets d");
    buf_addstr(&g->sql, join);
    buf_addstr(&g->sql, " WHERE (");
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

static void gen_from(struct gen *g, const struct store_search *q)
{
    gen_from_join(g, q, "");
}

/* The order of a page. Relevance with a ranking expression is search_ranked()'s; without
 * one (filters, negations, no text), score sorts as SQLite's does: by modification. */
static void gen_order(struct gen *g, const struct store_search *q)
{
    const char *dir = q->descending ? "DESC" : "ASC";

    switch (q->sort) {
    case STORE_SORT_SCORE:
        buf_addstr(&g->sql, " ORDER BY d.metadata_modified DESC, d.rid DESC");
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

/* Whether a search wants the derived texts of its page (store_search.derived_key). */
static bool wants_derived(const struct store_search *q)
{
    return q->raw_docs && q->derived_key;
}

/*
 * Appends row i of r to docs (and derived): column dc the stored document (NULL when a
 * derived text stands in), column xc the derived text (bytea) or -1 for none wanted.
 */
static int page_row(const struct store_search *q, const PGresult *r, int i, int dc, int xc,
                    json_t *docs, json_t *derived, struct err *err)
{
    const char *text = PQgetvalue(r, i, dc);
    size_t len = (size_t)PQgetlength(r, i, dc);
    json_error_t jerr;
    json_t *v;

    if (xc >= 0 && !PQgetisnull(r, i, xc)) {
        size_t n = 0;
        unsigned char *bytes = PQunescapeBytea((const unsigned char *)PQgetvalue(r, i, xc), &n);

        if (!bytes)
            return err_set(err, ERR_INTERNAL, NULL, "a derived text is corrupt");
        json_array_append_new(derived, json_stringn_nocheck((const char *)bytes, n));
        PQfreemem(bytes);
        json_array_append_new(docs, json_null());
        return 0;
    }
    if (xc >= 0)
        json_array_append_new(derived, json_null());
    if (PQgetisnull(r, i, dc))
        return err_set(err, ERR_INTERNAL, NULL, "a stored dataset is missing or corrupt");
    /* raw_docs: the stored text as it is (store.h). */
    v = q->raw_docs ? json_stringn_nocheck(text, len)
                    : json_loadb(text, len, JSON_ALLOW_NUL, &jerr);
    if (!v)
        return err_set(err, ERR_INTERNAL, NULL, "a stored dataset is corrupt");
    json_array_append_new(docs, v);
    return 0;
}

static int search_page(struct store *s, const struct store_search *q, json_t **docs,
                       json_t *derived, struct err *err)
{
    PGresult *r = NULL;
    struct gen g;
    int rc;

    gen_init(&g);
    if (wants_derived(q)) {
        char *join = xstrfmt(" LEFT JOIN dataset_derived x ON x.dataset_rid = d.rid"
                             " AND x.key = $%d",
                             pg_params_bytes(&g.p, q->derived_key, STORE_DERIVED_KEY));

        /* The document only where no derived text stands in (store.h). */
        buf_addstr(&g.sql, "SELECT CASE WHEN x.text IS NULL THEN d.doc END, x.text");
        gen_from_join(&g, q, join);
        free(join);
    } else {
        buf_addstr(&g.sql, "SELECT d.doc");
        gen_from(&g, q);
    }
    gen_order(&g, q);
    buf_addf(&g.sql, " LIMIT $%d", pg_params_int(&g.p, (int64_t)q->rows));
    buf_addf(&g.sql, " OFFSET $%d",
             pg_params_int(&g.p, q->start > INT64_MAX ? INT64_MAX : (int64_t)q->start));
    rc = pg_run(s, g.sql.buf, &g.p, &r, "searching datasets", err);
    if (rc)
        goto out;
    *docs = json_array();
    for (int i = 0; !rc && i < PQntuples(r); i++)
        rc = page_row(q, r, i, 0, wants_derived(q) ? 1 : -1, *docs, derived, err);
out:
    PQclear(r);
    gen_release(&g);
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

/* ---- Relevance: FTS5's bm25, computed here ----------------------------------------------
 * SQLite ranks a full-text search with FTS5's bm25() (weights title 10, tags 5, text 1);
 * to give the same order, this backend computes the same function from the same counts
 * (the BM25 formula as FTS5 documents it, https://sqlite.org/fts5.html#the_bm25_function):
 * for each phrase i of the ranking expression,
 *     idf_i = log((N - n_i + 0.5) / (n_i + 0.5)), at least 1e-6,
 *     score += idf_i * (f_i * (k1 + 1)) / (f_i + k1 * (1 - b + b * D / avgdl)),
 * k1 = 1.2, b = 0.75, N the number of datasets (every state, as FTS5's row count), n_i
 * those holding phrase i, f_i the sum of the column weights of its occurrences in the
 * dataset, D the dataset's token count (datasets.fts_len) and avgdl the mean of D. A
 * phrase is a phrase term, or each token of another term, in the order of the clauses:
 * the order FTS5 sums in, so that equal scores are equal here too and ties fall to
 * metadata_modified and rid alike. Differences left: a tsvector keeps at most 256
 * positions of a lexeme and none past 16,383, so very long texts count fewer
 * occurrences (NEEDSWORK). */
struct phrase {
    const char *const *tokens;
    size_t ntokens;
    char weight; /* 'A', 'B', 'C', or 0: any column */
    double idf;
};

struct match {
    int64_t rid;
    char *modified;
    double score; /* the bm25 sum (FTS5 returns its negation) */
    int dir;      /* 1: best first (descending relevance), -1: worst first */
};

/* One occurrence of a token in a dataset. */
struct occ {
    const char *lexeme; /* borrowed from the result */
    int pos;
    char weight;
};

static double weight_value(char w)
{
    return w == 'A' ? 10.0 : w == 'B' ? 5.0 : 1.0;
}

/* The phrases of the ranking expression into *out (*n of them; free()). */
static void rank_phrases(const struct store_search *q, struct phrase **out, size_t *n)
{
    struct phrase *ph = NULL;
    size_t nph = 0, alloc = 0;

    for (size_t i = 0; i < q->nclauses; i++) {
        const struct store_clause *c = &q->clauses[i];

        if (!clause_is_rank(c))
            continue;
        for (size_t j = 0; j < c->nterms; j++) {
            const struct store_term *t = &c->terms[j];

            for (size_t k = 0; k < t->ntokens; k++) {
                ALLOC_GROW(ph, nph + 1, alloc);
                ph[nph].tokens = t->tokens + k;
                ph[nph].ntokens = t->phrase ? t->ntokens : 1;
                ph[nph].weight = column_weight(t->column);
                ph[nph].idf = 0;
                nph++;
                if (t->phrase)
                    break;
            }
        }
    }
    *out = ph;
    *n = nph;
}

/* The tsquery of one phrase. */
static char *phrase_query(const struct phrase *ph)
{
    struct store_term t = {.tokens = ph->tokens, .ntokens = ph->ntokens, .phrase = true};
    struct buf b = BUF_INIT;

    t.column = ph->weight == 'A'   ? STORE_COLUMN_TITLE
               : ph->weight == 'B' ? STORE_COLUMN_TAGS
               : ph->weight == 'C' ? STORE_COLUMN_TEXT
                                   : STORE_COLUMN_ANY;
    tsq_term(&b, &t);
    return buf_detach(&b, NULL);
}

/* N, avgdl and each phrase's idf. */
static int rank_stats(struct store *s, struct phrase *ph, size_t nph, double *avgdl,
                      struct err *err)
{
    struct pg_params p = PG_PARAMS_INIT;
    PGresult *r = NULL;
    int64_t nrow = 0, ntoken = 0, nhit;
    int rc;

    rc = pg_run(s, "SELECT count(*), coalesce(sum(fts_len), 0) FROM datasets", NULL, &r,
                "ranking datasets", err);
    if (rc)
        return rc;
    nrow = pg_int(r, 0, 0);
    ntoken = pg_int(r, 0, 1);
    PQclear(r);
    r = NULL;
    *avgdl = nrow ? (double)ntoken / (double)nrow : 1.0;
    for (size_t i = 0; !rc && i < nph; i++) {
        char *tsq = phrase_query(&ph[i]);

        pg_params_release(&p);
        pg_params_text(&p, tsq);
        free(tsq);
        rc = pg_run(s, "SELECT count(*) FROM datasets WHERE fts @@ $1::tsquery", &p, &r,
                    "ranking datasets", err);
        if (!rc) {
            double idf;

            nhit = pg_int(r, 0, 0);
            idf = log((nrow - nhit + 0.5) / (nhit + 0.5));
            ph[i].idf = idf <= 0.0 ? 1e-6 : idf;
        }
        PQclear(r);
        r = NULL;
    }
    pg_params_release(&p);
    return rc;
}

/* Occurrences of a row's lexeme: positions "{1,5}" and weights "{A,C}" (text forms). */
static void add_occurrences(const PGresult *r, int i, struct occ **occ, size_t *n, size_t *alloc)
{
    const char *pos = PQgetvalue(r, i, 4), *w = PQgetvalue(r, i, 5);

    if (PQgetisnull(r, i, 3))
        return;
    for (pos++, w++; *pos && *pos != '}';) {
        char *end = NULL;
        long v = strtol(pos, &end, 10);

        if (end == pos)
            break;
        ALLOC_GROW(*occ, *n + 1, *alloc);
        (*occ)[*n].lexeme = PQgetvalue(r, i, 3);
        (*occ)[*n].pos = (int)v;
        (*occ)[*n].weight = *w == 'A' || *w == 'B' || *w == 'C' ? *w : 'D';
        (*n)++;
        pos = *end == ',' ? end + 1 : end;
        w += *w && w[1] == ',' ? 2 : 1;
    }
}

static bool occurs(const struct occ *occ, size_t n, const char *lexeme, int pos, char weight)
{
    for (size_t i = 0; i < n; i++)
        if (occ[i].pos == pos && occ[i].weight == weight && !strcmp(occ[i].lexeme, lexeme))
            return true;
    return false;
}

/* The bm25 sum of one dataset from its occurrences of the query's tokens. */
static double bm25(const struct phrase *ph, size_t nph, const struct occ *occ, size_t nocc,
                   double D, double avgdl)
{
    const double k1 = 1.2, b = 0.75;
    double score = 0.0;

    for (size_t i = 0; i < nph; i++) {
        double f = 0.0;

        for (size_t o = 0; o < nocc; o++) {
            size_t k;

            if (strcmp(occ[o].lexeme, ph[i].tokens[0]) ||
                (ph[i].weight && occ[o].weight != ph[i].weight))
                continue;
            for (k = 1; k < ph[i].ntokens; k++)
                if (!occurs(occ, nocc, ph[i].tokens[k], occ[o].pos + (int)k, occ[o].weight))
                    break;
            if (k == ph[i].ntokens)
                f += weight_value(occ[o].weight);
        }
        score += ph[i].idf * ((f * (k1 + 1.0)) / (f + k1 * (1 - b + b * D / avgdl)));
    }
    return score;
}

/* Relevance in a's direction, then metadata_modified and rid descending (as SQLite's
 * ORDER BY bm25, metadata_modified DESC, rid DESC). */
static int match_cmp(const void *pa, const void *pb)
{
    const struct match *a = pa, *b = pb;
    int c;

    if (a->score != b->score)
        return a->score > b->score ? -a->dir : a->dir;
    c = strcmp(a->modified, b->modified);
    if (c)
        return c > 0 ? -1 : 1;
    return a->rid == b->rid ? 0 : a->rid > b->rid ? -1 : 1;
}

/* Every match of q with its bm25 sum, into *out (*n; free each modified and the array). */
static int rank_matches(struct store *s, const struct store_search *q, const struct phrase *ph,
                        size_t nph, double avgdl, struct match **out, size_t *n, struct err *err)
{
    const char **toks = NULL;
    size_t ntoks = 0, tok_alloc = 0, nm = 0, m_alloc = 0, nocc = 0, occ_alloc = 0;
    struct match *m = NULL;
    struct occ *occ = NULL;
    PGresult *r = NULL;
    char *arr = NULL;
    struct gen g;
    int rc, i, rows;

    for (size_t k = 0; k < nph; k++)
        for (size_t t = 0; t < ph[k].ntokens; t++) {
            ALLOC_GROW(toks, ntoks + 1, tok_alloc);
            toks[ntoks++] = ph[k].tokens[t];
        }
    arr = array_literal((const char *const *)toks, ntoks);
    gen_init(&g);
    buf_addstr(&g.sql, "SELECT d.rid, d.fts_len, d.metadata_modified, u.lexeme, u.positions,"
                       " u.weights");
    {
        struct buf join = BUF_INIT;

        buf_addf(&join,
                 " LEFT JOIN LATERAL unnest(d.fts) AS u(lexeme, positions, weights)"
                 " ON u.lexeme = ANY($%d::text[])",
                 pg_params_text(&g.p, arr));
        gen_from_join(&g, q, join.buf);
        buf_release(&join);
    }
    buf_addstr(&g.sql, " ORDER BY d.rid");
    rc = pg_run(s, g.sql.buf, &g.p, &r, "searching datasets", err);
    if (rc)
        goto out;
    rows = PQntuples(r);
    for (i = 0; i < rows;) {
        int64_t rid = pg_int(r, i, 0);
        double D = (double)pg_int(r, i, 1);

        nocc = 0;
        ALLOC_GROW(m, nm + 1, m_alloc);
        m[nm].rid = rid;
        m[nm].modified = xstrdup(PQgetvalue(r, i, 2));
        for (; i < rows && pg_int(r, i, 0) == rid; i++)
            add_occurrences(r, i, &occ, &nocc, &occ_alloc);
        m[nm].score = bm25(ph, nph, occ, nocc, D, avgdl);
        m[nm].dir = q->descending ? 1 : -1;
        nm++;
    }
    if (nm)
        qsort(m, nm, sizeof(*m), match_cmp);
    *out = m;
    *n = nm;
    m = NULL;
out:
    for (size_t k = 0; m && k < nm; k++)
        free(m[k].modified);
    free(m);
    free(occ);
    free(toks);
    free(arr);
    PQclear(r);
    gen_release(&g);
    return rc;
}

/* The page [start, start + rows) of the ranked matches: their documents in order (and
 * derived texts, as search_page's). */
static int ranked_page(struct store *s, const struct store_search *q, const struct match *m,
                       size_t nm, json_t **docs, json_t *derived, struct err *err)
{
    size_t first = q->start < nm ? q->start : nm;
    size_t last = nm - first < q->rows ? nm : first + q->rows;
    struct pg_params p = PG_PARAMS_INIT;
    struct buf ids = BUF_INIT;
    PGresult *r = NULL;
    int rc = 0;

    *docs = json_array();
    if (first == last)
        return 0;
    buf_addch(&ids, '{');
    for (size_t k = first; k < last; k++)
        buf_addf(&ids, "%s%" PRId64, k > first ? "," : "", m[k].rid);
    buf_addch(&ids, '}');
    pg_params_text(&p, ids.buf);
    if (wants_derived(q)) {
        pg_params_bytes(&p, q->derived_key, STORE_DERIVED_KEY);
        rc = pg_run(s,
                    "SELECT d.rid, CASE WHEN x.text IS NULL THEN d.doc END, x.text FROM datasets d"
                    " LEFT JOIN dataset_derived x ON x.dataset_rid = d.rid AND x.key = $2"
                    " WHERE d.rid = ANY($1::bigint[])",
                    &p, &r, "searching datasets", err);
    } else {
        rc = pg_run(s, "SELECT rid, doc FROM datasets WHERE rid = ANY($1::bigint[])", &p, &r,
                    "searching datasets", err);
    }
    for (size_t k = first; !rc && k < last; k++) {
        int i = 0;

        while (i < PQntuples(r) && pg_int(r, i, 0) != m[k].rid)
            i++;
        if (i == PQntuples(r))
            rc = err_set(err, ERR_INTERNAL, NULL, "a stored dataset is missing or corrupt");
        else
            rc = page_row(q, r, i, 1, wants_derived(q) ? 2 : -1, *docs, derived, err);
    }
    PQclear(r);
    pg_params_release(&p);
    buf_release(&ids);
    return rc;
}

/* A search sorted by relevance with a ranking expression: count and page from the
 * ranked list of every match (as SQLite's list path). *done false: not such a search. */
static int search_ranked(struct store *s, const struct store_search *q,
                         struct store_search_result *res, bool *done, struct err *err)
{
    struct phrase *ph = NULL;
    struct match *m = NULL;
    size_t nph = 0, nm = 0;
    double avgdl = 1.0;
    int rc = 0;

    *done = false;
    if (q->sort != STORE_SORT_SCORE)
        return 0;
    rank_phrases(q, &ph, &nph);
    if (!nph)
        goto out;
    *done = true;
    rc = rank_stats(s, ph, nph, &avgdl, err);
    if (!rc)
        rc = rank_matches(s, q, ph, nph, avgdl, &m, &nm, err);
    if (!rc) {
        res->count = nm;
        rc = q->rows ? ranked_page(s, q, m, nm, &res->docs, res->derived, err) : 0;
        if (!rc && !q->rows)
            res->docs = json_array();
    }
out:
    for (size_t k = 0; m && k < nm; k++)
        free(m[k].modified);
    free(m);
    free(ph);
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
    bool began = false, ranked = false;
    int rc;

    if (wants_derived(q))
        res->derived = json_array();
    rc = pg_read_begin(s, &began, err);
    if (!rc)
        rc = search_ranked(s, q, res, &ranked, err);
    if (!rc && !ranked)
        rc = search_count(s, q, &res->count, err);
    if (!rc && !ranked && q->rows)
        rc = search_page(s, q, &res->docs, res->derived, err);
    else if (!rc && !ranked)
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
