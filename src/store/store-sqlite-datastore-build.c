/*
 * store-sqlite-datastore-build.c - building a datastore table file aside and swapping it
 * in (store_ds_build_begin/row/commit/abort). docs/internals/datastore.md, "Storage".
 *
 * The rows do not go through SQL. An INSERT costs about a microsecond a row in SQLite's
 * virtual machine and B-tree (800,000 rows/s with 9 typed columns, measured), as much as
 * `sqlite3 .import`, which the ingest must beat by half. So the build writes the table's
 * B-tree pages itself, in SQLite's documented file format (https://sqlite.org/fileformat.html:
 * the database header, table B-tree leaf and interior pages, record format, overflow
 * pages), streaming: a leaf page fills with cells in _id order, is written, and its page
 * number and largest _id go up into a stack of half-built interior pages, one per level;
 * page 1 (the header and the schema, one row: the table) is written last. Then SQLite
 * opens the file and does the rest with SQL: the meta table, the primary key and indexes,
 * the full-text index, read back from the table. Memory is a few pages and the output
 * buffer, whatever the row count. tests/unit/test-store-datastore.c checks every file it
 * builds with PRAGMA integrity_check.
 *
 * The file is <dir>/<id>.db.build-<random>; commit renames it over <dir>/<id>.db under
 * the table's writer lock and fsyncs the directory, so readers see the old table or the
 * new one, never a part; a failed or abandoned build unlinks it.
 */
#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sqlite3.h>
#include <sys/random.h>

#include "core/buf.h"
#include "core/limits.h"
#include "core/log.h"
#include "core/parse.h"
#include "store/store-sqlite-datastore-int.h"
#include "store/store-sqlite-int.h"
#include "core/util.h"

/* Pages of 4 KiB: searches read single rows by _id and index entries, where a larger page
 * reads more than it needs; the build itself does not care. */
#define PAGE_SIZE 4096u
/* Largest payload kept whole on a table leaf page, and the part kept when it spills
 * (file format §1.6, "Cell Payload Overflow Pages": X = U-35, M = ((U-12)*32/255)-23). */
#define LEAF_MAX_LOCAL (PAGE_SIZE - 35u)
#define LEAF_MIN_LOCAL ((PAGE_SIZE - 12u) * 32u / 255u - 23u)
/* Children of an interior page: each cell is a 4-byte page number and a varint key (at
 * most 9 bytes) plus its 2-byte pointer; the right-most child has no cell. */
#define INTERIOR_CELLS ((PAGE_SIZE - 12u) / (2u + 4u + 9u))
#define OUT_BUF        (1u << 20)
/* The page holding the byte at 1 GiB, which SQLite's file locks use and no b-tree may
 * (file format §1.3, "The Lock-Byte Page"): written as zeros, never referenced. */
#define LOCK_PAGE ((uint32_t)((1u << 30) / PAGE_SIZE + 1))
/* SQLite's "Application ID" header field: "KFDS" marks a Kaifang datastore table. */
#define APPLICATION_ID 0x4b464453u

/* Page cache of the connection that finishes a build (indexes, full-text), KiB. */
#define BUILD_CACHE_KIB 16384

/* Build files older than this are a crash's leftovers. */
#define STALE_BUILD_SECONDS (24 * 3600)

struct child {
    uint32_t pgno;
    int64_t key; /* the largest _id below it */
};

struct level {
    struct child c[INTERIOR_CELLS + 3];
    size_t n;
};

/* One value of a row as it goes into the record. */
struct cell_value {
    uint64_t serial; /* SQLite serial type */
    int64_t i;
    const char *s;
    size_t len; /* bytes in the body */
};

struct store_ds_build {
    struct store_ds_build_head head;
    struct sqds *q;
    char id[SQDS_ID_SIZE];
    char hex[SQDS_HEX_SIZE];
    char *path; /* the build file */
    /* The definition, copied. */
    struct sqds_field *fields;
    size_t nfields;
    size_t *pk;
    size_t npk;
    size_t **indexes;
    size_t *index_sizes;
    size_t nindexes;
    bool fulltext;
    bool fulltext_later;
    store_tokenize_fn tokenize;
    /* The build's owner lock (owner_take()), held until the file is swapped in or gone. */
    int owner_fd;
    char *owner_path;
    /* The page writer. */
    int fd;
    uint64_t out_off; /* file offset of out[0] */
    uint8_t *out;
    size_t out_len;
    uint32_t next_pgno;
    uint8_t leaf[PAGE_SIZE];
    unsigned ncells;
    unsigned content; /* start of the cell content area */
    int64_t leaf_key; /* largest _id on the leaf */
    bool leaves;      /* a leaf page was written */
    struct level *levels;
    size_t nlevels;
    int io_errno; /* first write error: the build cannot commit */
    /* Rows. */
    int64_t rows;
    struct cell_value *vals;
    char *num;          /* nfields * 24 bytes: INT values of text fields as text */
    struct buf payload; /* a record that spills onto overflow pages */
    /* The full-text index, fed in the load pass (fulltext without fulltext_later, and text
     * fields): each row's text fields tokenized as they go into the file. */
    struct ftx_build *ftx;
    struct buf ftx_text, ftx_toks;
};

/* ---- Varints and big-endian integers (file format §1.5, §2.1) ---------------------------- */
static unsigned varint_len(uint64_t v)
{
    unsigned n = 1;

    if (v >> 56)
        return 9;
    while (v >>= 7)
        n++;
    return n;
}

static unsigned varint_put(uint8_t *p, uint64_t v)
{
    uint8_t tmp[10];
    unsigned n = 0, i;

    if (v <= 0x7f) {
        p[0] = (uint8_t)v;
        return 1;
    }
    if (v >> 56) {
        /* Nine bytes: eight groups of seven bits, then all eight bits of the last byte. */
        p[8] = (uint8_t)v;
        v >>= 8;
        for (i = 8; i-- > 0;) {
            p[i] = (uint8_t)((v & 0x7f) | 0x80);
            v >>= 7;
        }
        return 9;
    }
    do {
        tmp[n++] = (uint8_t)((v & 0x7f) | 0x80);
        v >>= 7;
    } while (v);
    tmp[0] &= 0x7f;
    for (i = 0; i < n; i++)
        p[i] = tmp[n - 1 - i];
    return n;
}

static void put_be(uint8_t *p, uint64_t v, unsigned len)
{
    while (len-- > 0) {
        p[len] = (uint8_t)v;
        v >>= 8;
    }
}

/* The serial type of an integer and the bytes of its body (§2.1: types 1-6, 8, 9). */
static uint64_t int_serial(int64_t v, size_t *len)
{
    uint64_t u = v < 0 ? ~(uint64_t)v : (uint64_t)v;

    if (v == 0 || v == 1) {
        *len = 0;
        return v == 0 ? 8 : 9;
    }
    if (u <= 127) {
        *len = 1;
        return 1;
    }
    if (u <= 32767) {
        *len = 2;
        return 2;
    }
    if (u <= 8388607) {
        *len = 3;
        return 3;
    }
    if (u <= 2147483647) {
        *len = 4;
        return 4;
    }
    if (u <= 0x7fffffffffffull) {
        *len = 6;
        return 5;
    }
    *len = 8;
    return 6;
}

/* ---- The page writer --------------------------------------------------------------------- */
static int out_flush(struct store_ds_build *b)
{
    size_t done = 0;
    ssize_t n;

    while (!b->io_errno && done < b->out_len) {
        n = pwrite(b->fd, b->out + done, b->out_len - done, (off_t)(b->out_off + done));
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            b->io_errno = n < 0 ? errno : EIO;
        else
            done += (size_t)n;
    }
    b->out_off += b->out_len;
    b->out_len = 0;
    return b->io_errno ? -1 : 0;
}

static void page_append(struct store_ds_build *b, const uint8_t *page)
{
    if (b->out_len + PAGE_SIZE > OUT_BUF)
        out_flush(b);
    if (page)
        memcpy(b->out + b->out_len, page, PAGE_SIZE);
    else
        memset(b->out + b->out_len, 0, PAGE_SIZE);
    b->out_len += PAGE_SIZE;
}

/* The page number a page written after page p gets. */
static uint32_t pgno_after(uint32_t p)
{
    return p + 1 == LOCK_PAGE ? p + 2 : p + 1;
}

/* Appends a page to the file; returns its page number. */
static uint32_t page_emit(struct store_ds_build *b, const uint8_t *page)
{
    if (b->next_pgno == LOCK_PAGE) {
        page_append(b, NULL);
        b->next_pgno++;
    }
    /* SQLite's largest page number (SQLITE_MAX_PAGE_COUNT): 4 TiB of 4 KiB pages. */
    if (b->next_pgno >= 1073741823u && !b->io_errno)
        b->io_errno = EFBIG;
    page_append(b, page);
    return b->next_pgno++;
}

/* Writes the b-tree page header (§1.6) of a page whose cells are in place. */
static void page_header(uint8_t *hdr, uint8_t type, unsigned ncells, unsigned content)
{
    hdr[0] = type;
    put_be(hdr + 1, 0, 2); /* no freeblock */
    put_be(hdr + 3, ncells, 2);
    put_be(hdr + 5, content == 65536 ? 0 : content, 2);
    hdr[7] = 0; /* no fragmented bytes */
}

static void level_push(struct store_ds_build *b, size_t lv, uint32_t pgno, int64_t key);

/* Writes an interior page over children c[0..n) (n >= 2): cells for all but the last,
 * which is the right-most pointer. Pushes it one level up. */
static void interior_write(struct store_ds_build *b, size_t lv, const struct child *c, size_t n)
{
    uint8_t page[PAGE_SIZE];
    unsigned content = PAGE_SIZE, ptr = 12, len, i;
    uint8_t cell[13];

    memset(page, 0, sizeof(page));
    for (i = 0; i + 1 < n; i++) {
        put_be(cell, c[i].pgno, 4);
        len = 4 + varint_put(cell + 4, (uint64_t)c[i].key);
        content -= len;
        memcpy(page + content, cell, len);
        put_be(page + ptr, content, 2);
        ptr += 2;
    }
    page_header(page, 0x05, (unsigned)(n - 1), content);
    put_be(page + 8, c[n - 1].pgno, 4);
    level_push(b, lv + 1, page_emit(b, page), c[n - 1].key);
}

/* Adds a child to the interior level lv. A level keeps at least two children back, so
 * that every page it writes, the last included, has at least one cell. */
static void level_push(struct store_ds_build *b, size_t lv, uint32_t pgno, int64_t key)
{
    struct level *l;

    if (lv >= b->nlevels) {
        b->levels = xrealloc(b->levels, (lv + 1) * sizeof(*b->levels));
        memset(b->levels + b->nlevels, 0, (lv + 1 - b->nlevels) * sizeof(*b->levels));
        b->nlevels = lv + 1;
    }
    l = &b->levels[lv];
    l->c[l->n].pgno = pgno;
    l->c[l->n].key = key;
    l->n++;
    if (l->n == INTERIOR_CELLS + 3) {
        struct child keep[2];

        memcpy(keep, l->c + INTERIOR_CELLS + 1, sizeof(keep));
        /* interior_write may grow b->levels: l is not used after it. */
        interior_write(b, lv, l->c, INTERIOR_CELLS + 1);
        l = &b->levels[lv];
        memcpy(l->c, keep, sizeof(keep));
        l->n = 2;
    }
}

static void leaf_reset(struct store_ds_build *b)
{
    b->ncells = 0;
    b->content = PAGE_SIZE;
}

static void leaf_flush(struct store_ds_build *b)
{
    unsigned ptr_end = 8 + 2 * b->ncells;

    memset(b->leaf + ptr_end, 0, b->content - ptr_end);
    page_header(b->leaf, 0x0d, b->ncells, b->content);
    level_push(b, 0, page_emit(b, b->leaf), b->leaf_key);
    b->leaves = true;
    leaf_reset(b);
}

/* The bytes of a payload of size p kept on a leaf page (§1.6). */
static size_t leaf_local(size_t p)
{
    size_t k;

    if (p <= LEAF_MAX_LOCAL)
        return p;
    k = LEAF_MIN_LOCAL + (p - LEAF_MIN_LOCAL) % (PAGE_SIZE - 4);
    return k <= LEAF_MAX_LOCAL ? k : LEAF_MIN_LOCAL;
}

/* Writes payload[local..len) to a chain of overflow pages; returns the first one's number. */
static uint32_t overflow_write(struct store_ds_build *b, const uint8_t *payload, size_t len,
                               size_t local)
{
    uint8_t page[PAGE_SIZE];
    uint32_t first = b->next_pgno == LOCK_PAGE ? LOCK_PAGE + 1 : b->next_pgno, pgno = first;
    size_t off = local, n;

    while (off < len) {
        n = len - off < PAGE_SIZE - 4 ? len - off : PAGE_SIZE - 4;
        memset(page, 0, sizeof(page));
        /* Pages are emitted in number order, so the next one is the next number. */
        put_be(page, off + n < len ? pgno_after(pgno) : 0, 4);
        memcpy(page + 4, payload + off, n);
        pgno = pgno_after(page_emit(b, page));
        off += n;
    }
    return first;
}

/* Writes the record of vals (nvals columns) into p: header then body. */
static size_t record_put(uint8_t *p, size_t hdr, const struct cell_value *vals, size_t nvals)
{
    size_t i, o;

    o = varint_put(p, hdr);
    for (i = 0; i < nvals; i++)
        o += varint_put(p + o, vals[i].serial);
    for (i = 0; i < nvals; i++) {
        if (vals[i].serial >= 12)
            memcpy(p + o, vals[i].s, vals[i].len);
        else if (vals[i].len)
            put_be(p + o, (uint64_t)vals[i].i, (unsigned)vals[i].len);
        o += vals[i].len;
    }
    return o;
}

/* The size of the record header of vals, its own varint included. */
static size_t record_header_size(const struct cell_value *vals, size_t nvals)
{
    size_t types = 0, h;

    for (size_t i = 0; i < nvals; i++)
        types += varint_len(vals[i].serial);
    h = types + 1;
    while (types + varint_len(h) != h)
        h = types + varint_len(h);
    return h;
}

/* Adds the cell of a record (vals) with key rowid to the current leaf. */
static void leaf_add(struct store_ds_build *b, int64_t rowid, const struct cell_value *vals,
                     size_t nvals)
{
    size_t hdr = record_header_size(vals, nvals), p = hdr, local, cell;
    uint32_t first = 0;
    uint8_t *c;
    unsigned o;

    for (size_t i = 0; i < nvals; i++)
        p += vals[i].len;
    local = leaf_local(p);
    cell = varint_len(p) + varint_len((uint64_t)rowid) + local + (local < p ? 4 : 0);
    if (cell < 4)
        cell = 4; /* SQLite's smallest cell */
    if (b->content < 8 + 2 * (b->ncells + 1) + cell)
        leaf_flush(b);
    if (local < p) {
        buf_reset(&b->payload);
        buf_grow(&b->payload, p);
        record_put((uint8_t *)b->payload.buf, hdr, vals, nvals);
        first = overflow_write(b, (const uint8_t *)b->payload.buf, p, local);
    }
    b->content -= (unsigned)cell;
    c = b->leaf + b->content;
    o = varint_put(c, p);
    o += varint_put(c + o, (uint64_t)rowid);
    if (local < p) {
        memcpy(c + o, b->payload.buf, local);
        put_be(c + o + local, first, 4);
    } else {
        o += (unsigned)record_put(c + o, hdr, vals, nvals);
        if (o < cell)
            memset(c + o, 0, cell - o);
    }
    put_be(b->leaf + 8 + 2 * b->ncells, b->content, 2);
    b->ncells++;
    b->leaf_key = rowid;
}

/* Ends the table's b-tree; returns its root page. */
static uint32_t tree_finish(struct store_ds_build *b)
{
    size_t lv, n;

    if (b->ncells || !b->leaves)
        leaf_flush(b);
    for (lv = 0; lv < b->nlevels; lv++) {
        struct level *l = &b->levels[lv];

        n = l->n;
        if (lv + 1 == b->nlevels && n == 1)
            return l->c[0].pgno;
        if (n <= INTERIOR_CELLS + 1) {
            interior_write(b, lv, l->c, n);
        } else {
            /* INTERIOR_CELLS + 2 children: two pages of at least two each. */
            struct child rest[INTERIOR_CELLS + 2];
            size_t half = n / 2;

            memcpy(rest, l->c, n * sizeof(*rest));
            interior_write(b, lv, rest, half);
            interior_write(b, lv, rest + half, n - half);
        }
    }
    BUG_ON(true); /* the top level always ends with one child */
    return 0;
}

/*
 * Writes page 1: the database header (§1.3) and the schema table's root, a leaf holding
 * one row, the table t_<hex> (rootpage root, sql its CREATE TABLE). sql is padded with
 * spaces when its cell would not fit beside the header.
 */
static void schema_write(struct store_ds_build *b, uint32_t root, struct buf *sql)
{
    uint8_t page[PAGE_SIZE];
    struct cell_value v[5];
    char name[2 + SQDS_HEX_SIZE];
    size_t hdr, p, local, cell;
    uint32_t first = 0;
    unsigned content, o;

    xsnprintf(name, sizeof(name), "t_%s", b->hex);
    for (;;) {
        v[0] = (struct cell_value){13 + 2 * 5, 0, "table", 5};
        v[1] = (struct cell_value){13 + 2 * strlen(name), 0, name, strlen(name)};
        v[2] = v[1];
        v[3].serial = int_serial(root, &v[3].len);
        v[3].i = root;
        v[3].s = NULL;
        v[4] = (struct cell_value){13 + 2 * sql->len, 0, sql->buf, sql->len};
        hdr = record_header_size(v, 5);
        p = hdr;
        for (size_t i = 0; i < 5; i++)
            p += v[i].len;
        local = leaf_local(p);
        cell = varint_len(p) + 1 + local + (local < p ? 4 : 0);
        if (100 + 8 + 2 + cell <= PAGE_SIZE)
            break;
        buf_addch(sql, ' ');
    }
    buf_reset(&b->payload);
    buf_grow(&b->payload, p);
    record_put((uint8_t *)b->payload.buf, hdr, v, 5);
    if (local < p)
        first = overflow_write(b, (const uint8_t *)b->payload.buf, p, local);

    memset(page, 0, sizeof(page));
    content = PAGE_SIZE - (unsigned)cell;
    o = varint_put(page + content, p);
    o += varint_put(page + content + o, 1);
    memcpy(page + content + o, b->payload.buf, local);
    if (local < p)
        put_be(page + content + o + local, first, 4);
    page_header(page + 100, 0x0d, 1, content);
    put_be(page + 108, content, 2);

    memcpy(page, "SQLite format 3", 16);
    put_be(page + 16, PAGE_SIZE, 2);
    page[18] = 1; /* legacy (rollback journal) write and read versions */
    page[19] = 1;
    page[20] = 0;  /* reserved bytes per page */
    page[21] = 64; /* payload fractions, fixed by the format */
    page[22] = 32;
    page[23] = 32;
    put_be(page + 24, 1, 4); /* file change counter */
    /* The pages so far, and the overflow pages of the schema row, emitted above. */
    put_be(page + 28, b->next_pgno - 1, 4);
    put_be(page + 40, 1, 4); /* schema cookie */
    put_be(page + 44, 4, 4); /* schema format 4 */
    put_be(page + 56, 1, 4); /* UTF-8 */
    put_be(page + 68, APPLICATION_ID, 4);
    put_be(page + 92, 1, 4); /* version-valid-for: the change counter above */
    put_be(page + 96, (uint64_t)sqlite3_libversion_number(), 4);

    out_flush(b);
    if (!b->io_errno && pwrite(b->fd, page, PAGE_SIZE, 0) != (ssize_t)PAGE_SIZE)
        b->io_errno = errno ? errno : EIO;
}

/* ---- Begin --------------------------------------------------------------------------- */
/*
 * A build file <p> has an owner file <p>.owner that its builder holds an flock() on for
 * as long as it works on it, so that sqds_build_sweep() can tell the file of a builder
 * that died (kill -9, a crash: the kernel drops the lock) from one being written, at
 * once, whatever its age. The lock is on a file of its own: closing a descriptor of the
 * table file itself would drop SQLite's POSIX locks on it (fcntl(2)), which readers of
 * the swapped-in table hold. Returns the locked descriptor, or -1 (logged).
 */
static int owner_take(const char *build_path, char **owner_path)
{
    char *path = xstrfmt("%s.owner", build_path);
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);

    if (fd >= 0 && flock(fd, LOCK_EX | LOCK_NB)) {
        close(fd);
        fd = -1;
    }
    if (fd < 0) {
        log_error("store: datastore: locking \"%s\": %s", path, strerror(errno));
        free(path);
        path = NULL;
    }
    *owner_path = path;
    return fd;
}

/* Removes the owner file and then drops its lock (a sweep then finds nothing to take). */
static void owner_release(int fd, char *owner_path)
{
    if (owner_path && unlink(owner_path) && errno != ENOENT)
        log_warn("store: datastore: removing \"%s\": %s", owner_path, strerror(errno));
    if (fd >= 0)
        close(fd);
    free(owner_path);
}

static void build_free(struct store_ds_build *b)
{
    size_t i;

    if (!b)
        return;
    if (b->fd >= 0)
        close(b->fd);
    if (b->path)
        unlink(b->path);
    owner_release(b->owner_fd, b->owner_path);
    for (i = 0; i < b->nfields; i++)
        free(b->fields[i].id);
    free(b->fields);
    free(b->pk);
    for (i = 0; i < b->nindexes; i++)
        free(b->indexes[i]);
    free(b->indexes);
    free(b->index_sizes);
    free(b->out);
    free(b->levels);
    ftx_build_free(b->ftx);
    buf_release(&b->ftx_text);
    buf_release(&b->ftx_toks);
    free(b->vals);
    free(b->num);
    buf_release(&b->payload);
    free(b->path);
    free(b);
}

/* Checks a field id: 1..LIMIT_INGEST_FIELD_ID bytes of UTF-8, not starting with '_'. */
static int field_id_check(const char *id, struct err *err)
{
    size_t len = id ? strlen(id) : 0;

    if (!len)
        return err_set(err, ERR_VALIDATION, "fields", "a field has an empty id");
    if (len > LIMIT_INGEST_FIELD_ID)
        return err_set(err, ERR_VALIDATION, "fields", "field id \"%.*s…\" is longer than %u bytes",
                       20, id, LIMIT_INGEST_FIELD_ID);
    if (id[0] == '_')
        return err_set(err, ERR_VALIDATION, "fields", "field id \"%s\" starts with \"_\"", id);
    return 0;
}

/* Finds a field id among the build's fields; errors name place ("primary_key" …). */
static int field_index(const struct store_ds_build *b, const char *id, const char *place,
                       size_t *out, struct err *err)
{
    for (size_t i = 0; id && i < b->nfields; i++) {
        if (!strcmp(b->fields[i].id, id)) {
            *out = i;
            return 0;
        }
    }
    return err_set(err, ERR_VALIDATION, place, "\"%s\" is not a field of the table", id ? id : "");
}

/* Copies def into b, checking it. */
static int def_copy(struct store_ds_build *b, const struct store_ds_table_def *def, struct err *err)
{
    size_t i, j;
    int rc;

    if (def->nfields > LIMIT_DATASTORE_FIELDS)
        return err_set(err, ERR_VALIDATION, "fields", "too many fields (at most %u)",
                       LIMIT_DATASTORE_FIELDS);
    b->fields = xcalloc(def->nfields ? def->nfields : 1, sizeof(*b->fields));
    for (i = 0; i < def->nfields; i++) {
        rc = field_id_check(def->fields[i].id, err);
        if (rc)
            return rc;
        if ((unsigned)def->fields[i].type >= DSTYPE_COUNT)
            return err_set(err, ERR_VALIDATION, "fields", "field \"%s\" has an unknown type",
                           def->fields[i].id);
        /* SQL names columns case-insensitively (datastore_search_sql's views). */
        for (j = 0; j < i; j++)
            if (!strcasecmp(b->fields[j].id, def->fields[i].id))
                return err_set(err, ERR_VALIDATION, "fields",
                               "field ids \"%s\" and \"%s\" differ only in case: SQL would "
                               "take them for one",
                               b->fields[j].id, def->fields[i].id);
        b->fields[i].id = xstrdup(def->fields[i].id);
        b->fields[i].type = def->fields[i].type;
        b->nfields = i + 1;
    }
    b->pk = xcalloc(def->nprimary_key + 1, sizeof(*b->pk));
    for (i = 0; i < def->nprimary_key; i++) {
        rc = field_index(b, def->primary_key[i], "primary_key", &b->pk[i], err);
        if (rc)
            return rc;
        for (j = 0; j < i; j++)
            if (b->pk[j] == b->pk[i])
                return err_set(err, ERR_VALIDATION, "primary_key",
                               "field \"%s\" is named twice in the primary key",
                               def->primary_key[i]);
        b->npk = i + 1;
    }
    b->indexes = xcalloc(def->nindexes + 1, sizeof(*b->indexes));
    b->index_sizes = xcalloc(def->nindexes + 1, sizeof(*b->index_sizes));
    for (i = 0; i < def->nindexes; i++) {
        if (!def->index_sizes[i] || def->index_sizes[i] > LIMIT_DATASTORE_FIELDS)
            return err_set(err, ERR_VALIDATION, "indexes", "an index names no field");
        b->indexes[i] = xcalloc(def->index_sizes[i], sizeof(**b->indexes));
        b->nindexes = i + 1;
        for (j = 0; j < def->index_sizes[i]; j++) {
            rc = field_index(b, def->indexes[i] ? def->indexes[i][j] : NULL, "indexes",
                             &b->indexes[i][j], err);
            if (rc)
                return rc;
            b->index_sizes[i] = j + 1;
        }
    }
    b->fulltext = def->fulltext;
    b->fulltext_later = def->fulltext_later;
    b->tokenize = def->tokenize;
    if (b->fulltext && !b->tokenize)
        return err_set(err, ERR_INTERNAL, NULL, "a full-text index needs a tokenizer");
    return 0;
}

int sqds_build_begin(struct store *s, const char *resource_id, const struct store_ds_table_def *def,
                     struct store_ds_build **out, struct err *err)
{
    struct sqds *q = s->ds;
    struct store_ds_build *b = NULL;
    uint8_t rnd[8];
    char suffix[48];
    int rc;

    b = xcalloc(1, sizeof(*b));
    b->head.s = s;
    b->q = q;
    b->fd = -1;
    b->owner_fd = -1;
    buf_init(&b->payload, 0);
    buf_init(&b->ftx_text, 0);
    buf_init(&b->ftx_toks, 0);
    if (!sqds_id_parse(resource_id, b->id, b->hex)) {
        rc = err_set(err, ERR_VALIDATION, "resource_id", "resource id \"%s\" is not a UUID",
                     resource_id);
        goto out;
    }
    if (q->readonly) {
        rc = err_set(err, ERR_INTERNAL, NULL, "the store is open read-only");
        goto out;
    }
    rc = def_copy(b, def, err);
    if (rc)
        goto out;
    if (mkdir(q->dir, 0700) && errno != EEXIST) {
        log_error("store: datastore: creating \"%s\": %s", q->dir, strerror(errno));
        rc = err_set(err, ERR_INTERNAL, NULL, "cannot create the datastore directory");
        goto out;
    }
    /* The files of builders that died since the store was opened (a `kaifang ingest`
     * killed beside a running server) go before this one takes more room. */
    sqds_build_sweep(q);
    if (getrandom(rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd)) {
        rc = err_set(err, ERR_INTERNAL, NULL, "no randomness for a build file name");
        goto out;
    }
    xsnprintf(suffix, sizeof(suffix), ".db.build-%02x%02x%02x%02x%02x%02x%02x%02x", rnd[0], rnd[1],
              rnd[2], rnd[3], rnd[4], rnd[5], rnd[6], rnd[7]);
    b->path = sqds_path(q, b->id, suffix);
    b->owner_fd = owner_take(b->path, &b->owner_path);
    if (b->owner_fd < 0) {
        free(b->path);
        b->path = NULL;
        rc = err_set(err, ERR_INTERNAL, NULL, "cannot create a table file");
        goto out;
    }
    b->fd = open(b->path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (b->fd < 0) {
        log_error("store: datastore: creating \"%s\": %s", b->path, strerror(errno));
        free(b->path);
        b->path = NULL;
        rc = err_set(err, ERR_INTERNAL, NULL, "cannot create a table file");
        goto out;
    }
    b->out = xmalloc(OUT_BUF);
    b->out_off = PAGE_SIZE; /* page 1 is written last */
    b->next_pgno = 2;
    leaf_reset(b);
    b->vals = xcalloc(b->nfields + 1, sizeof(*b->vals));
    b->num = xmalloc(24 * (b->nfields + 1));
    if (b->fulltext && !b->fulltext_later) {
        uint32_t ntext = 0;

        for (size_t i = 0; i < b->nfields; i++)
            ntext += b->fields[i].type == DSTYPE_TEXT;
        /* Runs go beside the table file (not /tmp, which may be memory). */
        if (ntext)
            b->ftx = ftx_build_new(ntext, q->dir, SQDS_FTX_BUDGET);
    }
    rc = 0;
out:
    if (rc) {
        build_free(b);
        b = NULL;
    }
    *out = b;
    return rc;
}

/* ---- Rows -------------------------------------------------------------------------- */

/* An int8 value given as text: its integer, or -ERR_VALIDATION. */
static int int8_text(const struct store_ds_build *b, size_t f, const struct dsvalue *v,
                     int64_t *out, struct err *err)
{
    char tmp[24];

    if (v->len == 0 || v->len >= sizeof(tmp))
        goto bad;
    memcpy(tmp, v->s, v->len);
    tmp[v->len] = 0;
    if (!parse_i64(tmp, INT64_MIN, INT64_MAX, out))
        return 0;
bad:
    return err_set(err, ERR_VALIDATION, b->fields[f].id,
                   "value \"%.*s\" of field \"%s\" (row %" PRId64 ") is not an int8",
                   (int)(v->len > 40 ? 40 : v->len), v->s ? v->s : "", b->fields[f].id,
                   b->rows + 1);
}

/* Row b->rows into the full-text index: its text fields' stored text (cv, one per field)
 * through the tokenizer, as sqds_ftx_build would read them back from the file. */
static int ftx_row(struct store_ds_build *b, const struct cell_value *cv, struct err *err)
{
    int rc = ftx_build_row(b->ftx, b->rows, err);

    for (size_t i = 0; !rc && i < b->nfields; i++) {
        if (b->fields[i].type != DSTYPE_TEXT || !cv[i].s)
            continue;
        /* The tokenizer reads a C string: the text up to a NUL, as SQLite gives it. */
        buf_reset(&b->ftx_text);
        buf_add(&b->ftx_text, cv[i].s, cv[i].len);
        buf_reset(&b->ftx_toks);
        b->tokenize(b->ftx_text.buf, &b->ftx_toks);
        ftx_build_add(b->ftx, (uint32_t)i + 1, b->ftx_toks.buf, b->ftx_toks.len);
    }
    return rc;
}

int sqds_build_row(struct store_ds_build *b, const struct dsvalue *values, struct err *err)
{
    struct cell_value *cv = b->vals;
    uint64_t payload = 0;
    size_t i;
    int rc;

    if (b->io_errno)
        return err_set(err, ERR_INTERNAL, NULL, "writing a table file failed: %s",
                       strerror(b->io_errno));
    if (b->rows == INT64_MAX)
        return err_set(err, ERR_TOO_LARGE, NULL, "too many rows");
    cv[0] = (struct cell_value){0, 0, NULL, 0}; /* _id: the rowid itself */
    for (i = 0; i < b->nfields; i++) {
        const struct dsvalue *v = &values[i];
        struct cell_value *c = &cv[i + 1];

        c->s = NULL;
        switch (v->kind) {
        case DSVALUE_INT:
            if (b->fields[i].type == DSTYPE_INT8) {
                c->i = v->i;
                c->serial = int_serial(v->i, &c->len);
            } else {
                /* The canonical text of another type given as an integer. */
                int n = snprintf(b->num + 24 * i, 24, "%" PRId64, v->i);

                c->s = b->num + 24 * i;
                c->len = (size_t)n;
                c->serial = 13 + 2 * c->len;
            }
            break;
        case DSVALUE_TEXT:
            if (b->fields[i].type == DSTYPE_INT8) {
                rc = int8_text(b, i, v, &c->i, err);
                if (rc)
                    return rc;
                c->serial = int_serial(c->i, &c->len);
            } else {
                c->s = v->len ? v->s : "";
                c->len = v->len;
                c->serial = 13 + 2 * (uint64_t)c->len;
            }
            break;
        default:
            c->serial = 0;
            c->len = 0;
            break;
        }
        payload += c->len;
    }
    for (i = 0; i < b->npk; i++)
        if (values[b->pk[i]].kind == DSVALUE_NULL)
            return err_set(err, ERR_VALIDATION, "primary_key",
                           "primary key field \"%s\" is empty (row %" PRId64 ")",
                           b->fields[b->pk[i]].id, b->rows + 1);
    if (payload > SQDS_MAX_VALUE)
        return err_set(err, ERR_TOO_LARGE, NULL, "row %" PRId64 " is larger than %u bytes",
                       b->rows + 1, SQDS_MAX_VALUE);
    b->rows++;
    leaf_add(b, b->rows, cv, b->nfields + 1);
    return b->ftx ? ftx_row(b, cv + 1, err) : 0;
}

/* ---- Commit -------------------------------------------------------------------------- */
static double seconds(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* The CREATE TABLE of the rows. */
static void create_table_sql(const struct store_ds_build *b, struct buf *sql)
{
    buf_addf(sql, "CREATE TABLE t_%s(_id INTEGER PRIMARY KEY", b->hex);
    for (size_t i = 0; i < b->nfields; i++) {
        const char *t = sqds_decltype(b->fields[i].type);

        buf_addf(sql, ", c_%zu%s%s", i + 1, *t ? " " : "", t);
    }
    buf_addch(sql, ')');
}

/* The indexed expression of field f: numeric fields by value (CAST … AS REAL), as the
 * filters and sorts of store_ds_search compare them. */
static void index_column(struct buf *sql, const struct sqds_field *f, size_t i)
{
    if (f->type == DSTYPE_NUMERIC)
        buf_addf(sql, "CAST(c_%zu AS REAL)", i + 1);
    else
        buf_addf(sql, "c_%zu", i + 1);
}

static json_t *ids_json(const struct store_ds_build *b, const size_t *idx, size_t n)
{
    json_t *a = json_array();

    for (size_t i = 0; i < n; i++)
        json_array_append_new(a, json_string(b->fields[idx[i]].id));
    return a;
}

/* Finds a duplicate primary key after the unique index failed: -ERR_CONFLICT naming it. */
static int pk_duplicate(struct store_ds_build *b, sqlite3 *db, struct err *err)
{
    struct buf sql = BUF_INIT, key = BUF_INIT, names = BUF_INIT;
    sqlite3_stmt *st = NULL;
    size_t i;
    int rc;

    buf_addstr(&sql, "SELECT ");
    for (i = 0; i < b->npk; i++) {
        buf_addstr(&sql, i ? ", " : "");
        index_column(&sql, &b->fields[b->pk[i]], b->pk[i]);
        buf_addstr(&names, i ? ", " : "");
        buf_addstr(&names, b->fields[b->pk[i]].id);
    }
    buf_addf(&sql, ", min(_id) FROM t_%s GROUP BY ", b->hex);
    for (i = 0; i < b->npk; i++)
        buf_addf(&sql, "%s%zu", i ? ", " : "", i + 1);
    buf_addstr(&sql, " HAVING count(*) > 1 LIMIT 1");
    rc = sqlite3_prepare_v2(db, sql.buf, -1, &st, NULL);
    if (rc == SQLITE_OK)
        rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        for (i = 0; i < b->npk; i++) {
            /* Show numeric keys as the stored text of the first row holding them. */
            buf_addstr(&key, i ? ", " : "");
            buf_addstr(&key, (const char *)sqlite3_column_text(st, (int)i));
        }
        rc = err_set(err, ERR_CONFLICT, "primary_key",
                     "duplicate value \"%s\" of primary key \"%s\" (rows from %" PRId64 ")",
                     key.buf, names.buf, (int64_t)sqlite3_column_int64(st, (int)b->npk));
    } else {
        rc = sqds_db_error(db, rc, "finding a duplicate primary key", err);
    }
    sqlite3_finalize(st);
    buf_release(&sql);
    buf_release(&key);
    buf_release(&names);
    return rc;
}

/* The primary key and indexes. */
static int indexes_create(struct store_ds_build *b, sqlite3 *db, struct err *err)
{
    struct buf sql = BUF_INIT;
    size_t i, j;
    int rc = 0;

    if (b->npk) {
        buf_addf(&sql, "CREATE UNIQUE INDEX pk ON t_%s(", b->hex);
        for (i = 0; i < b->npk; i++) {
            buf_addstr(&sql, i ? ", " : "");
            index_column(&sql, &b->fields[b->pk[i]], b->pk[i]);
        }
        buf_addch(&sql, ')');
        rc = sqlite3_exec(db, sql.buf, NULL, NULL, NULL);
        if ((rc & 0xff) == SQLITE_CONSTRAINT)
            rc = pk_duplicate(b, db, err);
        else if (rc)
            rc = sqds_db_error(db, rc, "creating the primary key", err);
    }
    for (i = 0; !rc && i < b->nindexes; i++) {
        buf_reset(&sql);
        buf_addf(&sql, "CREATE INDEX i_%zu ON t_%s(", i + 1, b->hex);
        for (j = 0; j < b->index_sizes[i]; j++) {
            buf_addstr(&sql, j ? ", " : "");
            index_column(&sql, &b->fields[b->indexes[i][j]], b->indexes[i][j]);
        }
        buf_addch(&sql, ')');
        rc = sqds_exec(db, sql.buf, "creating an index", err);
    }
    buf_release(&sql);
    return rc;
}

/* The meta rows of the new file. generation is set at the swap. */
static int meta_write(struct store_ds_build *b, sqlite3 *db, const json_t *meta, uint64_t gen,
                      struct err *err)
{
    json_t *fields = json_array(), *pk = ids_json(b, b->pk, b->npk), *idx = json_array();
    char *f = NULL, *p = NULL, *i = NULL, *m = NULL;
    int rc;

    for (size_t k = 0; k < b->nfields; k++)
        json_array_append_new(fields, json_pack("{s:s, s:s}", "id", b->fields[k].id, "type",
                                                dstype_name(b->fields[k].type)));
    for (size_t k = 0; k < b->nindexes; k++)
        json_array_append_new(idx, ids_json(b, b->indexes[k], b->index_sizes[k]));
    f = json_dumps(fields, JSON_COMPACT);
    p = json_dumps(pk, JSON_COMPACT);
    i = json_dumps(idx, JSON_COMPACT);
    m = meta ? json_dumps(meta, JSON_COMPACT | JSON_ENCODE_ANY) : xstrdup("{}");
    if (!f || !p || !i || !m) {
        rc = err_set(err, ERR_INTERNAL, NULL, "table meta cannot be serialised");
        goto out;
    }
    rc = sqds_exec(db, "CREATE TABLE meta(key TEXT PRIMARY KEY, value) WITHOUT ROWID",
                   "writing table meta", err);
    if (!rc)
        rc = sqds_meta_set(db, "format", NULL, SQDS_FORMAT, err);
    if (!rc)
        rc = sqds_meta_set(db, "resource_id", b->id, 0, err);
    if (!rc)
        rc = sqds_meta_set(db, "fields", f, 0, err);
    if (!rc)
        rc = sqds_meta_set(db, "primary_key", p, 0, err);
    if (!rc)
        rc = sqds_meta_set(db, "indexes", i, 0, err);
    if (!rc)
        rc = sqds_meta_set(db, "fulltext", NULL, b->fulltext, err);
    if (!rc)
        rc = sqds_meta_set(db, "meta", m, 0, err);
    if (!rc)
        rc = sqds_meta_set(db, "rows", NULL, b->rows, err);
    if (!rc)
        rc = sqds_meta_set(db, "next_id", NULL, b->rows + 1, err);
    if (!rc)
        rc = sqds_meta_set(db, "generation", NULL, (int64_t)gen, err);
out:
    json_decref(fields);
    json_decref(pk);
    json_decref(idx);
    free(f);
    free(p);
    free(i);
    free(m);
    return rc;
}

/* The generation of the table file at path: 0 when there is none. */
static int generation_read(const char *path, uint64_t *gen, struct err *err)
{
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    int rc;

    *gen = 0;
    if (access(path, F_OK))
        return 0;
    /* Read-write, so that a hot journal left by a crashed writer is rolled back first. */
    rc = sqds_open_rw(path, false, &db, err);
    if (rc)
        return rc;
    rc = sqlite3_prepare_v2(db, "SELECT value FROM meta WHERE key = 'generation'", -1, &st, NULL);
    if (rc == SQLITE_OK)
        rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        *gen = (uint64_t)sqlite3_column_int64(st, 0);
        rc = 0;
    } else {
        /* Not a table file we can read: the new one replaces it all the same. */
        log_warn("store: datastore: \"%s\" has no generation: %s", path, sqlite3_errmsg(db));
        rc = 0;
    }
    sqlite3_finalize(st);
    sqlite3_close(db);
    return rc;
}

/* Sets the new file's generation (it was closed already: a small write, then fsync). */
static int generation_fix(struct store_ds_build *b, uint64_t gen, struct err *err)
{
    sqlite3 *db = NULL;
    int rc = sqds_open_rw(b->path, false, &db, err);

    if (!rc)
        rc = sqds_meta_set(db, "generation", NULL, (int64_t)gen, err);
    if (db && sqlite3_close(db) != SQLITE_OK && !rc)
        rc = err_set(err, ERR_INTERNAL, NULL, "closing a table file failed");
    return rc ? rc : sqds_fsync_path(b->path, "a table file", err);
}

/* Swaps the new file in under the writer lock: the old table, if any, is replaced whole. */
static int swap_in(struct store_ds_build *b, uint64_t gen0, struct err *err)
{
    char *target = sqds_path(b->q, b->id, ".db");
    char *journal = sqds_path(b->q, b->id, ".db-journal");
    uint64_t gen = 0;
    int lock = -1, rc;

    rc = sqds_lock(b->q, b->id, &lock, err);
    if (rc)
        goto out;
    /* A write in place since the build began bumped the old generation. */
    rc = generation_read(target, &gen, err);
    if (!rc && gen != gen0)
        rc = generation_fix(b, gen + 1, err);
    if (rc)
        goto out;
    /* The old file's journal is not hot (no writer but us, and generation_read rolled
     * back a crashed one's), but would be taken for the new file's if left. */
    if (unlink(journal) && errno != ENOENT)
        log_warn("store: datastore: removing \"%s\": %s", journal, strerror(errno));
    if (rename(b->path, target)) {
        log_error("store: datastore: renaming \"%s\": %s", b->path, strerror(errno));
        rc = err_set(err, ERR_INTERNAL, NULL, "cannot swap in the new table");
        goto out;
    }
    free(b->path);
    b->path = NULL;
    atomic_fetch_add(&b->q->swaps, 1);
    rc = sqds_fsync_path(b->q->dir, "the datastore directory", err);
out:
    sqds_unlock(lock);
    free(target);
    free(journal);
    return rc;
}

int sqds_build_commit(struct store_ds_build *b, const json_t *meta, uint64_t *rows, struct err *err)
{
    struct buf sql = BUF_INIT;
    char *target = NULL;
    sqlite3 *db = NULL;
    double t0 = seconds(), t_idx = 0, t_fts = 0, t;
    uint64_t gen0 = 0;
    uint32_t root;
    int rc;

    if (b->io_errno)
        goto io_error;
    root = tree_finish(b);
    create_table_sql(b, &sql);
    schema_write(b, root, &sql);
    if (b->io_errno)
        goto io_error;

    target = sqds_path(b->q, b->id, ".db");
    rc = generation_read(target, &gen0, err);
    if (rc)
        goto out;
    rc = sqds_open_rw(b->path, false, &db, err);
    if (rc)
        goto out;
    buf_reset(&sql);
    buf_addf(&sql,
             "PRAGMA journal_mode = OFF; PRAGMA synchronous = OFF;"
             " PRAGMA locking_mode = EXCLUSIVE; PRAGMA cache_size = -%d; BEGIN",
             BUILD_CACHE_KIB);
    rc = sqds_exec(db, sql.buf, "opening a new table", err);
    if (!rc)
        rc = meta_write(b, db, meta, gen0 + 1, err);
    t = seconds();
    if (!rc)
        rc = indexes_create(b, db, err);
    t_idx = seconds() - t;
    t = seconds();
    if (!rc && b->ftx)
        rc = sqds_ftx_write(db, b->hex, b->ftx, err);
    else if (!rc && b->fulltext && !b->fulltext_later)
        rc = sqds_ftx_build(db, b->hex, b->fields, b->nfields, b->tokenize, NULL, err);
    t_fts = seconds() - t;
    if (!rc)
        rc = sqds_exec(db, "COMMIT; PRAGMA journal_mode = DELETE", "finishing a new table", err);
    if (rc)
        goto out;
    rc = sqlite3_close(db);
    db = NULL;
    if (rc != SQLITE_OK) {
        rc = err_set(err, ERR_INTERNAL, NULL, "closing a new table failed");
        goto out;
    }
    if (fsync(b->fd)) {
        b->io_errno = errno;
        goto io_error;
    }
    close(b->fd);
    b->fd = -1;
    rc = swap_in(b, gen0, err);
    if (!rc && rows)
        *rows = (uint64_t)b->rows;
    if (!rc)
        log_info("store: datastore: table of \"%s\" swapped in: %" PRId64
                 " rows; commit %.2f s (indexes %.2f s, full-text index %s%.2f s)",
                 b->id, b->rows, seconds() - t0, t_idx, b->fulltext_later ? "to follow, " : "",
                 t_fts);
    goto out;
io_error:
    log_error("store: datastore: writing \"%s\": %s", b->path, strerror(b->io_errno));
    rc = err_set(err, ERR_INTERNAL, NULL, "writing a table file failed: %s", strerror(b->io_errno));
out:
    sqlite3_close(db);
    buf_release(&sql);
    free(target);
    build_free(b);
    return rc;
}

/* ---- The full-text index of a table served without it (fulltext_later) ------------------ */

/* Attempts that let writers in while the index is built; the last one holds them off. */
#define FULLTEXT_ATTEMPTS 3

/* Copies the file at from into the new file at to (fsynced). Errors name neither path
 * (they are logged). */
static int file_copy(const char *from, const char *to, struct err *err)
{
    int in = open(from, O_RDONLY | O_CLOEXEC), out = -1, rc = 0;
    struct stat st;
    off_t left;

    if (in < 0 || fstat(in, &st)) {
        log_error("store: datastore: reading \"%s\": %s", from, strerror(errno));
        rc = err_set(err, ERR_INTERNAL, NULL, "cannot read a table file");
        goto out;
    }
    out = open(to, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (out < 0)
        goto write_error;
    for (left = st.st_size; left > 0;) {
        ssize_t n = copy_file_range(in, NULL, out, NULL, (size_t)left, 0);

        if (n < 0 &&
            (errno == EXDEV || errno == ENOSYS || errno == EINVAL || errno == EOPNOTSUPP)) {
            char chunk[1 << 16];

            /* No in-kernel copy here: read and write. */
            n = read(in, chunk, sizeof(chunk));
            for (ssize_t off = 0, w; n > 0 && off < n; off += w) {
                w = write(out, chunk + off, (size_t)(n - off));
                if (w < 0 && errno == EINTR)
                    w = 0;
                else if (w <= 0)
                    goto write_error;
            }
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            if (n == 0)
                errno = EIO; /* the file shrank: it is under a writer's lock, it cannot */
            goto write_error;
        }
        left -= n;
    }
    if (fsync(out))
        goto write_error;
    goto out;
write_error:
    log_error("store: datastore: copying \"%s\" to \"%s\": %s", from, to, strerror(errno));
    rc = err_set(err, ERR_INTERNAL, NULL, "copying a table file failed: %s", strerror(errno));
out:
    if (in >= 0)
        close(in);
    if (out >= 0)
        close(out);
    return rc;
}

/* Builds the fts table into the copy at path of a table of generation gen, giving it
 * generation gen + 1. *done is false when the table needs no index. */
static int fulltext_into(const char *path, const char *id, uint64_t gen, store_tokenize_fn tokenize,
                         const atomic_bool *cancel, bool *done, struct err *err)
{
    struct sqds_table t = {0};
    struct buf sql = BUF_INIT;
    sqlite3 *db = NULL;
    int rc;

    *done = false;
    rc = sqds_open_rw(path, false, &db, err);
    if (rc)
        goto out;
    buf_addf(&sql,
             "PRAGMA journal_mode = OFF; PRAGMA synchronous = OFF;"
             " PRAGMA locking_mode = EXCLUSIVE; PRAGMA cache_size = -%d; BEGIN",
             BUILD_CACHE_KIB);
    rc = sqds_exec(db, sql.buf, "opening a table copy", err);
    if (!rc)
        rc = sqds_table_load(db, NULL, id, &t, err);
    if (rc || !t.fts_pending)
        goto out;
    rc = sqds_ftx_build(db, t.hex, t.fields, t.nfields, tokenize, cancel, err);
    if (!rc)
        rc = sqds_meta_set(db, "generation", NULL, (int64_t)gen + 1, err);
    if (!rc)
        rc = sqds_exec(db, "COMMIT; PRAGMA journal_mode = DELETE", "finishing a table copy", err);
    if (!rc)
        *done = true;
out:
    if (db && sqlite3_close(db) != SQLITE_OK && !rc)
        rc = err_set(err, ERR_INTERNAL, NULL, "closing a table copy failed");
    if (!rc && *done)
        rc = sqds_fsync_path(path, "a table copy", err);
    sqds_table_release(&t);
    buf_release(&sql);
    return rc;
}

int sqds_fulltext_build(struct store *s, const char *resource_id, store_tokenize_fn tokenize,
                        const atomic_bool *cancel, struct err *err)
{
    struct sqds *q = s->ds;
    char id[SQDS_ID_SIZE], suffix[48];
    char *target = NULL, *journal = NULL, *copy = NULL, *owner_path = NULL;
    uint64_t gen = 0, now = 0;
    uint8_t rnd[8];
    int lock = -1, owner = -1, rc = 0, attempt;
    bool done = false;

    if (!sqds_id_parse(resource_id, id, NULL))
        return err_set(err, ERR_NOT_FOUND, "resource_id", SQDS_NOT_FOUND, resource_id);
    if (q->readonly)
        return err_set(err, ERR_INTERNAL, NULL, "the store is open read-only");
    if (!tokenize)
        tokenize = atomic_load(&s->ds_tokenize);
    if (!tokenize)
        return err_set(err, ERR_INTERNAL, NULL,
                       "a full-text index needs a tokenizer (store_ds_set_tokenizer)");
    if (getrandom(rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd))
        return err_set(err, ERR_INTERNAL, NULL, "no randomness for a build file name");
    xsnprintf(suffix, sizeof(suffix), ".db.build-fts-%02x%02x%02x%02x%02x%02x%02x%02x", rnd[0],
              rnd[1], rnd[2], rnd[3], rnd[4], rnd[5], rnd[6], rnd[7]);
    target = sqds_path(q, id, ".db");
    journal = sqds_path(q, id, ".db-journal");
    copy = sqds_path(q, id, suffix);
    owner = owner_take(copy, &owner_path);
    if (owner < 0) {
        rc = err_set(err, ERR_INTERNAL, NULL, "cannot create a table copy");
        goto out;
    }
    for (attempt = 1; attempt <= FULLTEXT_ATTEMPTS; attempt++) {
        bool last = attempt == FULLTEXT_ATTEMPTS;

        /* Copy under the writers' lock: no write is half done in the file. */
        rc = sqds_lock(q, id, &lock, err);
        if (rc)
            goto out;
        if (access(target, F_OK)) {
            rc = err_set(err, ERR_NOT_FOUND, "resource_id", SQDS_NOT_FOUND, id);
            goto out;
        }
        rc = generation_read(target, &gen, err); /* rolls back a crashed writer's journal */
        if (!rc)
            rc = file_copy(target, copy, err);
        if (rc)
            goto out;
        if (!last) {
            sqds_unlock(lock);
            lock = -1;
        }
        rc = fulltext_into(copy, id, gen, tokenize, cancel, &done, err);
        if (rc || !done)
            goto out;
        if (lock < 0) {
            rc = sqds_lock(q, id, &lock, err);
            if (rc)
                goto out;
        }
        if (access(target, F_OK)) {
            rc = err_set(err, ERR_NOT_FOUND, "resource_id", SQDS_NOT_FOUND, id);
            goto out;
        }
        rc = generation_read(target, &now, err);
        if (rc)
            goto out;
        if (now == gen) {
            if (unlink(journal) && errno != ENOENT)
                log_warn("store: datastore: removing \"%s\": %s", journal, strerror(errno));
            if (rename(copy, target)) {
                log_error("store: datastore: renaming \"%s\": %s", copy, strerror(errno));
                rc = err_set(err, ERR_INTERNAL, NULL, "cannot swap in the full-text index");
                goto out;
            }
            atomic_fetch_add(&q->swaps, 1);
            rc = sqds_fsync_path(q->dir, "the datastore directory", err);
            goto out;
        }
        /* Written meanwhile: the copy misses those writes. */
        log_info("store: datastore: table of \"%s\" changed while its full-text index was "
                 "built (attempt %d of %d)",
                 id, attempt, FULLTEXT_ATTEMPTS);
        if (unlink(copy))
            log_warn("store: datastore: removing \"%s\": %s", copy, strerror(errno));
        sqds_unlock(lock);
        lock = -1;
    }
    BUG_ON(true); /* the last attempt holds the lock: the table cannot change */
out:
    if (access(copy, F_OK) == 0 && unlink(copy))
        log_warn("store: datastore: removing \"%s\": %s", copy, strerror(errno));
    owner_release(owner, owner_path);
    sqds_unlock(lock);
    free(target);
    free(journal);
    free(copy);
    return rc;
}

void sqds_build_abort(struct store_ds_build *b)
{
    build_free(b);
}

/* Whether the builder of the build file at path is gone: its owner file can be locked
 * (then *fd holds it, to close once the files are removed), or it has none and the file
 * is older than STALE_BUILD_SECONDS (a build of a kaifang from before owner files). */
static bool build_dead(const char *path, const struct stat *st, time_t now, int *fd)
{
    char *owner = xstrfmt("%s.owner", path);
    bool dead;

    *fd = open(owner, O_RDWR | O_CLOEXEC);
    if (*fd < 0) {
        dead = errno == ENOENT && st->st_mtime + STALE_BUILD_SECONDS < now;
    } else if (flock(*fd, LOCK_EX | LOCK_NB)) {
        close(*fd);
        *fd = -1;
        dead = false;
    } else {
        dead = true;
    }
    free(owner);
    return dead;
}

void sqds_build_sweep(const struct sqds *q)
{
    struct dirent *e;
    struct stat st;
    time_t now = time(NULL);
    DIR *d = opendir(q->dir);

    if (!d)
        return;
    while ((e = readdir(d))) {
        size_t len = strlen(e->d_name);
        bool owner_file = len > 6 && !strcmp(e->d_name + len - 6, ".owner");
        char *p;
        int fd = -1;

        if (!strstr(e->d_name, ".db.build-"))
            continue;
        p = xstrfmt("%s/%.*s", q->dir, (int)(owner_file ? len - 6 : len), e->d_name);
        if (owner_file) {
            /* An owner file left without its build file (a builder killed between the
             * two unlinks): removed when nobody holds it. */
            if (access(p, F_OK) && errno == ENOENT) {
                char *o = xstrfmt("%s.owner", p);

                fd = open(o, O_RDWR | O_CLOEXEC);
                if (fd >= 0 && !flock(fd, LOCK_EX | LOCK_NB) && unlink(o) && errno != ENOENT)
                    log_warn("store: datastore: removing \"%s\": %s", o, strerror(errno));
                if (fd >= 0)
                    close(fd);
                free(o);
            }
        } else if (!lstat(p, &st) && S_ISREG(st.st_mode) && build_dead(p, &st, now, &fd)) {
            char *o = xstrfmt("%s.owner", p);

            if (unlink(p))
                log_warn("store: datastore: removing \"%s\": %s", p, strerror(errno));
            else
                log_info("store: datastore: removed the build file of a builder that is gone "
                         "\"%s\"",
                         p);
            if (unlink(o) && errno != ENOENT)
                log_warn("store: datastore: removing \"%s\": %s", o, strerror(errno));
            free(o);
            if (fd >= 0)
                close(fd);
        }
        free(p);
    }
    closedir(d);
}
