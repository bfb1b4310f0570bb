/*
 * test_options: memcached 1.6.45's command line against a started server.
 *
 * A drop-in suite (DROPIN_TESTS): every check runs against slabcache and,
 * through `make check-dropin`, against memcached 1.6.45 too, so a command
 * line one starts and the other refuses, or a reply that differs, fails.
 * What is ours alone (the -v notices of no-op options, the refusal of
 * features this build lacks and the words of -l's refusals, the
 * `slabcache_version` stat, no_maxconns_fast's pause) is checked only when
 * h_is_slabcache().
 *
 * Covered: the command lines issue 14 lists as refused (each must start and
 * answer `version`), -F (flush_all refused over text and binary), -X (dump
 * commands refused), -p 0 with -s or -U (no TCP), -U alone (TCP on its
 * port too), -l's
 * proto[...]:tag[...]:ip:port forms, the version strings, and the keys of
 * `stats settings` in memcached's order. Every server runs on a free
 * 127.0.0.1 port and every wait is bounded (H_IO_TIMEOUT_MS).
 */
#include <arpa/inet.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "t/client/hcheck.h"

#define OP_TIMEOUT_S 60
#define OP_OUT_MAX 65536
#define OP_ARGS_MAX 16
#define OP_PORT_TEXT 16
#define OP_BIN_HEADER 24
#define OP_BIN_REQUEST 0x80
#define OP_BIN_RESPONSE 0x81
#define OP_BIN_FLUSH 0x08
#define OP_BIN_VERSION 0x0b
#define OP_BIN_AUTH_ERROR 0x20
#define OP_BIN_AUTH_TEXT "Auth failure."
#define OP_VERSION "1.6.45"
#define OP_EX_USAGE 64                /* memcached's exit code for a bad option */
#define OP_EX_OSERR 71                /* ... and when it cannot listen */
#define OP_QUIET_MS 300               /* no reply within this: none is coming */
#define OP_PATH_MAX 128
#define OP_RETRY_MS 20

struct h_server hc_srv;

static void op_teardown(void)
{
    h_server_stop(&hc_srv);
}

/* A binary request header with no extras, key or body. */
static void op_bin_request(unsigned char *h, uint8_t opcode, uint32_t opaque)
{
    memset(h, 0, OP_BIN_HEADER);
    h[0] = OP_BIN_REQUEST;
    h[1] = opcode;
    uint32_t be = htonl(opaque);
    memcpy(h + 12, &be, sizeof(be));
}

/* Sends a bare binary request; returns the reply (header + body) in buf. */
static size_t op_bin_roundtrip(int fd, uint8_t opcode, uint32_t opaque, unsigned char *buf,
                               size_t cap)
{
    unsigned char req[OP_BIN_HEADER];
    op_bin_request(req, opcode, opaque);
    ck_assert(h_send(fd, req, sizeof(req)));
    size_t n = h_read_n(fd, (char *)buf, OP_BIN_HEADER, H_IO_TIMEOUT_MS);
    ck_assert_uint_eq(n, OP_BIN_HEADER);
    uint32_t body;
    memcpy(&body, buf + 8, sizeof(body));
    body = ntohl(body);
    ck_assert_uint_le(OP_BIN_HEADER + body, cap);
    n += h_read_n(fd, (char *)buf + OP_BIN_HEADER, body, H_IO_TIMEOUT_MS);
    ck_assert_uint_eq(n, OP_BIN_HEADER + body);
    return n;
}

/* A reply frame: magic, opcode, status, opaque, and its body as text. */
static void op_bin_expect(const unsigned char *r, size_t n, uint8_t opcode, uint16_t status,
                          uint32_t opaque, const char *body)
{
    ck_assert_uint_eq(r[0], OP_BIN_RESPONSE);
    ck_assert_uint_eq(r[1], opcode);
    ck_assert_uint_eq((unsigned)(r[6] << 8 | r[7]), status);
    uint32_t be;
    memcpy(&be, r + 12, sizeof(be));
    ck_assert_uint_eq(ntohl(be), opaque);
    ck_assert_uint_eq(n - OP_BIN_HEADER, strlen(body));
    ck_assert(memcmp(r + OP_BIN_HEADER, body, strlen(body)) == 0);
}

static void op_expect_version(int port)
{
    int fd = h_connect(port);
    ck_assert_msg(fd >= 0, "connect to port %d failed", port);
    HC_EXPECT(fd, "version\r\n", "VERSION " OP_VERSION "\r\n");
    close(fd);
}

/* ------------------------------------------------ command lines that start */

/*
 * Issue 14's command lines that exited 64 and belong to this slice, and the
 * other no-op keys: each starts on both servers and answers `version`.
 * (tail_repair_time and read_buf_mem_limit take a value in memcached.)
 */
static const char *const op_lines[][4] = {
    { "-o", "modern" },
    { "-o", "no_modern" },
    { "-o", "slab_reassign,slab_automove=1" },
    { "-o", "lru_crawler" },
    { "-o", "lru_maintainer" },
    { "-o", "hot_lru_pct=20" },
    { "-o", "no_inline_ascii_resp" },
    { "-o", "inline_ascii_resp" },
    { "-o", "tail_repair_time=30" },
    { "-o", "hash_algorithm=murmur3" },
    { "-o", "read_buf_mem_limit=10" },
    { "-o", "no_hashexpand" },
    { "-o", "maxconns_fast" },
    { "-o", "no_maxconns_fast" },
    { "-o", "no_chunked_items" },
    { "-o", "drop_privileges,no_drop_privileges" },
    { "-o", "sock_cookie_id=3" },
    { "-o", "resp_obj_mem_limit=5" },
    { "-F" },
    { "-X" },
    { "-N", "1" },
    { "--disable-flush-all", "--disable-dumping" },
};
#define OP_LINES_N (sizeof(op_lines) / sizeof(op_lines[0]))

START_TEST(command_line_starts)
{
    const char *const *flags = op_lines[_i];
    ck_assert_msg(h_server_start(&hc_srv, flags), "%s did not start with %s %s",
                  h_server_bin(), flags[0], flags[1] != NULL ? flags[1] : "");
    op_expect_version(hc_srv.port);
    h_server_stop(&hc_srv);
}
END_TEST

/* ------------------------------------------------ ours alone: notices, refusals */

/* -v: each no-op option given says so on stderr, once, at start. */
START_TEST(noop_notices_at_v)
{
    if (!h_is_slabcache())
        return;   /* memcached has nothing to say about options it honours */
    HC_START("-v", "-o", "modern,tail_repair_time=30,no_inline_ascii_resp", "-N", "1", NULL);
    op_expect_version(hc_srv.port);
    hc_srv.keep_stderr = true;
    h_server_stop(&hc_srv);
    static char log[OP_OUT_MAX];
    FILE *f = fopen(hc_srv.stderr_path, "r");
    ck_assert_ptr_nonnull(f);
    size_t n = fread(log, 1, sizeof(log) - 1, f);
    fclose(f);
    unlink(hc_srv.stderr_path);
    log[n] = '\0';
    static const char *const notices[] = {
        "-o modern: accepted, no effect: ",
        "-o tail_repair_time: accepted, no effect: ",
        "-o no_inline_ascii_resp: accepted, no effect: ",   /* the key as typed */
        "-N (--napi-ids): accepted, no effect: ",
    };
    for (size_t i = 0; i < sizeof(notices) / sizeof(notices[0]); i++)
        ck_assert_msg(strstr(log, notices[i]) != NULL, "stderr lacks \"%s\": %s", notices[i],
                      log);
}
END_TEST

/* Features this build lacks: a one-line error naming them, exit 64. */
START_TEST(absent_features_refused)
{
    if (!h_is_slabcache())
        return;   /* the reference build has extstore */
    static const struct {
        const char *args[3];
        const char *err;
    } cases[] = {
        { { "-o", "ext_path=/tmp/none:1G" },
          "slabcache: -o ext_path: extstore (external flash storage) is not built into "
          "slabcache\n" },
        { { "-o", "ext_threads=2" },
          "slabcache: -o ext_threads: extstore (external flash storage) is not built into "
          "slabcache\n" },
        { { "-o", "ssl_chain_cert=/tmp/none" },
          "slabcache: -o ssl_chain_cert: TLS is not built into slabcache\n" },
        { { "-o", "proxy_config=/tmp/none.lua" },
          "slabcache: -o proxy_config: the proxy is not built into slabcache\n" },
        { { "-Z" }, "slabcache: -Z (--enable-ssl): TLS is not built into slabcache\n" },
        { { "--enable-sasl" },
          "slabcache: -S (--enable-sasl): SASL authentication is not built into slabcache\n" },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        static char out[OP_OUT_MAX], err[OP_OUT_MAX];
        int rc = h_run_capture(cases[i].args, out, sizeof(out), err, sizeof(err),
                               H_IO_TIMEOUT_MS);
        ck_assert_int_eq(rc, OP_EX_USAGE);
        ck_assert_str_eq(err, cases[i].err);
        ck_assert_str_eq(out, "");
    }
}
END_TEST

/* -l entries naming what this build lacks, or a bad tag: the listener is
 * not opened and both servers exit as when they cannot listen (71). */
START_TEST(listen_forms_refused)
{
    static const struct {
        const char *spec;
        const char *err;
        bool ours_only;   /* memcached ignores an unknown proto[...] name */
    } cases[] = {
        { "notls:127.0.0.1:1", "slabcache: -l: 'notls': TLS is not built into slabcache\n",
          false },
        { "proto[proxy]:127.0.0.1:1",
          "slabcache: -l: proto[proxy]: the proxy is not built into slabcache\n", false },
        { "proto[http]:127.0.0.1:1",
          "slabcache: -l: unknown protocol 'http' (ascii, binary or negotiating)\n", true },
        { "tag[ninechars]:127.0.0.1:1",
          "slabcache: -l: listener tags must be between 1 and 8 characters\n", false },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        if (cases[i].ours_only && !h_is_slabcache())
            continue;
        const char *const args[] = { "-u", "root", "-U", "0", "-l", cases[i].spec, NULL };
        static char out[OP_OUT_MAX], err[OP_OUT_MAX];
        int rc = h_run_capture(args, out, sizeof(out), err, sizeof(err), H_IO_TIMEOUT_MS);
        ck_assert_int_eq(rc, OP_EX_OSERR);
        if (h_is_slabcache())   /* memcached's words are its own; its exit code is this */
            ck_assert_str_eq(err, cases[i].err);
    }
}
END_TEST

/* -V: slabcache's version beside the memcached release it follows. */
START_TEST(version_strings)
{
    HC_START(NULL);
    op_expect_version(hc_srv.port);
    static char st[OP_OUT_MAX];
    char v[64];
    ck_assert(h_stats(hc_srv.port, NULL, st, sizeof(st)));
    ck_assert(h_stat_str(st, "version", v, sizeof(v)));
    ck_assert_str_eq(v, OP_VERSION);
    int fd = hc_conn();
    static unsigned char r[OP_OUT_MAX];
    size_t n = op_bin_roundtrip(fd, OP_BIN_VERSION, 0x01020304, r, sizeof(r));
    op_bin_expect(r, n, OP_BIN_VERSION, 0, 0x01020304, OP_VERSION);
    close(fd);
    if (!h_is_slabcache())
        return;
    ck_assert(h_stat_str(st, "slabcache_version", v, sizeof(v)));
    static char out[OP_OUT_MAX], err[OP_OUT_MAX];
    static const char *const args[] = { "-V", NULL };
    ck_assert_int_eq(h_run_capture(args, out, sizeof(out), err, sizeof(err), H_IO_TIMEOUT_MS),
                     0);
    char want[128];
    snprintf(want, sizeof(want), "slabcache %s (memcached " OP_VERSION " compatible)\n", v);
    ck_assert_str_eq(out, want);
}
END_TEST

/* ------------------------------------------------------------- -F and -X */

START_TEST(flush_disabled)
{
    HC_START("-F", NULL);
    int fd = hc_conn();
    HC_EXPECT(fd, "set k 0 0 1\r\nv\r\n", "STORED\r\n");
    HC_EXPECT(fd, "flush_all\r\n", "CLIENT_ERROR flush_all not allowed\r\n");
    HC_EXPECT(fd, "flush_all 10\r\n", "CLIENT_ERROR flush_all not allowed\r\n");
    HC_EXPECT(fd, "flush_all noreply\r\nversion\r\n", "VERSION " OP_VERSION "\r\n");
    close(fd);
    fd = hc_conn();   /* a connection speaks one protocol: a new one for binary */
    static unsigned char r[OP_OUT_MAX];
    size_t n = op_bin_roundtrip(fd, OP_BIN_FLUSH, 0x0a0b0c0d, r, sizeof(r));
    op_bin_expect(r, n, OP_BIN_FLUSH, OP_BIN_AUTH_ERROR, 0x0a0b0c0d, OP_BIN_AUTH_TEXT);
    close(fd);
    fd = hc_conn();
    HC_EXPECT(fd, "get k\r\n", "VALUE k 0 1\r\nv\r\nEND\r\n");
    close(fd);
    static char st[OP_OUT_MAX];
    ck_assert(h_stats(hc_srv.port, NULL, st, sizeof(st)));
    ck_assert_int_eq(h_stat_num(st, "cmd_flush"), 3);   /* text ones count, as memcached */
    char v[16];
    ck_assert(h_stats(hc_srv.port, "settings", st, sizeof(st)));
    ck_assert(h_stat_str(st, "flush_enabled", v, sizeof(v)));
    ck_assert_str_eq(v, "no");
}
END_TEST

START_TEST(dump_disabled)
{
    HC_START("-X", NULL);
    int fd = hc_conn();
    HC_EXPECT(fd, "set k 0 0 1\r\nv\r\n", "STORED\r\n");
    HC_EXPECT(fd, "stats cachedump 1 1\r\n", "CLIENT_ERROR stats cachedump not allowed\r\n");
    HC_EXPECT(fd, "stats cachedump\r\n", "CLIENT_ERROR stats cachedump not allowed\r\n");
    HC_EXPECT(fd, "lru_crawler metadump all\r\n", "ERROR metadump not allowed\r\n");
    HC_EXPECT(fd, "lru_crawler mgdump all\r\n", "ERROR key dump not allowed\r\n");
    HC_USABLE(fd);
    close(fd);
    static char st[OP_OUT_MAX];
    char v[16];
    ck_assert(h_stats(hc_srv.port, "settings", st, sizeof(st)));
    ck_assert(h_stat_str(st, "dump_enabled", v, sizeof(v)));
    ck_assert_str_eq(v, "no");
    ck_assert(h_stat_str(st, "flush_enabled", v, sizeof(v)));
    ck_assert_str_eq(v, "yes");
}
END_TEST

/* ------------------------------------------------------------- -p 0 and -l */

/* -p 0 -s: the UNIX socket serves, nothing listens on TCP. */
START_TEST(tcp_off_with_unix_socket)
{
    char dir[] = "/tmp/slabcache-op-XXXXXX", path[OP_PATH_MAX];
    ck_assert_ptr_nonnull(mkdtemp(dir));
    snprintf(path, sizeof(path), "%s/mc.sock", dir);
    int port = h_free_port();
    const char *const args[] = { "-p", "0", "-U", "0", "-s", path, NULL };
    ck_assert(h_server_start_args(&hc_srv, args, path, port));
    int fd = h_connect_unix(path);
    ck_assert_int_ge(fd, 0);
    HC_EXPECT(fd, "version\r\n", "VERSION " OP_VERSION "\r\n");
    static char st[OP_OUT_MAX];
    bool closed = false;
    ck_assert(h_send_str(fd, "stats settings\r\n"));
    h_read_until(fd, st, sizeof(st), "END\r\n", H_IO_TIMEOUT_MS, &closed);
    ck_assert_ptr_nonnull(strstr(st, "\r\nSTAT tcpport 0\r\n"));
    close(fd);
    ck_assert_int_lt(h_connect(port), 0);
    h_server_stop(&hc_srv);
    unlink(path);
    rmdir(dir);
}
END_TEST

/* -p 0 -U: UDP serves, TCP is off. */
START_TEST(tcp_off_with_udp)
{
    int uport = h_free_udp_port(), tport = h_free_port();
    char up[OP_PORT_TEXT];
    snprintf(up, sizeof(up), "%d", uport);
    const char *const args[] = { "-p", "0", "-U", up, "-l", "127.0.0.1", NULL };
    ck_assert(h_server_start_udp(&hc_srv, args, uport));
    int u = h_udp_socket(uport);
    ck_assert_int_ge(u, 0);
    static const char req[] = "\0\x01\0\0\0\x01\0\0version\r\n";
    ck_assert_int_eq(send(u, req, sizeof(req) - 1, 0), (ssize_t)(sizeof(req) - 1));
    static char buf[OP_OUT_MAX];
    ssize_t n = h_udp_recv(u, buf, sizeof(buf), H_IO_TIMEOUT_MS);
    static const char want[] = "\0\x01\0\0\0\x01\0\0VERSION " OP_VERSION "\r\n";
    ck_assert_int_eq(n, (ssize_t)(sizeof(want) - 1));
    ck_assert(memcmp(buf, want, sizeof(want) - 1) == 0);
    close(u);
    ck_assert_int_lt(h_connect(tport), 0);
}
END_TEST

/* -U without -p: TCP listens on the UDP port too, as memcached. */
START_TEST(tcp_follows_udp_port)
{
    int port = h_free_port();
    char up[OP_PORT_TEXT];
    snprintf(up, sizeof(up), "%d", port);
    const char *const args[] = { "-U", up, "-l", "127.0.0.1", NULL };
    ck_assert(h_server_start_args(&hc_srv, args, NULL, port));
    op_expect_version(port);
    static char st[OP_OUT_MAX];
    ck_assert(h_stats(port, "settings", st, sizeof(st)));
    ck_assert_int_eq(h_stat_num(st, "tcpport"), port);
    ck_assert_int_eq(h_stat_num(st, "udpport"), port);
}
END_TEST

/* memcached's -l forms: proto[...] picks the listener's protocol, tags are accepted. */
START_TEST(listen_proto_and_tag_forms)
{
    int bport = h_free_port(), aport = h_free_port();
    char spec[256];
    snprintf(spec, sizeof(spec),
             "proto[binary]:tag[services]:127.0.0.1:%d,proto[ascii]:tag_tools_:127.0.0.1:%d",
             bport, aport);
    const char *const args[] = { "-U", "0", "-l", spec, NULL };
    ck_assert(h_server_start_args(&hc_srv, args, NULL, aport));
    op_expect_version(aport);
    int fd = h_connect(bport);
    ck_assert_int_ge(fd, 0);
    static unsigned char r[OP_OUT_MAX];
    size_t n = op_bin_roundtrip(fd, OP_BIN_VERSION, 7, r, sizeof(r));
    op_bin_expect(r, n, OP_BIN_VERSION, 0, 7, OP_VERSION);
    close(fd);
    /* the ascii listener takes a binary frame as a text line */
    fd = h_connect(aport);
    unsigned char req[OP_BIN_HEADER];
    op_bin_request(req, OP_BIN_VERSION, 7);
    ck_assert(h_send(fd, req, sizeof(req)));
    static char got[OP_OUT_MAX];
    size_t g = h_read_extra(fd, got, sizeof(got), OP_QUIET_MS);
    ck_assert_msg(g == 0 || got[0] != (char)OP_BIN_RESPONSE, "ascii listener answered binary");
    close(fd);
}
END_TEST

/* ------------------------------------------------------------ stats settings */

/* memcached 1.6.45's `stats settings` keys, in its order (66). */
static const char *const op_settings_keys[] = {
    "maxbytes", "maxconns", "tcpport", "udpport", "inter", "verbosity", "oldest", "evictions",
    "domain_socket", "umask", "shutdown_command", "growth_factor", "chunk_size",
    "num_threads", "num_threads_per_udp", "stat_key_prefix", "detail_enabled",
    "reqs_per_event", "cas_enabled", "tcp_backlog", "binding_protocol", "auth_enabled_sasl",
    "auth_enabled_ascii", "item_size_max", "maxconns_fast", "hashpower_init", "slab_reassign",
    "slab_automove", "slab_automove_ratio", "slab_automove_window", "slab_chunk_max",
    "lru_crawler", "lru_crawler_sleep", "lru_crawler_tocrawl", "tail_repair_time",
    "flush_enabled", "dump_enabled", "hash_algorithm", "lru_maintainer_thread",
    "lru_segmented", "hot_lru_pct", "warm_lru_pct", "hot_max_factor", "warm_max_factor",
    "temp_lru", "temporary_ttl", "idle_timeout", "watcher_logbuf_size", "worker_logbuf_size",
    "read_buf_mem_limit", "track_sizes", "inline_ascii_response", "ext_item_size",
    "ext_item_age", "ext_low_ttl", "ext_recache_rate", "ext_wbuf_size", "ext_compact_under",
    "ext_drop_under", "ext_max_sleep", "ext_max_frag", "slab_automove_freeratio",
    "ext_drop_unread", "num_napi_ids", "memory_file", "client_flags_size",
};
#define OP_SETTINGS_KEYS_N (sizeof(op_settings_keys) / sizeof(op_settings_keys[0]))

/* Where "STAT key " starts in the reply; NULL when absent. */
static const char *op_key_at(const char *stats, const char *key)
{
    char needle[96];
    snprintf(needle, sizeof(needle), "STAT %s ", key);
    const char *p = stats;
    while ((p = strstr(p, needle)) != NULL && p != stats && p[-1] != '\n')
        p++;
    return p;
}

START_TEST(stats_settings_keys_in_order)
{
    HC_START(NULL);
    static char st[OP_OUT_MAX];
    ck_assert(h_stats(hc_srv.port, "settings", st, sizeof(st)));
    ck_assert_uint_eq(OP_SETTINGS_KEYS_N, 66);
    const char *last = st;
    for (size_t i = 0; i < OP_SETTINGS_KEYS_N; i++) {
        const char *at = op_key_at(st, op_settings_keys[i]);
        ck_assert_msg(at != NULL, "stats settings lacks %s", op_settings_keys[i]);
        ck_assert_msg(at > last || (i == 0 && at == last), "%s is out of memcached's order",
                      op_settings_keys[i]);
        last = at;
    }
}
END_TEST

/* ------------------------------------------------- ours alone: no_maxconns_fast */

/* The one connection -c 1 allows, once the start-up probe's has been closed
 * (the server sees that close a moment later): bounded retries. */
static int op_only_conn(void)
{
    for (int waited = 0; waited < H_IO_TIMEOUT_MS; waited += OP_RETRY_MS) {
        int fd = hc_conn();
        if (h_usable(fd))
            return fd;
        close(fd);
        usleep(OP_RETRY_MS * 1000);
    }
    ck_abort_msg("no connection was accepted under -c 1");
    return -1;
}

/* Over -c, maxconns_fast refuses at once; no_maxconns_fast lets the client
 * wait in the backlog and serves it when a connection closes. */
START_TEST(maxconns_fast_or_wait)
{
    if (!h_is_slabcache())
        return;   /* memcached's -c also counts its reserved descriptors */
    HC_START("-c", "1", NULL);
    int first = op_only_conn();
    int second = hc_conn();
    static char got[OP_OUT_MAX];
    bool closed = false;
    h_read_until(second, got, sizeof(got), "\r\n", H_IO_TIMEOUT_MS, &closed);
    ck_assert_str_eq(got, "ERROR Too many open connections\r\n");
    close(second);
    close(first);
    h_server_stop(&hc_srv);

    HC_START("-c", "1", "-o", "no_maxconns_fast", NULL);
    first = op_only_conn();
    second = hc_conn();
    ck_assert(h_send_str(second, "version\r\n"));
    ck_assert_uint_eq(h_read_extra(second, got, sizeof(got), OP_QUIET_MS), 0);
    close(first);
    size_t n = h_read_until(second, got, sizeof(got), "\r\n", H_IO_TIMEOUT_MS, &closed);
    ck_assert_msg(n > 0 && strcmp(got, "VERSION " OP_VERSION "\r\n") == 0, "got \"%s\"",
                  h_escape(got, n));
    close(second);
    static char st[OP_OUT_MAX];
    ck_assert(h_stats(hc_srv.port, NULL, st, sizeof(st)));
    ck_assert_int_ge(h_stat_num(st, "listen_disabled_num"), 1);
}
END_TEST

static Suite *options_suite(void)
{
    Suite *s = suite_create("options");
    TCase *tc = tcase_create("options");
    tcase_set_timeout(tc, OP_TIMEOUT_S);
    tcase_add_checked_fixture(tc, NULL, op_teardown);
    tcase_add_loop_test(tc, command_line_starts, 0, (int)OP_LINES_N);
    tcase_add_test(tc, noop_notices_at_v);
    tcase_add_test(tc, absent_features_refused);
    tcase_add_test(tc, listen_forms_refused);
    tcase_add_test(tc, version_strings);
    tcase_add_test(tc, flush_disabled);
    tcase_add_test(tc, dump_disabled);
    tcase_add_test(tc, tcp_off_with_unix_socket);
    tcase_add_test(tc, tcp_off_with_udp);
    tcase_add_test(tc, tcp_follows_udp_port);
    tcase_add_test(tc, listen_proto_and_tag_forms);
    tcase_add_test(tc, stats_settings_keys_in_order);
    tcase_add_test(tc, maxconns_fast_or_wait);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return hc_run_suite(options_suite());
}
