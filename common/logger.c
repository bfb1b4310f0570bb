/*
 * logger: rings of binary records per thread, drained by the watchers'
 * connections into bounded per-watcher buffers of text lines (logger.h has
 * the picture).
 *
 * A ring is a byte array with monotonic head (read) and tail (write)
 * offsets. A record never wraps: when it does not fit before the end, a PAD
 * record fills the end and it goes at the start. The writer appends under
 * the ring's lock; the drainer (one at a time, under logger's lock) reads
 * the tail under the ring's lock, formats [head, tail) without it (the
 * writer only writes past tail), and then moves head. Records carry their
 * time and a global sequence number (gid), so a watcher skips what was
 * written before it attached and a reader can merge streams in order.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include "common/logger.h"

#define LOGGER_ALIGN 8
#define LOGGER_LINE_MAX 1024      /* a formatted line: key 3 x 250 + fields */
#define LOGGER_ADDR_MAX 64        /* a peer's address text */
#define LOGGER_SKIPPED_MAX 32     /* "skipped=<u64>\n" */

enum logger_type {
    LOGGER_T_PAD = 0,     /* filler to the ring's end */
    LOGGER_T_ITEM_GET,
    LOGGER_T_ITEM_STORE,
    LOGGER_T_DELETED,
    LOGGER_T_EVICTION,
    LOGGER_T_CONN_NEW,
    LOGGER_T_CONN_CLOSE,
};

/* One record; key holds the key, or the peer address of a conn event. */
struct logger_rec {
    uint32_t size;          /* bytes, header included, a multiple of LOGGER_ALIGN */
    uint8_t type;
    uint8_t status;         /* get/store status, eviction's fetched, close reason */
    uint8_t cmd;            /* store/delete cmd, conn transport */
    uint8_t nkey;
    int32_t cfd;
    uint32_t cls;
    uint32_t idle;
    uint16_t port;
    int64_t ttl;
    uint64_t bytes;
    uint64_t gid;
    int64_t sec;
    int64_t usec;
    char key[];
};

struct logger_ring {
    pthread_mutex_t lock;
    unsigned char *buf;
    size_t size;            /* a multiple of LOGGER_ALIGN */
    uint64_t head, tail;    /* monotonic byte offsets */
    uint64_t written, dropped;
    struct logger_ring *next;
};

struct logger_watcher {
    unsigned streams;
    uint64_t min_gid;       /* records before this one predate the watcher */
    uint64_t skipped;       /* lines dropped since the last one taken */
    char *buf;
    size_t len, cap;
};

static struct {
    pthread_mutex_t lock;   /* rings list, watchers, totals, draining */
    struct logger_ring *rings;
    struct logger_ring *shared;   /* for threads without a ring of their own */
    struct logger_watcher *watchers[LOGGER_WATCHERS_MAX];
    unsigned nwatchers;
    size_t worker_buf, watcher_buf;
    struct logger_stats totals;
} lg = { .lock = PTHREAD_MUTEX_INITIALIZER };

atomic_uint logger_flags_;
static atomic_uint_fast64_t logger_gid;
static _Thread_local struct logger_ring *logger_my_ring;

/* ------------------------------------------------------------ rings */

static struct logger_ring *logger_ring_new(size_t size)
{
    struct logger_ring *r = calloc(1, sizeof(*r));
    if (r == NULL)
        return NULL;
    r->size = size - size % LOGGER_ALIGN;
    r->buf = malloc(r->size);
    if (r->buf == NULL) {
        free(r);
        return NULL;
    }
    pthread_mutex_init(&r->lock, NULL);
    return r;
}

static void logger_ring_free(struct logger_ring *r)
{
    pthread_mutex_destroy(&r->lock);
    free(r->buf);
    free(r);
}

/* Links r into the list drained by watchers. */
static void logger_ring_link(struct logger_ring *r)
{
    pthread_mutex_lock(&lg.lock);
    r->next = lg.rings;
    lg.rings = r;
    pthread_mutex_unlock(&lg.lock);
}

void logger_init(size_t worker_buf, size_t watcher_buf)
{
    lg.worker_buf = worker_buf;
    lg.watcher_buf = watcher_buf;
    memset(&lg.totals, 0, sizeof(lg.totals));
    lg.shared = logger_ring_new(worker_buf);
    if (lg.shared != NULL)
        logger_ring_link(lg.shared);
}

bool logger_thread_ring(void)
{
    struct logger_ring *r = logger_ring_new(lg.worker_buf);
    if (r == NULL)
        return false;
    logger_ring_link(r);
    logger_my_ring = r;
    return true;
}

void logger_shutdown(void)
{
    pthread_mutex_lock(&lg.lock);
    for (unsigned i = 0; i < LOGGER_WATCHERS_MAX; i++) {
        if (lg.watchers[i] != NULL) {
            free(lg.watchers[i]->buf);
            free(lg.watchers[i]);
            lg.watchers[i] = NULL;
        }
    }
    lg.nwatchers = 0;
    atomic_fetch_and_explicit(&logger_flags_, LOGGER_DETAIL, memory_order_relaxed);
    while (lg.rings != NULL) {
        struct logger_ring *r = lg.rings;
        lg.rings = r->next;
        logger_ring_free(r);
    }
    lg.shared = NULL;
    pthread_mutex_unlock(&lg.lock);
    logger_my_ring = NULL;
}

/*
 * Where the next record of need bytes goes, writing a PAD over the end when
 * it does not fit there; NULL when the ring has no room (the record drops).
 */
static struct logger_rec *logger_ring_room(struct logger_ring *r, size_t need)
{
    size_t pos = (size_t)(r->tail % r->size);
    size_t to_end = r->size - pos;
    size_t pad = to_end < need ? to_end : 0;
    if (need > r->size || r->size - (size_t)(r->tail - r->head) < pad + need)
        return NULL;
    if (pad > 0) {
        struct logger_rec *p = (struct logger_rec *)(r->buf + pos);
        p->size = (uint32_t)pad;
        p->type = LOGGER_T_PAD;
        r->tail += pad;
        pos = 0;
    }
    return (struct logger_rec *)(r->buf + pos);
}

/* Copies rec (its key from key) into this thread's ring, or counts a drop. */
static void logger_put(struct logger_rec *rec, const char *key, size_t nkey)
{
    struct logger_ring *r = logger_my_ring != NULL ? logger_my_ring : lg.shared;
    if (r == NULL)
        return;
    size_t need = sizeof(*rec) + nkey;
    need += (LOGGER_ALIGN - need % LOGGER_ALIGN) % LOGGER_ALIGN;
    struct timeval tv;
    gettimeofday(&tv, NULL);
    rec->size = (uint32_t)need;
    rec->nkey = (uint8_t)nkey;
    rec->sec = tv.tv_sec;
    rec->usec = tv.tv_usec;
    pthread_mutex_lock(&r->lock);
    struct logger_rec *dst = logger_ring_room(r, need);
    if (dst == NULL) {
        r->dropped++;
    } else {
        rec->gid = atomic_fetch_add_explicit(&logger_gid, 1, memory_order_relaxed) + 1;
        memcpy(dst, rec, sizeof(*rec));
        memcpy(dst->key, key, nkey);
        r->tail += need;
        r->written++;
    }
    pthread_mutex_unlock(&r->lock);
}

/* ------------------------------------------------------------ records */

/* Keys are at most 250 bytes, addresses shorter: nkey fits its byte. */
static size_t logger_clamp_key(size_t nkey)
{
    return nkey > UINT8_MAX ? UINT8_MAX : nkey;
}

void logger_item_get(const char *key, size_t nkey, enum logger_get_status st, unsigned cls,
                     uint64_t size, int cfd)
{
    struct logger_rec rec = { .type = LOGGER_T_ITEM_GET, .status = (uint8_t)st, .cls = cls,
                              .bytes = size, .cfd = cfd };
    logger_put(&rec, key, logger_clamp_key(nkey));
}

void logger_item_store(const char *key, size_t nkey, enum logger_store_status st,
                       enum logger_store_cmd cmd, uint32_t ttl, unsigned cls, uint64_t size,
                       int cfd)
{
    struct logger_rec rec = { .type = LOGGER_T_ITEM_STORE, .status = (uint8_t)st,
                              .cmd = (uint8_t)cmd, .ttl = ttl, .cls = cls, .bytes = size,
                              .cfd = cfd };
    logger_put(&rec, key, logger_clamp_key(nkey));
}

void logger_item_deleted(const char *key, size_t nkey, enum logger_delete_cmd cmd,
                         unsigned cls, uint64_t size)
{
    struct logger_rec rec = { .type = LOGGER_T_DELETED, .cmd = (uint8_t)cmd, .cls = cls,
                              .bytes = size };
    logger_put(&rec, key, logger_clamp_key(nkey));
}

void logger_eviction(const char *key, size_t nkey, bool fetched, int64_t ttl, uint32_t idle,
                     unsigned cls, uint64_t size)
{
    struct logger_rec rec = { .type = LOGGER_T_EVICTION, .status = fetched, .ttl = ttl,
                              .idle = idle, .cls = cls, .bytes = size };
    logger_put(&rec, key, logger_clamp_key(nkey));
}

static void logger_conn(uint8_t type, const char *addr, uint16_t port,
                        enum logger_transport tr, enum logger_close_reason why, int cfd)
{
    struct logger_rec rec = { .type = type, .port = port, .cmd = (uint8_t)tr,
                              .status = (uint8_t)why, .cfd = cfd };
    size_t n = strlen(addr);
    logger_put(&rec, addr, n < LOGGER_ADDR_MAX ? n : LOGGER_ADDR_MAX);
}

void logger_conn_new(const char *addr, uint16_t port, enum logger_transport tr, int cfd)
{
    logger_conn(LOGGER_T_CONN_NEW, addr, port, tr, LOGGER_CLOSE_ERROR, cfd);
}

void logger_conn_close(const char *addr, uint16_t port, enum logger_transport tr,
                       enum logger_close_reason why, int cfd)
{
    logger_conn(LOGGER_T_CONN_CLOSE, addr, port, tr, why, cfd);
}

/* ------------------------------------------------------------ lines */

size_t logger_uri_encode(const char *src, size_t n, char *dst)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t d = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)src[i];
        bool keep = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                    (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_' || c == '~';
        if (keep) {
            dst[d++] = (char)c;
        } else {
            dst[d++] = '%';
            dst[d++] = hex[c >> 4];
            dst[d++] = hex[c & 0xf];
        }
    }
    dst[d] = '\0';
    return d;
}

/* memcached's words for each field's values. */
static const char *const logger_get_words[] = { "not_found", "found", "flushed", "expired" };
static const char *const logger_store_words[] = { "not_stored", "stored", "exists",
                                                  "not_found", "too_large", "no_memory" };
static const char *const logger_cmd_words[] = { "null", "add", "set", "replace",
                                                "append", "prepend", "cas" };
static const char *const logger_del_words[] = { "null", "delete", "md" };
static const char *const logger_transport_words[] = { "local", "tcp", "udp" };
static const char *const logger_reason_words[] = { "error", "normal", "idle_timeout",
                                                   "shutdown" };

#define LOGGER_WORD(table, i) \
    ((size_t)(i) < sizeof(table) / sizeof(table[0]) ? table[i] : "na")

/* One record as its line, "\n" included; 0 for a PAD or an unknown type. */
static int logger_format(const struct logger_rec *e, char *line, size_t cap)
{
    char key[3 * UINT8_MAX + 1];
    long long sec = (long long)e->sec;
    int usec = (int)e->usec;
    unsigned long long gid = (unsigned long long)e->gid;
    unsigned long long size = (unsigned long long)e->bytes;
    switch (e->type) {
    case LOGGER_T_ITEM_GET:
        logger_uri_encode(e->key, e->nkey, key);
        return snprintf(line, cap,
                        "ts=%lld.%d gid=%llu type=item_get key=%s status=%s clsid=%u cfd=%d "
                        "size=%llu\n",
                        sec, usec, gid, key, LOGGER_WORD(logger_get_words, e->status), e->cls,
                        e->cfd, size);
    case LOGGER_T_ITEM_STORE:
        logger_uri_encode(e->key, e->nkey, key);
        return snprintf(line, cap,
                        "ts=%lld.%d gid=%llu type=item_store key=%s status=%s cmd=%s ttl=%u "
                        "clsid=%u cfd=%d size=%llu\n",
                        sec, usec, gid, key, LOGGER_WORD(logger_store_words, e->status),
                        LOGGER_WORD(logger_cmd_words, e->cmd), (unsigned)e->ttl, e->cls, e->cfd,
                        size);
    case LOGGER_T_DELETED:
        /* memcached prints this one's seconds with %d */
        logger_uri_encode(e->key, e->nkey, key);
        return snprintf(line, cap, "ts=%d.%d gid=%llu type=deleted key=%s cmd=%s clsid=%u size=%llu\n",
                        (int)sec, usec, gid, key, LOGGER_WORD(logger_del_words, e->cmd), e->cls,
                        size);
    case LOGGER_T_EVICTION:
        logger_uri_encode(e->key, e->nkey, key);
        return snprintf(line, cap,
                        "ts=%lld.%d gid=%llu type=eviction key=%s fetch=%s ttl=%lld la=%u "
                        "clsid=%u size=%llu\n",
                        sec, usec, gid, key, e->status ? "yes" : "no", (long long)e->ttl,
                        e->idle, e->cls, size);
    case LOGGER_T_CONN_NEW:
        return snprintf(line, cap,
                        "ts=%lld.%d gid=%llu type=conn_new rip=%.*s rport=%u transport=%s "
                        "cfd=%d\n",
                        sec, usec, gid, (int)e->nkey, e->key, (unsigned)e->port,
                        LOGGER_WORD(logger_transport_words, e->cmd), e->cfd);
    case LOGGER_T_CONN_CLOSE:
        return snprintf(line, cap,
                        "ts=%lld.%d gid=%llu type=conn_close rip=%.*s rport=%u transport=%s "
                        "reason=%s cfd=%d\n",
                        sec, usec, gid, (int)e->nkey, e->key, (unsigned)e->port,
                        LOGGER_WORD(logger_transport_words, e->cmd),
                        LOGGER_WORD(logger_reason_words, e->status), e->cfd);
    default:
        return 0;
    }
}

/* The stream a record belongs to. */
static unsigned logger_stream(uint8_t type)
{
    static const unsigned streams[] = {
        [LOGGER_T_ITEM_GET] = LOGGER_FETCHERS,     [LOGGER_T_ITEM_STORE] = LOGGER_MUTATIONS,
        [LOGGER_T_DELETED] = LOGGER_DELETIONS,     [LOGGER_T_EVICTION] = LOGGER_EVICTIONS,
        [LOGGER_T_CONN_NEW] = LOGGER_CONNEVENTS,   [LOGGER_T_CONN_CLOSE] = LOGGER_CONNEVENTS,
    };
    return type < sizeof(streams) / sizeof(streams[0]) ? streams[type] : 0;
}

/* ------------------------------------------------------------ watchers */

/* Appends a line to w's buffer, after "skipped=N" if lines were dropped; else drops it. */
static void logger_watcher_put(struct logger_watcher *w, const char *line, size_t n)
{
    char skip[LOGGER_SKIPPED_MAX];
    size_t ns = 0;
    if (w->skipped > 0)
        ns = (size_t)snprintf(skip, sizeof(skip), "skipped=%llu\n",
                              (unsigned long long)w->skipped);
    if (w->cap - w->len < ns + n) {
        w->skipped++;
        lg.totals.watcher_skipped++;
        return;
    }
    memcpy(w->buf + w->len, skip, ns);
    memcpy(w->buf + w->len + ns, line, n);
    w->len += ns + n;
    w->skipped = 0;
    lg.totals.watcher_sent++;
}

/* Hands one record's line to every watcher that wants it. Under lg.lock. */
static void logger_fan_out(const struct logger_rec *e)
{
    char line[LOGGER_LINE_MAX];
    unsigned stream = logger_stream(e->type);
    int n = 0;
    for (unsigned i = 0; i < LOGGER_WATCHERS_MAX; i++) {
        struct logger_watcher *w = lg.watchers[i];
        if (w == NULL || (w->streams & stream) == 0 || e->gid < w->min_gid)
            continue;
        if (n == 0)
            n = logger_format(e, line, sizeof(line));
        if (n <= 0 || (size_t)n >= sizeof(line))
            return;
        logger_watcher_put(w, line, (size_t)n);
    }
}

/* Moves a ring's records to the watchers. Under lg.lock. */
static void logger_drain(struct logger_ring *r)
{
    pthread_mutex_lock(&r->lock);
    uint64_t head = r->head, tail = r->tail;
    pthread_mutex_unlock(&r->lock);
    while (head < tail) {
        const struct logger_rec *e =
            (const struct logger_rec *)(r->buf + (size_t)(head % r->size));
        if (e->type != LOGGER_T_PAD)
            logger_fan_out(e);
        head += e->size;
    }
    pthread_mutex_lock(&r->lock);
    r->head = head;
    lg.totals.worker_written += r->written;
    lg.totals.worker_dropped += r->dropped;
    r->written = 0;
    r->dropped = 0;
    pthread_mutex_unlock(&r->lock);
}

/*
 * The streams wanted by any watcher, for logger_wants(). Under lg.lock; two
 * atomic steps (add the new bits, then drop the others) leave LOGGER_DETAIL,
 * which detail.c sets and clears atomically, as it was.
 */
static void logger_update_flags(void)
{
    unsigned f = 0;
    for (unsigned i = 0; i < LOGGER_WATCHERS_MAX; i++)
        if (lg.watchers[i] != NULL)
            f |= lg.watchers[i]->streams;
    f &= ~LOGGER_DETAIL;
    atomic_fetch_or_explicit(&logger_flags_, f, memory_order_relaxed);
    atomic_fetch_and_explicit(&logger_flags_, f | LOGGER_DETAIL, memory_order_relaxed);
}

struct logger_watcher *logger_watcher_add(unsigned streams, enum logger_add_result *res)
{
    struct logger_watcher *w = NULL;
    pthread_mutex_lock(&lg.lock);
    unsigned slot = 0;
    while (slot < LOGGER_WATCHERS_MAX && lg.watchers[slot] != NULL)
        slot++;
    *res = LOGGER_ADD_TOO_MANY;
    if (slot < LOGGER_WATCHERS_MAX) {
        *res = LOGGER_ADD_FAILED;
        w = calloc(1, sizeof(*w));
        if (w != NULL && (w->buf = malloc(lg.watcher_buf)) == NULL) {
            free(w);
            w = NULL;
        }
    }
    if (w != NULL) {
        w->streams = streams;
        w->cap = lg.watcher_buf;
        w->min_gid = atomic_load_explicit(&logger_gid, memory_order_relaxed) + 1;
        lg.watchers[slot] = w;
        lg.nwatchers++;
        logger_update_flags();
        *res = LOGGER_ADD_OK;
    }
    pthread_mutex_unlock(&lg.lock);
    return w;
}

void logger_watcher_remove(struct logger_watcher *w)
{
    pthread_mutex_lock(&lg.lock);
    for (unsigned i = 0; i < LOGGER_WATCHERS_MAX; i++) {
        if (lg.watchers[i] == w) {
            lg.watchers[i] = NULL;
            lg.nwatchers--;
        }
    }
    logger_update_flags();
    pthread_mutex_unlock(&lg.lock);
    free(w->buf);
    free(w);
}

size_t logger_watcher_take(struct logger_watcher *w, char *dst, size_t cap)
{
    pthread_mutex_lock(&lg.lock);
    for (struct logger_ring *r = lg.rings; r != NULL; r = r->next)
        logger_drain(r);
    size_t n = w->len;
    if (n > cap) {
        n = cap;
        while (n > 0 && w->buf[n - 1] != '\n')   /* whole lines only */
            n--;
    }
    memcpy(dst, w->buf, n);
    memmove(w->buf, w->buf + n, w->len - n);
    w->len -= n;
    pthread_mutex_unlock(&lg.lock);
    return n;
}

void logger_stats(struct logger_stats *out)
{
    pthread_mutex_lock(&lg.lock);
    *out = lg.totals;
    for (struct logger_ring *r = lg.rings; r != NULL; r = r->next) {
        pthread_mutex_lock(&r->lock);
        out->worker_written += r->written;
        out->worker_dropped += r->dropped;
        pthread_mutex_unlock(&r->lock);
    }
    out->watchers = lg.nwatchers;
    pthread_mutex_unlock(&lg.lock);
}

void logger_stats_reset(void)
{
    pthread_mutex_lock(&lg.lock);
    memset(&lg.totals, 0, sizeof(lg.totals));
    for (struct logger_ring *r = lg.rings; r != NULL; r = r->next) {
        pthread_mutex_lock(&r->lock);
        r->written = 0;
        r->dropped = 0;
        pthread_mutex_unlock(&r->lock);
    }
    pthread_mutex_unlock(&lg.lock);
}
