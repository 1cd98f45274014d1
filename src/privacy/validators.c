/*
 * validators.c - the identifier validators of detect.h: check characters, calendar
 * dates, region codes and numbering plans. Sources: GB 11643-1999 (resident ID),
 * ISO 7064 (MOD 11-2), GB 32100-2015 (unified social credit code), ISO/IEC 7812-1
 * (Luhn), libphonenumber's CN metadata, SSA rules for SSNs, WHATWG HTML (e-mail),
 * RFC 5321 (lengths), GA 36-2018 (plates). docs/internals/privacy-detection.md.
 *
 * Every function looks at the length first and the bytes after: most values of a table
 * are rejected after a comparison or two, which keeps the scan fast.
 */
#include <arpa/inet.h>
#include <netinet/in.h>

#include "privacy/detect.h"
#include "privacy/gb2260.h"
#include "core/util.h"

static inline bool is_digit(int c)
{
    return c >= '0' && c <= '9';
}

static inline bool is_upper(int c)
{
    return c >= 'A' && c <= 'Z';
}

static inline bool is_alpha(int c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

static inline bool is_alnum(int c)
{
    return is_digit(c) || is_alpha(c);
}

static bool all_digits(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!is_digit((unsigned char)s[i]))
            return false;
    return true;
}

/* The value of n digits (n <= 9). */
static uint32_t digits_value(const char *s, size_t n)
{
    uint32_t v = 0;

    for (size_t i = 0; i < n; i++)
        v = v * 10 + (uint32_t)(s[i] - '0');
    return v;
}

uint32_t detect_today(void)
{
    time_t now = time(NULL);
    struct tm tm;

    if (!gmtime_r(&now, &tm))
        return 99991231;
    return (uint32_t)(tm.tm_year + 1900) * 10000 + (uint32_t)(tm.tm_mon + 1) * 100 +
           (uint32_t)tm.tm_mday;
}

bool detect_date_valid(unsigned y, unsigned m, unsigned d)
{
    static const unsigned char mdays[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    unsigned max;

    if (y < 1 || y > 9999 || m < 1 || m > 12 || d < 1)
        return false;
    max = mdays[m - 1];
    if (m == 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0))
        max = 29;
    return d <= max;
}

bool detect_cn_province(unsigned p)
{
    return (p >= 11 && p <= 15) || (p >= 21 && p <= 23) || (p >= 31 && p <= 37) ||
           (p >= 41 && p <= 46) || (p >= 50 && p <= 54) || (p >= 61 && p <= 65) || p == 71 ||
           p == 81 || p == 82 || p == 83;
}

/* Bitmaps of the listed county codes (1,000,000 bits) and of their prefectures (first
 * four digits, 10,000 bits), built once: a lookup per resident ID instead of two binary
 * searches keeps the scan fast. */
static uint8_t county_bits[1000000 / 8];
static uint8_t prefecture_bits[10000 / 8];
static pthread_once_t bits_once = PTHREAD_ONCE_INIT;

static void bits_init(void)
{
    for (size_t i = 0; i < gb2260_ncounties; i++) {
        uint32_t c = gb2260_counties[i].code;

        BUG_ON(c >= 1000000);
        county_bits[c / 8] |= (uint8_t)(1u << (c % 8));
        prefecture_bits[c / 100 / 8] |= (uint8_t)(1u << (c / 100 % 8));
    }
}

bool detect_cn_region_listed(uint32_t code)
{
    if (code == 810000 || code == 820000 || code == 830000)
        return true;
    if (code >= 1000000)
        return false;
    pthread_once(&bits_once, bits_init);
    return county_bits[code / 8] & (1u << (code % 8));
}

/* Whether a listed county shares the first four digits (the prefecture) of code. */
static bool prefecture_listed(uint32_t code)
{
    if (code >= 1000000)
        return false;
    pthread_once(&bits_once, bits_init);
    return prefecture_bits[code / 100 / 8] & (1u << (code / 100 % 8));
}

char detect_cn_resident_id_check_char(const char *d)
{
    /* W_i = 2^(17-i) mod 11 for i = 1..17 (GB 11643-1999 §5.2, ISO 7064 MOD 11-2). */
    static const unsigned char w[17] = {7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2};
    static const char map[11] = "10X98765432";
    unsigned s = 0;

    for (size_t i = 0; i < 17; i++) {
        if (!is_digit((unsigned char)d[i]))
            return 0;
        s += (unsigned)(d[i] - '0') * w[i];
    }
    return map[s % 11];
}

/* A birth date of an ID: a real date from 1800 to today. */
static bool birth_ok(unsigned y, unsigned m, unsigned d, uint32_t today)
{
    return y >= 1800 && detect_date_valid(y, m, d) && y * 10000 + m * 100 + d <= today;
}

enum detect_id_verdict detect_cn_resident_id_verdict(const char *s, size_t len, uint32_t today)
{
    uint32_t region;
    char c;

    if (len != 18 || !all_digits(s, 17) ||
        !(is_digit((unsigned char)s[17]) || s[17] == 'X' || s[17] == 'x'))
        return DETECT_ID_FORMAT;
    region = digits_value(s, 6);
    if (!detect_cn_province(region / 10000))
        return DETECT_ID_REGION;
    if (!detect_cn_region_listed(region) && !prefecture_listed(region))
        return DETECT_ID_REGION;
    if (!birth_ok(digits_value(s + 6, 4), digits_value(s + 10, 2), digits_value(s + 12, 2), today))
        return DETECT_ID_DATE;
    c = detect_cn_resident_id_check_char(s);
    if (c != (s[17] == 'x' ? 'X' : s[17]))
        return DETECT_ID_CHECK;
    return detect_cn_region_listed(region) ? DETECT_ID_VALID : DETECT_ID_UNLISTED_REGION;
}

bool detect_cn_resident_id(const char *s, size_t len, uint32_t today)
{
    return detect_cn_resident_id_verdict(s, len, today) == DETECT_ID_VALID;
}

bool detect_cn_resident_id15(const char *s, size_t len, uint32_t today, char *out)
{
    unsigned y;

    if (len != 15 || !all_digits(s, 15))
        return false;
    if (!detect_cn_province(digits_value(s, 2)) || !detect_cn_region_listed(digits_value(s, 6)))
        return false;
    y = 1900 + digits_value(s + 6, 2);
    if (!birth_ok(y, digits_value(s + 8, 2), digits_value(s + 10, 2), today))
        return false;
    if (out) {
        memcpy(out, s, 6);
        out[6] = '1';
        out[7] = '9';
        memcpy(out + 8, s + 6, 9);
        out[17] = detect_cn_resident_id_check_char(out);
        out[18] = '\0';
    }
    return true;
}

/* Whether the 11 digits d are a CN mobile number (libphonenumber 8.12.57 CN "mobile"
 * national number pattern; newer allocations would extend this table). */
static bool mobile11(const char *d)
{
    unsigned a, b;

    if (d[0] != '1' || !all_digits(d, 11))
        return false;
    a = (unsigned)(d[1] - '0');
    b = (unsigned)(d[2] - '0');
    switch (a) {
    case 3:
    case 8:
        return true;
    case 4:
        return b == 5 || b == 7;
    case 5:
    case 9:
        return b != 4;
    case 6:
        return b == 2 || b == 5 || b == 6 || b == 7;
    case 7:
        if (b == 4)
            return d[3] == '0' && d[4] <= '5';
        return b != 9;
    default:
        return false;
    }
}

/* Strips a +86 / 0086 / 86 prefix and one following space or '-'. */
static void strip_cn_prefix(const char **s, size_t *len, bool allow_bare86)
{
    const char *p = *s;
    size_t n = *len, k = 0;

    if (n >= 3 && !memcmp(p, "+86", 3))
        k = 3;
    else if (n >= 4 && !memcmp(p, "0086", 4))
        k = 4;
    else if (allow_bare86 && n >= 13 && !memcmp(p, "86", 2))
        k = 2;
    if (!k)
        return;
    if (k < n && (p[k] == ' ' || p[k] == '-'))
        k++;
    *s = p + k;
    *len = n - k;
}

bool detect_cn_mobile(const char *s, size_t len)
{
    char d[11];

    if (len < 11 || len > 19)
        return false;
    strip_cn_prefix(&s, &len, true);
    if (len == 11)
        return mobile11(s);
    if (len == 13 && (s[3] == ' ' || s[3] == '-') && s[8] == s[3]) {
        memcpy(d, s, 3);
        memcpy(d + 3, s + 4, 4);
        memcpy(d + 7, s + 9, 4);
        return mobile11(d);
    }
    return false;
}

bool detect_cn_landline(const char *s, size_t len)
{
    size_t na = 0, i = 0, nsub;
    bool paren = false;

    if (len < 9 || len > 20)
        return false;
    if (s[0] == '+' || (len > 4 && !memcmp(s, "0086", 4))) {
        strip_cn_prefix(&s, &len, false);
        if (len == 0 || s[0] == '0')
            return false;
        na++;
    } else if (s[0] == '(') {
        paren = true;
        i = 1;
    }
    if (!na) {
        if (i >= len || s[i] != '0')
            return false;
        na++;
        i++;
    }
    /* the area code proper: 10, 2x (2 digits) or [3-9]xx (3 digits) */
    if (i + 2 > len || !is_digit((unsigned char)s[i]) || !is_digit((unsigned char)s[i + 1]))
        return false;
    if (s[i] == '1' && s[i + 1] == '0') {
        na += 2;
        i += 2;
    } else if (s[i] == '2') {
        na += 2;
        i += 2;
    } else if (s[i] >= '3' && s[i] <= '9') {
        if (i + 3 > len || !is_digit((unsigned char)s[i + 2]))
            return false;
        na += 3;
        i += 3;
    } else {
        return false;
    }
    if (paren) {
        if (i >= len || s[i] != ')')
            return false;
        i++;
    }
    if (i < len && (s[i] == '-' || s[i] == ' '))
        i++;
    nsub = len - i;
    if (!all_digits(s + i, nsub) || s[i] < '2' || s[i] > '8')
        return false;
    return na == 3 ? nsub == 8 : (nsub == 7 || nsub == 8);
}

bool detect_luhn(const char *d, size_t n)
{
    unsigned sum = 0;

    if (!n)
        return false;
    for (size_t i = 0; i < n; i++) {
        unsigned v;
        int c = (unsigned char)d[n - 1 - i];

        if (!is_digit(c))
            return false;
        v = (unsigned)(c - '0');
        if (i % 2 == 1) {
            v *= 2;
            if (v > 9)
                v -= 9;
        }
        sum += v;
    }
    return sum % 10 == 0;
}

static bool iin_plausible(const char *d)
{
    unsigned two = digits_value(d, 2), four = digits_value(d, 4);

    switch (d[0]) {
    case '2':
        return four >= 2221 && four <= 2720;
    case '3':
        return two == 30 || two == 35 || two == 36 || two == 38;
    case '4':
        return true;
    case '5':
        return two >= 50 && two <= 55;
    case '6':
        return two == 60 || two == 62 || two == 65;
    default:
        return false;
    }
}

bool detect_bank_card(const char *s, size_t len)
{
    char d[19];
    size_t n = 0, group = 0;
    char sep = 0;

    if (len < 16 || len > 23)
        return false;
    for (size_t i = 0; i < len; i++) {
        int c = (unsigned char)s[i];

        if (is_digit(c)) {
            if (n == sizeof(d))
                return false;
            d[n++] = (char)c;
            group++;
        } else if ((c == ' ' || c == '-') && group == 4 && (!sep || sep == c) && i + 1 < len) {
            sep = (char)c;
            group = 0;
        } else {
            return false;
        }
    }
    if (n < 16 || n > 19)
        return false;
    return iin_plausible(d) && detect_luhn(d, n);
}

/* The value of a GB 32100-2015 character, -1 outside its alphabet. */
static int uscc_value(int c)
{
    static const char alphabet[] = "0123456789ABCDEFGHJKLMNPQRTUWXY";
    const char *p;

    if (!c)
        return -1;
    p = strchr(alphabet, c);
    return p ? (int)(p - alphabet) : -1;
}

char detect_cn_uscc_check_char(const char *c)
{
    static const char alphabet[] = "0123456789ABCDEFGHJKLMNPQRTUWXY";
    unsigned s = 0, w = 1;

    for (size_t i = 0; i < 17; i++) {
        int v = uscc_value((unsigned char)c[i]);

        if (v < 0)
            return 0;
        s += (unsigned)v * w;
        w = w * 3 % 31;
    }
    return alphabet[(31 - s % 31) % 31];
}

bool detect_cn_uscc(const char *s, size_t len)
{
    if (len != 18 || !is_digit((unsigned char)s[2]) || !is_digit((unsigned char)s[3]))
        return false;
    if (!detect_cn_province(digits_value(s + 2, 2)))
        return false;
    return uscc_value((unsigned char)s[17]) >= 0 && detect_cn_uscc_check_char(s) == s[17];
}

bool detect_cn_passport(const char *s, size_t len)
{
    if (len != 9)
        return false;
    if ((s[0] == 'E' || s[0] == 'G') && all_digits(s + 1, 8))
        return true;
    return s[0] == 'E' && is_upper((unsigned char)s[1]) && s[1] != 'I' && s[1] != 'O' &&
           all_digits(s + 2, 7);
}

static bool email_local_char(int c)
{
    return is_alnum(c) || (c && strchr(".!#$%&'*+/=?^_`{|}~-", c));
}

bool detect_email(const char *s, size_t len)
{
    const char *at = len >= 6 ? memchr(s, '@', len) : NULL;
    size_t nlocal, labels = 0, label = 0, i;
    bool tld_alpha = true;

    if (!at || len > 254)
        return false;
    nlocal = (size_t)(at - s);
    if (!nlocal || nlocal > 64 || s[0] == '.' || s[nlocal - 1] == '.')
        return false;
    for (i = 0; i < nlocal; i++) {
        if (!email_local_char((unsigned char)s[i]))
            return false;
        if (s[i] == '.' && s[i + 1] == '.')
            return false;
    }
    /* dot-separated labels [A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])? */
    for (i = nlocal + 1; i <= len; i++) {
        int c = i < len ? (unsigned char)s[i] : '.';

        if (c == '.') {
            if (!label || s[i - 1] == '-')
                return false;
            labels++;
            label = 0;
            continue;
        }
        if (!is_alnum(c) && c != '-')
            return false;
        if (!label) {
            if (c == '-')
                return false;
            tld_alpha = true;
        }
        if (!is_alpha(c))
            tld_alpha = false;
        if (++label > 63)
            return false;
    }
    return labels >= 2 && tld_alpha;
}

bool detect_ipv4(const char *s, size_t len)
{
    char tmp[16];
    struct in_addr a;

    if (len < 7 || len > 15 || !is_digit((unsigned char)s[0]))
        return false;
    memcpy(tmp, s, len);
    tmp[len] = '\0';
    return inet_pton(AF_INET, tmp, &a) == 1;
}

bool detect_ipv6(const char *s, size_t len)
{
    char tmp[64];
    struct in6_addr a;
    const char *pct = memchr(s, '%', len);
    size_t colons = 0;

    if (pct) {
        /* RFC 6874 zone ID: not empty, no further '%' */
        if ((size_t)(pct - s) + 1 >= len)
            return false;
        len = (size_t)(pct - s);
    }
    if (len < 2 || len > 45)
        return false;
    for (size_t i = 0; i < len; i++)
        colons += s[i] == ':';
    if (colons < 2)
        return false;
    memcpy(tmp, s, len);
    tmp[len] = '\0';
    return inet_pton(AF_INET6, tmp, &a) == 1;
}

bool detect_us_ssn(const char *s, size_t len, bool bare)
{
    char d[10];
    unsigned area, group, serial;

    if (len == 11) {
        if (!(s[3] == '-' || s[3] == ' ') || s[6] != s[3])
            return false;
        memcpy(d, s, 3);
        memcpy(d + 3, s + 4, 2);
        memcpy(d + 5, s + 7, 4);
    } else if (len == 9 && bare) {
        memcpy(d, s, 9);
    } else {
        return false;
    }
    d[9] = '\0';
    if (!all_digits(d, 9))
        return false;
    area = digits_value(d, 3);
    group = digits_value(d + 3, 2);
    serial = digits_value(d + 5, 4);
    if (area == 0 || area == 666 || area >= 900 || group == 0 || serial == 0)
        return false;
    if (!memcmp(d, "123456789", 9) || !memcmp(d, "078051120", 9) || !memcmp(d, "219099999", 9) ||
        !memcmp(d, "98765432", 8))
        return false;
    for (size_t i = 1; i < 9; i++)
        if (d[i] != d[0])
            return true;
    return false; /* all the same digit */
}

/* Whether the UTF-8 character at s (3 bytes) is a province abbreviation of a plate. */
static bool plate_province(const char *s)
{
    static const char provinces[] =
            "京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼";

    for (size_t i = 0; i + 3 <= sizeof(provinces) - 1; i += 3)
        if (!memcmp(provinces + i, s, 3))
            return true;
    return false;
}

static bool plate_char(int c)
{
    return is_digit(c) || (is_upper(c) && c != 'I' && c != 'O');
}

bool detect_cn_plate(const char *s, size_t len)
{
    size_t i;

    if (len < 9 || len > 12 || !is_upper((unsigned char)s[3]) || s[3] == 'I' || s[3] == 'O' ||
        !plate_province(s))
        return false;
    i = 4;
    if (i < len && s[i] == ' ')
        i++;
    else if (i + 2 <= len && !memcmp(s + i, "\xc2\xb7", 2)) /* U+00B7 MIDDLE DOT */
        i += 2;
    len -= i;
    s += i;
    if (len == 5) {
        for (i = 0; i < 5; i++)
            if (!plate_char((unsigned char)s[i]))
                return false;
        return true;
    }
    if (len == 6) {
        /* new energy: D/F then 5 (the first may be a letter), or 5 digits then D/F */
        if ((s[0] == 'D' || s[0] == 'F') && plate_char((unsigned char)s[1]) && all_digits(s + 2, 4))
            return true;
        return all_digits(s, 5) && (s[5] == 'D' || s[5] == 'F');
    }
    return false;
}

/* Reads 1 or 2 digits at s[*i]; -1 when there is none. */
static int small_number(const char *s, size_t len, size_t *i)
{
    int v = -1;
    size_t k = 0;

    while (*i < len && k < 2 && is_digit((unsigned char)s[*i])) {
        v = (v < 0 ? 0 : v * 10) + (s[*i] - '0');
        (*i)++;
        k++;
    }
    return v;
}

bool detect_date(const char *s, size_t len, uint32_t *ymd)
{
    unsigned y;
    int m, d;
    size_t i = 5;

    if (len < 8 || len > 40 || !all_digits(s, 4))
        return false;
    y = digits_value(s, 4);
    if (len == 8 && all_digits(s, 8)) {
        m = (int)digits_value(s + 4, 2);
        d = (int)digits_value(s + 6, 2);
    } else if (s[4] == '-' || s[4] == '/' || s[4] == '.') {
        char sep = s[4];

        m = small_number(s, len, &i);
        if (m < 0 || i >= len || s[i] != sep)
            return false;
        i++;
        d = small_number(s, len, &i);
        if (d < 0)
            return false;
        /* a timestamp: YYYY-MM-DD then 'T' or ' ' */
        if (i < len && !(sep == '-' && i == 10 && (s[i] == 'T' || s[i] == ' ')))
            return false;
    } else if (len >= 4 + 3 + 1 + 3 + 1 + 3 && !memcmp(s + 4, "年", 3)) {
        i = 7;
        m = small_number(s, len, &i);
        if (m < 0 || i + 3 > len || memcmp(s + i, "月", 3))
            return false;
        i += 3;
        d = small_number(s, len, &i);
        if (d < 0 || i + 3 != len || memcmp(s + i, "日", 3))
            return false;
    } else {
        return false;
    }
    if (!detect_date_valid(y, (unsigned)m, (unsigned)d))
        return false;
    if (ymd)
        *ymd = y * 10000 + (unsigned)m * 100 + (unsigned)d;
    return true;
}

bool detect_cn_postal_code(const char *s, size_t len)
{
    unsigned zone;

    if (len != 6 || !all_digits(s, 6))
        return false;
    zone = digits_value(s, 2);
    return zone >= 1 && zone <= 86;
}
