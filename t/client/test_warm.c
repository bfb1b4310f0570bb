/*
 * test_warm: warm restart (-e <memory file>) as clients see it, against
 * slabcache and memcached 1.6.45 alike (DROPIN_TESTS):
 *
 *  - WM_KEYS keys (values of many sizes, flags, some with a TTL) and one
 *    chained WM_BIG_LEN value survive a SIGUSR1 stop and a start with the
 *    same file: `gets` of every key answers the same bytes (value, flags,
 *    CAS) as before the stop; a TTL goes on counting down; a new store's
 *    CAS is above every old one;
 *  - `shutdown graceful` (with -A) saves the same way; without -A it is
 *    refused, a bad mode is refused, as 1.6.45 words them;
 *  - a start with another -m, or after a crash (SIGKILL: nothing saved),
 *    begins with an empty cache;
 *  - slabcache only: a file with a flipped byte of item memory or cut short
 *    is never served (memcached keeps no checksum), and a memory file that
 *    cannot be opened stops the start with a one-line error.
 *
 * Bounds: each server start/stop is bounded by the harness (5 s, more under
 * valgrind); a graceful stop writes at most -m 64 of memory and a checksum
 * (tens of ms), waited for up to WM_EXIT_MS. The only wait is for the next
 * wall-clock second after a save (memcached will not resume a file saved
 * in the second it starts in): under 1 s per restart, 2 in the suite.
 */
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "t/client/hcheck.h"

#define WM_TIMEOUT_S 60
#define WM_KEYS 1000
#define WM_BATCH 100              /* keys per `gets` */
#define WM_BIG_LEN (700 * 1024)   /* above slab_chunk_max (512 KB): chained */
#define WM_BIG_KEY "warm:big"
#define WM_TTL 1000               /* seconds, for every fourth key */
#define WM_TTL_SLACK 30           /* seconds a slow run may take off it */
#define WM_EXIT_MS 10000
#define WM_POLL_MS 10
#define WM_REPLY_MAX (2 * 1024 * 1024)
#define WM_MARK "warm-marker-value"
#define WM_ERR_MAX 4096

struct h_server hc_srv;
static char path[64];
static char meta_path[80];        /* memcached keeps its metadata beside the file */

static void setup(void)
{
    snprintf(path, sizeof(path), "/tmp/test_warm.XXXXXX");
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    close(fd);
    unlink(path);   /* the server creates it */
    snprintf(meta_path, sizeof(meta_path), "%s.meta", path);
}

static void teardown(void)
{
    if (hc_srv.pid > 0)
        h_server_stop(&hc_srv);
    unlink(path);
    unlink(meta_path);
}

static void start(const char *mem, bool shutdown_cmd)
{
    if (shutdown_cmd)
        HC_START("-m", mem, "-e", path, "-A", NULL);
    else
        HC_START("-m", mem, "-e", path, NULL);
}

/* Waits for the server to exit by itself (without reaping it, so that
 * h_server_stop gets its status and does the harness's bookkeeping). */
static int wait_exit(void)
{
    siginfo_t si;
    for (int waited = 0; waited < WM_EXIT_MS; waited += WM_POLL_MS) {
        memset(&si, 0, sizeof(si));
        if (waitid(P_PID, (id_t)hc_srv.pid, &si, WEXITED | WNOHANG | WNOWAIT) == 0 &&
            si.si_pid == hc_srv.pid)
            return h_server_stop(&hc_srv);
        struct timespec ts = { 0, WM_POLL_MS * 1000000L };
        nanosleep(&ts, NULL);
    }
    ck_abort_msg("the server did not exit within %d ms", WM_EXIT_MS);
    return -1;
}

/* memcached 1.6.45 starts clean when started in the very second its
 * memory file was saved in (it needs stop time < start time); so a restart
 * that must resume waits for the next wall-clock second (at most 1 s). */
static void next_second(void)
{
    time_t saved = time(NULL);
    while (time(NULL) == saved) {
        struct timespec ts = { 0, WM_POLL_MS * 1000000L };
        nanosleep(&ts, NULL);
    }
}

static void expect_clean_exit(int status)
{
    ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "exit status %d", status);
    next_second();
}

static void graceful_stop_by_signal(void)
{
    ck_assert_int_eq(kill(hc_srv.pid, SIGUSR1), 0);
    expect_clean_exit(wait_exit());
}

static size_t value_len(int i)
{
    return (size_t)(1 + (i * 37) % 2000);
}

static void fill_value(char *buf, int i)
{
    size_t n = value_len(i);
    for (size_t j = 0; j < n; j++)
        buf[j] = (char)('a' + (i + j) % 26);
    if (i == 7)
        memcpy(buf, WM_MARK, strlen(WM_MARK));
}

/* Sets every key in one pipelined write and checks each STORED. */
static void set_keys(int fd)
{
    static char req[WM_KEYS * 2200];
    size_t len = 0;
    char val[2048];
    for (int i = 0; i < WM_KEYS; i++) {
        fill_value(val, i);
        len += (size_t)sprintf(req + len, "set warm:%d %d %d %zu\r\n", i, i * 13,
                               i % 4 == 0 ? WM_TTL : 0, value_len(i));
        memcpy(req + len, val, value_len(i));
        len += value_len(i);
        memcpy(req + len, "\r\n", 2);
        len += 2;
    }
    ck_assert(h_send(fd, req, len));
    static char got[WM_KEYS * 8 + 1];
    size_t n = h_read_n(fd, got, WM_KEYS * 8, H_IO_TIMEOUT_MS);
    ck_assert_uint_eq(n, WM_KEYS * 8);
    for (int i = 0; i < WM_KEYS; i++)
        ck_assert_msg(memcmp(got + i * 8, "STORED\r\n", 8) == 0, "set %d", i);
}

static void set_big(int fd)
{
    static char req[WM_BIG_LEN + 64];
    size_t len = (size_t)sprintf(req, "set %s 77 0 %d\r\n", WM_BIG_KEY, WM_BIG_LEN);
    for (size_t j = 0; j < WM_BIG_LEN; j++)
        req[len + j] = (char)(j * 7 + j / 4093);
    len += WM_BIG_LEN;
    memcpy(req + len, "\r\n", 2);
    HC_EXPECT_N(fd, req, len + 2, "STORED\r\n");
}

/* `gets` of keys [from, from + n) (and the big one when big): the reply. */
static size_t gets_reply(int fd, int from, int n, bool big, char *out, size_t cap)
{
    char req[WM_BATCH * 16 + 64];
    size_t len = (size_t)sprintf(req, "gets");
    for (int i = from; i < from + n; i++)
        len += (size_t)sprintf(req + len, " warm:%d", i);
    if (big)
        len += (size_t)sprintf(req + len, " %s", WM_BIG_KEY);
    len += (size_t)sprintf(req + len, "\r\n");
    ck_assert(h_send(fd, req, len));
    bool closed = false;
    return h_read_until(fd, out, cap, "END\r\n", H_IO_TIMEOUT_MS, &closed);
}

/* Every key's `gets` reply, batch by batch, into snap[] (malloc'd). */
struct snapshot {
    char *reply[WM_KEYS / WM_BATCH + 1];
    size_t len[WM_KEYS / WM_BATCH + 1];
};

static void take(int fd, struct snapshot *s)
{
    static char buf[WM_REPLY_MAX];
    for (int b = 0; b <= WM_KEYS / WM_BATCH; b++) {
        bool last = b == WM_KEYS / WM_BATCH;
        size_t n = gets_reply(fd, b * WM_BATCH, last ? 0 : WM_BATCH, last, buf, sizeof(buf));
        s->reply[b] = malloc(n + 1);
        memcpy(s->reply[b], buf, n + 1);
        s->len[b] = n;
    }
}

static void expect_same(const struct snapshot *a, const struct snapshot *b)
{
    for (int i = 0; i <= WM_KEYS / WM_BATCH; i++) {
        ck_assert_msg(a->len[i] == b->len[i] && memcmp(a->reply[i], b->reply[i], a->len[i]) == 0,
                      "batch %d differs after the restart: %s", i,
                      h_escape(b->reply[i], b->len[i] < 300 ? b->len[i] : 300));
        free(a->reply[i]);
        free(b->reply[i]);
    }
}

/* The largest CAS in the replies. */
static unsigned long long max_cas(const struct snapshot *s)
{
    unsigned long long top = 0;
    for (int b = 0; b <= WM_KEYS / WM_BATCH; b++)
        for (const char *p = s->reply[b]; (p = strstr(p, "VALUE ")) != NULL; p++) {
            unsigned long long cas = 0;
            char key[64];
            unsigned flags, len;
            if (sscanf(p, "VALUE %63s %u %u %llu", key, &flags, &len, &cas) == 4 && cas > top)
                top = cas;
        }
    return top;
}

/* The CAS `gets` reports for key. */
static unsigned long long cas_of(int fd, const char *key)
{
    char req[128], buf[4096];
    snprintf(req, sizeof(req), "gets %s\r\n", key);
    ck_assert(h_send_str(fd, req));
    bool closed;
    h_read_until(fd, buf, sizeof(buf), "END\r\n", H_IO_TIMEOUT_MS, &closed);
    unsigned long long cas = 0;
    unsigned flags, len;
    char k[64];
    ck_assert_int_eq(sscanf(buf, "VALUE %63s %u %u %llu", k, &flags, &len, &cas), 4);
    return cas;
}

/* The remaining TTL of key (mg's t flag). */
static long ttl_of(int fd, const char *key)
{
    char req[128], buf[256];
    snprintf(req, sizeof(req), "mg %s t\r\n", key);
    ck_assert(h_send_str(fd, req));
    bool closed;
    h_read_until(fd, buf, sizeof(buf), "\r\n", H_IO_TIMEOUT_MS, &closed);
    long t = -2;
    ck_assert_msg(sscanf(buf, "HD t%ld", &t) == 1, "mg t: %s", h_escape(buf, strlen(buf)));
    return t;
}

START_TEST(test_keys_survive_sigusr1)
{
    start("64", false);
    int fd = hc_conn();
    set_keys(fd);
    set_big(fd);
    struct snapshot before, after;
    take(fd, &before);
    close(fd);
    graceful_stop_by_signal();

    start("64", false);
    fd = hc_conn();
    take(fd, &after);
    unsigned long long top = max_cas(&after);
    expect_same(&before, &after);
    long t = ttl_of(fd, "warm:0");
    ck_assert_msg(t > WM_TTL - WM_TTL_SLACK && t <= WM_TTL, "TTL %ld after the restart", t);
    HC_EXPECT(fd, "mg warm:1 t\r\n", "HD t-1\r\n");
    HC_EXPECT(fd, "set warm:new 0 0 1\r\nn\r\n", "STORED\r\n");
    ck_assert_uint_gt(cas_of(fd, "warm:new"), top);
    char stats[8192];
    ck_assert(h_stats(hc_srv.port, NULL, stats, sizeof(stats)));
    ck_assert_int_eq(h_stat_num(stats, "curr_items"), WM_KEYS + 2);
    close(fd);
}
END_TEST

START_TEST(test_shutdown_graceful)
{
    start("64", false);
    int fd = hc_conn();
    HC_EXPECT(fd, "shutdown graceful\r\n", "SERVER_ERROR: shutdown not enabled\r\n");
    HC_EXPECT(fd, "set kept 5 0 4\r\nwarm\r\n", "STORED\r\n");
    close(fd);
    h_server_stop(&hc_srv);   /* SIGTERM: not saved */

    start("64", true);
    fd = hc_conn();
    HC_EXPECT(fd, "get kept\r\n", "END\r\n");
    HC_EXPECT(fd, "shutdown sometime\r\n", "CLIENT_ERROR invalid shutdown mode\r\n");
    HC_EXPECT(fd, "set kept 5 0 4\r\nwarm\r\n", "STORED\r\n");
    ck_assert(h_send_str(fd, "shutdown graceful\r\n"));
    ck_assert(h_wait_closed(fd, WM_EXIT_MS));
    close(fd);
    expect_clean_exit(wait_exit());

    start("64", true);
    fd = hc_conn();
    HC_EXPECT(fd, "get kept\r\n", "VALUE kept 5 4\r\nwarm\r\nEND\r\n");
    close(fd);
}
END_TEST

static void saved_with_key(void)
{
    start("64", false);
    int fd = hc_conn();
    HC_EXPECT(fd, "set kept 5 0 17\r\n" WM_MARK "\r\n", "STORED\r\n");
    close(fd);
    graceful_stop_by_signal();
}

static void expect_empty(const char *mem)
{
    start(mem, false);
    int fd = hc_conn();
    HC_EXPECT(fd, "get kept\r\n", "END\r\n");
    HC_EXPECT(fd, "set other 0 0 1\r\no\r\n", "STORED\r\n");
    close(fd);
}

START_TEST(test_other_memory_starts_empty)
{
    saved_with_key();
    expect_empty("128");
}
END_TEST

START_TEST(test_crash_starts_empty)
{
    start("64", false);
    int fd = hc_conn();
    HC_EXPECT(fd, "set kept 5 0 4\r\nwarm\r\n", "STORED\r\n");
    close(fd);
    kill(hc_srv.pid, SIGKILL);
    h_server_stop(&hc_srv);
    expect_empty("64");
}
END_TEST

/* Flips the first byte of WM_MARK in the file. */
static void flip_marker(void)
{
    int fd = open(path, O_RDWR);
    ck_assert_int_ge(fd, 0);
    struct stat st;
    ck_assert_int_eq(fstat(fd, &st), 0);
    char *buf = malloc((size_t)st.st_size);
    ck_assert_int_eq(pread(fd, buf, (size_t)st.st_size, 0), st.st_size);
    char *p = memmem(buf, (size_t)st.st_size, WM_MARK, strlen(WM_MARK));
    ck_assert_ptr_nonnull(p);
    char b = (char)(*p ^ 0x20);
    ck_assert_int_eq(pwrite(fd, &b, 1, p - buf), 1);
    free(buf);
    close(fd);
}

START_TEST(test_corrupt_file_not_served)
{
    if (!h_is_slabcache())
        return;   /* memcached keeps no checksum: it would serve the flipped byte */
    saved_with_key();
    flip_marker();
    expect_empty("64");
    h_server_stop(&hc_srv);
    saved_with_key();
    struct stat st;
    ck_assert_int_eq(stat(path, &st), 0);
    ck_assert_int_eq(truncate(path, st.st_size / 2), 0);
    expect_empty("64");
}
END_TEST

START_TEST(test_unusable_file_fails)
{
    if (!h_is_slabcache())
        return;   /* memcached aborts with perror (a core dump, not a one-line error) */
    char port[16];
    snprintf(port, sizeof(port), "%d", h_free_port());
    bool root = geteuid() == 0;
    const char *const args[] = { "-l", "127.0.0.1", "-p", port, "-U", "0", "-e",
                                 "/nonexistent/dir/file", root ? "-u" : NULL, "root", NULL };
    char out[WM_ERR_MAX], err[WM_ERR_MAX];
    int status = h_run_capture(args, out, sizeof(out), err, sizeof(err), H_START_TIMEOUT_MS);
    ck_assert_msg(status != 0, "exit status %d", status);
    ck_assert_msg(strstr(err, "cannot open the memory file /nonexistent/dir/file") != NULL,
                  "stderr: %s", err);
}
END_TEST

static Suite *warm_suite(void)
{
    Suite *s = suite_create("warm");
    TCase *tc = tcase_create("restart");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, WM_TIMEOUT_S);
    tcase_add_test(tc, test_keys_survive_sigusr1);
    tcase_add_test(tc, test_shutdown_graceful);
    tcase_add_test(tc, test_other_memory_starts_empty);
    tcase_add_test(tc, test_crash_starts_empty);
    tcase_add_test(tc, test_corrupt_file_not_served);
    tcase_add_test(tc, test_unusable_file_fails);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return hc_run_suite(warm_suite());
}
