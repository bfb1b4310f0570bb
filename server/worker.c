/*
 * worker: the -t threads that own connections, each with its own event base.
 *
 * The main thread accepts and calls workers_dispatch(), which appends the
 * socket to the next worker's queue (round-robin) under that worker's lock
 * and writes one byte to its notify pipe; the worker's notify event drains
 * the pipe and the queue, oldest first (FIFO), and creates the connections
 * on its own thread.
 * A pipe (not a shared event) keeps the hand-over independent of libevent's
 * cross-thread locking, and a byte per socket cannot be lost.
 *
 * Each worker also watches every UDP socket (udp.c) from its base.
 *
 * The loop: one poll and its callbacks at a time (EVLOOP_ONCE), then the
 * turns of the connections those callbacks read (conn_run_ready: conn.c's
 * "reads first, then turns"). The base has no lock (worker_base_new): only
 * its thread touches it.
 *
 * Stopping: workers_stop() sets each worker's `stopping` flag and wakes it
 * through the notify pipe; the poll that reads the byte returns and the
 * loop, which checks the flag after each poll, ends. (A flag, not an
 * event_base_loopbreak() from outside: that is lost when it comes before the
 * thread has entered its loop, which clears it as it starts.) The thread
 * then closes its remaining connections itself, so no connection is ever
 * touched by two threads.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/log.h"
#include "common/logger.h"
#include "server/server.h"

#define WORKER_QUEUE_INITIAL 16
#define WORKER_DRAIN_BYTES 64
#define WORKER_TICK_SECONDS 1

/* Takes the oldest hand-off: sockets are served in the order they were accepted. */
static bool worker_dequeue(struct worker *w, struct conn_handoff *h)
{
    pthread_mutex_lock(&w->lock);
    bool any = w->queue_head < w->queue_len;
    if (any)
        *h = w->queue[w->queue_head++];
    if (w->queue_head == w->queue_len)
        w->queue_head = w->queue_len = 0;
    pthread_mutex_unlock(&w->lock);
    return any;
}

static void worker_on_notify(evutil_socket_t fd, short what, void *arg)
{
    struct worker *w = arg;
    char drain[WORKER_DRAIN_BYTES];
    while (read(fd, drain, sizeof(drain)) > 0)
        ;
    if (atomic_load(&w->stopping))
        return;   /* the loop ends after this poll */
    struct conn_handoff h;
    while (worker_dequeue(w, &h))
        conn_new(w, h.fd, h.listener);
}

/* idle_timeout: closes this worker's connections that have been idle too long. */
static void worker_on_tick(evutil_socket_t fd, short what, void *arg)
{
    struct worker *w = arg;
    uint64_t idle = w->srv->settings.idle_timeout;
    rel_time_t now = clock_now();
    struct conn *c = w->conns;   /* only this thread changes the list */
    while (c != NULL) {
        struct conn *next = c->next;
        conn_close_if_idle(c, now, idle);
        c = next;
    }
}

static void *worker_main(void *arg)
{
    struct worker *w = arg;
    if (!logger_thread_ring())
        log_error("worker %u: no memory for its watch ring; it logs to the shared one\n", w->id);
    /* one poll and its callbacks, then the turns of what they read */
    while (!atomic_load(&w->stopping) && event_base_loop(w->base, EVLOOP_ONCE) == 0)
        conn_run_ready(w);
    while (w->conns != NULL) {
        w->conns->close_reason = LOGGER_CLOSE_SHUTDOWN;
        conn_close(w->conns);
    }
    return NULL;
}

/*
 * A base without libevent's lock: only the worker's own thread touches it
 * (the hand-off goes through the notify pipe, see the top), so the lock
 * would be taken and released a few times per loop for nothing.
 */
static struct event_base *worker_base_new(void)
{
    struct event_config *cfg = event_config_new();
    if (cfg == NULL)
        return NULL;
    event_config_set_flag(cfg, EVENT_BASE_FLAG_NOLOCK);
    struct event_base *base = event_base_new_with_config(cfg);
    event_config_free(cfg);
    return base;
}

static int worker_init(struct server *srv, struct worker *w, unsigned id, char *err,
                       size_t errlen)
{
    w->srv = srv;
    w->id = id;
    pthread_mutex_init(&w->lock, NULL);
    w->base = worker_base_new();
    if (w->base == NULL || pipe2(w->notify, O_NONBLOCK | O_CLOEXEC) != 0) {
        snprintf(err, errlen, "cannot set up worker thread %u: %s", id, strerror(errno));
        return -1;
    }
    w->notify_ev = event_new(w->base, w->notify[0], EV_READ | EV_PERSIST, worker_on_notify, w);
    if (w->notify_ev == NULL || event_add(w->notify_ev, NULL) != 0) {
        snprintf(err, errlen, "cannot set up worker thread %u events", id);
        return -1;
    }
    if (udp_worker_start(w, err, errlen) != 0)
        return -1;
    if (srv->settings.idle_timeout > 0) {
        struct timeval tv = { WORKER_TICK_SECONDS, 0 };
        w->tick_ev = event_new(w->base, -1, EV_PERSIST, worker_on_tick, w);
        if (w->tick_ev == NULL || event_add(w->tick_ev, &tv) != 0) {
            snprintf(err, errlen, "cannot set up worker thread %u timer", id);
            return -1;
        }
    }
    return 0;
}

int workers_start(struct server *srv, char *err, size_t errlen)
{
    srv->nworkers = (unsigned)srv->settings.threads;
    srv->workers = calloc(srv->nworkers, sizeof(*srv->workers));
    if (srv->workers == NULL) {
        snprintf(err, errlen, "out of memory for %u worker threads", srv->nworkers);
        return -1;
    }
    for (unsigned i = 0; i < srv->nworkers; i++)
        if (worker_init(srv, &srv->workers[i], i, err, errlen) != 0)
            return -1;
    for (unsigned i = 0; i < srv->nworkers; i++) {
        int rc = pthread_create(&srv->workers[i].thread, NULL, worker_main, &srv->workers[i]);
        if (rc != 0) {
            snprintf(err, errlen, "cannot start worker thread %u: %s", i, strerror(rc));
            srv->nworkers = i;
            return -1;
        }
    }
    return 0;
}

static bool worker_enqueue(struct worker *w, int fd, const struct listener *l)
{
    pthread_mutex_lock(&w->lock);
    if (w->queue_len == w->queue_cap && w->queue_head > 0) {
        /* Taken entries free the front: slide the waiting ones down. */
        w->queue_len -= w->queue_head;
        memmove(w->queue, w->queue + w->queue_head, w->queue_len * sizeof(*w->queue));
        w->queue_head = 0;
    }
    if (w->queue_len == w->queue_cap) {
        size_t cap = w->queue_cap ? w->queue_cap * 2 : WORKER_QUEUE_INITIAL;
        struct conn_handoff *q = realloc(w->queue, cap * sizeof(*q));
        if (q == NULL) {
            pthread_mutex_unlock(&w->lock);
            return false;
        }
        w->queue = q;
        w->queue_cap = cap;
    }
    w->queue[w->queue_len++] = (struct conn_handoff){ fd, l };
    pthread_mutex_unlock(&w->lock);
    return true;
}

static void worker_wake(struct worker *w)
{
    char one = 'c';
    while (write(w->notify[1], &one, 1) < 0 && errno == EINTR)
        ;
    /* A full pipe (EAGAIN) already holds a wake-up: the queue is drained whole. */
}

void workers_dispatch(struct server *srv, int fd, const struct listener *l)
{
    struct worker *w = &srv->workers[srv->next_worker];
    srv->next_worker = (srv->next_worker + 1) % srv->nworkers;
    if (!worker_enqueue(w, fd, l)) {
        log_error("out of memory handing a connection to worker %u\n", w->id);
        close(fd);
        atomic_fetch_sub(&srv->curr_conns, 1);
        return;
    }
    worker_wake(w);
}

void workers_stop(struct server *srv)
{
    for (unsigned i = 0; i < srv->nworkers; i++) {
        atomic_store(&srv->workers[i].stopping, true);
        worker_wake(&srv->workers[i]);
    }
    for (unsigned i = 0; i < srv->nworkers; i++)
        pthread_join(srv->workers[i].thread, NULL);
    for (unsigned i = 0; srv->workers != NULL && i < (unsigned)srv->settings.threads; i++) {
        struct worker *w = &srv->workers[i];
        for (size_t q = w->queue_head; q < w->queue_len; q++)
            close(w->queue[q].fd);
        free(w->queue);
        if (w->notify_ev != NULL)
            event_free(w->notify_ev);
        if (w->tick_ev != NULL)
            event_free(w->tick_ev);
        udp_worker_free(w);
        if (w->base != NULL)
            event_base_free(w->base);
        if (w->notify[0] > 0) {
            close(w->notify[0]);
            close(w->notify[1]);
        }
        pthread_mutex_destroy(&w->lock);
    }
    free(srv->workers);
    srv->workers = NULL;
}
