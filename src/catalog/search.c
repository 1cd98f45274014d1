/*
 * search.c - search tokenisation (ASCII words, other letters, CJK bigrams) and
 * package_search with CKAN's parameters (CKAN 2.10 docs,
 * ckan.logic.action.get.package_search: q, fq, fq_list, facet.field, facet.limit, rows,
 * start, sort, include_private, include_drafts) over the store's index.
 */
#include <jansson.h>
#include <pthread.h>

#include "catalog/catalog-int.h"
#include "core/limits.h"
#include "core/parse.h"
#include "core/util.h"
#include "crypto/secret.h"

/* ---- code points ---- */

size_t utf8_decode(const char *s, size_t len, uint32_t *cp)
{
    const unsigned char *u = (const unsigned char *)s;
    size_t n;
    uint32_t c;

    if (!len)
        return 0;
    if (u[0] < 0x80) {
        *cp = u[0];
        return 1;
    }
    if ((u[0] & 0xe0) == 0xc0) {
        n = 2;
        c = u[0] & 0x1f;
    } else if ((u[0] & 0xf0) == 0xe0) {
        n = 3;
        c = u[0] & 0x0f;
    } else if ((u[0] & 0xf8) == 0xf0) {
        n = 4;
        c = u[0] & 0x07;
    } else {
        return 0;
    }
    if (len < n)
        return 0;
    for (size_t i = 1; i < n; i++) {
        if ((u[i] & 0xc0) != 0x80)
            return 0;
        c = (c << 6) | (u[i] & 0x3f);
    }
    /* Overlong forms, surrogates and values past U+10FFFF are invalid. */
    if ((n == 2 && c < 0x80) || (n == 3 && c < 0x800) || (n == 4 && c < 0x10000) || c > 0x10ffff ||
        (c >= 0xd800 && c <= 0xdfff))
        return 0;
    *cp = c;
    return n;
}

static void utf8_encode(uint32_t cp, struct buf *out)
{
    char b[4];
    size_t n;

    if (cp < 0x80) {
        b[0] = (char)cp;
        n = 1;
    } else if (cp < 0x800) {
        b[0] = (char)(0xc0 | (cp >> 6));
        b[1] = (char)(0x80 | (cp & 0x3f));
        n = 2;
    } else if (cp < 0x10000) {
        b[0] = (char)(0xe0 | (cp >> 12));
        b[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
        b[2] = (char)(0x80 | (cp & 0x3f));
        n = 3;
    } else {
        b[0] = (char)(0xf0 | (cp >> 18));
        b[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
        b[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
        b[3] = (char)(0x80 | (cp & 0x3f));
        n = 4;
    }
    buf_add(out, b, n);
}

bool is_cjk(uint32_t cp)
{
    return (cp >= 0x4e00 && cp <= 0x9fff) || /* CJK Unified Ideographs */
           (cp >= 0x3400 && cp <= 0x4dbf) || /* Extension A */
           (cp >= 0xf900 && cp <= 0xfaff) || /* Compatibility Ideographs */
           (cp >= 0x20000 && cp <= 0x2fa1f); /* Extensions B.. and Compatibility Supplement */
}

bool is_word_cp(uint32_t cp)
{
    if (cp < 0x80)
        return (cp >= '0' && cp <= '9') || (cp >= 'a' && cp <= 'z') || (cp >= 'A' && cp <= 'Z');
    /* Everything outside the punctuation, symbol, space and private-use blocks counts as
     * a letter: a coarse stand-in for Unicode's \w that needs no tables. */
    if (cp <= 0xbf || cp == 0xd7 || cp == 0xf7)
        return cp == 0xaa || cp == 0xb5 || cp == 0xba;
    if (cp >= 0x2000 && cp <= 0x2bff) /* punctuation, symbols, arrows, maths, boxes */
        return false;
    if (cp >= 0x3000 && cp <= 0x303f) /* CJK symbols and punctuation */
        return false;
    if (cp >= 0xe000 && cp <= 0xf8ff) /* private use */
        return false;
    if (cp >= 0xfe30 && cp <= 0xfe4f) /* CJK compatibility forms */
        return false;
    if (cp >= 0xff00 && cp <= 0xff65) /* fullwidth forms: only letters and digits */
        return (cp >= 0xff10 && cp <= 0xff19) || (cp >= 0xff21 && cp <= 0xff3a) ||
               (cp >= 0xff41 && cp <= 0xff5a);
    if (cp == 0xfeff || (cp >= 0xfff0 && cp <= 0xffff))
        return false;
    return true;
}

/* Simple case folding for the scripts where it is one offset; fullwidth ASCII letters
 * and digits fold to ASCII. */
static uint32_t fold(uint32_t cp)
{
    if (cp >= 'A' && cp <= 'Z')
        return cp + 0x20;
    if (cp >= 0xff10 && cp <= 0xff19)
        return cp - 0xff10 + '0';
    if (cp >= 0xff21 && cp <= 0xff3a)
        return cp - 0xff21 + 'a';
    if (cp >= 0xff41 && cp <= 0xff5a)
        return cp - 0xff41 + 'a';
    if (cp >= 0xc0 && cp <= 0xde && cp != 0xd7)
        return cp + 0x20;
    if (((cp >= 0x100 && cp <= 0x12f) || (cp >= 0x132 && cp <= 0x137) ||
         (cp >= 0x14a && cp <= 0x177)) &&
        !(cp & 1))
        return cp + 1;
    if (cp >= 0x391 && cp <= 0x3a9 && cp != 0x3a2)
        return cp + 0x20;
    if (cp >= 0x410 && cp <= 0x42f)
        return cp + 0x20;
    if (cp >= 0x400 && cp <= 0x40f)
        return cp + 0x50;
    return cp;
}

/* ---- tokenisation ---- */

struct tokenizer {
    bool query;      /* CJK runs of 2+ give bigrams only */
    struct buf *out; /* space-separated tokens, or NULL */
    json_t *terms;   /* array of tokens, or NULL */
    struct buf word; /* current non-CJK word */
    uint32_t run[2]; /* last CJK characters of the current run */
    size_t run_len;  /* characters in the current run */
};

static void tok_emit(struct tokenizer *t, const char *p, size_t len)
{
    if (!len)
        return;
    if (t->out) {
        if (t->out->len)
            buf_addch(t->out, ' ');
        buf_add(t->out, p, len);
    }
    if (t->terms) {
        char *s = xstrndup(p, len);

        json_array_append_new(t->terms, json_string(s));
        free(s);
    }
}

static void tok_flush_word(struct tokenizer *t)
{
    tok_emit(t, t->word.buf, t->word.len);
    buf_reset(&t->word);
}

/* The UTF-8 bytes of code point cp (< 0x110000) into b: their number (1..4). */
static size_t utf8_put(uint32_t cp, char *b)
{
    if (cp < 0x80) {
        b[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        b[0] = (char)(0xc0 | (cp >> 6));
        b[1] = (char)(0x80 | (cp & 0x3f));
        return 2;
    }
    if (cp < 0x10000) {
        b[0] = (char)(0xe0 | (cp >> 12));
        b[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
        b[2] = (char)(0x80 | (cp & 0x3f));
        return 3;
    }
    b[0] = (char)(0xf0 | (cp >> 18));
    b[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
    b[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
    b[3] = (char)(0x80 | (cp & 0x3f));
    return 4;
}

static void tok_emit_cps(struct tokenizer *t, const uint32_t *cps, size_t n)
{
    char b[8]; /* n ≤ 2 (a character or a bigram) */
    size_t len = 0;

    for (size_t i = 0; i < n && i < 2; i++)
        len += utf8_put(cps[i], b + len);
    tok_emit(t, b, len);
}

static bool ascii_word(unsigned char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static void tok_end_run(struct tokenizer *t)
{
    /* A query run of exactly one character was not emitted while scanning. */
    if (t->query && t->run_len == 1)
        tok_emit_cps(t, &t->run[1], 1);
    t->run_len = 0;
}

static void tok_cjk(struct tokenizer *t, uint32_t cp)
{
    if (t->run_len) {
        uint32_t pair[2] = {t->run[1], cp};

        tok_emit_cps(t, pair, 2);
    }
    if (!t->query)
        tok_emit_cps(t, &cp, 1);
    t->run[0] = t->run[1];
    t->run[1] = cp;
    t->run_len++;
}

static void tokenize(struct tokenizer *t, const char *text)
{
    size_t len = strlen(text), i = 0, n;
    uint32_t cp;

    buf_init(&t->word, LIMIT_TEXT_MAX);
    t->run_len = 0;
    while (i < len) {
        /* A run of ASCII letters and digits (most of most texts), as the loop below would
         * take it one character at a time: emitted as it is when it is a whole word
         * without capitals, else folded into the word in one go. */
        if (ascii_word((unsigned char)text[i])) {
            size_t j = i, upper = 0;

            while (j < len && ascii_word((unsigned char)text[j])) {
                upper += text[j] >= 'A' && text[j] <= 'Z';
                j++;
            }
            tok_end_run(t);
            if (!t->word.len && !upper && (j == len || (unsigned char)text[j] < 0x80)) {
                tok_emit(t, text + i, j - i);
            } else if (t->word.len + (j - i) <= t->word.max) {
                size_t at = t->word.len;

                buf_add(&t->word, text + i, j - i);
                for (size_t k = at; upper && k < t->word.len; k++)
                    if (t->word.buf[k] >= 'A' && t->word.buf[k] <= 'Z')
                        t->word.buf[k] = (char)(t->word.buf[k] + 0x20);
            } else {
                for (size_t k = i; k < j; k++)
                    utf8_encode(fold((unsigned char)text[k]), &t->word);
            }
            i = j;
            continue;
        }
        n = utf8_decode(text + i, len - i, &cp);
        if (!n) {
            n = 1;
            cp = ' ';
        }
        i += n;
        if (is_cjk(cp)) {
            tok_flush_word(t);
            tok_cjk(t, cp);
        } else if (is_word_cp(cp)) {
            tok_end_run(t);
            utf8_encode(fold(cp), &t->word);
        } else {
            tok_flush_word(t);
            tok_end_run(t);
        }
    }
    tok_flush_word(t);
    tok_end_run(t);
    buf_release(&t->word);
}

void catalog_search_text(const char *text, struct buf *out)
{
    struct tokenizer t = {0};

    if (!text)
        return;
    t.out = out;
    tokenize(&t, text);
}

void search_phrase_terms(const char *text, json_t *terms)
{
    struct tokenizer t = {0};

    t.terms = terms;
    tokenize(&t, text);
}

void search_query_terms(const char *text, json_t *terms)
{
    struct tokenizer t = {0};

    t.query = true;
    t.terms = terms;
    tokenize(&t, text);
}

/* ---- package_search ---- */

/* Fields that q/fq may filter on and facet.field may count: the facet rows
 * dataset_write() stores (not its internal ones: draft_org, private_active, state). */
static const char *const filter_fields[] = {
        "organization", "tags", "res_format", "license_id",   "groups",
        "name",         "id",   "owner_org",  "access_level", "capacity",
};

static bool in_fields(const char *const *list, size_t n, const char *f)
{
    for (size_t i = 0; i < n; i++)
        if (str_eq(list[i], f))
            return true;
    return false;
}

static bool filter_field_known(const char *f)
{
    return in_fields(filter_fields, ARRAY_SIZE(filter_fields), f);
}

/* ---- query syntax: tokens ---- */

enum qtok_kind { QT_WORD, QT_OPEN, QT_CLOSE, QT_AND, QT_OR, QT_NOT };

struct qtok {
    enum qtok_kind kind;
    bool negate; /* QT_WORD, QT_OPEN: an odd number of '-' or '!' before it */
    bool quoted; /* QT_WORD: value was "quoted" */
    bool slop;   /* QT_WORD: "quoted"~N, words near each other: read as all of them */
    bool star;   /* QT_WORD: the unquoted value holds a '*' not escaped by a backslash */
    char *field; /* QT_WORD, QT_OPEN (field:( …)): the field, or NULL */
    char *value; /* QT_WORD */
};

static void qtoks_free(struct qtok *toks, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(toks[i].field);
        free(toks[i].value);
    }
    free(toks);
}

static bool q_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/* Skips Solr's ^boost and ~slop/~fuzzy suffixes after a word or a quote; returns
 * whether one was a ~. */
static bool q_suffix(const char **pp)
{
    const char *p = *pp;
    bool tilde = false;

    while (*p == '^' || *p == '~') {
        tilde |= *p == '~';
        p++;
        while ((*p >= '0' && *p <= '9') || *p == '.')
            p++;
    }
    *pp = p;
    return tilde;
}

/* A quoted string at *pp (on its opening quote) into value; *pp after the closing one. */
static int q_quoted(const char **pp, struct buf *value, const char *param, const char *text,
                    struct err *err)
{
    const char *e = strchr(*pp + 1, '"');

    if (!e)
        return err_set(err, ERR_SEARCH, param, "unbalanced quote in \"%s\"", text);
    buf_add(value, *pp + 1, (size_t)(e - *pp - 1));
    *pp = e + 1;
    return 0;
}

/*
 * Splits Solr query text into tokens: ( ) AND && OR || NOT, and words with an optional
 * prefix (+ ignored, - or ! negates, only when stuck to what follows), an optional
 * field (text before the first ':' not escaped by '\'), and a value: a "quoted string"
 * or the characters up to white space or a parenthesis ('\' escapes any). field:( opens
 * a group whose bare words take that field. *toks: free with qtoks_free().
 */
static int query_lex(const char *text, const char *param, struct qtok **toks, size_t *ntoks,
                     struct err *err)
{
    const char *p = text;
    struct buf field = BUF_INIT, value = BUF_INIT;
    struct qtok *v = NULL, t;
    size_t n = 0, alloc = 0;
    int ret = 0;

    while (*p) {
        bool has_field = false;

        while (q_space(*p))
            p++;
        if (!*p)
            break;
        memset(&t, 0, sizeof(t));
        buf_reset(&field);
        buf_reset(&value);
        while ((*p == '+' || *p == '-' || *p == '!') && p[1] && !q_space(p[1])) {
            if (*p != '+')
                t.negate = !t.negate;
            p++;
        }
        if (*p == '(' || *p == ')') {
            if (*p == ')' && t.negate) {
                ret = err_set(err, ERR_SEARCH, param, "nothing to negate before \")\" in \"%s\"",
                              text);
                goto out;
            }
            t.kind = *p == '(' ? QT_OPEN : QT_CLOSE;
            p++;
            goto add;
        }
        t.kind = QT_WORD;
        if (*p == '"') {
            ret = q_quoted(&p, &value, param, text, err);
            if (ret)
                goto out;
            t.quoted = true;
            t.slop = q_suffix(&p);
            goto word;
        }
        while (*p && !q_space(*p) && *p != '(' && *p != ')') {
            if (*p == '\\' && p[1]) {
                buf_addch(&value, p[1]);
                p += 2;
                continue;
            }
            if (*p == ':' && !has_field) {
                has_field = true;
                buf_add(&field, value.buf, value.len);
                buf_reset(&value);
                t.star = false; /* a '*' of the field name ("*:*") is not the value's */
                p++;
                if (*p == '"') {
                    ret = q_quoted(&p, &value, param, text, err);
                    if (ret)
                        goto out;
                    t.quoted = true;
                    t.slop = q_suffix(&p);
                    break;
                }
                if (*p == '(') {
                    t.kind = QT_OPEN;
                    p++;
                    break;
                }
                continue;
            }
            if ((*p == '^' || *p == '~') && value.len &&
                (!p[1] || q_space(p[1]) || p[1] == ')' || (p[1] >= '0' && p[1] <= '9'))) {
                q_suffix(&p);
                break;
            }
            if (*p == '*')
                t.star = true;
            buf_addch(&value, *p);
            p++;
        }
word:
        if (has_field && !field.len) {
            ret = err_set(err, ERR_SEARCH, param, "empty field name in \"%s\"", text);
            goto out;
        }
        /* "title:" or "organization:" would otherwise drop out of the query (every
         * dataset) or filter on "" (none): neither is what was meant. */
        if (has_field && t.kind == QT_WORD && !value.len) {
            ret = err_set(err, ERR_SEARCH, param, "no value for field \"%s\" in \"%s\"", field.buf,
                          text);
            goto out;
        }
        if (!has_field && !t.quoted && !t.negate && t.kind == QT_WORD) {
            if (str_eq(value.buf, "AND") || str_eq(value.buf, "&&"))
                t.kind = QT_AND;
            else if (str_eq(value.buf, "OR") || str_eq(value.buf, "||"))
                t.kind = QT_OR;
            else if (str_eq(value.buf, "NOT"))
                t.kind = QT_NOT;
        }
        if (has_field)
            t.field = xstrdup(field.buf);
        if (t.kind == QT_WORD)
            t.value = xstrdup(value.buf);
add:
        ALLOC_GROW(v, n + 1, alloc);
        v[n++] = t;
    }
out:
    buf_release(&field);
    buf_release(&value);
    if (ret) {
        qtoks_free(v, n);
        v = NULL;
        n = 0;
    }
    *toks = v;
    *ntoks = n;
    return ret;
}

/*
 * A query in conjunctive normal form (the shape struct store_search takes): clauses, a
 * JSON array of clauses, each an array of literals, all clauses must hold and in each
 * one literal at least. [] is TRUE (every dataset), [[]] is FALSE (none). A literal is
 * {"tokens": [..], "phrase": b, "column": i, "negate": b} (text) or
 * {"field": s, "value": s, "negate": b} (an exact filter on facet rows).
 */
struct cnf {
    json_t *clauses;
    bool none;    /* only tokenless text ("!!!"): AND and OR skip it */
    bool special; /* holds state:, a switch on the whole search: not under OR or NOT */
};

struct query {
    json_t *clauses; /* the AND of q, fq and fq_list, as struct cnf.clauses */
    /* state:…: which states may match (both by default; drafts only when asked for). */
    bool active_ok, draft_ok;
    bool want_drafts; /* state:draft asks for drafts, as include_drafts does */
};

static void cnf_release(struct cnf *c)
{
    json_decref(c->clauses);
    c->clauses = NULL;
}

/* One clause of one literal. */
static void cnf_unit(struct cnf *c, json_t *literal)
{
    c->clauses = json_pack("[[o]]", literal);
    c->none = c->special = false;
}

/* The number of literals in all clauses. */
static size_t cnf_literals(json_t *clauses)
{
    size_t i, n = 0;
    json_t *cl;

    json_array_foreach (clauses, i, cl)
        n += json_array_size(cl);
    return n;
}

static void query_add_filter(struct query *q, const char *field, const char *value, bool negate)
{
    json_array_append_new(q->clauses, json_pack("[{s:s, s:s, s:b}]", "field", field, "value", value,
                                                "negate", negate));
}

/* A clause no dataset satisfies. */
static void query_match_nothing(struct query *q)
{
    json_array_append_new(q->clauses, json_array());
}

struct parser {
    struct query *q;
    const char *param; /* "q", "fq" or "fq_list": the field errors name */
    const char *text;
    struct qtok *toks;
    size_t ntoks, pos;
    struct err *err;
};

/* a AND b into *a; b is consumed. */
static void cnf_and(struct cnf *a, struct cnf *b)
{
    a->special |= b->special;
    if (b->none) {
        cnf_release(b);
        return;
    }
    if (a->none) {
        cnf_release(a);
        *a = *b;
        b->clauses = NULL;
        return;
    }
    json_array_extend(a->clauses, b->clauses);
    cnf_release(b);
}

/* a OR b into *a, distributed: (A1 ∧ A2) ∨ (B1 ∧ B2) = ∧ of every Ai ∨ Bj; b is consumed.
 * Refused when the result would hold more than LIMIT_SEARCH_TERMS literals. */
static int cnf_or(struct parser *ps, struct cnf *a, struct cnf *b)
{
    size_t na = json_array_size(a->clauses), nb = json_array_size(b->clauses), i, j;
    json_t *out, *ca, *cb;
    int ret = 0;

    if (a->special || b->special) {
        ret = err_set(ps->err, ERR_SEARCH, ps->param,
                      "\"state\" cannot be combined with OR or NOT in \"%s\"", ps->text);
        goto out;
    }
    if (b->none)
        goto out;
    if (a->none) {
        cnf_release(a);
        *a = *b;
        b->clauses = NULL;
        goto out;
    }
    if (nb * cnf_literals(a->clauses) + na * cnf_literals(b->clauses) > LIMIT_SEARCH_TERMS) {
        ret = err_set(ps->err, ERR_SEARCH, ps->param,
                      "more than %u search terms once OR is distributed in \"%s\"",
                      LIMIT_SEARCH_TERMS, ps->text);
        goto out;
    }
    out = json_array();
    json_array_foreach (a->clauses, i, ca) {
        json_array_foreach (b->clauses, j, cb) {
            json_t *cl = json_deep_copy(ca);

            json_array_extend(cl, cb);
            json_array_append_new(out, cl);
        }
    }
    json_decref(a->clauses);
    a->clauses = out;
out:
    cnf_release(b);
    return ret;
}

/* NOT a, in place, by De Morgan: ¬(C1 ∧ C2) = ¬C1 ∨ ¬C2, and ¬(l1 ∨ l2) = ¬l1 ∧ ¬l2. */
static int cnf_not(struct parser *ps, struct cnf *a)
{
    struct cnf out = {json_pack("[[]]"), false, false}; /* FALSE, the unit of OR */
    json_t *cl, *lit;
    size_t i, j;
    int ret = 0;

    if (a->special) {
        ret = err_set(ps->err, ERR_SEARCH, ps->param,
                      "\"state\" cannot be combined with OR or NOT in \"%s\"", ps->text);
        goto done;
    }
    if (a->none)
        goto done;
    json_array_foreach (a->clauses, i, cl) {
        struct cnf neg = {json_array(), false, false};

        json_array_foreach (cl, j, lit) {
            json_t *n = json_deep_copy(lit);

            json_object_set_new(n, "negate",
                                json_boolean(!json_is_true(json_object_get(lit, "negate"))));
            json_array_append_new(neg.clauses, json_pack("[o]", n));
        }
        ret = cnf_or(ps, &out, &neg);
        if (ret)
            goto done;
    }
    cnf_release(a);
    *a = out;
    out.clauses = NULL;
done:
    cnf_release(&out);
    return ret;
}

/* Fields of CKAN's Solr schema that are text there, and the index column each is
 * searched in: title (and title_translated) in the title column, the others in the
 * text column (which also holds name, contact, organization title, extras, resource
 * names …), text (Solr's catch-all) in every column. */
static const struct {
    const char *name;
    enum store_column column;
} text_fields[] = {
        {"text", STORE_COLUMN_ANY},        {"title", STORE_COLUMN_TITLE},
        {"notes", STORE_COLUMN_TEXT},      {"author", STORE_COLUMN_TEXT},
        {"maintainer", STORE_COLUMN_TEXT},
};

/* The column of a text field (NULL: free text), or false when field is not one. */
static bool text_field(const char *field, enum store_column *col)
{
    *col = STORE_COLUMN_ANY;
    if (!field)
        return true;
    for (size_t i = 0; i < ARRAY_SIZE(text_fields); i++) {
        if (str_eq(text_fields[i].name, field)) {
            *col = text_fields[i].column;
            return true;
        }
    }
    return false;
}

/* CKAN's state field: "active" (the default) or "draft"; a draft matches only when the
 * actor may see it (package_search's visibility applies). */
static int query_state(struct parser *ps, const char *value, bool negate)
{
    bool draft;

    if (str_eq(value, "active"))
        draft = false;
    else if (str_eq(value, "draft"))
        draft = true;
    else if (str_eq(value, "deleted"))
        return err_set(ps->err, ERR_SEARCH, ps->param,
                       "state \"deleted\" is not searchable (deleted datasets are shown "
                       "by package_show to their editors)");
    else
        return err_set(ps->err, ERR_SEARCH, ps->param,
                       "unknown state \"%s\" (expected \"active\" or \"draft\")", value);
    if (draft != negate) {
        ps->q->active_ok = false;
        ps->q->want_drafts = true;
    } else {
        ps->q->draft_ok = false;
    }
    return 0;
}

/*
 * One word: free text or field:value, with the field of the group around it (def) when
 * it has none. Free text outside quotes: its query tokens, all of them (a CJK run gives
 * its bigrams); "quoted": a phrase of its index tokens (a CJK run gives its characters
 * and bigrams interleaved as the index holds them, so the phrase keeps adjacency).
 */
static int parse_word(struct parser *ps, const struct qtok *t, const char *def, bool negate,
                      struct cnf *out)
{
    const char *field = t->field ? t->field : def, *value = t->value;
    enum store_column col;

    memset(out, 0, sizeof(*out));
    if (field && str_eq(field, "*") && str_eq(value, "*")) {
        out->clauses = negate ? json_pack("[[]]") : json_array();
        return 0;
    }
    /* Solr reads "cli*" as a prefix query. The index has no prefix lookup yet
     * (NEEDSWORK: FTS5 prefix queries, "cli"*, in the store's match builder), and
     * dropping the '*' would search the word "cli" instead: refuse it. A lone "*"
     * (every dataset, or every value of a field) is kept. */
    if (t->star && !str_eq(value, "*"))
        return err_set(ps->err, ERR_SEARCH, ps->param,
                       "wildcards are not supported: \"%s\" in \"%s\" (search for whole words, "
                       "or escape the '*' as \\*)",
                       value, ps->text);
    if (text_field(field, &col)) {
        json_t *tokens = json_array();
        bool phrase = t->quoted && !t->slop;

        if (phrase)
            search_phrase_terms(value, tokens);
        else
            search_query_terms(value, tokens);
        if (!json_array_size(tokens)) {
            json_decref(tokens);
            out->none = true;
            return 0;
        }
        cnf_unit(out, json_pack("{s:o, s:b, s:i, s:b}", "tokens", tokens, "phrase", phrase,
                                "column", (int)col, "negate", negate));
        return 0;
    }
    if (str_eq(field, "state")) {
        out->none = out->special = true;
        return query_state(ps, value, negate);
    }
    if (str_eq(field, "type")) {
        /* Every dataset is of type "dataset". */
        bool all = str_eq(value, "dataset") || str_eq(value, "*");

        out->clauses = all != negate ? json_array() : json_pack("[[]]");
        return 0;
    }
    if (str_eq(field, "private")) {
        /* CKAN indexes private as a boolean; Kaifang has the capacity row. */
        if (!str_eq(value, "true") && !str_eq(value, "false"))
            return err_set(ps->err, ERR_SEARCH, ps->param,
                           "\"private\" must be true or false, not \"%s\"", value);
        field = "capacity";
        value = str_eq(value, "true") ? "private" : "public";
    }
    if (!filter_field_known(field))
        return err_set(ps->err, ERR_SEARCH, ps->param, "unknown search field \"%s\"", field);
    if (str_eq(value, "*") && !negate) {
        out->clauses = json_array();
        return 0;
    }
    cnf_unit(out, json_pack("{s:s, s:s, s:b}", "field", field, "value", value, "negate", negate));
    return 0;
}

static int parse_and(struct parser *ps, const char *def, unsigned depth, struct cnf *out);

static const struct qtok *peek(struct parser *ps)
{
    return ps->pos < ps->ntoks ? &ps->toks[ps->pos] : NULL;
}

/* unary := NOT* ( word | [field:]( and ) ) */
static int parse_unary(struct parser *ps, const char *def, unsigned depth, struct cnf *out)
{
    const struct qtok *t;
    bool negate = false;
    int ret;

    memset(out, 0, sizeof(*out));
    while ((t = peek(ps)) && t->kind == QT_NOT) {
        negate = !negate;
        ps->pos++;
    }
    if (!t || (t->kind != QT_WORD && t->kind != QT_OPEN))
        return err_set(ps->err, ERR_SEARCH, ps->param, "missing term %s in \"%s\"",
                       !t                    ? "at the end"
                       : t->kind == QT_CLOSE ? "before \")\""
                                             : "before an operator",
                       ps->text);
    ps->pos++;
    negate ^= t->negate;
    if (t->kind == QT_WORD)
        return parse_word(ps, t, def, negate, out);
    if (depth >= LIMIT_SEARCH_DEPTH)
        return err_set(ps->err, ERR_SEARCH, ps->param,
                       "parentheses nested deeper than %u in \"%s\"", LIMIT_SEARCH_DEPTH, ps->text);
    ret = parse_and(ps, t->field ? t->field : def, depth + 1, out);
    if (ret)
        return ret;
    if (!peek(ps) || peek(ps)->kind != QT_CLOSE)
        return err_set(ps->err, ERR_SEARCH, ps->param, "unbalanced parenthesis in \"%s\"",
                       ps->text);
    ps->pos++;
    return negate ? cnf_not(ps, out) : 0;
}

/* or := unary ( OR unary )* */
static int parse_or(struct parser *ps, const char *def, unsigned depth, struct cnf *out)
{
    struct cnf b = {0};
    int ret;

    ret = parse_unary(ps, def, depth, out);
    while (!ret && peek(ps) && peek(ps)->kind == QT_OR) {
        ps->pos++;
        ret = parse_unary(ps, def, depth, &b);
        if (!ret)
            ret = cnf_or(ps, out, &b);
        cnf_release(&b);
    }
    return ret;
}

/* and := [ or ( [AND] or )* ], up to ")" or the end. */
static int parse_and(struct parser *ps, const char *def, unsigned depth, struct cnf *out)
{
    const struct qtok *t;
    struct cnf b = {0};
    bool have_term = false;
    int ret = 0;

    memset(out, 0, sizeof(*out));
    out->none = true;
    while ((t = peek(ps)) && t->kind != QT_CLOSE) {
        /* AND joins two terms: one must come before it (in this group) and one after
         * (parse_unary refuses an operator, ")" or the end there), as OR does. */
        if (t->kind == QT_AND) {
            if (!have_term) {
                ret = err_set(ps->err, ERR_SEARCH, ps->param,
                              "missing term before an operator in \"%s\"", ps->text);
                break;
            }
            ps->pos++;
        }
        ret = parse_or(ps, def, depth, &b);
        have_term = true;
        if (ret)
            break;
        cnf_and(out, &b);
        if (cnf_literals(out->clauses) > LIMIT_SEARCH_TERMS) {
            ret = err_set(ps->err, ERR_SEARCH, ps->param, "more than %u search terms",
                          LIMIT_SEARCH_TERMS);
            break;
        }
    }
    cnf_release(&b);
    return ret;
}

/*
 * Parses Solr query text (q, fq, an fq_list entry; param names it in errors) and ANDs
 * it into q->clauses. The grammar and its grouping are in docs/internals/catalog.md:
 * OR binds its neighbours (a b OR c is a AND (b OR c), as Lucene attaches OR to the
 * clauses beside it), juxtaposition and AND join the rest, NOT / - / ! negate, ( )
 * group, field:( … ) gives bare words a field.
 */
static int query_parse(struct query *q, const char *text, const char *param, struct err *err)
{
    struct parser ps = {.q = q, .param = param, .text = text, .err = err};
    struct cnf c = {0};
    int ret;

    if (strlen(text) > LIMIT_SEARCH_QUERY)
        return err_set(err, ERR_SEARCH, param, "query longer than %u bytes", LIMIT_SEARCH_QUERY);
    ret = query_lex(text, param, &ps.toks, &ps.ntoks, err);
    if (!ret)
        ret = parse_and(&ps, NULL, 0, &c);
    if (!ret && ps.pos < ps.ntoks)
        ret = err_set(err, ERR_SEARCH, param, "unbalanced parenthesis in \"%s\"", text);
    if (ret)
        goto out;
    if (!c.none)
        json_array_extend(q->clauses, c.clauses);
    if (cnf_literals(q->clauses) > LIMIT_SEARCH_TERMS)
        ret = err_set(err, ERR_SEARCH, param, "more than %u search terms", LIMIT_SEARCH_TERMS);
out:
    /* A Search Query Error has no field lists (only validation errors do), so the
     * message names the parameter: q, fq and fq_list share one syntax. */
    if (ret == -ERR_SEARCH && err && str_eq(err->field, param) &&
        !starts_with(err->msg, "invalid")) {
        struct buf m = BUF_INIT;

        buf_addf(&m, "invalid \"%s\": %s", param, err->msg);
        xsnprintf(err->msg, sizeof(err->msg), "%.*s", (int)(sizeof(err->msg) - 1), m.buf);
        buf_release(&m);
    }
    cnf_release(&c);
    qtoks_free(ps.toks, ps.ntoks);
    return ret;
}

static int sort_parse(const char *sort, enum store_sort *key, bool *desc, struct err *err)
{
    static const struct {
        const char *name;
        enum store_sort key;
    } keys[] = {
            {"score", STORE_SORT_SCORE},
            {"metadata_modified", STORE_SORT_MODIFIED},
            {"metadata_created", STORE_SORT_CREATED},
            {"name", STORE_SORT_NAME},
            {"title", STORE_SORT_TITLE},
            {"title_string", STORE_SORT_TITLE},
    };
    char *copy = xstrdup(sort), *save = NULL, *part;
    bool first = true;
    int ret = 0;

    if (strlen(sort) > LIMIT_SEARCH_QUERY) {
        ret = err_set(err, ERR_SEARCH, "sort", "sort longer than %u bytes", LIMIT_SEARCH_QUERY);
        goto out;
    }
    for (part = strtok_r(copy, ",", &save); part; part = strtok_r(NULL, ",", &save)) {
        char *f, *d, *rest, *save2 = NULL;
        size_t i;

        f = strtok_r(part, " \t", &save2);
        d = f ? strtok_r(NULL, " \t", &save2) : NULL;
        rest = d ? strtok_r(NULL, " \t", &save2) : NULL;
        if (!f || !d || rest || (strcasecmp(d, "asc") && strcasecmp(d, "desc"))) {
            ret = err_set(err, ERR_SEARCH, "sort", "invalid sort \"%s\"", sort);
            goto out;
        }
        for (i = 0; i < ARRAY_SIZE(keys); i++)
            if (str_eq(keys[i].name, f))
                break;
        if (i == ARRAY_SIZE(keys)) {
            ret = err_set(err, ERR_SEARCH, "sort", "cannot sort by \"%s\"", f);
            goto out;
        }
        if (first) {
            *key = keys[i].key;
            *desc = !strcasecmp(d, "desc");
            first = false;
        }
    }
    if (first)
        ret = err_set(err, ERR_SEARCH, "sort", "invalid sort \"%s\"", sort);
out:
    free(copy);
    return ret;
}

/* facet.field: a JSON list, or a string holding one (GET). */
static int facet_fields_parse(json_t *params, json_t **fields, struct err *err)
{
    json_t *v = json_object_get(params, "facet.field"), *list = NULL, *f;
    size_t i;
    int ret = 0;

    *fields = json_array();
    if (!v || json_is_null(v))
        goto out;
    if (json_is_string(v)) {
        list = json_loads(json_string_value(v), JSON_DECODE_ANY, NULL);
        if (!list && json_string_length(v))
            list = json_pack("[s]", json_string_value(v));
    } else {
        list = json_incref(v);
    }
    if (!json_is_array(list)) {
        ret = err_set(err, ERR_VALIDATION, "facet.field", "\"facet.field\" must be a list");
        goto out;
    }
    if (json_array_size(list) > LIMIT_FACET_FIELDS) {
        ret = err_set(err, ERR_VALIDATION, "facet.field", "more than %u facet fields",
                      LIMIT_FACET_FIELDS);
        goto out;
    }
    json_array_foreach (list, i, f) {
        if (!json_is_string(f)) {
            ret = err_set(err, ERR_VALIDATION, "facet.field", "facet fields must be strings");
            goto out;
        }
        if (!filter_field_known(json_string_value(f))) {
            ret = err_set(err, ERR_SEARCH, "facet.field", "unknown facet field \"%s\"",
                          json_string_value(f));
            goto out;
        }
        json_array_append(*fields, f);
    }
out:
    json_decref(list);
    return ret;
}

static int fq_parse(struct query *q, json_t *params, struct err *err)
{
    const char *fq;
    json_t *list = json_object_get(params, "fq_list"), *v;
    size_t i;
    int ret;

    ret = param_str(params, "fq", &fq, err);
    if (ret)
        return ret;
    if (fq) {
        ret = query_parse(q, fq, "fq", err);
        if (ret)
            return ret;
    }
    if (!list || json_is_null(list))
        return 0;
    if (json_is_string(list)) {
        /* GET: a JSON-encoded list, or one filter. */
        json_t *parsed = json_loads(json_string_value(list), JSON_DECODE_ANY, NULL);

        if (json_is_array(parsed)) {
            json_array_foreach (parsed, i, v) {
                if (!json_is_string(v)) {
                    json_decref(parsed);
                    return err_set(err, ERR_VALIDATION, "fq_list",
                                   "\"fq_list\" must be a list "
                                   "of strings");
                }
                ret = query_parse(q, json_string_value(v), "fq_list", err);
                if (ret) {
                    json_decref(parsed);
                    return ret;
                }
            }
            json_decref(parsed);
            return 0;
        }
        json_decref(parsed);
        return query_parse(q, json_string_value(list), "fq_list", err);
    }
    if (!json_is_array(list))
        return err_set(err, ERR_VALIDATION, "fq_list", "\"fq_list\" must be a list of strings");
    json_array_foreach (list, i, v) {
        if (!json_is_string(v))
            return err_set(err, ERR_VALIDATION, "fq_list",
                           "\"fq_list\" must be a list of "
                           "strings");
        ret = query_parse(q, json_string_value(v), "fq_list", err);
        if (ret)
            return ret;
    }
    return 0;
}

/*
 * The titles of organizations and groups that facets show, remembered for one store
 * version of one store (process-wide, under a mutex): a search page lists up to
 * facet.limit of each, and reading each group's document per request was a tenth of a
 * freshly rendered search page's CPU time (BENCHMARKS.md, issue 4, "Fresh renders").
 * Keys are "o:<name>" and "g:<name>"; the map is emptied past FACET_NAMES_MAX entries.
 */
#define FACET_NAMES_MAX 4096
static pthread_mutex_t facet_names_lock = PTHREAD_MUTEX_INITIALIZER;
static uint64_t facet_names_store, facet_names_version;
static json_t *facet_names;

static const char *facet_display_name(struct catalog *c, uint64_t version, const char *field,
                                      const char *value, json_t **hold)
{
    bool org = str_eq(field, "organization");
    json_t *g = NULL, *t;
    const char *title;
    char *key;

    *hold = NULL;
    if (!org && !str_eq(field, "groups"))
        return value;
    key = xstrfmt("%c:%s", org ? 'o' : 'g', value);
    pthread_mutex_lock(&facet_names_lock);
    if (!facet_names || facet_names_store != store_id(c->store) || facet_names_version != version ||
        json_object_size(facet_names) >= FACET_NAMES_MAX) {
        json_decref(facet_names);
        facet_names = json_object();
        facet_names_store = store_id(c->store);
        facet_names_version = version;
    }
    t = json_incref(json_object_get(facet_names, key));
    pthread_mutex_unlock(&facet_names_lock);
    if (!t) {
        title = NULL;
        if (!store_group_get(c->store, org, value, &g, NULL))
            title = json_string_value(json_object_get(g, "title"));
        t = json_string(title && *title ? title : value);
        json_decref(g);
        pthread_mutex_lock(&facet_names_lock);
        /* Only for the version it was read under: the map may have moved on. */
        if (facet_names_store == store_id(c->store) && facet_names_version == version)
            json_object_set(facet_names, key, t);
        pthread_mutex_unlock(&facet_names_lock);
    }
    free(key);
    *hold = t;
    return json_string_value(t);
}

/*
 * Who sees what in package_search (CKAN 2.10's package_search with the default
 * permission labels, drafts limited to those the actor may edit):
 *   - everyone: public active datasets;
 *   - include_private, signed in: private active datasets of the actor's organizations
 *     (any capacity; all of them for a sysadmin);
 *   - include_drafts (or state:draft), signed in: drafts of the organizations where the
 *     actor is editor or admin (every draft for a sysadmin), whether or not
 *     include_private is given.
 * The store shows, for vis.org_ids, private active datasets and (with include_drafts)
 * drafts alike, so filters on internal facet rows trim what it would show too much:
 * draft_org (drafts of organizations where the actor is only a member) and
 * private_active (private active datasets, when drafts are asked for without
 * include_private). *org_ids: allocated here, freed by the caller.
 */
static void search_visibility(const struct actor *a, bool include_private, bool include_drafts,
                              struct query *q, struct store_visibility *vis, const char ***org_ids)
{
    bool signed_in = a && a->authenticated;
    bool drafts = (include_drafts || q->want_drafts) && q->draft_ok && signed_in;
    size_t i, n = 0;
    json_t *m;

    if (!q->active_ok) /* state:draft */
        query_add_filter(q, "state", "draft", false);
    if (!q->active_ok && !drafts)
        query_match_nothing(q);
    vis->include_drafts = drafts;
    if (!signed_in || (!include_private && !drafts))
        return;
    if (!include_private)
        query_add_filter(q, "private_active", "true", true);
    if (a->sysadmin) {
        vis->all = true;
        return;
    }
    *org_ids = xcalloc(json_array_size(a->memberships) + 1, sizeof(**org_ids));
    json_array_foreach (a->memberships, i, m) {
        const char *org = json_string_value(json_object_get(m, "id"));
        bool editor = org && actor_capacity(a, org) >= CAPACITY_EDITOR;

        if (!org)
            continue;
        if (!include_private && !editor)
            continue; /* nothing of this organization beyond its public datasets */
        if (drafts && !editor)
            query_add_filter(q, "draft_org", org, true);
        (*org_ids)[n++] = org;
    }
    vis->org_ids = *org_ids;
    vis->norg_ids = n;
}

/*
 * The store's view of a query's clauses (struct cnf): *clauses, *terms and *tokens are
 * allocated here (free() each) and borrow every string from json, which must outlive
 * the search.
 */
static void query_to_store(json_t *json, struct store_search *s, struct store_clause **clauses,
                           struct store_term **terms, const char ***tokens)
{
    size_t nterms = 0, ntokens = 0, i, j, k, t = 0, n = 0;
    json_t *cl, *lit, *tok;

    json_array_foreach (json, i, cl) {
        nterms += json_array_size(cl);
        json_array_foreach (cl, j, lit)
            ntokens += json_array_size(json_object_get(lit, "tokens"));
    }
    *clauses = xcalloc(json_array_size(json) + 1, sizeof(**clauses));
    *terms = xcalloc(nterms + 1, sizeof(**terms));
    *tokens = xcalloc(ntokens + 1, sizeof(**tokens));
    json_array_foreach (json, i, cl) {
        (*clauses)[i].terms = *terms + t;
        (*clauses)[i].nterms = json_array_size(cl);
        json_array_foreach (cl, j, lit) {
            struct store_term *st = &(*terms)[t++];
            json_t *toks = json_object_get(lit, "tokens");

            st->negate = json_is_true(json_object_get(lit, "negate"));
            if (!toks) {
                st->is_filter = true;
                st->filter.field = json_string_value(json_object_get(lit, "field"));
                st->filter.value = json_string_value(json_object_get(lit, "value"));
                continue;
            }
            st->tokens = *tokens + n;
            st->ntokens = json_array_size(toks);
            st->phrase = json_is_true(json_object_get(lit, "phrase"));
            st->column = (enum store_column)json_integer_value(json_object_get(lit, "column"));
            json_array_foreach (toks, k, tok)
                (*tokens)[n++] = json_string_value(tok);
        }
    }
    s->clauses = *clauses;
    s->nclauses = json_array_size(json);
}

static pthread_once_t splice_once = PTHREAD_ONCE_INIT;
static char splice_token[sizeof("kaifang-splice-") + 32];

static void splice_token_draw(void)
{
    uint8_t r[16];

    secret_init();
    secret_random(r, sizeof(r));
    memcpy(splice_token, "kaifang-splice-", sizeof("kaifang-splice-") - 1);
    hex_encode(r, sizeof(r), splice_token + sizeof("kaifang-splice-") - 1);
}

const char *catalog_splice_token(void)
{
    BUG_ON(pthread_once(&splice_once, splice_token_draw));
    return splice_token;
}

/*
 * The page of a raw search (r->docs: strings holding stored texts) in its output form,
 * comma-joined, appended to out; *results gets what stands for them: [] or
 * [catalog_splice_token()].
 */
static int results_text(struct catalog *c, json_t *docs, struct buf *out, json_t **results,
                        struct err *err)
{
    size_t i, len = out->len, n = 0;
    json_t *t;
    int ret = 0;

    json_array_foreach (docs, i, t) {
        /* null: a dataset whose derived text was read instead (package_search_derived). */
        if (json_is_null(t))
            continue;
        if (n++)
            buf_addch(out, ',');
        ret = dataset_output_text(c, json_string_value(t), json_string_length(t), out, err);
        if (ret)
            break;
    }
    if (!ret && buf_failed(out))
        ret = err_set(err, ERR_INTERNAL, NULL, "a search page is too large");
    if (ret) {
        buf_setlen(out, len);
        return ret;
    }
    *results = json_array();
    if (n)
        json_array_append_new(*results, json_string(catalog_splice_token()));
    return 0;
}

/* package_search; with text (not NULL), the page as text (catalog_package_search_text),
 * and with derived (not NULL) the derived texts of key (catalog_package_search_derived);
 * with summaries (and text NULL), the page as search summaries
 * (catalog_package_search_summaries). */
static int package_search(struct catalog *c, const struct actor *a, json_t *params,
                          struct buf *text, const uint8_t *key, json_t **derived, bool summaries,
                          json_t **result, struct err *err)
{
    struct query q = {json_array(), true, true, false};
    struct store_search s = {0};
    struct store_search_result r = {0};
    json_t *facet_fields = NULL, *facets = NULL, *search_facets = NULL, *results = NULL, *fv;
    uint64_t version = 0;
    const char **ffields = NULL;
    struct store_clause *clauses = NULL;
    struct store_term *sterms = NULL;
    const char **tokens = NULL;
    bool include_private, include_drafts;
    const char *qtext, *sort, *fkey, **org_ids = NULL;
    int64_t rows, start, flimit, fmin;
    size_t i;
    int ret;

    *result = NULL;
    ret = param_str(params, "q", &qtext, err);
    if (!ret && qtext)
        ret = query_parse(&q, qtext, "q", err);
    if (!ret)
        ret = fq_parse(&q, params, err);
    if (!ret)
        ret = param_str(params, "sort", &sort, err);
    if (ret)
        goto out;
    if (!sort || !*sort)
        sort = "score desc, metadata_modified desc";
    ret = sort_parse(sort, &s.sort, &s.descending, err);
    if (!ret)
        ret = param_int(params, "rows", 0, INT64_MAX, LIMIT_SEARCH_ROWS_DEFAULT, &rows, err);
    if (!ret)
        ret = param_int(params, "start", 0, LIMIT_SEARCH_START_MAX, 0, &start, err);
    if (!ret)
        ret = param_int(params, "facet.limit", -1, INT64_MAX, LIMIT_FACET_LIMIT_DEFAULT, &flimit,
                        err);
    /* CKAN sends Solr facet.mincount=1 unless given; values with no match are never
     * listed (the store counts over the matches), so 0 reads as 1. */
    if (!ret)
        ret = param_int(params, "facet.mincount", 0, INT64_MAX, 1, &fmin, err);
    if (!ret)
        ret = param_bool(params, "include_private", false, &include_private, err);
    if (!ret)
        ret = param_bool(params, "include_drafts", false, &include_drafts, err);
    if (!ret)
        ret = facet_fields_parse(params, &facet_fields, err);
    if (ret)
        goto out;
    if (rows > LIMIT_SEARCH_ROWS_MAX) /* CKAN's ckan.search.rows_max */
        rows = LIMIT_SEARCH_ROWS_MAX;
    if (flimit < 0 || flimit > LIMIT_FACET_LIMIT_MAX)
        flimit = LIMIT_FACET_LIMIT_MAX;

    search_visibility(a, include_private, include_drafts, &q, &s.vis, &org_ids);
    query_to_store(q.clauses, &s, &clauses, &sterms, &tokens);
    ffields = xcalloc(json_array_size(facet_fields) + 1, sizeof(*ffields));
    json_array_foreach (facet_fields, i, fv) {
        ffields[i] = json_string_value(fv);
    }
    s.start = (size_t)start;
    s.rows = (size_t)rows;
    s.facet_fields = ffields;
    s.nfacet_fields = json_array_size(facet_fields);
    s.facet_limit = (size_t)flimit;
    s.raw_docs = text != NULL;
    s.summaries = summaries && !text;
    s.derived_key = text && derived ? key : NULL;
    ret = store_dataset_search(c->store, &s, &r, err);
    if (ret)
        goto out;
    if (text) {
        ret = results_text(c, r.docs, text, &results, err);
        if (ret)
            goto out;
    } else {
        if (!s.summaries) /* a summary has no url to make absolute */
            datasets_output(c, r.docs);
        results = r.docs ? json_incref(r.docs) : json_array();
    }

    facets = json_object();
    search_facets = json_object();
    if (json_array_size(facet_fields))
        version = store_version(c->store);
    json_array_foreach (facet_fields, i, fv) {
        json_t *counts = json_object(), *items = json_array(), *pair;
        size_t j;

        fkey = json_string_value(fv);
        json_array_foreach (json_object_get(r.facets, fkey), j, pair) {
            const char *value = json_string_value(json_array_get(pair, 0));
            json_t *hold = NULL;
            json_int_t n = json_integer_value(json_array_get(pair, 1));

            /* The store's list is by count, highest first: dropping the tail under
             * facet.mincount leaves the facet.limit highest of those at or above it. */
            if (!value || n < fmin)
                continue;
            json_object_set_new(counts, value, json_integer(n));
            json_array_append_new(items,
                                  json_pack("{s:s, s:s, s:I}", "name", value, "display_name",
                                            facet_display_name(c, version, fkey, value, &hold),
                                            "count", n));
            json_decref(hold);
        }
        json_object_set_new(facets, fkey, counts);
        json_object_set_new(search_facets, fkey,
                            json_pack("{s:s, s:o}", "title", fkey, "items", items));
    }
    *result = json_pack("{s:I, s:o, s:o, s:o, s:s}", "count", (json_int_t)r.count, "results",
                        results, "facets", facets, "search_facets", search_facets, "sort", sort);
    results = facets = search_facets = NULL;
    if (derived) {
        *derived = r.derived;
        r.derived = NULL;
    }
out:
    json_decref(results);
    store_search_result_release(&r);
    json_decref(facets);
    json_decref(search_facets);
    json_decref(facet_fields);
    json_decref(q.clauses);
    free(clauses);
    free(sterms);
    free(tokens);
    free(ffields);
    free(org_ids);
    return ret;
}

int catalog_package_search(struct catalog *c, const struct actor *a, json_t *params,
                           json_t **result, struct err *err)
{
    return package_search(c, a, params, NULL, NULL, NULL, false, result, err);
}

int catalog_package_search_summaries(struct catalog *c, const struct actor *a, json_t *params,
                                     json_t **result, struct err *err)
{
    return package_search(c, a, params, NULL, NULL, NULL, true, result, err);
}

int catalog_package_search_text(struct catalog *c, const struct actor *a, json_t *params,
                                json_t **result, struct buf *results, struct err *err)
{
    return package_search(c, a, params, results, NULL, NULL, false, result, err);
}

int catalog_package_search_derived(struct catalog *c, const struct actor *a, json_t *params,
                                   const char *site, const uint8_t *key, json_t **result,
                                   struct buf *results, json_t **derived, struct err *err)
{
    struct catalog shown = *c;

    *derived = NULL;
    if (site)
        shown.site_url = (char *)site;
    return package_search(&shown, a, params, results, key, derived, false, result, err);
}
