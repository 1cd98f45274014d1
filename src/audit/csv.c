/*
 * csv.c - the reader of charges files (audit.h, audit_charges_parse): RFC 4180 fields
 * on single lines, the fixed header of issue 8, each field checked where it stands so
 * that an error names its line and column. The input is untrusted (a unit's billing
 * export): every length is bounded before it is used, and nothing is allocated per row
 * beyond one buffer of the longest line.
 */
#include <string.h>

#include "audit/audit.h"
#include "core/util.h"

static const char *const column_names[AUDIT_CHARGES_COLUMNS] = {
        "organization", "unit", "system", "payer", "date", "amount", "currency", "schedule",
};

/* Strict UTF-8 (RFC 3629): no overlong forms, no surrogates, nothing past U+10FFFF. */
static bool utf8_ok(const unsigned char *s, size_t len)
{
    size_t i = 0;

    while (i < len) {
        unsigned char c = s[i];
        size_t n;
        uint32_t cp;

        if (c < 0x80) {
            i++;
            continue;
        }
        if (c >= 0xc2 && c <= 0xdf) {
            n = 1;
            cp = c & 0x1f;
        } else if (c >= 0xe0 && c <= 0xef) {
            n = 2;
            cp = c & 0x0f;
        } else if (c >= 0xf0 && c <= 0xf4) {
            n = 3;
            cp = c & 0x07;
        } else {
            return false;
        }
        if (len - i <= n)
            return false;
        for (size_t k = 1; k <= n; k++) {
            if ((s[i + k] & 0xc0) != 0x80)
                return false;
            cp = (cp << 6) | (s[i + k] & 0x3f);
        }
        if ((n == 2 && cp < 0x800) || (n == 3 && (cp < 0x10000 || cp > 0x10ffff)) ||
            (cp >= 0xd800 && cp <= 0xdfff))
            return false;
        i += n + 1;
    }
    return true;
}

static int field_error(struct err *err, unsigned long line, size_t col, const char *problem,
                       const char *value)
{
    if (value)
        return err_set(err, ERR_VALIDATION, "file", "line %lu, column %zu (%s): \"%.60s\" %s", line,
                       col + 1, column_names[col], value, problem);
    return err_set(err, ERR_VALIDATION, "file", "line %lu, column %zu (%s): %s", line, col + 1,
                   column_names[col], problem);
}

/* Checks a text field: non-empty unless optional, bounded, UTF-8, no control
 * characters. */
static int check_text(const char *v, size_t len, bool optional, unsigned long line, size_t col,
                      struct err *err)
{
    if (!len && !optional)
        return field_error(err, line, col, "is empty", NULL);
    if (len > AUDIT_FIELD_MAX)
        return err_set(err, ERR_VALIDATION, "file",
                       "line %lu, column %zu (%s): longer than %u bytes", line, col + 1,
                       column_names[col], AUDIT_FIELD_MAX);
    if (!utf8_ok((const unsigned char *)v, len))
        return field_error(err, line, col, "is not valid UTF-8", NULL);
    for (size_t i = 0; i < len; i++)
        if ((unsigned char)v[i] < 0x20 || v[i] == 0x7f)
            return field_error(err, line, col, "holds a control character", NULL);
    return 0;
}

/* A value fit to quote in a message (short, UTF-8, printable), or NULL. */
static const char *shown(const char *v, size_t len)
{
    if (!len || len > 60 || !utf8_ok((const unsigned char *)v, len))
        return NULL;
    for (size_t i = 0; i < len; i++)
        if ((unsigned char)v[i] < 0x20 || v[i] == 0x7f)
            return NULL;
    return v;
}

/* Checks the fields of one line (NUL-terminated in place, lens their lengths) and hands
 * the row to fn. */
static int row_check(char **f, const size_t *lens, unsigned long line,
                     int (*fn)(void *ctx, const struct audit_charge_row *row, struct err *err),
                     void *ctx, struct err *err)
{
    struct audit_charge_row row = {0};
    const char *why = NULL;
    int rc = 0;

    for (size_t i = 0; !rc && i < AUDIT_CHARGES_COLUMNS; i++)
        if (i != 4 && i != 5 && i != 6)
            rc = check_text(f[i], lens[i], i == 7, line, i, err);
    if (rc)
        return rc;
    if (!audit_date_valid(f[4], lens[4]))
        return field_error(err, line, 4, "is not a date YYYY-MM-DD", shown(f[4], lens[4]));
    if (audit_amount_parse(f[5], lens[5], &row.amount_fen, &why))
        return field_error(err, line, 5, why, shown(f[5], lens[5]));
    if (lens[6] != strlen(AUDIT_CURRENCY) || memcmp(f[6], AUDIT_CURRENCY, lens[6]))
        return field_error(err, line, 6, "is not " AUDIT_CURRENCY " (charges are in yuan)",
                           shown(f[6], lens[6]));
    row.organization = f[0];
    row.unit = f[1];
    row.system = f[2];
    row.payer = f[3];
    row.date = f[4];
    row.currency = f[6];
    row.schedule = f[7];
    row.line = line;
    return fn(ctx, &row, err);
}

int audit_charges_parse(const char *data, size_t len,
                        int (*fn)(void *ctx, const struct audit_charge_row *row, struct err *err),
                        void *ctx, struct err *err)
{
    const size_t hlen = strlen(AUDIT_CHARGES_HEADER);
    char *buf = NULL;
    size_t bufsize = 0, pos = 0;
    unsigned long line = 1;
    int rc = 0;

    if (len >= 3 && !memcmp(data, "\xef\xbb\xbf", 3))
        pos = 3;
    while (pos < len) {
        const char *p = data + pos, *nl = memchr(p, '\n', len - pos);
        size_t llen = nl ? (size_t)(nl - p) : len - pos;
        char *f[AUDIT_CHARGES_COLUMNS];
        size_t lens[AUDIT_CHARGES_COLUMNS];
        size_t nf = 0, i = 0, o = 0;

        pos += llen + (nl ? 1 : 0);
        if (llen && p[llen - 1] == '\r')
            llen--;
        if (line == 1) {
            if (llen != hlen || memcmp(p, AUDIT_CHARGES_HEADER, hlen)) {
                rc = err_set(err, ERR_VALIDATION, "file",
                             "line 1: the header must be exactly \"%s\"", AUDIT_CHARGES_HEADER);
                goto out;
            }
            line++;
            continue;
        }
        if (!llen) {
            if (pos >= len && !nl)
                break;
            rc = err_set(err, ERR_VALIDATION, "file", "line %lu: empty line", line);
            goto out;
        }
        if (llen + 1 > bufsize) {
            bufsize = llen + 1;
            buf = xrealloc(buf, bufsize);
        }
        /* Split and unquote into buf; fields end at ',' or the line's end. */
        for (;;) {
            size_t start = o;

            if (nf == AUDIT_CHARGES_COLUMNS) {
                rc = err_set(err, ERR_VALIDATION, "file", "line %lu: more than %d columns", line,
                             AUDIT_CHARGES_COLUMNS);
                goto out;
            }
            if (i < llen && p[i] == '"') {
                i++;
                for (;;) {
                    if (i >= llen) {
                        rc = err_set(err, ERR_VALIDATION, "file",
                                     "line %lu, column %zu (%s): unterminated quoted field "
                                     "(a field may not span lines)",
                                     line, nf + 1, column_names[nf]);
                        goto out;
                    }
                    if (p[i] == '"') {
                        if (i + 1 < llen && p[i + 1] == '"') {
                            buf[o++] = '"';
                            i += 2;
                            continue;
                        }
                        i++;
                        break;
                    }
                    buf[o++] = p[i++];
                }
                if (i < llen && p[i] != ',') {
                    rc = err_set(err, ERR_VALIDATION, "file",
                                 "line %lu, column %zu (%s): text after a closing quote", line,
                                 nf + 1, column_names[nf]);
                    goto out;
                }
            } else {
                while (i < llen && p[i] != ',') {
                    if (p[i] == '"') {
                        rc = err_set(err, ERR_VALIDATION, "file",
                                     "line %lu, column %zu (%s): a quote inside an unquoted "
                                     "field",
                                     line, nf + 1, column_names[nf]);
                        goto out;
                    }
                    buf[o++] = p[i++];
                }
            }
            lens[nf] = o - start;
            f[nf++] = buf + start;
            /* Room for the NUL: the separator or a quote removed made it; the last field
             * of a line without either ends at llen, and buf has llen + 1 bytes. */
            buf[o++] = '\0';
            if (i >= llen)
                break;
            i++; /* ',' */
            if (i == llen) {
                /* A trailing comma: one more, empty, field. */
                if (nf == AUDIT_CHARGES_COLUMNS) {
                    rc = err_set(err, ERR_VALIDATION, "file", "line %lu: more than %d columns",
                                 line, AUDIT_CHARGES_COLUMNS);
                    goto out;
                }
                lens[nf] = 0;
                f[nf++] = buf + o;
                buf[o++] = '\0';
                break;
            }
        }
        if (nf != AUDIT_CHARGES_COLUMNS) {
            rc = err_set(err, ERR_VALIDATION, "file", "line %lu: %zu columns instead of %d", line,
                         nf, AUDIT_CHARGES_COLUMNS);
            goto out;
        }
        rc = row_check(f, lens, line, fn, ctx, err);
        if (rc)
            goto out;
        line++;
    }
    if (line == 1)
        rc = err_set(err, ERR_VALIDATION, "file", "line 1: the header must be exactly \"%s\"",
                     AUDIT_CHARGES_HEADER);
out:
    free(buf);
    return rc;
}
