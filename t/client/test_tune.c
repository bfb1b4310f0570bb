/*
 * test_tune: what issue 15 shows clients and operators.
 *
 * Both servers (the suite is in DROPIN_TESTS; SERVER_BIN=memcached runs it
 * against memcached 1.6.45):
 *  - `stats sizes` says "sizes_status disabled" without -o track_sizes;
 *    with it, one "STAT <size> <items>" line per 32-byte bucket in use,
 *    the sizes multiples of 32 and the items summing to curr_items;
 *  - -o slab_sizes=a-b-c sets the class table `stats slabs` shows, and its
 *    bad lists stop the server with memcached's words.
 * slabcache alone: `slabs advise` (memcached answers ERROR) lists its lines
 * in order, advises an 80-byte class for the 20-byte values, and the
 * waste it predicts for its free-form table is, within TU_PREDICT_POINTS,
 * the total_chunk_waste_pct a server started with that table reaches on the
 * same keys. `slabs retune` (memcached: ERROR) answers OK on that
 * workload, and the waste then falls, while the server runs, to the figure
 * `slabs advise` predicted (within TU_PREDICT_POINTS) before TU_RETUNE_WAIT_MS
 * (the drain of two pages takes milliseconds; the bound is for sanitizer and
 * valgrind runs on a loaded machine); every key stays readable; `stats`
 * counts the switch; a second retune has NOTHING_TO_DO. With -o
 * slab_sizes=auto (and a look a second) the server makes that switch itself.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "t/client/hcheck.h"

#define TU_TIMEOUT_S 60
#define TU_WAIT_MS 5000
#define TU_KEYS 20000
#define TU_BATCH 200
#define TU_SMALL 20              /* the value sizes */
#define TU_LARGE 100
#define TU_SIZES_WIDTH 32        /* memcached's stats sizes bucket */
#define TU_PREDICT_POINTS 1.0    /* the bound on the advisor's error */
#define TU_REPLY_MAX (64 * 1024)
#define TU_LINE_MAX 256
#define TU_OUT_MAX 4096
#define TU_RETUNE_WAIT_MS 20000
#define TU_POLL_MS 20

struct h_server hc_srv;

static void tu_teardown(void)
{
    if (hc_srv.pid > 0)
        h_server_stop(&hc_srv);
    hc_srv.pid = 0;
}

/* Sets keys key:%010d for [from, to) to values of vlen bytes, noreply in
 * batches, and waits for the server to have read them all. */
static void tu_fill(int fd, int from, int to, int vlen)
{
    static char buf[TU_BATCH * (TU_LINE_MAX + TU_LARGE)];
    char value[TU_LARGE + 1];
    memset(value, 'v', (size_t)vlen);
    value[vlen] = '\0';
    for (int i = from; i < to;) {
        size_t n = 0;
        for (int b = 0; b < TU_BATCH && i < to; b++, i++)
            n += (size_t)snprintf(buf + n, sizeof(buf) - n,
                                  "set key:%010d 0 0 %d noreply\r\n%s\r\n", i, vlen, value);
        ck_assert(h_send(fd, buf, n));
    }
    HC_USABLE(fd);
}

static long long tu_stat(const char *group, const char *name)
{
    static char buf[TU_REPLY_MAX];
    ck_assert(h_stats(hc_srv.port, group, buf, sizeof(buf)));
    return h_stat_num(buf, name);
}

START_TEST(sizes_disabled_without_track_sizes)
{
    HC_START(NULL);
    int fd = hc_conn();
    HC_EXPECT(fd, "stats sizes\r\n", "STAT sizes_status disabled\r\nEND\r\n");
    close(fd);
}
END_TEST

START_TEST(sizes_with_track_sizes)
{
    HC_START("-o", "track_sizes", NULL);
    int fd = hc_conn();
    HC_EXPECT(fd, "stats sizes\r\n", "END\r\n");
    tu_fill(fd, 0, 300, TU_SMALL);
    tu_fill(fd, 300, 400, TU_LARGE);
    char buf[TU_REPLY_MAX];
    ck_assert(h_stats(hc_srv.port, "sizes", buf, sizeof(buf)));
    /* two lines: each key is 14 bytes, so the two sizes are 80 bytes apart */
    unsigned long long size[2], items[2];
    ck_assert_msg(sscanf(buf, "STAT %llu %llu\r\nSTAT %llu %llu\r\nEND\r\n", &size[0], &items[0],
                         &size[1], &items[1]) == 4, "stats sizes: %s", buf);
    ck_assert_uint_eq(size[0] % TU_SIZES_WIDTH, 0);
    ck_assert_uint_eq(size[1] % TU_SIZES_WIDTH, 0);
    ck_assert_uint_lt(size[0], size[1]);
    ck_assert_uint_eq(items[0], 300);
    ck_assert_uint_eq(items[1], 100);
    ck_assert_int_eq(tu_stat("", "curr_items"), 400);
    char settings[TU_REPLY_MAX], yes[8];
    ck_assert(h_stats(hc_srv.port, "settings", settings, sizeof(settings)));
    ck_assert(h_stat_str(settings, "track_sizes", yes, sizeof(yes)));
    ck_assert_str_eq(yes, "yes");
    /* deletes leave the histogram */
    HC_EXPECT(fd, "delete key:0000000399\r\n", "DELETED\r\n");
    ck_assert(h_stats(hc_srv.port, "sizes", buf, sizeof(buf)));
    ck_assert_msg(sscanf(buf, "STAT %*u %*u\r\nSTAT %*u %llu\r\n", &items[1]) == 1, "%s", buf);
    ck_assert_uint_eq(items[1], 99);
    close(fd);
}
END_TEST

START_TEST(slab_sizes_make_the_class_table)
{
    HC_START("-o", "slab_sizes=96-200-400", NULL);
    int fd = hc_conn();
    tu_fill(fd, 0, 10, TU_SMALL);     /* 93 bytes in memcached, 74 here: class 1 */
    tu_fill(fd, 10, 20, TU_LARGE);    /* 173 and 154: class 2 */
    ck_assert_int_eq(tu_stat("slabs", "1:chunk_size"), 96);
    ck_assert_int_eq(tu_stat("slabs", "2:chunk_size"), 200);
    ck_assert_int_eq(tu_stat("slabs", "1:used_chunks"), 10);
    ck_assert_int_eq(tu_stat("slabs", "2:used_chunks"), 10);
    close(fd);
}
END_TEST

START_TEST(slab_sizes_errors)
{
    static const struct {
        const char *opt, *words;
    } bad[] = {
        { "slab_sizes=96-100", "slab size 100 must be at least 8 bytes larger than previous class" },
        { "slab_sizes=96-90", "slab size 90 cannot be lower than or equal to a previous class size" },
        { "slab_sizes=10-200", "slab size 10 is out of valid range" },
        { "slab_sizes=96-600000", "slab size 600000 is out of valid range" },
    };
    bool root = geteuid() == 0;   /* both refuse root without -u */
    char out[TU_OUT_MAX], err[TU_OUT_MAX], port[16];
    snprintf(port, sizeof(port), "%d", h_free_port());
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        const char *args[] = { "-l", "127.0.0.1", "-p", port, "-U", "0", "-o", bad[i].opt,
                               root ? "-u" : NULL, "root", NULL };
        int rc = h_run_capture(args, out, sizeof(out), err, sizeof(err), TU_WAIT_MS);
        ck_assert_msg(rc > 0, "%s: exit %d", bad[i].opt, rc);
        ck_assert_msg(strstr(err, bad[i].words) != NULL, "%s: stderr \"%s\"", bad[i].opt, err);
    }
}
END_TEST

/* A percentage line of a stats-like reply. */
static double tu_pct(const char *reply, const char *name)
{
    char v[TU_LINE_MAX];
    ck_assert_msg(h_stat_str(reply, name, v, sizeof(v)), "no %s in %s", name, reply);
    return strtod(v, NULL);
}

/* `slabs advise` into buf; the free-form list into sizes, its waste into *waste. */
static void tu_advise(int fd, char *buf, size_t cap, char *sizes, size_t scap, double *waste)
{
    ck_assert(h_send_str(fd, "slabs advise\r\n"));
    h_read_until(fd, buf, cap, "END\r\n", TU_WAIT_MS, NULL);
    ck_assert(h_stat_str(buf, "free_slab_sizes", sizes, scap));
    *waste = tu_pct(buf, "free_waste_pct");
}

/* A server given TU_KEYS keys of TU_SMALL bytes, and a connection to it;
 * -1 on memcached, after checking it answers `command` (ours alone) ERROR. */
static int tu_start_filled(const char *command)
{
    HC_START(NULL);
    int fd = hc_conn();
    if (!h_is_slabcache()) {
        HC_EXPECT(fd, command, "ERROR\r\n");
        close(fd);
        return -1;
    }
    tu_fill(fd, 0, TU_KEYS, TU_SMALL);
    return fd;
}

START_TEST(advise_predicts_the_waste_it_reaches)
{
    int fd = tu_start_filled("slabs advise\r\n");
    if (fd < 0)
        return;
    char buf[TU_REPLY_MAX], sizes[TU_LINE_MAX];
    double predicted;
    tu_advise(fd, buf, sizeof(buf), sizes, sizeof(sizes), &predicted);
    static const char *const order[] = {
        "STAT items ", "STAT chained_items ", "STAT current_classes ",
        "STAT current_waste_pct ", "STAT current_items_at_limit ", "STAT geometric_classes ",
        "STAT geometric_waste_pct ", "STAT geometric_items_at_limit ",
        "STAT geometric_factor ", "STAT geometric_chunk_min ", "STAT free_classes ",
        "STAT free_waste_pct ", "STAT free_items_at_limit ", "STAT free_slab_sizes ", "END\r\n",
    };
    const char *at = buf;
    for (size_t i = 0; i < sizeof(order) / sizeof(order[0]); i++) {
        const char *next = strstr(at, order[i]);
        ck_assert_msg(next != NULL, "no \"%s\" after %zu bytes of %s", order[i],
                      (size_t)(at - buf), buf);
        at = next;
    }
    ck_assert_int_eq(h_stat_num(buf, "items"), TU_KEYS);
    ck_assert_str_eq(sizes, "72");   /* 72-byte items: 30 header + 8 CAS + 14 key + 20 value */
    ck_assert(tu_pct(buf, "current_waste_pct") > predicted);
    close(fd);
    h_server_stop(&hc_srv);

    char opt[TU_LINE_MAX + sizeof("slab_sizes=")];
    snprintf(opt, sizeof(opt), "slab_sizes=%s", sizes);
    HC_START("-o", opt, NULL);
    fd = hc_conn();
    tu_fill(fd, 0, TU_KEYS, TU_SMALL);
    ck_assert(h_stats(hc_srv.port, "slabs", buf, sizeof(buf)));
    double reached = tu_pct(buf, "total_chunk_waste_pct");
    ck_assert_msg(reached > predicted - TU_PREDICT_POINTS && reached < predicted + TU_PREDICT_POINTS,
                  "advised %.2f%%, reached %.2f%%", predicted, reached);
    close(fd);
}
END_TEST

/* total_chunk_waste_pct of `stats slabs`. */
static double tu_waste(void)
{
    static char buf[TU_REPLY_MAX];
    ck_assert(h_stats(hc_srv.port, "slabs", buf, sizeof(buf)));
    return tu_pct(buf, "total_chunk_waste_pct");
}

/* Polls the waste until it is within TU_PREDICT_POINTS of target; the last reading. */
static double tu_wait_waste(double target)
{
    double w = tu_waste();
    for (int waited = 0; waited < TU_RETUNE_WAIT_MS &&
                         (w < target - TU_PREDICT_POINTS || w > target + TU_PREDICT_POINTS);
         waited += TU_POLL_MS) {
        usleep(TU_POLL_MS * 1000);
        w = tu_waste();
    }
    return w;
}

/* Polls a stat until it reads want (the drain rescues item by item, so the
 * per-class counts settle once it ends); the last reading. */
static long long tu_wait_stat(const char *name, long long want)
{
    long long v = tu_stat("", name);
    for (int waited = 0; waited < TU_RETUNE_WAIT_MS && v != want; waited += TU_POLL_MS) {
        usleep(TU_POLL_MS * 1000);
        v = tu_stat("", name);
    }
    return v;
}

START_TEST(retune_reaches_the_advised_waste)
{
    int fd = tu_start_filled("slabs retune\r\n");
    if (fd < 0)
        return;
    char buf[TU_REPLY_MAX], sizes[TU_LINE_MAX];
    double predicted;
    tu_advise(fd, buf, sizeof(buf), sizes, sizeof(sizes), &predicted);
    double before = tu_waste();
    ck_assert(before > predicted + TU_PREDICT_POINTS);
    HC_EXPECT(fd, "slabs retune\r\n", "OK\r\n");
    double reached = tu_wait_waste(predicted);
    ck_assert_msg(reached > predicted - TU_PREDICT_POINTS && reached < predicted + TU_PREDICT_POINTS,
                  "advised %.2f%%, reached %.2f%% (from %.2f%%)", predicted, reached, before);
    ck_assert_int_eq(tu_stat("", "slab_retunes"), 1);
    ck_assert_int_eq(tu_wait_stat("curr_items", TU_KEYS), TU_KEYS);
    ck_assert_int_eq(tu_stat("", "evictions"), 0);
    for (int i = 0; i < TU_KEYS; i += TU_KEYS / 10) {
        char req[TU_LINE_MAX], exp[TU_LINE_MAX];
        snprintf(req, sizeof(req), "get key:%010d\r\n", i);
        snprintf(exp, sizeof(exp), "VALUE key:%010d 0 %d\r\n%.*s\r\nEND\r\n", i, TU_SMALL,
                 TU_SMALL, "vvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvv");
        HC_EXPECT(fd, req, exp);
    }
    HC_EXPECT(fd, "slabs retune\r\n", "NOTHING_TO_DO the advised table wastes no less\r\n");
    close(fd);
}
END_TEST

START_TEST(slab_sizes_auto_switches_by_itself)
{
    if (!h_is_slabcache())
        return;   /* ours alone: memcached refuses the word */
    HC_START("-o", "slab_sizes=auto,slab_retune_interval=1", NULL);
    int fd = hc_conn();
    tu_fill(fd, 0, TU_KEYS, TU_SMALL);
    char buf[TU_REPLY_MAX], sizes[TU_LINE_MAX];
    double predicted;
    tu_advise(fd, buf, sizeof(buf), sizes, sizeof(sizes), &predicted);
    double reached = tu_wait_waste(predicted);   /* a look a second */
    ck_assert_msg(reached > predicted - TU_PREDICT_POINTS && reached < predicted + TU_PREDICT_POINTS,
                  "advised %.2f%%, reached %.2f%%", predicted, reached);
    ck_assert_int_eq(tu_stat("", "slab_retunes"), 1);
    ck_assert(tu_stat("", "slab_retune_last") > 0);
    ck_assert_int_eq(tu_stat("", "curr_items"), TU_KEYS);
    close(fd);
}
END_TEST

static Suite *tune_suite(void)
{
    Suite *s = suite_create("tune");
    TCase *t = tcase_create("tune");
    tcase_set_timeout(t, TU_TIMEOUT_S);
    tcase_add_checked_fixture(t, NULL, tu_teardown);
    tcase_add_test(t, sizes_disabled_without_track_sizes);
    tcase_add_test(t, sizes_with_track_sizes);
    tcase_add_test(t, slab_sizes_make_the_class_table);
    tcase_add_test(t, slab_sizes_errors);
    tcase_add_test(t, advise_predicts_the_waste_it_reaches);
    tcase_add_test(t, retune_reaches_the_advised_waste);
    tcase_add_test(t, slab_sizes_auto_switches_by_itself);
    suite_add_tcase(s, t);
    return s;
}

int main(void)
{
    return hc_run_suite(tune_suite());
}
