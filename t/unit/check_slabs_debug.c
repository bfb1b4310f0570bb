/*
 * check_slabs_debug: the invariant checks of slabs/internal.h (SLABS_CHECK).
 *
 * In every build: a chunk's legal life cycle (allocated -> linked ->
 * unlinked -> free -> allocated again) with the flags and refcounts the
 * life-cycle picture in internal.h promises, and what SLABS_CHECK costs: in
 * a plain build its condition is not even evaluated.
 *
 * Where SLABS_DEBUG is defined (the --enable-sanitizers and --enable-tsan
 * builds), also that each check fires: the test breaks one invariant by hand
 * and expects the store to abort (Check runs each test in a child process).
 * With CK_FORK=no those tests are left out, since an abort would end the run.
 */
#include <check.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
#include "slabs/internal.h"
#include "t/unit/fixture.h"

#define KB 1024u
#define NVALUE 10
/* 1 KB pages, factor 2: classes of 88, 176, 352 and 1024 bytes. */
#define CLS_SMALL 1
#define CLS_OTHER 2
#define PAGES 4

static store *mk(void)
{
    struct store_config c;
    store_config_defaults(&c);
    c.mem_limit = PAGES * KB;
    c.page_size = KB;
    c.factor = 2.0;
    c.hash_power = 6;
    clock_init();
    return fx_store_create(&c);
}

/* An unlinked item for key with NVALUE bytes of 'v' (refcount 1). */
static item *alloc(store *s, const char *key)
{
    enum store_result why = STORE_OK;
    item *it = store_item_alloc(s, key, strlen(key), 0, 0, NVALUE, &why);
    ck_assert_ptr_nonnull(it);
    memset(item_value_mut(it), 'v', NVALUE);
    return it;
}

static uint8_t flags_of(item *it)
{
    return atomic_load(&it->iflags);
}

static uint32_t refs_of(item *it)
{
    return atomic_load(&it->refcount);
}

/* ---- every build ---- */

START_TEST(test_life_cycle)
{
    store *s = mk();
    item *it = alloc(s, "k");
    ck_assert_uint_eq(it->cls, CLS_SMALL);
    ck_assert_uint_eq(flags_of(it) & (ITEM_LINKED | ITEM_FREE), 0);
    ck_assert_uint_eq(refs_of(it), 1);                 /* allocated: the caller */

    item *same = it;
    ck_assert_int_eq(store_commit(s, it, STORE_SET, 0, NULL), STORE_OK);
    it = store_get(s, "k", 1, NULL);
    ck_assert_ptr_eq(it, same);
    ck_assert_uint_eq(flags_of(it) & (ITEM_LINKED | ITEM_FREE), ITEM_LINKED);
    ck_assert_uint_eq(refs_of(it), 2);                 /* linked: the link + our get */

    ck_assert_int_eq(store_delete(s, "k", 1, 0, NULL), STORE_OK);
    ck_assert_uint_eq(flags_of(it) & (ITEM_LINKED | ITEM_FREE), 0);
    ck_assert_uint_eq(refs_of(it), 1);                 /* unlinked: our get only */
    ck_assert_uint_eq(s->classes[CLS_SMALL].free_count, 0);

    store_release(s, it);
    ck_assert_uint_eq(flags_of(it), ITEM_FREE);       /* free, and only that */
    ck_assert_uint_eq(refs_of(it), 0);
    ck_assert_uint_eq(s->classes[CLS_SMALL].free_count, 1);

    item *again = alloc(s, "k2");                      /* the free list is LIFO */
    ck_assert_ptr_eq(again, same);
    ck_assert_uint_eq(flags_of(again) & (ITEM_LINKED | ITEM_FREE), 0);
    ck_assert_uint_eq(refs_of(again), 1);
    ck_assert_uint_eq(s->classes[CLS_SMALL].free_count, 0);
    store_release(s, again);
    store_destroy(s);
}
END_TEST

START_TEST(test_check_cost)
{
    int evaluated = 0;
    SLABS_CHECK(++evaluated == 1);
#ifdef SLABS_DEBUG
    ck_assert_int_eq(evaluated, 1);
#else
    ck_assert_int_eq(evaluated, 0);     /* compiled out: not even evaluated */
#endif
}
END_TEST

/* ---- SLABS_DEBUG builds: each check fires (the test must abort) ---- */

#ifdef SLABS_DEBUG

START_TEST(test_release_twice_aborts)
{
    store *s = mk();
    item *it = alloc(s, "k");
    store_release(s, it);
    store_release(s, it);                              /* refcount underflow */
}
END_TEST

START_TEST(test_double_free_aborts)
{
    store *s = mk();
    item *it = alloc(s, "k");
    size_t size = store_item_total_size(s, it);
    store_release(s, it);                              /* now on the free list */
    slab_free(s, it, size);
}
END_TEST

START_TEST(test_free_linked_aborts)
{
    store *s = mk();
    ck_assert_int_eq(store_commit(s, alloc(s, "k"), STORE_SET, 0, NULL), STORE_OK);
    item *it = store_get(s, "k", 1, NULL);
    atomic_store(&it->refcount, 0);                    /* as if every reference went */
    slab_free(s, it, store_item_total_size(s, it));    /* but it is still linked */
}
END_TEST

START_TEST(test_linked_on_free_list_aborts)
{
    store *s = mk();
    item *it = alloc(s, "k");
    store_release(s, it);
    atomic_fetch_or(&it->iflags, ITEM_LINKED);         /* a free chunk marked linked */
    alloc(s, "k2");                                    /* takes it off the free list */
}
END_TEST

START_TEST(test_wrong_class_aborts)
{
    store *s = mk();
    alloc(s, "other");                                 /* class 1 has the first page */
    item *it = alloc(s, "k");
    it->cls = CLS_OTHER;                               /* its page is class 1's */
    store_release(s, it);
}
END_TEST

START_TEST(test_chunk_of_no_page_aborts)
{
    store *s = mk();
    alloc(s, "k");                                     /* one page handed out */
    item *fake = (item *)(s->arena + (PAGES - 1) * KB);   /* a page never handed out */
    fake->cls = CLS_SMALL;
    slab_free(s, fake, 0);
}
END_TEST

#endif

static Suite *slabs_debug_suite(void)
{
    Suite *s = suite_create("slabs_debug");
    TCase *tc = tcase_create("life cycle");
    tcase_add_test(tc, test_life_cycle);
    tcase_add_test(tc, test_check_cost);
    suite_add_tcase(s, tc);
#ifdef SLABS_DEBUG
    const char *fork = getenv("CK_FORK");
    if (fork == NULL || strcmp(fork, "no") != 0) {
        tc = tcase_create("checks fire");
        tcase_add_test_raise_signal(tc, test_release_twice_aborts, SIGABRT);
        tcase_add_test_raise_signal(tc, test_double_free_aborts, SIGABRT);
        tcase_add_test_raise_signal(tc, test_free_linked_aborts, SIGABRT);
        tcase_add_test_raise_signal(tc, test_linked_on_free_list_aborts, SIGABRT);
        tcase_add_test_raise_signal(tc, test_wrong_class_aborts, SIGABRT);
        tcase_add_test_raise_signal(tc, test_chunk_of_no_page_aborts, SIGABRT);
        suite_add_tcase(s, tc);
    }
#endif
    return s;
}

int main(void)
{
    return fx_run_suite(slabs_debug_suite());
}
