/*
 * archive.c - the members of an archive or a compressed file, read with libarchive, for
 * the privacy gate (issue 5 §4: a table of people inside a .zip is a table of people;
 * docs/internals/privacy-gate.md, "Archives").
 *
 * The walk reads the archive once, in order. Each regular member the caller wants (by
 * its name) is copied to a temporary file of its own, handed to the caller and removed;
 * the others are skipped without being decompressed. Limits keep a small archive from
 * expanding into the disk (a "zip bomb"): the bytes copied out, the members seen.
 */
#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <strings.h>
#include <unistd.h>

#include "core/limits.h"
#include "core/util.h"
#include "ingest/ingest.h"

/* Extensions of archives and compressed files, lower case, longest first where one ends
 * another (".tar.gz" before ".gz"). */
static const char *const archive_exts[] = {
        ".tar.gz", ".tar.bz2", ".tar.xz", ".tar.zst", ".zip", ".tgz", ".tbz2", ".txz",
        ".tar",    ".gz",      ".bz2",    ".xz",      ".zst", ".lz4", ".7z",   ".rar",
        ".cpio",   ".iso",     ".cab",    ".lzh",     ".lha", ".ar",  ".jar",
};

/* Compression-only extensions: the member of "x.csv.gz" is "x.csv". */
static const char *const compress_exts[] = {".gz", ".bz2", ".xz", ".zst", ".lz4"};

static bool ends_with_ci(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);

    return n >= m && !strcasecmp(s + n - m, suffix);
}

bool ingest_archive_named(const char *filename)
{
    if (!filename)
        return false;
    for (size_t i = 0; i < sizeof(archive_exts) / sizeof(archive_exts[0]); i++)
        if (ends_with_ci(filename, archive_exts[i]))
            return true;
    return false;
}

bool ingest_archive_sniff(const char *path)
{
    static const struct {
        size_t off, len;
        const char *magic;
    } sigs[] = {
            {0, 4, "PK\x03\x04"}, /* zip (also XLSX, DOCX, ODF, JAR) */
            {0, 4, "PK\x05\x06"}, /* empty zip */
            {0, 2, "\x1f\x8b"},   /* gzip */
            {0, 3, "BZh"},        /* bzip2 */
            {0, 6,
             "\xfd"
             "7zXZ\x00"},                 /* xz */
            {0, 4, "\x28\xb5\x2f\xfd"},   /* zstd */
            {0, 4, "\x04\x22\x4d\x18"},   /* lz4 */
            {0, 6, "7z\xbc\xaf\x27\x1c"}, /* 7-Zip */
            {0, 4, "Rar!"},               /* RAR */
            {257, 5, "ustar"},            /* tar (POSIX) */
            {0, 8, "!<arch>\n"},          /* ar */
            {0, 4, "MSCF"},               /* cabinet */
            {0, 6, "070707"},             /* cpio (odc) */
            {0, 6, "070701"},             /* cpio (newc) */
    };
    unsigned char head[262];
    ssize_t n;
    int fd = open(path, O_RDONLY | O_CLOEXEC);

    if (fd < 0)
        return false;
    n = read(fd, head, sizeof(head));
    close(fd);
    if (n <= 0)
        return false;
    for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
        if ((size_t)n >= sigs[i].off + sigs[i].len &&
            !memcmp(head + sigs[i].off, sigs[i].magic, sigs[i].len))
            return true;
    return false;
}

/* The name a member of a raw compressed file gets: filename without its compression
 * extension ("people.csv.gz" → "people.csv"), or "data". New string. */
static char *raw_member_name(const char *filename)
{
    const char *base = filename ? strrchr(filename, '/') : NULL;

    base = base ? base + 1 : filename;
    if (base && *base)
        for (size_t i = 0; i < sizeof(compress_exts) / sizeof(compress_exts[0]); i++)
            if (ends_with_ci(base, compress_exts[i]) && strlen(base) > strlen(compress_exts[i]))
                return xstrndup(base, strlen(base) - strlen(compress_exts[i]));
    return xstrdup("data");
}

static int archive_error(struct archive *a, const char *filename, struct err *err)
{
    const char *why = archive_error_string(a);

    return err_set(err, ERR_VALIDATION, "file", "archive \"%s\" cannot be read: %s",
                   filename ? filename : "", why ? why : "unknown error");
}

/* Copies the current member's data to a new temporary file of dir: its path in *out
 * (new string). *budget is the bytes still allowed, lowered by what was copied. */
static int copy_member(struct archive *a, const char *dir, const char *filename, const char *name,
                       uint64_t *budget, char **out, struct err *err)
{
    char *path = xstrfmt("%s/archive-member-XXXXXX", dir);
    char buf[64 * 1024];
    int fd = mkstemp(path), rc = 0;
    la_ssize_t n;

    *out = NULL;
    if (fd < 0) {
        rc = err_set(err, ERR_INTERNAL, NULL, "cannot create a temporary file in %s: %s", dir,
                     strerror(errno));
        free(path);
        return rc;
    }
    while ((n = archive_read_data(a, buf, sizeof(buf))) > 0) {
        if ((uint64_t)n > *budget) {
            rc = err_set(err, ERR_TOO_LARGE, "file",
                         "archive \"%s\": its tables hold more than %llu bytes once "
                         "uncompressed (at member \"%s\")",
                         filename ? filename : "", (unsigned long long)LIMIT_ARCHIVE_BYTES, name);
            break;
        }
        *budget -= (uint64_t)n;
        for (la_ssize_t off = 0; off < n && !rc;) {
            ssize_t w = write(fd, buf + off, (size_t)(n - off));

            if (w < 0 && errno == EINTR)
                continue;
            if (w <= 0)
                rc = err_set(err, ERR_INTERNAL, NULL, "cannot write a temporary file in %s: %s",
                             dir, strerror(errno));
            else
                off += w;
        }
        if (rc)
            break;
    }
    if (!rc && n < 0)
        rc = err_set(err, ERR_VALIDATION, "file",
                     "archive \"%s\": member \"%s\" cannot be read: %s", filename ? filename : "",
                     name, archive_error_string(a) ? archive_error_string(a) : "unknown error");
    if (close(fd) && !rc)
        rc = err_set(err, ERR_INTERNAL, NULL, "cannot write a temporary file in %s: %s", dir,
                     strerror(errno));
    if (rc) {
        unlink(path);
        free(path);
        return rc;
    }
    *out = path;
    return 0;
}

int ingest_archive_walk(const char *path, const char *filename, const struct ingest_archive_walk *w,
                        uint64_t *budget, struct err *err)
{
    struct archive *a = archive_read_new();
    struct archive_entry *e;
    unsigned members = 0;
    bool raw;
    int rc = 0, r;

    BUG_ON(!a);
    archive_read_support_filter_all(a);
    /* Not archive_read_support_format_all(): its mtree reader takes lines of text for
     * entries ("id,name" would be a file name), so a gzipped CSV would read as an mtree
     * of members named after its lines. Archives that hold files only: */
    archive_read_support_format_7zip(a);
    archive_read_support_format_ar(a);
    archive_read_support_format_cab(a);
    archive_read_support_format_cpio(a);
    archive_read_support_format_iso9660(a);
    archive_read_support_format_lha(a);
    archive_read_support_format_rar(a);
    archive_read_support_format_rar5(a);
    archive_read_support_format_tar(a);
    archive_read_support_format_xar(a);
    archive_read_support_format_zip(a);
    /* A lone compressed file (people.csv.gz) is the "raw" format: one member. */
    archive_read_support_format_raw(a);
    if (archive_read_open_filename(a, path, 64 * 1024) != ARCHIVE_OK) {
        rc = archive_error(a, filename, err);
        goto out;
    }
    while ((r = archive_read_next_header(a, &e)) != ARCHIVE_EOF) {
        const char *name;
        char *raw_name = NULL, *tmp = NULL;

        if (r < ARCHIVE_WARN) {
            rc = archive_error(a, filename, err);
            break;
        }
        raw = archive_format(a) == ARCHIVE_FORMAT_RAW;
        if (raw && archive_filter_count(a) <= 1) {
            /* Not an archive nor compressed: raw read the file as it is. */
            rc = err_set(err, ERR_VALIDATION, "file", "\"%s\" is not an archive",
                         filename ? filename : "");
            break;
        }
        if (++members > LIMIT_ARCHIVE_MEMBERS) {
            rc = err_set(err, ERR_TOO_LARGE, "file", "archive \"%s\" holds more than %u members",
                         filename ? filename : "", LIMIT_ARCHIVE_MEMBERS);
            break;
        }
        if (archive_entry_filetype(e) != AE_IFREG)
            continue;
        if (raw)
            name = raw_name = raw_member_name(filename);
        else
            name = archive_entry_pathname_utf8(e) ? archive_entry_pathname_utf8(e)
                                                  : archive_entry_pathname(e);
        if (!name)
            name = "";
        if (!w->want(w->arg, name)) {
            free(raw_name);
            continue;
        }
        if (archive_entry_is_encrypted(e)) {
            rc = err_set(err, ERR_VALIDATION, "file",
                         "archive \"%s\": member \"%s\" is encrypted and cannot be read",
                         filename ? filename : "", name);
            free(raw_name);
            break;
        }
        rc = copy_member(a, w->tmp_dir, filename, name, budget, &tmp, err);
        if (!rc)
            rc = w->member(w->arg, name, tmp, err);
        if (tmp)
            unlink(tmp);
        free(tmp);
        free(raw_name);
        if (rc)
            break;
    }
out:
    archive_read_free(a);
    return rc;
}
