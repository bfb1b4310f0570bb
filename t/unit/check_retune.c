/*
 * check_retune: the run-time class table switch (store_slab_retune and the
 * auto trigger, slabs/mover.c; slab_classes_append, slabs/slab.c).
 *
 * A retune on a 20-byte workload appends the advised classes, new stores go
 * to them, the mover drains every retired class to the pool while each item
 * stays readable with its value and CAS; a second retune is BUSY while the
 * first drains and NOTHING_TO_DO once the table fits. Under four threads
 * setting and getting (TSan build; the sanitizer builds also run the
 * SLABS_CHECK invariants) nothing read is ever wrong and every key set last
 * is readable after the drain. The auto trigger waits for its item count and
 * interval (the clock advanced) and asks for its margin. slab_class_for
 * gives a search's answer for every size across table switches, whatever
 * its hint holds, and one table's answer to a reader during a switch.
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
#define SMALL 20                /* value bytes: 72-byte items, 18% waste in 88-byte chunks */
#define NKEYS 20000
#define DRAIN_STEPS_MAX 1000000 /* mover_work calls a drain may take, at most */
#define VALUE_CHARS 26

static store *st;

static struct store_config config(void)
{
    struct store_config c;
    store_config_defaults(&c);
    c.mem_limit = 16 * MB;
    c.hash_power = 12;
    return c;
}

static void setup(void)
{
    clock_init();
    struct store_config c = config();
    st = fx_store_create(&c);
}

static void teardown(void)
{
    store_destroy(st);
    st = NULL;
}

static void key_of(int i, char *key, size_t cap)
{
    snprintf(key, cap, "key:%010d", i);
}

/* The value of key i: SMALL bytes of one letter that depends on i. */
static char value_char(int i)
{
    return (char)('a' + i % VALUE_CHARS);
}

static enum store_result set_key(int i, size_t nvalue)
{
    char key[32];
    key_of(i, key, sizeof(key));
    enum store_result why = STORE_OK;
    item *it = store_item_alloc(st, key, strlen(key), 0, 0, nvalue, &why);
    if (it == NULL)
        return why;
    fx_fill(st, it, value_char(i), nvalue);
    return store_commit(st, it, STORE_SET, 0, NULL);
}

/* -1 missing, 0 wrong, 1 right (value and length). */
static int get_key(int i, size_t nvalue)
{
    char key[32];
    key_of(i, key, sizeof(key));
    item *it = store_get(st, key, strlen(key), NULL);
    if (it == NULL)
        return -1;
    int ok = item_nvalue(it) == nvalue;
    for (size_t b = 0; ok && b < nvalue; b++)
        ok = item_value(it)[b] == value_char(i);
    store_release(st, it);
    return ok;
}

static uint64_t retired_pages(void)
{
    uint64_t n = 0;
    for (unsigned c = 1; c < slab_live_first(st); c++) {
        struct store_class_stats cs;
        store_class_stats(st, c, &cs);
        n += cs.total_pages;
    }
    return n;
}

/* Runs the mover's steps until no retired class holds a page. */
static void drain(void)
{
    for (int i = 0; i < DRAIN_STEPS_MAX && retired_pages() > 0; i++)
        mover_work(st);
    ck_assert_uint_eq(retired_pages(), 0);
}

START_TEST(retune_moves_items_into_the_advised_classes)
{
    for (int i = 0; i < NKEYS; i++)
        ck_assert_int_eq(set_key(i, SMALL), STORE_OK);
    unsigned before = slab_nclasses(st);
    struct store_advice a;
    ck_assert(store_advise(st, &a));
    ck_assert_int_eq(store_slab_retune(st), STORE_RETUNE_OK);
    ck_assert_uint_eq(slab_live_first(st), before + 1);
    ck_assert_uint_eq(slab_nclasses(st), before + a.free_form.classes);
    ck_assert_int_eq(store_slab_retune(st), STORE_RETUNE_BUSY);
    /* a new store goes to a live class */
    ck_assert_int_eq(set_key(NKEYS, SMALL), STORE_OK);
    drain();
    struct store_stats ss;
    store_stats(st, &ss);
    ck_assert_uint_eq(ss.slab_retunes, 1);
    ck_assert_uint_gt(ss.slab_retune_last, 0);
    ck_assert(ss.slab_retune_waste_after_pct < ss.slab_retune_waste_before_pct);
    ck_assert_uint_eq(ss.evictions + ss.slab_reassign_evictions_nomem, 0);
    ck_assert_uint_gt(ss.slab_reassign_rescues, 0);
    for (int i = 0; i <= NKEYS; i++)
        ck_assert_int_eq(get_key(i, SMALL), 1);
    /* the waste the advisor promised is the waste reached */
    struct store_advice now;
    ck_assert(store_advise(st, &now));
    ck_assert_double_eq_tol(now.current.waste_pct, a.free_form.waste_pct, 0.01);
    ck_assert_int_eq(store_slab_retune(st), STORE_RETUNE_NOTHING);
}
END_TEST

START_TEST(retune_keeps_cas)
{
    ck_assert_int_eq(set_key(1, SMALL), STORE_OK);
    for (int i = 2; i < NKEYS; i++)
        ck_assert_int_eq(set_key(i, SMALL), STORE_OK);
    item *it = store_get(st, "key:0000000001", 14, NULL);
    ck_assert_ptr_nonnull(it);
    uint64_t cas = item_cas(it);
    unsigned cls = item_class(it);
    store_release(st, it);
    ck_assert_int_eq(store_slab_retune(st), STORE_RETUNE_OK);
    drain();
    it = store_get(st, "key:0000000001", 14, NULL);
    ck_assert_ptr_nonnull(it);
    ck_assert_uint_eq(item_cas(it), cas);
    ck_assert_uint_ne(item_class(it), cls);
    store_release(st, it);
}
END_TEST

/* ---- under threads ---- */

#define THREADS 4               /* two set, two get */
#define RACE_KEYS 4000
#define RACE_ROUNDS 6

static _Atomic bool race_stop;
static _Atomic uint64_t race_wrong;

/* Sets its half of the keys, round after round, until told to stop. */
static void *race_setter(void *arg)
{
    int half = (int)(uintptr_t)arg;
    for (int round = 0; !atomic_load(&race_stop) || round < 1; round++)
        for (int i = half; i < RACE_KEYS; i += 2)
            set_key(i, SMALL);
    return NULL;
}

/* Gets every key over and over: a hit must hold the key's value. */
static void *race_getter(void *arg)
{
    (void)arg;
    while (!atomic_load(&race_stop))
        for (int i = 0; i < RACE_KEYS; i++)
            if (get_key(i, SMALL) == 0)
                atomic_fetch_add(&race_wrong, 1);
    return NULL;
}

START_TEST(retune_under_concurrent_sets_and_gets)
{
    for (int i = 0; i < RACE_KEYS; i++)
        ck_assert_int_eq(set_key(i, SMALL), STORE_OK);
    atomic_store(&race_stop, false);
    atomic_store(&race_wrong, 0);
    pthread_t t[THREADS];
    for (uintptr_t i = 0; i < THREADS; i++)
        ck_assert_int_eq(pthread_create(&t[i], NULL, i < 2 ? race_setter : race_getter,
                                        (void *)i), 0);
    enum store_retune r = STORE_RETUNE_BUSY;
    for (int round = 0; round < RACE_ROUNDS && r != STORE_RETUNE_OK; round++)
        r = store_slab_retune(st);
    ck_assert_int_eq(r, STORE_RETUNE_OK);
    drain();
    atomic_store(&race_stop, true);
    for (int i = 0; i < THREADS; i++)
        pthread_join(t[i], NULL);
    drain();   /* a setter that read the old range may have filled a retired class */
    ck_assert_uint_eq(atomic_load(&race_wrong), 0);
    for (int i = 0; i < RACE_KEYS; i++)
        ck_assert_int_eq(get_key(i, SMALL), 1);
}
END_TEST

/* ---- the auto trigger ---- */

#define AUTO_INTERVAL 60
#define AUTO_MIN_ITEMS 5000

static void auto_store(double min_gain_pct, double min_gain_ratio)
{
    store_destroy(st);
    struct store_config c = config();
    c.retune_auto = true;
    c.retune_interval = AUTO_INTERVAL;
    c.retune_min_items = AUTO_MIN_ITEMS;
    c.retune_min_gain_pct = min_gain_pct;
    c.retune_min_gain_ratio = min_gain_ratio;
    st = fx_store_create(&c);
}

static uint64_t retunes(void)
{
    struct store_stats ss;
    store_stats(st, &ss);
    return ss.slab_retunes;
}

START_TEST(auto_waits_for_items_and_interval)
{
    auto_store(RETUNE_MIN_GAIN_PCT_DEFAULT, RETUNE_MIN_GAIN_RATIO_DEFAULT);
    for (int i = 0; i < AUTO_MIN_ITEMS / 2; i++)
        ck_assert_int_eq(set_key(i, SMALL), STORE_OK);
    clock_advance(AUTO_INTERVAL);
    mover_work(st);
    ck_assert_uint_eq(retunes(), 0);     /* too few items */
    for (int i = AUTO_MIN_ITEMS / 2; i < AUTO_MIN_ITEMS; i++)
        ck_assert_int_eq(set_key(i, SMALL), STORE_OK);
    mover_work(st);
    ck_assert_uint_eq(retunes(), 0);     /* looked a moment ago */
    clock_advance(AUTO_INTERVAL);
    mover_work(st);
    ck_assert_uint_eq(retunes(), 1);
    drain();
    for (int i = 0; i < AUTO_MIN_ITEMS; i++)
        ck_assert_int_eq(get_key(i, SMALL), 1);
    /* the table fits now: later looks find nothing worth a switch */
    clock_advance(AUTO_INTERVAL);
    mover_work(st);
    ck_assert_uint_eq(retunes(), 1);
}
END_TEST

/* 20-byte values waste about 16 points of an 88-byte chunk, and the
 * advised table nearly none: a gain of 16 points, all of the waste. */
#define GAIN_TOO_MANY_POINTS 50.0
#define GAIN_MORE_THAN_ALL 1.01

static void auto_fill_and_look(void)
{
    for (int i = 0; i < AUTO_MIN_ITEMS; i++)
        ck_assert_int_eq(set_key(i, SMALL), STORE_OK);
    clock_advance(AUTO_INTERVAL);
    mover_work(st);
}

START_TEST(auto_asks_for_its_margin_in_points)
{
    auto_store(GAIN_TOO_MANY_POINTS, 0.0);
    auto_fill_and_look();
    ck_assert_uint_eq(retunes(), 0);
    ck_assert_int_eq(store_slab_retune(st), STORE_RETUNE_OK);   /* by hand: any gain */
}
END_TEST

START_TEST(auto_asks_for_its_margin_relative)
{
    auto_store(0.0, GAIN_MORE_THAN_ALL);
    auto_fill_and_look();
    ck_assert_uint_eq(retunes(), 0);
}
END_TEST

/* ---- slab_class_for: the hint never changes the answer ---- */

/* The class a linear scan of the live table gives nbytes (0: none holds it). */
static unsigned model_class_for(unsigned lo, unsigned hi, size_t nbytes)
{
    for (unsigned c = lo; nbytes > 0 && c <= hi; c++)
        if (st->classes[c].size >= nbytes)
            return c;
    return 0;
}

/* Every size up to past the largest chunk gets the scan's class. */
static void class_for_like_model(void)
{
    unsigned lo, hi;
    slab_live_range(st, &lo, &hi);
    size_t top = st->classes[hi].size + 2 * CHUNK_ALIGN;
    for (size_t n = 0; n <= top; n++)
        ck_assert_uint_eq(slab_class_for(st, n), model_class_for(lo, hi, n));
}

/* A table of its own ids: sizes some not multiples of CHUNK_ALIGN (a slot
 * of the hint then spans two classes), the last the store's chunk_max. */
static void append_table(const uint32_t *head, unsigned n)
{
    uint32_t sizes[CLASS_MAX];
    memcpy(sizes, head, n * sizeof(*head));
    sizes[n] = st->classes[slab_nclasses(st)].size;
    pthread_mutex_lock(&st->mover.lock);
    ck_assert(slab_classes_append(st, sizes, n + 1));
    pthread_mutex_unlock(&st->mover.lock);
}

static const uint32_t table_a[] = { 48, 100, 101, 260, 1000, 4100, 16384 };
static const uint32_t table_b[] = { 64, 72, 5000 };

START_TEST(class_for_matches_a_search_across_retunes)
{
    class_for_like_model();
    append_table(table_a, sizeof(table_a) / sizeof(table_a[0]));
    class_for_like_model();
    append_table(table_b, sizeof(table_b) / sizeof(table_b[0]));
    class_for_like_model();
}
END_TEST

START_TEST(class_for_checks_its_hint)
{
    append_table(table_a, sizeof(table_a) / sizeof(table_a[0]));
    unsigned lo, hi;
    slab_live_range(st, &lo, &hi);
    /* a retired class, one past the table, a class too small, too large */
    const uint8_t wrong[] = { 0, (uint8_t)(lo - 1), (uint8_t)(hi + 1), (uint8_t)lo,
                              (uint8_t)hi, UINT8_MAX };
    for (size_t w = 0; w < sizeof(wrong); w++) {
        for (size_t i = 0; i < CLASS_HINT_SLOTS; i++)
            atomic_store(&st->class_hint[i], wrong[w]);
        class_for_like_model();
    }
}
END_TEST

/* A reader sizing items while tables switch sees one table's answer. */
#define HINT_READER_ROUNDS 200
struct hint_reader {
    unsigned tables;                 /* ranges below */
    unsigned lo[3], hi[3];
    _Atomic bool stop;
    bool wrong;
};

static void *hint_reader_main(void *arg)
{
    struct hint_reader *r = arg;
    for (int round = 0; round < HINT_READER_ROUNDS || !atomic_load(&r->stop); round++)
        for (size_t n = 1; n <= CLASS_HINT_MAX + CHUNK_ALIGN; n++) {
            unsigned c = slab_class_for(st, n);
            bool seen = false;
            for (unsigned t = 0; t < r->tables; t++)
                seen = seen || c == model_class_for(r->lo[t], r->hi[t], n);
            r->wrong = r->wrong || !seen;
        }
    return NULL;
}

START_TEST(class_for_during_retunes)
{
    /* the ranges the tables will have: ids are appended in order */
    struct hint_reader r = { .tables = 3 };
    slab_live_range(st, &r.lo[0], &r.hi[0]);
    r.lo[1] = r.hi[0] + 1;
    r.hi[1] = r.lo[1] + (unsigned)(sizeof(table_a) / sizeof(table_a[0]));
    r.lo[2] = r.hi[1] + 1;
    r.hi[2] = r.lo[2] + (unsigned)(sizeof(table_b) / sizeof(table_b[0]));
    atomic_init(&r.stop, false);
    pthread_t th;
    ck_assert_int_eq(pthread_create(&th, NULL, hint_reader_main, &r), 0);
    append_table(table_a, sizeof(table_a) / sizeof(table_a[0]));
    append_table(table_b, sizeof(table_b) / sizeof(table_b[0]));
    atomic_store(&r.stop, true);
    pthread_join(th, NULL);
    ck_assert(!r.wrong);
    unsigned lo, hi;
    slab_live_range(st, &lo, &hi);
    ck_assert_uint_eq(lo, r.lo[2]);
    ck_assert_uint_eq(hi, r.hi[2]);
}
END_TEST

static Suite *retune_suite(void)
{
    Suite *s = suite_create("retune");
    TCase *t = tcase_create("retune");
    tcase_add_checked_fixture(t, setup, teardown);
    tcase_set_timeout(t, 120);
    tcase_add_test(t, retune_moves_items_into_the_advised_classes);
    tcase_add_test(t, retune_keeps_cas);
    tcase_add_test(t, retune_under_concurrent_sets_and_gets);
    tcase_add_test(t, auto_waits_for_items_and_interval);
    tcase_add_test(t, auto_asks_for_its_margin_in_points);
    tcase_add_test(t, auto_asks_for_its_margin_relative);
    tcase_add_test(t, class_for_matches_a_search_across_retunes);
    tcase_add_test(t, class_for_checks_its_hint);
    tcase_add_test(t, class_for_during_retunes);
    suite_add_tcase(s, t);
    return s;
}

int main(void)
{
    return fx_run_suite(retune_suite());
}
