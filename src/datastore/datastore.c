/*
 * datastore.c - the datastore of a portal and its ingest worker (datastore.h).
 *
 * The worker is ckanext-xloader's job queue in one thread: resource_create and
 * resource_update with an ingestible upload set the resource's status "pending" and
 * queue it (datastore_ingest_enqueue); the thread takes one resource at a time and runs
 * datastore_ingest as the user who asked, with the options kept in the resource's status
 * record. The queue is memory only: the status records are what survives a stop, so at
 * start every "pending" or "running" status is queued again (a server stopped, or killed,
 * mid-ingest). Stopping sets a flag that the ingest checks between rows; the abandoned
 * ingest aborts its build (the previous table keeps serving) and leaves its status
 * "pending" for the next start. docs/internals/datastore.md, "Ingest and dumps".
 */
#include <jansson.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>

#include "core/log.h"
#include "core/timeutil.h"
#include "datastore/datastore-int.h"
#include "store/store-datastore.h"
#include "core/util.h"

struct ds_job {
    struct ds_job *next;
    char *resource_id;
    char *user; /* the name of the actor the ingest runs as */
};

struct datastore {
    struct catalog *c; /* borrowed */
    pthread_mutex_t lock;
    pthread_cond_t wake; /* a job was queued, or stop */
    pthread_cond_t idle; /* the queue emptied and nothing runs */
    struct ds_job *head, *tail;
    bool started; /* the worker thread exists */
    bool busy;    /* it runs a job */
    atomic_bool stop;
    pthread_t thread;
};

struct datastore *datastore_new(struct catalog *c)
{
    struct datastore *d = xcalloc(1, sizeof(*d));

    d->c = c;
    pthread_mutex_init(&d->lock, NULL);
    pthread_cond_init(&d->wake, NULL);
    pthread_cond_init(&d->idle, NULL);
    atomic_init(&d->stop, false);
    c->datastore = d;
    c->privacy_scan = ds_privacy_scan_resource;
    /* Changing rows of a full-text table needs the tokenizer its build used. */
    store_ds_set_tokenizer(c->store, catalog_search_text);
    return d;
}

static void job_free(struct ds_job *j)
{
    if (!j)
        return;
    free(j->resource_id);
    free(j->user);
    free(j);
}

void ds_queue_push(struct datastore *d, const char *resource_id, const char *user)
{
    struct ds_job *j;

    pthread_mutex_lock(&d->lock);
    /* Already waiting: one ingest will read the newest file, as the newest asker. */
    for (j = d->head; j; j = j->next) {
        if (!strcmp(j->resource_id, resource_id)) {
            free(j->user);
            j->user = xstrdup(user);
            goto out;
        }
    }
    j = xcalloc(1, sizeof(*j));
    j->resource_id = xstrdup(resource_id);
    j->user = xstrdup(user);
    if (d->tail)
        d->tail->next = j;
    else
        d->head = j;
    d->tail = j;
    pthread_cond_signal(&d->wake);
out:
    pthread_mutex_unlock(&d->lock);
}

/* Removes a queued (not running) job of resource_id, if any. */
static void queue_remove(struct datastore *d, const char *resource_id)
{
    struct ds_job **p, *j;

    pthread_mutex_lock(&d->lock);
    for (p = &d->head; (j = *p);) {
        if (!strcmp(j->resource_id, resource_id)) {
            *p = j->next;
            job_free(j);
            continue;
        }
        p = &j->next;
    }
    d->tail = NULL;
    for (j = d->head; j; j = j->next)
        d->tail = j;
    pthread_mutex_unlock(&d->lock);
}

const atomic_bool *ds_cancel_flag(struct catalog *c)
{
    return c->datastore ? &c->datastore->stop : NULL;
}

bool ds_worker_running(struct catalog *c)
{
    struct datastore *d = c->datastore;
    bool running;

    if (!d)
        return false;
    pthread_mutex_lock(&d->lock);
    running = d->started && !atomic_load(&d->stop);
    pthread_mutex_unlock(&d->lock);
    return running;
}

/* Records an ingest the worker could not start (its user is gone, its options do not
 * parse) as the status "error" (no ledger entry: a may be anonymous). */
static void job_fail(struct datastore *d, const struct actor *a, const char *resource_id,
                     json_t *status, const struct err *why)
{
    struct err err = ERR_INIT;
    char now[TIME_ISO_MAX];

    time_now_ckan(now);
    status = json_deep_copy(status);
    json_object_set_new(status, "status", json_string("error"));
    json_object_set_new(status, "last_updated", json_string(now));
    json_object_set_new(status, "error",
                        json_pack("{s:s,s:i,s:i}", "message", why->msg, "line", 0, "column", 0));
    if (ds_status_set(d->c, a, resource_id, status, &err))
        log_error("datastore: cannot record the failed ingest of resource \"%s\": %s", resource_id,
                  err.msg);
}

static void job_run(struct datastore *d, const struct ds_job *job)
{
    struct datastore_ingest_request req;
    struct actor a = ACTOR_ANONYMOUS;
    struct err err = ERR_INIT;
    json_t *status = NULL, *report = NULL;
    const json_t *fields = NULL;
    const char *trigger;
    uint64_t start = time_mono_us();
    int ret;

    ret = store_ds_status_get(d->c->store, job->resource_id, &status, &err);
    if (ret) {
        /* Removed meanwhile (the resource was deleted): nothing to do. */
        if (ret != -ERR_NOT_FOUND)
            log_error("datastore: cannot read the status of resource \"%s\": %s", job->resource_id,
                      err.msg);
        goto out;
    }
    /* Whatever the status says now, the job runs: a request is never lost to a race
     * with another ingest of the resource; at worst a file is read twice. */
    memset(&req, 0, sizeof(req));
    req.resource_id = job->resource_id;
    ret = access_actor_from_user(d->c->store, job->user, &a, &err);
    if (ret) {
        struct err why = ERR_INIT;

        err_set(&why, ERR_AUTH, NULL, "the user \"%s\" who asked for this ingest is gone: %s",
                job->user, err.msg);
        actor_release(&a);
        job_fail(d, &a, job->resource_id, status, &why);
        goto out;
    }
    ret = ds_options_parse(json_object_get(status, "options"), &req.opts, &fields, &err);
    if (ret) {
        job_fail(d, &a, job->resource_id, status, &err);
        goto out;
    }
    req.fields = fields;
    trigger = json_string_value(json_object_get(status, "trigger"));
    if (!trigger)
        trigger = "upload";
    ret = ds_ingest_run(d->c, &a, &req, trigger, str_eq(trigger, "upload"), &d->stop, &report,
                        &err);
    if (ret == -ERR_UNAVAILABLE && atomic_load(&d->stop))
        log_info("datastore: ingest of resource \"%s\" abandoned (stopping); it stays pending",
                 job->resource_id);
    else if (ret)
        log_warn("datastore: ingest of resource \"%s\" failed: %s", job->resource_id, err.msg);
    else
        log_info("datastore: ingested resource \"%s\": %" PRIu64 " rows in %.2f s",
                 job->resource_id, (uint64_t)json_integer_value(json_object_get(report, "rows")),
                 (double)(time_mono_us() - start) / 1e6);
out:
    actor_release(&a);
    json_decref(status);
    json_decref(report);
}

static void *worker_main(void *arg)
{
    struct datastore *d = arg;
    struct ds_job *job;

    pthread_mutex_lock(&d->lock);
    while (!atomic_load(&d->stop)) {
        job = d->head;
        if (!job) {
            d->busy = false;
            pthread_cond_broadcast(&d->idle);
            pthread_cond_wait(&d->wake, &d->lock);
            continue;
        }
        d->head = job->next;
        if (!d->head)
            d->tail = NULL;
        d->busy = true;
        pthread_mutex_unlock(&d->lock);
        job_run(d, job);
        job_free(job);
        pthread_mutex_lock(&d->lock);
    }
    d->busy = false;
    pthread_cond_broadcast(&d->idle);
    pthread_mutex_unlock(&d->lock);
    return NULL;
}

/* Queues every resource whose status says an ingest was asked for and not finished. */
static int requeue(struct datastore *d, struct err *err)
{
    json_t *all = NULL, *st;
    const char *rid;
    size_t n = 0;
    int ret;

    ret = store_ds_status_list(d->c->store, &all, err);
    if (ret)
        goto out;
    json_object_foreach (all, rid, st) {
        const char *state = json_string_value(json_object_get(st, "status"));
        const char *user = json_string_value(json_object_get(st, "user"));

        if (!str_eq(state, "pending") && !str_eq(state, "running"))
            continue;
        ds_queue_push(d, rid, user && *user ? user : ACCESS_CLI_ACTOR);
        n++;
    }
    if (n)
        log_info("datastore: %zu unfinished ingest(s) queued again", n);
out:
    json_decref(all);
    return ret;
}

int datastore_start_worker(struct datastore *d, struct err *err)
{
    sigset_t block, old;
    int ret, rc;

    BUG_ON(d->started);
    ret = requeue(d, err);
    if (ret)
        return ret;
    /* The thread must not take the stop signals, which the server waits for with
     * sigwait(): it inherits this mask. */
    sigemptyset(&block);
    sigaddset(&block, SIGINT);
    sigaddset(&block, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &block, &old);
    rc = pthread_create(&d->thread, NULL, worker_main, d);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (rc)
        return err_set(err, ERR_INTERNAL, NULL, "cannot start the ingest worker: %s", strerror(rc));
    pthread_mutex_lock(&d->lock);
    d->started = true;
    pthread_mutex_unlock(&d->lock);
    return 0;
}

void datastore_free(struct datastore *d)
{
    struct ds_job *j;
    bool started;

    if (!d)
        return;
    pthread_mutex_lock(&d->lock);
    atomic_store(&d->stop, true);
    started = d->started;
    pthread_cond_broadcast(&d->wake);
    pthread_mutex_unlock(&d->lock);
    if (started)
        pthread_join(d->thread, NULL);
    while ((j = d->head)) {
        d->head = j->next;
        job_free(j);
    }
    if (d->c && d->c->datastore == d)
        d->c->datastore = NULL;
    pthread_cond_destroy(&d->idle);
    pthread_cond_destroy(&d->wake);
    pthread_mutex_destroy(&d->lock);
    free(d);
}

void datastore_ingest_wait(struct datastore *d)
{
    pthread_mutex_lock(&d->lock);
    while (d->started && !atomic_load(&d->stop) && (d->head || d->busy))
        pthread_cond_wait(&d->idle, &d->lock);
    pthread_mutex_unlock(&d->lock);
}

int datastore_ingest_enqueue(struct datastore *d, const struct actor *a, const char *resource_id,
                             struct err *err)
{
    json_t *status = NULL, *old = NULL;
    char now[TIME_ISO_MAX];
    int ret;

    if (!a || !a->authenticated)
        return err_set(err, ERR_AUTH, NULL, "anonymous users may not ingest resources");
    /* Options given before (xloader_submit) stay for the new file. */
    ret = store_ds_status_get(d->c->store, resource_id, &old, NULL);
    if (ret && ret != -ERR_NOT_FOUND) {
        ret = err_set(err, ERR_INTERNAL, NULL, "cannot read the status of resource \"%s\"",
                      resource_id);
        goto out;
    }
    time_now_ckan(now);
    status = json_pack("{s:s,s:s,s:O?,s:s,s:s,s:s,s:n}", "status", "pending", "user", a->name,
                       "options", json_object_get(old, "options"), "trigger", "upload", "created",
                       now, "last_updated", now, "error");
    BUG_ON(!status);
    if (json_object_get(old, "report"))
        json_object_set(status, "report", json_object_get(old, "report"));
    ret = ds_status_set(d->c, a, resource_id, status, err);
    status = NULL;
    if (ret)
        goto out;
    ds_queue_push(d, resource_id, a->name);
out:
    json_decref(status);
    json_decref(old);
    return ret;
}

int datastore_resource_deleted(struct catalog *c, const char *resource_id, struct err *err)
{
    struct err e = ERR_INIT;
    int ret;

    if (c->datastore)
        queue_remove(c->datastore, resource_id);
    ret = store_ds_drop(c->store, resource_id, &e);
    if (ret && ret != -ERR_NOT_FOUND) {
        ret = err_set(err, e.kind, e.field, "%s", e.msg);
        goto out;
    }
    ret = store_begin(c->store, err);
    if (ret)
        goto out;
    ret = store_ds_status_put(c->store, resource_id, NULL, err);
    if (ret == -ERR_NOT_FOUND)
        ret = 0;
    if (!ret)
        ret = store_privacy_report_put(c->store, resource_id, NULL, err);
    if (ret == -ERR_NOT_FOUND)
        ret = 0;
    if (!ret)
        ret = store_commit(c->store, err);
    if (ret)
        store_rollback(c->store);
out:
    return ret;
}
