/*
 * Fuzz harness for the privacy gate's archive walk (src/ingest/archive.c, libarchive
 * underneath) and its line reader (src/ingest/lines.c). The input is the uploaded file:
 * written to a memory file, walked as an archive (every member wanted, a budget of
 * FUZZ_BUDGET bytes), each member read back as lines; and read as lines itself.
 *
 * Invariants, beyond "no crash":
 * - the budget only goes down, by exactly the bytes of the members handed over;
 * - a member file holds what the budget was charged for and is mode 0600;
 * - a failed walk sets an error kind, a message and the field "file" (or the member
 *   callback's, which never fails here);
 * - every line is valid for its length (NUL-terminated at len, no NUL, no CR or LF
 *   inside), numbered 1, 2, 3 …, at most LIMIT_INGEST_RECORD bytes; a failed read sets a
 *   message.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/limits.h"
#include "core/util.h"
#include "ingest/ingest.h"

#define FUZZ_MAX_INPUT (256u * 1024)
#define FUZZ_BUDGET    (4u << 20)

static void check_lines(const char *path)
{
    struct ingest_lines *l = NULL;
    struct err err = ERR_INIT;
    const char *s;
    size_t len;
    uint64_t line, expect = 1;
    int rc;

    if (ingest_lines_open(&l, path, &err)) {
        BUG_ON(!err.msg[0] || l);
        return;
    }
    while ((rc = ingest_lines_next(l, &s, &len, &line, &err)) > 0) {
        BUG_ON(line != expect++);
        BUG_ON(s[len] != '\0' || strlen(s) != len || len > LIMIT_INGEST_RECORD);
        BUG_ON(memchr(s, '\n', len) || memchr(s, '\r', len));
    }
    BUG_ON(rc < 0 && !err.msg[0]);
    ingest_lines_free(l);
}

struct walked {
    uint64_t copied;
};

static bool want_all(void *arg, const char *name)
{
    (void)arg;
    BUG_ON(!name);
    return true;
}

static int member(void *arg, const char *name, const char *path, struct err *err)
{
    struct walked *w = arg;
    struct stat st;

    (void)name;
    (void)err;
    BUG_ON(stat(path, &st) || (st.st_mode & 0777) != 0600);
    w->copied += (uint64_t)st.st_size;
    check_lines(path);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct walked w = {0};
    struct ingest_archive_walk walk = {"/tmp", want_all, member, &w};
    struct err err = ERR_INIT;
    uint64_t budget = FUZZ_BUDGET;
    char path[64];
    int fd, rc;

    if (size > FUZZ_MAX_INPUT)
        return 0;
    fd = memfd_create("fuzz-archive", 0);
    BUG_ON(fd < 0);
    BUG_ON(size && write(fd, data, size) != (ssize_t)size);
    xsnprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
    (void)ingest_archive_sniff(path);
    rc = ingest_archive_walk(path, "upload.csv.gz", &walk, &budget, &err);
    BUG_ON(budget > FUZZ_BUDGET || FUZZ_BUDGET - budget < w.copied);
    if (rc) {
        BUG_ON(rc > 0 || !err.kind || !err.msg[0] ||
               (err.kind != ERR_INTERNAL && strcmp(err.field, "file")));
    } else {
        BUG_ON(FUZZ_BUDGET - budget != w.copied);
    }
    check_lines(path);
    close(fd);
    return 0;
}
