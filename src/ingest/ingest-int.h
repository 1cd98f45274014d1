/*
 * ingest-int.h - what the format readers of src/ingest/ share: a source is a small
 * table of operations (as the store's backends), filled by each format's open function.
 * source.c dispatches by format and owns struct ingest_source.
 */
#ifndef KAIFANG_INGEST_INGEST_INT_H
#define KAIFANG_INGEST_INGEST_INT_H

#include "ingest/ingest.h"

struct ingest_source;

struct ingest_source_ops {
    /* Contracts of ingest_source_next/_rewind/_offset; free releases impl. */
    int (*next)(struct ingest_source *src, struct ingest_row *row, struct err *err);
    int (*rewind)(struct ingest_source *src, struct err *err);
    uint64_t (*offset)(const struct ingest_source *src);
    void (*free)(void *impl);
};

struct ingest_source {
    const struct ingest_source_ops *ops;
    void *impl;
    struct ingest_info info; /* filled by the format's open */
    struct ingest_pos pos;   /* set by the format on an error */
};

/* Each format's open: fills src->ops, src->impl and src->info (format, encoding, sheet
 * …) for path, or returns an error (ingest.h) leaving src->impl NULL. */
int ingest_csv_open(struct ingest_source *src, const char *path, const struct ingest_options *o,
                    struct err *err); /* CSV and TSV (o->format says which; AUTO sniffs) */
int ingest_json_open(struct ingest_source *src, const char *path, const struct ingest_options *o,
                     struct err *err); /* JSON and NDJSON */
int ingest_xlsx_open(struct ingest_source *src, const char *path, const struct ingest_options *o,
                     struct err *err);
int ingest_xls_open(struct ingest_source *src, const char *path, const struct ingest_options *o,
                    struct err *err);

/* Sheet names of a workbook (contract of ingest_sheet_names). */
int ingest_xlsx_sheet_names(const char *path, char ***names, struct err *err);
int ingest_xls_sheet_names(const char *path, char ***names, struct err *err);

/*
 * Text decoding shared by CSV and JSON (encoding.c): a reader of path that yields
 * UTF-8 bytes whatever the file's encoding. Detects the encoding (BOM, else uchardet on
 * the first LIMIT_INGEST_SNIFF bytes, then a check that the guess decodes; pure ASCII
 * is UTF-8) unless given, converts with iconv, skips a BOM.
 */
struct ingest_text;
int ingest_text_open(struct ingest_text **out, const char *path, const char *encoding,
                     struct ingest_info *info, struct err *err);
/* Up to size UTF-8 bytes into buf: the count, 0 at the end, or a negative error
 * ("encoding": bytes invalid in the encoding, with the line in pos). */
long ingest_text_read(struct ingest_text *t, char *buf, size_t size, struct ingest_pos *pos,
                      struct err *err);
int ingest_text_rewind(struct ingest_text *t, struct err *err);
uint64_t ingest_text_offset(const struct ingest_text *t); /* bytes of the file consumed */
void ingest_text_free(struct ingest_text *t);

#endif
