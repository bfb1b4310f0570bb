/*
 * check_refcap: the 16-bit refcount's cap (slabs/internal.h, "References").
 * A reader's reference is refused once IT_REF_READER_MAX are held: the get
 * (or lookup) sees a miss, nothing is vivified over the held item, a page
 * mover's pin is refused too (busy), and the count never passes the cap nor
 * wraps. Releasing one reference makes the item readable again. A threaded
 * case takes more references than the cap from several threads at once
 * (run under TSan by the tsan build) and checks the exact count that got in.
 */
#include <check.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
#include "slabs/internal.h"
#include "slabs/store.h"
#include "t/unit/fixture.h"

#define MB (1024u * 1024u)
#define KEY "held"
#define VALUE "value"
#define THREADS 4
/* Each thread's attempts: together more than the cap, each alone fewer. */
#define PER_THREAD 20000u
_Static_assert(THREADS * PER_THREAD > IT_REF_READER_MAX, "the threads must overrun the cap");

static store *st;

static void setup(void)
{
    clock_init();
    struct store_config c;
    store_config_defaults(&c);
    c.mem_limit = 2 * MB;
    c.page_size = MB;
    c.hash_power = 6;
    st = fx_store_create(&c);
    item *it = store_item_alloc(st, KEY, strlen(KEY), 0, 0, strlen(VALUE), NULL);
    ck_assert_ptr_nonnull(it);
    memcpy(item_value_mut(it), VALUE, strlen(VALUE));
    ck_assert_int_eq(store_commit(st, it, STORE_SET, 0, NULL), STORE_OK);
}

static void teardown(void)
{
    store_destroy(st);
}

static unsigned refs(const item *it)
{
    return atomic_load(&((item *)it)->refcount);
}

static item *get(enum store_miss *why)
{
    return store_get(st, KEY, strlen(KEY), why);
}

/* Takes references until one is refused; returns them in held[]. */
static size_t take_all(item **held, size_t cap)
{
    size_t n = 0;
    item *it;
    while (n < cap && (it = get(NULL)) != NULL)
        held[n++] = it;
    return n;
}

static void release_all(item **held, size_t n)
{
    for (size_t i = 0; i < n; i++)
        store_release(st, held[i]);
}

START_TEST(test_reader_refused_at_cap)
{
    item **held = calloc(IT_REF_MAX + 1u, sizeof(*held));
    ck_assert_ptr_nonnull(held);
    size_t n = take_all(held, IT_REF_MAX + 1u);
    /* The link holds one: readers get the rest up to the cap, no more. */
    ck_assert_uint_eq(n, IT_REF_READER_MAX - 1u);
    item *it = held[0];
    ck_assert_uint_eq(refs(it), IT_REF_READER_MAX);

    enum store_miss why = STORE_HIT;
    ck_assert_ptr_null(get(&why));
    ck_assert_int_eq(why, STORE_MISS);
    ck_assert_ptr_null(store_get_touch(st, KEY, strlen(KEY), 100, &why));
    ck_assert_int_eq(why, STORE_MISS);
    ck_assert_uint_eq(item_exptime(it), 0);      /* the refused touch changed nothing */

    /* A vivifying lookup is refused and does not replace the held item. */
    struct store_lookup_opts opt = {.vivify = true};
    struct store_lookup_before before;
    ck_assert_ptr_null(store_lookup(st, KEY, strlen(KEY), &opt, &before, &why));
    ck_assert_int_eq(why, STORE_MISS);
    ck_assert(!before.created);

    ck_assert(!it_try_pin(it));                  /* the mover sees it busy */
    ck_assert_uint_eq(refs(it), IT_REF_READER_MAX);

    /* One released: one reader gets in again, and the value is intact. */
    store_release(st, held[--n]);
    item *again = get(&why);
    ck_assert_ptr_eq(again, it);
    ck_assert_int_eq(why, STORE_HIT);
    ck_assert_mem_eq(item_value(again), VALUE, strlen(VALUE));
    store_release(st, again);

    release_all(held, n);
    ck_assert_uint_eq(refs(it), 1);              /* only the link again */
    ck_assert(it_try_pin(it));                   /* and pinnable */
    store_release(st, it);
    free(held);
}
END_TEST

/* The store's own references (the link, a read-modify-write's hold on the
 * old item) fit in the reserve above the readers' cap: an append on an item
 * readers hold to the cap still works. */
START_TEST(test_store_references_use_the_reserve)
{
    item **held = calloc(IT_REF_READER_MAX, sizeof(*held));
    ck_assert_ptr_nonnull(held);
    size_t n = take_all(held, IT_REF_READER_MAX);
    ck_assert_uint_eq(n, IT_REF_READER_MAX - 1u);

    item *add = store_item_alloc(st, KEY, strlen(KEY), 0, 0, 1, NULL);
    ck_assert_ptr_nonnull(add);
    memcpy(item_value_mut(add), "!", 1);
    ck_assert_int_eq(store_commit(st, add, STORE_APPEND, 0, NULL), STORE_OK);
    ck_assert_uint_eq(refs(held[0]), IT_REF_READER_MAX - 1u);   /* unlinked: the link went */

    item *now = get(NULL);
    ck_assert_ptr_nonnull(now);
    ck_assert_uint_eq(item_nvalue(now), strlen(VALUE) + 1);
    store_release(st, now);
    release_all(held, n);
    free(held);
}
END_TEST

struct taker {
    pthread_barrier_t *all_taken;
    size_t got;
    item *held[PER_THREAD];
};

/* Takes PER_THREAD references (or as many as are granted), waits for the
 * others to have done the same, then lets them all go. */
static void *take_then_release(void *arg)
{
    struct taker *t = arg;
    for (unsigned i = 0; i < PER_THREAD; i++) {
        item *it = get(NULL);
        if (it != NULL)
            t->held[t->got++] = it;
    }
    pthread_barrier_wait(t->all_taken);
    release_all(t->held, t->got);
    return NULL;
}

START_TEST(test_threads_never_pass_cap)
{
    pthread_barrier_t all_taken;
    pthread_barrier_init(&all_taken, NULL, THREADS);
    struct taker *t = calloc(THREADS, sizeof(*t));
    ck_assert_ptr_nonnull(t);
    pthread_t tid[THREADS];
    for (int i = 0; i < THREADS; i++) {
        t[i].all_taken = &all_taken;
        ck_assert_int_eq(pthread_create(&tid[i], NULL, take_then_release, &t[i]), 0);
    }
    size_t got = 0;
    for (int i = 0; i < THREADS; i++) {
        ck_assert_int_eq(pthread_join(tid[i], NULL), 0);
        got += t[i].got;
    }
    /* Every reference was held when the last attempt was made: exactly the
     * readers' share of the cap got in. */
    ck_assert_uint_eq(got, IT_REF_READER_MAX - 1u);
    item *it = get(NULL);
    ck_assert_ptr_nonnull(it);
    ck_assert_uint_eq(refs(it), 2);              /* the link and ours */
    store_release(st, it);
    pthread_barrier_destroy(&all_taken);
    free(t);
}
END_TEST

static Suite *refcap_suite(void)
{
    Suite *s = suite_create("refcap");
    TCase *tc = tcase_create("cap");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_reader_refused_at_cap);
    tcase_add_test(tc, test_store_references_use_the_reserve);
    tcase_add_test(tc, test_threads_never_pass_cap);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return fx_run_suite(refcap_suite());
}
