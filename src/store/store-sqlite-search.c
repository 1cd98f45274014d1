/*
 * store-sqlite-search.c - the SQLite backend's generated statements: catalog search
 * (count, page and facets, with the per-store cache of counts and facets), dataset name
 * lists and the tag list. See "Search SQL" in docs/internals/store.md.
 *
 * The SQL is generated from the shape of a query (how many filters, which visibility
 * case, which sort), never from its values: every value is bound, so the text contains
 * only strings from this file and each connection can cache the prepared statement in
 * its small LRU (stmt_dyn) keyed by that text.
 */
#include <inttypes.h>
#include <string.h>

#include "core/buf.h"
#include "store/store-sqlite-int.h"
#include "core/util.h"

/* ---- Generated statements (search, lists with visibility) ------------------------------ */
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
        return sq_db_error(c->db, rc, "preparing a search", err);
    slot->sql = xstrdup(sql);
    slot->used = c->tick;
    *st = slot->st;
    return 0;
}

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

int sq_dataset_names(struct store *s, const struct store_visibility *vis, size_t offset,
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
    rc = sq_read_conn(s, &c, err);
    if (!rc)
        rc = gen_prepare(c, &g, &st, err);
    if (!rc)
        rc = sq_fetch_list(c, st, false, names, "dataset name", err);
    gen_release(&g);
    free(orgs);
    return rc;
}

/*
 * The FTS5 text of a search (see "Full-text search" in docs/internals/store.md): the
 * clauses made only of positive text terms become one MATCH expression, which drives
 * the query and gives the BM25 rank; every other text term gets an expression of its
 * own, tested with "d.rid [NOT] IN (SELECT rowid … MATCH ?)" inside its clause.
 */
struct search_plan {
    char *rank;   /* MATCH expression of the rank clauses, or NULL when there are none */
    char **texts; /* per term (clauses flattened in order): its own expression, or NULL */
    size_t nterms;
};

static bool clause_is_rank(const struct store_clause *c)
{
    size_t i;

    for (i = 0; i < c->nterms; i++)
        if (c->terms[i].is_filter || c->terms[i].negate)
            return false;
    return c->nterms > 0;
}

/* Appends s as an FTS5 string: double quotes, inner ones doubled. Nothing a user typed
 * becomes FTS5 syntax (OR, NEAR, *, ^, col:). */
static void fts_string(struct buf *b, const char *s)
{
    buf_addch(b, '"');
    for (; s && *s; s++) {
        if (*s == '"')
            buf_addch(b, '"');
        buf_addch(b, *s);
    }
    buf_addch(b, '"');
}

/*
 * One text term as a parenthesised FTS5 expression: "a" + "b" for a phrase (adjacent,
 * in order), "a" AND "b" otherwise; a column filter ({title} : …) before each phrase.
 * No tokens: the empty string "", which matches nothing.
 */
static void fts_term(struct buf *b, const struct store_term *t)
{
    static const char *const cols[] = {
            [STORE_COLUMN_ANY] = "",
            [STORE_COLUMN_TITLE] = "{title} : ",
            [STORE_COLUMN_TAGS] = "{tags} : ",
            [STORE_COLUMN_TEXT] = "{text} : ",
    };
    const char *col = (unsigned)t->column < ARRAY_SIZE(cols) ? cols[t->column] : "";
    size_t i;

    buf_addch(b, '(');
    if (!t->ntokens)
        buf_addstr(b, "\"\"");
    if (t->phrase && t->ntokens)
        buf_addstr(b, col);
    for (i = 0; i < t->ntokens; i++) {
        if (i)
            buf_addstr(b, t->phrase ? " + " : " AND ");
        if (!t->phrase)
            buf_addstr(b, col);
        fts_string(b, t->tokens[i]);
    }
    buf_addch(b, ')');
}

static void plan_init(struct search_plan *p, const struct store_search *q)
{
    struct buf rank = BUF_INIT, one = BUF_INIT;
    size_t i, j, k = 0;

    memset(p, 0, sizeof(*p));
    for (i = 0; i < q->nclauses; i++)
        p->nterms += q->clauses[i].nterms;
    p->texts = xcalloc(p->nterms + 1, sizeof(*p->texts));
    for (i = 0; i < q->nclauses; i++) {
        const struct store_clause *c = &q->clauses[i];
        bool is_rank = clause_is_rank(c);

        if (is_rank)
            buf_addstr(&rank, rank.len ? " AND (" : "(");
        for (j = 0; j < c->nterms; j++, k++) {
            const struct store_term *t = &c->terms[j];

            if (is_rank) {
                if (j)
                    buf_addstr(&rank, " OR ");
                fts_term(&rank, t);
            } else if (!t->is_filter) {
                buf_reset(&one);
                fts_term(&one, t);
                p->texts[k] = xstrdup(one.buf);
            }
        }
        if (is_rank)
            buf_addch(&rank, ')');
    }
    p->rank = rank.len ? buf_detach(&rank, NULL) : NULL;
    buf_release(&rank);
    buf_release(&one);
}

static void plan_release(struct search_plan *p)
{
    size_t i;

    for (i = 0; i < p->nterms; i++)
        free(p->texts[i]);
    free(p->texts);
    free(p->rank);
    memset(p, 0, sizeof(*p));
}

/* One term of a non-rank clause: text is its own expression (plan). */
static void gen_term(struct sql_gen *g, const struct store_term *t, const char *text, bool by_order)
{
    if (!t->is_filter) {
        buf_addstr(&g->sql, t->negate ? "d.rid NOT IN" : "d.rid IN");
        buf_addstr(&g->sql, " (SELECT rowid FROM dataset_fts WHERE dataset_fts MATCH ");
        gen_text(g, text);
        buf_addch(&g->sql, ')');
        return;
    }
    if (t->negate)
        buf_addstr(&g->sql, "NOT EXISTS (SELECT 1 FROM dataset_facets f"
                            " WHERE f.dataset_rid = d.rid AND f.field = ");
    else if (by_order)
        buf_addstr(&g->sql, "EXISTS (SELECT 1 FROM dataset_facets f"
                            " WHERE f.dataset_rid = d.rid AND f.field = ");
    else
        buf_addstr(&g->sql, "d.rid IN (SELECT f.dataset_rid FROM dataset_facets f"
                            " WHERE f.field = ");
    gen_text(g, t->filter.field);
    buf_addstr(&g->sql, " AND f.value = ");
    gen_text(g, t->filter.value);
    buf_addch(&g->sql, ')');
}

/*
 * Whether a query over the full-text matches reads only columns of the covering index
 * datasets_brief (rid, state, private, owner_org, metadata_modified): counts and facets
 * always, a page when it sorts by score or by metadata_modified.
 */
static bool sort_is_brief(const struct store_search *q)
{
    return q->sort == STORE_SORT_SCORE || q->sort == STORE_SORT_MODIFIED;
}

/*
 * FROM and WHERE of a search: the matching datasets as d. Positive filters are written
 * "d.rid IN (…)" so that SQLite drives the query from the (field, value) index, which
 * is best for counts and small sets; with by_order they are written "EXISTS (…)"
 * instead, so that SQLite walks the sort index and probes each row, which finds a page
 * of a large set after a few rows instead of sorting all of it. brief: the statement
 * reads only what datasets_brief holds (sort_is_brief).
 */
static void gen_search_from(struct sql_gen *g, const struct store_search *q,
                            const struct search_plan *p, const char *orgs, bool by_order,
                            bool brief)
{
    size_t i, j, k = 0;

    if (p->rank) {
        /* CROSS JOIN keeps FTS5 the outer loop: without statistics SQLite would
         * otherwise scan datasets and run the MATCH once per row. Each match is then
         * looked up by rid: in datasets_brief, ~80 to a page, rather than in the table,
         * whose rows hold whole documents (SQLite picks the rowid otherwise). */
        buf_addstr(&g->sql, brief ? " FROM dataset_fts CROSS JOIN datasets d INDEXED BY"
                                    " datasets_brief ON d.rid = dataset_fts.rowid"
                                    " WHERE dataset_fts MATCH "
                                  : " FROM dataset_fts CROSS JOIN datasets d"
                                    " ON d.rid = dataset_fts.rowid WHERE dataset_fts MATCH ");
        gen_text(g, p->rank);
        buf_addstr(&g->sql, " AND (");
    } else {
        buf_addstr(&g->sql, " FROM datasets d WHERE (");
    }
    gen_visibility(g, &q->vis, orgs);
    buf_addch(&g->sql, ')');
    for (i = 0; i < q->nclauses; i++) {
        const struct store_clause *c = &q->clauses[i];

        if (clause_is_rank(c)) {
            k += c->nterms;
            continue;
        }
        if (!c->nterms) {
            buf_addstr(&g->sql, " AND 0");
            continue;
        }
        buf_addstr(&g->sql, " AND (");
        for (j = 0; j < c->nterms; j++, k++) {
            if (j)
                buf_addstr(&g->sql, " OR ");
            gen_term(g, &c->terms[j], p->texts[k], by_order);
        }
        buf_addch(&g->sql, ')');
    }
}

static void gen_order(struct sql_gen *g, const struct store_search *q, const struct search_plan *p)
{
    const char *dir = q->descending ? "DESC" : "ASC";

    switch (q->sort) {
    case STORE_SORT_SCORE:
        /* bm25() is lower for better matches. */
        if (p->rank)
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

static int search_count(struct conn *c, const struct store_search *q, const struct search_plan *p,
                        const char *orgs, size_t *count, struct err *err)
{
    sqlite3_stmt *st = NULL;
    struct sql_gen g;
    int64_t n = 0;
    int rc;

    gen_init(&g);
    buf_addstr(&g.sql, "SELECT count(*)");
    gen_search_from(&g, q, p, orgs, false, true);
    rc = gen_prepare(c, &g, &st, err);
    if (!rc)
        rc = sq_fetch_int64(c, st, &n, "counting search results", err);
    if (!rc)
        *count = (size_t)n;
    gen_release(&g);
    return rc;
}

/* The stored text of the row st is on, column col, as a JSON string (not parsed or
 * checked: what store_dataset_put stored, which jansson wrote), or NULL for SQL NULL. */
static json_t *column_string(sqlite3_stmt *st, int col)
{
    const char *text = (const char *)sqlite3_column_blob(st, col);
    size_t len = (size_t)sqlite3_column_bytes(st, col);

    if (sqlite3_column_type(st, col) == SQLITE_NULL)
        return NULL;
    return json_stringn_nocheck(text ? text : "", len);
}

/* The derived text of key of the dataset rid into *text (a JSON string), or NULL when
 * it has none. */
static int derived_by_rid(struct conn *c, int64_t rid, const uint8_t *key, json_t **text,
                          struct err *err)
{
    sqlite3_stmt *st = NULL;
    int rc = sq_stmt_get(c, ST_DERIVED_BY_RID, &st, err);

    *text = NULL;
    if (rc)
        return rc;
    sqlite3_bind_int64(st, 1, rid);
    sqlite3_bind_blob(st, 2, key, STORE_DERIVED_KEY, SQLITE_STATIC);
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        *text = column_string(st, 0);
        rc = *text ? 0 : err_set(err, ERR_INTERNAL, NULL, "a derived text is corrupt");
    } else {
        rc = rc == SQLITE_DONE ? 0 : sq_db_error(c->db, rc, "dataset", err);
    }
    stmt_done(st);
    return rc;
}

/*
 * Appends the documents of rids[0..n) to arr, in that order: parsed, or with q->raw_docs
 * each as a JSON string holding the stored text, copied without parsing or checking it:
 * the text is what store_dataset_put stored, which jansson wrote. With q->derived_key
 * (and raw_docs), derived (not NULL) gets each dataset's derived text of that key or
 * null, and arr null where it got a text (store_search_result.derived): the dataset's
 * row is then not read. With q->summaries (not raw_docs), each dataset's parsed search
 * summary, or its document when it has none.
 */
static int docs_by_rid(struct conn *c, const int64_t *rids, size_t n, const struct store_search *q,
                       json_t *arr, json_t *derived, struct err *err)
{
    bool raw = q->raw_docs, with_derived = raw && q->derived_key && derived;
    sqlite3_stmt *st = NULL;
    json_t *doc, *x;
    size_t i;
    int rc = 0;

    for (i = 0; !rc && i < n; i++) {
        doc = x = NULL;
        if (with_derived) {
            rc = derived_by_rid(c, rids[i], q->derived_key, &x, err);
            if (!rc && x) {
                json_array_append_new(arr, json_null());
                json_array_append_new(derived, x);
                continue;
            }
        }
        if (!rc && q->summaries && !raw) {
            /* The search summary; a dataset without one gives its document. */
            rc = sq_stmt_get(c, ST_SUMMARY_BY_RID, &st, err);
            if (!rc) {
                sqlite3_bind_int64(st, 1, rids[i]);
                rc = sq_fetch_doc(c, st, &doc, "dataset summary", err);
            }
            if (!rc) {
                json_array_append_new(arr, doc);
                continue;
            }
            if (rc < 0)
                break;
            rc = 0;
        }
        if (!rc)
            rc = sq_stmt_get(c, ST_DOC_BY_RID, &st, err);
        if (rc)
            break;
        sqlite3_bind_int64(st, 1, rids[i]);
        if (!raw) {
            rc = sq_fetch_doc(c, st, &doc, "dataset", err);
        } else {
            rc = sqlite3_step(st);
            if (rc == SQLITE_ROW) {
                doc = column_string(st, 0);
                rc = doc ? 0 : err_set(err, ERR_INTERNAL, NULL, "a stored dataset is corrupt");
            } else {
                rc = rc == SQLITE_DONE ? 1 : sq_db_error(c->db, rc, "dataset", err);
            }
            stmt_done(st);
        }
        if (rc > 0)
            rc = err_set(err, ERR_INTERNAL, NULL, "a dataset vanished during a search");
        if (!rc) {
            json_array_append_new(arr, doc);
            if (with_derived)
                json_array_append_new(derived, json_null());
        } else {
            json_decref(doc);
        }
    }
    return rc;
}

/*
 * Steps st (bound: one column, a rid) to the end into *rids (free() it) and *n; at most
 * max rows are kept, *n = max + 1 tells that there were more. Resets st.
 */
static int fetch_rids(struct conn *c, sqlite3_stmt *st, size_t max, int64_t **rids, size_t *n,
                      struct err *err)
{
    size_t alloc = 0;
    int rc;

    *rids = NULL;
    *n = 0;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (*n > max)
            continue;
        ALLOC_GROW(*rids, *n + 1, alloc);
        (*rids)[(*n)++] = sqlite3_column_int64(st, 0);
    }
    rc = rc == SQLITE_DONE ? 0 : sq_db_error(c->db, rc, "searching datasets", err);
    stmt_done(st);
    if (rc) {
        free(*rids);
        *rids = NULL;
        *n = 0;
    }
    return rc;
}

static int search_docs(struct conn *c, const struct store_search *q, const struct search_plan *p,
                       const char *orgs, size_t count, json_t **docs, json_t *derived,
                       struct err *err)
{
    /* A page near the front of a large filtered set: walk the sort index (see
     * gen_search_from). Expected rows probed: (start + rows) * all / count. */
    bool by_order = !p->rank && q->nclauses && q->sort != STORE_SORT_SCORE && count >= 1000 &&
                    q->start + q->rows <= count / 2;
    json_t *arr = json_array();
    int64_t *rids = NULL;
    size_t n = 0;
    sqlite3_stmt *st = NULL;
    struct sql_gen g;
    int rc = 0;

    gen_init(&g);
    if (!q->rows)
        goto done;
    /* Sort and page the row ids only, then load the page's documents: the sorter then
     * carries integers, not whole documents. */
    buf_addstr(&g.sql, "SELECT d.rid");
    gen_search_from(&g, q, p, orgs, by_order, sort_is_brief(q));
    gen_order(&g, q, p);
    buf_addstr(&g.sql, " LIMIT ");
    gen_int(&g, sql_limit(q->rows));
    buf_addstr(&g.sql, " OFFSET ");
    gen_int(&g, sql_offset(q->start));
    rc = gen_prepare(c, &g, &st, err);
    if (!rc)
        rc = fetch_rids(c, st, SIZE_MAX - 1, &rids, &n, err);
    if (!rc)
        rc = docs_by_rid(c, rids, n, q, arr, derived, err);
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

/*
 * Every match of a full-text search in the order of the sort, ranked once: *rids
 * (free() it, NULL when empty) and *n = the count, when there are at most
 * SEARCH_LIST_MAX; otherwise *listed is false and *rids NULL. The cache keeps the list,
 * so later pages of the same search are slices of it instead of ranking every match
 * again to skip to the page (bm25 costs ~1 µs a row; a common word has thousands).
 */
static int search_list(struct conn *c, const struct store_search *q, const struct search_plan *p,
                       const char *orgs, int64_t **rids, size_t *n, bool *listed, struct err *err)
{
    sqlite3_stmt *st = NULL;
    struct sql_gen g;
    int rc;

    *listed = false;
    gen_init(&g);
    buf_addstr(&g.sql, "SELECT d.rid");
    gen_search_from(&g, q, p, orgs, false, sort_is_brief(q));
    gen_order(&g, q, p);
    buf_addstr(&g.sql, " LIMIT ");
    gen_int(&g, SEARCH_LIST_MAX + 1);
    rc = gen_prepare(c, &g, &st, err);
    if (!rc)
        rc = fetch_rids(c, st, SEARCH_LIST_MAX, rids, n, err);
    if (!rc && *n > SEARCH_LIST_MAX) {
        free(*rids);
        *rids = NULL;
        *n = 0;
    } else if (!rc) {
        *listed = true;
    }
    gen_release(&g);
    return rc;
}

enum cache_kind {
    CACHE_SET,    /* count and maybe the ordered list: WHERE, values, sort */
    CACHE_FACETS, /* facets: WHERE, values, facet fields and limit */
};

/* The cache key of a search's match set or facets (enum cache_kind). free() it. */
static char *search_key(const struct store_search *q, const struct search_plan *p, const char *orgs,
                        enum cache_kind kind)
{
    struct buf key = BUF_INIT;
    struct sql_gen g;
    size_t i;

    gen_init(&g);
    gen_search_from(&g, q, p, orgs, false, true);
    if (kind == CACHE_SET)
        buf_addf(&key, "set %d %d\n", (int)q->sort, (int)q->descending);
    else
        buf_addstr(&key, "facets\n");
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
    if (kind == CACHE_FACETS) {
        buf_addf(&key, "|%zu|", q->facet_limit);
        for (i = 0; i < q->nfacet_fields; i++)
            buf_addf(&key, "%zu:%s", strlen(q->facet_fields[i]), q->facet_fields[i]);
    }
    gen_release(&g);
    return buf_detach(&key, NULL);
}

/* A copy of n row ids; NULL when n is 0. free() it. */
static int64_t *rids_dup(const int64_t *rids, size_t n)
{
    int64_t *copy = n ? xcalloc(n, sizeof(*copy)) : NULL;

    if (n)
        memcpy(copy, rids, n * sizeof(*copy));
    return copy;
}

/* FNV-1a, 64 bits. */
static uint64_t key_hash(const char *key)
{
    uint64_t h = 14695981039346656037ULL;

    for (; *key; key++)
        h = (h ^ (unsigned char)*key) * 1099511628211ULL;
    return h;
}

/* One of the cache's two tables (store-sqlite-int.h): ranked for the match sets of
 * searches made only of full-text clauses, else cache. */
struct cache_table {
    struct cached_search *e;
    size_t n;
    size_t list_max; /* longest list kept */
};

static struct cache_table cache_table(struct sq *sq, const struct store_search *q)
{
    size_t i;

    for (i = 0; i < q->nclauses; i++)
        if (!clause_is_rank(&q->clauses[i]))
            break;
    if (q->nclauses && i == q->nclauses)
        return (struct cache_table){sq->ranked, SEARCH_RANKED, SEARCH_LIST_MAX};
    return (struct cache_table){sq->cache, SEARCH_CACHE, SEARCH_LIST_SMALL};
}

/* The live entry for key at version, or NULL. Caller holds cache_lock. */
static struct cached_search *cache_find(struct sq *sq, struct cache_table t, const char *key,
                                        uint64_t hash, uint64_t version)
{
    size_t i;

    for (i = 0; i < t.n; i++) {
        struct cached_search *e = &t.e[i];

        if (e->key && e->hash == hash && e->version == version && !strcmp(e->key, key)) {
            e->used = ++sq->cache_tick;
            return e;
        }
    }
    return NULL;
}

/*
 * A cached match set: *count, and, when its ordered list is cached, *listed and a copy
 * of the part [from, from + len) of it that exists (*rids, free() it; *n entries).
 */
static bool cache_get_set(struct sq *sq, struct cache_table t, const char *key, uint64_t version,
                          size_t from, size_t len, size_t *count, int64_t **rids, size_t *n,
                          bool *listed)
{
    struct cached_search *e;

    pthread_mutex_lock(&sq->cache_lock);
    e = cache_find(sq, t, key, key_hash(key), version);
    if (e) {
        *count = e->count;
        *listed = e->rids || !e->count;
        *n = 0;
        *rids = NULL;
        if (*listed && from < e->count) {
            *n = e->count - from < len ? e->count - from : len;
            *rids = rids_dup(e->rids + from, *n);
        }
    }
    pthread_mutex_unlock(&sq->cache_lock);
    return e != NULL;
}

/* Cached facets: a deep copy (callers may change what they get) into *facets. */
static bool cache_get_facets(struct sq *sq, const char *key, uint64_t version, json_t **facets)
{
    struct cached_search *e;

    pthread_mutex_lock(&sq->cache_lock);
    e = cache_find(sq, (struct cache_table){sq->cache, SEARCH_CACHE, 0}, key, key_hash(key),
                   version);
    if (e)
        *facets = json_deep_copy(e->facets);
    pthread_mutex_unlock(&sq->cache_lock);
    return e != NULL;
}

/* Stores an entry in t: takes key; copies facets (or NULL) and rids (count of them, or
 * NULL; none when longer than t keeps). */
static void cache_put(struct sq *sq, struct cache_table t, char *key, uint64_t version,
                      size_t count, const int64_t *rids, json_t *facets)
{
    struct cached_search *slot = &t.e[0];
    uint64_t hash = key_hash(key);
    int64_t *copy = rids && count <= t.list_max ? rids_dup(rids, count) : NULL;
    json_t *fcopy = facets ? json_deep_copy(facets) : NULL;
    size_t i;

    pthread_mutex_lock(&sq->cache_lock);
    for (i = 0; i < t.n; i++) {
        struct cached_search *e = &t.e[i];

        if (e->key && e->hash == hash && !strcmp(e->key, key)) {
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
    free(slot->rids);
    json_decref(slot->facets);
    slot->key = key;
    slot->hash = hash;
    slot->version = version;
    slot->count = count;
    slot->rids = copy;
    slot->facets = fcopy;
    slot->used = ++sq->cache_tick;
    pthread_mutex_unlock(&sq->cache_lock);
}

static int cmp_rid(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

    return x < y ? -1 : x > y;
}

/* Whether a clause is only positive filters (an OR of facet rows), at least one. */
static bool clause_is_filters(const struct store_clause *c)
{
    size_t i;

    for (i = 0; i < c->nterms; i++)
        if (!c->terms[i].is_filter || c->terms[i].negate)
            return false;
    return c->nterms > 0;
}

/*
 * The datasets of a clause of positive filters (clause_is_filters), sorted by rid, into
 * *rids (free() it) and *n; a dataset may appear more than once.
 */
static int clause_rids(struct conn *c, const struct store_clause *cl, int64_t **rids, size_t *n,
                       struct err *err)
{
    sqlite3_stmt *st = NULL;
    struct sql_gen g;
    size_t i;
    int rc;

    gen_init(&g);
    for (i = 0; i < cl->nterms; i++) {
        buf_addstr(&g.sql, i ? " UNION ALL " : "");
        buf_addstr(&g.sql, "SELECT dataset_rid FROM dataset_facets WHERE field = ");
        gen_text(&g, cl->terms[i].filter.field);
        buf_addstr(&g.sql, " AND value = ");
        gen_text(&g, cl->terms[i].filter.value);
    }
    rc = gen_prepare(c, &g, &st, err);
    if (!rc)
        rc = fetch_rids(c, st, SIZE_MAX - 1, rids, n, err);
    /* No rows: *rids is NULL, which qsort must not be given even with a count of 0. */
    if (!rc && cl->nterms > 1 && *n > 1)
        qsort(*rids, *n, sizeof(**rids), cmp_rid);
    gen_release(&g);
    return rc;
}

/*
 * The list of a full-text search whose other clauses are all positive filters (fq=tags:x,
 * organization:y, …), from the list of its full-text part alone: that list (from the
 * cache, else ranked and cached) keeps the order, and each filter clause only removes
 * datasets, which a sorted set of its rids decides. So a word searched with many
 * different filters is ranked once. *listed false (and nothing set) when this does not
 * apply or the full-text part has more than SEARCH_LIST_MAX matches. Takes no ownership.
 */
static int search_list_filtered(struct sq *sq, struct conn *c, const struct store_search *q,
                                const char *orgs, uint64_t version, int64_t **rids, size_t *n,
                                bool *listed, struct err *err)
{
    struct store_clause *text = xcalloc(q->nclauses + 1, sizeof(*text));
    struct store_search base = *q;
    struct search_plan plan;
    int64_t *set = NULL, *list = NULL;
    size_t i, j, k, nset = 0, nlist = 0, nfilters = 0, count = 0;
    bool base_listed = false;
    char *key = NULL;
    int rc = 0;

    *listed = false;
    base.clauses = text;
    base.nclauses = 0;
    for (i = 0; i < q->nclauses; i++) {
        if (clause_is_rank(&q->clauses[i]))
            text[base.nclauses++] = q->clauses[i];
        else if (clause_is_filters(&q->clauses[i]))
            nfilters++;
        else
            goto out_text;
    }
    if (!nfilters || !base.nclauses)
        goto out_text;
    plan_init(&plan, &base);
    key = search_key(&base, &plan, orgs, CACHE_SET);
    if (!cache_get_set(sq, cache_table(sq, &base), key, version, 0, SIZE_MAX, &count, &list, &nlist,
                       &base_listed)) {
        rc = search_list(c, &base, &plan, orgs, &list, &nlist, &base_listed, err);
        if (!rc) {
            cache_put(sq, cache_table(sq, &base), key, version, nlist, base_listed ? list : NULL,
                      NULL);
            key = NULL;
        }
    }
    for (i = 0; !rc && base_listed && i < q->nclauses; i++) {
        if (clause_is_rank(&q->clauses[i]))
            continue;
        free(set);
        rc = clause_rids(c, &q->clauses[i], &set, &nset, err);
        for (j = k = 0; !rc && j < nlist; j++)
            if (nset && bsearch(&list[j], set, nset, sizeof(*set), cmp_rid))
                list[k++] = list[j];
        nlist = k;
    }
    if (!rc && base_listed) {
        *rids = list;
        *n = nlist;
        *listed = true;
        list = NULL;
    }
    free(key);
    free(set);
    free(list);
    plan_release(&plan);
out_text:
    free(text);
    return rc;
}

struct facet_count {
    const char *value; /* borrowed from the counts object's keys */
    json_int_t n;
};

/* By count desc, then value: SQLite's BINARY order of UTF-8 text is strcmp's. */
static int cmp_facet(const void *a, const void *b)
{
    const struct facet_count *x = a, *y = b;

    if (x->n != y->n)
        return x->n > y->n ? -1 : 1;
    return strcmp(x->value, y->value);
}

/*
 * Facet counts over a list of rids: the facet rows of each (primary key lookups), counted
 * here in a hash per field rather than by SQL's GROUP BY and window (a temporary b-tree
 * per request); the same order and limit as the SQL in search_facets. out holds an
 * empty array per wanted field.
 */
static int facets_of_list(struct conn *c, const struct store_search *q, const int64_t *rids,
                          size_t nrids, json_t *out, struct err *err)
{
    json_t *counts = json_object(), *per, *n;
    struct facet_count *top = NULL;
    char *fields = json_strings(q->facet_fields, q->nfacet_fields);
    struct buf set = BUF_INIT;
    sqlite3_stmt *st = NULL;
    struct sql_gen g;
    const char *field, *value;
    size_t i, ntop, alloc = 0;
    int rc;

    gen_init(&g);
    buf_addch(&set, '[');
    for (i = 0; i < nrids; i++)
        buf_addf(&set, i ? ",%" PRId64 : "%" PRId64, rids[i]);
    buf_addch(&set, ']');
    if (buf_failed(&set)) {
        rc = err_set(err, ERR_INTERNAL, NULL, "a search's match list is too long");
        goto out;
    }
    buf_addstr(&g.sql, "SELECT f.field, f.value FROM json_each(");
    gen_text(&g, set.buf);
    buf_addstr(&g.sql, ") m JOIN dataset_facets f ON f.dataset_rid = m.value"
                       " WHERE f.field IN (SELECT value FROM json_each(");
    gen_text(&g, fields);
    buf_addstr(&g.sql, "))");
    rc = gen_prepare(c, &g, &st, err);
    if (rc)
        goto out;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        field = (const char *)sqlite3_column_text(st, 0);
        value = (const char *)sqlite3_column_text(st, 1);
        if (!field || !value)
            continue;
        per = json_object_get(counts, field);
        if (!per) {
            per = json_object();
            json_object_set_new(counts, field, per);
        }
        n = json_object_get(per, value);
        if (n)
            json_integer_set(n, json_integer_value(n) + 1);
        else
            json_object_set_new(per, value, json_integer(1));
    }
    if (rc != SQLITE_DONE) {
        rc = sq_db_error(c->db, rc, "counting facets", err);
        stmt_done(st);
        goto out;
    }
    rc = 0;
    stmt_done(st);
    json_object_foreach (counts, field, per) {
        json_t *arr = json_object_get(out, field);

        ntop = 0;
        json_object_foreach (per, value, n) {
            ALLOC_GROW(top, ntop + 1, alloc);
            top[ntop++] = (struct facet_count){value, json_integer_value(n)};
        }
        if (ntop > 1)
            qsort(top, ntop, sizeof(*top), cmp_facet);
        for (i = 0; arr && i < ntop && i < q->facet_limit; i++)
            json_array_append_new(arr, json_pack("[s, I]", top[i].value, top[i].n));
    }
out:
    gen_release(&g);
    buf_release(&set);
    free(fields);
    free(top);
    json_decref(counts);
    return rc;
}

/*
 * Facet counts of the matching set: the set is the search's WHERE, or, when its whole
 * list is at hand (listed), those rids (facets_of_list), so the matches are not searched
 * for again.
 */
static int search_facets(struct conn *c, const struct store_search *q, const struct search_plan *p,
                         const char *orgs, bool listed, const int64_t *rids, size_t nrids,
                         json_t **facets, struct err *err)
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
    if (listed) {
        rc = facets_of_list(c, q, rids, nrids, out, err);
        if (rc)
            goto out;
        goto done;
    }
    fields = json_strings(q->facet_fields, q->nfacet_fields);
    /* Count facet rows of the matching set, the top facet_limit values of each field. */
    buf_addstr(&g.sql, "WITH m(rid) AS MATERIALIZED (SELECT d.rid");
    gen_search_from(&g, q, p, orgs, false, true);
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
        json_array_append_new(arr, json_pack("[o, I]", sq_column_string(st, 1),
                                             (json_int_t)sqlite3_column_int64(st, 2)));
    }
    if (rc != SQLITE_DONE) {
        rc = sq_db_error(c->db, rc, "counting facets", err);
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

/*
 * The search itself. Outside a write transaction (cacheable), in one read snapshot:
 *   - the match set: from the cache, else, for a full-text search, every match in order
 *     (search_list) when there are at most SEARCH_LIST_MAX, else a count;
 *   - the page: a slice of the list when there is one, else a LIMIT/OFFSET query;
 *   - the facets: from the cache, else counted over the list, or over the WHERE.
 * In a write transaction: count, page and facets from SQL, nothing cached (that path
 * is also the reference the list path is tested against).
 */
int sq_dataset_search(struct store *s, const struct store_search *q,
                      struct store_search_result *res, struct err *err)
{
    struct sq *sq = s->be;
    char *orgs = json_strings(q->vis.org_ids, q->vis.norg_ids);
    struct search_plan plan;
    struct cache_table table = cache_table(sq, q);
    char *skey = NULL, *fkey = NULL;
    struct conn *c = NULL;
    bool reading = false, cacheable, listed = false, have_set = false, have_facets = false;
    bool need_facets = q->nfacet_fields && q->facet_limit, whole;
    int64_t *rids = NULL;        /* listed: the whole list, or (a cache hit) only the page */
    size_t nrids = 0, first = 0; /* rids[0] is match number first */
    uint64_t version = 0;
    int rc;

    plan_init(&plan, q);
    rc = sq_read_conn(s, &c, err);
    if (rc)
        goto out;
    /* One snapshot for the version, the count, the page and the facets. Inside a write
     * transaction the version does not describe what we see: no cache there. */
    cacheable = c != &sq->writer;
    rc = sq_read_begin(s, c, err);
    if (rc)
        goto out;
    reading = true;
    if (cacheable) {
        rc = sq_catalog_version_read(c, &version, err);
        if (rc)
            goto out;
        skey = search_key(q, &plan, orgs, CACHE_SET);
        if (need_facets) {
            fkey = search_key(q, &plan, orgs, CACHE_FACETS);
            have_facets = cache_get_facets(sq, fkey, version, &res->facets);
        }
        /* The whole list only when facets are to be counted over it. */
        whole = need_facets && !have_facets;
        first = whole ? 0 : q->start;
        have_set = cache_get_set(sq, table, skey, version, first, whole ? SIZE_MAX : q->rows,
                                 &res->count, &rids, &nrids, &listed);
        /* A full-text search's list, unless the cache has it or it is known to be too
         * long for search_list; not for a count alone. */
        if (plan.rank && !listed && (!have_set || q->rows || whole)) {
            size_t n = 0;

            first = 0;
            free(rids);
            rids = NULL;
            rc = search_list_filtered(sq, c, q, orgs, version, &rids, &n, &listed, err);
            if (!rc && !listed && !have_set)
                rc = search_list(c, q, &plan, orgs, &rids, &n, &listed, err);
            if (rc)
                goto out;
            if (listed) {
                nrids = n;
                res->count = n;
            }
        }
    }
    if (!have_set && !listed) {
        rc = search_count(c, q, &plan, orgs, &res->count, err);
        if (rc)
            goto out;
    }
    if (skey && !have_set) {
        cache_put(sq, table, skey, version, res->count, listed ? rids : NULL, NULL);
        skey = NULL;
    }
    if (q->raw_docs && q->derived_key)
        res->derived = json_array();
    if (listed) {
        res->docs = json_array();
        if (q->rows && q->start < first + nrids && q->start >= first) {
            size_t k = q->start - first, len = nrids - k < q->rows ? nrids - k : q->rows;

            rc = docs_by_rid(c, rids + k, len, q, res->docs, res->derived, err);
        }
    } else {
        rc = search_docs(c, q, &plan, orgs, res->count, &res->docs, res->derived, err);
    }
    if (rc || have_facets)
        goto out;
    rc = search_facets(c, q, &plan, orgs, listed && !first, rids, nrids, &res->facets, err);
    if (!rc && fkey) {
        cache_put(sq, (struct cache_table){sq->cache, SEARCH_CACHE, 0}, fkey, version, res->count,
                  NULL, res->facets);
        fkey = NULL;
    }
out:
    if (reading)
        sq_read_end(s, c);
    if (rc)
        store_search_result_release(res);
    free(rids);
    free(skey);
    free(fkey);
    free(orgs);
    plan_release(&plan);
    return rc;
}

/* ---- Tags ------------------------------------------------------------------------------ */
int sq_tag_list(struct store *s, const char *prefix, json_t **tags, struct err *err)
{
    sqlite3_stmt *st = NULL;
    struct conn *c = NULL;
    int rc;

    rc = sq_read_conn(s, &c, err);
    if (!rc)
        rc = sq_stmt_get(c, ST_TAG_LIST, &st, err);
    if (rc)
        return rc;
    bind_text(st, 1, prefix && *prefix ? prefix : NULL);
    return sq_fetch_list(c, st, false, tags, "tag", err);
}
