/*
 * stats: the `stats` groups, summed from every thread's counters.
 *
 * Counters are never written by the thread that reads them: each worker owns
 * its struct proto_counters and byte counters, the main thread its accept
 * counters, the store its own figures. A stats request (on any worker)
 * sums them into a snapshot. Every line printed comes from an X-macro table:
 * the request counters of protocol/counters.h, the store's figures of
 * slabs/store.h (STORE_STATS, STORE_CLASS_STATS) and the server's own lines
 * below (STATS_SERVER_COUNTERS, STATS_GENERAL_HEAD/TAIL), never by hand.
 *
 * `stats reset` does not write anyone's counters: it records the current
 * snapshot as a baseline, and every later report prints snapshot - baseline.
 * Only the baseline is shared (under a mutex).
 *
 * Names, order and meaning follow memcached 1.6.45 (a default build: no
 * extstore, TLS or proxy lines); a figure that has no meaning here says so
 * at its row. Ours come after memcached's: `stats` ends with the store's
 * OURS rows, `stats items` with number_temp, `stats slabs` adds per-class
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

/*
 * Server-owned counters that `stats reset` clears:  X(name, owner, member)
 *   owner  WORKER: the sum of every worker's counter `member`;
 *          SERVER: the server's counter `member` (main thread)
 */
#define STATS_SERVER_COUNTERS(X)                    \
    X(total_connections,    SERVER, total_conns)    \
    X(rejected_connections, SERVER, rejected_conns) \
    X(bytes_read,           WORKER, bytes_read)     \
    X(bytes_written,        WORKER, bytes_written)  \
    X(conn_yields,          WORKER, conn_yields)    \
    X(read_buf_oom,         WORKER, read_buf_oom)   \
    X(malloc_fails,         WORKER, malloc_fails)

#define STATS_FIELD(name) uint64_t name;
#define STATS_ROW_FIELD(name, ...) STATS_FIELD(name)
#define STATS_STORE_FIELD(name, type, ...) type name;
struct stats_class_snap {
    PROTO_CLASS_COUNTERS(STATS_FIELD)
};

/* Gauges summed over the workers, never cleared:  X(name, expression over w) */
#define STATS_WORKER_GAUGES(X)                                         \
    X(response_obj_count, counter_get(&w->replies.objects))           \
    X(response_obj_bytes, counter_get(&w->replies.bytes))

#define STATS_STORE_FIELD(name, type, ...) type name;
/* Everything `stats` sums or reads, so one snapshot serves a whole reply. */
struct stats_snap {
    PROTO_THREAD_COUNTERS(STATS_FIELD)
    STATS_SERVER_COUNTERS(STATS_ROW_FIELD)
    STATS_WORKER_GAUGES(STATS_ROW_FIELD)
    STORE_STATS(STATS_STORE_FIELD)
    struct stats_class_snap cls[CLASS_MAX + 1];
};
#undef STATS_STORE_FIELD
#undef STATS_ROW_FIELD
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

/* A percentage or ratio, two decimals (as slabs advise). */
static void stat_fraction(struct stat_sink *sink, const char *name, double v)
{
    stat_fmt(sink, name, "%.2f", v);
}

/* A STORE_STATS figure by its type: a static string as it is, a fraction
 * with two decimals, else a count. */
#define stat_value(sink, name, v) \
    _Generic((v), const char *: stat_str, double: stat_fraction, default: stat_u64)((sink), (name), (v))

/* Seconds with microseconds, as the rusage lines. */
static void stat_timeval(struct stat_sink *sink, const char *name, struct timeval tv)
{
    stat_fmt(sink, name, "%ld.%06ld", (long)tv.tv_sec, (long)tv.tv_usec);
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

/* STATS_SERVER_COUNTERS rows by owner: summed over the workers or read once. */
#define STATS_FROM_WORKER(name, owner, member) STATS_FROM_WORKER_##owner(name, member)
#define STATS_FROM_WORKER_WORKER(name, member) s->name += counter_get(&w->member);
#define STATS_FROM_WORKER_SERVER(name, member)
#define STATS_FROM_SERVER(name, owner, member) STATS_FROM_SERVER_##owner(name, member)
#define STATS_FROM_SERVER_WORKER(name, member)
#define STATS_FROM_SERVER_SERVER(name, member) s->name = counter_get(&srv->member);

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
        STATS_SERVER_COUNTERS(STATS_FROM_WORKER)
#define STATS_GAUGE_SUM(name, value) s->name += value;
        STATS_WORKER_GAUGES(STATS_GAUGE_SUM)
#undef STATS_GAUGE_SUM
    }
    STATS_SERVER_COUNTERS(STATS_FROM_SERVER)
    struct store_stats ss;
    store_stats(srv->store, &ss);
#define STATS_FROM_STORE(name, ...) s->name = ss.name;
    STORE_STATS(STATS_FROM_STORE)
#undef STATS_FROM_STORE
}

/* STORE_STATS rows by their reset column: RESET rows are cleared by `stats reset`. */
#define STATS_SUB_STORE(name, type, from, class_field, reset, ...) \
    STATS_SUB_STORE_##reset(name)
#define STATS_SUB_STORE_RESET(name) s->name -= b->name;
#define STATS_SUB_STORE_KEEP(name)

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
#define STATS_ROW_SUB(name, ...) STATS_SUB(name)
    PROTO_THREAD_COUNTERS(STATS_SUB)
    STATS_SERVER_COUNTERS(STATS_ROW_SUB)
#undef STATS_ROW_SUB
#undef STATS_SUB
    STORE_STATS(STATS_SUB_STORE)
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
    logger_stats_reset();   /* as memcached, which also forgets the prefixes */
    detail_clear();
}

/* ------------------------------------------------------------------ groups */

/* What the lines of `stats` are worked out from. */
struct stats_general_ctx {
    struct server *srv;
    const struct stats_snap *s;  /* since the last `stats reset` */
    struct rusage ru;
    time_t now;
    uint64_t conns;              /* connection structures: listeners, UDP, clients */
    struct logger_stats log;     /* watch's rings and watchers */
};

/*
 * `stats` prints, as memcached 1.6.45 does: STATS_GENERAL_HEAD, the request
 * counters (protocol/counters.h), STATS_GENERAL_TAIL, the store's ENGINE
 * rows (slabs/store.h), STATS_GENERAL_MISC, the store's ITEMS rows, then
 * ours that memcached lacks: the store's OURS rows.
 *
 * The server's lines:  X(name, kind, value)
 * kind names the printer (stat_<kind>), value is an expression over g.
 */
#define STATS_GENERAL_HEAD(X)                                                      \
    X(pid,                   u64,     (uint64_t)g->srv->pid)                       \
    X(uptime,                u64,     (uint64_t)(g->now - g->srv->stats->started)) \
    X(time,                  u64,     (uint64_t)g->now)                            \
    /* as the `version` command */                                                 \
    X(version,               str,     PROTOCOL_VERSION)                            \
    X(libevent,              str,     event_get_version())                         \
    X(pointer_size,          u64,     8 * sizeof(void *))                          \
    X(rusage_user,           timeval, g->ru.ru_utime)                              \
    X(rusage_system,         timeval, g->ru.ru_stime)                              \
    X(max_connections,       u64,     g->srv->settings.maxconns)                   \
    /* memcached's count: every connection structure but one */                   \
    X(curr_connections,      u64,     g->conns - 1)                                \
    X(total_connections,     u64,     g->s->total_connections)                     \
    X(rejected_connections,  u64,     g->s->rejected_connections)                  \
    /* ours are freed with their connection: the ones alive now */                 \
    X(connection_structures, u64,     g->conns)                                    \
    /* 0: a reply that cannot get memory aborts the process (protocol/reply.c) */ \
    X(response_obj_oom,      u64,     0)                                           \
    /* replies (one per connection and per worker's UDP) and their bytes */       \
    X(response_obj_count,    u64,     g->s->response_obj_count)                    \
    X(response_obj_bytes,    u64,     g->s->response_obj_bytes)                    \
    X(read_buf_count,        u64,     atomic_load(&g->srv->read_buf_count))        \
    X(read_buf_bytes,        u64,     atomic_load(&g->srv->read_buf_bytes))        \
    /* each connection owns its buffer: none are kept free for reuse */          \
    X(read_buf_bytes_free,   u64,     0)                                           \
    X(read_buf_oom,          u64,     g->s->read_buf_oom)                          \
    X(reserved_fds,          u64,     g->srv->reserved_fds)

#define STATS_GENERAL_TAIL(X)                                                    \
    X(bytes_read,            u64,     g->s->bytes_read)                          \
    X(bytes_written,         u64,     g->s->bytes_written)                       \
    X(limit_maxbytes,        u64,     g->s->limit_maxbytes)                      \
    /* Over -c we refuse and go on; accepting pauses only when out of fds. */    \
    X(accepting_conns,       u64,     atomic_load(&g->srv->accepting) ? 1 : 0)   \
    X(listen_disabled_num,   u64,     counter_get(&g->srv->listen_disabled_num)) \
    X(time_in_listen_disabled_us, u64,                                           \
      counter_get(&g->srv->time_in_listen_disabled_us))                          \
    X(threads,               u64,     g->srv->nworkers)                          \
    X(conn_yields,           u64,     g->s->conn_yields)

#define STATS_GENERAL_MISC(X)                                                    \
    X(malloc_fails,          u64,     g->s->malloc_fails)                        \
    /* watch's rings and watchers */                                             \
    X(log_worker_dropped,    u64,     g->log.worker_dropped)   \
    X(log_worker_written,    u64,     g->log.worker_written)   \
    X(log_watcher_skipped,   u64,     g->log.watcher_skipped)  \
    X(log_watcher_sent,      u64,     g->log.watcher_sent)     \
    X(log_watchers,          u64,     g->log.watchers) \
    /* 0: -N (NAPI ids) is not ours, so no id is unexpected and no              \
     * connection falls back from one to round robin */                          \
    X(unexpected_napi_ids,   u64,     0)                                         \
    X(round_robin_fallback,  u64,     0)

#define STATS_GENERAL_LINE(name, kind, value) stat_##kind(sink, #name, value);
#define STATS_COUNTER_LINE(name) stat_u64(sink, #name, g->s->name);
/* STORE_STATS rows by their shown column. */
#define STATS_STORE_ENGINE(name, type, from, class_field, reset, shown) \
    STATS_STORE_IF_##shown(STATS_STORE_LINE, STATS_SKIP, STATS_SKIP)(name)
#define STATS_STORE_ITEMS(name, type, from, class_field, reset, shown) \
    STATS_STORE_IF_##shown(STATS_SKIP, STATS_STORE_LINE, STATS_SKIP)(name)
#define STATS_STORE_OURS(name, type, from, class_field, reset, shown) \
    STATS_STORE_IF_##shown(STATS_SKIP, STATS_SKIP, STATS_STORE_LINE)(name)
#define STATS_STORE_IF_ENGINE(engine, items, ours) engine
#define STATS_STORE_IF_ITEMS(engine, items, ours) items
#define STATS_STORE_IF_OURS(engine, items, ours) ours
#define STATS_STORE_IF_NO(engine, items, ours) STATS_SKIP
#define STATS_STORE_LINE(name) stat_value(sink, #name, g->s->name);
#define STATS_SKIP(...)

static void stats_general_print(const struct stats_general_ctx *g, struct stat_sink *sink)
{
    STATS_GENERAL_HEAD(STATS_GENERAL_LINE)
    PROTO_THREAD_COUNTERS(STATS_COUNTER_LINE)
    STATS_GENERAL_TAIL(STATS_GENERAL_LINE)
    STORE_STATS(STATS_STORE_ENGINE)
    STATS_GENERAL_MISC(STATS_GENERAL_LINE)
    STORE_STATS(STATS_STORE_ITEMS)
    STORE_STATS(STATS_STORE_OURS)
    /* ours, after memcached's keys: `version` is the memcached release we follow */
    stat_str(sink, "slabcache_version", PACKAGE_VERSION);
}

/*
 * Connection structures as memcached counts them: each listening socket,
 * each worker's watch on each UDP socket (memcached gives every worker a
 * UDP connection of its own), and each client connection.
 */
static uint64_t stats_conn_structures(const struct server *srv)
{
    return atomic_load(&srv->curr_conns) + srv->nlisteners + (uint64_t)srv->nudp * srv->nworkers;
}

static void stats_general(struct server *srv, struct stat_sink *sink)
{
    struct stats_general_ctx g = { .srv = srv };
    struct stats_snap *s = stats_since_reset(srv);
    if (s == NULL)
        return;
    g.s = s;
    getrusage(RUSAGE_SELF, &g.ru);
    logger_stats(&g.log);
    g.now = clock_unix_now();
    g.conns = stats_conn_structures(srv);
    stats_general_print(&g, sink);
    free(s);
}

/* STORE_CLASS_STATS rows by their slabs column (HEAD, TAIL or NO). */
#define STATS_SLABS_HEAD_ROW(field, type, kept, slabs, items, stat) \
    STATS_SLABS_##slabs(STATS_SLABS_LINE, STATS_SKIP, STATS_SKIP)(field, stat)
#define STATS_SLABS_TAIL_ROW(field, type, kept, slabs, items, stat) \
    STATS_SLABS_##slabs(STATS_SKIP, STATS_SLABS_LINE, STATS_SKIP)(field, stat)
#define STATS_SLABS_HEAD(head, tail, no) head
#define STATS_SLABS_TAIL(head, tail, no) tail
#define STATS_SLABS_NO(head, tail, no) no
#define STATS_SLABS_LINE(field, stat) stat_prefixed(sink, "", c, #stat, cs->field);
#define STATS_SLABS_REQUEST_LINE(name) stat_prefixed(sink, "", c, #name, s->cls[c].name);
/* ...and by their items column (YES or NO). */
#define STATS_ITEMS_ROW(field, type, kept, slabs, items, stat) \
    STATS_ITEMS_##items(STATS_ITEMS_LINE, STATS_SKIP)(field, stat)
#define STATS_ITEMS_YES(yes, no) yes
#define STATS_ITEMS_NO(yes, no) no
#define STATS_ITEMS_LINE(field, stat) stat_prefixed(sink, "items:", c, #stat, cs->field);

/* One class of `stats slabs`: the store's figures around the request counters. */
static void stats_slabs_class(const struct stats_snap *s, unsigned c,
                              const struct store_class_stats *cs, struct stat_sink *sink)
{
    STORE_CLASS_STATS(STATS_SLABS_HEAD_ROW)
    PROTO_CLASS_COUNTERS(STATS_SLABS_REQUEST_LINE)
    STORE_CLASS_STATS(STATS_SLABS_TAIL_ROW)
    uint64_t waste = cs->chunk_bytes_used > cs->mem_requested
                         ? cs->chunk_bytes_used - cs->mem_requested : 0;
    char pct[STAT_VALUE_MAX];
    snprintf(pct, sizeof(pct), "%.2f", stat_pct(waste, cs->chunk_bytes_used));
    stat_prefixed(sink, "", c, "chunk_waste", waste);
    stat_prefixed_str(sink, c, "chunk_waste_pct", pct);
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
        if (cs.total_pages > 0)
            stats_slabs_class(s, c, &cs, sink);
    }
    /* The store sums the same per-class figures (bytes = all mem_requested). */
    uint64_t total_waste = s->chunk_bytes_used > s->bytes ? s->chunk_bytes_used - s->bytes : 0;
    stat_u64(sink, "active_slabs", s->active_slabs);
    stat_u64(sink, "total_malloced", s->total_malloced);
    stat_u64(sink, "total_mem_requested", s->bytes);
    stat_u64(sink, "total_chunk_waste", total_waste);
    stat_fmt(sink, "total_chunk_waste_pct", "%.2f", stat_pct(total_waste, s->chunk_bytes_used));
    free(s);
}

static void stats_items_class(unsigned c, const struct store_class_stats *cs,
                              struct stat_sink *sink)
{
    STORE_CLASS_STATS(STATS_ITEMS_ROW)
}

static void stats_items(struct server *srv, struct stat_sink *sink)
{
    unsigned n = store_class_count(srv->store);
    for (unsigned c = 1; c <= n; c++) {
        struct store_class_stats cs;
        store_class_stats(srv->store, c, &cs);
        if (cs.curr_items > 0)
            stats_items_class(c, &cs, sink);
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
    now.slab_automove = store_automove(srv->store);   /* and `slabs automove` these */
    struct store_automove_tuning t;
    store_automove_tuning(srv->store, &t);
    now.slab_automove_ratio = t.ratio;
    now.slab_automove_window = t.window;
    now.slab_automove_freeratio = t.freeratio;
    struct store_lru_settings lru;                     /* and `lru ...` these */
    store_lru_settings(srv->store, &lru);
    now.lru_segmented = lru.segmented;
    now.hot_lru_pct = lru.hot_lru_pct;
    now.warm_lru_pct = lru.warm_lru_pct;
    now.hot_max_factor = lru.hot_max_factor;
    now.warm_max_factor = lru.warm_max_factor;
    now.temporary_ttl = lru.temp_lru ? lru.temporary_ttl : 0;
    now.lru_crawler = store_crawler_enabled(srv->store);   /* and `lru_crawler ...` these */
    now.lru_crawler_sleep = store_crawler_sleep(srv->store);
    now.lru_crawler_tocrawl = store_crawler_tocrawl(srv->store);
    settings_stats(&now, stats_settings_emit, sink);
}

static void stats_conn_line(struct stat_sink *sink, int fd, const char *name, const char *v)
{
    stat_prefixed_str(sink, (unsigned)fd, name, v);
}

/*
 * A listening or UDP socket's lines, as memcached prints its connection
 * (opened at start, so its last command was then). memcached has one UDP
 * connection per worker (dup()ed descriptors); ours share one socket
 * (udp.c), listed once.
 */
static void stats_conn_socket(struct stat_sink *sink, int fd, bool udp, const char *addr,
                              const char *state, const char *idle)
{
    if (udp)
        stats_conn_line(sink, fd, "UDP", "UDP");
    stats_conn_line(sink, fd, "addr", addr);
    stats_conn_line(sink, fd, "state", state);
    stats_conn_line(sink, fd, "secs_since_last_cmd", idle);
}

static void stats_conns(struct server *srv, struct stat_sink *sink)
{
    char idle[STAT_VALUE_MAX];
    snprintf(idle, sizeof(idle), "%llu",
             (unsigned long long)(clock_unix_now() - srv->stats->started));
    for (size_t i = 0; i < srv->nlisteners; i++)
        stats_conn_socket(sink, srv->listeners[i].fd, false, srv->listeners[i].addr,
                          conn_state_name(CONN_listening), idle);
    for (size_t i = 0; i < srv->nudp; i++)
        stats_conn_socket(sink, srv->udp[i].fd, true, srv->udp[i].addr, "conn_read", idle);
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

/* STORE_STATS rows `stats reset` clears, and the class fields they sum. */
#define STATS_RESET_NAME(field, type, from, class_field, reset, shown) \
    STATS_RESET_NAME_##reset(field)
#define STATS_RESET_NAME_RESET(name) #name,
#define STATS_RESET_NAME_KEEP(name)
#define STATS_RESET_CLASS_NAME(field, type, from, class_field, reset, shown) \
    STATS_RESET_CLASS_NAME_##from(class_field, reset)
#define STATS_RESET_CLASS_NAME_SUM(class_field, reset) STATS_RESET_NAME_##reset(class_field)
#define STATS_RESET_CLASS_NAME_READ(class_field, reset)
#define STATS_NAME(name) #name,
#define STATS_ROW_NAME(name, ...) #name,

bool stats_is_counter(const char *name)
{
    static const char *const counters[] = {
        PROTO_THREAD_COUNTERS(STATS_NAME)
        STATS_SERVER_COUNTERS(STATS_ROW_NAME)
        STORE_STATS(STATS_RESET_NAME)
        PROTO_CLASS_COUNTERS(STATS_NAME)
        STORE_STATS(STATS_RESET_CLASS_NAME)
    };
    for (size_t i = 0; i < sizeof(counters) / sizeof(counters[0]); i++)
        if (strcmp(name, counters[i]) == 0)
            return true;
    return false;
}

/*
 * stats sizes: memcached's lines, "<size> <items>" for each non-empty
 * 32-byte bucket (size = the bucket's top, items of size-31..size bytes),
 * with -o track_sizes only. The store's histogram is finer up to 4 KiB, so
 * those lines are exact; above, a coarser bucket is printed at its top.
 */
#define STATS_SIZES_WIDTH 32

static void stats_sizes_line(struct stat_sink *sink, uint64_t size, uint64_t items)
{
    char name[STAT_NAME_MAX];
    snprintf(name, sizeof(name), "%llu", (unsigned long long)size);
    stat_u64(sink, name, items);
}

static void stats_sizes(struct server *srv, struct stat_sink *sink)
{
    if (!srv->settings.track_sizes) {
        stat_str(sink, "sizes_status", "disabled");
        return;
    }
    struct store_sizes hist;   /* 13 KB: a worker's stack holds it */
    const struct store_sizes *h = &hist;
    store_sizes(srv->store, &hist);
    uint64_t size = 0, items = 0;
    for (unsigned b = 0; b < STORE_SIZES_BUCKETS; b++) {
        if (h->items[b] == 0)
            continue;
        uint64_t top = store_sizes_bucket_upper(b);
        uint64_t line = (top + STATS_SIZES_WIDTH - 1) / STATS_SIZES_WIDTH * STATS_SIZES_WIDTH;
        if (line != size && items != 0)
            stats_sizes_line(sink, size, items);
        if (line != size)
            items = 0;
        size = line;
        items += h->items[b];
    }
    if (items != 0)
        stats_sizes_line(sink, size, items);
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
