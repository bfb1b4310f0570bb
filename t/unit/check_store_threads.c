/*
 * check_store_threads: 4 threads hammer get/set/delete/append/prepend/incr on
 * overlapping keys for a bounded time. Values are self-checking: a value is a
 * run of segments "<key>:<thread>:<counter>:<pad>:<sum>;" where <sum> is a
 * checksum of the segment before it, so every hit must be made only of
 * segments some thread wrote for that very key. A shared counter key is
 * incremented by all threads and must end at the total. A second case runs
 * the same mix in a tiny memory so that evictions race with everything.
 * A third adds to a plain counter under one class lock (struct class_mutex,
 * slabs/internal.h) from every thread, yielding inside it now and then so
 * that the others sleep on it: the sum is exact, the lock ends free, and
 * the TSan build sees the critical sections ordered.
 */
#include <check.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sched.h>
#include <time.h>

#include "common/clock.h"
#include "slabs/internal.h"
#include "t/unit/fixture.h"

#define THREADS 4
#define RUN_MS 1500
#define VALUE_CAP 3000         /* appends stop growing a value past this */
#define KB 1024u
#define MB (1024u * 1024u)

struct ctx {
    store *s;
    unsigned nkeys;
    _Atomic long hits, bad, incrs, ops;
    _Atomic bool stop;
};

struct worker {
    struct ctx *c;
    int id;
};

static uint64_t rnd(uint64_t *x)
{
    *x ^= *x << 13;
    *x ^= *x >> 7;
    *x ^= *x << 17;
    return *x;
}

static uint32_t sum32(const char *p, size_t n)
{
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < n; i++)
        h = (h ^ (unsigned char)p[i]) * 16777619u;
    return h;
}

/* Writes one segment for key into buf; returns its length. */
static size_t segment(char *buf, const char *key, int tid, unsigned long ctr, uint64_t *x)
{
    int n = sprintf(buf, "%s:%d:%lu:", key, tid, ctr);
    unsigned pad = (unsigned)(rnd(x) % 200);
    for (unsigned i = 0; i < pad; i++)
        buf[n++] = (char)('a' + (ctr + i) % 26);
    buf[n++] = ':';
    n += sprintf(buf + n, "%08" PRIx32 ";", sum32(buf, (size_t)n));
    return (size_t)n;
}

/* Every segment of v belongs to key and carries a good checksum. */
static bool value_ok(const char *key, const char *v, size_t n)
{
    size_t klen = strlen(key), pos = 0;
    if (n == 0)
        return false;
    while (pos < n) {
        const char *end = memchr(v + pos, ';', n - pos);
        if (end == NULL)
            return false;
        size_t seg = (size_t)(end - (v + pos)) + 1;
        if (seg < klen + 10 || memcmp(v + pos, key, klen) != 0 || v[pos + klen] != ':')
            return false;
        char want[9];
        snprintf(want, sizeof(want), "%08" PRIx32, sum32(v + pos, seg - 9));
        if (memcmp(v + pos + seg - 9, want, 8) != 0)
            return false;
        pos += seg;
    }
    return true;
}

static void do_store(struct ctx *c, const char *key, enum store_mode mode,
                     int tid, unsigned long ctr, uint64_t *x)
{
    char buf[512];
    size_t n = segment(buf, key, tid, ctr, x);
    item *it = store_item_alloc(c->s, key, strlen(key), (uint32_t)tid, 0, n, NULL);
    if (it == NULL)
        return;   /* out of memory in the small case: fine */
    item_value_write(c->s, it, 0, buf, n);   /* chained when spilled */
    store_commit(c->s, it, mode, 0, NULL);
}

static void do_get(struct ctx *c, const char *key)
{
    item *it = store_get(c->s, key, strlen(key), NULL);
    if (it == NULL)
        return;
    atomic_fetch_add(&c->hits, 1);
    char *v = malloc(item_nvalue(it) + 1);
    item_value_read(c->s, it, 0, v, item_nvalue(it));
    if (!value_ok(key, v, item_nvalue(it)) ||
        item_nkey(it) != strlen(key) || memcmp(item_key(it), key, strlen(key)) != 0)
        atomic_fetch_add(&c->bad, 1);
    free(v);
    bool long_value = item_nvalue(it) > VALUE_CAP;
    store_release(c->s, it);
    if (long_value)
        store_delete(c->s, key, strlen(key), 0, NULL);
}

static void *hammer(void *arg)
{
    struct worker *w = arg;
    struct ctx *c = w->c;
    uint64_t x = 0x9e3779b97f4a7c15ull * (uint64_t)(w->id + 1);
    unsigned long ctr = 0;
    char key[32];
    while (!atomic_load(&c->stop)) {
        ctr++;
        snprintf(key, sizeof(key), "key%u", (unsigned)(rnd(&x) % c->nkeys));
        unsigned op = (unsigned)(rnd(&x) % 100);
        if (op < 45)
            do_get(c, key);
        else if (op < 70)
            do_store(c, key, STORE_SET, w->id, ctr, &x);
        else if (op < 80)
            do_store(c, key, STORE_APPEND, w->id, ctr, &x);
        else if (op < 85)
            do_store(c, key, STORE_PREPEND, w->id, ctr, &x);
        else if (op < 92)
            store_delete(c->s, key, strlen(key), 0, NULL);
        else if (store_arith(c->s, "counter", 7, true, 1, NULL, NULL, NULL) == STORE_OK)
            atomic_fetch_add(&c->incrs, 1);
        atomic_fetch_add(&c->ops, 1);
    }
    return NULL;
}

static void run(struct ctx *c)
{
    pthread_t t[THREADS];
    struct worker w[THREADS];
    for (int i = 0; i < THREADS; i++) {
        w[i] = (struct worker){c, i};
        ck_assert_int_eq(pthread_create(&t[i], NULL, hammer, &w[i]), 0);
    }
    struct timespec ts = {RUN_MS / 1000, (RUN_MS % 1000) * 1000000L};
    nanosleep(&ts, NULL);
    atomic_store(&c->stop, true);
    for (int i = 0; i < THREADS; i++)
        pthread_join(t[i], NULL);
}

static store *mk(uint64_t mem, uint32_t page)
{
    struct store_config cfg;
    store_config_defaults(&cfg);
    cfg.mem_limit = mem;
    cfg.page_size = page;
    cfg.hash_power = 4;    /* small: the table grows while the threads run */
    return fx_store_create(&cfg);
}

static void set_counter(store *s)
{
    item *it = store_item_alloc(s, "counter", 7, 0, 0, 1, NULL);
    ck_assert_ptr_nonnull(it);
    item_value_mut(it)[0] = '0';
    ck_assert_int_eq(store_commit(s, it, STORE_SET, 0, NULL), STORE_OK);
}

/*
 * Sums used chunks and items over all classes; with check_chunks each class
 * must also account for every chunk (used + free = total).
 */
static void class_totals(store *s, uint64_t *used, uint64_t *items, bool check_chunks)
{
    for (unsigned cls = 1; cls <= store_class_count(s); cls++) {
        struct store_class_stats cs;
        store_class_stats(s, cls, &cs);
        *used += cs.used_chunks;
        *items += cs.curr_items;
        if (check_chunks)
            ck_assert_uint_eq(cs.used_chunks + cs.free_chunks, cs.total_chunks);
    }
}

/* Deletes every key the workers use and the counter. */
static void delete_all(struct ctx *c)
{
    char key[32];
    for (unsigned i = 0; i < c->nkeys; i++) {
        snprintf(key, sizeof(key), "key%u", i);
        store_delete(c->s, key, strlen(key), 0, NULL);
    }
    store_delete(c->s, "counter", 7, 0, NULL);
}

START_TEST(test_hammer)
{
    clock_init();
    struct ctx c = {.s = mk(64 * MB, MB), .nkeys = 200};
    set_counter(c.s);
    run(&c);
    ck_assert_int_gt(atomic_load(&c.ops), 10000);
    ck_assert_int_gt(atomic_load(&c.hits), 1000);
    ck_assert_int_eq(atomic_load(&c.bad), 0);
    uint64_t total = 0;
    ck_assert_int_eq(store_arith(c.s, "counter", 7, true, 0, &total, NULL, NULL), STORE_OK);
    ck_assert_uint_eq(total, (uint64_t)atomic_load(&c.incrs));
    /* accounting adds up once everyone is gone */
    struct store_stats ss;
    store_stats(c.s, &ss);
    uint64_t used = 0, items = 0;
    class_totals(c.s, &used, &items, true);
    ck_assert_uint_eq(used, items);    /* no reference leaked */
    ck_assert_uint_eq(ss.curr_items, items);
    ck_assert_uint_le(items, 201);
    store_destroy(c.s);
}
END_TEST

START_TEST(test_hammer_evicting)
{
    clock_init();
    struct ctx c = {.s = mk(256 * KB, 16 * KB), .nkeys = 3000};
    set_counter(c.s);
    run(&c);
    ck_assert_int_gt(atomic_load(&c.hits), 1000);
    ck_assert_int_eq(atomic_load(&c.bad), 0);
    struct store_stats ss;
    store_stats(c.s, &ss);
    ck_assert_uint_gt(ss.evictions, 100);
    ck_assert_uint_le(ss.total_malloced, 256 * KB);
    /* no reference leaked: with every key gone no chunk is used (an item
     * spilled into a chain has several, so count after deleting) */
    delete_all(&c);
    uint64_t used = 0, items = 0;
    class_totals(c.s, &used, &items, false);
    ck_assert_uint_eq(items, 0);
    ck_assert_uint_eq(used, 0);
    store_destroy(c.s);
}
END_TEST

/* ---- the class lock ---- */

#define MUTEX_ROUNDS 100000
#define MUTEX_YIELD_EVERY 500      /* rounds between yields inside the lock */

struct mutex_ctx {
    struct class_mutex m;
    uint64_t counter;              /* plain: the lock is all that guards it */
};

static void *mutex_worker(void *arg)
{
    struct mutex_ctx *c = arg;
    for (int i = 0; i < MUTEX_ROUNDS; i++) {
        class_mutex_lock(&c->m);
        uint64_t v = c->counter;
        if (i % MUTEX_YIELD_EVERY == 0)
            sched_yield();         /* hold it across a switch: others wait */
        c->counter = v + 1;
        class_mutex_unlock(&c->m);
    }
    return NULL;
}

START_TEST(test_class_mutex_excludes)
{
    struct mutex_ctx c = { .counter = 0 };
    class_mutex_init(&c.m);
    pthread_t th[THREADS];
    for (int i = 0; i < THREADS; i++)
        ck_assert_int_eq(pthread_create(&th[i], NULL, mutex_worker, &c), 0);
    for (int i = 0; i < THREADS; i++)
        pthread_join(th[i], NULL);
    ck_assert_uint_eq(c.counter, (uint64_t)THREADS * MUTEX_ROUNDS);
    ck_assert_uint_eq(atomic_load(&c.m.word), CLASS_MUTEX_FREE);
}
END_TEST

static Suite *threads_suite(void)
{
    Suite *s = suite_create("store_threads");
    TCase *tc = tcase_create("hammer");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_hammer);
    tcase_add_test(tc, test_hammer_evicting);
    tcase_add_test(tc, test_class_mutex_excludes);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return fx_run_suite(threads_suite());
}
