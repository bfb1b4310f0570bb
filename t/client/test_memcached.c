/*
 * test_memcached: the server driven through libmemcached (ascii protocol),
 * the way applications use it.
 *
 * Most tests share one server (unchecked fixture) and use their own keys;
 * the value-size tests start servers with their own -I. The size rule
 * asserted on both servers: with item_size_max P (from `stats settings`)
 * the largest storable value L for a key of length K satisfies
 * L + K + overhead = P with one overhead for all K and P, 0 < overhead <= 100;
 * a value one byte longer is refused with the connection still usable.
 */
#include <libmemcached/memcached.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "t/client/hcheck.h"

#define MC_TIMEOUT_S 60
#define MC_MGET_KEYS 100
#define MC_CONNS 200
#define MC_CONN_THREADS 8
#define MC_NOREPLY_N 500
#define MC_FLUSH_DELAY_S 3
#define MC_FLUSH_WAIT_MS ((MC_FLUSH_DELAY_S + 2) * 1000)
#define MC_HEADER_MAX 100
#define MC_SMALL_PAGE "64k"
#define MC_SMALL_PAGE_BYTES (64 * 1024)
#define MC_DEFAULT_PAGE_BYTES (1024 * 1024)

struct h_server hc_srv;

static void mc_setup(void)
{
    HC_START(NULL);
}

static void mc_teardown(void)
{
    h_server_stop(&hc_srv);
}

static memcached_st *mc_new(int port)
{
    memcached_st *mc = memcached_create(NULL);
    ck_assert_ptr_nonnull(mc);
    ck_assert_int_eq(memcached_server_add(mc, "127.0.0.1", (in_port_t)port),
                     MEMCACHED_SUCCESS);
    memcached_behavior_set(mc, MEMCACHED_BEHAVIOR_POLL_TIMEOUT, H_IO_TIMEOUT_MS);
    memcached_behavior_set(mc, MEMCACHED_BEHAVIOR_CONNECT_TIMEOUT, H_IO_TIMEOUT_MS);
    return mc;
}

#define MC_OK(mc, call) do {                                                  \
        memcached_return_t mc_rc_ = (call);                                   \
        ck_assert_msg(mc_rc_ == MEMCACHED_SUCCESS, "%s: %s", #call,           \
                      memcached_last_error_message(mc));                      \
    } while (0)

#define MC_RC(mc, call, want) do {                                            \
        memcached_return_t mc_rc_ = (call);                                   \
        ck_assert_msg(mc_rc_ == (want), "%s: got %s, want %s", #call,         \
                      memcached_strerror(mc, mc_rc_), memcached_strerror(mc, want)); \
    } while (0)

static memcached_return_t mc_set(memcached_st *mc, const char *k, const char *v,
                                 uint32_t flags)
{
    return memcached_set(mc, k, strlen(k), v, strlen(v), 0, flags);
}

/* Asserts key holds exactly want (NULL: absent). */
static void mc_expect(memcached_st *mc, const char *k, const char *want,
                      uint32_t want_flags)
{
    size_t len = 0;
    uint32_t flags = 0;
    memcached_return_t rc;
    char *v = memcached_get(mc, k, strlen(k), &len, &flags, &rc);
    if (want == NULL) {
        ck_assert_msg(rc == MEMCACHED_NOTFOUND && v == NULL, "%s: %s, want NOTFOUND", k,
                      memcached_strerror(mc, rc));
        return;
    }
    ck_assert_msg(rc == MEMCACHED_SUCCESS, "get %s: %s", k, memcached_strerror(mc, rc));
    ck_assert_msg(len == strlen(want) && (len == 0 || memcmp(v, want, len) == 0),
                  "get %s: got \"%.*s\", want \"%s\"", k, (int)len, v ? v : "", want);
    ck_assert_uint_eq(flags, want_flags);
    free(v);
}

/*
 * A counter read back: a decr that shortens the number may leave trailing
 * spaces (protocol.txt allows the padding), so compare without them.
 */
static void mc_expect_number(memcached_st *mc, const char *k, const char *want)
{
    size_t len = 0;
    uint32_t flags;
    memcached_return_t rc;
    char *v = memcached_get(mc, k, strlen(k), &len, &flags, &rc);
    ck_assert_msg(rc == MEMCACHED_SUCCESS && v != NULL, "get %s: %s", k,
                  memcached_strerror(mc, rc));
    while (len > 0 && v[len - 1] == ' ')
        len--;
    ck_assert_msg(len == strlen(want) && memcmp(v, want, len) == 0,
                  "get %s: got \"%.*s\", want \"%s\"", k, (int)len, v, want);
    free(v);
}

START_TEST(set_get)
{
    memcached_st *mc = mc_new(hc_srv.port);
    MC_OK(mc, mc_set(mc, "sg", "value", 7));
    mc_expect(mc, "sg", "value", 7);
    MC_OK(mc, mc_set(mc, "sg", "other", 0));
    mc_expect(mc, "sg", "other", 0);
    mc_expect(mc, "sg-missing", NULL, 0);
    MC_OK(mc, mc_set(mc, "empty", "", 3));
    mc_expect(mc, "empty", "", 3);
    memcached_free(mc);
}
END_TEST

START_TEST(add_replace)
{
    memcached_st *mc = mc_new(hc_srv.port);
    MC_OK(mc, memcached_add(mc, "ar", 2, "one", 3, 0, 0));
    MC_RC(mc, memcached_add(mc, "ar", 2, "two", 3, 0, 0), MEMCACHED_NOTSTORED);
    mc_expect(mc, "ar", "one", 0);
    MC_OK(mc, memcached_replace(mc, "ar", 2, "three", 5, 0, 4));
    mc_expect(mc, "ar", "three", 4);
    MC_RC(mc, memcached_replace(mc, "ar-none", 7, "x", 1, 0, 0), MEMCACHED_NOTSTORED);
    mc_expect(mc, "ar-none", NULL, 0);
    memcached_free(mc);
}
END_TEST

START_TEST(append_prepend)
{
    memcached_st *mc = mc_new(hc_srv.port);
    MC_OK(mc, mc_set(mc, "ap", "mid", 5));
    MC_OK(mc, memcached_append(mc, "ap", 2, "-end", 4, 0, 0));
    MC_OK(mc, memcached_prepend(mc, "ap", 2, "start-", 6, 0, 0));
    mc_expect(mc, "ap", "start-mid-end", 5);
    MC_RC(mc, memcached_append(mc, "ap-none", 7, "x", 1, 0, 0), MEMCACHED_NOTSTORED);
    MC_RC(mc, memcached_prepend(mc, "ap-none", 7, "x", 1, 0, 0), MEMCACHED_NOTSTORED);
    mc_expect(mc, "ap-none", NULL, 0);
    memcached_free(mc);
}
END_TEST

static uint64_t mc_gets_cas(memcached_st *mc, const char *k)
{
    const char *keys[] = { k };
    size_t lens[] = { strlen(k) };
    memcached_return_t rc;
    MC_OK(mc, memcached_mget(mc, keys, lens, 1));
    memcached_result_st *res = memcached_fetch_result(mc, NULL, &rc);
    ck_assert_msg(res != NULL, "gets %s: %s", k, memcached_strerror(mc, rc));
    uint64_t cas = memcached_result_cas(res);
    memcached_result_free(res);
    while ((res = memcached_fetch_result(mc, NULL, &rc)) != NULL)
        memcached_result_free(res);
    return cas;
}

START_TEST(cas)
{
    memcached_st *mc = mc_new(hc_srv.port);
    memcached_behavior_set(mc, MEMCACHED_BEHAVIOR_SUPPORT_CAS, 1);
    MC_OK(mc, mc_set(mc, "cs", "v1", 0));
    uint64_t c1 = mc_gets_cas(mc, "cs");
    ck_assert(c1 != 0);
    MC_OK(mc, memcached_cas(mc, "cs", 2, "v2", 2, 0, 1, c1));
    mc_expect(mc, "cs", "v2", 1);
    MC_RC(mc, memcached_cas(mc, "cs", 2, "v3", 2, 0, 0, c1), MEMCACHED_DATA_EXISTS);
    mc_expect(mc, "cs", "v2", 1);
    uint64_t c2 = mc_gets_cas(mc, "cs");
    ck_assert(c2 != c1);
    MC_RC(mc, memcached_cas(mc, "cs-none", 7, "v", 1, 0, 0, c2), MEMCACHED_NOTFOUND);
    memcached_free(mc);
}
END_TEST

START_TEST(incr_decr)
{
    memcached_st *mc = mc_new(hc_srv.port);
    uint64_t v = 0;
    MC_OK(mc, mc_set(mc, "ctr", "10", 0));
    MC_OK(mc, memcached_increment(mc, "ctr", 3, 5, &v));
    ck_assert_uint_eq(v, 15);
    MC_OK(mc, memcached_decrement(mc, "ctr", 3, 6, &v));
    ck_assert_uint_eq(v, 9);
    /* decr floors at 0 */
    MC_OK(mc, memcached_decrement(mc, "ctr", 3, 100, &v));
    ck_assert_uint_eq(v, 0);
    mc_expect_number(mc, "ctr", "0");
    /* incr wraps at 2^64 */
    MC_OK(mc, mc_set(mc, "wrap", "18446744073709551615", 0));
    MC_OK(mc, memcached_increment(mc, "wrap", 4, 2, &v));
    ck_assert_uint_eq(v, 1);
    MC_RC(mc, memcached_increment(mc, "ctr-none", 8, 1, &v), MEMCACHED_NOTFOUND);
    MC_OK(mc, mc_set(mc, "text", "abc", 0));
    memcached_return_t rc = memcached_increment(mc, "text", 4, 1, &v);
    ck_assert_msg(rc != MEMCACHED_SUCCESS, "incr of non-numeric succeeded");
    mc_expect(mc, "text", "abc", 0);
    memcached_free(mc);
}
END_TEST

START_TEST(delete_touch_gat)
{
    memcached_st *mc = mc_new(hc_srv.port);
    MC_OK(mc, mc_set(mc, "del", "x", 0));
    MC_OK(mc, memcached_delete(mc, "del", 3, 0));
    mc_expect(mc, "del", NULL, 0);
    MC_RC(mc, memcached_delete(mc, "del", 3, 0), MEMCACHED_NOTFOUND);

    MC_OK(mc, mc_set(mc, "tch", "y", 0));
    MC_OK(mc, memcached_touch(mc, "tch", 3, 100));
    MC_RC(mc, memcached_touch(mc, "tch-none", 8, 100), MEMCACHED_NOTFOUND);
    /* A negative exptime expires the item at once. */
    MC_OK(mc, memcached_touch(mc, "tch", 3, -1));
    mc_expect(mc, "tch", NULL, 0);
    memcached_free(mc);

    /* libmemcached has no gat: raw. */
    int fd = hc_conn();
    HC_EXPECT(fd, "set gt 2 0 3\r\nabc\r\n", "STORED\r\n");
    HC_EXPECT(fd, "gat 100 gt\r\n", "VALUE gt 2 3\r\nabc\r\nEND\r\n");
    HC_EXPECT(fd, "gat 100 gt-none\r\n", "END\r\n");
    close(fd);
}
END_TEST

static long long mc_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* flush_all empties the cache; flush_all N only about N seconds later. */
START_TEST(flush)
{
    memcached_st *mc = mc_new(hc_srv.port);
    MC_OK(mc, mc_set(mc, "fl1", "x", 0));
    MC_OK(mc, memcached_flush(mc, 0));
    mc_expect(mc, "fl1", NULL, 0);

    MC_OK(mc, mc_set(mc, "fl2", "y", 0));
    long long t0 = mc_ms();
    MC_OK(mc, memcached_flush(mc, MC_FLUSH_DELAY_S));
    mc_expect(mc, "fl2", "y", 0);
    size_t len;
    uint32_t fl;
    memcached_return_t rc = MEMCACHED_SUCCESS;
    while (rc == MEMCACHED_SUCCESS && mc_ms() - t0 < MC_FLUSH_WAIT_MS) {
        free(memcached_get(mc, "fl2", 3, &len, &fl, &rc));
        if (rc == MEMCACHED_SUCCESS)
            usleep(100 * 1000);
    }
    ck_assert_msg(rc == MEMCACHED_NOTFOUND, "fl2 still there %lld ms after flush_all %d",
                  mc_ms() - t0, MC_FLUSH_DELAY_S);
    /* memcached's clock ticks in whole seconds: N may act after N - 2 s. */
    ck_assert_msg(mc_ms() - t0 >= (MC_FLUSH_DELAY_S - 2) * 1000,
                  "delayed flush took effect after %lld ms", mc_ms() - t0);
    memcached_free(mc);
}
END_TEST

START_TEST(version_verbosity)
{
    memcached_st *mc = mc_new(hc_srv.port);
    MC_OK(mc, memcached_version(mc));
    const memcached_instance_st *in = memcached_server_instance_by_position(mc, 0);
    ck_assert(memcached_server_major_version(in) >= 1);
    MC_OK(mc, memcached_verbosity(mc, 1));
    MC_OK(mc, memcached_verbosity(mc, 0));
    memcached_free(mc);
}
END_TEST

START_TEST(mget_100)
{
    memcached_st *mc = mc_new(hc_srv.port);
    char kbuf[MC_MGET_KEYS][16];
    const char *keys[MC_MGET_KEYS];
    size_t lens[MC_MGET_KEYS];
    bool seen[MC_MGET_KEYS] = { false };
    for (int i = 0; i < MC_MGET_KEYS; i++) {
        char val[32];
        snprintf(kbuf[i], sizeof(kbuf[i]), "mg%d", i);
        snprintf(val, sizeof(val), "value-%d", i * 7);
        keys[i] = kbuf[i];
        lens[i] = strlen(kbuf[i]);
        MC_OK(mc, mc_set(mc, kbuf[i], val, (uint32_t)i));
    }
    MC_OK(mc, memcached_mget(mc, keys, lens, MC_MGET_KEYS));
    memcached_result_st *res;
    memcached_return_t rc;
    int n = 0;
    while ((res = memcached_fetch_result(mc, NULL, &rc)) != NULL) {
        int i = atoi(memcached_result_key_value(res) + 2);
        char want[32];
        snprintf(want, sizeof(want), "value-%d", i * 7);
        ck_assert(i >= 0 && i < MC_MGET_KEYS && !seen[i]);
        seen[i] = true;
        ck_assert_uint_eq(memcached_result_length(res), strlen(want));
        ck_assert(memcmp(memcached_result_value(res), want, strlen(want)) == 0);
        ck_assert_uint_eq(memcached_result_flags(res), (uint32_t)i);
        memcached_result_free(res);
        n++;
    }
    ck_assert_int_eq(n, MC_MGET_KEYS);
    memcached_free(mc);
}
END_TEST

struct mc_conn_job {
    int port, first, count;
    int ok;
    pthread_barrier_t *all_open;
    long long curr_conns;   /* thread 0: curr_connections with all open */
};

static void *mc_conn_worker(void *arg)
{
    struct mc_conn_job *j = arg;
    memcached_st *mcs[MC_CONNS];
    char key[32], val[32];
    for (int i = 0; i < j->count; i++) {
        mcs[i] = memcached_create(NULL);
        memcached_server_add(mcs[i], "127.0.0.1", (in_port_t)j->port);
        memcached_behavior_set(mcs[i], MEMCACHED_BEHAVIOR_POLL_TIMEOUT, H_IO_TIMEOUT_MS);
        snprintf(key, sizeof(key), "conn%d", j->first + i);
        snprintf(val, sizeof(val), "v%d", (j->first + i) * 3);
        if (memcached_set(mcs[i], key, strlen(key), val, strlen(val), 0, 0) == MEMCACHED_SUCCESS)
            j->ok++;
    }
    /* All connections of all threads are open now. */
    pthread_barrier_wait(j->all_open);
    if (j->first == 0) {
        char st[HC_REPLY_MAX];
        j->curr_conns = h_stats(j->port, NULL, st, sizeof(st))
                            ? h_stat_num(st, "curr_connections") : -1;
    }
    for (int i = 0; i < j->count; i++) {
        size_t len;
        uint32_t fl;
        memcached_return_t rc;
        snprintf(key, sizeof(key), "conn%d", j->first + i);
        snprintf(val, sizeof(val), "v%d", (j->first + i) * 3);
        char *v = memcached_get(mcs[i], key, strlen(key), &len, &fl, &rc);
        if (v && len == strlen(val) && memcmp(v, val, len) == 0)
            j->ok++;
        free(v);
    }
    pthread_barrier_wait(j->all_open);
    for (int i = 0; i < j->count; i++)
        memcached_free(mcs[i]);
    return NULL;
}

START_TEST(concurrent_200)
{
    pthread_t th[MC_CONN_THREADS];
    struct mc_conn_job jobs[MC_CONN_THREADS];
    pthread_barrier_t all_open;
    int per = MC_CONNS / MC_CONN_THREADS;
    ck_assert_int_eq(pthread_barrier_init(&all_open, NULL, MC_CONN_THREADS), 0);
    for (int t = 0; t < MC_CONN_THREADS; t++) {
        jobs[t] = (struct mc_conn_job){ hc_srv.port, t * per, per, 0, &all_open, 0 };
        ck_assert_int_eq(pthread_create(&th[t], NULL, mc_conn_worker, &jobs[t]), 0);
    }
    int ok = 0;
    for (int t = 0; t < MC_CONN_THREADS; t++) {
        pthread_join(th[t], NULL);
        ok += jobs[t].ok;
    }
    pthread_barrier_destroy(&all_open);
    ck_assert_int_eq(ok, 2 * MC_CONNS);
    /* ours, plus the stats connection itself */
    ck_assert_msg(jobs[0].curr_conns >= MC_CONNS + 1, "curr_connections %lld with %d open",
                  jobs[0].curr_conns, MC_CONNS);
    char st[HC_REPLY_MAX];
    ck_assert(h_stats(hc_srv.port, NULL, st, sizeof(st)));
    ck_assert_msg(h_stat_num(st, "total_connections") >= MC_CONNS,
                  "total_connections %lld", h_stat_num(st, "total_connections"));
}
END_TEST

START_TEST(noreply_pipeline)
{
    memcached_st *mc = mc_new(hc_srv.port);
    char key[32], val[32];
    MC_OK(mc, memcached_behavior_set(mc, MEMCACHED_BEHAVIOR_NOREPLY, 1));
    for (int i = 0; i < MC_NOREPLY_N; i++) {
        snprintf(key, sizeof(key), "nr%d", i);
        snprintf(val, sizeof(val), "n%d", i * 11);
        MC_OK(mc, mc_set(mc, key, val, (uint32_t)i));
    }
    MC_OK(mc, memcached_delete(mc, "nr0", 3, 0));
    MC_OK(mc, memcached_behavior_set(mc, MEMCACHED_BEHAVIOR_NOREPLY, 0));
    mc_expect(mc, "nr0", NULL, 0);
    for (int i = 1; i < MC_NOREPLY_N; i++) {
        snprintf(key, sizeof(key), "nr%d", i);
        snprintf(val, sizeof(val), "n%d", i * 11);
        mc_expect(mc, key, val, (uint32_t)i);
    }
    memcached_free(mc);
}
END_TEST

/* A value of len bytes under key k: stored? Checked back when stored. */
static bool mc_try_size(memcached_st *mc, const char *k, size_t len, char *buf)
{
    memcached_return_t rc = memcached_set(mc, k, strlen(k), buf, len, 0, 0);
    if (rc != MEMCACHED_SUCCESS)
        return false;
    size_t got;
    uint32_t fl;
    char *v = memcached_get(mc, k, strlen(k), &got, &fl, &rc);
    ck_assert_msg(rc == MEMCACHED_SUCCESS && got == len &&
                      (len == 0 || memcmp(v, buf, len) == 0),
                  "value of %zu bytes stored but read back wrong", len);
    free(v);
    return true;
}

/* The largest value storable under k, by bisection in [0, page]. */
static size_t mc_largest(memcached_st *mc, const char *k, size_t page, char *buf)
{
    size_t lo = 0, hi = page;   /* lo stores, hi does not */
    ck_assert(mc_try_size(mc, k, lo, buf));
    ck_assert_msg(!mc_try_size(mc, k, hi, buf), "a value of item_size_max %zu was stored",
                  page);
    while (hi - lo > 1) {
        size_t mid = lo + (hi - lo) / 2;
        if (mc_try_size(mc, k, mid, buf))
            lo = mid;
        else
            hi = mid;
    }
    return lo;
}

/*
 * For a server with the given -I: item_size_max as configured, the largest
 * value L per key length, and the overhead P - L - K the same for all keys.
 * Returns that overhead.
 */
static size_t mc_check_sizes(const char *iflag, size_t page)
{
    struct h_server srv = { 0 };
    const char *flags[] = { "-I", iflag, NULL };
    ck_assert(h_server_start(&srv, iflag ? flags : (const char *[]){ NULL }));
    char st[HC_REPLY_MAX];
    ck_assert(h_stats(srv.port, "settings", st, sizeof(st)));
    ck_assert_int_eq(h_stat_num(st, "item_size_max"), (long long)page);

    memcached_st *mc = mc_new(srv.port);
    char *buf = malloc(page + 1);
    memset(buf, 'L', page);
    static const char *const keys[] = { "k", "kkkkkkkkkk", "kkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkk" };
    size_t overhead = 0;
    for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
        size_t k = strlen(keys[i]);
        size_t largest = mc_largest(mc, keys[i], page, buf);
        size_t oh = page - largest - k;
        ck_assert_msg(oh > 0 && oh <= MC_HEADER_MAX,
                      "-I %s key %zu: largest value %zu, overhead %zu", iflag ? iflag : "1m",
                      k, largest, oh);
        if (i == 0)
            overhead = oh;
        ck_assert_msg(oh == overhead, "key length %zu: largest %zu, overhead %zu != %zu",
                      k, largest, oh, overhead);
        /* the first refused one leaves the connection working */
        memcached_return_t rc = memcached_set(mc, keys[i], k, buf, largest + 1, 0, 0);
        ck_assert_msg(rc != MEMCACHED_SUCCESS, "value of %zu stored", largest + 1);
        mc_expect(mc, keys[i], NULL, 0);
    }
    MC_OK(mc, memcached_set(mc, "after", 5, "ok", 2, 0, 0));
    mc_expect(mc, "after", "ok", 0);
    memcached_free(mc);
    free(buf);
    h_server_stop(&srv);
    return overhead;
}

START_TEST(largest_value)
{
    size_t oh_default = mc_check_sizes(NULL, MC_DEFAULT_PAGE_BYTES);
    size_t oh_small = mc_check_sizes(MC_SMALL_PAGE, MC_SMALL_PAGE_BYTES);
    ck_assert_uint_eq(oh_default, oh_small);
}
END_TEST

static Suite *mc_suite(void)
{
    Suite *s = suite_create("memcached");
    TCase *tc = tcase_create("commands");
    tcase_add_unchecked_fixture(tc, mc_setup, mc_teardown);
    tcase_set_timeout(tc, MC_TIMEOUT_S);
    tcase_add_test(tc, set_get);
    tcase_add_test(tc, add_replace);
    tcase_add_test(tc, append_prepend);
    tcase_add_test(tc, cas);
    tcase_add_test(tc, incr_decr);
    tcase_add_test(tc, delete_touch_gat);
    tcase_add_test(tc, version_verbosity);
    tcase_add_test(tc, mget_100);
    tcase_add_test(tc, concurrent_200);
    tcase_add_test(tc, noreply_pipeline);
    tcase_add_test(tc, flush);
    suite_add_tcase(s, tc);

    TCase *tz = tcase_create("sizes");
    tcase_set_timeout(tz, MC_TIMEOUT_S);
    tcase_add_test(tz, largest_value);
    suite_add_tcase(s, tz);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(mc_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? 0 : 1;
}
