/*
 * logger: the event streams of `watch` (memcached 1.6.45's logger), with
 * its line format.
 *
 *   worker thread                       watcher connection (its own worker)
 *   logger_item_get() ...               logger_watcher_take()
 *     -> this thread's ring  --drain-->   each watcher's buffer -> its reply
 *        (-o worker_logbuf_size)          (-o watcher_logbuf_size)
 *
 * Each thread that logs has a ring of binary records (logger_thread_ring();
 * threads without one, the background ones, share one ring). A record is
 * written only while some watcher wants its stream: callers test
 * logger_wants(), one relaxed atomic load, so with no watcher the cost on a
 * request is that load and a branch. A full ring drops the record and counts
 * it (log_worker_dropped); nothing here grows.
 *
 * There is no logger thread: a watcher's connection, on each turn of its
 * stream, drains every ring under logger's lock, formats each record once
 * and copies the line into the buffer of every watcher that asked for that
 * stream and attached before the record was written (gid order). A buffer
 * that cannot take a line skips it and counts it (log_watcher_skipped); the
 * next line it takes is preceded by memcached's "skipped=N". Then it takes
 * its own buffer's bytes for its reply. So memory is bounded by the rings,
 * the watchers' buffers and one piece in flight per watcher.
 *
 * Lives in common/ so each layer logs where its event happens without
 * calling up: protocol/ its gets, stores and deletes, slabs/ its evictions,
 * server/ its connections. Thread-safe; lock order: logger's lock, then a
 * ring's lock (a ring's lock alone on the logging side).
 */
#ifndef COMMON_LOGGER_H
#define COMMON_LOGGER_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Streams, memcached's bits (a watcher's flags are a set of them). */
#define LOGGER_SYSEVENTS   (1u << 1)
#define LOGGER_FETCHERS    (1u << 2)
#define LOGGER_MUTATIONS   (1u << 3)
#define LOGGER_CONNEVENTS  (1u << 5)
#define LOGGER_EVICTIONS   (1u << 6)
#define LOGGER_RAWCMDS     (1u << 9)
#define LOGGER_PROXYREQS   (1u << 10)
#define LOGGER_PROXYEVENTS (1u << 11)
#define LOGGER_PROXYUSER   (1u << 12)
#define LOGGER_DELETIONS   (1u << 13)
/* Not a stream: `stats detail` is counting (common/detail.h). It shares the
 * word so that a request path tests both with one load. */
#define LOGGER_DETAIL      (1u << 15)

/* memcached's defaults: 64 KB per worker ring, 256 KB per watcher buffer. */
#define LOGGER_WORKER_BUF_KB 64
#define LOGGER_WATCHER_BUF_KB 256
#define LOGGER_BUF_KB_MAX (1024 * 1024)   /* 1 GB: a sane bound on either */
#define LOGGER_WATCHERS_MAX 20            /* memcached's WATCHER_LIMIT */

/* item_get status, memcached's words: not_found found flushed expired. */
enum logger_get_status {
    LOGGER_GET_NOT_FOUND = 0,
    LOGGER_GET_FOUND,
    LOGGER_GET_FLUSHED,
    LOGGER_GET_EXPIRED,
};

/* item_store status: not_stored stored exists not_found too_large no_memory. */
enum logger_store_status {
    LOGGER_STORE_NOT_STORED = 0,
    LOGGER_STORE_STORED,
    LOGGER_STORE_EXISTS,
    LOGGER_STORE_NOT_FOUND,
    LOGGER_STORE_TOO_LARGE,
    LOGGER_STORE_NO_MEMORY,
};

/* item_store cmd: memcached's numbering (0 null, 1 add ... 6 cas). */
enum logger_store_cmd {
    LOGGER_CMD_ADD = 1,
    LOGGER_CMD_SET,
    LOGGER_CMD_REPLACE,
    LOGGER_CMD_APPEND,
    LOGGER_CMD_PREPEND,
    LOGGER_CMD_CAS,
};

/* deleted cmd: delete or md. */
enum logger_delete_cmd {
    LOGGER_DEL_DELETE = 1,
    LOGGER_DEL_META,
};

/* conn events: transport and close reason, memcached's words. */
enum logger_transport { LOGGER_LOCAL = 0, LOGGER_TCP, LOGGER_UDP };
enum logger_close_reason { LOGGER_CLOSE_ERROR = 0, LOGGER_CLOSE_NORMAL, LOGGER_CLOSE_IDLE,
                           LOGGER_CLOSE_SHUTDOWN };

/* Sizes in bytes (the options are in kilobytes). Call once before threads log. */
void logger_init(size_t worker_buf, size_t watcher_buf);
/* Frees every ring and watcher; no thread may log any more. */
void logger_shutdown(void);
/* Gives the calling thread a ring of its own (a worker at start); false without memory. */
bool logger_thread_ring(void);

/* The streams some watcher wants (and LOGGER_DETAIL); the hot path's one relaxed load. */
extern atomic_uint logger_flags_;
static inline bool logger_wants(unsigned stream)
{
    return (atomic_load_explicit(&logger_flags_, memory_order_relaxed) & stream) != 0;
}

/* Records; call only when logger_wants() their stream. size is the value's bytes. */
void logger_item_get(const char *key, size_t nkey, enum logger_get_status st, unsigned cls,
                     uint64_t size, int cfd);
/* ttl: seconds left, 0 for none. */
void logger_item_store(const char *key, size_t nkey, enum logger_store_status st,
                       enum logger_store_cmd cmd, uint32_t ttl, unsigned cls, uint64_t size,
                       int cfd);
void logger_item_deleted(const char *key, size_t nkey, enum logger_delete_cmd cmd,
                         unsigned cls, uint64_t size);
/* ttl: seconds left, -1 for none; idle: seconds since last access. */
void logger_eviction(const char *key, size_t nkey, bool fetched, int64_t ttl, uint32_t idle,
                     unsigned cls, uint64_t size);
/* addr: the peer's address text ("unix" for a local socket); port 0 when none. */
void logger_conn_new(const char *addr, uint16_t port, enum logger_transport tr, int cfd);
void logger_conn_close(const char *addr, uint16_t port, enum logger_transport tr,
                       enum logger_close_reason why, int cfd);

/* ---- watchers ---- */

struct logger_watcher;

enum logger_add_result {
    LOGGER_ADD_OK = 0,
    LOGGER_ADD_TOO_MANY,   /* LOGGER_WATCHERS_MAX attached */
    LOGGER_ADD_FAILED,     /* no memory */
};

/* Attaches a watcher of the given streams; it sees records written from now on. */
struct logger_watcher *logger_watcher_add(unsigned streams, enum logger_add_result *res);
/* Detaches and frees it (its connection closed). */
void logger_watcher_remove(struct logger_watcher *w);
/*
 * Drains every ring into the watchers' buffers, then moves up to cap bytes
 * of w's buffer into dst (whole lines). Returns the bytes moved.
 */
size_t logger_watcher_take(struct logger_watcher *w, char *dst, size_t cap);

/* memcached's log_* stats. */
struct logger_stats {
    uint64_t worker_dropped;
    uint64_t worker_written;
    uint64_t watcher_skipped;
    uint64_t watcher_sent;
    uint64_t watchers;
};
void logger_stats(struct logger_stats *out);
/* `stats reset`: zeroes the counters (not watchers, a gauge). */
void logger_stats_reset(void);

/* memcached's key encoding in log lines: RFC 3986 unreserved bytes kept,
 * others %XX. dst holds 3 * n + 1; returns the length written. */
size_t logger_uri_encode(const char *src, size_t n, char *dst);

#endif
