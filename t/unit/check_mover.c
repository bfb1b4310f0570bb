/*
 * check_mover: page moves (slabs/mover.c), driven step by step through
 * mover_work() with automove off, so every count is exact: a page with live,
 * free and referenced items (rescues vs evictions, the referenced item
 * waiting until it is released), the replies of store_slab_reassign, the
 * global pool, a class with no page taking one from the oldest-tail class
 * inside the allocating call (and a class that has pages waiting for
 * automove instead), a data chunk evicted through its head, the
 * limit lowered (pages given back) and raised, automove (ours follows a
 * size shift and leaves a steady mix alone; aggressive moves on any
 * eviction; these wait out the mover's sampling tick), and a race of a mover thread
 * moving pages back and forth against 4 threads that get/set/delete the same
 * keys with self-checking values (run it under TSan).
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

#define KB 1024u
#define PAGE (4 * KB)
#define CLASS_SMALL 1
#define CLASS_NEXT 2
#define STEPS_MAX 100000       /* mover_work calls before a test gives up */
#define RACE_THREADS 4
#define RACE_KEYS 256
#define RACE_MS 1500
#define RACE_MOVE_STEPS 64     /* mover_work calls per reassign in the race */

static store *mk(uint64_t mem)
{
    struct store_config c;
    store_config_defaults(&c);
    c.mem_limit = mem;
    c.page_size = PAGE;
    c.factor = 2.0;
    c.chunk_min = 48;
    c.hash_power = 6;
    c.automove = AUTOMOVE_OFF;
    c.chunk_max = PAGE;        /* the largest class is a whole page */
    return fx_store_create(&c);
}

/* The value bytes that fill a chunk of cls exactly for a key of nkey bytes. */
static size_t fill_of(store *s, unsigned cls, size_t nkey)
{
    return store_class_chunk_size(s, cls) - store_item_header_size(s, 0) - nkey;
}

/* A value that says which key it belongs to: the key's last byte repeated. */
static void put_cls(store *s, const char *k, unsigned cls)
{
    size_t n = fill_of(s, cls, strlen(k));
    enum store_result why = STORE_OK;
    item *it = store_item_alloc(s, k, strlen(k), 0, 0, n, &why);
    ck_assert_msg(it != NULL, "alloc %s: %d", k, why);
    char v[PAGE];
    memset(v, k[strlen(k) - 1], n);
    item_value_write(s, it, 0, v, n);
    ck_assert_uint_eq(item_class(it), cls);
    ck_assert_int_eq(store_commit(s, it, STORE_SET, 0, NULL), STORE_OK);
}

/* The key is there with its whole value intact. */
static bool intact(store *s, const char *k, unsigned cls)
{
    item *it = store_get(s, k, strlen(k), NULL);
    if (it == NULL)
        return false;
    size_t n = fill_of(s, cls, strlen(k));
    bool ok = item_nvalue(it) == n && item_class(it) == cls;
    char v[PAGE];
    if (ok)
        item_value_read(s, it, 0, v, n);
    for (size_t i = 0; ok && i < n; i++)
        ok = v[i] == k[strlen(k) - 1];
    store_release(s, it);
    ck_assert_msg(ok, "%s: value damaged", k);
    return true;
}

static void key_of(char *buf, size_t len, int i)
{
    snprintf(buf, len, "k%02d", i);
}

static void put_range(store *s, int from, int to, unsigned cls)
{
    char k[16];
    for (int i = from; i < to; i++) {
        key_of(k, sizeof(k), i);
        put_cls(s, k, cls);
    }
}

static void del_range(store *s, int from, int to)
{
    char k[16];
    for (int i = from; i < to; i++) {
        key_of(k, sizeof(k), i);
        ck_assert_int_eq(store_delete(s, k, strlen(k), 0, NULL), STORE_OK);
    }
}

/* Runs mover steps until the mover has nothing to do right away. */
static void run_mover(store *s)
{
    int steps = 0;
    while (mover_work(s))
        ck_assert_int_lt(++steps, STEPS_MAX);
}

static struct store_stats stats_of(store *s)
{
    struct store_stats ss;
    store_stats(s, &ss);
    return ss;
}

static struct store_class_stats class_stats_of(store *s, unsigned cls)
{
    struct store_class_stats cs;
    store_class_stats(s, cls, &cs);
    return cs;
}

/* Two full pages of the small class: k00..k45 in page 0, k46..k91 in page 1. */
static unsigned two_pages(store *s)
{
    unsigned per = store_class_per_page(s, CLASS_SMALL);
    put_range(s, 0, (int)(2 * per), CLASS_SMALL);
    ck_assert_uint_eq(class_stats_of(s, CLASS_SMALL).total_pages, 2);
    return per;
}

/* Fills every free chunk of cls (its pages stay as they are) with keys
 * "<prefix><n>", so an allocation elsewhere cannot spill into it. */
static void fill_free_of(store *s, const char *prefix, unsigned cls)
{
    uint64_t free_chunks = class_stats_of(s, cls).free_chunks;
    char k[48];
    for (uint64_t i = 0; i < free_chunks; i++) {
        snprintf(k, sizeof(k), "%s%llu", prefix, (unsigned long long)i);
        put_cls(s, k, cls);
    }
    ck_assert_uint_eq(class_stats_of(s, cls).free_chunks, 0);
}

START_TEST(test_drain_live_free_referenced)
{
    store *s = mk(16 * PAGE);
    unsigned per = two_pages(s);       /* 46 a page */
    del_range(s, 0, 30);               /* page 0: 30 free, k30..k45 live */
    ck_assert_str_eq(stats_of(s).slab_reassign_last_busy_status, "none");
    del_range(s, (int)per, (int)per + 11);   /* page 1: 11 free chunks to rescue into */
    item *held = store_get(s, "k30", 3, NULL);
    ck_assert_ptr_nonnull(held);
    uint64_t cas31 = 0;
    item *it31 = store_get(s, "k31", 3, NULL);
    cas31 = item_cas(it31);
    store_release(s, it31);

    ck_assert_int_eq(store_slab_reassign(s, CLASS_SMALL, 0), STORE_REASSIGN_OK);
    ck_assert_uint_eq(stats_of(s).slab_reassign_running, 1);
    run_mover(s);
    /* the emptiest page (page 0): 15 movable items, 11 chunks to rescue them into */
    struct store_stats ss = stats_of(s);
    ck_assert_uint_eq(ss.slab_reassign_rescues, 11);
    ck_assert_uint_eq(ss.slab_reassign_evictions_nomem, 4);
    ck_assert_uint_eq(ss.slab_reassign_busy_items, 1);
    ck_assert_str_eq(ss.slab_reassign_last_busy_status, "busy_active");   /* a reader holds it */
    ck_assert_uint_eq(ss.slab_reassign_busy_nomem, 0);
    ck_assert_uint_eq(ss.slab_reassign_inline_reclaim, 0);
    ck_assert_uint_eq(ss.slabs_moved, 0);
    /* still referenced: it waits, pass after pass */
    run_mover(s);
    run_mover(s);
    ss = stats_of(s);
    ck_assert_uint_eq(ss.slab_reassign_busy_items, 3);
    ck_assert_uint_eq(ss.slabs_moved, 0);
    ck_assert_uint_eq(ss.slab_reassign_running, 1);
    ck_assert_int_eq(store_slab_reassign(s, CLASS_SMALL, 0), STORE_REASSIGN_BUSY);

    /* released, and a chunk to go to: it moves, the page goes to the pool */
    store_release(s, held);
    del_range(s, 60, 61);
    run_mover(s);
    run_mover(s);
    ss = stats_of(s);
    ck_assert_uint_eq(ss.slab_reassign_rescues, 12);
    ck_assert_uint_eq(ss.slab_reassign_evictions_nomem, 4);
    ck_assert_uint_eq(ss.slabs_moved, 1);
    ck_assert_uint_eq(ss.slab_reassign_running, 0);
    ck_assert_uint_eq(ss.slab_global_page_pool, 1);
    ck_assert_uint_eq(ss.total_malloced, 2 * PAGE);
    struct store_class_stats cs = class_stats_of(s, CLASS_SMALL);
    ck_assert_uint_eq(cs.total_pages, 1);
    ck_assert_uint_eq(cs.used_chunks, per);
    ck_assert_uint_eq(cs.free_chunks, 0);
    ck_assert_uint_eq(cs.curr_items, per);

    /* k30 and the 11 first movable ones are intact, the last 4 evicted */
    char k[16];
    for (int i = 30; i < 46; i++) {
        key_of(k, sizeof(k), i);
        ck_assert_int_eq(intact(s, k, CLASS_SMALL), i <= 41);
    }
    it31 = store_get(s, "k31", 3, NULL);
    ck_assert_uint_eq(item_cas(it31), cas31);    /* a rescue keeps the CAS */
    store_release(s, it31);
    for (int i = (int)per + 11; i < (int)(2 * per); i++) {
        key_of(k, sizeof(k), i);
        ck_assert_int_eq(intact(s, k, CLASS_SMALL), i != 60);
    }
    store_destroy(s);
}
END_TEST

START_TEST(test_free_chunks_met_by_allocation)
{
    /* chunks of a draining page that an allocation pops are kept off */
    store *s = mk(16 * PAGE);
    unsigned per = two_pages(s);
    del_range(s, 0, 1);                        /* page 0: one free chunk */
    del_range(s, (int)per, (int)(2 * per));    /* page 1 all free, on top of it */
    ck_assert_int_eq(store_slab_reassign(s, CLASS_SMALL, CLASS_NEXT), STORE_REASSIGN_OK);
    /* before any step, an allocation meets page 1's 46 chunks first */
    put_cls(s, "x0", CLASS_SMALL);
    ck_assert_uint_eq(stats_of(s).slab_reassign_inline_reclaim, per);
    run_mover(s);
    struct store_stats ss = stats_of(s);
    ck_assert_uint_eq(ss.slabs_moved, 1);
    ck_assert_uint_eq(ss.slab_reassign_rescues + ss.slab_reassign_evictions_nomem, 0);
    ck_assert_uint_eq(class_stats_of(s, CLASS_NEXT).total_pages, 1);
    ck_assert_uint_eq(class_stats_of(s, CLASS_SMALL).total_pages, 1);
    ck_assert_uint_eq(class_stats_of(s, CLASS_SMALL).free_chunks, 0);
    ck_assert(intact(s, "x0", CLASS_SMALL));
    ck_assert(intact(s, "k01", CLASS_SMALL));
    store_destroy(s);
}
END_TEST

START_TEST(test_reassign_results)
{
    store *s = mk(16 * PAGE);
    ck_assert_int_eq(store_slab_reassign(s, 1, 1), STORE_REASSIGN_SAME);
    ck_assert_int_eq(store_slab_reassign(s, 1, 99), STORE_REASSIGN_BADCLASS);
    ck_assert_int_eq(store_slab_reassign(s, 99, 1), STORE_REASSIGN_BADCLASS);
    ck_assert_int_eq(store_slab_reassign(s, -2, 1), STORE_REASSIGN_BADCLASS);
    /* no class has a spare page: -1 finds none (memcached: BADCLASS) */
    ck_assert_int_eq(store_slab_reassign(s, -1, 3), STORE_REASSIGN_BADCLASS);
    put_cls(s, "mid", 2);
    ck_assert_int_eq(store_slab_reassign(s, 2, 3), STORE_REASSIGN_NOSPARE);
    ck_assert_int_eq(store_slab_reassign(s, 0, 3), STORE_REASSIGN_NOSPARE);
    two_pages(s);
    item *held = store_get(s, "k00", 3, NULL);
    ck_assert_int_eq(store_slab_reassign(s, -1, 3), STORE_REASSIGN_OK);
    ck_assert_int_eq(store_slab_reassign(s, 2, 4), STORE_REASSIGN_BUSY);
    store_release(s, held);
    run_mover(s);
    ck_assert_uint_eq(stats_of(s).slabs_moved, 1);
    ck_assert_uint_eq(class_stats_of(s, 3).total_pages, 1);
    ck_assert_uint_eq(class_stats_of(s, CLASS_SMALL).total_pages, 1);
    /* the pool as a source and as a destination */
    put_range(s, 100, 146, CLASS_SMALL);
    ck_assert_int_eq(store_slab_reassign(s, -1, 0), STORE_REASSIGN_OK);
    run_mover(s);
    ck_assert_uint_eq(stats_of(s).slab_global_page_pool, 1);
    ck_assert_int_eq(store_slab_reassign(s, 0, 4), STORE_REASSIGN_OK);
    ck_assert_uint_eq(stats_of(s).slab_global_page_pool, 0);
    ck_assert_uint_eq(class_stats_of(s, 4).total_pages, 1);
    ck_assert_uint_eq(stats_of(s).slabs_moved, 3);
    store_destroy(s);
}
END_TEST

START_TEST(test_pool_page_taken_first)
{
    store *s = mk(16 * PAGE);
    two_pages(s);
    del_range(s, 0, 46);
    ck_assert_int_eq(store_slab_reassign(s, CLASS_SMALL, 0), STORE_REASSIGN_OK);
    run_mover(s);
    struct store_stats ss = stats_of(s);
    ck_assert_uint_eq(ss.slab_global_page_pool, 1);
    ck_assert_uint_eq(ss.total_malloced, 2 * PAGE);
    ck_assert_uint_eq(ss.slab_reassign_rescues + ss.slab_reassign_evictions_nomem, 0);
    uint64_t cut = atomic_load(&s->pages_used);
    /* the next class that needs a page takes the pool's, no new one is cut */
    put_cls(s, "big", 3);
    ss = stats_of(s);
    ck_assert_uint_eq(ss.slab_global_page_pool, 0);
    ck_assert_uint_eq(ss.total_malloced, 2 * PAGE);
    ck_assert_uint_eq(atomic_load(&s->pages_used), cut);
    ck_assert(intact(s, "big", 3));
    store_destroy(s);
}
END_TEST

START_TEST(test_alloc_takes_page_from_oldest_tail)
{
    /* 4 pages: class 1 has two (old items), class 2 one (younger), class 3 one */
    store *s = mk(4 * PAGE);
    two_pages(s);
    clock_advance(100);
    put_cls(s, "mid", 2);
    put_cls(s, "big", 3);
    fill_free_of(s, "f2_", 2);
    fill_free_of(s, "f3_", 3);
    clock_advance(10);
    ck_assert_uint_eq(stats_of(s).total_malloced, 4 * PAGE);
    /* class 4 never had a page, has nothing to evict and no free chunk
     * elsewhere to spill into: inside this call it gets class 1's emptiest
     * page (46 evictions: no spare chunk in class 1) */
    put_cls(s, "huge", 4);
    struct store_stats ss = stats_of(s);
    ck_assert_uint_eq(ss.slabs_moved, 1);
    ck_assert_uint_eq(ss.slab_reassign_evictions_nomem, 46);
    ck_assert_uint_eq(class_stats_of(s, 4).total_pages, 1);
    ck_assert_uint_eq(class_stats_of(s, 4).outofmemory, 0);
    ck_assert_uint_eq(class_stats_of(s, CLASS_SMALL).total_pages, 1);
    ck_assert(intact(s, "mid", 2));
    ck_assert(intact(s, "big", 3));
    ck_assert(intact(s, "huge", 4));
    store_destroy(s);
}
END_TEST

START_TEST(test_alloc_leaves_busy_move_to_mover)
{
    /* the only other page holds an item the caller itself references: the
     * store fails (counted), the move waits; once released it completes */
    store *s = mk(2 * PAGE);
    put_cls(s, "mid", 2);
    put_cls(s, "big", 3);
    fill_free_of(s, "f2_", 2);      /* nothing to spill into */
    fill_free_of(s, "f3_", 3);
    clock_advance(5);
    item *held = store_get(s, "mid", 3, NULL);
    ck_assert_ptr_nonnull(held);
    enum store_result why = STORE_OK;
    /* class 3's page is the oldest tail? both are 5 s old: the first, class 2 */
    ck_assert_ptr_null(store_item_alloc(s, "x", 1, 0, 0, fill_of(s, 4, 1), &why));
    ck_assert_int_eq(why, STORE_NO_MEMORY);
    ck_assert_uint_eq(class_stats_of(s, 4).outofmemory, 1);
    ck_assert_uint_eq(stats_of(s).slab_reassign_running, 1);
    store_release(s, held);
    put_cls(s, "x", 4);
    ck_assert_uint_eq(stats_of(s).slabs_moved, 1);
    ck_assert(intact(s, "x", 4));
    ck_assert(intact(s, "big", 3));
    ck_assert(!intact(s, "mid", 2));
    store_destroy(s);
}
END_TEST

START_TEST(test_class_with_pages_does_not_steal)
{
    /* the page-sized class has a page, its one item referenced: it waits
     * for automove instead of draining class 2's page inside the call */
    store *s = mk(2 * PAGE);
    unsigned whole = store_class_count(s);
    put_cls(s, "mid", 2);
    put_cls(s, "b1", whole);
    item *held = store_get(s, "b1", 2, NULL);
    enum store_result why = STORE_OK;
    ck_assert_ptr_null(store_item_alloc(s, "b2", 2, 0, 0, fill_of(s, whole, 2), &why));
    ck_assert_int_eq(why, STORE_NO_MEMORY);
    ck_assert_uint_eq(stats_of(s).slabs_moved, 0);
    ck_assert(intact(s, "mid", 2));
    store_release(s, held);
    put_cls(s, "b2", whole);        /* now it evicts its own */
    ck_assert_uint_eq(stats_of(s).evictions, 1);
    store_destroy(s);
}
END_TEST

START_TEST(test_no_evict_never_takes_a_page)
{
    struct store_config c;
    store_config_defaults(&c);
    c.mem_limit = PAGE;
    c.page_size = PAGE;
    c.factor = 2.0;
    c.chunk_min = 48;
    c.no_evict = true;
    c.automove = AUTOMOVE_OFF;
    c.chunk_max = PAGE;
    store *s = fx_store_create(&c);
    put_cls(s, "mid", 2);
    fill_free_of(s, "f2_", 2);      /* nothing to spill into */
    enum store_result why = STORE_OK;
    ck_assert_ptr_null(store_item_alloc(s, "x", 1, 0, 0, fill_of(s, 3, 1), &why));
    ck_assert_int_eq(why, STORE_NO_MEMORY);
    ck_assert_uint_eq(stats_of(s).slabs_moved, 0);
    ck_assert(intact(s, "mid", 2));
    store_destroy(s);
}
END_TEST

/* A chained value of n bytes under k, each byte k's last, or NULL on no memory. */
static void put_chained(store *s, const char *k, size_t n)
{
    enum store_result why = STORE_OK;
    item *it = store_item_alloc(s, k, strlen(k), 0, 0, n, &why);
    ck_assert_msg(it != NULL, "alloc %s: %d", k, why);
    ck_assert(item_is_chained(it));
    char v[2 * PAGE];
    memset(v, k[strlen(k) - 1], n);
    item_value_write(s, it, 0, v, n);
    ck_assert_int_eq(store_commit(s, it, STORE_SET, 0, NULL), STORE_OK);
}

static bool chained_intact(store *s, const char *k, size_t n)
{
    item *it = store_get(s, k, strlen(k), NULL);
    if (it == NULL)
        return false;
    char v[2 * PAGE];
    bool ok = item_nvalue(it) == n;
    if (ok)
        item_value_read(s, it, 0, v, n);
    for (size_t i = 0; ok && i < n; i++)
        ok = v[i] == k[strlen(k) - 1];
    store_release(s, it);
    ck_assert_msg(ok, "%s: value damaged", k);
    return true;
}

START_TEST(test_data_chunk_evicted_through_head)
{
    /* chains (slab_chunk_max = half a page, 2048): each head fills a chunk
     * of the largest class, the last ~600 bytes of its value go to one data
     * chunk of the 704-byte class, five to a page: six chains put the data
     * chunks on 2 pages, the sixth alone on the second */
    struct store_config c;
    store_config_defaults(&c);
    c.mem_limit = 16 * PAGE;
    c.page_size = PAGE;
    c.factor = 2.0;
    c.chunk_min = 48;
    c.hash_power = 6;
    c.automove = AUTOMOVE_OFF;
    store *s = fx_store_create(&c);
    const size_t n = 2600;
    char k[16];
    for (int i = 0; i < 6; i++) {
        snprintf(k, sizeof(k), "c%d", i);
        put_chained(s, k, n);
    }
    unsigned top = store_class_count(s), dcls = 0;
    for (unsigned cls = 1; cls < top; cls++)
        if (class_stats_of(s, cls).used_chunks > 0)
            dcls = cls;
    ck_assert_uint_ne(dcls, 0);
    ck_assert_uint_eq(class_stats_of(s, dcls).used_chunks, 6);
    ck_assert_uint_eq(class_stats_of(s, dcls).total_pages, 2);
    /* the emptiest page holds c5's data chunk: its head is evicted (never
     * copied), the chain freed, the page moved */
    ck_assert_int_eq(store_slab_reassign(s, (int)dcls, 0), STORE_REASSIGN_OK);
    run_mover(s);
    struct store_stats ss = stats_of(s);
    ck_assert_uint_eq(ss.slabs_moved, 1);
    ck_assert_uint_eq(ss.slab_reassign_evictions_nomem, 1);
    ck_assert_uint_eq(ss.slab_reassign_rescues, 0);
    ck_assert_uint_eq(ss.slab_global_page_pool, 1);
    ck_assert(!chained_intact(s, "c5", n));
    for (int i = 0; i < 5; i++) {
        snprintf(k, sizeof(k), "c%d", i);
        ck_assert(chained_intact(s, k, n));
    }
    ck_assert_uint_eq(class_stats_of(s, dcls).used_chunks, 5);
    ck_assert_uint_eq(class_stats_of(s, top).used_chunks, 5);
    store_destroy(s);
}
END_TEST

START_TEST(test_limit_lowered_and_raised)
{
    store *s = mk(8 * PAGE);
    /* 8 pages of class 1, oldest first */
    unsigned per = store_class_per_page(s, CLASS_SMALL);
    for (int p = 0; p < 8; p++) {
        char k[16];
        for (unsigned i = 0; i < per; i++) {
            snprintf(k, sizeof(k), "p%d.%u", p, i);
            put_cls(s, k, CLASS_SMALL);
        }
        clock_advance(1);
    }
    ck_assert_uint_eq(stats_of(s).total_malloced, 8 * PAGE);
    char *page0 = s->arena;
    store_set_mem_limit(s, 3 * PAGE);
    run_mover(s);
    struct store_stats ss = stats_of(s);
    ck_assert_uint_eq(ss.total_malloced, 3 * PAGE);
    ck_assert_uint_eq(ss.slabs_moved, 5);
    ck_assert_uint_eq(ss.curr_items, 3 * per);
    ck_assert_uint_eq(ss.slab_reassign_evictions_nomem, 5 * per);
    ck_assert_uint_eq(class_stats_of(s, CLASS_SMALL).total_pages, 3);
    /* the pages are given back: a released page reads as zeros again */
    ck_assert_int_eq(s->page_state[0], PAGE_RELEASED);
    for (size_t i = 0; i < PAGE; i++)
        ck_assert_int_eq(page0[i], 0);
    /* the new limit holds: a new class takes a page from another, no more */
    put_cls(s, "big", 3);
    ck_assert_uint_eq(stats_of(s).total_malloced, 3 * PAGE);
    /* raising: the released pages come back at once, no move */
    store_set_mem_limit(s, 8 * PAGE);
    uint64_t moved = stats_of(s).slabs_moved;
    put_cls(s, "huge", 4);
    ck_assert_uint_eq(stats_of(s).total_malloced, 4 * PAGE);
    ck_assert_uint_eq(stats_of(s).slabs_moved, moved);
    ck_assert_uint_eq(atomic_load(&s->pages_used), 8);
    store_destroy(s);
}
END_TEST

START_TEST(test_background_thread)
{
    /* the thread finishes a reassign on its own and stops with the store */
    store *s = mk(16 * PAGE);
    two_pages(s);
    char err[FX_ERR_MAX];
    ck_assert_int_eq(store_start_background(s, err, sizeof(err)), 0);
    ck_assert_int_eq(store_slab_reassign(s, CLASS_SMALL, 2), STORE_REASSIGN_OK);
    for (int i = 0; i < 2000 && stats_of(s).slabs_moved == 0; i++) {
        struct timespec ms = { 0, 1000000 };
        nanosleep(&ms, NULL);
    }
    ck_assert_uint_eq(stats_of(s).slabs_moved, 1);
    ck_assert_uint_eq(class_stats_of(s, 2).total_pages, 1);
    store_set_automove(s, AUTOMOVE_AGGRESSIVE);
    ck_assert_uint_eq(store_automove(s), AUTOMOVE_AGGRESSIVE);
    store_set_automove(s, 7);
    ck_assert_uint_eq(store_automove(s), AUTOMOVE_AGGRESSIVE);
    store_destroy(s);
}
END_TEST

/* ---- automove ---- */

#define AUTOMOVE_ROUNDS 40
#define AUTOMOVE_PAUSE_MS 30    /* above the mover's sampling tick */

static void sleep_ms(long ms)
{
    struct timespec t = { ms / 1000, (ms % 1000) * 1000000L };
    nanosleep(&t, NULL);
}

/* Stores n new keys of cls named tag.<counter> (evicting once memory is full). */
static void churn(store *s, unsigned cls, const char *tag, unsigned n, unsigned *counter)
{
    char k[32];
    for (unsigned i = 0; i < n; i++) {
        snprintf(k, sizeof(k), "%s.%u", tag, (*counter)++);
        put_cls(s, k, cls);
    }
}

/* Rounds of: churn the evicting classes, wait a sample, run the mover. */
static void automove_rounds(store *s, bool churn_small)
{
    unsigned small = 0, next = 0;
    for (int r = 0; r < AUTOMOVE_ROUNDS; r++) {
        churn(s, CLASS_NEXT, "n", 30, &next);
        if (churn_small)
            churn(s, CLASS_SMALL, "s", 60, &small);
        sleep_ms(AUTOMOVE_PAUSE_MS);
        run_mover(s);
    }
}

START_TEST(test_automove_follows_a_size_shift)
{
    store *s = mk(8 * PAGE);
    store_set_automove(s, AUTOMOVE_OURS);
    unsigned small = 0;
    churn(s, CLASS_SMALL, "s", 6 * store_class_per_page(s, CLASS_SMALL), &small);
    clock_advance(100);             /* nobody reads the small ones any more */
    automove_rounds(s, false);
    struct store_stats ss = stats_of(s);
    ck_assert_uint_ge(ss.slabs_moved, 3);
    ck_assert_uint_ge(class_stats_of(s, CLASS_NEXT).total_pages, 4);
    ck_assert_uint_ge(class_stats_of(s, CLASS_SMALL).total_pages, 1);
    store_destroy(s);
}
END_TEST

START_TEST(test_automove_steady_mix_stays)
{
    /* both classes evict all along: no page moves either way */
    store *s = mk(8 * PAGE);
    store_set_automove(s, AUTOMOVE_OURS);
    unsigned small = 0, next = 0;
    churn(s, CLASS_SMALL, "s", 4 * store_class_per_page(s, CLASS_SMALL), &small);
    churn(s, CLASS_NEXT, "n", 4 * store_class_per_page(s, CLASS_NEXT), &next);
    automove_rounds(s, true);
    ck_assert_uint_eq(stats_of(s).slabs_moved, 0);
    store_destroy(s);
}
END_TEST

START_TEST(test_automove_aggressive_moves_on_any_eviction)
{
    store *s = mk(8 * PAGE);
    store_set_automove(s, AUTOMOVE_AGGRESSIVE);
    unsigned small = 0, next = 0;
    churn(s, CLASS_SMALL, "s", 4 * store_class_per_page(s, CLASS_SMALL), &small);
    churn(s, CLASS_NEXT, "n", 4 * store_class_per_page(s, CLASS_NEXT), &next);
    automove_rounds(s, true);
    ck_assert_uint_gt(stats_of(s).slabs_moved, 0);
    store_destroy(s);
}
END_TEST

/* ---- the race ---- */

struct race {
    store *s;
    _Atomic bool stop;
    _Atomic long hits, bad;
};

static uint64_t rnd(uint64_t *x)
{
    *x ^= *x << 13;
    *x ^= *x >> 7;
    *x ^= *x << 17;
    return *x;
}

/* A value of class 1 or 2 made of the key's number and a writer's stamp:
 * "<key>|<stamp>|" repeated, so a torn or misplaced value shows. */
static size_t race_value(char *buf, size_t n, const char *key, unsigned stamp)
{
    char unit[32];
    int u = snprintf(unit, sizeof(unit), "%s|%u|", key, stamp);
    for (size_t i = 0; i < n; i++)
        buf[i] = unit[i % (size_t)u];
    return n;
}

/* "<key>|<stamp>|" repeated: starts with the key, then repeats its unit. */
static bool race_value_ok(const char *v, size_t n, const char *key)
{
    size_t nk = strlen(key);
    if (n < nk + 2 || memcmp(v, key, nk) != 0 || v[nk] != '|')
        return false;
    const char *bar = memchr(v + nk + 1, '|', n - nk - 1);
    if (bar == NULL)
        return false;
    size_t u = (size_t)(bar - v) + 1;
    for (size_t i = u; i < n; i++)
        if (v[i] != v[i % u])
            return false;
    return true;
}

static void *race_worker(void *arg)
{
    struct race *r = arg;
    uint64_t x = (uint64_t)(uintptr_t)&x | 1;
    char key[16], buf[PAGE];
    unsigned stamp = 0;
    while (!atomic_load(&r->stop)) {
        uint64_t v = rnd(&x);
        snprintf(key, sizeof(key), "r%03u", (unsigned)(v % RACE_KEYS));
        unsigned op = (unsigned)(v >> 8) % 8;
        if (op < 4) {
            item *it = store_get(r->s, key, strlen(key), NULL);
            if (it == NULL)
                continue;
            atomic_fetch_add(&r->hits, 1);
            item_value_read(r->s, it, 0, buf, item_nvalue(it));
            if (!race_value_ok(buf, item_nvalue(it), key))
                atomic_fetch_add(&r->bad, 1);
            store_release(r->s, it);
        } else if (op < 7) {
            unsigned cls = (v >> 16) % 2 ? CLASS_SMALL : CLASS_NEXT;
            size_t n = fill_of(r->s, cls, strlen(key));
            item *it = store_item_alloc(r->s, key, strlen(key), 0, 0, n, NULL);
            if (it == NULL)
                continue;
            race_value(buf, n, key, ++stamp);
            item_value_write(r->s, it, 0, buf, n);
            store_commit(r->s, it, STORE_SET, 0, NULL);
        } else {
            store_delete(r->s, key, strlen(key), 0, NULL);
        }
    }
    return NULL;
}

static void *race_mover(void *arg)
{
    struct race *r = arg;
    int dir = 0;
    while (!atomic_load(&r->stop)) {
        int src = dir ? CLASS_NEXT : CLASS_SMALL;
        store_slab_reassign(r->s, src, dir ? CLASS_SMALL : CLASS_NEXT);
        for (int i = 0; i < RACE_MOVE_STEPS; i++)
            mover_work(r->s);
        dir = !dir;
    }
    return NULL;
}

START_TEST(test_race_moves_against_workers)
{
    store *s = mk(6 * PAGE);
    struct race r = { .s = s };
    pthread_t w[RACE_THREADS], m;
    for (int i = 0; i < RACE_THREADS; i++)
        ck_assert_int_eq(pthread_create(&w[i], NULL, race_worker, &r), 0);
    ck_assert_int_eq(pthread_create(&m, NULL, race_mover, &r), 0);
    struct timespec run = { RACE_MS / 1000, (RACE_MS % 1000) * 1000000L };
    nanosleep(&run, NULL);
    atomic_store(&r.stop, true);
    for (int i = 0; i < RACE_THREADS; i++)
        pthread_join(w[i], NULL);
    pthread_join(m, NULL);
    ck_assert_int_eq(atomic_load(&r.bad), 0);
    ck_assert_int_gt(atomic_load(&r.hits), 0);
    struct store_stats ss = stats_of(s);
    ck_assert_uint_gt(ss.slabs_moved, 0);
    ck_assert_uint_le(ss.total_malloced, 6 * PAGE);
    /* every item still linked reads back intact */
    char key[16], buf[PAGE];
    for (unsigned i = 0; i < RACE_KEYS; i++) {
        snprintf(key, sizeof(key), "r%03u", i);
        item *it = store_get(s, key, strlen(key), NULL);
        if (it == NULL)
            continue;
        item_value_read(s, it, 0, buf, item_nvalue(it));
        ck_assert(race_value_ok(buf, item_nvalue(it), key));
        store_release(s, it);
    }
    store_destroy(s);
}
END_TEST

int main(void)
{
    clock_init();
    Suite *s = suite_create("mover");
    TCase *tc = tcase_create("moves");
    tcase_add_test(tc, test_drain_live_free_referenced);
    tcase_add_test(tc, test_free_chunks_met_by_allocation);
    tcase_add_test(tc, test_reassign_results);
    tcase_add_test(tc, test_pool_page_taken_first);
    tcase_add_test(tc, test_alloc_takes_page_from_oldest_tail);
    tcase_add_test(tc, test_alloc_leaves_busy_move_to_mover);
    tcase_add_test(tc, test_class_with_pages_does_not_steal);
    tcase_add_test(tc, test_no_evict_never_takes_a_page);
    tcase_add_test(tc, test_data_chunk_evicted_through_head);
    tcase_add_test(tc, test_limit_lowered_and_raised);
    suite_add_tcase(s, tc);
    TCase *ta = tcase_create("automove");
    tcase_set_timeout(ta, 60);
    tcase_add_test(ta, test_automove_follows_a_size_shift);
    tcase_add_test(ta, test_automove_steady_mix_stays);
    tcase_add_test(ta, test_automove_aggressive_moves_on_any_eviction);
    suite_add_tcase(s, ta);
    TCase *tt = tcase_create("threads");
    tcase_set_timeout(tt, 60);
    tcase_add_test(tt, test_background_thread);
    tcase_add_test(tt, test_race_moves_against_workers);
    suite_add_tcase(s, tt);
    return fx_run_suite(s);
}
