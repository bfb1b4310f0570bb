/*
 * sconn: buffered, deadline-bounded client connections for the stress
 * suites. A connection owns one growable read buffer; sc_line and sc_exact
 * consume from it and refill with recv() after a poll() bounded by
 * SC_IO_TIMEOUT_MS. Writes go through the harness's h_send (bounded too).
 */
#include "t/stress/sconn.h"

#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "t/client/harness.h"

#define SC_BUF_INITIAL (64 * 1024)
#define SC_RECV_CHUNK (64 * 1024)
#define SC_STATS_MAX (64 * 1024)
#define SC_FNV_PRIME 0x100000001b3ULL
#define SC_XS_MULT 0x2545F4914F6CDD1DULL

long long sc_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void sc_sleep_ms(int ms)
{
    struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };
    nanosleep(&ts, NULL);
}

long sc_env_long(const char *name, long def)
{
    const char *v = getenv(name);
    char *end;
    if (v == NULL || *v == '\0')
        return def;
    long n = strtol(v, &end, 10);
    return (*end == '\0' && n > 0) ? n : def;
}

uint64_t sc_rand(uint64_t *state)
{
    uint64_t x = *state ? *state : 1;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *state = x;
    return x * SC_XS_MULT;
}

uint64_t sc_hash(const void *buf, size_t len, uint64_t seed)
{
    const unsigned char *p = buf;
    uint64_t h = 0xcbf29ce484222325ULL ^ seed;
    for (size_t i = 0; i < len; i++) {
        h ^= p[i];
        h *= SC_FNV_PRIME;
    }
    return h;
}

bool sc_open(struct sc_conn *c, int port)
{
    c->fd = h_connect(port);
    c->start = c->end = 0;
    c->cap = SC_BUF_INITIAL;
    c->buf = c->fd >= 0 ? malloc(c->cap) : NULL;
    if (c->fd >= 0 && c->buf == NULL) {
        close(c->fd);
        c->fd = -1;
    }
    return c->fd >= 0;
}

void sc_close(struct sc_conn *c)
{
    if (c->fd >= 0)
        close(c->fd);
    free(c->buf);
    c->fd = -1;
    c->buf = NULL;
}

bool sc_write(struct sc_conn *c, const void *buf, size_t len)
{
    return h_send(c->fd, buf, len);
}

/* Makes room for SC_RECV_CHUNK more bytes, moving unread bytes to the front. */
static bool sc_room(struct sc_conn *c)
{
    if (c->start > 0) {
        memmove(c->buf, c->buf + c->start, c->end - c->start);
        c->end -= c->start;
        c->start = 0;
    }
    if (c->cap - c->end >= SC_RECV_CHUNK)
        return true;
    size_t ncap = c->cap * 2;
    char *nb = realloc(c->buf, ncap);
    if (nb == NULL)
        return false;
    c->buf = nb;
    c->cap = ncap;
    return true;
}

/* Reads more bytes before the deadline; false on EOF, error or timeout. */
static bool sc_fill(struct sc_conn *c, long long deadline)
{
    if (!sc_room(c))
        return false;
    for (;;) {
        long long left = deadline - sc_now_ms();
        struct pollfd pf = { c->fd, POLLIN, 0 };
        if (left <= 0 || poll(&pf, 1, (int)left) <= 0)
            return false;
        ssize_t r = recv(c->fd, c->buf + c->end, c->cap - c->end, 0);
        if (r > 0) {
            c->end += (size_t)r;
            return true;
        }
        if (r < 0 && errno == EINTR)
            continue;
        return false;
    }
}

long sc_line(struct sc_conn *c, char *out, size_t cap)
{
    long long deadline = sc_now_ms() + SC_IO_TIMEOUT_MS;
    size_t scanned = 0;
    for (;;) {
        char *base = c->buf + c->start;
        size_t avail = c->end - c->start;
        char *nl = scanned < avail ? memchr(base + scanned, '\n', avail - scanned) : NULL;
        if (nl != NULL) {
            size_t len = (size_t)(nl - base) + 1;
            if (len < 2 || nl[-1] != '\r' || len - 2 >= cap)
                return -1;
            memcpy(out, base, len - 2);
            out[len - 2] = '\0';
            c->start += len;
            return (long)(len - 2);
        }
        scanned = avail;
        if (avail > cap + 2 || !sc_fill(c, deadline))
            return -1;
    }
}

bool sc_exact(struct sc_conn *c, char *out, size_t n)
{
    long long deadline = sc_now_ms() + SC_IO_TIMEOUT_MS;
    size_t got = 0;
    while (got < n) {
        size_t avail = c->end - c->start;
        size_t take = avail < n - got ? avail : n - got;
        memcpy(out + got, c->buf + c->start, take);
        c->start += take;
        got += take;
        if (got < n && !sc_fill(c, deadline))
            return false;
    }
    return true;
}

long long sc_stat(int port, const char *name)
{
    char *buf = malloc(SC_STATS_MAX);
    long long v = -1;
    if (buf != NULL && h_stats(port, NULL, buf, SC_STATS_MAX))
        v = h_stat_num(buf, name);
    free(buf);
    return v;
}

void sc_check(struct sc_tally *t, bool ok, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    printf("%s: ", ok ? "ok" : "FAIL");
    vprintf(fmt, ap);
    printf("\n");
    va_end(ap);
    fflush(stdout);
    if (ok)
        t->passed++;
    else
        t->failed++;
}

int sc_summary(const struct sc_tally *t)
{
    printf("%d passed, %d failed\n", t->passed, t->failed);
    fflush(stdout);
    return t->failed == 0 ? 0 : 1;
}
