/*
 * udp: memcached's UDP transport (-U), served by the worker threads.
 *
 * Wire format: every datagram, each way, starts with an 8-byte frame header
 * of four big-endian 16-bit fields:
 *
 *   0      2      4      6      8
 *   +------+------+------+------+---------------------------------+
 *   | req  | seq  | total| 0    | payload (text or binary bytes)  |
 *   +------+------+------+------+---------------------------------+
 *
 * A request must fit one datagram (total == 1); a datagram announcing more
 * is dropped without a reply, as memcached 1.6 does (its "SERVER_ERROR
 * multi-packet request not supported" string is never sent). Datagrams of 8
 * bytes or less are dropped too. The requests in the payload run through
 * proto_process() in order with a fresh struct proto_conn per datagram, so
 * no state crosses datagrams; an incomplete request ends the datagram. The
 * protocol is chosen per datagram like a connection's (-B, or auto by the
 * first byte), so binary requests are answered too, as memcached answers them.
 *
 * Each request's reply goes back to the sender with the same request id,
 * cut into datagrams of at most UDP_MAX_PAYLOAD bytes (memcached's 1400
 * minus the header) numbered seq 0..n-1 with total n; every datagram but
 * the last is full, however many pieces the reply holds. The bytes are
 * copied out of the reply (item values included) into one datagram buffer:
 * UDP replies are small, and copying lets the items go at once.
 *
 * Sockets and threads: one socket per address, shared by every worker, each
 * of which watches it from its own event base (memcached does the same with
 * dup()ed descriptors). One socket per worker with SO_REUSEPORT would avoid
 * waking every worker per datagram, but it also lets another process of the
 * same user bind the port silently and take part of the traffic, so a port
 * conflict would no longer fail at start. UDP traffic to a cache is light;
 * the shared socket keeps start-up checks exact. A worker reads at most -R
 * datagrams per wake-up so its TCP connections are not starved.
 */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "common/log.h"
#include "server/server.h"

#define UDP_HEADER_LEN 8
#define UDP_MAX_DATAGRAM 1400                 /* memcached's UDP_MAX_PAYLOAD_SIZE, header included */
#define UDP_MAX_PAYLOAD (UDP_MAX_DATAGRAM - UDP_HEADER_LEN)
#define UDP_READ_MAX 65536                    /* the largest datagram IPv4/IPv6 carry */
#define UDP_MAX_DATAGRAMS 65535               /* total is a 16-bit field */
#define UDP_IOV_MAX 64                        /* reply pieces looked at per batch */
#define UDP_SEND_WAIT_MS 10                   /* a full socket buffer: wait once, then drop */

enum udp_field {
    UDP_F_REQUEST_ID = 0,
    UDP_F_SEQUENCE = 2,
    UDP_F_TOTAL = 4,
    UDP_F_RESERVED = 6,
};

struct worker_udp {
    struct event **evs;                       /* one per server UDP socket */
    size_t nevs;
    unsigned char *rbuf;                      /* UDP_READ_MAX */
    unsigned char dgram[UDP_MAX_DATAGRAM];
    struct reply *out;
};

/* Where a reply goes: the socket it came in on and its sender. */
struct udp_peer {
    int fd;
    struct sockaddr_storage addr;
    socklen_t addrlen;
    uint16_t request_id;
};

static uint16_t udp_get16(const unsigned char *p, enum udp_field f)
{
    return (uint16_t)(p[f] << 8 | p[f + 1]);
}

static void udp_put16(unsigned char *p, enum udp_field f, uint16_t v)
{
    p[f] = (unsigned char)(v >> 8);
    p[f + 1] = (unsigned char)v;
}

/*
 * Moves up to max unsent reply bytes into dst and marks them sent; returns
 * how many. A reply may hold any number of pieces (a multi-get has a few per
 * key), so it takes them UDP_IOV_MAX at a time until dst is full: the
 * datagram count was fixed from the byte count, so every datagram but the
 * last must leave full.
 */
static size_t udp_take_out(struct reply *out, unsigned char *dst, size_t max)
{
    size_t got = 0;
    while (got < max && reply_pending(out) > 0) {
        struct iovec iov[UDP_IOV_MAX];
        int n = reply_iov(out, iov, UDP_IOV_MAX);
        size_t batch = 0;
        for (int i = 0; i < n && got + batch < max; i++) {
            size_t room = max - got - batch;
            size_t take = iov[i].iov_len < room ? iov[i].iov_len : room;
            memcpy(dst + got + batch, iov[i].iov_base, take);
            batch += take;
        }
        reply_consumed(out, batch);
        got += batch;
    }
    return got;
}

static bool udp_sendto(struct worker *w, const struct udp_peer *peer, size_t len)
{
    for (int attempt = 0; attempt < 2; attempt++) {
        ssize_t n = sendto(peer->fd, w->udp->dgram, len, 0,
                           (const struct sockaddr *)&peer->addr, peer->addrlen);
        if (n >= 0) {
            counter_add(&w->bytes_written, (uint64_t)n);
            return true;
        }
        if (errno == EINTR) {
            attempt--;
            continue;
        }
        if (errno != EAGAIN && errno != EWOULDBLOCK)
            break;
        struct pollfd pf = { peer->fd, POLLOUT, 0 };
        poll(&pf, 1, UDP_SEND_WAIT_MS);
    }
    log_info("<%d UDP reply dropped: %s\n", peer->fd, strerror(errno));
    return false;
}

/* Sends everything the reply holds as one numbered run of datagrams. */
static void udp_send_reply(struct worker *w, const struct udp_peer *peer)
{
    struct reply *out = w->udp->out;
    size_t total = reply_pending(out);
    if (total == 0)
        return;
    size_t count = (total + UDP_MAX_PAYLOAD - 1) / UDP_MAX_PAYLOAD;
    if (count > UDP_MAX_DATAGRAMS) {
        log_info("<%d UDP reply of %zu bytes is too large, dropped\n", peer->fd, total);
        reply_clear(out);
        return;
    }
    unsigned char *d = w->udp->dgram;
    udp_put16(d, UDP_F_REQUEST_ID, peer->request_id);
    udp_put16(d, UDP_F_TOTAL, (uint16_t)count);
    udp_put16(d, UDP_F_RESERVED, 0);
    for (size_t seq = 0; seq < count; seq++) {
        udp_put16(d, UDP_F_SEQUENCE, (uint16_t)seq);
        size_t len = udp_take_out(out, d + UDP_HEADER_LEN, UDP_MAX_PAYLOAD);
        if (!udp_sendto(w, peer, UDP_HEADER_LEN + len)) {
            reply_clear(out);
            return;
        }
    }
}

/* Runs the requests of one datagram's payload, replying after each. */
static void udp_run(struct worker *w, const struct udp_peer *peer, const char *buf, size_t len)
{
    struct proto_conn pc;
    proto_conn_init(&pc, &w->srv->env, &w->counters);
    while (len > 0) {
        enum proto_action action = PROTO_CONTINUE;
        size_t used = proto_process(&pc, buf, len, w->udp->out, &action, NULL);
        if (used == 0)
            break;   /* incomplete: the rest of it will never come */
        buf += used;
        len -= used;
        udp_send_reply(w, peer);
        if (action == PROTO_SHUTDOWN || action == PROTO_SHUTDOWN_GRACEFUL)
            server_stop_for(w->srv, action);
        if (action != PROTO_CONTINUE)
            break;
    }
    reply_clear(w->udp->out);
    proto_conn_reset(&pc);
}

/* Reads one datagram; false when the socket has none left. */
static bool udp_read_one(struct worker *w, int fd)
{
    struct udp_peer peer = { .fd = fd, .addrlen = sizeof(peer.addr) };
    unsigned char *buf = w->udp->rbuf;
    ssize_t n = recvfrom(fd, buf, UDP_READ_MAX, 0, (struct sockaddr *)&peer.addr,
                         &peer.addrlen);
    if (n < 0)
        return errno == EINTR;
    counter_add(&w->bytes_read, (uint64_t)n);
    if (n <= UDP_HEADER_LEN)
        return true;
    if (udp_get16(buf, UDP_F_TOTAL) != 1) {
        log_debug("<%d UDP: multi-datagram request dropped\n", fd);
        return true;
    }
    peer.request_id = udp_get16(buf, UDP_F_REQUEST_ID);
    udp_run(w, &peer, (const char *)buf + UDP_HEADER_LEN, (size_t)n - UDP_HEADER_LEN);
    return true;
}

static void udp_on_read(evutil_socket_t fd, short what, void *arg)
{
    struct worker *w = arg;
    uint64_t max = w->srv->settings.reqs_per_event;
    /* More may wait after -R datagrams: the persistent event fires again. */
    for (uint64_t i = 0; i < max; i++)
        if (!udp_read_one(w, (int)fd))
            return;
}

int udp_worker_start(struct worker *w, char *err, size_t errlen)
{
    struct server *srv = w->srv;
    if (srv->nudp == 0)
        return 0;
    struct worker_udp *u = calloc(1, sizeof(*u));
    w->udp = u;
    if (u == NULL || (u->rbuf = malloc(UDP_READ_MAX)) == NULL ||
        (u->evs = calloc(srv->nudp, sizeof(*u->evs))) == NULL ||
        (u->out = reply_new(srv->store)) == NULL) {
        snprintf(err, errlen, "out of memory for UDP on worker %u", w->id);
        return -1;
    }
    reply_account(u->out, &w->replies);
    for (size_t i = 0; i < srv->nudp; i++) {
        u->evs[i] = event_new(w->base, srv->udp[i].fd, EV_READ | EV_PERSIST, udp_on_read, w);
        if (u->evs[i] != NULL)
            u->nevs = i + 1;
        if (u->evs[i] == NULL || event_add(u->evs[i], NULL) != 0) {
            snprintf(err, errlen, "cannot watch the UDP socket on worker %u", w->id);
            return -1;
        }
    }
    return 0;
}

void udp_worker_free(struct worker *w)
{
    struct worker_udp *u = w->udp;
    if (u == NULL)
        return;
    for (size_t i = 0; i < u->nevs; i++)
        event_free(u->evs[i]);
    free(u->evs);
    free(u->rbuf);
    if (u->out != NULL)
        reply_free(u->out);
    free(u);
    w->udp = NULL;
}
