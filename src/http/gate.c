/*
 * gate.c - how many expensive requests run at once (http-int.h, struct http_gate).
 *
 * A request that may run for seconds (datastore_search_sql up to its time limit, a
 * full-text datastore_search over a large table) holds one of the server's threads for
 * that long: libmicrohttpd's pool serves each connection on one thread. Enough of them
 * at once would leave no thread for /healthz or package_show. The gate admits at most
 * `max` of them, and at most `per_client` from one client address, so that one client
 * cannot take every slot; one more is refused at once (503 with Retry-After, as nginx's
 * limit_conn answers), never queued: a queued request would hold the very thread the
 * gate keeps free.
 */
#include <errno.h>
#include <pthread.h>
#include <string.h>

#include "api/api.h"
#include "http/http-int.h"
#include "core/util.h"

static void *worker(void *arg)
{
    struct http_gate *g = arg;

    pthread_mutex_lock(&g->lock);
    for (;;) {
        struct request *r = g->head;

        if (!r) {
            if (g->stopping)
                break;
            pthread_cond_wait(&g->work, &g->lock);
            continue;
        }
        g->head = r->gate_next;
        if (!g->head)
            g->tail = NULL;
        pthread_mutex_unlock(&g->lock);
        /* The connection is suspended: libmicrohttpd does not touch r until resumed. */
        api_ckan_call_text(r->srv->catalog, &r->actor, r->gate_action, r->method == HM_POST,
                           r->params, NULL, &r->gate_body, &r->gate_len, &r->gate_status, NULL);
        /* The last touch of r: from here the connection's thread owns it again. */
        MHD_resume_connection(r->conn);
        pthread_mutex_lock(&g->lock);
    }
    pthread_mutex_unlock(&g->lock);
    return NULL;
}

int http_gate_init(struct http_gate *g, unsigned threads, struct err *err)
{
    memset(g, 0, sizeof(*g));
    pthread_mutex_init(&g->lock, NULL);
    pthread_cond_init(&g->work, NULL);
    g->max = threads > 1 ? threads - 1 : 1;
    g->per_client = (g->max + 1) / 2;
    /* At most max clients hold a slot at once: one entry each. */
    g->clients = xcalloc(g->max, sizeof(*g->clients));
    /* One worker per slot: a request that got a slot never waits for a worker. */
    g->workers = xcalloc(g->max, sizeof(*g->workers));
    for (; g->nworkers < g->max; g->nworkers++) {
        int e = pthread_create(&g->workers[g->nworkers], NULL, worker, g);

        if (e)
            return err_set(err, ERR_INTERNAL, NULL, "cannot start a worker thread: %s",
                           strerror(e));
    }
    return 0;
}

void http_gate_stop(struct http_gate *g)
{
    if (!g->workers)
        return;
    pthread_mutex_lock(&g->lock);
    g->stopping = true;
    pthread_cond_broadcast(&g->work);
    pthread_mutex_unlock(&g->lock);
    for (unsigned i = 0; i < g->nworkers; i++)
        pthread_join(g->workers[i], NULL);
    g->nworkers = 0;
}

void http_gate_release(struct http_gate *g)
{
    if (!g->clients)
        return;
    http_gate_stop(g);
    pthread_cond_destroy(&g->work);
    pthread_mutex_destroy(&g->lock);
    free(g->workers);
    free(g->clients);
    g->workers = NULL;
    g->clients = NULL;
}

enum MHD_Result http_gate_run(struct request *r, const char *action)
{
    struct http_gate *g = &r->srv->gate;
    struct err err = ERR_INIT;

    xsnprintf(r->gate_action, sizeof(r->gate_action), "%s", action);
    pthread_mutex_lock(&g->lock);
    if (g->stopping) {
        /* The workers are gone: nobody would resume the connection. */
        pthread_mutex_unlock(&g->lock);
        http_gate_leave(g, r->remote);
        r->gated = false;
        err_set(&err, ERR_UNAVAILABLE, NULL, "%s is not available: the server is stopping", action);
        return http_reply_api_error(r, action, &err);
    }
    r->gate_queued = true;
    /* Suspended before it is queued: the worker may resume it at once. */
    MHD_suspend_connection(r->conn);
    r->gate_next = NULL;
    if (g->tail)
        g->tail->gate_next = r;
    else
        g->head = r;
    g->tail = r;
    pthread_cond_signal(&g->work);
    pthread_mutex_unlock(&g->lock);
    return MHD_YES;
}

enum MHD_Result http_gate_answer(struct request *r)
{
    char *body = r->gate_body;

    r->gate_body = NULL;
    r->gate_queued = false;
    if (r->gated) {
        http_gate_leave(&r->srv->gate, r->remote);
        r->gated = false;
    }
    return http_reply(r, r->gate_status, HTTP_JSON_TYPE, body, r->gate_len, 0);
}

int http_gate_enter(struct http_gate *g, const char *client, const char *what, struct err *err)
{
    struct http_gate_client *mine = NULL, *free_entry = NULL;
    unsigned running;
    int ret = 0;

    pthread_mutex_lock(&g->lock);
    for (unsigned i = 0; i < g->max; i++) {
        struct http_gate_client *e = &g->clients[i];

        if (e->running && !strcmp(e->addr, client))
            mine = e;
        else if (!e->running && !free_entry)
            free_entry = e;
    }
    running = g->running;
    if (running >= g->max) {
        ret = err_set(err, ERR_UNAVAILABLE, NULL,
                      "%s is busy: %u expensive request%s already running, the most this "
                      "server runs at once; try again shortly",
                      what, running, running == 1 ? " is" : "s are");
        goto out;
    }
    if (mine && mine->running >= g->per_client) {
        ret = err_set(err, ERR_UNAVAILABLE, NULL,
                      "%s is busy: this client already runs %u expensive request%s, the most "
                      "one client address may run at once; try again when %s",
                      what, mine->running, mine->running == 1 ? "" : "s",
                      mine->running == 1 ? "it has finished" : "one has finished");
        goto out;
    }
    /* running < max, so a client without an entry finds a free one. */
    if (!mine) {
        BUG_ON(!free_entry);
        mine = free_entry;
        xsnprintf(mine->addr, sizeof(mine->addr), "%s", client);
    }
    mine->running++;
    g->running++;
out:
    pthread_mutex_unlock(&g->lock);
    return ret;
}

void http_gate_leave(struct http_gate *g, const char *client)
{
    pthread_mutex_lock(&g->lock);
    for (unsigned i = 0; i < g->max; i++) {
        struct http_gate_client *e = &g->clients[i];

        if (e->running && !strcmp(e->addr, client)) {
            e->running--;
            BUG_ON(!g->running);
            g->running--;
            break;
        }
    }
    pthread_mutex_unlock(&g->lock);
}
