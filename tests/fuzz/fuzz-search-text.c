/*
 * Fuzz harness for the search tokeniser (catalog_search_text for the index and
 * search_query_terms for queries), which reads any text a publisher or a visitor types.
 *
 * Invariants checked, beyond "no crash":
 * - index output is deterministic, and is a sequence of non-empty tokens separated by
 *   single spaces (no leading, trailing or doubled space);
 * - no token holds an ASCII upper-case letter, ASCII white space or ASCII punctuation;
 * - every query term of the same text is also a token of its index text, so a document
 *   always matches a query made of its own text;
 * - the tokens of a quoted phrase (search_phrase_terms) are exactly the index tokens of
 *   the same text, in order, so a document always matches its own text as a phrase.
 */
#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "catalog/catalog-int.h"
#include "catalog/catalog.h"
#include "core/buf.h"
#include "core/util.h"

static bool token_in(const char *tokens, const char *tok)
{
    size_t n = strlen(tok);
    const char *p = tokens;

    while ((p = strstr(p, tok))) {
        bool start = p == tokens || p[-1] == ' ';
        bool end = p[n] == '\0' || p[n] == ' ';

        if (start && end)
            return true;
        p++;
    }
    return false;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct buf a = BUF_INIT, b = BUF_INIT;
    char *text;
    json_t *terms;
    size_t i;

    if (size > 4096)
        return 0;
    text = xstrndup((const char *)data, size);
    catalog_search_text(text, &a);
    catalog_search_text(text, &b);
    BUG_ON(a.len != b.len || memcmp(a.buf, b.buf, a.len));
    if (a.len) {
        BUG_ON(a.buf[0] == ' ' || a.buf[a.len - 1] == ' ');
        BUG_ON(strstr(a.buf, "  ") != NULL);
    }
    for (i = 0; i < a.len; i++) {
        unsigned char c = (unsigned char)a.buf[i];

        BUG_ON(c >= 'A' && c <= 'Z');
        BUG_ON(c != ' ' && c < 0x80 && !((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')) &&
               c != '_');
        BUG_ON(c == '\t' || c == '\n' || c == '\r');
    }
    terms = json_array();
    search_query_terms(text, terms);
    for (i = 0; i < json_array_size(terms); i++) {
        const char *t = json_string_value(json_array_get(terms, i));

        BUG_ON(!t || !*t);
        BUG_ON(!token_in(a.buf, t));
    }
    json_decref(terms);
    terms = json_array();
    search_phrase_terms(text, terms);
    buf_reset(&b);
    for (i = 0; i < json_array_size(terms); i++) {
        if (i)
            buf_addch(&b, ' ');
        buf_addstr(&b, json_string_value(json_array_get(terms, i)));
    }
    BUG_ON(a.len != b.len || memcmp(a.buf, b.buf, a.len));
    json_decref(terms);
    buf_release(&a);
    buf_release(&b);
    free(text);
    return 0;
}
