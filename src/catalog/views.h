/*
 * views.h - dataset views counted in memory by one server and flushed to the store as
 * sums (issue 4: the home page's most-viewed datasets; CKAN's tracking counts page views
 * per dataset the same way). A view is a public dataset page or a package_show answered
 * with success; a count costs a hash table update under a mutex, never a store write.
 * A flusher thread adds the counts to the store every interval and once more when it
 * stops, so several servers sharing one store each add what they saw.
 * docs/internals/web.md, "Views".
 */
#ifndef KAIFANG_CATALOG_VIEWS_H
#define KAIFANG_CATALOG_VIEWS_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "core/err.h"
#include "store/store.h"

struct catalog_views;

/* A counter over s (borrowed; it must outlive the counter), holding at most max_keys
 * (1 … LIMIT_VIEWS_DATASETS) distinct datasets between flushes. Free with
 * catalog_views_free(). */
struct catalog_views *catalog_views_new(struct store *s, size_t max_keys);

/* Stops the flusher (catalog_views_stop()) and frees v. NULL is a no-op. */
void catalog_views_free(struct catalog_views *v);

/*
 * Counts one view of dataset (an id or a name, len bytes, as the request named it;
 * empty or longer than LIMIT_VIEWS_KEY: ignored). Which dataset it is, and whether it is
 * public, is decided when the count is flushed (store_dataset_views_add()), so a view of
 * a private, draft or restricted dataset is never kept. When max_keys datasets are
 * already counted the flusher is woken and this view is dropped. Thread-safe; no store
 * access. v NULL: nothing.
 */
void catalog_views_hit(struct catalog_views *v, const char *dataset, size_t len);

/*
 * Adds what was counted since the last flush to the store and empties the counter (one
 * store transaction, store_dataset_views_add()). On failure the counts are kept for the
 * next flush (those that still fit) and the store's error is returned. Thread-safe.
 */
int catalog_views_flush(struct catalog_views *v, struct err *err);

/*
 * Starts the flusher thread: a flush every interval_s seconds (≥ 1), or sooner when the
 * table fills; failures are logged and retried at the next one. Each interval also
 * moves catalog_views_generation(), whether this server counted anything or not, so that
 * pages showing totals (the home page) can be kept no longer than one interval and still
 * show what other servers flushed. -ERR_INTERNAL when the thread cannot be created.
 */
int catalog_views_start(struct catalog_views *v, unsigned interval_s, struct err *err);

/* Stops the flusher thread when it runs and flushes once more (errors logged). Call when
 * no more views are counted (after the HTTP server stopped). */
void catalog_views_stop(struct catalog_views *v);

/* A number that moves at every interval of the flusher (see catalog_views_start()). */
uint64_t catalog_views_generation(const struct catalog_views *v);

/*
 * The limit (1 … 1000) most-viewed datasets that are public now, most views first:
 * *list a new JSON array of {"dataset": package dict, "views": total} (what
 * store_dataset_views_top() gives, without any whose dict is not public by
 * catalog_data_public()). Store errors, -ERR_INTERNAL "not supported" on a backend
 * without view totals.
 */
int catalog_most_viewed(struct store *s, size_t limit, json_t **list, struct err *err);

#endif
