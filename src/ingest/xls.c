/*
 * xls.c - Excel 97-2003 workbooks (BIFF5/BIFF8 in an OLE2 compound file) read as rows
 * through freexl.
 *
 * freexl reads the whole workbook into memory at open and converts its strings from the
 * workbook's code page to UTF-8: unlike the other readers this one's memory grows with
 * the file, which is accepted for a legacy format whose sheets stop at 65,536 rows.
 * Rows have the same shape as the XLSX reader's (xlsx.c): the extent is the first and
 * last rows and the last column holding a value, found by a scan at open; rows are that
 * wide; blank rows between are yielded. freexl 1.0 reports neither merged ranges nor
 * number formats, so merged cells are not filled and zero-padded formats are not
 * applied here (docs/internals/ingest.md, "Spreadsheets").
 */
#include <freexl.h>
#include <math.h>

#include "core/buf.h"
#include "core/limits.h"
#include "ingest/ingest-int.h"
#include "ingest/sheet-int.h"
#include "core/util.h"

struct xls {
    const void *h;
    char **names;
    size_t nsheets;
    size_t sheet;
    unsigned rows;       /* of the sheet, as freexl counts them */
    unsigned short cols; /* likewise */
    bool date1904;       /* the workbook's date system (its DATEMODE record) */
    uint32_t first_row;  /* 1-based; 0 when no cell holds a value */
    uint32_t last_row;   /* 1-based */
    uint32_t ncols;      /* the last column holding a value */
    uint32_t next_line;  /* the row the next call yields */
    struct ingest_cell *out;
    size_t *off;
    struct buf rowtext;
    struct ingest_pos *pos;
};

/* What a freexl error code means to the publisher. */
static const char *xls_strerror(int code)
{
    switch (code) {
    case FREEXL_INVALID_CFBF_HEADER:
    case FREEXL_CFBF_INVALID_SIGNATURE:
        return "not an OLE2 compound file";
    case FREEXL_CFBF_READ_ERROR:
    case FREEXL_CFBF_SEEK_ERROR:
        return "the file is truncated";
    case FREEXL_CFBF_INVALID_SECTOR_SIZE:
    case FREEXL_CFBF_EMPTY_FAT_CHAIN:
    case FREEXL_CFBF_ILLEGAL_FAT_ENTRY:
    case FREEXL_INVALID_MINI_STREAM:
    case FREEXL_CFBF_ILLEGAL_MINI_FAT_ENTRY:
        return "the compound file is damaged";
    case FREEXL_BIFF_INVALID_BOF:
    case FREEXL_BIFF_WORKBOOK_NOT_FOUND:
        return "the compound file holds no Excel workbook stream";
    case FREEXL_BIFF_INVALID_SST:
    case FREEXL_BIFF_ILLEGAL_SST_INDEX:
        return "the workbook's shared strings are damaged";
    case FREEXL_BIFF_ILLEGAL_SHEET_INDEX:
    case FREEXL_BIFF_UNSELECTED_SHEET:
        return "a sheet is missing";
    case FREEXL_INVALID_CHARACTER:
        return "a string is not valid in the workbook's code page";
    case FREEXL_UNSUPPORTED_CHARSET:
        return "the workbook's code page is not supported";
    case FREEXL_ILLEGAL_CELL_ROW_COL:
        return "a cell lies outside the sheet";
    case FREEXL_ILLEGAL_RK_VALUE:
        return "a number cell is damaged";
    case FREEXL_CRAFTED_FILE:
        return "the workbook is damaged (or crafted)";
    case FREEXL_INSUFFICIENT_MEMORY:
        return "out of memory";
    default:
        return "freexl could not read it";
    }
}

/* Opens path with freexl (info_only: sheet names only) and reads its sheet names. */
static int xls_open_names(const char *path, bool info_only, const void **h, char ***names,
                          size_t *n, struct err *err)
{
    struct stat st;
    unsigned count = 0, pw = 0;
    int code, rc = 0;

    *h = NULL;
    *names = NULL;
    *n = 0;
    if (stat(path, &st))
        return err_set(err, ERR_INTERNAL, "file", "cannot read the workbook: %s", strerror(errno));
    if (!st.st_size)
        return err_set(err, ERR_VALIDATION, "file", "file is empty");
    if (!ingest_sheet_is_ole2(path))
        return err_set(err, ERR_VALIDATION, "file", "not an XLS workbook: %s",
                       xls_strerror(FREEXL_INVALID_CFBF_HEADER));
    code = info_only ? freexl_open_info(path, h) : freexl_open(path, h);
    if (code == FREEXL_FILE_NOT_FOUND) {
        rc = err_set(err, ERR_INTERNAL, "file", "cannot read the workbook");
        goto out;
    }
    if (code != FREEXL_OK) {
        rc = err_set(err, code == FREEXL_INSUFFICIENT_MEMORY ? ERR_TOO_LARGE : ERR_VALIDATION,
                     "file", "not an XLS workbook: %s", xls_strerror(code));
        goto out;
    }
    if (freexl_get_info(*h, FREEXL_BIFF_PASSWORD, &pw) == FREEXL_OK &&
        pw == FREEXL_BIFF_OBFUSCATED) {
        rc = err_set(err, ERR_VALIDATION, "file", "the XLS workbook is password-protected");
        goto out;
    }
    if (freexl_get_info(*h, FREEXL_BIFF_SHEET_COUNT, &count) != FREEXL_OK || !count) {
        rc = err_set(err, ERR_VALIDATION, "file", "not a valid XLS workbook: it has no sheets");
        goto out;
    }
    if (count > LIMIT_INGEST_SHEETS) {
        rc = err_set(err, ERR_TOO_LARGE, "file", "the workbook has more than %u sheets",
                     LIMIT_INGEST_SHEETS);
        goto out;
    }
    *names = xcalloc(count + 1, sizeof(**names));
    for (unsigned i = 0; i < count; i++) {
        const char *name = NULL;

        if (freexl_get_worksheet_name(*h, (unsigned short)i, &name) != FREEXL_OK || !name)
            name = "";
        (*names)[i] = xstrdup(name);
    }
    *n = count;
out:
    if (rc && *h) {
        freexl_close(*h);
        *h = NULL;
    }
    return rc;
}

/* The shortest of %.15g, %.16g, %.17g that reads back as d (17 digits always do). */
static void double_text(double d, char *out, size_t size)
{
    for (int prec = 15; prec < 17; prec++) {
        xsnprintf(out, size, "%.*g", prec, d);
        if (strtod(out, NULL) == d)
            return;
    }
    xsnprintf(out, size, "%.17g", d);
}

static bool digits(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (s[i] < '0' || s[i] > '9')
            return false;
    return true;
}

static unsigned num2(const char *s)
{
    return (unsigned)(s[0] - '0') * 10 + (unsigned)(s[1] - '0');
}

/* Days since year 0 in freexl's calendar, in which every fourth year is a leap year. */
static int64_t freexl_days(int64_t y, unsigned m, unsigned d)
{
    static const unsigned before[12] = {0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334};

    return 365 * y + (y + 3) / 4 + before[m - 1] + (m > 2 && y % 4 == 0) + d;
}

/*
 * freexl writes a date cell as the date its own calendar gives the serial, counting every
 * fourth year as a leap year: right from 1900-03-01 to 2100-02-28, but 1900-02-29 for
 * serial 60 and a day or more early from 2100-03-01 on (2100, 2200, 2300 are no leap
 * years; 9999-12-31 comes out as 9999-11-01). Its text t ("YYYY-MM-DD" or "YYYY-MM-DD
 * HH:MM:SS") is turned back into that serial and converted as xlsx.c converts serials;
 * freexl's "24:00:00" (a time rounded up) is the next day. Writes the date, or the
 * ISO 8601 date and time, into out (at least 32 bytes) and sets *kind; false when t is not
 * what freexl writes.
 */
static bool xls_date(const char *t, bool date1904, char *out, size_t size,
                     enum ingest_cell_kind *kind)
{
    size_t n = strlen(t);
    unsigned m, d, hh = 0, mi = 0, ss = 0;
    int64_t y, serial;

    if ((n != 10 && n != 19) || !digits(t, 4) || t[4] != '-' || !digits(t + 5, 2) || t[7] != '-' ||
        !digits(t + 8, 2))
        return false;
    if (n == 19 && (t[10] != ' ' || !digits(t + 11, 2) || t[13] != ':' || !digits(t + 14, 2) ||
                    t[16] != ':' || !digits(t + 17, 2)))
        return false;
    y = num2(t) * 100 + num2(t + 2);
    m = num2(t + 5);
    d = num2(t + 8);
    if (n == 19) {
        hh = num2(t + 11);
        mi = num2(t + 14);
        ss = num2(t + 17);
    }
    if (m < 1 || m > 12 || d < 1 || d > 31 || hh > 24 || mi > 59 || ss > 59)
        return false;
    serial = 1 + freexl_days(y, m, d) -
             (date1904 ? freexl_days(1904, 1, 2) : freexl_days(1900, 1, 1));
    if (hh == 24) {
        serial++;
        hh = 0;
    }
    if (!ingest_sheet_serial_date(date1904, serial, &y, &m, &d))
        return false;
    if (n == 10) {
        xsnprintf(out, size, "%04" PRId64 "-%02u-%02u", y, m, d);
        *kind = INGEST_CELL_DATE;
    } else {
        xsnprintf(out, size, "%04" PRId64 "-%02u-%02uT%02u:%02u:%02u", y, m, d, hh, mi, ss);
        *kind = INGEST_CELL_TIMESTAMP;
    }
    return true;
}

/*
 * The value of cell (row, col) (0-based, as freexl counts) as *kind and text in tmp
 * (at least 40 bytes) or in freexl's memory. Returns 0 or a negative error.
 */
static int xls_cell(struct xls *x, unsigned row, unsigned short col, enum ingest_cell_kind *kind,
                    const char **s, size_t *len, char *tmp, size_t size, struct err *err)
{
    FreeXL_CellValue v;
    int code = freexl_get_cell_value(x->h, row, col, &v);
    const char *t;

    *kind = INGEST_CELL_EMPTY;
    *s = "";
    *len = 0;
    if (code != FREEXL_OK) {
        if (x->pos) {
            x->pos->line = row + 1u;
            x->pos->column = col + 1u;
        }
        return err_set(err, ERR_VALIDATION, "file", "sheet \"%s\" row %u column %u: %s",
                       x->names[x->sheet], row + 1, col + 1u, xls_strerror(code));
    }
    switch (v.type) {
    case FREEXL_CELL_INT:
        xsnprintf(tmp, size, "%d", v.value.int_value);
        *kind = INGEST_CELL_NUMBER;
        *s = tmp;
        break;
    case FREEXL_CELL_DOUBLE:
        if (!isfinite(v.value.double_value))
            return 0;
        double_text(v.value.double_value, tmp, size);
        *kind = INGEST_CELL_NUMBER;
        *s = tmp;
        break;
    case FREEXL_CELL_TEXT:
    case FREEXL_CELL_SST_TEXT:
        if (!v.value.text_value)
            return 0;
        *kind = INGEST_CELL_TEXT;
        *s = v.value.text_value;
        break;
    case FREEXL_CELL_DATE:
    case FREEXL_CELL_DATETIME:
        /* freexl's date in the workbook's date system, checked (see xls_date) */
        t = v.value.text_value;
        if (!t)
            return 0;
        if (xls_date(t, x->date1904, tmp, size, kind)) {
            *s = tmp;
        } else {
            *kind = INGEST_CELL_TEXT;
            *s = t;
        }
        break;
    case FREEXL_CELL_TIME:
        /* "HH:MM:SS": a time of day has no date, so it stays text (as in xlsx.c) */
        if (!v.value.text_value)
            return 0;
        *kind = INGEST_CELL_TEXT;
        *s = v.value.text_value;
        break;
    default:
        return 0;
    }
    *len = strlen(*s);
    if (!*len) {
        *kind = INGEST_CELL_EMPTY;
        *s = "";
    }
    return 0;
}

/* Selects sheet x->sheet and finds its extent. */
static int xls_scan(struct xls *x, struct err *err)
{
    char tmp[40];
    int code;

    x->first_row = x->last_row = x->ncols = 0;
    code = freexl_select_active_worksheet(x->h, (unsigned short)x->sheet);
    if (code == FREEXL_OK)
        code = freexl_worksheet_dimensions(x->h, &x->rows, &x->cols);
    if (code != FREEXL_OK)
        return err_set(err, ERR_VALIDATION, "file", "sheet \"%s\": %s", x->names[x->sheet],
                       xls_strerror(code));
    for (unsigned r = 0; r < x->rows; r++)
        for (unsigned short c = 0; c < x->cols; c++) {
            enum ingest_cell_kind kind;
            const char *s;
            size_t len;
            int rc = xls_cell(x, r, c, &kind, &s, &len, tmp, sizeof(tmp), err);

            if (rc)
                return rc;
            if (kind == INGEST_CELL_EMPTY)
                continue;
            if (!x->first_row)
                x->first_row = r + 1;
            x->last_row = r + 1;
            if (c + 1u > x->ncols)
                x->ncols = c + 1u;
        }
    return 0;
}

static int xls_next(struct ingest_source *src, struct ingest_row *row, struct err *err)
{
    struct xls *x = src->impl;
    unsigned r;
    char tmp[40];

    x->pos = &src->pos;
    if (!x->next_line || x->next_line > x->last_row)
        return 0;
    r = x->next_line - 1;
    buf_reset(&x->rowtext);
    for (uint32_t c = 0; c < x->ncols; c++) {
        enum ingest_cell_kind kind;
        const char *s;
        size_t len;
        int rc = xls_cell(x, r, (unsigned short)c, &kind, &s, &len, tmp, sizeof(tmp), err);

        if (rc)
            return rc;
        x->out[c].kind = kind;
        x->out[c].len = len;
        x->off[c] = x->rowtext.len;
        buf_add(&x->rowtext, s, len);
        buf_addch(&x->rowtext, '\0');
    }
    if (buf_failed(&x->rowtext)) {
        x->pos->line = x->next_line;
        x->pos->column = 0;
        return err_set(err, ERR_TOO_LARGE, "file",
                       "sheet \"%s\" row %" PRIu32 ": more than %u MiB of text", x->names[x->sheet],
                       x->next_line, LIMIT_INGEST_RECORD >> 20);
    }
    for (uint32_t c = 0; c < x->ncols; c++)
        x->out[c].s = x->rowtext.buf + x->off[c];
    row->cells = x->out;
    row->n = x->ncols;
    row->line = x->next_line++;
    return 1;
}

static int xls_rewind(struct ingest_source *src, struct err *err)
{
    struct xls *x = src->impl;

    (void)err;
    x->next_line = x->first_row;
    return 0;
}

/* The whole file is read at open: no progress to tell. */
static uint64_t xls_offset(const struct ingest_source *src)
{
    (void)src;
    return 0;
}

static void xls_free(void *impl)
{
    struct xls *x = impl;

    if (!x)
        return;
    if (x->h)
        freexl_close(x->h);
    ingest_sheet_names_free(x->names, x->nsheets);
    free(x->out);
    free(x->off);
    buf_release(&x->rowtext);
    free(x);
}

static const struct ingest_source_ops xls_ops = {
        .next = xls_next,
        .rewind = xls_rewind,
        .offset = xls_offset,
        .free = xls_free,
};

int ingest_xls_open(struct ingest_source *src, const char *path, const struct ingest_options *o,
                    struct err *err)
{
    struct xls *x = xcalloc(1, sizeof(*x));
    struct stat st;
    int rc;

    src->impl = NULL;
    x->pos = &src->pos;
    buf_init(&x->rowtext, LIMIT_INGEST_RECORD);
    rc = xls_open_names(path, false, &x->h, &x->names, &x->nsheets, err);
    if (rc)
        goto out;
    {
        unsigned mode = 0;

        x->date1904 = freexl_get_info(x->h, FREEXL_BIFF_DATEMODE, &mode) == FREEXL_OK &&
                      mode == FREEXL_BIFF_DATEMODE_1904;
    }
    if (o && o->sheet) {
        rc = ingest_sheet_lookup(x->names, x->nsheets, o->sheet, &x->sheet, err);
        if (!rc)
            rc = xls_scan(x, err);
    } else {
        /* The first sheet holding a value; the first sheet when none does. */
        for (x->sheet = 0; x->sheet < x->nsheets; x->sheet++) {
            rc = xls_scan(x, err);
            if (rc || x->first_row)
                break;
        }
        if (!rc && x->sheet == x->nsheets) {
            x->sheet = 0;
            rc = xls_scan(x, err);
        }
    }
    if (rc)
        goto out;
    x->out = xcalloc(x->ncols ? x->ncols : 1, sizeof(*x->out));
    x->off = xcalloc(x->ncols ? x->ncols : 1, sizeof(*x->off));
    x->next_line = x->first_row;
    ingest_sheet_info(&src->info, INGEST_FORMAT_XLS, x->names, x->nsheets, x->sheet,
                      stat(path, &st) ? 0 : (uint64_t)st.st_size);
    src->ops = &xls_ops;
    src->impl = x;
    x = NULL;
out:
    xls_free(x);
    return rc;
}

int ingest_xls_sheet_names(const char *path, char ***names, struct err *err)
{
    const void *h = NULL;
    size_t n;
    int rc = xls_open_names(path, true, &h, names, &n, err);

    if (h)
        freexl_close(h);
    return rc;
}
