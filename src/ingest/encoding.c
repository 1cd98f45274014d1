/*
 * encoding.c - text files read as UTF-8 whatever their encoding (struct ingest_text,
 * ingest-int.h), for the CSV and JSON readers.
 *
 * Detection, unless the caller names the encoding: a byte-order mark wins (UTF-8,
 * UTF-16LE/BE, UTF-32LE/BE); else the first LIMIT_INGEST_SNIFF bytes decide: pure ASCII
 * or valid UTF-8 is UTF-8, NUL bytes on every other position make UTF-16 without a BOM,
 * and anything else goes to uchardet, whose guess is mapped to the iconv name of the
 * superset publishers actually write (GB2312 and GBK are GB18030, ISO-8859-1 is
 * WINDOWS-1252) and must then decode the sniffed bytes, else a wider relative is tried
 * (BIG5-HKSCS for BIG5, CP949 for EUC-KR, ISO-8859-1 for WINDOWS-1252 …); a single-byte
 * guess is then weighed against WINDOWS-1252 by how plausible each decoding looks
 * (prefer_1252), since uchardet tells western code pages apart only from a lot of text,
 * and against GB18030 (prefer_gb18030), since it cannot place a word or two of Chinese.
 *
 * Reading: UTF-8 files are read straight into the caller's buffer and validated in place
 * (RFC 3629: no overlong forms, surrogates or code points past U+10FFFF), eight ASCII
 * bytes at a time; a sequence cut by the end of a read is held back for the next one.
 * Other encodings go through iconv(3) from a TEXT_CHUNK input buffer, the tail of an
 * incomplete sequence (EINVAL) kept for the next chunk. A NUL byte (or U+0000) is refused
 * as well: no cell can hold one. The valid text before bad bytes is returned first and
 * the error by the next read (fail_at), so readers yield the rows before the bad line;
 * the line is found by reading the file again from the start up to the offending output
 * byte, so the fast path counts nothing.
 */
#include <assert.h>
#include <fcntl.h>
#include <iconv.h>
#include <uchardet/uchardet.h>

#include "core/buf.h"
#include "core/limits.h"
#include "core/log.h"
#include "ingest/ingest-int.h"
#include "core/util.h"

#define TEXT_CHUNK (256u * 1024) /* file bytes converted at a time (not UTF-8) */
#define ASCII_MASK 0x8080808080808080ull
#define ONES       0x0101010101010101ull

struct ingest_text {
    int fd;
    uint64_t size;         /* of the file */
    size_t skip;           /* bytes of the BOM */
    bool utf8;             /* the fast path: no iconv */
    bool detected;         /* the encoding was detected, not given */
    iconv_t cd;            /* (iconv_t)-1 on the UTF-8 path */
    char name[32];         /* iconv name */
    char *in;              /* TEXT_CHUNK bytes read from the file, not yet converted */
    size_t in_off;         /* first unconverted byte of in */
    size_t in_len;         /* bytes in in */
    unsigned char held[4]; /* UTF-8: the start of a sequence the last read cut */
    size_t nheld;
    bool eof;      /* read() returned 0 */
    bool flushed;  /* iconv's shift state written out at the end */
    uint64_t read; /* bytes read from the file (its descriptor's offset) */
    uint64_t out;  /* UTF-8 bytes returned so far */
    bool bad;      /* bytes not valid (or a NUL) at output offset bad_at: see fail_at() */
    bool bad_nul;
    uint64_t bad_at;
};

/* ---- UTF-8 ------------------------------------------------------------------------ */

/* The byte count of the UTF-8 sequence lead byte c starts (RFC 3629 §4), 0 if c cannot
 * start one. */
static unsigned utf8_len(unsigned char c)
{
    if (c < 0x80)
        return 1;
    if (c >= 0xc2 && c <= 0xdf)
        return 2;
    if (c >= 0xe0 && c <= 0xef)
        return 3;
    if (c >= 0xf0 && c <= 0xf4)
        return 4;
    return 0;
}

/* Whether c may follow lead byte lead as the sequence's second byte (RFC 3629 §4: E0
 * and F0 exclude overlong forms, ED surrogates, F4 code points past U+10FFFF). */
static bool utf8_second_ok(unsigned char lead, unsigned char c)
{
    switch (lead) {
    case 0xe0:
        return c >= 0xa0 && c <= 0xbf;
    case 0xed:
        return c >= 0x80 && c <= 0x9f;
    case 0xf0:
        return c >= 0x90 && c <= 0xbf;
    case 0xf4:
        return c >= 0x80 && c <= 0x8f;
    default:
        return (c & 0xc0) == 0x80;
    }
}

/*
 * The index of the first byte of p[0..n) that is NUL or not part of a valid UTF-8
 * sequence; n when there is none. When that byte starts a sequence that is valid so far
 * but cut by the end of p, *cut is set (the rest may come with the next read).
 */
static size_t utf8_check(const unsigned char *p, size_t n, bool *cut)
{
    size_t i = 0;

    *cut = false;
    while (i < n) {
        unsigned k;

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
        /* Eight bytes at a time while they are ASCII and none is NUL; else straight to
         * the first byte that is not (the lowest marked byte is exact: a borrow only
         * comes from a NUL below it). */
        while (i + 8 <= n) {
            uint64_t v, m;

            memcpy(&v, p + i, 8);
            m = (v | ((v - ONES) & ~v)) & ASCII_MASK;
            if (m) {
                i += (size_t)__builtin_ctzll(m) >> 3;
                break;
            }
            i += 8;
        }
        if (i >= n)
            break;
#endif
        if (p[i] < 0x80) {
            if (!p[i])
                return i;
            i++;
            continue;
        }
        k = utf8_len(p[i]);
        if (!k)
            return i;
        for (unsigned j = 1; j < k; j++) {
            if (i + j >= n) {
                *cut = true;
                return i;
            }
            if (j == 1 ? !utf8_second_ok(p[i], p[i + 1]) : (p[i + j] & 0xc0) != 0x80)
                return i;
        }
        i += k;
    }
    return n;
}

/* ---- Encoding names --------------------------------------------------------------- */

/* Copies name upper-cased into dst (size bytes). false when it does not fit or holds a
 * character no iconv name has ('/' would let a caller ask for //IGNORE or //TRANSLIT). */
static bool name_copy(char *dst, size_t size, const char *name)
{
    size_t i;

    for (i = 0; name[i]; i++) {
        char c = name[i];

        if (i + 1 >= size)
            return false;
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '_' || c == '.' || c == ':'))
            return false;
        dst[i] = (char)(c >= 'a' && c <= 'z' ? c - 32 : c);
    }
    dst[i] = '\0';
    return i > 0;
}

bool ingest_encoding_known(const char *name)
{
    char given[32];
    iconv_t cd;

    if (!name || !name_copy(given, sizeof(given), name))
        return false;
    cd = iconv_open("UTF-8", given);
    if (cd == (iconv_t)-1)
        return false;
    iconv_close(cd);
    return true;
}

static bool is_utf8_name(const char *upper)
{
    return !strcmp(upper, "UTF-8") || !strcmp(upper, "UTF8");
}

/* uchardet's name for a guess → the iconv name of the encoding to read it as, with the
 * wider relative to try when the bytes do not decode (NULL when there is none). */
static void map_guess(const char *guess, const char **name, const char **wider)
{
    static const struct {
        const char *guess, *name, *wider;
    } map[] = {
            /* Publishers' "GB2312" files are GBK or GB18030 (both supersets). */
            {"GB2312", "GB18030", NULL},
            {"GBK", "GB18030", NULL},
            {"GB18030", "GB18030", NULL},
            {"BIG5", "BIG5", "BIG5-HKSCS"},
            {"EUC-TW", "EUC-TW", "BIG5"},
            /* ISO-8859-1 files are in practice WINDOWS-1252 (curly quotes at 0x93). */
            {"ISO-8859-1", "WINDOWS-1252", "ISO-8859-1"},
            {"WINDOWS-1252", "WINDOWS-1252", "ISO-8859-1"},
            {"EUC-KR", "EUC-KR", "CP949"},
            {"UHC", "CP949", NULL},
            {"SHIFT_JIS", "SHIFT_JIS", "CP932"},
            {"EUC-JP", "EUC-JP", "EUC-JP-MS"},
            {"ASCII", "UTF-8", NULL},
    };

    for (size_t i = 0; i < ARRAY_SIZE(map); i++)
        if (!strcasecmp(guess, map[i].guess)) {
            *name = map[i].name;
            *wider = map[i].wider;
            return;
        }
    *name = guess;
    *wider = NULL;
}

/* Whether the n bytes at p decode in iconv encoding name without an invalid sequence or
 * a NUL; a sequence cut by the end is accepted when cut_ok (the sniff ends mid-file).
 * The UTF-8 text goes to text when it is not NULL. */
static bool decodes(const char *name, const char *p, size_t n, bool cut_ok, struct buf *text)
{
    iconv_t cd = iconv_open("UTF-8", name);
    char out[4096];
    char *in = (char *)p;
    size_t left = n;
    bool ok = true;

    if (cd == (iconv_t)-1)
        return false;
    while (left) {
        char *o = out;
        size_t room = sizeof(out);
        size_t r = iconv(cd, &in, &left, &o, &room);

        if (memchr(out, 0, (size_t)(o - out))) {
            ok = false;
            break;
        }
        if (text)
            buf_add(text, out, (size_t)(o - out));
        if (r == (size_t)-1 && errno == E2BIG)
            continue;
        if (r == (size_t)-1) {
            ok = errno == EINVAL && cut_ok;
            break;
        }
    }
    iconv_close(cd);
    return ok;
}

/* Whether a guess is a single-byte encoding, whose guesses uchardet makes from little
 * evidence (a few accented letters). */
static bool single_byte(const char *name)
{
    static const char *const multi[] = {"GB",   "BIG5",     "EUC-", "SHIFT_JIS", "CP9",  "UTF-",
                                        "UCS-", "ISO-2022", "HZ",   "UHC",       "JOHAB"};

    for (size_t i = 0; i < ARRAY_SIZE(multi); i++)
        if (!strncmp(name, multi[i], strlen(multi[i])))
            return false;
    return true;
}

/* Whether code point cp is a letter of the Latin, Greek, Cyrillic, Hebrew, Arabic or
 * Thai blocks, or punctuation that text in those scripts commonly holds. */
static bool plain_char(unsigned cp)
{
    static const unsigned punct[] = {0xa0,   0xa1,   0xa3,   0xa7,   0xa9,   0xab,   0xb0,   0xb7,
                                     0xbb,   0xbf,   0x2013, 0x2014, 0x2018, 0x2019, 0x201a, 0x201c,
                                     0x201d, 0x201e, 0x2022, 0x2026, 0x20ac, 0x2122};

    if ((cp >= 0xc0 && cp <= 0x24f && cp != 0xd7 && cp != 0xf7) || (cp >= 0x370 && cp <= 0x52f) ||
        (cp >= 0x590 && cp <= 0x6ff) || (cp >= 0xe00 && cp <= 0xe7f))
        return true;
    for (size_t i = 0; i < ARRAY_SIZE(punct); i++)
        if (cp == punct[i])
            return true;
    return false;
}

/* Whether Latin letter cp (U+00C0-U+024F) is a capital: Latin-1's C0-DE; in Latin
 * Extended-A the capital comes first in each pair, which falls on odd code points in
 * U+0139-U+0148 and U+0179-U+017E (and U+0178 is Y with diaeresis). */
static bool latin_capital(unsigned cp)
{
    if (cp <= 0xde)
        return true;
    if ((cp >= 0x139 && cp <= 0x148) || (cp >= 0x179 && cp <= 0x17e))
        return cp & 1;
    if (cp == 0x178)
        return true;
    return cp >= 0x100 && cp <= 0x177 && !(cp & 1);
}

/*
 * How implausible a decoding of text is: one point for each non-ASCII character that is
 * neither a letter nor common punctuation (box drawing, '±', '¼', C1 controls: what a
 * wrong code page makes of letters), for each accented Latin letter third or later in a
 * run of them (Cyrillic or Greek read as Latin makes whole words of them), and for each
 * accented capital right after a small ASCII letter ("JosÚ"). Lower is more plausible.
 */
static size_t implausibility(const char *s, size_t n)
{
    size_t points = 0, run = 0, i = 0;
    unsigned prev = 0;

    while (i < n) {
        unsigned char c = (unsigned char)s[i];
        unsigned cp, k = utf8_len(c);
        bool latin;

        if (k <= 1 || i + k > n) {
            run = 0;
            prev = c;
            i++;
            continue;
        }
        cp = c & (0xff >> (k + 1));
        for (unsigned j = 1; j < k; j++)
            cp = cp << 6 | ((unsigned char)s[i + j] & 0x3f);
        i += k;
        points += !plain_char(cp);
        latin = cp >= 0xc0 && cp <= 0x24f && cp != 0xd7 && cp != 0xf7;
        if (latin) {
            bool capital = latin_capital(cp);

            points += ++run >= 3;
            points += capital && prev >= 'a' && prev <= 'z';
        } else {
            run = 0;
        }
        prev = cp;
    }
    return points;
}

/* Single-byte guesses uchardet makes for western text it has little of (a few
 * kilobytes of French read as IBM852 or ISO-8859-13): on a tie with WINDOWS-1252, 1252. */
static bool rare_guess(const char *name)
{
    static const char *const rare[] = {
            "ISO-8859-3",  "ISO-8859-4",  "ISO-8859-10", "ISO-8859-13",      "ISO-8859-14",
            "ISO-8859-15", "ISO-8859-16", "IBM437",      "IBM850",           "IBM852",
            "IBM855",      "IBM862",      "IBM865",      "MAC-CENTRALEUROPE"};

    for (size_t i = 0; i < ARRAY_SIZE(rare); i++)
        if (!strcmp(name, rare[i]))
            return true;
    return false;
}

/*
 * Between uchardet's single-byte guess and WINDOWS-1252 (the code page of most western
 * files that are not UTF-8): the more plausible decoding of the sniff; on a tie the
 * guess, unless it is a rare one. Polish read as 1252 gets '±' and '¼', Russian read as
 * 1252 whole words of accented letters, so their own code pages still win; Czech without
 * 'š' and 'ž' ties, and uchardet's WINDOWS-1250 stays.
 */
static const char *prefer_1252(const char *guess, const char *p, size_t n, bool cut)
{
    struct buf a = BUF_INIT, b = BUF_INIT;
    const char *pick = guess;

    if (!single_byte(guess) || !strcmp(guess, "WINDOWS-1252"))
        return guess;
    if (decodes(guess, p, n, cut, &a) && decodes("WINDOWS-1252", p, n, cut, &b)) {
        size_t ours = implausibility(b.buf, b.len), theirs = implausibility(a.buf, a.len);

        if (ours < theirs || (ours == theirs && rare_guess(guess)))
            pick = "WINDOWS-1252";
    }
    buf_release(&a);
    buf_release(&b);
    return pick;
}

/* The share, in percent, of the non-ASCII characters of UTF-8 text that are CJK: the
 * unified ideographs and their extension A, CJK punctuation, full-width forms. 0 when
 * there are none. */
static unsigned cjk_percent(const char *s, size_t n)
{
    size_t all = 0, cjk = 0, i = 0;

    while (i < n) {
        unsigned k = utf8_len((unsigned char)s[i]), cp;

        if (k <= 1 || i + k > n) {
            i++;
            continue;
        }
        cp = (unsigned char)s[i] & (0xff >> (k + 1));
        for (unsigned j = 1; j < k; j++)
            cp = cp << 6 | ((unsigned char)s[i + j] & 0x3f);
        i += k;
        all++;
        cjk += (cp >= 0x4e00 && cp <= 0x9fff) || (cp >= 0x3400 && cp <= 0x4dbf) ||
               (cp >= 0x3000 && cp <= 0x303f) || (cp >= 0xff00 && cp <= 0xffef);
    }
    return all ? (unsigned)(cjk * 100 / all) : 0;
}

/* Whether single-byte encoding name is one of the Latin code pages, whose misreadings
 * implausibility() sees; the others (Greek, Cyrillic, Hebrew, Arabic, Thai) read pairs of
 * GB18030 bytes as plausible letters. */
static bool latin_single_byte(const char *name)
{
    static const char *const latin[] = {
            "WINDOWS-1250", "WINDOWS-1252", "WINDOWS-1254", "WINDOWS-1257", "WINDOWS-1258",
            "ISO-8859-1",   "ISO-8859-2",   "ISO-8859-3",   "ISO-8859-4",   "ISO-8859-9",
            "ISO-8859-10",  "ISO-8859-13",  "ISO-8859-14",  "ISO-8859-15",  "ISO-8859-16",
            "IBM437",       "IBM850",       "IBM852",       "IBM865",       "MAC-CENTRALEUROPE",
            "MACINTOSH",    "ASCII"};

    for (size_t i = 0; i < ARRAY_SIZE(latin); i++)
        if (!strcmp(name, latin[i]))
            return true;
    return false;
}

/*
 * The share, in percent, of the multi-byte characters of GB18030 bytes p[0..n) that are
 * common ones: GB2312's level-1 hanzi (the 3,755 most used, lead byte B0-D7), its
 * punctuation (A1xx: 、。“”) and full-width forms (A3xx). 0 when there are none, or the
 * bytes do not have GB18030's structure (a lead byte 81-FE followed by a trail 40-7E or
 * 80-FE, or by a digit, a lead and a digit). Words of other single-byte scripts seldom
 * make common hanzi: lower-case Cyrillic, Greek and accented Latin letters are bytes
 * E0-FF, which lead to level-2 hanzi, and an accented letter before an ASCII one makes a
 * GBK extension character.
 */
static unsigned gb_common_percent(const unsigned char *p, size_t n, bool cut)
{
    size_t all = 0, common = 0, i = 0;

    while (i < n) {
        unsigned char c = p[i];

        if (c < 0x80) {
            i++;
            continue;
        }
        if (c == 0x80 || c == 0xff)
            return 0;
        if (i + 1 >= n)
            break; /* cut by the end of the sniff */
        if (p[i + 1] >= 0x30 && p[i + 1] <= 0x39) {
            if (i + 3 >= n)
                break;
            if (p[i + 2] < 0x81 || p[i + 2] > 0xfe || p[i + 3] < 0x30 || p[i + 3] > 0x39)
                return 0;
            all++;
            i += 4;
            continue;
        }
        if (p[i + 1] < 0x40 || p[i + 1] == 0x7f || p[i + 1] == 0xff)
            return 0;
        all++;
        common += p[i + 1] >= 0xa1 && ((c >= 0xb0 && c <= 0xd7) || c == 0xa1 || c == 0xa3);
        i += 2;
    }
    if (i < n && !cut)
        return 0;
    return all ? (unsigned)(common * 100 / all) : 0;
}

/*
 * Between a single-byte guess (or none: guess NULL when no guess of uchardet decodes) and
 * GB18030, for short Chinese text that uchardet cannot place: it takes "北京" for
 * WINDOWS-1252 ("±±¾©"), "上海" for ISO-8859-7, and "广州市" for nothing at all. GB18030
 * must decode the sniff; then it wins
 *   - over a Latin code page when that reading looks wrong (implausibility() above 0)
 *     and GB18030 reads CJK (at least 90% of the non-ASCII characters): "Québec",
 *     "ção" or "AÇÃO" decode as GB18030 too, but read plausibly in WINDOWS-1252;
 *   - over another script's code page when at least 90% of the characters are common
 *     hanzi or Chinese punctuation (gb_common_percent()). Greek or Russian words in
 *     capitals alone (bytes C0-DF) make common hanzi too: a file of nothing else is read
 *     as GB18030 (set the encoding); with lower-case letters they do not;
 *   - over no guess (the alternative is an error) when it reads CJK (90%: "深圳").
 * *why: the reason, for the log, when GB18030 wins.
 */
static const char *prefer_gb18030(const char *guess, const char *p, size_t n, bool cut,
                                  const char **why)
{
    struct buf a = BUF_INIT, b = BUF_INIT;
    const char *pick = guess;

    *why = NULL;
    if (guess && !single_byte(guess))
        return guess;
    if (!decodes("GB18030", p, n, cut, &b))
        goto out;
    if (guess && latin_single_byte(guess)) {
        if (decodes(guess, p, n, cut, &a) && implausibility(a.buf, a.len) > 0 &&
            cjk_percent(b.buf, b.len) >= 90) {
            pick = "GB18030";
            *why = "its reading in the single-byte code page looks wrong and GB18030 reads "
                   "Chinese characters";
        }
    } else if (!guess && cjk_percent(b.buf, b.len) >= 90) {
        pick = "GB18030";
        *why = "GB18030 reads Chinese characters";
    } else if (guess && gb_common_percent((const unsigned char *)p, n, cut) >= 90 &&
               cjk_percent(b.buf, b.len) >= 90) {
        pick = "GB18030";
        *why = "GB18030 reads common Chinese characters";
    }
out:
    buf_release(&a);
    buf_release(&b);
    return pick;
}

/* ---- Reading the file ------------------------------------------------------------- */

static int io_error(struct err *err, const char *what)
{
    return err_set(err, ERR_INTERNAL, "file", "cannot %s the file: %s", what, strerror(errno));
}

/* read(2) that retries on EINTR; -1 with errno on failure. */
static ssize_t read_some(int fd, void *buf, size_t n)
{
    ssize_t r;

    do
        r = read(fd, buf, n);
    while (r < 0 && errno == EINTR);
    return r;
}

/* Fills buf with up to n bytes from offset off (fewer at the end of the file). */
static ssize_t read_at(int fd, void *buf, size_t n, uint64_t off)
{
    size_t got = 0;

    while (got < n) {
        ssize_t r = pread(fd, (char *)buf + got, n - got, (off_t)(off + got));

        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return -1;
        if (!r)
            break;
        got += (size_t)r;
    }
    return (ssize_t)got;
}

/* Line-end counting across chunks: LF, CRLF and a lone CR each end one line. chars: the
 * characters (UTF-8 lead bytes) after the last line end. */
struct line_count {
    uint64_t lines;
    uint64_t chars;
    bool cr;
};

static void count_lines(struct line_count *lc, const char *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (p[i] == '\n') {
            if (!lc->cr)
                lc->lines++;
            lc->cr = false;
            lc->chars = 0;
        } else if (p[i] == '\r') {
            lc->lines++;
            lc->cr = true;
            lc->chars = 0;
        } else {
            lc->cr = false;
            lc->chars += ((unsigned char)p[i] & 0xc0) != 0x80;
        }
    }
}

/* The 1-based line holding UTF-8 output byte target (the first bad byte), and in
 * *column the 1-based character of that line it is: the file is read (and converted)
 * again from its start, since nothing was counted on the way. */
static uint64_t line_of(const struct ingest_text *t, uint64_t target, uint64_t *column)
{
    struct line_count lc = {0, 0, false};
    iconv_t cd = (iconv_t)-1;
    char *in = xmalloc(TEXT_CHUNK), *out = NULL;
    uint64_t off = t->skip, done = 0;
    size_t have = 0;

    if (!t->utf8) {
        cd = iconv_open("UTF-8", t->name);
        out = xmalloc(TEXT_CHUNK * 4);
        if (cd == (iconv_t)-1)
            goto out;
    }
    while (done < target) {
        ssize_t r = read_at(t->fd, in + have, TEXT_CHUNK - have, off);
        char *ip = in, *op;
        size_t left, room;
        bool bad;

        if (r <= 0 && !have)
            break;
        if (r > 0)
            off += (uint64_t)r;
        left = have + (size_t)(r > 0 ? r : 0);
        if (t->utf8) {
            size_t n = left;

            if (n > target - done)
                n = (size_t)(target - done);
            count_lines(&lc, in, n);
            done += n;
            have = 0;
            if (r <= 0)
                break;
            continue;
        }
        op = out;
        room = TEXT_CHUNK * 4;
        bad = iconv(cd, &ip, &left, &op, &room) == (size_t)-1 && errno != EINVAL;
        {
            size_t n = (size_t)(op - out);

            if (n > target - done)
                n = (size_t)(target - done);
            count_lines(&lc, out, n);
            done += n;
        }
        if (bad)
            break; /* the bad bytes themselves: everything before them is counted */
        memmove(in, ip, left);
        have = left;
        if (r <= 0)
            break;
    }
out:
    if (cd != (iconv_t)-1)
        iconv_close(cd);
    free(in);
    free(out);
    *column = lc.chars + 1;
    return lc.lines + 1;
}

/* The error for bytes not valid in the encoding at output byte target. */
static int bad_bytes(const struct ingest_text *t, uint64_t target, bool nul, struct ingest_pos *pos,
                     struct err *err)
{
    uint64_t column, line = line_of(t, target, &column);

    /* pos->column counts fields, which this layer does not know: the message gives the
     * character of the line (counted as in the JSON reader's "line L, column C"). */
    if (pos) {
        pos->line = line;
        pos->column = 0;
    }
    if (nul)
        return err_set(err, ERR_VALIDATION, "encoding",
                       "line %" PRIu64 ", column %" PRIu64 ": a NUL character: not a text file, "
                       "or not in encoding \"%s\"%s",
                       line, column, t->name, t->detected ? " (detected); set the encoding" : "");
    return err_set(err, ERR_VALIDATION, "encoding",
                   "line %" PRIu64 ", column %" PRIu64 ": bytes not valid in encoding \"%s\"%s",
                   line, column, t->name,
                   t->detected ? " (detected); set the encoding if that is wrong" : "");
}

/*
 * Bytes not valid in the encoding (or a NUL) at output offset at, found by a read that
 * produced output before them: that output is returned first (its length), and this
 * read and every later one until a rewind fail with the error, so that a reader yields
 * the rows before the bad line and then names it.
 */
static long fail_at(struct ingest_text *t, uint64_t at, bool nul, struct ingest_pos *pos,
                    struct err *err)
{
    long n = (long)(at - t->out);

    t->bad = true;
    t->bad_at = at;
    t->bad_nul = nul;
    if (n > 0) {
        t->out = at;
        return n;
    }
    return bad_bytes(t, at, nul, pos, err);
}

/* UTF-8: reads into buf, validates, holds back a sequence cut at the end. */
static long read_utf8(struct ingest_text *t, char *buf, size_t size, struct ingest_pos *pos,
                      struct err *err)
{
    size_t n = t->nheld, ok;
    bool cut;

    memcpy(buf, t->held, t->nheld);
    t->nheld = 0;
    while (n < size && !t->eof) {
        ssize_t r = read_some(t->fd, buf + n, size - n);

        if (r < 0)
            return io_error(err, "read");
        if (!r) {
            t->eof = true;
            break;
        }
        t->read += (uint64_t)r;
        n += (size_t)r;
        /* One read is enough unless all it gave is a cut sequence. */
        if (n > 4)
            break;
    }
    ok = utf8_check((const unsigned char *)buf, n, &cut);
    if (ok < n) {
        if (!cut || t->eof)
            return fail_at(t, t->out + ok, !buf[ok], pos, err);
        /* The start of a sequence cut by the read: keep it for the next one. */
        t->nheld = n - ok;
        memcpy(t->held, buf + ok, t->nheld);
        n = ok;
    }
    t->out += n;
    return (long)n;
}

/* Other encodings: converts through iconv from t->in. */
static long read_iconv(struct ingest_text *t, char *buf, size_t size, struct ingest_pos *pos,
                       struct err *err)
{
    char *op = buf;
    const char *nul;
    size_t room = size;
    bool bad = false;

    while (room) {
        char *ip = t->in + t->in_off;
        size_t left = t->in_len - t->in_off, r;

        if (!left && t->eof) {
            if (!t->flushed) {
                /* Write out the shift state of a stateful encoding (ISO-2022-*). */
                if (iconv(t->cd, NULL, NULL, &op, &room) == (size_t)-1)
                    break; /* E2BIG: the next call finishes */
                t->flushed = true;
            }
            break;
        }
        if (left) {
            r = iconv(t->cd, &ip, &left, &op, &room);
            t->in_off = (size_t)(ip - t->in);
            if (r == (size_t)-1 && errno == E2BIG)
                break;
            /* An invalid sequence, or one the end of the file cuts. */
            if (r == (size_t)-1 && (errno == EILSEQ || (errno == EINVAL && t->eof))) {
                bad = true;
                break;
            }
            if (op > buf && !(r == (size_t)-1 && errno == EINVAL))
                break; /* something to return; read more on the next call */
        }
        /* Refill: keep the unconverted tail (a cut sequence) and read after it. */
        left = t->in_len - t->in_off;
        memmove(t->in, t->in + t->in_off, left);
        t->in_off = 0;
        t->in_len = left;
        {
            ssize_t got = read_some(t->fd, t->in + left, TEXT_CHUNK - left);

            if (got < 0)
                return io_error(err, "read");
            if (!got)
                t->eof = true;
            t->read += (uint64_t)got;
            t->in_len += (size_t)got;
        }
    }
    nul = memchr(buf, 0, (size_t)(op - buf));
    if (nul)
        return fail_at(t, t->out + (uint64_t)(nul - buf), true, pos, err);
    if (bad)
        return fail_at(t, t->out + (uint64_t)(op - buf), false, pos, err);
    t->out += (uint64_t)(op - buf);
    return (long)(op - buf);
}

long ingest_text_read(struct ingest_text *t, char *buf, size_t size, struct ingest_pos *pos,
                      struct err *err)
{
    /* Room for at least one character of output, and for what read_utf8 holds back. */
    assert(size >= 16);
    if (t->bad)
        return bad_bytes(t, t->bad_at, t->bad_nul, pos, err);
    if (t->utf8)
        return read_utf8(t, buf, size, pos, err);
    return read_iconv(t, buf, size, pos, err);
}

int ingest_text_rewind(struct ingest_text *t, struct err *err)
{
    if (lseek(t->fd, (off_t)t->skip, SEEK_SET) < 0)
        return io_error(err, "seek in");
    t->read = t->skip;
    t->out = 0;
    t->nheld = 0;
    t->in_off = t->in_len = 0;
    t->eof = false;
    t->flushed = false;
    t->bad = false;
    if (t->cd != (iconv_t)-1)
        iconv(t->cd, NULL, NULL, NULL, NULL);
    return 0;
}

uint64_t ingest_text_offset(const struct ingest_text *t)
{
    return t->read - t->nheld - (t->in_len - t->in_off);
}

void ingest_text_free(struct ingest_text *t)
{
    if (!t)
        return;
    if (t->fd >= 0)
        close(t->fd);
    if (t->cd != (iconv_t)-1)
        iconv_close(t->cd);
    free(t->in);
    free(t);
}

/* ---- Opening: the BOM, the caller's encoding, detection --------------------------- */

/* The encoding a byte-order mark at the start of p names, its length in *len; NULL when
 * there is none. UTF-32LE is tested before UTF-16LE, whose mark it starts with. */
static const char *bom_encoding(const unsigned char *p, size_t n, size_t *len)
{
    if (n >= 3 && p[0] == 0xef && p[1] == 0xbb && p[2] == 0xbf) {
        *len = 3;
        return "UTF-8";
    }
    if (n >= 4 && p[0] == 0xff && p[1] == 0xfe && !p[2] && !p[3]) {
        *len = 4;
        return "UTF-32LE";
    }
    if (n >= 4 && !p[0] && !p[1] && p[2] == 0xfe && p[3] == 0xff) {
        *len = 4;
        return "UTF-32BE";
    }
    if (n >= 2 && p[0] == 0xff && p[1] == 0xfe) {
        *len = 2;
        return "UTF-16LE";
    }
    if (n >= 2 && p[0] == 0xfe && p[1] == 0xff) {
        *len = 2;
        return "UTF-16BE";
    }
    *len = 0;
    return NULL;
}

/* Whether the caller's (upper-cased) encoding is the one the mark names, or its
 * endianness-free family ("UTF-16" with a UTF-16LE mark): the mark is then skipped. */
static bool bom_matches(const char *given, const char *bom)
{
    return !strcmp(given, bom) || (is_utf8_name(given) && !strcmp(bom, "UTF-8")) ||
           (!strcmp(given, "UTF-16") && !strncmp(bom, "UTF-16", 6)) ||
           (!strcmp(given, "UTF-32") && !strncmp(bom, "UTF-32", 6));
}

/* UTF-16 without a BOM: text of mostly ASCII has a NUL in every other byte. NULL when
 * the sniff does not look like it. */
static const char *utf16_guess(const unsigned char *p, size_t n)
{
    size_t even = 0, odd = 0;

    for (size_t i = 0; i + 1 < n; i += 2) {
        even += !p[i];
        odd += !p[i + 1];
    }
    if (n >= 4 && odd * 2 >= n / 2 && !even)
        return "UTF-16LE";
    if (n >= 4 && even * 2 >= n / 2 && !odd)
        return "UTF-16BE";
    return NULL;
}

/* Detects the encoding of the n sniffed bytes at p (after any BOM): sets t->name, or
 * returns -ERR_VALIDATION when no guess decodes. cut: the file goes on after p[n). */
static int detect(struct ingest_text *t, const unsigned char *p, size_t n, bool cut,
                  struct err *err)
{
    const char *name, *wider, *guess, *pick, *why;
    bool seq_cut;
    size_t ok = utf8_check(p, n, &seq_cut);
    uchardet_t ud;
    int rc = 0;

    if (ok == n || (seq_cut && cut)) {
        xsnprintf(t->name, sizeof(t->name), "UTF-8");
        return 0;
    }
    guess = utf16_guess(p, n);
    if (guess && decodes(guess, (const char *)p, n, cut, NULL)) {
        xsnprintf(t->name, sizeof(t->name), "%s", guess);
        return 0;
    }
    if (!p[ok]) {
        /* A NUL and not UTF-16: report it as UTF-8 would, with its line. */
        xsnprintf(t->name, sizeof(t->name), "UTF-8");
        return 0;
    }
    ud = uchardet_new();
    if (!ud)
        die("out of memory");
    if (uchardet_handle_data(ud, (const char *)p, n))
        die("out of memory");
    uchardet_data_end(ud);
    guess = uchardet_get_charset(ud);
    map_guess(guess ? guess : "", &name, &wider);
    if (!name[0] || strlen(name) >= sizeof(t->name) ||
        !decodes(name, (const char *)p, n, cut, NULL))
        name = wider && decodes(wider, (const char *)p, n, cut, NULL) ? wider : NULL;
    if (name)
        name = prefer_1252(name, (const char *)p, n, cut);
    pick = prefer_gb18030(name, (const char *)p, n, cut, &why);
    if (why && name)
        log_info("ingest: read as GB18030, not \"%s\" as guessed: %s", name, why);
    else if (why)
        log_info("ingest: read as GB18030 (no guess of uchardet decodes): %s", why);
    if (pick)
        xsnprintf(t->name, sizeof(t->name), "%s", pick);
    else if (guess && guess[0])
        rc = err_set(err, ERR_VALIDATION, "encoding",
                     "cannot tell the file's encoding: it is not UTF-8, and not \"%s\" either; "
                     "set the encoding",
                     guess);
    else
        rc = err_set(err, ERR_VALIDATION, "encoding",
                     "cannot tell the file's encoding: it is not UTF-8; set the encoding");
    uchardet_delete(ud);
    return rc;
}

int ingest_text_open(struct ingest_text **out, const char *path, const char *encoding,
                     struct ingest_info *info, struct err *err)
{
    struct ingest_text *t = xcalloc(1, sizeof(*t));
    unsigned char *sniff = xmalloc(LIMIT_INGEST_SNIFF);
    const char *bom;
    struct stat st;
    ssize_t n;
    int rc = 0;

    *out = NULL;
    t->cd = (iconv_t)-1;
    t->fd = open(path, O_RDONLY | O_CLOEXEC);
    if (t->fd < 0 || fstat(t->fd, &st)) {
        rc = io_error(err, "open");
        goto out;
    }
    t->size = (uint64_t)st.st_size;
    n = read_at(t->fd, sniff, LIMIT_INGEST_SNIFF, 0);
    if (n < 0) {
        rc = io_error(err, "read");
        goto out;
    }
    bom = bom_encoding(sniff, (size_t)n, &t->skip);
    if (encoding) {
        char given[32];

        if (!name_copy(given, sizeof(given), encoding)) {
            rc = err_set(err, ERR_VALIDATION, "encoding", "unknown encoding \"%s\"", encoding);
            goto out;
        }
        if (!bom || !bom_matches(given, bom))
            t->skip = 0;
        else if (!strcmp(given, "UTF-16") || !strcmp(given, "UTF-32"))
            xsnprintf(given, sizeof(given), "%s", bom); /* the mark tells the byte order */
        xsnprintf(t->name, sizeof(t->name), "%s", is_utf8_name(given) ? "UTF-8" : given);
    } else if (bom) {
        xsnprintf(t->name, sizeof(t->name), "%s", bom);
        t->detected = true;
    } else {
        t->detected = true;
        rc = detect(t, sniff, (size_t)n, t->size > (uint64_t)n, err);
        if (rc)
            goto out;
    }
    t->utf8 = !strcmp(t->name, "UTF-8");
    if (!t->utf8) {
        t->cd = iconv_open("UTF-8", t->name);
        if (t->cd == (iconv_t)-1) {
            rc = err_set(err, ERR_VALIDATION, "encoding", "unknown encoding \"%s\"",
                         encoding ? encoding : t->name);
            goto out;
        }
        t->in = xmalloc(TEXT_CHUNK);
    }
    rc = ingest_text_rewind(t, err);
    if (rc)
        goto out;
    xsnprintf(info->encoding, sizeof(info->encoding), "%s", t->name);
    info->encoding_detected = t->detected;
    info->bom = t->skip > 0;
    info->bytes = t->size;
    *out = t;
    t = NULL;
out:
    free(sniff);
    ingest_text_free(t);
    return rc;
}
