/*
 * loadgen: a closed-loop load generator for memcached-compatible servers.
 *
 * Design. T threads, each with its own epoll set and its share of C
 * connections. Every connection keeps up to D requests outstanding (closed
 * loop: a new request is sent only when a reply came back; with --batch a
 * connection sends D requests at once and waits for all D). Requests are
 * appended to a per-connection write buffer and sent with one write() per
 * refill, replies are parsed in order from a per-connection read buffer
 * against a ring of what is outstanding.
 *
 * Every reply is verified. The value of key i (its bytes, length and flags)
 * is a pure function of i: a window into one random pattern buffer at an
 * offset drawn from a hash of i. A missing value, a wrong value or a reply
 * that cannot be framed is an error, counted and reported apart from the
 * throughput; a framing error closes the connection (the stream can no longer
 * be trusted) and its outstanding requests count as lost.
 *
 * Phases: preload (sets every key once, sequentially, not measured), warm-up
 * (runs the workload, not measured), measure (for --duration seconds or
 * exactly --requests requests), drain. Each phase is bounded: a connection
 * with no progress for --timeout seconds is failed, and --max-time bounds the
 * whole run. Latency is kept per thread in a log-linear histogram (64
 * sub-buckets per power of two, so a percentile is within 1/32 of the truth)
 * and merged at the end.
 *
 * --rate R makes it an open loop: each connection sends on a fixed schedule
 * (R / C requests per second, the connections' schedules staggered), with at
 * most D outstanding; a request's latency counts from its scheduled send time,
 * so a server that stalls is charged for the requests queued behind the stall
 * (no coordinated omission). Waits use epoll_pwait2 with a 1 ns timer slack.
 *
 * --server-pid P reports the CPU time that process (all its threads) and
 * loadgen itself used over the measured window, as a share of one CPU and in
 * microseconds per request: it tells which side limited the run.
 *
 * --workload fill is the density probe: one connection sets distinct keys in
 * pipelined batches and reads `stats` after each batch until evictions > 0,
 * then reports curr_items at that point. With --fill-after F it goes on
 * setting new keys until F times the sets of that point (a steady state of
 * evictions) and reports curr_items then too.
 *
 * Only loopback addresses (127.0.0.0/8) are accepted as targets.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <sched.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define LG_KEY_MAX 250
#define LG_KEY_DIGITS 8  /* keys are prefix + at least 8 digits: lg:00000042 */
#define LG_U32_DIGITS 10
#define LG_VALUE_MAX (1024 * 1024 - 512)
#define LG_PATTERN_OFFSETS 4096
#define LG_MGET_KEYS_MAX 100
#define LG_THREADS_MAX 64
#define LG_DEPTH_MAX 4096
#define LG_RBUF_MIN (64 * 1024)
#define LG_EPOLL_EVENTS 64
#define LG_EPOLL_WAIT_MS 20
#define LG_ERRMSG_MAX 5
#define LG_FILL_BATCH_DEFAULT 1000
#define LG_FILL_KEYS_MAX 100000000u
#define LG_FILL_AFTER_MAX 100
#define LG_STATS_REPLY_MAX (64 * 1024)
#define LG_NS_PER_SEC 1000000000ull
#define LG_NS_PER_US 1000.0
#define LG_NS_PER_MS 1000000ull
#define LG_TIMER_SLACK_NS 1
#define LG_RATE_MAX 100000000L

/* Binary protocol (magic bytes, opcodes, status codes, header size). */
#define LG_BIN_REQ_MAGIC 0x80
#define LG_BIN_RES_MAGIC 0x81
#define LG_BIN_OP_GET 0x00
#define LG_BIN_OP_SET 0x01
#define LG_BIN_OP_NOOP 0x0a
#define LG_BIN_HDR 24
#define LG_BIN_SET_EXTRAS 8
#define LG_BIN_GET_EXTRAS 4
#define LG_BIN_ST_OK 0
#define LG_BIN_ST_ENOENT 1
#define LG_BIN_PROBE_MS 1000

/* Log-linear histogram of latencies in nanoseconds. */
#define LG_HIST_SUB_BITS 6
#define LG_HIST_SUB (1u << LG_HIST_SUB_BITS)
#define LG_HIST_HALF (LG_HIST_SUB / 2)
#define LG_HIST_MAX_SHIFT 40
#define LG_HIST_BUCKETS (LG_HIST_SUB + LG_HIST_MAX_SHIFT * LG_HIST_HALF)

/* Exit codes. */
#define LG_EXIT_OK 0
#define LG_EXIT_ERRORS 1
#define LG_EXIT_USAGE 2
#define LG_EXIT_UNSUPPORTED 3

enum lg_workload { WL_GET, WL_MGET, WL_MG, WL_SET, WL_MIX, WL_BGET, WL_BSET, WL_FILL };
static const char *const lg_workload_names[] = {
    "get", "mget", "mg", "set", "mix", "bget", "bset", "fill",
};
enum lg_op { OP_GET, OP_MGET, OP_MG, OP_SET, OP_BGET, OP_BSET };
enum lg_phase { PH_WARMUP, PH_MEASURE, PH_STOP };

struct lg_config {
    struct sockaddr_in addr;
    enum lg_workload wl;
    int threads, conns, depth, mget_keys;
    bool batch, json, preload;
    uint32_t keys;
    uint32_t vmin, vmax;
    unsigned get_ratio, set_ratio;
    double warmup, duration, timeout, max_time;
    uint64_t requests;
    int cpus[LG_THREADS_MAX], ncpus;
    const char *prefix;
    unsigned fill_batch;
    unsigned fill_after;   /* fill: sets to this multiple of the first eviction's */
    bool zero_flags;       /* every value's client flags 0 (no flags bytes in items) */
    double rate;     /* --rate: open loop, requests per second in all (0: closed loop) */
    int server_pid;  /* --server-pid: report that process's CPU time over the window */
    bool canned;     /* --canned: a hit's value bytes are not compared (the ceiling) */
};

/* What the threads run in the current phase. */
struct lg_plan {
    enum lg_workload wl;
    bool sequential;     /* key = ticket number (preload) instead of random */
    bool record_always;  /* count completions in every phase */
    uint64_t limit;      /* 0: run until PH_STOP, else exactly this many */
};

struct lg_req {
    uint8_t op;
    uint8_t nkeys;
    uint64_t t0;
    uint32_t *keys;
};

struct lg_conn {
    int fd;
    bool dead, want_out;
    char *wbuf;
    size_t wlen, woff, wcap;
    char *rbuf;
    size_t rlen, rcap;
    struct lg_req *ring;
    uint32_t *keypool;
    unsigned head, count;
    uint64_t last_progress;
    uint64_t next_due;  /* --rate: scheduled send time of the next request */
    uint64_t interval;  /* --rate: ns between two scheduled sends on this conn */
};

struct lg_stats {
    uint64_t requests;  /* completed in the measured window */
    uint64_t keys;      /* values fetched or stored in the measured window */
    uint64_t misses;    /* errors: key absent */
    uint64_t bad;       /* errors: wrong value, or an error reply */
    uint64_t framing;   /* errors: reply not parseable (connection closed) */
    uint64_t lost;      /* errors: requests without a reply */
    uint64_t max_ns;
};

struct lg_thread {
    int id, cpu, epfd, nconns;
    pthread_t th;
    struct lg_conn *conns;
    uint64_t rng;
    struct lg_stats st;
    uint64_t hist[LG_HIST_BUCKETS];
};

static struct lg_config g_cfg;
static struct lg_plan g_plan;
static char *g_pattern;
static atomic_int g_phase;
static atomic_uint_fast64_t g_tickets;
static atomic_int g_errmsgs;
static uint64_t g_deadline;
static size_t g_prefix_len;

/* ---------- small helpers ---------- */

static uint64_t lg_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * LG_NS_PER_SEC + (uint64_t)ts.tv_nsec;
}

static void lg_die(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("loadgen: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    exit(LG_EXIT_USAGE);
}

/* The first few errors are printed with detail; the rest are only counted. */
static void lg_errmsg(const char *fmt, ...)
{
    if (atomic_fetch_add(&g_errmsgs, 1) >= LG_ERRMSG_MAX)
        return;
    va_list ap;
    va_start(ap, fmt);
    fputs("loadgen: error: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

static void *lg_xmalloc(size_t n)
{
    void *p = malloc(n);
    if (!p)
        lg_die("out of memory (%zu bytes)", n);
    return p;
}

static uint64_t lg_rand(uint64_t *s)
{
    /* xorshift64*: fast, and good enough to pick keys. */
    uint64_t x = *s;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *s = x;
    return x * 0x2545F4914F6CDD1Dull;
}

static uint32_t lg_hash32(uint32_t x)
{
    x ^= x >> 16;
    x *= 0x7feb352dU;
    x ^= x >> 15;
    x *= 0x846ca68bU;
    x ^= x >> 16;
    return x;
}

/* ---------- keys and values ---------- */

struct lg_value {
    uint32_t len, off, flags;
};

/* prefix + the index in at least LG_KEY_DIGITS decimal digits (zero padded);
 * written by hand: snprintf was the largest cost of the generator's hot path. */
static int lg_key(uint32_t idx, char *buf)
{
    char digits[LG_U32_DIGITS];
    int nd = 0;
    do {
        digits[nd++] = (char)('0' + idx % 10);
        idx /= 10;
    } while (idx > 0);
    while (nd < LG_KEY_DIGITS)
        digits[nd++] = '0';
    memcpy(buf, g_cfg.prefix, g_prefix_len);
    for (int i = 0; i < nd; i++)
        buf[g_prefix_len + (size_t)i] = digits[nd - 1 - i];
    buf[g_prefix_len + (size_t)nd] = '\0';
    return (int)g_prefix_len + nd;
}

static struct lg_value lg_value_of(uint32_t idx)
{
    uint32_t h = lg_hash32(idx * 2654435761u + 0x5bd1e995u);
    uint32_t span = g_cfg.vmax - g_cfg.vmin + 1;
    struct lg_value v = {
        .len = g_cfg.vmin + h % span,
        .off = (h >> 8) % LG_PATTERN_OFFSETS,
        .flags = g_cfg.zero_flags ? 0 : lg_hash32(h) & 0xffffu,
    };
    return v;
}

static bool lg_value_ok(uint32_t idx, long flags, const char *data, size_t len)
{
    if (g_cfg.canned)
        return true;   /* the ceiling answers every key with the same bytes */
    struct lg_value v = lg_value_of(idx);
    if (len != v.len || (flags >= 0 && (uint32_t)flags != v.flags))
        return false;
    return memcmp(data, g_pattern + v.off, len) == 0;
}

static void lg_pattern_init(void)
{
    size_t n = (size_t)g_cfg.vmax + LG_PATTERN_OFFSETS;
    uint64_t s = 0x9e3779b97f4a7c15ull;
    g_pattern = lg_xmalloc(n);
    for (size_t i = 0; i < n; i++)
        g_pattern[i] = (char)('!' + lg_rand(&s) % ('~' - '!' + 1));
}

/* ---------- histogram ---------- */

static unsigned lg_hist_index(uint64_t v)
{
    if (v < LG_HIST_SUB)
        return (unsigned)v;
    unsigned msb = 63u - (unsigned)__builtin_clzll(v);
    unsigned shift = msb - (LG_HIST_SUB_BITS - 1);
    if (shift > LG_HIST_MAX_SHIFT)
        return LG_HIST_BUCKETS - 1;
    unsigned mant = (unsigned)(v >> shift);
    return LG_HIST_SUB + (shift - 1) * LG_HIST_HALF + (mant - LG_HIST_HALF);
}

static uint64_t lg_hist_upper(unsigned idx)
{
    if (idx < LG_HIST_SUB)
        return idx;
    unsigned shift = (idx - LG_HIST_SUB) / LG_HIST_HALF + 1;
    uint64_t mant = (idx - LG_HIST_SUB) % LG_HIST_HALF + LG_HIST_HALF;
    return ((mant + 1) << shift) - 1;
}

static uint64_t lg_hist_pct(const uint64_t *h, uint64_t total, double pct, uint64_t max)
{
    if (total == 0)
        return 0;
    uint64_t want = (uint64_t)((double)total * pct / 100.0 + 0.999999);
    uint64_t seen = 0;
    if (want == 0)
        want = 1;
    for (unsigned i = 0; i < LG_HIST_BUCKETS; i++) {
        seen += h[i];
        if (seen >= want) {
            uint64_t up = lg_hist_upper(i);
            return up < max ? up : max;
        }
    }
    return max;
}

/* ---------- request encoding ---------- */

static void lg_wreserve(struct lg_conn *c, size_t more)
{
    if (c->wlen + more <= c->wcap)
        return;
    if (c->woff > 0) {
        memmove(c->wbuf, c->wbuf + c->woff, c->wlen - c->woff);
        c->wlen -= c->woff;
        c->woff = 0;
    }
    while (c->wlen + more > c->wcap)
        c->wcap *= 2;
    c->wbuf = realloc(c->wbuf, c->wcap);
    if (!c->wbuf)
        lg_die("out of memory");
}

static void lg_put(struct lg_conn *c, const void *p, size_t n)
{
    lg_wreserve(c, n);
    memcpy(c->wbuf + c->wlen, p, n);
    c->wlen += n;
}

static void lg_put_be16(char *p, uint16_t v)
{
    p[0] = (char)(v >> 8);
    p[1] = (char)v;
}

static void lg_put_be32(char *p, uint32_t v)
{
    p[0] = (char)(v >> 24);
    p[1] = (char)(v >> 16);
    p[2] = (char)(v >> 8);
    p[3] = (char)v;
}

static uint16_t lg_be16(const char *p)
{
    return (uint16_t)(((uint8_t)p[0] << 8) | (uint8_t)p[1]);
}

static uint32_t lg_be32(const char *p)
{
    return ((uint32_t)(uint8_t)p[0] << 24) | ((uint32_t)(uint8_t)p[1] << 16) |
           ((uint32_t)(uint8_t)p[2] << 8) | (uint32_t)(uint8_t)p[3];
}

static void lg_enc_text_set(struct lg_conn *c, uint32_t idx)
{
    char key[LG_KEY_MAX + 1], hdr[LG_KEY_MAX + 64];
    struct lg_value v = lg_value_of(idx);
    lg_key(idx, key);
    int n = snprintf(hdr, sizeof hdr, "set %s %" PRIu32 " 0 %" PRIu32 "\r\n", key, v.flags, v.len);
    lg_put(c, hdr, (size_t)n);
    lg_put(c, g_pattern + v.off, v.len);
    lg_put(c, "\r\n", 2);
}

static void lg_enc_text_get(struct lg_conn *c, const char *cmd, const uint32_t *keys, unsigned n,
                            const char *suffix)
{
    char key[LG_KEY_MAX + 1];
    lg_put(c, cmd, strlen(cmd));
    for (unsigned i = 0; i < n; i++) {
        int kl = lg_key(keys[i], key);
        lg_put(c, " ", 1);
        lg_put(c, key, (size_t)kl);
    }
    lg_put(c, suffix, strlen(suffix));
}

static void lg_enc_bin(struct lg_conn *c, uint8_t opcode, uint32_t idx)
{
    char hdr[LG_BIN_HDR + LG_BIN_SET_EXTRAS], key[LG_KEY_MAX + 1];
    int kl = lg_key(idx, key);
    struct lg_value v = lg_value_of(idx);
    uint8_t extlen = opcode == LG_BIN_OP_SET ? LG_BIN_SET_EXTRAS : 0;
    uint32_t vlen = opcode == LG_BIN_OP_SET ? v.len : 0;
    memset(hdr, 0, sizeof hdr);
    hdr[0] = (char)LG_BIN_REQ_MAGIC;
    hdr[1] = (char)opcode;
    lg_put_be16(hdr + 2, (uint16_t)kl);
    hdr[4] = (char)extlen;
    lg_put_be32(hdr + 8, extlen + (uint32_t)kl + vlen);
    lg_put_be32(hdr + 12, idx); /* opaque: echoed back, checked */
    if (extlen)
        lg_put_be32(hdr + LG_BIN_HDR, v.flags); /* flags; exptime stays 0 */
    lg_put(c, hdr, LG_BIN_HDR + extlen);
    lg_put(c, key, (size_t)kl);
    if (vlen)
        lg_put(c, g_pattern + v.off, vlen);
}

static void lg_encode(struct lg_conn *c, const struct lg_req *rq)
{
    switch (rq->op) {
    case OP_GET:
    case OP_MGET:
        lg_enc_text_get(c, "get", rq->keys, rq->nkeys, "\r\n");
        break;
    case OP_MG:
        lg_enc_text_get(c, "mg", rq->keys, 1, " v\r\n");
        break;
    case OP_SET:
        lg_enc_text_set(c, rq->keys[0]);
        break;
    case OP_BGET:
        lg_enc_bin(c, LG_BIN_OP_GET, rq->keys[0]);
        break;
    case OP_BSET:
        lg_enc_bin(c, LG_BIN_OP_SET, rq->keys[0]);
        break;
    default:
        break;
    }
}

/* ---------- reply parsing ---------- */

/* A parser returns the bytes consumed (> 0), LG_NEED_MORE, or LG_FRAMING. */
#define LG_NEED_MORE 0
#define LG_FRAMING (-1)

struct lg_result {
    unsigned ok, misses, bad;
};

static size_t lg_line(const char *p, size_t n)
{
    const char *nl = memchr(p, '\n', n);
    return nl ? (size_t)(nl - p) + 1 : 0;
}

static bool lg_line_is(const char *line, size_t ll, const char *lit)
{
    size_t n = strlen(lit);
    return ll == n && memcmp(line, lit, n) == 0;
}

static void lg_errline(const char *what, const char *line, size_t ll)
{
    int shown = (int)(ll > 80 ? 80 : ll);
    while (shown > 0 && (line[shown - 1] == '\n' || line[shown - 1] == '\r'))
        shown--;
    lg_errmsg("%s: \"%.*s\"", what, shown, line);
}

/* "VALUE <key> <flags> <bytes>[ <cas>]\r\n": fills key span, flags, length. */
static bool lg_parse_value_line(const char *line, size_t ll, const char **k, size_t *kl,
                                unsigned long *flags, unsigned long *len)
{
    if (ll < 6 || memcmp(line, "VALUE ", 6) != 0)
        return false;
    const char *ks = line + 6;
    const char *ke = memchr(ks, ' ', ll - 6);
    if (!ke)
        return false;
    char *e;
    *flags = strtoul(ke + 1, &e, 10);
    if (*e != ' ')
        return false;
    *len = strtoul(e + 1, &e, 10);
    if (*e != '\r' && *e != ' ')
        return false;
    *k = ks;
    *kl = (size_t)(ke - ks);
    return true;
}

static long lg_parse_get(const struct lg_req *rq, const char *p, size_t n, struct lg_result *r)
{
    size_t off = 0;
    unsigned next = 0;
    char key[LG_KEY_MAX + 1];
    for (;;) {
        size_t ll = lg_line(p + off, n - off);
        if (!ll)
            return LG_NEED_MORE;
        const char *line = p + off;
        if (lg_line_is(line, ll, "END\r\n")) {
            r->misses += rq->nkeys - next;
            return (long)(off + ll);
        }
        const char *k;
        size_t kl;
        unsigned long flags, len;
        if (!lg_parse_value_line(line, ll, &k, &kl, &flags, &len)) {
            lg_errline("unexpected reply to get", line, ll);
            return LG_FRAMING;
        }
        if (n - off - ll < len + 2)
            return LG_NEED_MORE;
        for (; next < rq->nkeys; next++, r->misses++) {
            int el = lg_key(rq->keys[next], key);
            if ((size_t)el == kl && memcmp(key, k, kl) == 0)
                break;
        }
        const char *data = line + ll;
        if (next == rq->nkeys || data[len] != '\r' || data[len + 1] != '\n') {
            lg_errline("value not requested or badly framed", line, ll);
            return LG_FRAMING;
        }
        if (lg_value_ok(rq->keys[next], (long)flags, data, len)) {
            r->ok++;
        } else {
            r->bad++;
            lg_errline("wrong value for", line, ll);
        }
        next++;
        off += ll + len + 2;
    }
}

static long lg_parse_mg(const struct lg_req *rq, const char *p, size_t n, struct lg_result *r)
{
    size_t ll = lg_line(p, n);
    if (!ll)
        return LG_NEED_MORE;
    if (lg_line_is(p, ll, "EN\r\n")) {
        r->misses++;
        return (long)ll;
    }
    if (ll < 4 || memcmp(p, "VA ", 3) != 0) {
        lg_errline("unexpected reply to mg", p, ll);
        return LG_FRAMING;
    }
    char *e;
    unsigned long len = strtoul(p + 3, &e, 10);
    if (*e != '\r' && *e != ' ') {
        lg_errline("bad VA line", p, ll);
        return LG_FRAMING;
    }
    if (n - ll < len + 2)
        return LG_NEED_MORE;
    const char *data = p + ll;
    if (data[len] != '\r' || data[len + 1] != '\n') {
        lg_errline("mg value badly framed", p, ll);
        return LG_FRAMING;
    }
    if (lg_value_ok(rq->keys[0], -1, data, len)) {
        r->ok++;
    } else {
        r->bad++;
        lg_errline("wrong value for mg", p, ll);
    }
    return (long)(ll + len + 2);
}

static long lg_parse_set(const char *p, size_t n, struct lg_result *r)
{
    size_t ll = lg_line(p, n);
    if (!ll)
        return LG_NEED_MORE;
    if (lg_line_is(p, ll, "STORED\r\n")) {
        r->ok++;
    } else {
        r->bad++;
        lg_errline("set not stored", p, ll);
    }
    return (long)ll;
}

static long lg_parse_bin(const struct lg_req *rq, const char *p, size_t n, struct lg_result *r)
{
    if (n < 1)
        return LG_NEED_MORE;
    if ((uint8_t)p[0] != LG_BIN_RES_MAGIC) {
        lg_errline("not a binary reply (binary protocol unsupported?)", p, n < 80 ? n : 80);
        return LG_FRAMING;
    }
    if (n < LG_BIN_HDR)
        return LG_NEED_MORE;
    uint16_t keylen = lg_be16(p + 2), status = lg_be16(p + 6);
    uint8_t extlen = (uint8_t)p[4];
    uint32_t body = lg_be32(p + 8), opaque = lg_be32(p + 12);
    if (n - LG_BIN_HDR < body)
        return LG_NEED_MORE;
    if (opaque != rq->keys[0] || (size_t)extlen + keylen > body) {
        lg_errmsg("binary reply out of order (opaque %" PRIu32 ", want %" PRIu32 ")", opaque,
                  rq->keys[0]);
        return LG_FRAMING;
    }
    if (status == LG_BIN_ST_ENOENT && rq->op == OP_BGET) {
        r->misses++;
    } else if (status != LG_BIN_ST_OK) {
        r->bad++;
        lg_errmsg("binary status 0x%04x", status);
    } else if (rq->op == OP_BSET) {
        r->ok++;
    } else {
        const char *val = p + LG_BIN_HDR + extlen + keylen;
        long flags = extlen == LG_BIN_GET_EXTRAS ? (long)lg_be32(p + LG_BIN_HDR) : -1;
        if (extlen == LG_BIN_GET_EXTRAS &&
            lg_value_ok(rq->keys[0], flags, val, body - extlen - keylen)) {
            r->ok++;
        } else {
            r->bad++;
            lg_errmsg("wrong binary value for key %" PRIu32, rq->keys[0]);
        }
    }
    return (long)(LG_BIN_HDR + body);
}

static long lg_parse(const struct lg_req *rq, const char *p, size_t n, struct lg_result *r)
{
    switch (rq->op) {
    case OP_GET:
    case OP_MGET:
        return lg_parse_get(rq, p, n, r);
    case OP_MG:
        return lg_parse_mg(rq, p, n, r);
    case OP_SET:
        return lg_parse_set(p, n, r);
    default:
        return lg_parse_bin(rq, p, n, r);
    }
}

/* ---------- connections ---------- */

static bool lg_is_loopback(const struct sockaddr_in *a)
{
    return (ntohl(a->sin_addr.s_addr) >> 24) == 127;
}

static int lg_connect(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    if (fd < 0)
        lg_die("socket: %s", strerror(errno));
    if (!lg_is_loopback(&g_cfg.addr))
        lg_die("refusing a non-loopback target");
    if (connect(fd, (const struct sockaddr *)&g_cfg.addr, sizeof g_cfg.addr) != 0)
        lg_die("connect to 127.x port %d: %s", ntohs(g_cfg.addr.sin_port), strerror(errno));
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    return fd;
}

static size_t lg_max_request(void)
{
    size_t per_key = LG_KEY_MAX + 1;
    size_t get = 16 + (size_t)g_cfg.mget_keys * per_key;
    size_t set = LG_BIN_HDR + LG_BIN_SET_EXTRAS + 64 + per_key + g_cfg.vmax;
    return get > set ? get : set;
}

static size_t lg_max_reply(void)
{
    size_t per_value = 64 + LG_KEY_MAX + g_cfg.vmax;
    return 16 + (size_t)g_cfg.mget_keys * per_value;
}

static void lg_conn_init(struct lg_conn *c)
{
    memset(c, 0, sizeof *c);
    c->fd = lg_connect();
    c->wcap = (size_t)g_cfg.depth * lg_max_request();
    c->wbuf = lg_xmalloc(c->wcap);
    c->rcap = 2 * lg_max_reply();
    if (c->rcap < LG_RBUF_MIN)
        c->rcap = LG_RBUF_MIN;
    c->rbuf = lg_xmalloc(c->rcap);
    c->ring = lg_xmalloc(sizeof *c->ring * (size_t)g_cfg.depth);
    c->keypool = lg_xmalloc(sizeof *c->keypool * (size_t)g_cfg.depth * (size_t)g_cfg.mget_keys);
    for (int i = 0; i < g_cfg.depth; i++)
        c->ring[i].keys = c->keypool + (size_t)i * (size_t)g_cfg.mget_keys;
}

static void lg_conn_fail(struct lg_thread *t, struct lg_conn *c, const char *why)
{
    if (c->dead)
        return;
    if (c->count > 0 || strcmp(why, "server closed the connection") != 0)
        lg_errmsg("connection failed: %s (%u requests outstanding)", why, c->count);
    t->st.lost += c->count;
    c->count = 0;
    c->dead = true;
    epoll_ctl(t->epfd, EPOLL_CTL_DEL, c->fd, NULL);
    close(c->fd);
    c->fd = -1;
}

static void lg_conn_watch(struct lg_thread *t, struct lg_conn *c, bool out)
{
    struct epoll_event ev = {.events = EPOLLIN | (out ? EPOLLOUT : 0), .data.ptr = c};
    if (c->want_out == out)
        return;
    c->want_out = out;
    epoll_ctl(t->epfd, EPOLL_CTL_MOD, c->fd, &ev);
}

static void lg_conn_flush(struct lg_thread *t, struct lg_conn *c)
{
    while (!c->dead && c->woff < c->wlen) {
        ssize_t n = write(c->fd, c->wbuf + c->woff, c->wlen - c->woff);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            break;
        if (n <= 0) {
            lg_conn_fail(t, c, strerror(errno));
            return;
        }
        c->woff += (size_t)n;
    }
    if (c->dead)
        return;
    if (c->woff == c->wlen)
        c->woff = c->wlen = 0;
    lg_conn_watch(t, c, c->wlen > 0);
}

/* ---------- the closed loop ---------- */

static bool lg_stopping(void)
{
    if (atomic_load(&g_phase) == PH_STOP)
        return true;
    if (g_plan.limit && atomic_load(&g_tickets) >= g_plan.limit)
        return true;
    return lg_now() >= g_deadline;
}

static bool lg_take_ticket(uint64_t *ticket)
{
    if (atomic_load(&g_phase) == PH_STOP)
        return false;
    if (!g_plan.limit)
        return true;
    *ticket = atomic_fetch_add(&g_tickets, 1);
    return *ticket < g_plan.limit;
}

static enum lg_op lg_pick_op(struct lg_thread *t)
{
    switch (g_plan.wl) {
    case WL_GET:
        return OP_GET;
    case WL_MGET:
        return OP_MGET;
    case WL_MG:
        return OP_MG;
    case WL_SET:
        return OP_SET;
    case WL_BGET:
        return OP_BGET;
    case WL_BSET:
        return OP_BSET;
    default: {
        unsigned total = g_cfg.get_ratio + g_cfg.set_ratio;
        return lg_rand(&t->rng) % total < g_cfg.get_ratio ? OP_GET : OP_SET;
    }
    }
}

/* Closed loop: tops the connection up to depth outstanding. Open loop
 * (--rate): sends every request whose scheduled time has come, as long as
 * fewer than depth are outstanding; a request held back by that cap keeps its
 * scheduled time, so its wait is part of its latency (no coordinated omission). */
static void lg_conn_fill(struct lg_thread *t, struct lg_conn *c, uint64_t now)
{
    if (c->dead || (g_cfg.batch && c->count > 0))
        return;
    while (c->count < (unsigned)g_cfg.depth) {
        uint64_t ticket = 0;
        if (c->interval && c->next_due > now)
            break;
        if (now >= g_deadline || !lg_take_ticket(&ticket))
            break;
        struct lg_req *rq = &c->ring[(c->head + c->count) % (unsigned)g_cfg.depth];
        rq->op = (uint8_t)lg_pick_op(t);
        rq->nkeys = rq->op == OP_MGET ? (uint8_t)g_cfg.mget_keys : 1;
        for (unsigned i = 0; i < rq->nkeys; i++)
            rq->keys[i] = g_plan.sequential ? (uint32_t)(ticket % g_cfg.keys)
                                            : (uint32_t)(lg_rand(&t->rng) % g_cfg.keys);
        rq->t0 = now;
        if (c->interval) {
            rq->t0 = c->next_due;
            c->next_due += c->interval;
        }
        lg_encode(c, rq);
        if (c->count == 0)
            c->last_progress = now;
        c->count++;
    }
    lg_conn_flush(t, c);
}

static void lg_record(struct lg_thread *t, const struct lg_req *rq, const struct lg_result *r,
                      uint64_t now)
{
    t->st.misses += r->misses;
    t->st.bad += r->bad;
    if (!g_plan.record_always && atomic_load(&g_phase) != PH_MEASURE)
        return;
    if (r->misses || r->bad) /* an error is reported, never counted as throughput */
        return;
    uint64_t lat = now > rq->t0 ? now - rq->t0 : 0;
    t->st.requests++;
    t->st.keys += r->ok;
    t->hist[lg_hist_index(lat)]++;
    if (lat > t->st.max_ns)
        t->st.max_ns = lat;
}

/* Parses every complete reply in the read buffer; false if the stream is broken. */
static bool lg_conn_parse(struct lg_thread *t, struct lg_conn *c, uint64_t now)
{
    size_t off = 0;
    while (c->count > 0) {
        struct lg_req *rq = &c->ring[c->head];
        struct lg_result r = {0, 0, 0};
        long used = lg_parse(rq, c->rbuf + off, c->rlen - off, &r);
        if (used == LG_NEED_MORE)
            break;
        if (used < 0) {
            t->st.framing++;
            return false;
        }
        off += (size_t)used;
        lg_record(t, rq, &r, now);
        c->head = (c->head + 1) % (unsigned)g_cfg.depth;
        c->count--;
        c->last_progress = now;
    }
    if (c->count == 0 && off < c->rlen) {
        lg_errline("reply bytes nobody asked for", c->rbuf + off, c->rlen - off);
        t->st.framing++;
        return false;
    }
    memmove(c->rbuf, c->rbuf + off, c->rlen - off);
    c->rlen -= off;
    return true;
}

static void lg_conn_read(struct lg_thread *t, struct lg_conn *c, uint64_t now)
{
    if (c->rlen == c->rcap) {
        c->rcap *= 2;
        c->rbuf = realloc(c->rbuf, c->rcap);
        if (!c->rbuf)
            lg_die("out of memory");
    }
    ssize_t n = read(c->fd, c->rbuf + c->rlen, c->rcap - c->rlen);
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
        return;
    if (n <= 0) {
        lg_conn_fail(t, c, n == 0 ? "server closed the connection" : strerror(errno));
        return;
    }
    c->rlen += (size_t)n;
    if (!lg_conn_parse(t, c, now)) {
        lg_conn_fail(t, c, "unparseable reply");
        return;
    }
    lg_conn_fill(t, c, now);
}

/* True while some connection still waits for replies. */
static bool lg_check_conns(struct lg_thread *t, uint64_t now, bool *any_alive)
{
    bool busy = false;
    uint64_t limit = (uint64_t)(g_cfg.timeout * (double)LG_NS_PER_SEC);
    *any_alive = false;
    for (int i = 0; i < t->nconns; i++) {
        struct lg_conn *c = &t->conns[i];
        if (c->dead)
            continue;
        *any_alive = true;
        if (c->count > 0 && now - c->last_progress > limit)
            lg_conn_fail(t, c, "no reply within the timeout");
        else if (c->count > 0)
            busy = true;
    }
    return busy;
}

static void lg_pin(int cpu)
{
    cpu_set_t set;
    if (cpu < 0)
        return;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    if (pthread_setaffinity_np(pthread_self(), sizeof set, &set) != 0)
        lg_die("cannot pin to CPU %d", cpu);
}

/* --rate: spreads the connections' schedules evenly over one interval. */
static void lg_schedule(struct lg_thread *t, uint64_t now)
{
    if (g_cfg.rate <= 0 || g_plan.sequential)
        return;
    uint64_t interval = (uint64_t)((double)g_cfg.conns * (double)LG_NS_PER_SEC / g_cfg.rate);
    if (interval == 0)
        interval = 1;
    for (int i = 0; i < t->nconns; i++) {
        unsigned global = (unsigned)(t->id + i * g_cfg.threads);
        t->conns[i].interval = interval;
        t->conns[i].next_due = now + interval * global / (unsigned)g_cfg.conns;
    }
}

/* How long to wait for events: until the next scheduled send in open loop. */
static int lg_wait(struct lg_thread *t, struct epoll_event *evs, uint64_t now)
{
    uint64_t wait = (uint64_t)LG_EPOLL_WAIT_MS * LG_NS_PER_MS;
    for (int i = 0; i < t->nconns; i++) {
        const struct lg_conn *c = &t->conns[i];
        if (c->interval && !c->dead && c->count < (unsigned)g_cfg.depth)
            wait = c->next_due <= now ? 0 : (c->next_due - now < wait ? c->next_due - now : wait);
    }
    struct timespec ts = {(time_t)(wait / LG_NS_PER_SEC), (long)(wait % LG_NS_PER_SEC)};
    return epoll_pwait2(t->epfd, evs, LG_EPOLL_EVENTS, &ts, NULL);
}

static void *lg_thread_main(void *arg)
{
    struct lg_thread *t = arg;
    struct epoll_event evs[LG_EPOLL_EVENTS];
    lg_pin(t->cpu);
    if (g_cfg.rate > 0) /* wake at the scheduled time, not up to 50 us later */
        prctl(PR_SET_TIMERSLACK, LG_TIMER_SLACK_NS, 0, 0, 0);
    uint64_t now = lg_now();
    lg_schedule(t, now);
    for (int i = 0; i < t->nconns; i++)
        lg_conn_fill(t, &t->conns[i], now);
    for (;;) {
        int n = lg_wait(t, evs, now);
        now = lg_now();
        for (int i = 0; i < n; i++) {
            struct lg_conn *c = evs[i].data.ptr;
            if (!c->dead && (evs[i].events & (EPOLLIN | EPOLLERR | EPOLLHUP)))
                lg_conn_read(t, c, now);
            if (!c->dead && (evs[i].events & EPOLLOUT))
                lg_conn_flush(t, c);
        }
        bool alive;
        bool busy = lg_check_conns(t, now, &alive);
        if (!alive || (!busy && lg_stopping()))
            break;
        if (!busy || g_cfg.rate > 0) /* idle conns (batch, a new phase), or sends now due */
            for (int i = 0; i < t->nconns; i++)
                lg_conn_fill(t, &t->conns[i], now);
    }
    return NULL;
}

/* ---------- phases ---------- */

static void lg_threads_setup(struct lg_thread *ts)
{
    for (int i = 0; i < g_cfg.threads; i++) {
        struct lg_thread *t = &ts[i];
        memset(t, 0, sizeof *t);
        t->id = i;
        t->cpu = g_cfg.ncpus ? g_cfg.cpus[i % g_cfg.ncpus] : -1;
        t->rng = 0x853c49e6748fea9bull ^ ((uint64_t)(i + 1) * 0x9e3779b97f4a7c15ull);
        t->nconns = g_cfg.conns / g_cfg.threads + (i < g_cfg.conns % g_cfg.threads);
        t->conns = lg_xmalloc(sizeof *t->conns * (size_t)t->nconns);
        t->epfd = epoll_create1(0);
        if (t->epfd < 0)
            lg_die("epoll_create1: %s", strerror(errno));
        for (int j = 0; j < t->nconns; j++) {
            struct lg_conn *c = &t->conns[j];
            lg_conn_init(c);
            struct epoll_event ev = {.events = EPOLLIN, .data.ptr = c};
            if (epoll_ctl(t->epfd, EPOLL_CTL_ADD, c->fd, &ev) != 0)
                lg_die("epoll_ctl: %s", strerror(errno));
            if (fcntl(c->fd, F_SETFL, fcntl(c->fd, F_GETFL) | O_NONBLOCK) != 0)
                lg_die("fcntl: %s", strerror(errno));
        }
    }
}

static void lg_threads_start(struct lg_thread *ts)
{
    for (int i = 0; i < g_cfg.threads; i++)
        if (pthread_create(&ts[i].th, NULL, lg_thread_main, &ts[i]) != 0)
            lg_die("pthread_create failed");
}

static void lg_threads_join(struct lg_thread *ts)
{
    for (int i = 0; i < g_cfg.threads; i++)
        pthread_join(ts[i].th, NULL);
}

static void lg_sleep(double secs)
{
    struct timespec ts = {(time_t)secs, (long)((secs - (double)(time_t)secs) * 1e9)};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

static void lg_stats_reset(struct lg_thread *ts)
{
    for (int i = 0; i < g_cfg.threads; i++) {
        memset(&ts[i].st, 0, sizeof ts[i].st);
        memset(ts[i].hist, 0, sizeof ts[i].hist);
    }
}

static void lg_stats_merge(struct lg_thread *ts, struct lg_stats *sum, uint64_t *hist)
{
    memset(sum, 0, sizeof *sum);
    memset(hist, 0, sizeof(uint64_t) * LG_HIST_BUCKETS);
    for (int i = 0; i < g_cfg.threads; i++) {
        const struct lg_stats *s = &ts[i].st;
        sum->requests += s->requests;
        sum->keys += s->keys;
        sum->misses += s->misses;
        sum->bad += s->bad;
        sum->framing += s->framing;
        sum->lost += s->lost;
        if (s->max_ns > sum->max_ns)
            sum->max_ns = s->max_ns;
        for (unsigned b = 0; b < LG_HIST_BUCKETS; b++)
            hist[b] += ts[i].hist[b];
    }
}

static uint64_t lg_errors(const struct lg_stats *s)
{
    return s->misses + s->bad + s->framing + s->lost;
}

/* Sets every key once; returns the number of errors. */
static uint64_t lg_preload(struct lg_thread *ts)
{
    struct lg_stats sum;
    uint64_t *hist = lg_xmalloc(sizeof(uint64_t) * LG_HIST_BUCKETS);
    /* A connection speaks the protocol of its first request, so the keys are
     * set in the protocol that the workload reads them with. */
    bool binary = g_cfg.wl == WL_BGET || g_cfg.wl == WL_BSET;
    g_plan = (struct lg_plan){.wl = binary ? WL_BSET : WL_SET, .sequential = true,
                              .record_always = true, .limit = g_cfg.keys};
    atomic_store(&g_tickets, 0);
    atomic_store(&g_phase, PH_MEASURE);
    lg_threads_start(ts);
    lg_threads_join(ts);
    lg_stats_merge(ts, &sum, hist);
    free(hist);
    lg_stats_reset(ts);
    if (sum.requests != g_cfg.keys)
        lg_errmsg("preload: %" PRIu64 " of %" PRIu32 " sets completed", sum.requests, g_cfg.keys);
    return lg_errors(&sum) + (g_cfg.keys - sum.requests);
}

/* CPU time used by both sides over the measured window (ns; -1: unknown). */
struct lg_cpu {
    int64_t server, client;
};

/* On-CPU nanoseconds of every thread of `pid`: the first field of
 * /proc/PID/task/TID/schedstat, exact where /proc/PID/stat counts ticks. */
static int64_t lg_proc_cpu_ns(int pid)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/task", pid);
    DIR *d = opendir(path);
    if (!d)
        return -1;
    int64_t sum = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        char file[sizeof path + sizeof e->d_name + sizeof "/schedstat"];
        snprintf(file, sizeof file, "%s/%s/schedstat", path, e->d_name);
        FILE *f = fopen(file, "r");
        unsigned long long ns;
        if (f && fscanf(f, "%llu", &ns) == 1)
            sum += (int64_t)ns;
        if (f)
            fclose(f);
    }
    closedir(d);
    return sum;
}

static int64_t lg_self_cpu_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (int64_t)ts.tv_sec * (int64_t)LG_NS_PER_SEC + ts.tv_nsec;
}

static struct lg_cpu lg_cpu_now(void)
{
    struct lg_cpu c = {g_cfg.server_pid ? lg_proc_cpu_ns(g_cfg.server_pid) : -1,
                       lg_self_cpu_ns()};
    return c;
}

static struct lg_cpu lg_cpu_since(struct lg_cpu a)
{
    struct lg_cpu b = lg_cpu_now();
    struct lg_cpu d = {a.server < 0 || b.server < 0 ? -1 : b.server - a.server,
                       b.client - a.client};
    return d;
}

/* Runs the measured phase; returns its length in nanoseconds. */
static uint64_t lg_measure(struct lg_thread *ts, struct lg_cpu *cpu)
{
    g_plan = (struct lg_plan){.wl = g_cfg.wl, .limit = g_cfg.requests};
    atomic_store(&g_tickets, 0);
    if (g_cfg.requests) {
        atomic_store(&g_phase, PH_MEASURE);
        struct lg_cpu c0 = lg_cpu_now();
        uint64_t t0 = lg_now();
        lg_threads_start(ts);
        lg_threads_join(ts);
        uint64_t t1 = lg_now();
        *cpu = lg_cpu_since(c0);
        return t1 - t0;
    }
    atomic_store(&g_phase, g_cfg.warmup > 0 ? PH_WARMUP : PH_MEASURE);
    lg_threads_start(ts);
    if (g_cfg.warmup > 0)
        lg_sleep(g_cfg.warmup);
    struct lg_cpu c0 = lg_cpu_now();
    uint64_t t0 = lg_now();
    atomic_store(&g_phase, PH_MEASURE);
    lg_sleep(g_cfg.duration);
    atomic_store(&g_phase, PH_STOP);
    uint64_t t1 = lg_now();
    *cpu = lg_cpu_since(c0);
    lg_threads_join(ts);
    return t1 - t0;
}

/* ---------- blocking helpers: the binary probe and the fill mode ---------- */

static int lg_connect_blocking(double timeout)
{
    int fd = lg_connect();
    struct timeval tv = {(time_t)timeout, (long)((timeout - (double)(time_t)timeout) * 1e6)};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    return fd;
}

static bool lg_write_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return false;
        p += w;
        n -= (size_t)w;
    }
    return true;
}

/* Reads at least `want` bytes into buf (cap bytes); returns bytes read. */
static size_t lg_read_some(int fd, char *buf, size_t have, size_t cap)
{
    ssize_t r;
    do
        r = read(fd, buf + have, cap - have);
    while (r < 0 && errno == EINTR);
    return r > 0 ? have + (size_t)r : have;
}

/* True if the server answers a binary NOOP with a binary reply. */
static bool lg_binary_supported(void)
{
    char req[LG_BIN_HDR] = {0}, res[LG_BIN_HDR];
    size_t have = 0, prev;
    int fd = lg_connect_blocking(LG_BIN_PROBE_MS / 1000.0);
    req[0] = (char)LG_BIN_REQ_MAGIC;
    req[1] = LG_BIN_OP_NOOP;
    bool ok = lg_write_all(fd, req, sizeof req);
    do {
        prev = have;
        have = lg_read_some(fd, res, have, sizeof res);
    } while (ok && have < sizeof res && have > prev);
    close(fd);
    return ok && have == sizeof res && (uint8_t)res[0] == LG_BIN_RES_MAGIC &&
           res[1] == LG_BIN_OP_NOOP && lg_be16(res + 6) == LG_BIN_ST_OK;
}

struct lg_fill_result {
    uint64_t sets, curr_items, evictions, errors;
    uint64_t first_sets, first_items;   /* at the first eviction */
    bool evicted;
};

/* Reads `n` one-line replies to sets; counts those that are not STORED. */
static bool lg_fill_read_stored(int fd, char *buf, size_t cap, unsigned n, uint64_t *errors)
{
    size_t have = 0, off = 0;
    while (n > 0) {
        size_t ll = lg_line(buf + off, have - off);
        if (ll) {
            if (!lg_line_is(buf + off, ll, "STORED\r\n")) {
                (*errors)++;
                lg_errline("fill: set not stored", buf + off, ll);
            }
            off += ll;
            n--;
            continue;
        }
        memmove(buf, buf + off, have - off);
        have -= off;
        off = 0;
        size_t before = have;
        have = lg_read_some(fd, buf, have, cap);
        if (have == before)
            return false;
    }
    return true;
}

static uint64_t lg_stat_value(const char *text, const char *name)
{
    char pat[64];
    snprintf(pat, sizeof pat, "STAT %s ", name);
    const char *p = strstr(text, pat);
    return p ? strtoull(p + strlen(pat), NULL, 10) : 0;
}

static bool lg_fill_stats(int fd, char *buf, size_t cap, struct lg_fill_result *r)
{
    size_t have = 0;
    if (!lg_write_all(fd, "stats\r\n", 7))
        return false;
    for (;;) {
        size_t before = have;
        have = lg_read_some(fd, buf, have, cap - 1);
        if (have == before)
            return false;
        if (have >= 5 && memcmp(buf + have - 5, "END\r\n", 5) == 0)
            break;
    }
    buf[have] = '\0';
    r->curr_items = lg_stat_value(buf, "curr_items");
    r->evictions = lg_stat_value(buf, "evictions");
    return true;
}

static bool lg_fill(struct lg_fill_result *r)
{
    struct lg_conn c;
    int fd = lg_connect_blocking(g_cfg.timeout);
    size_t cap = LG_STATS_REPLY_MAX;
    char *buf = lg_xmalloc(cap);
    bool ok = true;
    memset(r, 0, sizeof *r);
    memset(&c, 0, sizeof c);
    c.wcap = (size_t)g_cfg.fill_batch * lg_max_request();
    c.wbuf = lg_xmalloc(c.wcap);
    while (ok && r->sets < LG_FILL_KEYS_MAX && lg_now() < g_deadline) {
        c.wlen = 0;
        for (unsigned i = 0; i < g_cfg.fill_batch; i++)
            lg_enc_text_set(&c, (uint32_t)(r->sets + i));
        ok = lg_write_all(fd, c.wbuf, c.wlen) &&
             lg_fill_read_stored(fd, buf, cap, g_cfg.fill_batch, &r->errors);
        r->sets += g_cfg.fill_batch;
        ok = ok && lg_fill_stats(fd, buf, cap, r);
        if (ok && r->evictions > 0 && !r->evicted) {
            r->evicted = true;
            r->first_sets = r->sets;
            r->first_items = r->curr_items;
        }
        if (r->evicted && r->sets >= r->first_sets * g_cfg.fill_after)
            break;
    }
    if (!ok)
        lg_errmsg("fill: connection failed or timed out after %" PRIu64 " sets", r->sets);
    close(fd);
    free(buf);
    free(c.wbuf);
    return ok;
}

/* ---------- reporting ---------- */

static void lg_describe(FILE *f)
{
    fprintf(f, "workload %s, %d conns x depth %d%s, %d thread%s, %" PRIu32 " keys, value ",
            lg_workload_names[g_cfg.wl], g_cfg.conns, g_cfg.depth, g_cfg.batch ? " (batch)" : "",
            g_cfg.threads, g_cfg.threads == 1 ? "" : "s", g_cfg.keys);
    if (g_cfg.vmin == g_cfg.vmax)
        fprintf(f, "%" PRIu32 " B", g_cfg.vmin);
    else
        fprintf(f, "%" PRIu32 "..%" PRIu32 " B", g_cfg.vmin, g_cfg.vmax);
    if (g_cfg.wl == WL_MGET)
        fprintf(f, ", %d keys per get", g_cfg.mget_keys);
    if (g_cfg.wl == WL_MIX)
        fprintf(f, ", get:set %u:%u", g_cfg.get_ratio, g_cfg.set_ratio);
    fputc('\n', f);
}

/* CPU share of the window (1.0 = one CPU busy) and microseconds per request. */
static void lg_cpu_figures(int64_t cpu_ns, uint64_t ns, uint64_t requests, double *util,
                           double *us_per_req)
{
    *util = cpu_ns < 0 || ns == 0 ? -1 : (double)cpu_ns / (double)ns;
    *us_per_req = cpu_ns < 0 || requests == 0 ? -1
                                              : (double)cpu_ns / LG_NS_PER_US / (double)requests;
}

static void lg_report(const struct lg_stats *s, const uint64_t *hist, uint64_t ns,
                      uint64_t preload_errors, const struct lg_cpu *cpu)
{
    double su, sus, cu, cus;
    lg_cpu_figures(cpu->server, ns, s->requests, &su, &sus);
    lg_cpu_figures(cpu->client, ns, s->requests, &cu, &cus);
    double secs = (double)ns / (double)LG_NS_PER_SEC;
    double ops = secs > 0 ? (double)s->requests / secs : 0;
    double kps = secs > 0 ? (double)s->keys / secs : 0;
    static const double pcts[] = {50.0, 99.0, 99.9};
    double lat[3];
    for (int i = 0; i < 3; i++)
        lat[i] = (double)lg_hist_pct(hist, s->requests, pcts[i], s->max_ns) / LG_NS_PER_US;
    double max = (double)s->max_ns / LG_NS_PER_US;
    uint64_t errors = lg_errors(s) + preload_errors;
    if (g_cfg.json) {
        printf("{\"workload\":\"%s\",\"conns\":%d,\"depth\":%d,\"batch\":%s,\"threads\":%d,"
               "\"keys\":%" PRIu32 ",\"value_min\":%" PRIu32 ",\"value_max\":%" PRIu32
               ",\"mget_keys\":%d,\"seconds\":%.6f,\"requests\":%" PRIu64 ",\"values\":%" PRIu64
               ",\"ops_per_sec\":%.1f,\"keys_per_sec\":%.1f,\"lat_us\":{\"p50\":%.2f,"
               "\"p99\":%.2f,\"p999\":%.2f,\"max\":%.2f},\"errors\":%" PRIu64
               ",\"misses\":%" PRIu64 ",\"wrong\":%" PRIu64 ",\"framing\":%" PRIu64
               ",\"lost\":%" PRIu64 ",\"preload_errors\":%" PRIu64 ",\"supported\":true,"
               "\"rate\":%.1f,\"server_cpu\":%.4f,\"server_us_per_req\":%.4f,"
               "\"client_cpu\":%.4f,\"client_us_per_req\":%.4f}\n",
               lg_workload_names[g_cfg.wl], g_cfg.conns, g_cfg.depth,
               g_cfg.batch ? "true" : "false", g_cfg.threads, g_cfg.keys, g_cfg.vmin, g_cfg.vmax,
               g_cfg.wl == WL_MGET ? g_cfg.mget_keys : 1, secs, s->requests, s->keys, ops, kps,
               lat[0], lat[1], lat[2], max, errors, s->misses, s->bad, s->framing, s->lost,
               preload_errors, g_cfg.rate, su, sus, cu, cus);
        return;
    }
    printf("loadgen: ");
    lg_describe(stdout);
    printf("  measured:   %.3f s, %" PRIu64 " requests, %" PRIu64 " values\n", secs, s->requests,
           s->keys);
    printf("  throughput: %.0f ops/s (%.0f values/s)\n", ops, kps);
    printf("  latency us: p50 %.1f  p99 %.1f  p99.9 %.1f  max %.1f%s\n", lat[0], lat[1], lat[2],
           max, g_cfg.rate > 0 ? " (from the scheduled send time)" : "");
    if (su >= 0)
        printf("  server cpu: %.2f CPUs, %.3f us per request\n", su, sus);
    printf("  client cpu: %.2f CPUs, %.3f us per request\n", cu, cus);
    printf("  errors:     %" PRIu64 " (misses %" PRIu64 ", wrong %" PRIu64 ", framing %" PRIu64
           ", lost %" PRIu64 ", preload %" PRIu64 ")%s\n",
           errors, s->misses, s->bad, s->framing, s->lost, preload_errors,
           errors ? "  -- RESULT NOT VALID" : "");
}

static void lg_report_unsupported(void)
{
    if (g_cfg.json)
        printf("{\"workload\":\"%s\",\"supported\":false,\"reason\":\"no binary reply to a "
               "binary NOOP\"}\n",
               lg_workload_names[g_cfg.wl]);
    else
        printf("loadgen: workload %s: unsupported (the server gave no binary reply to a binary "
               "NOOP); no throughput measured\n",
               lg_workload_names[g_cfg.wl]);
}

static void lg_report_fill(const struct lg_fill_result *r)
{
    if (g_cfg.json) {
        printf("{\"workload\":\"fill\",\"value_min\":%" PRIu32 ",\"value_max\":%" PRIu32
               ",\"sets\":%" PRIu64 ",\"evicted\":%s,\"curr_items\":%" PRIu64
               ",\"evictions\":%" PRIu64 ",\"errors\":%" PRIu64 ",\"first_sets\":%" PRIu64
               ",\"first_items\":%" PRIu64 "}\n",
               g_cfg.vmin, g_cfg.vmax, r->sets, r->evicted ? "true" : "false", r->curr_items,
               r->evictions, r->errors, r->first_sets, r->first_items);
        return;
    }
    printf("loadgen: fill, value %" PRIu32 "..%" PRIu32 " B, batches of %u sets\n", g_cfg.vmin,
           g_cfg.vmax, g_cfg.fill_batch);
    printf("  first eviction %s after %" PRIu64 " sets: curr_items %" PRIu64 ", evictions %" PRIu64
           ", errors %" PRIu64 "\n",
           r->evicted ? "seen" : "NOT seen", r->evicted ? r->first_sets : r->sets,
           r->evicted ? r->first_items : r->curr_items, r->evictions, r->errors);
    if (g_cfg.fill_after > 1)
        printf("  after %" PRIu64 " sets: curr_items %" PRIu64 "\n", r->sets, r->curr_items);
}

/* ---------- options ---------- */

static void lg_usage(FILE *f)
{
    fputs("usage: loadgen [options]\n"
          "  -H, --host ADDR        server address, loopback only (127.0.0.1)\n"
          "  -p, --port N           server port (11211)\n"
          "  -w, --workload W       get | mget | mg | set | mix | bget | bset | fill (get)\n"
          "  -T, --threads N        generator threads (1)\n"
          "  -c, --conns N          connections in all (1)\n"
          "  -d, --depth N          requests outstanding per connection (1)\n"
          "      --batch            send depth requests at once, wait for all replies\n"
          "  -k, --keys N           key space; all are set before measuring (10000)\n"
          "  -s, --value-size N|MIN-MAX  value bytes, fixed or a range (100)\n"
          "  -K, --mget-keys N      keys per multi-get (10)\n"
          "  -r, --ratio G:S        get:set ratio for mix (9:1)\n"
          "      --warmup SECS      unmeasured warm-up (1)\n"
          "  -t, --duration SECS    measured time (5)\n"
          "  -n, --requests N       run exactly N requests instead (no warm-up)\n"
          "      --no-preload       do not set the keys first\n"
          "      --pin CPUS         pin threads to CPUs, e.g. 1 or 0,1 or 2-3\n"
          "      --timeout SECS     fail a connection that makes no progress (5)\n"
          "      --max-time SECS    bound for the whole run (600)\n"
          "      --prefix STR       key prefix (lg:)\n"
          "      --fill-batch N     fill: sets between two `stats` (1000)\n"
          "      --fill-after F     fill: go on to F x the sets of the first eviction (1)\n"
          "      --zero-flags       every value's client flags are 0 (else a hash of the key)\n"
          "      --rate OPS         open loop: send OPS requests/s in all on a fixed schedule\n"
          "                         (at most depth outstanding per connection); latency\n"
          "                         counts from the scheduled send time\n"
          "      --server-pid PID   also report that process's CPU use over the window\n"
          "      --canned           do not compare a hit's value (flags, length, bytes):\n"
          "                         for a server answering canned values (compare's ceiling)\n"
          "      --json             one JSON object on stdout\n"
          "exit: 0 ok, 1 errors seen, 2 usage or connect failure, 3 unsupported protocol\n",
          f);
}

static long lg_num(const char *s, long lo, long hi, const char *what)
{
    char *e;
    errno = 0;
    long v = strtol(s, &e, 10);
    if (errno || *e || e == s || v < lo || v > hi)
        lg_die("bad %s '%s' (want %ld..%ld)", what, s, lo, hi);
    return v;
}

static double lg_secs(const char *s, const char *what)
{
    char *e;
    double v = strtod(s, &e);
    if (*e || e == s || v < 0 || v > 86400)
        lg_die("bad %s '%s'", what, s);
    return v;
}

static void lg_parse_cpus(const char *s)
{
    char *copy = strdup(s), *save = NULL;
    for (char *tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        char *dash = strchr(tok, '-');
        long lo, hi;
        if (dash)
            *dash = '\0';
        lo = lg_num(tok, 0, CPU_SETSIZE - 1, "cpu");
        hi = dash ? lg_num(dash + 1, lo, CPU_SETSIZE - 1, "cpu") : lo;
        for (long c = lo; c <= hi && g_cfg.ncpus < LG_THREADS_MAX; c++)
            g_cfg.cpus[g_cfg.ncpus++] = (int)c;
    }
    free(copy);
}

static void lg_parse_sizes(const char *s)
{
    const char *dash = strchr(s, '-');
    if (!dash) {
        g_cfg.vmin = g_cfg.vmax = (uint32_t)lg_num(s, 1, LG_VALUE_MAX, "value size");
        return;
    }
    char lo[32];
    size_t n = (size_t)(dash - s);
    if (n >= sizeof lo)
        lg_die("bad value size range '%s'", s);
    memcpy(lo, s, n);
    lo[n] = '\0';
    g_cfg.vmin = (uint32_t)lg_num(lo, 1, LG_VALUE_MAX, "value size");
    g_cfg.vmax = (uint32_t)lg_num(dash + 1, g_cfg.vmin, LG_VALUE_MAX, "value size");
}

static enum lg_workload lg_parse_workload(const char *s)
{
    for (unsigned i = 0; i < sizeof lg_workload_names / sizeof *lg_workload_names; i++)
        if (strcmp(s, lg_workload_names[i]) == 0)
            return (enum lg_workload)i;
    lg_die("unknown workload '%s'", s);
    return WL_GET;
}

static void lg_parse_ratio(const char *s)
{
    unsigned g, st;
    char tail;
    if (sscanf(s, "%u:%u%c", &g, &st, &tail) != 2 || g + st == 0 || g > 1000 || st > 1000)
        lg_die("bad ratio '%s' (want G:S)", s);
    g_cfg.get_ratio = g;
    g_cfg.set_ratio = st;
}

enum {
    OPT_BATCH = 256, OPT_WARMUP, OPT_NO_PRELOAD, OPT_PIN, OPT_TIMEOUT, OPT_MAX_TIME,
    OPT_PREFIX, OPT_JSON, OPT_FILL_BATCH, OPT_FILL_AFTER, OPT_ZERO_FLAGS, OPT_RATE, OPT_SERVER_PID, OPT_CANNED,
};

static void lg_options(int argc, char **argv)
{
    static const struct option opts[] = {
        {"host", required_argument, NULL, 'H'},       {"port", required_argument, NULL, 'p'},
        {"workload", required_argument, NULL, 'w'},   {"threads", required_argument, NULL, 'T'},
        {"conns", required_argument, NULL, 'c'},      {"depth", required_argument, NULL, 'd'},
        {"batch", no_argument, NULL, OPT_BATCH},      {"keys", required_argument, NULL, 'k'},
        {"value-size", required_argument, NULL, 's'}, {"mget-keys", required_argument, NULL, 'K'},
        {"ratio", required_argument, NULL, 'r'},      {"warmup", required_argument, NULL, OPT_WARMUP},
        {"duration", required_argument, NULL, 't'},   {"requests", required_argument, NULL, 'n'},
        {"no-preload", no_argument, NULL, OPT_NO_PRELOAD},
        {"pin", required_argument, NULL, OPT_PIN},
        {"timeout", required_argument, NULL, OPT_TIMEOUT},
        {"max-time", required_argument, NULL, OPT_MAX_TIME},
        {"prefix", required_argument, NULL, OPT_PREFIX},
        {"fill-batch", required_argument, NULL, OPT_FILL_BATCH},
        {"fill-after", required_argument, NULL, OPT_FILL_AFTER},
        {"zero-flags", no_argument, NULL, OPT_ZERO_FLAGS},
        {"rate", required_argument, NULL, OPT_RATE},
        {"server-pid", required_argument, NULL, OPT_SERVER_PID},
        {"canned", no_argument, NULL, OPT_CANNED},
        {"json", no_argument, NULL, OPT_JSON},        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *host = "127.0.0.1";
    long port = 11211;
    g_cfg = (struct lg_config){.threads = 1, .conns = 1, .depth = 1, .mget_keys = 10,
                               .preload = true, .keys = 10000, .vmin = 100, .vmax = 100,
                               .get_ratio = 9, .set_ratio = 1, .warmup = 1, .duration = 5,
                               .timeout = 5, .max_time = 600, .prefix = "lg:",
                               .fill_batch = LG_FILL_BATCH_DEFAULT, .fill_after = 1};
    int o;
    while ((o = getopt_long(argc, argv, "H:p:w:T:c:d:k:s:K:r:t:n:h", opts, NULL)) != -1) {
        switch (o) {
        case 'H': host = optarg; break;
        case 'p': port = lg_num(optarg, 1, 65535, "port"); break;
        case 'w': g_cfg.wl = lg_parse_workload(optarg); break;
        case 'T': g_cfg.threads = (int)lg_num(optarg, 1, LG_THREADS_MAX, "threads"); break;
        case 'c': g_cfg.conns = (int)lg_num(optarg, 1, 10000, "conns"); break;
        case 'd': g_cfg.depth = (int)lg_num(optarg, 1, LG_DEPTH_MAX, "depth"); break;
        case OPT_BATCH: g_cfg.batch = true; break;
        case 'k': g_cfg.keys = (uint32_t)lg_num(optarg, 1, 100000000, "keys"); break;
        case 's': lg_parse_sizes(optarg); break;
        case 'K': g_cfg.mget_keys = (int)lg_num(optarg, 1, LG_MGET_KEYS_MAX, "mget keys"); break;
        case 'r': lg_parse_ratio(optarg); break;
        case OPT_WARMUP: g_cfg.warmup = lg_secs(optarg, "warmup"); break;
        case 't': g_cfg.duration = lg_secs(optarg, "duration"); break;
        case 'n': g_cfg.requests = (uint64_t)lg_num(optarg, 1, 1000000000L, "requests"); break;
        case OPT_NO_PRELOAD: g_cfg.preload = false; break;
        case OPT_PIN: lg_parse_cpus(optarg); break;
        case OPT_TIMEOUT: g_cfg.timeout = lg_secs(optarg, "timeout"); break;
        case OPT_MAX_TIME: g_cfg.max_time = lg_secs(optarg, "max-time"); break;
        case OPT_PREFIX: g_cfg.prefix = optarg; break;
        case OPT_FILL_BATCH:
            g_cfg.fill_batch = (unsigned)lg_num(optarg, 1, 100000, "fill batch");
            break;
        case OPT_ZERO_FLAGS: g_cfg.zero_flags = true; break;
        case OPT_FILL_AFTER:
            g_cfg.fill_after = (unsigned)lg_num(optarg, 1, LG_FILL_AFTER_MAX, "fill after");
            break;
        case OPT_JSON: g_cfg.json = true; break;
        case OPT_CANNED: g_cfg.canned = true; break;
        case OPT_RATE: g_cfg.rate = (double)lg_num(optarg, 1, LG_RATE_MAX, "rate"); break;
        case OPT_SERVER_PID:
            g_cfg.server_pid = (int)lg_num(optarg, 1, INT32_MAX, "server pid");
            break;
        case 'h': lg_usage(stdout); exit(LG_EXIT_OK);
        default: lg_usage(stderr); exit(LG_EXIT_USAGE);
        }
    }
    if (optind != argc)
        lg_die("unexpected argument '%s'", argv[optind]);
    if (strlen(g_cfg.prefix) > LG_KEY_MAX - 12)
        lg_die("key prefix too long");
    g_prefix_len = strlen(g_cfg.prefix);
    if (g_cfg.conns < g_cfg.threads)
        lg_die("need at least one connection per thread");
    if (g_cfg.timeout <= 0 || g_cfg.duration <= 0)
        lg_die("timeout and duration must be positive");
    g_cfg.addr.sin_family = AF_INET;
    g_cfg.addr.sin_port = htons((uint16_t)port);
    if (inet_pton(AF_INET, host, &g_cfg.addr.sin_addr) != 1 || !lg_is_loopback(&g_cfg.addr))
        lg_die("host must be a loopback IPv4 address (127.x.x.x), not '%s'", host);
    if (g_cfg.wl != WL_MGET)
        g_cfg.mget_keys = 1;
    if (g_cfg.rate > 0 && g_cfg.batch)
        lg_die("--rate and --batch exclude each other");
}

/* ---------- main ---------- */

static int lg_main_fill(void)
{
    struct lg_fill_result r;
    bool ok = lg_fill(&r);
    lg_report_fill(&r);
    return ok && r.evicted && r.errors == 0 ? LG_EXIT_OK : LG_EXIT_ERRORS;
}

int main(int argc, char **argv)
{
    lg_options(argc, argv);
    lg_pattern_init();
    g_deadline = lg_now() + (uint64_t)(g_cfg.max_time * (double)LG_NS_PER_SEC);
    if (g_cfg.ncpus > 0) {
        cpu_set_t set;
        CPU_ZERO(&set);
        for (int i = 0; i < g_cfg.ncpus; i++)
            CPU_SET(g_cfg.cpus[i], &set);
        if (sched_setaffinity(0, sizeof set, &set) != 0)
            lg_die("cannot pin to the CPUs given: %s", strerror(errno));
    }
    if (g_cfg.wl == WL_FILL)
        return lg_main_fill();
    if ((g_cfg.wl == WL_BGET || g_cfg.wl == WL_BSET) && !lg_binary_supported()) {
        lg_report_unsupported();
        return LG_EXIT_UNSUPPORTED;
    }
    struct lg_thread *ts = lg_xmalloc(sizeof *ts * (size_t)g_cfg.threads);
    uint64_t *hist = lg_xmalloc(sizeof(uint64_t) * LG_HIST_BUCKETS);
    struct lg_stats sum;
    lg_threads_setup(ts);
    uint64_t preload_errors = g_cfg.preload ? lg_preload(ts) : 0;
    struct lg_cpu cpu;
    uint64_t ns = lg_measure(ts, &cpu);
    lg_stats_merge(ts, &sum, hist);
    lg_report(&sum, hist, ns, preload_errors, &cpu);
    return lg_errors(&sum) + preload_errors ? LG_EXIT_ERRORS : LG_EXIT_OK;
}
