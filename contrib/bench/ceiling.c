/*
 * ceiling: the no-work server of contrib/bench/compare.
 *
 * What a memcached-compatible server could reach on this machine if looking
 * keys up and storing values cost nothing: one thread answers every request
 * with a canned reply over the same system calls as slabcache's worker (one
 * read per readiness, the whole batch of replies in one write), so a
 * throughput row of compare can say what share of this ceiling each server
 * reaches.
 *
 * Replies (text protocol only; loadgen runs against it with --canned, which
 * frames and matches keys but does not compare value bytes):
 *   get/gets k1 .. kn            VALUE ki 0 SIZE + the canned value, each; END
 *   mg k ...                     VA SIZE + the canned value
 *   set k f e n [noreply]        the n bytes and CRLF are skipped; STORED
 *   anything else                ERROR
 *
 * Design: epoll (level-triggered), non-blocking sockets, one buffer in and
 * one out per connection. A request larger than CEILING_RBUF_MAX, or a line
 * longer than CEILING_LINE_MAX, closes the connection: the ceiling serves
 * the benchmark's requests, nothing else. Only 127.0.0.0/8 addresses.
 * SIGTERM or SIGINT ends it.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#define CEILING_RBUF_INITIAL (64 * 1024)
#define CEILING_RBUF_MAX (2 * 1024 * 1024)   /* loadgen's largest value fits */
#define CEILING_LINE_MAX 4096                /* a get of 100 keys of 250 bytes does not */
#define CEILING_VALUE_MAX (1024 * 1024)
#define CEILING_EVENTS 64
#define CEILING_BACKLOG 1024
#define CEILING_SET_TOKENS 5                 /* set key flags exptime bytes */
#define CRLF "\r\n"
#define CRLF_LEN 2

struct buf {
    char *p;
    size_t len, cap;
};

struct conn {
    int fd;
    struct buf in, out;
    size_t sent;    /* bytes of out already written */
    bool want_out;  /* EPOLLOUT armed */
};

static volatile sig_atomic_t g_stop;
static char *g_value;          /* the canned value, then CRLF */
static size_t g_value_len;
static char g_value_head[64];  /* " 0 SIZE\r\n": what follows the key of a VALUE line */
static char g_va_line[32];     /* "VA SIZE\r\n" */

static void die(const char *what)
{
    fprintf(stderr, "ceiling: %s: %s\n", what, strerror(errno));
    exit(2);
}

static bool buf_reserve(struct buf *b, size_t more)
{
    if (b->len + more <= b->cap)
        return true;
    size_t cap = b->cap ? b->cap : CEILING_RBUF_INITIAL;
    while (cap < b->len + more)
        cap *= 2;
    char *p = realloc(b->p, cap);
    if (p == NULL)
        return false;
    b->p = p;
    b->cap = cap;
    return true;
}

static bool buf_add(struct buf *b, const char *p, size_t n)
{
    if (!buf_reserve(b, n))
        return false;
    memcpy(b->p + b->len, p, n);
    b->len += n;
    return true;
}

static bool reply_hit_text(struct buf *out, const char *key, size_t nkey)
{
    return buf_add(out, "VALUE ", 6) && buf_add(out, key, nkey) &&
           buf_add(out, g_value_head, strlen(g_value_head)) &&
           buf_add(out, g_value, g_value_len + CRLF_LEN);
}

/* get/gets: one canned hit per key token of the line, then END. */
static bool answer_get(struct buf *out, const char *args, const char *end)
{
    const char *p = args;
    while (p < end) {
        while (p < end && *p == ' ')
            p++;
        const char *k = p;
        while (p < end && *p != ' ')
            p++;
        if (p > k && !reply_hit_text(out, k, (size_t)(p - k)))
            return false;
    }
    return buf_add(out, "END" CRLF, 3 + CRLF_LEN);
}

static bool answer_mg(struct buf *out)
{
    return buf_add(out, g_va_line, strlen(g_va_line)) &&
           buf_add(out, g_value, g_value_len + CRLF_LEN);
}

/* The data length of "set k f e n [noreply]", or -1 when malformed. */
static long set_data_len(const char *line, const char *end, bool *noreply)
{
    const char *tok[CEILING_SET_TOKENS + 1];
    size_t ntok = 0;
    const char *p = line;
    while (p < end && ntok < CEILING_SET_TOKENS + 1) {
        while (p < end && *p == ' ')
            p++;
        if (p < end)
            tok[ntok++] = p;
        while (p < end && *p != ' ')
            p++;
    }
    if (ntok < CEILING_SET_TOKENS)
        return -1;
    *noreply = ntok > CEILING_SET_TOKENS && strncmp(tok[CEILING_SET_TOKENS], "noreply", 7) == 0;
    char *e;
    long n = strtol(tok[CEILING_SET_TOKENS - 1], &e, 10);
    return n < 0 || n > CEILING_VALUE_MAX || (*e != ' ' && *e != '\r' && *e != '\n') ? -1 : n;
}

static bool is_cmd(const char *line, size_t ll, const char *cmd)
{
    size_t n = strlen(cmd);
    return ll > n && memcmp(line, cmd, n) == 0 && line[n] == ' ';
}

/*
 * Answers the request at in[0..len): its size, 0 when it is not all there
 * yet, -1 when the connection must close.
 */
static long answer_one(struct buf *out, const char *in, size_t len)
{
    const char *nl = memchr(in, '\n', len < CEILING_LINE_MAX ? len : CEILING_LINE_MAX);
    if (nl == NULL)
        return len < CEILING_LINE_MAX ? 0 : -1;
    size_t ll = (size_t)(nl - in) + 1;
    const char *end = nl > in && nl[-1] == '\r' ? nl - 1 : nl;
    size_t body = (size_t)(end - in);
    bool ok;
    if (is_cmd(in, body, "get"))
        ok = answer_get(out, in + 3, end);
    else if (is_cmd(in, body, "gets"))
        ok = answer_get(out, in + 4, end);
    else if (is_cmd(in, body, "mg"))
        ok = answer_mg(out);
    else if (is_cmd(in, body, "set")) {
        bool noreply = false;
        long n = set_data_len(in, end, &noreply);
        if (n < 0)
            return -1;
        if (len < ll + (size_t)n + CRLF_LEN)
            return 0;
        ll += (size_t)n + CRLF_LEN;
        ok = noreply || buf_add(out, "STORED" CRLF, 6 + CRLF_LEN);
    } else
        ok = buf_add(out, "ERROR" CRLF, 5 + CRLF_LEN);
    return ok ? (long)ll : -1;
}

/* Answers every complete request in c->in; false to close. */
static bool answer_all(struct conn *c)
{
    size_t off = 0;
    for (;;) {
        long n = answer_one(&c->out, c->in.p + off, c->in.len - off);
        if (n < 0)
            return false;
        if (n == 0)
            break;
        off += (size_t)n;
    }
    memmove(c->in.p, c->in.p + off, c->in.len - off);
    c->in.len -= off;
    return true;
}

static void conn_close(int ep, struct conn *c)
{
    epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
    close(c->fd);
    free(c->in.p);
    free(c->out.p);
    free(c);
}

static bool conn_want_out(int ep, struct conn *c, bool want)
{
    if (c->want_out == want)
        return true;
    struct epoll_event ev = {.events = want ? EPOLLOUT : EPOLLIN, .data.ptr = c};
    c->want_out = want;
    return epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev) == 0;
}

/* One write of what is pending; reading waits until it all went out. */
static bool conn_flush(int ep, struct conn *c)
{
    while (c->sent < c->out.len) {
        ssize_t w = write(c->fd, c->out.p + c->sent, c->out.len - c->sent);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            if (errno != EAGAIN && errno != EWOULDBLOCK)
                return false;
            return conn_want_out(ep, c, true);
        }
        c->sent += (size_t)w;
    }
    c->out.len = c->sent = 0;
    return conn_want_out(ep, c, false);
}

/* One read, then the whole batch answered and written: false to close. */
static bool conn_on_read(int ep, struct conn *c)
{
    if (c->in.len == c->in.cap) {   /* full (or new): double, up to the bound */
        if (c->in.cap >= CEILING_RBUF_MAX ||
            !buf_reserve(&c->in, c->in.cap ? c->in.cap : CEILING_RBUF_INITIAL))
            return false;
    }
    ssize_t n = read(c->fd, c->in.p + c->in.len, c->in.cap - c->in.len);
    if (n == 0)
        return false;
    if (n < 0)
        return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR;
    c->in.len += (size_t)n;
    return answer_all(c) && conn_flush(ep, c);
}

static void accept_all(int ep, int lfd)
{
    for (;;) {
        int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0)
            return;
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        struct conn *c = calloc(1, sizeof *c);
        struct epoll_event ev = {.events = EPOLLIN};
        if (c == NULL) {
            close(fd);
            continue;
        }
        c->fd = fd;
        ev.data.ptr = c;
        if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) != 0) {
            close(fd);
            free(c);
        }
    }
}

static int listen_on(const char *host, int port)
{
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    if (inet_pton(AF_INET, host, &sa.sin_addr) != 1 ||
        (ntohl(sa.sin_addr.s_addr) >> 24) != 127) {
        fprintf(stderr, "ceiling: -l must be a 127.x.x.x address, not '%s'\n", host);
        exit(2);
    }
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    int one = 1;
    if (fd < 0)
        die("socket");
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (bind(fd, (struct sockaddr *)&sa, sizeof sa) != 0)
        die("bind");
    if (listen(fd, CEILING_BACKLOG) != 0)
        die("listen");
    return fd;
}

static void on_signal(int sig)
{
    (void)sig;
    g_stop = 1;
}

static void canned_value_init(long size)
{
    g_value_len = (size_t)size;
    g_value = malloc(g_value_len + CRLF_LEN);
    if (g_value == NULL)
        die("malloc");
    memset(g_value, 'v', g_value_len);
    memcpy(g_value + g_value_len, CRLF, CRLF_LEN);
    snprintf(g_value_head, sizeof g_value_head, " 0 %ld" CRLF, size);
    snprintf(g_va_line, sizeof g_va_line, "VA %ld" CRLF, size);
}

static void serve(int lfd)
{
    int ep = epoll_create1(EPOLL_CLOEXEC);
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = NULL}, evs[CEILING_EVENTS];
    if (ep < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev) != 0)
        die("epoll");
    while (!g_stop) {
        int n = epoll_wait(ep, evs, CEILING_EVENTS, -1);
        for (int i = 0; i < n; i++) {
            struct conn *c = evs[i].data.ptr;
            if (c == NULL) {
                accept_all(ep, lfd);
                continue;
            }
            bool ok = (evs[i].events & EPOLLOUT) ? conn_flush(ep, c) : conn_on_read(ep, c);
            if (!ok || (evs[i].events & (EPOLLERR | EPOLLHUP) && !(evs[i].events & EPOLLIN)))
                conn_close(ep, c);
        }
    }
}

static void usage(FILE *f)
{
    fputs("usage: ceiling [-l 127.0.0.1] [-p PORT] [-s VALUE_BYTES]\n"
          "  answers get/gets/mg with canned hits and set with STORED (see the source)\n", f);
}

int main(int argc, char **argv)
{
    const char *host = "127.0.0.1";
    long port = 11211, size = 32;
    int o;
    while ((o = getopt(argc, argv, "l:p:s:h")) != -1) {
        char *e = NULL;
        switch (o) {
        case 'l': host = optarg; break;
        case 'p': port = strtol(optarg, &e, 10); break;
        case 's': size = strtol(optarg, &e, 10); break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
        if (e != NULL && (*e || port < 1 || port > 65535 || size < 1 || size > CEILING_VALUE_MAX)) {
            usage(stderr);
            return 2;
        }
    }
    canned_value_init(size);
    signal(SIGPIPE, SIG_IGN);
    struct sigaction sa = {.sa_handler = on_signal};
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    serve(listen_on(host, (int)port));
    return 0;
}
