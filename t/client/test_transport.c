/*
 * test_transport: the server over UDP (-U), a UNIX socket (-s, -a), with a
 * fixed protocol (-B), and when it runs out of descriptors.
 *
 * UDP tests speak the wire format by hand: an 8-byte header (request id,
 * sequence, total, reserved; big-endian 16-bit) before the payload, and a
 * reply cut into datagrams of at most 1400 bytes, header included. They
 * assert exact headers and reassembled bytes. UNIX socket tests use paths
 * in a mkdtemp directory that each test removes. Each test starts its own
 * server; every wait is bounded. Where memcached 1.6.18 and slabcache
 * differ on purpose (a live server's socket file, the file at exit) each
 * server is held to its own documented behaviour.
 */
#include <errno.h>
#include <libmemcached/memcached.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "t/client/hcheck.h"

#define TR_TIMEOUT_S 60
#define TR_UDP_HEADER 8
#define TR_UDP_DGRAM_MAX 1400
#define TR_UDP_PAYLOAD_MAX (TR_UDP_DGRAM_MAX - TR_UDP_HEADER)
#define TR_SILENCE_MS 300          /* no datagram within this: none was sent */
#define TR_BIG_VALUE 5000
#define TR_BIG_DGRAMS 4
#define TR_DGRAM_BUF 65536
#define TR_WAIT_MS 5000
#define TR_STEP_MS 20
#define TR_OUT_MAX 65536
#define TR_BIN_HEADER 24
#define TR_EMFILE_SPARE_FDS 2
#define TR_EMFILE_CLIENTS 8
#define TR_CPU_WINDOW_MS 500
#define TR_CPU_MAX_PCT 50
#define TR_STATS_CONNS 4
#define TR_STATS_PIPELINED 20

struct h_server hc_srv;
static char tr_dir[64];
static char tr_path[128];

static void tr_sleep_ms(int ms)
{
    struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };
    nanosleep(&ts, NULL);
}

static void tr_setup(void)
{
    snprintf(tr_dir, sizeof(tr_dir), "/tmp/slabcache-tr-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(tr_dir));
    snprintf(tr_path, sizeof(tr_path), "%s/mc.sock", tr_dir);
}

static void tr_teardown(void)
{
    h_server_stop(&hc_srv);
    unlink(tr_path);
    rmdir(tr_dir);
}

/* ------------------------------------------------------------------ UDP */

struct tr_dgram {
    uint16_t id, seq, total, reserved;
    size_t len;                     /* payload bytes */
    char payload[TR_DGRAM_BUF];
};

static uint16_t tr_be16(const unsigned char *p)
{
    return (uint16_t)(p[0] << 8 | p[1]);
}

static void tr_udp_send(int fd, uint16_t id, uint16_t seq, uint16_t total, const char *payload,
                        size_t len)
{
    static unsigned char buf[TR_DGRAM_BUF];
    unsigned char hdr[TR_UDP_HEADER] = { id >> 8, id & 0xff, seq >> 8, seq & 0xff,
                                         total >> 8, total & 0xff, 0, 0 };
    memcpy(buf, hdr, sizeof(hdr));
    memcpy(buf + TR_UDP_HEADER, payload, len);
    ck_assert_int_eq(send(fd, buf, TR_UDP_HEADER + len, 0), (ssize_t)(TR_UDP_HEADER + len));
}

/* One reply datagram within timeout_ms; false when none came. */
static bool tr_udp_recv(int fd, struct tr_dgram *d, int timeout_ms)
{
    static unsigned char buf[TR_DGRAM_BUF];
    ssize_t n = h_udp_recv(fd, buf, sizeof(buf), timeout_ms);
    if (n <= 0)
        return false;
    ck_assert_int_ge(n, TR_UDP_HEADER);
    ck_assert_int_le(n, TR_UDP_DGRAM_MAX);
    d->id = tr_be16(buf);
    d->seq = tr_be16(buf + 2);
    d->total = tr_be16(buf + 4);
    d->reserved = tr_be16(buf + 6);
    d->len = (size_t)n - TR_UDP_HEADER;
    memcpy(d->payload, buf + TR_UDP_HEADER, d->len);
    d->payload[d->len] = '\0';
    return true;
}

/* Sends one single-datagram request; expects exactly one datagram back. */
static void tr_udp_expect(int fd, uint16_t id, const char *req, const char *exp)
{
    static struct tr_dgram d;
    tr_udp_send(fd, id, 0, 1, req, strlen(req));
    ck_assert_msg(tr_udp_recv(fd, &d, H_IO_TIMEOUT_MS), "no UDP reply to \"%s\"",
                  h_escape(req, strlen(req)));
    ck_assert_uint_eq(d.id, id);
    ck_assert_uint_eq(d.seq, 0);
    ck_assert_uint_eq(d.total, 1);
    ck_assert_uint_eq(d.reserved, 0);
    ck_assert_msg(d.len == strlen(exp) && memcmp(d.payload, exp, d.len) == 0,
                  "UDP reply \"%s\"", h_escape(d.payload, d.len));
    ck_assert_msg(!tr_udp_recv(fd, &d, TR_SILENCE_MS), "an extra datagram followed");
}

static int tr_start_udp(const char *const *extra)
{
    int uport = h_free_udp_port();
    char up[16];
    snprintf(up, sizeof(up), "%d", uport);
    const char *flags[H_MAX_FLAGS] = { "-U", up, "-t", "2" };
    int n = 4;
    for (int i = 0; extra != NULL && extra[i] != NULL; i++)
        flags[n++] = extra[i];
    flags[n] = NULL;
    ck_assert_msg(h_server_start(&hc_srv, flags), "server did not start with -U %d", uport);
    return uport;
}

START_TEST(udp_set_get_one_datagram)
{
    int u = h_udp_socket(tr_start_udp(NULL));
    ck_assert_int_ge(u, 0);
    tr_udp_expect(u, 0x1234, "set k 5 0 5\r\nhello\r\n", "STORED\r\n");
    tr_udp_expect(u, 0xfffe, "get k\r\n", "VALUE k 5 5\r\nhello\r\nEND\r\n");
    tr_udp_expect(u, 0, "gets nope\r\n", "END\r\n");
    int fd = hc_conn();
    HC_EXPECT(fd, "get k\r\n", "VALUE k 5 5\r\nhello\r\nEND\r\n");
    close(fd);
    close(u);
}
END_TEST

START_TEST(udp_large_get_four_datagrams)
{
    int u = h_udp_socket(tr_start_udp(NULL));
    static char value[TR_BIG_VALUE], req[TR_BIG_VALUE + 64], exp[TR_BIG_VALUE + 64];
    for (size_t i = 0; i < sizeof(value); i++)
        value[i] = (char)('a' + i % 26);
    int fd = hc_conn();
    int rl = snprintf(req, sizeof(req), "set big 7 0 %d\r\n", TR_BIG_VALUE);
    memcpy(req + rl, value, sizeof(value));
    memcpy(req + rl + sizeof(value), "\r\n", 2);
    HC_EXPECT_N(fd, req, (size_t)rl + sizeof(value) + 2, "STORED\r\n");
    close(fd);

    int el = snprintf(exp, sizeof(exp), "VALUE big 7 %d\r\n", TR_BIG_VALUE);
    memcpy(exp + el, value, sizeof(value));
    el += (int)sizeof(value);
    memcpy(exp + el, "\r\nEND\r\n", 7);
    el += 7;
    ck_assert_int_eq((el + TR_UDP_PAYLOAD_MAX - 1) / TR_UDP_PAYLOAD_MAX, TR_BIG_DGRAMS);

    tr_udp_send(u, 0xbeef, 0, 1, "get big\r\n", 9);
    static struct tr_dgram d[TR_BIG_DGRAMS];
    static char got[TR_BIG_VALUE + 64];
    bool seen[TR_BIG_DGRAMS] = { false };
    size_t offsets[TR_BIG_DGRAMS];
    for (int i = 0; i < TR_BIG_DGRAMS; i++) {
        struct tr_dgram one;
        ck_assert_msg(tr_udp_recv(u, &one, H_IO_TIMEOUT_MS), "datagram %d of 4 missing", i);
        ck_assert_uint_eq(one.id, 0xbeef);
        ck_assert_uint_eq(one.total, TR_BIG_DGRAMS);
        ck_assert_uint_eq(one.reserved, 0);
        ck_assert_uint_lt(one.seq, TR_BIG_DGRAMS);
        ck_assert_msg(!seen[one.seq], "sequence %u twice", one.seq);
        seen[one.seq] = true;
        d[one.seq] = one;
    }
    size_t at = 0;
    for (int i = 0; i < TR_BIG_DGRAMS; i++) {
        size_t want = i < TR_BIG_DGRAMS - 1 ? TR_UDP_PAYLOAD_MAX
                                            : (size_t)el - TR_UDP_PAYLOAD_MAX * (TR_BIG_DGRAMS - 1);
        ck_assert_uint_eq(d[i].len, want);
        offsets[i] = at;
        memcpy(got + offsets[i], d[i].payload, d[i].len);
        at += d[i].len;
    }
    ck_assert_uint_eq(at, (size_t)el);
    ck_assert_msg(memcmp(got, exp, (size_t)el) == 0, "reassembled reply differs");
    struct tr_dgram extra;
    ck_assert_msg(!tr_udp_recv(u, &extra, TR_SILENCE_MS), "a fifth datagram came");
    close(u);
}
END_TEST

START_TEST(udp_multi_datagram_request_dropped)
{
    int u = h_udp_socket(tr_start_udp(NULL));
    struct tr_dgram d;
    /* total 2: memcached drops it without a reply; so do we. */
    tr_udp_send(u, 9, 0, 2, "set m 0 0 1\r\n", 13);
    ck_assert_msg(!tr_udp_recv(u, &d, TR_SILENCE_MS), "a reply to a 2-datagram request");
    tr_udp_send(u, 9, 1, 2, "1\r\n", 3);
    ck_assert_msg(!tr_udp_recv(u, &d, TR_SILENCE_MS), "a reply to its second datagram");
    /* Nothing was stored, and a header-only datagram is ignored. */
    tr_udp_send(u, 10, 0, 1, "", 0);
    ck_assert_msg(!tr_udp_recv(u, &d, TR_SILENCE_MS), "a reply to an empty datagram");
    tr_udp_expect(u, 11, "get m\r\n", "END\r\n");
    /* seq is not checked on a single-datagram request; several requests get a run each. */
    tr_udp_send(u, 12, 5, 1, "version\r\n", 9);
    ck_assert(tr_udp_recv(u, &d, H_IO_TIMEOUT_MS));
    ck_assert_uint_eq(d.id, 12);
    ck_assert_uint_eq(d.seq, 0);
    ck_assert_int_eq(strncmp(d.payload, "VERSION ", 8), 0);
    tr_udp_send(u, 13, 0, 1, "set n 0 0 1\r\nx\r\nget n\r\n", 23);
    ck_assert(tr_udp_recv(u, &d, H_IO_TIMEOUT_MS));
    ck_assert_uint_eq(d.id, 13);
    ck_assert_str_eq(d.payload, "STORED\r\n");
    ck_assert(tr_udp_recv(u, &d, H_IO_TIMEOUT_MS));
    ck_assert_uint_eq(d.id, 13);
    ck_assert_uint_eq(d.total, 1);
    ck_assert_str_eq(d.payload, "VALUE n 0 1\r\nx\r\nEND\r\n");
    close(u);
}
END_TEST

START_TEST(udp_counts_bytes_and_commands)
{
    int u = h_udp_socket(tr_start_udp(NULL));
    static char st1[TR_OUT_MAX], st2[TR_OUT_MAX];
    ck_assert(h_stats(hc_srv.port, NULL, st1, sizeof(st1)));
    const char *set = "set c 0 0 2\r\nhi\r\n", *get = "get c\r\n";
    tr_udp_expect(u, 1, set, "STORED\r\n");
    tr_udp_expect(u, 2, get, "VALUE c 0 2\r\nhi\r\nEND\r\n");
    ck_assert(h_stats(hc_srv.port, NULL, st2, sizeof(st2)));
    long long in = 2 * TR_UDP_HEADER + (long long)strlen(set) + (long long)strlen(get);
    long long out = 2 * TR_UDP_HEADER + (long long)strlen("STORED\r\n") +
                    (long long)strlen("VALUE c 0 2\r\nhi\r\nEND\r\n");
    /* The second `stats` request is read before it reports; the first reply was written. */
    ck_assert_int_eq(h_stat_num(st2, "bytes_read") - h_stat_num(st1, "bytes_read"),
                     in + (long long)strlen("stats\r\n"));
    ck_assert_int_eq(h_stat_num(st2, "bytes_written") - h_stat_num(st1, "bytes_written"),
                     out + (long long)strlen(st1));
    ck_assert_int_eq(h_stat_num(st2, "cmd_set") - h_stat_num(st1, "cmd_set"), 1);
    ck_assert_int_eq(h_stat_num(st2, "get_hits") - h_stat_num(st1, "get_hits"), 1);
    close(u);
}
END_TEST

START_TEST(udp_binary_request_answered)
{
    int u = h_udp_socket(tr_start_udp(NULL));
    tr_udp_expect(u, 1, "set b 3 0 5\r\nhello\r\n", "STORED\r\n");
    /* A binary GET of "b": memcached 1.6.18 answers binary frames over UDP too. */
    const char get[TR_BIN_HEADER + 1] = { (char)0x80, 0x00, 0x00, 0x01, 0, 0, 0, 0,
                                          0, 0, 0, 1, 0x11, 0x22, 0x33, 0x44,
                                          0, 0, 0, 0, 0, 0, 0, 0, 'b' };
    tr_udp_send(u, 77, 0, 1, get, sizeof(get));
    struct tr_dgram d;
    ck_assert(tr_udp_recv(u, &d, H_IO_TIMEOUT_MS));
    ck_assert_uint_eq(d.id, 77);
    ck_assert_uint_eq(d.total, 1);
    ck_assert_uint_eq(d.len, TR_BIN_HEADER + 4 + 5);
    const unsigned char *p = (const unsigned char *)d.payload;
    ck_assert_uint_eq(p[0], 0x81);                 /* response magic */
    ck_assert_uint_eq(p[1], 0x00);                 /* GET */
    ck_assert_uint_eq(p[4], 4);                    /* extras: flags */
    ck_assert_uint_eq(tr_be16(p + 6), 0);          /* status: success */
    ck_assert_uint_eq(tr_be16(p + 10), 9);         /* body length */
    ck_assert_int_eq(memcmp(p + 12, "\x11\x22\x33\x44", 4), 0);   /* opaque */
    ck_assert_int_eq(memcmp(p + TR_BIN_HEADER, "\0\0\0\3hello", 9), 0);
    close(u);
}
END_TEST

/* ---- multi-get replies framed whole, whatever their number of pieces ---- */

#define TR_MULTI_KEYS_MAX 2000
#define TR_MULTI_BUF (256 * 1024)
#define TR_MULTI_BIG_KEY "mkbig"

/* Stores mk0..mk<n-1> (one-byte values) and a TR_BIG_VALUE-byte TR_MULTI_BIG_KEY over TCP. */
static void tr_multi_store(int nkeys)
{
    static char req[TR_MULTI_BUF];
    size_t len = 0;
    for (int i = 0; i < nkeys; i++)
        len += (size_t)snprintf(req + len, sizeof(req) - len, "set mk%d 0 0 1 noreply\r\n%c\r\n",
                                i, 'a' + i % 26);
    len += (size_t)snprintf(req + len, sizeof(req) - len, "set " TR_MULTI_BIG_KEY " 3 0 %d noreply\r\n",
                            TR_BIG_VALUE);
    for (int i = 0; i < TR_BIG_VALUE; i++)
        req[len++] = (char)('A' + i % 26);
    len += (size_t)snprintf(req + len, sizeof(req) - len, "\r\nversion\r\n");
    int fd = hc_conn();
    ck_assert(h_send(fd, req, len));
    static char got[TR_OUT_MAX];
    bool closed;
    h_read_until(fd, got, sizeof(got), "\r\n", H_IO_TIMEOUT_MS, &closed);
    ck_assert_msg(strncmp(got, "VERSION ", 8) == 0, "sets answered \"%s\"", h_escape(got, strlen(got)));
    close(fd);
}

/* The text of "get mk0 .. mk<n-1>", with the big value's key in the middle when big. */
static void tr_multi_get_req(char *req, size_t cap, int nkeys, bool big)
{
    size_t len = (size_t)snprintf(req, cap, "get");
    for (int i = 0; i < nkeys; i++) {
        len += (size_t)snprintf(req + len, cap - len, " mk%d", i);
        if (big && i == nkeys / 2)
            len += (size_t)snprintf(req + len, cap - len, " " TR_MULTI_BIG_KEY);
    }
    snprintf(req + len, cap - len, "\r\n");
}

/* The reply to a get over TCP, up to its END line. */
static size_t tr_tcp_get_reply(const char *req, char *out, size_t cap)
{
    int fd = hc_conn();
    ck_assert(h_send_str(fd, req));
    bool closed;
    size_t n = h_read_until(fd, out, cap, "END\r\n", H_IO_TIMEOUT_MS, &closed);
    close(fd);
    return n;
}

/*
 * Sends req in one datagram and reassembles the run that answers it: every
 * datagram carries the request id, the same total and a zero reserved field,
 * each sequence number 0..total-1 comes once, and all but the last are full
 * (so total is the byte count rounded up). Returns the reply's length.
 */
static size_t tr_udp_reassemble(int u, uint16_t id, const char *req, char *out, size_t cap)
{
    static struct tr_dgram d;
    static bool seen[TR_MULTI_BUF / TR_UDP_PAYLOAD_MAX + 1];
    tr_udp_send(u, id, 0, 1, req, strlen(req));
    ck_assert_msg(tr_udp_recv(u, &d, H_IO_TIMEOUT_MS), "no UDP reply");
    unsigned total = d.total;
    ck_assert_uint_ge(total, 1);
    ck_assert_uint_le((size_t)total * TR_UDP_PAYLOAD_MAX, cap);
    memset(seen, 0, sizeof(seen));
    size_t len = 0;
    for (unsigned got = 1;; got++) {
        ck_assert_uint_eq(d.id, id);
        ck_assert_uint_eq(d.total, total);
        ck_assert_uint_eq(d.reserved, 0);
        ck_assert_uint_lt(d.seq, total);
        ck_assert_msg(!seen[d.seq], "sequence %u twice", d.seq);
        seen[d.seq] = true;
        bool last = d.seq + 1u == total;
        ck_assert_msg(last ? d.len >= 1 : d.len == TR_UDP_PAYLOAD_MAX,
                      "datagram %u of %u carries %zu bytes", d.seq, total, d.len);
        memcpy(out + (size_t)d.seq * TR_UDP_PAYLOAD_MAX, d.payload, d.len);
        if (last)
            len = (size_t)(total - 1) * TR_UDP_PAYLOAD_MAX + d.len;
        if (got == total)
            break;
        ck_assert_msg(tr_udp_recv(u, &d, H_IO_TIMEOUT_MS), "datagram %u of %u missing", got, total);
    }
    ck_assert_msg(!tr_udp_recv(u, &d, TR_SILENCE_MS), "a datagram after the run");
    return len;
}

static int tr_count(const char *buf, size_t len, const char *needle)
{
    int n = 0;
    for (const char *p = buf; (p = memmem(p, len - (size_t)(p - buf), needle, strlen(needle))) != NULL;
         p++)
        n++;
    return n;
}

/*
 * memcached 1.6.45 frames each key's VALUE (and the END) as its own run of
 * total 1 (seen by hand with -U); slabcache frames a request's whole reply
 * as one run, as protocol.txt describes. The bytes are the same.
 */
START_TEST(udp_multi_get_framed_whole)
{
    if (!h_is_slabcache())
        return;
    int u = h_udp_socket(tr_start_udp(NULL));
    tr_multi_store(TR_MULTI_KEYS_MAX);
    static const struct { int keys; bool big; } runs[] = {
        { 1, false }, { 200, false }, { 200, true }, { TR_MULTI_KEYS_MAX, false },
    };
    static char req[TR_MULTI_BUF], tcp[TR_MULTI_BUF], udp[TR_MULTI_BUF];
    for (size_t r = 0; r < sizeof(runs) / sizeof(runs[0]); r++) {
        tr_multi_get_req(req, sizeof(req), runs[r].keys, runs[r].big);
        size_t tlen = tr_tcp_get_reply(req, tcp, sizeof(tcp));
        ck_assert_int_eq(tr_count(tcp, tlen, "VALUE "), runs[r].keys + runs[r].big);
        size_t ulen = tr_udp_reassemble(u, (uint16_t)(0x100 + r), req, udp, sizeof(udp));
        ck_assert_int_eq(tr_count(udp, ulen, "VALUE "), runs[r].keys + runs[r].big);
        ck_assert_msg(ulen >= 5 && memcmp(udp + ulen - 5, "END\r\n", 5) == 0,
                      "%d keys: the UDP reply does not end with END", runs[r].keys);
        ck_assert_uint_eq(ulen, tlen);
        ck_assert_msg(memcmp(udp, tcp, tlen) == 0, "%d keys: UDP and TCP replies differ",
                      runs[r].keys);
    }
    close(u);
}
END_TEST

/* True when a datagram to 127.0.0.1:port comes back as "connection refused". */
static bool tr_udp_refused(int port)
{
    int u = h_udp_socket(port);
    ck_assert_int_ge(u, 0);
    const char req[] = "\0\1\0\0\0\1\0\0version\r\n";
    send(u, req, sizeof(req) - 1, 0);
    char buf[256];
    ssize_t n = h_udp_recv(u, buf, sizeof(buf), H_IO_TIMEOUT_MS);
    int e = errno;
    close(u);
    return n < 0 && e == ECONNREFUSED;
}

START_TEST(udp_off_by_default)
{
    int port = h_free_port();
    char p[16];
    snprintf(p, sizeof(p), "%d", port);
    const char *args[] = { "-l", "127.0.0.1", "-p", p, NULL };
    ck_assert(h_server_start_args(&hc_srv, args, NULL, port));
    ck_assert_msg(tr_udp_refused(port), "something answers UDP on the TCP port");
    static char st[TR_OUT_MAX];
    ck_assert(h_stats(port, "settings", st, sizeof(st)));
    ck_assert_int_eq(h_stat_num(st, "udpport"), 0);
    ck_assert(h_stats(port, "conns", st, sizeof(st)));
    ck_assert_ptr_null(strstr(st, "udp:"));
}
END_TEST

START_TEST(udp_port_in_stats)
{
    int uport = tr_start_udp(NULL);
    static char st[TR_OUT_MAX];
    char want[64];
    ck_assert(h_stats(hc_srv.port, "settings", st, sizeof(st)));
    ck_assert_int_eq(h_stat_num(st, "udpport"), uport);
    ck_assert(h_stats(hc_srv.port, "conns", st, sizeof(st)));
    snprintf(want, sizeof(want), ":addr udp:127.0.0.1:%d\r\n", uport);
    ck_assert_msg(strstr(st, want) != NULL, "no %s in stats conns", want);
}
END_TEST

/* libmemcached's UDP mode: storage commands are sent noreply, reads refused. */
START_TEST(udp_libmemcached)
{
    int uport = tr_start_udp(NULL);
    memcached_st *mc = memcached_create(NULL);
    ck_assert_ptr_nonnull(mc);
    ck_assert_int_eq(memcached_behavior_set(mc, MEMCACHED_BEHAVIOR_USE_UDP, 1),
                     MEMCACHED_SUCCESS);
    /* libmemcached 1.1 deprecates memcached_server_add_udp: with USE_UDP set,
     * memcached_server_add adds a UDP server. */
    ck_assert_int_eq(memcached_server_add_udp(mc, "127.0.0.1", (in_port_t)uport),
                     MEMCACHED_DEPRECATED);
    ck_assert_int_eq(memcached_server_add(mc, "127.0.0.1", (in_port_t)uport),
                     MEMCACHED_SUCCESS);
    memcached_return_t rc = memcached_set(mc, "lu", 2, "udpval", 6, 0, 42);
    ck_assert_msg(rc == MEMCACHED_SUCCESS, "set over UDP: %s", memcached_strerror(mc, rc));
    size_t len = 0;
    uint32_t flags = 0;
    char *v = memcached_get(mc, "lu", 2, &len, &flags, &rc);
    ck_assert_ptr_null(v);
    ck_assert_int_eq(rc, MEMCACHED_NOT_SUPPORTED);

    /* The fire-and-forget set arrived: read it back over TCP, bounded. */
    int fd = hc_conn();
    const char *exp = "VALUE lu 42 6\r\nudpval\r\nEND\r\n";
    char got[128];
    size_t n = 0;
    for (int waited = 0; waited < TR_WAIT_MS; waited += TR_STEP_MS) {
        n = h_roundtrip(fd, "get lu\r\n", 8, got, sizeof(got), strlen(exp), H_IO_TIMEOUT_MS);
        if (n == strlen(exp) || strcmp(got, "END\r\n") != 0)
            break;
        tr_sleep_ms(TR_STEP_MS);
    }
    ck_assert_str_eq(got, exp);
    rc = memcached_delete(mc, "lu", 2, 0);
    ck_assert_msg(rc == MEMCACHED_SUCCESS, "delete over UDP: %s", memcached_strerror(mc, rc));
    for (int waited = 0; waited < TR_WAIT_MS; waited += TR_STEP_MS) {
        n = h_roundtrip(fd, "get lu\r\n", 8, got, sizeof(got), strlen("END\r\n"), H_IO_TIMEOUT_MS);
        if (strcmp(got, "END\r\n") == 0)
            break;
        h_read_until(fd, got, sizeof(got), "END\r\n", H_IO_TIMEOUT_MS, NULL);
        tr_sleep_ms(TR_STEP_MS);
    }
    ck_assert_str_eq(got, "END\r\n");
    close(fd);
    memcached_free(mc);
}
END_TEST

/* ---------------------------------------------------------- UNIX sockets */

/* Starts the server on tr_path with the extra flags; also -l/-p, which -s overrides. */
static void tr_start_unix(const char *const *extra)
{
    int port = h_free_port();
    static char p[16];
    snprintf(p, sizeof(p), "%d", port);
    const char *args[H_MAX_FLAGS] = { "-s", tr_path, "-l", "127.0.0.1", "-p", p };
    int n = 6;
    for (int i = 0; extra != NULL && extra[i] != NULL; i++)
        args[n++] = extra[i];
    args[n] = NULL;
    ck_assert_msg(h_server_start_args(&hc_srv, args, tr_path, port),
                  "server did not start on %s", tr_path);
}

static int tr_unix_conn(void)
{
    int fd = h_connect_unix(tr_path);
    ck_assert_msg(fd >= 0, "connect to %s failed", tr_path);
    return fd;
}

START_TEST(unix_set_get_raw)
{
    tr_start_unix(NULL);
    int fd = tr_unix_conn();
    HC_EXPECT(fd, "set u 9 0 3\r\nabc\r\n", "STORED\r\n");
    HC_EXPECT(fd, "get u\r\n", "VALUE u 9 3\r\nabc\r\nEND\r\n");
    HC_EXPECT(fd, "mg u v f\r\n", "VA 3 f9\r\nabc\r\n");
    static char st[TR_OUT_MAX];
    ck_assert(h_send_str(fd, "stats conns\r\n"));
    h_read_until(fd, st, sizeof(st), "END\r\n", H_IO_TIMEOUT_MS, NULL);
    char want[200];
    snprintf(want, sizeof(want), ":listen_addr unix:%s\r\n", tr_path);
    ck_assert_msg(strstr(st, want) != NULL, "no %s in %s", want, st);
    ck_assert(h_send_str(fd, "stats settings\r\n"));
    h_read_until(fd, st, sizeof(st), "END\r\n", H_IO_TIMEOUT_MS, NULL);
    char v[160];
    ck_assert(h_stat_str(st, "domain_socket", v, sizeof(v)));
    ck_assert_str_eq(v, tr_path);
    ck_assert(h_stat_str(st, "umask", v, sizeof(v)));
    ck_assert_str_eq(v, "700");
    close(fd);
}
END_TEST

START_TEST(unix_libmemcached)
{
    tr_start_unix(NULL);
    memcached_st *mc = memcached_create(NULL);
    ck_assert_ptr_nonnull(mc);
    ck_assert_int_eq(memcached_server_add_unix_socket(mc, tr_path), MEMCACHED_SUCCESS);
    memcached_behavior_set(mc, MEMCACHED_BEHAVIOR_POLL_TIMEOUT, H_IO_TIMEOUT_MS);
    memcached_return_t rc = memcached_set(mc, "lk", 2, "unixval", 7, 0, 3);
    ck_assert_msg(rc == MEMCACHED_SUCCESS, "set: %s", memcached_last_error_message(mc));
    size_t len = 0;
    uint32_t flags = 0;
    char *v = memcached_get(mc, "lk", 2, &len, &flags, &rc);
    ck_assert_int_eq(rc, MEMCACHED_SUCCESS);
    ck_assert_uint_eq(len, 7);
    ck_assert_uint_eq(flags, 3);
    ck_assert_int_eq(memcmp(v, "unixval", 7), 0);
    free(v);
    uint64_t nv = 0;
    ck_assert_int_eq(memcached_set(mc, "n", 1, "41", 2, 0, 0), MEMCACHED_SUCCESS);
    ck_assert_int_eq(memcached_increment(mc, "n", 1, 1, &nv), MEMCACHED_SUCCESS);
    ck_assert_uint_eq(nv, 42);
    ck_assert_int_eq(memcached_delete(mc, "lk", 2, 0), MEMCACHED_SUCCESS);
    v = memcached_get(mc, "lk", 2, &len, &flags, &rc);
    ck_assert_ptr_null(v);
    ck_assert_int_eq(rc, MEMCACHED_NOTFOUND);
    memcached_free(mc);
}
END_TEST

START_TEST(unix_mask_sets_mode)
{
    const char *flags[] = { "-a", "750", NULL };
    tr_start_unix(flags);
    struct stat st;
    ck_assert_int_eq(lstat(tr_path, &st), 0);
    ck_assert(S_ISSOCK(st.st_mode));
    ck_assert_uint_eq(st.st_mode & 0777, 0750);
    h_server_stop(&hc_srv);
    unlink(tr_path);
    tr_start_unix(NULL);
    ck_assert_int_eq(lstat(tr_path, &st), 0);
    ck_assert_uint_eq(st.st_mode & 0777, 0700);   /* the default, -a 0700 */
}
END_TEST

/* Leaves a socket file nobody listens on, as a killed server does. */
static void tr_make_stale_socket(const char *path)
{
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    ck_assert_uint_lt(strlen(path), sizeof(sa.sun_path));
    memcpy(sa.sun_path, path, strlen(path) + 1);
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    close(fd);
    struct stat st;
    ck_assert_int_eq(lstat(path, &st), 0);
    ck_assert(S_ISSOCK(st.st_mode));
    ck_assert_int_lt(h_connect_unix(path), 0);
}

START_TEST(unix_stale_socket_replaced)
{
    tr_make_stale_socket(tr_path);
    tr_start_unix(NULL);
    int fd = tr_unix_conn();
    HC_EXPECT(fd, "set s 0 0 2\r\nok\r\n", "STORED\r\n");
    HC_EXPECT(fd, "get s\r\n", "VALUE s 0 2\r\nok\r\nEND\r\n");
    close(fd);
    struct stat st;
    ck_assert_int_eq(lstat(tr_path, &st), 0);
    ck_assert(S_ISSOCK(st.st_mode));
}
END_TEST

START_TEST(unix_regular_file_refused)
{
    FILE *f = fopen(tr_path, "w");
    ck_assert_ptr_nonnull(f);
    fputs("keep me\n", f);
    fclose(f);
    const char *args[] = { "-s", tr_path, geteuid() == 0 ? "-u" : NULL, "root", NULL };
    char out[TR_OUT_MAX], err[TR_OUT_MAX];
    int rc = h_run_capture(args, out, sizeof(out), err, sizeof(err), TR_WAIT_MS);
    ck_assert_msg(rc > 0, "started over a regular file (exit %d)", rc);
    ck_assert_msg(strstr(err, "Address already in use") != NULL, "stderr: %s", err);
    struct stat st;
    ck_assert_int_eq(lstat(tr_path, &st), 0);
    ck_assert(S_ISREG(st.st_mode));
    ck_assert_int_eq(st.st_size, 8);
}
END_TEST

/* slabcache refuses a path a live server accepts on (memcached would steal it). */
START_TEST(unix_live_socket_refused)
{
    tr_start_unix(NULL);
    const char *args[] = { "-s", tr_path, geteuid() == 0 ? "-u" : NULL, "root", NULL };
    char out[TR_OUT_MAX], err[TR_OUT_MAX];
    int rc = h_run_capture(args, out, sizeof(out), err, sizeof(err), TR_WAIT_MS);
    ck_assert_msg(rc > 0, "a second server started on %s (exit %d)", tr_path, rc);
    ck_assert_msg(strstr(err, "a server is listening there") != NULL, "stderr: %s", err);
    int fd = tr_unix_conn();
    HC_EXPECT(fd, "set still 0 0 1\r\n1\r\n", "STORED\r\n");
    close(fd);
}
END_TEST

START_TEST(unix_no_tcp)
{
    tr_start_unix(NULL);
    int fd = h_connect(hc_srv.port);
    ck_assert_msg(fd < 0, "TCP port %d answers although -s was given", hc_srv.port);
    ck_assert_msg(tr_udp_refused(hc_srv.port), "UDP answers although -s was given");
}
END_TEST

START_TEST(unix_file_at_exit)
{
    tr_start_unix(NULL);
    int status = h_server_stop(&hc_srv);
    ck_assert(WIFEXITED(status));
    ck_assert_int_eq(WEXITSTATUS(status), 0);
    struct stat st;
    if (h_is_memcached()) {
        ck_assert_int_eq(lstat(tr_path, &st), 0);   /* memcached leaves it behind */
        return;
    }
    ck_assert_int_ne(lstat(tr_path, &st), 0);
    ck_assert_int_eq(errno, ENOENT);
}
END_TEST

/* ------------------------------------------------------------------ -B */

static const char tr_bin_noop[TR_BIN_HEADER] = { (char)0x80, 0x0a, 0, 0, 0, 0, 0, 0,
                                                 0, 0, 0, 0, 0, 0, 0, 7,
                                                 0, 0, 0, 0, 0, 0, 0, 0 };

static void tr_expect_binding(const char *name)
{
    static char st[TR_OUT_MAX];
    char v[64];
    ck_assert(h_stats(hc_srv.port, "settings", st, sizeof(st)));
    ck_assert(h_stat_str(st, "binding_protocol", v, sizeof(v)));
    ck_assert_str_eq(v, name);
}

START_TEST(protocol_ascii)
{
    HC_START("-B", "ascii", NULL);
    tr_expect_binding("ascii");
    int fd = hc_conn();
    /* The frame's 0x0a ends a "line" of one 0x80 byte (under 4 bytes: 1.6.45's
     * format error); the rest is a second one. */
    HC_EXPECT_N(fd, tr_bin_noop, sizeof(tr_bin_noop), "CLIENT_ERROR bad command line format\r\n");
    HC_EXPECT(fd, "version\r\n", "ERROR\r\n");
    HC_EXPECT(fd, "set a 0 0 1\r\nx\r\n", "STORED\r\n");
    HC_USABLE(fd);
    close(fd);
}
END_TEST

/* Binary STAT group: finds name among the replies (one frame per stat, empty key ends). */
static bool tr_bin_stat(int fd, const char *group, const char *name, char *out, size_t cap)
{
    unsigned char req[TR_BIN_HEADER + 32] = { 0x80, 0x10 };
    size_t gl = strlen(group);
    req[3] = (unsigned char)gl;
    req[11] = (unsigned char)gl;
    memcpy(req + TR_BIN_HEADER, group, gl);
    ck_assert(h_send(fd, req, TR_BIN_HEADER + gl));
    bool found = false;
    for (;;) {
        unsigned char h[TR_BIN_HEADER];
        static char body[TR_OUT_MAX];
        if (h_read_n(fd, (char *)h, sizeof(h), H_IO_TIMEOUT_MS) != sizeof(h))
            return false;
        size_t kl = tr_be16(h + 2);
        size_t bl = (size_t)h[8] << 24 | (size_t)h[9] << 16 | (size_t)h[10] << 8 | h[11];
        if (bl >= sizeof(body) || h_read_n(fd, body, bl, H_IO_TIMEOUT_MS) != bl)
            return false;
        if (kl == 0)
            return found;
        if (kl == strlen(name) && memcmp(body, name, kl) == 0 && bl - kl < cap) {
            memcpy(out, body + kl, bl - kl);
            out[bl - kl] = '\0';
            found = true;
        }
    }
}

START_TEST(protocol_binary)
{
    HC_START("-B", "binary", NULL);
    int fd = hc_conn();
    const char noop_reply[TR_BIN_HEADER] = { (char)0x81, 0x0a, 0, 0, 0, 0, 0, 0,
                                             0, 0, 0, 0, 0, 0, 0, 7,
                                             0, 0, 0, 0, 0, 0, 0, 0 };
    char got[TR_BIN_HEADER];
    ck_assert(h_send(fd, tr_bin_noop, sizeof(tr_bin_noop)));
    ck_assert_uint_eq(h_read_n(fd, got, sizeof(got), H_IO_TIMEOUT_MS), sizeof(got));
    ck_assert_int_eq(memcmp(got, noop_reply, sizeof(got)), 0);
    close(fd);
    /* Text on a binary-only server: once a header's worth (24 bytes) arrived,
     * its bad magic closes the connection without a reply, as memcached. */
    fd = hc_conn();
    ck_assert(h_send_str(fd, "version\r\nversion\r\nversion\r\n"));
    char buf[64];
    bool closed = false;
    size_t n = h_read_until(fd, buf, sizeof(buf), NULL, H_IO_TIMEOUT_MS, &closed);
    ck_assert_uint_eq(n, 0);
    ck_assert(closed);
    close(fd);
    fd = hc_conn();
    char v[64];
    ck_assert(tr_bin_stat(fd, "settings", "binding_protocol", v, sizeof(v)));
    ck_assert_str_eq(v, "binary");
    close(fd);
}
END_TEST

/* Runs memccapable (-a or -b) against the fixture's server; true if all passed. */
static bool tr_memccapable(const char *which)
{
    const char *bin = getenv("MEMCCAPABLE");
    if (bin == NULL || *bin == '\0')
        bin = "memccapable";
    char port[16], cmd[512];
    snprintf(port, sizeof(port), "%d", hc_srv.port);
    snprintf(cmd, sizeof(cmd), "timeout 60 %s %s -t 5 -h 127.0.0.1 -p %s >/dev/null 2>&1", bin,
             which, port);
    int rc = system(cmd);
    return rc != -1 && WIFEXITED(rc) && WEXITSTATUS(rc) == 0;
}

START_TEST(protocol_memccapable)
{
    HC_START("-B", "binary", NULL);
    ck_assert_msg(tr_memccapable("-b"), "memccapable -b failed against -B binary");
    h_server_stop(&hc_srv);
    HC_START("-B", "ascii", NULL);
    ck_assert_msg(tr_memccapable("-a"), "memccapable -a failed against -B ascii");
    tr_expect_binding("ascii");
}
END_TEST

/* ------------------------------------------------------------- EMFILE */

static int tr_open_fds(pid_t pid)
{
    char cmd[128], line[64];
    snprintf(cmd, sizeof(cmd), "ls /proc/%d/fd | wc -l", (int)pid);
    FILE *p = popen(cmd, "r");
    ck_assert_ptr_nonnull(p);
    int n = fgets(line, sizeof(line), p) ? atoi(line) : -1;
    pclose(p);
    return n;
}

static long tr_cpu_ticks(pid_t pid)
{
    char path[64], buf[1024];
    snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
    FILE *f = fopen(path, "r");
    ck_assert_ptr_nonnull(f);
    size_t n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = '\0';
    const char *p = strrchr(buf, ')');
    long utime = 0, stime = 0;
    /* fields after ")": state(3) ... utime(14) stime(15) */
    ck_assert_int_eq(sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %ld %ld",
                            &utime, &stime), 2);
    return utime + stime;
}

/*
 * Out of descriptors: accept() fails with EMFILE. The server must pause
 * accepting instead of spinning on the listen event, count it, and take the
 * waiting clients once descriptors are free again.
 */
START_TEST(emfile_pauses_accepting)
{
    HC_START("-t", "1", "-c", "100", NULL);
    int keep = hc_conn();     /* closed later: memcached resumes accepting on a close */
    ck_assert(h_usable(keep));
    int fds = tr_open_fds(hc_srv.pid);
    ck_assert_int_gt(fds, 0);
    /* Only the soft limit moves: raising a hard limit may need privileges. */
    struct rlimit old, rl;
    ck_assert_int_eq(prlimit(hc_srv.pid, RLIMIT_NOFILE, NULL, &old), 0);
    rl.rlim_cur = (rlim_t)fds + TR_EMFILE_SPARE_FDS;
    rl.rlim_max = old.rlim_max;
    ck_assert_int_eq(prlimit(hc_srv.pid, RLIMIT_NOFILE, &rl, NULL), 0);

    int c[TR_EMFILE_CLIENTS];
    for (int i = 0; i < TR_EMFILE_CLIENTS; i++) {
        c[i] = hc_conn();     /* the kernel completes the handshake; the server may not accept */
        ck_assert(h_send_str(c[i], "version\r\n"));
    }
    tr_sleep_ms(TR_SILENCE_MS);
    long t0 = tr_cpu_ticks(hc_srv.pid);
    tr_sleep_ms(TR_CPU_WINDOW_MS);
    long used = tr_cpu_ticks(hc_srv.pid) - t0;
    long ticks_per_s = sysconf(_SC_CLK_TCK);
    ck_assert_msg(used * 1000 * 100 <= (long)TR_CPU_MAX_PCT * ticks_per_s * TR_CPU_WINDOW_MS,
                  "server used %ld ticks in %d ms while out of descriptors", used,
                  TR_CPU_WINDOW_MS);
    int answered = 0;
    char buf[128];
    for (int i = 0; i < TR_EMFILE_CLIENTS; i++)
        if (h_read_until(c[i], buf, sizeof(buf), "\r\n", 50, NULL) > 0)
            answered++;
    ck_assert_int_lt(answered, TR_EMFILE_CLIENTS);

    ck_assert_int_eq(prlimit(hc_srv.pid, RLIMIT_NOFILE, &old, NULL), 0);
    /* slabcache resumes from its timer; memcached when a connection closes. */
    close(keep);
    for (int i = 0; i < TR_EMFILE_CLIENTS; i++) {
        size_t n = h_read_until(c[i], buf, sizeof(buf), "\r\n", H_IO_TIMEOUT_MS, NULL);
        if (n == 0)
            continue;   /* answered before the limit went back up */
        ck_assert_int_eq(strncmp(buf, "VERSION ", 8), 0);
    }
    for (int i = 0; i < TR_EMFILE_CLIENTS; i++) {
        HC_USABLE(c[i]);
        close(c[i]);
    }
    static char st[TR_OUT_MAX];
    ck_assert(h_stats(hc_srv.port, NULL, st, sizeof(st)));
    ck_assert_int_ge(h_stat_num(st, "listen_disabled_num"), 1);
    ck_assert_int_eq(h_stat_num(st, "accepting_conns"), 1);
}
END_TEST

/* ------------------------------------------------------------- shutdown */

/*
 * SIGTERM while workers answer `stats` (which reads the listener and UDP
 * arrays): the exit must be clean. Under ThreadSanitizer a race makes the
 * server exit 66, so this caught listeners being freed before the workers
 * were joined.
 */
START_TEST(sigterm_during_stats)
{
    tr_start_udp((const char *const[]){ "-t", "4", NULL });
    int c[TR_STATS_CONNS];
    for (int i = 0; i < TR_STATS_CONNS; i++) {
        c[i] = hc_conn();
        for (int k = 0; k < TR_STATS_PIPELINED; k++)
            ck_assert(h_send_str(c[i], "stats\r\nstats conns\r\n"));
    }
    int status = h_server_stop(&hc_srv);
    for (int i = 0; i < TR_STATS_CONNS; i++)
        close(c[i]);
    ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "exit status 0x%x", status);
}
END_TEST

static Suite *tr_suite(void)
{
    Suite *s = suite_create("transport");
    TCase *udp = tcase_create("udp");
    tcase_set_timeout(udp, TR_TIMEOUT_S);
    tcase_add_checked_fixture(udp, tr_setup, tr_teardown);
    tcase_add_test(udp, udp_set_get_one_datagram);
    tcase_add_test(udp, udp_large_get_four_datagrams);
    tcase_add_test(udp, udp_multi_datagram_request_dropped);
    tcase_add_test(udp, udp_counts_bytes_and_commands);
    tcase_add_test(udp, udp_binary_request_answered);
    tcase_add_test(udp, udp_multi_get_framed_whole);
    tcase_add_test(udp, udp_off_by_default);
    tcase_add_test(udp, udp_port_in_stats);
    tcase_add_test(udp, udp_libmemcached);
    suite_add_tcase(s, udp);

    TCase *ux = tcase_create("unix");
    tcase_set_timeout(ux, TR_TIMEOUT_S);
    tcase_add_checked_fixture(ux, tr_setup, tr_teardown);
    tcase_add_test(ux, unix_set_get_raw);
    tcase_add_test(ux, unix_libmemcached);
    tcase_add_test(ux, unix_mask_sets_mode);
    tcase_add_test(ux, unix_stale_socket_replaced);
    tcase_add_test(ux, unix_regular_file_refused);
    if (h_is_slabcache())
        tcase_add_test(ux, unix_live_socket_refused);
    tcase_add_test(ux, unix_no_tcp);
    tcase_add_test(ux, unix_file_at_exit);
    suite_add_tcase(s, ux);

    TCase *pr = tcase_create("protocol");
    tcase_set_timeout(pr, TR_TIMEOUT_S * 2);
    tcase_add_checked_fixture(pr, tr_setup, tr_teardown);
    tcase_add_test(pr, protocol_ascii);
    tcase_add_test(pr, protocol_binary);
    tcase_add_test(pr, protocol_memccapable);
    suite_add_tcase(s, pr);

    TCase *sd = tcase_create("shutdown");
    tcase_set_timeout(sd, TR_TIMEOUT_S);
    tcase_add_checked_fixture(sd, tr_setup, tr_teardown);
    tcase_add_test(sd, sigterm_during_stats);
    suite_add_tcase(s, sd);

    /* memcached resumes accepting only when a connection closes, and its
     * descriptor use differs; the EMFILE pause is slabcache's own design. */
    TCase *fd = tcase_create("emfile");
    tcase_set_timeout(fd, TR_TIMEOUT_S);
    tcase_add_checked_fixture(fd, tr_setup, tr_teardown);
    if (h_is_slabcache())
        tcase_add_test(fd, emfile_pauses_accepting);
    suite_add_tcase(s, fd);
    return s;
}

int main(void)
{
    return hc_run_suite(tr_suite());
}
