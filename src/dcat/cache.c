/*
 * cache.c - the data.json entries of datasets already written, kept compressed so that
 * the next data.json reuses them instead of parsing and mapping each stored dataset
 * again (jansson's parse of a stored package dict costs ~60 µs here, ~6 s for 100,000
 * datasets; docs/internals/dcat.md, "Speed").
 *
 * An entry is a pure function's result memoised: its key is the SHA-256 of the options
 * it was written with and the dataset's stored text as package_search gives it, so a
 * changed dataset, site or configuration simply misses; nothing is ever invalidated.
 * Entries are deflated one by one (raw deflate, level 1) against a preset dictionary of
 * what every entry says ("@type":"dcat:Dataset" …), which takes a typical entry from
 * ~800 to ~350 bytes. Entries live in a ring in insertion order, with an open-addressing
 * index of their keys; when the ring is full or the compressed bytes would pass
 * DCAT_CACHE_BYTES, the oldest go first.
 *
 * One process-wide cache behind a mutex, shared by every server thread; compression
 * and decompression run outside the lock, with the caller's streams (struct
 * dcat_codec).
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <unistd.h>
#include <zlib.h>

#include "core/log.h"
#include "crypto/digest.h"
#include "dcat/dcat-int.h"
#include "core/util.h"

/* Entries the ring holds at most (each 48 bytes of bookkeeping, allocated on first use;
 * the index has twice as many 4-byte slots). */
#define CACHE_ENTRIES (1u << 18)
#define INDEX_SLOTS   (CACHE_ENTRIES * 2)

struct entry {
    uint8_t key[SHA256_LEN];
    unsigned char *z; /* NULL: free */
    uint32_t zlen, len;
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct entry *ring; /* CACHE_ENTRIES, oldest at head */
static uint32_t *index_;   /* ring position + 1, 0 for an empty slot */
static size_t head, nring, bytes;

/* Whether dcat_cache_load() has read (or tried to read) the file since the start or
 * dcat_cache_clear(). */
static pthread_mutex_t once = PTHREAD_MUTEX_INITIALIZER;
static bool tried;

/* The preset dictionary: the keys and fixed values of a DCAT-US dataset entry as
 * datajson.c writes them, the most common last (zlib looks back from the end). */
static const char dictionary[] =
        "\"describedByType\":\"application/json\",\"rights\":\"\",\"systemOfRecords\":\"\","
        "\"references\":[\"https://\"],\"theme\":[\"\"],\"conformsTo\":\"https://\","
        "\"accrualPeriodicity\":\"R/P1Y\",\"license\":\"https://creativecommons.org/licenses/"
        "by/4.0/\",\"accessURL\":\"http://\",\"describedBy\":\"http://\",\"description\":\"\","
        "\"downloadURL\":\"http://\",\"mediaType\":\"text/csv\",\"format\":\"CSV\",\"title\":"
        "\"\"}],\"issued\":\"2000-01-01T00:00:00.000000Z\",\"language\":[\"en\"],"
        "\"landingPage\":\"http://\"},{\"@type\":\"dcat:Dataset\",\"title\":\"\",\"description\":"
        "\"\",\"keyword\":[\"\",\"\"],\"modified\":\"2000-01-01T00:00:00.000000Z\",\"publisher\":"
        "{\"@type\":\"org:Organization\",\"name\":\"\"},\"contactPoint\":{\"@type\":\"vcard:"
        "Contact\",\"fn\":\"\",\"hasEmail\":\"mailto:\"},\"identifier\":\"\",\"accessLevel\":"
        "\"public\",\"bureauCode\":[\"\"],\"programCode\":[\"\"],\"spatial\":\"\",\"temporal\":"
        "\"\",\"distribution\":[{\"@type\":\"dcat:Distribution\",\"downloadURL\":\"http://";

/* Raw deflate. Entries are read with a 32 KiB window and written with a 4 KiB one
 * (the dictionary and an entry fit) and memLevel 4: deflateReset() clears the hash
 * table, 2^(memLevel + 7) slots, which at zlib's default of 8 cost more than the
 * compression of an entry. */
#define WINDOW_BITS         15
#define DEFLATE_WINDOW_BITS 12
#define DEFLATE_MEM_LEVEL   4

static size_t home_of(const uint8_t *key)
{
    uint64_t h;

    memcpy(&h, key, sizeof(h));
    return (size_t)h & (INDEX_SLOTS - 1);
}

/* The index slot holding key, or the empty slot where it would go. Caller holds lock. */
static size_t find(const uint8_t *key)
{
    size_t i = home_of(key);

    while (index_[i] && memcmp(ring[index_[i] - 1].key, key, SHA256_LEN))
        i = (i + 1) & (INDEX_SLOTS - 1);
    return i;
}

/* Empties index slot i and moves back the entries of its cluster that may now sit
 * closer to their home (deletion under linear probing, Knuth's Algorithm R). */
static void index_remove(size_t i)
{
    size_t j = i;

    index_[i] = 0;
    for (;;) {
        size_t k;

        j = (j + 1) & (INDEX_SLOTS - 1);
        if (!index_[j])
            return;
        k = home_of(ring[index_[j] - 1].key);
        if ((j > i && (k <= i || k > j)) || (j < i && k <= i && k > j)) {
            index_[i] = index_[j];
            index_[j] = 0;
            i = j;
        }
    }
}

/* Drops the oldest entry. Caller holds lock. */
static void evict_oldest(void)
{
    struct entry *e = &ring[head];

    index_remove(find(e->key));
    bytes -= e->zlen;
    free(e->z);
    memset(e, 0, sizeof(*e));
    head = (head + 1) % CACHE_ENTRIES;
    nring--;
}

/* Adds an entry (takes z) unless its key is there, evicting the oldest past the limits.
 * Caller holds lock. */
static void insert(const uint8_t *key, unsigned char *z, uint32_t zlen, uint32_t len)
{
    size_t at, i;
    struct entry *e;

    if (!ring) {
        ring = xcalloc(CACHE_ENTRIES, sizeof(*ring));
        index_ = xcalloc(INDEX_SLOTS, sizeof(*index_));
    }
    i = find(key);
    if (index_[i]) {
        /* Written meanwhile by another request. */
        free(z);
        return;
    }
    while (nring && (nring == CACHE_ENTRIES || bytes + zlen > DCAT_CACHE_BYTES))
        evict_oldest();
    at = (head + nring) % CACHE_ENTRIES;
    e = &ring[at];
    memcpy(e->key, key, SHA256_LEN);
    e->z = z;
    e->zlen = zlen;
    e->len = len;
    nring++;
    bytes += zlen;
    index_[find(key)] = (uint32_t)at + 1;
}

void dcat_codec_init(struct dcat_codec *z)
{
    memset(z, 0, sizeof(*z));
    buf_init(&z->scratch, 0);
}

void dcat_codec_release(struct dcat_codec *z)
{
    if (z->deflate_open)
        deflateEnd(&z->deflate);
    if (z->inflate_open)
        inflateEnd(&z->inflate);
    buf_release(&z->scratch);
    memset(z, 0, sizeof(*z));
}

bool dcat_cache_get(struct dcat_codec *z, const uint8_t key[SHA256_LEN], struct buf *out)
{
    uint32_t len = 0;
    size_t at = out->len;
    bool found = false, ok = false;

    buf_reset(&z->scratch);
    pthread_mutex_lock(&lock);
    if (ring) {
        size_t i = find(key);

        if (index_[i]) {
            /* Copied out, so that the inflate runs without the lock. */
            struct entry *e = &ring[index_[i] - 1];

            buf_add(&z->scratch, e->z, e->zlen);
            len = e->len;
            found = true;
        }
    }
    pthread_mutex_unlock(&lock);
    if (!found || buf_failed(&z->scratch))
        return false;
    if (!z->inflate_open) {
        if (inflateInit2(&z->inflate, -WINDOW_BITS) != Z_OK)
            return false;
        z->inflate_open = true;
    } else if (inflateReset(&z->inflate) != Z_OK) {
        return false;
    }
    if (inflateSetDictionary(&z->inflate, (const Bytef *)dictionary, sizeof(dictionary) - 1) !=
        Z_OK)
        return false;
    buf_grow(out, len);
    if (buf_failed(out))
        return false;
    /* Inflated straight into the room buf_grow() made past out->len; the length and the
     * terminating NUL follow only when all of it arrived (buf.h's invariants hold). */
    z->inflate.next_in = (Bytef *)z->scratch.buf;
    z->inflate.avail_in = (uInt)z->scratch.len;
    z->inflate.next_out = (Bytef *)out->buf + at;
    z->inflate.avail_out = len;
    ok = inflate(&z->inflate, Z_FINISH) == Z_STREAM_END && z->inflate.avail_out == 0;
    if (ok) {
        out->len = at + len;
        out->buf[out->len] = '\0';
    } else {
        out->buf[at] = '\0';
    }
    return ok;
}

void dcat_cache_put(struct dcat_codec *z, const uint8_t key[SHA256_LEN], const char *text,
                    size_t len)
{
    unsigned char *copy;
    size_t zlen;

    if (len > DCAT_CACHE_BYTES / 64)
        return;
    if (!z->deflate_open) {
        if (deflateInit2(&z->deflate, 1, Z_DEFLATED, -DEFLATE_WINDOW_BITS, DEFLATE_MEM_LEVEL,
                         Z_DEFAULT_STRATEGY) != Z_OK)
            return;
        z->deflate_open = true;
    } else if (deflateReset(&z->deflate) != Z_OK) {
        return;
    }
    if (deflateSetDictionary(&z->deflate, (const Bytef *)dictionary, sizeof(dictionary) - 1) !=
        Z_OK)
        return;
    buf_reset(&z->scratch);
    buf_grow(&z->scratch, deflateBound(&z->deflate, (uLong)len));
    if (buf_failed(&z->scratch))
        return;
    z->deflate.next_in = (Bytef *)text;
    z->deflate.avail_in = (uInt)len;
    z->deflate.next_out = (Bytef *)z->scratch.buf;
    /* The buffer's room, less the byte its NUL needs. */
    z->deflate.avail_out = (uInt)(z->scratch.alloc - 1);
    if (deflate(&z->deflate, Z_FINISH) != Z_STREAM_END)
        return;
    zlen = z->deflate.total_out;
    copy = xmalloc(zlen ? zlen : 1);
    memcpy(copy, z->scratch.buf, zlen);

    pthread_mutex_lock(&lock);
    insert(key, copy, (uint32_t)zlen, (uint32_t)len);
    pthread_mutex_unlock(&lock);
}

void dcat_cache_stats(size_t *entries, size_t *size)
{
    pthread_mutex_lock(&lock);
    *entries = nring;
    *size = bytes;
    pthread_mutex_unlock(&lock);
}

void dcat_cache_clear(void)
{
    pthread_mutex_lock(&lock);
    if (ring) {
        for (size_t i = 0; i < CACHE_ENTRIES; i++)
            free(ring[i].z);
    }
    free(ring);
    free(index_);
    ring = NULL;
    index_ = NULL;
    head = nring = bytes = 0;
    pthread_mutex_unlock(&lock);
    pthread_mutex_lock(&once);
    tried = false;
    pthread_mutex_unlock(&once);
}

/* ---- the cache on disk ------------------------------------------------------------------
 * "KFDCATC1", the entry count (u64), then per entry, oldest first, its key, text length
 * and compressed length (u32s) and the compressed bytes; last the SHA-256 of all that.
 * Integers little-endian. */
#define FILE_MAGIC "KFDCATC1"

static void le32(unsigned char *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

static uint32_t get_le32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* fwrite() of n bytes, hashed. */
static bool save_add(FILE *f, struct sha256_ctx *ctx, const void *p, size_t n)
{
    sha256_update(ctx, p, n);
    return fwrite(p, 1, n, f) == n;
}

void dcat_cache_save(const char *dir)
{
    char *tmp, *path;
    unsigned char h[16];
    uint8_t digest[SHA256_LEN];
    struct sha256_ctx ctx;
    FILE *f;
    int fd;
    bool ok = true;

    if (!dir)
        return;
    tmp = xstrfmt("%s/tmp-XXXXXX", dir);
    path = xstrfmt("%s/entries", dir);
    fd = mkstemp(tmp);
    f = fd >= 0 ? fdopen(fd, "w") : NULL;
    if (!f) {
        log_debug("dcat: cannot write \"%s\": %s", tmp, strerror(errno));
        if (fd >= 0) {
            close(fd);
            unlink(tmp);
        }
        goto out;
    }
    sha256_init(&ctx);
    pthread_mutex_lock(&lock);
    memcpy(h, FILE_MAGIC, 8);
    for (int i = 0; i < 8; i++)
        h[8 + i] = (unsigned char)((uint64_t)nring >> (8 * i));
    ok = save_add(f, &ctx, h, 16);
    for (size_t k = 0; ok && k < nring; k++) {
        const struct entry *e = &ring[(head + k) % CACHE_ENTRIES];
        unsigned char m[SHA256_LEN + 8];

        memcpy(m, e->key, SHA256_LEN);
        le32(m + SHA256_LEN, e->len);
        le32(m + SHA256_LEN + 4, e->zlen);
        ok = save_add(f, &ctx, m, sizeof(m)) && save_add(f, &ctx, e->z, e->zlen);
    }
    pthread_mutex_unlock(&lock);
    sha256_final(&ctx, digest);
    ok = ok && fwrite(digest, 1, SHA256_LEN, f) == SHA256_LEN;
    if (fclose(f) || !ok || rename(tmp, path)) {
        log_debug("dcat: cannot write \"%s\": %s", path, strerror(errno));
        unlink(tmp);
    }
out:
    free(tmp);
    free(path);
}

struct loaded {
    uint8_t key[SHA256_LEN];
    unsigned char *z;
    uint32_t zlen, len;
};

/* fread() of n bytes, hashed. */
static bool load_get(FILE *f, struct sha256_ctx *ctx, void *p, size_t n)
{
    if (fread(p, 1, n, f) != n)
        return false;
    sha256_update(ctx, p, n);
    return true;
}

void dcat_cache_load(const char *dir)
{
    struct loaded *l = NULL;
    unsigned char h[16];
    uint8_t digest[SHA256_LEN], stored[SHA256_LEN];
    struct sha256_ctx ctx;
    uint64_t n = 0, k = 0, total = 0;
    char *path;
    FILE *f;
    bool ok;

    if (!dir)
        return;
    pthread_mutex_lock(&once);
    if (tried) {
        pthread_mutex_unlock(&once);
        return;
    }
    tried = true;
    path = xstrfmt("%s/entries", dir);
    f = fopen(path, "re");
    free(path);
    if (!f)
        goto out;
    sha256_init(&ctx);
    ok = load_get(f, &ctx, h, 16) && !memcmp(h, FILE_MAGIC, 8);
    for (int i = 7; ok && i >= 0; i--)
        n = (n << 8) | h[8 + i];
    ok = ok && n <= CACHE_ENTRIES;
    if (ok)
        l = xcalloc(n ? n : 1, sizeof(*l));
    for (; ok && k < n; k++) {
        unsigned char m[SHA256_LEN + 8];

        ok = load_get(f, &ctx, m, sizeof(m));
        if (!ok)
            break;
        memcpy(l[k].key, m, SHA256_LEN);
        l[k].len = get_le32(m + SHA256_LEN);
        l[k].zlen = get_le32(m + SHA256_LEN + 4);
        total += l[k].zlen;
        ok = l[k].len <= DCAT_CACHE_BYTES / 64 && total <= DCAT_CACHE_BYTES;
        if (!ok)
            break;
        l[k].z = xmalloc(l[k].zlen ? l[k].zlen : 1);
        ok = load_get(f, &ctx, l[k].z, l[k].zlen);
    }
    sha256_final(&ctx, digest);
    ok = ok && fread(stored, 1, SHA256_LEN, f) == SHA256_LEN &&
         !memcmp(digest, stored, SHA256_LEN) && fgetc(f) == EOF;
    fclose(f);
    if (ok) {
        pthread_mutex_lock(&lock);
        for (uint64_t i = 0; i < n; i++) {
            insert(l[i].key, l[i].z, l[i].zlen, l[i].len);
            l[i].z = NULL;
        }
        pthread_mutex_unlock(&lock);
        log_debug("dcat: %" PRIu64 " data.json entries read from disk", n);
    }
    for (uint64_t i = 0; l && i < n; i++)
        free(l[i].z);
    free(l);
out:
    pthread_mutex_unlock(&once);
}
