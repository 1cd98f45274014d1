/*
 * sequencer.c - the background thread of `kaifang serve` that integrates staged entries
 * in batches (every LEDGER_BATCH_MS, when the store changed), as Trillian's log signer
 * and Tessera's integrator do (../notes §4.1: one sequencer, batches of 100 ms to 1 s,
 * one signed checkpoint per batch).
 */
#include <pthread.h>

#include "core/log.h"
#include "ledger/ledger-int.h"
#include "ledger/ledger.h"
#include "core/util.h"

struct ledger_sequencer {
    struct store *s;
    const struct ledger_key *key;
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t wake;
    bool stopping;
    bool asked;    /* store_sequencer_lead() was called once */
    bool leading;  /* store_sequencer_lead() said yes at the last tick */
    uint64_t seen; /* store_version() at the last integration */
};

static void run_once(struct ledger_sequencer *q)
{
    struct err err = ERR_INIT;
    uint64_t v = store_version(q->s);
    uint64_t size = 0;
    bool lead = false;

    /* Of the servers sharing a database, one integrates (store_sequencer_lead); the
     * others check each tick and take over when it is gone. */
    if (store_sequencer_lead(q->s, &lead, &err))
        log_error("ledger: electing the sequencer failed: %s", err.msg);
    /* The first answer at debug level: at info it would race the server's ready line
     * on stderr (and SQLite's is always yes); a change later is worth a line. */
    if (!q->asked)
        log_debug("ledger: this server %s the ledger", lead ? "sequences" : "does not sequence");
    else if (lead != q->leading)
        log_info(lead ? "ledger: this server now sequences the ledger"
                      : "ledger: another server now sequences the ledger");
    q->asked = true;
    q->leading = lead;
    /* The read journal's records do not move the version: they are looked for apart. */
    if (!lead || (v == q->seen && !journal_pending(q->s)))
        return;
    if (ledger_integrate(q->s, q->key, &size, &err)) {
        log_error("ledger: integrating staged entries failed: %s", err.msg);
        return; /* q->seen unchanged: retried at the next tick */
    }
    /* Our own commit bumped the version; the next tick then finds nothing staged, which
     * ledger_integrate answers with two reads and no write. */
    q->seen = v;
}

static void *sequencer_main(void *arg)
{
    struct ledger_sequencer *q = arg;
    struct timespec until;

    pthread_mutex_lock(&q->lock);
    while (!q->stopping) {
        pthread_mutex_unlock(&q->lock);
        run_once(q);
        pthread_mutex_lock(&q->lock);
        clock_gettime(CLOCK_MONOTONIC, &until);
        until.tv_nsec += (long)LEDGER_BATCH_MS * 1000000L;
        until.tv_sec += until.tv_nsec / 1000000000L;
        until.tv_nsec %= 1000000000L;
        while (!q->stopping && pthread_cond_timedwait(&q->wake, &q->lock, &until) == 0)
            ;
    }
    pthread_mutex_unlock(&q->lock);
    return NULL;
}

int ledger_sequencer_start(struct ledger_sequencer **out, struct store *s,
                           const struct ledger_key *key, struct err *err)
{
    struct ledger_sequencer *q = xcalloc(1, sizeof(*q));
    pthread_condattr_t attr;
    int rc;

    *out = NULL;
    q->s = s;
    q->key = key;
    q->seen = UINT64_MAX; /* integrate at the first tick */
    pthread_mutex_init(&q->lock, NULL);
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_init(&q->wake, &attr);
    pthread_condattr_destroy(&attr);
    rc = pthread_create(&q->thread, NULL, sequencer_main, q);
    if (rc) {
        pthread_cond_destroy(&q->wake);
        pthread_mutex_destroy(&q->lock);
        free(q);
        return err_set(err, ERR_INTERNAL, NULL, "cannot start the ledger sequencer: %s",
                       strerror(rc));
    }
    *out = q;
    return 0;
}

void ledger_sequencer_stop(struct ledger_sequencer *q)
{
    struct err err = ERR_INIT;

    if (!q)
        return;
    pthread_mutex_lock(&q->lock);
    q->stopping = true;
    pthread_cond_signal(&q->wake);
    pthread_mutex_unlock(&q->lock);
    pthread_join(q->thread, NULL);
    if (ledger_integrate(q->s, q->key, NULL, &err))
        log_error("ledger: the last integration failed: %s", err.msg);
    pthread_cond_destroy(&q->wake);
    pthread_mutex_destroy(&q->lock);
    free(q);
}
