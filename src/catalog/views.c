/*
 * views.c - dataset views counted in memory and flushed to the store as sums (views.h).
 *
 * One open-addressing hash table of (id or name → count) under a mutex: a view is a hash,
 * a probe and an increment. A flush swaps in an empty table under the mutex and writes the
 * old one outside it, so counting never waits for the store.
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <time.h>

#include "catalog/catalog.h"
#include "catalog/views.h"
#include "core/limits.h"
#include "core/log.h"
#include "core/util.h"

struct view_slot {
    char *key; /* NULL: empty */
    uint64_t n;
};

struct view_table {
    struct view_slot *slots;
    size_t cap; /* a power of two, at least twice max_keys */
    size_t used;
};

struct catalog_views {
    struct store *store;
    size_t max_keys;
    bool supported; /* store_dataset_views_supported(): else nothing is counted */
    pthread_mutex_t lock;
    struct view_table t;
    uint64_t dropped; /* views dropped because the table was full, since the last flush */
    /* The flusher. */
    pthread_cond_t wake;
    pthread_t thread;
    bool running, stop, full;
    unsigned interval_s;
    atomic_uint_fast64_t generation;
    pthread_mutex_t flush_lock; /* one flush at a time */
};

static void table_init(struct view_table *t, size_t max_keys)
{
    size_t cap = 16;

    while (cap < 2 * max_keys)
        cap *= 2;
    t->slots = xcalloc(cap, sizeof(*t->slots));
    t->cap = cap;
    t->used = 0;
}

static void table_release(struct view_table *t)
{
    for (size_t i = 0; i < t->cap; i++)
        free(t->slots[i].key);
    free(t->slots);
    t->slots = NULL;
    t->cap = t->used = 0;
}

/* FNV-1a: the keys are ids and names, not chosen to collide (they must have rendered). */
static uint64_t key_hash(const char *p, size_t len)
{
    uint64_t h = 0xcbf29ce484222325ull;

    for (size_t i = 0; i < len; i++)
        h = (h ^ (unsigned char)p[i]) * 0x100000001b3ull;
    return h;
}

/* Adds n to key's count; false when the table holds max_keys others already. */
static bool table_add(struct view_table *t, size_t max_keys, const char *key, size_t len,
                      uint64_t n)
{
    size_t i = (size_t)key_hash(key, len) & (t->cap - 1);

    for (;; i = (i + 1) & (t->cap - 1)) {
        struct view_slot *sl = &t->slots[i];

        if (!sl->key) {
            if (t->used >= max_keys)
                return false;
            sl->key = xstrndup(key, len);
            sl->n = n;
            t->used++;
            return true;
        }
        if (strlen(sl->key) == len && !memcmp(sl->key, key, len)) {
            sl->n = sl->n > UINT64_MAX - n ? UINT64_MAX : sl->n + n;
            return true;
        }
    }
}

struct catalog_views *catalog_views_new(struct store *s, size_t max_keys)
{
    struct catalog_views *v = xcalloc(1, sizeof(*v));

    BUG_ON(max_keys == 0 || max_keys > LIMIT_VIEWS_DATASETS);
    v->store = s;
    v->max_keys = max_keys;
    v->supported = store_dataset_views_supported(s);
    if (!v->supported)
        log_info("views: this store keeps no view totals: dataset views are not counted");
    table_init(&v->t, max_keys);
    pthread_mutex_init(&v->lock, NULL);
    pthread_mutex_init(&v->flush_lock, NULL);
    pthread_cond_init(&v->wake, NULL);
    atomic_init(&v->generation, 0);
    return v;
}

void catalog_views_free(struct catalog_views *v)
{
    if (!v)
        return;
    if (v->running)
        catalog_views_stop(v);
    table_release(&v->t);
    pthread_cond_destroy(&v->wake);
    pthread_mutex_destroy(&v->flush_lock);
    pthread_mutex_destroy(&v->lock);
    free(v);
}

void catalog_views_hit(struct catalog_views *v, const char *dataset, size_t len)
{
    if (!v || !v->supported || !len || len > LIMIT_VIEWS_KEY)
        return;
    pthread_mutex_lock(&v->lock);
    if (!table_add(&v->t, v->max_keys, dataset, len, 1)) {
        v->dropped++;
        if (!v->full) {
            v->full = true;
            pthread_cond_signal(&v->wake);
        }
    }
    pthread_mutex_unlock(&v->lock);
}

int catalog_views_flush(struct catalog_views *v, struct err *err)
{
    struct view_table old;
    struct store_view_count *counts = NULL;
    uint64_t dropped;
    size_t n = 0, added = 0;
    int ret;

    pthread_mutex_lock(&v->flush_lock);
    pthread_mutex_lock(&v->lock);
    old = v->t;
    dropped = v->dropped;
    v->dropped = 0;
    v->full = false;
    table_init(&v->t, v->max_keys);
    pthread_mutex_unlock(&v->lock);

    if (dropped)
        log_warn("views: %" PRIu64 " views dropped: more than %zu datasets viewed between two "
                 "flushes",
                 dropped, v->max_keys);
    counts = xcalloc(old.used ? old.used : 1, sizeof(*counts));
    for (size_t i = 0; i < old.cap; i++)
        if (old.slots[i].key)
            counts[n++] = (struct store_view_count){old.slots[i].key, old.slots[i].n};
    /* Nothing counted, nothing written: an idle server does not touch the store. */
    ret = n ? store_dataset_views_add(v->store, counts, n, &added, err) : 0;
    if (ret < 0) {
        /* Kept for the next flush, as far as the new table has room. */
        pthread_mutex_lock(&v->lock);
        for (size_t i = 0; i < n; i++)
            table_add(&v->t, v->max_keys, counts[i].dataset, strlen(counts[i].dataset),
                      counts[i].views);
        pthread_mutex_unlock(&v->lock);
    } else if (n) {
        log_debug("views: flushed the views of %zu datasets (%zu public)", n, added);
    }
    free(counts);
    table_release(&old);
    pthread_mutex_unlock(&v->flush_lock);
    return ret;
}

static void *flusher(void *arg)
{
    struct catalog_views *v = arg;
    struct timespec until;

    pthread_mutex_lock(&v->lock);
    while (!v->stop) {
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_sec += v->interval_s;
        while (!v->stop && !v->full)
            if (pthread_cond_timedwait(&v->wake, &v->lock, &until) == ETIMEDOUT)
                break;
        if (v->stop)
            break;
        pthread_mutex_unlock(&v->lock);
        {
            struct err err = ERR_INIT;

            if (catalog_views_flush(v, &err) < 0)
                log_warn("views: flush failed (retried at the next one): %s", err.msg);
        }
        atomic_fetch_add(&v->generation, 1);
        pthread_mutex_lock(&v->lock);
    }
    pthread_mutex_unlock(&v->lock);
    return NULL;
}

int catalog_views_start(struct catalog_views *v, unsigned interval_s, struct err *err)
{
    BUG_ON(v->running || interval_s == 0);
    v->interval_s = interval_s;
    v->stop = false;
    if (pthread_create(&v->thread, NULL, flusher, v))
        return err_set(err, ERR_INTERNAL, NULL, "cannot start the view flusher thread");
    v->running = true;
    return 0;
}

void catalog_views_stop(struct catalog_views *v)
{
    struct err err = ERR_INIT;

    if (v->running) {
        pthread_mutex_lock(&v->lock);
        v->stop = true;
        pthread_cond_signal(&v->wake);
        pthread_mutex_unlock(&v->lock);
        pthread_join(v->thread, NULL);
        v->running = false;
    }
    if (catalog_views_flush(v, &err) < 0)
        log_warn("views: the last flush failed, its views are lost: %s", err.msg);
}

uint64_t catalog_views_generation(const struct catalog_views *v)
{
    return atomic_load(&((struct catalog_views *)v)->generation);
}

int catalog_most_viewed(struct store *s, size_t limit, json_t **list, struct err *err)
{
    json_t *all = NULL, *out, *item;
    size_t i;
    int ret;

    *list = NULL;
    ret = store_dataset_views_top(s, limit, &all, err);
    if (ret < 0)
        return ret;
    /* The store checked the same thing on its columns; this is the catalog's own rule
     * on the dict, so that the two cannot drift apart unnoticed. */
    out = json_array();
    json_array_foreach (all, i, item)
        if (catalog_data_public(json_object_get(item, "dataset")))
            json_array_append(out, item);
    json_decref(all);
    *list = out;
    return 0;
}
