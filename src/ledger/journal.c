/*
 * journal.c - the read journal: the entries of restricted reads (and refusals) appended
 * to a file of their own next to the database, so that a read never takes the store's
 * write transaction; the sequencer moves them into ledger_entries in batches
 * (docs/internals/ledger.md, "The read journal").
 *
 * File: a 16-byte header (the magic "KFJRNL1\n", then the file's generation as a
 * little-endian uint64, random and never 0), then records: a little-endian uint32 entry
 * length, the entry's 32-byte leaf hash (a checksum of the record as well), the entry.
 *
 * Appending: one write() of the whole record under this process's mutex and flock()
 * (LOCK_EX, so that a drainer of another process sharing the database excludes it too);
 * a short write is cut off again before the lock is released, so the file only ever
 * holds whole records. The read is answered after write() returned: the record is then
 * in the kernel's page cache, which survives the process (SIGKILL, a crash), not the
 * machine (power loss before the kernel wrote it back): the durability of the store's
 * own commits (SQLite WAL with synchronous = NORMAL, docs/internals/store.md).
 *
 * Draining (inside a store write transaction, the journal locked from the staging to
 * after the commit): the records are staged in order and the store's journal mark
 * (store_ledger_journal_put) set to the file's generation in the same transaction; after
 * the commit the file is cut to a new header with a new generation. A crash between the
 * commit and the cut leaves a file whose generation equals the mark: its records are
 * already staged, so the next drain only cuts it. Nothing is appended meanwhile (the
 * lock), so the cut loses no record.
 */
#include <fcntl.h>
#include <pthread.h>
#include <sodium.h>
#include <stdatomic.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/log.h"
#include "ledger/ledger-int.h"
#include "ledger/ledger.h"
#include "core/util.h"

#define MAGIC      "KFJRNL1\n"
#define HEADER_LEN 16u
#define REC_HEAD   (4u + LEDGER_HASH_LEN)

struct ledger_journal {
    uint64_t store_id; /* store_id() of the store it feeds */
    int fd;
    char *path;
    pthread_mutex_t lock; /* this process's appenders and drainers */
};

/* The process's journal (one store per process has one: the portal's). Set before the
 * server's threads start and cleared after they stopped. */
static _Atomic(struct ledger_journal *) journal;

static struct ledger_journal *journal_of(const struct store *s)
{
    struct ledger_journal *j = atomic_load_explicit(&journal, memory_order_acquire);

    return j && j->store_id == store_id(s) ? j : NULL;
}

static void put_le64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static uint64_t get_le64(const uint8_t *p)
{
    uint64_t v = 0;

    for (int i = 7; i >= 0; i--)
        v = (v << 8) | p[i];
    return v;
}

/* Locks the journal for this thread: the process's mutex, then the file's flock. */
static int journal_lock(struct ledger_journal *j, struct err *err)
{
    pthread_mutex_lock(&j->lock);
    while (flock(j->fd, LOCK_EX)) {
        if (errno == EINTR)
            continue;
        pthread_mutex_unlock(&j->lock);
        return err_set(err, ERR_INTERNAL, NULL, "cannot lock the ledger journal %s: %s", j->path,
                       strerror(errno));
    }
    return 0;
}

static void journal_unlock(struct ledger_journal *j)
{
    flock(j->fd, LOCK_UN);
    pthread_mutex_unlock(&j->lock);
}

/* Cuts the file to a new header with a generation other than not (journal locked). */
static int journal_reset(struct ledger_journal *j, uint64_t not, struct err *err)
{
    uint8_t h[HEADER_LEN];
    uint64_t gen;

    do
        randombytes_buf(&gen, sizeof(gen));
    while (gen == 0 || gen == not );
    memcpy(h, MAGIC, 8);
    put_le64(h + 8, gen);
    if (ftruncate(j->fd, 0) || pwrite(j->fd, h, sizeof(h), 0) != (ssize_t)sizeof(h))
        return err_set(err, ERR_INTERNAL, NULL, "cannot reset the ledger journal %s: %s", j->path,
                       strerror(errno));
    return 0;
}

/* The file's size and, when gen is not NULL, its generation (journal locked); a file
 * without a whole header (new, or cut by a crash during journal_reset) gets one first. */
static int journal_gen(struct ledger_journal *j, uint64_t *gen, off_t *size, struct err *err)
{
    uint8_t h[HEADER_LEN];
    struct stat st;
    int rc;

    if (fstat(j->fd, &st))
        return err_set(err, ERR_INTERNAL, NULL, "cannot stat the ledger journal %s: %s", j->path,
                       strerror(errno));
    if (st.st_size < (off_t)HEADER_LEN) {
        if (st.st_size > 0)
            log_warn("ledger: the journal %s had a cut header; reset", j->path);
        if ((rc = journal_reset(j, 0, err)))
            return rc;
        st.st_size = HEADER_LEN;
    }
    *size = st.st_size;
    if (!gen)
        return 0;
    if (pread(j->fd, h, sizeof(h), 0) != (ssize_t)sizeof(h) || memcmp(h, MAGIC, 8))
        return err_set(err, ERR_INTERNAL, NULL, "%s is not a Kaifang ledger journal", j->path);
    *gen = get_le64(h + 8);
    return 0;
}

int ledger_journal_open(struct store *s, const char *path, struct err *err)
{
    struct ledger_journal *j;
    uint64_t gen = 0;
    off_t size = 0;
    int rc;

    if (!store_ledger_journal_supported(s))
        return 0;
    if (atomic_load(&journal))
        return err_set(err, ERR_INTERNAL, NULL, "a ledger journal is already open");
    j = xcalloc(1, sizeof(*j));
    j->store_id = store_id(s);
    j->path = xstrdup(path);
    pthread_mutex_init(&j->lock, NULL);
    j->fd = open(path, O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (j->fd < 0) {
        rc = err_set(err, ERR_INTERNAL, NULL, "cannot open the ledger journal %s: %s", path,
                     strerror(errno));
        goto fail;
    }
    rc = journal_lock(j, err);
    if (rc)
        goto fail;
    rc = journal_gen(j, &gen, &size, err);
    journal_unlock(j);
    if (rc)
        goto fail;
    atomic_store_explicit(&journal, j, memory_order_release);
    return 0;
fail:
    if (j->fd >= 0)
        close(j->fd);
    pthread_mutex_destroy(&j->lock);
    free(j->path);
    free(j);
    return rc;
}

void ledger_journal_close(struct store *s)
{
    struct ledger_journal *j = journal_of(s);

    if (!j)
        return;
    atomic_store(&journal, NULL);
    close(j->fd);
    pthread_mutex_destroy(&j->lock);
    free(j->path);
    free(j);
}

bool ledger_journal_attached(const struct store *s)
{
    return journal_of(s) != NULL;
}

/* ledger-int.h */
int journal_append(struct store *s, const char *text, size_t len,
                   const uint8_t leaf[LEDGER_HASH_LEN], bool *done, struct err *err)
{
    struct ledger_journal *j = journal_of(s);
    uint8_t small[2048], *rec = small;
    size_t n = REC_HEAD + len;
    off_t size = 0;
    ssize_t w;
    int rc;

    *done = false;
    if (!j)
        return 0;
    BUG_ON(len > LEDGER_ENTRY_MAX);
    if (n > sizeof(small))
        rec = xmalloc(n);
    rec[0] = (uint8_t)len;
    rec[1] = (uint8_t)(len >> 8);
    rec[2] = (uint8_t)(len >> 16);
    rec[3] = (uint8_t)(len >> 24);
    memcpy(rec + 4, leaf, LEDGER_HASH_LEN);
    memcpy(rec + REC_HEAD, text, len);
    rc = journal_lock(j, err);
    if (rc)
        goto out;
    rc = journal_gen(j, NULL, &size, err);
    if (!rc) {
        w = write(j->fd, rec, n);
        if (w != (ssize_t)n) {
            int e = w < 0 ? errno : ENOSPC;

            /* Whole records only: a part of this one would hide the ones after it. */
            if (w > 0 && ftruncate(j->fd, size))
                log_error("ledger: cannot cut a partial record off %s: %s", j->path,
                          strerror(errno));
            rc = err_set(err, ERR_INTERNAL, NULL, "cannot append to the ledger journal %s: %s",
                         j->path, strerror(e));
        }
    }
    journal_unlock(j);
    if (!rc)
        *done = true;
out:
    if (rec != small)
        free(rec);
    return rc;
}

/* ledger-int.h */
bool journal_pending(struct store *s)
{
    struct ledger_journal *j = journal_of(s);
    struct stat st;

    return j && !fstat(j->fd, &st) && st.st_size > (off_t)HEADER_LEN;
}

/* ledger-int.h */
int journal_stage(struct store *s, struct journal_drain *d, struct err *err)
{
    struct ledger_journal *j = journal_of(s);
    uint8_t *buf = NULL, leaf[LEDGER_HASH_LEN];
    uint64_t gen = 0, mark = 0, idx;
    off_t size = 0, at;
    size_t len;
    int rc;

    memset(d, 0, sizeof(*d));
    if (!j)
        return 0;
    rc = journal_lock(j, err);
    if (rc)
        return rc;
    d->locked = true;
    rc = journal_gen(j, &gen, &size, err);
    if (!rc)
        rc = store_ledger_journal_get(s, &mark, err);
    if (rc || size == (off_t)HEADER_LEN)
        return rc;
    d->gen = gen;
    if (gen == mark) /* staged by a drain whose commit came before a crash: cut only */
        return 0;
    buf = xmalloc((size_t)(size - (off_t)HEADER_LEN));
    if (pread(j->fd, buf, (size_t)(size - (off_t)HEADER_LEN), HEADER_LEN) !=
        (ssize_t)(size - (off_t)HEADER_LEN)) {
        rc = err_set(err, ERR_INTERNAL, NULL, "cannot read the ledger journal %s: %s", j->path,
                     strerror(errno));
        goto out;
    }
    for (at = 0; at < size - (off_t)HEADER_LEN; at += (off_t)(REC_HEAD + len)) {
        const uint8_t *r = buf + at;
        off_t left = size - (off_t)HEADER_LEN - at;

        len = left >= (off_t)REC_HEAD
                      ? (size_t)r[0] | (size_t)r[1] << 8 | (size_t)r[2] << 16 | (size_t)r[3] << 24
                      : 0;
        if (left < (off_t)REC_HEAD || len > LEDGER_ENTRY_MAX || (off_t)(REC_HEAD + len) > left) {
            /* Only a torn write can end a journal so, and its read was never answered. */
            log_error("ledger: the journal %s ends in a partial record at byte %lld; the %zu "
                      "records before it are staged, the rest dropped",
                      j->path, (long long)(at + (off_t)HEADER_LEN), d->staged);
            break;
        }
        merkle_leaf_hash(r + REC_HEAD, len, leaf);
        if (memcmp(leaf, r + 4, LEDGER_HASH_LEN)) {
            log_error("ledger: the journal %s has a damaged record at byte %lld; the %zu "
                      "records before it are staged, the rest dropped",
                      j->path, (long long)(at + (off_t)HEADER_LEN), d->staged);
            break;
        }
        rc = store_ledger_stage(s, r + REC_HEAD, len, leaf, &idx, err);
        if (rc)
            goto out;
        d->staged++;
    }
    rc = store_ledger_journal_put(s, gen, err);
out:
    free(buf);
    return rc;
}

/* ledger-int.h */
void journal_finish(struct store *s, struct journal_drain *d, bool committed)
{
    struct ledger_journal *j = journal_of(s);
    struct err e = ERR_INIT;

    if (!j || !d->locked)
        return;
    if (committed && d->gen && journal_reset(j, d->gen, &e))
        log_error("ledger: %s (its records are staged; the next drain cuts it)", e.msg);
    journal_unlock(j);
    d->locked = false;
}

int ledger_journal_drain(struct store *s, size_t *staged, struct err *err)
{
    struct journal_drain d;
    int rc;

    if (staged)
        *staged = 0;
    if (!journal_pending(s))
        return 0;
    rc = store_begin(s, err);
    if (rc)
        return rc;
    rc = journal_stage(s, &d, err);
    if (!rc)
        rc = store_commit(s, err);
    else
        store_rollback(s);
    journal_finish(s, &d, !rc);
    if (!rc && staged)
        *staged = d.staged;
    return rc;
}
