/*
 * Fuzz harness for the privacy detectors (src/privacy/detect.h, validators.c). The input
 * is fed (1) whole, and each of its lines, to every validator and to detect_value() and
 * detect_mask(), and (2) as a small CSV file to the column scan (ingest_table_open() on a
 * memory file, then detect_scan_table() and both reports).
 *
 * Invariants, beyond "no crash":
 * - a value the resident ID validator accepts has 18 characters, a known province, a
 *   real birth date not after "today", and the check character that an independent
 *   MOD 11-2 computation here gives; a 15-digit ID accepted converts to an 18-character
 *   number the 18-digit validator accepts;
 * - an accepted bank card has 16–19 digits that pass a Luhn check written here; an
 *   accepted credit code matches the GB 32100 check written here; an accepted e-mail has
 *   one '@' and at most 254 bytes; an accepted mobile number has at least 11 digits;
 * - detect_value() returns a detector that accepts the value (or none);
 * - masking keeps at most min(3, n/4) characters in front and min(4, n/4) at the end of
 *   n characters, exactly as the rule says, stars between, never more than
 *   DETECT_MASK_MAX - 1 bytes;
 * - the scan counts no more matches than values and values than rows; shares lie in
 *   [0, 1]; at most DETECT_EXAMPLES examples, each a masked string (at most 7 characters
 *   kept); the JSON report serialises.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "ingest/ingest.h"
#include "privacy/detect.h"
#include "core/util.h"

#define FUZZ_MAX_INPUT (16u * 1024)
#define TODAY          20261205u

static char ref_id_check(const char *d)
{
    unsigned s = 0, w = 1;

    /* weights 2^(17-i) mod 11, from the last digit (weight 2) to the first */
    for (int i = 16; i >= 0; i--) {
        w = w * 2 % 11;
        s += (unsigned)(d[i] - '0') * w;
    }
    return "10X98765432"[s % 11];
}

static bool ref_luhn(const char *s, size_t len, size_t *ndigits)
{
    unsigned sum = 0;
    size_t n = 0;

    for (size_t i = len; i-- > 0;) {
        unsigned v;

        if (s[i] < '0' || s[i] > '9')
            continue;
        v = (unsigned)(s[i] - '0');
        if (n++ % 2)
            v = v * 2 > 9 ? v * 2 - 9 : v * 2;
        sum += v;
    }
    *ndigits = n;
    return sum % 10 == 0;
}

static bool ref_uscc(const char *s)
{
    static const char a[] = "0123456789ABCDEFGHJKLMNPQRTUWXY";
    unsigned sum = 0, w = 1;

    for (int i = 0; i < 17; i++) {
        const char *p = strchr(a, s[i]);

        if (!p || !s[i])
            return false;
        sum += (unsigned)(p - a) * w;
        w = w * 3 % 31;
    }
    return a[(31 - sum % 31) % 31] == s[17];
}

static size_t nchars(const char *s, size_t len)
{
    size_t n = 0;

    for (size_t i = 0; i < len; i++)
        n += ((unsigned char)s[i] & 0xc0) != 0x80;
    return n;
}

static void check_mask(const char *s, size_t len)
{
    char out[DETECT_MASK_MAX], want[DETECT_MASK_MAX * 2];
    size_t n = nchars(s, len), front = n / 4 < 3 ? n / 4 : 3, back = n / 4 < 4 ? n / 4 : 4;
    size_t stars = n - front - back > 16 ? 16 : n - front - back, fb = 0, bb = 0, k, w = 0;
    size_t o = detect_mask(s, len, out);

    BUG_ON(o >= DETECT_MASK_MAX || out[o] || front + back > 7 || front + back > n / 2);
    /* the bytes of the first front characters (capped at 4 bytes a character) */
    for (k = 0; fb < len; fb++)
        if ((((unsigned char)s[fb] & 0xc0) != 0x80) && k++ == front)
            break;
    if (fb > 4 * front)
        fb = 4 * front;
    for (k = 0; bb < len && k < back; bb++)
        k += ((unsigned char)s[len - 1 - bb] & 0xc0) != 0x80;
    if (bb > 4 * back)
        bb = 4 * back;
    memcpy(want, s, fb);
    w = fb;
    memset(want + w, '*', stars);
    w += stars;
    memcpy(want + w, s + len - bb, bb);
    w += bb;
    BUG_ON(w != o || memcmp(want, out, o));
}

static void check_value(const char *s, size_t len)
{
    char id18[19];
    enum detect_id_verdict v = detect_cn_resident_id_verdict(s, len, TODAY);
    enum detect_kind k;
    size_t nd;

    if (v == DETECT_ID_VALID || v == DETECT_ID_UNLISTED_REGION) {
        unsigned y = (unsigned)((s[6] - '0') * 1000 + (s[7] - '0') * 100 + (s[8] - '0') * 10 +
                                (s[9] - '0'));
        unsigned m = (unsigned)((s[10] - '0') * 10 + (s[11] - '0'));
        unsigned d = (unsigned)((s[12] - '0') * 10 + (s[13] - '0'));

        BUG_ON(len != 18);
        BUG_ON(ref_id_check(s) != (s[17] == 'x' ? 'X' : s[17]));
        BUG_ON(!detect_cn_province((unsigned)((s[0] - '0') * 10 + (s[1] - '0'))));
        BUG_ON(!detect_date_valid(y, m, d) || y * 10000 + m * 100 + d > TODAY);
    }
    BUG_ON(detect_cn_resident_id(s, len, TODAY) != (v == DETECT_ID_VALID));
    if (detect_cn_resident_id15(s, len, TODAY, id18))
        BUG_ON(detect_cn_resident_id_verdict(id18, 18, TODAY) != DETECT_ID_VALID);
    if (detect_bank_card(s, len))
        BUG_ON(!ref_luhn(s, len, &nd) || nd < 16 || nd > 19);
    if (detect_cn_uscc(s, len))
        BUG_ON(len != 18 || !ref_uscc(s));
    if (detect_email(s, len)) {
        const char *at = memchr(s, '@', len);

        BUG_ON(!at || memchr(at + 1, '@', len - (size_t)(at - s) - 1) || len > 254);
    }
    if (detect_cn_mobile(s, len)) {
        nd = 0;
        for (size_t i = 0; i < len; i++)
            nd += s[i] >= '0' && s[i] <= '9';
        BUG_ON(nd < 11);
    }
    detect_cn_landline(s, len);
    detect_cn_passport(s, len);
    detect_ipv4(s, len);
    detect_ipv6(s, len);
    detect_us_ssn(s, len, true);
    detect_cn_plate(s, len);
    detect_date(s, len, NULL);
    detect_cn_postal_code(s, len);
    for (unsigned hints = 0; hints < 2; hints++) {
        k = detect_value(s, len, hints ? ~0u : 0u, TODAY);
        switch (k) {
        case DETECT_CN_RESIDENT_ID:
            BUG_ON(!detect_cn_resident_id(s, len, TODAY));
            break;
        case DETECT_CN_MOBILE:
            BUG_ON(!detect_cn_mobile(s, len));
            break;
        case DETECT_BANK_CARD:
            BUG_ON(!detect_bank_card(s, len));
            break;
        case DETECT_EMAIL:
            BUG_ON(!detect_email(s, len));
            break;
        case DETECT_CN_USCC:
            BUG_ON(!detect_cn_uscc(s, len));
            break;
        default:
            BUG_ON(k > DETECT_COUNT);
            break;
        }
    }
    check_mask(s, len);
}

static void check_scan(const uint8_t *data, size_t size)
{
    struct ingest_options o = INGEST_OPTIONS_INIT;
    struct ingest_table *t = NULL;
    struct detect_scan sc;
    struct err err = ERR_INIT;
    struct buf text = BUF_INIT;
    char path[64];
    json_t *report;
    char *s;
    int fd;

    memset(&sc, 0, sizeof(sc));
    fd = memfd_create("fuzz-privacy-detect", 0);
    BUG_ON(fd < 0);
    BUG_ON(size && write(fd, data, size) != (ssize_t)size);
    xsnprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
    o.format = INGEST_FORMAT_CSV;
    o.encoding = "UTF-8";
    o.lenient = true;
    if (ingest_table_open(&t, path, "fuzz.csv", &o, &err))
        goto out;
    if (detect_scan_table(t, &sc, &err)) {
        BUG_ON(err.kind == ERR_NONE);
        goto out;
    }
    for (size_t i = 0; i < sc.ncolumns; i++) {
        const struct detect_column *c = &sc.columns[i];
        uint64_t whole = 0;

        for (unsigned k = 0; k < DETECT_COUNT; k++)
            whole += c->counts[k];
        BUG_ON(c->matched > c->values || c->values > sc.rows || whole > c->matched);
        BUG_ON(c->share < 0 || c->share > 1 || c->nexamples > DETECT_EXAMPLES);
        for (size_t e = 0; e < c->nexamples; e++) {
            size_t kept = 0, len = strlen(c->examples[e]);

            BUG_ON(len >= DETECT_MASK_MAX || (len && !memchr(c->examples[e], '*', len)));
            for (size_t j = 0; j < len; j++)
                kept += c->examples[e][j] != '*' &&
                        (((unsigned char)c->examples[e][j] & 0xc0) != 0x80);
            /* kept characters: at most 7, unless the value itself held '*' */
            BUG_ON(kept > 7);
        }
    }
    report = detect_scan_json(&sc);
    s = json_dumps(report, 0);
    BUG_ON(!s);
    free(s);
    json_decref(report);
    detect_scan_text(&sc, &text);
    BUG_ON(buf_failed(&text));
out:
    buf_release(&text);
    detect_scan_release(&sc);
    ingest_table_free(t);
    close(fd);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *s = (const char *)data;
    size_t start = 0;

    if (size > FUZZ_MAX_INPUT)
        return 0;
    check_value(s, size);
    for (size_t i = 0; i <= size; i++) {
        if (i == size || s[i] == '\n' || s[i] == ',') {
            check_value(s + start, i - start);
            start = i + 1;
        }
    }
    check_scan(data, size);
    return 0;
}
