/*
 * test_watch: `watch` log streams, -W, and `stats detail` with -D, -X and over
 * the binary protocol, checked
 * against both servers (DROPIN_TESTS): memcached 1.6.45 and slabcache.
 *
 * Log lines carry values that differ from run to run (ts, gid, the
 * connection's fd), so lines are compared field by field: the fields both
 * servers print must be there with the same values, ts and gid must be
 * numbers, and the lines of one client's requests name one cfd. memcached
 * also logs a lookup inside each store (an item_get before the item_store);
 * the checks look for the lines a client's requests make, not for their
 * absence. Waits are bounded (WATCH_WAIT_MS, far above memcached's logger
 * thread's 1 s poll at its slowest and our 10 ms, also under sanitizers).
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "t/client/hcheck.h"

#define WATCH_WAIT_MS 5000
#define WATCH_POLL_MS 20
#define WATCH_BUF (64 * 1024)
#define WATCH_FIELD_MAX 64

struct h_server hc_srv;

static void teardown(void)
{
    h_server_stop(&hc_srv);
}

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/*
 * A watcher on a new connection: `watch <streams>` answered "OK". Only those
 * bytes are read: log lines may follow at once (e.g. the harness's start-up
 * probe connection, accepted late), and they are the caller's.
 */
static int watcher(const char *streams)
{
    int fd = hc_conn();
    char req[128], ok[sizeof("OK\r\n")] = "";
    snprintf(req, sizeof(req), "watch%s%s\r\n", *streams ? " " : "", streams);
    ck_assert(h_send_str(fd, req));
    size_t n = h_read_n(fd, ok, sizeof(ok) - 1, H_IO_TIMEOUT_MS);
    ck_assert_msg(n == sizeof(ok) - 1 && memcmp(ok, "OK\r\n", n) == 0, "watch answered %s",
                  h_escape(ok, n));
    return fd;
}

/* The first whole line of buf that contains every one of parts; NULL if none. */
static const char *find_line(const char *buf, const char *const *parts, size_t nparts,
                             char *line, size_t cap)
{
    for (const char *p = buf; *p != '\0';) {
        const char *nl = strchr(p, '\n');
        if (nl == NULL)
            return NULL;
        size_t len = (size_t)(nl - p);
        if (len < cap) {
            memcpy(line, p, len);
            line[len] = '\0';
            bool all = true;
            for (size_t i = 0; i < nparts && all; i++)
                all = strstr(line, parts[i]) != NULL;
            if (all)
                return line;
        }
        p = nl + 1;
    }
    return NULL;
}

/* Reads the watcher into buf until a line holds all of parts, within WATCH_WAIT_MS. */
static bool wait_line(int fd, char *buf, size_t *len, const char *const *parts, size_t nparts,
                      char *line, size_t cap)
{
    long long deadline = now_ms() + WATCH_WAIT_MS;
    while (find_line(buf, parts, nparts, line, cap) == NULL) {
        if (now_ms() > deadline || *len + 1 >= WATCH_BUF)
            return false;
        *len += h_read_extra(fd, buf + *len, WATCH_BUF - 1 - *len, WATCH_POLL_MS);
        buf[*len] = '\0';
    }
    return true;
}

/* The value of " name=" in line (or at its start), into out. */
static bool field(const char *line, const char *name, char *out, size_t cap)
{
    char pat[WATCH_FIELD_MAX];
    snprintf(pat, sizeof(pat), "%s=", name);
    const char *p = strncmp(line, pat, strlen(pat)) == 0 ? line : NULL;
    if (p == NULL) {
        snprintf(pat, sizeof(pat), " %s=", name);
        p = strstr(line, pat);
        if (p == NULL)
            return false;
        p++;
    }
    p += strlen(name) + 1;
    size_t n = strcspn(p, " ");
    if (n >= cap)
        return false;
    memcpy(out, p, n);
    out[n] = '\0';
    return true;
}

/* ts=<sec>.<usec> and gid=<n>: numbers, as both servers print them. */
static void check_ts_gid(const char *line)
{
    char ts[WATCH_FIELD_MAX], gid[WATCH_FIELD_MAX];
    ck_assert_msg(strncmp(line, "ts=", 3) == 0, "line: %s", line);
    ck_assert_msg(field(line, "ts", ts, sizeof(ts)) && strspn(ts, "0123456789.") == strlen(ts) &&
                  strchr(ts, '.') != NULL, "ts in: %s", line);
    ck_assert_msg(field(line, "gid", gid, sizeof(gid)) && strspn(gid, "0123456789") == strlen(gid),
                  "gid in: %s", line);
}

static void expect_field(const char *line, const char *name, const char *want)
{
    char got[WATCH_FIELD_MAX];
    ck_assert_msg(field(line, name, got, sizeof(got)), "no %s= in: %s", name, line);
    ck_assert_msg(strcmp(got, want) == 0, "%s=%s, want %s, in: %s", name, got, want, line);
}

/* What a test's watcher has sent so far. */
static char wbuf[WATCH_BUF];
static size_t wlen;

static void wbuf_reset(void)
{
    wlen = 0;
    wbuf[0] = '\0';
}

/* Waits for the watcher fd to send a line with every one of the strings, into line. */
#define WAIT_LINE(fd, line, ...) do {                                                  \
        const char *const parts_[] = { __VA_ARGS__ };                                 \
        ck_assert_msg(wait_line(fd, wbuf, &wlen, parts_, sizeof(parts_) / sizeof(parts_[0]), \
                                line, sizeof(line)),                                  \
                      "no line with %s in: %s", parts_[0], wbuf);                     \
    } while (0)

START_TEST(watch_fetchers_and_mutations)
{
    HC_START(NULL);
    int w = watcher("fetchers mutations");
    int c = hc_conn();
    HC_EXPECT(c, "set foo 5 0 3\r\nbar\r\n", "STORED\r\n");
    HC_EXPECT(c, "get foo\r\n", "VALUE foo 5 3\r\nbar\r\nEND\r\n");
    HC_EXPECT(c, "get nokey\r\n", "END\r\n");
    HC_EXPECT(c, "add foo 0 100 1\r\nx\r\n", "NOT_STORED\r\n");
    wbuf_reset();
    char store[1024], get[1024], miss[1024], add[1024], cfd[WATCH_FIELD_MAX];
    WAIT_LINE(w, store, "type=item_store key=foo status=stored");
    check_ts_gid(store);
    expect_field(store, "cmd", "set");
    expect_field(store, "ttl", "0");
    expect_field(store, "clsid", "1");
    expect_field(store, "size", "3");
    ck_assert(field(store, "cfd", cfd, sizeof(cfd)));
    WAIT_LINE(w, get, "type=item_get key=foo status=found");
    check_ts_gid(get);
    expect_field(get, "clsid", "1");
    expect_field(get, "size", "3");
    expect_field(get, "cfd", cfd);
    WAIT_LINE(w, miss, "type=item_get key=nokey status=not_found");
    expect_field(miss, "clsid", "0");
    expect_field(miss, "size", "0");
    expect_field(miss, "cfd", cfd);
    WAIT_LINE(w, add, "type=item_store key=foo status=not_stored");
    expect_field(add, "cmd", "add");
    expect_field(add, "ttl", "100");
    expect_field(add, "size", "1");
    HC_EXPECT(c, "touch foo 50\r\n", "TOUCHED\r\n");   /* a lookup too: logged */
    HC_EXPECT(c, "touch tnone 50\r\n", "NOT_FOUND\r\n");
    WAIT_LINE(w, miss, "type=item_get key=tnone status=not_found");
    expect_field(miss, "cfd", cfd);
    close(c);
    close(w);
}
END_TEST

/* deletions: delete and md of a stored key; a miss and md's stale mark log nothing. */
START_TEST(watch_deletions)
{
    HC_START(NULL);
    int w = watcher("deletions");
    int c = hc_conn();
    HC_EXPECT(c, "set d1 0 0 4\r\nabcd\r\n", "STORED\r\n");
    HC_EXPECT(c, "set d2 0 0 2\r\nab\r\n", "STORED\r\n");
    HC_EXPECT(c, "set d3 0 0 1\r\na\r\n", "STORED\r\n");
    HC_EXPECT(c, "delete nope\r\n", "NOT_FOUND\r\n");
    HC_EXPECT(c, "md d3 I\r\n", "HD\r\n");
    HC_EXPECT(c, "delete d1\r\n", "DELETED\r\n");
    HC_EXPECT(c, "md d2\r\n", "HD\r\n");
    wbuf_reset();
    char del[1024], md[1024];
    WAIT_LINE(w, del, "type=deleted key=d1 ");
    check_ts_gid(del);
    expect_field(del, "cmd", "delete");
    expect_field(del, "clsid", "1");
    expect_field(del, "size", "4");
    WAIT_LINE(w, md, "type=deleted key=d2 ");
    expect_field(md, "cmd", "md");
    expect_field(md, "size", "2");
    ck_assert_msg(strstr(wbuf, "key=nope") == NULL && strstr(wbuf, "key=d3") == NULL,
                  "lines: %s", wbuf);
    close(c);
    close(w);
}
END_TEST

/* Keys are URI-encoded in log lines. */
START_TEST(watch_encodes_keys)
{
    HC_START(NULL);
    int w = watcher("fetchers");
    int c = hc_conn();
    HC_EXPECT(c, "get a:b/c%\r\n", "END\r\n");
    wbuf_reset();
    char line[1024];
    WAIT_LINE(w, line, "type=item_get key=a%3Ab%2Fc%25 status=not_found");
    close(c);
    close(w);
}
END_TEST

/* connevents: a client's connection and its close, with its address. */
START_TEST(watch_connevents)
{
    HC_START(NULL);
    int w = watcher("connevents");
    int c = hc_conn();
    HC_USABLE(c);
    struct sockaddr_in me;
    socklen_t sl = sizeof(me);
    ck_assert_int_eq(getsockname(c, (struct sockaddr *)&me, &sl), 0);
    char rport[WATCH_FIELD_MAX];
    snprintf(rport, sizeof(rport), " rport=%u ", (unsigned)ntohs(me.sin_port));
    close(c);
    wbuf_reset();
    char opened[1024], closed[1024];
    WAIT_LINE(w, opened, "type=conn_new rip=127.0.0.1 ", rport, " transport=tcp ");
    WAIT_LINE(w, closed, "type=conn_close rip=127.0.0.1 ", rport, " transport=tcp ",
              " reason=normal ");
    check_ts_gid(opened);
    char a[WATCH_FIELD_MAX], b[WATCH_FIELD_MAX];
    ck_assert(field(opened, "cfd", a, sizeof(a)) && field(closed, "cfd", b, sizeof(b)));
    ck_assert_str_eq(a, b);
    close(w);
}
END_TEST

#define EVICT_MEM_MB "2"
#define EVICT_VALUE 3000          /* 3000 values of 3000 bytes: over 2 MB */
#define EVICT_KEYS 3000
#define EVICT_BATCH 100

/* evictions: the first key pushed out of a small cache, as memcached logs it. */
START_TEST(watch_evictions)
{
    HC_START("-m", EVICT_MEM_MB, NULL);
    int w = watcher("evictions");
    int c = hc_conn();
    static char value[EVICT_VALUE + 1];
    memset(value, 'v', EVICT_VALUE);
    static char batch[EVICT_BATCH * (EVICT_VALUE + 64)], replies[EVICT_BATCH * 8 + 1];
    for (unsigned k = 0; k < EVICT_KEYS; k += EVICT_BATCH) {
        size_t n = 0;
        for (unsigned i = k; i < k + EVICT_BATCH; i++)
            n += (size_t)snprintf(batch + n, sizeof(batch) - n, "set ev%u 0 0 %u\r\n%s\r\n", i,
                                  EVICT_VALUE, value);
        ck_assert(h_send(c, batch, n));
        size_t want = EVICT_BATCH * strlen("STORED\r\n");
        ck_assert_uint_eq(h_read_n(c, replies, want, H_IO_TIMEOUT_MS), want);
    }
    wbuf_reset();
    char line[1024], la[WATCH_FIELD_MAX];
    WAIT_LINE(w, line, "type=eviction key=ev0 ");
    check_ts_gid(line);
    expect_field(line, "fetch", "no");
    expect_field(line, "ttl", "-1");
    expect_field(line, "size", "3000");
    ck_assert(field(line, "la", la, sizeof(la)) && strspn(la, "0123456789") == strlen(la));
    close(c);
    close(w);
}
END_TEST

START_TEST(watch_default_unknown_and_pipelined)
{
    HC_START(NULL);
    int c = hc_conn();
    HC_EXPECT(c, "watch bogus\r\n", "ERROR\r\n");
    HC_EXPECT(c, "watch fetchers nonsense\r\n", "ERROR\r\n");
    HC_USABLE(c);
    close(c);
    int w = watcher("");   /* no stream named: fetchers */
    c = hc_conn();
    HC_EXPECT(c, "get dflt\r\n", "END\r\n");
    wbuf_reset();
    char line[1024];
    WAIT_LINE(w, line, "type=item_get key=dflt status=not_found");
    close(c);
    close(w);
}
END_TEST

/* A request before watch in the same batch: memcached's refusal. */
START_TEST(watch_after_pipelined_request)
{
    HC_START(NULL);
    int c = hc_conn();
    static const char req[] = "get x\r\nwatch\r\n";
    static const char want[] = "END\r\nERROR cannot pipeline other commands before watch\r\n";
    HC_EXPECT(c, req, want);
    HC_USABLE(c);
    close(c);
}
END_TEST

START_TEST(watch_disabled)
{
    HC_START("-W", NULL);
    int c = hc_conn();
    HC_EXPECT(c, "watch\r\n", "CLIENT_ERROR watch commands not allowed\r\n");
    HC_EXPECT(c, "watch mutations\r\n", "CLIENT_ERROR watch commands not allowed\r\n");
    HC_USABLE(c);
    close(c);
}
END_TEST

/* Waits for `stats` log_watchers to read want. */
static bool wait_watchers(long long want)
{
    static char stats[HC_REPLY_MAX];
    long long deadline = now_ms() + WATCH_WAIT_MS;
    while (now_ms() <= deadline) {
        if (h_stats(hc_srv.port, NULL, stats, sizeof(stats)) &&
            h_stat_num(stats, "log_watchers") == want)
            return true;
        usleep(WATCH_POLL_MS * 1000);
    }
    return false;
}

/* A watcher counts in log_watchers until its connection closes; lines count as sent. */
START_TEST(watch_stats_and_detach)
{
    HC_START(NULL);
    static char stats[HC_REPLY_MAX];
    ck_assert(h_stats(hc_srv.port, NULL, stats, sizeof(stats)));
    static const char *const names[] = { "log_worker_dropped", "log_worker_written",
                                         "log_watcher_skipped", "log_watcher_sent",
                                         "log_watchers" };
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        ck_assert_msg(h_stat_num(stats, names[i]) >= 0, "no %s", names[i]);
    int w = watcher("fetchers");
    ck_assert(wait_watchers(1));
    int c = hc_conn();
    HC_EXPECT(c, "get k1\r\n", "END\r\n");
    wbuf_reset();
    char line[1024];
    WAIT_LINE(w, line, "type=item_get key=k1 ");
    close(w);
    ck_assert(wait_watchers(0));
    ck_assert(h_stats(hc_srv.port, NULL, stats, sizeof(stats)));
    ck_assert_int_ge(h_stat_num(stats, "log_watcher_sent"), 1);
    ck_assert_int_ge(h_stat_num(stats, "log_worker_written"), 1);
    HC_USABLE(c);
    close(c);
}
END_TEST

#define IDLE_TIMEOUT "1"
#define IDLE_WAIT_US 3000000      /* past the 1 s timeout and a sweep or two */

/* A watcher sends no commands, and -o idle_timeout does not close it. */
START_TEST(watch_outlives_idle_timeout)
{
    HC_START("-o", "idle_timeout=" IDLE_TIMEOUT, NULL);
    int w = watcher("fetchers");
    usleep(IDLE_WAIT_US);
    int c = hc_conn();
    HC_EXPECT(c, "get late\r\n", "END\r\n");
    wbuf_reset();
    char line[1024];
    WAIT_LINE(w, line, "type=item_get key=late status=not_found");
    close(c);
    close(w);
}
END_TEST

/* The PREFIX lines of a dump, each checked present (the order is the table's). */
static void expect_dump(int fd, const char *const *lines, size_t n)
{
    static char got[HC_REPLY_MAX];
    size_t want = strlen("END\r\n");
    for (size_t i = 0; i < n; i++)
        want += strlen(lines[i]);
    size_t len = h_roundtrip(fd, "stats detail dump\r\n", 19, got, sizeof(got), want,
                             H_IO_TIMEOUT_MS);
    got[len] = '\0';
    ck_assert_msg(len == want, "dump: %s", h_escape(got, len));
    for (size_t i = 0; i < n; i++)
        ck_assert_msg(strstr(got, lines[i]) != NULL, "dump lacks %s: %s", lines[i],
                      h_escape(got, len));
    ck_assert_msg(strcmp(got + len - 5, "END\r\n") == 0, "dump: %s", h_escape(got, len));
}

START_TEST(stats_detail_on_dump_off)
{
    HC_START(NULL);
    int c = hc_conn();
    HC_EXPECT(c, "stats detail dump\r\n", "END\r\n");
    HC_EXPECT(c, "stats detail\r\n", "CLIENT_ERROR usage: stats detail on|off|dump\r\n");
    HC_EXPECT(c, "stats detail bogus\r\n", "CLIENT_ERROR usage: stats detail on|off|dump\r\n");
    HC_EXPECT(c, "stats detail on\r\n", "OK\r\n");
    HC_EXPECT(c, "set a:1 0 0 1\r\nx\r\n", "STORED\r\n");
    HC_EXPECT(c, "get a:1 b:2 nokey\r\n", "VALUE a:1 0 1\r\nx\r\nEND\r\n");
    HC_EXPECT(c, "delete a:1\r\n", "DELETED\r\n");
    static const char *const first[] = { "PREFIX a get 1 hit 1 set 1 del 1\r\n",
                                         "PREFIX b get 1 hit 0 set 0 del 0\r\n" };
    expect_dump(c, first, 2);
    HC_EXPECT(c, "stats detail off\r\n", "OK\r\n");
    HC_EXPECT(c, "get a:1\r\n", "END\r\n");
    expect_dump(c, first, 2);   /* off: not counted, still kept */
    HC_EXPECT(c, "stats reset\r\n", "RESET\r\n");
    HC_EXPECT(c, "stats detail dump\r\n", "END\r\n");
    close(c);
}
END_TEST

/* -X refuses `stats detail` in every form, as a dump command (memcached 1.6.45). */
START_TEST(stats_detail_refused_by_no_dump)
{
    HC_START("-X", NULL);
    int c = hc_conn();
    static const char *const forms[] = { "stats detail\r\n", "stats detail on\r\n",
                                         "stats detail dump\r\n", "stats detail off\r\n" };
    for (size_t i = 0; i < sizeof(forms) / sizeof(forms[0]); i++)
        HC_EXPECT(c, forms[i], "CLIENT_ERROR stats detail not allowed\r\n");
    close(c);
}
END_TEST

/*
 * A binary Stat request for group (magic 0x80, opcode 0x10, key = group).
 * Returns the frame's length in buf.
 */
#define WT_BIN_HEADER 24
#define WT_BIN_STAT 0x10
static size_t wt_bin_stat(char *buf, const char *group)
{
    size_t n = strlen(group);
    memset(buf, 0, WT_BIN_HEADER);
    buf[0] = (char)0x80;
    buf[1] = WT_BIN_STAT;
    buf[3] = (char)n;       /* key length (groups here are < 256 bytes) */
    buf[11] = (char)n;      /* total body length */
    memcpy(buf + WT_BIN_HEADER, group, n);
    return WT_BIN_HEADER + n;
}

/* A binary response: status, key, value (the header's other fields 0 but the opcode). */
static size_t wt_bin_reply(char *buf, unsigned status, const char *key, const char *value)
{
    size_t nk = strlen(key), nv = strlen(value);
    memset(buf, 0, WT_BIN_HEADER);
    buf[0] = (char)0x81;
    buf[1] = WT_BIN_STAT;
    buf[3] = (char)nk;
    buf[7] = (char)status;
    buf[10] = (char)((nk + nv) >> 8);
    buf[11] = (char)(nk + nv);
    memcpy(buf + WT_BIN_HEADER, key, nk);
    memcpy(buf + WT_BIN_HEADER + nk, value, nv);
    return WT_BIN_HEADER + nk + nv;
}

/* Sends a Stat for group and expects want_len bytes back exactly. */
static void wt_bin_expect(int fd, const char *group, const char *want, size_t want_len)
{
    static char got[HC_REPLY_MAX];
    char req[WT_BIN_HEADER + 64];
    size_t n = wt_bin_stat(req, group);
    size_t len = h_roundtrip(fd, req, n, got, sizeof(got), want_len, H_IO_TIMEOUT_MS);
    ck_assert_msg(len == want_len && memcmp(got, want, want_len) == 0, "stat \"%s\": %s", group,
                  h_escape(got, len));
}

/* Binary stat "detail on|off|dump" as memcached 1.6.45: a dump is one
 * "detailed" stat holding the text lines and END; -X or another word: Not found. */
START_TEST(stats_detail_over_binary)
{
    HC_START(NULL);
    int b = hc_conn(), t = hc_conn();   /* a connection speaks one protocol (-B auto) */
    static char want[HC_REPLY_MAX];
    /* First on the connection: memcached compares past the key's end, so
     * after "detail off" a bare "detail" would read " off" left in its buffer. */
    size_t n = wt_bin_reply(want, 1, "", "Not found");
    wt_bin_expect(b, "detailx", want, n);
    wt_bin_expect(b, "detail", want, n);
    n = wt_bin_reply(want, 0, "", "");
    wt_bin_expect(b, "detail on", want, n);
    HC_EXPECT(t, "get a:1\r\n", "END\r\n");
    n = wt_bin_reply(want, 0, "detailed", "PREFIX a get 1 hit 0 set 0 del 0\r\nEND\r\n");
    n += wt_bin_reply(want + n, 0, "", "");
    wt_bin_expect(b, "detail dump", want, n);
    n = wt_bin_reply(want, 0, "", "");
    wt_bin_expect(b, "detail off", want, n);
    close(t);
    close(b);
}
END_TEST

START_TEST(stats_detail_over_binary_no_dump)
{
    HC_START("-X", NULL);
    int b = hc_conn();
    static char want[HC_REPLY_MAX];
    size_t n = wt_bin_reply(want, 1, "", "Not found");
    wt_bin_expect(b, "detail dump", want, n);
    wt_bin_expect(b, "detail on", want, n);
    close(b);
}
END_TEST

/* -D <char>: the delimiter, and counting on from the start. */
START_TEST(stats_detail_delimiter_flag)
{
    HC_START("-D", "#", NULL);
    static char stats[HC_REPLY_MAX];
    ck_assert(h_stats(hc_srv.port, "settings", stats, sizeof(stats)));
    char v[WATCH_FIELD_MAX];
    ck_assert(h_stat_str(stats, "stat_key_prefix", v, sizeof(v)));
    ck_assert_str_eq(v, "#");
    ck_assert(h_stat_str(stats, "detail_enabled", v, sizeof(v)));
    ck_assert_str_eq(v, "yes");
    int c = hc_conn();
    HC_EXPECT(c, "get u#1 u:2\r\n", "END\r\n");
    static const char *const lines[] = { "PREFIX u get 1 hit 0 set 0 del 0\r\n" };
    expect_dump(c, lines, 1);
    HC_EXPECT(c, "stats detail off\r\n", "OK\r\n");
    close(c);
    ck_assert(h_stats(hc_srv.port, "settings", stats, sizeof(stats)));
    ck_assert(h_stat_str(stats, "detail_enabled", v, sizeof(v)));
    ck_assert_str_eq(v, "no");
}
END_TEST

START_TEST(log_buffer_settings)
{
    HC_START("-o", "watcher_logbuf_size=128,worker_logbuf_size=32", NULL);
    static char stats[HC_REPLY_MAX];
    ck_assert(h_stats(hc_srv.port, "settings", stats, sizeof(stats)));
    ck_assert_int_eq(h_stat_num(stats, "watcher_logbuf_size"), 128 * 1024);
    ck_assert_int_eq(h_stat_num(stats, "worker_logbuf_size"), 32 * 1024);
    char v[WATCH_FIELD_MAX];
    ck_assert(h_stat_str(stats, "stat_key_prefix", v, sizeof(v)));
    ck_assert_str_eq(v, ":");
    ck_assert(h_stat_str(stats, "detail_enabled", v, sizeof(v)));
    ck_assert_str_eq(v, "no");
}
END_TEST

static Suite *watch_suite(void)
{
    Suite *s = suite_create("watch");
    TCase *tc = tcase_create("watch");
    tcase_add_checked_fixture(tc, NULL, teardown);
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, watch_fetchers_and_mutations);
    tcase_add_test(tc, watch_deletions);
    tcase_add_test(tc, watch_encodes_keys);
    tcase_add_test(tc, watch_connevents);
    tcase_add_test(tc, watch_evictions);
    tcase_add_test(tc, watch_default_unknown_and_pipelined);
    tcase_add_test(tc, watch_after_pipelined_request);
    tcase_add_test(tc, watch_disabled);
    tcase_add_test(tc, watch_stats_and_detach);
    tcase_add_test(tc, watch_outlives_idle_timeout);
    tcase_add_test(tc, stats_detail_on_dump_off);
    tcase_add_test(tc, stats_detail_refused_by_no_dump);
    tcase_add_test(tc, stats_detail_over_binary);
    tcase_add_test(tc, stats_detail_over_binary_no_dump);
    tcase_add_test(tc, stats_detail_delimiter_flag);
    tcase_add_test(tc, log_buffer_settings);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return hc_run_suite(watch_suite());
}
