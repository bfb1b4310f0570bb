/*
 * stats: the `stats` groups, summed from every thread's counters.
 *
 * Counters are never written by the thread that reads them: each worker owns
 * its struct proto_counters and byte counters, the main thread its accept
 * counters, the store its own figures. A stats request (on any worker)
 * sums them into a snapshot; the lists of names come from the X-macro tables
 * (protocol/counters.h and STATS_SERVER_COUNTERS below), never by hand.
 *
 * `stats reset` does not write anyone's counters: it records the current
 * snapshot as a baseline, and every later report prints snapshot - baseline.
 * Only the baseline is shared (under a mutex).
 *
 * Names and order follow memcached 1.6.18; `stats slabs` adds per-class
 * mem_requested, chunk_waste and chunk_waste_pct, and their totals.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include <event2/event.h>

#include "config.h"
#include "common/clock.h"
#include "common/log.h"
#include "server/server.h"

#define STAT_VALUE_MAX 64
#define STAT_NAME_MAX 96
#define PERCENT 100.0

/* Server-owned counters that `stats reset` clears. */
#define STATS_SERVER_COUNTERS(X) \
    X(total_connections)         \
    X(rejected_connections)      \
    X(bytes_read)                \
    X(bytes_written)             \
    X(conn_yields)

/* Store totals that `stats reset` clears, as memcached. */
#define STATS_STORE_COUNTERS(X) \
    X(total_items)              \
    X(expired_unfetched)        \
    X(evicted_unfetched)        \
    X(evictions)                \
    X(reclaimed)

#define STATS_FIELD(name) uint64_t name;
struct stats_class_snap {
    PROTO_CLASS_COUNTERS(STATS_FIELD)
};

struct stats_snap {
    PROTO_THREAD_COUNTERS(STATS_FIELD)
    STATS_SERVER_COUNTERS(STATS_FIELD)
    STATS_STORE_COUNTERS(STATS_FIELD)
    struct stats_class_snap cls[CLASS_MAX + 1];
};
#undef STATS_FIELD

struct stats_state {
    pthread_mutex_t lock;
    struct stats_snap base;
    time_t started;
};

/* ---------------------------------------------------------------- output */

static void stat_str(struct stat_sink *sink, const char *name, const char *value)
{
    sink->emit(sink, name, value);
}

static void stat_fmt(struct stat_sink *sink, const char *name, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void stat_fmt(struct stat_sink *sink, const char *name, const char *fmt, ...)
{
    char value[STAT_VALUE_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(value, sizeof(value), fmt, ap);
    va_end(ap);
    sink->emit(sink, name, value);
}

static void stat_u64(struct stat_sink *sink, const char *name, uint64_t v)
{
    stat_fmt(sink, name, "%llu", (unsigned long long)v);
}

/* "N:name" per class, "items:N:name" for stats items, "fd:name" for conns. */
static void stat_prefixed(struct stat_sink *sink, const char *prefix, unsigned n,
                          const char *name, uint64_t v)
{
    char full[STAT_NAME_MAX];
    snprintf(full, sizeof(full), "%s%u:%s", prefix, n, name);
    stat_u64(sink, full, v);
}

static void stat_prefixed_str(struct stat_sink *sink, unsigned n, const char *name,
                              const char *v)
{
    char full[STAT_NAME_MAX];
    snprintf(full, sizeof(full), "%u:%s", n, name);
    stat_str(sink, full, v);
}

static double stat_pct(uint64_t part, uint64_t whole)
{
    return whole == 0 ? 0.0 : (double)part * PERCENT / (double)whole;
}

/* -------------------------------------------------------------- snapshot */

static void stats_collect(struct server *srv, struct stats_snap *s)
{
    memset(s, 0, sizeof(*s));
    for (unsigned i = 0; i < srv->nworkers; i++) {
        const struct worker *w = &srv->workers[i];
        const struct proto_counters *pc = &w->counters;
#define STATS_SUM(name) s->name += counter_get(&pc->name);
        PROTO_THREAD_COUNTERS(STATS_SUM)
#undef STATS_SUM
        for (unsigned c = 0; c <= CLASS_MAX; c++) {
#define STATS_SUM_CLS(name) s->cls[c].name += counter_get(&pc->cls[c].name);
            PROTO_CLASS_COUNTERS(STATS_SUM_CLS)
#undef STATS_SUM_CLS
        }
        s->bytes_read += counter_get(&w->bytes_read);
        s->bytes_written += counter_get(&w->bytes_written);
        s->conn_yields += counter_get(&w->conn_yields);
    }
    s->total_connections = counter_get(&srv->total_conns);
    s->rejected_connections = counter_get(&srv->rejected_conns);
    struct store_stats ss;
    store_stats(srv->store, &ss);
#define STATS_FROM_STORE(name) s->name = ss.name;
    STATS_STORE_COUNTERS(STATS_FROM_STORE)
#undef STATS_FROM_STORE
}

/* The current snapshot less the `stats reset` baseline. */
static struct stats_snap *stats_since_reset(struct server *srv)
{
    struct stats_snap *s = malloc(sizeof(*s));
    if (s == NULL)
        return NULL;
    stats_collect(srv, s);
    struct stats_state *st = srv->stats;
    pthread_mutex_lock(&st->lock);
    const struct stats_snap *b = &st->base;
#define STATS_SUB(name) s->name -= b->name;
    PROTO_THREAD_COUNTERS(STATS_SUB)
    STATS_SERVER_COUNTERS(STATS_SUB)
    STATS_STORE_COUNTERS(STATS_SUB)
#undef STATS_SUB
    for (unsigned c = 0; c <= CLASS_MAX; c++) {
#define STATS_SUB_CLS(name) s->cls[c].name -= b->cls[c].name;
        PROTO_CLASS_COUNTERS(STATS_SUB_CLS)
#undef STATS_SUB_CLS
    }
    pthread_mutex_unlock(&st->lock);
    return s;
}

int stats_init(struct server *srv)
{
    struct stats_state *st = calloc(1, sizeof(*st));
    if (st == NULL)
        return -1;
    pthread_mutex_init(&st->lock, NULL);
    st->started = clock_unix_now();
    srv->stats = st;
    return 0;
}

void stats_free(struct server *srv)
{
    if (srv->stats == NULL)
        return;
    pthread_mutex_destroy(&srv->stats->lock);
    free(srv->stats);
    srv->stats = NULL;
}

void stats_reset(void *arg)
{
    struct server *srv = arg;
    struct stats_snap *now = malloc(sizeof(*now));
    if (now == NULL)
        return;
    stats_collect(srv, now);
    pthread_mutex_lock(&srv->stats->lock);
    srv->stats->base = *now;
    pthread_mutex_unlock(&srv->stats->lock);
    free(now);
}

/* ------------------------------------------------------------------ groups */

static void stats_general(struct server *srv, struct stat_sink *sink)
{
    struct stats_snap *s = stats_since_reset(srv);
    if (s == NULL)
        return;
    struct store_stats ss;
    store_stats(srv->store, &ss);
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    time_t now = clock_unix_now();
    /* As memcached, each worker's watch on each UDP socket counts as a connection. */
    uint64_t curr = atomic_load(&srv->curr_conns) + (uint64_t)srv->nudp * srv->nworkers;

    stat_u64(sink, "pid", (uint64_t)srv->pid);
    stat_u64(sink, "uptime", (uint64_t)(now - srv->stats->started));
    stat_u64(sink, "time", (uint64_t)now);
    stat_str(sink, "version", PROTOCOL_VERSION);   /* as the `version` command */
    stat_str(sink, "libevent", event_get_version());
    stat_u64(sink, "pointer_size", 8 * sizeof(void *));
    stat_fmt(sink, "rusage_user", "%ld.%06ld", (long)ru.ru_utime.tv_sec,
             (long)ru.ru_utime.tv_usec);
    stat_fmt(sink, "rusage_system", "%ld.%06ld", (long)ru.ru_stime.tv_sec,
             (long)ru.ru_stime.tv_usec);
    stat_u64(sink, "max_connections", srv->settings.maxconns);
    stat_u64(sink, "curr_connections", curr);
    stat_u64(sink, "total_connections", s->total_connections);
    stat_u64(sink, "rejected_connections", s->rejected_connections);
    stat_u64(sink, "connection_structures", curr + srv->nlisteners);
#define STATS_PRINT(name) stat_u64(sink, #name, s->name);
    PROTO_THREAD_COUNTERS(STATS_PRINT)
#undef STATS_PRINT
    stat_u64(sink, "bytes_read", s->bytes_read);
    stat_u64(sink, "bytes_written", s->bytes_written);
    stat_u64(sink, "limit_maxbytes", ss.limit_maxbytes);
    /* Over -c we refuse and go on; accepting pauses only when out of descriptors. */
    stat_u64(sink, "accepting_conns", atomic_load(&srv->accepting) ? 1 : 0);
    stat_u64(sink, "listen_disabled_num", counter_get(&srv->listen_disabled_num));
    stat_u64(sink, "time_in_listen_disabled_us", counter_get(&srv->time_in_listen_disabled_us));
    stat_u64(sink, "threads", srv->nworkers);
    stat_u64(sink, "conn_yields", s->conn_yields);
    stat_u64(sink, "hash_power_level", ss.hash_power_level);
    stat_u64(sink, "hash_bytes", ss.hash_bytes);
    stat_u64(sink, "hash_is_expanding", ss.hash_is_expanding);
    stat_u64(sink, "bytes", ss.bytes);
    stat_u64(sink, "curr_items", ss.curr_items);
    stat_u64(sink, "total_items", s->total_items);
    stat_u64(sink, "expired_unfetched", s->expired_unfetched);
    stat_u64(sink, "evicted_unfetched", s->evicted_unfetched);
    stat_u64(sink, "evictions", s->evictions);
    stat_u64(sink, "reclaimed", s->reclaimed);
    free(s);
}

static void stats_slabs(struct server *srv, struct stat_sink *sink)
{
    struct stats_snap *s = stats_since_reset(srv);
    if (s == NULL)
        return;
    unsigned n = store_class_count(srv->store);
    for (unsigned c = 1; c <= n; c++) {
        struct store_class_stats cs;
        store_class_stats(srv->store, c, &cs);
        if (cs.total_pages == 0)
            continue;
        stat_prefixed(sink, "", c, "chunk_size", cs.chunk_size);
        stat_prefixed(sink, "", c, "chunks_per_page", cs.chunks_per_page);
        stat_prefixed(sink, "", c, "total_pages", cs.total_pages);
        stat_prefixed(sink, "", c, "total_chunks", cs.total_chunks);
        stat_prefixed(sink, "", c, "used_chunks", cs.used_chunks);
        stat_prefixed(sink, "", c, "free_chunks", cs.free_chunks);
        stat_prefixed(sink, "", c, "free_chunks_end", cs.free_chunks_end);
#define STATS_PRINT_CLS(name) stat_prefixed(sink, "", c, #name, s->cls[c].name);
        PROTO_CLASS_COUNTERS(STATS_PRINT_CLS)
#undef STATS_PRINT_CLS
        uint64_t waste = cs.chunk_bytes_used > cs.mem_requested
                             ? cs.chunk_bytes_used - cs.mem_requested : 0;
        char pct[STAT_VALUE_MAX];
        snprintf(pct, sizeof(pct), "%.2f", stat_pct(waste, cs.chunk_bytes_used));
        stat_prefixed(sink, "", c, "mem_requested", cs.mem_requested);
        stat_prefixed(sink, "", c, "chunk_waste", waste);
        stat_prefixed_str(sink, c, "chunk_waste_pct", pct);
    }
    /* The store sums the same per-class figures (bytes = all mem_requested). */
    struct store_stats ss;
    store_stats(srv->store, &ss);
    uint64_t total_waste = ss.chunk_bytes_used > ss.bytes ? ss.chunk_bytes_used - ss.bytes : 0;
    stat_u64(sink, "active_slabs", ss.active_slabs);
    stat_u64(sink, "total_malloced", ss.total_malloced);
    stat_u64(sink, "total_mem_requested", ss.bytes);
    stat_u64(sink, "total_chunk_waste", total_waste);
    stat_fmt(sink, "total_chunk_waste_pct", "%.2f", stat_pct(total_waste, ss.chunk_bytes_used));
    free(s);
}

static void stats_items(struct server *srv, struct stat_sink *sink)
{
    unsigned n = store_class_count(srv->store);
    for (unsigned c = 1; c <= n; c++) {
        struct store_class_stats cs;
        store_class_stats(srv->store, c, &cs);
        if (cs.curr_items == 0)
            continue;
        stat_prefixed(sink, "items:", c, "number", cs.curr_items);
        stat_prefixed(sink, "items:", c, "age", cs.age);
        stat_prefixed(sink, "items:", c, "mem_requested", cs.mem_requested);
        stat_prefixed(sink, "items:", c, "evicted", cs.evicted);
        stat_prefixed(sink, "items:", c, "evicted_nonzero", cs.evicted_nonzero);
        stat_prefixed(sink, "items:", c, "evicted_time", cs.evicted_time);
        stat_prefixed(sink, "items:", c, "outofmemory", cs.outofmemory);
        stat_prefixed(sink, "items:", c, "reclaimed", cs.reclaimed);
        stat_prefixed(sink, "items:", c, "expired_unfetched", cs.expired_unfetched);
        stat_prefixed(sink, "items:", c, "evicted_unfetched", cs.evicted_unfetched);
    }
}

static void stats_settings_emit(void *arg, const char *name, const char *value)
{
    struct stat_sink *sink = arg;
    stat_str(sink, name, value);
}

static void stats_settings(struct server *srv, struct stat_sink *sink)
{
    struct settings now = srv->settings;   /* shallow: strings stay owned by srv */
    now.verbose = (unsigned)log_level();   /* the `verbosity` command changes it */
    settings_stats(&now, stats_settings_emit, sink);
}

static void stats_conn_line(struct stat_sink *sink, int fd, const char *name, const char *v)
{
    stat_prefixed_str(sink, (unsigned)fd, name, v);
}

static void stats_conns(struct server *srv, struct stat_sink *sink)
{
    for (size_t i = 0; i < srv->nlisteners; i++) {
        stats_conn_line(sink, srv->listeners[i].fd, "addr", srv->listeners[i].addr);
        stats_conn_line(sink, srv->listeners[i].fd, "state", conn_state_name(CONN_listening));
    }
    for (size_t i = 0; i < srv->nudp; i++) {
        stats_conn_line(sink, srv->udp[i].fd, "addr", srv->udp[i].addr);
        stats_conn_line(sink, srv->udp[i].fd, "state", "conn_read");
    }
    rel_time_t now = clock_now();
    for (unsigned i = 0; i < srv->nworkers; i++) {
        struct worker *w = &srv->workers[i];
        pthread_mutex_lock(&w->lock);
        for (const struct conn *c = w->conns; c != NULL; c = c->next) {
            rel_time_t last = atomic_load_explicit(&c->last_cmd, memory_order_relaxed);
            char secs[STAT_VALUE_MAX];
            snprintf(secs, sizeof(secs), "%u", now > last ? now - last : 0);
            stats_conn_line(sink, c->fd, "addr", c->addr);
            stats_conn_line(sink, c->fd, "listen_addr", c->listen_addr);
            stats_conn_line(sink, c->fd, "state",
                            conn_state_name(atomic_load_explicit(&c->state,
                                                                 memory_order_relaxed)));
            stats_conn_line(sink, c->fd, "secs_since_last_cmd", secs);
        }
        pthread_mutex_unlock(&w->lock);
    }
}

static void stats_sizes(struct server *srv, struct stat_sink *sink)
{
    stat_str(sink, "sizes_status", "disabled");
}

struct stats_group_def {
    const char *name;
    void (*fn)(struct server *srv, struct stat_sink *sink);
};

static const struct stats_group_def stats_groups[] = {
    { "", stats_general },
    { "slabs", stats_slabs },
    { "items", stats_items },
    { "sizes", stats_sizes },
    { "settings", stats_settings },
    { "conns", stats_conns },
};

bool stats_group(void *arg, const char *group, struct stat_sink *sink)
{
    for (size_t i = 0; i < sizeof(stats_groups) / sizeof(stats_groups[0]); i++)
        if (strcmp(group, stats_groups[i].name) == 0) {
            stats_groups[i].fn(arg, sink);
            return true;
        }
    return false;
}
