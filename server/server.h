/*
 * server: the process-wide state of slabcache and the types its parts share.
 *
 * Threading model (memcached's proven one):
 *  - the main thread runs the main event base: listening sockets, signals
 *    and the one-second clock/maintenance timer (main.c, listen.c);
 *  - -t worker threads each run their own event base (worker.c); the main
 *    thread hands every accepted socket to the next worker round-robin
 *    through the worker's queue plus one byte on its notify pipe;
 *  - a connection (conn.c) lives on one worker for its whole life, so its
 *    buffers, its proto_conn and its worker's counters are touched by that
 *    thread only. Other threads read a connection only through the fields
 *    `stats conns` needs (atomics), under the worker's lock.
 *
 * Counters: each worker owns its proto_counters and its byte/yield
 * counters; the main thread owns the accept counters. stats.c sums them.
 *
 * Transports: TCP listeners on the -l addresses, or one UNIX stream socket
 * instead (-s), are accepted on the main thread and become ordinary
 * connections. UDP sockets (-U) have no connections: every worker watches
 * every UDP socket and answers each datagram on its own (udp.c).
 *
 * Lifetime: the listener and UDP arrays are built before the workers start
 * and freed only after they have been joined, so a worker's `stats` may read
 * them without a lock.
 */
#ifndef SERVER_SERVER_H
#define SERVER_SERVER_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <event2/event.h>

#include "common/counter.h"
#include "protocol/proto.h"
#include "server/settings.h"

#define SERVER_ADDR_MAX 128    /* "tcp6:[v6 address]:port", "unix:" + a 107-byte path */

/* Connection states shown by `stats conns`, with memcached's names. */
#define CONN_STATES(X) \
    X(listening)       \
    X(new_cmd)         \
    X(waiting)         \
    X(parse_cmd)       \
    X(nread)           \
    X(mwrite)          \
    X(closing)

enum conn_state {
#define CONN_STATE_ENUM(name) CONN_##name,
    CONN_STATES(CONN_STATE_ENUM)
#undef CONN_STATE_ENUM
};

const char *conn_state_name(int state);

struct worker;
struct server;

struct conn {
    int fd;
    struct worker *worker;
    struct event *rev, *wev;
    struct event *yev;          /* zero timer: the next turn after a yield */
    bool rev_on, wev_on;
    char *rbuf;                 /* unprocessed bytes at rbuf[rstart .. rstart + rlen) */
    size_t rsize, rstart, rlen;
    size_t rwant;               /* bytes the request being read needs in rbuf (0: none) */
    struct reply *out;
    struct proto_conn pc;
    bool closing;               /* PROTO_CLOSE: flush, then close */
    bool peer_closed;           /* read EOF: answer what was sent, then close */
    enum proto_action shutdown; /* PROTO_SHUTDOWN(_GRACEFUL): flush, then stop the server */
    bool yielded;               /* stopped (-R or back-pressure) with requests left in rbuf */
    uint8_t close_reason;       /* enum logger_close_reason, for watch connevents */
    _Atomic int state;          /* enum conn_state, for `stats conns` */
    _Atomic rel_time_t last_cmd;
    char addr[SERVER_ADDR_MAX];
    const char *listen_addr;    /* the listener's string; lives as long as the server */
    struct conn *prev, *next;   /* the worker's list, under worker->lock */
    bool ready;                 /* read in this poll, its turn not run yet */
    struct conn *ready_next;    /* the worker's ready list (conn_run_ready) */
};

/* A socket accepted by the main thread, waiting for its worker. */
struct conn_handoff {
    int fd;
    const struct listener *listener;   /* lives as long as the server */
};

struct worker {
    struct server *srv;
    unsigned id;
    pthread_t thread;
    struct event_base *base;
    int notify[2];              /* [0] read by the worker, [1] written by the main thread */
    struct event *notify_ev;
    struct event *tick_ev;      /* idle_timeout sweep */
    pthread_mutex_t lock;       /* guards queue and conns */
    struct conn_handoff *queue; /* FIFO: taken at queue_head, appended at queue_len */
    size_t queue_head, queue_len, queue_cap;
    struct conn *conns;
    struct conn *ready_head, *ready_tail;   /* read in this poll (conn_run_ready) */
    struct proto_counters counters;
    counter_t bytes_read, bytes_written, conn_yields;
    counter_t read_buf_oom;             /* connections closed at read_buf_mem_limit */
    counter_t malloc_fails;             /* connections or buffers we could not allocate */
    struct reply_account replies;       /* its connections' and UDP replies */
    struct worker_udp *udp;     /* NULL without -U */
    _Atomic bool stopping;      /* set by workers_stop, seen on the notify event */
};

enum listener_kind {
    LISTENER_TCP = 0,
    LISTENER_UNIX,
};

struct listener {
    struct server *srv;
    int fd;
    enum listener_kind kind;
    enum proto_mode mode;       /* -B, or this -l entry's proto[...] */
    struct event *ev;
    char addr[SERVER_ADDR_MAX];
};

/* A bound UDP socket, shared by all workers (udp.c says why). */
struct udp_socket {
    int fd;
    char addr[SERVER_ADDR_MAX];
};

struct worker_udp;   /* udp.c: a worker's datagram buffers and events */

struct server {
    struct settings settings;
    store *store;
    struct proto_env env;
    struct event_base *base;            /* main thread */
    struct worker *workers;
    unsigned nworkers, next_worker;
    struct listener *listeners;
    size_t nlisteners;
    struct udp_socket *udp;
    size_t nudp;
    char *unix_path;                    /* -s file we created (absolute), removed at exit */
    struct event *accept_resume_ev;     /* main thread: re-enables accepting after EMFILE */
    _Atomic bool accepting;             /* false while accepting is paused */
    uint64_t listen_disabled_since_us;  /* main thread only */
    counter_t listen_disabled_num;      /* main thread writes, stats reads */
    counter_t time_in_listen_disabled_us;
    _Atomic uint64_t curr_conns;        /* client connections open now */
    _Atomic uint64_t read_buf_count;    /* connections' read buffers, and their bytes: */
    _Atomic uint64_t read_buf_bytes;    /* counted against -o read_buf_mem_limit */
    counter_t total_conns;              /* main thread only */
    counter_t rejected_conns;           /* main thread only */
    _Atomic bool stopping;
    _Atomic bool graceful;              /* the stop saves the -e memory file */
    unsigned reserved_fds;              /* descriptors held at start, not sockets */
    pid_t pid;
    struct stats_state *stats;          /* stats.c: the `stats reset` baseline */
    struct metrics *metrics;            /* metrics.c: -o metrics_port, NULL when off */
    struct auth_table *auth;            /* auth.c: -Y's entries; NULL without -Y */
};

/* ---- conn.c (worker thread) ---- */
void conn_new(struct worker *w, int fd, const struct listener *l);
void conn_close(struct conn *c);
/*
 * After each poll of a worker's loop: runs the turns of the connections its
 * read callbacks read (they only read, and start the prefetch of the keys
 * their gets ask for), each prefetch step over all of them first.
 */
void conn_run_ready(struct worker *w);
/* Closes c if it has been idle for longer than idle seconds; returns true if closed. */
bool conn_close_if_idle(struct conn *c, rel_time_t now, uint64_t idle);

/* ---- worker.c ---- */
int workers_start(struct server *srv, char *err, size_t errlen);
void workers_dispatch(struct server *srv, int fd, const struct listener *l);
void workers_stop(struct server *srv);

/* ---- listen.c (main thread) ---- */
/* Binds TCP (-l, -p) and UDP (-U) sockets, or the UNIX socket (-s) alone. */
int listeners_open(struct server *srv, char *err, size_t errlen);
int listeners_arm(struct server *srv);
/* Stops accepting (shutdown); the sockets stay open until listeners_close. */
void listeners_pause(struct server *srv);
/* Closes every socket and removes the -s file. Call after workers_stop. */
void listeners_close(struct server *srv);
/* Binds TCP sockets on port where the first -l entry says (metrics.c). */
int listeners_open_port(struct server *srv, unsigned port, int *fds, size_t cap, char *err,
                        size_t errlen);

/* ---- udp.c (worker threads) ---- */
/* Watches every UDP socket from w's event base. */
int udp_worker_start(struct worker *w, char *err, size_t errlen);
/* Frees what udp_worker_start made; after the worker's thread ended. */
void udp_worker_free(struct worker *w);

/* ---- stats.c ---- */
int stats_init(struct server *srv);
void stats_free(struct server *srv);
bool stats_group(void *srv, const char *group, struct stat_sink *sink);
void stats_reset(void *srv);
/* True for a line of `stats` (or, without its "N:" prefix, of `stats slabs`
 * and `stats items`) that only counts up until `stats reset`. */
bool stats_is_counter(const char *name);

/* ---- metrics.c (main thread): GET /metrics on -o metrics_port ---- */
/* Binds the port (before -d and -u, as the listeners); nothing when off. */
int metrics_open(struct server *srv, char *err, size_t errlen);
/* Serves scrapes from the main event base. */
int metrics_start(struct server *srv);
/* Stops serving and closes the sockets. */
void metrics_close(struct server *srv);

/* ---- auth.c ---- */
/* Reads -Y's file into srv->auth; -1 with memcached's message in err. */
int auth_load(struct server *srv, const char *path, char *err, size_t errlen);
/* SIGHUP: reads -Y's file again and swaps it in; a bad file keeps the old
 * entries, with a message (memcached 1.6.45). Nothing without -Y. */
void auth_reload(struct server *srv);
void auth_free(struct server *srv);
/* proto_env.auth_check: whether user/password is one of the file's entries. */
bool auth_check(void *srv, const char *user, size_t ulen, const char *pass, size_t plen);

/* ---- main.c ---- */
/* Asks the main loop to stop (any thread). */
void server_stop(struct server *srv);
/* The same for a `shutdown` command's action: PROTO_SHUTDOWN_GRACEFUL is
 * SIGUSR1's graceful stop (the -e memory file is saved). */
void server_stop_for(struct server *srv, enum proto_action action);

#endif
