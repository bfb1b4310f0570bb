/*
 * check_items: LRU order and the bump interval, the eviction choice (least
 * recent unheld item; expired or flushed ones first), -M, the expiry rules
 * (relative, absolute, negative) and flush_all, immediate and delayed.
 * The stores here are flat (`lru mode flat`, the one LRU of old), so these
 * checks also say that flat mode behaves as before; check_lru covers the
 * segments.
 * Time moves with clock_advance(), never by sleeping.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
#include "slabs/store.h"
#include "t/unit/fixture.h"

#define KB 1024u
#define PER_PAGE 11        /* class 1 = 88-byte chunks in a 1 KB page */
#define BUMP 60            /* LRU_BUMP_INTERVAL */
#define TAIL_SEARCH 5      /* LRU_TAIL_SEARCH: tail items an allocation looks at */

static store *st;

static store *mk(bool no_evict, bool use_cas)
{
    struct store_config c;
    store_config_defaults(&c);
    c.mem_limit = KB;     /* a single page */
    c.page_size = KB;
    c.factor = 2.0;
    c.no_evict = no_evict;
    c.use_cas = use_cas;
    c.hash_power = 6;
    c.lru_segmented = false;
    return fx_store_create(&c);
}

static void setup(void)
{
    clock_init();
    st = mk(false, true);
}

static void teardown(void)
{
    store_destroy(st);
}

static enum store_result put_s(store *s, const char *k, int64_t exp)
{
    enum store_result why = STORE_OK;
    item *it = store_item_alloc(s, k, strlen(k), 0, exp, 10, &why);
    if (it == NULL)
        return why;
    memset(item_value_mut(it), 'v', 10);
    return store_commit(s, it, STORE_SET, 0, NULL);
}

static enum store_result put(const char *k, int64_t exp)
{
    return put_s(st, k, exp);
}

static bool has_s(store *s, const char *k, enum store_miss *why)
{
    item *it = store_get(s, k, strlen(k), why);
    store_release(s, it);
    return it != NULL;
}

static bool has(const char *k)
{
    return has_s(st, k, NULL);
}

/* Fills the single page with k0..k10, oldest first. */
static void fill(store *s)
{
    char k[8];
    for (int i = 0; i < PER_PAGE; i++) {
        snprintf(k, sizeof(k), "k%d", i);
        ck_assert_int_eq(put_s(s, k, 0), STORE_OK);
    }
}

static struct store_class_stats cstats(store *s)
{
    struct store_class_stats cs;
    store_class_stats(s, 1, &cs);
    return cs;
}

START_TEST(test_lru_evicts_least_recent)
{
    fill(st);
    struct store_class_stats cs = cstats(st);
    ck_assert_uint_eq(cs.total_pages, 1);
    ck_assert_uint_eq(cs.free_chunks, 0);
    clock_advance(BUMP + 1);
    ck_assert_uint_eq(cstats(st).age, BUMP + 1);
    ck_assert(has("k0"));                  /* bumped to the head */
    ck_assert_int_eq(put("n1", 0), STORE_OK);
    ck_assert(!has("k1"));                 /* the tail went */
    ck_assert(has("k0"));
    cs = cstats(st);
    ck_assert_uint_eq(cs.evicted, 1);
    ck_assert_uint_eq(cs.evicted_unfetched, 1);
    ck_assert_uint_eq(cs.evicted_nonzero, 0);
    ck_assert_uint_eq(cs.evicted_time, BUMP + 1);
    ck_assert_uint_eq(cs.curr_items, PER_PAGE);
    ck_assert_uint_eq(cs.total_items, PER_PAGE + 1);
    ck_assert_uint_eq(cs.used_chunks, PER_PAGE);
    ck_assert_int_eq(put("n2", 0), STORE_OK);
    ck_assert(!has("k2"));
    ck_assert_uint_eq(cstats(st).evicted, 2);
    for (int i = 3; i < PER_PAGE; i++) {
        char k[8];
        snprintf(k, sizeof(k), "k%d", i);
        ck_assert_msg(has(k), "%s", k);
    }
}
END_TEST

START_TEST(test_bump_interval)
{
    fill(st);
    /* a hit within BUMP seconds of the store does not move the item */
    ck_assert(has("k0"));
    ck_assert_int_eq(put("n1", 0), STORE_OK);
    ck_assert(!has("k0"));
    struct store_class_stats cs = cstats(st);
    ck_assert_uint_eq(cs.evicted, 1);
    ck_assert_uint_eq(cs.evicted_unfetched, 0);   /* k0 had been fetched */
    /* after the interval a hit moves it; its atime becomes now */
    clock_advance(BUMP);
    item *it = store_get(st, "k1", 2, NULL);
    ck_assert_uint_eq(item_atime(it), clock_now());
    store_release(st, it);
    ck_assert_int_eq(put("n2", 0), STORE_OK);
    ck_assert(has("k1"));
    ck_assert(!has("k2"));
}
END_TEST

START_TEST(test_evict_skips_held)
{
    fill(st);
    item *held = store_get(st, "k0", 2, NULL);
    ck_assert_int_eq(put("n1", 30), STORE_OK);
    ck_assert_mem_eq(item_key(held), "k0", 2);    /* still readable */
    store_release(st, held);
    ck_assert(has("k0"));
    ck_assert(!has("k1"));
    /* everything held: out of memory */
    item *h[PER_PAGE];
    const char *keys[PER_PAGE] = {"k0", "k2", "k3", "k4", "k5", "k6", "k7", "k8", "k9", "k10", "n1"};
    for (int i = 0; i < PER_PAGE; i++) {
        h[i] = store_get(st, keys[i], strlen(keys[i]), NULL);
        ck_assert_ptr_nonnull(h[i]);
    }
    ck_assert_int_eq(put("n2", 0), STORE_NO_MEMORY);
    ck_assert_uint_eq(cstats(st).outofmemory, 1);
    for (int i = 0; i < PER_PAGE; i++)
        store_release(st, h[i]);
    ck_assert_int_eq(put("n2", 0), STORE_OK);
}
END_TEST

/* An allocation counts each held item it meets at the tail (lrutail_reflocked). */
START_TEST(test_lrutail_reflocked)
{
    fill(st);
    item *tail = store_get(st, "k0", 2, NULL);
    ck_assert_int_eq(put("n1", 0), STORE_OK);     /* skips k0, evicts k1 */
    ck_assert_uint_eq(cstats(st).lrutail_reflocked, 1);
    ck_assert_uint_eq(cstats(st).evicted, 1);
    store_release(st, tail);
    /* the whole search window held: each of its items counts once */
    item *h[TAIL_SEARCH];
    const char *keys[TAIL_SEARCH] = {"k0", "k2", "k3", "k4", "k5"};
    for (int i = 0; i < TAIL_SEARCH; i++)
        h[i] = store_get(st, keys[i], strlen(keys[i]), NULL);
    ck_assert_int_eq(put("n2", 0), STORE_NO_MEMORY);
    ck_assert_uint_eq(cstats(st).lrutail_reflocked, 1 + TAIL_SEARCH);
    for (int i = 0; i < TAIL_SEARCH; i++)
        store_release(st, h[i]);
}
END_TEST

START_TEST(test_expired_before_live)
{
    char k[8];
    for (int i = 0; i < PER_PAGE; i++) {
        snprintf(k, sizeof(k), "k%d", i);
        ck_assert_int_eq(put(k, i == 2 ? 10 : 0), STORE_OK);
    }
    clock_advance(10);
    ck_assert_int_eq(put("n1", 0), STORE_OK);
    ck_assert(has("k0"));
    ck_assert(has("k1"));
    struct store_class_stats cs = cstats(st);
    ck_assert_uint_eq(cs.reclaimed, 1);
    ck_assert_uint_eq(cs.expired_unfetched, 1);
    ck_assert_uint_eq(cs.evicted, 0);
    enum store_miss why;
    ck_assert(!has_s(st, "k2", &why));
    ck_assert_int_eq(why, STORE_MISS);     /* already reclaimed: a plain miss */
}
END_TEST

START_TEST(test_no_evict)
{
    store *s = mk(true, true);
    fill(s);
    ck_assert_int_eq(put_s(s, "n1", 0), STORE_NO_MEMORY);
    struct store_class_stats cs = cstats(s);
    ck_assert_uint_eq(cs.outofmemory, 1);
    ck_assert_uint_eq(cs.evicted, 0);
    ck_assert(has_s(s, "k0", NULL));
    /* an expired item may still be reclaimed */
    ck_assert_int_eq(store_touch(s, "k3", 2, 5), STORE_OK);   /* 4th from the tail */
    clock_advance(5);
    ck_assert_int_eq(put_s(s, "n1", 0), STORE_OK);
    ck_assert_uint_eq(cstats(s).reclaimed, 1);
    ck_assert(!has_s(s, "k3", NULL));
    ck_assert(has_s(s, "n1", NULL));
    /* and a deleted one frees its chunk */
    ck_assert_int_eq(store_delete(s, "k5", 2, 0, NULL), STORE_OK);
    ck_assert_int_eq(put_s(s, "n2", 0), STORE_OK);
    ck_assert_int_eq(put_s(s, "n3", 0), STORE_NO_MEMORY);
    ck_assert_uint_eq(cstats(s).outofmemory, 2);
    store_destroy(s);
}
END_TEST

START_TEST(test_expiry_relative)
{
    ck_assert_int_eq(put("a", 10), STORE_OK);
    item *it = store_get(st, "a", 1, NULL);
    ck_assert_uint_eq(item_exptime(it), clock_now() + 10);
    store_release(st, it);
    clock_advance(9);
    ck_assert(has("a"));
    clock_advance(1);
    enum store_miss why = STORE_HIT;
    ck_assert(!has_s(st, "a", &why));
    ck_assert_int_eq(why, STORE_MISS_EXPIRED);
    ck_assert(!has_s(st, "a", &why));
    ck_assert_int_eq(why, STORE_MISS);
    ck_assert_uint_eq(cstats(st).curr_items, 0);
    ck_assert_uint_eq(cstats(st).used_chunks, 0);
    /* 30 days exactly is still relative */
    ck_assert_int_eq(put("m", 60 * 60 * 24 * 30), STORE_OK);
    clock_advance(60 * 60 * 24 * 30 - 1);
    ck_assert(has("m"));
    clock_advance(1);
    ck_assert(!has("m"));
}
END_TEST

START_TEST(test_expiry_absolute_negative)
{
    int64_t at = (int64_t)clock_unix_now() + 100;
    ck_assert_int_eq(put("abs", at), STORE_OK);
    clock_advance(99);
    ck_assert(has("abs"));
    clock_advance(1);
    ck_assert(!has("abs"));
    /* 30 days + 1 second is an absolute time in 1970: expired at once */
    enum store_miss why;
    ck_assert_int_eq(put("old", 60 * 60 * 24 * 30 + 1), STORE_OK);
    ck_assert(!has_s(st, "old", &why));
    ck_assert_int_eq(why, STORE_MISS_EXPIRED);
    ck_assert_int_eq(put("neg", -1), STORE_OK);
    ck_assert(!has_s(st, "neg", &why));
    ck_assert_int_eq(why, STORE_MISS_EXPIRED);
    /* 0 never expires */
    ck_assert_int_eq(put("zero", 0), STORE_OK);
    clock_advance(100 * 24 * 3600);
    ck_assert(has("zero"));
    /* an expired key counts as missing for add/replace/delete/incr */
    ck_assert_int_eq(put("e", 1), STORE_OK);
    clock_advance(1);
    ck_assert_int_eq(store_delete(st, "e", 1, 0, NULL), STORE_NOT_FOUND);
    ck_assert_int_eq(store_touch(st, "e", 1, 0), STORE_NOT_FOUND);
}
END_TEST

START_TEST(test_flush_immediate_cas)
{
    /* all in one second: a before the flush goes, b after it stays */
    ck_assert_int_eq(put("a", 0), STORE_OK);
    store_flush(st, 0);
    ck_assert_int_eq(put("b", 0), STORE_OK);
    ck_assert(!has("a"));
    ck_assert(has("b"));
    /* b's allocation met a at the LRU tail and reused its chunk */
    ck_assert_uint_eq(cstats(st).reclaimed, 1);
    clock_advance(5);
    ck_assert(has("b"));
    store_flush(st, 0);
    enum store_miss why;
    ck_assert(!has_s(st, "b", &why));
    ck_assert_int_eq(why, STORE_MISS_FLUSHED);
}
END_TEST

START_TEST(test_flush_immediate_no_cas)
{
    store *s = mk(false, false);
    ck_assert_int_eq(put_s(s, "a", 0), STORE_OK);
    store_flush(s, 0);
    enum store_miss why;
    ck_assert(!has_s(s, "a", &why));
    ck_assert_int_eq(why, STORE_MISS_FLUSHED);
    /* without CAS the flush covers its whole second (documented) */
    ck_assert_int_eq(put_s(s, "b", 0), STORE_OK);
    ck_assert(!has_s(s, "b", NULL));
    clock_advance(1);
    ck_assert_int_eq(put_s(s, "c", 0), STORE_OK);
    ck_assert(has_s(s, "c", NULL));
    store_destroy(s);
}
END_TEST

START_TEST(test_flush_delayed)
{
    ck_assert_int_eq(put("a", 0), STORE_OK);
    store_flush(st, 10);
    clock_advance(9);
    ck_assert(has("a"));
    ck_assert_int_eq(put("b", 0), STORE_OK);
    clock_advance(1);
    ck_assert_int_eq(put("c", 0), STORE_OK);   /* reclaims a, the tail */
    ck_assert_uint_eq(cstats(st).reclaimed, 1);
    ck_assert(!has("a"));
    enum store_miss why;
    ck_assert(!has_s(st, "b", &why));
    ck_assert_int_eq(why, STORE_MISS_FLUSHED);
    ck_assert(has("c"));
    clock_advance(100);
    ck_assert(has("c"));

    /* a later immediate flush replaces a pending delayed one */
    ck_assert_int_eq(put("x", 0), STORE_OK);
    store_flush(st, 100);
    store_flush(st, 0);
    ck_assert(!has("x"));
    ck_assert_int_eq(put("y", 0), STORE_OK);
    clock_advance(200);
    ck_assert(has("y"));
}
END_TEST

START_TEST(test_flushed_reclaimed_at_alloc)
{
    fill(st);
    store_flush(st, 0);
    for (int i = 0; i < 3; i++) {
        char k[8];
        snprintf(k, sizeof(k), "n%d", i);
        ck_assert_int_eq(put(k, 0), STORE_OK);
    }
    struct store_class_stats cs = cstats(st);
    ck_assert_uint_eq(cs.reclaimed, 3);
    ck_assert_uint_eq(cs.evicted, 0);
    ck_assert_uint_eq(cs.curr_items, PER_PAGE);
    ck_assert(has("n0") && has("n1") && has("n2"));
    ck_assert(!has("k5"));
}
END_TEST

static Suite *items_suite(void)
{
    Suite *s = suite_create("items");
    TCase *tc = tcase_create("lru");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_lru_evicts_least_recent);
    tcase_add_test(tc, test_bump_interval);
    tcase_add_test(tc, test_evict_skips_held);
    tcase_add_test(tc, test_lrutail_reflocked);
    tcase_add_test(tc, test_expired_before_live);
    tcase_add_test(tc, test_no_evict);
    suite_add_tcase(s, tc);
    tc = tcase_create("expiry");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_expiry_relative);
    tcase_add_test(tc, test_expiry_absolute_negative);
    tcase_add_test(tc, test_flush_immediate_cas);
    tcase_add_test(tc, test_flush_immediate_no_cas);
    tcase_add_test(tc, test_flush_delayed);
    tcase_add_test(tc, test_flushed_reclaimed_at_alloc);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return fx_run_suite(items_suite());
}
