/*
 * persist.c - what data.json keeps on disk between server runs, in <files_dir>/dcat/
 * (docs/internals/dcat.md, "Speed and memory"):
 *
 *   data.json-<hex>  the whole document last written, named by the SHA-256 of the
 *                    options it was written with and the store version it reflects
 *                    (the same pair its ETag names), so that the next request of an
 *                    unchanged catalog, in this process or the next, is a file read;
 *   entries          the process cache of entries (cache.c), so that a server started
 *                    after a change rebuilds data.json from it instead of parsing every
 *                    dataset again.
 *
 * A snapshot file: a 24-byte header ("KFDJSON1", the dataset count and the body's
 * length, little-endian u64s), then the body. Files are written to a temporary name
 * and renamed, so a reader sees a whole file or none; a file whose size disagrees with
 * its header is ignored. Nothing here is ever needed: every failure only costs speed
 * (logged at debug level).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/log.h"
#include "crypto/digest.h"
#include "dcat/dcat-int.h"
#include "core/util.h"

#define SNAPSHOT_MAGIC  "KFDJSON1"
#define SNAPSHOT_HEADER 24u
#define SNAPSHOT_PREFIX "data.json-"

char *dcat_persist_dir(const struct catalog *c)
{
    char *dir;

    if (!c->files_dir || !*c->files_dir)
        return NULL;
    dir = xstrfmt("%s/dcat", c->files_dir);
    if (mkdir(dir, 0750) && errno != EEXIST) {
        log_debug("dcat: cannot create \"%s\": %s", dir, strerror(errno));
        free(dir);
        return NULL;
    }
    return dir;
}

int dcat_write_all(int fd, const void *p, size_t n)
{
    const char *s = p;

    while (n) {
        ssize_t w = write(fd, s, n);

        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        s += w;
        n -= (size_t)w;
    }
    return 0;
}

static void put_u64(unsigned char *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

static uint64_t get_u64(const unsigned char *p)
{
    uint64_t v = 0;

    for (int i = 7; i >= 0; i--)
        v = (v << 8) | p[i];
    return v;
}

static char *snapshot_path(const char *dir, const uint8_t key[SHA256_LEN])
{
    char hex[SHA256_HEX_LEN];

    hex_encode(key, SHA256_LEN, hex);
    return xstrfmt("%s/" SNAPSHOT_PREFIX "%s", dir, hex);
}

int dcat_snapshot_open(const char *dir, const uint8_t key[SHA256_LEN], size_t *count, uint64_t *len)
{
    unsigned char h[SNAPSHOT_HEADER];
    char *path = snapshot_path(dir, key);
    struct stat st;
    ssize_t n;
    int fd = open(path, O_RDONLY | O_CLOEXEC);

    free(path);
    if (fd < 0)
        return -1;
    do
        n = read(fd, h, sizeof(h));
    while (n < 0 && errno == EINTR);
    if (n != (ssize_t)sizeof(h) || memcmp(h, SNAPSHOT_MAGIC, 8) || fstat(fd, &st) ||
        (uint64_t)st.st_size != SNAPSHOT_HEADER + get_u64(h + 16) || get_u64(h + 8) > SIZE_MAX) {
        close(fd);
        return -1;
    }
    *count = (size_t)get_u64(h + 8);
    *len = get_u64(h + 16);
    return fd;
}

void dcat_snapshot_begin(struct dcat_snapshot_writer *w, const char *dir,
                         const uint8_t key[SHA256_LEN])
{
    unsigned char h[SNAPSHOT_HEADER] = {0};

    memset(w, 0, sizeof(*w));
    w->fd = -1;
    if (!dir)
        return;
    w->dir = xstrdup(dir);
    memcpy(w->key, key, SHA256_LEN);
    w->tmp = xstrfmt("%s/tmp-XXXXXX", dir);
    w->fd = mkstemp(w->tmp);
    if (w->fd < 0 || dcat_write_all(w->fd, h, sizeof(h))) {
        log_debug("dcat: cannot write \"%s\": %s", w->tmp, strerror(errno));
        dcat_snapshot_abandon(w);
    }
}

void dcat_snapshot_add(struct dcat_snapshot_writer *w, const void *p, size_t n)
{
    if (w->fd < 0)
        return;
    if (dcat_write_all(w->fd, p, n)) {
        log_debug("dcat: cannot write \"%s\": %s", w->tmp, strerror(errno));
        dcat_snapshot_abandon(w);
        return;
    }
    w->len += n;
}

/* Removes the snapshots of dir other than keep (the older versions). */
static void remove_others(const char *dir, const char *keep)
{
    DIR *d = opendir(dir);
    struct dirent *e;

    if (!d)
        return;
    while ((e = readdir(d))) {
        char *path;

        if (strncmp(e->d_name, SNAPSHOT_PREFIX, sizeof(SNAPSHOT_PREFIX) - 1))
            continue;
        path = xstrfmt("%s/%s", dir, e->d_name);
        if (strcmp(path, keep))
            unlink(path);
        free(path);
    }
    closedir(d);
}

void dcat_snapshot_commit(struct dcat_snapshot_writer *w, size_t count)
{
    unsigned char h[SNAPSHOT_HEADER];
    char *path;

    if (w->fd < 0)
        return;
    memcpy(h, SNAPSHOT_MAGIC, 8);
    put_u64(h + 8, count);
    put_u64(h + 16, w->len);
    if (pwrite(w->fd, h, sizeof(h), 0) != (ssize_t)sizeof(h) || close(w->fd)) {
        w->fd = -1;
        dcat_snapshot_abandon(w);
        return;
    }
    w->fd = -1;
    path = snapshot_path(w->dir, w->key);
    if (rename(w->tmp, path)) {
        log_debug("dcat: cannot rename \"%s\": %s", w->tmp, strerror(errno));
        dcat_snapshot_abandon(w);
    } else {
        free(w->tmp);
        w->tmp = NULL;
        remove_others(w->dir, path);
        dcat_snapshot_abandon(w);
    }
    free(path);
}

void dcat_snapshot_abandon(struct dcat_snapshot_writer *w)
{
    if (w->fd >= 0)
        close(w->fd);
    if (w->tmp)
        unlink(w->tmp);
    free(w->tmp);
    free(w->dir);
    memset(w, 0, sizeof(*w));
    w->fd = -1;
}
