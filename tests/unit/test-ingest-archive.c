/*
 * Unit tests for src/ingest/archive.c (the members of archives and compressed files, for
 * the privacy gate) and src/ingest/lines.c (text read as lines). The archives are
 * written here with libarchive's writer: zip, tar.gz, a lone gzip file; and broken ones
 * (truncated, not an archive at all).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>

#include "core/buf.h"
#include "core/limits.h"
#include "ingest/ingest.h"
#include "unit-util.h"
#include "core/util.h"

static char tmpdir[64];

static int group_setup(void **state)
{
    (void)state;
    return unit_tmpdir(tmpdir, sizeof(tmpdir), "archive");
}

static int group_teardown(void **state)
{
    (void)state;
    unit_remove_tree(tmpdir);
    return 0;
}

struct member {
    const char *name;
    const char *data; /* NULL: a directory */
};

/* Writes an archive of format (ARCHIVE_FORMAT_ZIP, ARCHIVE_FORMAT_TAR_USTAR or
 * ARCHIVE_FORMAT_RAW) with filter (ARCHIVE_FILTER_NONE, _GZIP) to tmpdir/name; the path,
 * free() it. */
static char *write_archive(const char *name, int format, int filter, const struct member *m,
                           size_t n)
{
    char *path = xstrfmt("%s/%s", tmpdir, name);
    struct archive *a = archive_write_new();

    assert_int_equal(archive_write_set_format(a, format), ARCHIVE_OK);
    if (filter != ARCHIVE_FILTER_NONE)
        assert_int_equal(archive_write_add_filter(a, filter), ARCHIVE_OK);
    assert_int_equal(archive_write_open_filename(a, path), ARCHIVE_OK);
    for (size_t i = 0; i < n; i++) {
        struct archive_entry *e = archive_entry_new();

        archive_entry_set_pathname(e, m[i].name);
        if (m[i].data) {
            archive_entry_set_filetype(e, AE_IFREG);
            archive_entry_set_perm(e, 0644);
            archive_entry_set_size(e, (la_int64_t)strlen(m[i].data));
        } else {
            archive_entry_set_filetype(e, AE_IFDIR);
            archive_entry_set_perm(e, 0755);
        }
        assert_int_equal(archive_write_header(a, e), ARCHIVE_OK);
        if (m[i].data)
            assert_int_equal(archive_write_data(a, m[i].data, strlen(m[i].data)),
                             (la_ssize_t)strlen(m[i].data));
        archive_entry_free(e);
    }
    assert_int_equal(archive_write_close(a), ARCHIVE_OK);
    archive_write_free(a);
    return path;
}

static char *write_file(const char *name, const void *data, size_t len)
{
    char *path = xstrfmt("%s/%s", tmpdir, name);
    FILE *f = fopen(path, "wb");

    assert_non_null(f);
    assert_int_equal(fwrite(data, 1, len, f), len);
    assert_int_equal(fclose(f), 0);
    return path;
}

static char *slurp(const char *path)
{
    struct buf b = BUF_INIT;
    char chunk[4096];
    size_t n;
    FILE *f = fopen(path, "rb");

    assert_non_null(f);
    while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
        buf_add(&b, chunk, n);
    fclose(f);
    return buf_detach(&b, NULL);
}

/* What a walk saw: "name=content;" for each member handed over. */
struct seen {
    struct buf log;
    const char *want_suffix; /* NULL: every member */
    int fail_at;             /* member number (1-based) whose callback fails, 0: none */
    int count;
};

static bool want(void *arg, const char *name)
{
    struct seen *s = arg;
    size_t n = strlen(name), m = s->want_suffix ? strlen(s->want_suffix) : 0;

    return !s->want_suffix || (n >= m && !strcmp(name + n - m, s->want_suffix));
}

static int member(void *arg, const char *name, const char *path, struct err *err)
{
    struct seen *s = arg;
    char *data = slurp(path);
    struct stat st;

    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    buf_addf(&s->log, "%s=%s;", name, data);
    free(data);
    if (++s->count == s->fail_at)
        return err_set(err, ERR_VALIDATION, "x", "stop at %s", name);
    return 0;
}

static int walk(const char *path, const char *filename, struct seen *s, uint64_t *budget,
                struct err *err)
{
    struct ingest_archive_walk w = {tmpdir, want, member, s};

    return ingest_archive_walk(path, filename, &w, budget, err);
}

static void test_zip_members(void **state)
{
    const struct member m[] = {
            {"data/", NULL},
            {"data/people.csv", "id,name\n1,a\n"},
            {"report.pdf", "%PDF-1.4"},
            {"data/more.csv", "x\n2\n"},
    };
    char *path = write_archive("a.zip", ARCHIVE_FORMAT_ZIP, ARCHIVE_FILTER_NONE, m, 4);
    struct seen s = {BUF_INIT, ".csv", 0, 0};
    struct err err = ERR_INIT;
    uint64_t budget = 1000;

    (void)state;
    assert_true(ingest_archive_sniff(path));
    assert_int_equal(walk(path, "a.zip", &s, &budget, &err), 0);
    /* In order, the wanted regular members only; the budget lowered by what was copied. */
    assert_string_equal(s.log.buf, "data/people.csv=id,name\n1,a\n;data/more.csv=x\n2\n;");
    assert_int_equal(budget, 1000 - strlen(m[1].data) - strlen(m[3].data));
    buf_release(&s.log);
    free(path);
}

static void test_tar_gz_and_lone_gzip(void **state)
{
    const struct member t[] = {{"counts.csv", "a,b\n1,2\n"}, {"notes.txt", "hello\n"}};
    const struct member g[] = {{"data", "id,name\n1,a\n"}};
    char *tgz = write_archive("b.tar.gz", ARCHIVE_FORMAT_TAR_USTAR, ARCHIVE_FILTER_GZIP, t, 2);
    char *gz = write_archive("people.csv.gz", ARCHIVE_FORMAT_RAW, ARCHIVE_FILTER_GZIP, g, 1);
    struct seen s = {BUF_INIT, NULL, 0, 0};
    struct err err = ERR_INIT;
    uint64_t budget = LIMIT_ARCHIVE_BYTES;

    (void)state;
    assert_int_equal(walk(tgz, "b.tar.gz", &s, &budget, &err), 0);
    assert_string_equal(s.log.buf, "counts.csv=a,b\n1,2\n;notes.txt=hello\n;");
    buf_reset(&s.log);
    /* A lone compressed file holds one member named after it, its extension dropped. */
    assert_int_equal(walk(gz, "dir/People.CSV.GZ", &s, &budget, &err), 0);
    assert_string_equal(s.log.buf, "People.CSV=id,name\n1,a\n;");
    buf_reset(&s.log);
    assert_int_equal(walk(gz, "upload", &s, &budget, &err), 0);
    assert_string_equal(s.log.buf, "data=id,name\n1,a\n;");
    buf_release(&s.log);
    free(tgz);
    free(gz);
}

static void test_limits_and_errors(void **state)
{
    const struct member m[] = {{"a.csv", "0123456789"}, {"b.csv", "0123456789"}};
    char *path = write_archive("c.zip", ARCHIVE_FORMAT_ZIP, ARCHIVE_FILTER_NONE, m, 2);
    char *plain = write_file("plain.txt", "id,name\n1,a\n", 12);
    char *data = slurp(path), *cut;
    struct seen s = {BUF_INIT, NULL, 0, 0};
    struct err err = ERR_INIT;
    struct stat st;
    uint64_t budget = 15;

    (void)state;
    /* The budget runs out in the second member. */
    assert_int_equal(walk(path, "c.zip", &s, &budget, &err), -ERR_TOO_LARGE);
    assert_string_equal(err.field, "file");
    assert_non_null(strstr(err.msg, "at member \"b.csv\""));
    assert_string_equal(s.log.buf, "a.csv=0123456789;");
    /* The member callback's error stops the walk and is returned. */
    buf_reset(&s.log);
    s.fail_at = 1;
    s.count = 0;
    budget = 100;
    err_clear(&err);
    assert_int_equal(walk(path, "c.zip", &s, &budget, &err), -ERR_VALIDATION);
    assert_string_equal(err.msg, "stop at a.csv");
    /* A file that is not an archive, and a zip cut in half. */
    err_clear(&err);
    s.fail_at = 0;
    assert_false(ingest_archive_sniff(plain));
    assert_int_equal(walk(plain, "plain.txt", &s, &budget, &err), -ERR_VALIDATION);
    assert_non_null(strstr(err.msg, "\"plain.txt\" is not an archive"));
    assert_int_equal(stat(path, &st), 0);
    cut = write_file("cut.zip", data, (size_t)st.st_size / 2);
    err_clear(&err);
    buf_reset(&s.log);
    budget = 100;
    assert_true(walk(cut, "cut.zip", &s, &budget, &err) < 0);
    assert_string_equal(err.field, "file");
    assert_non_null(strstr(err.msg, "cut.zip"));
    buf_release(&s.log);
    free(path);
    free(plain);
    free(data);
    free(cut);
}

static void test_archive_named(void **state)
{
    (void)state;
    assert_true(ingest_archive_named("a.zip"));
    assert_true(ingest_archive_named("dir/A.TAR.GZ"));
    assert_true(ingest_archive_named("x.csv.gz"));
    assert_true(ingest_archive_named("x.7z"));
    assert_false(ingest_archive_named("x.csv"));
    assert_false(ingest_archive_named("x.xlsx"));
    assert_false(ingest_archive_named("zip"));
    assert_false(ingest_archive_named(NULL));
}

/* ---- lines.c ------------------------------------------------------------------------ */

static void read_lines(const char *path, struct buf *out)
{
    struct ingest_lines *l = NULL;
    struct err err = ERR_INIT;
    const char *s;
    size_t len;
    uint64_t line, expect = 1;
    int rc;

    assert_int_equal(ingest_lines_open(&l, path, &err), 0);
    while ((rc = ingest_lines_next(l, &s, &len, &line, &err)) > 0) {
        assert_int_equal(line, expect++);
        assert_int_equal(strlen(s), len);
        buf_addf(out, "[%s]", s);
    }
    assert_int_equal(rc, 0);
    ingest_lines_free(l);
}

static void test_lines(void **state)
{
    static const char mixed[] = "one\r\ntwo\rthree\n\nlast";
    char *p = write_file("mixed.txt", mixed, sizeof(mixed) - 1);
    char *gb =
            write_file("gb.txt", "\xc4\xe3\xba\xc3,\xca\xc0\xbd\xe7\r\n\xd6\xd0\xce\xc4\r\n", 16);
    struct buf out = BUF_INIT;

    (void)state;
    read_lines(p, &out);
    assert_string_equal(out.buf, "[one][two][three][][last]");
    buf_reset(&out);
    read_lines(gb, &out);
    assert_string_equal(out.buf, "[你好,世界][中文]");
    buf_release(&out);
    free(p);
    free(gb);
}

static void test_lines_long_and_bad(void **state)
{
    size_t n = LIMIT_INGEST_RECORD + 10;
    char *big = xmalloc(n + 1), *p, *bad;
    struct ingest_lines *l = NULL;
    struct err err = ERR_INIT;
    const char *s;
    size_t len;
    uint64_t line;

    (void)state;
    /* A line past the limit comes in pieces, cut before a character starts ("é" is two
     * bytes and straddles the limit). */
    memset(big, 'a', n);
    memcpy(big + LIMIT_INGEST_RECORD - 1, "\xc3\xa9", 2);
    big[n] = '\n';
    p = write_file("long.txt", big, n + 1);
    assert_int_equal(ingest_lines_open(&l, p, &err), 0);
    assert_int_equal(ingest_lines_next(l, &s, &len, &line, &err), 1);
    assert_int_equal(len, LIMIT_INGEST_RECORD - 1);
    assert_int_equal(ingest_lines_next(l, &s, &len, &line, &err), 1);
    assert_int_equal(len, n - (LIMIT_INGEST_RECORD - 1));
    assert_memory_equal(s, "\xc3\xa9", 2);
    assert_int_equal(line, 2);
    assert_int_equal(ingest_lines_next(l, &s, &len, &line, &err), 0);
    ingest_lines_free(l);
    /* A NUL byte is an error naming its line. */
    bad = write_file("bad.txt", "ok\nbad\0byte\n", 12);
    assert_int_equal(ingest_lines_open(&l, bad, &err), 0);
    assert_int_equal(ingest_lines_next(l, &s, &len, &line, &err), 1);
    assert_true(ingest_lines_next(l, &s, &len, &line, &err) < 0);
    assert_non_null(strstr(err.msg, "line 2"));
    ingest_lines_free(l);
    free(big);
    free(p);
    free(bad);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_zip_members),
            cmocka_unit_test(test_tar_gz_and_lone_gzip),
            cmocka_unit_test(test_limits_and_errors),
            cmocka_unit_test(test_archive_named),
            cmocka_unit_test(test_lines),
            cmocka_unit_test(test_lines_long_and_bad),
    };

    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
