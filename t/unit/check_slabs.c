/*
 * check_slabs: the chunk class table for several -f/-n/-I (sizes worked out
 * by hand below), page and chunk accounting through allocs and frees, the
 * waste figures, the strict memory limit, cache_memlimit and -L.
 */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
#include "slabs/store.h"
#include "t/unit/fixture.h"

#define KB 1024u
#define MB (1024u * 1024u)

/* A store whose largest class is chunk_max (0: half a page, the default). */
static store *mk_top(uint64_t mem, uint32_t page, double f, uint32_t n, bool cas,
                     uint32_t chunk_max)
{
    struct store_config c;
    store_config_defaults(&c);
    c.mem_limit = mem;
    c.page_size = page;
    c.factor = f;
    c.chunk_min = n;
    c.use_cas = cas;
    c.chunk_max = chunk_max;
    c.hash_power = 6;
    return fx_store_create(&c);
}

static store *mk(uint64_t mem, uint32_t page, double f, uint32_t n, bool cas)
{
    return mk_top(mem, page, f, n, cas, 0);
}

static void setup(void)
{
    clock_init();
}

/* Stores key -> nvalue bytes of 'v'; returns the item's class. */
static unsigned put(store *s, const char *k, size_t nvalue)
{
    enum store_result why = STORE_OK;
    item *it = store_item_alloc(s, k, strlen(k), 0, 0, nvalue, &why);
    ck_assert_msg(it != NULL, "alloc %s: %d", k, why);
    fx_fill(s, it, 'v', nvalue);
    unsigned cls = item_class(it);
    ck_assert_int_eq(store_commit(s, it, STORE_SET, 0, NULL), STORE_OK);
    return cls;
}

START_TEST(test_classes_default)
{
    store *s = mk(64 * MB, MB, 1.25, 48, true);
    /* 40 + 48 = 88; then *1.25 rounded up to 8: 110->112, 140->144, 180->184,
     * 230->232, 290->296, 370->376, 470->472, 590->592, 740->744 */
    const uint32_t first[] = {88, 112, 144, 184, 232, 296, 376, 472, 592, 744};
    for (unsigned i = 0; i < 10; i++)
        ck_assert_uint_eq(store_class_chunk_size(s, i + 1), first[i]);
    unsigned n = store_class_count(s);
    /* the same rule, worked out independently: stop above 512 KB / 1.25
     * (the largest class is slab_chunk_max, half a page, as memcached's 39) */
    unsigned expect = 0;
    for (double sz = 88; sz <= MB / 2 / 1.25; expect++) {
        double next = (double)(((uint64_t)ceil(sz * 1.25) + 7) / 8 * 8);
        sz = next < sz + 8 ? sz + 8 : next;
    }
    ck_assert_uint_eq(n, expect + 1);
    ck_assert_uint_eq(n, 39);
    ck_assert_uint_eq(store_class_chunk_size(s, n), MB / 2);
    ck_assert_uint_eq(store_class_per_page(s, n), 2);
    ck_assert_uint_le(store_class_chunk_size(s, n - 1), MB / 2 / 1.25);
    for (unsigned c = 1; c <= n; c++) {
        uint32_t sz = store_class_chunk_size(s, c);
        ck_assert_uint_eq(sz % 8, 0);
        ck_assert_uint_eq(store_class_per_page(s, c), MB / sz);
        if (c > 1)
            ck_assert_uint_gt(sz, store_class_chunk_size(s, c - 1));
    }
    ck_assert_uint_eq(store_class_per_page(s, 1), 11915);   /* 1048576 / 88 */
    ck_assert_uint_eq(store_class_chunk_size(s, 0), 0);
    ck_assert_uint_eq(store_class_chunk_size(s, n + 1), 0);
    store_destroy(s);
}
END_TEST

START_TEST(test_classes_factor2_small_page)
{
    /* -I 1k -f 2 -n 48: 88, 176; 352 > 512/2 stops; then 512 (half a page) */
    store *s = mk(64 * KB, KB, 2.0, 48, true);
    ck_assert_uint_eq(store_class_count(s), 3);
    const uint32_t size[] = {88, 176, 512};
    const uint32_t per[] = {11, 5, 2};
    for (unsigned i = 0; i < 3; i++) {
        ck_assert_uint_eq(store_class_chunk_size(s, i + 1), size[i]);
        ck_assert_uint_eq(store_class_per_page(s, i + 1), per[i]);
    }
    store_destroy(s);
}

END_TEST

START_TEST(test_classes_no_cas_fine_factor)
{
    /* -C -n 8 -f 1.01 -I 1k: 32 + 8 = 40; +1% rounds to +8 up to 808
     * (97 classes: 40..808), then +16 steps 824..1000 (12 classes) since
     * x*1.01 > x+8 there; 1000*1.01 = 1010 -> 1016 > 1024/1.01: stop; 1024
     * (slab_chunk_max = the page) */
    store *s = mk_top(64 * KB, KB, 1.01, 8, false, KB);
    ck_assert_uint_eq(store_class_count(s), 110);
    ck_assert_uint_eq(store_class_chunk_size(s, 1), 40);
    ck_assert_uint_eq(store_class_chunk_size(s, 2), 48);
    ck_assert_uint_eq(store_class_chunk_size(s, 97), 808);
    ck_assert_uint_eq(store_class_chunk_size(s, 98), 824);
    ck_assert_uint_eq(store_class_chunk_size(s, 109), 1000);
    ck_assert_uint_eq(store_class_chunk_size(s, 110), 1024);
    ck_assert_uint_eq(store_class_per_page(s, 1), 25);   /* 1024 / 40 */
    store_destroy(s);
}
END_TEST

START_TEST(test_classes_n_and_big_factor)
{
    /* -n 100 -f 3 -I 64k: 140 -> 420 -> 1260 -> 3780; 11340 > 32768/3
     * stops; 32768 (half a page) */
    store *s = mk(MB, 64 * KB, 3.0, 100, true);
    const uint32_t size[] = {144, 432, 1296, 3888, 32768};
    /* 40+100 = 140 -> 144; 144*3 = 432; 1296; 3888; 11664 > 10922 */
    ck_assert_uint_eq(store_class_count(s), 5);
    for (unsigned i = 0; i < 5; i++)
        ck_assert_uint_eq(store_class_chunk_size(s, i + 1), size[i]);
    ck_assert_uint_eq(store_class_per_page(s, 4), 16);    /* 65536 / 3888 */
    store_destroy(s);
    /* page equal to the smallest chunk: a single class */
    s = mk(64 * KB, KB, 1.25, 1024 - 40, true);
    ck_assert_uint_eq(store_class_count(s), 1);
    ck_assert_uint_eq(store_class_chunk_size(s, 1), 1024);
    store_destroy(s);
}
END_TEST

START_TEST(test_chunk_accounting)
{
    /* 1k pages, class 1 = 88 bytes, 11 a page */
    store *s = mk(8 * KB, KB, 2.0, 48, true);
    char k[16];
    for (int i = 0; i < 12; i++) {
        snprintf(k, sizeof(k), "k%02d", i);      /* 38 + 3 + 10 = 51 bytes */
        ck_assert_uint_eq(put(s, k, 10), 1);
    }
    struct store_class_stats cs;
    store_class_stats(s, 1, &cs);
    ck_assert_uint_eq(cs.chunk_size, 88);
    ck_assert_uint_eq(cs.chunks_per_page, 11);
    ck_assert_uint_eq(cs.total_pages, 2);
    ck_assert_uint_eq(cs.total_chunks, 22);
    ck_assert_uint_eq(cs.used_chunks, 12);
    ck_assert_uint_eq(cs.free_chunks, 10);
    ck_assert_uint_eq(cs.free_chunks_end, 10);
    ck_assert_uint_eq(cs.curr_items, 12);
    ck_assert_uint_eq(cs.total_items, 12);
    ck_assert_uint_eq(cs.mem_requested, 12 * 51);
    ck_assert_uint_eq(cs.chunk_bytes_used, 12 * 88);

    /* a freed chunk goes on the free list and is the next one reused */
    item *it = store_get(s, "k05", 3, NULL);
    const void *addr = it;
    store_release(s, it);
    ck_assert_int_eq(store_delete(s, "k05", 3, 0, NULL), STORE_OK);
    store_class_stats(s, 1, &cs);
    ck_assert_uint_eq(cs.used_chunks, 11);
    ck_assert_uint_eq(cs.free_chunks, 11);
    ck_assert_uint_eq(cs.free_chunks_end, 10);
    ck_assert_uint_eq(cs.curr_items, 11);
    ck_assert_uint_eq(cs.mem_requested, 11 * 51);
    put(s, "new", 10);
    it = store_get(s, "new", 3, NULL);
    ck_assert_ptr_eq(it, addr);
    store_release(s, it);
    store_class_stats(s, 1, &cs);
    ck_assert_uint_eq(cs.free_chunks, 10);
    ck_assert_uint_eq(cs.free_chunks_end, 10);
    ck_assert_uint_eq(cs.total_items, 13);

    /* a held item's chunk is freed only at its last release */
    it = store_get(s, "k00", 3, NULL);
    ck_assert_int_eq(store_delete(s, "k00", 3, 0, NULL), STORE_OK);
    store_class_stats(s, 1, &cs);
    ck_assert_uint_eq(cs.used_chunks, 12);
    ck_assert_uint_eq(cs.curr_items, 11);
    store_release(s, it);
    store_class_stats(s, 1, &cs);
    ck_assert_uint_eq(cs.used_chunks, 11);

    struct store_stats ss;
    store_stats(s, &ss);
    ck_assert_uint_eq(ss.total_malloced, 2 * KB);
    ck_assert_uint_eq(ss.limit_maxbytes, 8 * KB);
    ck_assert_uint_eq(ss.active_slabs, 1);
    ck_assert_uint_eq(ss.curr_items, 11);
    ck_assert_uint_eq(ss.bytes, 11 * 51);
    ck_assert_uint_eq(ss.chunk_bytes_used, 11 * 88);
    ck_assert_uint_eq(ss.hash_power_level, 6);
    ck_assert_uint_eq(ss.hash_bytes, 64 * 4);
    store_destroy(s);
}
END_TEST

START_TEST(test_waste)
{
    /* default classes: 88, 112, 144. Items: key "a" (1 byte), flags 0.
     * value 49 -> 38+1+49 = 88 in 88 (no waste); value 50 -> 89 in 112 (23
     * wasted); value 73 -> 112 in 112; value 102 with flags -> 42+1+102 = 145
     * goes to 184 */
    store *s = mk(4 * MB, MB, 1.25, 48, true);
    ck_assert_uint_eq(put(s, "a", 49), 1);
    ck_assert_uint_eq(put(s, "b", 50), 2);
    ck_assert_uint_eq(put(s, "c", 73), 2);
    enum store_result why;
    item *it = store_item_alloc(s, "d", 1, 7, 0, 102, &why);
    ck_assert_uint_eq(item_class(it), 4);
    store_release(s, it);   /* never linked: freed */
    it = store_item_alloc(s, "d", 1, 7, 0, 101, &why);
    ck_assert_uint_eq(item_class(it), 3);   /* 144 exactly */
    memset(item_value_mut(it), 'x', 101);
    ck_assert_int_eq(store_commit(s, it, STORE_SET, 0, NULL), STORE_OK);

    struct store_class_stats c1, c2, c3, c4;
    store_class_stats(s, 1, &c1);
    store_class_stats(s, 2, &c2);
    store_class_stats(s, 3, &c3);
    store_class_stats(s, 4, &c4);
    ck_assert_uint_eq(c1.mem_requested, 88);
    ck_assert_uint_eq(c1.chunk_bytes_used, 88);
    ck_assert_uint_eq(c2.mem_requested, 89 + 112);
    ck_assert_uint_eq(c2.chunk_bytes_used, 224);
    ck_assert_uint_eq(c3.mem_requested, 144);
    ck_assert_uint_eq(c3.chunk_bytes_used, 144);
    ck_assert_uint_eq(c4.used_chunks, 0);
    ck_assert_uint_eq(c4.total_pages, 1);   /* its page stays with the class */
    ck_assert_uint_eq(c4.mem_requested, 0);
    struct store_stats ss;
    store_stats(s, &ss);
    ck_assert_uint_eq(ss.bytes, 88 + 89 + 112 + 144);
    ck_assert_uint_eq(ss.chunk_bytes_used, 88 + 224 + 144);
    ck_assert_uint_eq(ss.total_malloced, 4 * MB);
    ck_assert_uint_eq(ss.active_slabs, 4);
    store_destroy(s);
}
END_TEST

START_TEST(test_mem_limit_strict)
{
    /* 4 pages of 1k; class 4 = whole pages (slab_chunk_max = the page): 4
     * items fill memory */
    store *s = mk_top(4 * KB, KB, 2.0, 48, true, KB);
    char k[8];
    for (int i = 0; i < 4; i++) {
        snprintf(k, sizeof(k), "p%d", i);
        ck_assert_uint_eq(put(s, k, 500), 4);
    }
    struct store_stats ss;
    store_stats(s, &ss);
    ck_assert_uint_eq(ss.total_malloced, 4 * KB);
    /* a small item finds no page and class 1 nothing to evict: it takes the
     * emptiest page of the oldest-tail class at once (p0's, evicted) */
    ck_assert_uint_eq(put(s, "small", 1), 1);
    struct store_class_stats cs;
    store_class_stats(s, 1, &cs);
    ck_assert_uint_eq(cs.outofmemory, 0);
    ck_assert_uint_eq(cs.total_pages, 1);
    store_stats(s, &ss);
    ck_assert_uint_eq(ss.slabs_moved, 1);
    ck_assert_uint_eq(ss.slab_reassign_evictions_nomem, 1);
    ck_assert_uint_eq(ss.total_malloced, 4 * KB);
    ck_assert_ptr_null(store_get(s, "p0", 2, NULL));
    /* a 5th big one evicts the oldest left */
    ck_assert_uint_eq(put(s, "p4", 500), 4);
    store_stats(s, &ss);
    ck_assert_uint_eq(ss.total_malloced, 4 * KB);
    ck_assert_uint_eq(ss.evictions, 1);
    ck_assert_ptr_null(store_get(s, "p1", 2, NULL));

    /* raising the limit gives a page to class 3 without a move */
    store_set_mem_limit(s, 5 * KB);
    ck_assert_uint_eq(put(s, "mid", 150), 3);
    store_stats(s, &ss);
    ck_assert_uint_eq(ss.total_malloced, 5 * KB);
    ck_assert_uint_eq(ss.limit_maxbytes, 5 * KB);
    ck_assert_uint_eq(ss.slabs_moved, 1);
    /* a raise above the reservation is clamped to it (1 GB at least) */
    store_set_mem_limit(s, (uint64_t)64 * 1024 * MB);
    store_stats(s, &ss);
    ck_assert_uint_eq(ss.limit_maxbytes, (uint64_t)1024 * MB);
    store_destroy(s);
}
END_TEST

START_TEST(test_prealloc)
{
    struct store_config c;
    char err[256];
    store_config_defaults(&c);
    c.mem_limit = 8 * KB;
    c.page_size = KB;
    c.factor = 2.0;
    c.chunk_max = KB;      /* classes 88, 176, 352, 1024 */
    c.prealloc = true;
    store *s = store_create(&c, err, sizeof(err));
    ck_assert_ptr_nonnull(s);
    struct store_stats ss;
    store_stats(s, &ss);
    ck_assert_uint_eq(ss.total_malloced, 4 * KB);   /* one page for each of 4 classes */
    ck_assert_uint_eq(ss.active_slabs, 4);
    for (unsigned cls = 1; cls <= 4; cls++) {
        struct store_class_stats cs;
        store_class_stats(s, cls, &cs);
        ck_assert_uint_eq(cs.total_pages, 1);
        ck_assert_uint_eq(cs.free_chunks_end, cs.chunks_per_page);
    }
    store_destroy(s);
    /* with fewer pages than classes, the first classes get them */
    c.mem_limit = 2 * KB;
    s = store_create(&c, err, sizeof(err));
    store_stats(s, &ss);
    ck_assert_uint_eq(ss.total_malloced, 2 * KB);
    struct store_class_stats cs;
    store_class_stats(s, 3, &cs);
    ck_assert_uint_eq(cs.total_pages, 0);
    store_destroy(s);
}
END_TEST

static Suite *slabs_suite(void)
{
    Suite *s = suite_create("slabs");
    TCase *tc = tcase_create("classes");
    tcase_add_checked_fixture(tc, setup, NULL);
    tcase_add_test(tc, test_classes_default);
    tcase_add_test(tc, test_classes_factor2_small_page);
    tcase_add_test(tc, test_classes_no_cas_fine_factor);
    tcase_add_test(tc, test_classes_n_and_big_factor);
    suite_add_tcase(s, tc);
    tc = tcase_create("memory");
    tcase_add_checked_fixture(tc, setup, NULL);
    tcase_add_test(tc, test_chunk_accounting);
    tcase_add_test(tc, test_waste);
    tcase_add_test(tc, test_mem_limit_strict);
    tcase_add_test(tc, test_prealloc);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return fx_run_suite(slabs_suite());
}
