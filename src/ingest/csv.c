/*
 * csv.c - CSV (RFC 4180) and TSV files read as rows, with the quirks of files found in
 * the wild: any mix of CRLF, LF and CR line ends, a missing final newline, blank lines
 * at the end, quotes inside unquoted fields kept as text, text after a closing quote
 * appended to the field, and the delimiter sniffed from the first lines.
 *
 * Speed matters (a 1 GB file is parsed twice: type inference, then the load), so the
 * parser works in place in one large buffer: the UTF-8 text (encoding.c) is read into it
 * in CSV_BUF pieces, unquoted runs are skipped with a 256-entry class table that stops
 * only at the delimiter, CR and LF (a sentinel LF after the data ends every scan, so the
 * loop has no bounds check), quoted fields are unescaped by shifting bytes down over the
 * quotes, and each field is NUL-terminated where its delimiter was. Cells point into the
 * buffer: nothing is allocated per field or per record. A record that reaches the end
 * of the buffer is moved to its front and more is read after it; the buffer grows only
 * for a record longer than what is left, up to LIMIT_INGEST_RECORD, so memory stays
 * bounded whatever the size of the file.
 */
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "core/limits.h"
#include "ingest/ingest-int.h"
#include "core/util.h"

#define CSV_BUF      (1u << 20)   /* the buffer's first size: 1 MiB */
#define CSV_READ_MIN (64u * 1024) /* the buffer grows when a read would get less room */
#define CSV_BUF_MAX  ((size_t)LIMIT_INGEST_RECORD + CSV_BUF)
#define SNIFF_ROWS   64u /* records looked at to sniff the delimiter */
#define CSV_PAD      16u /* bytes after the data: the sentinel, and room for reading words */

/* Byte classes: what stops a scan. */
enum { C_TEXT = 0, C_STOP = 1 };

struct csv_field {
    size_t off, len; /* in buf */
};

struct csv {
    struct ingest_text *text;
    struct ingest_pos *pos; /* the source's */
    char *buf;              /* cap + CSV_PAD bytes: room for the sentinel after the data */
    size_t cap;
    size_t len; /* bytes of text in buf */
    size_t r;   /* where the next record starts */
    bool eof;
    bool skip_lf; /* the last record ended with a CR at the end of the data: a LF that
                     comes first in the next read is the rest of its CRLF */
    char delim;
    unsigned char cls[256];  /* unquoted: the delimiter, CR and LF stop */
    unsigned char qcls[256]; /* quoted: '"', CR and LF stop */
    uint64_t line;           /* the line of buf[r] */
    uint64_t blank;          /* blank lines waiting to be yielded, the first at blank_line */
    uint64_t blank_line;
    struct csv_field *fields;
    size_t fields_alloc;
    struct ingest_cell *cells;
    size_t cells_alloc;
};

static const struct ingest_cell blank_cell = {INGEST_CELL_TEXT, "", 0};

/*
 * Reads more text into the buffer: first moves buf[keep..len) (the record being parsed)
 * to the front, growing the buffer when little room would be left. *shift gets how far
 * the bytes moved (offsets into buf decrease by it). Sets eof when nothing more comes.
 */
static int csv_fill(struct csv *c, size_t keep, uint64_t rec_line, size_t *shift, struct err *err)
{
    size_t n = c->len - keep;
    long got;

    if (n > LIMIT_INGEST_RECORD) {
        c->pos->line = rec_line;
        c->pos->column = 0;
        return err_set(err, ERR_TOO_LARGE, "file",
                       "line %" PRIu64 ": a record is larger than %u MiB", rec_line,
                       LIMIT_INGEST_RECORD >> 20);
    }
    if (keep)
        memmove(c->buf, c->buf + keep, n);
    c->len = n;
    *shift = keep;
    if (c->cap - c->len < CSV_READ_MIN && c->cap < CSV_BUF_MAX) {
        size_t old = c->cap;

        c->cap = c->cap * 2 < CSV_BUF_MAX ? c->cap * 2 : CSV_BUF_MAX;
        c->buf = xrealloc(c->buf, c->cap + CSV_PAD);
        /* Word reads past the sentinel see defined bytes (their values do not matter). */
        memset(c->buf + old, 0, c->cap - old + CSV_PAD);
    }
    got = ingest_text_read(c->text, c->buf + c->len, c->cap - c->len, c->pos, err);
    if (got < 0)
        return (int)got;
    if (!got)
        c->eof = true;
    c->len += (size_t)got;
    c->buf[c->len] = '\n'; /* the sentinel */
    return 0;
}

static void set_classes(struct csv *c)
{
    memset(c->cls, C_TEXT, sizeof(c->cls));
    memset(c->qcls, C_TEXT, sizeof(c->qcls));
    c->cls['\n'] = c->cls['\r'] = C_STOP;
    c->cls[(unsigned char)c->delim] = C_STOP;
    c->qcls['\n'] = c->qcls['\r'] = c->qcls['"'] = C_STOP;
}

#if !defined(__SSE2__) && defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define SCAN_WORDS 1
/* 0x80 in each byte of v that equals the byte in ones * c: exact up to the first match
 * (the borrow of the subtraction may mark bytes after it), which is all scan_stop uses. */
static inline uint64_t bytes_eq(uint64_t v, uint64_t pattern)
{
    uint64_t x = v ^ pattern;

    return (x - 0x0101010101010101ull) & ~x & 0x8080808080808080ull;
}
#endif

/*
 * The first byte at or after p that stops an unquoted field: delim, CR or LF; the
 * sentinel after the data is one. Sixteen bytes at a time with SSE2 (every x86-64), else
 * eight where words are little-endian, else one through the class table cls. CSV_PAD
 * bytes after the sentinel keep the last block read inside the buffer.
 */
static inline const char *scan_stop(const char *p, char delim, const unsigned char *cls)
{
#if defined(__SSE2__)
    const __m128i vd = _mm_set1_epi8(delim), vlf = _mm_set1_epi8('\n'), vcr = _mm_set1_epi8('\r');

    (void)cls;
    for (;;) {
        __m128i v = _mm_loadu_si128((const __m128i *)(const void *)p);
        unsigned m = (unsigned)_mm_movemask_epi8(
                _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(v, vd), _mm_cmpeq_epi8(v, vlf)),
                             _mm_cmpeq_epi8(v, vcr)));

        if (m)
            return p + __builtin_ctz(m);
        p += 16;
    }
#elif defined(SCAN_WORDS)
    const uint64_t d = 0x0101010101010101ull * (unsigned char)delim;
    const uint64_t lf = 0x0101010101010101ull * '\n', cr = 0x0101010101010101ull * '\r';

    (void)cls;
    for (;;) {
        uint64_t v, m;

        memcpy(&v, p, 8);
        m = bytes_eq(v, d) | bytes_eq(v, lf) | bytes_eq(v, cr);
        if (m)
            return p + (__builtin_ctzll(m) >> 3);
        p += 8;
    }
#else
    (void)delim;
    while (!cls[(unsigned char)*p])
        p++;
    return p;
#endif
}

/* Yields one blank line as a row of one empty cell. */
static int yield_blank(uint64_t line, struct ingest_row *row)
{
    row->cells = &blank_cell;
    row->n = 1;
    row->line = line;
    return 1;
}

/*
 * At a run of line ends (blank lines) at c->r: counts them, consuming every CR and LF.
 * At the end of the file they are dropped (0); otherwise the first is yielded now and
 * the others by the next calls (1).
 */
static int blank_lines(struct csv *c, struct ingest_row *row, struct err *err)
{
    uint64_t first = c->line, n = 0;
    bool cr = false;
    size_t shift;
    int rc;

    for (;;) {
        char ch;

        if (c->r == c->len) {
            if (c->eof)
                return 0; /* blank lines at the end are not rows */
            rc = csv_fill(c, c->r, c->line, &shift, err);
            if (rc)
                return rc;
            c->r -= shift;
            continue;
        }
        ch = c->buf[c->r];
        if (ch == '\n') {
            n += !cr;
            cr = false;
        } else if (ch == '\r') {
            n++;
            cr = true;
        } else {
            break;
        }
        c->r++;
    }
    c->line = first + n;
    c->blank = n - 1;
    c->blank_line = first + 1;
    return yield_blank(first, row);
}

static int csv_next(struct ingest_source *src, struct ingest_row *row, struct err *err)
{
    struct csv *c = src->impl;
    /* Locals for what the loop reads: stores through b (a char *) would otherwise make
     * the compiler read c's members again after each one. */
    const char delim = c->delim;
    struct csv_field *fields;
    size_t r, w, s, rec, fstart = 0, nf = 0, shift, len, falloc;
    uint64_t line, rec_line, fline = 0;
    bool eof;
    char *b, ch;
    int rc;

    if (c->blank) {
        c->blank--;
        return yield_blank(c->blank_line++, row);
    }
    c->buf[c->len] = '\n'; /* a NUL may have replaced the sentinel */
    for (;;) {
        if (c->r == c->len) {
            if (c->eof)
                return 0;
            rc = csv_fill(c, c->r, c->line, &shift, err);
            if (rc)
                return rc;
            c->r -= shift;
            continue;
        }
        if (c->skip_lf && c->buf[c->r] == '\n') {
            c->r++;
            c->skip_lf = false;
            continue;
        }
        c->skip_lf = false;
        break;
    }
    if (c->buf[c->r] == '\n' || c->buf[c->r] == '\r')
        return blank_lines(c, row, err);

    b = c->buf;
    len = c->len;
    eof = c->eof;
    fields = c->fields;
    falloc = c->fields_alloc;
    r = w = rec = c->r;
    line = rec_line = c->line;

/* More text after the record, keeping it; every offset into the buffer moves with it. */
#define REFILL()                                                                                   \
    do {                                                                                           \
        rc = csv_fill(c, rec, rec_line, &shift, err);                                              \
        if (rc)                                                                                    \
            return rc;                                                                             \
        b = c->buf;                                                                                \
        len = c->len;                                                                              \
        eof = c->eof;                                                                              \
        r -= shift;                                                                                \
        w -= shift;                                                                                \
        rec -= shift;                                                                              \
        fstart -= shift;                                                                           \
        for (size_t i_ = 0; i_ < nf; i_++)                                                         \
            fields[i_].off -= shift;                                                               \
    } while (0)

field:
    fstart = w;
    fline = line;
    while (r == len && !eof)
        REFILL();
    if (r < len && b[r] == '"') {
        r++;
        goto quoted;
    }
unquoted:
    s = r;
    r = (size_t)(scan_stop(b + r, delim, c->cls) - b);
    if (w != s)
        memmove(b + w, b + s, r - s);
    w += r - s;
    if (r == len) {
        if (!eof) {
            REFILL();
            goto unquoted;
        }
        ch = 0; /* the end of the file ends the record */
    } else {
        ch = b[r++];
    }
    /* The field ends: record it and NUL-terminate it where its delimiter was. */
    if (w - fstart > LIMIT_INGEST_FIELD) {
        c->pos->line = fline;
        c->pos->column = nf + 1;
        return err_set(err, ERR_TOO_LARGE, "file",
                       "line %" PRIu64 ", field %zu: a field is larger than %u MiB", fline, nf + 1,
                       LIMIT_INGEST_FIELD >> 20);
    }
    if (nf == falloc) {
        if (nf == LIMIT_INGEST_RECORD_FIELDS) {
            c->pos->line = rec_line;
            c->pos->column = nf + 1;
            return err_set(err, ERR_TOO_LARGE, "file",
                           "line %" PRIu64 ": a record has more than %u fields", rec_line,
                           LIMIT_INGEST_RECORD_FIELDS);
        }
        falloc = falloc * 2 + 16 < LIMIT_INGEST_RECORD_FIELDS ? falloc * 2 + 16
                                                              : LIMIT_INGEST_RECORD_FIELDS;
        fields = c->fields = xrealloc(c->fields, falloc * sizeof(*fields));
        c->fields_alloc = falloc;
    }
    fields[nf].off = fstart;
    fields[nf].len = w - fstart;
    nf++;
    b[w++] = '\0';
    if (ch == delim)
        goto field;
    if (ch == '\n') {
        line++;
    } else if (ch == '\r') {
        line++;
        if (r < len)
            r += b[r] == '\n';
        else
            c->skip_lf = !eof;
    }
    goto record;

quoted:
    s = r;
    while (!c->qcls[(unsigned char)b[r]])
        r++;
    if (w != s)
        memmove(b + w, b + s, r - s);
    w += r - s;
    if (r == len) {
        if (!eof) {
            REFILL();
            goto quoted;
        }
        c->pos->line = fline;
        c->pos->column = nf + 1;
        return err_set(err, ERR_VALIDATION, "file",
                       "line %" PRIu64 ", field %zu: a quoted field is not closed before the end "
                       "of the file",
                       fline, nf + 1);
    }
    if (b[r] == '"') {
        if (r + 1 == len && !eof) {
            REFILL(); /* is it a doubled quote? */
            goto quoted;
        }
        if (r + 1 < len && b[r + 1] == '"') {
            b[w++] = '"';
            r += 2;
            goto quoted;
        }
        r++;
        goto unquoted; /* closed; text up to the delimiter is appended as it is */
    }
    /* A line end inside quotes is part of the value and still a line of the file; the LF
     * of a CRLF was counted with its CR. b[r - 1] is the raw byte before: writes never
     * reach past w <= r - 1 here, and the opening quote is at or after rec. */
    if (b[r] == '\r' || b[r - 1] != '\r')
        line++;
    b[w++] = b[r++];
    goto quoted;
#undef REFILL

record:
    if (r - rec > LIMIT_INGEST_RECORD) {
        c->pos->line = rec_line;
        c->pos->column = 0;
        return err_set(err, ERR_TOO_LARGE, "file",
                       "line %" PRIu64 ": a record is larger than %u MiB", rec_line,
                       LIMIT_INGEST_RECORD >> 20);
    }
    if (nf > c->cells_alloc) {
        c->cells_alloc = falloc;
        c->cells = xrealloc(c->cells, falloc * sizeof(*c->cells));
    }
    for (size_t i = 0; i < nf; i++) {
        struct ingest_cell *cell = &c->cells[i];

        cell->kind = INGEST_CELL_TEXT;
        cell->s = b + fields[i].off;
        cell->len = fields[i].len;
    }
    row->cells = c->cells;
    row->n = nf;
    row->line = rec_line;
    c->r = r;
    c->line = line;
    return 1;
}

static int csv_rewind(struct ingest_source *src, struct err *err)
{
    struct csv *c = src->impl;
    int rc = ingest_text_rewind(c->text, err);

    c->len = c->r = 0;
    c->buf[0] = '\n';
    c->eof = false;
    c->skip_lf = false;
    c->line = 1;
    c->blank = 0;
    return rc;
}

static uint64_t csv_offset(const struct ingest_source *src)
{
    const struct csv *c = src->impl;

    return ingest_text_offset(c->text);
}

static void csv_free(void *impl)
{
    struct csv *c = impl;

    if (!c)
        return;
    ingest_text_free(c->text);
    free(c->buf);
    free(c->fields);
    free(c->cells);
    free(c);
}

static const struct ingest_source_ops csv_ops = {
        .next = csv_next,
        .rewind = csv_rewind,
        .offset = csv_offset,
        .free = csv_free,
};

/* ---- Sniffing the delimiter ------------------------------------------------------- */

/*
 * Counts the fields of the first records of p[0..n) split by delim (quotes respected, a
 * quoted line end inside its field), into counts; blank lines are skipped, and so is a
 * last record cut by the end of the sniffed text (when !eof). Returns the records counted.
 */
static size_t sniff_counts(const char *p, size_t n, bool eof, char delim, size_t *counts)
{
    size_t i = 0, k = 0;

    while (i < n && k < SNIFF_ROWS) {
        size_t fields = 1;
        bool done = false;

        if (p[i] == '\n' || p[i] == '\r') {
            i++;
            continue;
        }
        while (!done) {
            if (i < n && p[i] == '"') {
                for (i++; i < n; i++) {
                    if (p[i] != '"')
                        continue;
                    if (i + 1 < n && p[i + 1] == '"')
                        i++;
                    else
                        break;
                }
                if (i >= n)
                    return k; /* unclosed within the sniff */
                i++;
            }
            while (i < n && p[i] != delim && p[i] != '\n' && p[i] != '\r')
                i++;
            if (i >= n) {
                if (!eof)
                    return k;
                done = true;
            } else if (p[i] == delim) {
                fields++;
                i++;
            } else {
                done = true;
            }
        }
        counts[k++] = fields;
    }
    return k;
}

/*
 * The delimiter among ',', '\t', ';' and '|' that splits the first records into the same
 * number of fields, more than one: for each, the field count (> 1) shared by the most
 * records (ties: the larger count); the delimiter whose count is shared by the most
 * records wins (ties: the larger count, then the order above). A few title lines above
 * the table do not change the answer. ',' when none splits anything.
 */
static char sniff_delimiter(const char *p, size_t n, bool eof)
{
    static const char cand[] = {',', '\t', ';', '|'};
    size_t counts[SNIFF_ROWS];
    size_t best_rows = 0, best_fields = 0;
    char best = ',';

    for (size_t d = 0; d < ARRAY_SIZE(cand); d++) {
        size_t k = sniff_counts(p, n, eof, cand[d], counts);
        size_t rows = 0, fields = 0;

        for (size_t i = 0; i < k; i++) {
            size_t same = 0;

            if (counts[i] < 2)
                continue;
            for (size_t j = 0; j < k; j++)
                same += counts[j] == counts[i];
            if (same > rows || (same == rows && counts[i] > fields)) {
                rows = same;
                fields = counts[i];
            }
        }
        if (rows > best_rows || (rows == best_rows && rows && fields > best_fields)) {
            best_rows = rows;
            best_fields = fields;
            best = cand[d];
        }
    }
    return best;
}

/* ---- Opening ---------------------------------------------------------------------- */

static bool all_blank(const char *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i] != ' ' && p[i] != '\t' && p[i] != '\r' && p[i] != '\n')
            return false;
    return true;
}

int ingest_csv_open(struct ingest_source *src, const char *path, const struct ingest_options *o,
                    struct err *err)
{
    struct csv *c = xcalloc(1, sizeof(*c));
    size_t shift;
    int rc;

    src->impl = NULL;
    c->pos = &src->pos;
    c->cap = CSV_BUF;
    c->buf = xcalloc(1, c->cap + CSV_PAD);
    c->line = 1;
    if (o->delimiter && !strchr(",;\t|", o->delimiter)) {
        rc = err_set(err, ERR_VALIDATION, "delimiter",
                     "delimiter must be ',', ';', '|' or a tab, not '%c'", o->delimiter);
        goto out;
    }
    rc = ingest_text_open(&c->text, path, o->encoding, &src->info, err);
    if (rc)
        goto out;
    /* The first LIMIT_INGEST_SNIFF bytes of text (or the whole file) for the sniff. Bytes
     * not valid in the encoding end it early: the text reader keeps failing there, so
     * the error comes from the read that reaches them, after the rows before. */
    while (c->len < LIMIT_INGEST_SNIFF && !c->eof) {
        struct err later = ERR_INIT;

        if (csv_fill(c, 0, 1, &shift, &later))
            break;
    }
    memset(&src->pos, 0, sizeof(src->pos));
    if (all_blank(c->buf, c->len) && c->eof) {
        rc = err_set(err, ERR_VALIDATION, "file", "file is empty");
        goto out;
    }
    if (o->delimiter)
        c->delim = o->delimiter;
    else if (o->format == INGEST_FORMAT_TSV)
        c->delim = '\t';
    else
        c->delim =
                sniff_delimiter(c->buf, c->len < LIMIT_INGEST_SNIFF ? c->len : LIMIT_INGEST_SNIFF,
                                c->eof && c->len <= LIMIT_INGEST_SNIFF);
    set_classes(c);
    src->info.format = c->delim == '\t' ? INGEST_FORMAT_TSV : INGEST_FORMAT_CSV;
    src->info.delimiter = c->delim;
    src->ops = &csv_ops;
    src->impl = c;
    c = NULL;
out:
    csv_free(c);
    return rc;
}
