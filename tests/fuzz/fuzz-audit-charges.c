/*
 * Fuzz harness for the reader of charges files (src/audit/csv.c, audit_charges_parse())
 * and the amount parser it uses (src/audit/money.c).
 *
 * Invariants, beyond "no crash":
 * - every row handed out has an amount in (0, AUDIT_AMOUNT_MAX_FEN], a valid date,
 *   currency CNY, non-empty organization, unit, system and payer without control
 *   characters, and line numbers that increase;
 * - a rejected file's message names its line ("line N…") and the field "file";
 * - round trip: the accepted rows written back as CSV (every field quoted, amounts
 *   printed by audit_amount_format) parse again to the same rows and the same total;
 * - the input's first line, when audit_amount_parse accepts it, prints back to an
 *   amount that parses to the same fen.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "audit/audit.h"
#include "core/buf.h"
#include "core/util.h"

#define FUZZ_MAX_INPUT (64u * 1024)

struct acc {
    struct buf csv;  /* the rows written back */
    struct buf keys; /* every field of every row, for the comparison */
    int64_t total;
    unsigned long rows, last_line;
};

static void quoted(struct buf *b, const char *s)
{
    buf_addch(b, '"');
    for (; *s; s++) {
        if (*s == '"')
            buf_addch(b, '"');
        buf_addch(b, *s);
    }
    buf_addch(b, '"');
}

static int collect(void *ctx, const struct audit_charge_row *r, struct err *err)
{
    struct acc *a = ctx;
    const char *f[] = {r->organization, r->unit, r->system, r->payer, r->date, r->schedule};
    char amount[AUDIT_AMOUNT_STR_MAX];

    (void)err;
    if (r->amount_fen <= 0 || r->amount_fen > AUDIT_AMOUNT_MAX_FEN ||
        !audit_date_valid(r->date, strlen(r->date)) || strcmp(r->currency, "CNY") ||
        r->line <= a->last_line)
        abort();
    for (size_t i = 0; i < 4; i++) {
        if (!*f[i])
            abort();
        for (const char *p = f[i]; *p; p++)
            if ((unsigned char)*p < 0x20)
                abort();
    }
    a->last_line = r->line;
    a->rows++;
    a->total += r->amount_fen;
    audit_amount_format(r->amount_fen, amount);
    for (size_t i = 0; i < 4; i++) {
        quoted(&a->csv, f[i]);
        buf_addch(&a->csv, ',');
    }
    quoted(&a->csv, r->date);
    buf_addch(&a->csv, ',');
    buf_addstr(&a->csv, amount);
    buf_addstr(&a->csv, ",CNY,");
    quoted(&a->csv, r->schedule);
    buf_addstr(&a->csv, "\r\n");
    for (size_t i = 0; i < ARRAY_SIZE(f); i++) {
        buf_addstr(&a->keys, f[i]);
        buf_addch(&a->keys, '\n');
    }
    buf_addstr(&a->keys, amount);
    buf_addch(&a->keys, '\n');
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct acc a = {BUF_INIT, BUF_INIT, 0, 0, 0}, b = {BUF_INIT, BUF_INIT, 0, 0, 0};
    struct err err = ERR_INIT;
    const char *nl, *why = NULL;
    int64_t fen = 0, again = 0;
    char amount[AUDIT_AMOUNT_STR_MAX];
    struct buf again_csv = BUF_INIT;
    int rc;

    if (size > FUZZ_MAX_INPUT)
        return 0;
    nl = memchr(data, '\n', size);
    if (!audit_amount_parse((const char *)data, nl ? (size_t)(nl - (const char *)data) : size, &fen,
                            &why)) {
        audit_amount_format(fen, amount);
        if (audit_amount_parse(amount, strlen(amount), &again, &why) || again != fen)
            abort();
    }
    rc = audit_charges_parse((const char *)data, size, collect, &a, &err);
    if (rc) {
        if (strcmp(err.field, "file") || strncmp(err.msg, "line ", 5))
            abort();
    } else {
        buf_addstr(&again_csv, AUDIT_CHARGES_HEADER "\r\n");
        buf_add(&again_csv, a.csv.buf, a.csv.len);
        if (audit_charges_parse(again_csv.buf, again_csv.len, collect, &b, &err) ||
            b.rows != a.rows || b.total != a.total || b.keys.len != a.keys.len ||
            memcmp(b.keys.buf, a.keys.buf, a.keys.len))
            abort();
    }
    buf_release(&a.csv);
    buf_release(&a.keys);
    buf_release(&b.csv);
    buf_release(&b.keys);
    buf_release(&again_csv);
    return 0;
}
