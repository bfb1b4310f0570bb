/*
 * test_hostile: hostile and malformed input must not stop the server from
 * serving everyone else.
 *
 * Design: one server runs the cases in order; before them a canary item is
 * set, and after each case a fresh connection must read the canary back
 * byte for byte and get a `version` reply (ho_after), so a crash, a wedged
 * worker or a corrupted table shows up as the case that caused it. Cases
 * that need other flags (-c 50, -m 64) start their own server and run the
 * same after-check on it. Expected bytes are memcached 1.6.18's where its
 * behaviour is a clean refusal; where memcached has quirks (it stores
 * flags 2^32 as 0) the case is left out rather than asserting a quirk.
 * Seeded random bytes get exactly one "ERROR\r\n" per line (1.6.45's
 * CLIENT_ERROR for lines under 4 bytes), a 4 MB line a close without a reply.
 * Binary frames (served by auto-negotiation on the first byte) whose key,
 * extras and body lengths disagree must get an error status, a close or
 * silence (a server cannot tell a short body from a slow one), never success.
 * The idle_timeout case (-o idle_timeout=2) holds 100 connections that sent
 * half a command line and then nothing next to one that sends `version`
 * every 500 ms: the server must close the idle ones (EOF) within a bound that
 * memcached's once-per-(timeout + 1 s) sweep meets, and never the active one.
 * The memory case drives random-size sets for STRESS_MEM_DURATION seconds
 * (default 10) and bounds VmRSS by -m plus a fixed overhead it reports.
 * Floods (issue 11): a client that writes `delete nokey noreply` for 4 s and
 * never reads must not grow the server's RSS past 100 MB, and during such a
 * flood plus a pipelined get flood other clients' `version` must be answered
 * within 100 ms at -t 1 and -t 4 (bound scaled for sanitizers and valgrind).
 * The hash flood (issue 11) sets and gets 3,000 keys crafted to share one
 * bucket of the old fixed hash: their rates stay within 20% of ordinary keys'
 * (timed outside valgrind only; correctness is checked everywhere).
 * Partly sent values (issue 11): 300 clients each send 999,000 bytes of a
 * 1,000,000-byte set at -m 64 and stop: the server's RSS stays under
 * -m + 36 MB and another client is served.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "t/client/harness.h"
#include "t/flood_keys.h"
#include "t/stress/sconn.h"

#define HO_MB (1024L * 1024L)
#define HO_CANARY "canary"
#define HO_CANARY_VAL "still-here-0123456789"
#define HO_REPLY_MAX (4 * 1024 * 1024)
#define HO_SHORT_MS 300
#define HO_WAIT_MS 5000
#define HO_LONG_LINE (4 * HO_MB)
#define HO_TEXT_LINE_MAX 2048      /* memcached: longest partial line kept */
#define HO_SHORT_LINE 4            /* 1.6.45: shorter lines ('\n' included) are format errors */
#define HO_KEY_MAX 250
#define HO_GET_KEYS 20000
#define HO_GET_EVERY 100           /* one key in this many exists */
#define HO_RANDOM_CONNS 20
#define HO_RANDOM_BYTES (64 * 1024)
#define HO_RANDOM_SEED 0x5eed1234ULL
#define HO_MAXCONNS "50"
#define HO_OPEN_CONNS 80
#define HO_MIN_SERVED 20           /* of HO_OPEN_CONNS under -c 50: memcached
                                      reserves fds and serves 25 */
#define HO_HALF_CONNS 300
#define HO_SLOW_CONNS 200
#define HO_SLOW_SECONDS 3
#define HO_SLOW_LATENCY_MS 500     /* canary reads during slowloris */
#define HO_PIPELINE_SETS 10000
#define HO_PIPELINE_BATCH 100
#define HO_MC_ITEM_OVERHEAD 59     /* memcached: 48 hdr + 8 cas + key NUL + CRLF */
#define HO_SC_ITEM_OVERHEAD 42     /* slabcache: 30 hdr + 8 cas + 4 flags (store.h) */
#define HO_MEM_LIMIT_MB 64
#define HO_MEM_MARGIN_MB 40
#define HO_MEM_WRITERS 2
#define HO_MEM_SECONDS 10
#define HO_MEM_KEYS 100000
#define HO_MEM_VALUE_MAX (1000 * 1000)
#define HO_MEM_SAMPLE_MS 100
#define HO_KB 1024L
#define HO_IDLE_TIMEOUT_S 2
#define HO_IDLE_FLAG "idle_timeout=2"  /* -o value: HO_IDLE_TIMEOUT_S */
#define HO_IDLE_CONNS 100
#define HO_IDLE_PING_MS 500          /* the active client's `version` period */
#define HO_IDLE_STEP_MS 50           /* how often the idle sockets are polled */
#define HO_IDLE_MIN_RUN_MS 4500      /* the active client lives at least this */
#define HO_IDLE_CLOSE_MS 8000        /* bound for the idle ones to be closed:
                                        memcached's sweep sleeps idle + 1 s */
#define HO_IDLE_EARLIEST_MS 1000     /* none closed before (1 s clock ticks) */

static struct sc_tally ho_t;
static char ho_buf[HO_REPLY_MAX];

/* ---- helpers ---- */

/* Sends req on a fresh connection and reads for up to ms (or to EOF). */
static size_t ho_exchange(int port, const char *req, size_t len, char *out, size_t cap,
                          const char *term, int ms, bool *closed)
{
    int fd = h_connect(port);
    if (fd < 0) {
        out[0] = '\0';
        return 0;
    }
    h_send(fd, req, len);
    size_t n = h_read_until(fd, out, cap, term, ms, closed);
    close(fd);
    return n;
}

/* Exact reply of a request on a fresh connection. */
static bool ho_expect(int port, const char *req, const char *exp, const char *what)
{
    size_t n = ho_exchange(port, req, strlen(req), ho_buf, sizeof(ho_buf), exp + strlen(exp) -
                           (strlen(exp) >= 5 ? 5 : strlen(exp)), HO_WAIT_MS, NULL);
    bool ok = n == strlen(exp) && memcmp(ho_buf, exp, n) == 0;
    char sreq[256];
    snprintf(sreq, sizeof(sreq), "%s", h_escape(req, strlen(req) < 120 ? strlen(req) : 120));
    if (!ok) {
        char sexp[512];
        snprintf(sexp, sizeof(sexp), "%s", h_escape(exp, strlen(exp)));
        sc_check(&ho_t, false, "%s: sent \"%s\": expected \"%s\", got \"%s\"", what, sreq,
                 sexp, h_escape(ho_buf, n));
    } else {
        sc_check(&ho_t, true, "%s", what);
    }
    return ok;
}

static bool ho_set(int port, const char *key, const char *val)
{
    char req[512];
    snprintf(req, sizeof(req), "set %s 0 0 %zu\r\n%s\r\n", key, strlen(val), val);
    size_t n = ho_exchange(port, req, strlen(req), ho_buf, sizeof(ho_buf), "\r\n",
                           HO_WAIT_MS, NULL);
    return n == strlen("STORED\r\n") && strcmp(ho_buf, "STORED\r\n") == 0;
}

/* The server still serves others: canary over a fresh connection, version. */
static void ho_after(int port, pid_t pid, const char *name)
{
    char exp[128], what[160];
    snprintf(exp, sizeof(exp), "VALUE %s 0 %zu\r\n%s\r\nEND\r\n", HO_CANARY,
             strlen(HO_CANARY_VAL), HO_CANARY_VAL);
    snprintf(what, sizeof(what), "after %s: canary readable on a fresh connection", name);
    ho_expect(port, "get " HO_CANARY "\r\n", exp, what);
    int fd = h_connect(port);
    sc_check(&ho_t, fd >= 0 && h_usable(fd), "after %s: `version` answers", name);
    if (fd >= 0)
        close(fd);
    sc_check(&ho_t, kill(pid, 0) == 0, "after %s: server process alive", name);
}

/* First reply line on a connection that sent req; "" if none. */
static const char *ho_first_line(int port, const char *req, size_t len)
{
    ho_exchange(port, req, len, ho_buf, sizeof(ho_buf), "\r\n", HO_WAIT_MS, NULL);
    ho_buf[strcspn(ho_buf, "\r\n")] = '\0';
    return ho_buf;
}

static bool ho_starts(const char *s, const char *prefix)
{
    return strncmp(s, prefix, strlen(prefix)) == 0;
}

/* ---- cases on the main server ---- */

/*
 * A line of HO_LONG_LINE bytes with no newline that is not a get: the server
 * closes the connection once the line passes HO_TEXT_LINE_MAX, without a
 * reply byte (memcached 1.6.18 and 1.6.45 alike). It closes while the client
 * is still sending, so the send may fail and the close may come as a reset.
 */
static void ho_long_line(int port)
{
    char *line = malloc(HO_LONG_LINE);
    if (line == NULL)
        return;
    memset(line, 'a', HO_LONG_LINE);
    int fd = h_connect(port);
    bool sent = h_send(fd, line, HO_LONG_LINE);
    bool closed = false;
    size_t n = h_read_until(fd, ho_buf, sizeof(ho_buf), NULL, HO_WAIT_MS, &closed);
    sc_check(&ho_t, n == 0 && closed, "4 MB line without newline (all sent: %s): the server "
             "closes without a reply (got %zu bytes \"%.60s\", closed %d)",
             sent ? "yes" : "no", n, h_escape(ho_buf, n), closed);
    close(fd);
    free(line);
}

static void ho_long_keys(int port)
{
    char k250[HO_KEY_MAX + 1], k251[HO_KEY_MAX + 2], req[700], exp[700];
    memset(k250, 'k', HO_KEY_MAX);
    k250[HO_KEY_MAX] = '\0';
    memset(k251, 'k', HO_KEY_MAX + 1);
    k251[HO_KEY_MAX + 1] = '\0';
    snprintf(req, sizeof(req), "set %s 0 0 1\r\nx\r\n", k251);
    const char *l = ho_first_line(port, req, strlen(req));
    sc_check(&ho_t, strcmp(l, "CLIENT_ERROR bad command line format") == 0,
             "set with a 251-byte key: got \"%s\", expected "
             "\"CLIENT_ERROR bad command line format\"", l);
    snprintf(req, sizeof(req), "get %s\r\n", k251);
    ho_expect(port, req, "CLIENT_ERROR bad command line format\r\n", "get of a 251-byte key");
    snprintf(req, sizeof(req), "get %s\r\n", k250);
    ho_expect(port, req, "END\r\n", "251-byte key not stored under its 250-byte prefix");
    snprintf(req, sizeof(req), "set %s 0 0 1\r\ny\r\nget %s\r\n", k250, k250);
    snprintf(exp, sizeof(exp), "STORED\r\nVALUE %s 0 1\r\ny\r\nEND\r\n", k250);
    ho_expect(port, req, exp, "250-byte key stored and read");
}

/* A refused number: the first reply line, and the key stays as it was. */
struct ho_number_case {
    const char *req;
    const char *first;       /* exact first reply line */
    const char *check_key;
    const char *check_exp;   /* exact reply of `get check_key` afterwards */
};

static void ho_numbers(int port)
{
    static const struct ho_number_case cases[] = {
        { "set nl 0 0 -1\r\nx\r\n", "CLIENT_ERROR bad command line format", "nl", "END\r\n" },
        { "set nl 0 0 99999999999999999999\r\nx\r\n", "CLIENT_ERROR bad command line format",
          "nl", "END\r\n" },
        { "set nl 0 0 2147483648\r\nx\r\n", "CLIENT_ERROR bad command line format", "nl",
          "END\r\n" },
        { "set nl 0 0 12abc\r\nx\r\n", "CLIENT_ERROR bad command line format", "nl",
          "END\r\n" },
        { "set nf -1 0 1\r\nx\r\n", "CLIENT_ERROR bad command line format", "nf", "END\r\n" },
        { "set nf abc 0 1\r\nx\r\n", "CLIENT_ERROR bad command line format", "nf", "END\r\n" },
        { "set nf 99999999999999999999 0 1\r\nx\r\n", "CLIENT_ERROR bad command line format",
          "nf", "END\r\n" },
        { "set ne 0 -1 1\r\nx\r\n", "STORED", "ne", "END\r\n" },   /* expired at once */
        { "set ne 0 abc 1\r\nx\r\n", "CLIENT_ERROR bad command line format", "ne", "END\r\n" },
        { "set ne 0 99999999999999999999 1\r\nx\r\n", "CLIENT_ERROR bad command line format",
          "ne", "END\r\n" },
        { "incr num -1\r\n", "CLIENT_ERROR invalid numeric delta argument", "num",
          "VALUE num 0 1\r\n5\r\nEND\r\n" },
        { "incr num 18446744073709551616\r\n", "CLIENT_ERROR invalid numeric delta argument",
          "num", "VALUE num 0 1\r\n5\r\nEND\r\n" },
        { "decr num abc\r\n", "CLIENT_ERROR invalid numeric delta argument", "num",
          "VALUE num 0 1\r\n5\r\nEND\r\n" },
        { "decr num 99999999999999999999999\r\n", "CLIENT_ERROR invalid numeric delta argument",
          "num", "VALUE num 0 1\r\n5\r\nEND\r\n" },
        { "touch num abc\r\n", "CLIENT_ERROR invalid exptime argument", "num",
          "VALUE num 0 1\r\n5\r\nEND\r\n" },
    };
    sc_check(&ho_t, ho_set(port, "num", "5"), "set num 5");
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const struct ho_number_case *c = &cases[i];
        char req[200], what[200];
        snprintf(req, sizeof(req), "%s", ho_first_line(port, c->req, strlen(c->req)));
        sc_check(&ho_t, strcmp(req, c->first) == 0, "sent \"%s\": first line \"%s\", "
                 "expected \"%s\"", h_escape(c->req, strlen(c->req)), req, c->first);
        snprintf(req, sizeof(req), "get %s\r\n", c->check_key);
        snprintf(what, sizeof(what), "after \"%s\": get %s as expected",
                 h_escape(c->req, strlen(c->req)), c->check_key);
        ho_expect(port, req, c->check_exp, what);
    }
    /* incr past 2^64-1 wraps (memcached); the huge delta itself is valid. */
    ho_expect(port, "incr num 18446744073709551615\r\n", "4\r\n", "incr by 2^64-1 wraps to 4");
}

static void ho_data_blocks(int port)
{
    const char *l = ho_first_line(port, "set dl 0 0 5\r\nabcdefgh\r\n",
                                  strlen("set dl 0 0 5\r\nabcdefgh\r\n"));
    sc_check(&ho_t, strcmp(l, "CLIENT_ERROR bad data chunk") == 0,
             "data block longer than announced: first line \"%s\", expected "
             "\"CLIENT_ERROR bad data chunk\"", l);
    ho_expect(port, "get dl\r\n", "END\r\n", "the too-long block was not stored");
    /* Shorter: the next command's bytes become the rest of the value. */
    ho_expect(port, "set ds 0 0 10\r\nabc\r\nget x\r\n", "STORED\r\n",
              "data block shorter than announced takes the next bytes as data");
    ho_expect(port, "get ds\r\n", "VALUE ds 0 10\r\nabc\r\nget x\r\nEND\r\n",
              "the short block's item holds exactly the 10 bytes that followed");
    int fd = h_connect(port);
    h_send_str(fd, "set dc 0 0 10\r\nabc");
    close(fd);
    sc_sleep_ms(HO_SHORT_MS);
    ho_expect(port, "get dc\r\n", "END\r\n", "a short block cut by close is not stored");
}

static void ho_big_get(int port)
{
    size_t cap = (size_t)HO_GET_KEYS * 16 + 16, rl = 0, el = 0;
    char *req = malloc(cap), *exp = malloc(cap);
    int fd = h_connect(port);
    bool stored = true;
    for (int i = 0; i < HO_GET_KEYS; i += HO_GET_EVERY) {
        char k[16], v[32];
        snprintf(k, sizeof(k), "g%d", i);
        snprintf(v, sizeof(v), "gv%d", i * 7);
        stored = stored && ho_set(port, k, v);
        el += (size_t)snprintf(exp + el, cap - el, "VALUE %s 0 %zu\r\n%s\r\n", k, strlen(v), v);
    }
    el += (size_t)snprintf(exp + el, cap - el, "END\r\n");
    rl += (size_t)snprintf(req + rl, cap - rl, "get");
    for (int i = 0; i < HO_GET_KEYS; i++)
        rl += (size_t)snprintf(req + rl, cap - rl, " g%d", i);
    rl += (size_t)snprintf(req + rl, cap - rl, "\r\n");
    sc_check(&ho_t, stored, "%d keys for the big get stored", HO_GET_KEYS / HO_GET_EVERY);
    size_t n = h_roundtrip(fd, req, rl, ho_buf, sizeof(ho_buf), el, HO_WAIT_MS * 2);
    bool ok = n == el && memcmp(ho_buf, exp, el) == 0;
    size_t d = 0;
    while (d < n && d < el && ho_buf[d] == exp[d])
        d++;
    sc_check(&ho_t, ok, "get of %d keys (%zu-byte line): %zu of %zu reply bytes, first "
             "difference at %zu (got \"%.60s\")", HO_GET_KEYS, rl, n, el, d,
             h_escape(ho_buf + d, n > d ? (n - d < 60 ? n - d : 60) : 0));
    sc_check(&ho_t, h_usable(fd), "the big-get connection answers `version` after");
    close(fd);
    free(req);
    free(exp);
}

/* Fills junk with HO_RANDOM_BYTES bytes from the generator state st. */
static void ho_random_fill(char *junk, uint64_t *st)
{
    for (size_t i = 0; i < HO_RANDOM_BYTES; i += sizeof(uint64_t)) {
        uint64_t r = sc_rand(st);
        memcpy(junk + i, &r, sizeof(r));
    }
}

/*
 * The lines of junk: how many end in '\n', and how many come before the
 * first (or the unended rest) with more than HO_TEXT_LINE_MAX bytes before
 * its '\n'; -1 if none.
 */
static long ho_random_lines(const char *junk, long *long_at)
{
    long lines = 0;
    size_t start = 0;
    *long_at = -1;
    for (size_t i = 0; i < HO_RANDOM_BYTES; i++) {
        if (junk[i] != '\n' && i + 1 < HO_RANDOM_BYTES)
            continue;
        size_t len = i - start + (junk[i] != '\n');
        if (*long_at < 0 && len > HO_TEXT_LINE_MAX)
            *long_at = lines;
        lines += junk[i] == '\n';
        start = i + 1;
    }
    return lines;
}

/*
 * The replies the complete lines of junk get, as memcached 1.6.45: a line
 * under HO_SHORT_LINE bytes with its '\n' is a format error, any other an
 * unknown command. Returns the length written to exp.
 */
static size_t ho_random_expect(const char *junk, char *exp, size_t cap)
{
    static const char err[] = "ERROR\r\n";
    static const char bad[] = "CLIENT_ERROR bad command line format\r\n";
    size_t el = 0, start = 0;
    for (size_t i = 0; i < HO_RANDOM_BYTES; i++) {
        if (junk[i] != '\n')
            continue;
        const char *r = i + 1 - start < HO_SHORT_LINE ? bad : err;
        size_t rl = strlen(r);
        if (el + rl <= cap) {
            memcpy(exp + el, r, rl);
            el += rl;
        }
        start = i + 1;
    }
    return el;
}

/*
 * Random bytes (seeded, so the same every run; no connection starts with
 * the binary magic) are text lines no server knows: each line ended by '\n'
 * gets "ERROR\r\n" (or, under HO_SHORT_LINE bytes, memcached 1.6.45's format
 * error) and the rest waits for its newline. A line longer than
 * HO_TEXT_LINE_MAX closes the connection if the server holds that much of
 * it before its newline has arrived, which depends on how its reads fall:
 * there, the reply is those replies, all of them or fewer and a close.
 */
static void ho_random(int port)
{
    static char exp[HO_REPLY_MAX];
    uint64_t st = HO_RANDOM_SEED;
    char *junk = malloc(HO_RANDOM_BYTES);
    for (int c = 0; c < HO_RANDOM_CONNS && junk; c++) {
        ho_random_fill(junk, &st);
        long long_at, lines = ho_random_lines(junk, &long_at);
        size_t el = ho_random_expect(junk, exp, sizeof(exp));
        int fd = h_connect(port);
        bool sent = h_send(fd, junk, HO_RANDOM_BYTES);
        size_t n = h_read_n(fd, ho_buf, el, HO_WAIT_MS);
        n += h_read_extra(fd, ho_buf + n, sizeof(ho_buf) - 1 - n, H_EXTRA_WAIT_MS);
        size_t same = 0;
        while (same < n && same < el && ho_buf[same] == exp[same])
            same++;
        bool all = n == el && same == el;
        /* Only a line past HO_TEXT_LINE_MAX may cut the reply short, with a close:
         * what came is then whole replies (each ends in '\n'). */
        bool closed = !all && long_at >= 0 && same == n && (n == 0 || exp[n - 1] == '\n') &&
                      h_wait_closed(fd, HO_WAIT_MS);
        sc_check(&ho_t, (all && (sent || long_at >= 0)) || closed, "random bytes (seed "
                 "%#llx), connection %d: %ld lines (line %ld past %d bytes, -1: none), "
                 "expected %zu reply bytes%s: got %zu, the same for %zu, then \"%.40s\" "
                 "(closed %d)", (unsigned long long)HO_RANDOM_SEED, c, lines, long_at,
                 HO_TEXT_LINE_MAX, el, long_at >= 0 ? " or fewer and a close" : "", n, same,
                 h_escape(ho_buf + same, n - same), closed);
        close(fd);
    }
    free(junk);
}

static const char *const ho_half[] = {
    "set hw%d 0 0 100\r\nabc", "get hw%d", "incr hw%d", "set hw%d 0 0", "gets hw%d hx",
    "cas hw%d 0 0 5 1\r\nab", "append hw%d 0 0 3\r\n", "delete hw%d",
};

static void ho_half_written(int port)
{
    static int fds[HO_HALF_CONNS];
    long long base = sc_stat(port, "curr_connections");
    int opened = 0;
    for (int i = 0; i < HO_HALF_CONNS; i++) {
        char req[64];
        fds[i] = h_connect(port);
        snprintf(req, sizeof(req), ho_half[i % (sizeof(ho_half) / sizeof(ho_half[0]))], i);
        opened += fds[i] >= 0 && h_send_str(fds[i], req);
    }
    sc_sleep_ms(HO_SHORT_MS);
    for (int i = 0; i < HO_HALF_CONNS; i++)
        if (fds[i] >= 0)
            close(fds[i]);
    sc_check(&ho_t, opened == HO_HALF_CONNS, "%d of %d half-written commands sent", opened,
             HO_HALF_CONNS);
    long long now = -1, deadline = sc_now_ms() + HO_WAIT_MS;
    /* <= base: connections from earlier cases may still be closing when base is read. */
    while (sc_now_ms() < deadline && (now = sc_stat(port, "curr_connections")) > base)
        sc_sleep_ms(HO_SHORT_MS / 3);
    sc_check(&ho_t, now >= 0 && now <= base, "curr_connections back to at most %lld after "
             "closing them (now %lld)", base, now);
    ho_expect(port, "get hw0 hw5\r\n", "END\r\n", "half-written sets stored nothing");
}

/* Slowloris: a byte at a time on many connections while others are served. */
static void ho_slowloris(int port)
{
    static int fds[HO_SLOW_CONNS];
    static char reqs[HO_SLOW_CONNS][48];
    size_t len = 0;
    for (int i = 0; i < HO_SLOW_CONNS; i++) {
        fds[i] = h_connect(port);
        snprintf(reqs[i], sizeof(reqs[i]), "set sl%03d 0 0 5\r\nhello\r\n", i);
        len = strlen(reqs[i]);
    }
    int canary = h_connect(port);
    long long worst = 0;
    int round_ms = HO_SLOW_SECONDS * 1000 / (int)len;
    bool canary_ok = true;
    for (size_t b = 0; b < len; b++) {
        for (int i = 0; i < HO_SLOW_CONNS; i++)
            if (fds[i] >= 0)
                h_send(fds[i], &reqs[i][b], 1);
        long long t0 = sc_now_ms();
        bool hit = h_send_str(canary, "get " HO_CANARY "\r\n") &&
                   h_read_until(canary, ho_buf, sizeof(ho_buf), "END\r\n", HO_WAIT_MS, NULL) > 0 &&
                   strstr(ho_buf, HO_CANARY_VAL) != NULL;
        canary_ok = canary_ok && hit;
        long long dt = sc_now_ms() - t0;
        worst = dt > worst ? dt : worst;
        sc_sleep_ms(round_ms);
    }
    close(canary);
    int stored = 0;
    for (int i = 0; i < HO_SLOW_CONNS; i++) {
        if (fds[i] < 0)
            continue;
        size_t n = h_read_until(fds[i], ho_buf, sizeof(ho_buf), "\r\n", HO_WAIT_MS, NULL);
        stored += n == strlen("STORED\r\n") && strcmp(ho_buf, "STORED\r\n") == 0;
        close(fds[i]);
    }
    sc_check(&ho_t, canary_ok && worst < HO_SLOW_LATENCY_MS, "canary served during slowloris "
             "on %d connections (%zu bytes each over ~%d s): worst latency %lld ms (bound %d)",
             HO_SLOW_CONNS, len, HO_SLOW_SECONDS, worst, HO_SLOW_LATENCY_MS);
    sc_check(&ho_t, stored == HO_SLOW_CONNS, "slowloris sets answered STORED: %d of %d",
             stored, HO_SLOW_CONNS);
    ho_expect(port, "get sl000 sl199\r\n",
              "VALUE sl000 0 5\r\nhello\r\nVALUE sl199 0 5\r\nhello\r\nEND\r\n",
              "slowloris values readable");
}

/* Writes all of req while reading replies, so neither side blocks the other. */
static size_t ho_pump(int fd, const char *req, size_t len, char *out, size_t want)
{
    size_t sent = 0, got = 0;
    long long deadline = sc_now_ms() + HO_WAIT_MS * 2;
    while (got < want && sc_now_ms() < deadline) {
        struct pollfd pf = { fd, (short)(POLLIN | (sent < len ? POLLOUT : 0)), 0 };
        if (poll(&pf, 1, HO_SHORT_MS) <= 0)
            continue;
        if ((pf.revents & POLLOUT) && sent < len) {
            ssize_t w = send(fd, req + sent, len - sent, MSG_NOSIGNAL | MSG_DONTWAIT);
            sent += w > 0 ? (size_t)w : 0;
        }
        if (pf.revents & (POLLIN | POLLHUP | POLLERR)) {
            ssize_t r = recv(fd, out + got, want - got, MSG_DONTWAIT);
            if (r == 0 || (r < 0 && errno != EAGAIN && errno != EINTR))
                break;
            got += r > 0 ? (size_t)r : 0;
        }
    }
    return got;
}

static int ho_pipe_value(char *out, size_t cap, int i)
{
    return snprintf(out, cap, "pv%d-%0*d", i, i % 90, i);
}

static void ho_pipeline(int port)
{
    size_t cap = (size_t)HO_PIPELINE_SETS * 160, len = 0;
    char *req = malloc(cap), v[128];
    for (int i = 0; i < HO_PIPELINE_SETS; i++) {
        int vl = ho_pipe_value(v, sizeof(v), i);
        len += (size_t)snprintf(req + len, cap - len, "set p%d 0 0 %d\r\n%s\r\n", i, vl, v);
    }
    size_t want = (size_t)HO_PIPELINE_SETS * strlen("STORED\r\n");
    int fd = h_connect(port);
    size_t got = ho_pump(fd, req, len, ho_buf, want);
    int stored = 0;
    for (size_t o = 0; o + 8 <= got; o += 8)
        stored += memcmp(ho_buf + o, "STORED\r\n", 8) == 0;
    sc_check(&ho_t, got == want && stored == HO_PIPELINE_SETS, "%d pipelined sets in one "
             "%zu-byte write: %d STORED (%zu reply bytes of %zu)", HO_PIPELINE_SETS, len,
             stored, got, want);
    int readable = 0;
    for (int b = 0; b < HO_PIPELINE_SETS; b += HO_PIPELINE_BATCH) {
        size_t rl = 0, el = 0;
        rl += (size_t)snprintf(req + rl, cap - rl, "get");
        for (int i = b; i < b + HO_PIPELINE_BATCH; i++) {
            int vl = ho_pipe_value(v, sizeof(v), i);
            rl += (size_t)snprintf(req + rl, cap - rl, " p%d", i);
            el += (size_t)snprintf(req + cap / 2 + el, cap / 2 - el, "VALUE p%d 0 %d\r\n%s\r\n",
                                   i, vl, v);
        }
        rl += (size_t)snprintf(req + rl, cap - rl, "\r\n");
        el += (size_t)snprintf(req + cap / 2 + el, cap / 2 - el, "END\r\n");
        size_t n = h_roundtrip(fd, req, rl, ho_buf, sizeof(ho_buf), el, HO_WAIT_MS);
        readable += n == el && memcmp(ho_buf, req + cap / 2, el) == 0 ? HO_PIPELINE_BATCH : 0;
    }
    sc_check(&ho_t, readable == HO_PIPELINE_SETS, "pipelined values read back exactly: %d of %d",
             readable, HO_PIPELINE_SETS);
    close(fd);
    free(req);
}

/* Values of exactly the largest size the server takes, and one byte more. */
static void ho_largest(int port)
{
    char *st = malloc(64 * HO_KB), hdr[64];
    long long isz = st && h_stats(port, "settings", st, 64 * HO_KB) ?
                    h_stat_num(st, "item_size_max") : -1;
    free(st);
    long overhead = h_is_memcached() ? HO_MC_ITEM_OVERHEAD : HO_SC_ITEM_OVERHEAD;
    long max = (long)isz - overhead - (long)strlen("big");
    sc_check(&ho_t, isz > 0, "item_size_max %lld: largest value for key \"big\" = %ld "
             "(overhead %ld)", isz, max, overhead);
    if (isz <= 0)
        return;
    size_t cap = (size_t)max + 256;
    char *req = malloc(cap);
    char *exp = malloc(cap);
    int fd = h_connect(port);
    for (long v = max; v <= max + 1; v++) {
        int hl = snprintf(hdr, sizeof(hdr), "set big 0 0 %ld\r\n", v);
        memcpy(req, hdr, (size_t)hl);
        for (long i = 0; i < v; i++)
            req[hl + i] = (char)('a' + i % 26);
        memcpy(req + hl + v, "\r\nget nokey\r\n", 13);
        const char *want = v == max ? "STORED\r\nEND\r\n" :
                           "SERVER_ERROR object too large for cache\r\nEND\r\n";
        size_t n = h_roundtrip(fd, req, (size_t)(hl + v + 13), ho_buf, sizeof(ho_buf),
                               strlen(want), HO_WAIT_MS);
        sc_check(&ho_t, n == strlen(want) && memcmp(ho_buf, want, n) == 0,
                 "set of a %ld-byte value (largest%s): expected \"%s\", got \"%s\"", v,
                 v == max ? "" : " + 1", h_escape(want, strlen(want)), h_escape(ho_buf, n));
        if (v == max) {
            int el = snprintf(exp, cap, "VALUE big 0 %ld\r\n", v);
            memcpy(exp + el, req + hl, (size_t)v);
            memcpy(exp + el + v, "\r\nEND\r\n", 7);
            n = h_roundtrip(fd, "get big\r\n", 9, ho_buf, sizeof(ho_buf), (size_t)(el + v + 7),
                            HO_WAIT_MS);
            sc_check(&ho_t, n == (size_t)(el + v + 7) && memcmp(ho_buf, exp, n) == 0,
                     "largest value read back exactly (%zu of %ld bytes)", n, el + v + 7);
        }
    }
    close(fd);
    free(req);
    free(exp);
}

/* ---- binary frames whose lengths lie ---- */

#define HO_BIN_HDR 24
#define HO_BIN_REQ 0x80
#define HO_BIN_RES 0x81
#define HO_BIN_GET 0x00
#define HO_BIN_SET 0x01
#define HO_BIN_INCR 0x05
#define HO_BIN_EINVAL 0x0004
#define HO_BIN_OPAQUE 0x1234abcdU
#define HO_BIN_WAIT_MS 1000

static void ho_be16(unsigned char *p, unsigned v) { p[0] = (unsigned char)(v >> 8); p[1] = (unsigned char)v; }
static void ho_be32(unsigned char *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (unsigned char)(v >> (24 - 8 * i));
}

/* A request header; the body (if any) follows at out + HO_BIN_HDR. */
static void ho_bin_hdr(unsigned char *out, int op, unsigned klen, unsigned elen, uint32_t blen)
{
    memset(out, 0, HO_BIN_HDR);
    out[0] = HO_BIN_REQ;
    out[1] = (unsigned char)op;
    ho_be16(out + 2, klen);
    out[4] = (unsigned char)elen;
    ho_be32(out + 8, blen);
    ho_be32(out + 12, HO_BIN_OPAQUE);
}

struct ho_bin_case {
    const char *name;
    int op;
    unsigned klen, elen;
    uint32_t blen;           /* announced */
    size_t sent;             /* body bytes actually sent */
    bool einval;             /* reply must be exactly "Invalid arguments" */
};

/* The reply to a lying frame: an error status, a close or silence; never success. */
static void ho_bin_lie(int port, const struct ho_bin_case *c)
{
    static unsigned char req[HO_BIN_HDR + 512];
    ho_bin_hdr(req, c->op, c->klen, c->elen, c->blen);
    memset(req + HO_BIN_HDR, 'k', c->sent);
    bool closed = false;
    size_t n = ho_exchange(port, (const char *)req, HO_BIN_HDR + c->sent, ho_buf,
                           sizeof(ho_buf), NULL, HO_BIN_WAIT_MS, &closed);
    const unsigned char *r = (const unsigned char *)ho_buf;
    unsigned status = n >= HO_BIN_HDR ? (unsigned)(r[6] << 8 | r[7]) : 0;
    if (c->einval) {
        static const char msg[] = "Invalid arguments";
        unsigned char exp[HO_BIN_HDR + sizeof(msg)];
        memset(exp, 0, sizeof(exp));
        exp[0] = HO_BIN_RES;
        exp[1] = (unsigned char)c->op;
        ho_be16(exp + 6, HO_BIN_EINVAL);
        ho_be32(exp + 8, (uint32_t)strlen(msg));
        ho_be32(exp + 12, HO_BIN_OPAQUE);
        memcpy(exp + HO_BIN_HDR, msg, strlen(msg));
        size_t el = HO_BIN_HDR + strlen(msg);
        char got[256];
        snprintf(got, sizeof(got), "%s", h_escape(ho_buf, n));
        sc_check(&ho_t, n == el && memcmp(ho_buf, exp, el) == 0, "binary %s: expected the "
                 "%zu-byte EINVAL reply \"%s\", got \"%s\"", c->name, el,
                 h_escape((const char *)exp, el), got);
        return;
    }
    bool refused = n == 0 || (n >= HO_BIN_HDR && r[0] == HO_BIN_RES && status != 0);
    sc_check(&ho_t, refused, "binary %s (announced body %u, sent %zu): error status, close "
             "or silence (got %zu bytes, status %#x, closed %d: \"%.80s\")", c->name,
             c->blen, c->sent, n, status, closed, h_escape(ho_buf, n));
}

static void ho_binary(int port)
{
    static const struct ho_bin_case cases[] = {
        { "set, key length past the body", HO_BIN_SET, 100, 8, 10, 10, false },
        { "set, body shorter than extras + key", HO_BIN_SET, 5, 8, 3, 3, false },
        { "set, body length 4 GB - 1", HO_BIN_SET, 2, 8, 0xffffffffU, 110, false },
        { "get, key length 65535 in a 10-byte body", HO_BIN_GET, 65535, 0, 10, 10, false },
        { "set, 100-byte body cut after 10 then closed", HO_BIN_SET, 2, 8, 100, 10, false },
        { "get, key length 0 in a 5-byte body", HO_BIN_GET, 0, 0, 5, 5, true },
        { "get with 4 bytes of extras", HO_BIN_GET, 2, 4, 6, 6, true },
        { "get of a 251-byte key", HO_BIN_GET, 251, 0, 251, 251, true },
        { "incr with 3 bytes of extras", HO_BIN_INCR, 2, 3, 5, 5, true },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        ho_bin_lie(port, &cases[i]);
    ho_expect(port, "get kk\r\n", "END\r\n", "no lying binary set stored anything");
    /* A well-formed binary set is readable over the text protocol. */
    unsigned char req[HO_BIN_HDR + 12];
    ho_bin_hdr(req, HO_BIN_SET, 2, 8, 12);
    ho_be32(req + HO_BIN_HDR, 7);
    ho_be32(req + HO_BIN_HDR + 4, 0);
    memcpy(req + HO_BIN_HDR + 8, "bkbv", 4);
    size_t n = ho_exchange(port, (const char *)req, sizeof(req), ho_buf, sizeof(ho_buf), NULL,
                           HO_BIN_WAIT_MS / 2, NULL);
    const unsigned char *r = (const unsigned char *)ho_buf;
    sc_check(&ho_t, n == HO_BIN_HDR && r[0] == HO_BIN_RES && r[6] == 0 && r[7] == 0,
             "well-formed binary set: success reply (got %zu bytes)", n);
    ho_expect(port, "get bk\r\n", "VALUE bk 7 2\r\nbv\r\nEND\r\n",
              "binary-set item read over the text protocol");
}

/* ---- cases with their own server ---- */

static bool ho_start(struct h_server *s, const char *const *flags)
{
    bool ok = h_server_start(s, flags) && ho_set(s->port, HO_CANARY, HO_CANARY_VAL);
    sc_check(&ho_t, ok, "server %s starts and takes the canary", h_server_bin());
    return ok;
}

/* 1 when the peer closed (read returned 0), -1 on a reset, 0 while open. */
static int ho_peer_closed(int fd)
{
    char tmp[256];
    ssize_t r = recv(fd, tmp, sizeof(tmp), MSG_DONTWAIT);
    if (r == 0)
        return 1;
    if (r < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
        return -1;
    return 0;   /* no data (or an unexpected reply, which the caller ignores) */
}

/*
 * curr_connections once it has settled (two equal reads in a row): a client
 * that just closed is counted until the server has seen its EOF.
 */
static long long ho_settled_conns(int port)
{
    long long prev = -2, now = -1, deadline = sc_now_ms() + HO_WAIT_MS;
    while (now != prev && sc_now_ms() < deadline) {
        prev = now;
        sc_sleep_ms(HO_SHORT_MS / 3);
        now = sc_stat(port, "curr_connections");
    }
    return now;
}

/* One `version` round trip on the active client; false if not answered. */
static bool ho_idle_ping(int fd)
{
    bool closed = false;
    if (!h_send_str(fd, "version\r\n"))
        return false;
    size_t n = h_read_until(fd, ho_buf, sizeof(ho_buf), "\r\n", HO_WAIT_MS, &closed);
    return !closed && n > strlen("VERSION \r\n") && ho_starts(ho_buf, "VERSION ");
}

/*
 * idle_timeout: connections that sent half a command line and then nothing
 * are closed by the server once idle past the timeout; a client that sends
 * a command every HO_IDLE_PING_MS is never closed. Half command lines (no
 * newline), not half data blocks: memcached sweeps only connections waiting
 * for a command.
 */
static void ho_idle_timeout(void)
{
    struct h_server s = { 0 };
    const char *const flags[] = { "-o", HO_IDLE_FLAG, NULL };
    static int fds[HO_IDLE_CONNS];
    static long long closed_at[HO_IDLE_CONNS];
    if (!ho_start(&s, flags))
        return;
    int active = h_connect(s.port);
    bool active_ok = active >= 0 && ho_idle_ping(active);
    long long base = ho_settled_conns(s.port);
    int opened = 0, closed = 0, reset = 0, pings = 0;
    for (int i = 0; i < HO_IDLE_CONNS; i++) {
        char req[32];
        snprintf(req, sizeof(req), "get idle%03d", i);   /* no \r\n: half a line */
        fds[i] = h_connect(s.port);
        opened += fds[i] >= 0 && h_send_str(fds[i], req);
        closed_at[i] = -1;
    }
    long long t0 = sc_now_ms(), next_ping = t0, mid = -1;
    long long earliest = -1, latest = -1;
    while (active_ok && sc_now_ms() - t0 < HO_IDLE_CLOSE_MS &&
           (closed + reset < opened || sc_now_ms() - t0 < HO_IDLE_MIN_RUN_MS)) {
        long long now = sc_now_ms();
        if (now >= next_ping) {
            active_ok = ho_idle_ping(active);
            pings++;
            next_ping += HO_IDLE_PING_MS;
        }
        for (int i = 0; i < HO_IDLE_CONNS; i++) {
            int st = fds[i] < 0 || closed_at[i] >= 0 ? 0 : ho_peer_closed(fds[i]);
            if (st == 0)
                continue;
            closed_at[i] = sc_now_ms() - t0;
            closed += st > 0;
            reset += st < 0;
            earliest = earliest < 0 || closed_at[i] < earliest ? closed_at[i] : earliest;
            latest = closed_at[i] > latest ? closed_at[i] : latest;
        }
        if (mid < 0 && now - t0 >= HO_IDLE_EARLIEST_MS)
            mid = closed + reset;
        sc_sleep_ms(HO_IDLE_STEP_MS);
    }
    long long ran = sc_now_ms() - t0;
    sc_check(&ho_t, opened == HO_IDLE_CONNS, "idle_timeout: %d of %d connections sent half "
             "a command line", opened, HO_IDLE_CONNS);
    sc_check(&ho_t, mid == 0, "idle_timeout: none closed in the first %d ms (%lld were)",
             HO_IDLE_EARLIEST_MS, mid);
    sc_check(&ho_t, closed == opened && reset == 0, "idle_timeout=%d: %d of %d idle "
             "connections closed by the server (read returned 0; %d reset), between %lld "
             "and %lld ms after their half command (bound %d ms)", HO_IDLE_TIMEOUT_S, closed,
             opened, reset, earliest, latest, HO_IDLE_CLOSE_MS);
    sc_check(&ho_t, active_ok && ho_peer_closed(active) == 0 && ho_idle_ping(active),
             "idle_timeout: the active client (`version` every %d ms, %d sent over %lld ms) "
             "was never closed", HO_IDLE_PING_MS, pings, ran);
    /* The active client keeps pinging, so only the idle ones may be gone. */
    long long now = -1, deadline = sc_now_ms() + HO_WAIT_MS;
    while (sc_now_ms() < deadline && (now = sc_stat(s.port, "curr_connections")) != base) {
        active_ok = active_ok && ho_idle_ping(active);
        sc_sleep_ms(HO_SHORT_MS / 3);
    }
    sc_check(&ho_t, now == base && active_ok, "idle_timeout: curr_connections back to its "
             "baseline %lld with the active client still served (now %lld)", base, now);
    for (int i = 0; i < HO_IDLE_CONNS; i++)
        if (fds[i] >= 0)
            close(fds[i]);
    if (active >= 0)
        close(active);
    ho_after(s.port, s.pid, "idle_timeout");
    h_server_stop(&s);
}

static void ho_too_many(void)
{
    struct h_server s = { 0 };
    const char *const flags[] = { "-c", HO_MAXCONNS, NULL };
    static int fds[HO_OPEN_CONNS];
    if (!ho_start(&s, flags))
        return;
    int served = 0, refused = 0, silent = 0, other = 0;
    for (int i = 0; i < HO_OPEN_CONNS; i++)
        fds[i] = h_connect(s.port);
    for (int i = 0; i < HO_OPEN_CONNS; i++)
        if (fds[i] >= 0)
            h_send_str(fds[i], "version\r\n");
    for (int i = 0; i < HO_OPEN_CONNS; i++) {
        bool closed = false;
        size_t n = fds[i] < 0 ? 0 : h_read_until(fds[i], ho_buf, sizeof(ho_buf), "\r\n",
                                                 i == 0 ? HO_WAIT_MS : HO_SHORT_MS, &closed);
        if (fds[i] < 0 || (n == 0 && closed) || ho_starts(ho_buf, "ERROR Too many open"))
            refused++;
        else if (ho_starts(ho_buf, "VERSION "))
            served++;
        else if (n == 0)
            silent++;
        else
            other++;
    }
    sc_check(&ho_t, served >= HO_MIN_SERVED && other == 0, "-c %s with %d connections: "
             "%d served, %d refused or closed, %d silent, %d other replies", HO_MAXCONNS,
             HO_OPEN_CONNS, served, refused, silent, other);
    for (int i = 0; i < HO_OPEN_CONNS; i++)
        if (fds[i] >= 0)
            close(fds[i]);
    sc_sleep_ms(HO_SHORT_MS);
    ho_after(s.port, s.pid, "more connections than -c");
    h_server_stop(&s);
}

static long ho_rss_kb(pid_t pid)
{
    char path[64], line[256];
    long kb = -1;
    snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
    FILE *f = fopen(path, "r");
    while (f && fgets(line, sizeof(line), f))
        if (sscanf(line, "VmRSS: %ld kB", &kb) == 1)
            break;
    if (f)
        fclose(f);
    return kb;
}

static void ho_mem_writer(int port, int id, long ms)
{
    struct sc_conn c;
    static char val[HO_MEM_VALUE_MAX + 2];
    char hdr[96], line[SC_LINE_MAX];
    uint64_t st = 0xabcdefULL + (uint64_t)id;
    memset(val, 'm', sizeof(val));
    if (!sc_open(&c, port))
        _exit(2);
    long long deadline = sc_now_ms() + ms;
    while (sc_now_ms() < deadline) {
        unsigned bits = (unsigned)(sc_rand(&st) % 20);
        size_t len = 1 + sc_rand(&st) % (1ULL << bits);
        len = len > HO_MEM_VALUE_MAX ? HO_MEM_VALUE_MAX : len;
        int hl = snprintf(hdr, sizeof(hdr), "set m%d 0 0 %zu\r\n",
                          (int)(sc_rand(&st) % HO_MEM_KEYS), len);
        memcpy(val + len, "\r\n", 2);
        if (!sc_write(&c, hdr, (size_t)hl) || !sc_write(&c, val, len + 2) ||
            sc_line(&c, line, sizeof(line)) < 0)
            _exit(3);
        memcpy(val + len, "mm", 2);
    }
    sc_close(&c);
    _exit(0);
}

static void ho_memory(void)
{
    struct h_server s = { 0 };
    const char *const flags[] = { "-t", "4", "-m", "64", NULL };
    pid_t w[HO_MEM_WRITERS];
    long ms = sc_env_long("STRESS_MEM_DURATION", HO_MEM_SECONDS) * 1000;
    if (!ho_start(&s, flags))
        return;
    long base = ho_rss_kb(s.pid), peak = base;
    long long limit = sc_stat(s.port, "limit_maxbytes"), bytes_peak = 0;
    fflush(stdout);
    for (int i = 0; i < HO_MEM_WRITERS; i++)
        if ((w[i] = fork()) == 0)
            ho_mem_writer(s.port, i, ms);
    long long end = sc_now_ms() + ms;
    int samples = 0;
    while (sc_now_ms() < end) {
        long rss = ho_rss_kb(s.pid);
        peak = rss > peak ? rss : peak;
        long long b = sc_stat(s.port, "bytes");
        bytes_peak = b > bytes_peak ? b : bytes_peak;
        samples++;
        sc_sleep_ms(HO_MEM_SAMPLE_MS);
    }
    int clean = 0;
    for (int i = 0; i < HO_MEM_WRITERS; i++) {
        int stt = 0;
        waitpid(w[i], &stt, 0);
        clean += WIFEXITED(stt) && WEXITSTATUS(stt) == 0;
    }
    long long evictions = sc_stat(s.port, "evictions");
    long bound = (HO_MEM_LIMIT_MB + HO_MEM_MARGIN_MB) * HO_KB;
    sc_check(&ho_t, clean == HO_MEM_WRITERS, "memory load: %d of %d writers ran without a "
             "protocol error", clean, HO_MEM_WRITERS);
    /*
     * A sanitizer build's RSS is mostly shadow memory and quarantine, so the
     * RSS bound speaks only of a plain build; the plain pass of ./dev test
     * asserts it, and the stats bound below holds in every build.
     */
    const char *san = getenv("SLABCACHE_SANITIZERS");
    if (san && *san)
        printf("note: VmRSS peak %ld kB not bounded in a sanitizer build (%s)\n", peak, san);
    else
        sc_check(&ho_t, peak > 0 && peak <= bound, "memory: VmRSS at start %ld kB, peak %ld kB "
                 "(%d samples, %lld evictions): overhead over -m 64 = %ld kB; bound %ld kB",
                 base, peak, samples, evictions, peak - HO_MEM_LIMIT_MB * HO_KB, bound);
    sc_check(&ho_t, limit > 0 && bytes_peak <= limit, "memory: stats bytes peak %lld <= "
             "limit_maxbytes %lld", bytes_peak, limit);
    /* The canary may be evicted by the load, legitimately: set it again. */
    sc_check(&ho_t, ho_set(s.port, HO_CANARY, HO_CANARY_VAL), "canary set again after the load");
    ho_after(s.port, s.pid, "sustained random-size sets");
    h_server_stop(&s);
}

/* ---- hash flooding (issue 11): keys crafted against the old fixed hash ---- */

/*
 * 3,000 keys whose old hash shares the low 16 bits (the server's default
 * hash power: one chain of the old table; t/flood_keys.h finds them) against
 * 3,000 ordinary keys of the same length, at -t 1 from one client. Each
 * round sets (or gets) every key of each kind once, back to back, in
 * pipelined batches, every reply checked byte for byte. A pass takes a few
 * ms, so a busy machine can stretch any one of them: each round's two
 * passes give one ratio, the median of HO_FLOOD_ROUNDS ratios is the
 * result, and a median under the bound is measured again, best of
 * HO_FLOOD_TRIES (a slowdown the server causes shows in every round).
 * Under the seeded hash the crafted keys' set and get rates stay within 20%
 * of the ordinary ones' (main's old hash: 0.10 and 0.15 of them).
 */
#define HO_FLOOD_KEYS 3000
#define HO_FLOOD_BITS 16             /* HASH_POWER_DEFAULT */
#define HO_FLOOD_PLAIN_FMT "plain:%012llu"   /* FLOOD_KEY_LEN bytes too */
#define HO_FLOOD_BATCH 100
#define HO_FLOOD_ROUNDS 15
#define HO_FLOOD_TRIES 3             /* a median under the bound is taken again */
#define HO_FLOOD_MIN_RATIO 0.8       /* crafted rate / ordinary rate, at least */
#define HO_FLOOD_CMD_MAX 96          /* one command or one reply of a batch */

typedef char ho_flood_key[FLOOD_KEY_LEN + 1];
static ho_flood_key ho_flood_keys[2][HO_FLOOD_KEYS];   /* [0] ordinary, [1] crafted */

static long long ho_now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* Sets (or gets) every key once, in pipelined batches; each key's value is
 * the key itself. False on any reply that differs. */
static bool ho_flood_pass(struct sc_conn *c, ho_flood_key *keys, bool get)
{
    static char req[HO_FLOOD_BATCH * HO_FLOOD_CMD_MAX], exp[HO_FLOOD_BATCH * HO_FLOOD_CMD_MAX],
        got[HO_FLOOD_BATCH * HO_FLOOD_CMD_MAX];
    for (int b = 0; b < HO_FLOOD_KEYS; b += HO_FLOOD_BATCH) {
        size_t rl = 0, el = 0;
        for (int i = b; i < b + HO_FLOOD_BATCH; i++) {
            const char *k = keys[i];
            if (get) {
                rl += (size_t)snprintf(req + rl, sizeof(req) - rl, "get %s\r\n", k);
                el += (size_t)snprintf(exp + el, sizeof(exp) - el, "VALUE %s 0 %d\r\n%s\r\nEND\r\n",
                                       k, FLOOD_KEY_LEN, k);
            } else {
                rl += (size_t)snprintf(req + rl, sizeof(req) - rl, "set %s 0 0 %d\r\n%s\r\n", k,
                                       FLOOD_KEY_LEN, k);
                el += (size_t)snprintf(exp + el, sizeof(exp) - el, "STORED\r\n");
            }
        }
        if (!sc_write(c, req, rl) || !sc_exact(c, got, el) || memcmp(got, exp, el) != 0)
            return false;
    }
    return true;
}

/* One pass's time in us, or -1 on a wrong reply. */
static long long ho_flood_time(struct sc_conn *c, ho_flood_key *keys, bool get)
{
    long long t0 = ho_now_us();
    if (!ho_flood_pass(c, keys, get))
        return -1;
    return ho_now_us() - t0;
}

static int ho_cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/*
 * HO_FLOOD_ROUNDS rounds of: one pass of sets (or gets) of each kind, back
 * to back, the first kind alternating; each round gives the rate ratio
 * crafted / ordinary (ordinary time / crafted time). Writes their median to
 * *ratio; false on a wrong reply.
 */
static bool ho_flood_ratio(struct sc_conn *c, bool get, double *ratio)
{
    double r[HO_FLOOD_ROUNDS];
    for (int i = 0; i < HO_FLOOD_ROUNDS; i++) {
        long long us[2];
        for (int k = 0; k < 2; k++) {
            int kind = (i + k) % 2;
            if ((us[kind] = ho_flood_time(c, ho_flood_keys[kind], get)) < 0)
                return false;
        }
        r[i] = (double)us[0] / (double)(us[1] > 0 ? us[1] : 1);
    }
    qsort(r, HO_FLOOD_ROUNDS, sizeof(r[0]), ho_cmp_double);
    *ratio = r[HO_FLOOD_ROUNDS / 2];
    return true;
}

static void ho_hash_flood(void)
{
    struct h_server s = { 0 };
    const char *const flags[] = { "-t", "1", NULL };
    flood_keys_find(ho_flood_keys[1], HO_FLOOD_KEYS, HO_FLOOD_BITS);
    for (int i = 0; i < HO_FLOOD_KEYS; i++)
        snprintf(ho_flood_keys[0][i], sizeof(ho_flood_keys[0][i]), HO_FLOOD_PLAIN_FMT,
                 (unsigned long long)i);
    if (!ho_start(&s, flags))
        return;
    struct sc_conn c;
    bool opened = sc_open(&c, s.port), ok = opened;
    /* valgrind runs one guest thread at a time on a shared machine: its
     * timings are too unsteady for a 20% bound; correctness is checked. */
    bool timed = getenv("VG_REAL_BIN") == NULL;
    double best[2] = { 0, 0 };   /* [get]: the best median ratio of the tries */
    for (int t = 0; ok && t < (timed ? HO_FLOOD_TRIES : 1); t++) {
        for (int get = 0; ok && get < 2; get++) {
            double ratio = 0;
            ok = ho_flood_ratio(&c, get, &ratio);
            best[get] = ratio > best[get] ? ratio : best[get];
        }
        if (best[0] >= HO_FLOOD_MIN_RATIO && best[1] >= HO_FLOOD_MIN_RATIO)
            break;
    }
    if (opened)
        sc_close(&c);
    sc_check(&ho_t, ok, "hash flood: %d crafted and %d ordinary keys set and read back exactly",
             HO_FLOOD_KEYS, HO_FLOOD_KEYS);
    static const char *const what[2] = { "sets", "gets" };
    for (int get = 0; ok && get < 2; get++) {
        if (!timed)
            printf("note: hash flood %s: crafted/ordinary rate %.2f, not bounded under valgrind\n",
                   what[get], best[get]);
        else
            sc_check(&ho_t, best[get] >= HO_FLOOD_MIN_RATIO, "hash flood at -t 1: crafted keys' "
                     "%s rate %.2f of ordinary keys' (median of %d paired passes of %d keys, "
                     "best of up to %d tries), at least %.2f", what[get], best[get],
                     HO_FLOOD_ROUNDS, HO_FLOOD_KEYS, HO_FLOOD_TRIES, HO_FLOOD_MIN_RATIO);
    }
    ho_after(s.port, s.pid, "a hash flood");
    h_server_stop(&s);
}

/*
 * ---- issue 11: read back-pressure and fair turns ----
 *
 * A flooder is a forked child that writes one request over and over on one
 * connection until it is killed, never blocking (poll, MSG_DONTWAIT), and
 * either never reads (noreply) or reads and drops every reply (pipelined
 * gets). The server must hold it back through TCP instead of buffering
 * (RSS), and must keep serving everyone else on the flooded worker within
 * HO_FAIR_WAIT_MS (the starvation probe). Before the fix: RSS ~1 GB after
 * 4 s, and `version` waits of 5-10 s at -t 1 and -t 4.
 */
#define HO_FLOOD_MS 4000             /* the flood length */
#define HO_FLOOD_RSS_MB 100          /* bound, all builds: RSS growth; plain builds: RSS */
#define HO_FLOOD_CHUNK (64 * 1024)
#define HO_FLOOD_POLL_MS 50
#define HO_FLOOD_START_MS 300        /* flooders connected and writing before probes start */
#define HO_FAIR_PROBE_MS 1500        /* probing window (rounds every HO_FAIR_PAUSE_MS) */
#define HO_FAIR_WINDOWS 3            /* windows tried while the worst is over the bound */
#define HO_FAIR_PAUSE_MS 10
/*
 * Worst `version` wait. Fixed: ~5-15 ms on a loaded 2-CPU machine, so 100 ms
 * leaves a 7x margin; the unfixed server waits > 5 s (HO_WAIT_MS, the read
 * bound) on the flooded worker. A machine shared by several jobs can still
 * stall any process for 100+ ms now and then (memcached 1.6.45 showed 383 ms
 * once under load 7 on 2 CPUs), so a window whose worst is over the bound is
 * tried again, up to HO_FAIR_WINDOWS: starvation fails every window (and a
 * reply missing for HO_WAIT_MS fails at once), a passing stall does not.
 * Sanitizer builds run ~5-15x slower and
 * valgrind ~20-50x with one guest thread at a time: only this timing bound is
 * scaled for them, never the RSS bound.
 */
#define HO_FAIR_WAIT_MS 100
#define HO_FAIR_SAN_FACTOR 10
#define HO_FAIR_VALGRIND_FACTOR 40
#define HO_FAIR_PROBES_T4 8          /* -t 4: two per worker, so some share the flooded ones */

static const char ho_flood_delete[] = "delete nokey noreply\r\n";
static const char ho_flood_get[] = "get nokey\r\n";

/* The forked flooder: writes req back to back until killed; drains replies if told to. */
static void ho_flooder(int port, const char *req, bool drain)
{
    static char chunk[HO_FLOOD_CHUNK], sink[HO_FLOOD_CHUNK];
    size_t rl = strlen(req), n = 0, off = 0;
    while (n + rl <= sizeof(chunk)) {
        memcpy(chunk + n, req, rl);
        n += rl;
    }
    int fd = h_connect(port);
    if (fd < 0)
        _exit(2);
    for (;;) {
        struct pollfd p = { fd, (short)(POLLOUT | (drain ? POLLIN : 0)), 0 };
        if (poll(&p, 1, HO_FLOOD_POLL_MS) < 0 && errno != EINTR)
            _exit(3);
        if ((p.revents & POLLIN) && recv(fd, sink, sizeof(sink), MSG_DONTWAIT) == 0)
            _exit(4);
        if (!(p.revents & POLLOUT))
            continue;
        ssize_t w = send(fd, chunk + off, n - off, MSG_DONTWAIT | MSG_NOSIGNAL);
        if (w < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
            _exit(5);
        off = w > 0 ? (off + (size_t)w) % n : off;   /* n holds whole requests */
    }
}

static pid_t ho_flood_start(int port, const char *req, bool drain)
{
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0)
        ho_flooder(port, req, drain);
    return pid;
}

static void ho_flood_stop(pid_t pid)
{
    if (pid <= 0)
        return;
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
}

static bool ho_sanitized(void)
{
    const char *san = getenv("SLABCACHE_SANITIZERS");
    return san != NULL && *san != '\0';
}

static long ho_fair_bound_ms(void)
{
    const char *san = getenv("SLABCACHE_SANITIZERS");
    if (!ho_sanitized())
        return HO_FAIR_WAIT_MS;
    return HO_FAIR_WAIT_MS * (strstr(san, "valgrind") ? HO_FAIR_VALGRIND_FACTOR : HO_FAIR_SAN_FACTOR);
}

/* One client writes `delete nokey noreply` for 4 s and never reads. */
static void ho_noreply_flood(void)
{
    struct h_server s = { 0 };
    const char *const flags[] = { "-t", "4", "-m", "64", NULL };
    if (!ho_start(&s, flags))
        return;
    long base = ho_rss_kb(s.pid), peak = base;
    pid_t f = ho_flood_start(s.port, ho_flood_delete, false);
    long long end = sc_now_ms() + HO_FLOOD_MS;
    while (sc_now_ms() < end) {
        long rss = ho_rss_kb(s.pid);
        peak = rss > peak ? rss : peak;
        sc_sleep_ms(HO_MEM_SAMPLE_MS);
    }
    ho_flood_stop(f);
    long long misses = sc_stat(s.port, "delete_misses");
    long bound = HO_FLOOD_RSS_MB * HO_KB;
    sc_check(&ho_t, misses > 0, "noreply flood: the server took %lld deletes", misses);
    sc_check(&ho_t, base > 0 && peak - base <= bound, "noreply flood: VmRSS grew %ld kB "
             "(%ld -> %ld kB) in %d ms; bound %ld kB", peak - base, base, peak, HO_FLOOD_MS,
             bound);
    if (ho_sanitized())
        printf("note: VmRSS %ld kB includes the sanitizer's own memory: growth bounded only\n",
               peak);
    else
        sc_check(&ho_t, peak <= bound, "noreply flood: VmRSS peak %ld kB; bound %ld kB", peak,
                 bound);
    ho_after(s.port, s.pid, "noreply flood");
    h_server_stop(&s);
}

/* Worst `version` round trip over the probes during the probing window; -1 if one failed. */
static long long ho_probe_worst(const int *fds, int n)
{
    long long worst = 0, end = sc_now_ms() + HO_FAIR_PROBE_MS;
    char reply[64];
    while (sc_now_ms() < end) {
        for (int i = 0; i < n; i++) {
            long long t0 = sc_now_ms();
            if (fds[i] < 0 || !h_send_str(fds[i], "version\r\n") ||
                h_read_until(fds[i], reply, sizeof(reply), "\r\n", HO_WAIT_MS, NULL) == 0 ||
                !ho_starts(reply, "VERSION "))
                return -1;
            long long dt = sc_now_ms() - t0;
            worst = dt > worst ? dt : worst;
        }
        sc_sleep_ms(HO_FAIR_PAUSE_MS);
    }
    return worst;
}

/* Probes on fresh connections while a noreply flood and a get flood run on the same workers. */
static void ho_starvation(const char *threads, int probes)
{
    struct h_server s = { 0 };
    const char *const flags[] = { "-t", threads, NULL };
    int fds[HO_FAIR_PROBES_T4];
    if (!ho_start(&s, flags))
        return;
    pid_t quiet = ho_flood_start(s.port, ho_flood_delete, false);
    pid_t loud = ho_flood_start(s.port, ho_flood_get, true);
    sc_sleep_ms(HO_FLOOD_START_MS);
    for (int i = 0; i < probes; i++)
        fds[i] = h_connect(s.port);
    long bound = ho_fair_bound_ms();
    long long worst = -1;
    int windows = 0;
    do {
        worst = ho_probe_worst(fds, probes);
        printf("note: starvation -t %s: window %d: worst wait %lld ms\n", threads, windows + 1,
               worst);
    } while (++windows < HO_FAIR_WINDOWS && worst > bound);
    for (int i = 0; i < probes; i++)
        if (fds[i] >= 0)
            close(fds[i]);
    ho_flood_stop(quiet);
    ho_flood_stop(loud);
    long long gets = sc_stat(s.port, "cmd_get"), deletes = sc_stat(s.port, "delete_misses");
    sc_check(&ho_t, gets > 0 && deletes > 0, "starvation -t %s: the floods ran (%lld gets, "
             "%lld deletes)", threads, gets, deletes);
    sc_check(&ho_t, worst >= 0 && worst <= bound, "starvation -t %s: worst `version` wait of "
             "%d probes over %d ms (window %d of up to %d): %lld ms (bound %ld ms; -1 = no "
             "reply within %d ms)", threads, probes, HO_FAIR_PROBE_MS, windows, HO_FAIR_WINDOWS,
             worst, bound, HO_WAIT_MS);
    ho_after(s.port, s.pid, "starvation probe");
    h_server_stop(&s);
}

static void ho_net_cases(void)
{
    printf("-- noreply flood: RSS stays bounded\n");
    ho_noreply_flood();
    printf("-- starvation probe at -t 1\n");
    ho_starvation("1", 1);
    printf("-- starvation probe at -t 4\n");
    ho_starvation("4", HO_FAIR_PROBES_T4);
}

/* ---- partly sent values (issue 11, hole 3): values live inside -m ---- */

/*
 * HO_PART_CONNS clients each send all but HO_PART_MISSING bytes of a
 * HO_PART_VLEN-byte `set` and stop. A server that buffers a value before
 * its item holds ~1 MB per client in heap (main before the fix: ~290 MB);
 * one that reads values into item memory stays within -m plus a bounded
 * amount, refusing what -m cannot hold (memcached 1.6.45: ~72 MB). Another
 * client must still be served. Under sanitizers their own memory is in the
 * RSS: the growth is bounded instead, and under ThreadSanitizer, which keeps
 * about 4.5 bytes of shadow for every byte the server touches (347 MB of
 * growth seen for the ~100 MB a plain build takes), that growth bound is
 * HO_PART_TSAN_FACTOR times the plain one: still far below what buffering
 * the values would cost there (300 MB of heap, ~1.6 GB with its shadow).
 */
#define HO_PART_CONNS 300
#define HO_PART_VLEN 1000000
#define HO_PART_MISSING 1000
#define HO_PART_MARGIN_MB 36          /* the bound: -m + 36 MB */
#define HO_PART_SEND_MS 20000         /* all clients done sending, plain build */
#define HO_PART_SETTLE_MS 500
#define HO_PART_PIECE (64 * 1024)
#define HO_PART_TSAN_FACTOR 6

/* Sends as much of each client's bytes as the sockets take, round robin; true when all sent. */
static bool ho_part_send(const int *fds, size_t *sent, const char *req, size_t len, long ms)
{
    long long end = sc_now_ms() + ms;
    while (sc_now_ms() < end) {
        bool all = true, moved = false;
        for (int i = 0; i < HO_PART_CONNS; i++) {
            if (fds[i] < 0 || sent[i] == len)
                continue;
            all = false;
            size_t n = len - sent[i] < HO_PART_PIECE ? len - sent[i] : HO_PART_PIECE;
            ssize_t w = send(fds[i], req + sent[i], n, MSG_DONTWAIT | MSG_NOSIGNAL);
            if (w > 0) {
                sent[i] += (size_t)w;
                moved = true;
            }
        }
        if (all)
            return true;
        if (!moved)
            sc_sleep_ms(1);
    }
    return false;
}

static void ho_partial_values(void)
{
    struct h_server s = { 0 };
    const char *const flags[] = { "-m", "64", "-c", "1024", NULL };
    static int fds[HO_PART_CONNS];
    static size_t sent[HO_PART_CONNS];
    static char req[HO_PART_VLEN + 64];
    if (!ho_start(&s, flags))
        return;
    int hl = snprintf(req, 64, "set part 0 0 %d\r\n", HO_PART_VLEN);
    memset(req + hl, 'p', HO_PART_VLEN);
    size_t len = (size_t)hl + HO_PART_VLEN - HO_PART_MISSING;
    long base = ho_rss_kb(s.pid);
    int open = 0;
    for (int i = 0; i < HO_PART_CONNS; i++) {
        fds[i] = h_connect(s.port);
        sent[i] = 0;
        open += fds[i] >= 0;
    }
    long send_ms = HO_PART_SEND_MS * (ho_sanitized() ? HO_FAIR_SAN_FACTOR : 1);
    bool all = ho_part_send(fds, sent, req, len, send_ms);
    sc_sleep_ms(HO_PART_SETTLE_MS);
    long rss = ho_rss_kb(s.pid);
    long bound = (HO_MEM_LIMIT_MB + HO_PART_MARGIN_MB) * HO_KB;
    const char *san = getenv("SLABCACHE_SANITIZERS");
    long grow_bound = bound * (san != NULL && strstr(san, "thread") ? HO_PART_TSAN_FACTOR : 1);
    sc_check(&ho_t, open == HO_PART_CONNS && all, "partial values: %d of %d clients sent "
             "%zu of %zu bytes each", open, HO_PART_CONNS, len, len + HO_PART_MISSING);
    sc_check(&ho_t, base > 0 && rss - base <= grow_bound, "partial values: VmRSS grew %ld kB "
             "(%ld -> %ld kB); bound %ld kB", rss - base, base, rss, grow_bound);
    if (ho_sanitized())
        printf("note: VmRSS %ld kB includes the sanitizer's own memory: growth bounded only\n",
               rss);
    else
        sc_check(&ho_t, rss <= bound, "partial values: VmRSS %ld kB at -m %d; bound %ld kB",
                 rss, HO_MEM_LIMIT_MB, bound);
    sc_check(&ho_t, ho_set(s.port, "served", "yes") &&
             ho_expect(s.port, "get served\r\n", "VALUE served 0 3\r\nyes\r\nEND\r\n",
                       "another client's get"), "partial values: another client is served");
    ho_after(s.port, s.pid, "partly sent values");
    for (int i = 0; i < HO_PART_CONNS; i++)
        if (fds[i] >= 0)
            close(fds[i]);
    h_server_stop(&s);
}

static void ho_value_cases(void)
{
    printf("-- 300 partly sent 1 MB values\n");
    ho_partial_values();
}

int main(void)
{
    struct h_server s = { 0 };
    const char *const flags[] = { "-t", "4", NULL };
    struct { const char *name; void (*fn)(int); } cases[] = {
        { "a 4 MB line", ho_long_line },
        { "251-byte keys", ho_long_keys },
        { "bad numbers", ho_numbers },
        { "wrong data block lengths", ho_data_blocks },
        { "a get of 20000 keys", ho_big_get },
        { "random bytes", ho_random },
        { "half-written commands", ho_half_written },
        { "slowloris", ho_slowloris },
        { "10000 pipelined sets", ho_pipeline },
        { "largest values", ho_largest },
        { "binary frames whose lengths lie", ho_binary },
    };
    setvbuf(stdout, NULL, _IOLBF, 0);
    signal(SIGPIPE, SIG_IGN);
    if (!ho_start(&s, flags))
        return sc_summary(&ho_t);
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        printf("-- %s\n", cases[i].name);
        cases[i].fn(s.port);
        ho_after(s.port, s.pid, cases[i].name);
    }
    h_server_stop(&s);
    printf("-- more connections than -c\n");
    ho_too_many();
    printf("-- idle_timeout closes idle connections, not active ones\n");
    ho_idle_timeout();
    printf("-- memory under sustained random-size sets\n");
    ho_memory();
    printf("-- keys crafted to share one bucket of the old hash\n");
    ho_hash_flood();
    ho_net_cases();
    ho_value_cases();
    return sc_summary(&ho_t);
}
