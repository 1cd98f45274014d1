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
#include <pthread.h>
#include <zlib.h>

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

/* A 32 KiB window (raw deflate); level 1, memLevel 8: zlib's fast path. */
#define WINDOW_BITS 15

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
    size_t zlen, i;

    if (len > DCAT_CACHE_BYTES / 64)
        return;
    if (!z->deflate_open) {
        if (deflateInit2(&z->deflate, 1, Z_DEFLATED, -WINDOW_BITS, 8, Z_DEFAULT_STRATEGY) != Z_OK)
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
    if (!ring) {
        ring = xcalloc(CACHE_ENTRIES, sizeof(*ring));
        index_ = xcalloc(INDEX_SLOTS, sizeof(*index_));
    }
    i = find(key);
    if (index_[i]) {
        /* Written meanwhile by another request. */
        pthread_mutex_unlock(&lock);
        free(copy);
        return;
    }
    while (nring && (nring == CACHE_ENTRIES || bytes + zlen > DCAT_CACHE_BYTES))
        evict_oldest();
    {
        size_t at = (head + nring) % CACHE_ENTRIES;
        struct entry *e = &ring[at];

        memcpy(e->key, key, SHA256_LEN);
        e->z = copy;
        e->zlen = (uint32_t)zlen;
        e->len = (uint32_t)len;
        nring++;
        bytes += zlen;
        index_[find(key)] = (uint32_t)at + 1;
    }
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
}
