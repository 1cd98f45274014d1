/*
 * privacy-files.c - the privacy gate's scan of files that are not named as tables: text
 * that may be a table, prose, and archives or compressed files holding either
 * (docs/internals/privacy-gate.md, "Files that are not tables"; issue 5 §4).
 *
 * A table of people is gated whatever it is called and however it is packed: a .txt file
 * is read as a delimited table, and when it is not one, line by line as free text (each
 * line a value of one column "text", scanned for embedded identifiers as free-text cells
 * of a table are); an archive (.zip, .tar.gz, .7z …) or a compressed file (.gz, .xz …)
 * is opened and each member that is a table, text or an archive is scanned the same
 * way, at most LIMIT_ARCHIVE_DEPTH archives deep and LIMIT_ARCHIVE_BYTES copied out. The
 * report of an archive is that of its worst member (the first the gate blocks, else the
 * one with the smallest k), naming it in "archive_member". Whatever cannot be read is
 * "unscanned", which the gate withholds until an approver overrides it.
 */
#include <fcntl.h>
#include <jansson.h>
#include <strings.h>
#include <unistd.h>

#include "core/limits.h"
#include "core/timeutil.h"
#include "core/util.h"
#include "datastore/datastore-int.h"
#include "privacy/detect.h"

json_t *ds_privacy_unscanned(const char *filename, const char *sha256_hex, const char *publisher,
                             const char *why)
{
    char now[TIME_ISO_MAX];
    json_t *rep;

    time_now_ckan(now);
    rep = json_pack("{s:s,s:s?,s:s?,s:s?,s:s,s:I,s:[],s:s}", "resource_id", "", "source_sha256",
                    sha256_hex, "filename", filename, "publisher", publisher, "scanned_at", now,
                    "rows", (json_int_t)0, "columns", "unscanned",
                    why && *why ? why : "the file cannot be read");
    BUG_ON(!rep);
    return rep;
}

bool ds_privacy_text_named(const char *filename)
{
    static const char *const exts[] = {".txt", ".dat", ".text", ".asc", ".prn"};
    const char *base = filename ? strrchr(filename, '/') : NULL;
    const char *dot;

    base = base ? base + 1 : filename;
    if (!base || !*base)
        return true;
    dot = strrchr(base, '.');
    if (!dot)
        return true;
    for (size_t i = 0; i < sizeof(exts) / sizeof(exts[0]); i++)
        if (!strcasecmp(dot, exts[i]))
            return true;
    return false;
}

/* Whether filename names a table format ingest reads (CSV, TSV, JSON, NDJSON, XLSX,
 * XLS), .txt aside (text_named). */
static bool table_named(const char *filename)
{
    enum ingest_format f = ingest_format_from_name(filename ? filename : "");
    size_t n = filename ? strlen(filename) : 0;

    return f != INGEST_FORMAT_AUTO &&
           !(f == INGEST_FORMAT_CSV && n >= 4 && !strcasecmp(filename + n - 4, ".txt"));
}

/* Scans the text file at path line by line as one free-text column "text": a report as
 * ds_privacy_report() makes (no quasi-identifiers, so no k), or an unscanned one when the
 * bytes do not decode. */
static json_t *scan_lines(const char *path, const char *filename, const char *sha256_hex,
                          const char *publisher)
{
    static const char *const names[] = {"text"};
    struct ingest_lines *l = NULL;
    struct detect_scan sc;
    struct err err = ERR_INIT;
    const char *s;
    size_t len;
    uint64_t line;
    json_t *rep, *scan;
    char now[TIME_ISO_MAX];
    int rc;

    if (ingest_lines_open(&l, path, &err))
        return ds_privacy_unscanned(filename, sha256_hex, publisher, err.msg);
    detect_scan_init(&sc, names, 1, detect_today());
    while ((rc = ingest_lines_next(l, &s, &len, &line, &err)) > 0) {
        struct dsvalue v = {len ? DSVALUE_TEXT : DSVALUE_NULL, 0, s, len};

        detect_scan_row(&sc, &v, 1);
    }
    ingest_lines_free(l);
    if (rc < 0) {
        detect_scan_release(&sc);
        return ds_privacy_unscanned(filename, sha256_hex, publisher, err.msg);
    }
    detect_scan_finish(&sc);
    scan = detect_scan_json(&sc);
    time_now_ckan(now);
    rep = json_pack("{s:s,s:s?,s:s?,s:s?,s:s,s:I,s:O,s:s,s:[],s:n}", "resource_id", "",
                    "source_sha256", sha256_hex, "filename", filename, "publisher", publisher,
                    "scanned_at", now, "rows", (json_int_t)sc.rows, "columns",
                    json_object_get(scan, "columns"), "read_as", "lines", "quasi_identifiers", "k");
    BUG_ON(!rep);
    json_decref(scan);
    detect_scan_release(&sc);
    ds_privacy_declare(rep, NULL);
    return rep;
}

struct archive_scan {
    struct catalog *c;
    const char *tmp_dir;  /* <files>/tmp: members are copied out there */
    const char *filename; /* the uploaded file's name */
    const char *sha256_hex;
    const char *publisher;
    bool personal;    /* judge members as records of people (personal_data) */
    unsigned depth;   /* archives open around the members now walked */
    uint64_t *budget; /* bytes still allowed out (ingest_archive_walk) */
    json_t *best;     /* the worst member's report so far */
    bool blocked;     /* best is one the gate blocks */
    unsigned scanned; /* members scanned */
};

static json_t *scan_path(struct archive_scan *as, const char *path, const char *name);

static bool member_wanted(void *arg, const char *name)
{
    const char *base = strrchr(name, '/');

    (void)arg;
    base = base ? base + 1 : name;
    /* macOS's AppleDouble companions (__MACOSX/._x.csv) hold file attributes, not data. */
    if (!strncmp(name, "__MACOSX/", 9) || !strncmp(base, "._", 2) || !*base)
        return false;
    /* Every member: one that is text whatever its name says is read as text
     * (scan_path); the others (images, PDFs) are copied out and left. */
    return true;
}

/* The k of a report, or INT64_MAX when it has none (no quasi-identifiers). */
static json_int_t report_k(const json_t *rep)
{
    const json_t *k = json_object_get(rep, "k");

    return json_is_integer(k) ? json_integer_value(k) : INT64_MAX;
}

/* Keeps the worse of as->best and rep (consumed); 1 to stop the walk (one blocked). */
static int keep_worse(struct archive_scan *as, const char *name, json_t *rep)
{
    json_t *verdict;
    bool blocked;

    if (!rep)
        return 0;
    as->scanned++;
    json_object_set_new(rep, "personal_data", json_boolean(as->personal));
    verdict = catalog_privacy_gate(rep, as->c->privacy_k);
    blocked = catalog_privacy_blocked(verdict);
    json_decref(verdict);
    json_object_del(rep, "personal_data");
    if (!json_object_get(rep, "archive_member"))
        json_object_set_new(rep, "archive_member", json_string(name));
    if (!as->best || blocked || report_k(rep) < report_k(as->best)) {
        json_decref(as->best);
        as->best = rep;
        as->blocked = blocked;
    } else {
        json_decref(rep);
    }
    return blocked ? 1 : 0;
}

static int member_scan(void *arg, const char *name, const char *path, struct err *err)
{
    struct archive_scan *as = arg;

    (void)err;
    return keep_worse(as, name, scan_path(as, path, name));
}

/* Scans the archive at path: the worst member's report, an unscanned one, or NULL when
 * no member is a table, text or an archive. */
static json_t *scan_archive(struct archive_scan *as, const char *path, const char *name)
{
    struct ingest_archive_walk w = {as->tmp_dir, member_wanted, member_scan, as};
    struct err err = ERR_INIT;
    int rc;

    if (as->depth >= LIMIT_ARCHIVE_DEPTH) {
        char *why = xstrfmt("archive \"%s\" is nested deeper than %u archives", name,
                            LIMIT_ARCHIVE_DEPTH);
        json_t *rep = ds_privacy_unscanned(as->filename, as->sha256_hex, as->publisher, why);

        free(why);
        return rep;
    }
    as->depth++;
    rc = ingest_archive_walk(path, name, &w, as->budget, &err);
    as->depth--;
    if (rc < 0)
        return ds_privacy_unscanned(as->filename, as->sha256_hex, as->publisher, err.msg);
    return NULL; /* the members went into as->best */
}

/* Whether the file at path starts as UTF-8 text: its first 64 KiB (at most) hold no NUL
 * and are valid UTF-8 (a sequence cut at the end of the block aside). A PDF, an image or
 * a word-processor file is not. */
static bool utf8_text(const char *path)
{
    unsigned char buf[64 * 1024];
    ssize_t n;
    size_t i = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);

    if (fd < 0)
        return false;
    n = read(fd, buf, sizeof(buf));
    close(fd);
    if (n <= 0)
        return false;
    while (i < (size_t)n) {
        unsigned char c = buf[i];
        size_t len = c < 0x80                   ? 1
                     : (c >= 0xc2 && c <= 0xdf) ? 2
                     : (c >= 0xe0 && c <= 0xef) ? 3
                     : (c >= 0xf0 && c <= 0xf4) ? 4
                                                : 0;

        if (!c || !len)
            return false;
        if (i + len > (size_t)n)
            return n == (ssize_t)sizeof(buf); /* cut by the block */
        for (size_t k = 1; k < len; k++)
            if ((buf[i + k] & 0xc0) != 0x80)
                return false;
        i += len;
    }
    return true;
}

/* Scans the text file at path: as a delimited table, else (prose) line by line. */
static json_t *scan_text(struct archive_scan *as, const char *path)
{
    json_t *rep = NULL;

    ds_privacy_scan_table(as->c, path, "upload.csv", as->sha256_hex, as->publisher, NULL, &rep);
    if (rep && json_object_get(rep, "unscanned")) {
        json_decref(rep);
        rep = scan_lines(path, as->filename, as->sha256_hex, as->publisher);
    }
    return rep;
}

/* Scans one file (the upload, or a member of an archive) named name: a report, or NULL
 * when it is nothing the gate reads (a PDF, an image: as on upload) or an archive whose
 * members went into as->best. */
static json_t *scan_path(struct archive_scan *as, const char *path, const char *name)
{
    bool archive_named = ingest_archive_named(name);
    json_t *rep = NULL;

    if (table_named(name)) {
        ds_privacy_scan_table(as->c, path, name, as->sha256_hex, as->publisher, NULL, &rep);
    } else if (archive_named || ingest_archive_sniff(path)) {
        rep = scan_archive(as, path, name);
        /* Text that merely starts as an archive would ("070701,…" is a cpio header) is
         * read as the text it is named. */
        if (!archive_named && rep && json_object_get(rep, "unscanned") &&
            ds_privacy_text_named(name)) {
            json_decref(rep);
            rep = scan_text(as, path);
        }
    } else if (ds_privacy_text_named(name) || utf8_text(path)) {
        /* Named as text, or text whatever its name says (people.csv renamed people.pdf
         * or readme.bin: found by a fresh-user test). */
        rep = scan_text(as, path);
    }
    if (rep)
        json_object_set_new(rep, "filename", json_string(as->filename ? as->filename : ""));
    return rep;
}

json_t *ds_privacy_scan_other(struct catalog *c, const char *path, const char *filename,
                              const char *sha256_hex, const char *publisher, bool personal)
{
    uint64_t budget = LIMIT_ARCHIVE_BYTES;
    char *tmp_dir = xstrfmt("%s/tmp", c->files_dir);
    struct archive_scan as = {c,          tmp_dir,   filename ? filename : "",
                              sha256_hex, publisher, personal,
                              0,          &budget,   NULL,
                              false,      0};
    json_t *rep = scan_path(&as, path, as.filename);

    if (rep) {
        json_decref(as.best);
    } else if (as.best) {
        rep = as.best;
        json_object_set_new(rep, "filename", json_string(as.filename));
        json_object_set_new(rep, "archive_members_scanned", json_integer((json_int_t)as.scanned));
    }
    free(tmp_dir);
    return rep;
}
