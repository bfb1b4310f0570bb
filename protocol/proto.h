/*
 * proto: the public interface of protocol/, which turns request bytes into
 * store calls and replies.
 *
 *   bytes (a range of the connection's read buffer)
 *     -> proto_process() (proto.c): parse one request, call slabs/store.h,
 *        append the reply to a struct reply (see reply.h)
 *     -> returns how many bytes it consumed and what the connection must do.
 *
 * It never sees a socket, libevent or a thread: the server (server/) owns
 * those and hands complete byte ranges in. Everything here is testable from
 * byte strings.
 *
 * Threading: a struct proto_conn belongs to one connection and is used by one
 * thread at a time; a struct proto_env is shared read-only by all.
 */
#ifndef PROTOCOL_PROTO_H
#define PROTOCOL_PROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "protocol/counters.h"
#include "protocol/reply.h"
#include "slabs/store.h"

/* Longest request line (command + keys) before "line too long" handling. */
#define PROTO_LINE_MAX 2048

/*
 * Largest value a storage request waits for in the connection's buffer.
 * A larger one gets its item as soon as its line (binary: header, extras
 * and key) is in, and its bytes are copied into item memory as they arrive,
 * so a partly sent value lives inside -m, not in a per-connection buffer.
 */
#define PROTO_BLOCK_BUFFERED_MAX (16 * 1024)

/* Most a request asks for beyond its value: a binary header, extras and key. */
#define PROTO_NEED_HEAD_MAX (24 + UINT8_MAX + KEY_MAX_LENGTH)

/*
 * Where `stats` output goes: the text protocol prints "STAT name value\r\n",
 * the binary protocol one response per pair. The server fills it.
 */
struct stat_sink {
    void (*emit)(struct stat_sink *sink, const char *name, const char *value);
};

/* -B: which protocol connections speak; AUTO picks by a connection's first byte. */
enum proto_mode {
    PROTO_MODE_AUTO = 0,
    PROTO_MODE_ASCII,
    PROTO_MODE_BINARY,
    PROTO_MODES          /* how many */
};

/* The names a mode goes by, one column each in proto_mode_name()'s table. */
enum proto_mode_naming {
    PROTO_NAME_FLAG = 0, /* as -B takes it: auto */
    PROTO_NAME_STAT,     /* `stats settings` binding_protocol: auto-negotiate */
    PROTO_NAME_LOG,      /* -vv connection log: auto-negotiating */
    PROTO_NAMINGS
};

/*
 * The one table of mode names. Inline so that server/settings.c (which does
 * not link protocol/) shares it; NULL for a mode out of range.
 */
static inline const char *proto_mode_name(enum proto_mode mode, enum proto_mode_naming naming)
{
    static const char *const names[PROTO_MODES][PROTO_NAMINGS] = {
        [PROTO_MODE_AUTO] = { "auto", "auto-negotiate", "auto-negotiating" },
        [PROTO_MODE_ASCII] = { "ascii", "ascii", "ascii" },
        [PROTO_MODE_BINARY] = { "binary", "binary", "binary" },
    };
    return (unsigned)mode < PROTO_MODES ? names[mode][naming] : NULL;
}

/* The mode -B calls name, or false. */
static inline bool proto_mode_parse(const char *name, enum proto_mode *mode)
{
    for (unsigned m = 0; m < PROTO_MODES; m++) {
        if (strcmp(name, proto_mode_name((enum proto_mode)m, PROTO_NAME_FLAG)) == 0) {
            *mode = (enum proto_mode)m;
            return true;
        }
    }
    return false;
}

/* What the server offers the protocol: shared, read-only after start. */
struct proto_env {
    store *store;
    bool shutdown_enabled;       /* -A */
    bool flush_disabled;         /* -F: flush_all refused */
    bool dump_disabled;          /* -X: cachedump, metadump, mgdump refused */
    bool slab_reassign;          /* -o slab_reassign: `slabs reassign` allowed */
    enum proto_mode mode;        /* -B (default auto) */
    bool watch_enabled;          /* not -W: `watch` allowed */
    /*
     * `stats [group]`: emits the group's lines into sink and returns true, or
     * returns false for a group the server does not know. group is "" for
     * plain `stats`. Called on the worker thread of the connection.
     */
    bool (*stats)(void *arg, const char *group, struct stat_sink *sink);
    void (*stats_reset)(void *arg);      /* `stats reset` */
    void (*set_verbosity)(void *arg, int level);
    /*
     * -Y: true when user/password (not NUL-terminated) may log in; NULL
     * without -Y (no login). Any thread.
     */
    bool (*auth_check)(void *arg, const char *user, size_t ulen, const char *pass, size_t plen);
    void *arg;
};

/* What the connection must do after a request. */
enum proto_action {
    PROTO_CONTINUE = 0,  /* go on with the next request */
    PROTO_CLOSE,         /* send what is in the reply, then close (quit, fatal error) */
    PROTO_SHUTDOWN,      /* `shutdown`: send the reply, then stop the server */
    PROTO_SHUTDOWN_GRACEFUL, /* `shutdown graceful`: the same, saving the -e memory file */
};

/*
 * A value larger than PROTO_BLOCK_BUFFERED_MAX being read into its item
 * (internal to protocol/). head is a heap copy of the request without its
 * value (text: the line; binary: header, extras and key): once the value and
 * its terminator are in, the request is run again from head with this item.
 */
struct proto_pending {
    item *it;                          /* reference held; NULL when none */
    size_t vlen;                       /* value bytes the item takes */
    size_t filled;                     /* value bytes copied so far */
    uint8_t term_len;                  /* terminator bytes after the value (text: 2) */
    uint8_t term_got;
    char term[2];
    size_t head_len;
    char *head;                        /* malloc'd with it, freed with it */
};

struct proto_dump;   /* dump.c */
struct logger_watcher;   /* common/logger.h: a `watch` in progress */

/*
 * The pipelined get lines waiting in the read buffer, split into keys,
 * hashed and their buckets prefetched ahead of their lookups (batch.c). An
 * entry points into the caller's buffer, so the batch is valid only within
 * one "turn" (proto_batch_begin .. proto_batch_end) during which that buffer
 * neither moves nor changes; outside a turn nothing is scanned or used.
 */
#define PROTO_BATCH_KEYS 32
enum proto_batch_kind {
    PROTO_BATCH_GET = 0,
    PROTO_BATCH_GETS,
    PROTO_BATCH_SET,                   /* one key; its data block follows the line */
};
struct proto_batch_line {
    const char *start, *nl;            /* a get/gets/set line and its '\n' */
    uint8_t first, nkeys;              /* its keys: keys[first .. first + nkeys) */
    uint8_t kind;                      /* enum proto_batch_kind */
    bool set_noreply;                  /* a set: its numbers, checked (text.c) */
    uint32_t set_flags, set_vlen;
    int64_t set_exptime;
};
struct proto_batch {
    bool open;                         /* within a turn */
    uint8_t nkeys, nlines, next_line;  /* held; the first line not yet run */
    uint8_t steps;                     /* prefetch steps run (enum store_prefetch_step) */
    uint32_t turn_left;                /* requests the turn may still run (-R) */
    struct store_key keys[PROTO_BATCH_KEYS];   /* in the caller's buffer; hashed */
    struct proto_batch_line lines[PROTO_BATCH_KEYS];
};

/* Per-connection protocol state. Zero it, then set env and counters. */
struct proto_conn {
    const struct proto_env *env;
    struct proto_counters *counters;   /* this worker thread's counters */
    uint64_t swallow;                  /* bytes of a refused data block left to discard */
    bool noreply;                      /* the current request said noreply */
    /*
     * A get/gets line longer than PROTO_LINE_MAX is handled in pieces, as
     * memcached allows for big multigets: the keys read so far are answered
     * and the rest of the line follows in later calls. Non-zero while one is
     * in progress (internal to protocol/).
     */
    uint8_t get_cont;
    bool skip_line;                    /* discard input up to the next '\n' */
    uint8_t mode;                      /* enum proto_mode in use; AUTO until the first byte */
    uint8_t listen_mode;               /* enum proto_mode offered: env->mode (-B) from
                                        * proto_conn_init, or the listener's -l proto[...] */
    bool authenticated;                /* logged in, or no login asked (-Y) */
    struct proto_pending pend;         /* a large value being read into its item */
    struct proto_dump *dump;           /* a dump being streamed (dump.c); NULL when none */
    int fd;                            /* the connection's socket, for watch's cfd= (-1: none) */
    struct logger_watcher *watcher;    /* `watch`: an endless stream (watch.c); NULL when none */
    bool watch_idle;                   /* the last piece of the watch had no lines */
    struct proto_batch batch;          /* gets ahead, hashed and prefetched (batch.c) */
};

void proto_conn_init(struct proto_conn *pc, const struct proto_env *env,
                     struct proto_counters *counters);

/*
 * Handles at most one request from buf[0..len). Returns the bytes consumed;
 * 0 means the request is incomplete and more bytes are needed (the caller
 * keeps buf and calls again with more). *need (if not NULL) then gets the
 * total bytes the request needs, when known (a data block), else 0; it
 * exceeds len by at most PROTO_BLOCK_BUFFERED_MAX + PROTO_NEED_HEAD_MAX: a
 * larger value is consumed as it arrives, into its item.
 * The reply, if any, is appended to out. *action says what to do next.
 */
size_t proto_process(struct proto_conn *pc, const char *buf, size_t len,
                     struct reply *out, enum proto_action *action, size_t *need);

/*
 * A turn over a read buffer: between these two calls the caller passes
 * proto_process() consecutive parts of one buffer that stays where it is and
 * is not written. Within a turn a get may hash and prefetch the keys of the
 * gets that follow it (memory-level parallelism); proto_batch_end drops
 * them, so a caller that moves or refills its buffer ends the turn first.
 */
void proto_batch_begin(struct proto_conn *pc, uint64_t max_requests);
void proto_batch_end(struct proto_conn *pc);
/*
 * At the start of a turn over buf[0..len): the get lines it starts with are
 * split and hashed now, before any request runs, and the first step of
 * their prefetch started (store_prefetch_step: buckets). The caller runs
 * the other steps with proto_batch_prefetch_step (one each call: a worker
 * steps all the connections it read in one poll together, so that their
 * misses overlap), or proto_batch_prefetch_rest (what is left, at once).
 */
void proto_batch_scan_ahead(struct proto_conn *pc, const char *buf, size_t len);
void proto_batch_prefetch_step(struct proto_conn *pc);
void proto_batch_prefetch_rest(struct proto_conn *pc);
static inline bool proto_batch_open(const struct proto_conn *pc)
{
    return pc->batch.open;
}

/* Whether the next bytes are value bytes (a block being filled or swallowed), not a request. */
static inline bool proto_in_block(const struct proto_conn *pc)
{
    return pc->swallow > 0 || pc->pend.it != NULL;
}

/*
 * Streams: a reply too long to build at once (lru_crawler metadump/mgdump,
 * stats cachedump). While proto_streaming(), the connection sends what the
 * reply holds and, each time it has drained, calls proto_stream_more() for
 * the next bounded piece (a few hundred hash buckets' worth of lines); it
 * runs no other request meanwhile, so replies stay in order. The last
 * piece ends with the dump's END line and ends the stream.
 */
static inline bool proto_streaming(const struct proto_conn *pc)
{
    return pc->dump != NULL || pc->watcher != NULL;
}

/*
 * `watch` (watch.c): a stream that never ends; the connection sends its log
 * lines until the client goes away. Input that follows is read and dropped
 * (as memcached), and a turn that found no lines (proto_stream_idle) waits
 * PROTO_WATCH_IDLE_MS before the next.
 */
#define PROTO_WATCH_IDLE_MS 10
static inline bool proto_watching(const struct proto_conn *pc)
{
    return pc->watcher != NULL;
}
static inline bool proto_stream_idle(const struct proto_conn *pc)
{
    return pc->watcher != NULL && pc->watch_idle;
}
void proto_stream_more(struct proto_conn *pc, struct reply *out);
/* Drops a stream in progress (the connection closes). */
void proto_stream_end(struct proto_conn *pc);

/* Releases anything the connection state holds (a value being filled, a stream). */
void proto_conn_reset(struct proto_conn *pc);

#endif
