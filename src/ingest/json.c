/*
 * json.c - JSON (RFC 8259) and NDJSON (JSON Lines) files read as rows.
 *
 * JSON: a top-level array of objects, or an object one of whose keys (records_path, or
 * its only array-valued key) holds that array, as Debian's iso-codes files do
 * ({"3166-1": [ … ]}). NDJSON: one object per line, blank lines skipped (a record may
 * span lines; another value may not follow it on its line).
 *
 * Memory stays constant: a streaming tokenizer over the UTF-8 text (encoding.c) checks
 * the whole grammar and copies only the current record's values out. At open a first
 * pass walks the whole file, collects the union of the records' keys in first-seen order
 * (the header: memory for the keys only) and finds where the records are; every pass
 * after it yields the header row, then each record as a row aligned to the keys.
 *
 * Values: strings are TEXT (unescaped), numbers NUMBER with their exact text from the
 * file (never through a double), true/false BOOL, null and absent keys EMPTY, nested
 * objects and arrays JSON: their text with the white space outside strings taken out
 * (jansson would print numbers through a double, "1.10" as "1.1", so the bytes are kept).
 * A key that appears twice in one record keeps its last value.
 */
#include "core/buf.h"
#include "core/limits.h"
#include "ingest/ingest-int.h"
#include "core/util.h"

#define JSON_BUF (256u * 1024) /* text read at a time */
#define JEOF     256           /* jpeek() at the end of the text (or after a read error) */

enum json_stage {
    STAGE_HEADER = 0, /* the header row comes next */
    STAGE_FIRST,      /* at the first record (or the end of an empty array) */
    STAGE_MORE,       /* after a record */
    STAGE_DONE,
};

struct json {
    struct ingest_text *text;
    struct ingest_pos *pos; /* the source's */
    struct err *err;        /* of the current call */
    int rc;                 /* a read error, sticky until rewind, and its error and place */
    struct err rc_err;
    struct ingest_pos rc_pos;
    bool fatal;   /* the first pass failed in a way no later pass can get past */
    int deferred; /* an error of the first pass that the rows come before */
    struct err deferred_err;
    struct ingest_pos deferred_pos;
    bool ndjson;
    const char *records_path; /* borrowed from the options during open only */

    char *buf; /* JSON_BUF bytes of text */
    size_t len, r;
    bool eof;
    uint64_t line, col; /* of buf[r], 1-based; col counts characters */
    bool cr;            /* the last byte was a CR (a LF after it ends no other line) */

    /* Where the records are (JSON): the array at the top, or the value of the
     * member-th member (0-based) of the top-level object. */
    bool top_object;
    size_t member;
    uint64_t first_line; /* the first record's line: the header row's */

    /* The keys, in first-seen order: text in keys (each NUL-terminated) at key_off. */
    struct buf keys;
    size_t *key_off;
    size_t nkeys, keys_alloc;
    uint32_t *table; /* open addressing: key index + 1, 0 for none */
    size_t table_size;

    enum json_stage stage;
    uint64_t record; /* records read in this pass */
    struct buf key;  /* the key being read */
    struct buf out;  /* the values of the current record, each NUL-terminated */
    enum ingest_cell_kind *kind;
    size_t *off, *vlen;
    struct ingest_cell *cells;
};

/* ---- Reading bytes ---------------------------------------------------------------- */

static int jpeek_slow(struct json *j)
{
    long got;

    if (j->eof || j->rc)
        return JEOF;
    got = ingest_text_read(j->text, j->buf, JSON_BUF, &j->rc_pos, &j->rc_err);
    if (got < 0) {
        j->rc = (int)got;
        return JEOF;
    }
    j->r = 0;
    j->len = (size_t)got;
    if (!got) {
        j->eof = true;
        return JEOF;
    }
    return (unsigned char)j->buf[0];
}

/* The read error that made jpeek() return JEOF, reported by the call that meets it
 * (which need not be the call that read: the end of a record can look ahead past it). */
static int jfail(struct json *j)
{
    *j->pos = j->rc_pos;
    return err_set(j->err, j->rc_err.kind, j->rc_err.field, "%s", j->rc_err.msg);
}

/* The next byte (0..255) without consuming it, or JEOF. */
static inline int jpeek(struct json *j)
{
    if (j->r < j->len)
        return (unsigned char)j->buf[j->r];
    return jpeek_slow(j);
}

/* Consumes the byte jpeek() returned, counting lines (LF, CRLF, CR) and characters. */
static inline void jadv(struct json *j)
{
    unsigned char ch = (unsigned char)j->buf[j->r++];

    if (ch == '\n') {
        j->line += !j->cr;
        j->col = 1;
        j->cr = false;
    } else if (ch == '\r') {
        j->line++;
        j->col = 1;
        j->cr = true;
    } else {
        j->cr = false;
        j->col += (ch & 0xc0) != 0x80;
    }
}

/* Skips JSON white space (RFC 8259 §2); the byte after it, or JEOF. */
static int skip_ws(struct json *j)
{
    for (;;) {
        int ch = jpeek(j);

        if (ch != ' ' && ch != '\t' && ch != '\n' && ch != '\r')
            return ch;
        jadv(j);
    }
}

/* ---- Errors ----------------------------------------------------------------------- */

/* How an unexpected byte is named in a message. */
static void describe(int ch, char *s, size_t size)
{
    if (ch == JEOF)
        xsnprintf(s, size, "the end of the file");
    else if (ch > 0x20 && ch < 0x7f)
        xsnprintf(s, size, "'%c'", ch);
    else if (ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r')
        xsnprintf(s, size, "white space");
    else if (ch < 0x20 || ch == 0x7f)
        xsnprintf(s, size, "the control character 0x%02x", (unsigned)ch);
    else
        xsnprintf(s, size, "a non-ASCII character");
}

/* An error at the current place: "line L, column C: <message> in the JSON" (a read
 * error that stopped the text wins). */
static int jerr_v(struct json *j, enum err_kind kind, const char *fmt, va_list ap)
{
    char msg[256];

    if (j->rc)
        return jfail(j);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    j->pos->line = j->line;
    j->pos->column = j->col;
    return err_set(j->err, kind, "file", "line %" PRIu64 ", column %" PRIu64 ": %s", j->line,
                   j->col, msg);
}

__attribute__((format(printf, 2, 3))) static int jerr(struct json *j, const char *fmt, ...)
{
    va_list ap;
    int rc;

    va_start(ap, fmt);
    rc = jerr_v(j, ERR_VALIDATION, fmt, ap);
    va_end(ap);
    return rc;
}

/* A limit passed: -ERR_TOO_LARGE. */
__attribute__((format(printf, 2, 3))) static int jerr_big(struct json *j, const char *fmt, ...)
{
    va_list ap;
    int rc;

    va_start(ap, fmt);
    rc = jerr_v(j, ERR_TOO_LARGE, fmt, ap);
    va_end(ap);
    return rc;
}

/* "expected X, found Y" at the current byte. */
static int expected(struct json *j, const char *what, int ch)
{
    char found[48];

    describe(ch, found, sizeof(found));
    return jerr(j, "expected %s, found %s", what, found);
}

/* Bytes into out, when there is an out (the first pass only checks). */
static inline void emit(struct buf *out, const char *p, size_t n)
{
    if (out)
        buf_add(out, p, n);
}

static inline void emitc(struct buf *out, int ch)
{
    if (out)
        buf_addch(out, ch);
}

/* ---- Tokens ----------------------------------------------------------------------- */

static int hex4(struct json *j, unsigned *v)
{
    *v = 0;
    for (int i = 0; i < 4; i++) {
        int ch = jpeek(j);
        unsigned d;

        if (ch >= '0' && ch <= '9')
            d = (unsigned)(ch - '0');
        else if (ch >= 'a' && ch <= 'f')
            d = (unsigned)(ch - 'a' + 10);
        else if (ch >= 'A' && ch <= 'F')
            d = (unsigned)(ch - 'A' + 10);
        else
            return expected(j, "a hexadecimal digit of a \\u escape", ch);
        *v = *v << 4 | d;
        jadv(j);
    }
    return 0;
}

static void put_utf8(struct buf *out, unsigned cp)
{
    char u[4];
    size_t n;

    if (cp < 0x80) {
        u[0] = (char)cp;
        n = 1;
    } else if (cp < 0x800) {
        u[0] = (char)(0xc0 | cp >> 6);
        u[1] = (char)(0x80 | (cp & 0x3f));
        n = 2;
    } else if (cp < 0x10000) {
        u[0] = (char)(0xe0 | cp >> 12);
        u[1] = (char)(0x80 | (cp >> 6 & 0x3f));
        u[2] = (char)(0x80 | (cp & 0x3f));
        n = 3;
    } else {
        u[0] = (char)(0xf0 | cp >> 18);
        u[1] = (char)(0x80 | (cp >> 12 & 0x3f));
        u[2] = (char)(0x80 | (cp >> 6 & 0x3f));
        u[3] = (char)(0x80 | (cp & 0x3f));
        n = 4;
    }
    emit(out, u, n);
}

/* A \u escape after its backslash (at the 'u'): a surrogate pair must be complete
 * (RFC 8259 §7). unescape: the character into out (U+0000 refused: no cell can hold
 * it); else the escape as written. */
static int read_u_escape(struct json *j, struct buf *out, bool unescape)
{
    unsigned cp, lo;
    int rc;

    jadv(j); /* 'u' */
    rc = hex4(j, &cp);
    if (rc)
        return rc;
    if (cp >= 0xdc00 && cp <= 0xdfff)
        return jerr(j, "a \\u escape holds a low surrogate without a high one");
    if (cp >= 0xd800 && cp <= 0xdbff) {
        if (jpeek(j) != '\\')
            return jerr(j, "a \\u escape holds a high surrogate without a low one");
        jadv(j);
        if (jpeek(j) != 'u')
            return jerr(j, "a \\u escape holds a high surrogate without a low one");
        jadv(j);
        rc = hex4(j, &lo);
        if (rc)
            return rc;
        if (lo < 0xdc00 || lo > 0xdfff)
            return jerr(j, "a \\u escape holds a high surrogate without a low one");
        if (!unescape) {
            char t[16];

            xsnprintf(t, sizeof(t), "\\u%04x\\u%04x", cp, lo);
            emit(out, t, 12);
            return 0;
        }
        cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
    } else if (!unescape) {
        char t[8];

        xsnprintf(t, sizeof(t), "\\u%04x", cp);
        emit(out, t, 6);
        return 0;
    }
    if (!cp)
        return jerr(j, "a string holds \\u0000 (NUL), which no cell can hold");
    put_utf8(out, cp);
    return 0;
}

/* At '"': a string. unescape: its value into out; else its JSON text (quotes and
 * escapes as written). out may be NULL: the string is only checked. */
static int read_string(struct json *j, struct buf *out, bool unescape)
{
    jadv(j);
    if (!unescape)
        emitc(out, '"');
    for (;;) {
        size_t s = j->r, e = s;
        int ch;

        /* A run of plain characters: no line ends in it, so only columns move. */
        while (e < j->len) {
            unsigned char c = (unsigned char)j->buf[e];

            if (c == '"' || c == '\\' || c < 0x20)
                break;
            j->col += (c & 0xc0) != 0x80;
            e++;
        }
        if (e > s) {
            emit(out, j->buf + s, e - s);
            j->r = e;
            j->cr = false;
        }
        ch = jpeek(j);
        if (ch == JEOF)
            return jerr(j, "a string is not closed before the end of the file");
        if (ch == '"') {
            jadv(j);
            if (!unescape)
                emitc(out, '"');
            return 0;
        }
        if (ch < 0x20) {
            if (ch == '\n' || ch == '\r')
                return jerr(j, "a string is not closed before the end of the line");
            return jerr(j, "the control character 0x%02x in a string: it must be escaped",
                        (unsigned)ch);
        }
        if (ch != '\\')
            continue; /* the run ended at the end of the buffer */
        jadv(j);
        ch = jpeek(j);
        if (ch == 'u') {
            int rc;

            if (!unescape)
                emitc(out, '\\');
            rc = read_u_escape(j, out, unescape);
            if (rc)
                return rc;
            continue;
        }
        {
            static const char from[] = "\"\\/bfnrt", to[] = "\"\\/\b\f\n\r\t";
            const char *p = ch != JEOF && ch ? strchr(from, ch) : NULL;

            if (!p) {
                char found[48];

                describe(ch, found, sizeof(found));
                return jerr(j, "an escape in a string is not valid: '\\' then %s", found);
            }
            if (unescape) {
                emitc(out, to[p - from]);
            } else {
                emitc(out, '\\');
                emitc(out, ch);
            }
            jadv(j);
        }
    }
}

static int read_digits(struct json *j, struct buf *out)
{
    int ch = jpeek(j);

    if (ch < '0' || ch > '9')
        return expected(j, "a digit", ch);
    do {
        emitc(out, ch);
        jadv(j);
        ch = jpeek(j);
    } while (ch >= '0' && ch <= '9');
    return 0;
}

/* A number (RFC 8259 §6), its text into out as written. */
static int read_number(struct json *j, struct buf *out)
{
    int ch = jpeek(j), rc;

    if (ch == '-') {
        emitc(out, ch);
        jadv(j);
        ch = jpeek(j);
    }
    if (ch == '0') {
        emitc(out, ch);
        jadv(j);
    } else {
        rc = read_digits(j, out);
        if (rc)
            return rc;
    }
    ch = jpeek(j);
    if (ch == '.') {
        emitc(out, ch);
        jadv(j);
        rc = read_digits(j, out);
        if (rc)
            return rc;
        ch = jpeek(j);
    }
    if (ch == 'e' || ch == 'E') {
        emitc(out, ch);
        jadv(j);
        ch = jpeek(j);
        if (ch == '+' || ch == '-') {
            emitc(out, ch);
            jadv(j);
        }
        return read_digits(j, out);
    }
    return 0;
}

/* One of true, false, null. */
static int read_word(struct json *j, const char *word, struct buf *out)
{
    for (const char *p = word; *p; p++) {
        if (jpeek(j) != *p)
            return jerr(j, "a value is not valid: expected \"%s\"", word);
        jadv(j);
    }
    emit(out, word, strlen(word));
    return 0;
}

/* Any value at the current (non-blank) byte, as compact JSON text into out (white space
 * outside strings left out); out may be NULL. depth: containers around it. */
static int read_value(struct json *j, struct buf *out, unsigned depth)
{
    int ch = jpeek(j), close, rc;
    bool object;

    switch (ch) {
    case '"':
        return read_string(j, out, false);
    case 't':
        return read_word(j, "true", out);
    case 'f':
        return read_word(j, "false", out);
    case 'n':
        return read_word(j, "null", out);
    case '{':
    case '[':
        break;
    default:
        if (ch == '-' || (ch >= '0' && ch <= '9'))
            return read_number(j, out);
        return expected(j, "a value", ch);
    }
    if (depth >= LIMIT_INGEST_JSON_DEPTH)
        return jerr_big(j, "values are nested more than %u deep", LIMIT_INGEST_JSON_DEPTH);
    object = ch == '{';
    close = object ? '}' : ']';
    emitc(out, ch);
    jadv(j);
    ch = skip_ws(j);
    if (ch == close) {
        emitc(out, ch);
        jadv(j);
        return 0;
    }
    for (;;) {
        if (object) {
            if (ch != '"')
                return expected(j, "a key (a string)", ch);
            rc = read_string(j, out, false);
            if (rc)
                return rc;
            ch = skip_ws(j);
            if (ch != ':')
                return expected(j, "':' after a key", ch);
            emitc(out, ch);
            jadv(j);
            skip_ws(j);
        }
        rc = read_value(j, out, depth + 1);
        if (rc)
            return rc;
        ch = skip_ws(j);
        if (ch == close) {
            emitc(out, ch);
            jadv(j);
            return 0;
        }
        if (ch != ',')
            return expected(j,
                            object ? "',' or '}' after a value in an object"
                                   : "',' or ']' after a value in an array",
                            ch);
        emitc(out, ch);
        jadv(j);
        ch = skip_ws(j);
    }
}

/* ---- Keys ------------------------------------------------------------------------- */

static uint64_t key_hash(const char *s, size_t n)
{
    uint64_t h = 1469598103934665603ull;

    for (size_t i = 0; i < n; i++) {
        h ^= (unsigned char)s[i];
        h *= 1099511628211ull;
    }
    return h;
}

/* The slot of key k (its index + 1 there), or the empty slot where it would go. */
static size_t key_slot(const struct json *j, const char *k, size_t n)
{
    size_t mask = j->table_size - 1, i = (size_t)key_hash(k, n) & mask;

    while (j->table[i]) {
        size_t idx = j->table[i] - 1;
        const char *have = j->keys.buf + j->key_off[idx];
        size_t hlen =
                (idx + 1 < j->nkeys ? j->key_off[idx + 1] : j->keys.len) - j->key_off[idx] - 1;

        if (hlen == n && !memcmp(have, k, n))
            break;
        i = (i + 1) & mask;
    }
    return i;
}

/* The index of key k among the keys, adding it (first pass) when add. */
static int key_index(struct json *j, const char *k, size_t n, bool add, size_t *index)
{
    size_t slot = key_slot(j, k, n);

    if (j->table[slot]) {
        *index = j->table[slot] - 1;
        return 0;
    }
    if (!add)
        return err_set(j->err, ERR_INTERNAL, "file", "the file changed while it was read");
    j->fatal = true; /* limits of the key list: a later pass cannot read past them */
    if (j->nkeys == LIMIT_INGEST_RECORD_FIELDS)
        return jerr_big(j, "the records have more than %u distinct keys",
                        LIMIT_INGEST_RECORD_FIELDS);
    ALLOC_GROW(j->key_off, j->nkeys + 1, j->keys_alloc);
    j->key_off[j->nkeys] = j->keys.len;
    buf_add(&j->keys, k, n);
    buf_addch(&j->keys, '\0');
    if (buf_failed(&j->keys))
        return jerr_big(j, "the records' keys hold more than %u MiB", LIMIT_INGEST_RECORD >> 20);
    j->fatal = false;
    *index = j->nkeys++;
    j->table[slot] = (uint32_t)j->nkeys;
    if (j->nkeys * 2 > j->table_size) {
        /* Rehash into a table twice as large. */
        j->table_size *= 2;
        free(j->table);
        j->table = xcalloc(j->table_size, sizeof(*j->table));
        for (size_t i = 0; i < j->nkeys; i++) {
            size_t len = (i + 1 < j->nkeys ? j->key_off[i + 1] : j->keys.len) - j->key_off[i] - 1;

            j->table[key_slot(j, j->keys.buf + j->key_off[i], len)] = (uint32_t)(i + 1);
        }
    }
    return 0;
}

/* ---- Records ---------------------------------------------------------------------- */

/*
 * At '{': one record. The first pass (first) only checks its values and adds its keys;
 * the others put each value into out and its kind, offset and length in the slot of its
 * key.
 */
static int read_record(struct json *j, bool first)
{
    uint64_t line = j->line;
    int ch, rc;

    jadv(j);
    ch = skip_ws(j);
    if (ch == '}') {
        jadv(j);
        return 0;
    }
    for (;;) {
        struct buf *out = first ? NULL : &j->out;
        enum ingest_cell_kind kind;
        size_t k = 0, start = j->out.len;

        if (ch != '"')
            return expected(j, "a key (a string)", ch);
        buf_reset(&j->key);
        rc = read_string(j, &j->key, true);
        if (rc)
            return rc;
        if (buf_failed(&j->key))
            return jerr_big(j, "a key is larger than %u MiB", LIMIT_INGEST_FIELD >> 20);
        rc = key_index(j, j->key.buf, j->key.len, first, &k);
        if (rc)
            return rc;
        ch = skip_ws(j);
        if (ch != ':')
            return expected(j, "':' after a key", ch);
        jadv(j);
        ch = skip_ws(j);
        switch (ch) {
        case '"':
            kind = INGEST_CELL_TEXT;
            rc = read_string(j, out, true);
            break;
        case 't':
        case 'f':
            kind = INGEST_CELL_BOOL;
            rc = read_word(j, ch == 't' ? "true" : "false", out);
            break;
        case 'n':
            kind = INGEST_CELL_EMPTY;
            rc = read_word(j, "null", NULL);
            break;
        case '{':
        case '[':
            kind = INGEST_CELL_JSON;
            rc = read_value(j, out, 1);
            break;
        default:
            kind = INGEST_CELL_NUMBER;
            if (ch == '-' || (ch >= '0' && ch <= '9'))
                rc = read_number(j, out);
            else
                rc = expected(j, "a value", ch);
        }
        if (rc)
            return rc;
        if (!first) {
            if (buf_failed(&j->out)) {
                j->pos->line = line;
                j->pos->column = 0;
                return err_set(j->err, ERR_TOO_LARGE, "file",
                               "line %" PRIu64 ": a record is larger than %u MiB", line,
                               LIMIT_INGEST_RECORD >> 20);
            }
            if (j->out.len - start > LIMIT_INGEST_FIELD) {
                j->pos->line = line;
                j->pos->column = k + 1;
                return err_set(j->err, ERR_TOO_LARGE, "file",
                               "line %" PRIu64 ", key \"%s\": a value is larger than %u MiB", line,
                               j->keys.buf + j->key_off[k], LIMIT_INGEST_FIELD >> 20);
            }
            j->kind[k] = kind;
            j->off[k] = start;
            j->vlen[k] = j->out.len - start;
            buf_addch(&j->out, '\0');
        }
        ch = skip_ws(j);
        if (ch == '}') {
            jadv(j);
            return 0;
        }
        if (ch != ',')
            return expected(j, "',' or '}' after a value in an object", ch);
        jadv(j);
        ch = skip_ws(j);
    }
}

/* What a record that is not an object is, for the message. */
static const char *value_name(int ch)
{
    switch (ch) {
    case '[':
        return "an array";
    case '"':
        return "a string";
    case 't':
    case 'f':
        return "a boolean";
    case 'n':
        return "null";
    default:
        return ch == '-' || (ch >= '0' && ch <= '9') ? "a number" : NULL;
    }
}

/* The record at the current byte ch (after white space), for either pass. */
static int record_at(struct json *j, int ch, bool first)
{
    const char *what;

    if (ch == '{') {
        if (first && !j->record)
            j->first_line = j->line;
        j->record++;
        return read_record(j, first);
    }
    what = value_name(ch);
    if (!what)
        return expected(j, "a record (an object)", ch);
    j->pos->line = j->line;
    j->pos->column = j->col;
    return err_set(j->err, ERR_VALIDATION, "file",
                   "line %" PRIu64 ": record %" PRIu64 " is %s, not an object", j->line,
                   j->record + 1, what);
}

/*
 * Moves past one element of the records array: at STAGE_FIRST the array's first
 * element or its ']', else the ',' or ']' after a record. Returns 1 at a record (its
 * '{' or whatever stands there is the current byte), 0 after the ']'.
 */
static int array_step(struct json *j)
{
    int ch = skip_ws(j);

    if (j->stage == STAGE_MORE) {
        if (ch == ']') {
            jadv(j);
            return 0;
        }
        if (ch != ',')
            return expected(j, "',' or ']' after a record", ch);
        jadv(j);
        skip_ws(j);
        return 1;
    }
    if (ch == ']') {
        jadv(j);
        return 0;
    }
    return 1;
}

/* NDJSON: after a record, the rest of its line must be blank. */
static int line_end(struct json *j)
{
    int ch;

    do {
        ch = jpeek(j);
        if (ch == ' ' || ch == '\t')
            jadv(j);
    } while (ch == ' ' || ch == '\t');
    if (ch != '\n' && ch != '\r' && ch != JEOF)
        return expected(j, "the end of the line after a record (one record per line)", ch);
    return 0;
}

/* ---- Passes ----------------------------------------------------------------------- */

/* Reads the records array (at '[') in the first pass. */
static int first_pass_array(struct json *j)
{
    int rc;

    jadv(j);
    j->stage = STAGE_FIRST;
    for (;;) {
        rc = array_step(j);
        if (rc <= 0)
            return rc;
        rc = record_at(j, jpeek(j), true);
        if (rc)
            return rc;
        j->stage = STAGE_MORE;
    }
}

static bool key_is(const struct buf *key, const char *want)
{
    return want && key->len == strlen(want) && !memcmp(key->buf, want, key->len);
}

/* The first pass over a top-level object (at '{'): finds the records' member, reads the
 * records, checks the other members. */
static int first_pass_object(struct json *j)
{
    const char *path = j->records_path;
    char other[128] = "";
    size_t arrays = 0, member = 0;
    bool found = false, found_other = false;
    int ch, rc;

    jadv(j);
    ch = skip_ws(j);
    while (ch != '}') {
        if (ch != '"')
            return expected(j, "a key (a string)", ch);
        buf_reset(&j->key);
        rc = read_string(j, &j->key, true);
        if (rc)
            return rc;
        ch = skip_ws(j);
        if (ch != ':')
            return expected(j, "':' after a key", ch);
        jadv(j);
        ch = skip_ws(j);
        if (path && key_is(&j->key, path)) {
            found_other = true; /* the key is there: is its value an array? */
            if (ch == '[' && !found) {
                found = true;
                j->member = member;
                rc = first_pass_array(j);
            } else {
                rc = read_value(j, NULL, 1);
            }
        } else if (!path && ch == '[') {
            if (++arrays == 1) {
                found = true;
                j->member = member;
                xsnprintf(other, sizeof(other), "%.60s", j->key.buf);
                rc = first_pass_array(j);
            } else {
                j->pos->line = j->line;
                j->pos->column = j->col;
                j->fatal = true;
                return err_set(j->err, ERR_VALIDATION, "records_path",
                               "the top-level object has several arrays (\"%s\", \"%.60s\"): "
                               "set records_path to the key of the records",
                               other, j->key.buf);
            }
        } else {
            rc = read_value(j, NULL, 1);
        }
        if (rc)
            return rc;
        member++;
        ch = skip_ws(j);
        if (ch == ',') {
            jadv(j);
            ch = skip_ws(j);
            if (ch == '}')
                return expected(j, "a key (a string)", ch);
        } else if (ch != '}') {
            return expected(j, "',' or '}' after a value in an object", ch);
        }
    }
    jadv(j);
    if (found)
        return 0;
    j->fatal = true;
    if (path && found_other)
        return err_set(j->err, ERR_VALIDATION, "records_path",
                       "records_path \"%s\" is not an array of records", path);
    if (path)
        return err_set(j->err, ERR_VALIDATION, "records_path",
                       "records_path \"%s\" not found in the top-level object", path);
    return err_set(j->err, ERR_VALIDATION, "records_path",
                   "no records: the top-level object holds no array");
}

/* The first pass (at open): the whole file. */
static int first_pass(struct json *j)
{
    int ch = skip_ws(j), rc;

    j->fatal = true; /* until the records are found: no row can be read */
    if (ch == JEOF)
        return j->rc ? jfail(j) : err_set(j->err, ERR_VALIDATION, "file", "file is empty");
    j->fatal = ch != '[' && ch != '{';
    if (j->ndjson) {
        j->fatal = false;
        while (ch != JEOF) {
            rc = record_at(j, ch, true);
            if (!rc)
                rc = line_end(j);
            if (rc)
                return rc;
            ch = skip_ws(j);
        }
        return j->rc ? jfail(j) : 0;
    }
    if (ch == '[') {
        j->fatal = j->records_path != NULL;
        if (j->records_path)
            return err_set(j->err, ERR_VALIDATION, "records_path",
                           "records_path \"%s\" is set but the top level is an array",
                           j->records_path);
        rc = first_pass_array(j);
    } else if (ch == '{') {
        rc = first_pass_object(j);
    } else {
        j->pos->line = j->line;
        j->pos->column = j->col;
        return j->rc ? jfail(j)
                     : err_set(j->err, ERR_VALIDATION, "file",
                               "the JSON is neither an array of records nor an object holding one");
    }
    if (rc)
        return rc;
    ch = skip_ws(j);
    if (ch != JEOF)
        return expected(j, "the end of the file after the top-level value", ch);
    return j->rc ? jfail(j) : 0;
}

/* Positions a later pass at the records: after the '[' of the records array. */
static int seek_records(struct json *j)
{
    int ch = skip_ws(j), rc;

    if (j->ndjson)
        return j->rc ? jfail(j) : 0;
    if (j->top_object) {
        jadv(j);
        for (size_t m = 0;; m++) {
            ch = skip_ws(j);
            if (ch != '"')
                return expected(j, "a key (a string)", ch);
            buf_reset(&j->key);
            rc = read_string(j, &j->key, true);
            if (rc)
                return rc;
            if (skip_ws(j) != ':')
                return expected(j, "':' after a key", jpeek(j));
            jadv(j);
            ch = skip_ws(j);
            if (m == j->member)
                break;
            rc = read_value(j, NULL, 1);
            if (rc)
                return rc;
            if (skip_ws(j) != ',')
                return expected(j, "','", jpeek(j));
            jadv(j);
        }
    }
    if (ch != '[')
        return j->rc ? jfail(j) : expected(j, "'['", ch);
    jadv(j);
    return 0;
}

static int json_rewind(struct ingest_source *src, struct err *err)
{
    struct json *j = src->impl;
    int rc = ingest_text_rewind(j->text, err);

    j->err = err;
    j->rc = 0;
    err_clear(&j->rc_err);
    memset(&j->rc_pos, 0, sizeof(j->rc_pos));
    j->r = j->len = 0;
    j->eof = false;
    j->line = j->col = 1;
    j->cr = false;
    j->stage = STAGE_HEADER;
    j->record = 0;
    return rc;
}

/* The end of the rows: 0, or the error the first pass found after them (in the members
 * after the records array, or past its end). */
static int end_of_rows(struct json *j)
{
    if (!j->deferred)
        return 0;
    *j->pos = j->deferred_pos;
    return err_set(j->err, j->deferred_err.kind, j->deferred_err.field, "%s", j->deferred_err.msg);
}

static int json_next(struct ingest_source *src, struct ingest_row *row, struct err *err)
{
    struct json *j = src->impl;
    uint64_t line;
    int ch, rc;

    j->err = err;
    if (j->stage == STAGE_DONE || !j->nkeys)
        return end_of_rows(j);
    if (j->stage == STAGE_HEADER) {
        rc = seek_records(j);
        if (rc)
            return rc;
        for (size_t i = 0; i < j->nkeys; i++) {
            size_t len = (i + 1 < j->nkeys ? j->key_off[i + 1] : j->keys.len) - j->key_off[i] - 1;

            j->cells[i].kind = INGEST_CELL_TEXT;
            j->cells[i].s = j->keys.buf + j->key_off[i];
            j->cells[i].len = len;
        }
        row->cells = j->cells;
        row->n = j->nkeys;
        row->line = j->first_line;
        j->stage = STAGE_FIRST;
        return 1;
    }
    if (j->ndjson) {
        ch = skip_ws(j);
        if (ch == JEOF) {
            j->stage = STAGE_DONE;
            return j->rc ? jfail(j) : end_of_rows(j);
        }
    } else {
        rc = array_step(j);
        if (rc < 0)
            return rc;
        if (!rc) {
            j->stage = STAGE_DONE;
            return end_of_rows(j);
        }
        ch = jpeek(j);
    }
    line = j->line;
    buf_reset(&j->out);
    for (size_t i = 0; i < j->nkeys; i++)
        j->kind[i] = INGEST_CELL_EMPTY;
    rc = record_at(j, ch, false);
    if (!rc && j->ndjson)
        rc = line_end(j);
    if (rc)
        return rc;
    j->stage = STAGE_MORE;
    for (size_t i = 0; i < j->nkeys; i++) {
        struct ingest_cell *c = &j->cells[i];

        c->kind = j->kind[i];
        if (c->kind == INGEST_CELL_EMPTY) {
            c->s = "";
            c->len = 0;
        } else {
            c->s = j->out.buf + j->off[i];
            c->len = j->vlen[i];
        }
    }
    row->cells = j->cells;
    row->n = j->nkeys;
    row->line = line;
    return 1;
}

static uint64_t json_offset(const struct ingest_source *src)
{
    const struct json *j = src->impl;

    return ingest_text_offset(j->text);
}

static void json_free(void *impl)
{
    struct json *j = impl;

    if (!j)
        return;
    ingest_text_free(j->text);
    free(j->buf);
    buf_release(&j->keys);
    free(j->key_off);
    free(j->table);
    buf_release(&j->key);
    buf_release(&j->out);
    free(j->kind);
    free(j->off);
    free(j->vlen);
    free(j->cells);
    free(j);
}

static const struct ingest_source_ops json_ops = {
        .next = json_next,
        .rewind = json_rewind,
        .offset = json_offset,
        .free = json_free,
};

int ingest_json_open(struct ingest_source *src, const char *path, const struct ingest_options *o,
                     struct err *err)
{
    struct json *j = xcalloc(1, sizeof(*j));
    int ch, rc;

    src->impl = NULL;
    j->pos = &src->pos;
    j->err = err;
    j->ndjson = o->format == INGEST_FORMAT_NDJSON;
    j->records_path = o->records_path;
    j->member = SIZE_MAX; /* until the records are found */
    j->buf = xmalloc(JSON_BUF);
    j->line = j->col = 1;
    buf_init(&j->keys, LIMIT_INGEST_RECORD);
    buf_init(&j->key, LIMIT_INGEST_FIELD);
    buf_init(&j->out, LIMIT_INGEST_RECORD);
    j->table_size = 64;
    j->table = xcalloc(j->table_size, sizeof(*j->table));
    rc = ingest_text_open(&j->text, path, o->encoding, &src->info, err);
    if (rc)
        goto out;
    ch = skip_ws(j);
    j->top_object = ch == '{' && !j->ndjson;
    {
        /* A syntax error (or bytes not valid in the encoding) is kept for the pass that
         * reaches it, so the rows before it are read and its place is the source's. */
        struct err first = ERR_INIT;

        j->err = &first;
        rc = first_pass(j);
        j->err = err;
        if (rc && !j->fatal && (rc == -ERR_VALIDATION || rc == -ERR_TOO_LARGE)) {
            j->deferred = rc;
            j->deferred_err = first;
            j->deferred_pos = src->pos;
            rc = 0;
        } else if (rc) {
            if (err && err->kind == ERR_NONE)
                *err = first;
            goto out;
        }
    }
    j->records_path = NULL;
    j->kind = xcalloc(j->nkeys + 1, sizeof(*j->kind));
    j->off = xcalloc(j->nkeys + 1, sizeof(*j->off));
    j->vlen = xcalloc(j->nkeys + 1, sizeof(*j->vlen));
    j->cells = xcalloc(j->nkeys + 1, sizeof(*j->cells));
    src->info.format = j->ndjson ? INGEST_FORMAT_NDJSON : INGEST_FORMAT_JSON;
    src->ops = &json_ops;
    src->impl = j;
    rc = json_rewind(src, err);
    if (rc)
        goto out;
    j = NULL;
out:
    if (rc)
        src->impl = NULL;
    json_free(j);
    return rc;
}
