/*
 * source.c - struct ingest_source: choosing the format of a file and dispatching to its
 * reader (csv.c, json.c, xlsx.c, xls.c) through the operations it fills (ingest-int.h).
 *
 * The format comes from the caller, else from the extension of the name the publisher
 * gave the file, else from its content: a ZIP holding xl/workbook.xml is XLSX, an OLE2
 * compound file is XLS, text whose first character is '[' or '{' is JSON (NDJSON when
 * the first line is a whole object and another follows), anything else CSV.
 */
#include <fcntl.h>
#include <zip.h>

#include "core/limits.h"
#include "ingest/ingest-int.h"
#include "core/util.h"

static const struct {
    enum ingest_format format;
    const char *name;
} format_names[] = {
        {INGEST_FORMAT_AUTO, "auto"},     {INGEST_FORMAT_CSV, "csv"},
        {INGEST_FORMAT_TSV, "tsv"},       {INGEST_FORMAT_JSON, "json"},
        {INGEST_FORMAT_NDJSON, "ndjson"}, {INGEST_FORMAT_XLSX, "xlsx"},
        {INGEST_FORMAT_XLS, "xls"},
};

const char *ingest_format_name(enum ingest_format f)
{
    for (size_t i = 0; i < ARRAY_SIZE(format_names); i++)
        if (format_names[i].format == f)
            return format_names[i].name;
    return "auto";
}

bool ingest_format_parse(const char *name, enum ingest_format *out)
{
    /* Resource "format" fields as CKAN publishers write them, and media types. */
    static const struct {
        const char *name;
        enum ingest_format format;
    } aliases[] = {
            {"text/csv", INGEST_FORMAT_CSV},
            {"tab", INGEST_FORMAT_TSV},
            {"text/tab-separated-values", INGEST_FORMAT_TSV},
            {"application/json", INGEST_FORMAT_JSON},
            {"jsonl", INGEST_FORMAT_NDJSON},
            {"json lines", INGEST_FORMAT_NDJSON},
            {"jsonlines", INGEST_FORMAT_NDJSON},
            {"application/x-ndjson", INGEST_FORMAT_NDJSON},
            {"application/jsonl", INGEST_FORMAT_NDJSON},
            {"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
             INGEST_FORMAT_XLSX},
            {"application/vnd.ms-excel", INGEST_FORMAT_XLS},
    };

    if (!name)
        return false;
    if (*name == '.')
        name++;
    for (size_t i = 0; i < ARRAY_SIZE(format_names); i++)
        if (!strcasecmp(name, format_names[i].name)) {
            *out = format_names[i].format;
            return true;
        }
    for (size_t i = 0; i < ARRAY_SIZE(aliases); i++)
        if (!strcasecmp(name, aliases[i].name)) {
            *out = aliases[i].format;
            return true;
        }
    return false;
}

enum ingest_format ingest_format_from_name(const char *filename)
{
    static const struct {
        const char *ext;
        enum ingest_format format;
    } exts[] = {
            {".csv", INGEST_FORMAT_CSV},      {".txt", INGEST_FORMAT_CSV},
            {".tsv", INGEST_FORMAT_TSV},      {".tab", INGEST_FORMAT_TSV},
            {".json", INGEST_FORMAT_JSON},    {".ndjson", INGEST_FORMAT_NDJSON},
            {".jsonl", INGEST_FORMAT_NDJSON}, {".xlsx", INGEST_FORMAT_XLSX},
            {".xls", INGEST_FORMAT_XLS},
    };
    const char *dot, *slash;

    if (!filename)
        return INGEST_FORMAT_AUTO;
    dot = strrchr(filename, '.');
    slash = strrchr(filename, '/');
    if (!dot || (slash && slash > dot))
        return INGEST_FORMAT_AUTO;
    for (size_t i = 0; i < ARRAY_SIZE(exts); i++)
        if (!strcasecmp(dot, exts[i].ext))
            return exts[i].format;
    return INGEST_FORMAT_AUTO;
}

/* ---- Guessing from the content ---------------------------------------------------- */

/* Whether path is a ZIP archive holding xl/workbook.xml (names compared without case,
 * as OPC part names are). Reads the central directory only. */
static bool is_xlsx(const char *path)
{
    zip_t *z = zip_open(path, ZIP_RDONLY, NULL);
    bool yes;

    if (!z)
        return false;
    yes = zip_name_locate(z, "xl/workbook.xml", ZIP_FL_NOCASE) >= 0;
    zip_discard(z);
    return yes;
}

/* The first bytes of path into head (size bytes); their count, or -1. */
static ssize_t read_head(const char *path, unsigned char *head, size_t size)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    ssize_t n;

    if (fd < 0)
        return -1;
    do
        n = read(fd, head, size);
    while (n < 0 && errno == EINTR);
    close(fd);
    return n;
}

static bool is_ole2(const unsigned char *p, size_t n)
{
    static const unsigned char magic[8] = {0xd0, 0xcf, 0x11, 0xe0, 0xa1, 0xb1, 0x1a, 0xe1};

    return n >= sizeof(magic) && !memcmp(p, magic, sizeof(magic));
}

/* Text that starts with '{': NDJSON when the first object closes on the first line and
 * another value follows (on a later line), else JSON. Strings and escapes are tracked so
 * that braces inside them do not count; a first object longer than p says JSON. */
static enum ingest_format json_kind(const char *p, size_t n)
{
    size_t i = 0, depth = 0;
    bool str = false;

    for (; i < n; i++) {
        char c = p[i];

        if (str) {
            if (c == '\\')
                i++;
            else if (c == '"')
                str = false;
            else if (c == '\n')
                return INGEST_FORMAT_JSON;
            continue;
        }
        if (c == '"') {
            str = true;
        } else if (c == '{' || c == '[') {
            depth++;
        } else if (c == '}' || c == ']') {
            if (depth && !--depth)
                break;
        } else if (c == '\n' || c == '\r') {
            return INGEST_FORMAT_JSON; /* the first object spans lines */
        }
    }
    if (i >= n)
        return INGEST_FORMAT_JSON;
    for (i++; i < n && (p[i] == ' ' || p[i] == '\t' || p[i] == '\r'); i++)
        ;
    if (i >= n || p[i] != '\n')
        return INGEST_FORMAT_JSON;
    for (; i < n && (p[i] == ' ' || p[i] == '\t' || p[i] == '\r' || p[i] == '\n'); i++)
        ;
    return i < n ? INGEST_FORMAT_NDJSON : INGEST_FORMAT_JSON;
}

/* The format of path from its content (see the top of the file). */
static int guess_format(const char *path, const struct ingest_options *o,
                        enum ingest_format *format, struct err *err)
{
    unsigned char head[8];
    struct ingest_info info;
    struct ingest_text *t = NULL;
    struct ingest_pos pos = {0, 0};
    struct err sniff_err = ERR_INIT;
    char *text = NULL;
    size_t n = 0;
    ssize_t h = read_head(path, head, sizeof(head));
    int rc = 0;

    if (h < 0)
        return err_set(err, ERR_INTERNAL, "file", "cannot open the file: %s", strerror(errno));
    if (h >= 4 && !memcmp(head, "PK\x03\x04", 4) && is_xlsx(path)) {
        *format = INGEST_FORMAT_XLSX;
        return 0;
    }
    if (is_ole2(head, (size_t)h)) {
        *format = INGEST_FORMAT_XLS;
        return 0;
    }
    *format = INGEST_FORMAT_CSV;
    memset(&info, 0, sizeof(info));
    rc = ingest_text_open(&t, path, o->encoding, &info, err);
    if (rc)
        return rc;
    text = xmalloc(LIMIT_INGEST_SNIFF);
    while (n < LIMIT_INGEST_SNIFF) {
        long got = ingest_text_read(t, text + n, LIMIT_INGEST_SNIFF - n, &pos, &sniff_err);

        /* Bytes not valid in the encoding end the sniff: the reader says where. */
        if (got <= 0)
            break;
        n += (size_t)got;
    }
    {
        size_t i = 0;

        while (i < n && (text[i] == ' ' || text[i] == '\t' || text[i] == '\r' || text[i] == '\n'))
            i++;
        if (i < n && text[i] == '[')
            *format = INGEST_FORMAT_JSON;
        else if (i < n && text[i] == '{')
            *format = json_kind(text + i, n - i);
    }
    free(text);
    ingest_text_free(t);
    return rc;
}

/* ---- The source ------------------------------------------------------------------- */

int ingest_source_open(struct ingest_source **out, const char *path, const char *filename,
                       const struct ingest_options *o, struct err *err)
{
    static const struct ingest_options defaults = INGEST_OPTIONS_INIT;
    struct ingest_source *src = xcalloc(1, sizeof(*src));
    struct ingest_options opts;
    struct stat st;
    int rc;

    *out = NULL;
    opts = o ? *o : defaults;
    if (opts.format == INGEST_FORMAT_AUTO)
        opts.format = ingest_format_from_name(filename ? filename : path);
    if (stat(path, &st)) {
        rc = err_set(err, ERR_INTERNAL, "file", "cannot open the file: %s", strerror(errno));
        goto out;
    }
    if (!S_ISREG(st.st_mode)) {
        rc = err_set(err, ERR_VALIDATION, "file", "file is not a regular file");
        goto out;
    }
    if (opts.format == INGEST_FORMAT_AUTO) {
        rc = guess_format(path, &opts, &opts.format, err);
        if (rc)
            goto out;
    }
    switch (opts.format) {
    case INGEST_FORMAT_CSV:
    case INGEST_FORMAT_TSV:
        rc = ingest_csv_open(src, path, &opts, err);
        break;
    case INGEST_FORMAT_JSON:
    case INGEST_FORMAT_NDJSON:
        rc = ingest_json_open(src, path, &opts, err);
        break;
    case INGEST_FORMAT_XLSX:
        rc = ingest_xlsx_open(src, path, &opts, err);
        break;
    case INGEST_FORMAT_XLS:
        rc = ingest_xls_open(src, path, &opts, err);
        break;
    default:
        rc = err_set(err, ERR_VALIDATION, "format", "format %d is not one Kaifang reads",
                     (int)opts.format);
    }
    if (rc)
        goto out;
    if (!src->info.bytes)
        src->info.bytes = (uint64_t)st.st_size;
    memset(&src->pos, 0, sizeof(src->pos));
    *out = src;
    src = NULL;
out:
    ingest_source_free(src);
    return rc;
}

int ingest_source_next(struct ingest_source *src, struct ingest_row *row, struct err *err)
{
    memset(&src->pos, 0, sizeof(src->pos));
    return src->ops->next(src, row, err);
}

int ingest_source_rewind(struct ingest_source *src, struct err *err)
{
    memset(&src->pos, 0, sizeof(src->pos));
    return src->ops->rewind(src, err);
}

const struct ingest_info *ingest_source_info(const struct ingest_source *src)
{
    return &src->info;
}

void ingest_source_pos(const struct ingest_source *src, struct ingest_pos *pos)
{
    *pos = src->pos;
}

uint64_t ingest_source_offset(const struct ingest_source *src)
{
    return src->ops->offset ? src->ops->offset(src) : 0;
}

void ingest_source_free(struct ingest_source *src)
{
    if (!src)
        return;
    if (src->impl && src->ops && src->ops->free)
        src->ops->free(src->impl);
    free(src);
}

int ingest_sheet_names(const char *path, char ***names, struct err *err)
{
    unsigned char head[8];
    ssize_t n = read_head(path, head, sizeof(head));

    *names = NULL;
    if (n < 0)
        return err_set(err, ERR_INTERNAL, "file", "cannot open the file: %s", strerror(errno));
    if (n >= 4 && !memcmp(head, "PK\x03\x04", 4))
        return ingest_xlsx_sheet_names(path, names, err);
    if (is_ole2(head, (size_t)n))
        return ingest_xls_sheet_names(path, names, err);
    return err_set(err, ERR_VALIDATION, "file", "file is not a workbook (XLSX or XLS)");
}

void ingest_strv_free(char **v)
{
    if (!v)
        return;
    for (size_t i = 0; v[i]; i++)
        free(v[i]);
    free(v);
}
