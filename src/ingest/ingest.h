/*
 * ingest.h - reading the files governments publish (CSV, TSV, JSON, NDJSON, XLSX, XLS)
 * as typed tables: the row readers ("sources"), header normalisation and type
 * inference over every row. No SQL and no HTTP here: the datastore module feeds what
 * this module yields into the store (docs/internals/ingest.md).
 *
 * Two layers:
 *   struct ingest_source  one format's raw rows: cells as UTF-8 text with a kind hint,
 *                         the header row included, each with its line (or sheet row)
 *                         number. Streaming: memory does not grow with the file (the
 *                         XLSX shared-string table is one exception: it is as large
 *                         as the workbook's distinct strings, bounded by
 *                         LIMIT_INGEST_SHARED_STRINGS bytes; an XLS workbook is the
 *                         other: freexl reads it whole at open).
 *   struct ingest_table   a source with its title rows skipped, its header normalised
 *                         and every column typed by a first pass over all rows; the
 *                         second pass (ingest_table_next) yields each row as typed
 *                         values (core/dstype.h) ready to store.
 *
 * Errors: -ERR_VALIDATION with a message naming the problem and, where one applies,
 * its place ("line 12: 5 fields, the header has 6"), and the place also in
 * ingest_source_pos()/ingest_table_pos() so callers can record it apart; -ERR_TOO_LARGE
 * when a limit of core/limits.h is passed (LIMIT_INGEST_*); -ERR_INTERNAL for I/O.
 * err->field is "file" for problems of the file as a whole, "encoding", "sheet",
 * "delimiter", "format" or "records_path" when that option is to blame.
 *
 * Thread-safety: a source or table is used by one thread at a time; different ones are
 * independent.
 */
#ifndef KAIFANG_INGEST_INGEST_H
#define KAIFANG_INGEST_INGEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/dstype.h"
#include "core/err.h"

enum ingest_format {
    INGEST_FORMAT_AUTO = 0, /* from the file name's extension, else from the content */
    INGEST_FORMAT_CSV,
    INGEST_FORMAT_TSV,
    INGEST_FORMAT_JSON,   /* an array of flat objects, or one key holding such an array */
    INGEST_FORMAT_NDJSON, /* one object per line (JSON Lines) */
    INGEST_FORMAT_XLSX,
    INGEST_FORMAT_XLS,
};

/* "csv", "tsv", "json", "ndjson", "xlsx", "xls" ("auto" for AUTO). Static storage. */
const char *ingest_format_name(enum ingest_format f);

/* Parses a format name as above or as a resource "format" field ("CSV", "XLSX",
 * "JSON Lines", "jsonl"), case-insensitive. false when not one Kaifang ingests. */
bool ingest_format_parse(const char *name, enum ingest_format *out);

/* Whether name is an encoding ingest can read (an iconv name to UTF-8, any case: "GB18030",
 * "windows-1252", "utf-16"), so that a request can be refused before a file is read. */
bool ingest_encoding_known(const char *name);

/* The format a file name's extension names (".csv", ".tsv", ".tab", ".txt" → CSV with
 * sniffing, ".json", ".ndjson", ".jsonl", ".xlsx", ".xls"); AUTO when none. */
enum ingest_format ingest_format_from_name(const char *filename);

struct ingest_options {
    enum ingest_format format; /* AUTO: guessed (see ingest_source_open) */
    const char *encoding;      /* iconv name ("GB18030", "windows-1252"); NULL: detect (text) */
    char delimiter;            /* ',', ';', '\t', '|'; 0: sniff (CSV) */
    const char *sheet;         /* spreadsheets: a sheet name, or its 1-based index as decimal
                                  text; NULL: the first sheet that has a non-empty cell */
    int skip_rows;             /* rows above the header to skip; -1: skip plain title rows */
    const char *records_path;  /* JSON: the top-level key holding the records; NULL: the
                                  top level when it is an array, else its only array */
    bool lenient;              /* ragged rows are padded with NULL or truncated, and
                                  counted, instead of being an error */
};

/* The defaults: AUTO, detect, sniff, first sheet, skip_rows -1, strict. */
#define INGEST_OPTIONS_INIT                                                                        \
    {                                                                                              \
        INGEST_FORMAT_AUTO, NULL, 0, NULL, -1, NULL, false                                         \
    }

enum ingest_cell_kind {
    INGEST_CELL_EMPTY = 0, /* no value: an empty spreadsheet cell, JSON null or absent key */
    INGEST_CELL_TEXT,      /* untyped text: every CSV field, JSON strings, sheet strings */
    INGEST_CELL_NUMBER,    /* a number cell (sheet, JSON) as the exact text stored in the
                              file ("110101199001011234", "4429.4"): never via a double */
    INGEST_CELL_BOOL,      /* "true" or "false" */
    INGEST_CELL_DATE,      /* a date cell already converted: "YYYY-MM-DD" */
    INGEST_CELL_TIMESTAMP, /* a date-time cell already converted: "YYYY-MM-DDTHH:MM:SS" */
    INGEST_CELL_JSON,      /* a nested JSON value as compact JSON text */
};

/* One cell: s is valid UTF-8, NUL-terminated at len, borrowed until the next call on
 * its source (for EMPTY: s is "" and len 0). */
struct ingest_cell {
    enum ingest_cell_kind kind;
    const char *s;
    size_t len;
};

/* One row: n cells (a ragged row has fewer or more than the header), borrowed until
 * the next call. line: CSV/TSV/NDJSON the 1-based line where the record starts in the
 * file; JSON the 1-based line of the record's opening brace; spreadsheets the 1-based
 * row number of the sheet. JSON and NDJSON yield a header row first, the union of the
 * records' keys in first-seen order, at the line of the first record. */
struct ingest_row {
    const struct ingest_cell *cells;
    size_t n;
    uint64_t line;
};

/* What a source found out about its file (filled at open). */
struct ingest_info {
    enum ingest_format format; /* never AUTO after open */
    char encoding[32];         /* text formats: the iconv name read from ("UTF-8",
                                  "GB18030", "BIG5", "WINDOWS-1252", "UTF-16LE" …);
                                  spreadsheets: "" */
    bool encoding_detected;    /* false when the caller gave it */
    bool bom;                  /* a byte-order mark was found and skipped */
    char delimiter;            /* CSV/TSV: the delimiter used */
    char sheet[128];           /* spreadsheets: the name of the sheet read */
    unsigned sheet_index;      /* spreadsheets: its 1-based index */
    unsigned nsheets;          /* spreadsheets: sheets in the workbook */
    uint64_t bytes;            /* size of the file */
};

/* Where the last error was found: 1-based line (row) and column (field), 0 when it
 * does not apply. */
struct ingest_pos {
    uint64_t line;
    uint64_t column;
};

struct ingest_source;

/*
 * Opens path for reading. filename (may be NULL) is the name the publisher gave the
 * file, whose extension guesses the format when o->format is AUTO; otherwise, or when
 * it names none, the content decides: a ZIP with xl/workbook.xml is XLSX, an OLE2
 * compound file is XLS, '[' or '{' first is JSON (or NDJSON when the first line is a
 * whole object and a second follows), anything else is CSV with the delimiter sniffed
 * from the first lines (',', ';', '\t', '|': the one that splits them into the same
 * number of fields, more than one). Text encodings are detected with uchardet unless
 * given (BOMs of UTF-8 and UTF-16 win), and converted to UTF-8 with iconv; a byte
 * sequence invalid in the encoding is an error naming its line. An empty file (or one
 * holding only a BOM and white space) is -ERR_VALIDATION "file is empty".
 * On success *out owns the source; free with ingest_source_free().
 */
int ingest_source_open(struct ingest_source **out, const char *path, const char *filename,
                       const struct ingest_options *o, struct err *err);

/* The next row: 1 and *row filled, 0 at the end, or a negative error (see above). */
int ingest_source_next(struct ingest_source *src, struct ingest_row *row, struct err *err);

/* Starts again at the first row (for the second pass). */
int ingest_source_rewind(struct ingest_source *src, struct err *err);

const struct ingest_info *ingest_source_info(const struct ingest_source *src);
void ingest_source_pos(const struct ingest_source *src, struct ingest_pos *pos);

/* Bytes of the file read so far (for progress), and 0 for formats that cannot tell. */
uint64_t ingest_source_offset(const struct ingest_source *src);

void ingest_source_free(struct ingest_source *src);

/* The names of a workbook's sheets in order (XLSX, XLS), as a new NULL-terminated array
 * of new strings in *names (free with ingest_strv_free()). -ERR_VALIDATION when path is
 * not a workbook. */
int ingest_sheet_names(const char *path, char ***names, struct err *err);
void ingest_strv_free(char **v);

/* ---- Tables: header, types, typed rows ------------------------------------------- */

/* A column of the table: the data dictionary entry (Frictionless Table Schema "name",
 * "title", "type"). */
struct ingest_field {
    char *id;    /* the field name: the header text trimmed, control characters and '"'
                    replaced by '_', leading '_' removed, at most LIMIT_INGEST_FIELD_ID
                    bytes (cut at a character boundary); empty → "column_N" (N its
                    1-based position); a repeat → "name_2", "name_3" … */
    char *label; /* the header text as it was (before trimming), "" when none */
    enum dstype type;
    uint64_t nonnull; /* values that are not NULL (after the first pass) */
};

struct ingest_table {
    struct ingest_source *src; /* owned */
    struct ingest_field *fields;
    size_t nfields;
    uint64_t rows;        /* data rows (after the first pass) */
    uint64_t header_line; /* the line (row) of the header */
    unsigned skipped;     /* rows skipped above the header */
    uint64_t ragged;      /* lenient: rows padded or truncated */
    uint64_t first_ragged_line;
};

/*
 * Opens a file as a table: ingest_source_open(), then skips o->skip_rows rows (or, with
 * -1, leading rows that are plainly a title: a row is one when a row with a value
 * follows it among the first LIMIT_INGEST_TITLE_ROWS + 2 and, a and b being their
 * non-empty cells, a is 0 (a blank row), or a is 1 and b at least 2, or 2a < b; at most
 * LIMIT_INGEST_TITLE_ROWS, counted from the top), takes the next row as the header
 * (at most LIMIT_DATASTORE_FIELDS cells, else -ERR_TOO_LARGE), and reads every
 * remaining row once to check its width (ragged: -ERR_VALIDATION "line L: N fields, the
 * header has M", field "file", unless lenient) and to infer each column's type
 * (ingest_infer_type_field). Blank rows (every cell empty) at the end are ignored;
 * elsewhere they are rows of NULLs, and never ragged. A file with a header and no rows
 * is a table of 0 rows; a file (or sheet) with no rows at all is -ERR_VALIDATION "file
 * is empty" (or "sheet \"S\" is empty", field "sheet"); skip_rows past the end is
 * -ERR_VALIDATION, field "skip_rows". Afterwards the table is positioned at the first
 * data row. On failure *out is NULL. Free with ingest_table_free().
 */
int ingest_table_open(struct ingest_table **out, const char *path, const char *filename,
                      const struct ingest_options *o, struct err *err);

/* ingest_table_open() that also says where an error found while opening lies (a ragged
 * row, bytes invalid in the encoding, a cell a reader refused), since no table is left
 * to ask: *pos gets its line and column, zeros when it has none. pos may be NULL. */
int ingest_table_open_pos(struct ingest_table **out, const char *path, const char *filename,
                          const struct ingest_options *o, struct ingest_pos *pos, struct err *err);

/*
 * Sets field i's type, overriding the inferred one (the publisher re-typing the data
 * dictionary). Does not read the file: a value that does not fit the new type fails the
 * second pass with its line and column.
 */
void ingest_table_set_type(struct ingest_table *t, size_t i, enum dstype type);

/*
 * The next data row as t->nfields typed values (ingest_value_convert() of each cell for
 * its field's type; ragged rows padded or truncated), borrowed until the next call, and
 * its line in *line. 1 with a row, 0 at the end, or a negative error: -ERR_VALIDATION
 * "line L, column C ("field"): "value" is not a valid <type>" (err->field the field's
 * id) when a value does not fit an overridden type; line may be NULL.
 */
int ingest_table_next(struct ingest_table *t, const struct dsvalue **values, uint64_t *line,
                      struct err *err);

/* Goes back to the first data row. */
int ingest_table_rewind(struct ingest_table *t, struct err *err);
/* Where the last error of ingest_table_next/_rewind was found (line, and the 1-based
 * column for a value that does not fit). */
void ingest_table_pos(const struct ingest_table *t, struct ingest_pos *pos);
void ingest_table_free(struct ingest_table *t);

/* ---- Type inference (over all rows, not a sample) ---------------------------------- *
 * A column's type is the most specific of int8 < numeric, bool, date < timestamp that
 * every non-missing value of the column fits, else text:
 *   int8      -?(0|[1-9][0-9]*) within int64 (a leading zero, as in postcodes, region
 *             codes and ID numbers, makes the column text; beyond int64 → numeric;
 *             "+5" and "-0" are numeric)
 *   numeric   [+-]? digits with an optional fraction, or a fraction alone (".097"),
 *             optional exponent [eE][+-]?digits; at least one digit after a '.' ("5."
 *             is text); no leading zero before other digits ("007.5" is text); no
 *             thousands separators (they stay text: the value must not change); within
 *             PostgreSQL's numeric (131072 integer digits, 16383 fraction digits,
 *             exponent within ±1000)
 *   bool      true/false in any case
 *   date      YYYY-MM-DD, YYYY/M/D, YYYY年M月D日 (month and day of one or two digits in
 *             the last two), year 0001–9999, a real calendar date (Gregorian leap years)
 *   timestamp a date, 'T' or ' ', HH:MM[:SS[.fraction]] (00–23, 00–59, 00–59, 1–9
 *             fraction digits), optional Z or ±HH:MM; a column of dates and timestamps
 *             is timestamp
 *   json      only JSON cells (nested values of JSON input), every non-missing one
 * No white space is trimmed from values (" 1" is text). Missing-value tokens ("", NA,
 * N/A, n/a, null, NULL, "-", "—" U+2014) do not count against a type and are NULL in
 * columns of every type but text; a text column keeps them as they are (except "",
 * which is NULL everywhere), since "NA" is Namibia and "None" a category. A column with
 * only missing values is text. Cell kinds from typed formats agree with the same rules
 * on their text (a NUMBER cell "1.0" is numeric; DATE, TIMESTAMP and BOOL cells count
 * for their type). Cost: one pass over each value's bytes, no allocation. */
struct ingest_infer {
    uint32_t candidates; /* bit (1u << dstype) for each type still possible */
    uint32_t width;      /* int8 values from TEXT cells: their common length in bytes (0
                            none yet, UINT32_MAX when they differ, are negative, or a
                            NUMBER cell came); see ingest_infer_type_field() */
    uint64_t values;     /* non-missing values seen */
    uint64_t missing;    /* missing-value tokens seen */
    uint64_t empty;      /* of which "" (EMPTY cells and empty text): NULL in every type */
};

void ingest_infer_init(struct ingest_infer *inf);
void ingest_infer_cell(struct ingest_infer *inf, const struct ingest_cell *cell);
enum dstype ingest_infer_type(const struct ingest_infer *inf);

/*
 * ingest_infer_type() knowing the field's id: a column that would be int8 is text when
 * its values are identifiers rather than quantities, that is when every value is text
 * (not a NUMBER cell) of the same width of at least 2 digits, none negative, and the id
 * names a code: its last word (ASCII, case-insensitive) is code, id, fips, zip, zipcode
 * or postcode ("code", "city_code", "County ID", "countyId"), or it ends in 代码, 编码,
 * 编号, 号码 or 邮编. GB2260 region codes (counties.csv "code": 110101) and FIPS codes
 * are such columns; a row number "id" (1, 2 … 10) is not, nor codes a JSON file or a
 * workbook stores as numbers. ingest_table_open() types its fields with this.
 */
enum dstype ingest_infer_type_field(const struct ingest_infer *inf, const char *id);

/* Whether cell is a missing-value token (see above). */
bool ingest_is_missing(const struct ingest_cell *cell);

/*
 * Converts a cell to a value of type t: out->kind NULL for missing values (for text:
 * only ""), INT for int8, TEXT with the canonical text (core/dstype.h) for the others;
 * out->s points into cell->s or into scratch (at least INGEST_SCRATCH bytes), so it
 * lives as long as both. Returns 0, or -ERR_VALIDATION "\"value\" is not a valid
 * <type>" (err->field left for the caller to set).
 */
#define INGEST_SCRATCH 64
int ingest_value_convert(enum dstype t, const struct ingest_cell *cell, struct dsvalue *out,
                         char *scratch, struct err *err);

/* Normalises header names as ingest_field.id describes: ids[i] (new strings, free()
 * each) for the n raw names (labels[i] may be NULL for none). */
void ingest_header_ids(const char *const *labels, size_t n, char **ids);

/* ---- Text read as lines, and archives (for the privacy gate) ------------------------ */

/*
 * A text file read line by line, decoded to UTF-8 as CSV is (ingest_text: BOM, else
 * uchardet, then iconv). Lines end at LF, CRLF or CR; a line longer than
 * LIMIT_INGEST_RECORD bytes is cut into pieces of at most that many (at a character
 * boundary). For reading prose that is not a table (privacy gate: identifiers embedded in
 * a .txt file).
 */
struct ingest_lines;

/* Opens path; *out owns the reader (ingest_lines_free()). Errors as ingest_source_open()
 * (an empty file is not one here: it has no lines). */
int ingest_lines_open(struct ingest_lines **out, const char *path, struct err *err);

/* The next line: 1 with *s (UTF-8, NUL-terminated at *len, no line end, borrowed until
 * the next call) and *line (1-based), 0 at the end, or a negative error: -ERR_VALIDATION
 * naming the line for bytes invalid in the encoding. */
int ingest_lines_next(struct ingest_lines *l, const char **s, size_t *len, uint64_t *line,
                      struct err *err);

/* The encoding read from (iconv name). */
const char *ingest_lines_encoding(const struct ingest_lines *l);

void ingest_lines_free(struct ingest_lines *l);

/* Whether filename names an archive or a compressed file by its extension: .zip, .tar
 * and .tar.gz/.tgz/…, .gz, .bz2, .xz, .zst, .lz4, .7z, .rar, .cpio, .iso, .cab, .lzh,
 * .ar, .jar (case-insensitive). */
bool ingest_archive_named(const char *filename);

/* Whether the file at path starts as an archive or a compressed file does (zip, gzip,
 * bzip2, xz, zstd, lz4, 7-Zip, RAR, POSIX tar, ar, cabinet, cpio). False when it cannot
 * be read. An XLSX or DOCX file is a zip too. */
bool ingest_archive_sniff(const char *path);

/* What ingest_archive_walk() asks of its caller. */
struct ingest_archive_walk {
    const char *tmp_dir; /* where members are copied out (mode 0600 files, removed after) */
    /* Whether the member named name (its path in the archive, UTF-8 where the archive
     * says) is wanted; the others are skipped unread. */
    bool (*want)(void *arg, const char *name);
    /* Called with a wanted member copied to the file at path (removed when it returns);
     * a non-zero return stops the walk and is returned. */
    int (*member)(void *arg, const char *name, const char *path, struct err *err);
    void *arg;
};

/*
 * Walks the archive or compressed file at path (named filename, for messages and for
 * the member name of a lone compressed file: "x.csv.gz" holds "x.csv") with libarchive:
 * every format and compression it reads (zip, tar, 7-Zip, RAR, cpio, ISO 9660, cabinet,
 * LHA, ar; gzip, bzip2, xz, zstd, lz4 …), in order, regular members only. *budget is the
 * bytes that may still be copied out, lowered by each copy (shared by nested walks).
 * Returns 0, the member callback's error, or -ERR_VALIDATION (field "file") for a file
 * that is not an archive or cannot be read, an encrypted wanted member; -ERR_TOO_LARGE
 * past *budget or LIMIT_ARCHIVE_MEMBERS members; -ERR_INTERNAL when a temporary file
 * cannot be written.
 */
int ingest_archive_walk(const char *path, const char *filename, const struct ingest_archive_walk *w,
                        uint64_t *budget, struct err *err);

#endif
