/*
 * Fuzz harness for the lexical checks of datastore_search_sql on the PostgreSQL store
 * (src/store/store-pg-datastore-sql.c), which read text no one vouches for: a visitor's
 * SQL (pgds_sql_text_limits: nesting depth and compound selects outside literals, quoted
 * names and comments) and the server's deparsed plan expressions, which echo the
 * visitor's literals and names (pgds_plan_text_check: function calls and session words).
 * No server is needed: both read text only.
 *
 * Input: the text (up to the first NUL byte), given to both checks.
 *
 * Invariants checked, beyond "no crash, no leak":
 * - each check answers 0 or -ERR_VALIDATION naming "sql" with a message starting
 *   "sql: ", and the same answer twice (no state);
 * - text without '(' is never refused by the plan check for a call, and text without '('
 *   and without the words UNION, INTERSECT, EXCEPT passes the limits;
 * - a call of an allowed function around the text, "lower(" + text + ")" where the text
 *   is a single-quoted literal (quotes doubled), passes the plan check: nothing inside a
 *   literal counts as a call.
 */
#include <ctype.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/util.h"
#include "store/store-pg-ds-int.h"

static void check_answer(int rc, const struct err *e)
{
    if (rc == 0)
        return;
    if (rc != -ERR_VALIDATION || strcmp(e->field, "sql") || strncmp(e->msg, "sql: ", 5))
        abort();
}

static bool has_word(const char *s, const char *w)
{
    size_t n = strlen(w);

    for (const char *p = s; *p; p++)
        if (!strncasecmp(p, w, n))
            return true;
    return false;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = xmalloc(size + 1);
    struct err e1 = ERR_INIT, e2 = ERR_INIT, e3 = ERR_INIT, e4 = ERR_INIT, e5 = ERR_INIT;
    struct buf lit;
    int a, b, c, d, rc;

    memcpy(text, data, size);
    text[size] = 0;

    a = pgds_sql_text_limits(text, &e1);
    b = pgds_sql_text_limits(text, &e2);
    check_answer(a, &e1);
    if (a != b || strcmp(e1.msg, e2.msg))
        abort();
    c = pgds_plan_text_check(text, &e3);
    d = pgds_plan_text_check(text, &e4);
    check_answer(c, &e3);
    if (c != d || strcmp(e3.msg, e4.msg))
        abort();
    if (!strchr(text, '(')) {
        if (c && !strstr(e3.msg, "is not allowed"))
            abort();
        if (c && strstr(e3.msg, "function"))
            abort();
        if (a && !has_word(text, "union") && !has_word(text, "intersect") &&
            !has_word(text, "except"))
            abort();
    }

    /* The text as a literal inside an allowed call. */
    buf_init(&lit, 0);
    buf_addstr(&lit, "lower('");
    for (const char *p = text; *p; p++) {
        if (*p == '\'')
            buf_addch(&lit, '\'');
        buf_addch(&lit, *p);
    }
    buf_addstr(&lit, "'::text)");
    rc = pgds_plan_text_check(lit.buf, &e5);
    if (rc)
        abort();
    buf_release(&lit);
    free(text);
    return 0;
}
