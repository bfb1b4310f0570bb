/*
 * check_lru: the segmented LRU (slabs/items.c). New items join HOT, or TEMP
 * for a short TTL; HOT is held to its share at link time and to its age
 * limit by the maintainer; a hit sets the active bit without moving the
 * item, and the maintainer or an eviction lifts an active COLD tail to
 * WARM; evictions take COLD's tail; the maintainer frees dead tail items;
 * `lru mode flat` puts new items in the one list; `lru tune` checks its
 * values; and gets, sets and the maintainer thread race cleanly (TSan).
 * Time moves with clock_advance(); the maintainer runs by lru_maintain()
 * except in the threaded case.
 */
#include <check.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "common/clock.h"
#include "slabs/internal.h"
#include "t/unit/fixture.h"

#define KB 1024u
#define PER_PAGE 11        /* class 1 = 88-byte chunks in a 1 KB page */
#define VALUE_LEN 10
#define SHORT_TTL 30       /* under temporary_ttl */
#define LONG_TTL 3600
#define MANY 200           /* items for the share checks: fits MANY_PAGES pages */
#define MANY_PAGES 32
#define HOT_PCT 20         /* HOT_LRU_PCT_DEFAULT */
#define THREADS 3
#define THREAD_OPS 20000
#define THREAD_KEYS 500

static store *st;

static store *mk(uint64_t pages, bool temp_lru)
{
    struct store_config c;
    store_config_defaults(&c);
    c.mem_limit = pages * KB;
    c.page_size = KB;
    c.factor = 2.0;
    c.hash_power = 8;
    c.temp_lru = temp_lru;
    c.automove = AUTOMOVE_OFF;
    return fx_store_create(&c);
}

static void setup(void)
{
    clock_init();
    st = mk(1, false);
}

static void teardown(void)
{
    store_destroy(st);
}

static enum store_result put_s(store *s, const char *k, int64_t exp)
{
    enum store_result why = STORE_OK;
    item *it = store_item_alloc(s, k, strlen(k), 0, exp, VALUE_LEN, &why);
    if (it == NULL)
        return why;
    memset(item_value_mut(it), 'v', VALUE_LEN);
    return store_commit(s, it, STORE_SET, 0, NULL);
}

static enum store_result put(const char *k, int64_t exp)
{
    return put_s(st, k, exp);
}

static bool has(const char *k)
{
    item *it = store_get(st, k, strlen(k), NULL);
    store_release(st, it);
    return it != NULL;
}

static struct store_class_stats cstats(void)
{
    struct store_class_stats cs;
    store_class_stats(st, 1, &cs);
    return cs;
}

static void key_of(char *buf, size_t len, int i)
{
    snprintf(buf, len, "k%d", i);
}

/* Stores k0..k(n-1), oldest first. */
static void fill(int n)
{
    char k[16];
    for (int i = 0; i < n; i++) {
        key_of(k, sizeof(k), i);
        ck_assert_int_eq(put(k, 0), STORE_OK);
    }
}

static void check_segments_add_up(const struct store_class_stats *cs)
{
    ck_assert_uint_eq(cs->number_hot + cs->number_warm + cs->number_cold + cs->number_temp,
                      cs->curr_items);
}

/* HOT keeps its share of the class's items as they arrive; the rest went
 * down to COLD, oldest first. */
START_TEST(test_hot_share_at_link)
{
    store_destroy(st);
    st = mk(MANY_PAGES, false);
    fill(MANY);
    struct store_class_stats cs = cstats();
    ck_assert_uint_eq(cs.curr_items, MANY);
    ck_assert_uint_le(cs.number_hot * 100, (uint64_t)MANY * HOT_PCT);
    ck_assert_uint_ge((cs.number_hot + 1) * 100, (uint64_t)MANY * HOT_PCT);
    ck_assert_uint_eq(cs.number_cold, MANY - cs.number_hot);
    ck_assert_uint_eq(cs.moves_to_cold, cs.number_cold);
    ck_assert_uint_eq(cs.number_warm, 0);
    check_segments_add_up(&cs);
    /* an eviction-free class: nothing was taken from a tail */
    ck_assert_uint_eq(cs.direct_reclaims, 0);
}
END_TEST

/* With temp_lru a TTL up to temporary_ttl goes to TEMP; no TTL or a long one
 * to HOT. TEMP items are never made active nor moved; temp_ttl -1 stops it. */
START_TEST(test_temp_for_short_ttl)
{
    store_destroy(st);
    st = mk(MANY_PAGES, true);
    ck_assert_int_eq(put("short", SHORT_TTL), STORE_OK);
    ck_assert_int_eq(put("forever", 0), STORE_OK);
    ck_assert_int_eq(put("long", LONG_TTL), STORE_OK);
    struct store_class_stats cs = cstats();
    ck_assert_uint_eq(cs.number_temp, 1);
    check_segments_add_up(&cs);
    for (int i = 0; i < 3; i++)
        ck_assert(has("short"));
    lru_maintain(st);
    cs = cstats();
    ck_assert_uint_eq(cs.number_temp, 1);
    ck_assert_uint_eq(cs.hits_to_temp, 3);
    ck_assert_uint_eq(cs.moves_to_warm, 0);
    store_lru_set_temp_ttl(st, -1);
    ck_assert_int_eq(put("short2", SHORT_TTL), STORE_OK);
    ck_assert_uint_eq(cstats().number_temp, 1);
}
END_TEST

/* A first hit only marks an item fetched; a second sets the active bit and
 * nothing more (the item stays in COLD). The maintainer then lifts it, as
 * the class evicts (without evictions nothing leaves COLD). */
START_TEST(test_active_bit_moves_async)
{
    fill(PER_PAGE);
    ck_assert_int_eq(put("n1", 0), STORE_OK);   /* evicts COLD's tail, k0 */
    ck_assert(!has("k0"));
    /* k1 is COLD's tail now */
    ck_assert(has("k1"));
    item *it = store_get(st, "k1", 2, NULL);   /* held across the move below */
    ck_assert(atomic_load(&it->kind) & IT_ACTIVE);
    struct store_class_stats cs = cstats();
    ck_assert_uint_eq(cs.hits_to_cold, 2);
    ck_assert_uint_eq(cs.number_warm, 0);    /* the get moved nothing */
    ck_assert_uint_eq(cs.moves_to_warm, 0);
    lru_maintain(st);
    cs = cstats();
    ck_assert_uint_eq(cs.moves_to_warm, 1);
    ck_assert_uint_eq(cs.number_warm, 1);
    check_segments_add_up(&cs);
    ck_assert(!(atomic_load(&it->kind) & IT_ACTIVE));   /* the move spent the hit */
    store_release(st, it);
    ck_assert(has("k1"));
    ck_assert_uint_eq(cstats().hits_to_warm, 1);
    /* no eviction since: an active COLD tail stays where it is */
    ck_assert(has("k2"));
    ck_assert(has("k2"));
    lru_maintain(st);
    ck_assert_uint_eq(cstats().moves_to_warm, 1);
}
END_TEST

/* A full class evicts COLD's tail, but first lifts an active tail to WARM:
 * a key read twice survives a stream of new keys that evicts its elders. */
START_TEST(test_eviction_spares_active)
{
    fill(PER_PAGE);
    ck_assert(has("k0"));
    ck_assert(has("k0"));                /* active, at COLD's tail */
    ck_assert_int_eq(put("n1", 0), STORE_OK);
    struct store_class_stats cs = cstats();
    ck_assert_uint_eq(cs.evicted, 1);
    ck_assert_uint_eq(cs.moves_to_warm, 1);
    ck_assert_uint_eq(cs.evicted_active, 0);
    ck_assert_uint_eq(cs.direct_reclaims, 1);
    ck_assert(has("k0"));
    ck_assert(!has("k1"));               /* the next tail went instead */
    check_segments_add_up(&cs);
}
END_TEST

/* Nothing COLD can give (all held): an eviction takes HOT's tail. */
START_TEST(test_eviction_from_hot_when_cold_held)
{
    ck_assert_int_eq(store_lru_tune(st, LRU_PCT_MAX - 1, 1, 1.0, 1.0), STORE_LRU_TUNE_OK);
    fill(PER_PAGE);
    struct store_class_stats cs = cstats();
    uint64_t cold = cs.number_cold;
    ck_assert_uint_gt(cold, 0);
    ck_assert_uint_le(cold, 5);        /* LRU_TAIL_SEARCH: all of COLD is looked at */
    item *held[PER_PAGE];
    char k[16];
    for (uint64_t i = 0; i < cold; i++) {
        key_of(k, sizeof(k), (int)i);
        held[i] = store_get(st, k, strlen(k), NULL);
        ck_assert_ptr_nonnull(held[i]);
    }
    ck_assert_int_eq(put("n1", 0), STORE_OK);
    cs = cstats();
    ck_assert_uint_eq(cs.evicted, 1);
    ck_assert_uint_eq(cs.lrutail_reflocked, cold);
    key_of(k, sizeof(k), (int)cold);   /* HOT's tail: the oldest of HOT */
    ck_assert(!has(k));
    for (uint64_t i = 0; i < cold; i++)
        store_release(st, held[i]);
}
END_TEST

/* HOT items idle for longer than hot_max_factor x COLD's tail age go to
 * COLD, whatever HOT's share. */
START_TEST(test_hot_age_limit)
{
    store_destroy(st);
    st = mk(MANY_PAGES, false);
    ck_assert_int_eq(store_lru_tune(st, LRU_PCT_MAX - 1, 1, 0.5, 1.0), STORE_LRU_TUNE_OK);
    fill(MANY);
    uint64_t hot = cstats().number_hot;
    ck_assert_uint_gt(hot, MANY / 2);
    lru_maintain(st);
    ck_assert_uint_eq(cstats().number_hot, hot);   /* none older than 0.5 x 0 s */
    clock_advance(10);
    lru_maintain(st);       /* COLD's tail is 10 s old: HOT keeps 5 s at most */
    struct store_class_stats cs = cstats();
    ck_assert_uint_eq(cs.number_hot, 0);
    ck_assert_uint_eq(cs.number_cold, MANY);
    ck_assert_uint_eq(cs.age, 10);
    ck_assert_uint_gt(lru_juggles(st), 0);
}
END_TEST

/* The maintainer frees expired items it meets at the tails. */
START_TEST(test_maintainer_reclaims_expired)
{
    store_destroy(st);
    st = mk(MANY_PAGES, false);
    char k[16];
    for (int i = 0; i < MANY; i++) {
        key_of(k, sizeof(k), i);
        ck_assert_int_eq(put(k, 2), STORE_OK);
    }
    ck_assert_uint_eq(cstats().curr_items, MANY);
    clock_advance(3);
    while (cstats().curr_items > 0 && lru_maintain(st) > 0 && cstats().reclaimed < MANY)
        ;
    struct store_class_stats cs = cstats();
    ck_assert_uint_eq(cs.curr_items, 0);
    ck_assert_uint_eq(cs.reclaimed, MANY);
    ck_assert_uint_eq(cs.expired_unfetched, MANY);
    ck_assert_uint_eq(cs.used_chunks, 0);
    ck_assert_uint_eq(cs.mem_requested, 0);
}
END_TEST

/* Flat: new items join the one list (COLD), hits set no active bit. */
START_TEST(test_flat_mode)
{
    store_lru_set_segmented(st, false);
    fill(3);
    ck_assert(has("k0"));
    ck_assert(has("k0"));
    item *it = store_get(st, "k0", 2, NULL);
    ck_assert(!(atomic_load(&it->kind) & IT_ACTIVE));
    store_release(st, it);
    struct store_class_stats cs = cstats();
    ck_assert_uint_eq(cs.number_cold, 3);
    ck_assert_uint_eq(cs.number_hot, 0);
    ck_assert_uint_eq(cs.moves_to_cold, 0);
    struct store_lru_settings ls;
    store_lru_settings(st, &ls);
    ck_assert(!ls.segmented);
}
END_TEST

START_TEST(test_tune_checks)
{
    ck_assert_int_eq(store_lru_tune(st, 50, 40, 1, 1), STORE_LRU_TUNE_PCTS);
    ck_assert_int_eq(store_lru_tune(st, 10, 10, 0, 1), STORE_LRU_TUNE_FACTORS);
    ck_assert_int_eq(store_lru_tune(st, 10, 10, 1, -1), STORE_LRU_TUNE_FACTORS);
    ck_assert_int_eq(store_lru_tune(st, 40, 40, 0.5, 3), STORE_LRU_TUNE_OK);
    struct store_lru_settings ls;
    store_lru_settings(st, &ls);
    ck_assert_uint_eq(ls.hot_lru_pct, 40);
    ck_assert_uint_eq(ls.warm_lru_pct, 40);
    ck_assert(ls.hot_max_factor == 0.5 && ls.warm_max_factor == 3);
    ck_assert(ls.segmented && ls.maintainer && !ls.temp_lru);
}
END_TEST

/* Gets (setting active bits), sets (evicting, balancing) and the maintainer
 * thread at once; the segment counts still add up. Meant for TSan. */
static void *racer(void *arg)
{
    unsigned seed = (unsigned)(uintptr_t)arg;
    char k[16];
    for (int i = 0; i < THREAD_OPS; i++) {
        seed = seed * 1103515245u + 12345u;
        key_of(k, sizeof(k), (int)(seed >> 8) % THREAD_KEYS);
        if (seed & 1)
            put(k, (seed & 2) ? 1 : 0);
        else
            has(k);
    }
    return NULL;
}

START_TEST(test_threads_with_maintainer)
{
    store_destroy(st);
    st = mk(MANY_PAGES / 4, true);
    char err[FX_ERR_MAX];
    ck_assert_int_eq(store_start_background(st, err, sizeof(err)), 0);
    pthread_t t[THREADS];
    for (uintptr_t i = 0; i < THREADS; i++)
        ck_assert_int_eq(pthread_create(&t[i], NULL, racer, (void *)(i + 1)), 0);
    for (int i = 0; i < THREADS; i++)
        pthread_join(t[i], NULL);
    struct store_class_stats cs = cstats();
    check_segments_add_up(&cs);
    ck_assert_uint_gt(cs.evicted + cs.reclaimed, 0);
}
END_TEST

static Suite *lru_suite(void)
{
    Suite *s = suite_create("lru");
    TCase *tc = tcase_create("lru");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_hot_share_at_link);
    tcase_add_test(tc, test_temp_for_short_ttl);
    tcase_add_test(tc, test_active_bit_moves_async);
    tcase_add_test(tc, test_eviction_spares_active);
    tcase_add_test(tc, test_eviction_from_hot_when_cold_held);
    tcase_add_test(tc, test_hot_age_limit);
    tcase_add_test(tc, test_maintainer_reclaims_expired);
    tcase_add_test(tc, test_flat_mode);
    tcase_add_test(tc, test_tune_checks);
    tcase_add_test(tc, test_threads_with_maintainer);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return fx_run_suite(lru_suite());
}
