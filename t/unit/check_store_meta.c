/*
 * check_store_meta: the store's support for the meta commands (store.h
 * "meta support"): lookups that report and vivify, the token/stale/binary
 * marks, cas with invalidate, delete-or-mark-stale-or-empty, arith with a
 * CAS check and creation, append with creation, and CAS values a client
 * chose (meta E). Against a real store; time moves with clock_advance().
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
#include "slabs/store.h"
#include "t/unit/fixture.h"

#define TEST_MEM_LIMIT (4u * 1024 * 1024)

static store *st;

static void setup(void)
{
    clock_init();
    st = fx_store_sized(TEST_MEM_LIMIT);
}

static void teardown(void)
{
    store_destroy(st);
}

/* Stores key = value with set; returns the new CAS. */
static uint64_t put(const char *key, const char *value, int64_t exptime)
{
    item *it = store_item_alloc(st, key, strlen(key), 0, exptime, strlen(value), NULL);
    ck_assert_ptr_nonnull(it);
    memcpy(item_value_mut(it), value, strlen(value));
    uint64_t cas = 0;
    ck_assert_int_eq(store_commit(st, it, STORE_SET, 0, &cas), STORE_OK);
    return cas;
}

static item *peek(const char *key)
{
    struct store_lookup_opts opt = { true, false, 0, false, NULL };
    struct store_lookup_before hit;
    return store_lookup(st, key, strlen(key), &opt, &hit, NULL);
}

START_TEST(get_meta_reports_before_state)
{
    put("a", "v", 0);
    struct store_lookup_opts opt = { false, false, 0, false, NULL };
    struct store_lookup_before hit;
    enum store_miss why = STORE_MISS;
    clock_advance(3);
    item *it = store_lookup(st, "a", 1, &opt, &hit, &why);
    ck_assert_ptr_nonnull(it);
    ck_assert_int_eq(why, STORE_HIT);
    ck_assert(!hit.was_fetched);
    ck_assert(!hit.created);
    ck_assert_uint_eq(clock_now() - hit.atime, 3);
    ck_assert(item_fetched(it));
    store_release(st, it);
    it = store_lookup(st, "a", 1, &opt, &hit, &why);
    ck_assert(hit.was_fetched);
    store_release(st, it);
    /* no_bump: not marked fetched */
    put("b", "v", 0);
    opt.no_bump = true;
    it = store_lookup(st, "b", 1, &opt, &hit, &why);
    ck_assert(!item_fetched(it));
    store_release(st, it);
    ck_assert_ptr_null(store_lookup(st, "zz", 2, &opt, &hit, &why));
    ck_assert_int_eq(why, STORE_MISS);
    put("e", "v", 1);
    clock_advance(2);
    ck_assert_ptr_null(store_lookup(st, "e", 1, &opt, &hit, &why));
    ck_assert_int_eq(why, STORE_MISS_EXPIRED);
}
END_TEST

START_TEST(get_meta_vivifies_once)
{
    struct store_lookup_opts opt = { false, true, 30, false, NULL };
    struct store_lookup_before hit;
    item *it = store_lookup(st, "v", 1, &opt, &hit, NULL);
    ck_assert_ptr_nonnull(it);
    ck_assert(hit.created);
    ck_assert_uint_eq(item_nvalue(it), 0);
    ck_assert_uint_eq(item_exptime(it), clock_now() + 30);
    ck_assert(item_token_sent(it));
    ck_assert(!item_is_stale(it));
    ck_assert_uint_eq(item_cas(it), 1);
    store_release(st, it);
    it = store_lookup(st, "v", 1, &opt, &hit, NULL);
    ck_assert(!hit.created);
    ck_assert_uint_eq(item_cas(it), 1);
    /* the token is taken: a claim reports it */
    ck_assert(item_claim_token(it));
    store_release(st, it);
}
END_TEST

START_TEST(marks_and_sizes)
{
    item *it = store_item_alloc(st, "k", 1, 0, 0, 2, NULL);
    memcpy(item_value_mut(it), "hi", 2);
    ck_assert(!item_key_binary(it));
    item_mark_key_binary(it);
    ck_assert(item_key_binary(it));
    ck_assert_uint_eq(store_item_total_size(st, it), store_item_header_size(st, 0) + 1 + 2);
    ck_assert_int_eq(store_commit(st, it, STORE_SET, 0, NULL), STORE_OK);
    it = peek("k");
    ck_assert(item_key_binary(it));
    ck_assert(!item_token_sent(it));
    ck_assert(!item_claim_token(it));     /* first claim wins */
    ck_assert(item_claim_token(it));
    ck_assert(item_token_sent(it));
    item_set_exptime(it, 50);
    ck_assert_uint_eq(item_exptime(it), clock_now() + 50);
    store_release(st, it);
    /* a new value starts without marks */
    put("k", "x", 0);
    it = peek("k");
    ck_assert(!item_key_binary(it));
    ck_assert(!item_token_sent(it));
    store_release(st, it);
}
END_TEST

static enum store_result cas_put(const char *key, const char *value, uint64_t cas,
                                 bool invalidate, int64_t exptime, uint64_t *cas_out)
{
    item *it = store_item_alloc(st, key, strlen(key), 0, exptime, strlen(value), NULL);
    memcpy(item_value_mut(it), value, strlen(value));
    struct store_commit_cond c = { STORE_CAS, cas, invalidate, false, NULL };
    return store_commit_cond(st, it, &c, cas_out, NULL);
}

START_TEST(commit_with_invalidate)
{
    uint64_t c1 = put("a", "one", 100);
    uint64_t c2 = put("a", "two", 100);
    item *it = peek("a");
    item_claim_token(it);
    store_release(st, it);
    uint64_t out = 0;
    /* older CAS: stored, stale, old TTL and token kept */
    ck_assert_int_eq(cas_put("a", "old", c1, true, 5, &out), STORE_OK);
    ck_assert_uint_eq(out, c2 + 1);
    it = peek("a");
    ck_assert_mem_eq(item_value(it), "old", 3);
    ck_assert(item_is_stale(it));
    ck_assert(item_token_sent(it));
    ck_assert_uint_eq(item_exptime(it), clock_now() + 100);
    store_release(st, it);
    /* newer CAS: refused; without invalidate an older one is refused too */
    ck_assert_int_eq(cas_put("a", "new", out + 5, true, 0, NULL), STORE_EXISTS);
    ck_assert_int_eq(cas_put("a", "new", c1, false, 0, NULL), STORE_EXISTS);
    /* matching CAS: a plain cas */
    ck_assert_int_eq(cas_put("a", "new", out, true, 0, &out), STORE_OK);
    it = peek("a");
    ck_assert(!item_is_stale(it));
    ck_assert(!item_token_sent(it));
    ck_assert_uint_eq(item_exptime(it), 0);
    store_release(st, it);
    ck_assert_int_eq(cas_put("none", "x", 1, true, 0, NULL), STORE_NOT_FOUND);
    /* other modes behave as store_commit */
    item *add = store_item_alloc(st, "a", 1, 0, 0, 1, NULL);
    memcpy(item_value_mut(add), "z", 1);
    struct store_commit_cond c = { STORE_ADD, 0, true, false, NULL };
    ck_assert_int_eq(store_commit_cond(st, add, &c, NULL, NULL), STORE_NOT_STORED);
}
END_TEST

START_TEST(delete_meta)
{
    struct store_delete_cond d = { false, 0, false, false, 0, false, 0, NULL };
    unsigned cls = 0;
    ck_assert_int_eq(store_delete_cond(st, "a", 1, &d, &cls), STORE_NOT_FOUND);
    uint64_t c = put("a", "val", 100);
    d.has_cas = true;
    d.cas = c + 1;
    ck_assert_int_eq(store_delete_cond(st, "a", 1, &d, &cls), STORE_EXISTS);
    d.cas = 0;                                    /* C0 is a real compare */
    ck_assert_int_eq(store_delete_cond(st, "a", 1, &d, &cls), STORE_EXISTS);
    /* mark stale: same value, new CAS, token cleared, TTL kept or set */
    item *it = peek("a");
    item_claim_token(it);
    unsigned want_cls = item_class(it);
    store_release(st, it);
    d.cas = c;
    d.stale = true;
    ck_assert_int_eq(store_delete_cond(st, "a", 1, &d, &cls), STORE_OK);
    ck_assert_uint_eq(cls, want_cls);
    it = peek("a");
    ck_assert_mem_eq(item_value(it), "val", 3);
    ck_assert(item_is_stale(it));
    ck_assert(!item_token_sent(it));
    ck_assert_uint_eq(item_cas(it), c + 1);
    ck_assert_uint_eq(item_exptime(it), clock_now() + 100);
    store_release(st, it);
    d.has_cas = false;
    d.touch = true;
    d.exptime = 30;
    ck_assert_int_eq(store_delete_cond(st, "a", 1, &d, NULL), STORE_OK);
    it = peek("a");
    ck_assert_uint_eq(item_exptime(it), clock_now() + 30);
    store_release(st, it);
    /* a plain delete */
    d.stale = false;
    ck_assert_int_eq(store_delete_cond(st, "a", 1, &d, NULL), STORE_OK);
    ck_assert_ptr_null(peek("a"));
}
END_TEST

START_TEST(arith_meta)
{
    struct store_arith_cond a = { true, 5, false, 0, false, 0, 0, NULL };
    uint64_t res = 0;
    bool created = true;
    item *it = NULL;
    ck_assert_int_eq(store_arith_cond(st, "n", 1, &a, &res, &created, &it), STORE_NOT_FOUND);
    ck_assert_ptr_null(it);
    a.vivify = true;
    a.initial = 42;
    ck_assert_int_eq(store_arith_cond(st, "n", 1, &a, &res, &created, &it), STORE_OK);
    ck_assert(created);
    ck_assert_uint_eq(res, 42);
    ck_assert_mem_eq(item_value(it), "42", 2);
    uint64_t cas = item_cas(it);
    store_release(st, it);
    ck_assert_int_eq(store_arith_cond(st, "n", 1, &a, &res, &created, &it), STORE_OK);
    ck_assert(!created);
    ck_assert_uint_eq(res, 47);
    ck_assert_uint_eq(item_cas(it), cas + 1);
    store_release(st, it);
    a.has_cas = true;
    a.cas = cas;                                   /* old */
    ck_assert_int_eq(store_arith_cond(st, "n", 1, &a, &res, &created, &it), STORE_EXISTS);
    a.cas = cas + 1;
    a.incr = false;
    a.delta = 50;
    ck_assert_int_eq(store_arith_cond(st, "n", 1, &a, &res, &created, &it), STORE_OK);
    ck_assert_uint_eq(res, 0);
    ck_assert_mem_eq(item_value(it), "0 ", 2);    /* in place */
    store_release(st, it);
    /* growing while someone holds it: a new item */
    item *held = peek("n");
    a.has_cas = false;
    a.incr = true;
    a.delta = 12345;
    ck_assert_int_eq(store_arith_cond(st, "n", 1, &a, &res, &created, &it), STORE_OK);
    ck_assert_ptr_ne(it, held);
    ck_assert_uint_eq(item_nvalue(it), 5);
    ck_assert_mem_eq(item_value(it), "12345", 5);
    store_release(st, it);
    store_release(st, held);
    put("s", "abc", 0);
    ck_assert_int_eq(store_arith_cond(st, "s", 1, &a, &res, &created, &it), STORE_NON_NUMERIC);
    ck_assert_ptr_null(it);
}
END_TEST


/* The CAS a client chose (meta E): on a vivify, a store, an arith, a kept delete. */
START_TEST(chosen_cas)
{
    uint64_t e = 500;
    struct store_lookup_opts opt = { false, true, 0, false, &e };
    struct store_lookup_before hit;
    item *it = store_lookup(st, "v", 1, &opt, &hit, NULL);
    ck_assert(hit.created);
    ck_assert_uint_eq(item_cas(it), 500);
    store_release(st, it);

    item *n = store_item_alloc(st, "a", 1, 0, 0, 1, NULL);
    memcpy(item_value_mut(n), "1", 1);
    e = 7;
    uint64_t cas = 0;
    struct store_commit_cond c = { STORE_SET, 0, false, false, &e };
    ck_assert_int_eq(store_commit_cond(st, n, &c, &cas, NULL), STORE_OK);
    ck_assert_uint_eq(cas, 7);

    e = 8;
    struct store_arith_cond a = { true, 1, true, 7, false, 0, 0, &e };
    uint64_t res = 0;
    bool created = false;
    ck_assert_int_eq(store_arith_cond(st, "a", 1, &a, &res, &created, &it), STORE_OK);
    ck_assert_uint_eq(res, 2);
    ck_assert_uint_eq(item_cas(it), 8);
    store_release(st, it);

    /* emptied: its own CAS unless one is chosen; stale: a new one */
    struct store_delete_cond d = { false, 0, false, false, 0, true, 9, NULL };
    ck_assert_int_eq(store_delete_cond(st, "a", 1, &d, NULL), STORE_OK);
    it = store_get(st, "a", 1, NULL);
    ck_assert_uint_eq(item_cas(it), 8);
    ck_assert_uint_eq(item_nvalue(it), 0);
    ck_assert_uint_eq(item_flags(it), 9);
    ck_assert(!item_is_stale(it));
    store_release(st, it);
    d.stale = true;
    ck_assert_int_eq(store_delete_cond(st, "a", 1, &d, NULL), STORE_OK);
    it = store_get(st, "a", 1, NULL);
    ck_assert_uint_ne(item_cas(it), 8);      /* the next of the store's own */
    ck_assert(item_is_stale(it));
    store_release(st, it);
}
END_TEST

/* A chosen CAS below the last flush's still lives when stored after it. */
START_TEST(chosen_cas_after_flush)
{
    put("old", "x", 0);
    store_flush(st, 0);
    ck_assert_ptr_null(store_get(st, "old", 3, NULL));
    clock_advance(1);
    uint64_t e = 1;
    item *n = store_item_alloc(st, "a", 1, 0, 0, 1, NULL);
    memcpy(item_value_mut(n), "1", 1);
    struct store_commit_cond c = { STORE_SET, 0, false, false, &e };
    ck_assert_int_eq(store_commit_cond(st, n, &c, NULL, NULL), STORE_OK);
    item *it = store_get(st, "a", 1, NULL);
    ck_assert_ptr_nonnull(it);
    ck_assert_uint_eq(item_cas(it), 1);
    store_release(st, it);
}
END_TEST

/* Append and prepend with vivify store the value on a miss, and say the new length. */
START_TEST(concat_vivify)
{
    item *n = store_item_alloc(st, "a", 1, 3, 0, 2, NULL);
    memcpy(item_value_mut(n), "hi", 2);
    struct store_commit_cond c = { STORE_APPEND, 0, false, true, NULL };
    size_t len = 0;
    ck_assert_int_eq(store_commit_cond(st, n, &c, NULL, &len), STORE_OK);
    ck_assert_uint_eq(len, 2);
    n = store_item_alloc(st, "a", 1, 0, 0, 2, NULL);
    memcpy(item_value_mut(n), "yo", 2);
    c.mode = STORE_PREPEND;
    ck_assert_int_eq(store_commit_cond(st, n, &c, NULL, &len), STORE_OK);
    ck_assert_uint_eq(len, 4);
    item *it = store_get(st, "a", 1, NULL);
    ck_assert_mem_eq(item_value(it), "yohi", 4);
    ck_assert_uint_eq(item_flags(it), 3);
    store_release(st, it);
    /* without vivify a miss is not stored */
    n = store_item_alloc(st, "b", 1, 0, 0, 1, NULL);
    memcpy(item_value_mut(n), "x", 1);
    c.vivify = false;
    ck_assert_int_eq(store_commit_cond(st, n, &c, NULL, NULL), STORE_NOT_STORED);
}
END_TEST

static Suite *store_meta_suite(void)
{
    Suite *s = suite_create("store_meta");
    TCase *tc = tcase_create("meta");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, get_meta_reports_before_state);
    tcase_add_test(tc, get_meta_vivifies_once);
    tcase_add_test(tc, marks_and_sizes);
    tcase_add_test(tc, commit_with_invalidate);
    tcase_add_test(tc, delete_meta);
    tcase_add_test(tc, arith_meta);
    tcase_add_test(tc, chosen_cas);
    tcase_add_test(tc, chosen_cas_after_flush);
    tcase_add_test(tc, concat_vivify);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return fx_run_suite(store_meta_suite());
}
