/*
 * test_stats_keys: the stats key lists, connection counts, wording and ascii
 * authentication of memcached 1.6.45, checked against the server under test.
 *
 * A drop-in suite (DROPIN_TESTS): every check holds for memcached 1.6.45 and
 * for slabcache, so `SERVER_BIN=memcached` runs it unchanged. Key lists are
 * written once, below, in memcached's order; a server passes when its keys
 * begin with the list (ours may add keys after memcached's, never between).
 * The log_* keys of `stats` belong to `watch` (its own suite) and are left
 * out of the comparison.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "t/client/hcheck.h"

#define SK_TIMEOUT_S 30
#define SK_NAMES_MAX 256
#define SK_NAME_LEN 96
#define SK_WAIT_MS 3000        /* a closed connection reaches the server's count */
#define SK_STEP_MS 10
#define SK_THREADS "4"
#define SK_UDP_CONNS 4         /* one per worker, as memcached counts them */
#define SK_EXIT_FAILURE 1      /* memcached's exit for a bad -Y file */
#define SK_EXIT_USAGE 64       /* EX_USAGE */
#define SK_OUT_MAX 4096
#define SK_HUP_WAIT_MS 5000    /* memcached rereads the file on its next 1 s clock tick */
#define SK_HUP_SETTLE_MS 2500  /* two of its ticks: a bad file has surely been tried */

struct h_server hc_srv;

/* memcached 1.6.45's `stats`, default build, without the log_* keys. */
static const char *const stats_keys[] = {
    "pid", "uptime", "time", "version", "libevent", "pointer_size", "rusage_user",
    "rusage_system", "max_connections", "curr_connections", "total_connections",
    "rejected_connections", "connection_structures", "response_obj_oom",
    "response_obj_count", "response_obj_bytes", "read_buf_count", "read_buf_bytes",
    "read_buf_bytes_free", "read_buf_oom", "reserved_fds", "cmd_get", "cmd_set",
    "cmd_flush", "cmd_touch", "cmd_meta", "get_hits", "get_misses", "get_expired",
    "get_flushed", "delete_misses", "delete_hits", "incr_misses", "incr_hits",
    "decr_misses", "decr_hits", "cas_misses", "cas_hits", "cas_badval", "touch_hits",
    "touch_misses", "store_too_large", "store_no_memory", "auth_cmds", "auth_errors",
    "bytes_read", "bytes_written", "limit_maxbytes", "accepting_conns",
    "listen_disabled_num", "time_in_listen_disabled_us", "threads", "conn_yields",
    "hash_power_level", "hash_bytes", "hash_is_expanding", "slab_reassign_rescues",
    "slab_reassign_chunk_rescues", "slab_reassign_inline_reclaim",
    "slab_reassign_busy_items", "slab_reassign_busy_deletes", "slab_reassign_busy_nomem",
    "slab_reassign_last_busy_status", "slab_reassign_running", "slabs_moved",
    "lru_crawler_running", "lru_crawler_starts", "lru_maintainer_juggles", "malloc_fails",
    "unexpected_napi_ids", "round_robin_fallback", "bytes", "curr_items", "total_items",
    "slab_global_page_pool", "expired_unfetched", "evicted_unfetched", "evicted_active",
    "evictions", "reclaimed", "crawler_reclaimed", "crawler_items_checked",
    "lrutail_reflocked", "moves_to_cold", "moves_to_warm", "moves_within_lru",
    "direct_reclaims", "lru_bumps_dropped",
};

/* `stats items`, per class ("items:N:" stripped). */
static const char *const items_keys[] = {
    "number", "number_hot", "number_warm", "number_cold", "age_hot", "age_warm", "age",
    "mem_requested", "evicted", "evicted_nonzero", "evicted_time", "outofmemory",
    "tailrepairs", "reclaimed", "expired_unfetched", "evicted_unfetched", "evicted_active",
    "crawler_reclaimed", "crawler_items_checked", "lrutail_reflocked", "moves_to_cold",
    "moves_to_warm", "moves_within_lru", "direct_reclaims", "hits_to_hot", "hits_to_warm",
    "hits_to_cold", "hits_to_temp",
};

/* `stats slabs`, per class ("N:" stripped), then the totals. */
static const char *const slabs_class_keys[] = {
    "chunk_size", "chunks_per_page", "total_pages", "total_chunks", "used_chunks",
    "free_chunks", "free_chunks_end", "get_hits", "cmd_set", "delete_hits", "incr_hits",
    "decr_hits", "cas_hits", "cas_badval", "touch_hits",
};
static const char *const slabs_total_keys[] = { "active_slabs", "total_malloced" };

#define SK_N(list) (sizeof(list) / sizeof((list)[0]))

static void sk_setup(void)
{
    HC_START("-t", SK_THREADS, NULL);
}

static void sk_teardown(void)
{
    h_server_stop(&hc_srv);
}

static void sk_sleep_ms(int ms)
{
    usleep((useconds_t)ms * 1000);
}

/*
 * The names of a stats reply's lines that start with prefix, prefix
 * stripped, in order; names of watch's (log_*) are skipped. Returns how many.
 */
static size_t sk_names(const char *reply, const char *prefix, char (*names)[SK_NAME_LEN])
{
    size_t n = 0, pl = strlen(prefix);
    for (const char *p = reply; p != NULL && *p != '\0' && n < SK_NAMES_MAX;) {
        const char *nl = strchr(p, '\n');
        if (strncmp(p, "STAT ", 5) == 0) {
            const char *name = p + 5;
            size_t len = strcspn(name, " \r\n");
            bool ours = len > pl && strncmp(name, prefix, pl) == 0 &&
                        memchr(name + pl, ':', len - pl) == NULL;
            if (ours && strncmp(name + pl, "log_", 4) != 0) {
                snprintf(names[n], SK_NAME_LEN, "%.*s", (int)(len - pl), name + pl);
                n++;
            }
        }
        p = nl != NULL ? nl + 1 : NULL;
    }
    return n;
}

/* The lines named with prefix begin with want[0..nwant), in that order. */
static void sk_expect_keys(const char *reply, const char *prefix, const char *const *want,
                           size_t nwant)
{
    static char got[SK_NAMES_MAX][SK_NAME_LEN];
    size_t n = sk_names(reply, prefix, got);
    for (size_t i = 0; i < nwant; i++) {
        ck_assert_msg(i < n, "%s: %zu keys, the %zuth should be %s%s", h_server_bin(), n,
                      i + 1, prefix, want[i]);
        ck_assert_msg(strcmp(got[i], want[i]) == 0, "%s: key %zu is %s%s, should be %s%s",
                      h_server_bin(), i + 1, prefix, got[i], prefix, want[i]);
    }
}

static void sk_stats(const char *group, char *buf, size_t cap)
{
    ck_assert_msg(h_stats(hc_srv.port, group, buf, cap), "stats %s failed",
                  group != NULL ? group : "");
}

/* A stats request on fd (which stays open), its reply into buf. */
static void sk_stats_on(int fd, const char *req, char *buf, size_t cap)
{
    ck_assert(h_send_str(fd, req));
    h_read_until(fd, buf, cap, "END\r\n", H_IO_TIMEOUT_MS, NULL);
}

/* `stats` on fd: one figure. */
static long long sk_stat_on(int fd, const char *name)
{
    static char buf[HC_REPLY_MAX];
    sk_stats_on(fd, "stats\r\n", buf, sizeof(buf));
    return h_stat_num(buf, name);
}

/* Polls `stats` on fd until name is want (closes arrive a little later). */
static long long sk_wait_stat(int fd, const char *name, long long want)
{
    long long v = sk_stat_on(fd, name);
    for (int waited = 0; v != want && waited < SK_WAIT_MS; waited += SK_STEP_MS) {
        sk_sleep_ms(SK_STEP_MS);
        v = sk_stat_on(fd, name);
    }
    return v;
}

/* ------------------------------------------------------------ key lists */

START_TEST(stats_general_keys)
{
    static char buf[HC_REPLY_MAX];
    sk_stats(NULL, buf, sizeof(buf));
    sk_expect_keys(buf, "", stats_keys, SK_N(stats_keys));
}
END_TEST

START_TEST(stats_items_and_slabs_keys)
{
    static char buf[HC_REPLY_MAX];
    int fd = hc_conn();
    HC_EXPECT(fd, "set k 0 0 1\r\nv\r\n", "STORED\r\n");
    close(fd);
    sk_stats("items", buf, sizeof(buf));
    char cls[32];
    ck_assert_msg(sscanf(buf, "STAT items:%31[0-9]:", cls) == 1, "no class in \"%s\"", buf);
    char prefix[48];
    snprintf(prefix, sizeof(prefix), "items:%s:", cls);
    sk_expect_keys(buf, prefix, items_keys, SK_N(items_keys));

    sk_stats("slabs", buf, sizeof(buf));
    snprintf(prefix, sizeof(prefix), "%s:", cls);
    sk_expect_keys(buf, prefix, slabs_class_keys, SK_N(slabs_class_keys));
    sk_expect_keys(buf, "", slabs_total_keys, SK_N(slabs_total_keys));
}
END_TEST

/* -------------------------------------------------------- connections */

/* A fresh server, -U 0: the listener counts as a connection, as in memcached. */
START_TEST(connection_counts)
{
    int fd = hc_conn();
    ck_assert_int_eq(sk_wait_stat(fd, "curr_connections", 1), 1);   /* start-up probes gone */
    /* memcached keeps a structure per descriptor ever used, slabcache frees
     * them: both have at least the listener's and this one */
    ck_assert_int_ge(sk_stat_on(fd, "connection_structures"), 2);
    long long total = sk_stat_on(fd, "total_connections");
    ck_assert_int_ge(total, 2);                     /* the listener counts as one */
    int other = hc_conn();
    ck_assert_int_eq(sk_wait_stat(fd, "curr_connections", 2), 2);
    ck_assert_int_eq(sk_stat_on(fd, "total_connections"), total + 1);
    close(other);
    ck_assert_int_eq(sk_wait_stat(fd, "curr_connections", 1), 1);
    close(fd);
}
END_TEST

/* `stats conns`: the listener's lines, then ours with its listen_addr. */
START_TEST(stats_conns_lines)
{
    static char buf[HC_REPLY_MAX];
    char want[128], port[16];
    snprintf(port, sizeof(port), "%d", hc_srv.port);
    int fd = hc_conn();
    sk_stats_on(fd, "stats conns\r\n", buf, sizeof(buf));
    close(fd);
    snprintf(want, sizeof(want), ":addr tcp:127.0.0.1:%s\r\n", port);
    const char *listener = strstr(buf, want);
    ck_assert_msg(listener != NULL, "no listener in \"%s\"", buf);
    ck_assert_msg(strstr(listener, ":state conn_listening\r\n") != NULL, "%s", buf);
    ck_assert_msg(strstr(listener, ":secs_since_last_cmd ") != NULL, "%s", buf);
    snprintf(want, sizeof(want), ":listen_addr tcp:127.0.0.1:%s\r\n", port);
    const char *client = strstr(buf, want);
    ck_assert_msg(client != NULL, "no client in \"%s\"", buf);
    ck_assert_msg(strstr(client, ":state conn_") != NULL, "%s", buf);
    ck_assert_msg(strstr(client, ":secs_since_last_cmd ") != NULL, "%s", buf);
}
END_TEST

/* With UDP each worker's UDP watch is a connection, as memcached counts. */
START_TEST(connection_counts_udp)
{
    static char buf[HC_REPLY_MAX];
    char udp[16], want[64];
    snprintf(udp, sizeof(udp), "%d", h_free_udp_port());
    h_server_stop(&hc_srv);
    HC_START("-t", SK_THREADS, "-U", udp, NULL);
    int fd = hc_conn();
    ck_assert_int_eq(sk_wait_stat(fd, "curr_connections", SK_UDP_CONNS + 1), SK_UDP_CONNS + 1);
    ck_assert_int_ge(sk_stat_on(fd, "connection_structures"), SK_UDP_CONNS + 2);
    ck_assert_int_ge(sk_stat_on(fd, "total_connections"), SK_UDP_CONNS + 2);
    sk_stats_on(fd, "stats conns\r\n", buf, sizeof(buf));
    close(fd);
    ck_assert_msg(strstr(buf, ":UDP UDP\r\n") != NULL, "no UDP line in \"%s\"", buf);
    snprintf(want, sizeof(want), ":addr udp:127.0.0.1:%s\r\n", udp);
    const char *line = strstr(buf, want);
    ck_assert_msg(line != NULL, "no UDP address in \"%s\"", buf);
    while (line > buf && line[-1] != ' ')          /* back to "STAT <fd>" */
        line--;
    snprintf(want, sizeof(want), "STAT %d:state conn_read\r\n", atoi(line));
    ck_assert_msg(strstr(buf, want) != NULL, "no \"%s\" in \"%s\"", want, buf);
}
END_TEST

/* ------------------------------------------------------------ wording */

START_TEST(empty_line_wording)
{
    int fd = hc_conn();
    HC_EXPECT(fd, "\r\n", "CLIENT_ERROR bad command line format\r\n");
    HC_EXPECT(fd, "\n", "CLIENT_ERROR bad command line format\r\n");
    HC_EXPECT(fd, "ab\n", "CLIENT_ERROR bad command line format\r\n");   /* under 4 bytes */
    HC_EXPECT(fd, "mn\n", "CLIENT_ERROR bad command line format\r\n");
    HC_EXPECT(fd, "ab\r\n", "ERROR\r\n");
    HC_EXPECT(fd, "   \r\n", "ERROR\r\n");
    HC_EXPECT(fd, "HTTP/1.1\r\n", "ERROR\r\n");          /* one token: not a request line */
    HC_EXPECT(fd, "get / HTTP/1.0\r\n", "END\r\n");      /* a command: run as one */
    HC_USABLE(fd);
    close(fd);
}
END_TEST

/* 1.6.45's parser: too few tokens, extra tokens, refused blocks, '+' signs. */
START_TEST(token_wording)
{
    const char *bad = "CLIENT_ERROR bad command line format\r\n";
    int fd = hc_conn();
    HC_EXPECT(fd, "set a 0 0\r\n", bad);
    HC_EXPECT(fd, "get\r\n", bad);
    HC_EXPECT(fd, "gat 10\r\n", bad);
    HC_EXPECT(fd, "incr a\r\n", bad);
    HC_EXPECT(fd, "touch a\r\n", bad);
    HC_EXPECT(fd, "verbosity\r\n", bad);
    HC_EXPECT(fd, "mg\r\n", bad);
    HC_EXPECT(fd, "set a 0 0 1 x y z\r\nv\r\n", "STORED\r\n");
    HC_EXPECT(fd, "set a 0 0 1 x y z noreply\r\nw\r\nget a\r\n", "VALUE a 0 1\r\nw\r\nEND\r\n");
    HC_EXPECT(fd, "set a 0 0 1\r\n1\r\nincr a 1 2 3\r\n", "STORED\r\n2\r\n");
    HC_EXPECT(fd, "set b x 0 1\r\nv\r\n", bad);                 /* block swallowed */
    HC_EXPECT(fd, "cas b 0 0 1\r\nv\r\n", bad);
    HC_EXPECT(fd, "set b 0 0 +1\r\nv\r\n", "CLIENT_ERROR bad command line format\r\n"
                                           "CLIENT_ERROR bad command line format\r\n");
    HC_EXPECT(fd, "incr a +1\r\n", "CLIENT_ERROR invalid numeric delta argument\r\n");
    HC_EXPECT(fd, "touch a +1\r\n", "CLIENT_ERROR invalid exptime argument\r\n");
    HC_EXPECT(fd, "flush_all 0 1 2\r\n", "OK\r\n");
    HC_EXPECT(fd, "shutdown\r\n", "SERVER_ERROR: shutdown not enabled\r\n");
    HC_USABLE(fd);
    close(fd);
}
END_TEST

/* An unknown command ending in "HTTP/...": hung up on, no reply. */
START_TEST(http_lines_close)
{
    static const char *const lines[] = {
        "GET / HTTP/1.0\r\n", "POST /form HTTP/1.1\r\n", "HEAD / HTTP/1.1\r\n",
        "PUT /x HTTP/1.1 \r\n", "OPTIONS * HTTP/1.1\r\n",
    };
    for (size_t i = 0; i < SK_N(lines); i++) {
        char got[64];
        bool closed = false;
        int fd = hc_conn();
        ck_assert(h_send_str(fd, lines[i]));
        size_t n = h_read_until(fd, got, sizeof(got), "\r\n", H_IO_TIMEOUT_MS, &closed);
        ck_assert_msg(closed && n == 0, "%s: got \"%s\"%s", lines[i], h_escape(got, n),
                      closed ? "" : ", still open");
        close(fd);
    }
}
END_TEST

/* ------------------------------------------------------------ ascii auth */

/* A password file for -Y in /tmp; the caller unlinks path. */
static void sk_authfile(char *path, size_t cap, const char *text)
{
    snprintf(path, cap, "/tmp/slabcache-t-auth-XXXXXX");
    int fd = mkstemp(path);
    ck_assert_msg(fd >= 0, "mkstemp");
    ck_assert(write(fd, text, strlen(text)) == (ssize_t)strlen(text));
    close(fd);
}

START_TEST(ascii_auth)
{
    static char buf[HC_REPLY_MAX];
    char path[64];
    sk_authfile(path, sizeof(path), "alice:secret\nbob:pw2\r\n");
    h_server_stop(&hc_srv);
    HC_START("-t", SK_THREADS, "-Y", path, NULL);

    int fd = hc_conn();
    HC_EXPECT(fd, "version\r\n", "CLIENT_ERROR unauthenticated\r\n");
    HC_EXPECT(fd, "get k\r\n", "CLIENT_ERROR unauthenticated\r\n");
    HC_EXPECT(fd, "set k 0 0 12\r\nalice wrong!\r\n", "CLIENT_ERROR authentication failure\r\n");
    HC_EXPECT(fd, "set k 0 0 11\r\nalicesecret\r\n",
              "CLIENT_ERROR bad authentication token format\r\n");
    HC_EXPECT(fd, "set k 0 0 99999\r\n", "CLIENT_ERROR auth token too long\r\n");
    HC_EXPECT(fd, "set k 0 0 12\r\nalice secret\r\n", "STORED\r\n");
    HC_EXPECT(fd, "set k 0 0 1\r\nv\r\nget k\r\n", "STORED\r\nVALUE k 0 1\r\nv\r\nEND\r\n");

    int other = hc_conn();                       /* each connection logs in itself */
    HC_EXPECT(other, "get k\r\n", "CLIENT_ERROR unauthenticated\r\n");
    HC_EXPECT(other, "set x 0 0 7\r\nbob pw2\r\n", "STORED\r\n");   /* a CRLF file's line */
    HC_EXPECT(other, "get k\r\n", "VALUE k 0 1\r\nv\r\nEND\r\n");
    close(other);

    sk_stats_on(fd, "stats\r\n", buf, sizeof(buf));
    ck_assert_int_eq(h_stat_num(buf, "auth_cmds"), 3);
    ck_assert_int_eq(h_stat_num(buf, "auth_errors"), 1);
    sk_stats_on(fd, "stats settings\r\n", buf, sizeof(buf));
    char value[96];
    ck_assert(h_stat_str(buf, "auth_enabled_ascii", value, sizeof(value)));
    ck_assert_str_eq(value, path);
    ck_assert(h_stat_str(buf, "binding_protocol", value, sizeof(value)));
    ck_assert_str_eq(value, "ascii");
    close(fd);

    /* a line too short to be a login: hung up on */
    fd = hc_conn();
    ck_assert(h_send_str(fd, "get\r\n"));
    ck_assert(h_wait_closed(fd, H_IO_TIMEOUT_MS));
    close(fd);
    unlink(path);
}
END_TEST

START_TEST(ascii_auth_off_by_default)
{
    static char buf[HC_REPLY_MAX];
    sk_stats("settings", buf, sizeof(buf));
    char value[16];
    ck_assert(h_stat_str(buf, "auth_enabled_ascii", value, sizeof(value)));
    ck_assert_str_eq(value, "no");
}
END_TEST

/* Runs the server with -Y and more; its exit status and stderr. */
static int sk_start_fails(const char *const *args, char *err, size_t cap)
{
    char out[SK_OUT_MAX];
    return h_run_capture(args, out, sizeof(out), err, cap, H_START_TIMEOUT_MS);
}

START_TEST(ascii_auth_refused_at_start)
{
    char err[SK_OUT_MAX], path[64], port[16], udp[16], want[128];
    bool root = geteuid() == 0;   /* both refuse root without -u */
    snprintf(port, sizeof(port), "%d", h_free_port());
    snprintf(udp, sizeof(udp), "%d", h_free_udp_port());

    const char *missing[] = { "-l", "127.0.0.1", "-p", port, "-U", "0", "-Y",
                              "/nonexistent/slabcache-auth", root ? "-u" : NULL, "root", NULL };
    ck_assert_int_eq(sk_start_fails(missing, err, sizeof(err)), SK_EXIT_FAILURE);
    ck_assert_msg(strstr(err, "Could not open authfile [/nonexistent/slabcache-auth] for "
                              "reading, error No such file or directory") != NULL, "%s", err);

    sk_authfile(path, sizeof(path), "alice:secret\nno colon here\n");
    const char *malformed[] = { "-l", "127.0.0.1", "-p", port, "-U", "0", "-Y", path,
                                root ? "-u" : NULL, "root", NULL };
    ck_assert_int_eq(sk_start_fails(malformed, err, sizeof(err)), SK_EXIT_FAILURE);
    snprintf(want, sizeof(want), "Authfile [%s] has a malformed entry. Should be "
                                 "'user:password'", path);
    ck_assert_msg(strstr(err, want) != NULL, "%s", err);
    unlink(path);

    sk_authfile(path, sizeof(path), "alice:secret\n");
    const char *with_udp[] = { "-l", "127.0.0.1", "-p", port, "-U", udp, "-Y", path,
                               root ? "-u" : NULL, "root", NULL };
    ck_assert_int_eq(sk_start_fails(with_udp, err, sizeof(err)), SK_EXIT_USAGE);
    ck_assert_msg(strstr(err, "Cannot use UDP with ascii authentication enabled") != NULL,
                  "%s", err);
    const char *binary[] = { "-l", "127.0.0.1", "-p", port, "-U", "0", "-B", "binary", "-Y",
                             path, root ? "-u" : NULL, "root", NULL };
    ck_assert_int_eq(sk_start_fails(binary, err, sizeof(err)), SK_EXIT_USAGE);
    ck_assert_msg(strstr(err, "You cannot allow the BINARY protocol while using ascii "
                              "authentication tokens.") != NULL, "%s", err);
    const char *automatic[] = { "-l", "127.0.0.1", "-p", port, "-U", "0", "-B", "auto", "-Y",
                                path, root ? "-u" : NULL, "root", NULL };
    ck_assert_int_eq(sk_start_fails(automatic, err, sizeof(err)), SK_EXIT_USAGE);
    ck_assert_msg(strstr(err, "You cannot allow the BINARY protocol while using ascii "
                              "authentication tokens.") != NULL, "%s", err);
    unlink(path);
}
END_TEST

/* Whether a new connection logs in with this "user pass" token. */
static bool sk_login_ok(const char *token)
{
    char req[128], got[64];
    int n = snprintf(req, sizeof(req), "set k 0 0 %zu\r\n%s\r\n", strlen(token), token);
    int fd = hc_conn();
    size_t len = h_roundtrip(fd, req, (size_t)n, got, sizeof(got) - 1, strlen("STORED\r\n"),
                             H_IO_TIMEOUT_MS);
    close(fd);
    got[len] = '\0';
    return strcmp(got, "STORED\r\n") == 0;
}

/* Rewrites the password file in place (same path, as an operator edits it). */
static void sk_rewrite(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    ck_assert_int_eq(fputs(text, f) >= 0, 1);
    ck_assert_int_eq(fclose(f), 0);
}

/* SIGHUP rereads -Y's file (memcached 1.6.45); a malformed one keeps the
 * entries in force, and the server goes on. */
START_TEST(ascii_auth_reload_on_hup)
{
    char path[64];
    sk_authfile(path, sizeof(path), "alice:secret\n");
    h_server_stop(&hc_srv);
    HC_START("-Y", path, NULL);
    ck_assert(sk_login_ok("alice secret"));
    ck_assert(!sk_login_ok("carol pw3"));

    sk_rewrite(path, "carol:pw3\n");
    ck_assert_int_eq(kill(hc_srv.pid, SIGHUP), 0);
    int waited = 0;
    while (!sk_login_ok("carol pw3") && waited < SK_HUP_WAIT_MS) {
        sk_sleep_ms(SK_STEP_MS * 10);
        waited += SK_STEP_MS * 10;
    }
    ck_assert_msg(waited < SK_HUP_WAIT_MS, "carol not accepted %d ms after SIGHUP", waited);
    ck_assert(!sk_login_ok("alice secret"));

    sk_rewrite(path, "no colon here\n");
    ck_assert_int_eq(kill(hc_srv.pid, SIGHUP), 0);
    sk_sleep_ms(SK_HUP_SETTLE_MS);
    ck_assert(sk_login_ok("carol pw3"));
    ck_assert_int_eq(kill(hc_srv.pid, 0), 0);
    unlink(path);
}
END_TEST

static Suite *sk_suite(void)
{
    Suite *s = suite_create("stats_keys");
    TCase *tc = tcase_create("stats_keys");
    tcase_add_checked_fixture(tc, sk_setup, sk_teardown);
    tcase_set_timeout(tc, SK_TIMEOUT_S);
    tcase_add_test(tc, stats_general_keys);
    tcase_add_test(tc, ascii_auth_reload_on_hup);
    tcase_add_test(tc, stats_items_and_slabs_keys);
    tcase_add_test(tc, connection_counts);
    tcase_add_test(tc, stats_conns_lines);
    tcase_add_test(tc, connection_counts_udp);
    tcase_add_test(tc, empty_line_wording);
    tcase_add_test(tc, token_wording);
    tcase_add_test(tc, http_lines_close);
    tcase_add_test(tc, ascii_auth);
    tcase_add_test(tc, ascii_auth_off_by_default);
    tcase_add_test(tc, ascii_auth_refused_at_start);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return hc_run_suite(sk_suite());
}
