/*
 * check_assoc: the hash function (determinism, avalanche, spread over low
 * bits) and the hash table's incremental growth: a few buckets at a time,
 * lookups right in the middle of it, and 1M keys inserted while a second
 * thread keeps looking up keys already stored (every one must be found).
 */
#include <check.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
#include "slabs/internal.h"
#include "t/unit/fixture.h"

#define MB (1024u * 1024u)

static store *mk(uint64_t mem, unsigned power)
{
    struct store_config c;
    store_config_defaults(&c);
    c.mem_limit = mem;
    c.hash_power = power;
    return fx_store_create(&c);
}

static void setup(void)
{
    clock_init();
}

static bool put(store *s, const char *k, const char *v)
{
    item *it = store_item_alloc(s, k, strlen(k), 0, 0, strlen(v), NULL);
    if (it == NULL)
        return false;
    memcpy(item_value_mut(it), v, strlen(v));
    return store_commit(s, it, STORE_SET, 0, NULL) == STORE_OK;
}

static bool found(store *s, const char *k, const char *v)
{
    item *it = store_get(s, k, strlen(k), NULL);
    bool ok = it != NULL && item_nvalue(it) == strlen(v) &&
              memcmp(item_value(it), v, strlen(v)) == 0;
    store_release(s, it);
    return ok;
}

START_TEST(test_hash_basics)
{
    ck_assert_uint_eq(assoc_hash("hello", 5), assoc_hash("hello", 5));
    ck_assert_uint_ne(assoc_hash("hello", 5), assoc_hash("hellp", 5));
    ck_assert_uint_ne(assoc_hash("a", 1), assoc_hash("a\0", 2));
    ck_assert_uint_ne(assoc_hash("", 0), assoc_hash("\0", 1));
    ck_assert_uint_ne(assoc_hash("abcdefgh", 8), assoc_hash("abcdefgh\0", 9));
}
END_TEST

START_TEST(test_hash_avalanche)
{
    /* flipping one input bit flips each output bit with probability ~1/2 */
    unsigned flips[64] = {0};
    unsigned trials = 0;
    char key[40];
    for (unsigned len = 1; len <= sizeof(key); len += 3) {
        for (unsigned i = 0; i < len; i++)
            key[i] = (char)('a' + (i * 7 + len) % 26);
        uint64_t h0 = assoc_hash(key, len);
        for (unsigned bit = 0; bit < len * 8; bit++) {
            key[bit / 8] ^= (char)(1 << (bit % 8));
            uint64_t d = h0 ^ assoc_hash(key, len);
            key[bit / 8] ^= (char)(1 << (bit % 8));
            for (int o = 0; o < 64; o++)
                flips[o] += (d >> o) & 1;
            trials++;
        }
    }
    ck_assert_uint_gt(trials, 2000);
    for (int o = 0; o < 64; o++) {
        double p = (double)flips[o] / trials;
        ck_assert_msg(p > 0.45 && p < 0.55, "output bit %d flips with p=%.3f", o, p);
    }
}
END_TEST

START_TEST(test_hash_spread)
{
    /* 65536 similar keys into 4096 buckets (low 12 bits): 16 expected each */
    enum { NB = 4096, NK = 65536 };
    static unsigned count[NB];
    char key[32];
    memset(count, 0, sizeof(count));
    for (int i = 0; i < NK; i++) {
        int n = snprintf(key, sizeof(key), "user:%d", i);
        count[assoc_hash(key, (size_t)n) & (NB - 1)]++;
    }
    double chi = 0;
    unsigned max = 0;
    for (int b = 0; b < NB; b++) {
        double d = (double)count[b] - 16.0;
        chi += d * d / 16.0;
        if (count[b] > max)
            max = count[b];
    }
    ck_assert_uint_lt(max, 40);
    /* chi-square with 4095 degrees of freedom: mean 4095, sd ~90 */
    ck_assert_msg(chi > 3600 && chi < 4600, "chi2 %.0f", chi);
}
END_TEST

START_TEST(test_incremental_growth)
{
    /* 16 buckets: growth starts above 24 items, moves 4 old buckets a write */
    store *s = mk(4 * MB, 4);
    char k[16];
    for (int i = 0; i < 25; i++) {
        snprintf(k, sizeof(k), "g%d", i);
        ck_assert(put(s, k, k));
    }
    struct store_stats ss;
    store_stats(s, &ss);
    ck_assert(ss.hash_is_expanding);
    ck_assert_uint_eq(ss.hash_power_level, 5);
    ck_assert_uint_eq(atomic_load(&s->assoc.expand_bucket), 0);
    ck_assert(put(s, "g25", "g25"));            /* moves buckets 0..3 */
    ck_assert_uint_eq(atomic_load(&s->assoc.expand_bucket), 4);
    for (int i = 0; i < 26; i++) {              /* found in old and new */
        snprintf(k, sizeof(k), "g%d", i);
        ck_assert_msg(found(s, k, k), "%s mid-growth", k);
    }
    ck_assert_int_eq(store_delete(s, "g3", 2, 0, NULL), STORE_OK);
    ck_assert(!found(s, "g3", "g3"));
    store_maintain(s);
    store_stats(s, &ss);
    ck_assert(!ss.hash_is_expanding);
    ck_assert_uint_eq(ss.hash_bytes, 32 * sizeof(uint32_t));
    ck_assert_uint_eq(ss.curr_items, 25);
    for (int i = 0; i < 26; i++) {
        snprintf(k, sizeof(k), "g%d", i);
        ck_assert(found(s, k, k) == (i != 3));
    }
    store_destroy(s);
}
END_TEST

/* The store has no hash power floor (memcached's 12 is the flag's): one bucket grows. */
START_TEST(test_growth_from_one_bucket)
{
    store *s = mk(4 * MB, 0);
    char k[16];
    for (int i = 0; i < 100; i++) {
        snprintf(k, sizeof(k), "o%d", i);
        ck_assert(put(s, k, k));
        store_maintain(s);
    }
    struct store_stats ss;
    store_stats(s, &ss);
    ck_assert(!ss.hash_is_expanding);
    ck_assert_uint_eq(ss.hash_power_level, 7);   /* 100 items > 64 * 3 / 2 at power 6 */
    for (int i = 0; i < 100; i++) {
        snprintf(k, sizeof(k), "o%d", i);
        ck_assert_msg(found(s, k, k), "%s lost while growing from one bucket", k);
    }
    store_destroy(s);
}
END_TEST

#define BIG_KEYS 1000000

struct grow_ctx {
    store *s;
    _Atomic int inserted;
    _Atomic bool stop;
    _Atomic long lookups;
    _Atomic long misses;
};

static void *grow_reader(void *arg)
{
    struct grow_ctx *c = arg;
    uint64_t x = 88172645463325252ull;
    char k[24];
    while (!atomic_load(&c->stop)) {
        int n = atomic_load(&c->inserted);
        if (n == 0)
            continue;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        int i = (int)(x % (uint64_t)n);
        snprintf(k, sizeof(k), "key:%07d", i);
        if (!found(c->s, k, k + 4))
            atomic_fetch_add(&c->misses, 1);
        atomic_fetch_add(&c->lookups, 1);
    }
    return NULL;
}

START_TEST(test_growth_1m_with_reader)
{
    struct grow_ctx c = {.s = mk(128 * MB, 16)};
    pthread_t t;
    ck_assert_int_eq(pthread_create(&t, NULL, grow_reader, &c), 0);
    char k[24];
    bool saw_expanding = false;
    for (int i = 0; i < BIG_KEYS; i++) {
        snprintf(k, sizeof(k), "key:%07d", i);
        ck_assert(put(c.s, k, k + 4));
        atomic_store(&c.inserted, i + 1);
        if ((i & 1023) == 0)
            saw_expanding |= assoc_expanding(c.s);
    }
    atomic_store(&c.stop, true);
    pthread_join(t, NULL);
    ck_assert(saw_expanding);
    ck_assert_int_gt(atomic_load(&c.lookups), 1000);
    ck_assert_int_eq(atomic_load(&c.misses), 0);
    while (assoc_expanding(c.s))
        store_maintain(c.s);
    struct store_stats ss;
    store_stats(c.s, &ss);
    /* 16 -> 17 at 98305 items, ... 19 -> 20 at 786433 */
    ck_assert_uint_eq(ss.hash_power_level, 20);
    ck_assert_uint_eq(ss.curr_items, BIG_KEYS);
    ck_assert_uint_eq(ss.evictions, 0);
    for (int i = 0; i < BIG_KEYS; i++) {
        snprintf(k, sizeof(k), "key:%07d", i);
        item *it = store_get(c.s, k, strlen(k), NULL);
        ck_assert_msg(it != NULL, "%s lost", k);
        store_release(c.s, it);
    }
    store_destroy(c.s);
}
END_TEST

static Suite *assoc_suite(void)
{
    Suite *s = suite_create("assoc");
    TCase *tc = tcase_create("hash");
    tcase_add_checked_fixture(tc, setup, NULL);
    tcase_add_test(tc, test_hash_basics);
    tcase_add_test(tc, test_hash_avalanche);
    tcase_add_test(tc, test_hash_spread);
    suite_add_tcase(s, tc);
    tc = tcase_create("growth");
    tcase_add_checked_fixture(tc, setup, NULL);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_incremental_growth);
    tcase_add_test(tc, test_growth_from_one_bucket);
    tcase_add_test(tc, test_growth_1m_with_reader);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return fx_run_suite(assoc_suite());
}
