/*
 * infer.c - type inference over every cell of a column, and the conversion of a cell to
 * a value of its column's type (ingest.h, "Type inference"; docs/internals/ingest.md,
 * "Types").
 *
 * Both run once per cell of a file that may hold hundreds of millions of cells, so each
 * grammar is one forward pass over the bytes with no allocation, no locale, no strtol or
 * strtod (which accept more than the grammars do: spaces, hex, "inf") and no regex.
 * Inference and conversion share the scanners, so a value the inference accepted for a
 * type is always converted (the fuzz harness checks it).
 */
#include <jansson.h>

#include "ingest/ingest.h"
#include "core/util.h"

#define BIT(t) (1u << (t))
#define TYPED_BITS                                                                                 \
    (BIT(DSTYPE_INT8) | BIT(DSTYPE_NUMERIC) | BIT(DSTYPE_BOOL) | BIT(DSTYPE_DATE) |                \
     BIT(DSTYPE_TIMESTAMP) | BIT(DSTYPE_JSON))

/* PostgreSQL's bounds for numeric (docs, "Arbitrary Precision Numbers": up to 131072
 * digits before the decimal point and 16383 after; numeric_in refuses an exponent beyond
 * ±1000), so that a value typed numeric here is one a PostgreSQL store accepts too. */
#define NUMERIC_MAX_INT_DIGITS  131072u
#define NUMERIC_MAX_FRAC_DIGITS 16383u
#define NUMERIC_MAX_EXPONENT    1000u
/* Fraction digits of a timestamp's seconds (nanoseconds): the canonical text must fit
 * INGEST_SCRATCH. */
#define TIMESTAMP_MAX_FRAC 9u

static inline bool is_digit(unsigned char c)
{
    return (unsigned char)(c - '0') < 10;
}

/* ---- Missing values --------------------------------------------------------------- */

static bool missing_token(const char *s, size_t len)
{
    switch (len) {
    case 0:
        return true;
    case 1:
        return s[0] == '-';
    case 2:
        return s[0] == 'N' && s[1] == 'A';
    case 3:
        /* "N/A", "n/a", and U+2014 EM DASH (E2 80 94). */
        return (s[1] == '/' && ((s[0] == 'N' && s[2] == 'A') || (s[0] == 'n' && s[2] == 'a'))) ||
               !memcmp(s, "\xe2\x80\x94", 3);
    case 4:
        return !memcmp(s, "null", 4) || !memcmp(s, "NULL", 4);
    default:
        return false;
    }
}

static inline bool is_missing(const struct ingest_cell *cell)
{
    if (cell->kind == INGEST_CELL_EMPTY || !cell->len)
        return true;
    /* Only text can hold a token: a NUMBER, DATE or JSON cell is a value by its kind. */
    return cell->kind == INGEST_CELL_TEXT && cell->len <= 4 && missing_token(cell->s, cell->len);
}

bool ingest_is_missing(const struct ingest_cell *cell)
{
    return is_missing(cell);
}

/* ---- Numbers ---------------------------------------------------------------------- */

enum num_class {
    NUM_NO = 0,  /* not the numeric grammar */
    NUM_NUMERIC, /* numeric, but not int8 */
    NUM_INT8,    /* -?(0|[1-9][0-9]*) within int64: int8 and numeric */
};

/*
 * One pass over [+-]? (digits ('.' digits)? | '.' digits) ([eE] [+-]? digits)?, where the
 * integer part has no leading zero before other digits ("0.5" yes, "007" and "00.5" no).
 * The int8 form is the canonical decimal of an int64: no sign but '-', no "-0", no
 * fraction or exponent, at most 9223372036854775807 (…808 when negative).
 */
static enum num_class scan_number(const unsigned char *p, size_t len)
{
    const unsigned char *end = p + len, *q = p, *int_start;
    size_t nint, nfrac = 0;
    bool neg = false, plain = true;

    if (q < end && (*q == '-' || *q == '+')) {
        neg = *q == '-';
        plain = neg;
        q++;
    }
    int_start = q;
    while (q < end && is_digit(*q))
        q++;
    nint = (size_t)(q - int_start);
    if (nint > 1 && *int_start == '0')
        return NUM_NO;
    if (q < end && *q == '.') {
        const unsigned char *frac = ++q;

        while (q < end && is_digit(*q))
            q++;
        nfrac = (size_t)(q - frac);
        if (!nfrac) /* "5." and "." are not numbers here */
            return NUM_NO;
        plain = false;
    } else if (!nint) {
        return NUM_NO;
    }
    if (q < end && (*q == 'e' || *q == 'E')) {
        unsigned e = 0;
        const unsigned char *exp;

        q++;
        if (q < end && (*q == '-' || *q == '+'))
            q++;
        exp = q;
        while (q < end && is_digit(*q)) {
            e = e * 10 + (unsigned)(*q - '0');
            if (e > NUMERIC_MAX_EXPONENT)
                return NUM_NO;
            q++;
        }
        if (q == exp)
            return NUM_NO;
        plain = false;
    }
    if (q != end || nint > NUMERIC_MAX_INT_DIGITS || nfrac > NUMERIC_MAX_FRAC_DIGITS)
        return NUM_NO;
    if (!plain || (neg && nint == 1 && *int_start == '0') || nint > 19)
        return NUM_NUMERIC;
    if (nint == 19 &&
        memcmp(int_start, neg ? "9223372036854775808" : "9223372036854775807", 19) > 0)
        return NUM_NUMERIC;
    return NUM_INT8;
}

/* scan_number() == NUM_INT8 and the value, in one pass (conversion runs once per cell of
 * every int8 column). */
static bool parse_int8(const unsigned char *p, size_t len, int64_t *out)
{
    const unsigned char *end = p + len;
    bool neg = false;
    uint64_t v = 0;
    size_t n;

    if (p < end && *p == '-') {
        neg = true;
        p++;
    }
    n = (size_t)(end - p);
    if (!n || n > 19 || (*p == '0' && (n > 1 || neg)))
        return false;
    for (; p < end; p++) {
        unsigned d = (unsigned)(*p - '0');

        if (d > 9)
            return false;
        v = v * 10 + d; /* at most 19 digits: below 2^64 */
    }
    if (v > (uint64_t)INT64_MAX + neg)
        return false;
    /* -(2^63) is INT64_MIN: negate in unsigned arithmetic, then convert. */
    *out = neg ? (int64_t)(0 - v) : (int64_t)v;
    return true;
}

/* ---- Dates and timestamps --------------------------------------------------------- */

struct civil {
    unsigned y, m, d;
};

/* Proleptic Gregorian calendar (ISO 8601). */
static unsigned days_in_month(unsigned y, unsigned m)
{
    static const unsigned char days[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};

    if (m == 2 && y % 4 == 0 && (y % 100 != 0 || y % 400 == 0))
        return 29;
    return days[m - 1];
}

/* One or two digits (two exactly when two is set) at *q, at most 99. */
static bool scan_small(const unsigned char **q, const unsigned char *end, bool two, unsigned *v)
{
    const unsigned char *p = *q;

    if (p >= end || !is_digit(*p))
        return false;
    *v = (unsigned)(*p++ - '0');
    if (p < end && is_digit(*p)) {
        *v = *v * 10 + (unsigned)(*p++ - '0');
    } else if (two) {
        return false;
    }
    *q = p;
    return true;
}

static bool scan_literal(const unsigned char **q, const unsigned char *end, const char *lit,
                         size_t n)
{
    if ((size_t)(end - *q) < n || memcmp(*q, lit, n))
        return false;
    *q += n;
    return true;
}

/*
 * A date at the start of [p, end): YYYY-MM-DD (ISO 8601, two-digit month and day),
 * YYYY/M/D or YYYY年M月D日 (one or two digits each), year 0001–9999, a day that exists in
 * its month (leap years of the Gregorian calendar). Returns the bytes it spans, 0 when
 * there is no date there.
 */
static size_t scan_date(const unsigned char *p, const unsigned char *end, struct civil *c)
{
    const unsigned char *q = p + 4;
    bool ok;

    if (end - p < 8 || !is_digit(p[0]) || !is_digit(p[1]) || !is_digit(p[2]) || !is_digit(p[3]))
        return 0;
    c->y = (unsigned)((p[0] - '0') * 1000 + (p[1] - '0') * 100 + (p[2] - '0') * 10 + (p[3] - '0'));
    switch (*q) {
    case '-':
        q++;
        ok = scan_small(&q, end, true, &c->m) && scan_literal(&q, end, "-", 1) &&
             scan_small(&q, end, true, &c->d);
        break;
    case '/':
        q++;
        ok = scan_small(&q, end, false, &c->m) && scan_literal(&q, end, "/", 1) &&
             scan_small(&q, end, false, &c->d);
        break;
    case 0xe5: /* 年 U+5E74, then 月 U+6708 and 日 U+65E5 */
        ok = scan_literal(&q, end, "\xe5\xb9\xb4", 3) && scan_small(&q, end, false, &c->m) &&
             scan_literal(&q, end, "\xe6\x9c\x88", 3) && scan_small(&q, end, false, &c->d) &&
             scan_literal(&q, end, "\xe6\x97\xa5", 3);
        break;
    default:
        return 0;
    }
    if (!ok || !c->y || c->m < 1 || c->m > 12 || c->d < 1 || c->d > days_in_month(c->y, c->m))
        return 0;
    return (size_t)(q - p);
}

struct stamp {
    struct civil date;
    bool has_time;
    unsigned hh, mi, ss;
    bool has_ss;
    const unsigned char *frac; /* the '.' and its digits, or NULL */
    size_t frac_len;
    const unsigned char *zone; /* "Z" or "±HH:MM", or NULL */
    size_t zone_len;
    bool canonical; /* already YYYY-MM-DDTHH:MM:SS… as the canonical text wants */
};

/*
 * A whole date or timestamp: a date (scan_date), optionally followed by 'T' or ' ',
 * HH:MM[:SS[.fraction]] (00–23, 00–59, 00–59; 1–9 fraction digits) and an optional Z
 * or ±HH:MM offset. Returns false when s is neither.
 */
static bool scan_stamp(const unsigned char *p, size_t len, struct stamp *st)
{
    const unsigned char *end = p + len, *q;
    size_t n = scan_date(p, end, &st->date);

    if (!n)
        return false;
    st->has_time = false;
    st->canonical = n == 10 && p[4] == '-';
    q = p + n;
    if (q == end)
        return true;
    if (*q != 'T' && *q != ' ')
        return false;
    st->canonical = st->canonical && *q == 'T';
    q++;
    if (!scan_small(&q, end, true, &st->hh) || st->hh > 23 || !scan_literal(&q, end, ":", 1) ||
        !scan_small(&q, end, true, &st->mi) || st->mi > 59)
        return false;
    st->has_time = true;
    st->has_ss = false;
    st->ss = 0;
    st->frac = st->zone = NULL;
    st->frac_len = st->zone_len = 0;
    if (q < end && *q == ':') {
        q++;
        if (!scan_small(&q, end, true, &st->ss) || st->ss > 59)
            return false;
        st->has_ss = true;
        if (q < end && *q == '.') {
            st->frac = q++;
            while (q < end && is_digit(*q))
                q++;
            st->frac_len = (size_t)(q - st->frac);
            if (st->frac_len < 2 || st->frac_len > TIMESTAMP_MAX_FRAC + 1)
                return false;
        }
    }
    st->canonical = st->canonical && st->has_ss;
    if (q < end) {
        unsigned oh, om;

        st->zone = q;
        if (*q == 'Z') {
            q++;
        } else if (*q == '+' || *q == '-') {
            q++;
            if (!scan_small(&q, end, true, &oh) || oh > 23 || !scan_literal(&q, end, ":", 1) ||
                !scan_small(&q, end, true, &om) || om > 59)
                return false;
        } else {
            return false;
        }
        st->zone_len = (size_t)(q - st->zone);
    }
    return q == end;
}

/* Writes the date as YYYY-MM-DD (10 bytes, no NUL). */
static void put_date(char *out, const struct civil *c)
{
    out[0] = (char)('0' + c->y / 1000);
    out[1] = (char)('0' + c->y / 100 % 10);
    out[2] = (char)('0' + c->y / 10 % 10);
    out[3] = (char)('0' + c->y % 10);
    out[4] = '-';
    out[5] = (char)('0' + c->m / 10);
    out[6] = (char)('0' + c->m % 10);
    out[7] = '-';
    out[8] = (char)('0' + c->d / 10);
    out[9] = (char)('0' + c->d % 10);
}

static void put2(char *out, unsigned v)
{
    out[0] = (char)('0' + v / 10);
    out[1] = (char)('0' + v % 10);
}

/* The canonical timestamp text of st into out (at most 35 bytes and a NUL: 10 + 1 + 8 +
 * 10 + 6). Returns its length. */
static size_t put_stamp(char *out, const struct stamp *st)
{
    size_t n = 19;

    put_date(out, &st->date);
    out[10] = 'T';
    put2(out + 11, st->has_time ? st->hh : 0);
    out[13] = ':';
    put2(out + 14, st->has_time ? st->mi : 0);
    out[16] = ':';
    put2(out + 17, st->has_time ? st->ss : 0);
    if (st->has_time && st->frac) {
        memcpy(out + n, st->frac, st->frac_len);
        n += st->frac_len;
    }
    if (st->has_time && st->zone) {
        memcpy(out + n, st->zone, st->zone_len);
        n += st->zone_len;
    }
    out[n] = '\0';
    return n;
}

/* ---- Inference -------------------------------------------------------------------- */

static bool is_bool_text(const char *s, size_t len)
{
    return (len == 4 && !strncasecmp(s, "true", 4)) || (len == 5 && !strncasecmp(s, "false", 5));
}

/* The types (BIT mask) a non-missing cell's value fits, text aside. */
static uint32_t cell_types(const struct ingest_cell *cell)
{
    const unsigned char *p = (const unsigned char *)cell->s;
    struct stamp st;

    switch (cell->kind) {
    case INGEST_CELL_NUMBER:
        break;
    case INGEST_CELL_BOOL:
        return BIT(DSTYPE_BOOL);
    case INGEST_CELL_DATE:
        return BIT(DSTYPE_DATE) | BIT(DSTYPE_TIMESTAMP);
    case INGEST_CELL_TIMESTAMP:
        return BIT(DSTYPE_TIMESTAMP);
    case INGEST_CELL_JSON:
        return BIT(DSTYPE_JSON);
    case INGEST_CELL_TEXT:
        /* Dispatch on the first byte: each grammar starts differently, so a value goes
         * through one scanner, and most text is refused at its first byte. */
        if (*p == 't' || *p == 'T' || *p == 'f' || *p == 'F')
            return is_bool_text(cell->s, cell->len) ? BIT(DSTYPE_BOOL) : 0;
        if (cell->len >= 8 && (p[4] == '-' || p[4] == '/' || p[4] == 0xe5) && is_digit(p[0]) &&
            is_digit(p[1]) && is_digit(p[2]) && is_digit(p[3])) {
            /* "YYYY-", "YYYY/", "YYYY年": never a number, so a date or nothing. */
            if (!scan_stamp(p, cell->len, &st))
                return 0;
            return st.has_time ? BIT(DSTYPE_TIMESTAMP) : BIT(DSTYPE_DATE) | BIT(DSTYPE_TIMESTAMP);
        }
        if (!is_digit(*p) && *p != '-' && *p != '+' && *p != '.')
            return 0;
        break;
    default:
        return 0;
    }
    switch (scan_number(p, cell->len)) {
    case NUM_INT8:
        return BIT(DSTYPE_INT8) | BIT(DSTYPE_NUMERIC);
    case NUM_NUMERIC:
        return BIT(DSTYPE_NUMERIC);
    default:
        return 0;
    }
}

void ingest_infer_init(struct ingest_infer *inf)
{
    inf->candidates = TYPED_BITS;
    inf->width = 0;
    inf->values = 0;
    inf->missing = 0;
    inf->empty = 0;
}

void ingest_infer_cell(struct ingest_infer *inf, const struct ingest_cell *cell)
{
    if (is_missing(cell)) {
        inf->missing++;
        inf->empty += !cell->len;
        return;
    }
    inf->values++;
    /* Once a column is text, no later value can change that: skip the scan. */
    if (inf->candidates) {
        uint32_t types = cell_types(cell);

        inf->candidates &= types;
        if ((types & BIT(DSTYPE_INT8)) && inf->width != UINT32_MAX) {
            if (cell->kind != INGEST_CELL_TEXT || cell->s[0] == '-' ||
                (inf->width && inf->width != cell->len))
                inf->width = UINT32_MAX;
            else
                inf->width = (uint32_t)cell->len; /* < LIMIT_INGEST_FIELD */
        }
    }
}

enum dstype ingest_infer_type(const struct ingest_infer *inf)
{
    /* Most specific first: int8 before numeric, date before timestamp. */
    static const enum dstype order[] = {DSTYPE_INT8, DSTYPE_NUMERIC,   DSTYPE_BOOL,
                                        DSTYPE_DATE, DSTYPE_TIMESTAMP, DSTYPE_JSON};

    if (!inf->values)
        return DSTYPE_TEXT;
    for (size_t i = 0; i < ARRAY_SIZE(order); i++)
        if (inf->candidates & BIT(order[i]))
            return order[i];
    return DSTYPE_TEXT;
}

static bool ascii_alnum(unsigned char c)
{
    return is_digit(c) || ((c | 0x20) >= 'a' && (c | 0x20) <= 'z');
}

/* Whether a field id names a code (ingest_infer_type_field). */
static bool names_code(const char *id)
{
    static const char *const words[] = {"code", "id", "fips", "zip", "zipcode", "postcode"};
    static const char *const zh[] = {"代码", "编码", "编号", "号码", "邮编"};
    size_t n = strlen(id), start = n;

    for (size_t i = 0; i < ARRAY_SIZE(zh); i++) {
        size_t k = strlen(zh[i]);

        if (n >= k && !memcmp(id + n - k, zh[i], k))
            return true;
    }
    while (start && ascii_alnum((unsigned char)id[start - 1]))
        start--;
    /* A camel-case last word: "countyId", "CountyCode". */
    for (size_t i = start + 1; i < n; i++)
        if (id[i] >= 'A' && id[i] <= 'Z' && id[i - 1] >= 'a' && id[i - 1] <= 'z')
            start = i;
    for (size_t i = 0; i < ARRAY_SIZE(words); i++)
        if (n - start == strlen(words[i]) && !strncasecmp(id + start, words[i], n - start))
            return true;
    return false;
}

enum dstype ingest_infer_type_field(const struct ingest_infer *inf, const char *id)
{
    enum dstype t = ingest_infer_type(inf);

    if (t == DSTYPE_INT8 && inf->width >= 2 && inf->width != UINT32_MAX && names_code(id))
        return DSTYPE_TEXT;
    return t;
}

/* ---- Conversion ------------------------------------------------------------------- */

/* The message for a value that does not fit t; the value is quoted, cut at a character
 * boundary when long. */
static int not_valid(struct err *err, enum dstype t, const char *s, size_t len)
{
    const size_t max = 80;
    size_t n = len;

    if (!err)
        return -ERR_VALIDATION;
    if (n > max) {
        n = max;
        while (n && ((unsigned char)s[n] & 0xc0) == 0x80)
            n--;
    }
    return err_set(err, ERR_VALIDATION, NULL, "\"%.*s%s\" is not a valid %s", (int)n, s,
                   n < len ? "…" : "", dstype_name(t));
}

static bool is_json_text(const char *s, size_t len)
{
    json_error_t jerr;
    json_t *j = json_loadb(s, len, JSON_DECODE_ANY | JSON_ALLOW_NUL, &jerr);

    json_decref(j);
    return j != NULL;
}

int ingest_value_convert(enum dstype t, const struct ingest_cell *cell, struct dsvalue *out,
                         char *scratch, struct err *err)
{
    const unsigned char *p = (const unsigned char *)cell->s;
    struct stamp st;

    out->kind = DSVALUE_NULL;
    out->i = 0;
    out->s = NULL;
    out->len = 0;
    if (cell->kind == INGEST_CELL_EMPTY || !cell->len)
        return 0;
    if (t != DSTYPE_TEXT && is_missing(cell))
        return 0;
    out->kind = DSVALUE_TEXT;
    out->s = cell->s;
    out->len = cell->len;
    switch (t) {
    case DSTYPE_TEXT:
        return 0;
    case DSTYPE_INT8:
        if (cell->kind != INGEST_CELL_TEXT && cell->kind != INGEST_CELL_NUMBER)
            break;
        if (!parse_int8(p, cell->len, &out->i))
            break;
        out->kind = DSVALUE_INT;
        out->s = NULL;
        out->len = 0;
        return 0;
    case DSTYPE_NUMERIC:
        if (cell->kind != INGEST_CELL_TEXT && cell->kind != INGEST_CELL_NUMBER)
            break;
        if (scan_number(p, cell->len) == NUM_NO)
            break;
        return 0;
    case DSTYPE_BOOL:
        if (!is_bool_text(cell->s, cell->len))
            break;
        out->s = (*p == 't' || *p == 'T') ? "true" : "false";
        out->len = strlen(out->s);
        return 0;
    case DSTYPE_DATE:
        if (cell->kind != INGEST_CELL_TEXT && cell->kind != INGEST_CELL_DATE)
            break;
        if (!scan_stamp(p, cell->len, &st) || st.has_time)
            break;
        if (!st.canonical) {
            put_date(scratch, &st.date);
            scratch[10] = '\0';
            out->s = scratch;
            out->len = 10;
        }
        return 0;
    case DSTYPE_TIMESTAMP:
        if (cell->kind != INGEST_CELL_TEXT && cell->kind != INGEST_CELL_DATE &&
            cell->kind != INGEST_CELL_TIMESTAMP)
            break;
        if (!scan_stamp(p, cell->len, &st))
            break;
        if (!st.has_time || !st.canonical) {
            out->len = put_stamp(scratch, &st);
            out->s = scratch;
        }
        return 0;
    case DSTYPE_JSON:
        /* A JSON cell is JSON by its reader; other text is checked (only in a column
         * re-typed json by the publisher: inference gives json to JSON cells only). */
        if (cell->kind != INGEST_CELL_JSON && !is_json_text(cell->s, cell->len))
            break;
        return 0;
    }
    out->kind = DSVALUE_NULL;
    out->s = NULL;
    out->len = 0;
    return not_valid(err, t, cell->s, cell->len);
}
