/*
 * money.c - amounts in yuan as exact integers of fen, and calendar dates. Nothing here
 * touches floating point: an amount is its digits.
 */
#include <inttypes.h>

#include "audit/audit.h"
#include "core/util.h"

int audit_amount_parse(const char *s, size_t len, int64_t *fen, const char **why)
{
    int64_t v = 0;
    size_t i = 0, ndigits = 0, ndec = 0;

    *fen = 0;
    if (!len) {
        *why = "is empty";
        return -1;
    }
    for (; i < len && s[i] >= '0' && s[i] <= '9'; i++) {
        if (++ndigits > 13) {
            *why = "is too large";
            return -1;
        }
        v = v * 10 + (s[i] - '0');
    }
    if (!ndigits) {
        *why = s[0] == '-' ? "is negative" : "is not a decimal number of yuan";
        return -1;
    }
    v *= 100;
    if (i < len && s[i] == '.') {
        i++;
        for (; i < len && s[i] >= '0' && s[i] <= '9'; i++) {
            if (++ndec > 2) {
                *why = "has more than two decimals";
                return -1;
            }
            v += (s[i] - '0') * (ndec == 1 ? 10 : 1);
        }
        if (!ndec) {
            *why = "has no digit after the decimal point";
            return -1;
        }
    }
    if (i != len) {
        *why = "is not a decimal number of yuan";
        return -1;
    }
    if (v == 0) {
        *why = "is zero";
        return -1;
    }
    if (v > AUDIT_AMOUNT_MAX_FEN) {
        *why = "is too large";
        return -1;
    }
    *fen = v;
    return 0;
}

void audit_amount_format(int64_t fen, char out[AUDIT_AMOUNT_STR_MAX])
{
    /* INT64_MIN has no positive twin: go through uint64. */
    uint64_t u = fen < 0 ? (uint64_t)0 - (uint64_t)fen : (uint64_t)fen;

    xsnprintf(out, AUDIT_AMOUNT_STR_MAX, "%s%" PRIu64 ".%02" PRIu64, fen < 0 ? "-" : "", u / 100,
              u % 100);
}

bool audit_date_valid(const char *s, size_t len)
{
    static const int mdays[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int y, m, d, dim;
    size_t i;

    if (len != 10 || s[4] != '-' || s[7] != '-')
        return false;
    for (i = 0; i < len; i++)
        if (i != 4 && i != 7 && (s[i] < '0' || s[i] > '9'))
            return false;
    y = (s[0] - '0') * 1000 + (s[1] - '0') * 100 + (s[2] - '0') * 10 + (s[3] - '0');
    m = (s[5] - '0') * 10 + (s[6] - '0');
    d = (s[8] - '0') * 10 + (s[9] - '0');
    if (y < 1900 || y > 2999 || m < 1 || m > 12 || d < 1)
        return false;
    dim = mdays[m - 1];
    if (m == 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0))
        dim = 29;
    return d <= dim;
}
