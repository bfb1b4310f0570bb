/*
 * crawler: the LRU crawler. A thread of its own reclaims expired and
 * flushed items in the background, so that curr_items, bytes and the chunk
 * counts tell the truth without waiting for a client to meet each dead item;
 * the same walk serves key dumps (store_walk_step, for metadump, mgdump and
 * cachedump).
 *
 * It walks the HASH TABLE, never an LRU (assoc_walk: CRAWL_BATCH_BUCKETS
 * buckets per batch, each under its stripe lock, every lock let go between
 * batches, lru_crawler_sleep microseconds of pause between them). Only the
 * heads of chained items are in the table, so a chain is met once. A dead
 * item is unlinked with it_unlink_locked under its stripe lock: the same
 * path as a delete, whichever LRU list holds it; a reader that holds it
 * keeps it until it lets go.
 *
 * When it crawls:
 *   - asked: `lru_crawler crawl <classes>` (store_crawl), tocrawl items per
 *     class at most (0: all);
 *   - flush_all: store_flush asks for every class at once (a delayed flush
 *     becomes due like an exptime, below);
 *   - schedule: `soonest` holds the earliest exptime that may be in the
 *     table. Every store of an item with an exptime, every touch and a
 *     delayed flush lower it (crawler_note_exptime: one relaxed load and a
 *     compare on the set path, a compare-exchange only when it is lower).
 *     Once the clock reaches it the thread crawls every class and sets it to
 *     the soonest exptime among the live items it met (or "never"). Cost
 *     with nothing expiring: one wake-up a second and an atomic load; with
 *     TTLs, about one full walk per second at most while items keep
 *     expiring (CRAWL_IDLE_MS), each a bucket scan of the table, and never
 *     more than a tenth of the time: a scheduled crawl that took d is
 *     followed by at least CRAWL_REST_FACTOR d without one (a table of
 *     millions of items, where a crawl takes seconds, is crawled less
 *     often; expired items are still reclaimed when met meanwhile).
 * The thread sleeps on a condition variable while disabled or idle.
 */
#include "slabs/internal.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#define CRAWL_BATCH_BUCKETS 256    /* buckets per batch, then every lock is let go */
#define CRAWL_IDLE_MS 1000         /* the thread looks at its schedule this often */
#define CRAWL_NEVER UINT32_MAX     /* `soonest` when no exptime is known */
#define CRAWL_REST_FACTOR 9        /* after a scheduled crawl of d, rest 9 d: 10% of a core */
#define US_PER_S 1000000L
#define NS_PER_US 1000L
#define MS_PER_S 1000
#define NS_PER_MS 1000000L

/* ---- the schedule ---- */

/* ---- class sets ---- */

void store_class_set_add(struct store_class_set *set, unsigned cls)
{
    if (cls <= CLASS_MAX)
        set->bits[cls / 64] |= (uint64_t)1 << (cls % 64);
}

void store_class_set_all(struct store_class_set *set)
{
    memset(set->bits, 0xff, sizeof(set->bits));
}

bool store_class_set_has(const struct store_class_set *set, unsigned cls)
{
    return cls <= CLASS_MAX && (set->bits[cls / 64] >> (cls % 64) & 1);
}

/* ---- one crawl ---- */

struct crawl {
    struct store_class_set classes;
    uint32_t tocrawl;                   /* items per class at most; 0 = all */
    rel_time_t now;
    rel_time_t soonest;                 /* the earliest exptime of a live item met */
    uint32_t checked[CLASS_MAX + 1];
};

/* An item met by the walk: reclaimed if dead. Its stripe lock held. */
static void crawl_visit(store *s, item *it, void *arg)
{
    struct crawl *cr = arg;
    unsigned cls = it->cls;
    if (!store_class_set_has(&cr->classes, cls))
        return;
    if (cr->tocrawl != 0 && cr->checked[cls] >= cr->tocrawl)
        return;
    cr->checked[cls]++;
    struct crawler *c = &s->crawler;
    atomic_fetch_add_explicit(&c->items_checked[cls], 1, memory_order_relaxed);
    if (it_is_dead(s, it, cr->now, NULL)) {
        it_unlink_locked(s, it, assoc_hash(s->assoc.seed, item_key(it), it->nkey));
        atomic_fetch_add_explicit(&c->reclaimed[cls], 1, memory_order_relaxed);
        return;
    }
    rel_time_t e = item_exptime(it);
    if (e != 0 && e < cr->soonest)
        cr->soonest = e;
}

static void crawl_pause(const struct crawler *c)
{
    uint32_t us = atomic_load_explicit(&c->sleep_us, memory_order_relaxed);
    if (us == 0)
        return;
    struct timespec ts = { (time_t)(us / US_PER_S), (long)(us % US_PER_S) * NS_PER_US };
    nanosleep(&ts, NULL);
}

/* Walks the whole table for cr's classes; stops early when the thread must stop. */
static void crawl_run(store *s, struct crawl *cr)
{
    struct crawler *c = &s->crawler;
    struct store_walk cur = { 0 };
    atomic_store_explicit(&c->running, true, memory_order_relaxed);
    atomic_fetch_add_explicit(&c->starts, 1, memory_order_relaxed);
    for (;;) {
        cr->now = clock_now();
        if (!assoc_walk(s, &cur, CRAWL_BATCH_BUCKETS, crawl_visit, cr) ||
            atomic_load_explicit(&c->stopping, memory_order_relaxed))
            break;
        crawl_pause(c);
    }
    atomic_store_explicit(&c->running, false, memory_order_relaxed);
}

static uint64_t crawl_clock_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * MS_PER_S + (uint64_t)(ts.tv_nsec / NS_PER_MS);
}

/* A crawl of every class for the schedule: resets `soonest` to what it
 * finds, and rests in proportion to how long it took. The thread only. */
static void crawl_scheduled(store *s)
{
    struct crawler *c = &s->crawler;
    struct crawl cr = { .tocrawl = 0, .soonest = CRAWL_NEVER };
    store_class_set_all(&cr.classes);
    /* exptimes noted from here on lower soonest again; merged at the end */
    atomic_store_explicit(&c->soonest, CRAWL_NEVER, memory_order_relaxed);
    uint64_t began = crawl_clock_ms();
    crawl_run(s, &cr);
    uint64_t rest_s = (crawl_clock_ms() - began) * CRAWL_REST_FACTOR / MS_PER_S;
    c->not_before = clock_now() + (rel_time_t)rest_s;
    crawler_note_exptime(s, cr.soonest == CRAWL_NEVER ? 0 : cr.soonest);
}

static bool crawl_due(store *s)
{
    rel_time_t soonest = atomic_load_explicit(&s->crawler.soonest, memory_order_relaxed);
    rel_time_t now = clock_now();
    return soonest != CRAWL_NEVER && now >= soonest && now >= s->crawler.not_before;
}

/* ---- the thread ---- */

static void *crawler_thread(void *arg)
{
    store *s = arg;
    struct crawler *c = &s->crawler;
    pthread_mutex_lock(&c->lock);
    while (!c->stop) {
        if (c->asked) {
            struct crawl cr = { .classes = c->want, .tocrawl = c->want_tocrawl,
                                .soonest = CRAWL_NEVER };
            c->asked = false;
            memset(&c->want, 0, sizeof(c->want));
            pthread_mutex_unlock(&c->lock);
            crawl_run(s, &cr);
            pthread_mutex_lock(&c->lock);
            continue;
        }
        if (crawl_due(s)) {
            pthread_mutex_unlock(&c->lock);
            crawl_scheduled(s);
            pthread_mutex_lock(&c->lock);
            continue;
        }
        mover_cond_wait_ms(&c->wake, &c->lock, CRAWL_IDLE_MS);
    }
    pthread_mutex_unlock(&c->lock);
    return NULL;
}

/* ---- life cycle ---- */

int crawler_init(store *s)
{
    struct crawler *c = &s->crawler;
    if (mover_cond_init(&c->wake) != 0)
        return -1;
    pthread_mutex_init(&c->lock, NULL);
    pthread_mutex_init(&c->admin_lock, NULL);
    atomic_init(&c->soonest, CRAWL_NEVER);
    atomic_init(&c->sleep_us, s->cfg.crawler_sleep_us);
    atomic_init(&c->tocrawl, s->cfg.crawler_tocrawl);
    atomic_init(&c->enabled, s->cfg.crawler);
    c->initialized = true;
    return 0;
}

/* Stops the thread (if running) and waits for it. */
void crawler_stop(store *s)
{
    struct crawler *c = &s->crawler;
    if (!c->started)
        return;
    pthread_mutex_lock(&c->lock);
    c->stop = true;
    atomic_store_explicit(&c->stopping, true, memory_order_relaxed);
    pthread_cond_signal(&c->wake);
    pthread_mutex_unlock(&c->lock);
    pthread_join(c->thread, NULL);
    c->started = false;
    c->stop = false;
    c->asked = false;   /* a crawl asked of the stopped thread is dropped */
    atomic_store_explicit(&c->stopping, false, memory_order_relaxed);
}

void crawler_destroy(store *s)
{
    struct crawler *c = &s->crawler;
    if (!c->initialized)
        return;
    crawler_stop(s);
    pthread_cond_destroy(&c->wake);
    pthread_mutex_destroy(&c->lock);
    pthread_mutex_destroy(&c->admin_lock);
    c->initialized = false;
}

int crawler_start(store *s, char *err, size_t errlen)
{
    struct crawler *c = &s->crawler;
    if (c->started || !atomic_load_explicit(&c->enabled, memory_order_relaxed))
        return 0;
    int rc = pthread_create(&c->thread, NULL, crawler_thread, s);
    if (rc != 0) {
        snprintf(err, errlen, "cannot start the LRU crawler thread: %s", strerror(rc));
        return -1;
    }
    c->started = true;
    return 0;
}

/* ---- store.h ---- */

int store_crawler_enable(store *s, bool on, char *err, size_t errlen)
{
    struct crawler *c = &s->crawler;
    pthread_mutex_lock(&c->admin_lock);
    atomic_store_explicit(&c->enabled, on, memory_order_relaxed);
    int rc = 0;
    if (on)
        rc = crawler_start(s, err, errlen);
    else
        crawler_stop(s);
    if (rc != 0)
        atomic_store_explicit(&c->enabled, false, memory_order_relaxed);
    pthread_mutex_unlock(&c->admin_lock);
    return rc;
}

bool store_crawler_enabled(const store *s)
{
    return atomic_load_explicit(&((store *)s)->crawler.enabled, memory_order_relaxed);
}

void store_crawler_set_sleep(store *s, uint32_t us)
{
    atomic_store_explicit(&s->crawler.sleep_us, us, memory_order_relaxed);
}

uint32_t store_crawler_sleep(const store *s)
{
    return atomic_load_explicit(&((store *)s)->crawler.sleep_us, memory_order_relaxed);
}

void store_crawler_set_tocrawl(store *s, uint32_t items)
{
    atomic_store_explicit(&s->crawler.tocrawl, items, memory_order_relaxed);
}

uint32_t store_crawler_tocrawl(const store *s)
{
    return atomic_load_explicit(&((store *)s)->crawler.tocrawl, memory_order_relaxed);
}

enum store_crawl store_crawl(store *s, const struct store_class_set *classes)
{
    struct crawler *c = &s->crawler;
    enum store_crawl res = STORE_CRAWL_OK;
    pthread_mutex_lock(&c->lock);
    if (!c->started)
        res = STORE_CRAWL_DISABLED;
    else if (c->asked || atomic_load_explicit(&c->running, memory_order_relaxed))
        res = STORE_CRAWL_BUSY;
    else {
        c->want = *classes;
        c->want_tocrawl = atomic_load_explicit(&c->tocrawl, memory_order_relaxed);
        c->asked = true;
        pthread_cond_signal(&c->wake);
    }
    pthread_mutex_unlock(&c->lock);
    return res;
}

void crawler_flushed(store *s)
{
    struct crawler *c = &s->crawler;
    pthread_mutex_lock(&c->lock);
    if (c->started) {
        store_class_set_all(&c->want);
        c->want_tocrawl = 0;
        c->asked = true;
        pthread_cond_signal(&c->wake);
    }
    pthread_mutex_unlock(&c->lock);
}

void crawler_class_stats(store *s, unsigned cls, struct store_class_stats *out)
{
    struct crawler *c = &s->crawler;
    out->crawler_reclaimed = atomic_load_explicit(&c->reclaimed[cls], memory_order_relaxed);
    out->crawler_items_checked =
        atomic_load_explicit(&c->items_checked[cls], memory_order_relaxed);
}

void crawler_stats(store *s, struct store_stats *out)
{
    struct crawler *c = &s->crawler;
    out->lru_crawler_running = atomic_load_explicit(&c->running, memory_order_relaxed);
    out->lru_crawler_starts = atomic_load_explicit(&c->starts, memory_order_relaxed);
}

/* ---- key dumps ---- */

struct walk_live {
    const struct store_class_set *classes;
    rel_time_t now;
    store_walk_fn fn;
    void *arg;
};

static void walk_live_visit(store *s, item *it, void *arg)
{
    struct walk_live *w = arg;
    if ((w->classes == NULL || store_class_set_has(w->classes, it->cls)) &&
        !it_is_dead(s, it, w->now, NULL))
        w->fn(w->arg, it);
}

bool store_walk_step(store *s, struct store_walk *w, const struct store_class_set *classes,
                     unsigned buckets, store_walk_fn fn, void *arg)
{
    struct walk_live wl = { classes, clock_now(), fn, arg };
    return assoc_walk(s, w, buckets, walk_live_visit, &wl);
}
