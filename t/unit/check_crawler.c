/*
 * check_crawler: the hash walk (assoc_walk through store_walk_step) meets
 * every linked item exactly once, also when the table grows in the middle
 * of the walk; the crawler thread reclaims expired and flushed items with
 * exact counts (curr_items, bytes, crawler_reclaimed) and leaves live ones;
 * tocrawl and class sets limit a crawl; a crawl and a walk racing writers
 * stay consistent (run under TSan by check-unit of a --enable-tsan build).
 */
#include <check.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/clock.h"
#include "slabs/internal.h"
#include "t/unit/fixture.h"

#define MB (1024u * 1024u)
#define WALK_KEYS 5000
#define WALK_BATCH 8               /* buckets per walk step: many steps */
#define WAIT_STEP_MS 10
#define WAIT_MAX_MS 20000          /* generous: sanitizer builds are slow */
#define RACE_KEYS 2000
#define RACE_ROUNDS 20000

static void setup(void)
{
    clock_init();
}

static store *mk(unsigned power, bool crawler)
{
    struct store_config c;
    store_config_defaults(&c);
    c.mem_limit = 64 * MB;
    c.hash_power = power;
    c.crawler = crawler;
    c.crawler_sleep_us = 0;
    c.lru_maintainer = false;   /* the crawler alone reclaims: its counts are exact */
    return fx_store_create(&c);
}

static void put(store *s, const char *k, int64_t exptime, size_t nvalue)
{
    item *it = store_item_alloc(s, k, strlen(k), 0, exptime, nvalue, NULL);
    ck_assert_ptr_nonnull(it);
    fx_fill(s, it, 'v', nvalue);
    ck_assert_int_eq(store_commit(s, it, STORE_SET, 0, NULL), STORE_OK);
}

static void key_of(char *buf, size_t len, int i)
{
    snprintf(buf, len, "key:%06d", i);
}

static int index_of(const item *it)
{
    char k[KEY_MAX_LENGTH + 1];
    memcpy(k, item_key(it), item_nkey(it));
    k[item_nkey(it)] = '\0';
    return atoi(k + 4);
}

/* ---- the walk ---- */

struct seen {
    unsigned char count[WALK_KEYS];
    unsigned total;
};

static void count_visit(void *arg, const item *it)
{
    struct seen *sn = arg;
    int i = index_of(it);
    if (i >= 0 && i < WALK_KEYS)
        sn->count[i]++;
    sn->total++;
}

static void assert_each_once(const struct seen *sn, int n)
{
    for (int i = 0; i < n; i++)
        ck_assert_msg(sn->count[i] == 1, "key %d met %u times", i, sn->count[i]);
}

START_TEST(test_walk_visits_each_once)
{
    store *s = mk(8, false);
    char k[32];
    for (int i = 0; i < WALK_KEYS; i++) {
        key_of(k, sizeof(k), i);
        put(s, k, 0, 10);
    }
    store_maintain(s);
    struct seen *sn = calloc(1, sizeof(*sn));
    struct store_walk w = { 0 };
    while (store_walk_step(s, &w, NULL, WALK_BATCH, count_visit, sn))
        ;
    assert_each_once(sn, WALK_KEYS);
    ck_assert_uint_eq(sn->total, WALK_KEYS);
    free(sn);
    store_destroy(s);
}
END_TEST

/* The table doubles (and then doubles again) between steps of one walk:
 * every key stored before the walk is met exactly once. */
START_TEST(test_walk_across_growth)
{
    store *s = mk(4, false);
    char k[32];
    int first = 20;                         /* 16 buckets: not yet growing */
    for (int i = 0; i < first; i++) {
        key_of(k, sizeof(k), i);
        put(s, k, 0, 10);
    }
    struct seen *sn = calloc(1, sizeof(*sn));
    struct store_walk w = { 0 };
    ck_assert(store_walk_step(s, &w, NULL, 3, count_visit, sn));
    /* more keys: growth starts and moves buckets as writes go on */
    for (int i = first; i < WALK_KEYS; i++) {
        key_of(k, sizeof(k), i);
        put(s, k, 0, 10);
        if (i % 97 == 0)
            store_walk_step(s, &w, NULL, 1, count_visit, sn);
    }
    ck_assert_uint_gt(assoc_power(s), 4);
    while (store_walk_step(s, &w, NULL, WALK_BATCH, count_visit, sn))
        ;
    assert_each_once(sn, first);            /* linked for the whole walk */
    for (int i = first; i < WALK_KEYS; i++)
        ck_assert_uint_le(sn->count[i], 1);  /* later ones: at most once */
    free(sn);
    store_destroy(s);
}
END_TEST

/* A walk that starts in the middle of a growth. */
START_TEST(test_walk_starting_mid_growth)
{
    store *s = mk(4, false);
    char k[32];
    int n = 33;                             /* > 32 (16 buckets x 2): growth starts */
    for (int i = 0; i < n; i++) {
        key_of(k, sizeof(k), i);
        put(s, k, 0, 10);
    }
    ck_assert(assoc_expanding(s));
    struct seen *sn = calloc(1, sizeof(*sn));
    struct store_walk w = { 0 };
    store_walk_step(s, &w, NULL, 2, count_visit, sn);
    store_maintain(s);                      /* growth finishes mid-walk */
    ck_assert(!assoc_expanding(s));
    while (store_walk_step(s, &w, NULL, 2, count_visit, sn))
        ;
    assert_each_once(sn, n);
    free(sn);
    store_destroy(s);
}
END_TEST

/* ---- reclaim ---- */

static void wait_for_items(store *s, uint64_t want)
{
    struct store_stats ss;
    for (int ms = 0; ms < WAIT_MAX_MS; ms += WAIT_STEP_MS) {
        store_stats(s, &ss);
        if (ss.curr_items == want && !ss.lru_crawler_running)
            return;
        struct timespec ts = { 0, WAIT_STEP_MS * 1000000L };
        nanosleep(&ts, NULL);
    }
    store_stats(s, &ss);
    ck_abort_msg("curr_items %llu, want %llu", (unsigned long long)ss.curr_items,
                 (unsigned long long)want);
}

static void start(store *s)
{
    char err[FX_ERR_MAX];
    ck_assert_int_eq(store_start_background(s, err, sizeof(err)), 0);
}

START_TEST(test_reclaims_expired_on_schedule)
{
    store *s = mk(12, true);
    start(s);
    char k[32];
    for (int i = 0; i < 1000; i++) {
        key_of(k, sizeof(k), i);
        put(s, k, i < 600 ? 5 : 0, 20);
    }
    struct store_stats ss;
    store_stats(s, &ss);
    uint64_t bytes_live = 0;
    ck_assert_uint_eq(ss.curr_items, 1000);
    clock_advance(10);                      /* 600 expire; the schedule is due */
    wait_for_items(s, 400);
    store_stats(s, &ss);
    ck_assert_uint_eq(ss.crawler_reclaimed, 600);
    ck_assert_uint_ge(ss.crawler_items_checked, 1000);
    ck_assert_uint_ge(ss.lru_crawler_starts, 1);
    for (unsigned c = 1; c <= store_class_count(s); c++) {
        struct store_class_stats cs;
        store_class_stats(s, c, &cs);
        bytes_live += cs.mem_requested;
        ck_assert_uint_eq(cs.used_chunks, cs.curr_items);
    }
    ck_assert_uint_eq(bytes_live, ss.bytes);
    for (int i = 600; i < 1000; i++) {      /* live ones stay */
        key_of(k, sizeof(k), i);
        item *it = store_get(s, k, strlen(k), NULL);
        ck_assert_ptr_nonnull(it);
        store_release(s, it);
    }
    store_destroy(s);
}
END_TEST

START_TEST(test_flush_reclaims_all)
{
    store *s = mk(12, true);
    start(s);
    char k[32];
    for (int i = 0; i < 3000; i++) {
        key_of(k, sizeof(k), i);
        put(s, k, 0, 20 + (size_t)(i % 500));   /* several classes */
    }
    store_flush(s, 0);
    wait_for_items(s, 0);
    struct store_stats ss;
    store_stats(s, &ss);
    ck_assert_uint_eq(ss.bytes, 0);
    ck_assert_uint_eq(ss.crawler_reclaimed, 3000);
    for (unsigned c = 1; c <= store_class_count(s); c++) {
        struct store_class_stats cs;
        store_class_stats(s, c, &cs);
        ck_assert_uint_eq(cs.used_chunks, 0);
    }
    store_destroy(s);
}
END_TEST

/* Waits until a crawl after the `starts` seen before it has finished. */
static void wait_crawl_done(store *s, uint64_t starts_before, struct store_stats *ss)
{
    for (int ms = 0; ms < WAIT_MAX_MS; ms += WAIT_STEP_MS) {
        store_stats(s, ss);
        if (ss->lru_crawler_starts > starts_before && !ss->lru_crawler_running)
            return;
        struct timespec ts = { 0, WAIT_STEP_MS * 1000000L };
        nanosleep(&ts, NULL);
    }
    ck_abort_msg("no crawl finished");
}

static uint64_t checked_in(store *s, unsigned cls)
{
    struct store_class_stats cs;
    store_class_stats(s, cls, &cs);
    return cs.crawler_items_checked;
}

/* An asked crawl of one class looks at that class only. */
START_TEST(test_asked_crawl_one_class)
{
    store *s = mk(12, true);
    start(s);
    char k[32];
    for (int i = 0; i < 200; i++) {
        key_of(k, sizeof(k), i);
        put(s, k, 0, i < 100 ? 10 : 2000);  /* two classes, nothing expires */
    }
    item *a = store_get(s, "key:000000", 10, NULL);
    item *b = store_get(s, "key:000150", 10, NULL);
    unsigned small = item_class(a), big = item_class(b);
    store_release(s, a);
    store_release(s, b);
    ck_assert_uint_ne(small, big);
    struct store_class_set set = { { 0 } };
    store_class_set_add(&set, big);
    ck_assert(store_class_set_has(&set, big));
    ck_assert(!store_class_set_has(&set, small));
    ck_assert_int_eq(store_crawl(s, &set), STORE_CRAWL_OK);
    struct store_stats ss;
    wait_crawl_done(s, 0, &ss);
    ck_assert_uint_eq(checked_in(s, big), 100);
    ck_assert_uint_eq(checked_in(s, small), 0);
    ck_assert_uint_eq(ss.curr_items, 200);
    store_destroy(s);
}
END_TEST

START_TEST(test_tocrawl_limits_one_crawl)
{
    store *s = mk(12, true);
    start(s);
    store_crawler_set_tocrawl(s, 30);
    char k[32];
    for (int i = 0; i < 100; i++) {
        key_of(k, sizeof(k), i);
        put(s, k, 0, 10);
    }
    store_flush(s, 0);                      /* a flush crawls everything, no limit */
    wait_for_items(s, 0);
    for (int i = 0; i < 100; i++) {
        key_of(k, sizeof(k), i);
        put(s, k, 0, 10);
    }
    /* an asked crawl: 30 items of the one class, then it stops */
    struct store_class_set all;
    store_class_set_all(&all);
    struct store_stats before, after;
    store_stats(s, &before);
    ck_assert_int_eq(store_crawl(s, &all), STORE_CRAWL_OK);
    wait_crawl_done(s, before.lru_crawler_starts, &after);
    ck_assert_uint_eq(after.curr_items, 100);   /* nothing dead: nothing reclaimed */
    ck_assert_uint_eq(after.crawler_items_checked - before.crawler_items_checked, 30);
    store_destroy(s);
}
END_TEST

START_TEST(test_enable_disable)
{
    store *s = mk(8, false);
    start(s);
    struct store_class_set all;
    store_class_set_all(&all);
    ck_assert_int_eq(store_crawl(s, &all), STORE_CRAWL_DISABLED);
    char err[FX_ERR_MAX];
    ck_assert_int_eq(store_crawler_enable(s, true, err, sizeof(err)), 0);
    ck_assert(store_crawler_enabled(s));
    ck_assert_int_eq(store_crawl(s, &all), STORE_CRAWL_OK);
    ck_assert_int_eq(store_crawler_enable(s, false, err, sizeof(err)), 0);
    ck_assert(!store_crawler_enabled(s));
    ck_assert_int_eq(store_crawl(s, &all), STORE_CRAWL_DISABLED);
    store_destroy(s);
}
END_TEST

/* ---- racing writers ---- */

struct race {
    store *s;
    _Atomic bool stop;
};

static void *writer(void *arg)
{
    struct race *r = arg;
    char k[32];
    for (int i = 0; i < RACE_ROUNDS && !atomic_load(&r->stop); i++) {
        key_of(k, sizeof(k), i % RACE_KEYS);
        if (i % 3 == 0) {
            store_delete(r->s, k, strlen(k), 0, NULL);
            continue;
        }
        item *it = store_item_alloc(r->s, k, strlen(k), 0, i % 2 ? -1 : 0,
                                    (size_t)(i % 300), NULL);
        if (it == NULL)
            continue;
        fx_fill(r->s, it, 'r', (size_t)(i % 300));
        store_commit(r->s, it, STORE_SET, 0, NULL);
    }
    return NULL;
}

static void nop_visit(void *arg, const item *it)
{
    (*(unsigned *)arg) += item_nkey(it) > 0;
}

START_TEST(test_crawl_races_writers)
{
    store *s = mk(6, true);                 /* small: growth during the race */
    start(s);
    struct race r = { .s = s };
    pthread_t t[2];
    for (int i = 0; i < 2; i++)
        pthread_create(&t[i], NULL, writer, &r);
    struct store_class_set all;
    store_class_set_all(&all);
    unsigned met = 0;
    for (int round = 0; round < 50; round++) {
        store_crawl(s, &all);
        struct store_walk w = { 0 };
        while (store_walk_step(s, &w, NULL, 16, nop_visit, &met))
            ;
    }
    for (int i = 0; i < 2; i++)
        pthread_join(t[i], NULL);
    store_flush(s, 0);
    wait_for_items(s, 0);
    store_destroy(s);
}
END_TEST

static Suite *crawler_suite(void)
{
    Suite *s = suite_create("crawler");
    TCase *tc = tcase_create("walk");
    tcase_add_checked_fixture(tc, setup, NULL);
    tcase_add_test(tc, test_walk_visits_each_once);
    tcase_add_test(tc, test_walk_across_growth);
    tcase_add_test(tc, test_walk_starting_mid_growth);
    suite_add_tcase(s, tc);
    tc = tcase_create("reclaim");
    tcase_add_checked_fixture(tc, setup, NULL);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_reclaims_expired_on_schedule);
    tcase_add_test(tc, test_flush_reclaims_all);
    tcase_add_test(tc, test_asked_crawl_one_class);
    tcase_add_test(tc, test_tocrawl_limits_one_crawl);
    tcase_add_test(tc, test_enable_disable);
    tcase_add_test(tc, test_crawl_races_writers);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return fx_run_suite(crawler_suite());
}
