/*
 * check_reply: the reply list of protocol/reply.c against a real store.
 *
 * Item references are observed by wrapping store_release at link time
 * (-Wl,--wrap=store_release): every release the reply makes is counted per
 * item, then passed on to the real function. Byte content is checked by
 * gathering the iovecs the reply exports.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
#include "common/decimal.h"
#include "protocol/reply.h"
#include "slabs/store.h"
#include "t/unit/fixture.h"

#define TEST_MEM_LIMIT (4u * 1024 * 1024)
#define BIG (64 * 1024)
#define IOV_MAX_TEST 1024

void __real_store_release(store *s, item *it);
void __wrap_store_release(store *s, item *it);

static item *watched;
static int watched_releases;
static int releases;

void __wrap_store_release(store *s, item *it)
{
    releases++;
    if (it == watched)
        watched_releases++;
    __real_store_release(s, it);
}

static store *st;
static struct reply *r;

static void setup(void)
{
    clock_init();
    st = fx_store_sized(TEST_MEM_LIMIT);
    r = reply_new(st);
    watched = NULL;
    watched_releases = releases = 0;
}

static void teardown(void)
{
    reply_free(r);
    store_destroy(st);
}

/* Stores key=value and returns it with a reference held (from store_get). */
static item *put_get(const char *key, const char *value)
{
    enum store_result why;
    size_t nv = strlen(value);
    item *it = store_item_alloc(st, key, strlen(key), 0, 0, nv, &why);
    ck_assert_ptr_nonnull(it);
    memcpy(item_value_mut(it), value, nv);
    ck_assert_int_eq(store_commit(st, it, STORE_SET, 0, NULL), STORE_OK);
    item *got = store_get(st, key, strlen(key), NULL);
    ck_assert_ptr_nonnull(got);
    return got;
}

/* All pending bytes, gathered through reply_iov; caller frees. */
static char *pending(size_t *len)
{
    static struct iovec iov[IOV_MAX_TEST];
    int n = reply_iov(r, iov, IOV_MAX_TEST);
    size_t total = 0;
    for (int i = 0; i < n; i++)
        total += iov[i].iov_len;
    char *s = malloc(total + 1);
    size_t off = 0;
    for (int i = 0; i < n; i++) {
        memcpy(s + off, iov[i].iov_base, iov[i].iov_len);
        off += iov[i].iov_len;
    }
    s[total] = '\0';
    ck_assert_uint_eq(total, reply_pending(r));
    if (len != NULL)
        *len = total;
    return s;
}

static void assert_pending(const char *expect)
{
    char *s = pending(NULL);
    ck_assert_str_eq(s, expect);
    free(s);
}

START_TEST(empty_reply)
{
    struct iovec iov[2];
    ck_assert_uint_eq(reply_pending(r), 0);
    ck_assert_uint_eq(reply_pieces(r), 0);
    ck_assert_int_eq(reply_iov(r, iov, 2), 0);
    reply_add(r, "", 0);
    ck_assert_uint_eq(reply_pieces(r), 0);
}
END_TEST

START_TEST(text_merges_into_one_piece)
{
    reply_add_str(r, "STORED\r\n");
    reply_add(r, "VALUE ", 6);
    reply_add_u64(r, 0);
    reply_add(r, " ", 1);
    reply_add_u64(r, UINT64_MAX);
    reply_printf(r, " %s %d\r\n", "x", 42);
    ck_assert_uint_eq(reply_pieces(r), 1);
    assert_pending("STORED\r\nVALUE 0 18446744073709551615 x 42\r\n");
}
END_TEST

/* common/decimal.h at each change of length, written without a NUL. */
START_TEST(decimal_at_every_length_edge)
{
    static const struct { uint64_t v; const char *s; } cases[] = {
        { 0, "0" }, { 9, "9" }, { 10, "10" }, { 99, "99" }, { 100, "100" },
        { 1234567, "1234567" }, { 9999999999ULL, "9999999999" },
        { 9999999999999999999ULL, "9999999999999999999" },
        { 10000000000000000000ULL, "10000000000000000000" },
        { UINT64_MAX, "18446744073709551615" },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char out[DECIMAL_U64_MAX + 1];
        memset(out, '#', sizeof(out));
        size_t n = decimal_u64(out, cases[i].v);
        ck_assert_uint_eq(n, strlen(cases[i].s));
        ck_assert_uint_eq(decimal_u64_len(cases[i].v), n);
        ck_assert_mem_eq(out, cases[i].s, n);
        ck_assert_int_eq(out[n], '#');
    }
}
END_TEST

START_TEST(reserve_commit)
{
    reply_add_str(r, "A");
    char *p = reply_reserve(r, 100);
    memcpy(p, "BCD", 3);
    reply_commit(r, 3);
    reply_commit(r, 0);
    ck_assert_uint_eq(reply_pieces(r), 1);
    assert_pending("ABCD");
}
END_TEST

START_TEST(item_is_zero_copy_and_released_when_sent)
{
    item *it = put_get("k", "hello");
    watched = it;
    reply_add_str(r, "VALUE k 0 5\r\n");
    reply_add_item(r, it, item_value(it), item_nvalue(it));
    reply_add_str(r, "\r\nEND\r\n");
    ck_assert_uint_eq(reply_pieces(r), 3);
    struct iovec iov[3];
    ck_assert_int_eq(reply_iov(r, iov, 3), 3);
    ck_assert_ptr_eq(iov[1].iov_base, item_value(it));
    ck_assert_uint_eq(iov[1].iov_len, 5);
    assert_pending("VALUE k 0 5\r\nhello\r\nEND\r\n");

    reply_consumed(r, 13);                     /* the header exactly */
    ck_assert_int_eq(watched_releases, 0);
    ck_assert_uint_eq(reply_pieces(r), 2);
    reply_consumed(r, 4);                      /* "hell" */
    ck_assert_int_eq(watched_releases, 0);
    assert_pending("o\r\nEND\r\n");
    reply_consumed(r, 1);                      /* the last value byte */
    ck_assert_int_eq(watched_releases, 1);
    ck_assert_uint_eq(reply_pieces(r), 1);
    reply_consumed(r, 7);
    ck_assert_uint_eq(reply_pending(r), 0);
    ck_assert_uint_eq(reply_pieces(r), 0);
    ck_assert_int_eq(watched_releases, 1);
}
END_TEST

START_TEST(partial_consumption_offsets_iov)
{
    reply_add_str(r, "0123456789");
    reply_consumed(r, 3);
    struct iovec iov[1];
    ck_assert_int_eq(reply_iov(r, iov, 1), 1);
    ck_assert_uint_eq(iov[0].iov_len, 7);
    ck_assert_int_eq(memcmp(iov[0].iov_base, "3456789", 7), 0);
    /* text appended after a partial send still merges and stays in order */
    reply_add_str(r, "ab");
    ck_assert_uint_eq(reply_pieces(r), 1);
    assert_pending("3456789ab");
    reply_consumed(r, 9);
    ck_assert_uint_eq(reply_pending(r), 0);
    reply_add_str(r, "again");
    assert_pending("again");
}
END_TEST

START_TEST(zero_length_item_released_at_once)
{
    item *it = put_get("e", "");
    watched = it;
    reply_add_item(r, it, item_value(it), 0);
    ck_assert_int_eq(watched_releases, 1);
    ck_assert_uint_eq(reply_pieces(r), 0);
}
END_TEST

START_TEST(iov_respects_max)
{
    item *a = put_get("a", "AA");
    item *b = put_get("b", "BB");
    reply_add_str(r, "1");
    reply_add_item(r, a, item_value(a), 2);
    reply_add_str(r, "2");
    reply_add_item(r, b, item_value(b), 2);
    reply_add_str(r, "3");
    releases = 0;
    ck_assert_uint_eq(reply_pieces(r), 5);
    struct iovec iov[2];
    ck_assert_int_eq(reply_iov(r, iov, 2), 2);
    ck_assert_uint_eq(iov[0].iov_len, 1);
    ck_assert_uint_eq(iov[1].iov_len, 2);
    reply_consumed(r, 4);                      /* "1AA2" */
    ck_assert_int_eq(releases, 1);
    ck_assert_int_eq(reply_iov(r, iov, 2), 2);
    ck_assert_int_eq(memcmp(iov[0].iov_base, "BB", 2), 0);
    reply_consumed(r, 3);
    ck_assert_int_eq(releases, 2);
    ck_assert_uint_eq(reply_pending(r), 0);
}
END_TEST

START_TEST(text_across_block_boundaries)
{
    /* Many small appends: blocks fill up, content stays in order. */
    char expect[BIG + 1];
    for (int i = 0; i < BIG / 8; i++) {
        char chunk[9];
        snprintf(chunk, sizeof(chunk), "%07d,", i);
        reply_add(r, chunk, 8);
        memcpy(expect + i * 8, chunk, 8);
    }
    expect[BIG] = '\0';
    ck_assert_uint_eq(reply_pending(r), BIG);
    ck_assert_uint_gt(reply_pieces(r), 1);          /* at least one block edge */
    ck_assert_uint_lt(reply_pieces(r), BIG / 8 / 100); /* but merged within blocks */
    assert_pending(expect);
    /* drain in odd-sized steps */
    size_t left = BIG;
    while (left > 0) {
        size_t n = left < 777 ? left : 777;
        reply_consumed(r, n);
        left -= n;
        ck_assert_uint_eq(reply_pending(r), left);
        if (left > 0) {
            char *s = pending(NULL);
            ck_assert_int_eq(memcmp(s, expect + (BIG - left), left), 0);
            free(s);
        }
    }
    ck_assert_uint_eq(reply_pieces(r), 0);
}
END_TEST

START_TEST(text_larger_than_a_block)
{
    static char big[BIG + 1];
    memset(big, 'x', BIG);
    big[BIG] = '\0';
    reply_add_str(r, "head");
    reply_add(r, big, BIG);
    reply_add_str(r, "tail");
    char *s = pending(NULL);
    ck_assert_uint_eq(strlen(s), BIG + 8);
    ck_assert_int_eq(memcmp(s, "head", 4), 0);
    ck_assert_int_eq(memcmp(s + 4 + BIG, "tail", 4), 0);
    free(s);
    reply_printf(r, "%s", big);                 /* printf past the block too */
    ck_assert_uint_eq(reply_pending(r), 2 * BIG + 8);
    reply_consumed(r, 2 * BIG + 8);
    ck_assert_uint_eq(reply_pending(r), 0);
}
END_TEST

/* An account follows what its replies hold, and is back to 0 when they go. */
START_TEST(account_counts_objects_and_bytes)
{
    static char big[BIG];
    memset(big, 'x', BIG);
    struct reply_account acct = { 0 };
    struct reply *a = reply_new(st);
    reply_account(a, &acct);
    ck_assert_uint_eq(counter_get(&acct.objects), 1);
    uint64_t at_start = counter_get(&acct.bytes);
    ck_assert_uint_gt(at_start, 0);
    reply_add(a, big, BIG);                     /* a block of its own */
    ck_assert_uint_ge(counter_get(&acct.bytes), at_start + BIG);
    reply_consumed(a, BIG);                     /* sent: back to the first block */
    ck_assert_uint_eq(counter_get(&acct.bytes), at_start);
    reply_free(a);
    ck_assert_uint_eq(counter_get(&acct.objects), 0);
    ck_assert_uint_eq(counter_get(&acct.bytes), 0);
}
END_TEST

START_TEST(rollback_drops_text_and_items)
{
    item *it = put_get("k", "v");
    watched = it;
    reply_add_str(r, "keep");
    size_t m = reply_mark(r);
    ck_assert_uint_eq(m, 4);
    reply_add_str(r, "VALUE k 0 1\r\n");
    reply_add_item(r, it, item_value(it), 1);
    reply_add_str(r, "\r\n");
    reply_rollback(r, m);
    ck_assert_int_eq(watched_releases, 1);
    ck_assert_uint_eq(reply_pending(r), 4);
    ck_assert_uint_eq(reply_pieces(r), 1);
    reply_add_str(r, "+more");
    ck_assert_uint_eq(reply_pieces(r), 1);
    assert_pending("keep+more");
    reply_rollback(r, reply_mark(r));          /* rollback to now: no change */
    assert_pending("keep+more");
}
END_TEST

START_TEST(rollback_inside_a_piece)
{
    reply_add_str(r, "abcdef");
    reply_rollback(r, 2);
    assert_pending("ab");
    reply_add_str(r, "XY");
    assert_pending("abXY");
    ck_assert_uint_eq(reply_pieces(r), 1);
}
END_TEST

START_TEST(rollback_across_blocks_reuses_them)
{
    static char big[BIG];
    memset(big, 'q', sizeof(big));
    reply_add_str(r, "start");
    size_t m = reply_mark(r);
    for (int i = 0; i < 20; i++)
        reply_add(r, big, 1000);
    reply_rollback(r, m);
    assert_pending("start");
    for (int i = 0; i < 20; i++)
        reply_add(r, "z", 1);
    char *s = pending(NULL);
    ck_assert_str_eq(s, "startzzzzzzzzzzzzzzzzzzzz");
    free(s);
    ck_assert_uint_eq(reply_pieces(r), 1);
}
END_TEST

START_TEST(rollback_never_takes_back_sent_bytes)
{
    reply_add_str(r, "0123456789");
    reply_consumed(r, 6);
    reply_rollback(r, 2);
    assert_pending("");
    ck_assert_uint_eq(reply_pending(r), 0);
    reply_add_str(r, "ok");
    assert_pending("ok");
}
END_TEST

START_TEST(clear_releases_items)
{
    item *it = put_get("k", "value");
    watched = it;
    reply_add_str(r, "h");
    reply_add_item(r, it, item_value(it), 5);
    reply_consumed(r, 3);                      /* mid-item */
    ck_assert_int_eq(watched_releases, 0);
    reply_clear(r);
    ck_assert_int_eq(watched_releases, 1);
    ck_assert_uint_eq(reply_pending(r), 0);
    ck_assert_uint_eq(reply_pieces(r), 0);
    reply_add_str(r, "fresh");
    assert_pending("fresh");
}
END_TEST

START_TEST(free_releases_items)
{
    item *it = put_get("k", "value");
    watched = it;
    reply_add_item(r, it, item_value(it), 5);
    reply_free(r);
    ck_assert_int_eq(watched_releases, 1);
    r = reply_new(st);
}
END_TEST

START_TEST(many_pieces_partial_drain)
{
    /* Never fully drained: the piece array compacts, blocks are trimmed. */
    enum { N = 2000 };
    item *it = put_get("k", "vv");
    watched = it;
    int sent_items = 0;
    for (int i = 0; i < N; i++) {
        item *ref = store_get(st, "k", 1, NULL);
        ck_assert_ptr_nonnull(ref);
        reply_add_str(r, "<");
        reply_add_item(r, ref, item_value(ref), 2);
        reply_consumed(r, i == 0 ? 2 : 3);     /* keeps one value byte pending */
        sent_items++;
        ck_assert_uint_eq(reply_pending(r), 1);
    }
    ck_assert_int_eq(watched_releases, N - 1);
    reply_consumed(r, 1);
    ck_assert_int_eq(watched_releases, N);
    ck_assert_uint_eq(reply_pieces(r), 0);
    ck_assert_int_eq(sent_items, N);
    store_release(st, it);
}
END_TEST

static Suite *reply_suite(void)
{
    Suite *s = suite_create("reply");
    TCase *tc = tcase_create("reply");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, empty_reply);
    tcase_add_test(tc, text_merges_into_one_piece);
    tcase_add_test(tc, decimal_at_every_length_edge);
    tcase_add_test(tc, reserve_commit);
    tcase_add_test(tc, item_is_zero_copy_and_released_when_sent);
    tcase_add_test(tc, partial_consumption_offsets_iov);
    tcase_add_test(tc, zero_length_item_released_at_once);
    tcase_add_test(tc, iov_respects_max);
    tcase_add_test(tc, text_across_block_boundaries);
    tcase_add_test(tc, text_larger_than_a_block);
    tcase_add_test(tc, account_counts_objects_and_bytes);
    tcase_add_test(tc, rollback_drops_text_and_items);
    tcase_add_test(tc, rollback_inside_a_piece);
    tcase_add_test(tc, rollback_across_blocks_reuses_them);
    tcase_add_test(tc, rollback_never_takes_back_sent_bytes);
    tcase_add_test(tc, clear_releases_items);
    tcase_add_test(tc, free_releases_items);
    tcase_add_test(tc, many_pieces_partial_drain);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return fx_run_suite(reply_suite());
}
