/*
 * check_batch: the batched lookups of pipelined gets (protocol/batch.c and
 * store_prefetch_batch / store_get_hashed).
 *
 * The main check is differential: a buffer of mixed requests (single and
 * multi-key gets, gets, gat, sets with their data blocks, a key too long, a
 * line of more keys than a batch holds, bare "\n" line ends, extra spaces,
 * meta and binary-looking noise) is run once the way the server runs it, in
 * turns of -R requests with the batch open, and once with no batch at all,
 * on fresh fixtures; the replies must be the same bytes. The others check
 * that a batch is really taken (lines, keys, bounds) and never outside a
 * turn, that a turn's start scans ahead only at a text request, and that a
 * hash from store_prefetch_batch (or its steps) finds what store_get finds,
 * also across table growth, with a thread prefetching all along.
 */
#include <check.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "protocol/proto.h"
#include "slabs/store.h"
#include "t/unit/fixture_proto.h"

#define TURN_ALL 1000u       /* -R larger than any input here */
#define TURN_SMALL 3u        /* a turn ends in the middle of a batch */
#define MANY_KEYS 40         /* more than PROTO_BATCH_KEYS on one line */
#define GROWTH_KEYS 20000    /* enough to double the fixture's table several times */
#define INPUT_MAX (64 * 1024)

static void setup(void)
{
    fx_proto_setup(FX_GOT_MAX, false);
}

/*
 * Runs all of in as conn.c does: turns of at most per_turn requests, each
 * between proto_batch_begin and proto_batch_end, scanned ahead at its start
 * and prefetched step by step (per_turn 0: no batch).
 * The replies of all turns end up in got[].
 */
static void run_turns(const char *in, size_t len, unsigned per_turn)
{
    size_t off = 0;
    got_len = 0;
    while (off < len) {
        if (per_turn > 0) {
            proto_batch_begin(&pc, per_turn);
            proto_batch_scan_ahead(&pc, in + off, len - off);
            proto_batch_prefetch_step(&pc);
            proto_batch_prefetch_rest(&pc);
        }
        for (unsigned n = 0; off < len && (per_turn == 0 || n < per_turn); n++) {
            size_t used = proto_process(&pc, in + off, len - off, out, &last_action, &last_need);
            ck_assert_uint_gt(used, 0);
            off += used;
        }
        if (per_turn > 0)
            proto_batch_end(&pc);
    }
    fx_drain();
    got[got_len] = '\0';
}

/* The mixed input of the differential test, built once. */
static size_t mixed_input(char *buf, size_t cap)
{
    size_t n = 0;
#define ADD(...) (n += (size_t)snprintf(buf + n, cap - n, __VA_ARGS__))
    for (int i = 0; i < 8; i++)
        ADD("set k%d %d 0 %d\r\nvalue%d\r\n", i, i, 6 + (i >= 10), i);
    for (int i = 0; i < 12; i++)
        ADD("get k%d\r\n", i);                      /* hits and misses */
    ADD("get k1 k2  k3 missing k4\r\n");           /* several keys, two spaces */
    ADD("gets k5\n");                               /* a bare \n */
    ADD("get    k6   \r\n");                        /* spaces around the key */
    ADD("gat 100 k7\r\n");                          /* not batched: a touch */
    ADD("get    \r\ngets  \r\n");                   /* the word, then spaces alone */
    ADD("set k8 1 0 2 noreply\r\nhi\r\nget k8\r\n");  /* a set scanned, noreply */
    ADD("set  k9  2  0  3\r\nabc\r\nget k9\r\n");     /* runs of spaces */
    ADD("set k9 2 0 3\r\nabcd\r\nget k9\r\n");        /* a bad block end */
    ADD("set k9 x 0 3\r\nxyz\r\nget k9\r\n");         /* bad flags: refused whole */
    ADD("set k9 4294967296 0 1\r\nz\r\nget k9\r\n");  /* flags past 32 bits */
    ADD("set k9 3 -1 2 noreply\r\nzz\r\nget k9\r\n"); /* expired at once */
    ADD("set k9 3 0 2 extra\r\nzz\r\nget k9\r\n");   /* a sixth token, not noreply */
    ADD("set k9 3 0 +2\r\nzz\r\nget k9\r\n");        /* '+' on the length */
    ADD("set k9 3 0 2 noreply\r\nzz\r\n");             /* noreply, nothing after */
    ADD("get k0\r\nset k0 9 0 3\r\nnew\r\nget k0\r\n");   /* a set between gets */
    ADD("get ");
    for (int i = 0; i < 251; i++)
        ADD("x");                                   /* one byte too long */
    ADD(" k1\r\nget k2\r\n");
    ADD("get");
    for (int i = 0; i < MANY_KEYS; i++)
        ADD(" k%d", i % 9);
    ADD("\r\nget \r\nget\r\nmg k3 v\r\ndelete k3\r\nget k3 k4\r\n");
    for (int i = 0; i < 40; i++)
        ADD("get k%d\r\n", i % 10);
#undef ADD
    ck_assert_uint_lt(n, cap);
    return n;
}

static char want[FX_GOT_MAX];

static void differential(unsigned per_turn)
{
    static char in[INPUT_MAX];
    size_t len = mixed_input(in, sizeof in);
    run_turns(in, len, 0);
    memcpy(want, got, got_len + 1);
    fx_proto_teardown();
    fx_proto_setup(FX_GOT_MAX, false);
    run_turns(in, len, per_turn);
    ck_assert_str_eq(got, want);
}

START_TEST(same_replies_one_turn)
{
    differential(TURN_ALL);
}
END_TEST

START_TEST(same_replies_short_turns)
{
    differential(TURN_SMALL);
}
END_TEST

START_TEST(same_replies_every_turn_length)
{
    for (unsigned r = 1; r <= 8; r++) {
        differential(r);
        fx_proto_teardown();
        fx_proto_setup(FX_GOT_MAX, false);
    }
}
END_TEST

/* The first get of a pipeline scans itself and the gets and sets after it,
 * and stops at a line of another command. */
START_TEST(batch_taken)
{
    const char *in = "get a\r\nget b c\r\ngets d\r\nset e 0 0 1\r\nx\r\nget f\r\n"
                     "add g 0 0 1\r\ny\r\nget h\r\n";
    proto_batch_begin(&pc, TURN_ALL);
    size_t used = proto_process(&pc, in, strlen(in), out, &last_action, &last_need);
    ck_assert_uint_eq(used, strlen("get a\r\n"));
    ck_assert_uint_eq(pc.batch.nlines, 5);     /* stops at the add */
    ck_assert_uint_eq(pc.batch.nkeys, 6);
    ck_assert_uint_eq(pc.batch.lines[2].kind, PROTO_BATCH_GETS);
    ck_assert_uint_eq(pc.batch.lines[3].kind, PROTO_BATCH_SET);
    ck_assert_uint_eq(pc.batch.lines[3].nkeys, 1);
    ck_assert_int_eq(pc.batch.keys[4].key[0], 'e');
    ck_assert_ptr_eq(pc.batch.lines[4].start, strstr(in, "get f"));   /* past the block */
    ck_assert_uint_eq(pc.batch.next_line, 1);
    ck_assert_uint_eq(pc.batch.keys[2].nkey, 1);
    ck_assert_int_eq(pc.batch.keys[2].key[0], 'c');
    ck_assert_uint_eq(pc.batch.lines[1].first, 1);
    ck_assert_uint_eq(pc.batch.lines[1].nkeys, 2);
    used += proto_process(&pc, in + used, strlen(in) - used, out, &last_action, &last_need);
    ck_assert_uint_eq(pc.batch.next_line, 2);
    proto_batch_end(&pc);
    ck_assert_uint_eq(pc.batch.nlines, 0);
    fx_drain();
}
END_TEST

/* A turn that may run only two more requests scans only as many lines. */
START_TEST(batch_bounded_by_turn)
{
    const char *in = "get a\r\nget b\r\nget c\r\nget d\r\nget e\r\n";
    proto_batch_begin(&pc, 2);
    proto_process(&pc, in, strlen(in), out, &last_action, &last_need);
    ck_assert_uint_eq(pc.batch.nlines, 2);
    proto_batch_end(&pc);
    fx_drain();
}
END_TEST

/* Outside a turn (UDP, tests) nothing is scanned. */
START_TEST(no_batch_outside_a_turn)
{
    const char *in = "get a\r\nget b\r\n";
    proto_process(&pc, in, strlen(in), out, &last_action, &last_need);
    ck_assert_uint_eq(pc.batch.nlines, 0);
    ck_assert_uint_eq(pc.batch.nkeys, 0);
    fx_drain();
}
END_TEST

/* A line of more keys than a batch holds is left whole to the parser. */
START_TEST(batch_never_splits_a_line)
{
    static char in[INPUT_MAX];
    size_t n = (size_t)snprintf(in, sizeof in, "get a\r\nget");
    for (int i = 0; i < MANY_KEYS; i++)
        n += (size_t)snprintf(in + n, sizeof in - n, " k%d", i);
    n += (size_t)snprintf(in + n, sizeof in - n, "\r\n");
    proto_batch_begin(&pc, TURN_ALL);
    proto_process(&pc, in, n, out, &last_action, &last_need);
    ck_assert_uint_eq(pc.batch.nlines, 1);
    ck_assert_uint_eq(pc.batch.nkeys, 1);
    proto_batch_end(&pc);
    fx_drain();
}
END_TEST

/* A connection that has sent its first request speaks the text protocol. */
static void text_mode_on(void)
{
    const char *v = "version\r\n";
    proto_process(&pc, v, strlen(v), out, &last_action, &last_need);
    ck_assert_int_eq(pc.mode, PROTO_MODE_ASCII);
}

/* A turn's start scans the gets it begins with, hashes them and runs the
 * first prefetch step only; the others come one a call. */
START_TEST(scan_ahead_at_turn_start)
{
    text_mode_on();
    const char *in = "get a\r\nget b c\r\nset e 0 0 1\r\nx\r\nget f\r\n";
    proto_batch_begin(&pc, TURN_ALL);
    proto_batch_scan_ahead(&pc, in, strlen(in));
    ck_assert_uint_eq(pc.batch.nlines, 4);
    ck_assert_uint_eq(pc.batch.nkeys, 5);
    ck_assert_uint_eq(pc.batch.steps, 1);
    struct store_key k = { "c", 1, 0 };
    store_prefetch_batch(st, &k, 1);
    ck_assert(pc.batch.keys[2].hv == k.hv);
    proto_batch_prefetch_step(&pc);
    ck_assert_uint_eq(pc.batch.steps, 2);
    proto_batch_prefetch_rest(&pc);
    ck_assert_uint_eq(pc.batch.steps, STORE_PREFETCH_STEPS);
    proto_batch_prefetch_step(&pc);             /* none left: nothing happens */
    ck_assert_uint_eq(pc.batch.steps, STORE_PREFETCH_STEPS);
    size_t used = proto_process(&pc, in, strlen(in), out, &last_action, &last_need);
    ck_assert_uint_eq(used, strlen("get a\r\n"));
    ck_assert_uint_eq(pc.batch.next_line, 1);  /* the line scanned ahead was used */
    proto_batch_end(&pc);
    ck_assert_uint_eq(pc.batch.steps, 0);
    fx_drain();
}
END_TEST

/* A set line is taken only with its whole block in and a plain length. */
START_TEST(scan_set_needs_its_block)
{
    static const struct {
        const char *in;
        unsigned lines;
    } cases[] = {
        { "set k 0 0 5\r\nab", 0 },                  /* block not all in */
        { "set k 0 0 5\r\nabcde\r", 0 },            /* nor its \n */
        { "set k 0 0 5\r\nabcde\r\n", 1 },
        { "set k 0 0 5 noreply\r\nabcde\r\nget z\r\n", 2 },
        { "set  k  1  2  3\r\nabc\r\nget z\r\n", 2 },   /* runs of spaces */
        { "set k 0 0 +5\r\nabcde\r\n", 0 },        /* not plain digits */
        { "set k 0 0 5x\r\nabcde\r\n", 0 },
        { "set k 0 0\r\n", 0 },                      /* no length */
        { "set k\r\n", 0 },
        { "set \r\n", 0 },
        { "set k 0 0 99999999999\r\nx\r\n", 0 },   /* far too long to be in */
    };
    text_mode_on();
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        proto_batch_begin(&pc, TURN_ALL);
        proto_batch_scan_ahead(&pc, cases[i].in, strlen(cases[i].in));
        ck_assert_msg(pc.batch.nlines == cases[i].lines, "case %zu: %u lines", i,
                      (unsigned)pc.batch.nlines);
        if (cases[i].lines > 0) {
            ck_assert_uint_eq(pc.batch.keys[0].nkey, 1);
            ck_assert_int_eq(pc.batch.keys[0].key[0], 'k');
        }
        proto_batch_end(&pc);
    }
    fx_drain();
}
END_TEST

/* Scanned ahead, a turn of two requests holds two lines: none runs yet. */
START_TEST(scan_ahead_bounded_by_turn)
{
    text_mode_on();
    const char *in = "get a\r\nget b\r\nget c\r\nget d\r\n";
    proto_batch_begin(&pc, 2);
    proto_batch_scan_ahead(&pc, in, strlen(in));
    ck_assert_uint_eq(pc.batch.nlines, 2);
    proto_batch_end(&pc);
    fx_drain();
}
END_TEST

/* Where the buffer does not start at a text request, nothing is scanned:
 * before the first byte, in a data block, after part of a long get line. */
START_TEST(scan_ahead_only_at_a_request)
{
    const char *in = "get a\r\nget b\r\n";
    proto_batch_begin(&pc, TURN_ALL);
    proto_batch_scan_ahead(&pc, in, strlen(in));   /* mode not known yet */
    ck_assert_uint_eq(pc.batch.nlines, 0);
    proto_batch_end(&pc);
    text_mode_on();
    pc.swallow = 1;
    proto_batch_begin(&pc, TURN_ALL);
    proto_batch_scan_ahead(&pc, in, strlen(in));
    ck_assert_uint_eq(pc.batch.nlines, 0);
    proto_batch_end(&pc);
    pc.swallow = 0;
    pc.skip_line = true;
    proto_batch_begin(&pc, TURN_ALL);
    proto_batch_scan_ahead(&pc, in, strlen(in));
    ck_assert_uint_eq(pc.batch.nlines, 0);
    proto_batch_end(&pc);
    pc.skip_line = false;
    proto_batch_scan_ahead(&pc, in, strlen(in));   /* outside a turn */
    ck_assert_uint_eq(pc.batch.nlines, 0);
    fx_drain();
}
END_TEST

static void set_key(const char *key)
{
    item *it = store_item_alloc(st, key, strlen(key), 0, 0, 1, NULL);
    ck_assert_ptr_nonnull(it);
    memcpy(item_value_mut(it), "v", 1);
    ck_assert_int_eq(store_commit(st, it, STORE_SET, 0, NULL), STORE_OK);
}

/* Prefetches batches of keys with no lock until told to stop: the unlocked
 * reads of the hash table race with growth (TSan and ASan builds check). */
static atomic_bool prefetch_stop;

static void *prefetcher(void *arg)
{
    (void)arg;
    char names[PROTO_BATCH_KEYS][32];
    struct store_key keys[PROTO_BATCH_KEYS];
    for (unsigned round = 0; !atomic_load(&prefetch_stop); round++) {
        for (unsigned i = 0; i < PROTO_BATCH_KEYS; i++) {
            int len = snprintf(names[i], sizeof names[i], "grow:%u", (round * 7 + i * 13) %
                                                                      GROWTH_KEYS);
            keys[i] = (struct store_key){ names[i], (size_t)len, 0 };
        }
        store_prefetch_batch(st, keys, PROTO_BATCH_KEYS);
    }
    return NULL;
}

/* store_get_hashed finds what store_get finds, while the table grows and
 * another thread prefetches. */
START_TEST(hashed_get_matches_get)
{
    pthread_t t;
    atomic_store(&prefetch_stop, false);
    ck_assert_int_eq(pthread_create(&t, NULL, prefetcher, NULL), 0);
    char key[32];
    for (int i = 0; i < GROWTH_KEYS; i++) {
        set_key((snprintf(key, sizeof key, "grow:%d", i), key));
        int probe = i / 2;   /* an older key, maybe moved by growth since */
        struct store_key k = { key, (size_t)snprintf(key, sizeof key, "grow:%d", probe), 0 };
        if (i % 2 == 0) {
            store_prefetch_batch(st, &k, 1);
        } else {   /* the same, a step at a time */
            for (unsigned step = 0; step < STORE_PREFETCH_STEPS; step++)
                store_prefetch_step(st, &k, 1, (enum store_prefetch_step)step);
        }
        item *a = store_get_hashed(st, k.key, k.nkey, k.hv, NULL);
        item *b = store_get(st, k.key, k.nkey, NULL);
        ck_assert_ptr_eq(a, b);
        if (a != NULL) {
            store_release(st, a);
            store_release(st, b);
        }
        store_maintain(st);   /* growth steps, as the maintainer would */
    }
    atomic_store(&prefetch_stop, true);
    pthread_join(t, NULL);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("batch");
    TCase *tc = tcase_create("batch");
    tcase_add_checked_fixture(tc, setup, fx_proto_teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, same_replies_one_turn);
    tcase_add_test(tc, same_replies_short_turns);
    tcase_add_test(tc, same_replies_every_turn_length);
    tcase_add_test(tc, batch_taken);
    tcase_add_test(tc, batch_bounded_by_turn);
    tcase_add_test(tc, no_batch_outside_a_turn);
    tcase_add_test(tc, batch_never_splits_a_line);
    tcase_add_test(tc, hashed_get_matches_get);
    tcase_add_test(tc, scan_ahead_at_turn_start);
    tcase_add_test(tc, scan_ahead_bounded_by_turn);
    tcase_add_test(tc, scan_ahead_only_at_a_request);
    tcase_add_test(tc, scan_set_needs_its_block);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
