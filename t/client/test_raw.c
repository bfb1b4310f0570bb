/*
 * test_raw: the text protocol over raw sockets, byte for byte.
 *
 * Each test asserts exact reply bytes and what the connection does next.
 * The expected bytes are those of memcached 1.6.45 where its wording moved
 * on from 1.6.18 (format errors for too few tokens, refused blocks
 * swallowed), else of both (delete's usage line: 1.6.18's); the
 * slabcache-only stats (mem_requested, chunk_waste, chunk_waste_pct in
 * `stats slabs`) are checked only when the server under test is slabcache.
 */
#include <arpa/inet.h>
#include <signal.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "t/client/hcheck.h"

#define RAW_KEY_MAX 250
#define RAW_TOO_LARGE (2 * 1024 * 1024)
#define RAW_LONG_LINE 4096
#define RAW_CLOSE_WAIT_MS 3000
#define RAW_PIPELINE_N 50
#define RAW_TIMEOUT_S 30
#define RAW_PCT_TOLERANCE 0.051

struct h_server hc_srv;

static void raw_setup(void)
{
    HC_START(NULL);
}

static void raw_teardown(void)
{
    h_server_stop(&hc_srv);
}

START_TEST(unknown_command)
{
    int fd = hc_conn();
    HC_EXPECT(fd, "foo\r\n", "ERROR\r\n");
    HC_EXPECT(fd, "GET a\r\n", "ERROR\r\n");
    HC_EXPECT(fd, "\r\n", "CLIENT_ERROR bad command line format\r\n");   /* 1.6.45 */
    HC_EXPECT(fd, "  \r\n", "ERROR\r\n");
    HC_USABLE(fd);
    close(fd);
}
END_TEST

START_TEST(too_few_tokens)
{
    int fd = hc_conn();
    /* 1.6.45: a format error (1.6.18 said ERROR) */
    const char *bad = "CLIENT_ERROR bad command line format\r\n";
    HC_EXPECT(fd, "set\r\n", bad);
    HC_EXPECT(fd, "set a 0 0\r\n", bad);
    HC_EXPECT(fd, "get\r\n", bad);
    HC_EXPECT(fd, "incr a\r\n", bad);
    HC_EXPECT(fd, "delete\r\n", bad);
    HC_EXPECT(fd, "touch a\r\n", bad);
    HC_EXPECT(fd, "cas a 0 0 1\r\nx\r\n", bad);    /* no unique: the block swallowed */
    HC_EXPECT(fd, "verbosity\r\n", bad);
    HC_USABLE(fd);
    close(fd);
}
END_TEST

/* A bad length is refused without reading data: the next line is a command. */
START_TEST(bad_length)
{
    static const char *const lens[] = { "x", "-1", "1x", "99999999999999999999" };
    int fd = hc_conn();
    for (size_t i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
        char req[128];
        snprintf(req, sizeof(req), "set a 0 0 %s\r\n", lens[i]);
        HC_EXPECT(fd, req, "CLIENT_ERROR bad command line format\r\n");
    }
    HC_USABLE(fd);
    close(fd);
}
END_TEST

START_TEST(bad_flags_exptime)
{
    int fd = hc_conn();
    /* 1.6.45 swallows the data block of a refused line with a good length */
    const char *bad = "CLIENT_ERROR bad command line format\r\n";
    HC_EXPECT(fd, "set bf x 0 1\r\nx\r\n", bad);
    HC_EXPECT(fd, "set bf -1 0 1\r\nx\r\n", bad);
    HC_EXPECT(fd, "set bf 0 x 1\r\nx\r\n", bad);
    HC_EXPECT(fd, "cas bf 0 0 1 x\r\nx\r\n", bad);
    HC_EXPECT(fd, "cas bf 0 0 1\r\nx\r\n", bad);
    HC_EXPECT(fd, "get bf\r\n", "END\r\n");
    HC_USABLE(fd);
    close(fd);
}
END_TEST

START_TEST(bad_numbers)
{
    int fd = hc_conn();
    HC_EXPECT(fd, "set n 0 0 1\r\n5\r\n", "STORED\r\n");
    HC_EXPECT(fd, "incr n x\r\n", "CLIENT_ERROR invalid numeric delta argument\r\n");
    HC_EXPECT(fd, "incr n 18446744073709551616\r\n",
              "CLIENT_ERROR invalid numeric delta argument\r\n");
    HC_EXPECT(fd, "set s 0 0 3\r\nabc\r\n", "STORED\r\n");
    HC_EXPECT(fd, "incr s 1\r\n",
              "CLIENT_ERROR cannot increment or decrement non-numeric value\r\n");
    HC_EXPECT(fd, "incr nokey 1\r\n", "NOT_FOUND\r\n");
    HC_EXPECT(fd, "flush_all x\r\n", "CLIENT_ERROR invalid exptime argument\r\n");
    HC_EXPECT(fd, "gat x n\r\n", "CLIENT_ERROR invalid exptime argument\r\n");
    HC_EXPECT(fd, "incr n +1\r\n", "CLIENT_ERROR invalid numeric delta argument\r\n");
    /* 1.6.18's usage line, which memccapable checks: 1.6.45 deletes */
    if (h_is_slabcache())
        HC_EXPECT(fd, "delete n 5\r\n",
                  "CLIENT_ERROR bad command line format.  Usage: delete <key> [noreply]\r\n");
    HC_EXPECT(fd, "delete n 0\r\n", "DELETED\r\n");
    HC_USABLE(fd);
    close(fd);
}
END_TEST

START_TEST(bad_data_chunk)
{
    int fd = hc_conn();
    /* "a" then "b\r" where "\r\n" belongs: refused; the "\n" left is an
     * empty line (1.6.45: a format error). */
    HC_EXPECT(fd, "set bd 0 0 1\r\nab\r\n",
              "CLIENT_ERROR bad data chunk\r\nCLIENT_ERROR bad command line format\r\n");
    HC_EXPECT(fd, "get bd\r\n", "END\r\n");
    HC_EXPECT(fd, "set bd 0 0 1 noreply\r\nab\r\n", "CLIENT_ERROR bad command line format\r\n");
    HC_EXPECT(fd, "get bd\r\n", "END\r\n");
    HC_USABLE(fd);
    close(fd);
}
END_TEST

START_TEST(too_large_swallowed)
{
    int fd = hc_conn();
    const char *head = "set big 0 0 2097152\r\n";
    size_t hl = strlen(head), total = hl + RAW_TOO_LARGE + strlen("\r\nget big\r\n");
    char *req = malloc(total + 1);
    memcpy(req, head, hl);
    memset(req + hl, 'v', RAW_TOO_LARGE);
    memcpy(req + hl + RAW_TOO_LARGE, "\r\nget big\r\n", strlen("\r\nget big\r\n"));
    HC_EXPECT_N(fd, req, total, "SERVER_ERROR object too large for cache\r\nEND\r\n");
    free(req);
    HC_USABLE(fd);
    close(fd);
}
END_TEST

static char *raw_key(size_t len)
{
    char *k = malloc(len + 1);
    memset(k, 'k', len);
    k[len] = '\0';
    return k;
}

START_TEST(key_length_limit)
{
    char req[1024], exp[1024];
    int fd = hc_conn();
    char *k250 = raw_key(RAW_KEY_MAX), *k251 = raw_key(RAW_KEY_MAX + 1);

    snprintf(req, sizeof(req), "set %s 0 0 1\r\nx\r\n", k250);
    HC_EXPECT(fd, req, "STORED\r\n");
    snprintf(req, sizeof(req), "get %s\r\n", k250);
    snprintf(exp, sizeof(exp), "VALUE %s 0 1\r\nx\r\nEND\r\n", k250);
    HC_EXPECT(fd, req, exp);
    snprintf(req, sizeof(req), "get %s\r\n", k251);
    HC_EXPECT(fd, req, "CLIENT_ERROR bad command line format\r\n");
    snprintf(req, sizeof(req), "get %s b\r\n", k251);
    HC_EXPECT(fd, req, "CLIENT_ERROR bad command line format\r\n");
    /* 1.6.45 swallows the data of a refused set */
    snprintf(req, sizeof(req), "set %s 0 0 1\r\na\r\n", k251);
    HC_EXPECT(fd, req, "CLIENT_ERROR bad command line format\r\n");
    HC_USABLE(fd);
    free(k250);
    free(k251);
    close(fd);
}
END_TEST

START_TEST(line_too_long_closes)
{
    char line[RAW_LONG_LINE], got[256];
    bool closed = false;
    int fd = hc_conn();
    memset(line, 'x', sizeof(line));
    ck_assert(h_send(fd, line, sizeof(line)));
    size_t n = h_read_until(fd, got, sizeof(got), NULL, RAW_CLOSE_WAIT_MS, &closed);
    ck_assert_msg(closed, "a %d-byte line without newline left the connection open",
                  RAW_LONG_LINE);
    ck_assert_msg(n == 0, "expected no reply, got \"%s\"", h_escape(got, n));
    close(fd);
    /* The server still serves others. */
    fd = hc_conn();
    HC_USABLE(fd);
    close(fd);
}
END_TEST

/* A long `get` line is allowed: it is many keys, not garbage. */
START_TEST(long_get_line)
{
    int fd = hc_conn();
    size_t keys = 2000, len = strlen("get") + keys * 3 + 2;
    char *req = malloc(len + 1), *exp = malloc(keys * 32 + 16), *p = req;
    p += sprintf(p, "get");
    for (size_t i = 0; i < keys; i++)
        p += sprintf(p, " lg");
    p += sprintf(p, "\r\n");
    HC_EXPECT(fd, "set lg 0 0 1\r\nz\r\n", "STORED\r\n");
    char *e = exp;
    for (size_t i = 0; i < keys; i++)
        e += sprintf(e, "VALUE lg 0 1\r\nz\r\n");
    sprintf(e, "END\r\n");
    HC_EXPECT_N(fd, req, (size_t)(p - req), exp);
    free(req);
    free(exp);
    HC_USABLE(fd);
    close(fd);
}
END_TEST

START_TEST(pipelined_in_order)
{
    int fd = hc_conn();
    HC_EXPECT(fd,
              "set p 5 0 2\r\nhi\r\nget p\r\nappend p 0 0 1\r\n!\r\ngets nope\r\n"
              "delete p\r\nget p\r\nadd c 0 0 1\r\n7\r\nincr c 3\r\ndecr c 20\r\n"
              "touch c 100\r\n",
              "STORED\r\nVALUE p 5 2\r\nhi\r\nEND\r\nSTORED\r\nEND\r\n"
              "DELETED\r\nEND\r\nSTORED\r\n10\r\n0\r\nTOUCHED\r\n");
    ck_assert(h_usable(fd));
    /* Many in one write. */
    char req[RAW_PIPELINE_N * 64], exp[RAW_PIPELINE_N * 64];
    char *r = req, *e = exp;
    for (int i = 0; i < RAW_PIPELINE_N; i++) {
        r += sprintf(r, "set k%d 0 0 %d\r\n%d\r\nget k%d\r\n", i, i < 10 ? 1 : 2, i, i);
        e += sprintf(e, "STORED\r\nVALUE k%d 0 %d\r\n%d\r\nEND\r\n", i, i < 10 ? 1 : 2, i);
    }
    HC_EXPECT_N(fd, req, (size_t)(r - req), exp);
    close(fd);
}
END_TEST

START_TEST(split_byte_by_byte)
{
    const char *req = "set sp 3 0 5\r\nhello\r\ngets nope sp\r\nincr\r\n";
    const char *exp_head = "STORED\r\nVALUE sp 3 5 ";
    char got[256];
    int fd = hc_conn();
    struct timespec ms = { 0, 1000000 };
    for (size_t i = 0; req[i]; i++) {
        ck_assert(h_send(fd, req + i, 1));
        nanosleep(&ms, NULL);
    }
    size_t n = h_read_until(fd, got, sizeof(got), "format\r\n", H_IO_TIMEOUT_MS, NULL);
    ck_assert_msg(strncmp(got, exp_head, strlen(exp_head)) == 0, "got \"%s\"",
                  h_escape(got, n));
    const char *rest = strstr(got + strlen(exp_head), "\r\n");
    ck_assert_msg(rest && strcmp(rest, "\r\nhello\r\nEND\r\n"
                                       "CLIENT_ERROR bad command line format\r\n") == 0,
                  "got \"%s\"", h_escape(got, n));
    HC_USABLE(fd);
    close(fd);
}
END_TEST

START_TEST(version_and_verbosity)
{
    char got[128];
    int fd = hc_conn();
    size_t n = h_roundtrip(fd, "version\r\n", 9, got, sizeof(got), 10, H_IO_TIMEOUT_MS);
    n += h_read_until(fd, got + n, sizeof(got) - n, "\r\n", H_IO_TIMEOUT_MS, NULL);
    ck_assert_msg(strncmp(got, "VERSION ", 8) == 0 && n > 10 && got[8] != '\r',
                  "got \"%s\"", h_escape(got, n));
    /*
     * Clients parse "major.minor.micro" and refuse a major of 0:
     * libmemcached's memcached_version() fails ("strtol() failed to parse
     * major version") and memccapable then expects pre-1.x error replies.
     */
    unsigned major = 0, minor = 0, micro = 0;
    ck_assert_msg(sscanf(got + 8, "%u.%u.%u", &major, &minor, &micro) == 3 && major >= 1,
                  "version \"%s\" is not major.minor.micro with major >= 1",
                  h_escape(got, n));
    HC_EXPECT(fd, "verbosity 1\r\n", "OK\r\n");
    HC_EXPECT(fd, "verbosity 0 noreply\r\nget x\r\n", "END\r\n");
    HC_EXPECT(fd, "flush_all 0\r\n", "OK\r\n");
    HC_EXPECT(fd, "flush_all noreply\r\nget x\r\n", "END\r\n");
    close(fd);
}
END_TEST

START_TEST(gat_and_touch)
{
    int fd = hc_conn();
    HC_EXPECT(fd, "set g 9 0 1\r\nx\r\n", "STORED\r\n");
    HC_EXPECT(fd, "gat 100 g nope\r\n", "VALUE g 9 1\r\nx\r\nEND\r\n");
    HC_EXPECT(fd, "touch g 10\r\n", "TOUCHED\r\n");
    HC_EXPECT(fd, "touch nog 10\r\n", "NOT_FOUND\r\n");
    /* A negative exptime expires at once. */
    HC_EXPECT(fd, "gat -1 g\r\n", "VALUE g 9 1\r\nx\r\nEND\r\n");
    HC_EXPECT(fd, "get g\r\n", "END\r\n");
    HC_USABLE(fd);
    close(fd);
}
END_TEST

static char raw_stats_buf[HC_REPLY_MAX];

static const char *raw_stats(const char *group)
{
    ck_assert_msg(h_stats(hc_srv.port, group, raw_stats_buf, sizeof(raw_stats_buf)),
                  "`stats %s` did not end with END", group ? group : "");
    return raw_stats_buf;
}

START_TEST(stats_general)
{
    static const char *const names[] = {
        "uptime", "time", "curr_connections", "total_connections",
        "rejected_connections", "cmd_get", "cmd_set", "get_hits", "get_misses",
        "curr_items", "total_items", "bytes", "limit_maxbytes", "threads",
        "evictions", "bytes_read", "bytes_written", "max_connections",
    };
    int fd = hc_conn();
    HC_EXPECT(fd, "set s1 0 0 3\r\nabc\r\nget s1 nope\r\n",
              "STORED\r\nVALUE s1 0 3\r\nabc\r\nEND\r\n");
    const char *st = raw_stats(NULL);
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        ck_assert_msg(h_stat_num(st, names[i]) >= 0, "stats lacks %s", names[i]);
    ck_assert_int_eq(h_stat_num(st, "pid"), hc_srv.pid);
    ck_assert_int_eq(h_stat_num(st, "cmd_set"), 1);
    ck_assert_int_eq(h_stat_num(st, "cmd_get"), 2);
    ck_assert_int_eq(h_stat_num(st, "get_hits"), 1);
    ck_assert_int_eq(h_stat_num(st, "get_misses"), 1);
    ck_assert_int_eq(h_stat_num(st, "curr_items"), 1);
    ck_assert_int_eq(h_stat_num(st, "limit_maxbytes"), 64 * 1024 * 1024);
    ck_assert_int_eq(h_stat_num(st, "threads"), 4);
    ck_assert_int_eq(h_stat_num(st, "rejected_connections"), 0);
    ck_assert_int_eq(h_stat_num(st, "max_connections"), 1024);
    /* `stats` reports the same version as the `version` command (clients parse both). */
    char ver[64], line[80];
    ck_assert(h_stat_str(st, "version", ver, sizeof(ver)) && ver[0] != '\0');
    snprintf(line, sizeof(line), "VERSION %s\r\n", ver);
    HC_EXPECT(fd, "version\r\n", line);
    HC_EXPECT(fd, "stats bogus\r\n", "ERROR\r\n");
    close(fd);
}
END_TEST

/* The class that holds "a" is the one whose used_chunks is 1. */
static int raw_used_class(const char *st)
{
    for (int c = 1; c < 256; c++) {
        char name[64];
        snprintf(name, sizeof(name), "%d:used_chunks", c);
        if (h_stat_num(st, name) == 1)
            return c;
    }
    return -1;
}

static long long raw_cls(const char *st, int cls, const char *field)
{
    char name[64];
    snprintf(name, sizeof(name), "%d:%s", cls, field);
    long long v = h_stat_num(st, name);
    ck_assert_msg(v >= 0, "stats slabs lacks %s", name);
    return v;
}

START_TEST(stats_slabs_items)
{
    static const char *const fields[] = {
        "chunk_size", "chunks_per_page", "total_pages", "total_chunks",
        "used_chunks", "free_chunks", "free_chunks_end", "get_hits", "cmd_set",
    };
    int fd = hc_conn();
    HC_EXPECT(fd, "set a 0 0 1\r\nx\r\n", "STORED\r\n");
    char slabs[HC_REPLY_MAX];
    snprintf(slabs, sizeof(slabs), "%s", raw_stats("slabs"));
    int cls = raw_used_class(slabs);
    ck_assert_msg(cls >= 1, "no class with used_chunks 1 in: %s", slabs);
    for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++)
        raw_cls(slabs, cls, fields[i]);
    ck_assert_int_eq(raw_cls(slabs, cls, "total_chunks"),
                     raw_cls(slabs, cls, "total_pages") *
                         raw_cls(slabs, cls, "chunks_per_page"));
    ck_assert_int_eq(raw_cls(slabs, cls, "cmd_set"), 1);
    ck_assert_int_eq(h_stat_num(slabs, "active_slabs"), 1);
    ck_assert(h_stat_num(slabs, "total_malloced") > 0);

    const char *items = raw_stats("items");
    char name[64];
    snprintf(name, sizeof(name), "items:%d:number", cls);
    ck_assert_int_eq(h_stat_num(items, name), 1);
    snprintf(name, sizeof(name), "items:%d:evicted", cls);
    ck_assert_int_eq(h_stat_num(items, name), 0);
    snprintf(name, sizeof(name), "items:%d:lrutail_reflocked", cls);
    ck_assert_int_eq(h_stat_num(items, name), 0);
    snprintf(name, sizeof(name), "items:%d:mem_requested", cls);
    long long req = h_stat_num(items, name);
    ck_assert_msg(req > 2 && req <= raw_cls(slabs, cls, "chunk_size"),
                  "items mem_requested %lld", req);

    if (h_is_slabcache()) {
        /* slabcache adds the waste to `stats slabs`. */
        long long mreq = raw_cls(slabs, cls, "mem_requested");
        ck_assert_int_eq(mreq, req);
        ck_assert_int_eq(raw_cls(slabs, cls, "chunk_waste"),
                         raw_cls(slabs, cls, "used_chunks") *
                             raw_cls(slabs, cls, "chunk_size") - mreq);
        char pct[32], key[64];
        snprintf(key, sizeof(key), "%d:chunk_waste_pct", cls);
        ck_assert_msg(h_stat_str(slabs, key, pct, sizeof(pct)), "lacks %s", key);
        double want = 100.0 * (double)raw_cls(slabs, cls, "chunk_waste") /
                      (double)(raw_cls(slabs, cls, "used_chunks") *
                               raw_cls(slabs, cls, "chunk_size"));
        double got = strtod(pct, NULL);
        /* printed rounded: one decimal at least */
        ck_assert_msg(got > want - RAW_PCT_TOLERANCE && got < want + RAW_PCT_TOLERANCE,
                      "chunk_waste_pct %s, computed %.2f", pct, want);
        /* one item in one class: the totals are that class's figures */
        ck_assert_int_eq(h_stat_num(slabs, "total_mem_requested"), mreq);
        ck_assert_int_eq(h_stat_num(slabs, "total_chunk_waste"),
                         raw_cls(slabs, cls, "chunk_waste"));
        ck_assert_msg(h_stat_str(slabs, "total_chunk_waste_pct", pct, sizeof(pct)),
                      "lacks total_chunk_waste_pct");
        ck_assert_msg(strtod(pct, NULL) > want - RAW_PCT_TOLERANCE &&
                      strtod(pct, NULL) < want + RAW_PCT_TOLERANCE,
                      "total_chunk_waste_pct %s, computed %.2f", pct, want);
    }
    close(fd);
}
END_TEST

START_TEST(stats_settings_sizes_conns)
{
    char exp[64];
    int fd = hc_conn();
    const char *st = raw_stats("settings");
    ck_assert_int_eq(h_stat_num(st, "tcpport"), hc_srv.port);
    ck_assert_int_eq(h_stat_num(st, "udpport"), 0);
    ck_assert_int_eq(h_stat_num(st, "maxbytes"), 64 * 1024 * 1024);
    ck_assert_int_eq(h_stat_num(st, "maxconns"), 1024);
    ck_assert_int_eq(h_stat_num(st, "item_size_max"), 1024 * 1024);
    ck_assert_int_eq(h_stat_num(st, "chunk_size"), 48);
    ck_assert_int_eq(h_stat_num(st, "num_threads"), 4);
    ck_assert_int_eq(h_stat_num(st, "verbosity"), 0);
    char v[64];
    ck_assert(h_stat_str(st, "growth_factor", v, sizeof(v)));
    ck_assert_str_eq(v, "1.25");
    ck_assert(h_stat_str(st, "evictions", v, sizeof(v)));
    ck_assert_str_eq(v, "on");
    ck_assert(h_stat_str(st, "cas_enabled", v, sizeof(v)));
    ck_assert_str_eq(v, "yes");

    HC_EXPECT(fd, "stats sizes\r\n", "STAT sizes_status disabled\r\nEND\r\n");

    st = raw_stats("conns");
    snprintf(exp, sizeof(exp), ":addr tcp:127.0.0.1:%d\r\n", hc_srv.port);
    ck_assert_msg(strstr(st, exp) != NULL, "stats conns lacks \"%s\": %s", exp, st);
    ck_assert_msg(strstr(st, ":state conn_listening\r\n") != NULL,
                  "stats conns lacks the listener's state: %s", st);
    ck_assert_msg(strstr(st, ":secs_since_last_cmd ") != NULL, "%s", st);
    /* Our other connection is listed by its own address. */
    struct sockaddr_in me;
    socklen_t ml = sizeof(me);
    ck_assert(getsockname(fd, (struct sockaddr *)&me, &ml) == 0);
    snprintf(exp, sizeof(exp), ":addr tcp:127.0.0.1:%d\r\n", ntohs(me.sin_port));
    ck_assert_msg(strstr(st, exp) != NULL, "stats conns lacks \"%s\": %s", exp, st);
    close(fd);
}
END_TEST

/*
 * Protocol tests share one server (an unchecked fixture, started once in the
 * runner; each test uses its own keys); stats tests count commands, so each
 * gets a fresh server (checked fixture).
 */
/*
 * A client that writes a pipeline and half-closes (`nc -q1`) gets every
 * answer, also past -R (20 requests per event), before the server closes.
 */
START_TEST(half_close_answers_all)
{
    enum { N = 75 };
    char req[N * 4 + 1] = "", want[N * 4 + 1] = "";
    for (int i = 0; i < N; i++) {
        strcat(req, "mn\r\n");
        strcat(want, "MN\r\n");
    }
    int fd = hc_conn();
    /* Stopped while the pipeline and the FIN arrive, the server finds both
     * queued at once: the EOF comes while requests are still unanswered. */
    ck_assert_int_eq(kill(hc_srv.pid, SIGSTOP), 0);
    ck_assert(h_send_str(fd, req));
    ck_assert_int_eq(shutdown(fd, SHUT_WR), 0);
    usleep(100 * 1000);
    ck_assert_int_eq(kill(hc_srv.pid, SIGCONT), 0);
    static char got[N * 4 + 64];
    bool closed = false;
    size_t n = h_read_until(fd, got, sizeof(got), NULL, H_IO_TIMEOUT_MS, &closed);
    while (!closed && n < sizeof(got) - 1) {
        size_t more = h_read_until(fd, got + n, sizeof(got) - n, NULL, H_IO_TIMEOUT_MS, &closed);
        if (more == 0)
            break;
        n += more;
    }
    ck_assert_uint_eq(n, strlen(want));
    ck_assert_str_eq(got, want);
    ck_assert(closed || h_wait_closed(fd, H_IO_TIMEOUT_MS));
    close(fd);
}
END_TEST

static Suite *raw_suite(void)
{
    Suite *s = suite_create("raw");
    TCase *tc = tcase_create("protocol");
    tcase_add_unchecked_fixture(tc, raw_setup, raw_teardown);
    tcase_set_timeout(tc, RAW_TIMEOUT_S);
    tcase_add_test(tc, unknown_command);
    tcase_add_test(tc, too_few_tokens);
    tcase_add_test(tc, bad_length);
    tcase_add_test(tc, bad_flags_exptime);
    tcase_add_test(tc, bad_numbers);
    tcase_add_test(tc, bad_data_chunk);
    tcase_add_test(tc, too_large_swallowed);
    tcase_add_test(tc, key_length_limit);
    tcase_add_test(tc, line_too_long_closes);
    tcase_add_test(tc, long_get_line);
    tcase_add_test(tc, pipelined_in_order);
    tcase_add_test(tc, split_byte_by_byte);
    tcase_add_test(tc, version_and_verbosity);
    tcase_add_test(tc, gat_and_touch);
    tcase_add_test(tc, half_close_answers_all);
    suite_add_tcase(s, tc);

    TCase *ts = tcase_create("stats");
    tcase_add_checked_fixture(ts, raw_setup, raw_teardown);
    tcase_set_timeout(ts, RAW_TIMEOUT_S);
    tcase_add_test(ts, stats_general);
    tcase_add_test(ts, stats_slabs_items);
    tcase_add_test(ts, stats_settings_sizes_conns);
    suite_add_tcase(s, ts);
    return s;
}

int main(void)
{
    return hc_run_suite(raw_suite());
}
