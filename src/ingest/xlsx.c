/*
 * xlsx.c - Office Open XML workbooks (ECMA-376 Part 1, SpreadsheetML) read as rows.
 *
 * libzip opens the package; expat parses its parts as streams read from the zip entries
 * in XLSX_CHUNK pieces, so memory does not grow with the sheet. What is held: the sheet
 * list (xl/workbook.xml and its relationships), the number format of each cell style
 * (xl/styles.xml), the shared-string table (xl/sharedStrings.xml, bounded by
 * LIMIT_INGEST_SHARED_STRINGS), the sheet's merged ranges and one row.
 *
 * A sheet is read twice per pass over it: at open, a scan finds its extent (the first and
 * last rows and the last column holding a value) and its merged ranges, which
 * ECMA-376 places after sheetData; then the rows stream, the parser suspended at each
 * </row> (XML_StopParser resumable) and resumed by the next call. Rows are padded to
 * the extent's width; rows missing between the first and last row are yielded blank;
 * each cell of a merged range gets its top-left value. docs/internals/ingest.md,
 * "Spreadsheets", has the cell rules.
 */
#include <expat.h>
#include <zip.h>

#include "core/buf.h"
#include "core/limits.h"
#include "core/parse.h"
#include "ingest/ingest-int.h"
#include "ingest/sheet-int.h"
#include "core/util.h"

#define XLSX_CHUNK    (64u * 1024)
#define XLSX_MAX_ROW  1048576u /* ECMA-376 Part 1 §18.3.1.73: rows 1..1048576 */
#define XLSX_MAX_COL  16384u   /* columns A..XFD */
#define XLSX_PART_MAX 1024u    /* bytes of a part name */
#define XLSX_PAD_MAX  64u      /* widest zero-padded format honoured */
#define NS_SEP        '|'

static const char xlsx_workbook_part[] = "xl/workbook.xml";

/* ---- Number formats --------------------------------------------------------------- */

enum fmt_kind {
    FMT_GENERAL = 0,
    FMT_DATE,     /* a date: DATE, or TIMESTAMP when the serial has a time of day */
    FMT_DATETIME, /* date and time: TIMESTAMP */
    FMT_TIME,     /* a time of day: "HH:MM:SS" text below serial 1, else TIMESTAMP */
    FMT_ELAPSED,  /* [h]:mm:ss: elapsed hours as "H:MM:SS" text */
    FMT_PAD,      /* "000000": integers as text padded with zeros to width */
};

struct fmt {
    unsigned char kind;
    unsigned char width;
};

/* The built-in formats ECMA-376 Part 1 §18.8.30 lists as dates and times (14-22,
 * 45-47), and the East Asian locales' implied ones (27-36, 50-58: dates, with 32-35 and
 * 55-56 times of day in zh-CN), which Excel writes without a numFmt element. */
static struct fmt fmt_builtin(unsigned long id)
{
    struct fmt f = {FMT_GENERAL, 0};

    if ((id >= 14 && id <= 17) || (id >= 27 && id <= 31) || id == 36 || (id >= 50 && id <= 54) ||
        id == 57 || id == 58)
        f.kind = FMT_DATE;
    else if (id == 22)
        f.kind = FMT_DATETIME;
    else if ((id >= 18 && id <= 21) || (id >= 32 && id <= 35) || id == 45 || id == 47 || id == 55 ||
             id == 56)
        f.kind = FMT_TIME;
    else if (id == 46)
        f.kind = FMT_ELAPSED;
    return f;
}

/*
 * Classifies a custom format code by its first section (up to ';'): date and time
 * tokens (y, m, d, h, s, AM/PM, A/P, [h] [m] [s]) counted only outside quoted text,
 * brackets, and the characters escaped by '\', '_' and '*'. 'm' is minutes right after
 * an h or right before an s, else months. A section of only '0's (two or more) pads.
 */
static struct fmt fmt_classify(const char *code)
{
    struct fmt f = {FMT_GENERAL, 0};
    char tok[64];
    size_t ntok = 0, zeros = 0;
    bool other = false, ampm = false, elapsed = false, date = false, time = false;
    const char *p = code;

    while (*p && *p != ';') {
        char c = *p;
        char lc = (char)(c >= 'A' && c <= 'Z' ? c + 32 : c);

        if (c == '"') {
            p = strchr(p + 1, '"');
            if (!p)
                break;
            p++;
            other = true;
            continue;
        }
        if (c == '\\' || c == '_' || c == '*') {
            p += p[1] ? 2 : 1;
            other = true;
            continue;
        }
        if (c == '[') {
            const char *end = strchr(p, ']');
            size_t n;
            char t = 0;

            if (!end)
                break;
            n = (size_t)(end - p - 1);
            /* [h], [hh], [mm], [ss]: elapsed time; anything else (colour, locale,
             * condition) is not a token. */
            if (n && strspn(p + 1, "hH") == n)
                t = 'h';
            else if (n && strspn(p + 1, "mM") == n)
                t = 'M';
            else if (n && strspn(p + 1, "sS") == n)
                t = 's';
            if (t) {
                elapsed = true;
                if (ntok < sizeof(tok))
                    tok[ntok++] = t;
            }
            p = end + 1;
            other = true;
            continue;
        }
        if (!strncasecmp(p, "am/pm", 5) || !strncasecmp(p, "a/p", 3)) {
            ampm = true;
            p += p[1] == '/' ? 3 : 5;
            other = true;
            continue;
        }
        if (lc == 'y' || lc == 'm' || lc == 'd' || lc == 'h' || lc == 's') {
            /* A run of the same letter is one token. */
            while (p[1] == c)
                p++;
            if (ntok < sizeof(tok))
                tok[ntok++] = lc;
            other = true;
        } else if (c == '0') {
            zeros++;
        } else {
            other = true;
        }
        p++;
    }
    for (size_t i = 0; i < ntok; i++) {
        switch (tok[i]) {
        case 'y':
        case 'd':
            date = true;
            break;
        case 'h':
        case 's':
        case 'M': /* [mm]: minutes */
            time = true;
            break;
        case 'm':
            if ((i > 0 && tok[i - 1] == 'h') || (i + 1 < ntok && tok[i + 1] == 's'))
                time = true;
            else
                date = true;
            break;
        default:
            break;
        }
    }
    if (ampm)
        time = true;
    if (date && time)
        f.kind = FMT_DATETIME;
    else if (date)
        f.kind = FMT_DATE;
    else if (time)
        f.kind = elapsed ? FMT_ELAPSED : FMT_TIME;
    else if (!other && zeros >= 2) {
        f.kind = FMT_PAD;
        f.width = (unsigned char)(zeros > XLSX_PAD_MAX ? XLSX_PAD_MAX : zeros);
    }
    return f;
}

/* ---- Dates ---------------------------------------------------------------------- */

/*
 * Parses an Excel serial date as written in <v> ("45000", "45000.520833333336"): whole
 * days and the fraction rounded to the second, in exact decimal arithmetic. Signs,
 * exponents and serials past 9999-12-31 are refused (-1): such a cell stays a number.
 */
static int serial_parse(const char *s, size_t len, int64_t *days, uint32_t *secs)
{
    uint64_t whole = 0, frac = 0, scale = 1;
    size_t i = 0, nd = 0;

    for (; i < len && s[i] >= '0' && s[i] <= '9'; i++, nd++) {
        if (whole > 3000000)
            return -1;
        whole = whole * 10 + (uint64_t)(s[i] - '0');
    }
    if (i < len && s[i] == '.') {
        for (i++; i < len && s[i] >= '0' && s[i] <= '9'; i++, nd++)
            if (scale < 1000000000000ull) { /* 12 digits: far below a second */
                frac = frac * 10 + (uint64_t)(s[i] - '0');
                scale *= 10;
            }
    }
    if (i != len || !nd)
        return -1;
    /* Round half up: (frac / scale) * 86400 seconds. */
    frac = (frac * 86400 * 2 + scale) / (2 * scale);
    if (frac >= 86400) {
        whole++;
        frac -= 86400;
    }
    if (whole > 2958465) /* 9999-12-31 in the 1900 system */
        return -1;
    *days = (int64_t)whole;
    *secs = (uint32_t)frac;
    return 0;
}

/*
 * Formats serial (days, secs) under a date or time format into out (at least 32 bytes),
 * setting *kind; the date as ingest_sheet_serial_date() gives it. false for years past
 * 9999.
 */
static bool serial_format(bool date1904, int64_t days, uint32_t secs, enum fmt_kind fk, char *out,
                          size_t size, enum ingest_cell_kind *kind)
{
    unsigned hh = secs / 3600, mm = secs / 60 % 60, ss = secs % 60, m, d;
    int64_t y;

    if (fk == FMT_ELAPSED) {
        xsnprintf(out, size, "%" PRId64 ":%02u:%02u", days * 24 + hh, mm, ss);
        *kind = INGEST_CELL_TEXT;
        return true;
    }
    if (fk == FMT_TIME && days == 0) {
        xsnprintf(out, size, "%02u:%02u:%02u", hh, mm, ss);
        *kind = INGEST_CELL_TEXT;
        return true;
    }
    if (!ingest_sheet_serial_date(date1904, days, &y, &m, &d))
        return false;
    if (fk == FMT_DATE && !secs) {
        xsnprintf(out, size, "%04" PRId64 "-%02u-%02u", y, m, d);
        *kind = INGEST_CELL_DATE;
    } else {
        xsnprintf(out, size, "%04" PRId64 "-%02u-%02uT%02u:%02u:%02u", y, m, d, hh, mm, ss);
        *kind = INGEST_CELL_TIMESTAMP;
    }
    return true;
}

/* [+-]?(digits[.digits]|.digits)([eE][+-]?digits)?: what a <v> of a number holds. */
static bool number_text(const char *s, size_t len)
{
    size_t i = 0, nd = 0;

    if (i < len && (s[i] == '-' || s[i] == '+'))
        i++;
    for (; i < len && s[i] >= '0' && s[i] <= '9'; i++)
        nd++;
    if (i < len && s[i] == '.')
        for (i++; i < len && s[i] >= '0' && s[i] <= '9'; i++)
            nd++;
    if (!nd)
        return false;
    if (i < len && (s[i] == 'e' || s[i] == 'E')) {
        size_t ne = 0;

        i++;
        if (i < len && (s[i] == '-' || s[i] == '+'))
            i++;
        for (; i < len && s[i] >= '0' && s[i] <= '9'; i++)
            ne++;
        if (!ne)
            return false;
    }
    return i == len;
}

static bool all_digits(const char *s, size_t len)
{
    if (!len)
        return false;
    for (size_t i = 0; i < len; i++)
        if (s[i] < '0' || s[i] > '9')
            return false;
    return true;
}

/* ---- Strings -------------------------------------------------------------------- */

static int hex4(const char *s)
{
    int v = 0;

    for (int i = 0; i < 4; i++) {
        char c = s[i];

        v <<= 4;
        if (c >= '0' && c <= '9')
            v |= c - '0';
        else if (c >= 'a' && c <= 'f')
            v |= c - 'a' + 10;
        else if (c >= 'A' && c <= 'F')
            v |= c - 'A' + 10;
        else
            return -1;
    }
    return v;
}

/* The code unit of an "_xHHHH_" escape at s[0..n), or -1. */
static int xescape(const char *s, size_t n)
{
    if (n < 7 || s[0] != '_' || s[1] != 'x' || s[6] != '_')
        return -1;
    return hex4(s + 2);
}

static size_t utf8_put(char *o, uint32_t cp)
{
    if (cp < 0x80) {
        o[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        o[0] = (char)(0xc0 | cp >> 6);
        o[1] = (char)(0x80 | (cp & 0x3f));
        return 2;
    }
    if (cp < 0x10000) {
        o[0] = (char)(0xe0 | cp >> 12);
        o[1] = (char)(0x80 | (cp >> 6 & 0x3f));
        o[2] = (char)(0x80 | (cp & 0x3f));
        return 3;
    }
    o[0] = (char)(0xf0 | cp >> 18);
    o[1] = (char)(0x80 | (cp >> 12 & 0x3f));
    o[2] = (char)(0x80 | (cp >> 6 & 0x3f));
    o[3] = (char)(0x80 | (cp & 0x3f));
    return 4;
}

/*
 * Decodes ECMA-376's ST_Xstring escapes in place: "_xHHHH_" is the UTF-16 code unit
 * HHHH (Excel writes "_x000D_" for a carriage return and "_x005F_" for a literal '_'
 * before "x"); a surrogate pair of escapes is one character. U+0000 and lone surrogates
 * stay as written. Never lengthens the text.
 */
static void xstring_decode(struct buf *b)
{
    char *s = b->buf;
    size_t i = 0, o = 0, n = b->len;

    if (!memchr(s, '_', n))
        return;
    while (i < n) {
        int u = xescape(s + i, n - i);

        if (u >= 0xd800 && u <= 0xdbff) {
            int lo = xescape(s + i + 7, n - i - 7);

            if (lo >= 0xdc00 && lo <= 0xdfff) {
                o += utf8_put(s + o,
                              0x10000 + (((uint32_t)u - 0xd800) << 10) + ((uint32_t)lo - 0xdc00));
                i += 14;
                continue;
            }
        } else if (u > 0 && !(u >= 0xdc00 && u <= 0xdfff)) {
            o += utf8_put(s + o, (uint32_t)u);
            i += 7;
            continue;
        }
        s[o++] = s[i++];
    }
    buf_setlen(b, o);
}

/* ---- Cell references ------------------------------------------------------------ */

/* Parses "B12" (or "B" when row may be absent): the 1-based column and row. Returns
 * the rest of s, or NULL when the reference is not valid. */
static const char *ref_parse(const char *s, uint32_t *col, uint32_t *row)
{
    uint32_t c = 0, r = 0;
    size_t nl = 0, nd = 0;

    for (; (*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z'); s++, nl++) {
        c = c * 26 + (uint32_t)((*s | 0x20) - 'a' + 1);
        if (c > XLSX_MAX_COL)
            return NULL;
    }
    for (; *s >= '0' && *s <= '9'; s++, nd++) {
        r = r * 10 + (uint32_t)(*s - '0');
        if (r > XLSX_MAX_ROW)
            return NULL;
    }
    if (!nl || (nd && !r))
        return NULL;
    *col = c;
    *row = r;
    return s;
}

/* "AB" for column 28, into out (at least 4 bytes). */
static void col_name(uint32_t col, char *out)
{
    char tmp[4];
    size_t n = 0;

    while (col && n < 3) {
        tmp[n++] = (char)('A' + (col - 1) % 26);
        col = (col - 1) / 26;
    }
    for (size_t i = 0; i < n; i++)
        out[i] = tmp[n - 1 - i];
    out[n] = '\0';
}

/* ---- XML parts -------------------------------------------------------------------- */

/* The first member of every parse's user data. */
struct xml {
    XML_Parser p;
    struct err *err;
    int rc;
    const char *what; /* the part's name, for messages */
};

static void xml_fail(struct xml *x, int rc)
{
    if (!x->rc)
        x->rc = rc;
    XML_StopParser(x->p, XML_FALSE);
}

static const char *xml_local(const char *name)
{
    const char *s = strrchr(name, NS_SEP);

    return s ? s + 1 : name;
}

/* The value of the attribute whose local name is name (any namespace when ns, none
 * otherwise), or NULL. */
static const char *xml_attr(const XML_Char **atts, const char *name, bool ns)
{
    for (; atts[0]; atts += 2) {
        const char *sep = strrchr(atts[0], NS_SEP);

        if (ns ? sep && !strcmp(sep + 1, name) : !sep && !strcmp(atts[0], name))
            return atts[1];
    }
    return NULL;
}

/* OOXML never has a DTD; refusing one keeps entity expansion out. */
static void XMLCALL xml_doctype(void *ud, const XML_Char *name, const XML_Char *sysid,
                                const XML_Char *pubid, int has_internal_subset)
{
    struct xml *x = ud;

    (void)name, (void)sysid, (void)pubid, (void)has_internal_subset;
    xml_fail(x,
             err_set(x->err, ERR_VALIDATION, "file",
                     "not a valid XLSX workbook: \"%s\" has a document type declaration", x->what));
}

static XML_Parser xml_new(void *ud, XML_StartElementHandler start, XML_EndElementHandler end,
                          XML_CharacterDataHandler chars)
{
    XML_Parser p = XML_ParserCreateNS(NULL, NS_SEP);

    if (!p)
        die("out of memory creating an XML parser");
    XML_SetUserData(p, ud);
    XML_SetElementHandler(p, start, end);
    if (chars)
        XML_SetCharacterDataHandler(p, chars);
    XML_SetStartDoctypeDeclHandler(p, xml_doctype);
    return p;
}

static int xml_error(struct xml *x, const char *sheet, struct err *err)
{
    if (x->rc)
        return x->rc;
    if (sheet)
        return err_set(err, ERR_VALIDATION, "file", "sheet \"%s\": XML error at line %lu: %s",
                       sheet, (unsigned long)XML_GetCurrentLineNumber(x->p),
                       XML_ErrorString(XML_GetErrorCode(x->p)));
    return err_set(err, ERR_VALIDATION, "file", "not a valid XLSX workbook: \"%s\" line %lu: %s",
                   x->what, (unsigned long)XML_GetCurrentLineNumber(x->p),
                   XML_ErrorString(XML_GetErrorCode(x->p)));
}

/* libzip's message for the publisher: "Not a zip archive" → "not a zip archive". */
static const char *zip_msg(const char *m, char *out, size_t size)
{
    xsnprintf(out, size, "%.*s", (int)size - 1, m ? m : "unknown error");
    if (out[0] >= 'A' && out[0] <= 'Z' && !(out[1] >= 'A' && out[1] <= 'Z'))
        out[0] = (char)(out[0] + 32);
    return out;
}

/* ---- The workbook ----------------------------------------------------------------- */

struct xsheet {
    char *name;
    char *rid;        /* r:id, NULL when absent */
    char *part;       /* resolved from the relationships; NULL when none names it */
    uint64_t counted; /* bytes of it counted in the workbook's total (workbook_count) */
};

struct workbook {
    zip_t *zip;
    struct xsheet *sheets;
    char **names; /* sheets[i].name, for ingest_sheet_lookup() (not owned) */
    size_t nsheets, asheets;
    bool date1904;
    char *sst_part, *styles_part;
    struct buf sst;  /* every shared string, each NUL-terminated */
    size_t *sst_off; /* string i at sst.buf + sst_off[i], length sst_off[i+1] - 1 - sst_off[i] */
    size_t nsst, asst;
    size_t held; /* bytes counted against LIMIT_INGEST_SHARED_STRINGS */
    struct fmt *xf;
    size_t nxf;
    uint64_t total; /* bytes of the parts read, against LIMIT_INGEST_XLSX_UNCOMPRESSED */
};

static void workbook_release(struct workbook *wb)
{
    for (size_t i = 0; i < wb->nsheets; i++) {
        free(wb->sheets[i].name);
        free(wb->sheets[i].rid);
        free(wb->sheets[i].part);
    }
    free(wb->sheets);
    free(wb->names);
    free(wb->sst_part);
    free(wb->styles_part);
    buf_release(&wb->sst);
    free(wb->sst_off);
    free(wb->xf);
    if (wb->zip)
        zip_discard(wb->zip);
    memset(wb, 0, sizeof(*wb));
}

/*
 * Whether n bytes read so far of a zip member of compressed size comp (0: unknown) stay
 * within the limits on what a member may expand to (core/limits.h); else sets err naming
 * the member. Checked against the sizes the archive declares before reading, and against
 * the bytes really read while reading (a declared size may lie).
 */
static int part_size_check(const char *part, uint64_t n, uint64_t comp, struct err *err)
{
    if (n > LIMIT_INGEST_XLSX_PART)
        return err_set(err, ERR_VALIDATION, "file",
                       "the workbook's \"%s\" expands to more than %llu GiB: refused", part,
                       (unsigned long long)(LIMIT_INGEST_XLSX_PART >> 30));
    if (comp && n > LIMIT_INGEST_XLSX_RATIO_FROM && n / comp > LIMIT_INGEST_XLSX_RATIO)
        return err_set(err, ERR_VALIDATION, "file",
                       "the workbook's \"%s\" expands more than %u times (%llu MiB from %llu "
                       "KiB): refused as a zip bomb",
                       part, LIMIT_INGEST_XLSX_RATIO, (unsigned long long)(n >> 20),
                       (unsigned long long)(comp >> 10));
    return 0;
}

/*
 * Counts a part of which n bytes are declared or read in the workbook's total: only what
 * goes past *counted, the part's count so far (so a part read again is not counted
 * again). Sets err naming the part when the total passes LIMIT_INGEST_XLSX_UNCOMPRESSED.
 */
static int workbook_count(struct workbook *wb, const char *part, uint64_t n, uint64_t *counted,
                          struct err *err)
{
    if (n <= *counted)
        return 0;
    wb->total += n - *counted;
    *counted = n;
    if (wb->total > LIMIT_INGEST_XLSX_UNCOMPRESSED)
        return err_set(err, ERR_VALIDATION, "file",
                       "the workbook expands to more than %llu GiB with \"%s\": refused (the "
                       "parts read together, every sheet searched for the first with a value)",
                       (unsigned long long)(LIMIT_INGEST_XLSX_UNCOMPRESSED >> 30), part);
    return 0;
}

/* The declared compressed and uncompressed sizes of member idx (0 when unknown). */
static void part_sizes(zip_t *zip, zip_int64_t idx, uint64_t *size, uint64_t *comp)
{
    zip_stat_t zs;

    *size = *comp = 0;
    zip_stat_init(&zs);
    if (zip_stat_index(zip, (zip_uint64_t)idx, 0, &zs))
        return;
    if (zs.valid & ZIP_STAT_SIZE)
        *size = zs.size;
    if (zs.valid & ZIP_STAT_COMP_SIZE)
        *comp = zs.comp_size;
}

/*
 * Parses part with expat, read from the zip in chunks. Returns 0, 1 when the archive has
 * no such part, or a negative error.
 */
static int part_parse(struct workbook *wb, const char *part, struct xml *x,
                      XML_StartElementHandler start, XML_EndElementHandler end,
                      XML_CharacterDataHandler chars, struct err *err)
{
    zip_int64_t idx = zip_name_locate(wb->zip, part, ZIP_FL_NOCASE);
    zip_file_t *zf = NULL;
    uint64_t size, comp, read = 0, counted = 0;
    char zm[128];
    int rc = 0;

    x->err = err;
    x->rc = 0;
    x->what = part;
    x->p = NULL;
    if (idx < 0)
        return 1;
    part_sizes(wb->zip, idx, &size, &comp);
    rc = part_size_check(part, size, comp, err);
    if (!rc)
        rc = workbook_count(wb, part, size, &counted, err);
    if (rc)
        goto out;
    zf = zip_fopen_index(wb->zip, (zip_uint64_t)idx, 0);
    if (!zf) {
        rc = err_set(err, ERR_VALIDATION, "file", "the workbook is damaged: \"%s\": %s", part,
                     zip_msg(zip_strerror(wb->zip), zm, sizeof(zm)));
        goto out;
    }
    x->p = xml_new(x, start, end, chars);
    for (;;) {
        void *b = XML_GetBuffer(x->p, XLSX_CHUNK);
        zip_int64_t n;

        if (!b)
            die("out of memory parsing XML");
        n = zip_fread(zf, b, XLSX_CHUNK);
        if (n < 0) {
            rc = err_set(err, ERR_VALIDATION, "file", "the workbook is damaged: \"%s\": %s", part,
                         zip_msg(zip_file_strerror(zf), zm, sizeof(zm)));
            goto out;
        }
        read += (uint64_t)n;
        rc = part_size_check(part, read, comp, err);
        if (!rc)
            rc = workbook_count(wb, part, read, &counted, err);
        if (rc)
            goto out;
        if (XML_ParseBuffer(x->p, (int)n, n == 0) != XML_STATUS_OK) {
            rc = xml_error(x, NULL, err);
            goto out;
        }
        if (!n)
            break;
    }
out:
    if (x->p)
        XML_ParserFree(x->p);
    x->p = NULL;
    if (zf)
        zip_fclose(zf);
    return rc;
}

struct wb_parse {
    struct xml x;
    struct workbook *wb;
    int in_sheets;
};

static void XMLCALL wb_start(void *ud, const XML_Char *name, const XML_Char **atts)
{
    struct wb_parse *w = ud;
    struct workbook *wb = w->wb;
    const char *l = xml_local(name), *v, *rid;

    if (!strcmp(l, "workbookPr")) {
        v = xml_attr(atts, "date1904", false);
        wb->date1904 = v && (str_eq(v, "1") || str_eq(v, "true"));
    } else if (!strcmp(l, "sheets")) {
        w->in_sheets++;
    } else if (!strcmp(l, "sheet") && w->in_sheets) {
        v = xml_attr(atts, "name", false);
        rid = xml_attr(atts, "id", true);
        if (wb->nsheets >= LIMIT_INGEST_SHEETS) {
            xml_fail(&w->x, err_set(w->x.err, ERR_TOO_LARGE, "file",
                                    "the workbook has more than %u sheets", LIMIT_INGEST_SHEETS));
            return;
        }
        if (!v || !*v || strlen(v) > LIMIT_FIELD_MAX) {
            xml_fail(&w->x, err_set(w->x.err, ERR_VALIDATION, "file",
                                    "not a valid XLSX workbook: sheet %zu has %s name",
                                    wb->nsheets + 1, v && *v ? "too long a" : "no"));
            return;
        }
        ALLOC_GROW(wb->sheets, wb->nsheets + 1, wb->asheets);
        wb->sheets[wb->nsheets].name = xstrdup(v);
        wb->sheets[wb->nsheets].rid = rid ? xstrdup(rid) : NULL;
        wb->sheets[wb->nsheets].part = NULL;
        wb->sheets[wb->nsheets].counted = 0;
        wb->nsheets++;
    }
}

static void XMLCALL wb_end(void *ud, const XML_Char *name)
{
    struct wb_parse *w = ud;

    if (!strcmp(xml_local(name), "sheets"))
        w->in_sheets--;
}

/*
 * Resolves a relationship target against the folder of the part that holds the
 * relationships (base, "xl/"): "worksheets/sheet1.xml" → "xl/worksheets/sheet1.xml",
 * "/xl/worksheets/sheet1.xml" (absolute) → "xl/worksheets/sheet1.xml", with "." and
 * ".." segments removed. NULL when the result would be empty, too long or above the
 * package root.
 */
static char *part_resolve(const char *base, const char *target)
{
    struct buf b = BUF_INIT;
    char *path = target[0] == '/' ? xstrdup(target + 1) : xstrfmt("%s%s", base, target);
    char *seg = path, *res = NULL;

    buf_init(&b, XLSX_PART_MAX);
    while (seg) {
        char *slash = strchr(seg, '/');

        if (slash)
            *slash = '\0';
        if (!strcmp(seg, "..")) {
            char *last;

            if (!b.len)
                goto out;
            last = strrchr(b.buf, '/');
            buf_setlen(&b, last ? (size_t)(last - b.buf) : 0);
        } else if (*seg && strcmp(seg, ".")) {
            if (b.len)
                buf_addch(&b, '/');
            buf_addstr(&b, seg);
        }
        seg = slash ? slash + 1 : NULL;
    }
    if (b.len && !buf_failed(&b))
        res = buf_detach(&b, NULL);
out:
    buf_release(&b);
    free(path);
    return res;
}

struct rid_index {
    const char *rid;
    size_t i;
};

static int rid_cmp(const void *a, const void *b)
{
    return strcmp(((const struct rid_index *)a)->rid, ((const struct rid_index *)b)->rid);
}

struct rels_parse {
    struct xml x;
    struct workbook *wb;
    struct rid_index *index;
    size_t nindex;
};

static void XMLCALL rels_start(void *ud, const XML_Char *name, const XML_Char **atts)
{
    struct rels_parse *r = ud;
    struct workbook *wb = r->wb;
    const char *id, *target, *type, *mode, *kind;
    char *part;

    if (strcmp(xml_local(name), "Relationship"))
        return;
    id = xml_attr(atts, "Id", false);
    target = xml_attr(atts, "Target", false);
    type = xml_attr(atts, "Type", false);
    mode = xml_attr(atts, "TargetMode", false);
    if (!id || !target || !type || str_eq(mode, "External"))
        return;
    kind = strrchr(type, '/');
    kind = kind ? kind + 1 : type;
    part = part_resolve("xl/", target);
    if (!part)
        return;
    if (!strcmp(kind, "sharedStrings")) {
        free(wb->sst_part);
        wb->sst_part = part;
    } else if (!strcmp(kind, "styles")) {
        free(wb->styles_part);
        wb->styles_part = part;
    } else {
        struct rid_index key = {id, 0}, *hit;

        hit = r->nindex ? bsearch(&key, r->index, r->nindex, sizeof(key), rid_cmp) : NULL;
        if (hit) {
            free(wb->sheets[hit->i].part);
            wb->sheets[hit->i].part = part;
        } else {
            free(part);
        }
    }
}

struct sst_parse {
    struct xml x;
    struct workbook *wb;
    struct buf text;
    bool in_si, in_t;
    int in_rph;
};

static void XMLCALL sst_start(void *ud, const XML_Char *name, const XML_Char **atts)
{
    struct sst_parse *s = ud;
    const char *l = xml_local(name);

    (void)atts;
    if (!strcmp(l, "si")) {
        s->in_si = true;
        buf_reset(&s->text);
    } else if (!strcmp(l, "t")) {
        s->in_t = s->in_si && !s->in_rph;
    } else if (!strcmp(l, "rPh")) {
        s->in_rph++; /* phonetic runs (furigana) are not part of the text */
    }
}

static void XMLCALL sst_end(void *ud, const XML_Char *name)
{
    struct sst_parse *s = ud;
    struct workbook *wb = s->wb;
    const char *l = xml_local(name);

    if (!strcmp(l, "t")) {
        s->in_t = false;
    } else if (!strcmp(l, "rPh")) {
        s->in_rph--;
    } else if (!strcmp(l, "si") && s->in_si) {
        s->in_si = false;
        xstring_decode(&s->text);
        /* Each string costs its bytes, its NUL and its offset. */
        if (wb->held + s->text.len + 1 + sizeof(size_t) > LIMIT_INGEST_SHARED_STRINGS) {
            xml_fail(&s->x, err_set(s->x.err, ERR_TOO_LARGE, "file",
                                    "the workbook's shared strings are larger than %u MiB",
                                    LIMIT_INGEST_SHARED_STRINGS >> 20));
            return;
        }
        wb->held += s->text.len + 1 + sizeof(size_t);
        ALLOC_GROW(wb->sst_off, wb->nsst + 2, wb->asst);
        if (!wb->nsst)
            wb->sst_off[0] = 0;
        buf_add(&wb->sst, s->text.buf, s->text.len + 1);
        wb->nsst++;
        wb->sst_off[wb->nsst] = wb->sst.len;
    }
}

static void XMLCALL sst_chars(void *ud, const XML_Char *text, int len)
{
    struct sst_parse *s = ud;

    if (!s->in_t || s->in_rph)
        return;
    buf_add(&s->text, text, (size_t)len);
    if (buf_failed(&s->text))
        xml_fail(&s->x,
                 err_set(s->x.err, ERR_TOO_LARGE, "file", "shared string %zu is longer than %u MiB",
                         s->wb->nsst + 1, LIMIT_INGEST_FIELD >> 20));
}

struct numfmt {
    unsigned long id;
    struct fmt f;
};

static int numfmt_cmp(const void *a, const void *b)
{
    unsigned long x = ((const struct numfmt *)a)->id, y = ((const struct numfmt *)b)->id;

    return x < y ? -1 : x > y;
}

struct styles_parse {
    struct xml x;
    struct workbook *wb;
    int in_numfmts, in_cellxfs;
    struct numfmt *custom;
    size_t ncustom, acustom;
    unsigned long *xf_ids;
    size_t nxf, axf;
};

static void XMLCALL styles_start(void *ud, const XML_Char *name, const XML_Char **atts)
{
    struct styles_parse *s = ud;
    const char *l = xml_local(name), *v;
    uint64_t id = 0;

    if (!strcmp(l, "numFmts")) {
        s->in_numfmts++;
    } else if (!strcmp(l, "cellXfs")) {
        s->in_cellxfs++;
    } else if (!strcmp(l, "numFmt") && s->in_numfmts) {
        v = xml_attr(atts, "numFmtId", false);
        if (!v || parse_u64(v, UINT32_MAX, &id))
            return;
        if (s->ncustom >= LIMIT_INGEST_STYLES) {
            xml_fail(&s->x,
                     err_set(s->x.err, ERR_TOO_LARGE, "file",
                             "the workbook has more than %u number formats", LIMIT_INGEST_STYLES));
            return;
        }
        ALLOC_GROW(s->custom, s->ncustom + 1, s->acustom);
        s->custom[s->ncustom].id = (unsigned long)id;
        v = xml_attr(atts, "formatCode", false);
        s->custom[s->ncustom].f = fmt_classify(v ? v : "");
        s->ncustom++;
    } else if (!strcmp(l, "xf") && s->in_cellxfs) {
        v = xml_attr(atts, "numFmtId", false);
        if (!v || parse_u64(v, UINT32_MAX, &id))
            id = 0;
        if (s->nxf >= LIMIT_INGEST_STYLES) {
            xml_fail(&s->x,
                     err_set(s->x.err, ERR_TOO_LARGE, "file",
                             "the workbook has more than %u cell formats", LIMIT_INGEST_STYLES));
            return;
        }
        ALLOC_GROW(s->xf_ids, s->nxf + 1, s->axf);
        s->xf_ids[s->nxf++] = (unsigned long)id;
    }
}

static void XMLCALL styles_end(void *ud, const XML_Char *name)
{
    struct styles_parse *s = ud;
    const char *l = xml_local(name);

    if (!strcmp(l, "numFmts"))
        s->in_numfmts--;
    else if (!strcmp(l, "cellXfs"))
        s->in_cellxfs--;
}

static int workbook_styles(struct workbook *wb, struct err *err)
{
    struct styles_parse s = {0};
    int rc;

    s.wb = wb;
    rc = part_parse(wb, wb->styles_part ? wb->styles_part : "xl/styles.xml", &s.x, styles_start,
                    styles_end, NULL, err);
    if (rc < 0)
        goto out;
    rc = 0;
    if (s.ncustom)
        qsort(s.custom, s.ncustom, sizeof(*s.custom), numfmt_cmp);
    wb->xf = xcalloc(s.nxf ? s.nxf : 1, sizeof(*wb->xf));
    wb->nxf = s.nxf;
    for (size_t i = 0; i < s.nxf; i++) {
        struct numfmt key = {s.xf_ids[i], {0, 0}}, *hit;

        /* A numFmt element overrides the built-in format of the same id. */
        hit = s.ncustom ? bsearch(&key, s.custom, s.ncustom, sizeof(key), numfmt_cmp) : NULL;
        wb->xf[i] = hit ? hit->f : fmt_builtin(s.xf_ids[i]);
    }
out:
    free(s.custom);
    free(s.xf_ids);
    return rc;
}

/*
 * Opens the workbook at path: its sheet list, and with cells also the sheets' parts,
 * the shared strings and the cell formats. *bytes gets the file's size.
 */
static int workbook_open(struct workbook *wb, const char *path, bool cells, uint64_t *bytes,
                         struct err *err)
{
    struct wb_parse w = {0};
    struct rels_parse r = {0};
    struct sst_parse s = {0};
    struct stat st;
    int zerr = 0, rc;

    memset(wb, 0, sizeof(*wb));
    buf_init(&wb->sst, LIMIT_INGEST_SHARED_STRINGS);
    if (stat(path, &st))
        return err_set(err, ERR_INTERNAL, "file", "cannot read the workbook: %s", strerror(errno));
    *bytes = (uint64_t)st.st_size;
    if (!st.st_size)
        return err_set(err, ERR_VALIDATION, "file", "file is empty");
    wb->zip = zip_open(path, ZIP_RDONLY, &zerr);
    if (!wb->zip) {
        zip_error_t ze;
        char zm[128];

        zip_error_init_with_code(&ze, zerr);
        if (zerr == ZIP_ER_OPEN || zerr == ZIP_ER_READ || zerr == ZIP_ER_NOENT)
            rc = err_set(err, ERR_INTERNAL, "file", "cannot read the workbook: %s",
                         zip_msg(zip_error_strerror(&ze), zm, sizeof(zm)));
        else if (ingest_sheet_is_ole2(path))
            rc = err_set(err, ERR_VALIDATION, "file",
                         "not an XLSX workbook: an OLE2 compound file (an XLS workbook, or a "
                         "password-protected XLSX one)");
        else
            rc = err_set(err, ERR_VALIDATION, "file", "not an XLSX workbook: %s",
                         zip_msg(zip_error_strerror(&ze), zm, sizeof(zm)));
        zip_error_fini(&ze);
        return rc;
    }
    w.wb = wb;
    rc = part_parse(wb, xlsx_workbook_part, &w.x, wb_start, wb_end, NULL, err);
    if (rc == 1)
        rc = err_set(err, ERR_VALIDATION, "file",
                     "not an XLSX workbook: the zip archive has no \"%s\"", xlsx_workbook_part);
    if (rc)
        goto out;
    if (!wb->nsheets) {
        rc = err_set(err, ERR_VALIDATION, "file", "not a valid XLSX workbook: it has no sheets");
        goto out;
    }
    wb->names = xcalloc(wb->nsheets, sizeof(*wb->names));
    for (size_t i = 0; i < wb->nsheets; i++)
        wb->names[i] = wb->sheets[i].name;
    if (!cells)
        goto out;

    r.wb = wb;
    r.index = xcalloc(wb->nsheets, sizeof(*r.index));
    for (size_t i = 0; i < wb->nsheets; i++)
        if (wb->sheets[i].rid)
            r.index[r.nindex++] = (struct rid_index){wb->sheets[i].rid, i};
    qsort(r.index, r.nindex, sizeof(*r.index), rid_cmp);
    rc = part_parse(wb, "xl/_rels/workbook.xml.rels", &r.x, rels_start, NULL, NULL, err);
    free(r.index);
    if (rc == 1)
        rc = err_set(err, ERR_VALIDATION, "file",
                     "not a valid XLSX workbook: the zip archive has no "
                     "\"xl/_rels/workbook.xml.rels\"");
    if (rc)
        goto out;

    s.wb = wb;
    buf_init(&s.text, LIMIT_INGEST_FIELD);
    rc = part_parse(wb, wb->sst_part ? wb->sst_part : "xl/sharedStrings.xml", &s.x, sst_start,
                    sst_end, sst_chars, err);
    buf_release(&s.text);
    if (rc < 0)
        goto out;
    rc = workbook_styles(wb, err);
out:
    return rc < 0 ? rc : 0;
}

/* ---- Reading a sheet -------------------------------------------------------------- */

/* A cell of the row being read: its text at ext, or at rowtext.buf + off. */
struct xcell {
    enum ingest_cell_kind kind;
    const char *ext;
    size_t off, len;
};

/* A merged range (1-based, inclusive) and, once its first row is read, the value of its
 * top-left cell. */
struct merge {
    uint32_t r1, c1, r2, c2;
    enum ingest_cell_kind kind;
    const char *s;
    size_t len;
    char *owned; /* s when copied (a value that is not a shared string) */
};

struct xlsx;

/* One parse of the sheet's XML: a scan (extent, merged ranges) or the rows. */
struct stream {
    struct xml x; /* first: the handlers' user data */
    struct xlsx *xl;
    bool scan;
    zip_file_t *zf;
    uint64_t size, comp, consumed; /* declared sizes (0: unknown); bytes read */
    bool fed_final, suspended, done;
    int failed; /* the error that stopped the parse, returned again by later pulls */
    bool in_sheetdata, in_row, in_c, in_v, in_is, in_t;
    int in_rph;
    uint32_t row, prev_row, col;
    char type[16];
    uint32_t style;
    bool has_v, has_is;
    struct buf text;
    char tmp[XLSX_PAD_MAX + 32]; /* a formatted date or padded number */
    /* scan: the extent of the cells holding a value */
    uint32_t first_row, last_row, max_col;
};

struct xlsx {
    struct workbook wb;
    size_t sheet;
    uint64_t bytes;
    struct ingest_pos *pos;
    uint32_t first_row, last_row, ncols; /* the extent read: rows first..last, ncols wide */
    struct merge *merges;                /* sorted by first row */
    size_t nmerges, amerges, merge_next;
    size_t *active; /* merges covering the current row */
    size_t nactive;
    size_t merge_held;
    struct stream *st;
    struct xcell *cells; /* the row read, ncols of them */
    struct buf rowtext;
    uint32_t row_num;
    bool row_ready;
    struct ingest_cell *out;
    uint32_t next_line;
};

static const char *sheet_name(const struct xlsx *x)
{
    return x->wb.sheets[x->sheet].name;
}

static void set_pos(struct xlsx *x, uint64_t line, uint64_t col)
{
    if (x->pos) {
        x->pos->line = line;
        x->pos->column = col;
    }
}

/* Fails the parse with a problem of the cell at the stream's row and column. */
static void cell_fail(struct stream *st, enum err_kind kind, const char *what)
{
    char col[4];

    col_name(st->col, col);
    set_pos(st->xl, st->row, st->col);
    xml_fail(&st->x, err_set(st->x.err, kind, "file", "sheet \"%s\" cell %s%" PRIu32 ": %s",
                             sheet_name(st->xl), col, st->row, what));
}

/*
 * The value of the cell just closed (ECMA-376 Part 1 §18.3.1.4, ST_CellType): *kind and
 * its text at *s (into the stream's text or tmp, the shared strings, or a literal).
 * Returns 0, or -1 after failing the parse.
 */
static int cell_value(struct stream *st, enum ingest_cell_kind *kind, const char **s, size_t *len)
{
    struct workbook *wb = &st->xl->wb;
    const char *t = st->type;
    const char *v = st->text.buf;
    size_t n = st->text.len;

    *kind = INGEST_CELL_EMPTY;
    *s = "";
    *len = 0;
    if (st->has_is || !strcmp(t, "inlineStr") || !strcmp(t, "str")) {
        xstring_decode(&st->text);
        n = st->text.len;
        *kind = INGEST_CELL_TEXT;
    } else if (!strcmp(t, "s")) {
        uint64_t i;

        if (!st->has_v)
            return 0;
        if (parse_u64(v, SIZE_MAX, &i) || i >= wb->nsst) {
            char what[80];

            xsnprintf(what, sizeof(what), "shared string \"%.20s\" does not exist", v);
            cell_fail(st, ERR_VALIDATION, what);
            return -1;
        }
        *kind = INGEST_CELL_TEXT;
        *s = wb->sst.buf + wb->sst_off[i];
        *len = wb->sst_off[i + 1] - wb->sst_off[i] - 1;
        if (!*len)
            *kind = INGEST_CELL_EMPTY;
        return 0;
    } else if (!strcmp(t, "b")) {
        if (!n)
            return 0;
        *kind = INGEST_CELL_BOOL;
        if (str_eq(v, "1") || str_eq(v, "true"))
            *s = "true";
        else if (str_eq(v, "0") || str_eq(v, "false"))
            *s = "false";
        else
            *kind = INGEST_CELL_TEXT;
        if (*kind == INGEST_CELL_BOOL) {
            *len = strlen(*s);
            return 0;
        }
    } else if (!strcmp(t, "e")) {
        return 0; /* #N/A, #DIV/0! …: no value */
    } else if (!strcmp(t, "d")) {
        /* An ISO 8601 date (ECMA-376 §18.17.4): the date, or date and time to the second. */
        *kind = INGEST_CELL_TEXT;
        if (n >= 10 && v[4] == '-' && v[7] == '-' && all_digits(v, 4) && all_digits(v + 5, 2) &&
            all_digits(v + 8, 2)) {
            if (n == 10 || !strncmp(v + 10, "T00:00:00", 9)) {
                *kind = INGEST_CELL_DATE;
                n = 10;
            } else if (n >= 19 && v[10] == 'T' && all_digits(v + 11, 2) && v[13] == ':' &&
                       all_digits(v + 14, 2) && v[16] == ':' && all_digits(v + 17, 2)) {
                *kind = INGEST_CELL_TIMESTAMP;
                n = 19;
            }
        }
    } else if (!*t || !strcmp(t, "n")) {
        struct fmt f = st->style < wb->nxf ? wb->xf[st->style] : fmt_builtin(0);

        if (!n)
            return 0;
        *kind = INGEST_CELL_NUMBER;
        if (!number_text(v, n)) {
            *kind = INGEST_CELL_TEXT;
        } else if (f.kind == FMT_PAD) {
            /* A code stored as a number under "000000": its digits as displayed. */
            if (all_digits(v, n)) {
                if (n < f.width) {
                    memset(st->tmp, '0', f.width - n);
                    memcpy(st->tmp + f.width - n, v, n);
                    v = st->tmp;
                    n = f.width;
                }
                *kind = INGEST_CELL_TEXT;
            }
        } else if (f.kind != FMT_GENERAL) {
            int64_t days;
            uint32_t secs;

            if (!serial_parse(v, n, &days, &secs) &&
                serial_format(wb->date1904, days, secs, (enum fmt_kind)f.kind, st->tmp,
                              sizeof(st->tmp), kind)) {
                v = st->tmp;
                n = strlen(v);
            }
        }
    } else {
        xstring_decode(&st->text); /* a type this reader does not know: its text */
        n = st->text.len;
        *kind = INGEST_CELL_TEXT;
    }
    if (!n)
        *kind = INGEST_CELL_EMPTY;
    *s = n ? v : "";
    *len = n;
    return 0;
}

static void cell_done(struct stream *st)
{
    struct xlsx *x = st->xl;
    enum ingest_cell_kind kind;
    const char *s;
    size_t len;
    struct xcell *c;

    if (cell_value(st, &kind, &s, &len))
        return;
    if (st->scan) {
        if (kind == INGEST_CELL_EMPTY)
            return;
        if (!st->first_row)
            st->first_row = st->row;
        st->last_row = st->row;
        if (st->col > st->max_col)
            st->max_col = st->col;
        return;
    }
    if (st->col > x->ncols)
        return; /* past the extent: empty by construction */
    c = &x->cells[st->col - 1];
    c->kind = kind;
    c->len = len;
    c->ext = NULL;
    if (kind == INGEST_CELL_EMPTY) {
        c->ext = "";
    } else if (s >= x->wb.sst.buf && s < x->wb.sst.buf + x->wb.sst.len) {
        c->ext = s; /* a shared string lives as long as the source */
    } else {
        c->off = x->rowtext.len;
        buf_add(&x->rowtext, s, len);
        buf_addch(&x->rowtext, '\0');
        if (buf_failed(&x->rowtext)) {
            set_pos(x, st->row, st->col);
            xml_fail(&st->x, err_set(st->x.err, ERR_TOO_LARGE, "file",
                                     "sheet \"%s\" row %" PRIu32 ": more than %u MiB of text",
                                     sheet_name(x), st->row, LIMIT_INGEST_RECORD >> 20));
        }
    }
}

static void merge_add(struct stream *st, const char *ref)
{
    struct xlsx *x = st->xl;
    uint32_t c1, r1, c2, r2, t;
    const char *p;

    if (!ref || !(p = ref_parse(ref, &c1, &r1)) || *p != ':' || !(p = ref_parse(p + 1, &c2, &r2)) ||
        *p || !r1 || !r2)
        return; /* not a range: nothing to fill */
    if (x->nmerges >= LIMIT_INGEST_MERGES) {
        xml_fail(&st->x, err_set(st->x.err, ERR_TOO_LARGE, "file",
                                 "sheet \"%s\" has more than %u merged ranges", sheet_name(x),
                                 LIMIT_INGEST_MERGES));
        return;
    }
    if (r1 > r2)
        t = r1, r1 = r2, r2 = t;
    if (c1 > c2)
        t = c1, c1 = c2, c2 = t;
    if (r1 == r2 && c1 == c2)
        return;
    ALLOC_GROW(x->merges, x->nmerges + 1, x->amerges);
    x->merges[x->nmerges++] = (struct merge){r1, c1, r2, c2, INGEST_CELL_EMPTY, "", 0, NULL};
}

static void XMLCALL sheet_start(void *ud, const XML_Char *name, const XML_Char **atts)
{
    struct stream *st = ud;
    struct xlsx *x = st->xl;
    const char *l = xml_local(name), *v;

    if (!st->in_sheetdata) {
        if (!strcmp(l, "sheetData"))
            st->in_sheetdata = true;
        else if (st->scan && !strcmp(l, "mergeCell"))
            merge_add(st, xml_attr(atts, "ref", false));
        return;
    }
    if (!strcmp(l, "row")) {
        uint64_t r = st->prev_row + 1ull;

        v = xml_attr(atts, "r", false);
        if (v && (parse_u64(v, XLSX_MAX_ROW, &r) || !r)) {
            set_pos(x, st->prev_row + 1, 0);
            xml_fail(&st->x,
                     err_set(st->x.err, ERR_VALIDATION, "file",
                             "sheet \"%s\": row number \"%.20s\" is not valid", sheet_name(x), v));
            return;
        }
        if (r <= st->prev_row || r > XLSX_MAX_ROW) {
            set_pos(x, r, 0);
            xml_fail(&st->x, err_set(st->x.err, ERR_VALIDATION, "file",
                                     "sheet \"%s\": row %" PRIu64 " comes after row %" PRIu32,
                                     sheet_name(x), r, st->prev_row));
            return;
        }
        st->row = (uint32_t)r;
        st->in_row = true;
        st->col = 0;
        if (!st->scan) {
            for (uint32_t i = 0; i < x->ncols; i++)
                x->cells[i] = (struct xcell){INGEST_CELL_EMPTY, "", 0, 0};
            buf_reset(&x->rowtext);
        }
    } else if (!strcmp(l, "c") && st->in_row) {
        uint32_t col = st->col + 1, row;
        uint64_t s = 0;

        v = xml_attr(atts, "r", false);
        if (v) {
            const char *rest = ref_parse(v, &col, &row);

            if (!rest || *rest) {
                set_pos(x, st->row, st->col + 1);
                xml_fail(&st->x, err_set(st->x.err, ERR_VALIDATION, "file",
                                         "sheet \"%s\" row %" PRIu32
                                         ": cell reference \"%.20s\" is not valid",
                                         sheet_name(x), st->row, v));
                return;
            }
        }
        if (col > XLSX_MAX_COL) {
            set_pos(x, st->row, col);
            xml_fail(&st->x, err_set(st->x.err, ERR_VALIDATION, "file",
                                     "sheet \"%s\" row %" PRIu32 ": more than %u columns",
                                     sheet_name(x), st->row, XLSX_MAX_COL));
            return;
        }
        st->col = col;
        v = xml_attr(atts, "t", false);
        xsnprintf(st->type, sizeof(st->type), "%.*s", (int)sizeof(st->type) - 1, v ? v : "");
        v = xml_attr(atts, "s", false);
        if (!v || parse_u64(v, UINT32_MAX, &s))
            s = 0;
        st->style = (uint32_t)s;
        st->in_c = true;
        st->has_v = st->has_is = false;
        buf_reset(&st->text);
    } else if (st->in_c) {
        if (!strcmp(l, "v")) {
            st->in_v = true;
            st->has_v = true;
        } else if (!strcmp(l, "is")) {
            st->in_is = true;
            st->has_is = true;
        } else if (!strcmp(l, "t")) {
            st->in_t = st->in_is && !st->in_rph;
        } else if (!strcmp(l, "rPh")) {
            st->in_rph++;
        }
    }
}

static void XMLCALL sheet_end(void *ud, const XML_Char *name)
{
    struct stream *st = ud;
    const char *l = xml_local(name);

    if (!st->in_sheetdata)
        return;
    if (!strcmp(l, "sheetData")) {
        st->in_sheetdata = false;
    } else if (!strcmp(l, "row") && st->in_row) {
        st->in_row = false;
        st->prev_row = st->row;
        if (!st->scan) {
            st->xl->row_num = st->row;
            st->xl->row_ready = true;
            XML_StopParser(st->x.p, XML_TRUE);
        }
    } else if (!st->in_c) {
        return;
    } else if (!strcmp(l, "c")) {
        st->in_c = st->in_v = st->in_is = st->in_t = false;
        st->in_rph = 0;
        cell_done(st);
    } else if (!strcmp(l, "v")) {
        st->in_v = false;
    } else if (!strcmp(l, "is")) {
        st->in_is = false;
    } else if (!strcmp(l, "t")) {
        st->in_t = false;
    } else if (!strcmp(l, "rPh")) {
        st->in_rph--;
    }
}

static void XMLCALL sheet_chars(void *ud, const XML_Char *text, int len)
{
    struct stream *st = ud;

    if (!st->in_c || !(st->in_v || (st->in_is && st->in_t && !st->in_rph)))
        return;
    buf_add(&st->text, text, (size_t)len);
    if (buf_failed(&st->text)) {
        char what[64];

        xsnprintf(what, sizeof(what), "a value longer than %u MiB", LIMIT_INGEST_FIELD >> 20);
        cell_fail(st, ERR_TOO_LARGE, what);
    }
}

static void stream_free(struct stream *st)
{
    if (!st)
        return;
    if (st->x.p)
        XML_ParserFree(st->x.p);
    if (st->zf)
        zip_fclose(st->zf);
    buf_release(&st->text);
    free(st);
}

static int stream_open(struct xlsx *x, bool scan, struct stream **out, struct err *err)
{
    struct xsheet *sh = &x->wb.sheets[x->sheet];
    struct stream *st = NULL;
    zip_int64_t idx;
    char zm[128];
    int rc = 0;

    *out = NULL;
    if (!sh->part) {
        rc = err_set(err, ERR_VALIDATION, "file",
                     "not a valid XLSX workbook: sheet \"%s\" has no part in "
                     "\"xl/_rels/workbook.xml.rels\"",
                     sh->name);
        goto out;
    }
    idx = zip_name_locate(x->wb.zip, sh->part, ZIP_FL_NOCASE);
    if (idx < 0) {
        rc = err_set(err, ERR_VALIDATION, "file",
                     "not a valid XLSX workbook: sheet \"%s\": the zip archive has no \"%s\"",
                     sh->name, sh->part);
        goto out;
    }
    st = xcalloc(1, sizeof(*st));
    st->xl = x;
    st->scan = scan;
    st->x.what = sh->part;
    buf_init(&st->text, LIMIT_INGEST_FIELD);
    part_sizes(x->wb.zip, idx, &st->size, &st->comp);
    rc = part_size_check(sh->part, st->size, st->comp, err);
    if (!rc)
        rc = workbook_count(&x->wb, sh->part, st->size, &sh->counted, err);
    if (rc)
        goto out;
    st->zf = zip_fopen_index(x->wb.zip, (zip_uint64_t)idx, 0);
    if (!st->zf) {
        rc = err_set(err, ERR_VALIDATION, "file", "the workbook is damaged: sheet \"%s\": %s",
                     sh->name, zip_msg(zip_strerror(x->wb.zip), zm, sizeof(zm)));
        goto out;
    }
    st->x.p = xml_new(st, sheet_start, sheet_end, sheet_chars);
    *out = st;
    st = NULL;
out:
    stream_free(st);
    return rc;
}

/*
 * Parses on until a row is complete (rows mode: x->row_ready) or the sheet ends
 * (st->done). Returns 0 or a negative error.
 */
static int stream_pull(struct xlsx *x, struct stream *st, struct err *err)
{
    enum XML_Status status;
    char zm[128];

    if (st->failed)
        return err_set(err, -st->failed, "file",
                       "sheet \"%s\": reading stopped at an earlier error", sheet_name(x));
    st->x.err = err;
    for (;;) {
        if (st->suspended) {
            st->suspended = false;
            status = XML_ResumeParser(st->x.p);
        } else if (st->fed_final) {
            st->done = true;
            return 0;
        } else {
            void *b = XML_GetBuffer(st->x.p, XLSX_CHUNK);
            zip_int64_t n;

            if (!b)
                die("out of memory parsing XML");
            n = zip_fread(st->zf, b, XLSX_CHUNK);
            if (n < 0)
                return st->failed =
                               err_set(err, ERR_VALIDATION, "file",
                                       "the workbook is damaged: sheet \"%s\": %s", sheet_name(x),
                                       zip_msg(zip_file_strerror(st->zf), zm, sizeof(zm)));
            st->consumed += (uint64_t)n;
            {
                struct xsheet *sh = &x->wb.sheets[x->sheet];
                int rc = part_size_check(sh->part, st->consumed, st->comp, err);

                if (!rc)
                    rc = workbook_count(&x->wb, sh->part, st->consumed, &sh->counted, err);
                if (rc)
                    return st->failed = rc;
            }
            st->fed_final = n == 0;
            status = XML_ParseBuffer(st->x.p, (int)n, n == 0);
        }
        if (status == XML_STATUS_ERROR)
            return st->failed = xml_error(&st->x, sheet_name(x), err);
        if (status == XML_STATUS_SUSPENDED) {
            st->suspended = true;
            return 0;
        }
        if (st->fed_final) {
            st->done = true;
            return 0;
        }
    }
}

static void merges_clear(struct xlsx *x)
{
    for (size_t i = 0; i < x->nmerges; i++) {
        free(x->merges[i].owned);
        x->merges[i].owned = NULL;
        x->merges[i].kind = INGEST_CELL_EMPTY;
        x->merges[i].s = "";
        x->merges[i].len = 0;
    }
    x->nactive = 0;
    x->merge_next = 0;
    x->merge_held = 0;
}

static int merge_cmp(const void *a, const void *b)
{
    const struct merge *m = a, *n = b;

    if (m->r1 != n->r1)
        return m->r1 < n->r1 ? -1 : 1;
    return m->c1 < n->c1 ? -1 : m->c1 > n->c1;
}

/* Scans sheet x->sheet: its extent and merged ranges. */
static int sheet_scan(struct xlsx *x, struct err *err)
{
    struct stream *st = NULL;
    int rc;

    merges_clear(x);
    x->nmerges = 0;
    rc = stream_open(x, true, &st, err);
    while (!rc && !st->done)
        rc = stream_pull(x, st, err);
    if (rc)
        goto out;
    x->first_row = st->first_row;
    x->last_row = st->last_row;
    x->ncols = st->max_col;
out:
    stream_free(st);
    return rc;
}

/* After the scan: the extent grows to cover merged ranges whose top-left cell can hold
 * a value (inside the extent); the ranges are sorted for the rows pass. */
static void sheet_prepare(struct xlsx *x)
{
    uint32_t last = x->last_row, ncols = x->ncols;

    for (size_t i = 0; i < x->nmerges; i++) {
        struct merge *m = &x->merges[i];

        if (!x->first_row || m->r1 < x->first_row || m->r1 > x->last_row || m->c1 > x->ncols)
            continue;
        if (m->r2 > last)
            last = m->r2;
        if (m->c2 > ncols)
            ncols = m->c2;
    }
    x->last_row = last;
    x->ncols = ncols;
    if (x->nmerges)
        qsort(x->merges, x->nmerges, sizeof(*x->merges), merge_cmp);
    x->active = xcalloc(x->nmerges ? x->nmerges : 1, sizeof(*x->active));
    x->cells = xcalloc(ncols ? ncols : 1, sizeof(*x->cells));
    x->out = xcalloc(ncols ? ncols : 1, sizeof(*x->out));
    buf_init(&x->rowtext, LIMIT_INGEST_RECORD);
    x->next_line = x->first_row;
}

/* Fills row line's cells (x->out) from the merged ranges covering it. */
static int merges_apply(struct xlsx *x, uint32_t line, struct err *err)
{
    size_t i;

    for (i = 0; i < x->nactive;) {
        struct merge *m = &x->merges[x->active[i]];

        if (m->r2 < line) {
            if (m->owned)
                x->merge_held -= m->len + 1;
            free(m->owned);
            m->owned = NULL;
            x->active[i] = x->active[--x->nactive];
        } else {
            i++;
        }
    }
    for (; x->merge_next < x->nmerges && x->merges[x->merge_next].r1 <= line; x->merge_next++) {
        struct merge *m = &x->merges[x->merge_next];
        const struct ingest_cell *tl;

        if (m->r2 < line || m->c1 > x->ncols)
            continue;
        x->active[x->nactive++] = x->merge_next;
        if (m->r1 != line)
            continue; /* its top-left row held no value (above the extent) */
        tl = &x->out[m->c1 - 1];
        m->kind = tl->kind;
        m->s = tl->s;
        m->len = tl->len;
        /* A value used in later rows must outlive this row, unless it is a shared
         * string. */
        if (m->r2 > m->r1 && tl->kind != INGEST_CELL_EMPTY &&
            !(tl->s >= x->wb.sst.buf && tl->s < x->wb.sst.buf + x->wb.sst.len)) {
            if (x->wb.held + x->merge_held + tl->len + 1 > LIMIT_INGEST_SHARED_STRINGS) {
                set_pos(x, line, m->c1);
                return err_set(err, ERR_TOO_LARGE, "file",
                               "sheet \"%s\": shared strings and merged cells hold more than "
                               "%u MiB",
                               sheet_name(x), LIMIT_INGEST_SHARED_STRINGS >> 20);
            }
            m->owned = xstrndup(tl->s, tl->len);
            m->s = m->owned;
            x->merge_held += tl->len + 1;
        }
    }
    for (i = 0; i < x->nactive; i++) {
        const struct merge *m = &x->merges[x->active[i]];
        uint32_t c2 = m->c2 < x->ncols ? m->c2 : x->ncols;

        for (uint32_t c = m->c1; c <= c2; c++)
            if (!(line == m->r1 && c == m->c1))
                x->out[c - 1] = (struct ingest_cell){m->kind, m->s, m->len};
    }
    return 0;
}

static int xlsx_next(struct ingest_source *src, struct ingest_row *row, struct err *err)
{
    struct xlsx *x = src->impl;
    int rc;

    x->pos = &src->pos;
    for (;;) {
        if (!x->next_line || x->next_line > x->last_row)
            return 0;
        if (!x->st && (rc = stream_open(x, false, &x->st, err)))
            return rc;
        if (!x->row_ready && !x->st->done) {
            if ((rc = stream_pull(x, x->st, err)))
                return rc;
            continue;
        }
        if (x->row_ready && x->row_num < x->next_line) {
            x->row_ready = false; /* above the first row holding a value */
            continue;
        }
        if (x->row_ready && x->row_num == x->next_line) {
            for (uint32_t i = 0; i < x->ncols; i++) {
                const struct xcell *c = &x->cells[i];

                x->out[i].kind = c->kind;
                x->out[i].s = c->ext ? c->ext : x->rowtext.buf + c->off;
                x->out[i].len = c->len;
            }
            x->row_ready = false;
        } else {
            /* A row missing between rows with values: blank. */
            for (uint32_t i = 0; i < x->ncols; i++)
                x->out[i] = (struct ingest_cell){INGEST_CELL_EMPTY, "", 0};
        }
        if ((rc = merges_apply(x, x->next_line, err)))
            return rc;
        row->cells = x->out;
        row->n = x->ncols;
        row->line = x->next_line++;
        return 1;
    }
}

static int xlsx_rewind(struct ingest_source *src, struct err *err)
{
    struct xlsx *x = src->impl;

    (void)err;
    stream_free(x->st);
    x->st = NULL;
    merges_clear(x);
    x->row_ready = false;
    x->next_line = x->first_row;
    return 0;
}

/* The sheet's progress scaled to the file's size: libzip does not tell how many
 * compressed bytes it has read. */
static uint64_t xlsx_offset(const struct ingest_source *src)
{
    const struct xlsx *x = src->impl;

    if (!x->st || !x->st->size)
        return 0;
    if (x->st->done || x->st->consumed >= x->st->size)
        return x->bytes;
    return (uint64_t)((double)x->bytes * ((double)x->st->consumed / (double)x->st->size));
}

static void xlsx_free(void *impl)
{
    struct xlsx *x = impl;

    if (!x)
        return;
    stream_free(x->st);
    merges_clear(x);
    free(x->merges);
    free(x->active);
    free(x->cells);
    free(x->out);
    buf_release(&x->rowtext);
    workbook_release(&x->wb);
    free(x);
}

static const struct ingest_source_ops xlsx_ops = {
        .next = xlsx_next,
        .rewind = xlsx_rewind,
        .offset = xlsx_offset,
        .free = xlsx_free,
};

int ingest_xlsx_open(struct ingest_source *src, const char *path, const struct ingest_options *o,
                     struct err *err)
{
    struct xlsx *x = xcalloc(1, sizeof(*x));
    int rc;

    src->impl = NULL;
    x->pos = &src->pos;
    rc = workbook_open(&x->wb, path, true, &x->bytes, err);
    if (rc)
        goto out;
    if (o && o->sheet) {
        rc = ingest_sheet_lookup(x->wb.names, x->wb.nsheets, o->sheet, &x->sheet, err);
        if (!rc)
            rc = sheet_scan(x, err);
    } else {
        /* The first sheet holding a value; the first sheet when none does. */
        for (x->sheet = 0; x->sheet < x->wb.nsheets; x->sheet++) {
            rc = sheet_scan(x, err);
            if (rc || x->first_row)
                break;
        }
        if (!rc && x->sheet == x->wb.nsheets) {
            x->sheet = 0;
            rc = sheet_scan(x, err);
        }
    }
    if (rc)
        goto out;
    sheet_prepare(x);
    ingest_sheet_info(&src->info, INGEST_FORMAT_XLSX, x->wb.names, x->wb.nsheets, x->sheet,
                      x->bytes);
    src->ops = &xlsx_ops;
    src->impl = x;
    x = NULL;
out:
    xlsx_free(x);
    return rc;
}

int ingest_xlsx_sheet_names(const char *path, char ***names, struct err *err)
{
    struct workbook wb;
    uint64_t bytes;
    char **v = NULL;
    int rc;

    *names = NULL;
    rc = workbook_open(&wb, path, false, &bytes, err);
    if (rc)
        goto out;
    v = xcalloc(wb.nsheets + 1, sizeof(*v));
    for (size_t i = 0; i < wb.nsheets; i++)
        v[i] = xstrdup(wb.sheets[i].name);
    *names = v;
out:
    workbook_release(&wb);
    return rc;
}
