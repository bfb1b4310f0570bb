/*
 * conn: one client connection, driven by its worker's event base.
 *
 * Read side: bytes land in a read buffer of CONN_RBUF_INITIAL bytes that
 * grows only to what one request needs (its line and data block: the
 * protocol says how much), and goes back to its small size once that
 * request is done or the connection idles. Only a data block of at most
 * PROTO_BLOCK_BUFFERED_MAX is waited for whole: a larger value is consumed
 * as it arrives, into its item, so the buffer stays within about that plus
 * a line and a partly sent value lives inside -m. Requests are consumed by moving
 * rstart; the unprocessed tail moves to the front only when the room after
 * it is too small for the request in progress. Complete requests are handed
 * to proto_process() one after another, at most -R per turn. A turn is also
 * the protocol's batch window (proto_batch_begin/end): within it the read
 * buffer neither moves nor changes, so a get may hash and prefetch the keys
 * of the gets queued behind it (protocol/batch.c).
 *
 * Reads first, then turns: a read callback only reads and opens the turn
 * (conn_turn_open: the gets the buffer starts with are split and hashed,
 * their buckets and stripe locks prefetched). After each poll, once every
 * callback ran, the worker runs the turns of the connections read in it
 * (conn_run_ready), in the order they were read, having first stepped the
 * prefetch of all of them together (the first items of the chains, then the
 * second, then the third: store_prefetch_step). So the cache misses of eight
 * connections' lone gets overlap, as those of one connection's pipelined
 * gets do (protocol/batch.c).
 *
 * Back-pressure: the socket is read only when the buffer holds no complete
 * request and no reply waits for the socket (the read event is off while
 * replies wait, and a no-op while requests wait), so the kernel's socket
 * buffer, then TCP flow control, hold the client back. Requests without
 * replies (noreply, GETQ misses, meta q) cannot make us buffer more either.
 *
 * Fair turns: with requests left after -R the connection yields (counts
 * conn_yields) and arms a zero timer (yev) instead of re-activating itself.
 * libevent moves expired timers to the active queue only after its next
 * poll, so every socket that became ready meanwhile, and the worker's
 * hand-off pipe, is served before this connection's next turn. (A zero
 * event_base_once or event_active would run again before any poll.)
 *
 * Streams (proto.h: a long dump): while one is in progress the connection
 * runs no request; each turn asks the protocol for the next piece, sends
 * it, and takes the next turn only once the socket took it all (from
 * conn_on_write), or after a poll (the yield timer) when it went out at
 * once. So a dump costs at most one piece of memory and never starves
 * other connections; the requests that follow it wait in the buffer.
 *
 * Write side: replies of a whole batch collect in one struct reply and go
 * out with one writev per batch (a write when they are one piece), also
 * across yields (at most CONN_OUT_HIGH_WATER bytes kept back); item values
 * longer than REPLY_VALUE_COPY_MAX are sent straight from item memory and
 * released once written (reply_consumed), shorter ones are copied into the
 * reply's text.
 *
 * Everything here runs on the connection's worker thread.
 */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "common/log.h"
#include "common/logger.h"
#include "server/server.h"

#define CONN_RBUF_INITIAL (16 * 1024)
#define CONN_RBUF_LINE_ROOM 4096          /* room for a line in progress: past
                                             PROTO_LINE_MAX, where the protocol
                                             takes over long lines */
#define CONN_OUT_HIGH_WATER (2 * 1024 * 1024)
#define CONN_MIB (1024ULL * 1024)                /* read_buf_mem_limit is in megabytes */
/* iovecs per writev: the kernel limit, so a batch of ~500 gets of long values
 * (2 pieces each; short values are copied into one text piece) is one call. */
#define CONN_IOV_MAX IOV_MAX
#define CONN_LOG_LINE_MAX 200             /* -vv: longest command line echoed */

static const char *const conn_state_names[] = {
#define CONN_STATE_NAME(name) "conn_" #name,
    CONN_STATES(CONN_STATE_NAME)
#undef CONN_STATE_NAME
};

const char *conn_state_name(int state)
{
    if (state < 0 || (size_t)state >= sizeof(conn_state_names) / sizeof(conn_state_names[0]))
        return "conn_unknown";
    return conn_state_names[state];
}

static void conn_set_state(struct conn *c, enum conn_state st)
{
    atomic_store_explicit(&c->state, (int)st, memory_order_relaxed);
}

static void conn_on_read(evutil_socket_t fd, short what, void *arg);
static void conn_on_write(evutil_socket_t fd, short what, void *arg);
static void conn_on_turn(evutil_socket_t fd, short what, void *arg);

/* The yield timer's delay: due at once, run after the next poll. */
static const struct timeval conn_turn_delay = { 0, 0 };
/* A watch that found no lines looks again after this. */
static const struct timeval conn_watch_delay = { 0, PROTO_WATCH_IDLE_MS * 1000 };
#define CONN_DISCARD_MAX 4096     /* a watch's input is read in pieces this big and dropped */

/*
 * A connected socket's peer: for TCP its address text and port, returning
 * AF_INET or AF_INET6; AF_UNIX for a UNIX peer; AF_UNSPEC when it has no
 * printable name.
 */
static int conn_peer_ip(int fd, char *ip, size_t iplen, uint16_t *port)
{
    struct sockaddr_storage ss;
    socklen_t sl = sizeof(ss);
    if (getpeername(fd, (struct sockaddr *)&ss, &sl) != 0)
        return AF_UNSPEC;
    if (ss.ss_family == AF_UNIX)
        return AF_UNIX;
    bool v6 = ss.ss_family == AF_INET6;
    const struct sockaddr_in6 *a6 = (const struct sockaddr_in6 *)&ss;
    const struct sockaddr_in *a4 = (const struct sockaddr_in *)&ss;
    if (evutil_inet_ntop(ss.ss_family, v6 ? (const void *)&a6->sin6_addr : (const void *)&a4->sin_addr,
                         ip, iplen) == NULL)
        return AF_UNSPEC;
    *port = ntohs(v6 ? a6->sin6_port : a4->sin_port);
    return v6 ? AF_INET6 : AF_INET;
}

/* "tcp:host:port", "tcp6:[host]:port"; a UNIX peer has no name: its listener's. */
static void conn_peer_name(int fd, const char *listen_addr, char *buf, size_t len)
{
    char host[INET6_ADDRSTRLEN];
    uint16_t port = 0;
    switch (conn_peer_ip(fd, host, sizeof(host), &port)) {
    case AF_UNIX:
        snprintf(buf, len, "%s", listen_addr);
        break;
    case AF_INET6:
        snprintf(buf, len, "tcp6:[%s]:%u", host, port);
        break;
    case AF_INET:
        snprintf(buf, len, "tcp:%s:%u", host, port);
        break;
    default:
        snprintf(buf, len, "unknown");
    }
}

/*
 * Every connection's read buffer counts against -o read_buf_mem_limit (0: no
 * limit). Moves the count from old_size to new_size bytes; false, counted in
 * read_buf_oom, when growing would pass the limit.
 */
static bool conn_rbuf_charge(struct worker *w, size_t old_size, size_t new_size)
{
    struct server *srv = w->srv;
    if (new_size <= old_size) {
        atomic_fetch_sub(&srv->read_buf_bytes, (uint64_t)(old_size - new_size));
        return true;
    }
    uint64_t add = new_size - old_size;
    uint64_t limit = srv->settings.read_buf_mem_limit * CONN_MIB;
    uint64_t total = atomic_fetch_add(&srv->read_buf_bytes, add) + add;
    if (limit != 0 && total > limit) {
        atomic_fetch_sub(&srv->read_buf_bytes, add);
        counter_inc(&w->read_buf_oom);
        return false;
    }
    return true;
}

/* watch connevents: a connection's peer as memcached logs it (conn_new, conn_close). */
static void conn_note_event(const struct conn *c, bool opened)
{
    char ip[INET6_ADDRSTRLEN];
    uint16_t port = 0;
    int family = conn_peer_ip(c->fd, ip, sizeof(ip), &port);
    enum logger_transport tr = LOGGER_TCP;
    if (family != AF_INET && family != AF_INET6) {
        snprintf(ip, sizeof(ip), "unix");
        port = 0;
        tr = LOGGER_LOCAL;
    }
    if (opened)
        logger_conn_new(ip, port, tr, c->fd);
    else
        logger_conn_close(ip, port, tr, (enum logger_close_reason)c->close_reason, c->fd);
}

void conn_new(struct worker *w, int fd, const struct listener *l)
{
    if (!conn_rbuf_charge(w, 0, CONN_RBUF_INITIAL)) {
        log_info("<%d closed: read_buf_mem_limit reached\n", fd);
        close(fd);
        atomic_fetch_sub(&w->srv->curr_conns, 1);
        return;
    }
    struct conn *c = calloc(1, sizeof(*c));
    char *rbuf = malloc(CONN_RBUF_INITIAL);
    struct reply *out = reply_new(w->srv->store);
    if (c == NULL || rbuf == NULL || out == NULL) {
        log_error("out of memory for a new connection\n");
        counter_inc(&w->malloc_fails);
        free(c);
        free(rbuf);
        if (out != NULL)
            reply_free(out);
        conn_rbuf_charge(w, CONN_RBUF_INITIAL, 0);
        close(fd);
        atomic_fetch_sub(&w->srv->curr_conns, 1);
        return;
    }
    atomic_fetch_add(&w->srv->read_buf_count, 1);
    reply_account(out, &w->replies);
    c->fd = fd;
    c->worker = w;
    c->rbuf = rbuf;
    c->rsize = CONN_RBUF_INITIAL;
    c->out = out;
    c->listen_addr = l->addr;
    proto_conn_init(&c->pc, &w->srv->env, &w->counters);
    c->pc.listen_mode = (uint8_t)l->mode;
    c->pc.fd = fd;
    if (logger_wants(LOGGER_CONNEVENTS))
        conn_note_event(c, true);
    conn_peer_name(fd, l->addr, c->addr, sizeof(c->addr));
    atomic_store(&c->last_cmd, clock_now());
    conn_set_state(c, CONN_new_cmd);
    c->rev = event_new(w->base, fd, EV_READ | EV_PERSIST, conn_on_read, c);
    c->wev = event_new(w->base, fd, EV_WRITE | EV_PERSIST, conn_on_write, c);
    c->yev = evtimer_new(w->base, conn_on_turn, c);

    pthread_mutex_lock(&w->lock);
    c->next = w->conns;
    if (w->conns != NULL)
        w->conns->prev = c;
    w->conns = c;
    pthread_mutex_unlock(&w->lock);

    /* memcached's -vv line; only the auto one lacks the full stop */
    enum proto_mode mode = l->mode;
    log_debug("<%d new %s client connection%s\n", fd, proto_mode_name(mode, PROTO_NAME_LOG),
              mode == PROTO_MODE_AUTO ? "" : ".");
    if (c->rev == NULL || c->wev == NULL || c->yev == NULL || event_add(c->rev, NULL) != 0) {
        conn_close(c);
        return;
    }
    c->rev_on = true;
}

/* ------------------------------------------------------------ ready pass */

/* Appends c to its worker's connections read in this poll. */
static void conn_ready_push(struct conn *c)
{
    struct worker *w = c->worker;
    if (c->ready)
        return;
    c->ready = true;
    c->ready_next = NULL;
    if (w->ready_tail != NULL)
        w->ready_tail->ready_next = c;
    else
        w->ready_head = c;
    w->ready_tail = c;
}

/* Takes c off the ready list (it is being closed). */
static void conn_ready_remove(struct conn *c)
{
    struct worker *w = c->worker;
    struct conn **pp = &w->ready_head, *prev = NULL;
    while (*pp != NULL && *pp != c) {
        prev = *pp;
        pp = &(*pp)->ready_next;
    }
    if (*pp == NULL)
        return;
    *pp = c->ready_next;
    if (w->ready_tail == c)
        w->ready_tail = prev;
    c->ready = false;
}

void conn_close(struct conn *c)
{
    struct worker *w = c->worker;
    if (c->ready)
        conn_ready_remove(c);
    pthread_mutex_lock(&w->lock);
    if (c->prev != NULL)
        c->prev->next = c->next;
    else
        w->conns = c->next;
    if (c->next != NULL)
        c->next->prev = c->prev;
    pthread_mutex_unlock(&w->lock);

    if (logger_wants(LOGGER_CONNEVENTS))
        conn_note_event(c, false);
    log_debug("<%d connection closed.\n", c->fd);
    if (c->rev != NULL)
        event_free(c->rev);
    if (c->wev != NULL)
        event_free(c->wev);
    if (c->yev != NULL)
        event_free(c->yev);
    close(c->fd);
    reply_free(c->out);
    proto_conn_reset(&c->pc);
    free(c->rbuf);
    conn_rbuf_charge(w, c->rsize, 0);
    atomic_fetch_sub(&w->srv->read_buf_count, 1);
    atomic_fetch_sub(&w->srv->curr_conns, 1);
    free(c);
}

bool conn_close_if_idle(struct conn *c, rel_time_t now, uint64_t idle)
{
    rel_time_t last = atomic_load(&c->last_cmd);
    /* a watcher sends no commands; memcached's are not subject to idle_timeout either */
    if (idle == 0 || now <= last || (uint64_t)(now - last) <= idle || proto_watching(&c->pc))
        return false;
    log_info("<%d closing idle connection\n", c->fd);
    c->close_reason = LOGGER_CLOSE_IDLE;
    conn_close(c);
    return true;
}

/* ------------------------------------------------------------ read buffer */

/*
 * The bytes the request in progress needs in rbuf: its whole size when the
 * protocol said (a data block, a binary body), else room for its line.
 */
static size_t conn_rbuf_want(const struct conn *c)
{
    return c->rwant > 0 ? c->rwant : c->rlen + CONN_RBUF_LINE_ROOM;
}

/* Resizes rbuf within read_buf_mem_limit. False (rbuf unchanged) if it cannot. */
static bool conn_rbuf_resize(struct conn *c, size_t size)
{
    if (!conn_rbuf_charge(c->worker, c->rsize, size))
        return false;
    char *nb = realloc(c->rbuf, size);
    if (nb == NULL) {
        counter_inc(&c->worker->malloc_fails);
        conn_rbuf_charge(c->worker, size, c->rsize);
        return false;
    }
    c->rbuf = nb;
    c->rsize = size;
    return true;
}

/*
 * Before a read: room after the unprocessed bytes for the request in
 * progress. They move to the front only when that room is short (rarely, and
 * then they are one partial request); the buffer is resized only to what
 * the request needs: grown for a big one, shrunk back after it.
 */
static bool conn_rbuf_prepare(struct conn *c)
{
    size_t want = conn_rbuf_want(c);
    size_t size = want > CONN_RBUF_INITIAL ? want : CONN_RBUF_INITIAL;
    if (c->rstart + want <= c->rsize && c->rsize <= size)
        return true;
    if (c->rstart > 0) {
        memmove(c->rbuf, c->rbuf + c->rstart, c->rlen);
        c->rstart = 0;
    }
    if (c->rsize >= want && c->rsize <= size)
        return true;
    return conn_rbuf_resize(c, size);
}

/* Idle again: a buffer grown for one big request goes back to its small size. */
static void conn_rbuf_idle(struct conn *c)
{
    c->rstart = 0;
    c->rwant = 0;
    if (c->rsize > CONN_RBUF_INITIAL)
        conn_rbuf_resize(c, CONN_RBUF_INITIAL);   /* shrinking never passes the limit */
}

/* Reads what the socket has. Returns false when the connection is gone. */
static bool conn_fill(struct conn *c)
{
    if (!conn_rbuf_prepare(c))
        return false;
    size_t room = c->rsize - c->rstart - c->rlen;
    ssize_t n = read(c->fd, c->rbuf + c->rstart + c->rlen, room);
    if (n > 0) {
        c->rlen += (size_t)n;
        counter_add(&c->worker->bytes_read, (uint64_t)n);
        return true;
    }
    if (n == 0) {
        /* Half-closed (e.g. `nc -q1`): the requests already sent still get answers. */
        c->peer_closed = true;
        return true;
    }
    return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR;
}

/* ----------------------------------------------------------- processing */

static void conn_log_command(struct conn *c, const char *buf, size_t len)
{
    const char *nl = memchr(buf, '\n', len < CONN_LOG_LINE_MAX ? len : CONN_LOG_LINE_MAX);
    size_t n = nl != NULL ? (size_t)(nl - buf) : (len < CONN_LOG_LINE_MAX ? len : CONN_LOG_LINE_MAX);
    if (n > 0 && buf[n - 1] == '\r')
        n--;
    log_debug("<%d %.*s\n", c->fd, (int)n, buf);
}

/*
 * Opens a turn over what rbuf holds (it stays put until conn_process ends
 * it): the gets it starts with are split and hashed, their buckets on the
 * way (proto_batch_scan_ahead).
 */
static void conn_turn_open(struct conn *c)
{
    proto_batch_begin(&c->pc, c->worker->srv->settings.reqs_per_event);
    proto_batch_scan_ahead(&c->pc, c->rbuf + c->rstart, c->rlen);
}

/* Runs up to -R complete requests from the read buffer. */
static void conn_process(struct conn *c)
{
    const struct settings *st = &c->worker->srv->settings;
    uint64_t handled = 0;
    bool log_commands = log_level() >= LOG_DEBUG;   /* -vv */
    c->yielded = false;
    if (!proto_batch_open(&c->pc))
        conn_turn_open(c);   /* a turn no read opened: after a yield or a drained write */
    proto_batch_prefetch_rest(&c->pc);
    while (c->rlen > 0 && !c->closing && !c->shutdown) {
        if (handled == st->reqs_per_event) {
            c->yielded = true;
            counter_inc(&c->worker->conn_yields);
            break;
        }
        if (reply_pending(c->out) > CONN_OUT_HIGH_WATER) {
            c->yielded = true;   /* resume once the socket took enough */
            break;
        }
        const char *buf = c->rbuf + c->rstart;
        enum proto_action action = PROTO_CONTINUE;
        size_t need = 0;
        conn_set_state(c, CONN_parse_cmd);
        bool value_bytes = proto_in_block(&c->pc);   /* not a command line for -vv */
        size_t used = proto_process(&c->pc, buf, c->rlen, c->out, &action, &need);
        if (used == 0) {
            /* Incomplete: the next read makes room for what it needs. */
            c->rwant = need > c->rlen ? need : 0;
            conn_set_state(c, CONN_nread);
            break;
        }
        if (log_commands && !value_bytes)
            conn_log_command(c, buf, used);
        c->rstart += used;
        c->rlen -= used;
        c->rwant = 0;
        handled++;
        if (action == PROTO_CLOSE)
            c->closing = true;
        else if (action == PROTO_SHUTDOWN || action == PROTO_SHUTDOWN_GRACEFUL)
            c->shutdown = action;
        if (proto_streaming(&c->pc)) {
            c->yielded = true;   /* the stream goes first; later requests wait */
            break;
        }
    }
    proto_batch_end(&c->pc);
    if (handled > 0)   /* idle_timeout counts from here */
        atomic_store_explicit(&c->last_cmd, clock_now(), memory_order_relaxed);
    if (c->rlen == 0)
        conn_rbuf_idle(c);
}

/* Writes what the reply holds. Returns false when the socket failed. */
static bool conn_flush(struct conn *c)
{
    struct iovec iov[CONN_IOV_MAX];
    while (reply_pending(c->out) > 0) {
        int n = reply_iov(c->out, iov, CONN_IOV_MAX);
        /* one piece (short values are copied into the text): write(2)
         * spares the kernel importing an iovec array */
        ssize_t w = n == 1 ? write(c->fd, iov[0].iov_base, iov[0].iov_len) : writev(c->fd, iov, n);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return errno == EAGAIN || errno == EWOULDBLOCK;
        }
        counter_add(&c->worker->bytes_written, (uint64_t)w);
        reply_consumed(c->out, (size_t)w);
    }
    return true;
}

static void conn_event(struct conn *c, struct event *ev, bool *on, bool want)
{
    if (want == *on)
        return;
    if (want)
        event_add(ev, NULL);
    else
        event_del(ev);
    *on = want;
}

/*
 * After a batch: decides what to wait for. Returns false if c was closed
 * (the caller must not touch it again).
 */
static bool conn_settle(struct conn *c, bool defer_write)
{
    size_t pending = reply_pending(c->out);
    bool sending = pending > 0 && !defer_write;   /* replies wait for the socket */
    conn_event(c, c->wev, &c->wev_on, sending);
    if (c->closing || c->shutdown) {
        conn_set_state(c, CONN_closing);
        conn_event(c, c->rev, &c->rev_on, false);
        if (pending > 0)
            return true;
        if (c->shutdown)
            server_stop_for(c->worker->srv, c->shutdown);
        c->close_reason = LOGGER_CLOSE_NORMAL;   /* quit, or the client hung up */
        conn_close(c);
        return false;
    }
    /*
     * Nothing is read while replies wait for the socket. A yielded connection
     * keeps its read event (no epoll_ctl pair per turn), but conn_on_read
     * leaves the socket alone until the buffered requests are used up.
     */
    conn_event(c, c->rev, &c->rev_on, !sending);
    if (pending > 0)
        conn_set_state(c, CONN_mwrite);
    else if (c->rlen == 0)
        conn_set_state(c, CONN_waiting);
    if (c->yielded && !sending)   /* while sending, conn_on_write resumes */
        event_add(c->yev, proto_stream_idle(&c->pc) ? &conn_watch_delay : &conn_turn_delay);
    return true;
}

/*
 * Stopped at -R with more requests already read and little output queued:
 * the replies wait for the rest of the batch, so a pipeline that fits the
 * read buffer is answered with one write. Fairness comes from the yield
 * itself (yev).
 */
static bool conn_defer_write(const struct conn *c)
{
    return c->yielded && c->rlen > 0 && !c->closing && !c->shutdown &&
           reply_pending(c->out) <= CONN_OUT_HIGH_WATER;
}

/* One piece of a stream; the next turn comes as a yield's (conn_settle). */
static void conn_stream(struct conn *c)
{
    proto_stream_more(&c->pc, c->out);
    c->yielded = true;
}

/* Processes what is buffered (or a stream's next piece), sends the
 * replies, settles the events. */
static void conn_run(struct conn *c)
{
    bool streaming = proto_streaming(&c->pc);
    if (streaming)
        conn_stream(c);
    else
        conn_process(c);
    if (c->peer_closed && !c->yielded)
        c->closing = true;    /* nothing more will come: flush, then close */
    bool defer = !streaming && conn_defer_write(c);
    if (!defer && !conn_flush(c)) {
        conn_close(c);
        return;
    }
    conn_settle(c, defer);
}

/*
 * A watching connection runs no more requests: what it sends is read and
 * dropped (as memcached), so the read event does not fire again and again,
 * and its hang-up ends the watch. False when the connection is gone.
 */
static bool conn_watch_input(struct conn *c)
{
    char scratch[CONN_DISCARD_MAX];
    ssize_t n = read(c->fd, scratch, sizeof(scratch));
    if (n > 0 || (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)))
        return true;
    c->close_reason = n == 0 ? LOGGER_CLOSE_NORMAL : LOGGER_CLOSE_ERROR;
    conn_close(c);
    return false;
}

static void conn_on_read(evutil_socket_t fd, short what, void *arg)
{
    struct conn *c = arg;
    if (proto_watching(&c->pc)) {
        conn_watch_input(c);
        return;
    }
    if (c->yielded)
        return;   /* complete requests still buffered: yev runs the next turn */
    if (!conn_fill(c)) {
        conn_close(c);
        return;
    }
    conn_turn_open(c);
    conn_ready_push(c);
}

static void conn_on_write(evutil_socket_t fd, short what, void *arg)
{
    struct conn *c = arg;
    if (!conn_flush(c)) {
        conn_close(c);
        return;
    }
    if (reply_pending(c->out) > 0 || c->closing || c->shutdown) {
        conn_settle(c, false);
        return;
    }
    /* Drained: go on with requests that waited in the buffer. */
    conn_run(c);
}

/* ------------------------------------------------------------ the ready pass */

void conn_run_ready(struct worker *w)
{
    /* each prefetch step over every connection before the next step */
    for (unsigned step = 1; step < STORE_PREFETCH_STEPS; step++)
        for (struct conn *c = w->ready_head; c != NULL; c = c->ready_next)
            proto_batch_prefetch_step(&c->pc);
    struct conn *c;
    while ((c = w->ready_head) != NULL) {
        w->ready_head = c->ready_next;
        if (w->ready_head == NULL)
            w->ready_tail = NULL;
        c->ready = false;
        conn_run(c);   /* may close c, never another connection */
    }
}

/* The turn after a yield: what is buffered first, reading only once it is used up. */
static void conn_on_turn(evutil_socket_t fd, short what, void *arg)
{
    conn_run(arg);
}
