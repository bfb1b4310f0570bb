/*
 * check_advisor: the size histogram (slabs/sizes.c) and the class table
 * advisor (slabs/advisor.c).
 *
 * Histogram: every size falls in the bucket whose bounds hold it; a store's
 * histogram counts exactly the linked items and their bytes through sets,
 * replaces, deletes and evictions, also when threads set, overwrite and
 * delete the same keys at once (run under TSan by the tsan build).
 * Advisor: on synthetic distributions the free-form table is the known
 * optimum (checked against an exhaustive search over every table of small
 * histograms), keeps memcached's slab_sizes rules, and the geometric search
 * never does worse than the default table.
 */
#include <check.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
#include "slabs/internal.h"
#include "t/unit/fixture.h"

#define MB (1024u * 1024u)
#define PAGE PAGE_SIZE_DEFAULT
#define TOP (PAGE_SIZE_DEFAULT / 2)
#define LIMIT (64ull * MB)
#define HDR (ITEM_HEADER_SIZE + ITEM_CAS_SIZE)
#define FLOOR (HDR + 1)

/* ---------------------------------------------------------- the buckets */

/* x lies in its bucket's bounds. */
static void check_size_in_bucket(uint64_t x)
{
    unsigned b = store_sizes_bucket_of(x);
    ck_assert_uint_lt(b, STORE_SIZES_BUCKETS);
    ck_assert_uint_ge(store_sizes_bucket_upper(b), x);
    if (b > 0)
        ck_assert_uint_lt(store_sizes_bucket_upper(b - 1), x);
}

START_TEST(bucket_bounds_hold_their_sizes)
{
    /* every size of the fine range and a bit beyond, then each bound and
     * its neighbours */
    for (uint64_t x = 1; x < 2 * STORE_SIZES_FINE_MAX; x++)
        check_size_in_bucket(x);
    for (unsigned b = 0; b + 1 < STORE_SIZES_BUCKETS; b++) {
        uint64_t u = store_sizes_bucket_upper(b);
        check_size_in_bucket(u - 1);
        check_size_in_bucket(u);
        check_size_in_bucket(u + 1);
        ck_assert_uint_eq(store_sizes_bucket_of(u + 1), b + 1);
    }
}
END_TEST

START_TEST(bucket_bounds_are_eight_aligned_and_fine_below_the_limit)
{
    for (unsigned b = 0; b < STORE_SIZES_BUCKETS; b++)
        ck_assert_uint_eq(store_sizes_bucket_upper(b) % CHUNK_ALIGN, 0);
    ck_assert_uint_eq(store_sizes_bucket_upper(STORE_SIZES_FINE_BUCKETS - 1),
                      STORE_SIZES_FINE_MAX);
    ck_assert_uint_eq(store_sizes_bucket_of(74), 9);   /* (72, 80] */
    ck_assert_uint_eq(store_sizes_bucket_upper(STORE_SIZES_BUCKETS - 1),
                      1ull << STORE_SIZES_TOP_LOG2);
}
END_TEST

/* ---------------------------------------------------------- a store's */

static store *st;
static struct store_sizes hs;

static void store_setup(void)
{
    clock_init();
    struct store_config c;
    store_config_defaults(&c);
    c.mem_limit = 2 * MB;
    c.hash_power = 8;
    st = fx_store_create(&c);
}

static void store_teardown(void)
{
    store_destroy(st);
    st = NULL;
}

static enum store_result set_len(const char *k, size_t nvalue)
{
    enum store_result why = STORE_OK;
    item *it = store_item_alloc(st, k, strlen(k), 0, 0, nvalue, &why);
    if (it == NULL)
        return why;
    fx_fill(st, it, 'v', nvalue);
    return store_commit(st, it, STORE_SET, 0, NULL);
}

static uint64_t hist_items(void)
{
    uint64_t n = 0;
    for (unsigned b = 0; b < STORE_SIZES_BUCKETS; b++)
        n += hs.items[b];
    return n;
}

START_TEST(histogram_counts_linked_items_and_bytes)
{
    char key[32];
    for (int i = 0; i < 100; i++) {
        snprintf(key, sizeof(key), "key:%010d", i);   /* 14 bytes */
        ck_assert_int_eq(set_len(key, i < 60 ? 20 : 100), STORE_OK);
    }
    store_sizes(st, &hs);
    ck_assert_uint_eq(hist_items(), 100);
    ck_assert_uint_eq(hs.items[store_sizes_bucket_of(HDR + 14 + 20)], 60);
    ck_assert_uint_eq(hs.bytes[store_sizes_bucket_of(HDR + 14 + 20)], 60 * (HDR + 14 + 20));
    ck_assert_uint_eq(hs.items[store_sizes_bucket_of(HDR + 14 + 100)], 40);
    /* a replace moves an item between buckets; a delete takes it out */
    ck_assert_int_eq(set_len("key:0000000000", 100), STORE_OK);
    ck_assert_int_eq(store_delete(st, "key:0000000001", 14, 0, NULL), STORE_OK);
    store_sizes(st, &hs);
    ck_assert_uint_eq(hist_items(), 99);
    ck_assert_uint_eq(hs.items[store_sizes_bucket_of(HDR + 14 + 20)], 58);
    ck_assert_uint_eq(hs.items[store_sizes_bucket_of(HDR + 14 + 100)], 41);
    /* a chained value is counted whole, in a coarse bucket */
    ck_assert_int_eq(set_len("big", TOP + 1000), STORE_OK);
    store_sizes(st, &hs);
    ck_assert_uint_eq(hs.items[store_sizes_bucket_of(HDR + 3 + TOP + 1000)], 1);
}
END_TEST

/* A replace of the same value length: the histogram stays as it was,
 * unless the new item gains or loses its flags field (4 bytes more or less). */
START_TEST(histogram_follows_same_length_replaces)
{
    const char *k = "key:0000000000";                  /* 14 bytes */
    size_t plain = HDR + 14 + 20, flagged = plain + 4;
    ck_assert_uint_ne(store_sizes_bucket_of(plain), store_sizes_bucket_of(flagged));
    ck_assert_int_eq(set_len(k, 20), STORE_OK);
    ck_assert_int_eq(set_len(k, 20), STORE_OK);
    store_sizes(st, &hs);
    ck_assert_uint_eq(hist_items(), 1);
    ck_assert_uint_eq(hs.items[store_sizes_bucket_of(plain)], 1);
    ck_assert_uint_eq(hs.bytes[store_sizes_bucket_of(plain)], plain);
    enum store_result why = STORE_OK;
    item *it = store_item_alloc(st, k, strlen(k), 7, 0, 20, &why);
    ck_assert_ptr_nonnull(it);
    fx_fill(st, it, 'f', 20);
    ck_assert_int_eq(store_commit(st, it, STORE_SET, 0, NULL), STORE_OK);
    store_sizes(st, &hs);
    ck_assert_uint_eq(hist_items(), 1);
    ck_assert_uint_eq(hs.items[store_sizes_bucket_of(plain)], 0);
    ck_assert_uint_eq(hs.items[store_sizes_bucket_of(flagged)], 1);
    ck_assert_uint_eq(hs.bytes[store_sizes_bucket_of(flagged)], flagged);
    ck_assert_int_eq(set_len(k, 20), STORE_OK);           /* and back */
    store_sizes(st, &hs);
    ck_assert_uint_eq(hs.items[store_sizes_bucket_of(flagged)], 0);
    ck_assert_uint_eq(hs.items[store_sizes_bucket_of(plain)], 1);
}
END_TEST

START_TEST(histogram_follows_evictions)
{
    char key[32];
    for (int i = 0; i < 100000; i++) {
        snprintf(key, sizeof(key), "key:%010d", i);
        ck_assert_int_eq(set_len(key, 20), STORE_OK);
    }
    struct store_stats ss;
    store_stats(st, &ss);
    ck_assert_uint_gt(ss.evictions, 0);
    store_sizes(st, &hs);
    ck_assert_uint_eq(hist_items(), ss.curr_items);
    ck_assert_uint_eq(hs.bytes[store_sizes_bucket_of(HDR + 14 + 20)], ss.bytes);
}
END_TEST

#define RACE_THREADS 4
#define RACE_OPS 20000
#define RACE_KEYS 500
#define RACE_VALUE_MAX 300
#define RACE_DELETE_EVERY 5     /* one op in this many deletes */

/* Sets (values of changing sizes) and deletes keys the other threads use. */
static void *race_worker(void *arg)
{
    unsigned seed = (unsigned)(uintptr_t)arg;
    char key[32];
    for (int i = 0; i < RACE_OPS; i++) {
        snprintf(key, sizeof(key), "race:%d", rand_r(&seed) % RACE_KEYS);
        if (rand_r(&seed) % RACE_DELETE_EVERY == 0)
            store_delete(st, key, strlen(key), 0, NULL);
        else
            set_len(key, 1 + (size_t)(rand_r(&seed) % RACE_VALUE_MAX));
    }
    return NULL;
}

START_TEST(histogram_exact_after_racing_threads)
{
    /* room for a page per class: no eviction, no spilled chain (whose
     * chunks mem_requested counts with their headers) */
    store_destroy(st);
    struct store_config c;
    store_config_defaults(&c);
    c.mem_limit = 64 * MB;
    c.hash_power = 8;
    st = fx_store_create(&c);
    pthread_t t[RACE_THREADS];
    for (uintptr_t i = 0; i < RACE_THREADS; i++)
        ck_assert_int_eq(pthread_create(&t[i], NULL, race_worker, (void *)(i + 1)), 0);
    for (int i = 0; i < RACE_THREADS; i++)
        pthread_join(t[i], NULL);
    struct store_stats ss;
    store_stats(st, &ss);
    store_sizes(st, &hs);
    uint64_t bytes = 0;
    for (unsigned b = 0; b < STORE_SIZES_FINE_BUCKETS; b++)
        bytes += hs.bytes[b];
    ck_assert_uint_eq(hist_items(), ss.curr_items);
    ck_assert_uint_eq(bytes, ss.bytes);
}
END_TEST

/* ---------------------------------------------------------- the advisor */

static void hist_put(struct store_sizes *h, uint64_t size, uint64_t n)
{
    unsigned b = store_sizes_bucket_of(size);
    h->items[b] += n;
    h->bytes[b] += n * size;
}

START_TEST(one_size_gets_its_own_class)
{
    memset(&hs, 0, sizeof(hs));
    hist_put(&hs, 74, 1000);   /* the 20-byte values */
    uint32_t sizes[CLASS_MAX];
    unsigned n = adv_best_free(&hs, 42, FLOOR, TOP, sizes);
    ck_assert_uint_eq(n, 2);
    ck_assert_uint_eq(sizes[0], 80);
    ck_assert_uint_eq(sizes[1], TOP);
    struct store_table_cost r;
    ck_assert(adv_eval(&hs, sizes, n, PAGE, LIMIT, &r));
    ck_assert_uint_eq(r.items, 1000);
    ck_assert_uint_eq(r.chunk_bytes, 80000);
    ck_assert_double_eq_tol(r.waste_pct, 7.5, 1e-9);
    /* 13107 chunks of 80 bytes a page, 64 pages */
    ck_assert_uint_eq(r.items_at_limit, 13107ull * 64);
}
END_TEST

START_TEST(two_classes_pick_the_split_greedy_misses)
{
    /* 10 at 100, 1 at 200, 10 at 300 with two free classes: {104, 304}
     * (cost 1040 + 304 + 3040) beats {200, 304} (2000 + 200 + 3040) */
    memset(&hs, 0, sizeof(hs));
    hist_put(&hs, 100, 10);
    hist_put(&hs, 200, 1);
    hist_put(&hs, 300, 10);
    uint32_t sizes[CLASS_MAX];
    unsigned n = adv_best_free(&hs, 3, FLOOR, TOP, sizes);
    ck_assert_uint_eq(n, 3);
    ck_assert_uint_eq(sizes[0], 104);
    ck_assert_uint_eq(sizes[1], 304);
}
END_TEST

START_TEST(neighbours_eight_apart_share_a_class)
{
    /* memcached's slab_sizes wants each size more than 8 above the last */
    memset(&hs, 0, sizeof(hs));
    hist_put(&hs, 72, 100);
    hist_put(&hs, 80, 100);
    uint32_t sizes[CLASS_MAX];
    unsigned n = adv_best_free(&hs, 10, FLOOR, TOP, sizes);
    ck_assert_uint_eq(n, 2);
    ck_assert_uint_eq(sizes[0], 80);
}
END_TEST

START_TEST(sizes_under_the_floor_are_no_classes)
{
    memset(&hs, 0, sizeof(hs));
    hist_put(&hs, 50, 100);
    hist_put(&hs, 90, 100);
    uint32_t sizes[CLASS_MAX];
    unsigned n = adv_best_free(&hs, 10, 64, TOP, sizes);
    ck_assert_uint_eq(n, 2);
    ck_assert_uint_eq(sizes[0], 96);
}
END_TEST

/* The cost of the best table by trying every subset of candidate sizes. */
static uint64_t brute_best(const uint64_t *upper, const uint64_t *count, unsigned m,
                           unsigned max_free)
{
    uint64_t best = UINT64_MAX;
    for (unsigned mask = 0; mask < (1u << m); mask++) {
        if ((unsigned)__builtin_popcount(mask) > max_free)
            continue;
        uint64_t last = 0, cost = 0;
        bool ok = true;
        for (unsigned j = 0; j < m; j++)
            if (mask & (1u << j)) {
                if (last != 0 && upper[j] <= last + CHUNK_ALIGN)
                    ok = false;
                last = upper[j];
            }
        for (unsigned j = 0; ok && j < m; j++) {
            uint64_t cls = TOP;
            for (unsigned i = j; i < m; i++)
                if (mask & (1u << i)) {
                    cls = upper[i];
                    break;
                }
            cost += count[j] * cls;
        }
        if (ok && cost < best)
            best = cost;
    }
    return best;
}

START_TEST(free_table_matches_exhaustive_search)
{
    unsigned seed = 15;
    for (int round = 0; round < 200; round++) {
        memset(&hs, 0, sizeof(hs));
        uint64_t upper[10], count[10];
        unsigned m = 0;
        for (uint64_t u = 48; u <= 48 + 8 * 30 && m < 10; u += CHUNK_ALIGN)
            if (rand_r(&seed) % 3 == 0) {
                upper[m] = u;
                count[m] = 1 + rand_r(&seed) % 1000;
                hist_put(&hs, u, count[m]);
                m++;
            }
        unsigned k = 1 + rand_r(&seed) % 5;
        uint32_t sizes[CLASS_MAX];
        unsigned n = adv_best_free(&hs, k + 1, FLOOR, TOP, sizes);
        ck_assert_uint_ge(n, 1);
        ck_assert_uint_le(n, k + 1);
        struct store_table_cost r;
        ck_assert(adv_eval(&hs, sizes, n, PAGE, LIMIT, &r));
        ck_assert_uint_eq(r.chunk_bytes, brute_best(upper, count, m, k));
        for (unsigned i = 1; i + 1 < n; i++)
            ck_assert_uint_gt(sizes[i], sizes[i - 1] + CHUNK_ALIGN);
    }
}
END_TEST

START_TEST(geometric_search_beats_the_default_table)
{
    memset(&hs, 0, sizeof(hs));
    for (uint64_t v = 10; v <= 1000; v++)   /* the 10..1000 B values */
        hist_put(&hs, HDR + 14 + v, 100);
    uint32_t def[CLASS_MAX];
    unsigned n = slab_geometric_table(HDR, CHUNK_MIN_DEFAULT, GROWTH_FACTOR_DEFAULT, TOP, def);
    struct store_table_cost today;
    ck_assert(adv_eval(&hs, def, n, PAGE, LIMIT, &today));
    struct adv_geometric g;
    ck_assert(adv_best_geometric(&hs, HDR, TOP, PAGE, LIMIT, &g));
    ck_assert_uint_lt(g.result.chunk_bytes, today.chunk_bytes);
    /* the figures are those of the table -f/-n build */
    uint32_t again[CLASS_MAX];
    unsigned n2 = slab_geometric_table(HDR, g.chunk_min, g.factor, TOP, again);
    struct store_table_cost r;
    ck_assert(adv_eval(&hs, again, n2, PAGE, LIMIT, &r));
    ck_assert_uint_eq(r.chunk_bytes, g.result.chunk_bytes);
    /* the free-form table with as many classes (but memcached's gaps of
     * more than 8, which small factors do not keep) wastes under 3% */
    uint32_t sizes[CLASS_MAX];
    unsigned nf = adv_best_free(&hs, n, FLOOR, TOP, sizes);
    ck_assert(adv_eval(&hs, sizes, nf, PAGE, LIMIT, &r));
    ck_assert_uint_lt(r.chunk_bytes, today.chunk_bytes);
    ck_assert_double_lt(r.waste_pct, 3.0);
}
END_TEST

START_TEST(chains_stay_out_of_the_tables)
{
    memset(&hs, 0, sizeof(hs));
    hist_put(&hs, 200, 10);
    hist_put(&hs, TOP + 1000, 3);
    uint32_t sizes[CLASS_MAX];
    unsigned n = adv_best_free(&hs, 5, FLOOR, TOP, sizes);
    struct store_table_cost r;
    ck_assert(adv_eval(&hs, sizes, n, PAGE, LIMIT, &r));
    ck_assert_uint_eq(r.items, 10);
    ck_assert_uint_eq(r.chained, 3);
    ck_assert_uint_eq(r.chunk_bytes, 2000);
}
END_TEST

START_TEST(empty_histogram_advises_nothing)
{
    memset(&hs, 0, sizeof(hs));
    uint32_t sizes[CLASS_MAX];
    unsigned n = adv_best_free(&hs, 5, FLOOR, TOP, sizes);
    ck_assert_uint_eq(n, 1);
    ck_assert_uint_eq(sizes[0], TOP);
    struct store_table_cost r;
    ck_assert(adv_eval(&hs, sizes, n, PAGE, LIMIT, &r));
    ck_assert_uint_eq(r.items, 0);
    ck_assert_double_eq(r.waste_pct, 0);
}
END_TEST

START_TEST(store_advise_reads_the_live_histogram)
{
    char key[32];
    for (int i = 0; i < 1000; i++) {
        snprintf(key, sizeof(key), "key:%010d", i);
        ck_assert_int_eq(set_len(key, 20), STORE_OK);
    }
    struct store_advice a;
    ck_assert(store_advise(st, &a));
    ck_assert_uint_eq(a.current.items, 1000);
    ck_assert_uint_eq(a.current.classes, store_class_count(st));
    /* 30 header + 8 CAS + 14 key + 20 value = 72: a class that fits exactly */
    ck_assert_uint_eq(a.free_sizes[0], 72);
    ck_assert_double_eq_tol(a.free_form.waste_pct, 0, 1e-9);
    ck_assert_double_lt(a.free_form.waste_pct, a.current.waste_pct);
    ck_assert_double_le(a.geometric.waste_pct, a.current.waste_pct);
}
END_TEST

static Suite *advisor_suite(void)
{
    Suite *s = suite_create("advisor");
    TCase *t = tcase_create("buckets");
    tcase_add_test(t, bucket_bounds_hold_their_sizes);
    tcase_add_test(t, bucket_bounds_are_eight_aligned_and_fine_below_the_limit);
    suite_add_tcase(s, t);
    t = tcase_create("histogram");
    tcase_add_checked_fixture(t, store_setup, store_teardown);
    tcase_add_test(t, histogram_counts_linked_items_and_bytes);
    tcase_add_test(t, histogram_follows_same_length_replaces);
    tcase_add_test(t, histogram_follows_evictions);
    tcase_add_test(t, histogram_exact_after_racing_threads);
    tcase_add_test(t, store_advise_reads_the_live_histogram);
    suite_add_tcase(s, t);
    t = tcase_create("advisor");
    tcase_add_test(t, one_size_gets_its_own_class);
    tcase_add_test(t, two_classes_pick_the_split_greedy_misses);
    tcase_add_test(t, neighbours_eight_apart_share_a_class);
    tcase_add_test(t, sizes_under_the_floor_are_no_classes);
    tcase_add_test(t, free_table_matches_exhaustive_search);
    tcase_add_test(t, geometric_search_beats_the_default_table);
    tcase_add_test(t, chains_stay_out_of_the_tables);
    tcase_add_test(t, empty_histogram_advises_nothing);
    suite_add_tcase(s, t);
    return s;
}

int main(void)
{
    return fx_run_suite(advisor_suite());
}
