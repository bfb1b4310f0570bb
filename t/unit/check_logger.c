/*
 * check_logger: common/logger.c, the event rings behind `watch`: memcached
 * 1.6.45's line formats, a full ring that drops and counts, a full watcher
 * buffer that skips, counts and says "skipped=N", stream filtering, and
 * watchers attaching and detaching while threads log (for TSan).
 */
#include <check.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/logger.h"
#include "t/unit/fixture.h"

#define KB 1024
#define TAKE_MAX (256 * KB)

static char taken[TAKE_MAX + 1];

static void setup(void)
{
    logger_init(LOGGER_WORKER_BUF_KB * KB, LOGGER_WATCHER_BUF_KB * KB);
}

static void teardown(void)
{
    logger_shutdown();
}

static struct logger_watcher *watch(unsigned streams)
{
    enum logger_add_result res;
    struct logger_watcher *w = logger_watcher_add(streams, &res);
    ck_assert_int_eq(res, LOGGER_ADD_OK);
    ck_assert_ptr_nonnull(w);
    return w;
}

static const char *take(struct logger_watcher *w)
{
    size_t n = logger_watcher_take(w, taken, TAKE_MAX);
    taken[n] = '\0';
    return taken;
}

/* The line after its "ts=<s>.<us> gid=<n> " prefix, which varies. */
static const char *after_gid(const char *line)
{
    ck_assert_msg(strncmp(line, "ts=", 3) == 0, "line: %s", line);
    const char *p = strstr(line, " gid=");
    ck_assert_ptr_nonnull(p);
    p = strchr(p + 1, ' ');
    ck_assert_ptr_nonnull(p);
    return p + 1;
}

static unsigned count_lines(const char *s)
{
    unsigned n = 0;
    for (; *s != '\0'; s++)
        n += *s == '\n';
    return n;
}

START_TEST(test_formats)
{
    struct logger_watcher *w = watch(LOGGER_FETCHERS | LOGGER_MUTATIONS | LOGGER_DELETIONS |
                                     LOGGER_EVICTIONS | LOGGER_CONNEVENTS);
    logger_item_get("foo", 3, LOGGER_GET_FOUND, 1, 5, 17);
    ck_assert_str_eq(after_gid(take(w)), "type=item_get key=foo status=found clsid=1 cfd=17 size=5\n");
    logger_item_get("a b\n", 4, LOGGER_GET_NOT_FOUND, 0, 0, 17);
    ck_assert_str_eq(after_gid(take(w)),
                     "type=item_get key=a%20b%0A status=not_found clsid=0 cfd=17 size=0\n");
    logger_item_store("k", 1, LOGGER_STORE_STORED, LOGGER_CMD_SET, 100, 2, 10, 9);
    ck_assert_str_eq(after_gid(take(w)),
                     "type=item_store key=k status=stored cmd=set ttl=100 clsid=2 cfd=9 size=10\n");
    logger_item_store("k", 1, LOGGER_STORE_NOT_STORED, LOGGER_CMD_ADD, 0, 2, 10, 9);
    ck_assert_str_eq(after_gid(take(w)),
                     "type=item_store key=k status=not_stored cmd=add ttl=0 clsid=2 cfd=9 size=10\n");
    logger_item_deleted("k", 1, LOGGER_DEL_META, 2, 10);
    ck_assert_str_eq(after_gid(take(w)), "type=deleted key=k cmd=md clsid=2 size=10\n");
    logger_eviction("e", 1, true, -1, 30, 3, 7);
    ck_assert_str_eq(after_gid(take(w)),
                     "type=eviction key=e fetch=yes ttl=-1 la=30 clsid=3 size=7\n");
    logger_conn_new("127.0.0.1", 4000, LOGGER_TCP, 12);
    ck_assert_str_eq(after_gid(take(w)),
                     "type=conn_new rip=127.0.0.1 rport=4000 transport=tcp cfd=12\n");
    logger_conn_close("unix", 0, LOGGER_LOCAL, LOGGER_CLOSE_NORMAL, 12);
    ck_assert_str_eq(after_gid(take(w)),
                     "type=conn_close rip=unix rport=0 transport=local reason=normal cfd=12\n");
    logger_watcher_remove(w);
}
END_TEST

START_TEST(test_uri_encode)
{
    char out[3 * 8 + 1];
    ck_assert_uint_eq(logger_uri_encode("aZ9-._~", 7, out), 7);
    ck_assert_str_eq(out, "aZ9-._~");
    ck_assert_uint_eq(logger_uri_encode("a:/\xff", 4, out), 10);
    ck_assert_str_eq(out, "a%3A%2F%FF");
}
END_TEST

START_TEST(test_streams_and_gids)
{
    logger_item_get("before", 6, LOGGER_GET_FOUND, 1, 1, 1);   /* predates the watcher */
    struct logger_watcher *w = watch(LOGGER_MUTATIONS);
    logger_item_get("get", 3, LOGGER_GET_FOUND, 1, 1, 1);      /* not its stream */
    logger_item_store("set", 3, LOGGER_STORE_STORED, LOGGER_CMD_SET, 0, 1, 1, 1);
    const char *s = take(w);
    ck_assert_uint_eq(count_lines(s), 1);
    ck_assert_ptr_nonnull(strstr(s, "key=set"));
    struct logger_stats st;
    logger_stats(&st);
    ck_assert_uint_eq(st.worker_written, 3);
    ck_assert_uint_eq(st.watcher_sent, 1);
    ck_assert_uint_eq(st.watchers, 1);
    logger_watcher_remove(w);
    logger_stats(&st);
    ck_assert_uint_eq(st.watchers, 0);
}
END_TEST

/* A ring smaller than the burst drops what does not fit and counts it. */
START_TEST(test_ring_drops)
{
    logger_shutdown();
    logger_init(KB, LOGGER_WATCHER_BUF_KB * KB);
    struct logger_watcher *w = watch(LOGGER_FETCHERS);
    const unsigned burst = 100;
    for (unsigned i = 0; i < burst; i++)
        logger_item_get("key", 3, LOGGER_GET_FOUND, 1, 1, 1);
    struct logger_stats st;
    logger_stats(&st);
    ck_assert_uint_gt(st.worker_dropped, 0);
    ck_assert_uint_gt(st.worker_written, 0);
    ck_assert_uint_eq(st.worker_written + st.worker_dropped, burst);
    ck_assert_uint_eq(count_lines(take(w)), st.worker_written);
    /* drained: the ring takes records again, across its end (PAD) */
    for (unsigned round = 0; round < 3; round++) {
        logger_item_get("again", 5, LOGGER_GET_FOUND, 1, 1, 1);
        ck_assert_uint_eq(count_lines(take(w)), 1);
    }
    logger_watcher_remove(w);
}
END_TEST

/* A watcher buffer that cannot take a line skips it, counts it, says so once. */
START_TEST(test_watcher_skips)
{
    logger_shutdown();
    const size_t small = 512;
    logger_init(LOGGER_WORKER_BUF_KB * KB, small);
    struct logger_watcher *w = watch(LOGGER_FETCHERS);
    const unsigned burst = 20;
    for (unsigned i = 0; i < burst; i++)
        logger_item_get("key", 3, LOGGER_GET_FOUND, 1, 1, 1);
    const char *s = take(w);
    unsigned fitted = count_lines(s);
    ck_assert_uint_gt(fitted, 0);
    ck_assert_uint_lt(fitted, burst);
    ck_assert_uint_le(strlen(s), small);
    struct logger_stats st;
    logger_stats(&st);
    ck_assert_uint_eq(st.watcher_skipped, burst - fitted);
    ck_assert_uint_eq(st.watcher_sent, fitted);
    logger_item_get("next", 4, LOGGER_GET_FOUND, 1, 1, 1);
    char want[64];
    snprintf(want, sizeof(want), "skipped=%u\nts=", burst - fitted);
    s = take(w);
    ck_assert_msg(strncmp(s, want, strlen(want)) == 0, "got: %s", s);
    ck_assert_ptr_nonnull(strstr(s, "key=next"));
    logger_watcher_remove(w);
}
END_TEST

START_TEST(test_too_many_watchers)
{
    struct logger_watcher *ws[LOGGER_WATCHERS_MAX];
    for (unsigned i = 0; i < LOGGER_WATCHERS_MAX; i++)
        ws[i] = watch(LOGGER_FETCHERS);
    enum logger_add_result res;
    ck_assert_ptr_null(logger_watcher_add(LOGGER_FETCHERS, &res));
    ck_assert_int_eq(res, LOGGER_ADD_TOO_MANY);
    for (unsigned i = 0; i < LOGGER_WATCHERS_MAX; i++)
        logger_watcher_remove(ws[i]);
    ck_assert(!logger_wants(LOGGER_FETCHERS));
}
END_TEST

#define THREADS 4
#define THREAD_RECORDS 20000
#define WATCH_ROUNDS 200

static void *log_thread(void *arg)
{
    (void)arg;
    ck_assert(logger_thread_ring());
    for (unsigned i = 0; i < THREAD_RECORDS; i++)
        if (logger_wants(LOGGER_FETCHERS))
            logger_item_get("threaded", 8, LOGGER_GET_FOUND, 1, 1, 1);
    return NULL;
}

/* Watchers come and go while four threads log: every line is whole. */
START_TEST(test_threads_attach_detach)
{
    pthread_t th[THREADS];
    for (unsigned i = 0; i < THREADS; i++)
        ck_assert_int_eq(pthread_create(&th[i], NULL, log_thread, NULL), 0);
    for (unsigned round = 0; round < WATCH_ROUNDS; round++) {
        struct logger_watcher *w = watch(LOGGER_FETCHERS);
        const char *s = take(w);
        size_t n = strlen(s);
        ck_assert(n == 0 || s[n - 1] == '\n');
        ck_assert(n == 0 || strstr(s, "type=item_get key=threaded status=found") != NULL);
        logger_watcher_remove(w);
    }
    for (unsigned i = 0; i < THREADS; i++)
        pthread_join(th[i], NULL);
    struct logger_stats st;
    logger_stats(&st);
    ck_assert_uint_le(st.worker_written + st.worker_dropped, THREADS * THREAD_RECORDS);
    ck_assert_uint_eq(st.watchers, 0);
}
END_TEST

static Suite *logger_suite(void)
{
    Suite *s = suite_create("logger");
    TCase *tc = tcase_create("logger");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_formats);
    tcase_add_test(tc, test_uri_encode);
    tcase_add_test(tc, test_streams_and_gids);
    tcase_add_test(tc, test_ring_drops);
    tcase_add_test(tc, test_watcher_skips);
    tcase_add_test(tc, test_too_many_watchers);
    tcase_add_test(tc, test_threads_attach_detach);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return fx_run_suite(logger_suite());
}
