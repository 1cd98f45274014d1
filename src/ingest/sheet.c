/*
 * sheet.c - choosing a workbook's sheet by name or index (sheet-int.h).
 */
#include "core/buf.h"
#include "core/parse.h"
#include "ingest/sheet-int.h"
#include "core/util.h"

int ingest_sheet_lookup(char *const *names, size_t n, const char *want, size_t *index,
                        struct err *err)
{
    struct buf list = BUF_INIT;
    uint64_t i;
    int rc;

    for (i = 0; i < n; i++)
        if (str_eq(names[i], want)) {
            *index = i;
            return 0;
        }
    if (!parse_u64(want, n, &i) && i >= 1) {
        *index = i - 1;
        return 0;
    }
    buf_init(&list, ERR_MSG_MAX);
    for (i = 0; i < n && !buf_failed(&list); i++)
        buf_addf(&list, "%s\"%s\"", i ? ", " : "", names[i]);
    if (!n)
        rc = err_set(err, ERR_VALIDATION, "sheet",
                     "sheet \"%s\" not found: the workbook has no sheets", want);
    else
        rc = err_set(err, ERR_VALIDATION, "sheet",
                     "sheet \"%s\" not found: the workbook has %zu sheet%s: %s%s", want, n,
                     n == 1 ? "" : "s", list.buf, buf_failed(&list) ? " …" : "");
    buf_release(&list);
    return rc;
}

void ingest_sheet_info(struct ingest_info *info, enum ingest_format format, char *const *names,
                       size_t n, size_t index, uint64_t bytes)
{
    const char *name = index < n ? names[index] : "";
    size_t len = strlen(name);

    info->format = format;
    info->encoding[0] = '\0';
    info->encoding_detected = false;
    info->bom = false;
    info->delimiter = 0;
    if (len >= sizeof(info->sheet)) {
        len = sizeof(info->sheet) - 1;
        /* Do not cut a UTF-8 sequence: back up over continuation bytes. */
        while (len && ((unsigned char)name[len] & 0xc0) == 0x80)
            len--;
    }
    memcpy(info->sheet, name, len);
    info->sheet[len] = '\0';
    info->sheet_index = (unsigned)index + 1;
    info->nsheets = (unsigned)n;
    info->bytes = bytes;
}

void ingest_sheet_names_free(char **v, size_t n)
{
    if (!v)
        return;
    for (size_t i = 0; i < n; i++)
        free(v[i]);
    free(v);
}

bool ingest_sheet_is_ole2(const char *path)
{
    static const unsigned char magic[8] = {0xd0, 0xcf, 0x11, 0xe0, 0xa1, 0xb1, 0x1a, 0xe1};
    unsigned char head[8];
    FILE *f = fopen(path, "rb");
    bool yes;

    if (!f)
        return false;
    yes = fread(head, 1, sizeof(head), f) == sizeof(head) && !memcmp(head, magic, sizeof(magic));
    fclose(f);
    return yes;
}

/* Days from 1970-01-01 to y-m-d in the proleptic Gregorian calendar, counting whole
 * 400-year cycles of 146097 days from a year that starts in March. */
static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
    int64_t cycle, yoc, doy, doc;

    y -= m <= 2;
    cycle = (y >= 0 ? y : y - 399) / 400;
    yoc = y - cycle * 400;
    doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    doc = yoc * 365 + yoc / 4 - yoc / 100 + doy;
    return cycle * 146097 + doc - 719468;
}

/* The inverse of days_from_civil(). */
static void civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d)
{
    int64_t cycle, doc, yoc, doy, mp;

    z += 719468;
    cycle = (z >= 0 ? z : z - 146096) / 146097;
    doc = z - cycle * 146097;
    yoc = (doc - doc / 1460 + doc / 36524 - doc / 146096) / 365;
    doy = doc - (365 * yoc + yoc / 4 - yoc / 100);
    mp = (5 * doy + 2) / 153;
    *d = (unsigned)(doy - (153 * mp + 2) / 5 + 1);
    *m = (unsigned)(mp < 10 ? mp + 3 : mp - 9);
    *y = yoc + cycle * 400 + (*m <= 2);
}

bool ingest_sheet_serial_date(bool date1904, int64_t days, int64_t *y, unsigned *m, unsigned *d)
{
    int64_t z;

    if (days < 0)
        return false;
    if (date1904)
        z = days_from_civil(1904, 1, 1) + days;
    else if (days < 60)
        z = days_from_civil(1899, 12, 31) + days;
    else if (days == 60)
        z = days_from_civil(1900, 2, 28);
    else
        z = days_from_civil(1899, 12, 30) + days;
    civil_from_days(z, y, m, d);
    return *y <= 9999;
}
