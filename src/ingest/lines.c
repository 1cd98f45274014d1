/*
 * lines.c - a text file as lines of UTF-8 (ingest.h, ingest_lines_*): the decoding of
 * encoding.c without the CSV rules, for the privacy gate's scan of prose.
 */
#include "core/buf.h"
#include "core/limits.h"
#include "core/util.h"
#include "ingest/ingest-int.h"

#define LINES_CHUNK (64u * 1024)

struct ingest_lines {
    struct ingest_text *text;
    struct ingest_info info;
    char *chunk; /* decoded bytes not yet returned: chunk[off, len) */
    size_t off, len;
    struct buf line; /* the line being returned (a piece of at most LIMIT_INGEST_RECORD) */
    uint64_t lineno; /* of the line returned last */
    bool eof;
    bool after_cr; /* the last line ended at a CR: a LF first in the next chunk is its */
};

int ingest_lines_open(struct ingest_lines **out, const char *path, struct err *err)
{
    struct ingest_lines *l = xcalloc(1, sizeof(*l));
    int rc;

    *out = NULL;
    rc = ingest_text_open(&l->text, path, NULL, &l->info, err);
    if (rc) {
        free(l);
        return rc;
    }
    l->chunk = xmalloc(LINES_CHUNK);
    buf_init(&l->line, 0);
    *out = l;
    return 0;
}

/* Refills the chunk: 1 when bytes came, 0 at the end, or an error. */
static int refill(struct ingest_lines *l, struct err *err)
{
    struct ingest_pos pos = {0, 0};
    long n;

    if (l->eof)
        return 0;
    n = ingest_text_read(l->text, l->chunk, LINES_CHUNK, &pos, err);
    if (n < 0)
        return (int)n;
    if (n == 0) {
        l->eof = true;
        return 0;
    }
    l->off = 0;
    l->len = (size_t)n;
    return 1;
}

int ingest_lines_next(struct ingest_lines *l, const char **s, size_t *len, uint64_t *line,
                      struct err *err)
{
    bool got = false;
    int rc;

    buf_reset(&l->line);
    for (;;) {
        const char *p;
        size_t avail, k = 0, take;

        if (l->off == l->len) {
            rc = refill(l, err);
            if (rc < 0)
                return rc;
            if (rc == 0)
                break;
        }
        if (l->after_cr) {
            l->after_cr = false;
            if (l->chunk[l->off] == '\n') {
                l->off++;
                continue;
            }
        }
        got = true;
        p = l->chunk + l->off;
        avail = l->len - l->off;
        while (k < avail && p[k] != '\n' && p[k] != '\r')
            k++;
        take = k;
        if (take > LIMIT_INGEST_RECORD - l->line.len) {
            /* A piece of a long line ends at the limit, before a character starts. */
            take = LIMIT_INGEST_RECORD - l->line.len;
            while (take > 0 && ((unsigned char)p[take] & 0xc0) == 0x80)
                take--;
            buf_add(&l->line, p, take);
            l->off += take;
            break;
        }
        buf_add(&l->line, p, take);
        l->off += take;
        if (k < avail) {
            l->after_cr = p[k] == '\r';
            l->off++;
            break;
        }
    }
    if (!got)
        return 0;
    buf_addch(&l->line, '\0');
    l->line.len--;
    *s = l->line.buf;
    *len = l->line.len;
    *line = ++l->lineno;
    return 1;
}

const char *ingest_lines_encoding(const struct ingest_lines *l)
{
    return l->info.encoding;
}

void ingest_lines_free(struct ingest_lines *l)
{
    if (!l)
        return;
    ingest_text_free(l->text);
    free(l->chunk);
    buf_release(&l->line);
    free(l);
}
